//! The binary keeps the signals it forwards blocked after the run: a SIGTERM that arrives while
//! the reports are written waits instead of killing leakcheck before they are.
//!
//! One test in its own binary: it blocks signals and runs `supervise::run`, which makes the
//! test process a child subreaper.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use leakcheck::supervise::{self, OutputSink, Stream};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};

struct Quiet;

impl OutputSink for Quiet {
    fn line(&mut self, _stream: Stream, _line: &[u8]) {}
}

fn blocked() -> SigSet {
    let mut current = SigSet::empty();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, None, Some(&mut current)).expect("reading the mask");
    current
}

#[test]
fn forwarded_signals_stay_blocked_after_the_run() {
    supervise::block_forwarded_signals();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("true");
    cmd.process_group(0);
    let supervised =
        supervise::run(cmd, Duration::from_secs(5), File::create(dir.path().join("log")).unwrap(), &mut Quiet)
            .expect("supervised");
    assert_eq!(supervised.exit, supervise::ChildExit::Exited(0));
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGQUIT] {
        assert!(blocked().contains(signal), "{signal} unblocked by the run");
    }
    // A late SIGTERM now waits: this process lives on to check it.
    nix::sys::signal::raise(Signal::SIGTERM).expect("raise");
    // SAFETY: a zeroed sigset_t is a valid argument; sigpending and sigismember only read or
    // write the set they are given.
    let pending = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut set);
        libc::sigismember(&set, libc::SIGTERM)
    };
    assert_eq!(pending, 1, "SIGTERM waits");
}
