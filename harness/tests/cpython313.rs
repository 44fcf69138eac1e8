//! leakcheck on Debian's debug CPython 3.13 (`python3.13-dbg`, a `--with-pydebug` build, with its
//! test suite), inside the Debian sid root ([`common::sid`], with the fixtures built against the
//! root's headers): the new libregrtest (`single.py`, `refleak.py` imported lazily and unloaded
//! after each test, 3.13's `123:456` progress), live, sequentially and with `-j 2`, with Python
//! frames read through 3.13's `_Py_DebugOffsets`. These tests fail (they are not skipped)
//! without the root.

mod common;

use common::sid::PY313;
use serde_json::json;

/// `python3.13-dbg -m test --testdir DIR [flags...] TESTS...` under leakcheck, in the root.
fn run(dir: &std::path::Path, flags: &[&str], tests: &[&str]) -> common::Run {
    PY313.leakcheck(&[], &[], dir, flags, tests)
}

const FIXTURES: [&str; 4] = ["test_leak_raw", "test_leak_mem", "test_leak_object", "test_balanced"];

/// A test directory with the fixtures' regrtest modules and `_leakfix`/`_hangfix` built for
/// python3.13-dbg.
fn testdir() -> tempfile::TempDir {
    let more = [
        "test_hang_mutex_cycle",
        "test_hang_gil_cycle",
        "test_hang_own_gil",
        "test_compile_new_names",
        "test_leak_strings",
        "test_cache_full_before",
        "test_crash_midway",
        "test_fail_late_repetition",
        "test_leak_unrolled",
        "test_leak_free_list",
        "test_leak_two_dicts",
        "test_subinterp_isolated",
        "test_subinterp_isolated_leak",
        "test_quiet_sleeper",
        "test_leak_beside_classes",
        "test_leak_resurrect",
        "test_leak_raw_nogil",
    ];
    let modules: Vec<&str> = FIXTURES.iter().chain(&more).copied().collect();
    PY313.testdir(&modules)
}

fn assert_verdicts(run: &common::Run) {
    for (name, domain, function) in common::FIXTURE_LEAKS {
        let test = run.test(name);
        common::assert_leaked_only_in(test, domain);
        let sites = test["leak_sites"].as_array().expect("leak_sites");
        assert_eq!(sites.len(), 1, "{test}");
        assert_eq!(sites[0]["frames"][0]["function"], function, "allocator helpers folded: {test}");
        let types = if domain == "obj" { json!(["object"]) } else { json!([]) };
        assert_eq!(sites[0]["object_types"], types, "{test}");
        // Read through 3.13's _Py_DebugOffsets: the fixture's call in the test module.
        let python = &sites[0]["python_frame"];
        assert_eq!(python["function"], format!("LeakTest.{name}"), "{test}");
        assert!(python["file"].as_str().unwrap_or("").ends_with(&format!("/{name}.py")), "{test}");
        let call = common::source_line(&format!("regrtest/{name}.py"), "_leakfix.");
        assert_eq!(python["line"], call, "{test}");
    }
    assert_eq!(run.test("test_leak_raw")["regrtest"]["leaked"], false, "regrtest cannot see raw blocks");
    assert_eq!(run.test("test_leak_object")["outcome"], "reference_leak");
    let balanced = run.test("test_balanced");
    assert_eq!((balanced["leaked"].as_bool(), balanced["outcome"].as_str()), (Some(false), Some("passed")));
    assert_eq!(balanced["domains"]["raw"]["blocks"].as_array().map(Vec::len), Some(3));
    assert_eq!(run.json()["warnings"], json!([]));
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// Sequentially, every test is measured, not only the first: regrtest 3.13 unloads the
/// `test.*` modules a test imported, `test.libregrtest.refleak` among them, and re-imports it.
#[test]
fn sequential_run_measures_every_test() {
    let dir = testdir();
    let run = run(dir.path(), &["-R", "3:3"], &FIXTURES);
    assert_verdicts(&run);
}

#[test]
fn workers_are_measured() {
    let dir = testdir();
    let run = run(dir.path(), &["-R", "3:3", "-j", "2"], &FIXTURES);
    assert_verdicts(&run);
}

/// A `-j 2` worker that aborted mid-test: 3.13 says `worker non-zero exit code (Exit code -6
/// (SIGABRT))` where 3.11 says `crashed (Exit code -6)`; both are `crashed`, with regrtest's line
/// and faulthandler's dump kept.
#[test]
fn an_aborted_worker_crashed() {
    let dir = testdir();
    let run = run(dir.path(), &["-R", "3:3", "-j", "2"], &["test_crash_midway", "test_balanced"]);
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    let test = run.test("test_crash_midway");
    assert_eq!(test["outcome"], "crashed", "{test}");
    assert_eq!(test["result_line"], "test_crash_midway worker non-zero exit code (Exit code -6 (SIGABRT))");
    let dump = test["faulthandler"].as_str().unwrap_or_default();
    assert!(dump.starts_with("Fatal Python error: Aborted\n"), "{dump}");
    assert!(dump.contains("line 16 in test_crash_on_third_repetition"), "{dump}");
}

/// The same in quiet mode (`-q`), where regrtest prints the worker's dump with no result line
/// and lists the test as failed: the shim saw its worker die during it, so it is `crashed`, with
/// the dump, as without `-q`.
#[test]
fn an_aborted_quiet_worker_crashed() {
    let dir = testdir();
    let run = run(dir.path(), &["-q", "-R", "3:3", "-j", "2"], &["test_crash_midway", "test_balanced"]);
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    let test = run.test("test_crash_midway");
    assert_eq!(test["outcome"], "crashed", "{test}");
    let dump = test["faulthandler"].as_str().unwrap_or_default();
    assert!(dump.starts_with("Fatal Python error: Aborted\n"), "{dump}");
    assert!(dump.contains("line 16 in test_crash_on_third_repetition"), "{dump}");
    assert_eq!(run.test("test_balanced")["outcome"], "passed");
}

/// A deadlocked `-j 2` worker: named by the test in its JSON argument (3.13's has a `test_dir`
/// key too), proved a lock cycle, ended alone, and regrtest goes on.
#[test]
fn a_deadlocked_worker_is_named_and_ended() {
    let dir = testdir();
    let run = run(dir.path(), &["-j", "2"], &["test_hang_mutex_cycle", "test_balanced"]);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    let hangs = run.json()["hangs"].as_array().expect("hangs");
    assert_eq!(hangs.len(), 1, "{hangs:#?}");
    assert_eq!(hangs[0]["test"], "test_hang_mutex_cycle");
    assert_eq!(hangs[0]["diagnosis"]["kind"], "lock-cycle");
    let python_functions: Vec<&str> = hangs[0]["processes"][0]["threads"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["python_frames"].as_array().into_iter().flatten())
        .filter_map(|f| f["function"].as_str())
        .collect();
    assert!(python_functions.contains(&"test_mutex_cycle"), "{python_functions:?}");
    assert_eq!(run.test("test_balanced")["outcome"], "passed", "regrtest went on");
}

/// The GIL against a mutex: 3.13's GIL and its holder are read through `_Py_DebugOffsets`, so
/// the cycle is proved (with the hang timeout off, only a proof reports it).
#[test]
fn a_gil_against_mutex_deadlock_is_a_lock_cycle() {
    let dir = testdir();
    let run = PY313.leakcheck(&["--hang-timeout", "0"], &[], dir.path(), &[], &["test_hang_gil_cycle"]);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    let hangs = run.json()["hangs"].as_array().expect("hangs");
    assert_eq!(hangs.len(), 1, "{hangs:#?}");
    assert_eq!(hangs[0]["diagnosis"]["kind"], "lock-cycle", "{hangs:#?}");
    let locks = hangs[0]["diagnosis"]["locks"].as_array().expect("locks");
    assert!(locks.iter().any(|l| l["name"] == "GIL"), "{locks:?}");
}

/// A subinterpreter with its own GIL: its GIL's holder waits for a mutex that a thread waiting
/// for the main GIL holds, and the main GIL's holder waits on a semaphore. No cycle: the waiter
/// is tied to the GIL its futex is in (the main one, `interpreters.main`'s, not the newest
/// interpreter's), and the no-progress summary names the main GIL's holder.
#[test]
fn a_wait_for_the_main_gil_beside_an_own_gil_subinterpreter_is_no_cycle() {
    let dir = testdir();
    let run = PY313.leakcheck(&["--hang-timeout", "6"], &[], dir.path(), &[], &["test_hang_own_gil"]);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    let hangs = run.json()["hangs"].as_array().expect("hangs");
    assert_eq!(hangs.len(), 1, "{hangs:#?}");
    let diagnosis = &hangs[0]["diagnosis"];
    assert_eq!(diagnosis["kind"], "no-progress", "{hangs:#?}");
    let main = hangs[0]["pid"].as_i64().expect("a pid");
    let summary = diagnosis["summary"].as_str().expect("a summary");
    assert!(summary.contains(&format!("held by thread {main} (asleep in a futex wait")), "{summary}");
    assert_eq!(diagnosis["locks"][0]["owner"], main, "{hangs:#?}");
}

/// `-R 2:2`: 3.13's `runtest_refleak` also keeps `alloc_before`/`rc_before` from one
/// repetition to the next; their site must not show up beside the real one.
#[test]
fn the_drivers_own_blocks_are_no_leak_site_with_two_counted_repetitions() {
    let dir = testdir();
    let run = run(dir.path(), &["-R", "2:2"], &["test_leak_object"]);
    let test = run.test("test_leak_object");
    assert_eq!(test["domains"]["obj"]["blocks"], json!([1, 1]), "{test}");
    let sites = test["leak_sites"].as_array().expect("leak_sites");
    assert_eq!(sites.len(), 1, "{test}");
    assert_eq!(sites[0]["frames"][0]["function"], "leak_object", "{test}");
}

/// `-R 1:1` beside several TestCase classes: 3.13 lets go several sites at one C place (their
/// Python lines differ: each class's lists, unittest's result floats), and the note names each
/// place once, with its count, and by its file's name, not the absolute path it was compiled at.
#[test]
fn sites_let_go_at_one_place_are_named_once() {
    let dir = testdir();
    let run = run(dir.path(), &["-R", "1:1"], &["test_leak_beside_classes"]);
    let test = run.test("test_leak_beside_classes");
    let notes: Vec<&str> = test["notes"].as_array().into_iter().flatten().filter_map(|n| n.as_str()).collect();
    let note = notes.iter().find(|n| n.starts_with("no leak site: ")).unwrap_or_else(|| panic!("{test}"));
    let places = note["no leak site: ".len()..].split(" grew in every").next().unwrap_or_default();
    let places: Vec<&str> = places.split(", ").map(|p| p.split(" in obj").next().unwrap_or(p)).collect();
    assert!(places.iter().any(|p| p.starts_with("PyList_New (listobject.c:")), "{note}");
    let mut unique = places.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), places.len(), "{note}");
    assert!(note.contains(" in obj (") && note.contains(" sites)"), "{note}");
    assert!(!note.contains('/'), "{note}");
}

/// The compiler's identifiers are interned and immortal on 3.12+: regrtest 3.13 subtracts them
/// from its block count (`getunicodeinternedsize(_only_immortal=True)`), and so does leakcheck,
/// in the `obj` deltas and the leak sites. Strings kept alive otherwise still leak.
#[test]
fn interned_immortal_strings_are_no_leak_but_kept_strings_are() {
    let dir = testdir();
    let run = run(dir.path(), &["-R", "3:3"], &["test_compile_new_names", "test_leak_strings"]);
    let names = run.test("test_compile_new_names");
    assert_eq!(names["leaked"], false, "{names}");
    assert_eq!(names["domains"]["obj"]["blocks"], json!([0, 0, 0]), "{names}");
    assert_eq!(names["leak_sites"], json!([]), "{names}");
    let strings = run.test("test_leak_strings");
    assert_eq!(strings["leaked"], true, "{strings}");
    assert_eq!(strings["leak_sites"][0]["object_types"], json!(["str"]), "{strings}");
    assert_eq!(run.code(), Some(2), "regrtest reports the kept strings itself: {}", run.stderr);
}

/// A bounded `lru_cache` of lists full before the test: on 3.13 an evicted list goes to the
/// list free list, and a new entry may be made in a block taken from there. The shim follows
/// objects off the free lists (its reference tracer), so the evicted entry dies on the test's
/// line, where the new one is made, and that line's frees offset the new entries.
#[test]
fn a_cache_full_before_the_test_is_no_leak_with_free_lists() {
    let dir = testdir();
    let run = run(dir.path(), &["-R", "3:3"], &["test_cache_full_before"]);
    let test = run.test("test_cache_full_before");
    assert_eq!(test["leak_sites"], json!([]), "{test}");
    assert_eq!(test["leaked"], false, "{test}");
    let line = common::source_line("regrtest/test_cache_full_before.py", "entry(next(_keys))");
    let notes = test["notes"].to_string();
    assert!(notes.contains(&format!("test_cache_full_before.py:{line} ran")), "{test}");
    assert!(notes.contains("a cache full before the test"), "{test}");
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

/// A test that fails in the last `-R` repetition only: 3.13 prints the failure after the
/// repetitions' leak marks (`XXX XXtest X failed -- Traceback ...`), sequentially and in a `-j 2`
/// worker's output. The traceback is the report's, and names the method for the draft's title.
#[test]
fn a_failure_in_a_later_repetition_keeps_its_traceback() {
    let dir = testdir();
    for flags in [&["-R", "3:3"][..], &["-R", "3:3", "-j", "2"]] {
        let drafts = tempfile::tempdir().expect("a temporary directory");
        let extra = ["--issue-draft", &common::path_str(drafts.path())];
        let run = PY313.leakcheck(&extra, &[], dir.path(), flags, &["test_fail_late_repetition", "test_balanced"]);
        let test = run.test("test_fail_late_repetition");
        assert_eq!(test["outcome"], "failed", "{flags:?}: {test}");
        let traceback = test["traceback"].as_str().unwrap_or_default();
        assert!(traceback.ends_with("AssertionError: failed on repetition 6"), "{flags:?}: {test}");
        let draft = std::fs::read_to_string(drafts.path().join("test_fail_late_repetition.md")).expect("the draft");
        assert!(
            draft.starts_with("# test_fail_late_repetition: FailLate.test_fails_in_the_last_repetition fails\n"),
            "{flags:?}: {draft}"
        );
    }
}

/// 3.13's `-W` hides a passing worker's output, `beginning N repetitions` included: with the
/// hooks replaced (`-X dev`), the run still says so, since its command line asks for `-R`.
#[test]
fn replaced_hooks_are_said_when_dash_w_hides_the_repetitions() {
    let dir = testdir();
    let run = PY313.leakcheck(&[], &["-X", "dev"], dir.path(), &["-j", "2", "-W", "-R", "3:3"], &["test_leak_raw"]);
    let report = run.json();
    assert_eq!(report["summary"]["huntrleaks"], true, "{report}");
    assert!(report["warnings"].to_string().contains("allocator hooks were replaced"), "{}", report["warnings"]);
    let test = run.test("test_leak_raw");
    assert_eq!(test["domains"], serde_json::Value::Null);
    // The test says so too, and why its repetitions are nowhere in the log.
    let notes = test["notes"].to_string();
    assert!(notes.contains("ran with -R but the allocator hooks were replaced"), "{test}");
    assert!(notes.contains(HIDDEN), "{test}");
}

/// How the note of a test whose output `-W` hid begins.
const HIDDEN: &str = "regrtest hid this test's output: with -W (also set by --fast-ci and --slow-ci)";

/// 3.13's `-W` shows a `-j` worker's output only for a test that did not pass: each test that
/// passed has a note saying its `-R` progress is not in the log (the shim measured it all the
/// same), a failing one, whose output regrtest shows, has none; nor has any test of a sequential
/// run, where regrtest turns `-W` off under `-R`.
#[test]
fn tests_whose_output_dash_w_hid_say_so() {
    let dir = testdir();
    let tests = ["test_leak_raw", "test_balanced", "test_fail_late_repetition"];
    let parallel = run(dir.path(), &["-j", "2", "-W", "-R", "3:3"], &tests);
    for name in ["test_leak_raw", "test_balanced"] {
        let test = parallel.test(name);
        assert_eq!(test["outcome"], "passed", "{test}");
        assert!(test["notes"].to_string().contains(HIDDEN), "{test}");
        assert_eq!(test["repetitions"]["complete"], true, "measured all the same: {test}");
    }
    assert_eq!(parallel.test("test_leak_raw")["domains"]["raw"]["blocks"], json!([1, 1, 1]));
    let failed = parallel.test("test_fail_late_repetition");
    assert_eq!(failed["outcome"], "failed", "{failed}");
    assert!(!failed["notes"].to_string().contains(HIDDEN), "its output was shown: {failed}");
    assert!(parallel.stderr.contains(HIDDEN), "in the text summary: {}", parallel.stderr);

    let sequential = run(dir.path(), &["-W", "-R", "3:3"], &tests[..2]);
    for name in ["test_leak_raw", "test_balanced"] {
        let test = sequential.test(name);
        assert!(!test["notes"].to_string().contains(HIDDEN), "sequential: -W is off under -R: {test}");
    }
}

/// gcc unrolls the fixture's two-iteration loop at `-O1` too: two return addresses of one line,
/// one leak site of two blocks per repetition.
#[test]
fn the_unrolled_copies_of_one_call_are_one_site() {
    let dir = testdir();
    let run = run(dir.path(), &["-R", "3:3"], &["test_leak_unrolled"]);
    let test = run.test("test_leak_unrolled");
    let sites = test["leak_sites"].as_array().cloned().unwrap_or_default();
    let [site] = sites.as_slice() else { panic!("one site: {test}") };
    assert_eq!(site["blocks"], json!([2, 2, 2]), "{site}");
    assert_eq!(site["frames"][0]["function"], "leak_raw_unrolled", "{site}");
    assert_eq!(site["python_frame"]["function"], "LeakTest.test_leak_unrolled", "{site}");
}

/// 3.13 recycles dicts and their key tables (a `mem` block there) through free lists too. The
/// shim follows objects off the free lists (its reference tracer), so the kept dict's site is
/// the test's own line, however its block was got; a key table is no object, and its site
/// (unittest's line) is marked `free_list_reuse`, as on 3.11.
#[test]
fn a_leak_of_free_list_objects_is_not_pinned_on_unittest() {
    let dir = testdir();
    let run = run(dir.path(), &["-R", "3:3"], &["test_leak_free_list"]);
    let test = run.test("test_leak_free_list");
    let sites = test["leak_sites"].as_array().cloned().unwrap_or_default();
    let dict = sites.iter().find(|s| s["object_types"] == json!(["dict"])).expect("the dict's site");
    assert_eq!(dict["free_list_reuse"], false, "{test}");
    assert_eq!(dict["blocks"], json!([1, 1, 1]), "{test}");
    assert_eq!(dict["python_frame"]["function"], "LeakTest.test_leak_free_list", "{test}");
    let line = common::source_line("regrtest/test_leak_free_list.py", "KEPT.append(");
    assert_eq!(dict["python_frame"]["line"], line, "{test}");
    // The tracer's callers are folded like the allocator's.
    assert_eq!(dict["frames"][0]["function"], "new_dict", "{test}");
    let keys = sites.iter().find(|s| s["frames"][0]["function"] == "new_keys_object").expect("the key table's site");
    assert_eq!(keys["free_list_reuse"], true, "{test}");
    assert!(test["notes"].to_string().contains("CPython recycles dict key tables through a free list"), "{test}");
    // The one-line reports point at the dict's site, not at unittest's.
    assert!(!run.stderr.contains("allocation site not attributable"), "{}", run.stderr);
}

/// Two dicts kept per repetition: the dicts, followed off their free list, are at the test's
/// two lines; their key tables are not followed, and one of them was first allocated in the
/// repetition as the copy of regrtest's `**kwargs` (`clone_combined_dict_keys` under
/// `get_test_runner`, in `test/libregrtest/testresult.py` there): both key tables' sites are
/// marked `free_list_reuse`, shown after the dicts' in the text summary, and the JUnit message
/// names the test's line.
#[test]
fn a_key_table_first_allocated_as_regrtest_s_copy_is_marked() {
    let dir = testdir();
    let out = tempfile::tempdir().expect("a temporary directory");
    let junit = out.path().join("junit.xml");
    let junit_arg = common::path_str(&junit);
    let run = PY313.leakcheck(&["--junit-xml", &junit_arg], &[], dir.path(), &["-R", "3:3"], &["test_leak_two_dicts"]);
    let test = run.test("test_leak_two_dicts");
    let sites = test["leak_sites"].as_array().cloned().unwrap_or_default();
    let top = |site: &serde_json::Value| site["frames"][0]["function"].as_str().unwrap_or_default().to_owned();
    let copied = sites.iter().find(|s| top(s) == "clone_combined_dict_keys").expect("the copied key table's site");
    assert_eq!(copied["free_list_reuse"], true, "{test}");
    assert_eq!(copied["domain"], "mem", "{test}");
    assert_eq!(copied["python_frame"]["function"], "get_test_runner", "{test}");
    let lines = ["KEPT.append({\"a\": 1})", "KEPT.append({\"b\": 2})"]
        .map(|needle| common::source_line("regrtest/test_leak_two_dicts.py", needle));
    for site in &sites {
        let is_dict = site["object_types"] == json!(["dict"]);
        assert_eq!(site["free_list_reuse"], !is_dict, "{site}");
        if is_dict {
            assert!(lines.contains(&site["python_frame"]["line"].as_u64().unwrap_or(0)), "{site}");
        }
    }
    // The text summary lists the recycled key tables last, as such.
    let summary = run.stderr.split("test_leak_two_dicts: LEAKED").nth(1).unwrap_or_default();
    let copied_at = summary.find("clone_combined_dict_keys").expect("the copied table's site in the summary");
    let dict_at = summary.rfind("(objects of type dict), allocated at:").expect("a dict's site in the summary");
    assert!(dict_at < copied_at, "{summary}");
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    let case = xml.split("name=\"test_leak_two_dicts\"").nth(1).unwrap_or_default();
    let message = case.split("message=\"").nth(1).and_then(|m| m.split('"').next()).unwrap_or_default();
    assert!(message.contains("/test_leak_two_dicts.py:"), "{message}");
    assert!(!message.contains("testresult.py"), "{message}");
}

/// An object resurrected by its finalizer: CPython tells the reference tracer of its death
/// (before the finalizer runs) and not of its return, so the shim holds it dead until regrtest's
/// measurement, where a block neither freed nor reused is alive again at its site.
#[test]
fn an_object_resurrected_by_its_finalizer_keeps_its_site() {
    let dir = testdir();
    let run = run(dir.path(), &["-R", "3:3"], &["test_leak_resurrect"]);
    let test = run.test("test_leak_resurrect");
    let sites = test["leak_sites"].as_array().cloned().unwrap_or_default();
    let kept =
        sites.iter().find(|s| s["object_types"] == json!(["Resurrected"])).expect("the resurrected object's site");
    assert_eq!(kept["blocks"], json!([1, 1, 1]), "{test}");
    let line = common::source_line("regrtest/test_leak_resurrect.py", "kept = Resurrected()");
    assert_eq!(kept["python_frame"]["line"], line, "{test}");
}

/// An isolated subinterpreter created and destroyed in each repetition: 3.12+ gives it its own
/// pymalloc state, whose arena list and arena map nodes pymalloc allocates through
/// `PyMem_RawRealloc`/`PyMem_RawCalloc` from inside an object allocation, and frees through
/// `PyMem_RawFree` when the interpreter is destroyed. Both are counted, so the raw domain
/// balances, and a raw leak beside it is found by the counts alone (before, the frees were
/// counted and the allocations not: raw `[-3, -3, -3]`, and the leak read `[-2, -2, -2]`).
#[test]
fn an_isolated_subinterpreters_pymalloc_bookkeeping_balances() {
    let dir = testdir();
    let tests = ["test_subinterp_isolated", "test_subinterp_isolated_leak"];
    let run = PY313.leakcheck(&["--no-attribution"], &[], dir.path(), &["-R", "3:3"], &tests);
    let balanced = run.test("test_subinterp_isolated");
    assert_eq!(balanced["outcome"], "passed", "{balanced}");
    assert_eq!(balanced["domains"]["raw"]["blocks"], json!([0, 0, 0]), "{balanced}");
    assert_eq!(balanced["domains"]["raw"]["bytes"], json!([0, 0, 0]), "{balanced}");
    assert_eq!(balanced["leaked"], false, "{balanced}");
    let leak = run.test("test_subinterp_isolated_leak");
    assert_eq!(leak["domains"]["raw"]["blocks"], json!([1, 1, 1]), "{leak}");
    assert_eq!(leak["domains"]["raw"]["bytes"], json!([48, 48, 48]), "{leak}");
    assert_eq!(leak["domains"]["raw"]["leaked"], true, "{leak}");
    assert_eq!(leak["leaked"], true, "{leak}");
    assert_eq!(run.code(), Some(101), "{}", run.stderr);
}

/// `--fast-ci --timeout 3` (`-j0 --rerun -W`, so verbose output): faulthandler's `Timeout
/// (0:00:03)!` follows unittest's `test_sleep (...) ... ` in the worker's output and in the
/// verbose re-run's. The test timed out, with the re-run's dump; its JUnit failure and issue
/// draft say so.
#[test]
fn a_fast_ci_timeout_is_a_timeout_with_its_dump() {
    let dir = testdir();
    let work = tempfile::tempdir().expect("a temporary directory");
    let drafts = work.path().join("drafts");
    let run = PY313.leakcheck(
        &["--issue-draft", &common::path_str(&drafts)],
        &[],
        dir.path(),
        &["--fast-ci", "--timeout", "3", "-R", "3:3"],
        &["test_quiet_sleeper", "test_balanced"],
    );
    let test = run.test("test_quiet_sleeper");
    assert_eq!(test["outcome"], "timed_out", "{test}");
    assert_eq!(test["result_line"], "test_quiet_sleeper worker non-zero exit code (Exit code 1)", "{test}");
    let dump = test["faulthandler"].as_str().unwrap_or_default();
    assert!(dump.starts_with("Timeout (0:00:03)!\nThread 0x"), "{test}");
    let line = common::source_line("regrtest/test_quiet_sleeper.py", "# the test's own wait");
    assert!(dump.contains(&format!("test_quiet_sleeper.py\", line {line} in test_sleep")), "{test}");
    let draft = std::fs::read_to_string(drafts.join("test_quiet_sleeper.md")).expect("the draft");
    assert!(draft.contains("Timeout (0:00:03)!"), "{draft}");
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
}

/// Blocks allocated with the GIL released (the thread has no attached state meanwhile) have the
/// Python frame that called into C.
#[test]
fn sites_without_the_gil_have_python_frames() {
    let dir = testdir();
    let run = run(dir.path(), &["-R", "3:3"], &["test_leak_raw_nogil"]);
    common::assert_sites_without_the_gil_have_python_frames(run.test("test_leak_raw_nogil"));
    assert_eq!(run.json()["warnings"], serde_json::json!([]), "{}", run.stderr);
}

/// Python frames whose file and function CPython keeps as 2- and 4-byte strings (a code object
/// holds them without a UTF-8 copy), read through 3.13's layout: the fixture run from a
/// directory named in Japanese (a 2-byte string).
#[test]
fn python_frames_named_beyond_latin1_are_read() {
    let parent = tempfile::tempdir().expect("a temporary directory");
    let dir_name = "テスト";
    let dir = parent.path().join(dir_name);
    PY313.populate(&dir, &["test_leak_unicode_names"]);
    let run = run(&dir, &["-R", "3:3"], &["test_leak_unicode_names"]);
    common::assert_python_frames_named_beyond_latin1(&run, dir_name);
}
