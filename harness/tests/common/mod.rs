//! Shared helpers for the integration tests: run the real `leakcheck` binary on real commands.

#![allow(dead_code)] // each test file uses a different subset

pub mod sid;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const LEAKCHECK: &str = env!("CARGO_BIN_EXE_leakcheck");

/// The debug interpreter the fixtures were built for (`scripts/setup.sh` installs it).
pub fn python() -> &'static str {
    leakcheck_fixtures::PYTHON
}

/// A regrtest `--testdir` holding the fixture test modules and the `_leakfix` extension.
pub fn testdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    leakcheck_fixtures::populate_testdir(dir.path()).expect("the C fixtures (run scripts/setup.sh first)");
    dir
}

/// What one leakcheck run produced.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub json: Option<serde_json::Value>,
    pub work: tempfile::TempDir,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn json(&self) -> &serde_json::Value {
        self.json.as_ref().unwrap_or_else(|| panic!("no JSON report; stderr:\n{}", self.stderr))
    }

    /// The report entry of `name`.
    pub fn test(&self, name: &str) -> &serde_json::Value {
        self.json()["tests"]
            .as_array()
            .and_then(|tests| tests.iter().find(|t| t["name"] == name))
            .unwrap_or_else(|| panic!("{name} not in the report:\n{}\nstderr:\n{}", self.json(), self.stderr))
    }

    pub fn log(&self) -> Vec<u8> {
        let path = self.json()["log"].as_str().expect("log path in the report");
        std::fs::read(path).expect("reading the log")
    }
}

/// A child killed when dropped, so that a failing assertion leaves no process behind.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl KillOnDrop {
    /// Take the child's piped stdout and read its first line (with its newline): the child is
    /// ready. The reader, for what comes after.
    pub fn first_line(&mut self) -> (std::io::BufReader<std::process::ChildStdout>, String) {
        use std::io::BufRead;
        let mut stdout = std::io::BufReader::new(self.0.stdout.take().expect("stdout piped"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("reading the child's stdout");
        (stdout, line)
    }
}

/// Wait for `child` at most `limit`; panic (killing it) past that.
pub fn wait_with_limit(child: &mut KillOnDrop, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().expect("waiting for leakcheck") {
            return status;
        }
        assert!(start.elapsed() < limit, "leakcheck did not finish within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run `leakcheck [extra...] --json WORK/report.json -- command...` to completion.
pub fn leakcheck(extra: &[&str], command: &[&str]) -> Run {
    leakcheck_in(None, extra, command, &[])
}

/// Like [`leakcheck`], in directory `cwd` and with environment `env`.
pub fn leakcheck_in(cwd: Option<&Path>, extra: &[&str], command: &[&str], env: &[(&str, &str)]) -> Run {
    leakcheck_wrapped(&[], cwd, extra, command, env)
}

/// Like [`leakcheck_in`], leakcheck started by `wrapper` (e.g. `setpriv ... --`) when not empty.
pub fn leakcheck_wrapped(
    wrapper: &[&str],
    cwd: Option<&Path>,
    extra: &[&str],
    command: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let work = tempfile::tempdir().expect("creating a temporary directory");
    let json_path = work.path().join("report.json");
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(LEAKCHECK);
            cmd
        }
        None => Command::new(LEAKCHECK),
    };
    cmd.args(extra).arg("--json").arg(&json_path).arg("--").args(command);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::null());
    cmd.current_dir(cwd.unwrap_or(work.path()));
    // The run directory (and the command's temporary files) go into WORK, removed with the run,
    // rather than piling up in /tmp; a test's own TMPDIR in `env` wins.
    cmd.env("TMPDIR", work.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = KillOnDrop(cmd.spawn().expect("starting leakcheck"));
    let mut stdout_pipe = child.0.stdout.take().expect("stdout");
    let mut stderr_pipe = child.0.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut buf);
        buf
    });
    let status = wait_with_limit(&mut child, Duration::from_secs(600));
    let stdout = out_reader.join().expect("stdout reader");
    let stderr = String::from_utf8_lossy(&err_reader.join().expect("stderr reader")).into_owned();
    let json = std::fs::read(&json_path).ok().map(|bytes| {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("invalid JSON report: {e}\nstderr:\n{stderr}"))
    });
    Run { status, stdout, stderr, json, work }
}

/// `leakcheck --json WORK/report.json --log WORK/log [extra...] -- command... >WORK/out 2>&1`,
/// in WORK with `env`: its stdout and stderr one file, as in a CI log. The run, with the file's
/// bytes as `stdout` (and, lossily, `stderr`).
pub fn leakcheck_into_one_file(extra: &[&str], command: &[&str], env: &[(&str, &str)]) -> Run {
    let work = tempfile::tempdir().unwrap();
    let out = std::fs::File::create(work.path().join("out")).unwrap();
    let err = out.try_clone().unwrap();
    let mut child = KillOnDrop(
        Command::new(LEAKCHECK)
            .arg("--json")
            .arg(work.path().join("report.json"))
            .arg("--log")
            .arg(work.path().join("log"))
            .args(extra)
            .arg("--")
            .args(command)
            .current_dir(work.path())
            .env("TMPDIR", work.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap(),
    );
    let status = wait_with_limit(&mut child, Duration::from_secs(120));
    let stdout = std::fs::read(work.path().join("out")).unwrap();
    let json = std::fs::read(work.path().join("report.json")).ok().map(|b| serde_json::from_slice(&b).unwrap());
    Run { status, stderr: String::from_utf8_lossy(&stdout).into_owned(), stdout, json, work }
}

/// Without leakcheck's own lines (`leakcheck: ...`, each on a line of its own).
pub fn without_leakchecks_lines(output: &[u8]) -> Vec<u8> {
    output
        .split_inclusive(|&b| b == b'\n')
        .filter(|line| !line.starts_with(b"leakcheck: "))
        .flatten()
        .copied()
        .collect()
}

/// `python [flags...] -m test -R 3:3 --testdir DIR [tests...]` as an argv: `flags` are the
/// interpreter's (`-E`, `-X dev`), regrtest's own options go in `tests` (`-q`, `-w`).
pub fn regrtest_argv<'a>(testdir: &'a Path, flags: &[&'a str], tests: &[&'a str]) -> Vec<String> {
    let mut argv = vec![python().to_owned()];
    argv.extend(flags.iter().map(|s| s.to_string()));
    argv.extend(["-m", "test", "-R", "3:3", "--testdir"].map(String::from));
    argv.push(testdir.display().to_string());
    argv.extend(tests.iter().map(|s| s.to_string()));
    argv
}

/// `PYTHON -m test --testdir DIR [flags...] [tests...]` as an argv, for any interpreter.
pub fn regrtest_with(python: &str, testdir: &Path, flags: &[&str], tests: &[&str]) -> Vec<String> {
    let mut argv = vec![python.to_owned(), "-m".into(), "test".into(), "--testdir".into(), path_str(testdir)];
    argv.extend(flags.iter().chain(tests).map(|s| s.to_string()));
    argv
}

/// An interpreter a `scripts/build-*.sh` builds once per machine: `$env_var`, else `NAME/python`
/// in `$LEAKCHECK_CACHE` (default `~/.cache/leakcheck`). Panics, naming the fix, when missing:
/// the tests that need it fail rather than skip.
pub fn cached_python(env_var: &str, name: &str, what: &str) -> String {
    let python = std::env::var_os(env_var).map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("LEAKCHECK_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/leakcheck"));
        cache.join(name).join("python")
    });
    assert!(python.exists(), "no {what} at {}: run scripts/setup.sh", python.display());
    path_str(&python)
}

pub fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}

pub fn pathbuf(p: &str) -> PathBuf {
    PathBuf::from(p)
}

/// The text of the fixture source `relative` (a path under `c/`, e.g.
/// `regrtest/test_quiet_sleeper.py`).
pub fn fixture_source(relative: &str) -> String {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../c").join(relative);
    std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("reading {}: {e}", source.display()))
}

/// The 1-based line of the first line holding `needle` in the fixture source `relative` (a path
/// under `c/`, e.g. `regrtest/test_quiet_sleeper.py`).
pub fn source_line(relative: &str, needle: &str) -> u64 {
    let text = fixture_source(relative);
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} in {relative}")) as u64 + 1
}

/// The leak fixtures of `c/regrtest` run on every interpreter: the test, the domain it leaks one
/// block per repetition in, and the function of `c/leakfix.c` that allocates it.
pub const FIXTURE_LEAKS: [(&str, &str, &str); 3] = [
    ("test_leak_raw", "raw", "leak_raw"),
    ("test_leak_mem", "mem", "leak_mem"),
    ("test_leak_object", "obj", "leak_object"),
];

/// `test` (a report's test) leaked, one block per counted repetition in `domain`, and no other
/// domain leaked.
pub fn assert_leaked_only_in(test: &serde_json::Value, domain: &str) {
    let name = &test["name"];
    assert_eq!(test["leaked"], true, "{test}");
    assert_eq!(test["domains"][domain]["blocks"], serde_json::json!([1, 1, 1]), "{test}");
    for other in ["raw", "mem", "obj"].into_iter().filter(|d| *d != domain) {
        assert_eq!(test["domains"][other]["leaked"], false, "{name} {other}: {test}");
    }
}

/// `test_leak_raw_nogil`'s report (`test`): two raw sites at `leak_raw_nogil`, one block per
/// counted repetition each, whose Python frames are the two lines that call it, the test
/// method's and the thread function's, although the blocks were allocated with the GIL released.
pub fn assert_sites_without_the_gil_have_python_frames(test: &serde_json::Value) {
    let source = fixture_source("regrtest/test_leak_raw_nogil.py");
    let calls: Vec<usize> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("_leakfix.leak_raw_nogil()"))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(calls.len(), 2, "the fixture calls it twice");
    let sites = test["leak_sites"].as_array().unwrap_or_else(|| panic!("leak_sites: {test}"));
    let mut frames: Vec<(String, u64)> = sites
        .iter()
        .filter(|s| s["frames"][0]["function"] == "leak_raw_nogil")
        .map(|s| {
            assert_eq!(s["domain"], "raw", "{test}");
            assert_eq!(s["blocks"], serde_json::json!([1, 1, 1]), "{test}");
            let python = &s["python_frame"];
            assert!(python["file"].as_str().unwrap_or("").ends_with("/test_leak_raw_nogil.py"), "{test}");
            (python["function"].as_str().unwrap_or("").to_owned(), python["line"].as_u64().unwrap_or(0))
        })
        .collect();
    frames.sort();
    assert_eq!(
        frames,
        [("LeakTest.test_leak_raw_nogil".to_owned(), calls[1] as u64), ("leak_in_thread".to_owned(), calls[0] as u64)],
        "{test}"
    );
}

/// `test_leak_unicode_names` of `run`, run from a test directory named `dir_name` (text CPython
/// keeps as a 2- or 4-byte string): each of its three sites has the Python frames of the
/// function that called into `_leakfix` and of the test method, file and function read whole
/// (`日本語` UCS-2, `𠀀𠀁` UCS-4, the class `試験` UCS-2), but the function named in 1400
/// three-byte characters, cut at 4096 bytes of UTF-8 before the character that would not fit
/// (1365 of them); the text summary shows them as they are.
pub fn assert_python_frames_named_beyond_latin1(run: &Run, dir_name: &str) {
    let test = run.test("test_leak_unicode_names");
    let module = "regrtest/test_leak_unicode_names.py";
    let file = format!("/{dir_name}/test_leak_unicode_names.py");
    let sites = test["leak_sites"].as_array().unwrap_or_else(|| panic!("leak_sites: {test}"));
    for (c_function, function, call, caller) in [
        ("leak_raw", "日本語".to_owned(), "_leakfix.leak_raw()", "        日本語()"),
        ("leak_mem", "𠀀𠀁".to_owned(), "_leakfix.leak_mem()", "        𠀀𠀁()"),
        ("leak_raw_n", "名".repeat(1365), "_leakfix.leak_raw_n(1)", "        _long_name()"),
    ] {
        let site = sites
            .iter()
            .find(|s| s["frames"][0]["function"] == c_function)
            .unwrap_or_else(|| panic!("no site at {c_function}: {test}"));
        assert_eq!(site["blocks"], serde_json::json!([1, 1, 1]), "{site}");
        let frames = &site["python_frames"];
        let expected = [
            (function.as_str(), source_line(module, call)),
            ("試験.test_leak_unicode_names", source_line(module, caller)),
        ];
        for (i, (function, line)) in expected.into_iter().enumerate() {
            assert_eq!(frames[i]["function"], function, "{c_function}, frame {i}: {site}");
            assert!(frames[i]["file"].as_str().unwrap_or("").ends_with(&file), "{c_function}, frame {i}: {site}");
            assert_eq!(frames[i]["line"], line, "{c_function}, frame {i}: {site}");
        }
        assert_eq!(site["python_frame"], frames[0], "{site}");
    }
    for function in ["日本語", "𠀀𠀁", "試験.test_leak_unicode_names"] {
        let shown = format!("python: {function} (");
        let line = run.stderr.lines().find(|l| l.contains(&shown)).unwrap_or_else(|| panic!("{shown}: {}", run.stderr));
        assert!(line.contains(&format!("{file}:")), "{line}");
    }
    assert_eq!(run.json()["warnings"], serde_json::json!([]), "{}", run.stderr);
}
