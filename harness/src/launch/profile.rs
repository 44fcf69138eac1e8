//! Run profiles: the settings of a kind of buildbot, in one flag.
//!
//! `buildbot-asan` is the practice of CPython's AddressSanitizer buildbots (see
//! `../shared/seed/python-ci-notes.txt`): the ASAN runtime with
//! `ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:handle_segv=0` (the sanitizer
//! defaults of `launch::sanitizers`; the user's own `ASAN_OPTIONS` still win), and the tests
//! that give false positives or interfere with ASAN skipped with regrtest's `-x`.
//!
//! **How the skip list reaches regrtest.** regrtest's `-x` turns *every* positional argument
//! into an exclusion, so the list is added only where that keeps the meaning of the command:
//! - a whole-suite run (no test named, no `--fromfile`): `-x SKIPS...` is appended, so the
//!   suite runs without them, as on the buildbots;
//! - a run that already excludes (`-x`): the missing skips are appended to its exclusions;
//! - a run that names its tests: the command is left alone (the user chose those tests) and a
//!   note names the chosen tests that are on the skip list.
//!
//! With `--testdir`, regrtest 3.11 ignores `-x`: its `find_tests` empties the test names that
//! `-x` made exclusions and calls `findtests(testdir, list(), set())`, so every test of the
//! directory runs. 3.13 passes the exclusions to `findtests`. The skips are added all the same,
//! and a note ([`TESTDIR_NOTE`]) says so.
//!
//! Finding the positional arguments means knowing which regrtest options take a value:
//! `regrtest::regrtest_args` reads the command as regrtest's argparse does (CPython 3.11-3.14's
//! `Lib/test/libregrtest/cmdline.py`; `--opt=value`, unique prefixes of long options, clustered
//! short flags, `-j2`). A command that does not run regrtest directly (`make buildbottest`)
//! cannot be changed: a note gives the `-x` arguments to put into `TESTOPTS`.

#![forbid(unsafe_code)]

use std::ffi::OsString;

use crate::regrtest::regrtest_args;

/// The profiles `--profile` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// CPython's ASAN buildbots: ASAN runtime and options, and their skip list (`-x`).
    BuildbotAsan,
}

/// The tests CPython's ASAN buildbots skip (python-ci-notes: false positives, or tests that
/// interfere with ASAN itself).
pub const BUILDBOT_ASAN_SKIPS: &[&str] = &[
    "test___all__",
    "test_capi",
    "test_concurrent_futures",
    "test_crypt",
    "test_ctypes",
    "test_decimal",
    "test_faulthandler",
    "test_hashlib",
    "test_idle",
    "test_interpreters",
    "test_multiprocessing_fork",
    "test_multiprocessing_forkserver",
    "test_multiprocessing_spawn",
    "test_peg_generator",
    "test_tix",
    "test_tk",
    "test_tools",
    "test_ttk_guionly",
    "test_ttk_textonly",
];

impl Profile {
    /// The tests this profile skips, without those the user asked to keep.
    pub fn skips(self, keep: &[String]) -> Vec<&'static str> {
        let list = match self {
            Profile::BuildbotAsan => BUILDBOT_ASAN_SKIPS,
        };
        list.iter().copied().filter(|t| !keep.iter().any(|k| k == t || k == "all")).collect()
    }
}

/// The command with the skip list applied, and what the user should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub command: Vec<OsString>,
    /// The arguments added to the command.
    pub added: Vec<String>,
    pub notes: Vec<String>,
}

/// The note when the skips went into a command with `--testdir`: 3.11's `find_tests` drops the
/// exclusions there (`findtests(self.ns.testdir, list(), set())`, after `-x` emptied the test
/// names), 3.13's passes them to `findtests`.
pub const TESTDIR_NOTE: &str = "profile: with --testdir, regrtest 3.11 ignores -x (it runs every test of the \
     directory, the skip list's too); 3.13 applies it";

/// Apply `skips` to `command` as the module documentation says.
pub fn apply_skips(command: &[OsString], skips: &[&str]) -> Applied {
    let mut applied = Applied { command: command.to_vec(), added: Vec::new(), notes: Vec::new() };
    if skips.is_empty() {
        return applied;
    }
    let args: Vec<String> = command.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let Some(scan) = regrtest_args(&args) else {
        applied.notes.push(format!(
            "profile: the command does not run regrtest directly, so its skip list was not applied; \
             add to regrtest's arguments (e.g. TESTOPTS): -x {}",
            skips.join(" ")
        ));
        return applied;
    };
    // Where new arguments go: before a `--` (after it, `-x` would be a test name), else at the end.
    let at = scan.double_dash.unwrap_or(args.len());
    let insert = |applied: &mut Applied, new: Vec<&str>| {
        applied.added = new.iter().map(|a| a.to_string()).collect();
        applied.command.splice(at..at, new.into_iter().map(OsString::from));
        if scan.testdir {
            applied.notes.push(TESTDIR_NOTE.to_owned());
        }
    };
    if scan.exclude {
        let missing: Vec<&str> = skips.iter().copied().filter(|s| !scan.positionals.iter().any(|p| p == s)).collect();
        if !missing.is_empty() {
            insert(&mut applied, missing);
        }
    } else if scan.positionals.is_empty() && !scan.fromfile {
        let mut new = vec!["-x"];
        new.extend_from_slice(skips);
        insert(&mut applied, new);
    } else {
        let chosen: Vec<&str> =
            scan.positionals.iter().map(String::as_str).filter(|p| skips.contains(&strip_test_prefix(p))).collect();
        let mut note = "profile: tests were named, so the skip list was not applied".to_owned();
        if !chosen.is_empty() {
            note.push_str(&format!(" (on it: {})", chosen.join(", ")));
        }
        applied.notes.push(note);
    }
    applied
}

/// Whether `command` runs regrtest told to fail the run on a test that altered the execution
/// environment (`test_x failed (env changed)`): `--fail-env-changed`, or 3.12+'s `--slow-ci` and
/// `--fast-ci`, which set it. Without it regrtest lists such a test and still passes the run (exit
/// 0); with it the run fails (`ENV CHANGED`, exit 3). False for a command that does not run
/// regrtest directly (`make buildbottest`): its options are not on the command line.
pub fn fails_on_env_changed(command: &[String]) -> bool {
    regrtest_args(command).is_some_and(|args| args.fail_env_changed)
}

/// Whether `command` runs regrtest with `-W`/`--verbose3`, or 3.12+'s `--slow-ci` and
/// `--fast-ci`, which set it: regrtest then shows a `-j` worker's output only when its test did
/// not pass (3.13 `run_workers.py`), so a passing test's `-R` progress is not printed.
/// Sequentially with `-R`, regrtest turns `-W` off itself (and says so). False for a command
/// that does not run regrtest directly.
pub fn hides_passing_output(command: &[String]) -> bool {
    regrtest_args(command).is_some_and(|args| args.output_on_failure)
}

/// `test.test_os` and `Lib/test/test_os.py` name `test_os` too.
fn strip_test_prefix(name: &str) -> &str {
    let name = name.strip_suffix(".py").unwrap_or(name);
    let name = name.rsplit('/').next().unwrap_or(name);
    name.strip_prefix("test.").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    fn apply(s: &str, skips: &[&str]) -> (String, Vec<String>) {
        let applied = apply_skips(&argv(s), skips);
        let command: Vec<String> = applied.command.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        (command.join(" "), applied.notes)
    }

    #[test]
    fn a_whole_suite_run_gets_the_skip_list() {
        let (cmd, notes) = apply("./python -E -m test -j2 -R 3:3 --timeout 1200", &["test_capi", "test_ctypes"]);
        assert_eq!(cmd, "./python -E -m test -j2 -R 3:3 --timeout 1200 -x test_capi test_ctypes");
        assert!(notes.is_empty());
        // Option values are not test names, in every spelling argparse accepts.
        for spelling in [
            "python -m test -u all,-gui -j 2 --testdir /x -R3:3 --junit-xml=r.xml",
            "python -m test --use all --multi 4 -vj2 --testd /x -m test_foo -i bar",
            "python -X dev -W error -m test.regrtest -S test_b --randseed 5",
            "python Lib/test/regrtest.py -wW --fail-env-changed",
            "python -mtest -M 8G -t 10 -D /tmp -p python --worker-args {}",
            // The interpreter's flags in a cluster with -m, and its long option with a value.
            "python -bEm test -j2",
            "python --check-hash-based-pycs always -m test -j2",
            // `--py` is `--python` up to 3.13 (3.14 refuses it), `--cove` no option.
            "python -m test -j2 --py python3 --cove",
        ] {
            let (cmd, _) = apply(spelling, &["test_capi"]);
            assert!(cmd.ends_with(" -x test_capi"), "{spelling} -> {cmd}");
        }
    }

    /// regrtest 3.11 ignores `-x` under `--testdir`: the skips are added, with a note saying so.
    #[test]
    fn skips_added_under_testdir_come_with_a_note() {
        for command in ["python -m test --testdir /x -R 3:3", "python -m test --testd=/x -x test_os"] {
            let (cmd, notes) = apply(command, &["test_capi"]);
            assert!(cmd.ends_with(" test_capi"), "{cmd}");
            assert_eq!(notes, [TESTDIR_NOTE], "{command}");
        }
        let (_, notes) = apply("python -m test --testdir /x test_a", &["test_capi"]);
        assert!(notes.len() == 1 && notes[0].contains("tests were named"), "{notes:?}");
    }

    #[test]
    fn an_exclusion_list_gets_the_missing_skips() {
        let (cmd, notes) = apply("python -m test -x test_os test_capi -j2", &["test_capi", "test_ctypes"]);
        assert_eq!(cmd, "python -m test -x test_os test_capi -j2 test_ctypes");
        assert!(notes.is_empty());
        assert_eq!(apply_skips(&argv("python -m test -x test_os"), &["test_capi"]).added, ["test_capi"]);
        let (cmd, _) = apply("python -m test --excl -- test_os", &["test_ctypes"]);
        assert_eq!(cmd, "python -m test --excl test_ctypes -- test_os");
    }

    #[test]
    fn named_tests_are_left_alone_with_a_note() {
        let (cmd, notes) = apply("python -m test -R 3:3 test_os test.test_capi", &["test_capi", "test_ctypes"]);
        assert_eq!(cmd, "python -m test -R 3:3 test_os test.test_capi");
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("(on it: test.test_capi)"), "{notes:?}");
        let (cmd, notes) = apply("python -m test --fromfile tests.txt", &["test_capi"]);
        assert_eq!(cmd, "python -m test --fromfile tests.txt");
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn a_command_that_is_not_regrtest_gets_advice() {
        for cmd in [
            "make buildbottest",
            "python -m pytest",
            "python -c import test",
            "python script.py",
            "python /x/latest/__main__.py",
        ] {
            let (out, notes) = apply(cmd, &["test_capi"]);
            assert_eq!(out, cmd);
            assert!(notes[0].contains("-x test_capi"), "{cmd}: {notes:?}");
        }
    }

    #[test]
    fn skips_can_be_kept() {
        let skips = Profile::BuildbotAsan.skips(&["test_capi".into()]);
        assert!(!skips.contains(&"test_capi"));
        assert!(skips.contains(&"test_ctypes"));
        assert!(Profile::BuildbotAsan.skips(&["all".into()]).is_empty());
        let (cmd, notes) = apply("python -m test", &[]);
        assert_eq!((cmd.as_str(), notes.len()), ("python -m test", 0));
    }

    #[test]
    fn the_options_that_hide_a_passing_workers_output_are_found() {
        let hides = |s: &str| hides_passing_output(&s.split_whitespace().map(String::from).collect::<Vec<_>>());
        for yes in [
            "python -m test -j2 -W -R 3:3 test_os",
            "python -m test -j2 --verbose3 test_os",
            "python -m test -j2 --fast test_os",
            "./python -m test --slow-ci --timeout=1200",
            "./python -E -m test --fast-ci -R 3:3",
            "python Lib/test/regrtest.py -wW -j0",
        ] {
            assert!(hides(yes), "{yes}");
        }
        for no in [
            "python -W error -m test -j2 test_os",
            "python -m test -j2 -v test_os",
            "python -m test -j2 -m W test_os",
            "python -m test -- -W",
            "make buildbottest TESTOPTS=-W",
        ] {
            assert!(!hides(no), "{no}");
        }
    }

    #[test]
    fn the_options_that_fail_a_run_on_env_changed_are_found() {
        let fails = |s: &str| fails_on_env_changed(&s.split_whitespace().map(String::from).collect::<Vec<_>>());
        for yes in [
            "python -m test --fail-env-changed test_os",
            "python -m test -j2 --fail-env test_os",
            "./python -m test --slow-ci --timeout=1200",
            "./python -E -m test --fast-ci",
            "python Lib/test/regrtest.py -wW --fail-env-changed",
        ] {
            assert!(fails(yes), "{yes}");
        }
        for no in [
            "python -m test test_os",
            "python -m test --fail-rerun test_os",
            "python -m test -- --fail-env-changed",
            "python -c --fail-env-changed",
            "make buildbottest TESTOPTS=--fail-env-changed",
        ] {
            assert!(!fails(no), "{no}");
        }
    }
}
