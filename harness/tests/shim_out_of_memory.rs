//! The preload shim short of memory inside a real CPython (python3.11-dbg): its bookkeeping must
//! give up, not take the program down with it (it used to abort the process from a failed
//! `HashMap` growth, with Rust's "memory allocation of N bytes failed" on fd 2), and the report
//! must say that the allocation sites are incomplete.

mod common;

use common::*;

/// `ulimit -v` (KiB) for the run: well above what python3.11-dbg and regrtest need. The fixture
/// takes all but 48 MiB of it at import, and its test needs about 36 MiB of those; the shim's
/// tables for the test's blocks need about 30 MiB more, which they cannot have.
const LIMIT_KIB: u32 = 400_000;

/// `sh -c 'ulimit -v LIMIT; exec python -m test -R 3:3 --testdir DIR test_shim_out_of_memory'`.
fn limited_regrtest(testdir: &std::path::Path) -> Vec<String> {
    let argv = regrtest_argv(testdir, &[], &["test_shim_out_of_memory"]);
    let quoted: Vec<String> = argv.iter().map(|a| format!("'{a}'")).collect();
    vec!["sh".into(), "-c".into(), format!("ulimit -v {LIMIT_KIB} && exec {}", quoted.join(" "))]
}

#[test]
fn the_shim_out_of_memory_stops_recording_sites_and_the_test_runs_as_without_it() {
    let dir = testdir();
    let command = limited_regrtest(dir.path());
    // Without leakcheck the test fits in the limit: what leakcheck must not change.
    let alone = std::process::Command::new(&command[0]).args(&command[1..]).output().expect("running sh");
    assert_eq!(alone.status.code(), Some(0), "{}", String::from_utf8_lossy(&alone.stdout));

    let run = leakcheck(&[], &as_strs(&command));
    let log = String::from_utf8_lossy(&run.log()).into_owned();
    assert_eq!(run.json()["status"]["exit_code"], 0, "{log}\n{}", run.stderr);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(!log.contains("memory allocation of") && !log.contains("Fatal Python error"), "{log}");
    let test = run.test("test_shim_out_of_memory");
    assert_eq!(test["outcome"], "passed");
    // The domains were counted through it all; the sites were not.
    assert_eq!(test["domains"]["obj"]["leaked"], false, "{test}");
    assert_eq!(test["leak_sites"], serde_json::json!([]));
    let notes = test["notes"].as_array().expect("notes");
    assert!(
        notes.iter().any(|n| n.as_str().is_some_and(|n| {
            n.starts_with("the shim stopped recording allocation sites during the repetitions (out of memory")
        })),
        "{test}"
    );
    let warnings = run.json()["warnings"].to_string();
    assert!(
        warnings.contains("stopped recording allocation sites during the repetitions of tests test_shim_out_of_memory")
    );
}
