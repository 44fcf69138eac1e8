//! The `leakcheck` binary: flags in, report out, exit status last.

use std::io::Write;

use clap::Parser;
use leakcheck::cli::{Args, Mode};
use leakcheck::escape::for_terminal;
use leakcheck::exit::ExitCode;

fn main() {
    let args = match Args::try_parse() {
        Ok(args) => args,
        // `--help` and `--version` are the answer, as they are; an error is leakcheck's own.
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            std::process::exit(ExitCode::OK);
        }
        Err(err) => {
            say(prefixed(&err.render().to_string()).trim_end_matches('\n'));
            std::process::exit(ExitCode::USAGE);
        }
    };
    let config = match args.mode() {
        Ok(Mode::Run(config)) => *config,
        Ok(Mode::SymbolizeAddresses { exe }) => std::process::exit(symbolize_addresses(&exe)),
        Ok(Mode::SymbolizeLog { log }) => std::process::exit(symbolize_log(log.as_deref())),
        Err(msg) => {
            say(&format!("leakcheck: error: {msg}"));
            std::process::exit(ExitCode::USAGE);
        }
    };
    // Before the run, so that no thread started later unblocks them either.
    leakcheck::supervise::block_forwarded_signals();
    let mut notify = |msg: &str| say(&format!("leakcheck: {msg}"));
    let outcome = match leakcheck::run::execute(&config, &mut notify) {
        Ok(outcome) => outcome,
        Err(err) => {
            // The error may quote a path (--run-dir, TMPDIR) with control characters.
            say(&format!("leakcheck: error: {}", leakcheck::escape::for_terminal(&format!("{err:#}"))));
            // The command did not run: the run directory could not be created (an existing
            // `--run-dir` is another run's, not this one's), so the reports name none (`""`), nor
            // a log; they still say why.
            let command = config.command.iter().map(|a| a.to_string_lossy().into_owned()).collect();
            let mut report = leakcheck::report::RunReport::new(command, String::new());
            report.status.error = Some(format!("{err:#}"));
            report.status.leakcheck_exit_code = ExitCode::INTERNAL;
            // No run directory to keep a report that cannot be written: none was made.
            let errors = leakcheck::outputs::write_files(&mut report, &config.outputs, None);
            say_write_errors(&errors);
            write_annotations(&report, &config.outputs, &mut std::io::stdout(), "");
            std::process::exit(ExitCode::INTERNAL);
        }
    };
    let mut report = outcome.report;
    let printed = match &report.status.error {
        Some(error) => format!("leakcheck: error: {}\n", leakcheck::escape::for_terminal(error)),
        None => report.render_text(),
    };
    // The report files before anything is printed: a stderr nobody reads (a stuck log
    // collector) may block the summary's write, and must not keep the files from being written.
    let run_dir = std::path::PathBuf::from(&report.run_dir);
    let write_errors = leakcheck::outputs::write_files(&mut report, &config.outputs, Some(&run_dir));
    // Our stdout and stderr are one file (`2>&1`, a terminal): a line the command's stdout left
    // unfinished is the line the summary would continue, as `Loop::say` knows.
    let shared_output = outcome.shared_output;
    let [stdout_mid_line, stderr_mid_line] = outcome.ends_mid_line;
    let mut stderr = std::io::stderr().lock();
    if report.status.error.is_none() {
        let _ = stderr.write_all(line_start(stderr_mid_line || shared_output && stdout_mid_line));
    }
    if leakcheck::report::colour::wanted() {
        let _ = stderr.write_all(leakcheck::report::colour::colourize(&printed).as_bytes());
    } else {
        let _ = stderr.write_all(printed.as_bytes());
    }
    let _ = stderr.flush();
    drop(stderr);
    let mut stdout = std::io::stdout().lock();
    if config.outputs.annotations.is_some() {
        // `::error` is only an annotation at the start of a line.
        // On one file with stderr, the summary just printed ended that line.
        let _ = stdout.write_all(line_start(stdout_mid_line && !(shared_output && printed.ends_with('\n'))));
    }
    say_write_errors(&write_errors);
    write_annotations(&report, &config.outputs, &mut stdout, &printed);
    drop(stdout);
    // The run's status, or 70 for a report that could not be written: what the reports say.
    std::process::exit(report.status.leakcheck_exit_code);
}

/// Say each report file that could not be written (a failure made the report's status 70
/// where it was 0; one written into the run directory instead says where).
fn say_write_errors(errors: &[leakcheck::outputs::WriteError]) {
    for err in errors {
        say(&format!("leakcheck: error: {}", for_terminal(&err.to_string())));
    }
}

/// The annotations `outputs` asks for, to `out`, after the command's output and `printed`, what
/// leakcheck printed since.
fn write_annotations(
    report: &leakcheck::report::RunReport,
    outputs: &leakcheck::outputs::Outputs,
    out: &mut dyn Write,
    printed: &str,
) {
    let workspace = std::env::var("GITHUB_WORKSPACE").ok();
    let context = leakcheck::outputs::AnnotationContext { workspace: workspace.as_deref(), printed_before: printed };
    leakcheck::outputs::write_annotations_asked(report, outputs, &context, out);
}

/// Write `line` and a newline to stderr, in one write, giving it up when that fails: unlike
/// `eprintln!`, which panics then (`2>/dev/full`, a reader gone away: `2>&1 | head -1`), and a
/// panic exits 101, the status of a leak not reported. Nothing is left to say the failure to;
/// the exit status still says what the run found. Every line leakcheck prints itself goes
/// through here or, for the summary, through the same kind of ignored write. (A closed fd 2 is
/// no failure: the Rust runtime opens /dev/null in place of a closed fd 0, 1 or 2 before
/// `main`.)
fn say(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(format!("{line}\n").as_bytes()).and_then(|()| stderr.flush());
}

/// Every line of `text` (clap's message) as one of leakcheck's own; blank ones left out.
fn prefixed(text: &str) -> String {
    text.lines().filter(|l| !l.trim().is_empty()).map(|line| format!("leakcheck: {line}\n")).collect()
}

/// What to write first so that our next line starts a line of its own.
fn line_start(mid_line: bool) -> &'static [u8] {
    if mid_line {
        b"\n"
    } else {
        b""
    }
}

/// `leakcheck symbolize --exe FILE`: addresses on stdin, llvm-symbolizer's answers on stdout.
fn symbolize_addresses(exe: &std::path::Path) -> i32 {
    let symbolizer = leakcheck::symbolize::Symbolizer::new();
    let stdin = Input(std::io::stdin().lock());
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let result = leakcheck::symbolize::symbolize_stream(&symbolizer, exe, stdin, stdout);
    // The answers were `??`, functions without lines or without their inlined calls: say why,
    // as llvm-symbolizer does.
    if let Some(note) = symbolizer.shortfall(exe) {
        say(&format!("leakcheck: symbolize: {}", for_terminal(&note)));
    }
    symbolize_status(result, STDIN)
}

/// How messages name standard input read as the input (`-` or no LOG, and `--exe`'s addresses).
const STDIN: &str = "standard input";

/// `leakcheck symbolize [LOG]`: a sanitizer log in, the same log with symbolized frames out,
/// each line as soon as it is rewritten. SIGINT, SIGTERM and SIGHUP end the input where it was
/// read to: what was read is written out, then leakcheck dies of the signal, as it would have.
fn symbolize_log(log: Option<&std::path::Path>) -> i32 {
    use nix::sys::signal::{SigSet, Signal};
    let input: (Box<dyn std::io::Read + Send>, String) = match log {
        Some(path) => match std::fs::File::open(path) {
            Ok(_) if path.is_dir() => {
                say(&format!(
                    "leakcheck: error: symbolize: {}: is a directory, not a log",
                    for_terminal(&path.to_string_lossy())
                ));
                return ExitCode::NO_INPUT;
            }
            Ok(file) => (Box::new(Input(file)), path.display().to_string()),
            Err(err) => {
                say(&format!("leakcheck: error: symbolize: {}: {err}", for_terminal(&path.to_string_lossy())));
                return ExitCode::NO_INPUT;
            }
        },
        None => (Box::new(Input(std::io::stdin())), STDIN.to_owned()),
    };
    let (input, name) = input;
    // Blocked before any thread starts, so that only the waiting thread takes them.
    let mut signals = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        signals.add(signal);
    }
    let _ = signals.thread_block();
    let interrupt = leakcheck::sanitizer::Interrupt::default();
    let received = std::sync::Arc::new(std::sync::OnceLock::new());
    {
        let (interrupt, received) = (interrupt.clone(), received.clone());
        std::thread::spawn(move || {
            if let Ok(signal) = signals.wait() {
                let _ = received.set(signal);
                interrupt.stop();
            }
        });
    }
    let symbolizer = leakcheck::symbolize::Symbolizer::new();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let result = leakcheck::sanitizer::symbolize_live_log(&symbolizer, input, stdout, &interrupt);
    if let Ok(notes) = &result {
        for note in notes {
            say(&format!("leakcheck: symbolize: {}", for_terminal(note)));
        }
    }
    if let Some(&signal) = received.get() {
        // Die of it, for the shell to see: unblocked in this thread only, the waiting thread
        // has done its part.
        let mut only = SigSet::empty();
        only.add(signal);
        let _ = nix::sys::signal::raise(signal).and_then(|()| only.thread_unblock());
        return 128 + signal as i32;
    }
    symbolize_status(result.map(drop), &name)
}

/// The exit status of either `leakcheck symbolize`, from how its input and output went;
/// `input` names the input in a message.
fn symbolize_status(result: std::io::Result<()>, input: &str) -> i32 {
    match result {
        Ok(()) => ExitCode::OK,
        // The input opened but cannot be read (a directory as stdin, `/proc/self/mem`): the
        // input's fault, as one that cannot be opened.
        Err(err) if err.get_ref().is_some_and(|inner| inner.is::<InputError>()) => {
            say(&format!("leakcheck: error: symbolize: {}: {err}", for_terminal(input)));
            ExitCode::NO_INPUT
        }
        // A closed pipe downstream (`| head`) is not an error worth a message.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::OK,
        Err(err) => {
            say(&format!("leakcheck: error: symbolize: {err}"));
            ExitCode::INTERNAL
        }
    }
}

/// The input of `leakcheck symbolize`, whose read errors are marked as [`InputError`]s: the
/// symbolizing functions return read and write errors alike, and only the input's are the
/// user's to fix (exit status 66, not 70).
struct Input<R>(R);

/// A read error of [`Input`], with the same kind and message.
#[derive(Debug)]
struct InputError(std::io::Error);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for InputError {}

fn input_error(err: std::io::Error) -> std::io::Error {
    // `Interrupted` is retried by the readers above, not reported: keep it as it is.
    if err.kind() == std::io::ErrorKind::Interrupted {
        return err;
    }
    std::io::Error::new(err.kind(), InputError(err))
}

impl<R: std::io::Read> std::io::Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).map_err(input_error)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for Input<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.0.fill_buf().map_err(input_error)
    }

    fn consume(&mut self, amount: usize) {
        self.0.consume(amount);
    }
}
