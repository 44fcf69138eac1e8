//! Runs the child and watches over it until every process of its tree is gone.
//!
//! - The child runs in its own process group; its stdout and stderr are pipes whose bytes are
//!   written, unchanged and as they arrive, to our stdout and stderr, and line by line to the
//!   complete log and to an [`OutputSink`] (the parsers). Lines of leakcheck's own that a sink
//!   asks for ([`Action::Say`]: a hang found) go to our stderr between the command's, on lines
//!   of their own, and not to the log.
//! - The loop never waits for our own readers: what is to be written to our stdout or stderr
//!   waits in a queue per stream (see `Pipe::queue`), written as poll says the fd takes more
//!   (see `Mirror`). While a queue holds `QUEUE_BOUND` (256 KiB) the loop stops reading that
//!   pipe, and the command waits in its write as it would for our reader without leakcheck;
//!   ticks, signals and reaping go on. Once the tree is gone, what is queued is written,
//!   waited for, but after a terminating signal for a second at most, and not past one that
//!   comes meanwhile: the rest is dropped with a warning (the log has it), so that the reports
//!   are written before a buildbot's SIGKILL.
//! - SIGINT, SIGTERM, SIGHUP and SIGQUIT received by leakcheck go to the child's group, each
//!   process once; SIGTERM, SIGHUP and SIGQUIT also to descendants that left it, such as
//!   regrtest's `-j` workers, which run in sessions of their own (SIGINT does not: as after a
//!   terminal's Ctrl-C, regrtest stops its workers itself). After a forwarded SIGTERM, the
//!   whole tree gets SIGKILL at the end of the grace period; after SIGINT, SIGHUP or SIGQUIT,
//!   which a program may catch and go on, it gets SIGTERM at the end of the grace period, then
//!   SIGKILL at the end of a second one. A second signal kills at once. One request is one
//!   signal: the same signal again from the same process (`kill(2)` or `sigqueue(3)`, its pid in
//!   the `siginfo`) is a copy of the first, not a second one: GNU `timeout`, and supervisors
//!   that signal a process and then its group, send the first to leakcheck and the copy to its
//!   group, which holds leakcheck (see [`Request`]). Another signal, the same one from another
//!   process, or one the kernel sends (a terminal's Ctrl-C, no sender) is a second. Each
//!   process that gets a signal (but SIGKILL) gets SIGCONT right after it, as `timeout` and
//!   shells send it: one stopped (`kill -STOP`, a Ctrl-Z) takes it now, not at the end of the
//!   grace period.
//! - With a controlling terminal whose foreground group is ours, the command's group gets the
//!   terminal while it runs, and a Ctrl-Z stops leakcheck with it (see [`Terminal`]). Without
//!   one (a buildbot's pipes), stops of the command are not looked at.
//! - The command's signal mask is the one leakcheck was started with (see [`CALLER_MASK`]), not
//!   leakcheck's; ignored signals stay ignored.
//! - leakcheck is a child subreaper (`PR_SET_CHILD_SUBREAPER`): descendants orphaned by their
//!   parents are re-parented to it and reaped. Whatever is still alive when the child has exited
//!   and still alive after a short settle period (see `SETTLE`) is ended (SIGTERM, grace,
//!   SIGKILL) and listed in the [`Supervised`] result; so is an orphan (a daemon a test started)
//!   alive when a forwarded SIGTERM, SIGHUP or SIGQUIT ends the tree while the command runs, or
//!   when [`Action::EndTree`] does: it was left behind before that.
//! - The tree is the command's: our children from before it was spawned (the reader of a
//!   shell's `2> >(tee out.err)`, forked before the shell exec'd leakcheck) and their
//!   descendants are not in it (see [`Outsiders`]), and are neither signalled nor listed.
//!
//! Signals arrive through a `signalfd`, so the loop is a single `poll(2)`. Knows nothing of
//! report formats.
//!
//! When our stdout and stderr are the same file (a terminal, one pipe or file after `2>&1`: see
//! [`Pipes`]), the child gets one pipe for both, its fd 2 a duplicate of its fd 1, as a plain
//! `2>&1` gives it: its bytes then reach our stdout, the log and the sink in the order it wrote
//! them, each line as [`Stream::Stdout`]. Otherwise it gets two pipes, and they keep no order
//! between them: what the child wrote to both between two turns of the loop reaches the sink in
//! the order inotify saw the writes (see `WriteOrder`) or, when that order is unclear, merged
//! section by section as the sink delimits them (see `merge_batches`). inotify's events can lag
//! the bytes (a write's bytes are readable before its event is queued), so this order is a
//! close guess, not a guarantee.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use nix::sys::signal::{killpg, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use thiserror::Error;

/// The longest line handed to the sink in one piece; longer ones are cut (the log keeps every
/// byte).
pub const MAX_LINE: usize = 1 << 20;

/// Which of the child's streams a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Consumes the child's output, line by line, as it arrives.
pub trait OutputSink {
    /// One line, without its newline (a final unterminated line is passed too). With one pipe
    /// for both streams ([`Pipes::Shared`]) every line is [`Stream::Stdout`]'s.
    fn line(&mut self, stream: Stream, line: &[u8]);

    /// Bytes of `stream` that do not end a line yet arrived (regrtest's `-R` marks, flushed one
    /// by one on a line that ends with the last; a verbose method line waiting for its status):
    /// the command is writing. `partial` is the line so far. The line itself comes to
    /// [`OutputSink::line`] once it ends. Default: nothing.
    fn unfinished_line(&mut self, stream: Stream, partial: &[u8]) {
        let _ = (stream, partial);
    }

    /// Whether `line` of `stream` starts a section of the output (for regrtest: a test's own
    /// output); `first`: no line of this stream started one yet in this batch, so the sink's
    /// state (which has not seen the batch) tells whether the section is a new one. Used only
    /// to order what both pipes held at once (see `merge_batches`). Default: no sections.
    fn starts_section(&self, stream: Stream, line: &[u8], first: bool) -> bool {
        let _ = (stream, line, first);
        false
    }

    /// Whether `line` of `stream` is likely the first line of a write of its own (for regrtest:
    /// a progress line, `beginning N repetitions`, a sanitizer report's headline): where a batch
    /// of both pipes may be cut between two runs of writes (see `order_by_runs`). Default: none.
    fn starts_write(&self, stream: Stream, line: &[u8]) -> bool {
        let _ = (stream, line);
        false
    }

    /// The first terminating signal leakcheck received (SIGINT, SIGTERM, ...), before it is
    /// passed on: the tree is still as it was. `command` is the command's pid.
    fn interrupted(&mut self, signal: Signal, command: i32) {
        let _ = (signal, command);
    }

    /// The command has exited and these processes of its tree are alive yet, about to be
    /// ended unless they exit within the settle period (or already ending from a forwarded
    /// signal): regrtest's `-j` workers, say, whose main process was killed. Their command lines
    /// are still there to read.
    fn left_behind(&mut self, pids: &[i32]) {
        let _ = pids;
    }

    /// About once a second while the command runs (`command` is its pid): a chance to look at
    /// the tree and ask for processes to be ended.
    fn tick(&mut self, command: i32) -> Vec<Action> {
        let _ = command;
        Vec::new()
    }

    /// These processes, which an [`Action`] of the sink ended (or the tree, after a signal or
    /// [`Action::EndTree`]), were still alive `grace` after their SIGTERM (they ignored it, or
    /// handled it and went on) and got SIGKILL. Default: nothing.
    fn killed_after_grace(&mut self, pids: &[i32], grace: Duration) {
        let _ = (pids, grace);
    }

    /// leakcheck was stopped with the command (a Ctrl-Z at the terminal they share: see
    /// [`run`]) and both go on: the time stopped was the user's, not the command's silence.
    /// Default: nothing.
    fn resumed(&mut self) {}

    /// The command has exited (there are no ticks after that): the last chance to ask for what
    /// a tick would have asked later. Processes ended so (as those of any action) are the
    /// sink's, not left behind: they are not listed as leftovers.
    fn exited(&mut self, command: i32) -> Vec<Action> {
        let _ = command;
        Vec::new()
    }
}

/// What a sink may ask of the supervisor. The processes it ends are the sink's: none of them is
/// listed as left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// End these processes: SIGTERM (and SIGCONT, for a stopped one) now, SIGKILL after the
    /// grace period. The command goes on.
    EndProcesses(Vec<i32>),
    /// End the whole tree, as after SIGTERM. The processes listed (the hang's), and while the
    /// command runs whatever is below it, are the sink's; any other process of the tree alive now
    /// is one that was left behind (a daemon an earlier test started, its parent gone): it is
    /// listed as a leftover, read now, and ended with the tree.
    EndTree(Vec<i32>),
    /// Print these lines of leakcheck's own (each ending with a newline) on our stderr, now,
    /// between the command's lines: on a line of their own (after a newline when the command's
    /// output stopped mid-line, as `-R`'s progress dots do), in one write. Not in the log, which
    /// is the command's output.
    Say(String),
}

/// How often the sink's `tick` runs.
const TICK: Duration = Duration::from_secs(1);

/// Reads of one pipe per turn of the loop (of [`READ_SIZE`] each): then signals, ticks and the
/// other pipe get their turn, even while the command writes without pause.
const MAX_READS_PER_TURN: usize = 16;

/// The most one read of a pipe takes.
const READ_SIZE: usize = 1 << 16;

/// How the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildExit {
    Exited(i32),
    Signaled { signal: Signal, core_dumped: bool },
}

/// A process of the tree that was still alive after the child exited, and was ended; or one left
/// behind while it ran (its parent gone) that the tree's end, for a forwarded signal or an
/// [`Action::EndTree`], ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub pid: i32,
    pub command: String,
}

/// What happened while supervising.
#[derive(Debug)]
pub struct Supervised {
    /// The command's process id.
    pub pid: i32,
    pub exit: ChildExit,
    /// The first terminating signal leakcheck received and forwarded, if any.
    pub interrupted_by: Option<Signal>,
    /// That signal came after a sink had ended the tree ([`Action::EndTree`]: a hang of the
    /// command, which leakcheck ends with its own SIGTERM); false when it came first (it is
    /// then what ended the command, from outside).
    pub interrupted_after_end: bool,
    /// Whether the tree had to be killed with SIGKILL after the grace period.
    pub killed: bool,
    /// The SIGKILL came at once, on a second signal, not at the end of a grace period.
    pub killed_at_once: bool,
    pub leftovers: Vec<Leftover>,
    /// Problems with our own outputs (e.g. stdout closed); the log still has everything.
    pub output_errors: Vec<String>,
    /// The command's stdout and stderr ended in the middle of a line: whatever leakcheck writes
    /// there next starts with a newline, so that it stays a line of its own. With one pipe for
    /// both ([`Pipes::Shared`]), both are that pipe's.
    pub ends_mid_line: [bool; 2],
    /// Our stdout and stderr are one file (a terminal, `2>&1`): a line the command's stdout left
    /// unfinished is the line our stderr would continue.
    pub shared_output: bool,
    /// The log, or our stdout, could not be written (a reader that went away excepted): the
    /// run went on, with a warning in `output_errors`; leakcheck failed (70 where its status
    /// would have been 0).
    pub own_output_failed: bool,
}

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SuperviseError {
    #[error("command not found: {command}")]
    NotFound {
        command: String,
        #[source]
        source: io::Error,
    },
    /// exec's ENOENT for a script that exists: the interpreter of its `#!` line is missing.
    #[error("cannot run {command}: the interpreter its #! line names was not found: {interpreter}")]
    InterpreterNotFound {
        command: String,
        interpreter: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot execute {command}")]
    NotExecutable {
        command: String,
        #[source]
        source: io::Error,
    },
    #[error("starting {command}")]
    Spawn {
        command: String,
        #[source]
        source: io::Error,
    },
    #[error("{what}")]
    Os {
        what: &'static str,
        #[source]
        source: Errno,
    },
    #[error("writing the log")]
    Log(#[source] io::Error),
}

/// Which pipes the child writes its stdout and stderr to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipes {
    /// One pipe each, mirrored to our fd 1 and fd 2: the order between them is reconstructed.
    Separate,
    /// One pipe for both (the child's fd 2 a duplicate of its fd 1), mirrored to our fd 1: the
    /// order is the child's. Its lines reach the sink as [`Stream::Stdout`].
    Shared,
}

impl Pipes {
    /// [`Pipes::Shared`] when our fd 1 and fd 2 are open on the same file (`shared_output`:
    /// same device and inode, one terminal, one pipe, one file, as after `2>&1` or with a
    /// buildbot step's PTY), where the child's two streams would have been one for it too; else
    /// [`Pipes::Separate`].
    fn for_our_outputs(shared_output: bool) -> Self {
        if shared_output {
            Pipes::Shared
        } else {
            Pipes::Separate
        }
    }
}

const FORWARDED: [Signal; 4] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT];

/// Run `cmd` (already set up by `launch`, in its own process group) to the end, with the pipes
/// `Pipes::for_our_outputs` chooses. The command gets SIGKILL if the calling thread exits
/// first (see `die_with`): call it from a thread that lives until it returns.
pub fn run(cmd: Command, grace: Duration, log: File, sink: &mut dyn OutputSink) -> Result<Supervised, SuperviseError> {
    // Asked once: the pipes, the loop's own lines and the caller ([`Supervised::shared_output`])
    // go by one answer.
    let shared_output = same_file(1, 2);
    supervise(cmd, grace, log, sink, Pipes::for_our_outputs(shared_output), shared_output)
}

/// [`run`], with the child's stdout and stderr going to `pipes`.
pub fn run_with(
    cmd: Command,
    grace: Duration,
    log: File,
    sink: &mut dyn OutputSink,
    pipes: Pipes,
) -> Result<Supervised, SuperviseError> {
    supervise(cmd, grace, log, sink, pipes, same_file(1, 2))
}

/// [`run_with`], `shared_output` saying whether our fd 1 and fd 2 are one file.
fn supervise(
    mut cmd: Command,
    grace: Duration,
    log: File,
    sink: &mut dyn OutputSink,
    pipes: Pipes,
    shared_output: bool,
) -> Result<Supervised, SuperviseError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    become_subreaper()?;

    // Our controlling terminal, if any: the command gets it while it runs (see [`Terminal`]).
    let mut terminal = Terminal::controlling();
    let mut mask = SigSet::empty();
    // A signal leakcheck was started with ignored (`nohup`: SIGHUP; a background job of a
    // non-interactive shell: SIGINT, SIGQUIT) stays ignored, and the command inherits that, as
    // it would without leakcheck: blocked, it would be queued and forwarded to no effect, and
    // the tree killed after the grace period.
    for sig in FORWARDED.iter().filter(|&&sig| !is_ignored(sig)).chain([&Signal::SIGCHLD]) {
        mask.add(*sig);
    }
    if terminal.is_some() {
        // `fg` or `bg` (the shell's SIGCONT to our group): the command gets the terminal back
        // if we are in the foreground, and goes on.
        mask.add(Signal::SIGCONT);
    }
    // SIGTTOU blocked, not read: while the command has the terminal we are a background
    // process, whose writes to it (with `stty tostop`) and `tcsetpgrp` would stop us.
    let mut blocked = mask;
    if terminal.is_some() {
        blocked.add(Signal::SIGTTOU);
    }
    // Restored at the end: a caller that keeps them blocked for longer (the binary, until its
    // reports are written) still has them blocked.
    let previous = blocked
        .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
        .map_err(|source| SuperviseError::Os { what: "blocking signals", source })?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|source| SuperviseError::Os { what: "creating a signalfd", source })?;
    // The command's mask: the caller's, not ours (the signals above are blocked for our own
    // handling only).
    let child_mask = CALLER_MASK.get().copied().unwrap_or(previous);

    // The pipes are made here, not by `Command`, so that inotify watches them before the child
    // writes its first byte.
    let pipe = || {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|source| SuperviseError::Os { what: "creating a pipe", source })
    };
    let (reads, order) = match pipes {
        Pipes::Separate => {
            let ((stdout, stdout_write), (stderr, stderr_write)) = (pipe()?, pipe()?);
            cmd.stdout(Stdio::from(stdout_write)).stderr(Stdio::from(stderr_write));
            let order = WriteOrder::watch([stdout.as_fd(), stderr.as_fd()]);
            (vec![Pipe::new(stdout, Stream::Stdout, 1), Pipe::new(stderr, Stream::Stderr, 2)], order)
        }
        Pipes::Shared => {
            // As `2>&1`: fd 2 shares fd 1's open file description.
            let (both, write) = pipe()?;
            let second = write
                .try_clone()
                .map_err(|_| SuperviseError::Os { what: "duplicating a pipe", source: Errno::last() })?;
            cmd.stdout(Stdio::from(write)).stderr(Stdio::from(second));
            (vec![Pipe::new(both, Stream::Stdout, 1)], None)
        }
    };
    let leakcheck = nix::unistd::getpid();
    // The terminal is ours (our group is its foreground group): the command takes it in its
    // own group before exec, as a shell's job does, so that nothing it does before we could
    // give it (a read: SIGTTIN) finds it in the background.
    let give = terminal.as_ref().filter(|t| t.ours()).map(|t| (t.tty.as_raw_fd(), t.own));
    // SAFETY: the closure only calls pthread_sigmask, tcgetpgrp, tcsetpgrp (ioctls), getpid,
    // prctl and getppid, which are async-signal-safe, between fork and exec; it allocates
    // nothing and touches no lock.
    unsafe {
        cmd.pre_exec(move || {
            if let Some((tty, ours)) = give {
                with_sigttou_blocked(|| {
                    if libc::tcgetpgrp(tty) == ours.as_raw() {
                        libc::tcsetpgrp(tty, libc::getpid());
                    }
                });
            }
            child_mask.thread_set_mask().map_err(io::Error::from)?;
            die_with(leakcheck)
        });
    }
    let outsiders = Outsiders::before_spawn();
    let spawned = cmd.spawn();
    // `cmd` holds the pipes' write ends: close ours, or the pipes never reach end of file.
    drop(cmd);
    let mut child = match spawned {
        Ok(child) => child,
        Err(source) => {
            // The child may have taken the terminal before its exec failed: taken back (the
            // group it gave it to is gone) when `terminal` is dropped, before our mask is back.
            if let Some(terminal) = terminal.as_mut() {
                terminal.gave = give.is_some();
            }
            drop(terminal);
            let _ = previous.thread_set_mask();
            return Err(spawn_error(program, source));
        }
    };
    if let Some(terminal) = terminal.as_mut() {
        terminal.command = Some(Pid::from_raw(child.id() as i32));
        terminal.gave = give.is_some();
    }
    let reading = Reading { pipes: reads, order, shared_output };
    let result = Loop::new(&mut child, grace, log, signals, reading, outsiders, terminal).run(sink);
    let _ = previous.thread_set_mask();
    result
}

/// Our controlling terminal, shared with the command as a shell shares it with a job: when our
/// process group is its foreground group, the command's group gets it (`tcsetpgrp`) while the
/// command runs, so that it reads the terminal (`input()`, `pdb`), sets its modes and gets
/// Ctrl-C, Ctrl-\ and Ctrl-Z as it would without leakcheck. When the command stops for the
/// terminal (Ctrl-Z: SIGTSTP to its group; SIGTTIN, SIGTTOU), leakcheck takes the terminal back
/// and stops itself with the same signal, so that the shell sees the job stopped; continued (`fg`,
/// `bg`, `kill -CONT`), it gives the terminal back if it is in the foreground and continues the
/// command's group. The terminal is taken back when the command exits, and on every way out of
/// the supervision (an error, a panic: `Drop`). Without a controlling terminal (a buildbot's
/// pipes) there is none of this.
///
/// A SIGSTOP of the command (`kill -STOP`, a test stopping itself) is not the terminal's: it is
/// not followed, and the hang watch reports a process that nothing continues. Ctrl-C and
/// Ctrl-\ go to the command's group only, as without leakcheck: leakcheck sees how the command
/// ended, not the signal (the report's `interrupted_by` stays empty).
#[derive(Debug)]
struct Terminal {
    /// `/dev/tty`, our controlling terminal.
    tty: OwnedFd,
    /// Our process group.
    own: Pid,
    /// The command's process group (its pid), once it is started.
    command: Option<Pid>,
    /// The command's group was given the terminal (or took it before exec) and has not given
    /// it back.
    gave: bool,
}

impl Terminal {
    /// Our controlling terminal, or None when we have none (`/dev/tty` cannot be opened).
    fn controlling() -> Option<Self> {
        let tty = nix::fcntl::open(
            "/dev/tty",
            nix::fcntl::OFlag::O_RDWR | nix::fcntl::OFlag::O_NOCTTY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ok()?;
        Some(Self { tty, own: nix::unistd::getpgrp(), command: None, gave: false })
    }

    /// The terminal's foreground process group.
    fn foreground(&self) -> Option<Pid> {
        // SAFETY: tcgetpgrp only reads the terminal's state.
        let group = unsafe { libc::tcgetpgrp(self.tty.as_raw_fd()) };
        (group > 0).then(|| Pid::from_raw(group))
    }

    /// Whether our group is the terminal's foreground group.
    fn ours(&self) -> bool {
        self.foreground() == Some(self.own)
    }

    /// Make `group` the foreground group (SIGTTOU blocked: we may be in the background).
    fn set_foreground(&self, group: Pid) -> bool {
        // SAFETY: tcsetpgrp only changes the terminal's foreground group.
        with_sigttou_blocked(|| unsafe { libc::tcsetpgrp(self.tty.as_raw_fd(), group.as_raw()) } == 0)
    }

    /// Give the terminal to the command's group, if ours has it (not after `bg`).
    fn give(&mut self) -> bool {
        let Some(command) = self.command else { return false };
        if self.ours() && self.set_foreground(command) {
            self.gave = true;
        }
        self.gave
    }

    /// Take the terminal back from the command's group, if it has it still (or the group it
    /// went to is gone: a command whose exec failed); not from anyone else (the shell, after
    /// `bg`).
    fn take_back(&mut self) {
        if !std::mem::take(&mut self.gave) {
            return;
        }
        let Some(foreground) = self.foreground() else { return };
        let gone = || killpg(foreground, None) == Err(Errno::ESRCH);
        if foreground != self.own && (Some(foreground) == self.command || gone()) {
            self.set_foreground(self.own);
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.take_back();
    }
}

/// Run `f` with SIGTTOU blocked in the calling thread (`tcsetpgrp` from a background group, a
/// write to the terminal with `tostop`), and the thread's mask as it was after. Async-signal-safe
/// (pthread_sigmask only), for the child before exec too.
fn with_sigttou_blocked<T>(f: impl FnOnce() -> T) -> T {
    let mut sigttou = SigSet::empty();
    sigttou.add(Signal::SIGTTOU);
    let before = sigttou.thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK).ok();
    let result = f();
    if let Some(before) = before {
        let _ = before.thread_set_mask();
    }
    result
}

/// Stop this process with `signal` (SIGTSTP, SIGTTIN or SIGTTOU: the one that stopped the
/// command, so that the shell says "Stopped", "Stopped (tty input)"...), its default action for
/// the time of the stop whatever our disposition and mask; return once continued. A process
/// group that is orphaned (no parent outside it in the session: nobody could continue it)
/// discards these signals: then this returns at once, as the command would not have stopped
/// without leakcheck.
fn stop_self(signal: Signal) {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler};
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: SIG_DFL installs no handler; the previous action is put back below.
    let previous = unsafe { sigaction(signal, &default) };
    let mut only = SigSet::empty();
    only.add(signal);
    let mask = only.thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_UNBLOCK);
    // To this thread, where it is unblocked: the whole process stops before raise returns.
    let _ = nix::sys::signal::raise(signal);
    if let Ok(mask) = mask {
        let _ = mask.thread_set_mask();
    }
    if let Ok(previous) = previous {
        // SAFETY: the action read above, as it was.
        let _ = unsafe { sigaction(signal, &previous) };
    }
}

/// Whether `pid` is stopped by a signal (state T), not by a tracer (t: the hang watch's
/// inspection).
fn is_stopped(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| parse_stat(&stat))
        .is_some_and(|(state, _, _)| state == 'T')
}

/// Whether `signal`'s disposition is SIG_IGN (inherited through exec: `nohup`, `&` in a script).
fn is_ignored(signal: Signal) -> bool {
    let mut current = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a NULL new action only reads the disposition into `current`, a valid, writable
    // sigaction; `signal` is a valid signal number.
    let read = unsafe { libc::sigaction(signal as libc::c_int, std::ptr::null(), current.as_mut_ptr()) };
    // SAFETY: sigaction filled `current` when it returned 0; zeroed memory is a valid sigaction.
    read == 0 && unsafe { current.assume_init() }.sa_sigaction == libc::SIG_IGN
}

/// Block, in the calling thread, the signals [`run`] forwards, for good: a SIGTERM that comes
/// after the command ended (buildbot's, while leakcheck writes its reports) then waits,
/// unhandled, until the process exits, instead of killing it before its reports are written.
/// For a program (the binary) whose only work after the run is reporting.
/// The first call records the mask the thread had before (the caller's: see [`CALLER_MASK`]).
pub fn block_forwarded_signals() {
    let mut mask = SigSet::empty();
    for sig in FORWARDED {
        mask.add(sig);
    }
    if let Ok(before) = mask.thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK) {
        let _ = CALLER_MASK.set(before);
    }
}

/// The signal mask leakcheck was started with, before [`block_forwarded_signals`] blocked the
/// signals it handles itself: the command's mask, as it would have been without leakcheck (a
/// caller that blocks SIGUSR2 has it blocked in the command too). Without that call (a library
/// caller), the mask the thread had when [`run`] began.
static CALLER_MASK: std::sync::OnceLock<SigSet> = std::sync::OnceLock::new();

/// In the child, before exec: SIGKILL when leakcheck dies. The child leads a process group of
/// its own, so nothing else ends it when leakcheck is SIGKILLed (buildbot-worker does that
/// `sigtermTime` after its SIGTERM, or at once without one), and a command stuck in a deadlock
/// would run forever. The setting survives execve (not into a set-user-ID program), and the
/// kernel sends the signal when the *thread* that forked the child exits: [`run`] forks in the
/// calling thread and returns only once the child is reaped, so that thread outlives it. If
/// leakcheck died before the setting took effect, the child is already an orphan: it exits.
fn die_with(leakcheck: Pid) -> io::Result<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a flag on the calling process.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if nix::unistd::getppid() != leakcheck {
        // SAFETY: _exit is async-signal-safe; nobody is left to read an error from us.
        unsafe { libc::_exit(ORPHANED) };
    }
    Ok(())
}

/// The status of a child whose leakcheck died before it could exec (nobody sees it).
const ORPHANED: i32 = 125;

fn spawn_error(command: String, source: io::Error) -> SuperviseError {
    match source.kind() {
        io::ErrorKind::NotFound => match missing_interpreter(&command) {
            Some(interpreter) => SuperviseError::InterpreterNotFound { command, interpreter, source },
            None => SuperviseError::NotFound { command, source },
        },
        io::ErrorKind::PermissionDenied => SuperviseError::NotExecutable { command, source },
        _ if source.raw_os_error() == Some(libc::ENOEXEC) => SuperviseError::NotExecutable { command, source },
        _ => SuperviseError::Spawn { command, source },
    }
}

/// The interpreter named by the `#!` line of `command`'s file (a path as given, else the
/// first file of that name in `$PATH`, as exec looked it up), when there is such a file: exec
/// fails with ENOENT for a script that exists when its interpreter does not.
fn missing_interpreter(command: &str) -> Option<String> {
    use std::io::Read as _;
    let path = if command.contains('/') {
        std::path::PathBuf::from(command)
    } else {
        std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(command)).find(|p| p.is_file())?
    };
    let mut head = [0u8; 256];
    let read = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let line = head[..read].strip_prefix(b"#!")?.split(|&b| b == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    let interpreter = line.split([' ', '\t', '\r']).find(|word| !word.is_empty())?;
    Some(interpreter.to_owned())
}

fn become_subreaper() -> Result<(), SuperviseError> {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) only sets a flag on this process.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    if rc != 0 {
        return Err(SuperviseError::Os { what: "becoming a child subreaper", source: Errno::last() });
    }
    Ok(())
}

/// One of the child's output pipes.
struct Pipe {
    fd: Option<OwnedFd>,
    stream: Stream,
    /// Bytes of the current, unfinished line.
    partial: Vec<u8>,
    /// Where the bytes go unchanged (our fd 1 or 2); None after a write error.
    mirror: Option<Mirror>,
    /// Bytes read and not yet written to `mirror` (the command's, and our own lines after
    /// [`Action::Say`]), oldest first: written as our fd takes them, never waited for. Past
    /// [`QUEUE_BOUND`] the pipe is not read: the command waits, as it would for our reader.
    queue: Vec<u8>,
    /// Where in `queue` our own lines are ([`Loop::say`]): not the command's output, and not
    /// in the log.
    own: Vec<std::ops::Range<usize>>,
    /// The last byte written to our fd was not a newline (with `shared_output`, the last byte
    /// written to that file through either pipe's mirror): what our fd's reader got, not what
    /// was read, so that leakcheck's own lines after it start a line.
    mid_line: bool,
    /// What the reader of our fd did not get once waiting for it was given up
    /// ([`Loop::drop_unread_output`]): the `mirror` is gone then.
    dropped: Option<Dropped>,
    /// Bytes were added to `partial` since the sink was last told (see
    /// [`OutputSink::unfinished_line`]).
    partial_grew: bool,
}

impl Pipe {
    fn new(fd: OwnedFd, stream: Stream, mirror: RawFd) -> Self {
        set_nonblocking(fd.as_raw_fd());
        Self {
            fd: Some(fd),
            stream,
            partial: Vec::new(),
            mirror: Some(Mirror::new(mirror)),
            queue: Vec::new(),
            own: Vec::new(),
            mid_line: false,
            dropped: None,
            partial_grew: false,
        }
    }

    /// Whether the pipe is left unread for now: what it gave waits for our reader.
    fn held(&self) -> bool {
        self.queue.len() >= QUEUE_BOUND
    }

    /// Whether what was queued for our fd, or else what was written to it, ends mid-line:
    /// what a line queued now would continue.
    fn queued_mid_line(&self) -> bool {
        self.queue.last().map_or(self.mid_line, |&last| last != b'\n')
    }

    /// How many bytes of `queue` are the command's (not our own lines).
    fn queued_output(&self) -> usize {
        self.queue.len() - self.own.iter().map(|range| range.len()).sum::<usize>()
    }
}

/// What of a pipe's output our fd's reader did not get (see [`Pipe::dropped`]).
struct Dropped {
    /// Our fd.
    fd: RawFd,
    /// The command's bytes: those waiting for the reader when waiting was given up, and all
    /// read after.
    bytes: u64,
    why: String,
}

/// How the warnings name a pipe's stream: `both`, the one pipe for stdout and stderr.
fn stream_name(stream: Stream, both: bool) -> &'static str {
    match stream {
        _ if both => "stdout and stderr",
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    }
}

/// The most of a stream's output that waits for our own reader (see [`Pipe::queue`]) before
/// the loop stops reading the command's pipe.
const QUEUE_BOUND: usize = 1 << 18;

/// Our fd 1 or 2, written without ever blocking the loop: a reader that does not read
/// (`leakcheck ... | sleep 30`) must not stop the hang watch, the signals or the reaping.
/// Setting O_NONBLOCK on fd 1 itself would change the open file that the shell and others
/// share with us; instead a pipe or terminal is opened anew, non-blocking, through
/// `/proc/self/fd`, a socket is written with `MSG_DONTWAIT`, and anything else (a regular file,
/// `/dev/null`) is written as it is, which does not wait for a reader.
struct Mirror {
    /// Our fd (1 or 2), for messages and for writes when there is no `nonblocking`.
    fd: RawFd,
    /// The same pipe or terminal, opened anew with O_NONBLOCK.
    nonblocking: Option<OwnedFd>,
    socket: bool,
    /// A pipe or terminal that could not be opened anew: written a pipe buffer at a time, only
    /// when poll said it was writable (a pipe then takes that much without waiting).
    guarded: bool,
}

impl Mirror {
    fn new(fd: RawFd) -> Self {
        // SAFETY: fds 1 and 2 stay open for our whole life.
        let stat = nix::sys::stat::fstat(unsafe { BorrowedFd::borrow_raw(fd) }).ok();
        let kind = stat.map(|st| st.st_mode & libc::S_IFMT);
        let socket = kind == Some(libc::S_IFSOCK);
        // SAFETY: isatty only looks at the fd.
        let waits = kind == Some(libc::S_IFIFO) || kind == Some(libc::S_IFCHR) && unsafe { libc::isatty(fd) } == 1;
        let nonblocking = waits.then(|| reopen_nonblocking(fd)).flatten();
        Self { fd, guarded: waits && nonblocking.is_none(), nonblocking, socket }
    }

    /// The fd to poll for POLLOUT.
    fn poll_fd(&self) -> RawFd {
        self.nonblocking.as_ref().map_or(self.fd, AsRawFd::as_raw_fd)
    }

    /// Write what our fd takes now of `bytes`: Ok(0) when it takes nothing (EAGAIN).
    /// `writable`: poll just said so (needed for a `guarded` fd).
    fn write_some(&self, bytes: &[u8], writable: bool) -> io::Result<usize> {
        if bytes.is_empty() || self.guarded && !writable {
            return Ok(0);
        }
        loop {
            let n = if self.socket {
                // SAFETY: `bytes` is a valid buffer of its length.
                unsafe {
                    libc::send(self.fd, bytes.as_ptr().cast(), bytes.len(), libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
                }
            } else {
                let len = if self.guarded { bytes.len().min(libc::PIPE_BUF) } else { bytes.len() };
                // SAFETY: `bytes` is a valid buffer of at least `len` bytes.
                unsafe { libc::write(self.poll_fd(), bytes.as_ptr().cast(), len) }
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            match Errno::last() {
                Errno::EINTR => continue,
                Errno::EAGAIN => return Ok(0),
                err => return Err(io::Error::from(err)),
            }
        }
    }
}

/// `fd` (a pipe or a terminal) opened anew, write-only and non-blocking; None when it cannot be
/// (its reader gone: ENXIO; no `/proc`).
fn reopen_nonblocking(fd: RawFd) -> Option<OwnedFd> {
    nix::fcntl::open(
        format!("/proc/self/fd/{fd}").as_str(),
        nix::fcntl::OFlag::O_WRONLY
            | nix::fcntl::OFlag::O_NONBLOCK
            | nix::fcntl::OFlag::O_NOCTTY
            | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ok()
}

struct Loop<'a> {
    child: &'a mut Child,
    pgid: Pid,
    grace: Duration,
    /// `None` once a write failed: the log is then left as it was (see [`Loop::log_failed`]).
    log: Option<BufWriter<CountedFile>>,
    signals: SignalFd,
    /// stdout's and stderr's, or one for both (see [`Pipes`]).
    pipes: Vec<Pipe>,
    /// None when inotify could not watch the pipes (batches are then merged by sections only),
    /// or with one pipe.
    order: Option<WriteOrder>,
    exit: Option<ChildExit>,
    /// The first terminating signal leakcheck received, and who sent it: the same again from
    /// the same process is a copy of it (see [`Request`]).
    first_request: Option<Request>,
    /// A sink ended the tree ([`Action::EndTree`]: a hang of the command), and whether that was
    /// before [`Self::first_request`] came.
    ended_tree: bool,
    request_after_end: bool,
    /// After a terminating signal, when what still waits for our readers is dropped (see
    /// [`Loop::drop_unread_output`]): [`LAST_OUTPUT_AFTER_SIGNAL`] after the command's exit,
    /// at once on a second signal.
    mirror_deadline: Option<Instant>,
    /// When set, SIGKILL everything at this instant.
    kill_at: Option<Instant>,
    /// When set (a forwarded SIGINT, SIGHUP or SIGQUIT), SIGTERM everything at this instant,
    /// and SIGKILL a grace period later.
    term_at: Option<Instant>,
    killed_at_once: bool,
    killed: bool,
    leftovers: Vec<Leftover>,
    behind: Behind,
    /// Processes alive when the child exited after a forwarded signal, still within its grace
    /// period: leftovers only if they outlive it.
    signalled: Vec<Leftover>,
    /// When no process of the tree is left but the pipes are still open, when to stop reading
    /// them.
    outsider_deadline: Option<Instant>,
    /// After SIGKILL, how long we keep waiting for descendants (one stuck in uninterruptible
    /// sleep would otherwise hold us forever).
    give_up_at: Option<Instant>,
    /// Processes a sink asked to end, and when they get SIGKILL.
    ending: Vec<(Vec<i32>, Instant)>,
    /// Every process a sink's action ended: never a leftover.
    claimed: BTreeSet<i32>,
    /// Our stdout and stderr are the same file (a terminal, buildbot's pipe): a line the
    /// command's stdout left unfinished is on our stderr's line too.
    shared_output: bool,
    next_tick: Instant,
    /// A pipe was left unread at the last turn that read the write events: the next ones may
    /// be of bytes read at another turn (see `run`).
    order_stale: bool,

    output_errors: Vec<String>,
    own_output_failed: bool,
    /// Our processes that are not the command's: never signalled, never leftovers.
    outsiders: Outsiders,
    /// Our controlling terminal, shared with the command (see [`Terminal`]); None without one:
    /// then stops of the command are not looked at.
    terminal: Option<Terminal>,
    /// The command stopped with this signal (state T), seen by [`Loop::reap`]: the loop stops
    /// too (see [`Loop::follow_stop`]).
    stopped: Option<Signal>,
}

/// The log file, counting the bytes it took.
struct CountedFile {
    file: File,
    written: u64,
}

impl Write for CountedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// What a poll entry of the loop is for.
enum Owner {
    /// A pipe of the command, for reading.
    Pipe(usize),
    /// Our fd a pipe is mirrored to, while output waits for it.
    Mirror(usize),
    Signals,
}

/// How long the command's last output may wait for our reader once leakcheck received a
/// terminating signal (see `Loop::finish_mirroring`).
const LAST_OUTPUT_AFTER_SIGNAL: Duration = Duration::from_secs(1);

/// The least time the pipes are read once no process of the tree is left, before what still
/// holds them open counts as a process outside the tree ([`Loop::after_exit`]): with `--grace
/// 0` the end of file of a process just killed would otherwise not have been read yet.
const OUTSIDER_MIN_WAIT: Duration = Duration::from_millis(200);

/// How long to wait for descendants after SIGKILL.
const AFTER_KILL: Duration = Duration::from_secs(5);

/// How long the processes alive when the command exits get to exit by themselves before they
/// count as left behind (at most the grace period). Some are on their way out already:
/// multiprocessing's forkserver and resource tracker exit about 50 ms after the main process,
/// when they see their pipe from it close. Meanwhile the loop reads the pipes and reaps as
/// usual, and moves on once the last of them is gone: a run that leaves nothing behind does not
/// wait at all.
const SETTLE: Duration = Duration::from_secs(1);

/// Where the judgement of what the command left behind stands.
enum Behind {
    /// The command runs, or its exit has not been looked at yet.
    Unseen,
    /// Processes were alive when it exited: those still alive `until` then are leftovers.
    /// `names`: their command lines as read when it exited (an exiting process loses its own).
    Settling { until: Instant, names: BTreeMap<i32, String> },
    /// Leftovers listed and being ended, none found, or left to `signalled`.
    Judged,
}

/// How the loop reads the command's output: its pipes, the order in which they were written
/// (separate pipes), and whether our stdout and stderr are one file.
struct Reading {
    pipes: Vec<Pipe>,
    order: Option<WriteOrder>,
    shared_output: bool,
}

impl<'a> Loop<'a> {
    fn new(
        child: &'a mut Child,
        grace: Duration,
        log: File,
        signals: SignalFd,
        reading: Reading,
        outsiders: Outsiders,
        terminal: Option<Terminal>,
    ) -> Self {
        let Reading { pipes, order, shared_output } = reading;
        let pgid = Pid::from_raw(child.id() as i32);
        Self {
            child,
            pgid,
            grace,
            log: Some(BufWriter::with_capacity(1 << 16, CountedFile { file: log, written: 0 })),
            signals,
            pipes,
            order,
            exit: None,
            first_request: None,
            ended_tree: false,
            request_after_end: false,
            mirror_deadline: None,
            kill_at: None,
            term_at: None,
            killed_at_once: false,
            killed: false,
            leftovers: Vec::new(),
            behind: Behind::Unseen,
            signalled: Vec::new(),
            outsider_deadline: None,
            give_up_at: None,
            ending: Vec::new(),
            claimed: BTreeSet::new(),
            shared_output,
            next_tick: Instant::now() + TICK,
            order_stale: false,
            output_errors: Vec::new(),
            own_output_failed: false,
            outsiders,
            terminal,
            stopped: None,
        }
    }

    fn run(mut self, sink: &mut dyn OutputSink) -> Result<Supervised, SuperviseError> {
        // What each pipe gave in a turn, kept for the next turns' reads.
        let mut reads = [PipeRead::default(), PipeRead::default()];
        loop {
            if self.exit.is_some() && self.after_exit(sink)? {
                break;
            }
            if self.killed && self.exit.is_none() {
                self.kill_again(&self.outsiders.live_descendants());
            }

            let mut wake = self.next_tick;
            if let Some(at) = self.kill_at.into_iter().chain(self.term_at).min() {
                wake = wake.min(at);
            }
            for (_, at) in &self.ending {
                wake = wake.min(*at);
            }
            let timeout = if self.exit.is_some() || self.killed {
                // Woken at the deadline for our readers, if it is still to come.
                let turn = Duration::from_millis(100);
                let left = self.mirror_deadline.map(|at| at.saturating_duration_since(Instant::now()));
                let turn = left.filter(|left| !left.is_zero()).map_or(turn, |left| turn.min(left));
                PollTimeout::try_from(turn).unwrap_or(PollTimeout::MAX)
            } else {
                PollTimeout::try_from(wake.saturating_duration_since(Instant::now())).unwrap_or(PollTimeout::MAX)
            };
            let (ready_pipes, writable, signal_ready) = {
                let mut fds: Vec<PollFd> = Vec::with_capacity(5);
                let mut owners: Vec<Owner> = Vec::with_capacity(5);
                for (i, pipe) in self.pipes.iter().enumerate() {
                    // A pipe whose output waits for our reader is not read meanwhile.
                    if let Some(fd) = pipe.fd.as_ref().filter(|_| !pipe.held()) {
                        fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                        owners.push(Owner::Pipe(i));
                    }
                    if let Some(mirror) = pipe.mirror.as_ref().filter(|_| !pipe.queue.is_empty()) {
                        // SAFETY: our fds 1 and 2, and `nonblocking`, outlive this block.
                        let fd = unsafe { BorrowedFd::borrow_raw(mirror.poll_fd()) };
                        fds.push(PollFd::new(fd, PollFlags::POLLOUT));
                        owners.push(Owner::Mirror(i));
                    }
                }
                // SAFETY: the signalfd outlives this block.
                let sfd = unsafe { BorrowedFd::borrow_raw(self.signals.as_raw_fd()) };
                fds.push(PollFd::new(sfd, PollFlags::POLLIN));
                owners.push(Owner::Signals);
                match poll(&mut fds, timeout) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(source) => return Err(SuperviseError::Os { what: "poll", source }),
                }
                let mut ready = Vec::new();
                let mut writable = vec![false; self.pipes.len()];
                let mut signal_ready = false;
                for (pfd, owner) in fds.iter().zip(owners) {
                    let revents = pfd.revents().unwrap_or(PollFlags::empty());
                    if revents.is_empty() {
                        continue;
                    }
                    match owner {
                        Owner::Pipe(i) => ready.push(i),
                        Owner::Mirror(i) => writable[i] = true,
                        Owner::Signals => signal_ready = true,
                    }
                }
                (ready, writable, signal_ready)
            };
            // Before the pipes: the events of every write whose bytes are about to be read. Then
            // every open pipe is read, not only those poll found ready: the events cover writes
            // to both, and bytes left unread would come next turn without theirs. While a pipe is
            // left unread (its output waits for our reader), the events are read and dropped:
            // they are of bytes read at another turn, and the batches are merged by sections.
            let held = self.pipes.iter().any(|p| p.fd.is_some() && p.held());
            let runs = if ready_pipes.is_empty() {
                None
            } else {
                let runs = self.order.as_mut().and_then(WriteOrder::runs);
                let stale = std::mem::replace(&mut self.order_stale, held);
                runs.filter(|_| !stale && !held)
            };
            self.order_stale |= held;
            let ready_pipes: Vec<usize> = match runs {
                Some(_) => (0..self.pipes.len()).filter(|&i| self.pipes[i].fd.is_some()).collect(),
                None => ready_pipes,
            };
            if ready_pipes.len() > 1 {
                // Both pipes may hold output, and pipes keep no order between them: read both,
                // then put their lines in the order of the writes. When only one of them gave
                // lines (a command writing to stdout alone), they are the merged order as they
                // are, and go to the sink as they came, without being batched and classified.
                for &i in &ready_pipes {
                    reads[i].closed = self.read_pipe(i, &mut reads[i].bytes);
                }
                let with_lines = ready_pipes.iter().filter(|&&i| reads[i].gives_lines(&self.pipes[i])).count();
                if with_lines <= 1 {
                    for &i in &ready_pipes {
                        self.take_read(i, &mut reads[i], &mut Lines::Sink(&mut *sink))?;
                    }
                } else {
                    let mut batches = [Vec::new(), Vec::new()];
                    for &i in &ready_pipes {
                        self.take_read(i, &mut reads[i], &mut Lines::Batch(&mut batches[i]))?;
                    }
                    let [stdout, stderr] = batches;
                    let merged = match runs {
                        Some(runs) => {
                            order_by_runs(&runs, stdout, stderr, |stream, line| sink.starts_write(stream, line))
                        }
                        None => Err((stdout, stderr)),
                    };
                    let merged = merged.unwrap_or_else(|(stdout, stderr)| {
                        merge_batches(stdout, stderr, |stream, line, first| sink.starts_section(stream, line, first))
                    });
                    for line in merged {
                        self.emit(&mut Lines::Sink(&mut *sink), line.stream, &line.text, line.newline)?;
                    }
                }
            } else {
                for i in ready_pipes {
                    self.drain(i, &mut reads[i], &mut Lines::Sink(&mut *sink))?;
                }
            }
            for pipe in &mut self.pipes {
                if std::mem::take(&mut pipe.partial_grew) && !pipe.partial.is_empty() {
                    sink.unfinished_line(pipe.stream, &pipe.partial);
                }
            }
            for (index, writable) in writable.into_iter().enumerate() {
                self.flush_mirror(index, writable, sink)?;
            }
            if signal_ready {
                self.handle_signals(sink);
            }
            if self.term_at.is_some_and(|at| Instant::now() >= at) {
                // The forwarded signal did not end the tree within the grace period: as for
                // leftovers, SIGTERM, then SIGKILL a grace period later (once: leftovers found
                // now got theirs with the rest of the tree).
                self.term_at = None;
                let terminated = self.end_leftovers();
                self.outlived_their_signal();
                if !terminated {
                    self.terminate_all();
                    self.kill_by(Instant::now() + self.grace);
                }
            }
            if let Some(at) = self.kill_at {
                if Instant::now() >= at {
                    // The settle period, if any, ends here: what is alive is killed.
                    let _ = self.end_leftovers();
                    self.outlived_their_signal();
                    let outliving: Vec<i32> = self.outsiders.live_descendants();
                    self.kill_all(Signal::SIGKILL);
                    sink.killed_after_grace(&outliving, self.grace);
                    self.killed = true;
                    self.kill_at = None;
                    self.term_at = None;
                    self.give_up_at = Some(Instant::now() + AFTER_KILL);
                }
            }
            let now = Instant::now();
            let mut outliving = Vec::new();
            self.ending.retain(|(pids, at)| {
                if now >= *at {
                    for &pid in pids {
                        // Still there (not a zombie its parent has yet to reap): it outlived its
                        // SIGTERM by the grace period.
                        if is_running(pid) {
                            outliving.push(pid);
                        }
                        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
                    }
                    return false;
                }
                true
            });
            if !outliving.is_empty() {
                sink.killed_after_grace(&outliving, self.grace);
            }
            // A stop of the command is followed before the tick: the hang watch must not take
            // a Ctrl-Z for a process nothing continued.
            if self.terminal.is_some() {
                self.reap();
                if let Some(signal) = self.stopped.take() {
                    self.follow_stop(signal, sink)?;
                }
            }
            let now = Instant::now();
            if now >= self.next_tick {
                self.next_tick = now + TICK;
                if self.exit.is_none() {
                    let command = self.child.id() as i32;
                    for action in sink.tick(command) {
                        self.act(action);
                    }
                }
            }
            // SIGCHLD may coalesce, and a reap is cheap: try on every turn.
            self.reap();
        }
        self.flush_log();
        self.finish_mirroring(sink)?;
        let both = self.pipes.len() == 1;
        for pipe in &self.pipes {
            if let Some(Dropped { fd, bytes, why }) = &pipe.dropped {
                self.output_errors.push(format!(
                    "our fd {fd} was not read: the last {bytes} bytes of the command's {} were not written to it \
                     ({why}; the log has them)",
                    stream_name(pipe.stream, both)
                ));
            }
        }
        Ok(Supervised {
            pid: self.child.id() as i32,
            exit: self.exit.unwrap_or(ChildExit::Signaled { signal: Signal::SIGKILL, core_dumped: false }),
            interrupted_by: self.interrupted_by(),
            interrupted_after_end: self.request_after_end,
            killed: self.killed,
            killed_at_once: self.killed_at_once,
            leftovers: self.leftovers,
            output_errors: self.output_errors,
            ends_mid_line: [self.pipes[0].mid_line, self.pipes[self.pipes.len() - 1].mid_line],
            shared_output: self.shared_output,
            own_output_failed: self.own_output_failed,
        })
    }

    /// One turn's check once the child has exited: end what it left behind, kill again what
    /// appeared since SIGKILL, and say whether supervision is over: nothing of the tree is
    /// alive and nobody holds the pipes, or the time to wait for that has run out.
    fn after_exit(&mut self, sink: &mut dyn OutputSink) -> Result<bool, SuperviseError> {
        // Whatever holds the pipes or runs on past the settle period is something the command
        // left behind.
        match self.behind {
            Behind::Unseen => {
                for action in sink.exited(self.child.id() as i32) {
                    self.act(action);
                }
                self.look_behind(sink)
            }
            Behind::Settling { until, .. } if Instant::now() >= until => {
                let _ = self.end_leftovers();
            }
            Behind::Settling { .. } | Behind::Judged => {}
        }
        let survivors = self.outsiders.live_descendants();
        if self.killed {
            self.kill_again(&survivors);
        }
        let now = Instant::now();
        if let Some(signal) = self.interrupted_by() {
            // Our readers are waited for, and the pipes read, for a second at most after a
            // signal: then what waits for them is dropped and the pipes are read to their end.
            let at = *self.mirror_deadline.get_or_insert(now + LAST_OUTPUT_AFTER_SIGNAL);
            if now >= at && self.pipes.iter().any(Pipe::held) {
                self.drop_unread_output(&format!("leakcheck received {}", signal.as_str()));
            }
        }
        let pipes_open = self.pipes.iter().any(|p| p.fd.is_some());
        if survivors.is_empty() {
            if self.pipes.iter().any(|p| p.fd.is_some() && p.held()) {
                // Left unread while their output waits for our reader: not held open by anyone.
                return Ok(false);
            }
            if pipes_open {
                // No process of the tree is left, yet the pipes are held open: by one outside it
                // (given the pipe over a socket, say). Its output is not the command's.
                // Not less than a turn or two of the loop, whatever `--grace` says: the last
                // process may have ended since the pipes were last polled, and their end of file
                // is read only at the next poll.
                let wait = self.grace.max(OUTSIDER_MIN_WAIT);
                let at = *self.outsider_deadline.get_or_insert(now + wait);
                if now < at {
                    return Ok(false);
                }
                self.output_errors.push(format!(
                    "the command's output pipes were still held open {wait:?} after its last process ended, \
                     by a process outside its tree: stopped reading them"
                ));
                self.close_pipes(sink)?;
            }
            // Zombies are no survivors, but reap those that are our children before leaving:
            // one that died since the last turn would outlive us until init got to it.
            self.reap();
            return Ok(true);
        }
        if self.give_up_at.is_some_and(|at| now >= at) {
            self.output_errors.push(format!("processes survived SIGKILL and were left behind: {survivors:?}"));
            if pipes_open {
                self.output_errors.push("they hold the command's output pipes: stopped reading them".into());
                self.close_pipes(sink)?;
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// Once the command's pipes are closed: write what waits for our readers, waiting for them
    /// now, but after a terminating signal only until its [`Loop::mirror_deadline`] (a second
    /// after the command's exit), and not past one that comes meanwhile (a copy of the first
    /// is none: see [`Request`]): the reports are written after this.
    fn finish_mirroring(&mut self, sink: &mut dyn OutputSink) -> Result<(), SuperviseError> {
        let interrupted_by = self.interrupted_by();
        let deadline = &mut self.mirror_deadline;
        let limit = interrupted_by
            .map(|signal| (signal, *deadline.get_or_insert_with(|| Instant::now() + LAST_OUTPUT_AFTER_SIGNAL)));
        loop {
            let waiting: Vec<usize> = (0..self.pipes.len())
                .filter(|&i| self.pipes[i].mirror.is_some() && !self.pipes[i].queue.is_empty())
                .collect();
            if waiting.is_empty() {
                return Ok(());
            }
            let timeout = match limit {
                Some((signal, at)) if Instant::now() >= at => {
                    self.drop_unread_output(&format!("leakcheck received {}", signal.as_str()));
                    return Ok(());
                }
                Some((_, at)) => at.saturating_duration_since(Instant::now()),
                None => TICK,
            };
            let mut writable = vec![false; self.pipes.len()];
            let signal_ready = {
                let mut fds: Vec<PollFd> = Vec::with_capacity(3);
                for &i in &waiting {
                    let fd = self.pipes[i].mirror.as_ref().map_or(-1, Mirror::poll_fd);
                    // SAFETY: our fds 1 and 2, and `nonblocking`, outlive this block.
                    fds.push(PollFd::new(unsafe { BorrowedFd::borrow_raw(fd) }, PollFlags::POLLOUT));
                }
                // SAFETY: the signalfd outlives this block.
                fds.push(PollFd::new(unsafe { BorrowedFd::borrow_raw(self.signals.as_raw_fd()) }, PollFlags::POLLIN));
                match poll(&mut fds, PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX)) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(source) => return Err(SuperviseError::Os { what: "poll", source }),
                }
                let ready = |pfd: &PollFd| !pfd.revents().unwrap_or(PollFlags::empty()).is_empty();
                for (pfd, &i) in fds.iter().zip(&waiting) {
                    writable[i] = ready(pfd);
                }
                fds.last().is_some_and(ready)
            };
            for (index, writable) in writable.into_iter().enumerate() {
                self.flush_mirror(index, writable, sink)?;
            }
            if signal_ready {
                while let Ok(Some(info)) = self.signals.read_signal() {
                    match Signal::try_from(info.ssi_signo as i32) {
                        Ok(Signal::SIGCHLD | Signal::SIGCONT) | Err(_) => {}
                        // The first one's copy (`timeout`'s to our group): no new request.
                        Ok(signal) if self.is_copy(Request::new(signal, info.ssi_code, info.ssi_pid)) => {}
                        Ok(signal) => {
                            self.drop_unread_output(&format!("leakcheck received {}", signal.as_str()));
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    /// SIGKILL, after the tree's, to every process of it still alive: forked between the
    /// snapshot `kill_all` took and the kill of its parent, a process misses that SIGKILL.
    fn kill_again(&self, survivors: &[i32]) {
        for &pid in survivors {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }

    /// Stop reading both pipes, their last partial lines passed on.
    fn close_pipes(&mut self, sink: &mut dyn OutputSink) -> Result<(), SuperviseError> {
        for index in 0..self.pipes.len() {
            if self.pipes[index].fd.is_some() {
                self.close_pipe(index, &mut Lines::Sink(&mut *sink))?;
            }
        }
        Ok(())
    }

    /// Read what a pipe has ([`Loop::read_pipe`]) and pass it on ([`Loop::take_read`]).
    fn drain(&mut self, index: usize, read: &mut PipeRead, lines: &mut Lines<'_>) -> Result<(), SuperviseError> {
        read.closed = self.read_pipe(index, &mut read.bytes);
        self.take_read(index, read, lines)
    }

    /// Read what a pipe has into `bytes` (appended), up to [`MAX_READS_PER_TURN`] reads of
    /// [`READ_SIZE`] (a command that writes without pause must not keep the loop from signals
    /// and ticks) and while what waits for our reader, with `bytes`, is under [`QUEUE_BOUND`].
    /// True at its end of file (or a read error): the pipe is to be closed once `bytes` are
    /// passed on.
    fn read_pipe(&mut self, index: usize, bytes: &mut Vec<u8>) -> bool {
        for _ in 0..MAX_READS_PER_TURN {
            let pipe = &self.pipes[index];
            let queued = if pipe.mirror.is_some() { pipe.queue.len() + bytes.len() } else { 0 };
            if queued >= QUEUE_BOUND {
                return false;
            }
            let Some(fd) = pipe.fd.as_ref().map(|fd| fd.as_raw_fd()) else {
                return false;
            };
            bytes.reserve(READ_SIZE);
            let spare = bytes.spare_capacity_mut();
            // SAFETY: `spare` is writable memory of at least READ_SIZE bytes (reserved above),
            // which read(2) only writes to; `fd` is open.
            let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), READ_SIZE) };
            if n < 0 {
                match Errno::last() {
                    Errno::EINTR => continue,
                    Errno::EAGAIN => return false,
                    _ => return true,
                }
            }
            if n == 0 {
                return true;
            }
            // SAFETY: read(2) initialized the first `n` (at most READ_SIZE) bytes of the spare
            // capacity.
            unsafe { bytes.set_len(bytes.len() + n as usize) };
            if (n as usize) < READ_SIZE {
                return false;
            }
        }
        false
    }

    /// What [`Loop::read_pipe`] read: queued for our fd, cut into lines for `lines`; at the
    /// pipe's end its last partial line passed on and the pipe closed. `read` is left empty.
    fn take_read(&mut self, index: usize, read: &mut PipeRead, lines: &mut Lines<'_>) -> Result<(), SuperviseError> {
        if !read.bytes.is_empty() {
            self.mirror(index, &read.bytes);
            self.split_lines(index, &read.bytes, lines)?;
            read.bytes.clear();
        }
        if std::mem::take(&mut read.closed) {
            self.close_pipe(index, lines)?;
        }
        Ok(())
    }

    /// Queue `chunk` for our own stdout or stderr (see [`Pipe::queue`]), unless a write failed
    /// before.
    fn mirror(&mut self, index: usize, chunk: &[u8]) {
        let pipe = &mut self.pipes[index];
        if pipe.mirror.is_some() {
            pipe.queue.extend_from_slice(chunk);
        } else if let Some(dropped) = &mut pipe.dropped {
            dropped.bytes += chunk.len() as u64;
        }
    }

    /// Write what our fd takes now of a pipe's queue, without waiting (`writable`: poll said
    /// so). The first error stops the copying for good; a broken pipe (our reader gone,
    /// `leakcheck ... | head -1`) closes the command's pipe too, so that the command gets the
    /// broken pipe it would have got without leakcheck.
    fn flush_mirror(&mut self, index: usize, writable: bool, sink: &mut dyn OutputSink) -> Result<(), SuperviseError> {
        let both = self.pipes.len() == 1;
        let pipe = &mut self.pipes[index];
        let Some(mirror) = &pipe.mirror else { return Ok(()) };
        let mut sent = 0;
        let written = loop {
            match mirror.write_some(&pipe.queue[sent..], writable && sent == 0) {
                Ok(0) => break Ok(()),
                Ok(n) => sent += n,
                Err(err) => break Err(err),
            }
        };
        if let Some(&last) = pipe.queue[..sent].last() {
            let mid_line = last != b'\n';
            pipe.mid_line = mid_line;
            if self.shared_output {
                // One file: its last byte is this one, whichever pipe it came through.
                for pipe in &mut self.pipes {
                    pipe.mid_line = mid_line;
                }
            }
        }
        let pipe = &mut self.pipes[index];
        pipe.queue.drain(..sent);
        pipe.own.retain_mut(|range| {
            *range = range.start.saturating_sub(sent)..range.end.saturating_sub(sent);
            range.start < range.end
        });
        let Err(err) = written else { return Ok(()) };
        let Some(mirror) = &pipe.mirror else { return Ok(()) };
        let fd = mirror.fd;
        pipe.mirror = None;
        pipe.queue = Vec::new();
        pipe.own = Vec::new();
        // Not a reader gone away but output lost (`> /dev/full`): the command would have
        // failed writing it.
        let broken = err.kind() == io::ErrorKind::BrokenPipe;
        self.own_output_failed |= pipe.stream == Stream::Stdout && !broken;
        let what = if broken { "; the command's pipe was closed too, as its reader went away" } else { "" };
        let stream = stream_name(pipe.stream, both);
        self.output_errors.push(format!("writing the command's {stream} to our fd {fd}: {err}{what}"));
        if broken && self.pipes[index].fd.is_some() {
            self.close_pipe(index, &mut Lines::Sink(sink))?;
        }
        Ok(())
    }

    /// Drop what waits for our readers: leakcheck received a terminating signal, and must not
    /// wait for them longer (a buildbot SIGKILLs 30 s after its SIGTERM, and the reports are
    /// written after this). The pipes are read on, into the log and the sink; the warning at
    /// the end counts what the reader did not get, the queue and all read after it
    /// ([`Pipe::dropped`]).
    fn drop_unread_output(&mut self, why: &str) {
        for pipe in &mut self.pipes {
            if pipe.queue.is_empty() {
                continue;
            }
            let Some(mirror) = pipe.mirror.take() else { continue };
            let bytes = pipe.queued_output() as u64;
            pipe.dropped = Some(Dropped { fd: mirror.fd, bytes, why: why.to_owned() });
            pipe.queue = Vec::new();
            pipe.own = Vec::new();
        }
    }

    fn split_lines(&mut self, index: usize, mut chunk: &[u8], lines: &mut Lines<'_>) -> Result<(), SuperviseError> {
        let stream = self.pipes[index].stream;
        while let Some(nl) = memchr::memchr(b'\n', chunk) {
            if self.pipes[index].partial.is_empty() {
                self.emit(lines, stream, &chunk[..nl], true)?;
            } else {
                let mut line = std::mem::take(&mut self.pipes[index].partial);
                line.extend_from_slice(&chunk[..nl]);
                self.emit(lines, stream, &line, true)?;
            }
            chunk = &chunk[nl + 1..];
        }
        self.pipes[index].partial.extend_from_slice(chunk);
        self.pipes[index].partial_grew |= !chunk.is_empty();
        if self.pipes[index].partial.len() >= MAX_LINE {
            let line = std::mem::take(&mut self.pipes[index].partial);
            self.emit(lines, stream, &line, false)?;
        }
        Ok(())
    }

    fn close_pipe(&mut self, index: usize, lines: &mut Lines<'_>) -> Result<(), SuperviseError> {
        self.pipes[index].fd = None;
        if !self.pipes[index].partial.is_empty() {
            let line = std::mem::take(&mut self.pipes[index].partial);
            let stream = self.pipes[index].stream;
            self.emit(lines, stream, &line, false)?;
        }
        self.flush_log();
        Ok(())
    }

    /// `text` (and a newline) to the log, until a write fails.
    fn write_log(&mut self, text: &[u8], newline: bool) {
        let Some(log) = self.log.as_mut() else { return };
        let written = log.write_all(text).and_then(|()| if newline { log.write_all(b"\n") } else { Ok(()) });
        if let Err(err) = written {
            self.log_failed(&err);
        }
    }

    fn flush_log(&mut self) {
        if let Some(Err(err)) = self.log.as_mut().map(Write::flush) {
            self.log_failed(&err);
        }
    }

    /// A write to the log failed (a full disk, `--log /dev/full`): the log is left as it is,
    /// what its buffer held dropped, and the run goes on, output mirrored, read and reported as
    /// ever; one warning says how much of the output the log got.
    fn log_failed(&mut self, err: &io::Error) {
        let Some(log) = self.log.take() else { return };
        let (file, _unwritten) = log.into_parts();
        self.own_output_failed = true;
        self.output_errors.push(format!(
            "writing the log: {err}; stopped writing it: it has the first {} bytes of the command's output \
             (what leakcheck mirrored and read went on, the rest is not in the log)",
            file.written
        ));
    }

    /// One line of `stream` (`newline`: it ended with one) to the log and the sink, or into a
    /// batch.
    fn emit(
        &mut self,
        lines: &mut Lines<'_>,
        stream: Stream,
        text: &[u8],
        newline: bool,
    ) -> Result<(), SuperviseError> {
        match lines {
            Lines::Sink(sink) => {
                self.write_log(text, newline);
                sink.line(stream, text);
            }
            Lines::Batch(batch) => batch.push(BatchLine { stream, text: text.to_vec(), newline }),
        }
        Ok(())
    }

    fn handle_signals(&mut self, sink: &mut dyn OutputSink) {
        while let Ok(Some(info)) = self.signals.read_signal() {
            let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            if signal == Signal::SIGCHLD {
                continue; // reaped after every turn
            }
            if signal == Signal::SIGCONT {
                // Read with a terminal only: `fg` or `bg` of a job started in the background,
                // or the SIGCONT that ended our own stop (followed already).
                self.continue_command();
                continue;
            }
            let request = Request::new(signal, info.ssi_code, info.ssi_pid);
            if self.is_copy(request) {
                // The first request again, from the process that sent it: `timeout`'s copy to
                // our group, say. Not a second request.
                continue;
            }
            if self.first_request.is_none() {
                self.first_request = Some(request);
                self.request_after_end = self.ended_tree;
                sink.interrupted(signal, self.child.id() as i32);
                if signal != Signal::SIGINT {
                    self.signal_the_settling();
                    // What the command's processes left behind before the signal (their parent
                    // gone) is ended by it: a leftover all the same. SIGINT does not reach it
                    // (the group only), and it is judged at the command's exit as ever. A
                    // command exiting now (not reaped yet, or its exit under way when the tree
                    // was read: so checked after that) made its own processes orphans just now:
                    // they get their settle period, as after the exit (`look_behind`).
                    if self.exit.is_none() {
                        let (_, left) = self.split_off_orphans();
                        if is_running(self.child.id() as i32) {
                            self.list_leftovers(left);
                        }
                    }
                }
                self.kill_all(signal);
                // Leftovers being ended keep their earlier deadline.
                if signal == Signal::SIGTERM {
                    self.kill_by(Instant::now() + self.grace);
                } else {
                    self.term_at = Some(Instant::now() + self.grace);
                }
            } else {
                // A second request: no more patience.
                self.killed_at_once |= !self.killed;
                self.kill_at = Some(Instant::now());
                // Nor for our readers.
                self.mirror_deadline = Some(Instant::now());
            }
        }
    }

    /// The first terminating signal leakcheck received, if any.
    fn interrupted_by(&self) -> Option<Signal> {
        self.first_request.map(|request| request.signal)
    }

    /// Whether `request` is a copy of the first request, not a request of its own (see
    /// [`Request::repeats`]).
    fn is_copy(&self, request: Request) -> bool {
        self.first_request.is_some_and(|first| request.repeats(first))
    }

    /// Carry out what a sink asked.
    fn act(&mut self, action: Action) {
        match action {
            // SIGCONT right after SIGTERM, as in `terminate_all`.
            Action::EndProcesses(pids) => {
                self.claimed.extend(pids.iter().copied());
                for &pid in &pids {
                    let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGTERM);
                    let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGCONT);
                }
                self.ending.push((pids, Instant::now() + self.grace));
            }
            Action::EndTree(pids) => {
                self.ended_tree = true;
                self.claimed.extend(pids);
                let (own, left) = self.split_off_orphans();
                self.claimed.extend(own);
                self.list_leftovers(left);
                self.terminate_all();
                self.kill_by(Instant::now() + self.grace);
            }
            Action::Say(text) => self.say(&text),
        }
    }

    /// Our own lines on our stderr, between the command's (see [`Action::Say`]): queued after
    /// what the loop read of stderr's pipe (or of the one pipe for both, the same file), in one
    /// piece: nothing the command writes can land inside them.
    fn say(&mut self, text: &str) {
        // stderr's pipe, or the one pipe for both (mirrored to fd 1, the same file as fd 2).
        let last = self.pipes.len() - 1;
        if self.pipes[last].mirror.is_none() {
            return;
        }
        let mid_line = self.pipes[last].queued_mid_line() || self.shared_output && self.pipes[0].queued_mid_line();
        let mut bytes = Vec::with_capacity(text.len() + 1);
        if mid_line {
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(text.as_bytes());
        if !bytes.ends_with(b"\n") {
            bytes.push(b'\n');
        }
        let pipe = &mut self.pipes[last];
        pipe.own.push(pipe.queue.len()..pipe.queue.len() + bytes.len());
        pipe.queue.extend_from_slice(&bytes);
    }

    /// SIGKILL the tree at `deadline`, or earlier if that was already planned.
    fn kill_by(&mut self, deadline: Instant) {
        self.kill_at = Some(self.kill_at.map_or(deadline, |at| at.min(deadline)));
    }

    /// Send `signal` to the child's group and to every live descendant outside it (`-j`
    /// workers run in sessions of their own), each process once: a second SIGINT would reach
    /// regrtest while it handles the first (stopping its workers) and cut its summary short.
    /// While the child runs, SIGINT goes to its group only, as a terminal's Ctrl-C does:
    /// regrtest stops its workers itself.
    ///
    /// Each process that gets `signal` (but SIGKILL) gets SIGCONT right after it, as `timeout`
    /// and shells send it: a process stopped by a signal (state T: `kill -STOP`, a Ctrl-Z) would
    /// keep it pending until the end of the grace period.
    fn kill_all(&self, signal: Signal) {
        let cont = signal != Signal::SIGKILL;
        let running = self.exit.is_none();
        if running {
            let _ = killpg(self.pgid, signal);
            if cont {
                let _ = killpg(self.pgid, Signal::SIGCONT);
            }
        }
        let descendants = self.outsiders.live_descendants().into_iter().map(|pid| (pid, process_group(pid)));
        for pid in signal_targets(signal, running.then_some(self.pgid.as_raw()), descendants) {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), signal);
            if cont {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGCONT);
            }
        }
    }

    /// SIGTERM to the tree (SIGCONT right after it: see [`Loop::kill_all`]).
    fn terminate_all(&self) {
        self.kill_all(Signal::SIGTERM);
    }

    /// Once the child has exited: what of the tree is alive yet, the sink is told of (while it
    /// is there to look at) and it gets the settle period to exit by itself.
    fn look_behind(&mut self, sink: &mut dyn OutputSink) {
        self.behind = Behind::Judged;
        let pids = self.unclaimed(self.outsiders.live_descendants());
        if pids.is_empty() {
            return;
        }
        sink.left_behind(&pids);
        // Named now: the command line of a process that is exiting is soon gone.
        let names: BTreeMap<i32, String> = pids.iter().map(|&pid| (pid, process_command(pid))).collect();
        // After a forwarded SIGTERM, SIGHUP or SIGQUIT every process had it once and the grace
        // period runs: it is their settle period.
        let grace_runs = self.kill_at.is_some() || self.term_at.is_some();
        if self.interrupted_by().is_some_and(|signal| signal != Signal::SIGINT) && grace_runs {
            self.signalled.extend(names.into_iter().map(|(pid, command)| Leftover { pid, command }));
            return;
        }
        self.behind = Behind::Settling { until: Instant::now() + self.grace.min(SETTLE), names };
    }

    /// At the end of the settle period (or at the SIGKILL deadline, if that comes first): what
    /// of the tree is still alive was left behind. It is listed, gets SIGTERM now (no forwarded
    /// SIGTERM, SIGHUP or SIGQUIT reached it; a SIGINT may have) and SIGKILL after the grace
    /// period. Returns whether it sent the tree SIGTERM.
    fn end_leftovers(&mut self) -> bool {
        let Behind::Settling { mut names, .. } = std::mem::replace(&mut self.behind, Behind::Judged) else {
            return false;
        };
        let alive = self.unclaimed(self.outsiders.live_descendants());
        if alive.is_empty() {
            return false;
        }
        self.leftovers
            .extend(alive.into_iter().map(|pid| Leftover { pid, command: leftover_command(pid, &mut names) }));
        self.terminate_all();
        self.kill_by(Instant::now() + self.grace);
        true
    }

    /// A forwarded SIGTERM, SIGHUP or SIGQUIT that comes within the settle period: the settling
    /// processes are judged as if it had come before the command exited, by whether they outlive
    /// its grace period (`outlived_their_signal`).
    fn signal_the_settling(&mut self) {
        let Behind::Settling { names, .. } = &mut self.behind else {
            return;
        };
        let mut names = std::mem::take(names);
        self.behind = Behind::Judged;
        let alive = self.unclaimed(self.outsiders.live_descendants());
        self.signalled
            .extend(alive.into_iter().map(|pid| Leftover { pid, command: leftover_command(pid, &mut names) }));
    }

    /// `pids` but the processes a sink's action ended, and those already listed as leftovers.
    fn unclaimed(&self, mut pids: Vec<i32>) -> Vec<i32> {
        pids.retain(|pid| !self.claimed.contains(pid) && !self.leftovers.iter().any(|l| l.pid == *pid));
        pids
    }

    /// The live processes of the tree, unclaimed, split into the command's own (it and what is
    /// below it, while it runs) and the others: orphans, re-parented to us when their parent
    /// exited, and what is below them: processes the command left behind. Once the command has
    /// exited, every one is an orphan.
    fn split_off_orphans(&self) -> (Vec<i32>, Vec<i32>) {
        let live = self.unclaimed(self.outsiders.live_descendants());
        if self.exit.is_some() {
            return (Vec::new(), live);
        }
        let below = subtree_of(self.child.id() as i32, &all_processes());
        live.into_iter().partition(|pid| below.contains(pid))
    }

    /// List `pids` as leftovers, with their command lines as they are now (before they are
    /// ended).
    fn list_leftovers(&mut self, pids: Vec<i32>) {
        self.leftovers.extend(pids.into_iter().map(|pid| Leftover { pid, command: process_command(pid) }));
    }

    /// At the end of the grace period, the processes that were still exiting from the
    /// forwarded signal when the command exited and are alive yet: they are leftovers.
    fn outlived_their_signal(&mut self) {
        if self.signalled.is_empty() {
            return;
        }
        let alive = self.outsiders.live_descendants();
        let signalled = std::mem::take(&mut self.signalled);
        self.leftovers.extend(signalled.into_iter().filter(|l| alive.contains(&l.pid)));
    }

    fn reap(&mut self) {
        let main = Pid::from_raw(self.child.id() as i32);
        // With a terminal, stops too (WUNTRACED): the command's is followed as a shell would.
        let flags = match self.terminal {
            Some(_) => WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED,
            None => WaitPidFlag::WNOHANG,
        };
        loop {
            match waitpid(None, Some(flags)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == main => self.exited(ChildExit::Exited(code)),
                Ok(WaitStatus::Signaled(pid, signal, core_dumped)) if pid == main => {
                    self.exited(ChildExit::Signaled { signal, core_dumped })
                }
                // A job-control stop (the terminal's: Ctrl-Z, a read or write of it from the
                // background), not the hang watch's tracing (state t, reported to the tracer
                // anyway). A SIGSTOP (`kill -STOP`, a test stopping itself) is no terminal's:
                // a process nothing continues, which the hang watch reports.
                Ok(WaitStatus::Stopped(pid, signal @ (Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU)))
                    if pid == main && self.exit.is_none() =>
                {
                    if is_stopped(pid.as_raw()) {
                        self.stopped = Some(signal);
                    }
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => {} // an orphan re-parented to us, or a stop/continue report
            }
        }
    }

    /// The command has exited: the terminal is ours again, before anything of ours is printed.
    fn exited(&mut self, exit: ChildExit) {
        self.exit = Some(exit);
        self.stopped = None;
        if let Some(terminal) = self.terminal.as_mut() {
            terminal.take_back();
        }
    }

    /// The command stopped with `signal` while we have a terminal: a SIGTTIN or SIGTTOU while
    /// our group has the terminal (it read it before it was given: not after the `tcsetpgrp`
    /// before its exec, so only when we were in the background then) gives it the terminal and
    /// continues it, as sudo does; any other stop is the job's (Ctrl-Z): the terminal is taken
    /// back, what waits for our outputs is written if they take it, and leakcheck stops with
    /// the same signal. Once continued (`fg`, `bg`), the command gets the terminal if we are in
    /// the foreground, its group SIGCONT, and the sink hears that the time stopped was not the
    /// command's ([`OutputSink::resumed`]).
    fn follow_stop(&mut self, signal: Signal, sink: &mut dyn OutputSink) -> Result<(), SuperviseError> {
        let Some(terminal) = self.terminal.as_mut() else { return Ok(()) };
        if self.exit.is_some() {
            return Ok(());
        }
        if matches!(signal, Signal::SIGTTIN | Signal::SIGTTOU) && terminal.ours() && terminal.give() {
            let _ = killpg(self.pgid, Signal::SIGCONT);
            return Ok(());
        }
        terminal.take_back();
        for index in 0..self.pipes.len() {
            self.flush_mirror(index, false, sink)?;
        }
        stop_self(signal);
        self.continue_command();
        sink.resumed();
        self.next_tick = Instant::now() + TICK;
        Ok(())
    }

    /// We were continued (SIGCONT): the command gets the terminal if we are in the foreground,
    /// and its group SIGCONT.
    fn continue_command(&mut self) {
        if self.exit.is_some() {
            return;
        }
        if let Some(terminal) = self.terminal.as_mut() {
            terminal.give();
        }
        let _ = killpg(self.pgid, Signal::SIGCONT);
    }
}

/// Whether `a` and `b` are open on the same file (one terminal, one pipe).
pub fn same_file(a: RawFd, b: RawFd) -> bool {
    let stat = |fd: RawFd| {
        // SAFETY: fds 1 and 2 stay open for our whole life.
        nix::sys::stat::fstat(unsafe { BorrowedFd::borrow_raw(fd) }).ok().map(|s| (s.st_dev, s.st_ino))
    };
    matches!((stat(a), stat(b)), (Some(x), Some(y)) if x == y)
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: F_GETFL/F_SETFL on an fd we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

/// A terminating signal leakcheck received, and the process that sent it, from the signal's
/// `siginfo` (`ssi_code`, `ssi_pid`): known for a `kill(2)` (`SI_USER`) or a `sigqueue(3)`
/// (`SI_QUEUE`); none for a signal the kernel sends (a terminal's Ctrl-C,
/// `SI_KERNEL`), nor when the kernel gives no pid (a sender in another PID namespace: 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Request {
    signal: Signal,
    sender: Option<u32>,
}

impl Request {
    fn new(signal: Signal, code: i32, pid: u32) -> Self {
        let sent = matches!(code, libc::SI_USER | libc::SI_QUEUE) && pid != 0;
        Self { signal, sender: sent.then_some(pid) }
    }

    /// Whether this signal, received while `first` is being handled, is `first` again rather
    /// than a second request: the same signal from the same process. One request may reach
    /// leakcheck twice: GNU `timeout` (without `--foreground`) sends its signal to leakcheck,
    /// then to its own process group, which holds leakcheck; buildbot-like supervisors signal a
    /// process and its group. Two that arrive before leakcheck reads the first are one
    /// (a pending standard signal is not queued twice); read apart, the second must not count
    /// as someone insisting. Not a copy: another signal (SIGTERM after SIGINT), the same
    /// one from another process (a second `kill` command), and one without a known sender
    /// (a terminal's Ctrl-C pressed twice). A process that means a second request with the
    /// same signal (a shell's built-in `kill` run twice) is not told apart from a copy.
    fn repeats(self, first: Request) -> bool {
        self.sender.is_some() && self == first
    }
}

/// The descendants (`(pid, process group)`) that [`Loop::kill_all`] signals one by one, besides
/// the child's group `group` (None: the child is gone, its group is not signalled).
fn signal_targets(
    signal: Signal,
    group: Option<i32>,
    descendants: impl Iterator<Item = (i32, Option<i32>)>,
) -> Vec<i32> {
    if group.is_some() && signal == Signal::SIGINT {
        return Vec::new();
    }
    descendants.filter(|&(_, pgrp)| group.is_none() || pgrp != group).map(|(pid, _)| pid).collect()
}

/// The process group of `pid`, if it still exists.
fn process_group(pid: i32) -> Option<i32> {
    nix::unistd::getpgid(Some(Pid::from_raw(pid))).ok().map(Pid::as_raw)
}

/// One process as `/proc/PID/stat` shows it.
struct ProcStat {
    pid: i32,
    ppid: i32,
    /// Not a zombie (nor dead).
    live: bool,
    /// Its start time (clock ticks after boot): with the pid, names one process whatever pid is
    /// reused later.
    start: u64,
}

/// Every process of the system, from `/proc/*/stat`.
fn all_processes() -> Vec<ProcStat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut all = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some((state, ppid, start)) = parse_stat(&stat) {
            all.push(ProcStat { pid, ppid, live: state != 'Z' && state != 'X', start });
        }
    }
    all
}

/// `root` and every process below it in `all`.
fn subtree_of(root: i32, all: &[ProcStat]) -> BTreeSet<i32> {
    let mut below = BTreeSet::from([root]);
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for p in all.iter().filter(|p| p.ppid == parent) {
            if below.insert(p.pid) {
                frontier.push(p.pid);
            }
        }
    }
    below
}

/// The processes that are ours but not the command's: our children from before the command was
/// spawned, and what descends from them. A shell runs `leakcheck ... 2> >(tee out.err)` by
/// forking a child that starts the process substitution's reader, then execs leakcheck: the
/// reader is our child before the command exists. Ending it would cut our own summary short.
/// Known by pid and start time (a pid reused later may be the command's). A process forked in
/// such a subtree and orphaned (re-parented to us, the subreaper) before any walk of the tree
/// saw it cannot be told from the command's.
#[derive(Debug, Default)]
pub struct Outsiders {
    known: std::cell::RefCell<BTreeSet<(i32, u64)>>,
}

impl Outsiders {
    /// Our children now: to be called before the command is spawned.
    pub fn before_spawn() -> Self {
        let me = std::process::id() as i32;
        let known = all_processes().into_iter().filter(|p| p.ppid == me).map(|p| (p.pid, p.start)).collect();
        Self { known: std::cell::RefCell::new(known) }
    }

    /// Every live (non-zombie) process of the command's tree, in pid order: below this one,
    /// outsiders and their descendants left out (and remembered as outsiders).
    pub fn live_descendants(&self) -> Vec<i32> {
        let me = std::process::id() as i32;
        let all = all_processes();
        let mut known = self.known.borrow_mut();
        // Dead processes are walked through but not returned: a process whose main thread has
        // exited shows as a zombie while its other threads still run and parent its children
        // (regrtest's `-j` workers, forked from its worker threads, on SIGHUP).
        let mut tree: BTreeSet<i32> = BTreeSet::new();
        let mut alive = Vec::new();
        let mut frontier = vec![(me, false)];
        while let Some((parent, outside)) = frontier.pop() {
            for p in all.iter().filter(|p| p.ppid == parent) {
                if !tree.insert(p.pid) {
                    continue;
                }
                let outside = outside || known.contains(&(p.pid, p.start));
                if outside {
                    known.insert((p.pid, p.start));
                } else if p.live {
                    alive.push(p.pid);
                }
                frontier.push((p.pid, outside));
            }
        }
        // Outsiders gone are forgotten: their pids may be reused, with other start times.
        known.retain(|&(pid, _)| tree.contains(&pid));
        alive.sort_unstable();
        alive
    }
}

/// Whether `pid` exists and is no zombie (nor dead).
fn is_running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| parse_stat(&stat))
        .is_some_and(|(state, _, _)| !matches!(state, 'Z' | 'X' | 'x'))
}

/// `(state, ppid, start time)` from `/proc/PID/stat`; the command name may contain spaces and
/// parentheses, so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(char, i32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    // Field 22 of the file: 19 after the ppid.
    let start = fields.nth(17)?.parse().ok()?;
    Some((state, ppid, start))
}

/// The command line of `pid`, for messages ("pid 123 (python3 -m test ...)"); its name when it
/// has none (a kernel thread, a process that is exiting).
fn process_command(pid: i32) -> String {
    command_line(pid).unwrap_or_else(|| process_name(pid))
}

/// The command line of `pid`, or None when it has none (left).
fn command_line(pid: i32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args = crate::hang::procfs::split_cmdline(&raw);
    (!args.is_empty()).then(|| args.join(" "))
}

/// The name (`comm`) of `pid`.
fn process_name(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|s| s.trim().to_owned()).unwrap_or_default()
}

/// The command line of a leftover: read now (it may have exec'd since the command exited);
/// if it is exiting and has none left, the one `names` kept from the command's exit.
fn leftover_command(pid: i32, names: &mut BTreeMap<i32, String>) -> String {
    command_line(pid).or_else(|| names.remove(&pid)).unwrap_or_else(|| process_name(pid))
}

/// Where the lines read from a pipe go: to the log and the sink, or into a batch when both
/// pipes held output at once and their lines are merged first.
enum Lines<'a> {
    Sink(&'a mut dyn OutputSink),
    Batch(&'a mut Vec<BatchLine>),
}

/// What a pipe gave in a turn of the loop ([`Loop::read_pipe`]), not passed on yet.
#[derive(Default)]
struct PipeRead {
    bytes: Vec<u8>,
    /// The pipe is at its end (or failed): closed once `bytes` are passed on.
    closed: bool,
}

impl PipeRead {
    /// Whether passing this on gives `pipe`'s sink or batch a line: bytes were read, or the
    /// pipe ends and its partial line is passed on.
    fn gives_lines(&self, pipe: &Pipe) -> bool {
        !self.bytes.is_empty() || self.closed && !pipe.partial.is_empty()
    }
}

/// A line waiting in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BatchLine {
    stream: Stream,
    text: Vec<u8>,
    newline: bool,
}

/// The order in which the child wrote to its two pipes, which their bytes alone do not tell.
///
/// Every write to a pipe is an inotify `IN_MODIFY` event on the pipe's inode, queued in the
/// order of the writes; back-to-back events of one pipe coalesce into one. Linux keeps these
/// events for pipes on purpose (since 6.14 other pseudo files have none). The loop reads the
/// events before the pipes, so they cover every write whose bytes it is about to read, in
/// order, and any byte without an event was written after them.
struct WriteOrder {
    inotify: Inotify,
    /// The watches of stdout's and stderr's pipes.
    watches: [WatchDescriptor; 2],
}

impl WriteOrder {
    /// Watch the read ends of the two pipes; None when inotify cannot (no `/proc`, the
    /// per-user limit of inotify instances reached).
    fn watch(pipes: [BorrowedFd<'_>; 2]) -> Option<Self> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok()?;
        let watch = |fd: BorrowedFd<'_>| {
            inotify.add_watch(format!("/proc/self/fd/{}", fd.as_raw_fd()).as_str(), AddWatchFlags::IN_MODIFY).ok()
        };
        let watches = [watch(pipes[0])?, watch(pipes[1])?];
        Some(WriteOrder { inotify, watches })
    }

    /// The streams written since the last call, one entry per run of writes to the same pipe,
    /// oldest first; None when the order was lost (the event queue overflowed).
    fn runs(&mut self) -> Option<Vec<Stream>> {
        let mut runs = Vec::new();
        let mut lost = false;
        loop {
            match self.inotify.read_events() {
                Ok(events) => {
                    for event in events {
                        lost |= event.mask.contains(AddWatchFlags::IN_Q_OVERFLOW);
                        let stream = match self.watches.iter().position(|w| *w == event.wd) {
                            Some(0) => Stream::Stdout,
                            Some(_) => Stream::Stderr,
                            None => continue,
                        };
                        if runs.last() != Some(&stream) {
                            runs.push(stream);
                        }
                    }
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return (!lost).then_some(runs),
                Err(_) => return None,
            }
        }
    }
}

/// The lines of both pipes, read in one turn of the loop, in the order of `runs`, the runs of
/// writes read just before them (oldest first): each stream is cut into as many pieces as it
/// has runs, and the pieces are taken as the runs say. With one run per stream (or one stream)
/// no cut is needed. Otherwise a cut goes before a line that `starts_write`, and the last such
/// lines are taken: the loop woke at the first write, so the runs after it are the few writes
/// made before it read, short ones. Err (the batches back) when there are no runs, or a stream
/// has fewer lines that start a write than it needs cuts: then the order is unknown.
fn order_by_runs(
    runs: &[Stream],
    stdout: Vec<BatchLine>,
    stderr: Vec<BatchLine>,
    starts_write: impl Fn(Stream, &[u8]) -> bool,
) -> Result<Vec<BatchLine>, (Vec<BatchLine>, Vec<BatchLine>)> {
    if runs.is_empty() {
        return Err((stdout, stderr));
    }
    // Where each stream is cut: before the last `runs of it - 1` lines that start a write.
    let cuts = |stream: Stream, lines: &[BatchLine]| -> Option<Vec<usize>> {
        let needed = runs.iter().filter(|&&s| s == stream).count().saturating_sub(1);
        if needed == 0 {
            // No cut: the lines are not looked at.
            return Some(Vec::new());
        }
        let starts: Vec<usize> = (0..lines.len()).filter(|&i| starts_write(stream, &lines[i].text)).collect();
        (starts.len() >= needed).then(|| starts[starts.len() - needed..].to_vec())
    };
    let (Some(out_cuts), Some(err_cuts)) = (cuts(Stream::Stdout, &stdout), cuts(Stream::Stderr, &stderr)) else {
        return Err((stdout, stderr));
    };
    let pieces = |lines: Vec<BatchLine>, cuts: Vec<usize>| {
        let mut pieces = Vec::with_capacity(cuts.len() + 1);
        let mut rest = lines;
        for &cut in cuts.iter().rev() {
            pieces.push(rest.split_off(cut));
        }
        pieces.push(rest);
        pieces.reverse();
        pieces.into_iter()
    };
    let (mut out, mut err) = (pieces(stdout, out_cuts), pieces(stderr, err_cuts));
    let mut merged = Vec::new();
    for &stream in runs {
        let piece = match stream {
            Stream::Stdout => out.next(),
            Stream::Stderr => err.next(),
        };
        merged.extend(piece.unwrap_or_default());
    }
    // Bytes written after the runs were read: each stream's own come last, stdout's first.
    merged.extend(out.flatten());
    merged.extend(err.flatten());
    Ok(merged)
}

/// The lines of both pipes, read in one turn of the loop, in the order they were most likely
/// written, when [`WriteOrder`] cannot tell. Each pipe keeps its own order; between them there
/// is none. Each stream is cut before every line that starts a section (regrtest: the progress
/// line announcing a test on stdout, `beginning N repetitions` of that test's `-R` run on
/// stderr), and the pieces are taken in turn, stdout's first: section k of stderr (a test's
/// stderr: its repetitions, its leak lines, the sanitizer reports it caused) comes after section
/// k of stdout (the line announcing that test) and before section k + 1 of stdout (the next
/// test). Piece 0 of each is what precedes its first start. Without sections it is all of stdout, then all of stderr.
fn merge_batches(
    stdout: Vec<BatchLine>,
    stderr: Vec<BatchLine>,
    starts_section: impl Fn(Stream, &[u8], bool) -> bool,
) -> Vec<BatchLine> {
    let sections = |lines: Vec<BatchLine>| -> Vec<Vec<BatchLine>> {
        let mut sections = vec![Vec::new()];
        for line in lines {
            if starts_section(line.stream, &line.text, sections.len() == 1) {
                sections.push(Vec::new());
            }
            if let Some(current) = sections.last_mut() {
                current.push(line);
            }
        }
        sections
    };
    let (out, err) = (sections(stdout), sections(stderr));
    let count = out.len().max(err.len());
    let (mut out, mut err) = (out.into_iter(), err.into_iter());
    let mut merged = Vec::new();
    for _ in 0..count {
        merged.extend(out.next().unwrap_or_default());
        merged.extend(err.next().unwrap_or_default());
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(stream: Stream, lines: &[&str]) -> Vec<BatchLine> {
        lines.iter().map(|l| BatchLine { stream, text: l.as_bytes().to_vec(), newline: true }).collect()
    }

    fn texts(lines: &[BatchLine]) -> Vec<String> {
        lines.iter().map(|l| String::from_utf8_lossy(&l.text).into_owned()).collect()
    }

    /// Sections as regrtest's: `[n] test` on stdout, `beginning` on stderr (always new here).
    fn regrtest_like(_: Stream, line: &[u8], _: bool) -> bool {
        line.starts_with(b"[") || line.starts_with(b"beginning")
    }

    #[test]
    fn a_batch_of_both_pipes_is_merged_section_by_section() {
        let stdout = batch(Stream::Stdout, &["a's last words", "[2] test_b", "b says", "[3] test_c"]);
        let stderr = batch(Stream::Stderr, &["a's leak line", "beginning 6", "b's report", "beginning 6", "c's"]);
        let merged = merge_batches(stdout, stderr, regrtest_like);
        assert_eq!(
            texts(&merged),
            [
                "a's last words",
                "a's leak line",
                "[2] test_b",
                "b says",
                "beginning 6",
                "b's report",
                "[3] test_c",
                "beginning 6",
                "c's"
            ]
        );
        // Without sections: all of stdout, then all of stderr.
        let merged =
            merge_batches(batch(Stream::Stdout, &["x", "[2] y"]), batch(Stream::Stderr, &["z"]), |_, _, _| false);
        assert_eq!(texts(&merged), ["x", "[2] y", "z"]);
    }

    #[test]
    fn the_first_start_of_a_stream_may_continue_the_current_section() {
        // The sink says the first `beginning` belongs to the test already announced.
        let starts = |stream: Stream, line: &[u8], first: bool| {
            regrtest_like(stream, line, first) && !(stream == Stream::Stderr && first)
        };
        let stdout = batch(Stream::Stdout, &["[3] test_c"]);
        let stderr = batch(Stream::Stderr, &["beginning 6", "b's leak line"]);
        assert_eq!(texts(&merge_batches(stdout, stderr, starts)), ["beginning 6", "b's leak line", "[3] test_c"]);
    }

    #[test]
    fn inotify_gives_the_order_of_writes_to_two_pipes() {
        let (out_r, out_w) = nix::unistd::pipe().unwrap();
        let (err_r, err_w) = nix::unistd::pipe().unwrap();
        let mut order = WriteOrder::watch([out_r.as_fd(), err_r.as_fd()]).expect("inotify watches pipes");
        assert_eq!(order.runs(), Some(vec![]));
        for fd in [&out_w, &err_w, &err_w, &out_w, &out_w, &err_w] {
            nix::unistd::write(fd, b"x\n").unwrap();
        }
        use Stream::{Stderr, Stdout};
        assert_eq!(order.runs(), Some(vec![Stdout, Stderr, Stdout, Stderr]), "back-to-back writes coalesce");
        assert_eq!(order.runs(), Some(vec![]), "each write is told once");
        nix::unistd::write(&err_w, b"y\n").unwrap();
        assert_eq!(order.runs(), Some(vec![Stderr]));
    }

    #[test]
    fn a_batch_is_cut_by_the_runs_of_writes_at_the_last_lines_that_start_one() {
        use Stream::{Stderr, Stdout};
        let starts = |_: Stream, line: &[u8]| line.starts_with(b"[") || line.starts_with(b"==");
        let order = |runs: &[Stream], out: &[&str], err: &[&str]| {
            order_by_runs(runs, batch(Stdout, out), batch(Stderr, err), starts).ok().map(|lines| texts(&lines))
        };
        // One run per stream: all of the first, then all of the other, whatever the lines.
        assert_eq!(order(&[Stderr, Stdout], &["[2] b"], &["a's"]).unwrap(), ["a's", "[2] b"]);
        assert_eq!(
            order(&[Stdout], &["[2] b"], &["later"]).unwrap(),
            ["[2] b", "later"],
            "stderr came after the events"
        );
        // stderr, stdout, stderr: the second run of stderr is its last report.
        assert_eq!(
            order(&[Stderr, Stdout, Stderr], &["[2] b"], &["==1==ERROR a", "a's frame", "==1==ERROR b"]).unwrap(),
            ["==1==ERROR a", "a's frame", "[2] b", "==1==ERROR b"]
        );
        // The first run's bytes were read last turn: its piece is empty.
        assert_eq!(order(&[Stderr, Stdout, Stderr], &["[2] b"], &["==1==ERROR b"]).unwrap(), ["[2] b", "==1==ERROR b"]);
        assert_eq!(
            order(&[Stdout, Stderr, Stdout], &["[1] a", "a says", "[2] b", "[3] c"], &["a's"]).unwrap(),
            ["[1] a", "a says", "[2] b", "a's", "[3] c"]
        );
        // No line where stderr could be cut, or no runs: unknown.
        assert_eq!(order(&[Stderr, Stdout, Stderr], &["[2] b"], &["x", "y"]), None);
        assert_eq!(order(&[], &["[2] b"], &["x"]), None);
    }

    #[test]
    fn each_process_gets_a_forwarded_signal_once() {
        let tree = || [(10, Some(10)), (11, Some(10)), (20, Some(20)), (30, None)].into_iter();
        // The group had it through killpg; the `-j` worker (a group of its own) and a process
        // whose group is unknown had not.
        assert_eq!(signal_targets(Signal::SIGTERM, Some(10), tree()), [20, 30]);
        // Ctrl-C: the group only, regrtest stops its workers.
        assert_eq!(signal_targets(Signal::SIGINT, Some(10), tree()), Vec::<i32>::new());
        // The child is gone: its group was not signalled, everyone is.
        assert_eq!(signal_targets(Signal::SIGTERM, None, tree()), [10, 11, 20, 30]);
        assert_eq!(signal_targets(Signal::SIGKILL, Some(10), tree()), [20, 30]);
    }

    #[test]
    fn the_same_signal_from_the_same_process_is_one_request() {
        let first = Request::new(Signal::SIGINT, libc::SI_USER, 4242);
        // `timeout`'s copy to its group: the same signal, sender and code.
        assert!(Request::new(Signal::SIGINT, libc::SI_USER, 4242).repeats(first));
        // sigqueue(3) names its sender too; kill(2) then sigqueue(3) from one process is one.
        assert!(Request::new(Signal::SIGINT, libc::SI_QUEUE, 4242).repeats(first));
        // Another process's kill, another signal from the same one: a second request.
        assert!(!Request::new(Signal::SIGINT, libc::SI_USER, 4243).repeats(first));
        assert!(!Request::new(Signal::SIGTERM, libc::SI_USER, 4242).repeats(first));
        // A terminal's Ctrl-C (the kernel's, no sender) twice: a second request.
        let ctrl_c = Request::new(Signal::SIGINT, libc::SI_KERNEL, 0);
        assert_eq!(ctrl_c.sender, None);
        assert!(!Request::new(Signal::SIGINT, libc::SI_KERNEL, 0).repeats(ctrl_c));
        // A kill(2) after a Ctrl-C, and a Ctrl-C after a kill(2): no copies either.
        assert!(!Request::new(Signal::SIGINT, libc::SI_USER, 4242).repeats(ctrl_c));
        assert!(!ctrl_c.repeats(first));
        // A sender the kernel does not name (another PID namespace: pid 0) is unknown.
        let unnamed = Request::new(Signal::SIGINT, libc::SI_USER, 0);
        assert!(!Request::new(Signal::SIGINT, libc::SI_USER, 0).repeats(unnamed));
        // Other codes (a thread-directed tgkill, SI_TKILL) name no request's sender.
        assert_eq!(Request::new(Signal::SIGINT, libc::SI_TKILL, 4242).sender, None);
    }

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let fields = "7 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(parse_stat(&format!("42 (python3) S {fields}")), Some(('S', 7, 123456)));
        assert_eq!(parse_stat(&format!("42 (a) b) (c) Z {fields}")), Some(('Z', 7, 123456)));
        assert_eq!(parse_stat("42 (x) S 7 42 42 0"), None, "no start time");
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("42 (x) R notanumber"), None);
    }
}
