//! `leakcheck --sanitizer asan` on Debian's plain python3.11-dbg loading an instrumented
//! extension (`c/sanitizer/asanext.c`, built `-fsanitize=address,undefined`): gcc's libasan is
//! preloaded first, the extension's errors become findings of the regrtest test that made
//! them, at the fixture's lines, sequentially and with `-j 2`, and the exit status says so.
//! On Debian's debug CPython 3.13 (`python3.13-dbg`, in the sid root of [`common::sid`], with
//! the root's libasan), one bug reported before and after the adaptive interpreter specialized
//! its call is one finding. A program built with clang's
//! `-fsanitize=address,undefined` is set up for both runtimes. A UBSan report on stderr with
//! lines of stdout between its lines (two pipes) is one whole finding. The parser itself, on
//! every report kind, is tested in `sanitizer.rs`.

mod common;

use std::path::Path;

use common::sid::{run_in_root, PY313};
use common::{as_strs, leakcheck_in, python, testdir};
use leakcheck_fixtures::sanitizer as fixtures;
use serde_json::{json, Value};

/// The line of `asanext.c` holding `/* MARK name */`.
fn mark(name: &str) -> u64 {
    let source = std::fs::read_to_string(Path::new(fixtures::SOURCE_DIR).join("asanext.c")).unwrap();
    let needle = format!("/* MARK {name} */");
    let index = source.lines().position(|l| l.contains(&needle)).unwrap_or_else(|| panic!("no {needle}"));
    index as u64 + 1
}

/// The fixtures' test directory plus `_asanext` and its regrtest modules.
fn sanitizer_testdir() -> tempfile::TempDir {
    let dir = testdir();
    let extension = Path::new(fixtures::ASANEXT.expect("the _asanext fixture"));
    std::fs::copy(extension, dir.path().join(extension.file_name().unwrap())).unwrap();
    for entry in std::fs::read_dir(fixtures::SOURCE_DIR).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("test_asanext") && name.ends_with(".py") {
            std::fs::copy(entry.path(), dir.path().join(&name)).unwrap();
        }
    }
    dir
}

/// `python3.11-dbg -m test --testdir DIR ARGS... TESTS...`, without -R: one call each.
fn regrtest(dir: &Path, args: &[&str], tests: &[&str]) -> Vec<String> {
    common::regrtest_with(python(), dir, args, tests)
}

fn findings(report: &Value) -> &Vec<Value> {
    report["sanitizer_findings"].as_array().expect("sanitizer_findings")
}

fn find<'a>(report: &'a Value, kind: &str) -> &'a Value {
    findings(report).iter().find(|f| f["kind"] == kind).unwrap_or_else(|| panic!("no {kind} in {report:#}"))
}

/// Does `frames` have `function` at line `line` of asanext.c?
fn has_frame(frames: &Value, function: Option<&str>, line: u64) -> bool {
    frames.as_array().unwrap().iter().any(|f| {
        f["file"].as_str().is_some_and(|file| file.ends_with("asanext.c"))
            && f["line"] == line
            && function.is_none_or(|name| f["function"] == name)
    })
}

#[test]
fn recoverable_errors_are_findings_of_their_tests_at_the_fixture_lines() {
    let dir = sanitizer_testdir();
    let argv = regrtest(dir.path(), &[], &["test_asanext", "test_asanext_signed_overflow", "test_balanced"]);
    let run = leakcheck_in(None, &["--sanitizer", "asan"], &as_strs(&argv), &[("ASAN_OPTIONS", "halt_on_error=0")]);
    check_recoverable_errors(&run);
}

/// An extension built with `-fsanitize=address,undefined` on the plain interpreter, with
/// `--sanitizer asan,ubsan`: both runtimes preloaded (libasan first) and both given their
/// options, so UBSan's report has its stack (`print_stacktrace=1`), down to the fixture's
/// function. With `--sanitizer asan` alone UBSan prints its one `runtime error:` line.
#[test]
fn asan_and_ubsan_forced_together_give_ubsan_its_stack() {
    let dir = sanitizer_testdir();
    let argv = regrtest(dir.path(), &[], &["test_asanext_signed_overflow"]);
    let run = leakcheck_in(None, &["--sanitizer", "ubsan,asan"], &as_strs(&argv), &[]);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["sanitizer"]["runtimes"], json!(["asan", "ubsan"]), "{}", report["sanitizer"]);
    let preloaded = report["sanitizer"]["preloaded"].to_string();
    assert!(preloaded.find("libasan").unwrap() < preloaded.find("libubsan").unwrap(), "{preloaded}");
    let ubsan = find(report, "signed-integer-overflow");
    assert_eq!(ubsan["test"], "test_asanext_signed_overflow");
    assert!(has_frame(&ubsan["frames"], Some("signed_overflow"), mark("fault_signed_overflow")), "{ubsan:#}");
    assert!(ubsan["frames"].as_array().unwrap().len() > 1, "a stack, not the error line alone: {ubsan:#}");
}

/// As [`recoverable_errors_are_findings_of_their_tests_at_the_fixture_lines`], with leakcheck's
/// stdout and stderr one file (`2>&1`): the reports come on the command's one pipe for both.
#[test]
fn recoverable_errors_on_one_pipe_for_stdout_and_stderr_are_findings_of_their_tests() {
    let dir = sanitizer_testdir();
    let argv = regrtest(dir.path(), &[], &["test_asanext", "test_asanext_signed_overflow", "test_balanced"]);
    let run = common::leakcheck_into_one_file(
        &["--sanitizer", "asan"],
        &as_strs(&argv),
        &[("ASAN_OPTIONS", "halt_on_error=0")],
    );
    check_recoverable_errors(&run);
    let log = run.log();
    assert!(String::from_utf8_lossy(&log).contains("ERROR: AddressSanitizer: heap-buffer-overflow"));
    assert!(common::without_leakchecks_lines(&run.stdout) == log, "the log is the command's output:\n{}", run.stderr);
}

/// With the summaries turned off (`print_summary=0`, here in `LSAN_OPTIONS`, which an ASAN
/// runtime reads after `ASAN_OPTIONS`), each report ends at its shadow-byte dump, whole: not
/// truncated, its stacks and its test as with them, and the next test's lines not its.
#[test]
fn reports_without_summaries_are_whole() {
    let dir = sanitizer_testdir();
    let argv = regrtest(dir.path(), &[], &["test_asanext", "test_balanced"]);
    let options = [("ASAN_OPTIONS", "halt_on_error=0:print_summary=1"), ("LSAN_OPTIONS", "print_summary=0")];
    let run = leakcheck_in(None, &["--sanitizer", "asan"], &as_strs(&argv), &options);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    let report = run.json();
    assert!(!String::from_utf8_lossy(&run.log()).contains("SUMMARY: "), "the runtime printed no summary");
    for (kind, function, line) in
        [("heap-buffer-overflow", "overflow", "fault_overflow"), ("heap-use-after-free", "use_after_free", "fault_uaf")]
    {
        let finding = find(report, kind);
        assert_eq!(
            (&finding["end"], &finding["truncated"], &finding["summary"], &finding["test"]),
            (&json!("shadow_dump"), &json!(false), &Value::Null, &json!("test_asanext")),
            "{finding:#}"
        );
        assert!(has_frame(&finding["frames"], Some(function), mark(line)), "{finding:#}");
        assert!(!finding["related"].as_array().unwrap().is_empty(), "{finding:#}");
    }
    assert!(!run.stderr.contains("[report truncated]"), "{}", run.stderr);
}

/// A report a test prints as text (`test_asanext_printed`: pid 123, a process that never ran)
/// is no finding in a run with no sanitizer runtime detected or forced: a warning names it, and
/// the exit status is regrtest's. The real reports of the same run count: the user preloads
/// libasan under `--sanitizer none`, and their processes' pids were handed out during the run.
/// With a runtime forced, every report in the output counts, as before.
#[test]
fn a_report_a_test_prints_with_a_pid_of_no_process_of_the_run_is_no_finding() {
    let dir = sanitizer_testdir();
    let libasan = fixtures::LIBASAN.expect("libasan");
    let printed_only = regrtest(dir.path(), &[], &["test_asanext_printed", "test_balanced"]);
    let run = leakcheck_in(None, &["--sanitizer", "none"], &as_strs(&printed_only), &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let report = run.json();
    assert_eq!(findings(report).len(), 0, "{report:#}");
    let warnings: Vec<&str> = report["warnings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let warning = warnings.iter().find(|w| w.contains("were not counted")).unwrap_or_else(|| panic!("{warnings:?}"));
    assert!(
        warning.starts_with("1 sanitizer report(s) in the output were not counted as findings")
            && warning
                .contains("AddressSanitizer heap-use-after-free in parse_fixture (/nonexistent/fixture.c:42), pid 123"),
        "{warning}"
    );
    assert!(run.stderr.contains("pid 123"), "{}", run.stderr);

    let argv = regrtest(dir.path(), &[], &["test_asanext_printed", "test_asanext"]);
    let env = [("LD_PRELOAD", libasan), ("ASAN_OPTIONS", "detect_leaks=0:halt_on_error=0")];
    let run = leakcheck_in(None, &["--sanitizer", "none"], &as_strs(&argv), &env);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["sanitizer"]["runtimes"], json!([]));
    let kinds: Vec<(&str, &str)> = findings(report)
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["frames"][0]["function"].as_str().unwrap_or("?")))
        .collect();
    assert_eq!(kinds, [("heap-buffer-overflow", "overflow"), ("heap-use-after-free", "use_after_free")], "{report:#}");
    assert!(findings(report).iter().all(|f| f["test"] == "test_asanext" && f["pid"] != 123));
    assert!(run.stderr.contains("were not counted as findings"), "{}", run.stderr);

    let run = leakcheck_in(None, &["--sanitizer", "asan"], &as_strs(&printed_only), &[]);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    let printed = find(run.json(), "heap-use-after-free");
    assert_eq!((&printed["pid"], &printed["test"]), (&json!(123), &json!("test_asanext_printed")));
}

fn check_recoverable_errors(run: &common::Run) {
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    let report = run.json();
    assert!(report["sanitizer"]["preloaded"][0].as_str().unwrap().contains("libasan"), "{}", report["sanitizer"]);

    let overflow = find(report, "heap-buffer-overflow");
    assert_eq!(overflow["sanitizer"], "asan");
    assert_eq!(overflow["log_file"], Value::Null, "in the command's output");
    assert_eq!(overflow["test"], "test_asanext");
    assert!(has_frame(&overflow["frames"], Some("overflow"), mark("fault_overflow")), "{overflow:#}");
    let allocated =
        overflow["related"].as_array().unwrap().iter().find(|r| r["label"].as_str().unwrap().contains("allocated"));
    assert!(has_frame(&allocated.expect("an allocation stack")["frames"], Some("overflow"), mark("alloc_overflow")));

    let uaf = find(report, "heap-use-after-free");
    assert_eq!(uaf["test"], "test_asanext");
    assert!(has_frame(&uaf["frames"], Some("use_after_free"), mark("fault_uaf")), "{uaf:#}");
    let freed =
        uaf["related"].as_array().unwrap().iter().find(|r| r["label"].as_str().unwrap().starts_with("freed by"));
    assert!(has_frame(&freed.expect("a free stack")["frames"], Some("use_after_free"), mark("free_uaf")));

    let ubsan = find(report, "signed-integer-overflow");
    assert_eq!(ubsan["sanitizer"], "ubsan");
    assert_eq!(ubsan["test"], "test_asanext_signed_overflow");
    assert!(has_frame(&ubsan["frames"], None, mark("fault_signed_overflow")), "{ubsan:#}");

    assert!(findings(report).iter().all(|f| f["test"] != "test_balanced"));
    assert_eq!(run.test("test_balanced")["outcome"], "passed");
    assert_eq!(run.test("test_asanext")["outcome"], "passed", "halt_on_error=0: the process went on");
    assert_eq!(report["summary"]["sanitizer_findings"].as_u64(), Some(findings(report).len() as u64));
}

/// The same heap-buffer-overflow in two tests, once in one and five times in the other, is one
/// finding of six reports; each test's own outputs (its JUnit testcase, its issue draft) count
/// its own reports, and the text summary says how many each had. leakcheck's stdout and stderr
/// are one file here, so the command's lines come in the order it wrote them: with two pipes,
/// a loaded machine (the whole suite at once) could put a report of the second test before its
/// progress line (the order of two pipes is a reconstruction, see the README's limits).
#[test]
fn a_finding_of_two_tests_counts_each_tests_own_reports() {
    let dir = sanitizer_testdir();
    let work = tempfile::tempdir().unwrap();
    let (junit, drafts) = (work.path().join("junit.xml"), work.path().join("drafts"));
    let argv = regrtest(dir.path(), &[], &["test_asanext", "test_asanext_repeated"]);
    let flags =
        ["--sanitizer", "asan", "--junit-xml", junit.to_str().unwrap(), "--issue-draft", drafts.to_str().unwrap()];
    let options = "halt_on_error=0:suppress_equal_pcs=0";
    let run = common::leakcheck_into_one_file(&flags, &as_strs(&argv), &[("ASAN_OPTIONS", options)]);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    let overflow = find(run.json(), "heap-buffer-overflow");
    assert_eq!((&overflow["count"], &overflow["test"]), (&json!(6), &json!("test_asanext")), "{overflow:#}");
    assert_eq!(overflow["other_tests"], json!(["test_asanext_repeated"]), "{overflow:#}");

    let xml = std::fs::read_to_string(&junit).unwrap();
    let case = |name: &str| {
        let start = xml.find(&format!(r#"<testcase name="{name}" classname="regrtest">"#)).expect(name);
        xml[start..].split("</testcase>").next().unwrap().to_owned()
    };
    let overflow_message = |case: &str| {
        case.split("<failure message=\"").skip(1).find(|m| m.contains("heap-buffer-overflow")).map(|m| m.to_owned())
    };
    // test_asanext's other finding (a use after free) is in the same message: one failure each.
    for name in ["test_asanext", "test_asanext_repeated"] {
        assert_eq!(case(name).matches("<failure ").count(), 1, "{}", case(name));
    }
    let once = overflow_message(&case("test_asanext")).expect("test_asanext's overflow");
    assert!(once.contains("in overflow (1 report in this test, 6 in all)"), "{once}");
    let five = overflow_message(&case("test_asanext_repeated")).expect("test_asanext_repeated's overflow");
    assert!(five.contains("in overflow (5 reports in this test, 6 in all)\""), "{five}");
    let draft = std::fs::read_to_string(drafts.join("test_asanext_repeated.md")).unwrap();
    assert!(draft.contains("(5 reports in this test, 6 in all)"), "{draft}");
    assert!(!draft.contains("overflow (6 reports)"), "{draft}");
    assert!(run.stderr.contains("(6 reports: test_asanext 1, test_asanext_repeated 5)"), "{}", run.stderr);
}

/// With regrtest's `-q`, no line of the output names a passing test: each report gets the test
/// the shim's records tell for its process, with `-j 2` (a worker runs one test) and
/// sequentially (one process, two tests: the one that ran when the report arrived). The JUnit
/// testcases fail and the text summary counts each test's reports.
#[test]
fn reports_of_quiet_runs_get_the_tests_the_shim_saw_their_processes_run() {
    let dir = sanitizer_testdir();
    let work = tempfile::tempdir().unwrap();
    let junit = work.path().join("junit.xml");
    let flags = ["--sanitizer", "asan", "--junit-xml", junit.to_str().unwrap()];
    let options = "halt_on_error=0:suppress_equal_pcs=0";
    for quiet in [&["-q", "-j", "2", "-R", "3:3"][..], &["-q", "-R", "3:3"]] {
        let argv = regrtest(dir.path(), quiet, &["test_asanext", "test_asanext_repeated"]);
        let run = leakcheck_in(None, &flags, &as_strs(&argv), &[("ASAN_OPTIONS", options)]);
        assert_eq!(run.code(), Some(103), "{quiet:?}: {}", run.stderr);
        assert!(!String::from_utf8_lossy(&run.log()).contains("test_asanext"), "{quiet:?}: quiet");
        // 6 repetitions: one overflow each in test_asanext, five in test_asanext_repeated.
        // Which test's report comes first is the order of the output: with -j, of the workers'.
        let overflow = find(run.json(), "heap-buffer-overflow");
        assert_eq!(overflow["count"], 36, "{quiet:?}: {overflow:#}");
        let mut tests = vec![overflow["test"].clone()];
        tests.extend(overflow["other_tests"].as_array().cloned().unwrap_or_default());
        tests.sort_by_key(|t| t.to_string());
        assert_eq!(tests, [json!("test_asanext"), json!("test_asanext_repeated")], "{quiet:?}: {overflow:#}");
        assert_eq!(find(run.json(), "heap-use-after-free")["test"], "test_asanext", "{quiet:?}");
        let counts = ["test_asanext 6, test_asanext_repeated 30", "test_asanext_repeated 30, test_asanext 6"];
        if quiet.contains(&"-j") {
            assert!(
                counts.iter().any(|c| run.stderr.contains(&format!("(36 reports: {c})"))),
                "{quiet:?}: {}",
                run.stderr
            );
        } else {
            // One process runs both tests: a report goes by when leakcheck read it, and on a
            // loaded machine the last reports of test_asanext, written before its series ended
            // but still in the pipe, are read once test_asanext_repeated began (docs/report.md,
            // `test`): only that way, never the other.
            let count = |test: &str| -> Option<u32> {
                let re = regex::Regex::new(&format!(r"\(36 reports: [^)]*\b{test} (\d+)[,)]")).unwrap();
                re.captures(&run.stderr)?[1].parse().ok()
            };
            let (own, next) = (count("test_asanext"), count("test_asanext_repeated"));
            let (own, next) = own.zip(next).unwrap_or_else(|| panic!("{quiet:?}: {}", run.stderr));
            assert!((1..=6).contains(&own) && own + next == 36, "{quiet:?}: {}", run.stderr);
        }
        let xml = std::fs::read_to_string(&junit).unwrap();
        for name in ["test_asanext", "test_asanext_repeated"] {
            let start = xml.find(&format!(r#"<testcase name="{name}" classname="regrtest">"#)).expect(name);
            let case = xml[start..].split("</testcase>").next().unwrap();
            assert!(case.contains("<failure ") && case.contains("heap-buffer-overflow"), "{quiet:?}: {case}");
        }
    }
}

/// With `symbolize=0`, leakcheck symbolizes the frames itself: a test that copies the extension
/// into a temporary directory, runs it in a subprocess and removes the directory gets its frames
/// symbolized all the same (read when the report completed, kept in memory), unless the removal
/// won the race with leakcheck's reading. When the module was gone before the report even
/// arrived (held back, then printed), a warning says so plainly.
#[test]
fn a_module_the_test_removed_after_its_report_is_still_symbolized() {
    let dir = sanitizer_testdir();
    let argv = regrtest(dir.path(), &[], &["test_asanext_tmpcopy"]);
    let options = [("ASAN_OPTIONS", "halt_on_error=0:symbolize=0")];
    let run = leakcheck_in(None, &["--sanitizer", "asan"], &as_strs(&argv), &options);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    let overflow = find(run.json(), "heap-buffer-overflow");
    assert_eq!(overflow["test"], "test_asanext_tmpcopy");
    assert!(overflow["frames"][0]["module"].as_str().is_some_and(|m| m.starts_with("/tmp/")), "{overflow:#}");
    // The test removes the directory as soon as its subprocess exits: leakcheck reads the
    // report first almost always, but a loaded machine can let the removal win. Either way the
    // report is truthful: the fixture's frame, or no frame and a warning saying why.
    let warnings = run.json()["warnings"].to_string();
    if has_frame(&overflow["frames"], Some("overflow"), mark("fault_overflow")) {
        assert!(overflow["summary"].as_str().is_some_and(|s| s.ends_with(" in overflow")), "{overflow:#}");
        assert!(!warnings.contains("cannot read") && !warnings.contains("already gone"), "{warnings}");
    } else {
        assert_eq!(overflow["frames"][0]["function"], Value::Null, "{overflow:#}");
        assert!(warnings.contains("was already gone when leakcheck read the sanitizer report naming it"), "{warnings}");
    }

    // The report held back until the directory is removed.
    let extension = Path::new(fixtures::ASANEXT.expect("the _asanext fixture"));
    let script = r#"d=$(mktemp -d) && cp "$1" "$d" && PYTHONPATH="$d" "$2" -c 'import _asanext; _asanext.overflow()' 2>"$d.err"; rm -rf "$d"; cat "$d.err" >&2; rm -f "$d.err""#;
    let command = ["sh", "-c", script, "sh", extension.to_str().unwrap(), python()];
    let run = leakcheck_in(None, &["--sanitizer", "asan"], &command, &options);
    let overflow = find(run.json(), "heap-buffer-overflow");
    let module = overflow["frames"][0]["module"].as_str().unwrap_or_else(|| panic!("{overflow:#}"));
    assert_eq!(overflow["frames"][0]["function"], Value::Null, "{overflow:#}");
    let warnings = run.json()["warnings"].as_array().unwrap();
    let gone = warnings.iter().filter_map(Value::as_str).find(|w| w.starts_with(module));
    assert!(
        gone.is_some_and(|w| w.contains("was already gone when leakcheck read the sanitizer report naming it")),
        "{warnings:#?}"
    );
}

/// With `-j 2`, a worker's output reaches regrtest's after the worker's result line: a fatal
/// double free and LeakSanitizer's report at a worker's exit still go to the right test.
#[test]
fn fatal_errors_and_leaks_in_workers_go_to_their_tests() {
    let dir = sanitizer_testdir();
    let argv = regrtest(dir.path(), &["-j", "2"], &["test_asanext_double_free", "test_asanext_leak", "test_balanced"]);
    let extra = ["--sanitizer", "asan", "--annotations", "github"];
    let run = leakcheck_in(None, &extra, &as_strs(&argv), &[("ASAN_OPTIONS", "detect_leaks=1")]);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    let report = run.json();

    let double_free = find(report, "double-free");
    assert_eq!(double_free["test"], "test_asanext_double_free");
    assert!(has_frame(&double_free["frames"], Some("double_free"), mark("fault_double_free")), "{double_free:#}");
    assert_ne!(run.test("test_asanext_double_free")["outcome"], "passed", "ASAN aborts on a double free");

    // Each worker's exit has its LSan report (the interpreter's own blocks too); the one of the
    // leaking test holds the fixture's block.
    let leak = findings(report)
        .iter()
        .filter(|f| f["sanitizer"] == "lsan")
        .find(|f| {
            f["related"].as_array().unwrap().iter().any(|r| has_frame(&r["frames"], Some("leak"), mark("alloc_leak")))
        })
        .unwrap_or_else(|| panic!("no LSan finding with the fixture's block: {report:#}"));
    assert_eq!(leak["test"], "test_asanext_leak");
    assert_eq!(leak["kind"], "detected memory leaks");
    // The summary shows the fixture's leak first, from its own frame, whatever LSan's order;
    // the annotation points at its line.
    let head = "leakcheck: SANITIZER in test_asanext_leak: LeakSanitizer detected memory leaks";
    let at = run.stderr.find(head).unwrap_or_else(|| panic!("{}", run.stderr));
    let lines: Vec<&str> = run.stderr[at..].lines().skip(2).take(2).collect();
    assert!(lines[0].contains("Direct leak of 40 byte(s) in 1 object(s)"), "{lines:?}\n{}", run.stderr);
    let frame = format!("#1 leak  {}", Path::new(fixtures::SOURCE_DIR).join("asanext.c").display());
    assert!(lines[1].contains(&frame) && lines[1].ends_with(&format!(":{}", mark("alloc_leak"))), "{lines:?}");
    let annotations = String::from_utf8_lossy(&run.stdout);
    let annotation = annotations
        .lines()
        .find(|l| l.contains("title=leakcheck%3A test_asanext_leak had a sanitizer error::LeakSanitizer"))
        .unwrap_or_else(|| panic!("{annotations}"));
    assert!(annotation.contains(&format!("asanext.c,line={},", mark("alloc_leak"))), "{annotation}");
}

/// The same double free in a child process that prints its frames unsymbolized (`symbolize=0`,
/// as a test setting its own options would), which leakcheck symbolizes, and in the test's own
/// process, whose runtime symbolizes them (gcc's libasan, with libbacktrace): the two name
/// `free`'s frame differently (`__interceptor_free.part.0`, GCC's clone, by the symbol table;
/// `__interceptor_free` by DWARF) and join the interpreter's directories differently
/// (`build-debug/../Objects/methodobject.c`, `../Objects/methodobject.c`). One bug, one
/// finding of both tests, shown with the first report's frames.
#[test]
fn a_bug_symbolized_by_the_runtime_and_by_leakcheck_is_one_finding() {
    let dir = sanitizer_testdir();
    // Sequentially: the test's own double free ends regrtest's process, so it comes last.
    let argv = regrtest(dir.path(), &[], &["test_asanext_double_free_nosym", "test_asanext_double_free"]);
    let run = leakcheck_in(None, &["--sanitizer", "asan"], &as_strs(&argv), &[]);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    // What the two reports printed: one unsymbolized, one symbolized by the runtime.
    let log = String::from_utf8_lossy(&run.log()).into_owned();
    let extension = Path::new(fixtures::ASANEXT.unwrap()).file_name().unwrap().to_string_lossy().into_owned();
    assert!(log.contains(&format!("{extension}+0x")), "a report with symbolize=0:\n{log}");
    assert!(log.contains(" in __interceptor_free ") && log.contains(" in double_free "), "a symbolized one:\n{log}");

    let report = run.json();
    let double_frees: Vec<&Value> = findings(report).iter().filter(|f| f["kind"] == "double-free").collect();
    assert_eq!(double_frees.len(), 1, "{report:#}");
    let finding = double_frees[0];
    assert_eq!(
        (&finding["count"], &finding["test"], &finding["other_tests"]),
        (&json!(2), &json!("test_asanext_double_free_nosym"), &json!(["test_asanext_double_free"])),
        "{finding:#}"
    );
    // The first report's frames, as leakcheck symbolized them.
    assert_eq!(finding["frames"][0]["function"], "__interceptor_free.part.0", "{finding:#}");
    assert!(has_frame(&finding["frames"], Some("double_free"), mark("fault_double_free")), "{finding:#}");
    assert_eq!(report["summary"]["sanitizer_findings"], 1, "{:#}", report["summary"]);
    assert!(
        run.stderr.contains("(2 reports: test_asanext_double_free_nosym 1, test_asanext_double_free 1)"),
        "{}",
        run.stderr
    );
}

/// A UBSan report from an extension built without `-g` and stripped: its frames are
/// `(module+0xOFFSET)` and nothing more, but its headline names the source line (the compiler
/// writes it into the check), and the annotation and the issue draft point there.
#[test]
fn a_ubsan_finding_in_a_stripped_module_is_at_its_headlines_line() {
    let dir = testdir();
    let extension = Path::new(fixtures::UBSANEXT_STRIPPED.expect("the stripped _ubsanext fixture"));
    std::fs::copy(extension, dir.path().join(extension.file_name().unwrap())).unwrap();
    std::fs::copy(Path::new(fixtures::SOURCE_DIR).join("test_ubsanext.py"), dir.path().join("test_ubsanext.py"))
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let drafts = work.path().join("drafts");
    let flags = ["--sanitizer", "ubsan", "--annotations", "github", "--issue-draft", drafts.to_str().unwrap()];
    let argv = regrtest(dir.path(), &[], &["test_ubsanext"]);
    let run = leakcheck_in(None, &flags, &as_strs(&argv), &[]);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);

    let ubsan = find(run.json(), "signed-integer-overflow");
    let first = &ubsan["frames"][0];
    assert_eq!(
        (&first["function"], &first["file"], &first["line"]),
        (&Value::Null, &Value::Null, &Value::Null),
        "{ubsan:#}"
    );
    assert!(first["module"].as_str().is_some_and(|m| m.ends_with(&*extension.file_name().unwrap().to_string_lossy())));
    let source = Path::new(fixtures::SOURCE_DIR).join("ubsanext.c");
    let text = std::fs::read_to_string(&source).unwrap();
    let line = text.lines().position(|l| l.contains("/* MARK ubsan_signed_overflow */")).unwrap() + 1;
    let at = format!("{}:{line}", source.display());
    assert!(ubsan["message"].as_str().is_some_and(|m| m.starts_with(&format!("{at}:"))), "{ubsan:#}");

    let stdout = String::from_utf8_lossy(&run.stdout);
    let annotation = stdout
        .lines()
        .find(|l| l.contains("title=leakcheck%3A test_ubsanext had a sanitizer error::"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(annotation.starts_with(&format!("::error file={},line={line},", source.display())), "{annotation}");
    let draft = std::fs::read_to_string(drafts.join("test_ubsanext.md")).unwrap();
    assert!(draft.contains(&format!("  - at `{at}`\n")), "{draft}");
    assert!(!draft.lines().any(|l| l.starts_with("  - at ") && l.contains("+0x")), "no module and offset: {draft}");
}

/// `ASAN_OPTIONS=log_path=PREFIX` sends reports to `PREFIX.PID` files instead of stderr: they
/// are read after the run, still findings, and the report says where they came from. A file
/// names a process, not a test: with `-R` the shim's records name the test the process died
/// in; without, the test is unknown. A relative prefix that left no file gets a warning that
/// says why.
#[test]
fn reports_written_to_log_path_files_are_read() {
    let dir = sanitizer_testdir();
    for (flags, test) in [(&["-R", "3:3"][..], json!("test_asanext_double_free")), (&[][..], Value::Null)] {
        let logs = tempfile::tempdir().expect("a temporary directory");
        let prefix = logs.path().join("asan");
        let options = format!("log_path={}", prefix.display());
        let argv = regrtest(dir.path(), flags, &["test_balanced", "test_asanext_double_free"]);
        let run = leakcheck_in(None, &["--sanitizer", "asan"], &as_strs(&argv), &[("ASAN_OPTIONS", &options)]);
        assert_eq!(run.code(), Some(103), "{}", run.stderr);
        let log = String::from_utf8_lossy(&run.log()).into_owned();
        assert!(!log.contains("ERROR: AddressSanitizer"), "the report went to the file, not the output:\n{log}");
        let report = run.json();
        let double_free = find(report, "double-free");
        assert_eq!(double_free["test"], test, "{flags:?}");
        assert!(has_frame(&double_free["frames"], Some("double_free"), mark("fault_double_free")), "{double_free:#}");
        // Its start_line is a line of the file it names, the headline's.
        let file = double_free["log_file"].as_str().unwrap_or_else(|| panic!("no log_file: {double_free:#}"));
        assert!(file.starts_with(&format!("{}.", prefix.display())), "{file}");
        let text = std::fs::read_to_string(file).unwrap();
        let line = double_free["start_line"].as_u64().unwrap() as usize;
        let headline = text.lines().nth(line - 1).unwrap_or_default();
        assert!(headline.contains("ERROR: AddressSanitizer: attempting double-free"), "line {line}: {headline}");
        let warnings = report["warnings"].to_string();
        assert!(warnings.contains("report(s) read from 1 file(s)"), "{warnings}");
    }

    let run = leakcheck_in(
        None,
        &["--sanitizer", "asan"],
        &as_strs(&regrtest(dir.path(), &[], &["test_asanext_double_free"])),
        &[("ASAN_OPTIONS", "log_path=relative/asan")],
    );
    assert!(run.json()["warnings"].to_string().contains("give an absolute path"), "{}", run.json()["warnings"]);

    // A prefix under a regular file (the runtime makes missing directories, not this one):
    // it says it cannot open the file when its report comes, and ends the process; the
    // warning names the file and why.
    let logs = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(logs.path().join("file"), "").unwrap();
    let missing = logs.path().join("file/asan");
    let options = format!("log_path={}", missing.display());
    let run = leakcheck_in(
        None,
        &["--sanitizer", "asan"],
        &as_strs(&regrtest(dir.path(), &[], &["test_asanext_double_free"])),
        &[("ASAN_OPTIONS", &options)],
    );
    assert!(run.stderr.contains("ERROR: Can't open file: "), "{}", run.stderr);
    let warnings = run.json()["warnings"].to_string();
    let expected = format!("; the runtime said it could not open {}.", missing.display());
    assert!(warnings.contains(&expected), "{warnings}");
    assert!(warnings.contains(" (Not a directory) when it had something to write, a report most likely"), "{warnings}");
}

/// UBSan's `runtime error:` lines carry no `==PID==`; from a `UBSAN_OPTIONS=log_path=PREFIX`
/// file the finding's process is the file's `.PID` suffix, and so, with `-R`, is its test (each
/// `-j 2` worker runs one). A UBSan-only extension: built with ASAN too, gcc 12's UBSan
/// wrote to stderr whatever the options said of `log_path`.
#[test]
fn ubsan_reports_in_log_path_files_get_the_file_pid_and_its_test() {
    let dir = testdir();
    add_ubsanext(dir.path());
    let logs = tempfile::tempdir().expect("a temporary directory");
    let options = format!("log_path={}", logs.path().join("ubsan").display());
    let argv = regrtest(dir.path(), &["-j", "2", "-R", "3:3"], &["test_balanced", "test_ubsanext"]);
    let run = leakcheck_in(None, &["--sanitizer", "ubsan"], &as_strs(&argv), &[("UBSAN_OPTIONS", &options)]);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    let files: Vec<String> = std::fs::read_dir(logs.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let pid: u64 = files[0].strip_prefix("ubsan.").and_then(|p| p.parse().ok()).expect("ubsan.PID");
    let ubsan = find(run.json(), "signed-integer-overflow");
    assert_eq!(ubsan["pid"], pid, "{ubsan:#}");
    assert_eq!(ubsan["test"], "test_ubsanext", "{ubsan:#}");
    let source = std::fs::read_to_string(Path::new(fixtures::SOURCE_DIR).join("ubsanext.c")).unwrap();
    let line = source.lines().position(|l| l.contains("/* MARK ubsan_signed_overflow */")).unwrap() as u64 + 1;
    assert_eq!(
        (ubsan["frames"][0]["file"].as_str().map(|f| f.ends_with("ubsanext.c")), &ubsan["frames"][0]["line"]),
        (Some(true), &json!(line)),
        "{ubsan:#}"
    );
}

/// A UBSan report on stderr with a line of stdout between each two of its lines, as unittest's
/// `... ok` lines come when the command's stdout and stderr are two pipes (a buildbot's step):
/// `_ubsanext.interleaved_overflow` copies its report to stderr line by line and writes the line
/// it is given to stdout after each, every write read by leakcheck before the next is made. The
/// finding is whole, stack and summary, and its test's; the lines of the other stream passed
/// it (one parser for both streams ended it at the first).
#[test]
fn a_ubsan_report_on_stderr_is_whole_past_lines_of_stdout() {
    let dir = testdir();
    add_ubsanext(dir.path());
    let module = "test_ubsanext_interleaved.py";
    std::fs::copy(Path::new(fixtures::SOURCE_DIR).join(module), dir.path().join(module)).unwrap();
    let argv = regrtest(dir.path(), &["-v"], &["test_ubsanext_interleaved"]);
    let run = leakcheck_in(None, &["--sanitizer", "ubsan"], &as_strs(&argv), &[]);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    // The report did come interleaved: a line of stdout right after its `runtime error:` line
    // (the first completes unittest's `test_interleaved_overflow (...) ... `).
    let log = String::from_utf8_lossy(&run.log()).into_owned();
    let lines: Vec<&str> = log.lines().collect();
    let headline =
        lines.iter().position(|l| l.contains(": runtime error: signed integer overflow")).expect("the report");
    let other = "test_other (test_ubsanext_interleaved.Other.test_other) ... ok";
    assert!(lines.get(headline + 1).is_some_and(|l| l.ends_with(other)), "{log}");
    assert_eq!(lines.get(headline + 3), Some(&other), "{log}");
    let ubsan = find(run.json(), "signed-integer-overflow");
    let source = std::fs::read_to_string(Path::new(fixtures::SOURCE_DIR).join("ubsanext.c")).unwrap();
    let line = source.lines().position(|l| l.contains("/* MARK ubsan_interleaved */")).unwrap() as u64 + 1;
    assert_eq!(
        (
            &ubsan["test"],
            &ubsan["end"],
            &ubsan["truncated"],
            &ubsan["frames"][0]["function"],
            &ubsan["frames"][0]["line"]
        ),
        (
            &json!("test_ubsanext_interleaved"),
            &json!("summary"),
            &json!(false),
            &json!("interleaved_overflow"),
            &json!(line)
        ),
        "{ubsan:#}"
    );
    assert!(ubsan["frames"].as_array().unwrap().len() > 10, "the whole stack: {ubsan:#}");
    let summary = ubsan["summary"].as_str().unwrap_or_default();
    assert!(summary.starts_with("SUMMARY: UndefinedBehaviorSanitizer: signed-integer-overflow"), "{ubsan:#}");
}

/// The user's options are read as the runtime reads them, comma lists included: with
/// `abort_on_error=0,detect_leaks=1` leakcheck adds none of the defaults the user set, so
/// LeakSanitizer runs and its report is a finding; the user's text reaches the command
/// unchanged, after the defaults the user did not set.
#[test]
fn a_comma_separated_user_option_wins() {
    let dir = sanitizer_testdir();
    let argv = regrtest(dir.path(), &[], &["test_asanext_leak"]);
    let options = "abort_on_error=0,detect_leaks=1";
    let run = leakcheck_in(None, &["--sanitizer", "asan"], &as_strs(&argv), &[("ASAN_OPTIONS", options)]);
    assert_eq!(
        run.json()["sanitizer"]["options"]["ASAN_OPTIONS"],
        "allocator_may_return_null=1:handle_segv=0:abort_on_error=0,detect_leaks=1"
    );
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    let leak = findings(run.json())
        .iter()
        .filter(|f| f["sanitizer"] == "lsan")
        .find(|f| {
            f["related"].as_array().unwrap().iter().any(|r| has_frame(&r["frames"], Some("leak"), mark("alloc_leak")))
        })
        .unwrap_or_else(|| panic!("no LSan finding with the fixture's block: {:#}", run.json()));
    assert_eq!(leak["kind"], "detected memory leaks");
}

/// The `_ubsanext` fixture and its regrtest module in `dir`.
fn add_ubsanext(dir: &Path) {
    let extension = Path::new(fixtures::UBSANEXT.expect("the _ubsanext fixture"));
    std::fs::copy(extension, dir.join(extension.file_name().unwrap())).unwrap();
    std::fs::copy(Path::new(fixtures::SOURCE_DIR).join("test_ubsanext.py"), dir.join("test_ubsanext.py")).unwrap();
}

/// A `log_path` the user set is followed in every options variable the command gets, however
/// leakcheck set up the run: `UBSAN_OPTIONS` under `--sanitizer auto` on a plain interpreter
/// (no runtime detected, leakcheck sets no UBSAN_OPTIONS) and with `--no-shim`, separated by a
/// comma or a tab; `ASAN_OPTIONS` through an included file, its value quoted, with a space.
#[test]
fn a_user_log_path_is_read_under_auto_and_without_the_shim() {
    let dir = sanitizer_testdir();
    add_ubsanext(dir.path());
    for (flags, separator) in [(&[][..], ","), (&["--no-shim"][..], "\t")] {
        let logs = tempfile::tempdir().expect("a temporary directory");
        let prefix = logs.path().join("ub");
        let options = format!("print_stacktrace=1{separator}log_path={}", prefix.display());
        let argv = regrtest(dir.path(), &[], &["test_ubsanext"]);
        let run = leakcheck_in(None, flags, &as_strs(&argv), &[("UBSAN_OPTIONS", &options)]);
        assert_eq!(run.code(), Some(103), "{flags:?}: {}", run.stderr);
        let ubsan = find(run.json(), "signed-integer-overflow");
        let file = ubsan["log_file"].as_str().unwrap_or_else(|| panic!("no log_file: {ubsan:#}"));
        assert!(file.starts_with(&format!("{}.", prefix.display())), "{file}");
        let warnings = run.json()["warnings"].to_string();
        assert!(
            warnings.contains("UBSAN_OPTIONS has log_path=") && warnings.contains("read from 1 file(s)"),
            "{warnings}"
        );
    }

    let logs = tempfile::tempdir().expect("a temporary directory");
    let prefix = logs.path().join("logs q,x/asan");
    let included = logs.path().join("opts");
    std::fs::write(&included, format!("halt_on_error=1\nlog_path='{}'\n", prefix.display())).unwrap();
    let options = format!("include={}", included.display());
    let argv = regrtest(dir.path(), &[], &["test_asanext_double_free"]);
    let run = leakcheck_in(None, &["--sanitizer", "asan", "--no-shim"], &as_strs(&argv), &[("ASAN_OPTIONS", &options)]);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    let double_free = find(run.json(), "double-free");
    let file = double_free["log_file"].as_str().unwrap_or_else(|| panic!("no log_file: {double_free:#}"));
    assert!(file.starts_with(&format!("{}.", prefix.display())), "{file}");
}

/// UBSan's `runtime error:` lines carry no pid, and regrtest's `-q` names no passing test: a
/// report gets the test the shim's records tell for when it was read. Sequentially, the test
/// running then (UBSan reports a location once per process: test_ubsanext_late's call of the
/// same bug in the same process is not reported, and the report is not the last test's). With
/// `-j 2`, regrtest's main process prints each worker's output once it has reaped the worker:
/// the test of the worker that exited last before it, each worker's report its own test's, and
/// the summary counts each test's. test_ubsanext_late sleeps 2 s before its test, so that the
/// two workers do not exit at once (closer together than regrtest takes to print a reaped
/// worker's output, which report is whose cannot be known: docs/report.md).
#[test]
fn ubsan_reports_of_quiet_runs_get_their_tests_by_when_they_were_read() {
    let dir = testdir();
    let extension = Path::new(fixtures::UBSANEXT.expect("the _ubsanext fixture"));
    std::fs::copy(extension, dir.path().join(extension.file_name().unwrap())).unwrap();
    for name in ["test_ubsanext.py", "test_ubsanext_late.py"] {
        std::fs::copy(Path::new(fixtures::SOURCE_DIR).join(name), dir.path().join(name)).unwrap();
    }
    let tests = ["test_ubsanext", "test_ubsanext_late", "test_balanced"];
    for quiet in [&["-q", "-R", "3:3"][..], &["-q", "-j", "2", "-R", "3:3"]] {
        let argv = regrtest(dir.path(), quiet, &tests);
        let run = leakcheck_in(None, &["--sanitizer", "ubsan"], &as_strs(&argv), &[]);
        assert_eq!(run.code(), Some(103), "{quiet:?}: {}", run.stderr);
        assert!(!String::from_utf8_lossy(&run.log()).contains("test_ubsanext"), "{quiet:?}: quiet");
        let ubsan = find(run.json(), "signed-integer-overflow");
        assert_eq!(findings(run.json()).len(), 1, "{quiet:?}: {:#}", run.json()["sanitizer_findings"]);
        if quiet.contains(&"-j") {
            assert_eq!(
                (&ubsan["count"], &ubsan["test"], &ubsan["other_tests"]),
                (&json!(2), &json!("test_ubsanext"), &json!(["test_ubsanext_late"])),
                "{quiet:?}: {ubsan:#}"
            );
            let counts = "(2 reports: test_ubsanext 1, test_ubsanext_late 1)";
            assert!(run.stderr.contains(counts), "{quiet:?}: {}", run.stderr);
        } else {
            assert_eq!(
                (&ubsan["count"], &ubsan["test"], &ubsan["other_tests"]),
                (&json!(1), &json!("test_ubsanext"), &json!([])),
                "{quiet:?}: {ubsan:#}"
            );
        }
        assert!(run.stderr.contains("SANITIZER in test_ubsanext"), "{quiet:?}: {}", run.stderr);
    }
}

/// A shared object loaded by a relative path (`dlopen("./asan_dso.so")`) is printed relative
/// (`(asan_dso.so+0x11a9)`) when the runtime does not symbolize: it is looked up in the
/// command's working directory, and the finding's frames get their functions and lines.
#[test]
fn relative_modules_are_symbolized_from_the_commands_directory() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(fixtures::ASAN_DSO.expect("the asan_dso fixture"), dir.path().join("asan_dso.so")).unwrap();
    let loader = fixtures::DSO_LOADER.expect("the dso_loader fixture");
    let run = leakcheck_in(
        Some(dir.path()),
        &["--sanitizer", "asan"],
        &[loader, "./asan_dso.so"],
        &[("ASAN_OPTIONS", "symbolize=0")],
    );
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
    let overflow = find(run.json(), "heap-buffer-overflow");
    let top = &overflow["frames"][0];
    assert_eq!(
        (top["module"].as_str(), top["function"].as_str()),
        (Some("asan_dso.so"), Some("read_after_end")),
        "{overflow:#}"
    );
    assert!(top["file"].as_str().is_some_and(|file| file.ends_with("asan_dso.c")), "{overflow:#}");
    // The SUMMARY line names that frame as a symbolizing runtime would.
    let line = top["line"].as_u64().expect("a line");
    let summary = overflow["summary"].as_str().unwrap_or_default();
    assert!(summary.starts_with("SUMMARY: AddressSanitizer: heap-buffer-overflow "), "{summary}");
    assert!(summary.contains(&format!("asan_dso.c:{line}")) && summary.ends_with(" in read_after_end"), "{summary}");
    assert!(!summary.contains("+0x"), "{summary}");
}

/// A program built with clang 14's `-fsanitize=address,undefined` links the same static
/// runtime as one built with `-fsanitize=address` alone: `--sanitizer auto` finds UBSan by the
/// program's calls of its handlers, so the run is set up for both (the user's `UBSAN_OPTIONS`
/// text kept, after leakcheck's defaults it does not set) and the UBSan findings have their
/// stacks.
#[test]
fn clangs_asan_and_ubsan_in_one_program_are_both_detected() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let program = dir.path().join("ubsan_and_asan");
    let clang = std::env::var("LEAKCHECK_CLANG").unwrap_or_else(|_| "clang".to_owned());
    let status = std::process::Command::new(&clang)
        .args(["-g", "-O0", "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-o"])
        .arg(&program)
        .arg(Path::new(fixtures::SOURCE_DIR).join("ubsan.c"))
        .status()
        .unwrap_or_else(|e| panic!("running {clang}: {e} (install clang and libclang-rt-14-dev: scripts/setup.sh)"));
    assert!(status.success(), "{clang} -fsanitize=address,undefined");
    let program = program.to_string_lossy().into_owned();
    let run = leakcheck_in(None, &[], &[&program], &[("UBSAN_OPTIONS", "report_error_type=1")]);
    let report = run.json();
    assert_eq!(report["sanitizer"]["runtimes"], json!(["asan", "ubsan"]), "{}", run.stderr);
    assert_eq!(
        report["sanitizer"]["options"],
        json!({
            "ASAN_OPTIONS": "verify_asan_link_order=0:detect_leaks=0:allocator_may_return_null=1:handle_segv=0",
            "UBSAN_OPTIONS": "print_stacktrace=1:print_summary=1:report_error_type=1",
        })
    );
    assert!(run.stderr.contains("leakcheck: sanitizer: asan, ubsan\n"), "{}", run.stderr);
    let source = std::fs::read_to_string(Path::new(fixtures::SOURCE_DIR).join("ubsan.c")).unwrap();
    let line = |name: &str| source.lines().position(|l| l.contains(&format!("/* MARK {name} */"))).unwrap() as u64 + 1;
    for (kind, function, mark) in
        [("signed-integer-overflow", "add", "fault_overflow"), ("invalid-shift-exponent", "shift", "fault_shift")]
    {
        let finding = find(report, kind);
        assert_eq!(finding["sanitizer"], "ubsan", "{finding:#}");
        let frames = finding["frames"].as_array().expect("frames");
        let functions: Vec<&str> = frames.iter().filter_map(|f| f["function"].as_str()).collect();
        assert_eq!(
            functions.get(..2),
            Some(&[function, "main"][..]),
            "the stack print_stacktrace=1 asks for: {finding:#}"
        );
        assert_eq!(frames[0]["line"], line(mark), "{finding:#}");
    }
    // The bad index is UBSan's and, as the array is on the stack, ASAN's, which ends the run.
    assert_eq!(find(report, "stack-buffer-overflow")["sanitizer"], "asan");
    assert_eq!(run.code(), Some(103), "{}", run.stderr);
}

/// A gcc ASAN program the command starts (not argv[0], which detection reads: here `bash -c`,
/// or a Python process) finds the shim ahead of its dynamically linked libasan: leakcheck's
/// `verify_asan_link_order=0` lets it run. When the user turns the check back on, the
/// runtime's abort is recognised and the warning names `--sanitizer asan`.
#[test]
fn an_asan_program_the_command_starts_runs_behind_the_shim() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let source = dir.path().join("asanprog.c");
    std::fs::write(
        &source,
        "#include <stdio.h>\n#include <stdlib.h>\n\
         int main(void) { char *p = malloc(4); p[0] = 1; printf(\"asan ok %d\\n\", p[0]); free(p); return 0; }\n",
    )
    .unwrap();
    let program = dir.path().join("asanprog");
    let status =
        std::process::Command::new("gcc").args(["-fsanitize=address", "-g", "-o"]).arg(&program).arg(&source).status();
    assert!(status.expect("running gcc").success(), "gcc -fsanitize=address");
    let program = program.to_string_lossy().into_owned();
    let run = leakcheck_in(None, &[], &["bash", "-c", &program], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(String::from_utf8_lossy(&run.stdout), "asan ok 1\n", "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["sanitizer"]["options"], json!({"ASAN_OPTIONS": "verify_asan_link_order=0"}));
    assert_eq!(report["warnings"], json!([]), "{}", run.stderr);
    assert!(report["shim"]["enabled"].as_bool().unwrap());

    let run = leakcheck_in(None, &[], &["bash", "-c", &program], &[("ASAN_OPTIONS", "verify_asan_link_order=1")]);
    assert_ne!(run.code(), Some(0), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["sanitizer"]["options"], json!({"ASAN_OPTIONS": "verify_asan_link_order=1"}));
    assert_asan_not_first_warned(&run);

    // Started by a Python process, which hides the token from a libasan of its own
    // (`an_asan_extension_loaded_late_into_a_plain_python_is_not_reported_clean`): its
    // children get it all the same.
    let script = format!("import subprocess; subprocess.run([{program:?}], check=True)");
    let run = leakcheck_in(None, &[], &[python(), "-c", &script], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(String::from_utf8_lossy(&run.stdout), "asan ok 1\n", "{}", run.stderr);
    assert_eq!(run.json()["warnings"], json!([]), "{}", run.stderr);

    // --no-shim: nothing preloaded, nothing set.
    let run = leakcheck_in(None, &["--no-shim"], &["bash", "-c", &program], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.json()["sanitizer"]["options"], json!({}));
}

/// An extension built with gcc's `-fsanitize=address` loaded into the plain interpreter under
/// `--sanitizer auto` (detection reads the interpreter, which has no runtime): its libasan
/// arrives by `dlopen`, too late to intercept `malloc` and `free`. Without leakcheck the
/// import aborts ("ASan runtime does not come first"); under leakcheck it must too, not pass
/// with its errors unseen because of the `verify_asan_link_order=0` leakcheck adds for ASAN
/// programs behind the shim: the run is not clean and the warning names `--sanitizer asan`,
/// with which the overflow is found. The Python process still hands the token to its
/// children (`os.environ`), only the runtime's view (`/proc/self/environ`) is without it.
#[test]
fn an_asan_extension_loaded_late_into_a_plain_python_is_not_reported_clean() {
    let dir = sanitizer_testdir();
    let argv = regrtest(dir.path(), &[], &["test_asanext"]);
    let plain = std::process::Command::new(&argv[0]).args(&argv[1..]).output().expect("running regrtest");
    assert!(!plain.status.success());
    assert!(String::from_utf8_lossy(&plain.stderr).contains("ASan runtime does not come first"), "{plain:?}");

    let run = leakcheck_in(None, &[], &as_strs(&argv), &[]);
    assert_ne!(run.code(), Some(0), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["sanitizer"]["options"], json!({"ASAN_OPTIONS": "verify_asan_link_order=0"}));
    assert_asan_not_first_warned(&run);

    let run = leakcheck_in(None, &["--sanitizer", "asan"], &as_strs(&argv), &[]);
    assert_ne!(run.code(), Some(0), "{}", run.stderr);
    let overflow = find(run.json(), "heap-buffer-overflow");
    assert_eq!(overflow["test"], "test_asanext", "{overflow:#}");

    // What the Python process and its children see, and what a runtime loaded later reads.
    let script = "import os; print(os.environ['ASAN_OPTIONS']); \
                  print([e for e in open('/proc/self/environ', 'rb').read().split(b'\\0') \
                  if e.startswith(b'ASAN_OPTIONS=')][0].decode())";
    let run = leakcheck_in(None, &[], &[python(), "-c", script], &[("ASAN_OPTIONS", "detect_leaks=0")]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let colons = ":".repeat("verify_asan_link_order=0".len());
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!("verify_asan_link_order=0:detect_leaks=0\nASAN_OPTIONS={colons}:detect_leaks=0\n"),
        "{}",
        run.stderr
    );
    // The user's own verify_asan_link_order=0 is theirs: left as it is.
    let options = [("ASAN_OPTIONS", "verify_asan_link_order=0")];
    let run = leakcheck_in(None, &[], &[python(), "-c", script], &options);
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "verify_asan_link_order=0\nASAN_OPTIONS=verify_asan_link_order=0\n",
        "{}",
        run.stderr
    );
}

/// A test directory with `test_asanext_repeated` and `_asanext` built (as `c/sanitizer/build.rs`
/// builds it for python3.11-dbg) for python3.13-dbg, against the sid root's headers.
fn testdir313() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sources = Path::new(fixtures::SOURCE_DIR);
    std::fs::copy(sources.join("test_asanext_repeated.py"), dir.path().join("test_asanext_repeated.py")).unwrap();
    let flags = ["-fno-omit-frame-pointer", "-fsanitize=address,signed-integer-overflow", "-fsanitize-recover=address"];
    PY313.build_extension(&sources.join("asanext.c"), "_asanext", dir.path(), &flags);
    dir
}

/// CPython 3.13 specializes a call site after its first run: the first report's frame in the
/// eval loop (`_PyEval_EvalFrameDefault`) is at the generic `CALL`'s line of
/// `generated_cases.c.h`, the next ones at the specialized instruction's. One bug, called five
/// times from one line of one test in one process, is one finding of count 5.
#[test]
fn one_bug_before_and_after_the_call_is_specialized_is_one_finding() {
    let dir = testdir313();
    let argv = PY313.regrtest(&[], dir.path(), &[], &["test_asanext_repeated"]);
    let options = "halt_on_error=0:suppress_equal_pcs=0";
    let run = run_in_root(&["--sanitizer", "asan"], &argv, &[("ASAN_OPTIONS", options)]);
    assert_eq!(run.code(), Some(103), "{}", run.stderr);

    // The case this guards: the runtime printed the eval loop at more than one line.
    let log = String::from_utf8_lossy(&run.log()).into_owned();
    let mut eval_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.trim_start().starts_with("#4 ") && l.contains(" in _PyEval_EvalFrameDefault "))
        .filter_map(|l| l.rsplit(' ').next())
        .collect();
    assert_eq!(eval_lines.len(), 5, "{log}");
    eval_lines.dedup();
    assert!(eval_lines.len() > 1, "the call was not specialized: {eval_lines:?}");

    let overflows: Vec<&Value> = findings(run.json()).iter().filter(|f| f["kind"] == "heap-buffer-overflow").collect();
    assert_eq!(overflows.len(), 1, "{overflows:#?}");
    let overflow = overflows[0];
    assert_eq!((&overflow["count"], &overflow["test"]), (&json!(5), &json!("test_asanext_repeated")), "{overflow:#}");
    assert!(has_frame(&overflow["frames"], Some("overflow"), mark("fault_overflow")), "{overflow:#}");
}

/// gcc's standalone libubsan reads no ASAN or LSan options: a user's `print_summary=0` there
/// leaves UBSan's `print_summary=1` default in place (it was dropped, and the findings lost the
/// check's name from their `SUMMARY:` line: `undefined-behavior`), detected or forced alike.
#[test]
fn other_runtimes_options_leave_ubsan_alone_its_summary() {
    let program = fixtures::UBSAN_KINDS_GCC.expect("the ubsan_kinds fixture");
    let environment = [("ASAN_OPTIONS", "print_summary=0"), ("LSAN_OPTIONS", "print_summary=0")];
    for flags in [&[][..], &["--sanitizer", "ubsan"]] {
        let run = leakcheck_in(None, flags, &[program], &environment);
        let report = run.json();
        assert_eq!(report["sanitizer"]["runtimes"], json!(["ubsan"]), "{flags:?}: {}", report["sanitizer"]);
        assert_eq!(
            report["sanitizer"]["options"]["UBSAN_OPTIONS"], "print_stacktrace=1:print_summary=1:report_error_type=1",
            "{flags:?}"
        );
        let kinds: Vec<&str> = findings(report).iter().map(|f| f["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["float-divide-by-zero", "invalid-builtin-use"], "{flags:?}");
    }
}

/// leakcheck's `UBSAN_OPTIONS` (`print_summary=1:report_error_type=1` beside the stacks) make
/// the runtime name each check in its `SUMMARY:` line, with gcc's libubsan (which prints no
/// summary by default) and clang's runtime (which says `undefined-behavior` there): the
/// findings, and the text summary, get the runtime's own names even where the message is the
/// same for two checks (`division by zero`, integer or floating-point) or names no check.
#[test]
fn ubsan_findings_get_the_check_names_of_the_runtime() {
    let cases: [(Result<&str, &str>, &[&str]); 2] = [
        (fixtures::UBSAN_KINDS_GCC, &["float-divide-by-zero", "invalid-builtin-use"]),
        (
            fixtures::UBSAN_KINDS_CLANG,
            &["float-divide-by-zero", "invalid-builtin-use", "implicit-signed-integer-truncation"],
        ),
    ];
    for (fixture, expected) in cases {
        let program = fixture.expect("the ubsan_kinds fixture");
        let run = leakcheck_in(None, &[], &[program], &[]);
        let report = run.json();
        assert_eq!(report["sanitizer"]["runtimes"], json!(["ubsan"]), "{program}: {}", report["sanitizer"]);
        assert_eq!(
            report["sanitizer"]["options"]["UBSAN_OPTIONS"],
            "print_stacktrace=1:print_summary=1:report_error_type=1"
        );
        let kinds: Vec<&str> = findings(report).iter().map(|f| f["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, expected, "{program}");
        assert_eq!(run.code(), Some(103), "{}", run.stderr);
        assert!(run.stderr.contains("UndefinedBehaviorSanitizer float-divide-by-zero"), "{program}: {}", run.stderr);
    }
}

/// The run warned that an ASAN program aborted because its runtime did not come first, naming
/// `--sanitizer asan`, in the report and on stderr.
fn assert_asan_not_first_warned(run: &common::Run) {
    let warnings = run.json()["warnings"].clone();
    assert!(
        warnings
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("does not come first")
                && w.as_str().unwrap().contains("--sanitizer asan")),
        "{warnings:?}\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("leakcheck: warning: an ASAN program aborted"), "{}", run.stderr);
}
