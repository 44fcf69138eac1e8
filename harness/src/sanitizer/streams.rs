//! The command's stdout and stderr, each read by a [`Parser`] of its own.
//!
//! A runtime writes each report whole to one file: stderr (or the file of its `log_path`,
//! `stdout` included); a regrtest `-j` worker's output, its reports with it, reaches the command's
//! output through regrtest's main process, which relays it on one stream of its own. No line of
//! the other stream is part of a report. When the command's stdout and stderr are two pipes (a
//! buildbot step's), their lines reach the sink in an order that is a close guess (see
//! [`crate::supervise`]), and lines of one often come between a report's lines on the other:
//! unittest's `test_x (...) ... ok` on stdout between UBSan's `runtime error:` line, its stack
//! and its `SUMMARY:` on stderr. One parser for both would take such a line for the output that
//! follows the report (UBSan's reports have no pid, and end at the first line that cannot be
//! theirs) and lose the rest of the report. Here each stream's parser reads its own lines
//! only, so a line of the other stream passes a report without touching it: attribution, the
//! ends of reports without an end of their own, going stale (quiet lines of the report's own
//! stream count) and the memory bounds ([`super::MAX_OPEN_REPORTS`] per stream) are each
//! stream's. [`Finding::start_line`] still counts the lines of both streams together, in the
//! order they were fed.
//!
//! With one pipe for both (`2>&1`, a terminal: every line [`Stream::Stdout`]'s) one parser reads
//! everything, as [`Parser`] alone does.

#![forbid(unsafe_code)]

use super::{Finding, Parser, Sanitizer};
use crate::supervise::Stream;

/// One [`Parser`] per output stream; see the module documentation.
#[derive(Debug, Default)]
pub struct Streams {
    stdout: Parser,
    stderr: Parser,
    /// Lines fed so far, of both streams.
    lines: u64,
}

impl Streams {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parsers for output whose runtimes of `sanitizers` print no `SUMMARY:` line (see
    /// [`Parser::without_summaries`]).
    pub fn without_summaries(sanitizers: &[Sanitizer]) -> Self {
        Streams {
            stdout: Parser::without_summaries(sanitizers),
            stderr: Parser::without_summaries(sanitizers),
            lines: 0,
        }
    }

    /// Feed one line of `stream` (see [`Parser::feed_line`]); its number, for
    /// [`Finding::start_line`], counts the lines of both streams. Returns the findings this
    /// line completed, all of `stream`.
    pub fn feed_line(&mut self, stream: Stream, line: &[u8]) -> Vec<Finding> {
        self.feed_line_starting(stream, line).0
    }

    /// [`Streams::feed_line`], and whether the line starts a report (see
    /// [`Parser::feed_line_starting`]).
    pub fn feed_line_starting(&mut self, stream: Stream, line: &[u8]) -> (Vec<Finding>, bool) {
        self.lines += 1;
        let parser = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        parser.feed_line_numbered(line, self.lines)
    }

    /// End of input: every report still open on either stream, in the order they began.
    pub fn finish(&mut self) -> Vec<Finding> {
        let mut done = self.stdout.finish();
        done.extend(self.stderr.finish());
        done.sort_by_key(|finding| finding.start_line);
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sanitizer::ReportEnd;

    /// `tests/data/streams/ubsan-kinds-two-pipes.txt`: each line of a real run's output tagged
    /// with its stream (`O ` stdout, `E ` stderr), in the order leakcheck read them.
    const UBSAN_KINDS: &str = include_str!("../../tests/data/streams/ubsan-kinds-two-pipes.txt");

    fn tagged(log: &str) -> impl Iterator<Item = (Stream, &str)> {
        log.lines().map(|line| match line.split_at_checked(2) {
            Some(("E ", rest)) => (Stream::Stderr, rest),
            Some((_, rest)) => (Stream::Stdout, rest),
            None => (Stream::Stdout, ""),
        })
    }

    /// (kind, frames, summary, end) of each finding.
    fn shapes(found: &[Finding]) -> Vec<(&str, usize, Option<&str>, ReportEnd)> {
        found.iter().map(|f| (f.kind.as_str(), f.frames.len(), f.summary.as_deref(), f.end)).collect()
    }

    /// The QA run of four UBSan errors with stdout and stderr on two pipes: unittest's `... ok`
    /// lines (stdout) came between the null-pointer report's `runtime error:` line and its
    /// stack (stderr). Each report is whole, read by its stream's parser; one parser for both
    /// streams, reading the same lines in the same order, loses that report's stack and
    /// summary.
    #[test]
    fn a_report_keeps_its_stack_and_summary_past_the_other_stream_s_lines() {
        let mut streams = Streams::new();
        let mut found = Vec::new();
        for (stream, line) in tagged(UBSAN_KINDS) {
            found.extend(streams.feed_line(stream, line.as_bytes()));
        }
        found.extend(streams.finish());
        let summary = |kind: &str, at: &str| format!("SUMMARY: UndefinedBehaviorSanitizer: {kind} qubsan.c:{at} in");
        assert_eq!(
            shapes(&found),
            [
                (
                    "misaligned-pointer-use",
                    127,
                    Some(summary("misaligned-pointer-use", "42:9").as_str()),
                    ReportEnd::Summary
                ),
                ("null-pointer-use", 127, Some(summary("null-pointer-use", "25:14").as_str()), ReportEnd::Summary),
                (
                    "invalid-shift-exponent",
                    127,
                    Some(summary("invalid-shift-exponent", "15:15").as_str()),
                    ReportEnd::Summary
                ),
                (
                    "integer-divide-by-zero",
                    127,
                    Some(summary("integer-divide-by-zero", "34:15").as_str()),
                    ReportEnd::Summary
                ),
            ],
            "{found:#?}"
        );
        assert!(found.iter().all(|f| !f.truncated && f.pid.is_none()));
        // The lines are numbered as read, both streams together: the null-pointer report's
        // headline is line 142, after 141 lines of both.
        let lines: Vec<u64> = found.iter().map(|f| f.start_line).collect();
        let headlines: Vec<u64> = (1..)
            .zip(UBSAN_KINDS.lines())
            .filter(|(_, line)| line.contains(": runtime error: "))
            .map(|(number, _)| number)
            .collect();
        assert_eq!((lines[1], &lines), (142, &headlines));

        // The same lines read as one stream: the report ends at the first `... ok`.
        let one =
            Parser::parse_log(tagged(UBSAN_KINDS).map(|(_, line)| line).collect::<Vec<_>>().join("\n").as_bytes());
        let null = one.iter().find(|f| f.kind == "null-pointer-use").expect("the null-pointer report");
        assert_eq!((null.frames.len(), null.summary.as_deref(), null.end), (1, None, ReportEnd::UbsanEnd));
    }

    /// Every place a line of the other stream can come in a UBSan report (after its
    /// `runtime error:` line, its notes, memory dump and caret, within its stack, after the
    /// blank line that ends it, before its summary): the report is whole, and so is a report on
    /// the other stream read at the same time. A `-j` worker's report relayed on stdout among
    /// the worker's own `... ok` lines still ends at its summary there.
    #[test]
    fn the_other_stream_s_lines_pass_a_report_anywhere() {
        let report = [
            "u.c:19:17: runtime error: load of misaligned address 0x7ffe8a298fe1 for type 'int', which requires 4 byte alignment",
            "0x7ffe8a298fe1: note: pointer points here",
            " 04 00 00 00  20 00 00 00",
            "              ^ ",
            "    #0 0x55ee7688021e in load /src/u.c:19",
            "    #1 0x55ee7688036a in main /src/u.c:26",
            "",
            "SUMMARY: UndefinedBehaviorSanitizer: misaligned-pointer-use /src/u.c:19:17 in ",
        ];
        let other = [
            "test_x (m.C.test_x) ... ok",
            "",
            "    #3 0x1 in text_that_looks_like_a_frame f.c:1",
            "0:00:01 load avg: 0.10 [2/2] test_y",
        ];
        for at in 1..report.len() {
            for extra in &other {
                let mut streams = Streams::new();
                let mut found = Vec::new();
                for (index, line) in report.iter().enumerate() {
                    if index == at {
                        found.extend(streams.feed_line(Stream::Stdout, extra.as_bytes()));
                    }
                    found.extend(streams.feed_line(Stream::Stderr, line.as_bytes()));
                }
                found.extend(streams.finish());
                let [f] = found.as_slice() else { panic!("{at} {extra:?}: {found:#?}") };
                assert_eq!(
                    (f.kind.as_str(), f.frames.len(), f.description.len(), f.end, f.truncated, f.start_line),
                    ("misaligned-pointer-use", 2, 3, ReportEnd::Summary, false, 1),
                    "{at} {extra:?}: {f:#?}"
                );
            }
        }
        // Two UBSan reports at once, one per stream, line by line: each whole.
        let mut streams = Streams::new();
        let mut found = Vec::new();
        let shifted: Vec<String> =
            report.iter().map(|l| l.replace("u.c:19", "v.c:7").replace("load /", "w /")).collect();
        for (mine, theirs) in report.iter().zip(&shifted) {
            found.extend(streams.feed_line(Stream::Stderr, mine.as_bytes()));
            found.extend(streams.feed_line(Stream::Stdout, theirs.as_bytes()));
        }
        found.extend(streams.finish());
        let places: Vec<(u64, Option<&str>, usize, bool)> = found
            .iter()
            .map(|f| (f.start_line, f.frames[0].file.as_deref(), f.frames.len(), f.summary.is_some()))
            .collect();
        assert_eq!(places, [(1, Some("/src/u.c"), 2, true), (2, Some("/src/v.c"), 2, true)], "{found:#?}");

        // A worker's output relayed on stdout: its own lines end a report there as before.
        let mut streams = Streams::new();
        let mut found = Vec::new();
        for line in ["u.c:8:14: runtime error: division by zero", "test_x (m.C.test_x) ... ok"] {
            found.extend(streams.feed_line(Stream::Stdout, line.as_bytes()));
        }
        assert_eq!(shapes(&found), [("undefined-behavior", 1, None, ReportEnd::UbsanEnd)]);
        assert!(streams.finish().is_empty());
    }
}
