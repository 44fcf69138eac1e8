//! Parser for the console output of CPython's regrtest (`python -m test ...`).
//!
//! **What it parses.** The combined stdout+stderr of one regrtest run, line by line: progress
//! lines (`0:00:01 load avg: 0.50 [ 3/40/1] test_os ...`) in both sequential and `-j` layouts,
//! per-test result strings (`test_os failed (2 errors)`, `test_x worker non-zero exit code (Exit
//! code -9 (SIGKILL))`, ...), the `-R` refleak output (`beginning 6 repetitions`, `test_x leaked
//! [1, 1, 1] references, sum=3`, 3.13+'s ` (this is fine)`), unittest's verbose method lines
//! and `FAIL:`/`ERROR:` headers (doctests' too: `bad (test_doct)` then `Doctest: test_doct.bad`),
//! `--rerun`/`-w` re-runs and the final summary (`== Tests result: FAILURE ==`, the
//! `N tests failed:` lists, `All N tests OK.`, `Total test files: ...`, `Result: ...`).
//! It understands the old libregrtest of early 3.11 releases (`runtest.py`, `runtest_mp.py`;
//! 3.11.2 checked) and the new one of later 3.11 releases, 3.12, 3.13 and 3.14 (`single.py`,
//! `result.py`, `run_workers.py`; 3.11.7, 3.12.1 and 3.13.0 checked), including 3.14's ANSI
//! colours.
//!
//! **What the caller provides.** Every line of output, in order, through [`Parser::feed_line`]
//! (with or without its `\n`/`\r\n`; invalid UTF-8 is fine), then whether the process exited on
//! its own to [`Parser::finish`]. While the run is going, [`Parser::current_test`] says which
//! test the output is about, for attributing hangs and sanitizer reports.
//!
//! **What it does not do.** No I/O, no processes, no clocks: it never reads the reflog file or
//! the JUnit XML, and it does not judge leaks itself — it reports what regrtest printed. Lines
//! longer than [`MAX_LINE_LEN`] bytes are no regrtest line of interest: only a traceback or
//! dump being read keeps one, cut to that length and to the room it has left, with a
//! `[... N bytes cut]` marker, and a verbose method line's description at its start still
//! names the method whose status comes next; so a pathological line costs little beyond
//! itself.
//!
//! **How outcomes are resolved** (in [`Parser::finish`]), per test and for its last attempt:
//! 1. a result string regrtest printed for it (progress line, or the standalone line
//!    sequential mode prints for the last test: the last such line, as regrtest's comes after
//!    the test's output);
//! 2. a weaker hint from the test's own output: `test X failed -- ...` (Failed),
//!    `test X crashed -- ...` (UncaughtException), also after the marks `-R` prints on one line
//!    for the repetitions before (`.....test X failed`, 3.13 `XX. ..test X failed`), or
//!    faulthandler's `Timeout (H:MM:SS)!` while
//!    X was running sequentially (TimedOut; regrtest then `_exit(1)`s without a summary);
//!
//!    a test can print the same lines itself, so regrtest's later word overrides a
//!    standalone line and a hint: sequentially, the next test's progress line without a
//!    result (`[2/3] test_b`: test_a passed quickly) drops them, and so does a whole summary
//!    block (its `Total duration:` came) printed after the attempt that lists the test as
//!    neither failed nor env changed, for a failure;
//! 3. the lists of the last summary block, if it was printed after the attempt began (a
//!    re-run's `N tests failed again:` list counts too); a failed test that printed a failing
//!    leak line is a [`Outcome::ReferenceLeak`] (quiet mode prints no result string);
//! 4. otherwise: a test that another test followed in sequential mode passed (regrtest says
//!    nothing about quick passes); the last test passed if the process completed *and* the
//!    output ended in a summary (interrupted if the summary says so); anything else is
//!    [`Outcome::Unknown`]. Requiring the summary, not just a normal exit, matters because a
//!    sequential `--timeout` exits with status 1 and no summary while the test was still
//!    running, and because a re-run may die after the first run's summary.
//!
//! A test's leak lines are regrtest's: those printed after the marks of its last `-R`
//! repetition end their line; one the test printed itself before that (it ran still) is
//! dropped when they end (see `Marks`). A test's leak lines are those of the attempt regrtest's
//! verdict is about: a `--rerun`/`-w`
//! attempt starts without them, and those of the run before it are kept apart, with that run's
//! outcome, in [`TestResult::first_run`]. Other attempts (a test named twice, `--forever`) keep
//! them until they print their own, as they keep `repetitions` and `failed_methods`.

#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// Lines longer than this (after removing the line ending) are cut to it and read only as part
/// of a traceback or dump. The longest regrtest lines of interest are `running (N): ...` with
/// many workers and leak lines with many runs, both a few KiB at most.
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// More distinct test names than any CPython test suite has; past it, new names are dropped so
/// garbage input cannot grow the parser without bound.
const MAX_TESTS: usize = 100_000;
/// Per test: unittest failures kept, and the length each is truncated to.
const MAX_FAILED_METHODS: usize = 1_000;
const MAX_FAILED_METHOD_LEN: usize = 2_048;
/// Per test: unittest methods kept from verbose (`-v`) result lines. CPython's largest test
/// files have a few thousand methods.
const MAX_METHODS: usize = 20_000;
/// Longest traceback kept per failed method, and all of a test's together; the log has them.
pub const MAX_TRACEBACK_BYTES: usize = 16 * 1024;
const MAX_TEST_TRACEBACK_BYTES: usize = 1024 * 1024;
/// Per list in the summary.
const MAX_LIST_NAMES: usize = 100_000;

/// What regrtest said about one test file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// `X passed`, or nothing said about a quick pass that finished.
    Passed,
    /// `X failed`, `X failed (N errors, M failures)`.
    Failed,
    /// `X failed (uncaught exception)`.
    UncaughtException,
    /// `X failed (env changed)`.
    EnvChanged,
    /// `X failed (reference leak)`: any of references, memory blocks or file descriptors.
    ReferenceLeak,
    /// `X skipped`.
    Skipped,
    /// `X skipped (resource denied)`.
    ResourceDenied,
    /// `X interrupted`, or the test running when the summary says the suite was interrupted.
    Interrupted,
    /// The `-j` worker running X died: killed by a signal or exited non-zero (3.12+'s `X worker
    /// non-zero exit code (Exit code -6 (SIGABRT))`, 3.11's `X crashed (Exit code -6)`; 3.11
    /// also says so when it could not read the worker's result).
    Crashed,
    /// `X ran no tests`.
    RanNoTests,
    /// `X timed out (D)` (`-j`), or faulthandler's `Timeout (H:MM:SS)!` while X ran
    /// sequentially or in the output of X's `-j` worker that exited with code 1 (the exit of
    /// faulthandler's `--timeout` watchdog, which regrtest reports as a crash).
    TimedOut,
    /// 3.12+'s `X worker bug`: regrtest could not run the worker or read its result (JSON,
    /// stdout), whatever became of the test.
    WorkerFailed,
    /// Named only in the summary's `N tests omitted:` list: selected, but never started (the
    /// run was interrupted, or `--failfast` stopped it, before it came to the test).
    NotRun,
    /// Started, but no result was seen (e.g. the run died mid-test).
    Unknown,
}

/// One `X leaked [d1, d2, ...] <what>, sum=S` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeakLine {
    pub deltas: Vec<i64>,
    pub sum: i64,
    /// False for 3.13+'s ` (this is fine)` lines, which regrtest prints but does not count.
    pub failing: bool,
}

/// Everything the output said about one test file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// As printed: `test_os`, `test.test_os` or `test_asyncio.test_tasks`.
    pub name: String,
    /// None until known; [`Parser::finish`] resolves it.
    pub outcome: Option<Outcome>,
    /// regrtest's own result string for the last attempt, without a duration and without the
    /// ` -- running ...` tail, e.g. `test_os failed (2 errors)` or
    /// `test_x worker non-zero exit code (Exit code -9 (SIGKILL))`.
    pub result_text: Option<String>,
    pub references: Option<LeakLine>,
    pub memory_blocks: Option<LeakLine>,
    pub file_descriptors: Option<LeakLine>,
    /// From `beginning N repetitions`.
    pub repetitions: Option<u32>,
    /// 1, or more when `--rerun`/`-w` (or `--forever`) ran it again.
    pub attempts: u32,
    /// unittest's `FAIL: ...`/`ERROR: ...` headers, e.g.
    /// `test_foo (test.test_x.TestClass.test_foo)`, deduplicated, over all attempts.
    pub failed_methods: Vec<String>,
    /// The traceback regrtest printed with `test X failed -- Traceback ...` (a single failure
    /// without `-v`; a doctest's with doctest's report of the examples that failed) or `test X
    /// crashed -- Traceback ...`, from `Traceback` on (the first
    /// [`MAX_TRACEBACK_BYTES`]; the last attempt's).
    pub traceback: Option<String>,
    /// `test_x skipped -- REASON`: why regrtest skipped the whole file (`unittest.SkipTest` or a
    /// resource it was not given, raised at import).
    pub skip_reason: Option<String>,
    /// faulthandler's dump in the test's output: from `Fatal Python error: ...` (a crash) or
    /// `Timeout (H:MM:SS)!` (regrtest's `--timeout`) on, with the thread stacks and the
    /// `Extension modules:` line after it (the first [`MAX_TRACEBACK_BYTES`]; the last attempt's
    /// first dump).
    pub faulthandler: Option<String>,
    /// For `failed -- Traceback`: the failing test method, the outermost frame of its first
    /// traceback named as unittest's loader finds methods (`test...`). unittest leaves its own
    /// frames out, so the first frame is the method, or a decorator's wrapper around it
    /// (`wrapper`, mock's `patched`), or a fixture (`setUp`) that failed, which names no
    /// method: `None` then, and for a crash, whose first frames are regrtest's. For a failed
    /// doctest (`AssertionError: Failed doctest test for test_doct.bad`), the last part of its
    /// name (`bad`), as [`MethodResult`] names a doctest. This output has
    /// no `FAIL:`/`ERROR:` header, which names the method when there is one
    /// (`failed_methods`).
    pub traceback_method: Option<String>,
    /// Every unittest method the output named with a result: all of them with `-v` (verbose
    /// `test_foo (mod.Class.test_foo) ... ok` lines), else the failed ones (`FAIL:`/`ERROR:`
    /// headers). In order of first appearance.
    pub methods: Vec<MethodResult>,
    /// The run before regrtest re-ran the test (`-w`/`--rerun`): the leak lines above are the
    /// re-run's, regrtest's verdict.
    pub first_run: Option<FirstRun>,
}

/// What regrtest said about a test's leaks in the run before its re-run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirstRun {
    pub references: Option<LeakLine>,
    pub memory_blocks: Option<LeakLine>,
    pub file_descriptors: Option<LeakLine>,
    /// Its result string's outcome, else failed (regrtest re-runs the tests that failed), for
    /// a leak when it printed a failing leak line.
    pub outcome: Outcome,
}

impl FirstRun {
    /// The leak lines regrtest counted as failures, as `references [1, 1, 1], memory blocks
    /// [1, 1, 1]`; None when there are none.
    #[must_use]
    pub fn failing_leaks(&self) -> Option<String> {
        let items = [
            ("references", &self.references),
            ("memory blocks", &self.memory_blocks),
            ("file descriptors", &self.file_descriptors),
        ];
        let failing: Vec<String> = items
            .into_iter()
            .filter_map(|(what, line)| line.as_ref().filter(|l| l.failing).map(|l| format!("{what} {:?}", l.deltas)))
            .collect();
        (!failing.is_empty()).then(|| failing.join(", "))
    }
}

impl TestResult {
    /// The test as its first run left it, when regrtest re-ran it: that run's leak lines and
    /// outcome, for a report whose measurement is that run's. None without a re-run.
    #[must_use]
    pub fn as_first_run(&self) -> Option<TestResult> {
        let first = self.first_run.as_ref()?;
        Some(TestResult {
            outcome: Some(first.outcome),
            references: first.references.clone(),
            memory_blocks: first.memory_blocks.clone(),
            file_descriptors: first.file_descriptors.clone(),
            ..self.clone()
        })
    }
}

/// The final summary block (the last `== Tests result: ... ==` and what follows it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `SUCCESS`, `FAILURE`, `FAILURE then SUCCESS`, `ENV CHANGED`, ... (the last one printed).
    pub result: Option<String>,
    pub failed: Vec<String>,
    pub skipped: Vec<String>,
    pub env_changed: Vec<String>,
    pub rerun: Vec<String>,
    pub resource_denied: Vec<String>,
    pub run_no_tests: Vec<String>,
    /// Number of test files selected: from `Total test files: run=X/N` (3.12+), else from the
    /// first run's `[ n/N]` progress or `Run N tests` header, else from `All N tests OK.`, else
    /// the OK count plus the names in the lists.
    pub total_tests: Option<usize>,
    /// `N tests failed again:` after a re-run.
    pub failed_again: Vec<String>,
    /// `N tests omitted:` (selected but never run).
    pub omitted: Vec<String>,
    /// 3.12+'s `Total test files: ... skipped=N resource_denied=M` (0 when left out): how many
    /// test files were skipped, and skipped for want of a resource. Quiet mode (`-q`) counts
    /// them there without naming them anywhere.
    pub skipped_count: Option<usize>,
    pub resource_denied_count: Option<usize>,
    /// `N tests OK.` / `All N tests OK.`
    pub passed_count: Option<usize>,
    /// `Test suite interrupted by signal SIGINT.`
    pub interrupted: bool,
    /// `Total duration: ...` as printed, e.g. `1 min 2 sec`.
    pub total_duration: Option<String>,
}

/// What unittest said about one test method (`TextTestResult`'s verbose status words, or the
/// `FAIL:`/`ERROR:` header of its error list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodOutcome {
    /// `ok`.
    Passed,
    /// `FAIL` (an assertion failed; in a subtest too).
    Failed,
    /// `ERROR` (another exception).
    Error,
    /// `skipped 'reason'`.
    Skipped,
    /// `expected failure`.
    ExpectedFailure,
    /// `unexpected success`.
    UnexpectedSuccess,
}

impl MethodOutcome {
    /// Whether unittest counts it against the run (`wasSuccessful()` is false).
    #[must_use]
    pub fn is_failure(self) -> bool {
        matches!(self, MethodOutcome::Failed | MethodOutcome::Error | MethodOutcome::UnexpectedSuccess)
    }
}

/// One unittest method of a test file, as unittest's output named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodResult {
    /// The method: `test_close_file`.
    pub name: String,
    /// Module and class, dotted: `test.test_posix.TestPosixSpawn`.
    pub class: String,
    /// The last result printed for it (a later attempt or `-R` repetition replaces an earlier
    /// one).
    pub outcome: MethodOutcome,
    /// The skip reason, as unittest printed it (`repr()` of the reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For a failure or error: the traceback unittest printed under its `FAIL:`/`ERROR:` header
    /// (regrtest shows it in verbose mode and re-runs), at most [`MAX_TRACEBACK_BYTES`]; for a
    /// doctest, with doctest's report of the examples that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
    /// A doctest (a case of `doctest.DocTestSuite`, as CPython's test_generators, test_deque
    /// and test_descrtut have), which unittest names `bad (test_doct)` with a `Doctest:
    /// test_doct.bad` line: `name` is the last part of the doctest's dotted name, `class` the
    /// part before it (a module, or a module and class; empty for a top-level module's own
    /// docstring).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub doctest: bool,
}

/// Everything [`Parser::finish`] resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParsedRun {
    /// In order of first appearance; tests only named in the summary come last.
    pub tests: Vec<TestResult>,
    /// None if the run never got to its summary.
    pub summary: Option<Summary>,
    /// Whether any progress line was read. regrtest announces every test it runs in one,
    /// except in quiet mode (`-q`), where only the tests that failed are named (in their leak
    /// lines, failures and the summary's lists; see [`ParsedRun::quiet_skipped`]).
    pub progress_seen: bool,
}

impl ParsedRun {
    /// The tests quiet mode (`-q`) skipped, each with a note saying how that is known. Quiet
    /// mode names no test it skipped (`unittest.SkipTest` or a resource denied): no progress
    /// line, no `skipped --` line, no `skipped` list in the summary; 3.12+ only counts them
    /// (`Total test files: ... skipped=N resource_denied=M`). So of the tests the command line
    /// `selected` (see [`selection`]), one that the output names nowhere, not even as omitted,
    /// and that is not `measured` (the caller knows: with `-R` the shim measures every test
    /// that runs) was skipped. Empty unless the output is quiet mode's (no progress line) and
    /// has its summary. A selected package whose modules were run (3.12+ splits
    /// `test_asyncio` into `test_asyncio.test_tasks`, ...) is no skipped test.
    #[must_use]
    pub fn quiet_skipped(&self, selected: &[String], measured: &[&str]) -> Vec<(TestResult, String)> {
        let Some(summary) = self.summary.as_ref().filter(|_| !self.progress_seen) else {
            return Vec::new();
        };
        let known: Vec<&str> = self.tests.iter().map(|t| t.name.as_str()).chain(measured.iter().copied()).collect();
        let unnamed: Vec<&String> = selected
            .iter()
            .filter(|name| {
                let package =
                    |known: &&str| known.strip_prefix(name.as_str()).is_some_and(|rest| rest.starts_with('.'));
                !known.contains(&name.as_str()) && !known.iter().any(package) && !summary.omitted.contains(name)
            })
            .collect();
        let said = "quiet mode (-q): regrtest names no test it skipped; selected on the command line, named \
                    nowhere in the output and not measured, this test was";
        let (outcome, note) = match (summary.skipped_count, summary.resource_denied_count) {
            (_, Some(0)) => (Outcome::Skipped, format!("{said} skipped")),
            (Some(0), Some(_)) => {
                (Outcome::ResourceDenied, format!("{said} skipped for want of a resource (resource denied)"))
            }
            _ => (
                Outcome::Skipped,
                format!("{said} skipped, or skipped for want of a resource (resource denied): the output does not tell which"),
            ),
        };
        unnamed
            .into_iter()
            .map(|name| {
                let test =
                    TestResult { name: name.clone(), outcome: Some(outcome), attempts: 1, ..TestResult::default() };
                (test, note.clone())
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Patterns. Each is written against the `print`/`log` call that produces it (file names are
// CPython's `Lib/test/libregrtest/`).

/// `utils.format_duration`: at most two parts, `%.1f sec` only when alone.
const DURATION: &str = r"(?:\d+ hour(?: \d+ (?:min|sec))?|\d+ min(?: \d+ sec)?|\d+(?:\.\d+)? sec|\d+ ms)";

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file, so failing here is a bug caught by any test.
    Regex::new(pattern).expect("regrtest pattern must compile")
}

/// `Regrtest.log` / `Logger.log`: `"%d:%02d:%02d"` then `load avg: %.2f` when available; an
/// empty message leaves no trailing space.
static LOG_PREFIX: LazyLock<Regex> = LazyLock::new(|| re(r"^\d+:\d{2}:\d{2}(?: load avg: \d+(?:\.\d+)?)?(?: |$)"));
/// A progress line glued to the end of a test's output that lacked a newline
/// (`...0:00:01 load avg: 0.50 [2/3] test_b -- test_a failed`): the log prefix's time then
/// the progress counter, anywhere in the line.
static GLUED_PROGRESS: LazyLock<Regex> =
    LazyLock::new(|| re(r"\d+:\d{2}:\d{2}(?: load avg: \d+(?:\.\d+)?)? \[\s*\d+(?:/\d+){0,2}\] \S"));
/// `display_progress`: `[{index:{width}}{/total}{/fails}] text`.
static PROGRESS: LazyLock<Regex> = LazyLock::new(|| re(r"^\[\s*(\d+)(?:/(\d+))?(?:/(\d+))?\] (\S.*)$"));
/// 3.11 `runtest_mp`: `running: a (30.0 sec), ...`; 3.12+ `get_running`: `running (N): ...`.
static HEARTBEAT: LazyLock<Regex> = LazyLock::new(|| re(r"^running(?: \(\d+\))?: (.+)$"));
static RUNNING_ENTRY: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"^(\S+) \({DURATION}\)$")));
/// 3.11.2 `Run tests sequentially`/`in parallel using N child processes`; 3.11.7/3.12
/// `Run N tests sequentially`; 3.13+ `... sequentially in a single process`,
/// `... in parallel using N worker process(es)`.
static RUN_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^Run (?:(\d+) tests?|tests) (?:(sequentially)|in parallel using \d+ (?:child|worker) process)")
});
/// 3.11.2 `Re-running failed tests in verbose mode`; 3.12+ `Re-running N failed tests in
/// verbose mode[ in subprocesses]`.
static RERUN_BATCH: LazyLock<Regex> = LazyLock::new(|| re(r"^Re-running (?:\d+ )?failed tests in verbose mode"));
/// 3.11.2 `main.py` (logged, before the re-run) and 3.12+ `worker.py` (printed by the worker,
/// so it comes after the test's progress line).
static RERUN_ONE: LazyLock<Regex> = LazyLock::new(|| re(r"^Re-running (\S+) in verbose mode(?: \(matching: .*\))?$"));
/// `refleak.py`: 3.11/3.12 `beginning 6 repetitions`; 3.13+ adds `. Showing number of leaks ...`.
static BEGINNING: LazyLock<Regex> = LazyLock::new(|| re(r"^beginning (\d+) repetitions(?:\.|$)"));
/// `refleak.py`: `'%s leaked %s %s, sum=%s' % (test_name, deltas, item_name, sum(deltas))`,
/// then 3.13+ `' (this is fine)'` for suspicious but non-failing deltas. Not anchored at the
/// start: the line may follow test output that lacked a newline.
static LEAK: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(\S+) leaked \[([-\d, ]*)\] (references|memory blocks|file descriptors), sum=(-?\d+)( \(this is fine\))?$")
});
/// unittest `TextTestResult.printErrorList`: a line of 70 `=`, then `FAIL: <desc>`.
static UNITTEST_FAILURE: LazyLock<Regex> = LazyLock::new(|| re(r"^(FAIL|ERROR): (.+)$"));
/// doctest's `DocTestCase.__repr__`: `NAME (DOTTED.PATH)`, the last part of the doctest's
/// dotted name and the part before it (see [`doctest_description`]).
static DOCTEST_DESCRIPTION: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([^\s()]+) \(((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)?\)$"));
/// `TextTestResult` with verbosity 2: `startTest` writes `DESCRIPTION ... `, the `add*` methods
/// the status word and a newline; 3.12+ adds ` (0.001s)` with `--durations`. The description
/// gets the docstring's first line on a line of its own when the test has one.
static METHOD_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:^|\.\.\. )(ok|FAIL|ERROR|skipped (.*)|expected failure|unexpected success)(?: \(\d+\.\d+s\))?$")
});
/// [`METHOD_STATUS`] after test output that lacked a newline (`... ...ok`, `... hellook`):
/// only believed for a method whose status is due.
static GLUED_METHOD_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(ok|FAIL|ERROR|skipped ('.*'|".*")|expected failure|unexpected success)(?: \(\d+\.\d+s\))?$"#)
});
/// `single.py`/`runtest.py`: `test {name} failed[ -- {exc}]`, `test {name} crashed -- {tb}`.
static HINT: LazyLock<Regex> = LazyLock::new(|| re(r"^test (\S+) (failed|crashed)(?: -- |$)"));
/// `DocTestCase.format_failure`'s first line, raised as unittest's failure.
const DOCTEST_FAILURE: &str = "AssertionError: Failed doctest test for ";
/// `test_x skipped -- REASON`, printed by the process that ran the test.
static SKIP_REASON: LazyLock<Regex> = LazyLock::new(|| re(r"^(\S+) skipped -- (.+)$"));
/// A frame line of a Python traceback: `  File "...", line N, in NAME`.
/// unittest's `TestLoader.testMethodPrefix`: the methods it runs as tests are named so.
const TEST_METHOD_PREFIX: &str = "test";
static TRACEBACK_FRAME: LazyLock<Regex> = LazyLock::new(|| re(r#"^  File ".*", line \d+, in (\w+)$"#));
/// faulthandler's `dump_traceback_later(timeout, exit=True)` header.
static FAULTHANDLER_TIMEOUT: LazyLock<Regex> = LazyLock::new(|| re(r"^Timeout \(\d+:\d{2}:\d{2}(?:\.\d+)?\)!$"));
static SUMMARY_HEADER: LazyLock<Regex> = LazyLock::new(|| re(r"^== Tests result: (.*) ==$"));
/// `display_result`: `count(n, "test")` + title, then `printlist` (indent 4, width 70).
static LIST_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(\d+) (?:tests? (omitted|skipped|skipped \(resource denied\)|run no tests|altered the execution environment(?: \(env changed\))?|failed|failed again)|(re-run) tests?):$",
    )
});
static OK_COUNT: LazyLock<Regex> = LazyLock::new(|| re(r"^(All )?(\d+) tests? OK\.$"));
static TOTAL_DURATION: LazyLock<Regex> = LazyLock::new(|| re(r"^Total duration: (.+)$"));
/// 3.12+ `display_summary`: `Total test files: run=X[/N][ (filtered)] failed=...`.
static TOTAL_FILES: LazyLock<Regex> = LazyLock::new(|| re(r"^Total test files: run=([\d,]+)(?:/([\d,]+))?"));
/// The counts [`TOTAL_FILES`] goes on with: ` skipped=N`, ` resource_denied=N`, ...
static TOTAL_FILES_COUNT: LazyLock<Regex> = LazyLock::new(|| re(r" (skipped|resource_denied)=([\d,]+)"));
/// 3.11 `finalize`: `Tests result: X`; 3.12+ `display_summary`: `Result: X`.
static FINAL_RESULT: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:Tests result|Result): (.+)$"));
static INTERRUPTED: LazyLock<Regex> = LazyLock::new(|| re(r"^Test suite interrupted by signal SIGINT\.$"));
/// `TestResult.__str__` in 3.11.2 `runtest.py` and 3.12+ `result.py` (`process crashed` is the
/// short-lived `MULTIPROCESSING_ERROR` wording of 3.12 development).
static RESULT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(\S+) (passed|failed|skipped|interrupted|crashed|process crashed|ran no tests|timed out|worker non-zero exit code|worker bug)( .*)?$",
    )
});
static FAILED_QUALIFIER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^ \((uncaught exception|env changed|reference leak|\d+ errors?(?:, \d+ failures?)?|\d+ failures?)\)")
});
static TIMED_OUT_QUALIFIER: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"^ \({DURATION}\)")));
/// What may follow a standalone result line: parenthesised extras (one nesting level, as in
/// `(Exit code -9 (SIGKILL))`) and the sequential ` in <duration>`.
static STRICT_TAIL: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"^(?: \((?:[^()]|\([^()]*\))*\))*(?: in {DURATION})?$")));
static TRAILING_IN_DURATION: LazyLock<Regex> = LazyLock::new(|| re(&format!(r" in {DURATION}$")));
static TRAILING_PAREN_DURATION: LazyLock<Regex> = LazyLock::new(|| re(&format!(r" \({DURATION}\)$")));

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct TestState {
    result: TestResult,
    /// From a result string, for the current attempt.
    explicit: Option<Outcome>,
    /// `explicit` is from a line of its own (sequential mode's line for the last test), which
    /// the test's own output can imitate, not from a progress line.
    explicit_standalone: bool,
    /// From the test's own output, for the current attempt.
    hint: Option<Outcome>,
    /// Announced sequential-style (`[n/N] test_x` before it runs) in the current attempt.
    announced: bool,
    /// Known to be over in the current attempt.
    finished: bool,
    /// The current attempt began after `Re-running ... failed tests`.
    rerun_attempt: bool,
    /// `== Tests result` blocks printed before the current attempt began: only a later block
    /// speaks about this attempt.
    blocks_at_start: u32,
    /// Index into `result.methods` by (class, method).
    method_index: HashMap<(String, String), usize>,
    /// Bytes of the tracebacks kept for this test's methods.
    traceback_bytes: usize,
    /// The marks of the current `-R` run's repetitions being counted (see [`Marks`]).
    marks: Option<Marks>,
    /// The leak lines the current attempt started with (an earlier attempt's, kept until it
    /// prints its own): what the end of its repetitions' marks puts back, as every leak line
    /// before it was the test's own output.
    leaks_at_start: [Option<LeakLine>; 3],
}

/// The marks `refleak.py` prints on stderr, one per repetition (3.11/3.12 `.`; 3.13+ `.`, a
/// digit or `X`, and a space after the warm-up ones), without a newline until the last, after
/// its `beginning N repetitions` and a header of N digits (3.13+ with a `:`). regrtest prints a
/// test's leak lines after that newline, when the test has stopped running: a leak line read
/// before it is the test's own output imitating one. The marks are counted at the start of
/// lines (the test's output ends their line when it has a newline, and each repetition's
/// output follows a mark; in `-j` mode the worker's stdout and stderr are one file); the line
/// that is marks alone and brings them to N ends them. When the count goes wrong (output
/// without a newline before a mark), no line ends them, and leak lines are believed as they
/// come, regrtest's last.
#[derive(Debug)]
struct Marks {
    repetitions: usize,
    seen: usize,
    /// The header line is due next.
    header_due: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    Omitted,
    Skipped,
    ResourceDenied,
    RunNoTests,
    EnvChanged,
    Rerun,
    Failed,
    FailedAgain,
}

/// Incremental parser; see the module documentation.
#[derive(Debug, Default)]
pub struct Parser {
    tests: Vec<TestState>,
    by_name: HashMap<String, usize>,
    /// Sequential mode: the test most recently announced (or re-run in-process).
    current: Option<usize>,
    /// Where output that names no test belongs: the announced test in sequential mode, the
    /// test whose result was just logged in `-j` mode (its worker output follows).
    subject: Option<usize>,
    /// `-j` mode: tests the last heartbeat or progress line listed as running.
    running: Vec<String>,
    /// The last progress line was a `-j` result (or a parallel header was seen).
    parallel: bool,
    saw_huntrleaks: bool,
    rerun_phase: bool,
    /// Total from the first run's progress lines or header; re-runs restart the count.
    first_run_total: Option<usize>,
    summary: Summary,
    /// Any end-of-run line was seen (`== Tests result`, `Total duration`, ...).
    summary_seen: bool,
    /// `== Tests result` blocks seen; a re-run prints a second one.
    summary_blocks: u32,
    /// The last `== Tests result` block was printed whole: the run's last lines (`Total
    /// duration: ...`, `Tests result: X`/`Result: X`) came after it, so its lists are all there.
    summary_complete: bool,
    /// Inside the end-of-run output (no test activity since), where list headers are believed.
    in_summary: bool,
    /// The list whose indented names are being collected.
    list: Option<ListKind>,
    prev_was_separator: bool,
    /// A verbose method line whose status has not come yet. The status follows the test's own
    /// output, or the docstring line.
    pending_method: Option<PendingMethod>,
    /// A doctest's description (`bad (test_doct)`) just read: a doctest's if the next line is
    /// its `Doctest: test_doct.bad` (see [`MethodResult::doctest`]).
    pending_doctest: Option<PendingMethod>,
    /// See [`ParsedRun::progress_seen`].
    progress_seen: bool,
    /// The traceback under a `FAIL:`/`ERROR:` header being read.
    traceback: Option<Traceback>,
    /// The traceback after `test X failed -- ` / `crashed -- ` being read.
    failure_traceback: Option<FailureTraceback>,
    /// faulthandler's dump being read.
    fault_dump: Option<FaultDump>,
}

/// A method of a test named by a line whose continuation is due.
#[derive(Debug)]
struct PendingMethod {
    test: usize,
    class: String,
    method: String,
    doctest: bool,
}

/// A faulthandler dump being read (see [`TestResult::faulthandler`]).
#[derive(Debug)]
struct FaultDump {
    test: usize,
    text: CappedText,
}

/// A traceback regrtest printed with a test's result line.
#[derive(Debug)]
struct FailureTraceback {
    test: usize,
    text: CappedText,
    /// The method, to be read off the first traceback's frames (`failed`, not `crashed`).
    wants_method: bool,
    method: Option<String>,
    /// The last line was blank: the traceback ends, unless a chained one follows.
    after_blank: bool,
    /// A doctest's failure (`AssertionError: Failed doctest test for NAME`): doctest's report
    /// of the examples that failed follows, after a blank line and a `-` line.
    doctest: bool,
}

/// A traceback of unittest's error list being collected for a method.
#[derive(Debug)]
struct Traceback {
    test: usize,
    class: String,
    method: String,
    text: CappedText,
    /// The `-` line under the header was seen (the traceback starts after it).
    started: bool,
    /// A line between the header and the `-` line was seen: the docstring's first line.
    docstring_seen: bool,
    /// The header names a doctest (`FAIL: bad (test_doct)`), if the docstring line says so
    /// (`Doctest: test_doct.bad`): with the header's outcome, until it did.
    doctest: Option<MethodOutcome>,
    /// A `-` line read inside the traceback: the end of the error list's entry, unless a
    /// doctest's report of an example follows (doctest's divider, then `File "...", line N`).
    rule: Option<String>,
}

/// Text kept line by line, at most [`MAX_TRACEBACK_BYTES`] of it (a traceback, a dump). A
/// line that does not fit whole is kept cut, ending in `[... N bytes cut]`, and nothing after
/// it; so is a line that came cut already (longer than [`MAX_LINE_LEN`]), though what follows
/// it is kept while there is room.
#[derive(Debug, Default)]
struct CappedText {
    text: String,
    full: bool,
}

impl CappedText {
    /// Room kept for the marker of a cut line: `[... N bytes cut]` with any `usize` N.
    const MARKER_ROOM: usize = "[... 18446744073709551615 bytes cut]\n".len();

    fn starting_with(first: &str) -> Self {
        let mut text = CappedText::default();
        text.push_line(first, 0);
        text
    }

    /// Appends `line` and a newline; `cut`: bytes of the line already cut off.
    fn push_line(&mut self, line: &str, cut: usize) {
        if self.full {
            return;
        }
        let room = MAX_TRACEBACK_BYTES.saturating_sub(self.text.len() + Self::MARKER_ROOM);
        let kept = if line.len() < room {
            line
        } else {
            self.full = true;
            truncate_at_char_boundary(line, room)
        };
        self.text.push_str(kept);
        let cut = cut.saturating_add(line.len() - kept.len());
        if cut > 0 {
            let _ = write!(self.text, "[... {cut} bytes cut]");
        }
        self.text.push('\n');
    }

    /// The text, without trailing blank lines.
    fn finish(mut self) -> String {
        let end = self.text.trim_end().len();
        self.text.truncate(end);
        self.text
    }
}

/// A result string taken apart.
struct ParsedResult<'a> {
    name: &'a str,
    outcome: Outcome,
    text: String,
}

impl Parser {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one line, without or with its trailing newline.
    pub fn feed_line(&mut self, line: &[u8]) {
        let (decoded, cut) = decode_line(line);
        let text = decoded.trim_end();
        let doctest = self.pending_doctest.take();
        if cut > 0 {
            // No line of regrtest's own is that long: it is the test's output, which a
            // traceback or dump being read keeps, cut (an assertion's long message).
            self.list = None;
            self.prev_was_separator = false;
            let cut = cut + (decoded.len() - text.len());
            self.collect_traceback(text, cut);
            self.collect_fault_dump(text, cut);
            self.collect_failure_traceback(text, cut);
            // Or a verbose method line with the test's long output after its ` ... `: the
            // method's status comes later.
            let marked = self.after_repetition_marks(text);
            let described = marked.split_once(" ... ").and_then(|(description, _)| method_description(description));
            if let Some((method, class, _)) = described.filter(|_| !self.in_summary) {
                let (class, method) = (class.to_owned(), method.to_owned());
                self.pending_method = self.subject.map(|test| PendingMethod { test, class, method, doctest: false });
            }
            return;
        }

        let was_separator = self.prev_was_separator;
        self.prev_was_separator = is_rule(text, b'=');
        self.count_marks(text);
        self.collect_traceback(text, 0);
        self.collect_fault_dump(text, 0);
        // The crash's message can follow the test's output on its line (`-R`'s dots, `... `).
        if let Some(at) = text.find(FATAL_ERROR) {
            self.start_fault_dump(&text[at..]);
        }
        if self.collect_failure_traceback(text, 0) {
            return;
        }

        if self.collect_list_names(text) {
            return;
        }
        if let Some(pending) = doctest {
            // `bad (test_doct)` then `Doctest: test_doct.bad ... ` and its status, now or later.
            let docstring = doctest_docstring(&pending.class, &pending.method);
            let confirmed =
                text.strip_prefix(docstring.as_str()).is_some_and(|r| r.is_empty() || r.starts_with(" ..."));
            if confirmed && Some(pending.test) == self.subject {
                self.pending_method = Some(pending);
            }
        }
        let text = unglue_progress(text);
        let rest = after_log_prefix(text);
        if rest.is_empty() {
            return;
        }
        self.dispatch(text, rest, was_separator);
    }

    /// Whether `line` starts a part of regrtest's output: on stdout the progress line
    /// announcing a test, a re-run's header or the end-of-run summary (`== Tests result:`); on
    /// stderr `beginning N repetitions`, the first line of a test's `-R` run. The supervisor
    /// orders by these what stdout and stderr wrote before either was read (see
    /// `crate::supervise::OutputSink::starts_section`).
    #[must_use]
    pub fn starts_part(line: &[u8]) -> bool {
        let (decoded, cut) = decode_line(line);
        if cut > 0 {
            return false;
        }
        let rest = after_log_prefix(decoded.trim_end());
        PROGRESS.is_match(rest)
            || BEGINNING.is_match(rest)
            || SUMMARY_HEADER.is_match(rest)
            || RERUN_BATCH.is_match(rest)
            || RERUN_ONE.is_match(rest)
    }

    /// Whether a `beginning N repetitions` read next would be another test's: the test whose
    /// output is being read printed its own already, or is over (a result, a failure or a
    /// crash before its repetitions), or there is no such test.
    #[must_use]
    pub fn next_beginning_is_another_tests(&self) -> bool {
        self.subject.and_then(|i| self.tests.get(i)).is_none_or(|state| {
            state.result.repetitions.is_some() || state.finished || state.explicit.is_some() || state.hint.is_some()
        })
    }

    /// The test currently running as far as the output tells: in sequential mode the one most
    /// recently announced; in `-j` mode None unless exactly one is known to be running (from
    /// `-- running (1): test_x ...` / `running: test_x`).
    #[must_use]
    pub fn current_test(&self) -> Option<&str> {
        if self.in_summary {
            return None;
        }
        if self.parallel {
            return match self.running.as_slice() {
                [only] => Some(only.as_str()),
                _ => None,
            };
        }
        let state = self.tests.get(self.current?)?;
        if state.finished || state.explicit.is_some() {
            return None;
        }
        Some(state.result.name.as_str())
    }

    /// The test that output arriving now belongs to: in sequential mode the test most recently
    /// announced (its output follows its progress line); in `-j` mode the test whose result
    /// was just logged (the main process prints a worker's captured output after its result
    /// line). `None` before the first test and in the end-of-run summary. Unlike
    /// [`Parser::current_test`], it never looks at `running:` lists.
    #[must_use]
    pub fn output_owner(&self) -> Option<&str> {
        if self.in_summary {
            return None;
        }
        Some(self.tests.get(self.subject?)?.result.name.as_str())
    }

    /// Whether any `beginning N repetitions` line was seen (i.e. `-R` was in effect).
    #[must_use]
    pub fn saw_huntrleaks(&self) -> bool {
        self.saw_huntrleaks
    }

    /// Tests seen running elsewhere (in `-j` workers, when the run was stopped): each is
    /// listed, with the result regrtest's output gives it, if any, else none (`Unknown`),
    /// though that output may never name it.
    pub fn saw_running(&mut self, names: &[String]) {
        for name in names {
            // Running again after a result (`--forever`): a new attempt, cut short. regrtest
            // prints a worker's result only once it has waited for the worker's exit, so a
            // worker still running its test has not had its result printed.
            if let Some(i) = self.test_index(name) {
                let state = &self.tests[i];
                if state.finished || state.explicit.is_some() {
                    self.new_attempt(i);
                }
            }
        }
    }

    /// Resolve outcomes and return everything, tests in order of first appearance.
    /// `run_completed`: the regrtest process exited normally (not killed by a signal / crashed).
    #[must_use]
    pub fn finish(mut self, run_completed: bool) -> ParsedRun {
        // The output may end inside a traceback.
        self.finish_traceback();
        self.finish_failure_traceback();
        self.finish_fault_dump();
        let Parser {
            tests,
            by_name,
            current,
            first_run_total,
            summary,
            summary_seen,
            summary_blocks,
            summary_complete,
            in_summary,
            progress_seen,
            ..
        } = self;
        let mut summary = summary;
        // The output ended in the summary, not in a re-run that followed an earlier one.
        let reached_end = run_completed && in_summary;
        let interrupted = summary.interrupted || summary.result.as_deref().is_some_and(|r| r.contains("INTERRUPTED"));

        let mut out: Vec<TestResult> = Vec::with_capacity(tests.len());
        for (index, state) in tests.into_iter().enumerate() {
            let TestState {
                mut result, explicit, explicit_standalone, hint, announced, finished, blocks_at_start, ..
            } = state;
            let inferred = if finished {
                Outcome::Passed
            } else if announced && current == Some(index) && reached_end {
                if interrupted {
                    Outcome::Interrupted
                } else {
                    Outcome::Passed
                }
            } else {
                Outcome::Unknown
            };
            let covered = summary_blocks > blocks_at_start;
            // regrtest lists every test that failed or altered the environment in the summary
            // it printed after the test: a failure it does not list was the test's own output
            // imitating regrtest's lines (a result line on its own, `test X failed -- ...`).
            let unlisted = covered && summary_complete && {
                let has = |list: &Vec<String>| list.contains(&result.name);
                !has(&summary.failed) && !has(&summary.failed_again) && !has(&summary.env_changed)
            };
            let failure = |outcome: &Outcome| {
                matches!(
                    outcome,
                    Outcome::Failed | Outcome::UncaughtException | Outcome::ReferenceLeak | Outcome::EnvChanged
                )
            };
            let explicit = explicit.filter(|o| !(unlisted && explicit_standalone && failure(o)));
            let hint = hint.filter(|o| !(unlisted && failure(o)));
            if explicit.is_none() && explicit_standalone {
                result.result_text = None;
            }
            let from_summary = if covered {
                summary_outcome(&summary, &result.name)
            } else if summary.failed_again.contains(&result.name) {
                // Printed after the re-run, just before the block the run did not get to.
                Some(Outcome::Failed)
            } else {
                None
            };
            // Quiet mode prints no result string. A test the summary lists as failed that
            // printed a failing leak line failed for the leak: regrtest prints those lines after
            // the last repetition, which a test failing otherwise never gets to.
            let from_summary = from_summary.map(|outcome| match outcome {
                Outcome::Failed if failing_leak(&result) => Outcome::ReferenceLeak,
                other => other,
            });
            result.outcome = Some(explicit.or(hint).or(from_summary).unwrap_or(inferred));
            if summary.rerun.contains(&result.name) {
                result.attempts = result.attempts.max(2);
            }
            out.push(result);
        }

        // In quiet mode (`-q`) the summary may be all there is about a test; and regrtest never
        // announced the tests it did not get to.
        if summary_seen {
            let named = [
                &summary.failed,
                &summary.failed_again,
                &summary.env_changed,
                &summary.resource_denied,
                &summary.skipped,
                &summary.run_no_tests,
                &summary.omitted,
            ];
            let mut added: HashSet<&str> = HashSet::new();
            let mut extra = Vec::new();
            for name in named.into_iter().flatten() {
                if out.len() + extra.len() >= MAX_TESTS || by_name.contains_key(name) || !added.insert(name.as_str()) {
                    continue;
                }
                // An omitted test that started is known already (its progress line): it was
                // interrupted, which regrtest counts as not run.
                let omitted = summary.omitted.contains(name).then_some(Outcome::NotRun);
                extra.push(TestResult {
                    name: name.clone(),
                    outcome: Some(summary_outcome(&summary, name).or(omitted).unwrap_or(Outcome::Unknown)),
                    attempts: if summary.rerun.contains(name) { 2 } else { 1 },
                    ..TestResult::default()
                });
            }
            out.extend(extra);
        }

        if summary_seen {
            summary.total_tests = summary.total_tests.or(first_run_total).or_else(|| {
                let listed = [
                    &summary.failed,
                    &summary.env_changed,
                    &summary.resource_denied,
                    &summary.skipped,
                    &summary.run_no_tests,
                    &summary.omitted,
                ];
                let mut names: Vec<&String> = listed.into_iter().flatten().collect();
                names.sort();
                names.dedup();
                match (summary.passed_count, names.len()) {
                    (None, 0) => None,
                    (ok, n) => Some(ok.unwrap_or(0) + n),
                }
            });
        }
        ParsedRun { tests: out, summary: summary_seen.then_some(summary), progress_seen }
    }

    // -----------------------------------------------------------------------------------------

    fn dispatch(&mut self, text: &str, rest: &str, was_separator: bool) {
        if let Some(c) = PROGRESS.captures(rest) {
            let total = c.get(2).and_then(|m| m.as_str().parse::<usize>().ok());
            let body = c.get(4).map_or("", |m| m.as_str());
            self.on_progress(total, body);
            return;
        }
        if let Some(c) = HEARTBEAT.captures(rest) {
            if let Some(names) = parse_running_list(c.get(1).map_or("", |m| m.as_str())) {
                // Only -j prints these, even when its header was not seen.
                self.parallel = true;
                self.set_running(names);
                return;
            }
        }
        if let Some(c) = RUN_HEADER.captures(rest) {
            if self.current.is_some() && !self.parallel && !self.rerun_phase {
                // The header of a regrtest that the running test started (its output shares
                // the pipe): this run stays sequential.
                return;
            }
            self.end_summary_block();
            self.parallel = c.get(2).is_none();
            if !self.rerun_phase && self.first_run_total.is_none() {
                self.first_run_total = c.get(1).and_then(|m| m.as_str().parse().ok());
            }
            return;
        }
        if RERUN_BATCH.is_match(rest) {
            self.end_summary_block();
            self.rerun_phase = true;
            // The first run's `== Tests result: X ==` is not the run's result: the re-run's
            // end says that, if the run gets there.
            self.summary.result = None;
            return;
        }
        if let Some(c) = RERUN_ONE.captures(rest) {
            self.on_rerun_one(c.get(1).map_or("", |m| m.as_str()));
            return;
        }
        if let Some(c) = BEGINNING.captures(text) {
            self.saw_huntrleaks = true;
            let reps = c.get(1).and_then(|m| m.as_str().parse::<u32>().ok());
            if let Some(state) = self.subject.and_then(|i| self.tests.get_mut(i)) {
                state.result.repetitions = reps;
                state.marks = reps.and_then(|n| usize::try_from(n).ok()).filter(|&n| n > 0).map(|repetitions| Marks {
                    repetitions,
                    seen: 0,
                    header_due: true,
                });
            }
            return;
        }
        if let Some(c) = LEAK.captures(text) {
            self.on_leak(&c);
            return;
        }
        if was_separator {
            if let Some(c) = UNITTEST_FAILURE.captures(text) {
                let outcome = if c.get(1).is_some_and(|m| m.as_str() == "FAIL") {
                    MethodOutcome::Failed
                } else {
                    MethodOutcome::Error
                };
                self.on_unittest_failure(c.get(2).map_or("", |m| m.as_str()), outcome);
                return;
            }
        }
        // What the test or regrtest prints during `-R`'s repetitions follows their marks on
        // their line.
        let marked = self.after_repetition_marks(text);
        if self.on_method_line(marked) {
            return;
        }
        if let Some(c) = HINT.captures(marked) {
            let outcome = match c.get(2).map(|m| m.as_str()) {
                Some("crashed") => Outcome::UncaughtException,
                _ => Outcome::Failed,
            };
            if let Some(&i) = c.get(1).and_then(|m| self.by_name.get(m.as_str())) {
                self.tests[i].hint = Some(outcome);
                const TRACEBACK: &str = "Traceback (most recent call last):";
                if marked.ends_with(TRACEBACK) {
                    self.finish_failure_traceback();
                    self.failure_traceback = Some(FailureTraceback {
                        test: i,
                        text: CappedText::starting_with(TRACEBACK),
                        wants_method: outcome == Outcome::Failed,
                        method: None,
                        after_blank: false,
                        doctest: false,
                    });
                }
            }
            return;
        }
        if let Some(c) = SKIP_REASON.captures(self.after_repetition_marks(rest)) {
            if let Some(&i) = c.get(1).and_then(|m| self.by_name.get(m.as_str())) {
                let reason = c.get(2).map_or("", |m| m.as_str());
                self.tests[i].result.skip_reason = Some(truncate_at_char_boundary(reason, 1024).to_owned());
            }
        }
        if FAULTHANDLER_TIMEOUT.is_match(marked) {
            self.on_faulthandler_timeout();
            self.start_fault_dump(marked);
            return;
        }
        if self.on_summary_line(rest) {
            return;
        }
        self.on_standalone_result(rest);
    }

    /// `text` without the marks `refleak.py` prints at its start, one per `-R` repetition of
    /// the test whose output is being read: 3.11 and 3.12 a `.`; 3.13+ a `.`, the digit `1` to
    /// `9` or an `X` (the repetition's leaks, 10 or more) and a space after the warm-up ones.
    /// They are printed without a newline until the last, so what the test or regrtest prints
    /// during the repetitions follows them on their line: the failure of a later repetition
    /// (`.....test test_x failed -- Traceback ...`, 3.13 `XX. ..test test_x failed ...`),
    /// verbose method lines, a skip, faulthandler's timeout. At most one mark more than the
    /// test's repetitions is taken (the space), and only after its `beginning N repetitions`.
    fn after_repetition_marks<'t>(&self, text: &'t str) -> &'t str {
        let Some(repetitions) = self.subject.and_then(|i| self.tests.get(i)).and_then(|s| s.result.repetitions) else {
            return text;
        };
        let limit = usize::try_from(repetitions).unwrap_or(usize::MAX).saturating_add(1);
        let marks = text.bytes().take(limit).take_while(|b| matches!(b, b'.' | b'1'..=b'9' | b'X' | b' ')).count();
        &text[marks..]
    }

    fn on_progress(&mut self, total: Option<usize>, body: &str) {
        if !self.rerun_phase && total.is_some() && self.first_run_total.is_some_and(|expected| Some(expected) != total)
        {
            // Another run's progress (a test quoting a child regrtest's output): not ours.
            return;
        }
        self.end_summary_block();
        self.progress_seen = true;
        if !self.rerun_phase && self.first_run_total.is_none() {
            self.first_run_total = total;
        }
        let (name, after) = match body.split_once(' ') {
            Some((name, after)) => (name, after),
            None => (body, ""),
        };
        if after.is_empty() {
            if !self.parallel {
                self.passed_quickly_before();
            }
            self.announce(name);
            return;
        }
        if let Some(previous) = after.strip_prefix("-- ") {
            if !previous.starts_with("running") {
                // Sequential: `[n/N] test_b -- test_a failed (reference leak)`; test_a is over.
                if let Some(parsed) = parse_result(previous, false) {
                    if let Some(i) = self.test_index(parsed.name) {
                        let state = &mut self.tests[i];
                        state.explicit = Some(parsed.outcome);
                        state.explicit_standalone = false;
                        state.result.result_text = Some(parsed.text);
                        state.finished = true;
                    }
                }
                self.announce(name);
                return;
            }
        }
        // -j: `[n/N] test_x passed (1 min 2 sec) -- running (2): test_y (45.1 sec), ...`
        let (result_part, running_part) = match body.find(" -- running") {
            Some(at) => (&body[..at], Some(&body[at + " -- ".len()..])),
            None => (body, None),
        };
        match parse_result(result_part, false) {
            Some(parsed) => {
                self.parallel = true;
                self.current = None;
                if let Some(i) = self.test_index(parsed.name) {
                    let state = &mut self.tests[i];
                    if state.explicit.is_some() || (self.rerun_phase && !state.rerun_attempt) {
                        self.new_attempt(i);
                    }
                    let state = &mut self.tests[i];
                    state.explicit = Some(parsed.outcome);
                    state.explicit_standalone = false;
                    state.result.result_text = Some(parsed.text);
                    state.finished = true;
                    self.subject = Some(i);
                }
                let mut running = running_part
                    .and_then(|r| HEARTBEAT.captures(r))
                    .and_then(|c| parse_running_list(c.get(1).map_or("", |m| m.as_str())))
                    .unwrap_or_default();
                // regrtest clears a worker's test before queueing its result, so the list
                // never names the test just reported; a garbled one must not restart it.
                running.retain(|n| n != parsed.name);
                self.set_running(running);
            }
            None if !self.parallel => self.announce(name),
            // A garbled -j line: remember the name, believe nothing else.
            None => {
                self.test_index(name);
            }
        }
    }

    /// Sequentially, regrtest announces a test with the result of the test before it (`[2/3]
    /// test_b -- test_a failed (1 failure)`), except when that one passed in less than 30 s: a
    /// bare `[2/3] test_b` says test_a passed quickly. So a result line or `test test_a failed`
    /// read during test_a was its own output imitating regrtest's, not regrtest's word; what is
    /// left (the summary's lists, else a pass) decides.
    fn passed_quickly_before(&mut self) {
        let Some(state) = self.current.and_then(|i| self.tests.get_mut(i)) else { return };
        if state.explicit_standalone {
            state.explicit = None;
            state.explicit_standalone = false;
            state.result.result_text = None;
        }
        state.hint = None;
    }

    fn announce(&mut self, name: &str) {
        let Some(i) = self.test_index(name) else {
            return;
        };
        if let Some(previous) = self.current.filter(|&p| p != i) {
            self.tests[previous].finished = true;
        }
        // Announced again (`--forever`, a name given twice) or re-run: the earlier attempt is
        // over. A test first seen in a `running` list has not been announced yet.
        let state = &self.tests[i];
        let seen_before = state.announced || state.finished || state.explicit.is_some();
        if seen_before || (self.rerun_phase && !state.rerun_attempt) {
            self.new_attempt(i);
        }
        self.tests[i].announced = true;
        self.current = Some(i);
        self.subject = Some(i);
        self.parallel = false;
        self.running.clear();
    }

    fn on_rerun_one(&mut self, name: &str) {
        self.end_summary_block();
        self.rerun_phase = true;
        let Some(i) = self.test_index(name) else {
            return;
        };
        if self.tests[i].rerun_attempt {
            // 3.12+: the worker prints this after the re-run's own progress line.
            self.subject = Some(i);
            return;
        }
        // 3.11: the main process logs it, then re-runs the test in-process.
        self.announce(name);
    }

    fn new_attempt(&mut self, i: usize) {
        let rerun = self.rerun_phase;
        let blocks = self.summary_blocks;
        let state = &mut self.tests[i];
        if rerun {
            // The re-run is regrtest's verdict: its leak lines are the test's.
            let result = &mut state.result;
            let lines = (result.references.take(), result.memory_blocks.take(), result.file_descriptors.take());
            if !state.rerun_attempt && result.first_run.is_none() {
                let (references, memory_blocks, file_descriptors) = lines;
                let mut first = FirstRun { references, memory_blocks, file_descriptors, outcome: Outcome::Failed };
                let leaked = [&first.references, &first.memory_blocks, &first.file_descriptors]
                    .into_iter()
                    .any(|line| line.as_ref().is_some_and(|l| l.failing));
                first.outcome = match state.explicit.or(state.hint) {
                    Some(outcome) => outcome,
                    None if leaked => Outcome::ReferenceLeak,
                    None => Outcome::Failed,
                };
                result.first_run = Some(first);
            }
        }
        state.result.attempts = state.result.attempts.saturating_add(1);
        state.result.result_text = None;
        state.result.traceback = None;
        state.result.traceback_method = None;
        state.result.faulthandler = None;
        state.result.skip_reason = None;
        state.explicit = None;
        state.explicit_standalone = false;
        state.hint = None;
        state.announced = false;
        state.finished = false;
        state.rerun_attempt = rerun;
        state.blocks_at_start = blocks;
        state.marks = None;
        let result = &state.result;
        state.leaks_at_start =
            [result.references.clone(), result.memory_blocks.clone(), result.file_descriptors.clone()];
    }

    /// Counts the `-R` marks at the start of `text`, a line of the test whose output is being
    /// read (see [`Marks`]); the line that ends them puts the test's leak lines back as the
    /// attempt began.
    fn count_marks(&mut self, text: &str) {
        let Some(state) = self.subject.and_then(|i| self.tests.get_mut(i)) else { return };
        let Some(marks) = state.marks.as_mut() else { return };
        if std::mem::take(&mut marks.header_due) {
            let digits: String = text.chars().filter(|&c| c != ':').collect();
            let expected: String = "1234567890".chars().cycle().take(marks.repetitions).collect();
            if digits == expected && text.chars().filter(|&c| c == ':').count() <= 1 {
                return;
            }
        }
        let left = marks.repetitions - marks.seen;
        let mut counted = 0;
        let mut end = 0;
        for (i, ch) in text.char_indices() {
            match ch {
                ' ' => {}
                '.' | '1'..='9' | 'X' if counted < left => counted += 1,
                _ => break,
            }
            end = i + ch.len_utf8();
        }
        marks.seen += counted;
        if marks.seen == marks.repetitions && counted > 0 && end == text.len() {
            state.marks = None;
            let [references, memory_blocks, file_descriptors] = state.leaks_at_start.clone();
            let result = &mut state.result;
            (result.references, result.memory_blocks, result.file_descriptors) =
                (references, memory_blocks, file_descriptors);
        }
    }

    fn set_running(&mut self, names: Vec<String>) {
        for name in &names {
            // Running again (`--rerun`, `--forever`) after a result: a new attempt.
            if let Some(i) = self.test_index(name) {
                let state = &self.tests[i];
                if state.finished || state.explicit.is_some() {
                    self.new_attempt(i);
                }
            }
        }
        self.running = names;
    }

    fn on_leak(&mut self, c: &regex::Captures<'_>) {
        let raw_name = c.get(1).map_or("", |m| m.as_str());
        let mut deltas = Vec::new();
        for part in c.get(2).map_or("", |m| m.as_str()).split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            match part.parse::<i64>() {
                Ok(d) => deltas.push(d),
                Err(_) => return,
            }
        }
        let Some(Ok(sum)) = c.get(4).map(|m| m.as_str().parse::<i64>()) else {
            return;
        };
        let Some(i) = self.leak_owner(raw_name) else {
            return;
        };
        let line = LeakLine { deltas, sum, failing: c.get(5).is_none() };
        let result = &mut self.tests[i].result;
        match c.get(3).map(|m| m.as_str()) {
            Some("references") => result.references = Some(line),
            Some("memory blocks") => result.memory_blocks = Some(line),
            _ => result.file_descriptors = Some(line),
        }
    }

    /// The test a leak line names. regrtest prints a test's leak lines while its output is
    /// being read (sequentially, after its repetitions; with `-j`, after its result line), so
    /// a line naming another test is that test's output (quoting a child regrtest, or
    /// imitating): no one's. Output without a trailing newline can glue itself to the front of
    /// the name, so the test's name ending the token is enough.
    fn leak_owner(&mut self, raw: &str) -> Option<usize> {
        for candidate in [self.subject, self.current].into_iter().flatten() {
            let name = &self.tests[candidate].result.name;
            if raw.ends_with(name.as_str()) {
                return Some(candidate);
            }
        }
        if self.subject.is_some() || self.current.is_some() {
            return None;
        }
        if let Some(&i) = self.by_name.get(raw) {
            return Some(i);
        }
        // Nothing announced (`--quiet` prints no progress): the leak line names the test.
        let trimmed = raw.trim_start_matches(|ch: char| !(ch.is_alphanumeric() || ch == '_'));
        if trimmed.is_empty() {
            return None;
        }
        self.test_index(trimmed)
    }

    fn on_unittest_failure(&mut self, desc: &str, outcome: MethodOutcome) {
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
    fn collect_traceback(&mut self, text: &str, cut: usize) {
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

    /// The lines after `test X failed -- Traceback (most recent call last):`, until the blank
    /// line regrtest prints after them (a chained exception's blank lines and `During handling
    /// ...` go on), or a progress line. Returns whether the line was the traceback's.
    fn collect_failure_traceback(&mut self, text: &str, cut: usize) -> bool {
        let Some(tb) = self.failure_traceback.as_mut() else { return false };
        let chained = text.starts_with("During handling of the above exception")
            || text.starts_with("The above exception was the direct cause")
            || text.starts_with("Traceback (most recent call last):");
        let progress = LOG_PREFIX.find(text).is_some_and(|m| PROGRESS.is_match(&text[m.end()..]));
        // doctest's report: its divider, `File "...", line N, in NAME`, the example and what
        // was expected and got, indented (blank lines of the output are not).
        let doctest_report = tb.doctest && (is_rule(text, b'-') || text.starts_with("    "));
        if progress || (tb.after_blank && !chained && !doctest_report && !text.is_empty()) {
            self.finish_failure_traceback();
            return false;
        }
        tb.after_blank = text.is_empty();
        if chained {
            // A chained traceback's frames are another exception's.
            tb.wants_method = false;
        }
        if let Some(name) = text.strip_prefix(DOCTEST_FAILURE) {
            // `DocTestCase.runTest`'s own frame is the only one: the doctest is the method.
            tb.doctest = true;
            if tb.wants_method && tb.method.is_none() {
                tb.method = name.rsplit('.').next().filter(|m| !m.is_empty()).map(str::to_owned);
            }
        }
        if tb.wants_method && tb.method.is_none() {
            let function = TRACEBACK_FRAME.captures(text).and_then(|c| c.get(1)).map(|m| m.as_str());
            if let Some(function) = function.filter(|f| f.starts_with(TEST_METHOD_PREFIX)) {
                tb.method = Some(function.to_owned());
            }
        }
        tb.text.push_line(text, cut);
        true
    }

    /// faulthandler's `Timeout (H:MM:SS)!`: regrtest's `--timeout` watchdog
    /// (`faulthandler.dump_traceback_later(exit=True)`) dumped the stacks and ended the process
    /// with `_exit(1)`. Sequentially that is the test running; with `-j`, this is the output of
    /// the worker whose result was just logged, which regrtest reports as a crash with exit
    /// code 1 (`crashed (Exit code 1)`, 3.12+ `worker non-zero exit code (Exit code 1)`).
    fn on_faulthandler_timeout(&mut self) {
        if self.parallel {
            let Some(state) = self.subject.and_then(|i| self.tests.get_mut(i)) else { return };
            let exit_1 = state.result.result_text.as_deref().is_some_and(|t| t.ends_with(" (Exit code 1)"));
            if state.explicit == Some(Outcome::Crashed) && exit_1 {
                state.explicit = Some(Outcome::TimedOut);
            }
        } else if let Some(state) = self.current.and_then(|i| self.tests.get_mut(i)) {
            if state.explicit.is_none() && !state.finished {
                state.hint = Some(Outcome::TimedOut);
            }
        }
    }

    /// A faulthandler dump begins with `first` (see [`TestResult::faulthandler`]): it belongs
    /// to the test whose output is being read, unless that test has its dump already.
    fn start_fault_dump(&mut self, first: &str) {
        self.finish_fault_dump();
        let Some(test) = self.subject.filter(|&i| self.tests.get(i).is_some_and(|s| s.result.faulthandler.is_none()))
        else {
            return;
        };
        self.fault_dump = Some(FaultDump { test, text: CappedText::starting_with(first) });
    }

    /// The lines of a faulthandler dump after its first: until a line of another shape.
    fn collect_fault_dump(&mut self, text: &str, cut: usize) {
        let Some(dump) = self.fault_dump.as_mut() else { return };
        if !continues_fault_dump(text) {
            self.finish_fault_dump();
            return;
        }
        dump.text.push_line(text, cut);
        if text.starts_with("Extension modules: ") {
            self.finish_fault_dump();
        }
    }

    fn finish_fault_dump(&mut self) {
        let Some(dump) = self.fault_dump.take() else { return };
        let Some(state) = self.tests.get_mut(dump.test) else { return };
        state.result.faulthandler = Some(dump.text.finish());
    }

    fn finish_failure_traceback(&mut self) {
        let Some(tb) = self.failure_traceback.take() else { return };
        let Some(state) = self.tests.get_mut(tb.test) else { return };
        state.result.traceback = Some(tb.text.finish());
        state.result.traceback_method = tb.method;
    }

    fn finish_traceback(&mut self) {
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
    fn on_method_line(&mut self, text: &str) -> bool {
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

    /// Returns whether the line was a summary line.
    fn on_summary_line(&mut self, rest: &str) -> bool {
        if let Some(c) = SUMMARY_HEADER.captures(rest) {
            // A new block replaces the previous one; `failed again` is printed just before it.
            let failed_again = std::mem::take(&mut self.summary.failed_again);
            let total_duration = self.summary.total_duration.take();
            self.summary = Summary {
                result: c.get(1).map(|m| m.as_str().to_owned()),
                failed_again,
                total_duration,
                ..Summary::default()
            };
            self.summary_seen = true;
            self.summary_blocks = self.summary_blocks.saturating_add(1);
            self.summary_complete = false;
            self.in_summary = true;
            self.list = None;
            return true;
        }
        if let Some(c) = LIST_HEADER.captures(rest) {
            let kind = match (c.get(2).map(|m| m.as_str()), c.get(3)) {
                (_, Some(_)) => ListKind::Rerun,
                (Some("omitted"), _) => ListKind::Omitted,
                (Some("skipped"), _) => ListKind::Skipped,
                (Some("skipped (resource denied)"), _) => ListKind::ResourceDenied,
                (Some("run no tests"), _) => ListKind::RunNoTests,
                (Some("failed"), _) => ListKind::Failed,
                (Some("failed again"), _) => ListKind::FailedAgain,
                _ => ListKind::EnvChanged,
            };
            let believable = self.in_summary || (kind == ListKind::FailedAgain && self.rerun_phase);
            if believable {
                self.list_mut(kind).clear();
                self.list = Some(kind);
                return true;
            }
            return false;
        }
        if self.in_summary {
            if let Some(c) = OK_COUNT.captures(rest) {
                self.summary.passed_count = c.get(2).and_then(|m| m.as_str().parse().ok());
                return true;
            }
            if INTERRUPTED.is_match(rest) {
                self.summary.interrupted = true;
                return true;
            }
        }
        if let Some(c) = TOTAL_DURATION.captures(rest) {
            // Also the first end-of-run line under --pgo, which skips the result block.
            self.summary.total_duration = c.get(1).map(|m| m.as_str().to_owned());
            self.summary_seen = true;
            self.summary_complete = self.summary_blocks > 0;
            self.in_summary = true;
            return true;
        }
        if self.summary_seen {
            if let Some(c) = TOTAL_FILES.captures(rest) {
                let selected = c.get(2).and_then(|m| parse_count(m.as_str()));
                if selected.is_some() {
                    self.summary.total_tests = selected;
                }
                // A count of 0 is left out.
                self.summary.skipped_count = Some(0);
                self.summary.resource_denied_count = Some(0);
                for count in TOTAL_FILES_COUNT.captures_iter(rest) {
                    let n = count.get(2).and_then(|m| parse_count(m.as_str()));
                    match count.get(1).map(|m| m.as_str()) {
                        Some("skipped") => self.summary.skipped_count = n,
                        _ => self.summary.resource_denied_count = n,
                    }
                }
                return true;
            }
            if let Some(c) = FINAL_RESULT.captures(rest) {
                self.summary.result = c.get(1).map(|m| m.as_str().to_owned());
                return true;
            }
        }
        false
    }

    /// Sequential mode prints the last test's result on a line of its own after the loop (and
    /// nothing when it passed quickly).
    fn on_standalone_result(&mut self, rest: &str) {
        if self.parallel {
            return;
        }
        let Some(current) = self.current else { return };
        let Some(parsed) = parse_result(rest, true) else {
            return;
        };
        let state = &mut self.tests[current];
        // regrtest prints its line after all of the test's output: a line the test printed
        // that looks alike came before it, and the last one is regrtest's.
        if state.result.name != parsed.name || (state.explicit.is_some() && !state.explicit_standalone) {
            return;
        }
        state.explicit = Some(parsed.outcome);
        state.explicit_standalone = true;
        state.result.result_text = Some(parsed.text);
        state.finished = true;
    }

    /// Consumes indented name lines while a summary list is open. Returns whether it did.
    fn collect_list_names(&mut self, text: &str) -> bool {
        let Some(kind) = self.list else { return false };
        match text.strip_prefix("    ") {
            Some(names) if !names.trim().is_empty() => {
                let list = self.list_mut(kind);
                for name in names.split_whitespace() {
                    if list.len() < MAX_LIST_NAMES {
                        list.push(name.to_owned());
                    }
                }
                true
            }
            _ => {
                self.list = None;
                false
            }
        }
    }

    fn list_mut(&mut self, kind: ListKind) -> &mut Vec<String> {
        let s = &mut self.summary;
        match kind {
            ListKind::Omitted => &mut s.omitted,
            ListKind::Skipped => &mut s.skipped,
            ListKind::ResourceDenied => &mut s.resource_denied,
            ListKind::RunNoTests => &mut s.run_no_tests,
            ListKind::EnvChanged => &mut s.env_changed,
            ListKind::Rerun => &mut s.rerun,
            ListKind::Failed => &mut s.failed,
            ListKind::FailedAgain => &mut s.failed_again,
        }
    }

    /// Progress and re-run lines end a summary block: what follows is not a list.
    fn end_summary_block(&mut self) {
        self.in_summary = false;
        self.list = None;
    }

    fn test_index(&mut self, name: &str) -> Option<usize> {
        if name.is_empty() {
            return None;
        }
        if let Some(&i) = self.by_name.get(name) {
            return Some(i);
        }
        if self.tests.len() >= MAX_TESTS {
            return None;
        }
        let i = self.tests.len();
        self.tests.push(TestState {
            result: TestResult { name: name.to_owned(), attempts: 1, ..TestResult::default() },
            rerun_attempt: self.rerun_phase,
            blocks_at_start: self.summary_blocks,
            ..TestState::default()
        });
        self.by_name.insert(name.to_owned(), i);
        Some(i)
    }
}

/// A line of one character, as unittest draws its separators (70 `=` or `-`).
/// How faulthandler's `faulthandler_fatal_error` and `Py_FatalError` begin.
const FATAL_ERROR: &str = "Fatal Python error: ";

/// Whether `text` can be a line of a faulthandler dump after its first: blank lines, thread
/// headers (`Current thread 0x... (most recent call first):`, `Thread 0x...`, `Stack (most
/// recent call first):`, 3.14's `Current thread's C stack trace ...`), indented frames
/// (`  File "...", line N in f`, `  <no Python frame>`, C frames), `Python runtime state: ...`,
/// and the `Extension modules: ...` line that ends it.
fn continues_fault_dump(text: &str) -> bool {
    const HEADS: [&str; 6] = [
        "Current thread",
        "Thread 0x",
        "Stack (most recent call first):",
        "Python runtime state: ",
        "Extension modules: ",
        "<Cannot show all threads",
    ];
    text.is_empty() || text.starts_with("  ") || HEADS.iter().any(|head| text.starts_with(head))
}

fn is_rule(text: &str, c: u8) -> bool {
    text.len() >= 20 && text.bytes().all(|b| b == c)
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
fn doctest_docstring(class: &str, method: &str) -> String {
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

/// The outcome the summary lists give `name`, most severe list first.
/// Whether regrtest printed a leak line for the test that it counts as a failure.
fn failing_leak(result: &TestResult) -> bool {
    [&result.references, &result.memory_blocks, &result.file_descriptors]
        .into_iter()
        .any(|line| line.as_ref().is_some_and(|l| l.failing))
}

fn summary_outcome(summary: &Summary, name: &str) -> Option<Outcome> {
    let has = |list: &Vec<String>| list.iter().any(|n| n == name);
    if has(&summary.failed) || has(&summary.failed_again) {
        Some(Outcome::Failed)
    } else if has(&summary.env_changed) {
        Some(Outcome::EnvChanged)
    } else if has(&summary.resource_denied) {
        Some(Outcome::ResourceDenied)
    } else if has(&summary.skipped) {
        Some(Outcome::Skipped)
    } else if has(&summary.run_no_tests) {
        Some(Outcome::RanNoTests)
    } else {
        None
    }
}

/// Parses `TestResult.__str__` plus what the callers append. `strict` also demands that
/// nothing but parenthesised extras and ` in <duration>` follow, for lines that are not
/// progress lines and could be anybody's output.
fn parse_result(s: &str, strict: bool) -> Option<ParsedResult<'_>> {
    let c = RESULT.captures(s)?;
    let name = c.get(1)?.as_str();
    let verb = c.get(2)?.as_str();
    let tail = c.get(3).map_or("", |m| m.as_str());

    let (outcome, qualifier_len) = match verb {
        "passed" => (Outcome::Passed, 0),
        "failed" => match FAILED_QUALIFIER.captures(tail) {
            Some(q) => {
                let outcome = match q.get(1).map(|m| m.as_str()) {
                    Some("uncaught exception") => Outcome::UncaughtException,
                    Some("env changed") => Outcome::EnvChanged,
                    Some("reference leak") => Outcome::ReferenceLeak,
                    _ => Outcome::Failed,
                };
                (outcome, q.get(0).map_or(0, |m| m.end()))
            }
            None => (Outcome::Failed, 0),
        },
        "skipped" => match tail.strip_prefix(" (resource denied)") {
            Some(_) => (Outcome::ResourceDenied, " (resource denied)".len()),
            None => (Outcome::Skipped, 0),
        },
        "interrupted" => (Outcome::Interrupted, 0),
        // 3.11's ChildError; 3.12+'s State.WORKER_FAILED (the worker's exit code was not 0) and
        // 3.12 development's MULTIPROCESSING_ERROR.
        "crashed" | "worker non-zero exit code" | "process crashed" => (Outcome::Crashed, 0),
        "ran no tests" => (Outcome::RanNoTests, 0),
        "timed out" => (Outcome::TimedOut, TIMED_OUT_QUALIFIER.find(tail).map_or(0, |m| m.end())),
        // "worker bug": 3.12+'s State.WORKER_BUG.
        _ => (Outcome::WorkerFailed, 0),
    };
    let (qualifier, extra) = tail.split_at(qualifier_len);
    if strict && !STRICT_TAIL.is_match(extra) {
        return None;
    }
    let extra = match TRAILING_IN_DURATION.find(extra) {
        Some(m) => &extra[..m.start()],
        None => extra,
    };
    let extra = match TRAILING_PAREN_DURATION.find(extra) {
        Some(m) => &extra[..m.start()],
        None => extra,
    };
    let text = format!("{name} {verb}{qualifier}{extra}");
    Some(ParsedResult { name, outcome, text })
}

/// `a (30.0 sec), b (1 min 2 sec)` into names; None unless every entry has that shape, since a
/// line starting with `running: ` can also be a test's own output.
fn parse_running_list(list: &str) -> Option<Vec<String>> {
    list.split(", ")
        .map(|entry| RUNNING_ENTRY.captures(entry).and_then(|c| c.get(1)).map(|m| m.as_str().to_owned()))
        .collect()
}

fn parse_count(s: &str) -> Option<usize> {
    s.chars().filter(|&ch| ch != ',').collect::<String>().parse().ok()
}

fn trim_line_ending(mut line: &[u8]) -> &[u8] {
    while let [head @ .., b'\n' | b'\r'] = line {
        line = head;
    }
    line
}

fn truncate_at_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Removes ANSI escape sequences (3.14 colours its results, and a terminal-minded test may
/// print anything): CSI `ESC [ params final`, OSC `ESC ] ... BEL|ESC \`, and two- or
/// three-byte `ESC x` forms. A malformed sequence loses only its introducer.
fn strip_ansi(input: &[u8]) -> Cow<'_, [u8]> {
    const ESC: u8 = 0x1b;
    if !input.contains(&ESC) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != ESC {
            out.push(input[i]);
            i += 1;
            continue;
        }
        i += 1;
        match input.get(i) {
            Some(b'[') => {
                i += 1;
                while matches!(input.get(i), Some(0x20..=0x3f)) {
                    i += 1;
                }
                if matches!(input.get(i), Some(0x40..=0x7e)) {
                    i += 1;
                }
            }
            Some(b']') => {
                i += 1;
                while i < input.len() {
                    if input[i] == 0x07 {
                        i += 1;
                        break;
                    }
                    if input[i] == ESC && input.get(i + 1) == Some(&b'\\') {
                        i += 2;
                        break;
                    }
                    i += 1;
                }
            }
            Some(0x20..=0x2f) => {
                while matches!(input.get(i), Some(0x20..=0x2f)) {
                    i += 1;
                }
                if matches!(input.get(i), Some(0x30..=0x7e)) {
                    i += 1;
                }
            }
            Some(0x30..=0x7e) => i += 1,
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// A line as the parser reads it: without its line ending and ANSI escapes, decoded (invalid
/// UTF-8 replaced), and the number of bytes cut off its end: a line longer than
/// [`MAX_LINE_LEN`] is cut to it, at the start of a UTF-8 character.
fn decode_line(line: &[u8]) -> (Cow<'_, str>, usize) {
    let line = trim_line_ending(line);
    let mut end = line.len().min(MAX_LINE_LEN);
    // Back to the start of the character the limit falls in: a UTF-8 character has at most 3
    // continuation bytes (`10xxxxxx`).
    for _ in 0..3 {
        if line.get(end).is_some_and(|&b| b & 0xc0 == 0x80) && end > 0 {
            end -= 1;
        }
    }
    let (kept, cut) = (&line[..end], line.len() - end);
    let text = match strip_ansi(kept) {
        Cow::Borrowed(bytes) => String::from_utf8_lossy(bytes),
        Cow::Owned(bytes) => {
            Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
        }
    };
    (text, cut)
}

/// The progress line at the end of `text` when a test's output without a newline came before
/// it on the same line (see `GLUED_PROGRESS`), else `text`.
fn unglue_progress(text: &str) -> &str {
    if LOG_PREFIX.is_match(text) {
        return text;
    }
    match GLUED_PROGRESS.find_iter(text).last() {
        Some(m) if m.start() > 0 => &text[m.start()..],
        _ => text,
    }
}

/// `text` after regrtest's `H:MM:SS load avg: N` prefix, when it has one.
fn after_log_prefix(text: &str) -> &str {
    LOG_PREFIX.find(text).map_or(text, |m| &text[m.end()..])
}

/// Whether a command line (`argv`, as in `/proc/PID/cmdline`) runs regrtest: `-m test`,
/// `-m test.regrtest`, a `test.libregrtest` module (3.12+ workers), `regrtest.py`, or the worker
/// flags of 3.11 (`--worker-args`) and 3.12+ (`--worker-json`).
pub fn is_regrtest_command(argv: &[String]) -> bool {
    let module = match python_main(argv) {
        Some((Main::Module(module), _)) => Some(module),
        _ => None,
    };
    module.is_some_and(|m| m == "test" || m == "test.regrtest" || m.starts_with("test.libregrtest"))
        || argv.iter().any(|arg| {
            arg.ends_with("regrtest.py")
                || arg.ends_with("/test/__main__.py")
                || arg == "--worker-args"
                || arg == "--worker-json"
        })
}

/// What the interpreter runs.
enum Main<'a> {
    /// `-m MODULE`.
    Module(&'a str),
    /// A script's path.
    Script(&'a str),
}

/// What the interpreter of `argv` runs, and the index in `argv` of the first argument it gets:
/// the module of its `-m` option (`-m test`, `-mtest`, or at the end of a cluster of flags:
/// `-bEm test`, `-Emtest`), or the script, its first argument that is no option. Only the
/// interpreter's short options are understood: a long one (`--check-hash-based-pycs`) or `-c`
/// gives None.
fn python_main(argv: &[String]) -> Option<(Main<'_>, usize)> {
    let mut index = 1;
    while let Some(arg) = argv.get(index) {
        index += 1;
        if !arg.starts_with('-') {
            return Some((Main::Script(arg), index));
        }
        let flags = arg.strip_prefix('-').filter(|f| !f.is_empty() && !f.starts_with('-'))?;
        for (at, flag) in flags.char_indices() {
            match flag {
                'm' => {
                    let rest = &flags[at + 1..];
                    return if rest.is_empty() {
                        argv.get(index).map(|module| (Main::Module(module), index + 1))
                    } else {
                        Some((Main::Module(rest), index))
                    };
                }
                // Options whose argument follows: the rest of the cluster or the next argument.
                'c' => return None,
                'W' | 'X' => {
                    if at + 1 == flags.len() {
                        index += 1;
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    None
}

/// The test files a regrtest command line names, as regrtest runs them: see [`selection`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// In order, each once, without a `.py` suffix.
    pub tests: Vec<String>,
    /// `-R`/`--huntrleaks` is given.
    pub huntrleaks: bool,
}

/// How a regrtest option takes its argument (`cmdline.py` of 3.11 to 3.14).
#[derive(Clone, Copy, PartialEq, Eq)]
enum RegrtestOption {
    /// None.
    Flag,
    /// The rest of a short option's cluster, after `=` in a long one, or the next argument.
    Value,
    /// `-R`/`--huntrleaks`, which takes a value.
    Huntrleaks,
    /// Selects tests otherwise than by the names on the line: `-x` (the names are excluded),
    /// `-f` (from a file), `-s`/`-S` (one test, or from a test on), `--pgo`/`--tsan` (their own
    /// lists), a worker's arguments.
    Selects,
}

/// The long options that take a value or select tests. A flag is not listed: argparse takes an
/// abbreviation only when it is unique among all options, so one that regrtest accepts and that
/// begins none of these is a flag.
const LONG_OPTIONS: &[(&str, RegrtestOption)] = {
    use RegrtestOption::*;
    &[
        ("timeout", Value),
        ("python", Value),
        ("randseed", Value),
        ("match", Value),
        ("ignore", Value),
        ("matchfile", Value),
        ("ignorefile", Value),
        ("use", Value),
        ("memlimit", Value),
        ("testdir", Value),
        ("multiprocess", Value),
        ("coverdir", Value),
        ("threshold", Value),
        ("junit-xml", Value),
        ("tempdir", Value),
        ("prioritize", Value),
        ("huntrleaks", Huntrleaks),
        ("start", Selects),
        ("fromfile", Selects),
        ("exclude", Selects),
        ("single", Selects),
        ("pgo", Selects),
        ("pgo-extended", Selects),
        ("tsan", Selects),
        ("tsan-parallel", Selects),
        ("worker-args", Selects),
        ("worker-json", Selects),
    ]
};

fn short_option(flag: char) -> RegrtestOption {
    match flag {
        'p' | 'm' | 'i' | 'u' | 'M' | 'j' | 'D' | 't' => RegrtestOption::Value,
        'R' => RegrtestOption::Huntrleaks,
        'S' | 'f' | 'x' | 's' | 'P' => RegrtestOption::Selects,
        _ => RegrtestOption::Flag,
    }
}

/// A long option, written in full or abbreviated as argparse allows.
fn long_option(name: &str) -> RegrtestOption {
    if let Some(&(_, option)) = LONG_OPTIONS.iter().find(|(long, _)| *long == name) {
        return option;
    }
    let mut matches = LONG_OPTIONS.iter().filter(|(long, _)| long.starts_with(name));
    match (matches.next(), matches.next()) {
        (Some(&(_, option)), None) => option,
        // Ambiguous (regrtest refuses the line) or a flag.
        _ => RegrtestOption::Flag,
    }
}

/// A test file's name as regrtest takes it: `test_os`, `test.test_os`, `test_asyncio.test_tasks`.
static TEST_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$"));

/// The tests a regrtest command line (`python -m test -q -R 3:3 test_os test_sys`) names and
/// whether it hunts leaks: what quiet mode (`-q`), which never names a test it skipped, ran.
/// None when the line is not regrtest's main process, names no test (the whole suite) or
/// selects its tests otherwise (`-x`, `-f`, `--start`...), or names something that is no
/// test name (a path). 3.12+ splits some packages (`test_asyncio`) into their modules: the
/// caller must not take such a name for a test that never ran.
#[must_use]
pub fn selection(argv: &[String]) -> Option<Selection> {
    let (main, start) = python_main(argv)?;
    let regrtest = match main {
        Main::Module(module) => matches!(module, "test" | "test.regrtest" | "test.__main__"),
        Main::Script(script) => script.ends_with("regrtest.py") || script.ends_with("/test/__main__.py"),
    };
    if !regrtest {
        return None;
    }
    let mut selection = Selection { tests: Vec::new(), huntrleaks: false };
    let mut args = argv.get(start..)?.iter();
    let mut options_over = false;
    while let Some(arg) = args.next() {
        if options_over || !arg.starts_with('-') || arg == "-" {
            let name = arg.strip_suffix(".py").unwrap_or(arg);
            if !TEST_NAME.is_match(name) {
                return None;
            }
            if !selection.tests.iter().any(|t| t == name) {
                selection.tests.push(name.to_owned());
            }
            continue;
        }
        if arg == "--" {
            options_over = true;
            continue;
        }
        let (option, value_follows) = match arg.strip_prefix("--") {
            Some(long) => match long.split_once('=') {
                Some((name, _)) => (long_option(name), false),
                None => (long_option(long), true),
            },
            None => {
                // A cluster of short options: the first that takes a value takes the rest.
                let flags = &arg[1..];
                let found = flags
                    .char_indices()
                    .map(|(at, flag)| (at, short_option(flag)))
                    .find(|(_, o)| *o != RegrtestOption::Flag);
                match found {
                    Some((at, option)) => (option, at + 1 == flags.len()),
                    None => (RegrtestOption::Flag, false),
                }
            }
        };
        match option {
            RegrtestOption::Selects => return None,
            RegrtestOption::Flag => continue,
            RegrtestOption::Huntrleaks => selection.huntrleaks = true,
            RegrtestOption::Value => {}
        }
        if value_follows {
            args.next();
        }
    }
    (!selection.tests.is_empty()).then_some(selection)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_parts_of_the_output_and_whose_beginning_comes_next_are_known() {
        use super::Parser;
        for part in [
            "0:00:01 load avg: 0.50 [ 2/10] test_os",
            "[2/3] test_x",
            "beginning 6 repetitions",
            "== Tests result: SUCCESS ==",
            "Re-running test_x in verbose mode",
        ] {
            assert!(Parser::starts_part(part.as_bytes()), "{part}");
        }
        for other in ["123456", "test_x leaked [1, 1, 1] references, sum=3", "Tests result: SUCCESS", ""] {
            assert!(!Parser::starts_part(other.as_bytes()), "{other}");
        }
        let mut parser = Parser::new();
        assert!(parser.next_beginning_is_another_tests(), "no test yet");
        parser.feed_line(b"0:00:00 load avg: 0.00 [1/3] test_a");
        assert!(!parser.next_beginning_is_another_tests(), "test_a may still begin");
        parser.feed_line(b"beginning 6 repetitions");
        assert!(parser.next_beginning_is_another_tests(), "test_a began");
        parser.feed_line(b"0:00:01 load avg: 0.00 [2/3] test_b");
        parser.feed_line(b"test test_b crashed -- Traceback (most recent call last):");
        assert!(parser.next_beginning_is_another_tests(), "test_b crashed before its repetitions");
    }

    #[test]
    fn regrtest_command_lines_are_recognised() {
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        for yes in [
            "python3.11-dbg -m test -R 3:3 test_os",
            "./python -E -m test.regrtest --worker-args {}",
            "python -u -m test.libregrtest.worker {}",
            "python Lib/test/regrtest.py -j2",
            "python3.11-dbg -mtest -j2",
            "python3.11-dbg -bb -X faulthandler -Emtest.regrtest -R 3:3",
            "python3.11-dbg -W error -Em test",
        ] {
            assert!(is_regrtest_command(&argv(yes)), "{yes}");
        }
        for no in [
            "python -c import _testcapi",
            "python -m testing",
            "python -m pip install test",
            "bash",
            "python script.py -m test",
            "python -c -m test",
            "python -X -m test",
        ] {
            assert!(!is_regrtest_command(&argv(no)), "{no}");
        }
    }

    use super::*;

    fn parse(input: &str, run_completed: bool) -> ParsedRun {
        let mut p = Parser::new();
        for line in input.split_inclusive('\n') {
            p.feed_line(line.as_bytes());
        }
        p.finish(run_completed)
    }

    fn test<'a>(run: &'a ParsedRun, name: &str) -> &'a TestResult {
        run.tests.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no test {name} in {:#?}", run.tests))
    }

    #[test]
    fn tracebacks_printed_with_a_result_line_are_kept() {
        let run = parse(
            "0:00:00 load avg: 0.10 Run 2 tests sequentially\n\
             0:00:00 load avg: 0.10 [1/2] test_fail\n\
             test test_fail failed -- Traceback (most recent call last):\n\
             \x20 File \"/tmp/t/test_fail.py\", line 5, in test_one\n\
             \x20   self.assertEqual(1, 2)\n\
             AssertionError: 1 != 2\n\
             \n\
             0:00:00 load avg: 0.10 [2/2/1] test_crash -- test_fail failed\n\
             test test_crash crashed -- Traceback (most recent call last):\n\
             \x20 File \"/usr/lib/python3.11/test/libregrtest/runtest.py\", line 355, in _runtest_inner\n\
             KeyError: 'x'\n\
             \n\
             During handling of the above exception, another exception occurred:\n\
             \n\
             Traceback (most recent call last):\n\
             \x20 File \"/tmp/t/test_crash.py\", line 3, in <module>\n\
             Exception: errors while loading tests\n\
             \n\
             test_crash failed (uncaught exception)\n\
             \n\
             == Tests result: FAILURE ==\n",
            true,
        );
        let fail = test(&run, "test_fail");
        assert_eq!(fail.traceback_method.as_deref(), Some("test_one"));
        let text = fail.traceback.as_deref().unwrap();
        assert!(
            text.starts_with("Traceback (most recent call last):\n") && text.ends_with("AssertionError: 1 != 2"),
            "{text}"
        );
        let crash = test(&run, "test_crash");
        assert_eq!(crash.traceback_method, None, "a crash's first frame is regrtest's");
        let text = crash.traceback.as_deref().unwrap();
        assert!(text.contains("During handling") && text.ends_with("Exception: errors while loading tests"), "{text}");
        assert_eq!(crash.outcome, Some(Outcome::UncaughtException));
    }

    /// Real 3.13.5 output: a decorated test method fails (the first frame is the decorator's
    /// `wrapper`), and a `setUp` fails (no frame is the method).
    #[test]
    fn the_traceback_names_the_test_method_not_a_wrapper_or_fixture() {
        let run = parse(
            "0:00:00 load avg: 1.18 Run 2 tests sequentially in a single process\n\
             0:00:00 load avg: 1.18 [1/2] test_qa_deco\n\
             test test_qa_deco failed -- Traceback (most recent call last):\n\
             \x20 File \"/tmp/qa-313/td/test_qa_deco.py\", line 11, in wrapper\n\
             \x20   return f(*a, **k)\n\
             \x20 File \"/tmp/qa-313/td/test_qa_deco.py\", line 17, in test_wrapped\n\
             \x20   self.assertEqual(1, 2)\n\
             \x20   ~~~~~~~~~~~~~~~~^^^^^^\n\
             AssertionError: 1 != 2\n\
             0:00:00 load avg: 1.18 [1/2/1] test_qa_deco failed (1 failure)\n\
             0:00:00 load avg: 1.18 [2/2/1] test_qa_helper\n\
             \n\
             test test_qa_helper failed -- Traceback (most recent call last):\n\
             \x20 File \"/tmp/qa-313/td/test_qa_helper.py\", line 4, in setUp\n\
             \x20   raise RuntimeError(\"setup broke\")\n\
             RuntimeError: setup broke\n\
             \n\
             0:00:00 load avg: 1.18 [2/2/2] test_qa_helper failed (1 error)\n",
            false,
        );
        assert_eq!(test(&run, "test_qa_deco").traceback_method.as_deref(), Some("test_wrapped"));
        assert_eq!(test(&run, "test_qa_helper").traceback_method, None);
        assert!(test(&run, "test_qa_helper").traceback.as_deref().is_some_and(|t| t.contains("in setUp")));
        // A chained exception's frames are not the method's.
        let run = parse(
            "0:00:00 load avg: 0.10 [1/1] test_x\n\
             test test_x failed -- Traceback (most recent call last):\n\
             \x20 File \"/t/test_x.py\", line 4, in setUp\n\
             KeyError: 'k'\n\
             \n\
             During handling of the above exception, another exception occurred:\n\
             \n\
             Traceback (most recent call last):\n\
             \x20 File \"/t/test_x.py\", line 9, in test_helper_in_setup\n\
             RuntimeError: x\n",
            false,
        );
        assert_eq!(test(&run, "test_x").traceback_method, None);
    }

    #[test]
    fn a_skipped_files_reason_is_kept() {
        let run = parse(
            "0:00:00 load avg: 0.10 Run tests in parallel using 2 child processes\n\
             0:00:00 load avg: 0.10 [1/2] test_skipmod skipped\n\
             test_skipmod skipped -- not on this platform\n\
             0:00:00 load avg: 0.10 [2/2] test_ok passed\n\
             \n\
             == Tests result: SUCCESS ==\n",
            true,
        );
        let skipped = test(&run, "test_skipmod");
        assert_eq!(skipped.outcome, Some(Outcome::Skipped));
        assert_eq!(skipped.skip_reason.as_deref(), Some("not on this platform"));
        assert_eq!(test(&run, "test_ok").skip_reason, None);
    }

    #[test]
    fn a_child_regrtests_output_quoted_by_a_test_makes_no_test() {
        // test_regrtest's failure messages quote the output of the regrtest runs it starts.
        let run = parse(
            "0:00:00 load avg: 0.10 Run 2 tests sequentially\n\
             0:00:00 load avg: 0.10 [1/2] test_echo\n\
             AssertionError: unexpected output:\n\
             0:00:00 load avg: 0.10 [1/1] test_regrtest_huntrleaks\n\
             beginning 6 repetitions\n\
             test_regrtest_huntrleaks leaked [1, 1, 1] references, sum=3\n\
             test_regrtest_huntrleaks failed (reference leak)\n\
             0:00:01 load avg: 0.10 [2/2/1] test_b -- test_echo failed\n\
             test_b passed\n\
             == Tests result: FAILURE ==\n\
             1 test failed:\n    test_echo\n\
             1 test OK.\n",
            true,
        );
        let names: Vec<&str> = run.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["test_echo", "test_b"]);
        assert_eq!(test(&run, "test_echo").references, None);
        assert_eq!(test(&run, "test_echo").outcome, Some(Outcome::Failed));
    }

    #[test]
    fn a_child_regrtest_running_in_parallel_leaves_the_run_sequential() {
        // A test runs `python -m test -j1 test_inner`, whose output shares our pipe.
        let mut p = Parser::new();
        for line in [
            "0:00:00 load avg: 0.10 Run 2 tests sequentially",
            "0:00:00 load avg: 0.10 [1/2] test_outer",
            "0:00:00 load avg: 0.10 Run 1 test in parallel using 1 child process",
            "0:00:00 load avg: 0.10 [1/1] test_inner passed",
        ] {
            p.feed_line(line.as_bytes());
        }
        assert_eq!(p.current_test(), Some("test_outer"), "the hang watch still knows the running test");
        p.feed_line(b"0:00:05 load avg: 0.10 [2/2] test_b");
        let run = p.finish(true);
        assert_eq!(names(&run), ["test_outer", "test_b"]);
    }

    fn outcome(run: &ParsedRun, name: &str) -> Outcome {
        test(run, name).outcome.expect("finish() resolves every outcome")
    }

    fn leak(deltas: &[i64], sum: i64, failing: bool) -> Option<LeakLine> {
        Some(LeakLine { deltas: deltas.to_vec(), sum, failing })
    }

    fn names(run: &ParsedRun) -> Vec<&str> {
        run.tests.iter().map(|t| t.name.as_str()).collect()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    // --- Real captured output, CPython 3.11.2 (Debian python3.11-dbg) --------------------------

    #[test]
    fn golden_3_11_2_sequential_refleaks_failures_and_skips() {
        let run = parse(include_str!("../../tests/data/regrtest/3.11.2-seq-R.txt"), true);
        assert_eq!(
            names(&run),
            [
                "test_ok",
                "test_leaky",
                "test_reflonly",
                "test_failing",
                "test_skipme",
                "test_envchange",
                "test_empty",
                "test_uncaught",
                "test_resdenied"
            ]
        );
        assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
        assert_eq!(outcome(&run, "test_leaky"), Outcome::ReferenceLeak);
        assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
        assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
        assert_eq!(outcome(&run, "test_skipme"), Outcome::Skipped);
        assert_eq!(outcome(&run, "test_envchange"), Outcome::EnvChanged);
        assert_eq!(outcome(&run, "test_empty"), Outcome::RanNoTests);
        assert_eq!(outcome(&run, "test_uncaught"), Outcome::UncaughtException);
        // The last test's result is the standalone line after the loop.
        assert_eq!(outcome(&run, "test_resdenied"), Outcome::ResourceDenied);
        assert_eq!(
            test(&run, "test_resdenied").result_text.as_deref(),
            Some("test_resdenied skipped (resource denied)")
        );

        let leaky = test(&run, "test_leaky");
        assert_eq!(leaky.references, leak(&[5, 5, 5], 15, true));
        assert_eq!(leaky.memory_blocks, leak(&[5, 5, 5], 15, true));
        assert_eq!(leaky.file_descriptors, leak(&[1, 1, 1], 3, true));
        assert_eq!(leaky.repetitions, Some(6));
        assert_eq!(leaky.attempts, 1);
        assert_eq!(leaky.result_text.as_deref(), Some("test_leaky failed (reference leak)"));
        let reflonly = test(&run, "test_reflonly");
        assert_eq!(reflonly.references, leak(&[1, 1, 1], 3, true));
        assert_eq!(reflonly.file_descriptors, None);
        assert_eq!(test(&run, "test_failing").result_text.as_deref(), Some("test_failing failed (1 error, 1 failure)"));
        assert_eq!(test(&run, "test_ok").references, None);
        assert_eq!(test(&run, "test_ok").result_text, None);
        // -R never got to "beginning" for tests that failed to import or skipped at import.
        assert_eq!(test(&run, "test_skipme").repetitions, None);

        let summary = run.summary.expect("summary");
        assert_eq!(summary.result.as_deref(), Some("FAILURE"));
        assert_eq!(summary.failed, strings(&["test_failing", "test_leaky", "test_reflonly", "test_uncaught"]));
        assert_eq!(summary.env_changed, strings(&["test_envchange"]));
        assert_eq!(summary.skipped, strings(&["test_resdenied", "test_skipme"]));
        assert_eq!(summary.run_no_tests, strings(&["test_empty"]));
        assert_eq!(summary.passed_count, Some(1));
        assert_eq!(summary.total_tests, Some(9));
        assert_eq!(summary.total_duration.as_deref(), Some("454 ms"));
    }

    #[test]
    fn golden_3_11_2_parallel_refleaks_crash_and_heartbeats() {
        let input = include_str!("../../tests/data/regrtest/3.11.2-j2-R.txt");
        let run = parse(input, true);
        assert_eq!(names(&run)[..3], ["test_slow", "test_slow2", "test_ok"]);
        assert_eq!(run.tests.len(), 12);
        assert_eq!(outcome(&run, "test_slow"), Outcome::Passed);
        assert_eq!(outcome(&run, "test_slow2"), Outcome::Passed);
        assert_eq!(test(&run, "test_slow2").result_text.as_deref(), Some("test_slow2 passed"));
        assert_eq!(outcome(&run, "test_leaky"), Outcome::ReferenceLeak);
        assert_eq!(outcome(&run, "test_crash"), Outcome::Crashed);
        assert_eq!(test(&run, "test_crash").result_text.as_deref(), Some("test_crash crashed (Exit code -11)"));
        // The worker's output after its result: faulthandler's dump, to its last line.
        let dump = test(&run, "test_crash").faulthandler.as_deref().unwrap_or_default();
        assert!(dump.starts_with("Fatal Python error: Segmentation fault\n\nCurrent thread 0x"), "{dump}");
        assert!(dump.contains("\n  File \"/tmp/rt/tests/test_crash.py\", line 4 in test_segv\n"), "{dump}");
        assert!(dump.ends_with("\n\nExtension modules: _testcapi (total: 1)"), "{dump}");
        assert_eq!(test(&run, "test_reflonly").faulthandler, None, "the next test's output is its own");
        assert_eq!(outcome(&run, "test_resdenied"), Outcome::ResourceDenied);
        assert_eq!(outcome(&run, "test_envchange"), Outcome::EnvChanged);
        assert_eq!(outcome(&run, "test_empty"), Outcome::RanNoTests);
        assert_eq!(outcome(&run, "test_uncaught"), Outcome::UncaughtException);
        // The worker's output follows its progress line, so "beginning" and the leak lines
        // belong to the test just reported.
        let leaky = test(&run, "test_leaky");
        assert_eq!(leaky.references, leak(&[5, 5, 5], 15, true));
        assert_eq!(leaky.memory_blocks, None);
        assert_eq!(leaky.file_descriptors, leak(&[1, 1, 1], 3, true));
        assert_eq!(leaky.repetitions, Some(6));
        assert_eq!(test(&run, "test_slow").repetitions, Some(6));
        assert_eq!(test(&run, "test_reflonly").references, leak(&[1, 1, 1], 3, true));
        let summary = run.summary.expect("summary");
        assert_eq!(summary.total_tests, Some(12));
        assert_eq!(summary.failed.len(), 5);
    }

    #[test]
    fn output_belongs_to_the_announced_test_or_to_the_last_result_in_parallel_mode() {
        let mut p = Parser::new();
        assert_eq!(p.output_owner(), None);
        p.feed_line(b"0:00:00 load avg: 0.10 [1/2] test_a");
        p.feed_line(b"==12==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1");
        assert_eq!(p.output_owner(), Some("test_a"));
        p.feed_line(b"0:00:01 load avg: 0.10 [2/2] test_b");
        assert_eq!(p.output_owner(), Some("test_b"));

        let mut p = Parser::new();
        p.feed_line(b"Run tests in parallel using 2 child processes");
        p.feed_line(b"0:00:30 load avg: 0.50 running: test_slow (30.0 sec), test_fast (30.0 sec)");
        assert_eq!(p.output_owner(), None, "a running list names no owner");
        p.feed_line(b"0:00:31 load avg: 0.50 [1/2/1] test_fast crashed (Exit code -6) -- running: test_slow (31 sec)");
        assert_eq!(p.output_owner(), Some("test_fast"), "the worker's output follows its result line");
        p.feed_line(b"0:00:32 load avg: 0.50 running: test_slow (32.0 sec)");
        assert_eq!(p.output_owner(), Some("test_fast"));
        p.feed_line(b"0:00:40 load avg: 0.50 [2/2] test_slow passed (40.0 sec)");
        assert_eq!(p.output_owner(), Some("test_slow"));
        p.feed_line(b"== Tests result: FAILURE ==");
        assert_eq!(p.output_owner(), None);
    }

    #[test]
    fn current_test_in_parallel_mode_follows_running_lists() {
        let input = include_str!("../../tests/data/regrtest/3.11.2-j2-R.txt");
        let mut p = Parser::new();
        let mut lines = input.lines();
        for line in lines.by_ref() {
            p.feed_line(line.as_bytes());
            if line.ends_with("child processes") {
                break;
            }
        }
        assert_eq!(p.current_test(), None, "nothing known to be running yet");
        p.feed_line(lines.next().expect("heartbeat").as_bytes());
        assert_eq!(p.current_test(), Some("test_slow"));
        // "[ 1/12] test_slow2 passed (33.1 sec) -- running: test_slow (33.2 sec)"
        p.feed_line(lines.next().expect("progress").as_bytes());
        assert_eq!(p.current_test(), Some("test_slow"));
        for line in lines.by_ref() {
            p.feed_line(line.as_bytes());
            if line.contains("[12/12]") {
                break;
            }
        }
        assert_eq!(p.current_test(), None, "a result without a running list says nothing");
        assert!(p.saw_huntrleaks());
    }

    #[test]
    fn golden_3_11_2_in_process_rerun_counts_attempts_and_takes_final_outcome() {
        let run = parse(include_str!("../../tests/data/regrtest/3.11.2-seq-R-rerun.txt"), true);
        assert_eq!(names(&run), ["test_ok", "test_flaky", "test_failing", "test_reflonly"]);
        assert_eq!(test(&run, "test_ok").attempts, 1);
        let flaky = test(&run, "test_flaky");
        assert_eq!(flaky.attempts, 2);
        assert_eq!(flaky.outcome, Some(Outcome::Passed));
        assert_eq!(flaky.result_text, None, "the in-process re-run prints no result string");
        let failing = test(&run, "test_failing");
        assert_eq!(failing.attempts, 2);
        assert_eq!(failing.outcome, Some(Outcome::Failed));
        assert_eq!(
            failing.failed_methods,
            strings(&[
                "test_error (test_failing.TestFailing.test_error)",
                "test_fail (test_failing.TestFailing.test_fail)"
            ])
        );
        // 3.11.2's re-run matched no test method, so regrtest lists it under "run no tests";
        // the leak lines are the first attempt's, kept apart.
        let reflonly = test(&run, "test_reflonly");
        assert_eq!(reflonly.attempts, 2);
        assert_eq!(reflonly.outcome, Some(Outcome::RanNoTests));
        assert_eq!(reflonly.references, None);
        let first = reflonly.first_run.as_ref().expect("the run before the re-run");
        assert_eq!((first.outcome, &first.references), (Outcome::ReferenceLeak, &leak(&[1, 1, 1], 3, true)));
        assert_eq!(test(&run, "test_flaky").first_run.as_ref().map(|f| f.outcome), Some(Outcome::Failed));
        assert_eq!(test(&run, "test_ok").first_run, None);
        let summary = run.summary.expect("summary");
        assert_eq!(summary.result.as_deref(), Some("FAILURE then FAILURE"));
        assert_eq!(summary.failed_again, strings(&["test_failing"]));
        assert_eq!(summary.failed, strings(&["test_failing"]));
        assert_eq!(summary.rerun, strings(&["test_failing", "test_flaky", "test_reflonly"]));
        assert_eq!(summary.passed_count, Some(2));
        assert_eq!(summary.total_tests, Some(4), "from the first run, not the re-run");
    }

    /// A test that leaked only in its first run, re-run in-process (3.11.2) or in a worker
    /// (3.13): its leak lines are the re-run's (none), the first run's are kept apart.
    #[test]
    fn golden_rerun_that_passes_has_no_leak_lines_of_the_first_run() {
        for (input, first_lines) in [
            (include_str!("../../tests/data/regrtest/3.11.2-seq-R-rerun-firstref.txt"), 1),
            (include_str!("../../tests/data/regrtest/3.13.5-seq-R-rerun-firstref.txt"), 2),
        ] {
            let run = parse(input, true);
            let firstref = test(&run, "test_firstref");
            assert_eq!((firstref.outcome, firstref.attempts), (Some(Outcome::Passed), 2));
            assert_eq!((&firstref.references, &firstref.memory_blocks), (&None, &None));
            let first = firstref.first_run.as_ref().expect("the run before the re-run");
            assert_eq!(first.outcome, Outcome::ReferenceLeak);
            assert_eq!(first.references, leak(&[1, 1, 1], 3, true));
            let expected = ["references [1, 1, 1]", "memory blocks [1, 1, 1]"][..first_lines].join(", ");
            assert_eq!(first.failing_leaks(), Some(expected));
            let view = firstref.as_first_run().expect("a first run");
            assert_eq!((view.outcome, &view.references), (Some(Outcome::ReferenceLeak), &first.references));
            assert_eq!(test(&run, "test_ok").as_first_run(), None);
        }
    }

    #[test]
    fn killed_during_rerun_leaves_the_rerun_test_unknown() {
        let input = include_str!("../../tests/data/regrtest/3.11.2-seq-R-rerun.txt");
        let cut = input.find("ERROR: test_error").expect("the re-run of test_failing prints its errors");
        let mut p = Parser::new();
        for line in input[..cut].lines() {
            p.feed_line(line.as_bytes());
        }
        // The first summary is behind us; the in-process re-run is what is running now.
        assert_eq!(p.current_test(), Some("test_failing"));
        let run = p.finish(false);
        let failing = test(&run, "test_failing");
        assert_eq!((failing.attempts, failing.outcome), (2, Some(Outcome::Unknown)));
        // Re-run and followed by another re-run: it passed, whatever the first summary said.
        assert_eq!(outcome(&run, "test_flaky"), Outcome::Passed);
        assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
        // The first summary's lists are kept, not its result: the run's result is the re-run's
        // end, which never came.
        assert_eq!(run.summary.map(|s| s.result), Some(None));
    }

    #[test]
    fn golden_3_11_2_parallel_then_in_process_rerun() {
        let run = parse(include_str!("../../tests/data/regrtest/3.11.2-j2-R-rerun.txt"), true);
        assert_eq!(names(&run), ["test_flaky", "test_ok", "test_failing", "test_reflonly"]);
        assert_eq!(outcome(&run, "test_flaky"), Outcome::Passed);
        assert_eq!(test(&run, "test_flaky").attempts, 2);
        assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
        assert_eq!(test(&run, "test_failing").failed_methods.len(), 2);
        assert_eq!(outcome(&run, "test_reflonly"), Outcome::RanNoTests);
        assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
        assert_eq!(test(&run, "test_ok").attempts, 1);
    }

    #[test]
    fn golden_3_11_2_segfault_kills_sequential_run() {
        let input = include_str!("../../tests/data/regrtest/3.11.2-seq-R-segv.txt");
        let mut p = Parser::new();
        for line in input.lines() {
            p.feed_line(line.as_bytes());
        }
        assert_eq!(p.current_test(), Some("test_crash"));
        let run = p.finish(false);
        assert_eq!(names(&run), ["test_ok", "test_reflonly", "test_crash"]);
        assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
        assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
        assert_eq!(outcome(&run, "test_crash"), Outcome::Unknown);
        assert_eq!(test(&run, "test_crash").repetitions, Some(6));
        let dump = test(&run, "test_crash").faulthandler.as_deref().unwrap_or_default();
        assert!(dump.starts_with("Fatal Python error: Segmentation fault\n"), "{dump}");
        assert!(dump.contains("line 4 in test_segv"), "{dump}");
        assert_eq!(run.summary, None);
    }

    #[test]
    fn golden_3_11_2_verbose_failures_go_to_the_running_test() {
        let run = parse(include_str!("../../tests/data/regrtest/3.11.2-seq-verbose.txt"), true);
        assert_eq!(names(&run), ["test_ok", "test_failing", "test_skipme"]);
        assert_eq!(
            test(&run, "test_failing").failed_methods,
            strings(&[
                "test_error (test_failing.TestFailing.test_error)",
                "test_fail (test_failing.TestFailing.test_fail)"
            ])
        );
        assert!(test(&run, "test_ok").failed_methods.is_empty());
        assert_eq!(outcome(&run, "test_skipme"), Outcome::Skipped);
        assert_eq!(run.summary.and_then(|s| s.total_tests), Some(3));
    }

    /// (class, method, outcome, detail) of every method of `test`.
    fn methods<'a>(run: &'a ParsedRun, name: &str) -> Vec<(&'a str, &'a str, MethodOutcome, Option<&'a str>)> {
        test(run, name)
            .methods
            .iter()
            .map(|m| (m.class.as_str(), m.name.as_str(), m.outcome, m.detail.as_deref()))
            .collect()
    }

    #[test]
    fn verbose_method_lines_in_every_layout_and_version() {
        use MethodOutcome::*;
        let plain = "test_methods.Plain";
        let expected = [
            (plain, "test_docstring", Passed, None),
            (plain, "test_errors", Error, None),
            (plain, "test_expected", ExpectedFailure, None),
            (plain, "test_fails", Failed, None),
            (plain, "test_ok", Passed, None),
            (plain, "test_prints", Passed, None),
            (plain, "test_skipped", Skipped, Some("'not here'")),
            (plain, "test_unexpected", UnexpectedSuccess, None),
            ("test_methods.Sub", "test_subtests", Failed, None),
            ("test_methods.Sub", "test_subtests_pass", Passed, None),
        ];
        for (file, input) in [
            ("3.11.2-seq-verbose-methods", include_str!("../../tests/data/regrtest/3.11.2-seq-verbose-methods.txt")),
            ("3.11.2-j2-R-verbose-methods", include_str!("../../tests/data/regrtest/3.11.2-j2-R-verbose-methods.txt")),
            ("3.12.1-seq-verbose-methods", include_str!("../../tests/data/regrtest/3.12.1-seq-verbose-methods.txt")),
            ("3.13.0-j2-verbose-methods", include_str!("../../tests/data/regrtest/3.13.0-j2-verbose-methods.txt")),
        ] {
            let run = parse(input, true);
            assert_eq!(names(&run), ["test_methods"], "{file}");
            assert_eq!(methods(&run, "test_methods"), expected, "{file}");
            let traceback = |name: &str| {
                test(&run, "test_methods").methods.iter().find(|m| m.name == name).and_then(|m| m.traceback.clone())
            };
            let fails = traceback("test_fails").unwrap_or_default();
            assert!(fails.starts_with("Traceback (most recent call last):"), "{file}: {fails}");
            assert!(fails.ends_with("AssertionError: 1 != 2"), "{file}: {fails}");
            assert!(traceback("test_errors").is_some_and(|t| t.ends_with("RuntimeError: boom")), "{file}");
            assert!(traceback("test_subtests").is_some_and(|t| t.contains("AssertionError: 2 not less than 2")));
            assert_eq!(traceback("test_ok"), None);
            assert_eq!(outcome(&run, "test_methods"), Outcome::Failed, "{file}");
        }
    }

    /// Methods named with dots, dashes and spaces (`setattr(Cls, "test_case-1.5 x", f)`), a
    /// nested class's, a failing subtest's and a doctest of a class, as unittest names them: the
    /// method is what the id repeats after the class path, not what follows its last dot.
    #[test]
    fn golden_method_names_with_dots_dashes_and_spaces() {
        use MethodOutcome::*;
        let odd = "test_odd_names.Odd";
        let expected = [
            (odd, "test_case-1.5 x", Failed, None),
            (odd, "test_dotted.name", Failed, None),
            (odd, "test_ok-2 y", Passed, None),
            (odd, "test_plain_fails", Failed, None),
            (odd, "test_subtests", Failed, None),
            ("test_odd_names.Outer.Inner", "test_nested", Failed, None),
            ("test_odd_names.Doc", "func", Failed, None),
        ];
        for (file, input) in [
            (
                "3.11.2-seq-verbose-odd-names",
                include_str!("../../tests/data/regrtest/3.11.2-seq-verbose-odd-names.txt"),
            ),
            ("3.13.5-j2-verbose-odd-names", include_str!("../../tests/data/regrtest/3.13.5-j2-verbose-odd-names.txt")),
        ] {
            let run = parse(input, true);
            assert_eq!(methods(&run, "test_odd_names"), expected, "{file}");
            let result = test(&run, "test_odd_names");
            let traceback =
                |name: &str| result.methods.iter().find(|m| m.name == name).and_then(|m| m.traceback.clone());
            assert!(traceback("test_case-1.5 x").is_some_and(|t| t.ends_with("+ b")), "{file}");
            assert!(traceback("test_nested").is_some_and(|t| t.ends_with("AssertionError: nested")), "{file}");
            assert_eq!(result.failed_methods.len(), 6, "{file}");
        }
        assert_eq!(
            method_description("test_s (test_x.C.test_s) [msg] (i=1)"),
            Some(("test_s", "test_x.C", Some("[msg] (i=1)")))
        );
        assert_eq!(method_description("a (b) (m.C.a (b))"), Some(("a (b)", "m.C", None)));
        assert_eq!(method_description("test_f (m.f.<locals>.C.test_f)"), Some(("test_f", "m.f.<locals>.C", None)));
        for not_one in
            ["test_a (m.C.test_b)", "test_a (C.test_a)", "test_a (m.C-1.test_a)", " x (m.C. x)", "a (m.C.a)x"]
        {
            assert_eq!(method_description(not_one), None, "{not_one}");
        }
        assert_eq!(class_in_module("test_x", "test.test_x.Outer.Inner"), "Outer.Inner");
        assert_eq!(class_in_module("test_x", "test_x.C"), "C");
        assert_eq!(class_in_module("test_asyncio", "test.test_asyncio.test_tasks.TaskTests"), "TaskTests");
        assert_eq!(class_in_module("test_thread", "test.lock_tests.LockTests"), "LockTests");
        assert_eq!(class_in_module("test_x", "test_x"), "test_x");
    }

    #[test]
    fn refleak_repetitions_and_reruns_keep_the_last_result_of_each_method() {
        let run = parse(include_str!("../../tests/data/regrtest/3.11.2-seq-R-rerun.txt"), true);
        // Failed in the first run (only its FAIL header names it), passed in the re-run's six
        // repetitions, whose lines follow the dots of `-R`.
        assert_eq!(methods(&run, "test_flaky"), [("test_flaky.TestFlaky", "test_flaky", MethodOutcome::Passed, None)]);
        let failing = methods(&run, "test_failing");
        assert_eq!(
            failing.iter().map(|m| (m.1, m.2)).collect::<Vec<_>>(),
            [("test_error", MethodOutcome::Error), ("test_fail", MethodOutcome::Failed)]
        );
    }

    #[test]
    fn method_status_after_output_without_a_newline_and_docstrings_in_the_error_list() {
        let run = parse(
            "0:00:00 load avg: 0.01 [1/1] test_m\n\
             test_dots (test_m.T.test_dots) ... ...ok\n\
             test_words (test_m.T.test_words) ... hellook\n\
             test_book (test_m.T.test_book) ... \n\
             the book\n\
             FAIL\n\
             test_doc (test_m.T.test_doc)\n\
             Check that two equals three. ... FAIL\n\
             \n\
             ======================================================================\n\
             FAIL: test_book (test_m.T.test_book)\n\
             ----------------------------------------------------------------------\n\
             Traceback (most recent call last):\n\
             AssertionError: book\n\
             \n\
             ======================================================================\n\
             FAIL: test_doc (test_m.T.test_doc)\n\
             Check that two equals three.\n\
             ----------------------------------------------------------------------\n\
             Traceback (most recent call last):\n\
             AssertionError: 2 != 3\n\
             \n\
             ----------------------------------------------------------------------\n\
             Ran 4 tests in 0.001s\n\
             \n\
             test_m failed (2 failures)\n",
            true,
        );
        let methods = &test(&run, "test_m").methods;
        let got: Vec<(&str, MethodOutcome)> = methods.iter().map(|m| (m.name.as_str(), m.outcome)).collect();
        use MethodOutcome::*;
        assert_eq!(got, [("test_dots", Passed), ("test_words", Passed), ("test_book", Failed), ("test_doc", Failed)]);
        let traceback = |name: &str| methods.iter().find(|m| m.name == name).and_then(|m| m.traceback.clone());
        assert_eq!(
            traceback("test_doc").as_deref(),
            Some("Traceback (most recent call last):\nAssertionError: 2 != 3")
        );
        assert_eq!(traceback("test_book").as_deref(), Some("Traceback (most recent call last):\nAssertionError: book"));
    }

    #[test]
    fn a_progress_line_glued_to_test_output_is_read() {
        let run = parse(
            "0:00:00 load avg: 0.01 [1/2] test_a\n\
             beginning 6 repetitions\n\
             test_a leaked [1, 1, 1] references, sum=3\n\
             ......0:00:01 load avg: 0.01 [2/2/1] test_b -- test_a failed (reference leak)\n\
             partial0:00:02 load avg: 0.01 [2/2/1] test_b passed\n",
            true,
        );
        assert_eq!(names(&run), ["test_a", "test_b"]);
        assert_eq!(outcome(&run, "test_a"), Outcome::ReferenceLeak);
        assert_eq!(outcome(&run, "test_b"), Outcome::Passed);
    }

    #[test]
    fn leak_lines_that_name_another_test_are_that_tests_output() {
        let run = parse(
            "0:00:00 load avg: 0.01 [1/2] test_a\n\
             0:00:01 load avg: 0.01 [2/2] test_b -- test_a passed\n\
             test_a leaked [1, 1, 1] references, sum=3\n\
             xtest_b leaked [2, 2, 2] memory blocks, sum=6\n",
            true,
        );
        assert_eq!(test(&run, "test_a").references, None, "printed while test_b ran");
        assert_eq!(test(&run, "test_b").memory_blocks, leak(&[2, 2, 2], 6, true));
    }

    #[test]
    fn method_lines_need_a_test_and_a_consistent_id() {
        let mut p = Parser::new();
        // Before any test, and lines that only look alike.
        p.feed_line(b"test_a (m.C.test_a) ... ok\n");
        p.feed_line(b"0:00:00 load avg: 0.01 [1/1] test_x\n");
        p.feed_line(b"test_a (m.C.test_b) ... ok\n");
        p.feed_line(b"test_y (30.0 sec) ... ok\n");
        p.feed_line(b"ok\n");
        // A pending method whose status never comes is not recorded.
        p.feed_line(b"test_c (m.C.test_c) ... \n");
        p.feed_line(b"test_d (m.C.test_d)\n");
        p.feed_line(b"Its docstring ... skipped 'because'\n");
        p.feed_line(b"test_e (m.C.test_e) ... ok (0.125s)\n");
        let run = p.finish(false);
        assert_eq!(
            methods(&run, "test_x"),
            [
                ("m.C", "test_d", MethodOutcome::Skipped, Some("'because'")),
                ("m.C", "test_e", MethodOutcome::Passed, None)
            ]
        );
    }

    #[test]
    fn golden_3_11_2_sequential_timeout_exits_without_summary() {
        let run = parse(include_str!("../../tests/data/regrtest/3.11.2-seq-timeout.txt"), true);
        assert_eq!(names(&run), ["test_ok", "test_hang"]);
        assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
        assert_eq!(outcome(&run, "test_hang"), Outcome::TimedOut);
        assert_eq!(run.summary, None);
    }

    // --- Real captured output, new libregrtest (pyenv release builds) --------------------------

    #[test]
    fn golden_3_12_1_parallel_rerun_in_subprocesses() {
        let run = parse(include_str!("../../tests/data/regrtest/3.12.1-j2-rerun.txt"), true);
        assert_eq!(run.tests.len(), 9);
        let flaky = test(&run, "test_flaky");
        assert_eq!((flaky.attempts, flaky.outcome), (2, Some(Outcome::Passed)));
        assert_eq!(flaky.result_text.as_deref(), Some("test_flaky passed"));
        let failing = test(&run, "test_failing");
        assert_eq!((failing.attempts, failing.outcome), (2, Some(Outcome::Failed)));
        assert_eq!(failing.failed_methods.len(), 2);
        let crash = test(&run, "test_crash");
        assert_eq!((crash.attempts, crash.outcome), (2, Some(Outcome::Crashed)));
        assert_eq!(
            crash.result_text.as_deref(),
            Some("test_crash worker non-zero exit code (Exit code -11 (SIGSEGV))")
        );
        // The re-run's dump, glued to its verbose method line; not the first attempt's.
        let dump = crash.faulthandler.as_deref().unwrap_or_default();
        assert!(dump.starts_with("Fatal Python error: Segmentation fault\n"), "{dump}");
        assert!(dump.contains("unittest/runner.py"), "the verbose re-run's stack: {dump}");
        assert_eq!(test(&run, "test_envchange").attempts, 2);
        assert_eq!(outcome(&run, "test_envchange"), Outcome::EnvChanged);
        assert_eq!(outcome(&run, "test_uncaught"), Outcome::UncaughtException);
        assert_eq!(outcome(&run, "test_resdenied"), Outcome::ResourceDenied);
        assert_eq!(test(&run, "test_ok").attempts, 1);
        let summary = run.summary.expect("summary");
        assert_eq!(summary.result.as_deref(), Some("FAILURE then FAILURE"));
        assert_eq!(summary.failed_again, strings(&["test_crash", "test_failing", "test_uncaught"]));
        assert_eq!(summary.resource_denied, strings(&["test_resdenied"]));
        assert_eq!(summary.rerun.len(), 5);
        assert_eq!(summary.total_tests, Some(9));
        assert_eq!(summary.passed_count, Some(2));
    }

    #[test]
    fn golden_3_13_0_sequential_run_then_rerun_in_a_worker() {
        let input = include_str!("../../tests/data/regrtest/3.13.0-seq-rerun.txt");
        let run = parse(input, true);
        assert_eq!(
            names(&run),
            ["test_ok", "test_flaky", "test_failing", "test_skipme", "test_empty", "test_resdenied"]
        );
        assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
        assert_eq!((test(&run, "test_flaky").attempts, outcome(&run, "test_flaky")), (2, Outcome::Passed));
        assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
        assert_eq!(test(&run, "test_failing").attempts, 2);
        assert_eq!(outcome(&run, "test_empty"), Outcome::RanNoTests);
        assert_eq!(outcome(&run, "test_resdenied"), Outcome::ResourceDenied);
        let summary = run.summary.expect("summary");
        assert_eq!(summary.total_tests, Some(6));
        assert_eq!(summary.result.as_deref(), Some("FAILURE then FAILURE"));
    }

    #[test]
    fn golden_3_11_7_new_layout_parallel_rerun() {
        let run = parse(include_str!("../../tests/data/regrtest/3.11.7-j2-rerun.txt"), true);
        assert_eq!(run.tests.len(), 6);
        assert_eq!((test(&run, "test_flaky").attempts, outcome(&run, "test_flaky")), (2, Outcome::Passed));
        assert_eq!(outcome(&run, "test_crash"), Outcome::Crashed);
        assert_eq!(outcome(&run, "test_envchange"), Outcome::EnvChanged);
        assert_eq!(outcome(&run, "test_skipme"), Outcome::Skipped);
        assert_eq!(test(&run, "test_skipme").attempts, 1);
        let summary = run.summary.expect("summary");
        assert_eq!(summary.failed_again, strings(&["test_crash", "test_failing"]));
        assert_eq!(summary.total_tests, Some(6));
    }

    #[test]
    fn golden_3_12_1_old_refleak_format_in_new_layout() {
        let run = parse(include_str!("../../tests/data/regrtest/3.12.1-seq-R-fakerefcount.txt"), true);
        let leaky = test(&run, "test_leaky");
        assert_eq!(leaky.outcome, Some(Outcome::ReferenceLeak));
        assert_eq!(leaky.memory_blocks, leak(&[5, 5, 5], 15, true));
        assert_eq!(leaky.repetitions, Some(6));
        // 3.12.1 prints nothing for deltas that do not fail.
        let fine = test(&run, "test_fine");
        assert_eq!((fine.outcome, fine.references.clone()), (Some(Outcome::Passed), None));
        assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
    }

    #[test]
    fn golden_3_13_0_single_process_rerun_is_sequential() {
        let run = parse(include_str!("../../tests/data/regrtest/3.13.0-single-process-rerun.txt"), true);
        assert_eq!(names(&run), ["test_ok", "test_flaky", "test_failing", "test_skipme"]);
        let flaky = test(&run, "test_flaky");
        assert_eq!((flaky.attempts, flaky.outcome), (2, Some(Outcome::Passed)));
        let failing = test(&run, "test_failing");
        assert_eq!((failing.attempts, failing.outcome), (2, Some(Outcome::Failed)));
        assert_eq!(failing.failed_methods.len(), 2);
        assert_eq!(test(&run, "test_skipme").attempts, 1);
        assert_eq!(run.summary.and_then(|s| s.total_tests), Some(4));
    }

    #[test]
    fn golden_3_13_0_quiet_mode_has_only_the_summary() {
        let run = parse(include_str!("../../tests/data/regrtest/3.13.0-quiet.txt"), true);
        assert_eq!(names(&run), ["test_failing", "test_envchange"]);
        assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
        assert_eq!(outcome(&run, "test_envchange"), Outcome::EnvChanged);
        assert_eq!(run.summary.and_then(|s| s.total_tests), Some(4));
    }

    #[test]
    fn golden_3_13_0_worker_killed_by_its_timeout() {
        let run = parse(include_str!("../../tests/data/regrtest/3.13.0-j2-timeout.txt"), true);
        // faulthandler's `--timeout` watchdog ended the worker with `_exit(1)`: timed out, as
        // sequentially, with regrtest's own line kept.
        assert_eq!(outcome(&run, "test_hang"), Outcome::TimedOut);
        assert_eq!(
            test(&run, "test_hang").result_text.as_deref(),
            Some("test_hang worker non-zero exit code (Exit code 1)")
        );
        let dump = test(&run, "test_hang").faulthandler.as_deref().unwrap_or_default();
        assert!(
            dump.starts_with("Timeout (0:00:03)!\nThread 0x00007f0e0a0c6b80 (most recent call first):\n"),
            "{dump}"
        );
        assert!(dump.ends_with("line 198 in _run_module_as_main"), "up to the blank line: {dump}");
        assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
    }

    /// 3.13's words for a worker that died: `worker non-zero exit code (Exit code -6
    /// (SIGABRT))`, which is 3.11's `crashed (Exit code -6)`.
    #[test]
    fn golden_3_13_5_worker_aborted_midway_crashed() {
        let run = parse(include_str!("../../tests/data/regrtest/3.13.5-j2-R-abort.txt"), true);
        let crash = test(&run, "test_crash_midway");
        assert_eq!(crash.outcome, Some(Outcome::Crashed));
        assert_eq!(
            crash.result_text.as_deref(),
            Some("test_crash_midway worker non-zero exit code (Exit code -6 (SIGABRT))")
        );
        assert_eq!(crash.repetitions, Some(6));
        // Glued to `-R`'s dots (`XXFatal Python error: Aborted`).
        let dump = crash.faulthandler.as_deref().unwrap_or_default();
        assert!(dump.starts_with("Fatal Python error: Aborted\n\nCurrent thread 0x"), "{dump}");
        assert!(dump.contains("test_crash_midway.py\", line 16 in test_crash_on_third_repetition\n"), "{dump}");
        assert!(dump.ends_with("Extension modules: _testinternalcapi (total: 1)"), "{dump}");
        assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
        assert_eq!(test(&run, "test_ok").faulthandler, None);
    }

    /// A test that fails in a later `-R` repetition: regrtest prints its failure after the
    /// marks of the repetitions before, on their line (3.11 `.....test X failed -- Traceback
    /// ...`, 3.13 `XXX XXtest X failed -- ...`), sequentially (stderr) and in a `-j` worker's
    /// output alike.
    #[test]
    fn golden_a_failure_in_a_later_repetition_follows_the_repetitions_marks() {
        for (file, input) in [
            ("3.11.2-seq-R", include_str!("../../tests/data/regrtest/3.11.2-seq-R-late-doctest.txt")),
            ("3.11.2-j2-R", include_str!("../../tests/data/regrtest/3.11.2-j2-R-late-doctest.txt")),
            ("3.13.5-seq-R", include_str!("../../tests/data/regrtest/3.13.5-seq-R-late-doctest.txt")),
            ("3.13.5-j2-R", include_str!("../../tests/data/regrtest/3.13.5-j2-R-late-doctest.txt")),
        ] {
            let run = parse(input, true);
            let late = test(&run, "test_fail_late_repetition");
            assert_eq!(late.outcome, Some(Outcome::Failed), "{file}");
            assert_eq!(late.repetitions, Some(6), "{file}");
            let traceback = late.traceback.as_deref().unwrap_or_default();
            assert!(traceback.starts_with("Traceback (most recent call last):\n"), "{file}: {traceback}");
            assert!(traceback.ends_with("AssertionError: failed on repetition 6"), "{file}: {traceback}");
            assert_eq!(late.traceback_method.as_deref(), Some("test_fails_in_the_last_repetition"), "{file}");
            // Without -v, regrtest prints no `FAIL:` header.
            assert!(late.failed_methods.is_empty(), "{file}");
            assert_eq!(outcome(&run, "test_ok"), Outcome::Passed, "{file}");
        }
        // Verbose, the method lines of the later repetitions follow the marks too (3.13:
        // `Xtest_fails_in_the_last_repetition (...) ... ok`, ` Xtest_...`).
        for (file, input) in [
            ("3.11.2-seq-R-v", include_str!("../../tests/data/regrtest/3.11.2-seq-R-verbose-late-doctest.txt")),
            ("3.11.2-j2-R-v", include_str!("../../tests/data/regrtest/3.11.2-j2-R-verbose-late-doctest.txt")),
            ("3.13.5-j2-R-v", include_str!("../../tests/data/regrtest/3.13.5-j2-R-verbose-late-doctest.txt")),
        ] {
            let run = parse(input, true);
            let late = test(&run, "test_fail_late_repetition");
            assert_eq!(late.outcome, Some(Outcome::Failed), "{file}");
            let id = "test_fails_in_the_last_repetition (test_fail_late_repetition.FailLate.test_fails_in_the_last_repetition)";
            assert_eq!(late.failed_methods, [id], "{file}");
            assert_eq!(
                methods(&run, "test_fail_late_repetition"),
                [(
                    "test_fail_late_repetition.FailLate",
                    "test_fails_in_the_last_repetition",
                    MethodOutcome::Failed,
                    None
                )],
                "{file}"
            );
            let traceback = late.methods[0].traceback.as_deref().unwrap_or_default();
            assert!(traceback.ends_with("AssertionError: failed on repetition 6"), "{file}: {traceback}");
            assert_eq!(methods(&run, "test_ok"), [("test_ok.TestOk", "test_a", MethodOutcome::Passed, None)], "{file}");
        }
        // Each later repetition's verbose line is read, not only the first one's: a method
        // whose first repetitions fail and last passes.
        let run = parse(
            "0:00:00 load avg: 0.10 [1/1] test_x passed\n\
             beginning 6 repetitions. Showing number of leaks (. for 0 or less, X for 10 or more)\n\
             123:456\n\
             test_a (test_x.T.test_a) ... FAIL\n\
             X1. 2Xtest_a (test_x.T.test_a) ... ok\n",
            true,
        );
        assert_eq!(methods(&run, "test_x"), [("test_x.T", "test_a", MethodOutcome::Passed, None)]);
    }

    /// Doctests run by unittest (`doctest.DocTestSuite`): verbose, each is a method, named as
    /// unittest prints it (`bad (test_doctest_fails)` and `Doctest: test_doctest_fails.bad`),
    /// the failing one with its `FAIL:` block, doctest's report of the example included;
    /// without -v, regrtest's traceback has that report and names the doctest.
    #[test]
    fn golden_doctests_are_methods_with_their_report() {
        const REPORT: &str = "Failed example:\n    1 + 1\nExpected:\n    3\nGot:\n    2";
        for (file, input) in [
            ("3.11.2-seq-R", include_str!("../../tests/data/regrtest/3.11.2-seq-R-late-doctest.txt")),
            ("3.11.2-j2-R", include_str!("../../tests/data/regrtest/3.11.2-j2-R-late-doctest.txt")),
            ("3.13.5-seq-R", include_str!("../../tests/data/regrtest/3.13.5-seq-R-late-doctest.txt")),
            ("3.13.5-j2-R", include_str!("../../tests/data/regrtest/3.13.5-j2-R-late-doctest.txt")),
        ] {
            let run = parse(input, true);
            let doctests = test(&run, "test_doctest_fails");
            assert_eq!(doctests.outcome, Some(Outcome::Failed), "{file}");
            let traceback = doctests.traceback.as_deref().unwrap_or_default();
            assert!(traceback.starts_with("Traceback (most recent call last):\n"), "{file}: {traceback}");
            assert!(traceback.contains("AssertionError: Failed doctest test for test_doctest_fails.bad\n"), "{file}");
            assert!(traceback.contains("\n\n------"), "{file}: {traceback}");
            assert!(traceback.ends_with(REPORT), "{file}: {traceback}");
            assert_eq!(doctests.traceback_method.as_deref(), Some("bad"), "{file}");
            assert!(doctests.methods.is_empty() && doctests.failed_methods.is_empty(), "{file}");
        }
        for (file, input) in [
            ("3.11.2-seq-R-v", include_str!("../../tests/data/regrtest/3.11.2-seq-R-verbose-late-doctest.txt")),
            ("3.11.2-j2-R-v", include_str!("../../tests/data/regrtest/3.11.2-j2-R-verbose-late-doctest.txt")),
            ("3.13.5-j2-R-v", include_str!("../../tests/data/regrtest/3.13.5-j2-R-verbose-late-doctest.txt")),
        ] {
            let run = parse(input, true);
            let doctests = test(&run, "test_doctest_fails");
            assert_eq!(doctests.outcome, Some(Outcome::Failed), "{file}");
            assert_eq!(doctests.failed_methods, ["bad (test_doctest_fails)"], "{file}");
            let got: Vec<_> =
                doctests.methods.iter().map(|m| (m.class.as_str(), m.name.as_str(), m.outcome, m.doctest)).collect();
            assert_eq!(
                got,
                [
                    ("test_doctest_fails", "bad", MethodOutcome::Failed, true),
                    ("test_doctest_fails", "good", MethodOutcome::Passed, true)
                ],
                "{file}"
            );
            let traceback = doctests.methods[0].traceback.as_deref().unwrap_or_default();
            assert!(traceback.starts_with("Traceback (most recent call last):\n"), "{file}: {traceback}");
            assert!(traceback.ends_with(REPORT), "{file}: {traceback}");
            assert!(!traceback.contains("Ran 2 tests"), "{file}: {traceback}");
        }
        // Only a description whose `Doctest:` line follows is a doctest's; a module's own
        // docstring has no dotted path before its name.
        let run = parse(
            "0:00:00 load avg: 0.10 [1/1] test_d\n\
             odd (test_d)\n\
             Doctest: test_d.other ... ok\n\
             test_d ()\n\
             Doctest: test_d ... ok\n\
             meth (test_d.Cls)\n\
             Doctest: test_d.Cls.meth ... \n\
             output\n\
             FAIL\n\
             \n\
             ======================================================================\n\
             FAIL: meth (test_d.Cls)\n\
             Doctest: test_d.Cls.meth\n\
             ----------------------------------------------------------------------\n\
             Traceback (most recent call last):\n\
             AssertionError: Failed doctest test for test_d.Cls.meth\n\
             \n\
             ----------------------------------------------------------------------\n\
             File \"/t/test_d.py\", line 5, in test_d.Cls.meth\n\
             Failed example:\n\
             \x20   f()\n\
             ----------------------------------------------------------------------\n\
             File \"/t/test_d.py\", line 7, in test_d.Cls.meth\n\
             Failed example:\n\
             \x20   g()\n\
             \n\
             ======================================================================\n\
             FAIL: plain (test_d)\n\
             ----------------------------------------------------------------------\n\
             Traceback (most recent call last):\n\
             AssertionError\n\
             \n\
             ----------------------------------------------------------------------\n\
             Ran 3 tests in 0.001s\n",
            false,
        );
        let got: Vec<_> =
            test(&run, "test_d").methods.iter().map(|m| (m.class.as_str(), m.name.as_str(), m.outcome)).collect();
        assert_eq!(got, [("", "test_d", MethodOutcome::Passed), ("test_d.Cls", "meth", MethodOutcome::Failed)]);
        let traceback = test(&run, "test_d").methods[1].traceback.as_deref().unwrap_or_default();
        assert!(traceback.ends_with("line 5, in test_d.Cls.meth\nFailed example:\n    f()\n----------------------------------------------------------------------\nFile \"/t/test_d.py\", line 7, in test_d.Cls.meth\nFailed example:\n    g()"), "{traceback}");
        assert_eq!(test(&run, "test_d").failed_methods, ["meth (test_d.Cls)", "plain (test_d)"]);
    }

    /// Tests that print lines like regrtest's for themselves: a result line (`test_x passed`,
    /// `test_x failed (reference leak)`), `test test_x failed` and a failing leak line. regrtest's
    /// own word decides: its result line printed after the test's output, its silence about a
    /// test that passed quickly (the next progress line names no result), and the summary's
    /// lists, which name every test that failed.
    #[test]
    fn golden_lines_a_test_prints_like_regrtests_do_not_decide_its_outcome() {
        let leak_lines = "test_imitates_leak_lines";
        let result_line = "test_imitates_result_line";
        for (file, input) in [
            ("3.11.2-seq-R", include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitations.txt")),
            ("3.11.2-seq-R-last", include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitations-last.txt")),
            ("3.13.5-seq-R", include_str!("../../tests/data/regrtest/3.13.5-seq-R-imitations.txt")),
            ("3.13.5-seq-R-last", include_str!("../../tests/data/regrtest/3.13.5-seq-R-imitations-last.txt")),
        ] {
            let run = parse(input, true);
            let imitates = test(&run, result_line);
            assert_eq!(imitates.outcome, Some(Outcome::Failed), "{file}");
            assert_eq!(imitates.result_text.as_deref(), Some("test_imitates_result_line failed (1 failure)"), "{file}");
            let leaks = test(&run, leak_lines);
            assert_eq!(leaks.outcome, Some(Outcome::Passed), "{file}");
            assert_ne!(
                leaks.result_text.as_deref(),
                Some("test_imitates_leak_lines failed (reference leak)"),
                "{file}"
            );
        }
        // Before the summary, regrtest's silence about a test it announced the next one after
        // says that it passed.
        let input = include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitations.txt");
        let cut = &input[..input.find("test_imitates_result_line passed").unwrap()];
        assert_eq!(outcome(&parse(cut, false), leak_lines), Outcome::Passed);
        // Without the summary's last lines its lists may be cut short: an unlisted test's
        // failure stands.
        let input = include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitations-last.txt");
        let cut = &input[..input.find("Total duration").unwrap()];
        assert_eq!(outcome(&parse(cut, false), leak_lines), Outcome::ReferenceLeak);
    }

    /// A test printing leak lines of every kind for itself, in every repetition (stdout and
    /// stderr), has none of regrtest's: those come after the marks of the last repetition, as
    /// the really leaking test's do.
    #[test]
    fn golden_leak_lines_a_test_prints_are_not_regrtests() {
        for (file, input) in [
            ("3.11.2-seq", include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitated-kinds.txt")),
            ("3.11.2-j2", include_str!("../../tests/data/regrtest/3.11.2-j2-R-imitated-kinds.txt")),
            ("3.13.5-seq", include_str!("../../tests/data/regrtest/3.13.5-seq-R-imitated-kinds.txt")),
            ("3.13.5-j2", include_str!("../../tests/data/regrtest/3.13.5-j2-R-imitated-kinds.txt")),
        ] {
            let run = parse(input, true);
            let imitates = test(&run, "test_imitates_leak_kinds");
            assert_eq!(imitates.outcome, Some(Outcome::Passed), "{file}");
            assert_eq!(
                (&imitates.references, &imitates.memory_blocks, &imitates.file_descriptors),
                (&None, &None, &None),
                "{file}"
            );
            let leaks = test(&run, "test_reflonly");
            assert_eq!(leaks.outcome, Some(Outcome::ReferenceLeak), "{file}");
            assert_eq!(leaks.references, leak(&[1, 1, 1], 3, true), "{file}");
        }
        // Lines the test printed before its repetitions' marks ended, and none after them:
        // without the line ending them, what came is believed.
        let input = include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitated-kinds.txt");
        let cut = &input[..input.find("\n.\n").unwrap()];
        assert_eq!(test(&parse(cut, false), "test_imitates_leak_kinds").references, leak(&[7, 7, 7], 21, true));
        // A test named twice keeps the first attempt's leak lines until it prints its own.
        let mut p = Parser::new();
        for line in [
            "0:00:00 load avg: 0.00 [1/2] test_a",
            "beginning 2 repetitions",
            "12",
            "..",
            "test_a leaked [1] references, sum=1",
            "0:00:01 load avg: 0.00 [2/2] test_a -- test_a failed (reference leak)",
            "beginning 2 repetitions",
            "12",
            ".test_a leaked [5] memory blocks, sum=5",
            ".",
        ] {
            p.feed_line(line.as_bytes());
        }
        let run = p.finish(false);
        assert_eq!(test(&run, "test_a").references, leak(&[1], 1, true));
        assert_eq!(test(&run, "test_a").memory_blocks, None);
    }

    #[test]
    fn golden_3_11_2_worker_killed_by_its_timeout() {
        let run = parse(include_str!("../../tests/data/regrtest/3.11.2-j2-timeout.txt"), true);
        assert_eq!(outcome(&run, "test_hang"), Outcome::TimedOut);
        assert_eq!(test(&run, "test_hang").result_text.as_deref(), Some("test_hang crashed (Exit code 1)"));
        let dump = test(&run, "test_hang").faulthandler.as_deref().unwrap_or_default();
        assert!(dump.starts_with("Timeout (0:00:02)!\nThread 0x"), "{dump}");
        assert!(dump.contains("test_hang.py\", line 4 in test_hang\n"), "{dump}");
        assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
    }

    /// Only a worker that exited with faulthandler's code 1 after faulthandler's `Timeout` line
    /// timed out; a worker bug stays one.
    #[test]
    fn a_worker_timed_out_only_by_faulthandler_s_exit() {
        let run = parse(
            "0:00:00 load avg: 0.00 Run 3 tests in parallel using 2 child processes\n\
             0:00:03 load avg: 0.00 [1/3/1] test_a crashed (Exit code 1)\n\
             Timeout (0:00:03)!\n\
             Thread 0x00007f0e0a0c6b80 (most recent call first):\n  File \"/t/test_a.py\", line 4 in test_a\n\
             0:00:03 load avg: 0.00 [2/3/2] test_b crashed (Exit code -9)\n\
             Timeout (0:00:03)!\n\
             0:00:03 load avg: 0.00 [3/3/3] test_c worker bug (Failed to parse worker process JSON: x)\n",
            false,
        );
        assert_eq!(outcome(&run, "test_a"), Outcome::TimedOut);
        assert_eq!(test(&run, "test_a").faulthandler.as_deref().map(|d| d.lines().count()), Some(3));
        assert_eq!(outcome(&run, "test_b"), Outcome::Crashed);
        assert_eq!(test(&run, "test_b").faulthandler.as_deref(), Some("Timeout (0:00:03)!"));
        assert_eq!(outcome(&run, "test_c"), Outcome::WorkerFailed);
    }

    #[test]
    fn golden_3_13_0_release_build_cannot_hunt_refleaks() {
        let run = parse(include_str!("../../tests/data/regrtest/3.13.0-seq-R-release-build.txt"), true);
        assert_eq!(outcome(&run, "test_ok"), Outcome::UncaughtException);
        assert_eq!(outcome(&run, "test_reflonly"), Outcome::UncaughtException);
        let summary = run.summary.expect("summary");
        assert_eq!(summary.result.as_deref(), Some("FAILURE"));
        assert_eq!(summary.total_tests, Some(2));
    }

    /// Real 3.13.0 `refleak.py` output; only the counter behind `sys.gettotalrefcount` was a
    /// stand-in (a release build lacks it), see `tests/data/regrtest/README.md`.
    #[test]
    fn golden_3_13_0_refleak_format_with_this_is_fine() {
        for (file, input) in [
            ("seq", include_str!("../../tests/data/regrtest/3.13.0-seq-R-fakerefcount.txt")),
            ("j2", include_str!("../../tests/data/regrtest/3.13.0-j2-R-fakerefcount.txt")),
        ] {
            let run = parse(input, true);
            let leaky = test(&run, "test_leaky");
            assert_eq!(leaky.outcome, Some(Outcome::ReferenceLeak), "{file}");
            assert_eq!(leaky.references, leak(&[1, 1, 1], 3, true), "{file}");
            assert_eq!(leaky.memory_blocks, leak(&[5, 5, 5], 15, true), "{file}");
            assert_eq!(leaky.file_descriptors, leak(&[1, 1, 1], 3, true), "{file}");
            assert_eq!(leaky.repetitions, Some(6), "{file}");
            let fine = test(&run, "test_fine");
            assert_eq!(fine.outcome, Some(Outcome::Passed), "{file}");
            assert_eq!(fine.references, leak(&[1, 0, 0], 1, false), "{file}");
            assert_eq!(fine.memory_blocks, leak(&[2, 0, 0], 2, false), "{file}");
            assert_eq!(outcome(&run, "test_failing"), Outcome::Failed, "{file}");
            assert_eq!(outcome(&run, "test_ok"), Outcome::Passed, "{file}");
        }
    }

    // --- Hand-built lines from the 3.12-3.14 sources -------------------------------------------

    #[test]
    fn result_strings_from_result_py() {
        let cases = [
            ("test_os passed", Outcome::Passed, "test_os passed"),
            ("test_os failed", Outcome::Failed, "test_os failed"),
            ("test_os failed (2 errors)", Outcome::Failed, "test_os failed (2 errors)"),
            ("test_os failed (1 failure)", Outcome::Failed, "test_os failed (1 failure)"),
            ("test_os failed (2 errors, 3 failures)", Outcome::Failed, "test_os failed (2 errors, 3 failures)"),
            ("test_os failed (uncaught exception)", Outcome::UncaughtException, "test_os failed (uncaught exception)"),
            ("test_os failed (reference leak)", Outcome::ReferenceLeak, "test_os failed (reference leak)"),
            ("test_os failed (env changed)", Outcome::EnvChanged, "test_os failed (env changed)"),
            ("test_os skipped", Outcome::Skipped, "test_os skipped"),
            ("test_os skipped (resource denied)", Outcome::ResourceDenied, "test_os skipped (resource denied)"),
            ("test_os interrupted", Outcome::Interrupted, "test_os interrupted"),
            ("test_os ran no tests", Outcome::RanNoTests, "test_os ran no tests"),
            ("test_os timed out (25 min)", Outcome::TimedOut, "test_os timed out (25 min)"),
            (
                "test_os timed out (1 hour 2 min) (Exit code 1)",
                Outcome::TimedOut,
                "test_os timed out (1 hour 2 min) (Exit code 1)",
            ),
            (
                "test_os worker non-zero exit code (Exit code -9 (SIGKILL))",
                Outcome::Crashed,
                "test_os worker non-zero exit code (Exit code -9 (SIGKILL))",
            ),
            (
                "test_os worker bug (Failed to parse worker process JSON: x (y))",
                Outcome::WorkerFailed,
                "test_os worker bug (Failed to parse worker process JSON: x (y))",
            ),
            ("test_os process crashed (Exit code 1)", Outcome::Crashed, "test_os process crashed (Exit code 1)"),
            ("test_os crashed (Exit code -11)", Outcome::Crashed, "test_os crashed (Exit code -11)"),
            // Durations are not part of the result.
            ("test.test_os passed (1 min 2 sec)", Outcome::Passed, "test.test_os passed"),
            ("test_os failed (2 errors) in 45.1 sec", Outcome::Failed, "test_os failed (2 errors)"),
            ("test_asyncio.test_tasks passed (2 hour 3 min)", Outcome::Passed, "test_asyncio.test_tasks passed"),
            ("test_os failed (reference leak) (500 ms)", Outcome::ReferenceLeak, "test_os failed (reference leak)"),
        ];
        for (input, want, text) in cases {
            let parsed = parse_result(input, true).unwrap_or_else(|| panic!("{input}"));
            assert_eq!(parsed.outcome, want, "{input}");
            assert_eq!(parsed.text, text, "{input}");
        }
        for junk in ["test_os skipped -- not on this box", "test_os passed the butter", "passed"] {
            assert!(parse_result(junk, true).is_none(), "{junk}");
        }
    }

    #[test]
    fn parallel_progress_3_13_with_running_suffix() {
        let mut p = Parser::new();
        p.feed_line(b"0:00:00 load avg: 1.50 Run 40 tests in parallel using 4 worker processes (timeout: 20 min, worker timeout: 25 min)\n");
        p.feed_line(b"0:00:30 load avg: 1.50 running (2): test_y (30.0 sec), test_z (30.1 sec)\n");
        assert_eq!(p.current_test(), None, "two running");
        p.feed_line(b"0:01:02 load avg: 1.50 [ 3/40/1] test_x failed (2 errors, 1 failure) (1 min 2 sec) -- running (1): test_y (45.1 sec)\n");
        assert_eq!(p.current_test(), Some("test_y"));
        p.feed_line(b"ERROR: test_q (test.test_x.T.test_q)\n"); // no separator before it
        p.feed_line(b"======================================================================\n");
        p.feed_line(b"FAIL: test_foo (test.test_x.TestClass.test_foo) [subtest 1]\n");
        p.feed_line(b"0:01:30 load avg: 1.50 running (1): test_y (1 min 30 sec)\n");
        assert_eq!(p.current_test(), Some("test_y"));
        let run = p.finish(false);
        let x = test(&run, "test_x");
        assert_eq!(x.outcome, Some(Outcome::Failed));
        assert_eq!(x.result_text.as_deref(), Some("test_x failed (2 errors, 1 failure)"));
        assert_eq!(x.failed_methods, strings(&["test_foo (test.test_x.TestClass.test_foo) [subtest 1]"]));
        // Without `-v`, the headers are all that names methods.
        assert_eq!(methods(&run, "test_x"), [("test.test_x.TestClass", "test_foo", MethodOutcome::Failed, None)]);
        assert_eq!(outcome(&run, "test_y"), Outcome::Unknown);
        assert_eq!(outcome(&run, "test_z"), Outcome::Unknown);
        assert_eq!(run.summary, None);
    }

    #[test]
    fn sequential_progress_with_previous_result_and_duration() {
        let mut p = Parser::new();
        p.feed_line(b"0:00:00 load avg: 0.10 Run 3 tests sequentially in a single process\n");
        p.feed_line(b"0:00:00 load avg: 0.10 [1/3] test_a\n");
        assert_eq!(p.current_test(), Some("test_a"));
        p.feed_line(b"0:01:02 load avg: 0.10 [2/3] test_b -- test_a passed in 1 min 2 sec\n");
        assert_eq!(p.current_test(), Some("test_b"));
        p.feed_line(b"0:01:03 load avg: 0.10 [3/3/1] test_c -- test_b failed (env changed)\n");
        p.feed_line(b"test_c timed out (20 min)\n");
        assert_eq!(p.current_test(), None);
        let run = p.finish(false);
        assert_eq!(test(&run, "test_a").result_text.as_deref(), Some("test_a passed"));
        assert_eq!(outcome(&run, "test_b"), Outcome::EnvChanged);
        assert_eq!(outcome(&run, "test_c"), Outcome::TimedOut);
    }

    #[test]
    fn colours_of_3_14_are_stripped() {
        let input = concat!(
            "0:00:00 load avg: 0.10 Run 2 tests sequentially in a single process\n",
            "0:00:00 load avg: 0.10 [1/2] test_a\n",
            "0:00:05 load avg: 0.10 [2/2/1] test_b -- \x1b[1;31m\x1b[1;31mtest_a failed (1 error)\x1b[0m\x1b[0m\r\n",
            "beginning 6 repetitions. Showing number of leaks (. for 0 or less, X for 10 or more)\n",
            "123:456\n",
            "XX. 111\n",
            "test_b leaked [1, 1, 1] references, sum=3\n",
            "\x1b[1;31mtest_b failed (reference leak)\x1b[0m\n",
            "\n",
            "== Tests result: \x1b[1;31mFAILURE\x1b[0m ==\n",
            "\n",
            "\x1b[1;31m2 tests failed:\x1b[0m\n",
            "    test_a test_b\n",
            "\n",
            "Total duration: 5.1 sec\n",
            "Total tests: run=10 failures=1\n",
            "Total test files: run=2/2 failed=2\n",
            "Result: \x1b[1;31mFAILURE\x1b[0m\n",
        );
        let run = parse(input, true);
        assert_eq!(outcome(&run, "test_a"), Outcome::Failed);
        assert_eq!(test(&run, "test_a").result_text.as_deref(), Some("test_a failed (1 error)"));
        assert_eq!(outcome(&run, "test_b"), Outcome::ReferenceLeak);
        assert_eq!(test(&run, "test_b").references, leak(&[1, 1, 1], 3, true));
        let summary = run.summary.expect("summary");
        assert_eq!(summary.result.as_deref(), Some("FAILURE"));
        assert_eq!(summary.failed, strings(&["test_a", "test_b"]));
        assert_eq!(summary.total_tests, Some(2));
    }

    #[test]
    fn summary_lists_wrap_and_all_ok() {
        let input = concat!(
            "0:00:00 load avg: 0.10 Run 30 tests sequentially\n",
            "0:00:00 load avg: 0.10 [ 1/30] test_a\n",
            "\n",
            "== Tests result: SUCCESS ==\n",
            "\n",
            "All 30 tests OK.\n",
            "\n",
            "3 tests skipped:\n",
            "    test_devpoll test_kqueue test_launcher test_msilib test_startfile\n",
            "    test_winconsoleio\n",
            "\n",
            "2 tests omitted:\n",
            "    test_x test_y\n",
            "Total duration: 2 min 3 sec\n",
            "Result: SUCCESS\n",
        );
        let run = parse(input, true);
        let summary = run.summary.clone().expect("summary");
        assert_eq!(summary.skipped.len(), 6, "names over two wrapped lines");
        assert_eq!(summary.omitted, strings(&["test_x", "test_y"]));
        assert_eq!(summary.passed_count, Some(30));
        assert_eq!(summary.total_tests, Some(30));
        assert_eq!(summary.total_duration.as_deref(), Some("2 min 3 sec"));
        assert_eq!(outcome(&run, "test_a"), Outcome::Passed);
        // Tests named only by the summary are reported too, omitted ones as never run.
        assert_eq!(outcome(&run, "test_winconsoleio"), Outcome::Skipped);
        assert_eq!(outcome(&run, "test_x"), Outcome::NotRun);
    }

    /// The tests of the quiet runs below, as their command lines named them.
    const QUIET_SELECTED: [&str; 6] =
        ["test_ok", "test_reflonly", "test_failing", "test_skipme", "test_resdenied", "test_envchange"];

    /// Quiet mode prints no result string: the summary lists a reference leak as failed, and
    /// the leak lines say why. Skipped tests are named nowhere, nor counted by 3.11.2.
    #[test]
    fn golden_3_11_2_quiet_mode_reference_leak_and_unnamed_skips() {
        let run = parse(include_str!("../../tests/data/regrtest/3.11.2-quiet-R.txt"), true);
        assert_eq!(names(&run), ["test_reflonly", "test_failing", "test_envchange"]);
        assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
        assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
        assert_eq!(outcome(&run, "test_envchange"), Outcome::EnvChanged);
        let skipped = run.quiet_skipped(&strings(&QUIET_SELECTED), &["test_ok"]);
        let skipped: Vec<(&str, Option<Outcome>)> = skipped.iter().map(|(t, _)| (t.name.as_str(), t.outcome)).collect();
        assert_eq!(skipped, [("test_skipme", Some(Outcome::Skipped)), ("test_resdenied", Some(Outcome::Skipped))]);
        let (_, note) = &run.quiet_skipped(&strings(&["test_skipme"]), &[])[0];
        assert!(note.contains("does not tell which"), "{note}");
    }

    /// 3.13 counts what it does not name: one skipped and one denied a resource, which is
    /// which it does not say.
    #[test]
    fn golden_3_13_5_quiet_mode_reference_leak_and_counted_skips() {
        let run = parse(include_str!("../../tests/data/regrtest/3.13.5-quiet-R.txt"), true);
        assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
        assert_eq!(test(&run, "test_reflonly").references, leak(&[1, 1, 1], 3, true));
        assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
        let summary = run.summary.as_ref().expect("summary");
        assert_eq!((summary.skipped_count, summary.resource_denied_count), (Some(1), Some(1)));
        let skipped = run.quiet_skipped(&strings(&QUIET_SELECTED), &["test_ok"]);
        let outcomes: Vec<(&str, Option<Outcome>)> =
            skipped.iter().map(|(t, _)| (t.name.as_str(), t.outcome)).collect();
        assert_eq!(outcomes, [("test_skipme", Some(Outcome::Skipped)), ("test_resdenied", Some(Outcome::Skipped))]);
        assert!(skipped[0].1.contains("does not tell which"), "{}", skipped[0].1);

        // Only skipped (the last test's leak has no result line either), or only denied.
        let run = parse(include_str!("../../tests/data/regrtest/3.13.5-quiet-R-skip.txt"), true);
        assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
        let skipped = run.quiet_skipped(&strings(&["test_ok", "test_skipme", "test_reflonly"]), &["test_ok"]);
        assert_eq!(skipped.len(), 1);
        assert_eq!((skipped[0].0.name.as_str(), skipped[0].0.outcome), ("test_skipme", Some(Outcome::Skipped)));
        assert!(!skipped[0].1.contains("does not tell"), "{}", skipped[0].1);
        let run = parse(include_str!("../../tests/data/regrtest/3.13.5-quiet-R-resdenied.txt"), true);
        let skipped = run.quiet_skipped(&strings(&["test_ok", "test_resdenied"]), &["test_ok"]);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].0.outcome, Some(Outcome::ResourceDenied));
    }

    /// Only quiet output with its summary: a run with progress lines names every test, and one
    /// without its summary may have stopped anywhere. A package whose modules ran is no test.
    #[test]
    fn quiet_skips_need_quiet_output_with_its_summary() {
        let quiet = include_str!("../../tests/data/regrtest/3.13.5-quiet-R-skip.txt");
        let selected = strings(&["test_ok", "test_skipme", "test_asyncio"]);
        let cut = quiet.find("== Tests result").expect("a summary");
        assert!(parse(&quiet[..cut], true).quiet_skipped(&selected, &["test_ok"]).is_empty());
        let run = parse(include_str!("../../tests/data/regrtest/3.13.5-seq-R-sigint.txt"), true);
        assert!(run.quiet_skipped(&selected, &[]).is_empty(), "progress lines name every test");
        let run = parse(quiet, true);
        let skipped = run.quiet_skipped(&selected, &["test_ok", "test_asyncio.test_tasks"]);
        let names: Vec<&str> = skipped.iter().map(|(t, _)| t.name.as_str()).collect();
        assert_eq!(names, ["test_skipme"]);
    }

    #[test]
    fn the_tests_a_regrtest_command_line_names() {
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let tests = |s: &str| selection(&argv(s)).map(|sel| (sel.tests, sel.huntrleaks));
        let named = |names: &[&str], huntrleaks| Some((strings(names), huntrleaks));
        assert_eq!(
            tests("python3.11-dbg -m test --testdir td -q -R 3:3 test_a test_b.py test_a"),
            named(&["test_a", "test_b"], true)
        );
        assert_eq!(tests("python -X dev -Em test -qR3:3 -j2 -u all -m test_x test_a"), named(&["test_a"], true));
        assert_eq!(
            tests("python -m test --huntr=: --testd td --match=x -- test.test_os"),
            named(&["test.test_os"], true)
        );
        assert_eq!(tests("python Lib/test/regrtest.py -q test_a"), named(&["test_a"], false));
        for none in [
            "python -m test -q",
            "python -m test -x test_a",
            "python -m test -qx test_a",
            "python -m test -f list.txt test_a",
            "python -m test --start test_a test_b",
            "python -m test --fromf=list test_a",
            "python -m test Lib/test/test_os.py",
            "python -m test.libregrtest.worker {}",
            "python -c pass test_a",
            "timeout 60 python -m test test_a",
        ] {
            assert_eq!(tests(none), None, "{none}");
        }
    }

    #[test]
    fn quiet_mode_summary_only() {
        let input = concat!(
            "test_x leaked [3, 3, 3] references, sum=9\n",
            "== Tests result: FAILURE ==\n",
            "\n",
            "10 tests OK.\n",
            "\n",
            "1 test failed:\n",
            "    test_x\n",
            "\n",
            "1 test altered the execution environment (env changed):\n",
            "    test_y\n",
            "\n",
            "1 test run no tests:\n",
            "    test_z\n",
        );
        let run = parse(input, true);
        assert_eq!(outcome(&run, "test_x"), Outcome::ReferenceLeak, "failed for its leak");
        assert_eq!(test(&run, "test_x").references, leak(&[3, 3, 3], 9, true));
        assert_eq!(outcome(&run, "test_y"), Outcome::EnvChanged);
        assert_eq!(outcome(&run, "test_z"), Outcome::RanNoTests);
        assert_eq!(run.summary.and_then(|s| s.total_tests), Some(13));
    }

    #[test]
    fn interrupted_sequential_run() {
        let input = concat!(
            "0:00:00 load avg: 0.10 Run tests sequentially\n",
            "0:00:00 load avg: 0.10 [1/5] test_a\n",
            "0:00:01 load avg: 0.10 [2/5] test_b\n",
            "\n",
            "\n",
            "== Tests result: INTERRUPTED ==\n",
            "Test suite interrupted by signal SIGINT.\n",
            "\n",
            "3 tests omitted:\n",
            "    test_c test_d test_e\n",
            "\n",
            "1 test OK.\n",
            "Total duration: 1.5 sec\n",
            "Tests result: INTERRUPTED\n",
        );
        let run = parse(input, true);
        assert_eq!(outcome(&run, "test_a"), Outcome::Passed);
        assert_eq!(outcome(&run, "test_b"), Outcome::Interrupted);
        assert!(run.summary.expect("summary").interrupted);
    }

    /// SIGINT: regrtest lists the tests it never started as omitted (with the interrupted
    /// one, which keeps its outcome), sequentially, in quiet mode and with `-j`.
    #[test]
    fn golden_tests_a_sigint_left_unstarted_are_not_run() {
        // 3.11.2's quiet output counts the test that passed nowhere.
        for (input, interrupted, total) in [
            (include_str!("../../tests/data/regrtest/3.11.2-seq-R-sigint.txt"), Some("test_sleep"), 4),
            (include_str!("../../tests/data/regrtest/3.13.5-seq-R-sigint.txt"), Some("test_sleep"), 4),
            (include_str!("../../tests/data/regrtest/3.11.2-quiet-R-sigint.txt"), None, 3),
            (include_str!("../../tests/data/regrtest/3.13.5-quiet-R-sigint.txt"), None, 4),
        ] {
            let run = parse(input, true);
            assert_eq!(outcome(&run, "test_reflonly"), Outcome::NotRun);
            assert_eq!(outcome(&run, "test_skipme"), Outcome::NotRun);
            match interrupted {
                Some(name) => {
                    assert_eq!(outcome(&run, name), Outcome::Interrupted);
                    assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
                }
                // Quiet: the interrupted test is named only as omitted.
                None => assert_eq!(outcome(&run, "test_sleep"), Outcome::NotRun),
            }
            assert_eq!(run.summary.and_then(|s| s.total_tests), Some(total));
        }
        for input in [
            include_str!("../../tests/data/regrtest/3.11.2-j2-R-sigint.txt"),
            include_str!("../../tests/data/regrtest/3.13.5-j2-R-sigint.txt"),
        ] {
            let run = parse(input, true);
            assert_eq!(outcome(&run, "test_sleep"), Outcome::NotRun, "the worker's test, named only as omitted");
            assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
            assert_eq!(run.tests.len(), 6);
        }
    }

    #[test]
    fn forever_mode_counts_attempts() {
        let mut p = Parser::new();
        for line in
            ["0:00:00 [  1] test_a", "0:00:00 [  2] test_a", "0:00:00 [  3] test_a -- test_a failed (1 failure)"]
        {
            p.feed_line(line.as_bytes());
        }
        let run = p.finish(false);
        let a = test(&run, "test_a");
        assert_eq!(a.attempts, 3);
        assert_eq!(a.outcome, Some(Outcome::Unknown));
    }

    #[test]
    fn pgo_prints_only_the_final_lines() {
        let input = "0:00:00 [1/2] test_a\n0:00:01 [2/2] test_b\n\nTotal duration: 1.0 sec\nTests result: SUCCESS\n";
        let run = parse(input, true);
        assert_eq!(outcome(&run, "test_b"), Outcome::Passed);
        assert_eq!(run.summary.and_then(|s| s.result), Some("SUCCESS".to_owned()));
    }

    #[test]
    fn lookalike_lines_in_test_output_are_not_believed() {
        let input = concat!(
            "0:00:00 load avg: 0.10 Run 1 test sequentially\n",
            "0:00:00 load avg: 0.10 [1/1] test_a\n",
            "test_b passed\n",          // not the current test
            "running: this is prose\n", // not a running list
            "3 tests failed:\n",        // no summary block open
            "    test_q\n",
            "Result: FAILURE\n",             // no summary yet
            "FAIL: test_zz (x.Y.test_zz)\n", // no separator line before it
            "test_a skipped -- a reason\n",  // the test's own skip message is not a result
        );
        let mut p = Parser::new();
        for line in input.lines() {
            p.feed_line(line.as_bytes());
        }
        assert_eq!(p.current_test(), Some("test_a"));
        let run = p.finish(true);
        assert_eq!(names(&run), ["test_a"]);
        assert_eq!(outcome(&run, "test_a"), Outcome::Unknown, "no summary was printed");
        assert!(test(&run, "test_a").failed_methods.is_empty());
        assert_eq!(run.summary, None);
    }

    #[test]
    fn leak_line_glued_to_test_output() {
        let mut p = Parser::new();
        p.feed_line(b"0:00:00 load avg: 0.10 [1/1] test.test_os\n");
        p.feed_line(b"beginning 10 repetitions\n");
        p.feed_line(b"some output without newline...test.test_os leaked [0, 1, 2, -1] file descriptors, sum=2\n");
        let run = p.finish(false);
        let os = test(&run, "test.test_os");
        assert_eq!(os.file_descriptors, leak(&[0, 1, 2, -1], 2, true));
        assert_eq!(os.repetitions, Some(10));
        assert_eq!(run.tests.len(), 1);
    }

    // --- Hostile input -------------------------------------------------------------------------

    #[test]
    fn hostile_lines_do_not_panic() {
        let mut huge = b"0:00:00 [1/1] test_huge ".to_vec();
        huge.extend(std::iter::repeat_n(b'x', 1 << 20));
        let mut huge_leak = b"test_a leaked [".to_vec();
        for _ in 0..200_000 {
            huge_leak.extend_from_slice(b"1, ");
        }
        huge_leak.extend_from_slice(b"1] references, sum=1");
        let mut garbage = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..100_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            garbage.push(seed.to_le_bytes()[0]);
        }
        let lines: Vec<Vec<u8>> = vec![
            b"\xff\xfe\x00[1/2] \xc3(\n".to_vec(),
            b"0:00:00 load avg: 0.10 [1/2] test_\xe2\x98\x83(odd)\xff\r\n".to_vec(),
            huge,
            huge_leak,
            garbage.clone(),
            b"\x1b".to_vec(),
            b"\x1b[".to_vec(),
            b"\x1b]0;title".to_vec(),
            b"\x1b[31".to_vec(),
            b"[".to_vec(),
            b"[99999999999999999999999/1] test_x".to_vec(),
            b"test_x leaked [99999999999999999999999] references, sum=1".to_vec(),
            b"test_x leaked [1, 1] references, sum=99999999999999999999".to_vec(),
            b"test_x leaked [,,] references, sum=0".to_vec(),
            b"beginning 99999999999 repetitions".to_vec(),
            b"== Tests result: ".to_vec(),
            b"== Tests result:  ==".to_vec(),
            b"99999999999999999999999 tests failed:".to_vec(),
            b"    ".to_vec(),
            b"Total test files: run=1/99999999999999999999999".to_vec(),
            b"running (1): ".to_vec(),
            b"0:00:00 [1/2] test_y failed (".to_vec(),
            b"0:00:00 [1/2] test_y -- ".to_vec(),
            b"0:00:00 [1/2] test_y -- running".to_vec(),
            b"Re-running  in verbose mode".to_vec(),
            b"\r\r\n".to_vec(),
            Vec::new(),
        ];
        let mut p = Parser::new();
        for line in &lines {
            p.feed_line(line);
            let _ = p.current_test();
        }
        for chunk in garbage.chunks(97) {
            p.feed_line(chunk);
        }
        for line in &lines {
            p.feed_line(line);
        }
        let run = p.finish(false);
        assert!(run.tests.iter().all(|t| t.outcome.is_some()));
        assert!(run.tests.iter().all(|t| t.name != "test_huge"), "over-long lines are skipped");
        assert!(run.tests.iter().any(|t| t.name.starts_with("test_\u{2603}(odd)")));
    }

    #[test]
    fn method_results_are_bounded_and_odd_method_lines_do_not_panic() {
        let mut p = Parser::new();
        p.feed_line(b"0:00:00 load avg: 0.01 [1/1] test_many");
        for i in 0..MAX_METHODS + 500 {
            p.feed_line(format!("test_{i} (test_many.C.test_{i}) ... ok").as_bytes());
        }
        let long_reason = format!("test_s (m.C.test_s) ... skipped '{}'", "r".repeat(1 << 16));
        let long_name = format!("test_{0} (m.C.test_{0}) ... ok", "n".repeat(MAX_FAILED_METHOD_LEN));
        for line in [
            long_reason.as_bytes(),
            long_name.as_bytes(),
            b"test_\xff (m.C.test_\xff) ... ok",
            b"... ok",
            b" ... FAIL",
            b"test_z (.test_z) ... ok",
            b"test_z (m..test_z) ... ok",
            b"  test_z (m.C.test_z) (i=\x1b[2J) ... ERROR",
        ] {
            p.feed_line(line);
        }
        // Many long tracebacks: each cut, all of them bounded together.
        for i in 0..200 {
            p.feed_line(b"======================================================================");
            p.feed_line(format!("FAIL: test_{i} (test_many.C.test_{i})").as_bytes());
            p.feed_line(b"----------------------------------------------------------------------");
            for _ in 0..100 {
                p.feed_line("x".repeat(1000).as_bytes());
            }
        }
        let run = p.finish(true);
        let methods = &test(&run, "test_many").methods;
        assert_eq!(methods.len(), MAX_METHODS);
        let kept: Vec<usize> = methods.iter().filter_map(|m| m.traceback.as_ref().map(String::len)).collect();
        assert!(kept.iter().all(|&n| n <= MAX_TRACEBACK_BYTES) && !kept.is_empty(), "{kept:?}");
        assert!(kept.iter().sum::<usize>() <= MAX_TEST_TRACEBACK_BYTES);
        assert!(methods.iter().all(|m| m.name.len() + m.class.len() <= MAX_FAILED_METHOD_LEN));
    }

    /// An assertion's message of 1 MiB on one line: the line is kept in the traceback, cut to
    /// the room left, with a marker saying how much is gone; both under a `FAIL:` header (-v)
    /// and with regrtest's `test X failed -- Traceback` (no -v).
    #[test]
    fn a_traceback_line_longer_than_any_limit_is_kept_cut() {
        let message = format!("AssertionError: {}", "L".repeat(1 << 20));
        let long_print = format!("test_long_print (test_long.Long.test_long_print) ... {}", "P".repeat(1 << 20));
        let verbose = [
            "0:00:00 load avg: 0.01 [1/1] test_long",
            "test_long_fail (test_long.Long.test_long_fail) ... FAIL",
            &long_print,
            "ok",
            "",
            "======================================================================",
            "FAIL: test_long_fail (test_long.Long.test_long_fail)",
            "----------------------------------------------------------------------",
            "Traceback (most recent call last):",
            "  File \"/t/test_long.py\", line 4, in test_long_fail",
            "    self.fail(\"L\" * (1024 * 1024))",
            &message,
            "",
            "----------------------------------------------------------------------",
            "Ran 2 tests in 0.010s",
            "test test_long failed",
            "test_long failed (1 failure)",
        ];
        let plain = [
            "0:00:00 load avg: 0.01 [1/1] test_long",
            "test test_long failed -- Traceback (most recent call last):",
            "  File \"/t/test_long.py\", line 4, in test_long_fail",
            "    self.fail(\"L\" * (1024 * 1024))",
            &message,
            "",
            "test_long failed (1 failure)",
        ];
        for (mode, lines) in [("-v", &verbose[..]), ("no -v", &plain[..])] {
            let mut p = Parser::new();
            for line in lines {
                p.feed_line(line.as_bytes());
            }
            let run = p.finish(true);
            let long = test(&run, "test_long");
            assert_eq!(long.outcome, Some(Outcome::Failed), "{mode}");
            let traceback = match mode {
                "-v" => long.methods[0].traceback.clone(),
                _ => long.traceback.clone(),
            }
            .unwrap_or_default();
            assert!(traceback.len() <= MAX_TRACEBACK_BYTES, "{mode}: {}", traceback.len());
            let last = traceback.lines().last().unwrap_or_default();
            let kept = last.trim_end_matches(|c: char| c != '[').trim_end_matches('[');
            assert!(kept.starts_with("AssertionError: LLLL"), "{mode}: {last:.100}");
            let gone = message.len() - kept.len();
            assert!(last.ends_with(&format!("LLL[... {gone} bytes cut]")), "{mode}: ...{}", &last[last.len() - 60..]);
            assert!(traceback.starts_with("Traceback (most recent call last):\n  File"), "{mode}");
            if mode == "-v" {
                // A method whose long output follows its description on its line.
                let got: Vec<_> = long.methods.iter().map(|m| (m.name.as_str(), m.outcome)).collect();
                assert_eq!(
                    got,
                    [("test_long_fail", MethodOutcome::Failed), ("test_long_print", MethodOutcome::Passed)]
                );
            }
        }

        // Cut at a character's start; a long line that fits after cutting keeps what follows.
        let wide = "\u{e9}".repeat(MAX_LINE_LEN); // 2 bytes each
        let line = format!("x{wide}\n");
        let (text, cut) = decode_line(line.as_bytes());
        assert_eq!((text.len(), cut), (MAX_LINE_LEN - 1, wide.len() + 1 - (MAX_LINE_LEN - 1)));
        assert!(!text.contains('\u{fffd}'));
        let mut text = CappedText::default();
        text.push_line("short", 0);
        text.push_line("cut by the parser", 100);
        text.push_line("next", 0);
        assert_eq!(text.finish(), "short\ncut by the parser[... 100 bytes cut]\nnext");
    }

    #[test]
    fn truncated_golden_input_never_panics() {
        let input = include_str!("../../tests/data/regrtest/3.12.1-j2-rerun.txt").as_bytes();
        for cut in (0..input.len()).step_by(37) {
            let mut p = Parser::new();
            for line in input[..cut].split(|&b| b == b'\n') {
                p.feed_line(line);
            }
            let run = p.finish(cut % 2 == 0);
            assert!(run.tests.iter().all(|t| t.outcome.is_some() && t.attempts >= 1));
        }
    }

    #[test]
    fn strip_ansi_keeps_text() {
        assert_eq!(&*strip_ansi(b"\x1b[1;31mred\x1b[0m plain"), b"red plain");
        assert_eq!(&*strip_ansi(b"a\x1b]8;;http://x\x07link\x1b]8;;\x1b\\b"), b"alinkb");
        assert_eq!(&*strip_ansi(b"\x1b(Bx\x1b7y"), b"xy");
        assert_eq!(&*strip_ansi(b"no escapes"), b"no escapes");
        assert_eq!(trim_line_ending(b"abc\r\n"), b"abc");
        assert_eq!(trim_line_ending(b"\n"), b"");
    }

    #[test]
    fn finish_on_empty_input() {
        let run = Parser::new().finish(true);
        assert_eq!(run, ParsedRun::default());
    }

    #[test]
    fn a_worker_seen_running_a_test_that_had_its_result_runs_it_again() {
        // `-j1 -F`: the test passed, and its worker runs it again when the run is stopped.
        let mut p = Parser::new();
        for line in [
            "0:00:00 load avg: 0.10 Run tests in parallel using 1 child processes (forever)\n",
            "0:00:01 load avg: 0.10 [1] test_x passed\n",
        ] {
            p.feed_line(line.as_bytes());
        }
        p.saw_running(&["test_x".to_owned(), "test_y".to_owned()]);
        let run = p.finish(false);
        let x = test(&run, "test_x");
        assert_eq!((x.outcome, x.attempts), (Some(Outcome::Unknown), 2), "{x:#?}");
        assert_eq!(test(&run, "test_y").outcome, Some(Outcome::Unknown));
    }
}
