//! Objects CPython takes off its free lists, seen through its reference tracer (3.13+), so that
//! a leak site is where the leaked object was made, not where its block was first allocated.
//!
//! **The problem.** CPython keeps dead objects of some types on free lists and hands them out
//! again without calling the allocator: tuples, lists, dicts, floats... in 3.13, and from 3.14 on
//! also ints, slices, ranges, builtin functions and methods (`PyCFunctionObject`,
//! `PyCMethodObject`) and bound methods (`struct _Py_freelists`, `pycore_freelist_state.h`).
//! The allocation hooks see only the first allocation of such a block, so a block allocated at
//! site A, dropped onto a free list and taken by code B stays counted at A for as long as B's
//! object lives. With 3.14's free lists of builtin methods, every test of the standard library
//! showed sites that "grew": regrtest's cleanup re-registers the ABCs (`_abc._abc_register`
//! makes a builtin method per entry) in blocks that transient bound methods (`x.__length_hint__`,
//! `obj.__reduce_ex__`) had allocated and dropped, one more each repetition.
//!
//! **What is done.** From 3.13 on, `_Py_NewReference` calls the tracer installed with
//! `PyRefTracer_SetTracer` with `PyRefTracer_CREATE` for every object made, new or taken off a
//! free list (3.13: `Objects/object.c` `new_reference`; the free lists pop through
//! `_Py_NewReference`, 3.14's `_PyFreeList_Pop` in `pycore_freelist.h`). While allocations are
//! attributed, an object made in the block this thread's last `obj` allocation returned (at the
//! start of the block, or after a pre-header of 16 or 32 bytes: `PyGC_Head`, managed dict and
//! weakref slots) is new, and nothing more is done; any other object came off a free list, and
//! its block is handed to the stack running now, as if freed and allocated again
//! ([`crate::attribution::reused`]). So sites count objects from birth to death, as they would
//! without free lists; regrtest's `gc.collect()` empties the free lists before each
//! measurement, so blocks that died onto a free list are freed by then.
//!
//! **When.** The tracer is installed at the first `-R` marker of a process that attributes
//! (`LEAKCHECK_STACK_DEPTH` > 0), with the GIL held, as `PyRefTracer_SetTracer` requires; it
//! stays for the life of the process and costs one relaxed load per object made and destroyed
//! outside the attribution window. A tracer installed before (a profiler) is called from ours,
//! with its own data; one installed after ours replaces it (the API holds one), and then free-list
//! reuse is not seen until regrtest's next measurement, where ours is installed again (and
//! calls the one it found). The records' flags say whether the tracer was ours through a test's
//! counted repetitions (`channel::FLAG_OBJECT_LIVES`). Counting only (`--no-attribution`) installs nothing.
//! 3.11 and 3.12 have no tracer: their free-list reuse stays unseen (the harness says so where it
//! matters, `report::free_lists`).

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::attribution;
use crate::pyapi::{lookup, PyObject};
use crate::tally;

/// The debug API id of the domain objects are allocated in (`PyObject_Malloc`).
pub const OBJECT_DOMAIN: u8 = b'o';

/// Where an object may start in its block: right at it, after a `PyGC_Head`, or after a
/// `PyGC_Head` and the managed dict and weakref slots (3.12+, `_PyType_PreHeaderSize`).
pub const OBJECT_OFFSETS: [usize; 3] = [0, 16, 32];

/// `PyRefTracer_CREATE` and `PyRefTracer_DESTROY`.
const CREATE: c_int = 0;
const DESTROY: c_int = 1;

type Tracer = unsafe extern "C" fn(object: *mut PyObject, event: c_int, data: *mut c_void) -> c_int;
type SetTracer = unsafe extern "C" fn(tracer: Option<Tracer>, data: *mut c_void) -> c_int;
type GetTracer = unsafe extern "C" fn(data: *mut *mut c_void) -> Option<Tracer>;

static INSTALLED: AtomicBool = AtomicBool::new(false);
/// `PyRefTracer_GetTracer`, once installed (a `GetTracer` as usize).
static GET: AtomicUsize = AtomicUsize::new(0);
/// The tracer installed before ours (a `Tracer` as usize; 0: none), and its data.
static PREVIOUS: AtomicUsize = AtomicUsize::new(0);
static PREVIOUS_DATA: AtomicUsize = AtomicUsize::new(0);

/// Install the tracer where the interpreter has the API (3.13+), unless it is installed
/// already: again when another replaced it since (a test of the tracer API). Returns whether
/// it is installed. The caller holds the GIL.
pub fn install() -> bool {
    if is_ours() {
        return true;
    }
    let (Some(set), Some(get)) = (lookup(c"PyRefTracer_SetTracer"), lookup(c"PyRefTracer_GetTracer")) else {
        return false;
    };
    // SAFETY: the symbols are CPython's functions of these documented signatures (3.13+).
    let (set, get) = unsafe {
        (std::mem::transmute::<*mut c_void, SetTracer>(set), std::mem::transmute::<*mut c_void, GetTracer>(get))
    };
    GET.store(get as usize, Ordering::Relaxed);
    let mut data: *mut c_void = std::ptr::null_mut();
    // SAFETY: the GIL is held (the caller's contract); `data` is a valid out pointer.
    let previous = unsafe { get(&mut data) };
    PREVIOUS_DATA.store(data as usize, Ordering::Relaxed);
    PREVIOUS.store(previous.map_or(0, |p| p as usize), Ordering::Relaxed);
    // SAFETY: the GIL is held; `tracer` has the signature CPython calls.
    if unsafe { set(Some(tracer), std::ptr::null_mut()) } != 0 {
        return false;
    }
    INSTALLED.store(true, Ordering::Relaxed);
    true
}

/// Whether CPython's tracer is ours now (another may have replaced it). The caller holds the
/// GIL.
pub fn is_ours() -> bool {
    let get = GET.load(Ordering::Relaxed);
    if !INSTALLED.load(Ordering::Relaxed) || get == 0 {
        return false;
    }
    // SAFETY: stored by `install` from CPython's function of this documented signature.
    let get = unsafe { std::mem::transmute::<usize, GetTracer>(get) };
    // SAFETY: the GIL is held (the caller's contract); a null data pointer is allowed.
    unsafe { get(std::ptr::null_mut()) }.is_some_and(is_ours_tracer)
}

fn is_ours_tracer(installed: Tracer) -> bool {
    installed as usize == tracer as *const () as usize
}

/// CPython's call for every object made (`CREATE`) and destroyed, with the GIL held.
unsafe extern "C" fn tracer(object: *mut PyObject, event: c_int, _data: *mut c_void) -> c_int {
    if attribution::active() {
        match event {
            CREATE => made(object as usize),
            DESTROY => attribution::died(object as usize),
            _ => {}
        }
    }
    let previous = PREVIOUS.load(Ordering::Relaxed);
    if previous == 0 {
        return 0;
    }
    // SAFETY: `previous` was a tracer CPython would have called with these arguments and its
    // own data.
    unsafe {
        let previous = std::mem::transmute::<usize, Tracer>(previous);
        previous(object, event, PREVIOUS_DATA.load(Ordering::Relaxed) as *mut c_void)
    }
}

/// An object was made at `object` while allocations are attributed.
#[inline(always)]
fn made(object: usize) {
    let Some(tally) = tally::current() else { return };
    let last = tally.take_last_object_block();
    if is_object_of(object, last) {
        return;
    }
    attribution::reused(object);
}

/// Whether an object at `object` lives in the block starting at `block` (see [`OBJECT_OFFSETS`]).
pub fn is_object_of(object: usize, block: usize) -> bool {
    block != 0 && OBJECT_OFFSETS.iter().any(|&offset| object.wrapping_sub(offset) == block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_lives_at_its_block_or_after_a_pre_header() {
        assert!(is_object_of(0x1000, 0x1000));
        assert!(is_object_of(0x1010, 0x1000));
        assert!(is_object_of(0x1020, 0x1000));
        assert!(!is_object_of(0x1030, 0x1000));
        assert!(!is_object_of(0x1008, 0x1000));
        assert!(!is_object_of(0x0ff0, 0x1000));
        // No block remembered.
        assert!(!is_object_of(0x10, 0));
    }
}
