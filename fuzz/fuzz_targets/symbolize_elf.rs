//! Fuzz the symbolizer's ELF/DWARF path: the input is an ELF file (start from the C fixtures,
//! see fuzz/README.md); it is written to a file and symbolized at addresses taken from its own
//! sections and symbols and at a few fixed ones, through `symbolize_many`, `symbolize`,
//! `debug_info` and `symbolize_stream`. Nothing may panic, abort or hang.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use leakcheck::symbolize::{symbolize_stream, Symbolizer};
use libfuzzer_sys::fuzz_target;
use object::{Object, ObjectSection, ObjectSymbol};

/// At most this many addresses per input, so one input stays fast.
const MAX_ADDRESSES: usize = 256;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("module");
        (dir, path)
    })
    .1
}

fn addresses(data: &[u8]) -> Vec<u64> {
    let mut addresses = vec![0, 1, 0x1000, 0x1139, u64::MAX];
    if let Ok(file) = object::File::parse(data) {
        for section in file.sections().take(64) {
            let start = section.address();
            addresses.extend([start, start.wrapping_add(section.size() / 2)]);
        }
        for symbol in file.symbols().take(MAX_ADDRESSES) {
            addresses.extend([symbol.address(), symbol.address().wrapping_add(1)]);
        }
    }
    addresses.truncate(MAX_ADDRESSES);
    addresses
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    if std::fs::write(path, data).is_err() {
        return;
    }
    let addresses = addresses(data);
    // A new symbolizer per input: its caches must not carry one input into the next.
    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    let _ = symbolizer.debug_info(path);
    let many = symbolizer.symbolize_many(path, &addresses);
    assert_eq!(many.len(), addresses.len());
    for (address, frames) in addresses.iter().zip(&many) {
        assert!(!frames.is_empty());
        assert!(frames.iter().all(|f| f.address == *address));
    }
    let _ = symbolizer.symbolize(path, addresses[0]);
    let input: String = addresses.iter().map(|a| format!("{a:#x}\n")).collect();
    let mut output = Vec::new();
    symbolize_stream(&symbolizer, path, input.as_bytes(), &mut output).expect("in-memory I/O");
});
