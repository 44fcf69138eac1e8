//! Getting a foothold in a starting interpreter without disturbing it.
//!
//! The shim must register its audit hook (see [`crate::boundaries`]) early, but not before
//! CPython's pre-initialisation has settled the allocators: `PySys_AddAuditHook` allocates its
//! list entry with `PyMem_RawMalloc`, the entry lives until finalisation, and `PYTHONMALLOC=malloc`
//! (or `-X dev`) replaces the RAW allocator in between, so an entry allocated too early would be
//! freed by the wrong allocator and crash the process at exit.
//!
//! MEM and OBJ are first used only after pre-initialisation. So the constructor puts one-shot
//! trampolines on those two domains ([`arm`]): the first call through either registers the hook,
//! puts both original allocators back, and forwards. Afterwards the process runs on CPython's own
//! allocators; counting hooks come later, and only into the processes that run regrtest's `-R`.
//! If something replaced the trampolines first, the process is one whose hooks would have been
//! replaced too: [`replaced`] says so.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use crate::pyapi::{Allocators, PyMemAllocatorEx, DOMAIN_MEM, DOMAIN_OBJ};

/// The original MEM and OBJ allocators, leaked once set.
static ORIGINAL: [AtomicPtr<PyMemAllocatorEx>; 2] =
    [AtomicPtr::new(std::ptr::null_mut()), AtomicPtr::new(std::ptr::null_mut())];
const DOMAINS: [std::ffi::c_int; 2] = [DOMAIN_MEM, DOMAIN_OBJ];
static FIRED: AtomicBool = AtomicBool::new(false);
static ALLOCATORS: std::sync::OnceLock<(Allocators, fn())> = std::sync::OnceLock::new();

/// Install the trampolines; `on_first_use` runs once, on the first MEM or OBJ allocation.
pub fn arm(allocators: Allocators, on_first_use: fn()) {
    if ALLOCATORS.set((allocators, on_first_use)).is_err() {
        return;
    }
    for (slot, &domain) in ORIGINAL.iter().zip(&DOMAINS) {
        let mut current = std::mem::MaybeUninit::uninit();
        // SAFETY: PyMem_GetAllocator fills the struct; it needs no initialised interpreter.
        let current = unsafe {
            (allocators.get)(domain, current.as_mut_ptr());
            current.assume_init()
        };
        slot.store(Box::into_raw(Box::new(current)), Ordering::Release);
        let mut trampoline = PyMemAllocatorEx {
            ctx: current.ctx, // the original's: see hooks::DomainSlot on torn reads
            malloc: if domain == DOMAIN_MEM { malloc::<0> } else { malloc::<1> },
            calloc: if domain == DOMAIN_MEM { calloc::<0> } else { calloc::<1> },
            realloc: if domain == DOMAIN_MEM { realloc::<0> } else { realloc::<1> },
            free: if domain == DOMAIN_MEM { free::<0> } else { free::<1> },
        };
        // SAFETY: called from the constructor, before main; CPython copies the struct.
        unsafe { (allocators.set)(domain, &mut trampoline) };
    }
}

/// The trampolines fired: the interpreter started on the allocators the shim saw.
pub fn fired() -> bool {
    FIRED.load(Ordering::Relaxed)
}

/// The trampolines never fired, and something else sits in their place: the allocators were
/// replaced during start-up (`PYTHONMALLOC=...`, `-X dev`).
pub fn replaced() -> bool {
    let Some((allocators, _)) = ALLOCATORS.get() else {
        return false;
    };
    if fired() {
        return false;
    }
    let mut current = std::mem::MaybeUninit::uninit();
    // SAFETY: as in `arm`.
    let current = unsafe {
        (allocators.get)(DOMAIN_OBJ, current.as_mut_ptr());
        current.assume_init()
    };
    current.malloc as *const () != malloc::<1> as *const ()
}

#[inline(always)]
fn original(index: usize) -> &'static PyMemAllocatorEx {
    let ptr = ORIGINAL[index].load(Ordering::Acquire);
    // SAFETY: stored by `arm` before the trampolines were installed, leaked, never freed.
    unsafe { &*ptr }
}

/// First use: put the originals back, then run the callback (once, even if two threads race).
#[cold]
fn fire() {
    if FIRED.swap(true, Ordering::AcqRel) {
        return;
    }
    let Some((allocators, on_first_use)) = ALLOCATORS.get() else {
        return;
    };
    for (index, &domain) in DOMAINS.iter().enumerate() {
        let mut original = *original(index);
        // SAFETY: restores exactly what `arm` found; CPython copies the struct. No lock of
        // CPython's is held around a MEM/OBJ allocation.
        unsafe { (allocators.set)(domain, &mut original) };
    }
    on_first_use();
}

unsafe extern "C" fn malloc<const I: usize>(_ctx: *mut c_void, size: usize) -> *mut c_void {
    fire();
    let o = original(I);
    // SAFETY: forwarding to the original allocator.
    unsafe { (o.malloc)(o.ctx, size) }
}

unsafe extern "C" fn calloc<const I: usize>(_ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void {
    fire();
    let o = original(I);
    // SAFETY: forwarding to the original allocator.
    unsafe { (o.calloc)(o.ctx, nelem, elsize) }
}

unsafe extern "C" fn realloc<const I: usize>(_ctx: *mut c_void, ptr: *mut c_void, size: usize) -> *mut c_void {
    fire();
    let o = original(I);
    // SAFETY: forwarding to the original allocator.
    unsafe { (o.realloc)(o.ctx, ptr, size) }
}

unsafe extern "C" fn free<const I: usize>(_ctx: *mut c_void, ptr: *mut c_void) {
    let o = original(I);
    // SAFETY: forwarding to the original allocator (a free comes after an allocation, which
    // fired already).
    unsafe { (o.free)(o.ctx, ptr) }
}
