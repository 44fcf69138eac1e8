//! Debian's debug CPythons 3.13, 3.14 and 3.15 (`python3.1X-dbg`), which need sid's glibc and
//! so run inside the Debian sid root that `scripts/build-sid-root.sh` makes (`scripts/setup.sh`
//! runs it), leakcheck (this bookworm build, shim included) with them: `scripts/in-sid-root.sh`
//! starts it there, with the temporary directory, this clone and the binary's directory at the
//! same paths. The fixtures' extension modules are built here, with the host's cc, against the
//! root's headers.
//!
//! The root: `$LEAKCHECK_SID_ROOT`, else `sid-root` in `$LEAKCHECK_CACHE` (default
//! `~/.cache/leakcheck`). The tests that need it fail (they are not skipped) without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{as_strs, path_str, Run};

/// The sid root, checked for `scripts/build-sid-root.sh`'s completion stamp.
pub fn sid_root() -> PathBuf {
    let root = std::env::var_os("LEAKCHECK_SID_ROOT").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("LEAKCHECK_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/leakcheck"));
        cache.join("sid-root")
    });
    assert!(
        root.join(".leakcheck-complete").exists(),
        "no Debian sid root at {} (or an unfinished one): run scripts/build-sid-root.sh (scripts/setup.sh runs it)",
        root.display()
    );
    root
}

/// `scripts/in-sid-root.sh`, which runs a command inside the root.
pub fn in_root() -> String {
    path_str(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/in-sid-root.sh"))
}

/// One of the root's interpreters, `version` `3.13`, `3.14` or `3.15`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sid {
    pub version: &'static str,
}

pub const PY313: Sid = Sid { version: "3.13" };
pub const PY314: Sid = Sid { version: "3.14" };
pub const PY315: Sid = Sid { version: "3.15" };

impl Sid {
    /// The interpreter's name inside the root (`/usr/bin` is on the root's and the host's PATH).
    pub fn python(self) -> String {
        format!("python{}-dbg", self.version)
    }

    /// `python3.1X-dbg [interpreter...] -m test --testdir DIR [flags...] TESTS...` as an argv.
    pub fn regrtest(self, interpreter: &[&str], dir: &Path, flags: &[&str], tests: &[&str]) -> Vec<String> {
        let mut argv = super::regrtest_with(&self.python(), dir, flags, tests);
        for (i, flag) in interpreter.iter().enumerate() {
            argv.insert(1 + i, flag.to_string());
        }
        argv
    }

    /// `leakcheck [extra...] --json ... -- python3.1X-dbg [interpreter...] -m test --testdir DIR
    /// [flags...] TESTS...`, inside the root.
    pub fn leakcheck(self, extra: &[&str], interpreter: &[&str], dir: &Path, flags: &[&str], tests: &[&str]) -> Run {
        run_in_root(extra, &self.regrtest(interpreter, dir, flags, tests), &[])
    }

    /// The interpreter's `sysconfig` variable `name`, asked inside the root.
    pub fn config_var(self, name: &str) -> String {
        let out = Command::new(in_root())
            .args([&self.python(), "-c", &format!("import sysconfig; print(sysconfig.get_config_var('{name}'))")])
            .output()
            .expect("running scripts/in-sid-root.sh");
        let value = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(
            out.status.success() && !value.is_empty() && value != "None",
            "{name} of {} in the root: {value:?} {}",
            self.python(),
            String::from_utf8_lossy(&out.stderr)
        );
        value
    }

    /// Build the extension module `module` (`_leakfix`) from `source` into `dir`, with the
    /// host's cc and `flags`, against the root's headers (Debian's multiarch `pyconfig.h` is
    /// included as `<x86_64-linux-gnu/python3.1Xd/pyconfig.h>`, so the root's `/usr/include` is
    /// searched after the host's own), named with the interpreter's EXT_SUFFIX.
    pub fn build_extension(self, source: &Path, module: &str, dir: &Path, flags: &[&str]) {
        let root = sid_root();
        let suffix = self.config_var("EXT_SUFFIX");
        assert!(suffix.ends_with(".so"), "EXT_SUFFIX of {}: {suffix:?}", self.python());
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", "-g", "-O1", "-pthread"])
            .args(flags)
            .arg("-I")
            .arg(root.join(format!("usr/include/python{}d", self.version)))
            .arg("-idirafter")
            .arg(root.join("usr/include"))
            .arg(source)
            .arg("-o")
            .arg(dir.join(format!("{module}{suffix}")))
            .status()
            .expect("running cc");
        assert!(status.success(), "building {module} for {}", self.python());
    }

    /// A test directory with the regrtest modules `modules` of `c/regrtest` and the fixtures'
    /// `_leakfix`/`_hangfix` built for this interpreter.
    pub fn testdir(self, modules: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary directory");
        self.populate(dir.path(), modules);
        dir
    }

    /// Make `dir` (and its parents) a test directory as [`Sid::testdir`] makes one.
    pub fn populate(self, dir: &Path, modules: &[&str]) {
        std::fs::create_dir_all(dir).expect("creating the test directory");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../c");
        for name in modules {
            std::fs::copy(fixtures.join(format!("regrtest/{name}.py")), dir.join(format!("{name}.py"))).unwrap();
        }
        for module in ["leakfix", "hangfix"] {
            self.build_extension(&fixtures.join(format!("{module}.c")), &format!("_{module}"), dir, &[]);
        }
    }
}

/// `leakcheck [extra...] --json ... -- argv...` inside the root, with `env`.
pub fn run_in_root(extra: &[&str], argv: &[String], env: &[(&str, &str)]) -> Run {
    super::leakcheck_wrapped(&[&in_root()], None, extra, &as_strs(argv), env)
}
