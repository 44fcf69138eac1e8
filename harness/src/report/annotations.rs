//! GitHub Actions annotations: `::error ...::message` workflow-command lines for the problems of
//! a [`RunReport`], so that a leak shows up on the C line that allocated the leaked blocks.
//!
//! **What it writes.** One line per [`Failure`] of each failing [`Case`] (leaks, regrtest
//! failures, hangs, sanitizer findings; then the run's own problems): `::error file=F,line=L,title=T::MESSAGE` where the failure has a source location
//! (a leak's top site, or its Python line when the interpreter allocated for Python code and the shim could read the frame's file, a hung thread, a finding's stack: the innermost frame with a file and a
//! line outside the C runtime and the sanitizer's interceptors), `::error title=T::MESSAGE` otherwise
//! (also for a finding whose innermost frame outside the C runtime has no source line, a stripped
//! module's: its caller's line would be the wrong one; not for UBSan's, whose headline names the
//! line, [`junit::Location`]). The title names the test (or `the run`) and
//! the problem (`leakcheck: test_x leaked`); the message is the one-line message, then the
//! details (the text summary's lines), as one command. A leak has one line more for each other
//! distinct location (file and line, as [`junit::site_location`] gives it) of its test's leak
//! sites, each with what leaked there (`leak site 2 of 3: 1 block/repetition (40 bytes) in raw
//! (PyMem_RawMalloc), allocated at leak_three (/src/_qaleak.c:10)`), at most
//! [`MAX_SITE_ANNOTATIONS`] lines per test in all, the last one saying how many more there are;
//! sites marked `free_list_reuse` (see [`super::free_lists`]) are left out, their location being
//! unittest's. GitHub shows at most 10 error annotations per step and 50 per job, so failures
//! come in the report's order, each test's leak first.
//!
//! **Escaping**, as `@actions/core`'s `command.ts` does it: in the message (`escapeData`) `%`
//! becomes `%25`, CR `%0D` and LF `%0A`; in property values (`escapeProperty`) also `:` becomes
//! `%3A` and `,` `%2C`. So nothing from the child can end the command early, start a second
//! command on a new line, or add a property. Other control characters, DEL, C1 and the
//! bidirectional controls are made visible first ([`crate::escape::for_terminal`]'s rule),
//! line breaks kept in the message only.
//!
//! **Stopped commands.** A command's output may stop the runner's command processing
//! (`::stop-commands::TOKEN`), which would hide every annotation after it. [`CommandState`]
//! follows the lines the runner read before ours, and [`resume_commands`] gives the line to
//! write first (`::TOKEN::`).
//!
//! **What the caller provides.** The report; optionally ([`github_annotations_with`]) the
//! checkout's root (`$GITHUB_WORKSPACE`) so that absolute source paths under it become the
//! relative paths GitHub matches against the repository; the lines the runner read before (the
//! command's output, leakcheck's summary) for [`CommandState`]. The caller prints the lines on
//! stdout of a workflow step; this module does no I/O and reads no environment.

#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fmt::Write as _;

use super::junit::{self, cases, Case, Failure, FailureKind, Location};
use super::{LeakSiteReport, RunReport, TestReport};
use crate::escape::for_terminal;

/// Longest message, in characters, before escaping.
const MAX_MESSAGE_CHARS: usize = 4_000;

/// Most annotations of one test's leak: one per distinct location of its leak sites.
pub const MAX_SITE_ANNOTATIONS: usize = 5;

/// Options of [`github_annotations_with`].
#[derive(Debug, Clone, Default)]
pub struct AnnotationOptions<'a> {
    /// The repository checkout (`$GITHUB_WORKSPACE`): source paths under it are written
    /// relative to it.
    pub workspace: Option<&'a str>,
}

/// The annotation lines of `report`, each ending in `\n`.
pub fn github_annotations(report: &RunReport) -> String {
    github_annotations_with(report, &AnnotationOptions::default())
}

/// [`github_annotations`] with options.
pub fn github_annotations_with(report: &RunReport, options: &AnnotationOptions<'_>) -> String {
    annotations_for(&cases(report), options)
}

/// The annotation lines of `cases` (from [`cases`], maybe with failures added by the caller).
pub fn annotations_for(cases: &[Case<'_>], options: &AnnotationOptions<'_>) -> String {
    let mut out = String::new();
    for case in cases {
        for failure in &case.failures {
            annotation(&mut out, case, failure, options);
            if let (FailureKind::Leak, Some(test)) = (failure.kind, case.test) {
                for (location, message) in other_sites(test, failure.location.as_ref()) {
                    let site =
                        Failure { kind: failure.kind, location: Some(location), message, details: String::new() };
                    annotation(&mut out, case, &site, options);
                }
            }
        }
    }
    out
}

/// For a leak of `test` whose annotation points at `first`: the other distinct locations of
/// its leak sites (not marked `free_list_reuse`), largest first, each with its message, so
/// that the test's annotations number at most [`MAX_SITE_ANNOTATIONS`]; the last says how many
/// locations were left out.
fn other_sites(test: &TestReport, first: Option<&Location>) -> Vec<(Location, String)> {
    let Some(first) = first else { return Vec::new() };
    let same = |a: &Location, b: &Location| a.place == b.place;
    let mut places: Vec<(Location, Vec<&LeakSiteReport>)> = vec![(first.clone(), Vec::new())];
    for site in test.leak_sites.iter().filter(|s| !s.free_list_reuse) {
        let Some(at) = junit::site_location(site) else { continue };
        match places.iter_mut().find(|(place, _)| same(place, &at)) {
            Some((_, sites)) => sites.push(site),
            None => places.push((at, vec![site])),
        }
    }
    let total = places.len();
    let shown = total.min(MAX_SITE_ANNOTATIONS);
    places
        .into_iter()
        .enumerate()
        .take(shown)
        .skip(1)
        .map(|(index, (at, sites))| {
            let mut message = format!("leak site {} of {total}: {}", index + 1, describe(&sites, &at));
            if index + 1 == shown && total > shown {
                let more = total - shown;
                let _ = write!(
                    message,
                    "; {more} more leak site{} of {} not annotated (leakcheck's summary and JSON report list them)",
                    super::plural(more),
                    test.name
                );
            }
            (at, message)
        })
        .collect()
}

/// `1 block/repetition (40 bytes) in raw (PyMem_RawMalloc), allocated at leak_three
/// (/src/_qaleak.c:10)`: the sites at one location, their blocks and bytes summed.
fn describe(sites: &[&LeakSiteReport], at: &Location) -> String {
    use super::free_lists::{block_unit, per_repetition, summed};
    let blocks = per_repetition(&summed(sites, |s| &s.blocks));
    let bytes = per_repetition(&summed(sites, |s| &s.bytes));
    let unit = block_unit(&blocks);
    let mut domains: Vec<String> = Vec::new();
    let mut types: Vec<&str> = Vec::new();
    for site in sites {
        let domain = format!("{} ({})", site.domain, junit::domain_api(&site.domain));
        if !domains.contains(&domain) {
            domains.push(domain);
        }
        for t in &site.object_types {
            if !types.contains(&t.as_str()) {
                types.push(t);
            }
        }
    }
    let mut text = format!("{blocks} {unit}/repetition ({bytes} bytes) in {}", domains.join(", "));
    if !types.is_empty() {
        let _ = write!(text, ", objects of type {}", types.join(", "));
    }
    let function = at.function.as_deref().unwrap_or("??");
    let _ = write!(text, ", allocated at {function} ({})", at.place);
    if sites.len() > 1 {
        let _ = write!(text, " ({} stacks)", sites.len());
    }
    text
}

fn annotation(out: &mut String, case: &Case<'_>, failure: &Failure, options: &AnnotationOptions<'_>) {
    let what = match failure.kind {
        FailureKind::Leak => "leaked",
        FailureKind::Regrtest => "failed",
        FailureKind::Sanitizer => "had a sanitizer error",
        FailureKind::Hang => "hung",
        FailureKind::Run => "failed",
    };
    let who = if case.test.is_some() { case.name.as_str() } else { "the run" };
    let title = format!("leakcheck: {who} {what}");
    let mut message = failure.message.clone();
    if !failure.details.is_empty() {
        message.push('\n');
        message.push_str(failure.details.trim_end_matches('\n'));
    }
    let message = clip(&message, MAX_MESSAGE_CHARS);

    out.push_str("::error ");
    // A location without a source line (a stripped module's frame) has no file to point at:
    // the annotation is the run's, rather than one on the wrong line.
    if let Some((file, line)) = failure.location.as_ref().and_then(Location::file_line) {
        let file = relative_path(file, options.workspace);
        let _ = write!(out, "file={},line={},", escape_property(&file), line);
    }
    let _ = writeln!(out, "title={}::{}", escape_property(&title), escape_data(&message));
}

fn clip(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((cut, _)) => Cow::Owned(format!("{}…", &s[..cut])),
    }
}

/// Control characters other than line breaks made visible (CR too: it only ever comes from the
/// child, and a bare CR would be ambiguous in a log).
fn visible(s: &str, keep_newlines: bool) -> String {
    if !keep_newlines {
        return for_terminal(s).into_owned();
    }
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&for_terminal(line));
    }
    out
}

/// `escapeData` of `@actions/core`, after making controls visible.
pub fn escape_data(s: &str) -> String {
    visible(s, true).replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// `escapeProperty` of `@actions/core`, after making controls visible.
pub fn escape_property(s: &str) -> String {
    visible(s, false)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// `file` relative to `workspace` when it lies under it, folded as the text report shows it
/// ([`super::source_path`]: `./build-debug/../Objects/call.c` is `Objects/call.c`, a build
/// tree's `/ws/./Include/x.h` is `Include/x.h` under `/ws`).
fn relative_path(file: &str, workspace: Option<&str>) -> String {
    let file = super::source_path(file);
    if let Some(root) = workspace.map(|w| w.trim_end_matches('/')).filter(|w| !w.is_empty()) {
        let root = super::source_path(root);
        if let Some(rest) = file.strip_prefix(&*root).and_then(|r| r.strip_prefix('/')) {
            return super::source_path(rest).into_owned();
        }
    }
    file.into_owned()
}

/// The workflow commands the runner knows (besides `stop-commands`): a line naming another is
/// no command, and a stop token naming one of these is refused.
const RUNNER_COMMANDS: &[&str] = &[
    "add-mask",
    "add-matcher",
    "add-path",
    "debug",
    "echo",
    "endgroup",
    "error",
    "group",
    "notice",
    "remove-matcher",
    "save-state",
    "set-env",
    "set-output",
    "warning",
];

const STOP_COMMANDS: &str = "stop-commands";

/// Whether the runner still processes workflow commands after the lines it read before ours,
/// as its `ActionCommandManager` decides: `::stop-commands::TOKEN` (or the older
/// `##[stop-commands]TOKEN`) makes it ignore every command until a line whose command is
/// `TOKEN` (`::TOKEN::`). A command's output can stop them, and then none of the annotations
/// written after it would show; [`CommandState::resume_line`] gives them back.
///
/// Lines are read as the runner reads them: ended by LF, CR or CRLF, leading whitespace
/// ignored, command names compared ignoring case. A token that is empty, names a command or is
/// `pause-logging` is refused (unless `ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS` is set, which
/// this does not follow) and stops nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandState {
    /// The token that resumes commands, while they are stopped.
    stopped_by: Option<String>,
}

impl CommandState {
    /// Follow one line the runner read (without its line ending).
    pub fn line(&mut self, line: &str) {
        match &self.stopped_by {
            Some(token) => {
                if parse_command(line, Some(token)).is_some_and(|(name, _)| same_name(&name, token)) {
                    self.stopped_by = None;
                }
            }
            None => {
                if let Some((name, token)) = parse_command(line, None) {
                    if same_name(&name, STOP_COMMANDS) && is_accepted_token(&token) {
                        self.stopped_by = Some(token);
                    }
                }
            }
        }
    }

    /// Whether commands are stopped now.
    pub fn stopped(&self) -> bool {
        self.stopped_by.is_some()
    }

    /// The line that resumes commands (`::TOKEN::`, or `##[TOKEN]` for a token holding `::`),
    /// when they are stopped and a line can: not for a token with a space or a line break.
    pub fn resume_line(&self) -> Option<String> {
        let token = self.stopped_by.as_deref()?;
        [format!("::{token}::"), format!("##[{token}]")].into_iter().find(|line| {
            let mut state = self.clone();
            state.line(line);
            !line.contains(['\r', '\n']) && !state.stopped()
        })
    }
}

/// The command of `line` and its data (unescaped), as the runner's `ActionCommand.TryParseV2`
/// (`::NAME props::DATA` after leading whitespace) and then `TryParse` (`##[NAME props]DATA`
/// anywhere in the line) read it: `None` unless NAME is a command the runner knows now
/// (`token`: the stop token, known while commands are stopped).
fn parse_command(line: &str, token: Option<&str>) -> Option<(String, String)> {
    let known =
        |name: &str| RUNNER_COMMANDS.iter().chain([&STOP_COMMANDS]).chain(token.as_ref()).any(|c| same_name(name, c));
    let name_of = |info: &str| info.split(' ').next().unwrap_or_default().to_owned();
    let v2 = line.trim_start().strip_prefix("::").and_then(|rest| {
        let (info, data) = rest.split_once("::")?;
        let name = name_of(info);
        known(&name).then(|| (name, unescape(data, &[("%0D", "\r"), ("%0A", "\n"), ("%25", "%")])))
    });
    v2.or_else(|| {
        let (_, rest) = line.split_once("##[")?;
        let (info, data) = rest.split_once(']')?;
        let name = name_of(info);
        let escapes = [("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"), ("%25", "%")];
        known(&name).then(|| (name, unescape(data, &escapes)))
    })
}

/// `data` with the runner's replacements applied, one after the other as it does.
fn unescape(data: &str, escapes: &[(&str, &str)]) -> String {
    escapes.iter().fold(data.to_owned(), |text, (escaped, raw)| text.replace(escaped, raw))
}

/// What to write before `annotations` (lines from [`github_annotations`]) once the runner read
/// lines that left it in `state`: nothing while it processes commands, else the line that
/// resumes them, or, when no line can, a note that GitHub will not show them.
pub fn resume_commands(state: &CommandState, annotations: &str) -> String {
    if annotations.is_empty() || !state.stopped() {
        return String::new();
    }
    match state.resume_line() {
        Some(line) => line + "\n",
        None => "leakcheck: the command's output stopped workflow commands (stop-commands) with a token no line \
                 can give back: GitHub does not show the annotations below\n"
            .to_owned(),
    }
}

/// Command names compare ignoring case (the runner's `OrdinalIgnoreCase`).
fn same_name(a: &str, b: &str) -> bool {
    a.to_uppercase() == b.to_uppercase()
}

/// Whether the runner accepts `token` to stop commands (`ValidateStopToken`).
fn is_accepted_token(token: &str) -> bool {
    !token.is_empty()
        && !same_name(token, "pause-logging")
        && !RUNNER_COMMANDS.iter().chain([&STOP_COMMANDS]).any(|c| same_name(token, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_properties_are_escaped_as_the_actions_toolkit_does() {
        assert_eq!(escape_data("100% done\r\nnext::x"), "100%25 done\\x0d%0Anext::x");
        assert_eq!(escape_property("a:b,c%d\ne"), "a%3Ab%2Cc%25d\\x0ae");
        assert_eq!(escape_data("\u{1b}[31mred"), "\\x1b[31mred");
        // An escaped value can hold neither a line break nor the `::` that ends the properties.
        let hostile = "x::error title=forged::boom\n::warning::y,line=1";
        assert!(!escape_property(hostile).contains([':', ',', '\n']));
        assert!(!escape_data(hostile).contains('\n'));
    }

    fn state_after(lines: &[&str]) -> CommandState {
        let mut state = CommandState::default();
        for line in lines {
            state.line(line);
        }
        state
    }

    #[test]
    fn stopped_commands_are_resumed_with_their_token() {
        assert_eq!(state_after(&["hello", "::error::x"]).resume_line(), None);
        let stopped = state_after(&["::stop-commands::pause123"]);
        assert_eq!(stopped.resume_line().as_deref(), Some("::pause123::"));
        // Until the token, nothing is a command, another stop neither.
        let still = state_after(&["::stop-commands::pause123", "::error::x", "::stop-commands::other", "::other::"]);
        assert_eq!(still.resume_line().as_deref(), Some("::pause123::"));
        // The command's own resume (any case, any form, after leading blanks) ends it.
        for resume in ["::pause123::", "  ::PAUSE123::", "x ##[pause123]", "::pause123 a=b::data"] {
            assert!(!state_after(&["::stop-commands::pause123", resume]).stopped(), "{resume}");
        }
        // The older form stops too, anywhere in a line, unless the line is another command.
        assert!(state_after(&["progress ##[stop-commands]tok1"]).stopped());
        assert!(!state_after(&["::warning::see ##[stop-commands]tok1"]).stopped());
        assert!(state_after(&["::unknown::see ##[stop-commands]tok1"]).stopped());
        // Escapes in the token are the runner's.
        assert_eq!(state_after(&["::stop-commands::a%25b"]).resume_line().as_deref(), Some("::a%b::"));
    }

    #[test]
    fn refused_and_unspeakable_tokens() {
        // The runner refuses these: nothing is stopped, so nothing to resume (`::error::` would
        // be an empty annotation).
        for refused in ["::stop-commands::", "::stop-commands::error", "::stop-commands::Pause-Logging"] {
            assert!(!state_after(&[refused]).stopped(), "{refused}");
        }
        // A token holding `::` is resumed in the older form; one with a space or a line break
        // cannot be given back on a line.
        assert_eq!(state_after(&["::stop-commands::a::b"]).resume_line().as_deref(), Some("##[a::b]"));
        for unspeakable in ["::stop-commands::a b", "::stop-commands::a%0Ab", "::stop-commands:: lead"] {
            let state = state_after(&[unspeakable]);
            assert!(state.stopped() && state.resume_line().is_none(), "{unspeakable}");
        }
    }

    #[test]
    fn annotations_are_preceded_by_the_resume_line_only_when_stopped() {
        let annotation = "::error title=t::m\n";
        assert_eq!(resume_commands(&state_after(&["x"]), annotation), "");
        let stopped = state_after(&["::stop-commands::pause123"]);
        assert_eq!(resume_commands(&stopped, annotation), "::pause123::\n");
        assert_eq!(resume_commands(&stopped, ""), "", "no annotations: the command's stop stays");
        let note = resume_commands(&state_after(&["::stop-commands::a b"]), annotation);
        assert!(note.starts_with("leakcheck: ") && note.ends_with("annotations below\n"), "{note}");
        assert!(!state_after(&[note.trim_end()]).stopped(), "the note is no command");
    }

    fn site(function: &str, line: u32, blocks: i64, free_list_reuse: bool) -> LeakSiteReport {
        LeakSiteReport {
            domain: "raw".into(),
            blocks: vec![blocks; 3],
            bytes: vec![40 * blocks; 3],
            frames: vec![crate::symbolize::Frame {
                function: Some(function.into()),
                file: Some("/src/_x,y.c".into()),
                line: Some(line),
                column: None,
                module: "/src/_x.so".into(),
                address: 0x10,
                inlined: false,
            }],
            folded_frames: 1,
            python_frame: None,
            python_frames: vec![],
            object_types: vec![],
            free_list_reuse,
            stack_cut: false,
            other_test_thread: None,
        }
    }

    fn leaking(sites: Vec<LeakSiteReport>) -> RunReport {
        let mut report = RunReport::new(vec!["python".into()], "/tmp/run".into());
        let mut test = TestReport::new("test_x".into(), "passed");
        test.leaked = true;
        test.leak_not_reported_by_regrtest = true;
        test.leak_sites = sites;
        report.tests.push(test);
        report
    }

    #[test]
    fn each_distinct_leak_site_location_is_annotated_up_to_a_limit() {
        // Two stacks at line 10, one at 20, a free-list site at 30: lines 10 and 20.
        let text = github_annotations(&leaking(vec![
            site("a", 10, 2, false),
            site("b", 20, 1, false),
            site("a", 10, 1, false),
            site("dict_new", 30, 5, true),
        ]));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("::error file=/src/_x%2Cy.c,line=10,title=leakcheck%3A test_x leaked::leaked "));
        assert_eq!(
            lines[1],
            "::error file=/src/_x%2Cy.c,line=20,title=leakcheck%3A test_x leaked::leak site 2 of 2: 1 \
             block/repetition (40 bytes) in raw (PyMem_RawMalloc), allocated at b (/src/_x,y.c:20)"
        );
        // Sites sharing the first location add nothing; a second location's sites are summed.
        let text = github_annotations(&leaking(vec![
            site("a", 10, 2, false),
            site("b", 20, 1, false),
            site("b", 20, 2, false),
        ]));
        assert!(text.ends_with("3 blocks/repetition (120 bytes) in raw (PyMem_RawMalloc), allocated at b (/src/_x,y.c:20) (2 stacks)\n"), "{text}");
        // Seven locations: five annotations, the last saying how many are left out.
        let text = github_annotations(&leaking((1..=7).map(|i| site("f", i * 10, 8 - i64::from(i), false)).collect()));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), MAX_SITE_ANNOTATIONS, "{text}");
        assert!(lines[4].contains("line=50,") && lines[4].contains("leak site 5 of 7: "), "{}", lines[4]);
        assert!(
            lines[4].ends_with(
                "; 2 more leak sites of test_x not annotated (leakcheck's summary and JSON report list them)"
            ),
            "{}",
            lines[4]
        );
        assert!(!lines[3].contains("more leak site"), "{}", lines[3]);
        // Every site from a free list: one annotation, with no location.
        let text = github_annotations(&leaking(vec![site("dict_new", 30, 5, true)]));
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("::error title=") && text.contains("allocation site not attributable"), "{text}");
    }

    #[test]
    fn source_paths_are_made_relative_to_the_checkout() {
        assert_eq!(relative_path("/w/repo/c/leakfix.c", Some("/w/repo/")), "c/leakfix.c");
        assert_eq!(relative_path("/elsewhere/x.c", Some("/w/repo")), "/elsewhere/x.c");
        assert_eq!(relative_path("./build-debug/../Objects/call.c", None), "Objects/call.c");
        assert_eq!(relative_path("../../x.c", None), "../../x.c");
        assert_eq!(relative_path("/w/repox/y.c", Some("/w/repo")), "/w/repox/y.c");
        // A build tree's `/./` (CPython's own build: `-I./Include`), under the checkout or not.
        assert_eq!(relative_path("/w/repo/./Include/pycore_call.h", Some("/w/repo")), "Include/pycore_call.h");
        assert_eq!(relative_path("/w//repo/x.c", Some("/w/./repo")), "x.c");
        assert_eq!(
            relative_path("/cache/cpython/./Include/object.h", Some("/w/repo")),
            "/cache/cpython/Include/object.h"
        );
    }
}
