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
//! **Deaths that need no work.** A `DESTROY` is what lets a block that dies onto a free list
//! leave its site on the line where its object died (its free comes later, in regrtest's
//! `gc.collect()`). An object whose type has no free list is freed by its own deallocation,
//! right after the event, on the same line (or later in the same deallocation, by the
//! trashcan; or never, when a finalizer resurrects it): its free takes its block off its site
//! exactly as [`crate::attribution::died`] would have, with one hash operation (the live
//! block's removal) where `died` and the free took six or more (`died`'s lookups among the dead
//! blocks, one per candidate offset, and of the live block, its removal, the dead block's
//! insertion; then the free's missed removal of the live block and its removal of the dead
//! one) and the spin lock twice. So the
//! tracer leaves alone the deaths of objects whose type is exactly one of
//! [`FREED_AT_DEATH_ALL`] and the version's own list ([`freed_at_death_names`]): CPython's
//! static types that no free list of that version holds, in 3.13, 3.14 and 3.15 (read from
//! `pycore_freelist_state.h` / `pycore_freelist.h` and checked against every caller of
//! `_Py_NewReference`, `_Py_NewReferenceNoTotal` and `_PyFreeList_Pop` in Debian's
//! `python3.1Xd`: only the free-list types, `MemoryError` and the in-place resizes of `str`,
//! `bytes` and `tuple` make an object in memory that held one, and a resize is a realloc,
//! which takes the block off its site either way). Subclasses are not in the set (their type
//! is another), nor is any type of an extension module, which may keep a free list of its
//! own: an unknown type gets the full work. Another version (3.16 on), or a build where the
//! types' `ob_type` is not at offset 8 (free-threaded, `Py_TRACE_REFS`), gets the full work for
//! every type. Were a listed type to gain a free list in 3.15's development, its blocks would
//! still be handed over at their reuse and freed by regrtest's `gc.collect()` before each
//! measurement: only the line its death is counted at would be lost.
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

use std::ffi::{c_int, c_void, CStr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

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

/// Types whose objects are freed at their death in every version with a tracer (see the
/// module documentation): the object's block is freed by its deallocation.
pub const FREED_AT_DEATH_ALL: &[&CStr] = &[
    c"PyUnicode_Type",
    c"PyBytes_Type",
    c"PyByteArray_Type",
    c"PyFunction_Type",
    c"PyCell_Type",
    c"PySet_Type",
    c"PyFrozenSet_Type",
    c"PyGen_Type",
    c"PyCoro_Type",
    c"PyFrame_Type",
    c"PyCode_Type",
    c"PyBaseObject_Type",
    c"PySeqIter_Type",
    c"PyCallIter_Type",
    c"PyEnum_Type",
    c"PyReversed_Type",
    c"PyZip_Type",
    c"PyMap_Type",
    c"PyFilter_Type",
    c"PyMemoryView_Type",
    c"PyTraceBack_Type",
    c"PySuper_Type",
    c"PyProperty_Type",
    c"PyStaticMethod_Type",
    c"PyClassMethod_Type",
    c"PyDictKeys_Type",
    c"PyDictValues_Type",
    c"PyDictItems_Type",
    c"PyDictIterKey_Type",
    c"PyDictIterValue_Type",
    c"PyDictIterItem_Type",
    c"PySetIter_Type",
    c"PyUnicodeIter_Type",
    c"PyBytesIter_Type",
];

/// The types of [`FREED_AT_DEATH_ALL`] and those without a free list in CPython `minor` (3.x)
/// only; `None` for a version whose free lists were not checked (all types get the full work).
/// 3.14 added free lists of ints, bound methods, builtin functions and methods, ranges and
/// their iterators, list and tuple iterators; 3.15 one of complex numbers.
pub fn freed_at_death_names(major: u64, minor: u64) -> Option<&'static [&'static CStr]> {
    const ONLY_3_13: &[&CStr] = &[
        c"PyLong_Type",
        c"PyMethod_Type",
        c"PyCFunction_Type",
        c"PyCMethod_Type",
        c"PyListIter_Type",
        c"PyTupleIter_Type",
        c"PyRange_Type",
        c"PyRangeIter_Type",
        c"PyComplex_Type",
    ];
    const ONLY_3_14: &[&CStr] = &[c"PyComplex_Type"];
    match (major, minor) {
        (3, 13) => Some(ONLY_3_13),
        (3, 14) => Some(ONLY_3_14),
        (3, 15) => Some(&[]),
        _ => None,
    }
}

/// Slots of [`FREED_AT_DEATH`]: a power of two, over twice the types listed.
const TYPE_SLOTS: usize = 128;
/// The addresses of the type objects of [`freed_at_death_names`] for this interpreter, open
/// addressing by [`type_slot`] (0: empty). Filled once, before the tracer is first installed;
/// read by the tracer, which runs with the GIL held, as `install` did.
static FREED_AT_DEATH: [AtomicUsize; TYPE_SLOTS] = [const { AtomicUsize::new(0) }; TYPE_SLOTS];
static FREED_AT_DEATH_FILLED: Once = Once::new();
/// `ob_type`'s offset in an object (without `Py_TRACE_REFS`, not free-threaded).
const OB_TYPE: usize = 8;

fn type_slot(address: usize) -> usize {
    (address as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) as usize >> (usize::BITS - TYPE_SLOTS.trailing_zeros())
}

/// Put `address` into `table` (open addressing); false when it is full.
fn insert_type(table: &[AtomicUsize; TYPE_SLOTS], address: usize) -> bool {
    let start = type_slot(address);
    (0..TYPE_SLOTS).map(|i| &table[(start + i) % TYPE_SLOTS]).any(|slot| {
        let current = slot.load(Ordering::Relaxed);
        if current == 0 {
            slot.store(address, Ordering::Relaxed);
        }
        current == 0 || current == address
    })
}

/// Whether `table` holds `address`.
#[inline(always)]
fn holds_type(table: &[AtomicUsize; TYPE_SLOTS], address: usize) -> bool {
    let start = type_slot(address);
    for i in 0..TYPE_SLOTS {
        match table[(start + i) % TYPE_SLOTS].load(Ordering::Relaxed) {
            0 => return false,
            found if found == address => return true,
            _ => {}
        }
    }
    false
}

/// Fill [`FREED_AT_DEATH`] for this interpreter: nothing for a version not checked, or when the
/// type objects' `ob_type` is not `&PyType_Type` at [`OB_TYPE`] (another object layout).
fn fill_freed_at_death() {
    let (Some(version), Some(type_type)) = (lookup(c"Py_Version"), lookup(c"PyType_Type")) else { return };
    // SAFETY: `Py_Version` is a `const unsigned long` in 3.11+ (64 bits here); only 3.13+ has
    // the tracer API this runs after.
    let version = unsafe { *(version as *const u64) };
    let Some(only) = freed_at_death_names(version >> 24 & 0xff, version >> 16 & 0xff) else { return };
    let mut types = [0usize; TYPE_SLOTS / 2];
    let mut n = 0;
    for name in FREED_AT_DEATH_ALL.iter().chain(only) {
        let Some(address) = lookup(name) else { continue };
        // SAFETY: a type object CPython exports; its object header is at least two words.
        let own_type = unsafe { *((address as usize + OB_TYPE) as *const usize) };
        if own_type != type_type as usize {
            return; // another layout: every death gets the full work
        }
        if n < types.len() {
            types[n] = address as usize;
            n += 1;
        }
    }
    for &address in &types[..n] {
        insert_type(&FREED_AT_DEATH, address);
    }
}

/// Whether the object at `object`, dying, is of a type whose deallocation frees its block
/// (see the module documentation).
///
/// # Safety
/// `object` is a live Python object (CPython's `DESTROY` event hands one, before its
/// deallocation).
#[inline(always)]
unsafe fn freed_at_death(object: usize) -> bool {
    // SAFETY: a live object's header is at least three words in every layout (two for its
    // type alone), so the word at `OB_TYPE` is inside it; the table is only filled for the
    // layout where that word is `ob_type`, and is empty otherwise (no word matches).
    let ty = unsafe { *((object + OB_TYPE) as *const usize) };
    holds_type(&FREED_AT_DEATH, ty)
}

/// Install the tracer where the interpreter has the API (3.13+), unless it is installed
/// already: again when another replaced it since (a test of the tracer API). Returns whether
/// it is installed. The caller holds the GIL.
pub fn install() -> bool {
    if is_ours() {
        return true;
    }
    FREED_AT_DEATH_FILLED.call_once(fill_freed_at_death);
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
            // SAFETY: CPython hands a live object, before its deallocation.
            DESTROY if unsafe { freed_at_death(object as usize) } => {}
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

    /// CPython's free-list types, by version (`struct _Py_object_freelists` of 3.13's
    /// `pycore_freelist.h`, `struct _Py_freelists` of 3.14's and 3.15's
    /// `pycore_freelist_state.h`; `MemoryError` keeps one of its own in every version).
    const WITH_FREE_LISTS_3_13: &[&str] = &[
        "PyFloat_Type",
        "PyTuple_Type",
        "PyList_Type",
        "PyDict_Type",
        "PySlice_Type",
        "PyContext_Type",
        "_PyAsyncGenASend_Type",
    ];
    const WITH_FREE_LISTS_3_14: &[&str] = &[
        "PyLong_Type",
        "PyMethod_Type",
        "PyCFunction_Type",
        "PyCMethod_Type",
        "PyRange_Type",
        "PyRangeIter_Type",
        "PyListIter_Type",
        "PyTupleIter_Type",
    ];
    const WITH_FREE_LISTS_3_15: &[&str] = &["PyComplex_Type"];

    #[test]
    fn no_type_with_a_free_list_is_taken_as_freed_at_death() {
        for (minor, with_free_lists) in [
            (13, WITH_FREE_LISTS_3_13.to_vec()),
            (14, [WITH_FREE_LISTS_3_13, WITH_FREE_LISTS_3_14].concat()),
            (15, [WITH_FREE_LISTS_3_13, WITH_FREE_LISTS_3_14, WITH_FREE_LISTS_3_15].concat()),
        ] {
            let only = freed_at_death_names(3, minor).unwrap();
            for name in FREED_AT_DEATH_ALL.iter().chain(only) {
                let name = name.to_str().unwrap();
                assert!(!with_free_lists.contains(&name), "3.{minor}: {name}");
            }
            assert!(FREED_AT_DEATH_ALL.len() + only.len() <= TYPE_SLOTS / 2);
        }
        // 3.13's ints have no free list yet; 3.14's do.
        assert!(freed_at_death_names(3, 13).unwrap().contains(&c"PyLong_Type"));
        assert!(!freed_at_death_names(3, 14).unwrap().contains(&c"PyLong_Type"));
        // Versions whose free lists were not checked: every death gets the full work.
        for (major, minor) in [(3, 11), (3, 12), (3, 16), (4, 0)] {
            assert!(freed_at_death_names(major, minor).is_none(), "{major}.{minor}");
        }
    }

    #[test]
    fn the_type_table_holds_what_was_put_in_and_nothing_else() {
        let table = [const { AtomicUsize::new(0) }; TYPE_SLOTS];
        assert!(!holds_type(&table, 0x7f00_1000));
        // Addresses 0x1a0 apart, as static type objects are.
        let types: Vec<usize> = (0..60).map(|i| 0x55aa_0000_0000 + i * 0x1a0).collect();
        for &address in &types {
            assert!(insert_type(&table, address));
        }
        assert!(insert_type(&table, types[3]), "again: already there");
        for &address in &types {
            assert!(holds_type(&table, address), "{address:x}");
        }
        for address in [0x55aa_0000_0008, types[59] + 0x1a0, 0x7f00_1000, 8] {
            assert!(!holds_type(&table, address), "{address:x}");
        }
        // Full: every slot taken, a lookup of another still ends.
        let full = [const { AtomicUsize::new(0) }; TYPE_SLOTS];
        for i in 0..TYPE_SLOTS {
            assert!(insert_type(&full, 0x1000 + i * 16));
        }
        assert!(!insert_type(&full, 0x99_0000));
        assert!(!holds_type(&full, 0x99_0000));
        assert!(holds_type(&full, 0x1000 + 5 * 16));
    }
}
