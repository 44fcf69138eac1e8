//! Hangs and deadlocks: notice them early, say why, and end the stuck processes.
//!
//! [`HangWatch`] is driven by the supervisor: every line of output ([`HangWatch::output`]) and
//! a tick about once a second ([`HangWatch::tick`]). Each tick samples the tree through `/proc`
//! ([`procfs`]): cheap, and nothing more happens while tests make progress.
//!
//! - **Early**: a process whose threads all sleep, with at least one in a futex wait without a
//!   timeout, and no CPU time spent for [`QUICK`] (or whose threads in such waits stay in the
//!   same waits without running for that long, while others wake from timed waits: a GIL
//!   waiter asks for the GIL every 5 ms), is stopped with ptrace ([`remote`]), once, its
//!   threads' native stacks are unwound ([`stacks`]) and symbolized, the owner TID of every glibc
//!   mutex a thread waits for is read (checked to be one: a futex a thread waits on is a mutex's
//!   only where the frames say so and the memory looks like one; a priority-inheritance mutex's
//!   owner is in its lock word, and a thread glibc parked after the kernel refused it one waits
//!   for the mutex its frame names, read with [`params`]), and the GIL's holder when a thread
//!   waits for the GIL ([`gil`]), and [`diagnose`](mod@diagnose) looks for a proof: a lock
//!   cycle, a lock whose owner is gone, a known signature. A quiet sleeper (`time.sleep`)
//!   sleeps in `clock_nanosleep`, a waiter with a timeout in a timed futex wait: neither is
//!   inspected.
//! - **Late**: when a process running a test made no progress that shows for the hang timeout,
//!   it is inspected the same way, with its descendants, and reported as `no-progress` unless a
//!   proof turns up; one process per silence. Its progress is its output: for a `-j` worker,
//!   whose stdout and stderr go to a temporary file that regrtest prints only when the test
//!   ends, that file growing (one `stat` of its fds 1 and 2 at each tick: [`procfs::output_files`]),
//!   so that a worker printing as it works is not reported and one gone quiet is, whatever the
//!   other workers print; for regrtest itself (or a worker writing to a pipe), the run's output
//!   other than regrtest's `running: ...` heartbeats, bytes of a line not ended yet included
//!   (`-R`'s marks, one per repetition: [`HangWatch::unfinished_output`]). The summary says
//!   which. Not while a thread
//!   of it is in one quiet sleep (`time.sleep(20)`) that ends before buildbot's no-output limit: that
//!   test is waiting for the time to pass, not stuck (unless another thread of its process is
//!   blocked with no timeout on a lock the sleeper is not shown to hold: [`held_by_sleeper`]; a
//!   report held back for a sleeper says so); nor while every thread of one of its
//!   processes is in one sleep or wait with a timeout ([`procfs::Syscall::timeout`]:
//!   `Event().wait(30)`, `select` with a timeout), the first ending before that limit (a
//!   timed wait beside a blocked or running thread is no reason: faulthandler's watchdog,
//!   regrtest's `--timeout`, waits beside every test). A loop of short sleeps is no such sleep
//!   (the thread wakes between them, or, one `sleep` process after another, the sleep seen
//!   ended and another began in the same process or a new child of it) and is reported like a
//!   busy loop. A sleep an inspection stopped is still that sleep: the stop breaks a relative
//!   sleep (`sleep(3)`, a C thread that another thread joins) out of `clock_nanosleep` into
//!   `restart_syscall`, which `/proc` does not show as a sleep, so the sleeps of a process are
//!   read before it is stopped, and followed after (`InspectedSleep`); a `restart_syscall`
//!   that goes on with nothing seen before the stop (a `poll` or a futex wait with a timeout) is
//!   no sleep.
//!
//! - **A proof that does not hold the process**: a deadlock whose threads do not include the
//!   main thread, which neither waits for it (locks, a join) nor is blocked while nothing runs,
//!   is no hang of the run: the process goes on (a test left threads deadlocked and passed).
//!   It is reported once, as a finding of the test it formed in ([`HangWatch::formed`], from
//!   when each thread was first seen in its wait and the output's test then), nothing ended
//!   (`HangReport::process_went_on`); the process is watched as before. The shim holds a
//!   Python process at its exit when it sees such a deadlock among its own threads
//!   ([`HangWatch::hold`]): a `-j` worker exits as soon as its test is done, too soon for the
//!   [`QUICK`] look.
//!
//! Then: the hang as found (diagnosis, native stacks) is the caller's to print at once
//! ([`HangWatch::take_found`]); SIGUSR1 to each process of the hang that catches it and is to be
//! ended (regrtest registers faulthandler for it, and a process forked from regrtest inherits
//! that, so the Python stacks of every thread are printed; faulthandler chains to the default
//! action, which ends the process: regrtest listed with a stuck subprocess of a test, which alone
//! is ended, is not asked), one at a time,
//! descendants first, the others held stopped meanwhile (regrtest must not go on when the child
//! it waits for dies), each until it is gone or for [`DUMP_WAIT`]; each dump is read back (from a
//! worker's stderr file, or from our own output) and put on its process's threads (with
//! [`ThreadReport::python_frames_truncated`] where faulthandler stopped at its 100 frames). A
//! Python process of the hang that gives no dump (not asked: no handler for SIGUSR1, as in a new
//! interpreter a test starts, or not ended for the hang; asked and given up on) gets a note
//! saying why. Then the stuck process and its descendants are
//! ended (TERM, grace, KILL): a `-j` worker, or a process a test forked, so that regrtest goes
//! on; the whole tree when regrtest itself is stuck. What is being ended is the hang's: neither
//! path reports it again, also when it outlives the hang timeout meanwhile (SIGTERM ignored). When the command exits first (regrtest,
//! ended by its own SIGUSR1), the supervisor is told at once what to end
//! ([`HangWatch::command_exited`]): those processes are the hang's, not left behind.
//!
//! If ptrace is denied (Yama, containers, another tracer such as `strace -f`), the report says
//! why and keeps what `/proc` showed.

pub mod diagnose;
pub mod gil;
pub mod params;
pub mod procfs;
pub mod remote;
pub mod stacks;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use regex::bytes::Regex;
use serde::Serialize;

use self::diagnose::{diagnose, Diagnosis, DiagnosisKind, LockPlace, ProcessView, ThreadView};
use self::procfs::ProcessSample;
use self::remote::{LiveMemory, ProcessMemory, Stopped};
use self::stacks::ProcessStacks;
use crate::supervise::Action;
use crate::symbolize::{Frame, Symbolizer};

/// How long a process must sit still before it is inspected for a deadlock.
pub const QUICK: Duration = Duration::from_secs(2);

/// buildbot's default step `timeout`: it kills a command that printed nothing for this long
/// (bpo-42985). A sleep that would end later than this is no reason to wait.
const BUILDBOT_NO_OUTPUT_LIMIT: Duration = Duration::from_secs(1200);

/// What a no-progress report needs before buildbot's limit: the inspection, faulthandler's
/// dump and the grace period of ending the process.
const REPORT_MARGIN: Duration = Duration::from_secs(60);

/// The most processes one hang lists (the stuck one and its descendants).
const MAX_PROCESSES: usize = 8;

/// A Python frame from faulthandler's dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PythonFrame {
    pub function: String,
    pub file: String,
    pub line: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThreadReport {
    pub tid: i32,
    /// The kernel's state letter: `S` sleeping, `D` uninterruptible, `R` running...
    pub state: String,
    /// Native frames, innermost first (empty when ptrace was denied).
    pub frames: Vec<Frame>,
    /// Python frames, innermost first, from faulthandler (empty when unavailable).
    pub python_frames: Vec<PythonFrame>,
    /// faulthandler stopped at its limit ([`FAULTHANDLER_MAX_FRAMES`]): it wrote its `...` line
    /// after them (3.11), or `python_frames` holds that many (3.12 to 3.15 write no such line),
    /// so the Python stack may be deeper than `python_frames`.
    pub python_frames_truncated: bool,
    /// The native stack was deeper than leakcheck records: frames were left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncated>,
}

/// Native frames left out of a deep stack (see [`stacks::Unwound`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Truncated {
    /// Where in `frames` they were left out: `frames[..at]` are the innermost, `frames[at..]`
    /// the outermost.
    pub at: usize,
    /// How many stack frames (return addresses) were left out; at least that many when
    /// `outermost` is false.
    pub omitted: usize,
    /// `frames[at..]` are the stack's outermost frames (its entry point); false when the walk
    /// stopped before the stack's end (then nothing follows `at`).
    pub outermost: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessReport {
    pub pid: i32,
    pub command: String,
    pub threads: Vec<ThreadReport>,
}

/// One hang: what was stuck, why, and the stacks.
#[derive(Debug, Clone, Serialize)]
pub struct HangReport {
    /// The regrtest test that was running, when known.
    pub test: Option<String>,
    /// The stuck process the diagnosis is about (the same as `diagnosis.pid`).
    pub pid: i32,
    pub diagnosis: Diagnosis,
    pub processes: Vec<ProcessReport>,
    /// Why stacks are missing, if they are (ptrace denied...), and which of its processes
    /// outlived their SIGTERM and were killed with SIGKILL.
    pub notes: Vec<String>,
    /// The unittest method regrtest's verbose output (`-v`) showed running when the hang was
    /// found, sequentially (`Class.test_foo`): what a hang whose stacks name none (a
    /// subprocess's, a new interpreter with no faulthandler dump) was about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_method: Option<String>,
    /// A deadlock among threads of a process that went on: its main thread is neither in it nor
    /// blocked (it runs, or waits for time), so the run was not stuck. Reported as a finding of
    /// `test`, and nothing was ended; a later hang of the same process is reported as any.
    pub process_went_on: bool,
    /// regrtest itself was stuck at interpreter exit, after its tests (`test` is then `None`):
    /// its buffered stdout, the last test's result line and the summary, was lost with it.
    #[serde(skip)]
    pub after_tests: bool,
    /// The processes ended for it (the stuck one and its descendants).
    #[serde(skip)]
    pub ended: Vec<i32>,
}

#[derive(Debug, Default)]
struct Tracked {
    cpu: u64,
    /// The threads in an untimed futex wait at the last tick: `(tid, futex, CPU ticks)`.
    waiters: Vec<(i32, u64, u64)>,
    still_since: Option<Instant>,
    inspected: bool,
    /// Each thread's CPU ticks at the last tick, and when that was.
    thread_cpu: BTreeMap<i32, u64>,
    thread_cpu_at: Option<Instant>,
    /// The threads running (state R) at this tick that spent a fifth of the time since the
    /// last one on a CPU ([`BUSY_SHARE`]): a busy loop, not a thread that wakes now and then
    /// (a GIL waiter, every 5 ms) and happened to be caught running.
    busy: Vec<i32>,
    /// Each thread in an untimed futex wait, since when it was seen in it (see [`WaitSeen`]):
    /// when a deadlock formed, and so in which test.
    wait_seen: BTreeMap<i32, WaitSeen>,
    /// The last tick at which this process's threads' system calls were read, and the test it
    /// was working for then ([`test_of`]).
    looked_at: Option<(Instant, Option<String>)>,
    /// Threads of deadlocks reported while the process went on (`HangReport::process_went_on`):
    /// not reported again; their deadlock still proves a hang once the process stops.
    reported_stuck: BTreeSet<i32>,
    /// The early look at this still process, when a thread of it waits for a mutex a live
    /// thread of another process holds: kept while it sits still, for a lock cycle through
    /// several processes ([`HangWatch::across_processes`]).
    looked: Option<(ProcessView, ProcessReport, Vec<String>)>,
}

/// A thread in an untimed futex wait, as first seen in it.
#[derive(Debug, Clone)]
struct WaitSeen {
    futex: u64,
    /// Its CPU ticks then: a thread that ran since left the wait, whatever it waits on now.
    cpu: u64,
    /// The tick at which it was first seen in the wait, and the test its process worked for
    /// then.
    first: Instant,
    test: Option<String>,
    /// The test its process worked for at the tick before, when it was looked at then and the
    /// thread was not in this wait (it entered it between the two ticks); `None` when the
    /// process was not looked at, at the tick before (when the wait began is not known).
    before: Option<Option<String>>,
    /// That tick before, when `before` is known.
    since: Option<Instant>,
}

/// The most deadlocks one look at a process that goes on reports (see [`HangWatch::proved`]).
const MAX_DEADLOCKS: usize = 64;

/// How many of the output's last changes of test [`HangWatch::tests_seen`] keeps.
const TESTS_SEEN: usize = 64;

/// How late leakcheck may read the progress line announcing a test after regrtest printed it
/// (see [`HangWatch::entry_at`]).
const READ_LAG: Duration = Duration::from_secs(2);

/// Which test a deadlock that did not stop its process is a finding of, and how that is known.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Formed {
    test: Option<String>,
    /// Why the test is only the one running when the deadlock was found, when it is.
    note: Option<String>,
}

/// The share of the time between two ticks a thread must have run to be called busy.
const BUSY_SHARE: f64 = 0.2;

/// Whose silence a sleep is seen in: the run's (its output, regrtest's heartbeats aside), or a
/// `-j` worker's own, when all the worker writes goes to a file of its own (regrtest's temporary
/// file, printed only when the worker's test ends): that file growing is the worker's progress,
/// and the run's output, the other workers', is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Silence {
    Run,
    Worker(i32),
}

/// A `-j` worker's own output, followed at each tick (one `stat` of its fds 1 and 2).
#[derive(Debug)]
struct WorkerOutput {
    /// What [`procfs::output_files`] said at the last tick.
    files: procfs::OutputFiles,
    /// Since when it wrote nothing: when it started, or the last tick its output files grew.
    quiet_since: Instant,
}

/// A thread seen asleep (`nanosleep`/`clock_nanosleep`), or in a wait with a timeout
/// ([`procfs::Syscall::timeout`]), during a silence.
#[derive(Debug)]
struct Sleep {
    syscall: procfs::Syscall,
    /// Its voluntary context switches: unchanged while the same sleep goes on.
    switches: u64,
    /// When the sleep ends at the latest.
    ends: Instant,
    /// The sleeping process, and its parent.
    pid: i32,
    parent: i32,
}

/// A sleep that was going on when an inspection stopped its thread. The stop breaks a relative
/// sleep (`sleep(3)`, `nanosleep`) out of its system call, and the kernel goes on with it in
/// `restart_syscall`, which `/proc` does not show as a sleep: what was seen before the stop says
/// that it is one, and until when, as long as the thread stays in it.
#[derive(Debug)]
struct InspectedSleep {
    pid: i32,
    /// The sleep's system call, as seen before the stop.
    syscall: procfs::Syscall,
    /// When the sleep ends at the latest.
    ends: Instant,
    /// The thread's voluntary context switches once it was seen back in its sleep after the stop
    /// (the stop counted some), `None` until then: unchanged while the same sleep goes on.
    switches: Option<u64>,
    /// The thread's CPU time (clock ticks) before the stop.
    cpu_ticks: u64,
}

impl InspectedSleep {
    /// Whether a thread in `call` is still in this sleep: in the same call, or in the kernel's
    /// restart of it (`restart_syscall` with the argument registers of the call it goes on with).
    fn goes_on_in(&self, call: procfs::Syscall) -> bool {
        call == self.syscall || call.is_restart() && call.args == self.syscall.args
    }

    /// Whether `thread` (of `pid`) is on its way back into this sleep: released from the stop, it
    /// is runnable outside any system call until the scheduler lets it restart the sleep (on a
    /// loaded machine, seconds), and has run next to nothing since (a tick of CPU time at most;
    /// a thread that woke and went on computing is not asleep).
    fn returning(&self, pid: i32, thread: &procfs::ThreadSample) -> bool {
        self.pid == pid
            && self.switches.is_none()
            && thread.state == 'R'
            && thread.syscall.is_none()
            && thread.cpu_ticks <= self.cpu_ticks + 1
    }
}

/// A hang found, waiting for faulthandler's Python stacks before its processes are ended.
#[derive(Debug)]
struct Pending {
    report: HangReport,
    /// The processes to end once the Python stacks are in; `None` once handed to the supervisor
    /// early (the command exited first: see [`HangWatch::command_exited`]).
    end: Option<Action>,
    /// The processes of the hang that catch SIGUSR1, asked for their dump one at a time,
    /// descendants before their parents: each dump ends its process (faulthandler chains to
    /// SIGUSR1's default action), and dumps made at once would interleave in a shared stderr.
    askees: Vec<Askee>,
    /// `askees[current]` is being asked; those before it are done.
    current: usize,
    /// When it was asked.
    asked: Instant,
    /// It was seen gone at a tick: at the next one, all it wrote has been read.
    gone: bool,
}

/// A process of a hang asked for faulthandler's dump.
#[derive(Debug)]
struct Askee {
    pid: i32,
    /// `pthread_t` (the thread pointer) -> tid, to place faulthandler's threads.
    pthreads: BTreeMap<u64, i32>,
    /// Its stderr when it is a file (a `-j` worker's, inherited by the processes it forks),
    /// opened before any signal so that it can still be read once the process is gone; and the
    /// file's length when the process was asked.
    stderr_file: Option<(std::fs::File, u64)>,
    /// Its dump: from the file, or the lines of our output while it was being asked.
    dump: Vec<String>,
    /// Stopped (SIGSTOP) until its turn, so that it does not go on while a child of its is ended.
    held: bool,
    /// Stopped by a signal (state T) when the hang was found.
    stopped: bool,
    /// It was sent SIGUSR1.
    asked: bool,
    /// How the wait for its dump ended, once it did.
    wait: Option<DumpWait>,
}

/// How the wait for a process's dump ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DumpWait {
    /// The process was gone (faulthandler chains to SIGUSR1's default action, which ends it).
    Gone,
    /// Still alive `after` its SIGUSR1 ([`DUMP_WAIT`] or a little more): given up on. `pending`:
    /// the signal was still pending then, not delivered (blocked by every thread of it, or the
    /// thread to take it in an uninterruptible wait).
    Alive { after: Duration, pending: bool },
}

impl Askee {
    /// SIGUSR1, and SIGCONT when it is stopped: a stopped process takes the signal only once
    /// continued, and then handles it before it runs anything else (the kernel delivers pending
    /// signals as the stop ends).
    fn ask(&mut self) {
        self.asked = true;
        if let Some((file, at)) = &mut self.stderr_file {
            *at = file.metadata().map(|m| m.len()).unwrap_or(0);
        }
        let pid = nix::unistd::Pid::from_raw(self.pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGUSR1);
        if self.held || self.stopped {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT);
        }
    }

    /// Its dump is complete (it is gone, or it was given up on): read what its stderr file got.
    fn done(&mut self) {
        if let Some((file, at)) = self.stderr_file.take() {
            self.dump = read_dump(file, at);
        }
    }
}

/// How long a process asked for its dump may stay alive before it is given up on (at the first
/// tick after: up to a second more) and the next is asked, or the hang's processes are ended.
/// faulthandler writes its dump at once and ends the process; one still alive by then did not
/// take the signal, or took it with another handler (a test's `signal.signal(SIGUSR1, ...)`).
pub const DUMP_WAIT: Duration = Duration::from_secs(3);

/// Watches the tree for hangs. See the module documentation.
#[derive(Debug)]
pub struct HangWatch {
    /// The hang timeout; `None`: no `no-progress` reports, only proofs.
    timeout: Option<Duration>,
    last_output: Instant,
    tracked: BTreeMap<i32, Tracked>,
    pending: Option<Pending>,
    hangs: Vec<HangReport>,
    /// The hangs found since [`HangWatch::take_found`] was last called, as they were found
    /// (before faulthandler's Python stacks).
    found: Vec<HangReport>,
    /// A hang ended (or asked SIGUSR1 of) the command itself.
    ended_command: bool,
    ended: BTreeSet<i32>,
    /// The `-j` workers of the tree, by pid, with their own output.
    workers: BTreeMap<i32, WorkerOutput>,
    /// Threads seen asleep during the current silence (theirs: see [`Silence`]), by silence and
    /// tid; `None` for one that woke up and slept again in it (a loop of short sleeps, not one
    /// sleep).
    sleeps: BTreeMap<(Silence, i32), Option<Sleep>>,
    /// Processes in which, or in a child of which, a sleep seen during the current silence
    /// ended: a new sleep there is the next of a loop (`subprocess.run(["sleep", "1"])` over
    /// and over: a new process, a new thread, each time), not one sleep.
    sleeps_ended: BTreeSet<(Silence, i32)>,
    /// The last tick at which a silence's processes were seen waiting for time (see
    /// [`Self::sleeping`]): their quiet time counts from then.
    waited: BTreeMap<Silence, Instant>,
    /// The sleeper a silence's report was held back for (see [`Self::sleeping`]): since when,
    /// and its process and thread, for the report to say so.
    waited_for: BTreeMap<Silence, (Instant, i32, i32)>,
    /// Sleeps that an inspection stopped, by tid, followed at each tick (whatever the silence)
    /// while their threads stay in them.
    inspected_sleeps: BTreeMap<i32, InspectedSleep>,
    /// The run's silence restarted since the last tick: its sleeps are forgotten at the next
    /// (once a tick, not at every line of output).
    run_restarted: bool,
    /// The last tick (see [`Tracked::looked_at`]).
    last_tick: Option<Instant>,
    /// The output's test and the unittest method it shows running (`-v`), as
    /// [`Self::method_running`] last said: a hang of that test found now was about it.
    method_running: Option<(String, String)>,
    /// The output's test (see [`Self::test_running`]): when it changed, and to what, the last
    /// [`TESTS_SEEN`] changes.
    tests_seen: std::collections::VecDeque<(Instant, Option<String>)>,
    /// Processes the shim holds at their exit for a look ([`Self::tick`]'s `held`), and those
    /// looked at since [`Self::take_released`] was last called.
    held: BTreeSet<i32>,
    released: Vec<i32>,
    symbolizer: Symbolizer,
}

/// regrtest's heartbeat lines, which say that a test is still running, not that anything moved.
static HEARTBEAT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d+:\d\d:\d\d )?(load avg: [\d.]+ )?running( \(\d+\))?: ").expect("a valid regex"));

/// faulthandler's header of one thread's stack. Anchored at the end only: what the process wrote
/// without a newline before the dump (regrtest's `-R` progress dots on stderr) starts its line.
/// 3.14 and later write the thread's name between the id and `(most recent call first):` when it
/// has one (`write_thread_id` in `Python/traceback.c`: ` [` + `pthread_getname_np`'s name + `]`),
/// e.g. `Thread 0x00007fe01ffff6c0 [Thread-2 (secon] (most recent call first):`: the name is cut
/// to the kernel's 15 bytes (mid-character, maybe) and may hold anything but a newline, brackets
/// and parentheses included, hence any bytes up to the last `] (most recent call first):`.
static FAULTHANDLER_THREAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(Current thread|Thread) 0x([0-9a-f]+)(?-u: \[.*\])? \(most recent call first\):$")
        .expect("a valid regex")
});

static FAULTHANDLER_FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^  File "(.*)", line (\d+) in (.*)$"#).expect("a valid regex"));

/// The line faulthandler writes after a thread's [`FAULTHANDLER_MAX_FRAMES`]th frame when its
/// stack goes deeper (3.11's `dump_traceback`; 3.12 and 3.13 mean to write `plus N frames` there
/// but never do: the depth they compare is never above the limit when they look; 3.14 and 3.15
/// write 100 frames of a deeper stack and nothing after them either).
const FAULTHANDLER_CUT: &[u8] = b"  ...";

/// The most frames faulthandler writes of one thread's Python stack (`MAX_FRAME_DEPTH` in
/// `Python/traceback.c`, 3.11 to 3.15).
pub const FAULTHANDLER_MAX_FRAMES: usize = 100;

/// The line faulthandler writes instead of the next thread's stack once it has written
/// [`FAULTHANDLER_MAX_THREADS`] of them (`_Py_DumpTracebackThreads`, 3.11 to 3.15).
const FAULTHANDLER_THREADS_CUT: &[u8] = b"...";

/// The most threads faulthandler writes the stacks of (`MAX_NTHREADS` in `Python/traceback.c`):
/// the newest first, so a process with more loses its oldest, the main thread among them.
pub const FAULTHANDLER_MAX_THREADS: usize = 100;

/// Whether `line` is one of faulthandler's dump: a thread's header, a frame, or a cut.
fn is_dump_line(line: &[u8]) -> bool {
    FAULTHANDLER_THREAD.is_match(line)
        || FAULTHANDLER_FRAME.is_match(line)
        || line == FAULTHANDLER_CUT
        || line == FAULTHANDLER_THREADS_CUT
}

impl HangWatch {
    /// A watch that reports `no-progress` after `timeout` of silence (never when `None`), and
    /// provable deadlocks whatever the timeout.
    pub fn new(timeout: Option<Duration>) -> Self {
        Self {
            timeout,
            last_output: Instant::now(),
            tracked: BTreeMap::new(),
            pending: None,
            hangs: Vec::new(),
            found: Vec::new(),
            ended_command: false,
            ended: BTreeSet::new(),
            workers: BTreeMap::new(),
            sleeps: BTreeMap::new(),
            sleeps_ended: BTreeSet::new(),
            waited: BTreeMap::new(),
            waited_for: BTreeMap::new(),
            inspected_sleeps: BTreeMap::new(),
            run_restarted: false,
            last_tick: None,
            method_running: None,
            tests_seen: std::collections::VecDeque::new(),
            held: BTreeSet::new(),
            released: Vec::new(),
            symbolizer: Symbolizer::new(),
        }
    }

    /// A line of the command's output.
    pub fn output(&mut self, line: &[u8], now: Instant) {
        if let Some(pending) = &mut self.pending {
            if is_dump_line(line) {
                if let Some(askee) = pending.askees.get_mut(pending.current) {
                    askee.dump.push(String::from_utf8_lossy(line).into_owned());
                }
            }
        }
        if !HEARTBEAT.is_match(line) {
            self.restart_silence(Silence::Run, now);
        }
    }

    /// Bytes of the command's output that do not end a line yet (regrtest's `-R` marks, one
    /// per repetition, flushed): progress, as a line is. A heartbeat is written whole, as a line.
    pub fn unfinished_output(&mut self, now: Instant) {
        self.restart_silence(Silence::Run, now);
    }

    /// leakcheck and the command were stopped together (a Ctrl-Z at their terminal: no ticks
    /// meanwhile) and go on at `now`: the time stopped was the user's, so every silence starts
    /// again (the run's and each `-j` worker's: a worker, in a session of its own, ran on but
    /// waited for its stopped regrtest), and so does every process's stillness. A process
    /// stopped by a signal that nothing continues (a test's SIGSTOP, not leakcheck's group)
    /// is still reported once its silence lasts the timeout.
    pub fn resumed(&mut self, now: Instant) {
        self.restart_silence(Silence::Run, now);
        let workers: Vec<i32> = self.workers.keys().copied().collect();
        for pid in workers {
            self.restart_silence(Silence::Worker(pid), now);
        }
        for tracked in self.tracked.values_mut() {
            tracked.still_since = None;
        }
    }

    /// A silence is over at `now`, and the next starts: its clock restarts, and the sleeps seen
    /// during it are forgotten (the run's at the next tick, which is when they are looked at).
    fn restart_silence(&mut self, silence: Silence, now: Instant) {
        match silence {
            Silence::Run => {
                self.last_output = now;
                self.run_restarted = true;
            }
            Silence::Worker(pid) => {
                if let Some(worker) = self.workers.get_mut(&pid) {
                    worker.quiet_since = now;
                }
                self.forget_sleeps(silence);
            }
        }
    }

    /// The sleeps seen during `silence` are forgotten.
    fn forget_sleeps(&mut self, silence: Silence) {
        self.waited.remove(&silence);
        self.waited_for.remove(&silence);
        self.sleeps.retain(|(s, _), _| *s != silence);
        self.sleeps_ended.retain(|(s, _)| *s != silence);
    }

    /// At each tick: each `-j` worker's own output (the size of the files its stdout and stderr
    /// point at: no ptrace, one `stat` each). A worker whose output grew is making progress.
    /// `workers`: the pids of the tree's workers ([`worker_pids`]).
    fn follow_workers(&mut self, tree: &BTreeMap<i32, ProcessSample>, workers: &[i32], now: Instant) {
        self.workers.retain(|pid, _| tree.contains_key(pid));
        for &pid in workers {
            let Some(files) = procfs::output_files(pid) else { continue };
            let grew = match self.workers.get_mut(&pid) {
                Some(worker) => {
                    let grew = worker.files.size != files.size;
                    worker.files = files;
                    grew
                }
                None => {
                    // Seen for the first time (within a tick of its start): quiet since it started,
                    // unless it wrote already.
                    let started = procfs_age(pid).and_then(|age| now.checked_sub(age)).unwrap_or(now);
                    let quiet_since = if files.size > 0 { now } else { started };
                    self.workers.insert(pid, WorkerOutput { files, quiet_since });
                    false
                }
            };
            if grew {
                self.restart_silence(Silence::Worker(pid), now);
            }
        }
    }

    /// The silence `pid` is in (see [`Silence`]): its own, for a `-j` worker (or a process
    /// below one) whose stdout and stderr both go to files; else the run's.
    fn silence_of(&self, pid: i32, tree: &BTreeMap<i32, ProcessSample>) -> Silence {
        let mut current = pid;
        for _ in 0..tree.len() + 1 {
            if self.workers.get(&current).is_some_and(|w| w.files.all_files) {
                return Silence::Worker(current);
            }
            match tree.get(&current) {
                Some(sample) => current = sample.ppid,
                None => break,
            }
        }
        Silence::Run
    }

    /// Since when `pid` (a process a no-progress verdict may be about) has made no progress that
    /// shows: for a `-j` worker, its start or its own last output, and the run's output too
    /// unless all the worker's goes to files; for regrtest itself, the run's last output.
    fn quiet_since(&self, pid: i32) -> Instant {
        match self.workers.get(&pid) {
            Some(worker) if worker.files.all_files => worker.quiet_since,
            Some(worker) => worker.quiet_since.max(self.last_output),
            None => self.last_output,
        }
    }

    /// The hangs found so far (a pending one completed with what faulthandler wrote by now).
    pub fn finish(&mut self) -> Vec<HangReport> {
        if let Some(pending) = self.pending.take() {
            self.complete(pending);
        }
        std::mem::take(&mut self.hangs)
    }

    /// The hangs found since the last call, as they were when found: the diagnosis and the native
    /// stacks, not yet faulthandler's Python stacks (asked for after) nor the processes ended. For
    /// the caller to print at once (the watch prints nothing).
    pub fn take_found(&mut self) -> Vec<HangReport> {
        std::mem::take(&mut self.found)
    }

    /// Whether a hang was about the command itself (regrtest in sequential mode): leakcheck
    /// ended it, with faulthandler's SIGUSR1 or the signals that end a tree.
    pub fn ended_command(&self) -> bool {
        self.ended_command
    }

    /// The command has exited (regrtest, killed by faulthandler's SIGUSR1 while the hang's
    /// Python stacks are being asked for, or done with its other tests while a worker's are):
    /// what is left of the pending hang's processes is to be ended now, as the hang's, not left
    /// behind. The hang itself is completed by [`Self::finish`], once its output is all read.
    pub fn command_exited(&mut self) -> Vec<Action> {
        self.pending.as_mut().and_then(|pending| pending.end.take()).into_iter().collect()
    }

    /// These processes outlived their SIGTERM by the grace period (they ignored it, or handled
    /// it and went on) and got SIGKILL: each hang that ended one says so in its notes.
    pub fn killed_after_grace(&mut self, pids: &[i32], grace: Duration) {
        let pending = self.pending.as_mut().map(|p| &mut p.report);
        for hang in self.hangs.iter_mut().chain(pending) {
            for &pid in pids.iter().filter(|pid| hang.ended.contains(pid)) {
                let command = process_words(hang, pid);
                hang.notes.push(format!(
                    "process {pid}{command} ignored SIGTERM (or handled it and went on): still alive --grace ({}) \
                     after it, it was killed with SIGKILL",
                    seconds(grace)
                ));
            }
        }
    }

    /// Add faulthandler's Python stacks to a pending hang and keep it.
    fn complete(&mut self, mut pending: Pending) {
        if let Some(askee) = pending.askees.get_mut(pending.current) {
            askee.done();
        }
        for askee in &pending.askees {
            attach_python_frames(&mut pending.report, askee.pid, &askee.pthreads, &askee.dump);
            let header_or_frame = |line: &String| {
                FAULTHANDLER_THREAD.is_match(line.as_bytes()) || FAULTHANDLER_FRAME.is_match(line.as_bytes())
            };
            if !askee.dump.iter().any(header_or_frame) {
                let note = no_dump_note(&pending.report, askee);
                pending.report.notes.push(note);
            }
        }
        self.hangs.push(pending.report);
    }

    /// A tick while a hang waits for its Python stacks: once the process asked is gone (its dump
    /// written and read), ask the next; after the last, end the hang's processes.
    fn tick_pending(&mut self, now: Instant) -> Vec<Action> {
        let Some(pending) = self.pending.as_mut() else { return Vec::new() };
        // Give faulthandler a moment.
        if now.duration_since(pending.asked) < Duration::from_millis(700) {
            return Vec::new();
        }
        let Some(askee) = pending.askees.get_mut(pending.current) else { return Vec::new() };
        if alive(askee.pid) {
            let after = now.duration_since(pending.asked);
            if after < DUMP_WAIT {
                return Vec::new();
            }
            let pending = procfs::signal_pending(askee.pid, libc::SIGUSR1);
            askee.wait = Some(DumpWait::Alive { after, pending });
        } else if !pending.gone {
            // It may have died only now, its last lines still in the pipe: what arrives after
            // the next process is asked is that one's.
            pending.gone = true;
            return Vec::new();
        } else {
            askee.wait = Some(DumpWait::Gone);
        }
        askee.done();
        pending.current += 1;
        pending.gone = false;
        if let Some(next) = pending.askees.get_mut(pending.current) {
            next.ask();
            pending.asked = now;
            return Vec::new();
        }
        let Some(mut pending) = self.pending.take() else { return Vec::new() };
        let end = pending.end.take();
        self.complete(pending);
        end.into_iter().collect()
    }

    /// Look at the tree below `root` (leakcheck itself); `command` is the command's pid and
    /// `current_test` the regrtest test the output says is running (sequential mode).
    pub fn tick(&mut self, root: i32, command: i32, current_test: Option<&str>, now: Instant) -> Vec<Action> {
        remote::release_lingering();
        let previous_tick = self.last_tick.replace(now);
        if std::mem::take(&mut self.run_restarted) {
            self.forget_sleeps(Silence::Run);
        }
        if self.pending.is_some() {
            return self.tick_pending(now);
        }
        let mut tree = procfs::sample_tree(root);
        self.tracked.retain(|pid, _| tree.contains_key(pid));
        // A held process gone (killed meanwhile) needs no look.
        let gone: Vec<i32> = self.held.iter().copied().filter(|pid| !tree.contains_key(pid)).collect();
        for pid in gone {
            self.held.remove(&pid);
            self.released.push(pid);
        }
        self.follow_inspected_sleeps(now);
        // Every command line (one small read each: which processes are regrtest's, its workers,
        // or a regrtest a test started); the other details (system calls) only for processes
        // sitting still, and for the regrtest processes the verdicts need to tell apart.
        for sample in tree.values_mut() {
            sample.load_argv();
        }
        // The `-j` workers, from their command lines: only the no-progress verdict needs them.
        let workers = if self.timeout.is_some() { worker_pids(&tree) } else { Vec::new() };
        if self.timeout.is_some() {
            self.follow_workers(&tree, &workers, now);
        }
        let mut detailed = BTreeSet::new();
        for (pid, sample) in &tree {
            let tracked = self.tracked.get(pid);
            let still = sample.all_blocked() && tracked.is_some_and(|t| t.cpu == sample.cpu_ticks());
            let had_waiters = tracked.is_some_and(|t| !t.waiters.is_empty());
            if still || had_waiters || *pid == command || sample.ppid == command || self.held.contains(pid) {
                detailed.insert(*pid);
            }
        }
        for pid in &detailed {
            if let Some(sample) = tree.get_mut(pid) {
                sample.load_details();
            }
        }
        // Early: a process sitting still with an untimed futex wait.
        for (pid, sample) in &tree {
            if self.ended.contains(pid) {
                if self.held.remove(pid) {
                    self.released.push(*pid);
                }
                continue;
            }
            let tracked = self.tracked.entry(*pid).or_default();
            if detailed.contains(pid) {
                // Since when each thread waits: which test a deadlock formed in.
                let test = test_of(*pid, &tree, command, current_test);
                let before = tracked.looked_at.as_ref().filter(|(at, _)| Some(*at) == previous_tick);
                let since = before.map(|(at, _)| *at);
                let before = before.map(|(_, test)| test.clone());
                let mut seen = std::mem::take(&mut tracked.wait_seen);
                for thread in &sample.threads {
                    let wait = thread.syscall.filter(procfs::Syscall::is_untimed_futex_wait);
                    let Some(futex) = wait.and_then(|s| s.futex_address()) else { continue };
                    let entry = match seen.remove(&thread.tid) {
                        Some(seen) if seen.futex == futex && seen.cpu == thread.cpu_ticks => seen,
                        _ => WaitSeen {
                            futex,
                            cpu: thread.cpu_ticks,
                            first: now,
                            test: test.clone(),
                            before: before.clone(),
                            since,
                        },
                    };
                    tracked.wait_seen.insert(thread.tid, entry);
                }
                tracked.looked_at = Some((now, test));
            }
            let cpu = sample.cpu_ticks();
            let still = sample.all_blocked() && cpu == tracked.cpu;
            tracked.cpu = cpu;
            let before = std::mem::take(&mut tracked.thread_cpu);
            let wall_ticks =
                tracked.thread_cpu_at.map_or(0.0, |at| now.duration_since(at).as_secs_f64() * clock_ticks_per_second());
            let busy_ticks = (wall_ticks * BUSY_SHARE).max(1.0);
            tracked.busy = sample
                .threads
                .iter()
                .filter(|t| {
                    t.state == 'R'
                        && before.get(&t.tid).is_some_and(|&cpu| t.cpu_ticks.saturating_sub(cpu) as f64 >= busy_ticks)
                })
                .map(|t| t.tid)
                .collect();
            tracked.thread_cpu = sample.threads.iter().map(|t| (t.tid, t.cpu_ticks)).collect();
            tracked.thread_cpu_at = Some(now);
            // Or: the same threads still in the same untimed futex waits, without running since,
            // while other threads spend a little CPU in timed waits (a GIL waiter wakes every
            // 5 ms to ask for it). Inspected once, like a still process.
            let waiters: Vec<(i32, u64, u64)> = sample
                .threads
                .iter()
                .filter_map(|t| {
                    let syscall = t.syscall.filter(|s| s.is_untimed_futex_wait())?;
                    Some((t.tid, syscall.futex_address()?, t.cpu_ticks))
                })
                .collect();
            let waiters_still = !waiters.is_empty() && waiters == tracked.waiters;
            tracked.waiters = waiters;
            // The whole process still: no thread ran since the last tick.
            let all_still = still;
            let still = still || waiters_still;
            if !still {
                tracked.still_since = None;
                tracked.inspected = false;
                tracked.looked = None;
            }
            if self.held.remove(pid) {
                // Held at its exit by the shim, which saw threads deadlocked that would vanish
                // with it (a `-j` worker exits as soon as its test is done): looked at now.
                self.released.push(*pid);
                let (view, report, notes) = self.inspect(sample, &tree, now);
                let exit = Proved { sample, still: false, exiting: true, current_test, command };
                if let Some(actions) = self.proved(exit, view, report, notes, &tree) {
                    return actions;
                }
                continue;
            }
            if !still {
                continue;
            }
            let since = *tracked.still_since.get_or_insert(now);
            let futex_waiter = sample.threads.iter().any(|t| t.syscall.is_some_and(|s| s.is_untimed_futex_wait()));
            if tracked.inspected || !futex_waiter || now.duration_since(since) < QUICK {
                continue;
            }
            tracked.inspected = true;
            let (view, report, notes) = self.inspect(sample, &tree, now);
            let foreign = view.threads.iter().any(|t| t.foreign_owner.is_some());
            let kept = foreign.then(|| (view.clone(), report.clone(), notes.clone()));
            let how = Proved { sample, still: all_still, exiting: false, current_test, command };
            if let Some(actions) = self.proved(how, view, report, notes, &tree) {
                return actions;
            }
            if let Some(kept) = kept {
                if let Some(tracked) = self.tracked.get_mut(pid) {
                    tracked.looked = Some(kept);
                }
                if let Some(actions) = self.across_processes(current_test, &tree, command) {
                    return actions;
                }
            }
        }
        // Late: a process running a test that made no progress that shows for the whole timeout
        // (its own output, for a `-j` worker writing to a file; else the run's, heartbeats aside).
        let Some(timeout) = self.timeout else { return Vec::new() };
        // Not one being ended for a hang already, also when it outlives the timeout meanwhile
        // (it ignores SIGTERM until the grace period's SIGKILL): one hang per stuck process.
        let candidates: Vec<(i32, Instant)> = stuck_processes(&tree, &workers, command)
            .into_iter()
            .filter(|pid| !self.ended.contains(pid))
            .map(|pid| (pid, self.quiet_since(pid)))
            .filter(|&(pid, since)| {
                // The time it spent waiting for time is not silence: it has the whole timeout
                // after its sleep, to print what comes next (e.g. on a loaded machine).
                let waited = self.waited.get(&self.silence_of(pid, &tree)).copied();
                now.saturating_duration_since(waited.map_or(since, |waited| waited.max(since))) >= timeout
            })
            .collect();
        if candidates.is_empty() {
            return Vec::new();
        }
        for (pid, sample) in tree.iter_mut() {
            if !detailed.contains(pid) {
                sample.load_details();
            }
        }
        // Checked again at the next tick while every candidate sleeps.
        let Some((target, since)) = candidates.into_iter().find(|&(pid, since)| {
            let silence = self.silence_of(pid, &tree);
            let sleep_ends = self.sleeping(&subtree(pid, &tree), silence, since, &tree, now);
            if let Some(ends) = sleep_ends {
                // The whole timeout after the sleep, not after this tick: a process whose sleep
                // ends between two ticks has printed nothing yet at the next.
                self.waited.insert(silence, ends.max(now));
            }
            sleep_ends.is_none()
        }) else {
            return Vec::new();
        };
        // One report per silence.
        let silence = self.silence_of(target, &tree);
        let waited_for = self.waited_for.get(&silence).copied();
        self.restart_silence(silence, now);
        let Some(first) = tree.get(&target) else { return Vec::new() };
        let mut reports = Vec::new();
        let mut notes = Vec::new();
        let mut proof = None;
        let mut gil_wait = None;
        let mut foreign_wait = None;
        let mut views = Vec::new();
        for pid in subtree(target, &tree).into_iter().take(MAX_PROCESSES) {
            let Some(sample) = tree.get(&pid) else { continue };
            let (view, report, more) = self.inspect(sample, &tree, now);
            reports.push(report);
            notes.extend(more);
            // A deadlock reported while the process went on is no proof of this silence: what
            // its other threads do is the question now.
            let reported: Vec<i32> =
                self.tracked.get(&pid).map(|t| t.reported_stuck.iter().copied().collect()).unwrap_or_default();
            if !reported.is_empty() {
                let tids: Vec<String> = reported.iter().map(i32::to_string).collect();
                notes.push(format!(
                    "process {pid}: threads {} deadlocked earlier, while the process went on (reported then)",
                    tids.join(", ")
                ));
            }
            let view = diagnose::without_waits_of(&view, &reported);
            proof = proof.or_else(|| diagnose(&view));
            gil_wait = gil_wait.or_else(|| diagnose::gil_wait(&view));
            foreign_wait = foreign_wait.or_else(|| diagnose::foreign_wait(&view));
            views.push(view);
        }
        let python_waiters: Vec<(i32, Vec<i32>)> =
            views.iter().map(|view| (view.pid, diagnose::python_lock_waiters(view))).collect();
        // Or a lock cycle through several of them, each waiting for a mutex another holds.
        proof = proof.or_else(|| diagnose::cross_process_cycle(&views.iter().collect::<Vec<_>>()));
        // Without ptrace (Yama, a container's capabilities) there are no stacks to prove
        // anything with; say so rather than point at stacks that are not there.
        let blind = reports.iter().flat_map(|r: &ProcessReport| &r.threads).all(|t| t.frames.is_empty());
        let stopped: Vec<String> = reports
            .iter()
            .filter(|r| tree.get(&r.pid).is_some_and(ProcessSample::stopped))
            .map(|r| r.pid.to_string())
            .collect();
        let busy = self.busy_threads(&subtree(target, &tree));
        let why = if !stopped.is_empty() {
            format!(
                "process {} is stopped by a signal (state T: SIGSTOP, SIGTSTP...) and nothing continued it",
                stopped.join(", ")
            )
        } else if let Some(busy) = busy_words(&busy) {
            format!("{busy}: busy without output, not blocked; see the stacks")
        } else if blind {
            "no native stacks could be read (see the note), so no lock could be examined".to_owned()
        } else if let Some((wait, _, _)) = gil_wait.as_ref().or(foreign_wait.as_ref()) {
            format!("{wait}; no lock cycle or lost lock owner could be shown: see the stacks")
        } else if let Some(waits) = diagnose::python_lock_words(&python_waiters) {
            format!("{waits}; no lock cycle or lost lock owner could be shown")
        } else {
            "no lock cycle or lost lock owner could be shown: see the stacks".to_owned()
        };
        let quiet = now.duration_since(since).as_secs();
        let whose = match silence {
            Silence::Worker(_) => {
                "from this -j worker (its own output: its stdout and stderr go to a file that regrtest prints \
                 when the test ends, and the file did not grow)"
            }
            Silence::Run => "(the run's output, regrtest's heartbeats aside)",
        };
        // Threads waiting for the GIL and its holder are the ones to look at, as a cycle's are;
        // so are the busy threads the summary names.
        let (mut threads, locks) = match gil_wait.or(foreign_wait).filter(|_| stopped.is_empty()) {
            Some((_, threads, lock)) => (threads, vec![lock]),
            None => (Vec::new(), Vec::new()),
        };
        if stopped.is_empty() {
            for (_, tid) in busy {
                if !threads.contains(&tid) {
                    threads.push(tid);
                }
            }
            if threads.is_empty() {
                threads.extend(python_waiters.iter().flat_map(|(_, tids)| tids.iter().copied()));
            }
        }
        if let Some((first, pid, tid)) = waited_for {
            notes.push(format!(
                "the report waited {} s for thread {tid} of process {pid}, in one sleep that was to end before \
                 buildbot's no-output limit (a test in one sleep waits for time to pass, not stuck; no other thread \
                 of its process was blocked on a lock it was not shown to hold); the silence went on after that \
                 sleep",
                now.saturating_duration_since(first).as_secs()
            ));
        }
        let diagnosis = proof.unwrap_or_else(|| Diagnosis {
            kind: DiagnosisKind::NoProgress,
            summary: format!("no output for {quiet} s {whose}; {why}"),
            pid: first.pid,
            threads,
            locks,
            reference: None,
        });
        self.found(diagnosis, reports, notes, current_test, &tree, command)
    }

    /// The threads of `pids` running (state R) and gaining CPU time at this tick, as `(pid, tid)`.
    fn busy_threads(&self, pids: &[i32]) -> Vec<(i32, i32)> {
        pids.iter()
            .filter_map(|pid| Some((*pid, self.tracked.get(pid)?)))
            .flat_map(|(pid, tracked)| tracked.busy.iter().map(move |&tid| (pid, tid)))
            .collect()
    }

    /// Whether `pids` wait for the time to pass (see the module documentation): a thread of
    /// them is in one sleep that ends before buildbot's no-output limit, or every thread of one
    /// of them is in one sleep or timed wait, the first to end ending before that limit.
    /// Remembers the sleeps and timed waits it sees in [`Self::sleeps`]. `silence` is theirs,
    /// and began at `since`. Returns when that sleep or wait ends; `None` when they do not wait
    /// for time (a loop of sleeps does not).
    fn sleeping(
        &mut self,
        pids: &[i32],
        silence: Silence,
        since: Instant,
        tree: &BTreeMap<i32, ProcessSample>,
        now: Instant,
    ) -> Option<Instant> {
        let horizon = since + BUILDBOT_NO_OUTPUT_LIMIT.saturating_sub(REPORT_MARGIN);
        // The threads asleep now, as `/proc` shows them: in a sleep or a timed wait, or in one
        // that an inspection stopped (see [`InspectedSleep`]), with its end and its switches
        // since the stop.
        struct Asleep {
            pid: i32,
            parent: i32,
            tid: i32,
            syscall: procfs::Syscall,
            inspected: Option<(Instant, Option<u64>)>,
            /// A sleep, not a timed wait (as seen before the stop, for one an inspection stopped).
            is_sleep: bool,
        }
        let mut asleep = Vec::new();
        for sample in pids.iter().filter_map(|pid| tree.get(pid)) {
            for thread in &sample.threads {
                // A thread an inspection stopped in its sleep, not back in it yet, is in it.
                let returning = self.inspected_sleeps.get(&thread.tid).filter(|s| s.returning(sample.pid, thread));
                let Some(syscall) = thread.syscall.or(returning.map(|s| s.syscall)) else { continue };
                let inspected =
                    self.inspected_sleeps.get(&thread.tid).filter(|s| s.pid == sample.pid && s.goes_on_in(syscall));
                if syscall.timeout().is_some() || inspected.is_some() {
                    let is_sleep = inspected.map_or(syscall, |s| s.syscall).sleep_request().is_some();
                    let inspected = inspected.map(|s| (s.ends, s.switches));
                    let (pid, parent, tid) = (sample.pid, sample.ppid, thread.tid);
                    asleep.push(Asleep { pid, parent, tid, syscall, inspected, is_sleep });
                }
            }
        }
        // Sleeps of these processes (or of their children that are gone) that ended since. Only
        // sleeps: the timed waits that end in a process (a thread waiting for the GIL wakes every
        // 5 ms) say nothing of the next sleep there.
        let asleep_now: BTreeSet<i32> = asleep.iter().map(|a| a.tid).collect();
        for ((_, tid), sleep) in self.sleeps.iter_mut().filter(|((scope, _), _)| *scope == silence) {
            if let Some(ended) = sleep
                .as_ref()
                .filter(|s| (pids.contains(&s.pid) || pids.contains(&s.parent)) && !asleep_now.contains(tid))
            {
                if ended.syscall.sleep_request().is_some() {
                    self.sleeps_ended.extend([(silence, ended.pid), (silence, ended.parent)]);
                }
                *sleep = None;
            }
        }
        // When the sleep or timed wait of each thread found in one ends (`None`: a loop of them).
        let mut ends_of: BTreeMap<i32, Option<Instant>> = BTreeMap::new();
        // The threads in one sleep that ends before the limit, as (pid, tid), and its end.
        let mut sleepers: Vec<(i32, i32, Instant)> = Vec::new();
        for Asleep { pid, parent, tid, syscall, inspected, is_sleep } in asleep {
            let seen = self.sleeps.get(&(silence, tid)).map(|s| s.as_ref().map(|s| (s.syscall, s.switches, s.ends)));
            let ends = match (seen, inspected) {
                // A loop of sleeps, whatever an inspection did since.
                (Some(None), _) => None,
                // A sleep an inspection stopped, followed since by `follow_inspected_sleeps`: the
                // switches the stop counted are no waking up. Seen from now on as it is now.
                (_, Some((ends, Some(switches)))) => {
                    self.sleeps.insert((silence, tid), Some(Sleep { syscall, switches, ends, pid, parent }));
                    Some(ends)
                }
                // Stopped at this very tick, after `/proc` was read, or not back in its sleep
                // since the stop (`InspectedSleep::returning`): read again at the next.
                (_, Some((ends, None))) => Some(ends),
                (seen, None) => {
                    let Some(switches) = procfs::voluntary_switches(pid, tid) else { continue };
                    match seen {
                        Some(Some((before, count, ends))) if before == syscall && count == switches => Some(ends),
                        // It woke up and sleeps again: a loop of sleeps.
                        Some(_) => {
                            self.sleeps.insert((silence, tid), None);
                            None
                        }
                        // The next sleep of a loop whose earlier sleep ended here.
                        None if is_sleep
                            && (self.sleeps_ended.contains(&(silence, pid))
                                || self.sleeps_ended.contains(&(silence, parent))) =>
                        {
                            self.sleeps.insert((silence, tid), None);
                            None
                        }
                        None => {
                            let ends = sleep_end(pid, syscall, now);
                            if let Some(ends) = ends {
                                self.sleeps
                                    .insert((silence, tid), Some(Sleep { syscall, switches, ends, pid, parent }));
                            }
                            ends
                        }
                    }
                }
            };
            if let Some(ends) = ends.filter(|&ends| is_sleep && now < ends && ends <= horizon) {
                sleepers.push((pid, tid, ends));
            }
            ends_of.insert(tid, ends.filter(|&ends| now < ends));
        }
        // A process all of whose threads wait for their time (`threading.Event().wait(30)` on
        // the main thread, faulthandler's watchdog beside it) waits for the first of them.
        // The latest such first end, of the processes that have one.
        let all_timed = pids
            .iter()
            .filter_map(|pid| tree.get(pid))
            .filter_map(|sample| {
                let ends: Option<Vec<Instant>> =
                    sample.threads.iter().map(|thread| ends_of.get(&thread.tid).copied().flatten()).collect();
                ends.and_then(|ends| ends.into_iter().min()).filter(|&first| first <= horizon)
            })
            .max();
        // A sleeper holds its process's report back only while every other thread of the process
        // that is blocked with no timeout waits for something a sleeper of it may end (see
        // [`held_by_sleeper`]): not while one waits forever for a lock the sleepers are not shown
        // to hold (a thread blocked on malloc's lock beside a thread in `sleep(1000)`).
        let sleeper = sleepers.iter().copied().find(|&(pid, _, _)| {
            let Some(sample) = tree.get(&pid) else { return false };
            let asleep: Vec<i32> = sleepers.iter().filter(|s| s.0 == pid).map(|s| s.1).collect();
            let memory = LiveMemory::new(pid);
            sample.threads.iter().filter(|t| !asleep.contains(&t.tid)).all(|thread| match thread.syscall {
                Some(call) if call.is_untimed_futex_wait() => held_by_sleeper(&memory, call, &asleep),
                _ => true,
            })
        });
        if let Some((pid, tid, _)) = sleeper {
            let entry = self.waited_for.entry(silence).or_insert((now, pid, tid));
            (entry.1, entry.2) = (pid, tid);
        }
        sleeper.map(|(_, _, ends)| ends).max(all_timed)
    }

    /// Before `sample` is stopped for an inspection: remember its threads' sleeps, which the stop
    /// may break into `restart_syscall` (see [`InspectedSleep`]). Only sleeps [`Self::sleeping`]
    /// would take for one sleep: not one it saw end and begin again (a loop), nor a new one in a
    /// process where one ended during this silence.
    /// `silence` is the one `sample` is in.
    fn remember_sleeps(&mut self, sample: &ProcessSample, silence: Silence, now: Instant) {
        let ended = |pid: i32| self.sleeps_ended.contains(&(silence, pid));
        let ended_here = ended(sample.pid) || ended(sample.ppid);
        for thread in &sample.threads {
            let tid = thread.tid;
            let known = self.inspected_sleeps.remove(&tid).filter(|s| {
                s.pid == sample.pid && s.switches.is_some() && thread.syscall.is_some_and(|call| s.goes_on_in(call))
            });
            let sleep = match known {
                // Stopped before, and in the same sleep since.
                Some(known) => Some((known.syscall, known.ends)),
                None => thread.syscall.filter(|call| call.timeout().is_some()).and_then(|syscall| {
                    let ends = match self.sleeps.get(&(silence, tid)) {
                        // Seen during this silence: the same sleep unless it woke up since.
                        Some(Some(seen))
                            if seen.syscall == syscall
                                && procfs::voluntary_switches(sample.pid, tid) == Some(seen.switches) =>
                        {
                            seen.ends
                        }
                        Some(_) => return None,
                        None if ended_here => return None,
                        None => sleep_end(sample.pid, syscall, now)?,
                    };
                    Some((syscall, ends))
                }),
            };
            if let Some((syscall, ends)) = sleep {
                let (pid, cpu_ticks) = (sample.pid, thread.cpu_ticks);
                self.inspected_sleeps.insert(tid, InspectedSleep { pid, syscall, ends, switches: None, cpu_ticks });
            }
        }
    }

    /// At each tick: keep the sleeps an inspection stopped while their threads stay in them (see
    /// [`InspectedSleep`]): in the same call or its restart, without waking up (their voluntary
    /// context switches, counted once they were back in it, unchanged), and before their end.
    /// Also while a thread is not back in it yet: released from the stop, it is runnable outside
    /// any system call (`/proc` says `running`) until the scheduler lets it restart the sleep,
    /// which on a loaded machine (a buildbot's `-j0`) can take seconds.
    fn follow_inspected_sleeps(&mut self, now: Instant) {
        self.inspected_sleeps.retain(|&tid, sleep| {
            let text = std::fs::read_to_string(format!("/proc/{}/task/{tid}/syscall", sleep.pid)).ok();
            if now < sleep.ends && sleep.switches.is_none() && text.as_deref().is_some_and(|t| t.trim() == "running") {
                return true;
            }
            let call = text.and_then(|text| procfs::parse_syscall(&text));
            match (call, procfs::voluntary_switches(sleep.pid, tid)) {
                (Some(call), Some(switches)) if now < sleep.ends && sleep.goes_on_in(call) => {
                    *sleep.switches.get_or_insert(switches) == switches
                }
                _ => false,
            }
        });
    }

    /// regrtest's verbose output (`-v`) shows `method` (`Class.test_foo`) of `test` running
    /// now (sequentially), or none: a hang of that test found at the next tick names it
    /// ([`HangReport::running_method`]).
    pub fn method_running(&mut self, running: Option<(&str, &str)>) {
        self.method_running = running.map(|(test, method)| (test.to_owned(), method.to_owned()));
    }

    /// The processes the shim holds at their exit now (the files of its `held/` directory in
    /// the run directory: see `shims/src/exitcheck.rs`): it saw threads of theirs deadlocked on
    /// mutexes, which would vanish with them unseen (a `-j` worker exits as soon as its test is
    /// done). The next tick looks at each at once, whatever [`QUICK`] says, and then lists it
    /// in [`Self::take_released`].
    pub fn hold(&mut self, pids: &[i32]) {
        self.held = pids.iter().copied().collect();
    }

    /// The held processes looked at (or gone) since the last call: the shim may let them exit.
    pub fn take_released(&mut self) -> Vec<i32> {
        std::mem::take(&mut self.released)
    }

    /// What an inspection of `how.sample` proved ([`proofs`]), acted on: a hang of the process,
    /// which [`Self::found`] reports and ends (its actions returned), when its main thread is
    /// held by a proof ([`holds_main`]), or blocked with no timeout while no thread of it ran
    /// ([`main_blocked`]); else each deadlock among its other threads not reported yet, a
    /// finding of its test ([`Self::went_on`]) while the process goes on, nothing ended (`None`,
    /// as when nothing was proved). At a process's exit (`exiting`), only lock cycles, and
    /// always findings: its main thread is done.
    fn proved(
        &mut self,
        how: Proved<'_>,
        view: ProcessView,
        report: ProcessReport,
        notes: Vec<String>,
        tree: &BTreeMap<i32, ProcessSample>,
    ) -> Option<Vec<Action>> {
        let pid = how.sample.pid;
        let view = if how.exiting { diagnose::without_lost_owners(&view) } else { view };
        let reported: BTreeSet<i32> = self.tracked.get(&pid).map(|t| t.reported_stuck.clone()).unwrap_or_default();
        let mut proofs = proofs(&view);
        let fresh = |d: &Diagnosis| !d.threads.iter().all(|t| reported.contains(t));
        if !how.exiting {
            // The proof that holds the main thread; else, the main thread blocked, one not
            // reported yet, else any (a deadlock reported while the process went on still
            // proves its hang once it stops).
            let stuck = proofs.iter().position(|d| holds_main(how.sample, &view, d)).or_else(|| {
                main_blocked(how.sample, how.still)
                    .then(|| proofs.iter().position(fresh).or((!proofs.is_empty()).then_some(0)))
                    .flatten()
            });
            if let Some(stuck) = stuck {
                let diagnosis = proofs.swap_remove(stuck);
                return Some(self.found(diagnosis, vec![report], notes, how.current_test, tree, how.command));
            }
        }
        let findings = proofs.into_iter().filter(|d| fresh(d) && (!how.exiting || d.kind == DiagnosisKind::LockCycle));
        for diagnosis in findings.collect::<Vec<_>>() {
            self.went_on(diagnosis, report.clone(), notes.clone(), &how, tree);
        }
        None
    }

    /// A lock cycle through threads of several processes, each sitting still and looked at
    /// ([`Tracked::looked`]): each alone proves nothing (the owner of the mutex it waits for
    /// is alive in another), together they wait for each other for good (a test's process and
    /// the child it forked, taking two process-shared mutexes in opposite orders). The hang is
    /// the nearest process they all descend from (one of them, or the one that started them),
    /// which is ended with its descendants; the reports have every process of the cycle.
    fn across_processes(
        &mut self,
        current_test: Option<&str>,
        tree: &BTreeMap<i32, ProcessSample>,
        command: i32,
    ) -> Option<Vec<Action>> {
        let looked: Vec<&(ProcessView, ProcessReport, Vec<String>)> =
            self.tracked.values().filter_map(|t| t.looked.as_ref()).collect();
        if looked.len() < 2 {
            return None;
        }
        let views: Vec<&ProcessView> = looked.iter().map(|(view, _, _)| view).collect();
        let mut diagnosis = diagnose::cross_process_cycle(&views)?;
        let in_cycle = |view: &ProcessView| view.threads.iter().any(|t| diagnosis.threads.contains(&t.tid));
        let pids: Vec<i32> = views.iter().filter(|v| in_cycle(v)).map(|v| v.pid).collect();
        // The nearest process all of them descend from (one of them, or the process that
        // started them: ending one of two sibling children leaves the other waiting for good
        // for the mutex the ended one held).
        let first = pids.first().copied().unwrap_or(diagnosis.pid);
        let mut ancestor = Some(first);
        for _ in 0..=tree.len() {
            match ancestor {
                Some(p) if !pids.iter().all(|&q| q == p || descends_from(q, p, tree)) => {
                    ancestor = tree.get(&p).map(|sample| sample.ppid).filter(|&ppid| tree.contains_key(&ppid));
                }
                _ => break,
            }
        }
        diagnosis.pid = ancestor.unwrap_or(first);
        let mut reports = Vec::new();
        let mut notes = Vec::new();
        for (view, report, more) in &looked {
            if pids.contains(&view.pid) {
                reports.push(report.clone());
                notes.extend(more.iter().cloned());
            }
        }
        // The process that started them, when it is the hang's: its stacks too (it waits for
        // them), first.
        if !pids.contains(&diagnosis.pid) {
            if let Some(sample) = tree.get(&diagnosis.pid) {
                let (_, report, more) = self.inspect(sample, tree, Instant::now());
                reports.push(report);
                notes.extend(more);
            }
        }
        reports.sort_by_key(|r| r.pid != diagnosis.pid);
        for pid in &pids {
            if let Some(tracked) = self.tracked.get_mut(pid) {
                tracked.looked = None;
            }
        }
        Some(self.found(diagnosis, reports, notes, current_test, tree, command))
    }

    /// Report a deadlock among threads of a process that goes on (see [`Self::proved`]): as a
    /// finding of the test it formed in ([`Self::formed`]), with its native stacks; nothing is
    /// ended, and the process is watched as before. Once per test and process: a later deadlock
    /// of the same test there is a note of the first.
    fn went_on(
        &mut self,
        mut diagnosis: Diagnosis,
        report: ProcessReport,
        mut notes: Vec<String>,
        how: &Proved<'_>,
        tree: &BTreeMap<i32, ProcessSample>,
    ) {
        let pid = diagnosis.pid;
        let outside = !descends_from(pid, how.command, tree);
        let formed = if outside {
            Formed { test: None, note: None }
        } else {
            self.formed(pid, &diagnosis.threads, tree, how.command, how.current_test)
        };
        if let Some(tracked) = self.tracked.get_mut(&pid) {
            tracked.reported_stuck.extend(diagnosis.threads.iter().copied());
        }
        let earlier = self.hangs.iter_mut().find(|h| h.process_went_on && h.pid == pid && h.test == formed.test);
        if let Some(earlier) = earlier {
            let tids: Vec<String> = diagnosis.threads.iter().map(i32::to_string).collect();
            earlier.notes.push(format!(
                "process {pid}: another deadlock of {} among its threads was found later: threads {}",
                earlier.test.as_deref().unwrap_or("no test"),
                tids.join(", ")
            ));
            return;
        }
        let went_on = if how.exiting {
            format!(
                "; found as process {pid} exited (the shim held it for this look: the deadlocked threads would have \
                 ended with it unseen), after its main thread was done"
            )
        } else {
            format!(
                "; process {pid} went on (its main thread is neither in the deadlock nor blocked): the run was not \
                 stuck, and nothing was ended"
            )
        };
        diagnosis.summary.push_str(&went_on);
        if outside {
            diagnosis.summary = format!(
                "in process {pid}, outside the command's process tree (its parent exited and it was re-parented to \
                 leakcheck, the run's subreaper: a daemon a test started, which test is not known); {}",
                diagnosis.summary
            );
        }
        if is_python_process(&report, tree) {
            notes.push(format!(
                "process {pid} ({}): no Python stacks: faulthandler's dump, which would end it, was not asked for, as \
                 it went on and was not ended",
                crate::escape::truncate_with_ellipsis(&report.command, 120)
            ));
        }
        notes.extend(formed.note);
        let running_method = self.method_of(formed.test.as_deref());
        let report = HangReport {
            test: formed.test,
            pid,
            diagnosis,
            processes: vec![report],
            notes,
            running_method,
            process_went_on: true,
            after_tests: false,
            ended: Vec::new(),
        };
        self.found.push(report.clone());
        self.hangs.push(report);
    }

    /// The method the verbose output shows running, when it is `test`'s.
    fn method_of(&self, test: Option<&str>) -> Option<String> {
        let (of, method) = self.method_running.as_ref()?;
        (Some(of.as_str()) == test).then(|| method.clone())
    }

    /// Which test the deadlock among `threads` of `pid` is a finding of: a `-j` worker's (it
    /// runs one); else the test that ran while it formed, when one test ran from the moment it
    /// may have formed at the earliest (its threads' start, or the look at which one of them was
    /// not in its wait yet) to the tick its last thread was seen in its wait ([`Self::test_running`]
    /// follows the output's test); else the test that ran when it was found, with a note saying
    /// so and naming the one its threads began in (a test can leave threads deadlocked and
    /// pass: the next test then runs when they are found).
    fn formed(
        &self,
        pid: i32,
        threads: &[i32],
        tree: &BTreeMap<i32, ProcessSample>,
        command: i32,
        current_test: Option<&str>,
    ) -> Formed {
        if let Some(test) = worker_of(pid, tree, command).and_then(|w| worker_test(&tree.get(&w)?.argv)) {
            return Formed { test: Some(test), note: None };
        }
        let last = self
            .tracked
            .get(&pid)
            .and_then(|t| threads.iter().filter_map(|tid| t.wait_seen.get(tid)).max_by_key(|w| w.first));
        // When it formed at the earliest: after its last thread began, and after the last look
        // that saw a thread of it out of its wait.
        let began: Option<Instant> = threads.iter().map(|&tid| thread_start(pid, tid)).max().flatten();
        let earliest = began.max(last.and_then(|w| w.since));
        let found_in = match last {
            Some(last) => last.test.clone(),
            None => test_of(pid, tree, command, current_test),
        };
        if let (Some(earliest), Some(last)) = (earliest, last) {
            if let Some(test) = self.only_test_between(earliest, last.first) {
                return Formed { test: Some(test), note: None };
            }
        }
        if let Some(last) = last.filter(|w| w.before.as_ref() == Some(&w.test) && w.test.is_some()) {
            return Formed { test: last.test.clone(), note: None };
        }
        let name = |test: &Option<String>| test.clone().unwrap_or_else(|| "no test".to_owned());
        // The test its threads began in, else the one the look before saw, when another.
        let earlier = began
            .and_then(|at| self.test_at(at))
            .map(|test| (test, "its threads began while"))
            .or_else(|| {
                last.and_then(|w| w.before.clone()).map(|test| (test, "it formed since the look a second before, when"))
            })
            .filter(|(test, _)| *test != found_in);
        let Some(found_in) = found_in else {
            // No test ran when it was found (between two tests, after the last): the one its
            // threads began in, or that ran at the look before, if any.
            let test = earlier.and_then(|(test, _)| test);
            let note = test.as_ref().map(|t| {
                format!(
                    "the deadlock in process {pid} is given to {t}, which ran when its threads began (or at the look \
                     a second before it was found): no test ran when it was found"
                )
            });
            return Formed { test, note };
        };
        let test = Some(found_in);
        let note = test.as_ref().map(|t| match &earlier {
            Some((other, words)) => format!(
                "the deadlock in process {pid} is given to {t}, which ran when it was found; {words} {} ran: it may \
                 be that one's (a test can leave threads deadlocked and pass, and the next test runs when they are \
                 found)",
                name(other)
            ),
            None => format!(
                "the deadlock in process {pid} is given to {t}, which ran when it was found: when it formed is not \
                 known"
            ),
        });
        Formed { test, note }
    }

    /// The output's entry of [`Self::tests_seen`] at `at`. leakcheck reads a progress line
    /// after regrtest printed it, late on a loaded machine: an instant up to [`READ_LAG`]
    /// before a test's line was read, while the output named no test (before the first test,
    /// or earlier than any entry kept), is taken as that test's, past lines read with it or
    /// just before it that name none (regrtest's `Run tests sequentially`, written just before
    /// the first progress line); between two tests, regrtest prints the next one's line at
    /// once, and the earlier test's time is taken as read.
    fn entry_at(&self, at: Instant) -> Option<usize> {
        let found = self.tests_seen.iter().rposition(|(since, _)| *since <= at);
        if found.is_some_and(|i| self.tests_seen[i].1.is_some()) {
            return found;
        }
        let next = found.map_or(0, |i| i + 1);
        let read_by_then =
            self.tests_seen.iter().enumerate().skip(next).take_while(|(_, (since, _))| *since <= at + READ_LAG);
        read_by_then.filter(|(_, (_, test))| test.is_some()).map(|(i, _)| i).next().or(found)
    }

    /// The test the output named as running at `at` (`Some(None)`: none), if known.
    fn test_at(&self, at: Instant) -> Option<Option<String>> {
        self.entry_at(at).map(|i| self.tests_seen[i].1.clone())
    }

    /// The test the output named as running all the time from `from` to `to`, when one did
    /// (see [`Self::entry_at`] for a thread that began before that test's line was read).
    fn only_test_between(&self, from: Instant, to: Instant) -> Option<String> {
        let i = self.entry_at(from)?;
        let test = self.tests_seen[i].1.clone()?;
        let changed = self.tests_seen.iter().skip(i + 1).any(|(since, _)| *since <= to);
        (!changed).then_some(test)
    }

    /// The output now names `test` as running (`None`: none, between two tests or in quiet
    /// mode): where deadlocks that formed by now are placed (see [`Self::formed`]).
    pub fn test_running(&mut self, test: Option<&str>, now: Instant) {
        if self.tests_seen.back().map(|(_, t)| t.as_deref()) == Some(test) {
            return;
        }
        self.tests_seen.push_back((now, test.map(str::to_owned)));
        if self.tests_seen.len() > TESTS_SEEN {
            self.tests_seen.pop_front();
        }
    }

    /// Record a hang, ask for Python stacks, and decide what to end.
    /// `current_test`: the test the output says is running (sequential mode).
    fn found(
        &mut self,
        mut diagnosis: Diagnosis,
        processes: Vec<ProcessReport>,
        notes: Vec<String>,
        current_test: Option<&str>,
        tree: &BTreeMap<i32, ProcessSample>,
        command: i32,
    ) -> Vec<Action> {
        let target = diagnosis.pid;
        // regrtest stuck at its exit is past its tests: the last one, which the output still
        // names, ended (a thread an earlier test started and left running holds the exit).
        let at_exit = interpreter_exit(&processes, target);
        let after_tests = at_exit.is_some() && target == command;
        // A process outside the command's tree (a daemon a test started, double fork and setsid,
        // re-parented to leakcheck, the run's subreaper, when its parent exited) is no test's by
        // the output: whichever test runs now did not necessarily start it.
        let outside = !descends_from(target, command, tree);
        let test = if after_tests || outside { None } else { test_of(target, tree, command, current_test) };
        if outside {
            diagnosis.summary = format!(
                "in process {target}, outside the command's process tree (its parent exited and it was re-parented \
                 to leakcheck, the run's subreaper: a daemon a test started, which test is not known); {}",
                diagnosis.summary
            );
        }
        if let Some(at_exit) = at_exit {
            // A `-j` worker runs one test and exits: stuck at its exit, its test had ended (its
            // result written for regrtest's main process, which never reads it). The hang stays
            // the test's, as regrtest makes it (`crashed` when it is ended, `timed out` under
            // `--timeout`): see `docs/report.md`.
            let after = if target == command {
                ", after the tests"
            } else if is_own_worker(target, tree, command) {
                ", after this -j worker's test"
            } else {
                ""
            };
            diagnosis.summary = format!("at interpreter exit{after} ({}); {}", at_exit.words(), diagnosis.summary);
        }
        // A `-j` worker, or a process a test started, ends with its descendants and regrtest (or
        // the test) goes on; regrtest itself stuck ends the tree. Either way, what is ended is
        // the hang's: neither path reports it again while it is being ended.
        let pids = subtree(target, tree);
        self.ended.extend(pids.iter().copied());
        let end = if target == command { Action::EndTree(pids.clone()) } else { Action::EndProcesses(pids.clone()) };
        self.ended_command |= target == command;
        let running_method = self.method_of(test.as_deref());
        let mut report = HangReport {
            test,
            pid: diagnosis.pid,
            diagnosis,
            processes,
            notes,
            running_method,
            process_went_on: false,
            after_tests,
            ended: pids.clone(),
        };
        // Python stacks: from every process of the hang that catches SIGUSR1 (regrtest registers
        // faulthandler for it, and a process forked from regrtest inherits that). faulthandler
        // chains to SIGUSR1's default action, which ends the process: only ever ask processes
        // that are being ended anyway. The late path lists regrtest's whole subtree; when the
        // proof is in a process below it (a test's subprocess deadlocked), regrtest goes on and
        // is not asked. One at a time, descendants first, the others held stopped meanwhile:
        // regrtest must not go on when the child it waits for is ended.
        let asked: Vec<i32> = report
            .processes
            .iter()
            .rev()
            .map(|p| p.pid)
            .filter(|pid| pids.contains(pid) && procfs::catches_signal(*pid, libc::SIGUSR1))
            .collect();
        // A Python process not asked has no Python stacks: say why, rather than leave its threads
        // looking like threads that run no Python code.
        let unasked: Vec<String> = report
            .processes
            .iter()
            .filter(|p| !asked.contains(&p.pid) && is_python_process(p, tree))
            .map(|p| {
                let why = if !pids.contains(&p.pid) {
                    format!(
                        "it was not asked for faulthandler's dump: SIGUSR1 would end it (faulthandler chains to the \
                         signal's default action), and it is not ended for this hang (process {target} and its \
                         descendants are)"
                    )
                } else if procfs::ignores_signal(p.pid, libc::SIGUSR1) {
                    "it ignores SIGUSR1 (SIG_IGN), on which faulthandler would dump them".to_owned()
                } else {
                    "it has no handler for SIGUSR1 (none in its SigCgt mask in /proc/PID/status): no faulthandler \
                     dump is registered for that signal in it (regrtest registers one in its own processes, which \
                     those forked from them inherit, not in a new interpreter a test starts), and the signal would \
                     only end it, so it was not sent"
                        .to_owned()
                };
                format!("process {}{}: no Python stacks: {why}", p.pid, process_words(&report, p.pid))
            })
            .collect();
        report.notes.extend(unasked);
        self.found.push(report.clone());
        let mut askees: Vec<Askee> = report
            .processes
            .iter()
            .rev()
            .filter(|p| asked.contains(&p.pid))
            .map(|p| Askee {
                pid: p.pid,
                pthreads: thread_pointers(p.pid),
                stderr_file: open_stderr_file(p.pid).map(|file| (file, 0)),
                dump: Vec::new(),
                held: false,
                stopped: tree.get(&p.pid).is_some_and(ProcessSample::stopped),
                asked: false,
                wait: None,
            })
            .collect();
        let Some((first, rest)) = askees.split_first_mut() else {
            self.hangs.push(report);
            return vec![end];
        };
        for askee in rest {
            askee.held =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(askee.pid), nix::sys::signal::Signal::SIGSTOP)
                    .is_ok();
        }
        first.ask();
        self.pending = Some(Pending { report, end: Some(end), askees, current: 0, asked: Instant::now(), gone: false });
        Vec::new()
    }

    /// Stop `sample` and read it (see the function [`inspect`]), its sleeps remembered first.
    fn inspect(
        &mut self,
        sample: &ProcessSample,
        tree: &BTreeMap<i32, ProcessSample>,
        now: Instant,
    ) -> (ProcessView, ProcessReport, Vec<String>) {
        let silence = self.silence_of(sample.pid, tree);
        self.remember_sleeps(sample, silence, now);
        inspect(&self.symbolizer, sample, tree)
    }
}

/// How an inspection came about, for [`HangWatch::proved`].
#[derive(Debug, Clone, Copy)]
struct Proved<'a> {
    sample: &'a ProcessSample,
    /// No thread of the process ran since the tick before.
    still: bool,
    /// The shim held the process at its exit for this look.
    exiting: bool,
    current_test: Option<&'a str>,
    command: i32,
}

/// Every deadlock `view` proves ([`diagnose`]), one after the other: each with the waits of the
/// threads of those before left out ([`diagnose::without_waits_of`]), at most
/// [`MAX_DEADLOCKS`] (a test whose every `-R` repetition leaves one behind has several).
fn proofs(view: &ProcessView) -> Vec<Diagnosis> {
    let mut known: Vec<i32> = Vec::new();
    let mut proofs = Vec::new();
    for _ in 0..MAX_DEADLOCKS {
        let Some(diagnosis) = diagnose(&diagnose::without_waits_of(view, &known)) else { break };
        if diagnosis.threads.iter().all(|t| known.contains(t)) {
            break;
        }
        known.extend(diagnosis.threads.iter().copied());
        proofs.push(diagnosis);
    }
    proofs
}

/// Whether the deadlock `diagnosis` holds `sample`'s main thread (the one that runs regrtest, or
/// the test's own code in a process a test started): it is in it, waits for it through the
/// locks it waits for, or joins one of its threads (glibc's `pthread_join` waits on the
/// thread's TID word, expecting its TID).
fn holds_main(sample: &ProcessSample, view: &ProcessView, diagnosis: &Diagnosis) -> bool {
    let main = sample.pid;
    if diagnosis.threads.contains(&main) || diagnose::waits_on(view, main, &diagnosis.threads) {
        return true;
    }
    let call = sample.threads.iter().find(|t| t.tid == main).and_then(|t| t.syscall);
    let call = call.filter(procfs::Syscall::is_untimed_futex_wait);
    call.and_then(|c| c.futex_expected()).is_some_and(|e| diagnosis.threads.iter().any(|&t| u32::try_from(t) == Ok(e)))
}

/// Whether `sample`'s main thread is blocked with no timeout (an untimed futex wait) while no
/// thread of the process ran since the tick before (`still`); or is gone and nothing ran. A
/// main thread that runs, or waits for time, goes on: a deadlock among the other threads is
/// then a finding of the test, not a hang of the run.
fn main_blocked(sample: &ProcessSample, still: bool) -> bool {
    match sample.threads.iter().find(|t| t.tid == sample.pid) {
        Some(main) => still && main.syscall.is_some_and(|s| s.is_untimed_futex_wait()),
        None => still,
    }
}

/// Whether the untimed futex wait `call` of a thread waits for something one of `sleepers` (TIDs
/// of its process, each in one sleep) may end, as far as the call and the process's memory show
/// it: `pthread_join` of a sleeper (glibc waits on the thread's TID word, expecting its TID); a
/// glibc mutex a sleeper owns (the owner TID after the lock word and its count), or a
/// priority-inheritance one (its lock word holds the owner); or a wait on a word expected to
/// be 0, a semaphore's or a condition variable's (a Python lock, `Thread.join` of a Python
/// thread), which records no holder and any thread may post, a sleeper once it wakes too. Any
/// other lock (malloc's, another thread's mutex, one whose word cannot be read) is not shown
/// to be a sleeper's.
fn held_by_sleeper(memory: &dyn ProcessMemory, call: procfs::Syscall, sleepers: &[i32]) -> bool {
    const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
    const MUTEX_OWNER: u64 = 8;
    let Some(address) = call.futex_address() else { return false };
    let is_sleeper = |tid: u32| sleepers.iter().any(|&s| u32::try_from(s) == Ok(tid));
    if call.is_futex_lock_pi() {
        return memory.read_u32(address).is_some_and(|word| is_sleeper(word & FUTEX_TID_MASK));
    }
    match call.futex_expected() {
        Some(0) => true,
        Some(expected) if is_sleeper(expected) => true,
        Some(_) => address.checked_add(MUTEX_OWNER).and_then(|owner| memory.read_u32(owner)).is_some_and(is_sleeper),
        None => false,
    }
}

/// Every thread's native stack of `pid`, stopped for the time it takes (a one-off inspection,
/// as the watch does it, for benchmarks and tools). `None` if the process is gone.
pub fn snapshot(pid: i32, symbolizer: &Symbolizer) -> Option<(ProcessReport, Vec<String>)> {
    let mut sample = procfs::sample_process(pid)?;
    sample.load_details();
    let (_, report, notes) = inspect(symbolizer, &sample, &BTreeMap::new());
    Some((report, notes))
}

/// Stop `sample`, unwind and symbolize its threads, read its mutexes' owners.
fn inspect(
    symbolizer: &Symbolizer,
    sample: &ProcessSample,
    tree: &BTreeMap<i32, ProcessSample>,
) -> (ProcessView, ProcessReport, Vec<String>) {
    let mut notes = Vec::new();
    let mut threads = Vec::new();
    let mut views = Vec::new();
    let stopped = Stopped::attach(sample.pid);
    let mut stacks = stopped.as_ref().ok().map(|_| ProcessStacks::for_process(sample.pid));
    let memory = LiveMemory::new(sample.pid);
    match &stopped {
        Err(err) => notes.push(format!("process {}: no native stacks: {err}", sample.pid)),
        Ok(stopped) => {
            for &tid in stopped.unstopped() {
                let wchan = std::fs::read_to_string(format!("/proc/{}/task/{tid}/wchan", sample.pid))
                    .ok()
                    .filter(|w| !w.is_empty() && w != "0")
                    .map(|w| format!(" (kernel function {})", w.trim()))
                    .unwrap_or_default();
                notes.push(format!(
                    "process {}, thread {tid}: in an uninterruptible wait in the kernel{wchan}, which cannot be \
                     stopped to read its stack: e.g. the parent of a vfork() child, until the child execs or exits, \
                     or a stuck disk or network filesystem read",
                    sample.pid
                ));
            }
        }
    }
    let mut maps = None;
    for thread in &sample.threads {
        // The innermost addresses (what the diagnosis reads), the frames to report (the
        // outermost after them when the stack was cut), and the cut.
        let (addresses, frames, all_frames, truncated) = match (&stopped, stacks.as_mut()) {
            (Ok(stopped), Some(stacks)) => stopped
                .registers(thread.tid)
                .map(|regs| {
                    let unwound = stacks.unwind(regs, &memory);
                    let frames = stacks.symbolize(symbolizer, &unwound.inner);
                    let mut all = frames.clone();
                    let truncated = (unwound.omitted > 0).then_some(Truncated {
                        at: frames.len(),
                        omitted: unwound.omitted,
                        outermost: unwound.reached_end,
                    });
                    all.extend(stacks.symbolize(symbolizer, &unwound.outer));
                    (unwound.inner, frames, all, truncated)
                })
                .unwrap_or_default(),
            _ => Default::default(),
        };
        let wait = thread.syscall.filter(procfs::Syscall::is_untimed_futex_wait);
        let mut view = ThreadView {
            tid: thread.tid,
            state: thread.state,
            frames: Vec::new(),
            futex: wait.and_then(|s| s.futex_address()),
            mutex_owner: None,
            lock_refused: false,
            gil_futex: None,
            foreign_owner: None,
        };
        if diagnose::waits_for_gil(&frames) {
            view.gil_futex = stopped.as_ref().ok().and_then(|s| s.futex_wait(thread.tid));
        }
        if let (Some(call), Some(address)) = (wait, view.futex) {
            let lock = Lock { memory: &memory, threads: &sample.threads };
            if call.is_futex_lock_pi() {
                view.mutex_owner = lock.pi_owner(address, call.futex_private());
                if view.mutex_owner.is_none() && !call.futex_private() {
                    view.foreign_owner = lock.shared_owner(address, true);
                }
            } else if let Some(function) = diagnose::mutex_lock_function(&frames, call.futex_expected()) {
                let unnamed = frames.first().is_some_and(diagnose::unnamed_in_c_library);
                if call.futex_expected() != Some(0) {
                    view.mutex_owner = lock.mutex_owner(address);
                    if view.mutex_owner.is_none() {
                        view.foreign_owner = lock.shared_owner(address, false);
                    }
                    // Told from `pthread_cond_wait`'s own wait by the value waited for alone
                    // (see `diagnose::mutex_lock_function`): the lock word must still say so.
                    if unnamed
                        && function == diagnose::COND_RELOCK_FUNCTION
                        && memory.read_u32(address) != Some(diagnose::LLL_LOCKED_WITH_WAITERS)
                    {
                        view.mutex_owner = None;
                    }
                    // A private mutex in shared memory, held by a live thread of another process:
                    // its owner is not gone (see `diagnose::foreign_wait`).
                    if let Some(owner) = view.mutex_owner.filter(|o| !sample.threads.iter().any(|t| t.tid == *o)) {
                        let maps = maps.get_or_insert_with(|| {
                            let text =
                                std::fs::read_to_string(format!("/proc/{}/maps", sample.pid)).unwrap_or_default();
                            stacks::parse_maps(&text)
                        });
                        let shared = maps.iter().any(|m| m.shared && m.range.contains(&address));
                        if let Some(process) = thread_group(owner).filter(|_| shared) {
                            view.mutex_owner = None;
                            let process_shared = !call.futex_private();
                            view.foreign_owner =
                                Some(diagnose::ForeignOwner { tid: owner, pid: process, process_shared });
                        }
                    }
                } else if function == PARKING_LOCK_FUNCTION || unnamed {
                    // (Without the C library's symbols the park is an unnamed frame under
                    // `pthread_mutex_lock`.)
                    // No mutex is waited for with an unlocked word: glibc's park, on a word of
                    // the thread's own stack, after the kernel refused it a PI mutex.
                    let maps = maps.get_or_insert_with(|| {
                        let text = std::fs::read_to_string(format!("/proc/{}/maps", sample.pid)).unwrap_or_default();
                        stacks::parse_maps(&text)
                    });
                    let stopped = stopped.as_ref().ok();
                    let sp = stopped.and_then(|s| s.registers(thread.tid)).map(|r| r.sp);
                    if sp.is_some_and(|sp| same_mapping(maps, sp, address)) {
                        let parked = match (stopped, stacks.as_ref()) {
                            (Some(stopped), Some(stacks)) => {
                                let registers = stopped.dwarf_registers(thread.tid);
                                let frame = ThreadFrames { symbolizer, stacks, memory: &memory, addresses: &addresses };
                                registers.and_then(|r| frame.parked_mutex(r, &lock))
                            }
                            _ => None,
                        };
                        match parked {
                            Some((mutex, owner)) => {
                                view.futex = Some(mutex);
                                view.mutex_owner = owner;
                                view.lock_refused = true;
                            }
                            None => notes.push(format!(
                                "process {}, thread {}: glibc parks it for good in {PARKING_LOCK_FUNCTION} after the \
                                 kernel refused it a priority-inheritance mutex (EDEADLK: a lock cycle; ESRCH: the \
                                 owner is gone), and which mutex could not be read from its frame (that needs the \
                                 DWARF of the C library: its debug package, libc6-dbg on Debian)",
                                sample.pid, thread.tid
                            )),
                        }
                    }
                }
            }
        }
        // A wait that the C library's missing symbols keep from being read: said, not silent.
        if let Some((call, address)) = wait.zip(view.futex) {
            let expected = call.futex_expected();
            // Not a join, which holds no lock: glibc waits on a word of the joined thread's
            // `struct pthread`, at the top of that thread's stack (its TID up to 2.40, expecting
            // the TID; 2.41 waits on another word of it, expecting 2). The stack a word is on is
            // the one of the nearest stack pointer below it (stacks grow down; not the mapping:
            // adjacent thread stacks are one mapping where glibc guards them with madvise).
            let unexplained = view.mutex_owner.is_none() && view.foreign_owner.is_none() && !view.lock_refused;
            let join = || {
                const MAX_STACK: u64 = 64 << 20;
                let sps = sample.threads.iter().filter_map(|t| {
                    let sp = stopped.as_ref().ok()?.registers(t.tid)?.sp;
                    (sp <= address && address - sp < MAX_STACK).then_some((sp, t.tid))
                });
                expected.is_some_and(|e| sample.threads.iter().any(|t| u32::try_from(t.tid) == Ok(e)))
                    || sps.max().is_some_and(|(_, tid)| tid != thread.tid)
            };
            if unexplained && diagnose::unnamed_c_library_wait(&frames, expected) && !join() {
                notes.push(format!(
                    "process {}, thread {}: waits on the futex at {address:#x} in a function of the C library that \
                     its symbol table does not name (its debug symbols are not installed: libc6-dbg on Debian), so \
                     which lock it waits for and who holds it are unknown: a lock cycle or a lost lock owner through \
                     it cannot be shown",
                    sample.pid, thread.tid
                ));
            }
        }
        view.frames = frames;
        views.push(view);
        threads.push(ThreadReport {
            tid: thread.tid,
            state: thread.state.to_string(),
            frames: all_frames,
            python_frames: Vec::new(),
            python_frames_truncated: false,
            truncated,
        });
    }
    // Where each mutex waited for is, to name it: a global's symbol, the heap, a thread's stack.
    let places = match (&stopped, &stacks) {
        (Ok(stopped), Some(stacks)) => {
            let named = views.iter().filter(|v| v.mutex_owner.is_some() || v.foreign_owner.is_some() || v.lock_refused);
            let addresses: BTreeSet<u64> = named.filter_map(|v| v.futex).collect();
            if addresses.is_empty() {
                BTreeMap::new()
            } else {
                let maps = maps.get_or_insert_with(|| {
                    let text = std::fs::read_to_string(format!("/proc/{}/maps", sample.pid)).unwrap_or_default();
                    stacks::parse_maps(&text)
                });
                let sps: Vec<(u64, i32)> =
                    sample.threads.iter().filter_map(|t| Some((stopped.registers(t.tid)?.sp, t.tid))).collect();
                let mut places = BTreeMap::new();
                for address in addresses {
                    if let Some(place) = lock_place(address, maps, stacks, symbolizer, &sps, sample.pid) {
                        places.insert(address, place);
                    }
                }
                places
            }
        }
        _ => BTreeMap::new(),
    };
    // Who holds the GIL, read while the process is still stopped, when a thread waits for it.
    let gil = match (&stopped, &stacks) {
        (Ok(_), Some(stacks)) if views.iter().any(|v| diagnose::waits_for_gil(&v.frames)) => {
            gil::read(&memory, stacks.modules(), symbolizer)
        }
        _ => None,
    };
    drop(stopped);
    let parent = tree.get(&sample.ppid);
    let forked_child = parent.is_some_and(|p| p.exe == sample.exe && p.argv == sample.argv);
    let view = ProcessView { pid: sample.pid, forked_child, threads: views, gil, places };
    let report = ProcessReport { pid: sample.pid, command: sample.argv.join(" "), threads };
    (view, report, notes)
}

/// Where the lock at `address` of process `pid` is ([`LockPlace`]): a global of a module, named
/// by the symbol table's object that covers it (the nearest module below it: its `.bss` may lie
/// past the file's own mappings, in anonymous memory); else by the mapping it is in: the
/// heap (`[heap]`, or anonymous memory holding no thread's stack: malloc's other arenas and its
/// large blocks, pymalloc's arenas), a thread's stack (the mapping holding the nearest stack
/// pointer below it, `sps` as `(sp, tid)`: stacks grow down; `[stack]` is the main thread's),
/// or a file's mapping no symbol covers (or the anonymous rest of a module's `.bss` right after
/// it).
fn lock_place(
    address: u64,
    maps: &[stacks::Mapping],
    stacks: &ProcessStacks,
    symbolizer: &Symbolizer,
    sps: &[(u64, i32)],
    pid: i32,
) -> Option<LockPlace> {
    let module = stacks.modules().iter().filter(|m| m.range.start <= address).max_by_key(|m| m.range.start);
    if let Some(module) = module {
        let at = address.wrapping_sub(module.bias);
        if let Some((name, start, _)) = symbolizer.data_symbol(&module.path, at) {
            let symbol = if at == start { name } else { format!("{name}+{:#x}", at - start) };
            let module = Some(module.path.display().to_string());
            return Some(LockPlace { memory: "global", symbol: Some(symbol), module, thread: None });
        }
    }
    let mapping = maps.iter().find(|m| m.range.contains(&address))?;
    let place = |memory: &'static str| LockPlace { memory, symbol: None, module: None, thread: None };
    // `MAP_SHARED | MAP_ANONYMOUS` (the kernel backs it with a deleted `/dev/zero`) or System V
    // shared memory: no file of anybody's, memory the processes share.
    let anonymous_file = mapping.path.as_deref().is_some_and(|p| p == "/dev/zero (deleted)" || p.starts_with("/SYSV"));
    if mapping.shared && (anonymous_file || mapping.path.is_none() && mapping.label.is_none()) {
        return Some(place("shared"));
    }
    if let Some(path) = &mapping.path {
        return Some(LockPlace { module: Some(path.clone()), ..place("mapped") });
    }
    match mapping.label.as_deref() {
        Some("[heap]") => return Some(place("heap")),
        Some("[stack]") => return Some(LockPlace { thread: Some(pid), ..place("stack") }),
        _ => {}
    }
    // The rest of a module's `.bss`, right after its file's last mapping.
    let bss_of =
        stacks.modules().iter().find(|m| m.range.end == mapping.range.start).filter(|_| mapping.label.is_none());
    if let Some(module) = bss_of {
        return Some(LockPlace { module: Some(module.path.display().to_string()), ..place("mapped") });
    }
    let below = sps.iter().filter(|(sp, _)| *sp <= address && mapping.range.contains(sp)).max_by_key(|(sp, _)| *sp);
    match below {
        Some(&(_, tid)) => Some(LockPlace { thread: Some(tid), ..place("stack") }),
        None if mapping.label.is_none() => Some(place("heap")),
        None => Some(place("anonymous")),
    }
}

/// Whether `process` runs a Python interpreter: its native frames show CPython's main or eval
/// loop, or (without stacks) its program is named `python...`.
fn is_python_process(process: &ProcessReport, tree: &BTreeMap<i32, ProcessSample>) -> bool {
    const INTERPRETER: &[&str] = &["_PyEval_EvalFrameDefault", "Py_RunMain", "Py_BytesMain", "Py_FinalizeEx"];
    let frames = process.threads.iter().flat_map(|t| &t.frames);
    let interpreter = frames.filter_map(|f| f.function.as_deref()).any(|f| INTERPRETER.contains(&f));
    let named = tree
        .get(&process.pid)
        .and_then(|p| p.argv.first())
        .and_then(|arg0| std::path::Path::new(arg0).file_name())
        .is_some_and(|name| name.to_string_lossy().starts_with("python"));
    interpreter || named
}

/// The process (thread group) of the live thread `tid`, from `/proc/TID/status`; `None` when
/// it is gone (or a zombie).
fn thread_group(tid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    let field = |name: &str| procfs::status_field(&status, name);
    if field("State:").is_some_and(|s| s.starts_with('Z') || s.starts_with('X')) {
        return None;
    }
    field("Tgid:")?.parse().ok()
}

/// The lock function in which glibc parks a thread for good when the kernel refuses it a
/// priority-inheritance mutex (`FUTEX_LOCK_PI` fails with `EDEADLK`, a deadlock the kernel
/// saw, or `ESRCH`, an owner gone): `while (1) futex_wait (&(int){0}, 0, ...)`, a wait on a
/// word of its own stack (glibc 2.36 `nptl/pthread_mutex_lock.c`; the same since 2.x).
const PARKING_LOCK_FUNCTION: &str = "__pthread_mutex_lock_full";

/// Whether `a` and `b` are in the same mapping (a thread's stack pointer and a futex: the futex
/// is on that thread's stack).
fn same_mapping(maps: &[stacks::Mapping], a: u64, b: u64) -> bool {
    maps.iter().any(|m| m.range.contains(&a) && m.range.contains(&b))
}

/// glibc's `pthread_mutex_t` on x86-64: the lock word, `__count`, `__owner` (a TID),
/// `__nusers`, `__kind`.
const MUTEX_OWNER: u64 = 8;
const MUTEX_KIND: u64 = 16;
/// The bits of `__kind` glibc uses: the type (0-3), robust (16), priority inheritance (32),
/// priority protection (64), process-shared (128), elision (256, 512). Anything else: no mutex.
const MUTEX_KIND_BITS: u32 = 0x3 | 16 | 32 | 64 | 128 | 256 | 512;
const MUTEX_PRIO_INHERIT: u32 = 32;
const MUTEX_PSHARED: u32 = 128;
/// The owner's TID in a priority-inheritance futex word (the kernel's protocol).
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;
/// No TID is larger (the kernel's `PID_MAX_LIMIT` on 64-bit systems).
const PID_MAX_LIMIT: u32 = 4 << 20;

/// Reads the owners of the locks a stopped process's threads wait for.
struct Lock<'a> {
    memory: &'a dyn ProcessMemory,
    /// The threads of the process.
    threads: &'a [procfs::ThreadSample],
}

impl Lock<'_> {
    /// The owner TID of the glibc mutex at `address`, unless it is none, or no mutex (a `__kind`
    /// glibc never sets, a word not locked, an owner no TID can be), or a process-shared mutex
    /// owned by a live thread of another process (waiting for it proves nothing here).
    fn mutex_owner(&self, address: u64) -> Option<i32> {
        let (owner, shared) = self.recorded_owner(address)?;
        self.live_owner(owner, shared)
    }

    /// What the glibc mutex at `address` records of its owner, and whether it is
    /// process-shared; None when it is no mutex (a `__kind` glibc never sets) or not locked
    /// (unlocked since: the waiter is about to be woken).
    fn recorded_owner(&self, address: u64) -> Option<(u32, bool)> {
        let kind = self.memory.read_u32(address + MUTEX_KIND)?;
        if kind & !MUTEX_KIND_BITS != 0 {
            return None;
        }
        let word = self.memory.read_u32(address)?;
        if word == 0 {
            return None;
        }
        let owner = if kind & MUTEX_PRIO_INHERIT != 0 {
            word & FUTEX_TID_MASK
        } else {
            self.memory.read_u32(address + MUTEX_OWNER)?
        };
        Some((owner, kind & MUTEX_PSHARED != 0))
    }

    /// The owner TID of the priority-inheritance futex at `address` (`FUTEX_LOCK_PI`: the word
    /// holds it), unless it is none, or (`private` false: a process-shared futex) a live thread of
    /// another process.
    fn pi_owner(&self, address: u64, private: bool) -> Option<i32> {
        let word = self.memory.read_u32(address)?;
        self.live_owner(word & FUTEX_TID_MASK, !private)
    }

    /// The live thread of another process that holds the process-shared mutex (or, `pi`, the
    /// process-shared priority-inheritance futex) at `address`, which [`Self::mutex_owner`] and
    /// [`Self::pi_owner`] leave out: waiting for it proves nothing alone, but a cycle through
    /// several processes does (`diagnose::cross_process_cycle`).
    fn shared_owner(&self, address: u64, pi: bool) -> Option<diagnose::ForeignOwner> {
        let owner = if pi {
            self.memory.read_u32(address)? & FUTEX_TID_MASK
        } else {
            let (owner, shared) = self.recorded_owner(address)?;
            shared.then_some(owner)?
        };
        let tid = possible_tid(owner).filter(|&tid| !self.threads.iter().any(|t| t.tid == tid))?;
        Some(diagnose::ForeignOwner { tid, pid: thread_group(tid)?, process_shared: true })
    }

    /// `owner` if it can be a TID and, for a lock `shared` between processes, is not a live
    /// thread elsewhere.
    fn live_owner(&self, owner: u32, shared: bool) -> Option<i32> {
        let owner = possible_tid(owner)?;
        let elsewhere =
            !self.threads.iter().any(|t| t.tid == owner) && std::path::Path::new(&format!("/proc/{owner}")).exists();
        (!(shared && elsewhere)).then_some(owner)
    }
}

/// A lock's owner word as a TID, when it can be one (not 0, at most the kernel's PID limit).
fn possible_tid(owner: u32) -> Option<i32> {
    (owner != 0 && owner <= PID_MAX_LIMIT).then_some(owner as i32)
}

/// A stopped thread's frames, to read a function's parameter from.
struct ThreadFrames<'a> {
    symbolizer: &'a Symbolizer,
    stacks: &'a ProcessStacks,
    memory: &'a LiveMemory,
    addresses: &'a [stacks::StackAddress],
}

impl ThreadFrames<'_> {
    /// For a thread glibc parked in [`PARKING_LOCK_FUNCTION`]: the priority-inheritance mutex it
    /// was locking (its `mutex` parameter, read through the DWARF of the C library) and the
    /// mutex's owner, as [`Lock::mutex_owner`] reads it.
    fn parked_mutex(&self, registers: remote::DwarfRegisters, lock: &Lock<'_>) -> Option<(u64, Option<i32>)> {
        let frame = self.addresses.iter().position(|address| {
            self.stacks.symbolize(self.symbolizer, std::slice::from_ref(address)).iter().any(|f| {
                f.function.as_deref().map(|n| n.strip_prefix("__GI_").unwrap_or(n)) == Some(PARKING_LOCK_FUNCTION)
            })
        })?;
        let query = (frame, PARKING_LOCK_FUNCTION, "mutex");
        let mutex =
            params::parameter_value(self.symbolizer, self.stacks, self.memory, registers, self.addresses, query)?;
        // A priority-inheritance mutex, or this is not the park it looked like.
        let kind = self.memory.read_u32(mutex.checked_add(MUTEX_KIND)?)?;
        if kind & !MUTEX_KIND_BITS != 0 || kind & MUTEX_PRIO_INHERIT == 0 {
            return None;
        }
        Some((mutex, lock.mutex_owner(mutex)))
    }
}

/// Where in the interpreter's exit its main thread is, as its native frames show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InterpreterExit {
    /// `wait_for_thread_shutdown`, which calls `threading._shutdown`: it waits for every
    /// non-daemon thread to end.
    ThreadShutdown,
    /// `_PyAtExit_Call`/`atexit_callfuncs`: an `atexit` handler runs.
    AtexitHandler,
    /// Elsewhere in `Py_FinalizeEx`.
    Finalizing,
}

impl InterpreterExit {
    /// What the summary says of it, in parentheses after `at interpreter exit`.
    fn words(self) -> &'static str {
        match self {
            Self::ThreadShutdown => {
                "the main thread is in Py_FinalizeEx's wait_for_thread_shutdown, where threading._shutdown waits \
                 for every non-daemon thread to end"
            }
            Self::AtexitHandler => "the main thread runs an atexit handler, called by Py_FinalizeEx",
            Self::Finalizing => "Py_FinalizeEx",
        }
    }

    /// From a main thread's native frames, innermost first: `None` unless `Py_FinalizeEx`
    /// (or its `wait_for_thread_shutdown`) is among them; the innermost of the parts it knows
    /// says which.
    fn of(frames: &[Frame]) -> Option<Self> {
        let finalizing =
            frames.iter().any(|f| matches!(f.function.as_deref(), Some("Py_FinalizeEx" | "wait_for_thread_shutdown")));
        if !finalizing {
            return None;
        }
        let part = frames.iter().find_map(|f| match f.function.as_deref()? {
            "wait_for_thread_shutdown" => Some(Self::ThreadShutdown),
            "atexit_callfuncs" | "_PyAtExit_Call" | "atexit_run_exitfuncs" => Some(Self::AtexitHandler),
            _ => None,
        });
        Some(part.unwrap_or(Self::Finalizing))
    }
}

/// Where in the interpreter's exit the main thread of `pid` is, as `reports` show it; `None`
/// when it is not finalizing the interpreter.
fn interpreter_exit(reports: &[ProcessReport], pid: i32) -> Option<InterpreterExit> {
    reports
        .iter()
        .filter(|r| r.pid == pid)
        .flat_map(|r| &r.threads)
        .find(|t| t.tid == pid)
        .and_then(|t| InterpreterExit::of(&t.frames))
}

/// Busy threads (`(pid, tid)`, see [`HangWatch::busy_threads`]) in words (`thread 12 of process 10
/// was running (state R) and gaining CPU time`), if any.
fn busy_words(busy: &[(i32, i32)]) -> Option<String> {
    let words = |(pid, tid): &(i32, i32)| format!("{tid} of process {pid}");
    match busy {
        [] => None,
        [one] => Some(format!("thread {} was running (state R) and gaining CPU time", words(one))),
        many => {
            let listed: Vec<String> = many.iter().map(words).collect();
            Some(format!("threads {} were running (state R) and gaining CPU time", listed.join(", ")))
        }
    }
}

/// `d` as the command line gives `--grace`: `2 s`, `0.5 s`.
fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// The test process `pid` works for: in a `-j` worker or below one, the test named on the
/// worker's command line; else the one the output says is running.
fn test_of(pid: i32, tree: &BTreeMap<i32, ProcessSample>, command: i32, current_test: Option<&str>) -> Option<String> {
    worker_of(pid, tree, command)
        .and_then(|worker| worker_test(&tree.get(&worker)?.argv))
        .or_else(|| current_test.map(str::to_owned))
}

/// Whether `pid` is `command` or below it in `tree`.
fn descends_from(pid: i32, command: i32, tree: &BTreeMap<i32, ProcessSample>) -> bool {
    let mut current = pid;
    for _ in 0..tree.len() + 1 {
        if current == command {
            return true;
        }
        match tree.get(&current) {
            Some(sample) if sample.ppid != current => current = sample.ppid,
            _ => return false,
        }
    }
    false
}

/// When the sleep or timed wait `syscall` of `pid` ends at the latest: an absolute deadline is
/// compared with the same clock now; a duration counts from `now`, when it was first seen (it
/// began earlier).
fn sleep_end(pid: i32, syscall: procfs::Syscall, now: Instant) -> Option<Instant> {
    let memory = LiveMemory::new(pid);
    // A `timespec` or a `timeval` in the waiting process: seconds, then the fraction in `unit`s.
    let read = |address: u64, unit: u64| -> Option<Duration> {
        let (seconds, fraction) = (memory.read_u64(address)?, memory.read_u64(address.checked_add(8)?)?);
        let nanos = fraction.checked_mul(unit).filter(|&n| n < 1_000_000_000)?;
        Some(Duration::new(seconds, u32::try_from(nanos).ok()?))
    };
    let remaining = match syscall.timeout()? {
        procfs::Timeout::Timespec { address, absolute_clock: None } => read(address, 1)?,
        procfs::Timeout::Timespec { address, absolute_clock: Some(clock) } => {
            let clock_now = nix::time::clock_gettime(nix::time::ClockId::from_raw(clock)).ok()?;
            let clock_now = Duration::new(clock_now.tv_sec().try_into().ok()?, clock_now.tv_nsec().try_into().ok()?);
            read(address, 1)?.saturating_sub(clock_now)
        }
        procfs::Timeout::Timeval { address } => read(address, 1000)?,
        procfs::Timeout::Millis(millis) => Duration::from_millis(millis),
    };
    now.checked_add(remaining)
}

/// The `-j` workers of `tree` (see [`worker_test`]), in pid order.
fn worker_pids(tree: &BTreeMap<i32, ProcessSample>) -> Vec<i32> {
    tree.values().filter(|p| worker_test(&p.argv).is_some()).map(|p| p.pid).collect()
}

/// The processes a no-progress verdict may be about, in pid order: `-j` workers (`workers`, see
/// [`worker_pids`]: each runs one test file); regrtest itself when it has no worker.
fn stuck_processes(tree: &BTreeMap<i32, ProcessSample>, workers: &[i32], command: i32) -> Vec<i32> {
    if workers.is_empty() {
        return if tree.contains_key(&command) { vec![command] } else { Vec::new() };
    }
    workers.to_vec()
}

/// `pid` and every process below it.
fn subtree(pid: i32, tree: &BTreeMap<i32, ProcessSample>) -> Vec<i32> {
    let mut pids = vec![pid];
    let mut i = 0;
    while i < pids.len() {
        let parent = pids[i];
        pids.extend(tree.values().filter(|p| p.ppid == parent).map(|p| p.pid));
        i += 1;
    }
    pids
}

/// When thread `tid` of `pid` began at the latest: its `/proc` start time is in whole clock
/// ticks since boot (rounded down), read against `CLOCK_BOOTTIME`, the clock it counts in, so
/// that the thread began at this instant or up to a tick later, never before.
fn thread_start(pid: i32, tid: i32) -> Option<Instant> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let start_ticks: u64 = rest.split_ascii_whitespace().nth(19)?.parse().ok()?;
    let now = Instant::now();
    let boot = nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME).ok()?;
    let boot = Duration::new(boot.tv_sec().try_into().ok()?, boot.tv_nsec().try_into().ok()?);
    let started = Duration::from_secs_f64(start_ticks as f64 / clock_ticks_per_second());
    now.checked_sub(boot.checked_sub(started)?)
}

/// How long `pid` has existed.
fn procfs_age(pid: i32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let start_ticks: u64 = rest.split_ascii_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime").ok()?.split_ascii_whitespace().next()?.parse().ok()?;
    Some(Duration::from_secs_f64((uptime - start_ticks as f64 / clock_ticks_per_second()).max(0.0)))
}

/// The unit of `/proc`'s CPU and start times (`_SC_CLK_TCK`, usually 100).
fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64
}

/// The `-j` worker `pid` belongs to (itself or an ancestor below the command), if any.
fn worker_of(pid: i32, tree: &BTreeMap<i32, ProcessSample>, command: i32) -> Option<i32> {
    let mut current = pid;
    while current != command {
        let sample = tree.get(&current)?;
        if is_own_worker(current, tree, command) {
            return Some(current);
        }
        current = sample.ppid;
    }
    None
}

/// Whether `argv` is an interpreter running regrtest (`python3.11-dbg -m test ...`, a `-j`
/// worker too): a wrapper that stays (`timeout 600 python -m test ...`) has regrtest's
/// arguments too, but is no interpreter.
pub fn interpreter_runs_regrtest(argv: &[String]) -> bool {
    let interpreter = argv
        .first()
        .and_then(|arg0| std::path::Path::new(arg0).file_name())
        .is_some_and(|name| name.to_string_lossy().starts_with("python"));
    interpreter && crate::regrtest::is_regrtest_command(argv)
}

/// Whether `pid` is a `-j` worker of the run's own regrtest: one whose main is the only
/// regrtest process between it and the command (`command` included), not one of a regrtest
/// that a test started (`test_regrtest`, a test running `python -m test` in a subprocess).
fn is_own_worker(pid: i32, tree: &BTreeMap<i32, ProcessSample>, command: i32) -> bool {
    let Some(sample) = tree.get(&pid).filter(|s| worker_test(&s.argv).is_some()) else { return false };
    let mut regrtests = 0;
    let mut current = sample.ppid;
    while let Some(ancestor) = tree.get(&current) {
        if interpreter_runs_regrtest(&ancestor.argv) {
            regrtests += 1;
        }
        if current == command {
            break;
        }
        current = ancestor.ppid;
    }
    regrtests == 1
}

/// The tests that the run's own `-j` workers below `root` run now: workers whose regrtest main
/// is the only regrtest process between them and `command`.
pub fn own_worker_tests(root: i32, command: i32) -> Vec<String> {
    let mut tree = procfs::sample_tree(root);
    for process in tree.values_mut() {
        process.load_argv();
    }
    tree.values().filter(|p| is_own_worker(p.pid, &tree, command)).filter_map(|p| worker_test(&p.argv)).collect()
}

/// The tests that regrtest `-j` workers among `pids` run, of those orphaned: re-parented to
/// `root` (the run's child subreaper) because their regrtest main process is gone. Workers of
/// a regrtest run by a test (test_regrtest) have that regrtest as parent while it lives.
pub fn orphaned_worker_tests(root: i32, pids: &[i32]) -> Vec<String> {
    let orphans = pids.iter().filter_map(|&pid| procfs::sample_process(pid)).filter(|p| p.ppid == root);
    orphans
        .filter_map(|mut process| {
            process.load_argv();
            worker_test(&process.argv)
        })
        .collect()
}

/// The test a regrtest `-j` worker runs, from its command line: 3.11's `--worker-args
/// '[{...}, "test_x"]'`, 3.12+'s `-m test.libregrtest.worker '{"tests": ["test_x"], ...}'`
/// (whose other keys include `"test_dir"`: the JSON is read, not searched).
pub fn worker_test(argv: &[String]) -> Option<String> {
    let position = argv
        .iter()
        .position(|a| a == "--worker-args" || a == "--worker-json" || a.starts_with("test.libregrtest.worker"))?;
    argv[position + 1..].iter().find_map(|arg| {
        match serde_json::from_str::<serde_json::Value>(arg).ok()? {
            // 3.11: [namespace, test_name].
            serde_json::Value::Array(items) => items.last()?.as_str().map(str::to_owned),
            // 3.12+: a WorkerRunTests, one test per worker.
            serde_json::Value::Object(fields) => fields.get("tests")?.as_array()?.first()?.as_str().map(str::to_owned),
            _ => None,
        }
    })
}

/// Whether `pid` is alive: neither gone nor a zombie (a process that faulthandler's chained
/// SIGUSR1 ended is a zombie until its parent reaps it).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| procfs::parse_stat(&stat))
        .is_some_and(|(state, _, _)| !matches!(state, 'Z' | 'X'))
}

/// Each thread's thread pointer (x86_64: `fs_base`, which is glibc's `pthread_t`) -> tid, read
/// while the process is stopped, so that faulthandler's "Thread 0x..." lines land on tids.
fn thread_pointers(pid: i32) -> BTreeMap<u64, i32> {
    let mut map = BTreeMap::new();
    #[cfg(target_arch = "x86_64")]
    if let Ok(stopped) = Stopped::attach(pid) {
        for &tid in stopped.threads() {
            if let Ok(regs) = nix::sys::ptrace::getregs(nix::unistd::Pid::from_raw(tid)) {
                map.insert(regs.fs_base, tid);
            }
        }
    }
    map
}

/// A process's stderr, when it is a regular file (a `-j` worker writes to a temporary file that
/// regrtest prints when the worker is done). A pipe is not opened: it is ours, and what the
/// process writes there reaches [`HangWatch::output`].
fn open_stderr_file(pid: i32) -> Option<std::fs::File> {
    let path = format!("/proc/{pid}/fd/2");
    std::fs::metadata(&path).ok().filter(|m| m.is_file())?;
    std::fs::File::open(path).ok()
}

/// The lines of faulthandler's dump in a stderr file, written since it was `from` bytes long
/// (at most its last MiB).
fn read_dump(mut file: std::fs::File, from: u64) -> Vec<String> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(from.max(len.saturating_sub(1 << 20))));
    let mut bytes = Vec::new();
    let _ = file.take(1 << 20).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).lines().filter(|l| is_dump_line(l.as_bytes())).map(str::to_owned).collect()
}

/// What a hang's note says of `askee`, a process asked for faulthandler's dump that gave none:
/// how the wait for it ended, and what that says of its SIGUSR1.
fn no_dump_note(report: &HangReport, askee: &Askee) -> String {
    let pid = askee.pid;
    let process = process_words(report, pid);
    let why = match askee.wait {
        Some(DumpWait::Alive { after, pending: true }) => format!(
            "no faulthandler dump came within {} of its SIGUSR1, which was still pending then, not delivered: every \
             thread of it blocks the signal, or the one that would take it is in an uninterruptible wait in the \
             kernel; it was ended without one",
            tenths(after)
        ),
        Some(DumpWait::Alive { after, pending: false }) => format!(
            "no faulthandler dump came within {} of its SIGUSR1, and it took the signal and lived on: its SIGUSR1 \
             handler is not faulthandler's (a test replaced it, e.g. with signal.signal) or faulthandler's file is \
             not its stderr any more; it was ended without one",
            tenths(after)
        ),
        Some(DumpWait::Gone) => {
            "it ended after its SIGUSR1 without a faulthandler dump (its handler for the signal was not \
             faulthandler's, or it ended otherwise meanwhile)"
                .to_owned()
        }
        None if askee.asked => "the run ended while leakcheck waited for its faulthandler dump".to_owned(),
        None => "the run ended before it was asked for its faulthandler dump (SIGUSR1)".to_owned(),
    };
    format!("process {pid}{process}: no Python stacks: {why}")
}

/// ` (COMMAND)` of process `pid` of `report`, shortened, for a note; empty when it is not listed.
fn process_words(report: &HangReport, pid: i32) -> String {
    report
        .processes
        .iter()
        .find(|p| p.pid == pid)
        .map(|p| format!(" ({})", crate::escape::truncate_with_ellipsis(&p.command, 120)))
        .unwrap_or_default()
}

/// `d` to a tenth of a second: `3.2 s`.
fn tenths(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Put faulthandler's frames, from the dump of process `pid`, on that process's threads in the
/// report (the last dump wins). Without the thread pointers (ptrace denied), only the `Current
/// thread` can be placed: the signal was sent to the process, and Linux delivers a
/// process-directed signal to the main thread (tid = pid) unless that thread blocks it.
fn attach_python_frames(report: &mut HangReport, pid: i32, pthreads: &BTreeMap<u64, i32>, dump: &[String]) {
    /// Where the frame lines that follow go.
    enum Placing {
        /// No header seen yet: frames here belong to a stack whose header was not read.
        Nowhere,
        /// Into this thread's stack.
        Thread(i32),
        /// Nowhere, and already counted as unplaced.
        Counted,
    }
    let mut stacks: BTreeMap<i32, Vec<PythonFrame>> = BTreeMap::new();
    // The threads whose stack faulthandler ended with its `...`: cut at its limit.
    let mut cut: BTreeSet<i32> = BTreeSet::new();
    // faulthandler stopped before the stacks of the oldest threads (its `...` after a stack;
    // before any header, the same line is `-R`'s progress).
    let mut threads_cut = false;
    let mut placing = Placing::Nowhere;
    let main_thread = pid;
    let mut unplaced = 0;
    for line in dump {
        if let Some(caps) = FAULTHANDLER_THREAD.captures(line.as_bytes()) {
            let pointer = std::str::from_utf8(&caps[2]).ok().and_then(|h| u64::from_str_radix(h, 16).ok());
            let handler = &caps[1] == b"Current thread";
            placing = match pointer.and_then(|p| pthreads.get(&p).copied()) {
                Some(tid) => Placing::Thread(tid),
                None if pthreads.is_empty() && handler => Placing::Thread(main_thread),
                None => {
                    unplaced += 1;
                    Placing::Counted
                }
            };
            if let Placing::Thread(tid) = placing {
                stacks.insert(tid, Vec::new());
            }
        } else if let Some(caps) = FAULTHANDLER_FRAME.captures(line.as_bytes()) {
            let tid = match placing {
                Placing::Thread(tid) => tid,
                Placing::Nowhere => {
                    unplaced += 1;
                    placing = Placing::Counted;
                    continue;
                }
                Placing::Counted => continue,
            };
            let text = |i: usize| String::from_utf8_lossy(&caps[i]).into_owned();
            stacks.entry(tid).or_default().push(PythonFrame {
                function: text(3),
                file: text(1),
                line: text(2).parse().unwrap_or(0),
            });
        } else if line.as_bytes() == FAULTHANDLER_CUT {
            if let Placing::Thread(tid) = placing {
                cut.insert(tid);
            }
        } else if line.as_bytes() == FAULTHANDLER_THREADS_CUT && !matches!(placing, Placing::Nowhere) {
            threads_cut = true;
        }
    }
    for process in report.processes.iter_mut().filter(|p| p.pid == pid) {
        for thread in &mut process.threads {
            if let Some(frames) = stacks.remove(&thread.tid) {
                thread.python_frames_truncated = cut.contains(&thread.tid) || frames.len() >= FAULTHANDLER_MAX_FRAMES;
                thread.python_frames = frames;
            }
        }
    }
    if threads_cut {
        let without: Vec<i32> = report
            .processes
            .iter()
            .filter(|p| p.pid == pid)
            .flat_map(|p| &p.threads)
            .filter(|t| t.python_frames.is_empty())
            .map(|t| t.tid)
            .collect();
        let main = if without.contains(&pid) { ", the main thread among them" } else { "" };
        report.notes.push(format!(
            "process {pid}: faulthandler writes the Python stacks of {FAULTHANDLER_MAX_THREADS} threads at most, the \
             newest first, and stopped there: {} thread(s) have none{main}",
            without.len()
        ));
    }
    if !stacks.is_empty() {
        report.notes.push(format!(
            "process {pid}: faulthandler's dump has the Python stacks of {} thread(s) not seen when the process was \
             inspected (started since): they are in the log",
            stacks.len()
        ));
    }
    if unplaced > 0 {
        report.notes.push(format!(
            "{unplaced} Python thread stack(s) of process {pid}'s faulthandler dump could not be matched to a \
             thread id (that needs the threads' registers, i.e. ptrace, and the stack's header line); the dump \
             is in the log"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// regrtest writes `Run tests sequentially` just before the first progress line: a thread
    /// the first test started before leakcheck read both (late, on a loaded machine) is that
    /// test's, though the header's line, read first, names no test; read later than
    /// [`READ_LAG`], it is no test's; after a test, it stays that test's.
    #[test]
    fn a_thread_begun_before_the_header_and_first_progress_line_were_read_is_the_first_tests() {
        let mut watch = HangWatch::new(None);
        let began = Instant::now();
        let read = began + Duration::from_millis(40);
        watch.test_running(None, read);
        watch.test_running(Some("test_x"), read);
        assert_eq!(watch.test_at(began), Some(Some("test_x".to_owned())));
        assert_eq!(watch.only_test_between(began, read + Duration::from_secs(1)).as_deref(), Some("test_x"));
        assert_eq!(watch.test_at(began + Duration::from_millis(20)), Some(Some("test_x".to_owned())));

        let mut late = HangWatch::new(None);
        let read = began + READ_LAG + Duration::from_millis(40);
        late.test_running(None, read);
        late.test_running(Some("test_x"), read);
        assert_eq!(late.test_at(began), None);
        assert_eq!(late.only_test_between(began, read + Duration::from_secs(1)), None);

        let next = read + Duration::from_secs(5);
        late.test_running(Some("test_y"), next);
        let in_x = next - Duration::from_millis(40);
        assert_eq!(late.test_at(in_x), Some(Some("test_x".to_owned())));
    }

    #[test]
    fn output_restarts_the_runs_silence_and_the_next_tick_forgets_its_sleeps() {
        let mut watch = HangWatch::new(Some(Duration::from_secs(60)));
        let start = watch.last_output;
        watch.sleeps.insert((Silence::Run, 7), None);
        watch.sleeps.insert((Silence::Worker(9), 8), None);
        watch.sleeps_ended.insert((Silence::Run, 7));
        // A heartbeat says nothing moved.
        watch.output(b"0:00:30 load avg: 1.00 running: test_x (30.0 sec)", start + Duration::from_secs(30));
        assert_eq!(watch.last_output, start);
        assert!(!watch.run_restarted);
        let later = start + Duration::from_secs(31);
        watch.output(b"test_x passed", later);
        assert_eq!(watch.last_output, later);
        // Forgotten at the tick (below a pid that cannot exist: no tree), not at the line.
        assert_eq!(watch.sleeps.len(), 2);
        watch.tick(i32::MAX, i32::MAX, None, later);
        assert_eq!(watch.sleeps.keys().copied().collect::<Vec<_>>(), [(Silence::Worker(9), 8)]);
        assert!(watch.sleeps_ended.is_empty());
        assert!(!watch.run_restarted);
    }

    #[test]
    fn only_the_runs_own_workers_name_its_tests() {
        let process = |pid: i32, ppid: i32, argv: &[&str]| ProcessSample {
            pid,
            ppid,
            threads: Vec::new(),
            argv: argv.iter().map(|a| a.to_string()).collect(),
            exe: None,
        };
        let worker = |test: &str| format!(r#"[{{"verbose": 0}}, "{test}"]"#);
        let (outer, nested) = (worker("test_a"), worker("test_inner"));
        let tree: BTreeMap<i32, ProcessSample> = [
            // leakcheck -> timeout -> python -m test -j2 -> worker (test_a), which runs a test
            // that starts its own `python -m test -j1` -> its worker (test_inner).
            process(10, 1, &["timeout", "600", "python", "-m", "test", "-j2"]),
            process(11, 10, &["python", "-m", "test", "-j2"]),
            process(12, 11, &["python", "-m", "test.regrtest", "--worker-args", &outer]),
            process(13, 12, &["python", "-m", "test", "-j1", "test_inner"]),
            process(14, 13, &["python", "-m", "test.regrtest", "--worker-args", &nested]),
            process(15, 14, &["sleep", "100"]),
        ]
        .into_iter()
        .map(|p| (p.pid, p))
        .collect();
        assert!(is_own_worker(12, &tree, 10));
        assert!(!is_own_worker(14, &tree, 10), "a worker of a regrtest a test started");
        assert!(!is_own_worker(11, &tree, 10), "the main process is no worker");
        // What hangs below the nested worker belongs to the outer worker's test.
        assert_eq!(worker_of(15, &tree, 10), Some(12));
    }

    /// A process's memory: 4-byte words at their addresses.
    struct Words(BTreeMap<u64, u32>);

    impl ProcessMemory for Words {
        fn read(&self, address: u64, buf: &mut [u8]) -> bool {
            match (self.0.get(&address), buf.len()) {
                (Some(word), 4) => {
                    buf.copy_from_slice(&word.to_ne_bytes());
                    true
                }
                _ => false,
            }
        }
    }

    /// Where a lock is, by `/proc/PID/maps` and the threads' stack pointers, when no module's
    /// symbol covers it: the heap, the main thread's `[stack]`, another thread's stack (the
    /// nearest stack pointer below it in its mapping), a file's mapping.
    #[test]
    fn a_lock_off_any_symbol_is_placed_by_its_mapping() {
        let maps = stacks::parse_maps(
            "00400000-00401000 r-xp 00000000 08:01 42 /usr/bin/prog\n\
             01000000-01100000 rw-p 00000000 00:00 0 [heap]\n\
             7f0000000000-7f0000800000 rw-p 00000000 00:00 0 \n\
             7f0000900000-7f0000a00000 rw-p 00000000 00:00 0 \n\
             7f0000b00000-7f0000b01000 rw-s 00000000 08:01 43 /dev/shm/x\n\
             7ffc00000000-7ffc00100000 rw-p 00000000 00:00 0 [stack]\n",
        );
        let stacks = ProcessStacks::from_maps(&[]);
        let symbolizer = Symbolizer::new();
        // Thread 11's stack pointer in the first anonymous mapping, 12's above it.
        let sps = [(0x7f00_0010_0000, 11), (0x7f00_0040_0000, 12), (0x7ffc_0000_1000, 10)];
        let place = |address| lock_place(address, &maps, &stacks, &symbolizer, &sps, 10).map(|p| (p.memory, p.thread));
        assert_eq!(place(0x0100_0040), Some(("heap", None)));
        assert_eq!(place(0x7ffc_0000_2000), Some(("stack", Some(10))));
        assert_eq!(place(0x7f00_0020_0000), Some(("stack", Some(11))));
        assert_eq!(place(0x7f00_0050_0000), Some(("stack", Some(12))));
        assert_eq!(place(0x7f00_0000_0040), Some(("heap", None)), "below every stack pointer: no stack");
        assert_eq!(place(0x7f00_0090_0040), Some(("heap", None)), "no thread's stack: malloc's or pymalloc's");
        assert_eq!(place(0x7f00_00b0_0040), Some(("mapped", None)));
        assert_eq!(place(0x10), None, "in no mapping");
    }

    #[test]
    fn only_a_locked_mutex_with_a_possible_owner_names_one() {
        let threads: Vec<procfs::ThreadSample> = [100, 101]
            .iter()
            .map(|&tid| procfs::ThreadSample { tid, state: 'S', cpu_ticks: 0, syscall: None })
            .collect();
        // (lock word, __owner, __kind) at 0x1000.
        let mutex =
            |word: u32, owner: u32, kind: u32| Words(BTreeMap::from([(0x1000, word), (0x1008, owner), (0x1010, kind)]));
        let owner = |memory: &Words| Lock { memory, threads: &threads }.mutex_owner(0x1000);
        assert_eq!(owner(&mutex(2, 101, 0)), Some(101));
        assert_eq!(owner(&mutex(2, 3_000_000, 0)), Some(3_000_000), "a thread gone: its TID is still a TID");
        // Stack garbage read as a mutex (the words a parked thread's futex is among): no owner.
        assert_eq!(owner(&mutex(2, 2_144_898_884, 0)), None, "no TID is that large");
        assert_eq!(owner(&mutex(2, 101, 0x7fff_0000)), None, "a __kind glibc never sets");
        assert_eq!(owner(&mutex(0, 101, 0)), None, "unlocked: the waiter is about to wake");
        assert_eq!(owner(&mutex(2, 0, 0)), None);
        assert_eq!(owner(&Words(BTreeMap::new())), None, "unreadable");
        // A priority-inheritance mutex: the owner is the lock word's TID (waiters bit aside).
        assert_eq!(owner(&mutex(0x8000_0000 | 100, 0, 32)), Some(100));
        let lock_pi = Words(BTreeMap::from([(0x2000, 0x8000_0000 | 101)]));
        assert_eq!(Lock { memory: &lock_pi, threads: &threads }.pi_owner(0x2000, true), Some(101));
        assert_eq!(
            Lock { memory: &Words(BTreeMap::from([(0x2000, 0)])), threads: &threads }.pi_owner(0x2000, true),
            None
        );
    }

    #[test]
    fn a_dump_is_its_processs_until_that_process_was_seen_gone_at_a_tick_before() {
        // Two processes of a hang, asked one after the other: zombies here (gone, and their pids
        // still theirs, so that the SIGUSR1 of `ask` reaches nobody else).
        let zombie = || {
            let child = std::process::Command::new("true").spawn().expect("true");
            let pid = child.id() as i32;
            while alive(pid) {
                std::thread::sleep(Duration::from_millis(5));
            }
            (child, pid)
        };
        let ((mut first, a), (mut second, b)) = (zombie(), zombie());
        let askee = |pid: i32, pthread: u64| Askee {
            pid,
            pthreads: BTreeMap::from([(pthread, pid)]),
            stderr_file: None,
            dump: Vec::new(),
            held: false,
            stopped: false,
            asked: false,
            wait: None,
        };
        let process = |pid: i32| ProcessReport {
            pid,
            command: String::new(),
            threads: vec![ThreadReport {
                tid: pid,
                state: "S".into(),
                frames: vec![],
                python_frames: vec![],
                python_frames_truncated: false,
                truncated: None,
            }],
        };
        let mut report = no_progress_in_pid_10(&[]);
        report.processes = vec![process(b), process(a)];
        let start = Instant::now();
        let mut watch = HangWatch::new(None);
        watch.pending = Some(Pending {
            report,
            end: Some(Action::EndTree(vec![a, b])),
            askees: vec![askee(a, 0x1000), askee(b, 0x2000)],
            current: 0,
            asked: start,
            gone: false,
        });
        let at = |ms: u64| start + Duration::from_millis(ms);
        let frame = |function: &str| format!(r#"  File "/tmp/x.py", line 1 in {function}"#);
        watch.output(b"Thread 0x0000000000001000 (most recent call first):", at(10));
        // The first process is gone at the first tick, but its last line is read only after it.
        assert!(watch.tick_pending(at(1000)).is_empty());
        watch.output(frame("in_the_first").as_bytes(), at(1010));
        assert!(watch.tick_pending(at(2000)).is_empty(), "the second is asked");
        watch.output(b"Thread 0x0000000000002000 (most recent call first):", at(2010));
        watch.output(frame("in_the_second").as_bytes(), at(2020));
        assert!(watch.tick_pending(at(3000)).is_empty());
        assert_eq!(
            watch.tick_pending(at(4000)),
            vec![Action::EndTree(vec![a, b])],
            "then the hang's processes are ended"
        );
        let hangs = watch.finish();
        let functions = |pid: i32| -> Vec<String> {
            let process = hangs[0].processes.iter().find(|p| p.pid == pid).expect("listed");
            process.threads[0].python_frames.iter().map(|f| f.function.clone()).collect()
        };
        assert_eq!((functions(a), functions(b)), (vec!["in_the_first".to_owned()], vec!["in_the_second".to_owned()]));
        assert!(hangs[0].notes.is_empty(), "{:?}", hangs[0].notes);
        let _ = (first.wait(), second.wait());
    }

    #[test]
    fn the_interpreters_exit_is_named_by_the_part_its_main_thread_is_in() {
        let frames = |functions: &[&str]| -> Vec<Frame> {
            functions
                .iter()
                .map(|f| Frame { function: Some((*f).to_owned()), ..Frame::outside_any_module(0) })
                .collect()
        };
        let waiting = ["PyThread_acquire_lock_timed", "_PyEval_EvalFrameDefault", "PyObject_Call"];
        let exit = |tail: &[&str]| InterpreterExit::of(&frames(&[&waiting[..], tail].concat()));
        // An atexit handler joining a daemon thread (3.11's frames, as the inspection read them).
        let atexit = ["atexit_callfuncs", "_PyAtExit_Call", "Py_FinalizeEx", "Py_RunMain", "main"];
        assert_eq!(exit(&atexit), Some(InterpreterExit::AtexitHandler));
        assert!(InterpreterExit::AtexitHandler.words().contains("atexit handler"));
        assert!(!InterpreterExit::AtexitHandler.words().contains("threading._shutdown"));
        let shutdown = ["wait_for_thread_shutdown", "Py_FinalizeEx", "Py_RunMain", "main"];
        assert_eq!(exit(&shutdown), Some(InterpreterExit::ThreadShutdown));
        assert!(InterpreterExit::ThreadShutdown.words().contains("threading._shutdown"));
        // Elsewhere in the finalization (a module's __del__, a GC callback): no part named.
        assert_eq!(exit(&["finalize_modules", "Py_FinalizeEx", "main"]), Some(InterpreterExit::Finalizing));
        assert_eq!(InterpreterExit::Finalizing.words(), "Py_FinalizeEx");
        assert_eq!(exit(&["pymain_run_python", "Py_RunMain", "main"]), None);
    }

    /// sleep(3)'s clock_nanosleep in process 10 as /proc showed it before a stop, 7 ticks of CPU
    /// time in.
    fn stopped_sleep() -> InspectedSleep {
        let syscall = "230 0x0 0x0 0x7ffdc79328f0 0x7ffdc7932930 0x0 0x0 0x7ffdc79328d8 0x7f88ecf97503";
        let syscall = procfs::parse_syscall(syscall).expect("a syscall line");
        InspectedSleep { pid: 10, syscall, ends: Instant::now(), switches: None, cpu_ticks: 7 }
    }

    #[test]
    fn a_stopped_sleep_is_returned_to_by_a_runnable_thread_that_has_not_run() {
        let call = |text: &str| procfs::parse_syscall(text).expect("a syscall line");
        let sleep = stopped_sleep();
        let thread = |state, cpu_ticks, syscall| procfs::ThreadSample { tid: 11, state, cpu_ticks, syscall };
        assert!(sleep.returning(10, &thread('R', 7, None)));
        assert!(sleep.returning(10, &thread('R', 8, None)), "a tick of CPU time to get back in");
        // It ran on (woke and computes), is in another call, is not runnable, is another process's.
        assert!(!sleep.returning(10, &thread('R', 9, None)));
        assert!(
            !sleep.returning(10, &thread('S', 7, Some(call("202 0x7f1c2a0b3040 0x80 0x2 0x0 0x0 0x0 0x7ffd 0x7f1c"))))
        );
        assert!(!sleep.returning(10, &thread('T', 7, None)));
        assert!(!sleep.returning(12, &thread('R', 7, None)));
        // Once seen back in its sleep, it is followed there.
        let back = InspectedSleep { switches: Some(3), ..sleep };
        assert!(!back.returning(10, &thread('R', 7, None)));
    }

    #[test]
    fn a_stopped_sleep_goes_on_in_its_own_restart_only() {
        let call = |text: &str| procfs::parse_syscall(text).expect("a syscall line");
        // sleep(3)'s clock_nanosleep before the stop, and after it (as /proc showed them).
        let sleep = stopped_sleep();
        assert!(sleep.goes_on_in(sleep.syscall));
        assert!(sleep.goes_on_in(call("219 0x0 0x0 0x7ffdc79328f0 0x7ffdc7932930 0x0 0x0 0x7ffdc79328d8 0x7f88")));
        // The restart of another call (a poll with a timeout), or another call.
        assert!(!sleep.goes_on_in(call("219 0x7ffdc7932a00 0x1 0x3e8 0x0 0x0 0x0 0x7ffdc79328d8 0x7f88ecf97503")));
        assert!(!sleep.goes_on_in(call("202 0x7f1c2a0b3040 0x80 0x2 0x0 0x0 0x0 0x7ffd3a 0x7f1c29e")));
    }

    #[test]
    fn heartbeats_are_not_progress() {
        assert!(HEARTBEAT.is_match(b"0:01:30 load avg: 1.20 running (2): test_a (1 min 2 sec), test_b (30.1 sec)"));
        assert!(HEARTBEAT.is_match(b"running: test_a (30 sec)"));
        assert!(!HEARTBEAT.is_match(b"0:01:30 load avg: 1.20 [ 3/40] test_x passed"));
    }

    #[test]
    fn workers_name_their_test_on_the_command_line() {
        let argv = |s: &[&str]| s.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let old = argv(&[
            "python",
            "-u",
            "-m",
            "test.regrtest",
            "--worker-args",
            r#"[{"huntrleaks": [3, 3]}, "test_deadlock"]"#,
        ]);
        assert_eq!(worker_test(&old).as_deref(), Some("test_deadlock"));
        let new = argv(&["python", "-m", "test.libregrtest.worker", r#"{"tests": ["test.test_os"], "x": 1}"#]);
        assert_eq!(worker_test(&new).as_deref(), Some("test.test_os"));
        assert_eq!(worker_test(&argv(&["python", "-m", "test", "test_os"])), None);
        // 3.13.5's worker, as /proc showed it: `test_dir` is a key, not the test.
        let real = argv(&[
            "python",
            "-B",
            "-u",
            "-m",
            "test.libregrtest.worker",
            r#"{"tests": ["test_quiet_sleeper"], "fail_fast": false, "match_tests": [], "hunt_refleak": null, "test_dir": "/tmp/h313", "use_resources": [], "json_file": {"file": 4, "file_type": "UNIX_FD"}, "__runtests__": true}"#,
        ]);
        assert_eq!(worker_test(&real).as_deref(), Some("test_quiet_sleeper"));
        let garbled = argv(&["python", "-m", "test.libregrtest.worker", r#"{"tests": ["test_x""#]);
        assert_eq!(worker_test(&garbled), None);
    }

    #[test]
    fn faulthandler_stacks_land_on_their_threads() {
        let dump: Vec<String> = [
            "Thread 0x00007f0000001000 (most recent call first):",
            r#"  File "/usr/lib/python3.11/threading.py", line 327 in wait"#,
            r#"  File "/tmp/test_x.py", line 9 in worker"#,
            "",
            "Current thread 0x00007f0000002000 (most recent call first):",
            r#"  File "/tmp/test_x.py", line 20 in test_main"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let pthreads = BTreeMap::from([(0x7f00_0000_1000, 11), (0x7f00_0000_2000, 10)]);
        let mut report = no_progress_in_pid_10(&[10, 11]);
        attach_python_frames(&mut report, 10, &pthreads, &dump);
        let threads = &report.processes[0].threads;
        assert_eq!(
            threads[0].python_frames,
            vec![PythonFrame { function: "test_main".into(), file: "/tmp/test_x.py".into(), line: 20 }]
        );
        assert_eq!(threads[1].python_frames.len(), 2);
        assert!(report.notes.is_empty(), "{:?}", report.notes);

        // No thread pointers (ptrace denied): the signal's thread is the main thread; the
        // other stack stays in the log, and a note says so.
        for thread in &mut report.processes[0].threads {
            thread.python_frames.clear();
        }
        attach_python_frames(&mut report, 10, &BTreeMap::new(), &dump);
        let threads = &report.processes[0].threads;
        assert_eq!(threads[0].python_frames.len(), 1);
        assert!(threads[1].python_frames.is_empty());
        assert_eq!(report.notes.len(), 1);
        assert!(report.notes[0].starts_with("1 Python thread stack(s)"), "{:?}", report.notes);
    }

    /// A `no-progress` report of process 10 with sleeping threads `tids` and no stacks yet.
    fn no_progress_in_pid_10(tids: &[i32]) -> HangReport {
        let thread = |&tid: &i32| ThreadReport {
            tid,
            state: "S".into(),
            frames: vec![],
            python_frames: vec![],
            python_frames_truncated: false,
            truncated: None,
        };
        HangReport {
            test: None,
            pid: 10,
            diagnosis: Diagnosis {
                kind: DiagnosisKind::NoProgress,
                summary: String::new(),
                pid: 10,
                threads: vec![],
                locks: vec![],
                reference: None,
            },
            processes: vec![ProcessReport {
                pid: 10,
                command: String::new(),
                threads: tids.iter().map(thread).collect(),
            }],
            notes: vec![],
            running_method: None,
            process_went_on: false,
            after_tests: false,
            ended: vec![],
        }
    }

    #[test]
    fn a_dump_after_progress_dots_is_read() {
        // -R's progress dots go to stderr without a newline: the dump's header follows them.
        let dump: Vec<String> = [
            "..Current thread 0x00007fb98fd10780 (most recent call first):",
            r#"  File "/tmp/test_x.py", line 7 in test_third_call"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert!(dump
            .iter()
            .all(|l| FAULTHANDLER_THREAD.is_match(l.as_bytes()) || FAULTHANDLER_FRAME.is_match(l.as_bytes())));
        assert!(!FAULTHANDLER_THREAD.is_match(b"Thread 0x00007fb98fd10780 (most recent call first): and more"));
        let mut report = no_progress_in_pid_10(&[10]);
        attach_python_frames(&mut report, 10, &BTreeMap::from([(0x7fb9_8fd1_0780, 10)]), &dump);
        let frames = &report.processes[0].threads[0].python_frames;
        assert_eq!(frames.iter().map(|f| f.function.as_str()).collect::<Vec<_>>(), ["test_third_call"]);
        assert!(report.notes.is_empty(), "{:?}", report.notes);

        // `-R`'s progress before the dump is no cut of its threads.
        report.processes[0].threads[0].python_frames.clear();
        let mut after_dots = vec!["...".to_owned()];
        after_dots.extend(dump.iter().cloned());
        attach_python_frames(&mut report, 10, &BTreeMap::from([(0x7fb9_8fd1_0780, 10)]), &after_dots);
        assert!(report.notes.is_empty(), "{:?}", report.notes);

        // Frames whose header was not read are counted in the note, not dropped silently.
        let headless = dump[1..].to_vec();
        report.processes[0].threads[0].python_frames.clear();
        attach_python_frames(&mut report, 10, &BTreeMap::from([(0x7fb9_8fd1_0780, 10)]), &headless);
        assert!(report.notes.iter().any(|n| n.starts_with("1 Python thread stack(s)")), "{:?}", report.notes);
    }

    /// faulthandler writes 100 threads' stacks at most, the newest first: past them, its `...`;
    /// the threads it left out (the main thread, the oldest) are named in a note.
    #[test]
    fn threads_faulthandler_left_out_are_counted_in_a_note() {
        let dump: Vec<String> = [
            "Thread 0x00007f0000000012 (most recent call first):",
            r#"  File "/usr/lib/python3.11/threading.py", line 327 in wait"#,
            "",
            "Thread 0x00007f0000000011 (most recent call first):",
            r#"  File "/usr/lib/python3.11/threading.py", line 327 in wait"#,
            "",
            "...",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut report = no_progress_in_pid_10(&[10, 11, 12]);
        let pthreads = BTreeMap::from([(0x7f00_0000_0010, 10), (0x7f00_0000_0011, 11), (0x7f00_0000_0012, 12)]);
        attach_python_frames(&mut report, 10, &pthreads, &dump);
        let with_frames: Vec<i32> =
            report.processes[0].threads.iter().filter(|t| !t.python_frames.is_empty()).map(|t| t.tid).collect();
        assert_eq!(with_frames, [11, 12]);
        assert_eq!(
            report.notes,
            ["process 10: faulthandler writes the Python stacks of 100 threads at most, the newest first, and \
              stopped there: 1 thread(s) have none, the main thread among them"]
        );
    }

    #[test]
    fn named_thread_headers_of_3_14_and_later_are_read() {
        // Captured from python3.14-dbg 3.14.10 (Debian), the repo's test_hang_python_locks: two
        // threads named by threading (cut to 15 bytes by the kernel) and the main thread, named
        // after the program; then 3.15.2's header. 3.11 to 3.13 write no name.
        let dump: Vec<String> = [
            "Thread 0x00007fe01ffff6c0 [Thread-2 (secon] (most recent call first):",
            r#"  File "/tmp/qa-v314/t2/test_hang_python_locks.py", line 19 in second_then_first"#,
            r#"  File "/usr/lib/python3.14/threading.py", line 1025 in run"#,
            r#"  File "/usr/lib/python3.14/threading.py", line 1083 in _bootstrap_inner"#,
            r#"  File "/usr/lib/python3.14/threading.py", line 1045 in _bootstrap"#,
            "",
            "Thread 0x00007fe024a4f6c0 [Thread-1 (first] (most recent call first):",
            r#"  File "/tmp/qa-v314/t2/test_hang_python_locks.py", line 14 in first_then_second"#,
            r#"  File "/usr/lib/python3.14/threading.py", line 1025 in run"#,
            "",
            "Current thread 0x00007fe0255d87c0 [python3.14-dbg] (most recent call first):",
            r#"  File "/usr/lib/python3.14/threading.py", line 1134 in join"#,
            r#"  File "/tmp/qa-v314/t2/test_hang_python_locks.py", line 25 in test_lock_cycle"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert!(dump.iter().filter(|l| !l.is_empty()).all(|l| is_dump_line(l.as_bytes())));
        let pthreads = BTreeMap::from([(0x7fe0_1fff_f6c0, 12), (0x7fe0_24a4_f6c0, 11), (0x7fe0_255d_87c0, 10)]);
        let mut report = no_progress_in_pid_10(&[10, 11, 12]);
        attach_python_frames(&mut report, 10, &pthreads, &dump);
        assert!(report.notes.is_empty(), "{:?}", report.notes);
        let functions = |i: usize| -> Vec<String> {
            report.processes[0].threads[i].python_frames.iter().map(|f| f.function.clone()).collect()
        };
        assert_eq!(functions(0), ["join", "test_lock_cycle"]);
        assert_eq!(functions(1), ["first_then_second", "run"]);
        assert_eq!(functions(2), ["second_then_first", "run", "_bootstrap_inner", "_bootstrap"]);

        // Without the thread pointers, the `Current thread` of 3.15 still goes to the main thread.
        let dump: Vec<String> = [
            "Current thread 0x00007fd4081edc00 [python3.15-dbg] (most recent call first):",
            r#"  File "/tmp/qa-v314/t/test_qa_deadlock.py", line 4 in test_deadlock"#,
            r#"  File "/usr/lib/python3.15/unittest/case.py", line 637 in _callTestMethod"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut report = no_progress_in_pid_10(&[10]);
        attach_python_frames(&mut report, 10, &BTreeMap::new(), &dump);
        assert!(report.notes.is_empty(), "{:?}", report.notes);
        assert_eq!(report.processes[0].threads[0].python_frames[0].function, "test_deadlock");

        // A name may hold anything but a newline: brackets, the header's own words, bytes that
        // are no UTF-8 (a multi-byte character cut at 15 bytes).
        for header in [
            &b"Thread 0x00007fe01ffff6c0 [a] b [c] (most recent call first):"[..],
            b"..Current thread 0x00007fe01ffff6c0 [x (most recent call first): y] (most recent call first):",
            b"Thread 0x00007fe01ffff6c0 [caf\xc3] (most recent call first):",
            b"Thread 0x00007fe01ffff6c0 [] (most recent call first):",
        ] {
            let caps = FAULTHANDLER_THREAD.captures(header).unwrap_or_else(|| panic!("{header:?}"));
            assert_eq!(&caps[2], b"00007fe01ffff6c0");
        }
        for not in [
            &b"Thread 0x00007fe01ffff6c0 [name (most recent call first):"[..],
            b"Thread 0x00007fe01ffff6c0 name] (most recent call first):",
            b"Thread 0x00007fe01ffff6c0 [name](most recent call first):",
            b"Current thread's C stack trace (most recent call first):",
        ] {
            assert!(!FAULTHANDLER_THREAD.is_match(not), "{not:?}");
        }
    }

    #[test]
    fn a_stack_at_faulthandlers_limit_is_marked_cut() {
        let frames = |n: usize| -> Vec<String> {
            (0..n).map(|i| format!(r#"  File "/tmp/test_x.py", line {} in rec"#, i + 1)).collect()
        };
        let dump = |header: &str, body: Vec<String>| -> Vec<String> { [vec![header.to_owned()], body].concat() };
        let pthreads = BTreeMap::from([(0x1000, 10), (0x2000, 11)]);
        let cut = |dump: &[String]| {
            let mut report = no_progress_in_pid_10(&[10, 11]);
            attach_python_frames(&mut report, 10, &pthreads, dump);
            assert!(report.notes.is_empty(), "{:?}", report.notes);
            let thread = &report.processes[0].threads[0];
            (thread.python_frames.len(), thread.python_frames_truncated)
        };
        let current = "Current thread 0x0000000000001000 (most recent call first):";
        // 3.11 writes `...` after the 100th frame of a deeper stack.
        let deep = dump(current, [frames(100), vec!["  ...".to_owned()]].concat());
        assert!(deep.iter().all(|l| is_dump_line(l.as_bytes())));
        assert_eq!(cut(&deep), (100, true));
        // 3.12 and 3.13 write nothing there: 100 frames are the limit's.
        assert_eq!(cut(&dump(current, frames(100))), (100, true));
        assert_eq!(cut(&dump(current, frames(99))), (99, false));
        // The `...` of the other thread's stack is not this one's.
        let other = "Thread 0x0000000000002000 (most recent call first):";
        let two = [dump(current, frames(3)), dump(other, [frames(100), vec!["  ...".to_owned()]].concat())].concat();
        assert_eq!(cut(&two), (3, false));
    }

    #[test]
    fn a_process_alive_after_its_dump_wait_is_given_up_on_and_the_note_says_why() {
        use std::os::unix::process::CommandExt;
        // Two live processes asked for their dump, neither giving one: the first took SIGUSR1 and
        // lived on (it is never sent here: no handler would keep `sleep` alive); the second
        // blocks SIGUSR1, and the signal sent to it stays pending.
        let sleep = || {
            let mut command = std::process::Command::new("sleep");
            command.arg("30");
            command
        };
        let mut took = sleep().spawn().expect("sleep");
        let mut blocking = sleep();
        // SAFETY: only sigprocmask, async-signal-safe, between fork and exec.
        unsafe {
            blocking.pre_exec(|| {
                let mut usr1 = nix::sys::signal::SigSet::empty();
                usr1.add(nix::sys::signal::Signal::SIGUSR1);
                usr1.thread_block().map_err(std::io::Error::from)
            });
        }
        let mut blocking = blocking.spawn().expect("sleep, blocking SIGUSR1");
        let (a, b) = (took.id() as i32, blocking.id() as i32);
        let askee = |pid: i32| Askee {
            pid,
            pthreads: BTreeMap::new(),
            stderr_file: None,
            dump: Vec::new(),
            held: false,
            stopped: false,
            asked: true,
            wait: None,
        };
        let mut report = no_progress_in_pid_10(&[]);
        report.processes =
            [a, b].iter().map(|&pid| ProcessReport { pid, command: "sleep 30".into(), threads: Vec::new() }).collect();
        let mut watch = HangWatch::new(None);
        let start = Instant::now();
        watch.pending = Some(Pending {
            report,
            end: Some(Action::EndTree(vec![a, b])),
            askees: vec![askee(a), askee(b)],
            current: 0,
            asked: start,
            gone: false,
        });
        let at = |ms: u64| start + Duration::from_millis(ms);
        for ms in [1000, 2000, 2900] {
            assert!(watch.tick_pending(at(ms)).is_empty(), "still waiting for the first at {ms} ms");
        }
        // Given up on at the first tick DUMP_WAIT after it was asked; then the second is asked.
        assert!(watch.tick_pending(at(3200)).is_empty());
        let asked = watch.pending.as_ref().map(|p| p.asked);
        assert_eq!(asked.map(|asked| asked >= at(3200)), Some(true), "the second was asked then");
        let second = watch.pending.as_ref().map_or(start, |p| p.asked);
        for after in [1000, 2000] {
            assert!(watch.tick_pending(second + Duration::from_millis(after)).is_empty());
        }
        assert_eq!(
            watch.tick_pending(second + Duration::from_millis(3100)),
            vec![Action::EndTree(vec![a, b])],
            "then the hang's processes are ended"
        );
        let hangs = watch.finish();
        let notes = &hangs[0].notes;
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].starts_with(&format!(
                "process {a} (sleep 30): no Python stacks: no faulthandler dump came within 3.2 s of its SIGUSR1, \
                 and it took the signal and lived on"
            )),
            "{notes:?}"
        );
        assert!(
            notes[1].starts_with(&format!(
                "process {b} (sleep 30): no Python stacks: no faulthandler dump came within 3.1 s of its SIGUSR1, \
                 which was still pending then"
            )),
            "{notes:?}"
        );
        for child in [&mut took, &mut blocking] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
