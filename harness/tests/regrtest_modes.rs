//! regrtest's run modes that change what its output says about each test: quiet mode (`-q`),
//! re-runs of failed tests in another process (`-j 2 -w`), and test output that lacks a final
//! newline, which glues regrtest's next line to it. On Debian's python3.11-dbg.

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
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &["-q"], &["test_leak_raw", "test_balanced"])));
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
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &["-q"], &["test_leak_object"])));
    let test = run.test("test_leak_object");
    assert_eq!(test["regrtest"]["leaked"], true, "{test}");
    assert_eq!(test["leak_not_reported_by_regrtest"], false, "{test}");
    assert_eq!(run.code(), Some(2), "regrtest's own status: {}", run.stderr);
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
