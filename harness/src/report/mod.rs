//! The one in-memory [`RunReport`] every output is made from, and its writers: the text summary
//! for the build log and the JSON file. Each writer only reads the report. Knows nothing of
//! processes.
//!
//! The JSON schema is documented in `docs/report.md`; bump [`SCHEMA_VERSION`] on any change
//! that is not a pure addition.

#![forbid(unsafe_code)]

pub mod annotations;
pub mod colour;
pub mod draft;
pub mod free_lists;
pub mod junit;
pub mod leak_stacks;
pub mod other_threads;
pub mod pysource;

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;

use crate::escape::for_terminal;
use crate::hang::{HangReport, PythonFrame, ThreadReport, Truncated, FAULTHANDLER_MAX_FRAMES};
use crate::leaks::Domains;
use crate::sanitizer::Finding;
use crate::symbolize::Frame;

pub const SCHEMA_VERSION: u32 = 1;

/// How the run's warning begins when regrtest's worker thread failed (`Warning -- regrtest
/// worker thread failed: ...`, see `crate::run`): regrtest stopped the run itself, and the
/// JUnit XML and annotations name that as a failure of the run.
pub const WORKER_THREAD_FAILED: &str = "regrtest's worker thread failed";

/// How the run's warning begins when regrtest refused its command line (`regrtest ran no test:
/// it refused its command line (regrtest.py: error: ...)`, see `crate::run`): the JUnit XML and
/// annotations give that as the reason of the command's status.
pub const REFUSED_COMMAND_LINE: &str = "regrtest ran no test: it refused its command line";

/// How a test's note of its repetitions cut short ends when the process running them was one
/// leakcheck ended as a leftover (still running when the command's process exited: a script's
/// `&`), see `crate::run`: the JUnit XML says so of its test with no result.
pub const ENDED_AS_LEFTOVER: &str = "leakcheck ended the process, a leftover still running it when the command's \
     process exited; see leftover_processes";

/// The note of a test with no result whose -R repetitions the shim saw all run through in
/// regrtest's own process before the run ended (its result line lost, as to a closed stdout
/// pipe): the JUnit XML says so of it, not that the run ended while it ran.
pub const RAN_THROUGH: &str = "no result, but its -R repetitions all ran through (the shim measured each): the run \
     ended after them, before regrtest printed its result";

/// The note of a test with no result whose -R repetitions the shim saw all run through in
/// regrtest's own process, the last it began there, when leakcheck then ended the run for a
/// hang in that process in no test (between tests: regrtest's clean-up after it, the next test
/// module's import): the JUnit XML skips it with this reason, the hang being the run's.
pub const RAN_THROUGH_HANG: &str = "no result, but its -R repetitions all ran through (the shim measured each) \
     and no later test began in its process: leakcheck then ended the run for a hang in that process in no \
     test (regrtest's clean-up after this test, or the next test module's import; see hangs), before regrtest \
     printed any result for it";

/// Everything leakcheck learned in one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub schema_version: u32,
    pub leakcheck_version: &'static str,
    /// The command, argument by argument (lossy UTF-8).
    pub command: Vec<String>,
    pub status: RunStatus,
    pub log: Option<String>,
    pub run_dir: String,
    pub shim: ShimStatus,
    /// One entry per regrtest test, in the order regrtest first named them.
    pub tests: Vec<TestReport>,
    pub summary: Summary,
    /// Processes of the tree still alive after the command exited, which leakcheck ended.
    pub leftover_processes: Vec<ProcessInfo>,
    /// Hangs and deadlocks leakcheck found and ended (see `crate::hang`).
    pub hangs: Vec<HangReport>,
    /// The sanitizer runtimes the run was set up for.
    pub sanitizer: SanitizerStatus,
    /// Sanitizer reports found in the output, deduplicated by stack signature, each with the
    /// test that was running (see `crate::sanitizer`).
    pub sanitizer_findings: Vec<Finding>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunStatus {
    /// The command's exit code, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that killed the command (e.g. "SIGSEGV"), when it was killed.
    pub signal: Option<String>,
    pub core_dumped: bool,
    /// The signal leakcheck received and forwarded to the command (e.g. "SIGTERM").
    pub interrupted_by: Option<String>,
    /// Whether the tree had to be killed with SIGKILL after the grace period (or at once, on a
    /// second signal: `killed_at_once`).
    pub killed_after_grace: bool,
    /// The SIGKILL came at once, on a second signal (not in the JSON).
    #[serde(skip)]
    pub killed_at_once: bool,
    /// Whether leakcheck ended the command for a hang of its own (regrtest stuck in sequential
    /// mode): its `signal` is then leakcheck's (faulthandler's SIGUSR1, or SIGTERM), unless
    /// `interrupted_by` came first.
    pub ended_for_hang: bool,
    /// `interrupted_by` came from outside before leakcheck's own SIGTERM for the hang (while it
    /// waited for the hang's Python stacks): a SIGTERM that killed the command was that one (not
    /// in the JSON: `interrupted_by` says the signal).
    #[serde(skip)]
    pub interrupted_before_hang_end: bool,
    /// Why the command did not run at all.
    pub error: Option<String>,
    /// leakcheck's own exit status (see `leakcheck --help`).
    pub leakcheck_exit_code: i32,
}

/// How the command was set up for sanitizers (see `crate::launch::sanitizers`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SanitizerStatus {
    /// `asan`, `msan`, `ubsan`, `tsan`: detected from the program's ELF or forced.
    pub runtimes: Vec<String>,
    /// Runtime libraries put first in `LD_PRELOAD`.
    pub preloaded: Vec<String>,
    /// Options variables set, merged with the user's (e.g. `ASAN_OPTIONS`).
    pub options: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ShimStatus {
    pub enabled: bool,
    /// Whether allocation stacks were recorded (false with `--no-attribution`): without them
    /// no test has leak sites.
    pub attribution: bool,
    /// Processes in which regrtest's -R driver was wrapped.
    pub processes_patched: usize,
    pub errors: Vec<String>,
    /// Processes whose allocator hooks were replaced (PYTHONMALLOC, -X dev).
    pub hooks_replaced: Vec<ProcessInfo>,
    /// Records that could not be read (a process killed mid-write).
    pub bad_records: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    pub pid: i32,
    pub command: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub name: String,
    /// regrtest's outcome (`passed`, `failed`, `reference_leak`, `crashed`, ...) or `unknown`.
    pub outcome: String,
    /// regrtest reported a leak, or a domain leaked.
    pub leaked: bool,
    /// A domain leaked and regrtest did not report any leak for this test.
    pub leak_not_reported_by_regrtest: bool,
    pub regrtest: RegrtestLeaks,
    /// Per-domain deltas over the counted repetitions; `null` without shim measurements.
    pub domains: Option<Domains>,
    /// Allocation sites whose live blocks grew in every counted repetition, largest first.
    pub leak_sites: Vec<LeakSiteReport>,
    /// Sites that leaked and matched a `--suppressions` rule.
    pub suppressed_sites: Vec<SuppressedSite>,
    /// The unittest methods regrtest's output names as failing (`test_x (mod.Class.test_x)`),
    /// an unexpected success too.
    pub failed_methods: Vec<String>,
    /// Every unittest method the output names with its result: all of them when regrtest runs
    /// with `-v` (and in `--rerun`'s verbose re-runs), else the failing ones.
    pub methods: Vec<crate::regrtest::MethodResult>,
    /// regrtest's result line for the test as printed, without its duration: `test_x failed (1
    /// failure)`, `test_x worker non-zero exit code (Exit code -6 (SIGABRT))`. The last one it
    /// printed: 3.11.2's `-w` re-run (in-process) prints none, and the first run's stays.
    pub result_line: Option<String>,
    /// The traceback regrtest printed with the test's result (`test X failed -- Traceback
    /// ...`, `crashed -- Traceback ...`).
    pub traceback: Option<String>,
    /// faulthandler's dump in the test's output (`Fatal Python error: ...` or `Timeout
    /// (H:MM:SS)!`, the thread stacks after it).
    pub faulthandler: Option<String>,
    /// The failing test method that traceback names (its outermost `test...` frame: not a
    /// decorator's wrapper, not a fixture; a failed doctest's name, its last part), for titles
    /// when no `FAIL:`/`ERROR:` header named it.
    #[serde(skip)]
    pub traceback_method: Option<String>,
    /// Why regrtest skipped the whole test file (`test_x skipped -- not on this platform`).
    #[serde(skip)]
    pub skip_reason: Option<String>,
    /// Why the test altered the execution environment, as 3.14+'s summary lists the reasons
    /// under it (`os.environ was modified`), for the JUnit XML.
    #[serde(skip)]
    pub env_changed_reasons: Vec<String>,
    pub repetitions: Option<Repetitions>,
    /// Why something is missing or partial.
    pub notes: Vec<String>,
}

impl TestReport {
    /// A test with `outcome` and nothing measured, found or noted yet.
    pub fn new(name: String, outcome: &str) -> Self {
        TestReport {
            name,
            outcome: outcome.to_owned(),
            leaked: false,
            leak_not_reported_by_regrtest: false,
            regrtest: RegrtestLeaks::default(),
            domains: None,
            leak_sites: Vec::new(),
            suppressed_sites: Vec::new(),
            failed_methods: Vec::new(),
            methods: Vec::new(),
            result_line: None,
            traceback: None,
            faulthandler: None,
            traceback_method: None,
            skip_reason: None,
            env_changed_reasons: Vec::new(),
            repetitions: None,
            notes: Vec::new(),
        }
    }

    /// When regrtest reported a leak for the test and a domain it cannot see leaked too, a note
    /// saying that these blocks will still leak after the leak regrtest reported is fixed,
    /// unless they are, or belong to, the objects regrtest counted: `raw` always
    /// (`sys.getallocatedblocks()` counts pymalloc's blocks only), `mem` and `obj` where
    /// regrtest's memory-block check is blind (`regrtest_counts_blocks` false: no pymalloc).
    /// `leak_not_reported_by_regrtest` keeps its meaning (regrtest reported no leak at all).
    pub fn note_leaks_regrtest_cannot_see(&mut self, regrtest_counts_blocks: bool) {
        if !self.regrtest.leaked {
            return;
        }
        let unseen: Vec<String> = self
            .leaking_domains()
            .into_iter()
            .filter(|d| *d == "raw" || !regrtest_counts_blocks)
            .map(|name| {
                let deltas = self.domains.as_ref().and_then(|d| d.iter().find(|(n, _)| *n == name)).map(|(_, d)| d);
                match deltas.filter(|d| d.leaked) {
                    Some(d) => format!("{name} (blocks {})", list(&d.blocks)),
                    None => name.to_owned(),
                }
            })
            .collect();
        if unseen.is_empty() {
            return;
        }
        let why = if regrtest_counts_blocks {
            "regrtest's memory-block check counts pymalloc's blocks (sys.getallocatedblocks()), never \
             PyMem_RawMalloc's"
        } else {
            "sys.getallocatedblocks(), which regrtest's memory-block check reads, is 0 in this interpreter \
             (no pymalloc), and it never counts PyMem_RawMalloc's blocks"
        };
        let reported: Vec<String> = self.regrtest.failing_items();
        let reported = if reported.is_empty() { String::new() } else { format!(" ({})", reported.join(", ")) };
        self.notes.push(format!(
            "{} leaked where regrtest cannot see ({why}): regrtest's leak verdict{reported} does not count \
             these blocks, so they will still leak after the leak regrtest reported is fixed, unless they \
             are, or belong to, the objects regrtest counted",
            unseen.join(", ")
        ));
    }

    /// The domains that leaked, in `raw`, `mem`, `obj` order: by regrtest's rule on their sum,
    /// or through a leak site (frees of older blocks can keep a domain's sum flat).
    pub fn leaking_domains(&self) -> Vec<&'static str> {
        let by_sum = self.domains.as_ref().map(Domains::leaked).unwrap_or_default();
        crate::shim_events::DOMAINS
            .into_iter()
            .filter(|d| by_sum.contains(d) || self.leak_sites.iter().any(|s| s.domain == *d))
            .collect()
    }
}

/// The deltas regrtest itself printed (`test_x leaked [..] references, sum=..`); `null` when it
/// printed none for that item.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegrtestLeaks {
    pub references: Option<Vec<i64>>,
    pub memory_blocks: Option<Vec<i64>>,
    pub file_descriptors: Option<Vec<i64>>,
    /// The items whose line regrtest printed as failing (`references`, `memory_blocks`,
    /// `file_descriptors`): 3.13+ also prints suspicious deltas that do not fail, with
    /// ` (this is fine)`.
    pub failing: Vec<&'static str>,
    pub leaked: bool,
}

impl RegrtestLeaks {
    /// `(label, deltas, failing)` of each item regrtest printed a line for, in order (`"memory
    /// blocks"`, as regrtest words it; `failing`: not `(this is fine)`).
    pub fn lines(&self) -> impl Iterator<Item = (&'static str, &[i64], bool)> {
        [
            ("references", "references", &self.references),
            ("memory_blocks", "memory blocks", &self.memory_blocks),
            ("file_descriptors", "file descriptors", &self.file_descriptors),
        ]
        .into_iter()
        .filter_map(|(key, label, deltas)| Some((label, deltas.as_deref()?, self.failing.contains(&key))))
    }

    /// `(label, deltas)` of each item regrtest printed as failing (see [`Self::lines`]).
    pub fn failing_lines(&self) -> impl Iterator<Item = (&'static str, &[i64])> {
        self.lines().filter(|(_, _, failing)| *failing).map(|(label, deltas, _)| (label, deltas))
    }

    /// The failing lines as text: `references [1, 1, 1]`.
    pub fn failing_items(&self) -> Vec<String> {
        self.failing_lines().map(|(what, deltas)| format!("{what} {}", list(deltas))).collect()
    }
}

/// One leaking allocation site.
#[derive(Debug, Clone, Serialize)]
pub struct LeakSiteReport {
    /// `raw`, `mem` or `obj`.
    pub domain: String,
    /// Per counted repetition, blocks left alive at this site.
    pub blocks: Vec<i64>,
    /// The same in bytes.
    pub bytes: Vec<i64>,
    /// Innermost first, allocator plumbing folded (see `folded_frames`).
    pub frames: Vec<Frame>,
    /// Allocator frames (PyMem_*, PyObject_Malloc, the debug hooks...) left out at the top.
    pub folded_frames: usize,
    /// The innermost Python frame running when the blocks were allocated (`line` 0: unknown);
    /// `None` when the shim had none or could not read it (the run's warnings say why).
    pub python_frame: Option<PythonFrame>,
    /// The Python frames running then, innermost first (`python_frame` and up to three callers,
    /// so that a library function's allocation shows the test line that reached it).
    pub python_frames: Vec<PythonFrame>,
    /// `obj` sites: the Python types of the objects left alive there (`["dict"]`), read from a
    /// few of the leaked blocks when the repetitions were over; empty when unknown.
    pub object_types: Vec<String>,
    /// Its blocks are objects CPython recycles through free lists (or dict key tables),
    /// allocated for Python code that is not the test's: the site is where the repetition first
    /// allocated such a block, and the code that leaks likely took it from a free list (see
    /// [`free_lists`]). The test's note says so; one-line outputs prefer another site.
    pub free_list_reuse: bool,
    /// The shim cut the native stack short because the allocating thread had too little stack
    /// left to unwind further (a thread made with a small `threading.stack_size()`): `frames`
    /// end early, and may be empty. The test's note says so.
    pub stack_cut: bool,
    /// Its blocks were allocated on a thread `threading` started whose Python frames are in
    /// another test's code and none in this test's: that test's name (a thread it likely left
    /// running; see [`other_threads`]). The test's note says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_test_thread: Option<String>,
}

/// A leak site a suppression accepted: the site, and the rule that matched it.
#[derive(Debug, Clone, Serialize)]
pub struct SuppressedSite {
    #[serde(flatten)]
    pub site: LeakSiteReport,
    /// As written in the file: `leak:PATTERN`.
    pub suppression: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Repetitions {
    pub warmups: u32,
    pub runs: u32,
    /// Repetitions measured by the shim (warmups + runs when complete).
    pub measured: u32,
    pub complete: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub tests: usize,
    pub leaked: Vec<String>,
    pub leaked_not_reported_by_regrtest: Vec<String>,
    /// Tests not `leaked` whose run before regrtest's `-w` re-run leaked, by regrtest's leak
    /// lines or leakcheck's measurement: regrtest's verdict is the re-run's, and their notes keep
    /// the first run's leak.
    pub leaked_before_rerun: Vec<String>,
    /// Tests neither failed nor `leaked` in the run reported whose earlier regrtest run, in a
    /// command that ran regrtest more than once one run after another (a script, a CI's retry),
    /// failed (regrtest's outcome, a failing leak line) or leaked by leakcheck's measurement:
    /// the last run is reported, and their notes keep the earlier runs.
    pub failed_in_earlier_run: Vec<String>,
    /// Tests not `leaked` that leaked in a run before the one reported, by regrtest's failing
    /// leak lines or leakcheck's measurement (a run before regrtest's `-w` re-run, an earlier
    /// regrtest run of the command), each as one line saying which run (`test_x leaked in run 1
    /// of the command's 2 regrtest runs, then a later run passed`). A command that exited 0 all
    /// the same makes leakcheck exit [`ExitCode::LEAK_NOT_REPORTED`](crate::exit::ExitCode::LEAK_NOT_REPORTED),
    /// and the text summary says why. Not in the JSON: `leaked_before_rerun`, `failed_in_earlier_run`
    /// and the tests' notes say it there.
    #[serde(skip)]
    pub earlier_leaks: Vec<String>,
    /// Tests not failing in the run reported whose run before regrtest's `-w`/`--rerun` re-run
    /// failed (its outcome, a failing leak line included), each as one line with regrtest's
    /// result string (`test_x failed before regrtest's re-run (test_x failed (1 failure)), then
    /// passed its re-run`): what explains `--fail-rerun`'s exit status 5 when no test failed in
    /// the end (the JUnit `run` testcase names them). Not in the JSON: the tests' notes say it
    /// there.
    #[serde(skip)]
    pub failed_before_rerun: Vec<String>,
    /// Tests that hung (leakcheck ended them).
    pub hung: Vec<String>,
    /// Tests with threads deadlocked while their process went on (a hang report with
    /// `process_went_on`): a finding, not a hang of the run; the test keeps regrtest's outcome.
    pub deadlocked: Vec<String>,
    /// Distinct sanitizer findings (`sanitizer_findings`), and the reports they stand for.
    pub sanitizer_findings: usize,
    pub sanitizer_reports: u64,
    /// regrtest's own final result line ("SUCCESS", "FAILURE", ...).
    pub regrtest_result: Option<String>,
    /// regrtest started tests and the run ended before its summary (a crash, a test's
    /// `os._exit`, faulthandler's `--timeout`), leakcheck not having stopped it: a warning says
    /// which tests were running, and a command that exited 0 all the same makes leakcheck exit
    /// [`ExitCode::UNFINISHED`](crate::exit::ExitCode::UNFINISHED).
    pub regrtest_unfinished: bool,
    /// regrtest hunted reference leaks (`-R`): its output said so.
    pub huntrleaks: bool,
    /// regrtest fails the run on a test that altered the execution environment (`env changed`):
    /// its command line says `--fail-env-changed` (or `--slow-ci`/`--fast-ci`, which imply it),
    /// or its result says `ENV CHANGED`. Otherwise such a test is no failure (regrtest exits 0).
    pub env_changed_fails: bool,
}

impl RunReport {
    /// A report of `command` with nothing learned yet.
    pub fn new(command: Vec<String>, run_dir: String) -> Self {
        RunReport {
            schema_version: SCHEMA_VERSION,
            leakcheck_version: env!("CARGO_PKG_VERSION"),
            command,
            status: RunStatus::default(),
            log: None,
            run_dir,
            shim: ShimStatus::default(),
            tests: Vec::new(),
            summary: Summary::default(),
            leftover_processes: Vec::new(),
            hangs: Vec::new(),
            sanitizer: SanitizerStatus::default(),
            sanitizer_findings: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The end-of-run summary for the build log; every line starts with `leakcheck: `.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, text: &str| {
            out.push_str("leakcheck: ");
            out.push_str(text);
            out.push('\n');
        };
        for warning in &self.warnings {
            line(&mut out, &format!("warning: {}", for_terminal(warning)));
        }
        for p in &self.leftover_processes {
            line(&mut out, &format!("ended leftover process {} ({})", p.pid, for_terminal(&p.command)));
        }
        for hang in &self.hangs {
            render_hang_mention(&mut out, hang);
        }
        for finding in &self.sanitizer_findings {
            render_finding(&mut out, finding);
        }
        let s = &self.summary;
        let mut head = format!("---- leak summary: {} test{}, {} leaked", s.tests, plural(s.tests), s.leaked.len());
        let stuck: Vec<&HangReport> = self.hangs.iter().filter(|h| !h.process_went_on).collect();
        if !stuck.is_empty() {
            // `1 hung` when each hang is a test's; else how many hangs there were, in how many tests.
            // A hang of no test (a daemon outside the command's tree) is counted apart.
            let hangs = stuck.iter().filter(|h| h.test.is_some()).count();
            let outside = stuck.len() - hangs;
            if hangs > 0 && s.hung.len() == hangs {
                let _ = write!(head, ", {hangs} hung");
            } else if hangs > 0 {
                let _ =
                    write!(head, ", {hangs} hang{} in {} test{}", plural(hangs), s.hung.len(), plural(s.hung.len()));
            }
            if outside > 0 {
                let _ = write!(head, ", {outside} hang{} in no test", plural(outside));
            }
        }
        // Deadlocks among threads while their process went on: findings, not hangs of the run.
        match self.hangs.iter().filter(|h| h.process_went_on).count() {
            0 => {}
            1 => head.push_str(", 1 deadlock (its process went on)"),
            n => {
                let _ = write!(head, ", {n} deadlocks (their processes went on)");
            }
        }
        if s.sanitizer_findings > 0 {
            let _ = write!(head, ", {} sanitizer finding{}", s.sanitizer_findings, plural(s.sanitizer_findings));
        }
        if !s.leaked_not_reported_by_regrtest.is_empty() {
            let _ = write!(head, ", {} not reported by regrtest", s.leaked_not_reported_by_regrtest.len());
        }
        if !s.leaked_before_rerun.is_empty() {
            // Not leaked: regrtest's re-run did not; the test's note says what the run before did.
            let _ = write!(head, ", {} leaked only before regrtest's re-run", s.leaked_before_rerun.len());
        }
        if !s.failed_in_earlier_run.is_empty() {
            // The last regrtest run of the command is reported; the test's note says the others.
            let _ = write!(head, ", {} failed only in an earlier regrtest run", s.failed_in_earlier_run.len());
        }
        if self.shim.enabled && !self.shim.attribution {
            // Said where the verdicts are read: no sites, and no verdict from a site alone.
            head.push_str(" (counting only: --no-attribution)");
        }
        head.push_str(" ----");
        line(&mut out, &head);

        let mut order: Vec<&TestReport> = self.tests.iter().collect();
        order.sort_by_key(|t| !t.leaked); // stable: leaked first, then regrtest's order
        for test in order {
            render_test(&mut out, test, self.summary.huntrleaks);
        }
        if self.tests.is_empty() {
            line(&mut out, "no regrtest test was seen in the output");
        }
        if let Some(killed) = self.status.killed_by() {
            line(&mut out, &killed);
        }
        if let Some(why) = self.earlier_leaks_status() {
            line(&mut out, &why);
        }
        out
    }

    /// Why leakcheck's status is not the command's 0 when the only leaks found were in runs
    /// before the ones reported (see [`Summary::earlier_leaks`]), in one line; None otherwise.
    pub(crate) fn earlier_leaks_status(&self) -> Option<String> {
        let s = &self.summary;
        if s.earlier_leaks.is_empty() || self.status.exit_code != Some(0) || !s.leaked.is_empty() {
            return None;
        }
        let code = self.status.leakcheck_exit_code;
        let each: Vec<String> = s.earlier_leaks.iter().map(|w| for_terminal(w).into_owned()).collect();
        Some(format!(
            "exit status {code}, not the command's 0: a leak was found in an earlier run: {}",
            each.join("; ")
        ))
    }
}

impl RunStatus {
    /// Whether the command's `signal` is one leakcheck received from outside and passed on,
    /// though leakcheck was to end the command for a hang itself: it came first.
    pub(crate) fn sent_from_outside(&self, signal: &str) -> bool {
        self.ended_for_hang && self.interrupted_before_hang_end && self.interrupted_by.as_deref() == Some(signal)
    }

    /// `the command was killed by SIGSEGV (core dumped)`, when it was: its status alone (139)
    /// is easy to misread, and regrtest printed nothing of it.
    fn killed_by(&self) -> Option<String> {
        let signal = self.signal.as_deref()?;
        let how = if self.killed_after_grace && self.killed_at_once && signal == "SIGKILL" {
            " (leakcheck's, at once on a second signal)"
        } else if self.killed_after_grace && signal == "SIGKILL" {
            " (leakcheck's, at the end of the grace period)"
        } else if self.ended_for_hang && signal == "SIGUSR1" {
            " (leakcheck's, for the hang: faulthandler dumps the Python stacks on it, then ends the process)"
        } else if self.sent_from_outside(signal) {
            " (from outside, passed on by leakcheck before it ended the hung command itself)"
        } else if self.ended_for_hang && signal == "SIGTERM" {
            " (leakcheck's, ending the hung command)"
        } else if self.interrupted_by.as_deref() == Some(signal) {
            " (passed on by leakcheck)"
        } else {
            ""
        };
        let core = if self.core_dumped { " (core dumped)" } else { "" };
        Some(format!("the command was killed by {}{how}{core}", for_terminal(signal)))
    }
}

/// What 3.13+'s regrtest adds to a leak line whose deltas do not fail the test.
pub(crate) const FINE: &str = " (this is fine)";

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `a`, `a and b`, `a, b and c`; empty for no items.
pub(crate) fn and_list<S: std::borrow::Borrow<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.borrow().to_owned(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last.borrow()),
    }
}

/// `[1, 1, 1]`.
pub(super) fn list(values: &[i64]) -> String {
    let items: Vec<String> = values.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(", "))
}

fn render_test(out: &mut String, test: &TestReport, huntrleaks: bool) {
    let name = for_terminal(&test.name);
    let outcome = for_terminal(&test.outcome);
    let r = &test.regrtest;
    let regrtest: Vec<String> = r
        .lines()
        .map(|(label, deltas, failing)| format!("{label} {}{}", list(deltas), if failing { "" } else { FINE }))
        .collect();
    if !test.leaked {
        // Measured by the shim, or by regrtest's `-R`, which completes its repetitions only for
        // a passing test (it prints deltas only when they leak). Repetitions cut short give no
        // verdict (the note says how far they got); none at all (no `-R`, or the test ended
        // before its repetitions) is not the same as no leak either.
        let verdict = match &test.repetitions {
            // The hooks were taken out during the repetitions: the domains were not counted.
            Some(repetitions) if repetitions.complete && test.domains.is_none() => "no leak by regrtest's checks",
            Some(repetitions) if repetitions.complete => "no leak",
            Some(_) => "no verdict",
            // Only regrtest's own checks looked (no shim, hooks replaced): say so, the domains
            // it cannot see were not measured.
            None if !regrtest.is_empty() || (huntrleaks && test.outcome == "passed") => "no leak by regrtest's checks",
            None => "not measured",
        };
        let mut text = format!("leakcheck: {name}: {verdict} ({outcome})");
        // Not when no repetition after the first was counted (a hang in the second): no delta
        // to show, as for none measured.
        if let Some(domains) = test.domains.as_ref().filter(|d| d.iter().any(|(_, d)| !d.blocks.is_empty())) {
            for (label, d) in domains.iter() {
                let _ = write!(text, "  {label} {}", list(&d.blocks));
            }
        }
        for note in &test.notes {
            let _ = write!(text, "  [{}]", for_terminal(note));
        }
        if let Some(suppressed) = suppressed_summary(test) {
            let _ = write!(text, "  [{suppressed}]");
        }
        out.push_str(&text);
        out.push('\n');
        return;
    }
    let leaked_domains = test.leaking_domains();
    let mut head = format!("leakcheck: {name}: LEAKED");
    if !leaked_domains.is_empty() {
        let _ = write!(head, " in {}", leaked_domains.join(", "));
    }
    if test.leak_not_reported_by_regrtest {
        head.push_str(", not reported by regrtest");
    }
    let _ = writeln!(head, " ({outcome})");
    out.push_str(&head);
    if !regrtest.is_empty() {
        let _ = writeln!(out, "leakcheck:     regrtest: {}", regrtest.join(", "));
    }
    if let Some(domains) = &test.domains {
        for (label, d) in domains.iter() {
            let bytes = d.bytes.as_deref().map(list).unwrap_or_else(|| "unknown".into());
            let mark = match (d.leaked, d.spread) {
                (true, false) => "  <- leak",
                (true, true) => "  <- leak (no one site grew each time)",
                (false, _) => "",
            };
            let _ = writeln!(out, "leakcheck:     {label}: blocks {}  bytes {bytes}{mark}", list(&d.blocks));
        }
    }
    if let Some(unattributable) = free_lists::unattributable(test) {
        let _ = writeln!(out, "leakcheck:     {}", for_terminal(&unattributable));
    }
    // Sites a free list may have handed to the code that leaks come after the others.
    for site in free_lists::display_order(test).into_iter().take(TEXT_SITES) {
        // Two sites on one line (`a = PyMem_Malloc(24), b = PyMem_Malloc(24)`): the column
        // tells them apart.
        let top = |s: &LeakSiteReport| s.frames.first().map(|f| (f.function.clone(), f.file.clone(), f.line));
        let column = |s: &LeakSiteReport| s.frames.first().and_then(|f| f.column);
        let shares_line = test.leak_sites.iter().any(|other| top(other) == top(site) && column(other) != column(site));
        render_site(out, site, shares_line);
    }
    if test.leak_sites.len() > TEXT_SITES {
        let more = test.leak_sites.len() - TEXT_SITES;
        let _ = writeln!(out, "leakcheck:     ... {more} more site{} in the JSON report", plural(more));
    }
    if let Some(suppressed) = suppressed_summary(test) {
        let _ = writeln!(out, "leakcheck:     {suppressed}");
    }
    for note in &test.notes {
        let _ = writeln!(out, "leakcheck:     note: {}", for_terminal(note));
    }
}

/// The rules that matched `sites`, each once, in order of first use.
pub fn distinct_suppressions<'a>(sites: impl IntoIterator<Item = &'a SuppressedSite>) -> Vec<&'a str> {
    let mut rules: Vec<&str> = Vec::new();
    for site in sites {
        if !rules.contains(&site.suppression.as_str()) {
            rules.push(&site.suppression);
        }
    }
    rules
}

/// `N suppressed site(s) (leak:A, leak:B)`, or nothing.
fn suppressed_summary(test: &TestReport) -> Option<String> {
    if test.suppressed_sites.is_empty() {
        return None;
    }
    let rules = distinct_suppressions(&test.suppressed_sites);
    let n = test.suppressed_sites.len();
    Some(format!("{n} suppressed site{} ({})", plural(n), for_terminal(&rules.join(", "))))
}

/// A hang as leakcheck prints it when it finds it, before it ends the stuck processes: its
/// diagnosis, then each thread's top native frames (and Python frames, had faulthandler given
/// them yet: it is asked for them after). Every line starts with `leakcheck: `.
pub fn hang_text(hang: &HangReport) -> String {
    let mut out = String::new();
    render_hang(&mut out, hang);
    out
}

/// The hang's headline: `HANG in TEST (KIND): SUMMARY`; `HANG in no test` for a hang of no test
/// (at interpreter exit, after the tests; a daemon outside the command's tree), as the summary
/// line counts it (`1 hang in no test`).
fn render_hang_headline(out: &mut String, hang: &HangReport) {
    let test = hang.test.as_deref().map(for_terminal).unwrap_or("no test".into());
    let _ = writeln!(out, "leakcheck: HANG in {test} ({}): {}", hang_kind(hang), for_terminal(&hang.diagnosis.summary));
}

/// The diagnosis's kind as the JSON spells it (`lock-cycle`).
fn hang_kind(hang: &HangReport) -> String {
    serde_json::to_value(hang.diagnosis.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// A hang in the end-of-run summary, shorter than when it was found ([`hang_text`], printed
/// then): `TEST: HUNG (KIND): SUMMARY`, worded unlike the headline printed then so that a
/// build's warning pattern for `HANG in ` counts each hang once, and the Python stacks
/// faulthandler gave since, each on its thread.
fn render_hang_mention(out: &mut String, hang: &HangReport) {
    let test = hang.test.as_deref().map(for_terminal).unwrap_or("(no test)".into());
    // Threads deadlocked while the process went on: the test did not hang the run.
    let verdict = if hang.process_went_on { "DEADLOCKED" } else { "HUNG" };
    let _ =
        writeln!(out, "leakcheck: {test}: {verdict} ({}): {}", hang_kind(hang), for_terminal(&hang.diagnosis.summary));
    let pids: Vec<String> = hang.processes.iter().map(|p| p.pid.to_string()).collect();
    let s = if pids.len() == 1 { "" } else { "es" };
    let _ = writeln!(out, "leakcheck:     process{s} {}: native stacks printed when it was found", pids.join(", "));
    for thread in hang.processes.iter().flat_map(|p| &p.threads) {
        if !thread.python_frames.is_empty() {
            let _ = writeln!(out, "leakcheck:       thread {} python: {}", thread.tid, thread_python_stack(thread));
        }
    }
}

/// A hang's thread's top Python frames, innermost first, and whether faulthandler cut its stack.
fn thread_python_stack(thread: &ThreadReport) -> String {
    let mut text = python_stack(&thread.python_frames);
    if thread.python_frames_truncated {
        let _ = write!(text, " [python stack cut: faulthandler writes {FAULTHANDLER_MAX_FRAMES} frames at most]");
    }
    text
}

/// A thread's top Python frames, innermost first.
fn python_stack(frames: &[PythonFrame]) -> String {
    let python: Vec<String> = frames
        .iter()
        .take(TEXT_FRAMES)
        .map(|f| {
            format!(
                "{} ({}:{})",
                for_terminal(&f.function),
                for_terminal(f.file.rsplit('/').next().unwrap_or(&f.file)),
                f.line
            )
        })
        .collect();
    python.join(" <- ")
}

/// A hang: diagnosis, then each thread's top frames, native and Python.
fn render_hang(out: &mut String, hang: &HangReport) {
    render_hang_headline(out, hang);
    for process in &hang.processes {
        let _ = writeln!(out, "leakcheck:     process {}: {}", process.pid, for_terminal(&process.command));
        for thread in &process.threads {
            let native: Vec<String> = thread
                .frames
                .iter()
                .take(TEXT_FRAMES)
                .map(|f| {
                    let Some(function) = f.function.as_deref() else { return unnamed_frame(f) };
                    let name = for_terminal(function).into_owned();
                    match (&f.file, f.line) {
                        (Some(file), Some(line)) => {
                            let file = file.rsplit('/').next().unwrap_or(file);
                            format!("{name} ({}:{line})", for_terminal(file))
                        }
                        _ => name,
                    }
                })
                .collect();
            let mut native = if native.is_empty() { "(no native stack)".to_owned() } else { native.join(" <- ") };
            if let Some(cut) = &thread.truncated {
                native.push_str(&stack_cut_words(cut, &thread.frames));
            }
            let _ = writeln!(out, "leakcheck:       thread {} ({}): {native}", thread.tid, thread.state);
            if !thread.python_frames.is_empty() {
                let _ = writeln!(out, "leakcheck:         python: {}", thread_python_stack(thread));
            }
        }
    }
}

/// A native frame no symbol names (a stripped program's, `/usr/bin/sleep`'s) as the sanitizers
/// print one: its module's file name and the address in it, `sleep+0x5fa4`; the address alone
/// for one in no known module.
fn unnamed_frame(frame: &Frame) -> String {
    if frame.module == crate::symbolize::UNKNOWN_MODULE {
        return format!("{:#x}", frame.address);
    }
    let module = frame.module.rsplit('/').next().unwrap_or(&frame.module);
    format!("{}+{:#x}", for_terminal(module), frame.address)
}

/// ` [stack cut: ...]` after a thread's native frames, in stack frames (return addresses), the
/// unit of `cut.omitted`: `cut.at` counts entries of `frames`, inlined frames among them, which
/// are said apart (`after the innermost 48 stack frames (51 with inlined frames)`).
fn stack_cut_words(cut: &Truncated, frames: &[Frame]) -> String {
    let kept = &frames[..cut.at.min(frames.len())];
    let stack_frames = kept.iter().filter(|f| !f.inlined).count();
    let inlined =
        if kept.len() == stack_frames { String::new() } else { format!(" ({} with inlined frames)", kept.len()) };
    format!(
        " [stack cut: {}{} stack frame{} left out after the innermost {stack_frames}{inlined}{}]",
        if cut.outermost { "" } else { "at least " },
        cut.omitted,
        plural(cut.omitted),
        if cut.outermost { ", the outermost ones kept in the JSON" } else { ", its outermost ones unknown" }
    )
}

/// Processes a finding's headline names; the others are counted.
const MAX_PIDS_SHOWN: usize = 8;

/// A sanitizer finding: headline, test, then the top frames of its main stack.
fn render_finding(out: &mut String, finding: &Finding) {
    let mut test = finding.test.as_deref().map(for_terminal).unwrap_or("(no test)".into()).into_owned();
    if !finding.other_tests.is_empty() {
        let others: Vec<_> = finding.other_tests.iter().map(|t| for_terminal(t)).collect();
        let _ = write!(test, " (also in {})", others.join(", "));
    }
    let mut head =
        format!("leakcheck: SANITIZER in {test}: {} {}", finding.sanitizer.runtime_name(), for_terminal(&finding.kind));
    if finding.count > 1 {
        let _ = write!(head, " ({} reports", finding.count);
        let counts = finding.counts_by_test();
        if counts.len() > 1 {
            // Merged from several tests' output: how many each had.
            let each: Vec<String> = counts
                .iter()
                .map(|(test, n)| format!("{} {n}", test.as_deref().map(for_terminal).unwrap_or("(no test)".into())))
                .collect();
            let _ = write!(head, ": {}", each.join(", "));
        }
        head.push(')');
    }
    // Every process of a merged finding; a test's own outputs give that test's alone.
    match &finding.pids_in(None)[..] {
        [] => {}
        [pid] => {
            let _ = write!(head, " [pid {pid}]");
        }
        pids => {
            let shown: Vec<String> = pids.iter().take(MAX_PIDS_SHOWN).map(u32::to_string).collect();
            let more = if pids.len() > MAX_PIDS_SHOWN {
                format!(", {} more", pids.len() - MAX_PIDS_SHOWN)
            } else {
                String::new()
            };
            let _ = write!(head, " [pids {}{more}]", shown.join(", "));
        }
    }
    if finding.truncated {
        head.push_str(" [report truncated]");
    }
    let _ = writeln!(out, "{head}");
    if let Some(summary) = &finding.summary {
        let _ = writeln!(out, "leakcheck:     {}", for_terminal(summary));
    }
    let leaks = leak_stacks::ordered_leaks(finding);
    if leaks.is_empty() {
        // A report cut before its access stack: its first other stack.
        let (label, frames) = match finding.related.first() {
            Some(related) if finding.frames.is_empty() => (Some(related.label.as_str()), &related.frames),
            _ => (None, &finding.frames),
        };
        if let Some(label) = label {
            let _ = writeln!(out, "leakcheck:     {}", for_terminal(label));
        }
        render_report_frames(out, frames);
    }
    // LSan has no access stack: every leak's allocation stack, best first (see
    // `leak_stacks`), each from its first frame that is not plumbing.
    for leak in leaks.iter().take(leak_stacks::TEXT_LEAKS) {
        let label = for_terminal(&leak.stack.label);
        let _ = match (leaks.len(), leak.class) {
            (1, _) => writeln!(out, "leakcheck:     {label}"),
            (n, leak_stacks::LeakClass::Outside) => {
                writeln!(out, "leakcheck:     leak {} of {n}, outside the interpreter: {label}", leak.index + 1)
            }
            (n, _) => writeln!(out, "leakcheck:     leak {} of {n}: {label}", leak.index + 1),
        };
        render_report_frames(out, &leak.stack.frames[leak.plumbing..]);
    }
    if leaks.len() > leak_stacks::TEXT_LEAKS {
        let rest = leaks.len() - leak_stacks::TEXT_LEAKS;
        let _ =
            writeln!(out, "leakcheck:     ... {rest} more leak{} (all in the log and the JSON report)", plural(rest));
    }
}

/// A sanitizer stack's top frames, `#N function  location`.
fn render_report_frames(out: &mut String, frames: &[crate::sanitizer::ReportFrame]) {
    for frame in frames.iter().take(TEXT_FRAMES) {
        let function = for_terminal(frame.function.as_deref().unwrap_or("??"));
        let location = match (&frame.file, frame.line) {
            (Some(file), Some(line)) => format!("{}:{line}", for_terminal(&source_path(file))),
            (Some(file), None) => for_terminal(&source_path(file)).into_owned(),
            _ => match (&frame.module, frame.module_offset) {
                (Some(module), Some(offset)) => format!("({}+{offset:#x})", for_terminal(module)),
                (Some(module), None) => format!("({})", for_terminal(module)),
                _ => String::new(),
            },
        };
        let inlined = if frame.inlined { " (inlined)" } else { "" };
        let _ = writeln!(out, "leakcheck:         #{} {function}  {location}{inlined}", frame.index);
    }
    if frames.len() > TEXT_FRAMES {
        let _ = writeln!(out, "leakcheck:         ... {} more frames", frames.len() - TEXT_FRAMES);
    }
}

/// A source file as people read it: a relative path (as DWARF gives for an out-of-tree build,
/// `./build-debug/../Objects/call.c`) with its `.` and `dir/..` steps folded (`Objects/call.c`);
/// an absolute path with its `.` steps and doubled slashes folded (a build tree's
/// `/root/.cache/leakcheck/cpython-3.13-pydebug/./Include/object.h`) but its `..` steps kept:
/// a symbolic link before one would make folding name another file. The JSON keeps what the
/// debug information says.
pub(crate) fn source_path(file: &str) -> Cow<'_, str> {
    let (root, rest) = match file.strip_prefix('/') {
        Some(rest) => ("/", rest),
        None => ("", file),
    };
    let relative = root.is_empty();
    let foldable = |part: &str| part.is_empty() || part == "." || (relative && part == "..");
    if !rest.split('/').any(foldable) {
        return Cow::Borrowed(file);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." if relative && parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    Cow::Owned(format!("{root}{}", parts.join("/")))
}

/// A frame on one line, as the text summary's one-line stacks name frames, for a note that
/// names sites: `PyList_New (listobject.c:279)`, the file by its name alone (a build tree's
/// absolute path would be most of the note); `f (module.so)` without a source line.
pub(crate) fn short_place(frame: Option<&Frame>) -> String {
    let Some(frame) = frame else { return "??".to_owned() };
    let function = frame.function.as_deref().unwrap_or("??");
    let name = |path: &str| path.rsplit('/').next().unwrap_or(path).to_owned();
    match (&frame.file, frame.line) {
        (Some(file), Some(line)) => format!("{function} ({}:{line})", name(file)),
        _ => format!("{function} ({})", name(&frame.module)),
    }
}

/// Sites and frames per site shown in the text summary; the JSON has them all.
const TEXT_SITES: usize = 5;
const TEXT_FRAMES: usize = 8;

/// `1 block/repetition (48 bytes) in raw, allocated at:` and the top frames.
/// `top_column`: the innermost frame's location says its column too.
fn render_site(out: &mut String, site: &LeakSiteReport, top_column: bool) {
    let per = free_lists::per_repetition;
    let blocks = per(&site.blocks);
    let unit = free_lists::block_unit(&blocks);
    let types = match site.object_types.as_slice() {
        [] => String::new(),
        [one] => format!(" (objects of type {})", for_terminal(one)),
        many => format!(" (objects of types {})", for_terminal(&many.join(", "))),
    };
    let at = match &site.other_test_thread {
        _ if site.free_list_reuse => {
            "recycled through a free list, first allocated in the repetition at (see the note)".to_owned()
        }
        Some(other) => format!("allocated on a thread running {}'s code (see the note), at", for_terminal(other)),
        None => "allocated at".to_owned(),
    };
    let _ = writeln!(
        out,
        "leakcheck:     {blocks} {unit}/repetition ({} bytes) in {}{types}, {at}:",
        per(&site.bytes),
        for_terminal(&site.domain)
    );
    let width =
        site.frames.iter().take(TEXT_FRAMES).map(|f| f.function.as_deref().unwrap_or("??").len()).max().unwrap_or(0);
    for (index, frame) in site.frames.iter().take(TEXT_FRAMES).enumerate() {
        let function = for_terminal(frame.function.as_deref().unwrap_or("??"));
        let location = match (&frame.file, frame.line) {
            (Some(file), Some(line)) => match frame.column.filter(|_| top_column && index == 0) {
                Some(column) => format!("{}:{line}:{column}", for_terminal(&source_path(file))),
                None => format!("{}:{line}", for_terminal(&source_path(file))),
            },
            (Some(file), None) => for_terminal(&source_path(file)).into_owned(),
            _ => format!("{} {:#x}", for_terminal(&frame.module), frame.address),
        };
        let inlined = if frame.inlined { " (inlined)" } else { "" };
        let _ = writeln!(out, "leakcheck:         {function:<width$}  {location}{inlined}");
    }
    if site.frames.len() > TEXT_FRAMES {
        let _ = writeln!(out, "leakcheck:         ... {} more frames", site.frames.len() - TEXT_FRAMES);
    }
    if site.stack_cut {
        let _ = writeln!(
            out,
            "leakcheck:         (native stack cut{}: its thread had too little stack left to unwind further)",
            if site.frames.is_empty() { " before its first frame" } else { " here" }
        );
    } else if site.frames.is_empty() {
        let _ = writeln!(out, "leakcheck:         (no native frames: allocated on a stack the shim does not unwind)");
    }
    // Last: the C frames are innermost first, and the Python code that called into them is
    // outside them all; innermost first too.
    let python_frames =
        if site.python_frames.is_empty() { site.python_frame.as_slice() } else { site.python_frames.as_slice() };
    for python in python_frames {
        let function = for_terminal(&python.function);
        let file = for_terminal(&python.file);
        let location = if python.line > 0 { format!("{file}:{}", python.line) } else { file.into_owned() };
        let _ = writeln!(out, "leakcheck:         python: {function} ({location})");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaks::DomainDeltas;

    #[test]
    fn and_list_joins_the_last_item_with_and() {
        assert_eq!(and_list::<&str>(&[]), "");
        assert_eq!(and_list(&["dict"]), "dict");
        assert_eq!(and_list(&["dict", "tuple"]), "dict and tuple");
        let owned = ["references", "memory blocks", "file descriptors"].map(String::from);
        assert_eq!(and_list(&owned), "references, memory blocks and file descriptors");
    }

    fn deltas(blocks: [i64; 3], leaked: bool) -> DomainDeltas {
        DomainDeltas {
            blocks: blocks.to_vec(),
            bytes: Some(blocks.iter().map(|b| b * 48).collect()),
            leaked,
            spread: false,
        }
    }

    fn report() -> RunReport {
        let clean = Domains { raw: deltas([0; 3], false), mem: deltas([0; 3], false), obj: deltas([0; 3], false) };
        let raw_leak = Domains { raw: deltas([1; 3], true), ..clean.clone() };
        RunReport {
            schema_version: SCHEMA_VERSION,
            leakcheck_version: "test",
            command: vec!["python3".into()],
            status: RunStatus::default(),
            log: None,
            run_dir: "/tmp/x".into(),
            shim: ShimStatus::default(),
            tests: vec![
                TestReport { domains: Some(clean), ..TestReport::new("test_clean\x1b[2J".into(), "passed") },
                TestReport {
                    leaked: true,
                    leak_not_reported_by_regrtest: true,
                    domains: Some(raw_leak),
                    leak_sites: vec![LeakSiteReport {
                        domain: "raw".into(),
                        blocks: vec![1, 1, 1],
                        bytes: vec![48, 48, 48],
                        frames: vec![Frame {
                            function: Some("leak_raw".into()),
                            file: Some("Modules/_foo.c".into()),
                            line: Some(17),
                            column: Some(5),
                            module: "/x/_foo.so".into(),
                            address: 0x11fd,
                            inlined: false,
                        }],
                        folded_frames: 1,
                        python_frame: Some(PythonFrame {
                            function: "LeakTest.test_leak_raw\u{202e}".into(),
                            file: "/tmp/x/test_\x1b]0;owned\x07leak_raw.py".into(),
                            line: 9,
                        }),
                        python_frames: vec![],
                        object_types: vec![],
                        free_list_reuse: false,
                        stack_cut: false,
                        other_test_thread: None,
                    }],
                    ..TestReport::new("test_raw".into(), "passed")
                },
            ],
            summary: Summary {
                tests: 2,
                leaked: vec!["test_raw".into()],
                leaked_not_reported_by_regrtest: vec!["test_raw".into()],
                hung: vec![],
                deadlocked: vec![],
                regrtest_result: None,
                ..Summary::default()
            },
            leftover_processes: vec![],
            hangs: vec![],
            sanitizer: SanitizerStatus::default(),
            sanitizer_findings: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn a_test_with_no_counted_repetition_prints_no_empty_counts() {
        let empty = Domains { raw: deltas([0; 3], false), mem: deltas([0; 3], false), obj: deltas([0; 3], false) };
        let empty = Domains {
            raw: DomainDeltas { blocks: vec![], bytes: Some(vec![]), ..empty.raw.clone() },
            mem: DomainDeltas { blocks: vec![], bytes: Some(vec![]), ..empty.mem.clone() },
            obj: DomainDeltas { blocks: vec![], bytes: Some(vec![]), ..empty.obj },
        };
        let test = TestReport {
            domains: Some(empty),
            repetitions: Some(Repetitions { warmups: 3, runs: 3, measured: 1, complete: false }),
            notes: vec!["repetitions cut short: 1 of 6 measured (the process died during the test)".into()],
            ..TestReport::new("test_second_rep".into(), "hung")
        };
        let mut out = String::new();
        render_test(&mut out, &test, true);
        assert_eq!(
            out.trim_end(),
            "leakcheck: test_second_rep: no verdict (hung)  [repetitions cut short: 1 of 6 measured (the process died \
             during the test)]"
        );
    }

    #[test]
    fn text_lists_leaked_tests_first_and_prefixes_every_line() {
        let text = report().render_text();
        assert!(text.lines().all(|l| l.starts_with("leakcheck: ")), "{text}");
        let raw = text.find("test_raw: LEAKED in raw, not reported by regrtest").expect(&text);
        let clean = text.find("test_clean").expect(&text);
        assert!(raw < clean, "{text}");
        assert!(text.contains("raw: blocks [1, 1, 1]  bytes [48, 48, 48]  <- leak"), "{text}");
        assert!(!text.contains('\x1b'), "escape sequences from test names must not reach the terminal");
    }

    #[test]
    fn a_leak_found_at_its_site_only_names_the_site_s_domain() {
        let mut report = report();
        if let Some(domains) = report.tests[1].domains.as_mut() {
            domains.raw.leaked = false;
        }
        let text = report.render_text();
        assert!(text.contains("test_raw: LEAKED in raw, not reported by regrtest"), "{text}");
    }

    #[test]
    fn two_sites_on_one_line_are_told_apart_by_their_column() {
        let mut report = report();
        assert!(report.render_text().contains("Modules/_foo.c:17\n"), "one site: no column");
        let mut second = report.tests[1].leak_sites[0].clone();
        second.frames[0].column = Some(30);
        report.tests[1].leak_sites.push(second);
        let text = report.render_text();
        assert!(text.contains("Modules/_foo.c:17:5\n") && text.contains("Modules/_foo.c:17:30\n"), "{text}");
        // Two stacks through the same call (another caller further up): the column adds nothing.
        report.tests[1].leak_sites[1].frames[0].column = Some(5);
        assert!(report.render_text().contains("Modules/_foo.c:17\n"), "{}", report.render_text());
    }

    #[test]
    fn an_obj_site_names_the_types_of_its_objects() {
        let mut report = report();
        let site = &mut report.tests[1].leak_sites[0];
        site.domain = "obj".into();
        site.object_types = vec!["dict".into()];
        assert!(report
            .render_text()
            .contains("1 block/repetition (48 bytes) in obj (objects of type dict), allocated at:"));
        report.tests[1].leak_sites[0].object_types = vec!["list".into(), "x\x1b[2J".into()];
        let text = report.render_text();
        assert!(text.contains("(objects of types list, x"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
    }

    #[test]
    fn a_leak_regrtest_cannot_see_beside_one_it_reported_is_said_to_remain() {
        let mut test = report().tests[1].clone();
        // regrtest reported nothing: leak_not_reported_by_regrtest says it all.
        test.note_leaks_regrtest_cannot_see(true);
        assert!(test.notes.is_empty());
        test.regrtest = RegrtestLeaks {
            references: Some(vec![1, 1, 1]),
            failing: vec!["references"],
            leaked: true,
            ..RegrtestLeaks::default()
        };
        if let Some(domains) = test.domains.as_mut() {
            domains.obj = deltas([1; 3], true);
        }
        test.note_leaks_regrtest_cannot_see(true);
        let [note] = test.notes.as_slice() else { panic!("{:?}", test.notes) };
        assert!(note.starts_with("raw (blocks [1, 1, 1]) leaked where regrtest cannot see (regrtest's memory-block check counts pymalloc's blocks"), "{note}");
        assert!(note.contains("regrtest's leak verdict (references [1, 1, 1]) does not count these blocks, so they will still leak after the leak regrtest reported is fixed"), "{note}");
        // Without pymalloc, obj too.
        test.notes.clear();
        test.note_leaks_regrtest_cannot_see(false);
        assert!(test.notes[0].starts_with("raw (blocks [1, 1, 1]), obj (blocks [1, 1, 1]) leaked where regrtest cannot see (sys.getallocatedblocks(), which regrtest's memory-block check reads, is 0"), "{:?}", test.notes);
        // Nothing regrtest cannot see leaked: no note.
        test.notes.clear();
        test.leak_sites.clear();
        if let Some(domains) = test.domains.as_mut() {
            domains.raw.leaked = false;
        }
        test.note_leaks_regrtest_cannot_see(true);
        assert!(test.notes.is_empty(), "{:?}", test.notes);
    }

    #[test]
    fn source_paths_of_out_of_tree_builds_are_folded() {
        assert_eq!(source_path("./build-debug/../Objects/call.c"), "Objects/call.c");
        assert_eq!(source_path("Modules/_foo.c"), "Modules/_foo.c");
        assert_eq!(source_path("../Include/object.h"), "../Include/object.h");
        assert_eq!(source_path("a//b/./c/../d.c"), "a/b/d.c");
        assert_eq!(source_path("/usr/src/../include/x.h"), "/usr/src/../include/x.h", "absolute: `..` kept");
        assert_eq!(
            source_path("/root/.cache/leakcheck/cpython-3.13-pydebug/./Include/internal/pycore_call.h"),
            "/root/.cache/leakcheck/cpython-3.13-pydebug/Include/internal/pycore_call.h"
        );
        assert_eq!(source_path("/a//b/./c/../d.c"), "/a/b/c/../d.c");
        assert_eq!(source_path("//usr/./x.h"), "/usr/x.h");
        assert_eq!(source_path("/usr/include/stdio.h"), "/usr/include/stdio.h");
        assert_eq!(source_path("/"), "/");
    }

    #[test]
    fn a_test_nobody_measured_is_not_called_leak_free() {
        let mut report = report();
        let mut crashed = report.tests[0].clone();
        crashed.name = "test_sqlite3".into();
        crashed.outcome = "uncaught_exception".into();
        crashed.domains = None;
        crashed.repetitions = None;
        let mut passed = crashed.clone();
        passed.name = "test_passed".into();
        passed.outcome = "passed".into();
        // The shim measured 2 of 6 repetitions before the process died: no verdict either.
        let mut cut_short = report.tests[0].clone();
        cut_short.name = "test_cut_short".into();
        cut_short.outcome = "crashed".into();
        cut_short.repetitions = Some(Repetitions { warmups: 3, runs: 3, measured: 2, complete: false });
        report.tests = vec![crashed, passed, cut_short];
        let text = report.render_text();
        assert!(text.contains("test_sqlite3: not measured (uncaught_exception)"), "{text}");
        assert!(text.contains("test_passed: not measured (passed)"), "no -R: {text}");
        assert!(text.contains("test_cut_short: no verdict (crashed)"), "{text}");
        // With -R, regrtest's repetitions completed for the passing test and found nothing.
        report.summary.huntrleaks = true;
        let text = report.render_text();
        assert!(text.contains("test_sqlite3: not measured (uncaught_exception)"), "{text}");
        assert!(text.contains("test_passed: no leak by regrtest's checks (passed)"), "{text}");
    }

    #[test]
    fn text_shows_a_sites_python_frame_after_its_c_frames_escaped() {
        let mut report = report();
        let text = report.render_text();
        let lines: Vec<&str> = text.lines().collect();
        let c_frame = lines.iter().position(|l| l.contains("leak_raw  Modules/_foo.c:17")).expect(&text);
        assert_eq!(
            lines[c_frame + 1],
            "leakcheck:         python: LeakTest.test_leak_raw\\u{202e} (/tmp/x/test_\\x1b]0;owned\\x07leak_raw.py:9)"
        );
        assert!(!text.contains(['\x1b', '\x07', '\u{202e}']), "{text}");

        let site = &mut report.tests[1].leak_sites[0];
        site.python_frame.as_mut().unwrap().line = 0;
        let text = report.render_text();
        assert!(
            text.contains("python: LeakTest.test_leak_raw\\u{202e} (/tmp/x/test_\\x1b]0;owned\\x07leak_raw.py)\n"),
            "{text}"
        );
        report.tests[1].leak_sites[0].python_frame = None;
        assert!(!report.render_text().contains("python:"));
    }

    #[test]
    fn a_hang_is_printed_whole_when_found_and_mentioned_in_the_summary() {
        use crate::hang::{diagnose::Diagnosis, diagnose::DiagnosisKind, ProcessReport, ThreadReport};
        let frame = crate::symbolize::Frame {
            function: Some("take_first_then_second".into()),
            file: Some("/src/c/hangfix.c".into()),
            line: Some(42),
            column: None,
            module: "/tmp/_hangfix.so".into(),
            address: 0x1000,
            inlined: false,
        };
        let thread = |tid: i32, python: bool| ThreadReport {
            tid,
            state: "S".into(),
            truncated: None,
            python_frames_truncated: false,
            frames: vec![frame.clone()],
            python_frames: if python {
                vec![PythonFrame { function: "test_cycle".into(), file: "/tmp/t/test_x.py".into(), line: 7 }]
            } else {
                vec![]
            },
        };
        let mut hang = HangReport {
            test: Some("test_x".into()),
            pid: 10,
            diagnosis: Diagnosis {
                kind: DiagnosisKind::LockCycle,
                summary: "two threads".into(),
                pid: 10,
                threads: vec![10, 11],
                locks: vec![],
                reference: None,
            },
            processes: vec![ProcessReport {
                pid: 10,
                command: "python -m test".into(),
                threads: vec![thread(10, false)],
            }],
            notes: vec![],
            running_method: None,
            process_went_on: false,
            after_tests: false,
            ended: vec![10],
        };
        // When found: the diagnosis and the native stacks (faulthandler is asked after).
        let found = hang_text(&hang);
        assert_eq!(
            found,
            "leakcheck: HANG in test_x (lock-cycle): two threads\n\
             leakcheck:     process 10: python -m test\n\
             leakcheck:       thread 10 (S): take_first_then_second (hangfix.c:42)\n"
        );
        // At the end: the headline, and the Python stacks read since, not the native ones again.
        hang.processes[0].threads = vec![thread(10, true), thread(11, false)];
        let mut summary = report();
        summary.hangs = vec![hang.clone()];
        let text = summary.render_text();
        assert!(!text.contains("HANG in"), "one `HANG in` line per hang, printed when found: {text}");
        let from = text.find("leakcheck: test_x: HUNG ").expect("the hang's mention");
        let mention: Vec<&str> = text[from..].lines().take_while(|l| !l.contains("---- leak summary")).collect();
        assert_eq!(
            mention,
            [
                "leakcheck: test_x: HUNG (lock-cycle): two threads",
                "leakcheck:     process 10: native stacks printed when it was found",
                "leakcheck:       thread 10 python: test_cycle (test_x.py:7)",
            ]
        );
        assert!(!text.contains("hangfix.c"), "{text}");
        // The JUnit failure's text is the whole of it.
        assert!(hang_text(&hang).contains("leakcheck:         python: test_cycle (test_x.py:7)"));
    }

    /// A hang's frames that no symbol names (a stripped program's) read as the sanitizers print
    /// them, module and offset, not `??`; and a deadlock of a process that went on is mentioned
    /// in the summary as such, and counted apart.
    #[test]
    fn stripped_frames_read_as_module_and_offset_and_a_deadlock_that_went_on_is_said_so() {
        use crate::hang::{diagnose::Diagnosis, diagnose::DiagnosisKind, ProcessReport, ThreadReport};
        let frame = |function: Option<&str>, module: &str, address: u64| crate::symbolize::Frame {
            function: function.map(str::to_owned),
            file: None,
            line: None,
            column: None,
            module: module.into(),
            address,
            inlined: false,
        };
        let thread = ThreadReport {
            tid: 10,
            state: "S".into(),
            truncated: None,
            python_frames_truncated: false,
            frames: vec![
                frame(Some("pause"), "/usr/lib/x86_64-linux-gnu/libc.so.6", 0xe4b80),
                frame(None, "/usr/bin/sleep", 0x5fa4),
                frame(None, crate::symbolize::UNKNOWN_MODULE, 0x7f00_0000_1234),
            ],
            python_frames: vec![],
        };
        let hang = HangReport {
            test: Some("test_x".into()),
            pid: 10,
            diagnosis: Diagnosis {
                kind: DiagnosisKind::LockCycle,
                summary: "two threads; process 10 went on".into(),
                pid: 10,
                threads: vec![11, 12],
                locks: vec![],
                reference: None,
            },
            processes: vec![ProcessReport { pid: 10, command: "sleep infinity".into(), threads: vec![thread] }],
            notes: vec![],
            running_method: None,
            process_went_on: true,
            after_tests: false,
            ended: vec![],
        };
        let found = hang_text(&hang);
        assert!(found.contains("thread 10 (S): pause <- sleep+0x5fa4 <- 0x7f0000001234\n"), "{found}");
        let mut summary = report();
        summary.hangs = vec![hang];
        let text = summary.render_text();
        assert!(
            text.contains("leakcheck: test_x: DEADLOCKED (lock-cycle): two threads; process 10 went on\n"),
            "{text}"
        );
        assert!(text.contains(", 1 deadlock (its process went on), "), "{text}");
        assert!(!text.contains("HUNG") && !text.contains(" hung"), "{text}");
    }

    #[test]
    fn a_hang_of_no_test_is_said_so_and_cut_stacks_in_one_unit() {
        use crate::hang::{diagnose::Diagnosis, diagnose::DiagnosisKind, ProcessReport, Truncated};
        let frame = |function: &str, inlined: bool| crate::symbolize::Frame {
            function: Some(function.into()),
            file: None,
            line: None,
            column: None,
            module: "/usr/bin/python3.11d".into(),
            address: 0x1000,
            inlined,
        };
        // Three innermost stack frames, one with an inlined call in it; the outermost after.
        let frames = vec![
            frame("futex_wait", false),
            frame("_PyObject_VectorcallTstate", true),
            frame("PyObject_Vectorcall", false),
            frame("_PyEval_EvalFrameDefault", false),
            frame("start_thread", false),
        ];
        let python = PythonFrame { function: "rec".into(), file: "/tmp/test_x.py".into(), line: 3 };
        let thread = ThreadReport {
            tid: 10,
            state: "S".into(),
            frames,
            python_frames: vec![python; FAULTHANDLER_MAX_FRAMES],
            python_frames_truncated: true,
            truncated: Some(Truncated { at: 4, omitted: 84, outermost: true }),
        };
        let hang = HangReport {
            test: None,
            pid: 10,
            diagnosis: Diagnosis {
                kind: DiagnosisKind::NoProgress,
                summary: "at interpreter exit, after the tests (Py_FinalizeEx); stuck".into(),
                pid: 10,
                threads: vec![],
                locks: vec![],
                reference: None,
            },
            processes: vec![ProcessReport { pid: 10, command: "python -m test".into(), threads: vec![thread] }],
            notes: vec![],
            running_method: None,
            process_went_on: false,
            after_tests: true,
            ended: vec![10],
        };
        let found = hang_text(&hang);
        assert!(
            found.starts_with("leakcheck: HANG in no test (no-progress): at interpreter exit, after the tests"),
            "as the summary's head counts it, `1 hang in no test`: {found}"
        );
        // `at` counts frames (inlined ones too), `omitted` stack frames: said in stack frames.
        assert!(
            found.contains(
                " [stack cut: 84 stack frames left out after the innermost 3 (4 with inlined frames), the outermost \
                 ones kept in the JSON]"
            ),
            "{found}"
        );
        assert!(
            found.contains("rec (test_x.py:3) [python stack cut: faulthandler writes 100 frames at most]"),
            "{found}"
        );
        let mut summary = report();
        summary.hangs = vec![hang.clone()];
        let text = summary.render_text();
        assert!(text.contains("leakcheck: (no test): HUNG (no-progress): at interpreter exit"), "{text}");
        assert!(text.contains(", 1 hang in no test, "), "{text}");
        assert!(text.contains("[python stack cut: faulthandler writes 100 frames at most]"), "{text}");
        // Nothing inlined: one number; a walk that stopped early: at least, and nothing after.
        let cut = Truncated { at: 2, omitted: 1, outermost: false };
        assert_eq!(
            stack_cut_words(&cut, &hang.processes[0].threads[0].frames[2..]),
            " [stack cut: at least 1 stack frame left out after the innermost 2, its outermost ones unknown]"
        );
    }

    #[test]
    fn a_command_leakcheck_ended_for_a_hang_is_said_to_be() {
        let status = |signal: &str, ended_for_hang: bool| RunStatus {
            signal: Some(signal.into()),
            ended_for_hang,
            ..RunStatus::default()
        };
        assert_eq!(
            status("SIGUSR1", true).killed_by().as_deref(),
            Some(
                "the command was killed by SIGUSR1 (leakcheck's, for the hang: faulthandler dumps the Python stacks \
                 on it, then ends the process)"
            )
        );
        assert_eq!(
            status("SIGTERM", true).killed_by().as_deref(),
            Some("the command was killed by SIGTERM (leakcheck's, ending the hung command)")
        );
        // A SIGUSR1 from elsewhere is not leakcheck's.
        assert_eq!(status("SIGUSR1", false).killed_by().as_deref(), Some("the command was killed by SIGUSR1"));
        // A SIGTERM from outside, passed on while leakcheck waited for the hang's Python stacks:
        // it ended the command, not leakcheck's own SIGTERM, which had not come yet.
        let outside = RunStatus {
            interrupted_by: Some("SIGTERM".into()),
            interrupted_before_hang_end: true,
            ..status("SIGTERM", true)
        };
        assert_eq!(
            outside.killed_by().as_deref(),
            Some("the command was killed by SIGTERM (from outside, passed on by leakcheck before it ended the hung command itself)")
        );
        // After leakcheck's own: leakcheck's.
        let after = RunStatus { interrupted_before_hang_end: false, ..outside };
        assert_eq!(
            after.killed_by().as_deref(),
            Some("the command was killed by SIGTERM (leakcheck's, ending the hung command)")
        );
    }

    #[test]
    fn json_has_the_documented_shape() {
        let value: serde_json::Value = serde_json::from_slice(&crate::escape::to_json(&report()).unwrap()).unwrap();
        assert_eq!(value["schema_version"], 1);
        let test = &value["tests"][1];
        for key in ["name", "outcome", "leaked", "regrtest", "domains"] {
            assert!(test.get(key).is_some(), "missing {key}");
        }
        assert_eq!(test["domains"]["raw"]["blocks"], serde_json::json!([1, 1, 1]));
        assert_eq!(test["domains"]["raw"]["bytes"], serde_json::json!([48, 48, 48]));
        for key in ["references", "memory_blocks", "file_descriptors"] {
            assert!(test["regrtest"].get(key).is_some(), "missing regrtest.{key}");
        }
        assert_eq!(
            test["leak_sites"][0]["python_frame"],
            serde_json::json!({
                "function": "LeakTest.test_leak_raw\u{202e}",
                "file": "/tmp/x/test_\x1b]0;owned\x07leak_raw.py",
                "line": 9
            })
        );
        let mut report = report();
        report.tests[1].leak_sites[0].python_frame = None;
        let value: serde_json::Value = serde_json::from_slice(&crate::escape::to_json(&report).unwrap()).unwrap();
        assert!(value["tests"][1]["leak_sites"][0]["python_frame"].is_null());
    }
}
