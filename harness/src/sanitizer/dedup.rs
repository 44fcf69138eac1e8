//! Merging findings that report the same bug.

#![forbid(unsafe_code)]

use std::collections::HashMap;

use super::{Finding, ReportFrame, Sanitizer};

/// Frames of a stack compared by [`deduplicate`].
pub const DEDUP_FRAMES: usize = 5;

/// One frame of a signature: the function and source location (file name and line) when the
/// sanitizer (or [`symbolize_findings`](super::symbolize_findings)) gave one, else the module
/// and offset, else the function; never the raw address, which ASLR changes from run to run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FrameKey {
    Source { function: Option<String>, file: String, line: Option<u32> },
    Module { module: String, offset: u64 },
    Function(String),
    Unknown,
}

fn frame_key(frame: &ReportFrame) -> FrameKey {
    match (&frame.file, &frame.module, frame.module_offset, &frame.function) {
        (Some(file), _, _, function) if frame.line.is_some() || function.is_some() => {
            // The file's name only: symbolizers differ in how they join directories
            // (`../csu/libc-start.c`, `./csu/../csu/libc-start.c`).
            let name = file.rsplit('/').next().unwrap_or(file);
            FrameKey::Source { function: function.clone(), file: name.to_owned(), line: frame.line }
        }
        (_, Some(module), Some(offset), _) => FrameKey::Module { module: module.clone(), offset },
        (_, _, _, Some(function)) => FrameKey::Function(function.clone()),
        _ => FrameKey::Unknown,
    }
}

type Signature = (Sanitizer, String, Vec<Vec<FrameKey>>);

/// The sanitizer, the kind, and the first [`DEDUP_FRAMES`] frames of the access stack; for a
/// report without one (LSan), of every related stack.
fn signature(finding: &Finding) -> Signature {
    let stack = |frames: &[ReportFrame]| frames.iter().take(DEDUP_FRAMES).map(frame_key).collect::<Vec<_>>();
    let stacks = if finding.frames.is_empty() {
        finding.related.iter().map(|r| stack(&r.frames)).collect()
    } else {
        vec![stack(&finding.frames)]
    };
    (finding.sanitizer, finding.kind.clone(), stacks)
}

/// Merge findings with the same signature (sanitizer, kind, first [`DEDUP_FRAMES`] frames'
/// function+file+line or module+offset), summing their counts. The first finding of each
/// signature is kept, in input order, with the tests of the others in
/// [`Finding::other_tests`]. Symbolize first ([`super::symbolize_findings`]): a frame
/// symbolized in one finding and not in another does not compare equal.
pub fn deduplicate(findings: Vec<Finding>) -> Vec<Finding> {
    let mut kept: Vec<Finding> = Vec::new();
    let mut by_signature: HashMap<Signature, usize> = HashMap::new();
    for finding in findings {
        let key = signature(&finding);
        match by_signature.get(&key) {
            Some(&index) => {
                let first = &mut kept[index];
                first.count = first.count.saturating_add(finding.count);
                let tests = finding.test.into_iter().chain(finding.other_tests);
                for test in tests {
                    if first.test.as_ref() != Some(&test) && !first.other_tests.contains(&test) {
                        first.other_tests.push(test);
                    }
                }
            }
            None => {
                by_signature.insert(key, kept.len());
                kept.push(finding);
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::super::RelatedStack;
    use super::*;

    fn frame(index: u32, function: &str, file: &str, line: u32, address: u64) -> ReportFrame {
        ReportFrame {
            index,
            address: Some(address),
            function: Some(function.into()),
            file: Some(file.into()),
            line: Some(line),
            column: None,
            module: None,
            module_offset: None,
            build_id: None,
            inlined: false,
        }
    }

    fn finding(kind: &str, frames: Vec<ReportFrame>, test: &str) -> Finding {
        Finding { test: Some(test.into()), ..Finding::asan(kind, frames, Vec::new()) }
    }

    #[test]
    fn same_top_frames_merge_whatever_the_addresses() {
        let stack = |base: u64, sixth: &str| {
            let mut frames: Vec<ReportFrame> =
                (0..5).map(|i| frame(i, &format!("f{i}"), "/src/a.c", 10 + i, base + u64::from(i))).collect();
            frames.push(frame(5, sixth, "/src/b.c", 1, base + 5));
            frames
        };
        let findings = vec![
            finding("heap-buffer-overflow", stack(0x5500_0000_0000, "x"), "test_a"),
            finding("heap-buffer-overflow", stack(0x5600_0000_0000, "y"), "test_b"),
            finding("heap-use-after-free", stack(0x5700_0000_0000, "x"), "test_c"),
            finding("heap-buffer-overflow", stack(0x5800_0000_0000, "z"), "test_a"),
        ];
        let merged = deduplicate(findings);
        let summary: Vec<(&str, u32, Option<&str>, &[String])> =
            merged.iter().map(|f| (f.kind.as_str(), f.count, f.test.as_deref(), f.other_tests.as_slice())).collect();
        assert_eq!(
            summary,
            [
                ("heap-buffer-overflow", 3, Some("test_a"), &["test_b".to_owned()][..]),
                ("heap-use-after-free", 1, Some("test_c"), &[][..])
            ]
        );
    }

    #[test]
    fn a_different_line_is_a_different_bug() {
        let a = finding("SEGV", vec![frame(0, "poke", "/src/s.c", 7, 1)], "t");
        let b = finding("SEGV", vec![frame(0, "poke", "/src/s.c", 8, 1)], "t");
        assert_eq!(deduplicate(vec![a, b]).len(), 2);
    }

    #[test]
    fn lsan_reports_compare_their_leak_stacks() {
        let leak = |line: u32| {
            let mut f = finding("detected memory leaks", Vec::new(), "t");
            f.sanitizer = Sanitizer::Lsan;
            f.related = vec![RelatedStack {
                label: "Direct leak of 8 byte(s) in 1 object(s) allocated from:".into(),
                frames: vec![frame(0, "malloc", "/src/l.c", line, 1)],
            }];
            f
        };
        let merged = deduplicate(vec![leak(1), leak(1), leak(2)]);
        assert_eq!(merged.iter().map(|f| f.count).collect::<Vec<_>>(), [2, 1]);
    }

    #[test]
    fn unsymbolized_frames_compare_by_module_and_offset() {
        let raw = |address: u64| ReportFrame {
            index: 0,
            address: Some(address),
            function: None,
            file: None,
            line: None,
            column: None,
            module: Some("/lib/x.so".into()),
            module_offset: Some(0x11f8),
            build_id: None,
            inlined: false,
        };
        let merged = deduplicate(vec![
            finding("SEGV", vec![raw(0x7f01_0000_11f8)], "a"),
            finding("SEGV", vec![raw(0x7f02_0000_11f8)], "a"),
        ]);
        assert_eq!((merged.len(), merged[0].count, merged[0].other_tests.len()), (1, 2, 0));
    }
}
