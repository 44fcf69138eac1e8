//! The slice of CPython's C API the shim uses, resolved at run time with `dlsym`.
//!
//! The shim is preloaded into every process of the tree (bash, make, gcc, Python). It links
//! against no libpython, so that one build serves every CPython version (3.11-3.14) and is
//! inert where no Python is present: [`Allocators::resolve`] returns `None` there.
//!
//! Only functions and structs whose layout is the same in every supported version appear here:
//! `PyMemAllocatorEx` and `PyMethodDef` have not changed since 3.5, and every function below is
//! exported by both static (`-export-dynamic`) and shared-library builds.

use std::ffi::{c_char, c_int, c_void, CStr};

/// An opaque Python object. The shim never reads its fields.
pub type PyObject = c_void;

/// `PyMemAllocatorDomain`: `PYMEM_DOMAIN_RAW`, `_MEM`, `_OBJ`.
pub const DOMAIN_RAW: c_int = 0;
pub const DOMAIN_MEM: c_int = 1;
pub const DOMAIN_OBJ: c_int = 2;

/// `Py_file_input`, the start symbol for `PyRun_StringFlags` (stable since 2.x).
pub const PY_FILE_INPUT: c_int = 257;
/// `METH_FASTCALL` (3.7+, in the stable ABI since 3.10).
pub const METH_FASTCALL: c_int = 0x0080;
/// `METH_VARARGS | METH_KEYWORDS`: called with an args tuple and a kwargs dict (or NULL).
pub const METH_VARARGS_KEYWORDS: c_int = 0x0001 | 0x0002;

pub type MallocFn = unsafe extern "C" fn(ctx: *mut c_void, size: usize) -> *mut c_void;
pub type CallocFn = unsafe extern "C" fn(ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void;
pub type ReallocFn = unsafe extern "C" fn(ctx: *mut c_void, ptr: *mut c_void, new_size: usize) -> *mut c_void;
pub type FreeFn = unsafe extern "C" fn(ctx: *mut c_void, ptr: *mut c_void);

/// `PyMemAllocatorEx`, identical in 3.5 through 3.14.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PyMemAllocatorEx {
    pub ctx: *mut c_void,
    pub malloc: MallocFn,
    pub calloc: CallocFn,
    pub realloc: ReallocFn,
    pub free: FreeFn,
}

/// The signature of a `METH_FASTCALL` function.
pub type FastCallFn =
    unsafe extern "C" fn(slf: *mut PyObject, args: *const *mut PyObject, nargs: isize) -> *mut PyObject;

/// The signature of a `METH_VARARGS | METH_KEYWORDS` function.
pub type KeywordsFn =
    unsafe extern "C" fn(slf: *mut PyObject, args: *mut PyObject, kwargs: *mut PyObject) -> *mut PyObject;

/// `PyMethodDef.ml_meth`: one C function pointer, whose signature `flags` tells CPython.
#[repr(C)]
#[derive(Clone, Copy)]
pub union MethodFn {
    pub fast: FastCallFn,
    pub keywords: KeywordsFn,
}

impl std::fmt::Debug for MethodFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MethodFn")
    }
}

/// `PyMethodDef`, identical in every supported version.
#[repr(C)]
#[derive(Debug)]
pub struct PyMethodDef {
    pub name: *const c_char,
    pub meth: MethodFn,
    pub flags: c_int,
    pub doc: *const c_char,
}

// SAFETY: a PyMethodDef only holds pointers to 'static C strings and a function; CPython reads
// it from any thread holding the GIL and never writes it.
unsafe impl Sync for PyMethodDef {}

pub type AuditHookFn = unsafe extern "C" fn(event: *const c_char, args: *mut PyObject, user: *mut c_void) -> c_int;

/// Look a symbol up in the global scope of the process (the executable and everything loaded
/// with it), the way the dynamic linker would resolve an undefined reference.
pub(crate) fn lookup(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name has no preconditions; it
    // returns NULL when the symbol does not exist.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!sym.is_null()).then_some(sym)
}

macro_rules! resolve {
    ($name:literal as $ty:ty) => {{
        // SAFETY: the symbol named here is the CPython function whose documented C signature
        // `$ty` spells out; a data pointer and a function pointer have the same size here.
        lookup($name).map(|p| unsafe { std::mem::transmute::<*mut c_void, $ty>(p) })
    }};
}

/// The allocator API: all the constructor needs to install the hooks.
#[derive(Clone, Copy, Debug)]
pub struct Allocators {
    pub get: unsafe extern "C" fn(domain: c_int, out: *mut PyMemAllocatorEx),
    pub set: unsafe extern "C" fn(domain: c_int, allocator: *mut PyMemAllocatorEx),
}

impl Allocators {
    /// `None` in a process without CPython's allocator API (bash, gcc, Python 2...).
    pub fn resolve() -> Option<Self> {
        Some(Self {
            get: resolve!(c"PyMem_GetAllocator" as unsafe extern "C" fn(c_int, *mut PyMemAllocatorEx))?,
            set: resolve!(c"PyMem_SetAllocator" as unsafe extern "C" fn(c_int, *mut PyMemAllocatorEx))?,
        })
    }
}

/// The object API used by the audit hook and the marker function. Every call needs the GIL
/// (or, for `add_audit_hook`, no initialised runtime at all).
#[derive(Clone, Copy, Debug)]
pub struct Api {
    pub add_audit_hook: unsafe extern "C" fn(hook: AuditHookFn, user: *mut c_void) -> c_int,
    pub import_module: unsafe extern "C" fn(name: *const c_char) -> *mut PyObject,
    pub dict_new: unsafe extern "C" fn() -> *mut PyObject,
    pub dict_set_item_string:
        unsafe extern "C" fn(dict: *mut PyObject, key: *const c_char, value: *mut PyObject) -> c_int,
    pub eval_get_builtins: unsafe extern "C" fn() -> *mut PyObject,
    pub compile_string:
        unsafe extern "C" fn(code: *const c_char, filename: *const c_char, start: c_int) -> *mut PyObject,
    pub eval_code:
        unsafe extern "C" fn(code: *mut PyObject, globals: *mut PyObject, locals: *mut PyObject) -> *mut PyObject,
    pub cfunction_new:
        unsafe extern "C" fn(def: *const PyMethodDef, slf: *mut PyObject, module: *mut PyObject) -> *mut PyObject,
    pub long_as_long_long: unsafe extern "C" fn(obj: *mut PyObject) -> i64,
    pub object_call:
        unsafe extern "C" fn(callable: *mut PyObject, args: *mut PyObject, kwargs: *mut PyObject) -> *mut PyObject,
    pub tuple_pack: unsafe extern "C" fn(n: isize, ...) -> *mut PyObject,
    pub tuple_size: unsafe extern "C" fn(tuple: *mut PyObject) -> isize,
    pub bool_from_long: unsafe extern "C" fn(value: std::ffi::c_long) -> *mut PyObject,
    pub unicode_as_utf8_and_size: unsafe extern "C" fn(obj: *mut PyObject, size: *mut isize) -> *const c_char,
    pub object_str: unsafe extern "C" fn(obj: *mut PyObject) -> *mut PyObject,
    pub tuple_get_item: unsafe extern "C" fn(tuple: *mut PyObject, index: isize) -> *mut PyObject,
    pub err_occurred: unsafe extern "C" fn() -> *mut PyObject,
    pub err_fetch: unsafe extern "C" fn(*mut *mut PyObject, *mut *mut PyObject, *mut *mut PyObject),
    pub err_clear: unsafe extern "C" fn(),
    pub err_exception_matches: unsafe extern "C" fn(exc: *mut PyObject) -> c_int,
    pub err_set_string: unsafe extern "C" fn(exc: *mut PyObject, message: *const c_char),
    /// `&PyExc_Exception` and `&PyExc_SystemError`: the variables, read when used.
    pub exc_exception: *const *mut PyObject,
    pub exc_system_error: *const *mut PyObject,
    pub dict_size: unsafe extern "C" fn(dict: *mut PyObject) -> isize,
    pub err_restore: unsafe extern "C" fn(*mut PyObject, *mut PyObject, *mut PyObject),
    pub incref: unsafe extern "C" fn(obj: *mut PyObject),
    pub decref: unsafe extern "C" fn(obj: *mut PyObject),
    pub none: *mut PyObject,
}

// SAFETY: Api holds function pointers and the addresses of the immortal `_Py_NoneStruct` and of
// two exported exception-type variables; it is written once, before main, and only read
// afterwards (the variables through it only with the GIL held).
unsafe impl Send for Api {}
// SAFETY: as above: read-only after construction.
unsafe impl Sync for Api {}

impl Api {
    pub fn resolve() -> Option<Self> {
        Some(Self {
            add_audit_hook: resolve!(c"PySys_AddAuditHook" as unsafe extern "C" fn(AuditHookFn, *mut c_void) -> c_int)?,
            import_module: resolve!(c"PyImport_ImportModule" as unsafe extern "C" fn(*const c_char) -> *mut PyObject)?,
            dict_new: resolve!(c"PyDict_New" as unsafe extern "C" fn() -> *mut PyObject)?,
            dict_set_item_string: resolve!(
                c"PyDict_SetItemString" as unsafe extern "C" fn(*mut PyObject, *const c_char, *mut PyObject) -> c_int
            )?,
            eval_get_builtins: resolve!(c"PyEval_GetBuiltins" as unsafe extern "C" fn() -> *mut PyObject)?,
            compile_string: resolve!(
                c"Py_CompileString" as unsafe extern "C" fn(*const c_char, *const c_char, c_int) -> *mut PyObject
            )?,
            eval_code: resolve!(
                c"PyEval_EvalCode"
                    as unsafe extern "C" fn(*mut PyObject, *mut PyObject, *mut PyObject) -> *mut PyObject
            )?,
            cfunction_new: resolve!(
                c"PyCFunction_NewEx"
                    as unsafe extern "C" fn(*const PyMethodDef, *mut PyObject, *mut PyObject) -> *mut PyObject
            )?,
            long_as_long_long: resolve!(c"PyLong_AsLongLong" as unsafe extern "C" fn(*mut PyObject) -> i64)?,
            object_call: resolve!(
                c"PyObject_Call" as unsafe extern "C" fn(*mut PyObject, *mut PyObject, *mut PyObject) -> *mut PyObject
            )?,
            tuple_pack: resolve!(c"PyTuple_Pack" as unsafe extern "C" fn(isize, ...) -> *mut PyObject)?,
            tuple_size: resolve!(c"PyTuple_Size" as unsafe extern "C" fn(*mut PyObject) -> isize)?,
            bool_from_long: resolve!(c"PyBool_FromLong" as unsafe extern "C" fn(std::ffi::c_long) -> *mut PyObject)?,
            unicode_as_utf8_and_size: resolve!(
                c"PyUnicode_AsUTF8AndSize" as unsafe extern "C" fn(*mut PyObject, *mut isize) -> *const c_char
            )?,
            object_str: resolve!(c"PyObject_Str" as unsafe extern "C" fn(*mut PyObject) -> *mut PyObject)?,
            tuple_get_item: resolve!(
                c"PyTuple_GetItem" as unsafe extern "C" fn(*mut PyObject, isize) -> *mut PyObject
            )?,
            err_occurred: resolve!(c"PyErr_Occurred" as unsafe extern "C" fn() -> *mut PyObject)?,
            err_fetch: resolve!(
                c"PyErr_Fetch" as unsafe extern "C" fn(*mut *mut PyObject, *mut *mut PyObject, *mut *mut PyObject)
            )?,
            err_clear: resolve!(c"PyErr_Clear" as unsafe extern "C" fn())?,
            err_exception_matches: resolve!(c"PyErr_ExceptionMatches" as unsafe extern "C" fn(*mut PyObject) -> c_int)?,
            err_set_string: resolve!(c"PyErr_SetString" as unsafe extern "C" fn(*mut PyObject, *const c_char))?,
            exc_exception: lookup(c"PyExc_Exception")?.cast_const().cast(),
            exc_system_error: lookup(c"PyExc_SystemError")?.cast_const().cast(),
            dict_size: resolve!(c"PyDict_Size" as unsafe extern "C" fn(*mut PyObject) -> isize)?,
            err_restore: resolve!(
                c"PyErr_Restore" as unsafe extern "C" fn(*mut PyObject, *mut PyObject, *mut PyObject)
            )?,
            incref: resolve!(c"Py_IncRef" as unsafe extern "C" fn(*mut PyObject))?,
            decref: resolve!(c"Py_DecRef" as unsafe extern "C" fn(*mut PyObject))?,
            none: lookup(c"_Py_NoneStruct")?,
        })
    }

    /// The UTF-8 bytes of a `str`, borrowed from the object; `None` (with the error cleared)
    /// for anything else.
    ///
    /// # Safety
    /// The GIL is held and `obj` is a live object; the slice lives as long as `obj`.
    pub unsafe fn str_bytes<'a>(&self, obj: *mut PyObject) -> Option<&'a [u8]> {
        if obj.is_null() {
            return None;
        }
        let mut len: isize = 0;
        // SAFETY: the caller holds the GIL and `obj` is live; the call type-checks `obj`.
        let data = unsafe { (self.unicode_as_utf8_and_size)(obj, &mut len) };
        if data.is_null() {
            // SAFETY: GIL held; clears the TypeError raised for a non-str.
            unsafe { (self.err_clear)() };
            return None;
        }
        // SAFETY: CPython returns a buffer of `len` bytes owned by `obj`.
        Some(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len as usize) })
    }

    /// Whether the pending exception is no `Exception` (KeyboardInterrupt, SystemExit): one
    /// that must reach the program rather than be handled by the shim.
    ///
    /// # Safety
    /// The GIL is held and an exception is set.
    pub unsafe fn error_must_propagate(&self) -> bool {
        // SAFETY: GIL held; PyExc_Exception is an initialised, immortal type object pointer.
        unsafe { (self.err_exception_matches)(*self.exc_exception) == 0 }
    }

    /// Raise SystemError(`message`).
    ///
    /// # Safety
    /// The GIL is held.
    pub unsafe fn raise_system_error(&self, message: &CStr) {
        // SAFETY: GIL held; PyExc_SystemError is an initialised type object pointer.
        unsafe { (self.err_set_string)(*self.exc_system_error, message.as_ptr()) }
    }

    /// Take the pending exception and describe it as `Type: message` to `out`, piece by piece
    /// (nothing allocated on our side), leaving no error set.
    ///
    /// # Safety
    /// The GIL is held.
    pub unsafe fn take_error(&self, mut out: impl FnMut(&[u8])) {
        let (mut ty, mut value, mut tb) = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: GIL held; PyErr_Fetch hands us three new (possibly NULL) references.
        unsafe { (self.err_fetch)(&mut ty, &mut value, &mut tb) };
        let mut written = false;
        for obj in [ty, value] {
            if obj.is_null() {
                continue;
            }
            // SAFETY: GIL held, `obj` is a live reference we own.
            let s = unsafe { (self.object_str)(obj) };
            // SAFETY: as above; `s` is NULL or a new reference to a str.
            if let Some(bytes) = unsafe { self.str_bytes(s) } {
                if written {
                    out(b": ");
                }
                out(bytes);
                written = true;
            }
            if !s.is_null() {
                // SAFETY: we own the reference returned by PyObject_Str.
                unsafe { (self.decref)(s) };
            }
        }
        for obj in [ty, value, tb] {
            if !obj.is_null() {
                // SAFETY: we own the references PyErr_Fetch returned.
                unsafe { (self.decref)(obj) };
            }
        }
        // SAFETY: GIL held; PyObject_Str itself may have raised.
        unsafe { (self.err_clear)() };
        if !written {
            out(b"unknown error");
        }
    }
}
