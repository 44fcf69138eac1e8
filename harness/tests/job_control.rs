//! leakcheck at an interactive terminal, as under a job-control shell, and the signals and mask
//! the command gets.
//!
//! The terminal is a real pseudo-terminal: `data/jobshell.py` leads a session on one and runs
//! leakcheck there as its foreground job, types at it (Ctrl-Z, a line) and says when the job
//! stops and ends. Without a terminal (the other tests: a buildbot's pipes) nothing of this
//! applies, and one test here holds that.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::*;

/// How long anything here may take on a loaded machine before the test fails.
const LIMIT: Duration = Duration::from_secs(60);

/// leakcheck run by `jobshell.py` as the foreground job of a pseudo-terminal.
struct JobShell {
    child: KillOnDrop,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// Every line the shell printed so far, for failure messages.
    seen: Vec<String>,
    _work: tempfile::TempDir,
    json: std::path::PathBuf,
}

impl JobShell {
    fn start(extra: &[&str], command: &[&str]) -> Self {
        let work = tempfile::tempdir().unwrap();
        let json = work.path().join("r.json");
        let shell = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/jobshell.py");
        let mut child = KillOnDrop(
            Command::new("python3")
                .arg(shell)
                .arg(LEAKCHECK)
                .args(["--no-shim", "--json"])
                .arg(&json)
                .args(extra)
                .arg("--")
                .args(command)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3 runs the job shell"),
        );
        let stdin = child.0.stdin.take().unwrap();
        let stdout = BufReader::new(child.0.stdout.take().unwrap());
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, stdin, lines, seen: Vec::new(), _work: work, json }
    }

    /// Wait for the first line (from now on) that `wanted` accepts, and return it.
    fn until(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no {what} within {LIMIT:?}; the shell said:\n{}", self.seen.join("\n")),
            }
        }
    }

    fn send(&mut self, command: &str) {
        // A shell gone (the job ended early) shows in what it said, read next.
        let _ = writeln!(self.stdin, "{command}");
    }

    /// The JSON report, once the job has exited.
    fn report(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&self.json).expect("a report")).expect("a JSON report")
    }
}

impl Drop for JobShell {
    fn drop(&mut self) {
        let _ = self.child.0.kill();
    }
}

/// `(state, process group, the terminal's foreground group)` of `pid`, from `/proc/PID/stat`.
fn stat(pid: i32) -> Option<(char, i32, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    Some((fields[0].chars().next()?, fields[2].parse().ok()?, fields[5].parse().ok()?))
}

/// Wait until `pid`'s `/proc` entry satisfies `wanted`.
fn wait_for(pid: i32, what: &str, wanted: impl Fn((char, i32, i32)) -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !stat(pid).is_some_and(&wanted) {
        assert!(Instant::now() < deadline, "pid {pid} not {what} within {LIMIT:?}: {:?}", stat(pid));
        std::thread::yield_now();
    }
}

/// A command that says whether it has the terminal (as test_ioctl checks before it runs), then
/// reads a line of it, which stops a process of a background group (SIGTTIN).
const READS_THE_TERMINAL: &str = "\
import os, sys
tty = os.open('/dev/tty', os.O_RDWR)
print('ready', os.getppid(), os.getpid(), os.tcgetpgrp(tty) == os.getpgrp(), flush=True)
line = sys.stdin.readline()
print('read', line.strip(), os.tcgetpgrp(tty) == os.getpgrp(), flush=True)
";

/// The fields of the command's `ready` line: leakcheck's pid, its own, whether it had the
/// terminal.
fn ready(shell: &mut JobShell) -> (i32, i32, bool) {
    let line = shell.until("ready line", |l| l.starts_with("tty: ready "));
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[2].parse().unwrap(), fields[3].parse().unwrap(), fields[4] == "True")
}

#[test]
fn the_command_has_the_terminal_and_reads_it() {
    let mut shell = JobShell::start(&[], &[python(), "-c", READS_THE_TERMINAL]);
    let (_, _, foreground) = ready(&mut shell);
    assert!(foreground, "the command's group is not the terminal's foreground group: {:?}", shell.seen);
    shell.send("type hello");
    shell.until("the line read", |l| l == "tty: read hello True");
    let exit = shell.until("the job's end", |l| l.starts_with("exited "));
    assert_eq!(exit, "exited 0", "{:?}", shell.seen);
    assert_eq!(shell.report()["status"]["exit_code"], 0);
}

/// Ctrl-Z stops the command's group (the terminal's foreground group), then leakcheck, which
/// the shell sees as its job stopped; `fg` continues both, the command with the terminal again.
#[test]
fn ctrl_z_stops_leakcheck_with_the_command_and_fg_continues_both() {
    let mut shell = JobShell::start(&[], &[python(), "-c", READS_THE_TERMINAL]);
    let (leakcheck, command, foreground) = ready(&mut shell);
    assert!(foreground, "{:?}", shell.seen);
    shell.send("ctrl-z");
    let stopped = shell.until("the job's stop", |l| l.starts_with("stopped ") || l.starts_with("exited "));
    assert_eq!(stopped, format!("stopped {}", libc::SIGTSTP), "{:?}", shell.seen);
    assert_eq!(stat(leakcheck).map(|s| s.0), Some('T'), "leakcheck is stopped");
    assert_eq!(stat(command).map(|s| s.0), Some('T'), "the command is stopped");
    let (_, shell_group, terminal) = stat(leakcheck).unwrap();
    assert_ne!(terminal, command, "the terminal was taken back from the command (group {shell_group})");
    shell.send("fg");
    // leakcheck continues, gives the terminal to the command and continues it.
    wait_for(command, "running with the terminal", |(state, group, terminal)| state != 'T' && terminal == group);
    assert_ne!(stat(leakcheck).map(|s| s.0), Some('T'), "leakcheck runs");
    shell.send("type hello");
    shell.until("the line read", |l| l == "tty: read hello True");
    let exit = shell.until("the job's end", |l| l.starts_with("exited ") || l.starts_with("stopped "));
    assert_eq!(exit, "exited 0", "{:?}", shell.seen);
    let report = shell.report();
    assert_eq!(report["status"]["exit_code"], 0);
    assert!(report["hangs"].as_array().is_none_or(Vec::is_empty), "{report}");
}

/// A Ctrl-Z that lasts longer than the hang timeout is the user's time, not the command's
/// silence: no `no-progress` hang once continued. (The command's blocked read would be one
/// after the timeout: the silence counts from `fg`.)
#[test]
fn a_ctrl_z_longer_than_the_hang_timeout_is_no_hang() {
    let mut shell = JobShell::start(&["--hang-timeout", "5"], &[python(), "-c", READS_THE_TERMINAL]);
    let (leakcheck, command, _) = ready(&mut shell);
    shell.send("ctrl-z");
    shell.until("the job's stop", |l| l.starts_with("stopped "));
    // The durations are the point here, not a race: stopped past the timeout, then silent
    // after `fg` for less than it (and longer than a tick of the hang watch).
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(stat(leakcheck).map(|s| s.0), Some('T'), "leakcheck is stopped");
    shell.send("fg");
    wait_for(command, "running with the terminal", |(state, group, terminal)| state != 'T' && terminal == group);
    std::thread::sleep(Duration::from_secs(2));
    shell.send("type hello");
    shell.until("the line read", |l| l == "tty: read hello True");
    let exit = shell.until("the job's end", |l| l.starts_with("exited "));
    assert_eq!(exit, "exited 0", "{:?}", shell.seen);
    let report = shell.report();
    assert!(report["hangs"].as_array().is_none_or(Vec::is_empty), "a hang: {report}");
}

/// SIGTERM to leakcheck while the command's group is stopped (`kill -STOP`) ends it at once:
/// the SIGCONT after the forwarded signal lets it take it, not the SIGKILL a grace period later.
#[test]
fn sigterm_ends_a_stopped_command_without_waiting_for_the_grace_period() {
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("r.json");
    let mut child = KillOnDrop(
        Command::new(LEAKCHECK)
            .args(["--no-shim", "--grace", "120", "--json"])
            .arg(&json)
            .args(["--", "sh", "-c", "echo ready $$; exec sleep 300"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (_stdout, first) = child.first_line();
    let command: i32 = first.trim().strip_prefix("ready ").unwrap().parse().unwrap();
    // SAFETY: plain kill(2) of the command's group.
    unsafe { libc::kill(-command, libc::SIGSTOP) };
    wait_for(command, "stopped", |(state, _, _)| state == 'T');
    let started = Instant::now();
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    let status = wait_with_limit(&mut child, LIMIT);
    let mut stderr = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}: {stderr}", started.elapsed());
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["status"]["killed_after_grace"], false, "{stderr}");
    assert_eq!(report["status"]["signal"], "SIGTERM", "{report}");
}

/// The bits of `SigBlk:` in `/proc/self/status` text.
fn sig_blk(status: &str) -> u64 {
    let line = status.lines().find_map(|l| l.strip_prefix("SigBlk:")).expect("a SigBlk line");
    u64::from_str_radix(line.trim(), 16).expect("hex")
}

/// The command's signal mask is the one leakcheck was started with (SIGUSR2 blocked here), not
/// empty, and not leakcheck's own (its forwarded signals, blocked for its signalfd).
#[test]
fn the_command_gets_the_signal_mask_leakcheck_was_started_with() {
    let mut cmd = Command::new(LEAKCHECK);
    cmd.args(["--no-shim", "--", "cat", "/proc/self/status"]);
    // SAFETY: sigprocmask only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR2);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let output = cmd.output().unwrap();
    let status = String::from_utf8_lossy(&output.stdout);
    assert_eq!(sig_blk(&status), 1 << (libc::SIGUSR2 - 1), "{status}\n{}", String::from_utf8_lossy(&output.stderr));
}

/// Without a controlling terminal, a stop of the command is none of leakcheck's business: it
/// runs on (the hang watch would see the stopped process), and the command goes on when
/// continued.
#[test]
fn without_a_terminal_a_stopped_command_does_not_stop_leakcheck() {
    let mut cmd = Command::new(LEAKCHECK);
    cmd.args(["--no-shim", "--", "sh", "-c", "echo ready $$; kill -STOP $$; echo continued"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid only, between fork and exec: no controlling terminal.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = KillOnDrop(cmd.spawn().unwrap());
    let (mut stdout, first) = child.first_line();
    let command: i32 = first.trim().strip_prefix("ready ").unwrap().parse().unwrap();
    wait_for(command, "stopped", |(state, _, _)| state == 'T');
    // What is checked is an absence: leakcheck, woken by the SIGCHLD of the stop, stays running
    // while we look for a second.
    let leakcheck = child.0.id() as i32;
    let until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < until {
        assert_ne!(stat(leakcheck).map(|s| s.0), Some('T'), "leakcheck stopped without a terminal");
        std::thread::yield_now();
    }
    // SAFETY: plain kill(2).
    unsafe { libc::kill(command, libc::SIGCONT) };
    let status = wait_with_limit(&mut child, LIMIT);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest.trim(), "continued");
    assert_eq!(status.code(), Some(0));
}
