//! Leak sites allocated on a thread that runs another test's code.
//!
//! **The problem.** A test that starts a thread and leaves it running (a daemon thread that
//! loops, allocating) lets it allocate while the tests after it run in the same process
//! (sequentially: one regrtest process runs every test). regrtest's rule is per test: what grew
//! during a test's counted repetitions is that test's, so a later test that does nothing gets
//! the thread's growth, and leakcheck's verdict with it.
//!
//! **What is known.** The shim records no thread per allocation, nor when a thread started. But
//! a site's stacks show that its blocks were allocated on a thread that `threading` (or
//! `_thread`) started, not on the main thread that runs the tests: the native entry of such a
//! thread (`thread_run` of `_threadmodule.c`, 3.11 and 3.13 to 3.15; `pythread_wrapper`) or
//! `threading`'s own outermost frames (`Thread._bootstrap`, `Thread._bootstrap_inner`,
//! `Thread.run`). And its Python frames (the innermost four) say whose code that thread ran.
//!
//! **What is done.** A leak site allocated on such a thread whose Python frames are in another
//! test's module (by [`free_lists::in_test_code`], for the run's other tests) and none in the
//! test's own is marked with that test's name (`other_test_thread`), and the test gets a note
//! saying what that likely means. The verdict stands: the blocks did grow while the test ran,
//! by regrtest's own rule, and a test that starts such a thread itself, or hands work to one a
//! fixture started, allocates there too. The text summary, the JUnit message, the issue draft
//! and the annotations say on which thread the blocks were allocated.

#![forbid(unsafe_code)]

use super::{free_lists, plural, short_place, LeakSiteReport, TestReport};

/// The native frames of a thread started by `_thread.start_new_thread` (which `threading`
/// uses), below its Python code: `thread_run` (`_threadmodule.c` of 3.11 and 3.13 to 3.15; older
/// releases called it `t_bootstrap`) and `pythread_wrapper` (`thread_pthread.h`).
const THREAD_ENTRIES: &[&str] = &["thread_run", "t_bootstrap", "pythread_wrapper"];

/// `threading.Thread`'s own outermost frames on the thread it started.
const THREADING_FRAMES: &[&str] = &["Thread._bootstrap", "Thread._bootstrap_inner", "Thread.run"];

/// Mark the leak sites of `tests` allocated on a thread running another test's code, and add a
/// note to each test that has some (see the module documentation).
pub fn mark(tests: &mut [TestReport]) {
    let names: Vec<String> = tests.iter().map(|t| t.name.clone()).collect();
    for (index, test) in tests.iter_mut().enumerate() {
        // In the order of the test whose code ran, then of the sites.
        let mut by_test: Vec<(usize, Vec<String>, Vec<String>)> = Vec::new();
        for site in &mut test.leak_sites {
            let Some(other) = other_test_thread(site, &test.name, &names) else { continue };
            site.other_test_thread = Some(names[other].clone());
            let place = short_place(site.frames.first());
            let code: Vec<String> = site
                .python_frames
                .iter()
                .filter(|f| free_lists::in_test_code(&f.file, &names[other]))
                .map(|f| format!("{} at {}:{}", f.function, f.file.rsplit('/').next().unwrap_or(&f.file), f.line))
                .collect();
            match by_test.iter_mut().find(|(o, _, _)| *o == other) {
                Some((_, places, lines)) => {
                    places.push(place);
                    for line in code {
                        if !lines.contains(&line) {
                            lines.push(line);
                        }
                    }
                }
                None => by_test.push((other, vec![place], code)),
            }
        }
        for (other, places, lines) in by_test {
            let name = &names[other];
            let (sites, were) = match places.len() {
                1 => ("the leak site".to_owned(), "was"),
                n => (format!("{n} leak site{}", plural(n)), "were"),
            };
            let when = if other < index { ", which ran before this one" } else { "" };
            test.notes.push(format!(
                "{sites} at {} {were} allocated on another thread than the one running the tests (one started \
                 with threading or _thread), running code of another test, {name}{when} ({}), none of this \
                 test's own: likely a thread {name} left running, which allocated while this test's repetitions \
                 were measured. regrtest's rule is per test, so the verdict stands; look at {name} first",
                places.join(", "),
                lines.join(", ")
            ));
        }
    }
}

/// The index in `names` of the test whose code the thread that allocated `site`'s blocks ran,
/// when that thread is one `threading` started and its Python frames are in that test's code
/// and none in the code of `own`, the test measured.
fn other_test_thread(site: &LeakSiteReport, own: &str, names: &[String]) -> Option<usize> {
    if !on_a_started_thread(site) || site.python_frames.iter().any(|f| free_lists::in_test_code(&f.file, own)) {
        return None;
    }
    site.python_frames
        .iter()
        .find_map(|frame| names.iter().position(|name| name != own && free_lists::in_test_code(&frame.file, name)))
}

/// Whether `site`'s blocks were allocated on a thread `_thread.start_new_thread` started (see
/// [`THREAD_ENTRIES`], [`THREADING_FRAMES`]).
fn on_a_started_thread(site: &LeakSiteReport) -> bool {
    let native = site.frames.iter().any(|f| f.function.as_deref().is_some_and(|n| THREAD_ENTRIES.contains(&n)));
    let threading = site
        .python_frames
        .iter()
        .any(|f| f.file.ends_with("/threading.py") && THREADING_FRAMES.contains(&f.function.as_str()));
    native || threading
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hang::PythonFrame;
    use crate::symbolize::Frame;

    fn frame(function: &str, file: &str, line: u32) -> Frame {
        Frame {
            function: Some(function.into()),
            file: Some(file.into()),
            line: Some(line),
            column: None,
            module: "/usr/bin/python3.11d".into(),
            address: 0x1000,
            inlined: false,
        }
    }

    fn python(function: &str, file: &str, line: u32) -> PythonFrame {
        PythonFrame { function: function.into(), file: file.into(), line }
    }

    fn site(native: &[&str], python_frames: Vec<PythonFrame>) -> LeakSiteReport {
        let mut frames = vec![frame("leak_raw", "/src/_lk5.c", 77)];
        frames.extend(native.iter().map(|f| frame(f, "./Modules/_threadmodule.c", 1092)));
        LeakSiteReport {
            domain: "raw".into(),
            blocks: vec![48, 47, 48],
            bytes: vec![2688, 2632, 2688],
            frames,
            folded_frames: 1,
            python_frame: python_frames.first().cloned(),
            python_frames,
            object_types: Vec::new(),
            free_list_reuse: false,
            stack_cut: false,
            other_test_thread: None,
        }
    }

    fn test(name: &str, leak_sites: Vec<LeakSiteReport>) -> TestReport {
        TestReport { leak_sites, ..TestReport::new(name.into(), "passed") }
    }

    const THREADING: &str = "/usr/lib/python3.11/threading.py";

    /// A daemon thread an earlier test started, looping in that test's module, allocates while
    /// a later test runs: the later test's site is marked with the earlier test, and its note
    /// names the place, the code and the test.
    #[test]
    fn a_site_of_another_tests_thread_is_marked_with_that_test() {
        let spin = || python("_spin", "/t/td/test_daemon.py", 11);
        let bootstrap = || python("Thread._bootstrap_inner", THREADING, 1038);
        let mut tests = vec![
            test("test_daemon", Vec::new()),
            test("test_clean", vec![site(&["thread_run"], vec![spin(), python("Thread.run", THREADING, 975)])]),
        ];
        mark(&mut tests);
        assert_eq!(tests[1].leak_sites[0].other_test_thread.as_deref(), Some("test_daemon"));
        let [note] = tests[1].notes.as_slice() else { panic!("{:?}", tests[1].notes) };
        assert!(
            note.starts_with(
                "the leak site at leak_raw (_lk5.c:77) was allocated on another thread than the one running the \
                 tests (one started with threading or _thread), running code of another test, test_daemon, which \
                 ran before this one (_spin at test_daemon.py:11), none of this test's own"
            ),
            "{note}"
        );
        assert!(tests[0].notes.is_empty());

        // Told by threading's frames alone (the native stack cut before the thread's entry).
        let mut tests =
            vec![test("test_clean", vec![site(&[], vec![spin(), bootstrap()])]), test("test_daemon", vec![])];
        mark(&mut tests);
        assert_eq!(tests[0].leak_sites[0].other_test_thread.as_deref(), Some("test_daemon"));
        assert!(!tests[0].notes[0].contains("which ran before"), "{:?}", tests[0].notes);
    }

    /// No mark for a site of the main thread (the test calling another test module's helpers,
    /// as test_xml_etree_c runs test_xml_etree's), one with a frame in the test's own code (a
    /// thread it started itself), or one whose code is no test's of the run.
    #[test]
    fn sites_of_the_main_thread_or_own_code_are_not_marked() {
        let other = || python("helper", "/t/td/test_other.py", 5);
        let own = || python("T.test_it", "/t/td/test_it.py", 9);
        for leak in [
            site(&[], vec![other(), python("T.test_it_main", "/usr/lib/python3.11/unittest/case.py", 579)]),
            site(&["thread_run"], vec![other(), own()]),
            site(&["thread_run"], vec![python("_worker", "/usr/lib/python3.11/concurrent/futures/thread.py", 83)]),
        ] {
            let mut tests = vec![test("test_other", vec![]), test("test_it", vec![leak])];
            mark(&mut tests);
            assert_eq!(tests[1].leak_sites[0].other_test_thread, None, "{:?}", tests[1].leak_sites[0]);
            assert!(tests[1].notes.is_empty(), "{:?}", tests[1].notes);
        }
    }
}
