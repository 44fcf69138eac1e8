//! leakcheck's preload shim.
//!
//! `leakcheck` puts this library in the child's `LD_PRELOAD` and names its private run directory
//! in `LEAKCHECK_RUN_DIR`. From the ELF constructor, in every process of the tree:
//!
//! 1. Outside leakcheck (no `LEAKCHECK_RUN_DIR`) or without CPython's allocator API (bash, gcc,
//!    make), nothing happens at all. In a Python process without an ASAN runtime,
//!    [`late_asan`] hides leakcheck's `verify_asan_link_order=0` from a libasan that an
//!    extension module would bring later.
//! 2. Otherwise [`startup`] waits for the interpreter's first object allocation and registers
//!    [`boundaries`]' audit hook there, leaving CPython's own allocators in place.
//! 3. When regrtest imports its `-R` driver (`test.libregrtest.refleak`), the audit hook wraps
//!    the three allocator domains (RAW, MEM, OBJ) with the counting hooks of [`hooks`], as
//!    `tracemalloc.start()` does (`PyMem_GetAllocator`/`PyMem_SetAllocator`, lock-free counts of
//!    live blocks and bytes), and wraps the driver so that each of regrtest's measurements also
//!    snapshots our counters into a record for the harness ([`channel`]).
//!
//! Python processes that never run `-R` (test subprocesses, pip, the `-j` main process) thus
//! keep CPython's allocators: `_testinternalcapi.pymem_getallocatorsname()` still works there.
//!
//! The shim never writes to fds 1 and 2, holds no fd between measurements, never takes the GIL
//! in a hook (the RAW hook runs without it), creates no lasting Python object, and passes every
//! pointer through unchanged. After `fork` the child keeps counting its inherited live blocks
//! and writes to its own `events.<pid>`, which begins with a `fork` record when it has any;
//! after `exec` the constructor starts over.
//!
//! If something replaced the allocators before the hooks (`PYTHONMALLOC=...`, `-X dev`), a
//! `replaced` record at exit says so. Each record's flags say whether each domain's allocator
//! still reaches our hook (it is the hook, or wraps it, as a later `tracemalloc.start()` does:
//! a probe allocation tells). A hook taken out of the chain (`tracemalloc.stop()` of a
//! tracemalloc that wrapped CPython's allocators before ours wrapped it) is put back at the next
//! measurement. The harness reports lost counts instead of zeros.

pub mod attribution;
pub mod boundaries;
pub mod channel;
pub mod exitcheck;
#[cfg(any(test, feature = "fake-allocators"))]
pub mod fake;
pub mod fallible;
pub mod hash;
pub mod hooks;
pub mod late_asan;
pub mod objtype;
pub mod pyapi;
pub mod pyframe;
pub mod reftrace;
pub mod startup;
pub mod tally;
pub mod unwind;

use std::ffi::c_int;
use std::mem::MaybeUninit;
use std::sync::OnceLock;

use hooks::{Domain, DomainSlot};
use pyapi::{Allocators, Api, PyMemAllocatorEx, DOMAIN_MEM, DOMAIN_OBJ, DOMAIN_RAW};

// The three counted domains; the ids are those of CPython's debug allocator.
domain_slot!(Raw, b'r');
domain_slot!(Mem, b'm');
domain_slot!(Obj, b'o');

static ALLOCATORS: OnceLock<Allocators> = OnceLock::new();

#[used]
#[link_section = ".init_array"]
static CONSTRUCTOR: extern "C" fn() = constructor;

extern "C" fn constructor() {
    if !channel::init_from_env() {
        return;
    }
    silence_panics();
    let (Some(allocators), Some(api)) = (Allocators::resolve(), Api::resolve()) else {
        return;
    };
    let _ = ALLOCATORS.set(allocators);
    late_asan::hide_link_order_token();
    channel::note_start();
    attribution::init_from_env();
    boundaries::prepare(api);
    startup::arm(allocators, boundaries::install);
}

/// A panic in the shim must not print on fd 2, which belongs to the program (its output is
/// what regrtest and the harness read). The shim is built with `panic = "abort"` (the `shim`
/// profile: unwinding into CPython's C frames would be worse), so a panic still ends the
/// process, but silently, as an abort the harness reports. This hook is the shim's own: a
/// cdylib carries its own copy of `std`, so other Rust code in the process keeps its hook.
/// (Running out of memory is no panic: see [`fallible`].)
fn silence_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

/// Wrap RAW, MEM and OBJ with the counting hooks, as `tracemalloc.start()` does at run time:
/// each hook wraps the allocator in place, so blocks allocated before stay valid, and their
/// frees are counted as a constant offset. Called with the GIL held, once per process.
pub(crate) fn install_counting_hooks() {
    let Some(allocators) = ALLOCATORS.get() else {
        return;
    };
    fn wrap<S: DomainSlot>(allocators: &Allocators, domain: c_int) {
        let current = current_allocator(allocators, domain);
        if let Some(mut hooked) = Domain::wrap::<S>(current) {
            // SAFETY: a valid domain and allocator struct; CPython copies it.
            unsafe { (allocators.set)(domain, &mut hooked) };
        }
    }
    wrap::<Raw>(allocators, DOMAIN_RAW);
    wrap::<Mem>(allocators, DOMAIN_MEM);
    wrap::<Obj>(allocators, DOMAIN_OBJ);
}

/// Whether the allocator installed for `domain` reaches our hook: it is the hook, or it calls
/// it (another hook wraps ours: `tracemalloc.start()` after ours). Found out by one allocation
/// and free of 1 byte through it, which our hooks do not count. Needs the GIL (the debug
/// allocator checks it for MEM and OBJ). `None`: the allocation failed, no answer.
fn reaches_hook<S: DomainSlot>(allocators: &Allocators, domain: c_int) -> Option<bool> {
    let current = current_allocator(allocators, domain);
    if Domain::is_installed::<S>(&current) {
        return Some(true);
    }
    let tally = tally::current()?;
    if !tally.begin_probe(S::domain().sizes.api_id()) {
        return None;
    }
    // SAFETY: the installed allocator, called as CPython would; the block is freed at once.
    let block = unsafe { (current.malloc)(current.ctx, 1) };
    if !block.is_null() {
        // SAFETY: as above.
        unsafe { (current.free)(current.ctx, block) };
    }
    let reached = tally.end_probe();
    (reached || !block.is_null()).then_some(reached)
}

/// Install our hooks again in the domains whose allocator no longer reaches them (see
/// [`Domain::rewrap`]). With the GIL held, at regrtest's measurements.
pub(crate) fn reinstall_lost_hooks() {
    let Some(allocators) = ALLOCATORS.get() else {
        return;
    };
    fn rewrap<S: DomainSlot>(allocators: &Allocators, domain: c_int) {
        if !S::domain().is_wrapped() || reaches_hook::<S>(allocators, domain) != Some(false) {
            return;
        }
        if let Some(mut hooked) = Domain::rewrap::<S>(current_allocator(allocators, domain)) {
            // SAFETY: a valid domain and allocator struct; CPython copies it.
            unsafe { (allocators.set)(domain, &mut hooked) };
        }
    }
    rewrap::<Raw>(allocators, DOMAIN_RAW);
    rewrap::<Mem>(allocators, DOMAIN_MEM);
    rewrap::<Obj>(allocators, DOMAIN_OBJ);
}

fn current_allocator(allocators: &Allocators, domain: c_int) -> PyMemAllocatorEx {
    let mut current = MaybeUninit::uninit();
    // SAFETY: PyMem_GetAllocator fully writes the struct for a valid domain.
    unsafe {
        (allocators.get)(domain, current.as_mut_ptr());
        current.assume_init()
    }
}

#[used]
#[link_section = ".fini_array"]
static DESTRUCTOR: extern "C" fn() = destructor;

/// At exit, say so if the allocators were replaced before ours could count (`PYTHONMALLOC`,
/// `-X dev`): the harness then reports "hooks replaced" for this process. Hooks lost later
/// show in the flags of each measurement; at exit they may be gone for good reasons (the
/// finalization of a `tracemalloc` started before them puts back what it wrapped). A regrtest
/// process also says when it exited ([`boundaries::record_exit`]). A Python process with
/// threads deadlocked on mutexes waits for the harness to look at them ([`exitcheck`]).
extern "C" fn destructor() {
    if startup::replaced() {
        let mut out = channel::Records::new();
        boundaries::write_record(&mut out, "replaced", copy_cmdline, 0, 0, false);
    }
    boundaries::record_exit();
    // A Python process of the run (the constructor found CPython's allocator API): threads it
    // leaves deadlocked would vanish with it unseen.
    if ALLOCATORS.get().is_some() {
        exitcheck::hold_if_deadlocked();
    }
}

/// This process's `/proc/self/cmdline` (the arguments, NUL-terminated), escaped into `out`, read
/// through a small buffer on the stack.
pub(crate) fn copy_cmdline(out: &mut channel::Records) {
    // SAFETY: a NUL-terminated path; the fd is closed below.
    let fd = unsafe { libc::open(c"/proc/self/cmdline".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return;
    }
    let mut buf = [0u8; 512];
    loop {
        // SAFETY: `buf` is writable for its length; `fd` is open.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        if n <= 0 {
            break;
        }
        out.escape(&buf[..n as usize]);
    }
    // SAFETY: closing the fd opened above.
    unsafe { libc::close(fd) };
}

/// The record flags and the `(blocks, bytes)` of each domain, RAW, MEM, OBJ. A domain is
/// hooked when its allocator reaches our hook: found out by [`reaches_hook`] when `probe` (the
/// GIL held), else only when it is our hook.
pub(crate) fn snapshot(probe: bool) -> (u32, [(i64, i64); 3]) {
    fn one<S: DomainSlot>(domain: c_int, probe: bool) -> (bool, bool, (i64, i64)) {
        let d = S::domain();
        let reaches = |a: &Allocators| match probe {
            true => reaches_hook::<S>(a, domain).unwrap_or(false),
            false => Domain::is_installed::<S>(&current_allocator(a, domain)),
        };
        // A thread that allocated without a tally was not counted: no domain count is whole.
        let hooked = !tally::uncounted() && ALLOCATORS.get().is_some_and(|a| d.is_wrapped() && reaches(a));
        (hooked, d.sizes.bytes_known(), d.live())
    }
    let all = [one::<Raw>(DOMAIN_RAW, probe), one::<Mem>(DOMAIN_MEM, probe), one::<Obj>(DOMAIN_OBJ, probe)];
    let mut flags = 0;
    let mut counts = [(0, 0); 3];
    for (i, (hooked, bytes_known, count)) in all.into_iter().enumerate() {
        if hooked {
            flags |= channel::FLAG_HOOKED << i;
        }
        if bytes_known {
            flags |= channel::FLAG_BYTES << i;
        }
        counts[i] = count;
    }
    // The tracer can only be asked with the GIL held.
    if probe && reftrace::is_ours() {
        flags |= channel::FLAG_OBJECT_LIVES;
    }
    (flags, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic after [`silence_panics`] prints nothing on fd 2. Checked in a child (this test
    /// binary run again on this test alone), as the hook is the process's.
    #[test]
    fn a_panic_in_the_shim_prints_nothing() {
        const CHILD: &str = "LEAKCHECK_SHIM_TEST_PANIC_CHILD";
        if std::env::var_os(CHILD).is_some() {
            silence_panics();
            panic!("a panic of the shim");
        }
        let exe = std::env::current_exe().expect("the test binary");
        let child = std::process::Command::new(exe)
            .args(["--exact", "tests::a_panic_in_the_shim_prints_nothing", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .expect("running the test binary");
        let stderr = String::from_utf8_lossy(&child.stderr);
        assert!(!child.status.success(), "the child's test panicked");
        assert!(!stderr.contains("a panic of the shim") && !stderr.contains("panicked"), "{stderr}");
    }
}
