//! Writing the report files a run asked for (`--json`, `--junit-xml`, `--issue-draft`) and the
//! annotation lines (`--annotations github`). Each writer is independent: one that fails (a
//! directory that does not exist, a full disk) does not stop the others; the caller gets every
//! error back and decides the exit status.
//!
//! Files are replaced atomically (a temporary file in the same directory, then a rename), so a
//! reader never sees half a report, even when leakcheck is killed while writing.

use std::io::Write;
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
        if let Err(source) = report.write_json(path) {
            errors.push(WriteError { what: "JSON report", path: path.clone(), source });
        }
    }
    if let Some(path) = &outputs.junit_xml {
        if let Err(source) = write_atomically(path, |out| junit::write_junit(report, out)) {
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
            write_atomically(&path, |out| out.write_all(d.markdown.as_bytes())).err().map(|source| WriteError {
                what: "issue draft",
                path,
                source,
            })
        })
        .collect()
}

/// Write `path` through a temporary file in its directory, synced, then renamed over it.
fn write_atomically(path: &Path, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new().prefix(".leakcheck-").tempfile_in(dir)?;
    let mut out = std::io::BufWriter::new(tmp);
    fill(&mut out)?;
    let tmp = out.into_inner().map_err(|e| e.into_error())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_no_temporary_file_behind_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.xml");
        let err = write_atomically(&path, |_| Err(std::io::Error::other("boom"))).unwrap_err();
        assert_eq!(err.to_string(), "boom");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_atomically(&path, |out| out.write_all(b"<x/>")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"<x/>");
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
