//! Command lines: which run regrtest ([`is_regrtest_command`], for the processes a run
//! starts), and what regrtest's arguments on one say ([`regrtest_args`]): which tests it names
//! ([`selection`], for quiet mode's skipped tests), the file its own `--junit-xml` writes
//! ([`junit_xml`], which must be none of leakcheck's outputs), and what a run profile and the
//! report need (`launch::profile`: where `-x` goes, `--fail-env-changed`, `-W`).
//!
//! There is one parser of regrtest's arguments, [`regrtest_args`], with one table,
//! [`OPTIONS`]: every option of `cmdline.py` in CPython 3.11 to 3.14, with what it takes and the
//! versions that have it, read with argparse's rules (`--opt=value`, a long option's unique
//! prefix among all of that version's options, clustered short flags whose first that takes a
//! value takes the rest of the cluster or the next argument, `--` ending the options).

use std::ops::RangeInclusive;
use std::sync::LazyLock;

use regex::Regex;

use super::patterns::re;

/// Whether a command line (`argv`, as in `/proc/PID/cmdline`) runs regrtest: `-m test`,
/// `-m test.regrtest`, a `test.libregrtest` module (3.12+ workers), `regrtest.py`, or the worker
/// flags of 3.11 (`--worker-args`) and of 3.12's development (`--worker-json`).
pub fn is_regrtest_command(argv: &[String]) -> bool {
    let module = match python_main(argv) {
        Some((Main::Module(module), _)) => Some(module),
        _ => None,
    };
    module.is_some_and(|m| m == "test" || m == "test.regrtest" || m.starts_with("test.libregrtest"))
        || argv.iter().any(|arg| {
            arg.ends_with("regrtest.py")
                || arg.ends_with("/test/__main__.py")
                || arg == "--worker-args"
                || arg == "--worker-json"
        })
}

/// What the interpreter runs.
enum Main<'a> {
    /// `-m MODULE`.
    Module(&'a str),
    /// A script's path.
    Script(&'a str),
}

/// What the interpreter of `argv` runs, and the index in `argv` of the first argument it gets:
/// the module of its `-m` option (`-m test`, `-mtest`, or at the end of a cluster of flags:
/// `-bEm test`, `-Emtest`), or the script, its first argument that is no option (the one after
/// `--` even if it looks like one). The interpreter's options are read as its `getopt.c` reads
/// them: `--check-hash-based-pycs` takes the next argument; `-c`, another long option (`--help`)
/// or `-` (stdin) gives None.
fn python_main(argv: &[String]) -> Option<(Main<'_>, usize)> {
    let mut index = 1;
    while let Some(arg) = argv.get(index) {
        index += 1;
        if !arg.starts_with('-') {
            return Some((Main::Script(arg), index));
        }
        match arg.as_str() {
            "--" => return argv.get(index).map(|script| (Main::Script(script), index + 1)),
            "--check-hash-based-pycs" => {
                index += 1;
                continue;
            }
            _ => {}
        }
        let flags = arg.strip_prefix('-').filter(|f| !f.is_empty() && !f.starts_with('-'))?;
        for (at, flag) in flags.char_indices() {
            match flag {
                'm' => {
                    let rest = &flags[at + 1..];
                    return if rest.is_empty() {
                        argv.get(index).map(|module| (Main::Module(module), index + 1))
                    } else {
                        Some((Main::Module(rest), index))
                    };
                }
                // Options whose argument follows: the rest of the cluster or the next argument.
                'c' => return None,
                'W' | 'X' => {
                    if at + 1 == flags.len() {
                        index += 1;
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    None
}

/// regrtest's main process runs `main`: `-m test` (or `test.regrtest`, `test.__main__`), a
/// `regrtest.py` script, 3.11's `Tools/scripts/run_tests.py` (which passes its arguments on to
/// `-m test`), `test/__main__.py` or the `Lib/test` directory.
fn runs_regrtest_main(main: &Main<'_>) -> bool {
    match main {
        Main::Module(module) => matches!(*module, "test" | "test.regrtest" | "test.__main__"),
        Main::Script(script) => {
            let script = script.trim_end_matches('/');
            script.ends_with("regrtest.py")
                || script.ends_with("run_tests.py")
                || script == "test/__main__.py"
                || script.ends_with("/test/__main__.py")
                || script.ends_with("/test")
        }
    }
}

/// The index in `argv` of regrtest's first argument, when `argv` runs regrtest's main process
/// directly (see [`runs_regrtest_main`]); None for a worker or another command (`make
/// buildbottest`, whose regrtest options are not on its command line).
fn regrtest_args_start(argv: &[String]) -> Option<usize> {
    let (main, start) = python_main(argv)?;
    runs_regrtest_main(&main).then_some(start)
}

/// What a regrtest option takes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    /// Nothing: a flag (`store_true`, `count`, `store_const`, `help`).
    Nothing,
    /// A value: the rest of a short option's cluster, what follows `=` in a long one, or else
    /// the next argument.
    Value,
}

/// The minor versions of Python 3 whose regrtest [`OPTIONS`] describes.
const VERSIONS: RangeInclusive<u8> = 11..=14;

/// One of regrtest's options: its long name, its short letter, what it takes, and the minor
/// versions of Python 3 that have it.
struct RegrtestOption {
    long: &'static str,
    short: Option<char>,
    takes: Takes,
    versions: RangeInclusive<u8>,
}

/// An option of every version in [`VERSIONS`].
const fn all(long: &'static str, short: Option<char>, takes: Takes) -> RegrtestOption {
    RegrtestOption { long, short, takes, versions: VERSIONS }
}

/// An option of some versions only.
const fn some(long: &'static str, short: Option<char>, takes: Takes, versions: RangeInclusive<u8>) -> RegrtestOption {
    RegrtestOption { long, short, takes, versions }
}

/// regrtest's options, from `Lib/test/libregrtest/cmdline.py` of CPython 3.11 to 3.14, in its
/// order. All of them, flags too: argparse takes an abbreviation of a long option only when it
/// begins no other option of that version, so `--verb` is no option (`--verbose`, `--verbose2`,
/// `--verbose3`), nor is `--cove` (`--coverage`, `--coverdir`) or `--h` (`--help`, `--header`,
/// `--huntrleaks`); and `--py` is `--python` up to 3.13, ambiguous in 3.14 with `--pythoninfo`.
const OPTIONS: &[RegrtestOption] = {
    use Takes::{Nothing, Value};
    &[
        // General options.
        all("help", Some('h'), Nothing),
        some("fast-ci", None, Nothing, 12..=14),
        some("slow-ci", None, Nothing, 12..=14),
        all("timeout", None, Value),
        all("wait", None, Nothing),
        some("worker-args", None, Value, 11..=11),
        // A worker's during 3.12's development (3.12.1's `Namespace` keeps its `worker_json`),
        // perhaps 3.12.0's: 3.12.1 runs its workers as `-m test.libregrtest.worker`.
        some("worker-json", None, Value, 12..=12),
        all("start", Some('S'), Value),
        all("python", Some('p'), Value),
        all("randseed", None, Value),
        // Verbosity.
        all("verbose", Some('v'), Nothing),
        // 3.11's `-w` is `--verbose2`, 3.12+'s `--rerun`, with `--verbose2` its alias.
        some("rerun", Some('w'), Nothing, 12..=14),
        all("verbose2", None, Nothing),
        all("verbose3", Some('W'), Nothing),
        all("quiet", Some('q'), Nothing),
        all("slowest", Some('o'), Nothing),
        all("header", None, Nothing),
        // Selecting tests.
        all("randomize", Some('r'), Nothing),
        some("no-randomize", None, Nothing, 14..=14),
        some("prioritize", None, Value, 14..=14),
        all("fromfile", Some('f'), Value),
        all("exclude", Some('x'), Nothing),
        all("single", Some('s'), Nothing),
        all("match", Some('m'), Value),
        all("ignore", Some('i'), Value),
        all("matchfile", None, Value),
        all("ignorefile", None, Value),
        all("failfast", Some('G'), Nothing),
        all("use", Some('u'), Value),
        all("memlimit", Some('M'), Value),
        all("testdir", None, Value),
        // Special runs.
        all("runleaks", Some('L'), Nothing),
        all("huntrleaks", Some('R'), Value),
        all("multiprocess", Some('j'), Value),
        some("single-process", None, Nothing, 13..=14),
        some("parallel-threads", None, Value, 14..=14),
        all("coverage", Some('T'), Nothing),
        all("coverdir", Some('D'), Value),
        all("nocoverdir", Some('N'), Nothing),
        all("threshold", Some('t'), Value),
        all("nowindows", Some('n'), Nothing),
        all("forever", Some('F'), Nothing),
        all("list-tests", None, Nothing),
        all("list-cases", None, Nothing),
        all("pgo", Some('P'), Nothing),
        all("pgo-extended", None, Nothing),
        some("tsan", None, Nothing, 13..=14),
        some("tsan-parallel", None, Nothing, 14..=14),
        all("fail-env-changed", None, Nothing),
        some("fail-rerun", None, Nothing, 12..=14),
        all("junit-xml", None, Value),
        all("tempdir", None, Value),
        all("cleanup", None, Nothing),
        some("bisect", None, Nothing, 13..=14),
        some("pythoninfo", None, Nothing, 14..=14),
        some("dont-add-python-opts", None, Nothing, 12..=14),
    ]
};

/// The option a long one (`name`, without `--` and `=value`) is, written in full or
/// abbreviated as argparse allows, and as every version that takes it reads it: the regrtest
/// of a command line is of no version we know, and a version that refuses the line reports it
/// itself. None for an option no version has, an abbreviation ambiguous in every version, or
/// one that versions read as different options.
fn long_option(name: &str) -> Option<&'static RegrtestOption> {
    let mut found: Option<&'static RegrtestOption> = None;
    for version in VERSIONS {
        let options = || OPTIONS.iter().filter(move |o| o.versions.contains(&version));
        let read = options().find(|o| o.long == name).or_else(|| {
            let mut matches = options().filter(|o| o.long.starts_with(name));
            match (matches.next(), matches.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        });
        match (found, read) {
            (Some(before), Some(now)) if before.long != now.long => return None,
            (None, Some(now)) => found = Some(now),
            _ => {}
        }
    }
    found
}

/// The option a short letter is. None for a letter regrtest does not have.
fn short_option(letter: char) -> Option<&'static RegrtestOption> {
    OPTIONS.iter().find(|o| o.short == Some(letter))
}

/// What regrtest's arguments on a command line say: see [`regrtest_args`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RegrtestArgs {
    /// The index in the command line of regrtest's first argument.
    pub start: usize,
    /// The positional arguments, in order, those after `--` included: the tests to run, or
    /// with `-x` to exclude.
    pub positionals: Vec<String>,
    /// The index in the command line of the `--` that ends argparse's options (regrtest 3.11 to
    /// 3.13 then refuses the line all the same: `unrecognized arguments: --`).
    pub double_dash: Option<usize>,
    /// `-x`/`--exclude`: the positional arguments are tests not to run.
    pub exclude: bool,
    /// `-f`/`--fromfile`: tests are read from a file.
    pub fromfile: bool,
    /// `--testdir`: tests are found in another directory than `Lib/test`.
    pub testdir: bool,
    /// Tests are selected otherwise than by the names on the line: `-s`/`--single` (one test),
    /// `-S`/`--start` (from a test on), `--pgo`/`--pgo-extended`/`--tsan`/`--tsan-parallel`
    /// (their own lists), a worker's arguments.
    pub selects_otherwise: bool,
    /// `-R`/`--huntrleaks`.
    pub huntrleaks: bool,
    /// `-q`/`--quiet`: regrtest prints no progress line.
    pub quiet: bool,
    /// `--fail-env-changed`, or 3.12+'s `--slow-ci`/`--fast-ci`, which set it.
    pub fail_env_changed: bool,
    /// `-W`/`--verbose3`, or 3.12+'s `--slow-ci`/`--fast-ci`, which set it: a test's output is
    /// shown only when it did not pass.
    pub output_on_failure: bool,
    /// The file of regrtest's own `--junit-xml`, as given: the last one, which argparse keeps.
    pub junit_xml: Option<String>,
}

impl RegrtestArgs {
    /// Take the option named `long` (its long name), given with `value` when it takes one.
    fn take(&mut self, long: &str, value: Option<&String>) {
        match long {
            "exclude" => self.exclude = true,
            "fromfile" => self.fromfile = true,
            "testdir" => self.testdir = true,
            "single" | "start" | "pgo" | "pgo-extended" | "tsan" | "tsan-parallel" | "worker-args" | "worker-json" => {
                self.selects_otherwise = true;
            }
            "huntrleaks" => self.huntrleaks = true,
            "quiet" => self.quiet = true,
            "fail-env-changed" => self.fail_env_changed = true,
            "verbose3" => self.output_on_failure = true,
            "fast-ci" | "slow-ci" => {
                self.fail_env_changed = true;
                self.output_on_failure = true;
            }
            "junit-xml" => self.junit_xml = value.cloned(),
            _ => {}
        }
    }
}

/// What regrtest's arguments on a command line (`argv`, as in `/proc/PID/cmdline`) say, read
/// as regrtest's argparse reads them (the module documentation). None when the line does not
/// run regrtest's main process directly: `-m test` (`test.regrtest`, `test.__main__`, in a
/// cluster of the interpreter's flags: `-bEm test`), `regrtest.py`, 3.11's `run_tests.py`,
/// `test/__main__.py` or `Lib/test`; not a worker, nor `make buildbottest`. An option regrtest
/// does not have, or an ambiguous abbreviation, is passed over: regrtest refuses the line.
#[must_use]
pub fn regrtest_args(argv: &[String]) -> Option<RegrtestArgs> {
    let start = regrtest_args_start(argv)?;
    let mut args = RegrtestArgs { start, ..RegrtestArgs::default() };
    let mut index = start;
    while let Some(arg) = argv.get(index) {
        index += 1;
        if arg == "--" {
            args.double_dash = Some(index - 1);
            args.positionals.extend(argv[index..].iter().cloned());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (long, None),
            };
            let Some(option) = long_option(name) else { continue };
            let value = match (option.takes, inline) {
                (Takes::Value, None) => {
                    index += 1;
                    argv.get(index - 1).cloned()
                }
                (_, inline) => inline,
            };
            args.take(option.long, value.as_ref());
            continue;
        }
        let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) else {
            args.positionals.push(arg.clone());
            continue;
        };
        // A cluster of short options: the first that takes a value takes the rest.
        for (at, letter) in cluster.char_indices() {
            let Some(option) = short_option(letter) else { continue };
            if option.takes == Takes::Nothing {
                args.take(option.long, None);
                continue;
            }
            let rest = &cluster[at + letter.len_utf8()..];
            let value = if rest.is_empty() {
                index += 1;
                argv.get(index - 1).cloned()
            } else {
                Some(rest.to_owned())
            };
            args.take(option.long, value.as_ref());
            break;
        }
    }
    Some(args)
}

/// The file a regrtest command line's own `--junit-xml FILE` (`--junit-xml=FILE`, or an
/// abbreviation argparse takes) has regrtest write, as given: the last one, which argparse
/// keeps. regrtest opens it relative to the directory it started in (`os_helper.SAVEDCWD`),
/// not the temporary one its tests run in. None when the line is not regrtest's main process
/// or has none.
#[must_use]
pub fn junit_xml(argv: &[String]) -> Option<String> {
    regrtest_args(argv)?.junit_xml
}

/// The test files a regrtest command line names, as regrtest runs them: see [`selection`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// In order, each once, without a `.py` suffix.
    pub tests: Vec<String>,
    /// `-R`/`--huntrleaks` is given.
    pub huntrleaks: bool,
    /// `-q`/`--quiet` is given: regrtest prints no progress line, so a test the output names
    /// nowhere may have run (and passed or been skipped).
    pub quiet: bool,
}

/// A test file's name as regrtest takes it: `test_os`, `test.test_os`, `test_asyncio.test_tasks`.
static TEST_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$"));

/// The tests a regrtest command line (`python -m test -q -R 3:3 test_os test_sys`) names and
/// whether it hunts leaks: what quiet mode (`-q`), which never names a test it skipped, ran.
/// None when the line is not regrtest's main process, names no test (the whole suite) or
/// selects its tests otherwise (`-x`, `-f`, `--start`...), or names something that is no
/// test name (a path). 3.12+ splits some packages (`test_asyncio`) into their modules: the
/// caller must not take such a name for a test that never ran.
#[must_use]
pub fn selection(argv: &[String]) -> Option<Selection> {
    let args = regrtest_args(argv)?;
    if args.exclude || args.fromfile || args.selects_otherwise {
        return None;
    }
    let mut tests: Vec<String> = Vec::new();
    for arg in &args.positionals {
        let name = arg.strip_suffix(".py").unwrap_or(arg);
        if !TEST_NAME.is_match(name) {
            return None;
        }
        if !tests.iter().any(|t| t == name) {
            tests.push(name.to_owned());
        }
    }
    (!tests.is_empty()).then_some(Selection { tests, huntrleaks: args.huntrleaks, quiet: args.quiet })
}
#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// regrtest's own `--junit-xml`, however written; not another option's value, nor a test's
    /// name, nor an argument of another program.
    #[test]
    fn regrtest_s_own_junit_xml_file_is_found() {
        let found = |argv: &[&str]| junit_xml(&strings(argv));
        assert_eq!(
            found(&["python3", "-m", "test", "-R", "3:3", "--junit-xml", "a.xml", "test_os"]).as_deref(),
            Some("a.xml")
        );
        assert_eq!(found(&["python3", "-E", "-m", "test", "--junit-xml=b.xml"]).as_deref(), Some("b.xml"));
        assert_eq!(
            found(&["python3", "-m", "test", "--junit", "c.xml", "--junit-xml", "d.xml"]).as_deref(),
            Some("d.xml")
        );
        assert_eq!(found(&["python3", "Lib/test/regrtest.py", "--ju=e.xml"]).as_deref(), Some("e.xml"));
        // Values of other options.
        assert_eq!(found(&["python3", "-m", "test", "-m", "--junit-xml", "test_os"]), None);
        assert_eq!(found(&["python3", "-m", "test", "--match", "--junit-xml"]), None);
        assert_eq!(found(&["python3", "-m", "test", "-f", "--junit-xml", "-R", "3:3"]), None);
        assert_eq!(found(&["python3", "-m", "test", "-uall", "--junit-xml", "f.xml"]).as_deref(), Some("f.xml"));
        // After `--`, a test's name; not regrtest's command line.
        assert_eq!(found(&["python3", "-m", "test", "--", "--junit-xml", "g.xml"]), None);
        assert_eq!(found(&["python3", "-m", "unittest", "--junit-xml", "h.xml"]), None);
        assert_eq!(found(&["python3", "-m", "test", "test_os"]), None);
    }

    /// Every caller reads regrtest's arguments with one table: a long option's abbreviation is
    /// judged against all of a version's options, flags included, and read as the versions that
    /// take it read it.
    #[test]
    fn abbreviations_are_read_as_argparse_reads_them() {
        let option = |name: &str| long_option(name).map(|o| o.long);
        assert_eq!(option("testd"), Some("testdir"));
        assert_eq!(option("verbose"), Some("verbose"));
        assert_eq!(option("pgo"), Some("pgo"), "pgo, pgo-extended: the exact name wins");
        assert_eq!(option("verb"), None, "verbose, verbose2, verbose3");
        assert_eq!(option("h"), None, "help, header, huntrleaks");
        assert_eq!(option("cove"), None, "coverage, coverdir");
        assert_eq!(option("ra"), None, "randomize, randseed");
        assert_eq!(option("nope"), None);
        // Unique in the versions that have them, or in those that take them: `--py` is
        // `--python` up to 3.13 (3.14 refuses it: `--pythoninfo`), `--si` `--single` in 3.11
        // and 3.12, `--ts` `--tsan` in 3.13, `--w` `--wait` from 3.12.1 on.
        assert_eq!(option("py"), Some("python"));
        assert_eq!(option("si"), Some("single"));
        assert_eq!(option("ts"), Some("tsan"));
        assert_eq!(option("para"), Some("parallel-threads"));

        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let junit = |s: &str| junit_xml(&argv(s));
        let tests = |s: &str| selection(&argv(s)).map(|sel| sel.tests);
        // A flag's abbreviation takes no value.
        assert_eq!(junit("python -m test --h --junit-xml a.xml").as_deref(), Some("a.xml"));
        assert_eq!(junit("python -m test --cove --junit-xml a.xml").as_deref(), Some("a.xml"));
        assert_eq!(junit("python -m test --ra --junit-xml a.xml").as_deref(), Some("a.xml"));
        // 3.14's --parallel-threads takes one.
        assert_eq!(tests("python -m test --parallel-threads 4 test_os"), Some(strings(&["test_os"])));
        assert_eq!(tests("python -m test -j2 --py python3 test_os"), Some(strings(&["test_os"])));
        assert_eq!(tests("python -m test --ts test_os"), None, "--tsan runs its own list");
        assert_eq!(tests("python -m test --si test_os"), None, "--single");
        let parsed = regrtest_args(&argv("python -X dev -m test -qR3:3 --fast -j2 -- test_os")).unwrap();
        assert_eq!(parsed.start, 5);
        assert_eq!(parsed.positionals, ["test_os"]);
        assert_eq!(parsed.double_dash, Some(8));
        assert!(parsed.quiet && parsed.huntrleaks && parsed.fail_env_changed && parsed.output_on_failure);
        assert!(!parsed.exclude && !parsed.fromfile && !parsed.selects_otherwise);
    }

    /// What runs regrtest's main process, with its arguments after it: the interpreter's
    /// options read as `getopt.c` reads them, and each way of running regrtest.
    #[test]
    fn where_regrtest_s_arguments_start() {
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let start = |s: &str| regrtest_args(&argv(s)).map(|a| a.start);
        assert_eq!(start("python -m test -j2"), Some(3));
        assert_eq!(start("python -bEm test -j2"), Some(3));
        assert_eq!(start("python -Emtest.regrtest -j2"), Some(2));
        assert_eq!(start("python -W error -X dev -m test.__main__"), Some(7));
        assert_eq!(start("python --check-hash-based-pycs always -m test"), Some(5));
        assert_eq!(start("python -- Lib/test/regrtest.py -j2"), Some(3));
        for script in
            ["Lib/test/regrtest.py", "Tools/scripts/run_tests.py", "Lib/test", "Lib/test/", "test/__main__.py"]
        {
            assert_eq!(start(&format!("python -E {script} -j2")), Some(3), "{script}");
        }
        for no in [
            "python -m unittest -j2",
            "python -c pass -m test",
            "python - -m test",
            "python --help -m test",
            "python /x/latest/__main__.py",
            "python -m test.libregrtest.worker {}",
            "make buildbottest",
        ] {
            assert_eq!(start(no), None, "{no}");
        }
        let tests = |s: &str| selection(&argv(s)).map(|sel| sel.tests);
        assert_eq!(tests("python Tools/scripts/run_tests.py -q test_a"), Some(strings(&["test_a"])));
        assert_eq!(tests("python -m test.__main__ -q test_a"), Some(strings(&["test_a"])));
    }

    #[test]
    fn regrtest_command_lines_are_recognised() {
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        for yes in [
            "python3.11-dbg -m test -R 3:3 test_os",
            "./python -E -m test.regrtest --worker-args {}",
            "python -u -m test.libregrtest.worker {}",
            "python Lib/test/regrtest.py -j2",
            "python3.11-dbg -mtest -j2",
            "python3.11-dbg -bb -X faulthandler -Emtest.regrtest -R 3:3",
            "python3.11-dbg -W error -Em test",
        ] {
            assert!(is_regrtest_command(&argv(yes)), "{yes}");
        }
        for no in [
            "python -c import _testcapi",
            "python -m testing",
            "python -m pip install test",
            "bash",
            "python script.py -m test",
            "python -c -m test",
            "python -X -m test",
        ] {
            assert!(!is_regrtest_command(&argv(no)), "{no}");
        }
    }

    #[test]
    fn the_tests_a_regrtest_command_line_names() {
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let tests = |s: &str| selection(&argv(s)).map(|sel| (sel.tests, sel.huntrleaks));
        let named = |names: &[&str], huntrleaks| Some((strings(names), huntrleaks));
        assert_eq!(
            tests("python3.11-dbg -m test --testdir td -q -R 3:3 test_a test_b.py test_a"),
            named(&["test_a", "test_b"], true)
        );
        assert_eq!(tests("python -X dev -Em test -qR3:3 -j2 -u all -m test_x test_a"), named(&["test_a"], true));
        assert_eq!(
            tests("python -m test --huntr=: --testd td --match=x -- test.test_os"),
            named(&["test.test_os"], true)
        );
        assert_eq!(tests("python Lib/test/regrtest.py -q test_a"), named(&["test_a"], false));
        let quiet = |s: &str| selection(&argv(s)).map(|sel| sel.quiet);
        for yes in [
            "python -m test -q test_a",
            "python -m test -vqR3:3 test_a",
            "python -m test --quiet test_a",
            "python -m test --qui test_a",
        ] {
            assert_eq!(quiet(yes), Some(true), "{yes}");
        }
        for no in ["python -m test -R 3:3 -j2 test_a", "python -m test -m q test_a", "python -m test -uq test_a"] {
            assert_eq!(quiet(no), Some(false), "{no}");
        }
        for none in [
            "python -m test -q",
            "python -m test -x test_a",
            "python -m test -qx test_a",
            "python -m test -f list.txt test_a",
            "python -m test --start test_a test_b",
            "python -m test --fromf=list test_a",
            "python -m test Lib/test/test_os.py",
            "python -m test.libregrtest.worker {}",
            "python -c pass test_a",
            "timeout 60 python -m test test_a",
        ] {
            assert_eq!(tests(none), None, "{none}");
        }
    }
}
