//! The innermost Python frame of the allocating thread, read from CPython's own structures in
//! the allocation hook: no GIL, no C API call, no allocation.
//!
//! **How.** The thread's `PyThreadState` is the value of CPython's `autoTSSkey` thread-specific
//! key (what `PyGILState_GetThisThreadState` returns; one `pthread_getspecific`), valid whether
//! or not the thread holds the GIL. From it: `tstate->cframe->current_frame` (the running
//! `_PyInterpreterFrame`), its `f_code` and `prev_instr`, then the callers' through
//! `previous`. Frames still being set up (`_PyFrame_IsIncomplete`) are skipped. A thread only reads its own frames,
//! which stay alive while it runs inside them, so the reads race with nothing.
//!
//! **Which CPython.** 3.11 only: 3.11 has no `_Py_DebugOffsets` (3.13+) and the layout of these
//! internal structs differs in 3.12. The offsets below are `offsetof` results from 3.11's
//! headers (`Include/internal/pycore_{runtime,frame,code}.h`, `Include/cpython/unicodeobject.h`,
//! with `Py_BUILD_CORE`), identical for Debian's `python3.11` and `python3.11-dbg` and for a
//! `--with-pydebug --with-address-sanitizer` build on x86_64; they hold on any 64-bit target.
//! [`prepare`] checks them against the running interpreter with the GIL held (the version,
//! `_PyThreadState_UncheckedGet() == pthread_getspecific(key)`, the current frame's code object
//! being a `PyCode_Type` instance) and turns the reader off, with a reason, when anything
//! disagrees.
//!
//! **What it costs.** In the hook: one `pthread_getspecific` and six loads per frame, for at
//! most [`PYTHON_DEPTH`] frames. File, function and line are looked up once per allocation
//! site ([`Reader::resolve`]), when the site is made, while the code objects are certainly alive
//! (their frames are running).

use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

use crate::pyapi::PyObject;

/// `_PyRuntimeState.gilstate.autoTSSkey` (a `Py_tss_t`: `int _is_initialized`, then the key).
const RUNTIME_AUTO_TSS_KEY: usize = 592;
const TSS_KEY_IN_TSS: usize = 4;
/// `PyThreadState.cframe`.
const TSTATE_CFRAME: usize = 56;
/// `_PyCFrame.current_frame`.
const CFRAME_CURRENT_FRAME: usize = 8;
/// `_PyInterpreterFrame.f_code`, `.previous`, `.prev_instr`, `.owner` (a `char`).
const FRAME_CODE: usize = 32;
const FRAME_PREVIOUS: usize = 48;
const FRAME_PREV_INSTR: usize = 56;
const FRAME_OWNER: usize = 69;
/// `FRAME_OWNED_BY_GENERATOR`: generator frames are never incomplete.
const OWNED_BY_GENERATOR: u8 = 1;
/// `PyCodeObject.co_firstlineno`, `.co_filename`, `.co_qualname`, `._co_firsttraceable`,
/// `.co_code_adaptive` (the bytecode, `_PyCode_CODE`).
const CODE_FILENAME: usize = 112;
const CODE_QUALNAME: usize = 128;
const CODE_FIRSTTRACEABLE: usize = 168;
const CODE_BYTECODE: usize = 184;
/// `sizeof(_Py_CODEUNIT)`.
const CODE_UNIT: usize = 2;
/// `PyObject.ob_type`.
const OBJECT_TYPE: usize = 8;
/// `PyASCIIObject.length`, `.state` (bit field: interned:2, kind:3, compact:1, ascii:1), the
/// size of `PyASCIIObject` (where a compact ASCII string's characters start), and
/// `PyCompactUnicodeObject.utf8_length`, `.utf8`, and its size (where a compact non-ASCII
/// string's characters start).
const STR_LENGTH: usize = 16;
const STR_STATE: usize = 32;
const ASCII_DATA: usize = 48;
const COMPACT_UTF8_LENGTH: usize = 48;
const COMPACT_UTF8: usize = 56;
const COMPACT_DATA: usize = 72;
/// Longest file or function name kept.
const MAX_NAME: usize = 4096;
/// Incomplete frames skipped before giving up.
const MAX_SKIPPED: usize = 8;
/// Python frames recorded per allocation: the running function and a few callers, enough to
/// see which test line reached a library function that allocates.
pub const PYTHON_DEPTH: usize = 4;

/// Where the thread's innermost Python frame is: its code object and the index of the
/// instruction it executes (what identifies the line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    pub code: usize,
    pub instruction: usize,
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

/// The reader, once [`prepare`] vouched for the layout.
#[derive(Debug)]
pub struct Reader {
    key: libc::pthread_key_t,
    addr2line: unsafe extern "C" fn(code: *mut PyObject, offset: c_int) -> c_int,
}

static READER: OnceLock<Result<Reader, String>> = OnceLock::new();

/// The reader, or why there is none; `None` before [`prepare`] ran.
pub fn reader() -> Option<&'static Result<Reader, String>> {
    READER.get()
}

/// Look the layout up and check it against the running interpreter. Idempotent.
///
/// # Safety
/// The calling thread holds the GIL and is running Python code (the `-R` marker calls this),
/// so that it has a current frame.
pub unsafe fn prepare() -> &'static Result<Reader, String> {
    // SAFETY: forwarded from the caller.
    READER.get_or_init(|| unsafe { check_layout() })
}

fn symbol(name: &CStr) -> Option<usize> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name has no preconditions.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!sym.is_null()).then_some(sym as usize)
}

/// # Safety
/// As for [`prepare`].
unsafe fn check_layout() -> Result<Reader, String> {
    let version = symbol(c"Py_Version").ok_or("no Py_Version symbol (CPython before 3.11)")?;
    // SAFETY: `Py_Version` is a `const unsigned long` in 3.11+, 64 bits on the 64-bit targets
    // these offsets are for.
    let version = unsafe { *(version as *const u64) };
    let (major, minor) = (version >> 24 & 0xff, version >> 16 & 0xff);
    if (major, minor) != (3, 11) {
        return Err(format!(
            "CPython {major}.{minor}: the shim knows the frame layout of 3.11 only (3.13+ would read _Py_DebugOffsets)"
        ));
    }
    let runtime = symbol(c"_PyRuntime").ok_or("no _PyRuntime symbol")?;
    let unchecked_get = symbol(c"_PyThreadState_UncheckedGet").ok_or("no _PyThreadState_UncheckedGet symbol")?;
    let code_type = symbol(c"PyCode_Type").ok_or("no PyCode_Type symbol")?;
    let addr2line = symbol(c"PyCode_Addr2Line").ok_or("no PyCode_Addr2Line symbol")?;
    // SAFETY: `_PyRuntime` is the `_PyRuntimeState` whose layout the constants describe (3.11,
    // checked above); the `Py_tss_t` is two ints inside it.
    let (initialised, key) = unsafe {
        let tss = (runtime + RUNTIME_AUTO_TSS_KEY) as *const c_int;
        (*tss, *((runtime + RUNTIME_AUTO_TSS_KEY + TSS_KEY_IN_TSS) as *const libc::pthread_key_t))
    };
    if initialised != 1 {
        return Err("the runtime's thread-state key is not initialised".into());
    }
    // SAFETY: `_PyThreadState_UncheckedGet` is `PyThreadState *(void)` and may be called with
    // the GIL held; pthread_getspecific accepts any key.
    let (expected, found) = unsafe {
        let get: unsafe extern "C" fn() -> *mut c_void = std::mem::transmute(unchecked_get as *const c_void);
        (get() as usize, libc::pthread_getspecific(key) as usize)
    };
    if expected == 0 || expected != found {
        return Err(format!("the thread-state key does not give this thread's state ({found:#x}, not {expected:#x})"));
    }
    // SAFETY: `found` is this thread's live PyThreadState; the offsets are 3.11's.
    let code = unsafe { innermost(found) }.map(|location| location.code);
    // SAFETY: a code object's ob_type is its second word.
    let code_ok = code.is_some_and(|code| unsafe { load(code + OBJECT_TYPE) } == code_type);
    if !code_ok {
        return Err("the current frame does not hold a code object where 3.11 keeps it".into());
    }
    Ok(Reader {
        key,
        // SAFETY: `PyCode_Addr2Line` is `int (PyCodeObject *, int)` in 3.11.
        addr2line: unsafe {
            std::mem::transmute::<*const c_void, unsafe extern "C" fn(*mut PyObject, c_int) -> c_int>(
                addr2line as *const c_void,
            )
        },
    })
}

/// # Safety
/// `address` is readable for 8 bytes.
#[inline(always)]
unsafe fn load(address: usize) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { *(address as *const usize) }
}

/// The innermost complete frame of the thread whose `PyThreadState` is `tstate`.
///
/// # Safety
/// `tstate` is 0 or the calling thread's own live `PyThreadState` of a 3.11 interpreter.
#[inline(always)]
unsafe fn innermost(tstate: usize) -> Option<Location> {
    let mut one = [Location { code: 0, instruction: 0 }];
    // SAFETY: forwarded from the caller.
    (unsafe { stack(tstate, &mut one) } == 1).then_some(one[0])
}

/// Up to `out.len()` complete frames of the thread whose `PyThreadState` is `tstate`, innermost
/// first; returns how many. Frames still being set up (`_PyFrame_IsIncomplete`) are skipped.
///
/// # Safety
/// `tstate` is 0 or the calling thread's own live `PyThreadState` of a 3.11 interpreter.
#[inline(always)]
unsafe fn stack(tstate: usize, out: &mut [Location]) -> usize {
    if tstate == 0 || out.is_empty() {
        return 0;
    }
    // SAFETY: the caller's thread state and its frames, which live while this thread runs in
    // them (a caller's frame outlives its callee's); 3.11 offsets.
    unsafe {
        let cframe = load(tstate + TSTATE_CFRAME);
        if cframe == 0 {
            return 0;
        }
        let mut frame = load(cframe + CFRAME_CURRENT_FRAME);
        let mut n = 0;
        let mut skipped = 0;
        while frame != 0 && n < out.len() && skipped <= MAX_SKIPPED {
            let code = load(frame + FRAME_CODE);
            let prev_instr = load(frame + FRAME_PREV_INSTR);
            let bytecode = code + CODE_BYTECODE;
            let owner = *((frame + FRAME_OWNER) as *const u8);
            let first_traceable = *((code + CODE_FIRSTTRACEABLE) as *const c_int) as usize;
            if owner != OWNED_BY_GENERATOR && prev_instr < bytecode + first_traceable * CODE_UNIT {
                skipped += 1;
            } else {
                // `prev_instr` may sit one unit before the first instruction (a generator
                // about to run its first one); that instruction's line is as good.
                out[n] = Location { code, instruction: prev_instr.saturating_sub(bytecode) / CODE_UNIT };
                n += 1;
            }
            frame = load(frame + FRAME_PREVIOUS);
        }
        n
    }
}

impl Reader {
    /// Up to `out.len()` of the calling thread's Python frames, innermost first; how many (0
    /// when it has no thread state or runs no Python).
    #[inline(always)]
    pub fn current(&self, out: &mut [Location]) -> usize {
        // SAFETY: pthread_getspecific accepts any key; CPython stores this thread's own state
        // under it (checked in `prepare`), and clears it before freeing that state.
        let tstate = unsafe { libc::pthread_getspecific(self.key) } as usize;
        // SAFETY: `tstate` is 0 or this thread's live thread state.
        unsafe { stack(tstate, out) }
    }

    /// File, function and line of `location`.
    ///
    /// # Safety
    /// `location` came from [`Reader::current`] on this thread, which is still running in that
    /// frame or one it called (so its code object is alive).
    pub unsafe fn resolve(&self, location: Location) -> Resolved {
        let offset = c_int::try_from(location.instruction * CODE_UNIT).unwrap_or(c_int::MAX);
        // SAFETY: a live code object; PyCode_Addr2Line only reads its line table.
        let line = unsafe { (self.addr2line)(location.code as *mut PyObject, offset) };
        // SAFETY: the code object's name fields are live `str` objects.
        let (file, function) =
            unsafe { (str_bytes(load(location.code + CODE_FILENAME)), str_bytes(load(location.code + CODE_QUALNAME))) };
        Resolved {
            line: i64::from(line),
            file: file.unwrap_or_else(|| b"?".to_vec()),
            function: function.unwrap_or_else(|| b"?".to_vec()),
        }
    }
}

/// The UTF-8 bytes of a compact `str` (every string a code object holds is one), read from
/// its memory: ASCII and Latin-1 strings directly, others when CPython cached their UTF-8.
///
/// # Safety
/// `obj` is 0 or a live 3.11 `str`.
unsafe fn str_bytes(obj: usize) -> Option<Vec<u8>> {
    if obj == 0 {
        return None;
    }
    // SAFETY: the fields of a live PyASCIIObject / PyCompactUnicodeObject (3.11 layout).
    unsafe {
        let length = usize::try_from(*((obj + STR_LENGTH) as *const isize)).ok()?.min(MAX_NAME);
        let state = *((obj + STR_STATE) as *const u32);
        let (kind, compact, ascii) = ((state >> 2) & 7, (state >> 5) & 1 == 1, (state >> 6) & 1 == 1);
        if !compact {
            return None;
        }
        if ascii {
            return Some(std::slice::from_raw_parts((obj + ASCII_DATA) as *const u8, length).to_vec());
        }
        let utf8 = load(obj + COMPACT_UTF8);
        if utf8 != 0 {
            let utf8_length = usize::try_from(*((obj + COMPACT_UTF8_LENGTH) as *const isize)).ok()?.min(MAX_NAME);
            return Some(std::slice::from_raw_parts(utf8 as *const u8, utf8_length).to_vec());
        }
        if kind == 1 {
            let latin1 = std::slice::from_raw_parts((obj + COMPACT_DATA) as *const u8, length);
            return Some(latin1.iter().map(|&b| char::from(b)).collect::<String>().into_bytes());
        }
        None
    }
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
    fn string(state: u32, length: isize, data_offset: usize, data: &[u8]) -> Vec<u64> {
        let mut s = memory(32);
        put(&mut s, STR_LENGTH, length);
        put(&mut s, STR_STATE, state);
        for (i, &b) in data.iter().enumerate() {
            put(&mut s, data_offset + i, b);
        }
        s
    }

    const COMPACT: u32 = 1 << 5;
    const ASCII: u32 = 1 << 6;

    #[test]
    fn strings_are_read_in_each_compact_form() {
        let ascii = string(COMPACT | ASCII | (1 << 2), 7, ASCII_DATA, b"test_os");
        // SAFETY: the fake objects are live buffers laid out as 3.11 lays out a str.
        assert_eq!(unsafe { str_bytes(ascii.as_ptr() as usize) }.as_deref(), Some(&b"test_os"[..]));
        let latin1 = string(COMPACT | (1 << 2), 2, COMPACT_DATA, &[b'f', 0xe9]);
        // SAFETY: as above.
        assert_eq!(unsafe { str_bytes(latin1.as_ptr() as usize) }.as_deref(), Some("fé".as_bytes()));
        let mut ucs2 = string(COMPACT | (2 << 2), 1, COMPACT_DATA, &[0x3b, 0x04]);
        // SAFETY: as above.
        assert_eq!(unsafe { str_bytes(ucs2.as_ptr() as usize) }, None, "no cached UTF-8: unknown");
        let utf8 = "л".as_bytes().to_vec();
        put(&mut ucs2, COMPACT_UTF8_LENGTH, utf8.len() as isize);
        put(&mut ucs2, COMPACT_UTF8, utf8.as_ptr() as usize);
        // SAFETY: as above; `utf8` outlives the call.
        assert_eq!(unsafe { str_bytes(ucs2.as_ptr() as usize) }, Some(utf8.clone()));
        let legacy = string(ASCII, 3, ASCII_DATA, b"abc");
        // SAFETY: as above.
        assert_eq!(unsafe { str_bytes(legacy.as_ptr() as usize) }, None, "not compact");
        // SAFETY: 0 is handled before any read.
        assert_eq!(unsafe { str_bytes(0) }, None);
    }

    #[test]
    fn incomplete_frames_are_skipped_for_their_caller() {
        // Two code objects and two frames: the inner one has not reached its first traceable
        // instruction yet, so the outer one is the innermost complete frame.
        let mut inner_code = memory(64);
        put(&mut inner_code, CODE_FIRSTTRACEABLE, 2 as c_int);
        let mut outer_code = memory(64);
        put(&mut outer_code, CODE_FIRSTTRACEABLE, 0 as c_int);
        let (inner_base, outer_base) = (inner_code.as_ptr() as usize, outer_code.as_ptr() as usize);
        let mut outer = memory(16);
        put(&mut outer, FRAME_CODE, outer_base);
        put(&mut outer, FRAME_PREV_INSTR, outer_base + CODE_BYTECODE + 5 * CODE_UNIT);
        let mut inner = memory(16);
        put(&mut inner, FRAME_CODE, inner_base);
        put(&mut inner, FRAME_PREV_INSTR, inner_base + CODE_BYTECODE + CODE_UNIT);
        put(&mut inner, FRAME_PREVIOUS, outer.as_ptr() as usize);
        let mut cframe = memory(4);
        put(&mut cframe, CFRAME_CURRENT_FRAME, inner.as_ptr() as usize);
        let mut tstate = memory(16);
        put(&mut tstate, TSTATE_CFRAME, cframe.as_ptr() as usize);

        // SAFETY: every pointer followed is one of the live buffers above.
        let found = unsafe { innermost(tstate.as_ptr() as usize) };
        assert_eq!(found, Some(Location { code: outer_base, instruction: 5 }));

        // A generator's frame is never incomplete.
        put(&mut inner, FRAME_OWNER, OWNED_BY_GENERATOR);
        // SAFETY: as above.
        let found = unsafe { innermost(tstate.as_ptr() as usize) };
        assert_eq!(found, Some(Location { code: inner_base, instruction: 1 }));

        // No frame, no thread state.
        put(&mut cframe, CFRAME_CURRENT_FRAME, 0usize);
        // SAFETY: as above.
        assert_eq!(unsafe { innermost(tstate.as_ptr() as usize) }, None);
        // SAFETY: 0 is handled before any read.
        assert_eq!(unsafe { innermost(0) }, None);
    }
}
