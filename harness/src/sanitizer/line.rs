//! One line of sanitizer output -> what it is: a headline, a frame, a summary, a line of a
//! process (`==PID==`), noise the parser skips, or other text. Pure and allocation-light: the
//! parser calls [`classify`] on every line of the child's output while a report is open, and
//! between reports on the lines [`may_be_runtime_line`] does not rule out.

#![forbid(unsafe_code)]

use super::kind;
use super::{ReportFrame, Sanitizer};

/// What one line is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line<'a> {
    Headline(Headline),
    /// `==PID==REST` that is no headline (`==1==ABORTING`, `==1==Hint: ...`).
    Pid {
        pid: u32,
        rest: &'a str,
    },
    Frame(FrameLine),
    /// `SUMMARY: Tool: rest`; `text` is the whole line without leading whitespace.
    Summary {
        tool: &'a str,
        rest: &'a str,
        text: &'a str,
    },
    /// UBSan's `note:` lines, memory dumps and caret lines, which follow its headline. (The
    /// line naming the ranges under a caret line, `vptr for 'Other'`, is told by the parser,
    /// which knows the line before: on its own it is text like any other.)
    UbsanContinuation(&'a str),
    Blank,
    /// Separators, the shadow-byte dump and legend, `...Sanitizer:DEADLYSIGNAL`, TSan's
    /// `reported N warnings`, MSAN's `Exiting`: part of a report's frame, but saying nothing.
    Noise,
    /// Anything else, leading whitespace removed.
    Text(&'a str),
}

/// A line that opens a report.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Headline {
    pub sanitizer: Sanitizer,
    pub pid: Option<u32>,
    pub kind: String,
    /// The line from `ERROR:`/`WARNING:` on (UBSan: the whole line).
    pub message: String,
    /// UBSan: the source (or module) location before `: runtime error:`.
    pub location: Option<ReportFrame>,
    /// The hexadecimal numbers of the line (the faulting address...), for attribution.
    pub addresses: Vec<u64>,
}

/// How a frame line was printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FrameStyle {
    /// sanitizer_common's default `    #%n %p %F %L`: `#0 0x55d4 in main /src/a.c:5:3`.
    Address,
    /// TSan's `    #%n %f %S %M`: `#0 main /src/a.c:5 (a.out+0x1234)`, no address.
    Tsan,
}

/// A parsed frame line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FrameLine {
    pub frame: ReportFrame,
    pub style: FrameStyle,
    /// Bytes of leading whitespace.
    pub indent: usize,
}

/// `line` without its ANSI control sequences (`ESC [` parameters, intermediates, a final byte):
/// the colours of `color=always` (`ESC[1mESC[0m` before a frame line, after a coloured headline).
/// Both the parser and `leakcheck symbolize`'s frame matcher read lines through it.
pub(super) fn strip_colours(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !line.contains(&0x1b) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut plain = Vec::with_capacity(line.len());
    let mut bytes = line.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        if byte == 0x1b && bytes.peek() == Some(&b'[') {
            bytes.next();
            // Parameters and intermediates, then one final byte in 0x40..=0x7e.
            for byte in bytes.by_ref() {
                if (0x40..=0x7e).contains(&byte) {
                    break;
                }
            }
        } else {
            plain.push(byte);
        }
    }
    std::borrow::Cow::Owned(plain)
}

/// Whether [`classify`] could read `line` (raw bytes, as the parser gets them: line ending,
/// colours, invalid UTF-8 and all; any part of it: its beginning or its end) as anything but
/// [`Line::Text`] or [`Line::UbsanContinuation`]. False only when it cannot: the line holds
/// none of the marks every other kind needs (`#` of a frame, `==` of a pid or a separator,
/// `Sanitizer` of a headline, summary or runtime notice, `: runtime error: ` of UBSan's
/// headline), does not start (after blanks) with a byte that noise or blank lines start with
/// (`-`, `=`, `0` of a shadow row, `E` of `Exiting`, `S` of `Shadow byte`), is no shadow legend
/// line (`  Name words: fa`), and holds no escape byte (colours). A few passes of `memchr`
/// over the bytes, no decoding: the parser's fast way past the output between reports, which
/// may be megabytes of long lines.
pub(super) fn may_be_runtime_line(line: &[u8]) -> bool {
    use std::sync::LazyLock;
    static SANITIZER: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new("Sanitizer"));
    static RUNTIME_ERROR: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(": runtime error: "));
    // `char::is_whitespace` of ASCII (`trim_start`); a non-ASCII first byte may be Unicode
    // whitespace, and a line of blanks alone is `Blank`.
    let blank = |b: &u8| matches!(b, b'\t'..=b'\r' | b' ');
    let Some(&first) = line.iter().find(|b| !blank(b)) else { return true };
    if !first.is_ascii() || matches!(first, b'-' | b'=' | b'0' | b'E' | b'S' | b'#') {
        return true;
    }
    if memchr::memchr(0x1b, line).is_some() {
        return true;
    }
    // `#` anywhere (a frame after other output), `==` anywhere (`==PID==` after other output).
    let mut from = 0;
    while let Some(at) = memchr::memchr2(b'#', b'=', &line[from..]) {
        let at = from + at;
        if line[at] == b'#' || line.get(at + 1) == Some(&b'=') {
            return true;
        }
        from = at + 1;
    }
    // The shadow legend: `  Heap left redzone:       fa` (letters and blanks before a colon).
    if line.starts_with(b"  ") {
        if let Some(colon) = memchr::memchr(b':', line) {
            if line[..colon].iter().all(|b| b.is_ascii_alphabetic() || blank(b)) {
                return true;
            }
        }
    }
    SANITIZER.find(line).is_some() || RUNTIME_ERROR.find(line).is_some()
}

/// Classify one line (no line ending; ANSI colours already removed, [`strip_colours`]).
pub(super) fn classify(line: &str) -> Line<'_> {
    let trimmed = line.trim_start();
    if trimmed.trim_end().is_empty() {
        return Line::Blank;
    }
    if trimmed.starts_with('#') {
        if let Some(frame) = parse_frame(line) {
            return Line::Frame(frame);
        }
    }
    if let Some(headline) = parse_headline(line) {
        return Line::Headline(headline);
    }
    if let Some(rest) = trimmed.strip_prefix("SUMMARY: ") {
        if let Some((tool, rest)) = rest.split_once(": ") {
            if tool.ends_with("Sanitizer") {
                return Line::Summary { tool, rest, text: trimmed.trim_end() };
            }
        }
    }
    // Another process's unterminated output (`tick tick `) may precede a runtime's line, as it
    // may a headline: a frame or a summary further in the line, in the exact shape the runtime
    // prints it, is that line.
    if let Some(frame) = embedded_frame(line) {
        return Line::Frame(frame);
    }
    if let Some(summary) = embedded_summary(trimmed) {
        return summary;
    }
    if let Some((pid, rest)) = pid_prefix(trimmed) {
        return Line::Pid { pid, rest };
    }
    if is_noise(line, trimmed) {
        return Line::Noise;
    }
    if is_ubsan_continuation(line, trimmed) {
        return Line::UbsanContinuation(trimmed.trim_end());
    }
    Line::Text(after_other_output(trimmed.trim_end()))
}

/// Runtime lines that another process's unterminated output may precede, with how they end:
/// the labels of ASAN's and LSan's stacks and ASAN's access line.
const RUNTIME_TEXT: [(&str, &str); 7] = [
    ("previously allocated by thread T", " here:"),
    ("allocated by thread T", " here:"),
    ("freed by thread T", " here:"),
    ("Thread T", " here:"),
    ("Direct leak of ", " allocated from:"),
    ("Indirect leak of ", " allocated from:"),
    ("of size ", ""),
];

/// `text` from the runtime's line on, when other output precedes one of [`RUNTIME_TEXT`]
/// (`tick tick allocated by thread T0 here:`): the earliest such line that begins after a space
/// and ends the text as the runtime ends it. `READ of size 1 at 0x... thread T0` and its
/// `WRITE` are found by their `of size ` after `READ`/`WRITE`, ASAN's `0x... is located ...`
/// and `Address 0x... is located ...` by their address.
fn after_other_output(text: &str) -> &str {
    let whole = RUNTIME_TEXT.iter().any(|(phrase, end)| text.starts_with(phrase) && text.ends_with(end));
    if whole || text.starts_with("READ of size ") || text.starts_with("WRITE of size ") {
        return text;
    }
    let mut start = None;
    for (phrase, end) in RUNTIME_TEXT {
        if !text.ends_with(end) {
            continue;
        }
        let Some(at) = text.match_indices(phrase).map(|(at, _)| at).find(|&at| at > 0) else { continue };
        let at = if phrase == "of size " {
            let before = &text[..at];
            let Some(word) = ["READ ", "WRITE "].iter().find(|w| before.ends_with(*w)) else { continue };
            let at = at - word.len();
            if !text.contains(" thread T") {
                continue;
            }
            at
        } else {
            at
        };
        if text[..at].ends_with(' ') && start.is_none_or(|s| at < s) {
            start = Some(at);
        }
    }
    // `0x602000000220 is located 0 bytes to the right of ...`, `Address 0x7ffd... is located in
    // stack of thread T0 ...`.
    if let Some(located) = text.find(" is located ") {
        let address = text[..located].rfind(' ').map_or(0, |space| space + 1);
        let at = match text[..address].strip_suffix("Address ") {
            Some(before) => before.len(),
            None => address,
        };
        let hex = text[address..located].strip_prefix("0x").is_some_and(|h| parse_hex(h).is_some());
        if hex && at > 0 && text[..at].ends_with(' ') && start.is_none_or(|s| at < s) {
            start = Some(at);
        }
    }
    start.map_or(text, |at| &text[at..])
}

/// A frame line of a runtime after other text on the same line: sanitizer_common's default
/// `    #%n %p %F %L` (four spaces, `#N`, a space, `0x` and hex digits, then ` in `, `  (` or
/// ` /`), or TSan's
/// `    #%n %f %S %M` with its `(module+0x...)` part, found after text that is not blank.
fn embedded_frame(line: &str) -> Option<FrameLine> {
    const INDENT: &str = "    #";
    let mut from = 0;
    while let Some(offset) = line.get(from..)?.find(INDENT) {
        let at = from + offset;
        from = at + INDENT.len();
        if line.get(..at).is_none_or(|before| before.trim().is_empty()) {
            continue;
        }
        let rest = line.get(from..)?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Some(after) = rest.get(digits..).and_then(|r| r.strip_prefix(' ')).filter(|_| digits > 0) else {
            continue;
        };
        let frame = parse_frame(line.get(at..)?);
        let shaped = match &frame {
            Some(FrameLine { style: FrameStyle::Address, .. }) => {
                let hex = after.strip_prefix("0x").unwrap_or_default();
                let length = hex.bytes().take_while(u8::is_ascii_hexdigit).count();
                // `0x55d4 in f ...`, `0x55d4  (module+0x1a)`, `0x55d4 /src/a.c:5` (no function).
                let described = hex.get(length..).unwrap_or_default();
                length > 0 && [" in ", "  (", " /"].iter().any(|p| described.starts_with(p))
            }
            Some(FrameLine { style: FrameStyle::Tsan, frame, .. }) => frame.module.is_some(),
            None => false,
        };
        // The first `    #N ` decides: one parse per line, whatever the line holds.
        return frame.filter(|_| shaped);
    }
    None
}

/// `SUMMARY: XSanitizer: rest` after other text on the same line (see [`embedded_frame`]),
/// for the runtimes leakcheck knows.
fn embedded_summary(trimmed: &str) -> Option<Line<'_>> {
    const MARK: &str = "SUMMARY: ";
    let mut from = 0;
    while let Some(offset) = trimmed.get(from..)?.find(MARK) {
        let at = from + offset;
        from = at + MARK.len();
        let text = trimmed.get(at..)?.trim_end();
        if let Some((tool, rest)) = text.get(MARK.len()..)?.split_once(": ") {
            if at > 0 && sanitizer_named(tool).is_some() {
                return Some(Line::Summary { tool, rest, text });
            }
        }
    }
    None
}

/// `==1234==rest` -> `(1234, rest)`: the prefix of a sanitizer runtime's own lines.
pub fn pid_prefix(text: &str) -> Option<(u32, &str)> {
    let rest = text.strip_prefix("==")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 10 {
        return None;
    }
    let pid = rest.get(..digits)?.parse::<u32>().ok()?;
    let rest = rest.get(digits..)?.strip_prefix("==")?;
    Some((pid, rest))
}

fn parse_headline(line: &str) -> Option<Headline> {
    let trimmed = line.trim_start().trim_end();
    // `==PID==ERROR: XSanitizer: ...` anywhere in the line (another process's unterminated
    // output may precede it); the other forms only at the start.
    if let Some(at) = find_pid_marker(trimmed) {
        let (pid, rest) = pid_prefix(trimmed.get(at..)?)?;
        return runtime_headline(rest, Some(pid));
    }
    if let Some(headline) = runtime_headline(trimmed, None) {
        return Some(headline);
    }
    ubsan_headline(trimmed)
}

/// Where `==DIGITS==ERROR: ` or `==DIGITS==WARNING: ` or `==DIGITS==XSanitizer: CHECK` starts.
fn find_pid_marker(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(offset) = text.get(from..)?.find("==") {
        let at = from + offset;
        if let Some((_, rest)) = pid_prefix(text.get(at..)?) {
            if rest.starts_with("ERROR: ") || rest.starts_with("WARNING: ") || rest.contains("Sanitizer: CHECK failed")
            {
                return Some(at);
            }
        }
        from = at + 2;
    }
    None
}

/// `ERROR: AddressSanitizer: ...`, `WARNING: ThreadSanitizer: ...`, `AddressSanitizer: CHECK
/// failed: ...`.
fn runtime_headline(text: &str, pid: Option<u32>) -> Option<Headline> {
    let (severity_stripped, warning) = if let Some(rest) = text.strip_prefix("ERROR: ") {
        (rest, false)
    } else if let Some(rest) = text.strip_prefix("WARNING: ") {
        (rest, true)
    } else {
        (text, false)
    };
    let (tool, rest) = severity_stripped.split_once(": ")?;
    let sanitizer = sanitizer_named(tool)?;
    let check_failed = rest.starts_with("CHECK failed");
    if severity_stripped.len() == text.len() && !check_failed {
        return None;
    }
    // Only MSan and TSan report bugs as warnings; ASAN's WARNING lines are notices.
    if warning && !matches!(sanitizer, Sanitizer::Msan | Sanitizer::Tsan) {
        return None;
    }
    let (kind, mut pid) = if check_failed {
        // gcc 12's runtimes print it without `==PID==`, with the id of the thread that failed
        // the check: the process's for its main thread.
        ("CHECK failed".to_owned(), pid.or_else(|| kind::check_failed_tid(rest)))
    } else {
        kind::from_headline(sanitizer, rest, pid)
    };
    if pid.is_none() && sanitizer == Sanitizer::Tsan {
        pid = kind::tsan_pid(rest);
    }
    Some(Headline { sanitizer, pid, kind, message: text.to_owned(), location: None, addresses: hex_numbers(rest) })
}

/// `LOCATION: runtime error: MESSAGE`. UBSan writes to stderr unbuffered, so the line may begin
/// with what was printed just before: unittest's verbose `test_x (mod.Class.test_x) ... `, or
/// regrtest's `-R` progress (a `.`, digit or `X` per repetition: `...x.c:1:2: runtime error`).
/// That part is not the headline.
fn ubsan_headline(text: &str) -> Option<Headline> {
    let marker = text.find(": runtime error: ")?;
    let text = text[..marker].rfind(" ... ").map_or(text, |at| &text[at + " ... ".len()..]);
    let text = after_progress(text);
    let (location, message) = text.split_once(": runtime error: ")?;
    if location.is_empty() || location.starts_with('#') {
        return None;
    }
    Some(Headline {
        sanitizer: Sanitizer::Ubsan,
        pid: None,
        kind: kind::ubsan_check(message).to_owned(),
        message: text.to_owned(),
        location: Some(ubsan_location(location)),
        addresses: hex_numbers(message),
    })
}

/// `text` without regrtest's `-R` progress characters in front of a UBSan location: `.`, digits,
/// `X`, and the space between warm-ups and counted runs (3.12+). A location is a path, which
/// starts with a letter, `_`, `/`, `./` or `../`, or `(module+0x...)`/`<unknown>`. Dots right
/// before a `/` may be the path's own `./` or `../`: up to two are kept (which of the two it was
/// cannot be told; the reports fold `./` away).
fn after_progress(text: &str) -> &str {
    if text.starts_with(['/', '(', '<']) || text.starts_with("./") || text.starts_with("../") {
        return text;
    }
    let rest = text.trim_start_matches(|c: char| matches!(c, '.' | '0'..='9' | 'X' | ' '));
    let cut = text.len() - rest.len();
    let path_like = rest.starts_with(|c: char| c.is_ascii_alphabetic() || matches!(c, '_' | '/' | '(' | '<'));
    if cut == 0 || !path_like {
        return text;
    }
    if rest.starts_with('/') {
        let dots = text[..cut].len() - text[..cut].trim_end_matches('.').len();
        return &text[cut - dots.min(2)..];
    }
    rest
}

/// UBSan prints `file:line:col`, `<unknown>` or `(module+0xoffset)`.
pub(super) fn ubsan_location(location: &str) -> ReportFrame {
    let mut frame = empty_frame(0);
    if let Some((module, offset)) = module_part(location).filter(|(start, _)| *start == 0).map(|(_, m)| m) {
        frame.module = Some(module.to_owned());
        frame.module_offset = Some(offset);
    } else if location != "<unknown>" {
        let (file, line, column) = split_source_location(location);
        frame.file = Some(file.to_owned());
        frame.line = line;
        frame.column = column;
    }
    frame
}

pub(super) fn sanitizer_named(tool: &str) -> Option<Sanitizer> {
    Some(match tool {
        "AddressSanitizer" => Sanitizer::Asan,
        "LeakSanitizer" => Sanitizer::Lsan,
        "MemorySanitizer" => Sanitizer::Msan,
        "UndefinedBehaviorSanitizer" => Sanitizer::Ubsan,
        "ThreadSanitizer" => Sanitizer::Tsan,
        _ => return None,
    })
}

fn empty_frame(index: u32) -> ReportFrame {
    ReportFrame {
        index,
        address: None,
        function: None,
        file: None,
        line: None,
        column: None,
        module: None,
        module_offset: None,
        build_id: None,
        inlined: false,
    }
}

/// Parse `    #N ...` in either style; `None` when the line is no frame.
pub(super) fn parse_frame(line: &str) -> Option<FrameLine> {
    let body = line.trim_start();
    let indent = line.len() - body.len();
    let after_hash = body.strip_prefix('#')?;
    let digits = after_hash.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let index: u32 = after_hash.get(..digits)?.parse().ok()?;
    let rest = after_hash.get(digits..)?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let (mut rest, build_id) = split_build_id(rest.trim());
    let mut frame = empty_frame(index);
    frame.build_id = build_id.map(str::to_owned);
    let style = match rest.split_once(char::is_whitespace).map_or((rest, ""), |(a, b)| (a, b)) {
        (token, after) if token.starts_with("0x") => {
            frame.address = Some(parse_hex(token)?);
            rest = after.trim();
            FrameStyle::Address
        }
        _ => FrameStyle::Tsan,
    };
    // The module part at the end: `(/path/lib.so+0x1234)`.
    if let Some((start, (module, offset))) = module_part(rest) {
        frame.module = Some(module.to_owned());
        frame.module_offset = Some(offset);
        rest = rest.get(..start).unwrap_or_default().trim_end();
    } else if let Some(inner) = rest.strip_suffix(')').and_then(|r| r.rsplit_once('(')).map(|(_, inner)| inner) {
        // `(<unknown module>)`, or TSan's `(0x7f...)` for a PC outside any module.
        if inner == "<unknown module>" || (style == FrameStyle::Tsan && parse_hex(inner).is_some()) {
            if style == FrameStyle::Tsan {
                frame.address = parse_hex(inner);
            }
            let cut = rest.len() - inner.len() - 2;
            rest = rest.get(..cut).unwrap_or_default().trim_end();
        }
    }
    match style {
        FrameStyle::Address => {
            let described = if let Some(described) = rest.strip_prefix("in ") {
                described.trim()
            } else if rest.is_empty() {
                ""
            } else if rest.starts_with('/') || looks_like_location(rest) {
                // `#0 0x... /src/a.c:5` (a custom stack_trace_format): a location alone.
                set_location(&mut frame, rest);
                ""
            } else if rest.starts_with('(') && !rest.contains(')') {
                // A module part cut off (a truncated log): the address is still the frame's.
                ""
            } else {
                return None;
            };
            if !described.is_empty() {
                match split_function_location(described) {
                    Some((function, location)) if looks_like_location(location) || path_start(location) => {
                        frame.function = Some(function.trim_end().to_owned()).filter(|f| !f.is_empty());
                        set_location(&mut frame, location);
                    }
                    _ => frame.function = Some(described.to_owned()),
                }
            }
        }
        FrameStyle::Tsan => {
            if frame.module.is_none() && frame.address.is_none() {
                // TSan always prints the module part; without it this is not a TSan frame.
                return None;
            }
            let (function, location) = match split_function_location(rest) {
                Some((function, location)) => (function.trim_end(), location),
                None => (rest, "<null>"),
            };
            if function != "<null>" && !function.is_empty() {
                frame.function = Some(function.to_owned());
            }
            if location != "<null>" {
                set_location(&mut frame, location);
            }
        }
    }
    Some(FrameLine { frame, style, indent })
}

/// `FUNCTION LOCATION` -> `(FUNCTION, LOCATION)`, at the space before the location. Both halves
/// may hold spaces: C++ names (`operator new(unsigned long)`, `f(int, char const*)`) and paths
/// (`/tmp/dir (x) y/a.c:4`). A demangled name never has a space before a `/`, `./` or `../`,
/// so the first such space outside the name's parentheses begins the location when it is an
/// absolute or dotted path; any other location (`Objects/longobject.c:5`, TSan's `<null>`) is
/// the last word, and a relative path with spaces cannot be told from the name.
fn split_function_location(described: &str) -> Option<(&str, &str)> {
    let at = path_location_start(described).or_else(|| described.rfind(' '))?;
    Some((described.get(..at)?.trim_end(), described.get(at + 1..)?))
}

/// Where the space is that begins a location of `/`, `./` or `../` in `FUNCTION LOCATION`: the
/// first one after a non-empty name whose parentheses are balanced. One pass.
fn path_location_start(described: &str) -> Option<usize> {
    let mut depth = 0i64;
    for (at, byte) in described.bytes().enumerate() {
        match byte {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b' ' if depth == 0 && at > 0 && described.get(at + 1..).is_some_and(path_start) => return Some(at),
            _ => {}
        }
    }
    None
}

/// A path the symbolizer printed as is: absolute, or relative to `.` or `..`.
fn path_start(text: &str) -> bool {
    text.starts_with('/') || text.starts_with("./") || text.starts_with("../")
}

/// Split off a trailing `(BuildId: hex)`: the text before it and the hex ID.
fn split_build_id(text: &str) -> (&str, Option<&str>) {
    let Some(at) = text.rfind(" (BuildId: ") else { return (text, None) };
    let Some(id) = text.get(at + " (BuildId: ".len()..).and_then(|id| id.strip_suffix(')')) else {
        return (text, None);
    };
    let hex = !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit());
    (text.get(..at).unwrap_or(text).trim_end(), hex.then_some(id))
}

/// `...(MODULE+0xOFFSET)` at the end of `text`: `(start of "(", (module, offset))`.
fn module_part(text: &str) -> Option<(usize, (&str, u64))> {
    let inner_end = text.len().checked_sub(1).filter(|_| text.ends_with(')'))?;
    let plus = text.get(..inner_end)?.rfind("+0x")?;
    let offset = parse_hex(text.get(plus + 1..inner_end)?)?;
    let open = module_start(text, plus)?;
    Some((open, (text.get(open + 1..plus)?, offset)))
}

/// The `(` that opens the module part `(MODULE+0x` whose `+0x` is at `plus`: at the start of
/// `text` or after a space, with MODULE non-empty and its own parentheses balanced. The
/// rightmost such `(`: a path may hold parentheses (`/tmp/dir (x)/prog(1)`), and so may the
/// function name before it (`(anonymous namespace)::f()`), but not unbalanced ones.
pub(super) fn module_start(text: &str, plus: usize) -> Option<usize> {
    let head = text.get(..plus)?;
    // Right to left, `closes` counts `)` minus `(` of the part scanned: MODULE after a `(` is
    // balanced when that count is 0 there and never went below 0; once it does, no `(` further
    // left can open a balanced MODULE. One pass, whatever the line.
    let mut closes = 0i64;
    for (at, byte) in head.bytes().enumerate().rev() {
        match byte {
            b')' => closes += 1,
            b'(' => {
                let opens_part = at == 0 || head.as_bytes()[at - 1] == b' ';
                if closes == 0 && opens_part && at + 1 < head.len() {
                    return Some(at);
                }
                closes -= 1;
                if closes < 0 {
                    return None;
                }
            }
            _ => {}
        }
    }
    None
}

/// The first `(MODULE+0xOFFSET)` in `text` (a `SUMMARY:` line's, which a demangled name with
/// parentheses may follow): `(start of "(", module, offset)`.
pub(super) fn first_module_part(text: &str) -> Option<(usize, &str, u64)> {
    text.match_indices("+0x").find_map(|(plus, _)| {
        let open = module_start(text, plus)?;
        let close = plus + text.get(plus..)?.find(')')?;
        Some((open, text.get(open + 1..plus)?, parse_hex(text.get(plus + 1..close)?)?))
    })
}

/// Every `MODULE` of a `(MODULE+0x...` in `text` (frames, `SUMMARY:` lines).
pub(super) fn modules_named(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("+0x").filter_map(move |(plus, _)| text.get(module_start(text, plus)? + 1..plus))
}

/// `file:line[:column]`, or a path without a line.
fn looks_like_location(token: &str) -> bool {
    if token.is_empty() || token.contains(['(', ')']) {
        return false;
    }
    let (file, line, _) = split_source_location(token);
    line.is_some() && !file.is_empty() || token.contains('/')
}

fn set_location(frame: &mut ReportFrame, location: &str) {
    let (file, line, column) = split_source_location(location);
    frame.file = Some(file.to_owned()).filter(|f| !f.is_empty());
    frame.line = line;
    frame.column = column;
}

/// `a.c:5:3` -> (`a.c`, 5, 3); `a.c:5` -> (`a.c`, 5, None); `a.c` -> (`a.c`, None, None).
fn split_source_location(location: &str) -> (&str, Option<u32>, Option<u32>) {
    let number = |s: &str| -> Option<u32> {
        if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    if let Some((head, last)) = location.rsplit_once(':') {
        if let Some(last) = number(last) {
            if let Some((file, line)) = head.rsplit_once(':') {
                if let Some(line) = number(line) {
                    return (file, Some(line), Some(last));
                }
            }
            return (head, Some(last), None);
        }
    }
    (location, None, None)
}

/// `0x1f` / `1f` -> 31; at most 16 digits.
pub(super) fn parse_hex(token: &str) -> Option<u64> {
    let digits = token.strip_prefix("0x").unwrap_or(token);
    if digits.is_empty() || digits.len() > 16 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// The `0x...` numbers of a line (at most 8).
pub(super) fn hex_numbers(text: &str) -> Vec<u64> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == 'x'))
        .filter(|token| token.starts_with("0x"))
        .filter_map(parse_hex)
        .filter(|&value| value != 0)
        .take(8)
        .collect()
}

fn is_noise(line: &str, trimmed: &str) -> bool {
    let text = trimmed.trim_end();
    if text.bytes().all(|b| b == b'=') || text.bytes().all(|b| b == b'-') {
        return true;
    }
    if text.ends_with("Sanitizer:DEADLYSIGNAL") || text == "Exiting" || text.starts_with("Shadow byte") {
        return true;
    }
    if text.starts_with("ThreadSanitizer: reported ") && text.ends_with(" warnings") {
        return true;
    }
    // Shadow memory rows: `  0x0c047fff7fb0: 00 00 fa` and `=>0x0c047fff8000: fa fa 00[fa]`.
    let row = text.strip_prefix("=>").unwrap_or(text);
    if let Some((address, bytes)) = row.split_once(": ") {
        if address.starts_with("0x") && parse_hex(address).is_some() && is_shadow_bytes(bytes) {
            return true;
        }
    }
    // The legend: `  Heap left redzone:       fa`, `  Partially addressable: 01 02 03 04 05 06 07`.
    if line.starts_with("  ") {
        if let Some((name, bytes)) = text.split_once(':') {
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphabetic() || b == b' ') && is_shadow_bytes(bytes)
            {
                return true;
            }
        }
    }
    false
}

/// `fa fa 00[fa]fa` (hex byte pairs, spaces and brackets).
fn is_shadow_bytes(text: &str) -> bool {
    let pairs = text.split([' ', '[', ']']).filter(|t| !t.is_empty());
    let mut any = false;
    for pair in pairs {
        if pair.len() != 2 || !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        any = true;
    }
    any
}

/// `0x7ffe...: note: pointer points here`, ` 04 00 00 00  20 00 ...`, `              ^ `.
fn is_ubsan_continuation(line: &str, trimmed: &str) -> bool {
    let text = trimmed.trim_end();
    if text.contains(": note: ") || text == "<memory cannot be printed>" {
        return true;
    }
    if line.starts_with(' ') {
        if is_ubsan_caret(text) {
            return true;
        }
        let mut tokens = text.split(' ').filter(|t| !t.is_empty()).peekable();
        if tokens.peek().is_some() && tokens.all(|t| t.len() == 2 && t.bytes().all(|b| b.is_ascii_hexdigit())) {
            return true;
        }
    }
    false
}

/// UBSan's caret line under a memory dump (`^~~~~~~`, trimmed): the bytes of the ranges it
/// highlights.
pub(super) fn is_ubsan_caret(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b == b'^' || b == b'~' || b == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(line: &str) -> ReportFrame {
        parse_frame(line).unwrap_or_else(|| panic!("not a frame: {line}")).frame
    }

    #[test]
    fn address_style_frames() {
        let f = frame("    #0 0x559dcd1ae1f8 in store_past_end /work/c/heap.c:8");
        assert_eq!(f.index, 0);
        assert_eq!(f.address, Some(0x559dcd1ae1f8));
        assert_eq!(f.function.as_deref(), Some("store_past_end"));
        assert_eq!((f.file.as_deref(), f.line, f.column), (Some("/work/c/heap.c"), Some(8), None));
        assert_eq!(f.module, None);

        let f = frame("    #12 0x5e8bf0 in pymain_run_command ../Modules/main.c:255:5");
        assert_eq!((f.index, f.file.as_deref(), f.line, f.column), (12, Some("../Modules/main.c"), Some(255), Some(5)));

        let f = frame("    #0 0x7f4a9b8b89cf  (/lib/x86_64-linux-gnu/");
        assert_eq!((f.address, f.function, f.module), (Some(0x7f4a9b8b89cf), None, None), "a truncated line");

        let f = frame("    #0 0x560ddaae91f8  (/tmp/hbo+0x11f8)");
        assert_eq!((f.function, f.file), (None, None));
        assert_eq!((f.module.as_deref(), f.module_offset), (Some("/tmp/hbo"), Some(0x11f8)));

        let f = frame("    #5 0x559dcd1ae0b0 in _start (/tmp/hbo+0x10b0)");
        assert_eq!(f.function.as_deref(), Some("_start"));
        assert_eq!((f.module.as_deref(), f.module_offset), (Some("/tmp/hbo"), Some(0x10b0)));

        let f = frame("    #0 0x7fb39a8b94c8 in operator new(unsigned long) ../../../../src/libsanitizer/asan/asan_new_delete.cpp:95");
        assert_eq!(f.function.as_deref(), Some("operator new(unsigned long)"));
        assert_eq!(f.line, Some(95));

        let f = frame(
            "    #4 0x56442ace62a0 in _start (/tmp/msan+0x212a0) (BuildId: a271b89eeaeca840010fc9f5eea1dc5c35694813)",
        );
        assert_eq!((f.function.as_deref(), f.module_offset), (Some("_start"), Some(0x212a0)));

        let f = frame("    #0 0x55b0cfc82397  (/tmp/msan+0xa7397) (BuildId: a271b89e)");
        assert_eq!((f.module.as_deref(), f.module_offset), (Some("/tmp/msan"), Some(0xa7397)));

        let f = frame("    #3 0x7f0000001000 in foo");
        assert_eq!((f.function.as_deref(), f.file), (Some("foo"), None));

        let f = frame("    #1 0x0  (<unknown module>)");
        assert_eq!((f.address, f.module, f.function), (Some(0), None, None));

        let f = frame("    #2 0x4012 in std::vector<int, std::allocator<int> >::push_back(int const&) /usr/include/c++/12/bits/stl_vector.h:1287:2");
        assert_eq!(f.function.as_deref(), Some("std::vector<int, std::allocator<int> >::push_back(int const&)"));
        assert_eq!(f.column, Some(2));

        let f = frame("    #0 0x10 in f (/path with space/lib.so+0x10)");
        assert_eq!(f.module.as_deref(), Some("/path with space/lib.so"));
        assert_eq!(f.build_id, None);
    }

    #[test]
    fn build_ids_are_kept() {
        let f = frame("    #0 0x55b0cfc82397  (/tmp/msan+0xa7397) (BuildId: a271b89e)");
        assert_eq!(f.build_id.as_deref(), Some("a271b89e"));
        let f = frame("    #0 0x55b0cfc82397  (/tmp/msan+0xa7397) (BuildId: not hex)");
        assert_eq!(f.build_id, None);
    }

    #[test]
    fn module_paths_may_hold_parentheses() {
        let f = frame("    #0 0x55e7c6a1c1e5  (/tmp/sp dir (x)/c(1)+0xdf1e5) (BuildId: 01ab)");
        assert_eq!((f.module.as_deref(), f.module_offset), (Some("/tmp/sp dir (x)/c(1)"), Some(0xdf1e5)));
        assert_eq!((f.function, f.build_id.as_deref()), (None, Some("01ab")));

        let f = frame("    #1 0x4 in main (/tmp/sp dir (x)/a prog+0x1234)");
        assert_eq!((f.function.as_deref(), f.module.as_deref()), (Some("main"), Some("/tmp/sp dir (x)/a prog")));

        // Parentheses in the function name are not the module's.
        let f = frame("    #2 0x4 in (anonymous namespace)::f(int) (/lib/a (1).so+0x10)");
        assert_eq!(f.function.as_deref(), Some("(anonymous namespace)::f(int)"));
        assert_eq!(f.module.as_deref(), Some("/lib/a (1).so"));

        // Unbalanced: no module part.
        assert_eq!(module_part("f(x+0x1)"), None);
        assert_eq!(module_part("(a)b)+0x1)"), None);
        // A long line of parentheses is one pass, not quadratic.
        let hostile = format!("#0 0x1 in {}+0x1)", "( ".repeat(500_000));
        assert!(parse_frame(&hostile).is_some_and(|f| f.frame.module.is_some()));

        let summary = "SUMMARY: AddressSanitizer: heap-use-after-free (/tmp/sp dir (x)/c(1)+0xdf1e5) in uaf";
        assert_eq!(modules_named(summary).collect::<Vec<_>>(), ["/tmp/sp dir (x)/c(1)"]);
    }

    /// Real lines of gcc 12's libasan (libbacktrace: no column, GNU names without parameters)
    /// and clang 14's runtime (llvm-symbolizer) for sources in `/tmp/wsym/dir (x) y`.
    #[test]
    fn source_paths_may_hold_spaces() {
        let dir = "/tmp/wsym/dir (x) y";
        for (line, function, file, line_no, column) in [
            ("    #0 0x7f0581e241c2 in fill /tmp/wsym/dir (x) y/lib2.c:4", "fill", "lib2.c", 4, None),
            ("    #2 0x558fb0e13333 in main /tmp/wsym/dir (x) y/asan.c:14", "main", "asan.c", 14, None),
            ("    #1 0x56229145d1c6 in go /tmp/wsym/dir (x) y/<stdin>:2", "go", "<stdin>", 2, None),
            ("    #0 0x7fc6b5b41586 in fill /tmp/wsym/dir (x) y/lib2.c:4:76", "fill", "lib2.c", 4, Some(76)),
            (
                "    #1 0x5586acf2a664 in (anonymous namespace)::S::go(int, char const*) /tmp/wsym/dir (x) y/<stdin>:2:64",
                "(anonymous namespace)::S::go(int, char const*)",
                "<stdin>",
                2,
                Some(64),
            ),
            ("    #0 bump /tmp/wsym/dir (x) y/race.c:3 (race+0x11e8)", "bump", "race.c", 3, None),
        ] {
            let f = frame(line);
            let path = format!("{dir}/{file}");
            assert_eq!(f.function.as_deref(), Some(function), "{line}");
            assert_eq!((f.file.as_deref(), f.line, f.column), (Some(path.as_str()), Some(line_no), column), "{line}");
        }
        // Names with spaces before paths without: the last word is still the location.
        for (line, function, file) in [
            (
                "    #0 0x7fce602b9628 in operator new[](unsigned long) ../../../../src/libsanitizer/asan/asan_new_delete.cpp:98",
                "operator new[](unsigned long)",
                "../../../../src/libsanitizer/asan/asan_new_delete.cpp",
            ),
            (
                "    #3 0x7f74c7a45249 in __libc_start_call_main csu/../sysdeps/nptl/libc_start_call_main.h:58:16",
                "__libc_start_call_main",
                "csu/../sysdeps/nptl/libc_start_call_main.h",
            ),
            (
                "    #1 0x4ece36 in std::map<int, std::vector<int, std::allocator<int> > >::at(int const&) Objects/longobject.c:5",
                "std::map<int, std::vector<int, std::allocator<int> > >::at(int const&)",
                "Objects/longobject.c",
            ),
            ("    #2 0x1 in A::operator/(A const&) /src/a b.cc:3", "A::operator/(A const&)", "/src/a b.cc"),
            ("    #2 0x1 in f(char const*, ...) ./a b.c:3", "f(char const*, ...)", "./a b.c"),
        ] {
            let f = frame(line);
            assert_eq!((f.function.as_deref(), f.file.as_deref()), (Some(function), Some(file)), "{line}");
        }
        // A location alone (a custom stack_trace_format).
        let f = frame("    #0 0x1 /tmp/wsym/dir (x) y/lib2.c:4");
        assert_eq!((f.function, f.file.as_deref()), (None, Some("/tmp/wsym/dir (x) y/lib2.c")));
    }

    #[test]
    fn tsan_style_frames() {
        let f = frame("    #0 bump /work/c/tsan_race.c:10 (tsan_race+0x11d7)");
        assert_eq!(f.address, None);
        assert_eq!(f.function.as_deref(), Some("bump"));
        assert_eq!((f.file.as_deref(), f.line), (Some("/work/c/tsan_race.c"), Some(10)));
        assert_eq!((f.module.as_deref(), f.module_offset), (Some("tsan_race"), Some(0x11d7)));

        let f = frame("    #1 <null> <null> (libtsan.so.2+0x3898f)");
        assert_eq!((f.function, f.file), (None, None));
        assert_eq!(f.module.as_deref(), Some("libtsan.so.2"));

        let f = frame("    #0 Foo::bar(int, char const*) /src/a.cc:5:7 (a.out+0x123) (BuildId: 00ff)");
        assert_eq!(f.function.as_deref(), Some("Foo::bar(int, char const*)"));
        assert_eq!(f.column, Some(7));
    }

    #[test]
    fn non_frames() {
        for line in [
            "#include <stdio.h>",
            "# comment",
            "#0",
            "    #x 0x1 in f",
            "#1234567890 0x1 in f",
            "    #0 0xZZ in f",
            "    #0 words without a module",
            "#0 0x12345678901234567 in f",
        ] {
            assert_eq!(parse_frame(line), None, "{line}");
        }
    }

    /// Another process's unterminated output before a runtime's line (`tick tick ` of a
    /// process writing to the same stderr without newlines): the runtime's line is found in
    /// the exact shape it prints it, and the text before it is dropped.
    #[test]
    fn runtime_lines_after_other_output() {
        let Line::Frame(f) = classify("tick tick     #0 0x7fcf684934c2 in hbo /tmp/qa-san5/ext/s5.c:22") else {
            panic!("no frame")
        };
        assert_eq!((f.frame.index, f.frame.function.as_deref(), f.frame.line), (0, Some("hbo"), Some(22)));
        assert_eq!(f.frame.address, Some(0x7fcf684934c2));
        let Line::Frame(f) = classify("tick     #3 0x7f0581e241c2  (/usr/lib/libx.so+0x1c2) (BuildId: 01ab)") else {
            panic!("no frame")
        };
        assert_eq!((f.frame.module.as_deref(), f.frame.build_id.as_deref()), (Some("/usr/lib/libx.so"), Some("01ab")));
        let Line::Frame(f) = classify("..    #0 bump /src/race.c:10 (race+0x11d7)") else { panic!("no TSan frame") };
        assert_eq!((f.frame.function.as_deref(), f.frame.module.as_deref()), (Some("bump"), Some("race")));
        let summary = "SUMMARY: AddressSanitizer: heap-buffer-overflow /tmp/qa-san5/ext/s5.c:22 in hbo";
        assert_eq!(
            classify(&format!("tick tick {summary}")),
            Line::Summary {
                tool: "AddressSanitizer",
                rest: &summary["SUMMARY: AddressSanitizer: ".len()..],
                text: summary
            }
        );
        for (line, runtime) in [
            ("tick tick allocated by thread T0 here:", "allocated by thread T0 here:"),
            ("tick previously allocated by thread T0 here:", "previously allocated by thread T0 here:"),
            ("tick freed by thread T1 here:", "freed by thread T1 here:"),
            ("x Thread T1 created by T0 here:", "Thread T1 created by T0 here:"),
            ("tick WRITE of size 1 at 0x602000000220 thread T0", "WRITE of size 1 at 0x602000000220 thread T0"),
            (
                "tick Direct leak of 40 byte(s) in 1 object(s) allocated from:",
                "Direct leak of 40 byte(s) in 1 object(s) allocated from:",
            ),
            (
                "tick 0x602000000220 is located 0 bytes to the right of 16-byte region [0x602000000210,0x602000000220)",
                "0x602000000220 is located 0 bytes to the right of 16-byte region [0x602000000210,0x602000000220)",
            ),
            (
                "tick Address 0x7ffd1000 is located in stack of thread T0 at offset 40 in frame",
                "Address 0x7ffd1000 is located in stack of thread T0 at offset 40 in frame",
            ),
            // The runtime's own lines as they are.
            ("previously allocated by thread T0 here:", "previously allocated by thread T0 here:"),
            ("Previous write of size 4 at 0x1 by thread T1:", "Previous write of size 4 at 0x1 by thread T1:"),
            ("READ of size 4 at 0x603000000044 thread T1", "READ of size 4 at 0x603000000044 thread T1"),
            (
                "Address 0x7ffd1000 is located in stack of thread T0",
                "Address 0x7ffd1000 is located in stack of thread T0",
            ),
        ] {
            assert_eq!(classify(line), Line::Text(runtime), "{line}");
        }
        // A test's prose is not a runtime's line: not the shape it prints.
        for line in [
            "see frame #0 0x1234 in f a.c:1",
            "expected:  #0 0x1234 in f a.c:1",
            "x    #0 0x12 is the first frame",
            "x    #0 0xzz in f a.c:1",
            "x    #0 words (module)",
            "the SUMMARY: NotASanitizer: x",
            "x    #0 0x1234",
        ] {
            assert!(!matches!(classify(line), Line::Frame(_) | Line::Summary { .. }), "{line}");
        }
    }

    #[test]
    fn headlines() {
        let Line::Headline(h) = classify("==10394==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000020 at pc 0x559dcd1ae1f9 bp 0x7fff9e2518f0 sp 0x7fff9e2518e8") else {
            panic!("no headline")
        };
        assert_eq!((h.sanitizer, h.pid, h.kind.as_str()), (Sanitizer::Asan, Some(10394), "heap-buffer-overflow"));
        assert!(h.message.starts_with("ERROR: AddressSanitizer: heap-buffer-overflow"));
        assert_eq!(h.addresses.first(), Some(&0x602000000020));

        let Line::Headline(h) = classify("WARNING: ThreadSanitizer: data race (pid=11273)") else { panic!() };
        assert_eq!((h.sanitizer, h.pid, h.kind.as_str()), (Sanitizer::Tsan, Some(11273), "data race"));

        let Line::Headline(after_verbose) = classify(
            "test_add (test_ub.T.test_add) ... /src/ubsan.c:8:14: runtime error: signed integer overflow: 1 + 2147483647",
        ) else {
            panic!()
        };
        assert_eq!(after_verbose.message, "/src/ubsan.c:8:14: runtime error: signed integer overflow: 1 + 2147483647");
        assert_eq!(after_verbose.location.and_then(|l| l.file).as_deref(), Some("/src/ubsan.c"));
        // After regrtest's -R progress dots (3.11: `......`; 3.12+: `12:34`, then `.. ...`).
        for (line, file) in [
            (".....x.c:1:2: runtime error: division by zero", "x.c"),
            ("1X. Objects/longobject.c:5:6: runtime error: division by zero", "Objects/longobject.c"),
            ("..../Include/object.h:5:6: runtime error: division by zero", "../Include/object.h"),
            ("./Include/object.h:5:6: runtime error: division by zero", "./Include/object.h"),
            ("/src/u.c:5:6: runtime error: division by zero", "/src/u.c"),
        ] {
            let Line::Headline(h) = classify(line) else { panic!("{line}") };
            assert_eq!(h.location.and_then(|l| l.file).as_deref(), Some(file), "{line}");
            assert!(h.message.starts_with(file), "{}", h.message);
        }
        let Line::Headline(h) = classify("/src/ubsan.c:8:14: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'") else { panic!() };
        assert_eq!((h.sanitizer, h.pid, h.kind.as_str()), (Sanitizer::Ubsan, None, "signed-integer-overflow"));
        let location = h.location.unwrap_or_else(|| empty_frame(9));
        assert_eq!(
            (location.file.as_deref(), location.line, location.column),
            (Some("/src/ubsan.c"), Some(8), Some(14))
        );

        let Line::Headline(h) = classify("test_x (t.T.test_x) ... ==77==ERROR: LeakSanitizer: detected memory leaks")
        else {
            panic!()
        };
        assert_eq!((h.sanitizer, h.pid, h.kind.as_str()), (Sanitizer::Lsan, Some(77), "detected memory leaks"));

        let Line::Headline(h) =
            classify("==5==AddressSanitizer: CHECK failed: asan_allocator.cpp:190 \"((x)) != (0)\" (0x0, 0x0) (tid=5)")
        else {
            panic!()
        };
        assert_eq!(h.kind, "CHECK failed");
        assert_eq!(h.pid, Some(5));

        // gcc 12's libasan (a real report): no `==PID==`, the thread's id at the end.
        let Line::Headline(h) = classify(
            "AddressSanitizer: CHECK failed: asan_poisoning.cpp:183 \"((beg)) < ((end))\" (0x7febeba00020, 0x7febeba0001f) (tid=1662)",
        ) else {
            panic!()
        };
        assert_eq!((h.sanitizer, h.pid, h.kind.as_str()), (Sanitizer::Asan, Some(1662), "CHECK failed"));
        for tail in ["(tid=)", "(tid=x)", "(tid=99999999999)", "(tid=1", ""] {
            let Line::Headline(h) =
                classify(&format!("AddressSanitizer: CHECK failed: a.cpp:1 \"x\" (0x0, 0x0) {tail}"))
            else {
                panic!("{tail}")
            };
            assert_eq!(h.pid, None, "{tail}");
        }
        let Line::Headline(h) = classify("==5==AddressSanitizer: CHECK failed: a.cpp:1 \"x\" (0x0, 0x0) (tid=6)")
        else {
            panic!()
        };
        assert_eq!(h.pid, Some(5), "`==PID==` wins over the thread's id");
    }

    #[test]
    fn notices_are_not_headlines() {
        for line in [
            "==5==WARNING: AddressSanitizer failed to allocate 0x10000000000 bytes",
            "==5==WARNING: ASan is ignoring requested __asan_handle_no_return: stack type: default",
            "WARNING: AddressSanitizer: something",
            "ERROR: NotASanitizer: foo",
            "runtime error: no location",
        ] {
            assert!(!matches!(classify(line), Line::Headline(_)), "{line}");
        }
    }

    #[test]
    fn noise_and_continuations() {
        for line in [
            "=================================================================",
            "==================",
            "AddressSanitizer:DEADLYSIGNAL",
            "Shadow bytes around the buggy address:",
            "  0x0c047fff7fb0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
            "=>0x0c047fff8000: fa fa 00 00[fa]fa fa fa fa fa fa fa fa fa fa fa",
            "Shadow byte legend (one shadow byte represents 8 application bytes):",
            "  Partially addressable: 01 02 03 04 05 06 07 ",
            "  Heap left redzone:       fa",
            "ThreadSanitizer: reported 1 warnings",
            "Exiting",
        ] {
            assert_eq!(classify(line), Line::Noise, "{line}");
        }
        for line in [
            "0x7ffe8a298fe0: note: pointer points here",
            " 04 00 00 00  20 00 00 00 00 00 00 00  04 00 00 00",
            "              ^ ",
        ] {
            assert!(matches!(classify(line), Line::UbsanContinuation(_)), "{line}");
        }
        assert_eq!(classify("==5==ABORTING"), Line::Pid { pid: 5, rest: "ABORTING" });
        assert_eq!(classify("   "), Line::Blank);
        assert!(matches!(
            classify("SUMMARY: AddressSanitizer: SEGV /src/segv.c:7 in poke"),
            Line::Summary { tool: "AddressSanitizer", rest: "SEGV /src/segv.c:7 in poke", .. }
        ));
    }
}
