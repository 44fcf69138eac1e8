//! The summary's lists of test names (`6 tests failed:` and the indented names under it): their
//! lines are kept as printed while they are read, and read into names ([`list_names`]) once the
//! names of the tests are known ([`Parser::settle_lists`]), because a name may hold spaces.
//!
//! regrtest's `printlist` (`Lib/test/libregrtest/utils.py`, 3.11 to 3.15) prints
//! `textwrap.fill(' '.join(sorted(names)), width=70)` behind a four-space indent. textwrap
//! expands tabs (to the next multiple of 8, counted in the joined text) and makes every other
//! whitespace character a space; it breaks the lines at runs of whitespace, dropping the run
//! it breaks at, and before 3.14 also inside a word longer than a line (`break_long_words`) and
//! after a hyphen (`break_on_hyphens`). So the names `test_a b` and `test_c` and the names
//! `test_a`, `b` and `test_c` print alike, and a name with a space may be broken across two
//! lines at that space. The names known (the tests the output named in its progress lines,
//! those the command line names, those the shim measured) say which: the list is read as
//! the fewest words that are no known name, the longest known name first; a word that is no
//! known name's is a name of its own, or, at the end of a line filled to the width, the start
//! of a long one that goes on at the start of the next ([`continues_wrapped_name`]).
//!
//! 3.13+'s `display_result` prints the env changed list itself, a test to a line: `    test_x`
//! alone, or `    test_x:` and under it each reason regrtest recorded
//! (`support.set_environment_altered`), indented by eight spaces (`        os.environ was
//! modified`); the reasons are kept for the test ([`Summary::env_changed_reasons`]), never read
//! as names.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::{Parser, MAX_NAME_WORDS};
use crate::regrtest::text::truncate_at_char_boundary;
use crate::regrtest::{Summary, MAX_ENV_CHANGED_REASONS, MAX_ENV_CHANGED_REASON_LEN, MAX_LIST_NAMES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum ListKind {
    Omitted,
    Skipped,
    ResourceDenied,
    RunNoTests,
    EnvChanged,
    Rerun,
    Failed,
    FailedAgain,
}

impl ListKind {
    const ALL: [ListKind; 8] = [
        ListKind::Omitted,
        ListKind::Skipped,
        ListKind::ResourceDenied,
        ListKind::RunNoTests,
        ListKind::EnvChanged,
        ListKind::Rerun,
        ListKind::Failed,
        ListKind::FailedAgain,
    ];

    fn names_in(self, summary: &mut Summary) -> &mut Vec<String> {
        match self {
            ListKind::Omitted => &mut summary.omitted,
            ListKind::Skipped => &mut summary.skipped,
            ListKind::ResourceDenied => &mut summary.resource_denied,
            ListKind::RunNoTests => &mut summary.run_no_tests,
            ListKind::EnvChanged => &mut summary.env_changed,
            ListKind::Rerun => &mut summary.rerun,
            ListKind::Failed => &mut summary.failed,
            ListKind::FailedAgain => &mut summary.failed_again,
        }
    }
}

/// A line of a summary list, as printed, after its indent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ListLine {
    pub(super) text: String,
    /// The line is one name whole (3.13+'s env changed list: `test_x:` with reasons under it).
    pub(super) whole: bool,
}

/// The characters a line of a summary list holds after its indent: `printlist`'s width 70
/// less 4 (`Lib/test/libregrtest/utils.py`, 3.11 to 3.15). Python counts characters, escape
/// sequences in a name too: the line as printed is counted.
const LIST_WIDTH: usize = 66;

/// The most known words tried for a word textwrap broke at a line's end (see
/// [`KnownNames::matches`]).
const MAX_CANDIDATES: usize = 256;

/// What textwrap takes for whitespace (`TextWrapper._whitespace`): ASCII only.
fn wrap_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ')
}

impl Parser {
    /// Keeps an indented line of the summary list being read (see the module documentation).
    /// Returns whether it was one; any other line ends the list.
    pub(super) fn collect_list_names(&mut self, text: &str) -> bool {
        let Some(kind) = self.list else { return false };
        match text.strip_prefix("    ") {
            Some(names) if !names.trim().is_empty() => {
                if kind == ListKind::EnvChanged && self.collect_env_changed_line(names) {
                    return true;
                }
                // As printed: a name may hold escape sequences, and the line's width counts them.
                let printed = self.printed_line().and_then(|line| line.strip_prefix("    ")).map(str::trim_end);
                let text = printed.unwrap_or(names).to_owned();
                let lines = self.list_lines.entry(kind).or_default();
                if lines.len() < MAX_LIST_NAMES {
                    lines.push(ListLine { text, whole: false });
                }
                true
            }
            _ => {
                self.list = None;
                self.env_changed_reasons_of = None;
                false
            }
        }
    }

    /// A line of 3.13+'s env changed list, after its four-space indent: `test_x:` (a test whose
    /// reasons follow) or, under one, a reason (four more spaces). Returns whether it was one;
    /// else it is read as `printlist`'s names (a test without reasons is one of those). A name
    /// with a space is taken for one with reasons when it is a test's.
    fn collect_env_changed_line(&mut self, line: &str) -> bool {
        if let Some(reason) = line.strip_prefix("    ") {
            // A reason under the test named before it; an eight-space indent is never a
            // name's, so one under no test is dropped.
            let at = self.env_changed_reasons_of;
            let Some((_, reasons)) = at.and_then(|at| self.summary.env_changed_reasons.get_mut(at)) else {
                return true;
            };
            if reasons.len() < MAX_ENV_CHANGED_REASONS {
                reasons.push(truncate_at_char_boundary(reason.trim(), MAX_ENV_CHANGED_REASON_LEN).to_owned());
            }
            return true;
        }
        self.env_changed_reasons_of = None;
        let Some(name) = line
            .strip_suffix(':')
            .filter(|name| !name.is_empty() && (!name.contains(char::is_whitespace) || self.is_known(name)))
        else {
            return false;
        };
        let name = self.as_printed(name).into_owned();
        let lines = self.list_lines.entry(ListKind::EnvChanged).or_default();
        if lines.len() < MAX_LIST_NAMES {
            lines.push(ListLine { text: name.clone(), whole: true });
            let reasons = &mut self.summary.env_changed_reasons;
            reasons.push((name, Vec::new()));
            self.env_changed_reasons_of = Some(reasons.len() - 1);
        }
        true
    }

    /// The lines of list `kind` start anew (its header was read, saying `count` names follow).
    pub(super) fn start_list(&mut self, kind: ListKind, count: Option<usize>) {
        self.list_lines.insert(kind, Vec::new());
        match count {
            Some(count) => self.list_counts.insert(kind, count),
            None => self.list_counts.remove(&kind),
        };
        if kind == ListKind::EnvChanged {
            self.summary.env_changed_reasons.clear();
        }
        self.env_changed_reasons_of = None;
        self.list = Some(kind);
    }

    /// A new summary block: its lists start empty, but for the `failed again` list printed
    /// just before it.
    pub(super) fn start_block_lists(&mut self) {
        self.list_lines.retain(|&kind, _| kind == ListKind::FailedAgain);
        self.list_counts.retain(|&kind, _| kind == ListKind::FailedAgain);
        self.list = None;
    }

    /// Reads the names of the lists' lines kept into the summary's lists, by the names known
    /// now (see the module documentation).
    pub(super) fn settle_lists(&mut self) {
        let known = KnownNames::new(self.by_name.keys().chain(&self.selected).chain(&self.measured));
        for kind in ListKind::ALL {
            let names = self.list_lines.get(&kind).map(|lines| list_names(lines, &known)).unwrap_or_default();
            *kind.names_in(&mut self.summary) = names;
        }
    }

    /// After [`Parser::settle_lists`]: the lists of failures (failed, failed again, env
    /// changed) were read whole, each with as many names as its header said. Then a test they
    /// do not name did not fail, whatever else its output said; a list read otherwise (a
    /// name's spaces read wrong, lines past [`MAX_LIST_NAMES`]) proves nothing of the kind.
    pub(super) fn failure_lists_whole(&mut self) -> bool {
        [ListKind::Failed, ListKind::FailedAgain, ListKind::EnvChanged].into_iter().all(|kind| {
            let count = self.list_counts.get(&kind).copied();
            count.is_none_or(|count| kind.names_in(&mut self.summary).len() == count)
        })
    }
}

/// Test names by the words textwrap sees in them, for finding them in a list: a tree of
/// words, each path from the root a name's words.
#[derive(Debug)]
pub(super) struct KnownNames {
    nodes: Vec<Node>,
}

#[derive(Debug, Default)]
struct Node {
    /// The next words of the names this node's words begin, in order (for the words a list
    /// word begins, when textwrap broke it; see [`KnownNames::matches`]).
    next: BTreeMap<String, usize>,
    /// The name whose words end here.
    name: Option<String>,
}

impl KnownNames {
    /// The names of at most [`MAX_NAME_WORDS`] words (a list of hostile length is read in
    /// time proportional to its words times that); longer ones are read as unknown.
    pub(super) fn new<'n>(names: impl IntoIterator<Item = &'n String>) -> Self {
        let mut nodes = vec![Node::default()];
        for name in names {
            if name.split(wrap_space).filter(|word| !word.is_empty()).nth(MAX_NAME_WORDS).is_some() {
                continue;
            }
            let mut at = 0;
            for word in name.split(wrap_space).filter(|word| !word.is_empty()) {
                at = match nodes[at].next.get(word) {
                    Some(&next) => next,
                    None => {
                        nodes.push(Node::default());
                        let next = nodes.len() - 1;
                        nodes[at].next.insert(word.to_owned(), next);
                        next
                    }
                };
            }
            if at != 0 {
                nodes[at].name.get_or_insert_with(|| name.clone());
            }
        }
        KnownNames { nodes }
    }

    /// Whether `words` (separated by spaces) are a known name's.
    fn has(&self, words: &str) -> bool {
        let mut at = 0;
        for word in words.split(' ') {
            match self.nodes[at].next.get(word) {
                Some(&next) => at = next,
                None => return false,
            }
        }
        at != 0 && self.nodes[at].name.is_some()
    }

    /// The known names that begin at word `start` of `words`, each with where it ends: each of
    /// its words is a word of the list, or, at the end of a line, the start of one whose rest
    /// begins the next (textwrap broke it there; at most [`MAX_CANDIDATES`] such words are
    /// tried at a line's end, for a list of hostile length).
    fn matches<'k>(&'k self, words: &[Word<'_>], start: usize) -> Vec<(usize, &'k str)> {
        let mut found = Vec::new();
        // The ways still open: a node, the rest of its word when textwrap broke it (else
        // empty), and the list's word to go on with.
        let mut open: Vec<(usize, &'k str, usize)> = vec![(0, "", start)];
        while let Some((node, rest, at)) = open.pop() {
            let word = words.get(at).filter(|word| !word.whole);
            if !rest.is_empty() {
                let Some(word) = word else { continue };
                if rest == word.text {
                    open.push((node, "", at + 1));
                } else if let Some(rest) = rest.strip_prefix(word.text).filter(|_| word.line_end) {
                    open.push((node, rest, at + 1));
                }
                continue;
            }
            if let Some(name) = self.nodes[node].name.as_deref() {
                found.push((at, name));
            }
            let Some(word) = word else { continue };
            let next = &self.nodes[node].next;
            if let Some(&child) = next.get(word.text) {
                open.push((child, "", at + 1));
            }
            if word.line_end && !word.text.is_empty() {
                let longer = next.range::<str, _>((Bound::Excluded(word.text), Bound::Unbounded));
                for (name_word, &child) in longer.take_while(|(w, _)| w.starts_with(word.text)).take(MAX_CANDIDATES) {
                    open.push((child, &name_word[word.text.len()..], at + 1));
                }
            }
        }
        found
    }
}

/// A word of a list's text.
#[derive(Debug)]
struct Word<'a> {
    text: &'a str,
    /// The last word of its line: a name's next word, or the rest of this one, is on the next.
    line_end: bool,
    /// Its line was filled to [`LIST_WIDTH`].
    full_line: bool,
    /// A whole line that is one name ([`ListLine::whole`]).
    whole: bool,
}

/// The names of a list from its lines (see the module documentation), at most
/// [`MAX_LIST_NAMES`].
pub(super) fn list_names(lines: &[ListLine], known: &KnownNames) -> Vec<String> {
    let mut words: Vec<Word<'_>> = Vec::new();
    for line in lines {
        if line.whole {
            words.push(Word { text: &line.text, line_end: true, full_line: false, whole: true });
            continue;
        }
        let full_line = line.text.chars().count() == LIST_WIDTH;
        let start = words.len();
        words.extend(line.text.split(wrap_space).filter(|word| !word.is_empty()).map(|text| Word {
            text,
            line_end: false,
            full_line,
            whole: false,
        }));
        if let Some(last) = words.get_mut(start..).and_then(<[Word<'_>]>::last_mut) {
            last.line_end = true;
        }
    }
    // From the end: at each word, the reading of the rest with the fewest words that are no
    // known name's (the longest known name first among equals), and where its first name ends.
    let n = words.len();
    let mut unknown = vec![0usize; n + 1];
    let mut choice: Vec<(usize, Option<&str>)> = vec![(0, None); n];
    for at in (0..n).rev() {
        let fallback_end = unknown_name_end(&words, at, known);
        let mut best = (fallback_end - at + unknown[fallback_end], fallback_end, None);
        if words[at].whole {
            best = (unknown[at + 1], at + 1, None);
        } else {
            let mut found = known.matches(&words, at);
            // The longest first: most words, then most characters.
            found.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.len().cmp(&a.1.len())));
            for (end, name) in found {
                if unknown[end] < best.0 || (unknown[end] == best.0 && best.2.is_none()) {
                    best = (unknown[end], end, Some(name));
                }
            }
        }
        unknown[at] = best.0;
        choice[at] = (best.1, best.2);
    }
    let mut names = Vec::new();
    let mut at = 0;
    while at < n && names.len() < MAX_LIST_NAMES {
        let (end, name) = choice[at];
        names.push(match name {
            Some(name) => name.to_owned(),
            None => words[at..end].iter().map(|word| word.text).collect(),
        });
        at = end;
    }
    names
}

/// Where a name that is no known name's ends when it begins at word `at`: it is that word, and
/// the start of the next line when [`continues_wrapped_name`] says that the name goes on there.
fn unknown_name_end(words: &[Word<'_>], at: usize, known: &KnownNames) -> usize {
    let mut name = words[at].text.to_owned();
    let mut end = at + 1;
    while let (Some(last), Some(next)) = (words.get(end - 1), words.get(end)) {
        if !(last.line_end && last.full_line) || next.whole {
            break;
        }
        let joined = format!("{name}{}", next.text);
        if !continues_wrapped_name(&name, next.text, &joined, |name| known.has(name)) {
            break;
        }
        name = joined;
        end += 1;
    }
    end
}

/// Whether `next`, the first name of a summary list's line, is the rest of `last`, the last
/// name of the line before, which was filled to [`LIST_WIDTH`]. textwrap breaks only a name
/// longer than a line, so `joined` must be longer; a line can also end at the width by
/// chance, so the names of tests `known` (announced, or named by the command line) decide
/// first: `joined` is one, or either piece is. Where none is, two names that make more than a
/// line together are read as one (quiet mode running tests the command line does not name:
/// a name of over 61 characters after a full line would be misread).
pub(in crate::regrtest) fn continues_wrapped_name(
    last: &str,
    next: &str,
    joined: &str,
    known: impl Fn(&str) -> bool,
) -> bool {
    if known(joined) {
        return true;
    }
    joined.chars().count() > LIST_WIDTH && !known(last) && !known(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<ListLine> {
        text.iter().map(|t| ListLine { text: (*t).to_owned(), whole: false }).collect()
    }

    fn known(names: &[&str]) -> KnownNames {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        KnownNames::new(&names)
    }

    /// Real 3.11.2 output (`printlist` of six failed tests, one named with a tab, one with an
    /// escape sequence, four with spaces): the known names split it, exactly as named.
    #[test]
    fn names_with_spaces_tabs_and_escapes_are_read_by_the_names_known() {
        let text = lines(&[
            "test_fail       tab test_fail a long name with many words",
            "test_fail another long name with words test_fail sp",
            "test_fail_esc\x1b[1mbold test_ref leak",
        ]);
        let names = [
            "test_fail\ttab",
            "test_fail a long name with many words",
            "test_fail another long name with words",
            "test_fail sp",
            "test_fail_esc\x1b[1mbold",
            "test_ref leak",
        ];
        assert_eq!(list_names(&text, &known(&names)), names);
        // Known names of other tests change nothing; without any, every word is a name.
        assert_eq!(
            list_names(&text, &known(&["test_fail", "sp", "test_other"]))[..3],
            ["test_fail", "tab", "test_fail"]
        );
        assert_eq!(list_names(&text, &known(&[])).len(), 20);
    }

    /// A name with a space broken across two lines at that space, and one broken inside a word
    /// (a long word, or after a hyphen before 3.14): the known name is found whole.
    #[test]
    fn a_known_name_broken_across_lines_is_one_name() {
        let text = lines(&["test_a test_broken", "name test_c"]);
        assert_eq!(
            list_names(&text, &known(&["test_broken name", "test_c"])),
            ["test_a", "test_broken name", "test_c"]
        );
        let text = lines(&["test_a test_hy-", "phen test_c"]);
        assert_eq!(list_names(&text, &known(&["test_hy-phen"])), ["test_a", "test_hy-phen", "test_c"]);
        // Not inside a line: `test_hy- phen` there is two words.
        let text = lines(&["test_hy- phen"]);
        assert_eq!(list_names(&text, &known(&["test_hy-phen"])), ["test_hy-", "phen"]);
    }

    /// The longest known name first, but not at the cost of leaving more words that are no
    /// known name's; two names that read as a third known one stay two when the third is
    /// longer but leaves a word over.
    #[test]
    fn the_longest_known_name_that_leaves_the_fewest_unknown_words() {
        let text = lines(&["test_a test_a b"]);
        assert_eq!(list_names(&text, &known(&["test_a", "test_a b"])), ["test_a", "test_a b"]);
        let text = lines(&["test_a b c"]);
        assert_eq!(list_names(&text, &known(&["test_a", "test_a b", "b c"])), ["test_a", "b c"]);
        assert_eq!(list_names(&text, &known(&["test_a", "test_a b"])), ["test_a b", "c"]);
    }

    /// 3.13+'s env changed lines with reasons are one name each, spaces and all.
    #[test]
    fn whole_lines_are_one_name() {
        let mut text = lines(&["test_a b"]);
        text.push(ListLine { text: "test_c d".into(), whole: true });
        assert_eq!(list_names(&text, &known(&[])), ["test_a", "b", "test_c d"]);
    }

    /// Hostile input costs little: many words, many known names sharing a start.
    #[test]
    fn many_words_and_names_are_read_in_bounded_time() {
        let names: Vec<String> = (0..20_000).map(|i| format!("test_x {i}")).collect();
        let known = KnownNames::new(&names);
        let text: Vec<ListLine> =
            (0..20_000).map(|i| ListLine { text: format!("test_x {i} test_x"), whole: false }).collect();
        let read = list_names(&text, &known);
        assert_eq!(read.len(), 40_000);
        assert_eq!(read[..3], ["test_x 0", "test_x", "test_x 1"]);
        // Every line's last word may begin a broken one: as many known words begin with it.
        let text: Vec<ListLine> = (0..2_000).map(|_| ListLine { text: "t".into(), whole: false }).collect();
        let names: Vec<String> = (0..20_000).map(|i| format!("t{i}")).collect();
        assert_eq!(list_names(&text, &KnownNames::new(&names)).len(), 2_000);
        // A name of as many words as a line holds is no known name (its words are names).
        let long = vec!["w"; 30_000].join(" ");
        let text = [ListLine { text: long.clone(), whole: false }];
        assert_eq!(list_names(&text, &KnownNames::new([&long])).len(), 30_000);
        let long = vec!["w"; 64].join(" ");
        let text = [ListLine { text: long.clone(), whole: false }];
        assert_eq!(list_names(&text, &KnownNames::new([&long])), [long]);
    }
}
