//! Writing the report files a run asked for (`--json`, `--junit-xml`, `--issue-draft`) and the
//! annotation lines (`--annotations github`). Each writer is independent: one that fails (a
//! directory that does not exist, a full disk) does not stop the others; the caller gets every
//! error back, and the status to exit with in the report, which the files written carry too.
//!
//! Report files are ordinary output files: a new one gets mode `0666` less the umask, a file
//! replaced keeps its mode, and a path that is a symbolic link writes the file the link names.
//! A regular file (or one not there yet) is replaced atomically (a temporary file in the same
//! directory, then a rename), so a reader never sees half a report, even when leakcheck is
//! killed while writing. Anything else (a FIFO, a terminal, `/dev/stdout` and the other names
//! of an open descriptor) is written in place, appended to: replacing it would detach it from
//! whoever holds it open.
//!
//! The `--issue-draft` directory is created in every run, and is leakcheck's in part only: the
//! drafts it wrote there are listed in [`DRAFT_LIST`], and a run first removes the drafts of an
//! earlier one that it does not write again, when they are still as written; nothing else.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, BufRead, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::exit::ExitCode;
use crate::report::{annotations, draft, junit, RunReport};

/// Where to write what, resolved from the flags.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub json: Option<PathBuf>,
    pub junit_xml: Option<PathBuf>,
    /// One Markdown file per failing test in this directory (created if missing, also when
    /// nothing failed), and the list of them ([`DRAFT_LIST`]).
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

/// Write every output `outputs` names; returns what failed. A report file that cannot be
/// written makes the status 70 where it would be 0 ([`ExitCode::INTERNAL`]), and the files
/// that are written say so: `report.status.leakcheck_exit_code` is updated and is the status to
/// exit with. Annotations go to `annotation_out`, last (see [`AnnotationContext`]).
///
/// Every file is opened first (in directories made for it if missing), so that the usual
/// failures (no permission, a file where a directory should be) are known before any content
/// is made. A file that fails later, while being written (a full
/// disk), has the others written again, which a temporary file allows: files written in place
/// (a FIFO, `/dev/stdout`) come last and are written once, so one of them that succeeds before
/// another fails, or a rename that fails once all are written, leaves a file with the earlier
/// status.
pub fn write_all(
    report: &mut RunReport,
    outputs: &Outputs,
    context: &AnnotationContext<'_>,
    annotation_out: &mut dyn Write,
) -> Vec<WriteError> {
    let mut errors = Vec::new();
    let mut drafts = Drafts::new(report, outputs);
    let mut files = open_files(outputs, &drafts, &mut errors);
    settle_status(report, &errors);
    fill_files(report, outputs, &mut drafts, &mut files, &mut errors);
    for file in files {
        if let Err(source) = file.target.commit() {
            errors.push(WriteError { what: file.what, path: file.path, source });
        }
    }
    settle_status(report, &errors);
    if let Some(AnnotationFormat::Github) = outputs.annotations {
        write_annotations(report, context, annotation_out);
    }
    errors
}

/// What `--annotations` lines need besides the report.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnnotationContext<'a> {
    /// `$GITHUB_WORKSPACE`, for repository-relative paths.
    pub workspace: Option<&'a str>,
    /// What leakcheck wrote itself between the command's output and the annotations (its
    /// summary on stderr): the runner reads it before them, as it read the command's output.
    pub printed_before: &'a str,
}

/// The annotation lines, after the line that resumes workflow commands if the command's output
/// (its log, both streams) or leakcheck's summary stopped them.
fn write_annotations(report: &RunReport, context: &AnnotationContext<'_>, out: &mut dyn Write) {
    let options = annotations::AnnotationOptions { workspace: context.workspace };
    let lines = annotations::github_annotations_with(report, &options);
    let mut state = annotations::CommandState::default();
    if let Some(log) = &report.log {
        // An unreadable log: as if nothing stopped the commands.
        let _ = follow_log(Path::new(log), &mut state);
    }
    for line in context.printed_before.split(['\n', '\r']) {
        state.line(line);
    }
    let text = annotations::resume_commands(&state, &lines) + &lines;
    // Standard output may be closed (`| head`); there is nowhere to report that.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Longest line of the log followed for workflow commands; the rest of a longer one is skipped
/// (the commands that matter are short).
const MAX_COMMAND_LINE: usize = 64 * 1024;

/// Give `state` every line of the log at `path`, ended by LF, CR or CRLF as the runner splits
/// them. Only a regular file is read (`--log` may name a FIFO, which nobody writes any more).
fn follow_log(path: &Path, state: &mut annotations::CommandState) -> io::Result<()> {
    if !std::fs::metadata(path)?.is_file() {
        return Ok(());
    }
    let mut reader = io::BufReader::with_capacity(1 << 16, File::open(path)?);
    let mut line = Vec::new();
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let end = buf.iter().position(|&b| b == b'\n' || b == b'\r');
        let part = &buf[..end.unwrap_or(buf.len())];
        line.extend_from_slice(&part[..part.len().min(MAX_COMMAND_LINE - line.len())]);
        let used = end.map_or(buf.len(), |i| i + 1);
        reader.consume(used);
        if end.is_some() {
            state.line(&String::from_utf8_lossy(&line));
            line.clear();
        }
    }
    if !line.is_empty() {
        state.line(&String::from_utf8_lossy(&line));
    }
    Ok(())
}

/// A report file that could not be written makes the status 70 where it would be 0 (a
/// finding's status or the command's own failure says more); whether it changed.
fn settle_status(report: &mut RunReport, errors: &[WriteError]) -> bool {
    let status = &mut report.status.leakcheck_exit_code;
    if errors.is_empty() || *status != ExitCode::OK {
        return false;
    }
    *status = ExitCode::INTERNAL;
    true
}

/// One report file being written.
struct ReportFile {
    what: &'static str,
    /// As the flag gave it, for messages.
    path: PathBuf,
    content: Content,
    target: Target,
    /// The status the bytes written carry, once written.
    written_with: Option<i32>,
}

#[derive(Debug, Clone, Copy)]
enum Content {
    Json,
    Junit,
    /// The draft of this index in [`Drafts`].
    Draft(usize),
    /// The list of the drafts written ([`DRAFT_LIST`]).
    DraftList,
}

/// The file in the `--issue-draft` directory that lists the drafts leakcheck wrote there, each
/// with its size and CRC-32, so that the next run can remove those it does not write again
/// (a build's upload of the directory would carry them along) and nothing else: a file not
/// listed, or changed since (edited, replaced), is left alone. Not named as a draft can be
/// (no draft name starts with a dot), nor as a temporary file is (`.leakcheck-` and six
/// characters).
pub const DRAFT_LIST: &str = ".leakcheck-drafts.txt";

/// The first line of [`DRAFT_LIST`]; each line after it is `CRC32 SIZE FILE_NAME`.
const DRAFT_LIST_HEADER: &str =
    "# leakcheck --issue-draft: the drafts it wrote here (crc32, size, name); its next run here removes them";

/// The issue drafts, made again when the status they name changes. One file per failing test;
/// the drafts an earlier run wrote in the same directory (its [`DRAFT_LIST`]) are removed
/// first, those this run does not write again.
struct Drafts {
    status: i32,
    drafts: Vec<draft::IssueDraft>,
}

impl Drafts {
    fn new(report: &RunReport, outputs: &Outputs) -> Drafts {
        let drafts = match outputs.issue_draft_dir {
            Some(_) => draft::issue_drafts(report, outputs.builder.as_deref(), outputs.branch.as_deref()),
            None => Vec::new(),
        };
        Drafts { status: report.status.leakcheck_exit_code, drafts }
    }

    fn markdown(&mut self, report: &RunReport, outputs: &Outputs, index: usize) -> &[u8] {
        if self.status != report.status.leakcheck_exit_code {
            *self = Drafts::new(report, outputs);
        }
        self.drafts.get(index).map(|d| d.markdown.as_bytes()).unwrap_or_default()
    }

    /// The [`DRAFT_LIST`] of these drafts, as they are for the report's status now.
    fn list(&mut self, report: &RunReport, outputs: &Outputs) -> String {
        let mut list = format!("{DRAFT_LIST_HEADER}\n");
        for index in 0..self.drafts.len() {
            let bytes = self.markdown(report, outputs, index);
            let (crc, size) = (crc32fast::hash(bytes), bytes.len());
            let name = &self.drafts[index].file_name;
            list.push_str(&format!("{crc:08x} {size} {name}\n"));
        }
        list
    }
}

/// Remove from `dir` the drafts its [`DRAFT_LIST`] names that are still as leakcheck wrote
/// them (a regular file of the listed size and CRC-32), except those named `keep` (written
/// again now, replaced atomically). A list that cannot be read removes nothing; an entry that
/// is no draft file name (a path, a dot file) is skipped.
fn remove_earlier_drafts(dir: &Path, keep: &[&str], errors: &mut Vec<WriteError>) {
    let Ok(list) = std::fs::read(dir.join(DRAFT_LIST)) else { return };
    let list = String::from_utf8_lossy(&list);
    let mut lines = list.lines();
    if lines.next() != Some(DRAFT_LIST_HEADER) {
        return;
    }
    for line in lines {
        let mut fields = line.splitn(3, ' ');
        let (Some(crc), Some(size), Some(name)) = (fields.next(), fields.next(), fields.next()) else { continue };
        let (Ok(crc), Ok(size)) = (u32::from_str_radix(crc, 16), size.parse::<u64>()) else { continue };
        if !draft::is_draft_file_name(name) || keep.contains(&name) {
            continue;
        }
        let path = dir.join(name);
        // Not through a symbolic link (leakcheck never makes one), and not a FIFO to wait on.
        let unchanged = std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_file() && meta.len() == size)
            && std::fs::read(&path).is_ok_and(|bytes| crc32fast::hash(&bytes) == crc);
        if !unchanged {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(source) => errors.push(WriteError { what: "earlier issue draft (removing it)", path, source }),
        }
    }
}

/// Open every file `outputs` names (the draft directory created if missing, in every case, and
/// the drafts an earlier run left there removed), in the order to write them: files written in
/// place last.
fn open_files(outputs: &Outputs, drafts: &Drafts, errors: &mut Vec<WriteError>) -> Vec<ReportFile> {
    let mut wanted = Vec::new();
    if let Some(path) = &outputs.json {
        wanted.push(("JSON report", path.clone(), Content::Json));
    }
    if let Some(path) = &outputs.junit_xml {
        wanted.push(("JUnit XML report", path.clone(), Content::Junit));
    }
    if let Some(dir) = &outputs.issue_draft_dir {
        // Also when nothing failed: a build step that uploads the directory needs it there.
        match std::fs::create_dir_all(dir) {
            Ok(()) => {
                let names: Vec<&str> = drafts.drafts.iter().map(|d| d.file_name.as_str()).collect();
                remove_earlier_drafts(dir, &names, errors);
                wanted.extend(
                    drafts
                        .drafts
                        .iter()
                        .enumerate()
                        .map(|(i, d)| ("issue draft", dir.join(&d.file_name), Content::Draft(i))),
                );
                wanted.push(("issue draft list", dir.join(DRAFT_LIST), Content::DraftList));
            }
            Err(source) => errors.push(WriteError { what: "issue draft directory", path: dir.clone(), source }),
        }
    }
    let mut files: Vec<ReportFile> = wanted
        .into_iter()
        .filter_map(|(what, path, content)| match Target::open(&path) {
            Ok(target) => Some(ReportFile { what, path, content, target, written_with: None }),
            Err(source) => {
                errors.push(WriteError { what, path, source });
                None
            }
        })
        .collect();
    files.sort_by_key(|f| matches!(f.target, Target::InPlace(_)));
    files
}

/// Write the content of every file. One that fails is dropped and the status settled at once;
/// then the temporary files written with an earlier status are written again.
fn fill_files(
    report: &mut RunReport,
    outputs: &Outputs,
    drafts: &mut Drafts,
    files: &mut Vec<ReportFile>,
    errors: &mut Vec<WriteError>,
) {
    for again in [false, true] {
        files.retain_mut(|file| {
            let status = report.status.leakcheck_exit_code;
            let due = match file.written_with {
                None => true,
                Some(written) => again && written != status && matches!(file.target, Target::Replace { .. }),
            };
            if !due {
                return true;
            }
            match file.fill(report, outputs, drafts) {
                Ok(()) => {
                    file.written_with = Some(status);
                    true
                }
                Err(source) => {
                    errors.push(WriteError { what: file.what, path: file.path.clone(), source });
                    settle_status(report, errors);
                    false
                }
            }
        });
    }
}

impl ReportFile {
    /// Write the file's content for the report as it is now, from its start.
    fn fill(&mut self, report: &RunReport, outputs: &Outputs, drafts: &mut Drafts) -> io::Result<()> {
        let mut out = io::BufWriter::new(self.target.rewound()?);
        match self.content {
            Content::Json => out.write_all(&crate::escape::to_json(report).map_err(io::Error::other)?)?,
            Content::Junit => junit::write_junit(report, &mut out)?,
            Content::Draft(index) => out.write_all(drafts.markdown(report, outputs, index))?,
            Content::DraftList => out.write_all(drafts.list(report, outputs).as_bytes())?,
        }
        out.flush()
    }
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
        if keep_mode.is_none() {
            // A report asked for in a directory not made yet (`--json build/leaks/r.json`) is
            // written there, as `--issue-draft` makes its directory (and pytest's --junitxml
            // its file's): a long run is not lost to a missing directory. Made with 0777 the
            // umask narrows, as mkdir(1) makes it.
            std::fs::create_dir_all(dir)?;
        }
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

    /// The file to write, at its start: a temporary file emptied (it may have been written
    /// with another status); in place, as it is.
    fn rewound(&mut self) -> io::Result<&mut File> {
        match self {
            Target::Replace { tmp, .. } => {
                let file = tmp.as_file_mut();
                file.set_len(0)?;
                file.seek(io::SeekFrom::Start(0))?;
                Ok(file)
            }
            Target::InPlace(file) => Ok(file),
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
    open_without_waiting(OpenOptions::new().append(true), path).map(Target::InPlace)
}

/// Open `path` with `options` for writing, without waiting for the reader of a FIFO: open(2)
/// would block until one comes, with no timeout, and leakcheck's signals blocked (before the
/// run, or while it writes its reports) SIGTERM could not end the wait. A FIFO nobody reads
/// is an error; the file is blocking once open.
pub fn open_without_waiting(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = options.custom_flags(libc::O_NONBLOCK).open(path).map_err(|err| {
        if err.raw_os_error() == Some(libc::ENXIO) {
            io::Error::new(err.kind(), "a FIFO with no reader (open it for reading first)")
        } else {
            err
        }
    })?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(file)
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
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

    /// Write the report file `path` with `fill`, as [`write_all`] writes each.
    fn write_file(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
        let mut target = Target::open(path)?;
        let mut out = io::BufWriter::new(target.rewound()?);
        fill(&mut out)?;
        out.flush()?;
        drop(out);
        target.commit()
    }

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
        // Nobody reads it: an error, not a wait without end.
        let err = write_file(&fifo, |out| out.write_all(b"{}\n")).unwrap_err();
        assert!(err.to_string().contains("FIFO with no reader"), "{err}");
        let reader = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&fifo).unwrap();
        write_file(&fifo, |out| out.write_all(b"{}\n")).unwrap();
        let mut read = Vec::new();
        std::io::Read::read_to_end(&mut &reader, &mut read).unwrap();
        assert_eq!(read, b"{}\n");
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
    fn the_log_is_split_into_lines_as_the_runner_splits_them() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("output.log");
        let follow = |bytes: &[u8]| {
            std::fs::write(&log, bytes).unwrap();
            let mut state = annotations::CommandState::default();
            follow_log(&log, &mut state).unwrap();
            state
        };
        // A progress line's CR ends a line for the runner.
        assert!(follow(b"50%\r::stop-commands::tok123\r\nrest\n").stopped());
        assert!(follow(b"x\n::stop-commands::tok123").stopped(), "a last line without its newline");
        assert!(!follow(b"::stop-commands::tok123\n::tok123::\n").stopped());
        // The rest of an overlong line is skipped, the next line read.
        let mut long = vec![b'x'; MAX_COMMAND_LINE + 10];
        long.extend_from_slice(b"\n::stop-commands::tok123\n");
        assert!(follow(&long).stopped());
        // A FIFO is not opened (nobody would write it).
        let fifo = dir.path().join("log.fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let mut state = annotations::CommandState::default();
        follow_log(&fifo, &mut state).unwrap();
        assert!(!state.stopped());
    }

    #[test]
    fn leakcheck_s_own_summary_can_stop_commands_too() {
        // A test name that holds an old-style stop command, printed in the summary on stderr.
        let mut report = RunReport::new(vec!["python3".into()], "/tmp/run".into());
        report.tests.push(crate::report::TestReport::new("test_x##[stop-commands]tok123".into(), "failed"));
        let outputs = Outputs { annotations: Some(AnnotationFormat::Github), ..Outputs::default() };
        let printed = report.render_text();
        let context = AnnotationContext { workspace: None, printed_before: &printed };
        let mut out = Vec::new();
        assert!(write_all(&mut report, &outputs, &context, &mut out).is_empty());
        // Its token runs to the end of the summary's line, spaces and all: no line gives it back.
        let out = String::from_utf8(out).unwrap();
        let (first, rest) = out.split_once('\n').unwrap();
        assert!(first.ends_with("GitHub does not show the annotations below"), "{out}");
        assert!(rest.starts_with("::error "), "{out}");
    }

    #[test]
    fn a_failing_writer_does_not_stop_the_others_which_carry_the_status_70() {
        let dir = tempfile::tempdir().unwrap();
        // No directory can be made under a regular file.
        std::fs::write(dir.path().join("not-a-dir"), "").unwrap();
        let mut report = RunReport::new(vec!["python3".into()], "/tmp/run".into());
        let outputs = Outputs {
            json: Some(dir.path().join("not-a-dir/r.json")),
            junit_xml: Some(dir.path().join("r.xml")),
            ..Outputs::default()
        };
        let errors = write_all(&mut report, &outputs, &AnnotationContext::default(), &mut io::sink());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].to_string().contains("JSON report"), "{}", errors[0]);
        assert_eq!(report.status.leakcheck_exit_code, ExitCode::INTERNAL);
        let junit = std::fs::read_to_string(dir.path().join("r.xml")).unwrap();
        assert!(junit.contains(r#"<property name="leakcheck_exit_code" value="70"/>"#), "{junit}");
    }

    #[test]
    fn a_file_that_fails_while_written_has_the_others_written_again() {
        // /dev/full takes the open and fails the write (ENOSPC), after the temporary files of
        // the others were written with status 0.
        let dir = tempfile::tempdir().unwrap();
        let mut report = RunReport::new(vec!["python3".into()], "/tmp/run".into());
        report.tests.push(crate::report::TestReport::new("test_x".into(), "failed"));
        let outputs = Outputs {
            json: Some(dir.path().join("r.json")),
            junit_xml: Some(PathBuf::from("/dev/full")),
            issue_draft_dir: Some(dir.path().join("drafts")),
            ..Outputs::default()
        };
        let errors = write_all(&mut report, &outputs, &AnnotationContext::default(), &mut io::sink());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].source.raw_os_error(), Some(libc::ENOSPC), "{}", errors[0]);
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
        assert_eq!(json["status"]["leakcheck_exit_code"], 70);
        let draft = std::fs::read_to_string(dir.path().join("drafts/test_x.md")).unwrap();
        assert!(draft.contains("leakcheck exit code 70"), "{draft}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file left");
    }

    #[test]
    fn a_finding_s_status_stays_when_a_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("not-a-dir"), "").unwrap();
        let mut report = RunReport::new(vec!["python3".into()], "/tmp/run".into());
        report.status.leakcheck_exit_code = ExitCode::LEAK_NOT_REPORTED;
        let outputs = Outputs {
            json: Some(dir.path().join("r.json")),
            junit_xml: Some(dir.path().join("not-a-dir/r.xml")),
            ..Outputs::default()
        };
        assert_eq!(write_all(&mut report, &outputs, &AnnotationContext::default(), &mut io::sink()).len(), 1);
        assert_eq!(report.status.leakcheck_exit_code, ExitCode::LEAK_NOT_REPORTED);
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
        assert_eq!(json["status"]["leakcheck_exit_code"], 101);
    }

    /// The files of `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    fn write_drafts(dir: &Path, failed: &[&str]) -> Vec<WriteError> {
        let mut report = RunReport::new(vec!["python3".into()], "/tmp/run".into());
        for name in failed {
            report.tests.push(crate::report::TestReport::new((*name).into(), "failed"));
        }
        let outputs = Outputs { issue_draft_dir: Some(dir.to_owned()), ..Outputs::default() };
        write_all(&mut report, &outputs, &AnnotationContext::default(), &mut io::sink())
    }

    #[test]
    fn the_draft_directory_is_made_also_when_nothing_failed() {
        let dir = tempfile::tempdir().unwrap();
        let drafts = dir.path().join("a/drafts");
        assert!(write_drafts(&drafts, &[]).is_empty());
        assert_eq!(listing(&drafts), [DRAFT_LIST]);
    }

    #[test]
    fn only_the_drafts_an_earlier_run_wrote_unchanged_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let drafts = dir.path().join("drafts");
        assert!(write_drafts(&drafts, &["test_a", "test_b", "test_c", "test_d"]).is_empty());
        assert_eq!(listing(&drafts), [DRAFT_LIST, "test_a.md", "test_b.md", "test_c.md", "test_d.md"]);
        // Someone edits one draft, replaces another with a link, and adds files of their own.
        std::fs::write(drafts.join("test_b.md"), "# kept: edited\n").unwrap();
        let elsewhere = dir.path().join("elsewhere.md");
        std::fs::rename(drafts.join("test_c.md"), &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, drafts.join("test_c.md")).unwrap();
        std::fs::write(drafts.join("notes.md"), "mine").unwrap();
        std::fs::copy(drafts.join("test_d.md"), drafts.join("copy.md")).unwrap();

        assert!(write_drafts(&drafts, &["test_d", "test_e"]).is_empty());
        assert_eq!(
            listing(&drafts),
            [DRAFT_LIST, "copy.md", "notes.md", "test_b.md", "test_c.md", "test_d.md", "test_e.md"],
            "test_a.md removed; test_d.md written again"
        );
        assert_eq!(std::fs::read_to_string(drafts.join("test_b.md")).unwrap(), "# kept: edited\n");
        assert!(elsewhere.exists(), "a link is not followed");
        let list = std::fs::read_to_string(drafts.join(DRAFT_LIST)).unwrap();
        let listed: Vec<&str> = list.lines().skip(1).filter_map(|l| l.rsplit(' ').next()).collect();
        assert_eq!(listed, ["test_d.md", "test_e.md"], "{list}");

        // A list naming what is no draft of the directory removes nothing of it, whatever its
        // checksum: another directory's file, a dot file.
        let outside = dir.path().join("outside.md");
        std::fs::write(&outside, "x").unwrap();
        std::fs::write(drafts.join(".hidden.md"), "x").unwrap();
        let crc = crc32fast::hash(b"x");
        let forged = format!("{DRAFT_LIST_HEADER}\n{crc:08x} 1 ../outside.md\n{crc:08x} 1 .hidden.md\n");
        std::fs::write(drafts.join(DRAFT_LIST), forged).unwrap();
        assert!(write_drafts(&drafts, &[]).is_empty());
        assert!(outside.exists());
        assert!(drafts.join(".hidden.md").exists());
        // Nor does a list without leakcheck's header.
        std::fs::write(drafts.join("notes.md"), "mine").unwrap();
        let crc = crc32fast::hash(b"mine");
        std::fs::write(drafts.join(DRAFT_LIST), format!("{crc:08x} 4 notes.md\n")).unwrap();
        assert!(write_drafts(&drafts, &[]).is_empty());
        assert!(drafts.join("notes.md").exists());
    }
}
