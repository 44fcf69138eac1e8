//! The incremental report parser: lines in, findings out. See the module documentation of
//! [`super`] for how reports are delimited and how interleaved lines are attributed.

#![forbid(unsafe_code)]

use std::borrow::Cow;

use crate::escape::truncate_at_char_boundary;

use super::kind;
use super::line::{self, FrameLine, FrameStyle, Headline, Line};
use super::{
    Finding, RelatedStack, ReportEnd, ReportFrame, Sanitizer, MAX_DESCRIPTION_LINES, MAX_FRAMES_PER_STACK,
    MAX_LINE_BYTES, MAX_OPEN_REPORTS, MAX_REPORT_BYTES, MAX_STACKS_PER_REPORT, STALE_LINES, TEXT_WINDOW,
};

/// Bytes kept of one description or label line.
const MAX_TEXT_LINE: usize = 1024;
/// Addresses remembered per report for attribution.
const MAX_REMEMBERED: usize = 64;
/// Frames of the primary stack compared with a `SUMMARY:` line's location.
const SUMMARY_FRAMES: usize = 8;

/// Processes whose code addresses are remembered after their report closed.
const MAX_PROCESSES: usize = 4 * MAX_OPEN_REPORTS;

/// Attributed lines remembered to tell alternating reports from runs of one.
const HISTORY: usize = 8;

/// Attribution scores (see `choose`): how much a line fits a report.
const CONTINUES_STACK: i64 = 100;
const STARTS_AWAITED_STACK: i64 = 100;
const NEW_STACK_AFTER_TEXT: i64 = 50;
const NEW_STACK_WITHOUT_LABEL: i64 = 20;
const FRAMES_MISSING: i64 = 10;
const NOT_EXPECTED: i64 = 1;
const AT_HEADLINE_PC: i64 = 60;
const IN_RUNTIME: i64 = 40;
const SAME_MODULE_BIAS: i64 = 60;
const OTHER_MODULE_BIAS: i64 = -60;
const NEAR_ADDRESS: i64 = 80;
const SAME_REGION: i64 = 10;
const OTHER_PROCESS: i64 = -60;
const KNOWN_DATA_ADDRESS: i64 = 50;
const NEAR_DATA_ADDRESS: i64 = 20;
const SUMMARY_KIND: i64 = 40;
const SUMMARY_LOCATION: i64 = 60;

/// Incremental parser of sanitizer reports; see [`super`] for the rules.
#[derive(Debug, Default)]
pub struct Parser {
    open: Vec<Report>,
    /// Lines fed so far.
    lines: u64,
    /// Lines that count towards a report going stale: text (whoever takes it) and frames no
    /// report takes. Other reports' headlines, frames, `==PID==` lines and summaries do not:
    /// they show that sanitizer output still flows, and a report whose process waits on a slow
    /// first symbolization sees hundreds of them before its stack.
    quiet: u64,
    /// `(line, report id)` of the last attributed lines, most recent first (id 0: none).
    history: [(u64, u64); HISTORY],
    next_id: u64,
    /// Text lines that fit several reports equally, held: if the next line is frame `#0` of
    /// one of them, the last is that stack's label; if it is text that one of them alone
    /// takes, they go with it (a chunk of one process's report: `This frame has 1 object(s):`
    /// before the object it names); if it ties the same reports again while attributions run
    /// in one report (not alternating), it is held with them; otherwise they go where the
    /// pattern of attributions predicted.
    floating: Option<Floating>,
    /// The code addresses and module biases of processes whose reports closed, most recent
    /// last: a process's next report starts with them, so that its stacks are told from other
    /// processes' (ASLR loads each one's modules elsewhere; its own stay put).
    processes: Vec<ProcessMemory>,
    /// Reports closed stale before any frame, with [`Parser::quiet`] then: a stack that comes
    /// later (a slow symbolizer) with no open report expecting one still finds its report, for
    /// [`STALE_LINES`] more quiet lines.
    limbo: Vec<(Report, u64)>,
    /// The access stack being given by headline order (see `choose_for_frame_tied`), until
    /// the next stack begins: a text line after it that names another candidate's addresses
    /// (`0x... is located ...`, `Address 0x... is located in stack`) moves it there.
    by_order: Option<ByOrder>,
    /// The id of the report that took the last line, when it was a frame.
    frame_owner: Option<u64>,
    /// The last line was UBSan's caret line (`    ^~~~`) under a memory dump: an indented
    /// line after it names the ranges (`vptr for 'Other'`) and belongs to the report.
    after_caret: bool,
    /// The runtimes whose options turn their `SUMMARY:` line off (`print_summary=0`), see
    /// [`Parser::without_summaries`].
    no_summary: Vec<Sanitizer>,
    /// The number of the line being fed among all the lines the caller reads, for
    /// [`Finding::start_line`]: [`Parser::lines`], unless fed by [`super::Streams`], which
    /// numbers the lines of both streams together.
    line_number: u64,
}

#[derive(Debug)]
struct ByOrder {
    owner: u64,
    /// The other reports that waited for their access stack.
    others: Vec<u64>,
    /// The owner's code addresses and biases before the stack.
    code_addresses: Vec<u64>,
    biases: Vec<(String, u64)>,
}

#[derive(Debug)]
struct ProcessMemory {
    pid: u32,
    code_addresses: Vec<u64>,
    biases: Vec<(String, u64)>,
}

#[derive(Debug)]
struct Floating {
    /// `(text, input line)`, in order; at most [`MAX_HELD_TEXT`].
    lines: Vec<(String, u64)>,
    candidates: Vec<u64>,
    predicted: u64,
}

/// Tied text lines held at once (see [`Parser::floating`]).
const MAX_HELD_TEXT: usize = 8;

#[derive(Debug)]
struct Report {
    id: u64,
    finding: Finding,
    /// The last stack filled; text after it does not end it (another process's line may sit
    /// between two frames), but frame `#0` starts the next.
    cursor: Option<Cursor>,
    /// Text arrived since the last frame: the report awaits a stack.
    text_since_frame: bool,
    /// Text since the last stack: the last line becomes the next stack's label.
    pending: Vec<String>,
    last_fed: u64,
    /// [`Parser::quiet`] at its last line other than text (headline, frame, `==PID==` line):
    /// text alone does not keep a report from going stale, or unrelated output would keep it
    /// open for ever.
    last_structural: u64,
    last_was_frame: bool,
    /// UBSan: the blank line after its stack came; the next line ends it, unless a summary.
    stack_ended: bool,
    bytes: usize,
    /// UBSan: the location of its headline.
    location: Option<ReportFrame>,
    /// ASAN: `pc 0x...` of its headline, where frame `#0` of the access stack is (minus one).
    pc: Option<u64>,
    /// Heap/stack addresses named by its lines, and code addresses of its frames.
    data_addresses: Vec<u64>,
    /// ASAN: the offsets of its `Address 0x... is located in stack of thread T0 at offset N
    /// in frame` lines: the frame's object line `<== Memory access at offset N` is its own.
    frame_offsets: Vec<u64>,
    code_addresses: Vec<u64>,
    /// `(module, address - offset)` seen in its frames.
    biases: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Copy)]
struct Cursor {
    slot: Slot,
    last_index: u32,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Primary,
    Related(usize),
    Dropped,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser for output whose runtimes of `sanitizers` print no `SUMMARY:` line (their
    /// options say `print_summary=0`). Their reports end, not truncated, at what comes where
    /// the summary would: ASAN's shadow-byte dump (its `=>` row), other output right after a
    /// stack (text that no runtime prints there), the process's `==PID==ABORTING` or next
    /// report, or the end of the input. The runtimes' other reports end as [`Parser::new`]'s.
    pub fn without_summaries(sanitizers: &[Sanitizer]) -> Self {
        Parser { no_summary: sanitizers.to_vec(), ..Self::default() }
    }

    /// Feed one line (without its newline; a trailing `\r` or `\n` is removed). Returns the
    /// findings this line completed.
    pub fn feed_line(&mut self, line: &[u8]) -> Vec<Finding> {
        self.feed_line_starting(line).0
    }

    /// [`Parser::feed_line`], and whether the line starts a report ([`starts_report`]), read
    /// from the one classification of the line (a caller asking both classified it twice).
    pub fn feed_line_starting(&mut self, line: &[u8]) -> (Vec<Finding>, bool) {
        self.feed_line_numbered(line, self.lines + 1)
    }

    /// [`Parser::feed_line_starting`] for line `number` of the caller's (its reports'
    /// `start_line`), of which this parser reads only some: [`super::Streams`]' parser of one
    /// stream.
    pub(super) fn feed_line_numbered(&mut self, line: &[u8], number: u64) -> (Vec<Finding>, bool) {
        self.lines += 1;
        self.line_number = number;
        self.frame_owner = None;
        let mut done = Vec::new();
        let may_be_runtime_line = line::may_be_runtime_line(line);
        if self.open.is_empty() && self.floating.is_none() && !may_be_runtime_line {
            // Output between reports, the common case, read without decoding it: text with
            // no report to take it, which counts towards the limbo's going stale as any does.
            self.after_caret = false;
            self.quiet += 1;
            self.close_stale(&mut done);
            return (done, false);
        }
        let text = prepare(line);
        let mut line = line::classify(&text);
        // As `starts_report` reads it.
        let starts = may_be_runtime_line && matches!(line, Line::Headline(_));
        if let Line::Text(label) = line {
            if self.after_caret && text.starts_with(' ') {
                line = Line::UbsanContinuation(label);
            }
        }
        // Only under a UBSan report's caret: a Python traceback's `    ^^^^` is followed by an
        // indented `  File ...` line, which stays text.
        self.after_caret = matches!(line, Line::UbsanContinuation(text) if line::is_ubsan_caret(text))
            && self.open.iter().any(is_open_ubsan);
        if matches!(line, Line::Text(_) | Line::UbsanContinuation(_)) {
            self.quiet += 1;
        }
        if let Some(floating) = &self.floating {
            let starts_stack = match &line {
                Line::Frame(frame) if frame.frame.index == 0 => {
                    self.choose_for_frame(frame).and_then(|i| self.open.get(i)).map(|r| r.id)
                }
                _ => None,
            };
            let (mut taken_by, mut held) = (None, false);
            // A stack's label waits for its stack, not for text.
            let labels = floating.lines.iter().any(|(text, _)| is_label_of_stack_to_come(text));
            if let (Line::Text(text), false) = (&line, labels) {
                match self.choose_for_text(text) {
                    Some((index, tied)) if tied.len() <= 1 => taken_by = self.open.get(index).map(|r| r.id),
                    Some((_, tied)) => {
                        held = tied == floating.candidates
                            && !is_label_of_stack_to_come(text)
                            && floating.lines.len() < MAX_HELD_TEXT
                            && self.predicted() == floating.predicted;
                    }
                    None => {}
                }
            }
            if !held {
                self.resolve_floating(starts_stack, taken_by);
            }
        }
        self.close_stale(&mut done);
        // A UBSan report whose stack ended with a blank line ends now, unless this is its
        // summary, or a frame continuing its stack (then the blank was another process's).
        let summary = matches!(line, Line::Summary { .. });
        for report in self.open.iter_mut().filter(|r| r.stack_ended) {
            let continues = match &line {
                Line::Frame(frame) => {
                    report.cursor.is_some_and(|c| frame.frame.index == c.last_index.saturating_add(1))
                }
                _ => false,
            };
            report.stack_ended &= !continues;
        }
        if !summary {
            while let Some(index) = self.open.iter().position(|r| r.stack_ended) {
                self.close(index, ReportEnd::UbsanEnd, &mut done);
            }
        }
        match line {
            Line::Headline(headline) => self.open_report(headline, &mut done),
            Line::Pid { pid, rest } => {
                let found = self.open.iter().rposition(|r| r.finding.pid == Some(pid));
                if let Some(index) = found {
                    if rest.trim() == "ABORTING" {
                        self.close(index, ReportEnd::Aborting, &mut done);
                    } else {
                        self.add_text(index, rest.trim(), self.lines);
                        if let Some(report) = self.open.get_mut(index) {
                            report.last_structural = self.quiet;
                        }
                    }
                }
            }
            Line::Frame(frame) => self.frame(frame, &mut done),
            Line::Summary { tool, rest, text } => {
                if let Some(index) = self.choose_for_summary(tool, rest) {
                    self.attributed(index, self.lines);
                    if let Some(report) = self.open.get_mut(index) {
                        if let Some(kind) = kind::from_summary(report.finding.sanitizer, rest) {
                            report.finding.kind = kind.to_owned();
                        }
                        report.finding.summary = Some(truncate_at_char_boundary(text, MAX_TEXT_LINE).to_owned());
                    }
                    self.close(index, ReportEnd::Summary, &mut done);
                }
            }
            Line::UbsanContinuation(text) => match self.open.iter().rposition(is_open_ubsan) {
                Some(index) => self.add_text(index, text, self.lines),
                None => self.text(text, &mut done),
            },
            Line::Blank => {
                // UBSan's stack ends with a blank line; its report ends there, unless a
                // summary follows (`print_summary=1`).
                let previous = self.history[0].1;
                if let Some(report) =
                    self.open.iter_mut().find(|r| r.id == previous && is_open_ubsan(r) && r.last_was_frame)
                {
                    report.stack_ended = true;
                }
            }
            Line::Noise => {
                if let Some(row) = buggy_shadow_row(&text) {
                    self.shadow_dump(row, &mut done);
                }
            }
            Line::Text(text) => self.text(text, &mut done),
        }
        (done, starts)
    }

    /// The `=>` row of an ASAN shadow-byte dump, which follows where the `SUMMARY:` line would
    /// be: with ASAN's summaries off, it ends the report of that dump, the one whose address
    /// the row holds the shadow of (else the last fed ASAN report with a stack and no summary).
    /// With summaries on, a report has ended at its summary before its dump.
    fn shadow_dump(&mut self, row: u64, done: &mut Vec<Finding>) {
        if !self.no_summary.contains(&Sanitizer::Asan) {
            return;
        }
        let dumped = |report: &&Report| {
            report.finding.sanitizer == Sanitizer::Asan
                && report.finding.summary.is_none()
                && !(report.finding.frames.is_empty() && report.finding.related.is_empty())
        };
        let shadows = |report: &&Report| report.data_addresses.iter().any(|&address| shadow_row_of(address, row));
        let chosen = self
            .open
            .iter()
            .filter(dumped)
            .filter(shadows)
            .max_by_key(|r| r.last_fed)
            .or_else(|| self.open.iter().filter(dumped).max_by_key(|r| r.last_fed))
            .map(|r| r.id);
        if let Some(index) = chosen.and_then(|id| self.open.iter().position(|r| r.id == id)) {
            self.close(index, ReportEnd::ShadowDump, done);
        }
    }

    /// Text right after a report's stack (blank lines aside) that its runtime does not print
    /// there ([`is_runtime_text`]) ends the reports of runtimes whose summaries are off: the
    /// report is over, this is the output that follows it.
    fn close_after_stack(&mut self, text: &str, done: &mut Vec<Finding>) {
        if self.no_summary.is_empty() || is_runtime_text(text) {
            return;
        }
        let numbers = line::hex_numbers(text);
        let mut index = 0;
        while index < self.open.len() {
            let report = &self.open[index];
            let over = report.last_was_frame
                && !is_open_ubsan(report)
                && self.no_summary.contains(&report.finding.sanitizer)
                && !numbers.iter().any(|n| report.data_addresses.contains(n));
            if over {
                self.close(index, ReportEnd::OtherOutput, done);
            } else {
                index += 1;
            }
        }
    }

    /// A frame line: to the report it fits best, or to one gone stale waiting for it.
    fn frame(&mut self, frame: FrameLine, done: &mut Vec<Finding>) {
        let choice = self.choose_for_frame_tied(&frame);
        let mut chosen = choice.as_ref().map(|&(index, _)| index);
        if frame.frame.index == 0 {
            self.by_order = None;
            let expected = chosen.and_then(|i| self.open.get(i)).is_some_and(|r| expects_stack(r, &frame));
            if !expected {
                chosen = self.revive(&frame, done).or(chosen);
            }
        }
        if let Some((index, others)) = choice.filter(|(index, others)| !others.is_empty() && chosen == Some(*index)) {
            let owner = &self.open[index];
            self.by_order = Some(ByOrder {
                owner: owner.id,
                others,
                code_addresses: owner.code_addresses.clone(),
                biases: owner.biases.clone(),
            });
        }
        self.frame_owner = chosen.and_then(|i| self.open.get(i)).map(|r| r.id);
        match chosen {
            Some(index) => self.add_frame(index, frame.frame),
            None => self.quiet += 1,
        }
    }

    /// Which report took the line just fed, if it was a frame that one took: an id no other
    /// report of this parser has. Frames with the same owner are one process's, in order;
    /// interleaved stacks of several processes are told apart by it.
    pub(super) fn frame_owner(&self) -> Option<u64> {
        self.frame_owner
    }

    /// End of input: every open report, as a finding, in the order they began.
    pub fn finish(&mut self) -> Vec<Finding> {
        self.resolve_floating(None, None);
        let mut done = Vec::new();
        while !self.limbo.is_empty() {
            self.close_limbo(0, &mut done);
        }
        while !self.open.is_empty() {
            self.close(0, ReportEnd::EndOfInput, &mut done);
        }
        done
    }

    /// Every finding of a whole log (a `log_path` file, a saved capture): its `\n`-separated
    /// lines fed in order, then [`Parser::finish`].
    pub fn parse_log(log: &[u8]) -> Vec<Finding> {
        Parser::new().parse_all(log)
    }

    /// [`Parser::parse_log`] with this parser (one made by [`Parser::without_summaries`]).
    pub fn parse_all(mut self, log: &[u8]) -> Vec<Finding> {
        let mut findings = Vec::new();
        for line in log.split(|&b| b == b'\n') {
            findings.extend(self.feed_line(line));
        }
        findings.extend(self.finish());
        findings
    }

    fn open_report(&mut self, headline: Headline, done: &mut Vec<Finding>) {
        // A process reports one thing at a time: its next headline ends its previous report.
        let mut index = 0;
        while index < self.open.len() {
            let report = &self.open[index];
            let same_process = match headline.pid {
                Some(pid) => report.finding.pid == Some(pid),
                None => headline.sanitizer == Sanitizer::Ubsan && is_open_ubsan(report),
            };
            if same_process {
                self.close(index, ReportEnd::NextReport, done);
            } else {
                index += 1;
            }
        }
        self.make_room(done);
        self.next_id += 1;
        let Headline { sanitizer, pid, kind, message, location, addresses } = headline;
        let message = truncate_at_char_boundary(&message, MAX_TEXT_LINE).to_owned();
        let mut report = Report {
            id: self.next_id,
            bytes: message.len(),
            finding: Finding {
                sanitizer,
                kind,
                pid,
                test: None,
                summary: None,
                message,
                frames: Vec::new(),
                related: Vec::new(),
                count: 1,
                description: Vec::new(),
                end: ReportEnd::EndOfInput,
                truncated: false,
                dropped: 0,
                start_line: self.line_number,
                log_file: None,
                other_tests: Vec::new(),
                test_counts: Vec::new(),
                arrivals: Vec::new(),
                test_pids: Vec::new(),
            },
            cursor: None,
            text_since_frame: true,
            pending: Vec::new(),
            last_fed: self.lines,
            last_structural: self.quiet,
            last_was_frame: false,
            stack_ended: false,
            location,
            pc: None,
            data_addresses: Vec::new(),
            frame_offsets: Vec::new(),
            code_addresses: Vec::new(),
            biases: Vec::new(),
        };
        if let Some(memory) = self.processes.iter().find(|m| Some(m.pid) == pid) {
            report.code_addresses.clone_from(&memory.code_addresses);
            report.biases.clone_from(&memory.biases);
        }
        // `at pc 0x...` / `(pc 0x...`: the faulting instruction, next to frame #0.
        let mut words = report.finding.message.split([' ', '(']);
        while let Some(word) = words.next() {
            if word == "pc" {
                if let Some(pc) = words.next().and_then(line::parse_hex) {
                    report.pc = Some(pc);
                    remember(&mut report.code_addresses, pc);
                }
            }
        }
        for address in addresses {
            remember(&mut report.data_addresses, address);
        }
        self.open.push(report);
        self.attributed(self.open.len() - 1, self.lines);
    }

    /// A text line (not a frame, summary or `==PID==` line).
    fn text(&mut self, text: &str, done: &mut Vec<Finding>) {
        if self.open.is_empty() {
            return; // the common case: output between reports
        }
        self.close_after_stack(text, done);
        if self.open.is_empty() {
            return;
        }
        self.reconsider_order(text);
        match self.choose_for_text(text) {
            Some((_, tied)) if tied.len() > 1 => {
                let predicted = self.predicted();
                let predicted = if tied.contains(&predicted) { predicted } else { tied[0] };
                match &mut self.floating {
                    Some(floating) => floating.lines.push((text.to_owned(), self.lines)),
                    None => {
                        let lines = vec![(text.to_owned(), self.lines)];
                        self.floating = Some(Floating { lines, candidates: tied, predicted });
                    }
                }
            }
            Some((index, _)) => self.add_text(index, text, self.lines),
            // Text no other report takes cannot be part of a UBSan report either (it has only
            // its continuations): it ends them.
            None => self.close_ubsan(done),
        }
    }

    fn close_ubsan(&mut self, done: &mut Vec<Finding>) {
        let mut index = 0;
        while index < self.open.len() {
            if is_open_ubsan(&self.open[index]) {
                self.close(index, ReportEnd::UbsanEnd, done);
            } else {
                index += 1;
            }
        }
    }

    /// Give the held text lines to `starting` (the report whose stack the next line starts)
    /// if it was a candidate, the last looks like a label and that report has none; else to
    /// `taken_by` (the candidate that alone took the next line, whose chunk they began); else
    /// to the predicted report. A line the same as one given before it goes to another
    /// candidate: two processes printed it in lockstep.
    fn resolve_floating(&mut self, starting: Option<u64>, taken_by: Option<u64>) {
        let Some(floating) = self.floating.take() else { return };
        let Some((last, _)) = floating.lines.last() else { return };
        // A report about to begin a related stack (not its access stack), with no label yet.
        let needs_label = |id: &u64| {
            self.open.iter().any(|r| {
                r.id == *id
                    && !awaits_primary(r)
                    && !r.pending.last().is_some_and(|text| looks_like_label(text))
                    && text_owner(last).is_none_or(|owner| owner == r.finding.sanitizer)
            })
        };
        let id = starting
            .filter(|id| floating.candidates.contains(id) && looks_like_label(last) && needs_label(id))
            .or(taken_by.filter(|id| floating.candidates.contains(id)))
            .unwrap_or(floating.predicted);
        let mut given: Vec<(u64, &str)> = Vec::new();
        for (text, line) in &floating.lines {
            let to = std::iter::once(id)
                .chain(floating.candidates.iter().copied())
                .find(|&to| !given.contains(&(to, text.as_str())))
                .unwrap_or(id);
            given.push((to, text));
            if let Some(index) = self.open.iter().position(|r| r.id == to) {
                self.add_text(index, text, *line);
            }
        }
    }

    fn close_stale(&mut self, done: &mut Vec<Finding>) {
        let mut index = 0;
        while index < self.open.len() {
            let report = &self.open[index];
            if self.quiet - report.last_structural <= STALE_LINES {
                index += 1;
            } else if awaits_primary(report) && !is_open_ubsan(report) {
                let report = self.open.remove(index);
                self.limbo.push((report, self.quiet));
                if self.limbo.len() > MAX_OPEN_REPORTS {
                    self.close_limbo(0, done);
                }
            } else {
                self.close(index, ReportEnd::Stale, done);
            }
        }
        while self.limbo.first().is_some_and(|(_, since)| self.quiet - since > STALE_LINES) {
            self.close_limbo(0, done);
        }
    }

    /// Give up on a report of the limbo: its stack never came.
    fn close_limbo(&mut self, index: usize, done: &mut Vec<Finding>) {
        if index < self.limbo.len() {
            let (report, _) = self.limbo.remove(index);
            self.open.push(report);
            self.close(self.open.len() - 1, ReportEnd::Stale, done);
        }
    }

    /// Frame `#0` that no open report expects (none awaits a stack or has a label for one):
    /// it is the late stack of a report gone stale before any frame, if one fits. The report
    /// is opened again; returns its index.
    fn revive(&mut self, frame: &FrameLine, done: &mut Vec<Finding>) -> Option<usize> {
        let (index, _) = self
            .limbo
            .iter()
            .enumerate()
            .filter_map(|(i, (report, _))| Some((i, frame_score(report, frame)?)))
            .max_by_key(|&(i, score)| (score, std::cmp::Reverse(i)))?;
        let (report, _) = self.limbo.remove(index);
        self.make_room(done);
        self.open.push(report);
        Some(self.open.len() - 1)
    }

    /// Close the least recently fed report if [`MAX_OPEN_REPORTS`] are open.
    fn make_room(&mut self, done: &mut Vec<Finding>) {
        if self.open.len() >= MAX_OPEN_REPORTS {
            if let Some(oldest) = (0..self.open.len()).min_by_key(|&i| self.open[i].last_fed) {
                self.close(oldest, ReportEnd::Evicted, done);
            }
        }
    }

    fn close(&mut self, index: usize, end: ReportEnd, done: &mut Vec<Finding>) {
        if index >= self.open.len() {
            return;
        }
        let mut report = self.open.remove(index);
        if let (Some(pid), false) = (report.finding.pid, report.code_addresses.is_empty()) {
            self.processes.retain(|m| m.pid != pid);
            if self.processes.len() >= MAX_PROCESSES {
                self.processes.remove(0);
            }
            let (code_addresses, biases) = (report.code_addresses.clone(), report.biases.clone());
            self.processes.push(ProcessMemory { pid, code_addresses, biases });
        }
        let finding = &mut report.finding;
        finding.description.append(&mut report.pending);
        if finding.frames.is_empty() {
            if let Some(location) = report.location.take() {
                finding.frames.push(location);
            }
        }
        finding.end = end;
        let ubsan = finding.sanitizer == Sanitizer::Ubsan && finding.pid.is_none();
        // A report of a runtime told to print no summary is whole without one.
        let whole_without_summary = ubsan || self.no_summary.contains(&finding.sanitizer);
        finding.truncated = match end {
            ReportEnd::Summary | ReportEnd::UbsanEnd | ReportEnd::ShadowDump | ReportEnd::OtherOutput => false,
            ReportEnd::Aborting | ReportEnd::NextReport => !whole_without_summary && finding.summary.is_none(),
            ReportEnd::Stale | ReportEnd::Evicted => true,
            ReportEnd::EndOfInput => !whole_without_summary,
        };
        done.push(report.finding);
    }

    /// Record that the report at `index` received input line `line`.
    fn attributed(&mut self, index: usize, line: u64) {
        let Some(report) = self.open.get_mut(index) else { return };
        report.last_fed = self.lines;
        report.last_was_frame = false;
        let id = report.id;
        self.history.rotate_right(1);
        self.history[0] = (line, id);
    }

    /// The report the pattern of recent attributions expects for the current line: when
    /// adjacent input lines mostly went to different reports (A B A B: line-by-line
    /// interleaving), the one that had the line before the previous; when they mostly went to
    /// the same one (runs), the one that had the previous line. Blank lines are attributed to
    /// nobody, hence line numbers rather than order.
    fn predicted(&self) -> u64 {
        let known: Vec<(u64, u64)> = self.history.iter().copied().take_while(|&(_, id)| id != 0).collect();
        let Some(&(_, last)) = known.first() else { return 0 };
        let (mut alternating, mut running) = (0, 0);
        for pair in known.windows(2) {
            let ((newer_line, newer), (older_line, older)) = (pair[0], pair[1]);
            if newer_line == older_line + 1 {
                if newer == older {
                    running += 1;
                } else {
                    alternating += 1;
                }
            }
        }
        let at = |line: u64| known.iter().find(|&&(l, _)| l == line).map(|&(_, id)| id);
        let previous = at(self.lines.saturating_sub(1));
        // One change of report proves nothing (a second report began); two make a pattern.
        if alternating >= 2 && alternating > running {
            at(self.lines.saturating_sub(2))
                .or_else(|| known.iter().map(|&(_, id)| id).find(|&id| Some(id) != previous))
                .unwrap_or(last)
        } else {
            previous.unwrap_or(last)
        }
    }

    /// The best-scoring report among the compatible ones (`Some` score, however low): ties go
    /// to the predicted report, else to the most recently fed. Also the ids of all tied.
    fn best(&self, scores: impl Iterator<Item = (usize, Option<i64>)>) -> Option<(usize, Vec<u64>)> {
        let scores: Vec<(usize, i64)> = scores.filter_map(|(index, score)| Some((index, score?))).collect();
        let top = scores.iter().map(|&(_, score)| score).max()?;
        let tied: Vec<usize> = scores.iter().filter(|&&(_, score)| score == top).map(|&(index, _)| index).collect();
        let predicted = self.predicted();
        let chosen = tied
            .iter()
            .copied()
            .find(|&index| self.open.get(index).is_some_and(|r| r.id == predicted))
            .or_else(|| tied.iter().copied().max_by_key(|&index| self.open.get(index).map_or(0, |r| r.last_fed)))?;
        let ids = tied.iter().filter_map(|&index| self.open.get(index).map(|r| r.id)).collect();
        Some((chosen, ids))
    }

    fn choose_for_frame(&self, frame: &FrameLine) -> Option<usize> {
        self.choose_for_frame_tied(frame).map(|(index, _)| index)
    }

    /// The report for a frame line, and the ids of the other candidates when it was decided
    /// by headline order alone (else empty).
    fn choose_for_frame_tied(&self, frame: &FrameLine) -> Option<(usize, Vec<u64>)> {
        let scores = self.open.iter().enumerate().map(|(i, report)| (i, frame_score(report, frame)));
        let (chosen, tied) = self.best(scores)?;
        // Reports that began at once, all waiting for their access stack, with nothing in the
        // frame to tell them apart (the same program, no `pc` in the headline): each process
        // prints its stack after its headline, so the earliest headline's most likely comes
        // first. (Ties of other kinds follow the pattern of recent attributions.)
        let waiting: Vec<usize> = (0..self.open.len())
            .filter(|&i| tied.contains(&self.open[i].id) && awaits_primary(&self.open[i]))
            .collect();
        if frame.frame.index == 0 && tied.len() > 1 && waiting.len() == tied.len() {
            if let Some(first) = waiting.into_iter().min_by_key(|&i| self.open[i].finding.start_line) {
                let others = tied.into_iter().filter(|&id| id != self.open[first].id).collect();
                return Some((first, others));
            }
        }
        Some((chosen, Vec::new()))
    }

    /// Move the access stack given by headline order to the candidate a text line names.
    fn reconsider_order(&mut self, text: &str) {
        let Some(by_order) = &self.by_order else { return };
        let numbers = line::hex_numbers(text);
        let names = |report: &Report| numbers.iter().any(|n| report.data_addresses.contains(n));
        let Some(owner) = self.open.iter().position(|r| r.id == by_order.owner) else { return };
        if numbers.is_empty() || names(&self.open[owner]) {
            return;
        }
        let named: Vec<usize> = (0..self.open.len())
            .filter(|&i| by_order.others.contains(&self.open[i].id) && awaits_primary(&self.open[i]))
            .filter(|&i| names(&self.open[i]))
            .collect();
        let [to] = named[..] else { return };
        let Some(by_order) = self.by_order.take() else { return };
        let (frames, cursor, last_fed) = {
            let owner = &mut self.open[owner];
            owner.code_addresses = by_order.code_addresses;
            owner.biases = by_order.biases;
            owner.text_since_frame = true;
            owner.last_was_frame = false;
            let frames = std::mem::take(&mut owner.finding.frames);
            owner.bytes = owner.bytes.saturating_sub(frames.iter().map(frame_bytes).sum());
            (frames, owner.cursor.take(), owner.last_fed)
        };
        let quiet = self.quiet;
        let report = &mut self.open[to];
        report.finding.description.append(&mut report.pending);
        report.bytes += frames.iter().map(frame_bytes).sum::<usize>();
        for frame in &frames {
            report.learn(frame);
        }
        report.finding.frames = frames;
        report.cursor = cursor;
        report.text_since_frame = false;
        report.last_fed = last_fed;
        report.last_structural = quiet;
    }

    fn choose_for_summary(&self, tool: &str, rest: &str) -> Option<usize> {
        let tool = line::sanitizer_named(tool)?;
        let chosen = self.best(self.open.iter().enumerate().map(|(i, report)| {
            let sanitizer = report.finding.sanitizer;
            let compatible = sanitizer == tool || (tool == Sanitizer::Asan && sanitizer == Sanitizer::Lsan);
            if !compatible {
                return (i, None);
            }
            let mut score = 1;
            // LSan's summary (`170 byte(s) leaked in 5 allocation(s).`) is its own.
            if (sanitizer == Sanitizer::Lsan) != rest.contains(" leaked in ") {
                return (i, None);
            }
            let kind_matches = match sanitizer {
                Sanitizer::Lsan => true,
                Sanitizer::Tsan => rest.starts_with(report.finding.kind.as_str()),
                // UBSan's generic `undefined-behavior` names no kind: anything may match, in a
                // summary or as the kind of a message that proves no check (`division by zero`).
                Sanitizer::Ubsan => kind::from_summary(sanitizer, rest)
                    .is_none_or(|kind| kind == report.finding.kind || report.finding.kind == "undefined-behavior"),
                _ => kind::from_summary(sanitizer, rest) == Some(report.finding.kind.as_str()),
            };
            if kind_matches {
                score += SUMMARY_KIND;
            }
            let frames = report.finding.frames.iter().chain(report.location.as_ref()).take(SUMMARY_FRAMES);
            if frames.into_iter().any(|frame| summary_names(rest, frame)) {
                score += SUMMARY_LOCATION;
            }
            (i, Some(score))
        }));
        chosen.map(|(index, _)| index)
    }

    /// A related stack begins in the report at `index` without a label. If another report's
    /// last text is a label it did not use (it went on with its current stack after it), that
    /// label was this stack's, misattributed: take it.
    fn adopt_orphan_label(&mut self, index: usize) {
        let Some(sanitizer) = self.open.get(index).map(|r| r.finding.sanitizer) else { return };
        let orphan = self.open.iter().position(|other| {
            !other.text_since_frame
                && other.pending.last().is_some_and(|text| {
                    looks_like_label(text) && text_owner(text).is_none_or(|owner| owner == sanitizer)
                })
        });
        let Some(label) = orphan.filter(|&o| o != index).and_then(|o| self.open.get_mut(o)?.pending.pop()) else {
            return;
        };
        if let Some(report) = self.open.get_mut(index) {
            report.pending.push(label);
        }
    }

    fn choose_for_text(&self, text: &str) -> Option<(usize, Vec<u64>)> {
        let numbers = line::hex_numbers(text);
        // A line only one sanitizer prints goes to a report of that sanitizer, if one is open.
        let owner = text_owner(text).filter(|&owner| self.open.iter().any(|r| r.finding.sanitizer == owner));
        let access = access_offset(text);
        self.best(self.open.iter().enumerate().map(|(i, report)| {
            let distance = numbers.iter().flat_map(|n| report.data_addresses.iter().map(|a| a.abs_diff(*n))).min();
            // A line naming an address of the report is its own, however many lines of other
            // processes came between (a slow symbolizer); so is the label of a stack, which
            // only a report's runtime prints (`previously allocated by thread T0 here:` after
            // another process's shadow-byte dump).
            let far = self.lines - report.last_fed > TEXT_WINDOW && distance != Some(0) && !is_stack_label(text);
            if is_open_ubsan(report) || far {
                return (i, None);
            }
            if owner.is_some_and(|owner| owner != report.finding.sanitizer) {
                return (i, None);
            }
            // A frame's object at another offset than the report's stack address is another's.
            let offset = access.map(|n| report.frame_offsets.contains(&n));
            if offset == Some(false) && !report.frame_offsets.is_empty() {
                return (i, None);
            }
            let evidence = match distance {
                Some(0) => KNOWN_DATA_ADDRESS,
                Some(d) if d < 4096 => NEAR_DATA_ADDRESS,
                _ if offset == Some(true) => KNOWN_DATA_ADDRESS,
                _ => 0,
            };
            // Two processes printing the same report in lockstep: a report that already has
            // this very line is the last to get it again.
            let clipped = truncate_at_char_boundary(text, MAX_TEXT_LINE);
            let repeated = report.finding.description.iter().chain(&report.pending).any(|t| t == clipped);
            // A process prints a stack right after its label: a report holding a label waits
            // for frame `#0`, not for more text.
            let waits = i64::from(awaits_labelled_stack(report));
            (i, Some(if repeated { 0 } else { 1 + evidence - waits }))
        }))
    }

    fn add_text(&mut self, index: usize, text: &str, line: u64) {
        self.attributed(index, line);
        let Some(report) = self.open.get_mut(index) else { return };
        report.text_since_frame = true;
        for number in line::hex_numbers(text) {
            remember(&mut report.data_addresses, number);
        }
        if let Some(offset) = stack_offset(text) {
            remember(&mut report.frame_offsets, offset);
        }
        let text = truncate_at_char_boundary(text, MAX_TEXT_LINE);
        let lines = report.finding.description.len() + report.pending.len();
        if lines > MAX_DESCRIPTION_LINES || report.bytes + text.len() > MAX_REPORT_BYTES {
            // One more than the description may hold: the last pending line may become a label.
            report.finding.dropped = report.finding.dropped.saturating_add(1);
            if let Some(last) = report.pending.last_mut() {
                // Keep the newest line as the label candidate.
                report.bytes = report.bytes.saturating_sub(last.len()) + text.len();
                *last = text.to_owned();
            }
            return;
        }
        report.bytes += text.len();
        report.pending.push(text.to_owned());
    }

    fn add_frame(&mut self, index: usize, frame: ReportFrame) {
        self.attributed(index, self.lines);
        let starts_related = self.open.get(index).is_some_and(|r| {
            let continues = r.cursor.is_some_and(|c| frame.index != 0 && frame.index > c.last_index);
            !continues && !awaits_primary(r) && !r.pending.last().is_some_and(|text| looks_like_label(text))
        });
        if starts_related {
            self.adopt_orphan_label(index);
        }
        let Some(report) = self.open.get_mut(index) else { return };
        report.last_was_frame = true;
        report.text_since_frame = false;
        report.last_structural = self.quiet;
        report.learn(&frame);
        let continues = report.cursor.filter(|cursor| frame.index != 0 && frame.index > cursor.last_index);
        let slot = match continues {
            Some(cursor) => cursor.slot,
            None => report.start_stack(),
        };
        report.cursor = Some(Cursor { slot, last_index: frame.index });
        let size = frame_bytes(&frame);
        let finding = &mut report.finding;
        let stack = match slot {
            Slot::Primary => Some(&mut finding.frames),
            Slot::Related(i) => finding.related.get_mut(i).map(|stack| &mut stack.frames),
            Slot::Dropped => None,
        };
        match stack {
            Some(stack) if stack.len() < MAX_FRAMES_PER_STACK && report.bytes + size <= MAX_REPORT_BYTES => {
                if let Some(previous) = stack.last_mut() {
                    // The same address twice: an inlined call (the callee's location, then its
                    // call site), or recursion (the same return address, the same location).
                    let same_place = (&previous.function, &previous.file, previous.line, previous.column)
                        == (&frame.function, &frame.file, frame.line, frame.column);
                    previous.inlined = previous.address.is_some() && previous.address == frame.address && !same_place;
                }
                report.bytes += size;
                stack.push(frame);
            }
            _ => finding.dropped = finding.dropped.saturating_add(1),
        }
    }
}

impl Report {
    /// Remember a frame's address and its module's load bias, for attribution.
    fn learn(&mut self, frame: &ReportFrame) {
        if let Some(address) = frame.address {
            remember(&mut self.code_addresses, address);
            if let (Some(module), Some(offset)) = (&frame.module, frame.module_offset) {
                if self.biases.len() < MAX_REMEMBERED && !self.biases.iter().any(|(m, _)| m == module) {
                    self.biases.push((module.clone(), address.wrapping_sub(offset)));
                }
            }
        }
    }

    /// Begin a stack: the first one of a non-LSan report is the access stack; any other is
    /// related, labelled by the last text line before it.
    fn start_stack(&mut self) -> Slot {
        let finding = &mut self.finding;
        let primary = finding.sanitizer != Sanitizer::Lsan && finding.frames.is_empty() && finding.related.is_empty();
        if primary {
            finding.description.append(&mut self.pending);
            return Slot::Primary;
        }
        let label = self.pending.pop().unwrap_or_default();
        finding.description.append(&mut self.pending);
        if finding.related.len() >= MAX_STACKS_PER_REPORT {
            finding.dropped = finding.dropped.saturating_add(1);
            return Slot::Dropped;
        }
        finding.related.push(RelatedStack { label, frames: Vec::new() });
        Slot::Related(finding.related.len() - 1)
    }
}

/// How well frame `frame` fits `report` (see [`Parser::choose_for_frame`]); `None` when it
/// cannot be the report's.
fn frame_score(report: &Report, frame: &FrameLine) -> Option<i64> {
    let index = frame.frame.index;
    // TSan's own reports alone print frames without addresses, and no others.
    if (frame.style == FrameStyle::Tsan) != prints_tsan_frames(report) {
        return None;
    }
    let continuity = match report.cursor {
        // A stack is expected: the access stack, or a related one after its label.
        _ if index == 0 && awaits_primary(report) => STARTS_AWAITED_STACK,
        _ if index == 0 && report.pending.last().is_some_and(|text| looks_like_label(text)) => STARTS_AWAITED_STACK,
        _ if index == 0 && report.text_since_frame => NEW_STACK_AFTER_TEXT,
        Some(_) if index == 0 => NEW_STACK_WITHOUT_LABEL,
        Some(cursor) if index == cursor.last_index.saturating_add(1) => CONTINUES_STACK,
        Some(cursor) if index > cursor.last_index => FRAMES_MISSING,
        Some(_) => NOT_EXPECTED,
        None => FRAMES_MISSING,
    };
    let mut score = continuity + address_affinity(report, &frame.frame);
    // A bad free's access stack begins in the runtime's free (or delete).
    if index == 0 && awaits_primary(report) && is_free_kind(&report.finding.kind) {
        score += match &frame.frame.function {
            Some(f) if ["free", "delete", "realloc"].iter().any(|w| f.contains(w)) => IN_RUNTIME,
            Some(_) => -IN_RUNTIME,
            None if is_runtime_frame(&frame.frame) => IN_RUNTIME / 2,
            None => -IN_RUNTIME,
        };
    }
    // UBSan's stack begins at the location of its `runtime error:` line.
    if let (0, true, Some(location)) = (index, awaits_primary(report), &report.location) {
        if let (Some(expected), Some(file), Some(line)) = (&location.file, &frame.frame.file, frame.frame.line) {
            let same = location.line == Some(line) && file_name(file) == file_name(expected);
            score += if same { AT_HEADLINE_PC } else { -AT_HEADLINE_PC };
        }
    }
    // The access stack's frame #0 is at the headline's pc (printed minus one).
    if let (0, true, Some(pc), Some(address)) = (index, awaits_primary(report), report.pc, frame.frame.address) {
        score += if pc.abs_diff(address) <= 1 { AT_HEADLINE_PC } else { -AT_HEADLINE_PC };
    }
    Some(score)
}

/// Does `report` expect this frame: it continues its stack, or begins the access stack or a
/// stack after a label?
fn expects_stack(report: &Report, frame: &FrameLine) -> bool {
    let index = frame.frame.index;
    let continues = report.cursor.is_some_and(|c| index == c.last_index.saturating_add(1));
    let begins =
        index == 0 && (awaits_primary(report) || report.pending.last().is_some_and(|text| looks_like_label(text)));
    continues || begins
}

/// `freed by thread T0 here:`, `Direct leak of 8 byte(s) in 1 object(s) allocated from:`,
/// `Address 0x7ffc... is located in stack of thread T0 at offset 64 in frame`, TSan's
/// `Previous write of size 4 at 0x... by thread T1:`, MSAN's `Uninitialized value was created
/// by a heap allocation`: the line before a stack.
fn looks_like_label(text: &str) -> bool {
    text.ends_with(':')
        || text.ends_with(" in frame")
        || text.starts_with("Uninitialized value was ")
        || text.starts_with("Memory was marked as uninitialized")
}

/// A stack's label as only a sanitizer runtime prints it: `freed by thread T0 here:`,
/// `previously allocated by thread T1 here:`, `Thread T1 created by T0 here:`.
fn is_stack_label(text: &str) -> bool {
    text.ends_with(" here:") && (text.contains(" by thread T") || text.starts_with("Thread T"))
}

/// TSan's warnings print `#0 function file:line (module+offset)`; its fatal-signal reports
/// (`ERROR: ThreadSanitizer: SEGV ...`) print frames as the other runtimes do.
fn prints_tsan_frames(report: &Report) -> bool {
    report.finding.sanitizer == Sanitizer::Tsan && report.finding.message.starts_with("WARNING: ")
}

/// The last component of `path`.
pub(super) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// ASAN reports about freeing, whose access stack begins in the runtime's `free`/`delete`.
fn is_free_kind(kind: &str) -> bool {
    matches!(kind, "double-free" | "bad-free" | "alloc-dealloc-mismatch" | "new-delete-type-mismatch")
}

/// A frame in a sanitizer runtime's module (`libasan.so.8`, `libclang_rt.asan...`).
fn is_runtime_frame(frame: &ReportFrame) -> bool {
    let module = frame.module.as_deref().map(file_name).unwrap_or_default();
    ["libasan", "libtsan", "liblsan", "libubsan", "libclang_rt"].iter().any(|p| module.starts_with(p))
}

/// Lines the runtimes print right after a stack that no sanitizer alone owns
/// ([`text_owner`]) and that are no stack's label: TSan's `Hint: use
/// TSAN_OPTIONS=second_deadlock_stack=1 ...`, ASAN's `(longjmp and C++ exceptions *are*
/// supported)` and a frame's objects (`[32, 40) 'buf' (line 12) <== Memory access ...`),
/// LSan's `Suppressions used:`, MSAN's `ORIGIN: ...`; with those that one does own.
fn is_runtime_text(text: &str) -> bool {
    text_owner(text).is_some()
        || looks_like_label(text)
        || access_offset(text).is_some()
        || ["Hint: ", "(longjmp and C++ exceptions", "Suppressions used:", "ORIGIN: ", "Cycle in lock order graph"]
            .iter()
            .any(|start| text.starts_with(start))
}

/// The address of the `=>` row of ASAN's shadow-byte dump (`=>0x0c047fff8040: fa fa 00
/// 00[fa]fa ...`), the row of the bad address's shadow byte.
fn buggy_shadow_row(text: &str) -> Option<u64> {
    let (address, bytes) = text.trim_start().strip_prefix("=>")?.split_once(": ")?;
    bytes.contains('[').then(|| line::parse_hex(address))?
}

/// ASAN's shadow offsets (`kDefaultShadowOffset64` and the others of `asan_mapping.h`): x86-64
/// Linux, AArch64, i386, PowerPC64, MIPS64, s390x, RISC-V 64, LoongArch64. The shadow byte of
/// `address` is `(address >> 3) + offset`.
const SHADOW_OFFSETS: [u64; 8] = [0x7fff_8000, 1 << 36, 0x2000_0000, 1 << 44, 1 << 37, 1 << 52, 0xd_5555_0000, 1 << 46];

/// Does the 16-byte row of a shadow dump that starts at `row` hold the shadow byte of
/// `address`, for one of the platforms' offsets?
fn shadow_row_of(address: u64, row: u64) -> bool {
    SHADOW_OFFSETS.iter().any(|offset| {
        let shadow = (address >> 3).wrapping_add(*offset);
        shadow >= row && shadow - row < 16
    })
}

/// A report whose last line is the label of a stack still to come (see
/// [`is_label_of_stack_to_come`]).
fn awaits_labelled_stack(report: &Report) -> bool {
    report.pending.last().is_some_and(|text| is_label_of_stack_to_come(text))
}

/// The label of a stack still to come (`allocated by thread T0 here:`); not `This frame has N
/// object(s):` and `Objects leaked above:`, which text follows.
fn is_label_of_stack_to_come(text: &str) -> bool {
    looks_like_label(text) && !text.starts_with("This frame has ") && text != "Objects leaked above:"
}

/// A report whose first stack, the access stack, has not begun (LSan reports have none).
fn awaits_primary(report: &Report) -> bool {
    let finding = &report.finding;
    finding.sanitizer != Sanitizer::Lsan && finding.frames.is_empty() && finding.related.is_empty()
}

/// The sanitizer whose reports alone hold lines like this one (descriptions and labels).
fn text_owner(text: &str) -> Option<Sanitizer> {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| text.starts_with(p));
    if starts(&["Direct leak of ", "Indirect leak of ", "Objects leaked above:"]) {
        Some(Sanitizer::Lsan)
    } else if starts(&["Uninitialized value was ", "Memory was marked as uninitialized"]) {
        Some(Sanitizer::Msan)
    } else if starts(&["READ of size ", "WRITE of size ", "HINT: ", "This frame has ", "AddressSanitizer can not"])
        || text.ends_with(" here:")
        || text.contains(" is located ")
    {
        Some(Sanitizer::Asan)
    } else if starts(&["Previous ", "Read of size ", "Write of size ", "Atomic ", "Location is ", "Mutex M"])
        || (text.starts_with("Thread T") && text.contains("(tid="))
    {
        Some(Sanitizer::Tsan)
    } else {
        None
    }
}

/// `N` of ASAN's `Address 0x... is located in stack of thread T0 at offset N in frame`.
fn stack_offset(text: &str) -> Option<u64> {
    let rest = text.strip_suffix(" in frame")?;
    let (before, number) = rest.rsplit_once(" at offset ")?;
    before.contains(" is located in stack of thread ").then(|| number.parse().ok())?
}

/// `N` of a frame's object line, `[32, 48) 'local' (line 34) <== Memory access at offset N is
/// inside this variable` (also `overflows`, `underflows`, `partially ...`).
fn access_offset(text: &str) -> Option<u64> {
    let (_, rest) = text.split_once("<== Memory access at offset ")?;
    rest.split(' ').next()?.parse().ok()
}

/// A UBSan `runtime error:` report (not a UBSan fatal-signal report, which has a pid).
fn is_open_ubsan(report: &Report) -> bool {
    report.finding.sanitizer == Sanitizer::Ubsan && report.finding.pid.is_none()
}

fn remember(addresses: &mut Vec<u64>, address: u64) {
    if address == 0 || addresses.contains(&address) {
        return;
    }
    if addresses.len() >= MAX_REMEMBERED {
        addresses.remove(0);
    }
    addresses.push(address);
}

/// How well a frame's address fits a report's earlier frames: the same module at the same
/// load bias, or an address near one of them (ASLR puts each process's modules elsewhere).
fn address_affinity(report: &Report, frame: &ReportFrame) -> i64 {
    let Some(address) = frame.address else { return 0 };
    if let (Some(module), Some(offset)) = (&frame.module, frame.module_offset) {
        let bias = address.wrapping_sub(offset);
        if let Some((_, known)) = report.biases.iter().find(|(m, _)| m == module) {
            return if *known == bias { SAME_MODULE_BIAS } else { OTHER_MODULE_BIAS };
        }
        // A process maps each module at a bias of its own: another module at a bias this one
        // has is another process's (without ASLR, two programs' executables share a bias, and
        // lie near each other's code).
        if report.biases.iter().any(|(_, known)| *known == bias) {
            return OTHER_MODULE_BIAS;
        }
    }
    // One process's modules lie within a few GiB of each other (shared objects) or of its
    // executable; another process's copies are elsewhere (ASLR), yet in the same TiB.
    match report.code_addresses.iter().map(|a| a.abs_diff(address)).min() {
        Some(distance) if distance < 1 << 24 => NEAR_ADDRESS,
        Some(distance) if distance < 1 << 32 => SAME_REGION,
        Some(distance) if distance < 1 << 40 => OTHER_PROCESS,
        _ => 0,
    }
}

/// Does a `SUMMARY:` line's text name this frame's location?
fn summary_names(rest: &str, frame: &ReportFrame) -> bool {
    if let (Some(file), Some(line)) = (&frame.file, frame.line) {
        if rest.contains(&format!("{file}:{line}")) {
            return true;
        }
    }
    if let (Some(module), Some(offset)) = (&frame.module, frame.module_offset) {
        if rest.contains(&format!("({module}+{offset:#x})")) {
            return true;
        }
    }
    false
}

fn frame_bytes(frame: &ReportFrame) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    std::mem::size_of::<ReportFrame>() + text(&frame.function) + text(&frame.file) + text(&frame.module)
}

/// Whether `line` opens a sanitizer report (`==PID==ERROR: AddressSanitizer: ...`, UBSan's
/// `FILE:LINE:COL: runtime error: ...`): where the supervisor may cut a batch of stderr between
/// two runs of writes, the runtime writing each report from its headline on.
#[must_use]
pub fn starts_report(line: &[u8]) -> bool {
    line::may_be_runtime_line(line) && matches!(line::classify(&prepare(line)), Line::Headline(_))
}

/// The text of `line` the parser reads, line ending and ANSI colour sequences removed, invalid
/// UTF-8 replaced: its first [`MAX_LINE_BYTES`]; of a longer line whose
/// beginning is plain text, its last ones when they hold a headline, frame or summary (another
/// process's unterminated output, a megabyte of progress, before a runtime's line: the
/// runtime's line ends it).
fn prepare(line: &[u8]) -> Cow<'_, str> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let head = plain_text(&line[..line.len().min(MAX_LINE_BYTES)]);
    if line.len() <= MAX_LINE_BYTES || is_structural(&line::classify(&head)) {
        return head;
    }
    let tail = plain_text(&line[line.len() - MAX_LINE_BYTES..]);
    if is_structural(&line::classify(&tail)) {
        tail
    } else {
        head
    }
}

fn is_structural(line: &Line<'_>) -> bool {
    matches!(line, Line::Headline(_) | Line::Frame(_) | Line::Summary { .. })
}

/// `bytes` without ANSI colours, as text (invalid UTF-8 replaced).
fn plain_text(bytes: &[u8]) -> Cow<'_, str> {
    match line::strip_colours(bytes) {
        // Validating is several times faster than the lossy pass, which only invalid UTF-8 needs.
        Cow::Borrowed(line) => std::str::from_utf8(line).map_or_else(|_| String::from_utf8_lossy(line), Cow::Borrowed),
        Cow::Owned(plain) => Cow::Owned(String::from_utf8_lossy(&plain).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Finding> {
        Parser::parse_log(text.as_bytes())
    }

    const UAF: &str = "\
=================================================================
==11228==ERROR: AddressSanitizer: heap-use-after-free on address 0x603000000044 at pc 0x5627189bd237 bp 0x7f432e9fee70 sp 0x7f432e9fee68
READ of size 4 at 0x603000000044 thread T1
    #0 0x5627189bd236 in reader /src/heap_use_after_free.c:12
    #1 0x7f43308a71f4 in start_thread nptl/pthread_create.c:442

0x603000000044 is located 4 bytes inside of 32-byte region [0x603000000040,0x603000000060)
freed by thread T0 here:
    #0 0x7f4330ab76a8 in __interceptor_free ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:52
    #1 0x5627189bd324 in main /src/heap_use_after_free.c:19

previously allocated by thread T0 here:
    #0 0x7f4330ab89cf in __interceptor_malloc ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:69
    #1 0x5627189bd2c6 in main /src/heap_use_after_free.c:17

Thread T1 created by T0 here:
    #0 0x7f4330a49726 in __interceptor_pthread_create ../../../../src/libsanitizer/asan/asan_interceptors.cpp:207
    #1 0x5627189bd341 in main /src/heap_use_after_free.c:21

SUMMARY: AddressSanitizer: heap-use-after-free /src/heap_use_after_free.c:12 in reader
Shadow bytes around the buggy address:
  0x0c047fff7fb0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
=>0x0c047fff8000: fa fa fa fa fa fa fa fa[fd]fd fd fd fa fa fa fa
Shadow byte legend (one shadow byte represents 8 application bytes):
  Addressable:           00
  Partially addressable: 01 02 03 04 05 06 07 
==11228==ABORTING
";

    /// Every line of the recorded reports that `classify` reads as other than text, alone,
    /// indented, after other output, before a long run of other output, in colour or cut in
    /// two by a line too long, passes `may_be_runtime_line`: the parser's shortcut past text
    /// never skips a runtime's line.
    #[test]
    fn the_shortcut_past_text_keeps_every_runtime_line() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
        let mut lines: Vec<Vec<u8>> = UAF.lines().map(|l| l.as_bytes().to_vec()).collect();
        for sub in ["sanitizer", "interleaved"] {
            for entry in std::fs::read_dir(format!("{dir}/{sub}")).expect("the recorded reports") {
                let bytes = std::fs::read(entry.expect("an entry").path()).expect("a recorded report");
                lines.extend(bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec));
            }
        }
        lines.extend(
            ["Exiting", "--------", "==", "\u{3000}", "  Heap left redzone:\t fa", "  \tStack mid redzone: f2", "#"]
                .map(|l| l.as_bytes().to_vec()),
        );
        let long = vec![b'x'; MAX_LINE_BYTES + 100];
        let mut runtime_lines = 0;
        for line in &lines {
            let variants = [
                line.clone(),
                [b"  \t", &line[..]].concat(),
                [b"tick tick ", &line[..]].concat(),
                [&long[..], b" ", &line[..]].concat(),
                [&line[..], b" ", &long[..]].concat(),
                [b"\x1b[1m", &line[..], b"\x1b[0m\r\n"].concat(),
                [&line[..], b"\xff"].concat(),
            ];
            for variant in variants {
                let text = prepare(&variant);
                let kind = line::classify(&text);
                if !matches!(kind, Line::Text(_) | Line::UbsanContinuation(_)) {
                    runtime_lines += 1;
                    assert!(
                        line::may_be_runtime_line(&variant),
                        "{kind:?} skipped: {:?}",
                        String::from_utf8_lossy(&variant)
                    );
                }
            }
        }
        assert!(runtime_lines > 1000, "{runtime_lines}");
        for text in [
            "x".repeat(1000),
            "ok 1".to_owned(),
            "{'a': 0x7f, 'b': 'c'}".to_owned(),
            "  File \"x.py\", line 3, in f".to_owned(),
        ] {
            assert!(!line::may_be_runtime_line(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn a_stack_label_after_another_process_s_long_dump_is_still_its_reports() {
        let log = include_str!("../../tests/data/interleaved/asan-4-programs-late-label.txt");
        let findings = parse(log);
        let double_free = findings.iter().find(|f| f.kind == "double-free").expect("the double free");
        let labels: Vec<&str> = double_free.related.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["freed by thread T0 here:", "previously allocated by thread T0 here:"], "{double_free:#?}");
        assert!(findings.iter().all(|f| f.related.iter().all(|r| !r.label.is_empty())), "{findings:#?}");
    }

    #[test]
    fn a_complete_report_ends_at_its_summary() {
        let mut parser = Parser::new();
        let lines: Vec<&str> = UAF.lines().collect();
        let summary = lines.iter().position(|l| l.starts_with("SUMMARY")).unwrap_or_default();
        for (i, line) in lines.iter().enumerate() {
            let found = parser.feed_line(line.as_bytes());
            assert_eq!(found.len(), usize::from(i == summary), "line {i}: {line}");
            if let Some(f) = found.first() {
                assert_eq!(
                    (f.sanitizer, f.kind.as_str(), f.pid),
                    (Sanitizer::Asan, "heap-use-after-free", Some(11228))
                );
                assert_eq!(f.frames.len(), 2);
                assert_eq!(f.frames[0].function.as_deref(), Some("reader"));
                let labels: Vec<&str> = f.related.iter().map(|r| r.label.as_str()).collect();
                assert_eq!(
                    labels,
                    [
                        "freed by thread T0 here:",
                        "previously allocated by thread T0 here:",
                        "Thread T1 created by T0 here:"
                    ]
                );
                assert!(f.related.iter().all(|r| r.frames.len() == 2));
                assert_eq!(
                    f.description,
                    [
                        "READ of size 4 at 0x603000000044 thread T1",
                        "0x603000000044 is located 4 bytes inside of 32-byte region [0x603000000040,0x603000000060)"
                    ]
                );
                assert_eq!((f.end, f.truncated, f.start_line), (ReportEnd::Summary, false, 2));
            }
        }
        assert!(parser.finish().is_empty());
    }

    /// Hostile and odd inputs: (what, input, expected (sanitizer, kind, truncated) of each
    /// finding). None may panic; memory stays bounded (checked separately below).
    #[test]
    fn hostile_inputs() {
        let mut truncated_uaf = UAF.lines().take(9).collect::<Vec<_>>().join("\n");
        truncated_uaf.push('\n');
        let mut garbage: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        garbage.extend_from_slice(
            b"\n==1==ERROR: AddressSanitizer: SEGV on unknown address 0x0\xff\xfe\n    #0 0x1 in f\xc3 a.c:1\n",
        );
        let huge_line = format!("{}\n", "x".repeat(1 << 20));
        let huge_frame = format!(
            "==2==ERROR: AddressSanitizer: SEGV on unknown address\n    #0 0x1 in {} a.c:1\n",
            "f".repeat(1 << 20)
        );
        let nul = b"==3==ERROR: AddressSanitizer: heap-buffer-overflow\0on address\n    #0 0x1\0 in f a.c:1\n\0\0\0\n"
            .to_vec();
        let colour = "\x1b[1m\x1b[31m==4==ERROR: AddressSanitizer: double-free on 0x1\x1b[1m\x1b[0m\n    #0 0x1 in f a.c:1\n\x1b[1m\x1b[0mSUMMARY: AddressSanitizer: double-free a.c:1 in f\n";
        type Case = (&'static str, Vec<u8>, Vec<(Sanitizer, &'static str, bool)>);
        let cases: Vec<Case> = vec![
            ("empty input", Vec::new(), vec![]),
            ("only unrelated output", b"0:00:01 load avg: 1.0 [1/2] test_os\n#0 0x1 in f a.c:1\nSUMMARY: AddressSanitizer: x\n".to_vec(), vec![]),
            ("truncated before its summary", truncated_uaf.into_bytes(), vec![(Sanitizer::Asan, "heap-use-after-free", true)]),
            ("headline only", b"==9==ERROR: AddressSanitizer: stack-overflow on address 0x7ffd".to_vec(), vec![(Sanitizer::Asan, "stack-overflow", true)]),
            ("binary garbage, then a report with invalid UTF-8", garbage, vec![(Sanitizer::Asan, "SEGV", true)]),
            ("a 1 MiB line", huge_line.into_bytes(), vec![]),
            ("a 1 MiB function name", huge_frame.into_bytes(), vec![(Sanitizer::Asan, "SEGV", true)]),
            ("NUL bytes", nul, vec![(Sanitizer::Asan, "heap-buffer-overflow", true)]),
            ("ANSI colours (color=always)", colour.as_bytes().to_vec(), vec![(Sanitizer::Asan, "double-free", false)]),
            ("CRLF line endings", UAF.replace('\n', "\r\n").into_bytes(), vec![(Sanitizer::Asan, "heap-use-after-free", false)]),
            ("a summary of no open report", b"SUMMARY: AddressSanitizer: heap-buffer-overflow a.c:1 in f\n".to_vec(), vec![]),
            ("==PID==ABORTING alone", b"==5==ABORTING\n".to_vec(), vec![]),
            ("a pid past u32 is no pid (and no headline)", b"==99999999999==ERROR: AddressSanitizer: SEGV on unknown address\n".to_vec(), vec![]),
            ("frame numbers overflow", b"==6==ERROR: AddressSanitizer: SEGV on x\n    #4294967295 0x1 in f a.c:1\n    #4294967296 0x1 in g a.c:1\n    #0 0xffffffffffffffff in h a.c:99999999999\n".to_vec(), vec![(Sanitizer::Asan, "SEGV", true)]),
            ("ABORTING without a summary (print_summary=0)", b"==7==ERROR: AddressSanitizer: SEGV on x\n    #0 0x1 in f a.c:1\n==7==ABORTING\n".to_vec(), vec![(Sanitizer::Asan, "SEGV", true)]),
            ("the next report of the same process", b"==8==ERROR: AddressSanitizer: SEGV on x\n==8==ERROR: LeakSanitizer: detected memory leaks\n".to_vec(), vec![(Sanitizer::Asan, "SEGV", true), (Sanitizer::Lsan, "detected memory leaks", true)]),
            ("UBSan without a stack, then program output", b"u.c:1:2: runtime error: division by zero\nresult 0\n".to_vec(), vec![(Sanitizer::Ubsan, "undefined-behavior", false)]),
            ("UBSan at the end of input", b"u.c:1:2: runtime error: left shift of negative value -1".to_vec(), vec![(Sanitizer::Ubsan, "invalid-shift-base", false)]),
        ];
        for (what, input, expected) in cases {
            let found: Vec<(Sanitizer, String, bool)> =
                Parser::parse_log(&input).into_iter().map(|f| (f.sanitizer, f.kind, f.truncated)).collect();
            let expected: Vec<(Sanitizer, String, bool)> =
                expected.into_iter().map(|(s, k, t)| (s, k.to_owned(), t)).collect();
            assert_eq!(found, expected, "{what}");
        }
    }

    /// Another process's unterminated output may run for megabytes before a runtime's line
    /// (a progress ticker): the line is read from its end then, where the runtime's line is.
    #[test]
    fn a_runtime_line_after_a_megabyte_of_other_output_is_read() {
        let ticks = "tick ".repeat(400_000);
        let mut parser = Parser::new();
        let mut found = parser.feed_line(b"==5==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000220 at pc 0x7f00000014c3 bp 0x1 sp 0x2");
        found.extend(parser.feed_line(format!("{ticks}    #0 0x7f00000014c2 in hbo /src/s5.c:22").as_bytes()));
        found.extend(parser.feed_line(b"    #1 0x4ed252 in cfunction_call ../Objects/methodobject.c:553"));
        found.extend(parser.feed_line(
            format!("{ticks}SUMMARY: AddressSanitizer: heap-buffer-overflow /src/s5.c:22 in hbo").as_bytes(),
        ));
        found.extend(parser.finish());
        let [f] = found.as_slice() else { panic!("{found:#?}") };
        assert_eq!((f.end, f.truncated, f.frames.len()), (ReportEnd::Summary, false, 2));
        assert_eq!(f.frames[0].function.as_deref(), Some("hbo"));
        // A long line of text alone stays text.
        let mut parser = Parser::new();
        parser.feed_line(b"==6==ERROR: AddressSanitizer: SEGV on unknown address 0x0");
        parser.feed_line(format!("{ticks}no frame here").as_bytes());
        assert!(parser.finish()[0].frames.is_empty());
    }

    /// With the runtime told `print_summary=0`, a report that its process's next report, its
    /// `ABORTING` or the end of the output ends is whole; one that went stale is not. Told
    /// nothing, each is truncated.
    #[test]
    fn reports_without_summaries_are_whole_when_summaries_are_off() {
        let cases: [(&str, &str, ReportEnd); 3] = [
            ("its ABORTING", "==7==ERROR: AddressSanitizer: SEGV on x\n    #0 0x1 in f a.c:1\n==7==ABORTING\n", ReportEnd::Aborting),
            (
                "its next report",
                "==8==ERROR: AddressSanitizer: SEGV on x\n    #0 0x1 in f a.c:1\n==8==ERROR: AddressSanitizer: SEGV on y\n==8==ABORTING\n",
                ReportEnd::NextReport,
            ),
            ("the end of the output", "==9==ERROR: LeakSanitizer: detected memory leaks\n\nDirect leak of 4 byte(s) in 1 object(s) allocated from:\n    #0 0x1 in malloc a.c:1\n", ReportEnd::EndOfInput),
        ];
        for (what, log, end) in cases {
            let off = Parser::without_summaries(&[Sanitizer::Asan, Sanitizer::Lsan]).parse_all(log.as_bytes());
            assert_eq!((off[0].end, off[0].truncated), (end, false), "{what}");
            assert!(off.iter().all(|f| !f.truncated), "{what}: {off:#?}");
            let on = Parser::parse_log(log.as_bytes());
            assert_eq!((on[0].end, on[0].truncated), (end, true), "{what}");
        }
        // Stale is cut, summaries or not.
        let mut parser = Parser::without_summaries(&[Sanitizer::Asan]);
        parser.feed_line(b"==1==ERROR: AddressSanitizer: SEGV on unknown address 0x0");
        parser.feed_line(b"    #0 0x1000 in f a.c:1");
        parser.feed_line(b"AddressSanitizer can not provide additional info.");
        let stale: Vec<Finding> = (0..=STALE_LINES).flat_map(|_| parser.feed_line(b"unrelated")).collect();
        assert_eq!(stale.iter().map(|f| (f.end, f.truncated)).collect::<Vec<_>>(), [(ReportEnd::Stale, true)]);
        // Another runtime's reports are as before.
        let found = Parser::without_summaries(&[Sanitizer::Tsan]).parse_all(cases[0].1.as_bytes());
        assert!(found[0].truncated);
    }

    /// The `=>` row of ASAN's shadow dump holds the shadow byte of the report's address: in
    /// the real reports of `tests/data/sanitizer/python-regrtest-no-summary.txt`, addresses
    /// `0x603000000928` and `0x603000000950`, row `0x0c067fff8120` (x86-64: `(address >> 3) +
    /// 0x7fff8000`); of `/tmp/qa-san5`'s, `0x602000000220` and `0x0c047fff8040`.
    #[test]
    fn a_shadow_dump_row_names_its_reports_address() {
        let row = "=>0x0c067fff8120: fa fa 00 00 00[fa]fa fa fa fa fa fa fa fa fa fa";
        assert_eq!(buggy_shadow_row(row), Some(0x0c067fff8120));
        assert_eq!(buggy_shadow_row("  0x0c067fff8110: fa fa fd fd fd fa fa fa fd fd fd fd fa fa fa fa"), None);
        assert!(shadow_row_of(0x603000000928, 0x0c067fff8120));
        assert!(shadow_row_of(0x603000000950, 0x0c067fff8120));
        assert!(!shadow_row_of(0x602000000220, 0x0c067fff8120));
        assert!(shadow_row_of(0x602000000220, 0x0c047fff8040));
        // Two reports open, the dump of the second: it ends the second alone.
        let mut parser = Parser::without_summaries(&[Sanitizer::Asan]);
        parser.feed_line(
            b"==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x603000000928 at pc 0x5500 bp 0x1 sp 0x2",
        );
        parser.feed_line(b"    #0 0x54ff in f a.c:1");
        parser.feed_line(
            b"==2==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000220 at pc 0x7f00 bp 0x1 sp 0x2",
        );
        parser.feed_line(b"    #0 0x7eff in g b.c:1");
        let found = parser.feed_line(b"=>0x0c047fff8040: fa fa 00 00[fa]fa fa fa fa fa fa fa fa fa fa fa");
        assert_eq!(
            found.iter().map(|f| (f.pid, f.end, f.truncated)).collect::<Vec<_>>(),
            [(Some(2), ReportEnd::ShadowDump, false)]
        );
    }

    #[test]
    fn endless_frames_and_stacks_are_capped() {
        let frame =
            |index: u32, name: &str| format!("    #{index} 0x{:x} in {name} /src/file.c:{index}", 0x1000 + index);
        // A report that never ends: a stack longer than kept, then more leak blocks than kept.
        let mut parser = Parser::new();
        parser.feed_line(b"==1==ERROR: LeakSanitizer: detected memory leaks");
        parser.feed_line(b"Direct leak of 1 byte(s) in 1 object(s) allocated from:");
        for index in 0..MAX_FRAMES_PER_STACK as u32 + 50 {
            assert!(parser.feed_line(frame(index, "deep").as_bytes()).is_empty());
        }
        for block in 0..MAX_STACKS_PER_REPORT + 100 {
            parser.feed_line(format!("Direct leak of {block} byte(s) in 1 object(s) allocated from:").as_bytes());
            parser.feed_line(frame(0, "malloc").as_bytes());
        }
        let found = parser.finish();
        assert_eq!(found.len(), 1);
        let finding = &found[0];
        assert_eq!(finding.related[0].frames.len(), MAX_FRAMES_PER_STACK);
        assert_eq!(finding.related.len(), MAX_STACKS_PER_REPORT);
        // 50 frames, and 101 stacks (the deep one was the first): each one label and one frame.
        assert_eq!(finding.dropped, 50 + 101 * 2);
        assert!(finding.truncated);

        // Text is bounded in bytes: megabyte-long (cut) names fill the budget, then are dropped.
        let mut parser = Parser::new();
        parser.feed_line(b"==2==ERROR: AddressSanitizer: SEGV on unknown address 0x0");
        let long = "n".repeat(MAX_LINE_BYTES);
        for index in 0..1000 {
            parser.feed_line(frame(index, &long).as_bytes());
            assert!(parser.open.iter().all(|r| r.bytes <= MAX_REPORT_BYTES));
        }
        let found = parser.finish();
        assert!(found[0].frames.len() < 100);
        assert!(found[0].dropped > 900);
    }

    #[test]
    fn endless_description_is_capped() {
        let mut parser = Parser::new();
        parser.feed_line(b"==1==ERROR: AddressSanitizer: SEGV on unknown address 0x0");
        for i in 0..10_000 {
            parser.feed_line(format!("==1==Hint: line {i}").as_bytes());
        }
        let found = parser.finish();
        assert_eq!(found[0].description.len(), MAX_DESCRIPTION_LINES + 1);
        assert_eq!(found[0].description.last().map(String::as_str), Some("Hint: line 9999"));
        assert_eq!(found[0].dropped, 10_000 - MAX_DESCRIPTION_LINES as u32 - 1);
    }

    #[test]
    fn open_reports_are_capped_and_stale_ones_closed() {
        let mut parser = Parser::new();
        let mut closed = Vec::new();
        for pid in 1..=(MAX_OPEN_REPORTS as u32 + 4) {
            closed.extend(parser.feed_line(format!("=={pid}==ERROR: AddressSanitizer: SEGV on x").as_bytes()));
        }
        assert_eq!(parser.open.len(), MAX_OPEN_REPORTS);
        assert_eq!(closed.len(), 4);
        assert!(closed.iter().all(|f| f.end == ReportEnd::Evicted && f.truncated));
        assert_eq!(closed.iter().map(|f| f.pid).collect::<Vec<_>>(), [Some(1), Some(2), Some(3), Some(4)]);
        // Other reports' headlines do not count towards staleness, quiet lines do: all go
        // stale on the (STALE_LINES + 1)th unrelated line. Without a frame, each waits in the
        // limbo for STALE_LINES more quiet lines, then is a finding.
        for _ in 0..STALE_LINES {
            assert!(parser.feed_line(b"unrelated").is_empty());
        }
        assert!(parser.feed_line(b"unrelated").is_empty());
        assert!(parser.open.is_empty());
        assert_eq!(parser.limbo.len(), MAX_OPEN_REPORTS);
        for _ in 0..STALE_LINES {
            assert!(parser.feed_line(b"unrelated").is_empty());
        }
        let stale = parser.feed_line(b"unrelated");
        assert_eq!(stale.len(), MAX_OPEN_REPORTS);
        assert!(stale.iter().all(|f| f.end == ReportEnd::Stale && f.truncated && f.frames.is_empty()));
        assert!(parser.limbo.is_empty());

        // A report with a stack goes stale at once.
        let mut parser = Parser::new();
        parser.feed_line(b"==1==ERROR: AddressSanitizer: SEGV on unknown address 0x0");
        parser.feed_line(b"    #0 0x1000 in f a.c:1");
        for _ in 0..STALE_LINES {
            assert!(parser.feed_line(b"unrelated").is_empty());
        }
        let stale = parser.feed_line(b"unrelated");
        assert_eq!(stale.iter().map(|f| (f.end, f.frames.len())).collect::<Vec<_>>(), [(ReportEnd::Stale, 1)]);
    }

    /// Two programs run without ASLR (`setarch -R`): both executables at bias
    /// 0x555555554000, their code within 1 MiB of each other's. A frame of one goes to the
    /// report that has that module at that bias, not to the other's, whose code is as near:
    /// the same bias for another module is another process's.
    #[test]
    fn without_aslr_a_bias_tells_the_processes_apart() {
        let log = "\
==5441==ERROR: AddressSanitizer: heap-use-after-free on address 0x60400000001c at pc 0x555555555238 bp 0x7fffffffe680 sp 0x7fffffffe678
READ of size 4 at 0x60400000001c thread T0
==5828==ERROR: LeakSanitizer: detected memory leaks

Direct leak of 300 byte(s) in 3 object(s) allocated from:
    #0 0x555555555237  (/tmp/a/asan_gcc+0x1237)
    #0 0x5555555f817e  (/tmp/a/asan_clang+0xa417e) (BuildId: 45fa3304efa2d90d11ccec803da2725f1683cd4c)
    #1 0x5555555552e3  (/tmp/a/asan_gcc+0x12e3)
    #1 0x555555632f2d  (/tmp/a/asan_clang+0xdef2d) (BuildId: 45fa3304efa2d90d11ccec803da2725f1683cd4c)
    #2 0x7ffff7645249  (/lib/x86_64-linux-gnu/libc.so.6+0x27249)
    #2 0x555555633004  (/tmp/a/asan_clang+0xdf004) (BuildId: 45fa3304efa2d90d11ccec803da2725f1683cd4c)
";
        let findings = parse(log);
        let modules = |frames: &[ReportFrame]| -> Vec<String> {
            frames.iter().filter_map(|f| f.module.as_deref()?.rsplit('/').next().map(str::to_owned)).collect()
        };
        let asan = findings.iter().find(|f| f.pid == Some(5441)).expect("the ASAN report");
        assert_eq!(modules(&asan.frames), ["asan_gcc", "asan_gcc", "libc.so.6"], "{findings:#?}");
        let lsan = findings.iter().find(|f| f.pid == Some(5828)).expect("the LSan report");
        let [leak] = lsan.related.as_slice() else { panic!("{findings:#?}") };
        assert_eq!(modules(&leak.frames), ["asan_clang"; 3], "{findings:#?}");
    }

    /// One process's report of a read past a block: headline (pc `base + 0x11`), access stack
    /// at `base + 0x10`, summary.
    fn hbo(pid: u32, base: u64, function: &str) -> [String; 3] {
        [
            format!("=={pid}==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000010 at pc {:#x} bp 0x1 sp 0x2", base + 0x11),
            format!("    #0 {:#x} in {function} /src/{function}.c:3", base + 0x10),
            format!("SUMMARY: AddressSanitizer: heap-buffer-overflow /src/{function}.c:3 in {function}"),
        ]
    }

    #[test]
    fn a_report_waiting_for_its_stack_outlasts_other_processes_reports() {
        let mut parser = Parser::new();
        let [headline, frame, summary] = hbo(1, 0x5500_0000_0000, "slow");
        let mut found = parser.feed_line(headline.as_bytes());
        // Another process prints 1000 reports (3000 lines) while the first symbolizes.
        for _ in 0..1000 {
            for line in hbo(2, 0x7f00_0000_0000, "fast") {
                found.extend(parser.feed_line(line.as_bytes()));
            }
        }
        found.extend(parser.feed_line(frame.as_bytes()));
        found.extend(parser.feed_line(summary.as_bytes()));
        found.extend(parser.finish());
        assert_eq!(found.len(), 1001);
        assert!(found.iter().all(|f| f.end == ReportEnd::Summary && f.frames.len() == 1), "{found:#?}");
        let slow = found.iter().find(|f| f.pid == Some(1)).map(|f| f.frames[0].function.as_deref());
        assert_eq!(slow, Some(Some("slow")));
    }

    #[test]
    fn a_stack_after_its_report_went_stale_still_finds_it() {
        let mut parser = Parser::new();
        let [headline, frame, summary] = hbo(1, 0x5500_0000_0000, "late");
        let mut found = parser.feed_line(headline.as_bytes());
        for _ in 0..=STALE_LINES {
            found.extend(parser.feed_line(b"unrelated output"));
        }
        // A report with a stack of its own, open: it does not expect a new stack.
        for line in &hbo(2, 0x7f00_0000_0000, "other")[..2] {
            found.extend(parser.feed_line(line.as_bytes()));
        }
        found.extend(parser.feed_line(frame.as_bytes()));
        found.extend(parser.feed_line(summary.as_bytes()));
        assert!(parser.limbo.is_empty());
        found.extend(parser.finish());
        let late = found.iter().find(|f| f.pid == Some(1)).expect("the late report");
        assert_eq!(late.frames.iter().map(|f| f.function.as_deref()).collect::<Vec<_>>(), [Some("late")]);
        assert_eq!((late.end, late.truncated), (ReportEnd::Summary, false));
        let other = found.iter().find(|f| f.pid == Some(2)).expect("the other report");
        assert_eq!((other.frames.len(), other.related.len()), (1, 0));
    }

    #[test]
    fn frames_at_the_same_address_are_inlined() {
        let found = parse(
            "==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6020 at pc 0x55f9 bp 0x1 sp 0x2\n\
             WRITE of size 4 at 0x6020 thread T0\n\
             \x20   #0 0x55f8 in store_past_end /src/h.c:8\n\
             \x20   #1 0x55f8 in fill /src/h.c:15\n\
             \x20   #2 0x561b in main /src/h.c:21\n\
             SUMMARY: AddressSanitizer: heap-buffer-overflow /src/h.c:8 in store_past_end\n",
        );
        let inlined: Vec<bool> = found[0].frames.iter().map(|f| f.inlined).collect();
        assert_eq!(inlined, [true, false, false]);
    }

    #[test]
    fn recursion_repeats_an_address_without_inlining() {
        let found = parse(
            "==1==ERROR: LeakSanitizer: detected memory leaks\n\
             \n\
             Direct leak of 8 byte(s) in 1 object(s) allocated from:\n\
             \x20   #0 0x7f10 in malloc (/lib/libasan.so.8+0xb4)\n\
             \x20   #1 0x5610 in rec /src/r.c:2\n\
             \x20   #2 0x5618 in rec /src/r.c:3\n\
             \x20   #3 0x5618 in rec /src/r.c:3\n\
             \x20   #4 0x5640 in main /src/r.c:9\n\
             \n\
             SUMMARY: AddressSanitizer: 8 byte(s) leaked in 1 allocation(s).\n",
        );
        let inlined: Vec<bool> = found[0].related[0].frames.iter().map(|f| f.inlined).collect();
        assert_eq!(inlined, [false; 5]);
    }

    #[test]
    fn ubsan_reports_end_at_unrelated_lines_and_blank_lines() {
        let found = parse(
            "u.c:8:14: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'\n\
             u.c:13:18: runtime error: shift exponent 32 is too large for 32-bit type 'int'\n\
             \x20   #0 0x55ee7688021e in shift /src/u.c:13\n\
             \x20   #1 0x55ee7688036a in main /src/u.c:26\n\
             \n\
             u.c:19:17: runtime error: load of address 0x7ffe8a298fe0 with insufficient space for an object of type 'int'\n\
             0x7ffe8a298fe0: note: pointer points here\n\
             \x2004 00 00 00  20 00 00 00\n\
             \x20             ^ \n\
             -2147483648 1 32\n",
        );
        let summary: Vec<(&str, usize, usize, ReportEnd)> =
            found.iter().map(|f| (f.kind.as_str(), f.frames.len(), f.description.len(), f.end)).collect();
        assert_eq!(
            summary,
            [
                ("signed-integer-overflow", 1, 0, ReportEnd::NextReport),
                ("invalid-shift-exponent", 2, 0, ReportEnd::UbsanEnd),
                ("insufficient-object-size", 1, 3, ReportEnd::UbsanEnd),
            ]
        );
        assert!(found.iter().all(|f| !f.truncated && f.pid.is_none()));
        // Without a stack, the one frame is the location of the runtime error line.
        assert_eq!((found[0].frames[0].file.as_deref(), found[0].frames[0].line), (Some("u.c"), Some(8)));
    }

    /// `-fsanitize=vptr`: the line naming the range under the caret is the report's, so its
    /// stack and summary are too; an indented line elsewhere (not under a caret) still ends it.
    #[test]
    fn ubsan_range_labels_under_a_caret_belong_to_the_report() {
        let report = "v.cc:19:23: runtime error: member call on address 0x55a9e6639eb0 which does not point to an object of type 'Base'\n\
             0x55a9e6639eb0: note: object is of type 'Other'\n\
             \x2000 00 00 00  68 bd 8e c0 a9 55 00 00  00 00 00 00 00 00 00 00\n\
             \x20             ^~~~~~~~~~~~~~~~~~~~~~~\n\
             \x20             vptr for 'Other'\n\
             \x20   #0 0x55a9c08e9258 in call /src/v.cc:19\n\
             \x20   #1 0x55a9c08e934f in main /src/v.cc:25\n\
             \n\
             SUMMARY: UndefinedBehaviorSanitizer: dynamic-type-mismatch /src/v.cc:19:23 in \n";
        let found = parse(report);
        let summary: Vec<(&str, usize, ReportEnd)> =
            found.iter().map(|f| (f.kind.as_str(), f.frames.len(), f.end)).collect();
        assert_eq!(summary, [("dynamic-type-mismatch", 2, ReportEnd::Summary)]);
        assert_eq!(found[0].description.last().map(String::as_str), Some("vptr for 'Other'"));
        // The same indented line without the caret before it is other output.
        let text = report.replace("\x20             ^~~~~~~~~~~~~~~~~~~~~~~\n", "");
        let found = parse(&text);
        assert_eq!(found[0].end, ReportEnd::UbsanEnd, "{found:#?}");
        assert!(!found[0].description.iter().any(|d| d.contains("vptr for")));
    }

    #[test]
    fn summary_goes_to_the_report_it_names() {
        // Two processes' reports open at once; each summary names its own top frame.
        let found = parse(
            "==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1000 at pc 0x5600000055f9 bp 0x1 sp 0x2\n\
             ==2==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1000 at pc 0x7f0000007a19 bp 0x1 sp 0x2\n\
             \x20   #0 0x5600000055f8 in one /src/one.c:1\n\
             \x20   #0 0x7f0000007a18 in two /src/two.c:2\n\
             SUMMARY: AddressSanitizer: heap-buffer-overflow /src/two.c:2 in two\n\
             SUMMARY: AddressSanitizer: heap-buffer-overflow /src/one.c:1 in one\n",
        );
        let order: Vec<(Option<u32>, Option<&str>)> =
            found.iter().map(|f| (f.pid, f.frames.first().and_then(|f| f.function.as_deref()))).collect();
        assert_eq!(order, [(Some(2), Some("two")), (Some(1), Some("one"))]);
    }
}
