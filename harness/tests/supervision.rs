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
}

#[test]
fn a_missing_command_is_a_clear_error_with_the_shells_status() {
    let run = leakcheck(&[], &["/nonexistent/python3.11-dbg", "-m", "test"]);
    assert_eq!(run.code(), Some(127));
    assert!(run.stderr.contains("command not found: /nonexistent/python3.11-dbg"), "{}", run.stderr);
    assert_eq!(run.json()["status"]["leakcheck_exit_code"], 127);
    assert!(run.json()["status"]["error"].as_str().unwrap_or("").contains("No such file"), "{}", run.json());
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

/// Start leakcheck on `script`, wait for its first stdout line, then send it `signal`.
fn interrupt(script: &str, signal: i32, grace: &str) -> (std::process::ExitStatus, serde_json::Value, String) {
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("r.json");
    let mut child = KillOnDrop(
        Command::new(LEAKCHECK)
            .args(["--grace", grace, "--json"])
            .arg(&json)
            .args(["--", "sh", "-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first.trim(), "ready");
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

#[test]
fn a_command_ignoring_sigterm_is_killed_after_the_grace_period() {
    let (status, report, stderr) = interrupt("trap '' TERM; echo ready; while :; do sleep 1; done", libc::SIGTERM, "1");
    assert_eq!(status.code(), Some(128 + libc::SIGKILL), "{stderr}");
    assert_eq!(report["status"]["interrupted_by"], "SIGTERM");
    assert_eq!(report["status"]["killed_after_grace"], true);
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
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
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
    let out = Command::new(LEAKCHECK).args(["--grace", "x", "--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let out = Command::new(LEAKCHECK).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let out = Command::new(LEAKCHECK).args(["--json", "-", "--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(64), "stdout is the command's: no JSON there");
    let out = Command::new(LEAKCHECK).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exit status:"));
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
    let mut stdout = BufReader::new(leakcheck.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let pid: i32 = line.trim().parse().unwrap_or_else(|_| panic!("the command's pid: {line:?}"));
    let command = KillPidfdOnDrop(pidfd_open(pid));
    assert!(!exits_within(&command.0, Duration::ZERO), "the command runs");
    leakcheck.0.kill().unwrap();
    leakcheck.0.wait().unwrap();
    assert!(exits_within(&command.0, Duration::from_secs(30)), "the command {pid} outlived leakcheck");
}
