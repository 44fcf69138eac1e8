//! Which regrtest run of the command a test's measurements belong to: the command's own
//! regrtests told from nested and concurrent ones, and the series of each run.

use super::*;

/// The processes of the run's own regrtest, as the shim's `process` records tell: its main
/// process (the command) and the `-j` workers it started; not a regrtest that a test ran
/// (test_regrtest runs many, with `-R`), nor the processes of those. A process without a record
/// (the shim did not patch it), or a command that is no regrtest itself (a wrapper: `timeout`,
/// `make`), gets the benefit of the doubt: its series count. So does a regrtest the command ran
/// before it became one (`bash -c "python -m test ...; python -m test ..."`: bash execs its last
/// command), which was done before the command's own measured anything.
pub(super) struct OwnProcesses<'a> {
    pub(super) shim: &'a ShimData,
    pub(super) command: i32,
    pub(super) command_is_regrtest: bool,
    /// When the command's own first series began (`CLOCK_MONOTONIC` ns), if it measured any.
    pub(super) command_began: Option<u64>,
}

impl<'a> OwnProcesses<'a> {
    pub(super) fn new(shim: &'a ShimData, command: i32, argv: &[String]) -> Self {
        let command_is_regrtest = regrtest::is_regrtest_command(argv)
            || shim.processes.get(&command).is_some_and(|p| regrtest::is_regrtest_command(&p.argv));
        let command_began = shim.series.iter().filter(|s| s.pid == command).filter_map(|s| s.started_ns).min();
        OwnProcesses { shim, command, command_is_regrtest, command_began }
    }

    pub(super) fn contains(&self, pid: i32) -> bool {
        if pid == self.command || !self.command_is_regrtest {
            return true;
        }
        let Some(process) = self.shim.processes.get(&pid) else { return true };
        process.ppid == self.command && (process.is_worker() || self.ran_before(pid))
    }

    /// Whether the command's child `pid` was done (exited, or its last series ended) before the
    /// command's own regrtest measured its first test: no test of the command started it.
    pub(super) fn ran_before(&self, pid: i32) -> bool {
        let Some(began) = self.command_began else { return false };
        let own = self.shim.series.iter().filter(|s| s.pid == pid);
        let done = self.shim.exited.get(&pid).copied().or_else(|| own.filter_map(|s| s.ended_ns).max());
        done.is_some_and(|done| done < began)
    }
}

/// The regrtests the command ran at the same time (a script starting two with `&`), by pid
/// (a `-j` run's main process): their output interleaves on the same streams. Each regrtest's
/// lifetime comes from the shim's records: from when its process began (its `process`
/// record, written at its first test, says when it exec'd) to its `exit` record, else the last
/// record it wrote (killed); a `-j` worker counts as its parent's, and the series of a process
/// without a `process` record (an older shim) make its span. Two that lived at the same time
/// ran at the same time, though the tests they measured never overlapped (a test that imports
/// slowly, a run whose only test fails at once). A regrtest a test of another one started
/// (nested) is no concurrent run: its output is inside that test's; nor a fork child that went
/// on running regrtest ([`ShimData::forks`]), which is no regrtest of its own
/// ([`crate::shim_events::StrayFork`], warned about apart).
pub(super) fn concurrent_regrtests(shim: &ShimData) -> Vec<i32> {
    let mut spans: BTreeMap<i32, (u64, u64)> = BTreeMap::new();
    let mut add = |pid: i32, start: u64, end: u64| {
        let span = spans.entry(shim.main_of(pid)).or_insert((start, end));
        *span = (span.0.min(start), span.1.max(end.max(start)));
    };
    let first_series = |pid: i32| shim.series.iter().filter(|s| s.pid == pid).filter_map(|s| s.started_ns).min();
    for (&pid, process) in &shim.processes {
        let measured = shim.series.iter().any(|s| s.pid == pid);
        if shim.forks.contains_key(&pid) || !(measured || regrtest::is_regrtest_command(&process.argv)) {
            continue;
        }
        let start = process.started_ns.filter(|&t| t > 0).or_else(|| first_series(pid));
        let end = shim.exited.get(&pid).or(shim.last_seen.get(&pid)).copied();
        if let (Some(start), Some(end)) = (start, end) {
            add(pid, start, end);
        }
    }
    for series in
        shim.series.iter().filter(|s| !shim.processes.contains_key(&s.pid) && !shim.forks.contains_key(&s.pid))
    {
        let end =
            series.ended_ns.or(shim.exited.get(&series.pid).copied()).or(shim.last_seen.get(&series.pid).copied());
        if let (Some(start), Some(end)) = (series.started_ns, end) {
            add(series.pid, start, end);
        }
    }
    let descends = |mut pid: i32, ancestor: i32| {
        for _ in 0..64 {
            match shim.processes.get(&pid) {
                Some(p) if p.ppid == ancestor => return true,
                Some(p) if p.ppid > 1 && p.ppid != pid => pid = p.ppid,
                _ => return false,
            }
        }
        false
    };
    let spans: Vec<(i32, (u64, u64))> = spans.into_iter().collect();
    let mut overlapping: Vec<i32> = Vec::new();
    for (i, &(a, (a_start, a_end))) in spans.iter().enumerate() {
        for &(b, (b_start, b_end)) in &spans[i + 1..] {
            if a_start < b_end && b_start < a_end && !descends(a, b) && !descends(b, a) {
                for pid in [a, b] {
                    if !overlapping.contains(&pid) {
                        overlapping.push(pid);
                    }
                }
            }
        }
    }
    overlapping
}

/// The warning for regrtests the command ran at the same time ([`concurrent_regrtests`]), with
/// the results their runs printed.
pub(super) fn concurrent_warning(pids: &[i32], results_printed: &[String]) -> Option<String> {
    if pids.is_empty() {
        return None;
    }
    let list: Vec<String> = pids.iter().map(i32::to_string).collect();
    let results = match results_printed {
        [] => "none printed".to_owned(),
        printed => printed.join(", "),
    };
    Some(format!(
        "the command ran regrtest in {} processes at the same time (pids {}): their output interleaves on the same \
         streams, so the test results and summaries read from it may be another run's (an outcome may be wrong); \
         a failure regrtest printed for a test stands though a later summary, maybe another run's, does not list \
         it (the test's notes say so), and regrtest_result is the last result printed that is no success \
         (results: {results}); the shim's measurements are per process and stay right",
        pids.len(),
        list.join(", ")
    ))
}

/// The series a test's report is about, when the shim measured it more than once, and a note
/// saying which. A re-run (`-w`/`--rerun`) measures a failed test again and regrtest's verdict is
/// the re-run's: the last series. A test run several times on its own (named twice,
/// `--forever`) leaked if any run did: the first run that leaked, else the last.
pub(super) fn choose_series<'a>(all: &[&'a Series], rerun: bool) -> (Option<&'a Series>, Option<String>) {
    let last = all.last().copied();
    if all.len() < 2 {
        return (last, None);
    }
    // A re-run cut short before its repetitions were all measured tells less than an earlier
    // complete run: 3.11.2 re-runs a test with the `-m` filter left by the previous test's
    // re-run, runs no test method, and TestDidNotRun ends the first repetition.
    let last_complete = all.iter().rposition(|s| s.complete()).filter(|&i| i + 1 < all.len());
    let first_leak = if rerun { None } else { all.iter().position(|s| leaks::leaked(s)) };
    let (index, which) = match (first_leak, last_complete) {
        (Some(index), _) => (index, "the first that leaked"),
        (None, Some(index)) if rerun => (index, "the last complete one; regrtest's re-run was cut short"),
        (None, _) if rerun => (all.len() - 1, "the last, regrtest's re-run"),
        (None, _) => (all.len() - 1, "the last; none leaked"),
    };
    let note = format!(
        "measured {} times (the test ran more than once); this is run {} of them: {which}",
        all.len(),
        index + 1
    );
    (Some(all[index]), Some(note))
}

/// The series of a test that ran in several regrtest `runs` of the command (oldest first), one
/// list per run: the shim's series grouped by the regrtest whose process measured them (a `-j`
/// worker counts as its parent's), the groups in the order they began. Every run has a group
/// when there are as many as runs, else the runs whose output shows repetitions beginning do,
/// when they are as many. None when the groups cannot be matched to the runs so.
pub(super) fn series_by_run<'a>(
    measured: &[&'a Series],
    runs: &[&regrtest::TestResult],
    shim: &ShimData,
) -> Option<Vec<Vec<&'a Series>>> {
    let mut groups: Vec<(i32, Vec<&'a Series>)> = Vec::new();
    for &series in measured {
        let main = shim.main_of(series.pid);
        match groups.iter_mut().find(|(pid, _)| *pid == main) {
            Some((_, group)) => group.push(series),
            None => groups.push((main, vec![series])),
        }
    }
    let mut by_run = vec![Vec::new(); runs.len()];
    let matched: Vec<usize> = if groups.len() == runs.len() {
        (0..runs.len()).collect()
    } else {
        runs.iter().enumerate().filter(|(_, r)| r.repetitions.is_some()).map(|(i, _)| i).collect()
    };
    if groups.is_empty() {
        return Some(by_run);
    }
    if matched.len() != groups.len() {
        return None;
    }
    for (run, (_, group)) in matched.into_iter().zip(groups) {
        by_run[run] = group;
    }
    Some(by_run)
}

/// The notes of a test that ran in several regrtest `runs` of the command (oldest first; the
/// last is the one reported): each run's outcome, and what the earlier runs leaked, by
/// regrtest's leak lines and by leakcheck's measurement (`by_run`, the series of each run, or
/// None when they could not be matched to the runs: then the report says so). Whether an
/// earlier run failed or leaked, and the number of the first earlier run that leaked (by either).
pub(super) fn earlier_runs_notes(
    report: &mut TestReport,
    runs: &[&regrtest::TestResult],
    by_run: Option<&[Vec<&Series>]>,
    total: usize,
    join: &Join<'_>,
) -> (bool, Option<usize>) {
    let Some((last, earlier)) = runs.split_last() else { return (false, None) };
    let total = total.max(last.regrtest_run + 1);
    let number = |run: &regrtest::TestResult| run.regrtest_run + 1;
    let described = |run: &regrtest::TestResult| {
        let mut item = format!("run {} {}", number(run), outcome_name(run.outcome.as_ref()));
        if let Some(text) = &run.result_text {
            let _ = write!(item, " ({text})");
        }
        item
    };
    let items: Vec<String> = earlier.iter().map(|r| described(r)).collect();
    report.notes.push(format!(
        "ran in {} of the {total} regrtest runs of the command (one after another): {}; reported here: {}, \
         the last it ran in, outcome and measurement",
        runs.len(),
        items.join("; "),
        described(last),
    ));
    let mut failed = false;
    let mut first_leak = None;
    for (index, run) in earlier.iter().enumerate() {
        // A run that died while the test ran (`unknown`: a crash without regrtest's word) failed it too.
        failed |= run.outcome.is_some_and(|o| o.is_failure() || o == Outcome::Unknown);
        if let Some(leaks) = run.failing_leaks() {
            report.notes.push(format!("run {} of the command's regrtest runs leaked: {leaks}", number(run)));
            failed = true;
            first_leak = first_leak.or(Some(number(run)));
        }
        let Some(all) = by_run.and_then(|by_run| by_run.get(index)).filter(|all| !all.is_empty()) else { continue };
        let (series, _) = choose_series(all, false);
        let items = series.map(|s| measured_leaks(&run.name, s, join)).unwrap_or_default();
        if !items.is_empty() {
            report.notes.push(format!(
                "run {} of the command's regrtest runs leaked by leakcheck's measurement: {}",
                number(run),
                items.join("; ")
            ));
            failed = true;
            first_leak = first_leak.or(Some(number(run)));
        }
    }
    if by_run.is_none() {
        report.notes.push(
            "which of the command's regrtest runs each of the shim's measurements of this test is cannot be \
             told (their processes do not match the runs): the outcome is the last run's, the measurement \
             may be another's"
                .into(),
        );
    }
    (failed, first_leak)
}

/// Notes for the series of a re-run test measured before the one reported (`earlier`, of
/// `total` series in all) whose domains leaked by leakcheck's own measurement (suppressions
/// applied, a domain that leaked through a leak site only included): regrtest's verdict is the
/// re-run's, but the evidence stays, e.g. `the run before its re-run (reported here) leaked by
/// leakcheck's measurement: raw blocks [1, 1, 1] bytes [48, 48, 48]`.
pub(super) fn earlier_run_leaks(name: &str, earlier: &[&Series], total: usize, join: &Join<'_>) -> Vec<String> {
    let mut notes = Vec::new();
    for (index, series) in earlier.iter().enumerate() {
        let items = measured_leaks(name, series, join);
        if items.is_empty() {
            continue;
        }
        let which = if earlier.len() == 1 {
            "the run before its re-run (reported here)".to_owned()
        } else {
            format!("run {} of the {total} measured, before its re-run (reported here),", index + 1)
        };
        notes.push(format!("{which} leaked by leakcheck's measurement: {}", items.join("; ")));
    }
    notes
}
