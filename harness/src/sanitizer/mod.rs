//! Sanitizer reports in a child's output -> structured findings; and the log rewriter behind
//! `leakcheck symbolize [FILE]`.
//!
//! **What it parses.** The reports of the sanitizer runtimes of gcc 12 (libasan8, libubsan1,
//! libtsan2) and clang 14 (MemorySanitizer), as they print them by default and with the
//! options CPython's buildbots use:
//! - AddressSanitizer (`==PID==ERROR: AddressSanitizer: heap-buffer-overflow on address ...`),
//!   with its access stack, `freed by thread T0 here:` / `previously allocated by ...` /
//!   `Thread T1 created by T0 here:` stacks, descriptions, `HINT:` lines and `SUMMARY:`; the
//!   shadow-byte dump and legend after the summary are recognised and skipped;
//! - LeakSanitizer (`ERROR: LeakSanitizer: detected memory leaks`): one finding per report,
//!   one [`RelatedStack`] per `Direct leak of ...`/`Indirect leak of ...` block;
//! - MemorySanitizer (`==PID==WARNING: MemorySanitizer: use-of-uninitialized-value`) with its
//!   origin stacks (`Uninitialized value was created by a heap allocation`);
//! - UndefinedBehaviorSanitizer (`file.c:8:14: runtime error: signed integer overflow: ...`),
//!   with or without a stack (`print_stacktrace=1`) and a `SUMMARY:` (`print_summary`,
//!   `report_error_type=1`), `note:` lines and memory dumps;
//! - ThreadSanitizer (`WARNING: ThreadSanitizer: data race (pid=N)`), whose frames have no
//!   addresses (`#0 bump /src/race.c:10 (race+0x11d7)`);
//! - each runtime's fatal-signal reports (`ERROR: AddressSanitizer: SEGV on unknown address`)
//!   and internal `CHECK failed` reports.
//!
//! Frames are read symbolized (`#1 0x4ece36 in cfunction_vectorcall_NOARGS
//! ../Objects/methodobject.c:486`) or not (`#0 0x7f..  (/usr/lib/libpython3.11d.so+0x1a2b3)`,
//! `symbolize=0` or no symbolizer), with or without column and `(BuildId: ...)`.
//!
//! **What the caller provides.** Every line of the child's stderr *and* stdout, in arrival
//! order, to [`Parser::feed_line`]; then [`Parser::finish`] at the end. Unrelated output
//! (regrtest's, other processes') may be mixed in, and the reports of several processes
//! (regrtest `-j` workers, test subprocesses sharing a pipe) may be interleaved line by line.
//! A caller that knows each line's stream (stdout and stderr on two pipes) gives it to
//! [`Streams::feed_line`] instead, which reads each stream with a parser of its own: a runtime
//! writes a report to one stream, and the other stream's lines, which arrive between its
//! lines in an order no one can know, pass it without touching it (see [`Streams`]).
//! [`Finding::test`] is left `None` for the caller, who knows which test was running;
//! [`Finding::start_line`] says at which input line the report began, for a caller that keeps
//! a history. [`symbolize_findings`] and [`symbolize_log`] need the ELF files named in the
//! frames to still exist, or to have been read by the same symbolizer before ([`load_modules`],
//! which the run calls as each report completes: a test may remove the module right after).
//!
//! **How reports are delimited.** A report opens at its headline (the `ERROR:`/`WARNING:` line,
//! or UBSan's `runtime error:` line) and closes, in order of preference:
//! 1. at its `SUMMARY:` line (the shadow-byte dump, legend and `==PID==ABORTING` that follow
//!    are recognised and skipped; a `==PID==HINT:` printed after the summary is lost);
//! 2. at `==PID==ABORTING` of its process, or at the next headline of the same process (a
//!    UBSan `runtime error:` line, which has no pid, ends the previous UBSan report);
//! 3. for UBSan (which prints no summary by default): at the line after the blank line that
//!    ends its stack, or at the first text line that neither it (its `note:` lines, memory
//!    dump) nor another open report takes;
//! 4. when it has received no frame or `==PID==` line for [`STALE_LINES`] quiet lines (text,
//!    and frames no report takes: other reports' headlines, frames, `==PID==` lines and
//!    summaries do not count, so a report whose process waits on a slow first symbolization
//!    while others print hundreds of lines stays open), when [`MAX_OPEN_REPORTS`] others are
//!    open and a new one starts (the least recently fed is closed), or at [`Parser::finish`].
//!    A report gone stale before any frame waits [`STALE_LINES`] more quiet lines for a stack
//!    that begins when no open report expects one, and takes it.
//!
//! A runtime told to print no summary (`print_summary=0`, which the caller passes to
//! [`Parser::without_summaries`]) ends its reports where the summary would be: ASAN's at its
//! shadow-byte dump (the `=>` row, which holds the shadow of the report's address), any of
//! them at text right after its stack that no runtime prints there (the output that follows
//! the report; like UBSan's rule 3, another process's line between two of its stacks ends it
//! early), or by rules 2 and 4.
//!
//! A finding is returned by the call that closes its report, so a report without an end of
//! its own (rule 3) completes one line late. Findings closed by rule 4 (or rule 2 before any
//! summary, unless summaries are off) are marked [`Finding::truncated`]; [`Finding::end`]
//! says how each ended.
//!
//! Another process's unterminated output (`tick tick `) may come before a runtime's line on
//! the same line: a headline, a frame (`    #N 0x... in`, the runtime's exact shape), a
//! `SUMMARY: XSanitizer:` line, a stack's label or ASAN's `READ of size` line is found after
//! it, and that text is dropped.
//!
//! **How lines are attributed when reports interleave.** Lines carrying `==PID==` go to that
//! process's report. Other lines carry no pid and are scored against each open report:
//! - a frame `#N` fits a report whose current stack ends at `#N-1`; `#0` fits one awaiting a
//!   stack (its access stack, or a related one after a label line); TSan-style frames fit only
//!   TSan warnings, and the others never them. Evidence adds up: frame `#0` of an access stack
//!   at the headline's `pc`, a bad free's `#0` in the runtime's `free`, UBSan's `#0` at its
//!   `runtime error:` location, the same module at the same load bias as earlier frames, an
//!   address within 16 MiB of earlier ones (another process's copy of a module is GiBs away),
//!   unless its module is another than the one the report has at that bias (without ASLR, two
//!   programs' executables share a bias and lie near each other);
//!   a report begins with the code addresses of its process's earlier reports. Reports that
//!   all wait for their access stack and that nothing tells apart take stacks in the order of
//!   their headlines, until a text line right after the stack names another one's address
//!   (`Address 0x... is located in stack`), which takes the stack over;
//! - a `SUMMARY:` line fits an open report of its sanitizer (LSan's `leaked in` only LSan),
//!   better one whose kind and top frame it names;
//! - other text fits reports fed within the last [`TEXT_WINDOW`] lines, or any naming one of
//!   its addresses (a stack's label, `freed by thread T0 here:`, any report), only those of the sanitizer that prints such lines (`Direct leak of` is
//!   LSan's, `freed by ... here:` ASAN's, `Uninitialized value was` MSAN's...), better one
//!   whose addresses it names, worse one holding a label (its stack comes next); a stack
//!   frame's object line (`[32, 48) 'local' (line 34) <== Memory access at offset 36 ...`)
//!   fits the report whose `Address 0x... is located in stack ... at offset 36 in frame` line
//!   names that offset, and never one whose names another.
//!
//! When reports tie, the pattern of the recent attributions decides (adjacent lines that
//! alternated between reports keep alternating; runs keep running). A text line that ties is
//! held: if frame `#0` of one of the tied reports follows, it becomes that stack's label; if
//! text that one of them alone takes follows, it goes with that line (the chunk it begins:
//! `This frame has 1 object(s):` before its object line); while runs keep running, further
//! tied lines (up to 8, not a stack's label) are held with it, and go together; a held line
//! the same as one given before it goes to another of the tied reports (lockstep). A label a report did not use (it went on with its current stack) is given to the
//! next report that begins a stack without one. This is a heuristic: on the real captures of
//! `tests/data/sanitizer/`, every pair of non-UBSan reports interleaved line by line and in
//! runs of 1 to 13 lines loses no line, and in 798 of 855 combinations every frame and label
//! lands in the right report; the rest are pairs that nothing tells apart (two TSan reports,
//! whose frames have no addresses; two processes' first stacks beginning at once). UBSan
//! reports, with no pid and no end of their own, can lose or gain lines when interleaved with
//! other output of their stream (with the other stream's, read by [`Streams`], they do not).
//!
//! **Memory is bounded**: at most [`MAX_OPEN_REPORTS`] reports open (per stream in [`Streams`]), [`MAX_FRAMES_PER_STACK`]
//! frames per stack, [`MAX_STACKS_PER_REPORT`] related stacks, [`MAX_DESCRIPTION_LINES`] lines
//! of description, and [`MAX_REPORT_BYTES`] of text per report; input lines are cut to
//! [`MAX_LINE_BYTES`] (their beginning, or their end when a runtime's line ends them). What is dropped is counted in [`Finding::dropped`]. Arbitrary bytes
//! (invalid UTF-8, NULs, megabyte lines) never panic; the table of hostile inputs is in
//! `parser.rs`'s tests, and `fuzz/fuzz_targets/sanitizer_parse.rs` fuzzes the parser.
//!
//! **What it does not do.** No I/O in the parser, no processes, no clocks. It does not read
//! `log_path` files (the run feeds them, see `run::findings::log_path_findings`), suppression files, or HWASan, KASan, Go or Rust
//! (`-Zsanitizer`) formats beyond what they share with the above; it does not demangle (the
//! runtimes already do). [`deduplicate`] merges findings by stack signature only: two distinct
//! bugs with the same top frames are one finding (a frame with a source line compares by its
//! file's name and line, not its function, so that a report the runtime symbolized and one
//! leakcheck symbolized agree; the eval loop's frame compares by name alone: the same C frames
//! above it, called from two Python lines, are one finding).

#![forbid(unsafe_code)]

mod dedup;
mod fold;
mod kind;
mod line;
mod names;
mod parser;
mod streams;
mod symbolize;

use serde::Serialize;

pub use self::dedup::{deduplicate, DEDUP_FRAMES};
pub use self::fold::fold_frames_of;
pub use self::line::pid_prefix;
pub use self::names::function_base_name;
pub use self::parser::{starts_report, Parser};
pub use self::streams::Streams;
pub use self::symbolize::{
    gone_modules, load_modules, symbolize_findings, symbolize_live_log, symbolize_log, Interrupt, MAX_HELD_LINES,
    MAX_HOLD,
};

/// Reports open at once per parser (one per process and sanitizer; [`Streams`] has one parser per
/// stream); a new report past it closes the least recently fed one as [`ReportEnd::Evicted`].
pub const MAX_OPEN_REPORTS: usize = 16;
/// Frames kept per stack; ASAN prints at most 255 (`kStackTraceMax`), deep recursion included.
pub const MAX_FRAMES_PER_STACK: usize = 256;
/// Related stacks kept per report (LSan prints one per leak site).
pub const MAX_STACKS_PER_REPORT: usize = 1024;
/// Description lines kept per report.
pub const MAX_DESCRIPTION_LINES: usize = 64;
/// Text (function names, paths, lines) kept per report, roughly in bytes.
pub const MAX_REPORT_BYTES: usize = 1 << 20;
/// Bytes of an input line looked at: its first ones, or its last ones when the first are plain
/// text and the last hold a runtime's line (after another process's long unterminated output);
/// the rest of a longer line is ignored.
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// A report that received no frame or `==PID==` line for this many quiet input lines (text,
/// frames no report takes) is closed as truncated (text alone does not keep it open:
/// unrelated output could, for ever; other reports' structural lines do not close it).
pub const STALE_LINES: u64 = 512;
/// Arrival times kept per finding ([`Finding::arrivals`]); the reports past them are told
/// their test by their process alone.
pub const MAX_ARRIVALS: usize = 256;
/// `(test, pid)` pairs kept per merged finding ([`Finding::test_pids`]).
pub const MAX_PIDS: usize = 256;
/// Unprefixed text (descriptions, labels) goes only to reports fed within this many lines.
pub const TEXT_WINDOW: u64 = 16;

/// The runtime that printed a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sanitizer {
    Asan,
    Lsan,
    Msan,
    Ubsan,
    Tsan,
}

impl Sanitizer {
    /// The runtime's own name, as in its reports (`AddressSanitizer`...).
    pub fn runtime_name(self) -> &'static str {
        match self {
            Sanitizer::Asan => "AddressSanitizer",
            Sanitizer::Lsan => "LeakSanitizer",
            Sanitizer::Msan => "MemorySanitizer",
            Sanitizer::Ubsan => "UndefinedBehaviorSanitizer",
            Sanitizer::Tsan => "ThreadSanitizer",
        }
    }
}

/// How a report's text ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportEnd {
    /// Its `SUMMARY:` line.
    Summary,
    /// `==PID==ABORTING` of its process.
    Aborting,
    /// The next report of the same process began.
    NextReport,
    /// UBSan, which prints no summary by default: the line after the blank line ending its
    /// stack, or the first line that cannot belong to it.
    UbsanEnd,
    /// ASAN told to print no summary (`print_summary=0`): its shadow-byte dump, which comes
    /// where the summary would.
    ShadowDump,
    /// A runtime told to print no summary: output its runtime does not print came right after
    /// its stack ([`Parser::without_summaries`]).
    OtherOutput,
    /// No frame or `==PID==` line for [`STALE_LINES`] quiet lines.
    Stale,
    /// Closed to make room ([`MAX_OPEN_REPORTS`]).
    Evicted,
    /// [`Parser::finish`].
    EndOfInput,
}

/// One sanitizer report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub sanitizer: Sanitizer,
    /// The report's bug type: ASAN/MSAN's (`heap-buffer-overflow`, `double-free`, `SEGV`,
    /// `alloc-dealloc-mismatch`, `use-of-uninitialized-value`...; the `SUMMARY:` line's when
    /// there is one), `detected memory leaks` for LSan, UBSan's check name (printed with
    /// `report_error_type=1`, else derived from the message: `signed-integer-overflow`,
    /// `invalid-shift-exponent`, `out-of-bounds-index`..., `undefined-behavior` where the
    /// message does not prove the check), TSan's (`data race`, `thread leak`...).
    pub kind: String,
    /// From `==PID==` (TSan: `(pid=N)`; a `CHECK failed` headline without `==PID==`: its
    /// `(tid=N)`, the id of the thread that failed the check, which is the process's for its
    /// main thread); UBSan's `runtime error:` lines have none.
    pub pid: Option<u32>,
    /// The regrtest test that was running; left `None` by the parser, for the caller.
    pub test: Option<String>,
    /// The `SUMMARY: ...` line.
    pub summary: Option<String>,
    /// The headline without its `==PID==` prefix (`ERROR: AddressSanitizer: ...`, or UBSan's
    /// `file:line:col: runtime error: ...`).
    pub message: String,
    /// The access (primary) stack, innermost first. Empty for LSan (its stacks are in
    /// `related`); for a UBSan report printed without a stack, one frame with the source
    /// location of its `runtime error:` line.
    pub frames: Vec<ReportFrame>,
    /// The other stacks, in report order: `freed by thread T0 here:`, `previously allocated
    /// by ...`, `Thread T1 created by T0 here:`, MSAN's origins, TSan's `Previous write ...`,
    /// one per LSan leak block.
    pub related: Vec<RelatedStack>,
    /// How many reports this finding stands for (1 from the parser; summed by [`deduplicate`]).
    pub count: u32,
    /// The report's other lines, in order, leading whitespace removed (`WRITE of size 4 at
    /// ...`, `0x... is located 0 bytes to the right of 16-byte region ...`, `HINT: ...`,
    /// UBSan's `note:` lines).
    pub description: Vec<String>,
    /// How the report ended.
    pub end: ReportEnd,
    /// True when lines may be missing at the end: no `SUMMARY:` line (or, for UBSan, no end
    /// of its own) before the input ended, the report went stale or was evicted, or its process
    /// began another report first.
    pub truncated: bool,
    /// Frames, stacks or lines dropped by the memory bounds.
    pub dropped: u32,
    /// 1-based number of the input line (of all lines fed) holding the headline: for a
    /// finding read from a `log_path` file, the line in that file.
    pub start_line: u64,
    /// The `log_path` file the report was read from (set by the run); `None` for the
    /// command's output.
    pub log_file: Option<String>,
    /// After [`deduplicate`]: the other tests of the merged findings (distinct, in order).
    pub other_tests: Vec<String>,
    /// After [`deduplicate`] merged findings: how many of the `count` reports each test's
    /// output held (`None`: no test's), in order of first report; empty while all of them are
    /// `test`'s. See [`Finding::count_in`]. Not in the JSON report, whose `count` is the total.
    #[serde(skip)]
    pub test_counts: Vec<(Option<String>, u32)>,
    /// For a finding whose reports no test's output held (regrtest's `-q` names no passing
    /// test): when each report's first line arrived (`CLOCK_MONOTONIC` nanoseconds, the shim's
    /// clock; at most [`MAX_ARRIVALS`]), set by the run, which tells their tests from the shim's
    /// records at the end: of the process, or, for a report without a pid (UBSan's), of the
    /// tests that ran and ended before it arrived (see [`Finding::awaits_test`]). Not in the
    /// JSON.
    #[serde(skip)]
    pub arrivals: Vec<u64>,
    /// After [`deduplicate`] merged findings of several processes: each test's processes,
    /// `(test, pid)` distinct, in order of first report, at most [`MAX_PIDS`]; empty while
    /// they are `(test, pid)`'s alone. See [`Finding::pids_in`]. Not in the JSON report, whose
    /// `pid` is the first report's.
    #[serde(skip)]
    pub test_pids: Vec<(Option<String>, u32)>,
}

impl Finding {
    /// The run is to tell this finding's test from its process, or, for a report that names
    /// none (UBSan's), from the output's ([`Finding::arrivals`]): [`deduplicate`] merges it
    /// only with findings of the same process (or of none) awaiting theirs.
    #[must_use]
    pub fn awaits_test(&self) -> bool {
        self.test.is_none() && !self.arrivals.is_empty()
    }

    /// How many of the reports this finding stands for each test's output held (`None`: no
    /// test's), in order of first report.
    #[must_use]
    pub fn counts_by_test(&self) -> Vec<(Option<String>, u32)> {
        if self.test_counts.is_empty() {
            vec![(self.test.clone(), self.count)]
        } else {
            self.test_counts.clone()
        }
    }

    /// The processes of the reports this finding stands for, `(test, pid)` distinct, in order
    /// of first report (at most [`MAX_PIDS`]).
    #[must_use]
    pub fn pids_by_test(&self) -> Vec<(Option<String>, u32)> {
        if self.test_pids.is_empty() {
            self.pid.map(|pid| (self.test.clone(), pid)).into_iter().collect()
        } else {
            self.test_pids.clone()
        }
    }

    /// The processes (distinct, in order of first report) of `test`'s reports, or of all
    /// (`None`): a merged finding's `pid` is only its first report's.
    #[must_use]
    pub fn pids_in(&self, test: Option<&str>) -> Vec<u32> {
        let mut pids: Vec<u32> = Vec::new();
        for (t, pid) in self.pids_by_test() {
            if (test.is_none() || t.as_deref() == test) && !pids.contains(&pid) {
                pids.push(pid);
            }
        }
        pids
    }

    /// For a UBSan report, the source location its headline names (`fx/qub.c:7:9: runtime
    /// error: ...`): the compiler writes it into the check itself, debug info or not, so it is
    /// there when no frame of the stack has a line (a module built without `-g`, or stripped).
    /// A frame with the file, line and column alone; `None` for the other sanitizers and for a
    /// headline without a file and line (`<unknown>`, `(module+0x...)`).
    #[must_use]
    pub fn headline_location(&self) -> Option<ReportFrame> {
        if self.sanitizer != Sanitizer::Ubsan {
            return None;
        }
        let (location, _) = self.message.split_once(": runtime error: ")?;
        Some(line::ubsan_location(location)).filter(|frame| frame.file.is_some() && frame.line.is_some())
    }

    /// How many of the reports this finding stands for came from `test`'s output: its own
    /// count where a test's per-test output speaks of the finding, the total `count` being the
    /// run's.
    #[must_use]
    pub fn count_in(&self, test: &str) -> u32 {
        self.counts_by_test().iter().filter(|(t, _)| t.as_deref() == Some(test)).map(|&(_, n)| n).sum()
    }
}

#[cfg(test)]
impl Finding {
    /// A complete ASAN finding of `kind` with these stacks, for the tests of the modules that
    /// work on findings (the parser's own are read from real reports).
    pub(crate) fn asan(kind: &str, frames: Vec<ReportFrame>, related: Vec<RelatedStack>) -> Finding {
        Finding {
            sanitizer: Sanitizer::Asan,
            kind: kind.into(),
            pid: Some(1),
            test: None,
            summary: None,
            message: String::new(),
            frames,
            related,
            count: 1,
            description: Vec::new(),
            end: ReportEnd::Summary,
            truncated: false,
            dropped: 0,
            start_line: 1,
            log_file: None,
            other_tests: Vec::new(),
            test_counts: Vec::new(),
            arrivals: Vec::new(),
            test_pids: Vec::new(),
        }
    }
}

/// One frame of a sanitizer stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportFrame {
    /// The `#N` number (renumbered by [`symbolize_findings`] when inlined frames are added).
    pub index: u32,
    /// The printed PC (already "return address minus one"); TSan prints none. Serialized as a
    /// `"0x..."` string.
    #[serde(serialize_with = "serialize_hex_option")]
    pub address: Option<u64>,
    pub function: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// From `(/path/lib.so+0x1234)`: as printed (TSan prints base names).
    pub module: Option<String>,
    /// From `(/path/lib.so+0x1234)`; serialized as a `"0x..."` string.
    #[serde(serialize_with = "serialize_hex_option")]
    pub module_offset: Option<u64>,
    /// The module's GNU build ID (hex) from a trailing `(BuildId: ...)` (LLVM's runtimes print
    /// it): frames are symbolized only against a file with the same ID.
    pub build_id: Option<String>,
    /// This frame was inlined into the next one: the sanitizer printed the next frame with the
    /// same address, or the symbolizer said so.
    pub inlined: bool,
}

/// A labelled stack of a report other than the access stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelatedStack {
    /// The line before the stack, leading whitespace removed (`freed by thread T0 here:`).
    pub label: String,
    pub frames: Vec<ReportFrame>,
}

fn serialize_hex_option<S: serde::Serializer>(value: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.serialize_str(&format!("{value:#x}")),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_serializes_sanitizer_lowercase_and_addresses_as_hex() {
        let frame = ReportFrame {
            index: 0,
            address: Some(0x7f00_0000_1234),
            function: None,
            file: None,
            line: None,
            column: None,
            module: Some("/lib/x.so".into()),
            module_offset: Some(0x1234),
            build_id: None,
            inlined: false,
        };
        let json = serde_json::to_value(&frame).unwrap_or_default();
        assert_eq!(json["address"], "0x7f0000001234");
        assert_eq!(json["module_offset"], "0x1234");
        assert_eq!(json["line"], serde_json::Value::Null);
        assert_eq!(serde_json::to_value(Sanitizer::Ubsan).unwrap_or_default(), "ubsan");
        assert_eq!(serde_json::to_value(ReportEnd::EndOfInput).unwrap_or_default(), "end_of_input");
    }
}
