//! Paths to leakcheck's C fixtures, built by `build.rs`, and a helper that lays out a regrtest
//! `--testdir` with the fixture test modules of `c/regrtest/`.

use std::io;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));

/// The source of the `SYMBOLIZE_INLINES*` fixtures.
pub const SYMBOLIZE_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/symbolize/inlines.c");

/// The sanitizer fixtures of `c/sanitizer/`: programs, a shared object and an extension module
/// that make ASAN, LSan, UBSan, TSan and MSan report, with the paths of their sources.
pub mod sanitizer {
    include!(concat!(env!("OUT_DIR"), "/sanitizer_fixtures.rs"));

    /// The directory of the fixtures' sources (`MARK` comments name the lines tests look for)
    /// and of `test_asanext*.py` and `test_ubsanext*.py`, the regrtest modules that use `ASANEXT`
    /// and `UBSANEXT`.
    pub const SOURCE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sanitizer");
}

/// The regrtest test modules that use the fixtures.
pub const REGRTEST_MODULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/regrtest");

/// Fill `dest` (created if needed) with the fixture test modules and the `_leakfix` and
/// `_hangfix` extensions, ready for `python -m test --testdir DEST`.
pub fn populate_testdir(dest: &Path) -> io::Result<PathBuf> {
    let extension = LEAKFIX.map_err(|why| io::Error::other(format!("the _leakfix fixture is missing: {why}")))?;
    let hangfix = HANGFIX.map_err(|why| io::Error::other(format!("the _hangfix fixture is missing: {why}")))?;
    std::fs::create_dir_all(dest)?;
    for entry in std::fs::read_dir(REGRTEST_MODULES)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "py") {
            std::fs::copy(&path, dest.join(path.file_name().unwrap_or_default()))?;
        }
    }
    for extension in [extension, hangfix] {
        let extension = Path::new(extension);
        std::fs::copy(extension, dest.join(extension.file_name().unwrap_or_default()))?;
    }
    Ok(dest.to_owned())
}
