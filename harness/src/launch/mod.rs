//! The child's argv and environment: the private run directory, the preload shim, and the
//! process group. Knows nothing of parsing or reporting.

pub mod options;
pub mod profile;
pub mod sanitizers;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

/// The shim library, built by `build.rs` from `shims/` and carried inside this binary, so that
/// `target/release/leakcheck` or a `cargo install`ed copy works on its own.
static SHIM_LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libleakcheck_shim.so"));

/// The variable that tells the shim where to write (see `shims/src/channel.rs`).
pub const RUN_DIR_ENV: &str = "LEAKCHECK_RUN_DIR";
/// The variable with the stack depth for attribution, 0 for none (`shims/src/attribution.rs`).
pub const STACK_DEPTH_ENV: &str = "LEAKCHECK_STACK_DEPTH";

/// The shim's file name in the run directory (its frames in sanitizer stacks are in this module).
pub const SHIM_FILE: &str = "libleakcheck_shim.so";
/// The shim's crate, whose functions name its frames when a runtime found their lines.
pub const SHIM_CRATE: &str = "leakcheck_shim";

/// Whether a frame's `module` (a path) is the shim's: by its file name, so that an extension in a
/// directory that happens to be named after leakcheck is not taken for it.
pub fn is_shim_module(module: &str) -> bool {
    std::path::Path::new(module).file_name() == Some(std::ffi::OsStr::new(SHIM_FILE))
}

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LaunchError {
    #[error("creating the run directory {path}")]
    RunDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the shim library to {path}")]
    Shim {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `removed`: the empty directory was removed (it may be left when that failed).
    #[error(
        "the run directory {path} contains a space or a colon, which LD_PRELOAD cannot carry: the shim \
         cannot be preloaded from it ({}); choose another one with --run-dir or TMPDIR, or run without \
         the shim (--no-shim)",
        if *.removed { "the empty directory was removed" } else { "the empty directory could not be removed" }
    )]
    UnusablePath { path: PathBuf, removed: bool },
    #[error(
        "the run directory {path} is on {mount}, which is mounted noexec: the dynamic linker cannot \
         preload the shim from there, and the shim would measure nothing; choose a run directory on \
         a file system that allows executables (--run-dir DIR, or TMPDIR), or run without the shim \
         (--no-shim)"
    )]
    NoExec { path: PathBuf, mount: PathBuf },
    #[error("checking the file system of the run directory {path}")]
    Statvfs {
        path: PathBuf,
        #[source]
        source: nix::errno::Errno,
    },
}

/// The private directory of one run: the shim's event files, the shim itself, the default log.
/// It is kept after the run (the log and events are evidence); the shim copy is removed.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Create `requested` (which must not exist), or a fresh `leakcheck-*` directory under
    /// `$TMPDIR`, with mode 0700.
    pub fn create(requested: Option<&Path>) -> Result<Self, LaunchError> {
        let path = match requested {
            Some(path) => {
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(path)
                    .map_err(|source| LaunchError::RunDir { path: path.to_owned(), source })?;
                path.to_owned()
            }
            None => {
                // An empty $TMPDIR is unset, as for Python's tempfile and mktemp (the standard
                // library's `temp_dir` would take it for the current directory).
                let base = match std::env::var_os("TMPDIR") {
                    Some(dir) if !dir.is_empty() => PathBuf::from(dir),
                    _ => PathBuf::from("/tmp"),
                };
                tempfile::Builder::new()
                    .prefix("leakcheck-")
                    .permissions(fs::Permissions::from_mode(0o700))
                    .tempdir_in(&base)
                    .map_err(|source| LaunchError::RunDir { path: base.clone(), source })?
                    .keep()
            }
        };
        let path = fs::canonicalize(&path).map_err(|source| LaunchError::RunDir { path: path.clone(), source })?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fail when the shim could not be preloaded from the run directory: on a file system
    /// mounted `noexec` (a common hardening of `/tmp`), ld.so cannot map it ("failed to map
    /// segment from shared object"), says so in the command's output only, and the run goes
    /// on without measurements.
    ///
    /// A path with a space or a colon cannot be preloaded either (LD_PRELOAD splits there): the
    /// directory, still empty, is removed and the run refused. Without the shim, any path does.
    pub fn check_exec(&self) -> Result<(), LaunchError> {
        if self.path.as_os_str().as_bytes().iter().any(|b| matches!(b, b' ' | b':' | b'\t' | b'\n')) {
            let removed = fs::remove_dir(&self.path).is_ok();
            return Err(LaunchError::UnusablePath { path: self.path.clone(), removed });
        }
        let stat = nix::sys::statvfs::statvfs(&self.path)
            .map_err(|source| LaunchError::Statvfs { path: self.path.clone(), source })?;
        if allows_exec(stat.flags()) {
            return Ok(());
        }
        Err(LaunchError::NoExec { path: self.path.clone(), mount: mount_point(&self.path) })
    }

    /// Write the embedded shim into the run directory (mode 0500) and return its path.
    pub fn install_shim(&self) -> Result<PathBuf, LaunchError> {
        let path = self.path.join(SHIM_FILE);
        let write = || -> std::io::Result<()> {
            let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o500).open(&path)?;
            file.write_all(SHIM_LIBRARY)?;
            file.sync_all()
        };
        write().map_err(|source| LaunchError::Shim { path: path.clone(), source })?;
        Ok(path)
    }

    /// Remove the shim copy; the rest of the directory stays.
    pub fn remove_shim(&self) {
        let _ = fs::remove_file(self.path.join(SHIM_FILE));
    }
}

/// Whether a file system with these mount flags lets ld.so map a library from it.
fn allows_exec(flags: nix::sys::statvfs::FsFlags) -> bool {
    !flags.contains(nix::sys::statvfs::FsFlags::ST_NOEXEC)
}

/// The mount point of the file system `path` (canonical) is on: its highest ancestor on the
/// same device.
fn mount_point(path: &Path) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let device = |p: &Path| fs::metadata(p).map(|m| m.dev()).ok();
    let Some(own) = device(path) else { return path.to_owned() };
    let mut mount = path;
    while let Some(parent) = mount.parent().filter(|p| device(p) == Some(own)) {
        mount = parent;
    }
    mount.to_owned()
}

/// `LD_PRELOAD`: the sanitizer runtimes that must come first, then what the user preloads
/// (without repeating a runtime), then the shim, last. ASAN aborts when its runtime is not first
/// ("ASan runtime does not come first").
pub fn preload_value(first: &[PathBuf], existing: Option<&OsStr>, shim: Option<&Path>) -> Option<OsString> {
    let mut entries: Vec<OsString> = first.iter().map(|p| p.as_os_str().to_owned()).collect();
    if let Some(existing) = existing {
        for entry in existing.as_bytes().split(|b| b.is_ascii_whitespace() || *b == b':').filter(|e| !e.is_empty()) {
            let entry = OsStr::from_bytes(entry);
            let duplicate = first.iter().any(|f| {
                f.as_os_str() == entry || f.file_name().is_some_and(|name| Path::new(entry).file_name() == Some(name))
            });
            if !duplicate {
                entries.push(entry.to_owned());
            }
        }
    }
    entries.extend(shim.map(|s| s.as_os_str().to_owned()));
    (!entries.is_empty()).then(|| entries.join(OsStr::new(" ")))
}

/// How the command is to be started.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    /// The shim to preload, if any.
    pub shim: Option<&'a Path>,
    /// Frames per allocation stack (0: no attribution).
    pub stack_depth: u32,
    /// The sanitizer environment.
    pub sanitizers: &'a sanitizers::Plan,
}

/// The command, in its own process group, with its environment set up by `launch`. The
/// environment it gets is sorted by name, not in our order: `Command` builds an environment it
/// changes anew from a sorted map (the README says so, for `os.environ` dumps).
pub fn command(argv: &[OsString], run_dir: &RunDir, launch: Launch<'_>) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd.process_group(0);
    let existing = std::env::var_os("LD_PRELOAD");
    if let Some(preload) = preload_value(&launch.sanitizers.preload_first, existing.as_deref(), launch.shim) {
        cmd.env("LD_PRELOAD", preload);
    }
    for (name, value) in &launch.sanitizers.variables {
        cmd.env(name, value);
    }
    if launch.shim.is_some() {
        cmd.env(RUN_DIR_ENV, run_dir.path());
        cmd.env(STACK_DEPTH_ENV, launch.stack_depth.to_string());
    }
    // Only this run's leakcheck says it added the flag (not an outer leakcheck's).
    match launch.shim.is_some() && launch.sanitizers.link_order_added {
        true => cmd.env(sanitizers::LINK_ORDER_ADDED_ENV, "1"),
        false => cmd.env_remove(sanitizers::LINK_ORDER_ADDED_ENV),
    };
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shim_module_is_told_by_its_file_name_not_by_a_directory_named_after_leakcheck() {
        assert!(is_shim_module("/tmp/leakcheck-Ab12/libleakcheck_shim.so"));
        assert!(!is_shim_module("/home/me/leakcheck/build/_foo.cpython-311d-x86_64-linux-gnu.so"));
        assert!(!is_shim_module("/tmp/leakcheck-Ab12/libleakcheck_shim.so.1"));
        assert!(!is_shim_module("?"));
    }

    #[test]
    fn preload_puts_runtimes_first_and_the_shim_last() {
        let shim = Some(Path::new("/run/x/libleakcheck_shim.so"));
        let asan = [PathBuf::from("/usr/lib/x86_64-linux-gnu/libasan.so.8")];
        assert_eq!(preload_value(&[], None, shim).unwrap(), "/run/x/libleakcheck_shim.so");
        assert_eq!(preload_value(&[], Some(OsStr::new("  ")), shim).unwrap(), "/run/x/libleakcheck_shim.so");
        assert_eq!(
            preload_value(&asan, Some(OsStr::new("libasan.so.8 /opt/libx.so")), shim).unwrap(),
            "/usr/lib/x86_64-linux-gnu/libasan.so.8 /opt/libx.so /run/x/libleakcheck_shim.so"
        );
        assert_eq!(preload_value(&[], None, None), None);
        assert_eq!(
            preload_value(&[], Some(OsStr::new("/usr/lib/libasan.so.8")), shim).unwrap(),
            "/usr/lib/libasan.so.8 /run/x/libleakcheck_shim.so"
        );
    }

    #[test]
    fn run_dir_is_private_and_fresh() {
        let parent = tempfile::tempdir().unwrap();
        let wanted = parent.path().join("run");
        let dir = RunDir::create(Some(&wanted)).unwrap();
        let mode = fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(RunDir::create(Some(&wanted)).is_err(), "an existing directory is refused");
        let shim = dir.install_shim().unwrap();
        assert_eq!(fs::metadata(&shim).unwrap().len() as usize, SHIM_LIBRARY.len());
        dir.remove_shim();
        assert!(!shim.exists());
    }

    #[test]
    fn a_noexec_file_system_cannot_hold_the_shim() {
        use nix::sys::statvfs::FsFlags;
        assert!(allows_exec(FsFlags::ST_NOSUID | FsFlags::ST_RDONLY));
        assert!(!allows_exec(FsFlags::ST_NOEXEC | FsFlags::ST_NOSUID));
        let dir = tempfile::tempdir().unwrap();
        let mount = mount_point(dir.path());
        assert!(dir.path().starts_with(&mount), "{}", mount.display());
        assert_eq!(mount_point(Path::new("/proc/self")), Path::new("/proc"));
    }

    #[test]
    fn a_path_ld_preload_cannot_carry_is_refused() {
        let parent = tempfile::tempdir().unwrap();
        // Only when the shim is to be preloaded from it: checked then, and the directory removed.
        let dir = parent.path().join("with space");
        let run_dir = RunDir::create(Some(&dir)).unwrap();
        let err = run_dir.check_exec().unwrap_err();
        assert!(matches!(err, LaunchError::UnusablePath { removed: true, .. }), "{err}");
        assert!(err.to_string().contains("(the empty directory was removed)"), "{err}");
        assert!(!dir.exists(), "the empty directory is removed");
    }
}
