//! leakcheck's preload shim.
//!
//! `leakcheck` puts this library in the child's `LD_PRELOAD` and names its private run directory
//! in `LEAKCHECK_RUN_DIR`. From the ELF constructor, in every process of the tree:
//!
//! 1. Outside leakcheck (no `LEAKCHECK_RUN_DIR`) or without CPython's allocator API (bash, gcc,
//!    make), nothing happens at all.
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
//! and writes to its own `events.<pid>`; after `exec` the constructor starts over.
//!
//! If something replaces the allocators (`PYTHONMALLOC=...`, `-X dev`), the records say so in
//! their flags, or a `replaced` record at exit does, and the harness reports it instead of
//! zeros.

pub mod attribution;
pub mod boundaries;
pub mod channel;
#[cfg(any(test, feature = "fake-allocators"))]
pub mod fake;
pub mod hash;
pub mod hooks;
pub mod objtype;
pub mod pyapi;
pub mod pyframe;
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
    let (Some(allocators), Some(api)) = (Allocators::resolve(), Api::resolve()) else {
        return;
    };
    let _ = ALLOCATORS.set(allocators);
    attribution::init_from_env();
    boundaries::prepare(api);
    startup::arm(allocators, boundaries::install);
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

/// At exit, say so if the allocators were replaced under us (`PYTHONMALLOC`, `-X dev`, a test
/// that swaps allocators and does not put ours back): the harness then reports "hooks replaced"
/// for this process instead of counts that stopped moving.
extern "C" fn destructor() {
    let counting = Raw::domain().is_wrapped();
    let (flags, _) = snapshot();
    let counting_replaced = counting && (0..3).any(|i| flags & (channel::FLAG_HOOKED << i) == 0);
    if startup::replaced() || counting_replaced {
        let cmdline = std::fs::read("/proc/self/cmdline").unwrap_or_default();
        boundaries::record("replaced", &cmdline, 0, 0);
    }
}

/// The record flags and the `(blocks, bytes)` of each domain, RAW, MEM, OBJ.
pub(crate) fn snapshot() -> (u32, [(i64, i64); 3]) {
    fn one<S: DomainSlot>(domain: c_int) -> (bool, bool, (i64, i64)) {
        let d = S::domain();
        let hooked = ALLOCATORS
            .get()
            .is_some_and(|a| d.is_wrapped() && Domain::is_installed::<S>(&current_allocator(a, domain)));
        (hooked, d.sizes.bytes_known(), d.live())
    }
    let all = [one::<Raw>(DOMAIN_RAW), one::<Mem>(DOMAIN_MEM), one::<Obj>(DOMAIN_OBJ)];
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
    (flags, counts)
}
