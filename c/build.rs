//! Builds the C fixtures against the interpreter the tests use (`LEAKCHECK_TEST_PYTHON`,
//! default `python3.11-dbg`) and writes their paths into `$OUT_DIR/fixtures.rs`.
//!
//! A missing interpreter or compiler does not fail the build: the error is recorded and the
//! tests that need the fixture fail with it, pointing at `scripts/setup.sh`.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const DEFAULT_PYTHON: &str = "python3.11-dbg";

#[path = "sanitizer/build.rs"]
mod sanitizer;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    println!("cargo:rerun-if-env-changed=LEAKCHECK_TEST_PYTHON");
    println!("cargo:rerun-if-changed=leakfix.c");
    println!("cargo:rerun-if-changed=hangfix.c");

    let python = env::var("LEAKCHECK_TEST_PYTHON").unwrap_or_else(|_| DEFAULT_PYTHON.to_owned());
    let extension = build_extension(&python, &manifest_dir.join("leakfix.c"), "_leakfix", &out_dir);

    let mut generated = String::new();
    writeln!(generated, "/// The interpreter the fixtures were built for.").unwrap();
    writeln!(generated, "pub const PYTHON: &str = {python:?};").unwrap();
    emit_fixture(&mut generated, "LEAKFIX", "The `_leakfix` extension module", extension, WARNING);
    let hangfix = build_extension(&python, &manifest_dir.join("hangfix.c"), "_hangfix", &out_dir);
    emit_fixture(&mut generated, "HANGFIX", "The `_hangfix` extension module (deadlocks)", hangfix, WARNING);
    build_symbolize_fixtures(&manifest_dir, &out_dir, &mut generated);
    std::fs::write(out_dir.join("fixtures.rs"), generated).unwrap();
    std::fs::write(out_dir.join("sanitizer_fixtures.rs"), sanitizer::build(&manifest_dir, &out_dir, &python)).unwrap();
}

/// How a fixture that could not be built is announced (`cargo:warning=...`).
const WARNING: &str = "leakcheck fixtures";

/// Write `pub const CONSTANT: Result<&str, &str>` into `generated`: the built file, or why it
/// could not be built, which is also a cargo warning prefixed by `warning`. The tests that need
/// the fixture fail with the reason.
fn emit_fixture(generated: &mut String, constant: &str, doc: &str, built: Result<PathBuf, String>, warning: &str) {
    writeln!(generated, "/// {doc}; or why it could not be built.").unwrap();
    match built {
        Ok(path) => {
            writeln!(generated, "pub const {constant}: Result<&str, &str> = Ok({:?});", path.display().to_string())
        }
        Err(why) => {
            println!("cargo:warning={warning}: {why}");
            writeln!(generated, "pub const {constant}: Result<&str, &str> = Err({why:?});")
        }
    }
    .unwrap();
}

/// The symbolization fixtures: `symbolize/inlines.c`, built `-g -O2` in the variants the
/// symbolizer must read: DWARF 5 (gcc 12's default), DWARF 4, and debug sections compressed
/// with zlib and with zstd (`SHF_COMPRESSED`); and `symbolize/templates.cpp` (C++ names).
fn build_symbolize_fixtures(manifest_dir: &Path, out_dir: &Path, generated: &mut String) {
    // (constant, source, output, C++, extra flags)
    let fixtures: [(&str, &str, &str, bool, &[&str]); 5] = [
        ("SYMBOLIZE_INLINES", "inlines.c", "inlines", false, &[]),
        ("SYMBOLIZE_INLINES_DWARF4", "inlines.c", "inlines-dwarf4", false, &["-gdwarf-4"]),
        ("SYMBOLIZE_INLINES_ZLIB", "inlines.c", "inlines-zlib", false, &["-gz=zlib"]),
        ("SYMBOLIZE_INLINES_ZSTD", "inlines.c", "inlines-zstd", false, &["-Wl,--compress-debug-sections=zstd"]),
        ("SYMBOLIZE_TEMPLATES", "templates.cpp", "templates", true, &[]),
    ];
    for (constant, source, output, cpp, flags) in fixtures {
        println!("cargo:rerun-if-changed=symbolize/{source}");
        let source = manifest_dir.join("symbolize").join(source);
        let target = out_dir.join(output);
        let mut cmd = cc::Build::new().cpp(cpp).get_compiler().to_command();
        cmd.args(["-g", "-O2", "-Wall", "-Werror"]).args(flags).arg(&source).arg("-o").arg(&target);
        let built = match cmd.output() {
            Ok(output) if output.status.success() => Ok(target),
            Ok(output) => Err(format!(
                "compiling {} ({flags:?}) failed: {}",
                source.display(),
                String::from_utf8_lossy(&output.stderr)
            )),
            Err(e) => Err(format!("running the C/C++ compiler: {e}")),
        };
        let doc =
            format!("`symbolize/{}` built `{}`", file_name(&source), [&["-g", "-O2"][..], flags].concat().join(" "));
        emit_fixture(generated, constant, &doc, built, WARNING);
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `python`'s include directory (holding `Python.h`) and extension-module suffix.
fn python_headers(python: &str) -> Result<(String, String), String> {
    let query =
        "import sysconfig; print(sysconfig.get_paths()['include']); print(sysconfig.get_config_var('EXT_SUFFIX'))";
    let output = Command::new(python)
        .args(["-c", query])
        .output()
        .map_err(|e| format!("cannot run {python} ({e}); run scripts/setup.sh to install it"))?;
    if !output.status.success() {
        return Err(format!("{python} failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let (Some(include), Some(suffix)) = (lines.next(), lines.next()) else {
        return Err(format!("{python} did not report its include directory and EXT_SUFFIX"));
    };
    if !Path::new(include).join("Python.h").exists() {
        return Err(format!("{include}/Python.h is missing: install the interpreter's headers (scripts/setup.sh)"));
    }
    Ok((include.to_owned(), suffix.to_owned()))
}

/// Compile `source` into the extension module `name` for `python`.
fn build_extension(python: &str, source: &Path, name: &str, out_dir: &Path) -> Result<PathBuf, String> {
    let (include, suffix) = python_headers(python)?;
    let target = out_dir.join(format!("{name}{suffix}"));
    let compiler = cc::Build::new().opt_level(2).debug(true).pic(true).get_compiler();
    let mut cmd = compiler.to_command();
    cmd.arg("-shared")
        .arg("-fno-omit-frame-pointer")
        .arg("-Wall")
        .arg("-Werror")
        .arg("-Wno-unused-parameter")
        .arg(format!("-I{include}"))
        .arg(source)
        .arg("-o")
        .arg(&target);
    let output = cmd.output().map_err(|e| format!("running the C compiler: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "compiling {} failed ({}): {}",
            source.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target)
}
