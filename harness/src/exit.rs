//! Every exit status leakcheck can return, in one place. `--help` prints [`help_text`].
//!
//! The rule: when the command ran to completion and leakcheck found nothing more than the
//! command itself reported, leakcheck exits with the command's own status, so that a build step
//! behaves exactly as without it. leakcheck's own statuses are chosen outside the range regrtest
//! uses (0-5, 130) and outside the shell's 126, 127 and 128+N.

/// Named exit statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCode;

impl ExitCode {
    /// The command succeeded and leakcheck found nothing.
    pub const OK: i32 = 0;
    /// Bad leakcheck arguments (sysexits' EX_USAGE).
    pub const USAGE: i32 = 64;
    /// The input of `leakcheck symbolize` (LOG, or standard input; `--exe`'s addresses too) could
    /// not be opened or read (sysexits' EX_NOINPUT).
    pub const NO_INPUT: i32 = 66;
    /// leakcheck itself failed: run directory, log, report files (sysexits' EX_SOFTWARE); a
    /// report file that cannot be written is found before the command starts when it can be
    /// (the command then never runs). A report file that cannot be written at the end (then
    /// written into the run directory instead), a log write that fails while the command runs (the
    /// run goes on, the log left as it was) and a write of the command's stdout to ours that
    /// fails otherwise than by EPIPE (`> /dev/full`) give 70 only where the status would be 0:
    /// a finding's status (101-103) or the command's own failure says more.
    pub const INTERNAL: i32 = 70;
    /// leakcheck found a leak that the command did not report (e.g. a `PyMem_RawMalloc` leak,
    /// which regrtest cannot see). Returned whatever the command's own status was; also when
    /// the command exited 0 though a leak was found in any run of any test: regrtest printed a
    /// leak and exited 0 all the same, or a test leaked in a run before the one reported, which
    /// did not (before regrtest's `-w` re-run, in an earlier regrtest run of the command).
    pub const LEAK_NOT_REPORTED: i32 = 101;
    /// leakcheck found a hang or deadlock and ended the stuck processes. Takes precedence over
    /// 101.
    pub const HANG: i32 = 102;
    /// A sanitizer (ASAN, LSan, MSAN, UBSan, TSan) reported an error in the command's output.
    /// Returned whatever the command's own status was; 102 and 101 take precedence.
    pub const SANITIZER: i32 = 103;
    /// The command exited 0, yet regrtest's run ended halfway: it started tests and never
    /// printed its result (a test called `os._exit(0)`). A finding's status (101-103) comes
    /// first; a non-zero status of the command's own is kept.
    pub const UNFINISHED: i32 = 104;
    /// The command exists but could not be executed (permissions, bad ELF), as in the shell.
    pub const NOT_EXECUTABLE: i32 = 126;
    /// The command was not found, as in the shell.
    pub const NOT_FOUND: i32 = 127;
    /// The command was killed by signal N: 128 + N, as in the shell; a finding's status (101-103)
    /// comes first.
    pub const SIGNAL_BASE: i32 = 128;
}

/// The table printed at the end of `--help`.
pub fn help_text() -> String {
    let rows: [(&str, &str); 11] = [
        ("status of the command", "the command ran and leakcheck found nothing it did not report"),
        ("64", "bad leakcheck arguments"),
        ("66", "the input of leakcheck symbolize (LOG or standard input) could not be opened or read"),
        ("70", "leakcheck itself failed (run directory, log or report files, checked before the command starts; a report that fails at the end is written into the run directory instead, and the message names it; the log or our stdout failing while the command ran, a closed stdout reader excepted); a finding's status, or the command's own non-zero status, comes first"),
        ("101", "leakcheck found a leak the command did not report (e.g. in the raw domain), or that it printed yet exited 0; also when the command exited 0 though a test leaked in a run before the one reported, which did not (before regrtest's -w re-run, or in an earlier regrtest run of the command): the summary's last line says which"),
        ("102", "leakcheck found a hang or deadlock and ended the stuck processes; also a deadlock among threads of a process that went on (its main thread neither in it nor blocked), which it reports and does not end"),
        ("103", "a sanitizer reported an error (ASAN, LSan, MSAN, UBSan, TSan)"),
        ("104", "the command exited 0, yet regrtest never printed its result: it stopped halfway, during a test (a warning names it); 101-103 come first"),
        ("126", "the command could not be executed"),
        ("127", "the command was not found"),
        ("128+N", "the command was killed by signal N (after SIGINT/SIGTERM too), and leakcheck found nothing: 102, 101 and 103 come first"),
    ];
    let mut text = String::from("Exit status:\n");
    for (code, meaning) in rows {
        text.push_str(&format!("  {code:<22} {meaning}\n"));
    }
    text.push_str(
        "  leakcheck never exits 0 when it found a leak (in any run of any test), a hang or a sanitizer error, or when regrtest stopped halfway.\n",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_named_status() {
        let help = help_text();
        for code in [
            ExitCode::USAGE,
            ExitCode::NO_INPUT,
            ExitCode::INTERNAL,
            ExitCode::LEAK_NOT_REPORTED,
            ExitCode::HANG,
            ExitCode::SANITIZER,
            ExitCode::UNFINISHED,
            ExitCode::NOT_EXECUTABLE,
            ExitCode::NOT_FOUND,
        ] {
            assert!(help.contains(&format!("  {code} ")), "{code} missing from:\n{help}");
        }
        assert!(help.contains(&format!("{}+N", ExitCode::SIGNAL_BASE)));
    }
}
