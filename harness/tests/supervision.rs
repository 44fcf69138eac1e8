//! Launch and supervision with real processes: output passthrough, the log, exit statuses,
//! signals, leftover processes, bad commands, and the shim's inertness outside Python.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
fn output_reaches_us_unchanged_and_the_log_keeps_it_all() {
    let script = r#"printf 'out\001\377 no newline at first'; printf 'err line\n' >&2; printf '\nsecond\n'; printf 'tail without newline' >&2"#;
    let run = leakcheck(&[], &["sh", "-c", script]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, b"out\x01\xff no newline at first\nsecond\n");
    assert!(run.stderr.contains("err line\ntail without newline"), "{}", run.stderr);
    let log = run.log();
    for piece in [&b"out\x01\xff no newline at first\n"[..], b"second\n", b"err line\n", b"tail without newline"] {
        assert!(log.windows(piece.len()).any(|w| w == piece), "log misses {:?}: {:?}", piece, log);
    }
}

#[test]
fn the_commands_exit_status_is_ours_when_nothing_more_was_found() {
    assert_eq!(leakcheck(&[], &["sh", "-c", "exit 3"]).code(), Some(3));
    assert_eq!(leakcheck(&[], &["true"]).code(), Some(0));
}

#[test]
fn a_command_killed_by_a_signal_gives_128_plus_n_and_keeps_its_output() {
    let run = leakcheck(&[], &["sh", "-c", "echo before; kill -KILL $$"]);
    assert_eq!(run.code(), Some(128 + 9), "{}", run.stderr);
    assert_eq!(run.stdout, b"before\n");
    assert_eq!(run.json()["status"]["signal"], "SIGKILL");
    assert_eq!(run.log(), b"before\n");
    assert!(run.stderr.ends_with("leakcheck: the command was killed by SIGKILL\n"), "{}", run.stderr);
    let run = leakcheck(&[], &["sh", "-c", "kill -SEGV $$"]);
    assert_eq!(run.code(), Some(128 + 11), "{}", run.stderr);
    assert!(run.stderr.contains("leakcheck: the command was killed by SIGSEGV"), "{}", run.stderr);
}

#[test]
fn a_missing_command_is_a_clear_error_with_the_shells_status() {
    let run = leakcheck(&[], &["/nonexistent/python3.11-dbg", "-m", "test"]);
    assert_eq!(run.code(), Some(127));
    assert!(run.stderr.contains("command not found: /nonexistent/python3.11-dbg"), "{}", run.stderr);
    assert_eq!(run.json()["status"]["leakcheck_exit_code"], 127);
    assert!(run.json()["status"]["error"].as_str().unwrap_or("").contains("No such file"), "{}", run.json());
}

/// A script that exists, whose `#!` interpreter does not: exec's ENOENT is the interpreter's,
/// and the error says so (it said `command not found` of the script), by path or found in
/// `$PATH`. The status stays the shell's 127.
#[test]
fn a_script_whose_interpreter_is_missing_names_the_interpreter() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("badinterp.py");
    std::fs::write(&script, "#! /nonexistent/python3 -u\nprint(1)\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let said = "cannot run {}: the interpreter its #! line names was not found: /nonexistent/python3";
    let run = leakcheck(&[], &[script.to_str().unwrap()]);
    assert_eq!(run.code(), Some(127), "{}", run.stderr);
    assert!(run.stderr.contains(&said.replace("{}", script.to_str().unwrap())), "{}", run.stderr);
    assert!(!run.stderr.contains("command not found"), "{}", run.stderr);
    assert_eq!(run.json()["status"]["leakcheck_exit_code"], 127);

    let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default());
    let run = leakcheck_in(None, &[], &["badinterp.py"], &[("PATH", &path)]);
    assert_eq!(run.code(), Some(127), "{}", run.stderr);
    assert!(run.stderr.contains(&said.replace("{}", "badinterp.py")), "{}", run.stderr);
}

/// An empty `$TMPDIR` is unset, as Python's tempfile and mktemp take it: the run directory goes
/// in /tmp, not in the current directory.
#[test]
fn an_empty_tmpdir_is_unset() {
    let cwd = tempfile::tempdir().unwrap();
    let run = leakcheck_in(Some(cwd.path()), &[], &["true"], &[("TMPDIR", "")]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let run_dir = run.json()["run_dir"].as_str().unwrap().to_owned();
    assert!(run_dir.starts_with("/tmp/leakcheck-"), "{run_dir}");
    let left: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    let _ = std::fs::remove_dir_all(&run_dir);
}

#[test]
fn a_file_that_cannot_be_executed_gives_126() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-executable");
    std::fs::write(&file, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = leakcheck(&[], &[file.to_str().unwrap()]);
    assert_eq!(run.code(), Some(126), "{}", run.stderr);
}

#[test]
fn the_command_runs_in_its_own_process_group() {
    let run = leakcheck(&[], &["sh", "-c", "ps -o pid=,pgid= -p $$"]);
    let text = String::from_utf8_lossy(&run.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(fields.len(), 2, "{text}");
    assert_eq!(fields[0], fields[1], "the child leads its own group: {text}");
}

#[test]
fn the_run_directory_is_private_and_the_shim_stays_out_of_non_python_processes() {
    let run = leakcheck(&[], &["bash", "-c", "echo hi; ls /proc/self/fd | wc -l"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with(b"hi\n"));
    let run_dir = std::path::PathBuf::from(run.json()["run_dir"].as_str().unwrap());
    let mode = std::fs::metadata(&run_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let events: Vec<_> = std::fs::read_dir(&run_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("events."))
        .collect();
    assert!(events.is_empty(), "bash must not produce shim records: {events:?}");
    assert!(!run_dir.join("libleakcheck_shim.so").exists(), "the shim copy is removed after the run");
}

#[test]
fn processes_left_behind_are_ended_and_listed() {
    let run = leakcheck(&["--grace", "1"], &["sh", "-c", "sleep 300 & echo $!"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let pid: i32 = String::from_utf8_lossy(&run.stdout).trim().parse().expect("the sleeper's pid");
    let leftovers = run.json()["leftover_processes"].as_array().unwrap().clone();
    assert!(
        leftovers.iter().any(|p| p["pid"] == pid && p["command"].as_str().unwrap_or("").contains("sleep")),
        "{leftovers:?}"
    );
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the sleeper is gone");
}

/// With `--grace 0` a leftover is killed at once, and the end of file of the pipes it held
/// comes with the next poll: no process outside the tree held them, and no warning says one
/// did (each of 10 runs warned so before).
#[test]
fn a_leftover_killed_at_once_does_not_pass_for_an_outsider_holding_the_pipes() {
    for _ in 0..10 {
        let run = leakcheck(&["--grace", "0"], &["sh", "-c", "sleep 30 & exit 0"]);
        assert_eq!(run.code(), Some(0), "{}", run.stderr);
        let leftovers = run.json()["leftover_processes"].to_string();
        assert!(leftovers.contains("sleep 30"), "{leftovers}");
        let warnings = run.json()["warnings"].to_string();
        assert!(!warnings.contains("outside its tree"), "{warnings}");
        assert!(!run.stderr.contains("outside its tree"), "{}", run.stderr);
    }
}

/// A multiprocessing pool whose workers a forkserver forks (with a resource tracker beside
/// it): both helpers are alive when the main process exits, and exit by themselves about 50 ms
/// later, when they see its pipes close. Then, if `argv[1]` is `daemon`, a daemon (double
/// fork, new session, stdio on /dev/null) that does not exit: its pid is printed.
const FORKSERVER_POOL: &str = r#"
import multiprocessing, os, sys
if __name__ == "__main__":
    with multiprocessing.get_context("forkserver").Pool(1) as pool:
        print(pool.map(abs, [-1]), flush=True)
    if sys.argv[1:] == ["daemon"]:
        r, w = os.pipe()
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.write(w, str(os.getpid()).encode())
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.execvp("sleep", ["sleep", "300"])
            os._exit(0)
        os.close(w)
        print(os.read(r, 32).decode(), flush=True)
"#;

/// Run [`FORKSERVER_POOL`] (with `args`) under leakcheck, from a file: the forkserver
/// imports the main module.
fn forkserver_pool(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("pool.py");
    std::fs::write(&script, FORKSERVER_POOL).unwrap();
    let script = script.display().to_string();
    let command: Vec<&str> = [python(), &script].into_iter().chain(args.iter().copied()).collect();
    leakcheck(&[], &command)
}

/// multiprocessing's forkserver and resource tracker, on their way out when the command exits,
/// were not left behind: neither ended nor listed.
#[test]
fn helpers_exiting_by_themselves_after_the_command_are_no_leftovers() {
    let run = forkserver_pool(&[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, b"[1]\n");
    assert_eq!(run.json()["leftover_processes"], serde_json::json!([]), "{}", run.stderr);
    assert!(!run.stderr.contains("ended leftover process"), "{}", run.stderr);
}

/// A daemon that does not exit is left behind, and ended and listed, while the helpers that
/// exit by themselves in the same run are not.
#[test]
fn a_daemon_that_runs_on_is_ended_and_listed_alone() {
    let run = forkserver_pool(&["daemon"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let pid: i32 = stdout.lines().nth(1).and_then(|l| l.parse().ok()).unwrap_or_else(|| panic!("{stdout:?}"));
    let leftovers = run.json()["leftover_processes"].clone();
    assert_eq!(leftovers, serde_json::json!([{"pid": pid, "command": "sleep 300"}]), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("ended leftover process {pid} (sleep 300)")), "{}", run.stderr);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the daemon is gone");
}

/// Start `leakcheck --grace GRACE --json JSON -- sh -c SCRIPT`, stdout and stderr piped, and
/// wait for the script's first line, `ready`.
fn start_ready(script: &str, grace: &str, json: &std::path::Path) -> KillOnDrop {
    let mut child = KillOnDrop(
        Command::new(LEAKCHECK)
            .args(["--grace", grace, "--json"])
            .arg(json)
            .args(["--", "sh", "-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (_stdout, first) = child.first_line();
    assert_eq!(first.trim(), "ready");
    child
}

/// Start leakcheck on `script`, wait for its first stdout line, then send it `signal`.
fn interrupt(script: &str, signal: i32, grace: &str) -> (std::process::ExitStatus, serde_json::Value, String) {
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("r.json");
    let mut child = start_ready(script, grace, &json);
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.0.id() as i32, signal) };
    let status = wait_with_limit(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let report = serde_json::from_slice(&std::fs::read(&json).expect("a report after the signal")).unwrap();
    (status, report, stderr)
}

#[test]
fn sigterm_is_forwarded_to_the_group_and_the_report_still_written() {
    let (status, report, stderr) = interrupt("echo ready; exec sleep 300", libc::SIGTERM, "5");
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{stderr}");
    assert_eq!(report["status"]["interrupted_by"], "SIGTERM");
    assert_eq!(report["status"]["killed_after_grace"], false);
}

/// A daemon the command left behind (its parent gone) before a forwarded SIGTERM ended the
/// tree is a leftover all the same: listed, not lost because the signal ended it.
#[test]
fn a_daemon_left_behind_before_a_sigterm_is_listed() {
    // `ready` only once the daemon is in its own session: a SIGTERM that came while
    // the background subshell was still in the command's group would end it there.
    let script =
        "m=$(mktemp); (setsid sh -c 'echo x > \"$1\"; exec sleep 4322' sh \"$m\" </dev/null >/dev/null 2>&1 &); \
                  while [ ! -s \"$m\" ]; do :; done; rm -f \"$m\"; echo ready; exec sleep 300";
    let (status, report, stderr) = interrupt(script, libc::SIGTERM, "5");
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{stderr}");
    let leftovers = report["leftover_processes"].as_array().cloned().unwrap_or_default();
    let daemon = |p: &&serde_json::Value| p["command"].as_str().is_some_and(|c| c.ends_with("sleep 4322"));
    assert_eq!(leftovers.iter().filter(daemon).count(), 1, "{leftovers:?}: {stderr}");
    assert!(!leftovers.iter().any(|p| p["command"] == "sleep 300"), "the command's own: {leftovers:?}");
    assert!(alive_with("sleep 4322").is_empty(), "the daemon is gone");
}

#[test]
fn a_command_ignoring_sigterm_is_killed_after_the_grace_period() {
    let (status, report, stderr) = interrupt("trap '' TERM; echo ready; while :; do sleep 1; done", libc::SIGTERM, "1");
    assert_eq!(status.code(), Some(128 + libc::SIGKILL), "{stderr}");
    assert_eq!(report["status"]["interrupted_by"], "SIGTERM");
    assert_eq!(report["status"]["killed_after_grace"], true);
}

/// A forwarded SIGINT or SIGHUP that the command catches and goes on from is followed by
/// SIGTERM at the end of the grace period, and SIGKILL only at the end of a second one.
#[test]
fn a_command_going_on_after_sigint_or_sighup_gets_sigterm_before_sigkill() {
    for (signal, name) in [(libc::SIGINT, "INT"), (libc::SIGHUP, "HUP")] {
        let script = format!(
            "trap 'echo got {name} >&2' {name}; trap 'echo got TERM >&2; exit 7' TERM; echo ready; \
             while :; do sleep 0.1; done"
        );
        let (status, report, stderr) = interrupt(&script, signal, "1");
        assert_eq!(status.code(), Some(7), "ended by the SIGTERM: {stderr}");
        let (got, term) = (stderr.find(&format!("got {name}\n")), stderr.find("got TERM\n"));
        assert!(got.is_some() && term.is_some() && got < term, "{stderr}");
        assert_eq!(report["status"]["killed_after_grace"], false, "{stderr}");
    }
    // Deaf to SIGTERM too: SIGKILL at the end of the second grace period.
    let script = "trap 'echo got INT >&2' INT; trap 'echo got TERM >&2' TERM; echo ready; while :; do sleep 0.1; done";
    let started = std::time::Instant::now();
    let (status, report, stderr) = interrupt(script, libc::SIGINT, "1");
    assert_eq!(status.code(), Some(128 + libc::SIGKILL), "{stderr}");
    assert!(started.elapsed() >= Duration::from_secs(2), "two grace periods");
    assert!(stderr.contains("got TERM\n"), "{stderr}");
    assert_eq!(report["status"]["killed_after_grace"], true);
    assert!(stderr.contains("killed by SIGKILL (leakcheck's, at the end of the grace period)"), "{stderr}");
}

/// The command catches SIGINT and goes on (and exits 7 on SIGTERM); once it says it got the
/// SIGINT leakcheck forwarded (leakcheck has read that one), `second` sends leakcheck another
/// signal, given leakcheck's pid.
fn interrupt_again(second: impl FnOnce(i32)) -> (std::process::ExitStatus, serde_json::Value, String) {
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("r.json");
    let script = "trap 'echo got INT >&2' INT; trap 'echo got TERM >&2; exit 7' TERM; echo ready; \
                  while :; do sleep 0.1; done";
    let mut child = start_ready(script, "2", &json);
    let pid = child.0.id() as i32;
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines().map_while(Result::ok);
    let mut stderr = String::new();
    for line in lines.by_ref() {
        stderr.push_str(&line);
        stderr.push('\n');
        if line == "got INT" {
            break;
        }
    }
    assert!(stderr.contains("got INT"), "the command never got the first SIGINT: {stderr}");
    second(pid);
    stderr.extend(lines.map(|line| line + "\n"));
    let status = wait_with_limit(&mut child, Duration::from_secs(60));
    let report = serde_json::from_slice(&std::fs::read(&json).expect("a report after the signal")).unwrap();
    (status, report, stderr)
}

/// One request is one signal: the same SIGINT again from the same process (GNU `timeout` sends
/// it to leakcheck, then to its group, which holds leakcheck), read after the first was acted
/// on, is a copy: the command keeps its grace period and ends by the SIGTERM at its end.
#[test]
fn the_same_signal_again_from_the_same_process_is_no_second_request() {
    // SAFETY: plain kill(2) on our own child.
    let (status, report, stderr) = interrupt_again(|pid| unsafe {
        libc::kill(pid, libc::SIGINT);
    });
    assert_eq!(status.code(), Some(7), "ended by the SIGTERM after the grace period: {stderr}");
    assert_eq!(report["status"]["interrupted_by"], "SIGINT");
    assert_eq!(report["status"]["killed_after_grace"], false, "{stderr}");
    assert_eq!(stderr.matches("got INT\n").count(), 1, "the command got SIGINT once: {stderr}");
    assert!(stderr.contains("got TERM\n"), "{stderr}");
}

/// The same signal from another process (a second `kill` command), or another signal from the
/// same one, is a second request: SIGKILL at once.
#[test]
fn a_second_request_from_another_process_or_with_another_signal_kills_at_once() {
    let other_process = |pid: i32| {
        let killed = Command::new("sh").args(["-c", &format!("kill -INT {pid}")]).status().unwrap();
        assert!(killed.success());
    };
    // SAFETY: plain kill(2) on our own child.
    let another_signal = |pid: i32| unsafe {
        libc::kill(pid, libc::SIGTERM);
    };
    for (what, second) in [("another process", &other_process as &dyn Fn(i32)), ("another signal", &another_signal)] {
        let (status, report, stderr) = interrupt_again(second);
        assert_eq!(status.code(), Some(128 + libc::SIGKILL), "{what}: {stderr}");
        assert_eq!(report["status"]["interrupted_by"], "SIGINT", "{what}");
        assert_eq!(report["status"]["killed_after_grace"], true, "{what}: {stderr}");
        assert!(stderr.contains("at once on a second signal"), "{what}: {stderr}");
    }
}

/// A forwarded SIGTERM that comes within the settle period, once the command has exited, ends
/// what it left behind as one that came before the exit does: a process that exits from it
/// within the grace period, even after the settle period (the child takes 2 s over it), was
/// not left behind. The child says `ready` once its parent, the command, has exited (end of
/// file on a pipe only the parent held); the settle period (1 s) is the margin for our SIGTERM
/// to come.
#[test]
fn a_sigterm_within_the_settle_period_is_a_signal_before_the_exit() {
    let child = "import os, signal, time\n\
                 r, w = os.pipe()\n\
                 if os.fork() == 0:\n\
                 \x20   signal.signal(signal.SIGTERM, lambda *_: (time.sleep(2), os._exit(0)))\n\
                 \x20   os.close(w)\n\
                 \x20   os.read(r, 1)\n\
                 \x20   print('ready', flush=True)\n\
                 \x20   signal.pause()\n";
    let script = format!("exec {} -c \"{child}\"", python());
    let (_, report, stderr) = interrupt(&script, libc::SIGTERM, "10");
    assert_eq!(report["status"]["interrupted_by"], "SIGTERM", "{stderr}");
    assert_eq!(report["status"]["killed_after_grace"], false, "{stderr}");
    assert_eq!(report["leftover_processes"], serde_json::json!([]), "{stderr}");
}

/// leakcheck on `yes` (a command that writes without pause), its stdout piped to us, once
/// the first line came.
fn flood(json: &std::path::Path) -> (KillOnDrop, BufReader<std::process::ChildStdout>) {
    let mut child = KillOnDrop(
        Command::new(LEAKCHECK)
            .args(["--grace", "5", "--json"])
            .arg(json)
            .args(["--", "yes"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (stdout, first) = child.first_line();
    assert_eq!(first, "y\n");
    (child, stdout)
}

#[test]
fn sigterm_ends_a_command_that_writes_without_pause() {
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("r.json");
    let (mut child, mut stdout) = flood(&json);
    let reader = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    let status = wait_with_limit(&mut child, Duration::from_secs(60));
    let _ = reader.join();
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["status"]["interrupted_by"], "SIGTERM");
}

/// leakcheck's stdout a pipe nobody reads (`leakcheck ... | sleep 30`, a stuck log reader):
/// a SIGTERM still ends the command and leakcheck within the grace period, the reports
/// written, and says what of the output it could not write.
#[test]
fn sigterm_ends_leakcheck_while_its_stdout_is_not_read() {
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("r.json");
    let (_reader, writer) = std::io::pipe().unwrap();
    let mut child = KillOnDrop(
        Command::new(LEAKCHECK)
            .args(["--grace", "2", "--json"])
            .arg(&json)
            .args(["--", "yes"])
            .stdout(writer)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Long enough for the pipe, and what leakcheck keeps for it, to fill.
    std::thread::sleep(Duration::from_secs(1));
    let sent = std::time::Instant::now();
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    let status = wait_with_limit(&mut child, Duration::from_secs(30));
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(2 + 3), "leakcheck took {took:?} after the SIGTERM, past --grace");
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["status"]["interrupted_by"], "SIGTERM");
    assert_eq!(report["status"]["killed_after_grace"], false, "yes was blocked writing, and the SIGTERM ended it");
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("our fd 1 was not read"), "{warnings}");
}

/// A stderr nobody reads, with room for the command's output but not for the summary: the
/// report files are written before the summary is printed, so its blocked write cannot keep
/// them from being written.
#[test]
fn the_reports_are_written_before_the_summary_waits_for_stderr() {
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("r.json");
    let (mut reader, writer) = std::io::pipe().unwrap();
    // A pipe holds 64 KiB: the command's 63 000 bytes and leakcheck's first line fit.
    let mut child = KillOnDrop(
        Command::new(LEAKCHECK)
            .arg("--json")
            .arg(&json)
            .args(["--", "python3", "-c", "import sys; sys.stderr.write('x' * 63000)"])
            .stdout(Stdio::null())
            .stderr(writer)
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !json.exists() && std::time::Instant::now() < deadline && child.0.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(json.exists(), "no JSON report while stderr was not read");
    let mut printed = Vec::new();
    reader.read_to_end(&mut printed).unwrap();
    let status = wait_with_limit(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
    let printed = String::from_utf8_lossy(&printed);
    assert!(printed.contains("leakcheck: "), "{}", &printed[printed.len().saturating_sub(500)..]);
}

/// A reader slower than the command: leakcheck waits for it (the command with it), and every
/// byte reaches it once, in order.
#[test]
fn a_slow_reader_gets_every_byte_in_order() {
    let mut child = KillOnDrop(
        Command::new(LEAKCHECK)
            .args(["--", "seq", "1", "300000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = child.0.stdout.take().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        read.extend_from_slice(&buf[..n]);
        if read.len() % (64 * 4096) < 4096 {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert_eq!(wait_with_limit(&mut child, Duration::from_secs(60)).code(), Some(0));
    let expected: String = (1..=300000).map(|i| format!("{i}\n")).collect();
    assert!(read == expected.as_bytes(), "{} bytes read, {} written", read.len(), expected.len());
}

/// A reader slower than the command (one file for stdout and stderr, as in a CI log), and a
/// SIGINT: leakcheck goes on writing what it kept for a second after the command's exit, then
/// drops the rest, and its warning starts a line of its own and counts every byte of the log
/// that the reader did not get.
#[test]
fn after_sigint_a_slow_reader_gets_a_second_more_and_the_warning_counts_what_it_missed() {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Instant;
    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("log");
    let pid_file = work.path().join("pid");
    let (mut reader, writer) = std::io::pipe().unwrap();
    // A pipe of one page: what the reader gets after the command's exit is what leakcheck
    // wrote after it, not what the pipe held.
    // SAFETY: fcntl on a pipe we own.
    assert!(unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) } >= 0);
    let flood = "import os\nopen('pid', 'w').write(str(os.getpid()))\ni = 0\n\
                 while True:\n    os.write(1, b'flood %d ' % i + b'x' * 200 + b'\\n')\n    i += 1\n";
    let mut child = KillOnDrop(
        Command::new(LEAKCHECK)
            .arg("--log")
            .arg(&log)
            .args(["--grace", "5", "--", "python3", "-c", flood])
            .current_dir(work.path())
            .stdin(Stdio::null())
            .stdout(writer.try_clone().unwrap())
            .stderr(writer)
            .spawn()
            .unwrap(),
    );
    // About 80 KB/s: each read, with when it came.
    let got = Arc::new(AtomicUsize::new(0));
    let reads = {
        let got = Arc::clone(&got);
        std::thread::spawn(move || {
            let (mut bytes, mut reads) = (Vec::new(), Vec::new());
            let mut buf = [0u8; 4096];
            loop {
                let n = reader.read(&mut buf).unwrap();
                if n == 0 {
                    return (bytes, reads);
                }
                bytes.extend_from_slice(&buf[..n]);
                reads.push((Instant::now(), bytes.len()));
                got.store(bytes.len(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid = loop {
        assert!(Instant::now() < deadline, "the command never wrote its pid");
        if let Ok(pid) = std::fs::read_to_string(&pid_file).unwrap_or_default().parse::<i32>() {
            break pid;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let command = KillPidfdOnDrop(pidfd_open(pid));
    // What leakcheck read and the reader did not get (the log, minus the page in the pipe)
    // waits for the reader: wait until that is most of what leakcheck keeps (256 KiB).
    loop {
        assert!(Instant::now() < deadline, "leakcheck never kept output for its reader");
        let logged = std::fs::metadata(&log).map_or(0, |m| m.len() as usize);
        if logged >= got.load(Ordering::Relaxed) + 4096 + 192 * 1024 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGINT) };
    assert!(exits_within(&command.0, Duration::from_secs(30)), "the command outlived its SIGINT");
    let exited = Instant::now();
    wait_with_limit(&mut child, Duration::from_secs(60));
    let (read, reads) = reads.join().unwrap();
    let logged = std::fs::read(&log).unwrap();
    let text = String::from_utf8_lossy(&read);
    let warning = "leakcheck: warning: our fd 1 was not read: the last ";
    let at = text.find(warning).unwrap_or_else(|| panic!("no warning:\n{}", &text[text.len().saturating_sub(2000)..]));
    assert!(text[..at].ends_with('\n'), "the warning continues a line: {:?}", &text[at.saturating_sub(100)..at + 100]);
    // The command's bytes the reader got: after leakcheck's first line, up to the newline
    // leakcheck put before its warning, if the command's last line was cut.
    let first_line = if text.starts_with("leakcheck: ") { text.find('\n').unwrap() + 1 } else { 0 };
    let mut mirrored = &read[first_line..at];
    if !logged.starts_with(mirrored) {
        mirrored = &mirrored[..mirrored.len() - 1];
    }
    assert!(logged.starts_with(mirrored), "the reader's copy is not the log's start");
    let before_exit = reads.iter().filter(|(when, _)| *when <= exited).map(|&(_, end)| end).max().unwrap_or(0);
    let after_exit = at.saturating_sub(before_exit);
    assert!(
        after_exit >= 24 * 1024,
        "the reader got about {after_exit} bytes after the command's exit: leakcheck did not wait a second for it"
    );
    let count: usize = text[at + warning.len()..].split(' ').next().unwrap().parse().unwrap();
    assert_eq!(count, logged.len() - mirrored.len(), "{}", &text[at..]);
    assert!(text[at..].contains("bytes of the command's stdout and stderr were not written to it"), "{}", &text[at..]);
}

#[test]
fn a_reader_that_goes_away_gives_the_command_its_broken_pipe() {
    // `leakcheck -- yes | head -1`: as in `yes | head -1`, `yes` dies of SIGPIPE.
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("r.json");
    let (mut child, stdout) = flood(&json);
    drop(stdout);
    let status = wait_with_limit(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(128 + libc::SIGPIPE));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["status"]["signal"], "SIGPIPE");
}

#[test]
fn a_run_that_cannot_be_set_up_still_writes_its_report() {
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("r.json");
    let output = Command::new(LEAKCHECK)
        .arg("--run-dir")
        .arg(work.path())
        .arg("--json")
        .arg(&json)
        .args(["--", "echo", "never"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(70));
    assert!(output.stdout.is_empty(), "the command did not run");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(report["status"]["error"].as_str().is_some_and(|e| e.contains("run directory")), "{report}");
    assert_eq!(report["status"]["leakcheck_exit_code"], 70);
}

#[test]
fn bad_flags_are_a_usage_error() {
    // Each line of clap's message is one of leakcheck's own.
    let own_lines = |out: &std::process::Output| {
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!text.is_empty() && text.lines().all(|l| l.starts_with("leakcheck: ")), "{text}");
        text
    };
    let out = Command::new(LEAKCHECK).args(["--grace", "x", "--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(own_lines(&out).starts_with("leakcheck: error: invalid value 'x' for '--grace"));
    let out = Command::new(LEAKCHECK).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    own_lines(&out);
    let out = Command::new(LEAKCHECK).args(["--json", "-", "--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64), "stdout is the command's: no JSON there");
    let out = Command::new(LEAKCHECK).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exit status:"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("leakcheck: "), "help is not prefixed");
    let out = Command::new(LEAKCHECK).arg("--version").output().unwrap();
    assert_eq!((out.status.code(), &out.stdout[..10]), (Some(0), &b"leakcheck "[..]));
}

/// The two pipes keep no order between them. When the child wrote to both while leakcheck was
/// not looking, the lines are merged by regrtest's structure: what stderr held before the next
/// test's `beginning N repetitions` (a sanitizer report, a leak line) stays with the test
/// before the progress line that announces the next one. The child makes that case happen for
/// sure: it waits until leakcheck has read the first test's lines (both pipes are empty), stops
/// leakcheck, writes a UBSan error of the first test to stderr, the next progress line to
/// stdout and the next test's `beginning` to stderr, and lets it go on.
#[test]
fn lines_written_to_both_pipes_at_once_stay_with_their_tests() {
    let child = r#"
import fcntl, os, signal, struct, sys, termios
def unread(fd):
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
def state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]
leakcheck = os.getppid()
os.write(1, b"0:00:00 load avg: 0.00 [1/2] test_first\n")
os.write(2, b"beginning 6 repetitions\n123456\n")
while unread(1) or unread(2):
    pass
os.kill(leakcheck, signal.SIGSTOP)
while state(leakcheck) != "T":
    pass
os.write(2, b"fixture.c:5:3: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'\n")
os.write(1, b"0:00:01 load avg: 0.00 [2/2] test_second\n")
os.write(2, b"beginning 6 repetitions\n123456\n")
os.kill(leakcheck, signal.SIGCONT)
"#;
    let run = leakcheck(&["--sanitizer", "none"], &["python3", "-c", child]);
    assert_ubsan_error_of_the_first_test(&run);
}

/// The run of a child that wrote a UBSan error between `test_first`'s and `test_second`'s lines.
fn assert_ubsan_error_of_the_first_test(run: &Run) {
    assert_eq!(run.code(), Some(103), "a finding: {}", run.stderr);
    let findings = run.json()["sanitizer_findings"].as_array().cloned().unwrap_or_default();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["kind"], "signed-integer-overflow");
    assert_eq!(findings[0]["test"], "test_first", "{:#}", findings[0]);
    // The second `beginning` is the second test's: regrtest hunted leaks in both, the shim
    // (inert: this is no CPython with -R) measured neither, and the report says so for both.
    for name in ["test_first", "test_second"] {
        let test = run.test(name);
        assert!(test["notes"].to_string().contains("the shim took no measurement"), "{test}");
    }
}

/// With leakcheck's stdout and stderr one file (`2>&1`), the command's two streams are one pipe,
/// as `2>&1` gives the command without leakcheck: the file and the log have its bytes in the
/// order it wrote them, every time, however short and close together its writes are.
#[test]
fn with_stdout_and_stderr_one_file_the_commands_writes_keep_their_order() {
    // Pieces of lines on stdout, their ends on stderr, and whole lines on each, back to back.
    let child = r#"
import os
for i in range(300):
    os.write(1, b"o%d " % i)
    os.write(2, b"e%d\n" % i)
    os.write(2, b"E%d\n" % i)
    os.write(1, b"O%d\n" % i)
"#;
    let work = tempfile::tempdir().unwrap();
    let plain = work.path().join("plain");
    let status = Command::new("sh")
        .args(["-c", r#"exec "$0" -c "$1" >"$2" 2>&1"#, "python3", child])
        .arg(&plain)
        .status()
        .unwrap();
    assert!(status.success());
    let plain = std::fs::read(plain).unwrap();
    assert_eq!(plain.len(), (0..300).map(|i| format!("o{i} e{i}\nE{i}\nO{i}\n").len()).sum::<usize>());
    for round in 0..10 {
        let run = leakcheck_into_one_file(&[], &["python3", "-c", child], &[]);
        assert_eq!(run.code(), Some(0), "{}", run.stderr);
        let got = without_leakchecks_lines(&run.stdout);
        assert!(got == plain, "run {round}: the output differs from the plain run's:\n{}", run.stderr);
        assert!(std::fs::read(run.work.path().join("log")).unwrap() == plain, "run {round}: the log differs");
    }
}

/// Sanitizer reports and regrtest's lines on the one pipe are parsed as on two: the UBSan error
/// written between two tests' lines goes to the test whose lines it follows.
#[test]
fn with_stdout_and_stderr_one_file_a_sanitizer_report_goes_with_its_test() {
    let child = r#"
import os
os.write(1, b"0:00:00 load avg: 0.00 [1/2] test_first\n")
os.write(2, b"beginning 6 repetitions\n123456\n")
os.write(2, b"fixture.c:5:3: runtime error: signed integer overflow: 2147483647 + 1 cannot be represented in type 'int'\n")
os.write(1, b"0:00:01 load avg: 0.00 [2/2] test_second\n")
os.write(2, b"beginning 6 repetitions\n123456\n")
"#;
    let run = leakcheck_into_one_file(&["--sanitizer", "none"], &["python3", "-c", child], &[]);
    assert_ubsan_error_of_the_first_test(&run);
}

/// `pidfd_open(2)`: a descriptor that polls readable once `pid` has exited, whoever its
/// parent is, and that names that process only, whatever pid is reused later.
fn pidfd_open(pid: i32) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    assert!(fd >= 0, "pidfd_open({pid}): {}", std::io::Error::last_os_error());
    // SAFETY: the descriptor was just created and is ours alone.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) }
}

/// Whether the process of `pidfd` exits within `limit`.
fn exits_within(pidfd: &std::os::fd::OwnedFd, limit: Duration) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    let timeout = PollTimeout::try_from(limit).unwrap();
    poll(&mut fds, timeout).unwrap() == 1
}

/// SIGKILL to the process of `pidfd`, if it is still there (a test that failed).
struct KillPidfdOnDrop(std::os::fd::OwnedFd);

impl Drop for KillPidfdOnDrop {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: pidfd_send_signal on a pidfd we own; no siginfo.
        unsafe { libc::syscall(libc::SYS_pidfd_send_signal, self.0.as_raw_fd(), libc::SIGKILL, 0usize, 0u32) };
    }
}

/// buildbot-worker SIGKILLs leakcheck `sigtermTime` after its SIGTERM, or at once without one.
/// The command leads a process group of its own, so nothing of the worker's reaches it: it
/// dies with leakcheck (parent-death signal) instead of running on as an orphan.
#[test]
fn the_command_dies_with_leakcheck() {
    use std::os::unix::process::CommandExt;
    let mut leakcheck = KillOnDrop(
        Command::new(LEAKCHECK)
            .args(["--", "sh", "-c", "echo $$; exec sleep 300"])
            // A group of its own, as under buildbot-worker.
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (_stdout, line) = leakcheck.first_line();
    let pid: i32 = line.trim().parse().unwrap_or_else(|_| panic!("the command's pid: {line:?}"));
    let command = KillPidfdOnDrop(pidfd_open(pid));
    assert!(!exits_within(&command.0, Duration::ZERO), "the command runs");
    leakcheck.0.kill().unwrap();
    leakcheck.0.wait().unwrap();
    assert!(exits_within(&command.0, Duration::from_secs(30)), "the command {pid} outlived leakcheck");
}

/// Compile `source` (C) into `dir` and return the program's path.
fn compile(dir: &std::path::Path, name: &str, source: &str) -> String {
    let (c, program) = (dir.join(format!("{name}.c")), dir.join(name));
    std::fs::write(&c, source).unwrap();
    let status = Command::new("cc").arg("-O1").arg("-o").arg(&program).arg(&c).status().expect("cc");
    assert!(status.success(), "compiling {name}.c");
    program.display().to_string()
}

/// The processes, zombies left out, whose command line contains `needle`.
fn alive_with(needle: &str) -> Vec<i32> {
    let mut alive = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()).unwrap_or("Z");
        if state != "Z" && String::from_utf8_lossy(&cmdline).contains(needle) {
            alive.push(pid);
        }
    }
    alive
}

/// A command that leaves behind, ignoring SIGTERM, 200 idle processes and one that forks
/// without pause (replacing its oldest child, 16 at most): the SIGKILLs of the idle ones,
/// which come first (lower pids), give it the time to fork children that the snapshot of
/// the tree taken just before missed. Everything ends by itself after `argv[1]` seconds.
const FORKER: &str = r#"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void live_until(time_t end) { while (time(NULL) < end) sleep(1); _exit(0); }

int main(int argc, char **argv) {
    time_t end = time(NULL) + atoi(argv[1]);
    signal(SIGTERM, SIG_IGN);
    for (int i = 0; i < 200; i++)
        if (fork() == 0) live_until(end);
    if (fork() == 0) {
        pid_t kids[16] = {0};
        for (int i = 0; time(NULL) < end; i = (i + 1) % 16) {
            if (kids[i] > 0) { kill(kids[i], SIGKILL); waitpid(kids[i], NULL, 0); }
            kids[i] = fork();
            if (kids[i] == 0) live_until(end);
        }
        _exit(0);
    }
    puts("left them behind");
    return 0;
}
"#;

/// Processes forked after the snapshot of the tree that the SIGKILL went to are killed too,
/// and leakcheck does not wait for them to end by themselves while they hold its pipes.
#[test]
fn processes_forked_while_the_tree_is_killed_are_killed_too() {
    let dir = tempfile::tempdir().unwrap();
    let forker = compile(dir.path(), "forker", FORKER);
    let start = std::time::Instant::now();
    let run = leakcheck(&["--grace", "1"], &[&forker, "60"]);
    let took = start.elapsed();
    let alive = alive_with(&forker);
    assert!(alive.is_empty(), "processes of the command outlived leakcheck: {alive:?}");
    assert!(took < Duration::from_secs(30), "leakcheck waited {took:?} for the survivors of SIGKILL");
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.json()["status"]["killed_after_grace"], true);
    let warnings = run.json()["warnings"].to_string();
    assert!(!warnings.contains("survived SIGKILL"), "{warnings}");
}

/// A process outside the tree (here: one this test starts, given the pipes over a Unix socket)
/// may hold the command's pipes open forever: once the tree is gone, leakcheck stops reading
/// them after the grace period, with a warning, instead of waiting.
#[test]
fn pipes_held_by_a_process_outside_the_tree_do_not_hold_leakcheck() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("socket").display().to_string();
    let hold = "import socket, sys\n\
                l = socket.socket(socket.AF_UNIX)\n\
                l.bind(sys.argv[1])\n\
                l.listen(1)\n\
                print('listening', flush=True)\n\
                msg, fds, _, _ = socket.recv_fds(l.accept()[0], 1, 2)\n\
                print(len(fds), flush=True)\n\
                sys.stdin.read()\n";
    let mut holder = KillOnDrop(
        Command::new(python())
            .args(["-W", "ignore", "-c", hold, &socket])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (mut holder_out, mut line) = holder.first_line();
    assert_eq!(line, "listening\n");
    let give_away = "import socket, sys\n\
                     s = socket.socket(socket.AF_UNIX)\n\
                     s.connect(sys.argv[1])\n\
                     socket.send_fds(s, [b'x'], [1, 2])\n\
                     print('given away', flush=True)\n";
    let json = dir.path().join("r.json");
    let mut run = KillOnDrop(
        Command::new(LEAKCHECK)
            .args(["--grace", "1", "--json"])
            .arg(&json)
            .args(["--", python(), "-c", give_away, &socket])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    line.clear();
    holder_out.read_line(&mut line).unwrap();
    assert_eq!(line, "2\n", "the holder got both pipes");
    let status = wait_with_limit(&mut run, Duration::from_secs(60));
    drop(holder.0.stdin.take());
    assert_eq!(status.code(), Some(0));
    let mut stdout = Vec::new();
    run.0.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
    assert_eq!(stdout, b"given away\n");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("by a process outside its tree"), "{warnings}");
}

/// A SIGTERM that comes while leakcheck ends what the command left behind does not push the
/// SIGKILL back: the leftover (which handles SIGTERM by taking 9 s over it) is killed at the
/// end of the grace period that began when the command exited (about 3 s after our SIGTERM),
/// not a grace period after the SIGTERM (12 s): the margin between the two is wide enough for
/// a loaded machine.
#[test]
fn a_sigterm_while_leftovers_are_ended_keeps_their_deadline() {
    let leave_behind = "import os, signal, sys, time\n\
                        r, w = os.pipe()\n\
                        if os.fork() == 0:\n\
                        \x20   def on_term(*_):\n\
                        \x20       time.sleep(9)\n\
                        \x20       print('slept', flush=True)\n\
                        \x20   signal.signal(signal.SIGTERM, on_term)\n\
                        \x20   os.write(w, b'x')\n\
                        \x20   while True:\n\
                        \x20       time.sleep(60)\n\
                        os.read(r, 1)\n";
    let mut child = KillOnDrop(
        Command::new(LEAKCHECK)
            .args(["--grace", "12", "--", python(), "-c", leave_behind])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (_stdout, line) = child.first_line();
    assert_eq!(line, "slept\n", "the leftover handled the SIGTERM leakcheck sent");
    // 9 s of the 12 s grace period are gone.
    let sent = std::time::Instant::now();
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    wait_with_limit(&mut child, Duration::from_secs(60));
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(8), "SIGKILL came {took:?} after the SIGTERM, not about 3 s");
}

/// A wrong `--log` fails the run before anything is installed: the report names the run
/// directory, which holds no copy of the shim.
#[test]
fn a_log_that_cannot_be_created_leaves_no_shim_behind() {
    // A directory cannot be made under a regular file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-file"), "").unwrap();
    let log = dir.path().join("a-file/x.log");
    let run = leakcheck(&["--log", log.to_str().unwrap()], &["echo", "never"]);
    assert_eq!(run.code(), Some(70), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "the command did not run");
    let said = format!("leakcheck: error: setting up the run: creating the log {}", log.display());
    assert!(run.stderr.contains(&said), "{}", run.stderr);
    // The message names the part that is no directory, not mkdir's "File exists".
    let a_file = dir.path().join("a-file");
    assert!(
        run.stderr.contains(&format!("{}: {} is not a directory", log.display(), a_file.display())),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("File exists"), "{}", run.stderr);
    assert_eq!(run.json()["log"], serde_json::Value::Null, "no log: the command did not run");
    let run_dir = std::path::PathBuf::from(run.json()["run_dir"].as_str().unwrap());
    assert!(run_dir.is_dir(), "the report names the run directory: {}", run.json());
    let left: Vec<_> = std::fs::read_dir(&run_dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_dir(&run_dir).unwrap();
}

/// A report file that cannot be written (a directory part that is a regular file, a place
/// in /proc, a directory given as the file, a directory nobody may write) is found before the
/// command starts, as a wrong `--log` is: exit 70, the command never run, a message naming
/// the flag's file and the reason; the check leaves no file behind.
#[test]
fn a_report_that_cannot_be_written_is_refused_before_the_command_starts() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    std::fs::write(at("a-file"), "").unwrap();
    std::fs::create_dir(at("a-dir")).unwrap();
    let ran = at("ran");
    let not_a_dir = format!("{} is not a directory", at("a-file").display());
    let is_a_dir = format!("{} is a directory", at("a-dir").display());
    let cases: [(&str, std::path::PathBuf, &str, &str); 7] = [
        ("--json", at("a-file/r.json"), "the JSON report", &not_a_dir),
        ("--junit-xml", at("a-file/sub/r.xml"), "the JUnit XML report", &not_a_dir),
        ("--issue-draft", at("a-file/drafts"), "the issue draft directory", &not_a_dir),
        ("--issue-draft", at("a-file"), "the issue draft directory", &not_a_dir),
        ("--json", at("a-dir"), "the JSON report", &is_a_dir),
        ("--junit-xml", "/proc/nope/r.xml".into(), "the JUnit XML report", ""),
        // Not writable even by root.
        ("--json", "/proc/self/r.json".into(), "the JSON report", ""),
    ];
    for (flag, path, what, reason) in cases {
        let out = Command::new(LEAKCHECK)
            .arg(flag)
            .arg(&path)
            .arg("--run-dir")
            .arg(at("run"))
            .args(["--", "touch"])
            .arg(&ran)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(70), "{flag} {}: {stderr}", path.display());
        assert!(!ran.exists(), "{flag} {}: the command ran: {stderr}", path.display());
        let said =
            format!("leakcheck: error: setting up the run: {what} {} cannot be written: {reason}", path.display());
        assert!(stderr.contains(&said), "{flag} {}: {stderr}", path.display());
        assert!(!stderr.contains("File exists"), "{stderr}");
        std::fs::remove_dir_all(at("run")).unwrap();
    }
    let mut left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    left.sort();
    assert_eq!(left, ["a-dir", "a-file"], "nothing made");
    assert_eq!(std::fs::read_dir(at("a-dir")).unwrap().count(), 0, "nothing made");

    // A good report next to a bad one is written, with the error, and the check made no file
    // of its own: the JUnit XML file is only there as the report of the run that never was.
    let json = at("new/r.json");
    let junit = at("new/r.xml");
    let out = Command::new(LEAKCHECK)
        .arg("--json")
        .arg(&json)
        .arg("--junit-xml")
        .arg(at("a-file/r.xml"))
        .arg("--run-dir")
        .arg(at("run"))
        .args(["--", "touch"])
        .arg(&ran)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(70));
    assert!(!ran.exists());
    // The report that could not be written is in the run directory.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("written to {} instead", at("run/junit.xml").display())), "{stderr}");
    assert!(at("run/junit.xml").is_file());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(report["status"]["error"].as_str().unwrap().contains(&not_a_dir), "{report}");
    assert!(!junit.exists());
    assert_eq!(std::fs::read_dir(at("new")).unwrap().count(), 1, "no temporary file left: {report}");
}

/// The run directory leakcheck names on its first line.
fn run_dir_of(stderr: &str) -> std::path::PathBuf {
    let line = stderr.lines().find_map(|l| l.strip_prefix("leakcheck: run directory ")).expect(stderr);
    std::path::PathBuf::from(line.split(", log ").next().unwrap())
}

/// A report that still fails at the end (its directory replaced by a file while the command
/// ran, a full disk) is not lost: it is written into the run directory, and the error names
/// that file. The status is 70 where it would be 0, as for any report not written.
#[test]
fn a_report_that_fails_at_the_end_is_written_into_the_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let json = sub.join("r.json");
    let replace_sub = format!("rm -r '{0}' && touch '{0}' && echo ran", sub.display());
    let run = |command: &[&str]| {
        let out = Command::new(LEAKCHECK)
            .arg("--json")
            .arg(&json)
            .args(["--junit-xml", "/dev/full", "--"])
            .args(command)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["sh", "-c", &replace_sub]);
    assert_eq!(stdout, "ran\n", "{stderr}");
    assert_eq!(code, Some(70), "{stderr}");
    let run_dir = run_dir_of(&stderr);
    let saved = run_dir.join("report.json");
    let said = format!(
        "leakcheck: error: writing the JSON report {}: {} is not a directory; written to {} instead",
        json.display(),
        sub.display(),
        saved.display()
    );
    assert!(stderr.contains(&said), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    assert_eq!(report["status"]["leakcheck_exit_code"], 70, "{report}");
    let saved_junit = run_dir.join("junit.xml");
    let said = format!(
        "leakcheck: error: writing the JUnit XML report /dev/full: No space left on device (os error 28); written to {} instead",
        saved_junit.display()
    );
    assert!(stderr.contains(&said), "{stderr}");
    let junit = std::fs::read_to_string(&saved_junit).unwrap();
    assert!(junit.contains(r#"<property name="leakcheck_exit_code" value="70"/>"#), "{junit}");
    std::fs::remove_dir_all(&run_dir).unwrap();

    // A finding's status, or the command's own, stays.
    std::fs::remove_file(&sub).unwrap();
    let (code, _, stderr) = run(&["sh", "-c", "exit 3"]);
    assert_eq!(code, Some(3), "{stderr}");
    let run_dir = run_dir_of(&stderr);
    assert!(stderr.contains(&format!("written to {} instead", run_dir.join("junit.xml").display())), "{stderr}");
    assert!(json.exists(), "{stderr}");
    std::fs::remove_dir_all(&run_dir).unwrap();
}

/// leakcheck's own lines on a stderr that cannot be written (`2>/dev/full`, a closed reader,
/// a closed descriptor) are given up, not a panic (which would exit 101, a leak's status).
#[test]
fn a_stderr_that_cannot_be_written_is_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let full = std::fs::File::create("/dev/full").unwrap();
    let out = Command::new(LEAKCHECK)
        .arg("--json")
        .arg(&json)
        .arg("--run-dir")
        .arg(dir.path().join("run"))
        .args(["--", "echo", "hi"])
        .stdin(Stdio::null())
        .stderr(full.try_clone().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"hi\n");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(&json).unwrap()).unwrap()["status"]["exit_code"],
        0
    );
    // Bad arguments, and a run that cannot be set up, say so to nobody with their status.
    let out = Command::new(LEAKCHECK)
        .args(["--grace", "-1", "--", "true"])
        .stderr(full.try_clone().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    let out =
        Command::new(LEAKCHECK).args(["--bogus", "--", "true"]).stderr(full.try_clone().unwrap()).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let bad = dir.path().join("r.json/x.json");
    let out = Command::new(LEAKCHECK)
        .arg("--json")
        .arg(&bad)
        .arg("--run-dir")
        .arg(dir.path().join("run-bad"))
        .args(["--", "true"])
        .stderr(full.try_clone().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(70));
    // stderr and stdout closed altogether: the command's output and ours go nowhere.
    for (i, closed) in ["2>&-", ">&-", ">&- 2>&-"].into_iter().enumerate() {
        let (json, run_dir) = (json.display(), dir.path().join(format!("run{i}")));
        let script = format!(
            "exec '{LEAKCHECK}' --json '{json}' --run-dir '{}' -- sh -c 'echo out; echo err >&2' {closed}",
            run_dir.display()
        );
        let out = Command::new("sh").args(["-c", &script]).stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{closed}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// `--log FIFO` with nobody reading it: opening it would wait for a reader, without end and
/// deaf to SIGTERM (blocked by then). It is an error instead.
#[test]
fn a_log_fifo_nobody_reads_is_an_error_not_a_wait() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("log.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let json = dir.path().join("r.json");
    let mut child = KillOnDrop(
        Command::new(LEAKCHECK)
            .arg("--log")
            .arg(&fifo)
            .arg("--json")
            .arg(&json)
            .args(["--", "echo", "never"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let status = wait_with_limit(&mut child, Duration::from_secs(30));
    let mut stderr = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(70), "{stderr}");
    assert!(stderr.contains("FIFO with no reader"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(report["status"]["error"].as_str().unwrap().contains("FIFO with no reader"), "{report}");
}

/// A run directory on a file system mounted `noexec` (a hardened `/tmp`) cannot hold the shim:
/// ld.so would refuse it with a line in the output, and a leak would go unseen. leakcheck says
/// so before the command starts; with `--no-shim` there is nothing to preload and the command
/// runs. The tmpfs is mounted in a mount namespace of leakcheck's own (`unshare -m`, root only).
#[test]
fn a_run_directory_on_a_noexec_mount_is_refused_unless_without_the_shim() {
    // SAFETY: geteuid(2) cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a noexec tmpfs needs root");
        return;
    }
    let mount = tempfile::tempdir().unwrap();
    let mount_path = mount.path().display().to_string();
    let run_dir = format!("{mount_path}/run");
    let wrapper = ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o noexec tmpfs \"$0\" && exec \"$@\"", &mount_path];
    let run = leakcheck_wrapped(&wrapper, None, &["--run-dir", &run_dir], &["echo", "ran"], &[]);
    assert_eq!(run.code(), Some(70), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "the command did not run");
    assert!(
        run.stderr.contains(&format!("is on {mount_path}, which is mounted noexec"))
            && run.stderr.contains("--run-dir DIR"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["run_dir"], run_dir.as_str());
    let run = leakcheck_wrapped(&wrapper, None, &["--run-dir", &run_dir, "--no-shim"], &["echo", "ran"], &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, b"ran\n");
}

/// A command that removes LD_PRELOAD from its environment (`env -i`) runs regrtest without
/// the shim: the warning says that this may be why nothing was measured.
#[test]
fn a_command_that_drops_the_shim_is_told_as_a_possible_cause() {
    let dir = testdir();
    let mut argv = vec!["env".to_owned(), "-i".to_owned()];
    argv.extend(regrtest_argv(dir.path(), &[], &["test_balanced"]));
    let run = leakcheck(&[], &as_strs(&argv));
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("the shim measured nothing"), "{warnings}");
    assert!(warnings.contains("or the shim was not loaded (LD_PRELOAD removed by the command"), "{warnings}");
}

/// `regrtest ... test_balanced; then` `what` (a shell command on `$LEAKCHECK_RUN_DIR`), with
/// regrtest's status.
fn regrtest_then(what: &str) -> Run {
    let dir = testdir();
    let regrtest = regrtest_argv(dir.path(), &[], &["test_balanced"]).join(" ");
    let script = format!("{regrtest}; status=$?; {what}; exit $status");
    leakcheck(&[], &["sh", "-c", &script])
}

/// A command that removes the run directory takes the shim's measurements with it, not the
/// rest of the report, nor its own status.
#[test]
fn a_run_directory_removed_by_the_command_costs_only_the_measurements() {
    let run = regrtest_then("rm -r \"$LEAKCHECK_RUN_DIR\"");
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.json()["status"]["error"], serde_json::Value::Null, "{}", run.json());
    assert_eq!(run.test("test_balanced")["outcome"], "passed");
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("could not be read") && warnings.contains("no shim measurements"), "{warnings}");

    // An events file that cannot be read is skipped, and said to be.
    let run = regrtest_then("mkdir \"$LEAKCHECK_RUN_DIR/events.0\"");
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(run.test("test_balanced")["domains"].is_object(), "the other files were read: {}", run.json());
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("events.0 could not be read"), "{warnings}");
}

/// A user's sanitizer options are bytes (a path in a value need not be UTF-8): they reach the
/// command merged with leakcheck's defaults, not dropped.
#[test]
fn sanitizer_options_that_are_not_utf8_are_kept() {
    use std::os::unix::ffi::OsStrExt;
    let options = std::ffi::OsStr::from_bytes(b"strip_path_prefix=/\xff/:handle_segv=1");
    let output = Command::new(LEAKCHECK)
        .args(["--sanitizer", "asan", "--", "sh", "-c", "printf %s \"$ASAN_OPTIONS\""])
        .env("ASAN_OPTIONS", options)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(b"detect_leaks=0:allocator_may_return_null=1:strip_path_prefix=/\xff/:handle_segv=1")
    );
    assert_eq!(output.stdout, b"detect_leaks=0:allocator_may_return_null=1:strip_path_prefix=/\xff/:handle_segv=1");
}

/// Started with SIGHUP ignored (`nohup`), leakcheck leaves it so: a SIGHUP does not end the run
/// (the command, which inherits the disposition, would ignore it too), as without leakcheck.
#[test]
fn a_signal_ignored_at_start_stays_ignored() {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let mut command = Command::new(LEAKCHECK);
    command
        .args(["--grace", "60", "--json"])
        .arg(&json)
        .args(["--", "sh", "-c", "echo ready; read line; echo \"got $line\""])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: signal(2) is async-signal-safe; the closure allocates nothing.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = KillOnDrop(command.spawn().unwrap());
    let (mut stdout, line) = child.first_line();
    assert_eq!(line, "ready\n");
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGHUP) };
    child.0.stdin.take().unwrap().write_all(b"on\n").unwrap();
    let status = wait_with_limit(&mut child, Duration::from_secs(30));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "got on\n");
    assert_eq!(status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["status"]["interrupted_by"], serde_json::Value::Null, "{report:#}");
}

/// A log write that fails (`--log /dev/full`) does not end the run: the command runs to its
/// end, its output mirrored whole, one warning says how much the log got, and the status is the
/// command's own failure, or 70 where it would have been 0.
#[test]
fn a_log_that_fails_to_be_written_is_given_up_not_the_run() {
    let script = "head -c 200000 /dev/zero | tr '\\0' x; echo; sleep 0.5; echo done; exit 3";
    let run = leakcheck(&["--log", "/dev/full"], &["sh", "-c", script]);
    assert_eq!(run.code(), Some(3), "the command's own status: {}", run.stderr);
    assert_eq!(run.stdout.len(), 200_001 + 5, "everything mirrored: {}", run.stderr);
    assert!(run.stdout.ends_with(b"\ndone\n"), "the command ran to its end");
    let report = run.json();
    assert_eq!(report["status"]["error"], serde_json::Value::Null, "{report}");
    assert_eq!(report["status"]["exit_code"], 3);
    let warnings: Vec<&str> = report["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    let log_warnings: Vec<&&str> = warnings.iter().filter(|w| w.starts_with("writing the log: ")).collect();
    assert_eq!(log_warnings.len(), 1, "warned once: {warnings:?}");
    assert!(log_warnings[0].contains("No space left on device") && log_warnings[0].contains("first 0 bytes"));
    assert!(run.stderr.contains("leakcheck: warning: writing the log: No space left"), "{}", run.stderr);
    assert!(run.stderr.contains("leak summary"), "reported: {}", run.stderr);

    let run = leakcheck(&["--log", "/dev/full"], &["echo", "hi"]);
    assert_eq!(run.code(), Some(70), "{}", run.stderr);
    assert_eq!(run.stdout, b"hi\n");
    assert_eq!(run.json()["status"]["leakcheck_exit_code"], 70);
}

/// Our stdout failing otherwise than by its reader going away (`> /dev/full`) loses the
/// command's output: 70 where the status would be 0, as the command itself would have failed
/// writing it; a closed reader (EPIPE) is passed on to the command instead.
#[test]
fn a_stdout_that_cannot_be_written_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let run = |command: &[&str]| {
        Command::new(LEAKCHECK)
            .arg("--json")
            .arg(&json)
            .arg("--")
            .args(command)
            .stdin(Stdio::null())
            .stdout(full.try_clone().unwrap())
            .output()
            .expect("running leakcheck")
    };
    let out = run(&["echo", "x"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(70), "{stderr}");
    assert!(stderr.contains("leakcheck: warning: writing the command's stdout to our fd 1: No space left"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["status"]["exit_code"], 0);
    assert_eq!(report["status"]["leakcheck_exit_code"], 70);
    let out = run(&["sh", "-c", "echo x; exit 4"]);
    assert_eq!(out.status.code(), Some(4), "the command's own failure first");
}

/// A TMPDIR with a space: without the shim the run goes on there; with it, LD_PRELOAD cannot
/// carry the path, so the run is refused (70) and no `leakcheck-*` directory is left behind.
#[test]
fn a_tmpdir_with_a_space_is_refused_only_for_the_shim_and_left_clean() {
    let parent = tempfile::tempdir().unwrap();
    let tmpdir = parent.path().join("with space");
    std::fs::create_dir(&tmpdir).unwrap();
    let tmp = tmpdir.to_str().unwrap();
    let run = leakcheck_in(None, &["--no-shim"], &["echo", "hi"], &[("TMPDIR", tmp)]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, b"hi\n");
    for entry in std::fs::read_dir(&tmpdir).unwrap().flatten() {
        std::fs::remove_dir_all(entry.path()).unwrap();
    }
    let run = leakcheck_in(None, &[], &["echo", "hi"], &[("TMPDIR", tmp)]);
    assert_eq!(run.code(), Some(70), "{}", run.stderr);
    assert!(run.stderr.contains("LD_PRELOAD cannot carry"), "{}", run.stderr);
    let left: Vec<_> = std::fs::read_dir(&tmpdir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
}

/// `--log` and `--json` on one file would overwrite each other: refused as bad arguments.
#[test]
fn the_log_and_the_report_on_one_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let same = dir.path().join("same.out");
    let out = Command::new(LEAKCHECK)
        .arg("--log")
        .arg(&same)
        .arg("--json")
        .arg(&same)
        .args(["--", "echo", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log and --json name the same file"));
}

/// A --run-dir that cannot be created is named with its control characters escaped.
#[test]
fn a_run_dir_error_escapes_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("missing/a\x1b[31mred");
    let out = Command::new(LEAKCHECK).arg("--run-dir").arg(&bad).args(["--", "true"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(70), "{stderr}");
    assert!(stderr.contains("creating the run directory") && !stderr.contains('\x1b'), "{stderr}");
}

/// A run directory that exists already may be another run's: the run is refused, and its
/// reports name no run directory (`""`) and no log rather than the other run's.
#[test]
fn an_existing_run_directory_is_refused_and_not_named_as_this_runs() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    let first = leakcheck(&["--run-dir", &path_str(&run_dir)], &["true"]);
    assert_eq!(first.code(), Some(0), "{}", first.stderr);
    assert_eq!(first.json()["run_dir"], path_str(&std::fs::canonicalize(&run_dir).unwrap()).as_str());
    let second = leakcheck(&["--run-dir", &path_str(&run_dir)], &["echo", "ran"]);
    assert_eq!(second.code(), Some(70), "{}", second.stderr);
    assert!(second.stderr.contains("File exists"), "{}", second.stderr);
    assert!(second.stdout.is_empty(), "the command did not run");
    let json = second.json();
    assert_eq!(json["run_dir"], "", "{json}");
    assert_eq!(json["log"], serde_json::Value::Null, "{json}");
    assert_eq!(json["shim"]["enabled"], false, "{json}");
}

/// A run directory whose path LD_PRELOAD cannot carry is removed again: the reports name none,
/// and say that no shim was preloaded (the command did not start).
#[test]
fn a_run_directory_removed_for_its_path_is_named_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("dir with spaces é 🐍");
    std::fs::create_dir(&parent).unwrap();
    let run = leakcheck(&["--run-dir", &path_str(&parent.join("run"))], &["echo", "ran"]);
    assert_eq!(run.code(), Some(70), "{}", run.stderr);
    assert!(run.stderr.contains("(the empty directory was removed)"), "{}", run.stderr);
    assert!(!parent.join("run").exists());
    let json = run.json();
    assert_eq!(json["run_dir"], "", "{json}");
    assert_eq!(json["log"], serde_json::Value::Null, "{json}");
    assert_eq!(json["shim"]["enabled"], false, "{json}");
    assert!(json["status"]["error"].as_str().unwrap().contains("LD_PRELOAD cannot carry"), "{json}");
}

/// A relative `--log` is named absolute, as the run directory is, wherever the report is read.
#[test]
fn a_relative_log_is_named_absolute() {
    let junit = "j.xml";
    let run = leakcheck(&["--log", "r1/out.log", "--junit-xml", junit], &["echo", "ran"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let log = run.json()["log"].as_str().unwrap().to_owned();
    assert!(std::path::Path::new(&log).is_absolute(), "{log}");
    let expected = std::fs::canonicalize(run.work.path().join("r1/out.log")).unwrap();
    assert_eq!(std::fs::canonicalize(&log).unwrap(), expected);
    assert_eq!(std::fs::read(&log).unwrap(), b"ran\n");
    assert!(run.stderr.contains(&format!(", log {log}\n")), "{}", run.stderr);
    let xml = std::fs::read_to_string(run.work.path().join(junit)).unwrap();
    assert!(xml.contains(&format!(r#"<property name="log" value="{log}"/>"#)), "{xml}");
}

/// `leakcheck ... 2> >(reader)`: bash forks a process substitution's reader before it execs
/// leakcheck, so the reader is leakcheck's child before the command exists. It is not the
/// command's: neither ended (its SIGTERM cut the summary it was writing to a file short) nor
/// listed as left behind. The reader shares our stdout, so the run is over for the helper only
/// once the reader has exited.
#[test]
fn a_process_substitution_reading_our_stderr_is_not_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let err_file = dir.path().join("out.err");
    let script = r#"exec "$0" "$@" 2> >(trap 'echo reader got SIGTERM' TERM; cat > "$ERR_FILE")"#;
    let run = leakcheck_wrapped(
        &["bash", "-c", script],
        None,
        &["--grace", "5"],
        &["sh", "-c", "echo hi"],
        &[("ERR_FILE", &path_str(&err_file))],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hi\n", "the reader got no SIGTERM");
    assert_eq!(run.json()["leftover_processes"], serde_json::json!([]));
    let err = std::fs::read_to_string(&err_file).unwrap();
    assert!(err.starts_with("leakcheck: run directory"), "{err}");
    assert!(err.contains("leakcheck: ---- leak summary"), "the summary reached the file: {err}");
    assert!(!err.contains("leftover"), "{err}");
}
