//! The report of a finished run: what regrtest printed, joined with the shim's measurements,
//! the hangs and the findings, test by test.

use super::*;

pub(super) fn outcome_name(outcome: Option<&Outcome>) -> String {
    match outcome.and_then(|o| serde_json::to_value(o).ok()) {
        Some(serde_json::Value::String(name)) => name,
        _ => "unknown".into(),
    }
}

/// A test with no result (`unknown`) in a run whose regrtest a hang at interpreter exit, after
/// the tests, ended: regrtest's result line for it and its summary were in its buffered stdout,
/// lost when the process was ended, but the test itself was over. When the shim measured all
/// its `-R` repetitions, every one ran through (regrtest's `-R` stops at the first that fails),
/// and regrtest's verdict is one of those it makes after them, from what it printed on stderr,
/// which it flushes: `reference_leak` for a failing leak line, else `env_changed` for a
/// `Warning -- ` line, else `passed`. Otherwise it stays `unknown`. Either way a note says why.
pub(super) fn lost_at_exit(report: &mut TestReport, test: &regrtest::TestResult) {
    const LOST: &str = "regrtest's result line for this test and its summary were lost with its buffered stdout \
         when the hang at interpreter exit, after the tests, ended it";
    let Some(repetitions) = report.repetitions.as_ref().filter(|r| r.complete && r.measured > 0) else {
        report.notes.push(format!("{LOST}; the test's end was not seen (no -R repetitions measured to the last)"));
        return;
    };
    let measured = repetitions.measured;
    let (outcome, why) = if report.regrtest.leaked {
        ("reference_leak", "and regrtest printed a failing leak line for it")
    } else if test.env_warned {
        ("env_changed", "and regrtest printed a 'Warning -- ' line after they began (the environment changed)")
    } else {
        ("passed", "with no failing leak line and no 'Warning -- ' line from regrtest")
    };
    report.outcome = outcome.into();
    report.notes.push(format!(
        "{LOST}; outcome {outcome} from what it printed on stderr: all {measured} -R repetitions ran through (the \
         shim measured each; regrtest stops at the first that fails), {why}"
    ));
}

/// Put the hangs in the report and mark their tests `hung`.
pub(super) fn add_hangs(report: &mut RunReport, mut hangs: Vec<HangReport>, shim: &ShimData) {
    for hang in hangs.iter_mut().filter(|h| h.test.is_none()) {
        hang.test = test_of_hang(shim, hang);
    }
    for hang in &hangs {
        report.warnings.extend(hang.notes.iter().cloned());
        let Some(name) = &hang.test else { continue };
        // Threads deadlocked while the process went on: the test keeps regrtest's outcome.
        if hang.process_went_on {
            continue;
        }
        match report.tests.iter_mut().find(|t| &t.name == name) {
            Some(test) => test.outcome = "hung".into(),
            None => report.tests.push(TestReport::new(name.clone(), "hung")),
        }
    }
    // Each test once, in the order of its first hang (a test may hang more than once: every
    // stuck forked child of a test is a hang of its own).
    let names = |went_on: bool| {
        let mut names: Vec<String> = Vec::new();
        for name in hangs.iter().filter(|h| h.process_went_on == went_on).filter_map(|h| h.test.as_ref()) {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    };
    report.summary.hung = names(false);
    report.summary.deadlocked = names(true);
    report.summary.tests = report.tests.len();
    report.hangs = hangs;
}

/// The test a hang's process was in by the shim's records, when the output did not name one
/// while it ran (regrtest's `-q` prints no progress line): the one test of the hang's processes
/// whose repetitions began and never ended. None at interpreter exit (every test ended), nor
/// before `-R`'s first repetition (a test module's import: nothing began).
pub(super) fn test_of_hang(shim: &ShimData, hang: &HangReport) -> Option<String> {
    let in_hang = |pid: i32| pid == hang.pid || hang.processes.iter().any(|p| p.pid == pid);
    let open: Vec<&Series> = shim.series.iter().filter(|s| in_hang(s.pid) && s.aborted.is_none()).collect();
    match open[..] {
        [series] => Some(series.test.clone()),
        _ => None,
    }
}

/// The test whose `-R` repetitions began next after `series` in the same process (the shim's
/// records of a process are in the order it wrote them), if any: regrtest was done with
/// `series`'s test and went on.
pub(super) fn next_test_began<'a>(shim: &'a ShimData, series: &Series) -> Option<&'a str> {
    let at = shim.series.iter().position(|s| std::ptr::eq(s, series))?;
    shim.series[at + 1..].iter().find(|s| s.pid == series.pid && s.test != series.test).map(|s| s.test.as_str())
}

/// The note of a test regrtest never named in quiet mode, in a run that ended before its
/// summary, which is `passed` because regrtest went on to another test after it.
pub(super) const QUIET_PASSED_NOTE: &str = "passed: regrtest in quiet mode (-q) names only the tests that do \
     not pass, and it named this one nowhere before the run ended, before its summary; all its -R repetitions ran \
     through (the shim measured each) and the same regrtest process then went on to the next test, after \
     printing any failure, crash or leak line of this one (it flushes them); only the summary would have \
     said that it altered the execution environment (env_changed), which quiet mode prints nowhere else";

/// Quiet mode (`-q`) with `-j`: regrtest prints a crashed worker's output (faulthandler's
/// `Fatal Python error: ...` dump) with no result line naming its test, and lists the test as
/// failed. A test so listed whose last series the shim saw end with its `-j` worker's death
/// (no `end` record; not a leftover leakcheck ended) gets the crash's dump no test's output
/// held ([`ParsedRun::unowned_fault_dumps`]): the dump whose Python frames name the test's file,
/// or the one dump left for the one such test left; with it, the test is `crashed`, as regrtest
/// says without `-q`, and a note says why. Without a dump to give, it stays `failed`.
fn quiet_crashes(
    tests: &mut [TestReport],
    dumps: &[String],
    series_of: &HashMap<&str, Vec<&Series>>,
    shim: &ShimData,
    join: &Join,
) {
    let died = |name: &str| {
        series_of.get(name).and_then(|all| all.last()).is_some_and(|last| {
            last.aborted.is_none() && shim.is_worker(last.pid) && !join.leftovers.contains(&last.pid)
        })
    };
    let mut crashed: Vec<usize> = tests
        .iter()
        .enumerate()
        .filter(|(_, t)| t.outcome == "failed" && t.faulthandler.is_none() && died(&t.name))
        .map(|(i, _)| i)
        .collect();
    let mut left: Vec<&String> = dumps.iter().filter(|d| d.starts_with("Fatal Python error: ")).collect();
    let give = |tests: &mut [TestReport], test: usize, dump: &str| {
        let report = &mut tests[test];
        report.outcome = "crashed".into();
        report.faulthandler = Some(dump.to_owned());
        report.notes.push(QUIET_CRASH_NOTE.into());
    };
    // By file: a frame of the test's module (`test_x.py`, a package's `test_x/__init__.py`).
    crashed.retain(|&i| {
        let path = tests[i].name.replace('.', "/");
        let (module, package) = (format!("/{path}.py\""), format!("/{path}/__init__.py\""));
        let mut of_test = left.iter().enumerate().filter(|(_, d)| d.contains(&module) || d.contains(&package));
        match (of_test.next(), of_test.next()) {
            (Some((at, _)), None) => {
                let dump = left.remove(at);
                give(tests, i, dump);
                false
            }
            _ => true,
        }
    });
    if let ([test], [dump]) = (crashed.as_slice(), left.as_slice()) {
        give(tests, *test, dump);
    }
}

/// The note of a quiet-mode test given a crash's dump (see [`quiet_crashes`]).
pub(super) const QUIET_CRASH_NOTE: &str = "crashed: regrtest in quiet mode (-q) prints a -j worker's output with no \
     result line; it listed this test as failed, the shim saw its worker process die during the test, and the \
     faulthandler dump is the one regrtest printed for it";

/// How a test that failed or leaked before regrtest's re-run did in the re-run, by its
/// `outcome` there: `passed its re-run`, `its re-run: failed`.
fn after_rerun(outcome: &str) -> String {
    match outcome {
        "passed" => "passed its re-run".to_owned(),
        outcome => format!("its re-run: {outcome}"),
    }
}

/// What the run's output said besides what [`ParsedRun`] holds.
pub(super) struct OutputFacts {
    /// regrtest ran `-R` repetitions (its `beginning N repetitions`, or the shim's measurements
    /// in quiet mode).
    pub(super) saw_huntrleaks: bool,
    /// The run's warning when regrtest's worker thread failed ([`WorkerThreadFailure`]).
    pub(super) worker_thread_failure: Option<String>,
    /// The tests the command line names ([`regrtest::selection`]).
    pub(super) selection: Option<regrtest::Selection>,
    /// A hang at interpreter exit, after the tests, ended regrtest ([`HangReport::after_tests`]):
    /// what it had buffered for its stdout (its last test's result line, its summary) was lost.
    pub(super) hang_after_tests: bool,
    /// The processes of the hangs leakcheck found while no test ran in them (no test's `-R`
    /// repetitions open: between two tests, at a test module's import), not at interpreter exit
    /// ([`test_of_hang`] names none).
    pub(super) hung_between_tests: Vec<i32>,
    /// The output interleaves regrtest runs: the command ran them at the same time
    /// ([`concurrent_regrtests`]), or a fork of one went on running regrtest ([`StrayFork`]).
    /// The parser was told ([`regrtest::Parser::runs_interleave`]).
    pub(super) interleaved: bool,
}

/// How the run's leak sites were recorded, and are to be shown.
pub(super) struct SiteSettings<'a> {
    pub(super) symbolizer: &'a Symbolizer,
    pub(super) suppressions: &'a crate::suppress::Suppressions,
    /// The `--stack-depth` the shim recorded stacks with (0: no attribution).
    pub(super) stack_depth: u32,
}

/// Join regrtest's view and the shim's into the report.
pub(super) fn assemble(
    report: &mut RunReport,
    supervised: &Supervised,
    parsed: ParsedRun,
    output: &OutputFacts,
    (shim, own): (&ShimData, &OwnProcesses<'_>),
    SiteSettings { symbolizer, suppressions, stack_depth }: SiteSettings<'_>,
) {
    let status = &mut report.status;
    match supervised.exit {
        ChildExit::Exited(code) => status.exit_code = Some(code),
        ChildExit::Signaled { signal, core_dumped } => {
            status.signal = Some(signal.as_str().to_owned());
            status.core_dumped = core_dumped;
        }
    }
    status.interrupted_by = supervised.interrupted_by.map(|s| s.as_str().to_owned());
    status.interrupted_before_hang_end = supervised.interrupted_by.is_some() && !supervised.interrupted_after_end;
    status.killed_after_grace = supervised.killed;
    status.killed_at_once = supervised.killed_at_once;
    report.leftover_processes =
        supervised.leftovers.iter().map(|l| ProcessInfo { pid: l.pid, command: l.command.clone() }).collect();
    report.warnings.extend(supervised.output_errors.iter().cloned());

    report.shim.processes_patched = shim.patched.len();
    report.shim.errors = shim.errors.iter().map(|(pid, msg)| format!("pid {pid}: {msg}")).collect();
    report.shim.bad_records = shim.bad_lines;
    for stray in &shim.stray_forks {
        let from = shim.forks.get(&stray.pid).map(|f| format!("; forked from process {}", f.ppid)).unwrap_or_default();
        let set_aside = |what: &str, tests: &[String]| match tests {
            [] => String::new(),
            tests => format!(
                "; what it measured {what} ({}) is set aside: the process it was forked from measured them too",
                tests.join(", ")
            ),
        };
        let (when, later) = if stray.before_repetitions {
            let measured: Vec<String> = std::iter::once(&stray.test).chain(&stray.later_tests).cloned().collect();
            (
                format!("before {}'s -R repetitions began (at the test module's import, say)", stray.test),
                set_aside("from then on", &measured),
            )
        } else {
            (format!("during {}'s -R repetitions", stray.test), set_aside("after that", &stray.later_tests))
        };
        report.warnings.push(format!(
            "process {} was forked {when} and went on running regrtest instead of exiting (a fork child of the test \
             returned from it instead of calling os._exit{from}): it is no regrtest run of its own, and regrtest's \
             output holds that \
             process's results and summary too, interleaved with its parent's: a failure regrtest printed for a test \
             stands though a later summary, maybe the other process's, does not list it{later}",
            stray.pid
        ));
    }
    // Only regrtest processes matter: tests start children with PYTHONMALLOC on purpose.
    report.shim.hooks_replaced = shim
        .replaced
        .iter()
        .filter(|(_, argv)| regrtest::is_regrtest_command(argv))
        .map(|(pid, argv)| ProcessInfo { pid: *pid, command: argv.join(" ") })
        .collect();

    // Stopped by a signal: leakcheck's, or regrtest says so (a Ctrl-C that reached it alone).
    let interrupted = supervised.interrupted_by.is_some()
        || parsed
            .summary
            .as_ref()
            .is_some_and(|s| s.interrupted || s.result.as_deref().is_some_and(|r| r.contains("INTERRUPTED")));
    let mut series_of: HashMap<&str, Vec<&Series>> = HashMap::new();
    for series in &shim.series {
        series_of.entry(series.test.as_str()).or_default().push(series);
    }
    let rerun: &[String] = parsed.summary.as_ref().map_or(&[], |s| s.rerun.as_slice());
    let regrtest_names: std::collections::HashSet<String> = parsed.tests.iter().map(|t| t.name.clone()).collect();
    let join = Join {
        symbolizer,
        suppressions,
        stack_depth,
        shim_enabled: report.shim.enabled,
        hooks_replaced: !report.shim.hooks_replaced.is_empty(),
        leftovers: supervised.leftovers.iter().map(|l| l.pid).collect(),
    };
    // The tests whose run before regrtest's re-run leaked, when the re-run reported did not.
    let mut leaked_before_rerun: Vec<String> = Vec::new();
    // A command that ran regrtest more than once: the tests that failed or leaked in an earlier
    // run, when the run reported did not.
    let regrtest_runs = parsed.run_results.len();
    let mut failed_in_earlier_run: Vec<String> = Vec::new();
    // Tests not `leaked` that leaked in a run before the one reported (either kind above), each
    // with why: the exit status counts them (see `Summary::earlier_leaks`).
    let mut earlier_leaks: Vec<String> = Vec::new();
    // Tests not failing in the run reported that failed in the run before regrtest's re-run
    // (see `Summary::failed_before_rerun`).
    let mut failed_before_rerun: Vec<String> = Vec::new();
    // 3.13's `-W` shows a `-j` worker's output only for a test that did not pass.
    let hides_passing_output = output.saw_huntrleaks && launch::profile::hides_passing_output(&report.command);
    let mut tests: Vec<TestReport> = parsed
        .tests
        .iter()
        .map(|t| {
            let measured = series_of.get(t.name.as_str()).map_or(&[][..], Vec::as_slice);
            // The summary's re-run list is the last regrtest run's.
            let rerun = rerun.contains(&t.name) && t.regrtest_run + 1 >= regrtest_runs;
            // Ran in more than one regrtest run of the command: the report is the last run's,
            // its outcome and its measurement.
            let runs: Vec<&regrtest::TestResult> = t.earlier_runs.iter().chain([t]).collect();
            let by_run = (runs.len() > 1).then(|| series_by_run(measured, &runs, shim));
            let all: &[&Series] = match &by_run {
                Some(Some(by_run)) => by_run.last().map_or(&[][..], Vec::as_slice),
                _ => measured,
            };
            let (series, note) = choose_series(all, rerun);
            // Regrtest's part describes the run measured: the re-run, unless it was cut short.
            let first_measured = series.is_some_and(|s| all.last().is_some_and(|last| !std::ptr::eq(s, *last)));
            let mut report = match t.as_first_run().filter(|_| first_measured) {
                Some(first) => test_report(&first, series, &join),
                None => test_report(t, series, &join),
            };
            report.outcome = outcome_name(t.outcome.as_ref());
            if t.outcome == Some(Outcome::NotRun) && !all.is_empty() {
                // regrtest counts the test it stopped among those it never ran (`omitted`),
                // and names it nowhere else in quiet mode or in a `-j` worker: it did start.
                // Stopped because regrtest's own worker thread failed, not by a signal or
                // `--failfast`: started, and no result.
                if output.worker_thread_failure.is_some() && !interrupted {
                    report.outcome = "unknown".into();
                    report.notes.push(WORKER_THREAD_NOTE.into());
                } else {
                    report.outcome = "interrupted".into();
                }
            }
            if output.hang_after_tests && t.outcome == Some(Outcome::Unknown) {
                lost_at_exit(&mut report, t);
            }
            report.notes.extend(note);
            if t.failure_kept {
                report.notes.push(FAILURE_KEPT_NOTE.into());
            }
            if let Some(first) = t.first_run.as_ref().filter(|f| f.outcome.is_failure()) {
                let said = first.result_text.clone().unwrap_or_else(|| outcome_name(Some(&first.outcome)));
                // A failing leak line is the leak note's; a failure of the test itself is this one.
                if first.outcome != Outcome::ReferenceLeak && !first_measured {
                    report.notes.push(format!("regrtest's run before its re-run (reported here) failed: {said}"));
                }
                if !t.outcome.is_some_and(Outcome::is_failure) {
                    let then = after_rerun(&report.outcome);
                    failed_before_rerun
                        .push(format!("{} failed before regrtest's re-run ({said}), then {then}", t.name));
                }
            }
            let mut earlier_leak = false;
            if let Some(leaks) = t.first_run.as_ref().filter(|_| !first_measured).and_then(|f| f.failing_leaks()) {
                report.notes.push(format!("regrtest's run before its re-run (reported here) leaked: {leaks}"));
                earlier_leak = true;
            }
            // regrtest's verdict is the re-run's, and so is `leaked`; what leakcheck measured
            // in the runs before it (a raw leak regrtest cannot see, in a test that failed for
            // another reason) is kept as evidence.
            if let Some(index) = series.and_then(|s| all.iter().position(|a| std::ptr::eq(*a, s))).filter(|_| rerun) {
                let notes = earlier_run_leaks(&t.name, &all[..index], all.len(), &join);
                earlier_leak |= !notes.is_empty();
                report.notes.extend(notes);
            }
            if earlier_leak && !report.leaked {
                leaked_before_rerun.push(t.name.clone());
                let then = after_rerun(&report.outcome);
                earlier_leaks.push(format!("{} leaked in the run before regrtest's re-run, then {then}", t.name));
            }
            if let Some(by_run) = by_run {
                let (earlier_failed, leaked_in) =
                    earlier_runs_notes(&mut report, &runs, by_run.as_deref(), regrtest_runs, &join);
                if earlier_failed && !report.leaked && !t.outcome.is_some_and(Outcome::is_failure) {
                    failed_in_earlier_run.push(t.name.clone());
                }
                if let Some(run) = leaked_in.filter(|_| !report.leaked) {
                    let then = match report.outcome.as_str() {
                        "passed" => "a later run passed".to_owned(),
                        outcome => format!("the last run it ran in: {outcome}"),
                    };
                    earlier_leaks.push(format!(
                        "{} leaked in run {run} of the command's {} regrtest runs, then {then}",
                        t.name,
                        regrtest_runs.max(t.regrtest_run + 1)
                    ));
                }
            }
            if hides_passing_output && t.outcome == Some(Outcome::Passed) && !t.repetitions_shown {
                report.notes.push(HIDDEN_OUTPUT_NOTE.into());
                // test_report says so for a test whose repetitions it saw begin.
                if series.is_none() && join.shim_enabled && t.repetitions.is_none() {
                    report.notes.push(unmeasured_note(&join).into());
                }
            }
            report
        })
        .collect();
    if !parsed.progress_seen && parsed.summary.is_some() {
        quiet_crashes(&mut tests, &parsed.unowned_fault_dumps, &series_of, shim, &join);
    }
    if !parsed.progress_seen {
        // Quiet mode (`-q`) names only the tests that did not pass; or not regrtest output we
        // could read. Report what the shim measured, by test name: a test that ran all its
        // repetitions, in a run that got to its summary and named it nowhere, passed.
        // Interrupted, regrtest lists the tests it has no result for as omitted (those it named
        // nowhere else were not in progress). With no summary (the run died, or leakcheck ended
        // it for a hang), such a test after which the same regrtest process began another test
        // passed too (see `QUIET_PASSED_NOTE`); the last test of a process has no result.
        let passed = |name: &str| {
            parsed.summary.as_ref().is_some_and(|s| {
                let interrupted = s.interrupted || s.result.as_deref().unwrap_or("").contains("INTERRUPTED");
                !interrupted || !s.omitted.iter().any(|n| n == name)
            })
        };
        // The series of each test regrtest did not name, tests in the order they began; only
        // the run's own regrtest's: those of a regrtest that a test ran are not the run's tests.
        let mut unnamed: Vec<(&str, Vec<&Series>)> = Vec::new();
        for series in shim.series.iter().filter(|s| own.contains(s.pid)) {
            let name = series.test.as_str();
            if regrtest_names.contains(name) {
                continue;
            }
            match unnamed.iter_mut().find(|(n, _)| *n == name) {
                Some((_, all)) => all.push(series),
                None => unnamed.push((name, vec![series])),
            }
        }
        // None of regrtest's output reached leakcheck (no run header, progress line or
        // summary): its stdout and stderr went elsewhere (the command redirected them), and the
        // tests it ran are named by the shim alone. Quiet mode prints its run header all the
        // same (`Run tests sequentially`), also when it dies before its summary.
        let output_unseen = parsed.run_results.is_empty() && parsed.usage_error.is_none();
        let mut unseen: Vec<String> = Vec::new();
        for (name, all) in unnamed {
            let (series, note) = choose_series(&all, false);
            let ran_through = all.iter().all(|s| s.aborted == Some(false));
            // regrtest's output reached leakcheck (a failure line would have): it went on to
            // another test in the same process, with no word of this one.
            let next = all.last().and_then(|last| next_test_began(shim, last));
            let went_on = parsed.summary.is_none() && !output_unseen && next.is_some();
            let outcome = (ran_through && (passed(name) || went_on)).then_some(Outcome::Passed);
            let test = regrtest::TestResult { name: name.to_owned(), outcome, ..Default::default() };
            let mut report = test_report(&test, series, &join);
            report.notes.extend(note);
            if let Some(next) = next.filter(|_| ran_through && went_on) {
                report.notes.push(format!("{QUIET_PASSED_NOTE} ({next} began next)"));
            }
            if output_unseen {
                report.notes.push(OUTPUT_UNSEEN_NOTE.into());
                unseen.push(name.to_owned());
            }
            tests.push(report);
        }
        if !unseen.is_empty() {
            report.warnings.push(format!(
                "the shim measured {} in the command's own regrtest, but none of regrtest's output reached \
                 leakcheck (no progress line, no summary: redirected to a file or /dev/null by the command?): \
                 reported with leakcheck's measurement and no outcome",
                unseen.join(", ")
            ));
        }
        // Nor the tests it skipped: those the command line names that are named nowhere and
        // were not measured, when the shim measures every test that runs.
        let measures = report.shim.enabled && report.shim.hooks_replaced.is_empty() && !shim.patched.is_empty();
        if let Some(selection) = output.selection.as_ref().filter(|s| s.huntrleaks && measures) {
            let known: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
            let skipped = parsed.quiet_skipped(&selection.tests, &known);
            for (test, note) in skipped {
                let mut report = test_report(&test, None, &join);
                report.notes.push(note);
                tests.push(report);
            }
        }
    }

    if parsed.progress_seen {
        unlisted_tests(&mut tests, &mut report.warnings, shim, own, &join);
    }

    // The tests the command line names one by one that the run never got to, when regrtest did
    // not get to its summary, whose `omitted` list would name them (SIGTERM ends a sequential
    // 3.11 regrtest before it prints one). regrtest names every test it starts in a progress
    // line (sequentially before it runs; with `-j` when it is done, and the workers' from their
    // command lines when the run is stopped, so a run stopped before any test finished has no
    // progress line), except in quiet mode (`-q`, or no progress line where the command line
    // cannot tell): a test named nowhere, and not measured either, never started. A regrtest
    // that refused its command line started nothing either, but selected nothing.
    if parsed.summary.is_none() && parsed.usage_error.is_none() {
        let named_when_started = |s: &&regrtest::Selection| {
            parsed.progress_seen || (!s.quiet && (supervised.interrupted_by.is_some() || !tests.is_empty()))
        };
        if let Some(selection) = output.selection.as_ref().filter(named_when_started) {
            let measured: Vec<&str> = shim.series.iter().map(|s| s.test.as_str()).collect();
            for name in not_started(&selection.tests, &tests, &measured) {
                let test = regrtest::TestResult { name, outcome: Some(Outcome::NotRun), ..Default::default() };
                let mut report = test_report(&test, None, &join);
                report.notes.push(NOT_STARTED_NOTE.into());
                tests.push(report);
            }
        }
    }
    report.warnings.extend(output.worker_thread_failure.iter().cloned());
    if regrtest_runs > 1 {
        let results: Vec<&str> = parsed.run_results.iter().map(|r| r.as_deref().unwrap_or("none")).collect();
        report.warnings.push(format!(
            "the command ran regrtest {regrtest_runs} times, one run after another (results: {}): a test \
             that ran in more than one is reported as the last run it ran in, outcome and measurement, \
             and its notes say how the others went; regrtest_result is the last run's",
            results.join(", ")
        ));
    }

    let saw_huntrleaks = output.saw_huntrleaks;
    // regrtest refused its command line, or never got to a test: the shim had nothing to
    // measure, whatever the interpreter.
    let no_test_started =
        parsed.usage_error.is_some() || (tests.is_empty() && !parsed.progress_seen && parsed.summary.is_none());
    if let Some(usage) = &parsed.usage_error {
        report.warnings.push(format!("{REFUSED_COMMAND_LINE} ({usage})"));
    }
    let nothing_to_measure = report.shim.hooks_replaced.is_empty() && no_test_started;
    if report.shim.enabled && saw_huntrleaks && shim.patched.is_empty() && !nothing_to_measure {
        report.warnings.push(if report.shim.hooks_replaced.is_empty() {
            "regrtest ran with -R but the shim measured nothing: the interpreter has no \
             PyMem_SetAllocator/PySys_AddAuditHook, or it does not run regrtest's refleak module, \
             or the shim was not loaded (LD_PRELOAD removed by the command, e.g. `env -i`; ld.so's \
             error in the log)"
                .into()
        } else {
            match std::env::var_os("PYTHONMALLOC") {
                Some(value) => format!(
                    "the allocator hooks were replaced: PYTHONMALLOC={} is set, and CPython installs the \
                     allocators it names during start-up, over the shim's (any value does, even the build's \
                     default): per-domain counts are unavailable; unset PYTHONMALLOC to count",
                    value.to_string_lossy()
                ),
                None => "the allocator hooks were replaced (-X dev, or PYTHONMALLOC set by the command): \
                         per-domain counts are unavailable"
                    .into(),
            }
        });
    }
    for (pid, msg) in &shim.errors {
        report.warnings.push(format!("shim in pid {pid}: {msg}"));
    }
    // A daemon thread an earlier test left running, allocating while a later test runs.
    crate::report::other_threads::mark(&mut tests);
    let noted = |note: &str| -> Vec<&str> {
        tests.iter().filter(|t| t.notes.iter().any(|n| n.starts_with(note))).map(|t| t.name.as_str()).collect()
    };
    let lost = noted(HOOKS_LOST);
    if !lost.is_empty() {
        report.warnings.push(format!("{HOOKS_LOST} tests {}: their domain counts are unavailable", lost.join(", ")));
    }
    let incomplete = noted(SITES_INCOMPLETE);
    if !incomplete.is_empty() {
        report.warnings.push(format!("{SITES_INCOMPLETE} of tests {}: no leak sites for them", incomplete.join(", ")));
    }
    // Only worth saying when a leak site lacks its frame: a clean run needs no excuse.
    let frameless = tests
        .iter()
        .flat_map(|t| t.leak_sites.iter().chain(t.suppressed_sites.iter().map(|s| &s.site)))
        .any(|site| site.python_frame.is_none());
    if frameless {
        for reason in &shim.no_python_frames {
            report.warnings.push(format!("leak sites have no Python frame: {reason}"));
        }
    }

    // regrtest ran (its output says so) and never got to its summary, or to its `-w`/`--rerun`
    // re-run's after the first run's: whatever the command's status, the run stopped halfway.
    // Not when leakcheck stopped it (a signal it forwarded, a hang it ended: they say so) or
    // regrtest refused its command line (its own warning).
    let last_unfinished = parsed.summary.as_ref().is_none_or(|s| s.rerun_unfinished)
        && !parsed.run_results.is_empty()
        && parsed.usage_error.is_none()
        && supervised.interrupted_by.is_none()
        && !report.status.ended_for_hang;
    // An earlier run of a command that ran regrtest more than once died before its summary
    // (the next run's header came after its process was gone): it stopped halfway too, whatever
    // the runs after it did. Its warning says which run it was.
    for earlier in &parsed.unfinished_runs {
        let when = match earlier.running.as_slice() {
            [] => "the run ended before it".to_owned(),
            [one] => format!("the run ended while {one} ran"),
            many => format!("the run ended while {} ran", many.join(", ")),
        };
        report.warnings.push(format!(
            "{UNFINISHED_WARNING}: {when} (regrtest run {} of {regrtest_runs}: its process died, and the command \
             ran regrtest again)",
            earlier.run + 1
        ));
    }
    let unfinished = last_unfinished || !parsed.unfinished_runs.is_empty();
    // A test with no result that the shim saw run through all its repetitions in regrtest's own
    // process (not a `-j` worker's, which a dying main process leaves in its last steps):
    // regrtest was done with it.
    let over = |t: &TestReport| {
        t.outcome == "unknown"
            && t.repetitions.as_ref().is_some_and(|r| r.complete && r.measured > 0)
            && series_of
                .get(t.name.as_str())
                .is_some_and(|all| all.iter().all(|s| shim.processes.get(&s.pid).is_none_or(|p| !p.is_worker())))
    };
    // The process in which the test's repetitions began last, when they were the last to begin
    // there: the run ended after them (quiet mode's tests that another followed passed).
    let last_of_process = |t: &TestReport| {
        let last = series_of.get(t.name.as_str())?.last()?;
        next_test_began(shim, last).is_none().then_some(last.pid)
    };
    if last_unfinished {
        // The tests it ended during: no result line for their last attempt, and no result (`unknown`) or one the end
        // itself gave (faulthandler's `Timeout`, a crash's dump).
        // The last run's (an earlier one's are in their own warning).
        let last_run: std::collections::HashSet<&str> =
            parsed.tests.iter().filter(|t| t.regrtest_run + 1 >= regrtest_runs).map(|t| t.name.as_str()).collect();
        // The result line of the last attempt: a report's `result_line` falls back on the
        // first run's, which says nothing of a `-w` re-run that the end cut short.
        let with_result: std::collections::HashSet<&str> =
            parsed.tests.iter().filter(|t| t.result_text.is_some()).map(|t| t.name.as_str()).collect();
        let no_result = |t: &&TestReport| {
            !with_result.contains(t.name.as_str())
                && matches!(t.outcome.as_str(), "unknown" | "timed_out" | "crashed")
                && (parsed.unfinished_runs.is_empty() || last_run.contains(t.name.as_str()))
        };
        // Not a test that ran through (`over`): regrtest was done with it and died before naming
        // the next (its progress line lost, as when a closed pipe fails its print). The run
        // ended after the one its process began last; one another test followed was not
        // running either.
        let running: Vec<&str> = tests.iter().filter(no_result).filter(|t| !over(t)).map(|t| t.name.as_str()).collect();
        let done: Vec<String> = tests
            .iter()
            .filter(no_result)
            .filter(|t| over(t) && last_of_process(t).is_some())
            .map(|t| t.name.clone())
            .collect();
        let when = match (running.as_slice(), done.last()) {
            ([], Some(last)) => format!(
                "the run ended after {last}'s -R repetitions all ran through (the shim measured each), with no \
                 later test known to have begun"
            ),
            ([], None) => "the run ended before it".to_owned(),
            ([one], _) => format!("the run ended while {one} ran"),
            (many, _) => format!("the run ended while {} ran", many.join(", ")),
        };
        // A regrtest left running when the command's process exited (a script's `&`): it did
        // not die, leakcheck ended it.
        let ended: Vec<String> = running
            .iter()
            .filter_map(|name| {
                let all = series_of.get(name)?;
                let series = all.iter().rev().find(|s| s.aborted.is_none() && join.leftovers.contains(&s.pid))?;
                Some(format!("process {} running {name}", series.pid))
            })
            .collect();
        let when = match ended.as_slice() {
            [] => when,
            ended => format!(
                "{when} (leakcheck ended {}: a leftover, still running when the command's process exited)",
                ended.join(", ")
            ),
        };
        // The command's 0 is not leakcheck's status: `execute` adds which it is, once known.
        report.warnings.push(format!("{UNFINISHED_WARNING}: {when}"));
        for test in tests.iter_mut().filter(|t| done.contains(&t.name)) {
            test.notes.push(RAN_THROUGH.to_owned());
        }
    }
    // leakcheck ended the run for a hang in a regrtest process between two tests (no test's
    // repetitions open: regrtest's clean-up after a test, the next test module's import): the
    // test that process began last ran through and has no result; the hang is not its.
    if report.status.ended_for_hang && !output.hung_between_tests.is_empty() {
        let hung: Vec<String> = tests
            .iter()
            .filter(|t| over(t) && last_of_process(t).is_some_and(|pid| output.hung_between_tests.contains(&pid)))
            .map(|t| t.name.clone())
            .collect();
        for test in tests.iter_mut().filter(|t| hung.contains(&t.name)) {
            test.notes.push(RAN_THROUGH_HANG.to_owned());
        }
    }
    let regrtest_result = match parsed.results_printed.as_slice() {
        // Interleaved runs: the last result printed may be any run's; a failing one is not
        // taken back by another run's success.
        printed @ [_, ..] if output.interleaved => {
            printed.iter().rev().find(|r| !r.ends_with("SUCCESS")).or(printed.last()).cloned()
        }
        _ => parsed.summary.as_ref().and_then(|s| s.result.clone()),
    };
    // `ENV CHANGED` is only ever regrtest's result when it was told to fail on it.
    let env_changed_result = regrtest_result.as_deref().is_some_and(|r| r.contains("ENV CHANGED"));
    report.summary = Summary {
        tests: tests.len(),
        leaked: tests.iter().filter(|t| t.leaked).map(|t| t.name.clone()).collect(),
        leaked_not_reported_by_regrtest: tests
            .iter()
            .filter(|t| t.leak_not_reported_by_regrtest)
            .map(|t| t.name.clone())
            .collect(),
        leaked_before_rerun,
        failed_in_earlier_run,
        earlier_leaks,
        failed_before_rerun,
        hung: Vec::new(),
        deadlocked: Vec::new(),
        sanitizer_findings: 0,
        sanitizer_reports: 0,
        env_changed_fails: launch::profile::fails_on_env_changed(&report.command) || env_changed_result,
        regrtest_result,
        regrtest_unfinished: unfinished,
        huntrleaks: saw_huntrleaks,
    };
    if supervised.interrupted_by.is_some() {
        // Stopped by us on a signal (buildbot's SIGTERM, a Ctrl-C regrtest did not get to
        // report): the test that was running got no result because of that, not of itself.
        for test in tests.iter_mut().filter(|t| t.outcome == "unknown") {
            test.outcome = "interrupted".into();
        }
    }
    report.tests = tests;
}

/// The end of the warning of an unfinished run whose command exited 0 all the same, from the
/// status leakcheck really exits with: a finding's (101-103) outranks 104 (see `exit.rs`).
pub(super) fn unfinished_status(code: i32) -> String {
    let why = match code {
        ExitCode::LEAK_NOT_REPORTED => "for the leak it found, and a run stopped halfway is no success either",
        ExitCode::HANG => "for the hang it found, and a run stopped halfway is no success either",
        ExitCode::SANITIZER => "for the sanitizer's finding, and a run stopped halfway is no success either",
        _ => "a run stopped halfway is no success",
    };
    format!(", yet the command exited 0: leakcheck exits {code} instead, {why}")
}

/// The tests the shim measured in the command's own regrtest processes that regrtest's output,
/// as read, names nowhere, added to `tests` with leakcheck's measurement and no outcome, and a
/// warning naming them: a measurement is never dropped for the output's sake. regrtest names
/// every test it runs in a progress line; one it seems not to have named was lost to output
/// that could not be read as regrtest's (a test printing regrtest's lines, concurrent runs
/// interleaving theirs). A leak among them is a leak (exit 101 for one regrtest cannot see).
pub(super) fn unlisted_tests(
    tests: &mut Vec<TestReport>,
    warnings: &mut Vec<String>,
    shim: &ShimData,
    own: &OwnProcesses<'_>,
    join: &Join<'_>,
) {
    // A package's modules (3.12+ runs `test_asyncio` as `test_asyncio.test_x`) are its.
    let named = |name: &str, tests: &[TestReport]| {
        tests.iter().any(|t| {
            let related = |a: &str, b: &str| a.strip_prefix(b).is_some_and(|rest| rest.starts_with('.'));
            t.name == name || related(&t.name, name) || related(name, &t.name)
        })
    };
    let mut unlisted: Vec<(&str, Vec<&Series>)> = Vec::new();
    for series in shim.series.iter().filter(|s| own.contains(s.pid)) {
        let name = series.test.as_str();
        if named(name, tests) {
            continue;
        }
        match unlisted.iter_mut().find(|(n, _)| *n == name) {
            Some((_, all)) => all.push(series),
            None => unlisted.push((name, vec![series])),
        }
    }
    if unlisted.is_empty() {
        return;
    }
    let names: Vec<String> = unlisted.iter().map(|(name, _)| name.to_string()).collect();
    for (name, all) in unlisted {
        let (series, note) = choose_series(&all, false);
        let test = regrtest::TestResult { name: name.to_owned(), outcome: None, ..Default::default() };
        let mut report = test_report(&test, series, join);
        report.notes.extend(note);
        report.notes.push(UNLISTED_NOTE.into());
        tests.push(report);
    }
    warnings.push(format!(
        "the shim measured {} in the command's own regrtest, which regrtest's output as read names nowhere \
         (output that reads as regrtest's but is not, from a test or a regrtest run at the same time, \
         got in the way): reported with leakcheck's measurement and no outcome",
        names.join(", ")
    ));
}

/// The note of a test the shim measured in a run none of whose regrtest output reached
/// leakcheck.
pub(super) const OUTPUT_UNSEEN_NOTE: &str =
    "none of regrtest's output reached leakcheck (redirected by the command?), so nothing names this \
     test but the shim's records: the outcome is unknown, the measurement is leakcheck's own (see the run's \
     warnings)";

/// The note of a test the shim measured that regrtest's output, as read, does not name.
pub(super) const UNLISTED_NOTE: &str =
    "regrtest's output, as read, names this test nowhere: the outcome is unknown, the \
     measurement is leakcheck's own (see the run's warnings)";

/// The start of the warning of a run in which regrtest started tests and never printed its
/// result (see [`Summary::regrtest_unfinished`]).
pub(super) const UNFINISHED_WARNING: &str = "regrtest never printed its result";

/// The note of a test whose output regrtest hid: it passed in a `-j` worker under `-W`.
pub(super) const HIDDEN_OUTPUT_NOTE: &str = "regrtest hid this test's output: with -W (also set by --fast-ci and \
     --slow-ci) it shows a -j worker's output only for a test that did not pass, so this test's -R \
     progress (`beginning N repetitions` and the repetitions' marks) and what it printed are not in the log";

/// The note of a test whose failure stands only because regrtest runs interleaved
/// ([`regrtest::TestResult::failure_kept`]).
pub(super) const FAILURE_KEPT_NOTE: &str =
    "regrtest's output said this test failed, and a later summary does not list it as \
     failed; that summary may be another regrtest run's, whose output interleaves with this one's (see the run's \
     warnings): the failure stands";

/// The note of a test that was running when regrtest's worker thread failed.
pub(super) const WORKER_THREAD_NOTE: &str =
    "no result: regrtest's worker thread failed while this test ran, and regrtest \
     stopped its workers (see the run's warnings)";

/// The regrtest parser, told the tests the command line names and whether it asks for quiet
/// mode, where it names them.
pub(super) fn selected_names_parser(command: &[std::ffi::OsString]) -> regrtest::Parser {
    let argv: Vec<String> = command.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let quiet = regrtest::regrtest_args(&argv).is_some_and(|args| args.quiet);
    regrtest::selection(&argv)
        .map_or_else(regrtest::Parser::new, |s| regrtest::Parser::with_selected(&s.tests))
        .quiet_run(quiet)
}

/// The note of a selected test that never started in a run that ended before regrtest's summary.
pub(super) const NOT_STARTED_NOTE: &str =
    "never started: named on the command line, and the run ended before regrtest \
     got to it (it printed no summary, whose list of omitted tests would name it)";

/// Of the tests a command line `selected`, those the report does not name (as themselves, or
/// as the package of a module it names: 3.12+ runs `test_asyncio` as its modules) and the shim
/// did not measure, in the command line's order.
pub(super) fn not_started(selected: &[String], tests: &[TestReport], measured: &[&str]) -> Vec<String> {
    let is = |test: &str, name: &str| test == name || test.strip_prefix(name).is_some_and(|rest| rest.starts_with('.'));
    selected
        .iter()
        .filter(|name| !tests.iter().any(|t| is(&t.name, name)) && !measured.iter().any(|m| is(m, name)))
        .cloned()
        .collect()
}

/// Suppressions match leak sites: a run that records none (`--no-attribution`, `--no-shim`)
/// cannot use them, and a buildbot whose environment names a file ($LEAKCHECK_SUPPRESSIONS)
/// must not be left to wonder why a leak it accepted fails the run.
pub(super) fn unused_suppressions(config: &Config) -> Option<String> {
    let (flag, so) = if !config.shim {
        ("--no-shim", "there are no domain verdicts, and regrtest's own are never suppressed")
    } else if config.stack_depth == 0 {
        ("--no-attribution", "a domain's verdict is its counts alone")
    } else {
        return None;
    };
    (!config.suppressions.is_empty()).then(|| {
        format!(
            "the suppressions (--suppressions or $LEAKCHECK_SUPPRESSIONS) were not applied: they match leak \
             sites, which {flag} does not record; {so}"
        )
    })
}
