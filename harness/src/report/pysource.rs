//! The class a test method is defined in, read off its Python source, for an issue title
//! (`test_posix: TestPosixSpawn.test_foo hangs`) when the output names the method but not its
//! class: regrtest without `-v` prints a failure's traceback (`File "...", line 12, in
//! test_foo`), a hung thread's Python stack and faulthandler's dump name functions by
//! `co_name`, and none of them says `TestPosixSpawn`.
//!
//! **How.** A light pass over the source finds where each logical line starts and its
//! indentation, skipping lines that continue a bracketed expression or sit inside a
//! triple-quoted string (a test's embedded source at column 0 would otherwise read as a
//! top-level statement). From the frame's line it walks up: the frame's function is the first
//! `def NAME`/`async def NAME` less indented than every logical line between it and the frame's
//! line, and its class (classes, dotted, when nested) the `class` statements enclosing that
//! `def` the same way. A function defined inside another function, a line no such `def`
//! encloses (the file changed since, a wrong line), or a module-level function give nothing:
//! the title then names the method alone, as before. No Python tokenizer: string prefixes,
//! escapes and the `#` of comments are enough for where lines start; an f-string nesting
//! quotes of its own kind (3.12+) can mislead the pass, which then finds no class.

#![forbid(unsafe_code)]

/// The classes, dotted (`Outer.Inner`), enclosing the definition of `function` that encloses
/// 1-based `line` of `source`; `None` when that is not a method (see the module
/// documentation).
pub fn enclosing_class(source: &str, line: usize, function: &str) -> Option<String> {
    let lines = logical_lines(source);
    // The last logical line starting at or before `line`.
    let at = lines.iter().rposition(|l| l.number <= line)?;
    let mut innermost = lines[at].indent + 1;
    let mut classes: Vec<&str> = Vec::new();
    let mut found_def = false;
    for l in lines[..=at].iter().rev() {
        if l.indent >= innermost {
            continue;
        }
        innermost = l.indent;
        let text = l.text.trim_start();
        let def_name = text.strip_prefix("async ").unwrap_or(text).strip_prefix("def ").map(identifier);
        let class_name = text.strip_prefix("class ").map(identifier);
        if !found_def {
            match def_name {
                Some(name) if name == function => found_def = true,
                // The line is in another function, or in a class or module body.
                Some(_) => return None,
                None if class_name.is_some() => return None,
                None => {}
            }
        } else if let Some(name) = class_name.filter(|n| !n.is_empty()) {
            classes.push(name);
        } else if def_name.is_some() {
            // A class inside a function: the classes up to it, if any, are all there is.
            break;
        }
        // Other statements (`if`/`try`/`with` around a class) do not end the walk.
        if innermost == 0 {
            break;
        }
    }
    if !found_def || classes.is_empty() {
        return None;
    }
    classes.reverse();
    Some(classes.join("."))
}

/// The identifier a `def `/`class ` keyword is followed by.
fn identifier(rest: &str) -> &str {
    let rest = rest.trim_start();
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    &rest[..end]
}

/// A line where a logical line of Python starts.
struct LogicalLine<'a> {
    /// 1-based.
    number: usize,
    /// Columns of leading whitespace (a tab counts one: Python forbids mixing them ambiguously).
    indent: usize,
    text: &'a str,
}

/// The logical lines of `source` that start a statement: not blank, not only a comment, not a
/// continuation (inside brackets, after a backslash, inside a triple-quoted string).
fn logical_lines(source: &str) -> Vec<LogicalLine<'_>> {
    let mut out = Vec::new();
    let mut depth: usize = 0;
    let mut in_string: Option<&'static str> = None;
    let mut backslash = false;
    for (index, text) in source.lines().enumerate() {
        let continues = depth > 0 || in_string.is_some() || backslash;
        let stripped = text.trim_start();
        if !continues && !stripped.is_empty() && !stripped.starts_with('#') {
            out.push(LogicalLine { number: index + 1, indent: text.len() - stripped.len(), text });
        }
        backslash = scan(text, &mut depth, &mut in_string);
    }
    out
}

/// Reads one physical line: bracket depth and an open triple-quoted string carry over to the
/// next line; returns whether the line ends with a backslash continuation.
fn scan(text: &str, depth: &mut usize, in_string: &mut Option<&'static str>) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(quote) = *in_string {
            match bytes[i] {
                b'\\' => i += 2,
                _ if bytes[i..].starts_with(quote.as_bytes()) => {
                    *in_string = None;
                    i += quote.len();
                }
                _ => i += 1,
            }
            continue;
        }
        match bytes[i] {
            b'#' => return false,
            b'(' | b'[' | b'{' => *depth += 1,
            b')' | b']' | b'}' => *depth = depth.saturating_sub(1),
            b'\\' if i + 1 == bytes.len() => return true,
            q @ (b'"' | b'\'') => {
                let triple: &'static str = if q == b'"' { "\"\"\"" } else { "'''" };
                if bytes[i..].starts_with(triple.as_bytes()) {
                    *in_string = Some(triple);
                    i += 3;
                    continue;
                }
                // A one-line string: to its closing quote, or the end of the line.
                i += 1;
                while i < bytes.len() && bytes[i] != q {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        i += 1;
    }
    // A one-line string left open (invalid Python) ends with its line.
    false
}

#[cfg(test)]
mod tests {
    use super::enclosing_class;

    const SOURCE: &str = r#"import unittest

def helper():
    return 1

class TestPosixSpawn(unittest.TestCase):
    """Docs."""

    @unittest.skipIf(False, "never")
    def test_spawn(self):
        script = """\
import os
def test_spawn():
    pass
"""
        data = {
            'x': 1,
        }
        self.assertTrue(data)  # line 19

    async def test_async(self):
        pass

    class Inner(unittest.TestCase):
        def test_inner(self):
            def test_nested():
                return 2
            return test_nested()

if True:
    class Guarded(unittest.TestCase):
        def test_guarded(self): self.fail()
"#;

    #[test]
    fn a_method_s_line_gives_its_class() {
        assert_eq!(enclosing_class(SOURCE, 19, "test_spawn").as_deref(), Some("TestPosixSpawn"));
        // The def line itself, a line in a bracketed expression, a line in a string.
        assert_eq!(enclosing_class(SOURCE, 10, "test_spawn").as_deref(), Some("TestPosixSpawn"));
        assert_eq!(enclosing_class(SOURCE, 17, "test_spawn").as_deref(), Some("TestPosixSpawn"));
        assert_eq!(enclosing_class(SOURCE, 13, "test_spawn").as_deref(), Some("TestPosixSpawn"));
        assert_eq!(enclosing_class(SOURCE, 22, "test_async").as_deref(), Some("TestPosixSpawn"));
    }

    #[test]
    fn nested_classes_are_dotted_and_blocks_around_a_class_are_passed() {
        assert_eq!(enclosing_class(SOURCE, 28, "test_inner").as_deref(), Some("TestPosixSpawn.Inner"));
        assert_eq!(enclosing_class(SOURCE, 32, "test_guarded").as_deref(), Some("Guarded"));
    }

    #[test]
    fn what_is_no_method_gives_no_class() {
        assert_eq!(enclosing_class(SOURCE, 4, "helper"), None, "a module-level function");
        assert_eq!(enclosing_class(SOURCE, 27, "test_nested"), None, "a function in a method");
        assert_eq!(enclosing_class(SOURCE, 19, "test_other"), None, "another function's line");
        assert_eq!(enclosing_class(SOURCE, 7, "test_spawn"), None, "a class body's line");
        assert_eq!(enclosing_class(SOURCE, 400, "test_x"), None, "past the end");
        assert_eq!(enclosing_class("", 1, "test_x"), None);
        assert_eq!(enclosing_class("\"\"\"\n(((\n'", 3, "test_x"), None, "garbage");
        assert_eq!(enclosing_class("class T:\n    def test_é(self): s = 'é\\", 2, "test_é").as_deref(), Some("T"));
    }
}
