//! Part of `c/build.rs` (included there as a module): builds the sanitizer fixtures of
//! `c/sanitizer/` and returns the Rust source of `$OUT_DIR/sanitizer_fixtures.rs`, which
//! `c/src/lib.rs` includes as the module `leakcheck_fixtures::sanitizer`.
//!
//! One C file per scenario, each built with the sanitizer and compiler that report it: gcc 12
//! (libasan8, libubsan1, libtsan2), g++ for the C++ ones, clang 14 for MemorySanitizer (gcc has
//! none), UBSan's implicit-conversion checks (likewise) and TSan's static runtime. A compiler that is missing or fails does not fail the build: the constant holds the
//! reason, and the tests that need the fixture fail with it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Which compiler driver builds a fixture.
#[derive(Clone, Copy)]
enum Driver {
    /// `cc::Build`'s C compiler (gcc here, or `$CC`).
    Gcc,
    /// `cc::Build`'s C++ compiler (g++, or `$CXX`).
    Gxx,
    /// clang, for `-fsanitize=memory` (`$LEAKCHECK_CLANG`, default `clang`).
    Clang,
}

/// `(constant, source, output name, driver, flags)`: every program and shared object.
const FIXTURES: &[(&str, &str, &str, Driver, &[&str])] = &[
    ("HEAP_BUFFER_OVERFLOW", "heap_buffer_overflow.c", "heap_buffer_overflow", Driver::Gcc, &ASAN_O1),
    ("HEAP_USE_AFTER_FREE", "heap_use_after_free.c", "heap_use_after_free", Driver::Gcc, &ASAN_THREADS),
    ("DOUBLE_FREE", "double_free.c", "double_free", Driver::Gcc, &ASAN_O0),
    ("STACK_BUFFER_OVERFLOW", "stack_buffer_overflow.c", "stack_buffer_overflow", Driver::Gcc, &ASAN_O0),
    ("GLOBAL_BUFFER_OVERFLOW", "global_buffer_overflow.c", "global_buffer_overflow", Driver::Gcc, &ASAN_O0),
    ("SEGV", "segv.c", "segv", Driver::Gcc, &ASAN_O0),
    ("ALLOC_DEALLOC_MISMATCH", "alloc_dealloc_mismatch.cc", "alloc_dealloc_mismatch", Driver::Gxx, &ASAN_O0),
    ("LEAK", "leak.c", "leak", Driver::Gcc, &ASAN_O0),
    ("UBSAN", "ubsan.c", "ubsan", Driver::Gcc, &["-fsanitize=undefined", "-O0"]),
    ("UBSAN_VPTR", "ubsan_vptr.cc", "ubsan_vptr", Driver::Gxx, &["-fsanitize=vptr", "-O0"]),
    ("TSAN_RACE", "tsan_race.c", "tsan_race", Driver::Gcc, &["-fsanitize=thread", "-O1", "-pthread"]),
    (
        "TSAN_LOCK_ORDER",
        "tsan_lock_order.c",
        "tsan_lock_order",
        Driver::Clang,
        &["-fsanitize=thread", "-O1", "-pthread"],
    ),
    (
        "UBSAN_KINDS_GCC",
        "ubsan_kinds.c",
        "ubsan_kinds_gcc",
        Driver::Gcc,
        &["-fsanitize=undefined,float-divide-by-zero", "-O0"],
    ),
    (
        "UBSAN_KINDS_CLANG",
        "ubsan_kinds.c",
        "ubsan_kinds_clang",
        Driver::Clang,
        &["-fsanitize=undefined,float-divide-by-zero,implicit-conversion", "-O0"],
    ),
    (
        "MSAN_UNINIT",
        "msan_uninit.c",
        "msan_uninit",
        Driver::Clang,
        &["-fsanitize=memory", "-fsanitize-memory-track-origins=2", "-O1", "-fno-omit-frame-pointer"],
    ),
    ("ASAN_DSO", "asan_dso.c", "asan_dso.so", Driver::Gcc, &["-fsanitize=address", "-O0", "-shared", "-fPIC"]),
    ("DSO_LOADER", "dso_loader.c", "dso_loader", Driver::Gcc, &["-O0", "-no-pie", "-ldl"]),
];

const ASAN_O0: [&str; 2] = ["-fsanitize=address", "-O0"];
const ASAN_O1: [&str; 2] = ["-fsanitize=address", "-O1"];
const ASAN_THREADS: [&str; 3] = ["-fsanitize=address", "-O0", "-pthread"];

/// Build every fixture into `out_dir`; the generated constants name them (or why not).
pub fn build(manifest_dir: &Path, out_dir: &Path, python: &str) -> String {
    let dir = manifest_dir.join("sanitizer");
    let mut generated = String::new();
    println!("cargo:rerun-if-env-changed=LEAKCHECK_CLANG");
    for &(constant, source, output, driver, flags) in FIXTURES {
        let source = dir.join(source);
        println!("cargo:rerun-if-changed={}", source.display());
        let built = compile(driver, &source, flags, &out_dir.join(output));
        super::emit_fixture(
            &mut generated,
            constant,
            &format!("`c/sanitizer/{}` built {}", super::file_name(&source), flags.join(" ")),
            built,
            WARNING,
        );
    }
    let asanext = dir.join("asanext.c");
    println!("cargo:rerun-if-changed={}", asanext.display());
    super::emit_fixture(
        &mut generated,
        "ASANEXT",
        &format!("`c/sanitizer/asanext.c`: the `_asanext` extension module for {python}, built with ASAN"),
        build_asan_extension(python, &asanext, out_dir),
        WARNING,
    );
    let ubsanext = dir.join("ubsanext.c");
    println!("cargo:rerun-if-changed={}", ubsanext.display());
    super::emit_fixture(
        &mut generated,
        "UBSANEXT",
        &format!("`c/sanitizer/ubsanext.c`: the `_ubsanext` extension module for {python}, built with UBSan alone"),
        build_ubsan_extension(python, &ubsanext, out_dir),
        WARNING,
    );
    super::emit_fixture(
        &mut generated,
        "UBSANEXT_STRIPPED",
        "`c/sanitizer/ubsanext.c`: the `_ubsanext` extension module built with UBSan alone, without `-g`, and \
         stripped (no symbol table: its frames are `(module+0xOFFSET)` alone)",
        build_stripped_ubsan_extension(python, &ubsanext, out_dir),
        WARNING,
    );
    super::emit_fixture(
        &mut generated,
        "LIBASAN",
        "gcc's ASAN runtime (`gcc -print-file-name=libasan.so`), for LD_PRELOAD",
        libasan(),
        WARNING,
    );
    generated
}

/// How a fixture that could not be built is announced (`cargo:warning=...`).
const WARNING: &str = "leakcheck sanitizer fixtures";

fn command(driver: Driver) -> Command {
    match driver {
        Driver::Gcc => cc::Build::new().get_compiler().to_command(),
        Driver::Gxx => cc::Build::new().cpp(true).get_compiler().to_command(),
        Driver::Clang => Command::new(std::env::var("LEAKCHECK_CLANG").unwrap_or_else(|_| "clang".to_owned())),
    }
}

/// `-g -fno-omit-frame-pointer -Wall -Werror FLAGS SOURCE -o TARGET`; the flags come last so
/// that `-ldl` follows the source.
fn compile(driver: Driver, source: &Path, flags: &[&str], target: &Path) -> Result<PathBuf, String> {
    let mut cmd = command(driver);
    // cc's defaults (-O0/-ffunction-sections, -m64...) come before ours; ours win.
    cmd.args(["-g", "-fno-omit-frame-pointer", "-Wall", "-Werror"]).arg(source).arg("-o").arg(target).args(flags);
    let output = cmd.output().map_err(|e| {
        let hint = match driver {
            Driver::Clang => " (install clang and libclang-rt-14-dev: scripts/setup.sh)",
            _ => "",
        };
        format!("running {cmd:?}: {e}{hint}")
    })?;
    if !output.status.success() {
        return Err(format!(
            "compiling {} failed ({}): {}",
            source.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target.to_owned())
}

/// The `_asanext` extension module for `python`: ASAN- and UBSan-instrumented (UBSan: only
/// signed-integer-overflow, so that an ASAN error is not also an object-size report), recoverable
/// (`-fsanitize-recover=address`, so `halt_on_error=0` lets the interpreter go on).
fn build_asan_extension(python: &str, source: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let (include, suffix) = super::python_headers(python)?;
    let dir = out_dir.join("asanext");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let include = format!("-I{include}");
    let flags = [
        "-fsanitize=address,signed-integer-overflow",
        "-fsanitize-recover=address",
        "-O1",
        "-shared",
        "-fPIC",
        "-Wno-unused-parameter",
        &include,
    ];
    compile(Driver::Gcc, source, &flags, &dir.join(format!("_asanext{suffix}")))
}

/// The `_ubsanext` extension module for `python`: UBSan alone (`-fsanitize=undefined`).
fn build_ubsan_extension(python: &str, source: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let (include, suffix) = super::python_headers(python)?;
    let dir = out_dir.join("ubsanext");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let include = format!("-I{include}");
    let flags = ["-fsanitize=undefined", "-O1", "-shared", "-fPIC", "-Wno-unused-parameter", &include];
    compile(Driver::Gcc, source, &flags, &dir.join(format!("_ubsanext{suffix}")))
}

/// `_ubsanext` as a distribution might ship it: built without debug info (`-g0` after the
/// `-g` of [`compile`]) and stripped (`strip --strip-all`). UBSan's headlines still name the
/// source line: the compiler writes it into each check.
fn build_stripped_ubsan_extension(python: &str, source: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let (include, suffix) = super::python_headers(python)?;
    let dir = out_dir.join("ubsanext-stripped");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let include = format!("-I{include}");
    let flags = ["-fsanitize=undefined", "-O1", "-g0", "-shared", "-fPIC", "-Wno-unused-parameter", &include];
    let target = compile(Driver::Gcc, source, &flags, &dir.join(format!("_ubsanext{suffix}")))?;
    let mut strip = Command::new("strip");
    strip.arg("--strip-all").arg(&target);
    match strip.output() {
        Ok(output) if output.status.success() => Ok(target),
        Ok(output) => Err(format!("{strip:?} failed: {}", String::from_utf8_lossy(&output.stderr))),
        Err(e) => Err(format!("running {strip:?}: {e} (install binutils)")),
    }
}

fn libasan() -> Result<PathBuf, String> {
    let mut cmd = command(Driver::Gcc);
    let output = cmd.arg("-print-file-name=libasan.so").output().map_err(|e| format!("running {cmd:?}: {e}"))?;
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !output.status.success() || !path.is_absolute() || !path.exists() {
        return Err(format!("{cmd:?} did not name libasan.so (install gcc's libasan8: scripts/setup.sh)"));
    }
    Ok(path)
}
