//! Sanitizer options (`ASAN_OPTIONS` and the others) read as the runtimes read them, so that
//! leakcheck knows which flags the user set, and to what: the flag parser of sanitizer_common
//! (compiler-rt's `sanitizer_flag_parser.cpp` and `sanitizer_flags.cpp`; gcc's libasan,
//! libubsan and libtsan carry the same code).
//!
//! The runtime's rules, followed here:
//! - Flags are `name=value`, separated by any run of ` `, `,`, `:`, `\n`, `\t`, `\r`. A name
//!   runs up to `=` or a separator; one not followed by `=` makes the runtime die at start-up
//!   ("expected '='").
//! - A value starting with `'` or `"` runs to the same quote, separators included, and the
//!   quotes are not part of it; an unterminated quote makes the runtime die ("unterminated
//!   string"). Another value runs to the next separator.
//! - Flags are applied in order: a later setting of a flag wins.
//! - `include=FILE` reads more flags from FILE (its first 32 KiB, up to a NUL), where the
//!   `include` stands: later flags override the file's, the file's override earlier ones; a FILE
//!   that cannot be read makes the runtime die. `include_if_exists=FILE` is the same, with any
//!   failure to read FILE ignored. In FILE's name `%b` is the program's name (the basename of
//!   its `argv[0]`), `%d` its directory (with a trailing `/`), `%p` the process id.
//!
//! Pure, except for reading included files. Knows nothing of processes or reports.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The separators between flags.
fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b',' | b':' | b'\n' | b'\t' | b'\r')
}

/// The most of an included file the runtime reads (`kMaxIncludeSize`, above the page size).
const MAX_INCLUDE: u64 = 1 << 15;

/// How deep includes nest before leakcheck stops following them (the runtime has no limit: a
/// file that includes itself overflows its stack).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Flags as the runtime will have them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Every flag set, in the order the runtime applies them (an included file's where its
    /// `include` stands; the `include` itself too): name, and value without its quotes.
    pub flags: Vec<(Vec<u8>, Vec<u8>)>,
    /// Why the runtime will refuse the options and die at start-up, if it will.
    pub error: Option<String>,
    /// Files an `include` names that leakcheck could not read, each with why: the flags they
    /// set are not in [`Options::flags`].
    pub unread: Vec<String>,
}

impl Options {
    /// The value the runtime ends with for flag `name`: its last setting.
    pub fn value(&self, name: &str) -> Option<&[u8]> {
        self.flags.iter().rev().find(|(n, _)| n == name.as_bytes()).map(|(_, v)| v.as_slice())
    }

    /// Whether flag `name` is set at all.
    pub fn sets(&self, name: &[u8]) -> bool {
        self.flags.iter().any(|(n, _)| n == name)
    }
}

/// Parse `text` (a `*SAN_OPTIONS` value) as the runtime does, following `include`s. `program`
/// is the command's program, for `%b` and `%d` in an included file's name.
pub fn parse(text: &[u8], program: Option<&Path>) -> Options {
    let mut options = Options::default();
    parse_into(text, program, 0, &mut options);
    options
}

fn parse_into(text: &[u8], program: Option<&Path>, depth: usize, options: &mut Options) {
    // The runtime reads a C string: a NUL ends it.
    let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
    let mut at = 0;
    loop {
        while at < text.len() && is_separator(text[at]) {
            at += 1;
        }
        if at == text.len() || options.error.is_some() {
            return;
        }
        let name_start = at;
        while at < text.len() && text[at] != b'=' && !is_separator(text[at]) {
            at += 1;
        }
        let name = text[name_start..at].to_vec();
        if text.get(at) != Some(&b'=') {
            options.error = Some(format!("expected '=' after `{}`", String::from_utf8_lossy(&name)));
            return;
        }
        at += 1;
        let value = match text.get(at) {
            Some(&quote @ (b'\'' | b'"')) => {
                let Some(length) = text[at + 1..].iter().position(|&b| b == quote) else {
                    options.error =
                        Some(format!("unterminated string in the value of `{}`", String::from_utf8_lossy(&name)));
                    return;
                };
                let value = text[at + 1..at + 1 + length].to_vec();
                at += length + 2;
                value
            }
            _ => {
                let start = at;
                while at < text.len() && !is_separator(text[at]) {
                    at += 1;
                }
                text[start..at].to_vec()
            }
        };
        let include = match name.as_slice() {
            b"include" => Some(false),
            b"include_if_exists" => Some(true),
            _ => None,
        };
        options.flags.push((name, value.clone()));
        if let Some(if_exists) = include {
            include_file(&value, if_exists, program, depth, options);
        }
    }
}

/// Parse the flags of the file an `include` names, where it stands.
fn include_file(name: &[u8], if_exists: bool, program: Option<&Path>, depth: usize, options: &mut Options) {
    let shown = String::from_utf8_lossy(name).into_owned();
    let path = match substitute(name, program) {
        Ok(path) => path,
        Err(why) => {
            options.unread.push(format!("{shown} ({why})"));
            return;
        }
    };
    if depth >= MAX_INCLUDE_DEPTH {
        options.unread.push(format!("{shown} (included more than {MAX_INCLUDE_DEPTH} levels deep)"));
        return;
    }
    let mut bytes = Vec::new();
    let read = std::fs::File::open(OsStr::from_bytes(&path))
        .and_then(|file| std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_INCLUDE), &mut bytes));
    match read {
        Ok(_) => parse_into(&bytes, program, depth + 1, options),
        // The runtime ignores it, whatever the failure.
        Err(_) if if_exists => {}
        Err(e) => {
            options.unread.push(format!("{shown} ({e})"));
            options.error = Some(format!("cannot read the options file {shown}: {e}"));
        }
    }
}

/// An included file's name with `%b` and `%d` replaced for `program`; `%p` (the process id,
/// different in each process) cannot be.
fn substitute(name: &[u8], program: Option<&Path>) -> Result<Vec<u8>, String> {
    if !name.contains(&b'%') {
        return Ok(name.to_vec());
    }
    let mut out = Vec::new();
    let mut at = 0;
    while at < name.len() {
        match (name[at], name.get(at + 1)) {
            (b'%', Some(b'p')) => return Err("it names the process id, %p".into()),
            (b'%', Some(b'b')) => {
                let base = program.and_then(Path::file_name).ok_or("no program for %b")?;
                out.extend_from_slice(base.as_bytes());
                at += 2;
            }
            (b'%', Some(b'd')) => {
                // The runtime's directory is that of /proc/self/exe: links resolved.
                let dir = program
                    .and_then(|p| std::fs::canonicalize(p).ok())
                    .and_then(|p| p.parent().map(Path::to_owned))
                    .ok_or("no program directory for %d")?;
                out.extend_from_slice(dir.as_os_str().as_bytes());
                if out.last() != Some(&b'/') {
                    out.push(b'/');
                }
                at += 2;
            }
            (b, _) => {
                out.push(b);
                at += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(options: &Options) -> Vec<String> {
        options.flags.iter().map(|(n, _)| String::from_utf8_lossy(n).into_owned()).collect()
    }

    #[test]
    fn every_separator_of_the_runtime_separates() {
        let options = parse(b"a=1,b=2:c=3 d=4\te=5\nf=6\rg=7,,: h=8", None);
        assert_eq!(names(&options), ["a", "b", "c", "d", "e", "f", "g", "h"]);
        assert_eq!(options.value("b"), Some(&b"2"[..]));
        assert_eq!(options.value("h"), Some(&b"8"[..]));
        assert_eq!(options.error, None);
        assert_eq!(parse(b"", None), Options::default());
        assert_eq!(parse(b" :,", None), Options::default());
    }

    #[test]
    fn the_last_setting_wins() {
        let options = parse(b"detect_leaks=0,detect_leaks=1", None);
        assert_eq!(options.value("detect_leaks"), Some(&b"1"[..]));
        assert!(options.sets(b"detect_leaks") && !options.sets(b"detect"));
    }

    #[test]
    fn quoted_values_keep_their_separators() {
        let options = parse(b"log_path='/x/logs q/asan':b=\"1,2:3\"", None);
        assert_eq!(options.value("log_path"), Some(&b"/x/logs q/asan"[..]));
        assert_eq!(options.value("b"), Some(&b"1,2:3"[..]));
        // A flag may follow the closing quote directly, as in the runtime.
        let options = parse(b"a='x'b=2", None);
        assert_eq!((options.value("a"), options.value("b")), (Some(&b"x"[..]), Some(&b"2"[..])));
        // A quote inside an unquoted value is the value's.
        assert_eq!(parse(b"a=it's", None).value("a"), Some(&b"it's"[..]));
        // Empty values.
        let options = parse(b"a=:b=''", None);
        assert_eq!((options.value("a"), options.value("b")), (Some(&b""[..]), Some(&b""[..])));
    }

    #[test]
    fn what_the_runtime_refuses_is_an_error() {
        let options = parse(b"a=1:verbosity:b=2", None);
        assert_eq!(names(&options), ["a"]);
        assert!(options.error.as_deref().is_some_and(|e| e.contains("expected '='")), "{options:?}");
        let options = parse(b"a='x:b=2", None);
        assert!(options.error.as_deref().is_some_and(|e| e.contains("unterminated")), "{options:?}");
        // Not UTF-8: bytes throughout.
        let options = parse(b"log_path=/tmp/\xff/asan", None);
        assert_eq!(options.value("log_path"), Some(&b"/tmp/\xff/asan"[..]));
    }

    #[test]
    fn included_files_set_flags_where_they_stand() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("opts");
        std::fs::write(&file, "log_path=/tmp/inc/asan\nhalt_on_error=0\n").unwrap();
        let text = format!("log_path=/before:include={}:halt_on_error=1", file.display());
        let options = parse(text.as_bytes(), None);
        assert_eq!(options.value("log_path"), Some(&b"/tmp/inc/asan"[..]));
        assert_eq!(options.value("halt_on_error"), Some(&b"1"[..]));
        assert!(options.unread.is_empty() && options.error.is_none(), "{options:?}");
        // Nested, quoted, and `%b`/`%d` from the program.
        let program = dir.path().join("prog");
        std::fs::write(&program, "").unwrap();
        std::fs::write(dir.path().join("prog.opts"), format!("include='{}'", file.display())).unwrap();
        let options = parse(b"include=%dprog.opts", Some(&program));
        assert_eq!(options.value("log_path"), Some(&b"/tmp/inc/asan"[..]), "{options:?}");
        let options = parse(format!("include={}/%b.opts", dir.path().display()).as_bytes(), Some(&program));
        assert_eq!(options.value("log_path"), Some(&b"/tmp/inc/asan"[..]), "{options:?}");
        // A file that includes itself stops somewhere.
        std::fs::write(dir.path().join("loop"), format!("a=1:include={}/loop", dir.path().display())).unwrap();
        let options = parse(format!("include={}/loop", dir.path().display()).as_bytes(), None);
        assert_eq!(options.unread.len(), 1, "{options:?}");
    }

    #[test]
    fn included_files_that_cannot_be_read_are_said_to_be() {
        let options = parse(b"include_if_exists=/nonexistent/opts:a=1", None);
        assert_eq!(names(&options), ["include_if_exists", "a"]);
        assert!(options.unread.is_empty() && options.error.is_none(), "ignored, as by the runtime: {options:?}");
        let options = parse(b"include=/nonexistent/opts:a=1", None);
        assert_eq!(options.unread.len(), 1, "{options:?}");
        assert!(options.error.is_some(), "the runtime dies: {options:?}");
        let options = parse(b"include_if_exists=/tmp/opts.%p:a=1", None);
        assert!(options.unread[0].contains("%p"), "{options:?}");
        assert_eq!(options.value("a"), Some(&b"1"[..]));
    }
}
