//! The report files and annotations through the real binary's flags (`--junit-xml`,
//! `--issue-draft`, `--builder`/`--branch` and their environment variables, `--annotations
//! github`), and what they hold when buildbot stops the step with SIGTERM in the middle of a
//! test. What each writer puts in its output is tested, with real parsers, in `reports.rs`.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    as_strs, leakcheck_in, leakcheck_wrapped, regrtest_argv, testdir, wait_with_limit, KillOnDrop, LEAKCHECK,
};
use quick_xml::events::{BytesStart, Event};
use quick_xml::XmlVersion;

/// The `(name, failure types)` of every `<testcase>` of a JUnit document; panics on XML that
/// is not well formed.
fn junit_cases(path: &Path) -> Vec<(String, Vec<String>)> {
    let xml = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut cases: Vec<(String, Vec<String>)> = Vec::new();
    let mut depth = 0usize;
    loop {
        match reader.read_event().unwrap_or_else(|e| panic!("malformed JUnit XML: {e}\n{xml}")) {
            Event::Start(e) => {
                depth += 1;
                element(&mut cases, &e);
            }
            Event::Empty(e) => element(&mut cases, &e),
            Event::End(_) => depth -= 1,
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "unclosed elements:\n{xml}");
    cases
}

fn element(cases: &mut Vec<(String, Vec<String>)>, e: &BytesStart<'_>) {
    let attr = |name: &str| -> String {
        e.attributes()
            .flatten()
            .find(|a| a.key.into_inner() == name)
            .map(|a| a.normalized_value(XmlVersion::Explicit1_0).expect("attribute value").into_owned())
            .unwrap_or_default()
    };
    match e.name().into_inner() {
        "testcase" => cases.push((attr("name"), Vec::new())),
        "failure" => cases.last_mut().expect("failure inside a testcase").1.push(attr("type")),
        _ => {}
    }
}

#[test]
fn junit_drafts_and_annotations_are_written_where_the_flags_say() {
    let dir = testdir();
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("junit.xml");
    let drafts = out.path().join("drafts/nested");
    let argv = regrtest_argv(dir.path(), &[], &["test_leak_raw", "test_balanced"]);
    let run = leakcheck_in(
        None,
        &[
            "--junit-xml",
            junit.to_str().unwrap(),
            "--issue-draft",
            drafts.to_str().unwrap(),
            "--builder",
            "AMD64 Debian leakcheck",
            "--annotations",
            "github",
        ],
        &as_strs(&argv),
        &[("LEAKCHECK_BRANCH", "3.11"), ("LEAKCHECK_BUILDER", "overridden by --builder")],
    );
    assert_eq!(run.code(), Some(101), "{}", run.stderr);

    let cases = junit_cases(&junit);
    let case = |name: &str| cases.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name}: {cases:?}"));
    assert_eq!(case("test_leak_raw").1, ["leak"]);
    assert!(case("test_balanced").1.is_empty(), "{cases:?}");

    // One draft, for the one failing test, titled with the builder of the flag and the branch
    // of the environment.
    let files: Vec<_> = std::fs::read_dir(&drafts)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(drafts.join(".leakcheck-drafts.txt").is_file(), "the list of the drafts written");
    let draft = std::fs::read_to_string(&files[0]).unwrap();
    // The title line is the plain title, as GitHub's title field takes it.
    let title = draft.lines().next().unwrap();
    assert!(title.starts_with("# test_leak_raw "), "{title}");
    assert!(title.ends_with(" on AMD64 Debian leakcheck 3.11"), "{title}");

    // Annotations come after the child's output on stdout, pointing at the fixture's line.
    let stdout = String::from_utf8_lossy(&run.stdout);
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::error ")).collect();
    assert!(!annotations.is_empty(), "{stdout}");
    assert!(annotations.iter().any(|l| l.contains("leakfix.c,line=")), "{annotations:?}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("::error "), "annotations end the output: {last}");
}

/// A Python-level leak in a test under a non-ASCII directory (its path and its class name in
/// UCS-2 text, which the shim reads since it encodes such strings itself): the outputs point at
/// the test's line, not at the C line of the object's allocation. (A frame whose file could not
/// be read, `?`, is never a location: `report::junit`'s unit tests.)
#[test]
fn a_python_leak_under_a_non_ascii_directory_points_at_the_tests_line() {
    let out = tempfile::tempdir().unwrap();
    let testdir = out.path().join("тест");
    std::fs::create_dir(&testdir).unwrap();
    let module = "import unittest\nKEEP = []\nclass Тест(unittest.TestCase):\n    def test_grow(self):\n        KEEP.append(object())\n";
    std::fs::write(testdir.join("test_leaku.py"), module).unwrap();
    let drafts = out.path().join("drafts");
    let argv = regrtest_argv(&testdir, &[], &["test_leaku"]);
    let run = leakcheck_in(
        None,
        &["--issue-draft", drafts.to_str().unwrap(), "--annotations", "github"],
        &as_strs(&argv),
        &[],
    );
    assert_eq!(run.code(), Some(2), "regrtest's own status: {}", run.stderr);
    let site = &run.test("test_leaku")["leak_sites"][0];
    let file = common::path_str(&testdir.join("test_leaku.py"));
    assert_eq!(
        site["python_frame"],
        serde_json::json!({"file": file, "function": "Тест.test_grow", "line": 5}),
        "{site}"
    );

    let stdout = String::from_utf8_lossy(&run.stdout);
    let annotation = stdout.lines().find(|l| l.starts_with("::error ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(annotation.contains("тест/test_leaku.py,line=5"), "{annotation}");
    let message = annotation.split("%0A").next().unwrap_or_default();
    assert!(message.contains("; allocated at Тест.test_grow ("), "{message}");

    let draft = std::fs::read_to_string(drafts.join("test_leaku.md")).unwrap();
    assert!(draft.contains("test_leaku.py:5"), "{draft}");
    assert!(!draft.contains("`?:5`") && !draft.contains("is:issue ?`"), "{draft}");
}

#[test]
fn no_drafts_and_no_annotations_for_a_clean_run_but_the_draft_directory() {
    let dir = testdir();
    let out = tempfile::tempdir().unwrap();
    let drafts = out.path().join("drafts");
    let argv = regrtest_argv(dir.path(), &[], &["test_balanced"]);
    let run = leakcheck_in(
        None,
        &["--issue-draft", drafts.to_str().unwrap(), "--annotations", "github"],
        &as_strs(&argv),
        &[],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    // No failing test, no draft; the directory is there all the same, for a build step that
    // uploads it, with the (empty) list of the drafts written.
    let files: Vec<String> =
        std::fs::read_dir(&drafts).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(files, [".leakcheck-drafts.txt"]);
    assert!(!String::from_utf8_lossy(&run.stdout).contains("::error"));
}

#[test]
fn annotations_and_the_summary_start_their_own_line_after_output_without_a_newline() {
    let script = "echo 'u.c:1:2: runtime error: division by zero' >&2; printf out-tail; printf err-tail >&2";
    let run = leakcheck_in(None, &["--annotations", "github"], &["sh", "-c", script], &[]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.starts_with("out-tail\n::error "), "{stdout}");
    assert!(run.stderr.contains("err-tail\nleakcheck: "), "{}", run.stderr);
}

/// With stdout and stderr one file (`2>&1`), a stdout left without its newline is the line the
/// summary (on stderr) would continue: it starts a line of its own, and so do annotations.
#[test]
fn the_summary_starts_its_own_line_when_stdout_and_stderr_are_one_file() {
    let work = tempfile::tempdir().unwrap();
    let both = work.path().join("both.out");
    for annotations in [false, true] {
        let file = std::fs::File::create(&both).unwrap();
        let mut cmd = Command::new(LEAKCHECK);
        if annotations {
            cmd.args(["--annotations", "github"]);
        }
        let script = if annotations {
            "echo 'u.c:1:2: runtime error: division by zero' >&2; sleep 0.3; printf progress:"
        } else {
            "printf progress:"
        };
        let status = cmd
            .args(["--", "sh", "-c", script])
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .status()
            .expect("running leakcheck");
        let text = std::fs::read_to_string(&both).unwrap();
        assert_eq!(status.code(), Some(if annotations { 103 } else { 0 }), "{text}");
        assert!(text.contains("progress:\nleakcheck: "), "{text}");
        assert!(!text.contains("\n\n::error"), "no empty line before the annotation: {text}");
    }
}

/// A command that stops the runner's workflow commands (on either stream) would hide every
/// annotation: leakcheck resumes them with the token first, unless the command did.
#[test]
fn annotations_resume_workflow_commands_the_command_stopped() {
    let finding = "echo 'u.c:1:2: runtime error: division by zero' >&2";
    let annotations = |script: &str| {
        let run = leakcheck_in(None, &["--annotations", "github"], &["sh", "-c", script], &[]);
        let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
        let at = stdout.find("::error ").unwrap_or_else(|| panic!("no annotation: {stdout}"));
        stdout[..at].to_owned()
    };
    for stop in ["echo ::stop-commands::pause123", "echo '  ::stop-commands::pause123' >&2"] {
        let before = annotations(&format!("{stop}; {finding}"));
        assert_eq!(before.lines().last(), Some("::pause123::"), "{stop}: {before}");
    }
    let before = annotations(&format!("echo ::stop-commands::pause123; {finding}; echo ::PAUSE123::"));
    assert!(!before.contains("::pause123::"), "resumed by the command already: {before}");
    assert!(!annotations(finding).contains("::"), "nothing stopped, nothing to resume");
}

/// A report file in a directory not made yet is written there, the directories made.
#[test]
fn a_report_path_in_a_missing_directory_is_made() {
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("no-such-dir/deeper/junit.xml");
    let run = leakcheck_in(None, &["--junit-xml", junit.to_str().unwrap()], &["true"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let xml = std::fs::read_to_string(&junit).expect("the JUnit XML in the directory made for it");
    assert!(xml.contains("<testsuites"), "{xml}");
}

/// A report path that cannot be written is found at set-up: the command does not run, and the
/// other reports are written, saying why.
#[test]
fn an_unwritable_report_path_is_an_error_but_the_other_outputs_are_written() {
    let out = tempfile::tempdir().unwrap();
    // A directory cannot be made under a regular file.
    std::fs::write(out.path().join("a-file"), "").unwrap();
    let junit = out.path().join("a-file/junit.xml");
    let run = leakcheck_in(None, &["--junit-xml", junit.to_str().unwrap()], &["true"], &[]);
    assert_eq!(run.code(), Some(70), "{}", run.stderr);
    assert!(run.stderr.contains("writing the JUnit XML report"), "{}", run.stderr);
    // Found before the command starts: it does not run, and the JSON report says why.
    let status = &run.json()["status"];
    assert_eq!(status["exit_code"], serde_json::Value::Null, "the command did not run: {status}");
    assert!(status["error"].as_str().unwrap_or("").contains("a-file is not a directory"), "{status}");
    assert_eq!(status["leakcheck_exit_code"], 70, "with the status leakcheck exits with");

    // The other way round: the JUnit XML written says 70 too.
    let junit = out.path().join("junit.xml");
    let run = Command::new(LEAKCHECK)
        .args(["--json", out.path().join("a-file/r.json").to_str().unwrap()])
        .args(["--junit-xml", junit.to_str().unwrap(), "--", "true"])
        .stdin(Stdio::null())
        .output()
        .expect("running leakcheck");
    assert_eq!(run.status.code(), Some(70), "{}", String::from_utf8_lossy(&run.stderr));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(r#"<property name="leakcheck_exit_code" value="70"/>"#), "{xml}");
}

/// Report files honour the umask as any tool's output does (not 0600), and `/dev/stdout` (a
/// pipe here) is written in place.
#[test]
fn report_files_are_ordinary_output_files() {
    let out = tempfile::tempdir().unwrap();
    let junit = out.path().join("junit.xml");
    let umask = ["sh", "-c", "umask 027 && exec \"$@\"", "sh"];
    let run = leakcheck_wrapped(&umask, None, &["--junit-xml", junit.to_str().unwrap()], &["true"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&junit), 0o640);
    assert_eq!(mode(&run.work.path().join("report.json")), 0o640);

    let run = Command::new(LEAKCHECK)
        .args(["--json", "/dev/stdout", "--", "true"])
        .stdin(Stdio::null())
        .output()
        .expect("running leakcheck");
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).expect("the JSON report on stdout");
    assert_eq!(report["status"]["exit_code"], 0);
}

/// A `--log` the user chose is an output file as the reports are: in directories made for it,
/// with 0666 less the umask; the default log, in the private run directory, stays 0600.
#[test]
fn a_chosen_log_is_made_as_the_reports_are() {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("no-such-dir/deeper/x.log");
    let umask = ["sh", "-c", "umask 027 && exec \"$@\"", "sh"];
    let run = leakcheck_wrapped(&umask, None, &["--log", log.to_str().unwrap()], &["echo", "hi"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&log).expect("the log in the directory made for it"), "hi\n");
    assert_eq!(run.json()["log"], log.to_str().unwrap());
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&log), 0o640);
    assert_eq!(mode(log.parent().unwrap()), 0o750);

    let run = leakcheck_wrapped(&umask, None, &[], &["echo", "hi"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let default = Path::new(run.json()["log"].as_str().expect("the log's path")).to_owned();
    assert_eq!(mode(&default), 0o600, "{}", default.display());
    std::fs::remove_dir_all(default.parent().unwrap()).unwrap();
}

/// What a run stopped by a signal in the middle of `test_quiet_sleeper` left.
struct Stopped {
    status: std::process::ExitStatus,
    stderr: String,
    report: serde_json::Value,
    junit: std::path::PathBuf,
    _out: tempfile::TempDir,
}

/// Who gets the signal that stops the run.
#[derive(Clone, Copy, PartialEq)]
enum To {
    /// leakcheck, as from buildbot or a terminal.
    Leakcheck,
    /// The command (regrtest's main process), from outside: the OOM killer, an impatient user.
    Command,
}

/// leakcheck writing `json` and `junit` (a grace of 5 s) over `argv`, whose sleeper fixture
/// sleeps 600 s, its stderr piped and its stdout as given: to be signalled mid-run.
fn reporting_sleeper_run(
    json: &std::path::Path,
    junit: &std::path::Path,
    argv: &[String],
    stdout: Stdio,
) -> KillOnDrop {
    KillOnDrop(
        Command::new(LEAKCHECK)
            .args(["--grace", "5", "--json"])
            .arg(json)
            .arg("--junit-xml")
            .arg(junit)
            .arg("--")
            .args(argv)
            .env("LEAKCHECK_FIXTURE_SLEEP", "600")
            .stdout(stdout)
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// Run `test_leak_raw` then `test_quiet_sleeper` (600 s) under leakcheck, sequentially (then
/// `test_balanced`, which never starts) or with `-j 2` (`jobs`), send `signal` to `to` once the
/// sleeper sleeps in its repetitions, and check that the log has everything the terminal got.
fn stop_in_the_middle_of_a_test(signal: i32, jobs: bool, to: To) -> Stopped {
    let dir = testdir();
    let out = tempfile::tempdir().unwrap();
    let (json, junit) = (out.path().join("r.json"), out.path().join("j.xml"));
    let mut argv = regrtest_argv(dir.path(), &[], &["test_leak_raw", "test_quiet_sleeper"]);
    if jobs {
        // After `python -m test`.
        argv.splice(3..3, ["-j".to_owned(), "2".to_owned()]);
    } else {
        argv.push("test_balanced".to_owned());
    }
    let mut child = reporting_sleeper_run(&json, &junit, &argv, Stdio::piped());
    // Sequentially, the second `beginning 6 repetitions` on stderr: the sleeper is inside its
    // repetitions. With `-j 2` both tests start at once in two workers, and a worker's output
    // comes with its result: test_leak_raw's result line means the sleeper sleeps.
    let (sleeping_tx, sleeping) = std::sync::mpsc::channel();
    let stderr_tx = sleeping_tx.clone();
    let stderr_pipe = BufReader::new(child.0.stderr.take().unwrap());
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in stderr_pipe.lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
            if !jobs && text.matches("beginning 6 repetitions").count() == 2 {
                let _ = stderr_tx.send(());
            }
        }
        text
    });
    let stdout_pipe = BufReader::new(child.0.stdout.take().unwrap());
    let stdout_reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in stdout_pipe.split(b'\n').map_while(Result::ok) {
            if jobs && String::from_utf8_lossy(&line).contains("] test_leak_raw") {
                let _ = sleeping_tx.send(());
            }
            seen.extend_from_slice(&line);
            seen.push(b'\n');
        }
        seen
    });
    sleeping.recv_timeout(Duration::from_secs(120)).expect("test_quiet_sleeper began its repetitions");
    let pid = match to {
        To::Leakcheck => child.0.id() as i32,
        To::Command => {
            let id = child.0.id();
            let children = std::fs::read_to_string(format!("/proc/{id}/task/{id}/children")).unwrap();
            children.split_whitespace().next().expect("leakcheck runs the command").parse().unwrap()
        }
    };
    // SAFETY: plain kill(2) on our own child or its only child.
    unsafe { libc::kill(pid, signal) };
    let seen = stdout_reader.join().unwrap();
    let status = wait_with_limit(&mut child, Duration::from_secs(120));
    let stderr = stderr_reader.join().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();

    // The log has everything the terminal got from the child.
    let log = std::fs::read(report["log"].as_str().unwrap()).unwrap();
    let seen_text = String::from_utf8_lossy(&seen);
    let log_text = String::from_utf8_lossy(&log);
    for line in seen_text.lines().filter(|l| !l.is_empty()) {
        assert!(log_text.contains(line), "{line:?} missing from the log");
    }
    Stopped { status, stderr, report, junit, _out: out }
}

/// buildbot stops a step with SIGTERM (and SIGKILL 30 s later). A test that was running when
/// it came is cut short; the tests before it keep their verdicts, and every file is complete.
#[test]
fn sigterm_in_the_middle_of_a_test_leaves_complete_reports_and_log() {
    let stopped = stop_in_the_middle_of_a_test(libc::SIGTERM, false, To::Leakcheck);
    let (report, stderr) = (&stopped.report, &stopped.stderr);
    assert_eq!(stopped.status.code(), Some(101), "the raw leak found before the signal still counts:\n{stderr}");
    assert_eq!(report["status"]["interrupted_by"], "SIGTERM");
    let tests = report["tests"].as_array().unwrap();
    let raw = tests.iter().find(|t| t["name"] == "test_leak_raw").expect("test_leak_raw in the report");
    assert_eq!(raw["leaked"], true);
    let sleeper = tests.iter().find(|t| t["name"] == "test_quiet_sleeper").expect("the interrupted test is listed");
    assert_eq!(sleeper["outcome"], "interrupted", "no result of its own: the run was stopped");
    // The test after it never started; SIGTERM ends regrtest before it lists it as omitted.
    let balanced = tests.iter().find(|t| t["name"] == "test_balanced").expect("the test never started is listed");
    assert_eq!(balanced["outcome"], "not_run", "{stderr}");

    let cases = junit_cases(&stopped.junit);
    assert!(cases.iter().any(|(n, f)| n == "test_quiet_sleeper" && f.is_empty()), "skipped, not failed: {cases:?}");
    assert!(cases.iter().any(|(n, f)| n == "test_balanced" && f.is_empty()), "skipped, not failed: {cases:?}");
    assert!(cases.iter().any(|(n, f)| n == "test_leak_raw" && f.contains(&"leak".to_owned())), "{cases:?}");
    assert!(cases.iter().any(|(n, f)| n == "run" && f.contains(&"run".to_owned())), "{cases:?}");
}

/// Ctrl-C: leakcheck passes SIGINT on, regrtest stops and prints its summary. The test it
/// stopped is `interrupted`, which is no failure of that test: skipped in JUnit.
#[test]
fn sigint_in_the_middle_of_a_test_marks_it_interrupted() {
    let stopped = stop_in_the_middle_of_a_test(libc::SIGINT, false, To::Leakcheck);
    let (report, stderr) = (&stopped.report, &stopped.stderr);
    assert_eq!(stopped.status.code(), Some(101), "the raw leak found before the signal still counts:\n{stderr}");
    assert_eq!(report["status"]["interrupted_by"], "SIGINT");
    assert_eq!(report["summary"]["regrtest_result"], "INTERRUPTED", "{stderr}");
    let tests = report["tests"].as_array().unwrap();
    let sleeper = tests.iter().find(|t| t["name"] == "test_quiet_sleeper").expect("the interrupted test is listed");
    assert_eq!(sleeper["outcome"], "interrupted", "{stderr}");
    let cases = junit_cases(&stopped.junit);
    assert!(cases.iter().any(|(n, f)| n == "test_quiet_sleeper" && f.is_empty()), "{cases:?}");
    let xml = std::fs::read_to_string(&stopped.junit).unwrap();
    assert!(xml.contains(r#"<skipped message="interrupted"#), "{xml}");
    // The test after it never started: regrtest lists it as omitted.
    let balanced = tests.iter().find(|t| t["name"] == "test_balanced").expect("the omitted test is listed");
    assert_eq!(balanced["outcome"], "not_run", "{stderr}");
    assert!(cases.iter().any(|(n, f)| n == "test_balanced" && f.is_empty()), "{cases:?}");
    assert!(xml.contains(r#"<skipped message="not run"#), "{xml}");
}

/// GNU `timeout` in its own process group with leakcheck; on drop, the group gets SIGKILL
/// (leakcheck with it; the command dies with leakcheck).
struct TimeoutGroup(std::process::Child);

impl Drop for TimeoutGroup {
    fn drop(&mut self) {
        // SAFETY: plain killpg(2) of the group our own child leads (`timeout` calls setpgid(0, 0)).
        unsafe { libc::killpg(self.0.id() as i32, libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

/// `timeout -s INT N leakcheck -- python -m test ...` sends SIGINT to leakcheck, then the same
/// SIGINT to its own process group, which holds leakcheck: one request, which leakcheck takes
/// once, not as a second signal (SIGKILL at once, regrtest's summary lost). Read apart or
/// together, which is a race, so several runs. `timeout` is made to time out (its SIGALRM) once
/// regrtest has begun the sleeper's repetitions; `--preserve-status` makes its status
/// leakcheck's.
#[test]
fn timeouts_sigint_to_leakcheck_and_its_group_is_one_request() {
    let dir = testdir();
    let argv = regrtest_argv(dir.path(), &[], &["test_quiet_sleeper"]);
    for run in 0..8 {
        let out = tempfile::tempdir().unwrap();
        let json = out.path().join("r.json");
        let mut timeout = TimeoutGroup(
            Command::new("timeout")
                .args(["--preserve-status", "-s", "INT", "600", LEAKCHECK, "--grace", "30", "--json"])
                .arg(&json)
                .arg("--")
                .args(&argv)
                .env("LEAKCHECK_FIXTURE_SLEEP", "600")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .stdin(Stdio::null())
                .spawn()
                .expect("running GNU timeout"),
        );
        let stdout_pipe = timeout.0.stdout.take().unwrap();
        let stdout_reader = std::thread::spawn(move || std::io::read_to_string(stdout_pipe).unwrap_or_default());
        let mut stderr_lines = BufReader::new(timeout.0.stderr.take().unwrap()).lines().map_while(Result::ok);
        let mut stderr = String::new();
        for line in stderr_lines.by_ref() {
            stderr.push_str(&line);
            stderr.push('\n');
            if line.contains("beginning 6 repetitions") {
                break;
            }
        }
        assert!(stderr.contains("beginning 6 repetitions"), "run {run}: the sleeper never began:\n{stderr}");
        // SAFETY: plain kill(2) on our own child: its timer's signal, as when it runs out.
        unsafe { libc::kill(timeout.0.id() as i32, libc::SIGALRM) };
        stderr.extend(stderr_lines.map(|line| line + "\n"));
        let stdout = stdout_reader.join().unwrap();
        let status = timeout.0.wait().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert!(stdout.contains("Tests result: INTERRUPTED"), "run {run}: regrtest's summary:\n{stdout}\n{stderr}");
        assert_eq!(report["status"]["interrupted_by"], "SIGINT", "run {run}: {stderr}");
        assert_eq!(report["status"]["killed_after_grace"], false, "run {run}: {stderr}");
        assert_eq!(report["summary"]["regrtest_result"], "INTERRUPTED", "run {run}: {stderr}");
        // regrtest's own status for an interrupted run (EXITCODE_INTERRUPTED), through leakcheck.
        assert_eq!(report["status"]["exit_code"], 130, "run {run}: {stderr}");
        assert_eq!(status.code(), Some(130), "run {run}: {stderr}");
        assert!(!stderr.contains("second signal"), "run {run}: {stderr}");
    }
}

/// The same in `-j 2` workers: regrtest names a worker's test only when it is done, so the
/// stopped test is known from its worker's command line. Ctrl-C reaches regrtest once (not
/// again through the `/proc` walk), so it stops its workers and prints its summary.
#[test]
fn signals_in_the_middle_of_a_worker_test_mark_it_interrupted() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let stopped = stop_in_the_middle_of_a_test(signal, true, To::Leakcheck);
        let (report, stderr) = (&stopped.report, &stopped.stderr);
        assert_eq!(stopped.status.code(), Some(101), "the raw leak found before the signal still counts:\n{stderr}");
        let tests = report["tests"].as_array().unwrap();
        let sleeper = tests.iter().find(|t| t["name"] == "test_quiet_sleeper");
        let sleeper = sleeper.unwrap_or_else(|| panic!("the worker's test is listed: {report:#}"));
        assert_eq!(sleeper["outcome"], "interrupted", "{stderr}");
        assert!(tests.iter().any(|t| t["name"] == "test_leak_raw" && t["leaked"] == true), "{report:#}");
        let cases = junit_cases(&stopped.junit);
        assert!(cases.iter().any(|(n, f)| n == "test_quiet_sleeper" && f.is_empty()), "{cases:?}");
        if signal == libc::SIGINT {
            assert_eq!(report["summary"]["regrtest_result"], "INTERRUPTED", "{stderr}");
            assert!(!stderr.contains("Traceback"), "regrtest stopped cleanly:\n{stderr}");
        }
    }
}

/// regrtest's main process killed from outside leaves its `-j` workers behind: leakcheck ends
/// them, and the test each ran is listed (from its command line), with no outcome known.
#[test]
fn a_killed_regrtest_main_leaves_its_workers_tests_listed() {
    let stopped = stop_in_the_middle_of_a_test(libc::SIGKILL, true, To::Command);
    let (report, stderr) = (&stopped.report, &stopped.stderr);
    assert_eq!(report["status"]["signal"], "SIGKILL", "{stderr}");
    let tests = report["tests"].as_array().unwrap();
    let sleeper = tests.iter().find(|t| t["name"] == "test_quiet_sleeper");
    assert_eq!(
        sleeper.unwrap_or_else(|| panic!("the orphaned worker's test is listed: {report:#}"))["outcome"],
        "unknown"
    );
    let leftovers = report["leftover_processes"].as_array().unwrap();
    assert!(leftovers.iter().any(|l| l["command"].as_str().unwrap().contains("test_quiet_sleeper")), "{report:#}");
    assert!(tests.iter().any(|t| t["name"] == "test_leak_raw" && t["leaked"] == true), "{report:#}");
}

/// regrtest's `-j` workers, which had the forwarded SIGTERM too, may still be exiting when
/// regrtest has: they were not left behind, and are not listed as leftovers, whichever of them
/// is faster, run after run.
#[test]
fn workers_ending_on_a_forwarded_sigterm_are_no_leftovers() {
    for _ in 0..4 {
        let stopped = stop_in_the_middle_of_a_test(libc::SIGTERM, true, To::Leakcheck);
        let (report, stderr) = (&stopped.report, &stopped.stderr);
        assert_eq!(report["status"]["interrupted_by"], "SIGTERM", "{stderr}");
        assert_eq!(report["leftover_processes"], serde_json::json!([]), "{stderr}");
    }
}

/// Whether a descendant of `ancestor` has a command line holding all of `parts`.
fn descendant_running(ancestor: u32, parts: &[&str]) -> bool {
    let parent = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
    };
    let Ok(entries) = std::fs::read_dir("/proc") else { return false };
    entries.flatten().filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok()).any(|pid| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if !parts.iter().all(|p| cmdline.contains(p)) {
            return false;
        }
        let mut at = pid;
        for _ in 0..16 {
            match parent(at) {
                Some(p) if p == ancestor => return true,
                Some(p) if p > 1 => at = p,
                _ => return false,
            }
        }
        false
    })
}

/// SIGTERM with `-j` before any test finished: regrtest printed no progress line (a worker's
/// test is named when it is done) and no summary. The worker's test is `interrupted`; the test
/// that never started is `not_run`, as sequentially, in every report.
#[test]
fn sigterm_before_any_worker_test_finished_lists_the_tests_never_started() {
    let dir = testdir();
    let out = tempfile::tempdir().unwrap();
    let (json, junit) = (out.path().join("r.json"), out.path().join("j.xml"));
    let argv = regrtest_argv(dir.path(), &[], &["-j", "1", "test_quiet_sleeper", "test_balanced"]);
    let mut child = reporting_sleeper_run(&json, &junit, &argv, Stdio::null());
    let start = std::time::Instant::now();
    while !descendant_running(child.0.id(), &["--worker-", "test_quiet_sleeper"]) {
        assert!(start.elapsed() < Duration::from_secs(120), "no worker ran test_quiet_sleeper");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Into its repetitions.
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    wait_with_limit(&mut child, Duration::from_secs(120));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["status"]["interrupted_by"], "SIGTERM", "{stderr}");
    let tests = report["tests"].as_array().unwrap();
    let outcome = |name: &str| tests.iter().find(|t| t["name"] == name).map(|t| t["outcome"].clone());
    assert_eq!(outcome("test_quiet_sleeper"), Some("interrupted".into()), "{report:#}");
    assert_eq!(outcome("test_balanced"), Some("not_run".into()), "{report:#}");
    assert_eq!(report["summary"]["tests"], 2, "{report:#}");
    let cases = junit_cases(&junit);
    assert!(cases.iter().any(|(n, f)| n == "test_balanced" && f.is_empty()), "skipped: {cases:?}");
    assert!(stderr.contains("---- leak summary: 2 tests,"), "{stderr}");
}
