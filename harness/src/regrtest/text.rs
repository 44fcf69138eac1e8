//! How the parser reads a line (its ending, ANSI escapes and invalid UTF-8 gone, cut at
//! [`MAX_LINE_LEN`], a progress line unglued from the test's output, regrtest's log prefix
//! skipped) and keeps long text ([`CappedText`], for tracebacks and dumps).

pub(super) use crate::escape::truncate_at_char_boundary;
use std::borrow::Cow;
use std::fmt::Write as _;

use super::patterns::{GLUED_PROGRESS, LOG_PREFIX};
use super::{MAX_LINE_LEN, MAX_TRACEBACK_BYTES};

pub(super) fn parse_count(s: &str) -> Option<usize> {
    s.chars().filter(|&ch| ch != ',').collect::<String>().parse().ok()
}

fn trim_line_ending(mut line: &[u8]) -> &[u8] {
    while let [head @ .., b'\n' | b'\r'] = line {
        line = head;
    }
    line
}

/// Removes ANSI escape sequences (3.14 colours its results, and a terminal-minded test may
/// print anything): CSI `ESC [ params final`, OSC `ESC ] ... BEL|ESC \`, and two- or
/// three-byte `ESC x` forms. A malformed sequence loses only its introducer.
fn strip_ansi(input: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(ESC, input).is_none() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    for_each_kept_byte(input, |at| out.push(input[at]));
    Cow::Owned(out)
}

const ESC: u8 = 0x1b;

/// `text` without its ANSI escape sequences (see [`strip_ansi`]).
pub(super) fn without_escapes(text: &str) -> Cow<'_, str> {
    match strip_ansi(text.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

/// Calls `keep` with the index of each byte of `input` outside its ANSI escape sequences (see
/// [`strip_ansi`]), in order.
fn for_each_kept_byte(input: &[u8], mut keep: impl FnMut(usize)) {
    let mut i = 0;
    while i < input.len() {
        if input[i] != ESC {
            keep(i);
            i += 1;
            continue;
        }
        i += 1;
        match input.get(i) {
            Some(b'[') => {
                i += 1;
                while matches!(input.get(i), Some(0x20..=0x3f)) {
                    i += 1;
                }
                if matches!(input.get(i), Some(0x40..=0x7e)) {
                    i += 1;
                }
            }
            Some(b']') => {
                i += 1;
                while i < input.len() {
                    if input[i] == 0x07 {
                        i += 1;
                        break;
                    }
                    if input[i] == ESC && input.get(i + 1) == Some(&b'\\') {
                        i += 2;
                        break;
                    }
                    i += 1;
                }
            }
            Some(0x20..=0x2f) => {
                while matches!(input.get(i), Some(0x20..=0x2f)) {
                    i += 1;
                }
                if matches!(input.get(i), Some(0x30..=0x7e)) {
                    i += 1;
                }
            }
            Some(0x30..=0x7e) => i += 1,
            _ => {}
        }
    }
}

/// A line that held ANSI escape sequences as it was printed, with where each byte of the line
/// as the parser reads it ([`decode_line`], escapes removed) came from: a test name is read out
/// of the line as the parser reads it, and taken as regrtest printed it, escapes and all (a
/// test file may be named `test_x\x1b[31my.py`), from here.
#[derive(Debug)]
pub(super) struct Printed {
    text: String,
    /// For each byte of the line as read, its index in `text`.
    origins: Vec<usize>,
}

impl Printed {
    /// The line `line` as printed, when it holds an escape sequence, is not cut, and is UTF-8
    /// (so that the line as read is its bytes less the escapes); else None: the line as read is
    /// the line as printed, or no name is read out of it whole.
    pub(super) fn of(line: &[u8]) -> Option<Printed> {
        let line = trim_line_ending(line);
        if memchr::memchr(ESC, line).is_none() || line.len() > MAX_LINE_LEN {
            return None;
        }
        let text = std::str::from_utf8(line).ok()?.to_owned();
        let mut origins = Vec::with_capacity(line.len());
        for_each_kept_byte(line, |at| origins.push(at));
        let kept: Vec<u8> = origins.iter().map(|&at| line[at]).collect();
        std::str::from_utf8(&kept).ok()?;
        Some(Printed { text, origins })
    }

    /// The line as printed, without its line ending.
    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// The text as printed of bytes `start..end` of the line as read: from the first of them to
    /// the last, with the escape sequences between them (not those before or after: 3.14's
    /// colours wrap a whole result, `ESC[32mtest_x passed ESC[0m`). None when the range is
    /// empty or not the line's.
    pub(super) fn span(&self, start: usize, end: usize) -> Option<&str> {
        let first = *self.origins.get(start)?;
        let last = *self.origins.get(end.checked_sub(1)?)?;
        if start >= end {
            return None;
        }
        self.text.get(first..=last)
    }
}

/// A line as the parser reads it: without its line ending and ANSI escapes, decoded (invalid
/// UTF-8 replaced), and the number of bytes cut off its end: a line longer than
/// [`MAX_LINE_LEN`] is cut to it, at the start of a UTF-8 character.
pub(super) fn decode_line(line: &[u8]) -> (Cow<'_, str>, usize) {
    let line = trim_line_ending(line);
    let mut end = line.len().min(MAX_LINE_LEN);
    // Back to the start of the character the limit falls in: a UTF-8 character has at most 3
    // continuation bytes (`10xxxxxx`).
    for _ in 0..3 {
        if line.get(end).is_some_and(|&b| b & 0xc0 == 0x80) && end > 0 {
            end -= 1;
        }
    }
    let (kept, cut) = (&line[..end], line.len() - end);
    let text = match strip_ansi(kept) {
        // Validating is several times faster than the lossy pass, which only invalid UTF-8 needs.
        Cow::Borrowed(bytes) => {
            std::str::from_utf8(bytes).map_or_else(|_| String::from_utf8_lossy(bytes), Cow::Borrowed)
        }
        Cow::Owned(bytes) => {
            Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
        }
    };
    (text, cut)
}

/// The progress line at the end of `text` when a test's output without a newline came before
/// it on the same line (see `GLUED_PROGRESS`), else `text`.
pub(super) fn unglue_progress(text: &str) -> &str {
    if LOG_PREFIX.is_match(text) {
        return text;
    }
    match GLUED_PROGRESS.find_iter(text).last() {
        Some(m) if m.start() > 0 => &text[m.start()..],
        _ => text,
    }
}

/// `text` after regrtest's `H:MM:SS load avg: N` prefix, when it has one.
pub(super) fn after_log_prefix(text: &str) -> &str {
    LOG_PREFIX.find(text).map_or(text, |m| &text[m.end()..])
}

/// Text kept line by line, at most [`MAX_TRACEBACK_BYTES`] of it (a traceback, a dump). A
/// line that does not fit whole is kept cut, ending in `[... N bytes cut]`, and nothing after
/// it; so is a line that came cut already (longer than [`MAX_LINE_LEN`]), though what follows
/// it is kept while there is room.
#[derive(Debug, Default)]
pub(super) struct CappedText {
    text: String,
    full: bool,
}

impl CappedText {
    /// Room kept for the marker of a cut line: `[... N bytes cut]` with any `usize` N.
    const MARKER_ROOM: usize = "[... 18446744073709551615 bytes cut]\n".len();

    pub(super) fn starting_with(first: &str) -> Self {
        let mut text = CappedText::default();
        text.push_line(first, 0);
        text
    }

    /// Appends `line` and a newline; `cut`: bytes of the line already cut off.
    pub(super) fn push_line(&mut self, line: &str, cut: usize) {
        if self.full {
            return;
        }
        let room = MAX_TRACEBACK_BYTES.saturating_sub(self.text.len() + Self::MARKER_ROOM);
        let kept = if line.len() < room {
            line
        } else {
            self.full = true;
            truncate_at_char_boundary(line, room)
        };
        self.text.push_str(kept);
        let cut = cut.saturating_add(line.len() - kept.len());
        if cut > 0 {
            let _ = write!(self.text, "[... {cut} bytes cut]");
        }
        self.text.push('\n');
    }

    /// The text, without trailing blank lines.
    pub(super) fn finish(mut self) -> String {
        let end = self.text.trim_end().len();
        self.text.truncate(end);
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_ansi_keeps_text() {
        assert_eq!(&*strip_ansi(b"\x1b[1;31mred\x1b[0m plain"), b"red plain");
        assert_eq!(&*strip_ansi(b"a\x1b]8;;http://x\x07link\x1b]8;;\x1b\\b"), b"alinkb");
        assert_eq!(&*strip_ansi(b"\x1b(Bx\x1b7y"), b"xy");
        assert_eq!(&*strip_ansi(b"no escapes"), b"no escapes");
        assert_eq!(trim_line_ending(b"abc\r\n"), b"abc");
        assert_eq!(trim_line_ending(b"\n"), b"");
    }
}
