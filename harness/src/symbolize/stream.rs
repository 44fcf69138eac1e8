//! `leakcheck symbolize --exe FILE`: addresses in, `llvm-symbolizer --obj=FILE` text out.
//!
//! Input is read the way LLVM 14's llvm-symbolizer reads it, so that the output matches it byte
//! for byte: in `fgets` pieces of at most 1023 bytes (a longer line is several requests), cut at
//! a NUL byte, every `\r`/`\n` removed; an optional `CODE ` or `DATA ` prefix; leading spaces
//! skipped; the first space-delimited token is the address and the rest of the line ignored.
//! A request whose token is not an address is echoed as it was read (after that clean-up).
//!
//! Deliberate differences from llvm-symbolizer, documented for users:
//! - every address is hexadecimal, with or without `0x` (what sanitizers and `addr2line`
//!   print); llvm-symbolizer reads `4198400` as decimal, `0755` as octal and `0b101` as
//!   binary (here 0xb101), and knows `0o17`, which is echoed here. With `0x`, both agree.
//! - `FRAME ` requests (local variables) are echoed, not answered.
//! - no errors on stderr: a module that cannot be read answers `??` as llvm-symbolizer does,
//!   and the caller reports [`Symbolizer::debug_info`](super::Symbolizer::debug_info).
//!
//! Requests are answered in batches: everything the input has ready (up to 1 MiB) is read,
//! the distinct addresses are symbolized on all cores, the answers written in input order and
//! flushed before waiting for more input, so an interactive client gets each answer at once.

#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::io::{self, BufRead, ErrorKind, IoSlice, Write};
use std::path::Path;
use std::sync::Arc;

use super::dwarf::RawFrame;
use super::module::Module;
use super::Symbolizer;

/// llvm-symbolizer reads stdin with `fgets` into a 1024-byte buffer.
const FGETS_MAX: usize = 1023;

/// How much input one read asks for; a batch is at most this plus a partial line.
const READ_SIZE: usize = 1 << 20;

/// Slices per vectored write (Linux's `IOV_MAX` is 1024).
const WRITE_SLICES: usize = 1024;

/// Bytes of a typical answer, to size output buffers.
const ANSWER_SIZE_GUESS: usize = 128;

#[derive(Debug, PartialEq, Eq)]
enum Request {
    Code(u64),
    Data(u64),
    Echo(Vec<u8>),
}

/// Read addresses of `exe` from `input` and write llvm-symbolizer's `--obj` answers to
/// `output`: per frame, innermost first, the function (`??` when unknown) on one line and
/// `file:line:column` (`??:0:0`) on the next; a blank line after each address. See the module
/// documentation for the input rules. Only I/O errors of `input`/`output` are returned.
pub fn symbolize_stream(
    symbolizer: &Symbolizer,
    exe: &Path,
    mut input: impl BufRead,
    mut output: impl Write,
) -> io::Result<()> {
    // The module loads (reads the file, indexes its units) while the first input is read and
    // sorted; the first answer waits for it.
    std::thread::scope(|scope| {
        let mut loading = Some(scope.spawn(|| symbolizer.module(exe)));
        let mut module: Option<Arc<Module>> = None;
        let mut pending: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; READ_SIZE];
        let mut requests: Vec<Request> = Vec::new();
        loop {
            let read = match input.read(&mut chunk) {
                Ok(read) => read,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let eof = read == 0;
            pending.extend_from_slice(chunk.get(..read).unwrap_or_default());
            let mut consumed = 0;
            while let Some(rest) = pending.get(consumed..).filter(|r| !r.is_empty()) {
                let window = &rest[..rest.len().min(FGETS_MAX)];
                let length = match window.iter().position(|&b| b == b'\n') {
                    Some(newline) => newline + 1,
                    None if window.len() == FGETS_MAX || eof => window.len(),
                    None => break,
                };
                requests.push(parse_request(&rest[..length]));
                consumed += length;
            }
            pending.drain(..consumed);
            if !requests.is_empty() {
                let addresses = distinct_addresses(&requests);
                let module = match (&module, loading.take()) {
                    (Some(module), _) => module.clone(),
                    (None, Some(handle)) => {
                        let loaded = handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                        module.insert(loaded).clone()
                    }
                    (None, None) => symbolizer.module(exe),
                };
                answer(&module, &requests, &addresses, &mut output)?;
                output.flush()?;
                requests.clear();
            }
            if eof {
                return Ok(());
            }
        }
    })
}

fn parse_request(piece: &[u8]) -> Request {
    let piece = match piece.iter().position(|&b| b == 0) {
        Some(nul) => &piece[..nul],
        None => piece,
    };
    // Usually only the final `\n` goes; copy only when there is more to remove.
    let trimmed = piece.strip_suffix(b"\n").unwrap_or(piece);
    let line: Cow<'_, [u8]> = if trimmed.iter().any(|&b| b == b'\r' || b == b'\n') {
        Cow::Owned(trimmed.iter().copied().filter(|&b| b != b'\r' && b != b'\n').collect())
    } else {
        Cow::Borrowed(trimmed)
    };
    let (data, rest) = if let Some(rest) = line.strip_prefix(b"DATA ") {
        (true, rest)
    } else if line.starts_with(b"FRAME ") {
        return Request::Echo(line.into_owned());
    } else {
        (false, line.strip_prefix(b"CODE ").unwrap_or(&line))
    };
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let token = rest[start..].split(|&b| b == b' ').next().unwrap_or_default();
    match (parse_address(token), data) {
        (Some(address), false) => Request::Code(address),
        (Some(address), true) => Request::Data(address),
        (None, _) => Request::Echo(line.into_owned()),
    }
}

/// A hexadecimal address, `0x`/`0X` optional, leading zeros allowed, at most 64 bits.
fn parse_address(token: &[u8]) -> Option<u64> {
    let digits = token.strip_prefix(b"0x").or_else(|| token.strip_prefix(b"0X")).unwrap_or(token);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let significant = &digits[digits.iter().position(|&b| b != b'0').unwrap_or(digits.len())..];
    if significant.len() > 16 {
        return None;
    }
    significant.iter().try_fold(0u64, |value, &digit| {
        let nibble = (digit as char).to_digit(16)?;
        Some((value << 4) | u64::from(nibble))
    })
}

/// The distinct addresses of the `CODE` requests, sorted.
fn distinct_addresses(requests: &[Request]) -> Vec<u64> {
    let mut addresses: Vec<u64> = requests
        .iter()
        .filter_map(|r| match r {
            Request::Code(address) => Some(*address),
            _ => None,
        })
        .collect();
    addresses.sort_unstable();
    addresses.dedup();
    addresses
}

/// Answer `requests` (`addresses` are their distinct `CODE` addresses, sorted) and write the answers to `output` in request order. The answers are
/// formatted by the worker threads into their own buffers and written from there with
/// vectored writes, not copied once more into one buffer.
fn answer(module: &Module, requests: &[Request], addresses: &[u64], output: &mut impl Write) -> io::Result<()> {
    // Sized for typical answers (two frames of ~60 bytes) so buffers rarely grow and copy.
    let per_thread = addresses.len() * ANSWER_SIZE_GUESS / 2;
    let states = module.run(
        addresses,
        || (Vec::<u8>::with_capacity(per_thread), Vec::<(usize, usize, usize)>::new()),
        |(buffer, spans), index, frames| {
            let start = buffer.len();
            format_frames(buffer, frames);
            spans.push((index, start, buffer.len()));
        },
    );
    let mut located: Vec<(usize, usize, usize)> = vec![(0, 0, 0); addresses.len()];
    for (thread, (_, spans)) in states.iter().enumerate() {
        for &(index, start, end) in spans {
            if let Some(slot) = located.get_mut(index) {
                *slot = (thread, start, end);
            }
        }
    }
    // Answers to DATA requests (and any CODE answer missing by a bug) go to a side buffer.
    let mut side: Vec<u8> = Vec::new();
    let mut pieces: Vec<Piece> = Vec::with_capacity(requests.len());
    for request in requests {
        match request {
            Request::Code(address) => {
                let found = addresses
                    .binary_search(address)
                    .ok()
                    .and_then(|i| located.get(i))
                    .filter(|&&(thread, _, end)| end > 0 && thread < states.len());
                match found {
                    Some(&(thread, start, end)) => pieces.push(Piece::Worker(thread, start, end)),
                    None => {
                        let start = side.len();
                        format_frames(&mut side, &[RawFrame::default()]);
                        pieces.push(Piece::Side(start, side.len()));
                    }
                }
            }
            Request::Data(address) => {
                let start = side.len();
                let (name, symbol_start, size) = module.data_symbol(*address).unwrap_or(("??", 0, 0));
                side.extend_from_slice(name.as_bytes());
                side.push(b'\n');
                push_decimal(&mut side, symbol_start);
                side.push(b' ');
                push_decimal(&mut side, size);
                side.extend_from_slice(b"\n\n");
                pieces.push(Piece::Side(start, side.len()));
            }
            Request::Echo(line) => {
                pieces.push(Piece::Line(line));
                pieces.push(Piece::Newline);
            }
        }
    }
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(WRITE_SLICES);
    for window in pieces.chunks(WRITE_SLICES) {
        slices.clear();
        slices.extend(window.iter().map(|piece| IoSlice::new(piece.bytes(&states, &side))));
        write_all_vectored(output, &mut slices)?;
    }
    Ok(())
}

/// What one worker thread formatted: its buffer and, per answer, `(address index, start, end)`.
type WorkerOutput = (Vec<u8>, Vec<(usize, usize, usize)>);

/// Where one piece of the output is.
#[derive(Debug, Clone, Copy)]
enum Piece<'a> {
    Worker(usize, usize, usize),
    Side(usize, usize),
    Line(&'a [u8]),
    Newline,
}

impl<'a> Piece<'a> {
    fn bytes(self, states: &'a [WorkerOutput], side: &'a [u8]) -> &'a [u8] {
        match self {
            Piece::Worker(thread, start, end) => {
                states.get(thread).and_then(|(buffer, _)| buffer.get(start..end)).unwrap_or_default()
            }
            Piece::Side(start, end) => side.get(start..end).unwrap_or_default(),
            Piece::Line(line) => line,
            Piece::Newline => b"\n",
        }
    }
}

/// `Write::write_all_vectored`, which is not stable yet.
fn write_all_vectored(output: &mut impl Write, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match output.write_vectored(slices) {
            Ok(0) => return Err(io::Error::from(ErrorKind::WriteZero)),
            Ok(written) => IoSlice::advance_slices(&mut slices, written),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn format_frames(out: &mut Vec<u8>, frames: &[RawFrame<'_>]) {
    for frame in frames {
        out.extend_from_slice(frame.function.unwrap_or("??").as_bytes());
        out.push(b'\n');
        out.extend_from_slice(frame.file.unwrap_or("??").as_bytes());
        out.push(b':');
        push_decimal(out, u64::from(frame.line));
        out.push(b':');
        push_decimal(out, u64::from(frame.column));
        out.push(b'\n');
    }
    out.push(b'\n');
}

fn push_decimal(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_like_llvm_symbolizer() {
        let cases: &[(&[u8], Request)] = &[
            (b"0x4a0000\n", Request::Code(0x4a0000)),
            (b"4a0000\n", Request::Code(0x4a0000)),
            (b"0X4A0000\r\n", Request::Code(0x4a0000)),
            (b"  0x10 trailing words\n", Request::Code(0x10)),
            (b"CODE 0x10\n", Request::Code(0x10)),
            (b"CODE   0x10\n", Request::Code(0x10)),
            (b"DATA 0x10\n", Request::Data(0x10)),
            (b"0x00000000000000000010\n", Request::Code(0x10)),
            (b"0xffffffffffffffff\n", Request::Code(u64::MAX)),
            (b"0x4a\x0000\n", Request::Code(0x4a)),
            (b"0x1ffffffffffffffff\n", Request::Echo(b"0x1ffffffffffffffff".to_vec())),
            (b"0x\n", Request::Echo(b"0x".to_vec())),
            (b"\n", Request::Echo(Vec::new())),
            (b"\t0x10\n", Request::Echo(b"\t0x10".to_vec())),
            (b"CODE\n", Request::Echo(b"CODE".to_vec())),
            (b"0x+10\n", Request::Echo(b"0x+10".to_vec())),
            (b"FRAME 0x10\n", Request::Echo(b"FRAME 0x10".to_vec())),
            (b"foo\rbar\n", Request::Echo(b"foobar".to_vec())),
        ];
        for (input, expected) in cases {
            assert_eq!(&parse_request(input), expected, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn decimal_formatting() {
        let mut out = Vec::new();
        for value in [0, 7, 10, 4849479, u64::MAX] {
            push_decimal(&mut out, value);
            out.push(b' ');
        }
        assert_eq!(out, b"0 7 10 4849479 18446744073709551615 ");
    }
}
