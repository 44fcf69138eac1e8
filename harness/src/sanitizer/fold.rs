//! Leaving leakcheck's own frames out of findings: the preload shim sits between CPython's
//! allocator API and the allocator it wraps (`PyMem_RawFree` -> `hook_free` -> the debug hooks),
//! so its frames show up in sanitizer stacks. They are plumbing, like the allocator frames
//! folded from leak sites, and they would split one bug into several findings (the dedup
//! signature is the top frames) and stay bare (`symbolize=0`: the run directory's copy of the
//! shim is gone by the time findings are symbolized).

#![forbid(unsafe_code)]

use super::{Finding, ReportFrame};

/// Remove from every stack of `findings` the frames of the module whose file name is
/// `module_file`, or of functions of the Rust crate `crate_name` (a runtime that found a line
/// for a frame prints no module). Leading frames of an access stack are kept: there the fault
/// is in that module itself. The other frames keep their printed `#N` numbers, so a gap shows
/// where frames were left out.
pub fn fold_frames_of(findings: &mut [Finding], module_file: &str, crate_name: &str) {
    let own = |frame: &ReportFrame| is_own_frame(frame, module_file, crate_name);
    for finding in findings {
        let leading = finding.frames.iter().take_while(|f| own(f)).count();
        let mut index = 0;
        finding.frames.retain(|frame| {
            index += 1;
            index <= leading || !own(frame)
        });
        for related in &mut finding.related {
            related.frames.retain(|frame| !own(frame));
        }
    }
}

fn is_own_frame(frame: &ReportFrame, module_file: &str, crate_name: &str) -> bool {
    if let Some(module) = &frame.module {
        return module.rsplit('/').next() == Some(module_file);
    }
    let Some(function) = frame.function.as_deref() else { return false };
    // Demangled (`leakcheck_shim::hooks::hook_free::h...`, `<leakcheck_shim::X as T>::f`) or
    // in the legacy mangling (`_ZN14leakcheck_shim5hooks...`).
    let demangled = function.trim_start_matches('<');
    let in_crate = demangled.strip_prefix(crate_name).is_some_and(|rest| rest.starts_with("::"));
    in_crate || function.starts_with(&format!("_ZN{}{crate_name}", crate_name.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sanitizer::RelatedStack;

    fn frame(index: u32, function: &str, module: Option<&str>) -> ReportFrame {
        ReportFrame {
            index,
            address: Some(0x1000 + u64::from(index)),
            function: Some(function.to_owned()),
            file: None,
            line: None,
            column: None,
            module: module.map(str::to_owned),
            module_offset: module.map(|_| 0x10),
            build_id: None,
            inlined: false,
        }
    }

    fn finding(frames: Vec<ReportFrame>, related: Vec<ReportFrame>) -> Finding {
        let freed = RelatedStack { label: "freed by thread T0 here:".into(), frames: related };
        Finding::asan("double-free", frames, vec![freed])
    }

    fn names(frames: &[ReportFrame]) -> Vec<(u32, &str)> {
        frames.iter().map(|f| (f.index, f.function.as_deref().unwrap_or_default())).collect()
    }

    const SHIM: &str = "/tmp/leakcheck-x/libleakcheck_shim.so";

    #[test]
    fn shim_frames_are_left_out_by_module_or_crate() {
        let mut findings = vec![finding(
            vec![
                frame(0, "free", Some("/lib/libasan.so.8")),
                frame(1, "_ZN14leakcheck_shim5hooks9hook_free17h39E.llvm.53", Some(SHIM)),
                frame(2, "PyMem_RawFree", None),
                frame(3, "leakcheck_shim::boundaries::bracketed_call::h53", None),
                frame(4, "caller", None),
            ],
            vec![frame(0, "malloc", None), frame(1, "<leakcheck_shim::A as B>::f", None), frame(2, "caller", None)],
        )];
        fold_frames_of(&mut findings, "libleakcheck_shim.so", "leakcheck_shim");
        assert_eq!(names(&findings[0].frames), [(0, "free"), (2, "PyMem_RawFree"), (4, "caller")]);
        assert_eq!(names(&findings[0].related[0].frames), [(0, "malloc"), (2, "caller")]);
    }

    #[test]
    fn a_fault_in_the_shim_keeps_its_top_frames() {
        let mut findings = vec![finding(
            vec![
                frame(0, "leakcheck_shim::hooks::hook_malloc::h8", Some(SHIM)),
                frame(1, "PyMem_RawMalloc", None),
                frame(2, "leakcheck_shim::boundaries::x", Some(SHIM)),
            ],
            vec![],
        )];
        fold_frames_of(&mut findings, "libleakcheck_shim.so", "leakcheck_shim");
        assert_eq!(names(&findings[0].frames), [(0, "leakcheck_shim::hooks::hook_malloc::h8"), (1, "PyMem_RawMalloc")]);
    }

    #[test]
    fn other_modules_and_look_alikes_stay() {
        let mut findings = vec![finding(
            vec![
                frame(0, "leakcheck_shimmer::f", None),
                frame(1, "f", Some("/lib/libleakcheck_shim.so.1")),
                frame(2, "_ZN15leakcheck_shimmer1fE", None),
            ],
            vec![],
        )];
        fold_frames_of(&mut findings, "libleakcheck_shim.so", "leakcheck_shim");
        assert_eq!(findings[0].frames.len(), 3);
    }
}
