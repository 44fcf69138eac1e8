//! The JUnit XML, issue-draft and GitHub-annotation writers on real reports: one from a real
//! run of the C fixtures under python3.11-dbg's `-R 3:3` (through the library, as the binary
//! runs it), and variants of it with hostile test names, frames and statuses. Each output is
//! read back with a real parser: JUnit with Python's `junitparser` and `xmllint --schema`
//! (Jenkins' junit-10.xsd), drafts with `markdown-it-py` (CommonMark), annotations with the
//! workflow-command grammar of `@actions/core`.
//!
//! The Python tools live in the venv `scripts/setup.sh` creates: `$LEAKCHECK_PY_VENV`, else
//! `$HOME/.cache/leakcheck/py-venv`. These tests fail (they are not skipped) without it.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{OnceLock, RwLock};

use clap::Parser as _;
use leakcheck::cli::Args;
use leakcheck::escape::for_terminal;
use leakcheck::outputs::read_python_source;
use leakcheck::report::annotations::{github_annotations, github_annotations_with, AnnotationOptions};
use leakcheck::report::draft::issue_drafts;
use leakcheck::report::junit::{self, write_junit, xml_visible};
use leakcheck::report::{RunReport, TestReport};
use serde_json::Value;

/// The venv's Python (see the module documentation).
fn venv_python() -> PathBuf {
    let venv = std::env::var_os("LEAKCHECK_PY_VENV").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/leakcheck/py-venv")
    });
    let python = venv.join("bin/python");
    assert!(python.exists(), "no Python venv at {}: run scripts/setup.sh", venv.display());
    python
}

/// Run `script` with the venv's Python on `args`; its stdout as JSON.
/// An in-process run ([`execute`]) is the subreaper of this whole test process: it reaps every
/// child of the process and ends those left when its command is done, as the leakcheck binary
/// does with the only children it has. So while one runs, no other test may have a child: runs
/// take this lock exclusively, everything that starts a process shares it.
static CHILDREN: RwLock<()> = RwLock::new(());

/// Start a process while no in-process run is going (see [`CHILDREN`]).
fn sharing_children<T>(start: impl FnOnce() -> T) -> T {
    let _shared = CHILDREN.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    start()
}

fn python_json(script: &str, args: &[&Path]) -> Value {
    let out = sharing_children(|| Command::new(venv_python()).arg("-c").arg(script).args(args).output())
        .expect("running the venv's python");
    assert!(out.status.success(), "python failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

/// Run leakcheck through the library, as the binary does, one run at a time and while no other
/// test has a child (see [`CHILDREN`]): a run reaps the children of the whole process and takes
/// its signals.
fn execute(argv: &[String]) -> leakcheck::run::RunOutcome {
    let _alone = CHILDREN.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    let config = Args::try_parse_from(argv).expect("leakcheck arguments").resolve().expect("a valid configuration");
    leakcheck::run::execute(&config, &mut |_| {}).expect("the run")
}

/// An in-process leakcheck run of `python -m test -R 3:3 TESTS` over the fixtures.
fn run_leak_tests(tests: &[&str]) -> leakcheck::run::RunOutcome {
    let testdir = common::testdir();
    let work = tempfile::tempdir().expect("temporary directory");
    let run_dir = work.path().join("run");
    let mut argv: Vec<String> = vec!["leakcheck".into(), "--run-dir".into(), common::path_str(&run_dir), "--".into()];
    // In process, the command runs in this process's directory: regrtest's reflog goes to
    // the temporary one instead.
    let reflog = format!("3:3:{}", work.path().join("reflog.txt").display());
    argv.extend(common::regrtest_with(common::python(), testdir.path(), &["-R", &reflog], tests));
    execute(&argv)
}

/// One real run: a raw-domain leak regrtest cannot see, a reference leak it reports, and a
/// balanced test.
fn real_report() -> &'static RunReport {
    static REPORT: OnceLock<RunReport> = OnceLock::new();
    REPORT.get_or_init(|| {
        let outcome = run_leak_tests(&["test_leak_raw", "test_leak_object", "test_balanced"]);
        assert_eq!(outcome.exit_code, 101, "{}", outcome.report.render_text());
        outcome.report
    })
}

/// One real run of leaks of objects CPython recycles through its free lists: pure Python code
/// keeping a dict per repetition (its dict and key table taken from the free lists unittest
/// filled: every site is unittest's), the same with two dicts (one key table first allocated as
/// a copy of regrtest's `**kwargs`: regrtest's line), and a `tp_new` forgetting the
/// `Py_DECREF` of a `PyDict_New`, a hundred times a repetition (the first few dicts from the
/// free list, the rest from the allocator at the extension's line).
fn free_list_report() -> &'static RunReport {
    static REPORT: OnceLock<RunReport> = OnceLock::new();
    REPORT.get_or_init(|| run_leak_tests(&["test_leak_free_list", "test_leak_in_tp_new", "test_leak_two_dicts"]).report)
}

/// One real run of a test that leaks from six lines of c/leakfix.c.
fn many_sites_report() -> &'static RunReport {
    static REPORT: OnceLock<RunReport> = OnceLock::new();
    REPORT.get_or_init(|| run_leak_tests(&["test_leak_many_lines", "test_leak_unrolled"]).report)
}

/// One real run in which regrtest's test deadlocks on two mutexes (c/hangfix.c) and leakcheck
/// diagnoses and ends it.
fn hang_report() -> &'static RunReport {
    static REPORT: OnceLock<RunReport> = OnceLock::new();
    REPORT.get_or_init(|| {
        let testdir = common::testdir();
        let work = tempfile::tempdir().expect("temporary directory");
        let run_dir = work.path().join("run");
        let argv: Vec<String> = [
            "leakcheck",
            "--run-dir",
            &common::path_str(&run_dir),
            "--",
            common::python(),
            "-m",
            "test",
            "--testdir",
            &common::path_str(testdir.path()),
            "test_hang_mutex_cycle",
        ]
        .map(String::from)
        .to_vec();
        let outcome = execute(&argv);
        assert_eq!(
            outcome.report.hangs.len(),
            1,
            "{}\nstatus: {:?}\nlog:\n{}",
            outcome.report.render_text(),
            outcome.report.status,
            std::fs::read_to_string(outcome.report.log.as_deref().unwrap_or_default()).unwrap_or_default()
        );
        outcome.report
    })
}

fn test_named<'a>(report: &'a RunReport, name: &str) -> &'a TestReport {
    report.tests.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{name} in {}", report.render_text()))
}

/// Everything a child can put in a name that matters to XML, Markdown, URLs or workflow
/// commands, and the controls XML 1.0 forbids even as references.
const HOSTILE: &str = "test_<script>alert(1)</script>]]>&amp;\u{0}\u{1b}[2J\u{7}`` ```\r\n\u{fffe}\u{202e}|*_#[x](javascript:alert(1))<!-- @python/core %0A::error title=x::y ,:";

/// The real report with the raw leak renamed to [`HOSTILE`] (and a hostile top frame), a skipped,
/// a failed test with a 200 000-character name, a test without result, the reference leak, the
/// balanced test, and a run that was interrupted by SIGTERM.
fn hostile_report() -> RunReport {
    let real = real_report();
    let mut report = real.clone();
    let balanced = test_named(real, "test_balanced");

    let mut leak = test_named(real, "test_leak_raw").clone();
    leak.name = HOSTILE.into();
    let frame = &mut leak.leak_sites[0].frames[0];
    frame.function = Some("leak_<b>raw</b>,x:y\n::warning::z`".into());
    frame.file = Some("/src/a,b:c%d\r.c".into());

    let mut skipped = balanced.clone();
    skipped.name = "test_skip`me`".into();
    skipped.outcome = "resource_denied".into();
    let mut failed = balanced.clone();
    failed.name = format!("test_{}", "A".repeat(200_000));
    failed.outcome = "failed".into();
    let mut unknown = balanced.clone();
    unknown.name = "test_crash".into();
    unknown.outcome = "unknown".into();

    report.tests = vec![leak, skipped, failed, unknown, test_named(real, "test_leak_object").clone(), balanced.clone()];
    report.status.interrupted_by = Some("SIGTERM".into());
    report
}

fn junit_of(report: &RunReport, dir: &Path) -> (PathBuf, String) {
    let path = dir.join("junit.xml");
    let mut file = std::fs::File::create(&path).expect("creating junit.xml");
    write_junit(report, &mut file).expect("writing JUnit XML");
    file.flush().expect("flush");
    let text = std::fs::read_to_string(&path).expect("reading junit.xml back");
    (path, text)
}

const READ_JUNIT: &str = r#"
import json, sys
from junitparser import JUnitXml, Failure, Skipped, Error
xml = JUnitXml.fromfile(sys.argv[1])
out = {"tests": xml.tests, "failures": xml.failures, "errors": xml.errors, "suites": [], "cases": []}
for suite in xml:
    props = {p.name: p.value for p in suite.properties()}
    system_out = suite._elem.find("system-out")
    out["suites"].append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                          "skipped": suite.skipped, "errors": suite.errors, "properties": props,
                          "system_out": None if system_out is None else system_out.text})
    for case in suite:
        out["cases"].append({
            "name": case.name, "classname": case.classname,
            "failures": [{"message": r.message, "type": r.type, "text": r.text}
                         for r in case.result if isinstance(r, Failure)],
            "errors": [r.message for r in case.result if isinstance(r, Error)],
            "skipped": [r.message for r in case.result if isinstance(r, Skipped)],
        })
print(json.dumps(out))
"#;

/// xmllint validates `xml` against Jenkins' JUnit schema.
fn assert_schema_valid(xml: &Path) {
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/reports/junit-10.xsd");
    let out = sharing_children(|| Command::new("xmllint").arg("--noout").arg("--schema").arg(&xsd).arg(xml).output())
        .expect("running xmllint (Debian's libxml2-utils; scripts/setup.sh installs it)");
    assert!(out.status.success(), "xmllint: {}", String::from_utf8_lossy(&out.stderr));
}

/// A Rust XML parser reads it to the end too.
fn assert_well_formed(text: &str) {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut elements = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(_) | quick_xml::events::Event::Empty(_)) => elements += 1,
            Ok(_) => {}
            Err(e) => panic!("quick-xml at {}: {e}", reader.buffer_position()),
        }
    }
    assert!(elements > 2);
}

fn case<'a>(junit: &'a Value, name: &str) -> &'a Value {
    junit["cases"]
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no testcase {name:.80} in {:.2000}", junit["cases"]))
}

#[test]
fn junit_of_a_real_run_has_one_testcase_per_test_and_the_leaks_as_failures() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (path, text) = junit_of(real_report(), dir.path());
    assert_schema_valid(&path);
    assert_well_formed(&text);
    let junit = python_json(READ_JUNIT, &[&path]);
    let suite = &junit["suites"][0];
    assert_eq!(junit["suites"].as_array().map(Vec::len), Some(1));
    assert_eq!(suite["name"], "leakcheck");
    assert_eq!(
        (suite["tests"].as_u64(), suite["failures"].as_u64(), suite["skipped"].as_u64()),
        (Some(3), Some(2), Some(0))
    );
    assert_eq!(junit["errors"], 0);

    let raw = case(&junit, "test_leak_raw");
    assert_eq!(raw["classname"], "regrtest");
    let failure = &raw["failures"][0];
    assert_eq!(failure["type"], "leak");
    let message = failure["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("leaked raw (PyMem_RawMalloc) blocks [1, 1, 1], not reported by regrtest"),
        "{message}"
    );
    assert!(message.contains("allocated at leak_raw (") && message.contains("c/leakfix.c:"), "{message}");
    let body = failure["text"].as_str().unwrap_or_default();
    assert!(body.contains("leakcheck: test_leak_raw: LEAKED in raw, not reported by regrtest (passed)"), "{body}");
    assert!(body.contains("leakcheck:     raw: blocks [1, 1, 1]  bytes [48, 48, 48]  <- leak"), "{body}");
    assert!(body.contains("leak_raw"), "the top frame is in the body: {body}");

    let object = case(&junit, "test_leak_object");
    assert_eq!(object["failures"].as_array().map(Vec::len), Some(1), "the reference leak is one failure: {object}");
    let body = object["failures"][0]["text"].as_str().unwrap_or_default();
    assert!(body.contains("test_leak_object leaked [1, 1, 1] references, sum=3"), "regrtest's own line: {body}");

    let balanced = case(&junit, "test_balanced");
    assert_eq!(balanced["failures"], serde_json::json!([]));
    assert_eq!(balanced["skipped"], serde_json::json!([]));

    let props = &suite["properties"];
    assert_eq!(props["leakcheck_exit_code"], "101");
    assert_eq!(props["regrtest_result"], "FAILURE");
    assert!(suite["system_out"].as_str().unwrap_or_default().contains("leak summary: 3 tests, 2 leaked"));
}

#[test]
fn junit_with_hostile_names_stays_valid_and_keeps_every_name_visible() {
    let report = hostile_report();
    let dir = tempfile::tempdir().expect("temporary directory");
    let (path, text) = junit_of(&report, dir.path());
    assert!(!text.contains("<script>") && !text.contains("]]>") && !text.contains('\u{0}'), "raw markup leaked");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{fffe}') && !text.contains('\u{202e}'));
    assert_schema_valid(&path);
    assert_well_formed(&text);

    let junit = python_json(READ_JUNIT, &[&path]);
    let suite = &junit["suites"][0];
    // Six tests and the run's own case (interrupted by SIGTERM).
    assert_eq!(suite["tests"], 7, "{suite:.500}");
    assert_eq!(suite["failures"], 5, "hostile leak, failed, no result, reference leak, the run");
    assert_eq!(suite["skipped"], 1);

    let hostile = case(&junit, &xml_visible(HOSTILE, false));
    assert_eq!(hostile["failures"][0]["type"], "leak");
    let message = hostile["failures"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(r"leak_<b>raw</b>,x:y\x0a::warning::z`"), "the frame's name, visible: {message}");
    let skipped = case(&junit, "test_skip`me`");
    assert_eq!(skipped["skipped"], serde_json::json!(["skipped (resource denied)"]));
    let huge = format!("test_{}", "A".repeat(200_000));
    assert_eq!(case(&junit, &huge)["failures"][0]["message"], "regrtest: failed");
    let crash = case(&junit, "test_crash");
    assert_eq!(
        crash["failures"][0]["message"],
        "regrtest: no result: the run ended while it was running (leakcheck received SIGTERM and ended the run)"
    );
    let run = case(&junit, "run");
    assert_eq!(run["classname"], "leakcheck");
    assert_eq!(run["failures"][0]["type"], "run");
}

#[test]
fn junit_of_a_command_that_cannot_start_is_one_failing_run_case() {
    let work = tempfile::tempdir().expect("temporary directory");
    let argv = ["leakcheck", "--run-dir", &common::path_str(&work.path().join("run")), "--", "/nonexistent/python"];
    let report = execute(&argv.map(String::from)).report;
    let (path, _) = junit_of(&report, work.path());
    assert_schema_valid(&path);
    let junit = python_json(READ_JUNIT, &[&path]);
    assert_eq!((junit["tests"].as_u64(), junit["failures"].as_u64()), (Some(1), Some(1)));
    let message = case(&junit, "run")["failures"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.starts_with("the command did not run: "), "{message}");
}

/// A non-zero exit status of the command with no failing test to show for it fails the run's
/// testcase, with the status and why, and gets an annotation, but no issue draft: regrtest
/// refusing its command line (exit 2), regrtest stopped by a test's own KeyboardInterrupt (130),
/// a command that is no regrtest (`exit 3`). A CI step fails on that status; the XML did not.
/// A failing test explains its status: no run case then.
#[test]
fn a_non_zero_exit_no_failing_test_explains_fails_the_run_case() {
    let testdir = common::testdir();
    let dir = common::path_str(testdir.path());
    let python = common::python();
    let bogus: &[&str] = &[python, "-m", "test", "-R", "3:3", "--bogus-opt"];
    let interrupted: &[&str] =
        &[python, "-m", "test", "--testdir", &dir, "test_balanced", "test_raises_keyboard_interrupt"];
    let failing: &[&str] = &[python, "-m", "test", "--testdir", &dir, "test_failing_subtests"];
    let cases: [(&[&str], i32, Option<&str>); 4] = [
        (
            bogus,
            2,
            Some(
                "the command exited with status 2, a usage error: regrtest refused its command line \
                 (regrtest.py: error: unrecognized arguments: --bogus-opt)",
            ),
        ),
        (
            interrupted,
            130,
            Some(
                "the command exited with status 130: regrtest was interrupted (Tests result: INTERRUPTED) by no \
                 signal leakcheck received: a KeyboardInterrupt raised in it, a SIGINT sent to its process itself, \
                 or a Ctrl-C at the terminal leakcheck gave it",
            ),
        ),
        (&["sh", "-c", "exit 3"], 3, Some("the command exited with status 3, and no test failed")),
        (failing, 2, None),
    ];
    for (command, code, message) in cases {
        let work = tempfile::tempdir().expect("temporary directory");
        let xml = work.path().join("junit.xml");
        let drafts = work.path().join("drafts");
        let flags = [
            "--junit-xml",
            &common::path_str(&xml),
            "--issue-draft",
            &common::path_str(&drafts),
            "--annotations",
            "github",
        ];
        let run = sharing_children(|| common::leakcheck(&flags, command));
        assert_eq!(run.code(), Some(code), "{command:?}: {}", run.stderr);
        assert_schema_valid(&xml);
        let junit = python_json(READ_JUNIT, &[&xml]);
        let run_case = junit["cases"].as_array().unwrap().iter().find(|c| c["name"] == "run");
        let stdout = String::from_utf8_lossy(&run.stdout);
        let annotation = format!("::error title=leakcheck%3A the run failed::{}", message.unwrap_or("the command"));
        let drafts: Vec<_> = std::fs::read_dir(&drafts).unwrap().flatten().map(|e| e.file_name()).collect();
        let Some(message) = message else {
            assert!(run_case.is_none(), "{junit}");
            assert!(!stdout.contains(&annotation), "{stdout}");
            continue;
        };
        let run_case = run_case.unwrap_or_else(|| panic!("{command:?}: no run testcase in {junit}"));
        assert_eq!(run_case["failures"][0]["message"], message);
        assert_eq!(run_case["failures"][0]["type"], "run");
        assert!(stdout.contains(&annotation), "{command:?}: {stdout}");
        // No CPython bug to file: the drafts directory holds only its list of drafts.
        assert!(drafts.iter().all(|f| f.to_string_lossy().starts_with('.')), "{command:?}: {drafts:?}");
        if command == interrupted {
            assert_eq!(case(&junit, "test_balanced")["failures"], serde_json::json!([]));
            assert_eq!(run.test("test_raises_keyboard_interrupt")["outcome"], "interrupted");
        }
    }
}

/// A command line regrtest refused still asks for `-R`: `summary.huntrleaks` says so, as the
/// documentation has it, also for a line that names no test (the whole suite).
#[test]
fn a_refused_command_line_with_r_is_a_huntrleaks_run() {
    let run =
        sharing_children(|| common::leakcheck(&[], &[common::python(), "-m", "test", "-R", "3:3", "--bogus-opt"]));
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    assert_eq!(run.json()["summary"]["huntrleaks"], true, "{}", run.json());
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("it refused its command line"), "{warnings}");
    assert!(!warnings.contains("the shim measured nothing"), "{warnings}");
}

/// Render a draft with markdown-it-py (CommonMark, raw HTML allowed as GitHub allows some) and
/// report what a reader would see.
const READ_MARKDOWN: &str = r#"
import json, sys
from markdown_it import MarkdownIt
tokens = MarkdownIt("commonmark").parse(open(sys.argv[1], encoding="utf-8").read())
out = {"h1": [], "h2": [], "links": [], "html": [], "fences": [], "code": [], "images": 0}
heading = None
for i, t in enumerate(tokens):
    if t.type == "heading_open":
        heading = t.tag
    elif t.type == "inline" and heading:
        out[heading].append("".join(c.content for c in t.children if c.type in ("text", "code_inline")))
        heading = None
    if t.type in ("html_block", "html_inline"):
        out["html"].append(t.content)
    if t.type == "fence":
        out["fences"].append({"info": t.info, "content": t.content})
    for c in (t.children or []):
        if c.type == "link_open":
            out["links"].append(c.attrs.get("href"))
        if c.type in ("html_inline",):
            out["html"].append(c.content)
        if c.type == "code_inline":
            out["code"].append(c.content)
        if c.type == "image":
            out["images"] += 1
print(json.dumps(out))
"#;

fn read_markdown(markdown: &str) -> Value {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("draft.md");
    std::fs::write(&path, markdown).expect("writing the draft");
    python_json(READ_MARKDOWN, &[&path])
}

#[test]
fn drafts_of_a_real_run_follow_the_triage_guide() {
    let drafts = issue_drafts(real_report(), Some("AMD64 Debian Refleaks 3.x"), Some("3.x"), &read_python_source);
    let names: Vec<&str> = drafts.iter().map(|d| d.file_name.as_str()).collect();
    assert_eq!(names, ["test_leak_raw.md", "test_leak_object.md"]);

    let raw = &drafts[0];
    assert_eq!(raw.title, "test_leak_raw leaks PyMem_RawMalloc blocks on AMD64 Debian Refleaks 3.x");
    assert_eq!(
        raw.markdown.lines().next(),
        Some("# test_leak_raw leaks PyMem_RawMalloc blocks on AMD64 Debian Refleaks 3.x"),
        "a plain title is its own Markdown: the heading's source pastes as the issue title"
    );
    let md = read_markdown(&raw.markdown);
    assert_eq!(md["h1"], serde_json::json!([raw.title]), "the heading renders as the plain title");
    assert_eq!(md["h2"], serde_json::json!(["Before filing", "What failed", "Log excerpt", "Environment"]));
    assert_eq!(md["html"], serde_json::json!([]));
    let links: Vec<&str> =
        md["links"].as_array().map(|l| l.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    assert_eq!(
        links,
        [
            "https://github.com/python/cpython/issues?q=is%3Aissue+in%3Atitle+test_leak_raw",
            "https://github.com/python/cpython/issues?q=is%3Aissue+test_leak_raw",
            "https://github.com/python/cpython/issues?q=is%3Aissue+leak_raw",
        ]
    );
    let fence = md["fences"][0]["content"].as_str().unwrap_or_default();
    assert!(
        fence.starts_with("leakcheck: test_leak_raw: LEAKED in raw, not reported by regrtest (passed)\n"),
        "{fence}"
    );
    assert!(fence.contains("leakcheck:         leak_raw "), "the top site's frames: {fence}");

    let object = &drafts[1];
    assert_eq!(object.title, "test_leak_object leaks references and memory blocks on AMD64 Debian Refleaks 3.x");
    let fence = &read_markdown(&object.markdown)["fences"][0]["content"];
    assert!(fence.as_str().unwrap_or_default().contains("test_leak_object leaked [1, 1, 1] references, sum=3\n"));

    let anonymous = issue_drafts(real_report(), None, None, &read_python_source);
    assert_eq!(anonymous[0].title, "test_leak_raw leaks PyMem_RawMalloc blocks");
    assert!(anonymous[0].markdown.contains("- Builder: unknown (pass"), "{}", anonymous[0].markdown);
}

#[test]
fn drafts_with_hostile_names_cannot_inject_markup() {
    let report = hostile_report();
    let drafts =
        issue_drafts(&report, Some("builder <img src=x onerror=alert(1)>"), Some("`main`"), &read_python_source);
    // The leak, the failure, the test without result and the reference leak; not the skipped or
    // balanced test, and not the interrupted run.
    assert_eq!(drafts.len(), 4, "{:?}", drafts.iter().map(|d| &d.file_name).collect::<Vec<_>>());
    let mut files = std::collections::HashSet::new();
    for draft in &drafts {
        let f = &draft.file_name;
        assert!(f.ends_with(".md") && !f.contains('/') && !f.contains("..") && !f.starts_with('.'), "{f}");
        assert!(f.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)), "{f}");
        assert!(f.len() <= 100, "{f}");
        assert!(files.insert(f.clone()), "unique: {f}");
        assert!(!draft.title.contains(['\n', '\r', '\u{0}', '\u{1b}']), "{:?}", draft.title);
        assert!(draft.title.chars().count() <= 201, "{}", draft.title.len());

        // The title line is the plain title, for GitHub's plain-text title field (no Markdown
        // escapes); the body after it is what gets rendered.
        let (title_line, body) = draft.markdown.split_once('\n').unwrap_or_default();
        assert_eq!(title_line, format!("# {}", draft.title), "{}", draft.markdown);
        let md = read_markdown(body);
        assert_eq!(md["html"], serde_json::json!([]), "no HTML gets through: {}", draft.markdown);
        assert_eq!(md["images"], 0);
        assert_eq!(md["h1"], serde_json::json!([]), "{}", draft.markdown);
        assert_eq!(md["h2"], serde_json::json!(["Before filing", "What failed", "Log excerpt", "Environment"]));
        for link in md["links"].as_array().into_iter().flatten() {
            let link = link.as_str().unwrap_or_default();
            assert!(link.starts_with("https://github.com/python/cpython/issues?q=is%3Aissue+"), "{link}");
            assert!(!link.contains([' ', '<', '>', '"', '`', '\n']), "{link}");
        }
        assert_eq!(md["fences"].as_array().map(Vec::len), Some(1), "one excerpt, never closed early");
    }

    let hostile = &drafts[0];
    let md = read_markdown(&hostile.markdown);
    let code: Vec<&str> =
        md["code"].as_array().map(|c| c.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    assert!(code.contains(&for_terminal(HOSTILE).as_ref()), "the name survives verbatim in a code span: {code:?}");
    assert!(code.contains(&"builder <img src=x onerror=alert(1)>"), "{code:?}");
    let fence = md["fences"][0]["content"].as_str().unwrap_or_default();
    assert!(fence.contains(&format!("leakcheck: {}: LEAKED in raw", for_terminal(HOSTILE))), "{fence}");
    assert!(hostile.title.ends_with(" on builder <img src=x onerror=alert(1)> `main`"), "{}", hostile.title);
}

/// `(properties, message)` of each `::error` line, unescaped as the runner does.
fn parse_annotations(text: &str) -> Vec<(Vec<(String, String)>, String)> {
    let unescape = |s: &str| {
        s.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")
    };
    text.lines()
        .map(|line| {
            let rest = line.strip_prefix("::error ").unwrap_or_else(|| panic!("not an error command: {line:.200}"));
            let (props, message) = rest.split_once("::").unwrap_or_else(|| panic!("no message: {line:.200}"));
            let props = props
                .split(',')
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or_else(|| panic!("bad property {p:.100}"));
                    assert!(["file", "line", "title"].contains(&k), "unknown property {k}");
                    (k.to_owned(), unescape(v))
                })
                .collect();
            (props, unescape(message))
        })
        .collect()
}

fn prop<'a>(props: &'a [(String, String)], key: &str) -> Option<&'a str> {
    props.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn annotations_point_at_the_leaking_c_line() {
    let text = github_annotations(real_report());
    let lines = parse_annotations(&text);
    assert_eq!(lines.len(), 2, "{text}");
    let (props, message) = &lines[0];
    assert_eq!(prop(props, "title"), Some("leakcheck: test_leak_raw leaked"));
    assert!(prop(props, "file").is_some_and(|f| f.ends_with("c/leakfix.c")), "{props:?}");
    assert!(prop(props, "line").and_then(|l| l.parse::<u32>().ok()).is_some(), "{props:?}");
    assert!(
        message.starts_with("leaked raw (PyMem_RawMalloc) blocks [1, 1, 1], not reported by regrtest"),
        "{message}"
    );
    assert!(message.contains("\nleakcheck:     raw: blocks [1, 1, 1]"), "details on the next lines: {message}");

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(common::path_str).unwrap_or_default();
    let relative = github_annotations_with(real_report(), &AnnotationOptions { workspace: Some(&root) });
    let (props, _) = &parse_annotations(&relative)[0];
    assert_eq!(prop(props, "file"), Some("c/leakfix.c"), "relative to the checkout");
}

#[test]
fn annotations_with_hostile_names_stay_one_command_each() {
    let text = github_annotations(&hostile_report());
    let lines = parse_annotations(&text);
    assert_eq!(lines.len(), 5, "hostile leak, failed, no result, reference leak, the run: {text:.3000}");
    let (props, message) = &lines[0];
    assert_eq!(prop(props, "title"), Some(format!("leakcheck: {} leaked", for_terminal(HOSTILE)).as_str()));
    assert_eq!(prop(props, "file"), Some(r"/src/a,b:c%d\x0d.c"));
    assert!(message.contains(r"leak_<b>raw</b>,x:y\x0a::warning::z`"), "{message}");
    assert!(!text.contains(['\r', '\u{0}', '\u{1b}']));
    assert!(lines[2].1.chars().count() <= 4_001, "messages are bounded");
    let (run, _) = &lines[4];
    assert_eq!(prop(run, "title"), Some("leakcheck: the run failed"));
}

#[test]
fn a_hang_is_one_failure_pointing_at_the_deadlocked_c_line_in_every_writer() {
    let report = hang_report();
    let dir = tempfile::tempdir().expect("temporary directory");
    let (path, _) = junit_of(report, dir.path());
    assert_schema_valid(&path);
    let junit = python_json(READ_JUNIT, &[&path]);
    let hung = case(&junit, "test_hang_mutex_cycle");
    assert_eq!(hung["failures"].as_array().map(Vec::len), Some(1), "the hang, not also regrtest's outcome: {hung}");
    let failure = &hung["failures"][0];
    assert_eq!(failure["type"], "hang");
    assert!(failure["message"].as_str().unwrap_or_default().starts_with("hung (lock-cycle): "), "{failure}");
    let body = failure["text"].as_str().unwrap_or_default();
    assert!(body.contains("leakcheck: HANG in test_hang_mutex_cycle (lock-cycle)"), "{body}");
    assert!(body.contains("hangfix.c"), "the threads' frames: {body}");

    // The run's test directory is gone by now: without its source the title names the method
    // alone; with it, its class too (the hung thread's Python stack names functions only).
    let gone = issue_drafts(report, Some("x86-64 Debian"), None, &read_python_source);
    assert_eq!(gone[0].title, "test_hang_mutex_cycle: test_mutex_cycle hangs on x86-64 Debian");
    let fixture = common::fixture_source("regrtest/test_hang_mutex_cycle.py");
    let sources = |path: &str| path.ends_with("/test_hang_mutex_cycle.py").then(|| fixture.clone());
    let drafts = issue_drafts(report, Some("x86-64 Debian"), None, &sources);
    assert_eq!(drafts.len(), 1);
    // The method the hung thread's Python stack shows, as the triage guide asks for a title.
    assert_eq!(drafts[0].title, "test_hang_mutex_cycle: MutexCycleTest.test_mutex_cycle hangs on x86-64 Debian");
    assert!(drafts[0].markdown.contains("1. [`is:issue in:title test_mutex_cycle`]"), "{}", drafts[0].markdown);
    assert!(drafts[0]
        .markdown
        .contains("- Running: `MutexCycleTest.test_mutex_cycle` (the hung thread's Python stack)"));
    let md = read_markdown(&drafts[0].markdown);
    assert!(md["fences"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .contains("leakcheck: HANG in test_hang_mutex_cycle"));

    // The hang, and the run: leakcheck ended regrtest itself, which was the stuck process.
    let lines = parse_annotations(&github_annotations(report));
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (props, message) = &lines[0];
    assert_eq!(prop(props, "title"), Some("leakcheck: test_hang_mutex_cycle hung"));
    let file = prop(props, "file").unwrap_or_default();
    assert!(file.ends_with("c/hangfix.c"), "the fixture's line, not glibc's futex wait: {props:?}");
    assert_eq!(prop(&lines[1].0, "title"), Some("leakcheck: the run failed"));
    assert!(message.starts_with("hung (lock-cycle): "), "{message}");
}

#[test]
fn failed_methods_name_the_junit_failure_the_draft_title_and_the_first_search() {
    let real = real_report();
    let mut report = real.clone();
    let mut posix = test_named(real, "test_balanced").clone();
    posix.name = "test_posix".into();
    posix.outcome = "failed".into();
    posix.failed_methods = vec!["test_close_file (test.test_posix.TestPosixSpawn.test_close_file)".into()];
    let mut many = posix.clone();
    many.name = "test_many".into();
    many.failed_methods =
        vec!["test_a (test.test_many.A.test_a)".into(), "test_b <script> (test.test_many.B.test_b) [`sub`]".into()];
    report.tests = vec![posix, many];

    let dir = tempfile::tempdir().expect("temporary directory");
    let (path, _) = junit_of(&report, dir.path());
    assert_schema_valid(&path);
    let junit = python_json(READ_JUNIT, &[&path]);
    let failure = &case(&junit, "test_posix")["failures"][0];
    assert_eq!(failure["type"], "regrtest");
    assert_eq!(failure["message"], "regrtest: failed: TestPosixSpawn.test_close_file");
    assert!(failure["text"].as_str().unwrap_or_default().contains("test.test_posix.TestPosixSpawn.test_close_file"));
    assert_eq!(case(&junit, "test_many")["failures"][0]["message"], "regrtest: failed: A.test_a, B.test_b");

    let drafts = issue_drafts(&report, Some("PPC64 Fedora 3.x"), Some("3.x"), &read_python_source);
    assert_eq!(drafts[0].title, "test_posix: TestPosixSpawn.test_close_file fails on PPC64 Fedora 3.x");
    let md = read_markdown(&drafts[0].markdown);
    let links: Vec<&str> =
        md["links"].as_array().map(|l| l.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let q = "https://github.com/python/cpython/issues?q=is%3Aissue+";
    assert_eq!(
        links,
        [
            format!("{q}in%3Atitle+test_close_file"),
            format!("{q}in%3Atitle+test_posix"),
            format!("{q}test_close_file"),
            format!("{q}test_posix"),
        ],
        "the triage guide's order: method, then file; titles, then full text"
    );
    assert_eq!(drafts[1].title, "test_many: A.test_a and 1 more fail on PPC64 Fedora 3.x");
    let md = read_markdown(&drafts[1].markdown);
    assert_eq!(md["html"], serde_json::json!([]));
    let code: Vec<&str> =
        md["code"].as_array().map(|c| c.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    assert!(code.contains(&"test_b <script> (test.test_many.B.test_b) [`sub`]"), "{code:?}");
}

/// An AddressSanitizer report as the runtime prints it, with a hostile function name.
fn asan_findings(test: Option<&str>) -> Vec<leakcheck::sanitizer::Finding> {
    let report = "=================================================================\n\
==4550==ERROR: AddressSanitizer: attempting double-free on 0x602000000010 in thread T0:\n\
    #0 0x7f8ec28b76a8 in __interceptor_free ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:52\n\
    #1 0x55c8fccd91a0 in release<b>,x:y` /work/main/c/sanitizer/double_free.c:6\n\
    #2 0x55c8fccd91df in main /work/main/c/sanitizer/double_free.c:17\n\
\n\
SUMMARY: AddressSanitizer: double-free ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:52 in __interceptor_free\n\
==4550==ABORTING\n";
    let mut findings = leakcheck::sanitizer::Parser::parse_log(report.as_bytes());
    assert_eq!(findings.len(), 1, "{findings:?}");
    for finding in &mut findings {
        finding.test = test.map(str::to_owned);
    }
    findings
}

#[test]
fn sanitizer_findings_are_failures_of_their_test_or_of_the_run() {
    let mut report = real_report().clone();
    report.sanitizer_findings = asan_findings(Some("test_leak_raw"));
    report.sanitizer_findings.extend(asan_findings(None));

    let dir = tempfile::tempdir().expect("temporary directory");
    let (path, _) = junit_of(&report, dir.path());
    assert_schema_valid(&path);
    let junit = python_json(READ_JUNIT, &[&path]);
    let raw = case(&junit, "test_leak_raw");
    let types: Vec<&str> =
        raw["failures"].as_array().map(|f| f.iter().filter_map(|f| f["type"].as_str()).collect()).unwrap_or_default();
    assert_eq!(types, ["leak,sanitizer"], "one failure for both: {raw}");
    let message = raw["failures"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(" (2) AddressSanitizer double-free: "), "{message}");
    assert_eq!(case(&junit, "run")["failures"][0]["type"], "sanitizer");

    let lines = parse_annotations(&github_annotations(&report));
    let sanitizer: Vec<_> = lines.iter().filter(|(_, m)| m.starts_with("AddressSanitizer")).collect();
    assert_eq!(sanitizer.len(), 2, "{lines:?}");
    let (props, _) = sanitizer[0];
    assert_eq!(prop(props, "title"), Some("leakcheck: test_leak_raw had a sanitizer error"));
    assert_eq!(prop(props, "file"), Some("/work/main/c/sanitizer/double_free.c"), "not the interceptor's file");
    assert_eq!(prop(props, "line"), Some("6"));
    assert_eq!(prop(sanitizer[1].0.as_slice(), "title"), Some("leakcheck: the run had a sanitizer error"));

    let drafts = issue_drafts(&report, None, None, &read_python_source);
    let titles: Vec<&str> = drafts.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "test_leak_raw: AddressSanitizer double-free",
            "test_leak_object leaks references and memory blocks",
            "the test run: AddressSanitizer double-free"
        ]
    );
    let md = read_markdown(&drafts[0].markdown);
    assert_eq!(md["html"], serde_json::json!([]));
    let fence = md["fences"][0]["content"].as_str().unwrap_or_default();
    assert!(fence.contains("leakcheck: SANITIZER in test_leak_raw: AddressSanitizer double-free"), "{fence}");
}

/// Identical reports of several tests are one finding (`other_tests`): it fails each test.
#[test]
fn a_finding_merged_from_several_tests_fails_each_of_them() {
    let mut report = real_report().clone();
    report.sanitizer_findings = asan_findings(Some("test_leak_raw"));
    report.sanitizer_findings[0].other_tests = vec!["test_leak_object".into()];
    let dir = tempfile::tempdir().expect("temporary directory");
    let (path, _) = junit_of(&report, dir.path());
    let junit = python_json(READ_JUNIT, &[&path]);
    for name in ["test_leak_raw", "test_leak_object"] {
        let failures = &case(&junit, name)["failures"];
        assert_eq!(failures.as_array().map(Vec::len), Some(1), "{name}: {failures}");
        assert_eq!(failures[0]["type"], "leak,sanitizer", "{name}: {failures}");
        let message = failures[0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(" (2) AddressSanitizer double-free: "), "{name}: {message}");
    }
    assert!(
        report.render_text().contains("SANITIZER in test_leak_raw (also in test_leak_object): AddressSanitizer"),
        "{}",
        report.render_text()
    );
}

/// unittest prints a `FAIL:` header per failing subtest: a method whose subtests failed twice
/// is one method in the draft's title and the JUnit failure's message (the JSON keeps every
/// header), and its traceback comes once, under its headers. Builders of the main branch are
/// named `... 3.x` while their builds' branch is `main`: the title names the branch once.
#[test]
fn a_method_with_failing_subtests_counts_once() {
    let testdir = common::testdir();
    let work = tempfile::tempdir().expect("temporary directory");
    let xml = work.path().join("junit.xml");
    let drafts = work.path().join("drafts");
    let dir = common::path_str(testdir.path());
    let command =
        [common::python(), "-m", "test", "--testdir", &dir, "-v", "test_failing_subtests", "test_failing_kinds"];
    let flags = [
        "--junit-xml",
        &common::path_str(&xml),
        "--issue-draft",
        &common::path_str(&drafts),
        "--builder",
        "AMD64 Fedora Refleaks 3.x",
        "--branch",
        "main",
    ];
    let run = sharing_children(|| common::leakcheck(&flags, &command));
    assert_eq!(run.code(), Some(2), "regrtest's own status; stderr:\n{}", run.stderr);

    let subtests = run.test("test_failing_subtests");
    let headers = ["(i=2)", "(i=3)"].map(|p| format!("test_subtests (test_failing_subtests.Sub.test_subtests) {p}"));
    assert_eq!(subtests["failed_methods"], serde_json::json!(headers), "one per header in the JSON");

    let title = |file: &str| {
        let draft = std::fs::read_to_string(drafts.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        draft.lines().next().unwrap_or_default().to_owned()
    };
    assert_eq!(
        title("test_failing_subtests.md"),
        "# test_failing_subtests: Sub.test_subtests fails on AMD64 Fedora Refleaks 3.x"
    );
    assert_eq!(
        title("test_failing_kinds.md"),
        "# test_failing_kinds: BadClassSetup.setUpClass and 2 more fail on AMD64 Fedora Refleaks 3.x"
    );

    assert_schema_valid(&xml);
    let junit = python_json(READ_JUNIT, &[&xml]);
    let failure = &case(&junit, "test_failing_subtests")["failures"][0];
    assert_eq!(failure["message"], "regrtest: failed: Sub.test_subtests");
    let text = failure["text"].as_str().unwrap_or_default();
    // Each failing subtest's traceback, under its own header.
    for header in &headers {
        assert!(text.contains(&format!("FAIL: {header}\nTraceback (most recent call last):")), "{text}");
    }
    assert_eq!(text.matches("Traceback (most recent call last):").count(), 2, "{text}");
    assert_eq!(text.matches("AssertionError: ").count(), 2, "{text}");
    // So in the JSON, the method's traceback, and in the draft.
    let method = subtests["methods"].as_array().unwrap().iter().find(|m| m["name"] == "test_subtests").unwrap();
    let traceback = method["traceback"].as_str().unwrap_or_default();
    for (header, message) in
        headers.iter().zip(["AssertionError: 2 not less than 2", "AssertionError: 3 not less than 2"])
    {
        assert!(traceback.contains(&format!("FAIL: {header}\n")), "{traceback}");
        assert!(traceback.contains(message), "{traceback}");
    }
    let draft = std::fs::read_to_string(drafts.join("test_failing_subtests.md")).unwrap();
    assert_eq!(draft.matches("not less than 2").count(), 2, "{draft}");
    assert_eq!(
        case(&junit, "test_failing_kinds")["failures"][0]["message"],
        "regrtest: failed: BadClassSetup.setUpClass, Fails.test_fails, Sub.test_subtests"
    );
}

/// A method's testcase keeps which of its subtests failed, as unittest's `FAIL:`/`ERROR:`
/// headers printed them (a message and parameters, parameters holding parentheses), each with
/// its own word; its test file's testcase lists those same headers, not `FAIL/ERROR`. Real
/// `-v` runs, sequential and `-j 2`.
#[test]
fn a_method_s_testcase_names_its_failing_subtests_as_unittest_did() {
    let testdir = common::testdir();
    let dir = common::path_str(testdir.path());
    let d = "test_subtest_descriptions.Described";
    let headers = [
        (
            "test_message_and_params",
            vec![format!("FAIL: test_message_and_params ({d}.test_message_and_params) [a msg (x)] (k=1)")],
        ),
        ("test_message", vec![format!("FAIL: test_message ({d}.test_message) [sub=1]")]),
        (
            "test_params",
            (0..2).map(|i| format!("ERROR: test_params ({d}.test_params) (i={i}, s='t (u) [v]')")).collect(),
        ),
    ];
    for jobs in [None, Some("-j2")] {
        let work = tempfile::tempdir().expect("temporary directory");
        let xml = work.path().join("junit.xml");
        let mut command = vec![common::python(), "-m", "test", "--testdir", &dir, "-v"];
        command.extend(jobs);
        command.push("test_subtest_descriptions");
        let run = sharing_children(|| common::leakcheck(&["--junit-xml", &common::path_str(&xml)], &command));
        assert_eq!(run.code(), Some(2), "{jobs:?}: {}", run.stderr);
        assert_schema_valid(&xml);
        let junit = python_json(READ_JUNIT, &[&xml]);
        let method = |name: &str| {
            junit["cases"]
                .as_array()
                .and_then(|cases| cases.iter().find(|c| c["classname"] == d && c["name"] == name))
                .unwrap_or_else(|| panic!("no testcase {d}.{name} in {}", junit["cases"]))
                .clone()
        };
        let file =
            case(&junit, "test_subtest_descriptions")["failures"][0]["text"].as_str().unwrap_or_default().to_owned();
        assert!(!file.contains("FAIL/ERROR"), "{jobs:?}: {file}");
        for (name, headers) in &headers {
            let failure = &method(name)["failures"][0];
            assert_eq!(failure["message"], headers.join("; "), "{jobs:?}");
            let text = failure["text"].as_str().unwrap_or_default();
            assert_eq!(text.matches("Traceback (most recent call last):").count(), headers.len(), "{text}");
            for header in headers {
                assert!(text.contains(header.as_str()), "{jobs:?}: {text}");
                assert!(file.contains(&format!("{header}\nTraceback (most recent call last):")), "{jobs:?}: {file}");
            }
        }
        assert_eq!(method("test_passes")["failures"], serde_json::json!([]));
    }
}

/// regrtest with `-v` names every unittest method: each is a testcase of its own, beside its
/// test file's, in the JSON (`methods`) and the JUnit XML, sequentially and from `-j 2` workers.
#[test]
fn verbose_runs_give_a_testcase_per_unittest_method() {
    let testdir = common::testdir();
    for jobs in [None, Some("-j2")] {
        let work = tempfile::tempdir().expect("temporary directory");
        let xml = work.path().join("junit.xml");
        let dir = common::path_str(testdir.path());
        let mut command = vec![common::python(), "-m", "test", "--testdir", &dir, "-v"];
        command.extend(jobs);
        command.extend(["test_unittest_methods", "test_balanced"]);
        let drafts = work.path().join("drafts");
        let run = sharing_children(|| {
            common::leakcheck(
                &["--junit-xml", &common::path_str(&xml), "--issue-draft", &common::path_str(&drafts)],
                &command,
            )
        });
        assert_eq!(run.code(), Some(2), "regrtest's own status, nothing added; stderr:\n{}", run.stderr);

        let outcomes: Vec<(String, String)> = run.test("test_unittest_methods")["methods"]
            .as_array()
            .expect("methods")
            .iter()
            .map(|m| {
                (
                    format!("{}.{}", m["class"].as_str().unwrap_or("?"), m["name"].as_str().unwrap_or("?")),
                    m["outcome"].as_str().unwrap_or("?").to_owned(),
                )
            })
            .collect();
        let k = "test_unittest_methods.Kinds";
        let expected: Vec<(String, String)> = [
            (format!("{k}.test_docstring"), "passed"),
            (format!("{k}.test_errors"), "error"),
            (format!("{k}.test_expected_failure"), "expected_failure"),
            (format!("{k}.test_fails"), "failed"),
            (format!("{k}.test_passes"), "passed"),
            (format!("{k}.test_prints"), "passed"),
            (format!("{k}.test_skipped"), "skipped"),
            ("test_unittest_methods.Subtests.test_subtests".into(), "failed"),
        ]
        .into_iter()
        .map(|(n, o)| (n, o.to_owned()))
        .collect();
        assert_eq!(outcomes, expected, "{jobs:?}");

        assert_schema_valid(&xml);
        let junit = python_json(READ_JUNIT, &[&xml]);
        let method = |class: &str, name: &str| {
            junit["cases"]
                .as_array()
                .and_then(|cases| cases.iter().find(|c| c["classname"] == class && c["name"] == name))
                .unwrap_or_else(|| panic!("no testcase {class}.{name} in {}", junit["cases"]))
                .clone()
        };
        let fails = method(k, "test_fails");
        assert_eq!(fails["failures"][0]["type"], "unittest");
        // The traceback regrtest printed in verbose mode: in the JUnit text, the JSON and the draft.
        let text = fails["failures"][0]["text"].as_str().unwrap_or_default();
        assert!(
            text.contains("Traceback (most recent call last):") && text.contains("AssertionError: 1 != 2"),
            "{text}"
        );
        let json_traceback = run.test("test_unittest_methods")["methods"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["name"] == "test_fails"))
            .map(|m| m["traceback"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        assert!(json_traceback.ends_with("AssertionError: 1 != 2"), "{json_traceback}");
        let draft = std::fs::read_to_string(drafts.join("test_unittest_methods.md")).expect("the draft");
        assert!(draft.contains("RuntimeError: boom") && draft.contains("AssertionError: 1 != 2"), "{draft}");
        assert_eq!(fails["failures"][0]["message"], format!("FAIL: test_fails ({k}.test_fails)"));
        assert_eq!(method(k, "test_errors")["failures"][0]["message"], format!("ERROR: test_errors ({k}.test_errors)"));
        assert_eq!(method(k, "test_skipped")["skipped"], serde_json::json!(["'not <here> & now'"]));
        for passing in ["test_passes", "test_expected_failure", "test_docstring", "test_prints"] {
            let case = method(k, passing);
            assert_eq!(
                (&case["failures"], &case["skipped"]),
                (&serde_json::json!([]), &serde_json::json!([])),
                "{passing}"
            );
        }
        assert_eq!(method("test_balanced.BalancedTest", "test_balanced")["failures"], serde_json::json!([]));
        // Both files' testcases, then the methods: 2 + 8 + 1, failing: the file and 3 methods.
        let suite = &junit["suites"][0];
        assert_eq!(
            (suite["tests"].as_u64(), suite["failures"].as_u64(), suite["skipped"].as_u64()),
            (Some(11), Some(4), Some(1)),
            "{jobs:?}"
        );
        assert_eq!(case(&junit, "test_unittest_methods")["classname"], "regrtest");
    }
}

/// An `unexpected success` fails its test file and its method, and unittest prints no
/// `FAIL:`/`ERROR:` header for it: the JSON's `failed_methods`, the draft's title, the
/// annotation and the test file's JUnit message name it as they name a method that failed.
#[test]
fn an_unexpected_success_is_named_as_a_failing_method() {
    let testdir = common::testdir();
    for jobs in [None, Some("-j2")] {
        let work = tempfile::tempdir().expect("temporary directory");
        let xml = work.path().join("junit.xml");
        let drafts = work.path().join("drafts");
        let dir = common::path_str(testdir.path());
        let mut command = vec![common::python(), "-m", "test", "-R", "3:3", "--testdir", &dir, "-v"];
        command.extend(jobs);
        command.push("test_unexpected_success");
        let flags = [
            "--junit-xml",
            &common::path_str(&xml),
            "--issue-draft",
            &common::path_str(&drafts),
            "--annotations",
            "github",
        ];
        let run = sharing_children(|| common::leakcheck(&flags, &command));
        assert_eq!(run.code(), Some(2), "{jobs:?}: regrtest's own status; stderr:\n{}", run.stderr);
        let test = run.test("test_unexpected_success");
        assert_eq!(test["outcome"], "failed", "{test}");
        let described = "test_xpass (test_unexpected_success.Surprise.test_xpass)";
        assert_eq!(test["failed_methods"], serde_json::json!([described]), "{test}");

        let draft = std::fs::read_to_string(drafts.join("test_unexpected_success.md")).expect("the draft");
        assert_eq!(draft.lines().next(), Some("# test_unexpected_success: Surprise.test_xpass fails"), "{draft}");
        assert!(draft.contains("is:issue in:title test_xpass"), "searched for first: {draft}");

        assert_schema_valid(&xml);
        let junit = python_json(READ_JUNIT, &[&xml]);
        let message = &case(&junit, "test_unexpected_success")["failures"][0]["message"];
        assert_eq!(message, "regrtest: failed: Surprise.test_xpass");
        let text =
            case(&junit, "test_unexpected_success")["failures"][0]["text"].as_str().unwrap_or_default().to_owned();
        assert!(text.contains(&format!("\nUNEXPECTED SUCCESS: {described}\n")), "{text}");
        let method = junit["cases"]
            .as_array()
            .and_then(|cases| cases.iter().find(|c| c["name"] == "test_xpass"))
            .unwrap_or_else(|| panic!("no testcase test_xpass in {}", junit["cases"]));
        assert_eq!(method["failures"][0]["message"], format!("UNEXPECTED SUCCESS: {described}"));

        let stdout = String::from_utf8_lossy(&run.stdout);
        let annotations: String =
            stdout.lines().filter(|l| l.starts_with("::error ")).map(|l| format!("{l}\n")).collect();
        let lines = parse_annotations(&annotations);
        assert_eq!(lines.len(), 1, "{annotations}");
        assert!(lines[0].1.contains("Surprise.test_xpass"), "{annotations}");
    }
}

/// A test that alters the environment is regrtest's `failed (env changed)`, and regrtest passes
/// the run (exit 0) unless told `--fail-env-changed`: then it fails it (exit 3), and so do the
/// JUnit XML and the drafts; without, the testcase passes and says what regrtest saw.
#[test]
fn env_changed_fails_only_a_run_told_to_fail_on_it() {
    let testdir = common::testdir();
    for (flags, code) in [(&[][..], 0), (&["--fail-env-changed"][..], 3)] {
        let work = tempfile::tempdir().expect("temporary directory");
        let xml = work.path().join("junit.xml");
        let drafts = work.path().join("drafts");
        let command = common::regrtest_with(common::python(), testdir.path(), flags, &["test_env_changed"]);
        let run = sharing_children(|| {
            common::leakcheck(
                &["--junit-xml", &common::path_str(&xml), "--issue-draft", &common::path_str(&drafts)],
                &common::as_strs(&command),
            )
        });
        assert_eq!(run.code(), Some(code), "regrtest's own status; stderr:\n{}", run.stderr);
        assert_eq!(run.test("test_env_changed")["outcome"], "env_changed");
        assert_eq!(run.json()["summary"]["env_changed_fails"], code != 0);
        assert_schema_valid(&xml);
        let junit = python_json(READ_JUNIT, &[&xml]);
        let case = case(&junit, "test_env_changed");
        // The drafts, not the list of them.
        let written: Vec<String> = std::fs::read_dir(&drafts)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.ends_with(".md"))
                    .collect()
            })
            .unwrap_or_default();
        if code == 0 {
            assert_eq!(case["failures"], serde_json::json!([]), "{case}");
            assert_eq!(junit["suites"][0]["failures"], 0);
            assert!(written.is_empty(), "no draft: {written:?}");
            let xml_text = std::fs::read_to_string(&xml).expect("the XML");
            assert!(xml_text.contains("<system-out>regrtest: failed (env changed): "), "said visibly: {xml_text}");
        } else {
            assert_eq!(case["failures"][0]["message"], "regrtest: failed (env changed)", "{case}");
            assert_eq!(written, ["test_env_changed.md"]);
        }
    }
}

/// A test with two problems, a raw leak and regrtest's `failed (env changed)` in a run told to
/// fail on it, is one `<failure>` in its testcase: JUnit consumers (Jenkins, GitLab) take one
/// failure per testcase and drop the others. Its message names both, its type both kinds, its
/// text holds both problems' details in order, and no testcase has more than one failure or any
/// error.
#[test]
fn a_test_with_two_problems_has_one_junit_failure_naming_both() {
    let testdir = common::testdir();
    let work = tempfile::tempdir().expect("temporary directory");
    let xml = work.path().join("junit.xml");
    let command = common::regrtest_argv(testdir.path(), &[], &["--fail-env-changed", "test_leak_raw_env_changed"]);
    let run =
        sharing_children(|| common::leakcheck(&["--junit-xml", &common::path_str(&xml)], &common::as_strs(&command)));
    assert_eq!(run.code(), Some(101), "the raw leak regrtest does not see; stderr:\n{}", run.stderr);
    let test = run.test("test_leak_raw_env_changed");
    assert_eq!((test["outcome"].as_str(), test["leaked"].as_bool()), (Some("env_changed"), Some(true)), "{test}");
    assert_schema_valid(&xml);
    let junit = python_json(READ_JUNIT, &[&xml]);
    for case in junit["cases"].as_array().expect("cases") {
        let failures = case["failures"].as_array().map_or(0, Vec::len);
        assert!(failures <= 1 && case["errors"] == serde_json::json!([]), "{case}");
    }
    assert_eq!(junit["suites"][0]["failures"], 1);
    let case = case(&junit, "test_leak_raw_env_changed");
    let failure = &case["failures"][0];
    assert_eq!(failure["type"], "leak,regrtest", "{case}");
    let message = failure["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("2 problems: (1) leaked raw (PyMem_RawMalloc) blocks [1, 1, 1]"), "{message}");
    assert!(message.ends_with(" (2) regrtest: failed (env changed)"), "{message}");
    let text = failure["text"].as_str().unwrap_or_default();
    let leak = text.find("leakcheck: test_leak_raw_env_changed: LEAKED in raw").expect(text);
    let regrtest = text.find("\n(2) regrtest: failed (env changed)\n").expect(text);
    assert!(leak < regrtest && text[regrtest..].contains("test_leak_raw_env_changed failed (env changed)"), "{text}");
}

/// A `-j` worker that aborted mid-test: `crashed`, and the JUnit failure, the draft and the JSON
/// keep regrtest's line with the exit code and faulthandler's `Fatal Python error` and stack.
#[test]
fn a_crashed_worker_keeps_its_exit_code_and_faulthandler_s_stack() {
    let testdir = common::testdir();
    let work = tempfile::tempdir().expect("temporary directory");
    let xml = work.path().join("junit.xml");
    let drafts = work.path().join("drafts");
    let command = common::regrtest_argv(testdir.path(), &[], &["-j", "2", "test_crash_midway"]);
    let run = sharing_children(|| {
        common::leakcheck(
            &["--junit-xml", &common::path_str(&xml), "--issue-draft", &common::path_str(&drafts)],
            &common::as_strs(&command),
        )
    });
    assert_eq!(run.code(), Some(2), "regrtest's own status; stderr:\n{}", run.stderr);
    let test = run.test("test_crash_midway");
    assert_eq!(test["outcome"], "crashed", "{test}");
    assert_eq!(test["result_line"], "test_crash_midway crashed (Exit code -6)", "{test}");
    let dump = test["faulthandler"].as_str().unwrap_or_default();
    assert!(dump.starts_with("Fatal Python error: Aborted\n"), "{dump}");
    let frame = "test_crash_midway.py\", line 16 in test_crash_on_third_repetition";
    assert!(dump.contains(frame), "{dump}");

    assert_schema_valid(&xml);
    let junit = python_json(READ_JUNIT, &[&xml]);
    let failure = &case(&junit, "test_crash_midway")["failures"][0];
    assert_eq!(
        failure["message"],
        "regrtest: crashed: test_crash_midway crashed (Exit code -6); Fatal Python error: Aborted"
    );
    assert!(failure["text"].as_str().unwrap_or_default().contains(frame), "{failure}");
    let draft = std::fs::read_to_string(drafts.join("test_crash_midway.md")).expect("the draft");
    let fence = read_markdown(&draft)["fences"][0]["content"].as_str().unwrap_or_default().to_owned();
    assert!(fence.starts_with("test_crash_midway crashed (Exit code -6)\n"), "{fence}");
    assert!(fence.contains("Fatal Python error: Aborted") && fence.contains(frame), "{fence}");
    // The title names the method faulthandler's dump shows running, with the class its source
    // defines it in (the dump names functions only), and so do the searches.
    assert_eq!(draft.lines().next(), Some("# test_crash_midway: CrashTest.test_crash_on_third_repetition fails"));
    assert!(draft.contains("1. [`is:issue in:title test_crash_on_third_repetition`]"), "{draft}");
}

/// A draft's title names the failing test method: unittest's `FAIL:`/`ERROR:` header when the
/// output has one (`-W` reprints a failing test's output in verbose mode), else the traceback's
/// test method, not the decorator's `wrapper` that called it nor a failing `setUp`, with the class
/// its source defines it in (a traceback names functions only).
#[test]
fn draft_titles_name_the_test_method_not_a_wrapper_or_fixture() {
    let testdir = common::testdir();
    for (flags, titles) in [
        (&[][..], ["test_fail_decorated: Decorated.test_wrapped fails", "test_fail_in_setup fails"]),
        (
            &["-W"][..],
            ["test_fail_decorated: Decorated.test_wrapped fails", "test_fail_in_setup: BrokenFixture.test_one fails"],
        ),
    ] {
        let work = tempfile::tempdir().expect("temporary directory");
        let drafts = work.path().join("drafts");
        let command = common::regrtest_with(
            common::python(),
            testdir.path(),
            flags,
            &["test_fail_decorated", "test_fail_in_setup"],
        );
        let run = sharing_children(|| {
            common::leakcheck(&["--issue-draft", &common::path_str(&drafts)], &common::as_strs(&command))
        });
        assert_eq!(run.code(), Some(2), "regrtest's own status; stderr:\n{}", run.stderr);
        for (name, title) in ["test_fail_decorated", "test_fail_in_setup"].iter().zip(titles) {
            let draft = std::fs::read_to_string(drafts.join(format!("{name}.md"))).expect("the draft");
            assert_eq!(draft.lines().next(), Some(format!("# {title}").as_str()), "{flags:?}:\n{draft}");
        }
    }
}

/// Colour on a real terminal (`script` gives the run a pty), none with `NO_COLOR`, none in the
/// log: the summary's verdict words only.
#[test]
fn the_summary_is_coloured_on_a_terminal_only() {
    let dir = common::testdir();
    let on_tty = |no_color: Option<&str>| {
        let work = tempfile::tempdir().expect("a temporary directory");
        let log = work.path().join("output.log");
        let argv = common::regrtest_argv(dir.path(), &[], &["test_balanced"]);
        // `script -c` takes one shell command: these paths are the test's own.
        let inner = format!("{} --log {} -- {}", common::LEAKCHECK, log.display(), argv.join(" "));
        let mut cmd = Command::new("script");
        cmd.args(["-qefc", &inner, "/dev/null"]).env("TERM", "xterm").env_remove("NO_COLOR");
        if let Some(value) = no_color {
            cmd.env("NO_COLOR", value);
        }
        let out = cmd.output().expect("script (bsdutils)");
        assert!(out.status.success(), "{out:?}");
        (String::from_utf8_lossy(&out.stdout).into_owned(), std::fs::read_to_string(&log).expect("the log"))
    };
    let (terminal, log) = on_tty(None);
    assert!(terminal.contains("test_balanced: \x1b[32mno leak\x1b[0m (passed)"), "{terminal}");
    assert!(!log.contains('\x1b'), "the log is the command's output only: {log}");
    let (terminal, _) = on_tty(Some("1"));
    assert!(terminal.contains("test_balanced: no leak (passed)") && !terminal.contains("\x1b[32m"), "{terminal}");
    // NO_COLOR set but empty does not count (no-color.org).
    let (terminal, _) = on_tty(Some(""));
    assert!(terminal.contains("\x1b[32mno leak"), "{terminal}");
}

/// The sites of objects a free list handed to the leaking code are unittest's lines: they are
/// kept, marked `free_list_reuse`, with a note; no writer presents unittest's line as the leak.
/// With every site so marked, each says the site is not attributable; beside the `tp_new`'s own
/// site, each points at the extension's line.
#[test]
fn leaks_of_free_list_objects_are_not_pinned_on_unittest() {
    let report = free_list_report();
    let python = test_named(report, "test_leak_free_list");
    assert!(python.regrtest.leaked, "{}", report.render_text());
    assert!(!python.leak_sites.is_empty(), "{}", report.render_text());
    assert!(python.leak_sites.iter().all(|s| s.free_list_reuse), "{}", report.render_text());
    let reused = python.notes.iter().find(|n| n.contains("where the repetition first allocated such a block"));
    assert!(reused.is_some_and(|n| n.contains("Look at the test's own code")), "{:?}", python.notes);
    let text = report.render_text();
    assert!(
        text.contains("leakcheck:     2 blocks/repetition in obj: dict key tables and dict objects recycled through CPython's free lists; allocation site not attributable\n"),
        "{text}"
    );
    let json = serde_json::to_value(python).expect("the test as JSON");
    assert!(json["leak_sites"].as_array().is_some_and(|s| s.iter().all(|s| s["free_list_reuse"] == true)), "{json}");

    let tp_new = test_named(report, "test_leak_in_tp_new");
    let top = &tp_new.leak_sites[0];
    assert!(!top.free_list_reuse && top.frames.iter().any(|f| f.function.as_deref() == Some("leaky_new")), "{text}");
    let line = leakfix_line("PyObject *temporary = PyDict_New();");

    let dir = tempfile::tempdir().expect("temporary directory");
    let (path, _) = junit_of(report, dir.path());
    let junit = python_json(READ_JUNIT, &[&path]);
    let message = case(&junit, "test_leak_free_list")["failures"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.ends_with("; 2 blocks/repetition in obj: dict key tables and dict objects recycled through CPython's free lists; allocation site not attributable"), "{message}");
    assert!(!message.contains("loader.py") && !message.contains("case.py"), "{message}");
    let message = case(&junit, "test_leak_in_tp_new")["failures"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.ends_with(&format!("leakfix.c:{line})")), "{message}");
    assert!(message.contains("; allocated at leaky_new ("), "{message}");

    let drafts = issue_drafts(report, None, None, &read_python_source);
    let draft = &drafts.iter().find(|d| d.file_name == "test_leak_free_list.md").expect("its draft").markdown;
    assert!(draft.contains("allocation site not attributable`\n"), "{draft}");
    assert!(!draft.contains("  - at "), "no location: {draft}");
    let draft = &drafts.iter().find(|d| d.file_name == "test_leak_in_tp_new.md").expect("its draft").markdown;
    assert!(draft.contains("  - at `leaky_new` in `") && draft.contains(&format!("leakfix.c:{line}`")), "{draft}");

    let annotations = parse_annotations(&github_annotations(report));
    let of = |name: &str| {
        let title = format!("leakcheck: {name} leaked");
        annotations.iter().filter(move |(props, _)| prop(props, "title") == Some(title.as_str())).collect::<Vec<_>>()
    };
    let [(props, message)] = of("test_leak_free_list")[..] else { panic!("{annotations:?}") };
    assert_eq!(prop(props, "file"), None, "{props:?}");
    assert!(message.contains("allocation site not attributable"), "{message}");
    let at_tp_new = of("test_leak_in_tp_new");
    assert!(!at_tp_new.is_empty());
    for (props, _) in &at_tp_new {
        assert!(prop(props, "file").is_some_and(|f| f.ends_with("c/leakfix.c")), "{props:?}");
    }
}

/// Two dicts kept per repetition: the second one's key table was first allocated in the
/// repetition as the copy of the `**kwargs` of regrtest's `functools.partial(...)` call
/// (`clone_combined_dict_keys` under `PyDict_Copy`, Python frame `get_test_runner`) and came to
/// the test's dict through the key-table free list. That site is marked like the others, so
/// every site is, and no output names regrtest's `test/support/testresult.py` as the leak: the
/// JUnit message, the issue draft and the annotation say the site is not attributable.
#[test]
fn a_key_table_first_allocated_as_regrtest_s_copy_is_not_named_as_the_leak() {
    let report = free_list_report();
    let text = report.render_text();
    let test = test_named(report, "test_leak_two_dicts");
    assert!(test.regrtest.leaked, "{text}");
    let top = |site: &leakcheck::report::LeakSiteReport| site.frames.first().and_then(|f| f.function.clone());
    let copied = test.leak_sites.iter().find(|s| top(s).as_deref() == Some("clone_combined_dict_keys"));
    let copied = copied.unwrap_or_else(|| panic!("a key table first allocated as a copy: {text}"));
    assert!(copied.python_frames.iter().any(|f| f.file.ends_with("test/support/testresult.py")), "{text}");
    assert!(test.leak_sites.iter().all(|s| s.free_list_reuse), "{text}");
    let unattributable = "4 blocks/repetition in obj: dict key tables and dict objects recycled through CPython's \
                          free lists; allocation site not attributable";
    assert!(text.contains(&format!("leakcheck:     {unattributable}\n")), "{text}");

    let dir = tempfile::tempdir().expect("temporary directory");
    let (path, _) = junit_of(report, dir.path());
    let junit = python_json(READ_JUNIT, &[&path]);
    let message = case(&junit, "test_leak_two_dicts")["failures"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.ends_with(&format!("; {unattributable}")), "{message}");
    assert!(!message.contains("testresult.py") && !message.contains("get_test_runner"), "{message}");
    let drafts = issue_drafts(report, None, None, &read_python_source);
    let draft = &drafts.iter().find(|d| d.file_name == "test_leak_two_dicts.md").expect("its draft").markdown;
    assert!(draft.contains("allocation site not attributable`\n") && !draft.contains("  - at "), "{draft}");
    let annotations = parse_annotations(&github_annotations(report));
    let title = "leakcheck: test_leak_two_dicts leaked";
    let ours: Vec<_> = annotations.iter().filter(|(props, _)| prop(props, "title") == Some(title)).collect();
    let [(props, message)] = ours[..] else { panic!("{annotations:?}") };
    assert_eq!(prop(props, "file"), None, "{props:?}");
    assert!(message.contains("allocation site not attributable"), "{message}");
}

/// The line of `c/leakfix.c` that contains `needle`.
fn leakfix_line(needle: &str) -> u32 {
    common::source_line("leakfix.c", needle) as u32
}

/// A test whose leak sites are at six lines gets an annotation at each of the first five, the
/// largest first, the fifth saying one more was left out; a test with one site, one.
#[test]
fn annotations_point_at_each_leak_site_up_to_five_per_test() {
    let report = many_sites_report();
    let test = test_named(report, "test_leak_many_lines");
    assert_eq!(test.leak_sites.len(), 6, "{}", report.render_text());
    let annotations = parse_annotations(&github_annotations(report));
    let of = |name: &str| {
        let title = format!("leakcheck: {name} leaked");
        annotations.iter().filter(move |(props, _)| prop(props, "title") == Some(title.as_str())).collect::<Vec<_>>()
    };
    let many = of("test_leak_many_lines");
    assert_eq!(many.len(), 5, "{annotations:?}");
    let lines: Vec<u32> = many.iter().filter_map(|(props, _)| prop(props, "line")?.parse().ok()).collect();
    let mut distinct = lines.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 5, "five distinct lines: {lines:?}");
    assert!(many.iter().all(|(props, _)| prop(props, "file").is_some_and(|f| f.ends_with("c/leakfix.c"))));
    // The largest first: the unrolled loop's two blocks a repetition, at its one line.
    assert_eq!(lines[0], leakfix_line("void *leaked = PyMem_RawMalloc(32);"), "{lines:?}");
    assert!(many[0].1.starts_with("leaked references [1, 1, 1], raw (PyMem_RawMalloc) blocks"), "{}", many[0].1);
    assert!(many[0].1.contains("; allocated at leak_raw_unrolled ("), "{}", many[0].1);
    for (i, (_, message)) in many.iter().enumerate().skip(1) {
        assert!(message.starts_with(&format!("leak site {} of 6: ", i + 1)), "{message}");
    }
    assert!(
        many[4].1.ends_with(
            "; 1 more leak site of test_leak_many_lines not annotated (leakcheck's summary and JSON report list them)"
        ),
        "{}",
        many[4].1
    );
    assert_eq!(of("test_leak_unrolled").len(), 1, "one site, one annotation: {annotations:?}");
}

/// A LeakSanitizer report captured for `tests/sanitizer.rs` (`tests/data/sanitizer/NAME.txt`),
/// as the finding of `test`.
fn lsan_finding(name: &str, test: Option<&str>) -> leakcheck::sanitizer::Finding {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sanitizer").join(format!("{name}.txt"));
    let capture = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut findings = leakcheck::sanitizer::Parser::parse_log(&capture);
    assert_eq!(findings.len(), 1, "{findings:?}");
    findings[0].test = test.map(str::to_owned);
    findings.remove(0)
}

/// The line of `c/sanitizer/asanext.c` where its `leak()` allocates the block it loses.
fn asanext_leak_line() -> u32 {
    let path = Path::new(leakcheck_fixtures::sanitizer::SOURCE_DIR).join("asanext.c");
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let index = source.lines().position(|l| l.contains("/* MARK alloc_leak */")).expect("the MARK of leak()");
    index as u32 + 1
}

/// LeakSanitizer's report of python3.11-dbg at exit lists the interpreter's own leaks first
/// (17 KB `_PyMem_RawMalloc` blocks whose stack the fast unwinder cuts at `obmalloc.c:101`, or,
/// with the slow unwinder, blocks of `new_keys_object`) and an extension's lost block last. Every
/// writer shows every leak, the extension's first, and points at the extension's line: the text
/// summary, the JUnit failure (read back with junitparser), the issue draft's search, "at" line
/// and excerpt, the annotation's file and line. Two real captures: the run's (no test) at the
/// fast unwinder's stacks, a test's at the slow unwinder's.
#[test]
fn every_leak_of_an_lsan_report_reaches_every_writer_the_extensions_first() {
    let line = asanext_leak_line();
    let mut report = real_report().clone();
    report.sanitizer_findings = vec![
        lsan_finding("python-lsan-asanext-slow", Some("test_leak_raw")),
        lsan_finding("python-lsan-asanext", None),
    ];
    let at_fixture = format!("c/sanitizer/asanext.c:{line}");

    // The text summary: each leak, the extension's first and marked, from its first frame
    // that is not allocator plumbing (`#1 leak`, not `#0 __interceptor_malloc`).
    let text = report.render_text();
    for (n, head) in [(2, "SANITIZER in (no test)"), (4, "SANITIZER in test_leak_raw")] {
        let finding = &text[text.find(head).unwrap_or_else(|| panic!("{head}: {text}"))..];
        let mut all = finding.lines();
        let lines: Vec<&str> =
            all.next().into_iter().chain(all.take_while(|l| l.starts_with("leakcheck:     "))).collect();
        assert!(
            lines[2].starts_with(&format!(
                "leakcheck:     leak {n} of {n}, outside the interpreter: Direct leak of 40 byte(s) in 1 object(s)"
            )),
            "{lines:#?}"
        );
        assert!(lines[3].starts_with("leakcheck:         #1 leak  ") && lines[3].ends_with(&at_fixture), "{lines:#?}");
        for k in 1..n {
            assert!(lines.iter().any(|l| l.starts_with(&format!("leakcheck:     leak {k} of {n}: "))), "{lines:#?}");
        }
        assert!(!lines.iter().any(|l| l.contains("__interceptor_malloc")), "{lines:#?}");
    }
    // The slow unwinder's interpreter leaks start at the interpreter's code, not its allocator.
    assert!(text.contains("leakcheck:         #10 new_keys_object  ../Objects/dictobject.c:632\n"), "{text}");

    // JUnit: the test's failure and the run's, both naming the extension's line first.
    let dir = tempfile::tempdir().expect("temporary directory");
    let (path, _) = junit_of(&report, dir.path());
    assert_schema_valid(&path);
    let junit = python_json(READ_JUNIT, &[&path]);
    for (case_name, leaks) in [("test_leak_raw", 4), (junit::RUN_CASE, 2)] {
        let failures = case(&junit, case_name)["failures"].as_array().cloned().unwrap_or_default();
        let failure = failures.iter().find(|f| f["type"].as_str().is_some_and(|t| t.contains("sanitizer")));
        let failure = failure.unwrap_or_else(|| panic!("{case_name}: {failures:?}"));
        let message = failure["message"].as_str().unwrap_or_default();
        let expected = format!("{leaks} leaks, the first shown allocated at leak (");
        assert!(message.contains(&expected) && message.ends_with(&format!("{at_fixture})")), "{message}");
        let details = failure["text"].as_str().unwrap_or_default();
        let extension = details.find("outside the interpreter: Direct leak of 40 byte(s)");
        let interpreter = details.find(&format!("leak 1 of {leaks}: Direct leak of"));
        assert!(extension.is_some() && extension < interpreter, "{details}");
        assert!(details.contains("#1 leak  ") && details.contains(&at_fixture), "{details}");
    }

    // The drafts: searched by the extension's function, "at" its line, every leak excerpted.
    let drafts = issue_drafts(&report, None, None, &read_python_source);
    let run = drafts.iter().find(|d| d.title == "the test run: LeakSanitizer detected memory leaks");
    let run = run.unwrap_or_else(|| panic!("{:?}", drafts.iter().map(|d| &d.title).collect::<Vec<_>>()));
    let md = read_markdown(&run.markdown);
    let links: Vec<&str> =
        md["links"].as_array().map(|l| l.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    assert_eq!(links, ["https://github.com/python/cpython/issues?q=is%3Aissue+leak"], "{}", run.markdown);
    let code: Vec<&str> =
        md["code"].as_array().map(|c| c.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    assert!(code.contains(&"leak"), "{code:?}");
    assert!(code.iter().any(|c| c.ends_with(&at_fixture)), "the at line: {code:?}");
    let fence = md["fences"][0]["content"].as_str().unwrap_or_default();
    assert!(fence.contains("leak 2 of 2, outside the interpreter: Direct leak of 40 byte(s)"), "{fence}");
    assert!(fence.contains("leak 1 of 2: Direct leak of ") && fence.contains("#1 _PyMem_RawMalloc  "), "{fence}");

    // The annotations: the test's and the run's finding at the extension's line.
    let lines = parse_annotations(&github_annotations(&report));
    let sanitizer: Vec<_> = lines.iter().filter(|(_, m)| m.starts_with("LeakSanitizer")).collect();
    assert_eq!(sanitizer.len(), 2, "{lines:?}");
    for (props, message) in sanitizer {
        assert!(prop(props, "file").is_some_and(|f| f.ends_with("c/sanitizer/asanext.c")), "{props:?}");
        assert_eq!(prop(props, "line"), Some(line.to_string().as_str()), "{props:?} {message}");
    }
}

/// A report of many leaks (python3.11-dbg's 48 at exit, a real capture): the text summary shows
/// the first five and counts the rest; each writer stays one valid document, one command per
/// annotation, with a hostile label and function name.
#[test]
fn an_lsan_report_of_many_leaks_is_bounded_and_escaped() {
    let mut finding = lsan_finding("python-lsan", None);
    let leaks = finding.related.len();
    assert!(leaks > 10, "{leaks}");
    // Every leak is the interpreter's: the first is pointed at its code, past the allocator.
    let mut report = real_report().clone();
    report.sanitizer_findings = vec![finding.clone()];
    let text = report.render_text();
    assert_eq!(text.matches(&format!(" of {leaks}: ")).count(), 5, "{text}");
    assert!(text.contains(&format!("leakcheck:     ... {} more leaks (all in the log", leaks - 5)), "{text}");
    let lines = parse_annotations(&github_annotations(&report));
    let (props, _) = lines.iter().find(|(_, m)| m.starts_with("LeakSanitizer")).expect("the finding's annotation");
    assert_eq!((prop(props, "file"), prop(props, "line")), (Some("../Objects/dictobject.c"), Some("632")));

    finding.related[1].label = "Direct leak <b>\u{1b}[2J\n::error::x".into();
    let hostile = finding.related[0].frames.iter_mut().find(|f| f.function.as_deref() == Some("new_keys_object"));
    hostile.expect("an interpreter frame").function = Some("evil<b>,x:y`\n::warning::z".into());
    report.sanitizer_findings = vec![finding];
    let text = report.render_text();
    assert!(!text.contains(['\u{1b}']) && text.contains(r"<b>\x1b[2J\x0a::error::x"), "{text}");
    let dir = tempfile::tempdir().expect("temporary directory");
    let (path, xml) = junit_of(&report, dir.path());
    assert_well_formed(&xml);
    assert_schema_valid(&path);
    let junit = python_json(READ_JUNIT, &[&path]);
    let details = case(&junit, junit::RUN_CASE)["failures"][0]["text"].as_str().unwrap_or_default().to_owned();
    assert!(details.contains(r"evil<b>,x:y`\x0a::warning::z"), "{details}");
    let annotations = github_annotations(&report);
    assert_eq!(parse_annotations(&annotations).len(), lines.len(), "{annotations}");
}
