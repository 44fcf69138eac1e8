//! `stacks_bench PID [ROUNDS]`: stop PID, unwind and symbolize every thread's native stack as
//! leakcheck's hang watch does, print them (like `eu-stack -p PID`), and report the time of each
//! round on stderr. Used by `benches/stacks_speed.py` against gdb and eu-stack.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(pid) = args.next().and_then(|p| p.parse::<i32>().ok()) else {
        eprintln!("usage: stacks_bench PID [ROUNDS]");
        std::process::exit(64);
    };
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(1);
    let symbolizer = leakcheck::symbolize::Symbolizer::new();
    for round in 0..rounds {
        let start = Instant::now();
        let Some((report, notes)) = leakcheck::hang::snapshot(pid, &symbolizer) else {
            eprintln!("process {pid} is gone");
            std::process::exit(1);
        };
        let elapsed = start.elapsed();
        if round == 0 {
            for thread in &report.threads {
                println!("TID {}:", thread.tid);
                for (i, frame) in thread.frames.iter().enumerate() {
                    println!("#{i:<2} {:#018x} {}", frame.address, frame.function.as_deref().unwrap_or("??"));
                }
            }
            for note in notes {
                eprintln!("note: {note}");
            }
        }
        eprintln!("round {}: {} threads in {:.2} ms", round + 1, report.threads.len(), elapsed.as_secs_f64() * 1e3);
    }
}
