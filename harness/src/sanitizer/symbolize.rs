//! Symbolizing the frames a sanitizer left as `(module+offset)`, with leakcheck's own
//! symbolizer: in findings ([`symbolize_findings`]) and in saved logs ([`symbolize_log`], the
//! core of `leakcheck symbolize [FILE]`).
//!
//! **Offsets and addresses.** The runtimes print a module offset relative to the load bias
//! `dl_iterate_phdr` reports: for a shared object or a PIE executable it *is* the ELF virtual
//! address [`Symbolizer::symbolize`] takes; for a non-PIE executable (`ET_EXEC`, such as
//! Debian's `python3.11d`) bias and offset are 0-based too, so the offset is again the virtual
//! address (`(/usr/bin/python3.11d+0x420f20)`). Older runtimes measured from the first mapping
//! instead; for `ET_EXEC` modules the program headers say which reading lands in a `PT_LOAD`
//! segment, and a printed absolute address, being the virtual address itself, is preferred.
//! Printed PCs are already "return address minus one", so no adjustment is made.
//!
//! **Live input.** [`symbolize_live_log`] (`leakcheck symbolize`) writes each line as soon as
//! it is rewritten and flushes whenever its input has nothing more ready; a stop (a signal)
//! ends the input where it was read to, and what was read is written out.
//!
//! **Modules.** Absolute paths are used as printed, when they name a regular file outside
//! `/proc`, `/sys` and `/dev` (a log can name `/dev/stdin`, a FIFO or `/proc/kmsg`, which would
//! block; those are never opened). Relative names are TSan's base names
//! (`(tsan_race+0x11d7)`), and the paths of objects the program loaded by a relative path
//! (linked against `./lib.so`: `(lib.so+0x2515)`): they are looked up among the absolute paths
//! of the same finding (its `SUMMARY:` line has one) or, in a log, of the frames read so far
//! that end in them; then in the current directory, as llvm-symbolizer would (in a run, the
//! command's working directory: leakcheck starts it in its own); then, for base names, in the
//! system library directories. When the frame prints a build ID, the first candidate with that
//! build ID is used; if none has it, the frame is left as it was (the program was rebuilt, or
//! the name is another file's). A module that cannot be found or read leaves its frames as
//! they were ([`symbolize_log`] notes each such module once). The pseudo-modules of
//! `/proc/PID/maps` (`([stack]+0x...)`, `[heap]`, `[vdso]`, `[anon:...]`: a frame the fast
//! unwinder read off a stack, as through libffi's calls) are no files and are not looked up.
//!
//! **Logs copied from CI.** GitHub Actions begins every line of a job's log with a UTC
//! timestamp and a space (`2024-05-01T12:00:00.1234567Z     #3 0x7f... (...)`; the downloaded
//! file's first line with a byte-order mark too). [`symbolize_log`] reads a frame after such a
//! prefix, and writes the prefix before each line it makes of it.

#![forbid(unsafe_code)]

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::line::{self, FrameStyle};
use super::{Finding, Parser, ReportFrame, MAX_LINE_BYTES, MAX_OPEN_REPORTS};
use crate::symbolize::{Frame, Symbolizer};

/// Where base names of system libraries are looked for.
const LIBRARY_DIRS: &[&str] =
    &["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"];
/// Absolute module paths remembered from a log, to resolve TSan's base names.
const MAX_KNOWN_MODULES: usize = 1024;
/// Program headers read per module.
const MAX_PROGRAM_HEADERS: usize = 4096;

/// Give every frame left as `(module+offset)` (no function, or no file) the function, file,
/// line and column of leakcheck's symbolizer; an address with inlined calls becomes several
/// frames (innermost first, `inlined` set on all but the last), and the frames after it are
/// renumbered. Frames the symbolizer knows nothing more about stay as they were.
pub fn symbolize_findings(findings: &mut [Finding], symbolizer: &Symbolizer) {
    let mut layouts = Layouts::default();
    let cwd = std::env::current_dir().ok();
    // Every request first, so that each module is symbolized once, with all its addresses.
    let mut requests: HashMap<PathBuf, Vec<u64>> = HashMap::new();
    let mut resolved: Vec<Vec<PathBuf>> = Vec::with_capacity(findings.len());
    for finding in findings.iter() {
        let known = finding_modules(finding);
        resolved.push(known.clone());
        for frame in stacks(finding).flatten() {
            if let Some(Request::Symbolize(module, address)) =
                request(frame, &known, cwd.as_deref(), &mut layouts, symbolizer)
            {
                requests.entry(module).or_default().push(address);
            }
        }
    }
    let mut answers: HashMap<(PathBuf, u64), Vec<Frame>> = HashMap::new();
    for (module, addresses) in requests {
        let frames = symbolizer.symbolize_many(&module, &addresses);
        for (address, frames) in addresses.into_iter().zip(frames) {
            answers.insert((module.clone(), address), frames);
        }
    }
    for (finding, known) in findings.iter_mut().zip(resolved) {
        // The frames leakcheck symbolized, for the summary line: only such a frame rewrites it.
        let mut symbolized_here: Vec<ReportFrame> = Vec::new();
        let mut rewrite = |frames: &mut Vec<ReportFrame>| {
            let old = std::mem::take(frames);
            let mut shift = 0u32;
            for frame in old {
                let symbolized = match request(&frame, &known, cwd.as_deref(), &mut layouts, symbolizer) {
                    Some(Request::Symbolize(module, address)) => answers.get(&(module, address)),
                    _ => None,
                }
                .filter(|symbolized| improves(&frame, symbolized));
                match symbolized {
                    Some(symbolized) => {
                        let expanded = expand(&frame, symbolized, shift);
                        shift = shift.saturating_add(expanded.len().saturating_sub(1) as u32);
                        symbolized_here.extend(expanded.iter().cloned());
                        frames.extend(expanded);
                    }
                    None => frames.push(ReportFrame { index: frame.index.saturating_add(shift), ..frame }),
                }
            }
        };
        rewrite(&mut finding.frames);
        for related in &mut finding.related {
            rewrite(&mut related.frames);
        }
        if let Some(summary) = finding.summary.as_deref().and_then(|s| symbolized_summary(s, symbolized_here.iter())) {
            finding.summary = Some(summary);
        }
    }
}

/// Have `symbolizer` load (map and cache) every module the frames left unsymbolized in
/// `findings` would be symbolized from (see [`symbolize_findings`]), all opened before any is
/// read ([`Symbolizer::load`]): a module removed afterwards is still read.
pub fn load_modules(findings: &[Finding], symbolizer: &Symbolizer) {
    let mut layouts = Layouts::default();
    let cwd = std::env::current_dir().ok();
    let mut modules: Vec<PathBuf> = Vec::new();
    for finding in findings {
        let known = finding_modules(finding);
        for frame in stacks(finding).flatten() {
            if let Some(Request::Symbolize(module, _)) =
                request(frame, &known, cwd.as_deref(), &mut layouts, symbolizer)
            {
                if !modules.contains(&module) {
                    modules.push(module);
                }
            }
        }
    }
    symbolizer.load(&modules);
}

/// The absolute module paths that frames left unsymbolized name (see [`symbolize_findings`])
/// and that do not exist (any more): their frames cannot be symbolized. Distinct, in order.
pub fn gone_modules(findings: &[Finding]) -> Vec<PathBuf> {
    let mut gone: Vec<PathBuf> = Vec::new();
    let unsymbolized = findings.iter().flat_map(stacks).flatten().filter(|f| f.function.is_none() || f.file.is_none());
    for module in unsymbolized.filter(|f| f.module_offset.is_some()).filter_map(|f| f.module.as_deref()) {
        let path = Path::new(module);
        let missing = || matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
        if path.is_absolute() && !is_pseudo_module(module) && !gone.iter().any(|g| g == path) && missing() {
            gone.push(path.to_owned());
        }
    }
    gone
}

/// A `SUMMARY:` line that names its frame as `(module+0xOFFSET)` (the runtime had no
/// symbolizer, or `symbolize=0`), rewritten as a symbolizing runtime prints it: that frame's
/// `file:line:column in function` (`SUMMARY: AddressSanitizer: heap-buffer-overflow
/// /src/m.c:20:5 in overflow`), from the first of `frames` (the frames leakcheck symbolized)
/// at the same module (the same file: TSan's frames name it by its base name, its summary by
/// its path) and offset that has a function (an inlined call's innermost, as LLVM shows it).
/// A frame symbolized to a function without a source line keeps `(module+0xOFFSET)` and the
/// `(BuildId: ...)` after it, only the name after ` in ` changing. `None` when the line names
/// no frame that leakcheck symbolized (one the runtime named itself, TSan's
/// `pthread_mutex_lock <null>`, included): it stays as the runtime printed it (the log keeps
/// it so in any case).
fn symbolized_summary<'a>(summary: &str, mut frames: impl Iterator<Item = &'a ReportFrame>) -> Option<String> {
    let (open, module, offset) = line::first_module_part(summary)?;
    let frame = frames.find(|f| {
        f.module.as_deref().is_some_and(|m| same_module(m, module))
            && f.module_offset == Some(offset)
            && f.function.is_some()
    })?;
    let function = frame.function.as_deref()?;
    let location = match (&frame.file, frame.line, frame.column) {
        (Some(file), Some(line), Some(column)) => format!("{file}:{line}:{column}"),
        (Some(file), Some(line), None) => format!("{file}:{line}"),
        _ => {
            // `(module+0x...)` as printed, and ` (BuildId: ...)` if one follows.
            let close = open + summary.get(open..)?.find(')')? + 1;
            let after = summary.get(close..)?;
            let build_id = after
                .strip_prefix(" (BuildId: ")
                .and_then(|rest| rest.find(')'))
                .map_or("", |end| &after[.." (BuildId: ".len() + end + 1]);
            format!("{}{build_id}", &summary[open..close])
        }
    };
    // What the runtime printed after the location (` in NAME` from the dynamic symbols) is
    // replaced by the symbolized name.
    Some(format!("{}{location} in {function}", &summary[..open]))
}

/// Whether a frame's module and a summary's name the same file: the same path, or the same
/// base name when one of them is a base name (TSan's frames print `tsan_race`, its summary
/// `/path/to/tsan_race`).
fn same_module(frame: &str, summary: &str) -> bool {
    use super::parser::file_name;
    frame == summary || (!frame.contains('/') || !summary.contains('/')) && file_name(frame) == file_name(summary)
}

/// Copy a saved sanitizer log from `input` to `output`, replacing every frame line left as
/// `(module+offset)` by the symbolized frames, as LLVM's `asan_symbolize.py` does (inlined
/// calls become several lines with the same address; later frames of the stack are
/// renumbered), without LLVM tools. When several processes' reports interleave, each frame
/// line's stack is the one [`Parser`] gives it to, and is renumbered by its own inlined frames
/// only, not by those of whichever stack printed last. Every other byte is copied unchanged: other lines, frame
/// lines that cannot be improved, invalid UTF-8, line endings, a last line without newline,
/// and what comes before a rewritten frame's `#` (colour codes such as the reset
/// `color=always` writes there), in front of the first line written for it (a CI timestamp in
/// front of every one).
/// Lines longer than [`MAX_LINE_BYTES`] are copied without being looked at. A TSan report is
/// held (at most [`MAX_HELD_LINES`] lines, 4 MiB; by [`symbolize_live_log`] also [`MAX_HOLD`] once its input is idle) until its `SUMMARY:` line, whose full path of the
/// program resolves the base names its frames print.
///
/// A frame whose `(BuildId: ...)` is not the build ID of the file at its module's path (the
/// program was rebuilt since) is left as it was. Returns notes for the user, one per module:
/// such a mismatch, a module with no DWARF (function names only) or with split DWARF (no
/// inlined calls, as [`Symbolizer::shortfall`] says), or one that no file is
/// (missing, or not a regular file), whose frames are left as they were; and one when the
/// input has no frame line at all (`#N 0x...`, also after a GitHub Actions timestamp): a
/// format leakcheck does not know passes through unchanged, and the user should know why.
pub fn symbolize_log(symbolizer: &Symbolizer, input: impl BufRead, output: impl Write) -> io::Result<Vec<String>> {
    rewrite_log(symbolizer, &mut Blocking(input), output)
}

/// [`symbolize_log`] of a live input, as `leakcheck symbolize` reads standard input or a file:
/// a thread reads `input` (in pieces of up to [`LIVE_READ_SIZE`], at most
/// [`LIVE_QUEUED_READS`] of them ahead), and every line is written as soon as it is rewritten.
/// The output is flushed whenever the input has nothing more ready, so a reader of a pipe
/// that is still being written gets each line (each report) at once, as `asan_symbolize.py`
/// prints it. Only a TSan report is held back for its `SUMMARY:` line (see
/// [`symbolize_log`]), and not for long: once the input has given nothing for
/// [`MAX_HOLD`] since the report's first line, its lines go out as they are known.
///
/// When `interrupt` is stopped ([`Interrupt::stop`], from a signal), the input ends there:
/// what was read (also what is queued) is rewritten, held lines included, and written, a line
/// left unfinished as it was, and the output flushed; `interrupt` says so after.
pub fn symbolize_live_log(
    symbolizer: &Symbolizer,
    input: impl Read + Send + 'static,
    output: impl Write,
    interrupt: &Interrupt,
) -> io::Result<Vec<String>> {
    let (sender, receiver) = std::sync::mpsc::sync_channel(LIVE_QUEUED_READS);
    if let Ok(mut wake) = interrupt.inner.wake.lock() {
        *wake = Some(sender.clone());
    }
    let stopped = interrupt.inner.stopped.clone();
    let reader_stopped = stopped.clone();
    // Not joined: after a stop it may be waiting for input that never comes (a terminal, a
    // pipe held open), and is left there, to end with the process.
    std::thread::spawn(move || read_pieces(input, &sender, &reader_stopped));
    let mut live = Live { receiver, piece: Vec::new(), at: 0, end: false, failed: None, stopped };
    let result = rewrite_log(symbolizer, &mut live, output);
    if let Ok(mut wake) = interrupt.inner.wake.lock() {
        *wake = None;
    }
    result
}

/// The longest a TSan report is held by [`symbolize_live_log`] while the input is idle.
pub const MAX_HOLD: Duration = Duration::from_secs(1);
/// What one read of [`symbolize_live_log`]'s input asks for.
const LIVE_READ_SIZE: usize = 1 << 20;
/// Reads [`symbolize_live_log`]'s reader may be ahead.
const LIVE_QUEUED_READS: usize = 4;

/// Tells [`symbolize_live_log`] to stop reading, from another thread (one that waits for
/// signals): clones share it.
#[derive(Clone, Debug, Default)]
pub struct Interrupt {
    inner: Arc<InterruptInner>,
}

#[derive(Debug, Default)]
struct InterruptInner {
    stopped: Arc<AtomicBool>,
    /// Wakes the rewriter waiting for input.
    wake: Mutex<Option<SyncSender<Piece>>>,
}

impl Interrupt {
    /// Stop: the input ends where it was read up to.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        if let Ok(wake) = self.inner.wake.lock() {
            if let Some(wake) = wake.as_ref() {
                // A full queue wakes the rewriter as well.
                let _ = wake.try_send(Piece::Wake);
            }
        }
    }

    /// Whether [`Interrupt::stop`] was called.
    pub fn stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }
}

/// What [`symbolize_live_log`]'s reader passes on.
enum Piece {
    Bytes(Vec<u8>),
    End,
    Failed(io::Error),
    /// Nothing read: look at the interrupt.
    Wake,
}

/// Read `input` into pieces for [`Live`], until its end, an error or a stop.
fn read_pieces(mut input: impl Read, sender: &SyncSender<Piece>, stopped: &AtomicBool) {
    let mut buffer = vec![0u8; LIVE_READ_SIZE];
    while !stopped.load(Ordering::SeqCst) {
        let piece = match input.read(&mut buffer) {
            Ok(0) => Piece::End,
            Ok(read) => Piece::Bytes(buffer.get(..read).unwrap_or_default().to_vec()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Piece::Failed(e),
        };
        let last = !matches!(piece, Piece::Bytes(_));
        if sender.send(piece).is_err() || last {
            return;
        }
    }
}

/// An input [`rewrite_log`] can ask whether more is ready without waiting for it.
trait LogInput: BufRead {
    /// Whether `fill_buf` would return without waiting (bytes, the end or an error).
    fn ready(&mut self) -> bool;
    /// Wait until [`LogInput::ready`], for at most `timeout` (`None`: as long as it takes).
    fn wait(&mut self, timeout: Option<Duration>);
}

/// A [`BufRead`] whose reads are taken to be ready (a log in memory, a file).
struct Blocking<R>(R);

impl<R: BufRead> Read for Blocking<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: BufRead> BufRead for Blocking<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.0.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.0.consume(amount);
    }
}

impl<R: BufRead> LogInput for Blocking<R> {
    fn ready(&mut self) -> bool {
        true
    }

    fn wait(&mut self, _: Option<Duration>) {}
}

/// The pieces [`read_pieces`] reads, as a [`LogInput`].
struct Live {
    receiver: Receiver<Piece>,
    piece: Vec<u8>,
    /// How much of `piece` was consumed.
    at: usize,
    end: bool,
    failed: Option<io::Error>,
    stopped: Arc<AtomicBool>,
}

impl Live {
    /// Take what the reader passed on.
    fn take(&mut self, piece: Piece) {
        match piece {
            Piece::Bytes(bytes) => {
                self.piece = bytes;
                self.at = 0;
            }
            Piece::End => self.end = true,
            Piece::Failed(err) => self.failed = Some(err),
            Piece::Wake => {}
        }
    }

    fn has_bytes(&self) -> bool {
        self.at < self.piece.len()
    }
}

impl Read for Live {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let length = available.len().min(buf.len());
        buf[..length].copy_from_slice(&available[..length]);
        self.consume(length);
        Ok(length)
    }
}

impl BufRead for Live {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while !self.has_bytes() && !self.end && self.failed.is_none() {
            if self.stopped.load(Ordering::SeqCst) {
                // What the reader had read still comes; then the end.
                match self.receiver.try_recv() {
                    Ok(piece) => self.take(piece),
                    Err(_) => self.end = true,
                }
                continue;
            }
            match self.receiver.recv() {
                Ok(piece) => self.take(piece),
                Err(_) => self.end = true,
            }
        }
        if let Some(err) = self.failed.take() {
            self.end = true;
            return Err(err);
        }
        Ok(self.piece.get(self.at..).unwrap_or_default())
    }

    fn consume(&mut self, amount: usize) {
        self.at = self.at.saturating_add(amount).min(self.piece.len());
    }
}

impl LogInput for Live {
    fn ready(&mut self) -> bool {
        while !self.has_bytes() && !self.end && self.failed.is_none() {
            if self.stopped.load(Ordering::SeqCst) {
                return true;
            }
            match self.receiver.try_recv() {
                Ok(piece) => self.take(piece),
                Err(TryRecvError::Empty) => return false,
                Err(TryRecvError::Disconnected) => self.end = true,
            }
        }
        true
    }

    fn wait(&mut self, timeout: Option<Duration>) {
        if self.ready() {
            return;
        }
        let piece = match timeout {
            None => self.receiver.recv().map_err(|_| ()),
            Some(timeout) => self.receiver.recv_timeout(timeout).map_err(|_| ()),
        };
        match piece {
            Ok(piece) => self.take(piece),
            Err(()) if timeout.is_none() => self.end = true,
            Err(()) => {}
        }
    }
}

/// Lines held back by [`rewrite_log`]: a TSan report's until its `SUMMARY:` line.
#[derive(Default)]
struct Held {
    lines: Vec<Vec<u8>>,
    bytes: usize,
    /// When the first was held.
    since: Option<Instant>,
}

/// Wait until `input` is ready, calling `idle` first and whenever the time it returns has
/// passed (`None`: wait as long as it takes).
fn wait_ready(input: &mut impl LogInput, idle: &mut dyn FnMut() -> io::Result<Option<Duration>>) -> io::Result<()> {
    while !input.ready() {
        let timeout = idle()?;
        input.wait(timeout);
    }
    Ok(())
}

/// [`symbolize_log`] of any [`LogInput`]: when it has nothing ready, what was written is
/// flushed, and a held report released after [`MAX_HOLD`].
fn rewrite_log(symbolizer: &Symbolizer, input: &mut impl LogInput, mut output: impl Write) -> io::Result<Vec<String>> {
    let mut log = LogRewriter {
        symbolizer,
        layouts: Layouts::default(),
        known: Vec::new(),
        cwd: std::env::current_dir().ok(),
        parser: Parser::new(),
        stacks: Vec::new(),
        notes: Vec::new(),
        noted: HashSet::new(),
        missing: HashSet::new(),
        frame_lines: 0,
    };
    let mut held = Held::default();
    let mut buffer = Vec::new();
    // A carriage return inside a line: a log whose lines end in bare CRs is one line here.
    let mut bare_cr = false;
    loop {
        buffer.clear();
        let read = {
            let mut idle = || log.idle(&mut held, &mut output);
            read_line(input, &mut buffer, &mut idle)?
        };
        bare_cr = bare_cr || strip_ending(&buffer).contains(&b'\r');
        match read {
            ReadLine::End => break,
            ReadLine::TooLong => {
                log.release(&mut held, &mut output)?;
                output.write_all(&buffer)?;
                copy_rest_of_line(input, &mut output)?;
                continue;
            }
            ReadLine::Line => {}
        }
        let content = strip_ending(&buffer);
        let content = line::strip_colours(content.get(timestamp_prefix(content)..).unwrap_or_default());
        let text = std::str::from_utf8(&content).map(str::trim_start).unwrap_or_default();
        let tsan_report = text.starts_with("WARNING: ThreadSanitizer: ");
        let tsan_summary = text.starts_with("SUMMARY: ThreadSanitizer: ");
        if tsan_report || !held.lines.is_empty() {
            if tsan_report {
                log.release(&mut held, &mut output)?;
                held.since = Some(Instant::now());
            }
            held.bytes += buffer.len();
            held.lines.push(std::mem::take(&mut buffer));
            if tsan_summary || held.lines.len() >= MAX_HELD_LINES || held.bytes >= MAX_HELD_BYTES {
                log.release(&mut held, &mut output)?;
            }
            continue;
        }
        log.rewrite(&buffer, &mut output)?;
    }
    log.release(&mut held, &mut output)?;
    output.flush()?;
    if log.frame_lines == 0 {
        let mut note = String::from(
            "no stack frame line (`#N 0x... (module+0x...)`, `#N 0x... in function file:line`) found in the input; it was copied unchanged",
        );
        if bare_cr {
            note.push_str(
                " (its lines end in bare carriage returns, \\r, which are not read as line ends: \
                 `tr '\\r' '\\n' < LOG` first)",
            );
        }
        log.notes.push(note);
    }
    Ok(log.notes)
}

/// Stacks [`symbolize_log`] renumbers at once: one per open report, and some.
const MAX_RENUMBERED_STACKS: usize = 2 * MAX_OPEN_REPORTS;

/// How a stack's frame numbers change as inlined frames are added.
#[derive(Debug, Clone, Copy, Default)]
struct Renumbering {
    /// The number of the stack's last frame, as read.
    last_index: u32,
    /// Frames added to the stack by inlining so far: what the next frames' numbers grow by.
    shift: u32,
}

/// Lines of one TSan report held by [`symbolize_log`], and their bytes.
pub const MAX_HELD_LINES: usize = 4096;
const MAX_HELD_BYTES: usize = 4 << 20;

/// The state of [`symbolize_log`] between lines.
struct LogRewriter<'a> {
    symbolizer: &'a Symbolizer,
    layouts: Layouts,
    /// Absolute module paths seen so far, to resolve base names.
    known: Vec<PathBuf>,
    /// Where relative module names are looked up.
    cwd: Option<PathBuf>,
    /// Attributes frame lines to reports as the run mode does, so that each stack is
    /// renumbered by its own inlined frames when several processes' stacks interleave.
    parser: Parser,
    /// The stacks being printed, least recently continued first (at most
    /// [`MAX_RENUMBERED_STACKS`]): the report whose frames they are (`None`: frames no report
    /// took), and their renumbering.
    stacks: Vec<(Option<u64>, Renumbering)>,
    /// What the user should know about the modules (see [`symbolize_log`]).
    notes: Vec<String>,
    /// Modules with a note already.
    noted: HashSet<PathBuf>,
    /// Modules as printed that no file is, noted already.
    missing: HashSet<String>,
    /// Frame lines read, symbolized or not.
    frame_lines: u64,
}

impl LogRewriter<'_> {
    /// Rewrite the held lines, after learning the modules they name.
    fn release(&mut self, held: &mut Held, output: &mut impl Write) -> io::Result<()> {
        for line in held.lines.iter() {
            if let Ok(text) = std::str::from_utf8(line) {
                learn_modules(text, &mut self.known);
            }
        }
        for line in held.lines.drain(..) {
            self.rewrite(&line, output)?;
        }
        held.bytes = 0;
        held.since = None;
        Ok(())
    }

    /// The input has nothing ready: flush what was written, and release the held lines once
    /// they were held for [`MAX_HOLD`]. How long to wait for input before asking again.
    fn idle(&mut self, held: &mut Held, output: &mut impl Write) -> io::Result<Option<Duration>> {
        let waited = held.since.map(|since| since.elapsed());
        if waited.is_some_and(|waited| waited >= MAX_HOLD) {
            self.release(held, output)?;
        }
        output.flush()?;
        Ok(held.since.map(|since| MAX_HOLD.saturating_sub(since.elapsed())))
    }

    /// What frame `#index` of `owner`'s grows by: the shift of the stack it continues (a
    /// greater number than that stack's last), or 0 when it begins one (`#0`, or a number not
    /// greater, as the parser starts a stack). That stack becomes the last of
    /// [`LogRewriter::stacks`], for [`LogRewriter::add_inlined`].
    fn shift(&mut self, owner: Option<u64>, index: u32) -> u32 {
        let at = self.stacks.iter().position(|(o, _)| *o == owner);
        let (_, mut renumbering) = at.map(|at| self.stacks.remove(at)).unwrap_or((owner, Renumbering::default()));
        if index <= renumbering.last_index {
            renumbering.shift = 0;
        }
        renumbering.last_index = index;
        if self.stacks.len() >= MAX_RENUMBERED_STACKS {
            self.stacks.remove(0);
        }
        self.stacks.push((owner, renumbering));
        renumbering.shift
    }

    /// The frame just read became `frames` frames (inlined calls): the rest of its stack moves.
    fn add_inlined(&mut self, frames: usize) {
        if let Some((_, renumbering)) = self.stacks.last_mut() {
            renumbering.shift = renumbering.shift.saturating_add(frames.saturating_sub(1) as u32);
        }
    }

    /// Say once when a module's answers say less than DWARF would (after symbolizing: split
    /// DWARF shows in the units looked up).
    fn note_debug_info(&mut self, module: &Path) {
        if self.noted.contains(module) {
            return;
        }
        if let Some(note) = self.symbolizer.shortfall(module) {
            self.noted.insert(module.to_owned());
            self.notes.push(note);
        }
    }

    /// Say once that a module as printed is no file that can be read: its frames stay bare.
    fn note_missing(&mut self, module: &str) {
        if !self.missing.insert(module.to_owned()) {
            return;
        }
        let looked_up = if Path::new(module).is_absolute() {
            String::from(" (or not a regular file)")
        } else {
            let cwd = self.cwd.as_deref().map_or_else(|| String::from("?"), |cwd| cwd.display().to_string());
            match module.contains('/') {
                true => format!(" (looked up among the log's module paths and in the current directory {cwd})"),
                false => format!(
                    " (looked up among the log's module paths, in the current directory {cwd} and in the system library directories)"
                ),
            }
        };
        self.notes.push(format!("{module}: not found{looked_up}; its frames are left as they were"));
    }

    /// Write one line (with its line ending), symbolized if it is an unsymbolized frame.
    fn rewrite(&mut self, buffer: &[u8], output: &mut impl Write) -> io::Result<()> {
        let line = strip_ending(buffer);
        let ending = buffer.get(line.len()..).unwrap_or_default();
        // A CI timestamp stays in front of every line written for this one.
        let (prefix, content) = line.split_at(timestamp_prefix(line));
        self.parser.feed_line(content);
        // Read as the parser reads it, without colours (`color=always` puts `ESC[1mESC[0m`
        // before the first frame after a coloured headline, which ends the headline's colour).
        let plain = line::strip_colours(content);
        let parsed = std::str::from_utf8(&plain).ok().and_then(|text| Some((text, line::parse_frame(text)?)));
        let Some((text, parsed)) = parsed else {
            return output.write_all(buffer);
        };
        self.frame_lines += 1;
        let frame = &parsed.frame;
        let shift = self.shift(self.parser.frame_owner(), frame.index);
        learn_modules(text, &mut self.known);
        let symbolized = match request(frame, &self.known, self.cwd.as_deref(), &mut self.layouts, self.symbolizer) {
            Some(Request::Symbolize(module, address)) => {
                let frames = self.symbolizer.symbolize(&module, address);
                self.note_debug_info(&module);
                Some(frames)
            }
            Some(Request::OtherBuild { module, printed, found }) => {
                if self.noted.insert(module.clone()) {
                    self.notes.push(format!(
                        "{}: the log's build ID {printed} is not the file's ({}): the program changed since; its frames are left as they were",
                        module.display(),
                        found.as_deref().unwrap_or("none")
                    ));
                }
                None
            }
            Some(Request::Missing(module)) => {
                self.note_missing(&module);
                None
            }
            None => None,
        }
        .filter(|symbolized| improves(frame, symbolized));
        let indent = text.get(..parsed.indent).unwrap_or_default();
        // What comes before the `#` as the runtime wrote it, colour codes included: the first
        // line written for the frame begins with it, so that a reset there still ends the
        // colour of the line before.
        let lead = content.get(..before_plain(content, parsed.indent)).unwrap_or_default();
        match symbolized {
            Some(symbolized) => {
                let expanded = expand(frame, &symbolized, shift);
                self.add_inlined(expanded.len());
                // One line per frame; only the last keeps the input's ending, which a log's
                // last line may lack.
                let between: &[u8] = if ending.is_empty() { b"\n" } else { ending };
                for (i, frame) in expanded.iter().enumerate() {
                    if i > 0 {
                        output.write_all(between)?;
                        output.write_all(prefix)?;
                        output.write_all(format_frame(indent, frame, parsed.style).as_bytes())?;
                    } else {
                        output.write_all(prefix)?;
                        output.write_all(lead)?;
                        output.write_all(format_frame("", frame, parsed.style).as_bytes())?;
                    }
                }
                output.write_all(ending)
            }
            None if shift > 0 => {
                // Same line, renumbered: only the digits after `#` change, colour codes and
                // all else kept as written.
                let after_hash = text.get(parsed.indent + 1..).unwrap_or_default();
                let digits = after_hash.bytes().take_while(u8::is_ascii_digit).count();
                let rest = content.get(before_plain(content, parsed.indent + digits) + 1..).unwrap_or_default();
                output.write_all(prefix)?;
                output.write_all(lead)?;
                write!(output, "#{}", frame.index.saturating_add(shift))?;
                output.write_all(rest)?;
                output.write_all(ending)
            }
            None => output.write_all(buffer),
        }
    }
}

/// The length of the timestamp GitHub Actions writes before each line of a job's log
/// (`2024-05-01T12:00:00.1234567Z `: ISO 8601 date and time in UTC, any fraction of a second,
/// `Z`, one space), with the byte-order mark the first line of a downloaded log has; 0 when the
/// line has none.
fn timestamp_prefix(line: &[u8]) -> usize {
    const BOM: &[u8] = b"\xef\xbb\xbf";
    let start = if line.starts_with(BOM) { BOM.len() } else { 0 };
    let Some(rest) = line.get(start..) else { return 0 };
    // YYYY-MM-DDTHH:MM:SS, digits where the pattern has `d`.
    let pattern = b"dddd-dd-ddTdd:dd:dd";
    let Some(date_time) = rest.get(..pattern.len()) else { return 0 };
    let fits = date_time.iter().zip(pattern).all(|(&b, &p)| if p == b'd' { b.is_ascii_digit() } else { b == p });
    if !fits {
        return 0;
    }
    let mut at = pattern.len();
    if rest.get(at) == Some(&b'.') {
        let digits = rest.get(at + 1..).unwrap_or_default().iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return 0;
        }
        at += 1 + digits;
    }
    match rest.get(at..at + 2) {
        Some(b"Z ") => start + at + 2,
        _ => 0,
    }
}

/// Where in `line` the byte that [`line::strip_colours`] puts at `plain` comes from: the bytes
/// before it are the first `plain` bytes of the plain line and every colour code before and
/// among them. The line's length when the plain line is not that long.
fn before_plain(line: &[u8], plain: usize) -> usize {
    let mut at = 0;
    let mut seen = 0;
    while let Some(&byte) = line.get(at) {
        if byte == 0x1b && line.get(at + 1) == Some(&b'[') {
            // Parameters and intermediates, then one final byte in 0x40..=0x7e.
            at += 2;
            while line.get(at).is_some_and(|b| !(0x40..=0x7e).contains(b)) {
                at += 1;
            }
            at = (at + 1).min(line.len());
            continue;
        }
        if seen == plain {
            return at;
        }
        seen += 1;
        at += 1;
    }
    line.len()
}

/// The line without its `\n` or `\r\n`.
fn strip_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Remember the absolute paths of `(/path+0x...)` in a line.
fn learn_modules(text: &str, known: &mut Vec<PathBuf>) {
    for module in line::modules_named(text) {
        let module = Path::new(module);
        if module.is_absolute() && known.len() < MAX_KNOWN_MODULES && !known.iter().any(|k| k == module) {
            known.push(module.to_owned());
        }
    }
}

enum ReadLine {
    /// `buffer` holds a line, with its `\n` if it had one.
    Line,
    /// The line is longer than [`MAX_LINE_BYTES`]: `buffer` holds its beginning, the rest is
    /// still to be read.
    TooLong,
    End,
}

/// Read one line into `buffer`, but no more than [`MAX_LINE_BYTES`] of it; `idle` as
/// [`wait_ready`] calls it.
fn read_line(
    input: &mut impl LogInput,
    buffer: &mut Vec<u8>,
    idle: &mut dyn FnMut() -> io::Result<Option<Duration>>,
) -> io::Result<ReadLine> {
    loop {
        wait_ready(input, idle)?;
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if buffer.is_empty() { ReadLine::End } else { ReadLine::Line });
        }
        let (take, complete) = match available.iter().position(|&b| b == b'\n') {
            Some(newline) => (newline + 1, true),
            None => (available.len(), false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(buffer.len());
        if take > room {
            buffer.extend_from_slice(&available[..room]);
            input.consume(room);
            return Ok(ReadLine::TooLong);
        }
        buffer.extend_from_slice(&available[..take]);
        input.consume(take);
        if complete {
            return Ok(ReadLine::Line);
        }
    }
}

/// Copy the input to the output up to and including the next `\n`.
fn copy_rest_of_line(input: &mut impl LogInput, output: &mut impl Write) -> io::Result<()> {
    loop {
        wait_ready(input, &mut || output.flush().map(|()| None))?;
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(());
        }
        let (take, complete) = match available.iter().position(|&b| b == b'\n') {
            Some(newline) => (newline + 1, true),
            None => (available.len(), false),
        };
        output.write_all(&available[..take])?;
        input.consume(take);
        if complete {
            return Ok(());
        }
    }
}

/// The frame as the runtime would have printed it, symbolized.
fn format_frame(indent: &str, frame: &ReportFrame, style: FrameStyle) -> String {
    let location = match (&frame.file, frame.line, frame.column) {
        (Some(file), Some(line), Some(column)) => Some(format!("{file}:{line}:{column}")),
        (Some(file), Some(line), None) => Some(format!("{file}:{line}")),
        (Some(file), None, _) => Some(file.clone()),
        (None, _, _) => None,
    };
    // LLVM's runtimes follow the module part with the build ID; a location replaces both.
    let module = match (&frame.module, frame.module_offset, &frame.build_id) {
        (Some(module), Some(offset), Some(id)) => format!("({module}+{offset:#x}) (BuildId: {id})"),
        (Some(module), Some(offset), None) => format!("({module}+{offset:#x})"),
        _ => String::new(),
    };
    match style {
        FrameStyle::Address => {
            let address = frame.address.map_or_else(String::new, |a| format!("{a:#x}"));
            let function = frame.function.as_ref().map_or_else(String::new, |f| format!("in {f}"));
            // sanitizer_common's `%p %F %L`: the module stands in for an unknown location.
            format!("{indent}#{} {address} {function} {}", frame.index, location.unwrap_or(module))
        }
        FrameStyle::Tsan => format!(
            "{indent}#{} {} {} {module}",
            frame.index,
            frame.function.as_deref().unwrap_or("<null>"),
            location.as_deref().unwrap_or("<null>"),
        ),
    }
}

/// The frames of all stacks of a finding.
fn stacks(finding: &Finding) -> impl Iterator<Item = &Vec<ReportFrame>> {
    std::iter::once(&finding.frames).chain(finding.related.iter().map(|r| &r.frames))
}

/// Absolute module paths named in a finding: its frames and its `SUMMARY:` line.
fn finding_modules(finding: &Finding) -> Vec<PathBuf> {
    let mut known: Vec<PathBuf> = Vec::new();
    let frames = stacks(finding).flatten().filter_map(|f| f.module.as_deref());
    let summary = finding.summary.as_deref().into_iter().flat_map(line::modules_named);
    for module in frames.chain(summary) {
        let module = Path::new(module);
        if module.is_absolute() && known.len() < MAX_KNOWN_MODULES && !known.iter().any(|k| k == module) {
            known.push(module.to_owned());
        }
    }
    known
}

/// What to do for a frame that needs symbolizing (`None`: it does not).
#[derive(Debug, PartialEq, Eq)]
enum Request {
    /// Symbolize this ELF virtual address of this module file.
    Symbolize(PathBuf, u64),
    /// No usable file is the module as printed (missing, not a regular file, in `/proc`...).
    Missing(String),
    /// The sanitizer printed a build ID the file at the module's path does not have (hex).
    OtherBuild { module: PathBuf, printed: String, found: Option<String> },
}

/// `cwd`: where relative module names are looked up.
fn request(
    frame: &ReportFrame,
    known: &[PathBuf],
    cwd: Option<&Path>,
    layouts: &mut Layouts,
    symbolizer: &Symbolizer,
) -> Option<Request> {
    if frame.function.is_some() && frame.file.is_some() {
        return None;
    }
    let offset = frame.module_offset?;
    let named = frame.module.as_deref()?;
    if is_pseudo_module(named) {
        return None;
    }
    // A module read earlier (when its report completed) may be gone since.
    let candidates = if Path::new(named).is_absolute() && symbolizer.has_read(Path::new(named)) {
        vec![PathBuf::from(named)]
    } else {
        module_candidates(named, known, cwd, layouts)
    };
    if candidates.is_empty() {
        return Some(Request::Missing(named.to_owned()));
    }
    let module = match &frame.build_id {
        None => candidates.into_iter().next()?,
        Some(printed) => {
            let same = |c: &&PathBuf| build_id_hex(symbolizer, c).is_some_and(|id| id.eq_ignore_ascii_case(printed));
            let Some(module) = candidates.iter().find(same).cloned() else {
                let module = candidates.into_iter().next()?;
                let found = build_id_hex(symbolizer, &module);
                return Some(Request::OtherBuild { module, printed: printed.clone(), found });
            };
            module
        }
    };
    let address = layouts.get(&module).map_or(offset, |layout| layout.virtual_address(offset, frame.address));
    Some(Request::Symbolize(module, address))
}

/// `[stack]`, `[heap]`, `[vdso]`, `[anon:name]`...: what `/proc/PID/maps` names a mapping that
/// is no file with, and the runtimes print as its module.
fn is_pseudo_module(module: &str) -> bool {
    module.starts_with('[') && module.ends_with(']')
}

/// The build ID of a module file, in hexadecimal as the runtimes print it.
fn build_id_hex(symbolizer: &Symbolizer, module: &Path) -> Option<String> {
    symbolizer.build_id(module).map(|id| id.iter().map(|b| format!("{b:02x}")).collect())
}

/// The regular files a module name as printed may be, the likeliest first (see the module
/// documentation); `cwd` is where relative names are looked up.
fn module_candidates(module: &str, known: &[PathBuf], cwd: Option<&Path>, layouts: &mut Layouts) -> Vec<PathBuf> {
    let path = Path::new(module);
    if path.is_absolute() {
        return layouts.usable(path).into_iter().collect();
    }
    let relative = Path::new(module.strip_prefix("./").unwrap_or(module));
    if relative.as_os_str().is_empty() {
        return Vec::new();
    }
    let bare = !module.contains('/');
    let mut candidates: Vec<PathBuf> = known.iter().filter(|k| k.ends_with(relative)).cloned().collect();
    candidates.extend(cwd.map(|cwd| cwd.join(relative)));
    if bare {
        candidates.extend(LIBRARY_DIRS.iter().map(|dir| Path::new(dir).join(relative)));
    }
    let mut usable: Vec<PathBuf> = Vec::new();
    for candidate in candidates.iter().filter_map(|c| layouts.usable(c)) {
        if !usable.contains(&candidate) {
            usable.push(candidate);
        }
    }
    usable
}

/// `path`, if it is a regular file outside `/proc`, `/sys` and `/dev`: kernel files pass for
/// regular ones, and some block on read (`/proc/kmsg`). A relative name joined to a directory
/// may reach them through `..` or a symbolic link, so the real paths of the file and of its
/// directory are checked too.
fn usable_module(path: &Path) -> Option<PathBuf> {
    let special = |path: &Path| ["/proc", "/sys", "/dev"].iter().any(|dir| path.starts_with(dir));
    if special(path) || !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let real = |path: &Path| std::fs::canonicalize(path).ok().filter(|real| !special(real));
    real(path)?;
    real(path.parent()?)?;
    Some(path.to_owned())
}

/// Does the symbolizer say more than the runtime did?
fn improves(frame: &ReportFrame, symbolized: &[Frame]) -> bool {
    (frame.function.is_none() && symbolized.iter().any(|f| f.function.is_some()))
        || (frame.file.is_none() && symbolized.iter().any(|f| f.file.is_some()))
}

/// One report frame -> the symbolizer's frames, numbered from `index + shift`, their files
/// as the runtime prints them.
fn expand(frame: &ReportFrame, symbolized: &[Frame], shift: u32) -> Vec<ReportFrame> {
    let last = symbolized.len().saturating_sub(1);
    symbolized
        .iter()
        .enumerate()
        .map(|(i, s)| ReportFrame {
            index: frame.index.saturating_add(shift).saturating_add(i as u32),
            address: frame.address,
            // The runtime's own name (from the dynamic symbol table) beats none.
            function: s.function.clone().or_else(|| if i == last { frame.function.clone() } else { None }),
            // sanitizer_common prints a source path without its leading `./` (StripPathPrefix;
            // glibc's DWARF says `./csu/../csu/libc-start.c`), llvm-symbolizer with it.
            file: s.file.as_deref().map(|file| file.strip_prefix("./").unwrap_or(file).to_owned()),
            line: s.line,
            column: s.column,
            module: frame.module.clone(),
            module_offset: frame.module_offset,
            build_id: frame.build_id.clone(),
            inlined: s.inlined,
        })
        .collect()
}

/// What is known of each module file, cached per path: what its program headers say, and
/// whether it is a usable module file at all ([`usable_module`]: a log names the same few
/// modules on every frame line, each check several system calls).
#[derive(Debug, Default)]
struct Layouts {
    cache: HashMap<PathBuf, Option<Layout>>,
    usable: HashMap<PathBuf, Option<PathBuf>>,
}

impl Layouts {
    fn get(&mut self, path: &Path) -> Option<&Layout> {
        self.cache.entry(path.to_owned()).or_insert_with(|| Layout::read(path)).as_ref()
    }

    fn usable(&mut self, path: &Path) -> Option<PathBuf> {
        self.usable.entry(path.to_owned()).or_insert_with(|| usable_module(path)).clone()
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Layout {
    /// `ET_EXEC`: linked at fixed addresses.
    fixed: bool,
    /// `(p_vaddr, p_memsz)` of each `PT_LOAD`.
    loads: Vec<(u64, u64)>,
}

impl Layout {
    /// The ELF virtual address of `offset` (and of the printed `address`, if any).
    fn virtual_address(&self, offset: u64, address: Option<u64>) -> u64 {
        if !self.fixed {
            return offset;
        }
        let loaded = |a: u64| self.loads.iter().any(|&(start, size)| a >= start && a - start < size);
        if let Some(address) = address.filter(|&a| loaded(a)) {
            return address;
        }
        if loaded(offset) {
            return offset;
        }
        let from_first_mapping = self.loads.first().map(|&(start, _)| (start & !0xfff).wrapping_add(offset));
        from_first_mapping.filter(|&a| loaded(a)).unwrap_or(offset)
    }

    /// Read the ELF header and program headers (32- or 64-bit, either byte order).
    fn read(path: &Path) -> Option<Layout> {
        let mut file = File::open(path).ok()?;
        let mut header = [0u8; 64];
        file.read_exact(&mut header).ok()?;
        Layout::parse(&header, |offset, length| {
            let mut table = vec![0u8; length];
            file.seek(SeekFrom::Start(offset)).ok()?;
            file.read_exact(&mut table).ok()?;
            Some(table)
        })
    }

    /// `read_table(offset, length)` reads the program header table.
    fn parse(header: &[u8; 64], read_table: impl FnOnce(u64, usize) -> Option<Vec<u8>>) -> Option<Layout> {
        if header.get(..4)? != b"\x7fELF" {
            return None;
        }
        let wide = match header[4] {
            1 => false,
            2 => true,
            _ => return None,
        };
        let big = match header[5] {
            1 => false,
            2 => true,
            _ => return None,
        };
        let field = |bytes: &[u8], at: usize, size: usize| -> Option<u64> {
            let slice = bytes.get(at..at.checked_add(size)?)?;
            let mut value = 0u64;
            for i in 0..size {
                let byte = if big { slice[i] } else { slice[size - 1 - i] };
                value = (value << 8) | u64::from(byte);
            }
            Some(value)
        };
        let word = if wide { 8 } else { 4 };
        let e_type = field(header, 16, 2)?;
        let (phoff, phentsize, phnum) = if wide {
            (field(header, 32, 8)?, field(header, 54, 2)?, field(header, 56, 2)?)
        } else {
            (field(header, 28, 4)?, field(header, 42, 2)?, field(header, 44, 2)?)
        };
        let phentsize = usize::try_from(phentsize).ok()?;
        let phnum = usize::try_from(phnum).ok()?.min(MAX_PROGRAM_HEADERS);
        // p_type, then (64-bit) p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz.
        let (vaddr_at, memsz_at) = if wide { (16, 40) } else { (8, 20) };
        if phentsize < memsz_at + word {
            return None;
        }
        let table = read_table(phoff, phentsize.checked_mul(phnum)?)?;
        let loads = table
            .chunks_exact(phentsize)
            .filter(|entry| field(entry, 0, 4) == Some(1))
            .filter_map(|entry| Some((field(entry, vaddr_at, word)?, field(entry, memsz_at, word)?)))
            .collect();
        Some(Layout { fixed: e_type == 2, loads })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_unsymbolized_summary_line_names_its_symbolized_frame() {
        let frame = |function: Option<&str>, line: Option<u32>, offset: u64| ReportFrame {
            index: 0,
            address: Some(0x7f00_0000_25d4),
            function: function.map(str::to_owned),
            file: line.map(|_| "/src/asanext.c".to_owned()),
            line,
            column: line.map(|_| 5),
            module: Some("/tmp/x/_asanext.so".to_owned()),
            module_offset: Some(offset),
            build_id: None,
            inlined: false,
        };
        let frames = [frame(Some("__interceptor_memcpy"), None, 0x10), frame(Some("overflow"), Some(20), 0x25d4)];
        let raw = "SUMMARY: AddressSanitizer: heap-buffer-overflow (/tmp/x/_asanext.so+0x25d4) in overflow(int)";
        assert_eq!(
            symbolized_summary(raw, frames.iter()).as_deref(),
            Some("SUMMARY: AddressSanitizer: heap-buffer-overflow /src/asanext.c:20:5 in overflow")
        );
        // No frame at that offset, an unsymbolized one, or no location at all: unchanged.
        assert_eq!(symbolized_summary(raw, frames[..1].iter()), None);
        assert_eq!(symbolized_summary(raw, [frame(None, None, 0x25d4)].iter()), None);
        let leak = "SUMMARY: AddressSanitizer: 48 byte(s) leaked in 1 allocation(s).";
        assert_eq!(symbolized_summary(leak, frames.iter()), None);
        // A frame with a function but no line keeps the module and offset as its location.
        let symtab_only = [frame(Some("overflow"), None, 0x25d4)];
        assert_eq!(
            symbolized_summary(raw, symtab_only.iter()).as_deref(),
            Some("SUMMARY: AddressSanitizer: heap-buffer-overflow (/tmp/x/_asanext.so+0x25d4) in overflow")
        );
        // ... and the build ID printed after them.
        let with_id = "SUMMARY: AddressSanitizer: heap-buffer-overflow (/tmp/x/_asanext.so+0x25d4) (BuildId: 5c6d98bf) in overflow(int)";
        assert_eq!(
            symbolized_summary(with_id, symtab_only.iter()).as_deref(),
            Some("SUMMARY: AddressSanitizer: heap-buffer-overflow (/tmp/x/_asanext.so+0x25d4) (BuildId: 5c6d98bf) in overflow")
        );
        assert_eq!(
            symbolized_summary(with_id, frames.iter()).as_deref(),
            Some("SUMMARY: AddressSanitizer: heap-buffer-overflow /src/asanext.c:20:5 in overflow")
        );
    }

    /// A relative DWARF path loses its leading `./`, as sanitizer_common prints it (the runtime
    /// with llvm-symbolizer: `__libc_start_main csu/../csu/libc-start.c:360:3`).
    #[test]
    fn relative_paths_lose_their_leading_dot_slash() {
        let raw = raw_frame(Some(0x7f97_f924_5304), "/lib/x86_64-linux-gnu/libc.so.6", 0x27304);
        let symbolized = |file: &str| Frame {
            function: Some("__libc_start_main".to_owned()),
            file: Some(file.to_owned()),
            line: Some(360),
            column: Some(3),
            module: "/lib/x86_64-linux-gnu/libc.so.6".to_owned(),
            address: 0x27304,
            inlined: false,
        };
        let files = |file: &str| expand(&raw, &[symbolized(file)], 0)[0].file.clone();
        assert_eq!(files("./csu/../csu/libc-start.c").as_deref(), Some("csu/../csu/libc-start.c"));
        assert_eq!(files("../csu/libc-start.c").as_deref(), Some("../csu/libc-start.c"));
        assert_eq!(files("/src/csu/libc-start.c").as_deref(), Some("/src/csu/libc-start.c"));
    }

    /// TSan's frames name the module by its base name, its summary by the full path (and the
    /// other way round in a log edited by hand): the same file. Different paths are not.
    #[test]
    fn a_tsan_summary_names_the_module_its_frames_call_by_base_name() {
        let frame = |module: &str| ReportFrame {
            index: 0,
            address: None,
            function: Some("bump".to_owned()),
            file: Some("/src/race.c".to_owned()),
            line: Some(10),
            column: Some(12),
            module: Some(module.to_owned()),
            module_offset: Some(0xd0194),
            build_id: None,
            inlined: false,
        };
        let raw = "SUMMARY: ThreadSanitizer: data race (/tmp/q/tsan-race+0xd0194) (BuildId: 58eb3cc0)";
        let symbolized = Some("SUMMARY: ThreadSanitizer: data race /src/race.c:10:12 in bump");
        assert_eq!(symbolized_summary(raw, [frame("tsan-race")].iter()).as_deref(), symbolized);
        assert_eq!(symbolized_summary(raw, [frame("/tmp/q/tsan-race")].iter()).as_deref(), symbolized);
        assert_eq!(symbolized_summary(raw, [frame("/elsewhere/tsan-race")].iter()), None);
        assert_eq!(symbolized_summary(raw, [frame("tsan")].iter()), None);
        let bare = "SUMMARY: ThreadSanitizer: data race (tsan-race+0xd0194)";
        assert_eq!(symbolized_summary(bare, [frame("/tmp/q/tsan-race")].iter()).as_deref(), symbolized);
    }
    use super::*;

    fn raw_frame(address: Option<u64>, module: &str, offset: u64) -> ReportFrame {
        ReportFrame {
            index: 0,
            address,
            function: None,
            file: None,
            line: None,
            column: None,
            module: Some(module.into()),
            module_offset: Some(offset),
            build_id: None,
            inlined: false,
        }
    }

    #[test]
    fn fixed_address_executables_prefer_a_loaded_reading() {
        let layout = Layout { fixed: true, loads: vec![(0x400000, 0x5d8), (0x401000, 0x259)] };
        // dl_iterate_phdr's reading: offset == address == vaddr.
        assert_eq!(layout.virtual_address(0x401242, Some(0x401242)), 0x401242);
        // Measured from the first mapping (older runtimes).
        assert_eq!(layout.virtual_address(0x1242, None), 0x401242);
        // Nothing fits: the offset as printed.
        assert_eq!(layout.virtual_address(0x9999999, None), 0x9999999);
        let shared = Layout { fixed: false, loads: vec![(0, 0x2000)] };
        assert_eq!(shared.virtual_address(0x11f8, Some(0x7f00_0000_11f8)), 0x11f8);
    }

    #[test]
    fn program_headers_of_hostile_files_give_no_layout() {
        let mut header = [0u8; 64];
        assert_eq!(Layout::parse(&header, |_, _| None), None);
        header[..6].copy_from_slice(b"\x7fELF\x02\x01");
        header[16] = 2;
        header[54] = 0xff; // phentsize 255
        header[56] = 0xff; // phnum 65535 -> capped
        header[57] = 0xff;
        let mut asked = 0;
        let layout = Layout::parse(&header, |_, length| {
            asked = length;
            Some(vec![0xff; length])
        });
        assert_eq!(asked, 255 * MAX_PROGRAM_HEADERS);
        assert_eq!(layout, Some(Layout { fixed: true, loads: vec![] }));
        header[4] = 3;
        assert_eq!(Layout::parse(&header, |_, _| Some(Vec::new())), None);
    }

    #[test]
    fn special_files_and_missing_modules_are_never_opened() {
        let known = vec![PathBuf::from("/dev/stdin")];
        let cwd = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/proc/kmsg", cwd.path().join("kmsg")).unwrap();
        let up = "../".repeat(cwd.path().components().count());
        for module in [
            "/dev/stdin",
            "/dev/zero",
            "/proc/kmsg",
            "/proc/self/exe",
            "/sys/kernel/notes",
            "/nonexistent/lib.so",
            "stdin",
            "",
            "./",
            "relative/lib.so",
            "kmsg",
            &format!("{up}proc/kmsg"),
            &format!("{up}proc/self/exe"),
        ] {
            assert_eq!(
                module_candidates(module, &known, Some(cwd.path()), &mut Layouts::default()),
                Vec::<PathBuf>::new(),
                "{module}"
            );
        }
        for module in ["proc/kmsg", "proc/self/exe", "dev/zero", "sys/kernel/notes"] {
            assert_eq!(
                module_candidates(module, &known, Some(Path::new("/")), &mut Layouts::default()),
                Vec::<PathBuf>::new(),
                "{module}"
            );
        }
        let mut layouts = Layouts::default();
        let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
        assert_eq!(
            request(&raw_frame(None, "/dev/zero", 1), &known, None, &mut layouts, &symbolizer),
            Some(Request::Missing("/dev/zero".into()))
        );
    }

    #[test]
    fn relative_modules_are_looked_up_in_known_paths_then_the_working_directory() {
        let cwd = tempfile::tempdir().unwrap();
        let (top, sub) = (cwd.path().join("lib.so"), cwd.path().join("sub/lib.so"));
        std::fs::create_dir(cwd.path().join("sub")).unwrap();
        std::fs::write(&top, b"top").unwrap();
        std::fs::write(&sub, b"sub").unwrap();
        let known = vec![sub.clone(), PathBuf::from("/nonexistent/lib.so")];
        let here = Some(cwd.path());
        assert_eq!(module_candidates("lib.so", &known, here, &mut Layouts::default()), [sub.clone(), top.clone()]);
        assert_eq!(module_candidates("./lib.so", &[], here, &mut Layouts::default()), [top]);
        assert_eq!(module_candidates("lib.so", &[], None, &mut Layouts::default()), Vec::<PathBuf>::new());
        assert_eq!(module_candidates("sub/lib.so", &[], here, &mut Layouts::default()), std::slice::from_ref(&sub));
        assert_eq!(
            module_candidates("./sub/lib.so", &known, here, &mut Layouts::default()),
            std::slice::from_ref(&sub)
        );
        assert_eq!(
            module_candidates("sub/../lib.so", &[], here, &mut Layouts::default()),
            [cwd.path().join("sub/../lib.so")]
        );
        // Base names also in the system's library directories, after the working directory.
        std::fs::write(cwd.path().join("libc.so.6"), b"not libc").unwrap();
        let libc = module_candidates("libc.so.6", &[], here, &mut Layouts::default());
        assert_eq!(libc.first(), Some(&cwd.path().join("libc.so.6")));
        assert!(libc.get(1).is_some_and(|path| path.starts_with("/lib") || path.starts_with("/usr")), "{libc:?}");
    }

    #[test]
    fn log_lines_pass_through_byte_for_byte() {
        let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
        let mut input: Vec<u8> = b"plain\r\n\xff\xfe invalid\n    #0 0x1  (/nonexistent/x.so+0x1)\n".to_vec();
        input.extend(std::iter::repeat_n(b'y', MAX_LINE_BYTES * 3));
        input.extend_from_slice(b"\n    #1 0x2 in f /a.c:1\nno newline");
        let mut output = Vec::new();
        assert!(symbolize_log(&symbolizer, &input[..], &mut output).is_ok());
        assert_eq!(output, input);
    }

    #[test]
    fn github_actions_timestamps_are_a_prefix_and_nothing_else_is() {
        for (line, prefix) in [
            (&b"2024-05-01T12:00:00.1234567Z     #0 0x1  (/x.so+0x1)"[..], 29),
            (b"2024-05-01T12:00:00Z #0", 21),
            (b"\xef\xbb\xbf2024-05-01T12:00:00.1Z ==1==ERROR", 26),
            (b"2024-05-01T12:00:00.1234567Z ", 29),
            (b"2024-05-01T12:00:00.1234567Z", 0),
            (b"2024-05-01T12:00:00.Z #0", 0),
            (b"2024-05-01T12:00:00.1234567+00:00 #0", 0),
            (b"2024-05-01 12:00:00.1234567Z #0", 0),
            (b"2024-05-01T12:00:00.1234567Z\t#0", 0),
            (b"    #0 0x1  (/x.so+0x1)", 0),
            (b"2024-05-0", 0),
            (b"\xef\xbb", 0),
            (b"", 0),
            (b"\xff\xfe2024-05-01T12:00:00Z ", 0),
        ] {
            assert_eq!(timestamp_prefix(line), prefix, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn pseudo_modules_are_not_looked_up() {
        let mut layouts = Layouts::default();
        let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
        for module in ["[stack]", "[heap]", "[vdso]", "[anon:libc_malloc]", "[stack:1234]"] {
            assert_eq!(request(&raw_frame(None, module, 0x1e72f), &[], None, &mut layouts, &symbolizer), None);
        }
        // A file whose name merely has brackets in it is still a module.
        assert_eq!(
            request(&raw_frame(None, "/nonexistent/[stack].so", 1), &[], None, &mut layouts, &symbolizer),
            Some(Request::Missing("/nonexistent/[stack].so".into()))
        );
    }

    /// A log whose frames leakcheck did not recognise would otherwise come out unchanged without
    /// a word; one with frames, symbolized or not, gets no such note.
    #[test]
    fn a_log_without_frame_lines_gets_one_note() {
        let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
        let notes = |input: &[u8]| symbolize_log(&symbolizer, input, Vec::new()).unwrap_or_default();
        let none = notes(b"0:00:00 load avg: 1.06 Run tests sequentially\n+ #0 0x1 (/x.so+0x1)\n\n");
        assert_eq!(none.len(), 1, "{none:?}");
        assert!(none[0].starts_with("no stack frame line"), "{none:?}");
        assert_eq!(notes(b"").len(), 1);
        assert!(!none[0].contains("carriage"), "{none:?}");
        // Bare CR line endings (QA's log): the note says why nothing was found.
        let cr = notes(b"==1==ERROR: AddressSanitizer: SEGV\r    #0 0x55f8  (/x+0x11f8)\r\rSUMMARY: x\r");
        assert!(cr.len() == 1 && cr[0].contains("bare carriage returns") && cr[0].contains("tr '\\r' '\\n'"), "{cr:?}");
        // CRLF endings are line ends.
        assert_eq!(notes(b"    #0 0x55f8 in main /src/x.c:5:3\r\n"), Vec::<String>::new());
        assert_eq!(notes(b"    #0 0x55f8 in main /src/x.c:5:3\n"), Vec::<String>::new());
        assert_eq!(notes(b"2024-05-01T12:00:00.1234567Z     #0 0x55f8 in main /src/x.c:5:3\n"), Vec::<String>::new());
        assert_eq!(notes(b"    #3 0x7ffd6eaa872f  ([stack]+0x1e72f)\n"), Vec::<String>::new());
    }

    #[test]
    fn colour_codes_before_a_plain_position_are_counted_in() {
        let line = b"\x1b[1m\x1b[0m    #0 0x1";
        assert_eq!(before_plain(line, 0), 8);
        assert_eq!(before_plain(line, 4), 12);
        assert_eq!(&line[..before_plain(line, 4)], b"\x1b[1m\x1b[0m    ");
        assert_eq!(before_plain(b"  #1", 2), 2);
        assert_eq!(before_plain(b"a\x1b[31m#1", 1), 6);
        assert_eq!(before_plain(b"ab", 5), 2);
        // An unterminated code runs to the end, as strip_colours reads it.
        assert_eq!(before_plain(b"\x1b[12", 0), 4);
        assert_eq!(before_plain(b"\x1b", 0), 0);
    }

    #[test]
    fn frames_are_formatted_like_the_runtime() {
        let mut frame = raw_frame(Some(0x55f8), "/bin/x", 0x11f8);
        frame.function = Some("main".into());
        frame.file = Some("/src/x.c".into());
        frame.line = Some(5);
        frame.column = Some(3);
        assert_eq!(format_frame("    ", &frame, FrameStyle::Address), "    #0 0x55f8 in main /src/x.c:5:3");
        assert_eq!(format_frame("    ", &frame, FrameStyle::Tsan), "    #0 main /src/x.c:5:3 (/bin/x+0x11f8)");
        frame.file = None;
        assert_eq!(format_frame("  ", &frame, FrameStyle::Address), "  #0 0x55f8 in main (/bin/x+0x11f8)");
    }
}
