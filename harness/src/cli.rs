//! Command-line flags (what the user typed, [`Args`]) and the resolved run configuration
//! ([`Config`]). Knows nothing of processes.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::launch::profile::Profile;
use crate::launch::sanitizers::{Choice, Runtime, Selection};
use crate::outputs::{AnnotationFormat, Outputs};

const ABOUT: &str = "Run a command (typically `python -m test -R 3:3 ...`) and report, per test, \
the memory leaked per repetition in each of CPython's allocator domains (raw, mem, obj).";

const LONG_ABOUT: &str = "Run a command (typically `python -m test -R 3:3 ...`) exactly as it would \
run on its own - same output, same order, same exit status - and report, per regrtest test, how many \
blocks and bytes stayed alive per counted -R repetition in each of CPython's three allocator domains: \
raw (PyMem_RawMalloc, which regrtest's own check cannot see), mem (PyMem_Malloc) and obj \
(PyObject_Malloc).\n\n\
A preload library (LD_PRELOAD) wraps the allocators with PyMem_SetAllocator, like tracemalloc, in \
the processes that run regrtest's -R driver, and takes its measurements at the very point where \
regrtest takes its own. It works with -j N workers and with -E. During a test's counted repetitions \
it also records each allocation's native stack and Python line, so that a leak reads as the C \
function and line (and the Python line) that allocated it.\n\n\
While the command runs, leakcheck watches for hangs and deadlocks (diagnosed from the stuck \
threads' stacks, then ended; a deadlock among threads of a process whose main thread goes on is \
reported as a finding of its test, and nothing is ended), reads AddressSanitizer, LeakSanitizer, MemorySanitizer, UBSan and \
ThreadSanitizer reports from the output, and at the end writes the text summary, and the JSON, \
JUnit XML, issue drafts and annotations asked for. The summary's verdict words are coloured only \
when stderr is a terminal, and never with NO_COLOR set or TERM=dumb.";

/// `leakcheck [OPTIONS] -- COMMAND [ARGS]...`
#[derive(Debug, Parser)]
#[command(name = "leakcheck", version, about = ABOUT, long_about = LONG_ABOUT)]
#[command(after_help = crate::exit::help_text())]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
#[command(override_usage = "leakcheck [OPTIONS] -- <COMMAND>...\n       leakcheck symbolize [OPTIONS] [LOG]")]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,

    /// Write the JSON report (schema in docs/report.md) to PATH. Every report path is checked
    /// before the command starts (directories made if missing; a directory as the file, a file
    /// where a directory should be or no write permission: exit 70, the command not run); a
    /// report that still cannot be written at the end is written into the run directory
    /// instead (report.json, junit.xml, issue-drafts/), and the error names it. /dev/stdout is
    /// written in place, after all of the command's own stdout and before the annotations.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Write a JUnit XML report to PATH: one testcase per regrtest test, and one per unittest
    /// method the output names (all with -v, else the failing ones); leaks, sanitizer findings,
    /// hangs and test failures as failures with their details, one failure per testcase naming
    /// each of its problems ("env changed" only where regrtest fails the run on it:
    /// --fail-env-changed, --slow-ci, --fast-ci). The run's own problems fail a testcase `run`:
    /// the command did not start, was killed or interrupted, or exited non-zero with no failing
    /// testcase to explain it (a usage error, regrtest's own KeyboardInterrupt). Not the file of
    /// regrtest's own --junit-xml in the command (nor may --log or --json be that file).
    #[arg(long, value_name = "PATH")]
    pub junit_xml: Option<PathBuf>,

    /// Write one Markdown issue draft per failing test into DIR, titled as CPython's buildbot
    /// triage guide asks: `test_x: TestClass.test_foo fails on BUILDER BRANCH` (several methods
    /// of one class: `test_x: TestClass fails (3 methods) on ...`; for a leak, `test_x leaks
    /// PyMem_RawMalloc blocks on ...`; a hang's or crash's with the test method its Python stack
    /// shows: `test_x: TestClass.test_foo hangs on ...`; a class the output does not name is read
    /// off the method's source), and one for the hangs and findings
    /// no test owns (not for the run's other problems: a usage error is no CPython bug). DIR is
    /// created if missing, also when nothing failed. The drafts an earlier run wrote there
    /// (listed in DIR/.leakcheck-drafts.txt) are removed first, unless written again or changed
    /// since; no other file is touched. DIR holds the drafts alone: --log, --json, --junit-xml
    /// or --run-dir (or regrtest's own --junit-xml in the command) naming DIR or a file or
    /// directory in it is refused.
    #[arg(long, value_name = "DIR")]
    pub issue_draft: Option<PathBuf>,

    /// The builder named in issue drafts [default: $LEAKCHECK_BUILDER]; `--builder ''` names
    /// none, whatever the variable says.
    #[arg(long, value_name = "NAME")]
    pub builder: Option<String>,

    /// The branch named in issue drafts [default: $LEAKCHECK_BRANCH]; `--branch ''` names none.
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,

    /// Print annotations for leak sites, findings and hangs on standard output at the end:
    /// `github` writes GitHub Actions `::error file=..,line=..::` commands (paths relative to
    /// $GITHUB_WORKSPACE when under it), one per distinct leak site location of each leaking
    /// test (at most 5 per test, the last saying how many more; sites of objects recycled
    /// through CPython's free lists left out), finding, hang, test failure and failure of the
    /// run (as the JUnit testcase `run` has them).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub annotations: Option<AnnotationFormat>,

    /// Write the complete output of the command to PATH [default: RUN_DIR/output.log, mode
    /// 0600]. Made as the report files are (directories made if missing, a new file with 0666
    /// less the umask). Not the file of --json or --junit-xml.
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,

    /// Private run directory (created with mode 0700; must not exist yet)
    /// [default: a new leakcheck-* directory under $TMPDIR, /tmp when unset or empty].
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,

    /// Seconds between SIGTERM and SIGKILL when leakcheck ends the command's processes
    /// (after a forwarded SIGTERM, and for processes left behind: still alive 1 s, or the grace
    /// period if shorter, after the command exits). A forwarded SIGINT, SIGHUP or SIGQUIT is
    /// followed by SIGTERM this long after it, then SIGKILL as after SIGTERM; a second signal
    /// kills at once (the same signal again from the same process is no second one: GNU
    /// `timeout` sends its signal to leakcheck, then to its group). Each signal is followed by
    /// SIGCONT, so that a stopped process takes it.
    /// At an interactive terminal the command has the terminal while it runs: its Ctrl-C goes
    /// to the command alone, and Ctrl-Z stops the command and leakcheck (fg continues both).
    /// 0 to 3600.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub grace: f64,

    /// Do not preload the counting shim: run the command with regrtest's own checks only.
    #[arg(long)]
    pub no_shim: bool,

    /// Sanitizer runtime handling: `auto` detects it from the program's ELF (libasan in
    /// DT_NEEDED, __asan_init...; both asan and ubsan for -fsanitize=address,undefined, each
    /// with its options), a name forces it (e.g. `asan` on a plain interpreter that
    /// loads an instrumented extension: gcc's libasan is preloaded), `none` leaves the
    /// environment alone (reports are still read; with no runtime detected or forced, one
    /// naming a pid no process of the run had is text a test printed: not counted, a warning
    /// says so). ASAN_OPTIONS defaults to the buildbots'
    /// detect_leaks=0:allocator_may_return_null=1:handle_segv=0, merged with yours (yours win:
    /// read as the runtime reads them - any separator of ` ,:`, tab, newline, quotes, include=
    /// files - only the defaults you did not set go before your text, which is kept as it is).
    /// UBSAN_OPTIONS defaults to print_stacktrace=1:print_summary=1:report_error_type=1,
    /// merged the same way (stacks, and a SUMMARY line naming the check, the finding's kind;
    /// print_summary is left out when your ASAN/LSAN/MSAN/TSAN_OPTIONS set it and that runtime,
    /// ASAN for the first two, is detected or forced too: UBSan alone reads none of them).
    /// Only the command's program is read: with the shim preloaded and libasan not preloaded
    /// before it, verify_asan_link_order=0 is added to ASAN_OPTIONS (yours win) so that an ASAN
    /// program the command starts (make, a shell) is not aborted for the shim coming first.
    /// A plain Python that loads an extension built with -fsanitize=address does not get it:
    /// its libasan arrives too late to see any error, so it aborts ("ASan runtime does not come
    /// first") as without leakcheck, and a warning names `--sanitizer asan` (the process's
    /// os.environ and its children keep the flag; only its /proc/PID/environ loses it).
    /// Runtimes that share a process go together as a list: `asan,ubsan` for an extension
    /// built with -fsanitize=address,undefined on a plain interpreter (asan, msan and tsan
    /// exclude each other; `auto` and `none` stand alone).
    #[arg(long, value_enum, value_name = "RUNTIME", value_delimiter = ',', default_value = "auto")]
    pub sanitizer: Vec<Choice>,

    /// Settings of a kind of buildbot in one flag. `buildbot-asan`: CPython's ASAN buildbots -
    /// the ASAN runtime (unless --sanitizer says otherwise), their ASAN_OPTIONS, and their skip
    /// list passed to regrtest as `-x test___all__ test_capi ...` on a whole-suite run (added
    /// to an existing -x list; not applied when tests are named; with --testdir, regrtest 3.11
    /// ignores -x, 3.13 applies it). See --unskip.
    #[arg(long, value_enum, value_name = "PROFILE")]
    pub profile: Option<Profile>,

    /// Run TEST although the profile skips it (repeatable, or comma-separated; `all` keeps every
    /// test).
    #[arg(long, value_name = "TEST", value_delimiter = ',', requires = "profile")]
    pub unskip: Vec<String>,

    /// Count only: do not record where leaked blocks were allocated. Counting costs two plain
    /// stores per allocation and per free (1.03-1.07x the plain run time, measured); attribution adds,
    /// during a test's counted -R repetitions, a native stack capture and a Python frame read
    /// per allocation and a table update per free (1.35-1.5x the plain run time on test_list
    /// test_dict -R 3:3). Without sites a domain's verdict is regrtest's rule on its counts
    /// alone, also where the growth moved from site to site (`spread` needs the sites).
    #[arg(long)]
    pub no_attribution: bool,

    /// Seconds without output (regrtest's `running: ...` heartbeats do not count; bytes of a
    /// line not ended yet, such as `-R`'s marks, do) after which
    /// the processes running tests are inspected, reported as hung and ended; 0: never for
    /// silence alone. A `-j` worker's output is its own: the file regrtest gives it for its
    /// stdout and stderr growing, so a worker printing as it works is not hung, whatever the
    /// run prints. Deadlocks that can be proved (lock cycles, a mutex whose owner is gone) are
    /// reported within seconds, whatever this says (ended only when they hold the process's main
    /// thread, or it is blocked too: else the process goes on). A test in one `time.sleep`, or whose threads
    /// all wait with a timeout (`Event().wait(30)`, `select` with a timeout), that ends before
    /// buildbot's 1200 s no-output kill is left to wait (a report held back so says so), but
    /// not while another thread of its process is blocked with no timeout on a lock the sleeper
    /// is not shown to hold (its join, a mutex it owns). Default below that kill.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    pub hang_timeout: u64,

    /// Accept the leak sites FILE lists (LeakSanitizer's format: `leak:PATTERN` lines, `*`
    /// wildcards, `^`/`$` anchors), matched against the sites' C functions, source files and
    /// modules and their Python frames (function, file, FILE:LINE). A suppressed site is reported
    /// as such and does not make the run fail; regrtest's own verdicts are never suppressed.
    /// May be given more than once. Default: the files named in $LEAKCHECK_SUPPRESSIONS
    /// (separated by `:`), convenient in a buildbot worker's environment. Not applied with
    /// --no-attribution or --no-shim, which record no sites (a warning says so).
    #[arg(long, value_name = "FILE")]
    pub suppressions: Vec<PathBuf>,

    /// Return addresses recorded per allocation for attribution, 1 to 128. A leak site whose
    /// stack this cut inside CPython's allocator, before the code that asked for the memory, gets
    /// a note saying to raise it.
    #[arg(long, value_name = "FRAMES", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=128))]
    pub stack_depth: u32,

    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// Subcommands; without one, leakcheck runs the command after `--`.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Symbolize with leakcheck's own DWARF reader (no LLVM tools needed).
    ///
    /// `leakcheck symbolize [LOG]`: rewrite a sanitizer log (ASAN, LSan, MSAN, UBSan, TSan; a
    /// file saved off a buildbot, or standard input when LOG is `-` or missing) to standard
    /// output, every unsymbolized frame (`#3 0x7f12... (/usr/lib/libpython3.11d.so.1.0+0x1a2b3)`)
    /// replaced by its symbolized frames, inlined ones included, as asan_symbolize.py does.
    /// Other lines pass through unchanged; a GitHub Actions timestamp before a line
    /// (`2024-05-01T12:00:00.1234567Z `) is kept, and a note on stderr says when no frame line
    /// was found (bare carriage-return line ends are not line ends: `tr '\r' '\n'` first). The
    /// ELF files the frames name must be present on this machine; a frame whose
    /// `(BuildId: ...)` is not the file's (rebuilt since) is left as it was, which needs a log
    /// with build IDs (clang's runtimes print them, gcc 12's do not). Lines come out as they
    /// are read (a TSan report waits for its SUMMARY: line, a second at most once the input
    /// is quiet); SIGINT, SIGTERM and SIGHUP write out what was read, then end it.
    ///
    /// Separate debug files are looked for under /usr/lib/debug: by build ID
    /// (`.build-id/xx/rest.debug`) and by `.gnu_debuglink` (next to the file, in its `.debug/`,
    /// and under /usr/lib/debug/<the file's directory>/).
    ///
    /// `leakcheck symbolize --exe FILE`: read addresses of FILE (hex, one per line, 0x
    /// optional; ELF virtual addresses, i.e. runtime address minus load bias) from standard
    /// input and print, for each, its frames in llvm-symbolizer's --obj format: function, then
    /// file:line:column, inlined frames first, a blank line after each address. Unlike
    /// llvm-symbolizer, every number is hexadecimal, `0x` or not (llvm-symbolizer reads `1190`
    /// as decimal, `0755` as octal, `0b101` as binary; here it is 0xb101), `0o` octal is not
    /// read, and `FRAME ADDRESS` (local variables) is not answered: such a line, like any
    /// that is no address, is echoed.
    Symbolize(SymbolizeArgs),
}

#[derive(Debug, clap::Args)]
#[command(override_usage = "leakcheck symbolize [LOG]\n       leakcheck symbolize --exe <FILE> < ADDRESSES")]
pub struct SymbolizeArgs {
    /// The ELF file the addresses on standard input belong to.
    #[arg(long, value_name = "FILE", conflicts_with = "log")]
    pub exe: Option<PathBuf>,

    /// The sanitizer log to rewrite; `-` is standard input [default: standard input].
    #[arg(value_name = "LOG")]
    pub log: Option<PathBuf>,
}

/// What leakcheck was asked to do.
#[derive(Debug, Clone)]
pub enum Mode {
    Run(Box<Config>),
    /// Symbolize addresses of this ELF file read from standard input.
    SymbolizeAddresses {
        exe: PathBuf,
    },
    /// Rewrite a sanitizer log (standard input when `None`) with symbolized frames.
    SymbolizeLog {
        log: Option<PathBuf>,
    },
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub command: Vec<OsString>,
    /// The report files and annotations to write at the end.
    pub outputs: Outputs,
    pub log: Option<PathBuf>,
    pub run_dir: Option<PathBuf>,
    pub grace: Duration,
    pub shim: bool,
    /// Frames per allocation stack; 0 when attribution is off.
    pub stack_depth: u32,
    /// No-output time before a `no-progress` hang is declared; `None` (0): never. Provable
    /// deadlocks are reported whatever this is.
    pub hang_timeout: Option<Duration>,
    pub sanitizer: Selection,
    /// `--profile`, and the tests `--unskip` keeps.
    pub profile: Option<Profile>,
    pub unskip: Vec<String>,
    /// Accepted leak sites (`--suppressions`).
    pub suppressions: crate::suppress::Suppressions,
}

impl Args {
    /// What to do: a subcommand, or a run.
    pub fn mode(self) -> Result<Mode, String> {
        match self.action {
            Some(Action::Symbolize(SymbolizeArgs { exe: Some(exe), .. })) => Ok(Mode::SymbolizeAddresses { exe }),
            Some(Action::Symbolize(SymbolizeArgs { exe: None, log })) => {
                // `-` is standard input, as for other filters; a file of that name is `./-`.
                Ok(Mode::SymbolizeLog { log: log.filter(|path| path.as_os_str() != "-") })
            }
            None => self.resolve().map(|config| Mode::Run(Box::new(config))),
        }
    }

    /// Check the values clap cannot check and resolve defaults from the process environment.
    pub fn resolve(self) -> Result<Config, String> {
        self.resolve_with_env(|name| std::env::var(name).ok())
    }

    /// [`Args::resolve`] with the environment given as a function.
    pub fn resolve_with_env(self, env: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        if !(self.grace.is_finite() && (0.0..=3600.0).contains(&self.grace)) {
            return Err(format!("--grace must be between 0 and 3600 seconds, not {}", self.grace));
        }
        if self.command.first().is_none_or(|c| c.is_empty()) {
            return Err("no command given after `--`".into());
        }
        for (flag, path) in [("--json", &self.json), ("--junit-xml", &self.junit_xml)] {
            if path.as_deref() == Some(std::path::Path::new("-")) {
                return Err(format!("{flag} needs a file: standard output carries the command's own output"));
            }
        }
        // Two outputs on one file would overwrite each other (the report over the log), and a
        // file in the draft directory would be written, or removed, with the drafts.
        let files = [("--log", &self.log), ("--json", &self.json), ("--junit-xml", &self.junit_xml)];
        for (i, (flag, path)) in files.iter().enumerate() {
            let Some(path) = path else { continue };
            for (other, other_path) in &files[i + 1..] {
                if other_path.as_deref().is_some_and(|b| same_output(path, b)) {
                    return Err(format!(
                        "{flag} and {other} name the same file ({}): each needs its own",
                        crate::escape::for_terminal(&path.to_string_lossy())
                    ));
                }
            }
            if self.issue_draft.as_deref().is_some_and(|dir| in_directory(path, dir)) {
                return Err(format!(
                    "{flag} names the --issue-draft directory or a file in it ({}): the directory holds the \
                     drafts alone",
                    crate::escape::for_terminal(&path.to_string_lossy())
                ));
            }
        }
        // The run directory holds the log (output.log, the whole output, mode 0600): in the
        // drafts directory, which is published, it would be published with them.
        if let Some(run_dir) =
            self.run_dir.as_deref().filter(|r| self.issue_draft.as_deref().is_some_and(|d| in_directory(r, d)))
        {
            return Err(format!(
                "--run-dir names the --issue-draft directory or one in it ({}): the directory holds the drafts alone",
                crate::escape::for_terminal(&run_dir.to_string_lossy())
            ));
        }
        // Nor may regrtest's own JUnit XML (`python -m test --junit-xml FILE`), written relative
        // to the directory regrtest starts in, this one, be one of them.
        let argv: Vec<String> = self.command.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        if let Some(theirs) = crate::regrtest::junit_xml(&argv).map(PathBuf::from) {
            let shown = crate::escape::for_terminal(&theirs.to_string_lossy()).into_owned();
            for (flag, path) in files {
                if path.as_deref().is_some_and(|path| same_output(path, &theirs)) {
                    return Err(format!(
                        "{flag} names the file the command's own --junit-xml writes ({shown}): each needs its own"
                    ));
                }
            }
            if self.issue_draft.as_deref().is_some_and(|dir| in_directory(&theirs, dir)) {
                return Err(format!(
                    "the command's own --junit-xml names the --issue-draft directory or a file in it ({shown}): \
                     the directory holds the drafts alone"
                ));
            }
        }
        let sanitizer = Selection::from_choices(&self.sanitizer)?;
        let suppression_files = if self.suppressions.is_empty() {
            env("LEAKCHECK_SUPPRESSIONS")
                .map(|v| v.split(':').filter(|p| !p.is_empty()).map(PathBuf::from).collect())
                .unwrap_or_default()
        } else {
            self.suppressions
        };
        let suppressions = crate::suppress::Suppressions::load(&suppression_files)?;
        let (env_builder, env_branch) = crate::report::draft::builder_from_env(env);
        let outputs = Outputs {
            json: self.json,
            junit_xml: self.junit_xml,
            issue_draft_dir: self.issue_draft,
            // Trimmed, as the environment's; a flag given, even empty, overrides the environment
            // (`--builder ''`: no builder, whatever $LEAKCHECK_BUILDER says, kept as `Some("")`
            // so that the drafts do not advise setting the variable the user overrode).
            builder: match self.builder {
                Some(given) => Some(given.trim().to_owned()),
                None => env_builder,
            },
            branch: match self.branch {
                Some(given) => Some(given.trim().to_owned()),
                None => env_branch,
            },
            annotations: self.annotations,
        };
        Ok(Config {
            command: self.command,
            outputs,
            log: self.log,
            run_dir: self.run_dir,
            grace: Duration::from_secs_f64(self.grace),
            shim: !self.no_shim,
            stack_depth: if self.no_attribution { 0 } else { self.stack_depth },
            hang_timeout: (self.hang_timeout > 0).then(|| Duration::from_secs(self.hang_timeout)),
            // A profile's runtime applies unless the user chose one.
            sanitizer: match (self.profile, sanitizer) {
                (Some(Profile::BuildbotAsan), Selection::Auto) => Selection::Forced(vec![Runtime::Asan]),
                (_, selection) => selection,
            },
            profile: self.profile,
            unskip: self.unskip,
            suppressions,
        })
    }
}

/// Whether two output paths are one file: the same place once written ([`output_place`]:
/// `same/../same/x` and `same/x`, a symbolic link and the file it names, existing or not), or
/// the same existing file (a hard link); a character device (`/dev/null`) may take several.
fn same_output(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::metadata(a).is_ok_and(|m| m.file_type().is_char_device()) {
        return false;
    }
    output_place(a).is_some_and(|x| Some(x) == output_place(b)) || crate::symbolize::same_file(a, b)
}

/// Whether the output file `path` is the directory `dir` or a file in it (at any depth), once
/// both are where writing them lands ([`output_place`]); a character device is in none.
fn in_directory(path: &std::path::Path, dir: &std::path::Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device()) {
        return false;
    }
    matches!((output_place(path), output_place(dir)), (Some(path), Some(dir)) if path.starts_with(&dir))
}

/// Where writing `path` lands, as one absolute path free of `.`, `..` and symbolic links: the
/// symbolic links `path` ends in followed (a dangling one names the file that will be made),
/// then its longest existing part canonicalized and the rest, which the directories made for
/// a report (`mkdir -p`) will hold, taken as written (`..` dropping the name before it). The
/// outputs do not exist yet when the flags are checked, so comparing files alone would miss
/// `--json x --junit-xml link-to-x`. None when no part of it resolves.
fn output_place(path: &std::path::Path) -> Option<PathBuf> {
    use std::path::Component;
    let mut current = std::path::absolute(path).ok()?;
    // As many links in a row as Linux follows (`MAXSYMLINKS`).
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current).ok()?;
                // An absolute target replaces the whole path; a relative one is the link's sibling.
                current = current.parent()?.join(target);
            }
            _ => break,
        }
    }
    let (existing, canonical) = current.ancestors().find_map(|a| Some((a, std::fs::canonicalize(a).ok()?)))?;
    let mut place = canonical;
    for part in current.strip_prefix(existing).ok()?.components() {
        match part {
            Component::Normal(name) => place.push(name),
            Component::ParentDir => {
                place.pop();
            }
            _ => {}
        }
    }
    Some(place)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<Config, String> {
        let args = Args::try_parse_from(argv).map_err(|e| e.to_string())?;
        args.resolve()
    }

    #[test]
    fn the_command_comes_after_double_dash_untouched() {
        let config =
            parse(&["leakcheck", "--json", "r.json", "--", "python3", "-m", "test", "-R", "3:3", "--json"]).unwrap();
        assert_eq!(config.command, ["python3", "-m", "test", "-R", "3:3", "--json"]);
        assert_eq!(config.outputs.json.as_deref(), Some(std::path::Path::new("r.json")));
        assert!(config.shim);
        assert_eq!(config.grace, Duration::from_secs(10));
        assert_eq!(config.stack_depth, 32);
    }

    #[test]
    fn attribution_can_be_turned_off_or_tuned() {
        assert_eq!(parse(&["leakcheck", "--no-attribution", "--", "true"]).unwrap().stack_depth, 0);
        assert_eq!(parse(&["leakcheck", "--stack-depth", "8", "--", "true"]).unwrap().stack_depth, 8);
        assert!(parse(&["leakcheck", "--stack-depth", "0", "--", "true"]).is_err());
        assert!(parse(&["leakcheck", "--stack-depth", "500", "--", "true"]).is_err());
    }

    #[test]
    fn a_command_is_required() {
        assert!(parse(&["leakcheck"]).is_err());
        assert!(parse(&["leakcheck", "--"]).is_err());
        assert!(parse(&["leakcheck", "--", ""]).is_err());
    }

    #[test]
    fn two_outputs_on_one_file_are_refused() {
        let err = parse(&["leakcheck", "--log", "same.out", "--json", "./same.out", "--", "true"]).unwrap_err();
        assert!(err.contains("--log and --json name the same file"), "{err}");
        let err = parse(&["leakcheck", "--json", "r", "--junit-xml", "r", "--", "true"]).unwrap_err();
        assert!(err.contains("--json and --junit-xml"), "{err}");
        assert!(parse(&["leakcheck", "--log", "a", "--json", "b", "--", "true"]).is_ok());
        // A device (/dev/null) may take them all.
        assert!(parse(&["leakcheck", "--log", "/dev/null", "--json", "/dev/null", "--", "true"]).is_ok());
    }

    /// regrtest's own `--junit-xml FILE` is a file of the command's that leakcheck's outputs
    /// would overwrite, or it theirs: refused as two outputs on one file are.
    #[test]
    fn an_output_on_regrtest_s_own_junit_xml_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        let regrtest = |file: &str| {
            ["--", "python3", "-m", "test", "-R", "3:3", "--junit-xml", file, "test_os"].map(str::to_owned)
        };
        for flag in ["--junit-xml", "--json", "--log"] {
            let mut argv = vec!["leakcheck".to_owned(), flag.to_owned(), at("j.xml")];
            argv.extend(regrtest(&at("j.xml")));
            let err = parse(&argv.iter().map(String::as_str).collect::<Vec<_>>()).unwrap_err();
            assert!(err.contains(&format!("{flag} names the file the command's own --junit-xml writes")), "{err}");
        }
        // Relative to this directory, as regrtest opens it; `--junit-xml=FILE` too.
        let cwd = std::env::current_dir().unwrap();
        let relative = cwd.join("leakcheck-test-regrtest.xml");
        let err = parse(&[
            "leakcheck",
            "--junit-xml",
            relative.to_str().unwrap(),
            "--",
            "python3",
            "-m",
            "test",
            "--junit-xml=leakcheck-test-regrtest.xml",
        ])
        .unwrap_err();
        assert!(err.contains("--junit-xml names the file the command's own --junit-xml writes"), "{err}");
        let mut argv = vec!["leakcheck".to_owned(), "--issue-draft".to_owned(), at("d")];
        argv.extend(regrtest(&at("d/j.xml")));
        let err = parse(&argv.iter().map(String::as_str).collect::<Vec<_>>()).unwrap_err();
        assert!(err.contains("the command's own --junit-xml names the --issue-draft directory"), "{err}");
        let mut argv = vec!["leakcheck".to_owned(), "--junit-xml".to_owned(), at("ours.xml")];
        argv.extend(regrtest(&at("theirs.xml")));
        assert!(parse(&argv.iter().map(String::as_str).collect::<Vec<_>>()).is_ok());
        assert!(parse(&["leakcheck", "--log", "/dev/null", "--", "python3", "-m", "test", "--junit-xml", "/dev/null"])
            .is_ok());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing made");
    }

    /// Outputs not made yet are compared where they will be: through a link to a file not
    /// written yet, and through `..`, also in a directory not made yet.
    #[test]
    fn two_outputs_on_one_file_not_made_yet_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        std::fs::create_dir(at("same")).unwrap();
        std::os::unix::fs::symlink("x.json", at("same/link.json")).unwrap();
        let err =
            parse(&["leakcheck", "--json", &at("same/x.json"), "--junit-xml", &at("same/link.json"), "--", "true"])
                .unwrap_err();
        assert!(err.contains("--json and --junit-xml name the same file"), "{err}");
        let err = parse(&["leakcheck", "--log", &at("same/o.log"), "--json", &at("same/../same/o.log"), "--", "true"])
            .unwrap_err();
        assert!(err.contains("--log and --json name the same file"), "{err}");
        let err = parse(&["leakcheck", "--log", &at("new/a/../o.log"), "--json", &at("new/o.log"), "--", "true"])
            .unwrap_err();
        assert!(err.contains("--log and --json name the same file"), "{err}");
        // A link to a directory: the file in it, by either name.
        std::os::unix::fs::symlink(at("same"), at("alias")).unwrap();
        let err = parse(&["leakcheck", "--json", &at("alias/r.json"), "--junit-xml", &at("same/r.json"), "--", "true"])
            .unwrap_err();
        assert!(err.contains("--json and --junit-xml name the same file"), "{err}");
        assert!(parse(&["leakcheck", "--json", &at("same/a"), "--junit-xml", &at("same/b"), "--", "true"]).is_ok());
        assert!(parse(&["leakcheck", "--json", &at("new/a/o"), "--junit-xml", &at("new/o"), "--", "true"]).is_ok());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "nothing made");
    }

    /// A file output in the draft directory, or the directory itself, is refused before
    /// anything is made.
    #[test]
    fn a_file_output_in_the_draft_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        for (flag, path, drafts) in [
            ("--json", "d", "d"),
            ("--junit-xml", "d/j.xml", "d"),
            ("--log", "d/sub/o.log", "d"),
            ("--json", "e/../d/r.json", "d/"),
            ("--json", "d/r.json", "x/../d"),
        ] {
            let err = parse(&["leakcheck", flag, &at(path), "--issue-draft", &at(drafts), "--", "true"]).unwrap_err();
            assert!(err.contains(&format!("{flag} names the --issue-draft directory")), "{err}");
        }
        std::fs::create_dir(at("real")).unwrap();
        std::os::unix::fs::symlink("real", at("d")).unwrap();
        let err =
            parse(&["leakcheck", "--json", &at("real/r.json"), "--issue-draft", &at("d"), "--", "true"]).unwrap_err();
        assert!(err.contains("--json names the --issue-draft directory"), "{err}");
        for path in ["dd/r.json", "r.json", "real2"] {
            assert!(parse(&["leakcheck", "--json", &at(path), "--issue-draft", &at("d"), "--", "true"]).is_ok());
        }
        assert!(parse(&["leakcheck", "--log", "/dev/null", "--issue-draft", "/dev", "--", "true"]).is_ok());
        // Nor the run directory, whose output.log holds the whole output.
        for run_dir in ["d", "d/run", "d/./x/../run"] {
            let err =
                parse(&["leakcheck", "--run-dir", &at(run_dir), "--issue-draft", &at("d"), "--", "true"]).unwrap_err();
            assert!(err.contains("--run-dir names the --issue-draft directory"), "{err}");
        }
        assert!(parse(&["leakcheck", "--run-dir", &at("run"), "--issue-draft", &at("d"), "--", "true"]).is_ok());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "nothing made");
    }

    #[test]
    fn grace_is_bounded() {
        assert!(parse(&["leakcheck", "--grace", "-1", "--", "true"]).is_err());
        assert!(parse(&["leakcheck", "--grace", "NaN", "--", "true"]).is_err());
        assert_eq!(parse(&["leakcheck", "--grace", "0.5", "--", "true"]).unwrap().grace, Duration::from_millis(500));
    }

    #[test]
    fn symbolize_is_a_subcommand_and_not_a_command_to_run() {
        let args = Args::try_parse_from(["leakcheck", "symbolize", "--exe", "/usr/bin/python3.11d"]).unwrap();
        assert!(
            matches!(args.mode(), Ok(Mode::SymbolizeAddresses { exe }) if exe == std::path::Path::new("/usr/bin/python3.11d"))
        );
        // A program that happens to be called "symbolize" still runs after `--`.
        let args = Args::try_parse_from(["leakcheck", "--", "symbolize", "x"]).unwrap();
        assert!(matches!(args.mode(), Ok(Mode::Run(config)) if config.command == ["symbolize", "x"]));
        let args = Args::try_parse_from(["leakcheck", "symbolize"]).unwrap();
        assert!(matches!(args.mode(), Ok(Mode::SymbolizeLog { log: None })));
        let args = Args::try_parse_from(["leakcheck", "symbolize", "-"]).unwrap();
        assert!(matches!(args.mode(), Ok(Mode::SymbolizeLog { log: None })), "`-` is standard input");
        let args = Args::try_parse_from(["leakcheck", "symbolize", "./-"]).unwrap();
        assert!(matches!(args.mode(), Ok(Mode::SymbolizeLog { log: Some(p) }) if p == std::path::Path::new("./-")));
        let args = Args::try_parse_from(["leakcheck", "symbolize", "asan.log"]).unwrap();
        assert!(
            matches!(args.mode(), Ok(Mode::SymbolizeLog { log: Some(p) }) if p == std::path::Path::new("asan.log"))
        );
        assert!(Args::try_parse_from(["leakcheck", "symbolize", "--exe", "x", "asan.log"]).is_err());
    }

    #[test]
    fn builder_and_branch_come_from_flags_before_the_environment() {
        let env = |name: &str| match name {
            "LEAKCHECK_BUILDER" => Some("AMD64 Debian PGO".to_owned()),
            "LEAKCHECK_BRANCH" => Some("3.x".to_owned()),
            _ => None,
        };
        let args = Args::try_parse_from(["leakcheck", "--builder", "PPC64 Fedora", "--", "true"]).unwrap();
        let outputs = args.resolve_with_env(env).unwrap().outputs;
        assert_eq!(outputs.builder.as_deref(), Some("PPC64 Fedora"));
        let args = Args::try_parse_from(["leakcheck", "--builder", " B ", "--branch", "", "--", "true"]).unwrap();
        let outputs = args.resolve_with_env(env).unwrap().outputs;
        // An empty flag given names none, whatever the environment says: `Some("")`.
        assert_eq!((outputs.builder.as_deref(), outputs.branch.as_deref()), (Some("B"), Some("")));
        let args = Args::try_parse_from(["leakcheck", "--builder", " ", "--", "true"]).unwrap();
        let outputs = args.resolve_with_env(env).unwrap().outputs;
        assert_eq!((outputs.builder.as_deref(), outputs.branch.as_deref()), (Some(""), Some("3.x")));
        let args = Args::try_parse_from(["leakcheck", "--", "true"]).unwrap();
        let outputs = args.resolve_with_env(|_| None).unwrap().outputs;
        assert_eq!((outputs.builder, outputs.branch), (None, None));
    }

    #[test]
    fn suppressions_come_from_flags_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.supp");
        std::fs::write(&file, "leak:^leak_raw$\n").unwrap();
        let listed = format!(":{}:", file.display());
        let env = |name: &str| (name == "LEAKCHECK_SUPPRESSIONS").then(|| listed.clone());
        let args = Args::try_parse_from(["leakcheck", "--", "true"]).unwrap();
        assert!(!args.resolve_with_env(env).unwrap().suppressions.is_empty());
        let args = Args::try_parse_from(["leakcheck", "--", "true"]).unwrap();
        assert!(args.resolve_with_env(|_| None).unwrap().suppressions.is_empty());
        // A flag replaces the environment's list; a missing file is an error naming it.
        let missing = dir.path().join("missing.supp");
        let args =
            Args::try_parse_from(["leakcheck", "--suppressions", missing.to_str().unwrap(), "--", "true"]).unwrap();
        let err = args.resolve_with_env(env).unwrap_err();
        assert!(err.contains("missing.supp"), "{err}");
    }

    #[test]
    fn report_outputs_are_parsed() {
        let config = parse(&[
            "leakcheck",
            "--junit-xml",
            "j.xml",
            "--issue-draft",
            "drafts",
            "--annotations",
            "github",
            "--",
            "true",
        ])
        .unwrap();
        assert_eq!(config.outputs.junit_xml.as_deref(), Some(std::path::Path::new("j.xml")));
        assert_eq!(config.outputs.issue_draft_dir.as_deref(), Some(std::path::Path::new("drafts")));
        assert_eq!(config.outputs.annotations, Some(AnnotationFormat::Github));
        assert!(parse(&["leakcheck", "--annotations", "gitlab", "--", "true"]).is_err());
    }

    #[test]
    fn sanitizer_runtimes_come_as_a_list_or_a_repeated_flag() {
        let both = Selection::Forced(vec![Runtime::Asan, Runtime::Ubsan]);
        assert_eq!(parse(&["leakcheck", "--sanitizer", "asan,ubsan", "--", "x"]).unwrap().sanitizer, both);
        assert_eq!(
            parse(&["leakcheck", "--sanitizer", "ubsan", "--sanitizer", "asan", "--", "x"]).unwrap().sanitizer,
            both
        );
        assert_eq!(parse(&["leakcheck", "--", "x"]).unwrap().sanitizer, Selection::Auto);
        let refused = |value: &str| parse(&["leakcheck", "--sanitizer", value, "--", "x"]).unwrap_err();
        assert!(refused("asan,msan").contains("cannot run in one process"), "{}", refused("asan,msan"));
        assert!(refused("auto,ubsan").contains("stand alone"));
        assert!(refused("asan,bogus").contains("bogus"));
    }

    #[test]
    fn the_asan_profile_picks_asan_unless_told_otherwise() {
        let config = parse(&["leakcheck", "--profile", "buildbot-asan", "--", "python3"]).unwrap();
        assert_eq!(
            (config.profile, config.sanitizer),
            (Some(Profile::BuildbotAsan), Selection::Forced(vec![Runtime::Asan]))
        );
        let config = parse(&["leakcheck", "--profile", "buildbot-asan", "--sanitizer", "none", "--", "x"]).unwrap();
        assert_eq!(config.sanitizer, Selection::None);
        let config =
            parse(&["leakcheck", "--profile", "buildbot-asan", "--sanitizer", "ubsan,asan", "--", "x"]).unwrap();
        assert_eq!(config.sanitizer, Selection::Forced(vec![Runtime::Asan, Runtime::Ubsan]));
        let config =
            parse(&["leakcheck", "--profile", "buildbot-asan", "--unskip", "test_capi,test_ctypes", "--", "x"])
                .unwrap();
        assert_eq!(config.unskip, ["test_capi", "test_ctypes"]);
        assert!(parse(&["leakcheck", "--unskip", "test_capi", "--", "x"]).is_err(), "--unskip needs --profile");
    }

    #[test]
    fn help_lists_the_exit_statuses() {
        use clap::CommandFactory;
        let help = Args::command().render_long_help().to_string();
        assert!(help.contains("Exit status:"), "{help}");
        assert!(help.contains("101"), "{help}");
    }
}
