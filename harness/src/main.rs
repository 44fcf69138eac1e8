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
            eprint!("{}", prefixed(&err.render().to_string()));
            std::process::exit(ExitCode::USAGE);
        }
    };
    let config = match args.mode() {
        Ok(Mode::Run(config)) => *config,
        Ok(Mode::SymbolizeAddresses { exe }) => std::process::exit(symbolize_addresses(&exe)),
        Ok(Mode::SymbolizeLog { log }) => std::process::exit(symbolize_log(log.as_deref())),
        Err(msg) => {
            eprintln!("leakcheck: error: {msg}");
            std::process::exit(ExitCode::USAGE);
        }
    };
    // Before the run, so that no thread started later unblocks them either.
    leakcheck::supervise::block_forwarded_signals();
    let mut notify = |msg: &str| eprintln!("leakcheck: {msg}");
    let outcome = match leakcheck::run::execute(&config, &mut notify) {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("leakcheck: error: {err:#}");
            // The command did not run (no run directory, no log): the reports still say why.
            let command = config.command.iter().map(|a| a.to_string_lossy().into_owned()).collect();
            let run_dir = config.run_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default();
            let mut report = leakcheck::report::RunReport::new(command, run_dir);
            report.status.error = Some(format!("{err:#}"));
            report.status.leakcheck_exit_code = ExitCode::INTERNAL;
            write_outputs(&mut report, &config.outputs, &mut std::io::stdout(), "");
            std::process::exit(ExitCode::INTERNAL);
        }
    };
    let mut report = outcome.report;
    let printed = match &report.status.error {
        Some(error) => format!("leakcheck: error: {}\n", leakcheck::escape::for_terminal(error)),
        None => report.render_text(),
    };
    let mut stderr = std::io::stderr().lock();
    if report.status.error.is_none() {
        let _ = stderr.write_all(line_start(outcome.ends_mid_line[1]));
    }
    let _ = stderr.write_all(printed.as_bytes());
    let _ = stderr.flush();
    drop(stderr);
    let mut stdout = std::io::stdout().lock();
    if config.outputs.annotations.is_some() {
        // `::error` is only an annotation at the start of a line.
        let _ = stdout.write_all(line_start(outcome.ends_mid_line[0]));
    }
    write_outputs(&mut report, &config.outputs, &mut stdout, &printed);
    drop(stdout);
    // The run's status, or 70 for a report that could not be written: what the reports say.
    std::process::exit(report.status.leakcheck_exit_code);
}

/// Every report file and annotation `outputs` asks for (annotations to `annotation_out`, after
/// the command's output and `printed`, what leakcheck printed since), each failure printed; a
/// failure makes the report's status 70 where it was 0.
fn write_outputs(
    report: &mut leakcheck::report::RunReport,
    outputs: &leakcheck::outputs::Outputs,
    annotation_out: &mut dyn Write,
    printed: &str,
) {
    let workspace = std::env::var("GITHUB_WORKSPACE").ok();
    let context = leakcheck::outputs::AnnotationContext { workspace: workspace.as_deref(), printed_before: printed };
    let errors = leakcheck::outputs::write_all(report, outputs, &context, annotation_out);
    for err in &errors {
        eprintln!("leakcheck: error: {err}");
    }
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
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let result = leakcheck::symbolize::symbolize_stream(&symbolizer, exe, stdin, stdout);
    // The answers were `??` (or functions without lines): say why, as llvm-symbolizer does.
    if let Some(note) = symbolizer.debug_info(exe).shortfall(exe) {
        eprintln!("leakcheck: symbolize: {}", for_terminal(&note));
    }
    symbolize_status(result)
}

/// `leakcheck symbolize [LOG]`: a sanitizer log in, the same log with symbolized frames out.
fn symbolize_log(log: Option<&std::path::Path>) -> i32 {
    let symbolizer = leakcheck::symbolize::Symbolizer::new();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let result = match log {
        Some(path) => match std::fs::File::open(path) {
            Ok(_) if path.is_dir() => {
                eprintln!("leakcheck: error: symbolize: {}: is a directory, not a log", path.display());
                return ExitCode::NO_INPUT;
            }
            Ok(file) => leakcheck::sanitizer::symbolize_log(&symbolizer, std::io::BufReader::new(file), stdout),
            Err(err) => {
                eprintln!("leakcheck: error: symbolize: {}: {err}", path.display());
                return ExitCode::NO_INPUT;
            }
        },
        None => leakcheck::sanitizer::symbolize_log(&symbolizer, std::io::stdin().lock(), stdout),
    };
    if let Ok(notes) = &result {
        for note in notes {
            eprintln!("leakcheck: symbolize: {}", for_terminal(note));
        }
    }
    symbolize_status(result.map(drop))
}

/// The exit status of either `leakcheck symbolize`, from how its output went.
fn symbolize_status(result: std::io::Result<()>) -> i32 {
    match result {
        Ok(()) => ExitCode::OK,
        // A closed pipe downstream (`| head`) is not an error worth a message.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::OK,
        Err(err) => {
            eprintln!("leakcheck: error: symbolize: {err}");
            ExitCode::INTERNAL
        }
    }
}
