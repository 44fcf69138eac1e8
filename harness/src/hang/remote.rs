//! Stopping a live process and reading it: a ptrace guard that interrupts every thread and
//! always detaches, and one memory-reading trait for everything that reads the stopped process.
//!
//! `PTRACE_SEIZE` + `PTRACE_INTERRUPT` stop each thread without signals the program could see;
//! a blocking system call is restarted transparently after detach. New threads created while we
//! attach are picked up by listing `/proc/PID/task` again until the set is stable. `ESRCH` (a
//! thread that exited meanwhile) is not an error. A thread in an uninterruptible wait in the
//! kernel (state `D`: the parent of a `vfork` child until the child execs or exits, a stuck
//! disk or NFS read) cannot be stopped: it is left alone, and named as such; one that does not
//! stop within [`STOP_WAIT`] of the interrupt is given up on, without blocking, and detached once
//! it stops ([`release_lingering`]). Every unsafe call sits in this file.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use thiserror::Error;

/// Reads memory of a process (live, or a test double).
pub trait ProcessMemory {
    /// Fill `buf` from `address`; `false` if any part cannot be read.
    fn read(&self, address: u64, buf: &mut [u8]) -> bool;

    fn read_u64(&self, address: u64) -> Option<u64> {
        let mut buf = [0u8; 8];
        self.read(address, &mut buf).then(|| u64::from_ne_bytes(buf))
    }

    fn read_u32(&self, address: u64) -> Option<u32> {
        let mut buf = [0u8; 4];
        self.read(address, &mut buf).then(|| u32::from_ne_bytes(buf))
    }
}

/// A live process's memory through `process_vm_readv`, with a small page cache: an unwind reads
/// the same stack pages word by word.
#[derive(Debug)]
pub struct LiveMemory {
    pid: i32,
    pages: std::cell::RefCell<BTreeMap<u64, Option<Box<[u8; PAGE]>>>>,
}

const PAGE: usize = 4096;

impl LiveMemory {
    pub fn new(pid: i32) -> Self {
        Self { pid, pages: Default::default() }
    }

    fn page(&self, base: u64) -> Option<Box<[u8; PAGE]>> {
        let mut page = Box::new([0u8; PAGE]);
        let local = [std::io::IoSliceMut::new(&mut page[..])];
        let remote = [nix::sys::uio::RemoteIoVec { base: base as usize, len: PAGE }];
        match nix::sys::uio::process_vm_readv(Pid::from_raw(self.pid), &mut { local }, &remote) {
            Ok(n) if n == PAGE => Some(page),
            _ => None,
        }
    }
}

impl ProcessMemory for LiveMemory {
    fn read(&self, address: u64, buf: &mut [u8]) -> bool {
        let mut done = 0;
        while done < buf.len() {
            let at = address.wrapping_add(done as u64);
            let base = at & !(PAGE as u64 - 1);
            let offset = (at - base) as usize;
            let mut pages = self.pages.borrow_mut();
            let page = pages.entry(base).or_insert_with(|| self.page(base));
            let Some(page) = page else { return false };
            let n = (PAGE - offset).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&page[offset..offset + n]);
            done += n;
        }
        true
    }
}

/// Why a process could not be stopped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AttachError {
    /// `why`: what was found of the causes ([`PtraceFacts::why`]).
    #[error("ptrace is not permitted here ({errno}): stacks need ptrace access to the tested processes; {why}")]
    NotPermitted { errno: Errno, why: String },
    /// A process has one tracer at a time: a test that runs its child under `strace -f` or gdb.
    #[error(
        "already traced by PID {tracer} ({command}): leakcheck cannot attach while another tracer holds the \
         process (a process has one tracer at a time); its stacks need it run without that tracer"
    )]
    AlreadyTraced { tracer: i32, command: String },
    #[error("the process is gone")]
    Gone,
    #[error("ptrace failed: {0}")]
    Other(Errno),
}

/// The registers an unwind starts from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Registers {
    pub pc: u64,
    pub sp: u64,
    pub bp: u64,
}

impl fmt::Debug for Registers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pc={:#x} sp={:#x} bp={:#x}", self.pc, self.sp, self.bp)
    }
}

/// How long [`Stopped::attach`] waits for a thread to stop after its interrupt. A thread stops
/// within microseconds unless it is in an uninterruptible wait that began after its state was
/// read.
pub const STOP_WAIT: Duration = Duration::from_millis(100);

/// Threads seized and interrupted that had not stopped when [`Stopped::attach`] gave up on them.
/// `PTRACE_DETACH` needs a stopped tracee: each is detached once it stops, by
/// [`release_lingering`]. (The kernel detaches whatever is left when leakcheck exits.)
static LINGERING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Every thread of a process that could be stopped, stopped; detached again on drop, whatever
/// happens.
#[derive(Debug)]
pub struct Stopped {
    pid: i32,
    threads: Vec<i32>,
    /// Threads that could not be stopped: in an uninterruptible wait (state `D`).
    unstopped: Vec<i32>,
    /// Signals that stopped a thread on their way to it, delivered at detach.
    signals: BTreeMap<i32, Signal>,
}

impl Stopped {
    /// Seize and interrupt all threads of `pid`. Never blocks for long: a thread that cannot be
    /// stopped is in [`Stopped::unstopped`].
    pub fn attach(pid: i32) -> Result<Self, AttachError> {
        release_lingering();
        let mut stopped = Stopped { pid, threads: Vec::new(), unstopped: Vec::new(), signals: BTreeMap::new() };
        // Threads may be created while we attach: list again until nothing is new.
        for _round in 0..16 {
            let tids = task_ids(pid);
            if tids.is_empty() {
                return Err(AttachError::Gone);
            }
            let new: Vec<i32> =
                tids.into_iter().filter(|t| !stopped.threads.contains(t) && !stopped.unstopped.contains(t)).collect();
            if new.is_empty() {
                break;
            }
            for tid in new {
                // Its interrupt would stop it only once it leaves that wait: do not ask.
                if thread_state(pid, tid) == Some('D') {
                    stopped.unstopped.push(tid);
                    continue;
                }
                match ptrace::seize(Pid::from_raw(tid), ptrace::Options::empty()) {
                    Ok(()) => {}
                    Err(Errno::ESRCH) => continue,
                    Err(errno @ (Errno::EPERM | Errno::EACCES)) => return Err(not_permitted(pid, tid, errno)),
                    Err(errno) => return Err(AttachError::Other(errno)),
                }
                if ptrace::interrupt(Pid::from_raw(tid)).is_err() {
                    // Gone meanwhile (a seized thread that exits needs no detach).
                    continue;
                }
                match wait_for_stop(tid, Instant::now() + STOP_WAIT) {
                    Stop::Stopped(signal) => {
                        stopped.threads.push(tid);
                        if let Some(signal) = signal {
                            stopped.signals.insert(tid, signal);
                        }
                    }
                    Stop::Gone => {}
                    Stop::NotYet => {
                        stopped.unstopped.push(tid);
                        LINGERING.lock().unwrap_or_else(|e| e.into_inner()).push(tid);
                    }
                }
            }
        }
        Ok(stopped)
    }

    /// The threads that could not be stopped (no registers, no stack): in an uninterruptible
    /// wait in the kernel.
    pub fn unstopped(&self) -> &[i32] {
        &self.unstopped
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn threads(&self) -> &[i32] {
        &self.threads
    }

    /// A stopped thread's registers.
    pub fn registers(&self, tid: i32) -> Option<Registers> {
        #[cfg(target_arch = "x86_64")]
        {
            let regs = ptrace::getregs(Pid::from_raw(tid)).ok()?;
            Some(Registers { pc: regs.rip, sp: regs.rsp, bp: regs.rbp })
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = tid;
            None
        }
    }
}

impl Stopped {
    /// The futex a stopped thread was waiting on when it was stopped (timed or not): the first
    /// argument of the `futex` system call it is in (x86-64: `orig_rax` 202, `rdi`), which the
    /// kernel keeps to restart it. `None` when it was in no futex call.
    pub fn futex_wait(&self, tid: i32) -> Option<u64> {
        #[cfg(target_arch = "x86_64")]
        {
            const SYS_FUTEX: u64 = 202;
            let regs = ptrace::getregs(Pid::from_raw(tid)).ok()?;
            (regs.orig_rax == SYS_FUTEX).then_some(regs.rdi)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = tid;
            None
        }
    }
}

/// A stopped thread's general registers in DWARF's x86-64 numbering (`rax rdx rcx rbx rsi rdi
/// rbp rsp r8..r15`, then column 16, the return address: here the pc). `None`: not known.
pub type DwarfRegisters = [Option<u64>; 17];

impl Stopped {
    /// A stopped thread's general registers, for reading its frames' variables.
    pub fn dwarf_registers(&self, tid: i32) -> Option<DwarfRegisters> {
        #[cfg(target_arch = "x86_64")]
        {
            let r = ptrace::getregs(Pid::from_raw(tid)).ok()?;
            let values = [
                r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14,
                r.r15, r.rip,
            ];
            Some(values.map(Some))
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = tid;
            None
        }
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        for &tid in &self.threads {
            let _ = ptrace::detach(Pid::from_raw(tid), self.signals.get(&tid).copied());
        }
    }
}

/// What became of a thread asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Stopped; in a signal's delivery stop, the signal, to be given back at detach (else it
    /// would be lost).
    Stopped(Option<Signal>),
    /// It exited (or is no tracee of ours).
    Gone,
    /// Not stopped by the deadline.
    NotYet,
}

/// Wait until the seized and interrupted thread `tid` stops, without blocking past `deadline`.
/// Only stops are waited for (`WSTOPPED` without `WEXITED`): the exit status of a process whose
/// parent leakcheck is (the command) stays the supervisor's to reap.
fn wait_for_stop(tid: i32, deadline: Instant) -> Stop {
    let flags = WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG | WaitPidFlag::__WALL;
    let mut pause = Duration::from_micros(20);
    loop {
        match waitid(Id::Pid(Pid::from_raw(tid)), flags) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(WaitStatus::Stopped(_, signal)) => return Stop::Stopped(Some(signal)),
            Ok(_) => return Stop::Stopped(None),
            Err(Errno::EINTR) => continue,
            Err(_) => return Stop::Gone,
        }
        if Instant::now() >= deadline {
            return Stop::NotYet;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

/// Detach the threads [`Stopped::attach`] gave up on that have stopped since, and forget those
/// that are gone. Cheap when there are none; called at each attach and each hang watch tick.
pub fn release_lingering() {
    let mut lingering = LINGERING.lock().unwrap_or_else(|e| e.into_inner());
    lingering.retain(|&tid| match wait_for_stop(tid, Instant::now()) {
        Stop::Stopped(signal) => {
            let _ = ptrace::detach(Pid::from_raw(tid), signal);
            false
        }
        Stop::Gone => false,
        Stop::NotYet => true,
    });
}

/// The state letter of thread `tid` of `pid` (`/proc/PID/task/TID/stat`).
fn thread_state(pid: i32, tid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    super::procfs::parse_stat(&stat).map(|(state, _, _)| state)
}

/// Why attaching to thread `tid` of `pid` was refused: it has a tracer already (its
/// `TracerPid`), or ptrace is not allowed here.
fn not_permitted(pid: i32, tid: i32, errno: Errno) -> AttachError {
    let status_field = |path: String, field: &str| -> Option<i32> {
        let status = std::fs::read_to_string(path).ok()?;
        super::procfs::status_field(&status, field)?.parse().ok()
    };
    match status_field(format!("/proc/{pid}/task/{tid}/status"), "TracerPid:") {
        Some(thread) if thread > 0 => {
            // `TracerPid` is the tracing thread; name its process.
            let tracer = status_field(format!("/proc/{thread}/status"), "Tgid:").unwrap_or(thread);
            let command = std::fs::read_to_string(format!("/proc/{tracer}/comm"))
                .map(|c| c.trim_end().to_owned())
                .unwrap_or_else(|_| "?".into());
            AttachError::AlreadyTraced { tracer, command }
        }
        _ => AttachError::NotPermitted { errno, why: PtraceFacts::read(pid).why() },
    }
}

/// `CAP_SYS_PTRACE`'s bit in a capability set.
const CAP_SYS_PTRACE: u32 = 19;

/// What decides whether leakcheck may ptrace a process (the kernel's `ptrace_may_access`:
/// the same user, or `CAP_SYS_PTRACE`; a dumpable process, or `CAP_SYS_PTRACE`; then the security
/// modules, Yama among them), as far as `/proc` shows it. `None`: could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PtraceFacts {
    /// `/proc/sys/kernel/yama/ptrace_scope`: `Some(None)` when the file does not exist (no Yama
    /// in this kernel).
    pub yama_scope: Option<Option<u8>>,
    /// leakcheck's effective capabilities (`CapEff` of `/proc/self/status`) hold `CAP_SYS_PTRACE`.
    pub has_cap_sys_ptrace: Option<bool>,
    /// leakcheck's real uid, and the target's real, effective and saved uids (`Uid:` lines).
    pub own_uid: Option<u32>,
    pub target_uids: Option<[u32; 3]>,
    /// The owner of the target's `/proc/PID`: the kernel gives a non-dumpable process's entries to
    /// root (of its user namespace), whatever user it runs as.
    pub proc_owner: Option<u32>,
    /// The target's `/proc/PID/stat` hides its code addresses (`startcode` and `endcode` read 1):
    /// the kernel's ptrace access check refused leakcheck even reading it.
    pub stat_hidden: Option<bool>,
}

impl PtraceFacts {
    /// Read them for target `pid`.
    pub fn read(pid: i32) -> Self {
        use std::os::unix::fs::MetadataExt;
        let status = |path: &str| std::fs::read_to_string(path).ok();
        let field = super::procfs::status_field;
        let uids = |text: &str| -> Option<Vec<u32>> {
            field(text, "Uid:")?.split_whitespace().map(|u| u.parse().ok()).collect()
        };
        let own = status("/proc/self/status");
        let target = status(&format!("/proc/{pid}/status"));
        let yama_scope = match std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope") {
            Ok(text) => text.trim().parse().ok().map(Some),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Some(None),
            Err(_) => None,
        };
        let stat_hidden = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|stat| {
            // Fields after the command's closing parenthesis: state is field 3, startcode 26.
            let rest = &stat[stat.rfind(')')? + 1..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(fields.get(23)? == &"1" && fields.get(24)? == &"1")
        });
        PtraceFacts {
            yama_scope,
            has_cap_sys_ptrace: own.as_deref().and_then(|own| {
                let caps = u64::from_str_radix(field(own, "CapEff:")?, 16).ok()?;
                Some(caps & (1 << CAP_SYS_PTRACE) != 0)
            }),
            own_uid: own.as_deref().and_then(uids).and_then(|u| u.first().copied()),
            target_uids: target.as_deref().and_then(uids).and_then(|u| Some([*u.first()?, *u.get(1)?, *u.get(2)?])),
            proc_owner: std::fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid()),
            stat_hidden,
        }
    }

    /// Why ptrace was refused, from what is known, and what to change: each fact as found, the
    /// causes it leaves.
    pub fn why(&self) -> String {
        let mut found = Vec::new();
        let mut causes = Vec::new();
        let cap = self.has_cap_sys_ptrace;
        match cap {
            Some(true) => found.push("leakcheck has CAP_SYS_PTRACE (CapEff)".to_owned()),
            Some(false) => found.push("leakcheck has no CAP_SYS_PTRACE (CapEff of /proc/self/status)".to_owned()),
            None => found.push("whether leakcheck has CAP_SYS_PTRACE could not be read".to_owned()),
        }
        match self.yama_scope {
            Some(None) => found.push("this kernel has no Yama (no /proc/sys/kernel/yama/ptrace_scope)".to_owned()),
            Some(Some(scope)) => {
                found.push(format!("Yama's /proc/sys/kernel/yama/ptrace_scope is {scope}"));
                match scope {
                    0 => {}
                    1 => causes.push(
                        "Yama scope 1 allows tracing descendants only (leakcheck's are, unless one moved out of \
                         its tree)"
                            .to_owned(),
                    ),
                    2 if cap != Some(true) => {
                        causes.push("Yama scope 2 allows ptrace only with CAP_SYS_PTRACE".to_owned())
                    }
                    3 => causes.push("Yama scope 3 allows no ptrace at all, until a reboot".to_owned()),
                    _ => {}
                }
            }
            None => found.push("/proc/sys/kernel/yama/ptrace_scope could not be read".to_owned()),
        }
        let other_user = match (self.own_uid, self.target_uids) {
            (Some(own), Some(target)) => Some(target.iter().any(|&u| u != own)),
            _ => None,
        };
        if let (Some(true), Some(target), Some(own)) = (other_user, self.target_uids, self.own_uid) {
            found.push(format!("the process runs as uids {target:?} (real, effective, saved), leakcheck as {own}"));
            if cap != Some(true) {
                causes.push("another user's process needs CAP_SYS_PTRACE".to_owned());
            }
        }
        // A non-dumpable process's /proc entries belong to root whatever user it runs as: shown
        // when it runs as another user than root; the kernel's refusal to let its stat be read
        // says the same when nothing else refuses (no other user, no Yama past scope 1).
        let effective = self.target_uids.map(|u| u[1]);
        let dumpable_shown = match (self.proc_owner, effective) {
            (Some(0), Some(euid)) if euid != 0 => Some(false),
            (Some(owner), Some(euid)) if owner == euid && euid != 0 => Some(true),
            _ => None,
        };
        match dumpable_shown {
            Some(false) => {
                found.push(format!(
                    "the process is not dumpable (its /proc entries belong to root, though it runs as uid {})",
                    effective.unwrap_or(0)
                ));
                if cap != Some(true) {
                    causes.push(
                        "a non-dumpable process (prctl(PR_SET_DUMPABLE, 0), a set-user-ID or file-capability \
                         program) may be traced only with CAP_SYS_PTRACE"
                            .to_owned(),
                    );
                }
            }
            Some(true) => found.push("the process is dumpable".to_owned()),
            None => {
                let yama_allows = matches!(self.yama_scope, Some(None) | Some(Some(0 | 1)));
                if self.stat_hidden == Some(true) && other_user == Some(false) && yama_allows && cap != Some(true) {
                    found.push(
                        "the process's /proc/PID/stat hides its code addresses (startcode, endcode) from \
                         leakcheck, though it runs as leakcheck's user"
                            .to_owned(),
                    );
                    causes.push(
                        "with the same user and no Yama restriction, that is a non-dumpable process \
                         (prctl(PR_SET_DUMPABLE, 0), a set-user-ID or file-capability program), which may be traced \
                         only with CAP_SYS_PTRACE, or another security module's policy (SELinux, AppArmor)"
                            .to_owned(),
                    );
                }
            }
        }
        if causes.is_empty() {
            causes.push(
                "none of these refuses it: a security module's policy (SELinux, AppArmor) or a container's seccomp \
                 profile may"
                    .to_owned(),
            );
        }
        let fix = if cap == Some(true) {
            ""
        } else {
            "; run leakcheck with CAP_SYS_PTRACE (as root with it, or a container's --cap-add SYS_PTRACE) to read them"
        };
        format!("{}; so: {}{fix}", found.join("; "), causes.join("; "))
    }
}

/// The thread ids of `pid`, sorted.
pub fn task_ids(pid: i32) -> Vec<i32> {
    let mut tids: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|entries| entries.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    tids.sort_unstable();
    tids
}

#[cfg(test)]
mod tests {
    use super::PtraceFacts;

    fn facts() -> PtraceFacts {
        PtraceFacts {
            yama_scope: Some(None),
            has_cap_sys_ptrace: Some(false),
            own_uid: Some(0),
            target_uids: Some([0, 0, 0]),
            proc_owner: Some(0),
            stat_hidden: Some(true),
        }
    }

    #[test]
    fn ptrace_refused_without_yama_to_roots_non_dumpable_process_names_the_true_causes() {
        // root without CAP_SYS_PTRACE (capsh --drop), a kernel without Yama, a process that made
        // itself non-dumpable: its /proc entries are root's anyway; its stat's hiding tells.
        let why = facts().why();
        assert!(why.contains("this kernel has no Yama (no /proc/sys/kernel/yama/ptrace_scope)"), "{why}");
        assert!(why.contains("leakcheck has no CAP_SYS_PTRACE"), "{why}");
        assert!(why.contains("non-dumpable process"), "{why}");
        assert!(why.contains("run leakcheck with CAP_SYS_PTRACE"), "{why}");
        assert!(!why.contains("ptrace_scope is"), "{why}");
        // Its stat readable: nothing shown refuses it.
        let why = PtraceFacts { stat_hidden: Some(false), ..facts() }.why();
        assert!(!why.contains("non-dumpable") && why.contains("security module"), "{why}");
    }

    #[test]
    fn a_non_dumpable_process_of_a_user_is_shown_by_its_proc_owner() {
        let user = PtraceFacts {
            yama_scope: Some(Some(1)),
            own_uid: Some(1000),
            target_uids: Some([1000; 3]),
            proc_owner: Some(0),
            stat_hidden: None,
            ..facts()
        };
        let why = user.why();
        assert!(
            why.contains("the process is not dumpable (its /proc entries belong to root, though it runs as uid 1000)")
        );
        assert!(why.contains("ptrace_scope is 1") && why.contains("descendants only"), "{why}");
        let dumpable = PtraceFacts { proc_owner: Some(1000), ..user }.why();
        assert!(dumpable.contains("the process is dumpable") && !dumpable.contains("not dumpable"), "{dumpable}");
    }

    #[test]
    fn yama_scopes_other_users_and_capabilities_each_say_what_they_refuse() {
        let why = PtraceFacts { yama_scope: Some(Some(3)), stat_hidden: Some(false), ..facts() }.why();
        assert!(why.contains("ptrace_scope is 3") && why.contains("no ptrace at all"), "{why}");
        let why = PtraceFacts { yama_scope: Some(Some(2)), stat_hidden: Some(false), ..facts() }.why();
        assert!(why.contains("only with CAP_SYS_PTRACE"), "{why}");
        let other =
            PtraceFacts { own_uid: Some(1000), target_uids: Some([1001; 3]), proc_owner: Some(1001), ..facts() };
        let why = other.why();
        assert!(why.contains("runs as uids [1001, 1001, 1001]") && why.contains("another user's process"), "{why}");
        // With the capability, nothing of these refuses: say what may.
        let why = PtraceFacts { has_cap_sys_ptrace: Some(true), ..facts() }.why();
        assert!(why.contains("leakcheck has CAP_SYS_PTRACE") && why.contains("security module"), "{why}");
        assert!(!why.contains("run leakcheck with"), "{why}");
        // Nothing readable: no claim.
        let why = PtraceFacts::default().why();
        assert!(why.contains("could not be read") && why.contains("security module"), "{why}");
    }

    use super::*;

    #[test]
    fn a_sleeping_child_can_be_stopped_read_and_released() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        // Give it time to reach its sleep.
        while std::fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| !s.contains(") S ")).unwrap_or(true) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        {
            let stopped = Stopped::attach(pid).expect("tracing our own child is allowed");
            assert_eq!(stopped.threads(), &[pid]);
            let regs = stopped.registers(pid).expect("registers");
            let memory = LiveMemory::new(pid);
            assert!(memory.read_u64(regs.sp).is_some(), "the stack is readable: {regs:?}");
            assert!(memory.read_u64(8).is_none(), "page zero is not");
        }
        // Detached: the process goes on and can be killed normally.
        let state = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        assert!(state.contains("TracerPid:\t0"), "{state}");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_process_with_another_tracer_is_said_to_have_one() {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new("sleep");
        command.arg("30");
        // SAFETY: between fork and exec the closure only makes one system call (ptrace).
        unsafe {
            command.pre_exec(|| ptrace::traceme().map_err(std::io::Error::from));
        }
        let mut child = command.spawn().unwrap();
        let pid = child.id() as i32;
        // Traced by this process from its start, it stops at its exec.
        let stop = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
        let attached = Stopped::attach(pid);
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            matches!(stop, Ok(nix::sys::wait::WaitStatus::Stopped(_, nix::sys::signal::Signal::SIGTRAP))),
            "{stop:?}"
        );
        let me = std::process::id() as i32;
        match attached {
            Err(err @ AttachError::AlreadyTraced { tracer, .. }) if tracer == me => {
                assert!(err.to_string().starts_with(&format!("already traced by PID {me} (")), "{err}")
            }
            other => panic!("{other:?}"),
        }
    }
}
