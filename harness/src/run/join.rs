//! One test's report: regrtest's result joined with the series the shim measured for it
//! (domains, leak sites, notes).

use super::*;

/// The domains of test `name` that leaked by leakcheck's measurement `series` (suppressions
/// applied, a domain that leaked through a leak site only included), each with its deltas:
/// `raw blocks [1, 1, 1] bytes [48, 48, 48]`.
pub(super) fn measured_leaks(name: &str, series: &Series, join: &Join<'_>) -> Vec<String> {
    let test = regrtest::TestResult { name: name.to_owned(), ..Default::default() };
    let report = test_report(&test, Some(series), join);
    let Some(domains) = report.domains.as_ref() else { return Vec::new() };
    report
        .leaking_domains()
        .into_iter()
        .filter_map(|domain| {
            let (_, d) = domains.iter().find(|(n, _)| *n == domain)?;
            let bytes = d.bytes.as_deref().map_or_else(|| "unknown".to_owned(), |b| format!("{b:?}"));
            let mut item = format!("{domain} blocks {:?} bytes {bytes}", d.blocks);
            if !d.leaked {
                // Frees of older blocks kept the domain's sum flat; a site grew each time.
                let sites: Vec<String> = report
                    .leak_sites
                    .iter()
                    .filter(|s| s.domain == domain)
                    .map(|s| format!("{:?}", s.blocks))
                    .collect();
                let _ = write!(item, " (at its leak sites: blocks {})", sites.join(", "));
            }
            Some(item)
        })
        .collect()
}

/// How a test's note, and the run's warning, begin when the allocator hooks stopped counting
/// during its counted repetitions.
pub(super) const HOOKS_LOST: &str = "the allocator hooks did not count through the counted repetitions \
     (replaced by PYTHONMALLOC or -X dev, or taken out by the test, e.g. tracemalloc.stop() of \
     a tracemalloc started before them, or a thread's allocations went uncounted for want of \
     memory) in";

/// How a test's note, and the run's warning, begin when the shim stopped recording allocation
/// sites during its repetitions (its own bookkeeping ran out of memory).
pub(super) const SITES_INCOMPLETE: &str = "the shim stopped recording allocation sites during the repetitions";

/// What every test's report needs besides its own data.
pub(super) struct Join<'a> {
    pub(super) symbolizer: &'a Symbolizer,
    pub(super) suppressions: &'a crate::suppress::Suppressions,
    pub(super) stack_depth: u32,
    pub(super) shim_enabled: bool,
    pub(super) hooks_replaced: bool,
    /// The processes leakcheck ended as leftovers (`Supervised::leftovers`).
    pub(super) leftovers: Vec<i32>,
}

/// Whether regrtest reported a leak for `test`: its result says `reference leak`, or it printed
/// a failing leak line (the parser keeps only those printed after the marks of the test's last
/// `-R` repetition, regrtest's place for them) and its result is no verdict on the leak check.
/// A result that is one (`passed`, `env changed`: regrtest checked and found no leak) or that
/// says the test never got there (skipped) makes look-alike lines the test printed itself no
/// leak. Every other result came instead of the check's: quiet mode's summary (`failed`), a run
/// that died (`unknown`), and a `-j` worker that died or was ended after its `-R` check printed
/// the lines (`crashed`: leakcheck ended its hang at interpreter exit, or an atexit handler
/// crashed it; `timed_out`, `worker_failed`, `interrupted`), whose own result regrtest's main
/// process never read: the lines are regrtest's report of the leak all the same.
pub(super) fn regrtest_reported_leak(test: &regrtest::TestResult) -> bool {
    let failing_line = [&test.references, &test.memory_blocks, &test.file_descriptors]
        .iter()
        .any(|l| l.as_ref().is_some_and(|l| l.failing));
    match test.outcome {
        Some(Outcome::ReferenceLeak) => true,
        Some(
            Outcome::Passed
            | Outcome::EnvChanged
            | Outcome::Skipped
            | Outcome::ResourceDenied
            | Outcome::RanNoTests
            | Outcome::NotRun,
        ) => false,
        Some(
            Outcome::Failed
            | Outcome::UncaughtException
            | Outcome::Interrupted
            | Outcome::Crashed
            | Outcome::TimedOut
            | Outcome::WorkerFailed
            | Outcome::Unknown,
        )
        | None => failing_line,
    }
}

pub(super) fn test_report(test: &regrtest::TestResult, series: Option<&Series>, join: &Join<'_>) -> TestReport {
    let regrtest = RegrtestLeaks {
        references: test.references.as_ref().map(|l| l.deltas.clone()),
        memory_blocks: test.memory_blocks.as_ref().map(|l| l.deltas.clone()),
        file_descriptors: test.file_descriptors.as_ref().map(|l| l.deltas.clone()),
        failing: [
            ("references", &test.references),
            ("memory_blocks", &test.memory_blocks),
            ("file_descriptors", &test.file_descriptors),
        ]
        .into_iter()
        .filter(|(_, line)| line.as_ref().is_some_and(|l| l.failing))
        .map(|(key, _)| key)
        .collect(),
        leaked: regrtest_reported_leak(test),
    };
    let mut notes = Vec::new();
    let (domains, repetitions) = match series {
        Some(series) => {
            let analysis = leaks::analyze(series);
            if !analysis.complete && series.measures.is_empty() && test.outcome == Some(Outcome::RanNoTests) {
                // regrtest's `-R` loop ended in its first repetition, which ran no test method:
                // nothing crashed.
                notes.push(format!(
                    "no test method ran (regrtest: ran no tests; -m or -i selected none of its methods, or \
                     it has none), so no repetition was measured (0 of {})",
                    series.warmups + series.runs
                ));
            } else if !analysis.complete {
                let why = if series.aborted.is_none() && join.leftovers.contains(&series.pid) {
                    format!(" ({ENDED_AS_LEFTOVER})")
                } else if series.aborted.is_none() {
                    " (the process died during the test)".to_owned()
                } else if series.measures.is_empty() {
                    // Nothing ran: the reason is regrtest's own exception, e.g. "Tracking
                    // reference leaks requires a debug build of Python".
                    test.traceback.as_deref().and_then(last_error_line).map_or_else(String::new, |e| format!(" ({e})"))
                } else {
                    String::new()
                };
                notes.push(format!(
                    "repetitions cut short: {} of {} measured{why}",
                    series.measures.len(),
                    series.warmups + series.runs,
                ));
            }
            let repetitions = Repetitions {
                warmups: series.warmups,
                runs: series.runs,
                measured: series.measures.len() as u32,
                complete: analysis.complete,
            };
            if series.measures.is_empty() {
                // Nothing measured after the baseline: no delta, no verdict.
                (None, Some(repetitions))
            } else if analysis.unhooked.is_empty() {
                (Some(analysis.domains), Some(repetitions))
            } else {
                // What the hooks did not see cannot be told from zero.
                notes.push(format!("{} {}: no domain counts for this test", HOOKS_LOST, analysis.unhooked.join(", ")));
                (None, Some(repetitions))
            }
        }
        None => {
            if test.repetitions.is_some() && join.shim_enabled {
                notes.push(unmeasured_note(join).into());
            }
            (None, None)
        }
    };
    let modules = series.map(|s| s.modules.as_slice()).unwrap_or(&[]);
    if let Some(incomplete) = series.and_then(|s| s.sites_incomplete.as_ref()) {
        notes.push(format!(
            "{SITES_INCOMPLETE} ({}, from measurement {} on, pid {}): no leak sites for this run; \
             the domain counts are not affected",
            incomplete.reason, incomplete.index, incomplete.pid
        ));
    }
    // Every return address of the series symbolized once, for the verdicts, the sites' frames
    // and the notes.
    let keys = sites::SiteKeys::new(join.symbolizer, modules);
    let verdicts = series
        // Sites that are not all there tell nothing: a leak site may be missing, and a site
        // may miss the frees that would make it none.
        .filter(|series| series.sites_incomplete.is_none())
        .map(|series| leaks::site_verdicts(series, &keys))
        .unwrap_or_default();
    notes.extend(refill_notes(&verdicts.refills, &keys));
    notes.extend(hidden_by_warmup_notes(&verdicts.hidden_by_warmup, &keys));
    let all_sites: Vec<LeakSiteReport> = verdicts
        .leaks
        .into_iter()
        .map(|site| {
            let (frames, folded_frames) = keys.frames(&site.stack);
            if let Some(note) = cut_in_allocator(&site, &frames, keys.interpreter(), join.stack_depth) {
                notes.push(note);
            }
            if let Some(room) = site.stack_cut {
                notes.push(cut_for_room(&site, &frames, room));
            }
            LeakSiteReport {
                domain: site.domain.into(),
                blocks: site.blocks,
                bytes: site.bytes,
                frames,
                folded_frames,
                python_frame: site.python_frames.first().cloned(),
                python_frames: site.python_frames,
                object_types: site.object_types,
                free_list_reuse: false,
                stack_cut: site.stack_cut.is_some(),
                other_test_thread: None,
            }
        })
        .collect();
    let all_sites = let_go_recycled(all_sites, &test.name, series, &regrtest, domains.as_ref(), &mut notes);
    let (leak_sites, suppressed_sites) = suppress_sites(all_sites, join.suppressions);
    let mut domains = domains;
    if let Some(domains) = domains.as_mut() {
        notes.extend(explained_domains(domains, &leak_sites, &suppressed_sites));
        notes.extend(spread_domains(domains, &verdicts.spread));
    }
    let shows_sites = |name: &str| {
        leak_sites.iter().any(|s| s.domain == name) || suppressed_sites.iter().any(|s| s.site.domain == name)
    };
    for name in verdicts.merged_by_innermost.iter().filter(|name| shows_sites(name)) {
        notes.push(format!(
            "{name}: no site grew in every counted repetition with the same Python callers and file; \
             its leak sites are told apart by their innermost Python line (function and line) only, \
             and show that frame alone"
        ));
    }
    for name in verdicts.merged_by_c_frames.iter().filter(|name| shows_sites(name)) {
        notes.push(format!(
            "{name}: no site grew in every counted repetition with the same Python line; its leak sites \
             are told apart by their C frames alone (up to where the interpreter called into C), and \
             show no Python frame: the lines that reached them differed between repetitions. A leak \
             reached from another line each time does that, and so do caches filling up to a \
             high-water mark, each from its own line: more repetitions (-R 3:20) tell them apart (a \
             cache stops growing)"
        ));
    }
    for name in verdicts.merged_by_allocating_line.iter().filter(|name| shows_sites(name)) {
        notes.push(format!(
            "{name}: no site grew in every counted repetition with the same C path; its leak sites are \
             told apart by the C line that allocated and their innermost Python line only: the C calls \
             between them differed between repetitions (a recursion of varying depth, a helper shared by \
             several paths). Such a site shows the innermost C frames its paths share, and that Python \
             frame alone"
        ));
    }
    if !verdicts.unfollowed.is_empty() {
        notes.push(format!(
            "obj: the test replaced CPython's reference tracer (PyRefTracer_SetTracer) during its counted \
             repetitions, so objects taken off CPython's free lists were not followed; {} site(s) that grew \
             in every counted repetition are no leak sites here, as the domain's own counts show no leak",
            verdicts.unfollowed.len()
        ));
    } else if series.is_some_and(Series::objects_unfollowed) && shows_sites("obj") {
        notes.push(
            "obj: the test replaced CPython's reference tracer (PyRefTracer_SetTracer) during its counted \
             repetitions, so objects taken off CPython's free lists were not followed: a leak site of obj may \
             be where such a block was first allocated rather than where the leaked object was made"
                .to_owned(),
        );
    }
    for over in verdicts.overclaimed.iter().filter(|over| shows_sites(over.domain)) {
        notes.push(format!(
            "{}: its leak sites together grew by {:?} blocks, the domain by {:?}: some of them replace \
             blocks that died meanwhile (a free list or a ring rotating its blocks?), which leakcheck \
             could not tell from the leak",
            over.domain, over.sites, over.domain_growth
        ));
    }
    // A site that grew every time is a leak even when other blocks of its domain were freed
    // meanwhile and the domain's own deltas hide it.
    let domain_leak = domains.as_ref().is_some_and(|d| !d.leaked().is_empty()) || !leak_sites.is_empty();
    let mut report = TestReport {
        name: test.name.clone(),
        outcome: outcome_name(test.outcome.as_ref()),
        leaked: regrtest.leaked || domain_leak,
        leak_not_reported_by_regrtest: domain_leak && !regrtest.leaked,
        regrtest,
        domains,
        leak_sites,
        suppressed_sites,
        failed_methods: test.failed_methods.clone(),
        methods: test.methods.clone(),
        // The last one regrtest printed for the test: 3.11's in-process `-w` re-run prints none,
        // and the JUnit failure and issue draft of a test that failed again start with it.
        result_line: test.result_text.clone().or_else(|| test.first_run.as_ref()?.result_text.clone()),
        traceback: test.traceback.clone(),
        faulthandler: test.faulthandler.clone(),
        traceback_method: test.traceback_method.clone(),
        skip_reason: test.skip_reason.clone(),
        env_changed_reasons: test.env_changed_reasons.clone(),
        repetitions,
        notes,
    };
    crate::report::free_lists::mark(&mut report, series.is_some_and(Series::objects_followed));
    report.note_leaks_regrtest_cannot_see(series.is_none_or(Series::regrtest_counts_blocks));
    report
}

/// The sites that stay leak sites: not those of blocks CPython recycles through a free list
/// (`free_lists::is_free_list_reuse`: from 3.13 on, dict key tables only) in a domain whose own
/// deltas show no leak, of a test regrtest found no leak in. Such a site counts the blocks the
/// repetition first allocated, which the code that made its objects took off the free list: a
/// cache of new classes (their key tables) refilled in each repetition grows it with no leak
/// (3.14's test_collections, under `ABCMeta.__new__`). They are said in a note instead; a
/// leak verdict never rests on them alone.
fn let_go_recycled(
    sites: Vec<LeakSiteReport>,
    test: &str,
    series: Option<&Series>,
    regrtest: &RegrtestLeaks,
    domains: Option<&Domains>,
    notes: &mut Vec<String>,
) -> Vec<LeakSiteReport> {
    if regrtest.leaked {
        return sites;
    }
    let followed = series.is_some_and(Series::objects_followed);
    let leaking = domains.map(Domains::leaked).unwrap_or_default();
    let (kept, let_go): (Vec<_>, Vec<_>) = sites.into_iter().partition(|site| {
        leaking.contains(&site.domain.as_str()) || !crate::report::free_lists::is_free_list_reuse(site, test, followed)
    });
    if !let_go.is_empty() {
        let described: Vec<String> = let_go
            .iter()
            .map(|site| {
                let kind = crate::report::free_lists::recycled_kind(site).unwrap_or_else(|| "blocks".into());
                format!("{kind} in {} grew by {:?}", site.domain, site.blocks)
            })
            .collect();
        notes.push(format!(
            "no leak site: {}, but CPython recycles such blocks through a free list, so the site is where \
             the repetition first allocated them, and neither the domain's counts nor regrtest show a leak",
            described.join("; ")
        ));
    }
    kept
}

/// The note of a test that ran `-R` repetitions the shim has no measurement of.
pub(super) fn unmeasured_note(join: &Join<'_>) -> &'static str {
    if join.hooks_replaced {
        "ran with -R but the allocator hooks were replaced (PYTHONMALLOC or -X dev)"
    } else {
        "ran with -R but the shim took no measurement"
    }
}

/// A note for a leak site whose recorded stack is only allocator frames (see
/// [`sites::is_allocator_frame`]) because the shim stopped at `--stack-depth` before the
/// caller: the site names no code of the program.
pub(super) fn cut_in_allocator(
    site: &leaks::LeakSite,
    frames: &[crate::symbolize::Frame],
    interpreter: &[String],
    stack_depth: u32,
) -> Option<String> {
    let cut = stack_depth > 0 && site.stack.len() >= stack_depth as usize;
    let only_allocator = !frames.is_empty() && frames.iter().all(|f| sites::is_allocator_frame(f, interpreter));
    (cut && only_allocator).then(|| {
        format!(
            "{}: the leak site at {} has only allocator frames: its stack was cut at --stack-depth {} \
             before reaching the caller; raise --stack-depth",
            site.domain,
            frames[0].function.as_deref().unwrap_or("??"),
            stack_depth
        )
    })
}

/// A note for a leak site whose stack the shim cut because the allocating thread had only
/// `room` bytes of stack left, too few to unwind through code it had not met before (see the
/// shim's `unwind::RULE_ROOM`).
pub(super) fn cut_for_room(site: &leaks::LeakSite, frames: &[crate::symbolize::Frame], room: u64) -> String {
    let at = match frames.first() {
        Some(frame) => format!("the leak site at {}", frame.function.as_deref().unwrap_or("??")),
        None => "a leak site".to_owned(),
    };
    format!(
        "{}: {at} was allocated on a thread with {room} bytes of stack left, too few for the shim to \
         unwind through code it had not met before: its native stack was cut after {} (a thread \
         started after threading.stack_size() with a small size?); the counts are not affected",
        site.domain,
        match frames.len() {
            1 => "1 frame".to_owned(),
            n => format!("{n} frames"),
        }
    )
}

/// One note per Python line whose frees of blocks from before the test offset the growth of
/// sites allocated while it ran, one for the sites offset by free lists emptied in regrtest's
/// cleanup, and one for those offset by frees of warm-up blocks (see
/// [`leaks::SiteVerdicts::refills`]).
pub(super) fn refill_notes(refills: &[(leaks::LeakSite, leaks::Refill)], keys: &sites::SiteKeys<'_>) -> Vec<String> {
    let described: Vec<(&leaks::Refill, String)> = refills
        .iter()
        .map(|(site, refill)| {
            let (frames, _) = keys.frames(&site.stack);
            (refill, format!("{} in {}", crate::report::short_place(frames.first()), site.domain))
        })
        .collect();
    refill_notes_of(&described)
}

/// A note for each site that grew in every counted repetition in a domain that did not, as many
/// blocks of other sizes allocated during the warm-ups being freed meanwhile
/// ([`leaks::SiteVerdicts::hidden_by_warmup`]): no verdict changes, the reader judges.
pub(super) fn hidden_by_warmup_notes(hidden: &[leaks::HiddenByWarmup], keys: &sites::SiteKeys<'_>) -> Vec<String> {
    hidden
        .iter()
        .map(|hidden| {
            let site = &hidden.site;
            let (frames, _) = keys.frames(&site.stack);
            let from = site
                .python_frames
                .first()
                .map(|f| format!(", from {}:{}", f.file.rsplit('/').next().unwrap_or(&f.file), f.line))
                .unwrap_or_default();
            let sizes: Vec<String> = hidden.sizes.iter().map(u64::to_string).collect();
            format!(
                "{domain}: {place}{from} grew by {blocks:?} blocks in every counted repetition, but the domain's \
                 blocks allocated since the repetitions began by {growth:?}: blocks of other sizes ({sizes} \
                 bytes) allocated during the warm-ups were freed meanwhile, {freed:?}. No leak by the rule \
                 (the domain's growth decides, as for a free list or ring rotating its blocks, which frees \
                 blocks of its own size or on its own line); a leak beside a pool filled during the \
                 warm-ups and draining looks so too",
                domain = site.domain,
                place = crate::report::short_place(frames.first()),
                blocks = site.blocks,
                growth = hidden.domain_growth,
                sizes = sizes.join(", "),
                freed = hidden.freed,
            )
        })
        .collect()
}

/// [`refill_notes`] from each let-go site's place (`PyList_New (listobject.c:279) in obj`):
/// sites that differ only below their innermost frame (their callers, their Python lines) are
/// one place, named once with their count.
pub(super) fn refill_notes_of(described: &[(&leaks::Refill, String)]) -> Vec<String> {
    let mut by_refill: Vec<(&leaks::Refill, Vec<(&str, usize)>)> = Vec::new();
    for (refill, place) in described {
        let places = match by_refill.iter_mut().find(|(r, _)| r == refill) {
            Some((_, places)) => places,
            None => {
                by_refill.push((refill, Vec::new()));
                &mut by_refill.last_mut().expect("just pushed").1
            }
        };
        match places.iter_mut().find(|(p, _)| p == place) {
            Some((_, count)) => *count += 1,
            None => places.push((place, 1)),
        }
    }
    by_refill
        .into_iter()
        .map(|(refill, places)| {
            let sites = places
                .iter()
                .map(|(place, count)| match count {
                    1 => (*place).to_owned(),
                    n => format!("{place} ({n} sites)"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            match refill {
                leaks::Refill::Line(line) => format!(
                    "no leak site: {sites} grew in every counted repetition while {}:{} ran, which freed as many \
                     blocks allocated before the test (a cache full before the test, replacing its entries?)",
                    line.file.rsplit('/').next().unwrap_or(&line.file),
                    line.line
                ),
                leaks::Refill::FreeLists => format!(
                    "no leak site: {sites} grew in every counted repetition, and regrtest's cleanup freed as many \
                     blocks of the same size allocated before the test (a cache full before the test whose \
                     evicted entries went to CPython's free lists, emptied by gc.collect()?)"
                ),
                leaks::Refill::WarmupBlocks => format!(
                    "no leak site: {sites} grew in every counted repetition, but as many blocks of the same size \
                     allocated during the warm-ups were freed meanwhile, and the domain grew by less than its \
                     sites did (a free list or a ring rotating its blocks, as unittest's per-class lists do?)"
                ),
            }
        })
        .collect()
}

/// Marks the leaking domains whose growth no site had in every counted repetition, though
/// their sites summed did, and says so: the verdict stands (regrtest's rule), but there is no
/// site to show, and more repetitions tell a cache filling up to its high-water mark (3.11's
/// ABC caches in test_typing: one table resize per repetition, from another `isinstance`),
/// which stops growing, from a leak that moves, which does not.
pub(super) fn spread_domains(domains: &mut Domains, spread: &[&'static str]) -> Vec<String> {
    let mut notes = Vec::new();
    for (name, domain) in [("raw", &mut domains.raw), ("mem", &mut domains.mem), ("obj", &mut domains.obj)] {
        if domain.leaked && spread.contains(&name) {
            domain.spread = true;
            notes.push(format!(
                "{name}: blocks grew {:?}, but no allocation site did in every counted repetition, \
                 not even by its innermost Python line, by its C frames alone, or by the C line that \
                 allocated with its innermost Python line: caches filling up to a high-water mark, each \
                 from its own line, or a leak that allocates on another C line, or from another Python \
                 line through another C path, each time; more repetitions (-R 3:20) tell them apart by \
                 the domain's counts (a cache stops growing), not by a site",
                domain.blocks
            ));
        }
    }
    notes
}

/// Split the sites into those that leak and those a suppression accepted.
pub(super) fn suppress_sites(
    sites: Vec<LeakSiteReport>,
    suppressions: &crate::suppress::Suppressions,
) -> (Vec<LeakSiteReport>, Vec<SuppressedSite>) {
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    for site in sites {
        match suppressions.matching(&site).map(str::to_owned) {
            Some(suppression) => suppressed.push(SuppressedSite { site, suppression }),
            None => kept.push(site),
        }
    }
    (kept, suppressed)
}

/// A leaking domain with suppressed sites and no unsuppressed site of its own is judged on what
/// the suppressed sites leave of its growth: regrtest's rule on the domain's delta less the
/// suppressed sites' growth, per counted repetition. It stops counting as leaked unless every
/// remaining delta is >= 1 (an accepted leak beside a cache that grows every other repetition,
/// `[2, 1, 2]` less `[1, 1, 1]`, is `[1, 0, 1]`: no leak). Returns a note per domain with
/// suppressed sites so judged, whether cleared or not.
pub(super) fn explained_domains(
    domains: &mut Domains,
    kept: &[LeakSiteReport],
    suppressed: &[SuppressedSite],
) -> Vec<String> {
    let mut notes = Vec::new();
    for (name, domain) in [("raw", &mut domains.raw), ("mem", &mut domains.mem), ("obj", &mut domains.obj)] {
        let accepted: Vec<&SuppressedSite> = suppressed.iter().filter(|s| s.site.domain == name).collect();
        if !domain.leaked || accepted.is_empty() || kept.iter().any(|s| s.domain == name) {
            continue;
        }
        let growth: Vec<i64> = (0..domain.blocks.len())
            .map(|i| {
                accepted.iter().fold(0i64, |sum, s| sum.saturating_add(s.site.blocks.get(i).copied().unwrap_or(0)))
            })
            .collect();
        let remaining: Vec<i64> = domain.blocks.iter().zip(&growth).map(|(d, g)| d.saturating_sub(*g)).collect();
        let rules = crate::report::distinct_suppressions(accepted.iter().copied()).join(", ");
        let (explained, of) = (crate::report::list(&growth), crate::report::list(&domain.blocks));
        if crate::leaks::regrtest_rule(&remaining) {
            notes.push(format!(
                "{name}: the suppressed sites ({rules}) explain blocks {explained} of {of}; what remains, {}, \
                 still leaks by regrtest's rule (every delta >= 1)",
                crate::report::list(&remaining)
            ));
        } else {
            domain.leaked = false;
            let rest = if remaining.iter().all(|&r| r <= 0) {
                String::new()
            } else {
                format!("; what remains, {}, is no leak by regrtest's rule", crate::report::list(&remaining))
            };
            notes.push(format!(
                "{name}: its growth is the suppressed sites' ({rules}): they explain blocks {explained} of {of}{rest}"
            ));
        }
    }
    notes
}

/// The exception line of a Python traceback, at most 200 bytes: the first line of the last
/// exception, the first line at the margin after the last `Traceback (most recent call
/// last):` (its frames, source lines and carets are indented). Not the traceback's last line:
/// unittest's failure message goes on over lines of its own (assertEqual's diff, then `:
/// msg`), and so does doctest's report of the examples that failed. A traceback without that
/// shape (an exception group's lines are all indented), its last line that is not blank.
pub(super) fn last_error_line(traceback: &str) -> Option<String> {
    const HEADER: &str = "Traceback (most recent call last):";
    let lines: Vec<&str> = traceback.lines().collect();
    let last_exception = lines.iter().rposition(|l| l.trim_end() == HEADER).and_then(|at| {
        lines.get(at + 1..)?.iter().find(|l| !l.trim().is_empty() && !l.starts_with(char::is_whitespace))
    });
    let line = match last_exception {
        Some(line) => line.trim(),
        None => lines.iter().rev().map(|l| l.trim()).find(|l| !l.is_empty())?,
    };
    Some(crate::escape::truncate_with_ellipsis(line, 200))
}
