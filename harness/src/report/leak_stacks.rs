//! Which of a LeakSanitizer report's leaks a core developer reads first, and which frame of it
//! the JUnit XML, issue drafts and annotations point at.
//!
//! LSan prints one stack per leak, largest first; under CPython that is mostly the interpreter's
//! own memory still held at exit (`_PyMem_RawMalloc`, `new_keys_object`), and the 77 bytes an
//! extension lost come last. The text summary, whose lines the JUnit failure and the issue
//! draft excerpt, shows the first [`TEXT_LEAKS`] (and a count of the rest) in this order, the
//! JSON all of them in LSan's: first the leaks allocated by code that is not the interpreter's
//! (an extension's function, called by the interpreter or calling its API), then those whose
//! stack names some of the interpreter's code, then those whose stack is only allocator
//! plumbing (the fast unwinder stops at `_PyMem_RawMalloc`: a build without frame pointers); in
//! LSan's order within each.
//!
//! A frame is *plumbing* when it is the C runtime's or a sanitizer's
//! (`junit::is_runtime_frame`: `__interceptor_malloc`) or an allocator frame: a function of
//! [`crate::sites::is_allocator_function`]'s list in the interpreter's own code, the rule that
//! folds allocator frames from leak sites (`crate::sites::is_allocator_frame`). A runtime's
//! stack names no module for a frame it symbolized, so the interpreter's code is told from the
//! report's own frames: the frames of functions that are the interpreter's by name (allocator
//! plumbing, call dispatch and the eval loop, [`crate::sites::is_call_dispatch`]) name its
//! source root (`..` of `../Objects/obmalloc.c`, a build tree's absolute directory) and its
//! modules; a frame is the interpreter's when its file is in one of CPython's source
//! directories under such a root (`Objects/`, `Python/`, `Modules/`...), or, without a file,
//! its module is such a module or a `libpython`. An extension's own static `gc_alloc` in
//! `/src/ext/gc.c` is its code, as for leak sites.
//!
//! Of a leak, the frame pointed at is the innermost frame before the interpreter's call
//! dispatch that is neither plumbing nor the interpreter's (the extension's function, also
//! when it called `PyDict_New` which allocated), else its innermost frame that is not
//! plumbing. A frame with neither file nor module says nothing and is passed over.

#![forbid(unsafe_code)]

use crate::sanitizer::{Finding, RelatedStack, ReportFrame, Sanitizer};
use crate::sites::{is_allocator_function, is_call_dispatch};

/// Leaks the text summary shows of one report; the JSON has them all.
pub const TEXT_LEAKS: usize = 5;

/// CPython's top-level source directories.
const SOURCE_DIRS: &[&str] = &["Objects", "Python", "Modules", "Include", "Parser", "Programs"];

/// How a leak's stack reads, best first (the order [`ordered_leaks`] gives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LeakClass {
    /// Allocated by code that is not the interpreter's.
    Outside,
    /// Some frame is the interpreter's code beyond its allocator.
    Interpreter,
    /// Only allocator plumbing (and frames that say nothing).
    Plumbing,
}

/// One leak of a report, as the writers show it.
#[derive(Debug, Clone, Copy)]
pub struct Leak<'a> {
    /// Its place in LSan's report, from 0.
    pub index: usize,
    pub stack: &'a RelatedStack,
    pub class: LeakClass,
    /// The frame to point at (see the module documentation).
    pub blame: Option<&'a ReportFrame>,
    /// How many leading frames are plumbing, at most all but the last: the text starts after
    /// them (their `#N` numbers show the gap).
    pub plumbing: usize,
}

/// Where the interpreter's code is, as a report's own frames tell it.
struct Interpreter<'a> {
    roots: Vec<String>,
    modules: Vec<&'a str>,
}

impl<'a> Interpreter<'a> {
    fn of(finding: &'a Finding) -> Self {
        let mut interpreter = Interpreter { roots: Vec::new(), modules: Vec::new() };
        let frames = finding.frames.iter().chain(finding.related.iter().flat_map(|r| &r.frames));
        for frame in frames {
            let Some(function) = frame.function.as_deref() else { continue };
            if !is_interpreter_function(function) {
                continue;
            }
            match frame.file.as_deref().map(source_root) {
                Some(Some(root)) if !interpreter.roots.contains(&root) => interpreter.roots.push(root),
                Some(Some(_)) | None => {}
                // An extension's own function of that name (its static `gc_alloc`).
                Some(None) => continue,
            }
            if let Some(module) = frame.module.as_deref().filter(|m| !interpreter.modules.contains(m)) {
                interpreter.modules.push(module);
            }
        }
        interpreter
    }

    /// Whether `frame` is the interpreter's code; `None` when nothing tells (no file, no module).
    fn owns(&self, frame: &ReportFrame) -> Option<bool> {
        if let Some(file) = &frame.file {
            return Some(source_root(file).is_some_and(|root| self.roots.contains(&root)));
        }
        let module = frame.module.as_deref()?;
        let name = module.rsplit('/').next().unwrap_or(module);
        Some(self.modules.contains(&module) || name.starts_with("libpython"))
    }

    /// A runtime's frame, or an allocator function in the interpreter's code (or in code
    /// nothing tells of).
    fn is_plumbing(&self, frame: &ReportFrame) -> bool {
        super::junit::is_runtime_frame(frame.function.as_deref(), frame.file.as_deref(), frame.module.as_deref())
            || frame.function.as_deref().is_some_and(is_allocator_function) && self.owns(frame) != Some(false)
    }
}

/// Functions that are the interpreter's by their name: its allocator plumbing, its call
/// dispatch and eval loop.
fn is_interpreter_function(function: &str) -> bool {
    is_allocator_function(function) || is_call_dispatch(function)
}

/// The directory a CPython source file's top-level source directory is in: `..` of
/// `../Objects/obmalloc.c`, `` of `Objects/call.c`, `/src/cpython` of
/// `/src/cpython/./Include/object.h`; `None` for a file in none of them.
fn source_root(file: &str) -> Option<String> {
    let path = super::source_path(file);
    let parts: Vec<&str> = path.split('/').collect();
    let at = parts.iter().take(parts.len().saturating_sub(1)).position(|p| SOURCE_DIRS.contains(p))?;
    Some(parts[..at].join("/"))
}

/// The leaks of an LSan `finding` (its related stacks), best first (see the module
/// documentation); empty for another sanitizer's finding.
pub fn ordered_leaks(finding: &Finding) -> Vec<Leak<'_>> {
    if finding.sanitizer != Sanitizer::Lsan {
        return Vec::new();
    }
    let interpreter = Interpreter::of(finding);
    let mut leaks: Vec<Leak<'_>> =
        finding.related.iter().enumerate().map(|(index, stack)| leak(&interpreter, index, stack)).collect();
    leaks.sort_by_key(|leak| leak.class);
    leaks
}

fn leak<'a>(interpreter: &Interpreter<'_>, index: usize, stack: &'a RelatedStack) -> Leak<'a> {
    let frames = &stack.frames;
    let plumbing = frames.iter().take_while(|f| interpreter.is_plumbing(f)).count().min(frames.len().saturating_sub(1));
    let mut outside = None;
    let mut inside = None;
    for frame in frames.iter().filter(|f| !interpreter.is_plumbing(f)) {
        let Some(owned) = interpreter.owns(frame) else { continue };
        // From the call dispatch on, the interpreter runs Python code, which made the call.
        let dispatched = frame.function.as_deref().is_some_and(is_call_dispatch);
        if !owned && !dispatched {
            outside = Some(frame);
            break;
        }
        inside = inside.or(Some(frame));
        if dispatched {
            break;
        }
    }
    let class = match (outside, inside) {
        (Some(_), _) => LeakClass::Outside,
        (None, Some(_)) => LeakClass::Interpreter,
        (None, None) => LeakClass::Plumbing,
    };
    Leak { index, stack, class, blame: outside.or(inside), plumbing }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(index: u32, function: &str, file: Option<&str>, module: Option<&str>) -> ReportFrame {
        ReportFrame {
            index,
            address: Some(0x1000 + u64::from(index)),
            function: Some(function.to_owned()),
            file: file.map(str::to_owned),
            line: file.map(|_| 10 + index),
            column: None,
            module: module.map(str::to_owned),
            module_offset: module.map(|_| 0x10),
            build_id: None,
            inlined: false,
        }
    }

    fn lsan(stacks: Vec<Vec<ReportFrame>>) -> Finding {
        let related = stacks
            .into_iter()
            .enumerate()
            .map(|(i, frames)| RelatedStack { label: format!("Direct leak {i}"), frames })
            .collect();
        Finding {
            sanitizer: crate::sanitizer::Sanitizer::Lsan,
            ..Finding::asan("detected memory leaks", vec![], related)
        }
    }

    const MALLOC: &str = "../../../../src/libsanitizer/asan/asan_malloc_linux.cpp";

    fn summary(finding: &Finding) -> Vec<(usize, LeakClass, Option<&str>, usize)> {
        ordered_leaks(finding)
            .iter()
            .map(|l| (l.index, l.class, l.blame.and_then(|f| f.function.as_deref()), l.plumbing))
            .collect()
    }

    #[test]
    fn the_extensions_leak_comes_first_and_points_at_its_line() {
        let finding = lsan(vec![
            vec![
                frame(0, "__interceptor_malloc", Some(MALLOC), None),
                frame(1, "_PyMem_RawMalloc", Some("../Objects/obmalloc.c"), None),
            ],
            vec![
                frame(0, "__interceptor_malloc", Some(MALLOC), None),
                frame(1, "_PyMem_RawMalloc", Some("../Objects/obmalloc.c"), None),
                frame(2, "PyObject_Malloc", Some("../Objects/obmalloc.c"), None),
                frame(3, "new_keys_object", Some("../Objects/dictobject.c"), None),
                frame(4, "PyDict_New", Some("../Objects/dictobject.c"), None),
            ],
            vec![
                frame(0, "__interceptor_malloc", Some(MALLOC), None),
                frame(1, "leak", Some("/tmp/fixtures/qasan.c"), None),
                frame(2, "cfunction_vectorcall_NOARGS", Some("../Objects/methodobject.c"), None),
            ],
        ]);
        assert_eq!(
            summary(&finding),
            [
                (2, LeakClass::Outside, Some("leak"), 1),
                (1, LeakClass::Interpreter, Some("new_keys_object"), 3),
                (0, LeakClass::Plumbing, None, 1),
            ]
        );
    }

    #[test]
    fn an_extension_calling_the_api_is_blamed_not_the_interpreters_allocation() {
        let finding = lsan(vec![vec![
            frame(0, "malloc", None, Some("/lib/x86_64-linux-gnu/libasan.so.8")),
            frame(1, "PyMem_RawMalloc", None, Some("/usr/bin/python3.11d")),
            frame(2, "new_keys_object", None, Some("/usr/bin/python3.11d")),
            frame(3, "ext_init", None, Some("/tmp/x/_ext.cpython-311d-x86_64-linux-gnu.so")),
            frame(4, "cfunction_vectorcall_O", None, Some("/usr/bin/python3.11d")),
            frame(5, "other_ext_caller", None, Some("/tmp/x/_other.so")),
        ]]);
        assert_eq!(summary(&finding), [(0, LeakClass::Outside, Some("ext_init"), 2)]);
    }

    #[test]
    fn below_the_call_dispatch_the_interpreter_ran_python_code() {
        // A frame past the eval loop (glibc's, a program embedding Python) is not the leak's.
        let finding = lsan(vec![vec![
            frame(0, "__interceptor_malloc", Some(MALLOC), None),
            frame(1, "PyObject_Malloc", Some("/src/cpython/Objects/obmalloc.c"), None),
            frame(2, "list_resize", Some("/src/cpython/Objects/listobject.c"), None),
            frame(3, "_PyEval_EvalFrameDefault", Some("/src/cpython/Python/ceval.c"), None),
            frame(4, "__libc_start_call_main", Some("../sysdeps/nptl/libc_start_call_main.h"), None),
        ]]);
        assert_eq!(summary(&finding), [(0, LeakClass::Interpreter, Some("list_resize"), 2)]);
    }

    #[test]
    fn an_extensions_own_allocator_named_function_is_its_code() {
        let finding = lsan(vec![vec![
            frame(0, "__interceptor_malloc", Some(MALLOC), None),
            frame(1, "gc_alloc", Some("/src/ext/gc.c"), None),
            frame(2, "PyObject_Call", Some("../Objects/call.c"), None),
        ]]);
        assert_eq!(summary(&finding), [(0, LeakClass::Outside, Some("gc_alloc"), 1)]);
    }

    #[test]
    fn a_plain_programs_leaks_keep_their_order() {
        let finding = lsan(vec![
            vec![frame(0, "malloc", Some(MALLOC), None), frame(1, "main", Some("/src/leak.c"), None)],
            vec![frame(0, "malloc", Some(MALLOC), None), frame(1, "make", Some("/src/leak.c"), None)],
        ]);
        let order: Vec<_> = summary(&finding).iter().map(|l| (l.0, l.1)).collect();
        assert_eq!(order, [(0, LeakClass::Outside), (1, LeakClass::Outside)]);
        // An ASAN report cut before its access stack has other stacks, no leaks.
        let freed =
            RelatedStack { label: "freed by thread T0 here:".into(), frames: vec![frame(0, "free", None, None)] };
        assert!(ordered_leaks(&Finding::asan("heap-use-after-free", vec![], vec![freed])).is_empty());
    }

    #[test]
    fn source_roots_are_cpythons_top_level_directories() {
        assert_eq!(source_root("../Objects/obmalloc.c").as_deref(), Some(".."));
        assert_eq!(source_root("./build-debug/../Objects/call.c").as_deref(), Some(""));
        assert_eq!(source_root("/src/cpython/./Include/internal/pycore_call.h").as_deref(), Some("/src/cpython"));
        assert_eq!(source_root("/tmp/fixtures/qasan.c"), None);
        assert_eq!(source_root("Objects"), None);
    }
}
