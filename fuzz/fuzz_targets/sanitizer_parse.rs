//! Fuzz the sanitizer report parser (`leakcheck::sanitizer`): the input is a log, split into
//! lines and fed to `Parser::feed_line` (of a parser told that summaries are off, for an input
//! whose first byte is odd), then `finish`; the findings are checked against the
//! parser's documented bounds, serialized, deduplicated, and the log is run through
//! `symbolize_log`, which must copy every line that is not a frame unchanged. Start from the
//! real captures (see fuzz/README.md). Nothing may panic, abort, hang or grow without bound.

#![no_main]

use std::sync::OnceLock;

use leakcheck::sanitizer::{
    deduplicate, symbolize_log, Finding, Parser, Sanitizer, MAX_DESCRIPTION_LINES, MAX_FRAMES_PER_STACK,
    MAX_OPEN_REPORTS, MAX_STACKS_PER_REPORT,
};
use leakcheck::symbolize::Symbolizer;
use libfuzzer_sys::fuzz_target;

fn check(finding: &Finding) {
    assert!(finding.frames.len() <= MAX_FRAMES_PER_STACK);
    assert!(finding.related.len() <= MAX_STACKS_PER_REPORT);
    assert!(finding.related.iter().all(|r| r.frames.len() <= MAX_FRAMES_PER_STACK));
    assert!(finding.description.len() <= MAX_DESCRIPTION_LINES + 1);
    assert_eq!(finding.count, 1);
}

fuzz_target!(|data: &[u8]| {
    // Inputs whose first byte is odd are parsed as a run whose options turn every runtime's
    // summary off (`print_summary=0`), which ends reports by other rules.
    let mut parser = if data.first().is_some_and(|b| b % 2 == 1) {
        Parser::without_summaries(&[
            Sanitizer::Asan,
            Sanitizer::Lsan,
            Sanitizer::Msan,
            Sanitizer::Tsan,
            Sanitizer::Ubsan,
        ])
    } else {
        Parser::new()
    };
    let mut findings = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        let found = parser.feed_line(line);
        // Each line opens at most one report, so at most MAX_OPEN_REPORTS + 1 can close.
        assert!(found.len() <= MAX_OPEN_REPORTS + 1);
        findings.extend(found);
    }
    findings.extend(parser.finish());
    assert!(parser.finish().is_empty());
    for finding in &findings {
        check(finding);
        serde_json::to_vec(finding).expect("findings serialize");
    }
    let total = findings.len();
    let merged = deduplicate(findings);
    assert_eq!(merged.iter().map(|f| f.count as usize).sum::<usize>(), total);

    // One symbolizer for all inputs: the captures name real modules (libc, python3.11d), and
    // loading them for every input would make the fuzzer crawl. Its cache grows by one small
    // entry per distinct missing path the fuzzer invents.
    static SYMBOLIZER: OnceLock<Symbolizer> = OnceLock::new();
    let symbolizer = SYMBOLIZER.get_or_init(|| Symbolizer::with_debug_dirs(Vec::new()));
    let mut output = Vec::new();
    symbolize_log(symbolizer, data, &mut output).expect("in-memory I/O");
    let others = |text: &[u8]| -> Vec<Vec<u8>> {
        text.split(|&b| b == b'\n').filter(|l| !l.trim_ascii_start().starts_with(b"#")).map(<[u8]>::to_vec).collect()
    };
    assert_eq!(others(&output), others(data));
});
