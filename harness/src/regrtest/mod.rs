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
//!    nothing about quick passes); the last test passed if the output ended in a summary and
//!    the process completed, or was killed after that summary was whole (its `Total
//!    duration:` came: every result was out) (interrupted if the summary says so); anything
//!    else is [`Outcome::Unknown`]. Requiring the summary, not just a normal exit, matters
//!    because a sequential `--timeout` exits with status 1 and no summary while the test was
//!    still running, and because a re-run may die after the first run's summary.
//!
//! A test's leak lines are regrtest's: those printed after the marks of its last `-R`
//! repetition end their line; one the test printed itself before that (it ran still) is
//! dropped when they end (see `Marks` in `parser.rs`). regrtest lists a test that leaked as
//! failed: a failing leak line of a test that a whole summary printed after it does not list
//! (quiet mode, which announces no test, reads one naming any test) is dropped, and so is one
//! read where no regrtest ran (no run header, progress line or summary); a test named by
//! nothing else is no test. Quiet mode reads `test X failed -- ...`/`crashed -- ...` naming any
//! test too: a test that failed before its `-R` repetitions (its import raised) prints no leak
//! line, and that line, printed when regrtest ran it, is all that names it before the summary,
//! so a run ended before its summary (a signal, a later test's `os._exit`) keeps it, in its
//! place, with its outcome and traceback; a test only such a line made that a whole summary
//! printed after it does not list, or where no regrtest ran, is no test either (a test's output
//! imitating regrtest's line). A test's leak lines are those of the
//! attempt regrtest's verdict is about: a `--rerun`/`-w`
//! attempt starts without them, and those of the run before it are kept apart, with that run's
//! outcome, in [`TestResult::first_run`]. Other attempts (a test named twice, `--forever`) keep
//! them until they print their own, as they keep `repetitions` and `failed_methods`.
//!
//! **Test names** are whole as regrtest prints them: a test file's name may hold spaces, tabs
//! and escape sequences (regrtest finds `test_a b.py` itself when no test is named), and the
//! shim records it so. A progress line names a test from its `] ` on, a result line up to its
//! ` passed`/` failed`/..., a leak line up to its ` leaked [`; where the words read more than
//! one way (`test_a passed y failed`), the names known decide: those the output named before,
//! those the command line names ([`Parser::with_selected`]) and those the shim measured
//! ([`Parser::measured_names`]). Escape sequences are removed from a line to read it, and put
//! back into a name read from it (those between its first and last character). The summary's
//! lists, names joined by spaces and wrapped, are read by the names known once all are
//! (`parser/lists.rs`).
//!
//! **A command that runs regrtest more than once**, one run after another (a script: `python
//! -m test ...; python -m test ...`, a CI's `... || python -m test ...` retry): a run header
//! (`Run tests sequentially`) read after a whole summary (its `Total duration:` came, the last
//! thing regrtest prints) starts the next run, parsed afresh; so does a header before the run's
//! whole summary when the run's regrtest process is known to be gone
//! ([`Parser::feed_line_after_dead_run`]: it died, and the run is one that ended without its
//! summary, in [`ParsedRun::unfinished_runs`]). A test is the last run it ran in,
//! with its earlier runs, each resolved as its run's summary left it, in
//! [`TestResult::earlier_runs`]; the summary is the last run's, and
//! [`ParsedRun::run_results`] has every run's result. On the text alone (recorded output) a run
//! that ended without its whole summary (killed) is not told apart from the next.
//!
//! **Where things are.** This file has the types the parser returns and its limits;
//! `parser.rs` the [`Parser`], its state and how it resolves outcomes, with `parser/methods.rs`
//! for unittest's method lines, error lists and doctests, and `parser/lists.rs` for the
//! summary's lists of names; `patterns.rs` the regexes of
//! regrtest's lines; `text.rs` how a line is decoded and how long text is kept; `command.rs`
//! the one parser of regrtest's command line ([`regrtest_args`]) and what it selects
//! ([`is_regrtest_command`], [`selection`], [`junit_xml`]);
//! `tests.rs` the tests on whole outputs, most of them regrtest's real output.

#![forbid(unsafe_code)]

mod command;
mod parser;
mod patterns;
#[cfg(test)]
mod tests;
mod text;

use serde::Serialize;

pub use self::command::{is_regrtest_command, junit_xml, regrtest_args, selection, RegrtestArgs, Selection};
pub use self::parser::methods::class_in_module;
pub(crate) use self::parser::methods::{doctest_description, method_description};
pub use self::parser::Parser;
pub use self::patterns::traceback_frame;

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
/// Most `FAIL:`/`ERROR:` headers kept per method ([`MethodResult::headers`]).
pub const MAX_METHOD_HEADERS: usize = 50;
/// Longest traceback kept per failed method, and all of a test's together; the log has them.
pub const MAX_TRACEBACK_BYTES: usize = 16 * 1024;
const MAX_TEST_TRACEBACK_BYTES: usize = 1024 * 1024;
/// Per list in the summary.
const MAX_LIST_NAMES: usize = 100_000;
/// Most reasons kept for a test of the env changed list, and the longest (bytes).
const MAX_ENV_CHANGED_REASONS: usize = 20;
const MAX_ENV_CHANGED_REASON_LEN: usize = 1024;
/// Per test: the earlier regrtest runs kept (see [`TestResult::earlier_runs`]), the latest.
const MAX_EARLIER_RUNS: usize = 100;

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

impl Outcome {
    /// Whether regrtest counts the outcome as a failure (`env changed` only on request, which
    /// the run's summary says: not counted here).
    #[must_use]
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Failed
                | Outcome::UncaughtException
                | Outcome::ReferenceLeak
                | Outcome::Crashed
                | Outcome::TimedOut
                | Outcome::WorkerFailed
        )
    }
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
    /// As printed: `test_os`, `test.test_os` or `test_asyncio.test_tasks`; whole, also when it
    /// holds spaces, tabs or escape sequences (see the module documentation).
    pub name: String,
    /// None until known; [`Parser::finish`] resolves it.
    pub outcome: Option<Outcome>,
    /// regrtest's own result string for the last attempt, without a duration and without the
    /// ` -- running ...` tail, e.g. `test_os failed (2 errors)` or
    /// `test_x worker non-zero exit code (Exit code -9 (SIGKILL))`. None for 3.11.2's `-w`
    /// re-run (in-process), which prints none: the first run's is in [`FirstRun::result_text`].
    pub result_text: Option<String>,
    pub references: Option<LeakLine>,
    pub memory_blocks: Option<LeakLine>,
    pub file_descriptors: Option<LeakLine>,
    /// From `beginning N repetitions`.
    pub repetitions: Option<u32>,
    /// regrtest printed `beginning N repetitions` for the last attempt (`repetitions` may be an
    /// earlier one's): not for a test that passed in a `-j` worker under `-W`, which hides its
    /// output.
    pub repetitions_shown: bool,
    /// 1, or more when `--rerun`/`-w` (or `--forever`) ran it again.
    pub attempts: u32,
    /// A `Warning -- ` line (`support.print_warning`: `threading._dangling was modified by
    /// test_x`, `Dangling threads`, `Unraisable exception`) was read after the last attempt's
    /// `beginning N repetitions`: regrtest marks the environment altered (`env changed`) when it
    /// prints one. The test's own output can print one too: only a test regrtest's result line
    /// and summary were lost for goes by it (see `docs/report.md`).
    pub env_warned: bool,
    /// Why the test altered the execution environment, as the summary's env changed list of
    /// 3.14+ gives the reasons under its name (`os.environ was modified`, `files was modified`,
    /// `unraisable exception (ValueError)`), in the last summary block printed after it began.
    /// Empty before 3.14, whose list names the test alone.
    pub env_changed_reasons: Vec<String>,
    /// unittest's `FAIL: ...`/`ERROR: ...` headers, e.g.
    /// `test_foo (test.test_x.TestClass.test_foo)`, and the methods of an `unexpected success`
    /// (described as their verbose line does), deduplicated, over all attempts.
    pub failed_methods: Vec<String>,
    /// The traceback regrtest printed with `test X failed -- Traceback ...` (a single failure
    /// without `-v`; a doctest's with doctest's report of the examples that failed) or `test X
    /// crashed -- Traceback ...`, from `Traceback` on, to a blank line or a line regrtest starts
    /// (the next test's leak lines, which quiet mode's `-j` prints right after it) (the first
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
    /// doctest (`AssertionError: Failed doctest test for test_doct.bad`), its name as
    /// [`MethodResult`] names a doctest: the last part (`bad`), or for one of a module's
    /// `__test__` dict the key whole (`a.b` of `test_doct.__test__.a.b`). This output has
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
    /// Which of the regrtest runs of the command this is, from 0 (see
    /// [`ParsedRun::run_results`]).
    pub regrtest_run: usize,
    /// The test in the earlier regrtest runs of a command that ran regrtest more than once, one
    /// after another (a script: `python -m test ...; python -m test ...`), oldest first, each as
    /// its run left it (outcome resolved; `methods` left out); everything else here is the last
    /// run's that ran it.
    pub earlier_runs: Vec<TestResult>,
    /// The output interleaves regrtest runs ([`Parser::runs_interleave`]) and the outcome is
    /// this failure only because of that: read as one run's, the last summary block, which
    /// does not list the test so, would have taken back what regrtest's other lines said (or
    /// the earlier block that listed it so would not count). That block may be another run's.
    pub failure_kept: bool,
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
    /// Its result string (`test_x failed (1 failure)`), as [`TestResult::result_text`]: 3.11.2
    /// re-runs a test in its main process and prints no result string for the re-run, so this
    /// is the only one regrtest printed for the test (3.11.7 and 3.12+ re-run it in a worker,
    /// which has its own).
    pub result_text: Option<String>,
}

impl FirstRun {
    /// The leak lines regrtest counted as failures, as `references [1, 1, 1], memory blocks
    /// [1, 1, 1]`; None when there are none.
    #[must_use]
    pub fn failing_leaks(&self) -> Option<String> {
        failing_leaks([&self.references, &self.memory_blocks, &self.file_descriptors])
    }
}

/// See [`FirstRun::failing_leaks`]: references, memory blocks, file descriptors.
fn failing_leaks(lines: [&Option<LeakLine>; 3]) -> Option<String> {
    let failing: Vec<String> = ["references", "memory blocks", "file descriptors"]
        .into_iter()
        .zip(lines)
        .filter_map(|(what, line)| line.as_ref().filter(|l| l.failing).map(|l| format!("{what} {:?}", l.deltas)))
        .collect();
    (!failing.is_empty()).then(|| failing.join(", "))
}

impl TestResult {
    /// As [`FirstRun::failing_leaks`], for this attempt's leak lines.
    #[must_use]
    pub fn failing_leaks(&self) -> Option<String> {
        failing_leaks([&self.references, &self.memory_blocks, &self.file_descriptors])
    }

    /// The test as its first run left it, when regrtest re-ran it: that run's leak lines,
    /// outcome and result string, for a report whose measurement is that run's. None without a
    /// re-run.
    #[must_use]
    pub fn as_first_run(&self) -> Option<TestResult> {
        let first = self.first_run.as_ref()?;
        Some(TestResult {
            outcome: Some(first.outcome),
            result_text: first.result_text.clone(),
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
    /// 3.14+'s reasons under a test of the env changed list (`    test_x:`, then each reason
    /// on a line of its own indented by eight spaces), by test, in the order printed.
    pub env_changed_reasons: Vec<(String, Vec<String>)>,
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
    /// The run went on after this block to re-run its failed tests (`-w`/`--rerun`: 3.11
    /// `Re-running failed tests in verbose mode`, 3.12+ `Re-running N failed tests in verbose
    /// mode[ in subprocesses]`), and the output ended before the re-run's own summary (its
    /// `== Tests result` block, or `Total duration:`): regrtest stopped halfway (a test's
    /// `os._exit(0)` or a crash in the re-run, which 3.11 runs in its main process), though the
    /// first run's summary came.
    pub rerun_unfinished: bool,
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
    /// docstring). One of a module's `__test__` dict (`test_doct.__test__.KEY`) is named by its
    /// key whole, which may hold dots and spaces (`a.b`; `KEY.method` for a method of a class
    /// given there), in the class `test_doct.__test__`: unittest's description splits the name
    /// at its last dot anyway (`b (test_doct.__test__.a)`), so the parser reads the name from
    /// the `Doctest:` line (see `parser/methods.rs`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub doctest: bool,
    /// The `FAIL:`/`ERROR:` headers of its failure in the last error list that named it, as
    /// printed (`ERROR: test_x (m.C.test_x) (i=1)`): one per failing subtest, each with the
    /// subtest's description; at most [`MAX_METHOD_HEADERS`], `headers_left_out` counting the
    /// rest. Not in the JSON report, which has them in `failed_methods` (without the word).
    #[serde(skip)]
    pub headers: Vec<String>,
    #[serde(skip)]
    pub headers_left_out: usize,
}

/// Everything [`Parser::finish`] resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParsedRun {
    /// In order of first appearance; tests only named in the summary come last.
    pub tests: Vec<TestResult>,
    /// None if the run never got to its summary. One that a `-w`/`--rerun` re-run followed and
    /// the output ended in is there, [`Summary::rerun_unfinished`].
    pub summary: Option<Summary>,
    /// Whether any progress line was read. regrtest announces every test it runs in one,
    /// except in quiet mode (`-q`), where only the tests that failed are named (in their leak
    /// lines, failures and the summary's lists; see [`ParsedRun::quiet_skipped`]).
    pub progress_seen: bool,
    /// The error line of regrtest's command-line parser (`regrtest.py: error: unrecognized
    /// arguments: -E`), after its `usage: ` lines and before anything else of regrtest's: it
    /// ran no test and exited 2.
    pub usage_error: Option<String>,
    /// The result (`Tests result: X`) of each regrtest run the output holds, in order: more
    /// than one for a command that ran regrtest again after a run printed its whole summary (a
    /// run header after its `Total duration:`). None for a run without a summary; empty where no
    /// regrtest ran (no run header, progress line or summary). `summary` is the last run's.
    pub run_results: Vec<Option<String>>,
    /// The earlier runs (not the last: its `summary` is None) that ended without their summary:
    /// their regrtest died (a crash, a kill) and the command ran regrtest again.
    pub unfinished_runs: Vec<UnfinishedRun>,
    /// Every result the output's regrtest runs printed last (`Tests result: X`, 3.12+'s
    /// `Result: X`), in order: one per run that got to the end of its summary, also where runs
    /// at the same time interleave and the parser reads them as one (see
    /// [`Parser::runs_interleave`]).
    pub results_printed: Vec<String>,
    /// The crash dumps (faulthandler's, from `Fatal Python error: ...` on, as
    /// [`TestResult::faulthandler`]) that no test's output held, in order: in quiet mode (`-q`)
    /// with `-j`, regrtest prints a crashed worker's output with no result line naming its
    /// test (the report gives such a dump to the test whose worker the shim saw die; see
    /// `run::assemble`). At most 64.
    pub unowned_fault_dumps: Vec<String>,
}

/// A regrtest run, not the command's last, that ended without its summary (see
/// [`ParsedRun::unfinished_runs`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnfinishedRun {
    /// Which of the command's regrtest runs it was, from 0 (see [`TestResult::regrtest_run`]).
    pub run: usize,
    /// The tests it ended during: no result line, and no result or one the end itself gave
    /// (faulthandler's `Timeout`, a crash).
    pub running: Vec<String>,
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
