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
//! The wrappers themselves (of the `-R` driver and of the test function it repeats) are C
//! callables made by `bracket` below, so that the command's output stays what it would be without
//! leakcheck: a Python wrapper would add its frames to every traceback and faulthandler dump
//! printed while a test runs under `-R` (`test_x crashed -- Traceback ...`).
//!
//! Every other audit event costs one string comparison.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::fmt::Write;
use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};
use std::sync::OnceLock;

use crate::attribution;
use crate::channel::{self, Records};
use crate::pyapi::{Api, MethodFn, PyMethodDef, PyObject, METH_FASTCALL, METH_VARARGS_KEYWORDS, PY_FILE_INPUT};

/// What a failure inside the audit hook means for the import that raised the event.
enum Patched {
    /// Patched, or not, with the error recorded: the import goes on.
    Done,
    /// A KeyboardInterrupt or SystemExit landed meanwhile: it is left set, and the hook fails
    /// the import with it, as it would have failed without leakcheck.
    Propagate,
}

/// The record kinds `boundaries.py` passes to [`mark`]; the index is the Python-side code.
const KINDS: [&str; 7] = ["begin", "baseline", "measure", "end", "patched", "error", "blocks"];
const KIND_ERROR: usize = 5;

const REFLEAK_MODULE: &CStr = c"test.libregrtest.refleak";
const IMPORTING_REFLEAK: &str = "importing test.libregrtest.refleak";

const WAITING: u8 = 0;
const IMPORTING: u8 = 1;
static PATCH_STATE: AtomicU8 = AtomicU8::new(WAITING);

static API: OnceLock<Api> = OnceLock::new();

static MARK_DEF: PyMethodDef = PyMethodDef {
    name: c"leakcheck_mark".as_ptr(),
    meth: MethodFn { fast: mark },
    flags: METH_FASTCALL,
    doc: std::ptr::null(),
};

static BRACKET_DEF: PyMethodDef = PyMethodDef {
    name: c"leakcheck_bracket".as_ptr(),
    meth: MethodFn { fast: bracket },
    flags: METH_FASTCALL,
    doc: std::ptr::null(),
};

static BRACKETED_DEF: PyMethodDef = PyMethodDef {
    name: c"leakcheck_bracketed".as_ptr(),
    meth: MethodFn { keywords: bracketed_call },
    flags: METH_VARARGS_KEYWORDS,
    doc: std::ptr::null(),
};

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

/// Write a record of `kind` with the current counters and the text field `text`. With the GIL
/// held (see `crate::snapshot`).
pub fn record(out: &mut Records, kind: &str, text: &[u8], a: i64, b: i64) {
    write_record(out, kind, |out| out.escape(text), a, b, true);
}

/// A record of `kind` whose text field `text` writes (escaped, with [`Records::escape`]), with
/// the current counters. `probe`: the GIL is held, so whether each domain's allocator still
/// reaches our hook can be probed; without it (at exit) a domain counts as hooked only when our
/// hook is the installed allocator itself. Allocates nothing (see [`crate::fallible`]).
pub fn write_record(out: &mut Records, kind: &str, text: impl FnOnce(&mut Records), a: i64, b: i64, probe: bool) {
    out.extend(kind.as_bytes());
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let _ = write!(out, "\t{pid}\t");
    text(out);
    let (flags, counts) = crate::snapshot(probe);
    let _ = write!(out, "\t{a}\t{b}\t{flags}");
    for (blocks, bytes) in counts {
        let _ = write!(out, "\t{blocks}\t{bytes}");
    }
    let _ = writeln!(out, "\t{}", channel::monotonic_ns());
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
    let patched = unsafe { patch_refleak(api) };
    // Back to waiting: regrtest may unload the module and import it again.
    PATCH_STATE.store(WAITING, Ordering::Relaxed);
    match patched {
        Patched::Done => 0,
        Patched::Propagate => -1,
    }
}

/// Take the pending error of a step of [`patch_refleak`]: recorded, or left set when it must
/// reach the program.
///
/// # Safety
/// The GIL is held and an exception is set.
unsafe fn failed(api: &Api, step: &str) -> Patched {
    let mut out = Records::new();
    // SAFETY: GIL held, exception set (the caller's contract).
    if unsafe { api.error_must_propagate() } {
        let text = |out: &mut Records| {
            let _ = write!(out.escaped(), "{step}: interrupted");
        };
        write_record(&mut out, KINDS[KIND_ERROR], text, 0, 0, true);
        return Patched::Propagate;
    }
    let text = |out: &mut Records| {
        let _ = write!(out.escaped(), "{step}: ");
        // SAFETY: as above.
        unsafe { api.take_error(|bytes| out.escape(bytes)) };
    };
    write_record(&mut out, KINDS[KIND_ERROR], text, 0, 0, true);
    Patched::Done
}

/// Import `test.libregrtest.refleak` and run `boundaries.py` on it. Leaves no exception set,
/// but a KeyboardInterrupt or SystemExit that landed meanwhile.
///
/// # Safety
/// The GIL is held.
unsafe fn patch_refleak(api: &Api) -> Patched {
    crate::install_counting_hooks();
    record_process();
    // SAFETY: GIL held. This nested import raises its own `import` event, which the hook
    // ignores because PATCH_STATE is IMPORTING.
    let module = unsafe { (api.import_module)(REFLEAK_MODULE.as_ptr()) };
    if module.is_null() {
        // SAFETY: GIL held, exception set. The outer import tries again and fails its own way.
        return unsafe { failed(api, IMPORTING_REFLEAK) };
    }
    // SAFETY: GIL held; every reference created here is released below.
    unsafe {
        let globals = (api.dict_new)();
        let mark_fn = (api.cfunction_new)(&MARK_DEF, std::ptr::null_mut(), std::ptr::null_mut());
        let bracket_fn = (api.cfunction_new)(&BRACKET_DEF, std::ptr::null_mut(), std::ptr::null_mut());
        let ok = !globals.is_null()
            && !mark_fn.is_null()
            && !bracket_fn.is_null()
            && (api.dict_set_item_string)(globals, c"__builtins__".as_ptr(), (api.eval_get_builtins)()) == 0
            && (api.dict_set_item_string)(globals, c"_refleak".as_ptr(), module) == 0
            && (api.dict_set_item_string)(globals, c"_mark".as_ptr(), mark_fn) == 0
            && (api.dict_set_item_string)(globals, c"_bracket".as_ptr(), bracket_fn) == 0;
        // Compiled and run as a code object, not through PyRun_String: that one marks a
        // KeyboardInterrupt it saw as unhandled, and the interpreter would later exit by SIGINT.
        let outcome = if ok {
            let code =
                (api.compile_string)(BOOTSTRAP_CODE.as_ptr(), c"<leakcheck boundaries.py>".as_ptr(), PY_FILE_INPUT);
            let result = if code.is_null() { code } else { (api.eval_code)(code, globals, globals) };
            for obj in [result, code] {
                if !obj.is_null() {
                    (api.decref)(obj);
                }
            }
            if result.is_null() {
                failed(api, "boundaries.py")
            } else {
                Patched::Done
            }
        } else {
            failed(api, "setting up boundaries.py")
        };
        for obj in [mark_fn, bracket_fn, globals, module] {
            if !obj.is_null() {
                (api.decref)(obj);
            }
        }
        outcome
    }
}

/// The pid whose `process` record was written; a forked child has another pid, and writes its own.
static PROCESS_RECORDED: AtomicI32 = AtomicI32::new(0);

/// Once per process, before its first `patched` record: `process <pid> <ppid> <argv>
/// <started>`, argv as `/proc/self/cmdline` has it (NUL-separated, escaped), `started` as
/// [`channel::started_ns`]. The harness tells by these which processes are the run's regrtest
/// and its `-j` workers, which a test started (a nested regrtest run by test_regrtest), and,
/// with the `exit` record, when each lived. The file is read before the test's repetitions
/// begin, so the fd it takes is never open at a measurement.
fn record_process() {
    // SAFETY: getpid and getppid have no preconditions.
    let (pid, ppid) = unsafe { (libc::getpid(), libc::getppid()) };
    if PROCESS_RECORDED.swap(pid, Ordering::Relaxed) == pid {
        return;
    }
    let mut out = channel::Records::new();
    let _ = write!(out, "process\t{pid}\t{ppid}\t");
    crate::copy_cmdline(&mut out);
    let _ = writeln!(out, "\t{}", channel::started_ns());
}

/// At exit (the shim's ELF destructor), in a process that wrote its `process` record (a
/// regrtest, a `-j` worker): `exit <pid> <time>`. regrtest's `-j` main process prints what a
/// worker wrote (its sanitizer reports too) once the worker has exited: the harness tells by
/// this whose a report without a pid (UBSan's) is. A process killed or `_exit`ed writes none.
pub fn record_exit() {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    if PROCESS_RECORDED.load(Ordering::Relaxed) != pid {
        return;
    }
    let mut out = channel::Records::new();
    let _ = writeln!(out, "exit\t{pid}\t{}", channel::monotonic_ns());
}

/// `boundaries.py` preceded by the kind constants it passes back to [`mark`] (their values are
/// the indices in [`KINDS`]), made at compile time: nothing to allocate when it runs.
const BOOTSTRAP_CODE: &CStr = match CStr::from_bytes_with_nul(
    concat!(
        "_BEGIN = 0\n_BASELINE = 1\n_MEASURE = 2\n_END = 3\n_PATCHED = 4\n_ERROR = 5\n_BLOCKS = 6\n",
        include_str!("boundaries.py"),
        "\0"
    )
    .as_bytes(),
) {
    Ok(code) => code,
    Err(_) => panic!("boundaries.py contains a NUL byte"),
};

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
        let mut out = Records::new();
        match (usize::try_from(kind).ok().and_then(|k| KINDS.get(k)), name) {
            (Some(&kind), Some(name)) => {
                if kind == "begin" {
                    // Before the record, whose flags say whether it follows objects.
                    attribution::install_reftracer();
                }
                if kind == "end" {
                    // The sites at the end belong to the series the `end` record closes.
                    attribution::end(name, &mut out);
                }
                record(&mut out, kind, name, a, b);
                match kind {
                    "begin" => attribution::begin(a, b, &mut out),
                    "baseline" => attribution::at_baseline(name, &mut out),
                    "measure" => attribution::at_measurement(name, a, &mut out),
                    _ => {}
                }
                if matches!(kind, "begin" | "baseline" | "measure") {
                    // The record said whether the hooks counted until now; from here on they
                    // do again, if something took them out. Likewise the reference tracer.
                    crate::reinstall_lost_hooks();
                    attribution::install_reftracer();
                }
            }
            _ => record(&mut out, KINDS[KIND_ERROR], b"leakcheck_mark called with bad arguments", kind, 0),
        }
    } else {
        let message = b"leakcheck_mark called with a wrong argument count";
        record(&mut Records::new(), KINDS[KIND_ERROR], message, nargs as i64, 0);
    }
    // SAFETY: GIL held; None is returned as a new reference.
    unsafe { (api.incref)(api.none) };
    api.none
}

/// `_bracket(before, target, after)`: a C callable `f` such that `f(*args, **kwargs)` is
///
/// ```python
/// args, kwargs = before(args, kwargs)
/// try:
///     return target(*args, **kwargs)
/// finally:
///     if after is not None:
///         after(raised)   # whether target raised
/// ```
///
/// with Python's semantics for what propagates (an exception in `before` propagates and skips
/// the rest; one in `after` replaces the target's outcome), so that a KeyboardInterrupt that
/// lands in our bookkeeping still stops regrtest as it would have. Unlike a `finally:` block,
/// `after` runs with no exception being handled (`sys.exc_info()` is empty there, and an
/// exception it raises has no `__context__`); `boundaries.py` needs neither. Being C, `f` adds
/// no frame to tracebacks.
unsafe extern "C" fn bracket(_slf: *mut PyObject, args: *const *mut PyObject, nargs: isize) -> *mut PyObject {
    let Some(api) = API.get() else {
        return std::ptr::null_mut();
    };
    if nargs != 3 || args.is_null() {
        // SAFETY: the GIL is held (CPython calls us). A debug interpreter aborts on NULL
        // without an exception.
        unsafe { api.raise_system_error(c"leakcheck_bracket(before, target, after) takes 3 arguments") };
        return std::ptr::null_mut();
    }
    // SAFETY: CPython passes `nargs` valid borrowed references; the GIL is held. PyTuple_Pack
    // takes its own references; the function object takes one to the tuple.
    unsafe {
        let args = std::slice::from_raw_parts(args, 3);
        let state = (api.tuple_pack)(3, args[0], args[1], args[2]);
        if state.is_null() {
            return std::ptr::null_mut();
        }
        let callable = (api.cfunction_new)(&BRACKETED_DEF, state, std::ptr::null_mut());
        (api.decref)(state);
        callable
    }
}

/// The call of a callable made by [`bracket`]; `slf` is its `(before, target, after)` tuple.
unsafe extern "C" fn bracketed_call(slf: *mut PyObject, args: *mut PyObject, kwargs: *mut PyObject) -> *mut PyObject {
    let Some(api) = API.get() else {
        return std::ptr::null_mut();
    };
    // SAFETY: the GIL is held (CPython calls us); `slf` is the 3-tuple `bracket` made, alive as
    // long as this function object; `args` is a tuple and `kwargs` a dict or NULL. Every new
    // reference taken below is released before returning, except the result returned.
    unsafe {
        let (before, target, after) =
            ((api.tuple_get_item)(slf, 0), (api.tuple_get_item)(slf, 1), (api.tuple_get_item)(slf, 2));
        if before.is_null() || target.is_null() || after.is_null() {
            return std::ptr::null_mut();
        }
        let pair = (api.tuple_pack)(2, args, if kwargs.is_null() { api.none } else { kwargs });
        if pair.is_null() {
            return std::ptr::null_mut();
        }
        let prepared = (api.object_call)(before, pair, std::ptr::null_mut());
        (api.decref)(pair);
        if prepared.is_null() {
            return std::ptr::null_mut();
        }
        // `(tuple, dict or None)`, items borrowed from `prepared`; PyTuple_Size, PyTuple_GetItem
        // and PyDict_Size raise for anything else.
        let call = if (api.tuple_size)(prepared) == 2 {
            let (new_args, new_kwargs) = ((api.tuple_get_item)(prepared, 0), (api.tuple_get_item)(prepared, 1));
            let kwargs_ok = new_kwargs == api.none || (!new_kwargs.is_null() && (api.dict_size)(new_kwargs) >= 0);
            (!new_args.is_null() && kwargs_ok && (api.tuple_size)(new_args) >= 0)
                .then(|| (new_args, if new_kwargs == api.none { std::ptr::null_mut() } else { new_kwargs }))
        } else {
            None
        };
        let Some((call_args, call_kwargs)) = call else {
            (api.decref)(prepared);
            if (api.err_occurred)().is_null() {
                api.raise_system_error(c"leakcheck_bracket: before() must return (args tuple, kwargs dict or None)");
            }
            return std::ptr::null_mut();
        };
        let mut result = (api.object_call)(target, call_args, call_kwargs);
        (api.decref)(prepared);
        if after == api.none {
            return result;
        }
        let (mut ty, mut value, mut tb) = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
        (api.err_fetch)(&mut ty, &mut value, &mut tb);
        let raised = (api.bool_from_long)(std::ffi::c_long::from(result.is_null()));
        let after_args = if raised.is_null() { raised } else { (api.tuple_pack)(1, raised) };
        let done =
            if after_args.is_null() { after_args } else { (api.object_call)(after, after_args, std::ptr::null_mut()) };
        for obj in [after_args, raised] {
            if !obj.is_null() {
                (api.decref)(obj);
            }
        }
        if done.is_null() {
            // As in a `finally:` block that raised: its exception replaces the outcome.
            for obj in [result, ty, value, tb] {
                if !obj.is_null() {
                    (api.decref)(obj);
                }
            }
            result = std::ptr::null_mut();
        } else {
            (api.decref)(done);
            (api.err_restore)(ty, value, tb);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bootstrap_names_every_kind_by_its_index() {
        let code = BOOTSTRAP_CODE.to_str().unwrap();
        for (index, kind) in KINDS.iter().enumerate() {
            let line = format!("_{} = {index}\n", kind.to_uppercase());
            assert!(code.starts_with(&line) || code.contains(&format!("\n{line}")), "{line:?}");
        }
        assert!(code.ends_with(include_str!("boundaries.py")));
    }
}
