//! One leakcheck run, start to finish: set up (`launch`), supervise, then join what regrtest
//! printed with what the shim measured into the [`RunReport`], and pick the exit status.
//! Prints nothing itself except through the returned report; `main` renders it.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use anyhow::Context;

use crate::cli::Config;
use crate::exit::ExitCode;
use crate::hang::{HangReport, HangWatch};
use crate::launch::{self, sanitizers, LaunchError, RunDir};
use crate::leaks::{self, Domains};
use crate::regrtest::{self, Outcome, ParsedRun};
use crate::report::{
    LeakSiteReport, ProcessInfo, RegrtestLeaks, Repetitions, RunReport, SanitizerStatus, ShimStatus, Summary,
    SuppressedSite, TestReport, REFUSED_COMMAND_LINE, WORKER_THREAD_FAILED,
};
use crate::sanitizer::{self, Finding};
use crate::shim_events::{Series, ShimData};
use crate::sites;
use crate::supervise::{self, ChildExit, OutputSink, Stream, SuperviseError, Supervised};
use crate::symbolize::Symbolizer;

/// The report and the status leakcheck exits with.
#[derive(Debug)]
pub struct RunOutcome {
    pub report: RunReport,
    pub exit_code: i32,
    /// The command's stdout and stderr ended mid-line (see [`Supervised::ends_mid_line`]).
    pub ends_mid_line: [bool; 2],
    /// Our stdout and stderr are one file (see [`Supervised::shared_output`]); false when the
    /// command did not run.
    pub shared_output: bool,
}

/// Feeds the child's lines to the regrtest parser, the sanitizer report parser and the hang
/// watch, and ticks the watch.
struct Sink<'a> {
    parser: regrtest::Parser,
    hangs: HangWatch,
    sanitizer: SanitizerFindings<'a>,
    worker_thread: WorkerThreadFailure,
    /// Our stderr gets colour (see `report::colour`): for a hang's text printed when it is found.
    colour: bool,
    /// A dynamically linked ASAN runtime aborted because it was not first in the initial
    /// library list (`==PID==ASan runtime does not come first ...`).
    asan_not_first: bool,
    /// The `log_path` files a runtime could not open ([`UnopenedLogs`]).
    unopened_logs: UnopenedLogs,
    /// Where the shim writes its records, when it runs: a hang found while regrtest's output
    /// named no test (`-q`) takes its test from them ([`test_of_hang`]).
    shim_dir: Option<PathBuf>,
    /// Which regrtest processes printed the run headers: whether a header after a summary
    /// starts another run.
    regrtests: RunProcesses,
}

/// The regrtest processes running when the current regrtest run's header was read: its own
/// main process, which a header after its summary is another run's only once gone. A run
/// header is text any test can print (a nested `python -m test` whose output is not
/// captured, test_regrtest's own), and a test's output after its regrtest's summary-like
/// lines must not end the run it is part of.
#[derive(Debug, Default)]
struct RunProcesses {
    /// Pids of the top regrtest processes (see [`top_regrtests`]) at the current run's header;
    /// None before the first header.
    current: Option<Vec<i32>>,
}

impl RunProcesses {
    /// The run's first header (or one inside the run): the regrtests running now are the run's,
    /// when none are known yet.
    fn first_header(&mut self) {
        if self.current.as_ref().is_none_or(Vec::is_empty) {
            self.current = Some(top_regrtests(std::process::id() as i32));
        }
    }

    /// A run header before the current run's whole summary: another run's when the regrtest
    /// processes of the current one were seen and are all gone now (the regrtest died, and a
    /// script runs regrtest again). Without any seen, the text decides: it is the run's.
    fn earlier_died(&mut self) -> bool {
        let Some(earlier) = self.current.as_ref().filter(|pids| !pids.is_empty()) else {
            return false;
        };
        let now = top_regrtests(std::process::id() as i32);
        let died = !now.is_empty() && !earlier.iter().any(|pid| now.contains(pid));
        if died {
            self.current = Some(now);
        }
        died
    }

    /// A run header after a whole summary: another run's when the regrtest processes of the
    /// current one are all gone (a script runs regrtest again); a test's output while one of
    /// them still runs. Without any seen (none could be read, or the command is no regrtest),
    /// the text decides, as it did.
    fn another_run(&mut self) -> bool {
        let now = top_regrtests(std::process::id() as i32);
        let another = match &self.current {
            Some(earlier) if !earlier.is_empty() => !earlier.iter().any(|pid| now.contains(pid)),
            _ => true,
        };
        if another {
            self.current = Some(now);
        }
        another
    }
}

/// The regrtest main processes under `root` that no other regrtest process started: the
/// command's own (one at a time, unless the command runs several at once), not a regrtest one
/// of its tests runs, nor a `-j` worker. An interpreter counts, not a wrapper with regrtest's
/// arguments (`timeout 600 python -m test ...`).
fn top_regrtests(root: i32) -> Vec<i32> {
    let mut tree = crate::hang::procfs::sample_tree(root);
    for process in tree.values_mut() {
        process.load_argv();
    }
    let is_regrtest = |p: &crate::hang::procfs::ProcessSample| {
        crate::hang::interpreter_runs_regrtest(&p.argv) && crate::hang::worker_test(&p.argv).is_none()
    };
    tree.values()
        .filter(|p| is_regrtest(p))
        .filter(|p| {
            let mut current = p.ppid;
            while let Some(ancestor) = tree.get(&current) {
                if is_regrtest(ancestor) {
                    return false;
                }
                current = ancestor.ppid;
            }
            true
        })
        .map(|p| p.pid)
        .collect()
}

impl OutputSink for Sink<'_> {
    fn line(&mut self, _stream: Stream, line: &[u8]) {
        if regrtest::Parser::is_run_header(line) {
            let regrtests = &mut self.regrtests;
            if self.parser.run_header_ends_run(line) {
                self.parser.feed_line_checked(line, || regrtests.another_run());
            } else if self.parser.run_header_after_unfinished_run(line) && regrtests.earlier_died() {
                self.parser.feed_line_after_dead_run(line);
            } else {
                regrtests.first_header();
                self.parser.feed_line(line);
            }
        } else {
            self.parser.feed_line(line);
        }
        self.worker_thread.line(line);
        self.sanitizer.line(line, self.parser.output_owner());
        self.hangs.output(line, std::time::Instant::now());
        self.unopened_logs.line(line);
        if !self.asan_not_first && line.starts_with(b"==") {
            self.asan_not_first = sanitizer::pid_prefix(&String::from_utf8_lossy(line))
                .is_some_and(|(_, rest)| rest.as_bytes().starts_with(sanitizers::ASAN_NOT_FIRST));
        }
    }

    /// `-R`'s marks, written one by one on a line of their own: progress for the hang watch.
    fn unfinished_line(&mut self, _stream: Stream) {
        self.hangs.unfinished_output(std::time::Instant::now());
    }

    /// A test's announcement, a re-run's header and the summary (stdout) always start a
    /// section; a `beginning N repetitions` (stderr) does unless it is the first of the batch
    /// and the test read last may still begin its repetitions: then it is that test's.
    fn starts_section(&self, stream: Stream, line: &[u8], first: bool) -> bool {
        regrtest::Parser::starts_part(line)
            && match stream {
                Stream::Stdout => true,
                Stream::Stderr => !first || self.parser.next_beginning_is_another_tests(),
            }
    }

    /// regrtest's parts start with a write of their own, and so does a sanitizer report.
    fn starts_write(&self, _stream: Stream, line: &[u8]) -> bool {
        regrtest::Parser::starts_part(line) || sanitizer::starts_report(line)
    }

    /// The tests running in `-j` workers now get no result line if the signal ends them: the
    /// parser learns their names from the workers' command lines.
    fn interrupted(&mut self, _signal: nix::sys::signal::Signal, command: i32) {
        let root = std::process::id() as i32;
        self.parser.saw_running(&crate::hang::own_worker_tests(root, command));
    }

    /// A `-j` worker outliving regrtest's main process (killed from outside) runs a test that
    /// no result line will name: the parser learns it from the worker's command line.
    fn left_behind(&mut self, pids: &[i32]) {
        let root = std::process::id() as i32;
        self.parser.saw_running(&crate::hang::orphaned_worker_tests(root, pids));
    }

    /// A hang found is printed at once, before its processes are ended (README: "reported at
    /// once"); the summary only mentions it.
    fn tick(&mut self, command: i32) -> Vec<supervise::Action> {
        self.sanitizer.tick();
        let root = std::process::id() as i32;
        let actions = self.hangs.tick(root, command, self.parser.current_test(), std::time::Instant::now());
        let mut found = self.hangs.take_found();
        if let Some(dir) = self.shim_dir.as_deref().filter(|_| found.iter().any(|h| h.test.is_none())) {
            // Read once per tick that found a hang, not per line: the records may be large.
            let shim = ShimData::read_dir(dir).unwrap_or_default();
            for hang in found.iter_mut().filter(|h| h.test.is_none()) {
                hang.test = test_of_hang(&shim, hang);
            }
        }
        let said = found.into_iter().map(|hang| {
            let text = crate::report::hang_text(&hang);
            supervise::Action::Say(if self.colour { crate::report::colour::colourize(&text) } else { text })
        });
        said.chain(actions).collect()
    }

    /// Processes that outlived their SIGTERM: the hang that ended them says so.
    fn killed_after_grace(&mut self, pids: &[i32], grace: std::time::Duration) {
        self.hangs.killed_after_grace(pids, grace);
    }

    /// A hang whose processes were still to be ended when the command exited is ended now.
    fn exited(&mut self, _command: i32) -> Vec<supervise::Action> {
        self.hangs.command_exited()
    }
}

/// regrtest's `Warning -- regrtest worker thread failed: Traceback ...` (3.11+, `-j`): the
/// thread of its main process that drives a worker raised (3.11 decodes a worker's output as
/// UTF-8 and fails on a test that wrote other bytes). regrtest then stops its workers, lists
/// every test it has no result for as omitted, those running too, and exits with the status of
/// the results it has: 0 when there were none (`NO TEST RUN`). `support.print_warning` prefixes
/// each line of the traceback with `Warning -- `.
#[derive(Debug, Default)]
struct WorkerThreadFailure {
    /// The warning was printed.
    seen: bool,
    /// In its traceback, after a `Traceback (most recent call last):` line: the next line that
    /// is not indented is the exception's.
    in_traceback: bool,
    /// `UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff ...`: the last exception of
    /// the traceback (a chained one comes after the one it was raised in handling).
    exception: Option<String>,
}

/// What `support.print_warning` puts before each line.
const WARNING_PREFIX: &[u8] = b"Warning -- ";
/// Longest exception line kept, in characters.
const MAX_EXCEPTION_CHARS: usize = 500;

impl WorkerThreadFailure {
    fn line(&mut self, line: &[u8]) {
        let Some(rest) = line.strip_prefix(WARNING_PREFIX) else { return };
        let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
        let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
        if let Some(first) = rest.strip_prefix(b"regrtest worker thread failed: ") {
            *self = WorkerThreadFailure { seen: true, ..WorkerThreadFailure::default() };
            self.in_traceback = first.starts_with(b"Traceback ");
            if !self.in_traceback {
                self.exception = Some(Self::text(first));
            }
        } else if self.seen && rest.starts_with(b"Traceback ") {
            self.in_traceback = true;
        } else if self.in_traceback && !rest.is_empty() && !rest.starts_with(b" ") {
            self.exception = Some(Self::text(rest));
            self.in_traceback = false;
        }
    }

    fn text(bytes: &[u8]) -> String {
        let text = String::from_utf8_lossy(bytes);
        match text.char_indices().nth(MAX_EXCEPTION_CHARS) {
            Some((cut, _)) => format!("{}...", &text[..cut]),
            None => text.into_owned(),
        }
    }

    /// The run's warning, when regrtest printed it.
    fn warning(&self) -> Option<String> {
        self.seen.then(|| {
            let exception = self.exception.as_deref().map(|e| format!(" ({e})")).unwrap_or_default();
            format!(
                "{WORKER_THREAD_FAILED}{exception}: regrtest stopped its workers and ran no \
                 further test; the tests its workers were running have no result (unknown), and it exited \
                 with the status of the results it had (0 when it had none: NO TEST RUN)"
            )
        })
    }
}

/// Sanitizer reports as they complete, each given the regrtest test whose output it was part
/// of. A report can close long after its first line (at its `SUMMARY:`, or when it goes
/// stale), so the owner is looked up at the report's first line in a history of owner changes
/// (one entry per test, at most a few per re-run). A report no test's output holds (regrtest's
/// `-q` names no passing test) keeps when its first line arrived, and gets at the end the test
/// the shim's records tell for its process and that time ([`test_of_process`]), or, without a
/// pid (UBSan's), for that time alone ([`test_of_output`]).
struct SanitizerFindings<'a> {
    /// Frames are symbolized before findings are merged: the merge compares function names,
    /// and the sanitizer may have printed bare addresses (`symbolize=0`).
    symbolizer: &'a Symbolizer,
    parser: sanitizer::Parser,
    /// Lines fed so far (the parser's line numbers are 1-based).
    lines: u64,
    /// `(first line, owner)` each time the owner changed, in line order.
    owners: Vec<(u64, Option<String>)>,
    /// `(line, CLOCK_MONOTONIC ns)` of the latest lines that open a report, in line order, at
    /// most [`REPORT_STARTS_KEPT`].
    starts: std::collections::VecDeque<(u64, u64)>,
    findings: Vec<Finding>,
    /// Merge when this many findings are held: twice what the last merge left, so that many
    /// distinct findings cost a merge per doubling, not one per finding.
    merge_at: usize,
    /// Merges so far.
    merges: usize,
    /// Modules that unsymbolized frames named and that were gone when their report completed
    /// (a test removed its temporary directory): nothing can symbolize them.
    gone: Vec<PathBuf>,
    /// In a run with no sanitizer runtime detected or forced, the pids its processes can have
    /// had: a report naming another is text a process printed ([`PidWindow`]).
    pids: Option<PidWindow>,
    /// Reports not counted for naming a pid no process of the run had: how many, and the
    /// first few, described.
    not_of_the_run: (usize, Vec<String>),
}

/// Reports of pids no process of the run had, described in the run's warning.
const NOT_OF_THE_RUN_SHOWN: usize = 5;

/// The pids the run's processes can have had: those the kernel handed out after the one it
/// handed out last before the command started, up to the one it handed out last now
/// (`/proc/sys/kernel/ns_last_pid`, in leakcheck's pid namespace, the command's too). Pids go
/// up one by one, and past `pid_max` start again at 300 (`RESERVED_PIDS`); once the run has
/// gone all the way round, every pid may be one of its processes'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PidWindow {
    /// The last pid handed out before the run.
    before: u32,
    /// The last pid handed out, when last read.
    last: u32,
    pid_max: u32,
    /// Pids handed out since the run began, about.
    handed_out: u64,
}

/// The lowest pid the kernel hands out again after it wrapped around (`RESERVED_PIDS`).
const RESERVED_PIDS: u32 = 300;

impl PidWindow {
    fn last_pid() -> Option<u32> {
        std::fs::read_to_string("/proc/sys/kernel/ns_last_pid").ok()?.trim().parse().ok()
    }

    /// The window as the run begins; `None` when `/proc` does not say.
    fn start() -> Option<Self> {
        let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max").ok()?.trim().parse().ok()?;
        let last = Self::last_pid()?;
        Some(PidWindow { before: last, last, pid_max, handed_out: 0 })
    }

    /// Read the last pid again (about once a second, and as each report completes: the kernel
    /// cannot go round between two reads).
    fn update(&mut self) {
        if let Some(now) = Self::last_pid() {
            self.advance(now);
        }
    }

    fn advance(&mut self, now: u32) {
        let step = if now >= self.last { now - self.last } else { self.pid_max.saturating_sub(self.last) + now };
        self.handed_out = self.handed_out.saturating_add(u64::from(step));
        self.last = now;
    }

    /// The pids handed out, in words: `2216 to 2249`, `32700 to 32767 and 300 to 512`.
    fn range(&self) -> String {
        let first = self.before.saturating_add(1);
        if self.wrapped() {
            format!("{first} to {} and {RESERVED_PIDS} to {}", self.pid_max.saturating_sub(1), self.last)
        } else {
            format!("{first} to {}", self.last)
        }
    }

    fn wrapped(&self) -> bool {
        self.last < self.before || (self.last == self.before && self.handed_out > 0)
    }

    /// Whether no process of the run can have had `pid`: it was not handed out since the run
    /// began.
    fn excludes(&self, pid: u32) -> bool {
        if self.handed_out >= u64::from(self.pid_max.saturating_sub(RESERVED_PIDS)) {
            return false;
        }
        let handed_out = if self.wrapped() {
            pid > self.before && pid < self.pid_max || (RESERVED_PIDS..=self.last).contains(&pid)
        } else {
            pid > self.before && pid <= self.last
        };
        !handed_out
    }
}

/// Distinct findings kept before duplicates are merged; merging again keeps memory bounded
/// when a test prints the same report thousands of times.
const FINDINGS_BEFORE_MERGE: usize = 256;
/// Arrival times of report headlines kept for the reports still open: more than
/// [`sanitizer::MAX_OPEN_REPORTS`] could ever need.
const REPORT_STARTS_KEPT: usize = 1024;

/// Now on the clock of the shim's records (`CLOCK_MONOTONIC`, one for all processes).
fn monotonic_ns() -> Option<u64> {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).ok()?;
    let seconds = u64::try_from(now.tv_sec()).ok()?;
    let nanoseconds = u64::try_from(now.tv_nsec()).ok()?;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanoseconds)
}

impl<'a> SanitizerFindings<'a> {
    /// `no_summary`: the runtimes the command's options tell to print no `SUMMARY:` line
    /// ([`summaries_off`]).
    /// `check_pids`: no sanitizer runtime was detected or forced, so that a report naming a pid
    /// no process of the run had is text (see [`PidWindow`]).
    fn new(symbolizer: &'a Symbolizer, no_summary: &[sanitizer::Sanitizer], check_pids: bool) -> Self {
        SanitizerFindings {
            symbolizer,
            parser: sanitizer::Parser::without_summaries(no_summary),
            lines: 0,
            owners: Vec::new(),
            starts: std::collections::VecDeque::new(),
            findings: Vec::new(),
            merge_at: FINDINGS_BEFORE_MERGE,
            merges: 0,
            gone: Vec::new(),
            pids: if check_pids { PidWindow::start() } else { None },
            not_of_the_run: (0, Vec::new()),
        }
    }

    /// About once a second: follow the pids handed out (see [`PidWindow::update`]).
    fn tick(&mut self) {
        if let Some(window) = &mut self.pids {
            window.update();
        }
    }

    /// Whether a report in the output is no report of the run's: it names a pid that no process
    /// of the run had, in a run with no sanitizer runtime (a test printed a report, as a test of
    /// a log parser does). Such a report is described for the run's warning.
    fn not_of_the_run(&mut self, finding: &Finding) -> bool {
        let (Some(window), Some(pid)) = (&self.pids, finding.pid) else { return false };
        if finding.log_file.is_some() || !window.excludes(pid) {
            return false;
        }
        let (count, shown) = &mut self.not_of_the_run;
        *count += 1;
        if shown.len() < NOT_OF_THE_RUN_SHOWN {
            let place = finding.frames.first().map(|frame| {
                let function = frame.function.as_deref().unwrap_or("?");
                match (&frame.file, frame.line) {
                    (Some(file), Some(line)) => format!(" in {function} ({file}:{line})"),
                    _ => format!(" in {function}"),
                }
            });
            let what = format!("{} {}{}", finding.sanitizer.runtime_name(), finding.kind, place.unwrap_or_default());
            shown.push(format!(
                "{}, pid {pid}, line {} of the output",
                crate::escape::truncate_with_ellipsis(&what, 200),
                finding.start_line
            ));
        }
        true
    }

    /// The run's warning about the reports not counted ([`SanitizerFindings::not_of_the_run`]).
    fn not_of_the_run_warning(&self) -> Option<String> {
        let (count, shown) = &self.not_of_the_run;
        let window = self.pids.as_ref().filter(|_| *count > 0)?;
        let more = count - shown.len();
        let more = if more > 0 { format!("; and {more} more") } else { String::new() };
        Some(format!(
            "{count} sanitizer report(s) in the output were not counted as findings: each names a pid that no \
             process of this run had (it ran with pids {}), and no sanitizer runtime was detected or forced, so a \
             process printed them as text (a test of a log parser, a saved log shown): {}{more}. A process in \
             another pid namespace (unshare, a container) names such pids too: run with --sanitizer to count its \
             reports",
            window.range(),
            shown.join("; ")
        ))
    }

    fn line(&mut self, line: &[u8], owner: Option<&str>) {
        self.lines += 1;
        if self.owners.last().map(|(_, o)| o.as_deref()) != Some(owner) {
            self.owners.push((self.lines, owner.map(str::to_owned)));
        }
        let frame = line.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'#');
        if !frame && sanitizer::starts_report(line) {
            if let Some(now) = monotonic_ns() {
                if self.starts.len() == REPORT_STARTS_KEPT {
                    self.starts.pop_front();
                }
                self.starts.push_back((self.lines, now));
            }
        }
        let done = self.parser.feed_line(line);
        self.add(done);
    }

    /// Findings as their reports complete: symbolized at once, while the modules their frames
    /// name are there (a test may remove the extension it built in a temporary directory right
    /// after the subprocess that loaded it reported); the symbolizer keeps each module it read
    /// mapped, so a later merge still reads a module removed since.
    fn add(&mut self, mut findings: Vec<Finding>) {
        if !findings.is_empty() && self.pids.is_some() {
            self.tick();
            findings.retain(|finding| !self.not_of_the_run(finding));
        }
        if !findings.is_empty() {
            for module in sanitizer::gone_modules(&findings) {
                if !self.gone.contains(&module) {
                    self.gone.push(module);
                }
            }
            sanitizer::fold_frames_of(&mut findings, launch::SHIM_FILE, launch::SHIM_CRATE);
            sanitizer::load_modules(&findings, self.symbolizer);
            sanitizer::symbolize_findings(&mut findings, self.symbolizer);
        }
        for mut finding in findings {
            let at = self.owners.partition_point(|(first, _)| *first <= finding.start_line);
            finding.test = at.checked_sub(1).and_then(|i| self.owners[i].1.clone());
            if finding.test.is_none() {
                let at = self.starts.partition_point(|(line, _)| *line <= finding.start_line);
                finding.arrivals.extend(at.checked_sub(1).map(|i| self.starts[i].1));
            }
            self.findings.push(finding);
        }
        if self.findings.len() >= self.merge_at {
            self.merge();
        }
    }

    fn merge(&mut self) {
        // Before symbolizing: the run directory's copy of the shim may be gone.
        sanitizer::fold_frames_of(&mut self.findings, launch::SHIM_FILE, launch::SHIM_CRATE);
        sanitizer::symbolize_findings(&mut self.findings, self.symbolizer);
        self.findings = sanitizer::deduplicate(std::mem::take(&mut self.findings));
        self.merge_at = FINDINGS_BEFORE_MERGE.max(2 * self.findings.len());
        self.merges += 1;
    }

    /// Findings that did not come through the output (`log_path` files), with the test their
    /// process tells ([`test_of_process`]), if any.
    fn add_from_files(&mut self, findings: Vec<Finding>) {
        self.findings.extend(findings);
        if self.findings.len() >= self.merge_at {
            self.merge();
        }
    }

    /// Every finding, with its frames symbolized where the sanitizer left them bare, merged;
    /// those no test's output held with the tests the shim's records tell; and the modules
    /// gone before their reports completed; and the warning about reports not of the run.
    fn finish(mut self, shim: &ShimData) -> (Vec<Finding>, Vec<PathBuf>, Option<String>) {
        let rest = self.parser.finish();
        self.add(rest);
        for finding in &mut self.findings {
            if finding.awaits_test() {
                tell_tests(finding, shim);
            }
        }
        self.merge();
        let warning = self.not_of_the_run_warning();
        (self.findings, self.gone, warning)
    }
}

/// The warning when an ASAN program of the run aborted because its runtime was not first.
const ASAN_NOT_FIRST_WARNING: &str = "an ASAN program aborted with 'ASan runtime does not come first in initial \
     library list': a library (the shim, or one in LD_PRELOAD) was loaded before its dynamically linked libasan, and \
     ASAN_OPTIONS has verify_asan_link_order=1 (leakcheck sets it to 0 when it preloads the shim, unless you set it) \
     or the shim is not preloaded; run with `--sanitizer asan` to have libasan preloaded first";

/// Messages leakcheck prints while the command runs (the caller prefixes and prints them).
pub type Notify<'a> = &'a mut dyn FnMut(&str);

/// Run the command of `config` and build the report. The error is the run directory's, which
/// could not be created: there is none to name. A run that cannot be set up after that (the
/// log, the shim), a command that cannot start, or supervision that failed is a report with
/// `status.error`.
///
/// The calling process becomes the child subreaper of the run and treats every child it has as
/// part of the run: it reaps them all and, when the command is done, ends those still alive. A
/// program that embeds this must not have children of its own while a run goes (the leakcheck
/// binary has none; `harness/tests/reports.rs` keeps its other subprocesses out of its
/// in-process runs).
pub fn execute(config: &Config, notify: Notify<'_>) -> anyhow::Result<RunOutcome> {
    let run_dir = RunDir::create(config.run_dir.as_deref()).context("setting up the run")?;
    let program = sanitizers::resolve_program(&config.command[0], std::env::var_os("PATH").as_deref())
        .unwrap_or_else(|| config.command[0].clone().into());
    let mut sanitizer_plan = sanitizers::plan(&config.sanitizer, &program, |name| std::env::var_os(name));
    let shim_wanted = config.shim && sanitizer_plan.shim;
    if shim_wanted {
        sanitizer_plan.shim_preloaded(|name| std::env::var_os(name));
    }
    // Absolute, as the run directory is: the reports name it for whoever reads them, from
    // wherever they are.
    let log_path = match &config.log {
        Some(log) => std::path::absolute(log).unwrap_or_else(|_| log.clone()),
        None => run_dir.path().join("output.log"),
    };
    let (log, shim) = match set_up(&run_dir, &config.outputs, &log_path, config.log.is_some(), shim_wanted) {
        Ok(set) => set,
        Err(err) => return Ok(set_up_failure(config, &run_dir, err)),
    };
    notify(&format!("run directory {}, log {}", run_dir.path().display(), log_path.display()));

    if !sanitizer_plan.runtimes.is_empty() {
        let names: Vec<&str> = sanitizer_plan.runtimes.iter().map(|r| r.name()).collect();
        let preloaded: Vec<String> = sanitizer_plan.preload_first.iter().map(|p| p.display().to_string()).collect();
        notify(&format!(
            "sanitizer: {}{}",
            names.join(", "),
            if preloaded.is_empty() { String::new() } else { format!(" (preloaded first: {})", preloaded.join(" ")) }
        ));
    }
    let launch = launch::Launch { shim: shim.as_deref(), stack_depth: config.stack_depth, sanitizers: &sanitizer_plan };
    let mut command = config.command.clone();
    let mut profile_notes = Vec::new();
    if let Some(profile) = config.profile {
        let applied = launch::profile::apply_skips(&command, &profile.skips(&config.unskip));
        if !applied.added.is_empty() {
            notify(&format!("profile: added to regrtest's arguments: {}", applied.added.join(" ")));
        }
        for note in &applied.notes {
            notify(note);
        }
        (command, profile_notes) = (applied.command, applied.notes);
    }
    let cmd = launch::command(&command, &run_dir, launch);
    let hangs = HangWatch::new(config.hang_timeout);
    let symbolizer = Symbolizer::new();
    let command_options = sanitizer_plan.command_options(|name| std::env::var_os(name));
    let no_summary = summaries_off(&command_options, Some(&program));
    let mut sink = Sink {
        parser: selected_names_parser(&command),
        hangs,
        sanitizer: SanitizerFindings::new(&symbolizer, &no_summary, sanitizer_plan.runtimes.is_empty()),
        worker_thread: WorkerThreadFailure::default(),
        colour: crate::report::colour::wanted(),
        asan_not_first: false,
        unopened_logs: UnopenedLogs::default(),
        shim_dir: shim_wanted.then(|| run_dir.path().to_owned()),
        regrtests: RunProcesses::default(),
    };
    let started = std::time::SystemTime::now();
    let supervised = supervise::run(cmd, config.grace, log, &mut sink);
    run_dir.remove_shim();

    let mut report = RunReport {
        log: Some(log_path.display().to_string()),
        shim: ShimStatus {
            enabled: shim_wanted,
            attribution: shim_wanted && config.stack_depth > 0,
            ..ShimStatus::default()
        },
        sanitizer: SanitizerStatus {
            runtimes: sanitizer_plan.runtimes.iter().map(|r| r.name().to_owned()).collect(),
            preloaded: sanitizer_plan.preload_first.iter().map(|p| p.display().to_string()).collect(),
            // The report is text: bytes that are not UTF-8 show as U+FFFD there only.
            options: sanitizer_plan
                .variables
                .iter()
                .map(|(name, value)| (name.clone(), value.to_string_lossy().into_owned()))
                .collect(),
        },
        warnings: sanitizer_plan.notes.iter().chain(&profile_notes).cloned().collect(),
        ..RunReport::new(
            command.iter().map(|a| a.to_string_lossy().into_owned()).collect(),
            run_dir.path().display().to_string(),
        )
    };

    let supervised = match supervised {
        Ok(supervised) => supervised,
        Err(err @ (SuperviseError::NotFound { .. } | SuperviseError::NotExecutable { .. })) => {
            let code = if matches!(err, SuperviseError::NotFound { .. }) {
                ExitCode::NOT_FOUND
            } else {
                ExitCode::NOT_EXECUTABLE
            };
            report.status.error = Some(format!("{:#}", anyhow::Error::from(err)));
            report.status.leakcheck_exit_code = code;
            report.shim = ShimStatus::default();
            return Ok(RunOutcome { report, exit_code: code, ends_mid_line: [false; 2], shared_output: false });
        }
        // The run directory exists and the log has what the command wrote, if it started: the
        // report names them.
        Err(err) => {
            if matches!(err, SuperviseError::Spawn { .. }) {
                // Nothing was preloaded into a command that never started.
                report.shim = ShimStatus::default();
            }
            report.status.error = Some(format!("{:#}", anyhow::Error::from(err).context("supervising the command")));
            report.status.leakcheck_exit_code = ExitCode::INTERNAL;
            return Ok(RunOutcome {
                report,
                exit_code: ExitCode::INTERNAL,
                ends_mid_line: [false; 2],
                shared_output: false,
            });
        }
    };

    let hangs = sink.hangs.finish();
    let ended_for_hang = sink.hangs.ended_command();
    // Exited, also after an interrupt we forwarded: regrtest catches SIGINT, prints its summary
    // (`Tests result: INTERRUPTED`) and exits, with 130 or, when the KeyboardInterrupt reaches
    // the top, by SIGINT itself (Python's exit for an unhandled KeyboardInterrupt). The parser
    // still requires that summary.
    let completed = match supervised.exit {
        ChildExit::Exited(_) => true,
        ChildExit::Signaled { signal, .. } => {
            signal == nix::sys::signal::Signal::SIGINT && supervised.interrupted_by == Some(signal)
        }
    };
    let saw_beginning = sink.parser.saw_huntrleaks();
    let shim_data =
        if shim_wanted { read_shim_data(run_dir.path(), &mut report.warnings) } else { ShimData::default() };
    // Regrtests at the same time, or a fork of one that went on running regrtest: their output
    // interleaves, and no summary block may take back what another line said of a test.
    let concurrent = concurrent_regrtests(&shim_data);
    let interleaved = !concurrent.is_empty() || !shim_data.stray_forks.is_empty();
    if interleaved {
        sink.parser.runs_interleave();
    }
    let parsed = sink.parser.finish(completed);
    // Quiet mode (`-q`) hides `beginning N repetitions` (and progress lines); the shim only
    // measures in `-R` runs.
    let argv: Vec<String> = config.command.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let own = OwnProcesses::new(&shim_data, supervised.pid, &argv);
    // 3.13's `-W` (also implied by `--fast-ci`/`--slow-ci`) hides a passing -j worker's
    // output: its command line still says `-R`.
    // What the command line selects, as it was run (a profile's `-x` in it): quiet mode's skipped
    // tests and the tests never started come from it too (see `assemble`).
    let selection = regrtest::selection(&report.command);
    // Also a command line that selects no test by name (the whole suite, `-x`): `-R` is
    // asked for all the same, and one regrtest refused still asked for it.
    let asked = regrtest::regrtest_args(&report.command).is_some_and(|a| a.huntrleaks);
    let saw_huntrleaks =
        saw_beginning || asked || (!parsed.progress_seen && shim_data.series.iter().any(|s| own.contains(s.pid)));
    let output = OutputFacts {
        saw_huntrleaks,
        worker_thread_failure: sink.worker_thread.warning(),
        selection,
        hang_after_tests: hangs.iter().any(|h| h.after_tests),
        interleaved,
    };
    let concurrent_warning = concurrent_warning(&concurrent, &parsed.results_printed);
    let settings =
        SiteSettings { symbolizer: &symbolizer, suppressions: &config.suppressions, stack_depth: config.stack_depth };
    // Before `assemble`: a run a hang's ending stopped is no run that stopped halfway by itself.
    report.status.ended_for_hang = ended_for_hang;
    assemble(&mut report, &supervised, parsed, &output, (&shim_data, &own), settings);
    report.warnings.extend(concurrent_warning);
    add_hangs(&mut report, hangs, &shim_data);
    let (mut logged, log_notes) =
        log_path_findings(&command_options, Some(&program), started, &no_summary, &sink.unopened_logs.files);
    for finding in &mut logged {
        finding.test = test_of_process(&shim_data, finding, None);
    }
    report.warnings.extend(log_notes);
    sink.sanitizer.add_from_files(logged);
    let (findings, gone, not_of_the_run) = sink.sanitizer.finish(&shim_data);
    report.warnings.extend(not_of_the_run);
    add_findings(&mut report, findings);
    add_symbolizer_notes(&mut report, &symbolizer, &gone);
    if let Some(warning) = unused_suppressions(config) {
        report.warnings.push(warning);
    }
    if sink.asan_not_first {
        report.warnings.push(ASAN_NOT_FIRST_WARNING.into());
    }
    let exit_code = exit_code(&supervised, &report);
    report.status.leakcheck_exit_code = exit_code;
    if matches!(supervised.exit, ChildExit::Exited(0)) {
        if let Some(warning) = report.warnings.iter_mut().find(|w| w.starts_with(UNFINISHED_WARNING)) {
            warning.push_str(&unfinished_status(exit_code));
        }
    }
    Ok(RunOutcome {
        report,
        exit_code,
        ends_mid_line: supervised.ends_mid_line,
        shared_output: supervised.shared_output,
    })
}

/// Where the frame that places a leak site or a sanitizer finding (a site's innermost frame, a
/// finding's first) has no source line, what the symbolizer lacked in its module (no DWARF,
/// a missing dwz file, split DWARF), once per module, in the warnings; for a module `gone`
/// before its report completed, that it was.
fn add_symbolizer_notes(report: &mut RunReport, symbolizer: &Symbolizer, gone: &[PathBuf]) {
    let sites = report.tests.iter().flat_map(|t| t.leak_sites.iter().chain(t.suppressed_sites.iter().map(|s| &s.site)));
    let site_modules =
        sites.filter_map(|site| site.frames.first()).filter(|f| f.line.is_none()).map(|f| f.module.as_str());
    let finding_modules = report
        .sanitizer_findings
        .iter()
        .filter_map(|finding| finding.frames.first())
        .filter(|f| f.line.is_none())
        .filter_map(|f| f.module.as_deref());
    let mut modules: Vec<&str> =
        site_modules.chain(finding_modules).filter(|m| std::path::Path::new(m).is_absolute()).collect();
    modules.sort_unstable();
    modules.dedup();
    let notes: Vec<String> = modules
        .into_iter()
        .filter_map(|m| {
            let module = std::path::Path::new(m);
            if gone.iter().any(|g| g == module) {
                return Some(format!(
                    "{m} was already gone when leakcheck read the sanitizer report naming it (the run removed it, \
                     as a test removes the temporary directory it built or copied a module into), so its frames \
                     are not symbolized: keep the file until the run ends, or let the runtime symbolize \
                     (symbolize=1)"
                ));
            }
            symbolizer.shortfall(module)
        })
        .collect();
    report.warnings.extend(notes);
    let mut sites =
        report.tests.iter().flat_map(|t| t.leak_sites.iter().chain(t.suppressed_sites.iter().map(|s| &s.site)));
    if sites.any(|site| site.frames.iter().any(|f| f.module == crate::symbolize::UNKNOWN_MODULE)) {
        report.warnings.push(UNKNOWN_MODULE_WARNING.into());
    }
}

/// The warning for a leak site with a frame in no module the shim listed (see
/// [`add_symbolizer_notes`]).
const UNKNOWN_MODULE_WARNING: &str = "a leak site has a frame in no module the shim knew at its measurements (module \
     \"?\", a runtime address only): a library loaded and unloaded within a repetition (ctypes.CDLL, then \
     _ctypes.dlclose) is never listed, and the stack is cut short at that frame, its callers unknown";

/// What the shim wrote in the run directory, or nothing, with a warning, when the directory
/// cannot be read (the command removed it): the rest of the report does not need it.
fn read_shim_data(dir: &std::path::Path, warnings: &mut Vec<String>) -> ShimData {
    let data = ShimData::read_dir(dir).unwrap_or_else(|err| {
        warnings.push(format!("the run directory {} could not be read: {err}; no shim measurements", dir.display()));
        ShimData::default()
    });
    for (file, err) in &data.unreadable {
        warnings.push(format!(
            "the shim's events file {} could not be read: {err}; its process's measurements are missing",
            file.display()
        ));
    }
    data
}

/// What the run needs in place before the command starts: the report files checked
/// ([`crate::outputs::check_all`]: a report that could not be written at the end would lose
/// the run's results), the log opened (the usual failure: a wrong `--log`), then the shim,
/// installed last, from a file system that lets ld.so map it.
///
/// The default log, in the private run directory, is the user's alone (0600). One the user
/// chose (`chosen`) is an output file as the reports are: in directories made for it if
/// missing (`mkdir -p`, 0777 less the umask), and a new one with 0666 less the umask (open(2)
/// applies it); an existing one keeps its mode.
fn set_up(
    run_dir: &RunDir,
    outputs: &crate::outputs::Outputs,
    log_path: &std::path::Path,
    chosen: bool,
    shim: bool,
) -> anyhow::Result<(File, Option<PathBuf>)> {
    if shim {
        run_dir.check_exec()?;
    }
    let unwritable = crate::outputs::check_all(outputs);
    if !unwritable.is_empty() {
        let each: Vec<String> = unwritable
            .iter()
            .map(|err| format!("the {} {} cannot be written: {}", err.what, err.path.display(), err.source))
            .collect();
        anyhow::bail!("{}", each.join("; "));
    }
    let dir = log_path.parent().filter(|dir| !dir.as_os_str().is_empty());
    if let Some(dir) = dir.filter(|_| chosen) {
        crate::outputs::make_dirs(dir).with_context(|| format!("creating the log {}", log_path.display()))?;
    }
    let log = crate::outputs::open_output(
        OpenOptions::new().write(true).create(true).truncate(true).mode(if chosen { 0o666 } else { 0o600 }),
        log_path,
    )
    .with_context(|| format!("creating the log {}", log_path.display()))?;
    let shim = if shim { Some(run_dir.install_shim()?) } else { None };
    Ok((log, shim))
}

/// The report of a run that could not be set up: the error, the run directory (kept, as after
/// any run; nothing of the set-up is left in it; none, `""`, when it was removed because
/// LD_PRELOAD cannot carry its path), exit status 70. No shim was preloaded: the command did
/// not start.
fn set_up_failure(config: &Config, run_dir: &RunDir, err: anyhow::Error) -> RunOutcome {
    run_dir.remove_shim();
    let command = config.command.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let removed = matches!(err.downcast_ref::<LaunchError>(), Some(LaunchError::UnusablePath { removed: true, .. }));
    let dir = if removed { String::new() } else { run_dir.path().display().to_string() };
    let mut report = RunReport::new(command, dir);
    report.status.error = Some(format!("{:#}", err.context("setting up the run")));
    report.status.leakcheck_exit_code = ExitCode::INTERNAL;
    RunOutcome { report, exit_code: ExitCode::INTERNAL, ends_mid_line: [false; 2], shared_output: false }
}

/// The test a report of `finding`'s process belongs to, from what the shim recorded of the
/// process (`-R` runs only), for a report read from a `log_path` file or one that no test's
/// output held (regrtest's `-q`): a `-j` worker's test (its process runs that one, from its
/// start to its exit); else, when the report's first line `arrived` (`CLOCK_MONOTONIC` ns)
/// after one test's `begin` record and before the next test's, that test (after the last
/// test's, the last test); else, with no arrival time, the process's only test or the test it
/// died in (no `end` record). A LeakSanitizer report, which comes at exit, after every test,
/// gets a test outside a worker only when it arrived while one ran (from its `begin` to its
/// `end`): regrtest's own process, also when it ran one test, imports and cleans up around it,
/// and what leaked there is not the test's. `None` otherwise: a report that arrived before the
/// first test (a test module's import) is told no test.
///
/// The arrival is when leakcheck read the line, some time after the process wrote it: the
/// reports of a test's last repetition, written just before the `-R` driver returned (its
/// `end` record), are often read after it. So a report read between one test's end and the
/// next test's beginning goes to the test that ended: one written in that gap (regrtest's
/// clean-up, the next test module's import) is taken for the previous test's.
fn test_of_process(shim: &ShimData, finding: &Finding, arrived: Option<u64>) -> Option<String> {
    let pid = i32::try_from(finding.pid?).ok()?;
    let series: Vec<_> = shim.series.iter().filter(|s| s.pid == pid).collect();
    let first = series.first()?;
    let only_test = series.iter().all(|s| s.test == first.test);
    if only_test && shim.is_worker(pid) {
        return Some(first.test.clone());
    }
    if let Some(arrived) = arrived.filter(|_| series.iter().all(|s| s.started_ns.is_some())) {
        let at_exit = finding.sanitizer == sanitizer::Sanitizer::Lsan;
        let ran = |(i, s): &(usize, &&Series)| {
            let next = series.get(i + 1).and_then(|next| next.started_ns);
            let end = if at_exit { s.ended_ns.or(next) } else { next };
            s.started_ns.is_some_and(|start| start <= arrived) && end.is_none_or(|end| arrived < end)
        };
        let during: Vec<_> = series.iter().enumerate().filter(ran).collect();
        return match during[..] {
            [(_, series)] => Some(series.test.clone()),
            _ => None,
        };
    }
    if finding.sanitizer == sanitizer::Sanitizer::Lsan {
        return None;
    }
    if only_test {
        return Some(first.test.clone());
    }
    let died_in: Vec<_> = series.iter().filter(|s| s.aborted.is_none()).collect();
    match died_in[..] {
        [series] => Some(series.test.clone()),
        _ => None,
    }
}

/// The test of a report that names no process (UBSan's `runtime error:` lines carry no pid)
/// and that no test's output held (regrtest's `-q`), from when its first line `arrived`
/// (`CLOCK_MONOTONIC` ns), by the rules of [`test_of_process`] for the process that printed it:
/// regrtest's sequential process prints a test's reports while the test runs (or, read late,
/// before the next test begins), so a report read after a test's `begin` record is that test's;
/// with `-j`, its main process prints a worker's captured output, reports included, once the
/// worker has exited (its `exit` record; without one, a worker killed or dead in its test, its
/// test's `end`, else its `begin`), so a report read after a worker exited is its test's. Of
/// these, the test whose `begin` (outside a worker) or exit (a worker's) came last before the
/// report arrived; `None` before the first. What cannot be known: with `-j`, a worker's report
/// read after another worker exited later than the first (closer together than regrtest takes
/// to print a worker's output once it has reaped it) is taken for the other's test.
fn test_of_output(shim: &ShimData, arrived: u64) -> Option<String> {
    let mut last: Option<(u64, &Series)> = None;
    for series in &shim.series {
        let opens = match shim.is_worker(series.pid) {
            true => shim.exited.get(&series.pid).copied().or(series.ended_ns).or(series.started_ns),
            false => series.started_ns,
        };
        let Some(opens) = opens.filter(|&opens| opens <= arrived) else { continue };
        if last.is_none_or(|(latest, _)| opens >= latest) {
            last = Some((opens, series));
        }
    }
    last.map(|(_, series)| series.test.clone())
}

/// The tests of a finding whose reports no test's output held ([`Finding::awaits_test`]), each
/// report's from its arrival ([`test_of_process`], or [`test_of_output`] for a report without a
/// pid; those past [`sanitizer::MAX_ARRIVALS`] by the process alone, and without a pid by
/// none): the first report's test, the others' in [`Finding::other_tests`], and each test's
/// count when they differ.
fn tell_tests(finding: &mut Finding, shim: &ShimData) {
    let arrivals = std::mem::take(&mut finding.arrivals);
    let untimed = finding.count.saturating_sub(u32::try_from(arrivals.len()).unwrap_or(u32::MAX));
    let reports = arrivals.into_iter().map(|t| (Some(t), 1)).chain((untimed > 0).then_some((None, untimed)));
    let mut counts: Vec<(Option<String>, u32)> = Vec::new();
    for (arrived, n) in reports {
        let test = match (finding.pid, arrived) {
            (Some(_), _) => test_of_process(shim, finding, arrived),
            (None, Some(arrived)) => test_of_output(shim, arrived),
            (None, None) => None,
        };
        match counts.iter_mut().find(|(t, _)| *t == test) {
            Some((_, total)) => *total = total.saturating_add(n),
            None => counts.push((test, n)),
        }
    }
    finding.test = counts.first().and_then(|(test, _)| test.clone());
    finding.other_tests =
        counts.iter().filter_map(|(test, _)| test.clone()).filter(|t| finding.test.as_ref() != Some(t)).collect();
    // One process's reports: each test's are its.
    finding.test_pids = match finding.pid {
        Some(pid) if counts.len() > 1 => counts.iter().map(|(test, _)| (test.clone(), pid)).collect(),
        _ => Vec::new(),
    };
    finding.test_counts = if counts.len() > 1 { counts } else { Vec::new() };
}

/// The `log_path` files a sanitizer runtime could not open: sanitizer_common writes `ERROR:
/// Can't open file: PATH (reason: ERRNO)` to stderr, without a newline, and ends the process
/// (exit status 1) when it cannot open its log file, which it opens when it has something to
/// write, a report most likely: what it would have written is lost.
#[derive(Debug, Default)]
struct UnopenedLogs {
    /// `(path, errno)`, each path once, at most [`MAX_UNOPENED_LOGS`].
    files: Vec<(Vec<u8>, Option<i32>)>,
}

/// Unopened `log_path` files remembered.
const MAX_UNOPENED_LOGS: usize = 64;

impl UnopenedLogs {
    const MESSAGE: &'static [u8] = b"ERROR: Can't open file: ";

    fn line(&mut self, line: &[u8]) {
        let Some(at) = line.windows(Self::MESSAGE.len()).position(|w| w == Self::MESSAGE) else { return };
        let rest = &line[at + Self::MESSAGE.len()..];
        let reason = b" (reason: ";
        let Some(end) = rest.windows(reason.len()).position(|w| w == reason) else { return };
        let digits = &rest[end + reason.len()..];
        let digits = &digits[..digits.iter().take_while(|b| b.is_ascii_digit()).count()];
        let errno = std::str::from_utf8(digits).ok().and_then(|d| d.parse().ok());
        let path = rest[..end].to_vec();
        if self.files.len() < MAX_UNOPENED_LOGS && !self.files.iter().any(|(p, _)| *p == path) {
            self.files.push((path, errno));
        }
    }
}

/// What the runtime said of the `log_path` files of `prefix` (and `suffix`) it could not open,
/// for the log_path note: `; the runtime could not open /x/asan.123 (No such file or
/// directory) ...`.
fn unopened_note(unopened: &[(Vec<u8>, Option<i32>)], prefix: &[u8], suffix: &[u8]) -> String {
    let of_prefix: Vec<String> = unopened
        .iter()
        .filter(|(path, _)| path.starts_with(prefix) && path.get(prefix.len()) == Some(&b'.') && path.ends_with(suffix))
        .map(|(path, errno)| {
            let why = errno
                .map_or_else(|| "no reason given".to_owned(), |e| nix::errno::Errno::from_raw(e).desc().to_owned());
            format!("{} ({why})", crate::escape::truncate_with_ellipsis(&String::from_utf8_lossy(path), 300))
        })
        .collect();
    if of_prefix.is_empty() {
        return String::new();
    }
    format!(
        "; the runtime said it could not open {} when it had something to write, a report most likely, and \
         ended that process with status 1: what it would have written is lost",
        of_prefix.join(", ")
    )
}

/// Largest sanitizer log file read; a runaway report loop is not worth more.
const MAX_SANITIZER_LOG: u64 = 64 << 20;

/// Reports a sanitizer wrote to files because the options the command got say `log_path=PREFIX`
/// (`options`: every `*SAN_OPTIONS` variable it got, whatever `--sanitizer` said, read as the
/// runtime reads them, included files too; `program` for `%b`/`%d` in their names): the runtime
/// writes `PREFIX.PID` (with `log_exe_name`, `PREFIX.EXE.PID`; with `log_suffix=S`, `S` after
/// it) instead of stderr, so the output never shows them. Files changed since the run `started`
/// are parsed; a file names a process, not a test (see [`test_of_process`]). `no_summary`:
/// the runtimes told `print_summary=0`; `unopened`: the files a runtime said it could not open
/// ([`UnopenedLogs`]), named in the notes. Returns the findings and notes for the report.
fn log_path_findings(
    options: &[(String, std::ffi::OsString)],
    program: Option<&std::path::Path>,
    started: std::time::SystemTime,
    no_summary: &[sanitizer::Sanitizer],
    unopened: &[(Vec<u8>, Option<i32>)],
) -> (Vec<Finding>, Vec<String>) {
    use std::os::unix::ffi::OsStrExt;
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    // Each prefix once (ASAN_OPTIONS and UBSAN_OPTIONS may name the same): prefix, suffix, and
    // the variables naming them.
    let mut targets: Vec<(Vec<u8>, Vec<u8>, Vec<&str>)> = Vec::new();
    for (variable, text) in options {
        let parsed = launch::options::parse(text.as_bytes(), program);
        for file in &parsed.unread {
            notes.push(format!(
                "{variable} includes {file}, which leakcheck could not read: reports a log_path set there sends \
                 to files are not read"
            ));
        }
        let Some(prefix) = parsed.value("log_path").filter(|p| !p.is_empty() && *p != b"stdout" && *p != b"stderr")
        else {
            continue;
        };
        let suffix = parsed.value("log_suffix").unwrap_or_default();
        match targets.iter_mut().find(|(p, s, _)| p == prefix && s == suffix) {
            Some((_, _, variables)) => variables.push(variable),
            None => targets.push((prefix.to_vec(), suffix.to_vec(), vec![variable])),
        }
    }
    for (prefix, suffix, variables) in &targets {
        let variable = format!("{} {}", variables.join(" and "), if variables.len() > 1 { "have" } else { "has" });
        let prefix = std::path::Path::new(std::ffi::OsStr::from_bytes(prefix));
        let dir = match prefix.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => std::path::PathBuf::from("."),
        };
        let Some(base) = prefix.file_name().map(|b| [b.as_bytes(), b"."].concat()) else { continue };
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().as_bytes().starts_with(&base) && e.file_name().as_bytes().ends_with(suffix))
            .filter(|e| e.metadata().ok().and_then(|m| m.modified().ok()).is_some_and(|t| t >= started))
            .map(|e| e.path())
            .collect();
        files.sort();
        let mut reports = 0usize;
        for file in &files {
            let Ok(handle) = std::fs::File::open(file) else { continue };
            let mut bytes = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::Read::take(handle, MAX_SANITIZER_LOG), &mut bytes);
            let mut found = sanitizer::Parser::without_summaries(no_summary).parse_all(&bytes);
            reports += found.len();
            // The file name says whose reports they are (the runtime opens another file in a
            // forked child): UBSan's `runtime error:` lines carry no `==PID==`, and a `CHECK
            // failed` headline's `(tid=N)` is a thread's.
            let pid = file.file_name().and_then(|name| {
                let name = name.as_bytes();
                pid_suffix(&String::from_utf8_lossy(&name[..name.len() - suffix.len()]))
            });
            for finding in &mut found {
                finding.pid = pid.or(finding.pid);
                // Its start_line is the file's line: say which file.
                finding.log_file = Some(file.display().to_string());
            }
            findings.extend(found);
        }
        let shown = prefix.display();
        let lost = unopened_note(unopened, prefix.as_os_str().as_bytes(), suffix);
        if files.is_empty() {
            let hint = if prefix.is_relative() {
                "; it is relative, and regrtest runs tests in a temporary directory that it removes: give an \
                 absolute path"
            } else {
                ""
            };
            notes
                .push(format!("{variable} log_path={shown}: no {shown}.* file was written during the run{hint}{lost}"));
        } else {
            notes.push(format!(
                "{variable} log_path={shown}: {reports} report(s) read from {} file(s); their tests are \
                 known only from the shim's -R records of their processes{lost}",
                files.len()
            ));
        }
    }
    (findings, notes)
}

/// The runtimes whose `SUMMARY:` line the command's `options` (every `*SAN_OPTIONS` it gets,
/// [`sanitizers::Plan::command_options`]) turn off: `print_summary` set false (`0`, `no`,
/// `false`) where the runtime reads it last. ASAN's reports and LeakSanitizer's read
/// `ASAN_OPTIONS`, then `LSAN_OPTIONS` (an ASAN runtime reads both, common flags such as this
/// one too; a later setting wins); MSAN, TSan and UBSan their own variable.
fn summaries_off(
    options: &[(String, std::ffi::OsString)],
    program: Option<&std::path::Path>,
) -> Vec<sanitizer::Sanitizer> {
    use std::os::unix::ffi::OsStrExt;
    let setting = |variables: &[&str]| -> Option<bool> {
        let mut last = None;
        for variable in variables {
            let Some((_, text)) = options.iter().find(|(name, _)| name == variable) else { continue };
            match launch::options::parse(text.as_bytes(), program).value("print_summary") {
                Some(b"0" | b"no" | b"false") => last = Some(false),
                Some(b"1" | b"yes" | b"true") => last = Some(true),
                // Not set here; any other value the runtime refuses, and dies at start-up.
                _ => {}
            }
        }
        last
    };
    use sanitizer::Sanitizer::{Asan, Lsan, Msan, Tsan, Ubsan};
    let mut off = Vec::new();
    if setting(&["ASAN_OPTIONS", "LSAN_OPTIONS"]) == Some(false) {
        off.extend([Asan, Lsan]);
    }
    for (runtime, variable) in [(Msan, "MSAN_OPTIONS"), (Tsan, "TSAN_OPTIONS"), (Ubsan, "UBSAN_OPTIONS")] {
        if setting(&[variable]) == Some(false) {
            off.push(runtime);
        }
    }
    off
}

/// The process id a runtime puts at the end of a `log_path` file's name (`PREFIX.PID`, or
/// `PREFIX.EXE.PID` with `log_exe_name`).
fn pid_suffix(file_name: &str) -> Option<u32> {
    let (_, digits) = file_name.rsplit_once('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The status rule of `exit.rs`: the command's own status unless leakcheck found more.
fn exit_code(supervised: &Supervised, report: &RunReport) -> i32 {
    if !report.hangs.is_empty() {
        return ExitCode::HANG;
    }
    if !report.summary.leaked_not_reported_by_regrtest.is_empty() {
        return ExitCode::LEAK_NOT_REPORTED;
    }
    if !report.sanitizer_findings.is_empty() {
        return ExitCode::SANITIZER;
    }
    let code = match supervised.exit {
        // regrtest printed a leak and still exited 0 (3.11.2: a re-run that ran no test erases
        // the first run's failure): a leak was found, so never 0.
        ChildExit::Exited(0) if report.tests.iter().any(|t| t.leaked) => ExitCode::LEAK_NOT_REPORTED,
        // regrtest stopped halfway (a test's `os._exit(0)`): the command's 0 says nothing of
        // the tests it never finished, nor of those it never started.
        ChildExit::Exited(0) if report.summary.regrtest_unfinished => ExitCode::UNFINISHED,
        ChildExit::Exited(code) => code,
        ChildExit::Signaled { signal, .. } => ExitCode::SIGNAL_BASE + signal as i32,
    };
    // The log or our stdout lost output (see `Supervised::own_output_failed`): leakcheck
    // failed, which the command's own failure outranks.
    if code == ExitCode::OK && supervised.own_output_failed {
        return ExitCode::INTERNAL;
    }
    code
}

fn outcome_name(outcome: Option<&Outcome>) -> String {
    match outcome.and_then(|o| serde_json::to_value(o).ok()) {
        Some(serde_json::Value::String(name)) => name,
        _ => "unknown".into(),
    }
}

/// A test with no result (`unknown`) in a run whose regrtest a hang at interpreter exit, after
/// the tests, ended: regrtest's result line for it and its summary were in its buffered stdout,
/// lost when the process was ended, but the test itself was over. When the shim measured all
/// its `-R` repetitions, every one ran through (regrtest's `-R` stops at the first that fails),
/// and regrtest's verdict is one of those it makes after them, from what it printed on stderr,
/// which it flushes: `reference_leak` for a failing leak line, else `env_changed` for a
/// `Warning -- ` line, else `passed`. Otherwise it stays `unknown`. Either way a note says why.
fn lost_at_exit(report: &mut TestReport, test: &regrtest::TestResult) {
    const LOST: &str = "regrtest's result line for this test and its summary were lost with its buffered stdout \
         when the hang at interpreter exit, after the tests, ended it";
    let Some(repetitions) = report.repetitions.as_ref().filter(|r| r.complete && r.measured > 0) else {
        report.notes.push(format!("{LOST}; the test's end was not seen (no -R repetitions measured to the last)"));
        return;
    };
    let measured = repetitions.measured;
    let (outcome, why) = if report.regrtest.leaked {
        ("reference_leak", "and regrtest printed a failing leak line for it")
    } else if test.env_warned {
        ("env_changed", "and regrtest printed a 'Warning -- ' line after they began (the environment changed)")
    } else {
        ("passed", "with no failing leak line and no 'Warning -- ' line from regrtest")
    };
    report.outcome = outcome.into();
    report.notes.push(format!(
        "{LOST}; outcome {outcome} from what it printed on stderr: all {measured} -R repetitions ran through (the \
         shim measured each; regrtest stops at the first that fails), {why}"
    ));
}

/// Put the hangs in the report and mark their tests `hung`.
fn add_hangs(report: &mut RunReport, mut hangs: Vec<HangReport>, shim: &ShimData) {
    for hang in hangs.iter_mut().filter(|h| h.test.is_none()) {
        hang.test = test_of_hang(shim, hang);
    }
    for hang in &hangs {
        report.warnings.extend(hang.notes.iter().cloned());
        let Some(name) = &hang.test else { continue };
        match report.tests.iter_mut().find(|t| &t.name == name) {
            Some(test) => test.outcome = "hung".into(),
            None => report.tests.push(TestReport::new(name.clone(), "hung")),
        }
    }
    // Each test once, in the order of its first hang (a test may hang more than once: every
    // stuck forked child of a test is a hang of its own).
    let mut hung: Vec<String> = Vec::new();
    for name in hangs.iter().filter_map(|h| h.test.as_ref()) {
        if !hung.contains(name) {
            hung.push(name.clone());
        }
    }
    report.summary.hung = hung;
    report.summary.tests = report.tests.len();
    report.hangs = hangs;
}

/// The test a hang's process was in by the shim's records, when the output did not name one
/// while it ran (regrtest's `-q` prints no progress line): the one test of the hang's processes
/// whose repetitions began and never ended. None at interpreter exit (every test ended), nor
/// before `-R`'s first repetition (a test module's import: nothing began).
fn test_of_hang(shim: &ShimData, hang: &HangReport) -> Option<String> {
    let in_hang = |pid: i32| pid == hang.pid || hang.processes.iter().any(|p| p.pid == pid);
    let open: Vec<&Series> = shim.series.iter().filter(|s| in_hang(s.pid) && s.aborted.is_none()).collect();
    match open[..] {
        [series] => Some(series.test.clone()),
        _ => None,
    }
}

/// Put the sanitizer findings in the report. A finding's test is not marked failed here:
/// regrtest's own outcome stays; the writers list the finding under the test.
fn add_findings(report: &mut RunReport, findings: Vec<Finding>) {
    report.summary.sanitizer_findings = findings.len();
    report.summary.sanitizer_reports = findings.iter().map(|f| u64::from(f.count)).sum();
    report.sanitizer_findings = findings;
}

/// What the run's output said besides what [`ParsedRun`] holds.
struct OutputFacts {
    /// regrtest ran `-R` repetitions (its `beginning N repetitions`, or the shim's measurements
    /// in quiet mode).
    saw_huntrleaks: bool,
    /// The run's warning when regrtest's worker thread failed ([`WorkerThreadFailure`]).
    worker_thread_failure: Option<String>,
    /// The tests the command line names ([`regrtest::selection`]).
    selection: Option<regrtest::Selection>,
    /// A hang at interpreter exit, after the tests, ended regrtest ([`HangReport::after_tests`]):
    /// what it had buffered for its stdout (its last test's result line, its summary) was lost.
    hang_after_tests: bool,
    /// The output interleaves regrtest runs: the command ran them at the same time
    /// ([`concurrent_regrtests`]), or a fork of one went on running regrtest ([`StrayFork`]).
    /// The parser was told ([`regrtest::Parser::runs_interleave`]).
    interleaved: bool,
}

/// How the run's leak sites were recorded, and are to be shown.
struct SiteSettings<'a> {
    symbolizer: &'a Symbolizer,
    suppressions: &'a crate::suppress::Suppressions,
    /// The `--stack-depth` the shim recorded stacks with (0: no attribution).
    stack_depth: u32,
}

/// Join regrtest's view and the shim's into the report.
fn assemble(
    report: &mut RunReport,
    supervised: &Supervised,
    parsed: ParsedRun,
    output: &OutputFacts,
    (shim, own): (&ShimData, &OwnProcesses<'_>),
    SiteSettings { symbolizer, suppressions, stack_depth }: SiteSettings<'_>,
) {
    let status = &mut report.status;
    match supervised.exit {
        ChildExit::Exited(code) => status.exit_code = Some(code),
        ChildExit::Signaled { signal, core_dumped } => {
            status.signal = Some(signal.as_str().to_owned());
            status.core_dumped = core_dumped;
        }
    }
    status.interrupted_by = supervised.interrupted_by.map(|s| s.as_str().to_owned());
    status.killed_after_grace = supervised.killed;
    status.killed_at_once = supervised.killed_at_once;
    report.leftover_processes =
        supervised.leftovers.iter().map(|l| ProcessInfo { pid: l.pid, command: l.command.clone() }).collect();
    report.warnings.extend(supervised.output_errors.iter().cloned());

    report.shim.processes_patched = shim.patched.len();
    report.shim.errors = shim.errors.iter().map(|(pid, msg)| format!("pid {pid}: {msg}")).collect();
    report.shim.bad_records = shim.bad_lines;
    for stray in &shim.stray_forks {
        let from = shim.forks.get(&stray.pid).map(|f| format!("; forked from process {}", f.ppid)).unwrap_or_default();
        let set_aside = |what: &str, tests: &[String]| match tests {
            [] => String::new(),
            tests => format!(
                "; what it measured {what} ({}) is set aside: the process it was forked from measured them too",
                tests.join(", ")
            ),
        };
        let (when, later) = if stray.before_repetitions {
            let measured: Vec<String> = std::iter::once(&stray.test).chain(&stray.later_tests).cloned().collect();
            (
                format!("before {}'s -R repetitions began (at the test module's import, say)", stray.test),
                set_aside("from then on", &measured),
            )
        } else {
            (format!("during {}'s -R repetitions", stray.test), set_aside("after that", &stray.later_tests))
        };
        report.warnings.push(format!(
            "process {} was forked {when} and went on running regrtest instead of exiting (a fork child of the test \
             returned from it instead of calling os._exit{from}): it is no regrtest run of its own, and regrtest's \
             output holds that \
             process's results and summary too, interleaved with its parent's: a failure regrtest printed for a test \
             stands though a later summary, maybe the other process's, does not list it{later}",
            stray.pid
        ));
    }
    // Only regrtest processes matter: tests start children with PYTHONMALLOC on purpose.
    report.shim.hooks_replaced = shim
        .replaced
        .iter()
        .filter(|(_, argv)| regrtest::is_regrtest_command(argv))
        .map(|(pid, argv)| ProcessInfo { pid: *pid, command: argv.join(" ") })
        .collect();

    // Stopped by a signal: leakcheck's, or regrtest says so (a Ctrl-C that reached it alone).
    let interrupted = supervised.interrupted_by.is_some()
        || parsed
            .summary
            .as_ref()
            .is_some_and(|s| s.interrupted || s.result.as_deref().is_some_and(|r| r.contains("INTERRUPTED")));
    let mut series_of: HashMap<&str, Vec<&Series>> = HashMap::new();
    for series in &shim.series {
        series_of.entry(series.test.as_str()).or_default().push(series);
    }
    let rerun: &[String] = parsed.summary.as_ref().map_or(&[], |s| s.rerun.as_slice());
    let regrtest_names: std::collections::HashSet<String> = parsed.tests.iter().map(|t| t.name.clone()).collect();
    let join = Join {
        symbolizer,
        suppressions,
        stack_depth,
        shim_enabled: report.shim.enabled,
        hooks_replaced: !report.shim.hooks_replaced.is_empty(),
    };
    // The tests whose run before regrtest's re-run leaked, when the re-run reported did not.
    let mut leaked_before_rerun: Vec<String> = Vec::new();
    // A command that ran regrtest more than once: the tests that failed or leaked in an earlier
    // run, when the run reported did not.
    let regrtest_runs = parsed.run_results.len();
    let mut failed_in_earlier_run: Vec<String> = Vec::new();
    // 3.13's `-W` shows a `-j` worker's output only for a test that did not pass.
    let hides_passing_output = output.saw_huntrleaks && launch::profile::hides_passing_output(&report.command);
    let mut tests: Vec<TestReport> = parsed
        .tests
        .iter()
        .map(|t| {
            let measured = series_of.get(t.name.as_str()).map_or(&[][..], Vec::as_slice);
            // The summary's re-run list is the last regrtest run's.
            let rerun = rerun.contains(&t.name) && t.regrtest_run + 1 >= regrtest_runs;
            // Ran in more than one regrtest run of the command: the report is the last run's,
            // its outcome and its measurement.
            let runs: Vec<&regrtest::TestResult> = t.earlier_runs.iter().chain([t]).collect();
            let by_run = (runs.len() > 1).then(|| series_by_run(measured, &runs, shim));
            let all: &[&Series] = match &by_run {
                Some(Some(by_run)) => by_run.last().map_or(&[][..], Vec::as_slice),
                _ => measured,
            };
            let (series, note) = choose_series(all, rerun);
            // Regrtest's part describes the run measured: the re-run, unless it was cut short.
            let first_measured = series.is_some_and(|s| all.last().is_some_and(|last| !std::ptr::eq(s, *last)));
            let mut report = match t.as_first_run().filter(|_| first_measured) {
                Some(first) => test_report(&first, series, &join),
                None => test_report(t, series, &join),
            };
            report.outcome = outcome_name(t.outcome.as_ref());
            if t.outcome == Some(Outcome::NotRun) && !all.is_empty() {
                // regrtest counts the test it stopped among those it never ran (`omitted`),
                // and names it nowhere else in quiet mode or in a `-j` worker: it did start.
                // Stopped because regrtest's own worker thread failed, not by a signal or
                // `--failfast`: started, and no result.
                if output.worker_thread_failure.is_some() && !interrupted {
                    report.outcome = "unknown".into();
                    report.notes.push(WORKER_THREAD_NOTE.into());
                } else {
                    report.outcome = "interrupted".into();
                }
            }
            if output.hang_after_tests && t.outcome == Some(Outcome::Unknown) {
                lost_at_exit(&mut report, t);
            }
            report.notes.extend(note);
            if t.failure_kept {
                report.notes.push(FAILURE_KEPT_NOTE.into());
            }
            let mut earlier_leak = false;
            if let Some(leaks) = t.first_run.as_ref().filter(|_| !first_measured).and_then(|f| f.failing_leaks()) {
                report.notes.push(format!("regrtest's run before its re-run (reported here) leaked: {leaks}"));
                earlier_leak = true;
            }
            // regrtest's verdict is the re-run's, and so is `leaked`; what leakcheck measured
            // in the runs before it (a raw leak regrtest cannot see, in a test that failed for
            // another reason) is kept as evidence.
            if let Some(index) = series.and_then(|s| all.iter().position(|a| std::ptr::eq(*a, s))).filter(|_| rerun) {
                let notes = earlier_run_leaks(&t.name, &all[..index], all.len(), &join);
                earlier_leak |= !notes.is_empty();
                report.notes.extend(notes);
            }
            if earlier_leak && !report.leaked {
                leaked_before_rerun.push(t.name.clone());
            }
            if let Some(by_run) = by_run {
                let earlier_failed = earlier_runs_notes(&mut report, &runs, by_run.as_deref(), regrtest_runs, &join);
                if earlier_failed && !report.leaked && !t.outcome.is_some_and(Outcome::is_failure) {
                    failed_in_earlier_run.push(t.name.clone());
                }
            }
            if hides_passing_output && t.outcome == Some(Outcome::Passed) && !t.repetitions_shown {
                report.notes.push(HIDDEN_OUTPUT_NOTE.into());
                // test_report says so for a test whose repetitions it saw begin.
                if series.is_none() && join.shim_enabled && t.repetitions.is_none() {
                    report.notes.push(unmeasured_note(&join).into());
                }
            }
            report
        })
        .collect();
    if !parsed.progress_seen {
        // Quiet mode (`-q`) names only the tests that did not pass; or not regrtest output we
        // could read. Report what the shim measured, by test name: a test that ran all its
        // repetitions, in a run that got to its summary and named it nowhere, passed.
        // Interrupted, regrtest lists the tests it has no result for as omitted (those it named
        // nowhere else were not in progress).
        let passed = |name: &str| {
            parsed.summary.as_ref().is_some_and(|s| {
                let interrupted = s.interrupted || s.result.as_deref().unwrap_or("").contains("INTERRUPTED");
                !interrupted || !s.omitted.iter().any(|n| n == name)
            })
        };
        // The series of each test regrtest did not name, tests in the order they began; only
        // the run's own regrtest's: those of a regrtest that a test ran are not the run's tests.
        let mut unnamed: Vec<(&str, Vec<&Series>)> = Vec::new();
        for series in shim.series.iter().filter(|s| own.contains(s.pid)) {
            let name = series.test.as_str();
            if regrtest_names.contains(name) {
                continue;
            }
            match unnamed.iter_mut().find(|(n, _)| *n == name) {
                Some((_, all)) => all.push(series),
                None => unnamed.push((name, vec![series])),
            }
        }
        for (name, all) in unnamed {
            let (series, note) = choose_series(&all, false);
            let ran_through = all.iter().all(|s| s.aborted == Some(false));
            let outcome = (passed(name) && ran_through).then_some(Outcome::Passed);
            let test = regrtest::TestResult { name: name.to_owned(), outcome, ..Default::default() };
            let mut report = test_report(&test, series, &join);
            report.notes.extend(note);
            tests.push(report);
        }
        // Nor the tests it skipped: those the command line names that are named nowhere and
        // were not measured, when the shim measures every test that runs.
        let measures = report.shim.enabled && report.shim.hooks_replaced.is_empty() && !shim.patched.is_empty();
        if let Some(selection) = output.selection.as_ref().filter(|s| s.huntrleaks && measures) {
            let known: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
            let skipped = parsed.quiet_skipped(&selection.tests, &known);
            for (test, note) in skipped {
                let mut report = test_report(&test, None, &join);
                report.notes.push(note);
                tests.push(report);
            }
        }
    }

    if parsed.progress_seen {
        unlisted_tests(&mut tests, &mut report.warnings, shim, own, &join);
    }

    // The tests the command line names one by one that the run never got to, when regrtest did
    // not get to its summary, whose `omitted` list would name them (SIGTERM ends a sequential
    // 3.11 regrtest before it prints one). regrtest names every test it starts in a progress
    // line (sequentially before it runs; with `-j` when it is done, and the workers' from their
    // command lines when the run is stopped, so a run stopped before any test finished has no
    // progress line), except in quiet mode (`-q`, or no progress line where the command line
    // cannot tell): a test named nowhere, and not measured either, never started. A regrtest
    // that refused its command line started nothing either, but selected nothing.
    if parsed.summary.is_none() && parsed.usage_error.is_none() {
        let named_when_started = |s: &&regrtest::Selection| {
            parsed.progress_seen || (!s.quiet && (supervised.interrupted_by.is_some() || !tests.is_empty()))
        };
        if let Some(selection) = output.selection.as_ref().filter(named_when_started) {
            let measured: Vec<&str> = shim.series.iter().map(|s| s.test.as_str()).collect();
            for name in not_started(&selection.tests, &tests, &measured) {
                let test = regrtest::TestResult { name, outcome: Some(Outcome::NotRun), ..Default::default() };
                let mut report = test_report(&test, None, &join);
                report.notes.push(NOT_STARTED_NOTE.into());
                tests.push(report);
            }
        }
    }
    report.warnings.extend(output.worker_thread_failure.iter().cloned());
    if regrtest_runs > 1 {
        let results: Vec<&str> = parsed.run_results.iter().map(|r| r.as_deref().unwrap_or("none")).collect();
        report.warnings.push(format!(
            "the command ran regrtest {regrtest_runs} times, one run after another (results: {}): a test \
             that ran in more than one is reported as the last run it ran in, outcome and measurement, \
             and its notes say how the others went; regrtest_result is the last run's",
            results.join(", ")
        ));
    }

    let saw_huntrleaks = output.saw_huntrleaks;
    // regrtest refused its command line, or never got to a test: the shim had nothing to
    // measure, whatever the interpreter.
    let no_test_started =
        parsed.usage_error.is_some() || (tests.is_empty() && !parsed.progress_seen && parsed.summary.is_none());
    if let Some(usage) = &parsed.usage_error {
        report.warnings.push(format!("{REFUSED_COMMAND_LINE} ({usage})"));
    }
    let nothing_to_measure = report.shim.hooks_replaced.is_empty() && no_test_started;
    if report.shim.enabled && saw_huntrleaks && shim.patched.is_empty() && !nothing_to_measure {
        report.warnings.push(if report.shim.hooks_replaced.is_empty() {
            "regrtest ran with -R but the shim measured nothing: the interpreter has no \
             PyMem_SetAllocator/PySys_AddAuditHook, or it does not run regrtest's refleak module, \
             or the shim was not loaded (LD_PRELOAD removed by the command, e.g. `env -i`; ld.so's \
             error in the log)"
                .into()
        } else {
            match std::env::var_os("PYTHONMALLOC") {
                Some(value) => format!(
                    "the allocator hooks were replaced: PYTHONMALLOC={} is set, and CPython installs the \
                     allocators it names during start-up, over the shim's (any value does, even the build's \
                     default): per-domain counts are unavailable; unset PYTHONMALLOC to count",
                    value.to_string_lossy()
                ),
                None => "the allocator hooks were replaced (-X dev, or PYTHONMALLOC set by the command): \
                         per-domain counts are unavailable"
                    .into(),
            }
        });
    }
    for (pid, msg) in &shim.errors {
        report.warnings.push(format!("shim in pid {pid}: {msg}"));
    }
    // A daemon thread an earlier test left running, allocating while a later test runs.
    crate::report::other_threads::mark(&mut tests);
    let noted = |note: &str| -> Vec<&str> {
        tests.iter().filter(|t| t.notes.iter().any(|n| n.starts_with(note))).map(|t| t.name.as_str()).collect()
    };
    let lost = noted(HOOKS_LOST);
    if !lost.is_empty() {
        report.warnings.push(format!("{HOOKS_LOST} tests {}: their domain counts are unavailable", lost.join(", ")));
    }
    let incomplete = noted(SITES_INCOMPLETE);
    if !incomplete.is_empty() {
        report.warnings.push(format!("{SITES_INCOMPLETE} of tests {}: no leak sites for them", incomplete.join(", ")));
    }
    // Only worth saying when a leak site lacks its frame: a clean run needs no excuse.
    let frameless = tests
        .iter()
        .flat_map(|t| t.leak_sites.iter().chain(t.suppressed_sites.iter().map(|s| &s.site)))
        .any(|site| site.python_frame.is_none());
    if frameless {
        for reason in &shim.no_python_frames {
            report.warnings.push(format!("leak sites have no Python frame: {reason}"));
        }
    }

    // regrtest ran (its output says so) and never got to its summary: whatever the command's
    // status, the run stopped halfway. Not when leakcheck stopped it (a signal it forwarded, a
    // hang it ended: they say so) or regrtest refused its command line (its own warning).
    let last_unfinished = parsed.summary.is_none()
        && !parsed.run_results.is_empty()
        && parsed.usage_error.is_none()
        && supervised.interrupted_by.is_none()
        && !report.status.ended_for_hang;
    // An earlier run of a command that ran regrtest more than once died before its summary
    // (the next run's header came after its process was gone): it stopped halfway too, whatever
    // the runs after it did. Its warning says which run it was.
    for earlier in &parsed.unfinished_runs {
        let when = match earlier.running.as_slice() {
            [] => "the run ended before it".to_owned(),
            [one] => format!("the run ended while {one} ran"),
            many => format!("the run ended while {} ran", many.join(", ")),
        };
        report.warnings.push(format!(
            "{UNFINISHED_WARNING}: {when} (regrtest run {} of {regrtest_runs}: its process died, and the command \
             ran regrtest again)",
            earlier.run + 1
        ));
    }
    let unfinished = last_unfinished || !parsed.unfinished_runs.is_empty();
    if last_unfinished {
        // The tests it ended during: no result line, and no result (`unknown`) or one the end
        // itself gave (faulthandler's `Timeout`, a crash's dump).
        // The last run's (an earlier one's are in their own warning).
        let last_run: std::collections::HashSet<&str> =
            parsed.tests.iter().filter(|t| t.regrtest_run + 1 >= regrtest_runs).map(|t| t.name.as_str()).collect();
        let ended_during = |t: &&TestReport| {
            t.result_line.is_none()
                && matches!(t.outcome.as_str(), "unknown" | "timed_out" | "crashed")
                && (parsed.unfinished_runs.is_empty() || last_run.contains(t.name.as_str()))
        };
        let running: Vec<&str> = tests.iter().filter(ended_during).map(|t| t.name.as_str()).collect();
        let when = match running.as_slice() {
            [] => "the run ended before it".to_owned(),
            [one] => format!("the run ended while {one} ran"),
            many => format!("the run ended while {} ran", many.join(", ")),
        };
        // The command's 0 is not leakcheck's status: `execute` adds which it is, once known.
        report.warnings.push(format!("{UNFINISHED_WARNING}: {when}"));
    }
    let regrtest_result = match parsed.results_printed.as_slice() {
        // Interleaved runs: the last result printed may be any run's; a failing one is not
        // taken back by another run's success.
        printed @ [_, ..] if output.interleaved => {
            printed.iter().rev().find(|r| !r.ends_with("SUCCESS")).or(printed.last()).cloned()
        }
        _ => parsed.summary.as_ref().and_then(|s| s.result.clone()),
    };
    // `ENV CHANGED` is only ever regrtest's result when it was told to fail on it.
    let env_changed_result = regrtest_result.as_deref().is_some_and(|r| r.contains("ENV CHANGED"));
    report.summary = Summary {
        tests: tests.len(),
        leaked: tests.iter().filter(|t| t.leaked).map(|t| t.name.clone()).collect(),
        leaked_not_reported_by_regrtest: tests
            .iter()
            .filter(|t| t.leak_not_reported_by_regrtest)
            .map(|t| t.name.clone())
            .collect(),
        leaked_before_rerun,
        failed_in_earlier_run,
        hung: Vec::new(),
        sanitizer_findings: 0,
        sanitizer_reports: 0,
        env_changed_fails: launch::profile::fails_on_env_changed(&report.command) || env_changed_result,
        regrtest_result,
        regrtest_unfinished: unfinished,
        huntrleaks: saw_huntrleaks,
    };
    if supervised.interrupted_by.is_some() {
        // Stopped by us on a signal (buildbot's SIGTERM, a Ctrl-C regrtest did not get to
        // report): the test that was running got no result because of that, not of itself.
        for test in tests.iter_mut().filter(|t| t.outcome == "unknown") {
            test.outcome = "interrupted".into();
        }
    }
    report.tests = tests;
}

/// The end of the warning of an unfinished run whose command exited 0 all the same, from the
/// status leakcheck really exits with: a finding's (101-103) outranks 104 (see `exit.rs`).
fn unfinished_status(code: i32) -> String {
    let why = match code {
        ExitCode::LEAK_NOT_REPORTED => "for the leak it found, and a run stopped halfway is no success either",
        ExitCode::HANG => "for the hang it found, and a run stopped halfway is no success either",
        ExitCode::SANITIZER => "for the sanitizer's finding, and a run stopped halfway is no success either",
        _ => "a run stopped halfway is no success",
    };
    format!(", yet the command exited 0: leakcheck exits {code} instead, {why}")
}

/// The tests the shim measured in the command's own regrtest processes that regrtest's output,
/// as read, names nowhere, added to `tests` with leakcheck's measurement and no outcome, and a
/// warning naming them: a measurement is never dropped for the output's sake. regrtest names
/// every test it runs in a progress line; one it seems not to have named was lost to output
/// that could not be read as regrtest's (a test printing regrtest's lines, concurrent runs
/// interleaving theirs). A leak among them is a leak (exit 101 for one regrtest cannot see).
fn unlisted_tests(
    tests: &mut Vec<TestReport>,
    warnings: &mut Vec<String>,
    shim: &ShimData,
    own: &OwnProcesses<'_>,
    join: &Join<'_>,
) {
    // A package's modules (3.12+ runs `test_asyncio` as `test_asyncio.test_x`) are its.
    let named = |name: &str, tests: &[TestReport]| {
        tests.iter().any(|t| {
            let related = |a: &str, b: &str| a.strip_prefix(b).is_some_and(|rest| rest.starts_with('.'));
            t.name == name || related(&t.name, name) || related(name, &t.name)
        })
    };
    let mut unlisted: Vec<(&str, Vec<&Series>)> = Vec::new();
    for series in shim.series.iter().filter(|s| own.contains(s.pid)) {
        let name = series.test.as_str();
        if named(name, tests) {
            continue;
        }
        match unlisted.iter_mut().find(|(n, _)| *n == name) {
            Some((_, all)) => all.push(series),
            None => unlisted.push((name, vec![series])),
        }
    }
    if unlisted.is_empty() {
        return;
    }
    let names: Vec<String> = unlisted.iter().map(|(name, _)| name.to_string()).collect();
    for (name, all) in unlisted {
        let (series, note) = choose_series(&all, false);
        let test = regrtest::TestResult { name: name.to_owned(), outcome: None, ..Default::default() };
        let mut report = test_report(&test, series, join);
        report.notes.extend(note);
        report.notes.push(UNLISTED_NOTE.into());
        tests.push(report);
    }
    warnings.push(format!(
        "the shim measured {} in the command's own regrtest, which regrtest's output as read names nowhere \
         (output that reads as regrtest's but is not, from a test or a regrtest run at the same time, \
         got in the way): reported with leakcheck's measurement and no outcome",
        names.join(", ")
    ));
}

/// The note of a test the shim measured that regrtest's output, as read, does not name.
const UNLISTED_NOTE: &str = "regrtest's output, as read, names this test nowhere: the outcome is unknown, the \
     measurement is leakcheck's own (see the run's warnings)";

/// The start of the warning of a run in which regrtest started tests and never printed its
/// result (see [`Summary::regrtest_unfinished`]).
const UNFINISHED_WARNING: &str = "regrtest never printed its result";

/// The note of a test whose output regrtest hid: it passed in a `-j` worker under `-W`.
const HIDDEN_OUTPUT_NOTE: &str = "regrtest hid this test's output: with -W (also set by --fast-ci and \
     --slow-ci) it shows a -j worker's output only for a test that did not pass, so this test's -R \
     progress (`beginning N repetitions` and the repetitions' marks) and what it printed are not in the log";

/// The note of a test whose failure stands only because regrtest runs interleaved
/// ([`regrtest::TestResult::failure_kept`]).
const FAILURE_KEPT_NOTE: &str = "regrtest's output said this test failed, and a later summary does not list it as \
     failed; that summary may be another regrtest run's, whose output interleaves with this one's (see the run's \
     warnings): the failure stands";

/// The note of a test that was running when regrtest's worker thread failed.
const WORKER_THREAD_NOTE: &str = "no result: regrtest's worker thread failed while this test ran, and regrtest \
     stopped its workers (see the run's warnings)";

/// The regrtest parser, told the tests the command line names where it names them.
fn selected_names_parser(command: &[std::ffi::OsString]) -> regrtest::Parser {
    let argv: Vec<String> = command.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    regrtest::selection(&argv).map_or_else(regrtest::Parser::new, |s| regrtest::Parser::with_selected(&s.tests))
}

/// The note of a selected test that never started in a run that ended before regrtest's summary.
const NOT_STARTED_NOTE: &str = "never started: named on the command line, and the run ended before regrtest \
     got to it (it printed no summary, whose list of omitted tests would name it)";

/// Of the tests a command line `selected`, those the report does not name (as themselves, or
/// as the package of a module it names: 3.12+ runs `test_asyncio` as its modules) and the shim
/// did not measure, in the command line's order.
fn not_started(selected: &[String], tests: &[TestReport], measured: &[&str]) -> Vec<String> {
    let is = |test: &str, name: &str| test == name || test.strip_prefix(name).is_some_and(|rest| rest.starts_with('.'));
    selected
        .iter()
        .filter(|name| !tests.iter().any(|t| is(&t.name, name)) && !measured.iter().any(|m| is(m, name)))
        .cloned()
        .collect()
}

/// The processes of the run's own regrtest, as the shim's `process` records tell: its main
/// process (the command) and the `-j` workers it started; not a regrtest that a test ran
/// (test_regrtest runs many, with `-R`), nor the processes of those. A process without a record
/// (the shim did not patch it), or a command that is no regrtest itself (a wrapper: `timeout`,
/// `make`), gets the benefit of the doubt: its series count. So does a regrtest the command ran
/// before it became one (`bash -c "python -m test ...; python -m test ..."`: bash execs its last
/// command), which was done before the command's own measured anything.
struct OwnProcesses<'a> {
    shim: &'a ShimData,
    command: i32,
    command_is_regrtest: bool,
    /// When the command's own first series began (`CLOCK_MONOTONIC` ns), if it measured any.
    command_began: Option<u64>,
}

impl<'a> OwnProcesses<'a> {
    fn new(shim: &'a ShimData, command: i32, argv: &[String]) -> Self {
        let command_is_regrtest = regrtest::is_regrtest_command(argv)
            || shim.processes.get(&command).is_some_and(|p| regrtest::is_regrtest_command(&p.argv));
        let command_began = shim.series.iter().filter(|s| s.pid == command).filter_map(|s| s.started_ns).min();
        OwnProcesses { shim, command, command_is_regrtest, command_began }
    }

    fn contains(&self, pid: i32) -> bool {
        if pid == self.command || !self.command_is_regrtest {
            return true;
        }
        let Some(process) = self.shim.processes.get(&pid) else { return true };
        process.ppid == self.command && (process.is_worker() || self.ran_before(pid))
    }

    /// Whether the command's child `pid` was done (exited, or its last series ended) before the
    /// command's own regrtest measured its first test: no test of the command started it.
    fn ran_before(&self, pid: i32) -> bool {
        let Some(began) = self.command_began else { return false };
        let own = self.shim.series.iter().filter(|s| s.pid == pid);
        let done = self.shim.exited.get(&pid).copied().or_else(|| own.filter_map(|s| s.ended_ns).max());
        done.is_some_and(|done| done < began)
    }
}

/// The regrtests the command ran at the same time (a script starting two with `&`), by pid
/// (a `-j` run's main process): their output interleaves on the same streams. Each regrtest's
/// lifetime comes from the shim's records: from when its process began (its `process`
/// record, written at its first test, says when it exec'd) to its `exit` record, else the last
/// record it wrote (killed); a `-j` worker counts as its parent's, and the series of a process
/// without a `process` record (an older shim) make its span. Two that lived at the same time
/// ran at the same time, though the tests they measured never overlapped (a test that imports
/// slowly, a run whose only test fails at once). A regrtest a test of another one started
/// (nested) is no concurrent run: its output is inside that test's; nor a fork child that went
/// on running regrtest ([`ShimData::forks`]), which is no regrtest of its own
/// ([`crate::shim_events::StrayFork`], warned about apart).
fn concurrent_regrtests(shim: &ShimData) -> Vec<i32> {
    let mut spans: BTreeMap<i32, (u64, u64)> = BTreeMap::new();
    let mut add = |pid: i32, start: u64, end: u64| {
        let span = spans.entry(shim.main_of(pid)).or_insert((start, end));
        *span = (span.0.min(start), span.1.max(end.max(start)));
    };
    let first_series = |pid: i32| shim.series.iter().filter(|s| s.pid == pid).filter_map(|s| s.started_ns).min();
    for (&pid, process) in &shim.processes {
        let measured = shim.series.iter().any(|s| s.pid == pid);
        if shim.forks.contains_key(&pid) || !(measured || regrtest::is_regrtest_command(&process.argv)) {
            continue;
        }
        let start = process.started_ns.filter(|&t| t > 0).or_else(|| first_series(pid));
        let end = shim.exited.get(&pid).or(shim.last_seen.get(&pid)).copied();
        if let (Some(start), Some(end)) = (start, end) {
            add(pid, start, end);
        }
    }
    for series in
        shim.series.iter().filter(|s| !shim.processes.contains_key(&s.pid) && !shim.forks.contains_key(&s.pid))
    {
        let end =
            series.ended_ns.or(shim.exited.get(&series.pid).copied()).or(shim.last_seen.get(&series.pid).copied());
        if let (Some(start), Some(end)) = (series.started_ns, end) {
            add(series.pid, start, end);
        }
    }
    let descends = |mut pid: i32, ancestor: i32| {
        for _ in 0..64 {
            match shim.processes.get(&pid) {
                Some(p) if p.ppid == ancestor => return true,
                Some(p) if p.ppid > 1 && p.ppid != pid => pid = p.ppid,
                _ => return false,
            }
        }
        false
    };
    let spans: Vec<(i32, (u64, u64))> = spans.into_iter().collect();
    let mut overlapping: Vec<i32> = Vec::new();
    for (i, &(a, (a_start, a_end))) in spans.iter().enumerate() {
        for &(b, (b_start, b_end)) in &spans[i + 1..] {
            if a_start < b_end && b_start < a_end && !descends(a, b) && !descends(b, a) {
                for pid in [a, b] {
                    if !overlapping.contains(&pid) {
                        overlapping.push(pid);
                    }
                }
            }
        }
    }
    overlapping
}

/// The warning for regrtests the command ran at the same time ([`concurrent_regrtests`]), with
/// the results their runs printed.
fn concurrent_warning(pids: &[i32], results_printed: &[String]) -> Option<String> {
    if pids.is_empty() {
        return None;
    }
    let list: Vec<String> = pids.iter().map(i32::to_string).collect();
    let results = match results_printed {
        [] => "none printed".to_owned(),
        printed => printed.join(", "),
    };
    Some(format!(
        "the command ran regrtest in {} processes at the same time (pids {}): their output interleaves on the same \
         streams, so the test results and summaries read from it may be another run's (an outcome may be wrong); \
         a failure regrtest printed for a test stands though a later summary, maybe another run's, does not list \
         it (the test's notes say so), and regrtest_result is the last result printed that is no success \
         (results: {results}); the shim's measurements are per process and stay right",
        pids.len(),
        list.join(", ")
    ))
}

/// The series a test's report is about, when the shim measured it more than once, and a note
/// saying which. A re-run (`-w`/`--rerun`) measures a failed test again and regrtest's verdict is
/// the re-run's: the last series. A test run several times on its own (named twice,
/// `--forever`) leaked if any run did: the first run that leaked, else the last.
fn choose_series<'a>(all: &[&'a Series], rerun: bool) -> (Option<&'a Series>, Option<String>) {
    let last = all.last().copied();
    if all.len() < 2 {
        return (last, None);
    }
    // A re-run cut short before its repetitions were all measured tells less than an earlier
    // complete run: 3.11.2 re-runs a test with the `-m` filter left by the previous test's
    // re-run, runs no test method, and TestDidNotRun ends the first repetition.
    let last_complete = all.iter().rposition(|s| s.complete()).filter(|&i| i + 1 < all.len());
    let first_leak = if rerun { None } else { all.iter().position(|s| leaks::leaked(s)) };
    let (index, which) = match (first_leak, last_complete) {
        (Some(index), _) => (index, "the first that leaked"),
        (None, Some(index)) if rerun => (index, "the last complete one; regrtest's re-run was cut short"),
        (None, _) if rerun => (all.len() - 1, "the last, regrtest's re-run"),
        (None, _) => (all.len() - 1, "the last; none leaked"),
    };
    let note = format!(
        "measured {} times (the test ran more than once); this is run {} of them: {which}",
        all.len(),
        index + 1
    );
    (Some(all[index]), Some(note))
}

/// The series of a test that ran in several regrtest `runs` of the command (oldest first), one
/// list per run: the shim's series grouped by the regrtest whose process measured them (a `-j`
/// worker counts as its parent's), the groups in the order they began. Every run has a group
/// when there are as many as runs, else the runs whose output shows repetitions beginning do,
/// when they are as many. None when the groups cannot be matched to the runs so.
fn series_by_run<'a>(
    measured: &[&'a Series],
    runs: &[&regrtest::TestResult],
    shim: &ShimData,
) -> Option<Vec<Vec<&'a Series>>> {
    let mut groups: Vec<(i32, Vec<&'a Series>)> = Vec::new();
    for &series in measured {
        let main = shim.main_of(series.pid);
        match groups.iter_mut().find(|(pid, _)| *pid == main) {
            Some((_, group)) => group.push(series),
            None => groups.push((main, vec![series])),
        }
    }
    let mut by_run = vec![Vec::new(); runs.len()];
    let matched: Vec<usize> = if groups.len() == runs.len() {
        (0..runs.len()).collect()
    } else {
        runs.iter().enumerate().filter(|(_, r)| r.repetitions.is_some()).map(|(i, _)| i).collect()
    };
    if groups.is_empty() {
        return Some(by_run);
    }
    if matched.len() != groups.len() {
        return None;
    }
    for (run, (_, group)) in matched.into_iter().zip(groups) {
        by_run[run] = group;
    }
    Some(by_run)
}

/// The notes of a test that ran in several regrtest `runs` of the command (oldest first; the
/// last is the one reported): each run's outcome, and what the earlier runs leaked, by
/// regrtest's leak lines and by leakcheck's measurement (`by_run`, the series of each run, or
/// None when they could not be matched to the runs: then the report says so). Whether an
/// earlier run failed or leaked.
fn earlier_runs_notes(
    report: &mut TestReport,
    runs: &[&regrtest::TestResult],
    by_run: Option<&[Vec<&Series>]>,
    total: usize,
    join: &Join<'_>,
) -> bool {
    let Some((last, earlier)) = runs.split_last() else { return false };
    let total = total.max(last.regrtest_run + 1);
    let number = |run: &regrtest::TestResult| run.regrtest_run + 1;
    let described = |run: &regrtest::TestResult| {
        let mut item = format!("run {} {}", number(run), outcome_name(run.outcome.as_ref()));
        if let Some(text) = &run.result_text {
            let _ = write!(item, " ({text})");
        }
        item
    };
    let items: Vec<String> = earlier.iter().map(|r| described(r)).collect();
    report.notes.push(format!(
        "ran in {} of the {total} regrtest runs of the command (one after another): {}; reported here: {}, \
         the last it ran in, outcome and measurement",
        runs.len(),
        items.join("; "),
        described(last),
    ));
    let mut failed = false;
    for (index, run) in earlier.iter().enumerate() {
        // A run that died while the test ran (`unknown`: a crash without regrtest's word) failed it too.
        failed |= run.outcome.is_some_and(|o| o.is_failure() || o == Outcome::Unknown);
        if let Some(leaks) = run.failing_leaks() {
            report.notes.push(format!("run {} of the command's regrtest runs leaked: {leaks}", number(run)));
            failed = true;
        }
        let Some(all) = by_run.and_then(|by_run| by_run.get(index)).filter(|all| !all.is_empty()) else { continue };
        let (series, _) = choose_series(all, false);
        let items = series.map(|s| measured_leaks(&run.name, s, join)).unwrap_or_default();
        if !items.is_empty() {
            report.notes.push(format!(
                "run {} of the command's regrtest runs leaked by leakcheck's measurement: {}",
                number(run),
                items.join("; ")
            ));
            failed = true;
        }
    }
    if by_run.is_none() {
        report.notes.push(
            "which of the command's regrtest runs each of the shim's measurements of this test is cannot be \
             told (their processes do not match the runs): the outcome is the last run's, the measurement \
             may be another's"
                .into(),
        );
    }
    failed
}

/// Notes for the series of a re-run test measured before the one reported (`earlier`, of
/// `total` series in all) whose domains leaked by leakcheck's own measurement (suppressions
/// applied, a domain that leaked through a leak site only included): regrtest's verdict is the
/// re-run's, but the evidence stays, e.g. `the run before its re-run (reported here) leaked by
/// leakcheck's measurement: raw blocks [1, 1, 1] bytes [48, 48, 48]`.
fn earlier_run_leaks(name: &str, earlier: &[&Series], total: usize, join: &Join<'_>) -> Vec<String> {
    let mut notes = Vec::new();
    for (index, series) in earlier.iter().enumerate() {
        let items = measured_leaks(name, series, join);
        if items.is_empty() {
            continue;
        }
        let which = if earlier.len() == 1 {
            "the run before its re-run (reported here)".to_owned()
        } else {
            format!("run {} of the {total} measured, before its re-run (reported here),", index + 1)
        };
        notes.push(format!("{which} leaked by leakcheck's measurement: {}", items.join("; ")));
    }
    notes
}

/// Suppressions match leak sites: a run that records none (`--no-attribution`, `--no-shim`)
/// cannot use them, and a buildbot whose environment names a file ($LEAKCHECK_SUPPRESSIONS)
/// must not be left to wonder why a leak it accepted fails the run.
fn unused_suppressions(config: &Config) -> Option<String> {
    let (flag, so) = if !config.shim {
        ("--no-shim", "there are no domain verdicts, and regrtest's own are never suppressed")
    } else if config.stack_depth == 0 {
        ("--no-attribution", "a domain's verdict is its counts alone")
    } else {
        return None;
    };
    (!config.suppressions.is_empty()).then(|| {
        format!(
            "the suppressions (--suppressions or $LEAKCHECK_SUPPRESSIONS) were not applied: they match leak \
             sites, which {flag} does not record; {so}"
        )
    })
}

/// The domains of test `name` that leaked by leakcheck's measurement `series` (suppressions
/// applied, a domain that leaked through a leak site only included), each with its deltas:
/// `raw blocks [1, 1, 1] bytes [48, 48, 48]`.
fn measured_leaks(name: &str, series: &Series, join: &Join<'_>) -> Vec<String> {
    let test = regrtest::TestResult { name: name.to_owned(), ..Default::default() };
    let report = test_report(&test, Some(series), join);
    let Some(domains) = report.domains.as_ref() else { return Vec::new() };
    report
        .leaking_domains()
        .into_iter()
        .filter_map(|domain| {
            let (_, d) = domains.iter().find(|(n, _)| *n == domain)?;
            let bytes = d.bytes.as_deref().map_or_else(|| "unknown".to_owned(), |b| format!("{b:?}"));
            let mut item = format!("{domain} blocks {:?} bytes {bytes}", d.blocks);
            if !d.leaked {
                // Frees of older blocks kept the domain's sum flat; a site grew each time.
                let sites: Vec<String> = report
                    .leak_sites
                    .iter()
                    .filter(|s| s.domain == domain)
                    .map(|s| format!("{:?}", s.blocks))
                    .collect();
                let _ = write!(item, " (at its leak sites: blocks {})", sites.join(", "));
            }
            Some(item)
        })
        .collect()
}

/// How a test's note, and the run's warning, begin when the allocator hooks stopped counting
/// during its counted repetitions.
const HOOKS_LOST: &str = "the allocator hooks did not count through the counted repetitions \
     (replaced by PYTHONMALLOC or -X dev, or taken out by the test, e.g. tracemalloc.stop() of \
     a tracemalloc started before them, or a thread's allocations went uncounted for want of \
     memory) in";

/// How a test's note, and the run's warning, begin when the shim stopped recording allocation
/// sites during its repetitions (its own bookkeeping ran out of memory).
const SITES_INCOMPLETE: &str = "the shim stopped recording allocation sites during the repetitions";

/// What every test's report needs besides its own data.
struct Join<'a> {
    symbolizer: &'a Symbolizer,
    suppressions: &'a crate::suppress::Suppressions,
    stack_depth: u32,
    shim_enabled: bool,
    hooks_replaced: bool,
}

/// Whether regrtest reported a leak for `test`: its result says `reference leak`, or it printed
/// a failing leak line (the parser keeps only those printed after the marks of the test's last
/// `-R` repetition, regrtest's place for them) and its result is no verdict on the leak check.
/// A result that is one (`passed`, `env changed`: regrtest checked and found no leak) or that
/// says the test never got there (skipped) makes look-alike lines the test printed itself no
/// leak. Every other result came instead of the check's: quiet mode's summary (`failed`), a run
/// that died (`unknown`), and a `-j` worker that died or was ended after its `-R` check printed
/// the lines (`crashed`: leakcheck ended its hang at interpreter exit, or an atexit handler
/// crashed it; `timed_out`, `worker_failed`, `interrupted`), whose own result regrtest's main
/// process never read: the lines are regrtest's report of the leak all the same.
fn regrtest_reported_leak(test: &regrtest::TestResult) -> bool {
    let failing_line = [&test.references, &test.memory_blocks, &test.file_descriptors]
        .iter()
        .any(|l| l.as_ref().is_some_and(|l| l.failing));
    match test.outcome {
        Some(Outcome::ReferenceLeak) => true,
        Some(
            Outcome::Passed
            | Outcome::EnvChanged
            | Outcome::Skipped
            | Outcome::ResourceDenied
            | Outcome::RanNoTests
            | Outcome::NotRun,
        ) => false,
        Some(
            Outcome::Failed
            | Outcome::UncaughtException
            | Outcome::Interrupted
            | Outcome::Crashed
            | Outcome::TimedOut
            | Outcome::WorkerFailed
            | Outcome::Unknown,
        )
        | None => failing_line,
    }
}

fn test_report(test: &regrtest::TestResult, series: Option<&Series>, join: &Join<'_>) -> TestReport {
    let regrtest = RegrtestLeaks {
        references: test.references.as_ref().map(|l| l.deltas.clone()),
        memory_blocks: test.memory_blocks.as_ref().map(|l| l.deltas.clone()),
        file_descriptors: test.file_descriptors.as_ref().map(|l| l.deltas.clone()),
        failing: [
            ("references", &test.references),
            ("memory_blocks", &test.memory_blocks),
            ("file_descriptors", &test.file_descriptors),
        ]
        .into_iter()
        .filter(|(_, line)| line.as_ref().is_some_and(|l| l.failing))
        .map(|(key, _)| key)
        .collect(),
        leaked: regrtest_reported_leak(test),
    };
    let mut notes = Vec::new();
    let (domains, repetitions) = match series {
        Some(series) => {
            let analysis = leaks::analyze(series);
            if !analysis.complete {
                let why = if series.aborted.is_none() {
                    " (the process died during the test)".to_owned()
                } else if series.measures.is_empty() {
                    // Nothing ran: the reason is regrtest's own exception, e.g. "Tracking
                    // reference leaks requires a debug build of Python".
                    test.traceback.as_deref().and_then(last_error_line).map_or_else(String::new, |e| format!(" ({e})"))
                } else {
                    String::new()
                };
                notes.push(format!(
                    "repetitions cut short: {} of {} measured{why}",
                    series.measures.len(),
                    series.warmups + series.runs,
                ));
            }
            let repetitions = Repetitions {
                warmups: series.warmups,
                runs: series.runs,
                measured: series.measures.len() as u32,
                complete: analysis.complete,
            };
            if series.measures.is_empty() {
                // Nothing measured after the baseline: no delta, no verdict.
                (None, Some(repetitions))
            } else if analysis.unhooked.is_empty() {
                (Some(analysis.domains), Some(repetitions))
            } else {
                // What the hooks did not see cannot be told from zero.
                notes.push(format!("{} {}: no domain counts for this test", HOOKS_LOST, analysis.unhooked.join(", ")));
                (None, Some(repetitions))
            }
        }
        None => {
            if test.repetitions.is_some() && join.shim_enabled {
                notes.push(unmeasured_note(join).into());
            }
            (None, None)
        }
    };
    let modules = series.map(|s| s.modules.as_slice()).unwrap_or(&[]);
    if let Some(incomplete) = series.and_then(|s| s.sites_incomplete.as_ref()) {
        notes.push(format!(
            "{SITES_INCOMPLETE} ({}, from measurement {} on, pid {}): no leak sites for this run; \
             the domain counts are not affected",
            incomplete.reason, incomplete.index, incomplete.pid
        ));
    }
    // Every return address of the series symbolized once, for the verdicts, the sites' frames
    // and the notes.
    let keys = sites::SiteKeys::new(join.symbolizer, modules);
    let verdicts = series
        // Sites that are not all there tell nothing: a leak site may be missing, and a site
        // may miss the frees that would make it none.
        .filter(|series| series.sites_incomplete.is_none())
        .map(|series| leaks::site_verdicts(series, &keys))
        .unwrap_or_default();
    notes.extend(refill_notes(&verdicts.refills, &keys));
    let all_sites: Vec<LeakSiteReport> = verdicts
        .leaks
        .into_iter()
        .map(|site| {
            let (frames, folded_frames) = keys.frames(&site.stack);
            if let Some(note) = cut_in_allocator(&site, &frames, keys.interpreter(), join.stack_depth) {
                notes.push(note);
            }
            if let Some(room) = site.stack_cut {
                notes.push(cut_for_room(&site, &frames, room));
            }
            LeakSiteReport {
                domain: site.domain.into(),
                blocks: site.blocks,
                bytes: site.bytes,
                frames,
                folded_frames,
                python_frame: site.python_frames.first().cloned(),
                python_frames: site.python_frames,
                object_types: site.object_types,
                free_list_reuse: false,
                stack_cut: site.stack_cut.is_some(),
                other_test_thread: None,
            }
        })
        .collect();
    let (leak_sites, suppressed_sites) = suppress_sites(all_sites, join.suppressions);
    let mut domains = domains;
    if let Some(domains) = domains.as_mut() {
        notes.extend(explained_domains(domains, &leak_sites, &suppressed_sites));
        notes.extend(spread_domains(domains, &verdicts.spread));
    }
    let shows_sites = |name: &str| {
        leak_sites.iter().any(|s| s.domain == name) || suppressed_sites.iter().any(|s| s.site.domain == name)
    };
    for name in verdicts.merged_by_innermost.iter().filter(|name| shows_sites(name)) {
        notes.push(format!(
            "{name}: no site grew in every counted repetition with the same Python callers and file; \
             its leak sites are told apart by their innermost Python line (function and line) only, \
             and show that frame alone"
        ));
    }
    for name in verdicts.merged_by_c_frames.iter().filter(|name| shows_sites(name)) {
        notes.push(format!(
            "{name}: no site grew in every counted repetition with the same Python line; its leak sites \
             are told apart by their C frames alone (up to where the interpreter called into C), and \
             show no Python frame: the lines that reached them differed between repetitions. A leak \
             reached from another line each time does that, and so do caches filling up to a \
             high-water mark, each from its own line: more repetitions (-R 3:20) tell them apart (a \
             cache stops growing)"
        ));
    }
    for over in verdicts.overclaimed.iter().filter(|over| shows_sites(over.domain)) {
        notes.push(format!(
            "{}: its leak sites together grew by {:?} blocks, the domain by {:?}: some of them replace \
             blocks that died meanwhile (a free list or a ring rotating its blocks?), which leakcheck \
             could not tell from the leak",
            over.domain, over.sites, over.domain_growth
        ));
    }
    // A site that grew every time is a leak even when other blocks of its domain were freed
    // meanwhile and the domain's own deltas hide it.
    let domain_leak = domains.as_ref().is_some_and(|d| !d.leaked().is_empty()) || !leak_sites.is_empty();
    let mut report = TestReport {
        name: test.name.clone(),
        outcome: outcome_name(test.outcome.as_ref()),
        leaked: regrtest.leaked || domain_leak,
        leak_not_reported_by_regrtest: domain_leak && !regrtest.leaked,
        regrtest,
        domains,
        leak_sites,
        suppressed_sites,
        failed_methods: test.failed_methods.clone(),
        methods: test.methods.clone(),
        // The last one regrtest printed for the test: 3.11's in-process `-w` re-run prints none,
        // and the JUnit failure and issue draft of a test that failed again start with it.
        result_line: test.result_text.clone().or_else(|| test.first_run.as_ref()?.result_text.clone()),
        traceback: test.traceback.clone(),
        faulthandler: test.faulthandler.clone(),
        traceback_method: test.traceback_method.clone(),
        skip_reason: test.skip_reason.clone(),
        repetitions,
        notes,
    };
    crate::report::free_lists::mark(&mut report);
    report.note_leaks_regrtest_cannot_see(series.is_none_or(Series::regrtest_counts_blocks));
    report
}

/// The note of a test that ran `-R` repetitions the shim has no measurement of.
fn unmeasured_note(join: &Join<'_>) -> &'static str {
    if join.hooks_replaced {
        "ran with -R but the allocator hooks were replaced (PYTHONMALLOC or -X dev)"
    } else {
        "ran with -R but the shim took no measurement"
    }
}

/// A note for a leak site whose recorded stack is only allocator frames (see
/// [`sites::is_allocator_frame`]) because the shim stopped at `--stack-depth` before the
/// caller: the site names no code of the program.
fn cut_in_allocator(
    site: &leaks::LeakSite,
    frames: &[crate::symbolize::Frame],
    interpreter: &[String],
    stack_depth: u32,
) -> Option<String> {
    let cut = stack_depth > 0 && site.stack.len() >= stack_depth as usize;
    let only_allocator = !frames.is_empty() && frames.iter().all(|f| sites::is_allocator_frame(f, interpreter));
    (cut && only_allocator).then(|| {
        format!(
            "{}: the leak site at {} has only allocator frames: its stack was cut at --stack-depth {} \
             before reaching the caller; raise --stack-depth",
            site.domain,
            frames[0].function.as_deref().unwrap_or("??"),
            stack_depth
        )
    })
}

/// A note for a leak site whose stack the shim cut because the allocating thread had only
/// `room` bytes of stack left, too few to unwind through code it had not met before (see the
/// shim's `unwind::RULE_ROOM`).
fn cut_for_room(site: &leaks::LeakSite, frames: &[crate::symbolize::Frame], room: u64) -> String {
    let at = match frames.first() {
        Some(frame) => format!("the leak site at {}", frame.function.as_deref().unwrap_or("??")),
        None => "a leak site".to_owned(),
    };
    format!(
        "{}: {at} was allocated on a thread with {room} bytes of stack left, too few for the shim to \
         unwind through code it had not met before: its native stack was cut after {} (a thread \
         started after threading.stack_size() with a small size?); the counts are not affected",
        site.domain,
        match frames.len() {
            1 => "1 frame".to_owned(),
            n => format!("{n} frames"),
        }
    )
}

/// One note per Python line whose frees of blocks from before the test offset the growth of
/// sites allocated while it ran, one for the sites offset by free lists emptied in regrtest's
/// cleanup, and one for those offset by frees of warm-up blocks (see
/// [`leaks::SiteVerdicts::refills`]).
fn refill_notes(refills: &[(leaks::LeakSite, leaks::Refill)], keys: &sites::SiteKeys<'_>) -> Vec<String> {
    let described: Vec<(&leaks::Refill, String)> = refills
        .iter()
        .map(|(site, refill)| {
            let (frames, _) = keys.frames(&site.stack);
            (refill, format!("{} in {}", crate::report::short_place(frames.first()), site.domain))
        })
        .collect();
    refill_notes_of(&described)
}

/// [`refill_notes`] from each let-go site's place (`PyList_New (listobject.c:279) in obj`):
/// sites that differ only below their innermost frame (their callers, their Python lines) are
/// one place, named once with their count.
fn refill_notes_of(described: &[(&leaks::Refill, String)]) -> Vec<String> {
    let mut by_refill: Vec<(&leaks::Refill, Vec<(&str, usize)>)> = Vec::new();
    for (refill, place) in described {
        let places = match by_refill.iter_mut().find(|(r, _)| r == refill) {
            Some((_, places)) => places,
            None => {
                by_refill.push((refill, Vec::new()));
                &mut by_refill.last_mut().expect("just pushed").1
            }
        };
        match places.iter_mut().find(|(p, _)| p == place) {
            Some((_, count)) => *count += 1,
            None => places.push((place, 1)),
        }
    }
    by_refill
        .into_iter()
        .map(|(refill, places)| {
            let sites = places
                .iter()
                .map(|(place, count)| match count {
                    1 => (*place).to_owned(),
                    n => format!("{place} ({n} sites)"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            match refill {
                leaks::Refill::Line(line) => format!(
                    "no leak site: {sites} grew in every counted repetition while {}:{} ran, which freed as many \
                     blocks allocated before the test (a cache full before the test, replacing its entries?)",
                    line.file.rsplit('/').next().unwrap_or(&line.file),
                    line.line
                ),
                leaks::Refill::FreeLists => format!(
                    "no leak site: {sites} grew in every counted repetition, and regrtest's cleanup freed as many \
                     blocks of the same size allocated before the test (a cache full before the test whose \
                     evicted entries went to CPython's free lists, emptied by gc.collect()?)"
                ),
                leaks::Refill::WarmupBlocks => format!(
                    "no leak site: {sites} grew in every counted repetition, but as many blocks of the same size \
                     allocated during the warm-ups were freed meanwhile, and the domain grew by less than its \
                     sites did (a free list or a ring rotating its blocks, as unittest's per-class lists do?)"
                ),
            }
        })
        .collect()
}

/// Marks the leaking domains whose growth no site had in every counted repetition, though
/// their sites summed did, and says so: the verdict stands (regrtest's rule), but there is no
/// site to show, and more repetitions tell a cache filling up to its high-water mark (3.11's
/// ABC caches in test_typing: one table resize per repetition, from another `isinstance`),
/// which stops growing, from a leak that moves, which does not.
fn spread_domains(domains: &mut Domains, spread: &[&'static str]) -> Vec<String> {
    let mut notes = Vec::new();
    for (name, domain) in [("raw", &mut domains.raw), ("mem", &mut domains.mem), ("obj", &mut domains.obj)] {
        if domain.leaked && spread.contains(&name) {
            domain.spread = true;
            notes.push(format!(
                "{name}: blocks grew {:?}, but no allocation site did in every counted repetition, \
                 not even by its innermost Python line or by its C frames alone: caches filling up to \
                 a high-water mark, or a leak that allocates from another C path each time; more \
                 repetitions (-R 3:20) tell them apart (a cache stops growing)",
                domain.blocks
            ));
        }
    }
    notes
}

/// Split the sites into those that leak and those a suppression accepted.
fn suppress_sites(
    sites: Vec<LeakSiteReport>,
    suppressions: &crate::suppress::Suppressions,
) -> (Vec<LeakSiteReport>, Vec<SuppressedSite>) {
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    for site in sites {
        match suppressions.matching(&site).map(str::to_owned) {
            Some(suppression) => suppressed.push(SuppressedSite { site, suppression }),
            None => kept.push(site),
        }
    }
    (kept, suppressed)
}

/// A leaking domain whose growth the suppressed sites explain stops counting as leaked: no
/// unsuppressed site of the domain leaks, and in every counted repetition the suppressed sites
/// grew by at least the domain's delta. Returns a note per domain so cleared.
fn explained_domains(domains: &mut Domains, kept: &[LeakSiteReport], suppressed: &[SuppressedSite]) -> Vec<String> {
    let mut notes = Vec::new();
    for (name, domain) in [("raw", &mut domains.raw), ("mem", &mut domains.mem), ("obj", &mut domains.obj)] {
        let accepted: Vec<&SuppressedSite> = suppressed.iter().filter(|s| s.site.domain == name).collect();
        if !domain.leaked || accepted.is_empty() || kept.iter().any(|s| s.domain == name) {
            continue;
        }
        let explained = domain.blocks.iter().enumerate().all(|(i, &delta)| {
            accepted.iter().map(|s| s.site.blocks.get(i).copied().unwrap_or(0)).sum::<i64>() >= delta
        });
        if explained {
            domain.leaked = false;
            let rules = crate::report::distinct_suppressions(accepted.iter().copied());
            notes.push(format!("{name}: its growth is the suppressed sites' ({})", rules.join(", ")));
        }
    }
    notes
}

/// The exception line of a Python traceback, at most 200 bytes: the first line of the last
/// exception, the first line at the margin after the last `Traceback (most recent call
/// last):` (its frames, source lines and carets are indented). Not the traceback's last line:
/// unittest's failure message goes on over lines of its own (assertEqual's diff, then `:
/// msg`), and so does doctest's report of the examples that failed. A traceback without that
/// shape (an exception group's lines are all indented), its last line that is not blank.
fn last_error_line(traceback: &str) -> Option<String> {
    const HEADER: &str = "Traceback (most recent call last):";
    let lines: Vec<&str> = traceback.lines().collect();
    let last_exception = lines.iter().rposition(|l| l.trim_end() == HEADER).and_then(|at| {
        lines.get(at + 1..)?.iter().find(|l| !l.trim().is_empty() && !l.starts_with(char::is_whitespace))
    });
    let line = match last_exception {
        Some(line) => line.trim(),
        None => lines.iter().rev().map(|l| l.trim()).find(|l| !l.is_empty())?,
    };
    Some(crate::escape::truncate_with_ellipsis(line, 200))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_FACTS: OutputFacts = OutputFacts {
        saw_huntrleaks: false,
        worker_thread_failure: None,
        selection: None,
        hang_after_tests: false,
        interleaved: false,
    };

    fn worker_thread_failure(output: &[u8]) -> WorkerThreadFailure {
        let mut failure = WorkerThreadFailure::default();
        for line in output.split_inclusive(|&b| b == b'\n') {
            failure.line(line);
        }
        failure
    }

    /// The sites a note lets go that share their innermost frame (they differ in their callers
    /// or Python lines: unittest's per-class lists, six of them on 3.13) are named once with
    /// their count, each place as the one-line stacks name frames, a build tree's absolute path
    /// by the file's name.
    #[test]
    fn sites_let_go_at_one_place_are_named_once_with_their_count() {
        let frame = |function: &str, file: Option<&str>| crate::symbolize::Frame {
            function: Some(function.into()),
            file: file.map(str::to_owned),
            line: file.map(|_| 279),
            column: None,
            module: "/root/.cache/leakcheck/cpython-3.13-pydebug/python".into(),
            address: 0x1000,
            inlined: false,
        };
        let list = "/root/.cache/leakcheck/cpython-3.13-pydebug/Objects/listobject.c";
        assert_eq!(crate::report::short_place(Some(&frame("PyList_New", Some(list)))), "PyList_New (listobject.c:279)");
        assert_eq!(crate::report::short_place(Some(&frame("f", None))), "f (python)");
        assert_eq!(crate::report::short_place(None), "??");
        let warmup = leaks::Refill::WarmupBlocks;
        let line = leaks::Refill::Line(crate::hang::PythonFrame {
            file: "/t/td/test_c.py".into(),
            line: 7,
            function: "T.test_c".into(),
        });
        let list = "PyList_New (listobject.c:279) in obj".to_owned();
        let float = "PyFloat_FromDouble (floatobject.c:147) in obj".to_owned();
        let described: Vec<(&leaks::Refill, String)> = [
            (&warmup, list.clone()),
            (&warmup, list.clone()),
            (&line, list.clone()),
            (&warmup, float.clone()),
            (&warmup, list.clone()),
        ]
        .into_iter()
        .collect();
        let notes = refill_notes_of(&described);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].starts_with(
                "no leak site: PyList_New (listobject.c:279) in obj (3 sites), PyFloat_FromDouble \
                 (floatobject.c:147) in obj grew in every counted repetition, but as many blocks"
            ),
            "{notes:?}"
        );
        assert!(
            notes[1].starts_with("no leak site: PyList_New (listobject.c:279) in obj grew in every counted repetition while test_c.py:7 ran"),
            "{notes:?}"
        );
    }

    /// The reason a note gives for repetitions cut short: the exception's line, not the last
    /// line of a message over several (unittest's assertEqual of strings: the diff, then `:
    /// msg`), nor doctest's report after its `AssertionError`; regrtest's own exception, the
    /// last of a chain, and an exception group's (all indented: its last line) as they were.
    #[test]
    fn the_error_line_is_the_last_exceptions_first() {
        let unittest = "Traceback (most recent call last):\n  File \"/t/test_u.py\", line 4, in test_x\n    \
                        self.assertEqual(\"\u{e9}\", \"\u{fc}\", \"mismatch \u{2603}\")\n\
                        AssertionError: '\u{e9}' != '\u{fc}'\n- \u{e9}\n+ \u{fc}\n : mismatch \u{2603}";
        assert_eq!(last_error_line(unittest).as_deref(), Some("AssertionError: '\u{e9}' != '\u{fc}'"));
        let real = include_str!("../tests/data/regrtest/3.13.0-seq-R-release-build.txt");
        let regrtests = real.split_once("test test_ok crashed -- ").and_then(|(_, t)| t.split_once("\n\n")).unwrap().0;
        assert_eq!(
            last_error_line(regrtests).as_deref(),
            Some("Exception: Tracking reference leaks requires a debug build of Python")
        );
        let chained = "Traceback (most recent call last):\n  File \"x.py\", line 1, in f\nKeyError: 'a'\n\n\
                       During handling of the above exception, another exception occurred:\n\n\
                       Traceback (most recent call last):\n  File \"x.py\", line 3, in f\n\
                       OSError: [Errno 9] Bad file descriptor\n";
        assert_eq!(last_error_line(chained).as_deref(), Some("OSError: [Errno 9] Bad file descriptor"));
        let doctest = "Traceback (most recent call last):\n  File \"case.py\", line 2, in runTest\n\
                       AssertionError: Failed doctest test for test_d.bad\n  File \"/t/test_d.py\", line 3, in bad\n\n\
                       ----------------------------------------------------------------------\n\
                       File \"/t/test_d.py\", line 5, in test_d.bad\nFailed example:\n    1 + 1\nExpected:\n    3\nGot:\n    2\n";
        assert_eq!(last_error_line(doctest).as_deref(), Some("AssertionError: Failed doctest test for test_d.bad"));
        let group = "  + Exception Group Traceback (most recent call last):\n  |   File \"x.py\", line 1, in f\n  \
                     | ExceptionGroup: two (2 sub-exceptions)\n  +-+---------------- 1 ----------------\n    \
                     | ValueError: a\n    +------------------------------------\n";
        assert_eq!(last_error_line(group).as_deref(), Some("+------------------------------------"));
        assert_eq!(last_error_line(" \n\n"), None);
    }

    #[test]
    fn regrtest_s_worker_thread_failure_is_a_warning_with_its_exception() {
        let real = worker_thread_failure(include_bytes!("../tests/data/regrtest/3.11.2-j2-worker-thread-failed.txt"));
        assert_eq!(
            real.exception.as_deref(),
            Some("UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 11: invalid start byte")
        );
        let warning = real.warning().unwrap_or_default();
        assert!(warning.starts_with(&format!("{WORKER_THREAD_FAILED} (UnicodeDecodeError: ")), "{warning}");
        assert!(worker_thread_failure(include_bytes!("../tests/data/regrtest/3.11.2-j2-R.txt")).warning().is_none());
        // A chained exception: the last one is the one raised.
        let chained = worker_thread_failure(
            b"Warning -- regrtest worker thread failed: Traceback (most recent call last):\n\
              Warning --   File \"x.py\", line 1, in run\n\
              Warning -- KeyError: 'a'\n\
              Warning -- \n\
              Warning -- During handling of the above exception, another exception occurred:\n\
              Warning -- \n\
              Warning -- Traceback (most recent call last):\n\
              Warning --   File \"x.py\", line 3, in run\n\
              Warning -- OSError: [Errno 9] Bad file descriptor\r\n\
              Warning -- something else\n",
        );
        assert_eq!(chained.exception.as_deref(), Some("OSError: [Errno 9] Bad file descriptor"));
        // Other warnings are not it.
        assert!(worker_thread_failure(b"Warning -- Unraisable exception\nWarning -- ValueError: x\n")
            .warning()
            .is_none());
    }

    #[test]
    fn a_selected_test_not_started_is_one_named_nowhere_and_not_measured() {
        let selected: Vec<String> = ["test_a", "test_b", "test_asyncio", "test_c"].map(String::from).to_vec();
        let tests = [
            TestReport::new("test_a".into(), "passed"),
            TestReport::new("test_asyncio.test_tasks".into(), "interrupted"),
        ];
        assert_eq!(not_started(&selected, &tests, &["test_b"]), ["test_c"]);
    }

    /// `print_summary` as the runtimes read it: ASAN's and LSan's reports from `ASAN_OPTIONS`
    /// then `LSAN_OPTIONS` (a later setting wins), the others' from their own variable.
    #[test]
    fn summaries_are_off_where_the_runtime_reads_print_summary_false() {
        use sanitizer::Sanitizer::{Asan, Lsan, Msan, Tsan, Ubsan};
        let off = |options: &[(&str, &str)]| {
            let options: Vec<(String, std::ffi::OsString)> =
                options.iter().map(|(name, value)| ((*name).to_owned(), (*value).into())).collect();
            summaries_off(&options, None)
        };
        assert_eq!(off(&[]), []);
        assert_eq!(off(&[("ASAN_OPTIONS", "halt_on_error=0:print_summary=0")]), [Asan, Lsan]);
        assert_eq!(off(&[("ASAN_OPTIONS", "print_summary=false"), ("LSAN_OPTIONS", "print_summary=1")]), []);
        assert_eq!(off(&[("ASAN_OPTIONS", "print_summary=1"), ("LSAN_OPTIONS", "print_summary=no")]), [Asan, Lsan]);
        assert_eq!(off(&[("ASAN_OPTIONS", "print_summary=0 print_summary=1")]), []);
        assert_eq!(
            off(&[
                ("UBSAN_OPTIONS", "print_summary=0"),
                ("TSAN_OPTIONS", "print_summary=0"),
                ("MSAN_OPTIONS", "print_summary=0")
            ]),
            [Msan, Tsan, Ubsan]
        );
    }

    /// The pids the run's processes can have had: those handed out after the last one before
    /// the run, up to the last one now, across `pid_max` (on to 300), until the run went all
    /// the way round.
    #[test]
    fn a_pid_window_holds_the_pids_handed_out_since_the_run_began() {
        let mut window = PidWindow { before: 2215, last: 2215, pid_max: 32768, handed_out: 0 };
        window.advance(2249);
        assert_eq!(window.range(), "2216 to 2249");
        for (pid, excluded) in [(123, true), (2215, true), (2216, false), (2249, false), (2250, true), (0, true)] {
            assert_eq!(window.excludes(pid), excluded, "{pid}");
        }
        // Across pid_max.
        let mut window = PidWindow { before: 32700, last: 32700, pid_max: 32768, handed_out: 0 };
        window.advance(32760);
        window.advance(512);
        assert_eq!(window.range(), "32701 to 32767 and 300 to 512");
        for (pid, excluded) in [(123, true), (299, true), (300, false), (512, false), (513, true), (32700, true)] {
            assert_eq!(window.excludes(pid), excluded, "{pid}");
        }
        assert!(!window.excludes(32701) && !window.excludes(32767));
        // All the way round: any pid may have been the run's.
        window.advance(32000);
        window.advance(32699);
        window.advance(400);
        assert!(!window.excludes(123) && !window.excludes(20_000));
    }

    /// The runtime's `ERROR: Can't open file: PATH (reason: N)`, without a newline (another
    /// process's output may follow on the line), is read for the log_path note of its prefix.
    #[test]
    fn log_files_the_runtime_could_not_open_are_named() {
        let mut unopened = UnopenedLogs::default();
        unopened.line(b"ERROR: Can't open file: /proc/qa-san5/asan.11471 (reason: 2)");
        unopened.line(b"ERROR: Can't open file: /ro/logs q/ub.7.log (reason: 30)0:00:01 load avg: 0.5 [2/2] test_b");
        unopened.line(b"ERROR: Can't open file: /proc/qa-san5/asan.11471 (reason: 2)");
        unopened.line(b"ERROR: Can't open file: no reason");
        unopened.line(b"0:00:00 load avg: 0.5 [1/2] test_a");
        assert_eq!(
            unopened.files,
            [(b"/proc/qa-san5/asan.11471".to_vec(), Some(2)), (b"/ro/logs q/ub.7.log".to_vec(), Some(30))]
        );
        let note = unopened_note(&unopened.files, b"/proc/qa-san5/asan", b"");
        assert!(
            note.starts_with(
                "; the runtime said it could not open /proc/qa-san5/asan.11471 (No such file or directory) when"
            ),
            "{note}"
        );
        let note = unopened_note(&unopened.files, b"/ro/logs q/ub", b".log");
        assert!(note.contains("/ro/logs q/ub.7.log (Read-only file system)"), "{note}");
        assert_eq!(unopened_note(&unopened.files, b"/ro/logs q/ub", b".txt"), "");
        assert_eq!(unopened_note(&unopened.files, b"/proc/qa-san5/as", b""), "", "another prefix");
    }

    #[test]
    fn log_path_file_names_end_in_the_pid() {
        assert_eq!(pid_suffix("ubsan.4242"), Some(4242));
        assert_eq!(pid_suffix("asan.python3.11-dbg.17"), Some(17), "log_exe_name");
        for name in ["ubsan", "ubsan.", "ubsan.12x", "u.99999999999"] {
            assert_eq!(pid_suffix(name), None, "{name}");
        }
    }

    /// `log_path` comes from every options variable the command got, read as the runtime reads
    /// it (any separator, quotes, included files, `log_suffix`); a prefix two variables name is
    /// read once.
    #[test]
    fn log_path_files_are_found_from_options_read_as_the_runtime_reads_them() {
        use std::ffi::OsString;
        let dir = tempfile::tempdir().unwrap();
        let started = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        let report = "s3.c:85:9: runtime error: signed integer overflow: 1 + 2147483647 cannot be represented in \
                      type 'int'\n    #0 0x7fdc89a096f7 in ub_overflow /tmp/s3.c:85\n";
        let d = dir.path().display();
        std::fs::write(dir.path().join("ub.4242"), report).unwrap();
        std::fs::create_dir(dir.path().join("q q")).unwrap();
        std::fs::write(dir.path().join("q q/asan.77.txt"), report).unwrap();
        // A file from before the run is not read.
        let old = std::fs::File::create(dir.path().join("ub.1")).unwrap();
        old.set_modified(started - std::time::Duration::from_secs(60)).unwrap();
        std::fs::write(dir.path().join("opts"), format!("log_path='{d}/q q/asan',log_suffix=.txt\n")).unwrap();
        let options: Vec<(String, OsString)> = [
            ("ASAN_OPTIONS", format!("detect_leaks=0:include={d}/opts")),
            ("LSAN_OPTIONS", format!("log_path={d}/ub")),
            ("UBSAN_OPTIONS", format!("print_stacktrace=1\tlog_path={d}/ub")),
            ("TSAN_OPTIONS", "include=/tmp/%p.opts".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), OsString::from(value)))
        .collect();
        let (findings, notes) = log_path_findings(&options, None, started, &[], &[]);
        let mut pids: Vec<Option<u32>> = findings.iter().map(|f| f.pid).collect();
        pids.sort();
        assert_eq!(pids, [Some(77), Some(4242)], "{findings:#?}");
        assert_eq!(
            notes,
            [
                "TSAN_OPTIONS includes /tmp/%p.opts (it names the process id, %p), which leakcheck could not read: \
                 reports a log_path set there sends to files are not read"
                    .to_owned(),
                format!(
                    "ASAN_OPTIONS has log_path={d}/q q/asan: 1 report(s) read from 1 file(s); their tests are \
                         known only from the shim's -R records of their processes"
                ),
                format!(
                    "LSAN_OPTIONS and UBSAN_OPTIONS have log_path={d}/ub: 1 report(s) read from 1 file(s); their \
                         tests are known only from the shim's -R records of their processes"
                ),
            ]
        );
    }

    /// Feed `lines` as the run would: regrtest's parser first, then the sanitizer's.
    fn findings(lines: &[&str]) -> Vec<Finding> {
        let symbolizer = Symbolizer::new();
        let mut parser = regrtest::Parser::new();
        let mut sanitizer = SanitizerFindings::new(&symbolizer, &[], false);
        for line in lines {
            parser.feed_line(line.as_bytes());
            sanitizer.line(line.as_bytes(), parser.output_owner());
        }
        sanitizer.finish(&ShimData::default()).0
    }

    const REPORT: [&str; 4] = [
        "==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x1 bp 0x2 sp 0x3",
        "READ of size 8 at 0x602000000010 thread T0",
        "    #0 0x55d0c0a1b2c3 in use_after_free /src/fix.c:31",
        "    #1 0x55d0c0a1b400 in main /src/fix.c:40",
    ];

    #[test]
    fn a_finding_belongs_to_the_test_whose_output_held_its_first_line() {
        // The report's summary only arrives after the next test was announced.
        let mut lines = vec!["0:00:00 load avg: 0.00 [1/2] test_a"];
        lines.extend(REPORT);
        lines.push("0:00:01 load avg: 0.00 [2/2] test_b");
        lines.push("SUMMARY: AddressSanitizer: heap-use-after-free /src/fix.c:31 in use_after_free");
        let found = findings(&lines);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].test.as_deref(), Some("test_a"));
        assert_eq!(found[0].kind, "heap-use-after-free");
    }

    #[test]
    fn repeated_reports_are_merged_with_their_count_even_past_the_merge_threshold() {
        let mut lines = vec!["0:00:00 load avg: 0.00 [1/1] test_a"];
        for _ in 0..FINDINGS_BEFORE_MERGE + 10 {
            lines.extend(REPORT);
            lines.push("SUMMARY: AddressSanitizer: heap-use-after-free /src/fix.c:31 in use_after_free");
        }
        let found = findings(&lines);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].count as usize, FINDINGS_BEFORE_MERGE + 10);
    }

    #[test]
    fn many_distinct_findings_cost_a_merge_per_doubling() {
        let symbolizer = Symbolizer::new();
        let mut sanitizer = SanitizerFindings::new(&symbolizer, &[], false);
        for i in 0..4000u32 {
            let lines = [
                format!("==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x60200000{i:04x} at pc 0x1"),
                "READ of size 8 at 0x602000000010 thread T0".to_owned(),
                format!("    #0 0x55d0c0a1b2c3 in f{i} /src/fix.c:31"),
                format!("SUMMARY: AddressSanitizer: heap-use-after-free /src/fix.c:31 in f{i}"),
            ];
            for line in &lines {
                sanitizer.line(line.as_bytes(), Some("test_a"));
            }
        }
        // 256, 512, 1024, 2048 distinct findings held (each merge keeps them all).
        assert!(sanitizer.merges <= 5, "{} merges", sanitizer.merges);
        assert_eq!(sanitizer.finish(&ShimData::default()).0.len(), 4000);
    }

    #[test]
    fn a_report_no_output_placed_gets_the_test_its_process_ran_when_it_arrived() {
        let record =
            |kind: &str, test: &str, time: u64| format!("{kind}\t10\t{test}\t1\t2\t63{}\t{time}\n", "\t0".repeat(6));
        let events = [("begin", "test_a", 1000), ("end", "test_a", 2000), ("begin", "test_b", 3000)]
            .map(|(kind, test, time)| record(kind, test, time))
            .concat();
        let mut shim = ShimData::default();
        shim.add_file(events.as_bytes());
        assert_eq!((shim.bad_lines, shim.series.len()), (0, 2));
        let asan = Finding { pid: Some(10), ..Finding::asan("heap-buffer-overflow", Vec::new(), Vec::new()) };
        // test_b has no `end`: the process died in it, which goes on. A report read after
        // test_a's end, before test_b began, was written in test_a's last repetition and read late.
        for (arrived, test) in [(1500, Some("test_a")), (2500, Some("test_a")), (3500, Some("test_b")), (900, None)] {
            assert_eq!(test_of_process(&shim, &asan, Some(arrived)).as_deref(), test, "{arrived}");
        }
        assert_eq!(test_of_process(&shim, &asan, None).as_deref(), Some("test_b"), "the test it died in");
        // LeakSanitizer reports at exit: only while a test ran is it that test's.
        let lsan = Finding { sanitizer: sanitizer::Sanitizer::Lsan, ..asan.clone() };
        for (arrived, test) in [(1500, Some("test_a")), (2500, None), (900, None)] {
            assert_eq!(test_of_process(&shim, &lsan, Some(arrived)).as_deref(), test, "LSan {arrived}");
        }

        // Each report its own test; the one past the arrivals kept by the process alone.
        let mut finding = Finding { count: 5, arrivals: vec![1500, 3500, 3600, 2500], ..asan.clone() };
        assert!(finding.awaits_test());
        tell_tests(&mut finding, &shim);
        assert_eq!(finding.test.as_deref(), Some("test_a"));
        assert_eq!(finding.other_tests, ["test_b"]);
        let counts = [(Some("test_a".to_owned()), 2), (Some("test_b".to_owned()), 3)];
        assert_eq!(finding.test_counts, counts);
        assert!(!finding.awaits_test());
    }

    /// The only test of a sequential regrtest is not the test of what its process does around
    /// it: a LeakSanitizer report at exit (a leak of `sitecustomize` at start-up) read after the
    /// test's `end` is no test's, as with two tests; a `-j` worker's process runs its one test,
    /// and its reports, LSan's at exit included, are that test's.
    #[test]
    fn a_sequential_regrtests_only_test_does_not_own_its_exit() {
        let record = |kind: &str, pid: u32, test: &str, time: u64| {
            format!("{kind}\t{pid}\t{test}\t3\t3\t63{}\t{time}\n", "\t0".repeat(6))
        };
        let worker = r#"python3\x00-m\x00test.regrtest\x00--worker-args\x00[{}, \x22test_w\x22]"#;
        let events = [
            format!("process\t20\t10\t{worker}\n"),
            record("begin", 10, "test_a", 1000),
            record("end", 10, "test_a", 2000),
            record("begin", 20, "test_w", 1000),
            record("end", 20, "test_w", 2000),
        ]
        .concat();
        let mut shim = ShimData::default();
        shim.add_file(events.as_bytes());
        assert_eq!((shim.bad_lines, shim.series.len()), (0, 2));
        let asan = Finding { pid: Some(10), ..Finding::asan("heap-buffer-overflow", Vec::new(), Vec::new()) };
        let lsan = Finding { sanitizer: sanitizer::Sanitizer::Lsan, ..asan.clone() };
        let told = |finding: &Finding, arrived| test_of_process(&shim, finding, arrived);
        assert_eq!(told(&lsan, Some(2500)), None, "LSan at the sequential process's exit");
        assert_eq!(told(&lsan, Some(1500)), Some("test_a".into()), "LSan while the test ran");
        assert_eq!(told(&lsan, None), None, "LSan at exit from a log_path file");
        assert_eq!(told(&asan, Some(900)), None, "before the test began (its module's import)");
        assert_eq!(told(&asan, Some(2500)), Some("test_a".into()), "read after its last repetition");
        assert_eq!(told(&asan, None), Some("test_a".into()), "a log_path file's: the only test");
        let (asan, lsan) = (Finding { pid: Some(20), ..asan }, Finding { pid: Some(20), ..lsan });
        for arrived in [Some(900), Some(2500), None] {
            assert_eq!(told(&lsan, arrived), Some("test_w".into()), "LSan at a worker's exit");
            assert_eq!(told(&asan, arrived), Some("test_w".into()), "a worker's");
        }
    }

    /// A report without a pid (UBSan's) that no output placed: sequentially, the test that
    /// began last before it was read; with `-j`, the test of the worker that exited last before
    /// it was read (regrtest's main process prints a worker's output once it has reaped it),
    /// by its `end` record when it wrote no `exit` record. Each report its own test and count.
    #[test]
    fn a_report_without_a_pid_gets_the_test_whose_output_was_being_printed() {
        let record = |kind: &str, pid: u32, test: &str, time: u64| {
            format!("{kind}\t{pid}\t{test}\t3\t3\t63{}\t{time}\n", "\t0".repeat(6))
        };
        let sequential = [record("begin", 10, "test_a", 1000), record("begin", 10, "test_b", 3000)].concat();
        let mut shim = ShimData::default();
        shim.add_file(sequential.as_bytes());
        for (arrived, test) in [(900, None), (1500, Some("test_a")), (2999, Some("test_a")), (3500, Some("test_b"))] {
            assert_eq!(test_of_output(&shim, arrived).as_deref(), test, "sequential, read at {arrived}");
        }

        let worker =
            |test: &str| format!(r#"python3\x00-m\x00test.regrtest\x00--worker-args\x00[{{}}, \x22{test}\x22]"#);
        let mut shim = ShimData::default();
        let events = [
            // test_w1 and test_w2 run side by side; test_w1 ends first, but exits last.
            (20, "test_w1", 1000, 2000, Some(2600)),
            (30, "test_w2", 1100, 2100, Some(2300)),
            // Killed: no `exit` record.
            (40, "test_w3", 3000, 4000, None),
        ];
        for (pid, test, begin, end, exit) in events {
            let mut file = format!("process\t{pid}\t10\t{}\n", worker(test));
            file += &record("begin", pid, test, begin);
            file += &record("end", pid, test, end);
            if let Some(exit) = exit {
                file += &format!("exit\t{pid}\t{exit}\n");
            }
            shim.add_file(file.as_bytes());
        }
        assert_eq!((shim.bad_lines, shim.exited.len()), (0, 2));
        let expected =
            [(1500, None), (2200, None), (2400, Some("test_w2")), (2700, Some("test_w1")), (4100, Some("test_w3"))];
        for (arrived, test) in expected {
            assert_eq!(test_of_output(&shim, arrived).as_deref(), test, "-j, read at {arrived}");
        }

        let ubsan = Finding {
            sanitizer: sanitizer::Sanitizer::Ubsan,
            pid: None,
            count: 3,
            arrivals: vec![2700, 2400, 2800],
            ..Finding::asan("signed-integer-overflow", Vec::new(), Vec::new())
        };
        assert!(ubsan.awaits_test());
        let mut finding = ubsan.clone();
        tell_tests(&mut finding, &shim);
        assert_eq!((finding.test.as_deref(), &finding.other_tests[..]), (Some("test_w1"), &["test_w2".to_owned()][..]));
        let counts = [(Some("test_w1".to_owned()), 2), (Some("test_w2".to_owned()), 1)];
        assert_eq!(finding.test_counts, counts);
        assert!(finding.test_pids.is_empty(), "no pid: {:?}", finding.test_pids);
    }

    #[test]
    fn own_processes_are_the_command_and_its_workers_not_a_regrtest_a_test_ran() {
        let mut shim = ShimData::default();
        let worker = r#"python3\x00-m\x00test.regrtest\x00--worker-args\x00[{}, \x22test_a\x22]"#;
        let nested_main = r#"python3\x00-m\x00test\x00-R\x003:3\x00test_b"#;
        let events =
            format!("process\t20\t10\t{worker}\nprocess\t30\t20\t{nested_main}\nprocess\t40\t10\t{nested_main}\n");
        shim.add_file(events.as_bytes());
        assert_eq!(shim.bad_lines, 0);
        let argv: Vec<String> = ["python3", "-m", "test", "-j2", "-R", "3:3"].map(String::from).to_vec();
        let own = OwnProcesses::new(&shim, 10, &argv);
        assert!(own.contains(10), "the command");
        assert!(own.contains(20), "its worker");
        assert!(!own.contains(30), "a regrtest its worker's test ran");
        assert!(!own.contains(40), "a regrtest its own test ran (sequentially)");
        assert!(own.contains(50), "no record: the benefit of the doubt");
        // A wrapper command (`timeout 600 python -m test`): every series counts.
        let own = OwnProcesses::new(&shim, 10, &["timeout".into(), "600".into()]);
        assert!(own.contains(30));
    }

    /// Regrtests that lived at the same time ran at the same time, whatever they measured when;
    /// a `-j` worker is its main process's, and neither a nested regrtest nor a fork child of
    /// one is a run of its own.
    #[test]
    fn regrtests_at_the_same_time_are_those_whose_processes_lived_together() {
        let main = r#"python3\x00-m\x00test\x00-R\x003:3\x00test_a"#;
        let worker = r#"python3\x00-m\x00test.regrtest\x00--worker-args\x00[{}, \x22test_a\x22]"#;
        let series = |pid: i32, start: u64, end: u64| {
            format!(
                "begin\t{pid}\ttest_a\t3\t3\t63\t0\t0\t0\t0\t0\t0\t{start}\n\
                 end\t{pid}\ttest_a\t0\t1\t63\t0\t0\t0\t0\t0\t0\t{end}\n"
            )
        };
        let of = |files: &[String]| {
            let mut shim = ShimData::default();
            for file in files {
                shim.add_file(file.as_bytes());
            }
            shim.set_aside_forks();
            assert_eq!(shim.bad_lines, 0);
            concurrent_regrtests(&shim)
        };
        // Process 10 lived 100..1000 and measured at 900; process 20 lived 200..300 and
        // measured at 250: their measurements never overlapped.
        let first = format!("process\t10\t5\t{main}\t100\n{}exit\t10\t1000\n", series(10, 900, 950));
        let second = format!("process\t20\t5\t{main}\t200\n{}exit\t20\t300\n", series(20, 250, 260));
        assert_eq!(of(&[first.clone(), second.clone()]), [10, 20]);
        // One after the other.
        let later = format!("process\t20\t5\t{main}\t1100\n{}exit\t20\t1300\n", series(20, 1150, 1160));
        assert!(of(&[first.clone(), later]).is_empty());
        // Killed (no exit record): alive until its last record at least.
        let killed = format!("process\t20\t5\t{main}\t200\n{}", series(20, 250, 260));
        assert_eq!(of(&[first.clone(), killed]), [10, 20]);
        // A regrtest process 10's test started, and a fork child of process 10.
        let nested = format!("process\t20\t10\t{main}\t200\n{}exit\t20\t300\n", series(20, 250, 260));
        assert!(of(&[first.clone(), nested]).is_empty());
        let fork = format!("fork\t20\t10\t10\t200\nprocess\t20\t10\t{main}\t200\n{}", series(20, 250, 260));
        assert!(of(&[first.clone(), fork]).is_empty());
        // A -j run (its main process 30 wrote no record) beside process 10, by its workers.
        let workers = [(31, 150, 400), (32, 350, 700)]
            .map(|(pid, start, end)| format!("process\t{pid}\t30\t{worker}\t{start}\nexit\t{pid}\t{end}\n"));
        assert_eq!(of(&[first.clone(), workers[0].clone(), workers[1].clone()]), [10, 30]);
        // An older shim: no start in the process record, the series make the span.
        let old = format!("process\t20\t5\t{main}\n{}exit\t20\t300\n", series(20, 250, 260));
        assert_eq!(of(&[first, old]), [10, 20]);
    }

    #[test]
    fn leak_sites_carry_their_python_frame_and_each_missing_frames_reason_warns_once() {
        let counters = |kind: &str, a: i64, b: i64| format!("{kind}\t10\ttest_x\t{a}\t{b}\t63\t0\t0\t0\t0\t0\t0\n");
        let mut events = counters("begin", 1, 2) + &counters("baseline", -1, 0);
        for index in 0..3 {
            events += &counters("measure", index, 0);
            events += &format!("site\t10\ttest_x\t{index}\t7\tr\t{}\t{}\n", index + 1, 48 * (index + 1));
        }
        events += "stack\t10\t-\t7\tr\t401000\n";
        events += "pyframe\t10\t-\t7\t9\t/tmp/x/test_leak_raw.py\tLeakTest.test_leak_raw\n";
        events += &counters("end", 2, 0);
        let mut shim = ShimData::default();
        shim.add_file(events.as_bytes());
        let reason = "nopyframes\t11\t-\tCPython\\x203.12:\\x20its\\x20frame\\x20layout\\x20is\\x20not\\x20known\n";
        shim.add_file(reason.as_bytes());
        shim.add_file(reason.replace("\t11\t", "\t12\t").as_bytes());
        assert_eq!(shim.bad_lines, 0);

        let mut report = RunReport::new(vec!["python3".into()], "/tmp/x".into());
        let supervised = Supervised {
            pid: 1,
            exit: ChildExit::Exited(0),
            interrupted_by: None,
            killed: false,
            leftovers: Vec::new(),
            output_errors: Vec::new(),
            own_output_failed: false,
            killed_at_once: false,
            ends_mid_line: [false; 2],
            shared_output: false,
        };
        let own = OwnProcesses::new(&shim, 1, &[]);
        assemble(
            &mut report,
            &supervised,
            ParsedRun::default(),
            &NO_FACTS,
            (&shim, &own),
            SiteSettings { symbolizer: &Symbolizer::new(), suppressions: &Default::default(), stack_depth: 32 },
        );
        let [test] = report.tests.as_slice() else { panic!("{:#?}", report.tests) };
        let [site] = test.leak_sites.as_slice() else { panic!("{:#?}", test.leak_sites) };
        assert_eq!(
            site.python_frame,
            Some(crate::hang::PythonFrame {
                function: "LeakTest.test_leak_raw".into(),
                file: "/tmp/x/test_leak_raw.py".into(),
                line: 9
            })
        );
        assert_eq!(report.warnings, Vec::<String>::new(), "every leak site has its frame");

        // Without the pyframe record, the reason is told once, for both processes.
        let mut shim = ShimData::default();
        shim.add_file(events.replace("pyframe\t", "junk\t").as_bytes());
        shim.add_file(reason.as_bytes());
        shim.add_file(reason.replace("\t11\t", "\t12\t").as_bytes());
        let mut report = RunReport::new(vec!["python3".into()], "/tmp/x".into());
        let own = OwnProcesses::new(&shim, 1, &[]);
        let shim = (&shim, &own);
        assemble(
            &mut report,
            &supervised,
            ParsedRun::default(),
            &NO_FACTS,
            shim,
            SiteSettings { symbolizer: &Symbolizer::new(), suppressions: &Default::default(), stack_depth: 32 },
        );
        assert_eq!(report.tests[0].leak_sites[0].python_frame, None);
        assert_eq!(report.warnings, ["leak sites have no Python frame: CPython 3.12: its frame layout is not known"]);
    }
}
