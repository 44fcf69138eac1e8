//! Leak suppressions: leak sites a buildbot owner has accepted, in LeakSanitizer's file format,
//! so that a known, deliberate leak does not fail every run (CPython leaks a lock's old mutex
//! on purpose in `_PyThread_at_fork_reinit`, and `test_threading` shows it every time).
//!
//! **Format** (`--suppressions FILE`, LSan's): one `leak:PATTERN` per line; blank lines and
//! lines starting with `#` are ignored. A pattern matches a leak site when it matches any of:
//! a C frame's function, source file or module, a Python frame's function or file, or
//! `FILE:LINE` of a Python frame. Matching is LSan's `TemplateMatch`: `*` is any run of
//! characters, a leading `^` / trailing `$` anchor the pattern, and otherwise it may match
//! anywhere in the text (`leak:lock_tests.py` matches `/usr/lib/python3.11/test/lock_tests.py`).
//!
//! **Effect.** A matching site moves from `leak_sites` to `suppressed_sites` (with the rule
//! that matched). A leaking domain with suppressed sites and no unsuppressed site of its own is
//! judged on what the suppressed sites leave: regrtest's rule on the domain's delta less their
//! growth, per counted repetition. It still leaks only when every remaining delta is >= 1
//! (`[2, 1, 2]` less an accepted `[1, 1, 1]` is `[1, 0, 1]`: no leak), and the test's notes say
//! what the suppressed sites explain either way (`raw: ... they explain blocks [1, 1, 1] of [2, 1,
//! 2]`). regrtest's own leak verdict is never suppressed: leakcheck does not hide what regrtest
//! reports.

#![forbid(unsafe_code)]

use std::path::Path;

use crate::report::LeakSiteReport;

/// One `leak:PATTERN` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    /// As written: `leak:PATTERN`.
    text: String,
    pattern: String,
}

/// The rules of every `--suppressions` file, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suppressions {
    rules: Vec<Rule>,
}

impl Suppressions {
    /// Read and parse the files, in order.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Self, String> {
        let mut all = Suppressions::default();
        for path in paths {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the suppressions file {}: {e}", path.display()))?;
            all.rules.extend(Self::parse(&text, &path.display().to_string())?.rules);
        }
        Ok(all)
    }

    /// Parse a suppressions file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        let mut rules = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((kind, pattern)) = line.split_once(':') else {
                return Err(format!("{origin}:{}: expected `leak:PATTERN`, not {line:?}", index + 1));
            };
            if kind.trim() != "leak" {
                return Err(format!(
                    "{origin}:{}: only `leak:` suppressions exist here (sanitizer reports have their own files), not {kind:?}",
                    index + 1
                ));
            }
            let pattern = pattern.trim();
            if pattern.is_empty() || pattern == "^" || pattern == "$" {
                return Err(format!("{origin}:{}: empty pattern", index + 1));
            }
            rules.push(Rule { text: format!("leak:{pattern}"), pattern: pattern.to_owned() });
        }
        Ok(Suppressions { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first rule that matches `site`, as written (`leak:PATTERN`).
    pub fn matching(&self, site: &LeakSiteReport) -> Option<&str> {
        let mut texts: Vec<String> = Vec::new();
        for frame in &site.frames {
            texts.extend(frame.function.iter().cloned());
            texts.extend(frame.file.iter().cloned());
            texts.push(frame.module.clone());
        }
        for python in site.python_frame.iter().chain(&site.python_frames) {
            texts.push(python.function.clone());
            texts.push(python.file.clone());
            texts.push(format!("{}:{}", python.file, python.line));
        }
        self.rules
            .iter()
            .find(|rule| texts.iter().any(|text| template_match(&rule.pattern, text)))
            .map(|rule| rule.text.as_str())
    }
}

/// LSan's `TemplateMatch`: `*` matches any run of characters; `^` at the start and `$` at the
/// end anchor the pattern; unanchored, it may match anywhere in `text`.
fn template_match(pattern: &str, text: &str) -> bool {
    let (start_anchored, pattern) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let (end_anchored, pattern) = match pattern.strip_suffix('$') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        let last = i == parts.len() - 1;
        if i == 0 && start_anchored {
            let Some(after) = rest.strip_prefix(part) else { return false };
            rest = after;
        } else if last && end_anchored {
            // The last piece must end the text, after what the earlier pieces used up.
            return rest.len() >= part.len() && rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else { return false };
            rest = &rest[at + part.len()..];
        }
    }
    // Nothing after the last piece may be left over when anchored at the end, unless the
    // pattern ended in `*` (an empty last piece).
    !end_anchored || rest.is_empty() || parts.last().is_some_and(|p| p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hang::PythonFrame;
    use crate::symbolize::Frame;

    #[test]
    fn templates_match_like_lsans() {
        let path = "/usr/lib/python3.11/test/lock_tests.py";
        assert!(template_match("lock_tests.py", path));
        assert!(template_match("^/usr/lib/*lock_tests.py$", path));
        assert!(template_match("python3.*/test/", path));
        assert!(!template_match("^lock_tests.py", path));
        assert!(!template_match("lock_tests$", path));
        assert!(template_match("PyThread_allocate_lock", "PyThread_allocate_lock"));
        assert!(template_match("^PyThread_*$", "PyThread_allocate_lock"));
        assert!(!template_match("^PyThread_*lock$", "PyThread_allocate_lock_x"));
        assert!(template_match("^ab*", "abc"));
        assert!(template_match("a*a$", "aXa"));
        assert!(!template_match("a*a$", "a"), "one `a` cannot be both pieces");
        assert!(template_match("*", ""));
    }

    #[test]
    fn the_shipped_cpython_file_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../suppressions/cpython.supp");
        let s = Suppressions::load(&[path]).unwrap();
        assert!(!s.is_empty());
    }

    #[test]
    fn files_parse_with_comments_and_errors_name_the_line() {
        let text = "# known\n\nleak:_PyThread_at_fork_reinit\n  leak: lock_tests.py:286  \n";
        let s = Suppressions::parse(text, "s.txt").unwrap();
        assert_eq!(
            s.rules.iter().map(|r| r.text.as_str()).collect::<Vec<_>>(),
            ["leak:_PyThread_at_fork_reinit", "leak:lock_tests.py:286"]
        );
        assert_eq!(
            Suppressions::parse("race:foo\n", "s.txt").unwrap_err().split(':').take(2).collect::<Vec<_>>(),
            ["s.txt", "1"]
        );
        assert!(Suppressions::parse("leak\n", "s.txt").unwrap_err().contains("s.txt:1"));
        assert!(Suppressions::parse("# x\nleak:\n", "s.txt").unwrap_err().contains("s.txt:2: empty pattern"));
    }

    fn site(function: &str, python: Option<(&str, &str, u32)>) -> LeakSiteReport {
        LeakSiteReport {
            domain: "raw".into(),
            blocks: vec![1, 1, 1],
            bytes: vec![32, 32, 32],
            frames: vec![Frame {
                function: Some(function.into()),
                file: Some("./build-debug/../Python/thread_pthread.h".into()),
                line: Some(397),
                column: None,
                module: "/usr/bin/python3.11d".into(),
                address: 0x1234,
                inlined: false,
            }],
            folded_frames: 1,
            python_frame: python.map(|(function, file, line)| PythonFrame {
                function: function.into(),
                file: file.into(),
                line,
            }),
            python_frames: vec![],
            object_types: vec![],
            free_list_reuse: false,
            stack_cut: false,
            other_test_thread: None,
        }
    }

    #[test]
    fn sites_match_on_c_and_python_frames() {
        let s = Suppressions::parse("leak:lock_tests.py:286\nleak:^newlockobject$\n", "s").unwrap();
        let at_286 = site("PyThread_allocate_lock", Some(("LockTests.test_at_fork_reinit", "/x/lock_tests.py", 286)));
        assert_eq!(s.matching(&at_286), Some("leak:lock_tests.py:286"));
        let at_291 = site("PyThread_allocate_lock", Some(("LockTests.test_at_fork_reinit", "/x/lock_tests.py", 291)));
        assert_eq!(s.matching(&at_291), None);
        assert_eq!(s.matching(&site("newlockobject", None)), Some("leak:^newlockobject$"));
        let by_file = Suppressions::parse("leak:thread_pthread.h\n", "s").unwrap();
        assert!(by_file.matching(&at_291).is_some());
        assert!(Suppressions::default().matching(&at_286).is_none());
    }
}
