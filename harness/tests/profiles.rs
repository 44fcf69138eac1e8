//! `--profile buildbot-asan` on a real regrtest: the ASAN runtime is set up with the
//! buildbots' options, and their skip list reaches regrtest as `-x`, minus `--unskip`.
//!
//! The runs list CPython's own test suite (`--list-tests`): regrtest 3.11 ignores `-x` under
//! `--testdir` (it passes no exclusions to `findtests` there), so a fixture directory cannot
//! show the exclusions at work.

mod common;

use common::{leakcheck, python};

fn listed(run: &common::Run) -> Vec<String> {
    String::from_utf8_lossy(&run.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn the_skip_list_reaches_regrtest_and_unskip_keeps_a_test() {
    let plain = leakcheck(&["--sanitizer", "none"], &[python(), "-m", "test", "--list-tests"]);
    let all = listed(&plain);
    for name in ["test_ctypes", "test_decimal", "test_os"] {
        assert!(all.contains(&name.to_owned()), "the suite has {name}: {all:?}");
    }
    // Debian's 3.11 test suite has no test_capi, for one.
    let skips_in_suite = leakcheck::launch::profile::BUILDBOT_ASAN_SKIPS.iter().filter(|t| all.iter().any(|a| a == *t));

    let run = leakcheck(
        &["--profile", "buildbot-asan", "--unskip", "test_ctypes"],
        &[python(), "-m", "test", "--list-tests"],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let listed = listed(&run);
    assert!(listed.contains(&"test_os".to_owned()), "{listed:?}");
    assert!(listed.contains(&"test_ctypes".to_owned()), "--unskip keeps it");
    for skipped in leakcheck::launch::profile::BUILDBOT_ASAN_SKIPS.iter().filter(|t| **t != "test_ctypes") {
        assert!(!listed.iter().any(|t| t == skipped), "{skipped} is skipped");
    }
    assert_eq!(all.len() - listed.len(), skips_in_suite.count() - 1, "every skip in the suite but the kept one");

    let report = run.json();
    assert_eq!(report["sanitizer"]["runtimes"], serde_json::json!(["asan"]));
    let options = report["sanitizer"]["options"].to_string();
    assert!(options.contains("detect_leaks=0:allocator_may_return_null=1:handle_segv=0"), "{options}");
    let command: Vec<&str> = report["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert!(command.contains(&"-x") && command.contains(&"test_decimal"), "the report shows what ran: {command:?}");
    assert!(!command.contains(&"test_ctypes"), "{command:?}");
}

#[test]
fn named_tests_run_as_given_with_a_warning() {
    let run =
        leakcheck(&["--profile", "buildbot-asan"], &[python(), "-m", "test", "--list-tests", "test_capi", "test_os"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(listed(&run), ["test_capi", "test_os"]);
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("skip list was not applied") && warnings.contains("test_capi"), "{warnings}");
    // Said once, as a warning.
    assert_eq!(run.stderr.matches("skip list was not applied").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("leakcheck: warning: profile: tests were named"), "{}", run.stderr);
}

/// With `--testdir`, regrtest 3.11 ignores `-x`: a test of the directory that is on the skip
/// list runs all the same, and leakcheck says so beside the arguments it added.
#[test]
fn under_testdir_regrtest_311_runs_the_skipped_tests_and_the_note_says_so() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["test_decimal", "test_mine"] {
        std::fs::write(dir.path().join(format!("{name}.py")), "import unittest\n").unwrap();
    }
    let testdir = dir.path().to_str().unwrap();
    let run =
        leakcheck(&["--profile", "buildbot-asan"], &[python(), "-m", "test", "--testdir", testdir, "--list-tests"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(listed(&run), ["test_decimal", "test_mine"], "3.11 ignores -x here");
    assert!(run.stderr.contains("profile: added to regrtest's arguments: -x test___all__"), "{}", run.stderr);
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("with --testdir, regrtest 3.11 ignores -x"), "{warnings}");
    assert_eq!(run.stderr.matches("regrtest 3.11 ignores -x").count(), 1, "{}", run.stderr);
}
