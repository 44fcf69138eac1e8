use super::*;

const NO_FACTS: OutputFacts = OutputFacts {
    saw_huntrleaks: false,
    worker_thread_failure: None,
    selection: None,
    hang_after_tests: false,
    hung_between_tests: Vec::new(),
    interleaved: false,
};

fn worker_thread_failure(output: &[u8]) -> WorkerThreadFailure {
    let mut failure = WorkerThreadFailure::default();
    for line in output.split_inclusive(|&b| b == b'\n') {
        failure.line(line);
    }
    failure
}

/// The sites a note lets go that share their innermost frame (they differ in their callers
/// or Python lines: unittest's per-class lists, six of them on 3.13) are named once with
/// their count, each place as the one-line stacks name frames, a build tree's absolute path
/// by the file's name.
#[test]
fn sites_let_go_at_one_place_are_named_once_with_their_count() {
    let frame = |function: &str, file: Option<&str>| crate::symbolize::Frame {
        function: Some(function.into()),
        file: file.map(str::to_owned),
        line: file.map(|_| 279),
        column: None,
        module: "/root/.cache/leakcheck/cpython-3.13-pydebug/python".into(),
        address: 0x1000,
        inlined: false,
    };
    let list = "/root/.cache/leakcheck/cpython-3.13-pydebug/Objects/listobject.c";
    assert_eq!(crate::report::short_place(Some(&frame("PyList_New", Some(list)))), "PyList_New (listobject.c:279)");
    assert_eq!(crate::report::short_place(Some(&frame("f", None))), "f (python)");
    assert_eq!(crate::report::short_place(None), "??");
    let warmup = leaks::Refill::WarmupBlocks;
    let line = leaks::Refill::Line(crate::hang::PythonFrame {
        file: "/t/td/test_c.py".into(),
        line: 7,
        function: "T.test_c".into(),
    });
    let list = "PyList_New (listobject.c:279) in obj".to_owned();
    let float = "PyFloat_FromDouble (floatobject.c:147) in obj".to_owned();
    let described: Vec<(&leaks::Refill, String)> = [
        (&warmup, list.clone()),
        (&warmup, list.clone()),
        (&line, list.clone()),
        (&warmup, float.clone()),
        (&warmup, list.clone()),
    ]
    .into_iter()
    .collect();
    let notes = refill_notes_of(&described);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0].starts_with(
            "no leak site: PyList_New (listobject.c:279) in obj (3 sites), PyFloat_FromDouble \
             (floatobject.c:147) in obj grew in every counted repetition, but as many blocks"
        ),
        "{notes:?}"
    );
    assert!(
        notes[1].starts_with(
            "no leak site: PyList_New (listobject.c:279) in obj grew in every counted repetition while test_c.py:7 ran"
        ),
        "{notes:?}"
    );
}

/// The reason a note gives for repetitions cut short: the exception's line, not the last
/// line of a message over several (unittest's assertEqual of strings: the diff, then `:
/// msg`), nor doctest's report after its `AssertionError`; regrtest's own exception, the
/// last of a chain, and an exception group's (all indented: its last line) as they were.
#[test]
fn the_error_line_is_the_last_exceptions_first() {
    let unittest = "Traceback (most recent call last):\n  File \"/t/test_u.py\", line 4, in test_x\n    \
                    self.assertEqual(\"\u{e9}\", \"\u{fc}\", \"mismatch \u{2603}\")\n\
                    AssertionError: '\u{e9}' != '\u{fc}'\n- \u{e9}\n+ \u{fc}\n : mismatch \u{2603}";
    assert_eq!(last_error_line(unittest).as_deref(), Some("AssertionError: '\u{e9}' != '\u{fc}'"));
    let real = include_str!("../../tests/data/regrtest/3.13.0-seq-R-release-build.txt");
    let regrtests = real.split_once("test test_ok crashed -- ").and_then(|(_, t)| t.split_once("\n\n")).unwrap().0;
    assert_eq!(
        last_error_line(regrtests).as_deref(),
        Some("Exception: Tracking reference leaks requires a debug build of Python")
    );
    let chained = "Traceback (most recent call last):\n  File \"x.py\", line 1, in f\nKeyError: 'a'\n\n\
                   During handling of the above exception, another exception occurred:\n\n\
                   Traceback (most recent call last):\n  File \"x.py\", line 3, in f\n\
                   OSError: [Errno 9] Bad file descriptor\n";
    assert_eq!(last_error_line(chained).as_deref(), Some("OSError: [Errno 9] Bad file descriptor"));
    let doctest = "Traceback (most recent call last):\n  File \"case.py\", line 2, in runTest\n\
                   AssertionError: Failed doctest test for test_d.bad\n  File \"/t/test_d.py\", line 3, in bad\n\n\
                   ----------------------------------------------------------------------\n\
                   File \"/t/test_d.py\", line 5, in test_d.bad\nFailed example:\n    1 + 1\nExpected:\n    3\nGot:\n    2\n";
    assert_eq!(last_error_line(doctest).as_deref(), Some("AssertionError: Failed doctest test for test_d.bad"));
    let group = "  + Exception Group Traceback (most recent call last):\n  |   File \"x.py\", line 1, in f\n  \
                 | ExceptionGroup: two (2 sub-exceptions)\n  +-+---------------- 1 ----------------\n    \
                 | ValueError: a\n    +------------------------------------\n";
    assert_eq!(last_error_line(group).as_deref(), Some("+------------------------------------"));
    assert_eq!(last_error_line(" \n\n"), None);
}

#[test]
fn regrtest_s_worker_thread_failure_is_a_warning_with_its_exception() {
    let real = worker_thread_failure(include_bytes!("../../tests/data/regrtest/3.11.2-j2-worker-thread-failed.txt"));
    assert_eq!(
        real.exception.as_deref(),
        Some("UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 11: invalid start byte")
    );
    let warning = real.warning().unwrap_or_default();
    assert!(warning.starts_with(&format!("{WORKER_THREAD_FAILED} (UnicodeDecodeError: ")), "{warning}");
    assert!(worker_thread_failure(include_bytes!("../../tests/data/regrtest/3.11.2-j2-R.txt")).warning().is_none());
    // A chained exception: the last one is the one raised.
    let chained = worker_thread_failure(
        b"Warning -- regrtest worker thread failed: Traceback (most recent call last):\n\
          Warning --   File \"x.py\", line 1, in run\n\
          Warning -- KeyError: 'a'\n\
          Warning -- \n\
          Warning -- During handling of the above exception, another exception occurred:\n\
          Warning -- \n\
          Warning -- Traceback (most recent call last):\n\
          Warning --   File \"x.py\", line 3, in run\n\
          Warning -- OSError: [Errno 9] Bad file descriptor\r\n\
          Warning -- something else\n",
    );
    assert_eq!(chained.exception.as_deref(), Some("OSError: [Errno 9] Bad file descriptor"));
    // Other warnings are not it.
    assert!(worker_thread_failure(b"Warning -- Unraisable exception\nWarning -- ValueError: x\n").warning().is_none());
}

#[test]
fn a_selected_test_not_started_is_one_named_nowhere_and_not_measured() {
    let selected: Vec<String> = ["test_a", "test_b", "test_asyncio", "test_c"].map(String::from).to_vec();
    let tests =
        [TestReport::new("test_a".into(), "passed"), TestReport::new("test_asyncio.test_tasks".into(), "interrupted")];
    assert_eq!(not_started(&selected, &tests, &["test_b"]), ["test_c"]);
}

/// `print_summary` as the runtimes read it: ASAN's and LSan's reports from `ASAN_OPTIONS`
/// then `LSAN_OPTIONS` (a later setting wins), the others' from their own variable.
#[test]
fn summaries_are_off_where_the_runtime_reads_print_summary_false() {
    use sanitizer::Sanitizer::{Asan, Lsan, Msan, Tsan, Ubsan};
    let off = |options: &[(&str, &str)]| {
        let options: Vec<(String, std::ffi::OsString)> =
            options.iter().map(|(name, value)| ((*name).to_owned(), (*value).into())).collect();
        summaries_off(&options, None)
    };
    assert_eq!(off(&[]), []);
    assert_eq!(off(&[("ASAN_OPTIONS", "halt_on_error=0:print_summary=0")]), [Asan, Lsan]);
    assert_eq!(off(&[("ASAN_OPTIONS", "print_summary=false"), ("LSAN_OPTIONS", "print_summary=1")]), []);
    assert_eq!(off(&[("ASAN_OPTIONS", "print_summary=1"), ("LSAN_OPTIONS", "print_summary=no")]), [Asan, Lsan]);
    assert_eq!(off(&[("ASAN_OPTIONS", "print_summary=0 print_summary=1")]), []);
    assert_eq!(
        off(&[
            ("UBSAN_OPTIONS", "print_summary=0"),
            ("TSAN_OPTIONS", "print_summary=0"),
            ("MSAN_OPTIONS", "print_summary=0")
        ]),
        [Msan, Tsan, Ubsan]
    );
}

/// The pids the run's processes can have had: those handed out after the last one before
/// the run, up to the last one now, across `pid_max` (on to 300), until the run went all
/// the way round.
#[test]
fn a_pid_window_holds_the_pids_handed_out_since_the_run_began() {
    let mut window = PidWindow { before: 2215, last: 2215, pid_max: 32768, handed_out: 0 };
    window.advance(2249);
    assert_eq!(window.range(), "2216 to 2249");
    for (pid, excluded) in [(123, true), (2215, true), (2216, false), (2249, false), (2250, true), (0, true)] {
        assert_eq!(window.excludes(pid), excluded, "{pid}");
    }
    // Across pid_max.
    let mut window = PidWindow { before: 32700, last: 32700, pid_max: 32768, handed_out: 0 };
    window.advance(32760);
    window.advance(512);
    assert_eq!(window.range(), "32701 to 32767 and 300 to 512");
    for (pid, excluded) in [(123, true), (299, true), (300, false), (512, false), (513, true), (32700, true)] {
        assert_eq!(window.excludes(pid), excluded, "{pid}");
    }
    assert!(!window.excludes(32701) && !window.excludes(32767));
    // All the way round: any pid may have been the run's.
    window.advance(32000);
    window.advance(32699);
    window.advance(400);
    assert!(!window.excludes(123) && !window.excludes(20_000));
}

/// The runtime's `ERROR: Can't open file: PATH (reason: N)`, without a newline (another
/// process's output may follow on the line), is read for the log_path note of its prefix.
#[test]
fn log_files_the_runtime_could_not_open_are_named() {
    let mut unopened = UnopenedLogs::default();
    unopened.line(b"ERROR: Can't open file: /proc/qa-san5/asan.11471 (reason: 2)");
    unopened.line(b"ERROR: Can't open file: /ro/logs q/ub.7.log (reason: 30)0:00:01 load avg: 0.5 [2/2] test_b");
    unopened.line(b"ERROR: Can't open file: /proc/qa-san5/asan.11471 (reason: 2)");
    unopened.line(b"ERROR: Can't open file: no reason");
    unopened.line(b"0:00:00 load avg: 0.5 [1/2] test_a");
    assert_eq!(
        unopened.files,
        [(b"/proc/qa-san5/asan.11471".to_vec(), Some(2)), (b"/ro/logs q/ub.7.log".to_vec(), Some(30))]
    );
    let note = unopened_note(&unopened.files, b"/proc/qa-san5/asan", b"");
    assert!(
        note.starts_with(
            "; the runtime said it could not open /proc/qa-san5/asan.11471 (No such file or directory) when"
        ),
        "{note}"
    );
    let note = unopened_note(&unopened.files, b"/ro/logs q/ub", b".log");
    assert!(note.contains("/ro/logs q/ub.7.log (Read-only file system)"), "{note}");
    assert_eq!(unopened_note(&unopened.files, b"/ro/logs q/ub", b".txt"), "");
    assert_eq!(unopened_note(&unopened.files, b"/proc/qa-san5/as", b""), "", "another prefix");
}

#[test]
fn log_path_file_names_end_in_the_pid() {
    assert_eq!(pid_suffix("ubsan.4242"), Some(4242));
    assert_eq!(pid_suffix("asan.python3.11-dbg.17"), Some(17), "log_exe_name");
    for name in ["ubsan", "ubsan.", "ubsan.12x", "u.99999999999"] {
        assert_eq!(pid_suffix(name), None, "{name}");
    }
}

/// `log_path` comes from every options variable the command got, read as the runtime reads
/// it (any separator, quotes, included files, `log_suffix`); a prefix two variables name is
/// read once.
#[test]
fn log_path_files_are_found_from_options_read_as_the_runtime_reads_them() {
    use std::ffi::OsString;
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    let report = "s3.c:85:9: runtime error: signed integer overflow: 1 + 2147483647 cannot be represented in \
                  type 'int'\n    #0 0x7fdc89a096f7 in ub_overflow /tmp/s3.c:85\n";
    let d = dir.path().display();
    std::fs::write(dir.path().join("ub.4242"), report).unwrap();
    std::fs::create_dir(dir.path().join("q q")).unwrap();
    std::fs::write(dir.path().join("q q/asan.77.txt"), report).unwrap();
    // A file from before the run is not read.
    let old = std::fs::File::create(dir.path().join("ub.1")).unwrap();
    old.set_modified(started - std::time::Duration::from_secs(60)).unwrap();
    std::fs::write(dir.path().join("opts"), format!("log_path='{d}/q q/asan',log_suffix=.txt\n")).unwrap();
    let options: Vec<(String, OsString)> = [
        ("ASAN_OPTIONS", format!("detect_leaks=0:include={d}/opts")),
        ("LSAN_OPTIONS", format!("log_path={d}/ub")),
        ("UBSAN_OPTIONS", format!("print_stacktrace=1\tlog_path={d}/ub")),
        ("TSAN_OPTIONS", "include=/tmp/%p.opts".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), OsString::from(value)))
    .collect();
    let (findings, notes) = log_path_findings(&options, None, started, &[], &[]);
    let mut pids: Vec<Option<u32>> = findings.iter().map(|f| f.pid).collect();
    pids.sort();
    assert_eq!(pids, [Some(77), Some(4242)], "{findings:#?}");
    assert_eq!(
        notes,
        [
            "TSAN_OPTIONS includes /tmp/%p.opts (it names the process id, %p), which leakcheck could not read: \
             reports a log_path set there sends to files are not read"
                .to_owned(),
            format!(
                "ASAN_OPTIONS has log_path={d}/q q/asan: 1 report(s) read from 1 file(s); their tests are \
                     known only from the shim's -R records of their processes"
            ),
            format!(
                "LSAN_OPTIONS and UBSAN_OPTIONS have log_path={d}/ub: 1 report(s) read from 1 file(s); their \
                     tests are known only from the shim's -R records of their processes"
            ),
        ]
    );
}

/// Feed `lines` as the run would with one pipe for both streams (every line stdout's):
/// regrtest's parser first, then the sanitizer's.
fn findings(lines: &[&str]) -> Vec<Finding> {
    let symbolizer = Symbolizer::new();
    let mut parser = regrtest::Parser::new();
    let mut sanitizer = SanitizerFindings::new(&symbolizer, &[], false);
    for line in lines {
        parser.feed_line(line.as_bytes());
        sanitizer.line(Stream::Stdout, line.as_bytes(), parser.output_owner());
    }
    sanitizer.finish(&ShimData::default()).0
}

const REPORT: [&str; 4] = [
    "==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x1 bp 0x2 sp 0x3",
    "READ of size 8 at 0x602000000010 thread T0",
    "    #0 0x55d0c0a1b2c3 in use_after_free /src/fix.c:31",
    "    #1 0x55d0c0a1b400 in main /src/fix.c:40",
];

#[test]
fn a_finding_belongs_to_the_test_whose_output_held_its_first_line() {
    // The report's summary only arrives after the next test was announced.
    let mut lines = vec!["0:00:00 load avg: 0.00 [1/2] test_a"];
    lines.extend(REPORT);
    lines.push("0:00:01 load avg: 0.00 [2/2] test_b");
    lines.push("SUMMARY: AddressSanitizer: heap-use-after-free /src/fix.c:31 in use_after_free");
    let found = findings(&lines);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].test.as_deref(), Some("test_a"));
    assert_eq!(found[0].kind, "heap-use-after-free");
}

/// A QA run of four UBSan errors with stdout and stderr on two pipes, as the sink read it
/// (`tests/data/streams/ubsan-kinds-two-pipes.txt`, each line tagged with its stream):
/// unittest's `... ok` lines on stdout came between the null-pointer report's `runtime
/// error:` line and its stack on stderr. Every report is whole, with its stack, its summary
/// and its test.
#[test]
fn ubsan_reports_stay_whole_past_the_other_stream_s_lines() {
    let log = include_str!("../../tests/data/streams/ubsan-kinds-two-pipes.txt");
    let symbolizer = Symbolizer::new();
    let mut parser = regrtest::Parser::new();
    let mut sanitizer = SanitizerFindings::new(&symbolizer, &[], false);
    for line in log.lines() {
        let (stream, line) = match line.strip_prefix("E ") {
            Some(line) => (Stream::Stderr, line),
            None => (Stream::Stdout, line.strip_prefix("O ").unwrap_or(line)),
        };
        parser.feed_line(line.as_bytes());
        sanitizer.line(stream, line.as_bytes(), parser.output_owner());
    }
    let mut found = sanitizer.finish(&ShimData::default()).0;
    found.sort_by_key(|f| f.start_line);
    let shapes: Vec<(&str, Option<&str>, usize, bool)> =
        found.iter().map(|f| (f.kind.as_str(), f.test.as_deref(), f.frames.len(), f.summary.is_some())).collect();
    let test = Some("test_qubsan_kinds");
    assert_eq!(
        shapes,
        [
            ("misaligned-pointer-use", test, 127, true),
            ("null-pointer-use", test, 127, true),
            ("invalid-shift-exponent", test, 127, true),
            ("integer-divide-by-zero", test, 127, true),
        ],
        "{found:#?}"
    );
    let null = &found[1];
    assert_eq!((null.frames[0].function.as_deref(), null.frames[0].line), (Some("null_member"), Some(25)));
}

#[test]
fn repeated_reports_are_merged_with_their_count_even_past_the_merge_threshold() {
    let mut lines = vec!["0:00:00 load avg: 0.00 [1/1] test_a"];
    for _ in 0..FINDINGS_BEFORE_MERGE + 10 {
        lines.extend(REPORT);
        lines.push("SUMMARY: AddressSanitizer: heap-use-after-free /src/fix.c:31 in use_after_free");
    }
    let found = findings(&lines);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].count as usize, FINDINGS_BEFORE_MERGE + 10);
}

#[test]
fn many_distinct_findings_cost_a_merge_per_doubling() {
    let symbolizer = Symbolizer::new();
    let mut sanitizer = SanitizerFindings::new(&symbolizer, &[], false);
    for i in 0..4000u32 {
        let lines = [
            format!("==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x60200000{i:04x} at pc 0x1"),
            "READ of size 8 at 0x602000000010 thread T0".to_owned(),
            // A line each: a frame with a line compares by it, not by its function.
            format!("    #0 0x55d0c0a1b2c3 in f{i} /src/fix.c:{}", i + 1),
            format!("SUMMARY: AddressSanitizer: heap-use-after-free /src/fix.c:{} in f{i}", i + 1),
        ];
        for line in &lines {
            sanitizer.line(Stream::Stdout, line.as_bytes(), Some("test_a"));
        }
    }
    // 256, 512, 1024, 2048 distinct findings held (each merge keeps them all).
    assert!(sanitizer.merges <= 5, "{} merges", sanitizer.merges);
    assert_eq!(sanitizer.finish(&ShimData::default()).0.len(), 4000);
}

#[test]
fn a_report_no_output_placed_gets_the_test_its_process_ran_when_it_arrived() {
    let record =
        |kind: &str, test: &str, time: u64| format!("{kind}\t10\t{test}\t1\t2\t63{}\t{time}\n", "\t0".repeat(6));
    let events = [("begin", "test_a", 1000), ("end", "test_a", 2000), ("begin", "test_b", 3000)]
        .map(|(kind, test, time)| record(kind, test, time))
        .concat();
    let mut shim = ShimData::default();
    shim.add_file(events.as_bytes());
    assert_eq!((shim.bad_lines, shim.series.len()), (0, 2));
    let asan = Finding { pid: Some(10), ..Finding::asan("heap-buffer-overflow", Vec::new(), Vec::new()) };
    // test_b has no `end`: the process died in it, which goes on. A report read after
    // test_a's end, before test_b began, was written in test_a's last repetition and read late.
    for (arrived, test) in [(1500, Some("test_a")), (2500, Some("test_a")), (3500, Some("test_b")), (900, None)] {
        assert_eq!(test_of_process(&shim, &asan, Some(arrived)).as_deref(), test, "{arrived}");
    }
    assert_eq!(test_of_process(&shim, &asan, None).as_deref(), Some("test_b"), "the test it died in");
    // LeakSanitizer reports at exit: only while a test ran is it that test's.
    let lsan = Finding { sanitizer: sanitizer::Sanitizer::Lsan, ..asan.clone() };
    for (arrived, test) in [(1500, Some("test_a")), (2500, None), (900, None)] {
        assert_eq!(test_of_process(&shim, &lsan, Some(arrived)).as_deref(), test, "LSan {arrived}");
    }

    // Each report its own test; the one past the arrivals kept by the process alone.
    let mut finding = Finding { count: 5, arrivals: vec![1500, 3500, 3600, 2500], ..asan.clone() };
    assert!(finding.awaits_test());
    tell_tests(&mut finding, &shim);
    assert_eq!(finding.test.as_deref(), Some("test_a"));
    assert_eq!(finding.other_tests, ["test_b"]);
    let counts = [(Some("test_a".to_owned()), 2), (Some("test_b".to_owned()), 3)];
    assert_eq!(finding.test_counts, counts);
    assert!(!finding.awaits_test());
}

/// The only test of a sequential regrtest is not the test of what its process does around
/// it: a LeakSanitizer report at exit (a leak of `sitecustomize` at start-up) read after the
/// test's `end` is no test's, as with two tests; a `-j` worker's process runs its one test,
/// and its reports, LSan's at exit included, are that test's.
#[test]
fn a_sequential_regrtests_only_test_does_not_own_its_exit() {
    let record = |kind: &str, pid: u32, test: &str, time: u64| {
        format!("{kind}\t{pid}\t{test}\t3\t3\t63{}\t{time}\n", "\t0".repeat(6))
    };
    let worker = r#"python3\x00-m\x00test.regrtest\x00--worker-args\x00[{}, \x22test_w\x22]"#;
    let events = [
        format!("process\t20\t10\t{worker}\n"),
        record("begin", 10, "test_a", 1000),
        record("end", 10, "test_a", 2000),
        record("begin", 20, "test_w", 1000),
        record("end", 20, "test_w", 2000),
    ]
    .concat();
    let mut shim = ShimData::default();
    shim.add_file(events.as_bytes());
    assert_eq!((shim.bad_lines, shim.series.len()), (0, 2));
    let asan = Finding { pid: Some(10), ..Finding::asan("heap-buffer-overflow", Vec::new(), Vec::new()) };
    let lsan = Finding { sanitizer: sanitizer::Sanitizer::Lsan, ..asan.clone() };
    let told = |finding: &Finding, arrived| test_of_process(&shim, finding, arrived);
    assert_eq!(told(&lsan, Some(2500)), None, "LSan at the sequential process's exit");
    assert_eq!(told(&lsan, Some(1500)), Some("test_a".into()), "LSan while the test ran");
    assert_eq!(told(&lsan, None), None, "LSan at exit from a log_path file");
    assert_eq!(told(&asan, Some(900)), None, "before the test began (its module's import)");
    assert_eq!(told(&asan, Some(2500)), Some("test_a".into()), "read after its last repetition");
    assert_eq!(told(&asan, None), Some("test_a".into()), "a log_path file's: the only test");
    let (asan, lsan) = (Finding { pid: Some(20), ..asan }, Finding { pid: Some(20), ..lsan });
    for arrived in [Some(900), Some(2500), None] {
        assert_eq!(told(&lsan, arrived), Some("test_w".into()), "LSan at a worker's exit");
        assert_eq!(told(&asan, arrived), Some("test_w".into()), "a worker's");
    }
}

/// A report without a pid (UBSan's) that no output placed: sequentially, the test that
/// began last before it was read; with `-j`, the test of the worker that exited last before
/// it was read (regrtest's main process prints a worker's output once it has reaped it),
/// by its `end` record when it wrote no `exit` record. Each report its own test and count.
#[test]
fn a_report_without_a_pid_gets_the_test_whose_output_was_being_printed() {
    let record = |kind: &str, pid: u32, test: &str, time: u64| {
        format!("{kind}\t{pid}\t{test}\t3\t3\t63{}\t{time}\n", "\t0".repeat(6))
    };
    let sequential = [record("begin", 10, "test_a", 1000), record("begin", 10, "test_b", 3000)].concat();
    let mut shim = ShimData::default();
    shim.add_file(sequential.as_bytes());
    for (arrived, test) in [(900, None), (1500, Some("test_a")), (2999, Some("test_a")), (3500, Some("test_b"))] {
        assert_eq!(test_of_output(&shim, arrived).as_deref(), test, "sequential, read at {arrived}");
    }

    let worker = |test: &str| format!(r#"python3\x00-m\x00test.regrtest\x00--worker-args\x00[{{}}, \x22{test}\x22]"#);
    let mut shim = ShimData::default();
    let events = [
        // test_w1 and test_w2 run side by side; test_w1 ends first, but exits last.
        (20, "test_w1", 1000, 2000, Some(2600)),
        (30, "test_w2", 1100, 2100, Some(2300)),
        // Killed: no `exit` record.
        (40, "test_w3", 3000, 4000, None),
    ];
    for (pid, test, begin, end, exit) in events {
        let mut file = format!("process\t{pid}\t10\t{}\n", worker(test));
        file += &record("begin", pid, test, begin);
        file += &record("end", pid, test, end);
        if let Some(exit) = exit {
            file += &format!("exit\t{pid}\t{exit}\n");
        }
        shim.add_file(file.as_bytes());
    }
    assert_eq!((shim.bad_lines, shim.exited.len()), (0, 2));
    let expected =
        [(1500, None), (2200, None), (2400, Some("test_w2")), (2700, Some("test_w1")), (4100, Some("test_w3"))];
    for (arrived, test) in expected {
        assert_eq!(test_of_output(&shim, arrived).as_deref(), test, "-j, read at {arrived}");
    }

    let ubsan = Finding {
        sanitizer: sanitizer::Sanitizer::Ubsan,
        pid: None,
        count: 3,
        arrivals: vec![2700, 2400, 2800],
        ..Finding::asan("signed-integer-overflow", Vec::new(), Vec::new())
    };
    assert!(ubsan.awaits_test());
    let mut finding = ubsan.clone();
    tell_tests(&mut finding, &shim);
    assert_eq!((finding.test.as_deref(), &finding.other_tests[..]), (Some("test_w1"), &["test_w2".to_owned()][..]));
    let counts = [(Some("test_w1".to_owned()), 2), (Some("test_w2".to_owned()), 1)];
    assert_eq!(finding.test_counts, counts);
    assert!(finding.test_pids.is_empty(), "no pid: {:?}", finding.test_pids);
}

#[test]
fn own_processes_are_the_command_and_its_workers_not_a_regrtest_a_test_ran() {
    let mut shim = ShimData::default();
    let worker = r#"python3\x00-m\x00test.regrtest\x00--worker-args\x00[{}, \x22test_a\x22]"#;
    let nested_main = r#"python3\x00-m\x00test\x00-R\x003:3\x00test_b"#;
    let events = format!("process\t20\t10\t{worker}\nprocess\t30\t20\t{nested_main}\nprocess\t40\t10\t{nested_main}\n");
    shim.add_file(events.as_bytes());
    assert_eq!(shim.bad_lines, 0);
    let argv: Vec<String> = ["python3", "-m", "test", "-j2", "-R", "3:3"].map(String::from).to_vec();
    let own = OwnProcesses::new(&shim, 10, &argv);
    assert!(own.contains(10), "the command");
    assert!(own.contains(20), "its worker");
    assert!(!own.contains(30), "a regrtest its worker's test ran");
    assert!(!own.contains(40), "a regrtest its own test ran (sequentially)");
    assert!(own.contains(50), "no record: the benefit of the doubt");
    // A wrapper command (`timeout 600 python -m test`): every series counts.
    let own = OwnProcesses::new(&shim, 10, &["timeout".into(), "600".into()]);
    assert!(own.contains(30));
}

/// Regrtests that lived at the same time ran at the same time, whatever they measured when;
/// a `-j` worker is its main process's, and neither a nested regrtest nor a fork child of
/// one is a run of its own.
#[test]
fn regrtests_at_the_same_time_are_those_whose_processes_lived_together() {
    let main = r#"python3\x00-m\x00test\x00-R\x003:3\x00test_a"#;
    let worker = r#"python3\x00-m\x00test.regrtest\x00--worker-args\x00[{}, \x22test_a\x22]"#;
    let series = |pid: i32, start: u64, end: u64| {
        format!(
            "begin\t{pid}\ttest_a\t3\t3\t63\t0\t0\t0\t0\t0\t0\t{start}\n\
             end\t{pid}\ttest_a\t0\t1\t63\t0\t0\t0\t0\t0\t0\t{end}\n"
        )
    };
    let of = |files: &[String]| {
        let mut shim = ShimData::default();
        for file in files {
            shim.add_file(file.as_bytes());
        }
        shim.set_aside_forks();
        assert_eq!(shim.bad_lines, 0);
        concurrent_regrtests(&shim)
    };
    // Process 10 lived 100..1000 and measured at 900; process 20 lived 200..300 and
    // measured at 250: their measurements never overlapped.
    let first = format!("process\t10\t5\t{main}\t100\n{}exit\t10\t1000\n", series(10, 900, 950));
    let second = format!("process\t20\t5\t{main}\t200\n{}exit\t20\t300\n", series(20, 250, 260));
    assert_eq!(of(&[first.clone(), second.clone()]), [10, 20]);
    // One after the other.
    let later = format!("process\t20\t5\t{main}\t1100\n{}exit\t20\t1300\n", series(20, 1150, 1160));
    assert!(of(&[first.clone(), later]).is_empty());
    // Killed (no exit record): alive until its last record at least.
    let killed = format!("process\t20\t5\t{main}\t200\n{}", series(20, 250, 260));
    assert_eq!(of(&[first.clone(), killed]), [10, 20]);
    // A regrtest process 10's test started, and a fork child of process 10.
    let nested = format!("process\t20\t10\t{main}\t200\n{}exit\t20\t300\n", series(20, 250, 260));
    assert!(of(&[first.clone(), nested]).is_empty());
    let fork = format!("fork\t20\t10\t10\t200\nprocess\t20\t10\t{main}\t200\n{}", series(20, 250, 260));
    assert!(of(&[first.clone(), fork]).is_empty());
    // A -j run (its main process 30 wrote no record) beside process 10, by its workers.
    let workers = [(31, 150, 400), (32, 350, 700)]
        .map(|(pid, start, end)| format!("process\t{pid}\t30\t{worker}\t{start}\nexit\t{pid}\t{end}\n"));
    assert_eq!(of(&[first.clone(), workers[0].clone(), workers[1].clone()]), [10, 30]);
    // An older shim: no start in the process record, the series make the span.
    let old = format!("process\t20\t5\t{main}\n{}exit\t20\t300\n", series(20, 250, 260));
    assert_eq!(of(&[first, old]), [10, 20]);
}

/// The output of a quiet regrtest run (`-q`) that passed: its summary and no progress line.
fn quiet_run() -> ParsedRun {
    let summary = regrtest::Summary { result: Some("SUCCESS".into()), ..Default::default() };
    ParsedRun { summary: Some(summary), run_results: vec![Some("SUCCESS".into())], ..Default::default() }
}

#[test]
fn leak_sites_carry_their_python_frame_and_each_missing_frames_reason_warns_once() {
    let counters = |kind: &str, a: i64, b: i64| format!("{kind}\t10\ttest_x\t{a}\t{b}\t63\t0\t0\t0\t0\t0\t0\n");
    let mut events = counters("begin", 1, 2) + &counters("baseline", -1, 0);
    for index in 0..3 {
        events += &counters("measure", index, 0);
        events += &format!("site\t10\ttest_x\t{index}\t7\tr\t{}\t{}\n", index + 1, 48 * (index + 1));
    }
    events += "stack\t10\t-\t7\tr\t401000\n";
    events += "pyframe\t10\t-\t7\t9\t/tmp/x/test_leak_raw.py\tLeakTest.test_leak_raw\n";
    events += &counters("end", 2, 0);
    let mut shim = ShimData::default();
    shim.add_file(events.as_bytes());
    let reason = "nopyframes\t11\t-\tCPython\\x203.12:\\x20its\\x20frame\\x20layout\\x20is\\x20not\\x20known\n";
    shim.add_file(reason.as_bytes());
    shim.add_file(reason.replace("\t11\t", "\t12\t").as_bytes());
    assert_eq!(shim.bad_lines, 0);

    let mut report = RunReport::new(vec!["python3".into()], "/tmp/x".into());
    let supervised = exited(0);
    let own = OwnProcesses::new(&shim, 1, &[]);
    assemble(
        &mut report,
        &supervised,
        quiet_run(),
        &NO_FACTS,
        (&shim, &own),
        SiteSettings { symbolizer: &Symbolizer::new(), suppressions: &Default::default(), stack_depth: 32 },
    );
    let [test] = report.tests.as_slice() else { panic!("{:#?}", report.tests) };
    let [site] = test.leak_sites.as_slice() else { panic!("{:#?}", test.leak_sites) };
    assert_eq!(
        site.python_frame,
        Some(crate::hang::PythonFrame {
            function: "LeakTest.test_leak_raw".into(),
            file: "/tmp/x/test_leak_raw.py".into(),
            line: 9
        })
    );
    assert_eq!(report.warnings, Vec::<String>::new(), "every leak site has its frame");

    // Without the pyframe record, the reason is told once, for both processes.
    let mut shim = ShimData::default();
    shim.add_file(events.replace("pyframe\t", "junk\t").as_bytes());
    shim.add_file(reason.as_bytes());
    shim.add_file(reason.replace("\t11\t", "\t12\t").as_bytes());
    let mut report = RunReport::new(vec!["python3".into()], "/tmp/x".into());
    let own = OwnProcesses::new(&shim, 1, &[]);
    let shim = (&shim, &own);
    assemble(
        &mut report,
        &supervised,
        quiet_run(),
        &NO_FACTS,
        shim,
        SiteSettings { symbolizer: &Symbolizer::new(), suppressions: &Default::default(), stack_depth: 32 },
    );
    assert_eq!(report.tests[0].leak_sites[0].python_frame, None);
    assert_eq!(report.warnings, ["leak sites have no Python frame: CPython 3.12: its frame layout is not known"]);
}

/// The shim's records of a sequential regrtest process (pid 10) running `tests` in turn with
/// `-R 3:3`, each with all 6 repetitions measured and its `end`, but the last when `last_open`:
/// that one's process died (or hung) after its baseline.
fn quiet_series(tests: &[&str], last_open: bool) -> ShimData {
    let record =
        |kind: &str, test: &str, a: i64, b: i64| format!("{kind}\t10\t{test}\t{a}\t{b}\t63{}\n", "\t0".repeat(6));
    let mut events = String::new();
    for (index, test) in tests.iter().enumerate() {
        events += &record("begin", test, 3, 3);
        events += &record("baseline", test, 0, 0);
        if last_open && index + 1 == tests.len() {
            break;
        }
        for repetition in 0..6 {
            events += &record("measure", test, repetition, 0);
        }
        events += &record("end", test, 6, 0);
    }
    let mut shim = ShimData::default();
    shim.add_file(events.as_bytes());
    assert_eq!(shim.bad_lines, 0);
    shim
}

/// `assemble` on a quiet run's output (`-q`: the run header, no progress line) that ended
/// before regrtest's summary, leakcheck having ended it for a hang or not.
fn assemble_quiet(shim: &ShimData, ended_for_hang: bool, facts: &OutputFacts) -> RunReport {
    let mut report = RunReport::new(vec!["python3".into()], "/tmp/x".into());
    report.status.ended_for_hang = ended_for_hang;
    let supervised = exited(1);
    let parsed = ParsedRun { run_results: vec![None], ..Default::default() };
    let own = OwnProcesses::new(shim, 1, &[]);
    assemble(
        &mut report,
        &supervised,
        parsed,
        facts,
        (shim, &own),
        SiteSettings { symbolizer: &Symbolizer::new(), suppressions: &Default::default(), stack_depth: 0 },
    );
    report
}

fn outcomes(report: &RunReport) -> Vec<(&str, &str)> {
    report.tests.iter().map(|t| (t.name.as_str(), t.outcome.as_str())).collect()
}

fn has_note(report: &RunReport, test: &str, note: &str) -> bool {
    report.tests.iter().any(|t| t.name == test && t.notes.iter().any(|n| n.starts_with(note)))
}

/// Quiet mode names only the tests that fail: a test regrtest named nowhere whose repetitions
/// all ran through, after which the same process began another test, passed, though the run
/// ended (died, or a hang leakcheck ended) before the summary; the test running then has no
/// result, and no test that passed is said to have been running or to be the last.
#[test]
fn a_quiet_test_another_followed_passed_when_the_run_ended_before_its_summary() {
    let shim = quiet_series(&["test_a", "test_b", "test_c"], true);
    for ended_for_hang in [false, true] {
        let report = assemble_quiet(&shim, ended_for_hang, &NO_FACTS);
        let expected = [("test_a", "passed"), ("test_b", "passed"), ("test_c", "unknown")];
        assert_eq!(outcomes(&report), expected, "hang {ended_for_hang}");
        assert!(has_note(&report, "test_a", QUIET_PASSED_NOTE), "{:?}", report.tests[0].notes);
        assert!(
            report.tests[0].notes.iter().any(|n| n.ends_with("(test_b began next)")),
            "{:?}",
            report.tests[0].notes
        );
        for test in ["test_a", "test_b", "test_c"] {
            assert!(!has_note(&report, test, RAN_THROUGH) && !has_note(&report, test, RAN_THROUGH_HANG), "{test}");
        }
        let unfinished = "regrtest never printed its result: the run ended while test_c ran";
        assert_eq!(report.warnings.iter().any(|w| w == unfinished), !ended_for_hang, "{:?}", report.warnings);
    }

    // None of regrtest's output reached leakcheck: a failure line may have gone elsewhere.
    let mut report = RunReport::new(vec!["python3".into()], "/tmp/x".into());
    let supervised = exited(1);
    let own = OwnProcesses::new(&shim, 1, &[]);
    let settings = SiteSettings { symbolizer: &Symbolizer::new(), suppressions: &Default::default(), stack_depth: 0 };
    assemble(&mut report, &supervised, ParsedRun::default(), &NO_FACTS, (&shim, &own), settings);
    assert!(report.tests.iter().all(|t| t.outcome == "unknown"), "{:?}", outcomes(&report));
}

/// The run ended after the last test of its process ran through, no later test begun: that
/// test has no result, and its note says how the run ended: by itself (regrtest died), or
/// leakcheck ending it for a hang in that process in no test (the next test module's import);
/// a hang elsewhere says nothing of it.
#[test]
fn only_the_last_quiet_test_of_a_process_has_no_result_and_its_note_says_how_the_run_ended() {
    let shim = quiet_series(&["test_a", "test_b"], false);
    let died = assemble_quiet(&shim, false, &NO_FACTS);
    assert_eq!(outcomes(&died), [("test_a", "passed"), ("test_b", "unknown")]);
    assert!(has_note(&died, "test_b", RAN_THROUGH) && !has_note(&died, "test_a", RAN_THROUGH), "{:?}", died.tests);
    assert!(!has_note(&died, "test_b", RAN_THROUGH_HANG));
    let warning = "regrtest never printed its result: the run ended after test_b's -R repetitions all ran through \
                   (the shim measured each), with no later test known to have begun";
    assert!(died.warnings.iter().any(|w| w == warning), "{:?}", died.warnings);

    let facts = OutputFacts { hung_between_tests: vec![10], ..NO_FACTS };
    let hung = assemble_quiet(&shim, true, &facts);
    assert_eq!(outcomes(&hung), [("test_a", "passed"), ("test_b", "unknown")]);
    assert!(has_note(&hung, "test_b", RAN_THROUGH_HANG), "{:?}", hung.tests);
    assert!(!has_note(&hung, "test_b", RAN_THROUGH), "{:?}", hung.tests[1].notes);
    assert!(!has_note(&hung, "test_a", RAN_THROUGH_HANG));
    assert!(!hung.warnings.iter().any(|w| w.starts_with(UNFINISHED_WARNING)), "{:?}", hung.warnings);

    // A hang in another process (a test's child, a daemon) is not after test_b in its own.
    let facts = OutputFacts { hung_between_tests: vec![99], ..NO_FACTS };
    let elsewhere = assemble_quiet(&shim, true, &facts);
    assert!(
        elsewhere.tests.iter().all(|t| t.notes.iter().all(|n| !n.starts_with("no result"))),
        "{:?}",
        elsewhere.tests
    );
}

/// A command (pid 1) that exited with `code`, nothing else happening to it.
fn exited(code: i32) -> Supervised {
    Supervised {
        pid: 1,
        exit: ChildExit::Exited(code),
        interrupted_by: None,
        interrupted_after_end: false,
        killed: false,
        leftovers: Vec::new(),
        output_errors: Vec::new(),
        own_output_failed: false,
        killed_at_once: false,
        ends_mid_line: [false; 2],
        shared_output: false,
    }
}

/// The command's status when leakcheck found nothing; never 0 when it found a leak in any run
/// of any test: one regrtest reported and exited 0 for, one in a run before regrtest's `-w`
/// re-run, one in an earlier regrtest run of the command. A failing status of the command's
/// own is kept for a leak regrtest reported or one of an earlier run.
#[test]
fn the_exit_status_is_never_0_when_a_leak_was_found_in_any_run() {
    let report = RunReport::new(vec!["python3".into()], "/tmp/x".into());
    assert_eq!(exit_code(&exited(0), &report), ExitCode::OK);
    assert_eq!(exit_code(&exited(2), &report), 2);

    let mut leaked = report.clone();
    leaked.tests.push(TestReport { leaked: true, ..TestReport::new("test_x".into(), "passed") });
    assert_eq!(exit_code(&exited(0), &leaked), ExitCode::LEAK_NOT_REPORTED);
    assert_eq!(exit_code(&exited(2), &leaked), 2, "regrtest reported it");

    for why in [
        "test_x leaked in the run before regrtest's re-run, then passed its re-run",
        "test_x leaked in run 1 of the command's 2 regrtest runs, then a later run passed",
    ] {
        let mut earlier = report.clone();
        earlier.tests.push(TestReport::new("test_x".into(), "passed"));
        earlier.summary.earlier_leaks.push(why.into());
        assert_eq!(exit_code(&exited(0), &earlier), ExitCode::LEAK_NOT_REPORTED, "{why}");
        assert_eq!(exit_code(&exited(3), &earlier), 3, "{why}");
        earlier.status.exit_code = Some(0);
        earlier.status.leakcheck_exit_code = ExitCode::LEAK_NOT_REPORTED;
        let text = earlier.render_text();
        assert!(
            text.contains(&format!(
                "leakcheck: exit status 101, not the command's 0: a leak was found in an earlier run: {why}\n"
            )),
            "{text}"
        );
        // Only then: the command's failing status is its own.
        earlier.status.exit_code = Some(3);
        earlier.status.leakcheck_exit_code = 3;
        assert!(!earlier.render_text().contains("exit status"), "{}", earlier.render_text());
    }

    // A leak regrtest did not report wins over the command's status, as before.
    let mut unreported = leaked.clone();
    unreported.summary.leaked_not_reported_by_regrtest.push("test_x".into());
    assert_eq!(exit_code(&exited(2), &unreported), ExitCode::LEAK_NOT_REPORTED);
}

/// Suppressed sites take their growth off their domain's, and regrtest's rule judges what
/// remains: an accepted leak beside growth every other repetition (`[2, 1, 2]` less `[1, 1, 1]`)
/// is no leak; beside a second leak every repetition (`[3, 2, 3]`), it is, and the note says what
/// the suppressed sites explain; a domain they explain whole is cleared as before. An
/// unsuppressed leaking site of the domain keeps it leaked, with no note.
#[test]
fn suppressed_growth_is_taken_off_the_domain_and_regrtests_rule_judges_the_rest() {
    let deltas = |blocks: &[i64], leaked: bool| leaks::DomainDeltas {
        blocks: blocks.to_vec(),
        bytes: None,
        leaked,
        spread: false,
    };
    let site = |domain: &str, blocks: &[i64]| crate::report::LeakSiteReport {
        domain: domain.into(),
        blocks: blocks.to_vec(),
        bytes: blocks.iter().map(|b| b * 48).collect(),
        frames: Vec::new(),
        folded_frames: 0,
        python_frame: None,
        python_frames: Vec::new(),
        object_types: Vec::new(),
        free_list_reuse: false,
        stack_cut: false,
        other_test_thread: None,
    };
    let accepted = |blocks: &[i64]| crate::report::SuppressedSite {
        site: site("raw", blocks),
        suppression: "leak:inline_helper".into(),
    };
    let judge = |raw: &[i64], suppressed: &[crate::report::SuppressedSite], kept: &[crate::report::LeakSiteReport]| {
        let mut domains =
            Domains { raw: deltas(raw, true), mem: deltas(&[0, 0, 0], false), obj: deltas(&[0, 0, 0], false) };
        let notes = explained_domains(&mut domains, kept, suppressed);
        (domains.raw.leaked, notes)
    };

    let (leaked, notes) = judge(&[2, 1, 2], &[accepted(&[1, 1, 1])], &[]);
    assert!(!leaked, "{notes:?}");
    assert_eq!(
        notes,
        ["raw: its growth is the suppressed sites' (leak:inline_helper): they explain blocks [1, 1, 1] of [2, 1, 2]; \
          what remains, [1, 0, 1], is no leak by regrtest's rule"]
    );

    let (leaked, notes) = judge(&[1, 1, 1], &[accepted(&[1, 1, 1])], &[]);
    assert!(!leaked, "{notes:?}");
    assert_eq!(
        notes,
        ["raw: its growth is the suppressed sites' (leak:inline_helper): they explain blocks [1, 1, 1] of [1, 1, 1]"]
    );

    // Two suppressed sites sum; the rest leaks every repetition.
    let (leaked, notes) = judge(&[3, 2, 3], &[accepted(&[1, 0, 1]), accepted(&[0, 1, 0])], &[]);
    assert!(leaked, "{notes:?}");
    assert_eq!(
        notes,
        ["raw: the suppressed sites (leak:inline_helper) explain blocks [1, 1, 1] of [3, 2, 3]; what remains, \
          [2, 1, 2], still leaks by regrtest's rule (every delta >= 1)"]
    );

    let (leaked, notes) = judge(&[2, 2, 2], &[accepted(&[1, 1, 1])], &[site("raw", &[1, 1, 1])]);
    assert!(leaked);
    assert!(notes.is_empty(), "{notes:?}");
}

/// Quiet mode with `-j` (the real output of 3.13's `-q -R 3:3 -j2 test_abort test_ok`):
/// regrtest lists the test whose worker died as failed, and printed the worker's crash dump
/// with no result line. The shim saw that worker die during the test: the test is `crashed`,
/// with the dump, as regrtest says without `-q`; without the shim's word, or without a dump, it
/// stays `failed`.
#[test]
fn a_quiet_workers_crash_is_its_tests_with_the_dump() {
    let worker = |test: &str| format!(r#"python3\x00-m\x00test.regrtest\x00--worker-args\x00[{{}}, \x22{test}\x22]"#);
    let counters = |kind: &str, pid: i32, test: &str, a: i64, b: i64| {
        format!("{kind}\t{pid}\t{test}\t{a}\t{b}\t63{}\n", "\t0".repeat(6))
    };
    let record = |kind: &str, pid: i32, test: &str| match kind {
        "end" => counters(kind, pid, test, 6, 0),
        "baseline" => counters(kind, pid, test, 0, 0),
        _ => counters(kind, pid, test, 3, 3),
    };
    // One file per process, as the shim writes them.
    let abort = format!("process\t31\t30\t{}\n", worker("test_abort"))
        + &record("begin", 31, "test_abort")
        + &record("baseline", 31, "test_abort");
    let mut ok = format!("process\t32\t30\t{}\n", worker("test_ok"));
    ok += &(record("begin", 32, "test_ok") + &record("baseline", 32, "test_ok"));
    for repetition in 0..6 {
        ok += &counters("measure", 32, "test_ok", repetition, 0);
    }
    ok += &record("end", 32, "test_ok");
    let parse = || {
        let mut parser = regrtest::Parser::new();
        for line in include_str!("../../tests/data/regrtest/3.13.18-j2-quiet-R-abort.txt").split_inclusive('\n') {
            parser.feed_line(line.as_bytes());
        }
        parser.finish(true)
    };
    let assembled = |abort: &str, parsed: ParsedRun| {
        let mut shim = ShimData::default();
        shim.add_file(abort.as_bytes());
        shim.add_file(ok.as_bytes());
        assert_eq!(shim.bad_lines, 0);
        let mut report = RunReport::new(vec!["python3".into()], "/tmp/x".into());
        let supervised = Supervised { pid: 30, ..exited(2) };
        let own = OwnProcesses::new(&shim, 30, &[]);
        assemble(
            &mut report,
            &supervised,
            parsed,
            &NO_FACTS,
            (&shim, &own),
            SiteSettings { symbolizer: &Symbolizer::new(), suppressions: &Default::default(), stack_depth: 0 },
        );
        report
    };
    let report = assembled(&abort, parse());
    assert_eq!(outcomes(&report), [("test_abort", "crashed"), ("test_ok", "passed")]);
    let crashed = &report.tests[0];
    let dump = crashed.faulthandler.as_deref().unwrap_or_default();
    assert!(dump.starts_with("Fatal Python error: Aborted\n") && dump.contains("test_abort.py"), "{dump}");
    assert!(has_note(&report, "test_abort", QUIET_CRASH_NOTE), "{:?}", crashed.notes);
    // The worker's test ended (its `end` record): not its crash.
    let ended = abort.clone() + &record("end", 31, "test_abort");
    let report = assembled(&ended, parse());
    assert_eq!(outcomes(&report), [("test_abort", "failed"), ("test_ok", "passed")]);
    assert_eq!(report.tests[0].faulthandler, None);
    // No dump to give.
    let report = assembled(&abort, ParsedRun { unowned_fault_dumps: Vec::new(), ..parse() });
    assert_eq!(outcomes(&report), [("test_abort", "failed"), ("test_ok", "passed")]);
}

/// `-q` on the command line makes regrtest print no progress line, whatever else the line
/// says: a test name regrtest's selection cannot take (a space in it: QA's F4) does not turn
/// that off, and a progress line in the output is then a test's own.
#[test]
fn quiet_mode_is_known_from_the_command_line_without_a_selection() {
    let command: Vec<std::ffi::OsString> =
        ["python3", "-m", "test", "-q", "-R", "3:3", "test_a b", "test_c"].iter().map(Into::into).collect();
    assert!(
        regrtest::selection(&command.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>()).is_none()
    );
    let lines =
        "0:00:00 load avg: 0.00 Run tests sequentially\n0:00:01 load avg: 0.00 [1/2] test_c failed (reference leak)\n";
    let mut quiet = assemble::selected_names_parser(&command);
    let mut plain = regrtest::Parser::new();
    for line in lines.split_inclusive('\n') {
        quiet.feed_line(line.as_bytes());
        plain.feed_line(line.as_bytes());
    }
    assert_eq!(quiet.finish(true).tests.len(), 0);
    assert_eq!(plain.finish(true).tests.len(), 1);
}
