//! At a process's exit: threads of it deadlocked on mutexes would vanish with it, unseen.
//!
//! The harness proves a deadlock by stopping the process and reading its threads (see the
//! harness's `hang` module), once the process has sat still for a while. A `-j` worker whose
//! test left threads deadlocked and passed exits a moment later, long before that: its
//! deadlock is gone with it. So, from the shim's destructor (after the interpreter's
//! finalization), a process looks at its own threads: when two or more of them wait, without a
//! timeout, for glibc mutexes whose recorded owners wait for each other in a cycle (or one
//! waits for a mutex it holds itself), it holds its exit: it creates
//! `$LEAKCHECK_RUN_DIR/held/<pid>` and waits for the harness to look at it and remove the file
//! (at its next tick, about a second), [`HOLD_LIMIT`] at most. The harness reports what it
//! proves as a deadlock of the test, the process going on (its main thread is done).
//!
//! Cheap and quiet otherwise: one read of `/proc/self/task/TID/syscall` per thread and two
//! words of memory per waiter; no allocation (a thread deadlocked inside malloc, holding its
//! lock, must not keep the process from exiting), no file descriptor left open, nothing
//! written to fds 1 and 2.

use std::io::Write;
use std::time::Duration;

use crate::{channel, objtype};

/// The longest a process waits at its exit for the harness to look at it: the harness looks
/// once a second, but not while it waits for another hang's Python stacks (a few seconds).
pub const HOLD_LIMIT: Duration = Duration::from_secs(10);

/// How often the held process looks whether the harness let it go.
const POLL: Duration = Duration::from_millis(20);

/// Threads looked at, at most.
const MAX_THREADS: usize = 1024;

/// The run directory's subdirectory of the held processes (the harness's `HELD_DIR`).
const HELD_DIR: &[u8] = b"held";

/// futex(2) operations, without `FUTEX_PRIVATE_FLAG` and `FUTEX_CLOCK_REALTIME`.
const FUTEX_WAIT: u64 = 0;
const FUTEX_LOCK_PI: u64 = 6;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_LOCK_PI2: u64 = 13;
/// The value glibc's lock waits for (`__lll_lock_wait`: locked, with waiters).
const LLL_LOCKED_WITH_WAITERS: u64 = 2;
/// Where a `pthread_mutex_t` records its owner's TID (`__data.__owner`, after `__lock` and
/// `__count`: x86-64 and AArch64 alike).
const MUTEX_OWNER: u64 = 8;
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// From the shim's destructor: hold the exit while the harness looks, when threads of this
/// process are deadlocked on mutexes (see the module documentation).
pub fn hold_if_deadlocked() {
    let mut tids = [0i32; MAX_THREADS];
    let count = list_threads(&mut tids);
    let tids = &tids[..count];
    if tids.len() < 2 {
        return;
    }
    let mut edges = [(0i32, 0i32); MAX_THREADS];
    let mut n = 0;
    for &tid in tids {
        if let Some(owner) = mutex_owner_awaited(tid).filter(|owner| tids.contains(owner)) {
            edges[n] = (tid, owner);
            n += 1;
        }
    }
    if has_cycle(&edges[..n]) {
        hold();
    }
}

/// Whether the wait-for edges `(waiter, owner)` hold a cycle (a thread waiting for a mutex it
/// holds itself is one).
fn has_cycle(edges: &[(i32, i32)]) -> bool {
    let owner_of = |tid: i32| edges.iter().find(|e| e.0 == tid).map(|e| e.1);
    edges.iter().any(|&(start, _)| {
        let mut current = start;
        // A path longer than the edges repeats a thread: a cycle, maybe not through `start`;
        // any cycle is one.
        for _ in 0..=edges.len() {
            match owner_of(current) {
                Some(owner) if owner == start => return true,
                Some(owner) => current = owner,
                None => return false,
            }
        }
        true
    })
}

/// The TIDs of this process's threads (`/proc/self/task`), as many as fit in `out`.
fn list_threads(out: &mut [i32]) -> usize {
    // SAFETY: a NUL-terminated path; the fd is closed below.
    let fd = unsafe { libc::open(c"/proc/self/task".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        return 0;
    }
    let mut count = 0;
    let mut buf = [0u8; 4096];
    'read: loop {
        // SAFETY: `buf` is writable for its length; `fd` is an open directory.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
        if n <= 0 {
            break;
        }
        // `struct linux_dirent64`: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
        let mut at = 0;
        while at + 19 < n as usize {
            let reclen = usize::from(u16::from_ne_bytes([buf[at + 16], buf[at + 17]]));
            if reclen == 0 || at + reclen > n as usize {
                break 'read;
            }
            let name = &buf[at + 19..at + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if let Some(tid) = parse_decimal(name).and_then(|t| i32::try_from(t).ok()) {
                if count == out.len() {
                    break 'read;
                }
                out[count] = tid;
                count += 1;
            }
            at += reclen;
        }
    }
    // SAFETY: closing the fd opened above.
    unsafe { libc::close(fd) };
    count
}

/// The owner TID of the mutex thread `tid` waits for without a timeout, if it does: a glibc
/// lock wait (`futex_wait(&lock, 2)`) on a mutex, whose `__owner` records it, or a
/// priority-inheritance lock (`FUTEX_LOCK_PI`), whose lock word holds it.
fn mutex_owner_awaited(tid: i32) -> Option<i32> {
    let mut path = [0u8; 64];
    let mut cursor = std::io::Cursor::new(&mut path[..63]);
    write!(cursor, "/proc/self/task/{tid}/syscall").ok()?;
    let mut text = [0u8; 256];
    let len = read_file(&path, &mut text)?;
    let (number, args) = parse_syscall(&text[..len])?;
    if libc::c_long::try_from(number).ok() != Some(libc::SYS_futex) || args[3] != 0 {
        return None;
    }
    let owner = match args[1] & 0x7f {
        FUTEX_WAIT | FUTEX_WAIT_BITSET if args[2] == LLL_LOCKED_WITH_WAITERS => {
            read_u32(args[0].checked_add(MUTEX_OWNER)?)?
        }
        FUTEX_LOCK_PI | FUTEX_LOCK_PI2 => read_u32(args[0])? & FUTEX_TID_MASK,
        _ => return None,
    };
    i32::try_from(owner).ok().filter(|&owner| owner > 0)
}

/// `NUMBER 0xARG1 ... 0xARG6 ...`, the system call a thread is blocked in (not `running`).
fn parse_syscall(text: &[u8]) -> Option<(i64, [u64; 6])> {
    let mut fields = text.split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty());
    let number = i64::try_from(parse_decimal(fields.next()?)?).ok()?;
    let mut args = [0u64; 6];
    for arg in &mut args {
        let hex = fields.next()?.strip_prefix(b"0x")?;
        *arg = hex.iter().try_fold(0u64, |value, &b| {
            let digit = (b as char).to_digit(16)?;
            value.checked_mul(16)?.checked_add(u64::from(digit))
        })?;
    }
    Some((number, args))
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |value, &b| {
        let digit = (b as char).to_digit(10)?;
        value.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Read the file at the NUL-terminated `path` into `out`; the bytes read.
fn read_file(path: &[u8], out: &mut [u8]) -> Option<usize> {
    // SAFETY: `path` is NUL-terminated (callers leave its last byte 0); the fd is closed below.
    let fd = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `out` is writable for its length; `fd` is open.
    let n = unsafe { libc::read(fd, out.as_mut_ptr().cast(), out.len()) };
    // SAFETY: closing the fd opened above.
    unsafe { libc::close(fd) };
    usize::try_from(n).ok()
}

/// A word of this process's memory, read without trusting the address ([`objtype::read`]: an
/// unmapped one fails instead of faulting).
fn read_u32(address: u64) -> Option<u32> {
    let mut word = [0u8; 4];
    objtype::read(usize::try_from(address).ok()?, &mut word).then(|| u32::from_ne_bytes(word))
}

/// Create `$LEAKCHECK_RUN_DIR/held/<pid>` and wait until the harness removes it, or
/// [`HOLD_LIMIT`].
fn hold() {
    let Some(dir) = channel::run_dir() else { return };
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut path = [0u8; libc::PATH_MAX as usize + 32];
    // The last byte is left out, so that it stays NUL: a path too long fails to be written.
    let last = path.len() - 1;
    let mut cursor = std::io::Cursor::new(&mut path[..last]);
    if cursor.write_all(dir).and_then(|()| cursor.write_all(b"/")).and_then(|()| cursor.write_all(HELD_DIR)).is_err() {
        return;
    }
    let dir_end = cursor.position() as usize;
    if write!(cursor, "/{pid}").is_err() {
        return;
    }
    let mut held_dir = path;
    held_dir[dir_end] = 0;
    // SAFETY: `held_dir` is NUL-terminated at `dir_end`.
    if unsafe { libc::mkdir(held_dir.as_ptr().cast(), 0o700) } != 0
        && std::io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST)
    {
        return;
    }
    // SAFETY: a NUL-terminated path; the fd is closed at once.
    let fd = unsafe {
        libc::open(
            path.as_ptr().cast(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            0o600,
        )
    };
    if fd < 0 {
        return;
    }
    // SAFETY: closing the fd opened above.
    unsafe { libc::close(fd) };
    let start = channel::monotonic_ns();
    let limit = HOLD_LIMIT.as_nanos() as u64;
    loop {
        let pause = libc::timespec { tv_sec: 0, tv_nsec: POLL.as_nanos() as libc::c_long };
        // SAFETY: a valid timespec; no remainder wanted (an interrupted pause just looks sooner).
        unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
        // SAFETY: a NUL-terminated path.
        if unsafe { libc::access(path.as_ptr().cast(), libc::F_OK) } != 0 {
            return;
        }
        if channel::monotonic_ns().saturating_sub(start) >= limit {
            // SAFETY: a NUL-terminated path.
            unsafe { libc::unlink(path.as_ptr().cast()) };
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_of_owners_is_found_and_a_chain_is_not() {
        assert!(has_cycle(&[(10, 11), (11, 10)]));
        assert!(has_cycle(&[(9, 10), (10, 11), (11, 12), (12, 10)]), "a chain into a cycle");
        assert!(has_cycle(&[(10, 10)]), "a mutex relocked by its owner");
        assert!(!has_cycle(&[(10, 11), (11, 12)]));
        assert!(!has_cycle(&[]));
    }

    #[test]
    fn a_blocked_syscall_line_is_read_and_running_is_not() {
        let (number, args) = parse_syscall(b"202 0x7f12a0 0x80 0x2 0x0 0x0 0x0 0x7ffd 0x7f\n").expect("a futex wait");
        assert_eq!(number, 202);
        assert_eq!(args, [0x7f12a0, 0x80, 2, 0, 0, 0]);
        assert_eq!(parse_syscall(b"running\n"), None);
        assert_eq!(parse_syscall(b"-1 0x7ffd 0x7f\n"), None);
    }

    /// A thread of this test process blocked for good on a mutex that another one holds, which
    /// waits in turn for one the first holds: found from `/proc/self/task`, as at an exit.
    #[test]
    fn threads_deadlocked_on_two_mutexes_are_seen_from_inside() {
        use std::sync::atomic::{AtomicI32, Ordering};
        static A: StaticMutex = StaticMutex::new();
        static B: StaticMutex = StaticMutex::new();
        static TID_A: AtomicI32 = AtomicI32::new(0);
        static TID_B: AtomicI32 = AtomicI32::new(0);
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let spawn = |first: &'static StaticMutex, second: &'static StaticMutex, tid: &'static AtomicI32| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                // SAFETY: gettid has no preconditions.
                tid.store(unsafe { libc::gettid() }, Ordering::SeqCst);
                first.lock();
                barrier.wait();
                second.lock();
            })
        };
        // Deadlocked for good: the threads are left behind (the test process ends them).
        let _a = spawn(&A, &B, &TID_A);
        let _b = spawn(&B, &A, &TID_B);
        let (a, b) = (|| TID_A.load(Ordering::SeqCst), || TID_B.load(Ordering::SeqCst));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while (mutex_owner_awaited(a()) != Some(b()) || mutex_owner_awaited(b()) != Some(a()))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(mutex_owner_awaited(a()), Some(b()));
        assert_eq!(mutex_owner_awaited(b()), Some(a()));
        let mut tids = [0i32; MAX_THREADS];
        let count = list_threads(&mut tids);
        assert!(tids[..count].contains(&a()) && tids[..count].contains(&b()), "{:?}", &tids[..count]);
        // SAFETY: gettid has no preconditions.
        assert_eq!(mutex_owner_awaited(unsafe { libc::gettid() }), None, "this thread runs");
    }

    /// A plain glibc mutex in a static, as a C extension has one.
    struct StaticMutex(std::cell::UnsafeCell<libc::pthread_mutex_t>);
    // SAFETY: a pthread mutex is made to be shared between threads.
    unsafe impl Sync for StaticMutex {}
    impl StaticMutex {
        const fn new() -> Self {
            Self(std::cell::UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER))
        }
        fn lock(&self) {
            // SAFETY: a valid, initialised mutex that lives for the whole process.
            unsafe { libc::pthread_mutex_lock(self.0.get()) };
        }
    }
}
