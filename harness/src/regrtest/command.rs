//! Command lines: which run regrtest ([`is_regrtest_command`], for the processes a run
//! starts), which tests one names ([`selection`], for quiet mode's skipped tests) and the file
//! its own `--junit-xml` writes ([`junit_xml`], which must be none of leakcheck's outputs), from
//! regrtest's option tables.

use std::sync::LazyLock;

use regex::Regex;

use super::patterns::re;

/// Whether a command line (`argv`, as in `/proc/PID/cmdline`) runs regrtest: `-m test`,
/// `-m test.regrtest`, a `test.libregrtest` module (3.12+ workers), `regrtest.py`, or the worker
/// flags of 3.11 (`--worker-args`) and 3.12+ (`--worker-json`).
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
/// `-bEm test`, `-Emtest`), or the script, its first argument that is no option. Only the
/// interpreter's short options are understood: a long one (`--check-hash-based-pycs`) or `-c`
/// gives None.
fn python_main(argv: &[String]) -> Option<(Main<'_>, usize)> {
    let mut index = 1;
    while let Some(arg) = argv.get(index) {
        index += 1;
        if !arg.starts_with('-') {
            return Some((Main::Script(arg), index));
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

/// How a regrtest option takes its argument (`cmdline.py` of 3.11 to 3.14).
#[derive(Clone, Copy, PartialEq, Eq)]
enum RegrtestOption {
    /// None.
    Flag,
    /// The rest of a short option's cluster, after `=` in a long one, or the next argument.
    Value,
    /// `-R`/`--huntrleaks`, which takes a value.
    Huntrleaks,
    /// Selects tests otherwise than by the names on the line: `-x` (the names are excluded),
    /// `-f` (from a file), `-s`/`-S` (one test, or from a test on), `--pgo`/`--tsan` (their own
    /// lists), a worker's arguments.
    Selects,
}

/// The long options that take a value or select tests. A flag is not listed: argparse takes an
/// abbreviation only when it is unique among all options, so one that regrtest accepts and that
/// begins none of these is a flag.
const LONG_OPTIONS: &[(&str, RegrtestOption)] = {
    use RegrtestOption::*;
    &[
        ("timeout", Value),
        ("python", Value),
        ("randseed", Value),
        ("match", Value),
        ("ignore", Value),
        ("matchfile", Value),
        ("ignorefile", Value),
        ("use", Value),
        ("memlimit", Value),
        ("testdir", Value),
        ("multiprocess", Value),
        ("coverdir", Value),
        ("threshold", Value),
        ("junit-xml", Value),
        ("tempdir", Value),
        ("prioritize", Value),
        ("huntrleaks", Huntrleaks),
        ("start", Selects),
        ("fromfile", Selects),
        ("exclude", Selects),
        ("single", Selects),
        ("pgo", Selects),
        ("pgo-extended", Selects),
        ("tsan", Selects),
        ("tsan-parallel", Selects),
        ("worker-args", Selects),
        ("worker-json", Selects),
    ]
};

fn short_option(flag: char) -> RegrtestOption {
    match flag {
        'p' | 'm' | 'i' | 'u' | 'M' | 'j' | 'D' | 't' => RegrtestOption::Value,
        'R' => RegrtestOption::Huntrleaks,
        'S' | 'f' | 'x' | 's' | 'P' => RegrtestOption::Selects,
        _ => RegrtestOption::Flag,
    }
}

/// A long option, written in full or abbreviated as argparse allows.
fn long_option(name: &str) -> RegrtestOption {
    long_option_entry(name).map_or(RegrtestOption::Flag, |&(_, option)| option)
}

/// The entry of [`LONG_OPTIONS`] a long option written in full or abbreviated names; None for
/// an ambiguous abbreviation (regrtest refuses the line) or a flag.
fn long_option_entry(name: &str) -> Option<&'static (&'static str, RegrtestOption)> {
    if let Some(entry) = LONG_OPTIONS.iter().find(|(long, _)| *long == name) {
        return Some(entry);
    }
    let mut matches = LONG_OPTIONS.iter().filter(|(long, _)| long.starts_with(name));
    match (matches.next(), matches.next()) {
        (Some(entry), None) => Some(entry),
        _ => None,
    }
}

/// Whether a regrtest option takes a value: besides [`RegrtestOption::Value`] and `-R`, the
/// selecting ones that name a file or a test (`-f`/`--fromfile`, `-S`/`--start`) and a
/// worker's arguments.
fn takes_value(option: RegrtestOption, name: &str) -> bool {
    match option {
        RegrtestOption::Value | RegrtestOption::Huntrleaks => true,
        RegrtestOption::Selects => {
            matches!(name, "f" | "S" | "fromfile" | "start" | "worker-args" | "worker-json")
        }
        RegrtestOption::Flag => false,
    }
}

/// The file a regrtest command line's own `--junit-xml FILE` (`--junit-xml=FILE`, or an
/// abbreviation argparse takes) has regrtest write, as given: the last one, which argparse
/// keeps. regrtest opens it relative to the directory it started in (`os_helper.SAVEDCWD`),
/// not the temporary one its tests run in. None when the line is not regrtest's main process
/// or has none.
#[must_use]
pub fn junit_xml(argv: &[String]) -> Option<String> {
    let (main, start) = python_main(argv)?;
    if !runs_regrtest_main(&main) {
        return None;
    }
    let mut file = None;
    let mut args = argv.get(start..)?.iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            continue;
        }
        let value_follows = match arg.strip_prefix("--") {
            Some(long) => {
                let (name, value) = match long.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (long, None),
                };
                let entry = long_option_entry(name);
                if entry.is_some_and(|(long, _)| *long == "junit-xml") {
                    file = match value {
                        Some(value) => Some(value.to_owned()),
                        None => args.next().cloned(),
                    };
                    continue;
                }
                value.is_none() && entry.is_some_and(|&(long, option)| takes_value(option, long))
            }
            None => {
                // A cluster of short options: the first that takes a value takes the rest.
                let flags = &arg[1..];
                let mut buffer = [0; 4];
                flags
                    .char_indices()
                    .find(|&(_, flag)| takes_value(short_option(flag), flag.encode_utf8(&mut buffer)))
                    .is_some_and(|(at, _)| at + 1 == flags.len())
            }
        };
        if value_follows {
            args.next();
        }
    }
    file
}

/// Whether what the interpreter runs is regrtest's main process: `-m test` (or
/// `test.regrtest`, `test.__main__`), `regrtest.py`, `test/__main__.py`.
fn runs_regrtest_main(main: &Main<'_>) -> bool {
    match main {
        Main::Module(module) => matches!(*module, "test" | "test.regrtest" | "test.__main__"),
        Main::Script(script) => script.ends_with("regrtest.py") || script.ends_with("/test/__main__.py"),
    }
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
    let (main, start) = python_main(argv)?;
    if !runs_regrtest_main(&main) {
        return None;
    }
    let mut selection = Selection { tests: Vec::new(), huntrleaks: false, quiet: false };
    let mut args = argv.get(start..)?.iter();
    let mut options_over = false;
    while let Some(arg) = args.next() {
        if options_over || !arg.starts_with('-') || arg == "-" {
            let name = arg.strip_suffix(".py").unwrap_or(arg);
            if !TEST_NAME.is_match(name) {
                return None;
            }
            if !selection.tests.iter().any(|t| t == name) {
                selection.tests.push(name.to_owned());
            }
            continue;
        }
        if arg == "--" {
            options_over = true;
            continue;
        }
        let (option, value_follows) = match arg.strip_prefix("--") {
            Some(long) => {
                // No other long option begins with a `q`: any abbreviation of `--quiet` is it.
                selection.quiet |= !long.is_empty() && "quiet".starts_with(long);
                match long.split_once('=') {
                    Some((name, _)) => (long_option(name), false),
                    None => (long_option(long), true),
                }
            }
            None => {
                // A cluster of short options: the first that takes a value takes the rest.
                let flags = &arg[1..];
                let found = flags
                    .char_indices()
                    .map(|(at, flag)| (at, short_option(flag)))
                    .find(|(_, o)| *o != RegrtestOption::Flag);
                let flags_end = found.map_or(flags.len(), |(at, _)| at);
                selection.quiet |= flags[..flags_end].contains('q');
                match found {
                    Some((at, option)) => (option, at + 1 == flags.len()),
                    None => (RegrtestOption::Flag, false),
                }
            }
        };
        match option {
            RegrtestOption::Selects => return None,
            RegrtestOption::Flag => continue,
            RegrtestOption::Huntrleaks => selection.huntrleaks = true,
            RegrtestOption::Value => {}
        }
        if value_follows {
            args.next();
        }
    }
    (!selection.tests.is_empty()).then_some(selection)
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
