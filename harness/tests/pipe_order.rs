//! The order in which the sink gets the lines of the child's two pipes when both held output at
//! once. The child and a blocking sink take turns through FIFOs, so that the child writes to
//! both pipes while the supervisor is busy in the sink: the next turn of the loop finds both
//! pipes full, the case where the bytes alone do not tell the order.
//!
//! One test in its own binary: `supervise::run` makes the test process a child subreaper and
//! reaps every child it has.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use leakcheck::supervise::{self, OutputSink, Stream};

/// Records the lines; at `[1] ...` and `[2] ...` lets the child write its next lines and waits
/// until it has.
struct TurnTaking {
    dir: PathBuf,
    lines: Vec<(Stream, String)>,
}

impl TurnTaking {
    fn handshake(&self, turn: u32) {
        let go = self.dir.join(format!("go{turn}"));
        File::options().write(true).open(go).and_then(|mut f| f.write_all(b"go\n")).expect("go fifo");
        let mut done = String::new();
        File::open(self.dir.join(format!("done{turn}"))).and_then(|mut f| f.read_to_string(&mut done)).expect("done");
        assert_eq!(done, "done\n");
    }
}

impl OutputSink for TurnTaking {
    fn line(&mut self, stream: Stream, line: &[u8]) {
        let text = String::from_utf8_lossy(line).into_owned();
        let turn = match text.as_str() {
            "[1] test_a" => Some(1),
            "[2] test_b" => Some(2),
            _ => None,
        };
        self.lines.push((stream, text));
        if let Some(turn) = turn {
            self.handshake(turn);
        }
    }

    /// As regrtest's sink: a test's announcement on stdout starts its section.
    fn starts_section(&self, stream: Stream, line: &[u8], _first: bool) -> bool {
        stream == Stream::Stdout && line.starts_with(b"[")
    }
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
}

#[test]
fn lines_of_both_pipes_reach_the_sink_in_the_order_they_were_written() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["go1", "done1", "go2", "done2"] {
        mkfifo(&dir.path().join(name));
    }
    // Turn 1: test_b's announcement, then its report on stderr, which the sections alone would
    // give to test_a (stderr's first piece goes before stdout's first announcement).
    // Turn 2: test_b's last words on stderr, then test_c's announcement.
    let script = r#"
        printf '[1] test_a\n'
        read go < "$1/go1"
        printf '[2] test_b\n'
        printf 'report of test_b\n' >&2
        echo done > "$1/done1"
        read go < "$1/go2"
        printf 'last words of test_b\n' >&2
        printf '[3] test_c\n'
        echo done > "$1/done2"
    "#;
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script, "sh"]).arg(dir.path()).process_group(0);
    let log = File::create(dir.path().join("log")).unwrap();
    let mut sink = TurnTaking { dir: dir.path().to_owned(), lines: Vec::new() };
    let supervised = supervise::run_with(cmd, Duration::from_secs(5), log, &mut sink, supervise::Pipes::Separate)
        .expect("supervised");
    assert_eq!(supervised.exit, supervise::ChildExit::Exited(0));

    let expected = [
        (Stream::Stdout, "[1] test_a"),
        (Stream::Stdout, "[2] test_b"),
        (Stream::Stderr, "report of test_b"),
        (Stream::Stderr, "last words of test_b"),
        (Stream::Stdout, "[3] test_c"),
    ];
    let got: Vec<(Stream, &str)> = sink.lines.iter().map(|(s, l)| (*s, l.as_str())).collect();
    assert_eq!(got, expected);
    // The log has the same order.
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines, expected.map(|(_, l)| l));
}
