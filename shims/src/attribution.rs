//! Allocation sites: during the counted repetitions of a test, every allocation's native stack,
//! and the blocks still alive per stack at each of regrtest's measurements.
//!
//! The window opens before the first repetition ([`at_baseline`]) and closes when regrtest's
//! `-R` driver has returned ([`end`]); outside it the hooks only count (one relaxed load to learn
//! that). During the warm-ups, blocks are remembered without a stack, in one warm-up site per
//! domain (written with an empty stack), so that their frees count; from the measurement that
//! ends the warm-ups on, allocations get their stack and sites are written. Inside
//! it an allocation captures up to `LEAKCHECK_STACK_DEPTH` return addresses ([`crate::unwind`]),
//! finds or makes the site of (domain, stack), and remembers the block's site and size; a free of
//! a remembered block decrements its site. At each counted measurement the sites with live blocks
//! are written out: the harness keeps the sites that grew in every counted repetition
//! (regrtest's rule, per site), so blocks of other sites freed meanwhile cannot hide a leak.
//! After the last measurement allocations go to the warm-up sites again and frees still count,
//! until the `-R` driver returns; then every site is written once more, at index warm-ups +
//! runs, so the harness can tell blocks the driver held from leaked ones (see [`end`]).
//!
//! A site is the domain, the native stack and the Python frames that were running (the
//! innermost few, `crate::pyframe`, CPython 3.11), so a leak site names the Python lines too.
//!
//! Records (format of `crate::channel`; addresses in hex): `stack PID - SITE DOMAIN A1,A2,...`
//! once per site, then `stackcut PID - SITE ROOM` when the site's stack was cut because its
//! thread had only ROOM bytes of stack left, too few to unwind through code not met before
//! (`unwind::RULE_ROOM`; such a stack is a site of its own), then `pyframe PID - SITE LINE FILE
//! FUNCTION` for each of its Python frames (innermost first), `site PID TEST INDEX SITE DOMAIN BLOCKS BYTES`, `module PID PATH BIAS LO
//! HI` for every module the stacks may point into, and once per process `nopyframes PID - REASON`
//! when Python frames cannot be read. At each measurement from the first counted repetition's
//! end on, `ufree PID TEST INDEX DOMAIN BLOCKS BYTES LINE FILE FUNCTION` counts the frees of
//! blocks older than the window in the repetition it ends, by Python line and block size
//! (`Tracker::write_untracked_frees`), and `wfree PID TEST INDEX DOMAIN BLOCKS BYTES [LINE
//! FILE FUNCTION]` those of warm-up blocks, by block size and Python line (none when the freeing
//! thread ran no Python code) (`Tracker::write_warmup_frees`). At the end,
//! `objtype PID - SITE NAME` for each Python type found among the live blocks of an `obj` site
//! that may leak ([`crate::objtype`]). Symbolization happens in the harness. `incomplete PID TEST INDEX REASON` says that the shim stopped
//! attributing during the test's window (REASON `out of memory`: its own bookkeeping could not
//! get memory, see [`crate::fallible`]): from measurement INDEX on the test has no site records,
//! and the harness reports no leak sites for it. The domains' counts go on regardless.
//!
//! The tracker's tables grow fallibly: when they cannot, the window closes early and the tracker
//! is dropped (its memory goes back to the program, which is short of it), and the next marker
//! writes the `incomplete` record. The next test opens a window again, if memory allows.
//!
//! All state sits behind one spin lock, taken only inside the window. A fork in the window leaves
//! the child with a consistent copy (the lock is held across `fork`) and the window closed.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Once;

use std::fmt::Write;

use crate::channel::Records;
use crate::fallible::{try_box, try_insert, try_push, try_vec_filled, OutOfMemory};
use crate::hash::FastHasher;
use crate::pyframe;
use crate::tally;
use crate::unwind::{current_thread_stack, Caller, Memo, Unwinder};

/// The environment variable with the stack depth (0: no attribution); set by the harness.
pub const DEPTH_ENV: &str = "LEAKCHECK_STACK_DEPTH";
/// Deepest stack the shim records, whatever is asked.
pub const MAX_DEPTH: usize = 128;

static DEPTH: AtomicUsize = AtomicUsize::new(0);
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Warm-ups and runs of the test in progress (set at `begin`; markers run under the GIL).
static WARMUPS: AtomicI64 = AtomicI64::new(-1);
static RUNS: AtomicI64 = AtomicI64::new(0);

/// The tracker (boxed: it is allocated fallibly, see [`crate::fallible`]).
static STATE: SpinLock<Option<Box<Tracker>>> = SpinLock::new(None);
/// The window closed early because the tracker could not get memory; not told yet.
static GAVE_UP: AtomicBool = AtomicBool::new(false);
/// Why Python frames are missing was told to the harness (once per process).
static NO_PYFRAMES_WRITTEN: AtomicBool = AtomicBool::new(false);
static FORK_HANDLERS: Once = Once::new();

/// Read the depth from the environment. Called from the constructor.
pub fn init_from_env() {
    let depth = std::env::var(DEPTH_ENV).ok().and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    DEPTH.store(depth.min(MAX_DEPTH), Ordering::Relaxed);
}

/// Whether allocations are being attributed right now: one relaxed load on the hot path.
#[inline(always)]
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// A test's `-R` run begins. Called by the `-R` marker, with the GIL held, from Python code:
/// where [`pyframe::prepare`] can check the frame layout against the running interpreter.
pub fn begin(warmups: i64, runs: i64, out: &mut Records) {
    WARMUPS.store(warmups, Ordering::Relaxed);
    RUNS.store(runs, Ordering::Relaxed);
    GAVE_UP.store(false, Ordering::Relaxed);
    if DEPTH.load(Ordering::Relaxed) > 0 {
        // SAFETY: the marker runs Python code with the GIL held (see the function comment).
        if let Err(reason) = unsafe { pyframe::prepare() } {
            if !NO_PYFRAMES_WRITTEN.swap(true, Ordering::Relaxed) {
                // SAFETY: getpid has no preconditions.
                let pid = unsafe { libc::getpid() };
                let _ = write!(out, "nopyframes\t{pid}\t-\t");
                let _ = write!(out.escaped(), "{reason}");
                out.push(b'\n');
            }
        }
    }
}

/// A test's `-R` run is about to begin: when allocations are attributed, follow objects off
/// CPython's free lists from now on ([`crate::reftrace`]). Called by the `-R` marker, with the
/// GIL held.
pub fn install_reftracer() {
    if DEPTH.load(Ordering::Relaxed) > 0 {
        crate::reftrace::install();
    }
}

/// The Python frame reader, when [`pyframe::prepare`] vouched for it.
#[inline(always)]
fn python_frames() -> Option<&'static pyframe::Reader> {
    pyframe::reader().and_then(|r| r.as_ref().ok())
}

/// The first repetition is about to start: open the window. It opens here, not at the first
/// counted repetition, so that blocks allocated during the warm-ups and freed later leave their
/// sites too: a site's count then only grows if blocks really pile up there.
pub fn at_baseline(test: &[u8], out: &mut Records) {
    let depth = DEPTH.load(Ordering::Relaxed);
    if depth > 0 && WARMUPS.load(Ordering::Relaxed) >= 1 && RUNS.load(Ordering::Relaxed) >= 1 && open(depth).is_err() {
        write_incomplete(test, 0, out);
    }
}

/// Regrtest took measurement `index` of `test`: from the last warm-up on, write the sites with
/// live blocks to `out`.
pub fn at_measurement(test: &[u8], index: i64, out: &mut Records) {
    let (warmups, runs) = (WARMUPS.load(Ordering::Relaxed), RUNS.load(Ordering::Relaxed));
    if active() && index >= warmups - 1 {
        let mut state = STATE.lock();
        if let Some(tracker) = state.as_mut() {
            if tracker.unwinder.refresh().is_err() || tracker.revive().is_err() {
                give_up(&mut state);
            } else {
                tracker.write_sites(test, index, out);
                tracker.write_untracked_frees(test, index, out);
                tracker.write_warmup_frees(test, index, out);
                tracker.free_lines.clear();
                // The counted repetitions start: from now on every allocation gets its stack.
                // After the last one, allocations need no stack any more, only frees matter
                // (see `end`).
                tracker.with_stacks = index < warmups + runs - 1;
            }
        }
    }
    if GAVE_UP.swap(false, Ordering::Relaxed) {
        write_incomplete(test, index, out);
    }
}

/// `incomplete PID TEST INDEX REASON`: the window closed early, measurement `index` and those
/// after it have no sites.
#[cold]
fn write_incomplete(test: &[u8], index: i64, out: &mut Records) {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let _ = write!(out, "incomplete\t{pid}\t");
    out.escape(test);
    let _ = write!(out, "\t{index}\t");
    out.escape(b"out of memory");
    out.push(b'\n');
}

/// The tracker could not get memory: stop attributing for the rest of this window, give its
/// memory back to the program (which is short of it), and have the next marker say so. The
/// domains' counts, kept by the hooks without allocating, go on.
#[cold]
fn give_up(state: &mut Option<Box<Tracker>>) {
    ACTIVE.store(false, Ordering::Relaxed);
    GAVE_UP.store(true, Ordering::Relaxed);
    *state = None;
}

/// The test's repetitions are over (or were cut short), and regrtest's `-R` driver has
/// returned: write every site written before with what is still alive of it now, at index
/// warm-ups + runs, then close the window. Returns the records.
///
/// The driver keeps blocks of its own from one repetition to the next (3.11's `dash_R` holds
/// `alloc_before`/`rc_before`, ints outside the small-int cache, while it makes the next
/// ones): a site that holds two such blocks at each measurement and had its first predecessor
/// counted in a warm-up looks like growth in the first counted repetitions, and with `-R 2:2`
/// like a leak. Those blocks die with the driver's frame; leaked ones do not. So the harness
/// keeps a leak site only if its growth is still alive here.
pub fn end(test: &[u8], out: &mut Records) {
    let runs = RUNS.load(Ordering::Relaxed);
    let index = WARMUPS.load(Ordering::Relaxed) + runs;
    if active() {
        // Before the lock: dlsym takes the loader's.
        let types = crate::objtype::type_objects();
        let mut state = STATE.lock();
        if let Some(tracker) = state.as_mut() {
            tracker.write_sites_at_end(test, index, runs, types, out);
        }
    }
    if GAVE_UP.swap(false, Ordering::Relaxed) {
        write_incomplete(test, index, out);
    }
    close();
    WARMUPS.store(-1, Ordering::Relaxed);
}

/// Open the window; `Err` (and no window) when the tracker cannot get its memory.
fn open(depth: usize) -> Result<(), OutOfMemory> {
    FORK_HANDLERS.call_once(|| {
        // SAFETY: registers handlers that only touch our own lock and flags.
        unsafe { libc::pthread_atfork(Some(before_fork), Some(after_fork_in_parent), Some(after_fork_in_child)) };
    });
    let mut state = STATE.lock();
    if state.is_none() {
        *state = Some(try_box(Tracker::try_new(depth)?)?);
    }
    let ready = state.as_mut().map_or(Err(OutOfMemory), |tracker| {
        tracker.reset(depth)?;
        tracker.unwinder.refresh()
    });
    if ready.is_err() {
        *state = None;
        return ready;
    }
    ACTIVE.store(true, Ordering::Release);
    Ok(())
}

fn close() {
    if !ACTIVE.swap(false, Ordering::AcqRel) {
        return;
    }
    let mut state = STATE.lock();
    // Clearing keeps the tables' memory: a reset never needs more.
    if state.as_mut().is_some_and(|tracker| tracker.reset(tracker.depth).is_err()) {
        *state = None;
    }
}

/// A block of `size` bytes was allocated at `ptr` in the domain with debug API id `domain`,
/// by a call that returns into `from` (see [`Caller`]; `None`: the stack is unwound from here).
#[inline(never)]
pub fn on_alloc(domain: u8, ptr: usize, size: u64, from: Option<Caller>) {
    let stack = thread_stack();
    let mut state = STATE.lock();
    // The window may have closed since the caller looked.
    if !active() {
        return;
    }
    if state.as_mut().is_some_and(|tracker| tracker.allocated(domain, ptr, size, from, stack).is_err()) {
        give_up(&mut state);
    }
}

/// Where a block taken off its site was counted, to put it back ([`restore`]).
#[derive(Debug, Clone, Copy)]
pub struct Taken {
    site: u32,
    size: u64,
}

/// The block at `ptr` is being freed, or moved by realloc: take it off its site.
#[inline(never)]
pub fn take(ptr: usize) -> Option<Taken> {
    let mut state = STATE.lock();
    state.as_mut().and_then(|tracker| tracker.freed(ptr).or_else(|| tracker.buried(ptr)))
}

/// The block at `ptr` (of `size` bytes, in the domain with debug API id `domain`) is being
/// freed: take it off its site, or, when it has none (it is older than the window) and the
/// counted repetitions run, count it among the untracked frees of the running Python line.
/// During the counted repetitions a warm-up block's free is counted too, by domain and size.
#[inline(never)]
pub fn free(domain: u8, ptr: usize, size: u64) {
    let mut state = STATE.lock();
    let counted = state.as_mut().map_or(Ok(()), |tracker| match tracker.freed(ptr) {
        Some(taken) => tracker.warmup_free(taken),
        // The object in it died, and was counted then (see `died`).
        None if tracker.buried(ptr).is_some() => Ok(()),
        None => tracker.untracked_free(domain, size),
    });
    if counted.is_err() {
        give_up(&mut state);
    }
}

/// A realloc in the domain with debug API id `domain` moved a block of `old_size` bytes into a
/// new one at `ptr` of `size` bytes, under one lock: the old block's side first (`taken`, what
/// [`take`] removed: a warm-up block's move counts as its free, as in [`free`]; `None`: a block
/// older than the window, counted among the untracked frees), then the new block, attributed
/// to the realloc's stack as tracemalloc does (`from`: as for [`on_alloc`]).
#[inline(never)]
pub fn reallocated(domain: u8, taken: Option<Taken>, old_size: u64, ptr: usize, size: u64, from: Option<Caller>) {
    let stack = thread_stack();
    let mut state = STATE.lock();
    // The window may have closed since the caller looked.
    if !active() {
        return;
    }
    let counted = state.as_mut().map_or(Ok(()), |tracker| {
        match taken {
            Some(taken) => tracker.warmup_free(taken)?,
            None => tracker.untracked_free(domain, old_size)?,
        }
        tracker.allocated(domain, ptr, size, from, stack)
    });
    if counted.is_err() {
        give_up(&mut state);
    }
}

/// An object was made at `object` in a block taken off one of CPython's free lists (see
/// [`crate::reftrace`]): the block is counted at this thread's stack as if allocated. Its
/// object died in the window ([`died`]) and was counted as freed then; otherwise (it died
/// before the window opened, or while the tracer was away) the block leaves its site (a block
/// older than the window counts among the untracked frees, as in [`free`]) under the same lock.
#[inline(never)]
pub fn reused(object: usize) {
    let stack = thread_stack();
    let mut state = STATE.lock();
    // The window may have closed since the caller looked.
    if !active() {
        return;
    }
    let Some(tracker) = state.as_mut() else { return };
    let counted = if let Some((block, size)) = tracker.dead_block_of(object) {
        tracker.dead.remove(&block);
        tracker.allocated(OBJ, block, size, None, stack)
    } else {
        match tracker.release(object) {
            Ok(Some((block, _, size))) => tracker.allocated(OBJ, block, size, None, stack),
            other => other.map(drop),
        }
    };
    if counted.is_err() {
        give_up(&mut state);
    }
}

/// The object at `object` died (see [`crate::reftrace`]): its block leaves its site now, on the
/// Python line running, as a free would, whether CPython frees it or keeps it on a free list.
/// The block is remembered as dead, so that its free later counts nothing more and an object
/// made in it again counts as an allocation ([`reused`]). A block older than the window is
/// found by its debug header, and counts among the untracked frees; without debug headers it
/// is left to its free. An object resurrected by its finalizer (no event says so) counts as
/// dead until regrtest's next measurement, where a block still dead after its `gc.collect()`
/// emptied the free lists goes back to its site ([`Tracker::revive`]). The tracer does not call
/// this for objects of the types it knows have no free list: their blocks are freed by their
/// deallocation, and the free does the same ([`crate::reftrace`], "Deaths that need no work").
#[inline(never)]
pub fn died(object: usize) {
    let mut state = STATE.lock();
    if !active() {
        return;
    }
    let Some(tracker) = state.as_mut() else { return };
    // A dead block's header checks out too: it must not be released twice.
    let counted = if tracker.dead_block_of(object).is_some() {
        Ok(())
    } else {
        match tracker.release(object) {
            Ok(Some((block, site, size))) => tracker.bury(block, site, size),
            other => other.map(drop),
        }
    };
    if counted.is_err() {
        give_up(&mut state);
    }
}

/// The site of [`Taken`] for a block whose object died: nothing to put back but the death.
const DEAD: u32 = u32::MAX;

/// The debug API id of the `obj` domain.
const OBJ: u8 = crate::reftrace::OBJECT_DOMAIN;

/// The block of the `obj` domain that the live object at `object` lives in, found by the debug
/// header in front of it (see [`crate::reftrace::OBJECT_OFFSETS`]), and its size; `None` without
/// debug headers or when no candidate start has one.
fn older_block_of(object: usize) -> Option<(usize, u64)> {
    use crate::hooks::DomainSlot;
    let sizes = &crate::Obj::domain().sizes;
    if !sizes.bytes_known() {
        return None;
    }
    crate::reftrace::OBJECT_OFFSETS.iter().find_map(|&offset| {
        let block = object.checked_sub(offset)?;
        // SAFETY: `object` is a live object, so the bytes of its block before it are mapped, and
        // so are the two header words in front of the block when `block` is its start; when it
        // is not, they are the start of the object's own block (`offset` > 0) or the bytes an
        // allocator keeps in front of every block, mapped too; a header that does not check out
        // (the API id, then forbidden bytes) gives `None`.
        let size = unsafe { sizes.size_of_live(block as *mut std::ffi::c_void) }?;
        (size > offset).then_some((block, size as u64))
    })
}

/// A realloc failed: the block `take` removed is still there.
#[cold]
pub fn restore(ptr: usize, taken: Taken) {
    let mut state = STATE.lock();
    if taken.site == DEAD {
        if state.as_mut().is_some_and(|tracker| tracker.bury(ptr, DEAD, taken.size).is_err()) {
            give_up(&mut state);
        }
        return;
    }
    let Some(tracker) = state.as_mut().filter(|t| (taken.site as usize) < t.sites.len()) else { return };
    // A removal may not have left room for an insertion (hashbrown's tombstones).
    if try_insert(&mut tracker.live, ptr, (taken.site, taken.size)).is_err() {
        give_up(&mut state);
        return;
    }
    let site = &mut tracker.sites[taken.site as usize];
    site.blocks += 1;
    site.bytes += taken.size as i64;
}

/// This thread's stack range, cached in its tally.
fn thread_stack() -> Range<u64> {
    let tally = tally::current();
    if let Some(stack) = tally.and_then(|tally| tally.stack()) {
        return stack;
    }
    let stack = current_thread_stack().unwrap_or(0..0);
    if let Some(tally) = tally {
        tally.set_stack(stack.clone());
    }
    stack
}

/// The domains of the warm-up sites, which are sites 0, 1 and 2 of every window.
const WARMUP_SITES: [u8; 3] = [b'r', b'm', b'o'];
/// Live blocks of a possible `obj` leak site whose Python type is read at the end.
const OBJECT_TYPE_SAMPLES: usize = 4;

struct Site {
    domain: u8,
    frames: Box<[u64]>,
    /// The Python frames that were running, innermost first, in words (resolved when the site
    /// was made).
    python: Box<[pyframe::Resolved]>,
    blocks: i64,
    bytes: i64,
    written: bool,
    /// The sizes of the blocks allocated here.
    sizes: BlockSizes,
    /// The stack was cut because the thread had too little stack left to unwind further
    /// (`unwind::RULE_ROOM`): the bytes it had left.
    cut: Option<u64>,
}

impl Site {
    fn new(domain: u8, frames: Box<[u64]>, python: Box<[pyframe::Resolved]>) -> Self {
        Site { domain, frames, python, blocks: 0, bytes: 0, written: false, sizes: BlockSizes::None, cut: None }
    }
}

/// The sizes of the blocks a site has seen allocated: whether they were all of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockSizes {
    None,
    One(u64),
    Mixed,
}

impl BlockSizes {
    fn add(self, size: u64) -> Self {
        match self {
            BlockSizes::None => BlockSizes::One(size),
            BlockSizes::One(one) if one == size => self,
            _ => BlockSizes::Mixed,
        }
    }
}

struct Tracker {
    unwinder: Unwinder,
    depth: usize,
    /// Digest of (domain, frames) -> index into `sites`. A 64-bit digest names a stack: two
    /// different stacks sharing one (odds about 2^-64 per pair) would share a site.
    by_stack: HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>,
    sites: Vec<Site>,
    /// Block address -> (site, size).
    live: HashMap<usize, (u32, u64), BuildHasherDefault<FastHasher>>,
    /// Each thread's last unwind (see `unwind::Memo`), by `pthread_self`.
    memos: HashMap<usize, Memo, BuildHasherDefault<FastHasher>>,
    /// Allocations get their stack (the counted repetitions); before, they go to the warm-up
    /// sites.
    with_stacks: bool,
    /// Modules already described to the harness.
    modules_written: usize,
    scratch: Vec<u64>,
    /// Blocks older than the window freed during the current counted repetition, by the
    /// innermost Python frame running then, domain and block size: a bounded cache that was
    /// full before the test evicts such a block for each one it adds, and a free list emptied
    /// in regrtest's cleanup frees blocks of the sizes it holds, which the harness matches with
    /// the sizes of growing sites (see [`Tracker::untracked_free`]).
    untracked: HashMap<(pyframe::Location, u8, u64), i64, BuildHasherDefault<FastHasher>>,
    /// The lines of the frames in `untracked` and `warmup_frees`, resolved once per repetition.
    free_lines: HashMap<pyframe::Location, pyframe::Resolved, BuildHasherDefault<FastHasher>>,
    /// Warm-up blocks (counted at the warm-up sites) freed or moved by realloc during the
    /// current counted repetition, by the innermost Python frame running then
    /// ([`pyframe::Location::NONE`]: none), domain and block size: the blocks a free list or a
    /// ring rotates through, allocated anew at a counted site while old ones die, leave the
    /// warm-up site, and the line tells which growing site replaced them when a C function
    /// frees and allocates in one call (see [`Tracker::warmup_free`]).
    warmup_frees: HashMap<(pyframe::Location, u8, u64), i64, BuildHasherDefault<FastHasher>>,
    /// Blocks whose object died in the window (see [`died`]) and that CPython has not freed yet
    /// (kept on a free list), with their size.
    /// The value: the site it was counted at (`DEAD`: none, or a warm-up site) and its size.
    dead: HashMap<usize, (u32, u64), BuildHasherDefault<FastHasher>>,
}

impl Tracker {
    fn try_new(depth: usize) -> Result<Self, OutOfMemory> {
        let mut tracker = Self {
            unwinder: Unwinder::try_new()?,
            depth,
            by_stack: HashMap::default(),
            sites: Vec::new(),
            live: HashMap::default(),
            memos: HashMap::default(),
            with_stacks: false,
            modules_written: 0,
            untracked: HashMap::default(),
            free_lines: HashMap::default(),
            warmup_frees: HashMap::default(),
            dead: HashMap::default(),
            // The domain, the frames, then each Python frame's location (four words).
            scratch: try_vec_filled(0, MAX_DEPTH + 1 + 4 * pyframe::PYTHON_DEPTH)?,
        };
        tracker.reset(depth)?;
        Ok(tracker)
    }

    /// Empty the tables for a new window. Their memory stays: only the first reset allocates.
    fn reset(&mut self, depth: usize) -> Result<(), OutOfMemory> {
        self.depth = depth;
        self.by_stack.clear();
        self.sites.clear();
        // The warm-up sites, one per domain, without a stack: see `allocated`.
        self.sites.try_reserve(WARMUP_SITES.len())?;
        for domain in WARMUP_SITES {
            self.sites.push(Site::new(domain, Box::new([]), Box::new([])));
        }
        self.live.clear();
        self.memos.clear();
        self.modules_written = 0;
        self.with_stacks = false;
        self.untracked.clear();
        self.free_lines.clear();
        self.warmup_frees.clear();
        self.dead.clear();
        Ok(())
    }

    /// A block taken off its site (`taken`) was freed or moved by realloc. During the counted
    /// repetitions, a warm-up block's is counted by the innermost Python frame running (none on
    /// a thread without one), its domain and size.
    fn warmup_free(&mut self, taken: Taken) -> Result<(), OutOfMemory> {
        if !self.with_stacks || taken.site as usize >= WARMUP_SITES.len() {
            return Ok(());
        }
        let domain = WARMUP_SITES[taken.site as usize];
        let line = self.innermost_line()?;
        self.warmup_frees.try_reserve(1)?;
        *self.warmup_frees.entry((line, domain, taken.size)).or_default() += 1;
        Ok(())
    }

    /// The innermost Python frame running on this thread, its line resolved into `free_lines`
    /// once per repetition; [`pyframe::Location::NONE`] when there is none (or frames cannot be
    /// read).
    fn innermost_line(&mut self) -> Result<pyframe::Location, OutOfMemory> {
        let Some(reader) = python_frames() else { return Ok(pyframe::Location::NONE) };
        let mut innermost = [pyframe::Location::NONE; 1];
        if reader.current(&mut innermost) == 0 {
            return Ok(pyframe::Location::NONE);
        }
        let line = innermost[0];
        if !self.free_lines.contains_key(&line) {
            // SAFETY: read on this thread just now, and this thread is still inside that frame
            // (it is freeing from it): its code object is alive.
            let resolved = unsafe { reader.resolve(line) }?;
            try_insert(&mut self.free_lines, line, resolved)?;
        }
        Ok(line)
    }

    /// `wfree PID TEST INDEX DOMAIN BLOCKS BYTES [LINE FILE FUNCTION]` for each Python line
    /// (none: the freeing thread ran no Python code), domain and block size with frees of
    /// warm-up blocks in the repetition that measurement `index` ends (BYTES is BLOCKS times
    /// the size).
    fn write_warmup_frees(&mut self, test: &[u8], index: i64, out: &mut Records) {
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        for (&(line, domain, size), &blocks) in &self.warmup_frees {
            let _ = write!(out, "wfree\t{pid}\t");
            out.escape(test);
            let bytes = blocks.saturating_mul(size as i64);
            let _ = write!(out, "\t{index}\t{}\t{blocks}\t{bytes}", domain as char);
            if let Some(python) = self.free_lines.get(&line).filter(|_| line != pyframe::Location::NONE) {
                let _ = write!(out, "\t{}\t", python.line);
                out.escape(&python.file);
                out.push(b'\t');
                out.escape(&python.function);
            }
            out.push(b'\n');
        }
        self.warmup_frees.clear();
    }

    /// A block older than the window was freed (or moved by realloc). During the counted
    /// repetitions, count it for the innermost Python frame running, resolved to its line
    /// once per repetition. A thread with no Python frame is not counted: nothing could match
    /// its frees to a site.
    fn untracked_free(&mut self, domain: u8, size: u64) -> Result<(), OutOfMemory> {
        if !self.with_stacks {
            return Ok(());
        }
        let line = self.innermost_line()?;
        if line == pyframe::Location::NONE {
            return Ok(());
        }
        self.untracked.try_reserve(1)?;
        *self.untracked.entry((line, domain, size)).or_default() += 1;
        Ok(())
    }

    /// `ufree PID TEST INDEX DOMAIN BLOCKS BYTES LINE FILE FUNCTION` for each Python line,
    /// domain and block size with untracked frees in the repetition that measurement `index`
    /// ends (BYTES is BLOCKS times the size).
    fn write_untracked_frees(&mut self, test: &[u8], index: i64, out: &mut Records) {
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        for (&(line, domain, size), &blocks) in &self.untracked {
            let Some(python) = self.free_lines.get(&line) else { continue };
            let _ = write!(out, "ufree\t{pid}\t");
            out.escape(test);
            let bytes = blocks.saturating_mul(size as i64);
            let _ = write!(out, "\t{index}\t{}\t{blocks}\t{bytes}\t{}\t", domain as char, python.line);
            out.escape(&python.file);
            out.push(b'\t');
            out.escape(&python.function);
            out.push(b'\n');
        }
        self.untracked.clear();
    }

    fn allocated(
        &mut self,
        domain: u8,
        ptr: usize,
        size: u64,
        from: Option<Caller>,
        stack: Range<u64>,
    ) -> Result<(), OutOfMemory> {
        if !self.with_stacks {
            // A warm-up block: no stack (that is half the cost saved), but remembered, so that
            // its free counts. It goes to its domain's warm-up site, and the domain's sum stays
            // exact when a cache swaps warm-up blocks for new ones from another site.
            let site = WARMUP_SITES.iter().position(|&d| d == domain).unwrap_or(0) as u32;
            return self.count(site, ptr, size);
        }
        let depth = self.depth.min(MAX_DEPTH);
        // SAFETY: pthread_self has no preconditions; it names this thread's memo.
        let thread = unsafe { libc::pthread_self() } as usize;
        if !self.memos.contains_key(&thread) {
            try_insert(&mut self.memos, thread, Memo::try_new()?)?;
        }
        let Some(memo) = self.memos.get_mut(&thread) else { return Err(OutOfMemory) };
        let captured = self.unwinder.capture(from, stack, &mut self.scratch[1..=depth], memo);
        let n = captured.frames;
        // A stack cut for want of room is a site of its own, even where its frames are those of
        // a whole stack: the harness says it was cut.
        self.scratch[0] = u64::from(domain) | u64::from(captured.cut.is_some()) << 8;
        // The Python lines are part of the site: one C path reached from two Python lines is
        // two sites, so a leak site names the lines that leak.
        let reader = python_frames();
        let mut python = [pyframe::Location::NONE; pyframe::PYTHON_DEPTH];
        let depth = reader.map_or(0, |reader| reader.current(&mut python));
        let mut end = n + 1;
        for location in &python[..depth] {
            self.scratch[end..end + 4].copy_from_slice(&location.key_words());
            end += 4;
        }
        let key = digest(&self.scratch[..end]);
        let site = match self.by_stack.get(&key) {
            Some(&site) => site,
            None => {
                let site = self.sites.len() as u32;
                let python = match reader {
                    // SAFETY: the locations were read on this thread just now, and this thread
                    // is still inside those frames (it is allocating from the innermost): their
                    // code objects are alive.
                    Some(reader) => resolve_all(&python[..depth], |l| unsafe { reader.resolve(l) })?,
                    None => Box::new([]),
                };
                let frames = boxed_slice(&self.scratch[1..=n])?;
                self.by_stack.try_reserve(1)?;
                let mut new = Site::new(domain, frames, python);
                new.cut = captured.cut;
                try_push(&mut self.sites, new)?;
                self.by_stack.insert(key, site);
                site
            }
        };
        self.count(site, ptr, size)
    }

    /// One more live block at `site`.
    fn count(&mut self, site: u32, ptr: usize, size: u64) -> Result<(), OutOfMemory> {
        // Room first: a block the table cannot hold is not counted at its site either.
        self.live.try_reserve(1)?;
        let entry = &mut self.sites[site as usize];
        entry.blocks += 1;
        entry.bytes += size as i64;
        entry.sizes = entry.sizes.add(size);
        // An address is live once; a stale entry means a free we did not see (another
        // allocator's block): forget it.
        if let Some((old_site, old_size)) = self.live.insert(ptr, (site, size)) {
            let old = &mut self.sites[old_site as usize];
            old.blocks -= 1;
            old.bytes -= old_size as i64;
        }
        Ok(())
    }

    /// The start of the block the window saw allocated that the object at `object` lives in
    /// (see [`crate::reftrace::OBJECT_OFFSETS`]).
    fn block_of(&self, object: usize) -> Option<usize> {
        crate::reftrace::OBJECT_OFFSETS.iter().find_map(|&offset| {
            let block = object.checked_sub(offset)?;
            let &(site, size) = self.live.get(&block)?;
            let in_obj = self.sites.get(site as usize).is_some_and(|site| site.domain == OBJ);
            // Size 0: not known (no debug headers); a block of the window all the same.
            (in_obj && (size == 0 || size as usize > offset)).then_some(block)
        })
    }

    /// Take the block the live object at `object` lives in off its site, as [`free`] would: a
    /// block of the window (its warm-up free counted), else one older than the window found by
    /// its debug header (counted among the untracked frees). Returns the block, the site it was
    /// counted at (`DEAD` for an older one) and its size; `None` for a block neither finds.
    fn release(&mut self, object: usize) -> Result<Option<(usize, u32, u64)>, OutOfMemory> {
        if let Some(block) = self.block_of(object) {
            let Some(taken) = self.freed(block) else { return Ok(None) };
            self.warmup_free(taken)?;
            return Ok(Some((block, taken.site, taken.size)));
        }
        let Some((block, size)) = older_block_of(object) else { return Ok(None) };
        self.untracked_free(OBJ, size)?;
        Ok(Some((block, DEAD, size)))
    }

    /// The dead block (see [`died`]) an object at `object` is made in, and its size.
    fn dead_block_of(&self, object: usize) -> Option<(usize, u64)> {
        crate::reftrace::OBJECT_OFFSETS.iter().find_map(|&offset| {
            let block = object.checked_sub(offset)?;
            let &(_, size) = self.dead.get(&block)?;
            (size == 0 || size as usize > offset).then_some((block, size))
        })
    }

    /// Remember `block` (of `size` bytes, last counted at `site`) as dead.
    fn bury(&mut self, block: usize, site: u32, size: u64) -> Result<(), OutOfMemory> {
        // Only a counted site is put back (see `revive`): a warm-up block's free was counted
        // among the warm-up frees of its line.
        let site = if (site as usize) < WARMUP_SITES.len() { DEAD } else { site };
        try_insert(&mut self.dead, block, (site, size)).map(drop)
    }

    /// regrtest measures, after its `gc.collect()` emptied CPython's free lists: a block whose
    /// object died at a counted site and that is still neither freed nor reused holds an object
    /// its finalizer resurrected (or one on a free list no collection empties): it goes back to
    /// its site, alive. Other dead blocks stay dead (their frees were counted by line).
    fn revive(&mut self) -> Result<(), OutOfMemory> {
        let sites = self.sites.len();
        let mut revived: Vec<(usize, u32, u64)> = Vec::new();
        for (&block, &(site, size)) in &self.dead {
            if site != DEAD && (site as usize) < sites {
                revived.try_reserve(1)?;
                revived.push((block, site, size));
            }
        }
        for (block, site, size) in revived {
            self.dead.remove(&block);
            self.count(site, block, size)?;
        }
        Ok(())
    }

    /// Forget the dead `block`, being freed or moved by realloc: a [`Taken`] that puts nothing
    /// back at a site (its death was counted).
    fn buried(&mut self, block: usize) -> Option<Taken> {
        let (_, size) = self.dead.remove(&block)?;
        Some(Taken { site: DEAD, size })
    }

    fn freed(&mut self, ptr: usize) -> Option<Taken> {
        let (site, size) = self.live.remove(&ptr)?;
        let entry = &mut self.sites[site as usize];
        entry.blocks -= 1;
        entry.bytes -= size as i64;
        Some(Taken { site, size })
    }

    fn write_sites(&mut self, test: &[u8], index: i64, out: &mut Records) {
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        let modules = self.unwinder.modules();
        if self.modules_written != modules.len() {
            for module in modules {
                let _ = write!(out, "module\t{pid}\t");
                out.escape(&module.path);
                let _ = writeln!(out, "\t{:x}\t{:x}\t{:x}", module.bias, module.range.start, module.range.end);
            }
            self.modules_written = modules.len();
        }
        self.write_site_records(test, index, |site| site.blocks > 0, out);
    }

    /// The sites written before, live or not (a site absent here had no `end`), and the
    /// Python types of the objects still alive at the `obj` sites that may leak.
    fn write_sites_at_end(
        &mut self,
        test: &[u8],
        index: i64,
        runs: i64,
        types: Option<crate::objtype::TypeObjects>,
        out: &mut Records,
    ) {
        if let Some(types) = types {
            self.write_object_types(runs, types, out);
        }
        self.write_site_records(test, index, |site| site.written, out);
    }

    /// `objtype PID - SITE NAME` for each type found among a few live blocks of every `obj`
    /// site that kept at least one block per counted repetition (the others cannot be leak
    /// sites). One pass over the live blocks. Without the memory for the samples, none: the
    /// types only describe a leak site, and "no type known" is what the harness says then.
    fn write_object_types(&self, runs: i64, types: crate::objtype::TypeObjects, out: &mut Records) {
        let candidate = |site: &Site| site.domain == b'o' && site.written && site.blocks >= runs.max(1);
        let candidates = self.sites.iter().filter(|&site| candidate(site)).count();
        if candidates == 0 {
            return;
        }
        type Samples = ([(usize, u64); OBJECT_TYPE_SAMPLES], usize);
        let mut samples: HashMap<u32, Samples, BuildHasherDefault<FastHasher>> = HashMap::default();
        if samples.try_reserve(candidates).is_err() {
            return;
        }
        for (&ptr, &(site, size)) in &self.live {
            if self.sites.get(site as usize).is_some_and(candidate) {
                // Room for every candidate was reserved: no growth here.
                let (blocks, n) = samples.entry(site).or_insert(([(0, 0); OBJECT_TYPE_SAMPLES], 0));
                if *n < OBJECT_TYPE_SAMPLES {
                    blocks[*n] = (ptr, size);
                    *n += 1;
                }
            }
        }
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        for (site, (blocks, n)) in samples {
            let mut names: [Option<crate::objtype::TypeName>; OBJECT_TYPE_SAMPLES] = Default::default();
            for (slot, &(ptr, size)) in blocks[..n].iter().enumerate() {
                let name = crate::objtype::type_name(ptr, size as usize, types);
                if name.is_some() && !names[..slot].contains(&name) {
                    names[slot] = name;
                }
            }
            for name in names.iter().flatten() {
                let _ = write!(out, "objtype\t{pid}\t-\t{site}\t");
                out.escape(name.as_bytes());
                out.push(b'\n');
            }
        }
    }

    fn write_site_records(&mut self, test: &[u8], index: i64, keep: impl Fn(&Site) -> bool, out: &mut Records) {
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        for (id, site) in self.sites.iter_mut().enumerate() {
            if !keep(site) {
                continue;
            }
            if !site.written {
                site.written = true;
                let _ = write!(out, "stack\t{pid}\t-\t{id}\t{}\t", site.domain as char);
                for (i, address) in site.frames.iter().enumerate() {
                    let _ = write!(out, "{}{address:x}", if i == 0 { "" } else { "," });
                }
                out.push(b'\n');
                if let Some(room) = site.cut {
                    let _ = writeln!(out, "stackcut\t{pid}\t-\t{id}\t{room}");
                }
                for python in site.python.iter() {
                    let _ = write!(out, "pyframe\t{pid}\t-\t{id}\t{}\t", python.line);
                    out.escape(&python.file);
                    out.push(b'\t');
                    out.escape(&python.function);
                    out.push(b'\n');
                }
            }
            let _ = write!(out, "site\t{pid}\t");
            out.escape(test);
            // The block size last: 0 when the site's blocks differ in size.
            let size = match site.sizes {
                BlockSizes::One(size) => size,
                BlockSizes::None | BlockSizes::Mixed => 0,
            };
            let _ = writeln!(out, "\t{index}\t{id}\t{}\t{}\t{}\t{size}", site.domain as char, site.blocks, site.bytes);
        }
    }
}

/// `items` in a boxed slice of their own.
fn boxed_slice<T: Clone>(items: &[T]) -> Result<Box<[T]>, OutOfMemory> {
    // Exactly as many as reserved: `into_boxed_slice` has nothing to shrink (which could not
    // fail softly).
    Ok(crate::fallible::try_vec_from(items)?.into_boxed_slice())
}

/// Each location resolved, in a boxed slice.
fn resolve_all(
    locations: &[pyframe::Location],
    resolve: impl Fn(pyframe::Location) -> Result<pyframe::Resolved, OutOfMemory>,
) -> Result<Box<[pyframe::Resolved]>, OutOfMemory> {
    let mut resolved = Vec::new();
    resolved.try_reserve_exact(locations.len())?;
    for &location in locations {
        resolved.push(resolve(location)?);
    }
    Ok(resolved.into_boxed_slice())
}

/// A 64-bit digest of a stack key: four independent multiply-rotate lanes (the words are
/// distinct code addresses; one serial chain over 33 words was half of `on_alloc`), merged, then
/// the splitmix64 finaliser.
fn digest(words: &[u64]) -> u64 {
    const K: u64 = 0xff51_afd7_ed55_8ccd;
    let mut lanes = [
        0x9e37_79b9_7f4a_7c15 ^ words.len() as u64,
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
    ];
    let mut chunks = words.chunks_exact(4);
    for chunk in &mut chunks {
        for (lane, &w) in lanes.iter_mut().zip(chunk) {
            *lane = (*lane ^ w).wrapping_mul(K).rotate_left(29);
        }
    }
    for (lane, &w) in lanes.iter_mut().zip(chunks.remainder()) {
        *lane = (*lane ^ w).wrapping_mul(K).rotate_left(29);
    }
    let mut h = lanes[0];
    for &lane in &lanes[1..] {
        h = (h ^ lane).wrapping_mul(K).rotate_left(31);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The digests are well mixed already: hash them as they are.
#[derive(Debug, Default)]
struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, word: u64) {
        self.0 = word;
    }
}

extern "C" fn before_fork() {
    STATE.raw_lock();
}

extern "C" fn after_fork_in_parent() {
    STATE.raw_unlock();
}

extern "C" fn after_fork_in_child() {
    // The child is not the test being measured.
    ACTIVE.store(false, Ordering::Relaxed);
    STATE.raw_unlock();
}

/// A minimal spin lock: taken only inside the window, for a few hundred nanoseconds, with the
/// GIL usually held already. It never allocates through CPython and can be released from an
/// `atfork` handler, which a `std::sync::Mutex` guard cannot.
struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: access to `value` is serialised by `locked`.
unsafe impl<T: Send> Sync for SpinLock<T> {}

struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    const fn new(value: T) -> Self {
        Self { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    fn raw_lock(&self) {
        let mut spins = 0u32;
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            spins += 1;
            if spins < 100 {
                std::hint::spin_loop();
            } else {
                // The holder may be descheduled: let it run.
                std::thread::yield_now();
            }
        }
    }

    fn raw_unlock(&self) {
        self.locked.store(false, Ordering::Release);
    }

    fn lock(&self) -> SpinGuard<'_, T> {
        self.raw_lock();
        SpinGuard { lock: self }
    }
}

impl<T> std::ops::Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> std::ops::DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw_unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_up_blocks_have_no_stack_but_their_frees_count() {
        let mut tracker = Tracker::try_new(16).unwrap();
        let stack = current_thread_stack().unwrap();
        tracker.allocated(b'o', 0x1000, 32, None, stack.clone()).unwrap();
        tracker.allocated(b'o', 0x2000, 32, None, stack.clone()).unwrap();
        tracker.with_stacks = true;
        tracker.allocated(b'o', 0x3000, 32, None, stack).unwrap();
        tracker.freed(0x1000);
        let mut out = Records::in_memory();
        tracker.write_sites(b"t", 2, &mut out);
        let text = out.text();
        // Warm-up site of obj (id 2): one block left, written with an empty stack.
        // The block size last: all of this site's blocks were of 32 bytes.
        assert!(text.contains("\tt\t2\t2\to\t1\t32\t32\n"), "{text}");
        assert!(text.contains("stack\t") && text.contains("\t2\to\t\n"), "{text}");
        assert!(text.contains("\tt\t2\t3\to\t1\t32\t32\n"), "the counted block has a site of its own: {text}");
    }

    #[test]
    fn frees_of_warm_up_blocks_in_the_counted_repetitions_are_counted_by_size() {
        let mut tracker = Tracker::try_new(16).unwrap();
        let stack = current_thread_stack().unwrap();
        for (ptr, size) in [(0x1000, 56), (0x2000, 56), (0x3000, 16), (0x4000, 56)] {
            tracker.allocated(b'o', ptr, size, None, stack.clone()).unwrap();
        }
        // Freed during a warm-up: not counted.
        let taken = tracker.freed(0x4000).unwrap();
        tracker.warmup_free(taken).unwrap();
        tracker.with_stacks = true;
        tracker.allocated(b'o', 0x5000, 56, None, stack).unwrap();
        for ptr in [0x1000, 0x2000, 0x3000, 0x5000] {
            let taken = tracker.freed(ptr).unwrap();
            tracker.warmup_free(taken).unwrap();
        }
        let mut out = Records::in_memory();
        tracker.write_warmup_frees(b"t", 3, &mut out);
        let text = out.text();
        let mut lines: Vec<&str> = text.lines().map(|l| l.split_once('\t').unwrap().1).collect();
        lines.sort();
        // Not the counted block of 0x5000 either.
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        assert_eq!(lines, [format!("{pid}\tt\t3\to\t1\t16"), format!("{pid}\tt\t3\to\t2\t112")], "{text}");
        assert!(text.lines().all(|l| l.starts_with("wfree\t")));
        // Written once: the next repetition starts from nothing.
        let mut again = Records::in_memory();
        tracker.write_warmup_frees(b"t", 4, &mut again);
        assert!(again.text().is_empty());
    }

    /// The stack an allocation's bookkeeping takes on the allocating thread: with rules and
    /// site new (the first allocation of a window), and known.
    #[test]
    fn stack_used_by_an_allocation() {
        let used = crate::unwind::stack_use::on_big_thread(|| {
            let mut tracker = Tracker::try_new(32).unwrap();
            tracker.with_stacks = true;
            let stack = current_thread_stack().unwrap();
            (0..std::hint::black_box(2usize))
                .map(|i| {
                    crate::unwind::stack_use::measure(|| {
                        tracker.allocated(b'r', 0x1000 + i * 16, 48, None, stack.clone()).unwrap();
                    })
                })
                .collect::<Vec<_>>()
        });
        eprintln!("allocated: {} bytes with new rules and site, {} with both known", used[0], used[1]);
        if cfg!(debug_assertions) {
            return; // the optimized build's use is the one measured (see unwind's tests)
        }
        assert!(used[0] * 3 <= crate::unwind::RULE_ROOM, "{used:?}");
        assert!(used[1] <= 2048, "{used:?}");
    }

    /// Allocations on threads with less and less stack left, each the first of a new tracker
    /// (every rule to evaluate): none overflows the thread's stack, and each is counted, at a
    /// site marked cut where the room was below `unwind::RULE_ROOM`.
    #[test]
    fn an_allocation_with_little_stack_left_is_counted_at_a_site_marked_cut() {
        #[inline(never)]
        fn with_room(room: u64, stack: &Range<u64>, tracker: &mut Tracker) -> Result<(), OutOfMemory> {
            let (_, here, _) = crate::unwind::stack_use::registers();
            if here - stack.start > room {
                let mut pad = [0u8; 256];
                std::hint::black_box(&mut pad);
                // Not a tail call: each level keeps its frame.
                return std::hint::black_box(with_room(room, stack, tracker));
            }
            tracker.allocated(b'r', 0x1000, 48, None, stack.clone())
        }
        let rule_room = crate::unwind::RULE_ROOM;
        // An unoptimized build's frames are several times larger (see unwind's tests): there
        // `allocated` and `capture` take about 4 KiB above the capture's check of its room.
        let rooms: &[u64] = if cfg!(debug_assertions) {
            &[48 * 1024, rule_room + 8192, rule_room - 1]
        } else {
            &[48 * 1024, rule_room + 4096, rule_room - 1, 8192, 4096]
        };
        for &room in rooms {
            let text = std::thread::Builder::new()
                .stack_size(96 * 1024)
                .spawn(move || {
                    let mut tracker = Tracker::try_new(32).unwrap();
                    tracker.with_stacks = true;
                    with_room(room, &current_thread_stack().unwrap(), &mut tracker).unwrap();
                    let mut out = Records::in_memory();
                    tracker.write_sites(b"t", 3, &mut out);
                    out.text()
                })
                .unwrap()
                .join()
                .unwrap();
            // The block is counted, at site 3 (after the warm-up sites).
            assert!(text.contains("\tt\t3\t3\tr\t1\t48\t48\n"), "{room}: {text}");
            let cut: Vec<&str> = text.lines().filter(|l| l.starts_with("stackcut\t")).collect();
            if room > rule_room {
                assert!(cut.is_empty(), "{room}: {text}");
            } else {
                let [line] = cut[..] else { panic!("{room}: {text}") };
                let left: u64 = line.rsplit('\t').next().unwrap().parse().unwrap();
                assert!(line.contains("\t-\t3\t") && left < rule_room && left + 8192 > room, "{room}: {text}");
            }
        }
    }

    #[test]
    fn stack_digests_differ_for_nearby_stacks() {
        let a = digest(&[b'r' as u64, 0x4f3e2b, 0x7f00_1000]);
        assert_ne!(a, digest(&[b'm' as u64, 0x4f3e2b, 0x7f00_1000]));
        assert_ne!(a, digest(&[b'r' as u64, 0x4f3e2b, 0x7f00_1001]));
        assert_ne!(a, digest(&[b'r' as u64, 0x7f00_1000, 0x4f3e2b]));
        assert_ne!(a, digest(&[b'r' as u64, 0x4f3e2b]));
        assert_eq!(a, digest(&[b'r' as u64, 0x4f3e2b, 0x7f00_1000]));
        // Words in different lanes, and the same words in another order, differ too.
        let long: Vec<u64> = (0..33).map(|i| 0x4000_0000 + i * 0x10).collect();
        let mut swapped = long.clone();
        swapped.swap(1, 5);
        assert_ne!(digest(&long), digest(&swapped));
        assert_ne!(digest(&long), digest(&long[..32]));
    }

    #[test]
    fn sites_count_what_stays_alive_and_are_written_once() {
        let mut tracker = Tracker::try_new(16).unwrap();
        tracker.with_stacks = true;
        let stack = current_thread_stack().unwrap();
        // Two blocks from one call site (same stack: same loop iteration shape), one freed.
        for ptr in [0x1000usize, 0x2000] {
            tracker.allocated(b'r', ptr, 48, None, stack.clone()).unwrap();
        }
        tracker.freed(0x1000);
        tracker.freed(0x9999); // never seen: ignored
        let mut out = Records::in_memory();
        tracker.write_sites(b"test_x", 3, &mut out);
        let text = out.text();
        let sites: Vec<&str> = text.lines().filter(|l| l.starts_with("site\t")).collect();
        assert_eq!(sites.len(), 1, "{text}");
        assert!(sites[0].ends_with("\ttest_x\t3\t3\tr\t1\t48\t48"), "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with("stack\t")).count(), 1);
        assert!(text.lines().any(|l| l.starts_with("module\t")));
        let mut again = Records::in_memory();
        tracker.write_sites(b"test_x", 4, &mut again);
        let again = again.text();
        assert!(!again.contains("stack\t"), "stacks and modules are written once: {again}");
        assert!(!again.contains("module\t"));
        // A block of another size at the site: its size is written as 0 (sizes differ).
        tracker.allocated(b'r', 0x3000, 64, None, stack).unwrap();
        let mut mixed = Records::in_memory();
        tracker.write_sites(b"test_x", 5, &mut mixed);
        assert!(mixed.text().contains("\ttest_x\t5\t3\tr\t2\t112\t0\n"));
    }
}
