//! Merging findings that report the same bug.

#![forbid(unsafe_code)]

use std::collections::HashMap;

use super::names::function_base_name;
use super::{Finding, ReportFrame, Sanitizer, MAX_ARRIVALS, MAX_PIDS};

/// Frames of a stack compared by [`deduplicate`].
pub const DEDUP_FRAMES: usize = 5;

/// One frame of a signature, in a form on which the sanitizer runtime's own symbolizer and
/// leakcheck's agree (a report printed with `symbolize=0`, or without a symbolizer, is
/// symbolized by leakcheck; another of the same bug, by the runtime): the file's name and line
/// when the frame has a source line; else the function's base name
/// ([`function_base_name`]) with the file's name when it has a file; else the module's file
/// name and offset; else the function's base name. Never the raw address, which ASLR changes
/// from run to run, nor a directory: symbolizers join directories differently
/// (`../Objects/methodobject.c`, `build-debug/../Objects/methodobject.c`), and a test that builds
/// its program into a fresh temporary directory each repetition runs the same code from another
/// path each time. Not the function of a frame with a line either: the two symbolizers name some
/// functions differently beyond what [`function_base_name`] evens out (the DWARF name
/// `__libc_start_main_impl` and the symbol `__libc_start_main`; GNU's `{lambda(int)#1}` and
/// LLVM's `'lambda'(int)`), and a file and line are one function's.
/// The frames of CPython's eval loop are the function alone (see [`EVAL_LOOP`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FrameKey {
    Line { file: String, line: u32 },
    Function { function: String, file: Option<String> },
    Module { module: String, offset: u64 },
    Unknown,
}

/// CPython's bytecode eval loop, `_PyEval_EvalFrameDefault` (3.11: in `ceval.c`; 3.12+:
/// `generated_cases.c.h`, 3.13's tier-2 micro-ops in `executor_cases.c.h`; a part gcc moved out
/// as `_PyEval_EvalFrameDefault.cold`). Where it is in that function (line, file, offset)
/// says which instruction made the call, and the adaptive interpreter changes the instruction
/// as it specializes: the first calls of a site run the generic `CALL`, later ones a
/// specialized one. One bug called from the same Python line would otherwise be two findings:
/// its frames compare by the function's base name alone.
const EVAL_LOOP: &str = "_PyEval_EvalFrameDefault";

/// A path's file name: `a/b/c.c` -> `c.c`.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn frame_key(frame: &ReportFrame) -> FrameKey {
    let function = frame.function.as_deref().map(function_base_name);
    if function == Some(EVAL_LOOP) {
        return FrameKey::Function { function: EVAL_LOOP.to_owned(), file: None };
    }
    match (&frame.file, frame.line, &frame.module, frame.module_offset, function) {
        (Some(file), Some(line), ..) => FrameKey::Line { file: file_name(file).to_owned(), line },
        (Some(file), None, _, _, Some(function)) => {
            FrameKey::Function { function: function.to_owned(), file: Some(file_name(file).to_owned()) }
        }
        // The module's file name only, as for sources: the same binary built into another
        // directory (`mkdtemp()` per repetition) is the same code.
        (_, _, Some(module), Some(offset), _) => FrameKey::Module { module: file_name(module).to_owned(), offset },
        (_, _, _, _, Some(function)) => FrameKey::Function { function: function.to_owned(), file: None },
        _ => FrameKey::Unknown,
    }
}

/// The last part is, for a finding that awaits its test ([`Finding::awaits_test`]), its process
/// (`None` for a report without a pid).
type Signature = (Sanitizer, String, Vec<Vec<FrameKey>>, Option<Option<u32>>);

/// The sanitizer, the kind, and the first [`DEDUP_FRAMES`] frames of the access stack; for a
/// report without one (LSan), of every related stack.
fn signature(finding: &Finding) -> Signature {
    let stack = |frames: &[ReportFrame]| frames.iter().take(DEDUP_FRAMES).map(frame_key).collect::<Vec<_>>();
    let stacks = if finding.frames.is_empty() {
        finding.related.iter().map(|r| stack(&r.frames)).collect()
    } else {
        vec![stack(&finding.frames)]
    };
    let process = finding.awaits_test().then_some(finding.pid);
    (finding.sanitizer, finding.kind.clone(), stacks, process)
}

/// Merge findings with the same signature (sanitizer, kind, first [`DEDUP_FRAMES`] frames'
/// file name+line, or function base name+file name, or module file name+offset; the eval
/// loop's function alone: see [`FrameKey`]), summing their
/// counts (and each test's, [`Finding::count_in`]) and keeping each test's processes
/// ([`Finding::pids_in`]). The first finding of each signature is
/// kept, in input order, with the tests of the others in [`Finding::other_tests`]. Symbolize first ([`super::symbolize_findings`]): a frame
/// symbolized in one finding and not in another does not compare equal. A finding that awaits
/// its test ([`Finding::awaits_test`]) merges only with those of its process (or, without a pid,
/// of none) that await theirs,
/// keeping their [`Finding::arrivals`] (at most [`MAX_ARRIVALS`]).
pub fn deduplicate(findings: Vec<Finding>) -> Vec<Finding> {
    let mut kept: Vec<Finding> = Vec::new();
    let mut by_signature: HashMap<Signature, usize> = HashMap::new();
    for finding in findings {
        let key = signature(&finding);
        match by_signature.get(&key) {
            Some(&index) => {
                let first = &mut kept[index];
                let mut counts = first.counts_by_test();
                for (test, n) in finding.counts_by_test() {
                    match counts.iter_mut().find(|(t, _)| *t == test) {
                        Some((_, total)) => *total = total.saturating_add(n),
                        None => counts.push((test, n)),
                    }
                }
                first.test_counts = counts;
                let mut pids = first.pids_by_test();
                for pair in finding.pids_by_test() {
                    if pids.len() < MAX_PIDS && !pids.contains(&pair) {
                        pids.push(pair);
                    }
                }
                first.test_pids = pids;
                first.count = first.count.saturating_add(finding.count);
                let room = MAX_ARRIVALS.saturating_sub(first.arrivals.len());
                first.arrivals.extend(finding.arrivals.into_iter().take(room));
                let tests = finding.test.into_iter().chain(finding.other_tests);
                for test in tests {
                    if first.test.as_ref() != Some(&test) && !first.other_tests.contains(&test) {
                        first.other_tests.push(test);
                    }
                }
            }
            None => {
                by_signature.insert(key, kept.len());
                kept.push(finding);
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::super::RelatedStack;
    use super::*;

    fn frame(index: u32, function: &str, file: &str, line: u32, address: u64) -> ReportFrame {
        ReportFrame {
            index,
            address: Some(address),
            function: Some(function.into()),
            file: Some(file.into()),
            line: Some(line),
            column: None,
            module: None,
            module_offset: None,
            build_id: None,
            inlined: false,
        }
    }

    fn finding(kind: &str, frames: Vec<ReportFrame>, test: &str) -> Finding {
        Finding { test: Some(test.into()), ..Finding::asan(kind, frames, Vec::new()) }
    }

    #[test]
    fn same_top_frames_merge_whatever_the_addresses() {
        let stack = |base: u64, sixth: &str| {
            let mut frames: Vec<ReportFrame> =
                (0..5).map(|i| frame(i, &format!("f{i}"), "/src/a.c", 10 + i, base + u64::from(i))).collect();
            frames.push(frame(5, sixth, "/src/b.c", 1, base + 5));
            frames
        };
        let findings = vec![
            finding("heap-buffer-overflow", stack(0x5500_0000_0000, "x"), "test_a"),
            finding("heap-buffer-overflow", stack(0x5600_0000_0000, "y"), "test_b"),
            finding("heap-use-after-free", stack(0x5700_0000_0000, "x"), "test_c"),
            finding("heap-buffer-overflow", stack(0x5800_0000_0000, "z"), "test_a"),
        ];
        let merged = deduplicate(findings);
        let summary: Vec<(&str, u32, Option<&str>, &[String])> =
            merged.iter().map(|f| (f.kind.as_str(), f.count, f.test.as_deref(), f.other_tests.as_slice())).collect();
        assert_eq!(
            summary,
            [
                ("heap-buffer-overflow", 3, Some("test_a"), &["test_b".to_owned()][..]),
                ("heap-use-after-free", 1, Some("test_c"), &[][..])
            ]
        );
    }

    /// Reports without a pid (UBSan's) that await their tests merge with each other, keeping
    /// every arrival, and not with the same bug's reports that a test's output held: the merged
    /// finding would be one test's, or await for all.
    #[test]
    fn reports_without_a_pid_awaiting_their_tests_merge_only_with_each_other() {
        let pidless = |test: Option<&str>, arrivals: Vec<u64>| Finding {
            sanitizer: Sanitizer::Ubsan,
            pid: None,
            test: test.map(str::to_owned),
            arrivals,
            ..Finding::asan("signed-integer-overflow", vec![frame(0, "add", "/src/u.c", 3, 1)], Vec::new())
        };
        let merged =
            deduplicate(vec![pidless(None, vec![10]), pidless(Some("test_a"), Vec::new()), pidless(None, vec![20])]);
        let summary: Vec<_> = merged.iter().map(|f| (f.count, f.test.as_deref(), f.arrivals.clone())).collect();
        assert_eq!(summary, [(2, None, vec![10, 20]), (1, Some("test_a"), Vec::new())]);
        assert!(merged[0].awaits_test());
    }

    /// The same double free in two processes of a real run (python3.11-dbg, gcc 12's libasan):
    /// one report symbolized by the runtime, the other printed with `symbolize=0` and
    /// symbolized by leakcheck, which names the functions and joins the directories otherwise.
    /// One finding; the first report's frames are the ones kept.
    #[test]
    fn a_report_the_runtime_symbolized_and_one_leakcheck_symbolized_are_one_finding() {
        let runtime = vec![
            frame(
                0,
                "__interceptor_free",
                "../../../../src/libsanitizer/asan/asan_malloc_linux.cpp",
                52,
                0x7f4a_6f4b_76a8,
            ),
            frame(1, "double_free", "/tmp/qa-san/fx/qsan.c", 22, 0x7f4a_6d42_3402),
            frame(2, "cfunction_vectorcall_NOARGS", "../Objects/methodobject.c", 486, 0x4e_ce36),
            frame(3, "_PyObject_VectorcallTstate", "../Include/internal/pycore_call.h", 92, 0x4a_9f9f),
            frame(4, "PyObject_Vectorcall", "../Objects/call.c", 299, 0x4a_a06a),
        ];
        let leakcheck = |module: &str, offset: u64, address: u64, function: &str, file: &str, line: u32| ReportFrame {
            module: Some(module.into()),
            module_offset: Some(offset),
            column: Some(3),
            ..frame(0, function, file, line, address)
        };
        let python = "/usr/bin/python3.11d";
        let symbolized_here = vec![
            leakcheck(
                "/lib/x86_64-linux-gnu/libasan.so.8.0.0",
                0xb76a8,
                0x7f8e_430b_76a8,
                "__interceptor_free.part.0",
                "/build/reproducible-path/gcc-12-12.2.0/build/x86_64-linux-gnu/libsanitizer/asan/../../../../src/libsanitizer/asan/asan_malloc_linux.cpp",
                52,
            ),
            leakcheck("/tmp/qa-san/td/_qsan.so", 0x2402, 0x7f8e_4290_a402, "double_free", "/tmp/qa-san/fx/qsan.c", 22),
            leakcheck(python, 0x4e_ce36, 0x4e_ce36, "cfunction_vectorcall_NOARGS", "build-debug/../Objects/methodobject.c", 486),
            leakcheck(python, 0x4a_9f9f, 0x4a_9f9f, "_PyObject_VectorcallTstate", "build-debug/../Include/internal/pycore_call.h", 92),
            leakcheck(python, 0x4a_a06a, 0x4a_a06a, "PyObject_Vectorcall", "build-debug/../Objects/call.c", 299),
        ];
        let merged = deduplicate(vec![
            finding("double-free", runtime.clone(), "test_q_double_free"),
            finding("double-free", symbolized_here.clone(), "test_q_subproc_nosym"),
        ]);
        assert_eq!(merged.len(), 1, "{merged:#?}");
        assert_eq!((merged[0].count, &merged[0].frames), (2, &runtime));
        assert_eq!(merged[0].other_tests, ["test_q_subproc_nosym"]);

        // C++ (a static function: DWARF has no linkage name for the runtime to demangle),
        // symbolized by the symbol table alone (no line): the function's base name.
        let named = |function: &str, module: Option<&str>| ReportFrame {
            file: None,
            line: None,
            module: module.map(str::to_owned),
            module_offset: module.map(|_| 0x1248),
            ..frame(1, function, "", 0, 0x7f81_cc19_b248)
        };
        let merged = deduplicate(vec![
            finding("alloc-dealloc-mismatch", vec![named("mismatch", None)], "a"),
            finding("alloc-dealloc-mismatch", vec![named("mismatch(_object*, _object*)", None)], "b"),
            finding("alloc-dealloc-mismatch", vec![named("other(_object*, _object*)", None)], "c"),
        ]);
        assert_eq!(merged.iter().map(|f| f.count).collect::<Vec<_>>(), [2, 1]);
    }

    #[test]
    fn a_different_line_is_a_different_bug() {
        let a = finding("SEGV", vec![frame(0, "poke", "/src/s.c", 7, 1)], "t");
        let b = finding("SEGV", vec![frame(0, "poke", "/src/s.c", 8, 1)], "t");
        assert_eq!(deduplicate(vec![a, b]).len(), 2);
    }

    /// CPython 3.13's generic `CALL` (generated_cases.c.h:813) and the specialized one it
    /// becomes (:1843) calling the same extension function: one bug (frames of a real run).
    #[test]
    fn the_eval_loops_line_is_not_part_of_the_signature() {
        let stack = |eval_file: &str, eval_line: u32| {
            vec![
                frame(0, "heap_overflow", "/tmp/ext/qasan.c", 80, 0x7fed_5ca8_ca14),
                frame(1, "cfunction_vectorcall_NOARGS", "Objects/methodobject.c", 484, 0x561c_de1b_63f1),
                frame(2, "_PyObject_VectorcallTstate", "Include/internal/pycore_call.h", 168, 0x561c_de16_8950),
                frame(3, "PyObject_Vectorcall", "Objects/call.c", 327, 0x561c_de16_8a24),
                frame(4, "_PyEval_EvalFrameDefault", eval_file, eval_line, 0x561c_de28_b1cb),
            ]
        };
        let merged = deduplicate(vec![
            finding("heap-buffer-overflow", stack("Python/generated_cases.c.h", 813), "t"),
            finding("heap-buffer-overflow", stack("Python/generated_cases.c.h", 1843), "t"),
            finding("heap-buffer-overflow", stack("Python/executor_cases.c.h", 2210), "t"),
            // 3.11: the instructions are in ceval.c.
            finding("heap-buffer-overflow", stack("Python/ceval.c", 4772), "t"),
        ]);
        assert_eq!(merged.iter().map(|f| f.count).collect::<Vec<_>>(), [4]);

        // Named by the symbol table only (no DWARF), or in gcc's cold part: the offset or
        // the part does not count either.
        let mut bare = stack("", 0);
        bare[4] = ReportFrame {
            file: None,
            line: None,
            module: Some("/usr/bin/python3.13".into()),
            module_offset: Some(0x1f_2a3b),
            ..bare[4].clone()
        };
        let mut cold = bare.clone();
        cold[4].function = Some("_PyEval_EvalFrameDefault.cold".into());
        cold[4].module_offset = Some(0x9_8765);
        let merged = deduplicate(vec![
            finding("heap-buffer-overflow", stack("Python/generated_cases.c.h", 813), "t"),
            finding("heap-buffer-overflow", bare, "t"),
            finding("heap-buffer-overflow", cold, "t"),
        ]);
        assert_eq!(merged.iter().map(|f| f.count).collect::<Vec<_>>(), [3]);

        // Another function's line still counts.
        let mut other = stack("Python/generated_cases.c.h", 813);
        other[3].line = Some(328);
        let merged = deduplicate(vec![
            finding("heap-buffer-overflow", stack("Python/generated_cases.c.h", 813), "t"),
            finding("heap-buffer-overflow", other, "t"),
        ]);
        assert_eq!(merged.len(), 2);
    }

    #[test]
    fn lsan_reports_compare_their_leak_stacks() {
        let leak = |line: u32| {
            let mut f = finding("detected memory leaks", Vec::new(), "t");
            f.sanitizer = Sanitizer::Lsan;
            f.related = vec![RelatedStack {
                label: "Direct leak of 8 byte(s) in 1 object(s) allocated from:".into(),
                frames: vec![frame(0, "malloc", "/src/l.c", line, 1)],
            }];
            f
        };
        let merged = deduplicate(vec![leak(1), leak(1), leak(2)]);
        assert_eq!(merged.iter().map(|f| f.count).collect::<Vec<_>>(), [2, 1]);
    }

    /// Merged findings keep each test's count, also when merged again (the run merges as
    /// findings pile up).
    #[test]
    fn each_tests_reports_are_counted_through_merges() {
        let stack = || vec![frame(0, "f", "/src/a.c", 1, 0x1000)];
        let one = |test: &str| finding("heap-buffer-overflow", stack(), test);
        let mut merged = deduplicate(vec![one("a"), one("b"), one("b")]);
        merged.extend([one("b"), one("c"), Finding { test: None, ..one("x") }]);
        let merged = deduplicate(merged);
        assert_eq!(merged.len(), 1);
        let f = &merged[0];
        assert_eq!(f.count, 6);
        assert_eq!((f.count_in("a"), f.count_in("b"), f.count_in("c"), f.count_in("d")), (1, 3, 1, 0));
        assert_eq!(f.counts_by_test().last(), Some(&(None, 1)));
        assert_eq!(one("a").count_in("a"), 1);
    }

    /// A test that builds a small ASAN program into a fresh `mkdtemp()` directory each
    /// repetition and runs it (frames of a real run): `_start` has no source line, and its
    /// module's directory differs every time; the same bug is one finding.
    #[test]
    fn a_module_compares_by_its_file_name_not_its_directory() {
        let stack = |dir: &str| {
            let start = ReportFrame {
                index: 3,
                address: Some(0x561f_cdca_10b0),
                function: Some("_start".into()),
                file: None,
                line: None,
                column: None,
                module: Some(format!("{dir}/g")),
                module_offset: Some(0x10b0),
                build_id: None,
                inlined: false,
            };
            vec![
                frame(0, "main", &format!("{dir}/g.c"), 6, 0x561f_cdca_11cb),
                frame(1, "__libc_start_call_main", "../sysdeps/nptl/libc_start_call_main.h", 58, 0x7f4a_1c22_9d8f),
                frame(2, "__libc_start_main_impl", "../csu/libc-start.c", 360, 0x7f4a_1c22_9e3f),
                start,
            ]
        };
        let merged = deduplicate(vec![
            finding("heap-buffer-overflow", stack("/tmp/s3grand1t9k9hs5"), "test_s3_grand"),
            finding("heap-buffer-overflow", stack("/tmp/s3grandf3b6axq9"), "test_s3_grand"),
        ]);
        assert_eq!(merged.iter().map(|f| f.count).collect::<Vec<_>>(), [2]);
        // Another module's file name, or another offset, is still another frame.
        let mut other = stack("/tmp/s3grandy39lxynz");
        other[3].module = Some("/tmp/s3grandy39lxynz/h".into());
        let mut moved = stack("/tmp/s3grandy39lxynz");
        moved[3].module_offset = Some(0x10c0);
        assert_eq!(
            deduplicate(vec![stack("/tmp/a"), other, moved].into_iter().map(|s| finding("SEGV", s, "t")).collect())
                .len(),
            3
        );
    }

    #[test]
    fn unsymbolized_frames_compare_by_module_and_offset() {
        let raw = |address: u64| ReportFrame {
            index: 0,
            address: Some(address),
            function: None,
            file: None,
            line: None,
            column: None,
            module: Some("/lib/x.so".into()),
            module_offset: Some(0x11f8),
            build_id: None,
            inlined: false,
        };
        let merged = deduplicate(vec![
            finding("SEGV", vec![raw(0x7f01_0000_11f8)], "a"),
            finding("SEGV", vec![raw(0x7f02_0000_11f8)], "a"),
        ]);
        assert_eq!((merged.len(), merged[0].count, merged[0].other_tests.len()), (1, 2, 0));
    }
}
