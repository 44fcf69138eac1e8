//! The parser's tests on whole outputs: regrtest's real output of every version and layout
//! (`harness/tests/data/regrtest/`), hand-built lines from CPython's sources, and hostile input.

use super::text::{decode_line, CappedText};
use super::*;

fn parse(input: &str, run_completed: bool) -> ParsedRun {
    let mut p = Parser::new();
    for line in input.split_inclusive('\n') {
        p.feed_line(line.as_bytes());
    }
    p.finish(run_completed)
}

fn test<'a>(run: &'a ParsedRun, name: &str) -> &'a TestResult {
    run.tests.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no test {name} in {:#?}", run.tests))
}

#[test]
fn tracebacks_printed_with_a_result_line_are_kept() {
    let run = parse(
        "0:00:00 load avg: 0.10 Run 2 tests sequentially\n\
         0:00:00 load avg: 0.10 [1/2] test_fail\n\
         test test_fail failed -- Traceback (most recent call last):\n\
         \x20 File \"/tmp/t/test_fail.py\", line 5, in test_one\n\
         \x20   self.assertEqual(1, 2)\n\
         AssertionError: 1 != 2\n\
         \n\
         0:00:00 load avg: 0.10 [2/2/1] test_crash -- test_fail failed\n\
         test test_crash crashed -- Traceback (most recent call last):\n\
         \x20 File \"/usr/lib/python3.11/test/libregrtest/runtest.py\", line 355, in _runtest_inner\n\
         KeyError: 'x'\n\
         \n\
         During handling of the above exception, another exception occurred:\n\
         \n\
         Traceback (most recent call last):\n\
         \x20 File \"/tmp/t/test_crash.py\", line 3, in <module>\n\
         Exception: errors while loading tests\n\
         \n\
         test_crash failed (uncaught exception)\n\
         \n\
         == Tests result: FAILURE ==\n",
        true,
    );
    let fail = test(&run, "test_fail");
    assert_eq!(fail.traceback_method.as_deref(), Some("test_one"));
    let text = fail.traceback.as_deref().unwrap();
    assert!(
        text.starts_with("Traceback (most recent call last):\n") && text.ends_with("AssertionError: 1 != 2"),
        "{text}"
    );
    let crash = test(&run, "test_crash");
    assert_eq!(crash.traceback_method, None, "a crash's first frame is regrtest's");
    let text = crash.traceback.as_deref().unwrap();
    assert!(text.contains("During handling") && text.ends_with("Exception: errors while loading tests"), "{text}");
    assert_eq!(crash.outcome, Some(Outcome::UncaughtException));
}

/// Real 3.13.5 output: a decorated test method fails (the first frame is the decorator's
/// `wrapper`), and a `setUp` fails (no frame is the method).
#[test]
fn the_traceback_names_the_test_method_not_a_wrapper_or_fixture() {
    let run = parse(
        "0:00:00 load avg: 1.18 Run 2 tests sequentially in a single process\n\
         0:00:00 load avg: 1.18 [1/2] test_qa_deco\n\
         test test_qa_deco failed -- Traceback (most recent call last):\n\
         \x20 File \"/tmp/qa-313/td/test_qa_deco.py\", line 11, in wrapper\n\
         \x20   return f(*a, **k)\n\
         \x20 File \"/tmp/qa-313/td/test_qa_deco.py\", line 17, in test_wrapped\n\
         \x20   self.assertEqual(1, 2)\n\
         \x20   ~~~~~~~~~~~~~~~~^^^^^^\n\
         AssertionError: 1 != 2\n\
         0:00:00 load avg: 1.18 [1/2/1] test_qa_deco failed (1 failure)\n\
         0:00:00 load avg: 1.18 [2/2/1] test_qa_helper\n\
         \n\
         test test_qa_helper failed -- Traceback (most recent call last):\n\
         \x20 File \"/tmp/qa-313/td/test_qa_helper.py\", line 4, in setUp\n\
         \x20   raise RuntimeError(\"setup broke\")\n\
         RuntimeError: setup broke\n\
         \n\
         0:00:00 load avg: 1.18 [2/2/2] test_qa_helper failed (1 error)\n",
        false,
    );
    assert_eq!(test(&run, "test_qa_deco").traceback_method.as_deref(), Some("test_wrapped"));
    assert_eq!(test(&run, "test_qa_helper").traceback_method, None);
    assert!(test(&run, "test_qa_helper").traceback.as_deref().is_some_and(|t| t.contains("in setUp")));
    // A chained exception's frames are not the method's.
    let run = parse(
        "0:00:00 load avg: 0.10 [1/1] test_x\n\
         test test_x failed -- Traceback (most recent call last):\n\
         \x20 File \"/t/test_x.py\", line 4, in setUp\n\
         KeyError: 'k'\n\
         \n\
         During handling of the above exception, another exception occurred:\n\
         \n\
         Traceback (most recent call last):\n\
         \x20 File \"/t/test_x.py\", line 9, in test_helper_in_setup\n\
         RuntimeError: x\n",
        false,
    );
    assert_eq!(test(&run, "test_x").traceback_method, None);
}

#[test]
fn a_skipped_files_reason_is_kept() {
    let run = parse(
        "0:00:00 load avg: 0.10 Run tests in parallel using 2 child processes\n\
         0:00:00 load avg: 0.10 [1/2] test_skipmod skipped\n\
         test_skipmod skipped -- not on this platform\n\
         0:00:00 load avg: 0.10 [2/2] test_ok passed\n\
         \n\
         == Tests result: SUCCESS ==\n",
        true,
    );
    let skipped = test(&run, "test_skipmod");
    assert_eq!(skipped.outcome, Some(Outcome::Skipped));
    assert_eq!(skipped.skip_reason.as_deref(), Some("not on this platform"));
    assert_eq!(test(&run, "test_ok").skip_reason, None);
}

#[test]
fn a_child_regrtests_output_quoted_by_a_test_makes_no_test() {
    // test_regrtest's failure messages quote the output of the regrtest runs it starts.
    let run = parse(
        "0:00:00 load avg: 0.10 Run 2 tests sequentially\n\
         0:00:00 load avg: 0.10 [1/2] test_echo\n\
         AssertionError: unexpected output:\n\
         0:00:00 load avg: 0.10 [1/1] test_regrtest_huntrleaks\n\
         beginning 6 repetitions\n\
         test_regrtest_huntrleaks leaked [1, 1, 1] references, sum=3\n\
         test_regrtest_huntrleaks failed (reference leak)\n\
         0:00:01 load avg: 0.10 [2/2/1] test_b -- test_echo failed\n\
         test_b passed\n\
         == Tests result: FAILURE ==\n\
         1 test failed:\n    test_echo\n\
         1 test OK.\n",
        true,
    );
    let names: Vec<&str> = run.tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["test_echo", "test_b"]);
    assert_eq!(test(&run, "test_echo").references, None);
    assert_eq!(test(&run, "test_echo").outcome, Some(Outcome::Failed));
}

#[test]
fn a_child_regrtest_running_in_parallel_leaves_the_run_sequential() {
    // A test runs `python -m test -j1 test_inner`, whose output shares our pipe.
    let mut p = Parser::new();
    for line in [
        "0:00:00 load avg: 0.10 Run 2 tests sequentially",
        "0:00:00 load avg: 0.10 [1/2] test_outer",
        "0:00:00 load avg: 0.10 Run 1 test in parallel using 1 child process",
        "0:00:00 load avg: 0.10 [1/1] test_inner passed",
    ] {
        p.feed_line(line.as_bytes());
    }
    assert_eq!(p.current_test(), Some("test_outer"), "the hang watch still knows the running test");
    p.feed_line(b"0:00:05 load avg: 0.10 [2/2] test_b");
    let run = p.finish(true);
    assert_eq!(names(&run), ["test_outer", "test_b"]);
}

fn outcome(run: &ParsedRun, name: &str) -> Outcome {
    test(run, name).outcome.expect("finish() resolves every outcome")
}

fn leak(deltas: &[i64], sum: i64, failing: bool) -> Option<LeakLine> {
    Some(LeakLine { deltas: deltas.to_vec(), sum, failing })
}

fn names(run: &ParsedRun) -> Vec<&str> {
    run.tests.iter().map(|t| t.name.as_str()).collect()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// --- Real captured output, CPython 3.11.2 (Debian python3.11-dbg) --------------------------

#[test]
fn golden_3_11_2_sequential_refleaks_failures_and_skips() {
    let run = parse(include_str!("../../tests/data/regrtest/3.11.2-seq-R.txt"), true);
    assert_eq!(
        names(&run),
        [
            "test_ok",
            "test_leaky",
            "test_reflonly",
            "test_failing",
            "test_skipme",
            "test_envchange",
            "test_empty",
            "test_uncaught",
            "test_resdenied"
        ]
    );
    assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
    assert_eq!(outcome(&run, "test_leaky"), Outcome::ReferenceLeak);
    assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
    assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
    assert_eq!(outcome(&run, "test_skipme"), Outcome::Skipped);
    assert_eq!(outcome(&run, "test_envchange"), Outcome::EnvChanged);
    assert_eq!(outcome(&run, "test_empty"), Outcome::RanNoTests);
    assert_eq!(outcome(&run, "test_uncaught"), Outcome::UncaughtException);
    // The last test's result is the standalone line after the loop.
    assert_eq!(outcome(&run, "test_resdenied"), Outcome::ResourceDenied);
    assert_eq!(test(&run, "test_resdenied").result_text.as_deref(), Some("test_resdenied skipped (resource denied)"));

    let leaky = test(&run, "test_leaky");
    assert_eq!(leaky.references, leak(&[5, 5, 5], 15, true));
    assert_eq!(leaky.memory_blocks, leak(&[5, 5, 5], 15, true));
    assert_eq!(leaky.file_descriptors, leak(&[1, 1, 1], 3, true));
    assert_eq!(leaky.repetitions, Some(6));
    assert_eq!(leaky.attempts, 1);
    assert_eq!(leaky.result_text.as_deref(), Some("test_leaky failed (reference leak)"));
    let reflonly = test(&run, "test_reflonly");
    assert_eq!(reflonly.references, leak(&[1, 1, 1], 3, true));
    assert_eq!(reflonly.file_descriptors, None);
    assert_eq!(test(&run, "test_failing").result_text.as_deref(), Some("test_failing failed (1 error, 1 failure)"));
    assert_eq!(test(&run, "test_ok").references, None);
    assert_eq!(test(&run, "test_ok").result_text, None);
    // -R never got to "beginning" for tests that failed to import or skipped at import.
    assert_eq!(test(&run, "test_skipme").repetitions, None);

    let summary = run.summary.expect("summary");
    assert_eq!(summary.result.as_deref(), Some("FAILURE"));
    assert_eq!(summary.failed, strings(&["test_failing", "test_leaky", "test_reflonly", "test_uncaught"]));
    assert_eq!(summary.env_changed, strings(&["test_envchange"]));
    assert_eq!(summary.skipped, strings(&["test_resdenied", "test_skipme"]));
    assert_eq!(summary.run_no_tests, strings(&["test_empty"]));
    assert_eq!(summary.passed_count, Some(1));
    assert_eq!(summary.total_tests, Some(9));
    assert_eq!(summary.total_duration.as_deref(), Some("454 ms"));
}

#[test]
fn golden_3_11_2_parallel_refleaks_crash_and_heartbeats() {
    let input = include_str!("../../tests/data/regrtest/3.11.2-j2-R.txt");
    let run = parse(input, true);
    assert_eq!(names(&run)[..3], ["test_slow", "test_slow2", "test_ok"]);
    assert_eq!(run.tests.len(), 12);
    assert_eq!(outcome(&run, "test_slow"), Outcome::Passed);
    assert_eq!(outcome(&run, "test_slow2"), Outcome::Passed);
    assert_eq!(test(&run, "test_slow2").result_text.as_deref(), Some("test_slow2 passed"));
    assert_eq!(outcome(&run, "test_leaky"), Outcome::ReferenceLeak);
    assert_eq!(outcome(&run, "test_crash"), Outcome::Crashed);
    assert_eq!(test(&run, "test_crash").result_text.as_deref(), Some("test_crash crashed (Exit code -11)"));
    // The worker's output after its result: faulthandler's dump, to its last line.
    let dump = test(&run, "test_crash").faulthandler.as_deref().unwrap_or_default();
    assert!(dump.starts_with("Fatal Python error: Segmentation fault\n\nCurrent thread 0x"), "{dump}");
    assert!(dump.contains("\n  File \"/tmp/rt/tests/test_crash.py\", line 4 in test_segv\n"), "{dump}");
    assert!(dump.ends_with("\n\nExtension modules: _testcapi (total: 1)"), "{dump}");
    assert_eq!(test(&run, "test_reflonly").faulthandler, None, "the next test's output is its own");
    assert_eq!(outcome(&run, "test_resdenied"), Outcome::ResourceDenied);
    assert_eq!(outcome(&run, "test_envchange"), Outcome::EnvChanged);
    assert_eq!(outcome(&run, "test_empty"), Outcome::RanNoTests);
    assert_eq!(outcome(&run, "test_uncaught"), Outcome::UncaughtException);
    // The worker's output follows its progress line, so "beginning" and the leak lines
    // belong to the test just reported.
    let leaky = test(&run, "test_leaky");
    assert_eq!(leaky.references, leak(&[5, 5, 5], 15, true));
    assert_eq!(leaky.memory_blocks, None);
    assert_eq!(leaky.file_descriptors, leak(&[1, 1, 1], 3, true));
    assert_eq!(leaky.repetitions, Some(6));
    assert_eq!(test(&run, "test_slow").repetitions, Some(6));
    assert_eq!(test(&run, "test_reflonly").references, leak(&[1, 1, 1], 3, true));
    let summary = run.summary.expect("summary");
    assert_eq!(summary.total_tests, Some(12));
    assert_eq!(summary.failed.len(), 5);
}

#[test]
fn output_belongs_to_the_announced_test_or_to_the_last_result_in_parallel_mode() {
    let mut p = Parser::new();
    assert_eq!(p.output_owner(), None);
    p.feed_line(b"0:00:00 load avg: 0.10 [1/2] test_a");
    p.feed_line(b"==12==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1");
    assert_eq!(p.output_owner(), Some("test_a"));
    p.feed_line(b"0:00:01 load avg: 0.10 [2/2] test_b");
    assert_eq!(p.output_owner(), Some("test_b"));

    let mut p = Parser::new();
    p.feed_line(b"Run tests in parallel using 2 child processes");
    p.feed_line(b"0:00:30 load avg: 0.50 running: test_slow (30.0 sec), test_fast (30.0 sec)");
    assert_eq!(p.output_owner(), None, "a running list names no owner");
    p.feed_line(b"0:00:31 load avg: 0.50 [1/2/1] test_fast crashed (Exit code -6) -- running: test_slow (31 sec)");
    assert_eq!(p.output_owner(), Some("test_fast"), "the worker's output follows its result line");
    p.feed_line(b"0:00:32 load avg: 0.50 running: test_slow (32.0 sec)");
    assert_eq!(p.output_owner(), Some("test_fast"));
    p.feed_line(b"0:00:40 load avg: 0.50 [2/2] test_slow passed (40.0 sec)");
    assert_eq!(p.output_owner(), Some("test_slow"));
    p.feed_line(b"== Tests result: FAILURE ==");
    assert_eq!(p.output_owner(), None);
}

#[test]
fn current_test_in_parallel_mode_follows_running_lists() {
    let input = include_str!("../../tests/data/regrtest/3.11.2-j2-R.txt");
    let mut p = Parser::new();
    let mut lines = input.lines();
    for line in lines.by_ref() {
        p.feed_line(line.as_bytes());
        if line.ends_with("child processes") {
            break;
        }
    }
    assert_eq!(p.current_test(), None, "nothing known to be running yet");
    p.feed_line(lines.next().expect("heartbeat").as_bytes());
    assert_eq!(p.current_test(), Some("test_slow"));
    // "[ 1/12] test_slow2 passed (33.1 sec) -- running: test_slow (33.2 sec)"
    p.feed_line(lines.next().expect("progress").as_bytes());
    assert_eq!(p.current_test(), Some("test_slow"));
    for line in lines.by_ref() {
        p.feed_line(line.as_bytes());
        if line.contains("[12/12]") {
            break;
        }
    }
    assert_eq!(p.current_test(), None, "a result without a running list says nothing");
    assert!(p.saw_huntrleaks());
}

#[test]
fn golden_3_11_2_in_process_rerun_counts_attempts_and_takes_final_outcome() {
    let run = parse(include_str!("../../tests/data/regrtest/3.11.2-seq-R-rerun.txt"), true);
    assert_eq!(names(&run), ["test_ok", "test_flaky", "test_failing", "test_reflonly"]);
    assert_eq!(test(&run, "test_ok").attempts, 1);
    let flaky = test(&run, "test_flaky");
    assert_eq!(flaky.attempts, 2);
    assert_eq!(flaky.outcome, Some(Outcome::Passed));
    assert_eq!(flaky.result_text, None, "the in-process re-run prints no result string");
    let failing = test(&run, "test_failing");
    assert_eq!(failing.attempts, 2);
    assert_eq!(failing.outcome, Some(Outcome::Failed));
    assert_eq!(
        failing.failed_methods,
        strings(&[
            "test_error (test_failing.TestFailing.test_error)",
            "test_fail (test_failing.TestFailing.test_fail)"
        ])
    );
    // 3.11.2's re-run matched no test method, so regrtest lists it under "run no tests";
    // the leak lines are the first attempt's, kept apart.
    let reflonly = test(&run, "test_reflonly");
    assert_eq!(reflonly.attempts, 2);
    assert_eq!(reflonly.outcome, Some(Outcome::RanNoTests));
    assert_eq!(reflonly.references, None);
    let first = reflonly.first_run.as_ref().expect("the run before the re-run");
    assert_eq!((first.outcome, &first.references), (Outcome::ReferenceLeak, &leak(&[1, 1, 1], 3, true)));
    assert_eq!(test(&run, "test_flaky").first_run.as_ref().map(|f| f.outcome), Some(Outcome::Failed));
    assert_eq!(test(&run, "test_ok").first_run, None);
    // The in-process re-run prints no result string: the first run's are kept.
    for (name, line) in [
        ("test_flaky", "test_flaky failed (1 failure)"),
        ("test_failing", "test_failing failed (1 error, 1 failure)"),
        ("test_reflonly", "test_reflonly failed (reference leak)"),
    ] {
        let result = test(&run, name);
        assert_eq!(result.result_text, None, "{name}");
        let first = result.first_run.as_ref().and_then(|f| f.result_text.as_deref());
        assert_eq!(first, Some(line), "{name}");
        assert_eq!(result.as_first_run().and_then(|f| f.result_text).as_deref(), Some(line), "{name}");
    }
    let summary = run.summary.expect("summary");
    assert_eq!(summary.result.as_deref(), Some("FAILURE then FAILURE"));
    assert_eq!(summary.failed_again, strings(&["test_failing"]));
    assert_eq!(summary.failed, strings(&["test_failing"]));
    assert_eq!(summary.rerun, strings(&["test_failing", "test_flaky", "test_reflonly"]));
    assert_eq!(summary.passed_count, Some(2));
    assert_eq!(summary.total_tests, Some(4), "from the first run, not the re-run");
}

/// A test that leaked only in its first run, re-run in-process (3.11.2) or in a worker
/// (3.13): its leak lines are the re-run's (none), the first run's are kept apart.
#[test]
fn golden_rerun_that_passes_has_no_leak_lines_of_the_first_run() {
    for (input, first_lines) in [
        (include_str!("../../tests/data/regrtest/3.11.2-seq-R-rerun-firstref.txt"), 1),
        (include_str!("../../tests/data/regrtest/3.13.5-seq-R-rerun-firstref.txt"), 2),
    ] {
        let run = parse(input, true);
        let firstref = test(&run, "test_firstref");
        assert_eq!((firstref.outcome, firstref.attempts), (Some(Outcome::Passed), 2));
        assert_eq!((&firstref.references, &firstref.memory_blocks), (&None, &None));
        let first = firstref.first_run.as_ref().expect("the run before the re-run");
        assert_eq!(first.outcome, Outcome::ReferenceLeak);
        assert_eq!(first.references, leak(&[1, 1, 1], 3, true));
        let expected = ["references [1, 1, 1]", "memory blocks [1, 1, 1]"][..first_lines].join(", ");
        assert_eq!(first.failing_leaks(), Some(expected));
        let view = firstref.as_first_run().expect("a first run");
        assert_eq!((view.outcome, &view.references), (Some(Outcome::ReferenceLeak), &first.references));
        assert_eq!(test(&run, "test_ok").as_first_run(), None);
    }
}

/// A signal (buildbot's SIGTERM) that kills regrtest after it printed its whole summary, down
/// to `Total duration:`, changes no result: the last test, which passed quickly, passed. Killed
/// before that line, the summary may not be the last word (a re-run may follow).
#[test]
fn killed_after_the_whole_summary_the_last_test_passed() {
    for (input, last) in [
        (include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitations-last.txt"), "test_imitates_leak_lines"),
        (include_str!("../../tests/data/regrtest/3.11.2-seq-R-rerun-firstref.txt"), "test_firstref"),
    ] {
        let run = parse(input, false);
        assert_eq!(outcome(&run, last), Outcome::Passed, "{input}");
        let cut = input.find("Total duration: ").expect("the summary's end");
        assert_ne!(outcome(&parse(&input[..cut], false), last), Outcome::Passed, "{input}");
    }
}

#[test]
fn killed_during_rerun_leaves_the_rerun_test_unknown() {
    let input = include_str!("../../tests/data/regrtest/3.11.2-seq-R-rerun.txt");
    let cut = input.find("ERROR: test_error").expect("the re-run of test_failing prints its errors");
    let mut p = Parser::new();
    for line in input[..cut].lines() {
        p.feed_line(line.as_bytes());
    }
    // The first summary is behind us; the in-process re-run is what is running now.
    assert_eq!(p.current_test(), Some("test_failing"));
    let run = p.finish(false);
    let failing = test(&run, "test_failing");
    assert_eq!((failing.attempts, failing.outcome), (2, Some(Outcome::Unknown)));
    // Re-run and followed by another re-run: it passed, whatever the first summary said.
    assert_eq!(outcome(&run, "test_flaky"), Outcome::Passed);
    assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
    // The first summary's lists are kept, not its result: the run's result is the re-run's
    // end, which never came.
    assert_eq!(run.summary.map(|s| s.result), Some(None));
}

#[test]
fn golden_3_11_2_parallel_then_in_process_rerun() {
    let run = parse(include_str!("../../tests/data/regrtest/3.11.2-j2-R-rerun.txt"), true);
    assert_eq!(names(&run), ["test_flaky", "test_ok", "test_failing", "test_reflonly"]);
    assert_eq!(outcome(&run, "test_flaky"), Outcome::Passed);
    assert_eq!(test(&run, "test_flaky").attempts, 2);
    assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
    assert_eq!(test(&run, "test_failing").failed_methods.len(), 2);
    assert_eq!(outcome(&run, "test_reflonly"), Outcome::RanNoTests);
    assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
    assert_eq!(test(&run, "test_ok").attempts, 1);
}

#[test]
fn golden_3_11_2_segfault_kills_sequential_run() {
    let input = include_str!("../../tests/data/regrtest/3.11.2-seq-R-segv.txt");
    let mut p = Parser::new();
    for line in input.lines() {
        p.feed_line(line.as_bytes());
    }
    assert_eq!(p.current_test(), Some("test_crash"));
    let run = p.finish(false);
    assert_eq!(names(&run), ["test_ok", "test_reflonly", "test_crash"]);
    assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
    assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
    assert_eq!(outcome(&run, "test_crash"), Outcome::Unknown);
    assert_eq!(test(&run, "test_crash").repetitions, Some(6));
    let dump = test(&run, "test_crash").faulthandler.as_deref().unwrap_or_default();
    assert!(dump.starts_with("Fatal Python error: Segmentation fault\n"), "{dump}");
    assert!(dump.contains("line 4 in test_segv"), "{dump}");
    assert_eq!(run.summary, None);
}

#[test]
fn golden_3_11_2_verbose_failures_go_to_the_running_test() {
    let run = parse(include_str!("../../tests/data/regrtest/3.11.2-seq-verbose.txt"), true);
    assert_eq!(names(&run), ["test_ok", "test_failing", "test_skipme"]);
    assert_eq!(
        test(&run, "test_failing").failed_methods,
        strings(&[
            "test_error (test_failing.TestFailing.test_error)",
            "test_fail (test_failing.TestFailing.test_fail)"
        ])
    );
    assert!(test(&run, "test_ok").failed_methods.is_empty());
    assert_eq!(outcome(&run, "test_skipme"), Outcome::Skipped);
    assert_eq!(run.summary.and_then(|s| s.total_tests), Some(3));
}

/// (class, method, outcome, detail) of every method of `test`.
fn methods<'a>(run: &'a ParsedRun, name: &str) -> Vec<(&'a str, &'a str, MethodOutcome, Option<&'a str>)> {
    test(run, name)
        .methods
        .iter()
        .map(|m| (m.class.as_str(), m.name.as_str(), m.outcome, m.detail.as_deref()))
        .collect()
}

#[test]
fn verbose_method_lines_in_every_layout_and_version() {
    use MethodOutcome::*;
    let plain = "test_methods.Plain";
    let expected = [
        (plain, "test_docstring", Passed, None),
        (plain, "test_errors", Error, None),
        (plain, "test_expected", ExpectedFailure, None),
        (plain, "test_fails", Failed, None),
        (plain, "test_ok", Passed, None),
        (plain, "test_prints", Passed, None),
        (plain, "test_skipped", Skipped, Some("'not here'")),
        (plain, "test_unexpected", UnexpectedSuccess, None),
        ("test_methods.Sub", "test_subtests", Failed, None),
        ("test_methods.Sub", "test_subtests_pass", Passed, None),
    ];
    for (file, input) in [
        ("3.11.2-seq-verbose-methods", include_str!("../../tests/data/regrtest/3.11.2-seq-verbose-methods.txt")),
        ("3.11.2-j2-R-verbose-methods", include_str!("../../tests/data/regrtest/3.11.2-j2-R-verbose-methods.txt")),
        ("3.12.1-seq-verbose-methods", include_str!("../../tests/data/regrtest/3.12.1-seq-verbose-methods.txt")),
        ("3.13.0-j2-verbose-methods", include_str!("../../tests/data/regrtest/3.13.0-j2-verbose-methods.txt")),
    ] {
        let run = parse(input, true);
        assert_eq!(names(&run), ["test_methods"], "{file}");
        assert_eq!(methods(&run, "test_methods"), expected, "{file}");
        let traceback = |name: &str| {
            test(&run, "test_methods").methods.iter().find(|m| m.name == name).and_then(|m| m.traceback.clone())
        };
        let fails = traceback("test_fails").unwrap_or_default();
        assert!(fails.starts_with("Traceback (most recent call last):"), "{file}: {fails}");
        assert!(fails.ends_with("AssertionError: 1 != 2"), "{file}: {fails}");
        assert!(traceback("test_errors").is_some_and(|t| t.ends_with("RuntimeError: boom")), "{file}");
        assert!(traceback("test_subtests").is_some_and(|t| t.contains("AssertionError: 2 not less than 2")));
        assert_eq!(traceback("test_ok"), None);
        assert_eq!(outcome(&run, "test_methods"), Outcome::Failed, "{file}");
    }
}

/// Methods named with dots, dashes and spaces (`setattr(Cls, "test_case-1.5 x", f)`), a
/// nested class's, a failing subtest's and a doctest of a class, as unittest names them: the
/// method is what the id repeats after the class path, not what follows its last dot.
#[test]
fn golden_method_names_with_dots_dashes_and_spaces() {
    use MethodOutcome::*;
    let odd = "test_odd_names.Odd";
    let expected = [
        (odd, "test_case-1.5 x", Failed, None),
        (odd, "test_dotted.name", Failed, None),
        (odd, "test_ok-2 y", Passed, None),
        (odd, "test_plain_fails", Failed, None),
        (odd, "test_subtests", Failed, None),
        ("test_odd_names.Outer.Inner", "test_nested", Failed, None),
        ("test_odd_names.Doc", "func", Failed, None),
    ];
    for (file, input) in [
        ("3.11.2-seq-verbose-odd-names", include_str!("../../tests/data/regrtest/3.11.2-seq-verbose-odd-names.txt")),
        ("3.13.5-j2-verbose-odd-names", include_str!("../../tests/data/regrtest/3.13.5-j2-verbose-odd-names.txt")),
    ] {
        let run = parse(input, true);
        assert_eq!(methods(&run, "test_odd_names"), expected, "{file}");
        let result = test(&run, "test_odd_names");
        let traceback = |name: &str| result.methods.iter().find(|m| m.name == name).and_then(|m| m.traceback.clone());
        assert!(traceback("test_case-1.5 x").is_some_and(|t| t.ends_with("+ b")), "{file}");
        assert!(traceback("test_nested").is_some_and(|t| t.ends_with("AssertionError: nested")), "{file}");
        assert_eq!(result.failed_methods.len(), 6, "{file}");
    }
    assert_eq!(
        method_description("test_s (test_x.C.test_s) [msg] (i=1)"),
        Some(("test_s", "test_x.C", Some("[msg] (i=1)")))
    );
    assert_eq!(method_description("a (b) (m.C.a (b))"), Some(("a (b)", "m.C", None)));
    assert_eq!(method_description("test_f (m.f.<locals>.C.test_f)"), Some(("test_f", "m.f.<locals>.C", None)));
    for not_one in ["test_a (m.C.test_b)", "test_a (C.test_a)", "test_a (m.C-1.test_a)", " x (m.C. x)", "a (m.C.a)x"] {
        assert_eq!(method_description(not_one), None, "{not_one}");
    }
    assert_eq!(class_in_module("test_x", "test.test_x.Outer.Inner"), "Outer.Inner");
    assert_eq!(class_in_module("test_x", "test_x.C"), "C");
    assert_eq!(class_in_module("test_asyncio", "test.test_asyncio.test_tasks.TaskTests"), "TaskTests");
    assert_eq!(class_in_module("test_thread", "test.lock_tests.LockTests"), "LockTests");
    assert_eq!(class_in_module("test_x", "test_x"), "test_x");
}

#[test]
fn refleak_repetitions_and_reruns_keep_the_last_result_of_each_method() {
    let run = parse(include_str!("../../tests/data/regrtest/3.11.2-seq-R-rerun.txt"), true);
    // Failed in the first run (only its FAIL header names it), passed in the re-run's six
    // repetitions, whose lines follow the dots of `-R`.
    assert_eq!(methods(&run, "test_flaky"), [("test_flaky.TestFlaky", "test_flaky", MethodOutcome::Passed, None)]);
    let failing = methods(&run, "test_failing");
    assert_eq!(
        failing.iter().map(|m| (m.1, m.2)).collect::<Vec<_>>(),
        [("test_error", MethodOutcome::Error), ("test_fail", MethodOutcome::Failed)]
    );
}

#[test]
fn method_status_after_output_without_a_newline_and_docstrings_in_the_error_list() {
    let run = parse(
        "0:00:00 load avg: 0.01 [1/1] test_m\n\
         test_dots (test_m.T.test_dots) ... ...ok\n\
         test_words (test_m.T.test_words) ... hellook\n\
         test_book (test_m.T.test_book) ... \n\
         the book\n\
         FAIL\n\
         test_doc (test_m.T.test_doc)\n\
         Check that two equals three. ... FAIL\n\
         \n\
         ======================================================================\n\
         FAIL: test_book (test_m.T.test_book)\n\
         ----------------------------------------------------------------------\n\
         Traceback (most recent call last):\n\
         AssertionError: book\n\
         \n\
         ======================================================================\n\
         FAIL: test_doc (test_m.T.test_doc)\n\
         Check that two equals three.\n\
         ----------------------------------------------------------------------\n\
         Traceback (most recent call last):\n\
         AssertionError: 2 != 3\n\
         \n\
         ----------------------------------------------------------------------\n\
         Ran 4 tests in 0.001s\n\
         \n\
         test_m failed (2 failures)\n",
        true,
    );
    let methods = &test(&run, "test_m").methods;
    let got: Vec<(&str, MethodOutcome)> = methods.iter().map(|m| (m.name.as_str(), m.outcome)).collect();
    use MethodOutcome::*;
    assert_eq!(got, [("test_dots", Passed), ("test_words", Passed), ("test_book", Failed), ("test_doc", Failed)]);
    let traceback = |name: &str| methods.iter().find(|m| m.name == name).and_then(|m| m.traceback.clone());
    assert_eq!(traceback("test_doc").as_deref(), Some("Traceback (most recent call last):\nAssertionError: 2 != 3"));
    assert_eq!(traceback("test_book").as_deref(), Some("Traceback (most recent call last):\nAssertionError: book"));
}

#[test]
fn a_progress_line_glued_to_test_output_is_read() {
    let run = parse(
        "0:00:00 load avg: 0.01 [1/2] test_a\n\
         beginning 6 repetitions\n\
         test_a leaked [1, 1, 1] references, sum=3\n\
         ......0:00:01 load avg: 0.01 [2/2/1] test_b -- test_a failed (reference leak)\n\
         partial0:00:02 load avg: 0.01 [2/2/1] test_b passed\n",
        true,
    );
    assert_eq!(names(&run), ["test_a", "test_b"]);
    assert_eq!(outcome(&run, "test_a"), Outcome::ReferenceLeak);
    assert_eq!(outcome(&run, "test_b"), Outcome::Passed);
}

#[test]
fn leak_lines_that_name_another_test_are_that_tests_output() {
    let run = parse(
        "0:00:00 load avg: 0.01 [1/2] test_a\n\
         0:00:01 load avg: 0.01 [2/2] test_b -- test_a passed\n\
         test_a leaked [1, 1, 1] references, sum=3\n\
         xtest_b leaked [2, 2, 2] memory blocks, sum=6\n",
        true,
    );
    assert_eq!(test(&run, "test_a").references, None, "printed while test_b ran");
    assert_eq!(test(&run, "test_b").memory_blocks, leak(&[2, 2, 2], 6, true));
}

#[test]
fn method_lines_need_a_test_and_a_consistent_id() {
    let mut p = Parser::new();
    // Before any test, and lines that only look alike.
    p.feed_line(b"test_a (m.C.test_a) ... ok\n");
    p.feed_line(b"0:00:00 load avg: 0.01 [1/1] test_x\n");
    p.feed_line(b"test_a (m.C.test_b) ... ok\n");
    p.feed_line(b"test_y (30.0 sec) ... ok\n");
    p.feed_line(b"ok\n");
    // A pending method whose status never comes is not recorded.
    p.feed_line(b"test_c (m.C.test_c) ... \n");
    p.feed_line(b"test_d (m.C.test_d)\n");
    p.feed_line(b"Its docstring ... skipped 'because'\n");
    p.feed_line(b"test_e (m.C.test_e) ... ok (0.125s)\n");
    let run = p.finish(false);
    assert_eq!(
        methods(&run, "test_x"),
        [("m.C", "test_d", MethodOutcome::Skipped, Some("'because'")), ("m.C", "test_e", MethodOutcome::Passed, None)]
    );
}

#[test]
fn golden_3_11_2_sequential_timeout_exits_without_summary() {
    let run = parse(include_str!("../../tests/data/regrtest/3.11.2-seq-timeout.txt"), true);
    assert_eq!(names(&run), ["test_ok", "test_hang"]);
    assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
    assert_eq!(outcome(&run, "test_hang"), Outcome::TimedOut);
    assert_eq!(run.summary, None);
}

/// With `-v`, unittest's `test_x (m.C.test_x) ... ` waits for the method's status when
/// `--timeout`'s faulthandler fires: its `Timeout (0:00:03)!` follows on that line, in
/// sequential mode (the run ends there, test_ok never announced) and in the output of a `-j`
/// worker regrtest says crashed with exit code 1. Timed out either way, with the dump.
#[test]
fn golden_3_11_2_verbose_timeout_follows_the_method_line() {
    for (input, result_text) in [
        (include_str!("../../tests/data/regrtest/3.11.2-seq-R-verbose-timeout.txt"), None),
        (
            include_str!("../../tests/data/regrtest/3.11.2-j2-R-verbose-timeout.txt"),
            Some("test_quiet_sleeper crashed (Exit code 1)"),
        ),
    ] {
        let run = parse(input, true);
        let sleeper = test(&run, "test_quiet_sleeper");
        assert_eq!(sleeper.outcome, Some(Outcome::TimedOut), "{sleeper:#?}");
        assert_eq!(sleeper.result_text.as_deref(), result_text);
        let dump = sleeper.faulthandler.as_deref().unwrap_or_default();
        assert!(dump.starts_with("Timeout (0:00:03)!\nThread 0x"), "{dump}");
        assert!(dump.contains("test_quiet_sleeper.py\", line 17 in test_sleep\n"), "{dump}");
        assert!(dump.ends_with("line 198 in _run_module_as_main"), "{dump}");
    }
}

// --- Real captured output, new libregrtest (pyenv release builds) --------------------------

#[test]
fn golden_3_12_1_parallel_rerun_in_subprocesses() {
    let run = parse(include_str!("../../tests/data/regrtest/3.12.1-j2-rerun.txt"), true);
    assert_eq!(run.tests.len(), 9);
    let flaky = test(&run, "test_flaky");
    assert_eq!((flaky.attempts, flaky.outcome), (2, Some(Outcome::Passed)));
    assert_eq!(flaky.result_text.as_deref(), Some("test_flaky passed"));
    let failing = test(&run, "test_failing");
    assert_eq!((failing.attempts, failing.outcome), (2, Some(Outcome::Failed)));
    assert_eq!(failing.failed_methods.len(), 2);
    let crash = test(&run, "test_crash");
    assert_eq!((crash.attempts, crash.outcome), (2, Some(Outcome::Crashed)));
    assert_eq!(crash.result_text.as_deref(), Some("test_crash worker non-zero exit code (Exit code -11 (SIGSEGV))"));
    // The re-run's dump, glued to its verbose method line; not the first attempt's.
    let dump = crash.faulthandler.as_deref().unwrap_or_default();
    assert!(dump.starts_with("Fatal Python error: Segmentation fault\n"), "{dump}");
    assert!(dump.contains("unittest/runner.py"), "the verbose re-run's stack: {dump}");
    assert_eq!(test(&run, "test_envchange").attempts, 2);
    assert_eq!(outcome(&run, "test_envchange"), Outcome::EnvChanged);
    assert_eq!(outcome(&run, "test_uncaught"), Outcome::UncaughtException);
    assert_eq!(outcome(&run, "test_resdenied"), Outcome::ResourceDenied);
    assert_eq!(test(&run, "test_ok").attempts, 1);
    let summary = run.summary.expect("summary");
    assert_eq!(summary.result.as_deref(), Some("FAILURE then FAILURE"));
    assert_eq!(summary.failed_again, strings(&["test_crash", "test_failing", "test_uncaught"]));
    assert_eq!(summary.resource_denied, strings(&["test_resdenied"]));
    assert_eq!(summary.rerun.len(), 5);
    assert_eq!(summary.total_tests, Some(9));
    assert_eq!(summary.passed_count, Some(2));
}

#[test]
fn golden_3_13_0_sequential_run_then_rerun_in_a_worker() {
    let input = include_str!("../../tests/data/regrtest/3.13.0-seq-rerun.txt");
    let run = parse(input, true);
    assert_eq!(names(&run), ["test_ok", "test_flaky", "test_failing", "test_skipme", "test_empty", "test_resdenied"]);
    assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
    assert_eq!((test(&run, "test_flaky").attempts, outcome(&run, "test_flaky")), (2, Outcome::Passed));
    assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
    assert_eq!(test(&run, "test_failing").attempts, 2);
    assert_eq!(outcome(&run, "test_empty"), Outcome::RanNoTests);
    assert_eq!(outcome(&run, "test_resdenied"), Outcome::ResourceDenied);
    let summary = run.summary.expect("summary");
    assert_eq!(summary.total_tests, Some(6));
    assert_eq!(summary.result.as_deref(), Some("FAILURE then FAILURE"));
}

#[test]
fn golden_3_11_7_new_layout_parallel_rerun() {
    let run = parse(include_str!("../../tests/data/regrtest/3.11.7-j2-rerun.txt"), true);
    assert_eq!(run.tests.len(), 6);
    assert_eq!((test(&run, "test_flaky").attempts, outcome(&run, "test_flaky")), (2, Outcome::Passed));
    assert_eq!(outcome(&run, "test_crash"), Outcome::Crashed);
    assert_eq!(outcome(&run, "test_envchange"), Outcome::EnvChanged);
    assert_eq!(outcome(&run, "test_skipme"), Outcome::Skipped);
    assert_eq!(test(&run, "test_skipme").attempts, 1);
    let summary = run.summary.expect("summary");
    assert_eq!(summary.failed_again, strings(&["test_crash", "test_failing"]));
    assert_eq!(summary.total_tests, Some(6));
}

#[test]
fn golden_3_12_1_old_refleak_format_in_new_layout() {
    let run = parse(include_str!("../../tests/data/regrtest/3.12.1-seq-R-fakerefcount.txt"), true);
    let leaky = test(&run, "test_leaky");
    assert_eq!(leaky.outcome, Some(Outcome::ReferenceLeak));
    assert_eq!(leaky.memory_blocks, leak(&[5, 5, 5], 15, true));
    assert_eq!(leaky.repetitions, Some(6));
    // 3.12.1 prints nothing for deltas that do not fail.
    let fine = test(&run, "test_fine");
    assert_eq!((fine.outcome, fine.references.clone()), (Some(Outcome::Passed), None));
    assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
}

#[test]
fn golden_3_13_0_single_process_rerun_is_sequential() {
    let run = parse(include_str!("../../tests/data/regrtest/3.13.0-single-process-rerun.txt"), true);
    assert_eq!(names(&run), ["test_ok", "test_flaky", "test_failing", "test_skipme"]);
    let flaky = test(&run, "test_flaky");
    assert_eq!((flaky.attempts, flaky.outcome), (2, Some(Outcome::Passed)));
    let failing = test(&run, "test_failing");
    assert_eq!((failing.attempts, failing.outcome), (2, Some(Outcome::Failed)));
    assert_eq!(failing.failed_methods.len(), 2);
    assert_eq!(test(&run, "test_skipme").attempts, 1);
    assert_eq!(run.summary.and_then(|s| s.total_tests), Some(4));
}

#[test]
fn golden_3_13_0_quiet_mode_has_only_the_summary() {
    let run = parse(include_str!("../../tests/data/regrtest/3.13.0-quiet.txt"), true);
    assert_eq!(names(&run), ["test_failing", "test_envchange"]);
    assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
    assert_eq!(outcome(&run, "test_envchange"), Outcome::EnvChanged);
    assert_eq!(run.summary.and_then(|s| s.total_tests), Some(4));
}

#[test]
fn golden_3_13_0_worker_killed_by_its_timeout() {
    let run = parse(include_str!("../../tests/data/regrtest/3.13.0-j2-timeout.txt"), true);
    // faulthandler's `--timeout` watchdog ended the worker with `_exit(1)`: timed out, as
    // sequentially, with regrtest's own line kept.
    assert_eq!(outcome(&run, "test_hang"), Outcome::TimedOut);
    assert_eq!(
        test(&run, "test_hang").result_text.as_deref(),
        Some("test_hang worker non-zero exit code (Exit code 1)")
    );
    let dump = test(&run, "test_hang").faulthandler.as_deref().unwrap_or_default();
    assert!(dump.starts_with("Timeout (0:00:03)!\nThread 0x00007f0e0a0c6b80 (most recent call first):\n"), "{dump}");
    assert!(dump.ends_with("line 198 in _run_module_as_main"), "up to the blank line: {dump}");
    assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
}

/// `--fast-ci` (`-j0 --rerun -W ...`): the worker's output and the verbose re-run's show the
/// method line with faulthandler's `Timeout` after it. Timed out, with the re-run's dump.
#[test]
fn golden_3_13_5_fast_ci_timeout_follows_the_method_line() {
    let run = parse(include_str!("../../tests/data/regrtest/3.13.5-fast-ci-R-timeout.txt"), true);
    let sleeper = test(&run, "test_quiet_sleeper");
    assert_eq!(sleeper.outcome, Some(Outcome::TimedOut), "{sleeper:#?}");
    assert_eq!(sleeper.attempts, 2);
    let dump = sleeper.faulthandler.as_deref().unwrap_or_default();
    assert!(dump.starts_with("Timeout (0:00:03)!\nThread 0x00007f189a959740 "), "the re-run's: {dump}");
    assert!(dump.ends_with("line 198 in _run_module_as_main"), "{dump}");
    assert_eq!(test(&run, "test_ok").outcome, Some(Outcome::Passed));
}

/// A test's own line that ends in faulthandler's words is a timeout only where faulthandler's
/// would be: it must end the line.
#[test]
fn a_timeout_is_faulthandlers_only_at_the_end_of_its_line() {
    let run = parse(
        "0:00:00 load avg: 0.00 Run 1 test sequentially\n\
         0:00:00 load avg: 0.00 [1/1] test_a\n\
         test_a (test_a.T.test_a) ... Timeout (0:00:03)! was printed\n",
        false,
    );
    assert_eq!(test(&run, "test_a").outcome, Some(Outcome::Unknown));
    assert_eq!(test(&run, "test_a").faulthandler, None);
}

/// 3.13's words for a worker that died: `worker non-zero exit code (Exit code -6
/// (SIGABRT))`, which is 3.11's `crashed (Exit code -6)`.
#[test]
fn golden_3_13_5_worker_aborted_midway_crashed() {
    let run = parse(include_str!("../../tests/data/regrtest/3.13.5-j2-R-abort.txt"), true);
    let crash = test(&run, "test_crash_midway");
    assert_eq!(crash.outcome, Some(Outcome::Crashed));
    assert_eq!(
        crash.result_text.as_deref(),
        Some("test_crash_midway worker non-zero exit code (Exit code -6 (SIGABRT))")
    );
    assert_eq!(crash.repetitions, Some(6));
    // Glued to `-R`'s dots (`XXFatal Python error: Aborted`).
    let dump = crash.faulthandler.as_deref().unwrap_or_default();
    assert!(dump.starts_with("Fatal Python error: Aborted\n\nCurrent thread 0x"), "{dump}");
    assert!(dump.contains("test_crash_midway.py\", line 16 in test_crash_on_third_repetition\n"), "{dump}");
    assert!(dump.ends_with("Extension modules: _testinternalcapi (total: 1)"), "{dump}");
    assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
    assert_eq!(test(&run, "test_ok").faulthandler, None);
}

/// A test that fails in a later `-R` repetition: regrtest prints its failure after the
/// marks of the repetitions before, on their line (3.11 `.....test X failed -- Traceback
/// ...`, 3.13 `XXX XXtest X failed -- ...`), sequentially (stderr) and in a `-j` worker's
/// output alike.
#[test]
fn golden_a_failure_in_a_later_repetition_follows_the_repetitions_marks() {
    for (file, input) in [
        ("3.11.2-seq-R", include_str!("../../tests/data/regrtest/3.11.2-seq-R-late-doctest.txt")),
        ("3.11.2-j2-R", include_str!("../../tests/data/regrtest/3.11.2-j2-R-late-doctest.txt")),
        ("3.13.5-seq-R", include_str!("../../tests/data/regrtest/3.13.5-seq-R-late-doctest.txt")),
        ("3.13.5-j2-R", include_str!("../../tests/data/regrtest/3.13.5-j2-R-late-doctest.txt")),
    ] {
        let run = parse(input, true);
        let late = test(&run, "test_fail_late_repetition");
        assert_eq!(late.outcome, Some(Outcome::Failed), "{file}");
        assert_eq!(late.repetitions, Some(6), "{file}");
        let traceback = late.traceback.as_deref().unwrap_or_default();
        assert!(traceback.starts_with("Traceback (most recent call last):\n"), "{file}: {traceback}");
        assert!(traceback.ends_with("AssertionError: failed on repetition 6"), "{file}: {traceback}");
        assert_eq!(late.traceback_method.as_deref(), Some("test_fails_in_the_last_repetition"), "{file}");
        // Without -v, regrtest prints no `FAIL:` header.
        assert!(late.failed_methods.is_empty(), "{file}");
        assert_eq!(outcome(&run, "test_ok"), Outcome::Passed, "{file}");
    }
    // Verbose, the method lines of the later repetitions follow the marks too (3.13:
    // `Xtest_fails_in_the_last_repetition (...) ... ok`, ` Xtest_...`).
    for (file, input) in [
        ("3.11.2-seq-R-v", include_str!("../../tests/data/regrtest/3.11.2-seq-R-verbose-late-doctest.txt")),
        ("3.11.2-j2-R-v", include_str!("../../tests/data/regrtest/3.11.2-j2-R-verbose-late-doctest.txt")),
        ("3.13.5-j2-R-v", include_str!("../../tests/data/regrtest/3.13.5-j2-R-verbose-late-doctest.txt")),
    ] {
        let run = parse(input, true);
        let late = test(&run, "test_fail_late_repetition");
        assert_eq!(late.outcome, Some(Outcome::Failed), "{file}");
        let id =
            "test_fails_in_the_last_repetition (test_fail_late_repetition.FailLate.test_fails_in_the_last_repetition)";
        assert_eq!(late.failed_methods, [id], "{file}");
        assert_eq!(
            methods(&run, "test_fail_late_repetition"),
            [("test_fail_late_repetition.FailLate", "test_fails_in_the_last_repetition", MethodOutcome::Failed, None)],
            "{file}"
        );
        let traceback = late.methods[0].traceback.as_deref().unwrap_or_default();
        assert!(traceback.ends_with("AssertionError: failed on repetition 6"), "{file}: {traceback}");
        assert_eq!(methods(&run, "test_ok"), [("test_ok.TestOk", "test_a", MethodOutcome::Passed, None)], "{file}");
    }
    // Each later repetition's verbose line is read, not only the first one's: a method
    // whose first repetitions fail and last passes.
    let run = parse(
        "0:00:00 load avg: 0.10 [1/1] test_x passed\n\
         beginning 6 repetitions. Showing number of leaks (. for 0 or less, X for 10 or more)\n\
         123:456\n\
         test_a (test_x.T.test_a) ... FAIL\n\
         X1. 2Xtest_a (test_x.T.test_a) ... ok\n",
        true,
    );
    assert_eq!(methods(&run, "test_x"), [("test_x.T", "test_a", MethodOutcome::Passed, None)]);
}

/// Doctests run by unittest (`doctest.DocTestSuite`): verbose, each is a method, named as
/// unittest prints it (`bad (test_doctest_fails)` and `Doctest: test_doctest_fails.bad`),
/// the failing one with its `FAIL:` block, doctest's report of the example included;
/// without -v, regrtest's traceback has that report and names the doctest.
#[test]
fn golden_doctests_are_methods_with_their_report() {
    const REPORT: &str = "Failed example:\n    1 + 1\nExpected:\n    3\nGot:\n    2";
    for (file, input) in [
        ("3.11.2-seq-R", include_str!("../../tests/data/regrtest/3.11.2-seq-R-late-doctest.txt")),
        ("3.11.2-j2-R", include_str!("../../tests/data/regrtest/3.11.2-j2-R-late-doctest.txt")),
        ("3.13.5-seq-R", include_str!("../../tests/data/regrtest/3.13.5-seq-R-late-doctest.txt")),
        ("3.13.5-j2-R", include_str!("../../tests/data/regrtest/3.13.5-j2-R-late-doctest.txt")),
    ] {
        let run = parse(input, true);
        let doctests = test(&run, "test_doctest_fails");
        assert_eq!(doctests.outcome, Some(Outcome::Failed), "{file}");
        let traceback = doctests.traceback.as_deref().unwrap_or_default();
        assert!(traceback.starts_with("Traceback (most recent call last):\n"), "{file}: {traceback}");
        assert!(traceback.contains("AssertionError: Failed doctest test for test_doctest_fails.bad\n"), "{file}");
        assert!(traceback.contains("\n\n------"), "{file}: {traceback}");
        assert!(traceback.ends_with(REPORT), "{file}: {traceback}");
        assert_eq!(doctests.traceback_method.as_deref(), Some("bad"), "{file}");
        assert!(doctests.methods.is_empty() && doctests.failed_methods.is_empty(), "{file}");
    }
    for (file, input) in [
        ("3.11.2-seq-R-v", include_str!("../../tests/data/regrtest/3.11.2-seq-R-verbose-late-doctest.txt")),
        ("3.11.2-j2-R-v", include_str!("../../tests/data/regrtest/3.11.2-j2-R-verbose-late-doctest.txt")),
        ("3.13.5-j2-R-v", include_str!("../../tests/data/regrtest/3.13.5-j2-R-verbose-late-doctest.txt")),
    ] {
        let run = parse(input, true);
        let doctests = test(&run, "test_doctest_fails");
        assert_eq!(doctests.outcome, Some(Outcome::Failed), "{file}");
        assert_eq!(doctests.failed_methods, ["bad (test_doctest_fails)"], "{file}");
        let got: Vec<_> =
            doctests.methods.iter().map(|m| (m.class.as_str(), m.name.as_str(), m.outcome, m.doctest)).collect();
        assert_eq!(
            got,
            [
                ("test_doctest_fails", "bad", MethodOutcome::Failed, true),
                ("test_doctest_fails", "good", MethodOutcome::Passed, true)
            ],
            "{file}"
        );
        let traceback = doctests.methods[0].traceback.as_deref().unwrap_or_default();
        assert!(traceback.starts_with("Traceback (most recent call last):\n"), "{file}: {traceback}");
        assert!(traceback.ends_with(REPORT), "{file}: {traceback}");
        assert!(!traceback.contains("Ran 2 tests"), "{file}: {traceback}");
    }
    // Only a description whose `Doctest:` line follows is a doctest's; a module's own
    // docstring has no dotted path before its name.
    let run = parse(
        "0:00:00 load avg: 0.10 [1/1] test_d\n\
         odd (test_d)\n\
         Doctest: test_d.other ... ok\n\
         test_d ()\n\
         Doctest: test_d ... ok\n\
         meth (test_d.Cls)\n\
         Doctest: test_d.Cls.meth ... \n\
         output\n\
         FAIL\n\
         \n\
         ======================================================================\n\
         FAIL: meth (test_d.Cls)\n\
         Doctest: test_d.Cls.meth\n\
         ----------------------------------------------------------------------\n\
         Traceback (most recent call last):\n\
         AssertionError: Failed doctest test for test_d.Cls.meth\n\
         \n\
         ----------------------------------------------------------------------\n\
         File \"/t/test_d.py\", line 5, in test_d.Cls.meth\n\
         Failed example:\n\
         \x20   f()\n\
         ----------------------------------------------------------------------\n\
         File \"/t/test_d.py\", line 7, in test_d.Cls.meth\n\
         Failed example:\n\
         \x20   g()\n\
         \n\
         ======================================================================\n\
         FAIL: plain (test_d)\n\
         ----------------------------------------------------------------------\n\
         Traceback (most recent call last):\n\
         AssertionError\n\
         \n\
         ----------------------------------------------------------------------\n\
         Ran 3 tests in 0.001s\n",
        false,
    );
    let got: Vec<_> =
        test(&run, "test_d").methods.iter().map(|m| (m.class.as_str(), m.name.as_str(), m.outcome)).collect();
    assert_eq!(got, [("", "test_d", MethodOutcome::Passed), ("test_d.Cls", "meth", MethodOutcome::Failed)]);
    let traceback = test(&run, "test_d").methods[1].traceback.as_deref().unwrap_or_default();
    assert!(traceback.ends_with("line 5, in test_d.Cls.meth\nFailed example:\n    f()\n----------------------------------------------------------------------\nFile \"/t/test_d.py\", line 7, in test_d.Cls.meth\nFailed example:\n    g()"), "{traceback}");
    assert_eq!(test(&run, "test_d").failed_methods, ["meth (test_d.Cls)", "plain (test_d)"]);
}

/// The doctests of the `test_doctest_keys` fixture (`c/regrtest`) as every version's `-v`
/// output gives them: (class, name, outcome, doctest).
fn doctest_keys_methods() -> Vec<(&'static str, &'static str, MethodOutcome, bool)> {
    use MethodOutcome::*;
    const KEYS: &str = "test_doctest_keys.__test__";
    vec![
        (KEYS, "K.method", Failed, true),
        (KEYS, "a.b", Failed, true),
        (KEYS, "dotted.key with space", Passed, true),
        (KEYS, "plain", Passed, true),
        (KEYS, "twice.twice", Failed, true),
        (KEYS, "with (parens)", Passed, true),
        (KEYS, "with space", Failed, true),
    ]
}

/// Doctests of a module's `__test__` dict, whose keys hold dots, spaces and parentheses:
/// doctest names each `MODULE.__test__.KEY`, and unittest's description splits that name at
/// its last dot (`b (test_doctest_keys.__test__.a)`, `with space (test_doctest_keys.__test__)`),
/// so the key is read whole from the `Doctest:` line: `name` the key, `class` the module's
/// `__test__` (a class given there has its methods' as `KEY.method`). "twice.twice" reads like
/// a unittest method (`twice (test_doctest_keys.__test__.twice)`) until its `Doctest:` line.
/// Without -v, a single failing doctest's traceback names it whole.
#[test]
fn golden_doctests_of_a_test_dict_are_named_by_their_whole_key() {
    use MethodOutcome::*;
    const KEY_FAILS: &str = "test_doctest_key_fails.__test__";
    let report = |example: &str, expected: &str, got: &str| {
        format!("Failed example:\n    {example}\nExpected:\n    {expected}\nGot:\n    {got}")
    };
    for (file, input) in [
        ("3.11.2-seq-v", include_str!("../../tests/data/regrtest/3.11.2-seq-verbose-doctest-keys.txt")),
        ("3.13.5-j2-R-v", include_str!("../../tests/data/regrtest/3.13.5-j2-R-verbose-doctest-keys.txt")),
    ] {
        let run = parse(input, true);
        let keys = test(&run, "test_doctest_keys");
        let got: Vec<_> =
            keys.methods.iter().map(|m| (m.class.as_str(), m.name.as_str(), m.outcome, m.doctest)).collect();
        assert_eq!(got, doctest_keys_methods(), "{file}");
        assert_eq!(
            keys.failed_methods,
            [
                "method (test_doctest_keys.__test__.K)",
                "b (test_doctest_keys.__test__.a)",
                "twice (test_doctest_keys.__test__.twice)",
                "with space (test_doctest_keys.__test__)"
            ],
            "{file}"
        );
        let traceback = |name: &str| {
            keys.methods.iter().find(|m| m.name == name).and_then(|m| m.traceback.clone()).unwrap_or_default()
        };
        assert!(traceback("K.method").ends_with(&report("2 * 2", "5", "4")), "{file}: {}", traceback("K.method"));
        assert!(traceback("a.b").ends_with(&report("1 + 1", "3", "2")), "{file}: {}", traceback("a.b"));
        assert!(traceback("with space").ends_with(&report("2 + 1", "4", "3")), "{file}");
        assert!(traceback("twice.twice").ends_with(&report("5 + 1", "7", "6")), "{file}");
        assert_eq!(
            methods(&run, "test_doctest_key_fails"),
            [(KEY_FAILS, "ok", Passed, None), (KEY_FAILS, "one.failing key", Failed, None)],
            "{file}"
        );
    }
    for (file, input) in [
        ("3.11.2-seq", include_str!("../../tests/data/regrtest/3.11.2-seq-doctest-keys.txt")),
        ("3.13.5-j2-R", include_str!("../../tests/data/regrtest/3.13.5-j2-R-doctest-keys.txt")),
    ] {
        let run = parse(input, true);
        let fails = test(&run, "test_doctest_key_fails");
        assert_eq!(fails.outcome, Some(Outcome::Failed), "{file}");
        assert_eq!(fails.traceback_method.as_deref(), Some("one.failing key"), "{file}");
        assert!(fails.traceback.as_deref().unwrap_or_default().ends_with(&report("1 + 1", "3", "2")), "{file}");
        assert!(fails.methods.is_empty(), "{file}");
        let keys = test(&run, "test_doctest_keys");
        assert_eq!(keys.outcome, Some(Outcome::Failed), "{file}");
        assert!(keys.methods.is_empty() && keys.traceback_method.is_none(), "{file}");
    }
}

/// Tests that print lines like regrtest's for themselves: a result line (`test_x passed`,
/// `test_x failed (reference leak)`), `test test_x failed` and a failing leak line. regrtest's
/// own word decides: its result line printed after the test's output, its silence about a
/// test that passed quickly (the next progress line names no result), and the summary's
/// lists, which name every test that failed.
#[test]
fn golden_lines_a_test_prints_like_regrtests_do_not_decide_its_outcome() {
    let leak_lines = "test_imitates_leak_lines";
    let result_line = "test_imitates_result_line";
    for (file, input) in [
        ("3.11.2-seq-R", include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitations.txt")),
        ("3.11.2-seq-R-last", include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitations-last.txt")),
        ("3.13.5-seq-R", include_str!("../../tests/data/regrtest/3.13.5-seq-R-imitations.txt")),
        ("3.13.5-seq-R-last", include_str!("../../tests/data/regrtest/3.13.5-seq-R-imitations-last.txt")),
    ] {
        let run = parse(input, true);
        let imitates = test(&run, result_line);
        assert_eq!(imitates.outcome, Some(Outcome::Failed), "{file}");
        assert_eq!(imitates.result_text.as_deref(), Some("test_imitates_result_line failed (1 failure)"), "{file}");
        let leaks = test(&run, leak_lines);
        assert_eq!(leaks.outcome, Some(Outcome::Passed), "{file}");
        assert_ne!(leaks.result_text.as_deref(), Some("test_imitates_leak_lines failed (reference leak)"), "{file}");
    }
    // Before the summary, regrtest's silence about a test it announced the next one after
    // says that it passed.
    let input = include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitations.txt");
    let cut = &input[..input.find("test_imitates_result_line passed").unwrap()];
    assert_eq!(outcome(&parse(cut, false), leak_lines), Outcome::Passed);
    // Without the summary's last lines its lists may be cut short: an unlisted test's
    // failure stands.
    let input = include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitations-last.txt");
    let cut = &input[..input.find("Total duration").unwrap()];
    assert_eq!(outcome(&parse(cut, false), leak_lines), Outcome::ReferenceLeak);
}

/// A test printing leak lines of every kind for itself, in every repetition (stdout and
/// stderr), has none of regrtest's: those come after the marks of the last repetition, as
/// the really leaking test's do.
#[test]
fn golden_leak_lines_a_test_prints_are_not_regrtests() {
    for (file, input) in [
        ("3.11.2-seq", include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitated-kinds.txt")),
        ("3.11.2-j2", include_str!("../../tests/data/regrtest/3.11.2-j2-R-imitated-kinds.txt")),
        ("3.13.5-seq", include_str!("../../tests/data/regrtest/3.13.5-seq-R-imitated-kinds.txt")),
        ("3.13.5-j2", include_str!("../../tests/data/regrtest/3.13.5-j2-R-imitated-kinds.txt")),
    ] {
        let run = parse(input, true);
        let imitates = test(&run, "test_imitates_leak_kinds");
        assert_eq!(imitates.outcome, Some(Outcome::Passed), "{file}");
        assert_eq!(
            (&imitates.references, &imitates.memory_blocks, &imitates.file_descriptors),
            (&None, &None, &None),
            "{file}"
        );
        let leaks = test(&run, "test_reflonly");
        assert_eq!(leaks.outcome, Some(Outcome::ReferenceLeak), "{file}");
        assert_eq!(leaks.references, leak(&[1, 1, 1], 3, true), "{file}");
    }
    // Lines the test printed before its repetitions' marks ended, and none after them:
    // without the line ending them, what came is believed.
    let input = include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitated-kinds.txt");
    let cut = &input[..input.find("\n.\n").unwrap()];
    assert_eq!(test(&parse(cut, false), "test_imitates_leak_kinds").references, leak(&[7, 7, 7], 21, true));
    // A test named twice keeps the first attempt's leak lines until it prints its own.
    let mut p = Parser::new();
    for line in [
        "0:00:00 load avg: 0.00 [1/2] test_a",
        "beginning 2 repetitions",
        "12",
        "..",
        "test_a leaked [1] references, sum=1",
        "0:00:01 load avg: 0.00 [2/2] test_a -- test_a failed (reference leak)",
        "beginning 2 repetitions",
        "12",
        ".test_a leaked [5] memory blocks, sum=5",
        ".",
    ] {
        p.feed_line(line.as_bytes());
    }
    let run = p.finish(false);
    assert_eq!(test(&run, "test_a").references, leak(&[1], 1, true));
    assert_eq!(test(&run, "test_a").memory_blocks, None);
}

#[test]
fn golden_3_11_2_worker_killed_by_its_timeout() {
    let run = parse(include_str!("../../tests/data/regrtest/3.11.2-j2-timeout.txt"), true);
    assert_eq!(outcome(&run, "test_hang"), Outcome::TimedOut);
    assert_eq!(test(&run, "test_hang").result_text.as_deref(), Some("test_hang crashed (Exit code 1)"));
    let dump = test(&run, "test_hang").faulthandler.as_deref().unwrap_or_default();
    assert!(dump.starts_with("Timeout (0:00:02)!\nThread 0x"), "{dump}");
    assert!(dump.contains("test_hang.py\", line 4 in test_hang\n"), "{dump}");
    assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
}

/// Only a worker that exited with faulthandler's code 1 after faulthandler's `Timeout` line
/// timed out; a worker bug stays one.
#[test]
fn a_worker_timed_out_only_by_faulthandler_s_exit() {
    let run = parse(
        "0:00:00 load avg: 0.00 Run 3 tests in parallel using 2 child processes\n\
         0:00:03 load avg: 0.00 [1/3/1] test_a crashed (Exit code 1)\n\
         Timeout (0:00:03)!\n\
         Thread 0x00007f0e0a0c6b80 (most recent call first):\n  File \"/t/test_a.py\", line 4 in test_a\n\
         0:00:03 load avg: 0.00 [2/3/2] test_b crashed (Exit code -9)\n\
         Timeout (0:00:03)!\n\
         0:00:03 load avg: 0.00 [3/3/3] test_c worker bug (Failed to parse worker process JSON: x)\n",
        false,
    );
    assert_eq!(outcome(&run, "test_a"), Outcome::TimedOut);
    assert_eq!(test(&run, "test_a").faulthandler.as_deref().map(|d| d.lines().count()), Some(3));
    assert_eq!(outcome(&run, "test_b"), Outcome::Crashed);
    assert_eq!(test(&run, "test_b").faulthandler.as_deref(), Some("Timeout (0:00:03)!"));
    assert_eq!(outcome(&run, "test_c"), Outcome::WorkerFailed);
}

#[test]
fn golden_3_13_0_release_build_cannot_hunt_refleaks() {
    let run = parse(include_str!("../../tests/data/regrtest/3.13.0-seq-R-release-build.txt"), true);
    assert_eq!(outcome(&run, "test_ok"), Outcome::UncaughtException);
    assert_eq!(outcome(&run, "test_reflonly"), Outcome::UncaughtException);
    let summary = run.summary.expect("summary");
    assert_eq!(summary.result.as_deref(), Some("FAILURE"));
    assert_eq!(summary.total_tests, Some(2));
}

/// Real 3.13.0 `refleak.py` output; only the counter behind `sys.gettotalrefcount` was a
/// stand-in (a release build lacks it), see `tests/data/regrtest/README.md`.
#[test]
fn golden_3_13_0_refleak_format_with_this_is_fine() {
    for (file, input) in [
        ("seq", include_str!("../../tests/data/regrtest/3.13.0-seq-R-fakerefcount.txt")),
        ("j2", include_str!("../../tests/data/regrtest/3.13.0-j2-R-fakerefcount.txt")),
    ] {
        let run = parse(input, true);
        let leaky = test(&run, "test_leaky");
        assert_eq!(leaky.outcome, Some(Outcome::ReferenceLeak), "{file}");
        assert_eq!(leaky.references, leak(&[1, 1, 1], 3, true), "{file}");
        assert_eq!(leaky.memory_blocks, leak(&[5, 5, 5], 15, true), "{file}");
        assert_eq!(leaky.file_descriptors, leak(&[1, 1, 1], 3, true), "{file}");
        assert_eq!(leaky.repetitions, Some(6), "{file}");
        let fine = test(&run, "test_fine");
        assert_eq!(fine.outcome, Some(Outcome::Passed), "{file}");
        assert_eq!(fine.references, leak(&[1, 0, 0], 1, false), "{file}");
        assert_eq!(fine.memory_blocks, leak(&[2, 0, 0], 2, false), "{file}");
        assert_eq!(outcome(&run, "test_failing"), Outcome::Failed, "{file}");
        assert_eq!(outcome(&run, "test_ok"), Outcome::Passed, "{file}");
    }
}

// --- Hand-built lines from the 3.12-3.14 sources -------------------------------------------

#[test]
fn parallel_progress_3_13_with_running_suffix() {
    let mut p = Parser::new();
    p.feed_line(b"0:00:00 load avg: 1.50 Run 40 tests in parallel using 4 worker processes (timeout: 20 min, worker timeout: 25 min)\n");
    p.feed_line(b"0:00:30 load avg: 1.50 running (2): test_y (30.0 sec), test_z (30.1 sec)\n");
    assert_eq!(p.current_test(), None, "two running");
    p.feed_line(b"0:01:02 load avg: 1.50 [ 3/40/1] test_x failed (2 errors, 1 failure) (1 min 2 sec) -- running (1): test_y (45.1 sec)\n");
    assert_eq!(p.current_test(), Some("test_y"));
    p.feed_line(b"ERROR: test_q (test.test_x.T.test_q)\n"); // no separator before it
    p.feed_line(b"======================================================================\n");
    p.feed_line(b"FAIL: test_foo (test.test_x.TestClass.test_foo) [subtest 1]\n");
    p.feed_line(b"0:01:30 load avg: 1.50 running (1): test_y (1 min 30 sec)\n");
    assert_eq!(p.current_test(), Some("test_y"));
    let run = p.finish(false);
    let x = test(&run, "test_x");
    assert_eq!(x.outcome, Some(Outcome::Failed));
    assert_eq!(x.result_text.as_deref(), Some("test_x failed (2 errors, 1 failure)"));
    assert_eq!(x.failed_methods, strings(&["test_foo (test.test_x.TestClass.test_foo) [subtest 1]"]));
    // Without `-v`, the headers are all that names methods.
    assert_eq!(methods(&run, "test_x"), [("test.test_x.TestClass", "test_foo", MethodOutcome::Failed, None)]);
    assert_eq!(outcome(&run, "test_y"), Outcome::Unknown);
    assert_eq!(outcome(&run, "test_z"), Outcome::Unknown);
    assert_eq!(run.summary, None);
}

#[test]
fn sequential_progress_with_previous_result_and_duration() {
    let mut p = Parser::new();
    p.feed_line(b"0:00:00 load avg: 0.10 Run 3 tests sequentially in a single process\n");
    p.feed_line(b"0:00:00 load avg: 0.10 [1/3] test_a\n");
    assert_eq!(p.current_test(), Some("test_a"));
    p.feed_line(b"0:01:02 load avg: 0.10 [2/3] test_b -- test_a passed in 1 min 2 sec\n");
    assert_eq!(p.current_test(), Some("test_b"));
    p.feed_line(b"0:01:03 load avg: 0.10 [3/3/1] test_c -- test_b failed (env changed)\n");
    p.feed_line(b"test_c timed out (20 min)\n");
    assert_eq!(p.current_test(), None);
    let run = p.finish(false);
    assert_eq!(test(&run, "test_a").result_text.as_deref(), Some("test_a passed"));
    assert_eq!(outcome(&run, "test_b"), Outcome::EnvChanged);
    assert_eq!(outcome(&run, "test_c"), Outcome::TimedOut);
}

#[test]
fn colours_of_3_14_are_stripped() {
    let input = concat!(
        "0:00:00 load avg: 0.10 Run 2 tests sequentially in a single process\n",
        "0:00:00 load avg: 0.10 [1/2] test_a\n",
        "0:00:05 load avg: 0.10 [2/2/1] test_b -- \x1b[1;31m\x1b[1;31mtest_a failed (1 error)\x1b[0m\x1b[0m\r\n",
        "beginning 6 repetitions. Showing number of leaks (. for 0 or less, X for 10 or more)\n",
        "123:456\n",
        "XX. 111\n",
        "test_b leaked [1, 1, 1] references, sum=3\n",
        "\x1b[1;31mtest_b failed (reference leak)\x1b[0m\n",
        "\n",
        "== Tests result: \x1b[1;31mFAILURE\x1b[0m ==\n",
        "\n",
        "\x1b[1;31m2 tests failed:\x1b[0m\n",
        "    test_a test_b\n",
        "\n",
        "Total duration: 5.1 sec\n",
        "Total tests: run=10 failures=1\n",
        "Total test files: run=2/2 failed=2\n",
        "Result: \x1b[1;31mFAILURE\x1b[0m\n",
    );
    let run = parse(input, true);
    assert_eq!(outcome(&run, "test_a"), Outcome::Failed);
    assert_eq!(test(&run, "test_a").result_text.as_deref(), Some("test_a failed (1 error)"));
    assert_eq!(outcome(&run, "test_b"), Outcome::ReferenceLeak);
    assert_eq!(test(&run, "test_b").references, leak(&[1, 1, 1], 3, true));
    let summary = run.summary.expect("summary");
    assert_eq!(summary.result.as_deref(), Some("FAILURE"));
    assert_eq!(summary.failed, strings(&["test_a", "test_b"]));
    assert_eq!(summary.total_tests, Some(2));
}

#[test]
fn summary_lists_wrap_and_all_ok() {
    let input = concat!(
        "0:00:00 load avg: 0.10 Run 30 tests sequentially\n",
        "0:00:00 load avg: 0.10 [ 1/30] test_a\n",
        "\n",
        "== Tests result: SUCCESS ==\n",
        "\n",
        "All 30 tests OK.\n",
        "\n",
        "3 tests skipped:\n",
        "    test_devpoll test_kqueue test_launcher test_msilib test_startfile\n",
        "    test_winconsoleio\n",
        "\n",
        "2 tests omitted:\n",
        "    test_x test_y\n",
        "Total duration: 2 min 3 sec\n",
        "Result: SUCCESS\n",
    );
    let run = parse(input, true);
    let summary = run.summary.clone().expect("summary");
    assert_eq!(summary.skipped.len(), 6, "names over two wrapped lines");
    assert_eq!(summary.omitted, strings(&["test_x", "test_y"]));
    assert_eq!(summary.passed_count, Some(30));
    assert_eq!(summary.total_tests, Some(30));
    assert_eq!(summary.total_duration.as_deref(), Some("2 min 3 sec"));
    assert_eq!(outcome(&run, "test_a"), Outcome::Passed);
    // Tests named only by the summary are reported too, omitted ones as never run.
    assert_eq!(outcome(&run, "test_winconsoleio"), Outcome::Skipped);
    assert_eq!(outcome(&run, "test_x"), Outcome::NotRun);
}

/// The tests of the quiet runs below, as their command lines named them.
const QUIET_SELECTED: [&str; 6] =
    ["test_ok", "test_reflonly", "test_failing", "test_skipme", "test_resdenied", "test_envchange"];

/// Quiet mode prints no result string: the summary lists a reference leak as failed, and
/// the leak lines say why. Skipped tests are named nowhere, nor counted by 3.11.2.
#[test]
fn golden_3_11_2_quiet_mode_reference_leak_and_unnamed_skips() {
    let run = parse(include_str!("../../tests/data/regrtest/3.11.2-quiet-R.txt"), true);
    assert_eq!(names(&run), ["test_reflonly", "test_failing", "test_envchange"]);
    assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
    assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
    assert_eq!(outcome(&run, "test_envchange"), Outcome::EnvChanged);
    let skipped = run.quiet_skipped(&strings(&QUIET_SELECTED), &["test_ok"]);
    let skipped: Vec<(&str, Option<Outcome>)> = skipped.iter().map(|(t, _)| (t.name.as_str(), t.outcome)).collect();
    assert_eq!(skipped, [("test_skipme", Some(Outcome::Skipped)), ("test_resdenied", Some(Outcome::Skipped))]);
    let (_, note) = &run.quiet_skipped(&strings(&["test_skipme"]), &[])[0];
    assert!(note.contains("does not tell which"), "{note}");
}

/// Quiet mode announces no test, so a leak line naming any test is read; but regrtest lists
/// every test that leaked as failed. In real runs whose summary lists none, the leak lines
/// tests printed (for another test, `test_ghost`, and for themselves) make no test and no leak.
#[test]
fn quiet_mode_leak_lines_the_summary_does_not_list_are_the_tests_own() {
    for input in [
        include_str!("../../tests/data/regrtest/3.11.2-quiet-R-imitations.txt"),
        include_str!("../../tests/data/regrtest/3.13.5-quiet-R-imitations.txt"),
    ] {
        let run = parse(input, true);
        assert!(run.tests.is_empty(), "{:#?}", run.tests);
        assert_eq!(run.summary.and_then(|s| s.result).as_deref(), Some("SUCCESS"));
    }
    // A real leak in quiet mode is listed, and kept.
    let run = parse(include_str!("../../tests/data/regrtest/3.11.2-quiet-R.txt"), true);
    assert_eq!(test(&run, "test_reflonly").references, leak(&[1, 1, 1], 3, true));
    // Without any of regrtest's lines no regrtest ran: a leak line is anybody's.
    let run = parse("test_fake leaked [1, 1, 1] references, sum=3\n", true);
    assert!(run.tests.is_empty(), "{:#?}", run.tests);
}

/// Quiet mode announces no test, and a test whose import failed (before its `-R` repetitions)
/// prints no leak line: before the summary only regrtest's `test X crashed -- Traceback ...`
/// names it, sequentially and as a `-j` worker's result relayed. That line makes the test, with
/// its outcome and traceback, also when the run ends before its summary (a later test's
/// `os._exit` ends the sequential regrtest; a `-j1` worker's test kills the main process; or the
/// output cut there); the summary, when it comes, agrees.
#[test]
fn quiet_mode_names_a_test_that_failed_at_import_by_regrtests_crashed_line() {
    let seq = include_str!("../../tests/data/regrtest/3.11.2-quiet-R-import-fails.txt");
    let j2 = include_str!("../../tests/data/regrtest/3.13.5-j2-quiet-R-import-fails.txt");
    let before_summary = |text: &'static str| &text[..text.find("== Tests result").expect("a summary")];
    for (file, input, completed) in [
        ("3.11.2-quiet-R", seq, true),
        ("3.11.2-quiet-R, cut", before_summary(seq), false),
        (
            "3.11.2-quiet-R, os._exit",
            include_str!("../../tests/data/regrtest/3.11.2-quiet-R-import-fails-exit.txt"),
            true,
        ),
        (
            "3.11.2-j1-quiet-R, killed",
            include_str!("../../tests/data/regrtest/3.11.2-j1-quiet-R-import-fails-kill.txt"),
            false,
        ),
        ("3.13.5-j2-quiet-R", j2, true),
        ("3.13.5-j2-quiet-R, cut", before_summary(j2), false),
    ] {
        let run = parse(input, completed);
        assert_eq!(names(&run), ["test_import_fails"], "{file}");
        let failed = test(&run, "test_import_fails");
        assert_eq!(failed.outcome, Some(Outcome::UncaughtException), "{file}");
        let traceback = failed.traceback.as_deref().unwrap_or_default();
        assert!(
            traceback.starts_with("Traceback (most recent call last):\n") && traceback.ends_with("ImportError: boom"),
            "{file}: {traceback}"
        );
        assert_eq!(failed.traceback_method, None, "{file}: a crash's first frames are regrtest's");
        assert_eq!(run.summary.is_some(), completed && !file.contains("os._exit"), "{file}");
    }
}

/// A test's own output can print quiet mode's `test X failed -- ...` for any name: a test only
/// that line made is none when a whole summary printed after it does not list it (the real
/// imitations are in `quiet_mode_leak_lines_the_summary_does_not_list_are_the_tests_own`), nor
/// where no regrtest ran; the summary's word stands for a test it lists otherwise. Before the
/// summary nothing tells the line from regrtest's.
#[test]
fn quiet_mode_failure_lines_a_summary_does_not_list_make_no_test() {
    let imitation = concat!(
        "0:00:00 load avg: 0.10 Run tests sequentially\n",
        "test test_ghost crashed -- Traceback (most recent call last):\n",
        "  File \"/tmp/t/test_ghost.py\", line 1, in <module>\n",
        "ImportError: boom\n",
        "\n",
    );
    let summary = concat!(
        "== Tests result: SUCCESS ==\n",
        "\n",
        "2 tests OK.\n",
        "\n",
        "Total duration: 1 sec\n",
        "Tests result: SUCCESS\n",
    );
    let run = parse(&format!("{imitation}{summary}"), true);
    assert!(run.tests.is_empty(), "{:#?}", run.tests);
    let run = parse(imitation.strip_prefix("0:00:00 load avg: 0.10 Run tests sequentially\n").unwrap(), true);
    assert!(run.tests.is_empty(), "no regrtest ran: {:#?}", run.tests);
    let run = parse(imitation, false);
    assert_eq!(names(&run), ["test_ghost"]);
    assert_eq!(outcome(&run, "test_ghost"), Outcome::UncaughtException);

    // Listed (as env changed): a test of regrtest's, in the line's place.
    let listed = concat!(
        "== Tests result: ENV CHANGED ==\n",
        "\n",
        "1 test altered the execution environment:\n",
        "    test_ghost\n",
        "\n",
        "Total duration: 1 sec\n",
        "Tests result: ENV CHANGED\n",
    );
    let run = parse(&format!("{imitation}{listed}"), true);
    assert_eq!(names(&run), ["test_ghost"]);
    // With progress lines the line names only a test regrtest announced.
    let run = parse(
        concat!(
            "0:00:00 load avg: 0.10 Run tests sequentially\n",
            "0:00:00 load avg: 0.10 [1/1] test_a\n",
            "test test_ghost failed -- boom\n",
        ),
        false,
    );
    assert_eq!(names(&run), ["test_a"]);
}

/// 3.13 counts what it does not name: one skipped and one denied a resource, which is
/// which it does not say.
#[test]
fn golden_3_13_5_quiet_mode_reference_leak_and_counted_skips() {
    let run = parse(include_str!("../../tests/data/regrtest/3.13.5-quiet-R.txt"), true);
    assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
    assert_eq!(test(&run, "test_reflonly").references, leak(&[1, 1, 1], 3, true));
    assert_eq!(outcome(&run, "test_failing"), Outcome::Failed);
    let summary = run.summary.as_ref().expect("summary");
    assert_eq!((summary.skipped_count, summary.resource_denied_count), (Some(1), Some(1)));
    let skipped = run.quiet_skipped(&strings(&QUIET_SELECTED), &["test_ok"]);
    let outcomes: Vec<(&str, Option<Outcome>)> = skipped.iter().map(|(t, _)| (t.name.as_str(), t.outcome)).collect();
    assert_eq!(outcomes, [("test_skipme", Some(Outcome::Skipped)), ("test_resdenied", Some(Outcome::Skipped))]);
    assert!(skipped[0].1.contains("does not tell which"), "{}", skipped[0].1);

    // Only skipped (the last test's leak has no result line either), or only denied.
    let run = parse(include_str!("../../tests/data/regrtest/3.13.5-quiet-R-skip.txt"), true);
    assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
    let skipped = run.quiet_skipped(&strings(&["test_ok", "test_skipme", "test_reflonly"]), &["test_ok"]);
    assert_eq!(skipped.len(), 1);
    assert_eq!((skipped[0].0.name.as_str(), skipped[0].0.outcome), ("test_skipme", Some(Outcome::Skipped)));
    assert!(!skipped[0].1.contains("does not tell"), "{}", skipped[0].1);
    let run = parse(include_str!("../../tests/data/regrtest/3.13.5-quiet-R-resdenied.txt"), true);
    let skipped = run.quiet_skipped(&strings(&["test_ok", "test_resdenied"]), &["test_ok"]);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].0.outcome, Some(Outcome::ResourceDenied));
}

/// Only quiet output with its summary: a run with progress lines names every test, and one
/// without its summary may have stopped anywhere. A package whose modules ran is no test.
#[test]
fn quiet_skips_need_quiet_output_with_its_summary() {
    let quiet = include_str!("../../tests/data/regrtest/3.13.5-quiet-R-skip.txt");
    let selected = strings(&["test_ok", "test_skipme", "test_asyncio"]);
    let cut = quiet.find("== Tests result").expect("a summary");
    assert!(parse(&quiet[..cut], true).quiet_skipped(&selected, &["test_ok"]).is_empty());
    let run = parse(include_str!("../../tests/data/regrtest/3.13.5-seq-R-sigint.txt"), true);
    assert!(run.quiet_skipped(&selected, &[]).is_empty(), "progress lines name every test");
    let run = parse(quiet, true);
    let skipped = run.quiet_skipped(&selected, &["test_ok", "test_asyncio.test_tasks"]);
    let names: Vec<&str> = skipped.iter().map(|(t, _)| t.name.as_str()).collect();
    assert_eq!(names, ["test_skipme"]);
}

#[test]
fn quiet_mode_summary_only() {
    let input = concat!(
        "test_x leaked [3, 3, 3] references, sum=9\n",
        "== Tests result: FAILURE ==\n",
        "\n",
        "10 tests OK.\n",
        "\n",
        "1 test failed:\n",
        "    test_x\n",
        "\n",
        "1 test altered the execution environment (env changed):\n",
        "    test_y\n",
        "\n",
        "1 test run no tests:\n",
        "    test_z\n",
    );
    let run = parse(input, true);
    assert_eq!(outcome(&run, "test_x"), Outcome::ReferenceLeak, "failed for its leak");
    assert_eq!(test(&run, "test_x").references, leak(&[3, 3, 3], 9, true));
    assert_eq!(outcome(&run, "test_y"), Outcome::EnvChanged);
    assert_eq!(outcome(&run, "test_z"), Outcome::RanNoTests);
    assert_eq!(run.summary.and_then(|s| s.total_tests), Some(13));
}

#[test]
fn interrupted_sequential_run() {
    let input = concat!(
        "0:00:00 load avg: 0.10 Run tests sequentially\n",
        "0:00:00 load avg: 0.10 [1/5] test_a\n",
        "0:00:01 load avg: 0.10 [2/5] test_b\n",
        "\n",
        "\n",
        "== Tests result: INTERRUPTED ==\n",
        "Test suite interrupted by signal SIGINT.\n",
        "\n",
        "3 tests omitted:\n",
        "    test_c test_d test_e\n",
        "\n",
        "1 test OK.\n",
        "Total duration: 1.5 sec\n",
        "Tests result: INTERRUPTED\n",
    );
    let run = parse(input, true);
    assert_eq!(outcome(&run, "test_a"), Outcome::Passed);
    assert_eq!(outcome(&run, "test_b"), Outcome::Interrupted);
    assert!(run.summary.expect("summary").interrupted);
}

/// SIGINT: regrtest lists the tests it never started as omitted (with the interrupted
/// one, which keeps its outcome), sequentially, in quiet mode and with `-j`.
#[test]
fn golden_tests_a_sigint_left_unstarted_are_not_run() {
    // 3.11.2's quiet output counts the test that passed nowhere.
    for (input, interrupted, total) in [
        (include_str!("../../tests/data/regrtest/3.11.2-seq-R-sigint.txt"), Some("test_sleep"), 4),
        (include_str!("../../tests/data/regrtest/3.13.5-seq-R-sigint.txt"), Some("test_sleep"), 4),
        (include_str!("../../tests/data/regrtest/3.11.2-quiet-R-sigint.txt"), None, 3),
        (include_str!("../../tests/data/regrtest/3.13.5-quiet-R-sigint.txt"), None, 4),
    ] {
        let run = parse(input, true);
        assert_eq!(outcome(&run, "test_reflonly"), Outcome::NotRun);
        assert_eq!(outcome(&run, "test_skipme"), Outcome::NotRun);
        match interrupted {
            Some(name) => {
                assert_eq!(outcome(&run, name), Outcome::Interrupted);
                assert_eq!(outcome(&run, "test_ok"), Outcome::Passed);
            }
            // Quiet: the interrupted test is named only as omitted.
            None => assert_eq!(outcome(&run, "test_sleep"), Outcome::NotRun),
        }
        assert_eq!(run.summary.and_then(|s| s.total_tests), Some(total));
    }
    for input in [
        include_str!("../../tests/data/regrtest/3.11.2-j2-R-sigint.txt"),
        include_str!("../../tests/data/regrtest/3.13.5-j2-R-sigint.txt"),
    ] {
        let run = parse(input, true);
        assert_eq!(outcome(&run, "test_sleep"), Outcome::NotRun, "the worker's test, named only as omitted");
        assert_eq!(outcome(&run, "test_reflonly"), Outcome::ReferenceLeak);
        assert_eq!(run.tests.len(), 6);
    }
}

#[test]
fn forever_mode_counts_attempts() {
    let mut p = Parser::new();
    for line in ["0:00:00 [  1] test_a", "0:00:00 [  2] test_a", "0:00:00 [  3] test_a -- test_a failed (1 failure)"] {
        p.feed_line(line.as_bytes());
    }
    let run = p.finish(false);
    let a = test(&run, "test_a");
    assert_eq!(a.attempts, 3);
    assert_eq!(a.outcome, Some(Outcome::Unknown));
}

#[test]
fn pgo_prints_only_the_final_lines() {
    let input = "0:00:00 [1/2] test_a\n0:00:01 [2/2] test_b\n\nTotal duration: 1.0 sec\nTests result: SUCCESS\n";
    let run = parse(input, true);
    assert_eq!(outcome(&run, "test_b"), Outcome::Passed);
    assert_eq!(run.summary.and_then(|s| s.result), Some("SUCCESS".to_owned()));
}

#[test]
fn lookalike_lines_in_test_output_are_not_believed() {
    let input = concat!(
        "0:00:00 load avg: 0.10 Run 1 test sequentially\n",
        "0:00:00 load avg: 0.10 [1/1] test_a\n",
        "test_b passed\n",          // not the current test
        "running: this is prose\n", // not a running list
        "3 tests failed:\n",        // no summary block open
        "    test_q\n",
        "Result: FAILURE\n",             // no summary yet
        "FAIL: test_zz (x.Y.test_zz)\n", // no separator line before it
        "test_a skipped -- a reason\n",  // the test's own skip message is not a result
    );
    let mut p = Parser::new();
    for line in input.lines() {
        p.feed_line(line.as_bytes());
    }
    assert_eq!(p.current_test(), Some("test_a"));
    let run = p.finish(true);
    assert_eq!(names(&run), ["test_a"]);
    assert_eq!(outcome(&run, "test_a"), Outcome::Unknown, "no summary was printed");
    assert!(test(&run, "test_a").failed_methods.is_empty());
    assert_eq!(run.summary, None);
}

#[test]
fn leak_line_glued_to_test_output() {
    let mut p = Parser::new();
    p.feed_line(b"0:00:00 load avg: 0.10 [1/1] test.test_os\n");
    p.feed_line(b"beginning 10 repetitions\n");
    p.feed_line(b"some output without newline...test.test_os leaked [0, 1, 2, -1] file descriptors, sum=2\n");
    let run = p.finish(false);
    let os = test(&run, "test.test_os");
    assert_eq!(os.file_descriptors, leak(&[0, 1, 2, -1], 2, true));
    assert_eq!(os.repetitions, Some(10));
    assert_eq!(run.tests.len(), 1);
}

// --- Hostile input -------------------------------------------------------------------------

#[test]
fn hostile_lines_do_not_panic() {
    let mut huge = b"0:00:00 [1/1] test_huge ".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 1 << 20));
    let mut huge_leak = b"test_a leaked [".to_vec();
    for _ in 0..200_000 {
        huge_leak.extend_from_slice(b"1, ");
    }
    huge_leak.extend_from_slice(b"1] references, sum=1");
    let mut garbage = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..100_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        garbage.push(seed.to_le_bytes()[0]);
    }
    let lines: Vec<Vec<u8>> = vec![
        b"\xff\xfe\x00[1/2] \xc3(\n".to_vec(),
        b"0:00:00 load avg: 0.10 [1/2] test_\xe2\x98\x83(odd)\xff\r\n".to_vec(),
        huge,
        huge_leak,
        garbage.clone(),
        b"\x1b".to_vec(),
        b"\x1b[".to_vec(),
        b"\x1b]0;title".to_vec(),
        b"\x1b[31".to_vec(),
        b"[".to_vec(),
        b"[99999999999999999999999/1] test_x".to_vec(),
        b"test_x leaked [99999999999999999999999] references, sum=1".to_vec(),
        b"test_x leaked [1, 1] references, sum=99999999999999999999".to_vec(),
        b"test_x leaked [,,] references, sum=0".to_vec(),
        b"beginning 99999999999 repetitions".to_vec(),
        b"== Tests result: ".to_vec(),
        b"== Tests result:  ==".to_vec(),
        b"99999999999999999999999 tests failed:".to_vec(),
        b"    ".to_vec(),
        b"Total test files: run=1/99999999999999999999999".to_vec(),
        b"running (1): ".to_vec(),
        b"0:00:00 [1/2] test_y failed (".to_vec(),
        b"0:00:00 [1/2] test_y -- ".to_vec(),
        b"0:00:00 [1/2] test_y -- running".to_vec(),
        b"Re-running  in verbose mode".to_vec(),
        b"\r\r\n".to_vec(),
        Vec::new(),
    ];
    let mut p = Parser::new();
    for line in &lines {
        p.feed_line(line);
        let _ = p.current_test();
    }
    for chunk in garbage.chunks(97) {
        p.feed_line(chunk);
    }
    for line in &lines {
        p.feed_line(line);
    }
    let run = p.finish(false);
    assert!(run.tests.iter().all(|t| t.outcome.is_some()));
    assert!(run.tests.iter().all(|t| t.name != "test_huge"), "over-long lines are skipped");
    assert!(run.tests.iter().any(|t| t.name.starts_with("test_\u{2603}(odd)")));
}

#[test]
fn method_results_are_bounded_and_odd_method_lines_do_not_panic() {
    let mut p = Parser::new();
    p.feed_line(b"0:00:00 load avg: 0.01 [1/1] test_many");
    for i in 0..MAX_METHODS + 500 {
        p.feed_line(format!("test_{i} (test_many.C.test_{i}) ... ok").as_bytes());
    }
    let long_reason = format!("test_s (m.C.test_s) ... skipped '{}'", "r".repeat(1 << 16));
    let long_name = format!("test_{0} (m.C.test_{0}) ... ok", "n".repeat(MAX_FAILED_METHOD_LEN));
    for line in [
        long_reason.as_bytes(),
        long_name.as_bytes(),
        b"test_\xff (m.C.test_\xff) ... ok",
        b"... ok",
        b" ... FAIL",
        b"test_z (.test_z) ... ok",
        b"test_z (m..test_z) ... ok",
        b"  test_z (m.C.test_z) (i=\x1b[2J) ... ERROR",
    ] {
        p.feed_line(line);
    }
    // Many long tracebacks: each cut, all of them bounded together.
    for i in 0..200 {
        p.feed_line(b"======================================================================");
        p.feed_line(format!("FAIL: test_{i} (test_many.C.test_{i})").as_bytes());
        p.feed_line(b"----------------------------------------------------------------------");
        for _ in 0..100 {
            p.feed_line("x".repeat(1000).as_bytes());
        }
    }
    let run = p.finish(true);
    let methods = &test(&run, "test_many").methods;
    assert_eq!(methods.len(), MAX_METHODS);
    let kept: Vec<usize> = methods.iter().filter_map(|m| m.traceback.as_ref().map(String::len)).collect();
    assert!(kept.iter().all(|&n| n <= MAX_TRACEBACK_BYTES) && !kept.is_empty(), "{kept:?}");
    assert!(kept.iter().sum::<usize>() <= MAX_TEST_TRACEBACK_BYTES);
    assert!(methods.iter().all(|m| m.name.len() + m.class.len() <= MAX_FAILED_METHOD_LEN));
}

/// An assertion's message of 1 MiB on one line: the line is kept in the traceback, cut to
/// the room left, with a marker saying how much is gone; both under a `FAIL:` header (-v)
/// and with regrtest's `test X failed -- Traceback` (no -v).
#[test]
fn a_traceback_line_longer_than_any_limit_is_kept_cut() {
    let message = format!("AssertionError: {}", "L".repeat(1 << 20));
    let long_print = format!("test_long_print (test_long.Long.test_long_print) ... {}", "P".repeat(1 << 20));
    let verbose = [
        "0:00:00 load avg: 0.01 [1/1] test_long",
        "test_long_fail (test_long.Long.test_long_fail) ... FAIL",
        &long_print,
        "ok",
        "",
        "======================================================================",
        "FAIL: test_long_fail (test_long.Long.test_long_fail)",
        "----------------------------------------------------------------------",
        "Traceback (most recent call last):",
        "  File \"/t/test_long.py\", line 4, in test_long_fail",
        "    self.fail(\"L\" * (1024 * 1024))",
        &message,
        "",
        "----------------------------------------------------------------------",
        "Ran 2 tests in 0.010s",
        "test test_long failed",
        "test_long failed (1 failure)",
    ];
    let plain = [
        "0:00:00 load avg: 0.01 [1/1] test_long",
        "test test_long failed -- Traceback (most recent call last):",
        "  File \"/t/test_long.py\", line 4, in test_long_fail",
        "    self.fail(\"L\" * (1024 * 1024))",
        &message,
        "",
        "test_long failed (1 failure)",
    ];
    for (mode, lines) in [("-v", &verbose[..]), ("no -v", &plain[..])] {
        let mut p = Parser::new();
        for line in lines {
            p.feed_line(line.as_bytes());
        }
        let run = p.finish(true);
        let long = test(&run, "test_long");
        assert_eq!(long.outcome, Some(Outcome::Failed), "{mode}");
        let traceback = match mode {
            "-v" => long.methods[0].traceback.clone(),
            _ => long.traceback.clone(),
        }
        .unwrap_or_default();
        assert!(traceback.len() <= MAX_TRACEBACK_BYTES, "{mode}: {}", traceback.len());
        let last = traceback.lines().last().unwrap_or_default();
        let kept = last.trim_end_matches(|c: char| c != '[').trim_end_matches('[');
        assert!(kept.starts_with("AssertionError: LLLL"), "{mode}: {last:.100}");
        let gone = message.len() - kept.len();
        assert!(last.ends_with(&format!("LLL[... {gone} bytes cut]")), "{mode}: ...{}", &last[last.len() - 60..]);
        assert!(traceback.starts_with("Traceback (most recent call last):\n  File"), "{mode}");
        if mode == "-v" {
            // A method whose long output follows its description on its line.
            let got: Vec<_> = long.methods.iter().map(|m| (m.name.as_str(), m.outcome)).collect();
            assert_eq!(got, [("test_long_fail", MethodOutcome::Failed), ("test_long_print", MethodOutcome::Passed)]);
        }
    }

    // Cut at a character's start; a long line that fits after cutting keeps what follows.
    let wide = "\u{e9}".repeat(MAX_LINE_LEN); // 2 bytes each
    let line = format!("x{wide}\n");
    let (text, cut) = decode_line(line.as_bytes());
    assert_eq!((text.len(), cut), (MAX_LINE_LEN - 1, wide.len() + 1 - (MAX_LINE_LEN - 1)));
    assert!(!text.contains('\u{fffd}'));
    let mut text = CappedText::default();
    text.push_line("short", 0);
    text.push_line("cut by the parser", 100);
    text.push_line("next", 0);
    assert_eq!(text.finish(), "short\ncut by the parser[... 100 bytes cut]\nnext");
}

#[test]
fn truncated_golden_input_never_panics() {
    let input = include_str!("../../tests/data/regrtest/3.12.1-j2-rerun.txt").as_bytes();
    for cut in (0..input.len()).step_by(37) {
        let mut p = Parser::new();
        for line in input[..cut].split(|&b| b == b'\n') {
            p.feed_line(line);
        }
        let run = p.finish(cut % 2 == 0);
        assert!(run.tests.iter().all(|t| t.outcome.is_some() && t.attempts >= 1));
    }
}

#[test]
fn finish_on_empty_input() {
    let run = Parser::new().finish(true);
    assert_eq!(run, ParsedRun::default());
}

#[test]
fn a_worker_seen_running_a_test_that_had_its_result_runs_it_again() {
    // `-j1 -F`: the test passed, and its worker runs it again when the run is stopped.
    let mut p = Parser::new();
    for line in [
        "0:00:00 load avg: 0.10 Run tests in parallel using 1 child processes (forever)\n",
        "0:00:01 load avg: 0.10 [1] test_x passed\n",
    ] {
        p.feed_line(line.as_bytes());
    }
    p.saw_running(&["test_x".to_owned(), "test_y".to_owned()]);
    let run = p.finish(false);
    let x = test(&run, "test_x");
    assert_eq!((x.outcome, x.attempts), (Some(Outcome::Unknown), 2), "{x:#?}");
    assert_eq!(test(&run, "test_y").outcome, Some(Outcome::Unknown));
}

#[test]
fn golden_usage_errors_name_the_refused_argument_and_no_test() {
    for input in [
        include_str!("../../tests/data/regrtest/3.11.2-usage-error.txt"),
        include_str!("../../tests/data/regrtest/3.13.5-usage-error.txt"),
    ] {
        let run = parse(input, true);
        assert_eq!(run.usage_error.as_deref(), Some("regrtest.py: error: unrecognized arguments: -E"));
        assert!(run.tests.is_empty() && run.summary.is_none() && !run.progress_seen);
    }
    // regrtest's own refusal of -R 0:2, after argparse took it (3.11: main.py; 3.13: cmdline.py).
    for input in [
        include_str!("../../tests/data/regrtest/3.11.2-R-0-2-refused.txt"),
        include_str!("../../tests/data/regrtest/3.13.5-R-0-2-refused.txt"),
    ] {
        let run = parse(input, true);
        assert_eq!(
            run.usage_error.as_deref(),
            Some(
                "Invalid values for the --huntrleaks/-R parameters. The number of warmups and repetitions \
                 must be at least 1 each (1:1)."
            )
        );
        assert!(run.tests.is_empty() && run.summary.is_none() && !run.progress_seen);
    }
    // The same lines printed by a test, after regrtest's own, are the test's.
    let test_prints_it = "0:00:00 load avg: 0.00 [1/1] test_argparse\nusage: prog [-h]\nregrtest.py: error: x\n";
    assert_eq!(parse(test_prints_it, false).usage_error, None);
    // An error line with no usage before it is no argparse report.
    assert_eq!(parse("regrtest.py: error: x\n", false).usage_error, None);
    // A test printing regrtest's refusal is the test's.
    let test_prints_refusal =
        "0:00:00 load avg: 0.00 [1/1] test_x\nInvalid values for the --huntrleaks/-R parameters.\n";
    assert_eq!(parse(test_prints_refusal, false).usage_error, None);
}

/// Two regrtest runs of one command, one after another (`bash -c 'python -m test ...; python -m
/// test ...'`): each test is the last run it ran in, with the runs before kept apart; a test of
/// one run only is that run's.
#[test]
fn a_command_running_regrtest_twice_gives_each_test_its_last_run_and_keeps_the_earlier() {
    let recordings = [
        include_str!("../../tests/data/regrtest/3.11.2-seq-R-two-runs.txt"),
        include_str!("../../tests/data/regrtest/3.13.5-R-then-j2-R-two-runs.txt"),
    ];
    for output in recordings {
        let run = parse(output, true);
        assert_eq!(run.run_results, [Some("FAILURE".to_owned()), Some("FAILURE".to_owned())]);
        let names: Vec<&str> = run.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["test_ok", "test_flaky", "test_failing", "test_reflonly"]);

        let flaky = test(&run, "test_flaky");
        assert_eq!((flaky.outcome, flaky.regrtest_run), (Some(Outcome::Passed), 1));
        assert!(!flaky.result_text.as_deref().unwrap_or_default().contains("failed"), "{flaky:#?}");
        assert_eq!(flaky.traceback, None, "the first run's traceback is not the second's");
        assert_eq!(flaky.repetitions, Some(6));
        let [first] = flaky.earlier_runs.as_slice() else { panic!("one earlier run: {flaky:#?}") };
        assert_eq!((first.outcome, first.regrtest_run), (Some(Outcome::Failed), 0));
        assert!(first.traceback.as_deref().is_some_and(|t| t.contains("first time fails")), "{first:#?}");

        let ok = test(&run, "test_ok");
        assert_eq!((ok.outcome, ok.regrtest_run, ok.earlier_runs.len()), (Some(Outcome::Passed), 1, 1));
        // Of one run only: the first's failure stays; the second's leak is its own.
        let failing = test(&run, "test_failing");
        assert_eq!((failing.outcome, failing.regrtest_run), (Some(Outcome::Failed), 0));
        assert!(failing.earlier_runs.is_empty());
        let reflonly = test(&run, "test_reflonly");
        assert_eq!((reflonly.outcome, reflonly.regrtest_run), (Some(Outcome::ReferenceLeak), 1));
        assert!(reflonly.references.as_ref().is_some_and(|l| l.failing));

        // The summary is the last run's.
        let summary = run.summary.as_ref().expect("summary");
        assert_eq!(summary.failed, ["test_reflonly"]);
        assert_eq!(summary.total_tests, Some(3));
    }
}

/// A command whose first regrtest died of a segfault (no summary) and which then ran regrtest
/// again: on the text alone the second run's header is read as part of the first run (a test can
/// print one); told that the first run's process is gone when the header came
/// ([`Parser::feed_line_after_dead_run`]), it starts the second run, and the first is one that
/// ended without its summary, the test it died in running, as a lone run that died leaves it.
#[test]
fn a_run_whose_regrtest_died_ends_there_only_when_its_process_is_known_gone() {
    let output = include_str!("../../tests/data/regrtest/3.11.2-seq-R-segv-then-j2-R-two-runs.txt");
    let run = parse(output, true);
    assert_eq!(run.run_results.len(), 1, "the text alone");
    assert!(run.unfinished_runs.is_empty());

    let mut p = Parser::new();
    let mut dead_headers = 0;
    for line in output.split_inclusive('\n') {
        if p.run_header_after_unfinished_run(line.as_bytes()) {
            dead_headers += 1;
            p.feed_line_after_dead_run(line.as_bytes());
        } else {
            p.feed_line(line.as_bytes());
        }
    }
    assert_eq!(dead_headers, 1);
    let run = p.finish(true);
    assert_eq!(run.run_results, [None, Some("FAILURE".to_owned())]);
    assert_eq!(run.unfinished_runs, [UnfinishedRun { run: 0, running: vec!["test_crash".to_owned()] }]);
    let names: Vec<&str> = run.tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["test_ok", "test_crash", "test_failing"]);
    let crash = test(&run, "test_crash");
    assert_eq!((crash.outcome, crash.regrtest_run), (Some(Outcome::Unknown), 0), "{crash:#?}");
    assert!(crash.earlier_runs.is_empty());
    let ok = test(&run, "test_ok");
    assert_eq!((ok.outcome, ok.regrtest_run, ok.earlier_runs.len()), (Some(Outcome::Passed), 1, 1));
    assert_eq!(ok.result_text.as_deref(), Some("test_ok passed"));
    // The first run never got to it: the second run's alone.
    let failing = test(&run, "test_failing");
    assert_eq!((failing.outcome, failing.regrtest_run), (Some(Outcome::Failed), 1));
    assert!(failing.earlier_runs.is_empty(), "{failing:#?}");
    let summary = run.summary.as_ref().expect("the second run's summary");
    assert_eq!(summary.failed, ["test_failing"]);
    assert_eq!(summary.total_tests, Some(2));
}

/// One regrtest run is one run, however it ends; a `-w` re-run (a summary block without its
/// `Total duration:`, then a re-run) is part of it.
#[test]
fn one_regrtest_run_is_one_run_also_with_a_re_run() {
    for output in [
        include_str!("../../tests/data/regrtest/3.11.2-seq-R.txt"),
        include_str!("../../tests/data/regrtest/3.11.2-seq-R-rerun.txt"),
        include_str!("../../tests/data/regrtest/3.12.1-j2-rerun.txt"),
        include_str!("../../tests/data/regrtest/3.13.0-seq-rerun.txt"),
    ] {
        let run = parse(output, true);
        assert_eq!(run.run_results.len(), 1);
        assert!(run.tests.iter().all(|t| t.regrtest_run == 0 && t.earlier_runs.is_empty()));
    }
    assert!(parse("", true).run_results.is_empty(), "no regrtest ran");
}

/// regrtest's summary lists break a test name longer than a line (66 characters) to fill the
/// line it starts on (`textwrap.fill`): real runs of tests named with 75 and 149 characters,
/// beside a 55-character one that begins a line, make no tests of the pieces.
#[test]
fn golden_long_names_wrapped_in_the_summary_lists_are_whole_names() {
    let a = format!("test_{}", "a".repeat(70));
    let c = format!("test_{}_end", "c".repeat(140));
    let d = format!("test_{}", "d".repeat(50));
    for (input, quiet) in [
        (include_str!("../../tests/data/regrtest/3.11.2-seq-long-names.txt"), false),
        (include_str!("../../tests/data/regrtest/3.11.2-j2-long-names.txt"), false),
        (include_str!("../../tests/data/regrtest/3.13.5-seq-long-names.txt"), false),
        (include_str!("../../tests/data/regrtest/3.11.2-quiet-long-names.txt"), true),
    ] {
        let run = parse(input, true);
        let summary = run.summary.clone().expect("summary");
        assert_eq!(summary.failed, std::slice::from_ref(&c));
        if quiet {
            // Quiet mode announces nothing: the pieces' lengths alone join them.
            assert_eq!(names(&run), [c.as_str()]);
            continue;
        }
        assert_eq!(summary.skipped, [a.clone(), d.clone(), "test_short_skip".to_owned()]);
        let mut got = names(&run);
        got.sort_unstable();
        assert_eq!(got, [a.as_str(), c.as_str(), d.as_str(), "test_short_skip"]);
        assert_eq!(outcome(&run, &c), Outcome::Failed);
        assert_eq!(outcome(&run, &a), Outcome::Skipped);
    }
}

/// A line can also be full by chance: names regrtest announced are not glued together, nor
/// unannounced ones that fit a line together.
#[test]
fn full_summary_lines_join_only_pieces_of_a_longer_name() {
    use super::parser::continues_wrapped_name as joins;
    let none = |_: &str| false;
    let long = "x".repeat(40);
    assert!(!joins("test_a", &long, &format!("test_a{long}"), |n| n == "test_a"));
    assert!(!joins("test_a", "test_b", "test_atest_b", none));
    let piece = "y".repeat(60);
    let first = format!("test_{piece}");
    let joined = format!("{first}{piece}");
    assert!(joins(&first, &piece, &joined, none));
    assert!(joins(&first, &piece, &joined, |n| n == joined));
    // Both pieces announced as tests of their own: two tests on two lines.
    assert!(!joins(&first, &piece, &joined, |n| n == first || n == piece));
}

/// Real output of two regrtest runs of one command at the same time (`bash -c 'RUN1 & RUN2;
/// ...'`): the first waits at its test's import until the second, whose test fails, has
/// ended, then prints its SUCCESS summary after the second's FAILURE one. Read as one run's,
/// the last summary takes the failure back; told that the runs interleave, the parser keeps it,
/// says so, and keeps every run's result. In quiet mode the second run's failing test is named
/// only in its own summary, the earlier block.
#[test]
fn interleaved_runs_keep_a_failure_a_later_summary_does_not_list() {
    let parse_interleaved = |input: &str| {
        let mut p = Parser::new();
        p.runs_interleave();
        for line in input.split_inclusive('\n') {
            p.feed_line(line.as_bytes());
        }
        p.finish(true)
    };
    for input in [
        include_str!("../../tests/data/regrtest/3.11.2-seq-R-two-runs-at-once.txt"),
        include_str!("../../tests/data/regrtest/3.11.2-seq-R-quiet-R-two-runs-at-once.txt"),
    ] {
        let alone = parse(input, true);
        assert!(alone.tests.iter().all(|t| t.outcome == Some(Outcome::Passed)), "{:#?}", alone.tests);
        let run = parse_interleaved(input);
        let failed = test(&run, "test_fail_in_setup");
        assert_eq!((failed.outcome, failed.failure_kept), (Some(Outcome::Failed), true));
        let passed = test(&run, "test_waits_at_import");
        assert_eq!((passed.outcome, passed.failure_kept), (Some(Outcome::Passed), false));
        assert_eq!(run.results_printed, ["FAILURE", "SUCCESS"]);
        assert_eq!(alone.results_printed, ["FAILURE", "SUCCESS"]);
    }
}

/// A failure one block lists stands against a later block that lists the test otherwise (env
/// changed, skipped) or not at all, only when the runs interleave and the block came after the
/// test began; a block before the test began (another run's, or its own run's re-run) says
/// nothing of it.
#[test]
fn interleaved_blocks_give_the_most_severe_outcome_printed_after_the_test_began() {
    let block = |result: &str, list: &str, names: &str| {
        format!(
            "\n== Tests result: {result} ==\n\n{list}\n    {names}\n\nTotal duration: 1 sec\nTests result: {result}\n"
        )
    };
    let input = format!(
        "0:00:00 load avg: 0.10 Run tests sequentially\n\
         0:00:00 load avg: 0.10 [1/2] test_a\n\
         0:00:00 load avg: 0.10 [2/2] test_b\n{}{}",
        block("FAILURE", "2 tests failed:", "test_a test_b"),
        block("ENV CHANGED", "1 test altered the execution environment:", "test_a"),
    );
    let mut p = Parser::new();
    p.runs_interleave();
    for line in input.split_inclusive('\n') {
        p.feed_line(line.as_bytes());
    }
    let run = p.finish(true);
    for name in ["test_a", "test_b"] {
        let t = test(&run, name);
        assert_eq!((t.outcome, t.failure_kept), (Some(Outcome::Failed), true), "{name}");
    }
    let alone = parse(&input, true);
    assert_eq!(test(&alone, "test_a").outcome, Some(Outcome::EnvChanged));
    assert_eq!(test(&alone, "test_b").outcome, Some(Outcome::Passed));

    // A test announced after the failing block: that block is about tests that ran before.
    let input = format!(
        "0:00:00 load avg: 0.10 Run tests sequentially\n{}\
         0:00:00 load avg: 0.10 [1/1] test_a\n{}",
        block("FAILURE", "1 test failed:", "test_a"),
        block("SUCCESS", "1 test OK.", ""),
    );
    let mut p = Parser::new();
    p.runs_interleave();
    for line in input.split_inclusive('\n') {
        p.feed_line(line.as_bytes());
    }
    let run = p.finish(true);
    let t = test(&run, "test_a");
    assert_eq!((t.outcome, t.failure_kept), (Some(Outcome::Passed), false));
}

/// Real `-v` runs (3.11.2 sequential, 3.13.5 `-j2`) of `c/regrtest/test_subtest_descriptions.py`:
/// each failing method keeps its `FAIL:`/`ERROR:` headers as unittest printed them, one per
/// failing subtest with the subtest's description (a message and parameters, parameters holding
/// parentheses and brackets); a method that passed has none.
#[test]
fn golden_failing_subtests_keep_their_headers() {
    let d = "test_subtest_descriptions.Described";
    for input in [
        include_str!("../../tests/data/regrtest/3.11.2-seq-verbose-subtest-descriptions.txt"),
        include_str!("../../tests/data/regrtest/3.13.5-j2-verbose-subtest-descriptions.txt"),
    ] {
        let run = parse(input, true);
        let test = test(&run, "test_subtest_descriptions");
        let headers = |name: &str| {
            let method = test.methods.iter().find(|m| m.name == name && m.class == d).expect(name);
            (method.headers.clone(), method.headers_left_out)
        };
        assert_eq!(
            headers("test_message_and_params"),
            (vec![format!("FAIL: test_message_and_params ({d}.test_message_and_params) [a msg (x)] (k=1)")], 0)
        );
        assert_eq!(headers("test_message"), (vec![format!("FAIL: test_message ({d}.test_message) [sub=1]")], 0));
        let params: Vec<String> =
            (0..2).map(|i| format!("ERROR: test_params ({d}.test_params) (i={i}, s='t (u) [v]')")).collect();
        assert_eq!(headers("test_params"), (params, 0));
        assert_eq!(headers("test_passes"), (vec![], 0));
    }
}

/// Real 3.14.10 and 3.15.2 output (sequential, `-j2 -R 3:3`, `-q -R 3:3`): 3.14+ prints the env
/// changed list a test to a line, `    test_x:` and under it each reason regrtest recorded,
/// indented by eight spaces. The reasons are the tests', never tests of their own (`was`,
/// `os.environ`); `test_ok`, in no list, passed (quiet mode names it nowhere).
#[test]
fn golden_env_changed_reasons_of_3_14_are_the_tests() {
    for (file, input, quiet) in [
        ("3.14.10-seq", include_str!("../../tests/data/regrtest/3.14.10-seq-env-changed.txt"), false),
        ("3.14.10-j2-R", include_str!("../../tests/data/regrtest/3.14.10-j2-R-env-changed.txt"), false),
        ("3.14.10-quiet-R", include_str!("../../tests/data/regrtest/3.14.10-quiet-R-env-changed.txt"), true),
        ("3.15.2-seq", include_str!("../../tests/data/regrtest/3.15.2-seq-env-changed.txt"), false),
        ("3.15.2-j2-R", include_str!("../../tests/data/regrtest/3.15.2-j2-R-env-changed.txt"), false),
    ] {
        let run = parse(input, true);
        let mut names: Vec<&str> = run.tests.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        let expected: &[&str] = if quiet {
            &["test_env_changed", "test_env_changed_twice"]
        } else {
            &["test_env_changed", "test_env_changed_twice", "test_ok"]
        };
        assert_eq!(names, expected, "{file}");
        let once = test(&run, "test_env_changed");
        let twice = test(&run, "test_env_changed_twice");
        assert_eq!((once.outcome, twice.outcome), (Some(Outcome::EnvChanged), Some(Outcome::EnvChanged)), "{file}");
        assert_eq!(once.env_changed_reasons, ["os.environ was modified"], "{file}");
        assert_eq!(twice.env_changed_reasons, ["os.environ was modified", "files was modified"], "{file}");
        if !quiet {
            let ok = test(&run, "test_ok");
            assert_eq!((ok.outcome, ok.env_changed_reasons.len()), (Some(Outcome::Passed), 0), "{file}");
        }
        let summary = run.summary.as_ref().unwrap();
        assert_eq!(summary.env_changed, ["test_env_changed", "test_env_changed_twice"], "{file}");
        assert_eq!(summary.total_tests, Some(3), "{file}");
    }
}

/// 3.14's env changed list mixes tests with reasons and without (`results.py`
/// `display_result`), and the list ends at its blank line: what follows is read as before.
/// Before 3.14 the names share lines (`printlist`), which stay names.
#[test]
fn env_changed_list_of_3_14_with_and_without_reasons() {
    let input = concat!(
        "0:00:00 load avg: 0.10 Run 3 tests sequentially in a single process\n",
        "0:00:00 load avg: 0.10 [1/3] test_a\n",
        "0:00:00 load avg: 0.10 [1/3/1] test_a failed (env changed)\n",
        "0:00:00 load avg: 0.10 [2/3/1] test_b\n",
        "0:00:00 load avg: 0.10 [2/3/2] test_b failed (env changed)\n",
        "0:00:00 load avg: 0.10 [3/3/2] test_c\n",
        "0:00:00 load avg: 0.10 [3/3/3] test_c failed\n",
        "\n",
        "== Tests result: FAILURE ==\n",
        "\n",
        "2 tests altered the execution environment (env changed):\n",
        "    test_a\n",
        "    test_b:\n",
        "        threading._dangling was modified\n",
        "        unraisable exception (ValueError)\n",
        "\n",
        "1 test failed:\n",
        "    test_c\n",
        "\n",
        "Total duration: 1 sec\n",
        "Result: FAILURE\n",
    );
    let run = parse(input, true);
    assert_eq!(run.tests.len(), 3, "{:#?}", run.tests);
    assert_eq!(outcome(&run, "test_a"), Outcome::EnvChanged);
    assert!(test(&run, "test_a").env_changed_reasons.is_empty());
    assert_eq!(outcome(&run, "test_b"), Outcome::EnvChanged);
    assert_eq!(
        test(&run, "test_b").env_changed_reasons,
        ["threading._dangling was modified", "unraisable exception (ValueError)"]
    );
    assert_eq!(outcome(&run, "test_c"), Outcome::Failed);
    let summary = run.summary.unwrap();
    assert_eq!(
        (summary.env_changed, summary.failed),
        (vec!["test_a".to_owned(), "test_b".into()], vec!["test_c".into()])
    );

    let old =
        parse("== Tests result: SUCCESS ==\n\n2 tests altered the execution environment:\n    test_a test_b:x\n", true);
    assert_eq!(old.summary.unwrap().env_changed, ["test_a", "test_b:x"], "a line of several names is printlist's");
}

/// Real 3.14.10 and 3.15.2 output of doctests and subtests, `-v` and `--rerun` (whose re-run is
/// verbose, matching the failed methods only). 3.15's doctest reports each example as a
/// subtest: a failing one's line (`  bad (test_doctest_fails) [0]`) and status, then
/// unittest's `... ok` for the doctest, and the error list's header has the example's number
/// (`FAIL: bad (test_doctest_fails) [0]`). The doctest failed all the same, named as 3.14 names
/// it; a key that reads as a method (`twice (test_doctest_keys.__test__.twice) [0]`) is no
/// method of its own; ordinary subtests are read as before.
#[test]
fn golden_doctest_examples_of_3_15_are_the_doctests() {
    use MethodOutcome::*;
    let report = |example: &str, expected: &str, got: &str| {
        format!("Failed example:\n    {example}\nExpected:\n    {expected}\nGot:\n    {got}")
    };
    for (file, input, rerun) in [
        ("3.14.10-seq-v", include_str!("../../tests/data/regrtest/3.14.10-seq-verbose-doctests.txt"), false),
        ("3.14.10-j2-rerun", include_str!("../../tests/data/regrtest/3.14.10-j2-rerun-doctests.txt"), true),
        ("3.15.2-seq-v", include_str!("../../tests/data/regrtest/3.15.2-seq-verbose-doctests.txt"), false),
        ("3.15.2-j2-rerun", include_str!("../../tests/data/regrtest/3.15.2-j2-rerun-doctests.txt"), true),
    ] {
        let run = parse(input, true);
        let fails = test(&run, "test_doctest_fails");
        assert_eq!(fails.outcome, Some(Outcome::Failed), "{file}");
        let expected: &[_] = if rerun {
            &[("test_doctest_fails", "bad", Failed, None)]
        } else {
            &[("test_doctest_fails", "bad", Failed, None), ("test_doctest_fails", "good", Passed, None)]
        };
        assert_eq!(methods(&run, "test_doctest_fails"), expected, "{file}");
        assert!(fails.methods.iter().all(|m| m.doctest), "{file}");
        assert_eq!(fails.failed_methods, ["bad (test_doctest_fails)"], "{file}");
        let bad = fails.methods[0].traceback.as_deref().unwrap_or_default();
        assert!(bad.ends_with(&report("1 + 1", "3", "2")), "{file}: {bad}");

        let keys = test(&run, "test_doctest_keys");
        let got: Vec<_> =
            keys.methods.iter().map(|m| (m.class.as_str(), m.name.as_str(), m.outcome, m.doctest)).collect();
        let mut expected = doctest_keys_methods();
        let mut failed = vec![
            "method (test_doctest_keys.__test__.K)",
            "b (test_doctest_keys.__test__.a)",
            "twice (test_doctest_keys.__test__.twice)",
            "with space (test_doctest_keys.__test__)",
        ];
        if rerun {
            // regrtest re-runs the failed methods it matches by their first word (`matching:
            // method, b, twice, with`), and `with` matches no `with space`.
            expected.retain(|m| m.2 == Failed && m.1 != "with space");
            failed.pop();
        }
        assert_eq!(got, expected, "{file}");
        assert_eq!(keys.failed_methods, failed, "{file}");
        let traceback = |name: &str| {
            keys.methods.iter().find(|m| m.name == name).and_then(|m| m.traceback.clone()).unwrap_or_default()
        };
        assert!(traceback("K.method").ends_with(&report("2 * 2", "5", "4")), "{file}: {}", traceback("K.method"));
        assert!(traceback("twice.twice").ends_with(&report("5 + 1", "7", "6")), "{file}");
        assert!(rerun || traceback("with space").ends_with(&report("2 + 1", "4", "3")), "{file}");

        let subtests = test(&run, "test_failing_subtests");
        let got: Vec<_> = subtests.methods.iter().map(|m| (m.name.as_str(), m.outcome)).collect();
        let expected: &[_] =
            if rerun { &[("test_subtests", Failed)] } else { &[("test_ok", Passed), ("test_subtests", Failed)] };
        assert_eq!(got, expected, "{file}");
        assert_eq!(
            subtests.failed_methods,
            [
                "test_subtests (test_failing_subtests.Sub.test_subtests) (i=2)",
                "test_subtests (test_failing_subtests.Sub.test_subtests) (i=3)"
            ],
            "{file}"
        );
        assert_eq!(outcome(&run, "test_ok"), Outcome::Passed, "{file}");
    }
    // Without -v, 3.15's traceback of a single failing doctest names it in the frame doctest
    // makes for the example (`in test_doctest_fails.bad`), not in `Failed doctest test for`.
    let run = parse(include_str!("../../tests/data/regrtest/3.15.2-seq-doctests.txt"), true);
    let fails = test(&run, "test_doctest_fails");
    assert_eq!((fails.outcome, fails.traceback_method.as_deref()), (Some(Outcome::Failed), Some("bad")));
    assert!(fails.traceback.as_deref().unwrap_or_default().ends_with(&report("1 + 1", "3", "2")), "{fails:#?}");
    assert!(fails.methods.is_empty() && fails.failed_methods.is_empty(), "{fails:#?}");
    let keys = test(&run, "test_doctest_keys");
    assert_eq!((keys.outcome, keys.traceback_method.as_deref()), (Some(Outcome::Failed), None));
}

/// `-w`/`--rerun` after the first run's summary (`== Tests result: FAILURE ==`), and the test
/// re-run ends the process with `os._exit(0)` (3.11 re-runs it in its main process, 3.13+
/// with `--single-process`): the output ends in the re-run, without its summary. The first
/// run's summary is kept (its lists), but the run is not over: `rerun_unfinished`, no result,
/// and the re-run test has none. A re-run that gets to its own summary (3.14's in a worker,
/// whose death regrtest reports) is over.
#[test]
fn golden_rerun_ended_before_its_summary_is_unfinished() {
    for (file, input) in [
        ("3.11.2-seq-rerun-exit0", include_str!("../../tests/data/regrtest/3.11.2-seq-rerun-exit0.txt")),
        ("3.11.2-j2-R-rerun-exit0", include_str!("../../tests/data/regrtest/3.11.2-j2-R-rerun-exit0.txt")),
        (
            "3.13.18-single-process-rerun-exit0",
            include_str!("../../tests/data/regrtest/3.13.18-single-process-rerun-exit0.txt"),
        ),
        (
            "3.15.2-single-process-rerun-exit0",
            include_str!("../../tests/data/regrtest/3.15.2-single-process-rerun-exit0.txt"),
        ),
    ] {
        let run = parse(input, true);
        let summary = run.summary.as_ref().expect("the first run's summary");
        assert!(summary.rerun_unfinished, "{file}");
        assert_eq!(summary.result, None, "{file}");
        assert_eq!(summary.failed, strings(&["test_exits_0_in_rerun"]), "{file}");
        assert_eq!(run.run_results, [None], "{file}");
        assert_eq!(outcome(&run, "test_exits_0_in_rerun"), Outcome::Unknown, "{file}");
        assert_eq!(test(&run, "test_exits_0_in_rerun").result_text, None, "{file}");
        assert_eq!(outcome(&run, "test_crash_once"), Outcome::Passed, "{file}");

        // The output cut just before the re-run began: the first run's summary is all there is,
        // as a run killed after its result block.
        let before = &input[..input.find("Re-running").expect("a re-run")];
        let run = parse(before, false);
        assert!(!run.summary.as_ref().expect("summary").rerun_unfinished, "{file}");
    }
    let run = parse(include_str!("../../tests/data/regrtest/3.14.10-seq-R-rerun-exit0.txt"), true);
    let summary = run.summary.as_ref().expect("summary");
    assert!(!summary.rerun_unfinished);
    assert_eq!(summary.result.as_deref(), Some("FAILURE then FAILURE, WORKER BUG"));
    assert_eq!(outcome(&run, "test_exits_0_in_rerun"), Outcome::WorkerFailed);
    // So is every re-run of the goldens that got to its end.
    for input in [
        include_str!("../../tests/data/regrtest/3.11.2-seq-R-rerun.txt"),
        include_str!("../../tests/data/regrtest/3.11.2-j2-R-rerun.txt"),
        include_str!("../../tests/data/regrtest/3.13.0-single-process-rerun.txt"),
        include_str!("../../tests/data/regrtest/3.12.1-j2-rerun.txt"),
    ] {
        assert!(!parse(input, true).summary.expect("summary").rerun_unfinished);
    }
}

/// Quiet mode with `-j`: a worker's output comes whole, without the blank line sequential mode
/// prints after a failure's traceback, and no progress line follows: the next worker's leak
/// lines come right after the traceback's last line. They end the traceback and are read as
/// regrtest's (the leaking test's `reference_leak`), on 3.11, 3.13, 3.14 and, after a failure
/// in a later `-R` repetition, 3.15.
#[test]
fn golden_quiet_parallel_leak_lines_after_a_traceback_are_regrtests() {
    for (file, input, failing, last) in [
        (
            "3.11.2-j1-quiet-R-fail-leak",
            include_str!("../../tests/data/regrtest/3.11.2-j1-quiet-R-fail-leak.txt"),
            "test_fail_decorated",
            "AssertionError: 1 != 2",
        ),
        (
            "3.13.18-j1-quiet-R-fail-leak",
            include_str!("../../tests/data/regrtest/3.13.18-j1-quiet-R-fail-leak.txt"),
            "test_fail_decorated",
            "AssertionError: 1 != 2",
        ),
        (
            "3.14.10-j1-quiet-R-fail-leak",
            include_str!("../../tests/data/regrtest/3.14.10-j1-quiet-R-fail-leak.txt"),
            "test_fail_decorated",
            "AssertionError: 1 != 2",
        ),
        (
            "3.11.2-j1-quiet-R-late-leak",
            include_str!("../../tests/data/regrtest/3.11.2-j1-quiet-R-late-leak.txt"),
            "test_fail_late_repetition",
            "AssertionError: failed on repetition 6",
        ),
        (
            "3.15.2-j1-quiet-R-late-leak",
            include_str!("../../tests/data/regrtest/3.15.2-j1-quiet-R-late-leak.txt"),
            "test_fail_late_repetition",
            "AssertionError: failed on repetition 6",
        ),
    ] {
        let run = parse(input, true);
        assert!(!run.progress_seen, "{file}");
        let failed = test(&run, failing);
        assert_eq!(failed.outcome, Some(Outcome::Failed), "{file}");
        let traceback = failed.traceback.as_deref().unwrap_or_default();
        assert!(
            traceback.starts_with("Traceback (most recent call last):\n") && traceback.ends_with(last),
            "{file}: {traceback}"
        );
        let leaky = test(&run, "test_leak_instances");
        assert_eq!(leaky.outcome, Some(Outcome::ReferenceLeak), "{file}");
        let references = leaky.references.as_ref().expect("regrtest's leak line");
        assert!(references.failing && references.deltas.iter().all(|&d| d > 0), "{file}: {references:?}");
        if !file.starts_with("3.11") {
            assert!(leaky.memory_blocks.is_some(), "{file}");
        }
    }
}

/// A failure's traceback ends at any line regrtest starts (the next test's `test X failed`,
/// a crash's `Fatal Python error`, a re-run's header, regrtest's warnings), not only at a blank
/// line or a progress line; a line merely holding such text (indented, or after other text)
/// stays in it.
#[test]
fn a_failure_traceback_ends_at_regrtests_own_lines() {
    let head = concat!(
        "0:00:00 load avg: 0.10 Run tests in parallel using 1 child processes\n",
        "test test_a failed -- Traceback (most recent call last):\n",
        "  File \"/t/test_a.py\", line 4, in test_x\n",
        "    self.assertEqual(out, 'test_b leaked [1, 1, 1] references, sum=3')\n",
        "AssertionError: got test_b leaked [1, 1, 1] references, sum=3\n",
    );
    for (next, name) in [
        ("test test_b failed -- Traceback (most recent call last):\n", "test_b"),
        ("test test_b crashed -- Traceback (most recent call last):\n", "test_b"),
        ("test_b leaked [1, 1, 1] memory blocks, sum=3\n", "test_b"),
        ("Warning -- test_b leaked 1 dangling threads\n", ""),
        ("Fatal Python error: Aborted\n", ""),
        ("0:00:01 load avg: 0.10 Re-running failed tests in verbose mode\n", ""),
        ("beginning 6 repetitions\n", ""),
    ] {
        let input = format!("{head}{next}  File \"/t/test_b.py\", line 1, in <module>\n");
        let run = parse(&input, false);
        let traceback = test(&run, "test_a").traceback.clone().unwrap_or_default();
        assert!(
            traceback.ends_with("AssertionError: got test_b leaked [1, 1, 1] references, sum=3"),
            "{next}: {traceback}"
        );
        assert_eq!(test(&run, "test_a").traceback_method.as_deref(), Some("test_x"), "{next}");
        if !name.is_empty() {
            assert!(run.tests.iter().any(|t| t.name == name), "{next}: {:#?}", run.tests);
        }
    }
}

/// Quiet mode with `-j` (3.13.18, `-q -R 3:3 -j2 test_abort test_ok`, test_abort calling
/// `os.abort()`): regrtest prints the crashed worker's faulthandler dump with no result line,
/// so no test's output holds it; it is kept unowned, whole, for the report to place.
#[test]
fn golden_quiet_workers_crash_dump_is_kept_unowned() {
    let run = parse(include_str!("../../tests/data/regrtest/3.13.18-j2-quiet-R-abort.txt"), true);
    assert!(!run.progress_seen);
    assert_eq!(test(&run, "test_abort").outcome, Some(Outcome::Failed));
    assert_eq!(test(&run, "test_abort").faulthandler, None);
    let [dump] = run.unowned_fault_dumps.as_slice() else { panic!("{:#?}", run.unowned_fault_dumps) };
    assert!(dump.starts_with("Fatal Python error: Aborted\n"), "{dump}");
    assert!(dump.contains("File \"/tmp/td/test_abort.py\", line 4 in test_abort\n"), "{dump}");
    assert!(dump.ends_with("Extension modules: _testinternalcapi (total: 1)"), "{dump}");
    assert!(!dump.contains("hello from test_ok"), "{dump}");
    // With a progress line (not quiet mode), the dump is the running test's, never unowned.
    let run = parse(
        "0:00:00 load avg: 0.10 Run 1 test sequentially\n\
         0:00:00 load avg: 0.10 [1/1] test_ok\n\
         Fatal Python error: Aborted\n\n",
        false,
    );
    assert!(run.unowned_fault_dumps.is_empty(), "{run:#?}");
    assert!(test(&run, "test_ok").faulthandler.is_some(), "{run:#?}");
}

/// The test files of the `odd-names` captures (see `harness/tests/data/regrtest/README.md`),
/// named as regrtest names them: with spaces, tabs and escape sequences.
const ODD_NAMES: [&str; 12] = [
    "test_env changed",
    "test_fail\ttab",
    "test_fail a long name with many words",
    "test_fail another long name with words",
    "test_fail sp",
    "test_fail_esc\x1b[1mbold",
    "test_plain",
    "test_qa_esc\x1b[31mred",
    "test_qa_sp ace",
    "test_qa_tab\tx",
    "test_ref leak",
    "test_skip me",
];

/// The failed ones, as the summary lists them.
const ODD_FAILED: [&str; 6] = [
    "test_fail\ttab",
    "test_fail a long name with many words",
    "test_fail another long name with words",
    "test_fail sp",
    "test_fail_esc\x1b[1mbold",
    "test_ref leak",
];

fn parse_measured(input: &str, measured: &[&str]) -> ParsedRun {
    let mut p = Parser::new();
    for line in input.split_inclusive('\n') {
        p.feed_line(line.as_bytes());
    }
    p.measured_names(measured);
    p.finish(true)
}

/// Real output of test files named with a space, a tab and an escape sequence, which regrtest
/// finds itself (`--testdir` without test names): each is one test, named as regrtest printed
/// it (the escape sequence too, in its result text as well), sequentially (3.11's `[n/N] NAME
/// -- PREVIOUS RESULT`, 3.13+'s result lines, 3.14's colours around them) and with `-j`; the
/// summary's lists, whose names textwrap joined with spaces (and whose tab it expanded), are
/// read by the names the progress lines gave.
#[test]
fn golden_test_names_with_spaces_tabs_and_escapes_are_whole() {
    for (file, input) in [
        ("3.11.2-seq", include_str!("../../tests/data/regrtest/3.11.2-seq-R-odd-names.txt")),
        ("3.11.2-j2", include_str!("../../tests/data/regrtest/3.11.2-j2-R-odd-names.txt")),
        ("3.13.18-seq", include_str!("../../tests/data/regrtest/3.13.18-seq-R-odd-names.txt")),
        ("3.14.10-seq-colour", include_str!("../../tests/data/regrtest/3.14.10-seq-R-colour-odd-names.txt")),
        ("3.14.10-j2", include_str!("../../tests/data/regrtest/3.14.10-j2-R-odd-names.txt")),
    ] {
        let run = parse(input, true);
        let mut got = names(&run);
        got.sort_unstable();
        assert_eq!(got, ODD_NAMES, "{file}");
        let summary = run.summary.clone().expect("summary");
        assert_eq!(summary.failed, ODD_FAILED, "{file}");
        assert_eq!(summary.env_changed, ["test_env changed"], "{file}");
        assert_eq!(summary.skipped, ["test_skip me"], "{file}");
        for name in ["test_plain", "test_qa_esc\x1b[31mred", "test_qa_sp ace", "test_qa_tab\tx"] {
            assert_eq!(outcome(&run, name), Outcome::Passed, "{file} {name}");
        }
        for name in &ODD_FAILED[..5] {
            assert_eq!(outcome(&run, name), Outcome::Failed, "{file} {name}");
            assert_eq!(test(&run, name).traceback_method.as_deref(), Some("test_it"), "{file} {name}");
        }
        assert_eq!(outcome(&run, "test_ref leak"), Outcome::ReferenceLeak, "{file}");
        assert_eq!(test(&run, "test_ref leak").references, leak(&[1, 1, 1], 3, true), "{file}");
        assert_eq!(outcome(&run, "test_env changed"), Outcome::EnvChanged, "{file}");
        assert_eq!(outcome(&run, "test_skip me"), Outcome::Skipped, "{file}");
        assert_eq!(test(&run, "test_skip me").skip_reason.as_deref(), Some("not here"), "{file}");
        let failed = test(&run, "test_fail_esc\x1b[1mbold").result_text.as_deref();
        assert_eq!(failed, Some("test_fail_esc\x1b[1mbold failed (1 failure)"), "{file}");
        if file.starts_with("3.14") {
            assert_eq!(test(&run, "test_env changed").env_changed_reasons, ["os.environ was modified"], "{file}");
        }
    }
}

/// Quiet mode (`-q`) names a test by its failure's `test NAME failed -- ...` line, or by its
/// leak lines, whose name's words before the last could be output glued to it: with the
/// names the shim measured, the leak lines and the summary's lists are the right tests'.
#[test]
fn golden_quiet_mode_reads_names_with_spaces_by_the_measured_names() {
    let input = include_str!("../../tests/data/regrtest/3.11.2-quiet-R-odd-names.txt");
    let run = parse_measured(input, &ODD_NAMES);
    let summary = run.summary.clone().expect("summary");
    assert_eq!(summary.failed, ODD_FAILED);
    assert_eq!(summary.env_changed, ["test_env changed"]);
    let mut got = names(&run);
    got.sort_unstable();
    let mut want = ODD_FAILED.to_vec();
    want.push("test_env changed");
    want.sort_unstable();
    assert_eq!(got, want);
    assert_eq!(outcome(&run, "test_ref leak"), Outcome::ReferenceLeak);
    assert_eq!(test(&run, "test_ref leak").references, leak(&[1, 1, 1], 3, true));
    assert_eq!(outcome(&run, "test_fail sp"), Outcome::Failed);
    // Without them (no shim), a failure's line still names its test whole; the leak line's last
    // word is all that line can tell, and the list's words that no line named are names.
    let run = parse(input, true);
    assert!(names(&run).contains(&"test_fail sp"), "{:?}", names(&run));
    assert!(names(&run).contains(&"leak") && names(&run).contains(&"test_ref"), "{:?}", names(&run));
}

/// A line that reads two ways is read by the names known: the name a progress line announced
/// before its result line (3.13+), the test announced last in 3.11's `[n/N] NAME -- RESULT`;
/// with `-j`, the name a `running` list gave, else the reading with regrtest's tail.
#[test]
fn result_lines_are_read_by_the_names_known() {
    let run = parse(
        "0:00:00 load avg: 0.10 Run 3 tests sequentially\n\
         0:00:00 load avg: 0.10 [1/3] test_a passed y\n\
         0:00:01 load avg: 0.10 [2/3] test_b x -- test_a passed y failed (1 error)\n\
         0:00:02 load avg: 0.10 [3/3/1] test_c\n\
         test_c skipped -- no\n\
         test_c skipped\n",
        true,
    );
    assert_eq!(names(&run), ["test_a passed y", "test_b x", "test_c"]);
    assert_eq!(outcome(&run, "test_a passed y"), Outcome::Failed);
    assert_eq!(outcome(&run, "test_b x"), Outcome::Passed);
    assert_eq!(outcome(&run, "test_c"), Outcome::Skipped);
    assert_eq!(test(&run, "test_c").skip_reason.as_deref(), Some("no"));
    let run = parse(
        "0:00:00 load avg: 0.10 Run 2 tests sequentially in a single process\n\
         0:00:00 load avg: 0.10 [1/2] test_a passed y\n\
         0:00:01 load avg: 0.10 [1/2/1] test_a passed y failed (1 error)\n\
         0:00:01 load avg: 0.10 [2/2/1] test_b failed\n\
         0:00:01 load avg: 0.10 [2/2/1] test_b failed passed\n",
        true,
    );
    assert_eq!(names(&run), ["test_a passed y", "test_b failed"]);
    assert_eq!(outcome(&run, "test_a passed y"), Outcome::Failed);
    assert_eq!(outcome(&run, "test_b failed"), Outcome::Passed);
    let run = parse(
        "0:00:00 load avg: 0.10 Run 3 tests in parallel using 2 worker processes\n\
         0:00:01 load avg: 0.10 running (1): test_x passed y (30.0 sec)\n\
         0:00:02 load avg: 0.10 [1/3] test_x passed y passed\n\
         0:00:03 load avg: 0.10 [2/3/1] test_z skipped z failed (2 errors) (1 min 2 sec) -- running (1): test_q r (31.0 sec)\n\
         0:00:04 load avg: 0.10 [3/3/1] test_q r passed\n",
        true,
    );
    assert_eq!(names(&run), ["test_x passed y", "test_z skipped z", "test_q r"]);
    assert_eq!(outcome(&run, "test_x passed y"), Outcome::Passed);
    assert_eq!(outcome(&run, "test_z skipped z"), Outcome::Failed);
    assert_eq!(test(&run, "test_z skipped z").result_text.as_deref(), Some("test_z skipped z failed (2 errors)"));
    assert_eq!(outcome(&run, "test_q r"), Outcome::Passed);
}

/// A name read from the output that lost what the shim's name has (an escape sequence at its
/// start, which 3.14's colours are read off with; trailing whitespace) takes the measured one,
/// when nothing else is alike; a quiet-mode leak line's test takes the measured name the line
/// ends with.
#[test]
fn measured_names_give_tests_the_names_the_output_lost() {
    let input = "0:00:00 load avg: 0.10 Run 2 tests sequentially\n\
                 0:00:00 load avg: 0.10 [1/2] \x1b[1mtest_a\n\
                 0:00:01 load avg: 0.10 [2/2] test_b \n";
    let run = parse_measured(input, &["\x1b[1mtest_a", "test_b "]);
    assert_eq!(names(&run), ["\x1b[1mtest_a", "test_b "]);
    // Two alike: neither is guessed.
    let run = parse_measured(input, &["\x1b[1mtest_a", "\x1b[2mtest_a"]);
    assert_eq!(names(&run), ["test_a", "test_b"]);
    let quiet = "0:00:00 load avg: 0.10 Run tests sequentially\n\
                 out: some words test_x y leaked [1, 1, 1] references, sum=3\n";
    assert_eq!(names(&parse_measured(quiet, &["test_x y"])), ["test_x y"]);
    assert_eq!(names(&parse_measured(quiet, &[])), ["y"]);
}

/// Real runs (3.11.2 and 3.13.18; sequential, with the test first or second, `-j2`, `-q`, and
/// sequential runs that die in a third test, before any summary) of
/// `c/regrtest/test_imitates_progress_lines.py`, which prints regrtest's progress lines saying
/// that test_plain, run before it, failed with a reference leak, that it passed, and that the
/// printing test passed, numbered as the run numbers its own up to the printing test's: a line
/// numbered below regrtest's last, or as it without being the result of the test it announced,
/// is the test's output, and changes no outcome even where no summary comes to decide.
#[test]
fn progress_lines_a_test_prints_decide_nothing_even_without_a_summary() {
    let (plain, printer) = ("test_plain", "test_imitates_progress_lines");
    for (input, quiet, completed) in [
        (include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitated-progress.txt"), false, true),
        (include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitated-progress-first.txt"), false, true),
        (include_str!("../../tests/data/regrtest/3.11.2-j2-R-imitated-progress.txt"), false, true),
        (include_str!("../../tests/data/regrtest/3.11.2-quiet-R-imitated-progress.txt"), true, true),
        (include_str!("../../tests/data/regrtest/3.11.2-seq-R-imitated-progress-abort.txt"), false, false),
        (include_str!("../../tests/data/regrtest/3.13.18-seq-R-imitated-progress.txt"), false, true),
        (include_str!("../../tests/data/regrtest/3.13.18-j2-R-imitated-progress.txt"), false, true),
        (include_str!("../../tests/data/regrtest/3.13.18-seq-R-imitated-progress-abort.txt"), false, false),
    ] {
        let first_line = input.lines().find(|l| l.contains("Run ")).unwrap_or_default();
        let mut p = Parser::with_selected(&[plain.to_owned(), printer.to_owned()]).quiet_run(quiet);
        for line in input.split_inclusive('\n') {
            p.feed_line(line.as_bytes());
        }
        let run = p.finish(completed);
        let names: Vec<&str> = run.tests.iter().map(|t| t.name.as_str()).collect();
        let expected: &[&str] = match (quiet, completed) {
            (true, _) => &[],
            (false, true) => &[plain, printer],
            (false, false) => &[plain, printer, "test_crash_midway"],
        };
        let mut sorted = names.clone();
        sorted.sort_unstable();
        let mut expected = expected.to_vec();
        expected.sort_unstable();
        assert_eq!(sorted, expected, "{first_line}: {:#?}", run.tests);
        for name in [plain, printer].into_iter().filter(|_| !quiet) {
            let t = test(&run, name);
            assert_eq!((t.outcome, t.attempts), (Some(Outcome::Passed), 1), "{first_line}: {t:#?}");
            assert_eq!(t.references, None, "{first_line}: {t:#?}");
        }
        if !completed {
            assert_ne!(test(&run, "test_crash_midway").outcome, Some(Outcome::Passed), "{first_line}");
        }
    }
}

/// A line numbered above regrtest's last is believed (it may announce the next test): when a
/// test imitates the next test's announcement with a failure of its own, regrtest's real line
/// with the same number is taken for the copy, and the summary, whole and after both tests
/// began, decides the outcomes: it names no failure, so both passed.
#[test]
fn a_whole_summary_decides_when_an_imitation_came_first() {
    let input = "0:00:00 load avg: 0.10 Run tests sequentially\n\
                 0:00:00 load avg: 0.10 [1/2] test_a\n\
                 0:00:01 load avg: 0.00 [2/2/1] test_b -- test_a failed (reference leak)\n\
                 0:00:00 load avg: 0.10 [2/2] test_b\n\
                 \n\
                 == Tests result: SUCCESS ==\n\
                 \n\
                 All 2 tests OK.\n\
                 \n\
                 Total duration: 1 sec\n\
                 Tests result: SUCCESS\n";
    let run = parse(input, true);
    for name in ["test_a", "test_b"] {
        let t = test(&run, name);
        assert_eq!((t.outcome, t.attempts), (Some(Outcome::Passed), 1), "{t:#?}");
    }
    // Cut before the summary, the imitation stands: nothing else says otherwise.
    let cut = &input[..input.find("\n\n").expect("the blank line before the summary")];
    assert_eq!(test(&parse(cut, false), "test_a").outcome, Some(Outcome::ReferenceLeak));
    // A summary whose list of failures reads otherwise than its header says (a name lost)
    // proves nothing of the tests it does not name.
    let failed_list = input.replace("All 2 tests OK.", "2 tests failed:\n    test_b");
    assert_eq!(test(&parse(&failed_list, true), "test_a").outcome, Some(Outcome::ReferenceLeak));
}

/// Two regrtests started at the same time print their headers before any test: their progress
/// lines share numbers, and each is believed as printed (as before counters were read).
#[test]
fn two_headers_before_any_test_leave_progress_lines_unjudged() {
    let input = "0:00:00 load avg: 0.10 Run tests sequentially\n\
                 0:00:00 load avg: 0.10 Run tests sequentially\n\
                 0:00:00 load avg: 0.10 [1/1] test_a\n\
                 0:00:00 load avg: 0.10 [1/1] test_b\n\
                 test_b leaked [1, 1, 1] references, sum=3\n\
                 test_b failed (reference leak)\n";
    let run = parse(input, false);
    let names: Vec<&str> = run.tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["test_a", "test_b"], "{:#?}", run.tests);
    assert_eq!(test(&run, "test_b").outcome, Some(Outcome::ReferenceLeak), "{:#?}", run.tests);
}

/// A test shows a nested regrtest's output, its SUCCESS summary whole, and the run goes on to
/// another test, or dies in that test (QA's F1): that summary is no word of regrtest's on the
/// test that really failed before, which keeps its failure.
#[test]
fn a_summary_a_test_printed_does_not_take_back_a_failure() {
    let nested = "\n== Tests result: SUCCESS ==\n\n1 test OK.\n\nTotal duration: 1 sec\nTests result: SUCCESS\n";
    let head = "0:00:00 load avg: 0.10 Run tests sequentially\n\
                0:00:00 load avg: 0.10 [1/3] test_a\n\
                0:00:01 load avg: 0.10 [2/3/1] test_nested -- test_a failed (1 failure)\n";
    let then_next =
        format!("{head}{nested}0:00:02 load avg: 0.10 [3/3/1] test_segv\nFatal Python error: Segmentation fault\n");
    let then_dies = format!("{head}{nested}Fatal Python error: Segmentation fault\n");
    for (input, completed) in [(&then_next, false), (&then_next, true), (&then_dies, false)] {
        let run = parse(input, completed);
        assert_eq!(test(&run, "test_a").outcome, Some(Outcome::Failed), "{completed}: {:#?}", run.tests);
    }
}

/// A line numbered past the next number is a test's (QA's F2): regrtest's own next line
/// is read, and the failure it gives stands though the run dies before its summary.
#[test]
fn a_progress_line_numbered_past_the_next_is_a_tests_own() {
    let input = "0:00:00 load avg: 0.10 Run tests sequentially\n\
                 0:00:00 load avg: 0.10 [1/3] test_a\n\
                 0:00:09 load avg: 0.00 [3/3] test_d\n\
                 0:00:01 load avg: 0.10 [2/3/1] test_b -- test_a failed (1 failure)\n\
                 0:00:02 load avg: 0.10 [3/3/1] test_c\n";
    let run = parse(input, false);
    let names: Vec<&str> = run.tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["test_a", "test_b", "test_c"], "{:#?}", run.tests);
    let a = test(&run, "test_a");
    assert_eq!((a.outcome, a.result_text.as_deref()), (Some(Outcome::Failed), Some("test_a failed (1 failure)")));
}

/// A re-run that prints a run header of its own (3.11.7, 3.12+) numbers its progress lines
/// anew, and they are judged as the first run's (QA's F5): lines test_flaky's re-run output
/// holds, in 3.11's form or numbered as regrtest's own, change nothing of the real 3.13
/// `--rerun` output they are put into.
#[test]
fn progress_lines_a_rerun_test_prints_change_nothing() {
    let input = include_str!("../../tests/data/regrtest/3.13.0-seq-rerun.txt");
    let at = input.find("test_flaky (test_flaky.TestFlaky.test_flaky) ... ok\n").expect("the re-run's output");
    let imitations = "0:00:00 load avg: 0.00 [1/2] test_flaky -- test_ok failed (1 failure)\n\
                      0:00:00 load avg: 0.00 [1/2/1] test_ok failed (reference leak)\n\
                      0:00:00 load avg: 0.00 [2/2/1] test_flaky -- test_failing passed\n";
    let imitated = format!("{}{imitations}{}", &input[..at], &input[at..]);
    let outcomes = |run: &ParsedRun| -> Vec<(String, Option<Outcome>, u32)> {
        run.tests.iter().map(|t| (t.name.clone(), t.outcome, t.attempts)).collect()
    };
    for completed in [true, false] {
        let cut = |text: &str| {
            if completed {
                text.to_owned()
            } else {
                text[..text.find("== Tests result: FAILURE then").unwrap_or(text.len())].to_owned()
            }
        };
        assert_eq!(
            outcomes(&parse(&cut(&imitated), completed)),
            outcomes(&parse(&cut(input), completed)),
            "completed: {completed}"
        );
    }
}
