//! The regexes of regrtest's lines. Each is written against the `print`/`log` call that produces it
//! (file names are CPython's `Lib/test/libregrtest/`).

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// `utils.format_duration`: at most two parts, `%.1f sec` only when alone.
const DURATION: &str = r"(?:\d+ hour(?: \d+ (?:min|sec))?|\d+ min(?: \d+ sec)?|\d+(?:\.\d+)? sec|\d+ ms)";

pub(super) fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file, so failing here is a bug caught by any test.
    Regex::new(pattern).expect("regrtest pattern must compile")
}

/// `re`'s captures in `text`, looked for only once `is_match` (which allocates nothing) found
/// a match: every line of the output is tried against most of these patterns and almost none
/// matches, and `captures` allocates its capture slots on each call.
pub(super) fn captures<'t>(re: &Regex, text: &'t str) -> Option<Captures<'t>> {
    if re.is_match(text) {
        re.captures(text)
    } else {
        None
    }
}

/// `Regrtest.log` / `Logger.log`: `"%d:%02d:%02d"` then `load avg: %.2f` when available; an
/// empty message leaves no trailing space.
pub(super) static LOG_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\d+:\d{2}:\d{2}(?: load avg: \d+(?:\.\d+)?)?(?: |$)"));
/// A progress line glued to the end of a test's output that lacked a newline
/// (`...0:00:01 load avg: 0.50 [2/3] test_b -- test_a failed`): the log prefix's time then
/// the progress counter, anywhere in the line.
pub(super) static GLUED_PROGRESS: LazyLock<Regex> =
    LazyLock::new(|| re(r"\d+:\d{2}:\d{2}(?: load avg: \d+(?:\.\d+)?)? \[\s*\d+(?:/\d+){0,2}\] \S"));
/// `display_progress`: `[{index:{width}}{/total}{/fails}] text`.
pub(super) static PROGRESS: LazyLock<Regex> = LazyLock::new(|| re(r"^\[\s*(\d+)(?:/(\d+))?(?:/(\d+))?\] (\S.*)$"));
/// 3.11 `runtest_mp`: `running: a (30.0 sec), ...`; 3.12+ `get_running`: `running (N): ...`.
pub(super) static HEARTBEAT: LazyLock<Regex> = LazyLock::new(|| re(r"^running(?: \(\d+\))?: (.+)$"));
/// One test of those lists: `NAME (DURATION)`, the name as printed (spaces and all).
pub(super) static RUNNING_ENTRY: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"^(.+) \({DURATION}\)$")));
/// 3.11.2 `Run tests sequentially`/`in parallel using N child processes`; 3.11.7/3.12
/// `Run N tests sequentially`; 3.13+ `... sequentially in a single process`,
/// `... in parallel using N worker process(es)`.
pub(super) static RUN_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^Run (?:(\d+) tests?|tests) (?:(sequentially)|in parallel using \d+ (?:child|worker) process)")
});
/// 3.11.2 `Re-running failed tests in verbose mode`; 3.12+ `Re-running N failed tests in
/// verbose mode[ in subprocesses]`.
pub(super) static RERUN_BATCH: LazyLock<Regex> =
    LazyLock::new(|| re(r"^Re-running (?:\d+ )?failed tests in verbose mode"));
/// 3.11.2 `main.py` (logged, before the re-run) and 3.12+ `worker.py` (printed by the worker,
/// so it comes after the test's progress line).
pub(super) static RERUN_ONE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^Re-running (.+?) in verbose mode(?: \(matching: .*\))?$"));
/// `refleak.py`: 3.11/3.12 `beginning 6 repetitions`; 3.13+ adds `. Showing number of leaks ...`.
pub(super) static BEGINNING: LazyLock<Regex> = LazyLock::new(|| re(r"^beginning (\d+) repetitions(?:\.|$)"));
/// `refleak.py`: `'%s leaked %s %s, sum=%s' % (test_name, deltas, item_name, sum(deltas))`,
/// then 3.13+ `' (this is fine)'` for suspicious but non-failing deltas. The first group is all
/// that comes before ` leaked [`: the test's name as printed (which may hold spaces), after
/// any test output that lacked a newline (see `Parser::leak_owner`).
pub(super) static LEAK: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(.+?) leaked \[([-\d, ]*)\] (references|memory blocks|file descriptors), sum=(-?\d+)( \(this is fine\))?$")
});
/// unittest `TextTestResult.printErrorList`: a line of 70 `=`, then `FAIL: <desc>`.
pub(super) static UNITTEST_FAILURE: LazyLock<Regex> = LazyLock::new(|| re(r"^(FAIL|ERROR): (.+)$"));
/// `TextTestResult` with verbosity 2: `startTest` writes `DESCRIPTION ... `, the `add*` methods
/// the status word and a newline; 3.12+ adds ` (0.001s)` with `--durations`. The description
/// gets the docstring's first line on a line of its own when the test has one.
pub(super) static METHOD_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:^|\.\.\. )(ok|FAIL|ERROR|skipped (.*)|expected failure|unexpected success)(?: \(\d+\.\d+s\))?$")
});
/// [`METHOD_STATUS`] after test output that lacked a newline (`... ...ok`, `... hellook`):
/// only believed for a method whose status is due.
pub(super) static GLUED_METHOD_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(ok|FAIL|ERROR|skipped ('.*'|".*")|expected failure|unexpected success)(?: \(\d+\.\d+s\))?$"#)
});
/// `single.py`/`runtest.py`: `test {name} failed[ -- {exc}]`, `test {name} crashed -- {tb}`.
pub(super) static HINT: LazyLock<Regex> = LazyLock::new(|| re(r"^test .+? (?:failed|crashed)(?: -- |$)"));
/// Where [`HINT`]'s name may end: each ` failed`/` crashed` that ends the line or is followed by
/// ` -- ` (a name may hold spaces, and these words; see `Parser::hint`).
pub(super) static HINT_VERB: LazyLock<Regex> = LazyLock::new(|| re(r" (failed|crashed)(?: -- |$)"));
/// `DocTestCase.format_failure`'s first line, raised as unittest's failure.
pub(super) const DOCTEST_FAILURE: &str = "AssertionError: Failed doctest test for ";
/// `test_x skipped -- REASON`, printed by the process that ran the test: the name is one of
/// the tests known, ending before one of these (see `Parser::dispatch`).
pub(super) const SKIPPED: &str = " skipped -- ";
/// unittest's `TestLoader.testMethodPrefix`: the methods it runs as tests are named so.
pub(super) const TEST_METHOD_PREFIX: &str = "test";
/// A frame line of a Python traceback: `  File "...", line N, in NAME` (file, line, function).
static TRACEBACK_FRAME: LazyLock<Regex> = LazyLock::new(|| re(r#"^  File "(.*)", line (\d+), in (\w+)$"#));

/// The file, line and function of a frame line of a Python traceback (`  File
/// "/t/test_x.py", line 12, in test_foo`), as regrtest prints a failure's.
pub fn traceback_frame(text: &str) -> Option<(&str, usize, &str)> {
    let c = captures(&TRACEBACK_FRAME, text)?;
    Some((c.get(1)?.as_str(), c.get(2)?.as_str().parse().ok()?, c.get(3)?.as_str()))
}
/// 3.15+'s doctest (`_DocTestCaseRunner._add_traceback`) gives a failing example a frame of
/// its own, named by the doctest's dotted name (`in test_doct.bad`, `line None` for a
/// doctest of a `__test__` string): no function's name holds a dot.
pub(super) static DOCTEST_FRAME: LazyLock<Regex> =
    LazyLock::new(|| re(r#"^  File ".*", line (?:\d+|None), in ([^ ]*\..*)$"#));
/// faulthandler's `dump_traceback_later(timeout, exit=True)` header. Not anchored at the start:
/// it follows what the test wrote without a newline (`-v`'s `test_x (m.C.test_x) ... `, `-R`'s
/// marks); it ends its line.
pub(super) static FAULTHANDLER_TIMEOUT: LazyLock<Regex> =
    LazyLock::new(|| re(r"Timeout \(\d+:\d{2}:\d{2}(?:\.\d+)?\)!$"));
pub(super) static SUMMARY_HEADER: LazyLock<Regex> = LazyLock::new(|| re(r"^== Tests result: (.*) ==$"));
/// `display_result`: `count(n, "test")` + title, then `printlist` (indent 4, width 70).
pub(super) static LIST_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(\d+) (?:tests? (omitted|skipped|skipped \(resource denied\)|run no tests|altered the execution environment(?: \(env changed\))?|failed|failed again)|(re-run) tests?):$",
    )
});
pub(super) static OK_COUNT: LazyLock<Regex> = LazyLock::new(|| re(r"^(All )?(\d+) tests? OK\.$"));
pub(super) static TOTAL_DURATION: LazyLock<Regex> = LazyLock::new(|| re(r"^Total duration: (.+)$"));
/// 3.12+ `display_summary`: `Total test files: run=X[/N][ (filtered)] failed=...`.
pub(super) static TOTAL_FILES: LazyLock<Regex> = LazyLock::new(|| re(r"^Total test files: run=([\d,]+)(?:/([\d,]+))?"));
/// The counts [`TOTAL_FILES`] goes on with: ` skipped=N`, ` resource_denied=N`, ...
pub(super) static TOTAL_FILES_COUNT: LazyLock<Regex> = LazyLock::new(|| re(r" (skipped|resource_denied)=([\d,]+)"));
/// 3.11 `finalize`: `Tests result: X`; 3.12+ `display_summary`: `Result: X`.
pub(super) static FINAL_RESULT: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:Tests result|Result): (.+)$"));
pub(super) static INTERRUPTED: LazyLock<Regex> = LazyLock::new(|| re(r"^Test suite interrupted by signal SIGINT\.$"));
/// `TestResult.__str__` in 3.11.2 `runtest.py` and 3.12+ `result.py` (`process crashed` is the
/// short-lived `MULTIPROCESSING_ERROR` wording of 3.12 development): `{name} {verb}...`, the
/// name as printed. Each match is where a name may end (followed by a space or nothing); a
/// name may hold spaces, and these words (see `parse_result`).
pub(super) static RESULT_VERB: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r" (passed|failed|skipped|interrupted|crashed|process crashed|ran no tests|timed out|worker non-zero exit code|worker bug)",
    )
});
pub(super) static FAILED_QUALIFIER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^ \((uncaught exception|env changed|reference leak|\d+ errors?(?:, \d+ failures?)?|\d+ failures?)\)")
});
pub(super) static TIMED_OUT_QUALIFIER: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"^ \({DURATION}\)")));
/// What may follow a standalone result line: parenthesised extras (one nesting level, as in
/// `(Exit code -9 (SIGKILL))`) and the sequential ` in <duration>`.
pub(super) static STRICT_TAIL: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"^(?: \((?:[^()]|\([^()]*\))*\))*(?: in {DURATION})?$")));
pub(super) static TRAILING_IN_DURATION: LazyLock<Regex> = LazyLock::new(|| re(&format!(r" in {DURATION}$")));
pub(super) static TRAILING_PAREN_DURATION: LazyLock<Regex> = LazyLock::new(|| re(&format!(r" \({DURATION}\)$")));
