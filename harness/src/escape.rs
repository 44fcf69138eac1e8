//! Escaping of untrusted text (everything the child printed or named) for each output.
//!
//! - Terminal and log summaries: [`for_terminal`] makes control characters (C0, DEL, C1) and
//!   bidirectional controls visible as `\xHH` / `\u{HHHH}`, so a test name cannot move the
//!   cursor, recolour the terminal or forge a `leakcheck:` line.
//! - JSON: serde_json escapes C0 controls; [`JsonFormatter`] also escapes DEL, C1 and the bidi
//!   controls, as `\uXXXX`, so the value is unchanged and the bytes are inert.
//! - A command shown to be pasted into a shell (the issue drafts, the JUnit XML):
//!   [`shell_command`] quotes each argument for a POSIX shell; the output's own escaping still
//!   applies on top.

#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::io;

/// Characters that must never reach an output raw: controls (C0, DEL, C1) and Unicode's
/// `Bidi_Control` set (ALM U+061C, LRM/RLM, the embeddings and overrides, the isolates).
fn is_hazard(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Every character with the `Bidi_Control` property (PropList.txt): what can reorder the
/// text around it.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// At most `max` bytes of `s`, cut back to a character boundary: the bound the reports put on
/// untrusted text, never splitting a character.
pub fn truncate_at_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// [`truncate_at_char_boundary`], with `...` after the cut when there was one.
pub fn truncate_with_ellipsis(s: &str, max: usize) -> String {
    let cut = truncate_at_char_boundary(s, max);
    if cut.len() < s.len() {
        format!("{cut}...")
    } else {
        s.to_owned()
    }
}

/// The command `args` as one line a POSIX shell runs as the same argv: an argument of only
/// characters no shell treats specially (ASCII letters and digits, `_ @ % + = : , . / -`; no `=`
/// in the first, which a shell would take for an assignment) as it is, any other (spaces,
/// quotes, `$`, `*`, non-ASCII, an empty one) in single quotes, a `'` in it as `'\''`
/// (`sh -c 'python -m test -R 3:3 test_x'`). Control characters are kept as they are, inside
/// the quotes: each output escapes them as it escapes any text ([`for_terminal`], Markdown's
/// and XML's rules), so the line is inert there, and pasteable when they are absent.
pub fn shell_command<S: AsRef<str>>(args: &[S]) -> String {
    let mut line = String::new();
    for (index, arg) in args.iter().enumerate() {
        let arg = arg.as_ref();
        if index > 0 {
            line.push(' ');
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+:,./-".contains(c) || (c == '=' && index > 0);
        if !arg.is_empty() && arg.chars().all(plain) {
            line.push_str(arg);
        } else {
            line.push('\'');
            line.push_str(&arg.replace('\'', r"'\''"));
            line.push('\'');
        }
    }
    line
}

/// `s` with hazardous characters made visible.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hazard) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_hazard(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

/// serde_json's compact or pretty formatter, plus escapes for DEL, C1 and bidi controls.
#[derive(Debug)]
pub struct JsonFormatter<F> {
    inner: F,
}

impl JsonFormatter<serde_json::ser::PrettyFormatter<'static>> {
    pub fn pretty() -> Self {
        Self { inner: serde_json::ser::PrettyFormatter::new() }
    }
}

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for JsonFormatter<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_hazard(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                write!(writer, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    // Everything else is the inner formatter's.
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.inner.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.inner.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_value(w)
    }
}

/// Serialize `value` as pretty JSON with [`JsonFormatter`].
pub fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, JsonFormatter::pretty());
    value.serialize(&mut ser)?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each argument comes back whole from `printf '%s\n'` in `sh -c`: the quoted line runs
    /// the same argv, spaces, quotes, `$`, globs, non-ASCII and empty arguments included; plain
    /// ones are left bare.
    #[test]
    fn shell_commands_run_the_same_argv_when_pasted() {
        assert_eq!(
            shell_command(&["sh", "-c", "python3.11-dbg -m test -R 3:3 --testdir . test_x"]),
            "sh -c 'python3.11-dbg -m test -R 3:3 --testdir . test_x'"
        );
        assert_eq!(
            shell_command(&["python3", "-m", "test", "--testdir", "/tmp/a b", "-m", "test_x*", "--junit-xml=j.xml"]),
            "python3 -m test --testdir '/tmp/a b' -m 'test_x*' --junit-xml=j.xml"
        );
        assert_eq!(shell_command(&["A=1", "x=y"]), "'A=1' x=y", "no assignment in the first word");
        assert_eq!(shell_command::<&str>(&[]), "");
        let args = ["it's", "", "$HOME", "`id`", "a\\b", "~", "#x", "テスト", "a\"b", "!x", ";", "&&"];
        assert_eq!(shell_command(&args[..2]), r"'it'\''s' ''");
        let line = format!("printf '%s\\n' {}", shell_command(&args));
        let out = std::process::Command::new("sh").args(["-c", &line]).output().expect("sh runs");
        let expected: String = args.iter().map(|a| format!("{a}\n")).collect();
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{line}");
    }

    #[test]
    fn text_cut_short_ends_with_an_ellipsis() {
        assert_eq!(truncate_with_ellipsis("abc", 3), "abc");
        assert_eq!(truncate_with_ellipsis("abcd", 3), "abc...");
        // Never inside a character: 'é' is two bytes.
        assert_eq!(truncate_with_ellipsis("aé", 2), "a...");
        assert_eq!(truncate_with_ellipsis("", 0), "");
    }

    #[test]
    fn terminal_text_shows_controls_instead_of_obeying_them() {
        assert_eq!(for_terminal("test_os"), "test_os");
        assert_eq!(for_terminal("a\x1b[31mred\r\n"), "a\\x1b[31mred\\x0d\\x0a");
        assert_eq!(for_terminal("x\u{7f}\u{85}\u{202e}y"), "x\\x7f\\x85\\u{202e}y");
    }

    #[test]
    fn every_bidi_control_is_made_visible() {
        // Unicode 15's PropList.txt, Bidi_Control: 12 characters.
        let bidi = "\u{061c}\u{200e}\u{200f}\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}\u{2066}\u{2067}\u{2068}\u{2069}";
        let shown = for_terminal(bidi);
        assert_eq!(shown.matches("\\u{").count(), 12, "{shown}");
        assert!(shown.starts_with("\\u{061c}\\u{200e}"), "{shown}");
        assert!(shown.is_ascii(), "{shown}");
        // Arabic letters around it stay as they are.
        assert_eq!(for_terminal("\u{0627}\u{061c}\u{0628}"), "\u{0627}\\u{061c}\u{0628}");
        let json = String::from_utf8(to_json(&"a\u{061c}b").unwrap()).unwrap();
        assert_eq!(json, "\"a\\u061cb\"\n");
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw_and_keeps_the_value() {
        let value = serde_json::json!({"name": "t\u{7f}\u{9b}\u{202e}\u{1b}é"});
        let bytes = to_json(&value).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(r"t\u007f\u009b\u202e\u001bé"), "{text}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
        let back: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, value);
    }
}
