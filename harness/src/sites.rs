//! From a leak site's raw stack (absolute return addresses, as the shim recorded them) to the
//! frames a report shows: module lookup, the return-address-minus-one rule, symbolization, and
//! the folding of allocator plumbing at the top of the stack; and, for telling sites apart
//! ([`SiteKeys`]), which frames are below the interpreter's call and which return addresses
//! return to the same code. [`SiteKeys`] symbolizes each return address of a process once.
//!
//! The caller provides the process's module map (from the shim) and a [`Symbolizer`]; this module
//! does no other I/O and knows nothing of report formats.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::rc::Rc;

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
    // CPython's reference tracer callers (3.13+): the shim records the stack of an object taken
    // off a free list from there (shims/src/reftrace.rs); `_PyFreeList_Pop` is 3.14's.
    "new_reference",
    "_Py_NewReference",
    "_Py_NewReferenceNoTotal",
    "_PyFreeList_Pop",
    "_PyFreeList_PopNoStats",
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

/// Whether `function` is named as allocator plumbing is (see `ALLOCATOR_FUNCTIONS`). The name
/// alone does not make a frame one: see [`is_allocator_frame`], and, for a sanitizer's stacks,
/// whose symbolized frames name no module, `report::leak_stacks`.
pub fn is_allocator_function(function: &str) -> bool {
    ALLOCATOR_FUNCTIONS.contains(&function)
}

/// Whether `frame` is allocator plumbing: a function of `ALLOCATOR_FUNCTIONS` in the
/// interpreter's own code (see [`interpreter_modules`]) or in leakcheck's shim. An extension's
/// own static `gc_alloc()` calling `PyMem_RawMalloc` is the code that asked for the memory.
pub fn is_allocator_frame(frame: &Frame, interpreter: &[String]) -> bool {
    frame.function.as_deref().is_some_and(is_allocator_function)
        && (interpreter.contains(&frame.module) || crate::launch::is_shim_module(&frame.module))
}

/// The modules (as a [`Frame`] names them) that hold the interpreter's code: `libpython*` when
/// the process loaded one (a `--enable-shared` build, or a program embedding Python), otherwise
/// the main program, which the shim lists first (as `dl_iterate_phdr` does).
pub fn interpreter_modules(modules: &[ModuleRecord]) -> Vec<String> {
    let libpython: Vec<String> = modules
        .iter()
        .filter(|m| {
            Path::new(OsStr::from_bytes(&m.path)).file_name().is_some_and(|n| n.as_bytes().starts_with(b"libpython"))
        })
        .map(|m| String::from_utf8_lossy(&m.path).into_owned())
        .collect();
    if !libpython.is_empty() {
        return libpython;
    }
    modules.first().map(|m| String::from_utf8_lossy(&m.path).into_owned()).into_iter().collect()
}

/// Functions that only pass a call on, from the interpreter or from C, to the function called:
/// the eval loop and the vectorcall and `tp_call` plumbing. Where an allocation has Python
/// frames, the C frames from the first of these outwards say how the interpreter reached the
/// C code, which the Python frames already say: 3.11's adaptive interpreter calls a C function
/// through `PyObject_Vectorcall` until it specializes the call site, then directly from another
/// place of `_PyEval_EvalFrameDefault`.
const CALL_DISPATCH_FUNCTIONS: &[&str] = &[
    "_PyEval_EvalFrameDefault",
    "_PyEval_EvalFrame",
    "_PyEval_Vector",
    "PyEval_EvalCode",
    "_PyFunction_Vectorcall",
    "_PyObject_VectorcallTstate",
    "PyObject_Vectorcall",
    "_PyObject_MakeTpCall",
    "_PyObject_Call",
    "PyObject_Call",
    "_PyObject_CallNoArgs",
    "_PyObject_CallNoArgsTstate",
    "PyObject_CallNoArgs",
    "PyObject_CallOneArg",
    "PyObject_CallObject",
    "PyObject_VectorcallMethod",
    "PyObject_VectorcallDict",
    "_PyObject_FastCallDictTstate",
    "_PyObject_Call_Prepend",
    "PyVectorcall_Call",
    "_PyVectorcall_Call",
    "cfunction_call",
    "method_vectorcall",
    "wrapperdescr_call",
    "wrapper_call",
    "vectorcall_method",
    "vectorcall_unbound",
];

/// Families of [`CALL_DISPATCH_FUNCTIONS`], one per calling convention
/// (`cfunction_vectorcall_NOARGS`, `method_vectorcall_FASTCALL_KEYWORDS`, ...).
const CALL_DISPATCH_PREFIXES: &[&str] = &["cfunction_vectorcall_", "method_vectorcall_"];

/// Whether `function` only passes a call on (see `CALL_DISPATCH_FUNCTIONS`).
pub fn is_call_dispatch(function: &str) -> bool {
    CALL_DISPATCH_FUNCTIONS.contains(&function) || CALL_DISPATCH_PREFIXES.iter().any(|p| function.starts_with(p))
}

/// How many of a stack's innermost return addresses, at most `limit`, come before the first
/// that is in a call-dispatch function (see `CALL_DISPATCH_FUNCTIONS`; an inlined one counts):
/// the C code the allocation went through below the interpreter. At least one; `limit` (or
/// the stack's length) when no dispatch frame is among them. `is_dispatch` tells whether a
/// return address's call is in one.
fn below_call_dispatch(stack: &[u64], limit: usize, mut is_dispatch: impl FnMut(u64) -> bool) -> usize {
    let limit = limit.min(stack.len());
    stack[..limit]
        .iter()
        .position(|&return_address| is_dispatch(return_address))
        .unwrap_or(limit)
        .max(1)
        .min(stack.len())
}

/// A process's stacks, symbolized: what `leaks::site_verdicts` asks of them, how many frames
/// are below the interpreter's call (`below_call_dispatch`, at most `leaks::MERGE_FRAMES`)
/// and which return addresses return to the same code, and the frames a report shows
/// ([`SiteKeys::frames`]). Each return address is symbolized once, and the answers are kept
/// per address, for the stacks of one series.
#[derive(Debug)]
pub struct SiteKeys<'a> {
    symbolizer: &'a Symbolizer,
    modules: &'a [ModuleRecord],
    /// The frames of each return address's call (see `call_frames`).
    calls: RefCell<HashMap<u64, Option<Rc<[Frame]>>>>,
    dispatch: RefCell<HashMap<u64, bool>>,
    /// Whether each return address's call is allocator plumbing (see `allocator_frames`).
    plumbing: RefCell<HashMap<u64, bool>>,
    code: RefCell<HashMap<u64, u64>>,
    /// The first return address seen for each code, as [`code_of`] describes it.
    first_of: RefCell<HashMap<Vec<CodeFrame>, u64>>,
    /// The modules that hold the interpreter's code ([`interpreter_modules`]).
    interpreter: Vec<String>,
}

/// One symbolized frame of a call, as far as telling code apart goes.
type CodeFrame = (String, String, String, u32, Option<u32>, bool);

impl<'a> SiteKeys<'a> {
    pub fn new(symbolizer: &'a Symbolizer, modules: &'a [ModuleRecord]) -> Self {
        SiteKeys {
            symbolizer,
            modules,
            calls: RefCell::default(),
            dispatch: RefCell::default(),
            plumbing: RefCell::default(),
            code: RefCell::default(),
            first_of: RefCell::default(),
            interpreter: interpreter_modules(modules),
        }
    }

    /// The modules that hold the interpreter's code ([`interpreter_modules`]).
    pub fn interpreter(&self) -> &[String] {
        &self.interpreter
    }

    /// [`call_frames`] of `return_address`, symbolized on first use.
    fn call(&self, return_address: u64) -> Option<Rc<[Frame]>> {
        if let Some(call) = self.calls.borrow().get(&return_address) {
            return call.clone();
        }
        let call: Option<Rc<[Frame]>> = call_frames(self.symbolizer, self.modules, return_address).map(Rc::from);
        self.calls.borrow_mut().insert(return_address, call.clone());
        call
    }

    /// The frames of a stack, innermost first, with leading allocator frames (see
    /// [`is_allocator_frame`]) folded away; also returns how many were folded. An address outside every known module becomes a frame
    /// with only its address.
    pub fn frames(&self, stack: &[u64]) -> (Vec<Frame>, usize) {
        let mut frames = Vec::with_capacity(stack.len());
        for &return_address in stack {
            match self.call(return_address) {
                Some(call) => frames.extend(call.iter().cloned()),
                None => frames.push(Frame::outside_any_module(return_address.saturating_sub(1))),
            }
        }
        let folded = frames.iter().take_while(|f| is_allocator_frame(f, &self.interpreter)).count();
        // Never fold everything: a stack made only of allocator frames keeps its last one.
        let folded = folded.min(frames.len().saturating_sub(1));
        frames.drain(..folded);
        (frames, folded)
    }
}

impl crate::leaks::StackKeys for SiteKeys<'_> {
    fn c_frames(&self, stack: &[u64]) -> usize {
        below_call_dispatch(stack, crate::leaks::MERGE_FRAMES, |return_address| {
            *self.dispatch.borrow_mut().entry(return_address).or_insert_with(|| {
                self.call(return_address)
                    .is_some_and(|frames| frames.iter().any(|f| f.function.as_deref().is_some_and(is_call_dispatch)))
            })
        })
    }

    /// The leading return addresses whose call frames (inlined ones included) are all allocator
    /// plumbing ([`is_allocator_frame`]), as [`SiteKeys::frames`] folds them; an address in no
    /// module, or that symbolizes to no frame, is not.
    fn allocator_frames(&self, stack: &[u64]) -> usize {
        let plumbing = |return_address: u64| {
            *self.plumbing.borrow_mut().entry(return_address).or_insert_with(|| {
                self.call(return_address).is_some_and(|frames| {
                    !frames.is_empty() && frames.iter().all(|f| is_allocator_frame(f, &self.interpreter))
                })
            })
        };
        stack.iter().take_while(|&&return_address| plumbing(return_address)).count().min(stack.len().saturating_sub(1))
    }

    /// The first return address seen whose call symbolizes as this one's does (see
    /// `code_of`); the address itself when its code cannot be told.
    fn code(&self, return_address: u64) -> u64 {
        if let Some(&code) = self.code.borrow().get(&return_address) {
            return code;
        }
        let code = match self.call(return_address).and_then(|frames| code_of(&frames)) {
            Some(frames) => *self.first_of.borrow_mut().entry(frames).or_insert(return_address),
            None => return_address,
        };
        self.code.borrow_mut().insert(return_address, code);
        code
    }
}

/// The call a return address returns to, as its symbolized `frames` (inlined calls included)
/// tell it: module, function, file, line, column. `None` when any of them has no function,
/// file or line: then only the address tells the code, two calls of one function are not the
/// same code. The module and the source file count by their file names, not their directories:
/// an extension a test copies or builds into a fresh temporary directory each repetition is the
/// same code each time (as a sanitizer finding's frames compare).
fn code_of(frames: &[Frame]) -> Option<Vec<CodeFrame>> {
    if frames.is_empty() {
        return None;
    }
    let name = |path: &str| path.rsplit('/').next().unwrap_or(path).to_owned();
    frames
        .iter()
        .map(|f| Some((name(&f.module), f.function.clone()?, name(f.file.as_deref()?), f.line?, f.column, f.inlined)))
        .collect()
}

/// The frames (inlined calls first) of the call that `return_address` returns to, or `None`
/// when it is in no module of the map. A return address points after the call; the call
/// itself is one byte earlier.
fn call_frames(symbolizer: &Symbolizer, modules: &[ModuleRecord], return_address: u64) -> Option<Vec<Frame>> {
    let call = return_address.saturating_sub(1);
    let module = modules.iter().find(|m| m.start <= call && call < m.end)?;
    Some(symbolizer.symbolize(Path::new(OsStr::from_bytes(&module.path)), call.wrapping_sub(module.bias)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_code_in_another_directory_is_the_same_code() {
        let frame = |module: &str, file: &str, line: u32| Frame {
            function: Some("PyInit__qashim".into()),
            file: Some(file.into()),
            line: Some(line),
            module: module.into(),
            ..Frame::outside_any_module(0x1000)
        };
        let first = [frame("/tmp/tmpa1/_qashim.so", "/tmp/tmpa1/_qashim.c", 12)];
        let copy = [frame("/tmp/tmpb2/_qashim.so", "/tmp/tmpb2/_qashim.c", 12)];
        assert_eq!(code_of(&first), code_of(&copy));
        assert_ne!(code_of(&first), code_of(&[frame("/tmp/tmpb2/_qashim.so", "/tmp/tmpb2/_qashim.c", 13)]));
        assert_ne!(code_of(&first), code_of(&[frame("/tmp/tmpa1/_other.so", "/tmp/tmpa1/_qashim.c", 12)]));
        let mut no_line = frame("/tmp/tmpa1/_qashim.so", "/tmp/tmpa1/_qashim.c", 12);
        no_line.line = None;
        assert_eq!(code_of(&[no_line]), None);
    }

    #[test]
    fn allocator_plumbing_is_recognised_and_callers_are_not() {
        assert!(is_allocator_function("PyMem_RawMalloc"));
        assert!(is_allocator_function("_PyObject_GC_New"));
        assert!(!is_allocator_function("PyList_New"));
        assert!(!is_allocator_function("leak_raw"));
    }

    #[test]
    fn only_the_interpreters_allocator_functions_are_plumbing() {
        let module = |path: &str| ModuleRecord { pid: 1, path: path.as_bytes().to_vec(), bias: 0, start: 0, end: 1 };
        let frame = |function: &str, module: &str| Frame {
            function: Some(function.into()),
            module: module.into(),
            ..Frame::outside_any_module(0x1000)
        };
        let python = [module("/usr/bin/python3.11d"), module("/lib/x86_64-linux-gnu/libc.so.6")];
        let interpreter = interpreter_modules(&python);
        assert_eq!(interpreter, ["/usr/bin/python3.11d"]);
        assert!(is_allocator_frame(&frame("gc_alloc", "/usr/bin/python3.11d"), &interpreter));
        assert!(is_allocator_frame(&frame("PyMem_RawMalloc", "/run/x/libleakcheck_shim.so"), &interpreter));
        // An extension's own static function of that name is its code.
        assert!(!is_allocator_frame(&frame("gc_alloc", "/t/_ext.cpython-311d-x86_64-linux-gnu.so"), &interpreter));
        assert!(!is_allocator_frame(&frame("PyList_New", "/usr/bin/python3.11d"), &interpreter));
        // A shared build (or a program embedding Python): libpython holds the interpreter.
        let shared = [module("/usr/bin/myapp"), module("/usr/lib/libpython3.13d.so.1.0")];
        let interpreter = interpreter_modules(&shared);
        assert_eq!(interpreter, ["/usr/lib/libpython3.13d.so.1.0"]);
        assert!(is_allocator_frame(&frame("gc_alloc", "/usr/lib/libpython3.13d.so.1.0"), &interpreter));
        assert!(!is_allocator_frame(&frame("gc_alloc", "/usr/bin/myapp"), &interpreter));
    }

    #[test]
    fn code_that_cannot_be_told_keeps_its_address() {
        use crate::leaks::StackKeys as _;
        let symbolizer = Symbolizer::new();
        let keys = SiteKeys::new(&symbolizer, &[]);
        assert_eq!((keys.code(0x1001), keys.code(0x2001), keys.code(0x1001)), (0x1001, 0x2001, 0x1001));
    }

    #[test]
    fn each_return_address_is_symbolized_once_for_keys_and_frames() {
        use crate::leaks::StackKeys as _;
        let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
        let module =
            ModuleRecord { pid: 1, path: b"/nonexistent/m.so".to_vec(), bias: 0x1000, start: 0x1000, end: 0x2000 };
        let modules = [module];
        let keys = SiteKeys::new(&symbolizer, &modules);
        let stack = [0x1801, 0x1901, 0x1801];
        assert_eq!(keys.c_frames(&stack), 3, "no frame is the interpreter's");
        assert_eq!(keys.code(0x1801), 0x1801);
        let (frames, folded) = keys.frames(&stack);
        assert_eq!(folded, 0);
        assert_eq!(frames.iter().map(|f| f.address).collect::<Vec<_>>(), [0x800, 0x900, 0x800]);
        assert!(frames.iter().all(|f| f.module == "/nonexistent/m.so"));
        assert_eq!(keys.calls.borrow().len(), 2, "two distinct return addresses");
    }

    #[test]
    fn addresses_outside_every_module_keep_their_address() {
        let symbolizer = Symbolizer::new();
        let (frames, folded) = SiteKeys::new(&symbolizer, &[]).frames(&[0x1001, 0x2001]);
        assert_eq!(folded, 0);
        assert_eq!(frames.iter().map(|f| f.address).collect::<Vec<_>>(), [0x1000, 0x2000]);
        assert!(frames.iter().all(|f| f.function.is_none() && f.module == "?"));
    }
}
