//! Demangling of C++ (Itanium) and Rust symbol names, as `llvm-symbolizer` does by default.
//!
//! Names that are not mangled (C) come back as `None`, so callers keep the name they have.
//! Rust names (`_R...` v0, and `_ZN...17h<hash>E` legacy) go to `rustc-demangle`, spelled as
//! LLVM 14 spells them (checked with `llvm-cxxfilt`); other `_Z` names to `cpp_demangle`. Where the two
//! demanglers and LLVM's own disagree on spelling (template spacing, legacy Rust `$LT$`
//! escapes, which LLVM 14 leaves as they are), leakcheck's output differs from
//! llvm-symbolizer's; the function is the same.

#![forbid(unsafe_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Names longer than this are left mangled (a demangler's work grows with its input).
const MAX_MANGLED_LEN: usize = 16 * 1024;

/// The demangled form of `name`, or `None` when it is not a mangled name we can read.
pub(super) fn demangle(name: &str) -> Option<String> {
    if name.len() > MAX_MANGLED_LEN || !(name.starts_with("_Z") || name.starts_with("_R")) {
        return None;
    }
    // Third-party demanglers on untrusted names: a panic in them must not escape.
    catch_unwind(AssertUnwindSafe(|| demangle_unchecked(name))).ok().flatten()
}

fn demangle_unchecked(name: &str) -> Option<String> {
    // Spelled as LLVM 14 spells them: v0 names without crate disambiguators (`{:#}`), legacy
    // names with their hash (`{}`, what its Itanium demangler makes of them).
    if name.starts_with("_R") {
        if let Ok(demangled) = rustc_demangle::try_demangle(name) {
            return Some(format!("{demangled:#}"));
        }
    }
    if is_rust_legacy(name) {
        if let Ok(demangled) = rustc_demangle::try_demangle(name) {
            return Some(demangled.to_string());
        }
    }
    if name.starts_with("_Z") {
        let symbol = cpp_demangle::Symbol::new(name.as_bytes()).ok()?;
        return symbol.demangle().ok();
    }
    None
}

/// `_ZN...17h<16 hex digits>E`, optionally followed by a `.suffix`: rustc's legacy mangling.
fn is_rust_legacy(name: &str) -> bool {
    let Some(body) = name.strip_prefix("_ZN") else {
        return false;
    };
    let body = body.split('.').next().unwrap_or(body);
    let Some(body) = body.strip_suffix('E') else {
        return false;
    };
    let Some(hash_start) = body.len().checked_sub(19) else {
        return false;
    };
    let Some(hash) = body.get(hash_start..) else {
        return false;
    };
    hash.starts_with("17h") && hash[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::demangle;

    #[test]
    fn cpp_and_rust_names_are_demangled() {
        assert_eq!(demangle("_ZN3foo3barEi").as_deref(), Some("foo::bar(int)"));
        assert_eq!(
            demangle("_ZN4core3fmt5write17h0123456789abcdefE").as_deref(),
            Some("core::fmt::write::h0123456789abcdef")
        );
        assert_eq!(demangle("_RNvCs1234_7mycrate3foo").as_deref(), Some("mycrate::foo"));
    }

    #[test]
    fn c_names_and_garbage_are_left_alone() {
        assert_eq!(demangle("PyObject_Malloc"), None);
        assert_eq!(demangle("_Z"), None);
        assert_eq!(demangle("_ZN3foo"), None);
        assert_eq!(demangle("_R"), None);
    }
}
