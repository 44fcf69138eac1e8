//! JUnit XML from a [`RunReport`], and the per-test verdicts ([`Case`]) that every writer of
//! this directory besides text and JSON (JUnit, issue drafts, GitHub annotations) is made from.
//!
//! **What it writes.** `<testsuites>` holding one `<testsuite name="leakcheck">` with one
//! `<testcase classname="regrtest" name="TEST">` per regrtest test file, in the report's order.
//! A test that leaked (regrtest's leak lines, a leaking allocator domain or leak site), failed
//! in regrtest (any outcome but passed, skipped, resource denied, ran no tests, interrupted, and
//! env changed in a run regrtest does not fail on it; the failed unittest methods named), hung
//! (the report's `hangs`) or had a sanitizer finding (`sanitizer_findings`) gets one
//! `<failure type=KIND message=ONE-LINE>`, the details (the text summary's lines for the test
//! or finding, a hang's as printed when it was found, with its Python stacks; regrtest's own leak lines and result line, its traceback and faulthandler's
//! dump, the failed test methods) in the element's text. One only, and never an `<error>` beside
//! it, whatever the number of problems: many consumers (Jenkins' JUnit plugin, GitLab) take one
//! failure or error per testcase and drop or reject the rest. A test with several problems
//! gets one whose type names each kind once (`leak,regrtest`), whose message numbers each
//! problem's (`2 problems: (1) leaked raw ... (2) regrtest: failed (env changed)`) and whose
//! text has each problem's message and details in turn, in the same order. Skipped tests, the
//! test a user's interrupt stopped, and a test with no result whose run a hang ended after it
//! (at interpreter exit, or in no test in its process: its note says so) get
//! `<skipped message=...>`. A test that altered the
//! execution environment in a run without `--fail-env-changed` passes, as regrtest passes it,
//! with a `<system-out>` that says so.
//! After a test's testcase, one `<testcase classname="module.Class" name="test_method">` per
//! unittest method the output named (`TestReport::methods`: every method with `-v`, else the
//! failing ones; a doctest's classname is its `class`: what precedes the last part of its
//! name, the module or module and class, and `MODULE.__test__` for one of a module's `__test__`
//! dict, named by its key), failing (`type="unittest"`) for `FAIL`, `ERROR` and `unexpected
//! success`, with unittest's `FAIL:`/`ERROR:` headers for it as printed (one per failing
//! subtest, each with the subtest's description: which of them failed), skipped for a skip;
//! these are not [`Case`]s, so drafts and annotations stay one per test.
//! Problems of the run as a whole (the command could not start, was killed by a signal, was
//! interrupted, regrtest's worker thread failed, a hang or finding no test owns) are a failing
//! `<testcase classname="leakcheck" name="run">`; so is, when no testcase failed otherwise, a
//! non-zero exit status of the command (a usage error, regrtest's own `KeyboardInterrupt`, a
//! script's `exit 3`), whose failure says the status and, when known, why: a CI step fails on
//! that status, and so does the XML. The failed methods a message names are each
//! method once: unittest prints a `FAIL:` header per failing subtest. The suite carries the
//! command, versions and statuses as `<property>`s and the whole text summary as
//! `<system-out>`. The output validates against Jenkins' `junit-10.xsd`
//! (the schema of the xunit plugin) and reads back with Python's `junitparser`.
//!
//! **Untrusted text.** Everything from the child (test names, outcomes, method names, file and
//! function names of frames, messages) is XML-escaped, and characters that XML 1.0 forbids even
//! as references (C0 controls other than tab, newline and carriage return; U+FFFE, U+FFFF) are
//! written as visible `\xHH` / `\u{HHHH}` text, as are the other controls, DEL, C1 and the
//! bidirectional controls ([`crate::escape::for_terminal`]'s rule): a test name cannot end the
//! document, forge an element or hide text. Line breaks are kept in element text only; in
//! attributes they are made visible too, so a reader's attribute normalization loses nothing.
//!
//! **What the caller provides.** The finished report and a writer; [`write_junit`] neither
//! buffers the whole document nor flushes or syncs the writer (`crate::outputs` writes report
//! files atomically). No timings are written: the
//! report has none.

#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::{list, RunReport, TestReport, ENDED_AS_LEFTOVER, RAN_THROUGH, RAN_THROUGH_HANG, WORKER_THREAD_FAILED};
use crate::escape::for_terminal;
use crate::hang::{HangReport, PythonFrame};
use crate::regrtest::{MethodOutcome, MethodResult};
use crate::sanitizer::{Finding, ReportFrame};
use crate::symbolize::Frame;

/// The `name` of the testcase that holds problems of the run as a whole.
pub const RUN_CASE: &str = "run";

/// Longest `message` attribute, in characters; the element text has everything.
const MAX_MESSAGE_CHARS: usize = 2_000;

/// What kind of problem a [`Failure`] is; the JUnit `type` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// regrtest's leak lines, a leaking allocator domain or a leak site.
    Leak,
    /// regrtest's own verdict: failed, crashed, timed out, no result...
    Regrtest,
    /// A sanitizer report attributed to the test.
    Sanitizer,
    /// The test hung and leakcheck ended it.
    Hang,
    /// The run as a whole: the command did not start, was killed, was interrupted.
    Run,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Leak => "leak",
            FailureKind::Regrtest => "regrtest",
            FailureKind::Sanitizer => "sanitizer",
            FailureKind::Hang => "hang",
            FailureKind::Run => "run",
        }
    }
}

/// A location to point at: the innermost frame of a leak site (or finding, or hung thread)
/// that has a file and a line; the file as people read it (`source_path`). Never a file the
/// shim could not read (`?`). A sanitizer finding's innermost frame outside the C runtime that
/// has no source line (a stripped extension module's) is a module and offset instead: the
/// caller's line below it is not where the bug is. A UBSan finding's whose first frame has no
/// source line is the file and line of its headline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub function: Option<String>,
    pub place: Place,
    /// A Python frame's line (the test's own code, or the library code it called), not C.
    pub python: bool,
}

/// Where a [`Location`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Source {
        file: String,
        line: u32,
    },
    /// A frame without a source line: the module as the sanitizer printed it, and the offset.
    Module {
        module: String,
        offset: u64,
    },
}

impl std::fmt::Display for Place {
    /// `file:line`, or `module+0xOFFSET` as the sanitizers print an unsymbolized frame.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Source { file, line } => write!(f, "{file}:{line}"),
            Place::Module { module, offset } => write!(f, "{module}+{offset:#x}"),
        }
    }
}

impl Location {
    /// A C source line.
    fn source(function: Option<String>, file: String, line: u32) -> Location {
        Location { function, place: Place::Source { file, line }, python: false }
    }

    /// The file and line, for a location in source.
    #[must_use]
    pub fn file_line(&self) -> Option<(&str, u32)> {
        match &self.place {
            Place::Source { file, line } => Some((file, *line)),
            Place::Module { .. } => None,
        }
    }

    /// Where Python frame `p` is, when it says: a line, and a file the shim could read (it
    /// writes `?` for a name it could not, e.g. a non-ASCII one in 3.11).
    fn of_python(p: &PythonFrame) -> Option<Location> {
        if p.line == 0 || p.file == UNKNOWN_NAME {
            return None;
        }
        let function = Some(p.function.clone()).filter(|f| f != UNKNOWN_NAME);
        Some(Location { function, place: Place::Source { file: p.file.clone(), line: p.line }, python: true })
    }
}

/// What the shim writes for a Python frame's file or function it could not read.
const UNKNOWN_NAME: &str = "?";

/// One problem of a test (or of the run). All text is raw, as the child gave it: each writer
/// escapes it for its own format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// One line saying what went wrong (without the test's name).
    pub message: String,
    /// Plain text lines: the log excerpt that shows it.
    pub details: String,
    pub location: Option<Location>,
}

/// A failed unittest method as regrtest's output names it (`FAIL: ...`/`ERROR: ...` headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedMethod {
    /// As printed: `test_foo (test.test_x.TestClass.test_foo) [subtest 1]`.
    pub raw: String,
    /// `test_foo` (or `setUpClass`, ...).
    pub method: String,
    /// `TestClass`, when the description names one.
    pub class: Option<String>,
    /// `test.test_x.TestClass`: what the description names the class with (the module alone for
    /// `setUpModule`); empty when it names none.
    pub class_path: String,
}

impl FailedMethod {
    /// Split unittest's description: `METHOD (MODULE.CLASS.METHOD)` since 3.11 (a method's
    /// name may hold dots, dashes and spaces: `regrtest`'s `method_description` finds it where
    /// the id repeats it), `METHOD (MODULE.CLASS)` before and for a fixture (`setUpClass
    /// (test_x.C)`), maybe followed by ` [subtest]` or ` (params)`. The class is the class
    /// path's last part; [`FailedMethod::of_test`] knows the module and does better.
    pub fn parse(raw: &str) -> FailedMethod {
        let raw = raw.trim();
        if let Some((method, class_path, _)) = crate::regrtest::method_description(raw) {
            let class = class_path.rsplit('.').next().filter(|c| !c.is_empty()).map(str::to_owned);
            return FailedMethod {
                raw: raw.to_owned(),
                method: method.to_owned(),
                class,
                class_path: class_path.to_owned(),
            };
        }
        let (method, rest) = raw.split_once(' ').unwrap_or((raw, ""));
        let qualified = rest.split_once('(').and_then(|(_, r)| r.split(')').next()).unwrap_or("");
        let class_path = qualified.strip_suffix(method).and_then(|p| p.strip_suffix('.')).unwrap_or(qualified);
        let class = class_path.rsplit('.').next().filter(|c| !c.is_empty()).map(str::to_owned);
        FailedMethod { raw: raw.to_owned(), method: method.to_owned(), class, class_path: class_path.to_owned() }
    }

    /// Whether `other` names the same method (of the same class): unittest prints one
    /// `FAIL:`/`ERROR:` header per failing subtest, each with the subtest's parameters.
    pub fn same_method(&self, other: &FailedMethod) -> bool {
        self.method == other.method && self.class_path == other.class_path
    }

    /// [`FailedMethod::parse`], knowing the test's methods: a doctest's description (`bad
    /// (test_doct)`) names its module (or module and class) where a unittest method's names
    /// its class, so a doctest has no class, its name is the method
    /// ([`crate::regrtest::MethodResult::doctest`]).
    ///
    /// The class is what the class path names after the test's module
    /// ([`crate::regrtest::class_in_module`]): `Outer.Inner` for a nested class; for a doctest,
    /// its class (`Doc` of `test_x.Doc.func`), or none for a function of the module.
    pub fn of_test(test: &TestReport, raw: &str) -> FailedMethod {
        let mut method = FailedMethod::parse(raw);
        // A doctest's description splits its name at the last dot, which a key of a module's
        // `__test__` dict may hold (`b (test_x.__test__.a)`): the method as the parser named it.
        let doctest = test
            .methods
            .iter()
            .find(|m| m.doctest && crate::regrtest::doctest_description(&m.class, &m.name) == method.raw);
        if let Some(m) = doctest {
            method.method.clone_from(&m.name);
            method.class_path.clone_from(&m.class);
        }
        let doctest = doctest.is_some();
        if !method.class_path.is_empty() {
            let class = crate::regrtest::class_in_module(&test.name, &method.class_path);
            method.class = Some(class.to_owned()).filter(|c| !c.is_empty());
        }
        if doctest {
            // A doctest of a function of the module (`bad (test_doct)`) has no class, nor one
            // of its `__test__` dictionary.
            let module = [format!("test.{}", test.name), test.name.clone()].contains(&method.class_path);
            if module || method.class.as_deref().is_none_or(|c| c == "__test__" || c == method.class_path) {
                method.class = None;
            }
        }
        method
    }

    /// `TestClass.test_foo`, or the method alone.
    pub fn short(&self) -> String {
        match &self.class {
            Some(class) => format!("{class}.{}", self.method),
            None => self.method.clone(),
        }
    }
}

/// The failed methods, each once (in the order of its first header): a method whose subtests
/// failed has a header per failing subtest. What people read counts and lists these.
pub fn distinct_methods(methods: &[FailedMethod]) -> Vec<&FailedMethod> {
    let mut distinct: Vec<&FailedMethod> = Vec::new();
    for method in methods {
        if !distinct.iter().any(|d| d.same_method(method)) {
            distinct.push(method);
        }
    }
    distinct
}

/// The verdict on one regrtest test (or, with `name` [`RUN_CASE`] and `test` `None`, on the run).
#[derive(Debug, Clone)]
pub struct Case<'a> {
    pub name: String,
    pub test: Option<&'a TestReport>,
    /// Empty when the test passed or was skipped.
    pub failures: Vec<Failure>,
    /// Why regrtest skipped it (`skipped`, `resource denied`, `ran no tests`).
    pub skipped: Option<String>,
    pub failed_methods: Vec<FailedMethod>,
    /// What regrtest said of a test that is no failure all the same: `env changed` in a run
    /// regrtest does not fail on it.
    pub output: Option<String>,
}

impl Case<'_> {
    pub fn failed(&self) -> bool {
        !self.failures.is_empty()
    }
}

/// One [`Case`] per test of the report, in its order, then the run's own case when the run
/// itself has a problem.
pub fn cases(report: &RunReport) -> Vec<Case<'_>> {
    let excerpts = Excerpts::new(report);
    let mut cases: Vec<Case<'_>> = report.tests.iter().map(|test| test_case(report, test, &excerpts)).collect();
    let mut run = run_failures(report);
    for hang in &report.hangs {
        let failure = hang_failure(hang, &excerpts);
        let owner = hang.test.as_ref().and_then(|name| cases.iter_mut().find(|c| c.test.is_some() && &c.name == name));
        match owner {
            Some(case) => {
                case.failures.push(failure);
                case.skipped = None;
            }
            None => run.push(failure),
        }
    }
    for finding in &report.sanitizer_findings {
        // A finding merged from several tests' identical reports fails each of them, with the
        // reports of its own output.
        let mut owned = false;
        for name in finding.test.iter().chain(&finding.other_tests) {
            if let Some(case) = cases.iter_mut().find(|c| c.test.is_some() && &c.name == name) {
                case.failures.push(finding_failure(finding, Some(name), &excerpts));
                case.skipped = None;
                owned = true;
            }
        }
        if !owned {
            run.push(finding_failure(finding, None, &excerpts));
        }
    }
    // A CI step fails on the command's status: so does the XML, also when no test shows why.
    if run.is_empty() && !cases.iter().any(Case::failed) {
        run.extend(earlier_leak(report).or_else(|| unexplained_exit(report)));
    }
    if !run.is_empty() {
        cases.push(Case {
            name: RUN_CASE.into(),
            test: None,
            failures: run,
            skipped: None,
            failed_methods: Vec::new(),
            output: None,
        });
    }
    cases
}

/// `lock-cycle`, `no-progress`, ... as the JSON report names it.
fn diagnosis_kind(hang: &HangReport) -> String {
    match serde_json::to_value(hang.diagnosis.kind) {
        Ok(serde_json::Value::String(kind)) => kind,
        _ => "hang".into(),
    }
}

/// How the message of a hang's failure starts when it is a deadlock among threads while the
/// process went on (`HangReport::process_went_on`), not a hang.
pub const DEADLOCK_MESSAGE: &str = "threads deadlocked";

fn hang_failure(hang: &HangReport, excerpts: &Excerpts) -> Failure {
    let d = &hang.diagnosis;
    // Threads deadlocked while the process went on: a finding of the test, which did not hang.
    let what = if hang.process_went_on { DEADLOCK_MESSAGE } else { "hung" };
    let mut message = format!("{what} ({}): {}", diagnosis_kind(hang), d.summary);
    if let Some(reference) = &d.reference {
        let _ = write!(message, " [{reference}]");
    }
    // Where to point: the innermost frame with a source line, outside the C runtime, of a thread
    // the diagnosis names, else of any thread; its Python line when the thread is in the
    // interpreter itself (a Python loop, a Python lock): the innermost in the test's own file,
    // as for a leak site, rather than the library's (`threading.py`'s `_wait_for_tstate_lock`).
    // A hang of no test (at interpreter exit, after the tests) has no test file: the innermost
    // frame outside the interpreter's library is the code that waits (an atexit handler).
    let threads = || hang.processes.iter().flat_map(|p| p.threads.iter());
    let diagnosed = threads().filter(|t| d.threads.contains(&t.tid));
    let in_test_file = |f: &&PythonFrame| match hang.test.as_deref() {
        Some(name) => is_test_file(&f.file, name),
        None => !is_library_file(&f.file),
    };
    let location = diagnosed.chain(threads()).find_map(|t| {
        let python = made_for_python_code(&t.frames).then(|| {
            let own = t.python_frames.iter().filter(in_test_file).find_map(Location::of_python);
            own.or_else(|| t.python_frames.first().and_then(Location::of_python))
        });
        python.flatten().or_else(|| source_location(&t.frames))
    });
    Failure { kind: FailureKind::Hang, message, details: excerpts.of_hang(hang), location }
}

fn test_case<'a>(report: &RunReport, test: &'a TestReport, excerpts: &Excerpts) -> Case<'a> {
    let methods: Vec<FailedMethod> = test.failed_methods.iter().map(|raw| FailedMethod::of_test(test, raw)).collect();
    let mut failures = Vec::new();
    if test.leaked {
        failures.push(leak_failure(test, excerpts));
    }
    // regrtest's words when it gave a reason (`test_x skipped -- not on this platform`).
    let reason = |default: &str| match &test.skip_reason {
        Some(why) => format!("{default}: {why}"),
        None => default.to_owned(),
    };
    let skipped = match test.outcome.as_str() {
        "skipped" => Some(reason("skipped")),
        "resource_denied" => Some(reason("skipped (resource denied)")),
        "ran_no_tests" => Some("ran no tests".to_owned()),
        // Stopped by the user (SIGINT): not a failure of the test.
        "interrupted" => Some("interrupted: the run was stopped while it ran".to_owned()),
        // regrtest lists it as omitted, or the run ended before any summary (the test's note
        // says which).
        "not_run" => Some("not run: the run stopped before it started".to_owned()),
        // Over, its result lost with regrtest's buffered stdout when a hang at interpreter exit
        // ended it: the hang is the run's (its own case), not the test's.
        "unknown" if report.hangs.iter().any(|h| h.after_tests) => Some(RESULT_LOST.to_owned()),
        // Over, and the last test of its process, when leakcheck ended the run for a hang in
        // that process in no test (the next test module's import): the hang is the run's.
        "unknown" if test.notes.iter().any(|n| n == RAN_THROUGH_HANG) => Some(RAN_THROUGH_HANG.to_owned()),
        _ => None,
    };
    // regrtest's warning that the test altered the execution environment fails the run only
    // when regrtest was told to (`--fail-env-changed`); otherwise it exits 0 and so do we.
    let env_changed_passes = test.outcome == "env_changed" && !report.summary.env_changed_fails;
    // A reference leak is regrtest's verdict on the leak reported above; `hung` is leakcheck's
    // own outcome for a test whose hang is a failure of its own (see `cases`).
    let covered = (test.outcome == "reference_leak" && test.leaked)
        || (test.outcome == "hung" && report.hangs.iter().any(|h| h.test.as_deref() == Some(test.name.as_str())))
        || env_changed_passes;
    if skipped.is_none() && test.outcome != "passed" && !covered {
        failures.push(regrtest_failure(report, test, &methods));
    }
    let skipped = if failures.is_empty() { skipped } else { None };
    let output = env_changed_passes.then(|| match env_changed_reasons(test) {
        Some(reasons) => format!("{ENV_CHANGED_PASSES_HEAD}: {reasons}{ENV_CHANGED_PASSES_TAIL}"),
        None => format!("{ENV_CHANGED_PASSES_HEAD}{ENV_CHANGED_PASSES_TAIL}"),
    });
    Case { name: test.name.clone(), test: Some(test), failures, skipped, failed_methods: methods, output }
}

/// Why a test with no result in a run that hung at interpreter exit, after its tests, is skipped.
const RESULT_LOST: &str = "no result: regrtest's result line for it was lost with its buffered stdout when the \
     hang at interpreter exit, after the tests, ended it";

/// The `<system-out>` of a test that altered the environment in a run that does not fail on it:
/// the head, the reasons regrtest gave (3.14+) after a `: `, then the tail.
const ENV_CHANGED_PASSES_HEAD: &str = "regrtest: failed (env changed): the test altered the execution environment";
const ENV_CHANGED_PASSES_TAIL: &str =
    "; regrtest does not fail the run on it without --fail-env-changed (or --slow-ci, --fast-ci)\n";

/// The reasons 3.14+'s summary gives under a test that altered the environment, joined:
/// `os.environ was modified, files was modified`.
fn env_changed_reasons(test: &TestReport) -> Option<String> {
    (test.outcome == "env_changed" && !test.env_changed_reasons.is_empty()).then(|| test.env_changed_reasons.join(", "))
}

/// regrtest's words for an outcome that is neither a pass nor a skip.
fn outcome_words(outcome: &str) -> Cow<'_, str> {
    Cow::Borrowed(match outcome {
        "failed" => "failed",
        "uncaught_exception" => "failed (uncaught exception)",
        "env_changed" => "failed (env changed)",
        "reference_leak" => "failed (reference leak)",
        "interrupted" => "interrupted",
        "crashed" => "crashed",
        "timed_out" => "timed out",
        "worker_failed" => "worker bug (regrtest could not run the worker or read its result)",
        "unknown" => "no result: the run ended while it was running",
        other => return Cow::Owned(other.replace('_', " ")),
    })
}

fn regrtest_failure(report: &RunReport, test: &TestReport, methods: &[FailedMethod]) -> Failure {
    let mut message = format!("regrtest: {}", outcome_words(&test.outcome));
    let ran_through = test.outcome == "unknown" && test.notes.iter().any(|n| n == RAN_THROUGH);
    if test.outcome == "unknown" {
        if ran_through {
            message = format!("regrtest: {RAN_THROUGH}");
            if let Some(how) = run_end(report) {
                let _ = write!(message, " ({how})");
            }
        } else if let Some(how) = run_end(report) {
            let _ = write!(message, " ({how})");
        } else if test.notes.iter().any(|n| n.ends_with(&format!("({ENDED_AS_LEFTOVER})"))) {
            let _ = write!(message, " ({ENDED_AS_LEFTOVER})");
        } else if worker_thread_failure(report).is_some() {
            let _ = write!(message, " ({WORKER_THREAD_FAILED})");
        }
    }
    // Why, when regrtest said (3.14+'s summary).
    if let Some(reasons) = env_changed_reasons(test) {
        let _ = write!(message, ": {reasons}");
    }
    // A worker that died: regrtest's own line has its exit code and signal.
    if matches!(test.outcome.as_str(), "crashed" | "timed_out" | "worker_failed") {
        if let Some(line) = &test.result_line {
            let _ = write!(message, ": {line}");
        }
    }
    if let Some(fatal) = fatal_error(test) {
        let _ = write!(message, "; {fatal}");
    }
    let distinct = distinct_methods(methods);
    if !distinct.is_empty() {
        let shown: Vec<String> = distinct.iter().take(5).map(|m| m.short()).collect();
        let _ = write!(message, ": {}", shown.join(", "));
        if distinct.len() > 5 {
            let _ = write!(message, " and {} more", distinct.len() - 5);
        }
    }
    let mut details = match &test.result_line {
        Some(line) => format!("{line}\n"),
        // Its note, below, says what is known.
        None if ran_through => format!("{} no result\n", test.name),
        None => format!("{} {}\n", test.name, outcome_words(&test.outcome)),
    };
    // Without -v, a single failure's traceback (or a crash's) comes with regrtest's result line.
    if let Some(traceback) = &test.traceback {
        details.push_str(traceback);
        details.push('\n');
    }
    // A crash's or timeout's stacks, as faulthandler printed them into the test's output.
    if let Some(dump) = &test.faulthandler {
        details.push_str(dump);
        details.push('\n');
    }
    for method in distinct {
        // Its headers (one per failing subtest, each with its parameters), then the traceback
        // unittest printed for it, when regrtest showed it (verbose, re-runs); several failing
        // subtests' tracebacks come each under its own header.
        let same = |m: &&MethodResult| {
            m.name == method.method && (method.class_path.is_empty() || m.class == method.class_path)
        };
        let result = test.methods.iter().find(same);
        let traceback = test.methods.iter().filter(same).find_map(|m| m.traceback.as_deref());
        // Several failures of its subtests have their tracebacks each under its header.
        let headed = traceback.is_some_and(|t| t.starts_with("FAIL: ") || t.starts_with("ERROR: "));
        match result.filter(|m| !m.headers.is_empty()) {
            // The headers as unittest printed them, `FAIL:` or `ERROR:` each.
            Some(m) if !headed => {
                for header in &m.headers {
                    let _ = writeln!(details, "{header}");
                }
            }
            _ if !headed => {
                // One that passed when expected to fail has no header of its own: unittest's
                // word for it; a method the output named no header of keeps its outcome's word.
                let word = match result.map(|m| m.outcome) {
                    Some(MethodOutcome::UnexpectedSuccess) => "UNEXPECTED SUCCESS",
                    Some(MethodOutcome::Failed) => "FAIL",
                    Some(MethodOutcome::Error) => "ERROR",
                    _ => "FAIL/ERROR",
                };
                for header in methods.iter().filter(|m| m.same_method(method)) {
                    let _ = writeln!(details, "{word}: {}", header.raw);
                }
            }
            _ => {}
        }
        if let Some(traceback) = traceback {
            details.push_str(traceback);
            details.push('\n');
        }
    }
    for note in &test.notes {
        let _ = writeln!(details, "note: {note}");
    }
    Failure { kind: FailureKind::Regrtest, message, details, location: None }
}

/// faulthandler's `Fatal Python error: ...` line of the test's crash, when its output had one.
fn fatal_error(test: &TestReport) -> Option<&str> {
    test.faulthandler.as_deref()?.lines().next().filter(|line| line.starts_with("Fatal Python error: "))
}

/// The run's warning that regrtest's worker thread failed, if it did.
fn worker_thread_failure(report: &RunReport) -> Option<&str> {
    report.warnings.iter().find(|w| w.starts_with(WORKER_THREAD_FAILED)).map(String::as_str)
}

/// How the run ended early, if it did.
fn run_end(report: &RunReport) -> Option<String> {
    let status = &report.status;
    if let Some(signal) = &status.interrupted_by {
        return Some(format!("leakcheck received {signal} and ended the run"));
    }
    status.signal.as_ref().map(|signal| {
        if status.ended_for_hang {
            // regrtest's faulthandler chains SIGUSR1 to its default action, which ends the process.
            let why = if signal == "SIGUSR1" { ", for faulthandler's Python stacks" } else { "" };
            return format!("leakcheck ended the command after a hang ({signal}{why})");
        }
        format!("the command was killed by {signal}{}", if status.core_dumped { ", core dumped" } else { "" })
    })
}

/// The details of a failure of the run itself: the command, quoted for a shell, and the log.
fn run_details(report: &RunReport) -> String {
    let mut details = format!("command: {}\n", crate::escape::shell_command(&report.command));
    if let Some(log) = &report.log {
        let _ = writeln!(details, "log: {log}");
    }
    details
}

fn run_failures(report: &RunReport) -> Vec<Failure> {
    let status = &report.status;
    let mut failures = Vec::new();
    let details = run_details(report);
    if let Some(error) = &status.error {
        failures.push(Failure {
            kind: FailureKind::Run,
            message: format!("the command did not run: {error}"),
            details: details.clone(),
            location: None,
        });
    }
    if let Some(how) = run_end(report) {
        let mut message = how;
        if status.killed_after_grace && status.killed_at_once {
            message.push_str("; its processes were killed with SIGKILL at once, on a second signal");
        } else if status.killed_after_grace {
            message.push_str("; its processes had to be killed with SIGKILL after the grace period");
        }
        failures.push(Failure { kind: FailureKind::Run, message, details: details.clone(), location: None });
    }
    // regrtest stopped the run itself, whatever its status says (0 when it had no result).
    if let Some(warning) = worker_thread_failure(report) {
        failures.push(Failure { kind: FailureKind::Run, message: warning.to_owned(), details, location: None });
    }
    failures
}

/// The command's non-zero exit status as a failure of the run, for a run where nothing else
/// failed: regrtest refused its command line (a usage error), regrtest was interrupted by no
/// signal leakcheck received (a test's own `KeyboardInterrupt`), regrtest ran no test (3.12+'s
/// exit status 4), a test failed only before regrtest's re-run (`--fail-rerun`'s status 5: the
/// message names each, see [`Summary::failed_before_rerun`](super::Summary::failed_before_rerun)),
/// or a command that is no regrtest failed (`sh -c 'exit 3'`). The message has the status and,
/// when the report knows it, why. None for status 0, for a command that did
/// not exit (a signal, which [`run_end`] names) or did not start (`status.error`).
fn unexplained_exit(report: &RunReport) -> Option<Failure> {
    let status = &report.status;
    let code = status.exit_code.filter(|&c| c != 0 && status.error.is_none() && status.signal.is_none())?;
    let mut message = format!("the command exited with status {code}");
    let refused = report.warnings.iter().find_map(|w| w.strip_prefix(super::REFUSED_COMMAND_LINE));
    let result = report.summary.regrtest_result.as_deref();
    if let Some(refused) = refused {
        let why = refused.trim().strip_prefix('(').and_then(|w| w.strip_suffix(')')).unwrap_or(refused.trim());
        let _ = write!(message, ", a usage error: regrtest refused its command line ({why})");
    } else if result == Some("INTERRUPTED") && status.interrupted_by.is_none() {
        message.push_str(
            ": regrtest was interrupted (Tests result: INTERRUPTED) by no signal leakcheck received: a \
             KeyboardInterrupt raised in it, a SIGINT sent to its process itself, or a Ctrl-C at the terminal \
             leakcheck gave it",
        );
    } else {
        if let Some(result) = result {
            let _ = write!(message, " (Tests result: {result})");
        }
        let before_rerun = &report.summary.failed_before_rerun;
        if before_rerun.is_empty() {
            message.push_str(", and no test failed");
        } else {
            let each: Vec<String> = before_rerun.iter().map(|w| for_terminal(w).into_owned()).collect();
            let _ = write!(message, ", and no test failed in the end: {}", each.join("; "));
        }
    }
    Some(Failure { kind: FailureKind::Run, message, details: run_details(report), location: None })
}

/// A leak found only in a run before the ones reported (an earlier regrtest run of the command,
/// the run before regrtest's `-w` re-run) as a failure of the run, when the command exited 0:
/// leakcheck's status is then 101, and the XML fails with it.
fn earlier_leak(report: &RunReport) -> Option<Failure> {
    let message = report.earlier_leaks_status()?;
    Some(Failure { kind: FailureKind::Run, message, details: run_details(report), location: None })
}

/// The domain's allocator, for people who know the API rather than leakcheck's names.
pub(super) fn domain_api(domain: &str) -> &'static str {
    match domain {
        "raw" => "PyMem_RawMalloc",
        "mem" => "PyMem_Malloc",
        "obj" => "PyObject_Malloc",
        _ => "?",
    }
}

/// regrtest's `test_x leaked [..] references, sum=N` lines, as regrtest printed them: 3.13+
/// also prints harmless non-zero deltas, with ` (this is fine)`.
pub fn regrtest_leak_lines(test: &TestReport) -> Vec<String> {
    test.regrtest
        .lines()
        .map(|(what, deltas, failing)| {
            let sum: i64 = deltas.iter().fold(0i64, |a, d| a.saturating_add(*d));
            let fine = if failing { "" } else { super::FINE };
            format!("{} leaked {} {what}, sum={sum}{fine}", test.name, list(deltas))
        })
        .collect()
}

/// Where the test's leak points: its preferred leak site (see
/// [`super::free_lists::preferred_site`]: not one of an object a free list may have handed to
/// the code that leaks, with a Python frame in the test's own code if one has), none when every
/// site is such a one; there, [`site_location`].
pub fn top_leak_site(test: &TestReport) -> Option<Location> {
    super::free_lists::preferred_site(test).and_then(site_location)
}

/// Where one leak site points: its Python frame when the interpreter allocated for Python code
/// (and the shim could read the frame's file); the extension module's innermost frame when the
/// interpreter's C code allocated for it (`PyDict_New` in a `tp_new`: the extension's line is
/// the one to change, not `new_dict`'s); else the innermost frame outside the C runtime. A
/// frame without a source line (a stripped extension's, one built without `-g`, one whose file
/// was removed before leakcheck read it) is its module and offset, with the symbol table's
/// function when known (`two_raw (/x/_foo.so+0x11f9)`): that frame is where the bug is, not
/// the source line of its caller (CPython's `cfunction_vectorcall_NOARGS`). A frame in no known
/// module (module `?`) has no offset to name and is passed over.
pub fn site_location(site: &super::LeakSiteReport) -> Option<Location> {
    let python = site.python_frame.as_ref().filter(|_| made_for_python_code(&site.frames));
    python
        .and_then(Location::of_python)
        .or_else(|| extension_caller(&site.frames))
        .or_else(|| first_location(site.frames.iter().map(site_parts)))
}

/// A leak site frame's [`FrameParts`]: its ELF virtual address is its module offset (what a
/// sanitizer prints as `module+0xOFFSET`), but for a frame in no known module.
fn site_parts(f: &Frame) -> FrameParts<'_> {
    let offset = (f.module != crate::symbolize::UNKNOWN_MODULE).then_some(f.address);
    (f.function.as_deref(), f.file.as_deref(), f.line, Some(f.module.as_str()), offset)
}

/// When the innermost frame is the interpreter's (the module of the eval loop below), the
/// innermost frame of another module (not the C runtime's) before the eval loop: the extension
/// that called the interpreter's API; its file and line, else its module and offset.
fn extension_caller(frames: &[Frame]) -> Option<Location> {
    let (interpreter, below) = below_eval_loop(frames)?;
    if frames.first()?.module != interpreter {
        return None;
    }
    below
        .iter()
        .filter(|f| is_extension_frame(f, interpreter))
        .find_map(|f| first_location(std::iter::once(site_parts(f))))
}

/// The module of the innermost eval-loop frame (the interpreter's) and the frames before it,
/// innermost first; `None` when no frame is the eval loop's.
fn below_eval_loop(frames: &[Frame]) -> Option<(&str, &[Frame])> {
    let eval = frames.iter().position(|f| f.function.as_deref().is_some_and(|n| n.starts_with("_PyEval_EvalFrame")))?;
    Some((frames[eval].module.as_str(), &frames[..eval]))
}

/// Whether `frame` is of a module other than the `interpreter`'s, the C runtime's and
/// leakcheck's own: an extension module's.
fn is_extension_frame(frame: &Frame, interpreter: &str) -> bool {
    frame.module != interpreter && !is_runtime_module(&frame.module) && !crate::launch::is_shim_module(&frame.module)
}

/// Whether `file` is the source of regrtest's test `name` (`test_os`, `test.test_os`,
/// `test_asyncio.test_tasks`, a package's `__init__.py`).
pub(super) fn is_test_file(file: &str, name: &str) -> bool {
    let path = name.replace('.', "/");
    let module = path.rsplit('/').next().unwrap_or(&path);
    [format!("/{path}.py"), format!("/{path}/__init__.py"), format!("/{module}.py")]
        .iter()
        .any(|suffix| file.ends_with(suffix.as_str()) || file == &suffix[1..])
}

/// Whether Python source `file` is of the interpreter's library: under its `Lib` directory (a
/// source tree's `Lib/`, an installation's `lib/pythonX.Y/`), or frozen (`<frozen ...>`); not
/// a test of the library (`Lib/test/`, regrtest's own `test/libregrtest/` and `test/support/`
/// aside) nor a third-party package (`site-packages`, `dist-packages`).
pub(super) fn is_library_file(file: &str) -> bool {
    if file.starts_with("<frozen ") {
        return true;
    }
    let parts: Vec<&str> = file.split('/').collect();
    let is_lib_dir = |i: usize| {
        let part = parts[i];
        part == "Lib"
            || i > 0
                && matches!(parts[i - 1], "lib" | "lib64")
                && part.strip_prefix("python3.").is_some_and(|v| {
                    // `3.13`, a free-threaded build's `3.13t`.
                    let v = v.strip_suffix('t').unwrap_or(v);
                    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
                })
    };
    // The last directory that is one (a virtual environment's lib/python3.X below a checkout's Lib).
    let Some(lib) = (0..parts.len().saturating_sub(1)).rev().find(|&i| is_lib_dir(i)) else { return false };
    match parts[lib + 1..] {
        ["site-packages" | "dist-packages", ..] => false,
        ["test", "libregrtest" | "support", _, ..] => true,
        ["test", _, ..] => false,
        _ => true,
    }
}

/// Whether the interpreter made an allocation for the Python code it ran, with no C code of
/// another module in between (an instance in `object_new`, a list's items): then the C line
/// is CPython's, the same for every such leak, and the line to change is the Python frame's.
/// An extension module's function between the allocator and the eval loop is the one to blame.
pub(super) fn made_for_python_code(frames: &[Frame]) -> bool {
    below_eval_loop(frames)
        .is_some_and(|(interpreter, below)| !below.iter().any(|f| is_extension_frame(f, interpreter)))
}

/// The C runtime's own libraries: their frames (`futex_wait`, `__lll_lock_wait`) say how a
/// thread waits, not whose code is at fault, even when their debug info names a source line.
fn is_runtime_module(module: &str) -> bool {
    let name = module.rsplit('/').next().unwrap_or(module);
    ["libc.so", "libc-", "ld-linux", "ld-", "libpthread", "libstdc++", "libgcc_s", "libasan", "libubsan"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// A frame of the C runtime or of a sanitizer's interceptors (`__interceptor_free` in
/// `.../libsanitizer/asan/asan_malloc_linux.cpp`): where the error was caught, not its cause.
pub(super) fn is_runtime_frame(function: Option<&str>, file: Option<&str>, module: Option<&str>) -> bool {
    let sanitizer_function = function.is_some_and(|f| {
        ["__interceptor_", "__asan_", "__msan_", "__tsan_", "__ubsan_", "__lsan_", "__sanitizer_"]
            .iter()
            .any(|prefix| f.starts_with(prefix))
    });
    let sanitizer_file = file.is_some_and(|f| f.contains("/libsanitizer/") || f.contains("compiler-rt/lib/"));
    sanitizer_function || sanitizer_file || module.is_some_and(is_runtime_module)
}

/// The innermost frame with a file and a line outside the C runtime, else any with both (a
/// hung thread's: its frames without a line are passed over).
fn source_location(frames: &[Frame]) -> Option<Location> {
    first_location(
        frames.iter().map(|f| (f.function.as_deref(), f.file.as_deref(), f.line, Some(f.module.as_str()), None)),
    )
}

/// `(function, file, line, module, module offset)` of a frame of any kind; the offset is given
/// only where a frame without a source line is to be named by its module (a sanitizer
/// finding's, a leak site's).
type FrameParts<'a> = (Option<&'a str>, Option<&'a str>, Option<u32>, Option<&'a str>, Option<u64>);

/// Signal handlers that run on top of the code a signal interrupted: faulthandler's (regrtest
/// enables it, so a crash under `handle_segv=1` is reported from inside it, after `raise`
/// re-raised the signal), CPython's own, and glibc's return trampoline.
const SIGNAL_HANDLERS: &[&str] = &["faulthandler_fatal_error", "faulthandler_user", "signal_handler", "__restore_rt"];

/// [`source_location`] over frames of any kind; a stack that went through a signal handler
/// points at the code the signal interrupted. A frame outside the C runtime with a module
/// offset but no source line (a stripped module's) is its module and offset: the innermost
/// such frame is where the bug is, not the source line of its caller.
fn first_location<'a>(frames: impl Iterator<Item = FrameParts<'a>> + Clone) -> Option<Location> {
    let located = |(function, file, line, _, _): FrameParts<'_>| {
        let file = super::source_path(file?).into_owned();
        Some(Location::source(function.map(str::to_owned), file, line?))
    };
    let placed = |frame: FrameParts<'_>| {
        located(frame).or_else(|| {
            let (function, _, _, module, offset) = frame;
            let place = Place::Module { module: module?.to_owned(), offset: offset? };
            Some(Location { function: function.map(str::to_owned), place, python: false })
        })
    };
    let own = |f: &FrameParts<'_>| !is_runtime_frame(f.0, f.1, f.3);
    let handler = frames.clone().position(|f| f.0.is_some_and(|name| SIGNAL_HANDLERS.contains(&name)));
    let interrupted = frames.clone().skip(handler.map_or(0, |at| at + 1));
    interrupted
        .clone()
        .filter(own)
        .find_map(placed)
        .or_else(|| frames.clone().filter(own).find_map(placed))
        .or_else(|| frames.clone().find_map(located))
}

/// A sanitizer frame's [`FrameParts`].
fn parts(f: &ReportFrame) -> FrameParts<'_> {
    (f.function.as_deref(), f.file.as_deref(), f.line, f.module.as_deref(), f.module_offset)
}

/// Where a UBSan report whose first frame has no source line (a module built without `-g`,
/// or stripped) says the error is: the file and line of its headline (`fx/qub.c:7:9: runtime
/// error: ...`), which the compiler writes into the check itself, with the first frame's
/// function when it has one. Not its module and offset, nor a caller's line.
fn headline_location(finding: &Finding) -> Option<Location> {
    let first = finding.frames.first();
    if first.is_some_and(|f| f.file.is_some() && f.line.is_some()) {
        return None;
    }
    let at = finding.headline_location()?;
    let file = super::source_path(at.file.as_deref()?).into_owned();
    Some(Location::source(first.and_then(|f| f.function.clone()), file, at.line?))
}

/// The failure of a finding, for `test`'s testcase (its own reports counted, and the total
/// when other tests' were merged in) or the run's (`None`: all of them).
fn finding_failure(finding: &Finding, test: Option<&str>, excerpts: &Excerpts) -> Failure {
    let leaks = super::leak_stacks::ordered_leaks(finding);
    let mut what = finding.summary.as_deref().unwrap_or(&finding.message);
    if !leaks.is_empty() {
        // `... leaked in 11 allocation(s).`: the leak's place follows.
        what = what.strip_suffix('.').unwrap_or(what);
    }
    let mut message = format!("{} {}: {what}", finding.sanitizer.runtime_name(), finding.kind);
    let here = test.map_or(finding.count, |test| finding.count_in(test));
    if here != finding.count {
        let _ = write!(message, " ({here} {} in this test, {} in all)", reports(here), finding.count);
    } else if finding.count > 1 {
        let _ = write!(message, " ({} reports)", finding.count);
    }
    // LSan has no access stack: the leak to read first says where (see `leak_stacks`), at its
    // frame to blame, or where its stack's first frame outside the C runtime is.
    let location = match leaks.first() {
        Some(leak) => leak
            .blame
            .and_then(|f| first_location(std::iter::once(parts(f))))
            .or_else(|| first_location(leak.stack.frames.iter().map(parts))),
        // A report cut before its access stack: its first other stack.
        None => match finding.related.first() {
            Some(related) if finding.frames.is_empty() => first_location(related.frames.iter().map(parts)),
            _ => headline_location(finding).or_else(|| first_location(finding.frames.iter().map(parts))),
        },
    };
    if let (Some(at), false) = (&location, leaks.is_empty()) {
        let function = at.function.as_deref().unwrap_or("??");
        match leaks.len() {
            1 => write!(message, "; allocated at {function} ({})", at.place),
            n => write!(message, "; {n} leaks, the first shown allocated at {function} ({})", at.place),
        }
        .unwrap_or_default();
    }
    let mut details = excerpts.of_finding(finding, test);
    for line in &finding.description {
        details.push_str(line);
        details.push('\n');
    }
    Failure { kind: FailureKind::Sanitizer, message, details, location }
}

/// `report` or `reports`.
pub(crate) fn reports(n: u32) -> &'static str {
    if n == 1 {
        "report"
    } else {
        "reports"
    }
}

fn leak_failure(test: &TestReport, excerpts: &Excerpts) -> Failure {
    let mut items = Vec::new();
    let r = &test.regrtest;
    if r.leaked {
        items.extend(r.failing_items());
    }
    if let Some(domains) = &test.domains {
        for (name, d) in domains.iter().filter(|(_, d)| d.leaked) {
            items.push(format!("{name} ({}) blocks {}", domain_api(name), list(&d.blocks)));
        }
    }
    if items.is_empty() {
        // Only a site shows it: the domain's own deltas were hidden by frees elsewhere.
        for site in &test.leak_sites {
            items.push(format!(
                "{} ({}) blocks at one site {}",
                site.domain,
                domain_api(&site.domain),
                list(&site.blocks)
            ));
        }
    }
    let mut message = format!("leaked {}", items.join(", "));
    if test.leak_not_reported_by_regrtest {
        message.push_str(", not reported by regrtest");
    }
    let site = super::free_lists::preferred_site(test);
    if let Some(types) = site.map(|site| &site.object_types).filter(|t| !t.is_empty()) {
        let _ = write!(message, "; objects of type {}", types.join(", "));
    }
    let location = site.and_then(site_location);
    if let Some(at) = &location {
        let _ = write!(message, "; allocated at {} ({})", at.function.as_deref().unwrap_or("??"), at.place);
    } else if let Some(unattributable) = super::free_lists::unattributable(test) {
        let _ = write!(message, "; {unattributable}");
    }
    if let Some(other) = site.and_then(|site| site.other_test_thread.as_deref()) {
        let _ = write!(message, ", on a thread running {other}'s code, not this test's (see the note)");
    }
    let mut details = excerpts.of(test);
    for line in regrtest_leak_lines(test) {
        details.push_str(&line);
        details.push('\n');
    }
    Failure { kind: FailureKind::Leak, message, details, location }
}

/// The text summary's lines for one test or finding, cut from what `RunReport::render_text` writes
/// into the build log, so that an excerpt reads exactly like the log; a hang's text as leakcheck
/// printed it when it found the hang, with the Python stacks read since.
struct Excerpts {
    /// The report without tests, hangs, findings, warnings or leftovers: one at a time goes in.
    frame: std::cell::RefCell<RunReport>,
}

impl Excerpts {
    fn new(report: &RunReport) -> Self {
        let mut frame = RunReport { tests: Vec::new(), ..report.clone() };
        frame.warnings.clear();
        frame.leftover_processes.clear();
        frame.hangs.clear();
        frame.sanitizer_findings.clear();
        Excerpts { frame: std::cell::RefCell::new(frame) }
    }

    fn of(&self, test: &TestReport) -> String {
        let mut frame = self.frame.borrow_mut();
        frame.tests = vec![test.clone()];
        let text = frame.render_text();
        frame.tests.clear();
        Self::cut(&text, &format!("leakcheck: {}: ", for_terminal(&test.name)))
    }

    /// A hang's full text, as printed when it was found, with the Python stacks read since (the
    /// summary only mentions it).
    fn of_hang(&self, hang: &HangReport) -> String {
        super::hang_text(hang)
    }

    /// The finding's text, with `test`'s processes alone (a finding merged from several
    /// workers' tests names each test's own worker in that test's outputs).
    fn of_finding(&self, finding: &Finding, test: Option<&str>) -> String {
        let mut finding = finding.clone();
        if let Some(test) = test {
            let own: Vec<_> = finding.pids_by_test().into_iter().filter(|(t, _)| t.as_deref() == Some(test)).collect();
            if let Some(&(_, pid)) = own.first() {
                finding.pid = Some(pid);
                finding.test_pids = own;
            }
        }
        let mut frame = self.frame.borrow_mut();
        frame.sanitizer_findings = vec![finding];
        let text = frame.render_text();
        frame.sanitizer_findings.clear();
        Self::cut(&text, "leakcheck: SANITIZER in ")
    }

    /// The line starting with `head` and the indented lines after it.
    fn cut(text: &str, head: &str) -> String {
        let mut out = String::new();
        let mut inside = false;
        for line in text.lines() {
            if line.starts_with(head) {
                inside = true;
            } else if inside && !line.starts_with("leakcheck:     ") {
                break;
            }
            if inside {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// XML

/// Characters XML 1.0 does not allow at all, not even as character references.
fn xml_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// `s` with every hazardous or XML-forbidden character made visible; with `keep_lines`, `\n`
/// and `\t` stay as they are (element text), otherwise they are made visible too (attributes).
pub fn xml_visible(s: &str, keep_lines: bool) -> Cow<'_, str> {
    let escaped = |c: char| {
        !(keep_lines && matches!(c, '\n' | '\t'))
            && (xml_forbidden(c) || matches!(for_terminal(c.encode_utf8(&mut [0; 4])), Cow::Owned(_)))
    };
    if !s.chars().any(escaped) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if !escaped(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// At most `max` characters, with `…` when cut.
fn clip(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((cut, _)) => Cow::Owned(format!("{}…", &s[..cut])),
    }
}

fn start<'a>(name: &'a str, attrs: &[(&str, &str)]) -> BytesStart<'a> {
    let mut tag = BytesStart::new(name);
    for (key, value) in attrs {
        tag.push_attribute((*key, xml_visible(value, false).as_ref()));
    }
    tag
}

/// Write the JUnit XML of `report` to `out`.
pub fn write_junit(report: &RunReport, out: impl Write) -> io::Result<()> {
    write_junit_cases(report, &cases(report), out)
}

/// Write `cases` as JUnit XML; `report` gives the suite's properties and `<system-out>`. This
/// is the hook for callers that add their own [`Failure`]s to the cases of [`cases`].
pub fn write_junit_cases(report: &RunReport, cases: &[Case<'_>], out: impl Write) -> io::Result<()> {
    let methods = || cases.iter().filter_map(|c| c.test).flat_map(|t| &t.methods);
    let failed = cases.iter().filter(|c| c.failed()).count() + methods().filter(|m| m.outcome.is_failure()).count();
    let skipped = cases.iter().filter(|c| c.skipped.is_some() && !c.failed()).count()
        + methods().filter(|m| m.outcome == MethodOutcome::Skipped).count();
    let tests = (cases.len() + methods().count()).to_string();
    let (failed, skipped) = (failed.to_string(), skipped.to_string());
    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let totals = [("tests", tests.as_str()), ("failures", failed.as_str()), ("errors", "0")];
    let mut suites = vec![("name", "leakcheck")];
    suites.extend(totals);
    w.write_event(Event::Start(start("testsuites", &suites)))?;
    let mut suite = vec![("name", "leakcheck")];
    suite.extend(totals);
    suite.push(("skipped", skipped.as_str()));
    w.write_event(Event::Start(start("testsuite", &suite)))?;

    w.write_event(Event::Start(BytesStart::new("properties")))?;
    for (name, value) in properties(report) {
        w.write_event(Event::Empty(start("property", &[("name", name), ("value", &value)])))?;
    }
    w.write_event(Event::End(BytesEnd::new("properties")))?;

    for case in cases {
        let classname = if case.test.is_some() { "regrtest" } else { "leakcheck" };
        let tag = start("testcase", &[("name", &case.name), ("classname", classname)]);
        if case.failures.is_empty() && case.skipped.is_none() && case.output.is_none() {
            w.write_event(Event::Empty(tag))?;
        } else {
            w.write_event(Event::Start(tag))?;
            if let Some(reason) = &case.skipped {
                w.write_event(Event::Empty(start("skipped", &[("message", reason)])))?;
            }
            if let Some(failure) = one_failure(&case.failures) {
                let attrs = [("message", failure.message.as_str()), ("type", failure.kind.as_str())];
                w.write_event(Event::Start(start("failure", &attrs)))?;
                w.write_event(Event::Text(BytesText::new(&xml_visible(&failure.body, true))))?;
                w.write_event(Event::End(BytesEnd::new("failure")))?;
            }
            if let Some(output) = &case.output {
                w.write_event(Event::Start(BytesStart::new("system-out")))?;
                w.write_event(Event::Text(BytesText::new(&xml_visible(output, true))))?;
                w.write_event(Event::End(BytesEnd::new("system-out")))?;
            }
            w.write_event(Event::End(BytesEnd::new("testcase")))?;
        }
        for method in case.test.iter().flat_map(|t| &t.methods) {
            write_method(&mut w, method)?;
        }
    }

    w.write_event(Event::Start(BytesStart::new("system-out")))?;
    w.write_event(Event::Text(BytesText::new(&xml_visible(&report.render_text(), true))))?;
    w.write_event(Event::End(BytesEnd::new("system-out")))?;
    w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    w.get_mut().write_all(b"\n")
}

/// A unittest method regrtest's output named: `<testcase classname="test.test_x.Class"
/// name="test_foo">`, failing for `FAIL`, `ERROR` and `unexpected success` (unittest's own
/// verdict), skipped for `skipped`. The traceback stays in the log: regrtest prints it only
/// in verbose mode, and the method's testcase points there.
fn write_method<W: Write>(w: &mut Writer<W>, method: &MethodResult) -> io::Result<()> {
    let tag = start("testcase", &[("name", &method.name), ("classname", &method.class)]);
    let word = match method.outcome {
        MethodOutcome::Failed => "FAIL",
        MethodOutcome::Error => "ERROR",
        MethodOutcome::UnexpectedSuccess => "UNEXPECTED SUCCESS",
        MethodOutcome::Skipped => {
            let reason = method.detail.as_deref().unwrap_or("skipped");
            w.write_event(Event::Start(tag))?;
            w.write_event(Event::Empty(start("skipped", &[("message", &clip(reason, MAX_MESSAGE_CHARS))])))?;
            return w.write_event(Event::End(BytesEnd::new("testcase")));
        }
        MethodOutcome::Passed | MethodOutcome::ExpectedFailure => return w.write_event(Event::Empty(tag)),
    };
    // As unittest printed it (its headers, one per failing subtest, each with the subtest's
    // description); else as unittest describes it: a doctest's description is its name's last
    // part and the rest.
    let header = if !method.headers.is_empty() && method.outcome != MethodOutcome::UnexpectedSuccess {
        let mut header = method.headers.join("\n");
        if method.headers_left_out > 0 {
            let _ = write!(header, "\n(and {} more failing subtests: the log has them)", method.headers_left_out);
        }
        header
    } else if method.doctest {
        format!("{word}: {}", crate::regrtest::doctest_description(&method.class, &method.name))
    } else {
        format!("{word}: {} ({}.{})", method.name, method.class, method.name)
    };
    w.write_event(Event::Start(tag))?;
    // One line: several headers joined by `; `.
    let one_line = header.replace('\n', "; ");
    let message = clip(&one_line, MAX_MESSAGE_CHARS);
    w.write_event(Event::Start(start("failure", &[("message", &message), ("type", "unittest")])))?;
    // Several failing subtests' tracebacks come each under its own header already.
    let headed = method.traceback.as_deref().is_some_and(|t| t.starts_with("FAIL: ") || t.starts_with("ERROR: "));
    let body = match &method.traceback {
        Some(traceback) if headed => format!("{traceback}\n"),
        Some(traceback) => format!("{header}\n\n{traceback}\n"),
        None => format!("{header}\n\nregrtest printed no traceback for it (it does in verbose mode and re-runs).\n"),
    };
    w.write_event(Event::Text(BytesText::new(&xml_visible(&body, true))))?;
    w.write_event(Event::End(BytesEnd::new("failure")))?;
    w.write_event(Event::End(BytesEnd::new("testcase")))
}

/// The one `<failure>` element of a testcase.
struct FailureElement {
    /// The kinds of its failures, each once, in order, joined by `,`: `leak,regrtest`.
    kind: String,
    /// One line naming every failure, at most [`MAX_MESSAGE_CHARS`] characters.
    message: String,
    /// Every failure's message and details, in order.
    body: String,
}

/// The failures of a testcase as one `<failure>`: many JUnit consumers (Jenkins' JUnit plugin,
/// GitLab) take one failure or error per testcase and drop or reject the others, so a test that
/// leaked and also failed (or altered the environment in a run that fails on it, or had a
/// sanitizer finding) would show one of its problems only. Several make a message that numbers
/// each (`2 problems: (1) leaked raw ... (2) regrtest: failed (env changed)`), each clipped to its
/// share of the message's length so that every one is named, and a body with each failure's
/// text after its number, in order. None for no failure.
fn one_failure(failures: &[Failure]) -> Option<FailureElement> {
    let [first, rest @ ..] = failures else { return None };
    if rest.is_empty() {
        return Some(FailureElement {
            kind: first.kind.as_str().to_owned(),
            message: clip(&first.message, MAX_MESSAGE_CHARS).into_owned(),
            body: failure_body(first),
        });
    }
    let mut kinds: Vec<&str> = Vec::new();
    for failure in failures {
        if !kinds.contains(&failure.kind.as_str()) {
            kinds.push(failure.kind.as_str());
        }
    }
    let share = (MAX_MESSAGE_CHARS / failures.len()).max(MIN_MESSAGE_SHARE);
    let mut message = format!("{} problems:", failures.len());
    let mut body = String::new();
    for (i, failure) in failures.iter().enumerate() {
        let _ = write!(message, " ({}) {}", i + 1, clip(&failure.message, share));
        let _ = write!(body, "\n({}) {}", i + 1, failure_body(failure));
    }
    let message = clip(&message, MAX_MESSAGE_CHARS).into_owned();
    Some(FailureElement { kind: kinds.join(","), body: format!("{message}\n{body}"), message })
}

/// The fewest characters of each failure's message in a message naming several: past
/// [`MAX_MESSAGE_CHARS`] / this many failures, the last ones are cut off the message (the body
/// has them all).
const MIN_MESSAGE_SHARE: usize = 60;

/// The failure's text: the message, then the details.
fn failure_body(failure: &Failure) -> String {
    let mut body = String::with_capacity(failure.message.len() + failure.details.len() + 2);
    body.push_str(&failure.message);
    body.push('\n');
    if !failure.details.is_empty() {
        body.push('\n');
        body.push_str(&failure.details);
    }
    body
}

fn properties(report: &RunReport) -> Vec<(&'static str, String)> {
    let status = &report.status;
    let mut props = vec![
        ("leakcheck_version", report.leakcheck_version.to_owned()),
        ("command", crate::escape::shell_command(&report.command)),
        ("leakcheck_exit_code", status.leakcheck_exit_code.to_string()),
    ];
    let optional = [
        ("exit_code", status.exit_code.map(|c| c.to_string())),
        ("signal", status.signal.clone()),
        ("interrupted_by", status.interrupted_by.clone()),
        ("regrtest_result", report.summary.regrtest_result.clone()),
        ("log", report.log.clone()),
    ];
    props.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A leak found only in an earlier run (leakcheck exits 101 where the command exited 0)
    /// fails the run's case, with why; with the command's own failing status, the status says it.
    #[test]
    fn a_leak_of_an_earlier_run_alone_fails_the_runs_case() {
        let mut report = RunReport::new(vec!["sh".into(), "-c".into(), "a; b".into()], "/tmp/run".into());
        report.tests.push(TestReport::new("test_x".into(), "passed"));
        report.status.exit_code = Some(0);
        assert!(cases(&report).iter().all(|c| !c.failed()));
        let why = "test_x leaked in run 1 of the command's 2 regrtest runs, then a later run passed";
        report.summary.earlier_leaks.push(why.into());
        report.status.leakcheck_exit_code = 101;
        let cases = cases(&report);
        let run = cases.iter().find(|c| c.name == RUN_CASE).expect("the run's case");
        assert_eq!(run.failures.len(), 1);
        assert!(run.failures[0].message.ends_with(&format!("a leak was found in an earlier run: {why}")));
        assert!(run.failures[0].details.starts_with("command: sh -c 'a; b'\n"), "{}", run.failures[0].details);
        report.status.exit_code = Some(3);
        let run = super::cases(&report).into_iter().find(|c| c.name == RUN_CASE).expect("the run's case");
        assert_eq!(run.failures[0].message, "the command exited with status 3, and no test failed");
    }

    /// `--fail-rerun`'s status 5, where every test passed in the end: the run's case names the
    /// tests that failed before regrtest's re-run, not "no test failed".
    #[test]
    fn a_failure_before_the_rerun_explains_the_status() {
        let mut report = RunReport::new(vec!["python".into(), "-m".into(), "test".into()], "/tmp/run".into());
        report.tests.push(TestReport::new("test_x".into(), "passed"));
        report.status.exit_code = Some(5);
        report.summary.regrtest_result = Some("FAILURE then SUCCESS".into());
        let why = "test_x failed before regrtest's re-run (test_x failed (1 failure)), then passed its re-run";
        report.summary.failed_before_rerun.push(why.into());
        let run = cases(&report).into_iter().find(|c| c.name == RUN_CASE).expect("the run's case");
        assert_eq!(run.failures.len(), 1);
        assert_eq!(
            run.failures[0].message,
            format!("the command exited with status 5 (Tests result: FAILURE then SUCCESS), and no test failed in the end: {why}")
        );
        // Without one, as before.
        report.summary.failed_before_rerun.clear();
        let run = cases(&report).into_iter().find(|c| c.name == RUN_CASE).expect("the run's case");
        assert_eq!(
            run.failures[0].message,
            "the command exited with status 5 (Tests result: FAILURE then SUCCESS), and no test failed"
        );
    }

    #[test]
    fn the_interpreters_library_is_its_lib_directory_but_its_tests() {
        for library in [
            "/usr/lib/python3.11/threading.py",
            "/usr/local/lib64/python3.13/concurrent/futures/thread.py",
            "/src/cpython/Lib/threading.py",
            "/usr/lib/python3.11/test/libregrtest/main.py",
            "/src/cpython/Lib/test/support/threading_helper.py",
            "<frozen importlib._bootstrap>",
        ] {
            assert!(is_library_file(library), "{library}");
        }
        for own in [
            "/tmp/qa/tests/test_q_atexit.py",
            "/usr/lib/python3.11/test/test_threading.py",
            "/src/cpython/Lib/test/test_asyncio/test_tasks.py",
            "/venv/lib/python3.11/site-packages/pkg/mod.py",
            "/usr/lib/python3/dist-packages/pkg/mod.py",
            "/usr/lib/python3.11x/y.py",
            "threading.py",
        ] {
            assert!(!is_library_file(own), "{own}");
        }
    }

    #[test]
    fn failed_methods_split_into_class_and_method() {
        let m = FailedMethod::parse("test_foo (test.test_x.TestClass.test_foo) [subtest 1]");
        assert_eq!((m.method.as_str(), m.class.as_deref()), ("test_foo", Some("TestClass")));
        assert_eq!(m.short(), "TestClass.test_foo");
        let old = FailedMethod::parse("test_bar (test.test_x.OldStyle)");
        assert_eq!(old.short(), "OldStyle.test_bar");
        let setup = FailedMethod::parse("setUpClass (test.test_x.TestClass)");
        assert_eq!(setup.short(), "TestClass.setUpClass");
        let bare = FailedMethod::parse("weird");
        assert_eq!((bare.short(), bare.class), ("weird".to_owned(), None));
        let module = FailedMethod::parse("setUpModule (test_x)");
        assert_eq!(module.short(), "test_x.setUpModule");
    }

    /// Methods named with dots, dashes and spaces, a nested class's and a doctest of a class:
    /// titles and messages name the class the module has (`Outer.Inner`), and the method whole.
    #[test]
    fn odd_method_names_keep_their_class_and_their_whole_name() {
        let method = |name: &str, class: &str, doctest| MethodResult {
            name: name.into(),
            class: class.into(),
            outcome: MethodOutcome::Failed,
            detail: None,
            traceback: Some(format!("Traceback (most recent call last):\nAssertionError: {name}")),
            doctest,
            headers: Vec::new(),
            headers_left_out: 0,
        };
        let mut report = RunReport::new(vec!["python".into()], "/tmp/run".into());
        report.tests.push(TestReport {
            failed_methods: vec![
                "test_case-1.5 x (test.test_odd.Odd.test_case-1.5 x)".into(),
                "test_nested (test.test_odd.Outer.Inner.test_nested)".into(),
                "func (test.test_odd.Doc)".into(),
                "test_s (test.test_odd.Odd.test_s) [msg] (i=1)".into(),
            ],
            methods: vec![
                method("test_case-1.5 x", "test.test_odd.Odd", false),
                method("test_nested", "test.test_odd.Outer.Inner", false),
                method("func", "test.test_odd.Doc", true),
                method("test_s", "test.test_odd.Odd", false),
            ],
            ..TestReport::new("test_odd".into(), "failed")
        });
        let cases = cases(&report);
        let shorts: Vec<String> = cases[0].failed_methods.iter().map(FailedMethod::short).collect();
        assert_eq!(shorts, ["Odd.test_case-1.5 x", "Outer.Inner.test_nested", "Doc.func", "Odd.test_s"]);
        assert!(cases[0].failures[0].details.contains(
            "FAIL: test_case-1.5 x (test.test_odd.Odd.test_case-1.5 x)\nTraceback (most recent call last):\nAssertionError: test_case-1.5 x\n"
        ));
        report.tests[0].failed_methods.truncate(1);
        let drafts = crate::report::draft::issue_drafts(&report, None, None, crate::report::draft::NO_SOURCES);
        assert_eq!(drafts[0].title, "test_odd: Odd.test_case-1.5 x fails");
        let mut xml = Vec::new();
        write_junit(&report, &mut xml).unwrap();
        let xml = String::from_utf8(xml).unwrap();
        assert!(xml.contains(r#"<testcase name="test_case-1.5 x" classname="test.test_odd.Odd">"#), "{xml}");
        assert!(xml.contains(r#"<testcase name="test_nested" classname="test.test_odd.Outer.Inner">"#), "{xml}");
    }

    /// A doctest's description (`bad (test_doct)`) names its module where a unittest method's
    /// names the class: the failed doctest is the method alone, in titles, messages and its
    /// testcase, with its traceback.
    #[test]
    fn a_failed_doctest_is_a_method_without_a_class() {
        let method = |name: &str, class: &str, outcome, doctest| MethodResult {
            name: name.into(),
            class: class.into(),
            outcome,
            detail: None,
            traceback: Some(format!("Traceback (most recent call last):\nAssertionError: {name}")),
            doctest,
            headers: Vec::new(),
            headers_left_out: 0,
        };
        let mut report = RunReport::new(vec!["python".into()], "/tmp/run".into());
        report.tests.push(TestReport {
            failed_methods: vec!["bad (test_doct)".into(), "test_x (test_doct.T.test_x)".into()],
            methods: vec![
                method("bad", "test_doct", MethodOutcome::Failed, true),
                method("test_x", "test_doct.T", MethodOutcome::Failed, false),
            ],
            ..TestReport::new("test_doct".into(), "failed")
        });
        let cases = cases(&report);
        let shorts: Vec<String> = cases[0].failed_methods.iter().map(FailedMethod::short).collect();
        assert_eq!(shorts, ["bad", "T.test_x"]);
        let failure = &cases[0].failures[0];
        assert_eq!(failure.message, "regrtest: failed: bad, T.test_x");
        assert!(failure
            .details
            .contains("FAIL: bad (test_doct)\nTraceback (most recent call last):\nAssertionError: bad\n"));
        let drafts = crate::report::draft::issue_drafts(&report, None, None, crate::report::draft::NO_SOURCES);
        assert_eq!(drafts[0].title, "test_doct: bad and 1 more fail");
        report.tests[0].failed_methods.pop();
        assert_eq!(
            crate::report::draft::issue_drafts(&report, None, None, crate::report::draft::NO_SOURCES)[0].title,
            "test_doct: bad fails"
        );

        let mut xml = Vec::new();
        write_junit(&report, &mut xml).unwrap();
        let xml = String::from_utf8(xml).unwrap();
        assert!(xml.contains(r#"<testcase name="bad" classname="test_doct">"#), "{xml}");
        assert!(xml.contains(r#"<failure message="FAIL: bad (test_doct)" type="unittest">"#), "{xml}");
        assert!(xml.contains(r#"<failure message="FAIL: test_x (test_doct.T.test_x)" type="unittest">"#), "{xml}");
    }

    /// Doctests of a module's `__test__` dict are named by their whole key, which may hold
    /// dots and spaces (`a.b`, in the class `test_doct.__test__`), though unittest's
    /// description splits the doctest's name at its last dot (`b (test_doct.__test__.a)`):
    /// the failed method is the key, and its testcase's failure is headed as unittest printed it.
    #[test]
    fn a_doctest_of_a_test_dict_is_named_by_its_key() {
        let method = |name: &str| MethodResult {
            name: name.into(),
            class: "test_doct.__test__".into(),
            outcome: MethodOutcome::Failed,
            detail: None,
            traceback: None,
            doctest: true,
            headers: Vec::new(),
            headers_left_out: 0,
        };
        let mut report = RunReport::new(vec!["python".into()], "/tmp/run".into());
        report.tests.push(TestReport {
            failed_methods: vec!["b (test_doct.__test__.a)".into(), "with space (test_doct.__test__)".into()],
            methods: vec![method("a.b"), method("with space")],
            ..TestReport::new("test_doct".into(), "failed")
        });
        let cases = cases(&report);
        let shorts: Vec<String> = cases[0].failed_methods.iter().map(FailedMethod::short).collect();
        assert_eq!(shorts, ["a.b", "with space"]);
        assert_eq!(cases[0].failures[0].message, "regrtest: failed: a.b, with space");
        assert_eq!(
            crate::report::draft::issue_drafts(&report, None, None, crate::report::draft::NO_SOURCES)[0].title,
            "test_doct: a.b and 1 more fail"
        );

        let mut xml = Vec::new();
        write_junit(&report, &mut xml).unwrap();
        let xml = String::from_utf8(xml).unwrap();
        assert!(xml.contains(r#"<testcase name="a.b" classname="test_doct.__test__">"#), "{xml}");
        assert!(xml.contains(r#"<failure message="FAIL: b (test_doct.__test__.a)" type="unittest">"#), "{xml}");
        assert!(xml.contains(r#"<failure message="FAIL: with space (test_doct.__test__)" type="unittest">"#), "{xml}");
    }

    #[test]
    fn a_method_is_distinct_by_its_qualified_class_not_its_subtests() {
        let methods: Vec<FailedMethod> = [
            "test_s (test_x.Sub.test_s) (i=2)",
            "setUpClass (test_x.Bad)",
            "test_s (test_x.Sub.test_s) (i=3)",
            "test_s (test_y.Sub.test_s) [msg]",
        ]
        .map(FailedMethod::parse)
        .to_vec();
        let distinct: Vec<&str> = distinct_methods(&methods).iter().map(|m| m.raw.as_str()).collect();
        assert_eq!(
            distinct,
            ["test_s (test_x.Sub.test_s) (i=2)", "setUpClass (test_x.Bad)", "test_s (test_y.Sub.test_s) [msg]"]
        );
    }

    #[test]
    fn xml_visible_removes_every_forbidden_character_and_keeps_lines_in_text() {
        let hostile = "a\u{0}b\u{1b}[2J\u{7f}\u{85}\u{202e}\u{fffe}\u{ffff}\r\n\tz";
        let text = xml_visible(hostile, true);
        assert!(!text.chars().any(|c| xml_forbidden(c) || c == '\r' || c == '\u{1b}'), "{text:?}");
        assert!(text.contains("\\x00") && text.contains("\\u{fffe}") && text.contains("\\u{ffff}"), "{text:?}");
        assert!(text.ends_with("\\x0d\n\tz"), "{text:?}");
        let attr = xml_visible(hostile, false);
        assert!(!attr.contains('\n') && !attr.contains('\t'), "{attr:?}");
        assert_eq!(xml_visible("test_os", false), "test_os");
    }

    #[test]
    fn a_leak_made_for_python_code_points_at_the_python_line() {
        let frame = |function: &str, file: &str, line: u32, module: &str| Frame {
            function: Some(function.into()),
            file: Some(file.into()),
            line: Some(line),
            column: None,
            module: module.into(),
            address: 0,
            inlined: false,
        };
        let python = "/usr/bin/python3.11d";
        let instance = super::super::LeakSiteReport {
            domain: "obj".into(),
            blocks: vec![1, 1, 1],
            bytes: vec![56, 56, 56],
            frames: vec![
                frame("object_new", "Objects/typeobject.c", 4566, python),
                frame("type_call", "Objects/typeobject.c", 1100, python),
                frame("_PyEval_EvalFrameDefault", "Python/ceval.c", 4772, python),
            ],
            folded_frames: 2,
            python_frame: Some(crate::hang::PythonFrame {
                function: "PyLeak.test_grow".into(),
                file: "Lib/test/test_pyleak.py".into(),
                line: 7,
            }),
            python_frames: vec![],
            object_types: vec!["Kept".into()],
            free_list_reuse: false,
            stack_cut: false,
            other_test_thread: None,
        };
        let test = |site: super::super::LeakSiteReport| TestReport {
            leaked: true,
            leak_not_reported_by_regrtest: true,
            leak_sites: vec![site],
            ..TestReport::new("test_pyleak".into(), "passed")
        };
        let at = top_leak_site(&test(instance.clone())).unwrap();
        assert_eq!(at.file_line(), Some(("Lib/test/test_pyleak.py", 7)));
        // The C runtime's frames and leakcheck's own are no extension's.
        let mut through_runtime = instance.clone();
        through_runtime.frames.insert(1, frame("memcpy", "string/memcpy.c", 3, "/lib/x86_64-linux-gnu/libc.so.6"));
        through_runtime.frames.insert(0, frame("hook_malloc", "shims/src/lib.rs", 9, "/tmp/r/libleakcheck_shim.so"));
        let at = top_leak_site(&test(through_runtime)).unwrap();
        assert_eq!(at.file_line(), Some(("Lib/test/test_pyleak.py", 7)));
        // A larger site first whose blocks came from a free list (a dict's key table first made
        // in unittest's loader): the site in the test's own file still decides.
        let mut reused = instance.clone();
        reused.python_frame = Some(crate::hang::PythonFrame {
            function: "TestLoader.getTestCaseNames".into(),
            file: "/usr/lib/python3.11/unittest/loader.py".into(),
            line: 237,
        });
        reused.python_frames = vec![reused.python_frame.clone().unwrap()];
        let mut instance_in_file = instance.clone();
        instance_in_file.python_frames = vec![instance.python_frame.clone().unwrap()];
        let mut two = test(reused);
        two.leak_sites.push(instance_in_file);
        let at = top_leak_site(&two).unwrap();
        assert_eq!(at.file_line(), Some(("Lib/test/test_pyleak.py", 7)));
        assert!(is_test_file("/usr/lib/python3.11/test/test_os.py", "test.test_os"));
        assert!(is_test_file("/tmp/x/test_asyncio/test_tasks.py", "test_asyncio.test_tasks"));
        assert!(is_test_file("/tmp/x/test_pkg/__init__.py", "test_pkg"));
        assert!(!is_test_file("/usr/lib/python3.11/unittest/loader.py", "test_pyleak"));
        // An extension's function between the allocator and the eval loop is the one to blame:
        // its line, not the interpreter's C code it called (`PyDict_New` in a `tp_new`).
        let mut extension = instance;
        extension.frames.insert(1, frame("foo_new", "Modules/_foo.c", 12, "/x/_foo.so"));
        let at = top_leak_site(&test(extension.clone())).unwrap();
        assert_eq!((at.file_line(), at.python), (Some(("Modules/_foo.c", 12)), false));
        // The extension's own allocation is its own line, of course.
        extension.frames.remove(0);
        let at = top_leak_site(&test(extension.clone())).unwrap();
        assert_eq!(at.file_line(), Some(("Modules/_foo.c", 12)));
        // Without line information for the extension (built without -g: the symbol table names
        // the function), its module and offset, not the interpreter's line it called.
        extension.frames.insert(0, frame("object_new", "Objects/typeobject.c", 4566, python));
        extension.frames[1].line = None;
        extension.frames[1].address = 0x11f9;
        let at = top_leak_site(&test(extension)).unwrap();
        assert_eq!(at.function.as_deref(), Some("foo_new"));
        assert_eq!(at.place, Place::Module { module: "/x/_foo.so".into(), offset: 0x11f9 });
    }

    /// A UBSan report from a module built without `-g` and stripped (frames of a real run):
    /// its first frame has no line, its headline names the file and line, which is where the
    /// finding is, not the module and offset; a first frame with a line is still the place.
    #[test]
    fn a_ubsan_finding_without_lines_is_at_its_headlines_location() {
        let ext = "/tmp/qa-san/td/_qubs.cpython-311d-x86_64-linux-gnu.so";
        let frame =
            |index: u32, function: Option<&str>, file: Option<&str>, line: Option<u32>, module: &str, offset| {
                ReportFrame {
                    index,
                    address: Some(0x7f00_0000_0000 + offset),
                    function: function.map(str::to_owned),
                    file: file.map(str::to_owned),
                    line,
                    column: None,
                    module: Some(module.into()),
                    module_offset: Some(offset),
                    build_id: None,
                    inlined: false,
                }
            };
        let stack = vec![
            frame(0, None, None, None, ext, 0x1432),
            frame(
                1,
                Some("cfunction_vectorcall_NOARGS"),
                Some("../Objects/methodobject.c"),
                Some(486),
                "/usr/bin/python3.11d",
                0x4e_ce36,
            ),
        ];
        let ubsan = |frames: Vec<ReportFrame>| {
            Finding {
            sanitizer: crate::sanitizer::Sanitizer::Ubsan,
            pid: None,
            message: "fx/qub.c:7:9: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'"
                .into(),
            ..Finding::asan("signed-integer-overflow", frames, Vec::new())
        }
        };
        let excerpts = Excerpts::new(&RunReport::new(vec![], "/tmp/x".into()));
        let at = |finding: &Finding| finding_failure(finding, None, &excerpts).location.unwrap();
        let stripped = at(&ubsan(stack.clone()));
        assert_eq!((stripped.file_line(), stripped.function.as_deref()), (Some(("fx/qub.c", 7)), None));
        // Not stripped, without -g: the symbol table's function, the headline's line.
        let mut named = stack.clone();
        named[0].function = Some("overflow".into());
        let at_named = at(&ubsan(named));
        assert_eq!((at_named.file_line(), at_named.function.as_deref()), (Some(("fx/qub.c", 7)), Some("overflow")));
        // With a line, the frame.
        let mut with_line = stack.clone();
        (with_line[0].file, with_line[0].line) = (Some("/src/qub.c".into()), Some(7));
        assert_eq!(at(&ubsan(with_line)).file_line(), Some(("/src/qub.c", 7)));
        // A headline without a file (`<unknown>`), or another sanitizer: the module and offset.
        let mut unknown = ubsan(stack.clone());
        unknown.message = "<unknown>: runtime error: signed integer overflow".into();
        let module = Place::Module { module: ext.into(), offset: 0x1432 };
        assert_eq!(at(&unknown).place, module);
        let asan = Finding { message: "ERROR: AddressSanitizer: SEGV on unknown address".into(), ..ubsan(stack) };
        let asan = Finding { sanitizer: crate::sanitizer::Sanitizer::Asan, ..asan };
        assert_eq!(at(&asan).place, module);
    }

    #[test]
    fn a_leak_in_an_extension_without_lines_is_its_module_and_offset_not_the_dispatch() {
        let python = "/usr/bin/python3.11d";
        let frame = |function: Option<&str>, line: Option<u32>, module: &str, address: u64| Frame {
            function: function.map(str::to_owned),
            file: line.map(|_| "Objects/methodobject.c".to_owned()),
            line,
            column: None,
            module: module.into(),
            address,
            inlined: false,
        };
        let ext = "/tmp/qa/_qaext.cpython-311d-x86_64-linux-gnu.so";
        // Stripped (or removed from disk before leakcheck read it): no function, no line.
        let stripped = vec![
            frame(None, None, ext, 0x27e7),
            frame(Some("cfunction_vectorcall_NOARGS"), Some(486), python, 0x1000),
            frame(Some("_PyEval_EvalFrameDefault"), Some(5000), python, 0x2000),
        ];
        let site = |frames: Vec<Frame>| super::super::LeakSiteReport {
            domain: "raw".into(),
            blocks: vec![2, 2, 2],
            bytes: vec![96, 96, 96],
            frames,
            folded_frames: 1,
            python_frame: Some(crate::hang::PythonFrame {
                function: "T.test_x".into(),
                file: "/tmp/qa/test_qa_two_raw.py".into(),
                line: 5,
            }),
            python_frames: vec![],
            object_types: vec![],
            free_list_reuse: false,
            stack_cut: false,
            other_test_thread: None,
        };
        let at = site_location(&site(stripped.clone())).unwrap();
        assert_eq!((at.function.as_deref(), at.python), (None, false));
        assert_eq!(at.place, Place::Module { module: ext.into(), offset: 0x27e7 });
        assert_eq!(at.place.to_string(), format!("{ext}+0x27e7"));
        assert_eq!(at.file_line(), None, "no file for an annotation to point at");
        // Built without -g: the symbol table's function, still no line.
        let mut nodw = stripped.clone();
        nodw[0].function = Some("two_raw".into());
        let at = site_location(&site(nodw)).unwrap();
        assert_eq!(at.function.as_deref(), Some("two_raw"));
        assert_eq!(at.place, Place::Module { module: ext.into(), offset: 0x27e7 });
        // With a line, the line.
        let mut lined = stripped.clone();
        lined[0].file = Some("/tmp/qa/_qaext.c".into());
        lined[0].line = Some(40);
        let at = site_location(&site(lined)).unwrap();
        assert_eq!(at.file_line(), Some(("/tmp/qa/_qaext.c", 40)));
        // A frame in no known module has no offset to name: the next frame with a line.
        let mut unknown = stripped;
        unknown[0].module = crate::symbolize::UNKNOWN_MODULE.into();
        let at = site_location(&site(unknown)).unwrap();
        assert_eq!(at.file_line(), Some(("Objects/methodobject.c", 486)));
    }

    #[test]
    fn a_python_frame_whose_file_the_shim_could_not_read_is_no_location() {
        let python = "/usr/bin/python3.11d";
        let frame = |function: &str, file: &str, line: u32| Frame {
            function: Some(function.into()),
            file: Some(file.into()),
            line: Some(line),
            column: None,
            module: python.into(),
            address: 0,
            inlined: false,
        };
        // 3.11's shim reads no non-ASCII `str`: a test in a directory named `тест`.
        let unknown = crate::hang::PythonFrame { function: "?".into(), file: "?".into(), line: 5 };
        let site = super::super::LeakSiteReport {
            domain: "obj".into(),
            blocks: vec![1, 1, 1],
            bytes: vec![16, 16, 16],
            frames: vec![
                frame("object_new", "Objects/typeobject.c", 4566),
                frame("_PyEval_EvalFrameDefault", "Python/ceval.c", 4772),
            ],
            folded_frames: 2,
            python_frame: Some(unknown.clone()),
            python_frames: vec![unknown],
            object_types: vec!["object".into()],
            free_list_reuse: false,
            stack_cut: false,
            other_test_thread: None,
        };
        let mut test = TestReport {
            leaked: true,
            leak_sites: vec![site],
            ..TestReport::new("test_leaku".into(), "reference_leak")
        };
        let at = top_leak_site(&test).unwrap();
        assert_eq!(at, Location::source(Some("object_new".into()), "Objects/typeobject.c".into(), 4566));
        // A known file with an unknown function is still the place; the function is not `?`.
        let known = crate::hang::PythonFrame { function: "?".into(), file: "/tmp/x/test_leaku.py".into(), line: 5 };
        test.leak_sites[0].python_frame = Some(known);
        let at = top_leak_site(&test).unwrap();
        assert_eq!(
            (at.function.as_deref(), at.file_line(), at.python),
            (None, Some(("/tmp/x/test_leaku.py", 5)), true)
        );
    }

    #[test]
    fn a_crash_reported_from_a_signal_handler_points_at_the_interrupted_code() {
        let frame = |function: &'static str, file: Option<&'static str>, line, module: &'static str| {
            (Some(function), file, line, Some(module), None)
        };
        let libc = "/lib/x86_64-linux-gnu/libc.so.6";
        let python = "/x/python";
        let stack = [
            frame("__pthread_kill_implementation", Some("./nptl/pthread_kill.c"), Some(44), libc),
            frame("raise", Some("../sysdeps/posix/raise.c"), Some(26), libc),
            frame("faulthandler_fatal_error", Some("./Modules/faulthandler.c"), Some(385), python),
            (None, None, None, Some(libc), Some(0x42520)),
            frame("segv", Some("/tmp/qsan.c"), Some(60), "/tmp/_qsan.so"),
            frame("cfunction_vectorcall_NOARGS", Some("Objects/methodobject.c"), Some(514), python),
        ];
        let at = first_location(stack.iter().copied()).unwrap();
        assert_eq!((at.function.as_deref(), at.file_line()), (Some("segv"), Some(("/tmp/qsan.c", 60))));
        // Without a handler, the innermost frame of the program.
        let mut plain = stack;
        plain[2].0 = Some("abort_here");
        let at = first_location(plain.iter().copied()).unwrap();
        assert_eq!(at.function.as_deref(), Some("abort_here"));
    }

    #[test]
    fn only_the_items_regrtest_failed_are_the_leak() {
        // 3.13: an fd leak, beside references and memory blocks "(this is fine)".
        let test = TestReport {
            leaked: true,
            regrtest: super::super::RegrtestLeaks {
                references: Some(vec![0, 4, 0]),
                memory_blocks: Some(vec![0, 6, 0]),
                file_descriptors: Some(vec![0, 1, 0]),
                failing: vec!["file_descriptors"],
                leaked: true,
            },
            ..TestReport::new("test_fdonce".into(), "reference_leak")
        };
        assert_eq!(
            regrtest_leak_lines(&test),
            [
                "test_fdonce leaked [0, 4, 0] references, sum=4 (this is fine)",
                "test_fdonce leaked [0, 6, 0] memory blocks, sum=6 (this is fine)",
                "test_fdonce leaked [0, 1, 0] file descriptors, sum=1",
            ]
        );
        let failure = leak_failure(&test, &Excerpts::new(&RunReport::new(vec![], "/tmp/x".into())));
        assert!(failure.message.contains("file descriptors [0, 1, 0]"), "{}", failure.message);
        assert!(!failure.message.contains("references"), "{}", failure.message);
    }

    #[test]
    fn a_leak_excerpt_keeps_the_sites_python_frame() {
        let site = super::super::LeakSiteReport {
            domain: "raw".into(),
            blocks: vec![1, 1, 1],
            bytes: vec![48, 48, 48],
            frames: vec![Frame {
                function: Some("leak_raw".into()),
                file: Some("c/leakfix.c".into()),
                line: Some(39),
                column: None,
                module: "/x/_leakfix.so".into(),
                address: 0x11fd,
                inlined: false,
            }],
            folded_frames: 1,
            python_frame: Some(crate::hang::PythonFrame {
                function: "LeakTest.test_leak_raw".into(),
                file: "/tmp/x/test_leak_raw.py".into(),
                line: 9,
            }),
            python_frames: vec![],
            object_types: vec![],
            free_list_reuse: false,
            stack_cut: false,
            other_test_thread: None,
        };
        let test = TestReport {
            leaked: true,
            leak_not_reported_by_regrtest: true,
            leak_sites: vec![site],
            notes: vec!["a note after the sites".into()],
            ..TestReport::new("test_leak_raw".into(), "passed")
        };
        let excerpt = Excerpts::new(&RunReport::new(vec![], "/tmp/x".into())).of(&test);
        let lines: Vec<&str> = excerpt.lines().collect();
        let python =
            lines.iter().position(|l| l.ends_with("python: LeakTest.test_leak_raw (/tmp/x/test_leak_raw.py:9)"));
        assert_eq!(python, Some(lines.len() - 2), "{excerpt}");
        assert!(lines[lines.len() - 1].ends_with("note: a note after the sites"), "{excerpt}");
    }

    #[test]
    fn env_changed_fails_a_test_only_in_a_run_that_fails_on_it() {
        let mut report = RunReport::new(vec![], "/tmp/x".into());
        report.tests = vec![TestReport::new("test_env".into(), "env_changed")];
        let case = &cases(&report)[0];
        assert!(!case.failed(), "regrtest passes the run (exit 0): {case:?}");
        assert!(case.output.as_deref().is_some_and(|o| o.contains("failed (env changed)")), "{case:?}");
        let mut xml = Vec::new();
        write_junit(&report, &mut xml).unwrap();
        let xml = String::from_utf8(xml).unwrap();
        assert!(xml.contains("failures=\"0\""), "{xml}");
        assert!(xml.contains("<system-out>regrtest: failed (env changed): "), "said in the testcase: {xml}");

        report.summary.env_changed_fails = true;
        let case = &cases(&report)[0];
        assert_eq!(case.failures.len(), 1, "{case:?}");
        assert_eq!(case.failures[0].message, "regrtest: failed (env changed)");
        assert_eq!(case.output, None);

        // 3.14+ gives the reasons in its summary: the failure, or the passing case's output,
        // says them.
        report.tests[0].env_changed_reasons = vec!["os.environ was modified".into(), "files was modified".into()];
        let case = &cases(&report)[0];
        assert_eq!(
            case.failures[0].message,
            "regrtest: failed (env changed): os.environ was modified, files was modified"
        );
        report.summary.env_changed_fails = false;
        let case = &cases(&report)[0];
        let output = case.output.as_deref().unwrap_or_default();
        assert!(
            output.starts_with(
                "regrtest: failed (env changed): the test altered the execution environment: os.environ was \
                 modified, files was modified; regrtest does not fail the run on it"
            ),
            "{output}"
        );
    }

    #[test]
    fn a_dead_worker_s_failure_has_regrtest_s_line_and_faulthandler_s_dump() {
        let mut report = RunReport::new(vec![], "/tmp/x".into());
        let dump = "Fatal Python error: Aborted\n\nCurrent thread 0x00007f (most recent call first):\n  \
                    File \"/t/test_crash_midway.py\", line 16 in test_crash_on_third_repetition";
        report.tests = vec![TestReport {
            result_line: Some("test_crash_midway worker non-zero exit code (Exit code -6 (SIGABRT))".into()),
            faulthandler: Some(dump.into()),
            ..TestReport::new("test_crash_midway".into(), "crashed")
        }];
        let failure = &cases(&report)[0].failures[0];
        assert_eq!(
            failure.message,
            "regrtest: crashed: test_crash_midway worker non-zero exit code (Exit code -6 (SIGABRT)); \
             Fatal Python error: Aborted"
        );
        assert!(
            failure.details.starts_with("test_crash_midway worker non-zero exit code (Exit code -6 (SIGABRT))\n"),
            "{}",
            failure.details
        );
        assert!(failure.details.contains(dump), "{}", failure.details);
    }

    /// Many failures of one testcase: one element whose message names each of them (each cut to
    /// its share, the whole within the limit) and whose body has every one whole, in order.
    #[test]
    fn many_failures_make_one_element_naming_each() {
        let failure = |kind, i: usize| Failure {
            kind,
            message: format!("problem {i} {}", "x".repeat(3_000)),
            details: format!("details of problem {i}\n"),
            location: None,
        };
        let failures: Vec<Failure> =
            (1..=20).map(|i| failure(if i == 2 { FailureKind::Leak } else { FailureKind::Sanitizer }, i)).collect();
        let element = one_failure(&failures).expect("one element");
        assert_eq!(element.kind, "sanitizer,leak");
        assert!(element.message.chars().count() <= MAX_MESSAGE_CHARS + 1, "{}", element.message.len());
        assert!(element.message.starts_with("20 problems: (1) problem 1 xxx"), "{}", element.message);
        assert!(element.message.contains("(2) problem 2 "), "{}", element.message);
        let mut at = 0;
        for i in 1..=20 {
            let part = format!("\n({i}) problem {i} {}\n\ndetails of problem {i}\n", "x".repeat(3_000));
            let found = element.body[at..].find(&part).unwrap_or_else(|| panic!("problem {i} whole, in order"));
            at += found + part.len();
        }
        let single = one_failure(&failures[..1]).expect("one element");
        assert_eq!((single.kind.as_str(), single.body), ("sanitizer", failure_body(&failures[0])));
        assert!(one_failure(&[]).is_none());
    }

    #[test]
    fn messages_are_clipped_on_a_character_boundary() {
        assert_eq!(clip("ééé", 2), "éé…");
        assert_eq!(clip("ab", 2), "ab");
    }
}
