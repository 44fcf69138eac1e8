//! unittest's own lines about test methods: verbose `test_foo (mod.Class.test_foo) ... ok` lines,
//! the `FAIL:`/`ERROR:` headers of its error list with their tracebacks, and doctests
//! (`bad (test_doct)` with its `Doctest: test_doct.bad` line); what they name is kept in
//! [`TestResult::methods`](crate::regrtest::TestResult::methods).
//!
//! A doctest's description is its dotted name split at the last dot, and the name may hold
//! dots, spaces and parentheses of its own (a key of a module's `__test__` dict), so a
//! description is not taken apart alone: the `Doctest: NAME` line under it says which split
//! it was ([`confirmed_doctest`]), and the name is then named as [`doctest_parts`] says.
//!
//! 3.15+ reports a doctest's examples as its subtests (`  bad (test_doct) [0]`, a header
//! `FAIL: bad (test_doct) [0]`) and then unittest's `... ok` for the doctest: a failing example
//! fails the doctest, which keeps its 3.14 name (see `Parser::doctest_example_line`).

use super::{is_rule, ListedTraceback, Parser, PendingDoctest, PendingHeader, PendingMethod, TestState, Traceback};
use crate::regrtest::patterns::{GLUED_METHOD_STATUS, LOG_PREFIX, METHOD_STATUS, PROGRESS, UNITTEST_FAILURE};
use crate::regrtest::text::{truncate_at_char_boundary, CappedText};
use crate::regrtest::{
    MethodOutcome, MethodResult, MAX_FAILED_METHODS, MAX_FAILED_METHOD_LEN, MAX_METHODS, MAX_METHOD_HEADERS,
    MAX_TEST_TRACEBACK_BYTES,
};

/// Longest text kept for a method's tracebacks joined: those of several of its subtests that
/// failed, each under its header.
const MAX_JOINED_TRACEBACK_BYTES: usize = 4 * crate::regrtest::MAX_TRACEBACK_BYTES;
/// What ends joined tracebacks that reached [`MAX_JOINED_TRACEBACK_BYTES`].
const SUBTEST_TRACEBACKS_CUT: &str = "\n\n(more failures of this method: their tracebacks are in the log)";

impl Parser {
    pub(super) fn on_unittest_failure(&mut self, desc: &str, outcome: MethodOutcome) {
        // A header right after another one (no line under it said what the first named).
        self.settle_header();
        let Some(test) = self.subject.filter(|&i| i < self.tests.len()) else {
            return;
        };
        let state = &mut self.tests[test];
        let unittest = method_description(desc);
        // A doctest's description (`b (m.__test__.a)`) can read as a unittest method's too
        // (`x (m.__test__.x)` for the key "x.x"): the line under the header decides, unless a
        // verbose line has already said that this description is a doctest's. 3.15+ heads the
        // failure of a doctest's example with the doctest's description and the example's
        // number (`FAIL: bad (test_doct) [0]`).
        let example = without_example_number(desc);
        let base = example.unwrap_or(desc);
        let doctest = may_be_doctest(base).then(|| base.to_owned());
        let known_doctest = doctest.is_some()
            && state.result.methods.iter().any(|m| m.doctest && doctest_description(&m.class, &m.name) == base);
        let (class, method) = match unittest {
            Some((method, class, _)) if !known_doctest => (class.to_owned(), method.to_owned()),
            _ => (String::new(), String::new()),
        };
        let header = match (doctest, class.is_empty()) {
            (Some(description), _) => Some(PendingHeader {
                description,
                example: example.map(|_| desc.to_owned()),
                outcome,
                unittest: !class.is_empty(),
            }),
            (None, false) => {
                record_header(state, &class, &method, outcome, false);
                None
            }
            (None, true) => None,
        };
        if header.is_some() || !class.is_empty() {
            let word = if outcome == MethodOutcome::Failed { "FAIL" } else { "ERROR" };
            self.traceback = Some(Traceback {
                test,
                heading: truncate_at_char_boundary(&format!("{word}: {desc}"), MAX_FAILED_METHOD_LEN).to_owned(),
                class,
                method,
                text: CappedText::default(),
                started: false,
                docstring_seen: false,
                header,
                rule: None,
            });
        }
        note_failed_method(state, desc);
    }

    /// The header being read names a unittest method after all (no `Doctest:` line under it
    /// said otherwise): recorded now.
    fn settle_header(&mut self) {
        let Some(tb) = self.traceback.as_mut() else { return };
        let Some(header) = tb.header.take() else { return };
        if header.unittest {
            if let Some(state) = self.tests.get_mut(tb.test) {
                record_header(state, &tb.class, &tb.method, header.outcome, false);
            }
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
            if !tb.docstring_seen && !text.is_empty() && !is_rule(text, b'-') {
                // `getDescription` puts the first line of the test's docstring under the header;
                // a doctest's says it is one, and which name it has.
                tb.docstring_seen = true;
                let doctest = tb.header.as_ref().and_then(|h| {
                    let (name, rest) = confirmed_doctest(&h.description, text)?;
                    rest.is_empty().then_some((name, h.outcome))
                });
                if let Some((name, outcome)) = doctest {
                    let header = tb.header.take();
                    let (class, method) = doctest_parts(name);
                    (tb.class, tb.method) = (class.to_owned(), method.to_owned());
                    if let Some(state) = self.tests.get_mut(tb.test) {
                        record_header(state, class, method, outcome, true);
                        // The doctest failed, named as before 3.15 (`bad (test_doct)`), not
                        // its example (`bad (test_doct) [0]`).
                        if let Some(header) = header.filter(|h| h.example.is_some()) {
                            let listed = &mut state.result.failed_methods;
                            listed.retain(|m| Some(m) != header.example.as_ref());
                            note_failed_method(state, &header.description);
                        }
                    }
                    return;
                }
            } else if !(is_rule(text, b'-') || UNITTEST_FAILURE.is_match(text)) {
                // Not unittest's error list after all.
                self.settle_header();
                self.traceback = None;
                return;
            }
            self.settle_header();
            if let Some(tb) = self.traceback.as_mut() {
                if tb.class.is_empty() {
                    // A doctest's header whose `Doctest:` line did not come.
                    self.traceback = None;
                } else if is_rule(text, b'-') {
                    tb.started = true;
                }
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
        self.settle_header();
        let Some(tb) = self.traceback.take() else { return };
        let Some(state) = self.tests.get_mut(tb.test) else { return };
        let Some(&i) = state.method_index.get(&(tb.class, tb.method)) else { return };
        // Its header, as printed: the first of this error list replaces an earlier list's.
        let first = state.listed_headers.insert(i);
        let method = &mut state.result.methods[i];
        if first {
            method.headers.clear();
            method.headers_left_out = 0;
        }
        if method.headers.len() < MAX_METHOD_HEADERS {
            method.headers.push(tb.heading.clone());
        } else {
            method.headers_left_out += 1;
        }
        let text = tb.text.finish();
        if text.is_empty() {
            return;
        }
        if state.traceback_bytes + text.len() > MAX_TEST_TRACEBACK_BYTES {
            return;
        }
        let kept = &mut state.result.methods[i].traceback;
        match (state.listed_tracebacks.get_mut(&i), kept.as_mut()) {
            // Another failure of the method in the same error list: one of its subtests'.
            // Each is kept, under its header, up to a bound; the log has them all.
            (Some(listed), Some(kept)) => {
                if listed.full {
                    return;
                }
                let before = kept.len();
                if let Some(first) = listed.first_header.take() {
                    *kept = format!("{first}\n{kept}");
                }
                if kept.len() + tb.heading.len() + text.len() + 3 > MAX_JOINED_TRACEBACK_BYTES {
                    kept.push_str(SUBTEST_TRACEBACKS_CUT);
                    listed.full = true;
                } else {
                    kept.push_str(&format!("\n\n{}\n{text}", tb.heading));
                }
                state.traceback_bytes += kept.len() - before;
            }
            _ => {
                state.traceback_bytes += text.len();
                *kept = Some(text);
                state.listed_tracebacks.insert(i, ListedTraceback { first_header: Some(tb.heading), full: false });
            }
        }
    }

    /// A unittest verbose line (`test_foo (m.C.test_foo) ... ok`), or the status that ends a
    /// pending one. Returns whether the line was one.
    pub(super) fn on_method_line(&mut self, text: &str) -> bool {
        // Cheap rejection: a description holds ` (`; a lone status needs a pending method. A
        // prebuilt finder: `str::contains` sets up its searcher anew on every line.
        static OPEN_PAREN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(" ("));
        if self.pending_method.is_none() && OPEN_PAREN.find(text.as_bytes()).is_none() {
            return false;
        }
        if self.doctest_example_line(text) {
            return true;
        }
        let description = text.split(" ... ").next().and_then(method_description);
        let status_due =
            !self.in_summary && (self.pending_method.is_some() || (description.is_some() && text.contains(" ... ")));
        let status = super::captures(&METHOD_STATUS, text).or_else(|| {
            if status_due {
                super::captures(&GLUED_METHOD_STATUS, text)
            } else {
                None
            }
        });
        match (description, status) {
            (Some((method, class, _)), Some(status)) if text.contains(" ... ") => {
                let (method, class) = (method.to_owned(), class.to_owned());
                self.pending_method = None;
                self.record_for_subject(&class, &method, false, &status);
                true
            }
            (Some((method, class, _)), _) => {
                // `DESCRIPTION ... ` then the test's output, or `DESCRIPTION` then the
                // docstring line: the status comes later. A doctest's `Doctest:` line may say
                // it was a doctest's description (see `feed_line`).
                self.pending_method = self.subject.map(|test| PendingMethod {
                    test,
                    class: class.to_owned(),
                    method: method.to_owned(),
                    doctest: false,
                    example: false,
                });
                self.pending_doctest = self.doctest_candidate(text);
                true
            }
            (None, Some(status)) => match self.pending_method.take() {
                Some(pending) if Some(pending.test) == self.subject && pending.example => {
                    self.record_doctest_example(&pending.class, &pending.method, &status);
                    // The doctest's own status comes after its examples'.
                    self.pending_method = Some(PendingMethod { example: false, ..pending });
                    true
                }
                Some(pending) if Some(pending.test) == self.subject => {
                    self.record_for_subject(&pending.class, &pending.method, pending.doctest, &status);
                    true
                }
                _ => false,
            },
            (None, None) => {
                // A doctest's description, if its `Doctest:` line comes next (see `feed_line`).
                self.pending_doctest = self.doctest_candidate(text);
                false
            }
        }
    }

    fn doctest_candidate(&self, text: &str) -> Option<PendingDoctest> {
        let test = self.subject.filter(|_| may_be_doctest(text))?;
        Some(PendingDoctest { test, description: text.to_owned() })
    }

    /// The line after a doctest's description (`bad (test_doct)`): its `Doctest:
    /// test_doct.bad` line, maybe with the status after ` ... `, makes it the method whose
    /// status is due.
    pub(super) fn confirm_doctest(&mut self, pending: PendingDoctest, text: &str) {
        let Some((name, _)) = confirmed_doctest(&pending.description, text) else { return };
        if Some(pending.test) == self.subject {
            let (class, method) = doctest_parts(name);
            let (class, method) = (class.to_owned(), method.to_owned());
            self.pending_method =
                Some(PendingMethod { test: pending.test, class, method, doctest: true, example: false });
        }
    }

    /// 3.15+'s doctest reports each example as a subtest of the doctest, and unittest the
    /// doctest after them, so that a failing one's verbose lines are
    ///
    /// ```text
    /// bad (test_doct)
    /// Doctest: test_doct.bad ...
    ///   bad (test_doct) [0]
    /// Doctest: test_doct.bad ... FAIL
    /// bad (test_doct)
    /// Doctest: test_doct.bad ... ok
    /// ```
    ///
    /// Returns whether `text` is the line of an example (`  bad (test_doct) [0]`) of the
    /// doctest whose status is due: the status that follows is the example's.
    fn doctest_example_line(&mut self, text: &str) -> bool {
        let subject = self.subject;
        let Some(pending) = self.pending_method.as_mut().filter(|p| p.doctest && Some(p.test) == subject) else {
            return false;
        };
        let example = text.strip_prefix("  ").and_then(without_example_number);
        if example.is_none_or(|described| described != doctest_description(&pending.class, &pending.method)) {
            return false;
        }
        pending.example = true;
        true
    }

    /// The status of a doctest's example (see [`Parser::doctest_example_line`]): a failure is
    /// the doctest's, which the `... ok` unittest prints for the doctest after its examples
    /// does not take back; an example skipped (`skipped ''`) says nothing of the doctest.
    fn record_doctest_example(&mut self, class: &str, method: &str, status: &regex::Captures<'_>) {
        let Some(state) = self.subject.and_then(|i| self.tests.get_mut(i)) else {
            return;
        };
        let outcome = match status.get(1).map_or("", |m| m.as_str()) {
            "FAIL" => MethodOutcome::Failed,
            "ERROR" => MethodOutcome::Error,
            _ => return,
        };
        let key = (class.to_owned(), method.to_owned());
        let earlier = state.method_index.get(&key).copied();
        // The doctest's first failing example since its line began is a new result of it: the
        // error list that follows is this run's. A second keeps the first's outcome (a
        // failure before an error is as much a failure).
        if earlier.is_some_and(|i| state.failed_doctest_examples.contains(&i)) {
            return;
        }
        record_method(state, class, method, outcome, None, true);
        if let Some(&i) = state.method_index.get(&key) {
            state.failed_doctest_examples.insert(i);
            state.listed_tracebacks.remove(&i);
            state.listed_headers.remove(&i);
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
        let index = state.method_index.get(&(class.to_owned(), method.to_owned())).copied();
        // 3.15+: unittest's `ok` for a doctest after the statuses of its examples, one of which
        // failed (see `doctest_example_line`), is no pass: the failure stands.
        let example_failed = doctest && index.is_some_and(|i| state.failed_doctest_examples.remove(&i));
        if example_failed && outcome == MethodOutcome::Passed {
            return;
        }
        record_method(state, class, method, outcome, detail, doctest);
        // A new result of the method: the error list that follows is another run's.
        if let Some(i) = state.method_index.get(&(class.to_owned(), method.to_owned())) {
            state.listed_tracebacks.remove(i);
            state.listed_headers.remove(i);
        }
        // unittest fails the run on it (and so does the JUnit XML), but lists it under no
        // `FAIL:`/`ERROR:` header: the drafts and annotations name the failing methods from
        // `failed_methods`, so it goes there, as the verbose line described it.
        if outcome == MethodOutcome::UnexpectedSuccess {
            let description =
                if doctest { doctest_description(class, method) } else { format!("{method} ({class}.{method})") };
            note_failed_method(state, &description);
        }
    }
}

/// Add a failing method's description (`test_foo (mod.Class.test_foo)`) to the test's
/// `failed_methods`, once, within [`MAX_FAILED_METHODS`].
fn note_failed_method(state: &mut TestState, desc: &str) {
    let methods = &mut state.result.failed_methods;
    if methods.len() >= MAX_FAILED_METHODS {
        return;
    }
    let desc = truncate_at_char_boundary(desc, MAX_FAILED_METHOD_LEN);
    if !methods.iter().any(|m| m == desc) {
        methods.push(desc.to_owned());
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

/// Longest doctest description [`confirmed_doctest`] takes apart: a longer name is not
/// recorded anyway ([`MAX_FAILED_METHOD_LEN`]), and the bound keeps a hostile line of many ` (`
/// cheap.
const MAX_DOCTEST_DESCRIPTION: usize = MAX_FAILED_METHOD_LEN + 8;

/// Whether `text` may be a doctest's description as unittest prints it
/// (`DocTestCase.__repr__`, `"%s (%s)" % (name[-1], '.'.join(name[:-1]))` of its name split
/// at dots): `bad (test_doct)`, `b (m.__test__.a)`, `with space (m.__test__)`, `test_extcall
/// (test)`, `test_d ()` for a top-level module's own docstring. Only the `Doctest:` line
/// under it can tell ([`confirmed_doctest`]).
fn may_be_doctest(text: &str) -> bool {
    text.len() <= MAX_DOCTEST_DESCRIPTION && text.ends_with(')') && text.contains(" (")
}

/// `description` without the ` [N]` 3.15+ puts after a doctest's description for one of its
/// examples (`bad (test_doct) [0]`, a subtest's, `str(N)` as its message); None without one.
fn without_example_number(description: &str) -> Option<&str> {
    let (before, number) = description.strip_suffix(']')?.rsplit_once(" [")?;
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then_some(before)
}

/// Whether `line`, the line under `description`, is the doctest's `Doctest: NAME` line
/// (`DocTestCase.shortDescription`) with the NAME `description` splits: the description is its
/// last dotted part, ` (`, the parts before it and `)`, and the parts may hold ` (` and `)`
/// themselves (`with (parens) (m.__test__)`), so each ` (` is tried. Returns the name and
/// what follows it on the line: nothing (under a `FAIL:` header), or ` ...` and the status
/// (a verbose method line).
pub(super) fn confirmed_doctest<'l>(description: &str, line: &'l str) -> Option<(&'l str, &'l str)> {
    let after_prefix = line.strip_prefix("Doctest: ")?;
    let inside = description.strip_suffix(')')?;
    inside.match_indices(" (").find_map(|(at, _)| {
        let (last, before) = (&inside[..at], &inside[at + 2..]);
        if last.is_empty() || last.contains('.') {
            return None;
        }
        let rest = match before {
            "" => after_prefix.strip_prefix(last)?,
            _ => after_prefix.strip_prefix(before)?.strip_prefix('.')?.strip_prefix(last)?,
        };
        (rest.is_empty() || rest.starts_with(" ...")).then(|| (&after_prefix[..after_prefix.len() - rest.len()], rest))
    })
}

/// A doctest's dotted name taken apart as [`MethodResult`](crate::regrtest::MethodResult)
/// names it: (class, name). One from a module's `__test__` dict (`m.__test__.KEY`, where the
/// key may hold dots and spaces: `__test__ = {"a.b": ...}`) is named by the key, whole (`a.b`;
/// `KEY.method` for a method of a class given there), in the class `m.__test__`; another by
/// its last part (`bad`, `func`), in the module or class before it (`test_doct`,
/// `test_doct.Cls`; empty for a top-level module's own docstring).
#[must_use]
pub fn doctest_parts(name: &str) -> (&str, &str) {
    const TEST_DICT: &str = ".__test__.";
    if let Some(at) = name.find(TEST_DICT).filter(|&at| at + TEST_DICT.len() < name.len()) {
        return (&name[..at + TEST_DICT.len() - 1], &name[at + TEST_DICT.len()..]);
    }
    name.rsplit_once('.').unwrap_or(("", name))
}

/// A doctest's description as unittest printed it (`DocTestCase.__repr__`: its dotted name's
/// last part, then the parts before it in parentheses), from the class and name
/// [`doctest_parts`] made of that name: `b (m.__test__.a)` for `m.__test__` and `a.b`.
#[must_use]
pub fn doctest_description(class: &str, name: &str) -> String {
    let joined;
    let full = if class.is_empty() {
        name
    } else {
        joined = format!("{class}.{name}");
        &joined
    };
    match full.rsplit_once('.') {
        Some((before, last)) => format!("{last} ({before})"),
        None => format!("{full} ()"),
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
        headers: Vec::new(),
        headers_left_out: 0,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every description unittest prints for a doctest, and the `Doctest:` line under it: the
    /// line says which ` (` splits the description, and the name goes back to the same
    /// description.
    #[test]
    fn a_doctests_description_is_split_as_its_doctest_line_says() {
        for (description, line, name, rest, parts) in [
            ("bad (test_d)", "Doctest: test_d.bad ... FAIL", "test_d.bad", " ... FAIL", ("test_d", "bad")),
            ("func (m.Doc)", "Doctest: m.Doc.func", "m.Doc.func", "", ("m.Doc", "func")),
            ("test_d ()", "Doctest: test_d ... ok", "test_d", " ... ok", ("", "test_d")),
            ("b (m.__test__.a)", "Doctest: m.__test__.a.b", "m.__test__.a.b", "", ("m.__test__", "a.b")),
            (
                "with space (m.__test__)",
                "Doctest: m.__test__.with space ... ",
                "m.__test__.with space",
                " ...",
                ("m.__test__", "with space"),
            ),
            ("f (x) (m.__test__)", "Doctest: m.__test__.f (x)", "m.__test__.f (x)", "", ("m.__test__", "f (x)")),
            (
                "c d (m.__test__.a b)",
                "Doctest: m.__test__.a b.c d",
                "m.__test__.a b.c d",
                "",
                ("m.__test__", "a b.c d"),
            ),
            (
                "method (m.__test__.K)",
                "Doctest: m.__test__.K.method",
                "m.__test__.K.method",
                "",
                ("m.__test__", "K.method"),
            ),
            (
                "tut (test.test_generators.__test__)",
                "Doctest: test.test_generators.__test__.tut",
                "test.test_generators.__test__.tut",
                "",
                ("test.test_generators.__test__", "tut"),
            ),
        ] {
            let line = line.trim_end();
            let rest = rest.trim_end();
            assert_eq!(confirmed_doctest(description, line), Some((name, rest)), "{description}");
            assert_eq!(doctest_parts(name), parts, "{name}");
            assert_eq!(doctest_description(parts.0, parts.1), description, "{name}");
        }
        for (description, line) in [
            ("bad (test_d)", "Doctest: test_d.other ... ok"),
            ("bad (test_d)", "Doctest: test_d.badder"),
            ("bad (test_d)", "Doctest:test_d.bad"),
            ("a.b (m)", "Doctest: m.a.b"),
            (" (m.__test__)", "Doctest: m.__test__."),
            ("no parens", "Doctest: no parens"),
            ("bad (test_d", "Doctest: test_d.bad"),
            ("(((((", "Doctest: ((((("),
            ("é (ü) (", "Doctest: ü.é"),
        ] {
            assert_eq!(confirmed_doctest(description, line), None, "{description} / {line}");
        }
        // A `__test__` part ending the name is no key.
        assert_eq!(doctest_parts("m.__test__."), ("m.__test__", ""));
        assert_eq!(doctest_parts("m.x.__test__"), ("m.x", "__test__"));
        assert_eq!(doctest_parts("README"), ("", "README"));
        let long = format!("{} (m)", "a (".repeat(1000));
        assert!(!may_be_doctest(&long));
    }
}
