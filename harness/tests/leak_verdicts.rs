//! Leak verdicts on a real CPython (Debian's python3.11-dbg) running the C fixtures of `c/`
//! through regrtest's `-R 3:3`: sequentially, with `-j 2`, with `-E`, and on real stdlib tests.

mod common;

use common::*;
use serde_json::{json, Value};

fn domain<'a>(test: &'a Value, name: &str) -> &'a Value {
    &test["domains"][name]
}

/// The line of `c/leakfix.c` that contains `needle` (the allocating call of a fixture).
fn fixture_line(needle: &str) -> u64 {
    common::source_line("leakfix.c", needle)
}

/// The line of `c/regrtest/{module}.py` that contains `needle`.
fn module_line(module: &str, needle: &str) -> u64 {
    common::source_line(&format!("regrtest/{module}.py"), needle)
}

/// The test's only leak site is in `domain`, one block per repetition, and its innermost frame
/// (allocator plumbing folded) is `function` at the line of `call` in c/leakfix.c.
fn assert_single_site(test: &Value, domain: &str, function: &str, call: &str) {
    let sites = test["leak_sites"].as_array().unwrap_or_else(|| panic!("no leak_sites: {test}"));
    assert_eq!(sites.len(), 1, "{}", serde_json::to_string_pretty(sites).unwrap());
    let site = &sites[0];
    assert_eq!(site["domain"], domain);
    let counted = test["domains"][domain]["blocks"].as_array().map_or(0, Vec::len);
    assert_eq!(site["blocks"], json!(vec![1; counted.max(1)]));
    let top = &site["frames"][0];
    assert_eq!(top["function"], function, "{site}");
    assert!(top["file"].as_str().unwrap_or("").ends_with("c/leakfix.c"), "{site}");
    assert_eq!(top["line"], fixture_line(call), "{site}");
    assert!(top["module"].as_str().unwrap_or("").contains("_leakfix"), "{site}");
    assert!(site["folded_frames"].as_u64().unwrap_or(0) >= 1, "PyMem_* was folded: {site}");
    // The fixture's leaked object is a plain `object`; raw and mem blocks are no objects.
    let types = if domain == "obj" { json!(["object"]) } else { json!([]) };
    assert_eq!(site["object_types"], types, "{site}");
    // Beside the C site, the Python line that called into the fixture.
    let name = test["name"].as_str().expect("the test's name");
    let call = module_line(name, "_leakfix.");
    let python = &site["python_frame"];
    assert_eq!(python["function"], format!("LeakTest.{name}"), "{site}");
    assert!(python["file"].as_str().unwrap_or("").ends_with(&format!("/{name}.py")), "{site}");
    assert_eq!(python["line"], call, "{site}");
    // And its callers: unittest's, innermost first.
    let callers = &site["python_frames"];
    assert_eq!(callers[0], *python, "{site}");
    assert_eq!(callers[1]["function"], "TestCase._callTestMethod", "{site}");
    assert!(callers[1]["file"].as_str().unwrap_or("").ends_with("unittest/case.py"), "{site}");
}

/// The four fixtures: one leak per domain, right deltas, the balanced test not flagged.
fn assert_fixture_verdicts(run: &Run) {
    let raw = run.test("test_leak_raw");
    assert_eq!(raw["leaked"], true, "{raw}");
    assert_eq!(domain(raw, "raw")["blocks"], json!([1, 1, 1]));
    assert_eq!(domain(raw, "raw")["bytes"], json!([48, 48, 48]));
    assert_eq!(domain(raw, "raw")["leaked"], true);
    assert_eq!(domain(raw, "mem")["leaked"], false);
    assert_eq!(domain(raw, "obj")["leaked"], false);
    assert_eq!(raw["regrtest"]["leaked"], false, "regrtest cannot see PyMem_RawMalloc leaks");
    assert_eq!(raw["leak_not_reported_by_regrtest"], true);

    let mem = run.test("test_leak_mem");
    assert_eq!(mem["leaked"], true, "{mem}");
    assert_eq!(domain(mem, "mem")["blocks"], json!([1, 1, 1]));
    assert_eq!(domain(mem, "mem")["bytes"], json!([24, 24, 24]));
    assert_eq!(domain(mem, "raw")["leaked"], false);
    assert_eq!(domain(mem, "obj")["leaked"], false);
    assert_single_site(mem, "mem", "leak_mem", "PyMem_Malloc(24)");
    assert_eq!(mem["leak_sites"][0]["bytes"], json!([24, 24, 24]));

    let obj = run.test("test_leak_object");
    assert_eq!(obj["leaked"], true, "{obj}");
    assert_eq!(domain(obj, "obj")["blocks"], json!([1, 1, 1]));
    assert_eq!(domain(obj, "obj")["leaked"], true);
    assert_eq!(domain(obj, "raw")["leaked"], false);
    assert_eq!(domain(obj, "mem")["leaked"], false);
    assert_eq!(obj["regrtest"]["references"], json!([1, 1, 1]), "regrtest's own deltas are kept");
    assert_eq!(obj["regrtest"]["leaked"], true);
    assert_eq!(obj["outcome"], "reference_leak");
    assert_single_site(obj, "obj", "leak_object", "PyType_GenericNew(");

    let balanced = run.test("test_balanced");
    assert_eq!(balanced["leaked"], false, "{balanced}");
    for d in ["raw", "mem", "obj"] {
        assert_eq!(domain(balanced, d)["leaked"], false);
        assert_eq!(domain(balanced, d)["blocks"].as_array().map(Vec::len), Some(3));
    }
    assert_eq!(balanced["outcome"], "passed");
    assert_eq!(balanced["leak_sites"], json!([]), "{balanced}");
}

const FIXTURES: [&str; 4] = ["test_leak_raw", "test_leak_mem", "test_leak_object", "test_balanced"];

#[test]
fn sequential_run_finds_each_domain_leak() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &FIXTURES)));
    assert_fixture_verdicts(&run);
    assert_eq!(run.json()["schema_version"], 1);
    assert_eq!(run.code(), Some(101), "a leak regrtest did not report: {}", run.stderr);
    assert!(run.stderr.contains("leakcheck: test_leak_raw: LEAKED in raw"), "{}", run.stderr);
    // regrtest's own lines are untouched, for buildbot's `test_[^ ]+ leaked ` warning regex.
    assert!(run.stderr.contains("test_leak_object leaked [1, 1, 1] references, sum=3"), "{}", run.stderr);
}

#[test]
fn parallel_workers_are_measured_too() {
    let dir = testdir();
    let run = leakcheck(
        &[],
        &as_strs(&regrtest_argv(
            dir.path(),
            &["-X", "faulthandler"],
            &["-j", "2", FIXTURES[0], FIXTURES[1], FIXTURES[2], FIXTURES[3]],
        )),
    );
    assert_fixture_verdicts(&run);
    assert!(run.json()["shim"]["processes_patched"].as_u64().unwrap_or(0) >= 2, "{}", run.json()["shim"]);
}

#[test]
fn ignore_environment_flag_does_not_blind_the_shim() {
    // `make buildbottest` and --slow-ci run the interpreter with -E: PYTHONPATH and
    // sitecustomize are ignored, the audit hook is not.
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &["-E"], &FIXTURES)));
    assert_fixture_verdicts(&run);
}

#[test]
fn real_stdlib_tests_get_no_leak_verdict() {
    let argv = [python(), "-m", "test", "-R", "3:3", "test_list", "test_dict", "test_set"];
    let run = leakcheck(&[], &argv);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    for name in ["test_list", "test_dict", "test_set"] {
        let test = run.test(name);
        assert_eq!(test["leaked"], false, "{test}");
        assert_eq!(test["outcome"], "passed");
        assert_eq!(test["repetitions"]["complete"], true, "{test}");
        for d in ["raw", "mem", "obj"] {
            assert_eq!(domain(test, d)["blocks"].as_array().map(Vec::len), Some(3), "{test}");
        }
    }
    assert_eq!(run.json()["summary"]["leaked"], json!([]));
}

#[test]
fn replaced_hooks_are_reported_not_zeroed() {
    let dir = testdir();
    let run = leakcheck_in(
        None,
        &[],
        &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_raw"])),
        &[("PYTHONMALLOC", "malloc")],
    );
    let test = run.test("test_leak_raw");
    assert_eq!(test["domains"], Value::Null, "{test}");
    assert!(test["notes"].to_string().contains("hooks were replaced"), "{test}");
    assert!(!run.json()["shim"]["hooks_replaced"].as_array().unwrap().is_empty());
    assert!(run.stderr.contains("PYTHONMALLOC"), "{}", run.stderr);
    assert!(run.json()["warnings"].to_string().contains("PYTHONMALLOC=malloc is set"), "{}", run.json()["warnings"]);
}

#[test]
fn a_crash_midway_keeps_the_measured_repetitions_and_says_so() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_crash_midway"])));
    assert_eq!(run.code(), Some(128 + libc::SIGABRT), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["status"]["signal"], "SIGABRT");
    let test = run.test("test_crash_midway");
    assert_eq!(test["repetitions"]["complete"], false, "{test}");
    assert_eq!(test["repetitions"]["measured"], 2, "{test}");
    assert!(test["notes"].to_string().contains("cut short"), "{test}");
    let log = String::from_utf8_lossy(&run.log()).into_owned();
    assert!(log.contains("Fatal Python error: Aborted"), "the log keeps the crash:\n{log}");
}

#[test]
fn fork_exec_and_threads_leave_no_false_leak() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_fork_exec_threads"])));
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let test = run.test("test_fork_exec_threads");
    assert_eq!(test["outcome"], "passed", "{test}");
    assert_eq!(test["leaked"], false, "{test}");
    assert_eq!(test["repetitions"]["complete"], true, "{test}");
}

#[test]
fn a_worker_crash_midway_is_attributed_to_its_test() {
    let dir = testdir();
    let run =
        leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["-j", "2", "test_crash_midway", "test_leak_raw"])));
    // regrtest itself survives its worker's crash and fails the run; the raw leak is still ours.
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
    let crashed = run.test("test_crash_midway");
    assert_ne!(crashed["outcome"], "passed", "{crashed}");
    assert_eq!(crashed["repetitions"]["complete"], false, "{crashed}");
    assert!(crashed["notes"].to_string().contains("the process died during the test"), "{crashed}");
    assert_eq!(run.test("test_leak_raw")["domains"]["raw"]["leaked"], true);
}

/// A `-j` worker that dies after regrtest's `-R` check printed its failing leak line (an atexit
/// handler aborts it): regrtest's main process reports the worker's end, `crashed (Exit code
/// -6)`, and prints the leak line with the worker's output. That line is regrtest's report of
/// the leak: the leak is no leak "not reported by regrtest", and the status is regrtest's own.
#[test]
fn a_leak_regrtest_printed_before_its_worker_crashed_is_reported_by_regrtest() {
    let dir = testdir();
    let module = "test_leak_then_abort_at_exit";
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["-j", "2", module, "test_balanced"])));
    let test = run.test(module);
    assert_eq!(test["outcome"], "crashed", "{test}");
    assert_eq!(test["regrtest"]["references"], json!([1, 1, 1]), "{test}");
    assert_eq!(test["regrtest"]["leaked"], true, "{test}");
    assert_eq!(domain(test, "obj")["leaked"], true, "{test}");
    assert_eq!(test["leaked"], true, "{test}");
    assert_eq!(test["leak_not_reported_by_regrtest"], false, "{test}");
    assert_eq!(run.json()["summary"]["leaked_not_reported_by_regrtest"], json!([]), "{}", run.stderr);
    assert!(!run.stderr.contains("not reported by regrtest"), "{}", run.stderr);
    assert_eq!(run.test("test_balanced")["outcome"], "passed", "{}", run.stderr);
    // regrtest failed the run itself: its status stands.
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
}

/// A daemon thread an earlier test left running allocates while a later, clean test runs:
/// regrtest's rule, per test, charges the growth to the later test, and so does the verdict.
/// The site says on which thread its blocks were allocated and whose code that thread ran; the
/// note, the JUnit message and the issue draft name the earlier test.
#[test]
fn a_leak_on_another_tests_thread_names_that_test() {
    let dir = testdir();
    let work = tempfile::tempdir().expect("a temporary directory");
    let drafts = work.path().join("drafts");
    let tests = ["test_leave_allocating_thread", "test_quiet_sleeper"];
    let run = leakcheck_in(
        None,
        &["--issue-draft", &path_str(&drafts)],
        &as_strs(&regrtest_argv(dir.path(), &[], &tests)),
        &[("LEAKCHECK_FIXTURE_SLEEP", "0.2")],
    );
    let clean = run.test("test_quiet_sleeper");
    assert_eq!(clean["outcome"], "passed", "{clean}");
    assert_eq!(domain(clean, "raw")["leaked"], true, "{clean}");
    assert_eq!(clean["leaked"], true, "{clean}");
    let sites = clean["leak_sites"].as_array().cloned().unwrap_or_default();
    let site = sites.iter().find(|s| s["frames"][0]["function"] == "leak_raw").unwrap_or_else(|| panic!("{clean}"));
    assert_eq!(site["other_test_thread"], "test_leave_allocating_thread", "{site}");
    let line = module_line("test_leave_allocating_thread", "_leakfix.leak_raw()");
    let notes = clean["notes"].to_string();
    assert!(
        notes.contains(&format!(
            "running code of another test, test_leave_allocating_thread, which ran before this one \
             (_allocate_for_good at test_leave_allocating_thread.py:{line}), none of this test's own"
        )),
        "{notes}"
    );
    assert!(run.stderr.contains("allocated on a thread running test_leave_allocating_thread's code"), "{}", run.stderr);
    let draft = std::fs::read_to_string(drafts.join("test_quiet_sleeper.md")).expect("the clean test's draft");
    assert!(draft.contains("on a thread running test_leave_allocating_thread's code, not this test's"), "{draft}");
    // The thread's own test ran its code: no mark there.
    let starter = run.test("test_leave_allocating_thread");
    let marked = starter["leak_sites"].as_array().into_iter().flatten().any(|s| s.get("other_test_thread").is_some());
    assert!(!marked, "{starter}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// Python frames whose file and function CPython keeps as 2- and 4-byte strings (a code object
/// holds them without a UTF-8 copy), read through 3.11's layout: the fixture run from a
/// directory named in Japanese (a 2-byte string); a suppression by that file's name matches.
#[test]
fn python_frames_named_beyond_latin1_are_read() {
    let parent = tempfile::tempdir().expect("a temporary directory");
    let dir_name = "テスト";
    let dir = parent.path().join(dir_name);
    leakcheck_fixtures::populate_testdir(&dir).expect("the C fixtures (run scripts/setup.sh first)");
    let tests = ["test_leak_unicode_names"];
    let run = leakcheck(&[], &as_strs(&regrtest_argv(&dir, &[], &tests)));
    assert_python_frames_named_beyond_latin1(&run, dir_name);
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
    // A suppression by the file's path, as the frames give it, matches every site.
    let suppressions = parent.path().join("suppressions.txt");
    std::fs::write(&suppressions, "leak:テスト/test_leak_unicode_names.py\n").unwrap();
    let run = leakcheck(&["--suppressions", &path_str(&suppressions)], &as_strs(&regrtest_argv(&dir, &[], &tests)));
    let test = run.test("test_leak_unicode_names");
    assert_eq!(test["leak_sites"], json!([]), "{test}");
    assert_eq!(test["suppressed_sites"].as_array().map(Vec::len), Some(3), "{test}");
    assert_eq!(test["leaked"], false, "{test}");
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

#[test]
fn a_process_without_the_allocator_api_gets_a_truthful_report() {
    // A shell printing regrtest's -R output: no CPython allocator API in that process, so the
    // shim stays inert and the report says it measured nothing instead of showing zeros.
    let script = "echo '0:00:00 load avg: 0.00 [1/1] test_fake'; echo 'beginning 6 repetitions' >&2; \
                  echo '123456' >&2; echo '......' >&2; echo; echo '== Tests result: SUCCESS =='; \
                  echo; echo '1 test OK.'";
    let run = leakcheck(&[], &["sh", "-c", script]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let test = run.test("test_fake");
    assert_eq!(test["domains"], Value::Null, "{test}");
    assert!(test["notes"].to_string().contains("the shim took no measurement"), "{test}");
    assert!(run.stderr.contains("the shim measured nothing"), "{}", run.stderr);
}

/// regrtest's `test_x leaked ...` lines, in order.
fn regrtest_leak_lines(output: &str) -> Vec<String> {
    output.lines().filter(|l| l.starts_with("test_") && l.contains(" leaked [")).map(str::to_owned).collect()
}

/// `argv` run as it is, in `dir`, to compare leakcheck's run with.
fn without_leakcheck(dir: &std::path::Path, argv: &[String]) -> std::process::Output {
    std::process::Command::new(&argv[0]).args(&argv[1..]).current_dir(dir).output().expect("running the command")
}

#[test]
fn regrtests_own_verdicts_are_the_same_with_and_without_leakcheck() {
    // 3.11.2's memory-block check subtracts sys._getquickenedcount(), so whether it catches
    // test_leak_mem depends on which code objects get quickened in which repetition: anything
    // the shim did to the interpreter's execution would show here.
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &FIXTURES);
    let plain = without_leakcheck(dir.path(), &argv);
    let plain_lines = regrtest_leak_lines(&String::from_utf8_lossy(&plain.stderr));
    assert!(!plain_lines.is_empty(), "the fixtures leak under plain regrtest too");
    let run = leakcheck_in(Some(dir.path()), &[], &as_strs(&argv), &[]);
    assert_eq!(regrtest_leak_lines(&run.stderr), plain_lines);
    assert_eq!(run.json()["status"]["exit_code"], plain.status.code().unwrap());
}

#[test]
fn a_leak_in_one_of_several_runs_of_a_test_is_kept() {
    // Named twice, the test runs twice in one process; only its first run leaks. The later,
    // clean run must not hide the leak.
    let dir = testdir();
    let run =
        leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_first_run", "test_leak_first_run"])));
    let test = run.test("test_leak_first_run");
    assert_eq!(test["leaked"], true, "{test}");
    assert_eq!(domain(test, "raw")["blocks"], json!([1, 1, 1]), "{test}");
    assert!(test["notes"].to_string().contains("measured 2 times"), "{test}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

#[test]
fn a_ctrl_c_while_the_shim_patches_regrtest_still_stops_it() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["test_interrupt_at_refleak_import", "test_balanced"]);
    let plain = without_leakcheck(dir.path(), &argv);
    assert!(String::from_utf8_lossy(&plain.stdout).contains("Tests result: INTERRUPTED"), "{plain:?}");
    let run = leakcheck_in(Some(dir.path()), &[], &as_strs(&argv), &[]);
    assert_eq!(run.json()["summary"]["regrtest_result"], "INTERRUPTED", "{}", run.stderr);
    assert_eq!(run.code(), plain.status.code(), "{}", run.stderr);
}

#[test]
fn a_traceback_through_the_refleak_loop_is_the_same_as_without_leakcheck() {
    // The exception escapes regrtest's -R driver and the test function it repeats, both wrapped
    // by the shim: regrtest prints the traceback, which must not show the wrappers.
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["test_load_error"]);
    let plain = without_leakcheck(dir.path(), &argv);
    let traceback = |stderr: &str| -> Vec<String> {
        stderr
            .lines()
            .skip_while(|l| !l.contains("crashed -- Traceback"))
            .take_while(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let plain_traceback = traceback(&String::from_utf8_lossy(&plain.stderr));
    assert!(
        plain_traceback.iter().any(|l| l.contains("test_func()")),
        "the traceback goes through the -R loop: {plain_traceback:?}"
    );
    let run = leakcheck_in(Some(dir.path()), &[], &as_strs(&argv), &[]);
    assert_eq!(traceback(&run.stderr), plain_traceback);
    assert_eq!(run.json()["shim"]["processes_patched"], 1, "the driver was wrapped");
    assert_eq!(run.json()["shim"]["attribution"], true, "stacks are recorded by default");
    assert_eq!(run.test("test_load_error")["outcome"], "uncaught_exception");
}

#[test]
fn python_processes_that_do_not_run_dash_r_keep_their_allocators() {
    // test_cmd_line.test_pythonmalloc checks the allocator name in a child interpreter.
    let run = leakcheck(&[], &[python(), "-c", "import _testcapi; print(_testcapi.pymem_getallocatorsname())"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(String::from_utf8_lossy(&run.stdout), "pymalloc_debug\n");
}

/// The `_leakfix` extension module in `testdir`.
fn leakfix_module(testdir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(testdir)
        .expect("reading the testdir")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("_leakfix") && n.ends_with(".so"))
        })
        .expect("the _leakfix extension in the testdir")
}

/// A fixture built without debug info still has its leak site, named from the symbol table,
/// and the report says why the site has no line.
#[test]
fn a_leak_site_in_a_module_without_dwarf_says_why_it_has_no_line() {
    let dir = testdir();
    let module = leakfix_module(dir.path());
    let status = std::process::Command::new("objcopy").arg("--strip-debug").arg(&module).status().expect("objcopy");
    assert!(status.success());
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_mem"])));
    let mem = run.test("test_leak_mem");
    let top = &mem["leak_sites"][0]["frames"][0];
    assert_eq!(top["function"], "leak_mem", "{mem}");
    assert_eq!(top["line"], Value::Null, "{mem}");
    let warnings = run.json()["warnings"].as_array().expect("warnings").clone();
    let module = module.display().to_string();
    assert!(
        warnings.iter().filter_map(Value::as_str).any(|w| w.contains(&module) && w.contains("no DWARF")),
        "{warnings:?}"
    );
}

/// A leak in an extension without line information (built without `-g`, or stripped as
/// installed wheels are) is placed at the extension's frame, by module and offset, in the
/// outputs that name one place (JUnit message, issue draft, annotation): not at the first frame
/// that has a line, CPython's call dispatch (`cfunction_vectorcall_NOARGS`), and the draft does
/// not search for that function.
#[test]
fn a_leak_in_an_extension_without_lines_is_placed_at_its_module_and_offset() {
    for strip in ["--strip-debug", "--strip-all"] {
        let dir = testdir();
        let module = leakfix_module(dir.path());
        let status = std::process::Command::new("objcopy").arg(strip).arg(&module).status().expect("objcopy");
        assert!(status.success());
        let work = tempfile::tempdir().expect("a temporary directory");
        let (xml, drafts) = (work.path().join("r.xml"), work.path().join("drafts"));
        let run = leakcheck(
            &["--junit-xml", &path_str(&xml), "--issue-draft", &path_str(&drafts), "--annotations", "github"],
            &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_mem"])),
        );
        let mem = run.test("test_leak_mem");
        let top = &mem["leak_sites"][0]["frames"][0];
        assert_eq!(top["module"], path_str(&module), "{mem}");
        assert_eq!(top["line"], Value::Null, "{mem}");
        let function = if strip == "--strip-debug" { "leak_mem" } else { "??" };
        if strip == "--strip-debug" {
            assert_eq!(top["function"], "leak_mem", "{mem}");
        }
        let offset = top["address"].as_str().expect("the frame's address");
        let at = format!("allocated at {function} ({}+{offset})", path_str(&module));
        let junit = std::fs::read_to_string(&xml).expect("the JUnit XML");
        let message = junit.lines().find(|l| l.contains("<failure") && l.contains("leaked")).unwrap_or_default();
        assert!(message.contains(&at), "{strip}: {at} in {message}");
        assert!(!message.contains("cfunction_vectorcall"), "{strip}: {message}");
        let draft = std::fs::read_to_string(drafts.join("test_leak_mem.md")).expect("the draft");
        assert!(!draft.contains("is:issue cfunction_vectorcall"), "{strip}: {draft}");
        assert!(draft.contains(&format!("+{offset}`")), "{strip}: the draft's \"at\" line: {draft}");
        assert_eq!(draft.contains("is:issue leak_mem"), strip == "--strip-debug", "{strip}: {draft}");
        // No file and line to point at: the annotation is the test's, without a file.
        let stdout = String::from_utf8_lossy(&run.stdout);
        let annotation = stdout.lines().find(|l| l.contains("test_leak_mem leaked")).unwrap_or_default();
        assert!(annotation.starts_with("::error title="), "{strip}: {stdout}");
        assert_eq!(run.code(), Some(101), "{}", run.stderr);
    }
}

#[test]
fn a_mem_leak_regrtest_misses_when_the_test_runs_alone_is_found() {
    // Alone, 3.11.2's quickened-count subtraction hides this leak from regrtest.
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_mem"])));
    let mem = run.test("test_leak_mem");
    assert_eq!(mem["regrtest"]["leaked"], false, "regrtest 3.11.2 misses it alone: {mem}");
    assert_eq!(mem["leaked"], true, "{mem}");
    assert_single_site(mem, "mem", "leak_mem", "PyMem_Malloc(24)");
    assert_eq!(run.code(), Some(101));
    assert!(run.stderr.contains("1 block/repetition (24 bytes) in mem, allocated at:"), "{}", run.stderr);
}

/// An extension's own helper named as one of CPython's allocator functions (`gc_alloc`) is
/// not folded away as allocator plumbing: only such functions of the interpreter are.
#[test]
fn an_extension_function_named_like_an_allocator_is_a_leak_sites_frame() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_named_like_allocator"])));
    let test = run.test("test_leak_named_like_allocator");
    let site = &test["leak_sites"][0];
    assert_eq!(site["domain"], "raw", "{test}");
    let top = &site["frames"][0];
    assert_eq!(top["function"], "gc_alloc", "{site}");
    assert_eq!(top["line"], fixture_line("void *block = PyMem_RawMalloc(size);"), "{site}");
    assert!(top["module"].as_str().unwrap_or("").contains("_leakfix"), "{site}");
    assert_eq!(site["frames"][1]["function"], "leak_raw_named_like_allocator", "{site}");
    // PyMem_RawMalloc and the debug hooks below it, in the interpreter, are still folded.
    assert!(site["folded_frames"].as_u64().unwrap_or(0) >= 1, "{site}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// A leak in a library loaded and unloaded within each repetition (ctypes.CDLL, then
/// `_ctypes.dlclose`): the shim lists the modules at the measurements, when the library is gone,
/// so the site's frame there has only its runtime address, and the stack ends at it. The leak
/// is found all the same, and a warning, once, says why the site has no module.
#[test]
fn a_leak_in_a_library_unloaded_within_each_repetition_is_found_with_a_warning() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["test_leak_unloaded_library", "test_leak_raw"]);
    let run = leakcheck(&[], &as_strs(&argv));
    let test = run.test("test_leak_unloaded_library");
    assert_eq!(test["leaked"], true, "{test}");
    let site = &test["leak_sites"][0];
    assert_eq!((&site["domain"], &site["blocks"]), (&json!("raw"), &json!([1, 1, 1])), "{test}");
    assert_eq!(site["frames"][0]["module"], "?", "{site}");
    let warnings: Vec<&str> = run.json()["warnings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let about = warnings.iter().filter(|w| w.contains("a library loaded and unloaded within a repetition")).count();
    assert_eq!(about, 1, "{warnings:?}");
    // A site in a module that stays loaded gives no such warning.
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_raw"])));
    assert!(!run.json()["warnings"].to_string().contains("loaded and unloaded"), "{}", run.json()["warnings"]);
}

/// A block grown by realloc in the counted repetitions belongs to the realloc's line (as in
/// tracemalloc), with the grown size; the smaller block it replaced leaves no site behind.
#[test]
fn a_block_grown_by_realloc_is_attributed_to_the_realloc() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_mem_realloc"])));
    let mem = run.test("test_leak_mem_realloc");
    assert_eq!(mem["leaked"], true, "{mem}");
    assert_eq!(domain(mem, "mem")["blocks"], json!([1, 1, 1]), "{mem}");
    assert_single_site(mem, "mem", "leak_mem_realloc", "PyMem_Realloc(small, 72)");
    assert_eq!(mem["leak_sites"][0]["bytes"], json!([72, 72, 72]), "{mem}");
}

#[test]
fn blocks_replaced_every_repetition_are_no_leak_site_with_two_counted_repetitions() {
    // regrtest's -R loop itself keeps `alloc_before`/`rc_before` (ints beyond the small-int
    // cache) alive from one repetition to the next: blocks that live two repetitions. Counted
    // from a cold start, their site would grow in both counted repetitions of `-R 2:2`.
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_with(python(), dir.path(), &["-R", "2:2"], &["test_leak_object"])));
    let obj = run.test("test_leak_object");
    assert_eq!(domain(obj, "obj")["blocks"], json!([1, 1]), "{obj}");
    assert_single_site(obj, "obj", "leak_object", "PyType_GenericNew(");
}

/// The types of leaked Python objects: a class instance (GC, managed dict: its block starts
/// two pre-header parts before the object) and a dict; the dict's key table beside it is a
/// block of no type.
#[test]
fn leaked_objects_are_named_by_their_type() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_instances"])));
    let test = run.test("test_leak_instances");
    assert_eq!(test["regrtest"]["leaked"], true, "{test}");
    let types: Vec<&Value> =
        test["leak_sites"].as_array().expect("leak_sites").iter().map(|s| &s["object_types"]).collect();
    assert!(types.contains(&&json!(["Kept"])), "{types:?}");
    assert!(types.contains(&&json!(["dict"])), "{types:?}");
    assert!(run.stderr.contains("in obj (objects of type Kept), allocated at:"), "{}", run.stderr);
}

#[test]
fn without_attribution_the_counts_remain() {
    let dir = testdir();
    let run = leakcheck(&["--no-attribution"], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_raw"])));
    let raw = run.test("test_leak_raw");
    assert_eq!(domain(raw, "raw")["leaked"], true, "{raw}");
    assert_eq!(raw["leak_sites"], json!([]));
    // The report says why there are no sites, so that none is not read as "no site grew".
    assert_eq!(run.json()["shim"]["attribution"], false);
    assert!(run.stderr.contains("(counting only: --no-attribution) ----"), "{}", run.stderr);
}

/// An accepted leak (`leak:^leak_raw$`, one raw block every call) beside growth in the same
/// domain that is no leak by itself (one more block every other call): the suppressed site's
/// growth is taken off the domain's, `[2, 1, 2]` less `[1, 1, 1]`, and what remains, `[1, 0, 1]`,
/// is no leak by regrtest's rule: the test is not leaked, its note says what the suppression
/// explains, and leakcheck exits with regrtest's 0.
#[test]
fn a_suppressed_leak_beside_harmless_growth_in_its_domain_does_not_fail_the_run() {
    let dir = testdir();
    let work = tempfile::tempdir().expect("a temporary directory");
    let supp = work.path().join("accepted.supp");
    std::fs::write(&supp, "leak:^leak_raw$\n").unwrap();
    let argv = regrtest_argv(dir.path(), &[], &["test_leak_raw_beside_odd_growth"]);
    let run = leakcheck(&["--suppressions", &path_str(&supp)], &as_strs(&argv));
    let test = run.test("test_leak_raw_beside_odd_growth");
    assert_eq!(test["domains"]["raw"]["blocks"], json!([2, 1, 2]), "as measured: {test}");
    assert_eq!(test["suppressed_sites"][0]["blocks"], json!([1, 1, 1]), "{test}");
    assert_eq!(test["leak_sites"], json!([]), "{test}");
    assert_eq!(test["domains"]["raw"]["leaked"], false, "{test}");
    assert_eq!(test["leaked"], false, "{test}");
    assert!(
        test["notes"].to_string().contains(
            "raw: its growth is the suppressed sites' (leak:^leak_raw$): they explain blocks [1, 1, 1] of \
             [2, 1, 2]; what remains, [1, 0, 1], is no leak by regrtest's rule"
        ),
        "{test}"
    );
    assert_eq!(run.code(), Some(0), "regrtest's status: {}", run.stderr);
}

/// `--suppressions`: a leak a buildbot owner accepted, matched by its C function or by its
/// Python line, no longer counts as leakcheck's; what it matched stays in the report;
/// regrtest's own verdicts are never suppressed; a bad file is a usage error naming the line.
#[test]
fn suppressed_sites_are_reported_and_do_not_fail_the_run() {
    let dir = testdir();
    let work = tempfile::tempdir().expect("a temporary directory");
    let by_python_line = work.path().join("by-line.supp");
    std::fs::write(&by_python_line, "# CPython's own, on purpose\nleak:test_leak_raw.py:9\n").unwrap();
    let by_function = work.path().join("by-function.supp");
    std::fs::write(&by_function, "leak:^leak_mem$\n").unwrap();
    let argv = regrtest_argv(dir.path(), &[], &["test_leak_raw", "test_leak_mem", "test_balanced"]);
    let run = leakcheck(
        &["--suppressions", &path_str(&by_python_line), "--suppressions", &path_str(&by_function)],
        &as_strs(&argv),
    );
    // regrtest itself fails test_leak_mem (memory blocks): its status, 2, is all that is left.
    assert_eq!(run.code(), Some(2), "regrtest's status: every leak of leakcheck's was accepted\n{}", run.stderr);
    for (name, domain, rule) in
        [("test_leak_raw", "raw", "leak:test_leak_raw.py:9"), ("test_leak_mem", "mem", "leak:^leak_mem$")]
    {
        let test = run.test(name);
        assert_eq!(test["leak_sites"], json!([]), "{test}");
        let suppressed = &test["suppressed_sites"][0];
        assert_eq!(
            (suppressed["suppression"].as_str(), suppressed["domain"].as_str()),
            (Some(rule), Some(domain)),
            "{test}"
        );
        assert_eq!(suppressed["blocks"], json!([1, 1, 1]));
        assert_eq!(test["domains"][domain]["blocks"], json!([1, 1, 1]), "the deltas stay as measured");
        assert_eq!(test["domains"][domain]["leaked"], false);
        assert!(test["notes"].to_string().contains("suppressed sites"), "{test}");
        assert_eq!(test["leak_not_reported_by_regrtest"], false);
    }
    assert_eq!(run.test("test_leak_raw")["leaked"], false);
    // regrtest's own verdict is never suppressed.
    assert_eq!(run.test("test_leak_mem")["leaked"], true);
    assert_eq!(run.test("test_leak_mem")["regrtest"]["memory_blocks"], json!([1, 1, 1]));
    assert_eq!(run.json()["summary"]["leaked"], json!(["test_leak_mem"]));

    // Without the files, the same run fails.
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_raw"])));
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
    assert!(!run.json()["warnings"].to_string().contains("suppressions"), "{}", run.json()["warnings"]);
    // Counting alone records no site for them to match: the run fails, and says why.
    let run = leakcheck(
        &["--no-attribution", "--suppressions", &path_str(&by_python_line)],
        &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_raw"])),
    );
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
    let warnings = run.json()["warnings"].to_string();
    assert!(
        warnings.contains("the suppressions (--suppressions or $LEAKCHECK_SUPPRESSIONS) were not applied"),
        "{warnings}"
    );
    assert!(warnings.contains("which --no-attribution does not record"), "{warnings}");

    let bad = work.path().join("bad.supp");
    std::fs::write(&bad, "leak:ok\nrace:not_here\n").unwrap();
    let run = leakcheck(&["--suppressions", &path_str(&bad)], &["true"]);
    assert_eq!(run.code(), Some(64));
    assert!(run.stderr.contains(&format!("{}:2:", bad.display())), "{}", run.stderr);
}

/// The raw leak site of `test_leak_raw_traced` (tracemalloc's hooks folded like the allocator
/// API): `leak_raw` at its allocating line.
fn assert_traced_leak_site(test: &Value) {
    let sites = test["leak_sites"].as_array().unwrap_or_else(|| panic!("no leak_sites: {test}"));
    let site = sites
        .iter()
        .find(|s| s["frames"][0]["function"] == "leak_raw")
        .unwrap_or_else(|| panic!("no site at leak_raw: {}", serde_json::to_string_pretty(sites).unwrap()));
    assert_eq!(site["domain"], "raw");
    assert_eq!(site["frames"][0]["line"], fixture_line("PyMem_RawMalloc(48)"), "{site}");
    let functions: Vec<&str> =
        site["frames"].as_array().unwrap().iter().filter_map(|f| f["function"].as_str()).collect();
    assert!(functions.iter().all(|f| !f.starts_with("tracemalloc_")), "{functions:?}");
}

/// A test that traces with tracemalloc: tracemalloc's hooks sit above ours while it traces,
/// and their frames are allocator plumbing.
#[test]
fn a_leak_while_tracemalloc_traces_is_found_at_its_line() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_raw_traced"])));
    let test = run.test("test_leak_raw_traced");
    assert_eq!(domain(test, "raw")["leaked"], true, "{test}");
    assert_traced_leak_site(test);
}

/// With `-X tracemalloc=1` tracemalloc wraps CPython's allocators before ours wrap it, so a
/// test's tracemalloc.stop() puts CPython's back and takes ours out. The shim notices at the
/// next measurement and puts them back: the repetitions after count, the tests after too, and
/// the process is no "hooks replaced" one (at exit tracemalloc takes ours out again).
#[test]
fn hooks_taken_out_by_tracemalloc_stop_are_put_back() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &["-X", "tracemalloc=1"], &["test_leak_raw_traced", "test_leak_raw"]);
    let run = leakcheck(&[], &as_strs(&argv));
    let report = run.json();
    assert_eq!(report["shim"]["hooks_replaced"], json!([]), "{}", report["shim"]);
    assert_eq!(report["warnings"], json!([]), "{}", run.stderr);
    // Each counted repetition has the fixture's block; 3.11's tracemalloc adds one of its own:
    // the traceback it interns for a traced block (`traceback_new`), which its stop() never
    // frees (its table has no key destructor), a CPython leak leakcheck rightly reports.
    let traced = run.test("test_leak_raw_traced");
    let blocks = domain(traced, "raw")["blocks"].as_array().cloned().unwrap_or_default();
    assert!(blocks.len() == 3 && blocks.iter().all(|b| b.as_i64() >= Some(1)), "{traced}");
    assert_traced_leak_site(traced);
    let raw = run.test("test_leak_raw");
    assert_eq!(domain(raw, "raw")["blocks"], json!([1, 1, 1]), "{raw}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// A bounded cache full before the test (filled at import) evicts an entry made before the
/// window for each one a repetition adds: the new entries' sites grow, the old entries' frees
/// are in no site. The shim counts those frees by the Python line that ran them, and the sites
/// allocated while that line ran are no leak sites; a note says what was let go.
#[test]
fn a_cache_full_before_the_test_is_no_leak() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_cache_full_before"])));
    let test = run.test("test_cache_full_before");
    assert_eq!(test["leaked"], false, "{test}");
    assert_eq!(test["leak_sites"], json!([]), "{test}");
    // A note names the line that added (and evicted) the entry.
    let line = module_line("test_cache_full_before", "entry(next(_keys))");
    assert!(test["notes"].to_string().contains(&format!("test_cache_full_before.py:{line} ran")), "{test}");
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

/// The same with `functools.lru_cache` around a Python function: the new entry's string is made
/// in that function, one frame inside the line whose call the cache's C wrapper evicts on. And
/// a C ring full before the test whose blocks, and the blocks it frees, grow in size each time.
/// Neither is a leak; the notes name the evicting line.
#[test]
fn a_cache_full_before_the_test_evicting_on_the_callers_line_is_no_leak() {
    let dir = testdir();
    let tests = ["test_cache_full_before_python", "test_ring_full_before_growing"];
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &tests)));
    for (module, call) in [(tests[0], "render(next(_keys))"), (tests[1], "        _leakfix.ring_push_growing()")] {
        let test = run.test(module);
        assert_eq!(test["leaked"], false, "{test}");
        assert_eq!(test["leak_sites"], json!([]), "{test}");
        let line = module_line(module, call);
        assert!(test["notes"].to_string().contains(&format!("{module}.py:{line} ran")), "{test}");
    }
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

/// Caches filling up to their high-water mark, one more each repetition and each from its own
/// line, grow `mem` by regrtest's rule with no site that grew every time: the verdict stands
/// (a leak could move so too), marked `spread`, with a note and no site. Without attribution
/// there are no sites to tell, and no mark.
#[test]
fn growth_that_moves_from_site_to_site_is_marked_spread() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["test_cache_high_water"]);
    let run = leakcheck(&[], &as_strs(&argv));
    let test = run.test("test_cache_high_water");
    let mem = domain(test, "mem");
    let blocks = mem["blocks"].as_array().cloned().unwrap_or_default();
    assert!(blocks.len() == 3 && blocks.iter().all(|b| b.as_i64() >= Some(1)), "{test}");
    assert_eq!(mem["leaked"], true, "{test}");
    assert_eq!(mem["spread"], true, "{test}");
    assert_eq!(test["leaked"], true, "{test}");
    assert_eq!(test["leak_sites"], json!([]), "{test}");
    assert!(test["notes"].to_string().contains("no allocation site did"), "{test}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);

    let run = leakcheck(&["--no-attribution"], &as_strs(&argv));
    let test = run.test("test_cache_high_water");
    assert_eq!(domain(test, "mem")["leaked"], true, "{test}");
    assert_eq!(domain(test, "mem").get("spread"), None, "{test}");
    assert_eq!(test["leaked"], true, "{test}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// One leak reached from another caller each repetition: no site with the same callers grew
/// every time, but told apart by the innermost Python line only, one did. It is the leak site,
/// at the fixture's line, with that Python frame alone (its callers differ), and a note.
#[test]
fn a_leak_reached_from_other_callers_each_time_has_one_site() {
    let dir = testdir();
    let module = "test_leak_callers";
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &[module])));
    let test = run.test(module);
    assert_eq!(domain(test, "raw")["leaked"], true, "{test}");
    assert_eq!(domain(test, "raw").get("spread"), None, "{test}");
    let sites = test["leak_sites"].as_array().cloned().unwrap_or_default();
    assert_eq!(sites.len(), 1, "{test}");
    let site = &sites[0];
    assert_eq!(site["blocks"], json!([1, 1, 1]), "{site}");
    assert_eq!(site["frames"][0]["function"], "leak_raw", "{site}");
    assert_eq!(site["frames"][0]["line"], fixture_line("PyMem_RawMalloc(48)"), "{site}");
    assert_eq!(site["python_frames"].as_array().map(Vec::len), Some(1), "{site}");
    assert_eq!(site["python_frame"]["function"], "leak", "{site}");
    assert_eq!(site["python_frame"]["line"], module_line(module, "_leakfix.leak_raw()"), "{site}");
    assert!(test["notes"].to_string().contains("innermost Python line"), "{test}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// One leak reached from another Python line each repetition (three branches of an `if`), the
/// C path below the same: no site grew every time told apart by its Python line, not even the
/// innermost alone, but one did by its C frames alone. It is the leak site, at the fixture's
/// line, with no Python frame (which line would be a guess), and a note says why.
#[test]
fn a_leak_reached_from_other_lines_each_time_has_one_site() {
    let dir = testdir();
    let module = "test_leak_other_lines";
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &[module])));
    let test = run.test(module);
    assert_eq!(domain(test, "raw")["leaked"], true, "{test}");
    assert_eq!(domain(test, "raw").get("spread"), None, "{test}");
    let sites = test["leak_sites"].as_array().cloned().unwrap_or_default();
    let [site] = sites.as_slice() else { panic!("one site: {test}") };
    assert_eq!(site["domain"], "raw", "{site}");
    assert_eq!(site["blocks"], json!([1, 1, 1]), "{site}");
    assert_eq!(site["bytes"], json!([48, 48, 48]), "{site}");
    assert_eq!(site["frames"][0]["function"], "leak_raw", "{site}");
    assert_eq!(site["frames"][0]["line"], fixture_line("PyMem_RawMalloc(48)"), "{site}");
    assert_eq!(site["python_frame"], Value::Null, "{site}");
    assert_eq!(site["python_frames"], json!([]), "{site}");
    assert!(test["notes"].to_string().contains("told apart by their C frames alone"), "{test}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// One leak reached from one Python line through two C paths in turn (a dict path and a list
/// path sharing the allocating helper, as an encoder's do): no site grew every time told apart by
/// its C frames, neither by its Python line nor without it, but one did by the C line that
/// allocated with its innermost Python line. It is the leak site, at the helper's line, with the
/// frames both paths share (not a caller of the helper) and that Python frame, and a note; the
/// domain is not `spread`.
#[test]
fn a_leak_reached_through_other_c_paths_each_time_has_one_site() {
    let dir = testdir();
    let module = "test_leak_two_c_paths";
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &[module])));
    let test = run.test(module);
    assert_eq!(domain(test, "raw")["blocks"], json!([1, 1, 1]), "{test}");
    assert_eq!(domain(test, "raw")["leaked"], true, "{test}");
    assert_eq!(domain(test, "raw").get("spread"), None, "{test}");
    let sites = test["leak_sites"].as_array().cloned().unwrap_or_default();
    let [site] = sites.as_slice() else { panic!("one site: {test}") };
    assert_eq!(site["domain"], "raw", "{site}");
    assert_eq!(site["blocks"], json!([1, 1, 1]), "{site}");
    assert_eq!(site["bytes"], json!([120, 120, 120]), "{site}");
    let frames = site["frames"].as_array().cloned().unwrap_or_default();
    let [top] = frames.as_slice() else { panic!("only the helper's frame is shared: {site}") };
    assert_eq!(top["function"], "two_paths_leaf", "{site}");
    assert_eq!(top["line"], fixture_line("PyMem_RawMalloc(120)"), "{site}");
    assert!(site["folded_frames"].as_u64().unwrap_or(0) >= 1, "PyMem_RawMalloc was folded: {site}");
    assert_eq!(site["python_frames"].as_array().map(Vec::len), Some(1), "{site}");
    assert_eq!(site["python_frame"]["function"], format!("LeakTest.{module}"), "{site}");
    assert_eq!(site["python_frame"]["line"], module_line(module, "_leakfix.leak_raw_two_paths("), "{site}");
    let notes = test["notes"].to_string();
    assert!(notes.contains("told apart by the C line that allocated"), "{test}");
    assert!(!notes.contains("no allocation site did"), "{test}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// A 24-byte mem leak per repetition beside a pool of 200-byte blocks filled in the first
/// warm-up and drained one block per repetition: the domain is flat, so by the rule there is no
/// leak and no leak site (a ring rotating its blocks looks the same to the domain), but a note
/// names the site that grew, its growth and the warm-up frees of another size that offset it.
#[test]
fn a_site_hidden_by_warm_up_blocks_of_another_size_freed_as_fast_is_noted() {
    let dir = testdir();
    let module = "test_leak_hidden_by_warmup";
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &[module])));
    let test = run.test(module);
    assert_eq!(domain(test, "mem")["blocks"], json!([0, 0, 0]), "{test}");
    assert_eq!(domain(test, "mem")["leaked"], false, "{test}");
    assert_eq!(test["leaked"], false, "{test}");
    assert_eq!(test["leak_sites"], json!([]), "{test}");
    let notes = test["notes"].to_string();
    let site = format!("mem: leak_mem (leakfix.c:{})", fixture_line("PyMem_Malloc(24)"));
    let from = format!("from {module}.py:{}", module_line(module, "_leakfix.leak_mem()"));
    assert!(notes.contains(&site) && notes.contains(&from), "{test}");
    assert!(notes.contains("grew by [1, 1, 1] blocks in every counted repetition"), "{test}");
    assert!(notes.contains("blocks of other sizes (200 bytes)") && notes.contains("[1, 1, 1]. No leak"), "{test}");
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

/// A ring of three blocks that frees its oldest and makes a new one on each call, beside a
/// leak of the same size in the same domain: the ring's site grows too (a block made in a
/// counted repetition lives on, one made in a warm-up dies), and by size alone either site
/// could be the one that replaced the warm-up blocks. The shim counts those frees by the
/// Python line running, which is the ring's: the leak is the only site, the ring a refill.
#[test]
fn a_leak_beside_a_ring_of_its_size_is_the_only_site() {
    let dir = testdir();
    let module = "test_leak_beside_ring";
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &[module])));
    let test = run.test(module);
    assert_eq!(domain(test, "raw")["blocks"], json!([1, 1, 1]), "{test}");
    assert_single_site(test, "raw", "leak_raw", "PyMem_RawMalloc(48)");
    let notes = test["notes"].to_string();
    assert!(notes.contains("no leak site: ring_push") && notes.contains("during the warm-ups"), "{test}");
    assert!(!notes.contains("together grew by"), "{test}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// With a small `--stack-depth` the recorded stacks end inside CPython's allocator before
/// reaching the code that asked for the memory: the site shows what there is, and a note says
/// to raise the depth.
#[test]
fn a_stack_cut_inside_the_allocator_says_to_raise_the_depth() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["test_leak_raw", "test_leak_object"]);
    let run = leakcheck(&["--stack-depth", "1"], &as_strs(&argv));
    for (name, domain) in [("test_leak_raw", "raw"), ("test_leak_object", "obj")] {
        let test = run.test(name);
        let site = &test["leak_sites"][0];
        assert_eq!(site["domain"], domain, "{test}");
        assert_eq!(site["blocks"], json!([1, 1, 1]), "{test}");
        let notes = test["notes"].to_string();
        assert!(
            notes.contains("its stack was cut at --stack-depth 1 before reaching the caller; raise --stack-depth"),
            "{test}"
        );
    }
    // With the default depth the caller is there, and no such note.
    let run = leakcheck(&[], &as_strs(&argv));
    for name in ["test_leak_raw", "test_leak_object"] {
        assert!(!run.test(name)["notes"].to_string().contains("--stack-depth"), "{}", run.test(name));
    }
}

/// The frees of blocks from before the test that happen as the test method returns (its
/// locals) are charged to unittest's calling line, which every site of the method has among
/// its callers: they offset nothing.
#[test]
fn a_leak_beside_frees_of_old_blocks_is_found() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_beside_old_frees"])));
    let test = run.test("test_leak_beside_old_frees");
    assert!(
        test["leak_sites"].as_array().unwrap().iter().any(|s| s["frames"][0]["function"] == "leak_object"),
        "{test}"
    );
    assert!(!test["notes"].to_string().contains("no leak site"), "{test}");
}

/// A leak beside several TestCase classes, sequentially and with `-j 2`: each class's
/// `tearDown_exceptions` list (unittest's `doClassCleanups`) rotates through the list free
/// list, so lists made in the counted repetitions live on while lists made in the warm-ups die.
/// Their site grew in every counted repetition, the domain only by the leak: the leak is the
/// only site, and a note names the list site as a refill of warm-up blocks.
#[test]
fn a_leak_beside_several_test_classes_is_the_only_site() {
    let dir = testdir();
    for flags in [&[][..], &["-j2"]] {
        let tests: Vec<&str> = flags.iter().copied().chain(["test_leak_beside_classes"]).collect();
        let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &tests)));
        let test = run.test("test_leak_beside_classes");
        assert_eq!(domain(test, "obj")["blocks"], json!([1, 1, 1]), "{test}");
        assert_single_site(test, "obj", "leak_object", "PyType_GenericNew(");
        let notes = test["notes"].to_string();
        assert!(notes.contains("no leak site: PyList_New") && notes.contains("during the warm-ups"), "{test}");
    }
}

/// A test that restarts tracemalloc in every repetition under `-X tracemalloc=1` takes the
/// hooks out each time: no domain counts, and no leak sites either (the hooks saw allocations
/// whose frees they missed), so no leak verdict.
#[test]
fn hooks_taken_out_in_every_repetition_give_no_verdict() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &["-X", "tracemalloc=1"], &["test_tracemalloc_restart"]);
    let run = leakcheck(&[], &as_strs(&argv));
    let test = run.test("test_tracemalloc_restart");
    assert_eq!(test["domains"], Value::Null, "{test}");
    assert_eq!(test["leak_sites"], json!([]), "{test}");
    assert_eq!(test["leaked"], false, "{test}");
    assert!(run.json()["warnings"].to_string().contains("did not count"), "{}", run.json()["warnings"]);
    // The summary does not call uncounted domains clean: regrtest's checks alone looked.
    assert!(
        run.stderr.contains("leakcheck: test_tracemalloc_restart: no leak by regrtest's checks (passed)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

/// A Python-level leak in a doctest example: a new code object each repetition (and, on 3.11,
/// another path through the eval loop once it is specialized), one leak site all the same, at
/// the example's line.
#[test]
fn a_leak_in_a_doctest_example_has_one_site() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_in_doctest"])));
    let test = run.test("test_leak_in_doctest");
    let sites = test["leak_sites"].as_array().unwrap();
    assert_eq!(sites.len(), 1, "{test}");
    assert_eq!(sites[0]["blocks"], json!([1, 1, 1]), "{test}");
    assert_eq!(sites[0]["frames"][0]["function"], "object_new", "{test}");
    let file = sites[0]["python_frame"]["file"].as_str().unwrap_or("");
    assert!(file.starts_with("<doctest test_leak_in_doctest.keeper"), "{test}");
}

/// A leak through a call that 3.11's adaptive interpreter specializes during the counted
/// repetitions: two native stacks above the C function, one site (the Python lines are the
/// same), found in every repetition.
#[test]
fn a_leak_through_a_call_specialized_midway_has_one_site() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_specialized"])));
    let test = run.test("test_leak_specialized");
    let sites = test["leak_sites"].as_array().unwrap();
    assert_eq!(sites.len(), 1, "{}", serde_json::to_string_pretty(sites).unwrap());
    let site = &sites[0];
    assert_eq!(site["domain"], "raw", "{site}");
    assert_eq!(site["blocks"], json!([1, 1, 1]), "{site}");
    assert_eq!(site["frames"][0]["function"], "leak_raw_n", "{site}");
    assert_eq!(site["frames"][0]["line"], fixture_line("PyMem_RawMalloc(40)"), "{site}");
    let lines: Vec<&Value> = site["python_frames"].as_array().unwrap().iter().map(|f| &f["line"]).collect();
    let module = "test_leak_specialized";
    assert_eq!(
        lines[..2],
        [&json!(module_line(module, "_leakfix.leak_raw_n")), &json!(module_line(module, "leak(1)"))]
    );
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// A block allocated on a coroutine's stack (makecontext, as greenlet does), which the shim does
/// not unwind: the site has no native frame, and is reported all the same, by its Python line,
/// with the text saying why its frames are missing.
#[test]
fn a_leak_on_a_coroutine_stack_is_a_site_told_by_its_python_line() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_leak_on_coroutine"])));
    let test = run.test("test_leak_on_coroutine");
    let sites = test["leak_sites"].as_array().unwrap();
    let [site] = sites.as_slice() else { panic!("one site: {}", serde_json::to_string_pretty(sites).unwrap()) };
    assert_eq!(site["domain"], "raw", "{site}");
    assert_eq!(site["blocks"], json!([1, 1, 1]), "{site}");
    assert_eq!(site["bytes"], json!([56, 56, 56]), "{site}");
    assert_eq!(site["frames"], json!([]), "{site}");
    let module = "test_leak_on_coroutine";
    assert_eq!(site["python_frame"]["line"], module_line(module, "_leakfix.leak_raw_on_coroutine"), "{site}");
    assert!(run.stderr.contains("(no native frames: allocated on a stack the shim does not unwind)"), "{}", run.stderr);
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// Threads started after `threading.stack_size(32768)` (Python's minimum) allocate through code
/// no earlier allocation ran, whose unwind rules the shim evaluates on the allocating thread's
/// stack: that took 26 KiB of it, and the process died of SIGSEGV under leakcheck alone. Now
/// the run is as without leakcheck, sequentially and with `-j 2`, and a leak made deep in a
/// repr() on such a thread, with too little stack left for the shim to unwind further, is still
/// counted in its domain, at a site whose stack was cut, with a note saying why.
#[test]
fn threads_with_a_small_stack_run_as_without_leakcheck() {
    let dir = testdir();
    let module = "test_leak_small_stack_thread";
    for flags in [&[][..], &["-j2"]] {
        let tests: Vec<&str> = flags.iter().copied().chain(["test_small_stack_thread", module]).collect();
        let argv = regrtest_argv(dir.path(), &[], &tests);
        let plain = without_leakcheck(dir.path(), &argv);
        assert_eq!(plain.status.code(), Some(0), "{}", String::from_utf8_lossy(&plain.stdout));
        let run = leakcheck(&[], &as_strs(&argv));
        assert_eq!(run.code(), Some(101), "{}", run.stderr);
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(stdout.contains("Tests result: SUCCESS"), "{stdout}");
        let quiet = run.test("test_small_stack_thread");
        assert_eq!(quiet["outcome"], "passed", "{quiet}");
        assert_eq!(quiet["leaked"], false, "{quiet}");
        let test = run.test(module);
        assert_eq!(test["outcome"], "passed", "{test}");
        assert_eq!(domain(test, "raw")["blocks"], json!([1, 1, 1]), "{test}");
        let sites = test["leak_sites"].as_array().unwrap();
        let [site] = sites.as_slice() else { panic!("one site: {}", serde_json::to_string_pretty(sites).unwrap()) };
        assert_eq!(site["domain"], "raw", "{site}");
        assert_eq!(site["blocks"], json!([1, 1, 1]), "{site}");
        assert_eq!(site["stack_cut"], true, "{site}");
        assert_eq!(site["python_frame"]["line"], module_line(module, "_leakfix.leak_raw()"), "{site}");
        let notes = test["notes"].to_string();
        assert!(notes.contains("bytes of stack left, too few for the shim to unwind"), "{test}");
        assert!(run.stderr.contains("(native stack cut"), "{}", run.stderr);
    }
}

/// A release interpreter: regrtest refuses `-R` with an exception before the first repetition,
/// and the test's note carries regrtest's reason rather than only "0 of 6 measured".
#[test]
fn a_release_interpreter_refusing_dash_r_is_named_as_the_reason() {
    // Pure Python: the fixtures' extension modules are built for the debug ABI.
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        dir.path().join("test_plain.py"),
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_nothing(self):\n        pass\n",
    )
    .unwrap();
    let run =
        leakcheck(&[], &as_strs(&regrtest_with("/usr/bin/python3.11", dir.path(), &["-R", "3:3"], &["test_plain"])));
    let test = run.test("test_plain");
    assert_eq!(test["domains"], Value::Null, "{test}");
    let notes = test["notes"].to_string();
    assert!(notes.contains("0 of 6 measured (Exception: Tracking reference leaks requires a debug build"), "{notes}");
}

/// One line of C in a loop of two iterations, which gcc -O2 unrolls into two calls of
/// `PyMem_RawMalloc`: the shim records two stacks that differ only in that return address, and
/// they symbolize alike (function, file, line, column, Python frames). One leak site, its
/// blocks the two summed (`[2, 2, 2]`), not two sites of one line each.
#[test]
fn the_unrolled_copies_of_one_call_are_one_site() {
    let dir = testdir();
    let module = "test_leak_unrolled";
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &[module])));
    let test = run.test(module);
    assert_eq!(domain(test, "raw")["blocks"], json!([2, 2, 2]), "{test}");
    let sites = test["leak_sites"].as_array().cloned().unwrap_or_default();
    let [site] = sites.as_slice() else { panic!("one site: {}", serde_json::to_string_pretty(&sites).unwrap()) };
    assert_eq!(site["blocks"], json!([2, 2, 2]), "{site}");
    assert_eq!(site["bytes"], json!([64, 64, 64]), "{site}");
    assert_eq!(site["frames"][0]["function"], "leak_raw_unrolled", "{site}");
    assert_eq!(site["frames"][0]["line"], fixture_line("PyMem_RawMalloc(32)"), "{site}");
    assert_eq!(site["python_frame"]["line"], module_line(module, "_leakfix.leak_raw_unrolled()"), "{site}");
    assert!(run.stderr.contains("2 blocks/repetition (64 bytes) in raw"), "{}", run.stderr);
    assert_eq!(run.code(), Some(101), "{}", run.stderr);

    // A suppression of the line takes the one site, whose growth explains the domain's.
    let work = tempfile::tempdir().expect("a temporary directory");
    let rules = work.path().join("unrolled.supp");
    std::fs::write(&rules, "leak:^leak_raw_unrolled$\n").unwrap();
    let run = leakcheck(&["--suppressions", &path_str(&rules)], &as_strs(&regrtest_argv(dir.path(), &[], &[module])));
    let test = run.test(module);
    assert_eq!(test["leak_sites"], json!([]), "{test}");
    assert_eq!(test["suppressed_sites"].as_array().map(Vec::len), Some(1), "{test}");
    assert_eq!(test["suppressed_sites"][0]["blocks"], json!([2, 2, 2]), "{test}");
    assert_eq!(domain(test, "raw")["leaked"], false, "{test}");
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

/// A raw leak in a test whose reference leak regrtest reports: the test is not
/// `leak_not_reported_by_regrtest` (regrtest did report a leak), and a note says the raw blocks,
/// which regrtest cannot see, will still leak once the reported leak is fixed. The mem block,
/// which regrtest's memory-block check counts here (pymalloc), gets no such note.
#[test]
fn a_raw_leak_beside_a_reported_one_is_said_to_remain() {
    let dir = testdir();
    let module = "test_leak_beside_reference";
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &[module])));
    let test = run.test(module);
    assert_eq!(test["regrtest"]["leaked"], true, "{test}");
    assert_eq!(test["leak_not_reported_by_regrtest"], false, "{test}");
    assert_eq!(domain(test, "raw")["leaked"], true, "{test}");
    let notes: Vec<&str> =
        test["notes"].as_array().map(|n| n.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let [note] = notes.iter().filter(|n| n.contains("leaked where regrtest cannot see")).collect::<Vec<_>>()[..] else {
        panic!("one note: {notes:?}")
    };
    assert!(note.starts_with("raw (blocks [1, 1, 1]) leaked where regrtest cannot see"), "{note}");
    assert!(note.contains("will still leak after the leak regrtest reported is fixed"), "{note}");
    assert!(run.stderr.contains("note: raw (blocks [1, 1, 1]) leaked where regrtest cannot see"), "{}", run.stderr);
}

/// Two leaks on two lines of code run by `test.support.run_in_subinterp`: while the
/// subinterpreter runs, 3.11's current thread state is its own, not the main interpreter's that
/// the runtime's thread-state key keeps for the thread. Its frames are the sites' Python lines,
/// `<string>` 2 and 4: two sites, not one at `run_in_subinterp`'s line.
#[test]
fn leaks_in_a_subinterpreter_get_the_subinterpreters_lines() {
    let dir = testdir();
    let module = "test_leak_in_subinterp";
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &[module])));
    let test = run.test(module);
    assert_eq!(domain(test, "raw")["blocks"], json!([2, 2, 2]), "{test}");
    let sites = test["leak_sites"].as_array().cloned().unwrap_or_default();
    let mut lines: Vec<(String, u64)> = sites
        .iter()
        .map(|site| {
            assert_eq!(site["blocks"], json!([1, 1, 1]), "{site}");
            assert_eq!(site["frames"][0]["function"], "leak_raw", "{site}");
            let python = &site["python_frame"];
            (python["file"].as_str().unwrap_or("?").to_owned(), python["line"].as_u64().unwrap_or(0))
        })
        .collect();
    lines.sort();
    assert_eq!(lines, [("<string>".to_owned(), 2), ("<string>".to_owned(), 4)], "{test}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// A test's fork child that returns from the test instead of calling `os._exit` goes on with
/// regrtest's loop and measures the tests after it again: the run says so, and the later
/// test's report is its parent's measurement alone, not a second run of it.
#[test]
fn a_fork_child_that_goes_on_running_regrtest_is_named_and_set_aside() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_fork_child_goes_on", "test_leak_raw"])));
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("forked during test_fork_child_goes_on's -R repetitions"), "{warnings}");
    assert!(warnings.contains("(test_leak_raw) is set aside"), "{warnings}");
    assert_eq!(run.json()["shim"]["bad_records"], 0, "{}", run.json()["shim"]);
    let test = run.test("test_leak_raw");
    assert_eq!(test["leaked"], true, "{test}");
    assert_eq!(test["domains"]["raw"]["blocks"], json!([1, 1, 1]), "{test}");
    assert!(!test["notes"].to_string().contains("measured 2 times"), "{test}");
    assert_eq!(run.test("test_fork_child_goes_on")["leaked"], false);
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// A test module that forks at its import, its child returning from the import as the parent
/// does: the child goes on running regrtest, this test's -R repetitions and the tests after it,
/// measuring them all a second time. It is no regrtest of its own (it did not exec, as a nested
/// one does), nor one run at the same time: it is named and set aside as a fork during the
/// repetitions is, forked before regrtest's -R driver was imported (the first test) or after.
#[test]
fn a_fork_child_of_a_test_modules_import_is_named_and_set_aside() {
    let dir = testdir();
    for tests in
        [&["test_fork_at_import", "test_leak_raw"][..], &["test_balanced", "test_fork_at_import", "test_leak_raw"]]
    {
        let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], tests)));
        let warnings = run.json()["warnings"].to_string();
        assert!(warnings.contains("was forked before test_fork_at_import's -R repetitions began"), "{warnings}");
        assert!(warnings.contains("(test_fork_at_import, test_leak_raw) is set aside"), "{warnings}");
        assert!(!warnings.contains("at the same time"), "{warnings}");
        assert_eq!(run.json()["shim"]["bad_records"], 0, "{}", run.json()["shim"]);
        let test = run.test("test_leak_raw");
        assert_eq!(test["leaked"], true, "{test}");
        assert_eq!(test["domains"]["raw"]["blocks"], json!([1, 1, 1]), "{test}");
        for test in run.json()["tests"].as_array().unwrap() {
            assert!(!test["notes"].to_string().contains("measured 2 times"), "{test}");
        }
        assert_eq!(run.test("test_fork_at_import")["leaked"], false);
        assert_eq!(run.code(), Some(101), "{}", run.stderr);
    }
}

/// Blocks allocated with the GIL released (3.11 reads the thread's state off the runtime's
/// `autoTSSkey` then) have the Python frame that called into C.
#[test]
fn sites_without_the_gil_have_python_frames() {
    let dir = testdir();
    let module = "test_leak_raw_nogil";
    let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &[module])));
    assert_sites_without_the_gil_have_python_frames(run.test(module));
    assert_eq!(run.json()["warnings"], json!([]), "{}", run.stderr);
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// An extension whose leak is in a helper inlined into its function (`always_inline`).
const INLINE_FIXTURE: &str = r#"#define PY_SSIZE_T_CLEAN
#include <Python.h>

static inline __attribute__((always_inline)) void *
inline_helper(size_t n)
{
    return PyMem_RawMalloc(n);  /* the allocating line */
}

static PyObject *
leak_inline(PyObject *self, PyObject *unused)
{
    if (inline_helper(40) == NULL) {
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"leak_inline", leak_inline, METH_NOARGS, "Leak one 40-byte raw block, in an inlined helper."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_inlinefix", NULL, -1, methods};

PyMODINIT_FUNC
PyInit__inlinefix(void)
{
    return PyModule_Create(&module);
}
"#;

const INLINE_TEST: &str = "import unittest\nimport _inlinefix\n\n\nclass T(unittest.TestCase):\n    \
    def test_leak(self):\n        _inlinefix.leak_inline()\n";

/// Split DWARF (`gcc -g -O2 -gsplit-dwarf`): the skeleton unit's line table gives the leak site's
/// frame a line, the inlined helper's, while its function comes from the symbol table and the
/// inlined frame is missing (the `.dwo` is not read). The run's warnings say so for the module,
/// though the frame has a line. Built without split DWARF, the inlined frame is there and no
/// such warning is given.
#[test]
fn a_leak_site_in_a_split_dwarf_module_is_warned_about() {
    let output = std::process::Command::new(python())
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['include']); print(sysconfig.get_config_var('EXT_SUFFIX'))",
        ])
        .output()
        .expect("the interpreter's include directory");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (include, suffix) = text.split_once('\n').expect("two lines");
    let suffix = suffix.trim();
    let helper_line = INLINE_FIXTURE.lines().position(|l| l.contains("the allocating line")).unwrap() + 1;
    for split in [true, false] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let source = dir.path().join("_inlinefix.c");
        std::fs::write(&source, INLINE_FIXTURE).expect("writing the fixture");
        std::fs::write(dir.path().join("test_inlinefix.py"), INLINE_TEST).expect("writing the test");
        let module = dir.path().join(format!("_inlinefix{suffix}"));
        let status = std::process::Command::new("gcc")
            .args(["-g", "-O2", "-shared", "-fPIC"])
            .args(split.then_some("-gsplit-dwarf"))
            .arg(format!("-I{include}"))
            .arg(&source)
            .arg("-o")
            .arg(&module)
            .current_dir(dir.path())
            .status()
            .expect("gcc");
        assert!(status.success());
        let run = leakcheck(&[], &as_strs(&regrtest_argv(dir.path(), &[], &["test_inlinefix"])));
        let test = run.test("test_inlinefix");
        assert_eq!(test["leaked"], true, "{test}");
        let frames = test["leak_sites"][0]["frames"].as_array().cloned().unwrap_or_default();
        assert_eq!(frames[0]["module"], path_str(&module), "{test}");
        assert_eq!(frames[0]["line"], json!(helper_line), "{test}");
        let warnings: Vec<&str> = run.json()["warnings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        let note = format!("{}: split DWARF (-gsplit-dwarf): its .dwo/.dwp files are not read", path_str(&module));
        if split {
            // The line is the helper's, the function the outer one's: the warning says why.
            assert_eq!((&frames[0]["function"], &frames[0]["inlined"]), (&json!("leak_inline"), &json!(false)));
            assert_eq!(warnings.iter().filter(|w| w.contains(&note)).count(), 1, "{warnings:?}");
        } else {
            assert_eq!((&frames[0]["function"], &frames[0]["inlined"]), (&json!("inline_helper"), &json!(true)));
            assert_eq!(frames[1]["function"], "leak_inline", "{test}");
            assert!(!warnings.iter().any(|w| w.contains("split DWARF")), "{warnings:?}");
        }
        assert_eq!(run.code(), Some(101), "{}", run.stderr);
    }
}

/// A test that imports an extension from a temporary directory and removes the directory (as
/// CPython's test_peg_generator and test_cppext do): the module's file is gone when leakcheck
/// reads the leak sites' stacks. The leak is placed at the module's offset, and the warning
/// says the file could not be read and that the run removed it.
#[test]
fn a_leak_in_an_extension_removed_during_the_run_says_it_was_removed() {
    let dir = testdir();
    let test = "import glob, importlib.util, os, shutil, tempfile, unittest\n\
        here = os.path.dirname(os.path.abspath(__file__))\n\
        source = glob.glob(os.path.join(here, '_leakfix*.so'))[0]\n\
        temporary = tempfile.mkdtemp(prefix='removed_ext_')\n\
        copy = os.path.join(temporary, os.path.basename(source))\n\
        shutil.copy(source, copy)\n\
        spec = importlib.util.spec_from_file_location('_leakfix', copy)\n\
        module = importlib.util.module_from_spec(spec)\n\
        spec.loader.exec_module(module)\n\
        shutil.rmtree(temporary)\n\
        \n\
        class T(unittest.TestCase):\n    def test_leak(self):\n        module.leak_mem()\n";
    // (The directory's name must not contain `leakcheck`: a module whose path does is taken for
    // leakcheck's own, no extension.)
    std::fs::write(dir.path().join("test_gone_extension.py"), test).expect("writing the test");
    let work = tempfile::tempdir().expect("a temporary directory");
    let xml = work.path().join("r.xml");
    let run = leakcheck(
        &["--junit-xml", &path_str(&xml)],
        &as_strs(&regrtest_argv(dir.path(), &[], &["test_gone_extension"])),
    );
    let report = run.test("test_gone_extension");
    assert_eq!(report["leaked"], true, "{report}");
    let top = &report["leak_sites"][0]["frames"][0];
    let module = top["module"].as_str().expect("the frame's module").to_owned();
    assert!(module.contains("removed_ext_") && !std::path::Path::new(&module).exists(), "{top}");
    assert_eq!((&top["function"], &top["line"]), (&Value::Null, &Value::Null), "{top}");
    let junit = std::fs::read_to_string(&xml).expect("the JUnit XML");
    let at = format!("allocated at ?? ({module}+{})", top["address"].as_str().unwrap_or_default());
    assert!(junit.contains(&at), "{at} in {junit}");
    let warnings: Vec<&str> = run.json()["warnings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let about: Vec<&&str> = warnings.iter().filter(|w| w.contains(&format!("cannot read {module}"))).collect();
    assert_eq!(about.len(), 1, "{warnings:?}");
    assert!(about[0].contains("the run removed it"), "{about:?}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}
