//! Iteration boundaries: the shim learns, from inside the process, when regrtest measures.
//!
//! From the constructor we register a C audit hook (`PySys_AddAuditHook`, documented as safe
//! before `Py_Initialize`; it survives runtime initialisation and needs no `PYTHONPATH`, so it
//! works under `-E`, in `-j` workers and after `run_tests.py`'s `execve`). The hook waits for
//! the `import` event of `test.libregrtest.refleak`, installs the counting hooks, imports that
//! module itself right there (the outer import then finds it in `sys.modules`), and runs
//! `boundaries.py`, which wraps regrtest's `-R` driver so that every measurement regrtest takes
//! calls `mark` first.
//!
//! It does so at every import of that module, not only the first: since 3.12 (and 3.11.7)
//! regrtest imports it lazily, during the first test, and then unloads the `test.*` modules a
//! test imported, so the next test imports a fresh, unpatched copy.
//!
//! `mark` is a `METH_FASTCALL` C function: it reads the counters and appends one record through
//! [`crate::channel`]. It creates no Python object and returns `None`.
//!
//! Every other audit event costs one string comparison.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use crate::attribution;
use crate::channel;
use crate::pyapi::{Api, PyMethodDef, PyObject, METH_FASTCALL, PY_FILE_INPUT};

/// The record kinds `boundaries.py` passes to [`mark`]; the index is the Python-side code.
const KINDS: [&str; 6] = ["begin", "baseline", "measure", "end", "patched", "error"];
const KIND_ERROR: usize = 5;

const REFLEAK_MODULE: &CStr = c"test.libregrtest.refleak";

const WAITING: u8 = 0;
const IMPORTING: u8 = 1;
static PATCH_STATE: AtomicU8 = AtomicU8::new(WAITING);

static API: OnceLock<Api> = OnceLock::new();

static MARK_DEF: PyMethodDef =
    PyMethodDef { name: c"leakcheck_mark".as_ptr(), meth: mark, flags: METH_FASTCALL, doc: std::ptr::null() };

/// Keep the resolved API for the hooks. Called once, from the constructor.
pub fn prepare(api: Api) {
    let _ = API.set(api);
}

/// Register the audit hook. Runs once, on the first MEM/OBJ allocation, i.e. after CPython's
/// pre-initialisation settled the allocators (the hook entry is a RAW block that lives until
/// finalisation; see `crate::startup`) and before the runtime is marked initialised, when the
/// call runs no Python code.
pub fn install() {
    let Some(api) = API.get() else { return };
    // SAFETY: PySys_AddAuditHook may be called before Py_Initialize completes
    // (Doc/c-api/sys.rst); the hook is a 'static function and takes no user data.
    unsafe { (api.add_audit_hook)(audit_hook, std::ptr::null_mut()) };
}

/// Write a record of `kind` with the current counters.
pub fn record(kind: &str, text: &[u8], a: i64, b: i64) {
    let mut line = Vec::with_capacity(192);
    line.extend_from_slice(kind.as_bytes());
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    line.extend_from_slice(format!("\t{pid}\t").as_bytes());
    channel::escape(text, &mut line);
    let (flags, counts) = crate::snapshot();
    line.extend_from_slice(format!("\t{a}\t{b}\t{flags}").as_bytes());
    for (blocks, bytes) in counts {
        line.extend_from_slice(format!("\t{blocks}\t{bytes}").as_bytes());
    }
    line.push(b'\n');
    channel::append(&line);
}

unsafe extern "C" fn audit_hook(event: *const c_char, args: *mut PyObject, _user: *mut c_void) -> c_int {
    if PATCH_STATE.load(Ordering::Relaxed) != WAITING {
        return 0;
    }
    // SAFETY: CPython passes a NUL-terminated event name.
    if unsafe { CStr::from_ptr(event) }.to_bytes() != b"import" {
        return 0;
    }
    let Some(api) = API.get() else { return 0 };
    // SAFETY: audit hooks run with the GIL held; `import` events carry the module name first.
    let name = unsafe { (api.tuple_get_item)(args, 0) };
    // SAFETY: GIL held; `name` is borrowed from the live args tuple (or NULL).
    let is_refleak = unsafe { api.str_bytes(name) } == Some(REFLEAK_MODULE.to_bytes());
    if name.is_null() {
        // SAFETY: GIL held; PyTuple_GetItem set IndexError on an empty tuple.
        unsafe { (api.err_clear)() };
    }
    if !is_refleak {
        return 0;
    }
    PATCH_STATE.store(IMPORTING, Ordering::Relaxed);
    // SAFETY: GIL held.
    unsafe { patch_refleak(api) };
    // Back to waiting: regrtest may unload the module and import it again.
    PATCH_STATE.store(WAITING, Ordering::Relaxed);
    0
}

/// Import `test.libregrtest.refleak` and run `boundaries.py` on it. Leaves no exception set.
///
/// # Safety
/// The GIL is held.
unsafe fn patch_refleak(api: &Api) {
    crate::install_counting_hooks();
    // SAFETY: GIL held. This nested import raises its own `import` event, which the hook
    // ignores because PATCH_STATE is IMPORTING.
    let module = unsafe { (api.import_module)(REFLEAK_MODULE.as_ptr()) };
    if module.is_null() {
        // SAFETY: GIL held. The outer import will fail the same way and regrtest will say so.
        let err = unsafe { api.take_error() };
        record(KINDS[KIND_ERROR], format!("importing {}: {err}", REFLEAK_MODULE.to_string_lossy()).as_bytes(), 0, 0);
        return;
    }
    // SAFETY: GIL held; every reference created here is released below.
    unsafe {
        let globals = (api.dict_new)();
        let mark_fn = (api.cfunction_new)(&MARK_DEF, std::ptr::null_mut(), std::ptr::null_mut());
        let ok = !globals.is_null()
            && !mark_fn.is_null()
            && (api.dict_set_item_string)(globals, c"__builtins__".as_ptr(), (api.eval_get_builtins)()) == 0
            && (api.dict_set_item_string)(globals, c"_refleak".as_ptr(), module) == 0
            && (api.dict_set_item_string)(globals, c"_mark".as_ptr(), mark_fn) == 0;
        if ok {
            let result =
                (api.run_string)(bootstrap_code().as_ptr(), PY_FILE_INPUT, globals, globals, std::ptr::null_mut());
            if result.is_null() {
                let err = api.take_error();
                record(KINDS[KIND_ERROR], format!("boundaries.py: {err}").as_bytes(), 0, 0);
            } else {
                (api.decref)(result);
            }
        } else {
            let err = api.take_error();
            record(KINDS[KIND_ERROR], format!("setting up boundaries.py: {err}").as_bytes(), 0, 0);
        }
        for obj in [mark_fn, globals, module] {
            if !obj.is_null() {
                (api.decref)(obj);
            }
        }
    }
}

/// `boundaries.py` preceded by the kind constants it passes back to [`mark`].
fn bootstrap_code() -> CString {
    let mut code = String::new();
    for (code_value, name) in ["_BEGIN", "_BASELINE", "_MEASURE", "_END", "_PATCHED", "_ERROR"].iter().enumerate() {
        code.push_str(&format!("{name} = {code_value}\n"));
    }
    code.push_str(include_str!("boundaries.py"));
    // The embedded source contains no NUL byte.
    CString::new(code).unwrap_or_default()
}

/// `_mark(kind, test_name, a, b)`: append a record with the counters of this instant.
unsafe extern "C" fn mark(_slf: *mut PyObject, args: *const *mut PyObject, nargs: isize) -> *mut PyObject {
    let Some(api) = API.get() else {
        return std::ptr::null_mut();
    };
    if nargs == 4 && !args.is_null() {
        // SAFETY: CPython passes `nargs` valid borrowed references; the GIL is held.
        let (kind, name, a, b) = unsafe {
            let args = std::slice::from_raw_parts(args, 4);
            (
                (api.long_as_long_long)(args[0]),
                api.str_bytes(args[1]),
                (api.long_as_long_long)(args[2]),
                (api.long_as_long_long)(args[3]),
            )
        };
        // SAFETY: GIL held; a failed int conversion leaves an OverflowError/TypeError behind.
        if !unsafe { (api.err_occurred)() }.is_null() {
            // SAFETY: GIL held.
            unsafe { (api.err_clear)() };
        }
        match (usize::try_from(kind).ok().and_then(|k| KINDS.get(k)), name) {
            (Some(&kind), Some(name)) => {
                if kind == "end" {
                    // The sites at the end belong to the series the `end` record closes.
                    let sites = attribution::end(name);
                    if !sites.is_empty() {
                        channel::append(&sites);
                    }
                }
                record(kind, name, a, b);
                match kind {
                    "begin" => attribution::begin(a, b),
                    "baseline" => attribution::at_baseline(),
                    "measure" => {
                        let sites = attribution::at_measurement(name, a);
                        if !sites.is_empty() {
                            channel::append(&sites);
                        }
                    }
                    _ => {}
                }
            }
            _ => record(KINDS[KIND_ERROR], b"leakcheck_mark called with bad arguments", kind, 0),
        }
    } else {
        record(KINDS[KIND_ERROR], b"leakcheck_mark called with a wrong argument count", nargs as i64, 0);
    }
    // SAFETY: GIL held; None is returned as a new reference.
    unsafe { (api.incref)(api.none) };
    api.none
}
