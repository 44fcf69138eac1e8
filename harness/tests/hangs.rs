//! Hangs and deadlocks on a real CPython: the deadlocking fixtures of `c/hangfix.c` and small
//! regrtest tests (`c/regrtest/test_hang_*.py`), sequentially and in `-j 2` workers. Each test
//! checks the diagnosis, the frames at the fixture's lines, that no process of the tree is left,
//! and the exit status.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// The line of `c/hangfix.c` that contains `needle`.
fn hangfix_line(needle: &str) -> u64 {
    common::source_line("hangfix.c", needle)
}

fn regrtest(testdir: &Path, flags: &[&str], tests: &[&str]) -> Vec<String> {
    regrtest_with(python(), testdir, flags, tests)
}

/// No process whose command line mentions `testdir` is alive any more.
fn assert_tree_gone(testdir: &Path) {
    let needle = path_str(testdir);
    let survivors: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            (cmdline.contains(&needle) && !state.contains(") Z ")).then(|| format!("{pid}: {cmdline}"))
        })
        .collect();
    assert!(survivors.is_empty(), "processes survived: {survivors:?}");
}

/// The run found no hang, and `test` passed.
fn assert_no_hang(run: &Run, test: &str, what: &str) {
    let hangs = &run.json()["hangs"];
    let kinds: Vec<&Value> = hangs.as_array().into_iter().flatten().map(|h| &h["diagnosis"]["kind"]).collect();
    assert!(hangs.as_array().is_some_and(Vec::is_empty), "{what}: hangs {kinds:?}: {}", run.stderr);
    assert_eq!(run.test(test)["outcome"], "passed", "{what}: {}", run.stderr);
    assert_eq!(run.code(), Some(0), "{what}: {}", run.stderr);
}

fn only_hang(run: &Run) -> &Value {
    let hangs = run.json()["hangs"].as_array().unwrap_or_else(|| panic!("no hangs: {}", run.stderr));
    assert_eq!(hangs.len(), 1, "{}", serde_json::to_string_pretty(hangs).unwrap());
    let hang = &hangs[0];
    assert_eq!(hang["pid"], hang["diagnosis"]["pid"], "{hang}");
    assert!(hang["processes"].as_array().is_some_and(|p| p.iter().any(|p| p["pid"] == hang["pid"])), "{hang}");
    hang
}

/// Some thread of the hang has `function` at `line` of hangfix.c among its frames.
fn has_frame(hang: &Value, function: &str, line: u64) -> bool {
    hang["processes"].as_array().into_iter().flatten().flat_map(|p| p["threads"].as_array().into_iter().flatten()).any(
        |t| {
            t["frames"].as_array().into_iter().flatten().any(|f| {
                f["function"] == function
                    && f["line"] == line
                    && f["file"].as_str().is_some_and(|file| file.ends_with("c/hangfix.c"))
            })
        },
    )
}

fn python_functions(hang: &Value) -> Vec<String> {
    hang["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["threads"].as_array().into_iter().flatten())
        .flat_map(|t| t["python_frames"].as_array().into_iter().flatten())
        .filter_map(|f| f["function"].as_str().map(str::to_owned))
        .collect()
}

fn assert_mutex_cycle(run: &Run) {
    let hang = only_hang(run);
    assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{hang}");
    assert_eq!(hang["test"], "test_hang_mutex_cycle");
    assert_eq!(hang["diagnosis"]["threads"].as_array().map(Vec::len), Some(2), "{hang}");
    assert_eq!(hang["diagnosis"]["locks"].as_array().map(Vec::len), Some(2), "{hang}");
    let second = hangfix_line("pthread_mutex_lock(&second); /* deadlocks");
    let first = hangfix_line("pthread_mutex_lock(&first); /* deadlocks");
    assert!(has_frame(hang, "take_first_then_second", second), "{hang}");
    assert!(has_frame(hang, "take_second_then_first", first), "{hang}");
    assert!(python_functions(hang).contains(&"test_mutex_cycle".to_string()), "{hang}");
    // The mutexes are the fixture's globals, named by their symbols.
    let locks = hang["diagnosis"]["locks"].as_array().expect("locks");
    let mut symbols: Vec<&str> = locks.iter().filter_map(|l| l["symbol"].as_str()).collect();
    symbols.sort();
    assert_eq!(symbols, ["first", "second"], "{hang}");
    assert!(locks.iter().all(|l| l["memory"] == "global"), "{hang}");
    assert!(locks.iter().all(|l| l["module"].as_str().is_some_and(|m| m.contains("/_hangfix."))), "{hang}");
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("waits for mutex second (a global of _hangfix."), "{summary}");
    assert_eq!(hang["process_went_on"], false, "{hang}");
    assert_eq!(run.test("test_hang_mutex_cycle")["outcome"], "hung");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert!(run.stderr.contains("leakcheck: HANG in test_hang_mutex_cycle (lock-cycle)"), "{}", run.stderr);
}

#[test]
fn a_mutex_cycle_is_diagnosed_and_ended() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest(dir.path(), &[], &["test_hang_mutex_cycle"])));
    assert_mutex_cycle(&run);
    assert_tree_gone(dir.path());
}

/// A lock cycle across two processes (QA's F4): the test's process holds one process-shared
/// mutex and waits for another, which the child it forked holds while waiting for the first.
/// Neither process alone proves anything (each awaited mutex's owner is alive, in the other);
/// the two together are proved within seconds, not after the hang timeout (disabled here),
/// sequentially (regrtest itself is stuck: the whole tree is ended) and in a `-j` worker (the
/// worker and its child are ended, and regrtest goes on to its summary). Also between two
/// sibling children of the test (QA's F3): the hang is then the test's process, which started
/// both, so that neither is left waiting for good for the mutex the other held.
#[test]
fn a_lock_cycle_across_two_processes_is_proved_and_ended() {
    let flags: [&[&str]; 2] = [&[], &["-j", "2"]];
    for (flags, test) in
        flags.into_iter().flat_map(|f| [(f, "test_hang_pshared_cycle"), (f, "test_hang_pshared_siblings")])
    {
        let dir = testdir();
        let tests = [test];
        let run = leakcheck(&["--hang-timeout", "0"], &as_strs(&regrtest(dir.path(), flags, &tests)));
        let hang = only_hang(&run);
        assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{flags:?}: {hang}");
        assert_eq!(hang["test"], test, "{flags:?}: {hang}");
        let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
        assert!(summary.starts_with("deadlock across processes "), "{flags:?}: {summary}");
        assert_eq!(hang["diagnosis"]["threads"].as_array().map(Vec::len), Some(2), "{hang}");
        assert_eq!(hang["diagnosis"]["locks"].as_array().map(Vec::len), Some(2), "{hang}");
        let processes = hang["processes"].as_array().expect("processes");
        let expected = if test == "test_hang_pshared_cycle" { 2 } else { 3 };
        assert_eq!(processes.len(), expected, "{flags:?}: {hang}");
        if test == "test_hang_pshared_cycle" {
            // The parent is the hang's process, and its stack is where it waits for the
            // child's mutex.
            assert_eq!(hang["pid"], processes[0]["pid"], "{hang}");
            let child = hangfix_line("pthread_mutex_lock(&shared->a); /* deadlocks: the parent holds a");
            let parent = hangfix_line("pthread_mutex_lock(&shared->b); /* deadlocks: the child holds b");
            assert!(has_frame(hang, "pshared_cycle", parent) && has_frame(hang, "pshared_cycle", child), "{hang}");
        } else {
            // The test's process, which started both and waits for them, is the hang's, its
            // stacks first.
            assert_eq!(hang["pid"], processes[0]["pid"], "{hang}");
            let cycle_pids: Vec<&Value> = hang["diagnosis"]["threads"].as_array().into_iter().flatten().collect();
            assert!(!cycle_pids.contains(&&hang["pid"]), "{hang}");
            let line = hangfix_line("pthread_mutex_lock(&shared->mutex[1 - k]); /* deadlocks: the sibling holds it");
            assert!(has_frame(hang, "pshared_sibling_cycle", line), "{hang}");
        }
        assert_eq!(run.test(test)["outcome"], "hung", "{flags:?}: {}", run.stderr);
        assert_eq!(run.code(), Some(102), "{flags:?}: {}", run.stderr);
        assert_tree_gone(dir.path());
    }
}

/// The GIL against a mutex: its holder is read from the interpreter, so the cycle is proved
/// within seconds, sequentially and in a `-j` worker, rather than after the hang timeout.
#[test]
fn a_gil_held_while_waiting_for_a_mutex_whose_holder_waits_for_the_gil_is_a_cycle() {
    for flags in [&[][..], &["-j", "2"][..]] {
        let dir = testdir();
        let run = leakcheck(&["--hang-timeout", "0"], &as_strs(&regrtest(dir.path(), flags, &["test_hang_gil_cycle"])));
        let hang = only_hang(&run);
        assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{flags:?}: {hang}");
        assert_eq!(hang["test"], "test_hang_gil_cycle");
        let locks = hang["diagnosis"]["locks"].as_array().expect("locks");
        assert_eq!(locks.len(), 2, "{hang}");
        assert!(locks.iter().any(|l| l["name"] == "GIL"), "{hang}");
        assert!(hang["diagnosis"]["summary"].as_str().is_some_and(|s| s.contains("waits for the GIL")), "{hang}");
        assert!(has_frame(hang, "gil_cycle", hangfix_line("pthread_mutex_lock(&gil_gate); /* deadlocks")), "{hang}");
        assert!(has_frame(hang, "hold_gate_take_gil", hangfix_line("PyGILState_Ensure(); /* deadlocks")), "{hang}");
        assert_eq!(run.test("test_hang_gil_cycle")["outcome"], "hung");
        assert_eq!(run.code(), Some(102), "{}", run.stderr);
        assert_tree_gone(dir.path());
    }
}

#[test]
fn a_priority_inheritance_mutex_cycle_is_a_lock_cycle_between_real_threads() {
    // The kernel refuses the second thread its PI mutex (EDEADLK) and glibc parks it in a futex
    // wait on its own stack: its mutex is read from its frame, the other's owner from the lock
    // word. The timeout stays off: a proof, not silence.
    let dir = testdir();
    let run = leakcheck(&["--hang-timeout", "0"], &as_strs(&regrtest(dir.path(), &[], &["test_hang_pi_cycle"])));
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{hang}");
    assert_eq!(hang["test"], "test_hang_pi_cycle");
    let threads: Vec<&Value> = hang["diagnosis"]["threads"].as_array().into_iter().flatten().collect();
    assert_eq!(threads.len(), 2, "{hang}");
    let tids: Vec<&Value> =
        hang["processes"][0]["threads"].as_array().into_iter().flatten().map(|t| &t["tid"]).collect();
    let locks = hang["diagnosis"]["locks"].as_array().expect("locks");
    assert_eq!(locks.len(), 2, "{hang}");
    for lock in locks {
        // Each owner is one of the two threads of the cycle, never a number read from elsewhere.
        assert!(threads.contains(&&lock["owner"]) && tids.contains(&&lock["owner"]), "{hang}");
        assert_eq!(lock["waiters"].as_array().map(Vec::len), Some(1), "{hang}");
        assert_ne!(lock["waiters"][0], lock["owner"], "{hang}");
    }
    assert_ne!(locks[0]["address"], locks[1]["address"], "{hang}");
    let line = |mutex: &str| hangfix_line(&format!("pthread_mutex_lock(&{mutex}); /* PI deadlock"));
    assert!(has_frame(hang, "take_pi_first_then_second", line("pi_second")), "{hang}");
    assert!(has_frame(hang, "take_pi_second_then_first", line("pi_first")), "{hang}");
    assert!(python_functions(hang).contains(&"test_pi_mutex_cycle".to_string()), "{hang}");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// leakcheck started with the separate debug files of the system (`/usr/lib/debug`, where
/// libc6-dbg puts the C library's DWARF and full symbol table) hidden, as on a machine without
/// them (most build machines, Debian sid's root): a private mount namespace with an empty tmpfs
/// on `/usr/lib/debug`. As root that is `unshare --mount`; any other user needs unprivileged
/// user namespaces (`unshare --map-root-user`), and where neither works the test fails with
/// unshare's error rather than run with the symbols in sight. Without `/usr/lib/debug` there is
/// nothing to hide.
fn leakcheck_without_libc_debug_symbols(extra: &[&str], command: &[&str]) -> Run {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let root =
        status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1)) == Some("0");
    let mut wrapper = vec!["unshare", "--mount", "--propagation", "private"];
    if !root {
        wrapper.push("--map-root-user");
    }
    wrapper.extend(["--", "sh", "-c", r#"mount -t tmpfs tmpfs /usr/lib/debug && exec "$0" "$@""#]);
    let wrapper: &[&str] = if Path::new("/usr/lib/debug").is_dir() { &wrapper } else { &[] };
    let run = leakcheck_wrapped(wrapper, None, extra, command, &[]);
    assert!(
        run.json.is_some(),
        "leakcheck did not run with /usr/lib/debug hidden (needs root or unprivileged user namespaces): {}",
        run.stderr
    );
    run
}

/// The frames of the hang's threads in the C library: some unnamed (its debug symbols were
/// hidden for real), and none named by DWARF (no file).
fn assert_libc_without_debug_symbols(hang: &Value) {
    let frames: Vec<&Value> = hang["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["threads"].as_array().into_iter().flatten())
        .flat_map(|t| t["frames"].as_array().into_iter().flatten())
        .filter(|f| f["module"].as_str().is_some_and(|m| m.contains("/libc.so")))
        .collect();
    assert!(frames.iter().any(|f| f["function"].is_null()), "libc's symbols were not hidden: {hang}");
    assert!(frames.iter().all(|f| f["file"].is_null()), "libc's DWARF was read: {hang}");
}

/// Without the C library's debug symbols, a mutex cycle, a mutex inherited locked across `fork`
/// and a cycle through `pthread_cond_wait`'s re-lock are still proved at once, from what its
/// `.dynsym` names (`pthread_mutex_lock`, `pthread_cond_wait`), the futex the waiters sleep on
/// and the owner in the mutex at that address. The PI cycle's parked thread, in unnamed frames
/// that `pthread_mutex_lock` tail-called, needs libc's symbols to be told: no proof, and a note
/// says why.
#[test]
fn mutex_deadlocks_are_proved_without_the_c_librarys_debug_symbols() {
    // The timeout off: a proof or nothing, never the silence.
    let dir = testdir();
    let run = leakcheck_without_libc_debug_symbols(
        &["--hang-timeout", "0"],
        &as_strs(&regrtest(dir.path(), &[], &["test_hang_mutex_cycle"])),
    );
    assert_mutex_cycle(&run);
    assert_libc_without_debug_symbols(only_hang(&run));
    assert_tree_gone(dir.path());

    let dir = testdir();
    let run = leakcheck_without_libc_debug_symbols(
        &["--hang-timeout", "0"],
        &as_strs(&regrtest(dir.path(), &[], &["test_hang_fork_locked"])),
    );
    assert_fork_owner_gone(&run);
    assert_libc_without_debug_symbols(only_hang(&run));
    assert_tree_gone(dir.path());

    let dir = testdir();
    let run = leakcheck_without_libc_debug_symbols(
        &["--hang-timeout", "0"],
        &as_strs(&regrtest(dir.path(), &[], &["test_hang_cond_relock"])),
    );
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{hang}");
    assert_libc_without_debug_symbols(hang);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());

    let dir = testdir();
    let run = leakcheck_without_libc_debug_symbols(
        &["--hang-timeout", "4"],
        &as_strs(&regrtest(dir.path(), &[], &["test_hang_pi_cycle"])),
    );
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    assert_libc_without_debug_symbols(hang);
    let notes = hang["notes"].to_string();
    assert!(
        notes.contains("in a function of the C library that its symbol table does not name")
            && notes.contains("libc6-dbg"),
        "{hang}"
    );
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// A daemon an earlier test left behind (its parent gone) is a leftover also when a later test
/// hangs and the tree is ended for it: listed, read before it was ended, not taken for one of
/// the hang's processes.
#[test]
fn a_daemon_left_behind_before_a_hang_that_ends_the_tree_is_a_leftover() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest(dir.path(), &[], &["test_leave_daemon", "test_hang_mutex_cycle"])));
    assert_mutex_cycle(&run);
    let leftovers = run.json()["leftover_processes"].as_array().cloned().unwrap_or_default();
    let daemon: Vec<&Value> = leftovers.iter().filter(|p| p["command"] == "sleep 4321").collect();
    assert_eq!(daemon.len(), 1, "{leftovers:?}: {}", run.stderr);
    let pid = daemon[0]["pid"].as_i64().unwrap();
    assert!(run.stderr.contains(&format!("ended leftover process {pid} (sleep 4321)")), "{}", run.stderr);
    let hang = only_hang(&run);
    assert!(!hang["processes"].as_array().unwrap().iter().any(|p| p["pid"] == pid), "{hang}");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the daemon is gone");
    assert_tree_gone(dir.path());
}

/// leakcheck's stdout a pipe nobody reads, after more output than it holds (`leakcheck ... |
/// sleep 30`): the loop does not wait for that reader, so the deadlock that follows is found
/// and printed (on stderr) while the pipe is still unread, and once it is read the run ends
/// with the hang's status and every byte of the output, in order.
#[test]
fn a_hang_is_found_while_our_stdout_is_not_read() {
    use std::io::Read;
    let dir = testdir();
    let work = tempfile::tempdir().unwrap();
    let (json, stderr) = (work.path().join("r.json"), work.path().join("stderr"));
    let (reader, writer) = std::io::pipe().unwrap();
    let argv = regrtest(dir.path(), &[], &["test_print_much", "test_hang_mutex_cycle"]);
    let mut child = KillOnDrop(
        std::process::Command::new(LEAKCHECK)
            .args(["--hang-timeout", "0", "--json"])
            .arg(&json)
            .arg("--")
            .args(&argv)
            .stdout(writer)
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap(),
    );
    let start = std::time::Instant::now();
    let said = loop {
        let text = std::fs::read_to_string(&stderr).unwrap_or_default();
        if text.contains("leakcheck: HANG in test_hang_mutex_cycle (lock-cycle)") {
            break text;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "no hang printed while stdout is unread: {text}");
        assert!(child.0.try_wait().unwrap().is_none(), "leakcheck ended: {text}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut stdout = Vec::new();
    let mut reader = reader;
    reader.read_to_end(&mut stdout).unwrap();
    let status = wait_with_limit(&mut child, std::time::Duration::from_secs(60));
    assert_eq!(status.code(), Some(102), "{said}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["hangs"][0]["diagnosis"]["kind"], "lock-cycle", "{report}");
    assert_eq!(report["hangs"][0]["test"], "test_hang_mutex_cycle", "{report}");
    let stdout = String::from_utf8_lossy(&stdout);
    let printed: Vec<&str> = stdout.lines().filter(|l| l.ends_with(&"x".repeat(58))).collect();
    let expected: Vec<String> = (0..3000).map(|i| format!("{i:05} {}", "x".repeat(58))).collect();
    assert!(printed == expected, "the test's lines, each once and in order");
    assert_tree_gone(dir.path());
}

#[test]
fn a_mutex_cycle_is_reported_with_the_hang_timeout_off() {
    // 0 turns off the no-progress verdict, not the proofs.
    let dir = testdir();
    let run = leakcheck(&["--hang-timeout", "0"], &as_strs(&regrtest(dir.path(), &[], &["test_hang_mutex_cycle"])));
    assert_mutex_cycle(&run);
    assert_tree_gone(dir.path());
}

#[test]
fn a_deadlocked_worker_is_ended_and_regrtest_goes_on() {
    let dir = testdir();
    let run =
        leakcheck(&[], &as_strs(&regrtest(dir.path(), &["-j", "2"], &["test_hang_mutex_cycle", "test_balanced"])));
    assert_mutex_cycle(&run);
    assert_eq!(run.test("test_balanced")["outcome"], "passed", "{}", run.stderr);
    assert!(run.json()["summary"]["regrtest_result"].is_string(), "regrtest finished: {}", run.stderr);
    assert_tree_gone(dir.path());
}

#[test]
fn a_hang_in_a_later_repetition_keeps_the_main_threads_python_stack() {
    // The test deadlocks in its third run under -R 3:3, after regrtest's progress dots for the
    // first two, which stderr has without a newline: faulthandler's header follows them.
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest(dir.path(), &["-R", "3:3"], &["test_hang_third_run"])));
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{hang}");
    assert_eq!(hang["test"], "test_hang_third_run");
    let process = &hang["processes"][0];
    let main = process["threads"].as_array().into_iter().flatten().find(|t| t["tid"] == process["pid"]);
    let python: Vec<&str> = main
        .and_then(|t| t["python_frames"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|f| f["function"].as_str())
        .collect();
    assert!(python.contains(&"test_deadlock_on_third_run"), "{hang}");
    assert_eq!(hang["notes"], serde_json::json!([]), "{hang}");
    assert_printed_when_found(&run, "test_hang_third_run");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// On a terminal (`script` gives the run a pty) the hang printed when found is coloured as the
/// summary is; the log, the command's output only, does not get it.
#[test]
fn a_hang_printed_when_found_is_coloured_on_a_terminal_and_not_logged() {
    let dir = testdir();
    let work = tempfile::tempdir().expect("a temporary directory");
    let log = work.path().join("output.log");
    let argv = regrtest(dir.path(), &[], &["test_hang_mutex_cycle"]);
    // `script -c` takes one shell command: these paths are the test's own.
    let inner = format!("{LEAKCHECK} --log {} -- {}", log.display(), argv.join(" "));
    let out = std::process::Command::new("script")
        .args(["-qefc", &inner, "/dev/null"])
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .output()
        .expect("script (bsdutils)");
    assert_eq!(out.status.code(), Some(102), "{out:?}");
    let terminal = String::from_utf8_lossy(&out.stdout);
    let coloured = "leakcheck: \x1b[1;31mHANG\x1b[0m in test_hang_mutex_cycle (lock-cycle)";
    assert_eq!(terminal.matches(coloured).count(), 1, "when found: {terminal}");
    let mention = "leakcheck: test_hang_mutex_cycle: \x1b[1;31mHUNG\x1b[0m (lock-cycle)";
    assert_eq!(terminal.matches(mention).count(), 1, "in the summary: {terminal}");
    let found = terminal.find(coloured).unwrap_or_default();
    let dump = terminal.find("(most recent call first):").unwrap_or_else(|| panic!("{terminal}"));
    assert!(found < dump, "{terminal}");
    let log = std::fs::read_to_string(&log).expect("the log");
    assert!(!log.contains("leakcheck:"), "the log is the command's output only: {log}");
    assert_tree_gone(dir.path());
}

/// leakcheck printed the hang when it found it, on lines of its own (also after the progress
/// dots stderr had without a newline), with the native stacks, before faulthandler's dump (asked
/// for after); the summary at the end mentions it again, shorter, with the Python stacks.
fn assert_printed_when_found(run: &Run, test: &str) {
    let lines: Vec<&str> = run.stderr.lines().collect();
    let stray: Vec<&&str> =
        lines.iter().filter(|l| l.contains("leakcheck: ") && !l.starts_with("leakcheck: ")).collect();
    assert!(stray.is_empty(), "leakcheck's lines start lines of their own: {stray:?}\n{}", run.stderr);
    let headline = format!("leakcheck: HANG in {test} (");
    let heads: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].starts_with(&headline)).collect();
    let mentions: Vec<usize> =
        (0..lines.len()).filter(|&i| lines[i].starts_with(&format!("leakcheck: {test}: HUNG ("))).collect();
    let dump = lines.iter().position(|l| l.ends_with("(most recent call first):"));
    let summary = lines.iter().position(|l| l.starts_with("leakcheck: ---- leak summary"));
    // One `HANG in` line per hang: a build's warning pattern counts it once.
    let (Some(dump), Some(summary), &[found], &[mention]) = (dump, summary, heads.as_slice(), mentions.as_slice())
    else {
        panic!("the hang printed when found, faulthandler's dump, the summary's mention: {}", run.stderr)
    };
    assert!(found < dump && dump < mention && mention < summary, "{}", run.stderr);
    let block = &lines[found + 1..dump];
    assert!(block.first().is_some_and(|l| l.starts_with("leakcheck:     process ")), "{block:?}");
    assert!(block.iter().any(|l| l.starts_with("leakcheck:       thread ") && l.contains("hangfix.c:")), "{block:?}");
    assert!(lines[mention + 1].ends_with("native stacks printed when it was found"), "{}", run.stderr);
    assert!(!lines[mention..summary].iter().any(|l| l.contains("hangfix.c:")), "{}", run.stderr);
}

fn assert_fork_owner_gone(run: &Run) {
    let hang = only_hang(run);
    assert_eq!(hang["diagnosis"]["kind"], "lock-owner-gone", "{hang}");
    assert_eq!(hang["test"], "test_hang_fork_locked");
    assert!(hang["diagnosis"]["summary"].as_str().unwrap_or("").contains("forked"), "{hang}");
    let line = hangfix_line("pthread_mutex_lock(&inherited); /* never returns");
    assert!(has_frame(hang, "fork_with_locked_mutex", line), "{hang}");
    // Only the stuck child was ended: the test itself saw its child die and went on.
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
}

#[test]
fn a_child_forked_with_a_locked_mutex_is_diagnosed() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest(dir.path(), &[], &["test_hang_fork_locked", "test_balanced"])));
    assert_fork_owner_gone(&run);
    assert_eq!(run.test("test_balanced")["outcome"], "passed", "regrtest went on: {}", run.stderr);
    assert_tree_gone(dir.path());
}

#[test]
fn a_worker_child_forked_with_a_locked_mutex_is_diagnosed() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest(dir.path(), &["-j", "2"], &["test_hang_fork_locked"])));
    assert_fork_owner_gone(&run);
    assert_tree_gone(dir.path());
}

#[test]
fn a_python_lock_cycle_is_no_progress_with_python_stacks() {
    // Python locks record no owner: nothing to prove, so the hang timeout decides.
    let dir = testdir();
    let run = leakcheck(
        &["--hang-timeout", "4", "--annotations", "github"],
        &as_strs(&regrtest(dir.path(), &[], &["test_hang_python_locks"])),
    );
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    assert_eq!(hang["test"], "test_hang_python_locks");
    // Why, as far as it can be told: the two threads (and the main thread joining them, when
    // it sat in its wait as it was looked at) wait for Python locks, with no owner to read.
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains(" wait without a timeout for Python locks (threading's Lock"), "{summary}");
    let named = hang["diagnosis"]["threads"].as_array().map_or(0, Vec::len);
    assert!((2..=3).contains(&named), "{hang}");
    let functions = python_functions(hang);
    for f in ["first_then_second", "second_then_first", "test_lock_cycle"] {
        assert!(functions.contains(&f.to_string()), "{f} missing from {functions:?}");
    }
    // The hang's annotation points at the test's own line (a join or an acquire), not at the
    // innermost Python frame, threading.py's wait for the thread's lock.
    let stdout = String::from_utf8_lossy(&run.stdout);
    let annotation = stdout
        .lines()
        .find(|l| l.starts_with("::error ") && l.contains("title=leakcheck%3A test_hang_python_locks hung::"))
        .unwrap_or_else(|| panic!("no annotation of the hang: {stdout}"));
    let file = dir.path().join("test_hang_python_locks.py");
    let at = format!("file={},line=", path_str(&file));
    let line: usize = annotation
        .strip_prefix("::error ")
        .and_then(|rest| rest.strip_prefix(&at))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or_else(|| panic!("not at a line of {at}: {annotation}"));
    let source = std::fs::read_to_string(&file).expect("the fixture");
    let text = source.lines().nth(line - 1).unwrap_or_default();
    assert!(text.contains(".join()") || text.contains(".acquire()"), "line {line}: {text:?}");
    assert_eq!(run.code(), Some(102));
    assert_tree_gone(dir.path());
}

/// In quiet mode regrtest prints no progress line: the output never says which test runs. The
/// shim's records do: the test whose repetitions began and never ended is the hung one, in the
/// JSON, the summary and the headline printed when it is found; the test that finished before
/// it is not blamed.
#[test]
fn a_hang_in_quiet_mode_names_its_test_from_the_shims_records() {
    let dir = testdir();
    let run = leakcheck(
        &["--hang-timeout", "3", "--grace", "2"],
        &as_strs(&regrtest(dir.path(), &["-q", "-R", "3:3"], &["test_balanced", "test_hang_python_locks"])),
    );
    let hang = only_hang(&run);
    assert_eq!(hang["test"], "test_hang_python_locks", "{hang}");
    assert_eq!(run.test("test_hang_python_locks")["outcome"], "hung");
    assert_eq!(run.test("test_balanced")["outcome"], "passed");
    assert_eq!(run.json()["summary"]["hung"], serde_json::json!(["test_hang_python_locks"]));
    assert!(run.stderr.contains("leakcheck: test_hang_python_locks: HUNG (no-progress)"), "{}", run.stderr);
    // The headline printed when the hang was found names it too, from the records so far.
    assert!(run.stderr.contains("leakcheck: HANG in test_hang_python_locks (no-progress)"), "{}", run.stderr);
    // regrtest printed no result because leakcheck ended it for the hang: no run that stopped
    // halfway by itself.
    assert_eq!(run.json()["summary"]["regrtest_unfinished"], false, "{}", run.json()["warnings"]);
    assert!(!run.json()["warnings"].to_string().contains("never printed its result"), "{}", run.json()["warnings"]);
    assert_eq!(run.code(), Some(102));
    assert_tree_gone(dir.path());
}

/// The JUnit testcase of `test` in `xml`, from its start to the next.
fn junit_case<'a>(xml: &'a str, test: &str) -> &'a str {
    let start =
        xml.find(&format!("<testcase name=\"{test}\" classname=\"regrtest\"")).unwrap_or_else(|| panic!("{xml}"));
    let rest = &xml[start..];
    &rest[..rest[1..].find("<testcase").map_or(rest.len(), |end| end + 1)]
}

/// In quiet mode regrtest says nothing of a test that passed, and leakcheck ends the run for a
/// deadlock in the next test before regrtest's summary: the test before ran all its
/// repetitions and regrtest went on to the next in the same process, so it passed, its JUnit
/// case does not fail and it gets no issue draft. A deadlock at the next test module's import
/// (no test's repetitions begun: the hang names no test) leaves it the last test of its
/// process, with no result: a note says the run ended after it for a hang in no test, and
/// JUnit skips it, the hang failing the run's case.
#[test]
fn a_test_that_passed_before_a_quiet_deadlock_is_not_blamed_for_it() {
    let dir = testdir();
    let out = tempfile::tempdir().unwrap();
    let run_with = |name: &str, hanging: &str| {
        let (xml, drafts) = (out.path().join(format!("{name}.xml")), out.path().join(name));
        let run = leakcheck(
            &["--junit-xml", &path_str(&xml), "--issue-draft", &path_str(&drafts)],
            &as_strs(&regrtest(dir.path(), &["-q", "-R", "3:3"], &["test_balanced", hanging])),
        );
        let xml = std::fs::read_to_string(&xml).unwrap_or_else(|e| panic!("the JUnit XML: {e}: {}", run.stderr));
        let mut drafts: Vec<String> = std::fs::read_dir(&drafts)
            .unwrap_or_else(|e| panic!("the drafts: {e}: {}", run.stderr))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".md"))
            .collect();
        drafts.sort();
        (run, xml, drafts)
    };

    let (run, xml, drafts) = run_with("in_test", "test_hang_mutex_cycle");
    assert_mutex_cycle(&run);
    assert_eq!(only_hang(&run)["test"], "test_hang_mutex_cycle");
    let balanced = run.test("test_balanced");
    assert_eq!(balanced["outcome"], "passed", "{balanced}");
    assert!(balanced["notes"].to_string().contains("test_hang_mutex_cycle began next"), "{balanced}");
    let case = junit_case(&xml, "test_balanced");
    assert!(!case.contains("<failure") && !case.contains("<skipped"), "{case}");
    assert!(junit_case(&xml, "test_hang_mutex_cycle").contains("<failure"), "{xml}");
    assert_eq!(drafts, ["test_hang_mutex_cycle.md"]);
    assert_tree_gone(dir.path());

    let (run, xml, drafts) = run_with("at_import", "test_hang_at_import");
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{hang}");
    assert_eq!(hang["test"], Value::Null, "{hang}");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    let balanced = run.test("test_balanced");
    assert_eq!(balanced["outcome"], "unknown", "{balanced}");
    let note = "no result, but its -R repetitions all ran through (the shim measured each) and no later test began \
                in its process: leakcheck then ended the run for a hang in that process in no test";
    assert!(balanced["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().starts_with(note)), "{balanced}");
    let case = junit_case(&xml, "test_balanced");
    assert!(case.contains(&format!("<skipped message=\"{note}")) && !case.contains("<failure"), "{case}");
    assert!(!xml.contains("the run ended while it was running"), "{xml}");
    assert_eq!(drafts, ["run.md"]);
    assert_tree_gone(dir.path());
}

/// The hang of `test_hang_mp_python_locks`: regrtest (or its worker) joins a forked child whose
/// two threads deadlock on Python locks. Each process gives its own Python stacks, and every
/// process of the hang is ended as the hang's, none left behind.
fn assert_forked_child_stacks(run: &Run) -> &Value {
    let hang = only_hang(run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    assert_eq!(hang["test"], "test_hang_mp_python_locks");
    let processes = hang["processes"].as_array().expect("processes");
    let python_of = |process: &Value| -> Vec<String> {
        process["threads"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| t["python_frames"].as_array().into_iter().flatten())
            .filter_map(|f| f["function"].as_str().map(str::to_owned))
            .collect()
    };
    let stuck = processes.iter().find(|p| p["pid"] == hang["pid"]).expect("the stuck process");
    assert!(python_of(stuck).contains(&"test_join_deadlocked_child".to_string()), "{hang}");
    let child = processes.iter().find(|p| p["pid"] != hang["pid"]).unwrap_or_else(|| panic!("no child: {hang}"));
    let functions = python_of(child);
    for f in ["child_first_then_second", "child_second_then_first", "deadlock_two_threads"] {
        assert!(functions.contains(&f.to_string()), "{f} missing from the child's {functions:?}: {hang}");
    }
    assert!(!python_of(stuck).contains(&"child_first_then_second".to_string()), "{hang}");
    assert_eq!(run.json()["leftover_processes"], serde_json::json!([]), "{}", run.stderr);
    assert!(!run.stderr.contains("ended leftover process"), "{}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    hang
}

#[test]
fn a_forked_child_deadlocked_on_python_locks_gives_its_own_python_stacks() {
    let dir = testdir();
    let run = leakcheck(&["--hang-timeout", "4"], &as_strs(&regrtest(dir.path(), &[], &["test_hang_mp_python_locks"])));
    assert_forked_child_stacks(&run);
    // regrtest itself was the stuck process: leakcheck's SIGUSR1 ended it, and says so.
    let status = &run.json()["status"];
    assert_eq!(
        (status["signal"].as_str(), status["ended_for_hang"].as_bool()),
        (Some("SIGUSR1"), Some(true)),
        "{status}"
    );
    assert!(
        run.stderr.contains("leakcheck: the command was killed by SIGUSR1 (leakcheck's, for the hang"),
        "{}",
        run.stderr
    );
    assert_tree_gone(dir.path());
}

#[test]
fn a_worker_with_a_forked_child_deadlocked_on_python_locks_gives_both_stacks() {
    let dir = testdir();
    let run = leakcheck(
        &["--hang-timeout", "4"],
        &as_strs(&regrtest(dir.path(), &["-j", "2"], &["test_hang_mp_python_locks", "test_balanced"])),
    );
    assert_forked_child_stacks(&run);
    assert_eq!(run.test("test_balanced")["outcome"], "passed", "{}", run.stderr);
    let status = &run.json()["status"];
    assert_eq!((status["exit_code"].as_i64(), status["ended_for_hang"].as_bool()), (Some(2), Some(false)), "{status}");
    assert_tree_gone(dir.path());
}

#[test]
fn a_quiet_sleeper_is_not_a_hang() {
    // Sleeping longer than the hang timeout, in one `time.sleep`: waiting for time, not stuck.
    let dir = testdir();
    let run = leakcheck_in(
        None,
        &["--hang-timeout", "3"],
        &as_strs(&regrtest(dir.path(), &[], &["test_quiet_sleeper"])),
        &[("LEAKCHECK_FIXTURE_SLEEP", "8")],
    );
    assert_eq!(run.json()["hangs"], serde_json::json!([]), "{}", run.stderr);
    assert_eq!(run.test("test_quiet_sleeper")["outcome"], "passed");
    assert_eq!(run.code(), Some(0));
}

/// A test waiting for time to pass in a timed wait rather than a sleep: `threading.Event().wait(8)`
/// (a futex wait to a deadline) beside faulthandler's watchdog thread (regrtest's `--timeout`,
/// in its own timed wait), and `select.select` on a pipe with a timeout in a `-j` worker. Every
/// thread waits for a time that comes before buildbot's no-output kill: not a hang.
#[test]
fn a_timed_wait_is_waiting_for_time_not_a_hang() {
    for (how, flags) in [("event", &["--timeout", "300"][..]), ("select", &["-j", "2"][..])] {
        let dir = testdir();
        let run = leakcheck_in(
            None,
            &["--hang-timeout", "3"],
            &as_strs(&regrtest(dir.path(), flags, &["test_quiet_sleeper"])),
            &[("LEAKCHECK_FIXTURE_SLEEP", "8"), ("LEAKCHECK_FIXTURE_SLEEP_HOW", how)],
        );
        assert_no_hang(&run, "test_quiet_sleeper", &format!("{how}, {flags:?}"));
    }
}

/// A Python thread in one `time.sleep` while the test's thread joins it, with a hang timeout
/// shorter than the early inspection's wait: the sleep is seen before the inspection stops it,
/// and is the same sleep after (the stop restarted it, and counted context switches).
#[test]
fn a_sleeper_seen_before_the_inspection_stopped_it_is_still_one_sleep() {
    let dir = testdir();
    let run = leakcheck_in(
        None,
        &["--hang-timeout", "1", "--grace", "2"],
        &as_strs(&regrtest(dir.path(), &[], &["test_quiet_sleeper"])),
        &[("LEAKCHECK_FIXTURE_SLEEP", "7"), ("LEAKCHECK_FIXTURE_SLEEP_IN_THREAD", "1")],
    );
    assert_no_hang(&run, "test_quiet_sleeper", "");
}

/// A C thread in one `sleep(3)` while the test's thread waits for it, in `pthread_join` or for a
/// mutex the sleeper holds: the untimed futex wait gets the process inspected within seconds, and
/// the stop breaks the relative sleep out of `clock_nanosleep` into `restart_syscall`, where it
/// goes on. Still one sleep with time left at the hang timeout: not a hang.
#[test]
fn a_c_thread_sleeping_while_another_waits_for_it_is_not_a_hang() {
    for (flags, through_mutex) in [(&[][..], "0"), (&[][..], "1"), (&["-j", "2"][..], "0")] {
        let dir = testdir();
        let run = leakcheck_in(
            None,
            &["--hang-timeout", "4", "--grace", "2"],
            &as_strs(&regrtest(dir.path(), flags, &["test_hang_c_sleeper"])),
            &[("LEAKCHECK_FIXTURE_SLEEP", "9"), ("LEAKCHECK_FIXTURE_THROUGH_MUTEX", through_mutex)],
        );
        assert_no_hang(&run, "test_hang_c_sleeper", &format!("{flags:?}, through a mutex: {through_mutex}"));
    }
}

/// The same C thread sleeping in a loop (inspected early the same way): no progress after the
/// timeout, like any loop of sleeps.
#[test]
fn a_c_thread_sleeping_in_a_loop_while_another_waits_for_it_becomes_no_progress() {
    let dir = testdir();
    let run = leakcheck_in(
        None,
        &["--hang-timeout", "4", "--grace", "2"],
        &as_strs(&regrtest(dir.path(), &[], &["test_hang_c_sleeper"])),
        &[("LEAKCHECK_FIXTURE_SLEEP", "2"), ("LEAKCHECK_FIXTURE_ROUNDS", "300")],
    );
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    assert_eq!(hang["test"], "test_hang_c_sleeper");
    assert!(has_frame(hang, "sleep_in_c", hangfix_line("sleep(sleeper_seconds); /*")), "{hang}");
    assert!(has_frame(hang, "join_c_sleeper", hangfix_line("pthread_join(sleeper, NULL); /*")), "{hang}");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// The test's thread blocked forever on a mutex a third thread holds, beside a C thread in one
/// sleep of 120 s: the sleeper is not shown to hold that mutex, so its sleep is no reason to wait,
/// and the hang is reported after the hang timeout, not once the sleep ends.
#[test]
fn a_thread_blocked_on_a_lock_the_sleeper_does_not_hold_is_reported_after_the_timeout() {
    let dir = testdir();
    let run = leakcheck_in(
        None,
        &["--hang-timeout", "3"],
        &as_strs(&regrtest(dir.path(), &[], &["test_hang_beside_sleeper"])),
        &[("LEAKCHECK_FIXTURE_SLEEP", "120")],
    );
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    assert_eq!(hang["test"], "test_hang_beside_sleeper");
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    let quiet: u64 = summary
        .strip_prefix("no output for ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(quiet < 60, "reported after the sleep rather than the timeout: {summary}");
    assert!(has_frame(hang, "block_beside_sleeper", hangfix_line("pthread_mutex_lock(&not_the_sleepers); /*")));
    assert!(!hang["notes"].to_string().contains("the report waited"), "{}", hang["notes"]);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// The same, blocked on a semaphore nobody posts, beside a sleep of 6 s: a semaphore records no
/// holder and the sleeper could post it once it wakes, so the sleep is waited for; once it ended
/// the hang is reported, and the report says that it waited for that sleeper.
#[test]
fn a_report_held_back_for_a_sleeper_says_it_waited_for_it() {
    let dir = testdir();
    let run = leakcheck_in(
        None,
        &["--hang-timeout", "3"],
        &as_strs(&regrtest(dir.path(), &[], &["test_hang_beside_sleeper"])),
        &[("LEAKCHECK_FIXTURE_SLEEP", "6"), ("LEAKCHECK_FIXTURE_ON_SEMAPHORE", "1")],
    );
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    let notes = hang["notes"].to_string();
    assert!(notes.contains("the report waited") && notes.contains("in one sleep"), "{notes}");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

#[test]
fn a_silent_loop_of_short_sleeps_becomes_no_progress_after_the_timeout() {
    let dir = testdir();
    let run = leakcheck_in(
        None,
        &["--hang-timeout", "4", "--grace", "2"],
        // regrtest's --timeout: faulthandler's watchdog thread waits beside the loop, in one
        // timed wait that ends long before buildbot's kill. It does not make the loop a wait.
        &as_strs(&regrtest(dir.path(), &["--timeout", "300"], &["test_busy_loop"])),
        &[("LEAKCHECK_FIXTURE_SPIN", "300"), ("LEAKCHECK_FIXTURE_NAP", "0.2")],
    );
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    assert_eq!(hang["test"], "test_busy_loop");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// The same loop with each sleep in a new `sleep` process (a new thread each time, never seen
/// asleep before): still a loop, not one sleep.
#[test]
fn a_silent_loop_of_sleep_processes_becomes_no_progress_after_the_timeout() {
    let dir = testdir();
    let run = leakcheck_in(
        None,
        &["--hang-timeout", "4", "--grace", "2"],
        &as_strs(&regrtest(dir.path(), &[], &["test_busy_loop"])),
        &[("LEAKCHECK_FIXTURE_SPIN", "60"), ("LEAKCHECK_FIXTURE_NAP", "3"), ("LEAKCHECK_FIXTURE_NAP_PROCESS", "1")],
    );
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    assert_eq!(hang["test"], "test_busy_loop");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

#[test]
fn a_mutex_shared_with_a_live_process_is_not_a_hang() {
    // The child waits 5 s for a process-shared mutex its parent holds: its owner is no thread of
    // the child, yet alive.
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest(dir.path(), &[], &["test_hang_pshared"])));
    assert_eq!(run.json()["hangs"], serde_json::json!([]), "{}", run.stderr);
    assert_eq!(run.test("test_hang_pshared")["outcome"], "passed", "{}", run.stderr);
    assert_eq!(run.code(), Some(0));
}

/// A lock cycle through `pthread_cond_wait`'s re-lock of its mutex on wakeup: glibc's
/// `__pthread_mutex_cond_lock` is a mutex's lock function like `pthread_mutex_lock`.
#[test]
fn a_lock_cycle_through_a_condition_variables_relock_is_proved() {
    let dir = testdir();
    // A proof reports it at once; the timeout only bounds a run that proves nothing.
    let run = leakcheck(&["--hang-timeout", "30"], &as_strs(&regrtest(dir.path(), &[], &["test_hang_cond_relock"])));
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{hang}");
    assert_eq!(hang["test"], "test_hang_cond_relock");
    assert!(has_frame(hang, "cond_waiter", hangfix_line("pthread_cond_wait(&cond_var, &cond_mutex); /*")), "{hang}");
    assert!(has_frame(hang, "cond_signaller", hangfix_line("pthread_mutex_lock(&cond_other); /*")), "{hang}");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// A process-private mutex in MAP_SHARED memory, locked by the parent after the fork while it
/// waits for the child, which waits for it: the owner is the parent's live main thread, not a
/// lost owner. No proof (only the child is seen waiting); the no-progress summary names the
/// owner, its process and the mutex's kind.
#[test]
fn a_private_mutex_in_shared_memory_held_by_a_live_parent_is_no_lost_owner() {
    let dir = testdir();
    let run = leakcheck(&["--hang-timeout", "6"], &as_strs(&regrtest(dir.path(), &[], &["test_hang_shared_private"])));
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    let parent = hang["pid"].as_i64().expect("a pid");
    let summary = hang["diagnosis"]["summary"].as_str().expect("a summary");
    assert!(
        summary.contains(&format!("locked by thread {parent} of process {parent} (alive): a process-private mutex")),
        "{summary}"
    );
    assert_eq!(hang["diagnosis"]["locks"][0]["owner"], parent, "{hang}");
    assert!(
        has_frame(hang, "shared_private_mutex", hangfix_line("pthread_mutex_lock(m); /* held by the parent")),
        "{hang}"
    );
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// A lock cycle 200 C calls deep: each stack is cut (bounded work), and says so, keeping its
/// innermost frames (the waits) and its outermost ones (the thread's entry point).
#[test]
fn a_deep_stack_is_cut_and_says_so_keeping_its_entry_point() {
    let dir = testdir();
    let run = leakcheck(&["--hang-timeout", "30"], &as_strs(&regrtest(dir.path(), &[], &["test_hang_deep"])));
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{hang}");
    let threads: Vec<&Value> = hang["processes"][0]["threads"].as_array().expect("threads").iter().collect();
    let other = threads
        .iter()
        .find(|t| t["frames"].as_array().into_iter().flatten().any(|f| f["function"] == "deep_other"))
        .unwrap_or_else(|| panic!("the started thread's entry point is kept: {hang}"));
    let cut = &other["truncated"];
    assert_eq!(cut["outermost"], true, "{other}");
    assert!(cut["omitted"].as_u64().is_some_and(|n| n > 100), "{other}");
    let frames = other["frames"].as_array().expect("frames");
    let at = cut["at"].as_u64().expect("at") as usize;
    assert!(frames[..at].iter().any(|f| f["function"] == "lock_deep_down"), "{other}");
    assert!(frames[at..].iter().any(|f| f["function"] == "start_thread"), "{other}");
    // In stack frames, the unit of `omitted`, whatever inlined frames `at` counts.
    let omitted = cut["omitted"].as_u64().unwrap_or_default();
    let stack_frames = frames[..at].iter().filter(|f| f["inlined"] == false).count();
    let said = format!("[stack cut: {omitted} stack frames left out after the innermost {stack_frames}");
    assert!(run.stderr.contains(&said), "{said}: {}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// A daemon a test started (fork, setsid, fork, exec) deadlocks while the next test sleeps: it is
/// outside regrtest's tree, re-parented to leakcheck, so the test running when it is found is not
/// blamed (sequentially, where the output names that test, and with -j 2, where it names none).
#[test]
fn a_deadlocked_daemon_outside_the_tree_is_no_tests_hang() {
    for flags in [&[][..], &["-j", "2"][..]] {
        let dir = testdir();
        let run = leakcheck_in(
            None,
            &["--hang-timeout", "0"],
            &as_strs(&regrtest(dir.path(), flags, &["test_hang_daemon", "test_quiet_sleeper"])),
            &[("LEAKCHECK_FIXTURE_SLEEP", "8")],
        );
        let hangs = run.json()["hangs"].as_array().expect("hangs");
        assert_eq!(hangs.len(), 1, "{flags:?}: {}", run.stderr);
        let hang = &hangs[0];
        assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{flags:?}: {hang}");
        assert_eq!(hang["test"], Value::Null, "{flags:?}: {hang}");
        let summary = hang["diagnosis"]["summary"].as_str().expect("a summary");
        assert!(summary.contains("outside the command's process tree"), "{summary}");
        for test in ["test_hang_daemon", "test_quiet_sleeper"] {
            assert_eq!(run.test(test)["outcome"], "passed", "{flags:?}: {}", run.stderr);
        }
        assert!(run.stderr.contains(", 1 hang in no test"), "{flags:?}: {}", run.stderr);
        assert_tree_gone(dir.path());
    }
}

#[test]
fn a_write_waiting_for_stdios_lock_is_not_a_hang() {
    // The test's write to stderr waits 5 s in glibc's `__lll_lock_wait_private` for the lock a C
    // thread holds: a stdio lock is no pthread mutex, and has no owner TID where a mutex has one.
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest(dir.path(), &[], &["test_hang_stdio_wait"])));
    assert_eq!(run.json()["hangs"], serde_json::json!([]), "{}", run.stderr);
    assert_eq!(run.test("test_hang_stdio_wait")["outcome"], "passed", "{}", run.stderr);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

#[test]
fn a_deadlock_on_stdios_lock_is_no_progress_not_a_lost_owner() {
    // stderr's lock against a mutex: the mutex's owner is known, the stdio lock's is not, so
    // nothing is proved before the timeout.
    let dir = testdir();
    let run = leakcheck(&["--hang-timeout", "4"], &as_strs(&regrtest(dir.path(), &[], &["test_hang_stdio_cycle"])));
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    assert_eq!(hang["test"], "test_hang_stdio_cycle");
    assert!(has_frame(hang, "stdio_cycle", hangfix_line("stdio_cycle: never printed")), "{hang}");
    assert!(has_frame(hang, "hold_stderr_take_gate", hangfix_line("pthread_mutex_lock(&stdio_gate); /*")), "{hang}");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

#[test]
fn a_deadlocked_subprocess_of_a_worker_is_ended_alone() {
    // The stuck process is a new interpreter a test started in a `-j` worker: the hang names the
    // worker's test, and only the subprocess is ended, so the test sees it die and passes.
    let dir = testdir();
    let run =
        leakcheck(&[], &as_strs(&regrtest(dir.path(), &["-j", "2"], &["test_hang_in_subprocess", "test_balanced"])));
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{hang}");
    assert_eq!(hang["test"], "test_hang_in_subprocess", "{hang}");
    assert!(has_frame(hang, "take_first_then_second", hangfix_line("pthread_mutex_lock(&second); /* deadlocks")));
    // A new interpreter has no faulthandler handler for SIGUSR1: no Python stacks, and a note why.
    let notes: Vec<&str> = hang["notes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let no_handler = format!("process {} (", hang["pid"]);
    assert!(
        notes.iter().any(|n| n.starts_with(&no_handler)
            && n.contains("no Python stacks: it has no handler for SIGUSR1")
            && n.contains("not in a new interpreter a test starts")),
        "{notes:?}"
    );
    let json = run.json();
    assert_eq!(json["summary"]["hung"], serde_json::json!(["test_hang_in_subprocess"]), "{}", run.stderr);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("test_hang_in_subprocess passed"), "the worker went on: {stdout}");
    assert_eq!(run.test("test_balanced")["outcome"], "passed", "{}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// A test's subprocess that ignores SIGTERM and deadlocks is still there when the grace period
/// after its SIGTERM runs out: the SIGKILL that ends it is in the hang's notes (the run's
/// `killed_after_grace` covers only the whole tree).
#[test]
fn a_hangs_process_that_ignored_sigterm_is_said_to_have_needed_sigkill() {
    let dir = testdir();
    let run = leakcheck(&["--grace", "2"], &as_strs(&regrtest(dir.path(), &[], &["test_hang_ignoring_sigterm"])));
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{hang}");
    let notes: Vec<&str> = hang["notes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let expected = format!("process {} (", hang["pid"]);
    assert!(
        notes.iter().any(|n| n.starts_with(&expected)
            && n.contains("ignored SIGTERM")
            && n.contains("--grace (2 s)")
            && n.ends_with("killed with SIGKILL")),
        "{notes:?}"
    );
    assert!(run.stderr.contains("ignored SIGTERM (or handled it and went on)"), "{}", run.stderr);
    assert_eq!(run.json()["status"]["killed_after_grace"], false, "{}", run.stderr);
    assert_eq!(run.test("test_hang_ignoring_sigterm")["outcome"], "hung", "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// A test's subprocess deadlocked, found by the run's silence (the late path, which inspects
/// regrtest with its descendants) before the early path's still-process check: only the
/// subprocess is ended and asked for faulthandler's dump. regrtest, listed with it, catches
/// SIGUSR1 too, and died of it (faulthandler chains to the default action) when it was asked.
#[test]
fn a_subprocess_deadlock_found_by_the_silence_ends_the_subprocess_alone() {
    let dir = testdir();
    let tests = ["test_hang_in_subprocess_late", "test_balanced"];
    let run = leakcheck(&["--hang-timeout", "2"], &as_strs(&regrtest(dir.path(), &[], &tests)));
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{hang}");
    assert_eq!(hang["test"], "test_hang_in_subprocess_late", "{hang}");
    let regrtest = |p: &Value| p["command"].as_str().is_some_and(|c| c.contains(" -m test "));
    let processes = hang["processes"].as_array().expect("processes");
    assert!(
        processes.len() == 2 && processes.iter().any(regrtest),
        "found by the late path, regrtest listed with the subprocess: {hang}"
    );
    assert!(processes.iter().any(|p| p["pid"] == hang["pid"] && !regrtest(p)), "{hang}");
    // Neither has Python stacks, and the notes say why: regrtest is not ended, and the new
    // interpreter has no faulthandler handler for SIGUSR1.
    let notes: Vec<&str> = hang["notes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let regrtest_pid = processes.iter().find(|p| regrtest(p)).map(|p| p["pid"].clone()).expect("regrtest");
    assert!(
        notes.iter().any(|n| n.starts_with(&format!("process {regrtest_pid} ("))
            && n.contains("no Python stacks: it was not asked for faulthandler's dump")
            && n.contains(&format!("not ended for this hang (process {} and its descendants are)", hang["pid"]))),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with(&format!("process {} (", hang["pid"]))
            && n.contains("no Python stacks: it has no handler for SIGUSR1")),
        "{notes:?}"
    );
    let status = &run.json()["status"];
    assert_eq!(status["signal"], Value::Null, "regrtest went on: {status}");
    assert_eq!(status["ended_for_hang"], false, "{status}");
    assert_eq!(status["exit_code"], 0, "{status}: {}", run.stderr);
    assert_eq!(run.test("test_balanced")["outcome"], "passed", "{}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// regrtest's `-R` marks, one per repetition, flushed on a line that ends only with the last:
/// each is output, so a slow `-R` run that works is no hang. Its six repetitions of 1 s take
/// longer than the hang timeout; none alone does. In a `-j` worker the marks grow its file.
#[test]
fn a_slow_refleak_run_printing_its_marks_is_no_hang() {
    for flags in [&["-R", "3:3"][..], &["-R", "3:3", "-j", "2"][..]] {
        let dir = testdir();
        let run = leakcheck_in(
            None,
            &["--hang-timeout", "4"],
            &as_strs(&regrtest(dir.path(), flags, &["test_busy_loop"])),
            &[("LEAKCHECK_FIXTURE_SPIN", "1")],
        );
        assert_no_hang(&run, "test_busy_loop", &format!("{flags:?}"));
    }
}

/// A thread a test left running holds regrtest's exit (`threading._shutdown` waits for it, and
/// regrtest's summary is still in its stdout buffer): the hang is at interpreter exit, after the
/// tests. It is no test's: not the last one's, which passed, and which the output still names.
#[test]
fn a_hang_at_interpreter_exit_is_after_the_tests() {
    let dir = testdir();
    let tests = ["test_hang_at_exit", "test_balanced"];
    let run = leakcheck(&["--hang-timeout", "3"], &as_strs(&regrtest(dir.path(), &[], &tests)));
    let hang = only_hang(&run);
    assert_eq!(hang["test"], Value::Null, "{hang}");
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    assert!(summary.starts_with("at interpreter exit, after the tests"), "{hang}");
    assert!(summary.contains("threading._shutdown waits for every non-daemon thread"), "{summary}");
    assert_eq!(run.json()["summary"]["hung"], serde_json::json!([]), "{}", run.stderr);
    // The headline printed when it was found says so as the summary line counts it.
    let headline = "leakcheck: HANG in no test (no-progress): at interpreter exit, after the tests";
    assert!(run.stderr.contains(headline), "{}", run.stderr);
    assert!(run.stderr.contains(", 1 hang in no test ----"), "{}", run.stderr);
    assert_ne!(run.test("test_balanced")["outcome"], "hung", "{}", run.stderr);
    assert_eq!(run.json()["status"]["ended_for_hang"], true, "{}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// A `-j` worker stuck at its interpreter exit after a test that leaked (each repetition left a
/// thread blocked for good, which `threading._shutdown` waits for): regrtest's `-R` check ran
/// through in the worker and printed its failing leak lines, then leakcheck ended the worker
/// and regrtest reported it `crashed`. Those lines are regrtest's report of the leak, as
/// sequentially: no leak "not reported by regrtest". The hang is the test's (regrtest fails the
/// test whose worker does not exit), and its summary says that the test had ended.
#[test]
fn a_worker_stuck_at_exit_after_a_leak_regrtest_printed_keeps_regrtests_report() {
    let dir = testdir();
    let work = tempfile::tempdir().expect("a temporary directory");
    let junit = work.path().join("junit.xml");
    let run = leakcheck(
        &["--hang-timeout", "3", "--grace", "2", "--junit-xml", &path_str(&junit)],
        &as_strs(&regrtest(dir.path(), &["-j", "2", "-R", "3:3"], &["test_hang_at_exit", "test_balanced"])),
    );
    let hang = only_hang(&run);
    assert_eq!(hang["test"], "test_hang_at_exit", "{hang}");
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.starts_with("at interpreter exit, after this -j worker's test (the main thread is in Py_FinalizeEx's"),
        "{summary}"
    );
    let test = run.test("test_hang_at_exit");
    assert_eq!(test["outcome"], "hung", "{test}");
    assert_eq!(test["repetitions"]["complete"], true, "{test}");
    let regrtest = &test["regrtest"];
    assert!(regrtest["failing"].as_array().is_some_and(|f| f.contains(&Value::from("references"))), "{test}");
    assert_eq!(regrtest["leaked"], true, "{test}");
    assert_eq!(test["leaked"], true, "{test}");
    assert_eq!(test["leak_not_reported_by_regrtest"], false, "{test}");
    assert_eq!(run.json()["summary"]["leaked_not_reported_by_regrtest"], serde_json::json!([]), "{}", run.stderr);
    assert!(!run.stderr.contains("not reported by regrtest"), "{}", run.stderr);
    let xml = std::fs::read_to_string(&junit).expect("the JUnit XML");
    assert!(!xml.contains("not reported by regrtest"), "{xml}");
    assert_eq!(run.test("test_balanced")["outcome"], "passed", "{}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// An atexit handler that joins a daemon thread blocked for good holds regrtest's exit:
/// threading._shutdown does not wait for a daemon thread, the handler does. The summary says
/// what the main thread's frames show, an atexit handler, not threading._shutdown.
#[test]
fn a_hang_in_an_atexit_handler_is_said_to_be_in_one() {
    let dir = testdir();
    let work = tempfile::tempdir().expect("a temporary directory");
    let junit = work.path().join("junit.xml");
    let run = leakcheck(
        &["--hang-timeout", "3", "--grace", "2", "--annotations", "github", "--junit-xml", &path_str(&junit)],
        &as_strs(&regrtest(dir.path(), &["-R", "3:3"], &["test_hang_in_atexit"])),
    );
    let hang = only_hang(&run);
    assert_eq!(hang["test"], Value::Null, "{hang}");
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.starts_with("at interpreter exit, after the tests (the main thread runs an atexit handler"),
        "{summary}"
    );
    assert!(!summary.contains("threading._shutdown"), "{summary}");
    assert!(python_functions(hang).contains(&"_join_all".to_string()), "{hang}");
    // regrtest's result line and summary were in its buffered stdout, lost when it was ended;
    // the shim measured all 6 repetitions, and regrtest warned of the thread the test left
    // (threading._dangling): its verdict was env changed, and the hang is the run's, not the
    // test's, whose JUnit case does not fail.
    let test = run.test("test_hang_in_atexit");
    assert_eq!(test["repetitions"]["complete"], true, "{test}");
    assert_eq!(test["outcome"], "env_changed", "{test}");
    let notes = test["notes"].to_string();
    assert!(notes.contains("were lost with its buffered stdout"), "{notes}");
    let xml = std::fs::read_to_string(&junit).expect("the JUnit XML");
    let case = xml.split("<testcase ").find(|c| c.contains(r#"name="test_hang_in_atexit""#)).expect("its case");
    assert!(!case.contains("<failure"), "{xml}");
    // The hang is the run's: its case fails with it.
    let run_case = xml.split("<testcase ").find(|c| c.contains(r#"name="run""#)).expect("the run's case");
    assert!(run_case.contains("hung (no-progress): at interpreter exit"), "{xml}");
    // The hang's annotation points at the handler's line, not at threading.py's wait.
    let source = std::fs::read_to_string(dir.path().join("test_hang_in_atexit.py")).expect("the fixture");
    let join_line = source.lines().position(|l| l.contains("thread.join()")).expect("its join") + 1;
    let stdout = String::from_utf8_lossy(&run.stdout);
    let annotation = stdout.lines().find(|l| l.starts_with("::error ") && l.contains("hung")).expect("the annotation");
    assert!(annotation.contains(&format!("test_hang_in_atexit.py,line={join_line},")), "{annotation}");
    assert_eq!(run.json()["status"]["ended_for_hang"], true, "{}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// 120 Python threads and the test thread all blocked: faulthandler dumps 100 threads' stacks,
/// the newest first, and stops; the test thread's, the oldest, is not among them. The hang says
/// so in a note rather than showing the thread as one that runs no Python code.
#[test]
fn threads_past_faulthandler_s_hundred_are_named_in_a_note() {
    let dir = testdir();
    let run = leakcheck_in(
        None,
        &["--hang-timeout", "3", "--grace", "2"],
        &as_strs(&regrtest(dir.path(), &[], &["test_hang_many_threads"])),
        &[],
    );
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    let pid = hang["pid"].as_i64().expect("a pid");
    let process = hang["processes"].as_array().and_then(|p| p.iter().find(|p| p["pid"] == pid)).expect("its process");
    let threads = process["threads"].as_array().expect("threads");
    assert_eq!(threads.len(), 121, "{hang}");
    let with_stacks = threads.iter().filter(|t| t["python_frames"].as_array().is_some_and(|f| !f.is_empty())).count();
    assert_eq!(with_stacks, 100, "{hang}");
    let main = threads.iter().find(|t| t["tid"] == pid).expect("the main thread");
    assert_eq!(main["python_frames"], serde_json::json!([]), "{hang}");
    let notes: Vec<&str> = hang["notes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let note = format!(
        "process {pid}: faulthandler writes the Python stacks of 100 threads at most, the newest first, and \
         stopped there: 21 thread(s) have none, the main thread among them"
    );
    assert!(notes.contains(&note.as_str()), "{notes:?}");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

#[test]
fn a_silent_busy_loop_becomes_no_progress_only_after_the_timeout() {
    let dir = testdir();
    let start = std::time::Instant::now();
    let run = leakcheck_in(
        None,
        &["--hang-timeout", "5", "--grace", "2"],
        &as_strs(&regrtest(dir.path(), &["-j", "2"], &["test_busy_loop", "test_balanced"])),
        &[("LEAKCHECK_FIXTURE_SPIN", "300")],
    );
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    assert_eq!(hang["test"], "test_busy_loop");
    // Busy and silent, not blocked: the summary says the thread was running.
    let summary = hang["diagnosis"]["summary"].as_str().expect("a summary");
    assert!(summary.contains("was running (state R) and gaining CPU time: busy without output"), "{summary}");
    // The thread the summary names is the diagnosis's, as a GIL waiter's or a cycle's are.
    let threads = hang["diagnosis"]["threads"].as_array().expect("the diagnosis's threads");
    assert!(!threads.is_empty(), "{hang}");
    for tid in threads {
        assert!(summary.contains(&format!("thread {tid} of process ")), "{tid}: {summary}");
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(120), "ended long before the loop would");
    assert!(python_functions(hang).contains(&"test_spin".to_string()), "{hang}");
    assert_eq!(run.test("test_balanced")["outcome"], "passed", "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// A `-j` worker's output goes to a temporary file that regrtest prints only when the test ends:
/// the run's output says nothing of it. A worker that prints as it works (longer than the hang
/// timeout, on the CPU and asleep by turns) is making progress; the deadlocked worker next to it,
/// silent in its own file, is the one hang, and its summary says whose output was missing.
#[test]
fn a_worker_printing_as_it_works_is_no_hang_beside_a_deadlocked_one() {
    let dir = testdir();
    let run = leakcheck_in(
        None,
        &["--hang-timeout", "3", "--grace", "2"],
        &as_strs(&regrtest(dir.path(), &["-j", "2"], &["test_hang_python_locks", "test_chatty_worker"])),
        &[("LEAKCHECK_FIXTURE_CHATTY", "10")],
    );
    let hang = only_hang(&run);
    assert_eq!(
        (hang["test"].as_str(), hang["diagnosis"]["kind"].as_str()),
        (Some("test_hang_python_locks"), Some("no-progress"))
    );
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.starts_with("no output for ") && summary.contains(" s from this -j worker (its own output"),
        "{summary}"
    );
    assert_eq!(run.test("test_chatty_worker")["outcome"], "passed", "{}", run.stderr);
    assert_eq!(run.json()["summary"]["hung"], serde_json::json!(["test_hang_python_locks"]), "{}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// A hang that outlives the hang timeout while it is being ended (it ignores SIGUSR1 and
/// SIGTERM: only the grace period's SIGKILL ends it) is one hang, whether the stuck process is
/// regrtest itself or a `-j` worker: one in the report, one JUnit failure, `1 hung`.
#[test]
fn a_hang_outliving_the_timeout_while_it_is_ended_is_reported_once() {
    for flags in [&[][..], &["-j", "2"][..]] {
        let dir = testdir();
        let work = tempfile::tempdir().expect("a temporary directory");
        let junit = work.path().join("junit.xml");
        let run = leakcheck(
            &["--hang-timeout", "3", "--grace", "8", "--junit-xml", &path_str(&junit)],
            &as_strs(&regrtest(dir.path(), flags, &["test_hang_stubborn"])),
        );
        let hang = only_hang(&run);
        assert_eq!(
            (hang["test"].as_str(), hang["diagnosis"]["kind"].as_str()),
            (Some("test_hang_stubborn"), Some("no-progress"))
        );
        assert!(run.stderr.contains(", 0 leaked, 1 hung ----"), "{flags:?}: {}", run.stderr);
        // It ignores SIGUSR1: not asked for a dump, and a note says why it has no Python stacks.
        let notes = hang["notes"].to_string();
        assert!(
            notes.contains(&format!("process {} (", hang["pid"]))
                && notes.contains("no Python stacks: it ignores SIGUSR1 (SIG_IGN)"),
            "{flags:?}: {notes}"
        );
        let xml = std::fs::read_to_string(&junit).expect("the JUnit XML");
        assert_eq!(xml.matches(r#"type="hang""#).count(), 1, "{flags:?}: {xml}");
        assert_eq!(run.code(), Some(102), "{flags:?}: {}", run.stderr);
        assert_tree_gone(dir.path());
    }
}

#[test]
fn a_stopped_process_is_said_to_be_stopped_and_ended_without_the_grace_period() {
    // The test waits for a child stopped by SIGSTOP. The child gets SIGCONT after its SIGTERM:
    // it ends at once, not when the grace period has run out.
    let dir = testdir();
    let start = std::time::Instant::now();
    let run = leakcheck(
        &["--hang-timeout", "3", "--grace", "60"],
        &as_strs(&regrtest(dir.path(), &[], &["test_hang_stopped_child"])),
    );
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("is stopped by a signal (state T"), "{summary}");
    assert!(python_functions(hang).contains(&"test_wait_for_stopped_child".to_string()), "{hang}");
    assert_eq!(run.json()["status"]["killed_after_grace"], false, "{}", run.stderr);
    // The stopped child was ended with regrtest, as the hang's: not left behind.
    assert_eq!(run.json()["leftover_processes"], serde_json::json!([]), "{}", run.stderr);
    assert_eq!(run.json()["status"]["ended_for_hang"], true, "{}", run.stderr);
    assert!(start.elapsed() < std::time::Duration::from_secs(50), "{:?}", start.elapsed());
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// The test's process sits in vfork's uninterruptible wait (state D) for a child that never
/// execs: no ptrace interrupt stops it. The inspection gives up on that thread at once (it used
/// to wait for its stop for good, with leakcheck's output, signals and reports stalled), says
/// why it has no stack, and the hang is reported and ended like any other.
#[test]
fn a_process_that_cannot_be_stopped_is_reported_and_ended() {
    let dir = testdir();
    let run =
        leakcheck(&["--hang-timeout", "3", "--grace", "2"], &as_strs(&regrtest(dir.path(), &[], &["test_hang_vfork"])));
    let hang = only_hang(&run);
    assert_eq!(hang["diagnosis"]["kind"], "no-progress", "{hang}");
    assert_eq!(hang["test"], "test_hang_vfork");
    let notes: Vec<&str> = hang["notes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let parent = hang["pid"].as_i64().unwrap_or_default();
    assert!(
        notes.iter().any(|n| n.starts_with(&format!("process {parent}, thread {parent}: in an uninterruptible wait"))),
        "{notes:?}"
    );
    // The vfork child, a process of its own, was stopped and unwound: it waits in the fixture's read.
    assert!(has_frame(hang, "vfork_waiting_child", hangfix_line("if (read(fds[0], &byte, 1) == 1) {")), "{hang}");
    assert_eq!(run.test("test_hang_vfork")["outcome"], "hung");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

#[test]
fn a_process_stopped_by_a_signal_still_gives_its_python_stack() {
    // regrtest stopped itself: it is continued right after SIGUSR1, which it then handles first.
    let dir = testdir();
    let run = leakcheck(
        &["--hang-timeout", "3", "--grace", "60"],
        &as_strs(&regrtest(dir.path(), &[], &["test_hang_stopped_self"])),
    );
    let hang = only_hang(&run);
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains(&format!("process {} is stopped by a signal", hang["pid"])), "{summary}");
    assert!(python_functions(hang).contains(&"test_stop_self".to_string()), "{hang}");
    assert_eq!(hang["notes"], serde_json::json!([]), "{hang}");
    assert_eq!(run.json()["status"]["killed_after_grace"], false, "{}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// ptrace denied for real: the stuck process made itself non-dumpable, and leakcheck runs
/// without CAP_SYS_PTRACE (root drops it from its bounding set with `setpriv`; any other user
/// lacks it). The hang is still found from `/proc`, said to be unproven for want of stacks, with
/// the reason and what to change, the Python stack of the main thread, and the tree ended.
#[test]
fn without_ptrace_a_hang_is_reported_from_proc_with_the_reason() {
    let dir = testdir();
    // The effective uid: the second field of `Uid:` in /proc/self/status.
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let root =
        status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1)) == Some("0");
    let wrapper: &[&str] = if root { &["setpriv", "--bounding-set", "-sys_ptrace", "--"] } else { &[] };
    let argv = regrtest(dir.path(), &[], &["test_hang_undumpable"]);
    let run = leakcheck_wrapped(wrapper, None, &["--hang-timeout", "4"], &as_strs(&argv), &[]);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    let hang = only_hang(&run);
    assert_eq!(
        (hang["diagnosis"]["kind"].as_str(), hang["test"].as_str()),
        (Some("no-progress"), Some("test_hang_undumpable"))
    );
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("no native stacks could be read"), "{summary}");
    let notes = hang["notes"].to_string();
    assert!(notes.contains("ptrace is not permitted") && notes.contains("ptrace_scope"), "{notes}");
    // The causes as found: the process made itself non-dumpable, leakcheck lacks the capability.
    assert!(notes.contains("dumpable") && notes.contains("no CAP_SYS_PTRACE"), "{notes}");
    assert!(
        run.stderr.contains("leakcheck: warning: ") && run.stderr.contains("ptrace is not permitted"),
        "{}",
        run.stderr
    );
    let process = &hang["processes"][0];
    let threads = process["threads"].as_array().expect("the threads, from /proc");
    assert_eq!(threads.len(), 3, "main thread and the two deadlocked C threads: {process}");
    assert!(threads.iter().all(|t| t["frames"] == serde_json::json!([])));
    // faulthandler's `Current thread` is the main thread, which took the process's SIGUSR1.
    let main = threads.iter().find(|t| t["tid"] == process["pid"]).expect("the main thread");
    let python: Vec<&str> =
        main["python_frames"].as_array().into_iter().flatten().filter_map(|f| f["function"].as_str()).collect();
    assert!(python.contains(&"test_mutex_cycle_undumpable"), "{main}");
    assert_tree_gone(dir.path());
}

/// A signal handler waiting forever for a mutex the code it interrupted holds (a SIGILL of the
/// trap right after the lock): the native stack goes on through the signal frame, as gdb shows
/// it: the handler, `<signal handler called>` (the C library's trampoline, at its own address),
/// the interrupted function at the trap itself (its pc, not a return address: not looked up a
/// byte earlier, which is the lock's call on the line before), and the interpreter's frames under
/// it down to the thread's entry.
#[test]
fn a_stack_is_unwound_through_a_signal_handlers_frame() {
    let dir = testdir();
    let run = leakcheck(&["--hang-timeout", "4"], &as_strs(&regrtest(dir.path(), &[], &["test_hang_signal_handler"])));
    let hang = only_hang(&run);
    assert_eq!(hang["test"], "test_hang_signal_handler", "{hang}");
    let thread = hang["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["threads"].as_array().into_iter().flatten())
        .find(|t| t["frames"].as_array().into_iter().flatten().any(|f| f["function"] == "lock_in_handler"))
        .unwrap_or_else(|| panic!("no thread in the handler: {hang}"));
    let frames = thread["frames"].as_array().expect("frames");
    let functions: Vec<&str> = frames.iter().map(|f| f["function"].as_str().unwrap_or("??")).collect();
    let handler = functions.iter().position(|f| *f == "lock_in_handler").expect("the handler");
    let marker = &frames[handler + 1];
    assert_eq!(marker["function"], "<signal handler called>", "{functions:?}");
    assert!(marker["module"].as_str().is_some_and(|m| m.contains("libc.so")), "{marker}");
    assert_eq!(marker["line"], Value::Null, "{marker}");
    let interrupted = &frames[handler + 2];
    assert_eq!(interrupted["function"], "signal_while_locked", "{functions:?}");
    assert_eq!(interrupted["line"], hangfix_line("__builtin_trap(); /*"), "{interrupted}");
    assert!(interrupted["file"].as_str().is_some_and(|f| f.ends_with("c/hangfix.c")), "{interrupted}");
    let below = &functions[handler + 3..];
    assert!(below.contains(&"_PyEval_EvalFrameDefault"), "{functions:?}");
    assert!(below.contains(&"Py_BytesMain") || below.contains(&"main"), "{functions:?}");
    assert!(python_functions(hang).contains(&"test_signal_while_locked".to_string()), "{hang}");
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// A test replaced regrtest's faulthandler handler for SIGUSR1 with a Python one that does
/// nothing: asked for its Python stacks, the process takes the signal, writes no dump and lives
/// on. After DUMP_WAIT (3 s, checked once a second) it is ended without them, and the note says
/// so, how long leakcheck waited, and what that means, rather than that some stacks could not be
/// read.
#[test]
fn a_process_whose_sigusr1_handler_was_replaced_is_said_to_have_given_no_dump() {
    let dir = testdir();
    let run = leakcheck(
        &["--hang-timeout", "3", "--grace", "2"],
        &as_strs(&regrtest(dir.path(), &[], &["test_hang_usr1_replaced"])),
    );
    let hang = only_hang(&run);
    assert_eq!(
        (hang["test"].as_str(), hang["diagnosis"]["kind"].as_str()),
        (Some("test_hang_usr1_replaced"), Some("no-progress"))
    );
    assert_eq!(python_functions(hang), Vec::<String>::new(), "{hang}");
    let notes: Vec<&str> = hang["notes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let note = notes
        .iter()
        .find(|n| n.starts_with(&format!("process {} (", hang["pid"])) && n.contains("no Python stacks"))
        .unwrap_or_else(|| panic!("a note on the missing dump: {notes:?}"));
    assert!(note.contains(": no faulthandler dump came within "), "{note}");
    assert!(note.contains(" s of its SIGUSR1, and it took the signal and lived on"), "{note}");
    assert!(note.contains("its SIGUSR1 handler is not faulthandler's"), "{note}");
    assert!(!notes.iter().any(|n| n.contains("some Python stacks could not be read")), "{notes:?}");
    assert!(run.stderr.contains("leakcheck: warning: process "), "{}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// A Python stack deeper than the 100 frames faulthandler writes of a thread: its frames are the
/// innermost 100, marked cut in the JSON and the text; the shallow threads beside it are not.
#[test]
fn a_python_stack_deeper_than_faulthandlers_limit_is_marked_cut() {
    let dir = testdir();
    let run = leakcheck(&["--hang-timeout", "3"], &as_strs(&regrtest(dir.path(), &[], &["test_hang_deep_python"])));
    let hang = only_hang(&run);
    assert_eq!(hang["test"], "test_hang_deep_python", "{hang}");
    let threads: Vec<&Value> = hang["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["threads"].as_array().into_iter().flatten())
        .collect();
    let deep = threads
        .iter()
        .find(|t| t["python_frames"].as_array().is_some_and(|f| !f.is_empty()))
        .unwrap_or_else(|| panic!("a thread with Python frames: {hang}"));
    let frames = deep["python_frames"].as_array().expect("python_frames");
    assert_eq!(frames.len(), 100, "{deep}");
    assert!(frames.iter().all(|f| f["function"] == "recurse"), "the innermost 100: {deep}");
    assert_eq!(deep["python_frames_truncated"], true, "{deep}");
    for thread in threads.iter().filter(|t| t["tid"] != deep["tid"]) {
        assert_eq!(thread["python_frames_truncated"], false, "{thread}");
    }
    assert!(run.stderr.contains("[python stack cut: faulthandler writes 100 frames at most]"), "{}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// The deadlock `test_leave_mutex_cycle` leaves behind, the run's only hang report: a lock cycle
/// between the fixture's two threads, at their lines, on two mutexes on the heap, reported while
/// its process went on; leakcheck exits 102 for it.
fn assert_left_cycle(run: &Run) -> &Value {
    let hang = only_hang(run);
    assert_eq!(hang["diagnosis"]["kind"], "lock-cycle", "{hang}");
    assert_eq!(hang["process_went_on"], true, "{hang}");
    let b = hangfix_line("pthread_mutex_lock(&cycle->b); /* deadlocks, left behind");
    let a = hangfix_line("pthread_mutex_lock(&cycle->a); /* deadlocks, left behind");
    assert!(has_frame(hang, "left_a_then_b", b) && has_frame(hang, "left_b_then_a", a), "{hang}");
    let locks = hang["diagnosis"]["locks"].as_array().expect("locks");
    assert!(locks.len() == 2 && locks.iter().all(|l| l["memory"] == "heap"), "{hang}");
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("waits for a mutex on the heap at 0x"), "{summary}");
    assert_eq!(run.json()["status"]["ended_for_hang"], false, "{}", run.stderr);
    assert_eq!(run.json()["summary"]["hung"], serde_json::json!([]), "{}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    hang
}

/// The notes of the run's warnings that place a deadlock in a test by when it was found.
fn placement_notes(run: &Run) -> Vec<String> {
    let warnings = run.json()["warnings"].as_array().cloned().unwrap_or_default();
    warnings.iter().filter_map(Value::as_str).filter(|w| w.contains(" is given to ")).map(str::to_owned).collect()
}

/// A test leaves two threads deadlocked on two mutexes and works on (QA's F2): the deadlock is
/// real and reported at once, with the threads' stacks, as a finding of that test (its threads
/// began and deadlocked while it ran), in the text, the JSON, the JUnit XML and an issue draft;
/// but the run was not stuck (regrtest's main thread ran): nothing is ended, every test gets
/// regrtest's own result, and regrtest's summary is there.
#[test]
fn a_deadlock_a_test_leaves_behind_is_its_finding_and_the_run_goes_on() {
    let dir = testdir();
    let work = tempfile::tempdir().expect("a temporary directory");
    let (junit, drafts) = (work.path().join("junit.xml"), work.path().join("drafts"));
    let tests = ["test_leave_mutex_cycle", "test_busy_loop", "test_balanced"];
    let run = leakcheck_in(
        None,
        &["--junit-xml", &path_str(&junit), "--issue-draft", &path_str(&drafts)],
        &as_strs(&regrtest(dir.path(), &[], &tests)),
        &[("LEAKCHECK_FIXTURE_LINGER", "5"), ("LEAKCHECK_FIXTURE_SPIN", "2")],
    );
    let hang = assert_left_cycle(&run);
    assert_eq!(hang["test"], "test_leave_mutex_cycle", "{hang}");
    assert_eq!(placement_notes(&run), Vec::<String>::new(), "formed while the test ran: {}", run.stderr);
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("went on (its main thread is neither in the deadlock nor blocked)"), "{summary}");
    for test in tests {
        assert_eq!(run.test(test)["outcome"], "passed", "{test}: {}", run.stderr);
    }
    let summary = &run.json()["summary"];
    assert_eq!(summary["regrtest_result"], "SUCCESS", "{}", run.stderr);
    assert_eq!(summary["deadlocked"], serde_json::json!(["test_leave_mutex_cycle"]), "{}", run.stderr);
    assert_eq!(run.stderr.matches("leakcheck: HANG in ").count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("leakcheck: HANG in test_leave_mutex_cycle (lock-cycle): deadlock in"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("leakcheck: test_leave_mutex_cycle: DEADLOCKED (lock-cycle): "), "{}", run.stderr);
    assert!(run.stderr.contains(", 1 deadlock (its process went on) ----"), "{}", run.stderr);
    let xml = std::fs::read_to_string(&junit).expect("the JUnit XML");
    let case = junit_case(&xml, "test_leave_mutex_cycle");
    assert!(case.contains("<failure message=\"threads deadlocked (lock-cycle): deadlock in"), "{case}");
    assert!(case.contains(" type=\"hang\">"), "{case}");
    assert!(!junit_case(&xml, "test_busy_loop").contains("<failure"), "{xml}");
    let draft = std::fs::read_to_string(drafts.join("test_leave_mutex_cycle.md")).expect("the issue draft");
    assert_eq!(draft.lines().next(), Some("# test_leave_mutex_cycle deadlocks"), "{draft}");
    assert_tree_gone(dir.path());
}

/// The same test ends at once: the next test runs when the deadlock is seen. Still no hang of
/// the run. The deadlock is the first test's when a look saw it form while that test ran; else
/// it is given to the test running when it was found, and a note says that its threads began in
/// the first one, or, when the output's timeline cannot place the threads' start (a loaded
/// machine reads the two progress lines late, and no look saw the threads before their wait),
/// that when it formed is not known.
#[test]
fn a_deadlock_found_after_its_test_ended_names_the_test_its_threads_began_in() {
    let dir = testdir();
    let tests = ["test_leave_mutex_cycle", "test_busy_loop"];
    let run = leakcheck_in(None, &[], &as_strs(&regrtest(dir.path(), &[], &tests)), &[("LEAKCHECK_FIXTURE_SPIN", "4")]);
    let hang = assert_left_cycle(&run);
    match hang["test"].as_str() {
        Some("test_leave_mutex_cycle") => assert_eq!(placement_notes(&run), Vec::<String>::new(), "{}", run.stderr),
        Some("test_busy_loop") => {
            let expected = "is given to test_busy_loop, which ran when it was found; its threads began while \
                            test_leave_mutex_cycle ran: it may be that one's";
            let unknown = "is given to test_busy_loop, which ran when it was found: when it formed is not known";
            let notes = placement_notes(&run);
            assert!(notes.iter().any(|n| n.contains(expected) || n.contains(unknown)), "{}", run.stderr);
        }
        other => panic!("{other:?}: {hang}"),
    }
    for test in tests {
        assert_eq!(run.test(test)["outcome"], "passed", "{test}: {}", run.stderr);
    }
    assert_eq!(run.json()["summary"]["regrtest_result"], "SUCCESS", "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// In a `-j` worker the test is done at once and the worker exits, the deadlock with it: the
/// shim holds the worker at its exit while leakcheck looks (QA's F2 with `-j2`, where nothing
/// was reported). The deadlock is the worker's test's; the worker is not ended, its test passes
/// in regrtest, and the held worker is let go.
#[test]
fn a_worker_that_leaves_a_deadlock_behind_is_held_at_its_exit_and_reported() {
    let dir = testdir();
    let tests = ["test_leave_mutex_cycle", "test_balanced"];
    let run = leakcheck(&[], &as_strs(&regrtest(dir.path(), &["-j", "2"], &tests)));
    let hang = assert_left_cycle(&run);
    assert_eq!(hang["test"], "test_leave_mutex_cycle", "{hang}");
    let summary = hang["diagnosis"]["summary"].as_str().unwrap_or_default();
    let exited = format!("found as process {} exited (the shim held it for this look", hang["pid"]);
    assert!(summary.contains(&exited), "{summary}");
    for test in tests {
        assert_eq!(run.test(test)["outcome"], "passed", "{test}: {}", run.stderr);
    }
    assert_eq!(run.json()["summary"]["regrtest_result"], "SUCCESS", "{}", run.stderr);
    let run_dir = std::path::PathBuf::from(run.json()["run_dir"].as_str().expect("the run directory"));
    let held: Vec<_> = std::fs::read_dir(run_dir.join("held")).map(|d| d.flatten().collect()).unwrap_or_default();
    assert!(held.is_empty(), "let go: {held:?}");
    assert_tree_gone(dir.path());
}

/// A deadlock reported while its process went on does not hide a hang of that process later:
/// the next test deadlocks its main thread, and that is a hang, ended as any (its own cycle,
/// the one the main thread joins), the test `hung`. The first test works on for 8 s beside its
/// deadlock: a look must see its threads in the same waits for 2 s, once a second, on a loaded
/// machine too.
#[test]
fn a_process_that_stops_after_a_deadlock_was_reported_hangs_as_any() {
    let dir = testdir();
    let run = leakcheck_in(
        None,
        &["--hang-timeout", "0"],
        &as_strs(&regrtest(dir.path(), &[], &["test_leave_mutex_cycle", "test_hang_mutex_cycle"])),
        &[("LEAKCHECK_FIXTURE_LINGER", "8")],
    );
    let hangs = run.json()["hangs"].as_array().unwrap_or_else(|| panic!("no hangs: {}", run.stderr));
    assert_eq!(hangs.len(), 2, "{}", serde_json::to_string_pretty(hangs).unwrap());
    let (left, stuck) = (&hangs[0], &hangs[1]);
    assert_eq!((&left["test"], &left["process_went_on"]), (&Value::from("test_leave_mutex_cycle"), &Value::from(true)));
    assert_eq!(
        (&stuck["test"], &stuck["process_went_on"]),
        (&Value::from("test_hang_mutex_cycle"), &Value::from(false))
    );
    assert_eq!(stuck["diagnosis"]["kind"], "lock-cycle", "{stuck}");
    let second = hangfix_line("pthread_mutex_lock(&second); /* deadlocks");
    assert!(has_frame(stuck, "take_first_then_second", second), "{stuck}");
    let symbols: Vec<&str> =
        stuck["diagnosis"]["locks"].as_array().into_iter().flatten().filter_map(|l| l["symbol"].as_str()).collect();
    assert_eq!(symbols.len(), 2, "its own cycle, not the one left behind: {stuck}");
    assert_eq!(run.test("test_leave_mutex_cycle")["outcome"], "passed", "{}", run.stderr);
    assert_eq!(run.test("test_hang_mutex_cycle")["outcome"], "hung", "{}", run.stderr);
    assert_eq!(run.json()["status"]["ended_for_hang"], true, "{}", run.stderr);
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// A SIGTERM from outside (a build stopped) while leakcheck waits for a hung regrtest's Python
/// stacks, before it ends regrtest itself: that SIGTERM, passed on, is what ends the command,
/// and the summary says it came from outside, not that it was leakcheck's (QA's F8). The
/// fixture takes SIGUSR1 with a handler of its own and lives on, so that the wait lasts
/// (DUMP_WAIT, 3 s): the signal is sent as soon as the hang's headline is read.
#[test]
fn a_sigterm_from_outside_while_a_hang_waits_for_its_stacks_is_said_to_be_from_outside() {
    use std::io::BufRead;
    let dir = testdir();
    let work = tempfile::tempdir().expect("a temporary directory");
    let json = work.path().join("report.json");
    let argv = regrtest(dir.path(), &[], &["test_hang_usr1_replaced", "test_balanced"]);
    let mut child = KillOnDrop(
        std::process::Command::new(LEAKCHECK)
            .args(["--hang-timeout", "3", "--grace", "2", "--json", &path_str(&json), "--"])
            .args(&argv)
            .env("TMPDIR", work.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting leakcheck"),
    );
    let mut stderr = std::io::BufReader::new(child.0.stderr.take().expect("stderr piped"));
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("reading leakcheck's stderr") == 0 {
            panic!("no hang headline: {text}");
        }
        text.push_str(&line);
        if line.starts_with("leakcheck: HANG in test_hang_usr1_replaced (no-progress)") {
            break;
        }
    }
    let pid = nix::unistd::Pid::from_raw(child.0.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM to leakcheck");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("reading the rest of stderr");
    text.push_str(&rest);
    let status = wait_with_limit(&mut child, std::time::Duration::from_secs(120));
    assert_eq!(status.code(), Some(102), "{text}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).expect("the JSON report")).expect("JSON");
    let status = &report["status"];
    assert_eq!((&status["interrupted_by"], &status["signal"]), (&Value::from("SIGTERM"), &Value::from("SIGTERM")));
    assert_eq!(status["ended_for_hang"], true, "{report}");
    let said = "leakcheck: the command was killed by SIGTERM (from outside, passed on by leakcheck before it ended \
                the hung command itself)";
    assert!(text.contains(said), "{text}");
    assert!(!text.contains("(leakcheck's, ending the hung command)"), "{text}");
    assert_tree_gone(dir.path());
}

/// Two hangs of one test, in two of its methods (QA's F9): the first in a subprocess, a new
/// interpreter that gives no Python stacks, is about the method regrtest's verbose output shows
/// running then (its line waits for its status); the second about the method its own Python
/// stack shows. The issue draft names both, and its title their class.
#[test]
fn each_hang_of_a_test_names_the_method_it_was_in() {
    let dir = testdir();
    let work = tempfile::tempdir().expect("a temporary directory");
    let drafts = work.path().join("drafts");
    let run = leakcheck(
        &["--hang-timeout", "4", "--grace", "2", "--issue-draft", &path_str(&drafts)],
        &as_strs(&regrtest(dir.path(), &["-v"], &["test_hang_in_two_methods"])),
    );
    let hangs = run.json()["hangs"].as_array().unwrap_or_else(|| panic!("no hangs: {}", run.stderr));
    assert_eq!(hangs.len(), 2, "{}", serde_json::to_string_pretty(hangs).unwrap());
    assert_eq!(hangs[0]["diagnosis"]["kind"], "lock-cycle", "{}", hangs[0]);
    assert_eq!(hangs[0]["running_method"], "TwoHangsTest.test_1_subprocess_deadlocks", "{}", hangs[0]);
    assert_eq!(hangs[1]["diagnosis"]["kind"], "no-progress", "{}", hangs[1]);
    assert!(python_functions(&hangs[1]).contains(&"test_2_blocks".to_owned()), "{}", hangs[1]);
    let draft = std::fs::read_to_string(drafts.join("test_hang_in_two_methods.md")).expect("the issue draft");
    assert_eq!(draft.lines().next(), Some("# test_hang_in_two_methods: TwoHangsTest hangs (2 methods)"), "{draft}");
    let running: Vec<&str> = draft.lines().filter(|l| l.starts_with("- Running: ")).collect();
    assert_eq!(
        running,
        ["- Running: `TwoHangsTest.test_1_subprocess_deadlocks` (regrtest's verbose output when the hang was found), \
          `TwoHangsTest.test_2_blocks` (the hung thread's Python stack)"],
        "{draft}"
    );
    assert_eq!(run.code(), Some(102), "{}", run.stderr);
    assert_tree_gone(dir.path());
}

/// The last test leaves the deadlock, and regrtest exits at once: the shim holds regrtest's
/// exit for a look, and the deadlock is that test's (no test ran when it was found: a note says
/// so, when it was not seen while the test ran).
#[test]
fn a_deadlock_left_by_the_last_test_is_found_at_regrtests_exit() {
    let dir = testdir();
    let run = leakcheck(&[], &as_strs(&regrtest(dir.path(), &[], &["test_balanced", "test_leave_mutex_cycle"])));
    let hang = assert_left_cycle(&run);
    assert_eq!(hang["test"], "test_leave_mutex_cycle", "{hang}");
    for note in placement_notes(&run) {
        assert!(note.ends_with("no test ran when it was found"), "{note}");
    }
    for test in ["test_balanced", "test_leave_mutex_cycle"] {
        assert_eq!(run.test(test)["outcome"], "passed", "{test}: {}", run.stderr);
    }
    assert_eq!(run.json()["summary"]["regrtest_result"], "SUCCESS", "{}", run.stderr);
    assert_tree_gone(dir.path());
}
