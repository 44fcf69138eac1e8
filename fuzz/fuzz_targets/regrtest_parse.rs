//! Fuzz regrtest's output parser (`leakcheck::regrtest`): the input is a log, split into lines
//! and fed to `Parser::feed_line`, with the queries the run makes between lines (the running
//! test, the owner of the output, whether a line starts a part, whose `beginning` comes next),
//! then the names the shim measured (the input's `#measured NAME` lines) and `finish`. The
//! result is checked against the parser's documented bounds and serialized. Start from the
//! real captures (see fuzz/README.md). Nothing may panic, abort, hang or grow without bound.

#![no_main]

use std::collections::HashSet;

use leakcheck::regrtest::{Parser, MAX_TRACEBACK_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The last byte decides whether the run "completed" (the process exited normally).
    let completed = data.last().is_some_and(|b| b & 1 == 1);
    let mut parser = Parser::new();
    for line in data.split(|&b| b == b'\n') {
        let _ = Parser::starts_part(line);
        let _ = parser.next_beginning_is_another_tests();
        parser.feed_line(line);
        let _ = parser.current_test().map(str::len);
        let _ = parser.output_owner().map(str::len);
    }
    // The names the shim measured, as a run tells them before `finish`: lines that say so.
    let measured = data.split(|&b| b == b'\n').filter_map(|line| line.strip_prefix(b"#measured "));
    parser.measured_names(measured.map(String::from_utf8_lossy));
    let run = parser.finish(completed);
    let mut names = HashSet::new();
    for test in &run.tests {
        assert!(names.insert(test.name.as_str()), "one entry per test: {}", test.name);
        for method in &test.methods {
            assert!(method.traceback.as_ref().map_or(0, String::len) <= MAX_TRACEBACK_BYTES);
        }
    }
    serde_json::to_vec(&run).expect("the parsed run serializes");
});
