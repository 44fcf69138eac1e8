//! `leakcheck symbolize --exe FILE` as a user runs it: the binary, stdin to stdout, against
//! llvm-symbolizer's answers for the same addresses of Debian's python3.11d.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

/// `leakcheck symbolize` of `log` saved to a file, checked to be the same read from standard
/// input.
fn symbolized_from_a_file_and_stdin(log: &str) -> String {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("asan.log");
    std::fs::write(&path, log).unwrap();
    let from_file = run(common::LEAKCHECK, &["symbolize", path.to_str().unwrap()], "");
    let from_stdin = run(common::LEAKCHECK, &["symbolize"], log);
    assert_eq!(from_file, from_stdin);
    from_file
}

fn run(program: &str, args: &[&str], input: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {program}: {e} (run scripts/setup.sh)"));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program} failed");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn answers_like_llvm_symbolizer_for_the_interpreter() {
    let exe = "/usr/bin/python3.11d";
    // Addresses of a few functions' entries and bodies, taken from the symbol table.
    let nm = Command::new("nm").args(["--defined-only", exe]).output().expect("nm (binutils)");
    let symbols = String::from_utf8_lossy(&nm.stdout);
    let mut input = String::new();
    for name in ["PyMem_RawMalloc", "_PyEval_EvalFrameDefault", "PyList_New", "cfunction_vectorcall_NOARGS"] {
        let line = symbols.lines().find(|l| l.ends_with(&format!(" {name}"))).expect(name);
        let address = u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap();
        for offset in [0u64, 5, 40] {
            input.push_str(&format!("0x{:x}\n", address + offset));
        }
    }
    let ours = run(common::LEAKCHECK, &["symbolize", "--exe", exe], &input);
    let llvm = run("llvm-symbolizer", &[&format!("--obj={exe}")], &input);
    assert_eq!(ours, llvm);
    assert!(ours.contains("PyMem_RawMalloc\n"), "{ours}");
}

/// `leakcheck symbolize [LOG]` on a real ASAN log printed with `symbolize=0`: from a file and
/// from stdin (no LOG, or `-`), the same rewrite; the fixture's frames get their function and
/// line, other lines pass through.
#[test]
fn a_saved_asan_log_is_rewritten_with_symbolized_frames() {
    let program = leakcheck_fixtures::sanitizer::HEAP_BUFFER_OVERFLOW.expect("the heap_buffer_overflow fixture");
    let out = Command::new(program).env("ASAN_OPTIONS", "symbolize=0").output().expect("running the fixture");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(log.contains("ERROR: AddressSanitizer: heap-buffer-overflow"), "{log}");
    assert!(!log.contains("heap_buffer_overflow.c"), "the runtime left the frames bare:\n{log}");

    let from_file = symbolized_from_a_file_and_stdin(&log);
    let from_dash = run(common::LEAKCHECK, &["symbolize", "-"], &log);
    assert_eq!(from_file, from_dash, "`-` is standard input");

    let source = std::path::Path::new(leakcheck_fixtures::sanitizer::SOURCE_DIR).join("heap_buffer_overflow.c");
    let fault =
        std::fs::read_to_string(&source).unwrap().lines().position(|l| l.contains("/* MARK fault */")).unwrap() + 1;
    let frame0 = from_file.lines().find(|l| l.trim_start().starts_with("#0 ")).expect("frame #0");
    assert!(
        frame0.contains(" in store_past_end ") && frame0.contains(&format!("heap_buffer_overflow.c:{fault}")),
        "{frame0}"
    );
    // Lines that are not frames are untouched, in order.
    let text = |s: &str| s.lines().filter(|l| !l.trim_start().starts_with('#')).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(text(&from_file), text(&log));
}

#[test]
fn a_log_that_cannot_be_read_is_exit_status_66_and_named() {
    let dir = tempfile::tempdir().unwrap();
    for path in ["/nonexistent/asan.log", &dir.path().display().to_string()] {
        let output = Command::new(common::LEAKCHECK).args(["symbolize", path]).output().unwrap();
        assert_eq!(output.status.code(), Some(66), "{path}");
        assert!(String::from_utf8_lossy(&output.stderr).contains(path), "{path}: {output:?}");
    }
}

/// An input that opens but cannot be read (a directory as standard input, `/proc/self/mem`,
/// whose first page is unmapped) is the input's fault too: 66, and the message names it, in
/// both modes (not 70, leakcheck's own failure).
#[test]
fn an_input_that_opens_but_cannot_be_read_is_exit_status_66_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let directory = || std::fs::File::open(dir.path()).unwrap();
    for (args, stdin, named) in [
        (vec!["symbolize", "-"], Some(directory()), "standard input: "),
        (vec!["symbolize"], Some(directory()), "standard input: "),
        (vec!["symbolize", "--exe", "/nonexistent/x"], Some(directory()), "standard input: "),
        (vec!["symbolize", "/proc/self/mem"], None, "/proc/self/mem: "),
    ] {
        let mut command = Command::new(common::LEAKCHECK);
        command.args(&args).stdout(Stdio::null());
        if let Some(stdin) = stdin {
            command.stdin(stdin);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(66), "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("leakcheck: error: symbolize: {named}")), "{args:?}: {stderr}");
    }
}

/// `--exe` naming a file that cannot be read: every answer is `??`, as llvm-symbolizer's, and
/// stderr says why.
#[test]
fn an_unreadable_exe_answers_unknown_and_says_why() {
    let mut child = Command::new(common::LEAKCHECK)
        .args(["symbolize", "--exe", "/nonexistent/python"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"0x1234\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "??\n??:0:0\n\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read /nonexistent/python"), "{stderr}");
}

/// `--exe` naming a relocatable object (`cc -c`): its DWARF needs relocations leakcheck does
/// not apply, so every answer is `??` (not lines made up from unrelocated offsets), and stderr
/// names the file and says to link it.
#[test]
fn a_relocatable_object_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let object = dir.path().join("inlines.o");
    let source = leakcheck_fixtures::SYMBOLIZE_SOURCE;
    let status = Command::new("cc").args(["-g", "-O2", "-c", source, "-o"]).arg(&object).status().expect("cc");
    assert!(status.success());
    let mut child = Command::new(common::LEAKCHECK)
        .args(["symbolize", "--exe"])
        .arg(&object)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Offsets into .text, where an unrelocated read finds functions and lines.
    child.stdin.take().unwrap().write_all(b"0x0\n0x10\n0x20\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "??\n??:0:0\n\n".repeat(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{}: a relocatable object", object.display())), "{stderr}");
    assert!(stderr.contains("link it first"), "{stderr}");

    // A log frame in it is left as it was, with the same note.
    let log = format!("    #0 0x10 ({}+0x10)\n", object.display());
    let output = Command::new(common::LEAKCHECK)
        .arg("symbolize")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(log.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), log);
    assert!(String::from_utf8_lossy(&output.stderr).contains("a relocatable object"), "{output:?}");
}

/// Both modes on `exe`: `--exe` with `address`, then a log frame at it; each one's stderr.
fn symbolize_both(exe: &std::path::Path, address: u64) -> [String; 2] {
    let run = |args: &[&str], input: String| {
        let mut child = Command::new(common::LEAKCHECK)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let exe_arg = exe.to_str().unwrap();
    [
        run(&["symbolize", "--exe", exe_arg], format!("{address:#x}\n")),
        run(&["symbolize", "-"], format!("    #0 {address:#x}  ({exe_arg}+{address:#x})\n")),
    ]
}

/// Split DWARF (`-gsplit-dwarf`, DWARF 5's skeleton units and GNU's DWARF 4 ones) keeps the
/// functions and inlined calls in `.dwo` files leakcheck does not read: both modes say so on
/// stderr, naming the module, once an address falls in such a unit. The same program built
/// without it gets no note.
#[test]
fn split_dwarf_is_noted_as_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let source = leakcheck_fixtures::SYMBOLIZE_SOURCE;
    for (name, flags) in
        [("split5", &["-gsplit-dwarf"][..]), ("split4", &["-gsplit-dwarf", "-gdwarf-4"][..]), ("plain", &[][..])]
    {
        let exe = dir.path().join(name);
        let status = Command::new("cc")
            .args(["-g", "-O2"])
            .args(flags)
            .arg(source)
            .arg("-o")
            .arg(&exe)
            .current_dir(dir.path())
            .status()
            .expect("cc");
        assert!(status.success(), "{name}");
        let nm = Command::new("nm").arg("--defined-only").arg(&exe).output().expect("nm (binutils)");
        let symbols = String::from_utf8_lossy(&nm.stdout).into_owned();
        let line = symbols.lines().find(|l| l.ends_with(" outer")).expect("outer in the symbol table");
        let outer = u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap();
        let note = format!(
            "leakcheck: symbolize: {}: split DWARF (-gsplit-dwarf): its .dwo/.dwp files are not read",
            exe.display()
        );
        for stderr in symbolize_both(&exe, outer + 4) {
            if name == "plain" {
                assert_eq!(stderr, "", "{name}");
            } else {
                assert_eq!(stderr.matches(&note).count(), 1, "{name}: {stderr}");
            }
        }
    }
}

/// `leakcheck symbolize LOG` in `cwd`: its stdout and stderr.
fn symbolize_in(cwd: &std::path::Path, log: &std::path::Path) -> (String, String) {
    let out = Command::new(common::LEAKCHECK)
        .arg("symbolize")
        .arg(log)
        .current_dir(cwd)
        .output()
        .expect("running leakcheck symbolize");
    assert!(out.status.success(), "{out:?}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Frames of modules that are no file (gone since the log was saved, a relative path not
/// under the current directory) stay as they were, byte for byte, and stderr says so once per
/// module.
#[test]
fn missing_modules_are_noted_once_each_and_their_frames_kept() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("gone/lib_plain.so");
    let log = format!(
        "==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000019\n    #0 0x7f583cfe71dd  ({gone}+0x11dd)\n    #1 0x7f583cfe718f  ({gone}+0x118f)\n    #2 0x563020d97229  (sub/prog+0x1229)\n",
        gone = gone.display()
    );
    let path = dir.path().join("asan.log");
    std::fs::write(&path, &log).unwrap();
    let (out, notes) = symbolize_in(dir.path(), &path);
    assert_eq!(out, log);
    let expected = [
        format!("leakcheck: symbolize: {}: not found (or not a regular file); its frames are left as they were", gone.display()),
        format!(
            "leakcheck: symbolize: sub/prog: not found (looked up among the log's module paths and in the current directory {}); its frames are left as they were",
            dir.path().display()
        ),
    ];
    assert_eq!(notes.lines().collect::<Vec<_>>(), expected);
}

/// A shared object the program loaded by a relative path is printed relative
/// (`(asan_dso.so+0x11a9)`); llvm-symbolizer, hence asan_symbolize.py, opens it from the
/// current directory, and so does `leakcheck symbolize`: from the program's directory its
/// frames get their lines, from another directory they stay bare. A printed build ID that is
/// not the file's keeps the frame as it was, with a note.
#[test]
fn relative_modules_are_found_in_the_current_directory() {
    use leakcheck_fixtures::sanitizer as fixtures;
    let dir = tempfile::tempdir().unwrap();
    let dso = dir.path().join("asan_dso.so");
    std::fs::copy(fixtures::ASAN_DSO.expect("the asan_dso fixture"), &dso).unwrap();
    let out = Command::new(fixtures::DSO_LOADER.expect("the dso_loader fixture"))
        .arg("./asan_dso.so")
        .current_dir(dir.path())
        .env("LD_PRELOAD", fixtures::LIBASAN.expect("libasan"))
        .env("ASAN_OPTIONS", "symbolize=0")
        .output()
        .expect("running the fixture");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(log.contains("  (asan_dso.so+0x"), "the runtime printed the module relative:\n{log}");
    let path = dir.path().join("asan.log");
    std::fs::write(&path, &log).unwrap();

    let (here, _) = symbolize_in(dir.path(), &path);
    let calls_read = std::fs::read_to_string(std::path::Path::new(fixtures::SOURCE_DIR).join("asan_dso.c"))
        .unwrap()
        .lines()
        .position(|l| l.contains("/* MARK calls_read */"))
        .unwrap()
        + 1;
    let frame1 = here.lines().find(|l| l.trim_start().starts_with("#1 ")).expect("frame #1");
    assert!(
        frame1.contains(" in asan_dso_overflow ") && frame1.contains(&format!("asan_dso.c:{calls_read}:")),
        "{here}"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let (there, notes) = symbolize_in(elsewhere.path(), &path);
    assert!(!there.contains("asan_dso.c:") && there.contains("  (asan_dso.so+0x"), "{there}");
    let missing = format!("leakcheck: symbolize: asan_dso.so: not found (looked up among the log's module paths, in the current directory {}", elsewhere.path().display());
    assert_eq!(notes.matches(&missing).count(), 1, "one note for the module: {notes}");
    assert!(notes.contains("its frames are left as they were"), "{notes}");
    let (_, notes) = symbolize_in(dir.path(), &path);
    assert!(!notes.contains("not found"), "{notes}");

    // The clang runtime's spelling, with a build ID: the file's is used, another is not.
    let frame = log.lines().find(|l| l.contains("  (asan_dso.so+0x")).unwrap();
    let id = leakcheck::symbolize::Symbolizer::new().build_id(&dso).expect("the fixture's build ID");
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    for (printed, symbolized) in [(id.as_str(), true), ("0123456789abcdef", false)] {
        std::fs::write(&path, format!("{frame} (BuildId: {printed})\n")).unwrap();
        let (out, notes) = symbolize_in(dir.path(), &path);
        assert_eq!(out.contains("asan_dso.c:"), symbolized, "{printed}: {out}");
        assert_eq!(notes.contains("is not the file's"), !symbolized, "{printed}: {notes}");
    }
}

/// A log copied from GitHub Actions (every line after a `2024-05-01T12:00:00.1234567Z `
/// timestamp) is symbolized as without, the timestamps kept; a log in which no frame line is
/// recognised comes out unchanged with one note on stderr saying so, not silently.
#[test]
fn github_actions_logs_are_symbolized_and_a_log_without_frames_is_noted() {
    let program = leakcheck_fixtures::sanitizer::HEAP_BUFFER_OVERFLOW.expect("the heap_buffer_overflow fixture");
    let out = Command::new(program).env("ASAN_OPTIONS", "symbolize=0").output().expect("running the fixture");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let stamp = "2024-05-01T12:00:00.1234567Z ";
    let stamped: String = log.lines().map(|line| format!("{stamp}{line}\r\n")).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.log");
    std::fs::write(&path, &stamped).unwrap();
    let (out, notes) = symbolize_in(dir.path(), &path);
    assert_eq!(notes, "");
    let frame0 = out.lines().find(|l| l.contains(" #0 ")).expect("frame #0");
    assert!(frame0.starts_with(stamp) && frame0.contains(" in store_past_end "), "{out}");

    let text = "0:00:00 load avg: 1.06 Run tests sequentially\n0:00:00 load avg: 1.06 [1/1] test_x\n";
    std::fs::write(&path, text).unwrap();
    let (out, notes) = symbolize_in(dir.path(), &path);
    assert_eq!(out, text);
    assert_eq!(notes.lines().count(), 1, "{notes}");
    assert!(notes.starts_with("leakcheck: symbolize: no stack frame line"), "{notes}");
}

/// ASAN's fast unwinder, walking up from a call made through libffi (ctypes), reads a return
/// address in the stack itself, printed `([stack]+0x1e72f)`: a mapping of `/proc/PID/maps`,
/// no file. Its frame stays as it was, without a "not found" note.
#[test]
fn pseudo_modules_such_as_the_stack_get_no_note() {
    use leakcheck_fixtures::sanitizer as fixtures;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures::ASAN_DSO.expect("the asan_dso fixture"), dir.path().join("asan_dso.so")).unwrap();
    let out = Command::new(leakcheck_fixtures::PYTHON)
        .args(["-c", "import ctypes; ctypes.CDLL('./asan_dso.so').asan_dso_overflow(16)"])
        .current_dir(dir.path())
        .env("LD_PRELOAD", fixtures::LIBASAN.expect("libasan"))
        .env("ASAN_OPTIONS", "symbolize=0:detect_leaks=0")
        .output()
        .expect("running the interpreter");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let stack_frame = log.lines().find(|l| l.contains("  ([stack]+0x")).unwrap_or_else(|| panic!("{log}"));
    let path = dir.path().join("asan.log");
    std::fs::write(&path, &log).unwrap();
    let (symbolized, notes) = symbolize_in(dir.path(), &path);
    assert!(symbolized.lines().any(|l| l == stack_frame), "{symbolized}");
    assert!(symbolized.contains(" in asan_dso_overflow "), "{symbolized}");
    assert!(!notes.contains("[stack]"), "{notes}");
}

/// With `color=always`, gcc's libasan writes `ESC[1mESC[0m` before the first frame after a
/// coloured headline (a double-free's, a bad free's, LeakSanitizer's `Direct leak`): that
/// frame is symbolized as the others are, from a file and from stdin, as the run's parser
/// reads it.
#[test]
fn a_frame_line_after_colour_codes_is_symbolized() {
    let program = leakcheck_fixtures::sanitizer::DOUBLE_FREE.expect("the double_free fixture");
    let out = Command::new(program).env("ASAN_OPTIONS", "symbolize=0:color=always").output().expect("the fixture");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    let coloured = log.lines().find(|l| l.starts_with('\x1b') && l.contains("#0 0x")).unwrap_or_else(|| {
        panic!("no frame line after colour codes:\n{log}");
    });
    assert!(coloured.contains("+0x"), "bare: {coloured}");

    let from_file = symbolized_from_a_file_and_stdin(&log);
    let frames: Vec<&str> = from_file.lines().filter(|l| l.contains("#0 0x")).collect();
    assert_eq!(frames.len(), log.lines().filter(|l| l.contains("#0 0x")).count(), "{from_file}");
    for frame in frames {
        assert!(frame.contains(" in "), "not symbolized: {frame:?}\n{from_file}");
    }
}

/// A stderr that cannot be written (`2>/dev/full`, `2>&-`) or a closed stdout loses leakcheck's
/// notes and errors, not its exit status: no panic (101, "failed printing to stderr").
#[test]
fn a_stderr_that_cannot_be_written_is_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let full = || std::fs::File::create("/dev/full").unwrap();
    let with_stderr_full = |args: &[&str], input: &[u8]| {
        let mut child = Command::new(common::LEAKCHECK)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(full())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    // A note (the exe cannot be read), then the answers.
    assert_eq!(with_stderr_full(&["symbolize", "--exe", "missing"], b"0x1070\n"), (Some(0), "??\n??:0:0\n\n".into()));
    // A log without frames: a note.
    assert_eq!(with_stderr_full(&["symbolize"], b"no frames\n"), (Some(0), "no frames\n".into()));
    // Errors, with their own statuses.
    assert_eq!(with_stderr_full(&["symbolize", "/nonexistent/asan.log"], b"").0, Some(66));
    assert_eq!(with_stderr_full(&["symbolize", dir.path().to_str().unwrap()], b"").0, Some(66));
    assert_eq!(with_stderr_full(&["symbolize", "--bogus"], b"").0, Some(64));
    let output = Command::new(common::LEAKCHECK)
        .args(["symbolize", "-"])
        .stdin(std::fs::File::open(dir.path()).unwrap())
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(66));
    // Closed descriptors: the runtime opens /dev/null in their place.
    for closed in ["2>&-", ">&-", ">&- 2>&-"] {
        let script = format!("printf '0x1070\\n' | exec '{}' symbolize --exe missing {closed}", common::LEAKCHECK);
        let output = Command::new("sh").args(["-c", &script]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{closed}: {output:?}");
    }
}

/// `color=always` puts `ESC[1mESC[0m` before the first frame after a coloured line (gcc's
/// libasan after a double-free's or a leak's headline, clang's MSAN after its warning): the
/// reset ends the colour of the line before. A rewritten frame line keeps whatever came
/// before its `#` as written, so no colour code is lost or added anywhere in the log, and
/// the log with its colours removed reads as the same log printed without colours does,
/// with every frame symbolized.
#[test]
fn colour_codes_before_a_frame_line_are_kept() {
    use leakcheck_fixtures::sanitizer::{DOUBLE_FREE, LEAK, MSAN_UNINIT};
    for (program, variable) in [(DOUBLE_FREE, "ASAN_OPTIONS"), (LEAK, "ASAN_OPTIONS"), (MSAN_UNINIT, "MSAN_OPTIONS")] {
        let program = program.expect("the fixture");
        let out = Command::new(program).env(variable, "symbolize=0:color=always").output().expect("the fixture");
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        let coloured: Vec<&str> = log.lines().filter(|l| l.starts_with('\x1b') && l.contains("#0 0x")).collect();
        assert!(!coloured.is_empty(), "no frame line after colour codes:\n{log}");

        let symbolized = symbolized_from_a_file_and_stdin(&log);
        assert_eq!(colour_codes(&symbolized), colour_codes(&log), "{program}:\n{symbolized}");
        let plain = symbolized_from_a_file_and_stdin(&without_colour_codes(&log));
        assert_eq!(without_colour_codes(&symbolized), plain, "{program}");
        for line in coloured {
            let lead = &line[..line.find('#').unwrap()];
            let rewritten = symbolized.lines().find(|l| l.starts_with(lead) && l[lead.len()..].starts_with("#0 0x"));
            let rewritten = rewritten.unwrap_or_else(|| panic!("{line:?} lost its colour codes:\n{symbolized}"));
            assert!(rewritten.contains(" in "), "not symbolized: {rewritten:?}");
        }
        assert!(plain.lines().filter(|l| l.trim_start().starts_with('#')).all(|l| l.contains(" in ")), "{plain}");
    }
}

/// The ANSI codes (`ESC[...m`) of `text`, in order.
fn colour_codes(text: &str) -> Vec<&str> {
    text.match_indices('\x1b').map(|(at, _)| &text[at..at + text[at..].find('m').map_or(1, |m| m + 1)]).collect()
}

fn without_colour_codes(text: &str) -> String {
    let mut plain = text.to_owned();
    for code in colour_codes(text) {
        plain = plain.replacen(code, "", 1);
    }
    plain
}

/// `leakcheck symbolize` reading a pipe: the child, the pipe's writing end, and the lines of
/// its stdout as they arrive, from a thread.
fn symbolize_on_pipes() -> (std::process::Child, std::process::ChildStdin, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(common::LEAKCHECK)
        .arg("symbolize")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            if sender.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    (child, stdin, receiver)
}

/// Wait for lines from `lines` until one starts with `wanted`, for at most a minute; all of them.
fn lines_until(lines: &std::sync::mpsc::Receiver<String>, wanted: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut got = Vec::new();
    while !got.last().is_some_and(|l: &String| l.starts_with(wanted)) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => got.push(line),
            Err(_) => panic!("no line starting with {wanted:?} came; got:\n{}", got.join("\n")),
        }
    }
    got
}

fn unsymbolized_log(program: Result<&str, &str>, options: (&str, &str)) -> String {
    let out = Command::new(program.expect("the fixture")).env(options.0, options.1).output().expect("the fixture");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `leakcheck symbolize` reading a pipe that is still being written (a sanitizer's output
/// piped through it) writes each line as soon as it is rewritten: the first report comes out
/// whole, symbolized, while the writer still holds the pipe open, and the whole output is
/// the same as that of the log from a file.
#[test]
fn a_log_from_a_pipe_comes_out_as_it_is_read() {
    let log = unsymbolized_log(leakcheck_fixtures::sanitizer::HEAP_BUFFER_OVERFLOW, ("ASAN_OPTIONS", "symbolize=0"));
    let summary_end = log.find("\nSUMMARY: ").and_then(|at| log[at + 1..].find('\n').map(|end| at + 1 + end + 1));
    let (report, rest) = log.split_at(summary_end.expect("a SUMMARY: line"));
    let (mut child, mut stdin, lines) = symbolize_on_pipes();
    // Line by line, as a runtime writes.
    for line in report.split_inclusive('\n') {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    let first = lines_until(&lines, "SUMMARY: ");
    assert!(first.iter().any(|l| l.contains(" in store_past_end ")), "{first:#?}");
    stdin.write_all(rest.as_bytes()).unwrap();
    drop(stdin);
    let mut all = first;
    all.extend(lines.iter());
    assert!(child.wait().unwrap().success());
    assert_eq!(all.join("\n") + "\n", symbolized_from_a_file_and_stdin(&log));
}

/// SIGINT, SIGTERM or SIGHUP end the input where it was read to: what `leakcheck symbolize`
/// read is written out as it would be at the end of the input (a TSan report it held for its
/// `SUMMARY:` line, rewritten; an unfinished last line, as it was), then it dies of the
/// signal. The input goes in one write of less than PIPE_BUF bytes, which one read takes
/// whole: once the first report's lines are out, all of it was read.
#[test]
fn a_signal_writes_out_what_was_read() {
    use std::os::unix::process::ExitStatusExt;
    let asan = unsymbolized_log(leakcheck_fixtures::sanitizer::HEAP_BUFFER_OVERFLOW, ("ASAN_OPTIONS", "symbolize=0"));
    let asan = &asan[..asan.find("\nSUMMARY: ").map(|at| at + 1 + asan[at + 1..].find('\n').unwrap() + 1).unwrap()];
    let tsan = unsymbolized_log(leakcheck_fixtures::sanitizer::TSAN_RACE, ("TSAN_OPTIONS", "symbolize=0"));
    let warning = tsan.find("WARNING: ThreadSanitizer: ").expect("a TSan report");
    let tsan: String = tsan[warning..].split_inclusive('\n').take(4).collect();
    // Held for its SUMMARY: line, which never comes: its frames' base name stays unresolved.
    assert!(tsan.contains("#0 "), "{tsan}");
    let input = format!("{asan}{tsan}unfinished line");
    assert!(input.len() < 4096, "{} bytes: more than PIPE_BUF", input.len());
    let expected = run(common::LEAKCHECK, &["symbolize"], &input);
    assert!(expected.ends_with("unfinished line") && expected.contains("WARNING: ThreadSanitizer"), "{expected}");
    for signal in [nix::sys::signal::SIGTERM, nix::sys::signal::SIGINT, nix::sys::signal::SIGHUP] {
        let (mut child, mut stdin, lines) = symbolize_on_pipes();
        stdin.write_all(input.as_bytes()).unwrap();
        let mut out = lines_until(&lines, "SUMMARY: AddressSanitizer");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
        let status = child.wait().unwrap();
        out.extend(lines.iter());
        assert_eq!(status.signal(), Some(signal as i32), "{status:?}");
        assert_eq!(out.join("\n"), expected, "{signal}");
        drop(stdin);
    }
}

/// A TSan report is held back for its `SUMMARY:` line, but not for long: the beginning of one
/// whose summary does not come (the program still running, or killed) comes out once the
/// input has been quiet for a while, the pipe still open.
#[test]
fn a_held_tsan_report_comes_out_when_the_input_goes_quiet() {
    let tsan = unsymbolized_log(leakcheck_fixtures::sanitizer::TSAN_RACE, ("TSAN_OPTIONS", "symbolize=0"));
    let warning = tsan.find("WARNING: ThreadSanitizer: ").expect("a TSan report");
    let head: Vec<&str> = tsan[warning..].lines().take(4).collect();
    let (mut child, mut stdin, lines) = symbolize_on_pipes();
    stdin.write_all(format!("{}\n", head.join("\n")).as_bytes()).unwrap();
    let started = std::time::Instant::now();
    // Its `#1`, in libtsan, is symbolized (a system library); `#0`'s base name is not found.
    let out = lines_until(&lines, "    #1 ");
    assert!(started.elapsed() >= leakcheck::sanitizer::MAX_HOLD / 2, "not held: {:?}", started.elapsed());
    assert_eq!(out[..3], head[..3]);
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
