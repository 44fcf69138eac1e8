//! Records from the shim to the harness: one append-only text file per process,
//! `$LEAKCHECK_RUN_DIR/events.<pid>`.
//!
//! A record is one line of tab-separated fields, the first naming its kind:
//!
//! ```text
//! measure <pid> <test> <a> <b> <flags> <raw_blocks> <raw_bytes> <mem_blocks> <mem_bytes> <obj_blocks> <obj_bytes> <time>
//! ```
//!
//! `time` is `CLOCK_MONOTONIC` in nanoseconds, one clock for every process of the machine: it
//! orders the records of several processes (a test's first run in a `-j` worker, its re-run
//! in the main process).
//!
//! Kinds: `begin` (a = warmups, b = counted runs), `baseline` (before the first repetition),
//! `measure` (a = repetition index, at regrtest's own measurement), `end` (a = measurements
//! taken, b = 1 if the repetitions were cut short by an exception), `patched` (the test name field
//! holds the regrtest entry point that was wrapped), `error` (the test name field holds the
//! message), and once per process, before its first `patched`, `process <pid> <ppid> <argv>`
//! (argv NUL-separated, escaped; no counters). `flags` is [`FLAG_HOOKED`] shifted by the domain index for each domain whose hook
//! is still installed, and [`FLAG_BYTES`] likewise for each domain whose byte count is exact.
//! Text fields are escaped with [`escape`]: the harness parses them with its `shim_events`
//! module, and `harness/tests` hold the round trip.
//!
//! The file is opened, appended to with one `write(2)` and closed for every record, so that the
//! shim holds no file descriptor between regrtest's measurements (regrtest counts them) and never
//! writes to fds 1 and 2.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

pub const FLAG_HOOKED: u32 = 1;
pub const FLAG_BYTES: u32 = 1 << 3;

static RUN_DIR: OnceLock<Vec<u8>> = OnceLock::new();

/// The environment variable naming the harness's private run directory.
pub const RUN_DIR_ENV: &str = "LEAKCHECK_RUN_DIR";

/// Read the run directory from the environment; `false` when the shim runs outside leakcheck.
pub fn init_from_env() -> bool {
    match std::env::var_os(RUN_DIR_ENV) {
        Some(dir) if !dir.is_empty() => {
            let _ = RUN_DIR.set(dir.as_bytes().to_vec());
            true
        }
        _ => false,
    }
}

/// `CLOCK_MONOTONIC` now, in nanoseconds (0 if it cannot be read).
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) } != 0 {
        return 0;
    }
    (now.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(now.tv_nsec as u64)
}

/// Escape a text field: bytes outside printable ASCII, and `\`, become `\xHH`.
pub fn escape(field: &[u8], out: &mut Vec<u8>) {
    for &b in field {
        if (0x21..0x7f).contains(&b) && b != b'\\' {
            out.push(b);
        } else {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
}

/// Append one record (a complete line) to this process's event file. Failures are dropped:
/// the shim has nowhere to report them, and the harness notices the missing records.
pub fn append(record: &[u8]) {
    let Some(dir) = RUN_DIR.get() else { return };
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut path = dir.clone();
    path.extend_from_slice(format!("/events.{pid}").as_bytes());
    let Ok(path) = CString::new(path) else { return };
    // SAFETY: a valid NUL-terminated path; the fd is closed below on every path.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            0o600,
        )
    };
    if fd < 0 {
        return;
    }
    let mut rest = record;
    while !rest.is_empty() {
        // SAFETY: `rest` is a valid buffer of its length; `fd` is open.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            // SAFETY: reading errno right after the failed call.
            if n < 0 && unsafe { *libc::__errno_location() } == libc::EINTR {
                continue;
            }
            break;
        }
        rest = &rest[n as usize..];
    }
    // SAFETY: closing the fd opened above.
    unsafe { libc::close(fd) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_names_and_hides_separators() {
        let mut out = Vec::new();
        escape(b"test_os", &mut out);
        assert_eq!(out, b"test_os");
        out.clear();
        escape(b"a\tb\nc\\d e\xff", &mut out);
        assert_eq!(out, b"a\\x09b\\x0ac\\x5cd\\x20e\\xff");
    }
}
