//! A libasan that arrives late must see `ASAN_OPTIONS` without leakcheck's
//! `verify_asan_link_order=0`.
//!
//! The harness adds `verify_asan_link_order=0` to `ASAN_OPTIONS` when it preloads the shim, so
//! that a gcc ASAN *program* the command starts (`make` running an ASAN `./python`) does not
//! abort with "ASan runtime does not come first in initial library list" because the shim is
//! ahead of its `DT_NEEDED` libasan. It says so in [`ADDED_ENV`]. But in an uninstrumented
//! Python, an extension module built with `-fsanitize=address` brings libasan by `dlopen`,
//! too late to intercept `malloc` and `free`: without leakcheck that process aborts with the
//! same message; with the token it ran on and ASAN saw none of the errors it was loaded for.
//!
//! So in a Python process with no ASAN runtime at start-up, the constructor hides the token
//! from a runtime loaded later. A sanitizer runtime on Linux reads its options from
//! `/proc/self/environ` (compiler-rt's `GetEnv`, gcc 12's libasan too), the environment block
//! the process was exec'd with, not from `environ`: `unsetenv` would not reach it. Its bytes
//! are the strings `environ` pointed to at start-up, which the process may write. So:
//! 1. `setenv` the same value: `environ` now holds a copy with the token, which Python copies
//!    into `os.environ` and every child inherits (an ASAN program it starts keeps running
//!    behind the shim as before);
//! 2. overwrite the token in the original string with `:` (a separator of the runtime's flag
//!    parser), so that `/proc/self/environ`, which only a runtime initialized from now on
//!    reads, has the user's options alone. That runtime then checks the link order and aborts
//!    exactly as without leakcheck, and the harness warns, naming `--sanitizer asan`.
//!
//! A process with an ASAN runtime at start-up (gcc's in `DT_NEEDED`, clang's linked in, one
//! in `LD_PRELOAD`) read its options before any constructor ran: nothing to do, nothing done.

use std::ffi::{CStr, CString};

/// Set to `1` by the harness when it added [`TOKEN`] at the start of `ASAN_OPTIONS`.
pub const ADDED_ENV: &str = "LEAKCHECK_ASAN_LINK_ORDER_ADDED";

/// What the harness adds (first, with `:` after it when the user had options).
pub const TOKEN: &[u8] = b"verify_asan_link_order=0";

/// From the constructor of a Python process, before any other thread exists and before the
/// interpreter reads the environment.
pub fn hide_link_order_token() {
    if std::env::var_os(ADDED_ENV).is_none_or(|added| added != "1") || asan_runtime_loaded() {
        return;
    }
    // SAFETY: a NUL-terminated name; no other thread can change the environment yet.
    let value = unsafe { libc::getenv(c"ASAN_OPTIONS".as_ptr()) };
    if value.is_null() {
        return;
    }
    // SAFETY: getenv returned a NUL-terminated string of the environment.
    let options = unsafe { CStr::from_ptr(value) }.to_bytes();
    if !starts_with_token(options) || !in_initial_environment(value as usize, options.len()) {
        return;
    }
    let Ok(copy) = CString::new(options) else { return };
    // SAFETY: NUL-terminated name and value; single-threaded (see above). glibc puts a new
    // string in `environ` and leaves the old one, which it did not allocate, where it is.
    if unsafe { libc::setenv(c"ASAN_OPTIONS".as_ptr(), copy.as_ptr(), 1) } != 0 {
        return;
    }
    // SAFETY: `value` starts `options.len()` (>= TOKEN.len()) bytes of the writable initial
    // environment block (checked above), which `environ` no longer refers to.
    unsafe { std::ptr::write_bytes(value.cast::<u8>(), b':', TOKEN.len()) };
}

/// Whether `options` begin with [`TOKEN`], whole: followed by nothing or by a separator of the
/// runtime's flag parser.
pub fn starts_with_token(options: &[u8]) -> bool {
    options.strip_prefix(TOKEN).is_some_and(|rest| rest.first().is_none_or(|c| b" ,:\n\t\r".contains(c)))
}

/// Whether an ASAN runtime is in the process already (`__asan_init` defined: libasan, clang's
/// `libclang_rt.asan`, or a runtime linked into the executable).
fn asan_runtime_loaded() -> bool {
    crate::pyapi::lookup(c"__asan_init").is_some()
}

/// Whether `len` bytes at `address` lie in the environment block the process was exec'd with
/// (`env_start` and `env_end` of `/proc/self/stat`), which `/proc/self/environ` shows.
fn in_initial_environment(address: usize, len: usize) -> bool {
    let Ok(stat) = std::fs::read("/proc/self/stat") else { return false };
    environment_block(&stat)
        .is_some_and(|(start, end)| start <= address && address.checked_add(len).is_some_and(|last| last < end))
}

/// `env_start` and `env_end` (fields 50 and 51) of a `/proc/PID/stat` line; the command name,
/// field 2, is in parentheses and may hold anything, so fields are counted after its last `)`.
pub fn environment_block(stat: &[u8]) -> Option<(usize, usize)> {
    let close = stat.iter().rposition(|&c| c == b')')?;
    let mut fields = stat[close + 1..].split(|c| c.is_ascii_whitespace()).filter(|f| !f.is_empty());
    // The first field after the name is field 3.
    let mut field = |n: usize| -> Option<usize> { std::str::from_utf8(fields.nth(n)?).ok()?.parse().ok() };
    let start = field(50 - 3)?;
    let end = field(0)?;
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_whole_token_at_the_start_counts() {
        assert!(starts_with_token(b"verify_asan_link_order=0"));
        assert!(starts_with_token(b"verify_asan_link_order=0:detect_leaks=0"));
        assert!(starts_with_token(b"verify_asan_link_order=0 verbosity=1"));
        assert!(!starts_with_token(b"verify_asan_link_order=01"));
        assert!(!starts_with_token(b"detect_leaks=0:verify_asan_link_order=0"));
        assert!(!starts_with_token(b""));
    }

    /// This process's own block holds its environment's strings; a command name with `) ` in
    /// it does not shift the fields.
    #[test]
    fn the_environment_block_is_read_from_proc_stat() {
        let stat = std::fs::read("/proc/self/stat").unwrap();
        let (start, end) = environment_block(&stat).expect("env_start and env_end");
        assert!(start < end, "{start:x} {end:x}");
        // SAFETY: a NUL-terminated name; the tests do not set PATH.
        let path = unsafe { libc::getenv(c"PATH".as_ptr()) };
        if !path.is_null() {
            // SAFETY: a NUL-terminated string of the environment.
            let len = unsafe { CStr::from_ptr(path) }.to_bytes().len();
            assert!(in_initial_environment(path as usize, len));
        }
        assert!(!in_initial_environment(stat.as_ptr() as usize, 1));
        let mut line = b"12 (a) b) c) S".to_vec();
        for n in 4..=52 {
            line.extend_from_slice(format!(" {n}").as_bytes());
        }
        assert_eq!(environment_block(&line), Some((50, 51)));
        assert_eq!(environment_block(b"12 (x) S 1 2"), None);
        assert_eq!(environment_block(b"no parenthesis"), None);
    }
}
