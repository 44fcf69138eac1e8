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
//! taken, b = 1 if the repetitions were cut short by an exception), `blocks` (right after
//! `begin`: a = `sys.getallocatedblocks()`, which regrtest's memory-block check reads, 0 without
//! pymalloc; -1 when it could not be read), `patched` (the test name field
//! holds the regrtest entry point that was wrapped), `error` (the test name field holds the
//! message), and once per process, before its first `patched`, `process <pid> <ppid> <argv>
//! <started>` (argv NUL-separated, escaped; `started`: when the process began, see
//! [`started_ns`]; no counters), and such a process's last, at its exit, `exit <pid> <time>`
//! (no counters). A process that did not exec its image (a fork child) writes first, before any
//! other record of its file, `fork <pid> <ppid> <image> <started>`: `image` is the process that
//! exec'd the image it runs (the one it was forked from, or an ancestor of that one by forks
//! alone), `started` when it was forked. `flags` is [`FLAG_HOOKED`] shifted
//! by the domain index for each domain whose hook is still installed, and [`FLAG_BYTES`]
//! likewise for each domain whose byte count is exact, and [`FLAG_OBJECT_LIVES`] while the
//! shim's reference tracer follows objects off CPython's free lists (`crate::reftrace`).
//! Text fields are escaped with [`Records::escape`]: the harness parses them with its `shim_events`
//! module, and `harness/tests` hold the round trip.
//!
//! The file is opened, appended to and closed for every batch of records ([`Records`]), so that
//! the shim holds no file descriptor between regrtest's measurements (regrtest counts them) and
//! never writes to fds 1 and 2.

use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::OnceLock;

pub const FLAG_HOOKED: u32 = 1;
pub const FLAG_BYTES: u32 = 1 << 3;
pub const FLAG_OBJECT_LIVES: u32 = 1 << 6;

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

/// The run directory, as the environment named it (no NUL in it); `None` outside leakcheck.
pub fn run_dir() -> Option<&'static [u8]> {
    RUN_DIR.get().map(Vec::as_slice).filter(|dir| !dir.contains(&0))
}

/// The process that ran the shim's constructor: it exec'd the image this process runs. Another
/// pid than this process's own is a fork child's (the constructor does not run again after
/// `fork`). 0 before [`note_start`].
static IMAGE_PID: AtomicI32 = AtomicI32::new(0);
/// See [`started_ns`].
static STARTED_NS: AtomicU64 = AtomicU64::new(0);
/// The pid whose `fork` record was written ([`say_fork`]); a fork of a fork has another.
static FORK_SAID: AtomicI32 = AtomicI32::new(0);

/// From the constructor, in a process with CPython's allocator API: this process exec'd its
/// image now; a child it forks notes when it was forked. Without it no `fork` record is written
/// and [`started_ns`] is 0.
pub fn note_start() {
    // SAFETY: getpid has no preconditions.
    IMAGE_PID.store(unsafe { libc::getpid() }, Ordering::Relaxed);
    STARTED_NS.store(monotonic_ns(), Ordering::Relaxed);
    // SAFETY: registering a child handler that only reads the clock and stores an atomic
    // (async-signal-safe, as a handler run after `fork` in a threaded process must be).
    unsafe { libc::pthread_atfork(None, None, Some(forked)) };
}

extern "C" fn forked() {
    STARTED_NS.store(monotonic_ns(), Ordering::Relaxed);
}

/// When this process began, `CLOCK_MONOTONIC` ns: when its image ran the shim's constructor
/// (its exec, before the interpreter started), or, in a fork child, when it was forked. With
/// its `exit` record it gives the harness the process's lifetime: two regrtests of one command
/// that lived at the same time ran at the same time, whenever their tests were measured.
pub fn started_ns() -> u64 {
    STARTED_NS.load(Ordering::Relaxed)
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

/// How many bytes of records are gathered before they are written out.
const BUFFER: usize = 8192;

/// Records on their way to this process's event file, formatted without allocating (the shim
/// may be writing them because memory ran out, see [`crate::fallible`]): into a fixed buffer,
/// written out whenever it fills, complete lines at a time, and when dropped. The file is opened
/// at the first write and closed on drop, so that the shim holds no file descriptor between
/// regrtest's measurements (regrtest counts them). Failures are dropped: the shim has nowhere
/// to report them, and the harness notices the missing records.
pub struct Records {
    buf: [u8; BUFFER],
    len: usize,
    sink: Sink,
}

enum Sink {
    Unopened,
    File(libc::c_int),
    Failed,
    #[cfg(test)]
    Memory(Vec<u8>),
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records").field("buffered", &self.len).finish()
    }
}

impl Default for Records {
    fn default() -> Self {
        Self::new()
    }
}

impl Records {
    /// Records for this process's event file.
    pub fn new() -> Self {
        Self { buf: [0; BUFFER], len: 0, sink: Sink::Unopened }
    }

    /// Records kept in memory, for tests to read with [`Records::text`].
    #[cfg(test)]
    pub fn in_memory() -> Self {
        Self { buf: [0; BUFFER], len: 0, sink: Sink::Memory(Vec::new()) }
    }

    /// Everything written so far, for a test.
    #[cfg(test)]
    pub fn text(&mut self) -> String {
        self.flush(self.len);
        match &self.sink {
            Sink::Memory(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        }
    }

    pub fn push(&mut self, byte: u8) {
        self.extend(&[byte]);
    }

    pub fn extend(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.len == BUFFER {
                // Whole lines, when there are: a process killed between two writes leaves
                // only complete records behind.
                let lines = self.buf.iter().rposition(|&b| b == b'\n').map_or(BUFFER, |last| last + 1);
                self.flush(lines);
            }
            let n = bytes.len().min(BUFFER - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
        }
    }

    /// Append a text field, escaped: bytes outside printable ASCII, and `\`, become `\xHH`.
    pub fn escape(&mut self, field: &[u8]) {
        for &b in field {
            if (0x21..0x7f).contains(&b) && b != b'\\' {
                self.push(b);
            } else {
                self.extend(&[b'\\', b'x', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
            }
        }
    }

    /// Something `Display`-able as an escaped text field (`write!(records.escaped(), ...)`).
    pub fn escaped(&mut self) -> Escaped<'_> {
        Escaped(self)
    }

    /// Write out the first `n` buffered bytes and keep the rest.
    fn flush(&mut self, n: usize) {
        let chunk = &self.buf[..n];
        match &mut self.sink {
            Sink::Unopened => {
                self.sink = open_events_file().map_or(Sink::Failed, Sink::File);
                if let Sink::File(fd) = self.sink {
                    say_fork(fd);
                    write_all(fd, chunk);
                }
            }
            Sink::File(fd) => write_all(*fd, chunk),
            Sink::Failed => {}
            #[cfg(test)]
            Sink::Memory(bytes) => bytes.extend_from_slice(chunk),
        }
        self.buf.copy_within(n..self.len, 0);
        self.len -= n;
    }
}

impl std::fmt::Write for Records {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.extend(s.as_bytes());
        Ok(())
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        if self.len > 0 {
            self.flush(self.len);
        }
        if let Sink::File(fd) = self.sink {
            // SAFETY: closing the fd this writer opened.
            unsafe { libc::close(fd) };
        }
    }
}

/// See [`Records::escaped`].
#[derive(Debug)]
pub struct Escaped<'a>(&'a mut Records);

impl std::fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.escape(s.as_bytes());
        Ok(())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Open `$LEAKCHECK_RUN_DIR/events.<pid>` for appending; the path is built on the stack.
fn open_events_file() -> Option<libc::c_int> {
    use std::io::Write;
    let dir = RUN_DIR.get().filter(|dir| !dir.contains(&0))?;
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut path = [0u8; libc::PATH_MAX as usize + 32];
    // The last byte is left out, so that it stays NUL: a path too long fails to be written.
    let last = path.len() - 1;
    let mut cursor = std::io::Cursor::new(&mut path[..last]);
    cursor.write_all(dir).ok()?;
    write!(cursor, "/events.{pid}").ok()?;
    // SAFETY: a NUL-terminated path (the buffer was zeroed, its last byte never written); the fd
    // is closed by the `Records` that keeps it.
    let fd = unsafe {
        libc::open(
            path.as_ptr().cast(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            0o600,
        )
    };
    (fd >= 0).then_some(fd)
}

/// In a fork child (its pid is not [`IMAGE_PID`]), once, before its first other record: `fork
/// <pid> <ppid> <image> <started>`. A fork child writes records when it goes on running
/// regrtest's `-R` loop (a test's `os.fork()` child that returned instead of calling
/// `os._exit`): the harness tells by this record that it is no regrtest of its own (a nested
/// one execs a new interpreter), but the continuation of the one it was forked from.
fn say_fork(fd: libc::c_int) {
    // SAFETY: getpid and getppid have no preconditions.
    let (pid, ppid) = unsafe { (libc::getpid(), libc::getppid()) };
    let image = IMAGE_PID.load(Ordering::Relaxed);
    if image == 0 || image == pid || FORK_SAID.swap(pid, Ordering::Relaxed) == pid {
        return;
    }
    let mut line = [0u8; 96];
    let len = fork_record(&mut line, pid, ppid, image, started_ns());
    write_all(fd, &line[..len]);
}

/// The `fork` record's line, formatted into `out` without allocating; its length.
fn fork_record(out: &mut [u8; 96], pid: i32, ppid: i32, image: i32, started: u64) -> usize {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(&mut out[..]);
    // Four numbers of at most 20 digits and the kind fit in 96 bytes.
    let _ = writeln!(cursor, "fork\t{pid}\t{ppid}\t{image}\t{started}");
    cursor.position() as usize
}

fn write_all(fd: libc::c_int, mut rest: &[u8]) {
    while !rest.is_empty() {
        // SAFETY: `rest` is a valid buffer of its length; `fd` is open.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            // SAFETY: reading errno right after the failed call.
            if n < 0 && unsafe { *libc::__errno_location() } == libc::EINTR {
                continue;
            }
            return;
        }
        rest = &rest[n as usize..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fork_record_is_one_whole_line_whatever_its_numbers() {
        let mut line = [0u8; 96];
        let len = fork_record(&mut line, 12, 11, 10, 1_234);
        assert_eq!(&line[..len], b"fork\t12\t11\t10\t1234\n");
        let len = fork_record(&mut line, i32::MIN, i32::MIN, i32::MIN, u64::MAX);
        assert!(line[..len].ends_with(b"\n"), "{:?}", String::from_utf8_lossy(&line[..len]));
    }

    #[test]
    fn escape_keeps_names_and_hides_separators() {
        let mut out = Records::in_memory();
        out.escape(b"test_os");
        assert_eq!(out.text(), "test_os");
        let mut out = Records::in_memory();
        out.escape(b"a\tb\nc\\d e\xff");
        assert_eq!(out.text(), "a\\x09b\\x0ac\\x5cd\\x20e\\xff");
    }

    #[test]
    fn records_longer_than_the_buffer_come_out_whole_and_in_order() {
        let mut out = Records::in_memory();
        let mut expected = String::new();
        for i in 0..5000 {
            use std::fmt::Write;
            write!(out, "site\t{i}\t").unwrap();
            write!(out.escaped(), "a b{i}").unwrap();
            out.push(b'\n');
            expected.push_str(&format!("site\t{i}\ta\\x20b{i}\n"));
        }
        assert!(expected.len() > 4 * BUFFER);
        assert_eq!(out.text(), expected);
    }
}
