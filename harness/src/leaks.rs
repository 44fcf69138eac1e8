//! From the shim's measurements to per-domain deltas and leak verdicts. Pure; no I/O.
//!
//! A series holds the counters before the first repetition (the baseline) and after each one.
//! Delta `i` is measurement `i` minus the one before it, so a series of `warmups + runs`
//! measurements gives exactly the deltas regrtest computes, and the counted ones are the last
//! `runs`. The verdict is regrtest's own rule for references and memory blocks (bpo-30776): a
//! domain leaks when *every* counted block delta is >= 1, so `[0, 1, 0]` or `[8, -8, 1]` do not.
//! Byte deltas are reported beside the block deltas but do not decide: a cache that grows by
//! `realloc` is not a leak of blocks. Like regrtest 3.12+, the `obj` block deltas leave out the
//! strings interned meanwhile (immortal, freed at shutdown), and so do the leak sites: a site
//! whose live objects are interned immortal strings is none.

#![forbid(unsafe_code)]

use std::collections::{btree_map, BTreeMap, BTreeSet};

use serde::Serialize;

use crate::hang::PythonFrame;
use crate::shim_events::{Count, PyFrameRecord, PythonLine, Series, DOMAINS};

/// Index of the `obj` domain in [`DOMAINS`].
const OBJ: usize = 2;

/// The object type the shim names an interned immortal `str` by (its `objtype` module).
pub const IMMORTAL_INTERNED_STR: &str = "str (interned, immortal)";

/// regrtest's rule for references and memory blocks: leak iff every counted delta is >= 1.
pub fn regrtest_rule(deltas: &[i64]) -> bool {
    !deltas.is_empty() && deltas.iter().all(|&d| d >= 1)
}

/// One domain's deltas over the counted repetitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainDeltas {
    pub blocks: Vec<i64>,
    /// `None` when the domain's sizes are unknown (no debug allocator below the hooks).
    pub bytes: Option<Vec<i64>>,
    pub leaked: bool,
    /// The blocks grew by regrtest's rule, but spread over sites none of which grew in every
    /// counted repetition (see [`SiteVerdicts::spread`]): the verdict stands, with no site to
    /// show. Only with attribution.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub spread: bool,
}

/// The three domains of one test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domains {
    pub raw: DomainDeltas,
    pub mem: DomainDeltas,
    pub obj: DomainDeltas,
}

impl Domains {
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &DomainDeltas)> {
        DOMAINS.into_iter().zip([&self.raw, &self.mem, &self.obj])
    }

    /// Names of the leaking domains.
    pub fn leaked(&self) -> Vec<&'static str> {
        self.iter().filter(|(_, d)| d.leaked).map(|(name, _)| name).collect()
    }
}

/// What one series says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    pub domains: Domains,
    /// Every counted repetition was measured; without that there is no verdict.
    pub complete: bool,
    /// Domains whose hooks were gone at the last measurement (replaced by PYTHONMALLOC, -X dev).
    pub unhooked: Vec<&'static str>,
}

/// Deltas and verdicts of one series.
pub fn analyze(series: &Series) -> Analysis {
    let warmups = series.warmups as usize;
    let wanted = warmups + series.runs as usize;
    let complete = series.complete();
    let unhooked: Vec<&'static str> = (0..3).filter(|&d| !series.hooked(d)).map(|d| DOMAINS[d]).collect();

    let mut previous: Option<[Count; 3]> = series.baseline;
    let mut interned_before = series.interned_baseline;
    let mut deltas: Vec<[Count; 3]> = Vec::with_capacity(series.measures.len());
    for (i, measure) in series.measures.iter().enumerate() {
        let mut delta = match previous {
            Some(prev) => std::array::from_fn(|d| Count {
                blocks: measure[d].blocks - prev[d].blocks,
                bytes: measure[d].bytes - prev[d].bytes,
            }),
            None => [Count::default(); 3],
        };
        // As regrtest 3.12+ does: strings interned meanwhile are no leak (freed at shutdown).
        // They are objects, so they count in `obj`; their bytes are not known.
        let interned_after = series.interned.get(i).copied().unwrap_or(-1);
        if interned_before >= 0 && interned_after >= 0 {
            delta[OBJ].blocks -= interned_after - interned_before;
        }
        interned_before = interned_after;
        deltas.push(delta);
        previous = Some(*measure);
    }
    let counted = deltas.get(warmups.min(deltas.len())..wanted.min(deltas.len())).unwrap_or(&[]);

    let domain = |d: usize| {
        let blocks: Vec<i64> = counted.iter().map(|c| c[d].blocks).collect();
        let bytes = series.bytes_known(d).then(|| counted.iter().map(|c| c[d].bytes).collect());
        let leaked = complete && series.hooked(d) && regrtest_rule(&blocks);
        DomainDeltas { blocks, bytes, leaked, spread: false }
    };
    Analysis { domains: Domains { raw: domain(0), mem: domain(1), obj: domain(2) }, complete, unhooked }
}

/// An allocation site whose live blocks grew in every counted repetition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakSite {
    pub domain: &'static str,
    pub blocks: Vec<i64>,
    pub bytes: Vec<i64>,
    /// Absolute return addresses, innermost first (empty if the stack record is missing).
    pub stack: Vec<u64>,
    /// The Python frames running when the site's blocks were allocated, innermost first, when
    /// the shim could read them.
    pub python_frames: Vec<PythonFrame>,
    /// The Python types of the objects still alive at the site when the test's repetitions
    /// were over (`obj` sites only; empty when the shim could not tell).
    pub object_types: Vec<String>,
    /// The shim cut the stack (of this site, or of one merged into it) because its thread had
    /// too little stack left to unwind further: the bytes it had left (the fewest).
    pub stack_cut: Option<u64>,
}

/// A `pyframe` record in the shape hangs report Python frames in, so that both read alike in
/// the JSON. Line numbers of Python code start at 1, so 0 can say "unknown" (the shim's -1:
/// the code object has no line for the instruction) without turning the `line` hangs already
/// publish into a nullable field. The shim's `?` for a name it could not read stays `?`.
pub fn python_frame(record: &PyFrameRecord) -> PythonFrame {
    PythonFrame {
        function: String::from_utf8_lossy(&record.function).into_owned(),
        file: String::from_utf8_lossy(&record.file).into_owned(),
        line: u32::try_from(record.line).unwrap_or(0),
    }
}

/// The sites of `series` that leak: regrtest's rule holds for the site (every counted
/// repetition left at least one more block alive there) and for all the blocks of its domain
/// allocated since the window opened (the sum over the domain's sites). The second condition
/// tells a leak from a cache whose entries move between sites: a bounded cache refilled from a
/// new call site grows there while its old site shrinks, and the domain's sum stays flat. Frees
/// of blocks allocated before the test ran do not enter the sum, so they cannot hide a leak.
///
/// Frees of blocks older than the window are not in the sum, but the shim counts them by the
/// Python line that ran them and by block size (`ufree` records): a bounded cache that was full
/// before the test (filled at import) evicts such a block for each entry it adds, on that line
/// or, through CPython's free lists, in regrtest's cleanup. Sites whose growth those frees
/// offset are let go as refills (see `flushed_refills` and `refilling`).
///
/// Blocks allocated during the warm-ups count in the sum (at the shim's warm-up sites), and
/// their frees during the counted repetitions are counted by block size and Python line
/// (`wfree` records): a free list or a ring that rotates its blocks (objects made and dropped
/// in turn, one allocated anew while an older one is freed) grows a site while the warm-up site
/// shrinks. When a domain's candidate sites together grew by more than its sum did, sites whose
/// growth those frees offset are let go as refills too, but only as far as the rest still grow
/// as much as the domain (see `warmup_refills`); when they still claim more, they all stay
/// ([`SiteVerdicts::overclaimed`]).
///
/// The shim writes the sites from the measurement that ends the warm-ups on (a site absent from
/// one had no live block), and once more when regrtest's `-R` driver has returned, at index
/// warm-ups + runs, every site it wrote before. A leak site's growth must still be alive then:
/// the driver's own blocks, held from one repetition to the next (`alloc_before =
/// alloc_after`), die with it and can grow a site during the counted repetitions when their
/// first predecessor was a warm-up block; leaked blocks stay. Without that last record (the
/// process died) the growth stands as measured. A series cut short has no site verdicts, like
/// it has no domain verdicts. Largest leaks first.
pub fn leak_sites(series: &Series) -> Vec<LeakSite> {
    site_verdicts(series, &|stack: &[u64]| stack.len().min(MERGE_FRAMES)).leaks
}

/// What [`site_verdicts`] needs to know of a stack's return addresses besides their values,
/// from whoever can symbolize them (`sites::SiteKeys`). A closure `Fn(&[u64]) -> usize` is one
/// that gives [`StackKeys::c_frames`] and keeps every address as its own code.
pub trait StackKeys {
    /// How many of a stack's innermost return addresses are the C code the allocation went
    /// through below the interpreter (see `sites::below_call_dispatch`).
    fn c_frames(&self, stack: &[u64]) -> usize;

    /// The same value for return addresses that return to the same code, as symbolized (the
    /// same function, file, line and column, inlined calls included): gcc's `-O2` unrolls a
    /// two-iteration loop around one `PyMem_RawMalloc` into two calls, two return addresses of
    /// one source line. Addresses of code that cannot be told (no line) keep their own value.
    fn code(&self, return_address: u64) -> u64 {
        return_address
    }

    /// How many of a stack's innermost return addresses are allocator plumbing (see
    /// `sites::is_allocator_frame`: every frame of their call is), before the one whose call
    /// asked for the memory: that one is the allocating C line. Never the whole stack.
    fn allocator_frames(&self, _stack: &[u64]) -> usize {
        0
    }
}

impl<F: Fn(&[u64]) -> usize> StackKeys for F {
    fn c_frames(&self, stack: &[u64]) -> usize {
        self(stack)
    }
}

/// Whether a series leaked, before suppressions: a domain grew by regrtest's rule, or it has
/// a leak site.
pub fn leaked(series: &Series) -> bool {
    !analyze(series).domains.leaked().is_empty() || !leak_sites(series).is_empty()
}

/// The sites of a series that grew: those that leak, and those that refilled a cache full
/// before the test (see [`leak_sites`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteVerdicts {
    pub leaks: Vec<LeakSite>,
    /// Grew in every counted repetition, but as many blocks from before the test were freed
    /// meanwhile where a cache evicts: no leak by the rule, reported (with where) so that a
    /// reader can judge.
    pub refills: Vec<(LeakSite, Refill)>,
    /// Domains whose sites, summed, grew in every counted repetition while none of them did,
    /// even told apart by their innermost Python line only, or (where the domain's deltas leak)
    /// by their C frames alone or by their allocating C line with their innermost Python line:
    /// the growth moved from place to place. Caches filling up to their high-water mark, each
    /// from its own line, do that (and stop growing after more repetitions); so does a leak
    /// whose Python line and C path both differ each time, or that allocates on another C line
    /// each time. The sites cannot tell which.
    pub spread: Vec<&'static str>,
    /// Domains whose leak sites were found only with sites told apart by their innermost
    /// Python line (function and line): their callers or file differed between repetitions.
    pub merged_by_innermost: Vec<&'static str>,
    /// Domains whose leak sites were found only with sites told apart by their C frames alone
    /// (up to where the interpreter called into C): the Python line that reached them differed
    /// between repetitions. Such sites have no Python frames.
    pub merged_by_c_frames: Vec<&'static str>,
    /// Domains whose leak sites were found only with sites told apart by the C line that
    /// allocated (the innermost frame that is not allocator plumbing) and their innermost Python
    /// line: the C calls between them differed between repetitions (a recursion of varying
    /// depth, a helper shared by several paths of an encoder). Such sites show the innermost C
    /// frames their paths share, and the innermost Python frame alone.
    pub merged_by_allocating_line: Vec<&'static str>,
    /// Domains whose leak sites together grew by more blocks than the domain did in every
    /// counted repetition, after the refill rules: some of them replace blocks that died
    /// meanwhile (a free list or a ring rotating its blocks), which the rules could not tell
    /// from the leak.
    pub overclaimed: Vec<Overclaim>,
    /// `obj` sites that grew in every counted repetition, not kept as leak sites because the
    /// test replaced the shim's reference tracer meanwhile (see
    /// [`Series::objects_unfollowed`]) and the domain's own deltas show no leak: on 3.14+ a
    /// free list's blocks then grow sites with no leak.
    pub unfollowed: Vec<LeakSite>,
    /// Sites that grew in every counted repetition in a domain whose sum of sites did not
    /// (so no leak sites, by the rule of [`leak_sites`]), where blocks of the domain allocated
    /// during the warm-ups, of other size classes than the site's, were freed meanwhile, as
    /// fast as the site grew, and neither those of its own size class nor those freed while one
    /// of its Python lines ran were: a pool filled in the warm-ups and drained beside a leak
    /// looks so. The verdicts do not change (a ring or free list rotating its blocks keeps its
    /// domain flat too, though with frees of its own size or on its own line); they are
    /// reported so that a reader can judge.
    pub hidden_by_warmup: Vec<HiddenByWarmup>,
}

/// A site whose growth frees of warm-up blocks of other sizes offset in its domain's sum (see
/// [`SiteVerdicts::hidden_by_warmup`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenByWarmup {
    pub site: LeakSite,
    /// The blocks of the site's domain allocated since the repetitions began, per counted
    /// repetition (not growing by regrtest's rule).
    pub domain_growth: Vec<i64>,
    /// The blocks of the site's domain allocated during the warm-ups, of other size classes than
    /// the site's, freed in each counted repetition.
    pub freed: Vec<i64>,
    /// The sizes of those blocks, in bytes, smallest first.
    pub sizes: Vec<u64>,
}

/// A domain whose leak sites claim more growth than it had (see [`SiteVerdicts::overclaimed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overclaim {
    pub domain: &'static str,
    /// The leak sites' blocks, summed, per counted repetition.
    pub sites: Vec<i64>,
    /// The domain's blocks allocated since the repetitions began, per counted repetition.
    pub domain_growth: Vec<i64>,
}

/// Where the frees that offset a refill site's growth happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refill {
    /// On a Python line running while the site's blocks were allocated.
    Line(PythonFrame),
    /// In regrtest's cleanup, blocks of the site's size: CPython's free lists emptied.
    FreeLists,
    /// Blocks of the site's size allocated during the warm-ups were freed meanwhile, and the
    /// domain's sites together grew by less than its candidate leak sites did: a free list
    /// rotating its blocks (one that objects made and dropped in turn pass through, one
    /// allocated anew while an older one is freed).
    WarmupBlocks,
}

/// [`leak_sites`], with the sites it let go as refills.
///
/// `keys.c_frames` says how many of a stack's innermost frames are the C code the allocation
/// went through below the interpreter (see `sites::below_call_dispatch`): where there are Python
/// frames, sites are told apart by those and the Python lines only. Return addresses are
/// compared by `keys.code`: sites whose compared frames symbolize alike are one site, their
/// counts summed before regrtest's rule is applied (two unrolled copies of one call that each
/// grew `[1, 1, 1]` are one site that grew `[2, 2, 2]`, and copies that took turns are one that
/// grew every time).
///
/// A domain that grew by regrtest's rule with no such site growing every time is looked at
/// once more with sites told apart by their innermost Python line only (its function and line,
/// not its file or callers): one leak reached from other callers each repetition (a dispatch
/// table, a signal handler interrupting whatever runs, code written to a new temporary file
/// each time) is one site that way. If the domain's own deltas leak and still no site grew,
/// once more with sites told apart by their C frames alone (`keys.c_frames` of them where
/// there are Python frames): one leak reached from another Python line each repetition is one site that
/// way, shown with no Python frame. If still none grew, on the same terms, once more with sites
/// told apart by the C line that allocated (the innermost return address that is not allocator
/// plumbing, `keys.allocator_frames`, compared by `keys.code`) and the innermost Python line:
/// one leak reached from one Python line through other C calls each repetition (a recursion of
/// varying depth, a helper that an encoder's list and dict paths share) is one site that way,
/// shown with the innermost C frames its paths share and that Python frame alone. What still
/// has no site is `spread`. Leak sites come largest
/// first: by blocks, then by bytes.
pub fn site_verdicts(series: &Series, keys: &dyn StackKeys) -> SiteVerdicts {
    let (warmups, runs) = (i64::from(series.warmups), i64::from(series.runs));
    if warmups < 1 || runs < 1 || (series.measures.len() as i64) < warmups + runs {
        return SiteVerdicts::default();
    }
    let counted = warmups - 1..warmups + runs;
    let mut domain_totals: BTreeMap<u8, BTreeMap<i64, Count>> = Default::default();
    for (domain, counts) in series.sites.values() {
        let total = domain_totals.entry(*domain).or_default();
        for (&index, count) in counts.range(counted.clone()) {
            let sum = total.entry(index).or_default();
            sum.blocks += count.blocks;
            sum.bytes += count.bytes;
        }
    }
    let domain_growth: BTreeMap<u8, Vec<i64>> =
        domain_totals.iter().map(|(&d, total)| (d, site_deltas(series, total).0)).collect();
    let domain_grows: BTreeSet<u8> =
        domain_growth.iter().filter(|(_, growth)| regrtest_rule(growth)).map(|(&d, _)| d).collect();

    let mut by_callers = candidates(series, keys, &domain_grows, PythonKey::Callers);
    let unexplained: BTreeSet<u8> = domain_grows.difference(&by_callers.grew).copied().collect();
    let by_innermost = candidates(series, keys, &unexplained, PythonKey::Innermost);
    let merged_by_innermost: BTreeSet<u8> = by_innermost.grew.clone();
    let still_unexplained: BTreeSet<u8> = unexplained.difference(&merged_by_innermost).copied().collect();
    // Only where the domain's own verdict is a leak: sites so merged explain a verdict that
    // stands anyway, and never make one (blocks from before the test, freed where a cache
    // evicts, would otherwise let any cache refilled from other lines each time pass for one).
    let name = |id: &u8| DOMAIN_IDS.iter().position(|d| d == id).map(|i| DOMAINS[i]);
    let domains = analyze(series).domains;
    let leaking = domains.leaked();
    let leaking_unexplained: BTreeSet<u8> =
        still_unexplained.iter().copied().filter(|id| name(id).is_some_and(|d| leaking.contains(&d))).collect();
    let by_c_frames = candidates(series, keys, &leaking_unexplained, PythonKey::Nothing);
    let merged_by_c_frames: BTreeSet<u8> = by_c_frames.grew.clone();
    // Last, on the same terms: the allocating C line with the innermost Python line, for one
    // leak reached from one Python line through other C calls each time.
    let by_line: BTreeSet<u8> = leaking_unexplained.difference(&merged_by_c_frames).copied().collect();
    let by_line = candidates(series, keys, &by_line, PythonKey::AllocatingLine);
    let merged_by_allocating_line: BTreeSet<u8> = by_line.grew.clone();
    for more in [by_innermost, by_c_frames, by_line] {
        by_callers.found.extend(more.found);
        by_callers.info.extend(more.info);
    }
    let Candidates { found, info, .. } = by_callers;

    // Free lists first: what they take is no longer part of a line's pool.
    let mut refill = vec![None; found.len()];
    flushed_refills(series, &found, &info, &mut refill);
    let domain_deltas: BTreeMap<u8, Vec<i64>> =
        DOMAIN_IDS.iter().zip(domains.iter()).map(|(&id, (_, d))| (id, d.blocks.clone())).collect();
    refilling(series, &found, &info, &domain_deltas, &mut refill);
    // Last: it lets go only what the domain's own growth cannot account for.
    warmup_refills(series, &found, &info, &domain_growth, &mut refill);
    let mut verdicts = SiteVerdicts {
        spread: still_unexplained
            .iter()
            .filter(|id| !merged_by_c_frames.contains(id) && !merged_by_allocating_line.contains(id))
            .filter_map(name)
            .collect(),
        merged_by_innermost: merged_by_innermost.iter().filter_map(name).collect(),
        merged_by_c_frames: merged_by_c_frames.iter().filter_map(name).collect(),
        merged_by_allocating_line: merged_by_allocating_line.iter().filter_map(name).collect(),
        ..SiteVerdicts::default()
    };
    for (&domain, growth) in &domain_growth {
        let claimed: Vec<i64> = (0..growth.len())
            .map(|i| {
                (0..found.len())
                    .filter(|&m| refill[m].is_none() && info[m].domain == domain)
                    .map(|m| found[m].blocks.get(i).copied().unwrap_or(0))
                    .sum()
            })
            .collect();
        if let Some(name) = name(&domain).filter(|_| exceeds(&claimed, growth)) {
            verdicts.overclaimed.push(Overclaim { domain: name, sites: claimed, domain_growth: growth.clone() });
        }
    }
    // Where objects were not followed off the free lists, `obj` sites alone make no leak.
    let unfollowed = series.objects_unfollowed() && !leaking.contains(&"obj");
    for (site, line) in found.into_iter().zip(refill) {
        match line {
            Some(line) => verdicts.refills.push((site, line)),
            None if unfollowed && site.domain == "obj" => verdicts.unfollowed.push(site),
            None => verdicts.leaks.push(site),
        }
    }
    let quiet: BTreeSet<u8> = domain_growth.keys().filter(|d| !domain_grows.contains(d)).copied().collect();
    verdicts.hidden_by_warmup = hidden_by_warmup(series, keys, &quiet, &domain_growth);
    // Largest first: by blocks, then by bytes.
    verdicts.leaks.sort_by_key(|s| std::cmp::Reverse((s.blocks.iter().sum::<i64>(), s.bytes.iter().sum::<i64>())));
    verdicts
}

/// The sites of `domains` (whose sums did not grow) that grew in every counted repetition, told
/// apart as finely as leak sites first are, whose growth the frees of the domain's warm-up
/// blocks of other size classes offset (see [`offsets`]) while those of its own size class do
/// not (a site whose blocks differ in size has none of its own), nor those freed while one of
/// its own Python lines ran (a ring rotating there, of entries of growing sizes too). See
/// [`SiteVerdicts::hidden_by_warmup`].
fn hidden_by_warmup(
    series: &Series,
    keys: &dyn StackKeys,
    domains: &BTreeSet<u8>,
    domain_growth: &BTreeMap<u8, Vec<i64>>,
) -> Vec<HiddenByWarmup> {
    let warmups = i64::from(series.warmups);
    if !domains.iter().any(|d| series.warmup_frees.keys().any(|(domain, _)| domain == d)) {
        return Vec::new();
    }
    let Candidates { found, info, .. } = candidates(series, keys, domains, PythonKey::Callers);
    let mut hidden = Vec::new();
    for (site, info) in found.into_iter().zip(info) {
        let class = info.size.map(size_class);
        let counted = site.blocks.len();
        let (mut own, mut other) = (vec![0; counted], vec![0; counted]);
        let mut sizes = BTreeSet::new();
        for (&(domain, size), frees) in &series.warmup_frees {
            if domain != info.domain {
                continue;
            }
            let into = if Some(size_class(size)) == class { &mut own } else { &mut other };
            let mut any = false;
            for (i, slot) in into.iter_mut().enumerate() {
                let freed = frees.get(&(warmups + i as i64)).copied().unwrap_or(0);
                *slot += freed;
                any |= freed > 0;
            }
            if any && Some(size_class(size)) != class {
                sizes.insert(size);
            }
        }
        // Warm-up blocks freed while one of the site's own Python lines ran (of any size): a
        // ring rotating its entries there, growing ones too (see `warmup_refills`).
        let mut on_its_lines = vec![0; counted];
        for ((domain, line, _), frees) in &series.warmup_frees_by_line {
            if *domain == info.domain && info.lines.contains(line) {
                for (i, slot) in on_its_lines.iter_mut().enumerate() {
                    *slot += frees.get(&(warmups + i as i64)).copied().unwrap_or(0);
                }
            }
        }
        let one = std::slice::from_ref(&site);
        let at = |of: &[i64], index: i64| {
            usize::try_from(index - warmups).ok().and_then(|i| of.get(i)).copied().unwrap_or(0)
        };
        if !offsets(series, one, &[0], |index| at(&other, index))
            || offsets(series, one, &[0], |index| at(&own, index))
            || offsets(series, one, &[0], |index| at(&on_its_lines, index))
        {
            continue;
        }
        let Some(growth) = domain_growth.get(&info.domain) else { continue };
        hidden.push(HiddenByWarmup {
            domain_growth: growth.clone(),
            freed: other,
            sizes: sizes.into_iter().collect(),
            site,
        });
    }
    hidden
}

/// Whether `claimed` is larger than `growth` in every counted repetition (and there is one).
fn exceeds(claimed: &[i64], growth: &[i64]) -> bool {
    !growth.is_empty() && claimed.len() == growth.len() && claimed.iter().zip(growth).all(|(c, g)| c > g)
}

/// A site's block and byte deltas over the counted repetitions, from its live counts by
/// measurement index (absent from a measurement: no live block there).
fn site_deltas(series: &Series, counts: &BTreeMap<i64, Count>) -> (Vec<i64>, Vec<i64>) {
    let (warmups, runs) = (i64::from(series.warmups), i64::from(series.runs));
    let at = |index: i64| counts.get(&index).copied().unwrap_or_default();
    (warmups..warmups + runs).map(|i| (at(i).blocks - at(i - 1).blocks, at(i).bytes - at(i - 1).bytes)).unzip()
}

/// How much of its Python frames tells one site from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PythonKey {
    /// Every recorded frame: file, function and line of the running function and its callers.
    Callers,
    /// The running function's name and line only.
    Innermost,
    /// None: the C frames alone, up to where the interpreter called into C.
    Nothing,
    /// The running function's name and line, and of the C frames only the one that asked for
    /// the memory (the innermost that is not allocator plumbing, `StackKeys::allocator_frames`),
    /// compared by `StackKeys::code`: the C calls between them may differ.
    AllocatingLine,
}

/// The candidate leak sites of some domains, before the refill rules.
#[derive(Default)]
struct Candidates {
    found: Vec<LeakSite>,
    info: Vec<Candidate>,
    /// The domains in which some site grew in every counted repetition (a candidate or not:
    /// interned strings and blocks that died with the driver grew too).
    grew: BTreeSet<u8>,
}

/// The sites of `domains`, merged as `key` says, that grew in every counted repetition and
/// are still alive after the driver returned.
fn candidates(series: &Series, keys: &dyn StackKeys, domains: &BTreeSet<u8>, key: PythonKey) -> Candidates {
    let (warmups, runs) = (i64::from(series.warmups), i64::from(series.runs));
    let mut result = Candidates::default();
    if domains.is_empty() {
        return result;
    }
    // Sites with the same stack and the same Python lines are one: code compiled anew in each
    // repetition (`exec`, doctest examples) has a new code object each time, which the shim's
    // site key tells apart, but not its lines. Where there are Python lines, the C frames from
    // the allocation up to the interpreter are what the site is about: only those are compared
    // (`c_frames`), at most the innermost `MERGE_FRAMES`. 3.11's adaptive interpreter calls the
    // same C function through `PyObject_Vectorcall` until it has specialized the call site, and
    // from another place of its eval loop after, maybe between two counted repetitions. The
    // addresses are compared as `keys.code` gives them: the copies of one call that the
    // compiler made (an unrolled loop) are one site.
    let mut merged: Vec<Merged<'_>> = Vec::new();
    let mut index_of: BTreeMap<(u8, Vec<u64>, Vec<PythonLine>), usize> = Default::default();
    for (site, (domain, counts)) in &series.sites {
        if !domains.contains(domain) {
            continue;
        }
        // The shim's warm-up sites (blocks allocated before the counted repetitions, without a
        // stack) count in their domain's sum but are no call site. A site with Python lines and
        // no native frame (allocated on a stack the unwinder does not walk: a coroutine's, made
        // with makecontext as greenlet does) is one, told by those lines.
        let stack: &[u64] = series.stacks.get(site).map(Vec::as_slice).unwrap_or_default();
        let all_records = series.pyframes.get(site).map(Vec::as_slice).unwrap_or_default();
        let records = match key {
            PythonKey::Callers => all_records,
            PythonKey::Innermost | PythonKey::AllocatingLine => &all_records[..all_records.len().min(1)],
            PythonKey::Nothing => &[],
        };
        if stack.is_empty() && records.is_empty() {
            continue;
        }
        let lines: Vec<PythonLine> = records
            .iter()
            .map(|f| PythonLine {
                file: if key == PythonKey::Callers { f.file.clone() } else { Vec::new() },
                function: f.function.clone(),
                line: f.line,
            })
            .collect();
        let size = series.block_sizes.get(site).copied();
        let types = series.object_types.get(site).map(Vec::as_slice).unwrap_or_default();
        let cut = series.stack_cuts.get(site).copied();
        let compared = if all_records.is_empty() || stack.is_empty() {
            stack
        } else if key == PythonKey::AllocatingLine {
            let at = keys.allocator_frames(stack).min(stack.len() - 1);
            &stack[at..=at]
        } else {
            &stack[..keys.c_frames(stack).clamp(1, stack.len().min(MERGE_FRAMES))]
        };
        let compared: Vec<u64> = compared.iter().map(|&address| keys.code(address)).collect();
        match index_of.entry((*domain, compared, lines.clone())) {
            btree_map::Entry::Occupied(entry) => {
                let m = &mut merged[*entry.get()];
                if key == PythonKey::AllocatingLine {
                    // Told apart by the allocating line, the sites' C paths differ beyond it:
                    // the site shows the innermost frames they all share, from the allocator
                    // to at least that line.
                    let shared =
                        m.stack.iter().zip(stack).take_while(|(a, b)| keys.code(**a) == keys.code(**b)).count();
                    let allocating = keys.allocator_frames(m.stack) + 1;
                    m.stack = &m.stack[..shared.max(allocating).min(m.stack.len())];
                }
                for (&index, count) in counts {
                    let sum = m.counts.entry(index).or_default();
                    sum.blocks += count.blocks;
                    sum.bytes += count.bytes;
                }
                m.size = m.size.filter(|&s| Some(s) == size);
                m.stack_cut = match (m.stack_cut, cut) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                for t in types {
                    if !m.object_types.contains(t) {
                        m.object_types.push(t.clone());
                    }
                }
            }
            btree_map::Entry::Vacant(entry) => {
                entry.insert(merged.len());
                merged.push(Merged {
                    domain: *domain,
                    stack,
                    lines,
                    records,
                    counts: counts.clone(),
                    size,
                    object_types: types.to_vec(),
                    stack_cut: cut,
                });
            }
        }
    }

    for m in merged {
        let (blocks, bytes) = site_deltas(series, &m.counts);
        if !regrtest_rule(&blocks) {
            continue;
        }
        result.grew.insert(m.domain);
        // Interned immortal strings (3.12+: the compiler's identifiers) live until shutdown, by
        // design; regrtest discounts them too.
        let interned_strings = !m.object_types.is_empty() && m.object_types.iter().all(|t| t == IMMORTAL_INTERNED_STR);
        // A domain whose hook did not count through the counted repetitions saw allocations
        // whose frees it then missed: no verdict there, as for its deltas.
        let Some(index) = DOMAIN_IDS.iter().position(|d| *d == m.domain) else { continue };
        if interned_strings || !series.hooked(index) {
            continue;
        }
        let at_start = m.counts.get(&(warmups - 1)).map_or(0, |c| c.blocks);
        let still_alive = m.counts.get(&(warmups + runs)).is_none_or(|end| end.blocks - at_start >= runs);
        if still_alive {
            result.found.push(LeakSite {
                domain: DOMAINS[index],
                blocks,
                bytes,
                stack: m.stack.to_vec(),
                // Told apart by C frames alone, its blocks came from several Python lines:
                // `records` is empty then, and no one line is shown.
                python_frames: m.records.iter().map(python_frame).collect(),
                object_types: m.object_types,
                stack_cut: m.stack_cut,
            });
            result.info.push(Candidate { domain: m.domain, lines: m.lines, size: m.size });
        }
    }
    result
}

/// The innermost C frames compared when sites with the same Python lines are merged.
pub const MERGE_FRAMES: usize = 8;

/// Sites of a series taken as one (see [`site_verdicts`]).
struct Merged<'a> {
    domain: u8,
    stack: &'a [u64],
    lines: Vec<PythonLine>,
    records: &'a [PyFrameRecord],
    counts: BTreeMap<i64, Count>,
    /// The size of all their blocks, if one.
    size: Option<u64>,
    object_types: Vec<String>,
    /// See [`LeakSite::stack_cut`].
    stack_cut: Option<u64>,
}

/// What the refill rules need of a candidate leak site beside its [`LeakSite`].
struct Candidate {
    domain: u8,
    /// Its Python frames, innermost first.
    lines: Vec<PythonLine>,
    /// The size of all its blocks, if one.
    size: Option<u64>,
}

/// The debug API ids of the domains, in `DOMAINS` order.
const DOMAIN_IDS: [u8; 3] = [b'r', b'm', b'o'];

/// The candidates not yet taken whose growth, pooled by domain and block size, the frees of
/// blocks of that size from before the test in regrtest's cleanup offset, by regrtest's rule.
/// Entries a cache evicts go to CPython's free lists (lists, dicts, key tables...) when they
/// die, and are freed when the cleanup's `gc.collect()` empties them, away from the line that
/// evicted them; a free list holds blocks of one size. A site whose blocks differ in size
/// takes no part.
fn flushed_refills(series: &Series, candidates: &[LeakSite], info: &[Candidate], refill: &mut [Option<Refill>]) {
    let mut by_class: BTreeMap<(u8, u64), BTreeMap<i64, i64>> = BTreeMap::new();
    for (&(domain, size), frees) in &series.cleanup_frees {
        let pooled = by_class.entry((domain, size_class(size))).or_default();
        for (&index, &blocks) in frees {
            *pooled.entry(index).or_default() += blocks;
        }
    }
    for (&(domain, class), frees) in &by_class {
        let members: Vec<usize> = (0..candidates.len())
            .filter(|&i| refill[i].is_none() && info[i].domain == domain && info[i].size.map(size_class) == Some(class))
            .collect();
        if offsets(series, candidates, &members, |index| frees.get(&index).copied().unwrap_or(0)) {
            for member in members {
                refill[member] = Some(Refill::FreeLists);
            }
        }
    }
}

/// The candidates not yet taken that refill a cache full before the test from a Python line:
/// the candidates of one domain allocated while a line ran that freed blocks older than the
/// window (it is one of their frames), taken together, grew by no more than those frees, by
/// regrtest's rule. The frees are pooled by size class with the candidates of that class; a
/// candidate whose blocks differ in size (a cache of growing entries) is pooled with the frees
/// of every size no candidate of one size on that line claims, and then only when the frees
/// match its growth exactly, in each counted repetition.
///
/// When the line is itself the innermost frame of a candidate (of any domain or size), it
/// allocated some of the new entry (the cache's node, the key): its frees of blocks from before
/// the test are its evictions. A line that only called the allocating code (a Python function
/// under `functools.lru_cache`, whose C wrapper evicts on the caller's line) frees, as often,
/// that call's frame being torn down (a test method's locals are freed on its caller's line):
/// there the frees, of blocks from before the test or from the warm-ups, must match the group's
/// growth exactly, and the domain's own deltas (every free counted) must not grow by
/// regrtest's rule once the other candidates' growth is taken off: the blocks left the domain
/// as fast as the group added them.
fn refilling(
    series: &Series,
    candidates: &[LeakSite],
    info: &[Candidate],
    domain_deltas: &BTreeMap<u8, Vec<i64>>,
    refill: &mut [Option<Refill>],
) {
    // (domain, line, size class or None for all sizes) -> (frees of blocks from before the
    // test, those and the frees of warm-up blocks) by measurement index.
    type Frees = (BTreeMap<i64, i64>, BTreeMap<i64, i64>);
    let mut by_class: BTreeMap<(u8, &PythonLine, Option<u64>), Frees> = BTreeMap::new();
    // The size classes of the candidates of one size with a line among their frames.
    let claimed = |domain: u8, line: &PythonLine, class: u64| {
        info.iter().any(|c| c.domain == domain && c.lines.contains(line) && c.size.map(size_class) == Some(class))
    };
    let untracked =
        series.untracked_frees.iter().map(|(key, frees)| (key, frees.iter().map(|(&i, c)| (i, c.blocks)), true));
    let warmup =
        series.warmup_frees_by_line.iter().map(|(key, frees)| (key, frees.iter().map(|(&i, &b)| (i, b)), false));
    for ((domain, line, size), frees, older) in
        untracked.map(|(k, f, o)| (k, f.collect::<Vec<_>>(), o)).chain(warmup.map(|(k, f, o)| (k, f.collect(), o)))
    {
        let class = size_class(*size);
        let mut groups = vec![Some(class)];
        if !claimed(*domain, line, class) {
            groups.push(None);
        }
        for group in groups {
            let pooled = by_class.entry((*domain, line, group)).or_default();
            for &(index, blocks) in &frees {
                if older {
                    *pooled.0.entry(index).or_default() += blocks;
                }
                *pooled.1.entry(index).or_default() += blocks;
            }
        }
    }
    let warmups = i64::from(series.warmups);
    // Blocks of one size first: a group of all sizes takes what is left.
    let mut groups: Vec<_> = by_class.iter().collect();
    groups.sort_by_key(|((_, _, class), _)| class.is_none());
    for (&(domain, line, class), (older, all)) in groups {
        let innermost = info.iter().any(|c| c.lines.first() == Some(line));
        let members: Vec<usize> = (0..candidates.len())
            .filter(|&i| {
                refill[i].is_none()
                    && info[i].domain == domain
                    && info[i].size.map(size_class) == class
                    && info[i].lines.contains(line)
            })
            .collect();
        let Some(&first) = members.first() else { continue };
        let counted = candidates[first].blocks.len();
        let grown = |of: &mut dyn Iterator<Item = usize>| -> Vec<i64> {
            let of: Vec<usize> = of.collect();
            (0..counted).map(|i| of.iter().map(|&m| candidates[m].blocks.get(i).copied().unwrap_or(0)).sum()).collect()
        };
        let theirs = grown(&mut members.iter().copied());
        let frees = if innermost { older } else { all };
        let freed = |index: i64| frees.get(&index).copied().unwrap_or(0);
        let exact = (0..counted).all(|i| theirs[i] == freed(warmups + i as i64));
        if !offsets(series, candidates, &members, freed) || ((!innermost || class.is_none()) && !exact) {
            continue;
        }
        if !innermost {
            let others = grown(
                &mut (0..candidates.len())
                    .filter(|&i| refill[i].is_none() && info[i].domain == domain && !members.contains(&i)),
            );
            let Some(deltas) = domain_deltas.get(&domain).filter(|d| d.len() == counted) else { continue };
            let net: Vec<i64> = deltas.iter().zip(&others).map(|(d, o)| d - o).collect();
            if regrtest_rule(&net) {
                continue;
            }
        }
        let freeing = PythonFrame {
            function: String::from_utf8_lossy(&line.function).into_owned(),
            file: String::from_utf8_lossy(&line.file).into_owned(),
            line: u32::try_from(line.line).unwrap_or(0),
        };
        for member in members {
            refill[member] = Some(Refill::Line(freeing.clone()));
        }
    }
}

/// The candidates not yet taken that replace blocks allocated during the warm-ups, by domain
/// and block size class, as a free list rotating its blocks does: each unittest class's
/// `tearDown_exceptions` list, say, lives until the next class's is made, through the list free
/// list, so a block made in a counted repetition may live on while one made in a warm-up dies.
/// Their sites grow with no leak; the warm-up site, which counts in the domain's sum, shrinks.
///
/// Applied only to a domain whose remaining candidates, together, grew by more than the
/// domain's sum of sites did in every counted repetition: that excess must be blocks that
/// replaced others. A group of candidates whose growth the frees of warm-up blocks of their
/// size class offset (see [`offsets`]) is let go if the remaining candidates still grow by at
/// least as much as the domain in each counted repetition, so the domain's own growth, a leak,
/// keeps its sites. A group is either the candidates of one size class allocated while a
/// Python line ran that freed such blocks (it is one of their frames, and the innermost of
/// some candidate, as in [`refilling`]), with that line's frees: a ring that a C function
/// rotates, freeing its oldest block and allocating a new one in one call, frees on the line
/// whose site grows, and only that site goes, even beside a leak of the same size; or all the
/// candidates of one size class, with all the frees of that class, wherever they happened (a
/// free list's blocks die far from where new ones are made). Line groups go first, then groups
/// exactly offset (as many frees as new blocks in each repetition); when several groups of the
/// same rank could go but not all of them, which one is the leak is not known, and none goes.
fn warmup_refills(
    series: &Series,
    candidates: &[LeakSite],
    info: &[Candidate],
    domain_growth: &BTreeMap<u8, Vec<i64>>,
    refill: &mut [Option<Refill>],
) {
    let warmups = i64::from(series.warmups);
    // (domain, class, freeing line if known) -> frees by measurement index.
    let mut by_group: BTreeMap<(u8, u64, Option<&PythonLine>), BTreeMap<i64, i64>> = BTreeMap::new();
    for (&(domain, size), frees) in &series.warmup_frees {
        let pooled = by_group.entry((domain, size_class(size), None)).or_default();
        for (&index, &blocks) in frees {
            *pooled.entry(index).or_default() += blocks;
        }
    }
    for ((domain, line, size), frees) in &series.warmup_frees_by_line {
        // As in `refilling`: frees on a line that only called the allocating code are, as
        // often, that call's frame being torn down.
        if !info.iter().any(|c| c.lines.first() == Some(line)) {
            continue;
        }
        let pooled = by_group.entry((*domain, size_class(*size), Some(line))).or_default();
        for (&index, &blocks) in frees {
            *pooled.entry(index).or_default() += blocks;
        }
    }
    let grown = |members: &[usize], counted: usize| -> Vec<i64> {
        (0..counted).map(|i| members.iter().map(|&m| candidates[m].blocks.get(i).copied().unwrap_or(0)).sum()).collect()
    };
    let at_least = |a: &[i64], b: &[i64]| a.iter().zip(b).all(|(x, y)| x >= y);
    for (&domain, growth) in domain_growth {
        let counted = growth.len();
        loop {
            let remaining: Vec<usize> =
                (0..candidates.len()).filter(|&i| refill[i].is_none() && info[i].domain == domain).collect();
            let sum = grown(&remaining, counted);
            if !exceeds(&sum, growth) {
                break;
            }
            // ((by its line, exactly offset), members) of each group that may go on its own.
            let mut eligible: Vec<((bool, bool), Vec<usize>)> = Vec::new();
            for (&(_, class, line), frees) in by_group.iter().filter(|((d, ..), _)| *d == domain) {
                let members: Vec<usize> = remaining
                    .iter()
                    .copied()
                    .filter(|&i| info[i].size.map(size_class) == Some(class))
                    .filter(|&i| line.is_none_or(|line| info[i].lines.contains(line)))
                    .collect();
                let freed = |index: i64| frees.get(&index).copied().unwrap_or(0);
                if !offsets(series, candidates, &members, freed) {
                    continue;
                }
                let theirs = grown(&members, counted);
                let after: Vec<i64> = sum.iter().zip(&theirs).map(|(s, t)| s - t).collect();
                if !at_least(&after, growth) {
                    continue;
                }
                let exact = theirs.iter().enumerate().all(|(i, &t)| t == freed(warmups + i as i64));
                eligible.push(((line.is_some(), exact), members));
            }
            let Some(best) = eligible.iter().map(|(rank, _)| *rank).max() else { break };
            let mut together: Vec<usize> =
                eligible.iter().filter(|(rank, _)| *rank == best).flat_map(|(_, m)| m.iter().copied()).collect();
            together.sort_unstable();
            together.dedup();
            let after: Vec<i64> = sum.iter().zip(grown(&together, counted)).map(|(s, t)| s - t).collect();
            if together.is_empty() || !at_least(&after, growth) {
                break;
            }
            for member in together {
                refill[member] = Some(Refill::WarmupBlocks);
            }
        }
    }
}

/// The allocator's size class of a block: requests that round up to the same 16 bytes are
/// alike (pymalloc's classes; an int made by arithmetic may be 4 bytes larger than the same
/// int made by `PyLong_FromSsize_t`).
fn size_class(size: u64) -> u64 {
    size.div_ceil(16)
}

/// Whether frees (`freed(measurement index)`) in every counted repetition (a cache evicts each
/// time; old blocks freed in some is no such pattern) leave the members' pooled growth short of
/// regrtest's rule.
fn offsets(series: &Series, candidates: &[LeakSite], members: &[usize], freed: impl Fn(i64) -> i64) -> bool {
    let Some(&first) = members.first() else { return false };
    let warmups = i64::from(series.warmups);
    let counted = candidates[first].blocks.len();
    let freed: Vec<i64> = (0..counted).map(|i| freed(warmups + i as i64)).collect();
    let net: Vec<i64> = (0..counted)
        .map(|i| members.iter().map(|&m| candidates[m].blocks.get(i).copied().unwrap_or(0)).sum::<i64>() - freed[i])
        .collect();
    regrtest_rule(&freed) && !regrtest_rule(&net)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(raw: i64, mem: i64, obj: i64) -> [Count; 3] {
        [
            Count { blocks: raw, bytes: raw * 48 },
            Count { blocks: mem, bytes: mem * 24 },
            Count { blocks: obj, bytes: obj * 64 },
        ]
    }

    /// A site's live counts by measurement index, from `(index, blocks)`, blocks of `size` bytes.
    fn site_counts(points: &[(i64, i64)], size: i64) -> BTreeMap<i64, Count> {
        points.iter().map(|&(i, b)| (i, Count { blocks: b, bytes: b * size })).collect()
    }

    fn series(points: &[(i64, i64, i64)], warmups: u32, runs: u32) -> Series {
        Series {
            started_ns: None,
            ended_ns: None,
            pid: 1,
            test: "test_x".into(),
            warmups,
            runs,
            baseline: Some(counts(points[0].0, points[0].1, points[0].2)),
            measures: points[1..].iter().map(|&(r, m, o)| counts(r, m, o)).collect(),
            interned_baseline: -1,
            interned: vec![-1; points.len() - 1],
            flags: 0o77,
            begin_flags: 0o77,
            aborted: Some(false),
            sites: Default::default(),
            stacks: Default::default(),
            stack_cuts: Default::default(),
            pyframes: Default::default(),
            object_types: Default::default(),
            modules: Vec::new(),
            untracked_frees: Default::default(),
            cleanup_frees: Default::default(),
            warmup_frees: Default::default(),
            warmup_frees_by_line: Default::default(),
            block_sizes: Default::default(),
            sites_incomplete: None,
            allocated_blocks: None,
        }
    }

    #[test]
    fn sites_of_one_stack_and_python_lines_are_one_site() {
        // Code compiled anew in each repetition (exec, doctest): a new code object, so a new
        // shim site, each time; one block each.
        let mut s = series(&[(0, 0, 0); 7], 3, 3);
        let frame = |site: u32| PyFrameRecord {
            pid: 1,
            site,
            line: 1,
            file: b"<string>".to_vec(),
            function: b"<module>".to_vec(),
        };
        for (site, from) in [(1, 3), (2, 4), (3, 5)] {
            let points: Vec<(i64, i64)> = (from..=6).map(|i| (i, 1)).collect();
            s.sites.insert(site, (b'm', site_counts(&points, 1024)));
            s.stacks.insert(site, vec![0x10, 0x20]);
            s.pyframes.insert(site, vec![frame(site)]);
        }
        let leaks = leak_sites(&s);
        assert_eq!(leaks.len(), 1, "{leaks:?}");
        assert_eq!(leaks[0].blocks, [1, 1, 1]);
        // A difference deep in the interpreter (3.11 specializing a call path) changes nothing.
        let deep: Vec<u64> = (1..=20).collect();
        let mut deeper = deep.clone();
        deeper[17] = 99;
        s.stacks.insert(1, deep.clone());
        s.stacks.insert(2, deeper.clone());
        s.stacks.insert(3, deeper);
        assert_eq!(leak_sites(&s).len(), 1);
        // Near the allocation it is another site...
        s.stacks.get_mut(&3).unwrap()[2] = 99;
        assert!(leak_sites(&s).is_empty());
        // ...unless it is where the interpreter called the C code (3.11 specialized the call
        // site between two repetitions): only the frames below that are compared.
        assert_eq!(site_verdicts(&s, &|_: &[u64]| 2).leaks.len(), 1);
        assert!(site_verdicts(&s, &|_: &[u64]| 3).leaks.is_empty());
        // Without Python lines the whole stack is compared.
        let no_lines = {
            let mut s = s.clone();
            s.pyframes.clear();
            s
        };
        assert!(site_verdicts(&no_lines, &|_: &[u64]| 2).leaks.is_empty());
        s.stacks.insert(3, deep.clone());
        s.stacks.insert(2, deep);
        // Another Python line is another site...
        s.pyframes.get_mut(&2).unwrap()[0].line = 2;
        assert!(leak_sites(&s).is_empty());
        // ...but where the domain's own deltas leak, one is found by its C frames alone, with
        // no Python frame (its blocks came from two lines).
        s.measures = (1..=6).map(|i| counts(0, i, 0)).collect();
        assert!(analyze(&s).domains.mem.leaked);
        let verdicts = site_verdicts(&s, &|stack: &[u64]| stack.len().min(MERGE_FRAMES));
        assert_eq!(verdicts.merged_by_c_frames, ["mem"]);
        assert_eq!(verdicts.leaks.len(), 1);
        assert!(verdicts.leaks[0].python_frames.is_empty());
        // Those C frames are the ones below the interpreter's call: beyond them the stacks may
        // differ (another line, another path through the eval loop).
        s.stacks.get_mut(&2).unwrap()[5] = 99;
        assert!(leak_sites(&s).is_empty());
        assert_eq!(site_verdicts(&s, &|_: &[u64]| 5).leaks.len(), 1);
    }

    #[test]
    fn sites_offset_by_free_lists_emptied_in_the_cleanup_are_no_leak_sites() {
        let mut s = series(&[(0, 0, 0); 7], 3, 3);
        // Site 1: one 56-byte block per repetition; site 2: one 72-byte block (another size class).
        for (site, size) in [(1, 56), (2, 72)] {
            s.sites.insert(site, (b'o', site_counts(&[(2, 0), (3, 1), (4, 2), (5, 3)], size)));
            s.stacks.insert(site, vec![0x10 * u64::from(site)]);
            s.block_sizes.insert(site, size as u64);
        }
        assert_eq!(leak_sites(&s).len(), 2);
        // regrtest's cleanup frees one old 52-byte block (56's size class) per repetition: site 1
        // is a refill.
        s.cleanup_frees.insert((b'o', 52), (3..6).map(|i| (i, 1)).collect());
        let verdicts = site_verdicts(&s, &|stack: &[u64]| stack.len().min(MERGE_FRAMES));
        assert_eq!(verdicts.leaks.iter().map(|l| l.stack[0]).collect::<Vec<_>>(), [0x20]);
        assert_eq!(verdicts.refills.len(), 1);
        assert_eq!(verdicts.refills[0].1, Refill::FreeLists);
        // A site of blocks of two sizes averaging 56 takes no part.
        s.sites.insert(3, (b'o', site_counts(&[(2, 0), (3, 2), (4, 4), (5, 6)], 56)));
        s.stacks.insert(3, vec![0x30]);
        assert!(leak_sites(&s).iter().any(|l| l.stack[0] == 0x30));
        s.sites.remove(&3);
        // Another domain's, or a repetition without one, offsets nothing.
        s.cleanup_frees.clear();
        s.cleanup_frees.insert((b'm', 56), (3..6).map(|i| (i, 1)).collect());
        s.cleanup_frees.insert((b'o', 72), [(3, 1), (5, 1)].into_iter().collect());
        assert_eq!(leak_sites(&s).len(), 2);
    }

    #[test]
    fn sites_replacing_warm_up_blocks_beside_a_leak_are_let_go_only_as_far_as_the_domain_allows() {
        // test_classes4 (four TestCase classes and a leak, -R 3:3) as the shim saw it: obj grows
        // by one block per repetition, the leak's; each class's `tearDown_exceptions` list
        // (56 bytes) rotates through the list free list, one made in each counted repetition
        // while one made in a warm-up dies.
        let mut s = series(&[(0, 0, 0); 7], 3, 3);
        let site = |s: &mut Series, id: u32, points: &[(i64, i64)], size: i64, stack: Vec<u64>| {
            s.sites.insert(id, (b'o', site_counts(points, size)));
            if !stack.is_empty() {
                s.block_sizes.insert(id, size as u64);
            }
            s.stacks.insert(id, stack);
        };
        site(&mut s, 2, &[(2, 16), (3, 11), (4, 8), (5, 7), (6, 24)], 64, vec![]); // the warm-up site
        site(&mut s, 203, &[(3, 1), (4, 2), (5, 3), (6, 3)], 16, vec![0x10]); // object_new: the leak
        site(&mut s, 228, &[(3, 1), (4, 2), (5, 3), (6, 3)], 56, vec![0x20]); // PyList_New
        site(&mut s, 254, &[(3, 1), (4, 1), (5, 1), (6, 1)], 160, vec![0x30]);
        site(&mut s, 255, &[(3, 1), (4, 1), (5, 1), (6, 1)], 400, vec![0x40]);
        site(&mut s, 323, &[(3, 1), (4, 2), (5, 2), (6, 0)], 32, vec![0x50]);
        site(&mut s, 324, &[(3, 1), (4, 2), (5, 2), (6, 0)], 28, vec![0x60]);
        let stacks = |s: &Series| -> (Vec<u64>, Vec<(u64, Refill)>) {
            let verdicts = site_verdicts(s, &|stack: &[u64]| stack.len());
            (
                verdicts.leaks.iter().map(|l| l.stack[0]).collect(),
                verdicts.refills.iter().map(|(l, r)| (l.stack[0], r.clone())).collect(),
            )
        };
        assert_eq!(stacks(&s).0.len(), 2, "without the warm-up frees: both");
        let frees = |s: &mut Series, domain: u8, size: u64, blocks: &[i64]| {
            s.warmup_frees.insert((domain, size), (3..).zip(blocks.iter().copied()).collect());
        };
        for size in [28, 32, 160, 400] {
            frees(&mut s, b'o', size, &[1, usize::from(size < 100) as i64, 0]);
        }
        frees(&mut s, b'm', 32, &[0, 1, 0]);
        frees(&mut s, b'o', 56, &[1, 1, 1]);
        assert_eq!(stacks(&s), (vec![0x10], vec![(0x20, Refill::WarmupBlocks)]));

        // Warm-up blocks of the leak's size freed as often: either site could be the one that
        // replaced them, and only one may go (the domain grew). Not knowing which, none goes.
        frees(&mut s, b'o', 16, &[1, 1, 1]);
        assert_eq!(stacks(&s).0.len(), 2);
        // Exactly as many frees as new blocks at the list site only: that one goes first, and
        // then the rest grow as much as the domain.
        frees(&mut s, b'o', 16, &[2, 1, 1]);
        assert_eq!(stacks(&s), (vec![0x10], vec![(0x20, Refill::WarmupBlocks)]));
        s.warmup_frees.remove(&(b'o', 16));

        // A leak of lists beside the rotation: their site grows by two, offset by one.
        site(&mut s, 228, &[(3, 2), (4, 4), (5, 6), (6, 6)], 56, vec![0x20]);
        site(&mut s, 2, &[(2, 16), (3, 11), (4, 8), (5, 7), (6, 24)], 64, vec![]);
        assert_eq!(stacks(&s).0.len(), 2);
        site(&mut s, 228, &[(3, 1), (4, 2), (5, 3), (6, 3)], 56, vec![0x20]);

        // The domain grew as much as its candidate sites (the warm-up blocks freed elsewhere were
        // replaced elsewhere): nothing to explain, nothing let go.
        site(&mut s, 2, &[(2, 16), (3, 16), (4, 16), (5, 16), (6, 24)], 64, vec![]);
        assert_eq!(stacks(&s).0.len(), 2);
        // Two rotations and a leak: both rotations go, the leak stays.
        site(&mut s, 2, &[(2, 16), (3, 10), (4, 6), (5, 4), (6, 24)], 64, vec![]);
        site(&mut s, 229, &[(3, 1), (4, 2), (5, 3), (6, 3)], 96, vec![0x70]);
        frees(&mut s, b'o', 96, &[1, 1, 1]);
        let (leaks, refills) = stacks(&s);
        assert_eq!(leaks, [0x10]);
        assert_eq!(refills.len(), 2);
    }

    #[test]
    fn a_ring_rotating_warm_up_blocks_on_its_own_line_beside_a_leak_of_its_size_is_let_go() {
        // raw grows by one 32-byte block per repetition (the leak, line 8), while a ring of
        // three 32-byte blocks (line 7) frees its oldest, made in a warm-up, and makes a new one.
        let mut s = series(&[(0, 0, 0); 7], 3, 3);
        let frame = |site: u32, line: i64| PyFrameRecord {
            pid: 1,
            site,
            line,
            file: b"/t/test_r.py".to_vec(),
            function: b"T.test_r".to_vec(),
        };
        let caller = |site: u32| PyFrameRecord {
            pid: 1,
            site,
            line: 579,
            file: b"/u/case.py".to_vec(),
            function: b"TestCase._callTestMethod".to_vec(),
        };
        s.sites.insert(0, (b'r', site_counts(&[(2, 10), (3, 9), (4, 8), (5, 7), (6, 7)], 32)));
        s.stacks.insert(0, vec![]);
        for (site, line) in [(1, 7), (2, 8)] {
            s.sites.insert(site, (b'r', site_counts(&[(3, 1), (4, 2), (5, 3), (6, 3)], 32)));
            s.stacks.insert(site, vec![0x10 * u64::from(site)]);
            s.pyframes.insert(site, vec![frame(site, line), caller(site)]);
            s.block_sizes.insert(site, 32);
        }
        let stacks = |s: &Series| {
            let verdicts = site_verdicts(s, &|stack: &[u64]| stack.len());
            let leaks: Vec<u64> = verdicts.leaks.iter().map(|l| l.stack[0]).collect();
            let refills: Vec<u64> = verdicts.refills.iter().map(|(l, _)| l.stack[0]).collect();
            (leaks, refills, verdicts.overclaimed)
        };
        // By size alone either site could be the one that replaced the warm-up blocks: both
        // stay, and the domain is marked as claimed twice over.
        s.warmup_frees.insert((b'r', 32), (3..6).map(|i| (i, 1)).collect());
        let (leaks, refills, overclaimed) = stacks(&s);
        assert_eq!((leaks.len(), refills.len()), (2, 0));
        assert_eq!(overclaimed, [Overclaim { domain: "raw", sites: vec![2, 2, 2], domain_growth: vec![1, 1, 1] }]);
        // Frees on the caller's line, which both sites have among their frames, tell nothing.
        let line = |line: i64, file: &[u8], function: &[u8]| PythonLine {
            file: file.to_vec(),
            function: function.to_vec(),
            line,
        };
        let by_line = |s: &mut Series, at: PythonLine| {
            s.warmup_frees_by_line.clear();
            s.warmup_frees_by_line.insert((b'r', at, 32), (3..6).map(|i| (i, 1)).collect());
        };
        by_line(&mut s, line(579, b"/u/case.py", b"TestCase._callTestMethod"));
        assert_eq!(stacks(&s).0.len(), 2);
        // Freed while line 7 ran: the ring's site goes, the leak's stays, and the rest
        // accounts for the domain.
        by_line(&mut s, line(7, b"/t/test_r.py", b"T.test_r"));
        assert_eq!(stacks(&s), (vec![0x20], vec![0x10], vec![]));
    }

    #[test]
    fn obj_sites_alone_make_no_leak_where_the_test_replaced_the_reference_tracer() {
        // A builtin method's block on 3.14's free list: its first site grows while blocks from
        // before the test die, and the domain's counts stay flat.
        let mut s = series(&[(0, 0, 0); 7], 3, 3);
        s.sites.insert(3, (b'o', site_counts(&[(3, 1), (4, 2), (5, 3), (6, 3)], 72)));
        s.stacks.insert(3, vec![0x30]);
        const FOLLOWED: u32 = 1 << 6;
        s.begin_flags |= FOLLOWED;
        s.flags &= !FOLLOWED;
        let verdicts = site_verdicts(&s, &|stack: &[u64]| stack.len());
        assert!(verdicts.leaks.is_empty(), "{:?}", verdicts.leaks);
        assert_eq!(verdicts.unfollowed.iter().map(|l| l.stack[0]).collect::<Vec<_>>(), [0x30]);
        // Followed throughout, or never (3.11, 3.12): the rules as ever.
        for flags in [FOLLOWED, 0] {
            s.begin_flags = s.flags | flags;
            s.flags |= flags;
            let verdicts = site_verdicts(&s, &|stack: &[u64]| stack.len());
            assert!(verdicts.unfollowed.is_empty());
            s.flags &= !FOLLOWED;
        }
        // The domain's own deltas leak: the site explains them and stays.
        s.begin_flags |= FOLLOWED;
        s.measures = [(0, 0, 0), (0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 0, 3), (0, 0, 4)]
            .iter()
            .map(|&(r, m, o)| counts(r, m, o))
            .collect();
        let verdicts = site_verdicts(&s, &|stack: &[u64]| stack.len());
        assert_eq!(verdicts.leaks.len(), 1);
        assert!(verdicts.unfollowed.is_empty());
    }

    #[test]
    fn leak_sites_are_sorted_by_blocks_then_by_bytes() {
        let mut s = series(&[(0, 0, 0); 7], 3, 3);
        for (site, size) in [(1, 24), (2, 48), (3, 32)] {
            s.sites.insert(site, (b'r', site_counts(&[(3, 1), (4, 2), (5, 3), (6, 3)], size)));
            s.stacks.insert(site, vec![0x10 * u64::from(site)]);
        }
        s.sites.insert(4, (b'm', site_counts(&[(3, 2), (4, 4), (5, 6), (6, 6)], 8)));
        s.stacks.insert(4, vec![0x40]);
        let order: Vec<u64> = leak_sites(&s).iter().map(|l| l.stack[0]).collect();
        assert_eq!(order, [0x40, 0x20, 0x30, 0x10]);
    }

    /// Return addresses `0x11` and `0x12` return to the same code (one line, two unrolled
    /// calls); the others each to their own.
    struct Unrolled;

    impl StackKeys for Unrolled {
        fn c_frames(&self, stack: &[u64]) -> usize {
            stack.len().min(MERGE_FRAMES)
        }

        fn code(&self, return_address: u64) -> u64 {
            if return_address == 0x12 {
                0x11
            } else {
                return_address
            }
        }
    }

    #[test]
    fn sites_whose_stacks_return_to_the_same_code_are_one_site() {
        let mut s = series(&[(0, 0, 0); 8], 3, 3);
        let frame = |site: u32| PyFrameRecord {
            pid: 1,
            site,
            line: 9,
            file: b"/t/test_u.py".to_vec(),
            function: b"T.test_u".to_vec(),
        };
        // Each copy leaks one 32-byte block per repetition (measurements 3..=5; 6 is after the
        // driver returned), and its objects are of its own type.
        for (site, top) in [(1, 0x11), (2, 0x12)] {
            s.sites.insert(site, (b'o', site_counts(&[(2, 0), (3, 1), (4, 2), (5, 3), (6, 3)], 32)));
            s.stacks.insert(site, vec![top, 0x20]);
            s.pyframes.insert(site, vec![frame(site)]);
            s.object_types.insert(site, vec![format!("T{site}")]);
        }
        let apart = site_verdicts(&s, &|stack: &[u64]| stack.len());
        assert_eq!(apart.leaks.len(), 2, "by their addresses, two sites");
        let merged = site_verdicts(&s, &Unrolled);
        let [site] = merged.leaks.as_slice() else { panic!("{merged:?}") };
        assert_eq!((site.blocks.clone(), site.bytes.clone()), (vec![2, 2, 2], vec![64, 64, 64]));
        assert_eq!(site.stack, [0x11, 0x20]);
        assert_eq!(site.object_types, ["T1", "T2"]);

        // Copies that took turns (the loop ran its first iteration in some repetitions, its
        // second in the others): neither grew every time, the line did. That is decided on the
        // sum, so it is one leak site.
        s.sites.insert(1, (b'o', site_counts(&[(2, 0), (3, 1), (4, 1), (5, 2), (6, 2)], 32)));
        s.sites.insert(2, (b'o', site_counts(&[(2, 0), (3, 0), (4, 1), (5, 1), (6, 1)], 32)));
        assert!(site_verdicts(&s, &|stack: &[u64]| stack.len()).leaks.is_empty());
        let merged = site_verdicts(&s, &Unrolled);
        assert_eq!(merged.leaks.iter().map(|l| l.blocks.clone()).collect::<Vec<_>>(), [vec![1, 1, 1]]);

        // Another Python line, or another domain, is still another site.
        s.pyframes.get_mut(&2).unwrap()[0].line = 10;
        assert!(site_verdicts(&s, &Unrolled).leaks.is_empty());
        s.pyframes.get_mut(&2).unwrap()[0].line = 9;
        s.sites.get_mut(&2).unwrap().0 = b'm';
        assert!(site_verdicts(&s, &Unrolled).leaks.is_empty());
    }

    #[test]
    fn sites_refilling_a_cache_full_before_the_test_are_no_leak_sites() {
        let mut s = series(&[(0, 0, 0); 7], 3, 3);
        let counts = |points: &[(i64, i64)]| site_counts(points, 56);
        let line = |line: i64| PythonLine { file: b"/t/test_c.py".to_vec(), function: b"T.test_c".to_vec(), line };
        let frame = |site: u32, line: i64| PyFrameRecord {
            pid: 1,
            site,
            line,
            file: b"/t/test_c.py".to_vec(),
            function: b"T.test_c".to_vec(),
        };
        // Two sites while line 7 runs (a new entry: two blocks, one made in a function the line
        // calls), one at line 9; each +1 per counted repetition.
        for (site, at) in [(1, 7), (2, 7), (3, 9)] {
            s.sites.insert(site, (b'o', counts(&[(2, 0), (3, 1), (4, 2), (5, 3)])));
            s.stacks.insert(site, vec![0x10 * u64::from(site)]);
            s.pyframes.insert(site, vec![frame(site, at)]);
            s.block_sizes.insert(site, 56);
        }
        let callee = PyFrameRecord { pid: 1, site: 2, line: 3, file: b"/t/cache.py".to_vec(), function: b"f".to_vec() };
        s.pyframes.insert(2, vec![callee, frame(2, 7)]);
        assert_eq!(leak_sites(&s).len(), 3);
        let evictions = |blocks: i64| -> BTreeMap<i64, Count> {
            (3..6).map(|i| (i, Count { blocks, bytes: blocks * 56 })).collect()
        };
        // Line 7 evicts two old blocks per repetition (the entry added before the test): its
        // sites are a full cache refilled; line 9's is still a leak.
        s.untracked_frees.insert((b'o', line(7), 56), evictions(2));
        let stacks: Vec<u64> = leak_sites(&s).iter().map(|l| l.stack[0]).collect();
        assert_eq!(stacks, [0x30]);
        // One eviction for two new blocks: one block a repetition stays, the line leaks.
        s.untracked_frees.insert((b'o', line(7), 56), evictions(1));
        assert_eq!(leak_sites(&s).len(), 3);
        // Old blocks freed on another line, or in another domain, offset nothing.
        s.untracked_frees.clear();
        s.untracked_frees.insert((b'o', line(8), 56), evictions(5));
        s.untracked_frees.insert((b'm', line(7), 56), evictions(5));
        // Nor do old blocks of another size on the line (a leak in a function the cache calls).
        s.untracked_frees.insert((b'o', line(7), 1024), evictions(5));
        assert_eq!(leak_sites(&s).len(), 3);
        // Frees on the caller's line of the test method (its locals, freed as it returns) do
        // not offset what the method allocated: no site was allocated by that line itself.
        let caller = PythonLine { file: b"/u/case.py".to_vec(), function: b"_callTestMethod".to_vec(), line: 579 };
        let called_from =
            PyFrameRecord { pid: 1, site: 3, line: 579, file: caller.file.clone(), function: caller.function.clone() };
        s.pyframes.insert(3, vec![frame(3, 9), called_from]);
        s.untracked_frees.clear();
        s.untracked_frees.insert((b'o', caller, 56), evictions(5));
        assert_eq!(leak_sites(&s).len(), 3);
        // A domain whose hook did not count through the counted repetitions has no sites.
        s.flags &= !(1 << 2); // the shim's FLAG_HOOKED for obj
        assert!(leak_sites(&s).is_empty());
    }

    #[test]
    fn sites_refilling_a_cache_full_before_the_test_from_a_function_called_by_the_evicting_line_are_no_leak_sites() {
        // functools.lru_cache(maxsize=16) around a Python function `render`, filled at import:
        // each repetition asks one new key. The new entry's string is made in `render` (line
        // 10); the C wrapper evicts the oldest entry, made before the test, on the caller's
        // line (T.test_it, line 21). obj's own deltas are flat.
        let mut s = series(&[(0, 0, 0); 7], 3, 3);
        let frame = |line: i64, function: &[u8], file: &[u8]| PyFrameRecord {
            pid: 1,
            site: 1,
            line,
            file: file.to_vec(),
            function: function.to_vec(),
        };
        let test_line = PythonLine { file: b"/t/test_lru.py".to_vec(), function: b"T.test_it".to_vec(), line: 21 };
        let stack = vec![
            frame(10, b"render", b"/t/test_lru.py"),
            frame(21, b"T.test_it", b"/t/test_lru.py"),
            frame(579, b"TestCase._callTestMethod", b"/u/case.py"),
        ];
        // Strings that grow by 40 bytes a key: the site's blocks differ in size.
        let points = [(2, 0, 0), (3, 1, 2729), (4, 2, 5498), (5, 3, 8307), (6, 3, 8307)];
        s.sites.insert(1, (b'o', points.iter().map(|&(i, blocks, bytes)| (i, Count { blocks, bytes })).collect()));
        s.stacks.insert(1, vec![0x10]);
        s.pyframes.insert(1, stack.clone());
        let evicted = |s: &mut Series, line: &PythonLine, sizes: [u64; 3], blocks: i64| {
            for (index, size) in (3..).zip(sizes) {
                let count = Count { blocks, bytes: blocks * size as i64 };
                s.untracked_frees.entry((b'o', line.clone(), size)).or_default().insert(index, count);
            }
        };
        assert_eq!(leak_sites(&s).len(), 1);
        // The evicted entries, 16 keys older, are smaller, one size each repetition.
        evicted(&mut s, &test_line, [2089, 2129, 2169], 1);
        let verdicts = site_verdicts(&s, &|stack: &[u64]| stack.len());
        assert!(verdicts.leaks.is_empty(), "{verdicts:?}");
        assert_eq!(verdicts.refills.len(), 1);
        assert!(matches!(&verdicts.refills[0].1, Refill::Line(f) if f.line == 21 && f.function == "T.test_it"));
        // The same with entries of one size.
        s.untracked_frees.clear();
        s.sites.insert(1, (b'o', site_counts(&[(2, 0), (3, 1), (4, 2), (5, 3), (6, 3)], 450)));
        s.block_sizes.insert(1, 450);
        evicted(&mut s, &test_line, [450, 450, 450], 1);
        assert!(leak_sites(&s).is_empty());
        // Or with the evicted entries made during the warm-ups (a smaller cache).
        s.untracked_frees.clear();
        s.warmup_frees_by_line.insert((b'o', test_line.clone(), 450), (3..6).map(|i| (i, 1)).collect());
        assert!(leak_sites(&s).is_empty());
        s.warmup_frees_by_line.clear();

        // Not when the domain itself grew: the blocks did not leave it as fast as they came.
        evicted(&mut s, &test_line, [450, 450, 450], 1);
        s.measures = (1..=6).map(|i| counts(0, 0, i)).collect();
        assert_eq!(leak_sites(&s).len(), 1);
        s.measures = vec![counts(0, 0, 0); 6];
        // Nor by frees of another size class, nor by more or fewer frees than new blocks (a
        // caller's line frees its callee's locals as the call returns).
        for (sizes, blocks) in [([1024, 1024, 1024], 1), ([450, 450, 450], 2)] {
            s.untracked_frees.clear();
            evicted(&mut s, &test_line, sizes, blocks);
            assert_eq!(leak_sites(&s).len(), 1, "{sizes:?} {blocks}");
        }
        // Nor by frees on a line that is not among the site's frames.
        s.untracked_frees.clear();
        let elsewhere = PythonLine { line: 22, ..test_line.clone() };
        evicted(&mut s, &elsewhere, [450, 450, 450], 1);
        assert_eq!(leak_sites(&s).len(), 1);
    }

    #[test]
    fn a_ring_of_growing_blocks_full_before_the_test_is_no_leak_site() {
        // A C ring of 8 raw buffers filled at import: each call frees the oldest and makes a
        // bigger one, on the line that calls it. The site's blocks differ in size, and so do the
        // frees, one size each repetition.
        let mut s = series(&[(0, 0, 0); 7], 3, 3);
        let line = PythonLine { file: b"/t/test_ring.py".to_vec(), function: b"T.test_it".to_vec(), line: 12 };
        let record =
            PyFrameRecord { pid: 1, site: 1, line: 12, file: line.file.clone(), function: line.function.clone() };
        let points = [(2, 0, 0), (3, 1, 816), (4, 2, 1696), (5, 3, 2640), (6, 3, 2640)];
        s.sites.insert(1, (b'r', points.iter().map(|&(i, blocks, bytes)| (i, Count { blocks, bytes })).collect()));
        s.stacks.insert(1, vec![0x10]);
        s.pyframes.insert(1, vec![record]);
        let free = |s: &mut Series, size: u64, index: i64| {
            let count = Count { blocks: 1, bytes: size as i64 };
            s.untracked_frees.entry((b'r', line.clone(), size)).or_default().insert(index, count);
        };
        for (index, size) in [(3, 304), (4, 368), (5, 432)] {
            free(&mut s, size, index);
        }
        let verdicts = site_verdicts(&s, &|stack: &[u64]| stack.len());
        assert!(verdicts.leaks.is_empty(), "{verdicts:?}");
        // Frees of a size that a site of one size on the line grows by go to that site, not to
        // the ring: with a leak of 32-byte blocks on the line, both stay.
        s.sites.insert(2, (b'r', site_counts(&[(2, 0), (3, 1), (4, 2), (5, 3), (6, 3)], 32)));
        s.stacks.insert(2, vec![0x20]);
        s.pyframes.insert(2, vec![PyFrameRecord { site: 2, ..s.pyframes[&1][0].clone() }]);
        s.block_sizes.insert(2, 32);
        s.untracked_frees.clear();
        for index in 3..6 {
            free(&mut s, 32, index);
        }
        assert_eq!(leak_sites(&s).len(), 1, "the 32-byte site is offset, the ring is not");
        assert_eq!(leak_sites(&s)[0].stack, [0x10]);
    }

    #[test]
    fn growth_spread_over_sites_that_each_grew_once_has_no_site() {
        // mem +1 in each counted repetition (measurements 3..6), each time at another site (a
        // cache filled from another line: its table allocated once, then kept).
        let mut s = series(&[(0, 0, 0), (0, 1, 0), (0, 2, 0), (0, 3, 0), (0, 4, 0), (0, 5, 0), (0, 6, 0)], 3, 3);
        let frame = |site: u32, function: &[u8], file: &[u8], line: i64| PyFrameRecord {
            pid: 1,
            site,
            line,
            file: file.to_vec(),
            function: function.to_vec(),
        };
        // Each through its own C path too (a set's table, a list's items, ...).
        for site in 1..=3u32 {
            let grown_at = 2 + i64::from(site);
            let points: Vec<(i64, i64)> = (2..=6).map(|i| (i, i64::from(i >= grown_at))).collect();
            s.sites.insert(site, (b'm', site_counts(&points, 8192)));
            s.stacks.insert(site, vec![0x100 * u64::from(site), 0x1000]);
            s.pyframes.insert(site, vec![frame(site, b"<lambda>", b"/t/test_c.py", 10 + i64::from(site))]);
        }
        let c_frames = |_: &[u64]| 1;
        let verdicts = site_verdicts(&s, &c_frames);
        assert!(verdicts.leaks.is_empty());
        assert_eq!(verdicts.spread, ["mem"]);
        assert!(leaked(&s), "the domain's verdict stands");

        // Through one C path, from another line each time (a leak reached from three branches):
        // one site by its C frames, with no Python frame.
        for site in 1..=3u32 {
            s.stacks.insert(site, vec![0x100, 0x1000 * u64::from(site)]);
        }
        let verdicts = site_verdicts(&s, &c_frames);
        assert!(verdicts.spread.is_empty() && verdicts.merged_by_innermost.is_empty());
        assert_eq!(verdicts.merged_by_c_frames, ["mem"]);
        assert_eq!(verdicts.leaks.len(), 1);
        assert_eq!(
            (verdicts.leaks[0].blocks.clone(), verdicts.leaks[0].python_frames.clone()),
            (vec![1, 1, 1], vec![])
        );
        assert_eq!(verdicts.leaks[0].stack[0], 0x100);

        // The same innermost line each time, called from other lines (or written to another
        // file): one site by that line, with that frame alone.
        for site in 1..=3u32 {
            let file = format!("/tmp/t{site}/test_c.py");
            let callers = vec![
                frame(site, b"leak", file.as_bytes(), 7),
                frame(site, b"caller", b"/t/test_c.py", 20 + i64::from(site)),
            ];
            s.pyframes.insert(site, callers);
        }
        let verdicts = site_verdicts(&s, &c_frames);
        assert!(verdicts.spread.is_empty() && verdicts.merged_by_c_frames.is_empty());
        assert_eq!(verdicts.merged_by_innermost, ["mem"]);
        assert_eq!(verdicts.leaks.len(), 1);
        assert_eq!(verdicts.leaks[0].blocks, [1, 1, 1]);
        assert_eq!(verdicts.leaks[0].python_frames.len(), 1);
        assert_eq!(verdicts.leaks[0].python_frames[0].function, "leak");

        // One site that grew every time with its callers: found as ever, nothing merged.
        s.sites.insert(4, (b'm', site_counts(&[(2, 0), (3, 1), (4, 2), (5, 3), (6, 3)], 24)));
        s.stacks.insert(4, vec![0x400]);
        let verdicts = site_verdicts(&s, &|stack: &[u64]| stack.len());
        assert_eq!(verdicts.leaks.len(), 1);
        assert_eq!(verdicts.leaks[0].stack, [0x400]);
        assert!(verdicts.spread.is_empty() && verdicts.merged_by_innermost.is_empty());

        // Without sites (no attribution) nothing is spread: the domain's verdict alone.
        s.sites.clear();
        s.stacks.clear();
        assert!(site_verdicts(&s, &|stack: &[u64]| stack.len()).spread.is_empty());
        assert!(leaked(&s));
    }

    /// Return addresses below `0x10` are allocator plumbing; the others are their own code.
    struct Plumbing;

    impl StackKeys for Plumbing {
        fn c_frames(&self, stack: &[u64]) -> usize {
            stack.len().min(MERGE_FRAMES)
        }

        fn allocator_frames(&self, stack: &[u64]) -> usize {
            stack.iter().take_while(|&&a| a < 0x10).count().min(stack.len().saturating_sub(1))
        }
    }

    #[test]
    fn one_c_line_reached_through_other_c_calls_each_time_is_one_site() {
        // raw +1 in each counted repetition (measurements 3..6), from one Python line, at one C
        // line (0x100, below the allocator's 0x1 and 0x2), reached through a recursion 2 or 9
        // deep in turn: two sites by their C frames, each growing every other repetition.
        let mut s = series(&[(0, 0, 0), (1, 0, 0), (2, 0, 0), (3, 0, 0), (4, 0, 0), (5, 0, 0), (6, 0, 0)], 3, 3);
        let frame = |site: u32, line: i64| PyFrameRecord {
            pid: 1,
            site,
            line,
            file: b"/t/test_depth.py".to_vec(),
            function: b"T.test_it".to_vec(),
        };
        let deep = |depth: usize| -> Vec<u64> {
            let mut stack = vec![0x1, 0x2, 0x100];
            stack.extend(std::iter::repeat_n(0x200, depth));
            stack.extend([0x300, 0x1000, 0x2000]);
            stack
        };
        // Site 1 (depth 2) grew in the warm-ups' last and the second counted repetition, site 2
        // (depth 9) in the first and third.
        s.sites.insert(1, (b'r', site_counts(&[(2, 1), (3, 1), (4, 2), (5, 2), (6, 2)], 136)));
        s.sites.insert(2, (b'r', site_counts(&[(2, 1), (3, 2), (4, 2), (5, 3), (6, 3)], 136)));
        s.stacks.insert(1, deep(2));
        s.stacks.insert(2, deep(9));
        for site in [1, 2] {
            s.pyframes.insert(site, vec![frame(site, 12), frame(site, 40)]);
        }
        assert!(analyze(&s).domains.raw.leaked);
        let verdicts = site_verdicts(&s, &Plumbing);
        assert!(verdicts.spread.is_empty() && verdicts.merged_by_c_frames.is_empty(), "{verdicts:?}");
        assert_eq!(verdicts.merged_by_allocating_line, ["raw"]);
        let [site] = verdicts.leaks.as_slice() else { panic!("{verdicts:?}") };
        assert_eq!((site.blocks.clone(), site.bytes.clone()), (vec![1, 1, 1], vec![136, 136, 136]));
        // The frames both paths share, from the allocator on, and the innermost Python frame.
        assert_eq!(site.stack, [0x1, 0x2, 0x100, 0x200, 0x200]);
        assert_eq!(site.python_frames.len(), 1);
        assert_eq!((site.python_frames[0].function.as_str(), site.python_frames[0].line), ("T.test_it", 12));

        // Another allocating line, or another Python line, is another site: spread stays.
        let mut other = s.clone();
        other.stacks.get_mut(&2).unwrap()[2] = 0x101;
        let verdicts = site_verdicts(&other, &Plumbing);
        assert!(verdicts.leaks.is_empty() && verdicts.merged_by_allocating_line.is_empty());
        assert_eq!(verdicts.spread, ["raw"]);
        let mut other = s.clone();
        other.pyframes.get_mut(&2).unwrap()[0].line = 13;
        let verdicts = site_verdicts(&other, &Plumbing);
        assert!(verdicts.leaks.is_empty());
        assert_eq!(verdicts.spread, ["raw"]);

        // Only where the domain's own deltas leak: blocks from before the test freed meanwhile
        // (the domain flat) leave the sites' growth unexplained by this step, and no leak.
        let mut flat = s.clone();
        flat.measures = (1..=6).map(|_| counts(0, 0, 0)).collect();
        assert!(!analyze(&flat).domains.raw.leaked);
        let verdicts = site_verdicts(&flat, &Plumbing);
        assert!(verdicts.leaks.is_empty() && verdicts.merged_by_allocating_line.is_empty(), "{verdicts:?}");
        assert!(!leaked(&flat));

        // A site that grew every time by a finer key is found by it, nothing merged.
        let mut finer = s.clone();
        finer.stacks.insert(2, deep(2));
        let verdicts = site_verdicts(&finer, &Plumbing);
        assert_eq!(verdicts.leaks.len(), 1);
        assert_eq!(verdicts.leaks[0].stack, deep(2));
        assert!(verdicts.merged_by_allocating_line.is_empty());
    }

    #[test]
    fn a_site_hidden_by_warm_up_blocks_of_other_sizes_freed_as_fast_is_reported_not_a_leak() {
        // mem: a pool of 100 200-byte blocks filled during the warm-ups (the shim's warm-up site,
        // no stack) loses one in each counted repetition while a 24-byte site gains one. The
        // domain's sum is flat: no leak site, by the rule.
        let mut s = series(&[(0, 0, 0); 7], 3, 3);
        s.sites.insert(9, (b'm', site_counts(&[(2, 100), (3, 99), (4, 98), (5, 97), (6, 97)], 200)));
        s.block_sizes.insert(9, 200);
        s.sites.insert(1, (b'm', site_counts(&[(2, 0), (3, 1), (4, 2), (5, 3), (6, 3)], 24)));
        s.stacks.insert(1, vec![0x10]);
        s.block_sizes.insert(1, 24);
        let keys = |stack: &[u64]| stack.len().min(MERGE_FRAMES);
        let quiet = site_verdicts(&s, &keys);
        assert!(quiet.leaks.is_empty() && quiet.hidden_by_warmup.is_empty(), "no frees counted: {quiet:?}");

        s.warmup_frees.insert((b'm', 200), (3..6).map(|i| (i, 1)).collect());
        let verdicts = site_verdicts(&s, &keys);
        assert!(verdicts.leaks.is_empty() && verdicts.refills.is_empty(), "verdicts unchanged: {verdicts:?}");
        assert!(!leaked(&s));
        let [hidden] = verdicts.hidden_by_warmup.as_slice() else { panic!("{verdicts:?}") };
        assert_eq!(
            (hidden.site.stack.as_slice(), hidden.site.blocks.as_slice()),
            ([0x10].as_slice(), [1, 1, 1].as_slice())
        );
        assert_eq!((hidden.freed.as_slice(), hidden.sizes.as_slice()), ([1, 1, 1].as_slice(), [200].as_slice()));
        assert_eq!(hidden.domain_growth, [0, 0, 0]);

        // Frees of its own size class offset it too: a ring or free list rotating its blocks,
        // as the rule expects; nothing to say.
        s.warmup_frees.insert((b'm', 20), (3..6).map(|i| (i, 1)).collect());
        assert!(site_verdicts(&s, &keys).hidden_by_warmup.is_empty());
        s.warmup_frees.remove(&(b'm', 20));
        // So do frees on the site's own Python line, of any size: a ring of growing entries
        // rotating there.
        let line = PythonLine { file: b"/t/test_h.py".to_vec(), function: b"T.test_h".to_vec(), line: 16 };
        let record =
            PyFrameRecord { pid: 1, site: 1, line: 16, file: line.file.clone(), function: line.function.clone() };
        s.pyframes.insert(1, vec![record]);
        assert_eq!(site_verdicts(&s, &keys).hidden_by_warmup.len(), 1);
        s.warmup_frees_by_line.insert((b'm', line.clone(), 200), (3..6).map(|i| (i, 1)).collect());
        assert!(site_verdicts(&s, &keys).hidden_by_warmup.is_empty());
        // On another line (the pool drained by the line before the leak's), they do not.
        let before = PythonLine { line: 15, ..line };
        s.warmup_frees_by_line.clear();
        s.warmup_frees_by_line.insert((b'm', before, 200), (3..6).map(|i| (i, 1)).collect());
        assert_eq!(site_verdicts(&s, &keys).hidden_by_warmup.len(), 1);
        // Frees in only some repetitions, or in another domain, offset nothing.
        s.warmup_frees.insert((b'm', 200), [(3, 1), (5, 2)].into_iter().collect());
        assert!(site_verdicts(&s, &keys).hidden_by_warmup.is_empty());
        s.warmup_frees.clear();
        s.warmup_frees.insert((b'r', 200), (3..6).map(|i| (i, 1)).collect());
        assert!(site_verdicts(&s, &keys).hidden_by_warmup.is_empty());
    }

    #[test]
    fn a_site_leaks_when_it_grows_in_every_counted_repetition() {
        let mut s = series(&[(0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0)], 3, 3);
        let counts = |points: &[(i64, i64)]| site_counts(points, 24);
        // Site 1: +1 each counted repetition. Site 2: a cache that fills once. Site 3: grows in
        // two of three.
        // Site 4: blocks from the warm-ups, freed as new ones come: flat.
        s.sites.insert(1, (b'm', counts(&[(3, 1), (4, 2), (5, 3)])));
        s.sites.insert(2, (b'o', counts(&[(2, 5), (3, 5), (4, 5), (5, 5)])));
        s.sites.insert(3, (b'r', counts(&[(3, 1), (5, 2)])));
        s.sites.insert(4, (b'o', counts(&[(2, 3), (3, 3), (4, 3), (5, 3)])));
        for site in 1..=6 {
            s.stacks.insert(site, vec![0x10 * u64::from(site), 0x20]);
        }
        s.stacks.insert(1, vec![0x10, 0x20]);
        // Site 7: a warm-up site (no stack) of mem, shrinking as its blocks are freed.
        s.sites.insert(7, (b'm', counts(&[(2, 9), (3, 9), (4, 9), (5, 9)])));
        s.stacks.insert(7, vec![]);
        // Site 5 (obj): a rotating cache: grows while site 6 of the same domain shrinks.
        s.sites.insert(5, (b'o', counts(&[(2, 22), (3, 23), (4, 24), (5, 25)])));
        s.sites.insert(6, (b'o', counts(&[(2, 7), (3, 6), (4, 5), (5, 4)])));
        let leaks = leak_sites(&s);
        assert_eq!(
            leaks,
            vec![LeakSite {
                domain: "mem",
                blocks: vec![1, 1, 1],
                bytes: vec![24, 24, 24],
                stack: vec![0x10, 0x20],
                python_frames: vec![],
                object_types: vec![],
                stack_cut: None,
            }]
        );
        s.measures.pop();
        assert!(leak_sites(&s).is_empty(), "no verdict on a series cut short");
    }

    #[test]
    fn interned_strings_are_discounted_as_regrtest_3_12_does() {
        // obj grows by 2 blocks per repetition, of which 1 is a newly interned string.
        let mut s = series(&[(0, 0, 0), (0, 0, 2), (0, 0, 4), (0, 0, 6), (0, 0, 8), (0, 0, 10), (0, 0, 12)], 3, 3);
        assert_eq!(analyze(&s).domains.obj.blocks, [2, 2, 2]);
        s.interned_baseline = 100;
        s.interned = vec![101, 102, 103, 104, 105, 106];
        let obj = analyze(&s).domains.obj;
        assert_eq!((obj.blocks, obj.leaked), (vec![1, 1, 1], true));
        s.interned = vec![102, 104, 106, 108, 110, 112];
        assert!(!analyze(&s).domains.obj.leaked, "all of it interned strings");
        // A driver that does not subtract them (-1): nothing discounted.
        s.interned = vec![-1; 6];
        assert_eq!(analyze(&s).domains.obj.blocks, [2, 2, 2]);

        // Their site is no leak site either.
        let counts = |points: &[(i64, i64)]| site_counts(points, 60);
        s.sites.insert(1, (b'o', counts(&[(2, 3), (3, 4), (4, 5), (5, 6), (6, 6)])));
        s.stacks.insert(1, vec![0x10]);
        assert_eq!(leak_sites(&s).len(), 1);
        s.object_types.insert(1, vec![IMMORTAL_INTERNED_STR.into()]);
        assert!(leak_sites(&s).is_empty());
    }

    #[test]
    fn growth_that_dies_with_the_dash_r_driver_is_no_leak_site() {
        // -R 2:2: measurements 0..=3, the sites after the driver returned at index 4.
        let mut s = series(&[(0, 0, 0); 5], 2, 2);
        let counts = |points: &[(i64, i64)]| site_counts(points, 32);
        // Site 1 leaks. Site 2 holds the driver's `alloc_before` and `alloc_after`: its first
        // predecessor was a warm-up block (site 3, shrinking), both die with the driver.
        s.sites.insert(1, (b'o', counts(&[(2, 1), (3, 2), (4, 2)])));
        s.sites.insert(2, (b'o', counts(&[(2, 1), (3, 2), (4, 0)])));
        s.sites.insert(3, (b'o', counts(&[(1, 5), (2, 4), (3, 3), (4, 2)])));
        s.stacks.insert(1, vec![0x10]);
        s.stacks.insert(2, vec![0x20]);
        s.stacks.insert(3, vec![]);
        let leaks = leak_sites(&s);
        assert_eq!(leaks.iter().map(|l| l.stack.clone()).collect::<Vec<_>>(), vec![vec![0x10]]);
        // Without the record after the driver (the process died), the growth stands.
        for (_, counts) in s.sites.values_mut() {
            counts.remove(&4);
        }
        assert_eq!(leak_sites(&s).len(), 2);
    }

    #[test]
    fn a_leak_site_gets_the_python_frame_of_its_own_site() {
        let mut s = series(&[(0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0)], 1, 2);
        let growing = [
            (0, Count { blocks: 1, bytes: 48 }),
            (1, Count { blocks: 2, bytes: 96 }),
            (2, Count { blocks: 3, bytes: 144 }),
        ];
        for site in [4, 5] {
            s.sites.insert(site, (b'r', growing.into_iter().collect()));
            s.stacks.insert(site, vec![0x40 + u64::from(site)]);
        }
        let record = |site: u32, line: i64, function: &[u8]| PyFrameRecord {
            pid: 1,
            site,
            line,
            file: b"/tmp/x/test_leak_raw.py".to_vec(),
            function: function.to_vec(),
        };
        // Innermost first, as the shim writes them.
        s.pyframes
            .insert(4, vec![record(4, 9, b"LeakTest.test_leak_raw"), record(4, 579, b"TestCase._callTestMethod")]);
        // Not UTF-8, and no line for the instruction.
        s.pyframes.insert(5, vec![record(5, -1, b"f\xff")]);
        // A frame of a site that does not leak goes nowhere.
        s.pyframes.insert(6, vec![record(6, 1, b"elsewhere")]);
        let frames: Vec<(u64, Vec<PythonFrame>)> =
            leak_sites(&s).into_iter().map(|site| (site.stack[0], site.python_frames)).collect();
        let frame = |function: &str, line: u32| PythonFrame {
            function: function.into(),
            file: "/tmp/x/test_leak_raw.py".into(),
            line,
        };
        assert_eq!(
            frames,
            vec![
                (0x44, vec![frame("LeakTest.test_leak_raw", 9), frame("TestCase._callTestMethod", 579)]),
                (0x45, vec![frame("f\u{fffd}", 0)])
            ]
        );
        s.pyframes.clear();
        assert!(leak_sites(&s).iter().all(|site| site.python_frames.is_empty()));
    }

    #[test]
    fn regrtests_rule_ignores_the_known_false_positives() {
        for fine in [&[3, 0, 0][..], &[0, 1, 0], &[8, -8, 1], &[]] {
            assert!(!regrtest_rule(fine), "{fine:?}");
        }
        for leak in [&[5, 5, 6][..], &[10, 1, 1], &[1]] {
            assert!(regrtest_rule(leak), "{leak:?}");
        }
    }

    #[test]
    fn only_the_counted_repetitions_decide() {
        // Warm-ups allocate a lot; the counted runs leak one raw block each.
        let s = series(
            &[(0, 0, 0), (50, 9, 900), (60, 9, 901), (70, 9, 901), (71, 9, 901), (72, 9, 901), (73, 9, 901)],
            3,
            3,
        );
        let a = analyze(&s);
        assert!(a.complete);
        assert_eq!(a.domains.raw.blocks, [1, 1, 1]);
        assert_eq!(a.domains.raw.bytes.as_deref(), Some(&[48, 48, 48][..]));
        assert_eq!(a.domains.leaked(), ["raw"]);
        assert_eq!(a.domains.obj.blocks, [0, 0, 0]);
    }

    #[test]
    fn a_series_cut_short_has_deltas_but_no_verdict() {
        let mut s = series(&[(0, 0, 0), (1, 0, 0), (2, 0, 0), (3, 0, 0), (4, 0, 0), (5, 0, 0)], 3, 3);
        s.aborted = None;
        let a = analyze(&s);
        assert!(!a.complete);
        assert_eq!(a.domains.raw.blocks, [1, 1]);
        assert!(!a.domains.raw.leaked);
    }

    #[test]
    fn replaced_hooks_and_unknown_sizes_are_reported_not_guessed() {
        let mut s = series(&[(0, 0, 0), (1, 1, 1), (2, 2, 2), (3, 3, 3)], 1, 2);
        s.flags = 0b001_000; // raw bytes known, nothing hooked any more
        let a = analyze(&s);
        assert_eq!(a.unhooked, ["raw", "mem", "obj"]);
        assert!(a.domains.leaked().is_empty());
        assert!(a.domains.raw.bytes.is_some() && a.domains.mem.bytes.is_none());
    }
}
