//! From a leak site's raw stack (absolute return addresses, as the shim recorded them) to the
//! frames a report shows: module lookup, the return-address-minus-one rule, symbolization, and
//! the folding of allocator plumbing at the top of the stack.
//!
//! The caller provides the process's module map (from the shim) and a [`Symbolizer`]; this module
//! does no other I/O and knows nothing of report formats.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::shim_events::ModuleRecord;
use crate::symbolize::{Frame, Symbolizer};

/// Functions that only pass an allocation through to the allocator: the allocator API, the
/// debug hooks, pymalloc, and the generic object allocation path. A site's frames start at the
/// first function that is not one of these, so that the top frame is the code that asked for
/// the memory. Only leading frames are folded: the caller's frame never is.
const ALLOCATOR_FUNCTIONS: &[&str] = &[
    "PyMem_RawMalloc",
    "PyMem_RawCalloc",
    "PyMem_RawRealloc",
    "PyMem_Malloc",
    "PyMem_Calloc",
    "PyMem_Realloc",
    "PyObject_Malloc",
    "PyObject_Calloc",
    "PyObject_Realloc",
    "_PyMem_RawMalloc",
    "_PyMem_RawCalloc",
    "_PyMem_RawRealloc",
    "_PyMem_DebugRawAlloc",
    "_PyMem_DebugRawMalloc",
    "_PyMem_DebugRawCalloc",
    "_PyMem_DebugRawRealloc",
    "_PyMem_DebugMalloc",
    "_PyMem_DebugCalloc",
    "_PyMem_DebugRealloc",
    "_PyObject_Malloc",
    "_PyObject_Calloc",
    "_PyObject_Realloc",
    // 3.13's typed allocation helper (Include/internal/pycore_object.h).
    "_PyObject_MallocWithType",
    "pymalloc_alloc",
    "pymalloc_realloc",
    "allocate_from_new_pool",
    "gc_alloc",
    "_PyObject_GC_New",
    "_PyObject_GC_NewVar",
    "_PyObject_GC_Link",
    "_PyObject_GC_Malloc",
    "_PyType_AllocNoTrack",
    "PyType_GenericAlloc",
    "PyType_GenericNew",
    "_PyObject_New",
    "_PyObject_NewVar",
    "PyObject_Init",
    "PyObject_InitVar",
    "_PyObject_Init",
    "_PyObject_InitVar",
    // tracemalloc's hooks, between the API and ours while a test traces (Modules/_tracemalloc.c
    // in 3.11, Python/tracemalloc.c after); not its own bookkeeping (`raw_malloc`, ...), which is
    // memory of its own.
    "tracemalloc_alloc",
    "tracemalloc_realloc",
    "tracemalloc_alloc_gil",
    "tracemalloc_malloc_gil",
    "tracemalloc_calloc_gil",
    "tracemalloc_realloc_gil",
    "tracemalloc_raw_alloc",
    "tracemalloc_raw_malloc",
    "tracemalloc_raw_calloc",
    "tracemalloc_raw_realloc",
];

/// Whether `function` is allocator plumbing (see `ALLOCATOR_FUNCTIONS`).
pub fn is_allocator_function(function: &str) -> bool {
    ALLOCATOR_FUNCTIONS.contains(&function)
}

/// The frames of a stack, innermost first, with leading allocator frames folded away; also
/// returns how many were folded. An address outside every known module becomes a frame with
/// only its address.
pub fn frames(symbolizer: &Symbolizer, modules: &[ModuleRecord], stack: &[u64]) -> (Vec<Frame>, usize) {
    let mut frames = Vec::with_capacity(stack.len());
    for &return_address in stack {
        // A return address points after the call; the call itself is one byte earlier.
        let call = return_address.saturating_sub(1);
        match modules.iter().find(|m| m.start <= call && call < m.end) {
            Some(module) => {
                let path = Path::new(OsStr::from_bytes(&module.path));
                frames.extend(symbolizer.symbolize(path, call.wrapping_sub(module.bias)));
            }
            None => frames.push(Frame::outside_any_module(call)),
        }
    }
    let folded = frames.iter().take_while(|f| f.function.as_deref().is_some_and(is_allocator_function)).count();
    // Never fold everything: a stack made only of allocator frames keeps its last one.
    let folded = folded.min(frames.len().saturating_sub(1));
    frames.drain(..folded);
    (frames, folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocator_plumbing_is_recognised_and_callers_are_not() {
        assert!(is_allocator_function("PyMem_RawMalloc"));
        assert!(is_allocator_function("_PyObject_GC_New"));
        assert!(!is_allocator_function("PyList_New"));
        assert!(!is_allocator_function("leak_raw"));
    }

    #[test]
    fn addresses_outside_every_module_keep_their_address() {
        let symbolizer = Symbolizer::new();
        let (frames, folded) = frames(&symbolizer, &[], &[0x1001, 0x2001]);
        assert_eq!(folded, 0);
        assert_eq!(frames.iter().map(|f| f.address).collect::<Vec<_>>(), [0x1000, 0x2000]);
        assert!(frames.iter().all(|f| f.function.is_none() && f.module == "?"));
    }
}
