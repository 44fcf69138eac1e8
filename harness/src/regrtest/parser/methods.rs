//! unittest's own lines about test methods: verbose `test_foo (mod.Class.test_foo) ... ok` lines,
//! the `FAIL:`/`ERROR:` headers of its error list with their tracebacks, and doctests
//! (`bad (test_doct)` with its `Doctest: test_doct.bad` line); what they name is kept in
//! [`TestResult::methods`](crate::regrtest::TestResult::methods).

use super::{is_rule, Parser, PendingMethod, TestState, Traceback};
use crate::regrtest::patterns::{
    DOCTEST_DESCRIPTION, GLUED_METHOD_STATUS, LOG_PREFIX, METHOD_STATUS, PROGRESS, UNITTEST_FAILURE,
};
use crate::regrtest::text::{truncate_at_char_boundary, CappedText};
use crate::regrtest::{
    MethodOutcome, MethodResult, MAX_FAILED_METHODS, MAX_FAILED_METHOD_LEN, MAX_METHODS, MAX_TEST_TRACEBACK_BYTES,
};

impl Parser {
    pub(super) fn on_unittest_failure(&mut self, desc: &str, outcome: MethodOutcome) {
        let Some(test) = self.subject.filter(|&i| i < self.tests.len()) else {
            return;
        };
        let state = &mut self.tests[test];
        let new_traceback = |class: &str, method: &str, doctest: Option<MethodOutcome>| Traceback {
            test,
            class: class.to_owned(),
            method: method.to_owned(),
            text: CappedText::default(),
            started: false,
            docstring_seen: false,
            doctest,
            rule: None,
        };
        if let Some((method, class, _)) = method_description(desc) {
            record_header(state, class, method, outcome, false);
            self.traceback = Some(new_traceback(class, method, None));
        } else if let Some((method, class)) = doctest_description(desc) {
            // Recorded once the docstring line says it is a doctest.
            self.traceback = Some(new_traceback(class, method, Some(outcome)));
        }
        let methods = &mut state.result.failed_methods;
        if methods.len() >= MAX_FAILED_METHODS {
            return;
        }
        let desc = truncate_at_char_boundary(desc, MAX_FAILED_METHOD_LEN);
        if !methods.iter().any(|m| m == desc) {
            methods.push(desc.to_owned());
        }
    }

    /// The lines of a traceback under a `FAIL:`/`ERROR:` header: after the header's `-` line,
    /// until the next header's `=` line, the `-` line before `Ran N tests`, or regrtest's own
    /// next line. Kept on the method (the first [`MAX_TRACEBACK_BYTES`]).
    ///
    /// [`MAX_TRACEBACK_BYTES`]: crate::regrtest::MAX_TRACEBACK_BYTES
    pub(super) fn collect_traceback(&mut self, text: &str, cut: usize) {
        let Some(tb) = self.traceback.as_mut() else { return };
        if !tb.started {
            if is_rule(text, b'-') && (tb.doctest.is_none() || tb.docstring_seen) {
                tb.started = true;
            } else if !tb.docstring_seen && !text.is_empty() && !is_rule(text, b'-') {
                // `getDescription` puts the first line of the test's docstring under the header;
                // a doctest's says it is one.
                tb.docstring_seen = true;
                if let Some(outcome) = tb.doctest {
                    if text != doctest_docstring(&tb.class, &tb.method) {
                        self.traceback = None;
                    } else if let Some(state) = self.tests.get_mut(tb.test) {
                        record_header(state, &tb.class, &tb.method, outcome, true);
                    }
                }
            } else if !UNITTEST_FAILURE.is_match(text) {
                // Not unittest's error list after all.
                self.traceback = None;
            }
            return;
        }
        if let Some(rule) = tb.rule.take() {
            if !text.starts_with("File \"") {
                self.finish_traceback();
                return;
            }
            // doctest's divider before the report of an example that failed.
            tb.text.push_line(&rule, 0);
        } else if is_rule(text, b'-') {
            tb.rule = Some(text.to_owned());
            return;
        }
        if is_rule(text, b'=') || LOG_PREFIX.find(text).is_some_and(|m| PROGRESS.is_match(&text[m.end()..])) {
            self.finish_traceback();
            return;
        }
        tb.text.push_line(text, cut);
    }

    pub(super) fn finish_traceback(&mut self) {
        let Some(tb) = self.traceback.take() else { return };
        let Some(state) = self.tests.get_mut(tb.test) else { return };
        let text = tb.text.finish();
        if text.is_empty() {
            return;
        }
        if state.traceback_bytes + text.len() > MAX_TEST_TRACEBACK_BYTES {
            return;
        }
        if let Some(&i) = state.method_index.get(&(tb.class, tb.method)) {
            state.traceback_bytes += text.len();
            state.result.methods[i].traceback = Some(text);
        }
    }

    /// A unittest verbose line (`test_foo (m.C.test_foo) ... ok`), or the status that ends a
    /// pending one. Returns whether the line was one.
    pub(super) fn on_method_line(&mut self, text: &str) -> bool {
        // Cheap rejection: a description holds ` (`; a lone status needs a pending method.
        if self.pending_method.is_none() && !text.contains(" (") {
            return false;
        }
        let description = text.split(" ... ").next().and_then(method_description);
        let status_due =
            !self.in_summary && (self.pending_method.is_some() || (description.is_some() && text.contains(" ... ")));
        let status =
            METHOD_STATUS.captures(text).or_else(|| if status_due { GLUED_METHOD_STATUS.captures(text) } else { None });
        match (description, status) {
            (Some((method, class, _)), Some(status)) if text.contains(" ... ") => {
                let (method, class) = (method.to_owned(), class.to_owned());
                self.pending_method = None;
                self.record_for_subject(&class, &method, false, &status);
                true
            }
            (Some((method, class, _)), _) => {
                // `DESCRIPTION ... ` then the test's output, or `DESCRIPTION` then the
                // docstring line: the status comes later.
                self.pending_method = self.subject.map(|test| PendingMethod {
                    test,
                    class: class.to_owned(),
                    method: method.to_owned(),
                    doctest: false,
                });
                true
            }
            (None, Some(status)) => match self.pending_method.take() {
                Some(pending) if Some(pending.test) == self.subject => {
                    self.record_for_subject(&pending.class, &pending.method, pending.doctest, &status);
                    true
                }
                _ => false,
            },
            (None, None) => {
                // A doctest's description, if its `Doctest:` line comes next (see `feed_line`).
                if let Some((method, class)) = doctest_description(text) {
                    self.pending_doctest = self.subject.map(|test| PendingMethod {
                        test,
                        class: class.to_owned(),
                        method: method.to_owned(),
                        doctest: true,
                    });
                }
                false
            }
        }
    }

    fn record_for_subject(&mut self, class: &str, method: &str, doctest: bool, status: &regex::Captures<'_>) {
        let Some(state) = self.subject.and_then(|i| self.tests.get_mut(i)) else {
            return;
        };
        let word = status.get(1).map_or("", |m| m.as_str());
        let (outcome, detail) = match word {
            "ok" => (MethodOutcome::Passed, None),
            "FAIL" => (MethodOutcome::Failed, None),
            "ERROR" => (MethodOutcome::Error, None),
            "expected failure" => (MethodOutcome::ExpectedFailure, None),
            "unexpected success" => (MethodOutcome::UnexpectedSuccess, None),
            _ => {
                let reason = status.get(2).map(|m| truncate_at_char_boundary(m.as_str(), MAX_FAILED_METHOD_LEN));
                (MethodOutcome::Skipped, reason.map(str::to_owned))
            }
        };
        record_method(state, class, method, outcome, detail, doctest);
    }
}

/// Longest method name, and class path, [`method_description`] looks for: longer ones are
/// not recorded anyway ([`MAX_FAILED_METHOD_LEN`] for both), and the bound keeps a hostile line
/// of many ` (` cheap.
const MAX_DESCRIBED_NAME: usize = 1024;

/// unittest's `TestCase.__str__` (3.11+), `METHOD (CLASS_PATH.METHOD)`, maybe followed by a
/// subtest's description (` [msg] (i=1)`), after the dots `-R` prints without a newline and the
/// indent of a subtest; taken apart: (method, class path, subtest). The method's name is
/// whatever unittest's loader found on the class (`setattr(Cls, "test_case-1.5 x", f)` makes
/// one with a dash, a dot and a space), so it is not split at a dot or a space: it is the text
/// before a ` (` that the id in the parentheses repeats after its class path (`module.Class`,
/// `module.Outer.Inner`: `__module__` and `__qualname__`, dotted identifiers, `<locals>` too).
pub(crate) fn method_description(text: &str) -> Option<(&str, &str, Option<&str>)> {
    let text = text.trim_start_matches('.');
    let text = text.strip_prefix("  ").unwrap_or(text);
    if text.starts_with(char::is_whitespace) {
        return None;
    }
    for (at, _) in text.match_indices(" (") {
        if at > MAX_DESCRIBED_NAME {
            break;
        }
        let method = &text[..at];
        let inside = &text[at + 2..];
        // The class path's characters: the method's own follow its last dot.
        let path_len = inside
            .char_indices()
            .take(MAX_DESCRIBED_NAME)
            .find(|&(_, ch)| !(ch.is_alphanumeric() || matches!(ch, '_' | '.' | '<' | '>')))
            .map_or(inside.len().min(MAX_DESCRIBED_NAME), |(i, _)| i);
        for (dot, _) in inside[..path_len].match_indices('.') {
            let class = &inside[..dot];
            let Some(after) = inside[dot + 1..].strip_prefix(method).and_then(|r| r.strip_prefix(')')) else {
                continue;
            };
            if !is_class_path(class) {
                continue;
            }
            if after.is_empty() {
                return Some((method, class, None));
            }
            if let Some(subtest) = after.strip_prefix(' ') {
                return Some((method, class, Some(subtest)));
            }
        }
    }
    None
}

/// `module.Class`, `module.Outer.Inner`, `module.func.<locals>.Class`: dotted identifiers.
fn is_class_path(path: &str) -> bool {
    path.split('.').count() >= 2
        && path.split('.').all(|part| {
            part == "<locals>"
                || part.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                    && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// The class of a unittest method of regrtest's test `test`, from the class path its
/// description names (`test_x.Outer.Inner`): what follows the test's module (`test` itself, or
/// `test.` and it for CPython's own tests), so a nested class keeps its outer one, less the
/// modules of a test package (`test_asyncio`'s `test_tasks.`); else the last part (a class
/// imported from another module, `test.lock_tests.LockTests`; `test_x` for `setUpModule
/// (test_x)`).
#[must_use]
pub fn class_in_module<'p>(test: &str, class_path: &'p str) -> &'p str {
    for module in [format!("test.{test}"), test.to_owned()] {
        let Some(mut class) = class_path.strip_prefix(module.as_str()).and_then(|rest| rest.strip_prefix('.')) else {
            continue;
        };
        while let Some((_, rest)) = class.split_once('.').filter(|(first, _)| first.starts_with("test_")) {
            class = rest;
        }
        if !class.is_empty() {
            return class;
        }
    }
    class_path.rsplit('.').next().unwrap_or(class_path)
}

/// A doctest's description as unittest prints it (`DocTestCase.__repr__`): `bad
/// (test_doct)`, `tut (test.test_generators.__test__)`, `test_extcall (test)` for a module's
/// own docstring. Taken apart: (the last part of its dotted name, the part before it). Only a
/// doctest's if its `Doctest: ...` line says so ([`doctest_docstring`]).
fn doctest_description(text: &str) -> Option<(&str, &str)> {
    let c = DOCTEST_DESCRIPTION.captures(text)?;
    Some((c.get(1)?.as_str(), c.get(2).map_or("", |m| m.as_str())))
}

/// The line under a doctest's description (`DocTestCase.shortDescription`): `Doctest: ` and
/// its dotted name.
pub(super) fn doctest_docstring(class: &str, method: &str) -> String {
    if class.is_empty() {
        format!("Doctest: {method}")
    } else {
        format!("Doctest: {class}.{method}")
    }
}

/// A `FAIL:`/`ERROR:` header's method. Verbose mode printed it already (a failed subtest may
/// have passed siblings): the header only adds a method it did not name. The list also
/// corrects an `ok` read from test output that ended like a status word (`... book`, see
/// `GLUED_METHOD_STATUS`).
fn record_header(state: &mut TestState, class: &str, method: &str, outcome: MethodOutcome, doctest: bool) {
    let known = state.method_index.get(&(class.to_owned(), method.to_owned()));
    if known.is_none_or(|&i| state.result.methods[i].outcome == MethodOutcome::Passed) {
        record_method(state, class, method, outcome, None, doctest);
    }
}

/// Record a method's result; a later one (the next `-R` repetition, a re-run) replaces an
/// earlier one. A subtest's status is its method's: unittest prints only failing subtests, and
/// prints nothing more for a method one of whose subtests failed.
fn record_method(
    state: &mut TestState,
    class: &str,
    method: &str,
    outcome: MethodOutcome,
    detail: Option<String>,
    doctest: bool,
) {
    let key = (class.to_owned(), method.to_owned());
    if let Some(&i) = state.method_index.get(&key) {
        let entry = &mut state.result.methods[i];
        entry.outcome = outcome;
        entry.detail = detail;
        return;
    }
    if state.result.methods.len() >= MAX_METHODS || class.len() + method.len() > MAX_FAILED_METHOD_LEN {
        return;
    }
    state.method_index.insert(key, state.result.methods.len());
    state.result.methods.push(MethodResult {
        name: method.to_owned(),
        class: class.to_owned(),
        outcome,
        detail,
        traceback: None,
        doctest,
    });
}
