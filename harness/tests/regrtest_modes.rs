//! regrtest's run modes that change what its output says about each test: quiet mode (`-q`),
//! re-runs of failed tests in another process (`-j 2 -w`), test output that lacks a final
//! newline, which glues regrtest's next line to it, and a failure in a later `-R` repetition,
//! which regrtest prints on the line of the repetitions' marks. On Debian's python3.11-dbg.

mod common;

use common::*;
use serde_json::{json, Value};

fn outcomes(run: &Run) -> Vec<(String, String)> {
    let tests = run.json()["tests"].as_array().expect("tests");
    tests.iter().map(|t| (t["name"].as_str().unwrap().to_owned(), t["outcome"].as_str().unwrap().to_owned())).collect()
}

fn raw_blocks(test: &Value) -> &Value {
    &test["domains"]["raw"]["blocks"]
}

/// `-q` prints no progress lines and names only tests that did not pass: the tests the shim
/// measured are reported all the same, and a passing one passed.
#[test]
fn quiet_mode_reports_every_measured_test() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["-q", "test_leak_raw", "test_balanced"])));
    assert_eq!(
        outcomes(&run),
        [("test_leak_raw".to_owned(), "passed".to_owned()), ("test_balanced".to_owned(), "passed".to_owned())],
        "{}",
        run.stderr
    );
    assert_eq!(raw_blocks(run.test("test_leak_raw")), &json!([1, 1, 1]));
    assert_eq!(run.test("test_balanced")["leaked"], false);
    assert_eq!(run.json()["summary"]["huntrleaks"], true);
    assert_eq!(run.code(), Some(101), "{}", run.stderr);

    // A reference leak: regrtest lists the test as failed, and it reported the leak.
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["-q", "test_leak_object"])));
    let test = run.test("test_leak_object");
    assert_eq!(test["regrtest"]["leaked"], true, "{test}");
    assert_eq!(test["leak_not_reported_by_regrtest"], false, "{test}");
    assert_eq!(run.code(), Some(2), "regrtest's own status: {}", run.stderr);
}

/// Quiet mode names no test it skipped, and prints no result string: the skipped test is
/// reported all the same (the command line named it, the shim never measured it), and the test
/// the summary lists as failed for its reference leak is a `reference_leak`, as without `-q`.
#[test]
fn quiet_mode_reports_skipped_tests_and_reference_leaks() {
    let dir = testdir();
    // Not last: 3.11 prints the last test's result after the loop, also in quiet mode.
    let args = ["-q", "test_leak_object", "test_skipped_at_import", "test_balanced"];
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &args)));
    assert_eq!(
        outcomes(&run),
        [
            ("test_leak_object".to_owned(), "reference_leak".to_owned()),
            ("test_balanced".to_owned(), "passed".to_owned()),
            ("test_skipped_at_import".to_owned(), "skipped".to_owned())
        ],
        "{}",
        run.stderr
    );
    let skipped = run.test("test_skipped_at_import");
    assert!(skipped["notes"].to_string().contains("quiet mode (-q)"), "{skipped}");
    assert_eq!(skipped["domains"], Value::Null, "{skipped}");
    assert_eq!(run.json()["summary"]["tests"], 3);
}

/// A test that runs regrtest itself (as test_regrtest does, with `-R`) makes the shim measure
/// the nested run's tests too: they are none of the run's, also in quiet mode, where the
/// report lists tests by what the shim measured. Quiet or not, sequential or `-j 2`.
#[test]
fn a_regrtest_run_by_a_test_is_not_the_runs_own() {
    let dir = testdir();
    for flags in [&["-q"][..], &[], &["-q", "-j", "2"]] {
        let argv = common::regrtest_with(python(), dir.path(), flags, &["test_nested_regrtest", "test_balanced"]);
        let run = leakcheck(&[], &as_strs(&argv));
        let names: Vec<String> = outcomes(&run).into_iter().map(|(name, _)| name).collect();
        assert!(!names.iter().any(|n| n == "test_leak_raw"), "{flags:?}: {names:?}\n{}", run.stderr);
        assert_eq!(run.json()["summary"]["huntrleaks"], false, "{flags:?}");
        assert_eq!(run.code(), Some(0), "{flags:?}: {}", run.stderr);
    }
}

/// A test whose output holds another regrtest run's lines - printed (a whole summary, a run
/// header and a progress line), or a nested regrtest's whose output it does not capture (six
/// whole runs under -R) - starts no regrtest run: that regrtest is still running, the output
/// is its test's. The run goes on, and the raw leak of the test after it is reported (101),
/// with no made-up test_ghost or test_balanced, and no second run.
#[test]
fn regrtest_lines_in_a_tests_output_start_no_run() {
    let dir = testdir();
    for first in ["test_prints_regrtest_run", "test_runs_regrtest_uncaptured"] {
        let argv = regrtest_argv(dir.path(), &[], &[first, "test_leak_raw"]);
        let run = leakcheck(&[], &as_strs(&argv));
        let expected = [(first.to_owned(), "passed".to_owned()), ("test_leak_raw".into(), "passed".into())];
        assert_eq!(outcomes(&run), expected, "{first}: {}", run.stderr);
        assert_eq!(run.test("test_leak_raw")["leaked"], true, "{first}");
        assert_eq!(raw_blocks(run.test("test_leak_raw")), &json!([1, 1, 1]), "{first}");
        assert!(!run.json()["warnings"].to_string().contains("ran regrtest"), "{first}: {}", run.json()["warnings"]);
        assert_eq!(run.code(), Some(101), "{first}: {}", run.stderr);
    }

    // An interpreter under another name is no regrtest process leakcheck knows (it looks for
    // `python*`): the text alone decides, and takes the printed lines for another run. The
    // shim's measurement of test_leak_raw, which that reading names nowhere, is reported all
    // the same, with its leak and a warning.
    let bin = tempfile::tempdir().unwrap();
    let renamed = bin.path().join("interp");
    std::os::unix::fs::symlink(std::fs::canonicalize(which(python())).unwrap(), &renamed).unwrap();
    let mut argv = regrtest_argv(dir.path(), &[], &["test_prints_regrtest_run", "test_leak_raw"]);
    argv[0] = path_str(&renamed);
    let run = leakcheck(&[], &as_strs(&argv));
    let leak = run.test("test_leak_raw");
    assert_eq!(leak["leaked"], true, "{leak}");
    assert_eq!(leak["outcome"], "unknown", "{leak}");
    assert!(leak["notes"].to_string().contains("names this test nowhere"), "{leak}");
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("the shim measured test_leak_raw in the command's own regrtest"), "{warnings}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// `name` found in $PATH, or as it is when it is a path.
fn which(name: &str) -> std::path::PathBuf {
    if name.contains('/') {
        return name.into();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file()).expect("the interpreter in $PATH")
}

/// Quiet mode names no test that passed; a test named twice whose first run leaked still
/// leaked (the report's entry is that run's), as without `-q`.
#[test]
fn quiet_mode_keeps_the_leak_of_a_tests_first_run() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["-q", "test_leak_first_run", "test_leak_first_run"]);
    let run = leakcheck(&[], &as_strs(&argv));
    let test = run.test("test_leak_first_run");
    assert_eq!(test["leaked"], true, "{test}");
    assert_eq!(raw_blocks(test), &json!([1, 1, 1]), "{test}");
    assert!(test["notes"].to_string().contains("measured 2 times"), "{test}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// 3.11 re-runs a test that failed in a `-j` worker in its main process: the re-run's
/// measurement is the one reported, whatever the processes' ids.
#[test]
fn a_rerun_in_another_process_is_the_measurement_reported() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["-j", "2", "-w", "test_leak_raw_flaky", "test_balanced"]);
    let run = leakcheck(&[], &as_strs(&argv));
    let test = run.test("test_leak_raw_flaky");
    assert_eq!(test["outcome"], "passed", "{test}");
    assert_eq!(raw_blocks(test), &json!([1, 1, 1]), "{test}");
    assert!(test["notes"].to_string().contains("regrtest's re-run"), "{test}");
    // Its first run failed: the note keeps that run's result string.
    assert!(
        test["notes"].to_string().contains(
            "regrtest's run before its re-run (reported here) failed: test_leak_raw_flaky failed (1 failure)"
        ),
        "{test}"
    );
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// A test's output without a final newline: regrtest's next line (3.11 sequential: the next
/// test's progress line, which carries this test's result) follows it on the same line.
#[test]
fn a_progress_line_glued_to_test_output_is_read() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["test_leak_object_no_newline", "test_leak_raw"]);
    let run = leakcheck(&[], &as_strs(&argv));
    assert_eq!(
        outcomes(&run),
        [
            ("test_leak_object_no_newline".to_owned(), "reference_leak".to_owned()),
            ("test_leak_raw".to_owned(), "passed".to_owned())
        ],
        "{}",
        run.stderr
    );
    assert_eq!(run.test("test_leak_object_no_newline")["regrtest"]["leaked"], true);
    assert_eq!(raw_blocks(run.test("test_leak_raw")), &json!([1, 1, 1]));
    // regrtest failed the run for the reference leak; leakcheck's raw leak comes on top.
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// 3.11.2's `-w` re-runs a test with the `-m` filter its previous re-run left behind: the
/// reference-leaking test's re-run runs no test method, and regrtest exits 0, its first run's
/// leak forgotten. The report keeps that first, complete measurement, and the exit status says
/// a leak was found.
#[test]
fn a_rerun_that_ran_no_test_keeps_the_first_runs_leak() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["-w", "test_leak_raw_flaky", "test_leak_object"]);
    let run = leakcheck(&[], &as_strs(&argv));
    assert_eq!(run.json()["status"]["exit_code"], 0, "regrtest's own status: {}", run.stderr);
    let test = run.test("test_leak_object");
    assert_eq!(test["outcome"], "ran_no_tests", "{test}");
    assert_eq!(test["regrtest"]["references"], json!([1, 1, 1]), "{test}");
    assert_eq!(test["domains"]["obj"]["blocks"], json!([1, 1, 1]), "{test}");
    assert_eq!(test["leaked"], true, "{test}");
    assert!(test["notes"].to_string().contains("re-run was cut short"), "{test}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// A test that leaked an object in its first run only, which `-w` re-ran: regrtest's verdict
/// is the re-run's, and the whole report is about it, regrtest's part too (no leak lines); a
/// note keeps the first run's leak, and leakcheck's status is 101, not regrtest's 0.
#[test]
fn a_rerun_that_passes_is_the_run_reported_regrtests_part_too() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["-w", "test_leak_object_first_run"]);
    let run = leakcheck(&[], &as_strs(&argv));
    let test = run.test("test_leak_object_first_run");
    assert_eq!(test["outcome"], "passed", "{test}");
    assert_eq!(
        test["regrtest"],
        json!({"references": null, "memory_blocks": null, "file_descriptors": null, "failing": [], "leaked": false}),
        "{test}"
    );
    assert_eq!(test["domains"]["obj"]["blocks"], json!([0, 0, 0]), "the re-run's: {test}");
    assert_eq!(test["leaked"], false, "{test}");
    let notes = test["notes"].to_string();
    assert!(notes.contains("before its re-run (reported here) leaked: references [1, 1, 1]"), "{test}");
    // A leak alone is the leak note's: no note of a failure.
    assert!(!notes.contains("before its re-run (reported here) failed"), "{test}");
    // regrtest exited 0 (the re-run passed); the leak of the first run keeps leakcheck's status off 0.
    assert_eq!(run.json()["status"]["exit_code"], 0, "{}", run.stderr);
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// A test whose first run leaked raw blocks (which regrtest cannot see) and file descriptors
/// (which it can, and fails the test for), and whose `-w` re-run leaked nothing: regrtest's
/// verdict is the re-run's pass, and so is `leaked`, but the first run's leaks stay in the
/// notes, leakcheck's own measurement with its blocks and bytes, and the summary counts the test.
/// regrtest exits 0; leakcheck 101 (it found a leak), the summary's last line saying why.
/// Sequentially (3.11 re-runs in the same process) and with `-j 2` (in the main process, after a
/// worker's first run).
#[test]
fn a_rerun_that_passes_keeps_the_first_runs_raw_leak_in_a_note() {
    for flags in [&[][..], &["-j", "2"]] {
        let dir = testdir();
        let mut args = flags.to_vec();
        args.extend(["-w", "test_leak_raw_fd_first_run"]);
        let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &args)));
        let test = run.test("test_leak_raw_fd_first_run");
        assert_eq!(test["outcome"], "passed", "{flags:?}: {test}");
        assert_eq!(test["leaked"], false, "the re-run's verdict: {test}");
        assert_eq!(raw_blocks(test), &json!([0, 0, 0]), "the re-run's: {test}");
        let notes = test["notes"].to_string();
        assert!(notes.contains("before its re-run (reported here) leaked: file descriptors [1, 1, 1]"), "{test}");
        assert!(
            notes.contains(
                "the run before its re-run (reported here) leaked by leakcheck's measurement: \
                 raw blocks [1, 1, 1] bytes [48, 48, 48]"
            ),
            "{flags:?}: {test}"
        );
        assert_eq!(run.json()["summary"]["leaked_before_rerun"], json!(["test_leak_raw_fd_first_run"]));
        assert!(run.stderr.contains("0 leaked, 1 leaked only before regrtest's re-run ----"), "{}", run.stderr);
        // regrtest exited 0, but a leak was found: never 0, and the summary says why.
        assert_eq!(run.json()["status"]["exit_code"], 0, "regrtest's own status: {}", run.stderr);
        assert!(
            run.stderr.contains(
                "leakcheck: exit status 101, not the command's 0: a leak was found in an earlier run: \
                 test_leak_raw_fd_first_run leaked in the run before regrtest's re-run, then passed its re-run\n"
            ),
            "{flags:?}: {}",
            run.stderr
        );
        assert_eq!(run.code(), Some(101), "{}", run.stderr);
    }
}

/// 3.11's regrtest decodes a `-j` worker's output as UTF-8: a test that writes other bytes makes
/// the thread of regrtest's main process that reads it fail, and regrtest stops its workers,
/// lists every test as omitted (those that ran too) and exits 0 (`NO TEST RUN`). The report says
/// so in a warning and as a failure of the run; a test that ran has no result (`unknown`), not
/// `interrupted` (nothing was signalled), and the test that never started is `not_run`.
/// leakcheck keeps regrtest's status: it found no leak.
#[test]
fn a_failed_regrtest_worker_thread_is_reported_and_its_tests_have_no_result() {
    let dir = testdir();
    let out = tempfile::tempdir().expect("temporary directory");
    let xml = out.path().join("junit.xml");
    let tests = ["-j", "2", "test_invalid_utf8_output", "test_quiet_sleeper", "test_balanced"];
    let argv = regrtest_argv(dir.path(), &[], &tests);
    let env = [("LEAKCHECK_FIXTURE_SLEEP", "2")];
    let run = leakcheck_in(None, &["--junit-xml", &path_str(&xml)], &as_strs(&argv), &env);
    assert_eq!(run.json()["summary"]["regrtest_result"], "NO TEST RUN", "{}", run.stderr);
    assert_eq!(run.json()["status"]["exit_code"], 0, "{}", run.stderr);
    assert_eq!(run.code(), Some(0), "regrtest's status: {}", run.stderr);

    let warnings = run.json()["warnings"].as_array().expect("warnings");
    let prefix = "regrtest's worker thread failed (UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff";
    assert!(warnings.iter().any(|w| w.as_str().is_some_and(|w| w.starts_with(prefix))), "{warnings:?}");
    let outcome = |name: &str| run.test(name)["outcome"].as_str().unwrap_or_default().to_owned();
    assert_eq!(outcome("test_invalid_utf8_output"), "unknown", "{}", run.stderr);
    // Stopped in its repetitions, or (a slow start) before its worker began them.
    assert!(["unknown", "not_run"].contains(&outcome("test_quiet_sleeper").as_str()), "{}", run.stderr);
    assert_eq!(outcome("test_balanced"), "not_run", "{}", run.stderr);

    let junit = std::fs::read_to_string(&xml).expect("the JUnit XML");
    assert!(!junit.contains("interrupted"), "{junit}");
    assert!(
        junit
            .contains("regrtest: no result: the run ended while it was running (regrtest&apos;s worker thread failed)"),
        "{junit}"
    );
    assert!(junit.contains(r#"<failure message="regrtest&apos;s worker thread failed (UnicodeDecodeError"#), "{junit}");
}

/// The issue draft leakcheck wrote for `test` into `dir` (`--issue-draft DIR`): its title.
fn draft_title(dir: &std::path::Path, test: &str) -> String {
    let text = std::fs::read_to_string(dir.join(format!("{test}.md"))).expect("the test's issue draft");
    text.lines().next().unwrap_or_default().trim_start_matches("# ").to_owned()
}

/// A test that fails in the last `-R` repetition only: regrtest prints the failure after the
/// marks of the five repetitions before (`.....test X failed -- Traceback ...`), sequentially
/// on stderr, with `-j 2` in the worker's output. The traceback is the report's, and names the
/// method for the draft's title.
#[test]
fn a_failure_in_a_later_repetition_keeps_its_traceback() {
    let dir = testdir();
    for flags in [&[][..], &["-j", "2"]] {
        let drafts = tempfile::tempdir().expect("a temporary directory");
        let mut tests = flags.to_vec();
        tests.extend(["test_fail_late_repetition", "test_balanced"]);
        let argv = regrtest_argv(dir.path(), &[], &tests);
        let run = leakcheck(&["--issue-draft", &path_str(drafts.path())], &as_strs(&argv));
        let test = run.test("test_fail_late_repetition");
        assert_eq!(test["outcome"], "failed", "{flags:?}: {test}");
        let traceback = test["traceback"].as_str().unwrap_or_default();
        assert!(traceback.starts_with("Traceback (most recent call last):"), "{flags:?}: {test}");
        assert!(traceback.ends_with("AssertionError: failed on repetition 6"), "{flags:?}: {test}");
        // Without -v regrtest prints no `FAIL:` header: the traceback names the method, its
        // source the class.
        assert_eq!(test["failed_methods"], json!([]), "{flags:?}: {test}");
        assert_eq!(
            draft_title(drafts.path(), "test_fail_late_repetition"),
            "test_fail_late_repetition: FailLate.test_fails_in_the_last_repetition fails",
            "{flags:?}"
        );
        assert_eq!(run.code(), Some(2), "{flags:?}: {}", run.stderr);
    }
}

/// 3.11 re-runs a failed test (`-w`) in its main process and prints no result line for the
/// re-run: the first run's (`test_x failed (1 failure)`, in the next test's progress line, or on
/// its own after the last test) is the only one, and the report, the JUnit failure and the issue
/// draft of the test that failed again keep it. Sequentially, and with `-j 2`, whose workers'
/// results come in progress lines.
#[test]
fn a_test_that_fails_again_keeps_the_first_runs_result_line() {
    let dir = testdir();
    let orders: [&[&str]; 3] = [
        &["test_fail_decorated", "test_balanced"],
        &["test_balanced", "test_fail_decorated"],
        &["-j", "2", "test_fail_decorated", "test_balanced"],
    ];
    for tests in orders {
        let out = tempfile::tempdir().expect("a temporary directory");
        let (xml, drafts) = (out.path().join("junit.xml"), out.path().join("drafts"));
        let mut args = vec!["-w"];
        args.extend(tests);
        let argv = common::regrtest_with(python(), dir.path(), &[], &args);
        let flags = ["--junit-xml", &path_str(&xml), "--issue-draft", &path_str(&drafts)];
        let run = leakcheck(&flags, &as_strs(&argv));
        let test = run.test("test_fail_decorated");
        assert_eq!(test["outcome"], "failed", "{tests:?}: {test}");
        assert_eq!(test["result_line"], "test_fail_decorated failed (1 failure)", "{tests:?}: {test}");
        let junit = std::fs::read_to_string(&xml).expect("the JUnit XML");
        let body = "regrtest: failed: Decorated.test_wrapped\n\ntest_fail_decorated failed (1 failure)\n";
        assert!(junit.contains(body), "{tests:?}: {junit}");
        let draft = std::fs::read_to_string(drafts.join("test_fail_decorated.md")).expect("the draft");
        assert!(draft.contains("\ntest_fail_decorated failed (1 failure)\n"), "{tests:?}: {draft}");
        assert_eq!(run.code(), Some(2), "{tests:?}: {}", run.stderr);
    }
}

/// A failure whose message is one line of 1 MiB: the traceback keeps the line, cut, with a
/// marker saying so, in verbose mode (the method's) and without (the test's).
#[test]
fn a_traceback_line_of_a_mebibyte_is_kept_cut() {
    let dir = testdir();
    for flags in [&[][..], &["-v"]] {
        let mut tests = flags.to_vec();
        tests.push("test_fail_long_message");
        let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &tests)));
        let test = run.test("test_fail_long_message");
        assert_eq!(test["outcome"], "failed", "{flags:?}: {}", run.stderr);
        let traceback = match flags {
            [] => &test["traceback"],
            _ => &test["methods"][0]["traceback"],
        };
        let traceback = traceback.as_str().unwrap_or_else(|| panic!("{flags:?}: no traceback in {test:.2000}"));
        assert!(traceback.len() <= 16 * 1024, "{flags:?}: {}", traceback.len());
        let last = traceback.lines().last().unwrap_or_default();
        assert!(last.starts_with("AssertionError: LLLL"), "{flags:?}: {traceback:.500}");
        assert!(last.ends_with(" bytes cut]"), "{flags:?}: ...{}", &last[last.len().saturating_sub(100)..]);
    }
}

/// Doctests run by unittest (`doctest.DocTestSuite`), as CPython's test_generators and
/// test_deque run theirs: verbose, each is a method, the failing one with its traceback and
/// doctest's report of the example; without -v the test's traceback has the report. Either
/// way the draft's title names the doctest as its method.
#[test]
fn doctests_are_methods() {
    let dir = testdir();
    for flags in [&[][..], &["-v"]] {
        let drafts = tempfile::tempdir().expect("a temporary directory");
        let mut tests = flags.to_vec();
        tests.push("test_doctest_fails");
        let argv = regrtest_argv(dir.path(), &[], &tests);
        let run = leakcheck(&["--issue-draft", &path_str(drafts.path())], &as_strs(&argv));
        let test = run.test("test_doctest_fails");
        assert_eq!(test["outcome"], "failed", "{flags:?}: {test}");
        let report = "Failed example:\n    1 + 1\nExpected:\n    3\nGot:\n    2";
        if flags.is_empty() {
            let traceback = test["traceback"].as_str().unwrap_or_default();
            assert!(traceback.ends_with(report), "{test}");
            assert_eq!(test["methods"], json!([]), "{test}");
        } else {
            assert_eq!(test["failed_methods"], json!(["bad (test_doctest_fails)"]), "{test}");
            let methods = test["methods"].as_array().expect("methods");
            let names: Vec<(&str, &str, &str, bool)> = methods
                .iter()
                .map(|m| {
                    let field = |key: &str| m[key].as_str().unwrap_or_default();
                    (field("class"), field("name"), field("outcome"), m["doctest"] == true)
                })
                .collect();
            assert_eq!(
                names,
                [("test_doctest_fails", "bad", "failed", true), ("test_doctest_fails", "good", "passed", true)],
                "{test}"
            );
            assert!(methods[0]["traceback"].as_str().unwrap_or_default().ends_with(report), "{test}");
        }
        assert_eq!(draft_title(drafts.path(), "test_doctest_fails"), "test_doctest_fails: bad fails", "{flags:?}");
    }
}

/// Doctests of a module's `__test__` dict, whose keys hold dots, spaces and parentheses
/// (`c/regrtest/test_doctest_keys.py`): unittest's descriptions split their names at the last
/// dot (`b (test_doctest_keys.__test__.a)`), and each method is named by its whole key in the
/// class `MODULE.__test__`, in the JSON, the JUnit XML (whose failure is headed as unittest
/// printed it) and the draft's title. Without -v the single failing doctest's traceback names
/// it whole.
#[test]
fn doctests_of_a_test_dict_are_named_by_their_key() {
    let dir = testdir();
    let out = tempfile::tempdir().expect("a temporary directory");
    let (drafts, xml) = (out.path().join("drafts"), out.path().join("junit.xml"));
    let options = ["--issue-draft", &path_str(&drafts), "--junit-xml", &path_str(&xml)];
    let argv = regrtest_argv(dir.path(), &[], &["-v", "test_doctest_keys", "test_doctest_key_fails"]);
    let run = leakcheck(&options, &as_strs(&argv));
    let test = run.test("test_doctest_keys");
    let names: Vec<(&str, &str, &str, bool)> = test["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .map(|m| {
            let field = |key: &str| m[key].as_str().unwrap_or_default();
            (field("class"), field("name"), field("outcome"), m["doctest"] == true)
        })
        .collect();
    let class = "test_doctest_keys.__test__";
    assert_eq!(
        names,
        [
            (class, "K.method", "failed", true),
            (class, "a.b", "failed", true),
            (class, "dotted.key with space", "passed", true),
            (class, "plain", "passed", true),
            (class, "twice.twice", "failed", true),
            (class, "with (parens)", "passed", true),
            (class, "with space", "failed", true),
        ],
        "{test}"
    );
    assert_eq!(
        draft_title(&drafts, "test_doctest_keys"),
        "test_doctest_keys: K.method and 3 more fail",
        "{}",
        run.stderr
    );
    let junit = std::fs::read_to_string(&xml).expect("the JUnit XML");
    assert!(junit.contains(r#"<testcase name="a.b" classname="test_doctest_keys.__test__">"#), "{junit}");
    assert!(junit.contains(r#"<failure message="FAIL: b (test_doctest_keys.__test__.a)" type="unittest">"#), "{junit}");
    assert!(junit.contains(r#"<testcase name="with space" classname="test_doctest_keys.__test__">"#), "{junit}");
    assert!(
        junit.contains(r#"<failure message="regrtest: failed: K.method, a.b, twice.twice, with space""#),
        "{junit}"
    );
    assert_eq!(draft_title(&drafts, "test_doctest_key_fails"), "test_doctest_key_fails: one.failing key fails");

    let argv = regrtest_argv(dir.path(), &[], &["test_doctest_key_fails"]);
    let run = leakcheck(&options, &as_strs(&argv));
    let test = run.test("test_doctest_key_fails");
    assert_eq!(test["outcome"], "failed", "{test}");
    assert_eq!(test["methods"], json!([]), "{test}");
    assert_eq!(draft_title(&drafts, "test_doctest_key_fails"), "test_doctest_key_fails: one.failing key fails");
}

/// Tests that print regrtest's lines for themselves: one a reference leak and failure it does
/// not have (it leaks raw blocks, which regrtest cannot see), one `passed` before it fails.
/// regrtest's own word decides, alone or in either order: the raw leak is one regrtest did not
/// report.
#[test]
fn lines_a_test_prints_like_regrtests_do_not_decide_its_outcome() {
    let dir = testdir();
    let (leak_lines, result_line) = ("test_imitates_leak_lines", "test_imitates_result_line");
    for tests in [&[leak_lines][..], &[leak_lines, result_line], &[result_line, leak_lines]] {
        let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], tests)));
        let test = run.test(leak_lines);
        assert_eq!(test["outcome"], "passed", "{tests:?}: {test}");
        assert_eq!(test["regrtest"]["leaked"], false, "{tests:?}: {test}");
        assert_eq!(test["regrtest"]["references"], Value::Null, "{tests:?}: {test}");
        assert_eq!(test["leak_not_reported_by_regrtest"], true, "{tests:?}: {test}");
        if tests.len() > 1 {
            assert_eq!(run.test(result_line)["outcome"], "failed", "{tests:?}: {}", run.stderr);
        }
        assert_eq!(run.code(), Some(101), "{tests:?}: {}", run.stderr);
    }
}

/// A test printing regrtest's progress lines (`[2/2/1] test_imitates_progress_lines --
/// test_balanced failed (reference leak)`, `[2/2] test_balanced passed`, ...), as one showing a
/// nested regrtest's output does: sequentially, with `-j 2` and with `-q`, both tests passed as
/// regrtest says, no leak is reported, and leakcheck keeps regrtest's status; and in a
/// sequential run that aborts in a third test, before any summary could set things right.
#[test]
fn progress_lines_a_test_prints_change_no_outcome() {
    let dir = testdir();
    let (balanced, printer) = ("test_balanced", "test_imitates_progress_lines");
    for flags in [&["-R", "3:3"][..], &["-R", "3:3", "-j", "2"], &["-R", "3:3", "-q"]] {
        let run = leakcheck(&[], &as_strs(&regrtest_with(python(), dir.path(), flags, &[balanced, printer])));
        // In the order they ended: with -j, either.
        let mut outcomes = outcomes(&run);
        outcomes.sort();
        assert_eq!(
            outcomes,
            [(balanced.into(), "passed".into()), (printer.into(), "passed".into())],
            "{flags:?}: {}",
            run.stderr
        );
        assert_eq!(run.json()["summary"]["leaked"], json!([]), "{flags:?}: {}", run.stderr);
        assert_eq!(run.code(), Some(0), "{flags:?}: {}", run.stderr);
    }
    let argv = regrtest_with(python(), dir.path(), &["-R", "3:3"], &[balanced, printer, "test_crash_midway"]);
    let run = leakcheck_in(None, &[], &as_strs(&argv), &[("IMITATED_TOTAL", "3"), ("IMITATED_AT", "2")]);
    for name in [balanced, printer] {
        let test = run.test(name);
        assert_eq!(test["outcome"], "passed", "{test}");
        assert_eq!(test["leaked"], false, "{test}");
    }
    assert_eq!(run.json()["tests"].as_array().map(Vec::len), Some(3), "{}", run.stderr);
}

/// Quiet mode (`-q`) announces no test, and regrtest's summary lists every test that leaked:
/// leak lines a test prints for another test and for itself, in a run regrtest passes, make no
/// test and no leak, and leakcheck keeps regrtest's status. Nor does a leak line printed where
/// no regrtest ran.
#[test]
fn quiet_mode_leak_lines_of_a_tests_own_make_no_leak() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["-q", "test_imitates_another_test", "test_balanced"]);
    let run = leakcheck(&[], &as_strs(&argv));
    assert_eq!(
        outcomes(&run),
        [("test_imitates_another_test".into(), "passed".into()), ("test_balanced".into(), "passed".into())],
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["summary"]["leaked"], json!([]), "{}", run.stderr);
    assert_eq!(run.test("test_imitates_another_test")["regrtest"]["memory_blocks"], Value::Null);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);

    let run = leakcheck(&[], &[python(), "-c", "print('test_fake leaked [1, 1, 1] references, sum=3')"]);
    assert_eq!(run.json()["tests"], json!([]), "{}", run.stderr);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

/// A test printing leak lines of every kind for itself in every repetition, on stdout and
/// stderr, beside one that really leaks references: only regrtest's own lines, after the last
/// repetition's marks, fill a test's `regrtest` deltas; sequentially (the test's stdout and
/// regrtest's stderr reach leakcheck through two pipes) and with `-j 2` (a worker's output
/// comes whole on regrtest's stdout).
#[test]
fn only_regrtests_own_leak_lines_fill_the_regrtest_deltas() {
    let dir = testdir();
    let (imitates, leaks) = ("test_imitates_leak_kinds", "test_leak_object");
    for flags in [&["-R", "3:3"][..], &["-R", "3:3", "-j", "2"]] {
        let run = leakcheck(&[], &as_strs(&regrtest_with(python(), dir.path(), flags, &[imitates, leaks])));
        let test = run.test(imitates);
        assert_eq!(test["outcome"], "passed", "{flags:?}: {test}");
        for kind in ["references", "memory_blocks", "file_descriptors"] {
            assert_eq!(test["regrtest"][kind], Value::Null, "{flags:?}: {test}");
        }
        assert_eq!(test["regrtest"]["failing"], json!([]), "{flags:?}: {test}");
        let test = run.test(leaks);
        assert_eq!(test["outcome"], "reference_leak", "{flags:?}: {test}");
        assert_eq!(test["regrtest"]["references"], json!([1, 1, 1]), "{flags:?}: {test}");
    }
}

/// regrtest refuses an argument it does not take (`-E` is the interpreter's, not regrtest's):
/// it prints its usage and exits 2, having run no test. The shim had nothing to measure, so
/// the run says regrtest refused its command line, not that the interpreter or the shim failed.
#[test]
fn a_refused_command_line_is_said_and_not_blamed_on_the_shim() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["-E", "-j", "2", "test_balanced"])));
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    let warnings = run.json()["warnings"].to_string();
    assert!(!warnings.contains("the shim measured nothing"), "{warnings}");
    assert!(
        warnings.contains(
            "regrtest ran no test: it refused its command line (regrtest.py: error: unrecognized arguments: -E)"
        ),
        "{warnings}"
    );
    assert_eq!(run.json()["tests"], json!([]));
}

/// regrtest refuses `-R 0:2` itself, after argparse took it (no usage, exit 2): the run says so
/// too.
#[test]
fn regrtests_own_refusal_of_dash_r_values_is_said() {
    let dir = testdir();
    let mut argv = regrtest_argv(dir.path(), &[], &["test_balanced"]);
    let at = argv.iter().position(|a| a == "3:3").expect("-R 3:3");
    argv[at] = "0:2".into();
    let run = leakcheck(&[], &as_strs(&argv));
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    let warnings = run.json()["warnings"].to_string();
    assert!(!warnings.contains("the shim measured nothing"), "{warnings}");
    assert!(
        warnings.contains(
            "regrtest ran no test: it refused its command line (Invalid values for the --huntrleaks/-R parameters."
        ),
        "{warnings}"
    );
    assert_eq!(run.json()["tests"], json!([]));
}

/// `bash -c 'python -m test ...; python -m test ...'` with the runs regrtest's, as a CI script's
/// retry runs it: the first run fails the test (`test_leak_raw_flaky` fails the first time),
/// the second passes it.
fn two_regrtest_runs(dir: &std::path::Path, first: &[&str], second: &[&str]) -> Run {
    let tests = ["test_leak_raw_flaky", "test_balanced"];
    let run = |flags: &[&str]| {
        let argv = regrtest_with(python(), dir, flags, &tests);
        argv.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ")
    };
    let script = format!("{}; {}", run(first), run(second));
    leakcheck(&[], &["bash", "-c", &script])
}

/// `bash -c 'python -m test -q ... test_leak_raw; python -m test -q ... test_balanced'`: bash
/// execs its last command, so the command's process ends as the second regrtest, and the first,
/// its child, ran before it measured anything: its tests are the command's, not those of a
/// regrtest a test started. Quiet mode names no passing test: the first run's leak comes from
/// the shim alone, and must be reported (it was dropped, exit 0).
#[test]
fn a_quiet_regrtest_run_before_the_one_bash_execs_is_the_commands() {
    let dir = testdir();
    let run = |test: &str| {
        let argv = regrtest_with(python(), dir.path(), &["-q", "-R", "3:3"], &[test]);
        argv.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ")
    };
    let script = format!("{}; {}", run("test_leak_raw"), run("test_balanced"));
    let run = leakcheck(&[], &["bash", "-c", &script]);
    assert_eq!(test_names(&run), ["test_leak_raw", "test_balanced"], "{}", run.stderr);
    let leak = run.test("test_leak_raw");
    assert_eq!(leak["domains"]["raw"]["blocks"], json!([1, 1, 1]), "{leak}");
    assert_eq!(leak["leaked"], true, "{leak}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// Two regrtest runs in one command, the second without `-R`: the test is reported as the
/// last run left it, outcome and measurement (none: that run measured nothing), and the first
/// run's failure stays, in a note, the summary and a warning.
#[test]
fn a_command_running_regrtest_twice_reports_each_test_from_one_run_and_keeps_the_failure() {
    let dir = testdir();
    let run = two_regrtest_runs(dir.path(), &["-R", "3:3"], &[]);
    let test = run.test("test_leak_raw_flaky");
    assert_eq!(test["outcome"], "passed", "{test}");
    assert_eq!(test["domains"], Value::Null, "the second run measured nothing: {test}");
    assert_eq!(test["repetitions"], Value::Null, "{test}");
    let notes = test["notes"].to_string();
    assert!(
        notes.contains("ran in 2 of the 2 regrtest runs of the command (one after another): run 1 failed (test_leak_raw_flaky failed (1 failure)); reported here: run 2 passed"),
        "{test}"
    );
    assert!(!notes.contains("cut short"), "the first run's measurement is not the one reported: {test}");
    let summary = &run.json()["summary"];
    assert_eq!(summary["failed_in_earlier_run"], json!(["test_leak_raw_flaky"]), "{summary}");
    assert_eq!(summary["regrtest_result"], "SUCCESS", "the last run's: {summary}");
    assert_eq!(summary["huntrleaks"], true, "the first run's -R: {summary}");
    let warnings = run.json()["warnings"].to_string();
    assert!(
        warnings.contains("the command ran regrtest 2 times, one run after another (results: FAILURE, SUCCESS)"),
        "{warnings}"
    );
    assert_eq!(test_names(&run), ["test_leak_raw_flaky", "test_balanced"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

/// A command running regrtest twice (`sh -c 'A; A'`), the test leaking in the first run only:
/// raw blocks regrtest cannot see (the run passes), or raw blocks and file descriptors, which
/// regrtest prints and fails the run for. The second run passes and the script exits 0: the
/// test is reported as its last run left it, not leaked, but a leak was found, so leakcheck
/// exits 101 and its summary's last line says which test and which run.
#[test]
fn a_leak_in_an_earlier_regrtest_run_of_the_command_is_never_exit_0() {
    for (fixture, printed) in [("test_leak_raw_first_process", false), ("test_leak_raw_fd_first_run", true)] {
        let dir = testdir();
        let argv = regrtest_with(python(), dir.path(), &["-R", "3:3"], &[fixture]);
        let once = argv.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
        let run = leakcheck(&[], &["sh", "-c", &format!("{once}; {once}")]);
        let test = run.test(fixture);
        assert_eq!(test["outcome"], "passed", "{test}");
        assert_eq!(test["leaked"], false, "the last run's verdict: {test}");
        assert_eq!(raw_blocks(test), &json!([0, 0, 0]), "the last run's: {test}");
        let notes = test["notes"].to_string();
        assert!(
            notes.contains(
                "run 1 of the command's regrtest runs leaked by leakcheck's measurement: raw blocks [1, 1, 1]"
            ),
            "{test}"
        );
        assert_eq!(notes.contains("run 1 of the command's regrtest runs leaked: file descriptors"), printed, "{test}");
        let summary = &run.json()["summary"];
        assert_eq!(summary["leaked"], json!([]), "{summary}");
        assert_eq!(summary["failed_in_earlier_run"], json!([fixture]), "{summary}");
        assert_eq!(run.json()["status"]["exit_code"], 0, "the script's: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "leakcheck: exit status 101, not the command's 0: a leak was found in an earlier run: \
                 {fixture} leaked in run 1 of the command's 2 regrtest runs, then a later run passed\n"
            )),
            "{}",
            run.stderr
        );
        assert_eq!(run.code(), Some(101), "{}", run.stderr);
    }
}

/// Both runs with `-R`, the second with `-j 2`: the measurement reported is the second run's,
/// whose worker measured the test (its process counts as that run's), and the first run's
/// measurement, cut short by its failure, is not.
#[test]
fn a_command_running_regrtest_twice_reports_the_measurement_of_the_run_reported() {
    let dir = testdir();
    let run = two_regrtest_runs(dir.path(), &["-R", "3:3"], &["-R", "3:3", "-j", "2"]);
    let test = run.test("test_leak_raw_flaky");
    assert_eq!(test["outcome"], "passed", "{test}");
    assert_eq!(raw_blocks(test), &json!([1, 1, 1]), "{test}");
    assert_eq!(test["repetitions"]["complete"], true, "{test}");
    assert_eq!(test["result_line"], "test_leak_raw_flaky passed", "{test}");
    let notes = test["notes"].to_string();
    assert!(
        notes.contains("run 1 failed (test_leak_raw_flaky failed (1 failure)); reported here: run 2 passed"),
        "{test}"
    );
    assert!(!notes.contains("cannot be told") && !notes.contains("measured 2 times"), "{test}");
    // Leaked in the run reported: listed as leaked, not as failed only earlier.
    assert_eq!(run.json()["summary"]["failed_in_earlier_run"], json!([]));
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// A regrtest that dies in the middle of a test (test_crash_midway aborts on its third -R
/// repetition: no summary) and then another regrtest run by the command, as a script runs it
/// (`A; B`) and as a CI's retry does (`A || B`): the header of the second, read after the first
/// one's process is gone, starts a run of its own. The first is a run that ended without its
/// summary, its running test unknown and cut short, with the warning that regrtest never
/// printed its result (exit 104, not the command's 0); test_balanced, which the first run never
/// got to, is the second run's and passed; the warning of two runs says so.
#[test]
fn a_regrtest_run_that_died_before_another_ends_unfinished_and_the_next_is_its_own() {
    let dir = testdir();
    let quoted = |flags: &[&str], tests: &[&str]| {
        let argv = regrtest_with(python(), dir.path(), flags, tests);
        argv.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ")
    };
    let first = quoted(&["-R", "3:3"], &["test_crash_midway", "test_balanced"]);
    let second = quoted(&["-R", "3:3", "-j", "2"], &["test_balanced"]);
    for joiner in [";", "||"] {
        let script = format!("{first} {joiner} {second}");
        let run = leakcheck(&[], &["bash", "-c", &script]);
        let expected =
            [("test_crash_midway".to_owned(), "unknown".to_owned()), ("test_balanced".into(), "passed".into())];
        assert_eq!(outcomes(&run), expected, "{joiner}: {}", run.stderr);
        let crashed = run.test("test_crash_midway");
        assert_eq!(crashed["repetitions"]["complete"], false, "{joiner}: {crashed}");
        let balanced = run.test("test_balanced");
        assert_eq!(balanced["result_line"], "test_balanced passed", "{joiner}: {balanced}");
        assert!(!balanced["notes"].to_string().contains("names this test nowhere"), "{joiner}: {balanced}");
        let report = run.json();
        let warnings = report["warnings"].to_string();
        assert!(
            warnings.contains("the command ran regrtest 2 times, one run after another (results: none, SUCCESS)"),
            "{joiner}: {warnings}"
        );
        assert!(
            warnings.contains(
                "regrtest never printed its result: the run ended while test_crash_midway ran (regrtest run 1 of 2: \
                 its process died, and the command ran regrtest again)"
            ),
            "{joiner}: {warnings}"
        );
        assert!(!warnings.contains("the shim measured"), "{joiner}: {warnings}");
        assert_eq!(report["summary"]["regrtest_unfinished"], true, "{joiner}: {}", report["summary"]);
        assert_eq!(report["summary"]["regrtest_result"], "SUCCESS", "{joiner}: {}", report["summary"]);
        assert_eq!(run.code(), Some(104), "{joiner}: {}", run.stderr);
    }
}

/// A CI's retry past a crash (`A || A`): the test crashed in the first run (which died while it
/// ran) and passed in the second: it is listed as failed only in an earlier run.
#[test]
fn a_test_that_crashed_only_in_an_earlier_run_is_listed_so() {
    let dir = testdir();
    let marker = tempfile::tempdir().unwrap();
    let argv = regrtest_with(python(), dir.path(), &["-R", "3:3"], &["test_crash_once"]);
    let once = argv.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
    let script = format!("export CRASH_ONCE_MARKER='{}'; {once} || {once}", marker.path().join("crashed").display());
    let run = leakcheck(&[], &["bash", "-c", &script]);
    assert!(marker.path().join("crashed").exists(), "the first run crashed");
    let test = run.test("test_crash_once");
    assert_eq!(test["outcome"], "passed", "{test}");
    assert!(test["notes"].to_string().contains("run 1 unknown"), "{test}");
    assert_eq!(run.json()["summary"]["failed_in_earlier_run"], json!(["test_crash_once"]), "{}", run.json()["summary"]);
}

fn test_names(run: &Run) -> Vec<String> {
    outcomes(run).into_iter().map(|(name, _)| name).collect()
}

/// With `-v`, faulthandler's `Timeout (0:00:03)!` of regrtest's `--timeout` follows unittest's
/// `test_sleep (test_quiet_sleeper.QuietSleeperTest.test_sleep) ... ` on its line: sequentially
/// in one file with the rest (`2>&1`, as a CI log is) and in a `-j 2` worker's output. The test
/// timed out, and its report keeps faulthandler's dump.
#[test]
fn a_timeout_after_a_verbose_method_line_is_a_timeout() {
    let dir = testdir();
    for flags in [&["-v"][..], &["-v", "-j", "2"]] {
        let mut tests = flags.to_vec();
        tests.extend(["--timeout", "3", "test_quiet_sleeper", "test_balanced"]);
        let argv = regrtest_argv(dir.path(), &[], &tests);
        let run = leakcheck_into_one_file(&[], &as_strs(&argv), &[]);
        let test = run.test("test_quiet_sleeper");
        assert_eq!(test["outcome"], "timed_out", "{flags:?}: {test}");
        let dump = test["faulthandler"].as_str().unwrap_or_default();
        assert!(dump.starts_with("Timeout (0:00:03)!\nThread 0x"), "{flags:?}: {test}");
        let line = common::source_line("regrtest/test_quiet_sleeper.py", "# the test's own wait");
        assert!(dump.contains(&format!("test_quiet_sleeper.py\", line {line} in test_sleep")), "{flags:?}: {test}");
        assert_ne!(run.code(), Some(0), "{flags:?}: {}", run.stderr);
    }
}

/// A test that fails in its first repetition with a message over several lines (assertEqual's
/// diff of two strings, then `: msg`): the note on the repetitions cut short gives the
/// exception's line as the reason, not the message's last line. Sequentially and with `-j 2`.
#[test]
fn repetitions_cut_short_by_a_failure_name_its_exception() {
    let dir = testdir();
    for flags in [&[][..], &["-j", "2"]] {
        let mut tests = flags.to_vec();
        tests.push("test_fail_multiline_message");
        let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &tests)));
        let test = run.test("test_fail_multiline_message");
        assert_eq!(test["outcome"], "failed", "{flags:?}: {test}");
        let notes = test["notes"].to_string();
        assert!(
            notes.contains("repetitions cut short: 0 of 6 measured (AssertionError: '\u{e9}' != '\u{fc}')"),
            "{flags:?}: {notes}"
        );
        assert_eq!(run.code(), Some(2), "{flags:?}: {}", run.stderr);
    }
}

/// `-m` selecting none of a test's methods: regrtest ends the `-R` loop in its first repetition
/// and says the test `ran no tests`. Nothing crashed, and the note says what happened (no test
/// method ran, so no repetition was measured), not that repetitions were cut short. Sequentially
/// and with `-j 2`; the test whose method matched is measured as usual.
#[test]
fn a_test_left_without_methods_by_dash_m_says_none_ran() {
    let dir = testdir();
    for flags in [&[][..], &["-j", "2"]] {
        let mut tests = flags.to_vec();
        tests.extend(["-m", "test_leak_raw", "test_leak_raw", "test_balanced"]);
        let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &tests)));
        let test = run.test("test_balanced");
        assert_eq!(test["outcome"], "ran_no_tests", "{flags:?}: {test}");
        assert_eq!(test["repetitions"]["measured"], 0, "{flags:?}: {test}");
        assert_eq!(
            test["notes"],
            json!(["no test method ran (regrtest: ran no tests; -m or -i selected none of its methods, or it has \
                    none), so no repetition was measured (0 of 6)"]),
            "{flags:?}: {test}"
        );
        assert!(!run.stderr.contains("cut short"), "{flags:?}: {}", run.stderr);
        assert_eq!(raw_blocks(run.test("test_leak_raw")), &json!([1, 1, 1]), "{flags:?}");
    }
}

/// A test that ends its process with `os._exit(0)` in its fourth repetition, sequentially: the
/// command exits 0, regrtest never printed its result, and the next test never ran. A warning
/// says so and names the test, and leakcheck exits 104, not 0: a build step must not pass a run
/// that stopped halfway.
#[test]
fn a_run_that_stops_halfway_with_status_0_is_no_success() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["test_exits_0_midway", "test_balanced"]);
    let run = leakcheck(&[], &as_strs(&argv));
    assert_eq!(run.json()["status"]["exit_code"], 0, "{}", run.stderr);
    assert_eq!(run.test("test_exits_0_midway")["outcome"], "unknown");
    assert_eq!(run.test("test_balanced")["outcome"], "not_run");
    assert_eq!(run.json()["summary"]["regrtest_result"], Value::Null);
    assert_eq!(run.json()["summary"]["regrtest_unfinished"], true);
    let warning = "regrtest never printed its result: the run ended while test_exits_0_midway ran, yet the \
                   command exited 0: leakcheck exits 104 instead, a run stopped halfway is no success";
    assert!(run.json()["warnings"].as_array().unwrap().iter().any(|w| w == warning), "{}", run.json()["warnings"]);
    assert!(run.stderr.contains(&format!("leakcheck: warning: {warning}\n")), "{}", run.stderr);
    assert_eq!(run.json()["status"]["leakcheck_exit_code"], 104);
    assert_eq!(run.code(), Some(104), "{}", run.stderr);

    // A raw leak before it: the leak's 101 outranks 104, and the warning says the status that
    // leakcheck really exits with.
    let argv = regrtest_argv(dir.path(), &[], &["test_leak_raw", "test_exits_0_midway"]);
    let run = leakcheck(&[], &as_strs(&argv));
    assert_eq!(run.json()["status"]["exit_code"], 0, "{}", run.stderr);
    let warning = "regrtest never printed its result: the run ended while test_exits_0_midway ran, yet the \
                   command exited 0: leakcheck exits 101 instead, for the leak it found, and a run stopped \
                   halfway is no success either";
    assert!(run.json()["warnings"].as_array().unwrap().iter().any(|w| w == warning), "{}", run.json()["warnings"]);
    assert_eq!(run.code(), Some(101), "{}", run.stderr);

    // faulthandler's `--timeout` ends the run with status 1: the warning names the test, the
    // status stays the command's.
    let argv = regrtest_argv(dir.path(), &[], &["--timeout", "3", "test_quiet_sleeper", "test_balanced"]);
    let run = leakcheck(&[], &as_strs(&argv));
    assert_eq!(run.test("test_quiet_sleeper")["outcome"], "timed_out");
    let warnings = run.json()["warnings"].clone();
    let warning = "regrtest never printed its result: the run ended while test_quiet_sleeper ran";
    assert!(warnings.as_array().unwrap().iter().any(|w| w == warning), "{warnings}");
    assert_eq!(run.code(), Some(1), "{}", run.stderr);

    // A run that ends with its summary is finished, whatever its tests did.
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_balanced"])));
    assert_eq!(run.json()["summary"]["regrtest_unfinished"], false);
    assert!(!run.json()["warnings"].to_string().contains("never printed its result"), "{}", run.stderr);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

/// `-w` after a failure: 3.11 re-runs the failed test in its main process, where it ends the
/// process with `os._exit(0)`. The first run's summary came (`== Tests result: FAILURE ==`), the
/// re-run's never did: the run stopped halfway, as one that died before its first summary,
/// and leakcheck exits 104, not the command's 0. Sequentially and with `-j2 -w` (the buildbots'
/// 3.11 form).
#[test]
fn a_rerun_that_ends_the_process_with_status_0_is_no_success() {
    let dir = testdir();
    for flags in [&["-w"][..], &["-j2", "-w"]] {
        let mut argv = regrtest_argv(dir.path(), &[], &["test_exits_0_in_rerun", "test_balanced"]);
        argv.splice(3..3, flags.iter().map(|f| f.to_string()));
        let run = leakcheck(&[], &as_strs(&argv));
        assert_eq!(run.json()["status"]["exit_code"], 0, "{flags:?}: {}", run.stderr);
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(stdout.contains("== Tests result: FAILURE =="), "{flags:?}: {stdout}");
        assert_eq!(run.test("test_exits_0_in_rerun")["outcome"], "unknown", "{flags:?}");
        assert_eq!(run.test("test_balanced")["outcome"], "passed", "{flags:?}");
        assert_eq!(run.json()["summary"]["regrtest_result"], Value::Null, "{flags:?}");
        assert_eq!(run.json()["summary"]["regrtest_unfinished"], true, "{flags:?}");
        let warning = "regrtest never printed its result: the run ended while test_exits_0_in_rerun ran, yet the \
                       command exited 0: leakcheck exits 104 instead, a run stopped halfway is no success";
        let warnings = &run.json()["warnings"];
        assert!(warnings.as_array().unwrap().iter().any(|w| w == warning), "{flags:?}: {warnings}");
        assert_eq!(run.code(), Some(104), "{flags:?}: {}", run.stderr);
    }
}

/// regrtest dies printing the next test's progress line (its stdout a pipe with no reader, as
/// `leakcheck ... | head -1` leaves it): the test before ran through every repetition and got
/// no result line (a passing test has none), and the next never began. The run did not end
/// while the first ran: the warning says it ended after its repetitions, naming no test
/// running (it named the first, though its repetitions were complete in the same report).
#[test]
fn a_run_that_dies_between_tests_names_no_test_running() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["test_closes_stdout_last", "test_balanced"]);
    let out = tempfile::tempdir().unwrap();
    let xml = out.path().join("junit.xml");
    let run = leakcheck(&["--junit-xml", &path_str(&xml)], &as_strs(&argv));
    let test = run.test("test_closes_stdout_last");
    assert_eq!(test["outcome"], "unknown", "{test}");
    assert_eq!(test["repetitions"]["complete"], true, "{test}");
    let ran_through = "no result, but its -R repetitions all ran through (the shim measured each): the run ended \
                       after them, before regrtest printed its result";
    assert!(test["notes"].as_array().unwrap().iter().any(|n| n == ran_through), "{test}");
    // The JUnit failure says the same, not that the run ended while the test ran.
    let junit = std::fs::read_to_string(&xml).expect("the JUnit XML");
    assert!(junit.contains(&format!("regrtest: {ran_through}")), "{junit}");
    assert!(!junit.contains("ended while it was running"), "{junit}");
    assert_eq!(run.test("test_balanced")["outcome"], "not_run");
    let warnings = run.json()["warnings"].clone();
    let warning = "regrtest never printed its result: the run ended after test_closes_stdout_last's -R repetitions \
                   all ran through (the shim measured each), with no later test known to have begun";
    assert!(warnings.as_array().unwrap().iter().any(|w| w == warning), "{warnings}");
    assert!(!warnings.to_string().contains("ended while"), "{warnings}");
}

/// Two regrtest runs of one command at the same time (a script's `&`), made to overlap by a
/// rendezvous: their output interleaves, and the run says the results read from it may be
/// another run's. Runs one after another (above) have no such warning.
#[test]
fn regrtest_runs_at_the_same_time_are_said_to_interleave() {
    let dir = testdir();
    let meeting = tempfile::tempdir().unwrap();
    let run_of = |me: &str, other: &str| {
        let argv = regrtest_argv(dir.path(), &[], &["test_rendezvous", "test_balanced"]);
        let (a, b) = (meeting.path().join(me), meeting.path().join(other));
        format!("RENDEZVOUS_ME={} RENDEZVOUS_OTHER={} {} &", a.display(), b.display(), argv.join(" "))
    };
    let script = format!("{}\n{}\nwait", run_of("a", "b"), run_of("b", "a"));
    let run = leakcheck(&[], &["bash", "-c", &script]);
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("the command ran regrtest in 2 processes at the same time"), "{warnings}");
    assert!(meeting.path().join("a").exists() && meeting.path().join("b").exists(), "both runs met");

    let sequential = two_regrtest_runs(dir.path(), &["-R", "3:3"], &[]);
    assert!(!sequential.json()["warnings"].to_string().contains("at the same time"), "{}", sequential.json());
}

/// Two regrtest runs of one command at the same time whose measured tests never overlap: the
/// first waits at its test's import (before its -R repetitions) until the second, whose only
/// test fails at once, has exited. Their processes lived together and their output interleaves
/// (two run headers, then the second's FAILURE summary, then the first's SUCCESS one): the run
/// says so, and the failure regrtest printed stands, though the last summary, the other run's,
/// does not list it (read as one run's, it was taken back: `passed`, SUCCESS, JUnit without
/// failures). The script's bare `wait` returns 0, and so does leakcheck: the command's status.
#[test]
fn regrtest_runs_that_lived_together_interleave_though_their_measurements_do_not() {
    let dir = testdir();
    let meeting = tempfile::tempdir().unwrap();
    let go = meeting.path().join("go");
    let quote = |argv: Vec<String>| argv.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
    let waits = quote(regrtest_argv(dir.path(), &[], &["test_waits_at_import"]));
    let fails = quote(regrtest_argv(dir.path(), &[], &["test_fail_in_setup"]));
    let script = format!("IMPORT_WAITS_FOR='{}' {waits} &\n{fails}\ntouch '{}'\nwait", go.display(), go.display());
    let junit = meeting.path().join("junit.xml");
    let run = leakcheck(&["--junit-xml", &junit.display().to_string()], &["bash", "-c", &script]);
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("the command ran regrtest in 2 processes at the same time"), "{warnings}");
    assert!(warnings.contains("(results: FAILURE, SUCCESS)"), "{warnings}");
    let failed = run.test("test_fail_in_setup");
    assert_eq!(failed["outcome"], "failed", "{failed}");
    assert!(failed["notes"].to_string().contains("the failure stands"), "{failed}");
    assert_eq!(run.test("test_waits_at_import")["outcome"], "passed");
    assert_eq!(run.json()["summary"]["regrtest_result"], "FAILURE");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert_eq!(run.code(), Some(0), "{}", run.stderr);

    // The command's own status, when its script keeps it, is leakcheck's.
    std::fs::remove_file(&go).unwrap();
    let script = format!(
        "IMPORT_WAITS_FOR='{}' {waits} &\n{fails}\nstatus=$?\ntouch '{}'\nwait\nexit $status",
        go.display(),
        go.display()
    );
    let run = leakcheck(&[], &["bash", "-c", &script]);
    assert_eq!(run.test("test_fail_in_setup")["outcome"], "failed");
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
}

/// `sh -c 'python -m test ... > file 2>&1'`: none of regrtest's output reaches leakcheck. The
/// tests the shim measured are reported, with no outcome, and a note and a warning say why
/// (they had neither: the quiet-mode reading took the silence for `-q`'s). A quiet run that
/// dies before its summary names no test either, but prints its run header: not redirected.
#[test]
fn regrtest_output_redirected_away_is_said() {
    let dir = testdir();
    let quote = |argv: Vec<String>| argv.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
    let out = dir.path().join("regrtest.out");
    let argv = regrtest_argv(dir.path(), &[], &["test_leak_raw", "test_balanced"]);
    let script = format!("{} > '{}' 2>&1", quote(argv), out.display());
    let run = leakcheck(&[], &["sh", "-c", &script]);
    assert_eq!(test_names(&run), ["test_leak_raw", "test_balanced"], "{}", run.stderr);
    let unseen = "none of regrtest's output reached leakcheck (redirected by the command?)";
    for name in ["test_leak_raw", "test_balanced"] {
        let test = run.test(name);
        assert_eq!(test["outcome"], "unknown", "{test}");
        assert!(test["notes"].to_string().contains(unseen), "{test}");
    }
    let warnings = run.json()["warnings"].to_string();
    assert!(
        warnings.contains(
            "the shim measured test_leak_raw, test_balanced in the command's own regrtest, but none of regrtest's \
             output reached leakcheck"
        ),
        "{warnings}"
    );
    assert_eq!(run.code(), Some(101), "{}", run.stderr);

    // Quiet mode, dying before its summary, still prints its run header (`Run tests sequentially`).
    let argv = regrtest_argv(dir.path(), &[], &["-q", "test_leak_raw", "test_exits_0_midway"]);
    let run = leakcheck(&[], &["sh", "-c", &quote(argv)]);
    assert_eq!(test_names(&run), ["test_leak_raw", "test_exits_0_midway"], "{}", run.stderr);
    assert!(!run.json().to_string().contains("reached leakcheck"), "{}", run.stderr);
}

/// Quiet mode (`-q`) announces no test, and a test whose import fails never gets to its `-R`
/// repetitions, which the shim measures: regrtest's `test test_import_fails crashed --
/// Traceback ...` is all that names it before the summary. A later test ends the sequential
/// regrtest with `os._exit(0)` before that summary (as a buildbot's timeout or a hang's end
/// would): the failed test is still reported, in the order regrtest named it (before the test
/// the shim measured), with its outcome and traceback, in the JSON and the JUnit XML.
#[test]
fn quiet_mode_keeps_a_test_that_failed_at_import_when_the_run_ends_before_its_summary() {
    let dir = testdir();
    let junit = dir.path().join("junit.xml");
    let argv = regrtest_argv(dir.path(), &[], &["-q", "test_import_fails", "test_exits_0_midway"]);
    let run = leakcheck(&["--junit-xml", &path_str(&junit)], &as_strs(&argv));
    assert_eq!(run.json()["summary"]["regrtest_result"], Value::Null, "{}", run.stderr);
    assert_eq!(test_names(&run), ["test_import_fails", "test_exits_0_midway"], "{}", run.stderr);
    let failed = run.test("test_import_fails");
    assert_eq!(failed["outcome"], "uncaught_exception", "{failed}");
    let traceback = failed["traceback"].as_str().unwrap_or_default();
    assert!(
        traceback.starts_with("Traceback (most recent call last):\n")
            && traceback.ends_with("ImportError: leakcheck fixture: this module cannot be imported"),
        "{failed}"
    );
    let xml = std::fs::read_to_string(&junit).expect("the JUnit XML");
    let case = xml.split("<testcase ").find(|case| case.contains(r#"name="test_import_fails""#)).expect("its case");
    assert!(case.contains("<failure "), "{xml}");
}

/// `sh -c 'python -m test ... & sleep 3'`: regrtest is still running its test when the
/// command's process exits, and leakcheck ends it as a leftover. The test's note, the run's
/// warning and the JUnit failure say leakcheck ended it (they said its process died).
#[test]
fn a_leftover_regrtest_that_leakcheck_ended_is_said_so() {
    let dir = testdir();
    let quote = |argv: Vec<String>| argv.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
    let argv = regrtest_argv(dir.path(), &[], &["test_quiet_sleeper", "test_balanced"]);
    let script = format!("{} &\nsleep 3", quote(argv));
    let junit = dir.path().join("junit.xml");
    let run = leakcheck(&["--junit-xml", &path_str(&junit)], &["sh", "-c", &script]);
    let leftovers = run.json()["leftover_processes"].as_array().unwrap().clone();
    let [leftover] = leftovers.as_slice() else { panic!("{leftovers:?}: {}", run.stderr) };
    let pid = leftover["pid"].as_i64().unwrap();
    let test = run.test("test_quiet_sleeper");
    assert_eq!(test["outcome"], "unknown", "{test}");
    let ended = "leakcheck ended the process, a leftover still running it when the command's process exited";
    let notes = test["notes"].to_string();
    assert!(notes.contains(ended) && !notes.contains("died"), "{test}");
    let warning = format!(
        "regrtest never printed its result: the run ended while test_quiet_sleeper ran (leakcheck ended process \
         {pid} running test_quiet_sleeper: a leftover, still running when the command's process exited)"
    );
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains(&warning), "{warnings}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("leakcheck ended the process, a leftover still running it"), "{xml}");
    assert_eq!(run.code(), Some(104), "{}", run.stderr);
}

/// The fixtures copied under names regrtest finds itself (`--testdir` without test names), with
/// a space, a tab or an escape sequence in them: leaking raw blocks, passing, failing, leaking
/// a reference, skipped at import. The failed ones make a summary list that wraps.
const ODD_NAMED: [(&str, &str); 10] = [
    ("test_qa_sp ace", "test_leak_raw"),
    ("test_qa_esc\x1b[31mred", "test_leak_raw"),
    ("test_qa_tab\tx", "test_leak_raw"),
    ("test_plain", "test_balanced"),
    ("test_ref leak", "test_leak_object"),
    ("test_fail sp", "test_fail_decorated"),
    ("test_fail\ttab", "test_fail_decorated"),
    ("test_fail a long name with many words", "test_fail_decorated"),
    ("test_fail another long name with words", "test_fail_decorated"),
    ("test_skip me", "test_skipped_at_import"),
];

/// A `--testdir` holding only the [`ODD_NAMED`] copies and the extensions, inside `dir`.
fn odd_named_testdir(dir: &std::path::Path) -> std::path::PathBuf {
    let odd = dir.join("odd");
    std::fs::create_dir(&odd).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "so") {
            std::fs::copy(&path, odd.join(path.file_name().unwrap())).unwrap();
        }
    }
    for (name, fixture) in ODD_NAMED {
        std::fs::copy(dir.join(format!("{fixture}.py")), odd.join(format!("{name}.py"))).unwrap();
    }
    odd
}

/// A test file named with a space, a tab or an escape sequence is one test, under the name
/// regrtest gives it (the shim's): its measurement and regrtest's outcome together, no test
/// made of a part of its name, sequentially, with `-j 2` and in quiet mode (which names no test
/// it skipped). regrtest's summary joins the names with spaces: the failed ones are read whole.
#[test]
fn test_files_named_with_spaces_tabs_and_escapes_are_one_test_each() {
    let dir = testdir();
    let odd = odd_named_testdir(dir.path());
    for mode in [&[][..], &["-j", "2"], &["-q"]] {
        let run = leakcheck(&[], &as_strs(&regrtest_argv(&odd, &[], mode)));
        let quiet = mode == ["-q"];
        let mut want: Vec<&str> =
            ODD_NAMED.iter().map(|(name, _)| *name).filter(|n| !quiet || *n != "test_skip me").collect();
        want.sort_unstable();
        let mut got: Vec<String> = outcomes(&run).into_iter().map(|(name, _)| name).collect();
        got.sort_unstable();
        assert_eq!(got, want, "{mode:?}: {}", run.stderr);
        assert_eq!(run.json()["summary"]["tests"], want.len(), "{mode:?}");
        assert!(!run.json()["warnings"].to_string().contains("names nowhere"), "{mode:?}: {}", run.json()["warnings"]);
        for name in ["test_qa_sp ace", "test_qa_esc\x1b[31mred", "test_qa_tab\tx"] {
            let test = run.test(name);
            assert_eq!(test["outcome"], "passed", "{mode:?} {test}");
            assert_eq!(raw_blocks(test), &json!([1, 1, 1]), "{mode:?} {test}");
            assert_eq!(test["leak_not_reported_by_regrtest"], true, "{mode:?} {test}");
            assert_eq!(test["notes"], json!([]), "{mode:?} {test}");
        }
        assert_eq!(run.test("test_plain")["leaked"], false, "{mode:?}");
        let reference = run.test("test_ref leak");
        assert_eq!(reference["outcome"], "reference_leak", "{mode:?} {reference}");
        assert_eq!(reference["regrtest"]["references"], json!([1, 1, 1]), "{mode:?} {reference}");
        for name in ["test_fail sp", "test_fail\ttab", "test_fail a long name with many words"] {
            assert_eq!(run.test(name)["outcome"], "failed", "{mode:?} {name}");
        }
        if !quiet {
            assert_eq!(run.test("test_skip me")["outcome"], "skipped", "{mode:?}");
        }
        // The text summary shows the names escaped.
        assert!(run.stderr.contains("leakcheck: test_qa_esc\\x1b[31mred: LEAKED in raw"), "{mode:?}: {}", run.stderr);
        assert!(run.stderr.contains("leakcheck: test_qa_tab\\x09x: LEAKED in raw"), "{mode:?}: {}", run.stderr);
        assert_eq!(run.code(), Some(101), "{mode:?}: {}", run.stderr);
    }
}
