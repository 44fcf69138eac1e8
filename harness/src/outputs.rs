//! Writing the report files a run asked for (`--json`, `--junit-xml`, `--issue-draft`) and the
//! annotation lines (`--annotations github`). Each writer is independent: one that fails (a
//! directory that does not exist, a full disk) does not stop the others; the caller gets every
//! error back and decides the exit status.
//!
//! Report files are ordinary output files: a new one gets mode `0666` less the umask, a file
//! replaced keeps its mode, and a path that is a symbolic link writes the file the link names.
//! A regular file (or one not there yet) is replaced atomically (a temporary file in the same
//! directory, then a rename), so a reader never sees half a report, even when leakcheck is
//! killed while writing. Anything else (a FIFO, a terminal, `/dev/stdout` and the other names
//! of an open descriptor) is written in place, appended to: replacing it would detach it from
//! whoever holds it open.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::report::{annotations, draft, junit, RunReport};

/// Where to write what, resolved from the flags.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub json: Option<PathBuf>,
    pub junit_xml: Option<PathBuf>,
    /// One Markdown file per failing test in this directory (created if missing).
    pub issue_draft_dir: Option<PathBuf>,
    /// Builder and branch named in issue titles.
    pub builder: Option<String>,
    pub branch: Option<String>,
    pub annotations: Option<AnnotationFormat>,
}

/// `--annotations` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AnnotationFormat {
    /// GitHub Actions workflow commands (`::error file=F,line=L::...`) on standard output.
    Github,
}

/// A report file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing the {what} {}: {source}", path.display())]
pub struct WriteError {
    pub what: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Write every file `outputs` names; returns what failed. Annotations go to `annotation_out`.
/// `workspace` is `$GITHUB_WORKSPACE`, for repository-relative paths in annotations.
pub fn write_all(
    report: &RunReport,
    outputs: &Outputs,
    workspace: Option<&str>,
    annotation_out: &mut dyn Write,
) -> Vec<WriteError> {
    let mut errors = Vec::new();
    if let Some(path) = &outputs.json {
        let json = crate::escape::to_json(report).map_err(io::Error::other);
        if let Err(source) = json.and_then(|bytes| write_file(path, |out| out.write_all(&bytes))) {
            errors.push(WriteError { what: "JSON report", path: path.clone(), source });
        }
    }
    if let Some(path) = &outputs.junit_xml {
        if let Err(source) = write_file(path, |out| junit::write_junit(report, out)) {
            errors.push(WriteError { what: "JUnit XML report", path: path.clone(), source });
        }
    }
    if let Some(dir) = &outputs.issue_draft_dir {
        errors.extend(write_drafts(report, dir, outputs.builder.as_deref(), outputs.branch.as_deref()));
    }
    if let Some(AnnotationFormat::Github) = outputs.annotations {
        let options = annotations::AnnotationOptions { workspace };
        let lines = annotations::github_annotations_with(report, &options);
        // Standard output may be closed (`| head`); there is nowhere to report that.
        let _ = annotation_out.write_all(lines.as_bytes()).and_then(|()| annotation_out.flush());
    }
    errors
}

/// One file per failing test in `dir`. Drafts of an earlier run in the same directory stay
/// unless this run writes a file of the same name.
fn write_drafts(report: &RunReport, dir: &Path, builder: Option<&str>, branch: Option<&str>) -> Vec<WriteError> {
    let drafts = draft::issue_drafts(report, builder, branch);
    if drafts.is_empty() {
        return Vec::new();
    }
    if let Err(source) = std::fs::create_dir_all(dir) {
        return vec![WriteError { what: "issue draft directory", path: dir.to_owned(), source }];
    }
    drafts
        .iter()
        .filter_map(|d| {
            let path = dir.join(&d.file_name);
            write_file(&path, |out| out.write_all(d.markdown.as_bytes())).err().map(|source| WriteError {
                what: "issue draft",
                path,
                source,
            })
        })
        .collect()
}

/// Write the report file `path` with `fill` (see the module documentation for how).
fn write_file(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut target = Target::open(path)?;
    let mut out = io::BufWriter::new(target.file());
    fill(&mut out)?;
    out.flush()?;
    drop(out);
    target.commit()
}

/// Where a report file's bytes go.
enum Target {
    /// A regular file, or none yet: a temporary file in its directory, renamed over `path`
    /// (symbolic links followed) once complete.
    Replace { tmp: tempfile::NamedTempFile, path: PathBuf },
    /// Anything else, opened for appending.
    InPlace(File),
}

impl Target {
    fn open(path: &Path) -> io::Result<Target> {
        let path = match follow_links(path)? {
            Followed::Descriptor(path) => return in_place(&path),
            Followed::File(path) => path,
        };
        let keep_mode = match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => return Err(io::Error::from(io::ErrorKind::IsADirectory)),
            Ok(meta) if !meta.is_file() => return in_place(&path),
            Ok(meta) => Some(meta.permissions()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(err),
        };
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        // Created with 0666 the umask narrows, as open(2) would create the file itself.
        let tmp = tempfile::Builder::new()
            .prefix(".leakcheck-")
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(dir)?;
        if let Some(mode) = keep_mode {
            tmp.as_file().set_permissions(mode)?;
        }
        Ok(Target::Replace { tmp, path })
    }

    fn file(&mut self) -> &mut File {
        match self {
            Target::Replace { tmp, .. } => tmp.as_file_mut(),
            Target::InPlace(file) => file,
        }
    }

    /// Make the written bytes the file's: synced and renamed into place. In place, they
    /// already are (a FIFO or a terminal cannot be synced).
    fn commit(self) -> io::Result<()> {
        match self {
            Target::Replace { tmp, path } => {
                tmp.as_file().sync_all()?;
                tmp.persist(&path).map_err(|e| e.error)?;
                Ok(())
            }
            Target::InPlace(_) => Ok(()),
        }
    }
}

fn in_place(path: &Path) -> io::Result<Target> {
    OpenOptions::new().append(true).open(path).map(Target::InPlace)
}

/// What a path's symbolic links lead to.
enum Followed {
    /// A file, maybe not there yet (a dangling link names where to create it).
    File(PathBuf),
    /// A name of an open descriptor (`/dev/stdout`, `/dev/fd/N`, `/proc/PID/fd/N`), whose
    /// link does not name a path.
    Descriptor(PathBuf),
}

/// Most symbolic links followed in a row, as Linux's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;

/// `path` with its symbolic links followed one by one (so that a dangling one still names a
/// file to create, which `canonicalize` cannot say).
fn follow_links(path: &Path) -> io::Result<Followed> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        if names_a_descriptor(&current) {
            return Ok(Followed::Descriptor(current));
        }
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                // An absolute target replaces the whole path; a relative one is the link's sibling.
                current = current.parent().unwrap_or(Path::new("")).join(target);
            }
            _ => return Ok(Followed::File(current)),
        }
    }
    Err(io::Error::from_raw_os_error(libc::ELOOP))
}

/// Whether `path` is an entry of a process's descriptor table (`/proc/PID/fd`, which
/// `/dev/fd` and `/dev/stdout` lead to).
fn names_a_descriptor(path: &Path) -> bool {
    let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) else { return false };
    std::fs::canonicalize(dir).is_ok_and(|dir| dir.starts_with("/proc") && dir.file_name().is_some_and(|n| n == "fd"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileTypeExt;

    #[test]
    fn a_failed_write_leaves_no_temporary_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.xml");
        let err = write_file(&path, |_| Err(io::Error::other("boom"))).unwrap_err();
        assert_eq!(err.to_string(), "boom");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_file(&path, |out| out.write_all(b"<x/>")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"<x/>");
    }

    #[test]
    fn a_symbolic_link_writes_the_file_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("reports/r.json");
        std::fs::create_dir(dir.path().join("reports")).unwrap();
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("r.json");
        std::os::unix::fs::symlink("reports/r.json", &link).unwrap();
        write_file(&link, |out| out.write_all(b"new")).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays");
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777, 0o640, "the mode stays");
        assert_eq!(std::fs::read_dir(dir.path().join("reports")).unwrap().count(), 1, "no temporary file left");

        // A dangling link (through another link) names the file to create.
        let second = dir.path().join("new.json");
        std::os::unix::fs::symlink(dir.path().join("chain"), &second).unwrap();
        std::os::unix::fs::symlink("reports/created.json", dir.path().join("chain")).unwrap();
        write_file(&second, |out| out.write_all(b"created")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("reports/created.json")).unwrap(), b"created");
        assert!(std::fs::symlink_metadata(&second).unwrap().file_type().is_symlink());

        // A loop is an error, not a hang.
        let looped = dir.path().join("loop");
        std::os::unix::fs::symlink("loop", &looped).unwrap();
        let err = write_file(&looped, |out| out.write_all(b"x")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP), "{err}");
    }

    #[test]
    fn a_directory_is_no_report_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_file(dir.path(), |out| out.write_all(b"x")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
    }

    #[test]
    fn a_fifo_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("r.fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // Opening a FIFO for writing waits for its reader.
        let reader = std::thread::spawn({
            let fifo = fifo.clone();
            move || std::fs::read(fifo).unwrap()
        });
        write_file(&fifo, |out| out.write_all(b"{}\n")).unwrap();
        assert_eq!(reader.join().unwrap(), b"{}\n");
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still the FIFO");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file");
    }

    #[test]
    fn a_descriptor_name_is_written_in_place() {
        // `/dev/fd/N` of a regular file: appended to through the descriptor's file, not replaced.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::fs::write(&path, "before\n").unwrap();
        let held = File::open(&path).unwrap();
        let name = PathBuf::from(format!("/dev/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&held)));
        assert!(matches!(follow_links(&name).unwrap(), Followed::Descriptor(_)));
        write_file(&name, |out| out.write_all(b"report\n")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "before\nreport\n");
        assert!(matches!(follow_links(&path).unwrap(), Followed::File(p) if p == path));
    }

    #[test]
    fn a_failing_writer_does_not_stop_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let report = RunReport::new(vec!["python3".into()], "/tmp/run".into());
        let outputs = Outputs {
            json: Some(dir.path().join("missing-dir/r.json")),
            junit_xml: Some(dir.path().join("r.xml")),
            ..Outputs::default()
        };
        let errors = write_all(&report, &outputs, None, &mut std::io::sink());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].to_string().contains("JSON report"), "{}", errors[0]);
        assert!(std::fs::read_to_string(dir.path().join("r.xml")).unwrap().contains("<testsuites"));
    }
}
