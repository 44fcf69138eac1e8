//! Cheap sampling of a process tree through `/proc`: which processes exist, their threads'
//! states, what system call each thread sleeps in, and CPU time. Costs a few hundred small file
//! reads per second for a tree of regrtest workers, and nothing when nothing changes.
//!
//! Parsers are pure functions of the files' text (tested on real and hostile samples); the
//! readers tolerate processes that vanish mid-read (`ESRCH`/`ENOENT` give `None`).

use std::collections::BTreeMap;

/// x86_64 system call numbers the diagnosis cares about.
pub const SYS_FUTEX: i64 = 202;
pub const SYS_NANOSLEEP: i64 = 35;
pub const SYS_CLOCK_NANOSLEEP: i64 = 230;
/// The calls that wait for file descriptors, bounded by a timeout when one is given.
pub const SYS_POLL: i64 = 7;
pub const SYS_SELECT: i64 = 23;
pub const SYS_EPOLL_WAIT: i64 = 232;
pub const SYS_PSELECT6: i64 = 270;
pub const SYS_PPOLL: i64 = 271;
pub const SYS_EPOLL_PWAIT: i64 = 281;
pub const SYS_EPOLL_PWAIT2: i64 = 441;
/// `restart_syscall`: how the kernel goes on with a call that a stop (ptrace, SIGSTOP) broke out
/// of and that must not start over: a relative `nanosleep`/`clock_nanosleep`, a `poll` or a
/// futex wait with a timeout (the users of the kernel's `restart_block`). Which call it goes on
/// with is not said: `/proc/TID/syscall` shows the argument registers, which still hold the
/// broken call's arguments (the kernel only rewinds the instruction pointer and sets `rax`).
pub const SYS_RESTART_SYSCALL: i64 = 219;

/// One thread as `/proc/PID/task/TID/{stat,syscall}` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadSample {
    pub tid: i32,
    /// `R`, `S`, `D`, `T`, `t`, `Z`...
    pub state: char,
    /// User + system time, in clock ticks.
    pub cpu_ticks: u64,
    /// The blocking system call and its first arguments, when the thread sleeps in one.
    pub syscall: Option<Syscall>,
}

/// `/proc/TID/syscall`: number and the six arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syscall {
    pub number: i64,
    pub args: [u64; 6],
}

/// futex(2) operations, without `FUTEX_PRIVATE_FLAG` and `FUTEX_CLOCK_REALTIME`.
const FUTEX_WAIT: u64 = 0;
const FUTEX_LOCK_PI: u64 = 6;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_LOCK_PI2: u64 = 13;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

impl Syscall {
    /// A futex wait with no timeout: the thread sleeps until someone wakes it, if ever.
    /// (`FUTEX_WAIT`/`FUTEX_WAIT_BITSET`, or a priority-inheritance lock, `FUTEX_LOCK_PI`/
    /// `FUTEX_LOCK_PI2`, private or not, with a NULL timeout.)
    pub fn is_untimed_futex_wait(&self) -> bool {
        self.futex_op().is_some_and(|op| matches!(op, FUTEX_WAIT | FUTEX_WAIT_BITSET | FUTEX_LOCK_PI | FUTEX_LOCK_PI2))
            && self.args[3] == 0
    }

    /// The futex operation (without its flags), for a futex call.
    fn futex_op(&self) -> Option<u64> {
        (self.number == SYS_FUTEX).then_some(self.args[1] & 0x7f)
    }

    /// A priority-inheritance lock (`FUTEX_LOCK_PI`, `FUTEX_LOCK_PI2`): the futex word holds
    /// the owner's TID, as the kernel's protocol has it.
    pub fn is_futex_lock_pi(&self) -> bool {
        self.futex_op().is_some_and(|op| matches!(op, FUTEX_LOCK_PI | FUTEX_LOCK_PI2))
    }

    /// For a futex wait (`FUTEX_WAIT`, `FUTEX_WAIT_BITSET`): the value the word had to hold for
    /// the thread to sleep. A thread waiting for a locked mutex expects a locked word (non-zero).
    pub fn futex_expected(&self) -> Option<u32> {
        self.futex_op().filter(|&op| matches!(op, FUTEX_WAIT | FUTEX_WAIT_BITSET)).map(|_| self.args[2] as u32)
    }

    /// A futex call on a process-private futex (`FUTEX_PRIVATE_FLAG`).
    pub fn futex_private(&self) -> bool {
        self.number == SYS_FUTEX && self.args[1] & FUTEX_PRIVATE_FLAG != 0
    }

    /// The futex word's address for a futex call.
    pub fn futex_address(&self) -> Option<u64> {
        (self.number == SYS_FUTEX).then_some(self.args[0])
    }

    /// `restart_syscall`: a call broken out of by a stop goes on (see [`SYS_RESTART_SYSCALL`]).
    pub fn is_restart(&self) -> bool {
        self.number == SYS_RESTART_SYSCALL
    }

    /// For a sleep (`nanosleep`, `clock_nanosleep`: `time.sleep`, `sleep(3)`): how long it
    /// lasts.
    pub fn sleep_request(&self) -> Option<Timeout> {
        const TIMER_ABSTIME: u64 = 1;
        match self.number {
            SYS_NANOSLEEP => Some(Timeout::Timespec { address: self.args[0], absolute_clock: None }),
            SYS_CLOCK_NANOSLEEP => Some(Timeout::Timespec {
                address: self.args[2],
                absolute_clock: (self.args[1] & TIMER_ABSTIME != 0).then_some(self.args[0] as i32),
            }),
            _ => None,
        }
    }

    /// For a sleep, or a wait bounded by a timeout: how long it lasts at the most. A futex wait
    /// with a timeout (`threading.Event().wait(30)`, `lock.acquire(timeout=30)`, a thread's
    /// `join(30)`), or a wait for file descriptors with one (`select.select(..., 30)`, a
    /// socket's timeout, `selectors`): `pselect6`, `ppoll`, `poll`, `select`, the `epoll` waits.
    /// `None` for a wait without a timeout, and for a zero timeout (no wait).
    pub fn timeout(&self) -> Option<Timeout> {
        let timespec = |address: u64| (address != 0).then_some(Timeout::Timespec { address, absolute_clock: None });
        // poll's and epoll's milliseconds, an int: negative for no timeout.
        let millis = |arg: u64| u64::try_from(arg as i32).ok().filter(|&ms| ms > 0).map(Timeout::Millis);
        match self.number {
            SYS_NANOSLEEP | SYS_CLOCK_NANOSLEEP => self.sleep_request(),
            // FUTEX_WAIT's timeout is a duration; FUTEX_WAIT_BITSET's a deadline, on the
            // monotonic clock unless FUTEX_CLOCK_REALTIME says otherwise (glibc's timed waits).
            SYS_FUTEX => match self.futex_op()? {
                FUTEX_WAIT => timespec(self.args[3]),
                FUTEX_WAIT_BITSET => (self.args[3] != 0).then(|| Timeout::Timespec {
                    address: self.args[3],
                    absolute_clock: Some(if self.args[1] & FUTEX_CLOCK_REALTIME != 0 {
                        libc::CLOCK_REALTIME
                    } else {
                        libc::CLOCK_MONOTONIC
                    }),
                }),
                _ => None,
            },
            SYS_PPOLL => timespec(self.args[2]),
            SYS_PSELECT6 => timespec(self.args[4]),
            SYS_EPOLL_PWAIT2 => timespec(self.args[3]),
            SYS_SELECT => (self.args[4] != 0).then_some(Timeout::Timeval { address: self.args[4] }),
            SYS_POLL => millis(self.args[2]),
            SYS_EPOLL_WAIT | SYS_EPOLL_PWAIT => millis(self.args[3]),
            _ => None,
        }
    }
}

/// How long a sleep or a timed wait lasts, as its system call was given it: see
/// [`Syscall::timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// A `struct timespec` at this address in the waiting process: an absolute deadline on the
    /// clock `Some(clock id)`, or a duration.
    Timespec { address: u64, absolute_clock: Option<i32> },
    /// A duration as `select`'s `struct timeval` at this address.
    Timeval { address: u64 },
    /// A duration in milliseconds, in the call's own argument.
    Millis(u64),
}

/// The value of field `name` (with its colon: `"Tgid:"`) in the text of a `/proc/PID/status`
/// file, blanks trimmed.
pub fn status_field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|line| line.strip_prefix(name)).map(str::trim)
}

/// A thread's `voluntary_ctxt_switches` (`/proc/PID/task/TID/status`): it grows each time the
/// thread goes to sleep, so an unchanged count means the same sleep goes on.
pub fn voluntary_switches(pid: i32, tid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).ok()?;
    status_field(&status, "voluntary_ctxt_switches:")?.parse().ok()
}

/// One process: its threads and what identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSample {
    pub pid: i32,
    pub ppid: i32,
    pub threads: Vec<ThreadSample>,
    /// `/proc/PID/cmdline`, NUL-separated arguments.
    pub argv: Vec<String>,
    /// `/proc/PID/exe` target, if readable.
    pub exe: Option<String>,
}

impl ProcessSample {
    pub fn cpu_ticks(&self) -> u64 {
        self.threads.iter().map(|t| t.cpu_ticks).sum()
    }

    /// No thread is running or runnable.
    pub fn all_blocked(&self) -> bool {
        !self.threads.is_empty() && self.threads.iter().all(|t| matches!(t.state, 'S' | 'D'))
    }

    /// Stopped by a signal (SIGSTOP, SIGTSTP...: state `T`, not a tracer's `t`): nothing runs
    /// it before a SIGCONT.
    pub fn stopped(&self) -> bool {
        !self.threads.is_empty() && self.threads.iter().all(|t| t.state == 'T')
    }
}

/// `(state, ppid, utime + stime)` from a `stat` file; the command name may contain spaces and
/// parentheses, so fields are counted from the last `)`.
pub fn parse_stat(stat: &str) -> Option<(char, i32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // After the name: state(0) ppid(1) ... utime(11) stime(12).
    let state = fields.first()?.chars().next()?;
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((state, ppid, utime.saturating_add(stime)))
}

/// A `syscall` file: `202 0x7f.. 0x80 0x2 0x0 0x0 0x0 0x7ffd.. 0x7f..` while blocked in a
/// system call; `running`, `-1 ...` (not in one) otherwise.
pub fn parse_syscall(text: &str) -> Option<Syscall> {
    let mut fields = text.split_ascii_whitespace();
    let number: i64 = fields.next()?.parse().ok()?;
    if number < 0 {
        return None;
    }
    let mut args = [0u64; 6];
    for arg in &mut args {
        let field = fields.next()?;
        *arg = u64::from_str_radix(field.strip_prefix("0x")?, 16).ok()?;
    }
    Some(Syscall { number, args })
}

/// Read one process cheaply (threads' state and CPU time; see [`ProcessSample::load_details`]
/// for the rest), or `None` if it is gone (or a zombie).
pub fn sample_process(pid: i32) -> Option<ProcessSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (state, ppid, _) = parse_stat(&stat)?;
    if matches!(state, 'Z' | 'X') {
        return None;
    }
    let mut threads = Vec::new();
    for tid in task_ids(pid) {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")) else { continue };
        let Some((state, _, cpu_ticks)) = parse_stat(&stat) else { continue };
        threads.push(ThreadSample { tid, state, cpu_ticks, syscall: None });
    }
    Some(ProcessSample { pid, ppid, threads, argv: Vec::new(), exe: None })
}

impl ProcessSample {
    /// Add what is only needed for a process that sits still: each thread's system call, the
    /// command line (unless read already) and the executable.
    pub fn load_details(&mut self) {
        let pid = self.pid;
        for thread in &mut self.threads {
            // Reading `syscall` needs ptrace access, which a parent of the tree has; failure only
            // loses detail.
            thread.syscall = std::fs::read_to_string(format!("/proc/{pid}/task/{}/syscall", thread.tid))
                .ok()
                .and_then(|text| parse_syscall(&text));
        }
        if self.argv.is_empty() {
            self.load_argv();
        }
        self.exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok().map(|p| p.display().to_string());
    }

    /// Read the command line.
    pub fn load_argv(&mut self) {
        let pid = self.pid;
        self.argv = std::fs::read(format!("/proc/{pid}/cmdline")).map(|raw| split_cmdline(&raw)).unwrap_or_default();
    }
}

/// A command line as `/proc/PID/cmdline` holds it (NUL-separated) -> its arguments.
pub fn split_cmdline(raw: &[u8]) -> Vec<String> {
    raw.split(|&b| b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect()
}

fn task_ids(pid: i32) -> Vec<i32> {
    let mut tids: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|entries| entries.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    tids.sort_unstable();
    tids
}

/// Whether the kernel has `/proc/PID/task/TID/children` (`CONFIG_PROC_CHILDREN`).
static CHILDREN_FILES: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    let me = std::process::id();
    std::path::Path::new(&format!("/proc/{me}/task/{me}/children")).exists()
});

/// The children of `pid`: from its threads' `children` files where the kernel has them, else
/// from `parents` (a scan of all of `/proc`, about a millisecond on a quiet machine).
fn children_of(pid: i32, parents: &[(i32, i32)]) -> Vec<i32> {
    if !*CHILDREN_FILES {
        return parents.iter().filter(|&&(_, ppid)| ppid == pid).map(|&(child, _)| child).collect();
    }
    task_ids(pid)
        .into_iter()
        .filter_map(|tid| std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/children")).ok())
        .flat_map(|text| text.split_ascii_whitespace().filter_map(|c| c.parse().ok()).collect::<Vec<i32>>())
        .collect()
}

/// `(pid, ppid)` of every process, when [`children_of`] needs them.
fn all_parents() -> Vec<(i32, i32)> {
    if *CHILDREN_FILES {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<i32>().ok()?;
            let (_, ppid, _) = parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
            Some((pid, ppid))
        })
        .collect()
}

/// Every live process below `root` (not `root` itself), by pid, sampled cheaply.
pub fn sample_tree(root: i32) -> BTreeMap<i32, ProcessSample> {
    let parents = all_parents();
    let mut tree = BTreeMap::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for pid in children_of(parent, &parents) {
            if tree.contains_key(&pid) {
                continue;
            }
            if let Some(sample) = sample_process(pid) {
                tree.insert(pid, sample);
                frontier.push(pid);
            }
        }
    }
    tree
}

/// What a process's stdout and stderr (fds 1 and 2) point at, by one `stat` each through
/// `/proc/PID/fd` (no ptrace, nothing read): the total size of the regular files among them (a
/// file both point at counted once), and whether both are such files. A regrtest `-j` worker
/// writes both to a temporary file that regrtest prints when the worker's test ends: that file
/// growing is the worker's output. `None` when the process is gone.
pub fn output_files(pid: i32) -> Option<OutputFiles> {
    use std::os::unix::fs::MetadataExt;
    let mut files: Vec<(u64, u64, u64)> = Vec::new();
    let mut all_files = true;
    for fd in [1, 2] {
        match std::fs::metadata(format!("/proc/{pid}/fd/{fd}")) {
            Ok(meta) if meta.is_file() => {
                if !files.iter().any(|&(dev, ino, _)| (dev, ino) == (meta.dev(), meta.ino())) {
                    files.push((meta.dev(), meta.ino(), meta.len()));
                }
            }
            Ok(_) => all_files = false,
            // A closed fd, or the process is gone: which, its directory says.
            Err(_) if std::path::Path::new(&format!("/proc/{pid}/fd")).exists() => all_files = false,
            Err(_) => return None,
        }
    }
    let size = files.iter().fold(0u64, |total, &(_, _, len)| total.saturating_add(len));
    Some(OutputFiles { size, all_files: all_files && !files.is_empty() })
}

/// See [`output_files`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputFiles {
    /// The bytes of the regular files fds 1 and 2 point at.
    pub size: u64,
    /// Both point at regular files: all the process writes to them stays out of the run's output
    /// until regrtest prints it.
    pub all_files: bool,
}

/// Whether `pid` catches `signal` (its `SigCgt` mask in `/proc/PID/status`): sending SIGUSR1 to
/// a process that does not would kill it.
pub fn catches_signal(pid: i32, signal: i32) -> bool {
    signal_mask_has(pid, "SigCgt:", signal)
}

/// Whether `pid` ignores `signal` (`SIG_IGN`: its `SigIgn` mask).
pub fn ignores_signal(pid: i32, signal: i32) -> bool {
    signal_mask_has(pid, "SigIgn:", signal)
}

/// Whether a process-directed `signal` (`kill`) is pending in `pid` (its `ShdPnd` mask): every
/// thread of it blocks the signal.
pub fn signal_pending(pid: i32, signal: i32) -> bool {
    signal_mask_has(pid, "ShdPnd:", signal)
}

/// Whether the signal mask `field` (`SigCgt:`...) of `/proc/PID/status` has `signal`.
fn signal_mask_has(pid: i32, field: &str, signal: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return false };
    status_field(&status, field)
        .and_then(|mask| u64::from_str_radix(mask, 16).ok())
        .is_some_and(|mask| (1..=64).contains(&signal) && mask & (1 << (signal - 1)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_writing_to_files_has_their_size_as_its_output() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut file = tempfile::tempfile().expect("a temporary file");
        file.write_all(b"12345").expect("writing it");
        let start = |stdout: Stdio, stderr: Stdio| {
            Command::new("sleep").arg("30").stdout(stdout).stderr(stderr).spawn().expect("sleep")
        };
        let clone = |file: &std::fs::File| Stdio::from(file.try_clone().expect("the same file"));
        // Both to the same file, as regrtest gives a -j worker: counted once.
        let mut both = start(clone(&file), clone(&file));
        // stdout to the file, stderr to a pipe: the pipe's bytes go elsewhere.
        let mut one = start(clone(&file), Stdio::piped());
        let seen = (output_files(both.id() as i32), output_files(one.id() as i32));
        let _ = (both.kill(), one.kill(), both.wait(), one.wait());
        assert_eq!(seen.0, Some(OutputFiles { size: 5, all_files: true }));
        assert_eq!(seen.1, Some(OutputFiles { size: 5, all_files: false }));
        assert_eq!(output_files(i32::MAX), None, "no such process");
    }

    #[test]
    fn stat_fields_after_the_command_name() {
        let stat = "1234 (python3 (x) y) S 77 1234 1234 0 -1 4194560 1 0 0 0 150 25 0 0 20 0 3 0";
        assert_eq!(parse_stat(stat), Some(('S', 77, 175)));
        assert_eq!(parse_stat("1 (x) R"), None, "truncated");
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn syscall_files_as_the_kernel_writes_them() {
        let futex = parse_syscall("202 0x7f1c2a0b3040 0x80 0x2 0x0 0x0 0x0 0x7ffd3a 0x7f1c29e\n").unwrap();
        assert!(futex.is_untimed_futex_wait());
        assert_eq!(futex.futex_address(), Some(0x7f1c_2a0b_3040));
        let timed = parse_syscall("202 0x55aa 0x189 0x0 0x7ffe10 0x0 0xffffffff 0x7ffd 0x7f1c\n").unwrap();
        assert!(!timed.is_untimed_futex_wait(), "FUTEX_WAIT_BITSET with a timeout");
        assert!(!parse_syscall("230 0x1 0x0 0x7ffe 0x0 0x0 0x0 0x7ffd 0x7f").unwrap().is_untimed_futex_wait());
        assert_eq!(parse_syscall("running\n"), None);
        assert_eq!(parse_syscall("-1 0x7ffd 0x7f\n"), None);
        assert_eq!(parse_syscall("202 0xzz"), None);
        // Python 3.11's time.sleep: clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL).
        let sleep = parse_syscall("230 0x1 0x1 0x7ffd1000 0x0 0x0 0x0 0x7ffd 0x7f\n").unwrap();
        assert_eq!(sleep.sleep_request(), Some(Timeout::Timespec { address: 0x7ffd_1000, absolute_clock: Some(1) }));
        assert_eq!(sleep.timeout(), sleep.sleep_request());
        // sleep(3): clock_nanosleep(CLOCK_REALTIME, 0, &duration, &remaining).
        let relative = parse_syscall("230 0x0 0x0 0x7ffd2000 0x7ffd2000 0x0 0x0 0x7ffd 0x7f\n").unwrap();
        assert_eq!(relative.sleep_request(), Some(Timeout::Timespec { address: 0x7ffd_2000, absolute_clock: None }));
        assert_eq!((futex.sleep_request(), futex.timeout()), (None, None), "a futex wait without a timeout");
        // `sleep 30` before and after SIGSTOP + SIGCONT: the kernel goes on with it in
        // restart_syscall, the argument registers as they were.
        let before = parse_syscall("230 0x0 0x0 0x7ffdc79328f0 0x7ffdc7932930 0x0 0x0 0x7ffdc79328d8 0x7f88ecf97503\n");
        let after = parse_syscall("219 0x0 0x0 0x7ffdc79328f0 0x7ffdc7932930 0x0 0x0 0x7ffdc79328d8 0x7f88ecf97503\n");
        let (before, after) = (before.unwrap(), after.unwrap());
        assert!(after.is_restart() && after.sleep_request().is_none() && !after.is_untimed_futex_wait());
        assert!(!before.is_restart() && before.args == after.args);
        assert_eq!((futex.futex_expected(), futex.futex_private(), futex.is_futex_lock_pi()), (Some(2), true, false));
        // glibc 2.36 parking a thread after the kernel refused it a PI mutex, and the other
        // thread of the cycle in FUTEX_LOCK_PI (as /proc showed them, the PI cycle of c/hangfix.c).
        let parked = parse_syscall("202 0x7f6136988e84 0x189 0x0 0x0 0x0 0xffffffff 0x7f6136988e30 0x7f61\n").unwrap();
        assert!(parked.is_untimed_futex_wait());
        assert_eq!(parked.futex_expected(), Some(0));
        let lock_pi = parse_syscall("202 0x7f613698e2c0 0x86 0x0 0x0 0x7f613698e260 0x2 0x7f61 0x7f61\n").unwrap();
        assert!(lock_pi.is_untimed_futex_wait() && lock_pi.is_futex_lock_pi() && lock_pi.futex_private());
        assert_eq!(lock_pi.futex_expected(), None);
        let timed_pi = parse_syscall("202 0x7f613698e2c0 0x6 0x0 0x7ffe10 0x0 0x0 0x7f61 0x7f61\n").unwrap();
        assert!(!timed_pi.is_untimed_futex_wait() && !timed_pi.futex_private());
    }

    #[test]
    fn timed_waits_as_python_3_11_makes_them() {
        // As /proc showed python3.11-dbg in each (x86-64, glibc 2.36).
        let sample = |text: &str| parse_syscall(text).unwrap();
        // threading.Event().wait(30): sem_clockwait, FUTEX_WAIT_BITSET_PRIVATE to a monotonic
        // deadline; .wait() without a timeout is an untimed wait.
        let event = sample("202 0x223db590 0x89 0x0 0x7ffc1c69ab20 0x0 0xffffffff 0x7ffc1c69aa80 0x7ff42d6c4e96");
        let timespec = |address, absolute_clock| Some(Timeout::Timespec { address, absolute_clock });
        assert_eq!(event.timeout(), timespec(0x7ffc_1c69_ab20, Some(libc::CLOCK_MONOTONIC)));
        assert_eq!(event.sleep_request(), None, "a timed wait is no sleep");
        let untimed = sample("202 0x92c0460 0x189 0x0 0x0 0x0 0xffffffff 0x7ffe82633190 0x7f90f745ae96");
        assert!(untimed.is_untimed_futex_wait() && untimed.timeout().is_none());
        // FUTEX_CLOCK_REALTIME (pthread_cond_timedwait on the default clock), FUTEX_WAIT's duration.
        assert_eq!(sample("202 0x55aa 0x189 0x0 0x7ffe10 0x0 0xffffffff 0 0").timeout(), timespec(0x7ffe10, Some(0)));
        assert_eq!(sample("202 0x55aa 0x80 0x2 0x7ffe10 0x0 0x0 0 0").timeout(), timespec(0x7ffe10, None));
        // A PI lock's timeout is not a wait for time: it is the lock's.
        assert_eq!(sample("202 0x7f613698e2c0 0x6 0x0 0x7ffe10 0x0 0x0 0 0").timeout(), None);
        // select.select([r], [], [], 30): pselect6 with a duration.
        let select = sample("270 0x4 0x7ffef17cf740 0x0 0x0 0x7ffef17cf6a0 0x0 0x7ffef17cf690 0x7f6f41272954");
        assert_eq!(select.timeout(), timespec(0x7ffe_f17c_f6a0, None));
        assert_eq!(sample("270 0x4 0x7ffef17cf740 0x0 0x0 0x0 0x0 0x7ffe 0x7f").timeout(), None, "no timeout");
        // A socket with settimeout(30) in recv: poll, 30000 ms; selectors' epoll_wait, the same.
        let poll = sample("7 0x7ffd8c295f18 0x1 0x7530 0x7f345d6498d0 0x0 0x0 0x7ffd8c295f08 0x7f345d737230");
        assert_eq!(poll.timeout(), Some(Timeout::Millis(30_000)));
        let epoll = sample("232 0x5 0x7f76ef12cb50 0x1 0x7530 0x0 0x0 0x7ffe9d68c2b8 0x7f76ef2fcef3");
        assert_eq!(epoll.timeout(), Some(Timeout::Millis(30_000)));
        assert_eq!(sample("7 0x7ffd 0x1 0xffffffff 0x0 0x0 0x0 0 0").timeout(), None, "poll's -1: no timeout");
        assert_eq!(sample("7 0x7ffd 0x1 0x0 0x0 0x0 0x0 0 0").timeout(), None, "poll's 0: no wait");
        assert_eq!(
            sample("23 0x4 0x7ffe 0x0 0x0 0x7ffd20 0x0 0 0").timeout(),
            Some(Timeout::Timeval { address: 0x7ffd20 })
        );
        assert_eq!(sample("0 0x3 0x7ffe 0x10 0x0 0x0 0x0 0 0").timeout(), None, "read(2) waits for data, not time");
    }

    #[test]
    fn this_process_can_be_sampled() {
        let mut me = sample_process(std::process::id() as i32).expect("our own process");
        me.load_details();
        assert!(!me.threads.is_empty());
        assert!(me.argv.iter().any(|a| a.contains("leakcheck")), "{:?}", me.argv);
    }

    #[test]
    fn a_trapped_signal_is_seen_as_caught() {
        use std::io::BufRead;
        let mut child = std::process::Command::new("sh")
            .args(["-c", "trap 'echo got' USR1; echo ready; while :; do sleep 1; done"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let pid = child.id() as i32;
        let caught = catches_signal(pid, libc::SIGUSR1);
        let usr2 = catches_signal(pid, libc::SIGUSR2);
        let _ = child.kill();
        let _ = child.wait();
        assert!(caught && !usr2);
    }
}
