//! The output path: what a run does with each line of the command's output as the supervision
//! loop reads it (`leakcheck::run::with_output_lines`, the sink's `line`: the regrtest parser,
//! the sanitizer report parser, the hang watch and the other line readers), on lines no parser
//! wants: long ones (`'x' * 1000`, as a test dumping data prints; and 1000 bytes of a
//! dictionary's repr, with the `: `, `#`, `=` and `0x` that the parsers look for) and short
//! ones (`ok N`). The child waits while a line is parsed, so MB/s here bounds how fast a
//! command's output can flow through leakcheck. The whole-process figures of the command this
//! was written for are in `benches/README.md`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakcheck::run::with_output_lines;
use leakcheck::supervise::Stream;

/// About this many bytes of lines per iteration.
const BYTES: usize = 16 << 20;

fn lines(mut line: impl FnMut(usize) -> Vec<u8>) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut total = 0;
    while total < BYTES {
        let next = line(lines.len());
        total += next.len() + 1;
        lines.push(next);
    }
    lines
}

/// 1000 bytes of a dict's repr: `{'key_0': 0x7f00, 'key_1': '#1=1', ...}`.
fn repr_line(n: usize) -> Vec<u8> {
    let mut line = String::from("{");
    let mut key = 0;
    while line.len() < 1000 {
        line.push_str(&format!("'key_{key}': 0x7f{n:04x}{key:02x}, 'v{key}': '#{key}={n}', "));
        key += 1;
    }
    line.truncate(999);
    line.push('}');
    line.into_bytes()
}

fn output_lines(c: &mut Criterion) {
    let inputs: [(&str, Vec<Vec<u8>>); 3] = [
        ("long_x_1000", lines(|_| vec![b'x'; 1000])),
        ("long_repr_1000", lines(repr_line)),
        ("short_ok", lines(|n| format!("ok {n}").into_bytes())),
    ];
    let mut group = c.benchmark_group("output_lines");
    group.sample_size(10).measurement_time(Duration::from_secs(8));
    for (name, lines) in &inputs {
        let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(*name, |b| {
            let (_, findings) = with_output_lines(|feed| {
                b.iter(|| {
                    for line in lines {
                        feed(Stream::Stdout, line);
                    }
                })
            });
            assert_eq!(findings, 0);
        });
    }
    group.finish();
}

criterion_group!(benches, output_lines);
criterion_main!(benches);
