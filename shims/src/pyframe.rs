//! The innermost Python frames of the allocating thread, read from CPython's own structures in
//! the allocation hook: no GIL, no allocation, no reference count touched.
//!
//! **How.** From the thread's `PyThreadState`, its running `_PyInterpreterFrame`, the frame's
//! code object and instruction pointer, then the callers' frames through `previous`. Frames still
//! being set up, and the entry frames of 3.13 and later, are skipped. A thread only reads its own
//! frames, which stay alive while it runs inside them, so the reads race with nothing.
//!
//! **Which CPython.** One `Layout` per version, chosen from `Py_Version`:
//! - 3.11: no published offsets. The constants are `offsetof` results from 3.11's headers
//!   (`Include/internal/pycore_{runtime,frame,code}.h`, `Include/cpython/unicodeobject.h`, with
//!   `Py_BUILD_CORE`), identical for Debian's `python3.11` and `python3.11-dbg` and a
//!   `--with-pydebug --with-address-sanitizer` build. The thread state is the runtime's current
//!   one (`gilstate.tstate_current`, the state holding the GIL) when it is this thread's (its
//!   `thread_id` is this thread), else the value of the runtime's `autoTSSkey` (what
//!   `PyGILState_GetThisThreadState` returns), valid whether or not the thread holds the GIL.
//!   The key alone would not do: it keeps the main interpreter's state of the thread while a
//!   subinterpreter's runs (`Py_NewInterpreter`, `test.support.run_in_subinterp`), whose
//!   frames would be read as the main interpreter's caller of the subinterpreter. The running
//!   frame is `tstate->cframe->current_frame`.
//! - 3.13, 3.14 and 3.15: the offsets come from the running interpreter's `_Py_DebugOffsets`
//!   (the first member of `_PyRuntime`, published for out-of-process debuggers), checked by its
//!   `xdebugpy` cookie and version, each offset no larger than the size of its structure that
//!   the same struct publishes. The struct itself grows with each version, so where its fields
//!   are is known per version ([`DebugOffsets`], from the DWARF of 3.13.5, and of Debian's
//!   `python3.14-dbg` 3.14.10 and `python3.15-dbg` 3.15.2). The thread state is
//!   `PyThreadState_GetUnchecked()` (a thread-local read: the thread's attached state), else,
//!   while the thread has released the GIL (`Py_BEGIN_ALLOW_THREADS` around a `PyMem_RawMalloc`,
//!   as CPython's I/O does), `PyGILState_GetThisThreadState()` (the runtime's `autoTSSkey`:
//!   `pthread_getspecific`, no lock), the state the thread detached from when it is the main
//!   interpreter's (a subinterpreter's detached thread shows the main interpreter's frame that
//!   ran it); the running frame is `tstate->current_frame`, which a detached state keeps. From 3.14 the
//!   frame's `f_executable` is a `_PyStackRef`, whose low bits tag the reference: they are
//!   masked off. Frames whose `owner` is 3.13's `FRAME_OWNED_BY_CSTACK` (3), or 3.14's and
//!   3.15's `FRAME_OWNED_BY_INTERPRETER` (3) or 3.14's `FRAME_OWNED_BY_CSTACK` (4), run no code
//!   and are skipped, as `_PyFrame_IsIncomplete` does. `_co_firsttraceable` is not published, so
//!   a frame still copying its free variables reports its `def` line. A free-threaded 3.14 or
//!   3.15 is refused: its frames run thread-local copies of the bytecode.
//! - 3.12 (its offsets are not published) and 3.16+ (its struct is not known yet): not
//!   supported.
//!
//! [`prepare`] checks the layout against the running interpreter with the GIL held (the thread
//! state found equals `_PyThreadState_UncheckedGet`/`PyThreadState_GetUnchecked`, the current
//! frame's code object is a `PyCode_Type` instance) and turns the reader off, with a reason,
//! when anything disagrees. 64-bit targets only.
//!
//! **What it costs.** In the hook: finding the thread state, then seven loads per frame, for
//! at most [`PYTHON_DEPTH`] frames. File, function and line are looked up once per allocation
//! site ([`Reader::resolve`]), when the site is made, while the code objects are certainly
//! alive (their frames are running).

use std::ffi::{c_int, c_void, CStr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::fallible::{try_vec_from, OutOfMemory};
use crate::pyapi::PyObject;

/// Longest file or function name kept, in bytes of UTF-8 (cut before a character that would
/// not fit).
const MAX_NAME: usize = 4096;
/// Incomplete frames skipped before giving up.
const MAX_SKIPPED: usize = 8;
/// Python frames recorded per allocation: the running function and a few callers, enough to
/// see which test line reached a library function that allocates.
pub const PYTHON_DEPTH: usize = 4;
/// `sizeof(_Py_CODEUNIT)`.
const CODE_UNIT: usize = 2;
/// `FRAME_OWNED_BY_GENERATOR`: generator frames are never incomplete.
const OWNED_BY_GENERATOR: u8 = 1;

/// Where the structures keep what the reader needs, in bytes from their start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    /// 3.11: `PyThreadState.cframe`, whose `_PyCFrame` holds the running frame at
    /// `current_frame`; 3.13+: none, the thread state holds it at `current_frame`.
    cframe: Option<usize>,
    current_frame: usize,
    /// `_PyInterpreterFrame.f_code` / `.f_executable`, `.previous`, the instruction pointer
    /// (`prev_instr` / `instr_ptr`), `.owner` (a `char`).
    frame_code: usize,
    frame_previous: usize,
    frame_instruction: usize,
    frame_owner: usize,
    /// What the code word is masked with: 3.14's `f_executable` is a `_PyStackRef`, whose low
    /// bits tag a deferred or borrowed reference (`Py_TAG_BITS`); all ones before.
    code_mask: usize,
    /// The first `owner` of a frame that runs no code (`_PyFrame_IsIncomplete` says so of any
    /// owner from it on): 3.13's `FRAME_OWNED_BY_CSTACK` (3, the C-stack entry frame), 3.14's
    /// `FRAME_OWNED_BY_INTERPRETER` (3, then `FRAME_OWNED_BY_CSTACK`, 4) and 3.15's
    /// `FRAME_OWNED_BY_INTERPRETER` (3). 3.11 has none.
    first_entry_owner: Option<u8>,
    /// `PyCodeObject.co_filename`, `.co_qualname`, `._co_firsttraceable` (when known), and the
    /// bytecode, `co_code_adaptive` (`_PyCode_CODE`).
    code_filename: usize,
    code_qualname: usize,
    code_firsttraceable: Option<usize>,
    code_bytecode: usize,
    /// `PyObject.ob_type`.
    object_type: usize,
    /// `PyASCIIObject.length`, `.state` (bit field: interned:2, kind:3, compact:1, ascii:1, the
    /// same bits from 3.11 to 3.15), and `sizeof(PyASCIIObject)`, where a compact ASCII string's
    /// characters start. A compact non-ASCII string then has `utf8_length`, `utf8`, (3.11 only:
    /// `wstr_length`) and its characters.
    str_length: usize,
    str_state: usize,
    ascii_size: usize,
    compact_size: usize,
}

/// 3.11 on 64-bit targets (see the module documentation).
const LAYOUT_3_11: Layout = Layout {
    cframe: Some(56),
    current_frame: 8,
    frame_code: 32,
    frame_previous: 48,
    frame_instruction: 56,
    frame_owner: 69,
    code_mask: !0,
    first_entry_owner: None,
    code_filename: 112,
    code_qualname: 128,
    code_firsttraceable: Some(168),
    code_bytecode: 184,
    object_type: 8,
    str_length: 16,
    str_state: 32,
    ascii_size: 48,
    compact_size: 72,
};
/// 3.11's `_PyRuntimeState.gilstate.autoTSSkey` (a `Py_tss_t`: `int _is_initialized`, then the
/// key).
const RUNTIME_AUTO_TSS_KEY_3_11: usize = 592;
const TSS_KEY_IN_TSS: usize = 4;
/// 3.11's `_PyRuntimeState.gilstate.tstate_current` (an `_Py_atomic_address`: the thread state
/// holding the GIL, or 0) and `PyThreadState.thread_id` (an `unsigned long`, what
/// `PyThread_get_thread_ident`, i.e. `pthread_self`, returned for the thread that made it).
/// Both from the DWARF of Debian's `python3.11` and `python3.11-dbg` and an ASan debug build.
const RUNTIME_TSTATE_CURRENT_3_11: usize = 576;
const THREAD_STATE_THREAD_ID_3_11: usize = 152;

/// Where one version's `_Py_DebugOffsets` (the first member of `_PyRuntime`) keeps the offsets
/// the reader needs: positions in bytes from its start, every field a `uint64_t`. From the DWARF
/// of each version's interpreter (`ptype /o struct _Py_DebugOffsets`): the struct grows from one
/// version to the next (3.14 adds fields to the interpreter and frame sections, 3.15 to the
/// thread state's, and a section between it and the frame's), and only its `version` (the
/// interpreter's `PY_VERSION_HEX`) says which one it is. Each section starts with the size of
/// the structure it describes, which bounds the section's offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DebugOffsets {
    /// `sizeof(_Py_DebugOffsets)`.
    size: usize,
    /// `free_threaded` (1 in a `--disable-gil` build).
    free_threaded: usize,
    thread_state: Section<1>,
    /// `previous`, `executable`, `instr_ptr`, `owner`.
    frame: Section<4>,
    /// `filename`, `qualname`, `co_code_adaptive`.
    code: Section<3>,
    /// `ob_type`.
    object: Section<1>,
    /// `state`, `length`, `asciiobject_size`.
    unicode: Section<3>,
    /// `compactunicodeobject_size` (3.15); before, `utf8_length` and `utf8` follow the ASCII
    /// header (no `wstr` since 3.12).
    unicode_compact_size: Option<usize>,
    first_entry_owner: u8,
    /// `Py_TAG_BITS` of the executable's `_PyStackRef` (0: a plain pointer).
    tag_bits: usize,
    /// A free-threaded build is refused: from 3.14 its frames run thread-local copies of the
    /// bytecode (`tlbc_index`), not `co_code_adaptive`, so the instruction would be wrong.
    refuse_free_threaded: bool,
}

/// Where a section of `_Py_DebugOffsets` keeps its structure's size and the fields read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Section<const N: usize> {
    size: usize,
    fields: [usize; N],
}

const COOKIE: &[u8; 8] = b"xdebugpy";
/// `_Py_DebugOffsets.version`, after the cookie, in every version.
const DEBUG_OFFSETS_VERSION: usize = 8;

/// 3.13's (`Include/internal/pycore_runtime.h`).
const DEBUG_OFFSETS_3_13: DebugOffsets = DebugOffsets {
    size: 584,
    free_threaded: 16,
    thread_state: Section { size: 152, fields: [184] },
    frame: Section { size: 224, fields: [232, 240, 248, 264] },
    code: Section { size: 272, fields: [280, 296, 344] },
    object: Section { size: 352, fields: [360] },
    unicode: Section { size: 536, fields: [544, 552, 560] },
    unicode_compact_size: None,
    first_entry_owner: 3,
    tag_bits: 0,
    refuse_free_threaded: false,
};

/// 3.14's (`Include/internal/pycore_debug_offsets.h`). 3.14 tags `f_executable`
/// (`Py_TAG_BITS`, 1 in a default build, 3 in a free-threaded one: the object is at least
/// 8-aligned, so masking both is right for either).
const DEBUG_OFFSETS_3_14: DebugOffsets = DebugOffsets {
    size: 760,
    free_threaded: 16,
    thread_state: Section { size: 176, fields: [208] },
    frame: Section { size: 248, fields: [256, 264, 272, 288] },
    code: Section { size: 312, fields: [320, 336, 384] },
    object: Section { size: 400, fields: [408] },
    unicode: Section { size: 616, fields: [624, 632, 640] },
    unicode_compact_size: None,
    first_entry_owner: 3,
    tag_bits: 3,
    refuse_free_threaded: true,
};

/// 3.15's (`Include/internal/pycore_debug_offsets.h`).
const DEBUG_OFFSETS_3_15: DebugOffsets = DebugOffsets {
    size: 888,
    free_threaded: 16,
    thread_state: Section { size: 176, fields: [208] },
    frame: Section { size: 312, fields: [320, 328, 336, 352] },
    code: Section { size: 376, fields: [384, 400, 448] },
    object: Section { size: 464, fields: [472] },
    unicode: Section { size: 712, fields: [720, 728, 736] },
    unicode_compact_size: Some(744),
    first_entry_owner: 3,
    tag_bits: 3,
    refuse_free_threaded: true,
};

/// The `_Py_DebugOffsets` description of CPython `major.minor`, when the reader has one.
fn debug_offsets(major: u64, minor: u64) -> Option<&'static DebugOffsets> {
    match (major, minor) {
        (3, 13) => Some(&DEBUG_OFFSETS_3_13),
        (3, 14) => Some(&DEBUG_OFFSETS_3_14),
        (3, 15) => Some(&DEBUG_OFFSETS_3_15),
        _ => None,
    }
}

/// Where the thread's innermost Python frame is: its code object and the index of the
/// instruction it executes (what identifies the line), and the addresses of the code object's
/// `co_filename` and `co_qualname`. The code object's address alone would not do as a key: once
/// it is freed, another code object (another file, another function) can be made at the same
/// address, and its allocations would count at the first one's site, under its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    pub code: usize,
    pub instruction: usize,
    pub filename: usize,
    pub qualname: usize,
}

impl Location {
    /// No frame: what output arrays start filled with.
    pub const NONE: Location = Location { code: 0, instruction: 0, filename: 0, qualname: 0 };

    /// The words that identify the location in a site's key.
    pub fn key_words(&self) -> [u64; 4] {
        [self.code as u64, self.instruction as u64, self.filename as u64, self.qualname as u64]
    }
}

/// A [`Location`] in words: what the harness reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// -1 when the code object has no line for the instruction.
    pub line: i64,
    /// `co_filename`, or `?` when it could not be read.
    pub file: Vec<u8>,
    /// `co_qualname`, or `?`.
    pub function: Vec<u8>,
}

/// How the calling thread's `PyThreadState` is found.
#[derive(Debug, Clone, Copy)]
enum ThreadState {
    /// 3.11: the state at `current` (the address of `gilstate.tstate_current`) when it is this
    /// thread's, else the value of the runtime's `autoTSSkey`. `current` is `None` when
    /// `prepare` could not vouch for it: the key alone, as before subinterpreters were told.
    Key { key: libc::pthread_key_t, current: Option<usize> },
    /// 3.13+: `attached` (`PyThreadState_GetUnchecked()`, a thread-local read), else `bound`
    /// (`PyGILState_GetThisThreadState()`) while the thread has released the GIL.
    Getter { attached: unsafe extern "C" fn() -> *mut c_void, bound: Option<unsafe extern "C" fn() -> *mut c_void> },
}

/// The reader, once [`prepare`] vouched for the layout.
#[derive(Debug)]
pub struct Reader {
    layout: Layout,
    thread_state: ThreadState,
    code_type: usize,
    addr2line: unsafe extern "C" fn(code: *mut PyObject, offset: c_int) -> c_int,
}

/// Why Python frames cannot be read in this process (told to the harness once, see
/// `crate::attribution`). Words and numbers, no allocated text: it is made at a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// A symbol the reader needs is not exported; the text says which.
    Missing(&'static str),
    KeyNotInitialised,
    Version {
        major: u64,
        minor: u64,
    },
    ForeignThreadState {
        found: usize,
        expected: usize,
    },
    NoCode {
        major: u64,
        minor: u64,
    },
    NoDebugOffsets {
        major: u64,
        minor: u64,
        published: u64,
    },
    ImplausibleDebugOffsets,
    FreeThreaded {
        major: u64,
        minor: u64,
    },
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Unreadable::Missing(what) => f.write_str(what),
            Unreadable::KeyNotInitialised => f.write_str("the runtime's thread-state key is not initialised"),
            Unreadable::Version { major, minor } => {
                write!(f, "CPython {major}.{minor}: the shim knows the frame layouts of 3.11 and 3.13 to 3.15 only")
            }
            Unreadable::ForeignThreadState { found, expected } => {
                write!(f, "the thread state found is not this thread's ({found:#x}, not {expected:#x})")
            }
            Unreadable::NoCode { major, minor } => {
                write!(f, "no code object in the current frame where CPython {major}.{minor} keeps it")
            }
            Unreadable::NoDebugOffsets { major, minor, published } => {
                write!(f, "_PyRuntime does not start with {major}.{minor}'s _Py_DebugOffsets (version {published:#x})")
            }
            Unreadable::ImplausibleDebugOffsets => f.write_str("implausible _Py_DebugOffsets"),
            Unreadable::FreeThreaded { major, minor } => write!(
                f,
                "CPython {major}.{minor} free-threaded: its frames run thread-local bytecode, which the shim does not read"
            ),
        }
    }
}

static READER: OnceLock<Result<Reader, Unreadable>> = OnceLock::new();

/// The reader, or why there is none; `None` before [`prepare`] ran.
pub fn reader() -> Option<&'static Result<Reader, Unreadable>> {
    READER.get()
}

/// Look the layout up and check it against the running interpreter. Idempotent.
///
/// # Safety
/// The calling thread holds the GIL and is running Python code (the `-R` marker calls this),
/// so that it has a current frame.
pub unsafe fn prepare() -> &'static Result<Reader, Unreadable> {
    // SAFETY: forwarded from the caller.
    READER.get_or_init(|| unsafe { check_layout() })
}

fn symbol(name: &CStr) -> Option<usize> {
    crate::pyapi::lookup(name).map(|address| address as usize)
}

/// `PyThreadState *(void)` at `address`.
///
/// # Safety
/// `address` is such a function.
unsafe fn getter(address: usize) -> unsafe extern "C" fn() -> *mut c_void {
    // SAFETY: forwarded from the caller.
    unsafe { std::mem::transmute::<*const c_void, unsafe extern "C" fn() -> *mut c_void>(address as *const c_void) }
}

/// # Safety
/// As for [`prepare`].
unsafe fn check_layout() -> Result<Reader, Unreadable> {
    let missing = Unreadable::Missing;
    let version = symbol(c"Py_Version").ok_or(missing("no Py_Version symbol (CPython before 3.11)"))?;
    // SAFETY: `Py_Version` is a `const unsigned long` in 3.11+, 64 bits on the 64-bit targets
    // these offsets are for.
    let version = unsafe { *(version as *const u64) };
    let (major, minor) = (version >> 24 & 0xff, version >> 16 & 0xff);
    let runtime = symbol(c"_PyRuntime").ok_or(missing("no _PyRuntime symbol"))?;
    let code_type = symbol(c"PyCode_Type").ok_or(missing("no PyCode_Type symbol"))?;
    let addr2line = symbol(c"PyCode_Addr2Line").ok_or(missing("no PyCode_Addr2Line symbol"))?;
    let (layout, thread_state, expected) = match (major, minor) {
        (3, 11) => {
            // SAFETY: `_PyRuntime` is 3.11's `_PyRuntimeState`; the `Py_tss_t` is two ints in it.
            let (initialised, key) = unsafe {
                let tss = runtime + RUNTIME_AUTO_TSS_KEY_3_11;
                (*(tss as *const c_int), *((tss + TSS_KEY_IN_TSS) as *const libc::pthread_key_t))
            };
            if initialised != 1 {
                return Err(Unreadable::KeyNotInitialised);
            }
            let unchecked =
                symbol(c"_PyThreadState_UncheckedGet").ok_or(missing("no _PyThreadState_UncheckedGet symbol"))?;
            // SAFETY: `_PyThreadState_UncheckedGet` is `PyThreadState *(void)`.
            let expected = unsafe { getter(unchecked)() } as usize;
            // The current state is believed only where it is where 3.11 keeps it and names this
            // thread (the GIL is held: it is this thread's).
            let current = runtime + RUNTIME_TSTATE_CURRENT_3_11;
            // SAFETY: both fields of 3.11's structures; `expected` is this thread's live state.
            let vouched = expected != 0
                && unsafe {
                    load(current) == expected && load(expected + THREAD_STATE_THREAD_ID_3_11) == this_thread()
                };
            (LAYOUT_3_11, ThreadState::Key { key, current: vouched.then_some(current) }, expected)
        }
        _ => {
            let fields = debug_offsets(major, minor).ok_or(Unreadable::Version { major, minor })?;
            // SAFETY: `_PyRuntime` starts with `_Py_DebugOffsets` from 3.13 on (checked by its
            // cookie and version before any other field is believed).
            let layout = unsafe { layout_from_runtime(runtime, version, fields) }?;
            let get = symbol(c"PyThreadState_GetUnchecked").ok_or(missing("no PyThreadState_GetUnchecked symbol"))?;
            // SAFETY: `PyThreadState_GetUnchecked` is `PyThreadState *(void)` from 3.13 on.
            let get = unsafe { getter(get) };
            // SAFETY: `PyGILState_GetThisThreadState` is `PyThreadState *(void)`, which reads the
            // runtime's `autoTSSkey` (`pthread_getspecific`) with or without the GIL.
            let bound = symbol(c"PyGILState_GetThisThreadState").map(|f| unsafe { getter(f) });
            // SAFETY: as above; the GIL is held.
            (layout, ThreadState::Getter { attached: get, bound }, unsafe { get() } as usize)
        }
    };
    let reader = Reader {
        layout,
        thread_state,
        code_type,
        // SAFETY: `PyCode_Addr2Line` is `int (PyCodeObject *, int)` from 3.11 to 3.15.
        addr2line: unsafe {
            std::mem::transmute::<*const c_void, unsafe extern "C" fn(*mut PyObject, c_int) -> c_int>(
                addr2line as *const c_void,
            )
        },
    };
    let found = reader.thread_state();
    if expected == 0 || expected != found {
        return Err(Unreadable::ForeignThreadState { found, expected });
    }
    let mut one = [Location::NONE];
    // SAFETY: `found` is this thread's live PyThreadState, of the version `layout` describes.
    if unsafe { reader.stack(found, &mut one) } != 1 {
        return Err(Unreadable::NoCode { major, minor });
    }
    Ok(reader)
}

/// The layout of 3.13 and later, from the `_Py_DebugOffsets` at the start of `_PyRuntime`.
///
/// # Safety
/// `runtime` is `_PyRuntime` of an interpreter of the version `fields` describes (it starts
/// with `_Py_DebugOffsets` and is larger than it).
unsafe fn layout_from_runtime(runtime: usize, version: u64, fields: &DebugOffsets) -> Result<Layout, Unreadable> {
    // SAFETY: `_PyRuntime` is a `_PyRuntimeState` at least `fields.size` long (hundreds of
    // kilobytes), whatever its first bytes hold.
    let published = unsafe { std::slice::from_raw_parts(runtime as *const u8, fields.size) };
    layout_from_debug_offsets(published, version, fields)
}

/// The layout a `_Py_DebugOffsets` (`published`, its bytes) gives, read where `fields` says,
/// once its cookie and version say it is the `version` interpreter's. Offsets past the end of
/// the structure they are in (its size, which the same section publishes) are refused.
fn layout_from_debug_offsets(published: &[u8], version: u64, fields: &DebugOffsets) -> Result<Layout, Unreadable> {
    let (major, minor) = (version >> 24 & 0xff, version >> 16 & 0xff);
    let word = |at: usize| -> Option<usize> {
        let bytes = published.get(at..at.checked_add(8)?)?;
        usize::try_from(u64::from_ne_bytes(bytes.try_into().ok()?)).ok()
    };
    let version_published = word(DEBUG_OFFSETS_VERSION).unwrap_or(0) as u64;
    if published.get(..8) != Some(&COOKIE[..]) || version_published != version {
        return Err(Unreadable::NoDebugOffsets { major, minor, published: version_published });
    }
    if fields.refuse_free_threaded && word(fields.free_threaded) != Some(0) {
        return Err(Unreadable::FreeThreaded { major, minor });
    }
    /// Sizes above this are garbage (the largest structure read, `PyThreadState`, is under 1 KiB).
    const MAX_SIZE: usize = 1 << 16;
    fn section<const N: usize>(word: &impl Fn(usize) -> Option<usize>, s: &Section<N>) -> Option<[usize; N]> {
        let size = word(s.size).filter(|&size| size <= MAX_SIZE)?;
        let mut out = [0; N];
        for (out, &field) in out.iter_mut().zip(&s.fields) {
            *out = word(field).filter(|&offset| offset <= size)?;
        }
        Some(out)
    }
    let implausible = Unreadable::ImplausibleDebugOffsets;
    let [current_frame] = section(&word, &fields.thread_state).ok_or(implausible)?;
    let [previous, executable, instr_ptr, owner] = section(&word, &fields.frame).ok_or(implausible)?;
    let [filename, qualname, bytecode] = section(&word, &fields.code).ok_or(implausible)?;
    let [ob_type] = section(&word, &fields.object).ok_or(implausible)?;
    let [state, length, ascii_size] = section(&word, &fields.unicode).ok_or(implausible)?;
    let compact_size = match fields.unicode_compact_size {
        Some(at) => word(at).filter(|&size| size <= MAX_SIZE).ok_or(implausible)?,
        None => ascii_size + 16,
    };
    Ok(Layout {
        cframe: None,
        current_frame,
        frame_code: executable,
        frame_previous: previous,
        frame_instruction: instr_ptr,
        frame_owner: owner,
        code_mask: !fields.tag_bits,
        first_entry_owner: Some(fields.first_entry_owner),
        code_filename: filename,
        code_qualname: qualname,
        code_firsttraceable: None,
        code_bytecode: bytecode,
        object_type: ob_type,
        str_length: length,
        str_state: state,
        ascii_size,
        compact_size,
    })
}

/// The calling thread's id as CPython 3.11 records it (`PyThread_get_thread_ident`).
#[inline(always)]
fn this_thread() -> usize {
    // SAFETY: no precondition.
    unsafe { libc::pthread_self() as usize }
}

/// # Safety
/// `address` is readable for 8 bytes.
#[inline(always)]
unsafe fn load(address: usize) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { *(address as *const usize) }
}

impl Reader {
    /// The calling thread's `PyThreadState`, or 0.
    #[inline(always)]
    fn thread_state(&self) -> usize {
        match self.thread_state {
            ThreadState::Key { key, current } => {
                // SAFETY: pthread_getspecific accepts any key; CPython stores this thread's own
                // state under it (checked in `prepare`) and clears it before freeing that state.
                let own = unsafe { libc::pthread_getspecific(key) as usize };
                let Some(current) = current else { return own };
                // SAFETY: `gilstate.tstate_current` (checked in `prepare`), an atomic word.
                let current = unsafe { (*(current as *const AtomicUsize)).load(Ordering::Relaxed) };
                if current == 0 || current == own {
                    return own;
                }
                // Another interpreter's state of this thread, or another thread's (holding the
                // GIL while this one allocates without it). A state of another thread may be
                // freed meanwhile: CPython clears `tstate_current` before it frees a state, and
                // a freed state is a small block of the C heap, which stays mapped (the debug
                // allocator fills it with 0xDD first), so the read cannot fault, and a state
                // freed reads as another thread's (reused for a state of this thread, it is a
                // live state of this thread). This thread's own state lives while it runs.
                // SAFETY: as just said.
                let thread =
                    unsafe { std::ptr::read_volatile((current + THREAD_STATE_THREAD_ID_3_11) as *const usize) };
                if thread == this_thread() {
                    current
                } else {
                    own
                }
            }
            ThreadState::Getter { attached, bound } => {
                // SAFETY: a thread-local read with no precondition (checked in `prepare`).
                let attached = unsafe { attached() as usize };
                match bound {
                    // SAFETY: `pthread_getspecific` of the runtime's key: this thread's own
                    // state, which CPython unbinds before it frees it.
                    Some(bound) if attached == 0 => unsafe { bound() as usize },
                    _ => attached,
                }
            }
        }
    }

    /// Up to `out.len()` of the calling thread's Python frames, innermost first; how many (0
    /// when it has no thread state or runs no Python).
    #[inline(always)]
    pub fn current(&self, out: &mut [Location]) -> usize {
        let tstate = self.thread_state();
        // SAFETY: `tstate` is 0 or this thread's live thread state.
        unsafe { self.stack(tstate, out) }
    }

    /// Up to `out.len()` complete frames of the thread whose `PyThreadState` is `tstate`,
    /// innermost first; returns how many. Frames still being set up
    /// (`_PyFrame_IsIncomplete`), C-stack entry frames and frames that run no code object are
    /// skipped.
    ///
    /// # Safety
    /// `tstate` is 0 or the calling thread's own live `PyThreadState`, of the version
    /// `self.layout` describes.
    #[inline(always)]
    unsafe fn stack(&self, tstate: usize, out: &mut [Location]) -> usize {
        let l = &self.layout;
        if tstate == 0 || out.is_empty() {
            return 0;
        }
        // SAFETY: the caller's thread state and its frames, which live while this thread runs
        // in them (a caller's frame outlives its callee's); the layout's offsets.
        unsafe {
            let holder = match l.cframe {
                Some(cframe) => load(tstate + cframe),
                None => tstate,
            };
            if holder == 0 {
                return 0;
            }
            let mut frame = load(holder + l.current_frame);
            let mut n = 0;
            let mut skipped = 0;
            while frame != 0 && n < out.len() && skipped <= MAX_SKIPPED {
                let code = load(frame + l.frame_code) & l.code_mask;
                let instruction = load(frame + l.frame_instruction);
                let owner = *((frame + l.frame_owner) as *const u8);
                let bytecode = code + l.code_bytecode;
                let entry = l.first_entry_owner.is_some_and(|first| owner >= first);
                let is_code = !entry && code != 0 && load(code + l.object_type) == self.code_type;
                let incomplete = is_code
                    && owner != OWNED_BY_GENERATOR
                    && l.code_firsttraceable.is_some_and(|first| {
                        let first = *((code + first) as *const c_int) as usize;
                        instruction < bytecode + first * CODE_UNIT
                    });
                if is_code && !incomplete {
                    // The pointer may sit one unit before the first instruction (a generator
                    // about to run its first one); that instruction's line is as good.
                    out[n] = Location {
                        code,
                        instruction: instruction.saturating_sub(bytecode) / CODE_UNIT,
                        filename: load(code + l.code_filename),
                        qualname: load(code + l.code_qualname),
                    };
                    n += 1;
                } else {
                    skipped += 1;
                }
                frame = load(frame + l.frame_previous);
            }
            n
        }
    }

    /// File, function and line of `location`; `Err` when their copies cannot be allocated.
    ///
    /// # Safety
    /// `location` came from [`Reader::current`] on this thread, which is still running in that
    /// frame or one it called (so its code object is alive).
    pub unsafe fn resolve(&self, location: Location) -> Result<Resolved, OutOfMemory> {
        let offset = c_int::try_from(location.instruction * CODE_UNIT).unwrap_or(c_int::MAX);
        // SAFETY: a live code object; PyCode_Addr2Line only reads its line table.
        let line = unsafe { (self.addr2line)(location.code as *mut PyObject, offset) };
        // SAFETY: the code object's name fields are live `str` objects.
        let (file, function) = unsafe {
            (
                str_bytes(&self.layout, load(location.code + self.layout.code_filename)),
                str_bytes(&self.layout, load(location.code + self.layout.code_qualname)),
            )
        };
        Ok(Resolved {
            line: i64::from(line),
            file: file.unwrap_or_else(|| try_vec_from(b"?"))?,
            function: function.unwrap_or_else(|| try_vec_from(b"?"))?,
        })
    }
}

/// The UTF-8 bytes of a compact `str` (every string a code object holds is one), read from
/// its memory: its cached UTF-8 when CPython made one, else its characters, ASCII as they are,
/// Latin-1 (kind 1), UCS-2 (kind 2) and UCS-4 (kind 4) encoded here. At most [`MAX_NAME`]
/// bytes, cut before a character that would not fit. `None` for a string that is not compact
/// or of no known kind; `Some(Err)` when the copy cannot be allocated.
///
/// # Safety
/// `obj` is 0 or a live `str` of the version `l` describes.
unsafe fn str_bytes(l: &Layout, obj: usize) -> Option<Result<Vec<u8>, OutOfMemory>> {
    if obj == 0 {
        return None;
    }
    // SAFETY: the fields of a live PyASCIIObject / PyCompactUnicodeObject (the layout's): the
    // `state` bits (interned:2, kind:3, compact:1, ascii:1) are the same from 3.11 to 3.15; a
    // compact ASCII string's characters follow the PyASCIIObject, a compact non-ASCII string's
    // `utf8_length` and `utf8` follow it and its characters (`length` of them, `kind` bytes
    // each) the PyCompactUnicodeObject.
    unsafe {
        let length = usize::try_from(*((obj + l.str_length) as *const isize)).ok()?;
        let state = *((obj + l.str_state) as *const u32);
        let (kind, compact, ascii) = ((state >> 2) & 7, (state >> 5) & 1 == 1, (state >> 6) & 1 == 1);
        if !compact {
            return None;
        }
        if ascii {
            let chars = std::slice::from_raw_parts((obj + l.ascii_size) as *const u8, length.min(MAX_NAME));
            return Some(try_vec_from(chars));
        }
        let utf8 = load(obj + l.ascii_size + 8);
        if utf8 != 0 {
            let utf8_length = usize::try_from(*((obj + l.ascii_size) as *const isize)).ok()?;
            let utf8 = std::slice::from_raw_parts(utf8 as *const u8, utf8_length);
            return Some(try_vec_from(&utf8[..utf8_prefix(utf8, MAX_NAME)]));
        }
        if !matches!(kind, 1 | 2 | 4) {
            return None;
        }
        // A character takes at least one byte of UTF-8: no more than MAX_NAME of them are read.
        let kind = kind as usize;
        let chars = std::slice::from_raw_parts((obj + l.compact_size) as *const u8, length.min(MAX_NAME) * kind);
        Some(code_points_to_utf8(code_points(chars, kind), MAX_NAME))
    }
}

/// The code points of `chars`, `kind` bytes each in the machine's order (a compact `str`'s
/// characters: 1, Latin-1; 2, UCS-2; 4, UCS-4), read unaligned.
fn code_points(chars: &[u8], kind: usize) -> impl Iterator<Item = u32> + Clone + '_ {
    chars.chunks_exact(kind).map(|c| match *c {
        [b] => u32::from(b),
        [a, b] => u32::from(u16::from_ne_bytes([a, b])),
        [a, b, c, d] => u32::from_ne_bytes([a, b, c, d]),
        _ => u32::MAX,
    })
}

/// The code point `c` as a character: U+FFFD for one that is no Unicode scalar value (a lone
/// surrogate, which a `str` may hold, or a value above U+10FFFF, which it may not).
fn scalar(c: u32) -> char {
    char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// `code_points` as UTF-8, at most `bound` bytes: the characters that fit whole, the first
/// that would not and those after it left out. One allocation, of the exact size.
fn code_points_to_utf8(code_points: impl Iterator<Item = u32> + Clone, bound: usize) -> Result<Vec<u8>, OutOfMemory> {
    let (mut size, mut count) = (0, 0);
    for c in code_points.clone() {
        let len = scalar(c).len_utf8();
        if size + len > bound {
            break;
        }
        size += len;
        count += 1;
    }
    let mut utf8 = Vec::new();
    utf8.try_reserve_exact(size)?;
    for c in code_points.take(count) {
        let mut char_utf8 = [0u8; 4];
        utf8.extend_from_slice(scalar(c).encode_utf8(&mut char_utf8).as_bytes());
    }
    Ok(utf8)
}

/// How many bytes of `utf8` to keep for at most `bound`: all when they fit, else `bound`,
/// moved back to the start of the character it would cut (past the character's continuation
/// bytes, 0b10xxxxxx, before the cut).
fn utf8_prefix(utf8: &[u8], bound: usize) -> usize {
    if utf8.len() <= bound {
        return utf8.len();
    }
    let mut end = bound;
    while end > 0 && bound - end < 3 && utf8[end] & 0xc0 == 0x80 {
        end -= 1;
    }
    if utf8[end] & 0xc0 == 0x80 {
        // Not UTF-8 after all (more than three continuation bytes): the bound, as bytes.
        return bound;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zeroed, 8-aligned buffer standing in for CPython's memory.
    fn memory(words: usize) -> Vec<u64> {
        vec![0; words]
    }

    fn put<T: Copy>(buf: &mut [u64], offset: usize, value: T) {
        let base = buf.as_mut_ptr() as usize;
        assert!(offset + std::mem::size_of::<T>() <= buf.len() * 8);
        // SAFETY: in bounds (checked above) of a buffer we own; unaligned writes allowed.
        unsafe { std::ptr::write_unaligned((base + offset) as *mut T, value) };
    }

    /// A compact `str` with `state` bits and `data` at `data_offset`.
    fn string(l: &Layout, state: u32, length: isize, data_offset: usize, data: &[u8]) -> Vec<u64> {
        let mut s = memory(32.max((data_offset + data.len()).div_ceil(8)));
        put(&mut s, l.str_length, length);
        put(&mut s, l.str_state, state);
        for (i, &b) in data.iter().enumerate() {
            put(&mut s, data_offset + i, b);
        }
        s
    }

    const COMPACT: u32 = 1 << 5;
    const ASCII: u32 = 1 << 6;

    /// 3.13's layout as its `_Py_DebugOffsets` give it on x86_64 (see `layout_from_debug_offsets`).
    const LAYOUT_3_13: Layout = Layout {
        cframe: None,
        current_frame: 72,
        frame_code: 0,
        frame_previous: 8,
        frame_instruction: 56,
        frame_owner: 70,
        code_mask: !0,
        first_entry_owner: Some(3),
        code_filename: 112,
        code_qualname: 128,
        code_firsttraceable: None,
        code_bytecode: 200,
        object_type: 8,
        str_length: 16,
        str_state: 32,
        ascii_size: 40,
        compact_size: 56,
    };

    /// 3.14's and 3.15's layout on x86_64 (the same), from the DWARF of Debian's `python3.14d`
    /// and `python3.15d` (`ptype /o` of `_PyInterpreterFrame`, `PyCodeObject`,
    /// `PyThreadState`, `PyASCIIObject`, `PyCompactUnicodeObject`).
    const LAYOUT_3_14: Layout = Layout {
        cframe: None,
        current_frame: 72,
        frame_code: 0,
        frame_previous: 8,
        frame_instruction: 56,
        frame_owner: 74,
        code_mask: !3,
        first_entry_owner: Some(3),
        code_filename: 112,
        code_qualname: 128,
        code_firsttraceable: None,
        code_bytecode: 208,
        object_type: 8,
        str_length: 16,
        str_state: 32,
        ascii_size: 40,
        compact_size: 56,
    };

    /// The `_Py_DebugOffsets` of a real interpreter (`harness/tests/data/debug_offsets`), its
    /// `PY_VERSION_HEX` and the description of its version.
    fn published(version: &str) -> (Vec<u8>, u64, &'static DebugOffsets) {
        let hex = match version {
            "3.13.5" => include_str!("../../harness/tests/data/debug_offsets/3.13.5.hex"),
            "3.14.10" => include_str!("../../harness/tests/data/debug_offsets/3.14.10.hex"),
            "3.15.2" => include_str!("../../harness/tests/data/debug_offsets/3.15.2.hex"),
            _ => unreachable!(),
        };
        let hex: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        let bytes = hex
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect::<Vec<u8>>();
        let numbers: Vec<u64> = version.split('.').map(|n| n.parse().unwrap()).collect();
        let hex_version = numbers[0] << 24 | numbers[1] << 16 | numbers[2] << 8 | 0xf0;
        (bytes, hex_version, debug_offsets(numbers[0], numbers[1]).unwrap())
    }

    #[test]
    fn real_interpreters_debug_offsets_give_their_layouts() {
        for (version, expected) in [("3.13.5", LAYOUT_3_13), ("3.14.10", LAYOUT_3_14), ("3.15.2", LAYOUT_3_14)] {
            let (bytes, hex_version, fields) = published(version);
            assert_eq!(bytes.len(), fields.size, "{version}");
            assert_eq!(layout_from_debug_offsets(&bytes, hex_version, fields), Ok(expected), "{version}");
        }
    }

    #[test]
    fn debug_offsets_of_another_version_or_build_are_refused() {
        let (mut bytes, version, fields) = published("3.14.10");
        let (major, minor) = (3, 14);
        // Offsets another release published: 3.14.10's are not believed in 3.14.9.
        assert_eq!(
            layout_from_debug_offsets(&bytes, version - 0x100, fields),
            Err(Unreadable::NoDebugOffsets { major, minor, published: version })
        );
        // 3.14's struct is not 3.15's.
        let (_, version_3_15, fields_3_15) = published("3.15.2");
        assert!(matches!(
            layout_from_debug_offsets(&bytes, version_3_15, fields_3_15),
            Err(Unreadable::NoDebugOffsets { .. })
        ));
        // Too short to hold the version, or no cookie: refused without a panic.
        assert!(layout_from_debug_offsets(&bytes[..12], version, fields).is_err());
        let mut no_cookie = bytes.clone();
        no_cookie[0] = b'X';
        assert!(matches!(
            layout_from_debug_offsets(&no_cookie, version, fields),
            Err(Unreadable::NoDebugOffsets { .. })
        ));
        // A field past the end of its structure.
        let mut past = bytes.clone();
        let owner = fields.frame.fields[3];
        past[owner..owner + 8].copy_from_slice(&1000u64.to_ne_bytes());
        assert_eq!(layout_from_debug_offsets(&past, version, fields), Err(Unreadable::ImplausibleDebugOffsets));
        // A free-threaded 3.14 runs thread-local bytecode.
        bytes[fields.free_threaded] = 1;
        assert_eq!(layout_from_debug_offsets(&bytes, version, fields), Err(Unreadable::FreeThreaded { major, minor }));
        // 3.13's free-threaded build reads as before.
        let (mut bytes, version, fields) = published("3.13.5");
        bytes[fields.free_threaded] = 1;
        assert_eq!(layout_from_debug_offsets(&bytes, version, fields), Ok(LAYOUT_3_13));
        assert!(debug_offsets(3, 12).is_none() && debug_offsets(3, 16).is_none());
    }

    #[test]
    fn strings_are_read_in_each_compact_form_of_each_layout() {
        for l in [&LAYOUT_3_11, &LAYOUT_3_13, &LAYOUT_3_14] {
            let ascii = string(l, COMPACT | ASCII | (1 << 2), 7, l.ascii_size, b"test_os");
            // SAFETY: the fake objects are live buffers laid out as `l` says.
            assert_eq!(unsafe { str_bytes(l, ascii.as_ptr() as usize) }, Some(Ok(b"test_os".to_vec())));
            let latin1 = string(l, COMPACT | (1 << 2), 2, l.compact_size, &[b'f', 0xe9]);
            // SAFETY: as above.
            assert_eq!(unsafe { str_bytes(l, latin1.as_ptr() as usize) }, Some(Ok("fé".as_bytes().to_vec())));
            // UCS-2 and UCS-4 without a cached UTF-8 (a code object's names have none).
            let mut ucs2 = string(l, COMPACT | (2 << 2), 1, l.compact_size, &0x43bu16.to_ne_bytes());
            // SAFETY: as above.
            assert_eq!(unsafe { str_bytes(l, ucs2.as_ptr() as usize) }, Some(Ok("л".as_bytes().to_vec())));
            let ucs4 = string(l, COMPACT | (4 << 2), 2, l.compact_size, &units(&["𠀀𠀁"], 4));
            // SAFETY: as above.
            assert_eq!(unsafe { str_bytes(l, ucs4.as_ptr() as usize) }, Some(Ok("𠀀𠀁".as_bytes().to_vec())));
            // A cached UTF-8 is taken as it is.
            let utf8 = "ж".as_bytes().to_vec();
            put(&mut ucs2, l.ascii_size, utf8.len() as isize);
            put(&mut ucs2, l.ascii_size + 8, utf8.as_ptr() as usize);
            // SAFETY: as above; `utf8` outlives the call.
            assert_eq!(unsafe { str_bytes(l, ucs2.as_ptr() as usize) }, Some(Ok(utf8.clone())));
            // Lone surrogates (a `str` may hold them) and what no `str` holds: U+FFFD.
            let ucs2 = string(l, COMPACT | (2 << 2), 3, l.compact_size, &units(&["a", "\\u{d800}", "\\u{dfff}"], 2));
            // SAFETY: as above.
            let read = unsafe { str_bytes(l, ucs2.as_ptr() as usize) };
            assert_eq!(read, Some(Ok("a\u{fffd}\u{fffd}".as_bytes().to_vec())));
            let ucs4 = string(l, COMPACT | (4 << 2), 3, l.compact_size, &units(&["\\u{dc00}", "\\u{110000}", "é"], 4));
            // SAFETY: as above.
            let read = unsafe { str_bytes(l, ucs4.as_ptr() as usize) };
            assert_eq!(read, Some(Ok("\u{fffd}\u{fffd}é".as_bytes().to_vec())));
            // A kind CPython has no compact form of (0 was 3.11's legacy wchar_t kind).
            for kind in [0, 3, 5] {
                let odd = string(l, COMPACT | (kind << 2), 1, l.compact_size, b"abcd");
                // SAFETY: as above.
                assert_eq!(unsafe { str_bytes(l, odd.as_ptr() as usize) }, None, "kind {kind}");
            }
            let legacy = string(l, ASCII, 3, l.ascii_size, b"abc");
            // SAFETY: as above.
            assert_eq!(unsafe { str_bytes(l, legacy.as_ptr() as usize) }, None, "not compact");
            // SAFETY: 0 is handled before any read.
            assert_eq!(unsafe { str_bytes(l, 0) }, None);
        }
    }

    /// The code points written as `tokens` (each a whole string's characters), `kind` bytes
    /// each in the machine's order, as a compact `str` holds them. A token `\u{XXXX}` is that
    /// code point, whether or not it is a Unicode scalar value.
    fn units(tokens: &[&str], kind: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for token in tokens {
            let points: Vec<u32> = match token.strip_prefix("\\u{").and_then(|t| t.strip_suffix('}')) {
                Some(hex) => vec![u32::from_str_radix(hex, 16).unwrap()],
                None => token.chars().map(u32::from).collect(),
            };
            for p in points {
                match kind {
                    1 => out.push(u8::try_from(p).unwrap()),
                    2 => out.extend(u16::try_from(p).unwrap().to_ne_bytes()),
                    _ => out.extend(p.to_ne_bytes()),
                }
            }
        }
        out
    }

    #[test]
    fn long_strings_are_cut_before_the_character_that_would_not_fit() {
        for l in [&LAYOUT_3_11, &LAYOUT_3_13, &LAYOUT_3_14] {
            // (kind, character, characters in the string, characters kept): MAX_NAME is 4096
            // bytes, so 2048 two-byte, 1365 three-byte (4095 bytes) or 1024 four-byte ones.
            for (kind, c, n, kept) in
                [(1u32, "é", 3000, 2048), (2, "日", 2000, 1365), (4, "𠀀", 1100, 1024), (4, "a", 5000, 4096)]
            {
                let chars = units(&[c], kind as usize).repeat(n);
                let s = string(l, COMPACT | (kind << 2), n as isize, l.compact_size, &chars);
                // SAFETY: a fake object laid out as `l` says.
                let read = unsafe { str_bytes(l, s.as_ptr() as usize) }.unwrap().unwrap();
                assert_eq!(read, c.repeat(kept).into_bytes(), "kind {kind} {c}");
                assert!(read.len() <= MAX_NAME);
            }
            // An ASCII one and a cached UTF-8 one: the same bound.
            let ascii = "x".repeat(5000);
            let s = string(l, COMPACT | ASCII | (1 << 2), 5000, l.ascii_size, ascii.as_bytes());
            // SAFETY: as above.
            assert_eq!(unsafe { str_bytes(l, s.as_ptr() as usize) }, Some(Ok(ascii.as_bytes()[..MAX_NAME].to_vec())));
            let cached = "日".repeat(2000);
            let mut s = string(l, COMPACT | (2 << 2), 2000, l.compact_size, &units(&["日"], 2).repeat(2000));
            put(&mut s, l.ascii_size, cached.len() as isize);
            put(&mut s, l.ascii_size + 8, cached.as_ptr() as usize);
            // SAFETY: as above; `cached` outlives the call.
            let read = unsafe { str_bytes(l, s.as_ptr() as usize) }.unwrap().unwrap();
            assert_eq!(read, "日".repeat(1365).into_bytes());
        }
    }

    #[test]
    fn code_points_become_utf8_within_the_bound() {
        let text = "aé日𠀀";
        let points = || text.chars().map(u32::from);
        // Each bound keeps the characters that fit whole.
        let expected = ["", "a", "a", "aé", "aé", "aé", "aé日", "aé日", "aé日", "aé日", "aé日𠀀", "aé日𠀀"];
        for (bound, kept) in expected.iter().enumerate() {
            assert_eq!(code_points_to_utf8(points(), bound), Ok(kept.as_bytes().to_vec()), "bound {bound}");
        }
        // Every kind's code points read back, in the machine's order.
        for kind in [1, 2, 4] {
            let text = match kind {
                1 => "señor ÿ",
                2 => "señor 日本語 \u{ffff}",
                _ => "señor 日本語 𠀀𠀁 \u{10ffff}",
            };
            let chars: Vec<u32> = text.chars().map(u32::from).collect();
            let bytes: Vec<u8> = chars
                .iter()
                .flat_map(|&c| match kind {
                    1 => vec![c as u8],
                    2 => (c as u16).to_ne_bytes().to_vec(),
                    _ => c.to_ne_bytes().to_vec(),
                })
                .collect();
            assert_eq!(code_points(&bytes, kind).collect::<Vec<_>>(), chars, "kind {kind}");
            assert_eq!(code_points_to_utf8(code_points(&bytes, kind), MAX_NAME), Ok(text.as_bytes().to_vec()));
        }
        // Surrogates, lone or paired (a `str` holds two code points, not a pair), and values
        // above U+10FFFF: U+FFFD each, three bytes, counted as such against the bound.
        let odd = [0xd800, 0xdbff, 0xdc00, 0xdfff, 0xd83d, 0xde00, 0x110000, u32::MAX];
        assert_eq!(code_points_to_utf8(odd.into_iter(), MAX_NAME), Ok("\u{fffd}".repeat(8).into_bytes()));
        assert_eq!(code_points_to_utf8(odd.into_iter(), 8), Ok("\u{fffd}".repeat(2).into_bytes()));
        assert_eq!(code_points_to_utf8(std::iter::empty(), MAX_NAME), Ok(Vec::new()));
    }

    #[test]
    fn a_cached_utf8_is_cut_at_a_character_boundary() {
        // 'a' (1 byte), 'é' (2), '日' (3), '𠀀' (4): cuts inside each keep what is before it.
        let text = "aé日𠀀".as_bytes();
        let expected = [0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10];
        for (bound, &kept) in expected.iter().enumerate() {
            assert_eq!(utf8_prefix(text, bound), kept.min(text.len()), "bound {bound}");
        }
        // Not UTF-8 (continuation bytes only): the bound, as bytes, never past it.
        assert_eq!(utf8_prefix(&[0x80; 10], 6), 6);
        assert_eq!(utf8_prefix(&[0x80; 10], 2), 2);
        assert_eq!(utf8_prefix(&[], 0), 0);
    }

    fn reader(layout: Layout, code_type: usize) -> Reader {
        unsafe extern "C" fn no_line(_: *mut PyObject, _: c_int) -> c_int {
            -1
        }
        Reader { layout, thread_state: ThreadState::Key { key: 0, current: None }, code_type, addr2line: no_line }
    }

    /// A fake code object of `code_type`, its first traceable instruction at `first`; its
    /// `co_filename` and `co_qualname` are [`FILENAME`] and [`QUALNAME`] (never read).
    fn code(l: &Layout, code_type: usize, first: c_int) -> Vec<u64> {
        let mut code = memory(64);
        put(&mut code, l.object_type, code_type);
        put(&mut code, l.code_filename, FILENAME);
        put(&mut code, l.code_qualname, QUALNAME);
        if let Some(at) = l.code_firsttraceable {
            put(&mut code, at, first);
        }
        code
    }

    const FILENAME: usize = 0xf11e;
    const QUALNAME: usize = 0x9a3e;

    /// The location the reader should give for `instruction` of the fake code object `code`.
    fn at(code: usize, instruction: usize) -> Location {
        Location { code, instruction, filename: FILENAME, qualname: QUALNAME }
    }

    fn frame(l: &Layout, code: usize, instruction: usize, previous: usize) -> Vec<u64> {
        let mut frame = memory(16);
        put(&mut frame, l.frame_code, code);
        put(&mut frame, l.frame_instruction, code + l.code_bytecode + instruction * CODE_UNIT);
        put(&mut frame, l.frame_previous, previous);
        frame
    }

    /// A thread state whose running frame is `frame` (through a `_PyCFrame` in 3.11).
    fn thread_state(l: &Layout, frame: usize) -> (Vec<u64>, Vec<u64>) {
        let mut tstate = memory(32);
        let mut cframe = memory(4);
        match l.cframe {
            Some(at) => {
                put(&mut cframe, l.current_frame, frame);
                put(&mut tstate, at, cframe.as_ptr() as usize);
            }
            None => put(&mut tstate, l.current_frame, frame),
        }
        (tstate, cframe)
    }

    #[test]
    fn incomplete_frames_are_skipped_for_their_caller_in_3_11() {
        let l = LAYOUT_3_11;
        let code_type = 0xc0de;
        // The inner frame has not reached its first traceable instruction yet.
        let inner_code = code(&l, code_type, 2);
        let outer_code = code(&l, code_type, 0);
        let (inner_base, outer_base) = (inner_code.as_ptr() as usize, outer_code.as_ptr() as usize);
        let outer = frame(&l, outer_base, 5, 0);
        let mut inner = frame(&l, inner_base, 1, outer.as_ptr() as usize);
        let (tstate, _cframe) = thread_state(&l, inner.as_ptr() as usize);
        let r = reader(l, code_type);
        let mut out = [Location::NONE; PYTHON_DEPTH];

        // SAFETY: every pointer followed is one of the live buffers above.
        let n = unsafe { r.stack(tstate.as_ptr() as usize, &mut out) };
        assert_eq!(&out[..n], &[at(outer_base, 5)]);

        // A generator's frame is never incomplete.
        put(&mut inner, l.frame_owner, OWNED_BY_GENERATOR);
        // SAFETY: as above.
        let n = unsafe { r.stack(tstate.as_ptr() as usize, &mut out) };
        assert_eq!(&out[..n], &[at(inner_base, 1), at(outer_base, 5)]);
        // Only as many as asked.
        // SAFETY: as above.
        assert_eq!(unsafe { r.stack(tstate.as_ptr() as usize, &mut out[..1]) }, 1);
        // SAFETY: 0 is handled before any read.
        assert_eq!(unsafe { r.stack(0, &mut out) }, 0);
    }

    #[test]
    fn a_code_object_made_where_a_freed_one_was_is_another_location() {
        let l = LAYOUT_3_11;
        let code_type = 0xc0de;
        let mut reused = code(&l, code_type, 0);
        let base = reused.as_ptr() as usize;
        let running = frame(&l, base, 4, 0);
        let (tstate, _cframe) = thread_state(&l, running.as_ptr() as usize);
        let r = reader(l, code_type);
        let mut before = [Location::NONE; 1];
        // SAFETY: every pointer followed is one of the live buffers above.
        assert_eq!(unsafe { r.stack(tstate.as_ptr() as usize, &mut before) }, 1);
        // Another function of another file, at the same address and instruction.
        put(&mut reused, l.code_filename, 0xf11e2usize);
        put(&mut reused, l.code_qualname, 0x9a3e2usize);
        let mut after = [Location::NONE; 1];
        // SAFETY: as above.
        assert_eq!(unsafe { r.stack(tstate.as_ptr() as usize, &mut after) }, 1);
        assert_eq!((before[0].code, before[0].instruction), (after[0].code, after[0].instruction));
        assert_ne!(before[0].key_words(), after[0].key_words());
    }

    #[test]
    fn entry_frames_and_other_executables_are_skipped_in_3_13() {
        let l = LAYOUT_3_13;
        let code_type = 0xc0de;
        let test_code = code(&l, code_type, 0);
        let base = test_code.as_ptr() as usize;
        let caller = frame(&l, base, 7, 0);
        // The C-stack entry frame between them runs no code.
        let mut entry = frame(&l, base, 0, caller.as_ptr() as usize);
        put(&mut entry, l.frame_owner, 3u8);
        // A frame whose executable is not a code object.
        let not_code = code(&l, 0xbad, 0);
        let odd = frame(&l, not_code.as_ptr() as usize, 0, entry.as_ptr() as usize);
        let running = frame(&l, base, 3, odd.as_ptr() as usize);
        let (tstate, _) = thread_state(&l, running.as_ptr() as usize);
        let r = reader(l, code_type);
        let mut out = [Location::NONE; PYTHON_DEPTH];
        // SAFETY: every pointer followed is one of the live buffers above.
        let n = unsafe { r.stack(tstate.as_ptr() as usize, &mut out) };
        assert_eq!(&out[..n], &[at(base, 3), at(base, 7)]);
    }

    #[test]
    fn tagged_executables_are_read_and_interpreter_frames_skipped_in_3_14() {
        let l = LAYOUT_3_14;
        let code_type = 0xc0de;
        let test_code = code(&l, code_type, 0);
        let base = test_code.as_ptr() as usize;
        // The caller's executable is a deferred reference: its low bit is set.
        let mut caller = frame(&l, base, 7, 0);
        put(&mut caller, l.frame_code, base | 1);
        // The interpreter's entry frame (owner 3), then a C-stack frame (owner 4), run no code.
        let mut entry = frame(&l, base, 0, caller.as_ptr() as usize);
        put(&mut entry, l.frame_owner, 3u8);
        let mut cstack = frame(&l, base, 0, entry.as_ptr() as usize);
        put(&mut cstack, l.frame_owner, 4u8);
        let running = frame(&l, base, 3, cstack.as_ptr() as usize);
        let (tstate, _) = thread_state(&l, running.as_ptr() as usize);
        let r = reader(l, code_type);
        let mut out = [Location::NONE; PYTHON_DEPTH];
        // SAFETY: every pointer followed is one of the live buffers above.
        let n = unsafe { r.stack(tstate.as_ptr() as usize, &mut out) };
        assert_eq!(&out[..n], &[at(base, 3), at(base, 7)]);
    }
}
