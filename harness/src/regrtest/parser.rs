//! The [`Parser`]: what it keeps while the output is read (per test, the summary, what is being
//! collected across lines: tracebacks, dumps, pending method lines), how it reads each line, and
//! how [`Parser::finish`] resolves outcomes (see the [module documentation](super)). unittest's
//! method lines, error lists and doctests are read in `methods.rs`.

mod lists;
pub(super) mod methods;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

#[cfg(test)]
pub(super) use self::lists::continues_wrapped_name;
use self::lists::{ListKind, ListLine};
use self::methods::{doctest_parts, method_description};
use super::patterns::{
    captures, traceback_frame, BEGINNING, DOCTEST_FAILURE, DOCTEST_FRAME, FAILED_QUALIFIER, FAULTHANDLER_TIMEOUT,
    FINAL_RESULT, HEARTBEAT, HINT, HINT_VERB, INTERRUPTED, LEAK, LIST_HEADER, LOG_PREFIX, OK_COUNT, PROGRESS,
    RERUN_BATCH, RERUN_ONE, RESULT_VERB, RUNNING_ENTRY, RUN_HEADER, SKIPPED, STRICT_TAIL, SUMMARY_HEADER,
    TEST_METHOD_PREFIX, TIMED_OUT_QUALIFIER, TOTAL_DURATION, TOTAL_FILES, TOTAL_FILES_COUNT, TRAILING_IN_DURATION,
    TRAILING_PAREN_DURATION, UNITTEST_FAILURE,
};
use super::text::{
    after_log_prefix, decode_line, parse_count, truncate_at_char_boundary, unglue_progress, CappedText, Printed,
};
use super::{
    FirstRun, LeakLine, MethodOutcome, Outcome, ParsedRun, Summary, TestResult, UnfinishedRun, MAX_EARLIER_RUNS,
    MAX_TESTS,
};

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
    /// Quiet mode: the test was first named by a `test X failed -- ...`/`crashed -- ...` line
    /// (see `Parser::hint_owner`), which the test's own output can imitate for any name.
    made_by_hint: bool,
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
    /// The methods (index into `result.methods`) given a traceback in the error list being
    /// printed: another header of the same method there is another of its subtests' failures,
    /// whose traceback joins the first's instead of replacing it (see [`ListedTraceback`]).
    /// A method's next status line (a later repetition or attempt) starts afresh.
    listed_tracebacks: HashMap<usize, ListedTraceback>,
    /// The methods (index into `result.methods`) whose header the error list being printed has
    /// named: another of their headers there is another failing subtest's, kept beside the
    /// first ([`crate::regrtest::MethodResult::headers`]). Cleared as `listed_tracebacks` is.
    listed_headers: HashSet<usize>,
    /// 3.15+: the doctests (index into `result.methods`) one of whose examples failed since
    /// their verbose line began: unittest's `... ok` for the doctest that follows its
    /// examples' statuses does not take that back (see `Parser::doctest_example_line`).
    failed_doctest_examples: HashSet<usize>,
    /// The marks of the current `-R` run's repetitions being counted (see [`Marks`]).
    marks: Option<Marks>,
    /// The leak lines the current attempt started with (an earlier attempt's, kept until it
    /// prints its own): what the end of its repetitions' marks puts back, as every leak line
    /// before it was the test's own output.
    leaks_at_start: [Option<LeakLine>; 3],
    /// Quiet mode: the test was first named by the last word of a leak line, and this is all
    /// that came before the line's ` leaked [` (see `Parser::adopt_measured_names`).
    leak_line_prefix: Option<String>,
}

/// A method's traceback kept from the error list being printed.
#[derive(Debug)]
struct ListedTraceback {
    /// The header of the first (`FAIL: test_x (m.C.test_x) (i=1)`), until a second came and
    /// it was put before the first's text.
    first_header: Option<String>,
    /// The joined text reached its bound: later ones are left to the log.
    full: bool,
}

/// What `support.print_warning` puts before each line of regrtest's warnings.
const WARNING_PREFIX: &str = "Warning -- ";

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

/// The first words of regrtest's own refusals of its command line, printed alone on stderr
/// before it exits 2 having run no test: `-R 0:2` in 3.11's `Regrtest.parse_args`
/// (`Lib/test/libregrtest/main.py`) and 3.13's `_parse_args` (`cmdline.py`), in those words.
const REFUSALS: &[&str] = &["Invalid values for the --huntrleaks/-R parameters."];

/// Incremental parser; see the [module documentation](super).
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
    /// The last run header said the tests run sequentially (3.13+ then prints a test's result
    /// in a progress line of its own, which is read as a `-j` one).
    sequential_run: bool,
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
    /// The lines of the current summary block's lists (and of the `failed again` list before
    /// it), as printed: read into names ([`Parser::settle_lists`]) once the tests' names are
    /// known, since a name may hold spaces (see `lists.rs`).
    list_lines: HashMap<ListKind, Vec<ListLine>>,
    /// How many names the headers of [`Parser::list_lines`]'s lists said they hold.
    list_counts: HashMap<ListKind, usize>,
    /// 3.14+'s env changed list: the entry of [`Summary::env_changed_reasons`] whose reasons
    /// the lines being read are.
    env_changed_reasons_of: Option<usize>,
    /// The tests the command line names (see [`Parser::with_selected`]).
    selected: HashSet<String>,
    /// The names of the tests the shim measured (see [`Parser::measured_names`]).
    measured: HashSet<String>,
    /// The line being read: where its text is, and the line as printed when that differs
    /// (see [`Parser::as_printed`]). None between lines.
    line: Option<LineOrigin>,
    prev_was_separator: bool,
    /// A verbose method line whose status has not come yet. The status follows the test's own
    /// output, or the docstring line.
    pending_method: Option<PendingMethod>,
    /// A doctest's description (`bad (test_doct)`) just read: a doctest's if the next line is
    /// its `Doctest: test_doct.bad` (see [`MethodResult::doctest`](super::MethodResult::doctest)).
    pending_doctest: Option<PendingDoctest>,
    /// See [`ParsedRun::progress_seen`].
    progress_seen: bool,
    /// regrtest's `Run tests sequentially`/`in parallel ...` header was read (quiet mode prints
    /// it too).
    run_header_seen: bool,
    /// A `usage: ` line came before any of regrtest's own lines (argparse prints its usage
    /// before its error).
    usage_seen: bool,
    /// See [`ParsedRun::usage_error`].
    usage_error: Option<String>,
    /// The traceback under a `FAIL:`/`ERROR:` header being read.
    traceback: Option<Traceback>,
    /// The traceback after `test X failed -- ` / `crashed -- ` being read.
    failure_traceback: Option<FailureTraceback>,
    /// faulthandler's dump being read.
    fault_dump: Option<FaultDump>,
    /// See [`ParsedRun::unowned_fault_dumps`].
    unowned_fault_dumps: Vec<String>,
    /// The earlier regrtest runs of a command that runs regrtest more than once, one after
    /// another (a script: `python -m test ...; python -m test ...`), resolved and merged (see
    /// [`merge_runs`]): a run header read after a whole summary starts the next run, which
    /// this parser's other fields are about.
    earlier: Option<Box<ParsedRun>>,
    /// The output interleaves regrtest runs that ran at the same time (see
    /// [`Parser::runs_interleave`]).
    interleaved: bool,
    /// Per test named in the lists of a summary block before the last (`== Tests result`
    /// replaces the lists): the most severe outcome they gave it and the last block (counted
    /// as `summary_blocks`) that gave it that. Interleaved runs' blocks are each a run's.
    listed_before: HashMap<String, (Outcome, u32)>,
    /// See [`ParsedRun::results_printed`].
    results_printed: Vec<String>,
    /// The last progress line read as regrtest's in its first run: its counter (`[n/N]`) and
    /// the test it announced or gave a result of (see [`Parser::believes_progress`]).
    last_progress: Option<LastProgress>,
    /// A run header came while a test ran sequentially, or a second one before the summary:
    /// another regrtest's output shares the pipe (a nested run the test shows, or one that
    /// runs at the same time), and a progress line's counter says nothing of which run it is.
    foreign_header: bool,
    /// The command line asks for quiet mode (`-q`), where regrtest prints no progress line
    /// (see [`Parser::quiet_run`]).
    quiet: bool,
    /// The re-run phase printed a run header of its own (3.11.7, 3.12+): its progress lines
    /// are numbered from 1 and judged (see [`Parser::believes_progress`]).
    rerun_header_seen: bool,
    /// A progress line of the first run was read after the last summary block began: that
    /// block was a test's output (a nested regrtest's summary), not regrtest's last word.
    progress_after_summary: bool,
}

/// See [`Parser::last_progress`].
#[derive(Debug, Clone, Copy)]
struct LastProgress {
    counter: usize,
    test: Option<usize>,
    /// It gave the result of `test` (3.12+'s sequential `[n/N] test_x failed`).
    result: bool,
}

/// `Tests result:` lines kept in [`ParsedRun::results_printed`]: far more regrtest runs than a
/// command runs.
const MAX_RESULTS_PRINTED: usize = 1_000;

/// The line being read, for taking a test name out of it as printed (see
/// [`Parser::as_printed`]).
#[derive(Debug)]
struct LineOrigin {
    /// The address of the line as read (`decode_line`'s text) and its length: a name read out
    /// of it is a slice of it, and where the slice is says which bytes of the line it is.
    start: usize,
    len: usize,
    /// The line as printed, when it held escape sequences.
    printed: Option<Printed>,
}

/// A method of a test named by a line whose continuation is due.
#[derive(Debug)]
struct PendingMethod {
    test: usize,
    class: String,
    method: String,
    doctest: bool,
    /// 3.15+: the doctest's line for one of its examples (`  bad (test_doct) [0]`) was read:
    /// the status due is that example's, a subtest's (see `Parser::doctest_example_line`).
    example: bool,
}

/// A line that may be a doctest's description, as unittest prints it (`b (m.__test__.a)`):
/// only the `Doctest:` line after it can say which name it splits (see
/// `methods::confirmed_doctest`).
#[derive(Debug)]
struct PendingDoctest {
    test: usize,
    description: String,
}

/// A `FAIL:`/`ERROR:` header whose description may be a doctest's: the line under it says.
#[derive(Debug)]
struct PendingHeader {
    /// Without the ` [N]` of a 3.15+ doctest example's header (`FAIL: bad (test_doct) [0]`).
    description: String,
    /// The header's description, when it had that ` [N]`: what `failed_methods` got for it.
    example: Option<String>,
    outcome: MethodOutcome,
    /// It reads as a unittest method's too (the traceback's `class` and `method`), which it
    /// is unless a `Doctest:` line says otherwise.
    unittest: bool,
}

/// A faulthandler dump being read (see [`TestResult::faulthandler`]).
#[derive(Debug)]
struct FaultDump {
    /// None for a crash's dump no test's output holds (see [`ParsedRun::unowned_fault_dumps`]).
    test: Option<usize>,
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
    /// The exception's line (the first line not indented after the frames) was read: a leak
    /// line after it is regrtest's, though its name has spaces and is not known yet (quiet
    /// mode's `-j` prints the next test's output right after the traceback).
    exception_read: bool,
}

/// A traceback of unittest's error list being collected for a method.
#[derive(Debug)]
struct Traceback {
    test: usize,
    /// Its header as unittest printed it: `FAIL: test_x (m.C.test_x) (i=1)`.
    heading: String,
    class: String,
    method: String,
    text: CappedText,
    /// The `-` line under the header was seen (the traceback starts after it).
    started: bool,
    /// A line between the header and the `-` line was seen: the docstring's first line.
    docstring_seen: bool,
    /// The header may name a doctest (`FAIL: bad (test_doct)`), if the docstring line says so
    /// (`Doctest: test_doct.bad`): until that line came. `class` and `method` are empty until
    /// then when it cannot be a unittest method's.
    header: Option<PendingHeader>,
    /// A `-` line read inside the traceback: the end of the error list's entry, unless a
    /// doctest's report of an example follows (doctest's divider, then `File "...", line N`).
    rule: Option<String>,
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

    /// A parser told the tests the command line names ([`super::selection`]): names a test may
    /// have where the output announces none (quiet mode), to read the summary lists by.
    pub fn with_selected(tests: &[String]) -> Self {
        Self { selected: tests.iter().cloned().collect(), ..Self::default() }
    }

    /// Tell the parser that the command line asks for quiet mode (`-q`): regrtest then prints
    /// no progress line, so one in the output is a test's own (unless another regrtest's output
    /// shares the pipe: a run header while a test runs).
    #[must_use]
    pub fn quiet_run(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    /// Tell the parser, before [`Parser::finish`], the names of the tests the shim measured
    /// in the run's regrtest, exactly as regrtest named them: the summary's lists are read
    /// by them (a name may hold spaces, and `printlist` joins the names with spaces; see
    /// `lists.rs`); a test that quiet mode named only in a leak line, whose words before the
    /// last are another test's output as far as that line tells, takes the measured name the
    /// line ends with; and a test read from the output under a name that differs from a
    /// measured one only in escape sequences or whitespace the output lost (at the name's
    /// edges, or a tab textwrap made spaces) takes the measured name, when no other test and
    /// no other measured name is alike.
    pub fn measured_names<S: AsRef<str>>(&mut self, names: impl IntoIterator<Item = S>) {
        for name in names {
            if self.measured.len() >= MAX_TESTS {
                break;
            }
            self.measured.insert(name.as_ref().to_owned());
        }
    }

    /// `part`, a slice of the line being read (its text as read: escape sequences removed), as
    /// regrtest printed it: with the escape sequences between its first and last character
    /// (a test name holding one, `test_x\x1b[31my`, is the name with it). `part` itself when
    /// the line had none, or `part` is not of the line.
    fn as_printed<'p>(&self, part: &'p str) -> Cow<'p, str> {
        let printed = self.line.as_ref().and_then(|line| {
            let printed = line.printed.as_ref()?;
            let start = (part.as_ptr() as usize).checked_sub(line.start)?;
            let end = start.checked_add(part.len()).filter(|&end| end <= line.len)?;
            printed.span(start, end)
        });
        printed.map_or(Cow::Borrowed(part), |p| Cow::Owned(p.to_owned()))
    }

    /// The line being read as printed, when it held escape sequences.
    fn printed_line(&self) -> Option<&str> {
        self.line.as_ref()?.printed.as_ref().map(Printed::text)
    }

    /// The test named `name` (a slice of the line being read, or a name), if known.
    fn lookup(&self, name: &str) -> Option<usize> {
        self.by_name.get(self.as_printed(name).as_ref()).copied()
    }

    /// Whether `name` (as [`Parser::lookup`] takes it) is a test's name as far as the parser
    /// knows: one the output named, the command line names, or the shim measured.
    fn is_known(&self, name: &str) -> bool {
        let name = self.as_printed(name);
        let name = name.as_ref();
        self.by_name.contains_key(name) || self.selected.contains(name) || self.measured.contains(name)
    }

    /// Feed one line, without or with its trailing newline. A run header after a whole summary
    /// starts the next regrtest run on the text alone: for output known to be one command's
    /// runs one after another (recorded output); a live run asks [`Parser::feed_line_checked`].
    pub fn feed_line(&mut self, line: &[u8]) {
        let next = self.run_header_ends_run(line);
        self.feed(line, next);
    }

    /// [`Parser::feed_line`], but a run header after a whole summary starts the next regrtest
    /// run only when `another_run` says that something besides the text supports it (the
    /// processes running regrtest): a test can print regrtest's summary and header, or run a
    /// regrtest of its own without capturing its output, in the middle of the run. Otherwise
    /// the line is read as any other line of the run.
    pub fn feed_line_checked(&mut self, line: &[u8], another_run: impl FnOnce() -> bool) {
        let next = self.run_header_ends_run(line) && another_run();
        self.feed(line, next);
    }

    /// Whether `line` is a run header that, by the text, starts another regrtest run: it comes
    /// after a whole summary.
    #[must_use]
    pub fn run_header_ends_run(&self, line: &[u8]) -> bool {
        self.in_summary && self.summary_complete && Self::is_run_header(line)
    }

    /// A run header read before the current run printed its whole summary, when something
    /// besides the text says that the run's regrtest is gone (its process died: a crash, a
    /// kill, in the middle of a test) and the header is another regrtest's, run after it (a
    /// script, a CI's `... || python -m test ...` retry). The run over ended without its
    /// summary, as when the output of a lone run ends so; the header starts the next run.
    /// On the text alone (no process seen) such a header is read as any other line of the run.
    pub fn feed_line_after_dead_run(&mut self, line: &[u8]) {
        let dead = self.run_header_after_unfinished_run(line);
        if dead {
            self.start_next_run_after(false);
        }
        self.feed(line, false);
    }

    /// Whether `line` is a run header that comes inside a regrtest run that has not printed
    /// its whole summary: a header, progress line or summary line of it came already. Only
    /// another sign (its process gone) says that the run died and the header starts another.
    #[must_use]
    pub fn run_header_after_unfinished_run(&self, line: &[u8]) -> bool {
        let run_begun = self.run_header_seen || self.progress_seen || self.summary_seen;
        run_begun && !(self.in_summary && self.summary_complete) && Self::is_run_header(line)
    }

    fn feed(&mut self, line: &[u8], next_run: bool) {
        if next_run {
            self.start_next_run_after(true);
        }
        let (decoded, cut) = decode_line(line);
        let printed = if cut == 0 { Printed::of(line) } else { None };
        self.line = Some(LineOrigin { start: decoded.as_ptr() as usize, len: decoded.len(), printed });
        self.read_line(&decoded, cut);
        self.line = None;
    }

    /// The line `decoded`, as read (see `decode_line`), `cut` bytes cut off its end.
    fn read_line(&mut self, decoded: &str, cut: usize) {
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
                self.pending_method =
                    self.subject.map(|test| PendingMethod { test, class, method, doctest: false, example: false });
            }
            return;
        }

        if self.usage_error.is_none() && !self.progress_seen && !self.summary_seen && self.tests.is_empty() {
            self.usage_line(text);
        }
        let was_separator = self.prev_was_separator;
        self.prev_was_separator = is_rule(text, b'=');
        self.count_marks(text);
        self.collect_traceback(text, 0);
        self.collect_fault_dump(text, 0);
        // The crash's message can follow the test's output on its line (`-R`'s dots, `... `).
        // A prebuilt finder: `str::find` sets up its searcher anew on every line.
        static FATAL_ERROR_FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(FATAL_ERROR));
        if let Some(at) = FATAL_ERROR_FINDER.find(text.as_bytes()) {
            self.start_fault_dump(&text[at..]);
        }
        // So can `--timeout`'s (`-v`'s `test_x (m.C.test_x) ... Timeout (0:00:05)!`), which ends
        // its line.
        if let Some(at) = FAULTHANDLER_TIMEOUT.find(text).map(|m| m.start()) {
            self.on_faulthandler_timeout();
            self.start_fault_dump(&text[at..]);
            if self.after_repetition_marks(&text[..at]).is_empty() {
                return;
            }
            // The method line before it is read as one whose status never came.
        }
        if self.collect_failure_traceback(text, 0) {
            return;
        }

        if self.collect_list_names(text) {
            return;
        }
        if let Some(pending) = doctest {
            // `bad (test_doct)` then `Doctest: test_doct.bad ... ` and its status, now or later.
            self.confirm_doctest(pending, text);
        }
        let text = unglue_progress(text);
        let rest = after_log_prefix(text);
        if rest.is_empty() {
            return;
        }
        self.dispatch(text, rest, was_separator);
    }

    /// Whether `line` is regrtest's `Run tests sequentially`/`in parallel ...` header.
    #[must_use]
    pub fn is_run_header(line: &[u8]) -> bool {
        // Every line goes through here: most lack the header's `Run ` and are no header (read
        // as the bytes are: escapes removed could join one, invalid UTF-8 replaced could not).
        static RUN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new("Run "));
        if memchr::memchr(0x1b, line).is_none() && RUN.find(line).is_none() {
            return false;
        }
        let (decoded, cut) = decode_line(line);
        cut == 0 && RUN_HEADER.is_match(after_log_prefix(unglue_progress(decoded.trim_end())))
    }

    /// A run header after a whole summary (its `Total duration:` came, the last thing regrtest
    /// prints; `completed`), or after a run whose process died before its summary: that
    /// regrtest is over, and the command runs another. The run over is resolved as the output
    /// left it, as [`Parser::finish`] would with `completed` (its process having printed
    /// everything, or died), and kept in [`Parser::earlier`]; the parser starts afresh for the
    /// next.
    fn start_next_run_after(&mut self, completed: bool) {
        let mut over = std::mem::take(self);
        // Of any run.
        self.saw_huntrleaks = over.saw_huntrleaks;
        self.interleaved = over.interleaved;
        self.selected = std::mem::take(&mut over.selected);
        self.quiet = over.quiet;
        let earlier = over.earlier.take();
        let mut over = over.finish_run(completed);
        if over.summary.as_ref().is_none_or(|s| s.rerun_unfinished) {
            let running = over
                .tests
                .iter()
                .filter(|t| {
                    t.result_text.is_none()
                        && matches!(t.outcome, Some(Outcome::Unknown | Outcome::Crashed | Outcome::TimedOut))
                })
                .map(|t| t.name.clone())
                .collect();
            over.unfinished_runs.push(UnfinishedRun { run: 0, running });
        }
        self.earlier = Some(Box::new(match earlier {
            Some(earlier) => merge_runs(*earlier, over),
            None => over,
        }));
    }

    /// argparse's report of a bad command line, before regrtest printed anything else:
    /// `usage: python -m test [options] ...`, more usage lines, then `regrtest.py: error: MSG`;
    /// or one of regrtest's own refusals of values argparse took (see [`REFUSALS`]).
    fn usage_line(&mut self, text: &str) {
        if text.starts_with("usage: ") {
            self.usage_seen = true;
        } else if (self.usage_seen && text.starts_with("regrtest") && text.contains(": error: "))
            || REFUSALS.iter().any(|refusal| text.starts_with(refusal))
        {
            self.usage_error = Some(crate::escape::truncate_with_ellipsis(text, 500));
        }
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

    /// The unittest method the verbose output (`-v`) shows running now in sequential mode: the
    /// last method line (`test_foo (test_x.Class.test_foo) ... `) of the current test whose
    /// status has not come yet, as `(class, method)` (`test_x.Class`, `test_foo`). `None` with
    /// `-j` (a worker's output is printed when its test is over), without `-v`, and between
    /// two methods.
    #[must_use]
    pub fn running_method(&self) -> Option<(&str, &str)> {
        let pending = self.pending_method.as_ref().filter(|p| !self.parallel && !p.doctest)?;
        (Some(pending.test) == self.current && self.current_test().is_some())
            .then_some((pending.class.as_str(), pending.method.as_str()))
    }

    /// Whether the run has `-j` workers, as far as the output told.
    #[must_use]
    pub fn is_parallel(&self) -> bool {
        self.parallel
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

    /// Whether any `beginning N repetitions` line was seen (i.e. `-R` was in effect), in any
    /// regrtest run of the command.
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

    /// Say that the output interleaves regrtest runs that ran at the same time (a script's
    /// `&`, or a fork of a regrtest process that went on running regrtest), which the caller
    /// knows from the processes: a summary block may then be another run's than the test's,
    /// so none takes back what other lines said of a test. [`Parser::finish`] then keeps a
    /// failure that regrtest's lines gave a test (its result line, `test X failed -- ...`, its
    /// failing leak lines, a summary block's lists) though a later block does not list it (a
    /// test's own output imitating those lines is believed then), and gives a test the most
    /// severe outcome the blocks printed after it began list it with; such a test is marked
    /// [`TestResult::failure_kept`]. For the run being read: one read apart before it (a
    /// header after a whole summary, its process gone) was resolved already.
    pub fn runs_interleave(&mut self) {
        self.interleaved = true;
    }

    /// Resolve outcomes and return everything, tests in order of first appearance.
    /// `run_completed`: the regrtest process exited normally (not killed by a signal / crashed).
    /// A command that ran regrtest more than once gets each test as the last run it ran in left
    /// it, with the runs before in [`TestResult::earlier_runs`] (see `merge_runs`).
    #[must_use]
    pub fn finish(mut self, run_completed: bool) -> ParsedRun {
        let earlier = self.earlier.take();
        let last = self.finish_run(run_completed);
        match earlier {
            Some(earlier) => merge_runs(*earlier, last),
            None => last,
        }
    }

    /// [`Parser::finish`] for the one regrtest run this parser's state is about.
    fn finish_run(mut self, run_completed: bool) -> ParsedRun {
        // The output may end inside a traceback.
        self.finish_traceback();
        self.finish_failure_traceback();
        self.finish_fault_dump();
        self.adopt_measured_names();
        self.settle_lists();
        let lists_whole = self.failure_lists_whole();
        let progress_after_summary = self.progress_after_summary;
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
            run_header_seen,
            usage_error,
            interleaved,
            listed_before,
            results_printed,
            unowned_fault_dumps,
            ..
        } = self;
        let mut summary = summary;
        // The output ended in the summary, not in a re-run that followed an earlier one; and
        // regrtest exited on its own, or printed its last block whole (its `Total duration:`
        // came, which it prints once, at the very end): a signal that came after that ended a
        // run whose results were all out.
        let reached_end = in_summary && (run_completed || summary_complete);
        let interrupted = summary.interrupted || summary.result.as_deref().is_some_and(|r| r.contains("INTERRUPTED"));

        let mut out: Vec<TestResult> = Vec::with_capacity(tests.len());
        for (index, state) in tests.into_iter().enumerate() {
            let TestState {
                mut result,
                explicit,
                explicit_standalone,
                hint,
                made_by_hint,
                announced,
                finished,
                blocks_at_start,
                ..
            } = state;
            let covered = summary_blocks > blocks_at_start;
            // The last summary block came after the attempt began, whole, with its lists of
            // failures whole, is this run's alone, no progress line came after it, and regrtest
            // exited on its own: it names every test of the attempt that failed or altered the
            // environment, and the test's own output cannot change it. (A summary a test
            // printed, a nested regrtest's, is followed by regrtest's next progress line or, if
            // the run died in that test, by no exit of regrtest's own.)
            let summary_decides =
                covered && summary_complete && lists_whole && !interleaved && !progress_after_summary && run_completed;
            let listed_anywhere = outcome_lists(&summary)
                .into_iter()
                .chain([&summary.omitted, &summary.rerun])
                .any(|list| list.contains(&result.name));
            let inferred = if finished {
                Outcome::Passed
            } else if announced && current == Some(index) && reached_end {
                if interrupted {
                    Outcome::Interrupted
                } else {
                    Outcome::Passed
                }
            } else if announced && summary_decides && !interrupted && !listed_anywhere {
                // Announced, and the run went on to a summary that names it nowhere: it
                // passed, though a line the test printed took it for ended or another's.
                Outcome::Passed
            } else {
                Outcome::Unknown
            };
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
            // Interleaved runs: the summary may be another run's, and takes nothing back.
            let dropped_explicit =
                explicit.filter(|o| unlisted && (explicit_standalone || summary_decides) && failure(o));
            let dropped_hint = hint.filter(|o| unlisted && failure(o));
            let (explicit, hint) = if interleaved {
                (explicit, hint)
            } else {
                (explicit.filter(|_| dropped_explicit.is_none()), hint.filter(|_| dropped_hint.is_none()))
            };
            // Leak lines too: regrtest counts a leak as a failure, which its summary lists, so
            // a failing leak line of a test it does not list was the test's own output (quiet
            // mode, which announces no test, takes a leak line naming any test for its). With
            // no header, progress line or summary of regrtest's, no regrtest ran: a leak line
            // is anybody's output.
            let no_regrtest = !run_header_seen && !progress_seen && !summary_seen;
            let leak_unlisted = no_regrtest
                || (!interleaved && covered && summary_complete && {
                    let has = |list: &Vec<String>| list.contains(&result.name);
                    !has(&summary.failed) && !has(&summary.failed_again)
                });
            let mut leaks_dropped = false;
            if leak_unlisted {
                for line in [&mut result.references, &mut result.memory_blocks, &mut result.file_descriptors] {
                    if line.as_ref().is_some_and(|l| l.failing) {
                        *line = None;
                        leaks_dropped = true;
                    }
                }
            }
            if explicit.is_none() && explicit_standalone {
                result.result_text = None;
            }
            if covered {
                result.env_changed_reasons = listed_reasons(&summary, &result.name);
            }
            let from_summary = if covered {
                summary_outcome(&summary, &result.name)
            } else if summary.failed_again.contains(&result.name) {
                // Printed after the re-run, just before the block the run did not get to.
                Some(Outcome::Failed)
            } else {
                None
            };
            // An earlier block printed after the test began, when the runs interleave: as much
            // the test's run's as the last one.
            let listed_earlier = listed_before
                .get(&result.name)
                .filter(|(_, block)| interleaved && *block > blocks_at_start)
                .map(|&(outcome, _)| outcome);
            let last_block = from_summary;
            let from_summary = more_severe_listed(from_summary, listed_earlier);
            // Quiet mode prints no result string. A test the summary lists as failed that
            // printed a failing leak line failed for the leak: regrtest prints those lines after
            // the last repetition, which a test failing otherwise never gets to.
            let for_leak = |outcome: Outcome| match outcome {
                Outcome::Failed if failing_leak(&result) => Outcome::ReferenceLeak,
                other => other,
            };
            let (from_summary, last_block) = (from_summary.map(for_leak), last_block.map(for_leak));
            // A test named by nothing but such leak lines, or quiet mode's `test X failed -- `
            // line that the summary took back (quiet mode's, or no regrtest's), is none of
            // regrtest's. What the hint line brought (its traceback) goes with it.
            let hint_dropped = made_by_hint && (hint.is_none() || no_regrtest);
            let phantom = (leaks_dropped || hint_dropped)
                && explicit.is_none()
                && (hint.is_none() || hint_dropped)
                && from_summary.is_none()
                && !announced
                && !finished
                && !summary.omitted.contains(&result.name)
                && !summary.rerun.contains(&result.name)
                && named_by_leak_lines_only(&result, made_by_hint);
            if phantom {
                continue;
            }
            // A pass a result line gave, which a summary that decides lists as a failure: the
            // test printed that line itself, and regrtest's was taken for a copy (its counter
            // repeated the pass's).
            let explicit = explicit
                .filter(|o| !(*o == Outcome::Passed && summary_decides && from_summary.as_ref().is_some_and(failure)));
            let outcome = explicit.or(hint).or(from_summary).unwrap_or(inferred);
            // What the last summary block would have left, had the runs not interleaved.
            let alone = if interleaved {
                let explicit = explicit.filter(|_| dropped_explicit.is_none());
                let hint = hint.filter(|_| dropped_hint.is_none());
                explicit.or(hint).or(last_block).unwrap_or(inferred)
            } else {
                outcome
            };
            result.failure_kept = failure(&outcome) && outcome != alone;
            result.outcome = Some(outcome);
            if summary.rerun.contains(&result.name) {
                result.attempts = result.attempts.max(2);
            }
            out.push(result);
        }

        // In quiet mode (`-q`) the summary may be all there is about a test; and regrtest never
        // announced the tests it did not get to.
        if summary_seen {
            let named = outcome_lists(&summary).into_iter().chain([&summary.omitted]);
            let mut added: HashSet<&str> = HashSet::new();
            let mut extra = Vec::new();
            // Interleaved runs: an earlier block is as much a run's summary as the last.
            let mut earlier: Vec<&String> = listed_before.keys().filter(|_| interleaved).collect();
            earlier.sort();
            for name in named.into_iter().flatten().chain(earlier) {
                if out.len() + extra.len() >= MAX_TESTS || by_name.contains_key(name) || !added.insert(name.as_str()) {
                    continue;
                }
                // An omitted test that started is known already (its progress line): it was
                // interrupted, which regrtest counts as not run.
                let omitted = summary.omitted.contains(name).then_some(Outcome::NotRun);
                let last = summary_outcome(&summary, name);
                let earlier = listed_before.get(name).map(|&(outcome, _)| outcome).filter(|_| interleaved);
                let listed = more_severe_listed(last, earlier);
                extra.push(TestResult {
                    name: name.clone(),
                    outcome: Some(listed.or(omitted).unwrap_or(Outcome::Unknown)),
                    attempts: if summary.rerun.contains(name) { 2 } else { 1 },
                    failure_kept: listed_rank(listed.unwrap_or(Outcome::Unknown))
                        > listed_rank(last.unwrap_or(Outcome::Unknown)),
                    env_changed_reasons: listed_reasons(&summary, name),
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
        // None at all where no regrtest ran.
        let ran = run_header_seen || progress_seen || summary_seen;
        let run_results = if ran { vec![summary.result.clone().filter(|_| summary_seen)] } else { Vec::new() };
        ParsedRun {
            tests: out,
            summary: summary_seen.then_some(summary),
            progress_seen,
            usage_error,
            run_results,
            unfinished_runs: Vec::new(),
            results_printed,
            unowned_fault_dumps,
        }
    }

    // -----------------------------------------------------------------------------------------

    fn dispatch(&mut self, text: &str, rest: &str, was_separator: bool) {
        if let Some(c) = captures(&PROGRESS, rest) {
            let counter = c.get(1).and_then(|m| m.as_str().parse::<usize>().ok());
            let total = c.get(2).and_then(|m| m.as_str().parse::<usize>().ok());
            let body = c.get(4).map_or("", |m| m.as_str());
            self.on_progress(counter, total, body);
            return;
        }
        if let Some(c) = captures(&HEARTBEAT, rest) {
            if let Some(names) = parse_running_list(c.get(1).map_or("", |m| m.as_str())) {
                // Only -j prints these, even when its header was not seen.
                self.parallel = true;
                let names = names.into_iter().map(|name| self.as_printed(name).into_owned()).collect();
                self.set_running(names);
                return;
            }
        }
        if let Some(c) = captures(&RUN_HEADER, rest) {
            if self.current.is_some() && !self.parallel && !self.rerun_phase {
                // The header of a regrtest that the running test started (its output shares
                // the pipe): this run stays sequential.
                self.foreign_header = true;
                return;
            }
            self.end_summary_block();
            // A second header before this run's summary, not a re-run's: another regrtest
            // started at the same time (a header after a whole summary, or after a run that
            // died, starts a parser of its own).
            self.foreign_header |= self.run_header_seen && !self.rerun_phase;
            self.rerun_header_seen |= self.rerun_phase;
            self.run_header_seen = true;
            self.last_progress = None;
            self.parallel = c.get(2).is_none();
            self.sequential_run = c.get(2).is_some();
            if !self.rerun_phase && self.first_run_total.is_none() {
                self.first_run_total = c.get(1).and_then(|m| m.as_str().parse().ok());
            }
            return;
        }
        if RERUN_BATCH.is_match(rest) {
            self.end_summary_block();
            self.rerun_phase = true;
            self.rerun_header_seen = false;
            // The first run's `== Tests result: X ==` is not the run's result: the re-run's
            // end says that, if the run gets there. Until then the run is not over.
            self.summary.result = None;
            self.summary.rerun_unfinished = self.summary_seen;
            return;
        }
        if let Some(c) = captures(&RERUN_ONE, rest) {
            self.on_rerun_one(c.get(1).map_or("", |m| m.as_str()));
            return;
        }
        if let Some(c) = captures(&BEGINNING, text) {
            self.saw_huntrleaks = true;
            let reps = c.get(1).and_then(|m| m.as_str().parse::<u32>().ok());
            if let Some(state) = self.subject.and_then(|i| self.tests.get_mut(i)) {
                state.result.repetitions = reps;
                state.result.repetitions_shown = true;
                state.marks = reps.and_then(|n| usize::try_from(n).ok()).filter(|&n| n > 0).map(|repetitions| Marks {
                    repetitions,
                    seen: 0,
                    header_due: true,
                });
            }
            return;
        }
        if let Some(c) = captures(&LEAK, text) {
            self.on_leak(&c);
            return;
        }
        if was_separator {
            if let Some(c) = captures(&UNITTEST_FAILURE, text) {
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
        if let Some((name, verb)) = self.hint(marked) {
            let outcome = match verb {
                "crashed" => Outcome::UncaughtException,
                _ => Outcome::Failed,
            };
            if let Some(i) = self.hint_owner(name) {
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
                        exception_read: false,
                    });
                }
            }
            return;
        }
        // `test_x skipped -- REASON`: the name, which may hold spaces (and the words), is a
        // known test's; the longest such.
        static SKIPPED_FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(SKIPPED));
        if SKIPPED_FINDER.find(rest.as_bytes()).is_some() {
            let line = self.after_repetition_marks(rest);
            let skip = SKIPPED_FINDER
                .find_iter(line.as_bytes())
                .filter(|&at| at > 0 && line.len() > at + SKIPPED.len())
                .filter_map(|at| Some((self.lookup(&line[..at])?, &line[at + SKIPPED.len()..])))
                .last();
            if let Some((i, reason)) = skip {
                self.tests[i].result.skip_reason = Some(truncate_at_char_boundary(reason, 1024).to_owned());
            }
        }
        if marked.starts_with(WARNING_PREFIX) {
            if let Some(state) = self.subject.and_then(|i| self.tests.get_mut(i)) {
                state.result.env_warned |= state.result.repetitions_shown;
            }
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

    fn on_progress(&mut self, counter: Option<usize>, total: Option<usize>, body: &str) {
        if !self.rerun_phase && total.is_some() && self.first_run_total.is_some_and(|expected| Some(expected) != total)
        {
            // Another run's progress (a test quoting a child regrtest's output): not ours.
            return;
        }
        let Some(replaces_result) = self.believes_progress(counter, body) else {
            return;
        };
        self.end_summary_block();
        self.progress_seen = true;
        self.progress_after_summary |= self.summary_blocks > 0 && !self.rerun_phase;
        if !self.rerun_phase && self.first_run_total.is_none() {
            self.first_run_total = total;
        }
        // A test's name is all regrtest printed of it, spaces too: what follows it, if
        // anything, is read by its form, the names known deciding where one reads two ways.
        // Sequentially, 3.11 names the test before with its result: `[2/3] test_b -- test_a
        // failed (1 error)`, test_a being the test announced.
        if let Some((name, previous)) = self.after_previous_result(body, true) {
            self.previous_result(previous);
            self.announce(name);
            self.progress_read(counter, false);
            return;
        }
        // -j: `[n/N] test_x passed (1 min 2 sec) -- running (2): test_y (45.1 sec), ...`; 3.13+
        // sequentially, the announced test's result: `[n/N] test_x passed`.
        let (result_part, running_part) = match body.find(" -- running") {
            Some(at) => (&body[..at], Some(&body[at + " -- ".len()..])),
            None => (body, None),
        };
        // A run said to be sequential prints only the announced test's result so (3.13+): a
        // name of a reading there is a known one, not a new test's whose name holds the words.
        let sequential = self.sequential_run && !self.rerun_phase;
        let parsed = self.parse_result(result_part, self.parallel);
        let parsed = parsed.filter(|p| !sequential || self.is_known(p.name));
        if let Some(parsed) = parsed {
            self.parallel = true;
            self.current = None;
            if let Some(i) = self.test_index(parsed.name) {
                let state = &mut self.tests[i];
                if (state.explicit.is_some() && !replaces_result) || (self.rerun_phase && !state.rerun_attempt) {
                    self.new_attempt(i);
                }
                let state = &mut self.tests[i];
                state.explicit = Some(parsed.outcome);
                state.explicit_standalone = false;
                state.result.result_text = Some(parsed.text);
                state.finished = true;
                self.subject = Some(i);
            }
            let reported = self.as_printed(parsed.name).into_owned();
            let running = running_part
                .and_then(|r| captures(&HEARTBEAT, r))
                .and_then(|c| parse_running_list(c.get(1).map_or("", |m| m.as_str())))
                .unwrap_or_default();
            let mut running: Vec<String> = running.into_iter().map(|name| self.as_printed(name).into_owned()).collect();
            // regrtest clears a worker's test before queueing its result, so the list
            // never names the test just reported; a garbled one must not restart it.
            running.retain(|n| *n != reported);
            self.set_running(running);
            self.progress_read(counter, true);
            return;
        }
        // The result of a test not announced (its line was lost), after this one's name.
        if let Some((name, previous)) = self.after_previous_result(body, false) {
            self.previous_result(previous);
            self.announce(name);
            self.progress_read(counter, false);
            return;
        }
        // A name before a ` -- ` of no result known, as before.
        let name = match body.split_once(" -- ") {
            Some((name, after)) if !name.is_empty() && !after.starts_with("running") => name,
            _ => body,
        };
        if self.parallel && !self.sequential_run && name.contains(char::is_whitespace) {
            // A -j line of no form known (garbled): remember the name, believe nothing else.
            // The name is the longest known one it begins with, else its first word.
            let known = name
                .match_indices(char::is_whitespace)
                .map(|(at, _)| &name[..at])
                .chain([name])
                .rfind(|prefix| self.is_known(prefix));
            let first = name.split(char::is_whitespace).next().unwrap_or(name);
            self.test_index(known.unwrap_or(first));
            self.last_progress = counter.map(|counter| LastProgress { counter, test: None, result: false });
            return;
        }
        // The name alone: the test begins.
        if !self.parallel {
            self.passed_quickly_before();
        }
        self.announce(name);
        self.progress_read(counter, false);
    }

    /// Whether a progress line can be regrtest's, by its counter; None when it is a test's own
    /// output, else whether it replaces the result the last line gave.
    ///
    /// regrtest numbers its progress lines (`[n/N]`): one more for each test it announces
    /// (sequentially) or whose result it logs (`-j`), and prints them between the tests'
    /// output: a line numbered past the next number is a test's own. A test's output that imitates one (a test showing a nested regrtest's lines:
    /// `[2/2/1] test_b -- test_a failed (reference leak)`, `[2/2] test_a passed`) must not give
    /// a test a result, take one away, or end the test that printed it. So, in the first run
    /// of a regrtest whose header said how it runs: sequentially, a line numbered below the
    /// last one is a test's output, and one numbered as the last can only give the result of
    /// the test that line announced (3.12+ prints it so), a later such line replacing an
    /// earlier one (regrtest prints its own after all of the test's output); in parallel, a
    /// line not numbered above the last, or with a ` -- ` other than its ` -- running`, is a
    /// test's output. Quiet mode prints none.
    ///
    /// Believed without a look: re-runs (a count of their own, other forms), and a run whose
    /// pipe another regrtest's output shares (a run header came while a test ran) or which the
    /// caller said interleaves, where two runs' counters mix. A line numbered next after the
    /// last is believed: an imitation of the next test's announcement is taken for it, and
    /// regrtest's summary decides the outcomes (see `finish_run`).
    fn believes_progress(&self, counter: Option<usize>, body: &str) -> Option<bool> {
        // 3.11.2 re-runs in its own process, with lines of its own (`Re-running test_x in
        // verbose mode`); 3.11.7 and 3.12+ print a run header for the re-run, after which its
        // lines are numbered anew and judged as the first run's.
        if (self.rerun_phase && !self.rerun_header_seen) || self.foreign_header || self.interleaved {
            return Some(false);
        }
        if self.quiet && !self.rerun_phase {
            return None;
        }
        if !self.run_header_seen {
            return Some(false);
        }
        // regrtest counts one test at a time: a line numbered past the next number is a test's.
        let last = self.last_progress.zip(counter);
        let next = last.is_none_or(|(last, counter)| counter == last.counter.saturating_add(1));
        if !self.sequential_run {
            // `-j` logs a result, with the tests still running after ` -- running`: any other
            // ` -- ` (3.11's sequential form) is no part of it, but in a known test's name.
            let result_part = body.find(" -- running").map_or(body, |at| &body[..at]);
            let foreign_form = result_part.contains(" -- ")
                && !self.parse_result(result_part, true).is_some_and(|parsed| self.is_known(parsed.name));
            return (next && !foreign_form).then_some(false);
        }
        match last {
            _ if next => Some(false),
            Some((last, counter)) if counter == last.counter => {
                let announced = last.test.and_then(|i| self.tests.get(i))?;
                let parsed = self.parse_result(body, false)?;
                (self.as_printed(parsed.name) == announced.result.name.as_str()).then_some(last.result)
            }
            _ => None,
        }
    }

    /// A progress line numbered `counter` was read as regrtest's: announcing the test
    /// [`Parser::subject`] is, or with `result` giving its result.
    fn progress_read(&mut self, counter: Option<usize>, result: bool) {
        if let Some(counter) = counter {
            self.last_progress = Some(LastProgress { counter, test: self.subject, result });
        }
    }

    /// `NAME -- RESULT`, 3.11's sequential progress line (see [`Parser::on_progress`]): the name
    /// and the result of the test before, read from the first ` -- ` that a result follows;
    /// with `of_current`, only one of the test announced last (regrtest's own), else any.
    fn after_previous_result<'b>(&self, body: &'b str, of_current: bool) -> Option<(&'b str, ParsedResult<'b>)> {
        let current = self.current.and_then(|i| self.tests.get(i)).map(|state| state.result.name.as_str());
        if of_current && current.is_none() {
            return None;
        }
        body.match_indices(" -- ").find_map(|(at, sep)| {
            let (name, previous) = (&body[..at], &body[at + sep.len()..]);
            if name.is_empty() || previous.starts_with("running") {
                return None;
            }
            let parsed = self.parse_result(previous, true)?;
            let of = |name: &str| current.is_some_and(|current| self.as_printed(name) == current);
            (!of_current || of(parsed.name)).then_some((name, parsed))
        })
    }

    /// The result of the test before, from a sequential progress line (`[2/3] test_b -- test_a
    /// failed`): that test is over.
    fn previous_result(&mut self, previous: ParsedResult<'_>) {
        if let Some(i) = self.test_index(previous.name) {
            let state = &mut self.tests[i];
            state.explicit = Some(previous.outcome);
            state.explicit_standalone = false;
            state.result.result_text = Some(previous.text);
            state.finished = true;
        }
    }

    /// A result string (`TestResult.__str__` and what regrtest appends), read by
    /// [`parse_result`] with the names known deciding between readings.
    fn parse_result<'s>(&self, s: &'s str, lenient: bool) -> Option<ParsedResult<'s>> {
        let mut parsed = parse_result(s, lenient, |name| self.is_known(name))?;
        // The text names the test as printed too.
        if let Cow::Owned(name) = self.as_printed(parsed.name) {
            parsed.text.replace_range(..parsed.name.len(), &name);
        }
        Some(parsed)
    }

    /// `test NAME failed -- ...`, `test NAME crashed -- ...` (and `test NAME failed` alone): the
    /// name and the word. A name may hold spaces, and these words: the longest known name
    /// followed by one, else the shortest name.
    fn hint<'t>(&self, text: &'t str) -> Option<(&'t str, &'t str)> {
        let rest = text.strip_prefix("test ")?;
        let mut readings = HINT_VERB.captures_iter(rest).filter_map(|c| {
            let (all, verb) = (c.get(0)?, c.get(1)?);
            Some((&rest[..all.start()], verb.as_str())).filter(|(name, _)| !name.is_empty())
        });
        let first = readings.next()?;
        let known = std::iter::once(first).chain(readings).filter(|(name, _)| self.is_known(name)).last();
        Some(known.unwrap_or(first))
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
                let mut first = FirstRun {
                    references,
                    memory_blocks,
                    file_descriptors,
                    outcome: Outcome::Failed,
                    // Taken before the re-run's: 3.11's prints no result string.
                    result_text: result.result_text.take(),
                };
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
        state.listed_tracebacks.clear();
        state.listed_headers.clear();
        state.result.faulthandler = None;
        state.result.skip_reason = None;
        state.result.repetitions_shown = false;
        state.result.env_warned = false;
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

    /// The test a leak line names, `raw` being all that comes before its ` leaked [`. regrtest
    /// prints a test's leak lines while its output is being read (sequentially, after its
    /// repetitions; with `-j`, after its result line), so a line naming another test is that
    /// test's output (quoting a child regrtest, or imitating): no one's. Output without a
    /// trailing newline can glue itself to the front of the name, so the test's name ending
    /// `raw` is enough.
    fn leak_owner(&mut self, raw: &str) -> Option<usize> {
        let printed = self.as_printed(raw).into_owned();
        for candidate in [self.subject, self.current].into_iter().flatten() {
            let name = &self.tests[candidate].result.name;
            if printed.ends_with(name.as_str()) {
                return Some(candidate);
            }
        }
        if self.subject.is_some() || self.current.is_some() {
            return None;
        }
        // Nothing announced (`--quiet` prints no progress): the leak line names the test, the
        // longest name known that `raw` ends with (a whole word of it or more: a name may hold
        // spaces).
        let known = |name: &str| {
            self.by_name.contains_key(name) || self.selected.contains(name) || self.measured.contains(name)
        };
        if let Some(name) = longest_known_suffix(&printed, known).map(str::to_owned) {
            return self.test_index(&name);
        }
        // Else its last word, as regrtest's names mostly are, after output glued to it. With
        // `measured_names`, a longer name the line ends with may take its place at the end.
        let word = raw.rsplit(char::is_whitespace).next().unwrap_or(raw);
        let trimmed = word.trim_start_matches(|ch: char| !(ch.is_alphanumeric() || ch == '_'));
        if trimmed.is_empty() {
            return None;
        }
        let made = !self.by_name.contains_key(self.as_printed(trimmed).as_ref());
        let i = self.test_index(trimmed)?;
        if made && trimmed.len() < raw.len() {
            self.tests[i].leak_line_prefix = Some(printed);
        }
        Some(i)
    }

    /// The test a `test X failed -- ...`/`crashed -- ...` line names: one known already; in
    /// quiet mode (`-q`: no progress line, nothing announced, no test's output being read), any
    /// test, as for a leak line (see [`Parser::leak_owner`]). Quiet mode announces no test, and
    /// a test that failed before its `-R` repetitions began (its import raised) prints no leak
    /// line and is named nowhere else before the summary: this line, printed when regrtest ran
    /// it, names it in its place among the tests, so a run that ends before its summary keeps
    /// it. A test can print the line for any name: [`Parser::finish`] drops a test that only
    /// such a line made when a whole summary printed after it does not list it, or where no
    /// regrtest ran.
    fn hint_owner(&mut self, name: &str) -> Option<usize> {
        if let Some(i) = self.lookup(name) {
            return Some(i);
        }
        let quiet = !self.progress_seen && self.subject.is_none() && self.current.is_none() && !self.in_summary;
        if !quiet {
            return None;
        }
        let i = self.test_index(name)?;
        self.tests[i].made_by_hint = true;
        Some(i)
    }

    /// The lines after `test X failed -- Traceback (most recent call last):`, until the blank
    /// line regrtest prints after them (a chained exception's blank lines and `During handling
    /// ...` go on), or a progress line. Returns whether the line was the traceback's.
    fn collect_failure_traceback(&mut self, text: &str, cut: usize) -> bool {
        if self.failure_traceback.is_none() {
            return false;
        }
        let exception_read = self.failure_traceback.as_ref().is_some_and(|tb| tb.exception_read);
        let regrtests = ends_failure_traceback(text, |name| exception_read || self.is_known(name));
        let Some(tb) = self.failure_traceback.as_mut() else { return false };
        let chained = text.starts_with("During handling of the above exception")
            || text.starts_with("The above exception was the direct cause")
            || text.starts_with("Traceback (most recent call last):");
        // doctest's report: its divider, `File "...", line N, in NAME`, the example and what
        // was expected and got, indented (blank lines of the output are not).
        let doctest_report = tb.doctest && (is_rule(text, b'-') || text.starts_with("    "));
        if regrtests || (tb.after_blank && !chained && !doctest_report && !text.is_empty()) {
            self.finish_failure_traceback();
            return false;
        }
        tb.after_blank = text.is_empty();
        if chained {
            // A chained traceback's frames are another exception's.
            tb.wants_method = false;
        }
        tb.exception_read |= !chained && !text.is_empty() && !text.starts_with(' ');
        if let Some(name) = text.strip_prefix(DOCTEST_FAILURE) {
            // `DocTestCase.runTest`'s own frame is the only one: the doctest is the method.
            tb.doctest = true;
            if tb.wants_method && tb.method.is_none() {
                tb.method = Some(doctest_parts(name).1).filter(|m| !m.is_empty()).map(str::to_owned);
            }
        }
        if tb.wants_method && tb.method.is_none() {
            let function = traceback_frame(text).map(|(_, _, function)| function);
            if let Some(function) = function.filter(|f| f.starts_with(TEST_METHOD_PREFIX)) {
                tb.method = Some(function.to_owned());
            } else if let Some(name) = captures(&DOCTEST_FRAME, text).and_then(|c| c.get(1)) {
                // 3.15+: the failing example's frame names the doctest (3.14 said it in
                // `Failed doctest test for NAME`).
                tb.method = Some(doctest_parts(name.as_str()).1).filter(|m| !m.is_empty()).map(str::to_owned);
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
    /// to the test whose output is being read, unless that test has its dump already. A crash's
    /// dump where no test's output is being read, in quiet mode (no progress line: regrtest
    /// prints a `-j` worker's output with no result line before it), is kept unowned
    /// ([`ParsedRun::unowned_fault_dumps`]).
    fn start_fault_dump(&mut self, first: &str) {
        self.finish_fault_dump();
        let test = match self.subject {
            Some(i) if self.tests.get(i).is_some_and(|s| s.result.faulthandler.is_none()) => Some(i),
            None if !self.progress_seen
                && first.starts_with(FATAL_ERROR)
                && self.unowned_fault_dumps.len() < MAX_UNOWNED_FAULT_DUMPS =>
            {
                None
            }
            _ => return,
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
        let Some(test) = dump.test else {
            self.unowned_fault_dumps.push(dump.text.finish());
            return;
        };
        let Some(state) = self.tests.get_mut(test) else { return };
        state.result.faulthandler = Some(dump.text.finish());
    }

    fn finish_failure_traceback(&mut self) {
        let Some(tb) = self.failure_traceback.take() else { return };
        let Some(state) = self.tests.get_mut(tb.test) else { return };
        state.result.traceback = Some(tb.text.finish());
        state.result.traceback_method = tb.method;
    }

    /// Returns whether the line was a summary line.
    fn on_summary_line(&mut self, rest: &str) -> bool {
        if let Some(c) = captures(&SUMMARY_HEADER, rest) {
            self.keep_listed();
            // A new block replaces the previous one; `failed again` is printed just before it.
            let total_duration = self.summary.total_duration.take();
            self.summary =
                Summary { result: c.get(1).map(|m| m.as_str().to_owned()), total_duration, ..Summary::default() };
            self.start_block_lists();
            self.summary_seen = true;
            self.summary_blocks = self.summary_blocks.saturating_add(1);
            self.summary_complete = false;
            self.progress_after_summary = false;
            self.in_summary = true;
            return true;
        }
        if let Some(c) = captures(&LIST_HEADER, rest) {
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
                self.start_list(kind, c.get(1).and_then(|m| m.as_str().parse().ok()));
                return true;
            }
            return false;
        }
        if self.in_summary {
            if let Some(c) = captures(&OK_COUNT, rest) {
                self.summary.passed_count = c.get(2).and_then(|m| m.as_str().parse().ok());
                return true;
            }
            if INTERRUPTED.is_match(rest) {
                self.summary.interrupted = true;
                return true;
            }
        }
        if let Some(c) = captures(&TOTAL_DURATION, rest) {
            // Also the first end-of-run line under --pgo, which skips the result block.
            self.summary.total_duration = c.get(1).map(|m| m.as_str().to_owned());
            self.summary.rerun_unfinished = false;
            self.summary_seen = true;
            self.summary_complete = self.summary_blocks > 0;
            self.in_summary = true;
            return true;
        }
        if self.summary_seen {
            if let Some(c) = captures(&TOTAL_FILES, rest) {
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
            if let Some(c) = captures(&FINAL_RESULT, rest) {
                self.summary.result = c.get(1).map(|m| m.as_str().to_owned());
                if self.results_printed.len() < MAX_RESULTS_PRINTED {
                    self.results_printed.extend(self.summary.result.clone());
                }
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
        let Some(parsed) = self.parse_result(rest, false) else {
            return;
        };
        let named = self.as_printed(parsed.name);
        let state = &mut self.tests[current];
        // regrtest prints its line after all of the test's output: a line the test printed
        // that looks alike came before it, and the last one is regrtest's.
        if state.result.name != named || (state.explicit.is_some() && !state.explicit_standalone) {
            return;
        }
        state.explicit = Some(parsed.outcome);
        state.explicit_standalone = true;
        state.result.result_text = Some(parsed.text);
        state.finished = true;
    }

    /// Before a new summary block replaces the lists of the last: what they gave each test it
    /// names, in [`Parser::listed_before`].
    fn keep_listed(&mut self) {
        if self.summary_blocks == 0 {
            return;
        }
        self.settle_lists();
        let block = self.summary_blocks;
        let summary = &self.summary;
        for name in outcome_lists(summary).into_iter().flatten() {
            let Some(outcome) = summary_outcome(summary, name) else { continue };
            if self.listed_before.len() >= MAX_TESTS && !self.listed_before.contains_key(name) {
                continue;
            }
            let kept = self.listed_before.entry(name.clone()).or_insert((outcome, block));
            if listed_rank(outcome) >= listed_rank(kept.0) {
                *kept = (outcome, block);
            }
        }
    }

    /// Progress and re-run lines end a summary block: what follows is not a list.
    fn end_summary_block(&mut self) {
        self.in_summary = false;
        self.list = None;
    }

    /// Names the tests read by the names the shim measured ([`Parser::measured_names`]), where
    /// the output could not: a test quiet mode named by a leak line's last word takes the
    /// longest measured name that the line ends with; a test whose name differs from one
    /// measured name only in escape sequences and whitespace (see [`loose_name`]), no other
    /// test or measured name being alike, takes that one. Never a name another test has.
    fn adopt_measured_names(&mut self) {
        if self.measured.is_empty() {
            return;
        }
        let mut alike: HashMap<String, (usize, usize)> = HashMap::new();
        for name in &self.measured {
            alike.entry(loose_name(name)).or_default().0 += 1;
        }
        for state in &self.tests {
            if let Some(count) = alike.get_mut(&loose_name(&state.result.name)) {
                count.1 += 1;
            }
        }
        for i in 0..self.tests.len() {
            let state = &self.tests[i];
            let name = state.result.name.as_str();
            if self.measured.contains(name) {
                continue;
            }
            let longer = |measured: &str| measured.len() > name.len() && self.measured.contains(measured);
            let from_leak_line = state.leak_line_prefix.as_deref().and_then(|line| longest_known_suffix(line, longer));
            let loose = loose_name(name);
            let from_loose = (alike.get(&loose) == Some(&(1, 1)))
                .then(|| self.measured.iter().find(|measured| loose_name(measured) == loose))
                .flatten();
            let Some(adopted) = from_leak_line.or(from_loose.map(String::as_str)).map(str::to_owned) else {
                continue;
            };
            if self.by_name.contains_key(&adopted) {
                continue;
            }
            let old = std::mem::replace(&mut self.tests[i].result.name, adopted.clone());
            self.by_name.remove(&old);
            self.by_name.insert(adopted, i);
        }
    }

    /// The test named `name` (a slice of the line being read, taken as printed, or a name),
    /// made if new.
    fn test_index(&mut self, name: &str) -> Option<usize> {
        let name = self.as_printed(name);
        let name = name.as_ref();
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

/// The longest suffix of `text` that is `known`, beginning at its start or after a character
/// that no name ends a word with (a space, a mark `-R` printed, punctuation of output glued
/// to it): the name a quiet-mode leak line ends with. Only the last [`MAX_NAME_WORDS`] such
/// places are tried.
fn longest_known_suffix(text: &str, known: impl Fn(&str) -> bool) -> Option<&str> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut found = None;
    let mut tried = 0;
    let mut chars = text.char_indices().rev().peekable();
    while let Some((at, c)) = chars.next() {
        let starts = match chars.peek() {
            Some(&(_, before)) => !word(before),
            None => true,
        };
        if !starts || c.is_whitespace() {
            continue;
        }
        if known(&text[at..]) {
            found = Some(&text[at..]);
        }
        tried += 1;
        if tried == MAX_NAME_WORDS {
            break;
        }
    }
    found
}

/// `name` without escape sequences, its whitespace runs one space, trimmed: alike for a name
/// as the shim measured it and as regrtest's output showed it when that lost escape sequences
/// at the name's edges (3.14's colours are read off there) or whitespace (textwrap's tabs).
fn loose_name(name: &str) -> String {
    let name = super::text::without_escapes(name);
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The most words of a test name looked for where a line may hold more than the name (see
/// [`longest_known_suffix`] and `lists::KnownNames`): far more than a file's name has.
const MAX_NAME_WORDS: usize = 64;

/// How faulthandler's `faulthandler_fatal_error` and `Py_FatalError` begin.
const FATAL_ERROR: &str = "Fatal Python error: ";

/// At most this many [`ParsedRun::unowned_fault_dumps`] (each at most 16 KiB).
const MAX_UNOWNED_FAULT_DUMPS: usize = 64;

/// Whether `text`, read where a failure's traceback (`test X failed -- Traceback ...`) may go
/// on, is a line of regrtest's own, which ends it. Sequential mode prints a blank line after
/// the traceback, before the next progress line; a `-j` worker's output (its traceback
/// included) comes whole after the test's result line, and in quiet mode (`-q`), which prints
/// no progress line, the next worker's output follows the traceback's last line directly: the
/// next test's leak lines (`test_y leaked [1, 1, 1] references, sum=3`), its `test test_y
/// failed -- ...`, a crash's `Fatal Python error: ...`, the summary. Only lines as regrtest
/// starts them are taken, each whole from the line's start, which a traceback's lines are not:
/// frames and source are indented (so is doctest's report), and an exception's message that
/// spells one on a line of its own (a test of regrtest quoting a child's output) is read as
/// regrtest's, as a progress line in it always was. A leak line's name is one word or a test's
/// name (`known`: one with spaces).
fn ends_failure_traceback(text: &str, known: impl Fn(&str) -> bool) -> bool {
    if let Some(prefix) = LOG_PREFIX.find(text) {
        // `H:MM:SS[ load avg: N] ...`: only regrtest's `log` writes these.
        let rest = &text[prefix.end()..];
        if PROGRESS.is_match(rest) || HEARTBEAT.is_match(rest) {
            return true;
        }
    }
    let rest = after_log_prefix(text);
    RUN_HEADER.is_match(rest)
        || RERUN_BATCH.is_match(rest)
        || RERUN_ONE.is_match(rest)
        || HINT.is_match(text)
        || captures(&LEAK, text)
            .and_then(|c| c.get(1))
            .is_some_and(|name| !name.as_str().contains(char::is_whitespace) || known(name.as_str()))
        || BEGINNING.is_match(text)
        || SUMMARY_HEADER.is_match(text)
        || TOTAL_DURATION.is_match(text)
        || text.starts_with(WARNING_PREFIX)
        || text.starts_with(FATAL_ERROR)
}

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

/// A line of one character, as unittest draws its separators (70 `=` or `-`).
fn is_rule(text: &str, c: u8) -> bool {
    text.len() >= 20 && text.bytes().all(|b| b == c)
}

/// Whether regrtest printed a leak line for the test that it counts as a failure.
fn failing_leak(result: &TestResult) -> bool {
    [&result.references, &result.memory_blocks, &result.file_descriptors]
        .into_iter()
        .any(|line| line.as_ref().is_some_and(|l| l.failing))
}

/// Whether the output said nothing of the test but (now dropped) leak lines, and with
/// `hint_traceback` a `test X failed -- `/`crashed -- ` line (now dropped) with the traceback
/// it brought: no result, no repetitions, methods, other traceback, dump or skip, no earlier
/// run.
fn named_by_leak_lines_only(result: &TestResult, hint_traceback: bool) -> bool {
    let TestResult {
        name: _,
        outcome: _,
        result_text,
        references,
        memory_blocks,
        file_descriptors,
        repetitions,
        repetitions_shown: _,
        attempts,
        env_warned: _,
        env_changed_reasons: _,
        failed_methods,
        traceback,
        skip_reason,
        faulthandler,
        traceback_method: _,
        methods,
        first_run,
        regrtest_run: _,
        earlier_runs,
        failure_kept: _,
    } = result;
    result_text.is_none()
        && references.is_none()
        && memory_blocks.is_none()
        && file_descriptors.is_none()
        && repetitions.is_none()
        && *attempts <= 1
        && failed_methods.is_empty()
        && (traceback.is_none() || hint_traceback)
        && skip_reason.is_none()
        && faulthandler.is_none()
        && methods.is_empty()
        && first_run.is_none()
        && earlier_runs.is_empty()
}

/// The runs a command ran regrtest in, one after another, as one: the `earlier` runs (merged
/// already) and the `last` one. A test keeps its place of first appearance and is the last run
/// it ran in, with the runs before in [`TestResult::earlier_runs`] (at most
/// [`MAX_EARLIER_RUNS`], the latest; without their `methods`); the summary, `usage_error` are
/// the last run's; `progress_seen` is any run's.
fn merge_runs(earlier: ParsedRun, last: ParsedRun) -> ParsedRun {
    let ParsedRun {
        mut tests,
        progress_seen,
        mut run_results,
        mut unfinished_runs,
        mut results_printed,
        mut unowned_fault_dumps,
        ..
    } = earlier;
    let run = run_results.len();
    unfinished_runs.extend(last.unfinished_runs.into_iter().map(|u| UnfinishedRun { run: u.run + run, ..u }));
    let mut by_name: HashMap<String, usize> = tests.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    for mut test in last.tests {
        test.regrtest_run = run;
        match by_name.get(&test.name) {
            Some(&i) => {
                let mut before = std::mem::take(&mut tests[i]);
                let mut runs = std::mem::take(&mut before.earlier_runs);
                before.methods = Vec::new();
                runs.push(before);
                if runs.len() > MAX_EARLIER_RUNS {
                    runs.drain(..runs.len() - MAX_EARLIER_RUNS);
                }
                test.earlier_runs = runs;
                tests[i] = test;
            }
            None if tests.len() < MAX_TESTS => {
                by_name.insert(test.name.clone(), tests.len());
                tests.push(test);
            }
            None => {}
        }
    }
    run_results.extend(last.run_results);
    results_printed.extend(last.results_printed);
    results_printed.truncate(MAX_RESULTS_PRINTED);
    unowned_fault_dumps.extend(last.unowned_fault_dumps);
    unowned_fault_dumps.truncate(MAX_UNOWNED_FAULT_DUMPS);
    ParsedRun {
        tests,
        summary: last.summary,
        progress_seen: progress_seen || last.progress_seen,
        usage_error: last.usage_error,
        run_results,
        unfinished_runs,
        results_printed,
        unowned_fault_dumps,
    }
}

/// The reasons 3.14+'s env changed list of `summary` gives under the test `name`.
fn listed_reasons(summary: &Summary, name: &str) -> Vec<String> {
    let listed = summary.env_changed_reasons.iter().find(|(listed, _)| listed == name);
    listed.map(|(_, reasons)| reasons.clone()).unwrap_or_default()
}

/// How severe an outcome a summary list gives is, to choose among blocks: failed, env
/// changed, then the others alike.
fn listed_rank(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Failed => 2,
        Outcome::EnvChanged => 1,
        _ => 0,
    }
}

/// Of what the `last` summary block's lists and an `earlier` block's gave a test, the more
/// severe ([`listed_rank`]); the last block's when they are alike.
fn more_severe_listed(last: Option<Outcome>, earlier: Option<Outcome>) -> Option<Outcome> {
    match (last, earlier) {
        (Some(last), Some(earlier)) if listed_rank(earlier) > listed_rank(last) => Some(earlier),
        (None, earlier) => earlier,
        (last, _) => last,
    }
}

/// The summary lists that give the tests they name an outcome ([`summary_outcome`]).
fn outcome_lists(summary: &Summary) -> [&Vec<String>; 6] {
    [
        &summary.failed,
        &summary.failed_again,
        &summary.env_changed,
        &summary.resource_denied,
        &summary.skipped,
        &summary.run_no_tests,
    ]
}

/// The outcome the summary lists give `name`, most severe list first.
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

/// Parses `TestResult.__str__` plus what the callers append: `{name} {verb}...`. The name is
/// all that comes before the verb, spaces too, so a line may read several ways (`test_a passed
/// y failed`): the longest name `known` (a test's) that one reading gives, else the first
/// reading whose tail has the form regrtest gives it (parenthesised extras and ` in
/// <duration>`), else, if `lenient`, the first reading. Without `lenient` only such tails are
/// read at all: for lines that are not progress lines and could be anybody's output.
fn parse_result<'s>(s: &'s str, lenient: bool, known: impl Fn(&str) -> bool) -> Option<ParsedResult<'s>> {
    let mut readings: Vec<(ParsedResult<'s>, bool)> = Vec::new();
    for m in RESULT_VERB.find_iter(s) {
        let (name, tail) = (&s[..m.start()], &s[m.end()..]);
        if name.is_empty() || !(tail.is_empty() || tail.starts_with(' ')) {
            continue;
        }
        let reading = read_result(name, &m.as_str()[1..], tail);
        if lenient || reading.1 {
            readings.push(reading);
        }
    }
    let known = readings.iter().rposition(|(reading, _)| known(reading.name));
    let strict = readings.iter().position(|&(_, strict)| strict);
    let chosen = known.or(strict).or(if readings.is_empty() { None } else { Some(0) })?;
    Some(readings.swap_remove(chosen).0)
}

/// One reading of a result string (see [`parse_result`]): `name`, then ` verb`, then `tail`;
/// and whether the tail has regrtest's form.
fn read_result<'s>(name: &'s str, verb: &str, tail: &str) -> (ParsedResult<'s>, bool) {
    let (outcome, qualifier_len) = match verb {
        "passed" => (Outcome::Passed, 0),
        "failed" => match captures(&FAILED_QUALIFIER, tail) {
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
    let strict = STRICT_TAIL.is_match(extra);
    let extra = match TRAILING_IN_DURATION.find(extra) {
        Some(m) => &extra[..m.start()],
        None => extra,
    };
    let extra = match TRAILING_PAREN_DURATION.find(extra) {
        Some(m) => &extra[..m.start()],
        None => extra,
    };
    let text = format!("{name} {verb}{qualifier}{extra}");
    (ParsedResult { name, outcome, text }, strict)
}

/// `a (30.0 sec), b (1 min 2 sec)` into names; None unless every entry has that shape, since a
/// line starting with `running: ` can also be a test's own output.
fn parse_running_list(list: &str) -> Option<Vec<&str>> {
    list.split(", ").map(|entry| captures(&RUNNING_ENTRY, entry).and_then(|c| c.get(1)).map(|m| m.as_str())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let parsed = parse_result(input, false, |_| false).unwrap_or_else(|| panic!("{input}"));
            assert_eq!(parsed.outcome, want, "{input}");
            assert_eq!(parsed.text, text, "{input}");
        }
        for junk in ["test_os skipped -- not on this box", "test_os passed the butter", "passed"] {
            assert!(parse_result(junk, false, |_| false).is_none(), "{junk}");
        }
    }
}
