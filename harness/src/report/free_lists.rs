//! Leak sites of blocks CPython recycles through its free lists, and which site a report points
//! at.
//!
//! **The problem.** CPython keeps freed dicts, tuples (of 1 to 20 items), lists, floats, dict key
//! tables of the smallest size, `contextvars.Context` objects and two kinds of async generator
//! helpers on free lists, in 3.11 and 3.13 alike (`Objects/dictobject.c`, `tupleobject.c`,
//! `listobject.c`, `floatobject.c`, `Python/context.c`, `Objects/genobject.c`), and hands them
//! out again without calling the allocator. regrtest's `gc.collect()` empties those lists before
//! each of its measurements; in the next repetition the first code that needs such a block
//! (unittest's loader, `TestCase.run`, regrtest's own bookkeeping) allocates one, which is the
//! site the shim records, drops it onto the free list, and the code that leaks takes it from
//! there, with no allocator call to record. The leaked block's site is then unittest's line,
//! not the leak's: the shim cannot see the reuse (3.11 has no hook for it).
//!
//! **What is done.** A leak site whose blocks are such objects (its `object_types`, all of a
//! free-list type; or dict key tables, a function that allocates them at its top:
//! `new_keys_object` or `clone_combined_dict_keys`, whichever first allocated the table the
//! free list handed on), allocated by the interpreter for the Python code it ran (no extension
//! module's C frame between the allocator and the eval loop: an extension's `PyDict_New` in its
//! `tp_new` is a site of its own), whose Python frames never reach the test's own module (its
//! file, its package's files, its doctests), is marked `free_list_reuse`, and the test gets a
//! note saying what that means.
//! The site stays among `leak_sites`: its numbers are true. The outputs that point at one site
//! (the JUnit message, issue drafts, annotations: [`preferred_site`]) prefer a site without the
//! mark; when every site has it, they say so ([`unattributable`]) instead of naming unittest's
//! line as the leak.
//!
//! **3.13 and later.** There the shim follows objects off the free lists through CPython's
//! reference tracer (`shims/src/reftrace.rs`; the series' `objects_followed`): an object's site
//! is where it was made, free list or not, and only dict key tables, which are no objects, can
//! be marked.

#![forbid(unsafe_code)]

use super::{and_list, LeakSiteReport, TestReport};
use crate::symbolize::Frame;

/// The `tp_name`s of the types whose objects CPython 3.11 and 3.13 take from a free list that
/// regrtest's `gc.collect()` empties (`_PyTuple_ClearFreeList`, `_PyFloat_ClearFreeList`,
/// `_PyList_ClearFreeList`, `_PyDict_ClearFreeList`, `_PyContext_ClearFreeList`,
/// `_PyAsyncGen_ClearFreeLists`). Only objects of exactly these types: a subclass's instances
/// come from the allocator.
const FREE_LIST_TYPES: &[&str] = &[
    "dict",
    "tuple",
    "list",
    "float",
    "_contextvars.Context",
    "async_generator_wrapped_value",
    "async_generator_asend",
];

/// The functions that allocate a dict's key table (`PyDictKeysObject`; an `obj` block in 3.11,
/// `mem` from 3.13 on): a table is no object, so it has no type, and its site is known by the
/// function that asked for its memory. In 3.11, 3.13, 3.14 and 3.15 alike (`Objects/dictobject.c`;
/// every allocator call of the file, checked in Debian's `python3.1Xd`) there are two:
/// `new_keys_object`, which takes a table of the smallest size off the key-table free list or
/// allocates one (a dict's first key, a resize, a presized dict, a class's shared keys), and
/// `clone_combined_dict_keys`, which allocates a copy of a dict's table (`PyDict_Copy`, and
/// `dict_merge` into an empty dict: `dict(d)`, `d.copy()`, a call's `**kwargs`). Either table
/// goes onto the free list when it dies (`free_keys_object`, 3.11's `dictresize`) if it is of
/// the smallest size with `str` keys, so the table a leaking dict took off the free list may
/// have been first allocated by either: a copy regrtest's `functools.partial(...)(**kwargs)`
/// made is as likely as a dict unittest filled.
const KEY_TABLE_ALLOCATORS: &[&str] = &["new_keys_object", "clone_combined_dict_keys"];

/// What a site's blocks are, when CPython recycles such blocks through a free list: `dict
/// objects`, `dict and tuple objects`, `dict key tables`.
pub fn recycled_kind(site: &LeakSiteReport) -> Option<String> {
    if !site.object_types.is_empty() && site.object_types.iter().all(|t| FREE_LIST_TYPES.contains(&t.as_str())) {
        let types = site.object_types.iter().map(String::as_str).collect::<Vec<_>>();
        return Some(format!("{} objects", and_list(&types)));
    }
    let top = site.frames.first().and_then(|f| f.function.as_deref());
    (site.object_types.is_empty() && top.is_some_and(|f| KEY_TABLE_ALLOCATORS.contains(&f)))
        .then(|| "dict key tables".to_owned())
}

/// Whether `site` is one whose blocks may have been taken from a free list by the code that
/// leaks (see the module documentation): its `free_list_reuse`. `objects_followed`: the shim
/// saw objects taken off free lists (3.13+), so only dict key tables can be.
pub fn is_free_list_reuse(site: &LeakSiteReport, test: &str, objects_followed: bool) -> bool {
    recycled_kind(site).is_some_and(|_| !objects_followed || site.object_types.is_empty())
        && !site.python_frames.iter().chain(&site.python_frame).any(|f| in_test_code(&f.file, test))
        && super::junit::made_for_python_code(&site.frames)
}

/// Whether `file` holds code of regrtest's test `test`: its module (see
/// `junit::is_test_file`), a module of its package (`test_asyncio/test_tasks.py` for
/// `test_asyncio`), or one of its doctests' examples (`<doctest test_x.f[0]>`).
pub fn in_test_code(file: &str, test: &str) -> bool {
    let path = test.replace('.', "/");
    let module = path.rsplit('/').next().unwrap_or(&path);
    super::junit::is_test_file(file, test)
        || file.contains(&format!("/{path}/"))
        || file.starts_with(&format!("{path}/"))
        || (file.starts_with("<doctest ") && file.contains(module))
}

/// Mark the test's sites (leak sites and suppressed ones) that may be free-list reuse, and add
/// the note that says what that means, for its unsuppressed ones. `objects_followed`: see
/// [`is_free_list_reuse`].
pub fn mark(test: &mut TestReport, objects_followed: bool) {
    let name = test.name.clone();
    for site in test.leak_sites.iter_mut().chain(test.suppressed_sites.iter_mut().map(|s| &mut s.site)) {
        site.free_list_reuse = is_free_list_reuse(site, &name, objects_followed);
    }
    let marked: Vec<&LeakSiteReport> = test.leak_sites.iter().filter(|s| s.free_list_reuse).collect();
    if marked.is_empty() {
        return;
    }
    let described: Vec<String> = marked.iter().take(MAX_NOTED).map(|site| describe(site)).collect();
    let more = marked.len().saturating_sub(MAX_NOTED);
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    let regrtest: Vec<String> = test.regrtest.failing_items();
    let regrtest = if regrtest.is_empty() {
        String::new()
    } else {
        format!(" (regrtest reported {} for the test)", regrtest.join(", "))
    };
    let which =
        if marked.len() == test.leak_sites.len() { "its leak sites" } else { "the leak sites marked free_list_reuse" };
    let recycled = if objects_followed {
        "dict key tables through a free list (objects taken off free lists were followed; key tables, \
         which are no objects, cannot be)"
    } else {
        "dicts, tuples, lists, floats and dict key tables through free lists"
    };
    test.notes.push(format!(
        "{which} ({}{more}) are where the repetition first allocated such a block, not where the leaked \
         object was taken: CPython recycles {recycled}, which regrtest's gc.collect() empties at each \
         measurement, so the code that leaks likely took its block from a free list, with no allocation \
         to record. Look at the test's own code{regrtest}",
        described.join("; ")
    ));
}

/// Sites described in the note, at most.
const MAX_NOTED: usize = 3;

/// `dict objects in obj at new_dict (Objects/dictobject.c:737) under TestCase.run
/// (/usr/lib/python3.11/unittest/case.py:618)`.
fn describe(site: &LeakSiteReport) -> String {
    let kind = recycled_kind(site).unwrap_or_else(|| "blocks".into());
    let mut text = format!("{kind} in {}", site.domain);
    if let Some(frame) = site.frames.first() {
        text.push_str(" at ");
        text.push_str(&c_frame(frame));
    }
    if let Some(python) = &site.python_frame {
        text.push_str(&format!(" under {} ({}:{})", python.function, python.file, python.line));
    }
    text
}

fn c_frame(frame: &Frame) -> String {
    let function = frame.function.as_deref().unwrap_or("??");
    match (&frame.file, frame.line) {
        (Some(file), Some(line)) => format!("{function} ({}:{line})", super::source_path(file)),
        _ => function.to_owned(),
    }
}

/// The site a one-line report of the test points at: the first (largest) site not marked
/// `free_list_reuse` with a Python frame in the test's own code, else the first not marked; none
/// when every site is marked (see [`unattributable`]).
pub fn preferred_site(test: &TestReport) -> Option<&LeakSiteReport> {
    let unmarked = || test.leak_sites.iter().filter(|s| !s.free_list_reuse);
    let in_test = |site: &&LeakSiteReport| site.python_frames.iter().any(|f| in_test_code(&f.file, &test.name));
    unmarked().find(in_test).or_else(|| unmarked().next())
}

/// The sites in the order the text summary shows them: those not marked `free_list_reuse`
/// first, each group largest first.
pub fn display_order(test: &TestReport) -> Vec<&LeakSiteReport> {
    let (marked, unmarked): (Vec<&LeakSiteReport>, Vec<&LeakSiteReport>) =
        test.leak_sites.iter().partition(|s| s.free_list_reuse);
    unmarked.into_iter().chain(marked).collect()
}

/// When the test has leak sites and every one is marked `free_list_reuse`, what to say instead
/// of a site: `2 blocks/repetition in obj: dict objects and dict key tables recycled through
/// CPython's free lists; allocation site not attributable`.
pub fn unattributable(test: &TestReport) -> Option<String> {
    if test.leak_sites.is_empty() || test.leak_sites.iter().any(|s| !s.free_list_reuse) {
        return None;
    }
    let mut parts = Vec::new();
    for domain in crate::shim_events::DOMAINS {
        let sites: Vec<&LeakSiteReport> = test.leak_sites.iter().filter(|s| s.domain == domain).collect();
        if sites.is_empty() {
            continue;
        }
        let blocks = summed(&sites, |s| &s.blocks);
        let mut kinds: Vec<String> = Vec::new();
        for kind in sites.iter().filter_map(|s| recycled_kind(s)) {
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        let mut kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
        if kinds.is_empty() {
            kinds.push("blocks");
        }
        let per = per_repetition(&blocks);
        let unit = block_unit(&per);
        parts.push(format!(
            "{per} {unit}/repetition in {domain}: {} recycled through CPython's free lists",
            and_list(&kinds)
        ));
    }
    Some(format!("{}; allocation site not attributable", parts.join("; ")))
}

/// Per counted repetition, the sum of `values` over `sites` (a site short of a repetition
/// counts 0 there).
pub(super) fn summed(sites: &[&LeakSiteReport], values: fn(&LeakSiteReport) -> &[i64]) -> Vec<i64> {
    let counted = sites.iter().map(|s| values(s).len()).max().unwrap_or(0);
    (0..counted).map(|i| sites.iter().map(|s| values(s).get(i).copied().unwrap_or(0)).sum()).collect()
}

/// `block` after a [`per_repetition`] of `1`, else `blocks`.
pub(super) fn block_unit(per: &str) -> &'static str {
    if per == "1" {
        "block"
    } else {
        "blocks"
    }
}

/// `3`, or `1-3` when the repetitions differ.
pub(super) fn per_repetition(values: &[i64]) -> String {
    let (min, max) = (values.iter().min().copied().unwrap_or(0), values.iter().max().copied().unwrap_or(0));
    if min == max {
        min.to_string()
    } else {
        format!("{min}-{max}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hang::PythonFrame;

    fn frame(function: &str, file: &str, module: &str) -> Frame {
        Frame {
            function: Some(function.into()),
            file: Some(file.into()),
            line: Some(10),
            column: None,
            module: module.into(),
            address: 0x1000,
            inlined: false,
        }
    }

    const PYTHON: &str = "/usr/bin/python3.11-dbg";

    /// An `obj` site of `types` at `top`, called from the eval loop through `via` (a module), with
    /// the Python frame `python`.
    fn site(types: &[&str], top: &str, via: &str, python: (&str, &str)) -> LeakSiteReport {
        let python = PythonFrame { function: python.0.into(), file: python.1.into(), line: 618 };
        LeakSiteReport {
            domain: "obj".into(),
            blocks: vec![1, 1, 1],
            bytes: vec![64, 64, 64],
            frames: vec![
                frame(top, "Objects/dictobject.c", PYTHON),
                frame("caller", "x.c", via),
                frame("_PyEval_EvalFrameDefault", "Python/ceval.c", PYTHON),
            ],
            folded_frames: 1,
            python_frame: Some(python.clone()),
            python_frames: vec![python],
            object_types: types.iter().map(|t| (*t).to_owned()).collect(),
            free_list_reuse: false,
            stack_cut: false,
            other_test_thread: None,
        }
    }

    const UNITTEST: (&str, &str) = ("TestCase.run", "/usr/lib/python3.11/unittest/case.py");

    #[test]
    fn objects_of_free_list_types_allocated_for_other_code_are_marked() {
        let dict = site(&["dict"], "new_dict", PYTHON, UNITTEST);
        assert!(is_free_list_reuse(&dict, "test_x", false));
        assert_eq!(recycled_kind(&dict).as_deref(), Some("dict objects"));
        // A key table has no type; its function says what it is.
        let keys = site(&[], "new_keys_object", PYTHON, UNITTEST);
        assert!(is_free_list_reuse(&keys, "test_x", false));
        assert_eq!(recycled_kind(&keys).as_deref(), Some("dict key tables"));
        // A copy of a dict's key table goes onto the same free list when it dies.
        let copied = site(&[], "clone_combined_dict_keys", PYTHON, UNITTEST);
        assert!(is_free_list_reuse(&copied, "test_x", false));
        assert_eq!(recycled_kind(&copied).as_deref(), Some("dict key tables"));
        // Another type, or another block of no type, is allocated where it is made.
        assert!(!is_free_list_reuse(&site(&["Kept"], "object_new", PYTHON, UNITTEST), "test_x", false));
        assert!(!is_free_list_reuse(&site(&["dict", "Kept"], "new_dict", PYTHON, UNITTEST), "test_x", false));
        assert!(!is_free_list_reuse(&site(&[], "PyList_New", PYTHON, UNITTEST), "test_x", false));
        // A Python frame in the test's code: that code took the block, or made it.
        let in_test = ("T.test_a", "/tmp/t/test_x.py");
        assert!(!is_free_list_reuse(&site(&["dict"], "new_dict", PYTHON, in_test), "test_x", false));
        let in_package = ("T.test_a", "/tmp/t/test_pkg/test_inner.py");
        assert!(!is_free_list_reuse(&site(&["dict"], "new_dict", PYTHON, in_package), "test_pkg", false));
        let doctest = ("<module>", "<doctest test_x.f[0]>");
        assert!(!is_free_list_reuse(&site(&["tuple"], "tuple_alloc", PYTHON, doctest), "test_x", false));
        // An extension's C code asked for it (a tp_new's PyDict_New): its own site.
        assert!(!is_free_list_reuse(&site(&["dict"], "new_dict", "/t/_leaky.so", UNITTEST), "test_x", false));
    }

    #[test]
    fn where_objects_were_followed_only_key_tables_are_marked() {
        let dict = site(&["dict"], "new_dict", PYTHON, UNITTEST);
        assert!(!is_free_list_reuse(&dict, "test_x", true));
        let keys = site(&[], "new_keys_object", PYTHON, UNITTEST);
        assert!(is_free_list_reuse(&keys, "test_x", true));
        let mut test = TestReport::new("test_x".into(), "passed");
        test.leak_sites = vec![dict, keys];
        mark(&mut test, true);
        assert_eq!(test.leak_sites.iter().map(|s| s.free_list_reuse).collect::<Vec<_>>(), [false, true]);
        let note = test.notes.join("\n");
        assert!(note.contains("CPython recycles dict key tables through a free list"), "{note}");
    }

    fn test_with(sites: Vec<LeakSiteReport>) -> TestReport {
        let mut test = TestReport::new("test_x".into(), "reference_leak");
        test.leak_sites = sites;
        test.regrtest.references = Some(vec![4, 4, 4]);
        test.regrtest.failing = vec!["references"];
        mark(&mut test, false);
        test
    }

    #[test]
    fn every_site_marked_is_said_to_be_not_attributable() {
        let mut keys = site(&[], "new_keys_object", PYTHON, ("TestLoader.getTestCaseNames", "/u/loader.py"));
        keys.domain = "mem".into();
        let test = test_with(vec![
            site(&["dict"], "new_dict", PYTHON, UNITTEST),
            keys,
            site(&["tuple"], "tuple_alloc", PYTHON, UNITTEST),
        ]);
        assert!(test.leak_sites.iter().all(|s| s.free_list_reuse));
        assert!(preferred_site(&test).is_none());
        assert_eq!(
            unattributable(&test).as_deref(),
            Some(
                "1 block/repetition in mem: dict key tables recycled through CPython's free lists; 2 \
                 blocks/repetition in obj: dict objects and tuple objects recycled through CPython's free lists; \
                 allocation site not attributable"
            )
        );
        let [note] = test.notes.as_slice() else { panic!("{:?}", test.notes) };
        assert!(note.starts_with("its leak sites (dict objects in obj at new_dict (Objects/dictobject.c:10) under TestCase.run (/usr/lib/python3.11/unittest/case.py:618); "), "{note}");
        assert!(
            note.ends_with("Look at the test's own code (regrtest reported references [4, 4, 4] for the test)"),
            "{note}"
        );
    }

    /// QA's two dicts kept per repetition on 3.11: the second one's key table was first
    /// allocated as the copy of regrtest's `**kwargs` (`clone_combined_dict_keys` under
    /// `PyDict_Copy`, `get_test_runner`), then dropped onto the key-table free list. Every site is
    /// recycled, so no output may name regrtest's line as the leak; from 3.13 on, where the dicts
    /// are followed, both key tables are marked and the dicts' own sites are named.
    #[test]
    fn a_key_table_first_allocated_as_a_copy_is_not_named_as_the_leak() {
        let mut copied =
            site(&[], "clone_combined_dict_keys", PYTHON, ("get_test_runner", "/u/test/support/testresult.py"));
        copied.frames.insert(1, frame("PyDict_Copy", "Objects/dictobject.c", PYTHON));
        let keys = site(&[], "new_keys_object", PYTHON, ("TestLoader.getTestCaseNames", "/u/loader.py"));
        let dicts = [site(&["dict"], "new_dict", PYTHON, UNITTEST), site(&["dict"], "new_dict", PYTHON, UNITTEST)];
        let test = test_with(vec![copied.clone(), keys.clone(), dicts[0].clone(), dicts[1].clone()]);
        assert!(test.leak_sites.iter().all(|s| s.free_list_reuse), "{:?}", test.leak_sites);
        assert!(preferred_site(&test).is_none());
        assert_eq!(
            unattributable(&test).as_deref(),
            Some(
                "4 blocks/repetition in obj: dict key tables and dict objects recycled through CPython's free \
                 lists; allocation site not attributable"
            )
        );

        let in_test = ("PyDicts.test_two_dicts", "/t/test_x.py");
        let mut followed = TestReport::new("test_x".into(), "reference_leak");
        followed.leak_sites = vec![
            copied,
            keys,
            site(&["dict"], "new_dict", PYTHON, in_test),
            site(&["dict"], "new_dict", PYTHON, in_test),
        ];
        mark(&mut followed, true);
        let marks: Vec<bool> = followed.leak_sites.iter().map(|s| s.free_list_reuse).collect();
        assert_eq!(marks, [true, true, false, false]);
        assert_eq!(
            preferred_site(&followed).and_then(|s| s.python_frame.as_ref()).map(|f| f.file.as_str()),
            Some("/t/test_x.py")
        );
        let order: Vec<bool> = display_order(&followed).iter().map(|s| s.free_list_reuse).collect();
        assert_eq!(order, [false, false, true, true], "the copied table is shown with the recycled ones");
    }

    #[test]
    fn a_site_not_marked_is_preferred_and_shown_first() {
        let tp_new = site(&["dict"], "new_dict", "/t/_leaky.so", ("helper", "/u/lib.py"));
        let in_test = site(&["list"], "PyList_New", PYTHON, ("T.test_a", "/t/test_x.py"));
        let test = test_with(vec![site(&["dict"], "new_dict", PYTHON, UNITTEST), tp_new, in_test]);
        assert_eq!(test.leak_sites.iter().map(|s| s.free_list_reuse).collect::<Vec<_>>(), [true, false, false]);
        // In the test's code first, then any other not marked.
        assert_eq!(preferred_site(&test).map(|s| s.object_types.clone()), Some(vec!["list".to_owned()]));
        let order: Vec<bool> = display_order(&test).iter().map(|s| s.free_list_reuse).collect();
        assert_eq!(order, [false, false, true]);
        assert!(unattributable(&test).is_none());
        let mut without_test_site = test.clone();
        without_test_site.leak_sites.pop();
        assert_eq!(preferred_site(&without_test_site).map(|s| s.frames[1].module.clone()), Some("/t/_leaky.so".into()));
        assert!(
            test.notes[0].starts_with("the leak sites marked free_list_reuse (dict objects in obj"),
            "{:?}",
            test.notes
        );
        // Nothing marked, no note.
        assert!(test_with(vec![]).notes.is_empty());
    }
}
