//! GitHub Actions annotations: `::error ...::message` workflow-command lines for the problems of
//! a [`RunReport`], so that a leak shows up on the C line that allocated the leaked blocks.
//!
//! **What it writes.** One line per [`Failure`] of each failing [`Case`] (leaks, regrtest
//! failures, hangs, sanitizer findings; then the run's own problems): `::error file=F,line=L,title=T::MESSAGE` where the failure has a source location
//! (a leak's top site, or its Python line when the interpreter allocated for Python code and the shim could read the frame's file, a hung thread, a finding's stack: the innermost frame with a file and a
//! line outside the C runtime and the sanitizer's interceptors), `::error title=T::MESSAGE` otherwise. The title names the test (or `the run`) and
//! the problem (`leakcheck: test_x leaked`); the message is the one-line message, then the
//! details (the text summary's lines), as one command. GitHub shows at most 10 error
//! annotations per step and 50 per job, so failures come in the report's order, each test's
//! leak first.
//!
//! **Escaping**, as `@actions/core`'s `command.ts` does it: in the message (`escapeData`) `%`
//! becomes `%25`, CR `%0D` and LF `%0A`; in property values (`escapeProperty`) also `:` becomes
//! `%3A` and `,` `%2C`. So nothing from the child can end the command early, start a second
//! command on a new line, or add a property. Other control characters, DEL, C1 and the
//! bidirectional controls are made visible first ([`crate::escape::for_terminal`]'s rule),
//! line breaks kept in the message only.
//!
//! **What the caller provides.** The report; optionally ([`github_annotations_with`]) the
//! checkout's root (`$GITHUB_WORKSPACE`) so that absolute source paths under it become the
//! relative paths GitHub matches against the repository. The caller prints the lines on
//! stdout of a workflow step; this module does no I/O and reads no environment.

#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fmt::Write as _;

use super::junit::{cases, Case, Failure, FailureKind};
use super::RunReport;
use crate::escape::for_terminal;

/// Longest message, in characters, before escaping.
const MAX_MESSAGE_CHARS: usize = 4_000;

/// Options of [`github_annotations_with`].
#[derive(Debug, Clone, Default)]
pub struct AnnotationOptions<'a> {
    /// The repository checkout (`$GITHUB_WORKSPACE`): source paths under it are written
    /// relative to it.
    pub workspace: Option<&'a str>,
}

/// The annotation lines of `report`, each ending in `\n`.
pub fn github_annotations(report: &RunReport) -> String {
    github_annotations_with(report, &AnnotationOptions::default())
}

/// [`github_annotations`] with options.
pub fn github_annotations_with(report: &RunReport, options: &AnnotationOptions<'_>) -> String {
    annotations_for(&cases(report), options)
}

/// The annotation lines of `cases` (from [`cases`], maybe with failures added by the caller).
pub fn annotations_for(cases: &[Case<'_>], options: &AnnotationOptions<'_>) -> String {
    let mut out = String::new();
    for case in cases {
        for failure in &case.failures {
            annotation(&mut out, case, failure, options);
        }
    }
    out
}

fn annotation(out: &mut String, case: &Case<'_>, failure: &Failure, options: &AnnotationOptions<'_>) {
    let what = match failure.kind {
        FailureKind::Leak => "leaked",
        FailureKind::Regrtest => "failed",
        FailureKind::Sanitizer => "had a sanitizer error",
        FailureKind::Hang => "hung",
        FailureKind::Run => "failed",
    };
    let who = if case.test.is_some() { case.name.as_str() } else { "the run" };
    let title = format!("leakcheck: {who} {what}");
    let mut message = failure.message.clone();
    if !failure.details.is_empty() {
        message.push('\n');
        message.push_str(failure.details.trim_end_matches('\n'));
    }
    let message = clip(&message, MAX_MESSAGE_CHARS);

    out.push_str("::error ");
    if let Some(at) = &failure.location {
        let file = relative_path(&at.file, options.workspace);
        let _ = write!(out, "file={},line={},", escape_property(&file), at.line);
    }
    let _ = writeln!(out, "title={}::{}", escape_property(&title), escape_data(&message));
}

fn clip(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((cut, _)) => Cow::Owned(format!("{}…", &s[..cut])),
    }
}

/// Control characters other than line breaks made visible (CR too: it only ever comes from the
/// child, and a bare CR would be ambiguous in a log).
fn visible(s: &str, keep_newlines: bool) -> String {
    if !keep_newlines {
        return for_terminal(s).into_owned();
    }
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&for_terminal(line));
    }
    out
}

/// `escapeData` of `@actions/core`, after making controls visible.
pub fn escape_data(s: &str) -> String {
    visible(s, true).replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// `escapeProperty` of `@actions/core`, after making controls visible.
pub fn escape_property(s: &str) -> String {
    visible(s, false)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// `file` relative to `workspace` when it lies under it, with `.` and `dir/..` steps of a
/// relative path folded (`./build-debug/../Objects/call.c` is `Objects/call.c`).
fn relative_path(file: &str, workspace: Option<&str>) -> String {
    if let Some(root) = workspace.map(|w| w.trim_end_matches('/')).filter(|w| !w.is_empty()) {
        if let Some(rest) = file.strip_prefix(root).and_then(|r| r.strip_prefix('/')) {
            return super::source_path(rest).into_owned();
        }
    }
    if file.starts_with('/') {
        return file.to_owned();
    }
    super::source_path(file).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_properties_are_escaped_as_the_actions_toolkit_does() {
        assert_eq!(escape_data("100% done\r\nnext::x"), "100%25 done\\x0d%0Anext::x");
        assert_eq!(escape_property("a:b,c%d\ne"), "a%3Ab%2Cc%25d\\x0ae");
        assert_eq!(escape_data("\u{1b}[31mred"), "\\x1b[31mred");
        // An escaped value can hold neither a line break nor the `::` that ends the properties.
        let hostile = "x::error title=forged::boom\n::warning::y,line=1";
        assert!(!escape_property(hostile).contains([':', ',', '\n']));
        assert!(!escape_data(hostile).contains('\n'));
    }

    #[test]
    fn source_paths_are_made_relative_to_the_checkout() {
        assert_eq!(relative_path("/w/repo/c/leakfix.c", Some("/w/repo/")), "c/leakfix.c");
        assert_eq!(relative_path("/elsewhere/x.c", Some("/w/repo")), "/elsewhere/x.c");
        assert_eq!(relative_path("./build-debug/../Objects/call.c", None), "Objects/call.c");
        assert_eq!(relative_path("../../x.c", None), "../../x.c");
        assert_eq!(relative_path("/w/repox/y.c", Some("/w/repo")), "/w/repox/y.c");
    }
}
