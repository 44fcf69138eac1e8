//! Sanitizer reports of a run: read from the child's output as it streams and from the
//! files a user's `log_path` sent them to, each given the regrtest test that was running.

use super::*;

/// Sanitizer reports as they complete, each given the regrtest test whose output it was part
/// of. A report can close long after its first line (at its `SUMMARY:`, or when it goes
/// stale), so the owner is looked up at the report's first line in a history of owner changes
/// (one entry per test, at most a few per re-run). A report no test's output holds (regrtest's
/// `-q` names no passing test) keeps when its first line arrived, and gets at the end the test
/// the shim's records tell for its process and that time ([`test_of_process`]), or, without a
/// pid (UBSan's), for that time alone ([`test_of_output`]).
pub(super) struct SanitizerFindings<'a> {
    /// Frames are symbolized before findings are merged: the merge compares function names,
    /// and the sanitizer may have printed bare addresses (`symbolize=0`).
    pub(super) symbolizer: &'a Symbolizer,
    /// One parser per stream: a report is on one, and lines of the other pass it.
    pub(super) parser: sanitizer::Streams,
    /// Lines fed so far (the parser's line numbers are 1-based).
    pub(super) lines: u64,
    /// `(first line, owner)` each time the owner changed, in line order.
    pub(super) owners: Vec<(u64, Option<String>)>,
    /// `(line, CLOCK_MONOTONIC ns)` of the latest lines that open a report, in line order, at
    /// most [`REPORT_STARTS_KEPT`].
    pub(super) starts: std::collections::VecDeque<(u64, u64)>,
    pub(super) findings: Vec<Finding>,
    /// Merge when this many findings are held: twice what the last merge left, so that many
    /// distinct findings cost a merge per doubling, not one per finding.
    pub(super) merge_at: usize,
    /// Merges so far.
    pub(super) merges: usize,
    /// Modules that unsymbolized frames named and that were gone when their report completed
    /// (a test removed its temporary directory): nothing can symbolize them.
    pub(super) gone: Vec<PathBuf>,
    /// In a run with no sanitizer runtime detected or forced, the pids its processes can have
    /// had: a report naming another is text a process printed ([`PidWindow`]).
    pub(super) pids: Option<PidWindow>,
    /// Reports not counted for naming a pid no process of the run had: how many, and the
    /// first few, described.
    pub(super) not_of_the_run: (usize, Vec<String>),
}

/// Reports of pids no process of the run had, described in the run's warning.
pub(super) const NOT_OF_THE_RUN_SHOWN: usize = 5;

/// The pids the run's processes can have had: those the kernel handed out after the one it
/// handed out last before the command started, up to the one it handed out last now
/// (`/proc/sys/kernel/ns_last_pid`, in leakcheck's pid namespace, the command's too). Pids go
/// up one by one, and past `pid_max` start again at 300 (`RESERVED_PIDS`); once the run has
/// gone all the way round, every pid may be one of its processes'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PidWindow {
    /// The last pid handed out before the run.
    pub(super) before: u32,
    /// The last pid handed out, when last read.
    pub(super) last: u32,
    pub(super) pid_max: u32,
    /// Pids handed out since the run began, about.
    pub(super) handed_out: u64,
}

/// The lowest pid the kernel hands out again after it wrapped around (`RESERVED_PIDS`).
pub(super) const RESERVED_PIDS: u32 = 300;

impl PidWindow {
    pub(super) fn last_pid() -> Option<u32> {
        std::fs::read_to_string("/proc/sys/kernel/ns_last_pid").ok()?.trim().parse().ok()
    }

    /// The window as the run begins; `None` when `/proc` does not say.
    pub(super) fn start() -> Option<Self> {
        let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max").ok()?.trim().parse().ok()?;
        let last = Self::last_pid()?;
        Some(PidWindow { before: last, last, pid_max, handed_out: 0 })
    }

    /// Read the last pid again (about once a second, and as each report completes: the kernel
    /// cannot go round between two reads).
    pub(super) fn update(&mut self) {
        if let Some(now) = Self::last_pid() {
            self.advance(now);
        }
    }

    pub(super) fn advance(&mut self, now: u32) {
        let step = if now >= self.last { now - self.last } else { self.pid_max.saturating_sub(self.last) + now };
        self.handed_out = self.handed_out.saturating_add(u64::from(step));
        self.last = now;
    }

    /// The pids handed out, in words: `2216 to 2249`, `32700 to 32767 and 300 to 512`.
    pub(super) fn range(&self) -> String {
        let first = self.before.saturating_add(1);
        if self.wrapped() {
            format!("{first} to {} and {RESERVED_PIDS} to {}", self.pid_max.saturating_sub(1), self.last)
        } else {
            format!("{first} to {}", self.last)
        }
    }

    pub(super) fn wrapped(&self) -> bool {
        self.last < self.before || (self.last == self.before && self.handed_out > 0)
    }

    /// Whether no process of the run can have had `pid`: it was not handed out since the run
    /// began.
    pub(super) fn excludes(&self, pid: u32) -> bool {
        if self.handed_out >= u64::from(self.pid_max.saturating_sub(RESERVED_PIDS)) {
            return false;
        }
        let handed_out = if self.wrapped() {
            pid > self.before && pid < self.pid_max || (RESERVED_PIDS..=self.last).contains(&pid)
        } else {
            pid > self.before && pid <= self.last
        };
        !handed_out
    }
}

/// Distinct findings kept before duplicates are merged; merging again keeps memory bounded
/// when a test prints the same report thousands of times.
pub(super) const FINDINGS_BEFORE_MERGE: usize = 256;
/// Arrival times of report headlines kept for the reports still open: more than
/// [`sanitizer::MAX_OPEN_REPORTS`] could ever need.
pub(super) const REPORT_STARTS_KEPT: usize = 1024;

/// Now on the clock of the shim's records (`CLOCK_MONOTONIC`, one for all processes).
pub(super) fn monotonic_ns() -> Option<u64> {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).ok()?;
    let seconds = u64::try_from(now.tv_sec()).ok()?;
    let nanoseconds = u64::try_from(now.tv_nsec()).ok()?;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanoseconds)
}

impl<'a> SanitizerFindings<'a> {
    /// `no_summary`: the runtimes the command's options tell to print no `SUMMARY:` line
    /// ([`summaries_off`]).
    /// `check_pids`: no sanitizer runtime was detected or forced, so that a report naming a pid
    /// no process of the run had is text (see [`PidWindow`]).
    pub(super) fn new(symbolizer: &'a Symbolizer, no_summary: &[sanitizer::Sanitizer], check_pids: bool) -> Self {
        SanitizerFindings {
            symbolizer,
            parser: sanitizer::Streams::without_summaries(no_summary),
            lines: 0,
            owners: Vec::new(),
            starts: std::collections::VecDeque::new(),
            findings: Vec::new(),
            merge_at: FINDINGS_BEFORE_MERGE,
            merges: 0,
            gone: Vec::new(),
            pids: if check_pids { PidWindow::start() } else { None },
            not_of_the_run: (0, Vec::new()),
        }
    }

    /// About once a second: follow the pids handed out (see [`PidWindow::update`]).
    pub(super) fn tick(&mut self) {
        if let Some(window) = &mut self.pids {
            window.update();
        }
    }

    /// Whether a report in the output is no report of the run's: it names a pid that no process
    /// of the run had, in a run with no sanitizer runtime (a test printed a report, as a test of
    /// a log parser does). Such a report is described for the run's warning.
    pub(super) fn not_of_the_run(&mut self, finding: &Finding) -> bool {
        let (Some(window), Some(pid)) = (&self.pids, finding.pid) else { return false };
        if finding.log_file.is_some() || !window.excludes(pid) {
            return false;
        }
        let (count, shown) = &mut self.not_of_the_run;
        *count += 1;
        if shown.len() < NOT_OF_THE_RUN_SHOWN {
            let place = finding.frames.first().map(|frame| {
                let function = frame.function.as_deref().unwrap_or("?");
                match (&frame.file, frame.line) {
                    (Some(file), Some(line)) => format!(" in {function} ({file}:{line})"),
                    _ => format!(" in {function}"),
                }
            });
            let what = format!("{} {}{}", finding.sanitizer.runtime_name(), finding.kind, place.unwrap_or_default());
            shown.push(format!(
                "{}, pid {pid}, line {} of the output",
                crate::escape::truncate_with_ellipsis(&what, 200),
                finding.start_line
            ));
        }
        true
    }

    /// The run's warning about the reports not counted ([`SanitizerFindings::not_of_the_run`]).
    pub(super) fn not_of_the_run_warning(&self) -> Option<String> {
        let (count, shown) = &self.not_of_the_run;
        let window = self.pids.as_ref().filter(|_| *count > 0)?;
        let more = count - shown.len();
        let more = if more > 0 { format!("; and {more} more") } else { String::new() };
        Some(format!(
            "{count} sanitizer report(s) in the output were not counted as findings: each names a pid that no \
             process of this run had (it ran with pids {}), and no sanitizer runtime was detected or forced, so a \
             process printed them as text (a test of a log parser, a saved log shown): {}{more}. A process in \
             another pid namespace (unshare, a container) names such pids too: run with --sanitizer to count its \
             reports",
            window.range(),
            shown.join("; ")
        ))
    }

    /// A line of the command's `stream`, `owner`'s output (see [`regrtest::Parser::output_owner`]).
    pub(super) fn line(&mut self, stream: Stream, line: &[u8], owner: Option<&str>) {
        self.lines += 1;
        if self.owners.last().map(|(_, o)| o.as_deref()) != Some(owner) {
            self.owners.push((self.lines, owner.map(str::to_owned)));
        }
        let frame = line.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'#');
        let (done, starts) = self.parser.feed_line_starting(stream, line);
        if !frame && starts {
            if let Some(now) = monotonic_ns() {
                if self.starts.len() == REPORT_STARTS_KEPT {
                    self.starts.pop_front();
                }
                self.starts.push_back((self.lines, now));
            }
        }
        self.add(done);
    }

    /// Findings as their reports complete: symbolized at once, while the modules their frames
    /// name are there (a test may remove the extension it built in a temporary directory right
    /// after the subprocess that loaded it reported); the symbolizer keeps each module it read
    /// mapped, so a later merge still reads a module removed since.
    pub(super) fn add(&mut self, mut findings: Vec<Finding>) {
        if !findings.is_empty() && self.pids.is_some() {
            self.tick();
            findings.retain(|finding| !self.not_of_the_run(finding));
        }
        if !findings.is_empty() {
            for module in sanitizer::gone_modules(&findings) {
                if !self.gone.contains(&module) {
                    self.gone.push(module);
                }
            }
            sanitizer::fold_frames_of(&mut findings, launch::SHIM_FILE, launch::SHIM_CRATE);
            sanitizer::load_modules(&findings, self.symbolizer);
            sanitizer::symbolize_findings(&mut findings, self.symbolizer);
        }
        for mut finding in findings {
            let at = self.owners.partition_point(|(first, _)| *first <= finding.start_line);
            finding.test = at.checked_sub(1).and_then(|i| self.owners[i].1.clone());
            if finding.test.is_none() {
                let at = self.starts.partition_point(|(line, _)| *line <= finding.start_line);
                finding.arrivals.extend(at.checked_sub(1).map(|i| self.starts[i].1));
            }
            self.findings.push(finding);
        }
        if self.findings.len() >= self.merge_at {
            self.merge();
        }
    }

    pub(super) fn merge(&mut self) {
        // Before symbolizing: the run directory's copy of the shim may be gone.
        sanitizer::fold_frames_of(&mut self.findings, launch::SHIM_FILE, launch::SHIM_CRATE);
        sanitizer::symbolize_findings(&mut self.findings, self.symbolizer);
        self.findings = sanitizer::deduplicate(std::mem::take(&mut self.findings));
        self.merge_at = FINDINGS_BEFORE_MERGE.max(2 * self.findings.len());
        self.merges += 1;
    }

    /// Findings that did not come through the output (`log_path` files), with the test their
    /// process tells ([`test_of_process`]), if any.
    pub(super) fn add_from_files(&mut self, findings: Vec<Finding>) {
        self.findings.extend(findings);
        if self.findings.len() >= self.merge_at {
            self.merge();
        }
    }

    /// Every finding, with its frames symbolized where the sanitizer left them bare, merged;
    /// those no test's output held with the tests the shim's records tell; and the modules
    /// gone before their reports completed; and the warning about reports not of the run.
    pub(super) fn finish(mut self, shim: &ShimData) -> (Vec<Finding>, Vec<PathBuf>, Option<String>) {
        let rest = self.parser.finish();
        self.add(rest);
        for finding in &mut self.findings {
            if finding.awaits_test() {
                tell_tests(finding, shim);
            }
        }
        self.merge();
        let warning = self.not_of_the_run_warning();
        (self.findings, self.gone, warning)
    }
}

/// The warning when an ASAN program of the run aborted because its runtime was not first.
pub(super) const ASAN_NOT_FIRST_WARNING: &str =
    "an ASAN program aborted with 'ASan runtime does not come first in initial \
     library list': a library (the shim, or one in LD_PRELOAD) was loaded before its dynamically linked libasan, and \
     ASAN_OPTIONS has verify_asan_link_order=1 (leakcheck sets it to 0 when it preloads the shim, unless you set it) \
     or the shim is not preloaded; or an uninstrumented Python loaded libasan late, with an extension module built \
     with -fsanitize=address (ASAN would miss its errors: leakcheck hides its verify_asan_link_order=0 from such a \
     libasan); run with `--sanitizer asan` to have libasan preloaded first";

/// The test a report of `finding`'s process belongs to, from what the shim recorded of the
/// process (`-R` runs only), for a report read from a `log_path` file or one that no test's
/// output held (regrtest's `-q`): a `-j` worker's test (its process runs that one, from its
/// start to its exit); else, when the report's first line `arrived` (`CLOCK_MONOTONIC` ns)
/// after one test's `begin` record and before the next test's, that test (after the last
/// test's, the last test); else, with no arrival time, the process's only test or the test it
/// died in (no `end` record). A LeakSanitizer report, which comes at exit, after every test,
/// gets a test outside a worker only when it arrived while one ran (from its `begin` to its
/// `end`): regrtest's own process, also when it ran one test, imports and cleans up around it,
/// and what leaked there is not the test's. `None` otherwise: a report that arrived before the
/// first test (a test module's import) is told no test.
///
/// The arrival is when leakcheck read the line, some time after the process wrote it: the
/// reports of a test's last repetition, written just before the `-R` driver returned (its
/// `end` record), are often read after it. So a report read between one test's end and the
/// next test's beginning goes to the test that ended: one written in that gap (regrtest's
/// clean-up, the next test module's import) is taken for the previous test's.
pub(super) fn test_of_process(shim: &ShimData, finding: &Finding, arrived: Option<u64>) -> Option<String> {
    let pid = i32::try_from(finding.pid?).ok()?;
    let series: Vec<_> = shim.series.iter().filter(|s| s.pid == pid).collect();
    let first = series.first()?;
    let only_test = series.iter().all(|s| s.test == first.test);
    if only_test && shim.is_worker(pid) {
        return Some(first.test.clone());
    }
    if let Some(arrived) = arrived.filter(|_| series.iter().all(|s| s.started_ns.is_some())) {
        let at_exit = finding.sanitizer == sanitizer::Sanitizer::Lsan;
        let ran = |(i, s): &(usize, &&Series)| {
            let next = series.get(i + 1).and_then(|next| next.started_ns);
            let end = if at_exit { s.ended_ns.or(next) } else { next };
            s.started_ns.is_some_and(|start| start <= arrived) && end.is_none_or(|end| arrived < end)
        };
        let during: Vec<_> = series.iter().enumerate().filter(ran).collect();
        return match during[..] {
            [(_, series)] => Some(series.test.clone()),
            _ => None,
        };
    }
    if finding.sanitizer == sanitizer::Sanitizer::Lsan {
        return None;
    }
    if only_test {
        return Some(first.test.clone());
    }
    let died_in: Vec<_> = series.iter().filter(|s| s.aborted.is_none()).collect();
    match died_in[..] {
        [series] => Some(series.test.clone()),
        _ => None,
    }
}

/// The test of a report that names no process (UBSan's `runtime error:` lines carry no pid)
/// and that no test's output held (regrtest's `-q`), from when its first line `arrived`
/// (`CLOCK_MONOTONIC` ns), by the rules of [`test_of_process`] for the process that printed it:
/// regrtest's sequential process prints a test's reports while the test runs (or, read late,
/// before the next test begins), so a report read after a test's `begin` record is that test's;
/// with `-j`, its main process prints a worker's captured output, reports included, once the
/// worker has exited (its `exit` record; without one, a worker killed or dead in its test, its
/// test's `end`, else its `begin`), so a report read after a worker exited is its test's. Of
/// these, the test whose `begin` (outside a worker) or exit (a worker's) came last before the
/// report arrived; `None` before the first. What cannot be known: with `-j`, a worker's report
/// read after another worker exited later than the first (closer together than regrtest takes
/// to print a worker's output once it has reaped it) is taken for the other's test.
pub(super) fn test_of_output(shim: &ShimData, arrived: u64) -> Option<String> {
    let mut last: Option<(u64, &Series)> = None;
    for series in &shim.series {
        let opens = match shim.is_worker(series.pid) {
            true => shim.exited.get(&series.pid).copied().or(series.ended_ns).or(series.started_ns),
            false => series.started_ns,
        };
        let Some(opens) = opens.filter(|&opens| opens <= arrived) else { continue };
        if last.is_none_or(|(latest, _)| opens >= latest) {
            last = Some((opens, series));
        }
    }
    last.map(|(_, series)| series.test.clone())
}

/// The tests of a finding whose reports no test's output held ([`Finding::awaits_test`]), each
/// report's from its arrival ([`test_of_process`], or [`test_of_output`] for a report without a
/// pid; those past [`sanitizer::MAX_ARRIVALS`] by the process alone, and without a pid by
/// none): the first report's test, the others' in [`Finding::other_tests`], and each test's
/// count when they differ.
pub(super) fn tell_tests(finding: &mut Finding, shim: &ShimData) {
    let arrivals = std::mem::take(&mut finding.arrivals);
    let untimed = finding.count.saturating_sub(u32::try_from(arrivals.len()).unwrap_or(u32::MAX));
    let reports = arrivals.into_iter().map(|t| (Some(t), 1)).chain((untimed > 0).then_some((None, untimed)));
    let mut counts: Vec<(Option<String>, u32)> = Vec::new();
    for (arrived, n) in reports {
        let test = match (finding.pid, arrived) {
            (Some(_), _) => test_of_process(shim, finding, arrived),
            (None, Some(arrived)) => test_of_output(shim, arrived),
            (None, None) => None,
        };
        match counts.iter_mut().find(|(t, _)| *t == test) {
            Some((_, total)) => *total = total.saturating_add(n),
            None => counts.push((test, n)),
        }
    }
    finding.test = counts.first().and_then(|(test, _)| test.clone());
    finding.other_tests =
        counts.iter().filter_map(|(test, _)| test.clone()).filter(|t| finding.test.as_ref() != Some(t)).collect();
    // One process's reports: each test's are its.
    finding.test_pids = match finding.pid {
        Some(pid) if counts.len() > 1 => counts.iter().map(|(test, _)| (test.clone(), pid)).collect(),
        _ => Vec::new(),
    };
    finding.test_counts = if counts.len() > 1 { counts } else { Vec::new() };
}

/// The `log_path` files a sanitizer runtime could not open: sanitizer_common writes `ERROR:
/// Can't open file: PATH (reason: ERRNO)` to stderr, without a newline, and ends the process
/// (exit status 1) when it cannot open its log file, which it opens when it has something to
/// write, a report most likely: what it would have written is lost.
#[derive(Debug, Default)]
pub(super) struct UnopenedLogs {
    /// `(path, errno)`, each path once, at most [`MAX_UNOPENED_LOGS`].
    pub(super) files: Vec<(Vec<u8>, Option<i32>)>,
}

/// Unopened `log_path` files remembered.
pub(super) const MAX_UNOPENED_LOGS: usize = 64;

impl UnopenedLogs {
    const MESSAGE: &'static [u8] = b"ERROR: Can't open file: ";

    pub(super) fn line(&mut self, line: &[u8]) {
        static MESSAGE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(UnopenedLogs::MESSAGE));
        let Some(at) = MESSAGE.find(line) else { return };
        let rest = &line[at + Self::MESSAGE.len()..];
        let reason = b" (reason: ";
        let Some(end) = memchr::memmem::find(rest, reason) else { return };
        let digits = &rest[end + reason.len()..];
        let digits = &digits[..digits.iter().take_while(|b| b.is_ascii_digit()).count()];
        let errno = std::str::from_utf8(digits).ok().and_then(|d| d.parse().ok());
        let path = rest[..end].to_vec();
        if self.files.len() < MAX_UNOPENED_LOGS && !self.files.iter().any(|(p, _)| *p == path) {
            self.files.push((path, errno));
        }
    }
}

/// What the runtime said of the `log_path` files of `prefix` (and `suffix`) it could not open,
/// for the log_path note: `; the runtime could not open /x/asan.123 (No such file or
/// directory) ...`.
pub(super) fn unopened_note(unopened: &[(Vec<u8>, Option<i32>)], prefix: &[u8], suffix: &[u8]) -> String {
    let of_prefix: Vec<String> = unopened
        .iter()
        .filter(|(path, _)| path.starts_with(prefix) && path.get(prefix.len()) == Some(&b'.') && path.ends_with(suffix))
        .map(|(path, errno)| {
            let why = errno
                .map_or_else(|| "no reason given".to_owned(), |e| nix::errno::Errno::from_raw(e).desc().to_owned());
            format!("{} ({why})", crate::escape::truncate_with_ellipsis(&String::from_utf8_lossy(path), 300))
        })
        .collect();
    if of_prefix.is_empty() {
        return String::new();
    }
    format!(
        "; the runtime said it could not open {} when it had something to write, a report most likely, and \
         ended that process with status 1: what it would have written is lost",
        of_prefix.join(", ")
    )
}

/// Largest sanitizer log file read; a runaway report loop is not worth more.
pub(super) const MAX_SANITIZER_LOG: u64 = 64 << 20;

/// Reports a sanitizer wrote to files because the options the command got say `log_path=PREFIX`
/// (`options`: every `*SAN_OPTIONS` variable it got, whatever `--sanitizer` said, read as the
/// runtime reads them, included files too; `program` for `%b`/`%d` in their names): the runtime
/// writes `PREFIX.PID` (with `log_exe_name`, `PREFIX.EXE.PID`; with `log_suffix=S`, `S` after
/// it) instead of stderr, so the output never shows them. Files changed since the run `started`
/// are parsed; a file names a process, not a test (see [`test_of_process`]). `no_summary`:
/// the runtimes told `print_summary=0`; `unopened`: the files a runtime said it could not open
/// ([`UnopenedLogs`]), named in the notes. Returns the findings and notes for the report.
pub(super) fn log_path_findings(
    options: &[(String, std::ffi::OsString)],
    program: Option<&std::path::Path>,
    started: std::time::SystemTime,
    no_summary: &[sanitizer::Sanitizer],
    unopened: &[(Vec<u8>, Option<i32>)],
) -> (Vec<Finding>, Vec<String>) {
    use std::os::unix::ffi::OsStrExt;
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    // Each prefix once (ASAN_OPTIONS and UBSAN_OPTIONS may name the same): prefix, suffix, and
    // the variables naming them.
    let mut targets: Vec<(Vec<u8>, Vec<u8>, Vec<&str>)> = Vec::new();
    for (variable, text) in options {
        let parsed = launch::options::parse(text.as_bytes(), program);
        for file in &parsed.unread {
            notes.push(format!(
                "{variable} includes {file}, which leakcheck could not read: reports a log_path set there sends \
                 to files are not read"
            ));
        }
        let Some(prefix) = parsed.value("log_path").filter(|p| !p.is_empty() && *p != b"stdout" && *p != b"stderr")
        else {
            continue;
        };
        let suffix = parsed.value("log_suffix").unwrap_or_default();
        match targets.iter_mut().find(|(p, s, _)| p == prefix && s == suffix) {
            Some((_, _, variables)) => variables.push(variable),
            None => targets.push((prefix.to_vec(), suffix.to_vec(), vec![variable])),
        }
    }
    for (prefix, suffix, variables) in &targets {
        let variable = format!("{} {}", variables.join(" and "), if variables.len() > 1 { "have" } else { "has" });
        let prefix = std::path::Path::new(std::ffi::OsStr::from_bytes(prefix));
        let dir = match prefix.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => std::path::PathBuf::from("."),
        };
        let Some(base) = prefix.file_name().map(|b| [b.as_bytes(), b"."].concat()) else { continue };
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().as_bytes().starts_with(&base) && e.file_name().as_bytes().ends_with(suffix))
            .filter(|e| e.metadata().ok().and_then(|m| m.modified().ok()).is_some_and(|t| t >= started))
            .map(|e| e.path())
            .collect();
        files.sort();
        let mut reports = 0usize;
        for file in &files {
            let Ok(handle) = std::fs::File::open(file) else { continue };
            let mut bytes = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::Read::take(handle, MAX_SANITIZER_LOG), &mut bytes);
            let mut found = sanitizer::Parser::without_summaries(no_summary).parse_all(&bytes);
            reports += found.len();
            // The file name says whose reports they are (the runtime opens another file in a
            // forked child): UBSan's `runtime error:` lines carry no `==PID==`, and a `CHECK
            // failed` headline's `(tid=N)` is a thread's.
            let pid = file.file_name().and_then(|name| {
                let name = name.as_bytes();
                pid_suffix(&String::from_utf8_lossy(&name[..name.len() - suffix.len()]))
            });
            for finding in &mut found {
                finding.pid = pid.or(finding.pid);
                // Its start_line is the file's line: say which file.
                finding.log_file = Some(file.display().to_string());
            }
            findings.extend(found);
        }
        let shown = prefix.display();
        let lost = unopened_note(unopened, prefix.as_os_str().as_bytes(), suffix);
        if files.is_empty() {
            let hint = if prefix.is_relative() {
                "; it is relative, and regrtest runs tests in a temporary directory that it removes: give an \
                 absolute path"
            } else {
                ""
            };
            notes
                .push(format!("{variable} log_path={shown}: no {shown}.* file was written during the run{hint}{lost}"));
        } else {
            notes.push(format!(
                "{variable} log_path={shown}: {reports} report(s) read from {} file(s); their tests are \
                 known only from the shim's -R records of their processes{lost}",
                files.len()
            ));
        }
    }
    (findings, notes)
}

/// The runtimes whose `SUMMARY:` line the command's `options` (every `*SAN_OPTIONS` it gets,
/// [`sanitizers::Plan::command_options`]) turn off: `print_summary` set false (`0`, `no`,
/// `false`) where the runtime reads it last. ASAN's reports and LeakSanitizer's read
/// `ASAN_OPTIONS`, then `LSAN_OPTIONS` (an ASAN runtime reads both, common flags such as this
/// one too; a later setting wins); MSAN, TSan and UBSan their own variable.
pub(super) fn summaries_off(
    options: &[(String, std::ffi::OsString)],
    program: Option<&std::path::Path>,
) -> Vec<sanitizer::Sanitizer> {
    use std::os::unix::ffi::OsStrExt;
    let setting = |variables: &[&str]| -> Option<bool> {
        let mut last = None;
        for variable in variables {
            let Some((_, text)) = options.iter().find(|(name, _)| name == variable) else { continue };
            match launch::options::parse(text.as_bytes(), program).value("print_summary") {
                Some(b"0" | b"no" | b"false") => last = Some(false),
                Some(b"1" | b"yes" | b"true") => last = Some(true),
                // Not set here; any other value the runtime refuses, and dies at start-up.
                _ => {}
            }
        }
        last
    };
    use sanitizer::Sanitizer::{Asan, Lsan, Msan, Tsan, Ubsan};
    let mut off = Vec::new();
    if setting(&["ASAN_OPTIONS", "LSAN_OPTIONS"]) == Some(false) {
        off.extend([Asan, Lsan]);
    }
    for (runtime, variable) in [(Msan, "MSAN_OPTIONS"), (Tsan, "TSAN_OPTIONS"), (Ubsan, "UBSAN_OPTIONS")] {
        if setting(&[variable]) == Some(false) {
            off.push(runtime);
        }
    }
    off
}

/// The process id a runtime puts at the end of a `log_path` file's name (`PREFIX.PID`, or
/// `PREFIX.EXE.PID` with `log_exe_name`).
pub(super) fn pid_suffix(file_name: &str) -> Option<u32> {
    let (_, digits) = file_name.rsplit_once('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Put the sanitizer findings in the report. A finding's test is not marked failed here:
/// regrtest's own outcome stays; the writers list the finding under the test.
pub(super) fn add_findings(report: &mut RunReport, findings: Vec<Finding>) {
    report.summary.sanitizer_findings = findings.len();
    report.summary.sanitizer_reports = findings.iter().map(|f| u64::from(f.count)).sum();
    report.sanitizer_findings = findings;
}
