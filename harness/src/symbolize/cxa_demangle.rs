//! The GNU C++ demangler, `abi::__cxa_demangle` of the system's libstdc++, loaded on first use.
//!
//! `cpp_demangle` (the crate) drops or garbles function parameters that follow a template
//! parameter pack (`basic_string<allocator<char>>(char const*, allocator<char> const&)` came
//! out without its `char const*`); the GNU demangler, the one `c++filt`, gdb and gcc's
//! sanitizer runtimes use, does not. leakcheck does not link libstdc++: it is opened with
//! `dlopen` when the first C++ name needs it, and when it is missing callers fall back to the
//! crate.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::OnceLock;

/// `char *abi::__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status)`.
type CxaDemangle = unsafe extern "C" fn(*const c_char, *mut c_char, *mut usize, *mut c_int) -> *mut c_char;

/// Mangled names longer than this are not given to the GNU demangler: it keeps a
/// variable-length array of about 64 bytes per input byte on the stack, and symbolization runs
/// on threads with Rust's default 2 MiB stacks.
const MAX_LEN: usize = 4096;

/// The demangler, when libstdc++ could be opened.
#[allow(unsafe_code)]
fn cxa_demangle() -> Option<CxaDemangle> {
    static FUNCTION: OnceLock<Option<CxaDemangle>> = OnceLock::new();
    *FUNCTION.get_or_init(|| {
        // SAFETY: dlopen and dlsym get NUL-terminated names; the handle is never closed, so
        // the function pointer stays valid for the life of the process. The symbol has the C
        // ABI signature of `CxaDemangle` (the Itanium C++ ABI, section 3.4).
        unsafe {
            let handle = libc::dlopen(c"libstdc++.so.6".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
            if handle.is_null() {
                return None;
            }
            let symbol = libc::dlsym(handle, c"__cxa_demangle".as_ptr());
            (!symbol.is_null()).then(|| std::mem::transmute::<*mut c_void, CxaDemangle>(symbol))
        }
    })
}

/// `name` (an Itanium `_Z` name) demangled by libstdc++; `None` when libstdc++ is missing, the
/// name is too long for it, or it is not a valid mangled name.
#[allow(unsafe_code)]
pub(super) fn demangle(name: &str) -> Option<String> {
    if name.len() > MAX_LEN {
        return None;
    }
    let function = cxa_demangle()?;
    let mangled = CString::new(name).ok()?;
    let mut status: c_int = -1;
    // SAFETY: `mangled` is NUL-terminated; a null buffer asks for a malloc'ed result, which
    // is copied and then freed with the C library's `free` (libstdc++ allocates it with
    // `malloc`). The function keeps no state between calls, so threads may call it at once.
    unsafe {
        let out = function(mangled.as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), &mut status);
        if out.is_null() {
            return None;
        }
        let text = (status == 0).then(|| CStr::from_ptr(out).to_string_lossy().into_owned());
        libc::free(out.cast());
        text
    }
}

#[cfg(test)]
mod tests {
    use super::demangle;

    #[test]
    fn parameters_after_a_template_pack_are_kept() {
        let name = "_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEC2IS3_EEPKcRKS3_";
        assert_eq!(
            demangle(name).as_deref(),
            Some(
                "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string\
                 <std::allocator<char> >(char const*, std::allocator<char> const&)"
            )
        );
    }

    #[test]
    fn invalid_and_oversized_names_are_refused() {
        assert_eq!(demangle("_ZN3foo"), None);
        assert_eq!(demangle("_Z\u{0}x"), None);
        assert_eq!(demangle(&format!("_ZN{}3fooEv", "3abc".repeat(2000))), None);
    }
}
