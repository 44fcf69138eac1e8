//! Writing the report files a run asked for (`--json`, `--junit-xml`, `--issue-draft`) and the
//! annotation lines (`--annotations github`). Each writer is independent: one that fails (a
//! directory that does not exist, a full disk) does not stop the others; the caller gets every
//! error back, and the status to exit with in the report, which the files written carry too.
//! A report that cannot be written where asked is written into the run directory instead
//! ([`FALLBACK_NAMES`]), and its error says where: a long run's report is not lost to a disk
//! that filled up or a directory removed while the command ran. [`check_all`] finds the usual
//! failures (a file where a directory should be, a directory given as the file, no permission)
//! before the command starts.
//!
//! Report files are ordinary output files: a new one gets mode `0666` less the umask, a file
//! replaced keeps its mode, and a path that is a symbolic link writes the file the link names.
//! A regular file (or one not there yet) is replaced atomically (a temporary file in the same
//! directory, then a rename), so a reader never sees half a report, even when leakcheck is
//! killed while writing. Anything else (a FIFO, a terminal, `/dev/stdout` and the other names
//! of an open descriptor) is written in place, appended to: replacing it would detach it from
//! whoever holds it open. A name of one of leakcheck's own descriptors (`/dev/stdout`,
//! `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`) is written through that descriptor itself
//! (see [`open_output`]), never opened again.
//!
//! The `--issue-draft` directory is created in every run, and is leakcheck's in part only: the
//! drafts it wrote there are listed in [`DRAFT_LIST`], and a run first removes the drafts of an
//! earlier one that it does not write again, when they are still as written; nothing else.
//! Its files are written as themselves: a symbolic link found there in a draft's name is
//! replaced by the draft, not followed.

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
    /// Builder and branch named in issue titles: `Some("")` when a flag named none
    /// (`--builder ''`), whatever the environment says; `None` when neither flag nor
    /// environment named one.
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
#[derive(Debug)]
pub struct WriteError {
    pub what: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
    /// Where the report was written instead, in the run directory, when it was tried.
    pub instead: Option<Instead>,
    /// What to write instead; `None` for what has no copy (removing an earlier draft).
    lost: Option<Lost>,
}

impl WriteError {
    fn new(what: &'static str, path: PathBuf, source: io::Error, lost: Option<Lost>) -> WriteError {
        WriteError { what, path, source, instead: None, lost }
    }
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "writing the {} {}: {}", self.what, self.path.display(), self.source)?;
        match &self.instead {
            None => Ok(()),
            Some(Instead::Written(path)) => write!(f, "; written to {} instead", path.display()),
            Some(Instead::Failed(path, err)) => {
                write!(f, "; writing it to {} instead failed too: {err}", path.display())
            }
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Where a report that could not be written where asked went instead.
#[derive(Debug)]
pub enum Instead {
    /// Written there (a file, or the directory of the drafts).
    Written(PathBuf),
    /// Not written there either, for this reason.
    Failed(PathBuf, io::Error),
}

/// What a [`WriteError`] lost, to write elsewhere.
#[derive(Debug, Clone, Copy)]
enum Lost {
    File(Content),
    /// Every draft: their directory could not be made.
    Drafts,
}

/// The names, in the run directory, of the copies of reports that could not be written where
/// asked: the JSON report, the JUnit XML report, and the directory of the drafts (without
/// their list, which only means something in the directory asked for).
pub const FALLBACK_NAMES: Fallbacks =
    Fallbacks { json: "report.json", junit_xml: "junit.xml", issue_drafts: "issue-drafts" };

/// See [`FALLBACK_NAMES`].
#[derive(Debug, Clone, Copy)]
pub struct Fallbacks {
    pub json: &'static str,
    pub junit_xml: &'static str,
    pub issue_drafts: &'static str,
}

/// Check, before the command starts, that every report file `outputs` names can be written at
/// the end, by the rules the writers follow: the directories made if missing (`mkdir -p`, as
/// the writers make them; the `--issue-draft` directory itself too, which every run makes),
/// a directory refused as a report file, and a file that will be replaced checked by making
/// and removing a temporary file next to it, as the writer makes one. No report file is made
/// or touched: an existing one is left as it is, a missing one still missing. A file written
/// in place (a FIFO, a terminal, `/dev/stdout`) is checked for write permission only: opening
/// a FIFO and closing it would end its reader's input. Returns what fails, in flag order.
pub fn check_all(outputs: &Outputs) -> Vec<WriteError> {
    let mut errors = Vec::new();
    for (what, path, content) in
        [("JSON report", &outputs.json, Content::Json), ("JUnit XML report", &outputs.junit_xml, Content::Junit)]
    {
        let Some(path) = path else { continue };
        let checked = place(path).and_then(|place| match place {
            Place::InPlace(path) => nix::unistd::access(&path, nix::unistd::AccessFlags::W_OK).map_err(io::Error::from),
            Place::Replace { dir, .. } => temporary_file(&dir).map(drop),
        });
        if let Err(source) = checked {
            errors.push(WriteError::new(what, path.clone(), source, Some(Lost::File(content))));
        }
    }
    if let Some(dir) = &outputs.issue_draft_dir {
        if let Err(source) = make_dirs(dir).and_then(|()| temporary_file(dir).map(drop)) {
            errors.push(WriteError::new("issue draft directory", dir.clone(), source, Some(Lost::Drafts)));
        }
    }
    errors
}

/// `err`, from making the directory `dir` (and its parents) or from opening a file in it, with
/// the real problem named when a part of `dir` is no directory: mkdir says "File exists"
/// (EEXIST) and open "Not a directory" (ENOTDIR), neither saying which part. The first part
/// of `dir` that exists and is no directory (a regular file) is named: `PART is not a
/// directory`. Any other error is returned as it is.
pub fn not_a_directory(dir: &Path, err: io::Error) -> io::Error {
    if !matches!(err.raw_os_error(), Some(libc::EEXIST | libc::ENOTDIR)) {
        return err;
    }
    let mut parts: Vec<&Path> = dir.ancestors().filter(|part| !part.as_os_str().is_empty()).collect();
    parts.reverse();
    for part in parts {
        match std::fs::metadata(part) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return io::Error::new(io::ErrorKind::NotADirectory, format!("{} is not a directory", part.display()))
            }
            Err(_) => break,
        }
    }
    err
}

/// `mkdir -p dir` (0777 the umask narrows, as mkdir(1) makes them), a part that is no
/// directory named ([`not_a_directory`]).
pub fn make_dirs(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir).map_err(|err| not_a_directory(dir, err))
}

/// A new temporary file in `dir`, as a report is written before its rename (0666 the umask
/// narrows, as open(2) would create the report itself); removed when dropped.
fn temporary_file(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new().prefix(".leakcheck-").permissions(Permissions::from_mode(0o666)).tempfile_in(dir)
}

/// Write every output `outputs` names; returns what failed. A report file that cannot be
/// written makes the status 70 where it would be 0 ([`ExitCode::INTERNAL`]), and the files
/// that are written say so: `report.status.leakcheck_exit_code` is updated and is the status to
/// exit with. Annotations go to `annotation_out`, last (see [`AnnotationContext`]).
///
/// A report that could not be written is then written into `run_dir`, when given (the run's
/// own directory, which exists: not one that could not be made), under its [`FALLBACK_NAMES`],
/// with the status settled; its error says where ([`WriteError::instead`]). The status stays
/// as above: the report is not where it was asked for.
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
    run_dir: Option<&Path>,
    context: &AnnotationContext<'_>,
    annotation_out: &mut dyn Write,
) -> Vec<WriteError> {
    let errors = write_files(report, outputs, run_dir);
    write_annotations_asked(report, outputs, context, annotation_out);
    errors
}

/// The annotations `outputs` asks for, if any, to `out` ([`write_all`]'s last step).
pub fn write_annotations_asked(
    report: &RunReport,
    outputs: &Outputs,
    context: &AnnotationContext<'_>,
    out: &mut dyn Write,
) {
    if let Some(AnnotationFormat::Github) = outputs.annotations {
        write_annotations(report, context, out);
    }
}

/// Every report file `outputs` names, as [`write_all`] writes them, without the annotations:
/// for a caller that prints between the two (`main` prints the summary after the files, so
/// that a stderr nobody reads cannot keep them from being written).
pub fn write_files(report: &mut RunReport, outputs: &Outputs, run_dir: Option<&Path>) -> Vec<WriteError> {
    let mut errors = Vec::new();
    let mut drafts = Drafts::new(report, outputs);
    let mut files = open_files(outputs, &drafts, &mut errors);
    settle_status(report, &errors);
    fill_files(report, outputs, &mut drafts, &mut files, &mut errors);
    for file in files {
        if let Err(source) = file.target.commit() {
            errors.push(WriteError::new(file.what, file.path, source, Some(Lost::File(file.content))));
        }
    }
    settle_status(report, &errors);
    if let Some(run_dir) = run_dir {
        write_instead(report, outputs, &mut drafts, run_dir, &mut errors);
    }
    errors
}

/// Write what each of `errors` lost into `run_dir` ([`FALLBACK_NAMES`]) and record where.
fn write_instead(
    report: &RunReport,
    outputs: &Outputs,
    drafts: &mut Drafts,
    run_dir: &Path,
    errors: &mut [WriteError],
) {
    let drafts_dir = run_dir.join(FALLBACK_NAMES.issue_drafts);
    for err in errors {
        let (target, files) = match err.lost {
            None | Some(Lost::File(Content::DraftList)) => continue,
            Some(Lost::File(content @ Content::Json)) => {
                let path = run_dir.join(FALLBACK_NAMES.json);
                (path.clone(), vec![(path, content)])
            }
            Some(Lost::File(content @ Content::Junit)) => {
                let path = run_dir.join(FALLBACK_NAMES.junit_xml);
                (path.clone(), vec![(path, content)])
            }
            Some(Lost::File(content @ Content::Draft(index))) => {
                let Some(draft) = drafts.drafts.get(index) else { continue };
                let path = drafts_dir.join(&draft.file_name);
                (path.clone(), vec![(path, content)])
            }
            Some(Lost::Drafts) => {
                let files =
                    drafts.drafts.iter().enumerate().map(|(i, d)| (drafts_dir.join(&d.file_name), Content::Draft(i)));
                (drafts_dir.clone(), files.collect())
            }
        };
        // The drafts' directory also when there are none, as `--issue-draft` makes its own.
        let made = if matches!(err.lost, Some(Lost::Drafts)) { make_dirs(&drafts_dir) } else { Ok(()) };
        let written = made.and_then(|()| {
            files.into_iter().try_for_each(|(path, content)| write_one(report, outputs, drafts, &path, content))
        });
        err.instead = Some(match written {
            Ok(()) => Instead::Written(target),
            Err(source) => Instead::Failed(target, source),
        });
    }
}

/// Write the report file `path` with `content`, whole.
fn write_one(
    report: &RunReport,
    outputs: &Outputs,
    drafts: &mut Drafts,
    path: &Path,
    content: Content,
) -> io::Result<()> {
    let mut file =
        ReportFile { what: "", path: path.to_owned(), content, target: Target::open(path)?, written_with: None };
    file.fill(report, outputs, drafts)?;
    file.target.commit()
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

/// Largest Python source [`read_python_source`] reads (CPython's largest test file,
/// `test_descr.py`, is under 250 KB).
const MAX_PYTHON_SOURCE: u64 = 4 << 20;

/// The text of the Python source file at `path`, as a frame of the child's output names it, for
/// the class of a test method in an issue title ([`draft::SourceReader`]): only an absolute path
/// ending in `.py` to a regular file of at most [`MAX_PYTHON_SOURCE`] bytes (the path is the
/// child's output: never a FIFO, whose open or read would wait, nor a device); invalid UTF-8 is
/// replaced. `None` when it cannot be read: the title then names the method without its class.
pub fn read_python_source(path: &str) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    if !path.starts_with('/') || !path.ends_with(".py") {
        return None;
    }
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_PYTHON_SOURCE {
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_PYTHON_SOURCE).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
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
            Some(_) => {
                draft::issue_drafts(report, outputs.builder.as_deref(), outputs.branch.as_deref(), &read_python_source)
            }
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
            Err(source) => errors.push(WriteError::new("earlier issue draft (removing it)", path, source, None)),
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
        match make_dirs(dir) {
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
            Err(source) => {
                errors.push(WriteError::new("issue draft directory", dir.clone(), source, Some(Lost::Drafts)));
            }
        }
    }
    let mut files: Vec<ReportFile> = wanted
        .into_iter()
        .map(|(what, path, content)| {
            let opened = match content {
                Content::Draft(_) | Content::DraftList => Target::open_draft(&path),
                Content::Json | Content::Junit => Target::open(&path),
            };
            (what, path, content, opened)
        })
        .filter_map(|(what, path, content, opened)| match opened {
            Ok(target) => Some(ReportFile { what, path, content, target, written_with: None }),
            Err(source) => {
                errors.push(WriteError::new(what, path, source, Some(Lost::File(content))));
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
                    errors.push(WriteError::new(file.what, file.path.clone(), source, Some(Lost::File(file.content))));
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

/// Where a report file will be written, its directories made.
enum Place {
    /// Written in place: a FIFO, a terminal, a descriptor's name.
    InPlace(PathBuf),
    /// A regular file replaced (keeping its mode), or made: through a temporary file in `dir`.
    Replace { path: PathBuf, dir: PathBuf, keep_mode: Option<Permissions> },
}

/// Where the report file `path` will be written, its symbolic links followed; the directories
/// it needs made. The rules both [`check_all`] and the writers follow.
fn place(path: &Path) -> io::Result<Place> {
    let path = match follow_links(path)? {
        Followed::Descriptor(path) => return Ok(Place::InPlace(path)),
        Followed::File(path) => path,
    };
    let dir = directory_of(&path).to_owned();
    let keep_mode = match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => {
            return Err(io::Error::new(io::ErrorKind::IsADirectory, format!("{} is a directory", path.display())))
        }
        Ok(meta) if !meta.is_file() => return Ok(Place::InPlace(path)),
        Ok(meta) => Some(meta.permissions()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(not_a_directory(&dir, err)),
    };
    if keep_mode.is_none() {
        // A report asked for in a directory not made yet (`--json build/leaks/r.json`) is
        // written there, as `--issue-draft` makes its directory (and pytest's --junitxml
        // its file's): a long run is not lost to a missing directory.
        make_dirs(&dir)?;
    }
    Ok(Place::Replace { path, dir, keep_mode })
}

/// The directory `path` is in: `.` for a bare file name.
fn directory_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

impl Target {
    fn open(path: &Path) -> io::Result<Target> {
        match place(path)? {
            Place::InPlace(path) => in_place(&path),
            Place::Replace { path, dir, keep_mode } => Target::replacing(path, &dir, keep_mode),
        }
    }

    /// A file of the draft directory, `path` itself: a symbolic link (or anything else but a
    /// directory) found there is replaced, not followed. The directory holds the drafts alone,
    /// and a link planted in it must not make leakcheck replace a file elsewhere.
    fn open_draft(path: &Path) -> io::Result<Target> {
        let keep_mode = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => return Err(io::Error::from(io::ErrorKind::IsADirectory)),
            Ok(meta) if meta.is_file() => Some(meta.permissions()),
            Ok(_) => None,
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(err),
        };
        let dir = directory_of(path);
        if keep_mode.is_none() {
            make_dirs(dir)?;
        }
        Target::replacing(path.to_owned(), dir, keep_mode)
    }

    /// A temporary file in `dir` that will replace `path`, with the mode `keep_mode` (the
    /// file's replaced) or a new file's.
    fn replacing(path: PathBuf, dir: &Path, keep_mode: Option<Permissions>) -> io::Result<Target> {
        let tmp = temporary_file(dir)?;
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
    match own_descriptor(path) {
        Some(fd) => duplicate(fd).map(Target::InPlace),
        None => open_without_waiting(OpenOptions::new().append(true), path).map(Target::InPlace),
    }
}

/// Open the output file `path` with `options`, as [`open_without_waiting`] does, but for a name
/// of one of leakcheck's own descriptors (`/dev/stdout`, `/dev/stderr`, `/dev/fd/N`,
/// `/proc/self/fd/N`): that descriptor itself, duplicated, never truncated. Opening the name
/// again would make a second open file description with its own position (`> f`, not `>> f`):
/// what leakcheck writes through the descriptor itself (the command's output, the summary,
/// annotations) and through the new one would overwrite each other.
pub fn open_output(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    match own_descriptor(path) {
        Some(fd) => duplicate(fd),
        None => open_without_waiting(options, path),
    }
}

/// The descriptor of this process that `path` names, through its symbolic links
/// (`/dev/stdout` -> `/proc/self/fd/1`), if it names one that is open.
fn own_descriptor(path: &Path) -> Option<std::os::fd::RawFd> {
    let Ok(Followed::Descriptor(path)) = follow_links(path) else { return None };
    let dir = std::fs::canonicalize(path.parent()?).ok()?;
    if dir != Path::new("/proc").join(std::process::id().to_string()).join("fd") {
        return None;
    }
    let fd: std::os::fd::RawFd = path.file_name()?.to_str()?.parse().ok()?;
    // SAFETY: F_GETFL only reads the descriptor's flags (-1 for a number not open).
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // One open for reading only is opened again, for appending, as any other name.
    (flags >= 0 && flags & libc::O_ACCMODE != libc::O_RDONLY).then_some(fd)
}

/// A new descriptor of the open file description `fd` has (its position shared), close-on-exec.
fn duplicate(fd: std::os::fd::RawFd) -> io::Result<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: F_DUPFD_CLOEXEC makes a new descriptor, which the File then owns alone.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh descriptor nothing else owns.
    Ok(unsafe { File::from_raw_fd(new) })
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

    /// A frame's source is read only from a regular `.py` file named by an absolute path: a
    /// FIFO of that name is refused at once (its open and read would wait for a writer).
    #[test]
    fn python_sources_are_regular_py_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("test_x.py");
        std::fs::write(&source, b"class T:\n    def test_a(self): pass\n\xff").unwrap();
        let text = read_python_source(source.to_str().unwrap()).expect("the source");
        assert!(text.starts_with("class T:") && text.ends_with('\u{fffd}'), "{text:?}");
        let fifo = dir.path().join("test_fifo.py");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(read_python_source(fifo.to_str().unwrap()), None);
        let not_py = dir.path().join("test_x.txt");
        std::fs::write(&not_py, b"class T: pass\n").unwrap();
        assert_eq!(read_python_source(not_py.to_str().unwrap()), None);
        assert_eq!(read_python_source("test_x.py"), None, "a relative path");
        assert_eq!(read_python_source("/nonexistent/test_x.py"), None);
        assert_eq!(read_python_source(dir.path().join("d.py").to_str().unwrap()), None, "missing");
    }

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

        // One of this process's own descriptors open for writing (`> f` on stdout): written
        // through that descriptor, its position shared, so that what is written through it
        // after the report follows the report instead of overwriting it; the log too, never
        // truncated.
        let mut held = OpenOptions::new().write(true).open(&path).unwrap();
        held.seek(io::SeekFrom::End(0)).unwrap();
        let name = PathBuf::from(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&held)));
        write_file(&name, |out| out.write_all(b"second\n")).unwrap();
        held.write_all(b"after\n").unwrap();
        let mut log = open_output(OpenOptions::new().write(true).truncate(true), &name).unwrap();
        log.write_all(b"logged\n").unwrap();
        held.write_all(b"last\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "before\nreport\nsecond\nafter\nlogged\nlast\n");
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
        assert!(write_all(&mut report, &outputs, None, &context, &mut out).is_empty());
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
        let errors = write_all(&mut report, &outputs, None, &AnnotationContext::default(), &mut io::sink());
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
        let errors = write_all(&mut report, &outputs, None, &AnnotationContext::default(), &mut io::sink());
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
        assert_eq!(write_all(&mut report, &outputs, None, &AnnotationContext::default(), &mut io::sink()).len(), 1);
        assert_eq!(report.status.leakcheck_exit_code, ExitCode::LEAK_NOT_REPORTED);
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
        assert_eq!(json["status"]["leakcheck_exit_code"], 101);
    }

    /// The check before the run makes the directories a report needs, but no report file, and
    /// names what is wrong as the writers would meet it.
    #[test]
    fn the_check_makes_directories_but_no_report_file() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name);
        std::fs::write(at("old.xml"), "old").unwrap();
        let outputs = Outputs {
            json: Some(at("a/b/r.json")),
            junit_xml: Some(at("old.xml")),
            issue_draft_dir: Some(at("d/e")),
            ..Outputs::default()
        };
        assert!(check_all(&outputs).is_empty());
        assert_eq!(listing(dir.path()), ["a", "d", "old.xml"]);
        assert!(listing(&at("a/b")).is_empty(), "no report file, no temporary file");
        assert!(listing(&at("d/e")).is_empty());
        assert_eq!(std::fs::read_to_string(at("old.xml")).unwrap(), "old");

        std::fs::write(at("f"), "").unwrap();
        let not_a_dir = format!("{} is not a directory", at("f").display());
        let outputs = Outputs {
            json: Some(at("f/r.json")),
            junit_xml: Some(at("a")),
            issue_draft_dir: Some(at("f/g/drafts")),
            ..Outputs::default()
        };
        let errors = check_all(&outputs);
        let said: Vec<(&str, String)> = errors.iter().map(|e| (e.what, e.source.to_string())).collect();
        assert_eq!(
            said,
            [
                ("JSON report", not_a_dir.clone()),
                ("JUnit XML report", format!("{} is a directory", at("a").display())),
                ("issue draft directory", not_a_dir.clone()),
            ]
        );
        let outputs = Outputs { issue_draft_dir: Some(at("f")), ..Outputs::default() };
        assert_eq!(check_all(&outputs)[0].source.to_string(), not_a_dir);
        // Written in place: permission only, the FIFO not opened (nobody reads it yet).
        let fifo = at("r.fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let outputs = Outputs { json: Some(fifo), junit_xml: Some(PathBuf::from("/dev/full")), ..Outputs::default() };
        assert!(check_all(&outputs).is_empty());
    }

    /// A report that cannot be written where asked goes into the run directory, with the status
    /// settled, and its error says where; or that it could not go there either.
    #[test]
    fn a_report_that_fails_is_written_into_the_run_directory() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("run");
        std::fs::create_dir(&run_dir).unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "").unwrap();
        let report = || {
            let mut report = RunReport::new(vec!["python3".into()], run_dir.display().to_string());
            report.tests.push(crate::report::TestReport::new("test_x".into(), "failed"));
            report
        };
        let outputs = Outputs {
            json: Some(file.join("r.json")),
            junit_xml: Some(PathBuf::from("/dev/full")),
            issue_draft_dir: Some(file.join("drafts")),
            ..Outputs::default()
        };
        let mut written = report();
        let errors = write_all(&mut written, &outputs, Some(&run_dir), &AnnotationContext::default(), &mut io::sink());
        assert_eq!(written.status.leakcheck_exit_code, ExitCode::INTERNAL);
        let instead: Vec<&Path> = errors
            .iter()
            .map(|e| match &e.instead {
                Some(Instead::Written(path)) => path.as_path(),
                other => panic!("{e}: {other:?}"),
            })
            .collect();
        let drafts = run_dir.join("issue-drafts");
        assert_eq!(instead, [drafts.as_path(), &run_dir.join("report.json"), &run_dir.join("junit.xml")]);
        assert_eq!(
            errors[1].to_string(),
            format!(
                "writing the JSON report {}: {} is not a directory; written to {} instead",
                file.join("r.json").display(),
                file.display(),
                run_dir.join("report.json").display()
            )
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run_dir.join("report.json")).unwrap()).unwrap();
        assert_eq!(json["status"]["leakcheck_exit_code"], 70);
        let junit = std::fs::read_to_string(run_dir.join("junit.xml")).unwrap();
        assert!(junit.contains(r#"<property name="leakcheck_exit_code" value="70"/>"#), "{junit}");
        assert_eq!(listing(&drafts), ["test_x.md"]);
        assert!(std::fs::read_to_string(drafts.join("test_x.md")).unwrap().contains("leakcheck exit code 70"));

        // Without a usable run directory: said, and the status as before.
        let mut written = report();
        let errors = write_all(&mut written, &outputs, Some(&file), &AnnotationContext::default(), &mut io::sink());
        assert_eq!(written.status.leakcheck_exit_code, ExitCode::INTERNAL);
        let said = errors[1].to_string();
        assert!(
            said.ends_with(&format!(
                "writing it to {} instead failed too: {} is not a directory",
                file.join("report.json").display(),
                file.display()
            )),
            "{said}"
        );
        // Without a run directory, nothing more is tried.
        let errors = write_all(&mut report(), &outputs, None, &AnnotationContext::default(), &mut io::sink());
        assert!(errors.iter().all(|e| e.instead.is_none()));
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
        write_all(&mut report, &outputs, None, &AnnotationContext::default(), &mut io::sink())
    }

    #[test]
    fn the_draft_directory_is_made_also_when_nothing_failed() {
        let dir = tempfile::tempdir().unwrap();
        let drafts = dir.path().join("a/drafts");
        assert!(write_drafts(&drafts, &[]).is_empty());
        assert_eq!(listing(&drafts), [DRAFT_LIST]);
    }

    /// A symbolic link planted in the draft directory in a draft's name, or the list's, is
    /// replaced by the draft: the file it names, outside the directory, is left alone.
    #[test]
    fn drafts_replace_links_planted_in_their_directory_instead_of_following_them() {
        let dir = tempfile::tempdir().unwrap();
        let drafts = dir.path().join("drafts");
        std::fs::create_dir(&drafts).unwrap();
        for victim in ["victim", "victim-list"] {
            std::fs::write(dir.path().join(victim), "VICTIM\n").unwrap();
        }
        std::os::unix::fs::symlink("../victim", drafts.join("test_a.md")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("victim-list"), drafts.join(DRAFT_LIST)).unwrap();
        assert!(write_drafts(&drafts, &["test_a"]).is_empty());
        for victim in ["victim", "victim-list"] {
            assert_eq!(std::fs::read_to_string(dir.path().join(victim)).unwrap(), "VICTIM\n", "{victim}");
        }
        for name in ["test_a.md", DRAFT_LIST] {
            let meta = std::fs::symlink_metadata(drafts.join(name)).unwrap();
            assert!(meta.is_file(), "{name} is a file of its own now");
        }
        assert!(std::fs::read_to_string(drafts.join("test_a.md")).unwrap().contains("test_a"));
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
