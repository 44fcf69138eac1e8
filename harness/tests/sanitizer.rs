//! `leakcheck::sanitizer` on real sanitizer reports: the programs of `c/sanitizer/` (gcc 12's
//! ASAN, LSan, UBSan and TSan, clang 14's MSan, UBSan and TSan, an ASAN shared object in a
//! plain program, an ASAN extension module in Debian's python3.11-dbg under regrtest), run
//! live by these tests and captured once into `tests/data/sanitizer/*.txt`.
//!
//! - Golden files: every capture `NAME.txt` is parsed and compared with `NAME.expected` (every
//!   field of every finding, one line per frame); `LEAKCHECK_BLESS=1 cargo test --test
//!   sanitizer` rewrites them.
//! - `LEAKCHECK_RECAPTURE=1 cargo test --test sanitizer recapture` runs the scenarios again
//!   and rewrites the captures (then bless); `LEAKCHECK_RECAPTURE=NAME,NAME` only those
//!   scenarios'; `tests/data/sanitizer/README.md` lists them.
//! - Live runs check what matters independently of the captures: the kind, and the function
//!   and line (from the `MARK` comments of the sources) of the faulting frame; and that
//!   frames left unsymbolized (`symbolize=0`) come out of [`symbolize_findings`] and
//!   [`symbolize_log`] as the runtime's own symbolizer printed them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use leakcheck::sanitizer::{
    deduplicate, symbolize_findings, symbolize_log, Finding, Parser, ReportEnd, ReportFrame, Sanitizer,
};
use leakcheck::symbolize::Symbolizer;
use leakcheck_fixtures::sanitizer as fixtures;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sanitizer");
/// CPython's ASAN buildbots (`UnixAsanBuild`).
const BUILDBOT_ASAN_OPTIONS: &str = "detect_leaks=0:allocator_may_return_null=1:handle_segv=0";

fn built(fixture: Result<&'static str, &'static str>) -> &'static str {
    fixture.unwrap_or_else(|why| panic!("sanitizer fixture not built (run scripts/setup.sh): {why}"))
}

/// The 1-based line of `source` (in c/sanitizer/) carrying `MARK name`.
fn marked(source: &str, name: &str) -> u32 {
    let path = Path::new(fixtures::SOURCE_DIR).join(source);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let index = text
        .lines()
        .position(|l| l.contains(&format!("MARK {name} ")))
        .unwrap_or_else(|| panic!("no MARK {name} in {source}"));
    index as u32 + 1
}

/// What runs in one scenario.
#[derive(Clone, Copy)]
enum Program {
    Fixture(Result<&'static str, &'static str>),
    /// The plain `dso_loader` loading the ASAN shared object, libasan preloaded.
    DsoLoader,
    /// `python3.11-dbg -c CODE` with `_asanext` importable and libasan preloaded.
    Python(&'static str),
    /// `python3.11-dbg -m test ARGS` on a test directory with `test_asanext.py`, a passing
    /// `test_ok.py` and `_asanext`, libasan preloaded.
    Regrtest(&'static [&'static str]),
}

struct Scenario {
    name: &'static str,
    program: Program,
    env: &'static [(&'static str, &'static str)],
    what: &'static str,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "asan-heap-buffer-overflow",
        program: Program::Fixture(fixtures::HEAP_BUFFER_OVERFLOW),
        env: &[],
        what: "gcc -O1, an inlined store past the end of a malloc block",
    },
    Scenario {
        name: "asan-heap-buffer-overflow-symbolize0",
        program: Program::Fixture(fixtures::HEAP_BUFFER_OVERFLOW),
        env: &[("ASAN_OPTIONS", "symbolize=0")],
        what: "the same, unsymbolized",
    },
    Scenario {
        name: "asan-heap-use-after-free",
        program: Program::Fixture(fixtures::HEAP_USE_AFTER_FREE),
        env: &[],
        what: "read in thread T1 of a block main freed; thread creation stack",
    },
    Scenario {
        name: "asan-double-free",
        program: Program::Fixture(fixtures::DOUBLE_FREE),
        env: &[],
        what: "attempting double-free",
    },
    Scenario {
        name: "asan-stack-buffer-overflow",
        program: Program::Fixture(fixtures::STACK_BUFFER_OVERFLOW),
        env: &[],
        what: "read past a local array; frame description and HINT",
    },
    Scenario {
        name: "asan-global-buffer-overflow",
        program: Program::Fixture(fixtures::GLOBAL_BUFFER_OVERFLOW),
        env: &[],
        what: "write past a global array",
    },
    Scenario {
        name: "asan-segv",
        program: Program::Fixture(fixtures::SEGV),
        env: &[],
        what: "SEGV on unknown address (handle_segv=1, the default)",
    },
    Scenario {
        name: "asan-segv-buildbot-options",
        program: Program::Fixture(fixtures::SEGV),
        env: &[("ASAN_OPTIONS", BUILDBOT_ASAN_OPTIONS)],
        what: "the same with the buildbots' handle_segv=0: no report",
    },
    Scenario {
        name: "asan-alloc-dealloc-mismatch",
        program: Program::Fixture(fixtures::ALLOC_DEALLOC_MISMATCH),
        env: &[],
        what: "g++: operator new, then free",
    },
    Scenario {
        name: "lsan-leaks",
        program: Program::Fixture(fixtures::LEAK),
        env: &[],
        what: "direct and indirect leaks, three blocks",
    },
    Scenario {
        name: "lsan-leaks-symbolize0",
        program: Program::Fixture(fixtures::LEAK),
        env: &[("ASAN_OPTIONS", "symbolize=0")],
        what: "the same, unsymbolized",
    },
    Scenario {
        name: "ubsan-defaults",
        program: Program::Fixture(fixtures::UBSAN),
        env: &[],
        what: "four runtime errors, no stacks, no summaries, program output after them",
    },
    Scenario {
        name: "ubsan-stacks-summaries",
        program: Program::Fixture(fixtures::UBSAN),
        env: &[("UBSAN_OPTIONS", "print_stacktrace=1:print_summary=1:report_error_type=1")],
        what: "with stacks and SUMMARY lines naming the checks",
    },
    Scenario {
        name: "ubsan-stacks-symbolize0",
        program: Program::Fixture(fixtures::UBSAN),
        env: &[("UBSAN_OPTIONS", "print_stacktrace=1:symbolize=0")],
        what: "stacks, unsymbolized",
    },
    Scenario {
        name: "ubsan-vptr",
        program: Program::Fixture(fixtures::UBSAN_VPTR),
        env: &[("UBSAN_OPTIONS", "print_stacktrace=1:print_summary=1:report_error_type=1")],
        what: "g++ -fsanitize=vptr: a memory dump, its caret line and the range's label under it, then the stack",
    },
    Scenario {
        name: "ubsan-kinds-gcc",
        program: Program::Fixture(fixtures::UBSAN_KINDS_GCC),
        env: &[("UBSAN_OPTIONS", "print_stacktrace=1")],
        what: "a float division by zero and ctz(0): no SUMMARY (gcc's libubsan prints none by default)",
    },
    Scenario {
        name: "ubsan-kinds-gcc-error-type",
        program: Program::Fixture(fixtures::UBSAN_KINDS_GCC),
        env: &[("UBSAN_OPTIONS", "print_stacktrace=1:print_summary=1:report_error_type=1")],
        what: "the same with leakcheck's UBSAN_OPTIONS: SUMMARY lines naming the checks",
    },
    Scenario {
        name: "ubsan-kinds-clang",
        program: Program::Fixture(fixtures::UBSAN_KINDS_CLANG),
        env: &[("UBSAN_OPTIONS", "print_stacktrace=1")],
        what: "clang: the same and an implicit conversion int -1 to unsigned char; SUMMARY says undefined-behavior",
    },
    Scenario {
        name: "ubsan-kinds-clang-error-type",
        program: Program::Fixture(fixtures::UBSAN_KINDS_CLANG),
        env: &[("UBSAN_OPTIONS", "print_stacktrace=1:print_summary=1:report_error_type=1")],
        what: "the same with leakcheck's UBSAN_OPTIONS: SUMMARY lines naming the checks",
    },
    Scenario {
        name: "tsan-data-race",
        program: Program::Fixture(fixtures::TSAN_RACE),
        env: &[],
        what: "two threads increment a global",
    },
    Scenario {
        name: "tsan-data-race-symbolize0",
        program: Program::Fixture(fixtures::TSAN_RACE),
        env: &[("TSAN_OPTIONS", "symbolize=0")],
        what: "the same, unsymbolized (base names of modules)",
    },
    Scenario {
        name: "tsan-lock-order-clang",
        program: Program::Fixture(fixtures::TSAN_LOCK_ORDER),
        env: &[],
        what: "clang's static TSan runtime: a lock-order-inversion, its SUMMARY at the interceptor's frame",
    },
    Scenario {
        name: "msan-use-of-uninitialized-value",
        program: Program::Fixture(fixtures::MSAN_UNINIT),
        env: &[],
        what: "clang, origins: a branch on a never-written heap int",
    },
    Scenario {
        name: "msan-use-of-uninitialized-value-symbolize0",
        program: Program::Fixture(fixtures::MSAN_UNINIT),
        env: &[("MSAN_OPTIONS", "symbolize=0")],
        what: "the same, unsymbolized (with BuildId)",
    },
    Scenario {
        name: "asan-dso",
        program: Program::DsoLoader,
        env: &[],
        what: "heap-buffer-overflow in an ASAN shared object dlopen()ed by a plain non-PIE program",
    },
    Scenario {
        name: "asan-dso-symbolize0",
        program: Program::DsoLoader,
        env: &[("ASAN_OPTIONS", "symbolize=0")],
        what: "the same, unsymbolized",
    },
    Scenario {
        name: "python-asanext-overflow",
        program: Program::Python("import _asanext; _asanext.overflow()"),
        env: &[("ASAN_OPTIONS", BUILDBOT_ASAN_OPTIONS)],
        what: "python3.11-dbg, the ASAN extension writes past a malloc block",
    },
    Scenario {
        name: "python-asanext-overflow-symbolize0",
        program: Program::Python("import _asanext; _asanext.overflow()"),
        env: &[("ASAN_OPTIONS", "detect_leaks=0:allocator_may_return_null=1:handle_segv=0:symbolize=0")],
        what: "the same, unsymbolized",
    },
    Scenario {
        name: "python-lsan",
        program: Program::Python("import json, decimal"),
        env: &[("ASAN_OPTIONS", "allocator_may_return_null=1:handle_segv=0:fast_unwind_on_malloc=0")],
        what:
            "python3.11-dbg with detect_leaks=1 (and the slow unwinder, for whole stacks): LSan's leak blocks at exit",
    },
    Scenario {
        name: "python-lsan-asanext",
        program: Program::Python(LSAN_ASANEXT_CODE),
        env: &[("ASAN_OPTIONS", "allocator_may_return_null=1:handle_segv=0")],
        what: "python3.11-dbg with detect_leaks=1 and the fast unwinder: the interpreter's leaks, whose stacks stop at `_PyMem_RawMalloc` (no frame pointers), then the fixture's 40-byte leak",
    },
    Scenario {
        name: "python-lsan-asanext-slow",
        program: Program::Python(LSAN_ASANEXT_CODE),
        env: &[("ASAN_OPTIONS", "allocator_may_return_null=1:handle_segv=0:fast_unwind_on_malloc=0")],
        what: "the same with the slow unwinder: whole stacks, the interpreter's leaks through its own code (`new_keys_object`), the fixture's last",
    },
    Scenario {
        name: "python-asanext-noise",
        program: Program::Python(NOISE_CODE),
        env: &[("ASAN_OPTIONS", "detect_leaks=0:allocator_may_return_null=1:handle_segv=0:halt_on_error=0:suppress_equal_pcs=0")],
        what: "ten recovered overflows while a subprocess writes `tick ` to the same stderr every millisecond without a newline: some frame `#0` and `SUMMARY:` lines come after ticks",
    },
    Scenario {
        name: "python-lsan-no-summary",
        program: Program::Python(LSAN_NO_SUMMARY_CODE),
        env: &[("ASAN_OPTIONS", "detect_leaks=0:allocator_may_return_null=1:handle_segv=0:print_summary=0")],
        what: "a subprocess leaks the fixture's block, its LSan report without a summary (`detect_leaks=1:print_summary=0`), then the parent prints a line",
    },
    Scenario {
        name: "python-regrtest-no-summary",
        program: Program::Regrtest(&["test_ok", "test_asanext", "test_ok2"]),
        env: &[("ASAN_OPTIONS", "detect_leaks=0:allocator_may_return_null=1:handle_segv=0:halt_on_error=0:print_summary=0")],
        what: "regrtest, sequential, `print_summary=0`: two recovered reports without summaries, each ending with its shadow-byte dump, and a test after them",
    },
    Scenario {
        name: "python-regrtest-sequential",
        program: Program::Regrtest(&["test_ok", "test_asanext"]),
        env: &[("ASAN_OPTIONS", "detect_leaks=0:allocator_may_return_null=1:handle_segv=0:halt_on_error=0")],
        what: "regrtest, sequential: two recovered reports amid regrtest's output",
    },
    Scenario {
        name: "python-regrtest-j2",
        program: Program::Regrtest(&["-j2", "test_ok", "test_asanext"]),
        env: &[("ASAN_OPTIONS", "detect_leaks=0:allocator_may_return_null=1:handle_segv=0:halt_on_error=0")],
        what: "regrtest -j2: the worker's reports relayed by the main process",
    },
];

/// A subprocess writes `tick ` to stderr every millisecond, without a newline, for about two
/// seconds, while the process makes ten recovered heap overflows (`suppress_equal_pcs=0`: each
/// is reported): another process's unterminated output before some of the runtime's lines.
const NOISE_CODE: &str = "import subprocess, sys, time, _asanext; noise = subprocess.Popen([sys.executable, '-c', \
    'import os, time\\nfor _ in range(2000): os.write(2, b\"tick \"); time.sleep(0.001)']); time.sleep(0.3); \
    [(_asanext.overflow(), time.sleep(0.05)) for _ in range(10)]; noise.wait()";

/// The interpreter leaks some of what `itertools` made at start-up, and the fixture its block.
const LSAN_ASANEXT_CODE: &str = "import itertools, _asanext; _asanext.leak()";

/// A subprocess with `detect_leaks=1:print_summary=0` leaks the fixture's block (LSan reports it
/// at its exit, without a summary); then this process prints a line.
const LSAN_NO_SUMMARY_CODE: &str = "import os, subprocess, sys; subprocess.run([sys.executable, '-c', \
    'import _asanext; _asanext.leak()'], env=dict(os.environ, ASAN_OPTIONS='detect_leaks=1:print_summary=0')); \
    print('the parent goes on', flush=True)";

fn scenario(name: &str) -> &'static Scenario {
    SCENARIOS.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no scenario {name}"))
}

/// A test directory with the regrtest modules that use `_asanext` (which stays in the build
/// directory, on `PYTHONPATH`: reports name it there, and it must outlive the run).
fn python_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::copy(Path::new(fixtures::SOURCE_DIR).join("test_asanext.py"), dir.path().join("test_asanext.py"))
        .expect("copying test_asanext.py");
    for name in ["test_ok", "test_ok2"] {
        std::fs::write(
            dir.path().join(format!("{name}.py")),
            "import unittest\nclass T(unittest.TestCase):\n    def test_ok(self):\n        pass\n",
        )
        .expect("writing a passing test");
    }
    dir
}

/// Run a scenario; its stdout and stderr interleaved as written (`2>&1`), in a clean
/// environment.
fn run(scenario: &Scenario) -> Vec<u8> {
    let dir = python_dir();
    let (program, args): (&str, Vec<String>) = match scenario.program {
        Program::Fixture(fixture) => (built(fixture), Vec::new()),
        Program::DsoLoader => (built(fixtures::DSO_LOADER), vec![built(fixtures::ASAN_DSO).to_owned()]),
        Program::Python(code) => (leakcheck_fixtures::PYTHON, vec!["-c".into(), code.into()]),
        Program::Regrtest(args) => {
            let mut argv: Vec<String> = ["-m", "test", "--testdir"].map(String::from).into();
            argv.push(dir.path().display().to_string());
            argv.extend(args.iter().map(|a| a.to_string()));
            (leakcheck_fixtures::PYTHON, argv)
        }
    };
    let mut command = Command::new("sh");
    command.arg("-c").arg("exec \"$@\" 2>&1").arg("sh").arg(program).args(&args);
    command.env_clear().env("PATH", "/usr/bin:/bin").env("HOME", "/tmp").env("LANG", "C.UTF-8");
    let extension_dir = Path::new(built(fixtures::ASANEXT)).parent().expect("the extension's directory");
    command.current_dir(dir.path()).env("PYTHONPATH", extension_dir);
    if !matches!(scenario.program, Program::Fixture(_)) {
        command.env("LD_PRELOAD", built(fixtures::LIBASAN));
    }
    command.envs(scenario.env.iter().copied());
    let output = command.output().unwrap_or_else(|e| panic!("running {}: {e}", scenario.name));
    output.stdout
}

fn parse(output: &[u8]) -> Vec<Finding> {
    Parser::parse_log(output)
}

/// A scenario's output parsed as a run with its options parses it: told that ASAN and LSan
/// print no summary when its `ASAN_OPTIONS` say `print_summary=0`.
fn parse_scenario(scenario: &Scenario, output: &[u8]) -> Vec<Finding> {
    let off = scenario.env.iter().any(|(name, value)| *name == "ASAN_OPTIONS" && value.contains("print_summary=0"));
    if off {
        Parser::without_summaries(&[Sanitizer::Asan, Sanitizer::Lsan]).parse_all(output)
    } else {
        parse(output)
    }
}

fn capture_path(name: &str) -> PathBuf {
    Path::new(DATA).join(format!("{name}.txt"))
}

fn read_capture(name: &str) -> Vec<u8> {
    let path = capture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program).args(args).output().map_or_else(
        |e| format!("({program}: {e})"),
        |o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or_default().to_owned(),
    )
}

#[test]
fn recapture() {
    let Some(only) = std::env::var("LEAKCHECK_RECAPTURE").ok() else {
        return;
    };
    // `1`: every scenario; else a comma list of the scenarios to run again (the others'
    // captures are kept).
    let again = |name: &str| only == "1" || only.split(',').any(|n| n == name);
    std::fs::create_dir_all(DATA).expect("creating the data directory");
    let mut readme = String::from(
        "# Sanitizer reports captured for `harness/tests/sanitizer.rs`\n\n\
         Real, unedited stdout+stderr (`2>&1`) of the programs of `c/sanitizer/`, each run in a clean\n\
         environment (`PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8`) plus the variables below; Python\n\
         runs also have `LD_PRELOAD=$(gcc -print-file-name=libasan.so)` and `PYTHONPATH` naming a\n\
         directory with `_asanext` (`c/sanitizer/asanext.c`), `test_asanext.py` and passing\n\
         `test_ok.py` and `test_ok2.py`. `NAME.expected` is what `leakcheck::sanitizer::Parser`\n\
         makes of `NAME.txt` (told that ASAN and LSan print no summary when the scenario's\n\
         `ASAN_OPTIONS` say `print_summary=0`).\n\n\
         Re-capture: `LEAKCHECK_RECAPTURE=1 cargo test -p leakcheck --test sanitizer recapture` (or\n\
         `LEAKCHECK_RECAPTURE=NAME,NAME` for some scenarios), then\n\
         `LEAKCHECK_BLESS=1 cargo test -p leakcheck --test sanitizer`.\n\n",
    );
    readme.push_str("Toolchain of this capture:\n\n");
    for (program, args) in [("gcc", &["--version"][..]), ("clang", &["--version"][..])] {
        readme.push_str(&format!("- `{}`\n", first_line(program, args)));
    }
    for package in ["libasan8", "libubsan1", "libtsan2", "libclang-rt-14-dev", "python3.11-dbg"] {
        let version = first_line("dpkg-query", &["-W", "-f=${Version}\\n", package]);
        readme.push_str(&format!("- {package} {version}\n"));
    }
    readme.push_str("\n| file | program | environment | what |\n|---|---|---|---|\n");
    for scenario in SCENARIOS {
        if again(scenario.name) {
            let output = run(scenario);
            std::fs::write(capture_path(scenario.name), &output).expect("writing a capture");
        }
        let program = match scenario.program {
            Program::Fixture(fixture) => {
                Path::new(built(fixture)).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            }
            Program::DsoLoader => "dso_loader asan_dso.so".to_owned(),
            Program::Python(code) => format!("python3.11-dbg -c '{code}'"),
            Program::Regrtest(args) => format!("python3.11-dbg -m test --testdir DIR {}", args.join(" ")),
        };
        let env: Vec<String> = scenario.env.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
        readme.push_str(&format!(
            "| `{}.txt` | `{program}` | {} | {} |\n",
            scenario.name,
            env.join(" "),
            scenario.what
        ));
    }
    std::fs::write(Path::new(DATA).join("README.md"), readme).expect("writing the README");
}

/// Findings as the golden files hold them: every field, one line per frame (JSON would be
/// four times the size and harder to read in a diff).
fn render(findings: &[Finding]) -> String {
    use std::fmt::Write as _;
    let hex = |value: Option<u64>| value.map_or_else(|| "-".to_owned(), |v| format!("{v:#x}"));
    let frame = |out: &mut String, indent: &str, f: &ReportFrame| {
        let location = match (&f.file, f.line, f.column) {
            (Some(file), line, column) => {
                format!(
                    "{file}:{}:{}",
                    line.map_or("-".into(), |l| l.to_string()),
                    column.map_or("-".into(), |c| c.to_string())
                )
            }
            (None, _, _) => "-".to_owned(),
        };
        let module = match (&f.module, f.module_offset) {
            (Some(module), offset) => format!("({module}+{})", hex(offset)),
            (None, _) => "-".to_owned(),
        };
        let function = f.function.as_deref().unwrap_or("-");
        let inlined = if f.inlined { " inlined" } else { "" };
        let _ = writeln!(out, "{indent}#{} {} {function} {location} {module}{inlined}", f.index, hex(f.address));
    };
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(
            out,
            "finding {:?} {:?} pid={:?} end={:?} truncated={} dropped={} count={} start_line={} test={:?} other_tests={:?}",
            f.sanitizer, f.kind, f.pid, f.end, f.truncated, f.dropped, f.count, f.start_line, f.test, f.other_tests
        );
        let _ = writeln!(out, "  message: {}", f.message);
        let _ = writeln!(out, "  summary: {}", f.summary.as_deref().unwrap_or("-"));
        for line in &f.description {
            let _ = writeln!(out, "  description: {line}");
        }
        for fr in &f.frames {
            frame(&mut out, "  ", fr);
        }
        for related in &f.related {
            let _ = writeln!(out, "  related: {}", related.label);
            for fr in &related.frames {
                frame(&mut out, "    ", fr);
            }
        }
    }
    out
}

/// Every capture parses to its golden findings (`NAME.expected`).
#[test]
fn captures_parse_to_their_golden_findings() {
    let bless = std::env::var_os("LEAKCHECK_BLESS").is_some();
    let mut failures = Vec::new();
    for scenario in SCENARIOS {
        let rendered = render(&parse_scenario(scenario, &read_capture(scenario.name)));
        let golden = Path::new(DATA).join(format!("{}.expected", scenario.name));
        if bless {
            std::fs::write(&golden, &rendered).expect("writing a golden file");
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if rendered != expected {
            failures.push(scenario.name);
        }
    }
    assert!(failures.is_empty(), "differ from their golden files (LEAKCHECK_BLESS=1 if intended): {failures:?}");
}

/// (function, line) of a frame.
type At<'a> = (Option<&'a str>, Option<u32>);

fn at(frame: &ReportFrame) -> At<'_> {
    (frame.function.as_deref(), frame.line)
}

fn only(findings: &[Finding]) -> &Finding {
    assert_eq!(findings.len(), 1, "{findings:#?}");
    &findings[0]
}

/// What each capture holds, checked on the capture and on a live run.
fn check(name: &str, findings: &[Finding]) {
    match name {
        "asan-heap-buffer-overflow" => {
            let f = only(findings);
            assert_eq!(
                (f.sanitizer, f.kind.as_str(), f.end, f.truncated),
                (Sanitizer::Asan, "heap-buffer-overflow", ReportEnd::Summary, false)
            );
            let file = "heap_buffer_overflow.c";
            assert_eq!(at(&f.frames[0]), (Some("store_past_end"), Some(marked(file, "fault"))));
            // Captures hold the path of the tree they were recorded in: compare
            // the components below the repository root.
            let recorded = f.frames[0].file.as_deref().map(Path::new);
            assert!(recorded.is_some_and(|p| p.ends_with(Path::new("c/sanitizer").join(file))), "{recorded:?}");
            assert!(f.frames[0].inlined, "store_past_end is inlined into fill");
            assert_eq!(at(&f.frames[1]), (Some("fill"), Some(marked(file, "fill_calls_store"))));
            assert_eq!(at(&f.frames[2]), (Some("main"), Some(marked(file, "main_calls_fill"))));
            assert_eq!(f.related.len(), 1);
            assert_eq!(f.related[0].label, "allocated by thread T0 here:");
            assert_eq!(at(&f.related[0].frames[1]), (Some("main"), Some(marked(file, "alloc"))));
            assert!(f.description.iter().any(|d| d.starts_with("WRITE of size 4 at ")));
            assert!(f
                .summary
                .as_deref()
                .is_some_and(|s| s.starts_with("SUMMARY: AddressSanitizer: heap-buffer-overflow ")));
        }
        "asan-heap-use-after-free" => {
            let f = only(findings);
            let file = "heap_use_after_free.c";
            assert_eq!(f.kind, "heap-use-after-free");
            assert_eq!(at(&f.frames[0]), (Some("reader"), Some(marked(file, "fault"))));
            let labels: Vec<&str> = f.related.iter().map(|r| r.label.as_str()).collect();
            assert_eq!(
                labels,
                [
                    "freed by thread T0 here:",
                    "previously allocated by thread T0 here:",
                    "Thread T1 created by T0 here:"
                ]
            );
            assert_eq!(at(&f.related[0].frames[1]), (Some("main"), Some(marked(file, "free"))));
            assert_eq!(at(&f.related[1].frames[1]), (Some("main"), Some(marked(file, "alloc"))));
            assert_eq!(at(&f.related[2].frames[1]), (Some("main"), Some(marked(file, "create"))));
        }
        "asan-double-free" => {
            let f = only(findings);
            let file = "double_free.c";
            assert_eq!(f.kind, "double-free");
            assert_eq!(f.frames[0].function.as_deref(), Some("__interceptor_free"));
            assert_eq!(at(&f.frames[1]), (Some("release"), Some(marked(file, "fault"))));
            assert_eq!(at(&f.related[0].frames[1]), (Some("main"), Some(marked(file, "free"))));
        }
        "asan-stack-buffer-overflow" => {
            let f = only(findings);
            assert_eq!(f.kind, "stack-buffer-overflow");
            assert_eq!(at(&f.frames[0]), (Some("sum"), Some(marked("stack_buffer_overflow.c", "fault"))));
            assert!(f.related[0].label.ends_with(" in frame"), "{:?}", f.related[0].label);
            assert!(f.description.iter().any(|d| d.starts_with("HINT: this may be a false positive")));
            assert!(f.description.iter().any(|d| d.contains("'values'")));
        }
        "asan-global-buffer-overflow" => {
            let f = only(findings);
            assert_eq!(f.kind, "global-buffer-overflow");
            assert_eq!(at(&f.frames[0]), (Some("set"), Some(marked("global_buffer_overflow.c", "fault"))));
            assert!(f.description.iter().any(|d| d.contains("global variable 'table'")));
            assert!(f.related.is_empty());
        }
        "asan-segv" => {
            let f = only(findings);
            assert_eq!(f.kind, "SEGV");
            assert_eq!(at(&f.frames[0]), (Some("poke"), Some(marked("segv.c", "fault"))));
            assert!(f.description.contains(&"The signal is caused by a WRITE memory access.".to_owned()));
        }
        "asan-segv-buildbot-options" => assert!(findings.is_empty(), "{findings:#?}"),
        "asan-alloc-dealloc-mismatch" => {
            let f = only(findings);
            let file = "alloc_dealloc_mismatch.cc";
            assert_eq!(f.kind, "alloc-dealloc-mismatch");
            assert_eq!(at(&f.frames[1]), (Some("dispose"), Some(marked(file, "fault"))));
            assert_eq!(f.related[0].frames[0].function.as_deref(), Some("operator new(unsigned long)"));
            assert_eq!(at(&f.related[0].frames[1]), (Some("main"), Some(marked(file, "alloc"))));
            // Its `==PID==HINT:` line comes after the summary, which ended the report.
        }
        "lsan-leaks" => {
            let f = only(findings);
            let file = "leak.c";
            assert_eq!(
                (f.sanitizer, f.kind.as_str(), f.pid.is_some()),
                (Sanitizer::Lsan, "detected memory leaks", true)
            );
            assert!(f.frames.is_empty());
            let leaks: Vec<(&str, At<'_>)> = f.related.iter().map(|r| (r.label.as_str(), at(&r.frames[1]))).collect();
            assert_eq!(
                leaks,
                [
                    (
                        "Direct leak of 54 byte(s) in 3 object(s) allocated from:",
                        (Some("leak_strings"), Some(marked(file, "alloc_string")))
                    ),
                    (
                        "Direct leak of 16 byte(s) in 1 object(s) allocated from:",
                        (Some("make_node"), Some(marked(file, "alloc_node")))
                    ),
                    (
                        "Indirect leak of 100 byte(s) in 1 object(s) allocated from:",
                        (Some("make_node"), Some(marked(file, "alloc_payload")))
                    ),
                ]
            );
            assert_eq!(f.summary.as_deref(), Some("SUMMARY: AddressSanitizer: 170 byte(s) leaked in 5 allocation(s)."));
        }
        "ubsan-defaults" | "ubsan-stacks-summaries" => {
            let file = "ubsan.c";
            let kinds: Vec<(&str, Option<u32>)> =
                findings.iter().map(|f| (f.kind.as_str(), f.frames[0].line)).collect();
            let expected = [
                ("signed-integer-overflow", Some(marked(file, "fault_overflow"))),
                ("invalid-shift-exponent", Some(marked(file, "fault_shift"))),
                ("out-of-bounds-index", Some(marked(file, "fault_bounds"))),
                ("insufficient-object-size", Some(marked(file, "fault_bounds"))),
            ];
            assert_eq!(kinds, expected);
            assert!(findings.iter().all(|f| f.sanitizer == Sanitizer::Ubsan && f.pid.is_none() && !f.truncated));
            if name == "ubsan-stacks-summaries" {
                assert_eq!(at(&findings[0].frames[0]), (Some("add"), Some(marked(file, "fault_overflow"))));
                assert!(findings.iter().all(|f| f.summary.is_some() && f.end == ReportEnd::Summary));
            } else {
                assert!(findings.iter().all(|f| f.frames.len() == 1 && f.summary.is_none()));
                assert!(findings[3].description[0].ends_with(": note: pointer points here"));
            }
        }
        "ubsan-kinds-gcc" | "ubsan-kinds-gcc-error-type" | "ubsan-kinds-clang" | "ubsan-kinds-clang-error-type" => {
            let file = "ubsan_kinds.c";
            let kinds: Vec<(&str, Option<u32>)> =
                findings.iter().map(|f| (f.kind.as_str(), f.frames[0].line)).collect();
            let clang = name.starts_with("ubsan-kinds-clang");
            let mut expected = if name.ends_with("-error-type") {
                // The runtime's own names, from its SUMMARY lines.
                vec![("float-divide-by-zero", "fault_float_divide"), ("invalid-builtin-use", "fault_ctz")]
            } else {
                // What the messages prove: "division by zero" is the text of the integer and
                // the floating-point check alike.
                vec![("undefined-behavior", "fault_float_divide"), ("invalid-builtin-use", "fault_ctz")]
            };
            if clang {
                // A signed truncation that changed the sign: the sign-change check alone would
                // say so too; clang 14's runtime, with -fsanitize=implicit-conversion, names
                // the truncation.
                let check = if name.ends_with("-error-type") {
                    "implicit-signed-integer-truncation"
                } else {
                    "undefined-behavior"
                };
                expected.push((check, "fault_conversion"));
            }
            let expected: Vec<(&str, Option<u32>)> =
                expected.into_iter().map(|(kind, mark)| (kind, Some(marked(file, mark)))).collect();
            assert_eq!(kinds, expected, "{name}");
            assert!(findings
                .iter()
                .all(|f| f.sanitizer == Sanitizer::Ubsan && f.frames[0].function.as_deref() == Some("main")));
            let summaries = findings.iter().all(|f| f.summary.is_some() && f.end == ReportEnd::Summary);
            assert_eq!(summaries, name != "ubsan-kinds-gcc", "{name}: {findings:#?}");
        }
        "tsan-lock-order-clang" => {
            let f = only(findings);
            let file = "tsan_lock_order.c";
            assert_eq!((f.sanitizer, f.kind.as_str()), (Sanitizer::Tsan, "lock-order-inversion (potential deadlock)"));
            // The first mutex's stack is the finding's, the second's its related stack.
            let stacks = std::iter::once(&f.frames).chain(f.related.iter().map(|r| &r.frames));
            let lines: Vec<At<'_>> = stacks.filter_map(|frames| frames.get(1)).map(at).collect();
            assert_eq!(
                lines,
                [
                    (Some("main"), Some(marked(file, "lock_first_second"))),
                    (Some("main"), Some(marked(file, "lock_second_first")))
                ],
                "{f:#?}"
            );
            // The runtime names the interceptor's frame itself, without a source line.
            let interceptor = &f.frames[0];
            assert_eq!(
                (interceptor.function.as_deref(), interceptor.file.as_deref()),
                (Some("pthread_mutex_lock"), None)
            );
            let summary = f.summary.as_deref().unwrap_or_default();
            assert!(
                summary.contains(") (BuildId: ") && summary.ends_with(" in __interceptor_pthread_mutex_lock"),
                "{summary}"
            );
        }
        "ubsan-vptr" => {
            // The line naming the range under the caret (`vptr for 'Other'`) is the report's:
            // the stack and SUMMARY after it are too.
            let f = only(findings);
            assert_eq!(
                (f.sanitizer, f.kind.as_str(), f.end),
                (Sanitizer::Ubsan, "dynamic-type-mismatch", ReportEnd::Summary)
            );
            assert_eq!(at(&f.frames[0]), (Some("call"), Some(marked("ubsan_vptr.cc", "fault"))));
            assert_eq!(f.frames[1].function.as_deref(), Some("main"));
            assert_eq!(f.description.last().map(String::as_str), Some("vptr for 'Other'"));
        }
        "tsan-data-race" => {
            let f = only(findings);
            let file = "tsan_race.c";
            assert_eq!((f.sanitizer, f.kind.as_str(), f.pid.is_some()), (Sanitizer::Tsan, "data race", true));
            assert_eq!(at(&f.frames[0]), (Some("bump"), Some(marked(file, "fault"))));
            assert_eq!(f.frames[0].address, None);
            assert_eq!(f.frames[0].module.as_deref(), Some("tsan_race"));
            assert!(f.related[0].label.starts_with("Previous write of size 4 at "), "{:?}", f.related[0].label);
            assert_eq!(at(&f.related[0].frames[0]), (Some("bump"), Some(marked(file, "fault"))));
            let created: Vec<u32> =
                f.related[1..].iter().filter_map(|r| r.frames.get(1).and_then(|f| f.line)).collect();
            let mut created = created;
            created.sort_unstable();
            assert_eq!(created, [marked(file, "create_first"), marked(file, "create_second")]);
            // 'counter' when symbolized; '<null>' with symbolize=0 (data locations stay as printed).
            assert!(f.description.iter().any(|d| d.starts_with("Location is global '")));
        }
        "msan-use-of-uninitialized-value" => {
            let f = only(findings);
            let file = "msan_uninit.c";
            assert_eq!((f.sanitizer, f.kind.as_str()), (Sanitizer::Msan, "use-of-uninitialized-value"));
            assert_eq!(at(&f.frames[0]), (Some("report"), Some(marked(file, "fault"))));
            assert!(f.frames[0].column.is_some(), "clang's symbolizer prints columns");
            let origin = f.related.last().expect("an origin stack");
            assert_eq!(origin.label, "Uninitialized value was created by a heap allocation");
            assert_eq!(at(&origin.frames[1]), (Some("main"), Some(marked(file, "alloc"))));
        }
        "asan-dso" => {
            let f = only(findings);
            let file = "asan_dso.c";
            assert_eq!(at(&f.frames[0]), (Some("read_after_end"), Some(marked(file, "fault"))));
            assert_eq!(at(&f.frames[1]), (Some("asan_dso_overflow"), Some(marked(file, "calls_read"))));
            assert_eq!(at(&f.frames[2]), (Some("main"), Some(marked("dso_loader.c", "calls_overflow"))));
        }
        "python-asanext-overflow" => {
            let f = only(findings);
            let file = "asanext.c";
            assert_eq!(f.kind, "heap-buffer-overflow");
            assert_eq!(at(&f.frames[0]), (Some("overflow"), Some(marked(file, "fault_overflow"))));
            assert_eq!(f.frames[1].function.as_deref(), Some("cfunction_vectorcall_NOARGS"));
            assert!(f.frames.iter().any(|f| f.function.as_deref() == Some("Py_BytesMain")));
            assert_eq!(at(&f.related[0].frames[1]), (Some("overflow"), Some(marked(file, "alloc_overflow"))));
        }
        "python-lsan" => {
            let f = only(findings);
            assert_eq!((f.sanitizer, f.end), (Sanitizer::Lsan, ReportEnd::Summary));
            assert!(!f.related.is_empty());
            assert!(f.related.iter().all(|r| r.label.contains(" leak of ") && !r.frames.is_empty()));
        }
        "python-lsan-asanext" | "python-lsan-asanext-slow" => {
            // Several leaks, the fixture's last; the writers show it first, at its line.
            let f = only(findings);
            assert_eq!((f.sanitizer, f.end), (Sanitizer::Lsan, ReportEnd::Summary));
            let fixture = |r: &leakcheck::sanitizer::RelatedStack| {
                r.frames.iter().any(|fr| at(fr) == (Some("leak"), Some(marked("asanext.c", "alloc_leak"))))
            };
            assert!(f.related.len() >= 2 && fixture(&f.related[f.related.len() - 1]), "{f:#?}");
            let leaks = leakcheck::report::leak_stacks::ordered_leaks(f);
            assert_eq!(leaks[0].class, leakcheck::report::leak_stacks::LeakClass::Outside, "{leaks:#?}");
            assert_eq!(leaks[0].blame.map(at), Some((Some("leak"), Some(marked("asanext.c", "alloc_leak")))));
            assert!(leaks[1..].iter().all(|l| !fixture(l.stack) && l.class != leaks[0].class), "{leaks:#?}");
        }
        "python-asanext-noise" => {
            // Every report whole, at the fixture's line, whatever came before its lines.
            assert_eq!(findings.len(), 10, "{findings:#?}");
            for f in findings {
                assert_eq!((f.kind.as_str(), f.end, f.truncated), ("heap-buffer-overflow", ReportEnd::Summary, false));
                assert_eq!(at(&f.frames[0]), (Some("overflow"), Some(marked("asanext.c", "fault_overflow"))), "{f:#?}");
                let summary = f.summary.as_deref().unwrap_or_default();
                assert!(summary.starts_with("SUMMARY: AddressSanitizer: heap-buffer-overflow "), "{summary}");
                assert!(f.description[0].starts_with("WRITE of size 1 at 0x"), "{f:#?}");
                let [allocated] = f.related.as_slice() else { panic!("{f:#?}") };
                assert_eq!(allocated.label, "allocated by thread T0 here:");
            }
            assert_eq!(deduplicate(findings.to_vec()).len(), 1, "one bug");
        }
        "python-lsan-no-summary" => {
            // Not truncated: the parent's line after it is no part of it, and ends it.
            let f = only(findings);
            assert_eq!(
                (f.sanitizer, f.end, f.truncated, f.summary.as_deref()),
                (Sanitizer::Lsan, ReportEnd::OtherOutput, false, None)
            );
            let [leak] = f.related.as_slice() else { panic!("{f:#?}") };
            assert_eq!(at(&leak.frames[1]), (Some("leak"), Some(marked("asanext.c", "alloc_leak"))));
            assert!(f.description.is_empty(), "{f:#?}");
        }
        "python-regrtest-no-summary" => {
            let file = "asanext.c";
            let kinds: Vec<(&str, At<'_>)> = findings.iter().map(|f| (f.kind.as_str(), at(&f.frames[0]))).collect();
            assert_eq!(
                kinds,
                [
                    ("heap-buffer-overflow", (Some("overflow"), Some(marked(file, "fault_overflow")))),
                    ("heap-use-after-free", (Some("use_after_free"), Some(marked(file, "fault_uaf")))),
                ]
            );
            // Each ends at its shadow-byte dump, whole: regrtest's lines after it are not its.
            for f in findings {
                assert_eq!((f.end, f.truncated, f.summary.as_deref()), (ReportEnd::ShadowDump, false, None), "{f:#?}");
                assert!(f.frames.len() > 20 && !f.related.is_empty(), "{f:#?}");
                assert!(f.description.iter().all(|d| !d.contains("test_")), "{f:#?}");
            }
        }
        "python-regrtest-sequential" | "python-regrtest-j2" => {
            let file = "asanext.c";
            let kinds: Vec<(&str, At<'_>)> = findings.iter().map(|f| (f.kind.as_str(), at(&f.frames[0]))).collect();
            assert_eq!(
                kinds,
                [
                    ("heap-buffer-overflow", (Some("overflow"), Some(marked(file, "fault_overflow")))),
                    ("heap-use-after-free", (Some("use_after_free"), Some(marked(file, "fault_uaf")))),
                ]
            );
            assert!(findings.iter().all(|f| f.end == ReportEnd::Summary && f.frames.len() > 20));
            assert_eq!(findings[0].pid, findings[1].pid);
        }
        _ => {
            // Unsymbolized captures: every stack is there, as modules and offsets.
            assert!(!findings.is_empty(), "{name}");
            for f in findings {
                let frames = f.frames.iter().chain(f.related.iter().flat_map(|r| &r.frames));
                assert!(
                    frames.into_iter().all(|fr| fr.module.is_some() && fr.module_offset.is_some() && fr.file.is_none()),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn captures_hold_what_the_fixtures_do() {
    for scenario in SCENARIOS {
        check(scenario.name, &parse_scenario(scenario, &read_capture(scenario.name)));
    }
}

#[test]
fn live_runs_hold_what_the_fixtures_do() {
    for scenario in SCENARIOS {
        let output = run(scenario);
        let findings = parse_scenario(scenario, &output);
        if scenario.name == "tsan-data-race" && findings.is_empty() {
            continue; // a race the scheduler did not produce this time
        }
        check(scenario.name, &findings);
    }
}

/// (function, file, line, inlined).
type FixtureFrame = (Option<String>, Option<String>, Option<u32>, bool);

/// The frames of fixture sources, per stack: what symbolization must reproduce.
fn fixture_frames(finding: &Finding) -> Vec<Vec<FixtureFrame>> {
    let stacks = std::iter::once(&finding.frames).chain(finding.related.iter().map(|r| &r.frames));
    stacks
        .map(|frames| {
            frames
                .iter()
                .filter(|f| f.file.as_deref().is_some_and(|file| file.starts_with(fixtures::SOURCE_DIR)))
                .map(|f| (f.function.clone(), f.file.clone(), f.line, f.inlined))
                .collect()
        })
        .collect()
}

/// Pairs of (symbolized by the runtime, left unsymbolized) scenarios.
const SYMBOLIZE_PAIRS: &[(&str, &str)] = &[
    ("asan-heap-buffer-overflow", "asan-heap-buffer-overflow-symbolize0"),
    ("lsan-leaks", "lsan-leaks-symbolize0"),
    ("ubsan-stacks-summaries", "ubsan-stacks-symbolize0"),
    ("tsan-data-race", "tsan-data-race-symbolize0"),
    ("msan-use-of-uninitialized-value", "msan-use-of-uninitialized-value-symbolize0"),
    ("asan-dso", "asan-dso-symbolize0"),
    ("python-asanext-overflow", "python-asanext-overflow-symbolize0"),
];

#[test]
fn symbolize_findings_matches_the_runtimes_symbolizer() {
    let symbolizer = Symbolizer::new();
    for &(symbolized, raw) in SYMBOLIZE_PAIRS {
        let expected = parse(&run(scenario(symbolized)));
        let mut findings = parse(&run(scenario(raw)));
        if symbolized == "tsan-data-race" && (expected.is_empty() || findings.is_empty()) {
            continue;
        }
        assert_eq!(findings.len(), expected.len(), "{raw}");
        symbolize_findings(&mut findings, &symbolizer);
        for (ours, theirs) in findings.iter().zip(&expected) {
            let ours_frames = fixture_frames(ours);
            let mut theirs_frames = fixture_frames(theirs);
            if symbolized == "tsan-data-race" {
                // Which thread is "previous" varies between runs; compare as sets.
                let mut ours_sorted = ours_frames.clone();
                ours_sorted.sort();
                theirs_frames.sort();
                assert_eq!(ours_sorted, theirs_frames, "{raw}");
            } else {
                assert_eq!(ours_frames, theirs_frames, "{raw}");
            }
            assert!(ours_frames.iter().flatten().count() > 0, "{raw}: no fixture frame");
        }
        // The summaries name the same place (columns aside: gcc's runtimes print none, the
        // DWARF has them), not `(module+0x...)`: TSan's frames name their module by its base
        // name, its summary by the full path.
        let location = |summary: Option<&str>| summary.map(without_columns);
        for (ours, theirs) in findings.iter().zip(&expected).filter(|(ours, _)| ours.summary.is_some()) {
            assert_eq!(location(ours.summary.as_deref()), location(theirs.summary.as_deref()), "{raw}");
        }
        // And directly: the faulting function and line of the fixture, from its MARK comments
        // (UBSan's symbolize=0 run printed no summaries, which its check wants).
        if !symbolized.starts_with("ubsan") {
            check(symbolized, &findings);
        }
    }
}

/// A `SUMMARY:` line naming a frame leakcheck did not symbolize (clang's TSan names its
/// interceptor's frame itself: `#0 pthread_mutex_lock <null> (prog+0x...)`) stays as the
/// runtime printed it, `(BuildId: ...)` and the runtime's name `__interceptor_...` included,
/// in the capture (whose program may be gone) and in a live run.
#[test]
fn symbolize_findings_leaves_a_summary_whose_frame_it_did_not_symbolize() {
    let symbolizer = Symbolizer::new();
    let scenario = scenario("tsan-lock-order-clang");
    for output in [read_capture(scenario.name), run(scenario)] {
        let mut findings = parse(&output);
        let printed: Vec<Option<String>> = findings.iter().map(|f| f.summary.clone()).collect();
        symbolize_findings(&mut findings, &symbolizer);
        let summaries: Vec<Option<String>> = findings.iter().map(|f| f.summary.clone()).collect();
        assert_eq!(summaries, printed);
        check(scenario.name, &findings);
    }
}

/// A summary with `file:line:column in` written `file:line in`.
fn without_columns(summary: &str) -> String {
    let Some(at) = summary.rfind(" in ") else {
        return summary.to_owned();
    };
    let (location, rest) = summary.split_at(at);
    let mut parts: Vec<&str> = location.rsplitn(3, ':').collect();
    if parts.len() == 3 && parts[..2].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
        parts.remove(0);
    }
    parts.reverse();
    format!("{}{rest}", parts.join(":"))
}

#[test]
fn symbolize_log_rewrites_unsymbolized_logs_as_the_runtime_prints_them() {
    let symbolizer = Symbolizer::new();
    for &(symbolized, raw) in SYMBOLIZE_PAIRS {
        let expected = parse(&run(scenario(symbolized)));
        let log = run(scenario(raw));
        let mut rewritten = Vec::new();
        symbolize_log(&symbolizer, &log[..], &mut rewritten).expect("in-memory I/O");
        // Lines other than frames are untouched.
        let others = |text: &[u8]| -> Vec<Vec<u8>> {
            text.split(|&b| b == b'\n')
                .filter(|l| !l.trim_ascii_start().starts_with(b"#"))
                .map(<[u8]>::to_vec)
                .collect()
        };
        assert_eq!(others(&rewritten), others(&log), "{raw}");
        let findings = parse(&rewritten);
        if symbolized == "tsan-data-race" && (expected.is_empty() || findings.is_empty()) {
            continue;
        }
        if !symbolized.starts_with("ubsan") {
            check(symbolized, &findings);
        }
        assert_eq!(findings.len(), expected.len(), "{raw}");
        for (ours, theirs) in findings.iter().zip(&expected) {
            let mut ours = fixture_frames(ours);
            let mut theirs = fixture_frames(theirs);
            if symbolized == "tsan-data-race" {
                ours.sort();
                theirs.sort();
            }
            assert_eq!(ours, theirs, "{raw}:\n{}", String::from_utf8_lossy(&rewritten));
        }
    }
}

/// Two processes' unsymbolized reports interleaved line by line (both `#0` lines before either
/// `#1`): `symbolize_log` numbers each stack after its own inlined frames (the overflow's `#0`
/// becomes two), not after those of whichever stack printed last; every process's frames in
/// its own programs come out as they do from its log alone. Frames in a library both processes
/// load (libc), at the same depth, can fit either stack equally (which one depends on where
/// ASLR put each libc): those are not compared.
#[test]
fn symbolize_log_renumbers_interleaved_stacks_each_by_its_own_inlined_frames() {
    let symbolizer = Symbolizer::new();
    let rewrite = |log: &[u8]| {
        let mut rewritten = Vec::new();
        symbolize_log(&symbolizer, log, &mut rewritten).expect("in-memory I/O");
        String::from_utf8_lossy(&rewritten).into_owned()
    };
    let frames = |text: &str| -> Vec<String> {
        text.lines().filter(|l| l.trim_start().starts_with('#')).map(str::to_owned).collect()
    };
    let in_fixtures = |frames: Vec<String>| -> Vec<String> {
        frames.into_iter().filter(|l| l.contains("/c/sanitizer/") || l.contains("leakcheck-fixtures")).collect()
    };
    let captures = [run(scenario("asan-heap-buffer-overflow-symbolize0")), run(scenario("asan-dso-symbolize0"))];
    let lines: Vec<Vec<&[u8]>> = captures.iter().map(|c| c.split(|&b| b == b'\n').collect()).collect();
    let mut interleaved = Vec::new();
    for i in 0..lines.iter().map(Vec::len).max().unwrap_or(0) {
        for line in lines.iter().filter_map(|source| source.get(i)) {
            interleaved.extend_from_slice(line);
            interleaved.push(b'\n');
        }
    }
    let raw = String::from_utf8_lossy(&interleaved).into_owned();
    let raw_frames = frames(&raw);
    assert!(raw_frames.windows(2).any(|w| w.iter().all(|l| l.trim_start().starts_with("#0 "))), "{raw}");

    let together = rewrite(&interleaved);
    let all = frames(&together);
    assert!(all.len() > raw_frames.len(), "no inlined frames were added:\n{together}");
    for capture in &captures {
        let alone = in_fixtures(frames(&rewrite(capture)));
        assert!(alone.len() >= 3, "{alone:?}");
        let its_own: Vec<String> = in_fixtures(all.clone()).into_iter().filter(|l| alone.contains(l)).collect();
        assert_eq!(its_own, alone, "interleaved:\n{together}");
    }
}

/// A log copied from GitHub Actions has a UTC timestamp and a space before every line, as the
/// job's raw log has (`2024-05-01T12:00:00.1234567Z `): `symbolize_log` rewrites its frames as
/// it does without, and every line it writes, inlined frames' too, keeps the prefix; with
/// `\n` and `\r\n` endings.
#[test]
fn symbolize_log_reads_and_keeps_github_actions_timestamps() {
    let symbolizer = Symbolizer::new();
    let rewrite = |log: &[u8]| {
        let mut rewritten = Vec::new();
        let notes = symbolize_log(&symbolizer, log, &mut rewritten).expect("in-memory I/O");
        (String::from_utf8(rewritten).expect("UTF-8"), notes)
    };
    let log = String::from_utf8(run(scenario("asan-heap-buffer-overflow-symbolize0"))).expect("UTF-8");
    let (plain, _) = rewrite(log.as_bytes());
    assert!(plain.lines().count() > log.lines().count(), "inlined frames were added:\n{plain}");
    let stamp = "2024-05-01T12:00:00.1234567Z ";
    for ending in ["\n", "\r\n"] {
        let stamped: String = log.lines().map(|line| format!("{stamp}{line}{ending}")).collect();
        let (rewritten, notes) = rewrite(stamped.as_bytes());
        assert!(notes.is_empty(), "{notes:?}");
        let lines: Vec<&str> = rewritten.split_terminator(ending).collect();
        assert!(lines.iter().all(|l| l.starts_with(stamp) && !l.contains(['\r', '\n'])), "{rewritten}");
        let unstamped: String = lines.iter().map(|l| format!("{}\n", &l[stamp.len()..])).collect();
        assert_eq!(unstamped, plain, "{ending:?}");
    }
}

/// Colour codes before a frame line's `#` (`ESC[1mESC[0m`, which `color=always` writes before
/// the first frame after a coloured line) stay in front of it when it is rewritten: symbolized
/// (before the first of its lines only) or renumbered after an inlined frame (a frame of a
/// module that is not there, after the overflow's `#0`, which becomes two). With a GitHub
/// Actions timestamp, the codes come after it, where they were.
#[test]
fn symbolize_log_keeps_colour_codes_before_rewritten_frames() {
    let symbolizer = Symbolizer::new();
    let reset = "\x1b[1m\x1b[0m";
    let log = String::from_utf8(run(scenario("asan-heap-buffer-overflow-symbolize0"))).expect("UTF-8");
    let stack_end = log.find("\n\n").expect("the end of the first stack");
    let missing = "    #9 0x7f0000001234  (/nonexistent/libgone.so+0x1234)\n";
    let log = format!("{}\n{missing}{}", &log[..stack_end], &log[stack_end + 1..]);
    let coloured: String = log
        .lines()
        .map(|line| if line.trim_start().starts_with('#') { format!("{reset}{line}\n") } else { format!("{line}\n") })
        .collect();
    for stamp in ["", "2024-05-01T12:00:00.1234567Z "] {
        let stamped = |text: &str| -> String { text.lines().map(|l| format!("{stamp}{l}\n")).collect() };
        let rewrite = |text: &str| {
            let mut rewritten = Vec::new();
            symbolize_log(&symbolizer, text.as_bytes(), &mut rewritten).expect("in-memory I/O");
            String::from_utf8(rewritten).expect("UTF-8")
        };
        let plain = rewrite(&stamped(&log));
        let rewritten = rewrite(&stamped(&coloured));
        assert!(
            plain.contains(&format!("{stamp}    #10 0x7f0000001234  (/nonexistent/libgone.so+0x1234)\n")),
            "{plain}"
        );
        // Each frame line as read gives one or more lines: the first begins with the codes.
        assert_eq!(rewritten.replace(reset, ""), plain, "{stamp:?}");
        assert!(rewritten.lines().filter(|l| l.contains(reset)).all(|l| l[stamp.len()..].starts_with(reset)));
        assert_eq!(rewritten.matches(reset).count(), coloured.matches(reset).count(), "{rewritten}");
        assert!(
            rewritten.contains(&format!("{stamp}{reset}    #10 0x7f0000001234  (/nonexistent/libgone.so+0x1234)\n")),
            "{rewritten}"
        );
    }
}

/// clang's runtimes print the module's build ID after a frame's module part: the rewritten log
/// keeps it wherever the module part stays (as the runtime does), and a log whose build ID is
/// not the file's (the program was rebuilt since) keeps its frames as they were, with a note.
#[test]
fn symbolize_log_checks_and_keeps_build_ids() {
    let symbolizer = Symbolizer::new();
    let log = run(scenario("msan-use-of-uninitialized-value-symbolize0"));
    let text = String::from_utf8_lossy(&log).into_owned();
    let build_id = text
        .split("(BuildId: ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no build ID in the capture:\n{text}"))
        .to_owned();
    let program = built(fixtures::MSAN_UNINIT);

    let mut rewritten = Vec::new();
    let notes = symbolize_log(&symbolizer, &log[..], &mut rewritten).expect("in-memory I/O");
    let rewritten = String::from_utf8_lossy(&rewritten).into_owned();
    assert!(notes.iter().all(|n| !n.contains(program)), "{notes:?}");
    let frames: Vec<&str> = rewritten.lines().filter(|l| l.trim_start().starts_with('#')).collect();
    assert!(frames.iter().any(|l| l.contains(" in main ") && l.contains("msan_uninit.c:")), "{rewritten}");
    for frame in &frames {
        // A location replaces the module part and its build ID; a module part keeps it.
        let module_part = frame.contains(&format!("({program}+0x"));
        assert_eq!(frame.contains(&format!("(BuildId: {build_id})")), module_part, "{frame}");
    }

    let other = "0".repeat(build_id.len());
    let foreign = text.replace(&build_id, &other);
    let mut rewritten = Vec::new();
    let notes = symbolize_log(&symbolizer, foreign.as_bytes(), &mut rewritten).expect("in-memory I/O");
    let program_frames = |log: &str| -> Vec<String> {
        log.lines().filter(|l| l.contains(&format!("({program}+0x"))).map(str::to_owned).collect()
    };
    assert_eq!(program_frames(&String::from_utf8_lossy(&rewritten)), program_frames(&foreign));
    assert!(
        notes.iter().any(|n| n.contains(program) && n.contains(&other) && n.contains(&build_id)),
        "a note names the module and both IDs: {notes:?}"
    );
}

/// Two processes printed the same report line by line in lockstep (a real capture, see
/// `tests/data/interleaved/README.md`): each line goes to one report, a line a report already
/// has to the other, and the two merge into one finding seen twice.
#[test]
fn identical_reports_in_lockstep_are_told_apart() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/interleaved/asan-lockstep-two-processes.txt");
    let findings = deduplicate(parse(&std::fs::read(path).expect("the capture")));
    let [finding] = findings.as_slice() else { panic!("{findings:#?}") };
    assert_eq!((finding.kind.as_str(), finding.count), ("heap-buffer-overflow", 2));
    assert_eq!(finding.description.iter().filter(|d| d.starts_with("READ of size 4")).count(), 1, "{finding:#?}");
    assert_eq!(finding.frames.len(), 5, "{finding:#?}");
    let [related] = finding.related.as_slice() else { panic!("{finding:#?}") };
    assert_eq!((related.label.as_str(), related.frames.len()), ("allocated by thread T0 here:", 4));
}

/// Two processes' stack-frame reports interleaved in chunks and line by line (real reports,
/// see `tests/data/interleaved/README.md`): the unprefixed lines after the `Address ... in
/// frame` stacks (`This frame has 1 object(s):`, the object, the `HINT:`) go each to its own
/// report: the object line names the offset of its report's `Address` line, and the lines
/// held before it go with it, never to the report it contradicts.
#[test]
fn stack_frame_objects_of_interleaved_reports_stay_with_their_own() {
    let hint = "HINT: this may be a false positive if your program uses some custom stack unwind mechanism, \
                swapcontext or vfork";
    let expected = |access: &str, object: &str| {
        vec![
            access.to_owned(),
            "This frame has 1 object(s):".to_owned(),
            object.to_owned(),
            hint.to_owned(),
            "(longjmp and C++ exceptions *are* supported)".to_owned(),
        ]
    };
    let uar = expected(
        "READ of size 4 at 0x7f5aa4f00024 thread T0",
        "[32, 48) 'local' (line 34) <== Memory access at offset 36 is inside this variable",
    );
    let overflow = expected(
        "WRITE of size 1 at 0x7fef44b00028 thread T0",
        "[32, 40) 'buf' (line 12) <== Memory access at offset 40 overflows this variable",
    );
    for how in ["chunks", "lines"] {
        let path =
            format!("{}/tests/data/interleaved/asan-stack-frames-two-processes-{how}.txt", env!("CARGO_MANIFEST_DIR"));
        let findings = parse(&std::fs::read(path).expect("the capture"));
        let of = |pid: u32| {
            findings.iter().find(|f| f.pid == Some(pid)).unwrap_or_else(|| panic!("{how}: no {pid}: {findings:#?}"))
        };
        let (a, b) = (of(24527), of(24526));
        assert_eq!((a.kind.as_str(), &a.description), ("stack-use-after-return", &uar), "{how}");
        assert_eq!((b.kind.as_str(), &b.description), ("stack-buffer-overflow", &overflow), "{how}");
        for finding in [a, b] {
            let [frame] = finding.related.as_slice() else { panic!("{how}: {finding:#?}") };
            assert!(frame.label.ends_with(" in frame") && frame.frames.len() == 1, "{how}: {finding:#?}");
            assert_eq!((finding.end, finding.truncated), (ReportEnd::Summary, false), "{how}");
        }
    }
}

/// A stack as compared with the truth: each frame's function, file name and line (addresses
/// differ from process to process).
type Places = Vec<(Option<String>, Option<String>, Option<u32>)>;

fn places(frames: &[ReportFrame]) -> Places {
    frames
        .iter()
        .map(|f| (f.function.clone(), f.file.as_deref().map(|p| p.rsplit('/').next().unwrap_or(p).to_owned()), f.line))
        .collect()
}

/// A finding as compared with the truth: its kind, access stack, and labelled related stacks.
fn shape(finding: &Finding) -> (String, Places, Vec<(String, Places)>) {
    let related = finding
        .related
        .iter()
        .map(|r| (r.label.split(" 0x").next().unwrap_or_default().to_owned(), places(&r.frames)))
        .collect();
    (finding.kind.clone(), places(&finding.frames), related)
}

/// Real captures of 3 and 4 ASAN CPython processes reporting at once into one stderr (see
/// `tests/data/interleaved/README.md`): one process's first symbolization is slow, so its stack
/// comes hundreds of lines after its headline, while the others print theirs. Every finding
/// has the stacks the same process prints when it runs alone (`asan-alone-*.txt`), the pid
/// of its headline, and every report of a process the same addresses (one process, one
/// layout); none went stale or lost its stack.
#[test]
fn reports_of_several_processes_at_once_keep_their_own_stacks() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/interleaved");
    let read = |name: &str| std::fs::read(format!("{dir}/{name}.txt")).expect("the capture");
    let mut truth = BTreeMap::new();
    for alone in ["overlap", "mismatch", "heap-read", "uaf"] {
        for finding in parse(&read(&format!("asan-alone-{alone}"))) {
            assert!(!finding.truncated && !finding.frames.is_empty(), "{finding:#?}");
            truth.insert(finding.kind.clone(), shape(&finding));
        }
    }
    assert_eq!(truth.len(), 4, "{:?}", truth.keys());
    for (capture, processes) in
        [("asan-3-processes-mixed", 3), ("asan-3-processes-same", 3), ("asan-4-processes-mixed", 4)]
    {
        let log = read(capture);
        let findings = parse(&log);
        // Each headline is one finding, of the pid it names.
        let mut headlines: BTreeMap<u32, usize> = BTreeMap::new();
        for line in String::from_utf8_lossy(&log).lines() {
            if let Some((pid, _)) = line.strip_prefix("==").and_then(|l| l.split_once("==ERROR: AddressSanitizer")) {
                *headlines.entry(pid.parse().expect("a pid")).or_default() += 1;
            }
        }
        assert_eq!(headlines.len(), processes, "{capture}");
        let mut reported: BTreeMap<u32, usize> = BTreeMap::new();
        let mut layouts: BTreeMap<u32, Vec<Option<u64>>> = BTreeMap::new();
        for finding in &findings {
            let pid = finding.pid.expect("a pid");
            *reported.entry(pid).or_default() += 1;
            assert_eq!((finding.end, finding.truncated), (ReportEnd::Summary, false), "{capture}: {finding:#?}");
            let expected = truth.get(&finding.kind).unwrap_or_else(|| panic!("{capture}: {}", finding.kind));
            assert_eq!(&shape(finding), expected, "{capture}: pid {pid} line {}", finding.start_line);
            let addresses: Vec<Option<u64>> = finding.frames.iter().map(|f| f.address).collect();
            let layout = layouts.entry(pid).or_insert_with(|| addresses.clone());
            assert_eq!(
                layout, &addresses,
                "{capture}: pid {pid} line {}: another process's frames",
                finding.start_line
            );
        }
        assert_eq!(reported, headlines, "{capture}");
    }
}

/// Feed several captures' lines interleaved; return the findings per pid (or per message).
fn parse_interleaved(captures: &[Vec<u8>], chunk: impl Fn(usize) -> usize) -> Vec<Finding> {
    let mut lines: Vec<std::vec::IntoIter<&[u8]>> =
        captures.iter().map(|c| c.split(|&b| b == b'\n').collect::<Vec<_>>().into_iter()).collect();
    let mut parser = Parser::new();
    let mut findings = Vec::new();
    let mut step = 0;
    while lines.iter().any(|l| l.len() > 0) {
        for source in lines.iter_mut() {
            for _ in 0..chunk(step) {
                if let Some(line) = source.next() {
                    findings.extend(parser.feed_line(line));
                }
            }
            step += 1;
        }
    }
    findings.extend(parser.finish());
    findings
}

/// What must survive interleaving: kind, pid, summary, and every stack's frames.
type Essentials = BTreeMap<String, (String, Option<String>, Vec<Vec<ReportFrame>>)>;

fn essentials(findings: &[Finding]) -> Essentials {
    findings
        .iter()
        .map(|f| {
            let stacks = std::iter::once(f.frames.clone()).chain(f.related.iter().map(|r| r.frames.clone())).collect();
            (format!("{:?} {}", f.pid, f.message), (f.kind.clone(), f.summary.clone(), stacks))
        })
        .collect()
}

#[test]
fn interleaved_reports_of_two_processes_are_told_apart() {
    let pairs = [
        ("asan-heap-buffer-overflow", "asan-heap-use-after-free"),
        ("asan-double-free", "asan-stack-buffer-overflow"),
        ("asan-heap-buffer-overflow-symbolize0", "asan-dso-symbolize0"),
        ("lsan-leaks", "asan-alloc-dealloc-mismatch"),
        ("python-asanext-overflow", "asan-segv"),
        ("tsan-data-race", "msan-use-of-uninitialized-value"),
    ];
    for (a, b) in pairs {
        let captures = [read_capture(a), read_capture(b)];
        let separately: Vec<Finding> = captures.iter().flat_map(|c| parse(c)).collect();
        let expected = essentials(&separately);
        // Line by line, then in uneven runs of 1 to 7 lines.
        for (how, found) in [
            ("line by line", parse_interleaved(&captures, |_| 1)),
            ("in runs", parse_interleaved(&captures, |step| 1 + (step * 5 + 3) % 7)),
        ] {
            assert_eq!(essentials(&found), expected, "{a} and {b}, {how}");
            let labels = |fs: &[Finding]| -> Vec<String> {
                let mut l: Vec<String> = fs.iter().flat_map(|f| f.related.iter().map(|r| r.label.clone())).collect();
                l.sort();
                l
            };
            assert_eq!(labels(&found), labels(&separately), "{a} and {b}, {how}: labels");
        }
    }
}

#[test]
fn reports_amid_regrtest_output_of_both_layouts() {
    // The same two bugs, whether the report came straight from the process (sequential) or
    // relayed by the main process after the worker finished (-j2).
    type Signature = Vec<(String, Vec<(Option<String>, Option<u32>)>)>;
    let signature = |name: &str| -> Signature {
        parse(&read_capture(name))
            .iter()
            .map(|f| (f.kind.clone(), f.frames.iter().take(3).map(|fr| (fr.function.clone(), fr.line)).collect()))
            .collect()
    };
    assert_eq!(signature("python-regrtest-sequential"), signature("python-regrtest-j2"));
}

#[test]
fn deduplication_merges_repeated_reports() {
    // The same capture four times (four processes, four tests), plus another bug.
    let mut findings = Vec::new();
    for test in ["test_a", "test_b", "test_a", "test_c"] {
        for mut f in parse(&read_capture("asan-heap-buffer-overflow")) {
            f.test = Some(test.to_owned());
            findings.push(f);
        }
    }
    findings.extend(parse(&read_capture("asan-double-free")));
    let merged = deduplicate(findings);
    let summary: Vec<(&str, u32, Option<&str>, Vec<&str>)> = merged
        .iter()
        .map(|f| (f.kind.as_str(), f.count, f.test.as_deref(), f.other_tests.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        summary,
        [("heap-buffer-overflow", 4, Some("test_a"), vec!["test_b", "test_c"]), ("double-free", 1, None, vec![])]
    );

    // Unsymbolized reports of one bug from two processes (other load addresses) merge; so do
    // they once symbolized.
    let mut findings = parse(&run(scenario("asan-dso-symbolize0")));
    findings.extend(parse(&run(scenario("asan-dso-symbolize0"))));
    assert_ne!(findings[0].frames[0].address, findings[1].frames[0].address, "ASLR");
    assert_eq!(deduplicate(findings.clone()).len(), 1);
    symbolize_findings(&mut findings, &Symbolizer::new());
    assert_eq!(deduplicate(findings).len(), 1);
}

/// Every pair of captures, interleaved in five patterns: nothing is lost, duplicated or
/// invented, whatever the attribution. How often every frame and label lands in the right
/// report is printed (`--nocapture`); see the module documentation of `leakcheck::sanitizer`
/// for why it cannot always. UBSan's reports are left out: without a pid or an end of their
/// own, interleaved with another process's lines they can lose or gain lines (documented).
#[test]
fn interleaving_never_loses_or_invents_anything() {
    let names: Vec<&str> = SCENARIOS
        .iter()
        .map(|s| s.name)
        // Not those of two processes already (another's output in them), nor those whose
        // reports end without a summary, by what follows them.
        .filter(|n| !n.contains("regrtest") && !n.contains("buildbot") && !n.starts_with("ubsan"))
        .filter(|n| !n.contains("noise") && !n.contains("no-summary"))
        .collect();
    type Pattern = (&'static str, fn(usize) -> usize);
    let patterns: [Pattern; 5] = [
        ("line by line", |_| 1),
        ("runs of 1-7", |s| 1 + (s * 5 + 3) % 7),
        ("runs of 1-4", |s| 1 + (s * 3 + 1) % 4),
        ("2, 1, 2, 1", |s| 2 - s % 2),
        ("runs of 1-13", |s| 1 + (s * 7 + 2) % 13),
    ];
    let all_frames = |findings: &[Finding]| -> Vec<String> {
        let mut frames: Vec<String> = findings
            .iter()
            .flat_map(|f| f.frames.iter().chain(f.related.iter().flat_map(|r| &r.frames)))
            .map(|f| format!("{:?}{:?}{:?}{:?}{:?}", f.address, f.function, f.file, f.line, f.module_offset))
            .collect();
        frames.sort();
        frames
    };
    let messages = |findings: &[Finding]| -> Vec<String> {
        let mut m: Vec<String> = findings.iter().map(|f| format!("{:?} {}", f.pid, f.message)).collect();
        m.sort();
        m
    };
    let (mut exact, mut total) = (0, 0);
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let captures = [read_capture(a), read_capture(b)];
            let separately: Vec<Finding> = captures.iter().flat_map(|c| parse(c)).collect();
            for (how, chunk) in patterns {
                let found = parse_interleaved(&captures, chunk);
                if std::env::var_os("LEAKCHECK_SURVEY").is_none() {
                    assert_eq!(messages(&found), messages(&separately), "{a} and {b}, {how}");
                    assert_eq!(all_frames(&found), all_frames(&separately), "{a} and {b}, {how}");
                } else if all_frames(&found) != all_frames(&separately) {
                    eprintln!("LOST: {a} and {b}, {how}");
                }
                total += 1;
                let labels = |fs: &[Finding]| -> Vec<String> {
                    let mut l: Vec<String> =
                        fs.iter().flat_map(|f| f.related.iter().map(|r| r.label.clone())).collect();
                    l.sort();
                    l
                };
                if essentials(&found) == essentials(&separately) && labels(&found) == labels(&separately) {
                    exact += 1;
                } else if std::env::var_os("LEAKCHECK_SURVEY").is_some() {
                    eprintln!("not exact: {a} and {b}, {how}");
                }
            }
        }
    }
    eprintln!("interleaved pairs attributed exactly: {exact} of {total}");
    assert!(exact * 10 >= total * 8, "{exact} of {total}");
}
