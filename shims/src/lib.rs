//! leakcheck's preload shim.
//!
//! `leakcheck` puts this library in the child's `LD_PRELOAD` and names its private run directory
//! in `LEAKCHECK_RUN_DIR`. From the ELF constructor, in every process of the tree:
//!
//! 1. Outside leakcheck (no `LEAKCHECK_RUN_DIR`) or without CPython's allocator API (bash, gcc,
//!    make), nothing happens at all.
//! 2. Otherwise the three allocator domains (RAW, MEM, OBJ) are wrapped with
//!    `PyMem_GetAllocator`/`PyMem_SetAllocator`, as tracemalloc does, by [`hooks`], which counts
//!    live blocks and bytes per domain without locks.
//! 3. [`boundaries`] registers an audit hook that wraps regrtest's `-R` driver when it is
//!    imported, so that each of regrtest's measurements also snapshots our counters into a
//!    record for the harness ([`channel`]).
//!
//! The shim never writes to fds 1 and 2, holds no fd between measurements, never takes the GIL
//! in a hook (the RAW hook runs without it), creates no lasting Python object, and passes every
//! pointer through unchanged. After `fork` the child keeps counting its inherited live blocks
//! and writes to its own `events.<pid>`; after `exec` the constructor starts over.
//!
//! If something replaces the hooks later (`PYTHONMALLOC=...`, `-X dev`), the records say so in
//! their flags and the harness reports it instead of zeros.

pub mod boundaries;
pub mod channel;
pub mod hooks;
pub mod pyapi;

use std::ffi::c_int;
use std::mem::MaybeUninit;
use std::sync::OnceLock;

use hooks::Domain;
use pyapi::{Allocators, Api, DOMAIN_MEM, DOMAIN_OBJ, DOMAIN_RAW};

/// The wrapped domains, indexed RAW, MEM, OBJ; the ids are those of CPython's debug allocator.
static DOMAINS: [Domain; 3] = [
    Domain::new(b'r', false),
    Domain::new(b'm', true),
    Domain::new(b'o', true),
];
const DOMAIN_IDS: [c_int; 3] = [DOMAIN_RAW, DOMAIN_MEM, DOMAIN_OBJ];

static ALLOCATORS: OnceLock<Allocators> = OnceLock::new();

#[used]
#[link_section = ".init_array"]
static CONSTRUCTOR: extern "C" fn() = constructor;

extern "C" fn constructor() {
    if !channel::init_from_env() {
        return;
    }
    let Some(allocators) = Allocators::resolve() else {
        return;
    };
    let _ = ALLOCATORS.set(allocators);
    for (domain, &id) in DOMAINS.iter().zip(&DOMAIN_IDS) {
        let mut current = MaybeUninit::uninit();
        // SAFETY: PyMem_GetAllocator fills the struct for a valid domain; it is plain data
        // access that needs no initialised interpreter (3.11: static structs; 3.12: the lock is
        // NULL before init; 3.13+: a static PyMutex).
        let current = unsafe {
            (allocators.get)(id, current.as_mut_ptr());
            current.assume_init()
        };
        // SAFETY: the constructor runs once, before main, with no other thread: no hook of this
        // domain is installed or running yet.
        let mut hooked = unsafe { domain.wrap(current) };
        // SAFETY: as for PyMem_GetAllocator; CPython copies the struct.
        unsafe { (allocators.set)(id, &mut hooked) };
    }
    if let Some(api) = Api::resolve() {
        boundaries::prepare(api);
        hooks::defer_until_object_allocation(boundaries::install);
    }
}

#[used]
#[link_section = ".fini_array"]
static DESTRUCTOR: extern "C" fn() = destructor;

/// At exit, say so if something replaced our hooks (`PYTHONMALLOC`, `-X dev`): the harness
/// then reports "hooks replaced" for this process instead of counts that stopped moving.
extern "C" fn destructor() {
    if ALLOCATORS.get().is_none() {
        return;
    }
    let (flags, _) = snapshot();
    let all_hooked = (0..3).all(|i| flags & (channel::FLAG_HOOKED << i) != 0);
    if !all_hooked {
        let cmdline = std::fs::read("/proc/self/cmdline").unwrap_or_default();
        boundaries::record("replaced", &cmdline, 0, 0);
    }
}

/// The record flags and the `(blocks, bytes)` of each domain, RAW, MEM, OBJ.
pub(crate) fn snapshot() -> (u32, [(i64, i64); 3]) {
    let mut flags = 0;
    let mut counts = [(0, 0); 3];
    for (i, (domain, &id)) in DOMAINS.iter().zip(&DOMAIN_IDS).enumerate() {
        if let Some(allocators) = ALLOCATORS.get() {
            let mut current = MaybeUninit::uninit();
            // SAFETY: as in the constructor; the struct is fully written by the call.
            let current = unsafe {
                (allocators.get)(id, current.as_mut_ptr());
                current.assume_init()
            };
            if domain.is_installed(&current) {
                flags |= channel::FLAG_HOOKED << i;
            }
        }
        if domain.sizes.bytes_known() {
            flags |= channel::FLAG_BYTES << i;
        }
        counts[i] = domain.live.snapshot();
    }
    (flags, counts)
}

/// For `benches/`: wrap `inner` in a fresh domain's hooks, exactly as the constructor wraps
/// CPython's allocators, and return the hooked allocator with its live counters.
pub fn wrap_for_bench(
    inner: pyapi::PyMemAllocatorEx,
) -> (pyapi::PyMemAllocatorEx, &'static hooks::LiveCounters) {
    let domain: &'static Domain = Box::leak(Box::new(Domain::new(b'r', false)));
    // SAFETY: a fresh, leaked domain: nothing is installed or running.
    let hooked = unsafe { domain.wrap(inner) };
    (hooked, &domain.live)
}
