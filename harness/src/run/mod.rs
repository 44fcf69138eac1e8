//! One leakcheck run, start to finish: set up (`launch`), supervise, then join what regrtest
//! printed with what the shim measured into the [`RunReport`], and pick the exit status.
//! Prints nothing itself except through the returned report; `main` renders it.
//!
//! This file launches, supervises and reads the output as it streams (`Sink`); the rest is
//! split by what it decides:
//! - `findings`: sanitizer reports, from the output and from `log_path` files, and the test
//!   each belongs to;
//! - `series`: which regrtest run of the command a measured series belongs to (nested,
//!   concurrent and successive regrtests);
//! - `join`: one test's report, regrtest's result joined with the shim's series;
//! - `assemble`: the whole report from those parts, with the run's warnings.

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
    SuppressedSite, TestReport, ENDED_AS_LEFTOVER, RAN_THROUGH, RAN_THROUGH_HANG, REFUSED_COMMAND_LINE,
    WORKER_THREAD_FAILED,
};
use crate::sanitizer::{self, Finding};
use crate::shim_events::{Series, ShimData};
use crate::sites;
use crate::supervise::{self, ChildExit, OutputSink, Stream, SuperviseError, Supervised};
use crate::symbolize::Symbolizer;

mod assemble;
mod findings;
mod join;
mod series;
#[cfg(test)]
mod tests;

use assemble::*;
use findings::*;
use join::*;
use series::*;

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
    /// The unittest method whose verbose line (`-v`) waits, unfinished, for its status on this
    /// stream: `(stream, class path, method)` (see [`OutputSink::unfinished_line`]).
    unfinished_method: Option<(Stream, String, String)>,
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
    fn line(&mut self, stream: Stream, line: &[u8]) {
        if self.unfinished_method.as_ref().is_some_and(|(of, _, _)| *of == stream) {
            self.unfinished_method = None;
        }
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
        self.sanitizer.line(stream, line, self.parser.output_owner());
        let now = std::time::Instant::now();
        self.hangs.test_running(self.parser.current_test(), now);
        self.hangs.output(line, now);
        self.unopened_logs.line(line);
        if !self.asan_not_first && line.starts_with(b"==") {
            self.asan_not_first = sanitizer::pid_prefix(&String::from_utf8_lossy(line))
                .is_some_and(|(_, rest)| rest.as_bytes().starts_with(sanitizers::ASAN_NOT_FIRST));
        }
    }

    /// `-R`'s marks, written one by one on a line of their own: progress for the hang watch. A
    /// verbose method line (`test_foo (test_x.Class.test_foo) ... `) waits so for its status
    /// while the method runs: the method a hang found meanwhile was about.
    fn unfinished_line(&mut self, stream: Stream, partial: &[u8]) {
        self.hangs.unfinished_output(std::time::Instant::now());
        let text = String::from_utf8_lossy(partial);
        let described = text.split_once(" ... ").and_then(|(description, _)| regrtest::method_description(description));
        self.unfinished_method = described.map(|(method, class, _)| (stream, class.to_owned(), method.to_owned()));
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
        // Processes the shim holds at their exit for a look (deadlocked threads it saw).
        let held = self.shim_dir.as_deref().map(held_processes).unwrap_or_default();
        self.hangs.hold(&held.iter().map(|(pid, _)| *pid).collect::<Vec<_>>());
        // The method `-v` shows running, `Class.test_foo`: what a hang with no Python stack of
        // the test's names (a subprocess's) was about.
        let unfinished = self.unfinished_method.as_ref().map(|(_, class, method)| (class.as_str(), method.as_str()));
        let method = self.parser.running_method().or(unfinished.filter(|_| !self.parser.is_parallel())).map(
            |(class, method)| {
                let class = class.rsplit('.').next().unwrap_or(class);
                if class.is_empty() {
                    method.to_owned()
                } else {
                    format!("{class}.{method}")
                }
            },
        );
        let current = self.parser.current_test();
        self.hangs.method_running(current.zip(method.as_deref()));
        let actions = self.hangs.tick(root, command, current, std::time::Instant::now());
        for pid in self.hangs.take_released() {
            if let Some((_, file)) = held.iter().find(|(p, _)| *p == pid) {
                let _ = std::fs::remove_file(file);
            }
        }
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

    /// Stopped with the command at the terminal (Ctrl-Z) and continued: no silence meanwhile.
    fn resumed(&mut self) {
        self.hangs.resumed(std::time::Instant::now());
    }

    /// A hang whose processes were still to be ended when the command exited is ended now.
    fn exited(&mut self, _command: i32) -> Vec<supervise::Action> {
        self.hangs.command_exited()
    }
}

/// The processes the shim holds at their exit (see `shims/src/exitcheck.rs`): the files of the
/// run directory's `held/`, each named by a pid, with their paths. Removing a file lets its
/// process exit.
fn held_processes(run_dir: &std::path::Path) -> Vec<(i32, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(run_dir.join(HELD_DIR)) else { return Vec::new() };
    entries.flatten().filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path()))).collect()
}

/// The run directory's subdirectory where the shim holds a process at its exit (one empty file
/// per pid), as `shims/src/exitcheck.rs` names it.
const HELD_DIR: &str = "held";

/// The per-line work a run does on the command's output, outside a run: `f` gets the function
/// the supervision loop calls for each line it reads (the sink's `line`: the regrtest parser,
/// the sanitizer report parser, the hang watch and the other line readers), for a command
/// with no sanitizer runtime and no shim; it returns the number of sanitizer findings read.
/// For the benchmark of the output path (`benches/benches/output_lines.rs`).
pub fn with_output_lines<R>(f: impl FnOnce(&mut dyn FnMut(Stream, &[u8])) -> R) -> (R, usize) {
    let symbolizer = Symbolizer::new();
    let mut sink = Sink {
        parser: regrtest::Parser::new(),
        hangs: HangWatch::new(None),
        sanitizer: SanitizerFindings::new(&symbolizer, &[], false),
        worker_thread: WorkerThreadFailure::default(),
        colour: false,
        asan_not_first: false,
        unopened_logs: UnopenedLogs::default(),
        shim_dir: None,
        regrtests: RunProcesses::default(),
        unfinished_method: None,
    };
    let result = f(&mut |stream, line| sink.line(stream, line));
    let (findings, _, _) = sink.sanitizer.finish(&ShimData::default());
    (result, findings.len())
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
        // The notes are the report's warnings, which are printed with the others.
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
        unfinished_method: None,
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
        Err(
            err @ (SuperviseError::NotFound { .. }
            | SuperviseError::InterpreterNotFound { .. }
            | SuperviseError::NotExecutable { .. }),
        ) => {
            let code = if matches!(err, SuperviseError::NotFound { .. } | SuperviseError::InterpreterNotFound { .. }) {
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
    let argv: Vec<String> = config.command.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let own = OwnProcesses::new(&shim_data, supervised.pid, &argv);
    // The shim has each test's name exactly as regrtest named it: where the output is not
    // enough to tell (a name with spaces in the summary's lists), the parser goes by them.
    sink.parser.measured_names(shim_data.series.iter().filter(|s| own.contains(s.pid)).map(|s| s.test.as_str()));
    let parsed = sink.parser.finish(completed);
    // Quiet mode (`-q`) hides `beginning N repetitions` (and progress lines); the shim only
    // measures in `-R` runs.
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
        hung_between_tests: hangs
            .iter()
            .filter(|h| !h.after_tests && h.test.is_none() && test_of_hang(&shim_data, h).is_none())
            .flat_map(|h| std::iter::once(h.pid).chain(h.processes.iter().map(|p| p.pid)))
            .collect(),
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
/// before its report completed, that it was; for a leak site's module that no longer exists
/// (the shim saw a process of the run load it from there), that the run removed it. Split
/// DWARF is noted for a module of any frame of a leak site or finding: its frames have a line
/// (the skeleton's line table), but functions from the symbol table and no inlined frames.
fn add_symbolizer_notes(report: &mut RunReport, symbolizer: &Symbolizer, gone: &[PathBuf]) {
    let sites =
        || report.tests.iter().flat_map(|t| t.leak_sites.iter().chain(t.suppressed_sites.iter().map(|s| &s.site)));
    let site_modules =
        sites().filter_map(|site| site.frames.first()).filter(|f| f.line.is_none()).map(|f| f.module.as_str());
    let finding_modules = report
        .sanitizer_findings
        .iter()
        .filter_map(|finding| finding.frames.first())
        .filter(|f| f.line.is_none())
        .filter_map(|f| f.module.as_deref());
    let absolute = |m: &&str| std::path::Path::new(m).is_absolute();
    let mut modules: Vec<&str> = site_modules.chain(finding_modules).filter(absolute).collect();
    modules.sort_unstable();
    modules.dedup();
    let mut notes: Vec<String> = modules
        .iter()
        .filter_map(|&m| {
            let module = std::path::Path::new(m);
            if gone.iter().any(|g| g == module) {
                return Some(format!(
                    "{m} was already gone when leakcheck read the sanitizer report naming it (the run removed it, \
                     as a test removes the temporary directory it built or copied a module into), so its frames \
                     are not symbolized: keep the file until the run ends, or let the runtime symbolize \
                     (symbolize=1)"
                ));
            }
            let note = symbolizer.shortfall(module)?;
            let removed = !symbolizer.has_read(module)
                && sites().any(|site| site.frames.iter().any(|f| f.module == m))
                && std::fs::symlink_metadata(module).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
            if removed {
                return Some(format!(
                    "{note}: it was already gone when leakcheck read the leak sites' stacks (a process of the run \
                     had loaded it from there: the run removed it, as a test removes the temporary directory it \
                     built or copied a module into), so its frames are not symbolized and the leak is placed at \
                     its offset: keep the file until the run ends"
                ));
            }
            Some(note)
        })
        .collect();
    // Split DWARF in a module of any frame: the frames above have lines, and no note yet.
    let site_frames = sites().flat_map(|site| site.frames.iter()).map(|f| f.module.as_str());
    let finding_frames =
        report.sanitizer_findings.iter().flat_map(|finding| finding.frames.iter()).filter_map(|f| f.module.as_deref());
    let mut split: Vec<&str> =
        site_frames.chain(finding_frames).filter(absolute).filter(|m| !modules.contains(m)).collect();
    split.sort_unstable();
    split.dedup();
    notes.extend(split.into_iter().filter_map(|m| symbolizer.split_dwarf_note(std::path::Path::new(m))));
    report.warnings.extend(notes);
    if sites().any(|site| site.frames.iter().any(|f| f.module == crate::symbolize::UNKNOWN_MODULE)) {
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
        // the first run's failure), or a test leaked in a run before the one reported (before
        // regrtest's `-w` re-run, in an earlier regrtest run of the command) and passed the
        // later one: a leak was found, so never 0.
        ChildExit::Exited(0) if report.tests.iter().any(|t| t.leaked) || !report.summary.earlier_leaks.is_empty() => {
            ExitCode::LEAK_NOT_REPORTED
        }
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
