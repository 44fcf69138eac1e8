//! A function's name as every symbolizer of the same code spells it.
//!
//! The same frame gets a different name from the sanitizer runtime's own symbolizer (gcc's
//! libasan reads DWARF with libbacktrace) and from leakcheck's (which names functions as
//! `llvm-symbolizer` does, by the symbol table): `__interceptor_free` and
//! `__interceptor_free.part.0` (GCC's clone of it), `mismatch` and `mismatch(_object*,
//! _object*)` (DWARF's name of a static C++ function, and its demangled symbol),
//! `ns::run<int>(int)::Local::go()` and `int ns::run<int>(int)::Local::go()`. [`function_base_name`]
//! keeps what both have in common.
//!
//! It does not make every spelling agree: GNU's and LLVM's demanglers name closures
//! differently (`{lambda(int)#1}`, `'lambda'(int)`), and a function with two symbols
//! (`__libc_start_main_impl` in DWARF, `__libc_start_main` in the symbol table) keeps both.

#![forbid(unsafe_code)]

/// `name` without what one symbolizer adds and another does not: GCC's clone suffixes
/// (`.part.0`, `.cold`, `.isra.0`, `.constprop.0`; demangled, ` [clone .isra.0]` or LLVM's
/// ` (.isra.0)`), a C++ function's parameter list and the qualifiers after it (` const`,
/// ` &&`), and the return type before it (`int ns::run<int>(int)` -> `ns::run<int>`). The
/// qualified name and template arguments stay. A name with nothing to strip is returned as it
/// is; so is one that would become empty.
#[must_use]
pub fn function_base_name(name: &str) -> &str {
    let trimmed = name.trim();
    let mut rest = trimmed;
    loop {
        let before = rest.len();
        rest = without_clone_suffix(rest);
        rest = without_qualifier(rest);
        if rest.len() == before {
            break;
        }
    }
    let rest = without_dot_suffix(without_return_type(without_parameters(rest)));
    if rest.is_empty() {
        trimmed
    } else {
        rest
    }
}

/// `foo(int) [clone .isra.0]` (GNU) or `foo(int) (.isra.0)` (LLVM) -> `foo(int)`.
fn without_clone_suffix(name: &str) -> &str {
    if let Some(body) = name.strip_suffix(']') {
        if let Some(at) = body.rfind(" [clone .") {
            if !body[at + " [clone .".len()..].contains(['[', ']']) {
                return name[..at].trim_end();
            }
        }
    }
    if let Some(body) = name.strip_suffix(')') {
        if let Some(at) = body.rfind(" (.") {
            if !body[at + 2..].contains(['(', ')']) {
                return name[..at].trim_end();
            }
        }
    }
    name
}

/// A member function's qualifier after its parameter list: `f(int) const` -> `f(int)`.
fn without_qualifier(name: &str) -> &str {
    for qualifier in [" const", " volatile", " restrict", " noexcept", " &&", " &"] {
        if let Some(rest) = name.strip_suffix(qualifier) {
            let rest = rest.trim_end();
            if rest.ends_with(')') {
                return rest;
            }
        }
    }
    name
}

/// `f(int, char*)` -> `f`; an operator's own parentheses stay (`operator()`, DWARF's name of a
/// closure's call operator).
fn without_parameters(name: &str) -> &str {
    if !name.ends_with(')') {
        return name;
    }
    let mut depth = 0usize;
    for (at, byte) in name.bytes().enumerate().rev() {
        match byte {
            b')' => depth += 1,
            b'(' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let prefix = name[..at].trim_end();
                    let operator = prefix
                        .strip_suffix("operator")
                        .is_some_and(|before| before.is_empty() || before.ends_with([':', ' ']));
                    return if prefix.is_empty() || operator { name } else { prefix };
                }
            }
            _ => {}
        }
    }
    name
}

/// `int ns::f<int>` -> `ns::f<int>`: the name begins after the last space outside brackets
/// before an `operator` (whose name may have spaces, `operator delete`, and brackets,
/// `operator<`).
fn without_return_type(name: &str) -> &str {
    let limit = operator_start(name).unwrap_or(name.len());
    let mut depth = 0usize;
    let mut start = 0;
    for (at, byte) in name[..limit].bytes().enumerate() {
        match byte {
            b'<' | b'(' | b'[' | b'{' => depth += 1,
            b'>' | b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b' ' if depth == 0 => start = at + 1,
            _ => {}
        }
    }
    &name[start..]
}

/// Where the first `operator` keyword of `name` begins.
fn operator_start(name: &str) -> Option<usize> {
    name.match_indices("operator").map(|(at, _)| at).find(|&at| {
        let before = name[..at].bytes().next_back();
        let after = name[at + "operator".len()..].bytes().next();
        before.is_none_or(|b| matches!(b, b':' | b' ')) && after.is_none_or(|b| !is_identifier_byte(b))
    })
}

/// `free.part.0` -> `free`, `_PyEval_EvalFrameDefault.cold` -> `_PyEval_EvalFrameDefault`: a
/// symbol's suffix begins at a dot between identifier characters, outside brackets (C and C++
/// identifiers have none).
fn without_dot_suffix(name: &str) -> &str {
    let bytes = name.as_bytes();
    let mut depth = 0usize;
    for (at, &byte) in bytes.iter().enumerate() {
        match byte {
            b'<' | b'(' | b'[' | b'{' => depth += 1,
            b'>' | b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'.' if depth == 0
                && at > 0
                && is_identifier_byte(bytes[at - 1])
                && bytes.get(at + 1).is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_') =>
            {
                return &name[..at];
            }
            _ => {}
        }
    }
    name
}

fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$'
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs of names the runtime's symbolizer (gcc 12's libasan, libbacktrace) and leakcheck's
    /// (as llvm-symbolizer) gave the same frames, in real runs: one base name each.
    #[test]
    fn the_runtimes_and_leakchecks_names_of_one_frame_have_one_base_name() {
        for (runtime, leakcheck, base) in [
            ("__interceptor_free", "__interceptor_free.part.0", "__interceptor_free"),
            ("mismatch", "mismatch(_object*, _object*)", "mismatch"),
            ("plain", "plain(int*, int)", "plain"),
            ("ns::Box<int>::twice() const", "ns::Box<int>::twice() const", "ns::Box<int>::twice"),
            ("ns::run<int>(int)::Local::go()", "int ns::run<int>(int)::Local::go()", "ns::run<int>(int)::Local::go"),
            ("int ns::run<int>(int)", "int ns::run<int>(int)", "ns::run<int>"),
            ("operator delete(void*, unsigned long)", "operator delete(void*, unsigned long)", "operator delete"),
            ("_PyEval_EvalFrameDefault", "_PyEval_EvalFrameDefault.cold", "_PyEval_EvalFrameDefault"),
        ] {
            assert_eq!(
                (function_base_name(runtime), function_base_name(leakcheck)),
                (base, base),
                "{runtime} / {leakcheck}"
            );
        }
    }

    #[test]
    fn gccs_clone_suffixes_go_in_every_spelling() {
        for (name, base) in [
            ("f.isra.0", "f"),
            ("f.constprop.0.isra.0", "f"),
            ("f.cold", "f"),
            ("f.part.3.cold", "f"),
            ("f.lto_priv.0", "f"),
            ("foo(int) [clone .isra.0] [clone .cold]", "foo"),
            ("foo(int) (.isra.0.constprop.0)", "foo"),
            ("A::f() const (.cold)", "A::f"),
            ("A::f() const [clone .part.0]", "A::f"),
        ] {
            assert_eq!(function_base_name(name), base, "{name}");
        }
    }

    #[test]
    fn cpp_names_keep_their_qualified_name_and_template_arguments() {
        for (name, base) in [
            ("bool std::operator< <char>(std::string const&, std::string const&)", "std::operator< <char>"),
            ("void operator<<<int>(int&)", "operator<<<int>"),
            ("A::operator()(int) const", "A::operator()"),
            ("operator()", "operator()"),
            ("A::operator unsigned long() const", "A::operator unsigned long"),
            ("(anonymous namespace)::helper(int)", "(anonymous namespace)::helper"),
            (
                "std::vector<int, std::allocator<int> >::push_back(int&&)",
                "std::vector<int, std::allocator<int> >::push_back",
            ),
            ("A::f() &&", "A::f"),
            ("main::'lambda'(int, int)::operator()(int, int) const", "main::'lambda'(int, int)::operator()"),
            ("f(...)", "f"),
            (
                "core::ops::function::FnOnce::call_once{{vtable.shim}}",
                "core::ops::function::FnOnce::call_once{{vtable.shim}}",
            ),
        ] {
            assert_eq!(function_base_name(name), base, "{name}");
        }
    }

    /// Names from untrusted output: unbalanced brackets, nothing but suffixes, odd bytes; the
    /// base is never empty and never a panic.
    #[test]
    fn hostile_names_keep_a_base() {
        for name in [
            "",
            " ",
            ")",
            "(",
            "((",
            "f(",
            "f)",
            "()",
            " (.x)",
            " [clone .x]",
            ".",
            "..",
            ".part.0",
            "<",
            ">",
            "operator",
            "x (.",
            "é(ü)",
            "f(int) [clone .",
            "a b c",
            "\u{0}(\u{0})",
            "int",
            "f(int) const const",
        ] {
            let base = function_base_name(name);
            assert!(!base.is_empty() || name.trim().is_empty(), "{name:?} -> {base:?}");
        }
        assert_eq!(function_base_name("é(ü)"), "é");
        assert_eq!(function_base_name("()"), "()");
        assert_eq!(function_base_name(".part.0"), ".part.0");
    }
}
