//! The two in-process contenders of `benches/symbolize_speed.py`, as whole processes reading
//! addresses on stdin and writing llvm-symbolizer's text on stdout:
//!
//! ```text
//! symbolize_bench leakcheck FILE     # leakcheck::symbolize::symbolize_stream, as
//!                                    # `leakcheck symbolize --exe FILE` runs it
//! symbolize_bench addr2line FILE     # a plain loop over addr2line::Loader
//! ```
//!
//! The second is the baseline: what the `addr2line` crate gives with no batching, sorting or
//! threads (one address at a time, in input order, one lazily built context).

use std::io::{BufRead, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(file)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: symbolize_bench leakcheck|addr2line FILE < addresses");
        return ExitCode::from(64);
    };
    let stdin = std::io::stdin().lock();
    let stdout = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let result = match mode.as_str() {
        "leakcheck" => leakcheck::symbolize::symbolize_stream(
            &leakcheck::symbolize::Symbolizer::new(),
            Path::new(file),
            stdin,
            stdout,
        ),
        "addr2line" => addr2line_loop(Path::new(file), stdin, stdout),
        _ => {
            eprintln!("unknown mode {mode}");
            return ExitCode::from(64);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("symbolize_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn addr2line_loop(file: &Path, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    let loader = addr2line::Loader::new(file).map_err(|e| std::io::Error::other(e.to_string()))?;
    for line in input.lines() {
        let line = line?;
        let token = line.trim();
        let digits = token.strip_prefix("0x").unwrap_or(token);
        let Ok(address) = u64::from_str_radix(digits, 16) else {
            writeln!(output, "{line}")?;
            continue;
        };
        let mut printed = false;
        if let Ok(mut frames) = loader.find_frames(address) {
            while let Ok(Some(frame)) = frames.next() {
                let function = frame.function.as_ref().and_then(|f| f.demangle().ok());
                let location = frame.location.as_ref();
                writeln!(
                    output,
                    "{}\n{}:{}:{}",
                    function.as_deref().unwrap_or("??"),
                    location.and_then(|l| l.file).unwrap_or("??"),
                    location.and_then(|l| l.line).unwrap_or(0),
                    location.and_then(|l| l.column).unwrap_or(0),
                )?;
                printed = true;
            }
        }
        if !printed {
            writeln!(output, "{}\n??:0:0", loader.find_symbol(address).unwrap_or("??"))?;
        }
        writeln!(output)?;
    }
    output.flush()
}
