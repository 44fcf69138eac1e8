//! Symbolizing 100k random addresses of `.text` of Debian's `/usr/bin/python3.11d` (DWARF 5,
//! from python3.11-dbg), in process: leakcheck's `symbolize_stream` with a new symbolizer each
//! time (module read and every unit parsed: what `leakcheck symbolize` does once) and with a
//! warm one (everything cached: what a long leakcheck run sees after its first report), against
//! a plain loop over `addr2line::Loader` with a new loader each time. The whole-process
//! comparison with llvm-symbolizer and binutils is `benches/symbolize_speed.py`; results in
//! `benches/README.md`.

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakcheck::symbolize::{symbolize_stream, Symbolizer};
use object::{Object, ObjectSection};

const MODULE: &str = "/usr/bin/python3.11d";
const ADDRESSES: usize = 100_000;

/// `ADDRESSES` random addresses inside `.text`, one `0x...` per line (fixed seed).
fn input() -> Vec<u8> {
    let data = std::fs::read(MODULE).expect("python3.11d (scripts/setup.sh installs it)");
    let file = object::File::parse(&*data).expect("an ELF file");
    let text = file.section_by_name(".text").expect("a .text section");
    let mut state = 0x2545f4914f6cdd1d_u64;
    let mut lines = Vec::new();
    for _ in 0..ADDRESSES {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let address = text.address() + (state >> 33) % text.size();
        lines.extend_from_slice(format!("{address:#x}\n").as_bytes());
    }
    lines
}

fn addr2line_loop(input: &[u8]) -> usize {
    let loader = addr2line::Loader::new(MODULE).expect("loading python3.11d");
    let mut frames_found = 0;
    for line in input.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let text = std::str::from_utf8(line).unwrap_or_default();
        let address = u64::from_str_radix(text.trim_start_matches("0x"), 16).unwrap_or_default();
        if let Ok(mut frames) = loader.find_frames(address) {
            while let Ok(Some(frame)) = frames.next() {
                let name = frame.function.as_ref().and_then(|f| f.demangle().ok());
                frames_found += usize::from(name.is_some());
                std::hint::black_box(frame.location);
            }
        }
    }
    frames_found
}

fn symbolize(c: &mut Criterion) {
    let input = input();
    let mut group = c.benchmark_group("python3.11d_100k_addresses");
    group.throughput(Throughput::Elements(ADDRESSES as u64)).sample_size(10).measurement_time(Duration::from_secs(15));
    group.bench_function("leakcheck_cold", |b| {
        b.iter(|| {
            let symbolizer = Symbolizer::new();
            symbolize_stream(&symbolizer, Path::new(MODULE), &input[..], std::io::sink()).expect("symbolizing")
        })
    });
    let warm = Symbolizer::new();
    symbolize_stream(&warm, Path::new(MODULE), &input[..], std::io::sink()).expect("warming up");
    group.bench_function("leakcheck_warm", |b| {
        b.iter(|| symbolize_stream(&warm, Path::new(MODULE), &input[..], std::io::sink()).expect("symbolizing"))
    });
    group.bench_function("addr2line_loader_loop_cold", |b| b.iter(|| addr2line_loop(&input)));
    group.finish();
}

criterion_group!(benches, symbolize);
criterion_main!(benches);
