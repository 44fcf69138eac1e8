//! Colour for the end-of-run summary on a terminal: the verdict words of leakcheck's own lines
//! (`LEAKED`, `HANG`, `HUNG`, `DEADLOCKED`, `SANITIZER`, `warning:` and `no leak`) and the summary's rule.
//!
//! Only ever applied to what [`RunReport::render_text`](super::RunReport::render_text) made,
//! whose untrusted parts (test names, messages) are already escaped, so the only escape
//! sequences in the result are the ones added here. Never used for the log, the JSON, the
//! JUnit's `system-out` or anything else that is not a terminal: [`wanted`] decides.

use std::io::IsTerminal;

const RED_BOLD: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[33m";
const GREEN: &str = "\x1b[32m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Whether leakcheck's summary on stderr gets colour: stderr is a terminal, `NO_COLOR` is not
/// set to a non-empty value (<https://no-color.org>), and `TERM` is not `dumb`.
pub fn wanted() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    decide(std::io::stderr().is_terminal(), no_color, dumb)
}

fn decide(terminal: bool, no_color: bool, dumb: bool) -> bool {
    terminal && !no_color && !dumb
}

/// `text` (the rendered summary) with its verdict words coloured.
pub fn colourize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let Some(rest) = line.strip_prefix("leakcheck: ") else {
            out.push_str(line);
            continue;
        };
        out.push_str("leakcheck: ");
        out.push_str(&colour_line(rest));
    }
    out
}

/// One line after its `leakcheck: ` prefix.
fn colour_line(rest: &str) -> String {
    let paint =
        |at: usize, word: &str, style: &str| format!("{}{style}{word}{RESET}{}", &rest[..at], &rest[at + word.len()..]);
    if rest.starts_with("---- ") {
        let end = rest.trim_end_matches('\n');
        return format!("{BOLD}{end}{RESET}{}", &rest[end.len()..]);
    }
    for (prefix, word, style) in
        [("warning: ", "warning:", YELLOW), ("HANG in ", "HANG", RED_BOLD), ("SANITIZER in ", "SANITIZER", RED_BOLD)]
    {
        if rest.starts_with(prefix) {
            return paint(0, word, style);
        }
    }
    // `NAME: LEAKED ...`, `NAME: HUNG (...)`, `NAME: DEADLOCKED (...)` and `NAME: no leak (...)`: a test's line. Its name cannot hold ": "
    // followed by these words unescaped in a way that matters: the first match is the verdict.
    for (word, style) in
        [(": LEAKED", RED_BOLD), (": HUNG", RED_BOLD), (": DEADLOCKED", RED_BOLD), (": no leak", GREEN)]
    {
        if let Some(at) = rest.find(word) {
            if !rest[..at].contains(' ') {
                return paint(at + 2, &word[2..], style);
            }
        }
    }
    // A domain's line: `    raw: blocks [...]  bytes [...]  <- leak`.
    let domain_line = ["raw: ", "mem: ", "obj: "].iter().any(|d| rest.trim_start().starts_with(d));
    if let Some(at) = rest.find("  <- leak").filter(|_| domain_line) {
        return paint(at + 2, "<- leak", RED_BOLD);
    }
    rest.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_terminal_without_no_color_gets_colour() {
        assert!(decide(true, false, false));
        assert!(!decide(false, false, false), "a pipe or a file: the build log");
        assert!(!decide(true, true, false), "NO_COLOR");
        assert!(!decide(true, false, true), "TERM=dumb");
    }

    #[test]
    fn verdict_words_are_coloured_and_nothing_else_changes() {
        let text = "leakcheck: warning: the hooks were replaced\n\
                    leakcheck: ---- leak summary: 2 tests, 1 leaked ----\n\
                    leakcheck: test_a: LEAKED in raw (passed)\n\
                    leakcheck:     raw: blocks [1, 1, 1]  bytes [48, 48, 48]  <- leak\n\
                    leakcheck: test_b: no leak (passed)  raw [0, 0, 0]\n\
                    leakcheck: HANG in test_c (lock-cycle): two threads\n\
                    leakcheck: SANITIZER in test_d: AddressSanitizer heap-buffer-overflow\n\
                    leakcheck: test_e: DEADLOCKED (lock-cycle): two threads\n\
                    a line of the test's own\n";
        let coloured = colourize(text);
        let plain: String = {
            // Removing what was added gives the text back.
            let mut s = coloured.clone();
            for code in [RED_BOLD, YELLOW, GREEN, BOLD, RESET] {
                s = s.replace(code, "");
            }
            s
        };
        assert_eq!(plain, text);
        assert!(coloured.contains(&format!("leakcheck: {YELLOW}warning:{RESET} the hooks")));
        assert!(coloured.contains(&format!("test_a: {RED_BOLD}LEAKED{RESET} in raw")));
        assert!(coloured.contains(&format!("[48, 48, 48]  {RED_BOLD}<- leak{RESET}\n")));
        assert!(coloured.contains(&format!("test_b: {GREEN}no leak{RESET} (passed)")));
        assert!(coloured.contains(&format!("{RED_BOLD}HANG{RESET} in test_c")));
        assert!(coloured.contains(&format!("{RED_BOLD}SANITIZER{RESET} in test_d")));
        assert!(coloured.contains(&format!("test_e: {RED_BOLD}DEADLOCKED{RESET} (lock-cycle)")));
        assert!(coloured.contains(&format!("{BOLD}---- leak summary: 2 tests, 1 leaked ----{RESET}\n")));
        assert!(coloured.ends_with("a line of the test's own\n"), "other lines are not touched");
    }

    #[test]
    fn a_note_quoting_a_verdict_is_not_coloured() {
        let text = "leakcheck:     note: test_x: LEAKED was printed by the test  <- leak\n";
        assert_eq!(colourize(text), text);
    }
}
