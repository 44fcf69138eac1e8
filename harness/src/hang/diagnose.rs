//! Why a process is stuck: a pure function of what the inspection saw (threads, their native
//! frames, the futex each one sleeps on and, for a glibc mutex, the owner TID its word records).
//!
//! - `lock-cycle`: thread A waits for a mutex owned by B, B (transitively) for one owned by A.
//!   A thread that glibc parked for good after the kernel refused it a priority-inheritance
//!   mutex (`EDEADLK`) waits for that mutex.
//! - `lock-owner-gone`: a thread waits for a mutex whose owner is no thread of the process:
//!   it was locked by a thread of the parent and inherited, locked, across `fork`, or its owner
//!   thread exited holding it. (A process-shared mutex held by a live thread of another process
//!   is legitimately waited for: the caller leaves its owner out.)
//! - `known-signature`: a known pattern, with its reference (bpo-45200: a forked child blocked
//!   on a lock inside libasan, inherited locked across `fork`).
//! - `no-progress`: none of the above could be proved; the caller decides when to say so.
//!
//! Knows nothing of processes: the caller reads memory and registers.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use serde::Serialize;

use super::gil::{GilState, GIL_WAIT_FUNCTIONS};
use crate::report::and_list;
use crate::symbolize::Frame;

/// What the inspection saw of one thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadView {
    pub tid: i32,
    pub state: char,
    /// Native frames, innermost first (symbolized).
    pub frames: Vec<Frame>,
    /// The futex the thread sleeps on without a timeout, if it does.
    pub futex: Option<u64>,
    /// The owner TID recorded in the mutex at `futex`, when the frames show a mutex lock (and it
    /// is not a process-shared mutex held by a live thread of another process).
    pub mutex_owner: Option<i32>,
    /// glibc parked the thread for good after the kernel refused it the priority-inheritance
    /// mutex at `futex` (its futex wait is then on a word of its own stack, not on the mutex).
    pub lock_refused: bool,
    /// For a thread waiting for a GIL (`take_gil`): the futex it was waiting on when stopped
    /// (timed: the GIL's condition variable), which says which GIL it waits for when a process
    /// has more than one (see `gil.rs`).
    pub gil_futex: Option<u64>,
    /// The mutex at `futex` is in memory shared with another process (`MAP_SHARED`) and locked
    /// by a live thread of that process. Not `mutex_owner`: its owner is no thread of this
    /// process, and it is not gone.
    pub foreign_owner: Option<ForeignOwner>,
}

/// A live thread of another process that holds the mutex a thread waits for (see
/// [`ThreadView::foreign_owner`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignOwner {
    pub tid: i32,
    /// Its process.
    pub pid: i32,
    /// The mutex is a process-shared one (`PTHREAD_PROCESS_SHARED`: the waiter sleeps on a
    /// shared futex, which the owner's unlock wakes), not a process-private one in shared memory
    /// (whose unlock wakes its own process's waiters only).
    pub process_shared: bool,
}

/// What the inspection saw of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessView {
    pub pid: i32,
    /// A child that its parent forked without exec: same executable and command line.
    pub forked_child: bool,
    pub threads: Vec<ThreadView>,
    /// CPython's GIL and its holder, when a thread waits for it and the interpreter's layout is
    /// known (see `gil.rs`).
    pub gil: Option<GilState>,
    /// Where the mutexes the threads wait for are, by address, when known (see [`LockPlace`]).
    pub places: BTreeMap<u64, LockPlace>,
}

/// Where a lock is in its process's memory, to name it: a global variable of a module (by its
/// symbol), the heap, a thread's stack, a file's mapping without a symbol there, or other
/// anonymous memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockPlace {
    /// `global`, `heap`, `stack`, `mapped` (a file's mapping, no symbol covers it), `shared`
    /// (anonymous memory shared between processes: `MAP_SHARED | MAP_ANONYMOUS`, System V
    /// shared memory) or `anonymous` (memory no file, heap or stack is known in).
    pub memory: &'static str,
    /// A global's symbol, with the offset into it when the lock is not its start
    /// (`table+0x40`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// The module (ELF file) of a global, or the file mapped there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// For `stack`: the thread whose stack it is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<i32>,
}

impl LockPlace {
    /// The lock at `address` in words: `mutex ma (a global of _x.so) at 0x...`, `a mutex on the
    /// heap at 0x...`, `a mutex on thread 12's stack at 0x...`.
    pub fn words(&self, address: u64) -> String {
        let file = |module: &Option<String>| {
            module.as_deref().map(|m| m.rsplit('/').next().unwrap_or(m).to_owned()).unwrap_or_else(|| "?".into())
        };
        match (self.memory, &self.symbol, self.thread) {
            ("global", Some(symbol), _) => {
                format!("mutex {symbol} (a global of {}) at {address:#x}", file(&self.module))
            }
            ("heap", _, _) => format!("a mutex on the heap at {address:#x}"),
            ("stack", _, Some(thread)) => format!("a mutex on thread {thread}'s stack at {address:#x}"),
            ("shared", _, _) => format!("a mutex in shared anonymous memory at {address:#x}"),
            ("mapped", _, _) => {
                format!("a mutex in {}'s mapping (no symbol there) at {address:#x}", file(&self.module))
            }
            _ => format!("a mutex in anonymous memory at {address:#x}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiagnosisKind {
    LockCycle,
    LockOwnerGone,
    KnownSignature,
    NoProgress,
}

/// A lock in a diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockInfo {
    /// Address of the mutex in the process, as `"0x..."`.
    pub address: String,
    /// What the lock is when it is no plain mutex: `"GIL"` for CPython's GIL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The owner TID the mutex records.
    pub owner: i32,
    /// Threads waiting for it.
    pub waiters: Vec<i32>,
    /// Where it is (a plain mutex's, when known): its fields, flattened.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub place: Option<LockPlace>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    pub kind: DiagnosisKind,
    /// One sentence for people.
    pub summary: String,
    /// The process the diagnosis is about.
    pub pid: i32,
    /// Threads involved.
    pub threads: Vec<i32>,
    pub locks: Vec<LockInfo>,
    /// For `known-signature`: the issue it is (e.g. `bpo-45200`).
    pub reference: Option<String>,
}

/// glibc's `pthread_mutex_t` lock functions: when one of them called the futex wait, the futex is
/// a `pthread_mutex_t`, whose `__owner` field is the owner's TID.
const MUTEX_LOCK_FUNCTIONS: &[&str] = &[
    "pthread_mutex_lock",
    "___pthread_mutex_lock",
    "__pthread_mutex_lock",
    "__pthread_mutex_lock_full",
    "lll_mutex_lock_optimized",
    "pthread_mutex_timedlock",
    "___pthread_mutex_timedlock",
    "__pthread_mutex_timedlock",
    "pthread_mutex_clocklock",
    "___pthread_mutex_clocklock",
    "__pthread_mutex_clocklock_common",
    // `pthread_cond_wait` re-locking its mutex on wakeup (glibc builds these from
    // `pthread_mutex_lock.c`: the same mutex, the same `__owner`).
    "__pthread_mutex_cond_lock",
    "__pthread_mutex_cond_lock_full",
];

/// The low-level waits between a lock function and the futex system call. `__lll_lock_wait`
/// is what `pthread_mutex_lock` calls (its private flag is only known at run time);
/// `__lll_lock_wait_private` is not here: glibc's internal locks wait there (`lll_lock(...,
/// LLL_PRIVATE)`: a stdio `FILE`'s `_IO_lock_t`, malloc's arena locks...), which are no
/// `pthread_mutex_t` and record no owner TID where a mutex does.
const LOW_LEVEL_WAITS: &[&str] = &[
    "futex_wait",
    "__lll_lock_wait",
    "__lll_clocklock_wait",
    "__futex_abstimed_wait_common",
    "__futex_abstimed_wait_common64",
    "__futex_abstimed_wait64",
    "__futex_abstimed_wait_cancelable64",
    "__futex_lock_pi64",
    "syscall",
];

/// `pthread_cond_wait` and its timed variants, as the C library's `.dynsym` names them: without
/// its debug symbols, the re-lock of the mutex on wakeup (`__pthread_mutex_cond_lock`, which is
/// not exported) shows as unnamed frames under one of these.
const COND_WAIT_FUNCTIONS: &[&str] = &[
    "pthread_cond_wait",
    "__pthread_cond_wait",
    "pthread_cond_timedwait",
    "__pthread_cond_timedwait",
    "pthread_cond_clockwait",
    "__pthread_cond_clockwait",
];

/// The futex value `__lll_lock_wait` waits for (glibc `nptl/lowlevellock.c`: `futex_wait (futex,
/// 2, private)`, "locked, with waiters"): the lock word of the mutex, at its offset 0.
pub const LLL_LOCKED_WITH_WAITERS: u32 = 2;

/// Whether `frame` is in the C library without a name: a function its `.dynsym` does not
/// export (`__lll_lock_wait`, `__pthread_mutex_lock_full`, `__pthread_mutex_cond_lock`...) when
/// the library's debug symbols are not installed (libc6-dbg on Debian: absent from most build
/// machines).
pub fn unnamed_in_c_library(frame: &Frame) -> bool {
    frame.function.is_none() && is_c_library(&frame.module)
}

/// Whether `module` (a path) is glibc's C library (or its pre-2.34 `libpthread`).
fn is_c_library(module: &str) -> bool {
    let name = module.rsplit('/').next().unwrap_or(module);
    name.starts_with("libc.so") || name.starts_with("libc-2.") || name.starts_with("libpthread")
}

/// Whether the innermost frames are glibc waiting on a `pthread_mutex_t`: after the low-level
/// waits, the first function is one of the mutex's lock functions. Any other caller (an
/// internal lock's `__lll_lock_wait_private`, a function outside the C library) proves nothing.
pub fn waits_on_mutex(frames: &[Frame]) -> bool {
    mutex_lock_function(frames, None).is_some()
}

/// The mutex lock function [`waits_on_mutex`] finds (without a `__GI_` prefix), if any, for a
/// thread in a futex wait that expects the value `expected` (when known).
///
/// Without the C library's debug symbols the low-level waits have no name: unnamed frames of
/// the C library before the lock function count as low-level waits (the thread is in a futex
/// wait: they are what calls it), for `pthread_mutex_lock` and its variants, which `.dynsym`
/// names. The re-lock in `pthread_cond_wait` is then only two unnamed frames under
/// `pthread_cond_wait`, which waits on its condition variable the same way: it counts as a
/// mutex wait only when the wait expects [`LLL_LOCKED_WITH_WAITERS`] (glibc waits on a
/// condition variable's `__g_signals` expecting 0), and the caller checks the word still reads
/// so; the returned name is then `__pthread_mutex_cond_lock`.
pub fn mutex_lock_function(frames: &[Frame], expected: Option<u32>) -> Option<&str> {
    // glibc's own calls go through hidden aliases, which DWARF names `__GI_<name>`.
    fn name(frame: &Frame) -> Option<&str> {
        frame.function.as_deref().map(|n| n.strip_prefix("__GI_").unwrap_or(n))
    }
    let low_level = |f: &&Frame| name(f).is_some_and(|n| LOW_LEVEL_WAITS.contains(&n)) || unnamed_in_c_library(f);
    let unnamed = frames.iter().take_while(low_level).any(unnamed_in_c_library);
    let function = frames.iter().find(|f| !low_level(f)).and_then(name)?;
    if MUTEX_LOCK_FUNCTIONS.contains(&function) {
        Some(function)
    } else if unnamed && COND_WAIT_FUNCTIONS.contains(&function) && expected == Some(LLL_LOCKED_WITH_WAITERS) {
        Some(COND_RELOCK_FUNCTION)
    } else {
        None
    }
}

/// The function of `pthread_cond_wait` that re-locks its mutex on wakeup.
pub const COND_RELOCK_FUNCTION: &str = "__pthread_mutex_cond_lock";

/// CPython's functions that wait on a POSIX semaphore (`sem_wait`, `sem_clockwait`): a Python
/// lock (3.11, 3.12) or the parking lot's semaphore (3.13+).
const PYTHON_SEMAPHORE_WAITS: &[&str] =
    &["PyThread_acquire_lock_timed", "_PySemaphore_PlatformWait", "_PySemaphore_Wait"];

/// Whether a thread in an untimed futex wait is, as far as its frames show, in the C library
/// without the debug symbols that would tell which lock it waits for: its innermost frames have
/// no name, and the first named frame after them (its caller) is outside the C library (a
/// tail call from an exported function, like `pthread_mutex_lock`'s into the unexported
/// `__pthread_mutex_lock_full` for a priority-inheritance mutex, leaves no frame of its own).
/// An exported caller (`sem_wait`, `pthread_cond_wait`, `pthread_join`...) or one
/// [`mutex_lock_function`] accepts tells the wait by its name.
pub fn unnamed_c_library_wait(frames: &[Frame], expected: Option<u32>) -> bool {
    let low_level = |f: &&Frame| {
        f.function.as_deref().is_some_and(|n| LOW_LEVEL_WAITS.contains(&n.strip_prefix("__GI_").unwrap_or(n)))
            || unnamed_in_c_library(f)
    };
    let caller = frames.iter().find(|f| !low_level(f));
    let caller_outside = caller.is_none_or(|f| !is_c_library(&f.module));
    // CPython's own waits on a semaphore (a Python lock, 3.13+'s parking lot): no owner to
    // read, with the C library's symbols or without.
    let python_semaphore =
        caller.and_then(|f| f.function.as_deref()).is_some_and(|n| PYTHON_SEMAPHORE_WAITS.contains(&n));
    if python_semaphore {
        return false;
    }
    frames.first().is_some_and(unnamed_in_c_library)
        && caller_outside
        && mutex_lock_function(frames, expected).is_none()
}

/// Whether the thread's innermost frames are a wait for CPython's GIL: `take_gil` among the
/// first few (below it: the condition variable's wait and glibc's futex calls).
pub fn waits_for_gil(frames: &[Frame]) -> bool {
    frames.iter().take(8).any(|f| f.function.as_deref().is_some_and(|n| GIL_WAIT_FUNCTIONS.contains(&n)))
}

/// Whether `thread` waits for `gil`: it is in `take_gil`, and `gil` is the process's only GIL
/// or the futex the thread sleeps on is inside it. A thread waiting for another GIL (an own-GIL
/// subinterpreter's), or for one that cannot be told, is no waiter of this one.
fn waits_for(gil: &GilState, thread: &ThreadView) -> bool {
    waits_for_gil(&thread.frames) && gil.waited_on(thread.gil_futex)
}

/// The wait-for edges of `process`: thread -> (the lock it waits for, its owner). Mutex waits
/// (a glibc mutex's recorded owner, a priority-inheritance mutex's lock word), and GIL waits: a
/// thread in `take_gil` waits for the thread holding the GIL (a timed wait, repeated: it asks
/// the holder to drop the GIL every 5 ms, and the holder never does while it sleeps in an
/// untimed wait of its own). The GIL's holder is one of the process's threads: a GIL whose
/// holder is gone proves nothing here, only a cycle does. Only a thread shown to wait for that
/// GIL (see [`waits_for`]).
fn wait_edges(process: &ProcessView) -> BTreeMap<i32, (u64, i32)> {
    let mut waits: BTreeMap<i32, (u64, i32)> =
        process.threads.iter().filter_map(|t| Some((t.tid, (t.futex?, t.mutex_owner.filter(|&o| o > 0)?)))).collect();
    if let Some((state, holder)) = live_gil(process) {
        for thread in process.threads.iter().filter(|t| t.tid != holder && waits_for(&state, t)) {
            waits.entry(thread.tid).or_insert((state.address, holder));
        }
    }
    waits
}

/// The GIL and its holder, when the holder is a thread of the process.
fn live_gil(process: &ProcessView) -> Option<(GilState, i32)> {
    let gil = process.gil?;
    Some((gil, gil.holder.filter(|h| process.threads.iter().any(|t| t.tid == *h))?))
}

/// Whether thread `tid` of `process` waits, through the locks it waits for and their owners'
/// own waits ([`wait_edges`]), for one of `threads` (a deadlock's): then it is blocked for as
/// long as they are. A thread among `threads` waits for them too.
pub fn waits_on(process: &ProcessView, tid: i32, threads: &[i32]) -> bool {
    let waits = wait_edges(process);
    let mut current = tid;
    for _ in 0..=waits.len() {
        if threads.contains(&current) {
            return true;
        }
        match waits.get(&current) {
            Some(&(_, owner)) => current = owner,
            None => return false,
        }
    }
    false
}

/// `process` as if `tids` waited for nothing (their deadlock was reported already): what else
/// it can prove. They stay threads of the process, so that a wait for a lock one of them holds
/// is no wait for a lost owner.
pub fn without_waits_of(process: &ProcessView, tids: &[i32]) -> ProcessView {
    let mut process = process.clone();
    for thread in process.threads.iter_mut().filter(|t| tids.contains(&t.tid)) {
        thread.futex = None;
        thread.mutex_owner = None;
        thread.lock_refused = false;
        thread.gil_futex = None;
        // Not a GIL waiter either: its frames are what say so.
        thread.frames.retain(|f| !f.function.as_deref().is_some_and(|n| GIL_WAIT_FUNCTIONS.contains(&n)));
    }
    process
}

/// `process` without the mutex waits whose owner is no thread of it: only a lock cycle can be
/// proved from what is left. At a process's exit, after the interpreter's finalization, a
/// daemon thread it ended (3.11 ends one that asks for the GIL then) may have held a mutex:
/// that is the finalization's doing, not a deadlock of the test's.
pub fn without_lost_owners(process: &ProcessView) -> ProcessView {
    let mut process = process.clone();
    let tids: Vec<i32> = process.threads.iter().map(|t| t.tid).collect();
    for thread in &mut process.threads {
        if thread.mutex_owner.is_some_and(|owner| !tids.contains(&owner)) {
            thread.mutex_owner = None;
        }
    }
    process
}

/// The provable reason `process` is stuck, if any.
pub fn diagnose(process: &ProcessView) -> Option<Diagnosis> {
    if let Some(known) = known_signature(process) {
        return Some(known);
    }
    let tids: Vec<i32> = process.threads.iter().map(|t| t.tid).collect();
    let waits = wait_edges(process);
    let gil = live_gil(process).map(|(state, holder)| (state.address, holder));
    let is_gil = |address: u64| gil.is_some_and(|(gil, _)| gil == address);
    let name = |address: u64| {
        if is_gil(address) {
            format!("the GIL ({address:#x})")
        } else {
            lock_words(process, address)
        }
    };
    let lock = |address: u64, owner: i32| LockInfo {
        address: format!("{address:#x}"),
        name: is_gil(address).then(|| "GIL".to_owned()),
        owner,
        waiters: waits.iter().filter(|(_, &(a, _))| a == address).map(|(&t, _)| t).collect(),
        place: if is_gil(address) { None } else { process.places.get(&address).cloned() },
    };
    let refused: Vec<i32> = process.threads.iter().filter(|t| t.lock_refused).map(|t| t.tid).collect();
    // An owner that is no thread of this process.
    if let Some((&tid, &(address, owner))) = waits.iter().find(|(_, (_, owner))| !tids.contains(owner)) {
        return Some(Diagnosis {
            kind: DiagnosisKind::LockOwnerGone,
            summary: format!(
                "thread {tid} waits for {}, locked by thread {owner}, which does not exist in process {}: {}{}",
                lock_words(process, address),
                process.pid,
                if process.forked_child {
                    "the mutex was locked when the process was forked, and the child inherited it locked, or its \
                     owner exited holding it"
                } else {
                    "its owner exited holding it"
                },
                if refused.contains(&tid) {
                    " (the kernel refused the thread this priority-inheritance mutex, and glibc parks it for good)"
                } else {
                    ""
                }
            ),
            pid: process.pid,
            threads: vec![tid],
            locks: vec![lock(address, owner)],
            reference: None,
        });
    }
    // A cycle in the wait-for graph: follow owners from each waiting thread.
    let cycle = find_cycle(waits.keys().copied(), |t| waits.get(&t).map(|w| w.1), |_| true)?;
    let locks: Vec<LockInfo> = cycle.iter().map(|t| lock(waits[t].0, waits[t].1)).collect();
    let chain: Vec<String> = cycle
        .iter()
        .map(|t| {
            let refused = if refused.contains(t) {
                " (the kernel saw the deadlock and refused it this priority-inheritance mutex: \
                 EDEADLK, on which glibc parks the thread for good)"
            } else {
                ""
            };
            format!("thread {t} waits for {} held by thread {}{refused}", name(waits[t].0), waits[t].1)
        })
        .collect();
    Some(Diagnosis {
        kind: DiagnosisKind::LockCycle,
        summary: format!("deadlock in process {}: {}", process.pid, chain.join(", ")),
        pid: process.pid,
        threads: cycle,
        locks,
        reference: None,
    })
}

/// The mutex at `address` of `process` in words: where it is, when known (see
/// [`LockPlace::words`]), else `the mutex at 0x...`.
fn lock_words(process: &ProcessView, address: u64) -> String {
    match process.places.get(&address) {
        Some(place) => place.words(address),
        None => format!("the mutex at {address:#x}"),
    }
}

/// Threads of `process` waiting for the GIL (in `take_gil`) held by another of its threads,
/// with nothing proved (no cycle: the holder runs, or waits for something no waiter holds):
/// the no-progress summary's reason (`thread B waits for the GIL (0x...), held by thread A
/// (running)`) and its threads (the waiters, then the holder) and lock, as a lock cycle lists
/// them. `None` when no thread waits for a GIL whose holder is a thread of the process.
pub fn gil_wait(process: &ProcessView) -> Option<(String, Vec<i32>, LockInfo)> {
    let gil = process.gil?;
    let holder = process.threads.iter().find(|t| Some(t.tid) == gil.holder)?;
    let waiters: Vec<i32> =
        process.threads.iter().filter(|t| t.tid != holder.tid && waits_for(&gil, t)).map(|t| t.tid).collect();
    if waiters.is_empty() {
        return None;
    }
    let doing = match holder.state {
        'R' => "running".to_owned(),
        'S' if holder.futex.is_some() => "asleep in a futex wait without a timeout".to_owned(),
        'S' => "asleep".to_owned(),
        'D' => "in an uninterruptible wait in the kernel".to_owned(),
        't' | 'T' => "stopped".to_owned(),
        other => format!("state {other}"),
    };
    let who = match waiters.as_slice() {
        [one] => format!("thread {one} waits"),
        many => {
            let tids: Vec<String> = many.iter().map(i32::to_string).collect();
            format!("threads {} wait", tids.join(", "))
        }
    };
    let summary = format!(
        "{who} for the GIL ({:#x}), held by thread {} ({doing}) in process {}",
        gil.address, holder.tid, process.pid
    );
    let lock = LockInfo {
        address: format!("{:#x}", gil.address),
        name: Some("GIL".to_owned()),
        owner: holder.tid,
        waiters: waiters.clone(),
        place: None,
    };
    let mut threads = waiters;
    threads.push(holder.tid);
    Some((summary, threads, lock))
}

/// What a thread waiting for a Python lock runs: 3.11's `PyThread_acquire_lock_timed` (a
/// semaphore; `acquire_timed` calls it), 3.13+'s `PyMutex` (`_PyMutex_LockTimed`, the parking
/// lot). `threading`'s Lock, RLock, Condition, Event, `Thread.join` and `queue.Queue` all wait
/// so.
const PYTHON_LOCK_WAIT_FUNCTIONS: &[&str] =
    &["PyThread_acquire_lock_timed", "acquire_timed", "_PyMutex_LockTimed", "_PyParkingLot_Park"];

/// The threads of `process` that wait without a timeout for a Python lock (see
/// [`PYTHON_LOCK_WAIT_FUNCTIONS`]; not the GIL): Python's locks record no owner, so no cycle
/// through them can be shown, but a no-progress summary names them.
pub fn python_lock_waiters(process: &ProcessView) -> Vec<i32> {
    let in_lock_wait = |frames: &[Frame]| {
        frames.iter().take(16).any(|f| f.function.as_deref().is_some_and(|n| PYTHON_LOCK_WAIT_FUNCTIONS.contains(&n)))
    };
    process
        .threads
        .iter()
        .filter(|t| t.futex.is_some() && !waits_for_gil(&t.frames) && in_lock_wait(&t.frames))
        .map(|t| t.tid)
        .collect()
}

/// The no-progress reason [`python_lock_waiters`] gives, for `(pid, waiters)` of the processes
/// that have any: `threads 12 and 13 of process 11 wait without a timeout for Python locks ...`.
pub fn python_lock_words(waiting: &[(i32, Vec<i32>)]) -> Option<String> {
    let parts: Vec<String> = waiting
        .iter()
        .filter(|(_, tids)| !tids.is_empty())
        .map(|(pid, tids)| {
            let tids: Vec<String> = tids.iter().map(i32::to_string).collect();
            let noun = if tids.len() == 1 { "thread" } else { "threads" };
            format!("{noun} {} of process {pid}", and_list(&tids))
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "{} wait without a timeout for Python locks (threading's Lock, RLock, Condition, Event, Thread.join and \
         queue.Queue wait so), which record no owner: which thread holds each is not known; their Python stacks say \
         where each waits",
        parts.join(", ")
    ))
}

/// A thread of `process` waiting for a process-private mutex in memory shared with another
/// process, locked by a live thread there ([`ThreadView::foreign_owner`]): no proof (the owner
/// may unlock it), but what a no-progress summary names, with the thread and the lock, as
/// [`gil_wait`] does. The wait is a bug of its own: glibc wakes a private mutex's waiters with a
/// private futex wake, which reaches the unlocking process's waiters only, so this thread
/// sleeps on even once the owner unlocks the mutex.
pub fn foreign_wait(process: &ProcessView) -> Option<(String, Vec<i32>, LockInfo)> {
    let (thread, foreign) = process.threads.iter().find_map(|t| Some((t, t.foreign_owner?)))?;
    let ForeignOwner { tid: owner, pid: owner_pid, process_shared } = foreign;
    let address = thread.futex?;
    let kind = if process_shared {
        "a process-shared mutex, which that thread has not unlocked"
    } else {
        "a process-private mutex (not PTHREAD_PROCESS_SHARED) in memory the two processes share, whose unlock would \
         not wake this thread (glibc wakes a private mutex's waiters in its own process only)"
    };
    let summary = format!(
        "thread {} of process {} waits for {}, locked by thread {owner} of process {owner_pid} (alive): {kind}",
        thread.tid,
        process.pid,
        lock_words(process, address)
    );
    let place = process.places.get(&address).cloned();
    let lock = LockInfo { address: format!("{address:#x}"), name: None, owner, waiters: vec![thread.tid], place };
    Some((summary, vec![thread.tid], lock))
}

/// A lock cycle through threads of two or more of `processes`: a thread waits for a mutex held
/// by a live thread of another process ([`ThreadView::foreign_owner`]: a process-shared mutex,
/// or a private one in shared memory), which waits, directly or through other threads' mutexes,
/// for one the first holds. Each process alone proves nothing (the owner of its awaited mutex
/// is alive elsewhere); together they wait for each other for good. The diagnosis's `pid` is
/// the first of `processes` in the cycle: the caller picks the one to end.
pub fn cross_process_cycle(processes: &[&ProcessView]) -> Option<Diagnosis> {
    // Thread -> (its process's index, the mutex it waits for, the owner's TID).
    let mut waits: BTreeMap<i32, (usize, u64, i32)> = BTreeMap::new();
    for (index, process) in processes.iter().enumerate() {
        for (tid, (address, owner)) in wait_edges(process) {
            waits.insert(tid, (index, address, owner));
        }
        for thread in &process.threads {
            if let (Some(address), Some(foreign)) = (thread.futex, thread.foreign_owner) {
                waits.insert(thread.tid, (index, address, foreign.tid));
            }
        }
    }
    let in_one_process = |cycle: &[i32]| cycle.iter().all(|t| waits[t].0 == waits[&cycle[0]].0);
    // A cycle within one process is that process's own proof, not this one's.
    let cycle = find_cycle(waits.keys().copied(), |t| waits.get(&t).map(|w| w.2), |c| !in_one_process(c))?;
    let chain: Vec<String> = cycle
        .iter()
        .map(|&t| {
            let (index, address, owner) = waits[&t];
            let process = processes[index];
            let owner_process =
                waits.get(&owner).map_or(String::new(), |w| format!(" of process {}", processes[w.0].pid));
            format!(
                "thread {t} of process {} waits for {} held by thread {owner}{owner_process}",
                process.pid,
                lock_words(process, address)
            )
        })
        .collect();
    let locks = cycle
        .iter()
        .map(|&t| {
            let (index, address, owner) = waits[&t];
            LockInfo {
                address: format!("{address:#x}"),
                name: None,
                owner,
                waiters: waits.iter().filter(|(_, w)| w.0 == index && w.1 == address).map(|(&t, _)| t).collect(),
                place: processes[index].places.get(&address).cloned(),
            }
        })
        .collect();
    let mut named: Vec<String> = Vec::new();
    for t in &cycle {
        let pid = processes[waits[t].0].pid.to_string();
        if !named.contains(&pid) {
            named.push(pid);
        }
    }
    let first = cycle.iter().map(|t| waits[t].0).min().map_or(processes[0].pid, |i| processes[i].pid);
    Some(Diagnosis {
        kind: DiagnosisKind::LockCycle,
        summary: format!("deadlock across processes {}: {}", and_list(&named), chain.join(", ")),
        pid: first,
        threads: cycle,
        locks,
        reference: None,
    })
}

/// The first cycle of the wait-for graph `owner_of` (a thread to the owner of the lock it
/// waits for) that `wanted` takes, following owners from each of `starts` in turn: the threads
/// of the cycle, in the order they wait for each other.
fn find_cycle(
    starts: impl Iterator<Item = i32>,
    owner_of: impl Fn(i32) -> Option<i32>,
    wanted: impl Fn(&[i32]) -> bool,
) -> Option<Vec<i32>> {
    for start in starts {
        let mut path = vec![start];
        while let Some(owner) = path.last().and_then(|&t| owner_of(t)) {
            if let Some(position) = path.iter().position(|&t| t == owner) {
                let cycle = &path[position..];
                if wanted(cycle) {
                    return Some(cycle.to_vec());
                }
                break;
            }
            path.push(owner);
        }
    }
    None
}

/// bpo-45200 (gh-89363): libasan's internal locks (its allocator's size-class regions, thread
/// registry, ...) are not reset at `fork`, so a lock a parent thread held at that moment stays
/// locked in the child, and the child's first `pthread_create` (or allocation) on that path
/// sleeps forever: test_multiprocessing_fork hangs under ASAN. LLVM's runtime gained fork
/// handlers in late 2023 (llvm-project PR 75290); gcc 12's libasan has none.
///
/// The signature: in a forked child, a thread sleeps on a futex that libasan waits on itself
/// (the innermost frame outside libc is libasan's: its `Mutex::Lock`, or the glibc lock its
/// `pthread_create` interceptor takes), and no thread of the child is inside libasan otherwise,
/// so nothing in the child can ever release it. Seen here, on gcc 12's libasan with a fork-then-
/// thread loop on the ASAN CPython: `ThreadStart → GetThreadStackAndTls → pthread_getattr_np →
/// free → Quarantine → SizeClassAllocator64::GetFromAllocator → Mutex::Lock`.
fn known_signature(process: &ProcessView) -> Option<Diagnosis> {
    if !process.forked_child {
        return None;
    }
    let waits_in_asan = |t: &ThreadView| t.futex.is_some() && blocked_by_libasan(&t.frames);
    let stuck = process.threads.iter().find(|t| waits_in_asan(t))?;
    // A thread running libasan code could still release the lock: then this is no proof.
    let releasable =
        process.threads.iter().any(|t| !waits_in_asan(t) && t.frames.iter().any(|f| is_libasan(&f.module)));
    if releasable {
        return None;
    }
    let waiting_in =
        stuck.frames.iter().filter(|f| is_libasan(&f.module)).find_map(|f| f.function.as_deref()).unwrap_or("libasan");
    let creating = stuck.frames.iter().any(|f| {
        f.function.as_deref().is_some_and(|n| n.contains("pthread_create") || n.contains("AsanThread::ThreadStart"))
    });
    let path = if creating { "while starting a thread" } else { "on an allocation path" };
    Some(Diagnosis {
        kind: DiagnosisKind::KnownSignature,
        summary: format!(
            "process {} was forked from a multi-threaded process and its thread {} sleeps on a lock inside libasan \
             ({waiting_in}) {path}; the parent's thread that held it does not exist in the child: the libasan \
             fork deadlock (bpo-45200, gh-89363); CPython skips such tests under ASAN (support.HAVE_ASAN_FORK_BUG)",
            process.pid, stuck.tid
        ),
        pid: process.pid,
        threads: vec![stuck.tid],
        locks: Vec::new(),
        reference: Some("bpo-45200".into()),
    })
}

fn is_libasan(module: &str) -> bool {
    module.rsplit('/').next().is_some_and(|name| name.starts_with("libasan.so") || name.starts_with("libclang_rt.asan"))
}

/// Whether the innermost frame outside the C library is libasan's: libasan itself called the
/// futex wait (its own mutex) or the glibc lock function that sleeps.
fn blocked_by_libasan(frames: &[Frame]) -> bool {
    let is_libc = |module: &str| {
        module.rsplit('/').next().is_some_and(|name| name.starts_with("libc.so") || name.starts_with("libpthread"))
    };
    frames.iter().find(|f| !is_libc(&f.module)).is_some_and(|f| is_libasan(&f.module))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, module: &str) -> Frame {
        Frame {
            function: Some(function.into()),
            file: None,
            line: None,
            column: None,
            module: module.into(),
            address: 0,
            inlined: false,
        }
    }

    fn mutex_waiter(tid: i32, mutex: u64, owner: i32) -> ThreadView {
        ThreadView {
            tid,
            state: 'S',
            frames: vec![frame("__lll_lock_wait", "libc.so.6"), frame("pthread_mutex_lock", "libc.so.6")],
            futex: Some(mutex),
            mutex_owner: Some(owner),
            lock_refused: false,
            gil_futex: None,
            foreign_owner: None,
        }
    }

    fn joiner(tid: i32) -> ThreadView {
        ThreadView {
            tid,
            state: 'S',
            frames: vec![frame("__futex_abstimed_wait_common", "libc.so.6")],
            futex: Some(0x10),
            mutex_owner: None,
            lock_refused: false,
            gil_futex: None,
            foreign_owner: None,
        }
    }

    #[test]
    fn two_threads_holding_each_others_mutex_are_a_cycle() {
        let process = ProcessView {
            pid: 100,
            forked_child: false,
            threads: vec![joiner(100), mutex_waiter(101, 0xa0, 102), mutex_waiter(102, 0xb0, 101)],
            gil: None,
            places: BTreeMap::new(),
        };
        let d = diagnose(&process).expect("a deadlock");
        assert_eq!(d.kind, DiagnosisKind::LockCycle);
        assert_eq!(d.threads, [101, 102]);
        assert_eq!(d.locks.len(), 2);
        assert_eq!(
            d.locks[0],
            LockInfo { address: "0xa0".into(), name: None, owner: 102, waiters: vec![101], place: None }
        );
    }

    /// A mutex is named by where it is, when the inspection could tell: a global by its symbol,
    /// else the heap or a thread's stack; in the summary and in the lock's fields.
    #[test]
    fn a_cycles_mutexes_are_named_by_where_they_are() {
        let place = |memory, symbol: Option<&str>, thread| LockPlace {
            memory,
            symbol: symbol.map(str::to_owned),
            module: symbol.map(|_| "/x/_qahang.so".to_owned()),
            thread,
        };
        let places = BTreeMap::from([
            (0xa0, place("global", Some("ma"), None)),
            (0xb0, place("heap", None, None)),
            (0xc0, place("stack", None, Some(103))),
        ]);
        let process = ProcessView {
            pid: 100,
            forked_child: false,
            threads: vec![
                joiner(100),
                mutex_waiter(101, 0xa0, 102),
                mutex_waiter(102, 0xb0, 103),
                mutex_waiter(103, 0xc0, 101),
            ],
            gil: None,
            places,
        };
        let d = diagnose(&process).expect("a deadlock");
        assert_eq!(
            d.summary,
            "deadlock in process 100: thread 101 waits for mutex ma (a global of _qahang.so) at 0xa0 held by thread \
             102, thread 102 waits for a mutex on the heap at 0xb0 held by thread 103, thread 103 waits for a mutex on \
             thread 103's stack at 0xc0 held by thread 101"
        );
        assert_eq!(d.locks[0].place, Some(place("global", Some("ma"), None)));
        let json = serde_json::to_value(&d.locks[0]).expect("a lock as JSON");
        assert_eq!(
            json,
            serde_json::json!({"address": "0xa0", "owner": 102, "waiters": [101], "memory": "global", "symbol": "ma", "module": "/x/_qahang.so"})
        );
        assert_eq!(serde_json::to_value(&d.locks[1]).expect("JSON")["memory"], "heap");
    }

    /// A thread in `take_gil` (a timed wait, not the untimed futex a mutex waiter has).
    fn gil_waiter(tid: i32) -> ThreadView {
        ThreadView {
            tid,
            state: 'S',
            frames: vec![
                frame("__futex_abstimed_wait_common", "libc.so.6"),
                frame("pthread_cond_timedwait", "libc.so.6"),
                frame("take_gil", "python3.11d"),
                frame("PyEval_RestoreThread", "python3.11d"),
            ],
            futex: None,
            mutex_owner: None,
            lock_refused: false,
            gil_futex: None,
            foreign_owner: None,
        }
    }

    #[test]
    fn a_gil_holder_waiting_for_a_mutex_that_a_gil_waiter_holds_is_a_cycle() {
        let gil = GilState { address: 0x600, holder: Some(100), only: true };
        let process = ProcessView {
            pid: 100,
            forked_child: false,
            threads: vec![mutex_waiter(100, 0xa0, 101), gil_waiter(101), gil_waiter(102)],
            gil: Some(gil),
            places: BTreeMap::new(),
        };
        let d = diagnose(&process).expect("a deadlock");
        assert_eq!(d.kind, DiagnosisKind::LockCycle);
        assert_eq!(d.threads, [100, 101]);
        assert_eq!(
            d.locks[1],
            LockInfo {
                address: "0x600".into(),
                name: Some("GIL".into()),
                owner: 100,
                waiters: vec![101, 102],
                place: None
            }
        );
        assert!(d.summary.contains("thread 101 waits for the GIL (0x600) held by thread 100"), "{}", d.summary);

        // The GIL holder waiting for a mutex nobody waiting for the GIL holds: no proof.
        let threads = vec![mutex_waiter(100, 0xa0, 102), gil_waiter(101), joiner(102)];
        let process = ProcessView { gil: Some(gil), threads, ..process };
        assert_eq!(diagnose(&process), None);
        // Nor when the GIL is free, or its holder is no thread of the process.
        for gil in [GilState { holder: None, ..gil }, GilState { holder: Some(555), ..gil }] {
            let process = ProcessView {
                pid: 100,
                forked_child: false,
                threads: vec![mutex_waiter(100, 0xa0, 101), gil_waiter(101)],
                gil: Some(gil),
                places: BTreeMap::new(),
            };
            assert_eq!(diagnose(&process), None, "{gil:?}");
        }
    }

    /// 3.13 with an own-GIL subinterpreter (test_subgil of c/hangfix.c): thread 101 holds the
    /// subinterpreter's GIL and waits for a mutex that 102 holds; 102 waits for the main GIL
    /// (its futex inside it), held by 100, asleep. The main GIL is not the only one: 102 is its
    /// waiter, and no thread waits for a GIL 101 holds: no cycle.
    #[test]
    fn a_gil_waiter_is_tied_to_the_gil_its_futex_is_in() {
        let main_gil = GilState { address: 0x600, holder: Some(100), only: false };
        let in_main = ThreadView { gil_futex: Some(0x600 + 48), ..gil_waiter(102) };
        let holding_sub = mutex_waiter(101, 0xa0, 102);
        let process = ProcessView {
            pid: 100,
            forked_child: false,
            threads: vec![joiner(100), holding_sub.clone(), ThreadView { mutex_owner: None, ..in_main.clone() }],
            gil: Some(main_gil),
            places: BTreeMap::new(),
        };
        assert_eq!(diagnose(&process), None);
        let (summary, threads, _) = gil_wait(&process).expect("a wait for the main GIL");
        assert!(summary.starts_with("thread 102 waits for the GIL (0x600), held by thread 100 (asleep"), "{summary}");
        assert_eq!(threads, [102, 100]);
        // The main GIL held by 101 (as the old reading of the newest interpreter's GIL had it):
        // a waiter whose futex is in another GIL, or unknown, is not its waiter.
        for futex in [Some(0x7000), None] {
            let gil = GilState { holder: Some(101), ..main_gil };
            let waiter = ThreadView { gil_futex: futex, ..gil_waiter(102) };
            let process = ProcessView {
                threads: vec![joiner(100), holding_sub.clone(), waiter],
                gil: Some(gil),
                ..process.clone()
            };
            assert_eq!(diagnose(&process), None, "{futex:?}");
            assert_eq!(gil_wait(&process), None, "{futex:?}");
        }
        // Its futex inside the GIL 101 holds: a cycle.
        let gil = GilState { holder: Some(101), ..main_gil };
        let process = ProcessView { threads: vec![joiner(100), holding_sub, in_main], gil: Some(gil), ..process };
        assert_eq!(diagnose(&process).map(|d| d.kind), Some(DiagnosisKind::LockCycle));
    }

    #[test]
    fn a_gil_wait_without_a_cycle_names_the_waiter_and_the_running_holder() {
        let spinning = ThreadView {
            tid: 100,
            state: 'R',
            frames: vec![frame("spin_with_gil", "_qahang.so")],
            futex: None,
            mutex_owner: None,
            lock_refused: false,
            gil_futex: None,
            foreign_owner: None,
        };
        let gil = GilState { address: 0x600, holder: Some(100), only: true };
        let process = ProcessView {
            pid: 100,
            forked_child: false,
            threads: vec![spinning.clone(), gil_waiter(101)],
            gil: Some(gil),
            places: BTreeMap::new(),
        };
        assert_eq!(diagnose(&process), None, "a running holder proves nothing");
        let (summary, threads, lock) = gil_wait(&process).expect("a GIL wait");
        assert_eq!(summary, "thread 101 waits for the GIL (0x600), held by thread 100 (running) in process 100");
        assert_eq!(threads, [101, 100]);
        assert_eq!(
            lock,
            LockInfo { address: "0x600".into(), name: Some("GIL".into()), owner: 100, waiters: vec![101], place: None }
        );
        // Two waiters, a holder asleep in a futex wait.
        let process = ProcessView { threads: vec![joiner(100), gil_waiter(101), gil_waiter(102)], ..process };
        let (summary, threads, _) = gil_wait(&process).expect("a GIL wait");
        assert!(summary.starts_with("threads 101, 102 wait for the GIL (0x600), held by thread 100 (asleep in a futex"));
        assert_eq!(threads, [101, 102, 100]);
        // No waiter, a free GIL, a holder that is no thread of the process: nothing to say.
        let alone = ProcessView { threads: vec![spinning], ..process.clone() };
        assert_eq!(gil_wait(&alone), None);
        for gil in [GilState { holder: None, ..gil }, GilState { holder: Some(555), ..gil }] {
            assert_eq!(gil_wait(&ProcessView { gil: Some(gil), ..process.clone() }), None, "{gil:?}");
        }
    }

    /// The PI cycle of c/hangfix.c as glibc 2.36 leaves it: thread 31951 in FUTEX_LOCK_PI on
    /// the mutex 31950 holds; 31950 refused the other mutex (EDEADLK) and parked, its wait on a
    /// word of its own stack. The inspection reads the parked thread's mutex from its frame.
    #[test]
    fn a_priority_inheritance_cycle_with_a_parked_thread_is_a_cycle() {
        let lock_pi = ThreadView {
            frames: vec![frame("__futex_lock_pi64", "libc.so.6"), frame("__pthread_mutex_lock_full", "libc.so.6")],
            ..mutex_waiter(31951, 0x7f61_3698_e2c0, 31950)
        };
        let parked = ThreadView {
            frames: vec![
                frame("__futex_abstimed_wait_common", "libc.so.6"),
                frame("__pthread_mutex_lock_full", "libc.so.6"),
            ],
            lock_refused: true,
            ..mutex_waiter(31950, 0x7f61_3698_e280, 31951)
        };
        let process = ProcessView {
            pid: 31949,
            forked_child: false,
            threads: vec![joiner(31949), parked, lock_pi],
            gil: None,
            places: BTreeMap::new(),
        };
        let d = diagnose(&process).expect("a deadlock");
        assert_eq!((d.kind, d.threads.as_slice()), (DiagnosisKind::LockCycle, &[31950, 31951][..]));
        assert!(d
            .summary
            .contains("thread 31950 waits for the mutex at 0x7f613698e280 held by thread 31951 (the kernel saw"));
        // Without the parked thread's mutex (no DWARF for libc) there is no proof.
        let mut process = process;
        process.threads[1] =
            ThreadView { futex: Some(0x7f61_3698_8e84), mutex_owner: None, ..process.threads[1].clone() };
        assert_eq!(diagnose(&process), None);
    }

    #[test]
    fn a_mutex_owned_by_a_thread_that_is_not_there_was_inherited_locked() {
        let process = ProcessView {
            pid: 200,
            forked_child: true,
            threads: vec![mutex_waiter(200, 0xc0, 150)],
            gil: None,
            places: BTreeMap::new(),
        };
        let d = diagnose(&process).expect("a deadlock");
        assert_eq!(d.kind, DiagnosisKind::LockOwnerGone);
        assert!(d.summary.contains("inherited it locked"), "{}", d.summary);
        assert_eq!(d.locks[0].owner, 150);
        // In the process that locked it: the owner thread exited holding it.
        let process = ProcessView {
            pid: 200,
            forked_child: false,
            threads: vec![mutex_waiter(200, 0xc0, 150)],
            gil: None,
            places: BTreeMap::new(),
        };
        let d = diagnose(&process).expect("a deadlock");
        assert_eq!(d.kind, DiagnosisKind::LockOwnerGone);
        assert!(
            d.summary.ends_with("which does not exist in process 200: its owner exited holding it"),
            "{}",
            d.summary
        );
    }

    /// test_hang_shared_private: the child waits for a private mutex in MAP_SHARED memory that
    /// its parent's live main thread holds. No owner gone, no proof; the wait is named.
    #[test]
    fn a_private_mutex_held_in_another_process_is_no_lost_owner() {
        let foreign = ForeignOwner { tid: 150, pid: 150, process_shared: false };
        let waiter = ThreadView { mutex_owner: None, foreign_owner: Some(foreign), ..mutex_waiter(200, 0xc0, 150) };
        let process =
            ProcessView { pid: 200, forked_child: true, threads: vec![waiter], gil: None, places: BTreeMap::new() };
        assert_eq!(diagnose(&process), None);
        let (summary, threads, lock) = foreign_wait(&process).expect("a wait");
        assert!(
            summary.starts_with("thread 200 of process 200 waits for the mutex at 0xc0, locked by thread 150 of process 150 (alive): a process-private mutex"),
            "{summary}"
        );
        assert_eq!(threads, [200]);
        assert_eq!(lock.owner, 150);
        // Nothing to say without one.
        let process = ProcessView { threads: vec![joiner(200)], ..process };
        assert_eq!(foreign_wait(&process), None);
    }

    /// A parent and its forked child, each waiting for a process-shared mutex the other holds:
    /// neither alone proves anything; together they are a cycle across the two, named with each
    /// thread's process. A wait with no way back (the child's owner sleeps elsewhere) is none.
    #[test]
    fn a_cycle_through_two_processes_is_proved_from_both() {
        let foreign = |tid, pid| ForeignOwner { tid, pid, process_shared: true };
        let waiter = |tid, mutex, owner_tid, owner_pid| ThreadView {
            mutex_owner: None,
            foreign_owner: Some(foreign(owner_tid, owner_pid)),
            ..mutex_waiter(tid, mutex, owner_tid)
        };
        let process =
            |pid, threads| ProcessView { pid, forked_child: false, threads, gil: None, places: BTreeMap::new() };
        let parent = process(300, vec![waiter(300, 0xb0, 400, 400)]);
        let child = process(400, vec![waiter(400, 0xa0, 300, 300)]);
        assert_eq!(diagnose(&parent), None);
        assert_eq!(diagnose(&child), None);
        let d = cross_process_cycle(&[&parent, &child]).expect("a cycle");
        assert_eq!(d.kind, DiagnosisKind::LockCycle);
        assert_eq!((d.pid, d.threads.as_slice()), (300, &[300, 400][..]));
        assert_eq!(
            d.summary,
            "deadlock across processes 300 and 400: thread 300 of process 300 waits for the mutex at 0xb0 held by \
             thread 400 of process 400, thread 400 of process 400 waits for the mutex at 0xa0 held by thread 300 of \
             process 300"
        );
        assert_eq!(d.locks[0].waiters, [300]);
        // The child's mutex held by a thread that waits for nothing: no cycle.
        let idle = process(400, vec![joiner(400)]);
        assert_eq!(cross_process_cycle(&[&parent, &idle]), None);
        // A cycle within one process is that process's own proof.
        let own = process(100, vec![mutex_waiter(101, 0xa0, 102), mutex_waiter(102, 0xb0, 101)]);
        assert_eq!(cross_process_cycle(&[&own, &idle]), None);
    }

    /// Threads waiting for Python locks are named per process; none, no words.
    #[test]
    fn python_lock_waits_are_named_by_process() {
        let words = python_lock_words(&[(10, vec![11, 12, 13]), (20, vec![]), (30, vec![31])]).expect("words");
        assert!(
            words.starts_with("threads 11, 12 and 13 of process 10, thread 31 of process 30 wait without a timeout"),
            "{words}"
        );
        assert_eq!(python_lock_words(&[(10, vec![])]), None);
        let waiter = ThreadView {
            frames: vec![frame("__new_sem_wait_slow64", "libc.so.6"), frame("PyThread_acquire_lock_timed", "python")],
            ..joiner(11)
        };
        let process = ProcessView {
            pid: 10,
            forked_child: false,
            threads: vec![waiter, joiner(12), mutex_waiter(13, 0xa0, 12)],
            gil: None,
            places: BTreeMap::new(),
        };
        assert_eq!(python_lock_waiters(&process), [11]);
    }

    #[test]
    fn waiting_without_a_cycle_proves_nothing() {
        // 101 waits for a mutex held by 102, which sleeps elsewhere: slow, not stuck for sure.
        let mut sleeper = joiner(102);
        sleeper.futex = None;
        let process = ProcessView {
            pid: 100,
            forked_child: false,
            threads: vec![mutex_waiter(101, 0xa0, 102), sleeper],
            gil: None,
            places: BTreeMap::new(),
        };
        assert_eq!(diagnose(&process), None);
        // Python locks are semaphores: no owner recorded, no proof.
        let process = ProcessView {
            pid: 100,
            forked_child: false,
            threads: vec![joiner(100), joiner(101)],
            gil: None,
            places: BTreeMap::new(),
        };
        assert_eq!(diagnose(&process), None);
    }

    #[test]
    fn a_forked_child_stuck_in_libasans_pthread_create_is_bpo_45200() {
        let stuck = ThreadView {
            tid: 300,
            state: 'S',
            frames: vec![
                frame("__lll_lock_wait", "libc.so.6"),
                frame("__sanitizer::BlockingMutex::Lock", "/usr/lib/x86_64-linux-gnu/libasan.so.8"),
                frame("__interceptor_pthread_create", "/usr/lib/x86_64-linux-gnu/libasan.so.8"),
            ],
            futex: Some(0xd0),
            mutex_owner: Some(77),
            lock_refused: false,
            gil_futex: None,
            foreign_owner: None,
        };
        let process =
            ProcessView { pid: 300, forked_child: true, threads: vec![stuck], gil: None, places: BTreeMap::new() };
        let d = diagnose(&process).expect("known");
        assert_eq!(d.kind, DiagnosisKind::KnownSignature);
        assert_eq!(d.reference.as_deref(), Some("bpo-45200"));
    }

    /// The two threads of a real forked child of the ASAN CPython (gcc 12's libasan, glibc
    /// 2.36) that deadlocked on 2026-11-30 in a fork-then-thread loop (frames as gdb showed them).
    fn real_bpo_45200_child() -> ProcessView {
        let asan = "/usr/lib/x86_64-linux-gnu/libasan.so.8";
        let libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
        let new_thread = ThreadView {
            tid: 10633,
            state: 'S',
            frames: vec![
                frame("__sanitizer::FutexWait", asan),
                frame("__sanitizer::Semaphore::Wait", asan),
                frame("__sanitizer::Mutex::Lock", asan),
                frame("__sanitizer::SizeClassAllocator64<__asan::AP64<__sanitizer::LocalAddressSpaceView> >::GetFromAllocator", asan),
                frame("__asan::Allocator::Deallocate", asan),
                frame("__interceptor_free", asan),
                frame("__pthread_getattr_np", libc),
                frame("__sanitizer::GetThreadStackTopAndBottom", asan),
                frame("__asan::AsanThread::ThreadStart", asan),
                frame("start_thread", libc),
                frame("clone3", libc),
            ],
            futex: Some(0x6400_0000_1208),
            mutex_owner: None,
            lock_refused: false,
            gil_futex: None,
            foreign_owner: None,
        };
        // `threading.Thread.start()` waiting for the new thread to say it started.
        let main_thread = ThreadView {
            tid: 10630,
            state: 'S',
            frames: vec![
                frame("__futex_abstimed_wait_common", libc),
                frame("do_futex_wait", libc),
                frame("__new_sem_wait_slow64", libc),
                frame("PyThread_acquire_lock_timed", "/root/.cache/leakcheck/cpython-3.11.2-asan-pydebug/python"),
            ],
            futex: Some(0x6060_0008_d750),
            mutex_owner: None,
            lock_refused: false,
            gil_futex: None,
            foreign_owner: None,
        };
        ProcessView {
            pid: 10630,
            forked_child: true,
            threads: vec![main_thread, new_thread],
            gil: None,
            places: BTreeMap::new(),
        }
    }

    #[test]
    fn a_real_forked_child_stuck_on_libasans_allocator_lock_is_bpo_45200() {
        let d = diagnose(&real_bpo_45200_child()).expect("known");
        assert_eq!(
            (d.kind, d.reference.as_deref(), d.threads.as_slice()),
            (DiagnosisKind::KnownSignature, Some("bpo-45200"), &[10633][..])
        );
        assert!(d.summary.contains("(__sanitizer::FutexWait) while starting a thread"), "{}", d.summary);

        // Not forked: a libasan lock can have a living owner.
        let mut process = real_bpo_45200_child();
        process.forked_child = false;
        assert_eq!(diagnose(&process), None);
        // A thread of the child still running libasan code may release it.
        let mut process = real_bpo_45200_child();
        process.threads[0].futex = None;
        process.threads[0]
            .frames
            .insert(0, frame("__asan::Allocator::Allocate", "/usr/lib/x86_64-linux-gnu/libasan.so.8"));
        assert_eq!(diagnose(&process), None);
        // A futex wait of the program's own that merely passes through libasan further out.
        let mut process = real_bpo_45200_child();
        process.threads[1].frames.insert(0, frame("sem_wait", "/usr/lib/x86_64-linux-gnu/libc.so.6"));
        process.threads[1].frames.insert(1, frame("wait_for_it", "/tmp/_fixture.so"));
        assert_eq!(diagnose(&process), None);
    }

    #[test]
    fn mutex_waits_are_recognised_by_their_frames() {
        let frames = |names: &[&str]| names.iter().map(|n| frame(n, "libc.so.6")).collect::<Vec<_>>();
        // As glibc 2.36 shows them: a normal mutex, a robust one (no `__lll_lock_wait`).
        assert!(waits_on_mutex(&frames(&[
            "futex_wait",
            "__GI___lll_lock_wait",
            "lll_mutex_lock_optimized",
            "__pthread_mutex_lock",
            "take"
        ])));
        assert!(waits_on_mutex(&frames(&["futex_wait", "__pthread_mutex_lock_full", "cyc3"])));
        // `pthread_cond_wait` re-locking its mutex after the wakeup (glibc 2.36).
        assert!(waits_on_mutex(&frames(&[
            "futex_wait",
            "__GI___lll_lock_wait",
            "__pthread_mutex_cond_lock",
            "__pthread_cond_wait_common",
            "___pthread_cond_wait",
        ])));
        // A stdio FILE lock (`_IO_lock_t`, no pthread_mutex_t): no owner to read.
        assert!(!waits_on_mutex(&frames(&["futex_wait", "__lll_lock_wait_private", "fwrite", "stdio_wait"])));
        // `__lll_lock_wait` called from something else than a mutex's lock function.
        assert!(!waits_on_mutex(&frames(&["__lll_lock_wait", "f"])));
        assert!(!waits_on_mutex(&frames(&["__futex_abstimed_wait_common", "sem_wait"])));
        assert!(!waits_on_mutex(&[]));
    }

    /// Without the C library's debug symbols (no libc6-dbg): the frames of the repo's hang
    /// fixtures as the `.dynsym` of glibc 2.36 (Debian 12) and 2.41 (sid) names them.
    #[test]
    fn mutex_waits_are_recognised_without_the_c_librarys_debug_symbols() {
        const LIBC: &str = "/usr/lib/x86_64-linux-gnu/libc.so.6";
        let unnamed = |module: &str| Frame { function: None, ..frame("x", module) };
        let named = |name: &str| frame(name, LIBC);
        let fixture = frame("take_first_then_second", "/tmp/_hangfix.cpython-311d-x86_64-linux-gnu.so");
        // `__lll_lock_wait` under `pthread_mutex_lock` (exported twice, as `pthread_mutex_lock`
        // and `__pthread_mutex_lock`): the mutex cycle, the fork-inherited mutex, the GIL cycle.
        for lock in ["__pthread_mutex_lock", "pthread_mutex_lock"] {
            let frames = [unnamed(LIBC), named(lock), fixture.clone()];
            assert_eq!(mutex_lock_function(&frames, Some(2)), Some(lock));
            assert!(!unnamed_c_library_wait(&frames, Some(2)));
        }
        // glibc before 2.34: in libpthread.
        let old = [unnamed("/lib/x86_64-linux-gnu/libpthread-2.31.so"), named("pthread_mutex_lock")];
        assert!(waits_on_mutex(&old));
        // A robust mutex: `__pthread_mutex_lock_full`, unnamed too.
        assert!(waits_on_mutex(&[unnamed(LIBC), unnamed(LIBC), named("pthread_mutex_lock"), fixture.clone()]));
        // `pthread_cond_wait`'s re-lock of its mutex (expecting 2, the lock word's "locked, with
        // waiters"), not its wait on the condition variable (expecting 0).
        let relock = [unnamed(LIBC), unnamed(LIBC), named("pthread_cond_wait"), frame("cond_waiter", "_hangfix.so")];
        assert_eq!(mutex_lock_function(&relock, Some(2)), Some(COND_RELOCK_FUNCTION));
        assert_eq!(mutex_lock_function(&relock, Some(0)), None);
        assert_eq!(mutex_lock_function(&relock, None), None);
        assert_eq!(mutex_lock_function(&relock[1..], Some(7)), None);
        // Named, `pthread_cond_wait` is no lock function: its own wait, with libc's symbols.
        assert_eq!(mutex_lock_function(&[named("futex_wait"), named("pthread_cond_wait")], Some(2)), None);
        // stdio's lock, which `.dynsym` names: no mutex, but no missing symbol either.
        let stdio = [named("__lll_lock_wait_private"), named("fwrite"), frame("stdio_wait", "_hangfix.so")];
        assert!(!waits_on_mutex(&stdio));
        assert!(!unnamed_c_library_wait(&stdio, Some(2)));
        // Unnamed frames of another library prove nothing; unnamed ones of the C library under
        // something else than a lock function are a wait the symbols would have told.
        assert!(!waits_on_mutex(&[unnamed("/usr/lib/libfoo.so"), named("pthread_mutex_lock")]));
        // The park of a priority-inheritance mutex's waiter (`pthread_mutex_lock` tail-calls
        // `__pthread_mutex_lock_full`, which parks it in a futex wait): unnamed frames called
        // from the program itself.
        let parked = [unnamed(LIBC), unnamed(LIBC), fixture];
        assert!(!waits_on_mutex(&parked));
        assert!(unnamed_c_library_wait(&parked, Some(0)));
        // Under a named function of the C library, the wait is that function's.
        assert!(!unnamed_c_library_wait(&relock, Some(0)));
        assert!(!unnamed_c_library_wait(&[unnamed(LIBC), named("sem_clockwait")], Some(0)));
        // A Python lock's semaphore, whose `sem_clockwait` left no frame (3.14 on glibc 2.41).
        let python = frame("_PySemaphore_PlatformWait", "/usr/bin/python3.14d");
        assert!(!unnamed_c_library_wait(&[unnamed(LIBC), unnamed(LIBC), python], Some(0)));
    }
}
