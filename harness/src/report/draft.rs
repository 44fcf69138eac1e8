//! Issue drafts: one Markdown file per failing test, ready to paste into a CPython issue,
//! following the buildbot triage guide ("The Night's Watch", python-ci-notes): search for an
//! existing issue first (the test method in titles, then the test file, then full text); file
//! one titled with the test name, the test method and the builder (`test_posix: TestPosixSpawn
//! fails on PPC64 Fedora 3.x`), whose description has the link to the failing build and the
//! useful part of the log.
//!
//! **What it writes.** [`issue_drafts`] gives one [`IssueDraft`] per [`Case`] that failed (a leak,
//! a regrtest failure, a hang, a sanitizer finding), and one for the run itself only when it has a
//! finding or hang no test owns: its other problems (the command could not start, was interrupted
//! or killed, exited non-zero with no failing test to explain it, as after a usage error or a
//! test's own `KeyboardInterrupt`) are no CPython bug to file as such; the JUnit XML and the
//! annotations say them, and the test that was running has its own draft if it failed. Each draft
//! is: the title as a `#` heading (naming the failing method as unittest's headers or regrtest's
//! traceback give it; for a hang or a crash that names none, the test method its Python stack shows
//! running: the hung thread's, faulthandler's dump; with its class where the output names none,
//! read off the method's source); a "Before filing" section with GitHub
//! issue-search links for the search terms, in the guide's order; what failed (outcome, failed
//! methods or the method a hang or crash shows running, leak message, builder and branch); the log
//! excerpt (leakcheck's summary lines for the test, the top leak site's frames, regrtest's leak
//! lines, the failure text) in a fenced block; and the fields the guide asks to fill (link, Python
//! version, "Tests" component).
//!
//! **Untrusted text.** Test, method, function and file names come from the child. Control
//! characters are made visible first ([`crate::escape::for_terminal`]). Inline text is either a
//! code span (a backtick fence longer than any backtick run inside, so nothing in it is markup,
//! mention, link or HTML) or backslash-escaped ASCII punctuation; log excerpts are fenced with
//! more backticks than the longest run they contain. The title line is the exception: it is
//! the plain title a triager pastes into GitHub's title field, which shows plain text, so it
//! carries no Markdown escapes (a backslash would stay in the title); a viewer that renders
//! the whole file as Markdown renders whatever markup a name has there. Everything after it is
//! the body, safe to paste as the issue's description. Search terms are
//! percent-encoded into the URLs. File names keep only `[A-Za-z0-9._-]`, never start with a dot,
//! are bounded in length, carry a checksum of the full name when anything was changed, and are
//! unique within one call.
//!
//! **What the caller provides.** The report, the builder and branch names if known (flags, or
//! [`builder_from_env`]; an empty name, `Some("")`, for one a flag named none on purpose), and a
//! [`SourceReader`] for the Python files the output's frames name: where the output names a
//! method but not its class (a traceback or a Python stack without `-v`), the class is read off
//! the method's source ([`super::pysource`]). It does no I/O of its own: the caller writes
//! `markdown` to `file_name` in a directory of its choice. It does not search GitHub or file
//! anything.

#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt::Write as _;

use super::junit::{cases, distinct_methods, Case, FailureKind, DEADLOCK_MESSAGE, RUN_CASE};
use super::RunReport;
use crate::escape::for_terminal;

/// Where the search links point: CPython's issue tracker.
pub const ISSUES_SEARCH_URL: &str = "https://github.com/python/cpython/issues?q=";

/// Longest title, in characters (GitHub allows 256).
const MAX_TITLE_CHARS: usize = 200;
/// Longest file name stem taken from a test name, in bytes (ASCII only by then).
const MAX_STEM: usize = 80;

/// Reads the Python source file at a path a frame of the output names (`None` when it cannot:
/// see [`crate::outputs::read_python_source`]); [`NO_SOURCES`] reads none.
pub type SourceReader<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A [`SourceReader`] that reads nothing: the classes come from the output alone.
pub const NO_SOURCES: SourceReader<'static> = &|_| None;

/// One issue draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueDraft {
    /// A safe file name for it, e.g. `test_os.md`: no path separators, no leading dot, ASCII.
    pub file_name: String,
    /// The title as plain text (control characters made visible), for `gh issue create --title`.
    pub title: String,
    /// The whole draft; its first line is `# ` and the title.
    pub markdown: String,
}

/// The builder and branch a buildbot step runs for, from its environment:
/// `LEAKCHECK_BUILDER` and `LEAKCHECK_BRANCH` (empty means unset).
///
/// buildbot-worker does not put the builder's name or the branch into a step's environment by
/// itself: a `ShellCommand` gets the worker process's own environment, the `env` of the
/// `BuilderConfig` and of the step (rendered on the master, so properties work), and `PWD`;
/// CPython's factories add only `BUILDBOT=1`. So a master that wants titles with its builder's
/// name passes them explicitly, with the properties every build has:
///
/// ```python
/// env={"LEAKCHECK_BUILDER": util.Property("buildername"),
///      "LEAKCHECK_BRANCH": util.Property("branch", default="")}
/// ```
///
/// (see `docs/buildbot.md`). `BUILDBOT` itself names neither, so it is not read.
pub fn builder_from_env(env: impl Fn(&str) -> Option<String>) -> (Option<String>, Option<String>) {
    let get = |name: &str| env(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    (get("LEAKCHECK_BUILDER"), get("LEAKCHECK_BRANCH"))
}

/// One draft per failing test of `report` (see the module documentation).
pub fn issue_drafts(
    report: &RunReport,
    builder: Option<&str>,
    branch: Option<&str>,
    sources: SourceReader<'_>,
) -> Vec<IssueDraft> {
    issue_drafts_for(report, &cases(report), builder, branch, sources)
}

/// The drafts of `cases` (from [`cases`], maybe with failures added by the caller).
pub fn issue_drafts_for(
    report: &RunReport,
    cases: &[Case<'_>],
    builder: Option<&str>,
    branch: Option<&str>,
    sources: SourceReader<'_>,
) -> Vec<IssueDraft> {
    let mut taken = HashSet::new();
    cases
        .iter()
        .filter(|case| {
            // The run's own case (interrupted, killed, a non-zero exit no test explains: a usage
            // error) is not a CPython bug by itself; the test that was running has its own
            // draft. Findings and hangs are.
            case.failed()
                && (case.test.is_some()
                    || case.failures.iter().any(|f| matches!(f.kind, FailureKind::Sanitizer | FailureKind::Hang)))
        })
        .map(|case| {
            let running = running_methods(report, case, sources);
            let failing = traceback_method(case).map(|method| qualified_traceback_method(case, method, sources));
            let title = title(case, failing.as_deref(), &running, builder, branch);
            let markdown = markdown(report, case, &running, &title, builder, branch);
            IssueDraft { file_name: file_name(&case.name, &mut taken), title, markdown }
        })
        .collect()
}

/// `test_x: TestClass.test_foo fails on BUILDER BRANCH`, `test_x leaks references on ...`;
/// `failing`: the failing method a traceback names ([`qualified_traceback_method`]); `running`:
/// the methods a hang's or crash's Python stack shows ([`running_methods`]).
fn title(
    case: &Case<'_>,
    failing: Option<&str>,
    running: &[RunningMethod],
    builder: Option<&str>,
    branch: Option<&str>,
) -> String {
    let name = if case.test.is_some() { clip(&case.name, 100) } else { Cow::Borrowed("the test run") };
    // A method is counted once, however many of its subtests failed.
    let methods = distinct_methods(&case.failed_methods);
    let has = |kind: FailureKind| case.failures.iter().any(|f| f.kind == kind);
    let what = if let Some(first) = methods.first() {
        let same_class = methods.iter().all(|m| m.class == first.class);
        match methods.len() {
            1 => format!("{name}: {} fails", first.short()),
            n if same_class && first.class.is_some() => {
                format!("{name}: {} fails ({n} methods)", first.class.as_deref().unwrap_or_default())
            }
            n => format!("{name}: {} and {} more fail", first.short(), n - 1),
        }
    } else if let Some(method) = failing {
        format!("{name}: {method} fails")
    } else if has(FailureKind::Hang) {
        // Threads deadlocked while the process went on (every hang of the case): the test did
        // not hang; its Python stacks were not asked for (that would have ended the process).
        let deadlocks = case
            .failures
            .iter()
            .filter(|f| f.kind == FailureKind::Hang)
            .all(|f| f.message.starts_with(DEADLOCK_MESSAGE));
        // Several hangs in several methods name them as several failing methods are named.
        let class = |m: &RunningMethod| m.short.rsplit_once('.').map(|(class, _)| class.to_owned());
        match running {
            _ if deadlocks => format!("{name} deadlocks"),
            [] => format!("{name} hangs"),
            [method] => format!("{name}: {} hangs", method.short),
            [first, ..] if first_class_of_all(running, class) => {
                format!("{name}: {} hangs ({} methods)", class(first).unwrap_or_default(), running.len())
            }
            [first, rest @ ..] => format!("{name}: {} and {} more hang", first.short, rest.len()),
        }
    } else if let Some(finding) = case.failures.iter().find(|f| f.kind == FailureKind::Sanitizer) {
        // `AddressSanitizer double-free` from `AddressSanitizer double-free: SUMMARY...`.
        let headline = finding.message.split(": ").next().unwrap_or("sanitizer error");
        format!("{name}: {}", clip(headline, 80))
    } else if has(FailureKind::Leak) {
        format!("{name} leaks {}", leak_words(case))
    } else if case.test.is_none() {
        "the test run fails".to_owned()
    } else if let Some(method) = running.first() {
        format!("{name}: {} fails", method.short)
    } else {
        format!("{name} fails")
    };
    let mut title = what;
    if let Some(on) = on_where(builder, branch) {
        title.push_str(" on ");
        title.push_str(&on);
    }
    clip(&for_terminal(&title), MAX_TITLE_CHARS).into_owned()
}

/// Whether every method of `running` has the first one's class, and it has one.
fn first_class_of_all(running: &[RunningMethod], class: impl Fn(&RunningMethod) -> Option<String>) -> bool {
    let first = running.first().and_then(&class);
    first.is_some() && running.iter().all(|m| class(m) == first)
}

/// `references`, `memory blocks and file descriptors`, or the allocator of a domain.
fn leak_words(case: &Case<'_>) -> String {
    let Some(test) = case.test else { return "memory".into() };
    let r = &test.regrtest;
    let mut items: Vec<String> =
        if r.leaked { r.failing_lines().map(|(what, _)| what.to_owned()).collect() } else { Vec::new() };
    // regrtest's memory blocks are mem's and obj's (`sys.getallocatedblocks()`), never raw's.
    let seen_by_regrtest = r.leaked && items.iter().any(|i| i == "memory blocks");
    for domain in test.leaking_domains() {
        if domain == "raw" || !seen_by_regrtest {
            items.push(format!("{} blocks", super::junit::domain_api(domain)));
        }
    }
    if items.is_empty() {
        return "memory".into();
    }
    super::and_list(&items)
}

/// `BUILDER BRANCH` (a branch alone: `the BRANCH branch`), without repeating a branch the builder's name already names: CPython's
/// builder names end with their branch (`AMD64 Fedora Rawhide Refleaks 3.13`), and those of the
/// main branch with `3.x` while the build's `branch` property is `main`.
fn on_where(builder: Option<&str>, branch: Option<&str>) -> Option<String> {
    let builder = builder.map(str::trim).filter(|b| !b.is_empty());
    let branch = branch.map(str::trim).filter(|b| !b.is_empty());
    match (builder, branch) {
        (Some(b), Some(br)) if names_branch(b, br) => Some(b.to_owned()),
        (Some(b), Some(br)) => Some(format!("{b} {br}")),
        (Some(b), None) => Some(b.to_owned()),
        // Alone, a branch would read as a builder's name (`fails on 3.12`): it says it is one.
        (None, Some(br)) => Some(format!("the {br} branch")),
        (None, None) => None,
    }
}

/// Whether the builder's name ends with the branch as its last word(s), or with `3.x` (the
/// main branch's builders) when the branch is `main` (or `master`, its name until 2021).
fn names_branch(builder: &str, branch: &str) -> bool {
    let ends_with_word = |word: &str| {
        builder.strip_suffix(word).is_some_and(|before| before.is_empty() || before.ends_with(char::is_whitespace))
    };
    ends_with_word(branch) || (matches!(branch, "main" | "master") && ends_with_word("3.x"))
}

fn clip(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((cut, _)) => Cow::Owned(format!("{}…", &s[..cut])),
    }
}

/// Inline Markdown text: control characters visible, every ASCII punctuation character
/// backslash-escaped (CommonMark allows that escape for all of them, so nothing can start
/// emphasis, a link, HTML, an entity, a heading or a table cell).
pub fn md_text(s: &str) -> String {
    let visible = for_terminal(s);
    let mut out = String::with_capacity(visible.len() + 8);
    for c in visible.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Length of the longest run of backticks in `s`.
fn longest_backtick_run(s: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// A Markdown code span holding `s` literally (control characters made visible).
pub fn md_code(s: &str) -> String {
    let visible = for_terminal(s);
    let fence = "`".repeat(longest_backtick_run(&visible) + 1);
    // CommonMark strips one space from each side when both are there, so a span that starts or
    // ends with a backtick (or a space) gets one of each.
    let pad =
        if visible.starts_with(['`', ' ']) || visible.ends_with(['`', ' ']) || visible.is_empty() { " " } else { "" };
    format!("{fence}{pad}{visible}{pad}{fence}")
}

/// A fenced code block holding `text` literally: control characters other than line breaks made
/// visible, fenced with more backticks than any run inside it.
pub fn md_fenced(text: &str, info: &str) -> String {
    let mut body = String::with_capacity(text.len() + 16);
    for line in text.lines() {
        body.push_str(&for_terminal(line));
        body.push('\n');
    }
    let fence = "`".repeat((longest_backtick_run(&body) + 1).max(3));
    format!("{fence}{info}\n{body}{fence}\n")
}

/// `q=...` for a search: application/x-www-form-urlencoded, UTF-8.
pub fn query_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// The failing method regrtest's traceback names when unittest printed no `FAIL:`/`ERROR:`
/// header: those name the method with its class; without them (no -v), regrtest's traceback
/// of a single failure may (not its class).
fn traceback_method<'a>(case: &Case<'a>) -> Option<&'a str> {
    let failed = case.failures.iter().any(|f| f.kind == FailureKind::Regrtest);
    case.test.and_then(|t| t.traceback_method.as_deref()).filter(|_| failed)
}

/// `Class.test_foo` for the failing method `method` of the traceback, its class read off the
/// source at the traceback's frame of it (the first: the outermost); `method` alone when none is
/// found.
fn qualified_traceback_method(case: &Case<'_>, method: &str, sources: SourceReader<'_>) -> String {
    let frame = case.test.and_then(|t| t.traceback.as_deref()).and_then(|traceback| {
        let frames = traceback.lines().filter_map(crate::regrtest::traceback_frame);
        frames.filter(|&(_, _, function)| function == method).map(|(file, line, _)| (file, line)).next()
    });
    match frame.and_then(|(file, line)| source_class(sources, file, line, method)) {
        Some(class) => format!("{class}.{method}"),
        None => method.to_owned(),
    }
}

/// The class `function` is defined in at `line` of Python file `file`, read by `sources`.
fn source_class(sources: SourceReader<'_>, file: &str, line: usize, function: &str) -> Option<String> {
    super::pysource::enclosing_class(&sources(file)?, line, function)
}

/// The test method a hung or crashed test was running, from its Python stack: the title
/// names it as the triage guide asks (`test_x: Class.test_foo hangs`), when neither unittest's
/// `FAIL:`/`ERROR:` headers nor a traceback name a failing method.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunningMethod {
    /// `Class.test_foo`, or `test_foo` when no class is known.
    short: String,
    /// `test_foo`: what the searches look for.
    method: String,
    /// Where it was read: `the hung thread's Python stack`, `faulthandler's dump`.
    source: &'static str,
}

/// The methods a test's hangs or crash show running, when the title would otherwise name none:
/// for a hang, each hang's own, in the order they were found, each method once: from the hung
/// threads' Python stacks (the diagnosed threads first), else from regrtest's verbose output
/// when the hang was found (`-v`: a hang in a subprocess, whose stack has no Python frames of
/// the test); then, when no hang gave one, the test's faulthandler dump (`Fatal Python error:
/// ...`, `Timeout (H:MM:SS)!`: its `Current thread` first); for a failure that names no method
/// (a crashed or timed-out worker), the dump. In a stack, the outermost frame in the test's own
/// source (its module, or a module of its package) whose function is a test method (`test...`):
/// the one unittest called, not a helper or a thread function inside it; not a decorator's
/// wrapper, whose file is another.
fn running_methods(report: &RunReport, case: &Case<'_>, sources: SourceReader<'_>) -> Vec<RunningMethod> {
    let Some(test) = case.test else { return Vec::new() };
    let has = |kind: FailureKind| case.failures.iter().any(|f| f.kind == kind);
    if !case.failed_methods.is_empty() || traceback_method(case).is_some() {
        return Vec::new();
    }
    let hang = has(FailureKind::Hang);
    // A finding's headline or a leak names the test's problem better than a crash's method.
    if !hang && (has(FailureKind::Sanitizer) || has(FailureKind::Leak) || !has(FailureKind::Regrtest)) {
        return Vec::new();
    }
    fn of_stack<'a>(name: &str, h: &'a crate::hang::HangReport) -> Option<PyFrame<'a>> {
        let threads = h.processes.iter().flat_map(|p| &p.threads);
        let diagnosed = threads.clone().filter(|t| h.diagnosis.threads.contains(&t.tid));
        diagnosed.chain(threads.filter(|t| !h.diagnosis.threads.contains(&t.tid))).find_map(|t| {
            let frames =
                t.python_frames.iter().map(|f| PyFrame { file: &f.file, line: f.line as usize, function: &f.function });
            outermost_test_method(name, frames)
        })
    }
    let mut methods: Vec<RunningMethod> = Vec::new();
    if hang {
        for h in report.hangs.iter().filter(|h| h.test.as_deref() == Some(test.name.as_str())) {
            let method = match of_stack(&test.name, h) {
                Some(frame) => Some(method_of_frame(test, frame, "the hung thread's Python stack", sources)),
                None => h.running_method.as_ref().map(|short| RunningMethod {
                    short: short.clone(),
                    method: short.rsplit('.').next().unwrap_or(short).to_owned(),
                    source: "regrtest's verbose output when the hang was found",
                }),
            };
            if let Some(method) = method.filter(|m| !methods.iter().any(|known| known.short == m.short)) {
                methods.push(method);
            }
        }
    }
    if methods.is_empty() {
        let dump = test.faulthandler.as_deref().and_then(|dump| {
            dump_stacks(dump).iter().find_map(|stack| outermost_test_method(&test.name, stack.iter().copied()))
        });
        methods.extend(dump.map(|frame| method_of_frame(test, frame, "faulthandler's dump", sources)));
    }
    methods
}

/// The method of `frame` (a test method's, in the test's own source), read from `source`:
/// `Class.test_foo` where the frame has the qualified name; else the class of the only method
/// of that name the output named (`-v`); else the class its source defines it in.
fn method_of_frame(
    test: &crate::report::TestReport,
    frame: PyFrame<'_>,
    source: &'static str,
    sources: SourceReader<'_>,
) -> RunningMethod {
    let function = frame.function.to_owned();
    let (class, method) = match function.rsplit_once('.') {
        Some((class, method)) if !class.contains('<') => (Some(class.to_owned()), method.to_owned()),
        Some((_, method)) => (None, method.to_owned()),
        None => (None, function.clone()),
    };
    let class = class.or_else(|| {
        let mut classes = test.methods.iter().filter(|m| m.name == method && !m.doctest).map(|m| &m.class);
        let first = classes.next()?;
        classes
            .all(|c| c == first)
            .then(|| crate::regrtest::class_in_module(&test.name, first).to_owned())
            .filter(|c| !c.is_empty())
    });
    let class = class.or_else(|| source_class(sources, frame.file, frame.line, &method));
    let short = match &class {
        Some(class) => format!("{class}.{method}"),
        None => method.clone(),
    };
    RunningMethod { short, method, source }
}

/// A Python frame of a stack, as a hang's Python stack or faulthandler's dump gives it.
#[derive(Debug, Clone, Copy)]
struct PyFrame<'a> {
    file: &'a str,
    line: usize,
    function: &'a str,
}

/// Of a stack's frames, innermost first: the outermost frame in regrtest test `name`'s own
/// source whose function's name (its last dotted part) is a test method's.
fn outermost_test_method<'a>(name: &str, frames: impl Iterator<Item = PyFrame<'a>>) -> Option<PyFrame<'a>> {
    let path = name.replace('.', "/");
    let own = |file: &str| super::junit::is_test_file(file, name) || file.contains(&format!("/{path}/"));
    let is_method = |function: &str| function.rsplit('.').next().is_some_and(|m| m.starts_with("test"));
    frames.filter(|f| own(f.file) && is_method(f.function)).last()
}

/// The stacks of a faulthandler dump as frames, innermost first, each
/// thread's apart: the thread that crashed (`Current thread`) first.
fn dump_stacks(dump: &str) -> Vec<Vec<PyFrame<'_>>> {
    let mut stacks: Vec<(bool, Vec<PyFrame<'_>>)> = Vec::new();
    for line in dump.lines() {
        if line.ends_with("(most recent call first):") {
            stacks.push((line.starts_with("Current thread "), Vec::new()));
            continue;
        }
        // `  File "/path/test_x.py", line 4 in test_abort`
        let frame = line.trim_start().strip_prefix("File \"").and_then(|rest| {
            let (file, rest) = rest.rsplit_once("\", line ")?;
            let (line, function) = rest.split_once(" in ")?;
            Some(PyFrame { file, line: line.parse().unwrap_or(0), function: function.trim_end() })
        });
        if let (Some(frame), Some((_, stack))) = (frame, stacks.last_mut()) {
            stack.push(frame);
        }
    }
    stacks.sort_by_key(|(current, _)| !current);
    stacks.into_iter().map(|(_, stack)| stack).collect()
}

/// The searches the triage guide asks for, in its order: the test method in titles, the test
/// file in titles, then full text (and the C function where a leak was allocated).
fn search_terms(case: &Case<'_>, running: &[RunningMethod]) -> Vec<(String, &'static str)> {
    let mut terms = Vec::new();
    // The method the title names.
    let method = case
        .failed_methods
        .first()
        .map(|m| m.method.clone())
        .or_else(|| traceback_method(case).map(str::to_owned))
        .or_else(|| running.first().map(|r| r.method.clone()));
    if let Some(method) = &method {
        terms.push((format!("is:issue in:title {method}"), "the test method in titles"));
    }
    if case.test.is_some() {
        terms.push((format!("is:issue in:title {}", case.name), "the test file in titles"));
    }
    if let Some(method) = &method {
        terms.push((format!("is:issue {method}"), "the test method, full text"));
    }
    if case.test.is_some() {
        terms.push((format!("is:issue {}", case.name), "the test file, full text"));
    }
    // A Python location's function is the test's own code, searched for above. The C one by
    // its base name, as every symbolizer spells it (`mismatch`, not `mismatch(_object*,
    // _object*)`; `f`, not GCC's clone `f.part.0`), which an issue is likelier to quote.
    let function = case.failures.iter().find_map(|f| f.location.as_ref().filter(|l| !l.python)?.function.as_deref());
    if let Some(function) = function.map(crate::sanitizer::function_base_name) {
        terms.push((format!("is:issue {function}"), "the C function, full text"));
    }
    terms
}

fn markdown(
    report: &RunReport,
    case: &Case<'_>,
    running: &[RunningMethod],
    title: &str,
    builder: Option<&str>,
    branch: Option<&str>,
) -> String {
    let mut md = String::new();
    // The title line is what a triager pastes into GitHub's title field, which shows plain text:
    // the title as it is (control characters made visible), no Markdown escapes.
    let _ = writeln!(md, "# {title}\n");

    md.push_str("## Before filing\n\n");
    md.push_str("Search for an existing issue first, in this order; if one is open, add a comment there with a link to this build and the excerpt below instead of filing a new one.\n\n");
    let terms = search_terms(case, running);
    for (i, (term, why)) in terms.iter().enumerate() {
        let _ = writeln!(md, "{}. [{}]({ISSUES_SEARCH_URL}{}): {why}", i + 1, md_code(term), query_encode(term));
    }
    if terms.is_empty() {
        md.push_str("No test names it: search for the function or error kind of the excerpt below.\n");
    }

    md.push_str("\n## What failed\n\n");
    if case.test.is_some() {
        let _ = writeln!(md, "- Test: {}", md_code(&case.name));
    }
    if let Some(test) = case.test {
        let _ = writeln!(md, "- regrtest outcome: {}", md_code(&test.outcome));
    }
    for method in &case.failed_methods {
        let _ = writeln!(md, "- Failed: {}", md_code(&method.raw));
    }
    // Each hang's method, in the order the hangs were found.
    if !running.is_empty() {
        let each: Vec<String> = running.iter().map(|r| format!("{} ({})", md_code(&r.short), r.source)).collect();
        let _ = writeln!(md, "- Running: {}", each.join(", "));
    }
    for failure in &case.failures {
        let _ = writeln!(md, "- {}: {}", kind_words(failure.kind), md_code(&failure.message));
        if let Some(at) = &failure.location {
            match &at.function {
                Some(function) => {
                    let _ = writeln!(md, "  - at {} in {}", md_code(function), md_code(&at.place.to_string()));
                }
                None => {
                    let _ = writeln!(md, "  - at {}", md_code(&at.place.to_string()));
                }
            }
        }
    }
    // Unknown: how to name one; none named on purpose (an empty flag over the variable): no
    // advice to set the variable the user overrode.
    let named = |name: Option<&str>, flag: &str, variable: &str| match name.map(str::trim) {
        Some("") => format!("none named (`--{flag} ''`)"),
        Some(name) => md_code(name),
        None => format!("unknown (pass `--{flag}`, or set `{variable}`)"),
    };
    let _ = writeln!(md, "- Builder: {}", named(builder, "builder", "LEAKCHECK_BUILDER"));
    let _ = writeln!(md, "- Branch: {}", named(branch, "branch", "LEAKCHECK_BRANCH"));
    md.push_str("- Build: add the link to the failing build here\n");

    md.push_str("\n## Log excerpt\n\n");
    let mut excerpt = String::new();
    for failure in &case.failures {
        if !excerpt.is_empty() {
            excerpt.push('\n');
        }
        excerpt.push_str(&failure.details);
        if !failure.details.ends_with('\n') {
            excerpt.push('\n');
        }
    }
    md.push_str(&md_fenced(&excerpt, "text"));

    md.push_str("\n## Environment\n\n");
    let _ = writeln!(md, "- Command: {}", md_code(&crate::escape::shell_command(&report.command)));
    let mut status = Vec::new();
    if let Some(code) = report.status.exit_code {
        status.push(format!("command exit code {code}"));
    }
    if let Some(signal) = &report.status.signal {
        let whose = if report.status.sent_from_outside(signal) {
            " (from outside, passed on by leakcheck)"
        } else if report.status.ended_for_hang {
            " (leakcheck's, after the hang)"
        } else {
            ""
        };
        status.push(format!("command killed by {}{whose}", for_terminal(signal)));
    }
    status.push(format!("leakcheck exit code {}", report.status.leakcheck_exit_code));
    let _ = writeln!(md, "- Status: {}", md_text(&status.join(", ")));
    if let Some(result) = &report.summary.regrtest_result {
        let _ = writeln!(md, "- regrtest result: {}", md_code(result));
    }
    let _ = writeln!(md, "- leakcheck {}", md_text(report.leakcheck_version));
    md.push_str("\nWhen filing: set the Python version field (e.g. `3.14` for a `3.x` builder) and select at least the \"Tests\" component.\n");
    md
}

fn kind_words(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Leak => "Leak",
        FailureKind::Regrtest => "regrtest failure",
        FailureKind::Sanitizer => "Sanitizer finding",
        FailureKind::Hang => "Hang",
        FailureKind::Run => "Run",
    }
}

/// A file name for the draft of `name`, unique among `taken`.
fn file_name(name: &str, taken: &mut HashSet<String>) -> String {
    let mut stem: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect();
    while stem.contains("..") {
        stem = stem.replace("..", ".");
    }
    stem = stem.trim_start_matches(['.', '-', '_']).to_owned();
    stem.truncate(MAX_STEM);
    if stem.is_empty() {
        stem = if name == RUN_CASE { "run".into() } else { "test".into() };
    }
    if stem != name {
        // Two names that sanitize alike still get different files, stable across runs.
        let _ = write!(stem, "-{:08x}", crc32fast::hash(name.as_bytes()));
    }
    let mut candidate = format!("{stem}.md");
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{stem}-{n}.md");
        n += 1;
    }
    candidate
}

/// Whether `name` is a file name [`issue_drafts`] can give a draft: what a list of drafts
/// written earlier may name for removal (a plain `.md` name in the directory itself, no path,
/// no dot file).
pub fn is_draft_file_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".md") else { return false };
    stem.starts_with(|c: char| c.is_ascii_alphanumeric())
        && stem.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !stem.contains("..")
        && stem.len() <= MAX_STEM + 32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::junit::{Failure, Location, Place};

    #[test]
    fn builder_and_branch_come_from_leakcheck_s_own_variables_only() {
        let env = |name: &str| match name {
            "LEAKCHECK_BUILDER" => Some("AMD64 Fedora Rawhide Refleaks 3.x".to_owned()),
            "LEAKCHECK_BRANCH" => Some(" ".to_owned()),
            "BUILDBOT" => Some("1".to_owned()),
            _ => None,
        };
        assert_eq!(builder_from_env(env), (Some("AMD64 Fedora Rawhide Refleaks 3.x".to_owned()), None));
        assert_eq!(builder_from_env(|_| None), (None, None));
    }

    #[test]
    fn a_branch_the_builder_name_already_ends_with_is_not_repeated() {
        assert_eq!(on_where(Some("PPC64 Fedora 3.x"), Some("3.x")).as_deref(), Some("PPC64 Fedora 3.x"));
        assert_eq!(on_where(Some("leakcheck"), Some("main")).as_deref(), Some("leakcheck main"));
        // The main branch's builders end with `3.x`, and their builds' branch is `main`.
        for main in ["main", "master"] {
            let on = on_where(Some("AMD64 Fedora Refleaks 3.x"), Some(main));
            assert_eq!(on.as_deref(), Some("AMD64 Fedora Refleaks 3.x"), "{main}");
        }
        assert_eq!(
            on_where(Some("AMD64 Fedora Refleaks 3.13"), Some("main")).as_deref(),
            Some("AMD64 Fedora Refleaks 3.13 main")
        );
        // Only a whole word: a builder whose name merely ends with the branch's letters.
        assert_eq!(on_where(Some("Debian domain"), Some("main")).as_deref(), Some("Debian domain main"));
        assert_eq!(on_where(Some("AMD64 3.13"), Some("13")).as_deref(), Some("AMD64 3.13 13"));
        assert_eq!(on_where(Some("3.x"), Some("3.x")).as_deref(), Some("3.x"));
        assert_eq!(on_where(None, Some("3.13")).as_deref(), Some("the 3.13 branch"));
        assert_eq!(on_where(Some(""), None), None);
    }

    #[test]
    fn code_spans_and_fences_outlast_every_backtick_run() {
        assert_eq!(md_code("test_os"), "`test_os`");
        assert_eq!(md_code("a``b"), "```a``b```");
        assert_eq!(md_code("`x"), "`` `x ``");
        let fenced = md_fenced("```\n````evil\n", "text");
        assert!(fenced.starts_with("`````text\n") && fenced.ends_with("\n`````\n"), "{fenced}");
        assert_eq!(md_fenced("plain\n", ""), "```\nplain\n```\n");
    }

    /// The title line is the plain title, whatever characters the builder's or a test's name
    /// has (GitHub's title field shows plain text: a Markdown escape would stay in it); control
    /// characters are made visible. The body keeps its escapes.
    #[test]
    fn the_title_line_is_the_plain_title_and_the_body_is_escaped() {
        let report = crate::report::RunReport {
            tests: vec![crate::report::TestReport::new("test_qa_x".into(), "failed")],
            ..crate::report::RunReport::new(vec!["python".into()], String::new())
        };
        let builder = "PPC64LE *nix <b>x</b> `y` @all 3.x\n# not a heading";
        let drafts = issue_drafts(&report, Some(builder), Some("main"), NO_SOURCES);
        let draft = &drafts[0];
        assert_eq!(draft.title, "test_qa_x fails on PPC64LE *nix <b>x</b> `y` @all 3.x\\x0a# not a heading main");
        assert_eq!(draft.markdown.lines().next(), Some(format!("# {}", draft.title).as_str()));
        assert!(draft.markdown.contains("- Builder: ``PPC64LE *nix <b>x</b> `y` @all 3.x\\x0a# not a heading``\n"));
        assert_eq!(draft.markdown.lines().filter(|l| l.starts_with("# ")).count(), 1, "{}", draft.markdown);
    }

    #[test]
    fn inline_text_escapes_all_markup() {
        assert_eq!(md_text("a*b_[c](d)<e>#|`@"), "a\\*b\\_\\[c\\]\\(d\\)\\<e\\>\\#\\|\\`\\@");
        assert_eq!(md_text("x\u{1b}[2J\n"), "x\\\\x1b\\[2J\\\\x0a");
    }

    #[test]
    fn leak_titles_name_every_domain_regrtest_cannot_see() {
        use crate::leaks::{DomainDeltas, Domains};
        let deltas = |leaked: bool| DomainDeltas { blocks: vec![1, 1, 1], bytes: None, leaked, spread: false };
        let site = |domain: &str| crate::report::LeakSiteReport {
            domain: domain.into(),
            blocks: vec![1, 1, 1],
            bytes: vec![48, 48, 48],
            frames: vec![],
            folded_frames: 0,
            python_frame: None,
            python_frames: vec![],
            object_types: vec![],
            free_list_reuse: false,
            stack_cut: false,
            other_test_thread: None,
        };
        let words = |test: &crate::report::TestReport| {
            let case = Case {
                name: "test_x".into(),
                test: Some(test),
                failures: vec![],
                skipped: None,
                failed_methods: vec![],
                output: None,
            };
            leak_words(&case)
        };
        // regrtest saw memory blocks (mem's and obj's), not the raw leak beside them.
        let mut test = crate::report::TestReport::new("test_x".into(), "reference_leak");
        test.regrtest.memory_blocks = Some(vec![1, 1, 1]);
        test.regrtest.failing = vec!["memory_blocks"];
        test.regrtest.leaked = true;
        test.domains = Some(Domains { raw: deltas(true), mem: deltas(true), obj: deltas(false) });
        assert_eq!(words(&test), "memory blocks and PyMem_RawMalloc blocks");
        // A leak found at its site only: the domain's sum stayed flat.
        let mut test = crate::report::TestReport::new("test_x".into(), "passed");
        test.domains = Some(Domains { raw: deltas(false), mem: deltas(false), obj: deltas(false) });
        test.leak_sites = vec![site("raw")];
        assert_eq!(words(&test), "PyMem_RawMalloc blocks");
        test.leak_sites = vec![site("obj"), site("raw"), site("obj")];
        assert_eq!(words(&test), "PyMem_RawMalloc blocks and PyObject_Malloc blocks");
    }

    /// A heap-buffer-overflow in a stripped extension (frames of a real run): its frame has a
    /// module and offset, no function or line. The draft says so, rather than naming the
    /// interpreter's function that called it, and so do its search and the annotation.
    #[test]
    fn a_finding_in_a_stripped_module_is_at_the_module_not_its_caller() {
        use crate::sanitizer::{Finding, ReportFrame};
        let module = "/tmp/qa-san3/ext/_s3s.cpython-311d-x86_64-linux-gnu.so";
        let frame =
            |index, function: Option<&str>, file: Option<&str>, line, module: Option<&str>, offset| ReportFrame {
                index,
                address: Some(0x7f01_2160_c803),
                function: function.map(str::to_owned),
                file: file.map(str::to_owned),
                line,
                column: None,
                module: module.map(str::to_owned),
                module_offset: offset,
                build_id: None,
                inlined: false,
            };
        let frames = vec![
            frame(0, None, None, None, Some(module), Some(0x2802)),
            frame(1, Some("cfunction_vectorcall_NOARGS"), Some("../Objects/methodobject.c"), Some(486), None, None),
            frame(
                2,
                Some("_PyObject_VectorcallTstate"),
                Some("../Include/internal/pycore_call.h"),
                Some(92),
                None,
                None,
            ),
        ];
        let finding = Finding {
            pid: Some(27155),
            test: Some("test_s3_strip".into()),
            summary: Some(format!("SUMMARY: AddressSanitizer: heap-buffer-overflow ({module}+0x2802)")),
            ..Finding::asan("heap-buffer-overflow", frames, Vec::new())
        };
        let mut report = RunReport::new(vec!["python".into()], "/tmp/run".into());
        report.tests.push(crate::report::TestReport::new("test_s3_strip".into(), "unknown"));
        report.sanitizer_findings.push(finding);
        let drafts = issue_drafts(&report, None, None, NO_SOURCES);
        let draft = &drafts.iter().find(|d| d.file_name == "test_s3_strip.md").unwrap().markdown;
        assert!(draft.contains(&format!("  - at `{module}+0x2802`\n")), "{draft}");
        assert!(!draft.contains("is:issue cfunction_vectorcall_NOARGS"), "no search for the caller: {draft}");
        assert!(!draft.contains("methodobject.c:486`"), "{draft}");
        let annotations = crate::report::annotations::github_annotations(&report);
        let line = annotations.lines().find(|l| l.contains("sanitizer error")).unwrap();
        assert!(line.starts_with("::error title="), "no file, rather than the caller's: {line}");
    }

    /// The same bug in two `-j` workers' tests is one finding; each test's draft names its own
    /// worker, the run's summary both.
    #[test]
    fn each_tests_draft_names_its_own_process() {
        use crate::sanitizer::{deduplicate, Finding, ReportFrame};
        let frame = ReportFrame {
            index: 0,
            address: Some(0x7f01_2160_c803),
            function: Some("overflow_once".into()),
            file: Some("/tmp/qa-san3/ext/s3.c".into()),
            line: Some(76),
            column: None,
            module: None,
            module_offset: None,
            build_id: None,
            inlined: false,
        };
        let report_of = |test: &str, pid| Finding {
            pid: Some(pid),
            test: Some(test.into()),
            ..Finding::asan("heap-buffer-overflow", vec![frame.clone()], Vec::new())
        };
        let merged = deduplicate(vec![
            report_of("test_s3_same_b", 27922),
            report_of("test_s3_same_a", 27921),
            report_of("test_s3_same_b", 27922),
        ]);
        assert_eq!(merged.len(), 1);
        let mut report = RunReport::new(vec!["python".into()], "/tmp/run".into());
        for name in ["test_s3_same_a", "test_s3_same_b"] {
            report.tests.push(crate::report::TestReport::new(name.into(), "passed"));
        }
        report.sanitizer_findings = merged;
        let drafts = issue_drafts(&report, None, None, NO_SOURCES);
        let draft = |name: &str| drafts.iter().find(|d| d.file_name == format!("{name}.md")).unwrap().markdown.clone();
        let (a, b) = (draft("test_s3_same_a"), draft("test_s3_same_b"));
        assert!(a.contains("[pid 27921]") && !a.contains("27922"), "{a}");
        assert!(b.contains("[pid 27922]") && !b.contains("27921"), "{b}");
        assert!(report.render_text().contains("[pids 27922, 27921]"), "{}", report.render_text());
    }

    #[test]
    fn only_a_c_location_adds_a_search_for_its_function() {
        let test = crate::report::TestReport::new("test_x".into(), "reference_leak");
        let case = |location: Location| Case {
            name: "test_x".into(),
            test: Some(&test),
            failures: vec![Failure {
                kind: FailureKind::Leak,
                message: "leaked".into(),
                details: String::new(),
                location: Some(location),
            }],
            skipped: None,
            failed_methods: vec![],
            output: None,
        };
        let c = Location {
            function: Some("object_new".into()),
            place: Place::Source { file: "Objects/typeobject.c".into(), line: 1 },
            python: false,
        };
        let last = |location| search_terms(&case(location), &[]).pop().unwrap();
        assert_eq!(last(c), ("is:issue object_new".into(), "the C function, full text"));
        // By its base name, whichever symbolizer named the frame.
        for function in ["mismatch", "mismatch(_object*, _object*)", "mismatch.part.0"] {
            let place = Place::Source { file: "qmm.cc".into(), line: 6 };
            let cpp = Location { function: Some(function.into()), place, python: false };
            assert_eq!(last(cpp).0, "is:issue mismatch", "{function}");
        }
        // A doctest's or exec'd code's file does not end in `.py`; it is still Python.
        let doctest = Location {
            function: Some("<module>".into()),
            place: Place::Source { file: "<doctest test_x.f[0]>".into(), line: 1 },
            python: true,
        };
        assert_eq!(last(doctest), ("is:issue test_x".into(), "the test file, full text"));
    }

    /// Without -v, unittest prints no `FAIL:` header: the method comes from regrtest's
    /// traceback, and the searches start with it as the title names it.
    #[test]
    fn a_method_known_from_the_traceback_is_searched_first() {
        let mut test = crate::report::TestReport::new("test_x".into(), "failed");
        test.traceback_method = Some("test_evil".into());
        let case = Case {
            name: "test_x".into(),
            test: Some(&test),
            failures: vec![Failure {
                kind: FailureKind::Regrtest,
                message: "failed".into(),
                details: String::new(),
                location: None,
            }],
            skipped: None,
            failed_methods: vec![],
            output: None,
        };
        let failing = traceback_method(&case).map(|m| qualified_traceback_method(&case, m, NO_SOURCES));
        assert_eq!(
            title(&case, failing.as_deref(), &[], Some("AMD64 Debian"), Some("3.x")),
            "test_x: test_evil fails on AMD64 Debian 3.x"
        );
        // With the source of the traceback's frame of it, its class too.
        let mut with_traceback = test.clone();
        with_traceback.traceback = Some(
            "Traceback (most recent call last):\n  File \"/t/test_x.py\", line 4, in test_evil\n    self.fail()\n\
             AssertionError: None"
                .into(),
        );
        let sources = |path: &str| {
            (path == "/t/test_x.py").then(|| {
                "import unittest\nclass Evil(unittest.TestCase):\n    def test_evil(self):\n        self.fail()\n"
                    .to_owned()
            })
        };
        let case_tb = Case { test: Some(&with_traceback), ..case.clone() };
        assert_eq!(qualified_traceback_method(&case_tb, "test_evil", &sources), "Evil.test_evil");
        assert_eq!(qualified_traceback_method(&case_tb, "test_evil", NO_SOURCES), "test_evil");
        assert_eq!(qualified_traceback_method(&case_tb, "test_other", &sources), "test_other");
        let terms: Vec<String> = search_terms(&case, &[]).into_iter().map(|(q, _)| q).collect();
        assert_eq!(
            terms,
            ["is:issue in:title test_evil", "is:issue in:title test_x", "is:issue test_evil", "is:issue test_x"]
        );
    }

    /// A builder a flag named none of on purpose (`--builder ''` over `LEAKCHECK_BUILDER`) is
    /// said to be none, with no advice to set the variable the user overrode; one never named
    /// gets the advice.
    #[test]
    fn a_builder_named_none_on_purpose_gets_no_advice() {
        let mut report = RunReport::new(vec!["python".into()], "/tmp/run".into());
        report.tests.push(crate::report::TestReport::new("test_x".into(), "failed"));
        let draft = |builder, branch| issue_drafts(&report, builder, branch, NO_SOURCES).remove(0);
        let none = draft(Some(""), Some(""));
        assert_eq!(none.title, "test_x fails");
        assert!(none.markdown.contains("- Builder: none named (`--builder ''`)\n"), "{}", none.markdown);
        assert!(none.markdown.contains("- Branch: none named (`--branch ''`)\n"), "{}", none.markdown);
        assert!(!none.markdown.contains("LEAKCHECK_"), "{}", none.markdown);
        let unknown = draft(None, Some("3.x"));
        assert!(
            unknown.markdown.contains("- Builder: unknown (pass `--builder`, or set `LEAKCHECK_BUILDER`)\n"),
            "{}",
            unknown.markdown
        );
        assert!(unknown.markdown.contains("- Branch: `3.x`\n"), "{}", unknown.markdown);
    }

    /// A crash names no failing method: the title takes the test method faulthandler's dump shows
    /// the crashed thread in (`Current thread`, before the others), its outermost frame in the
    /// test's own file (not the helper it called, nor the decorator's wrapper in another file),
    /// with its class when the output named it once (`-v`).
    #[test]
    fn a_crash_s_title_names_the_method_of_the_crashed_thread() {
        let mut test = crate::report::TestReport::new("test_x".into(), "crashed");
        test.faulthandler = Some(
            "Fatal Python error: Aborted\n\n\
             Thread 0x00007f0000000001 (most recent call first):\n  \
             File \"/t/test_x.py\", line 30 in test_other_thread\n\n\
             Current thread 0x00007f0000000002 (most recent call first):\n  \
             File \"/t/test_x.py\", line 4 in test_helper\n  \
             File \"/t/test_x.py\", line 9 in test_main\n  \
             File \"/usr/lib/python3.11/test/support/__init__.py\", line 700 in wrapper\n  \
             File \"/usr/lib/python3.11/unittest/case.py\", line 579 in _callTestMethod\n\n\
             Extension modules: _testcapi (total: 1)"
                .into(),
        );
        fn case(test: &crate::report::TestReport) -> Case<'_> {
            Case {
                name: "test_x".into(),
                test: Some(test),
                failures: vec![Failure {
                    kind: FailureKind::Regrtest,
                    message: "crashed".into(),
                    details: String::new(),
                    location: None,
                }],
                skipped: None,
                failed_methods: vec![],
                output: None,
            }
        }
        let report = RunReport::new(vec!["python".into()], "/tmp/run".into());
        let running = running_methods(&report, &case(&test), NO_SOURCES).remove(0);
        assert_eq!((running.short.as_str(), running.method.as_str()), ("test_main", "test_main"));
        assert_eq!(
            title(&case(&test), None, std::slice::from_ref(&running), Some("B"), None),
            "test_x: test_main fails on B"
        );
        let terms: Vec<String> =
            search_terms(&case(&test), std::slice::from_ref(&running)).into_iter().map(|(q, _)| q).collect();
        assert_eq!(terms[0], "is:issue in:title test_main");
        // Its class, from its source at the dump's line of it (line 9 is in `Crash.test_main`).
        let source =
            "import unittest\n\nclass Crash(unittest.TestCase):\n    def test_helper(self):\n        pass\n\n    \
                      @unittest.skipIf(False, '')\n    def test_main(self):\n        self.test_helper()\n";
        let sources = |path: &str| (path == "/t/test_x.py").then(|| source.to_owned());
        assert_eq!(running_methods(&report, &case(&test), &sources)[0].short, "Crash.test_main");
        // Its class, from the one method of that name `-v` named.
        test.methods.push(crate::regrtest::MethodResult {
            name: "test_main".into(),
            class: "test.test_x.Main".into(),
            outcome: crate::regrtest::MethodOutcome::Passed,
            detail: None,
            traceback: None,
            doctest: false,
            headers: Vec::new(),
            headers_left_out: 0,
        });
        assert_eq!(running_methods(&report, &case(&test), NO_SOURCES)[0].short, "Main.test_main");
        // A dump in no test method of the test's file names none.
        test.faulthandler =
            Some("Current thread 0x1 (most recent call first):\n  File \"/t/other.py\", line 1 in test_a".into());
        assert_eq!(running_methods(&report, &case(&test), NO_SOURCES), vec![]);
    }

    /// Two hangs of one test in two methods: a subprocess of the first deadlocked (its stack has
    /// no Python frame of the test: the method is the one `-v` showed running then), the second
    /// method hung itself. The draft names both, each with where it was read (QA's F9), and the
    /// title the class of both.
    #[test]
    fn each_hang_of_a_test_names_its_own_method() {
        use crate::hang::{diagnose::Diagnosis, diagnose::DiagnosisKind, HangReport, ProcessReport, PythonFrame};
        let hang = |kind, python: Vec<PythonFrame>, running: Option<&str>| HangReport {
            test: Some("test_x".into()),
            pid: 10,
            diagnosis: Diagnosis {
                kind,
                summary: "stuck".into(),
                pid: 10,
                threads: vec![10],
                locks: vec![],
                reference: None,
            },
            processes: vec![ProcessReport {
                pid: 10,
                command: "python".into(),
                threads: vec![crate::hang::ThreadReport {
                    tid: 10,
                    state: "S".into(),
                    frames: vec![],
                    python_frames: python,
                    python_frames_truncated: false,
                    truncated: None,
                }],
            }],
            notes: vec![],
            running_method: running.map(str::to_owned),
            process_went_on: false,
            after_tests: false,
            ended: vec![10],
        };
        let own = PythonFrame { function: "test_2_hangs".into(), file: "/t/test_x.py".into(), line: 18 };
        let mut report = RunReport::new(vec!["python".into()], "/tmp/run".into());
        report.tests = vec![crate::report::TestReport::new("test_x".into(), "hung")];
        report.hangs = vec![
            hang(DiagnosisKind::LockCycle, vec![], Some("EvilHang.test_1_subprocess")),
            hang(DiagnosisKind::NoProgress, vec![own], Some("EvilHang.test_2_hangs")),
        ];
        let source = "import unittest\nclass EvilHang(unittest.TestCase):\n    def test_2_hangs(self):\n        pass\n";
        let sources = |path: &str| (path == "/t/test_x.py").then(|| source.to_owned());
        let drafts = issue_drafts(&report, Some("B"), None, &sources);
        let draft = &drafts[0];
        assert_eq!(draft.title, "test_x: EvilHang hangs (2 methods) on B");
        let running: Vec<&str> = draft.markdown.lines().filter(|l| l.starts_with("- Running: ")).collect();
        assert_eq!(
            running,
            ["- Running: `EvilHang.test_1_subprocess` (regrtest's verbose output when the hang was found), \
              `EvilHang.test_2_hangs` (the hung thread's Python stack)"],
            "{}",
            draft.markdown
        );
    }

    #[test]
    fn search_terms_are_form_encoded() {
        assert_eq!(query_encode("is:issue in:title test_os"), "is%3Aissue+in%3Atitle+test_os");
        assert_eq!(query_encode("a&b=c#d/é"), "a%26b%3Dc%23d%2F%C3%A9");
    }

    #[test]
    fn file_names_are_plain_bounded_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(file_name("test_os", &mut taken), "test_os.md");
        let evil = file_name("../../etc/passwd\u{0}", &mut taken);
        assert!(evil.starts_with("etc_passwd_-") && evil.ends_with(".md"), "{evil}");
        assert!(!evil.contains('/') && !evil.starts_with('.'));
        assert_eq!(file_name("test_os", &mut taken), "test_os-2.md");
        let long = file_name(&"x".repeat(10_000), &mut taken);
        assert!(long.len() < MAX_STEM + 20, "{long}");
        assert!(file_name("..", &mut taken).starts_with("test-"));
        let a = file_name("test a", &mut taken);
        let b = file_name("test/a", &mut taken);
        assert_ne!(a, b);
        for name in &taken {
            assert!(is_draft_file_name(name), "{name}");
        }
        for not_a_draft in ["../x.md", "a/b.md", ".hidden.md", "x.txt", ".md", "-x.md", "a..b.md", "x.md/"] {
            assert!(!is_draft_file_name(not_a_draft), "{not_a_draft}");
        }
    }
}
