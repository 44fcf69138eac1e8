//! Per-thread tallies of live blocks and bytes, summed when regrtest measures.
//!
//! A shared counter needs a `lock`-prefixed add per allocation and per free; on CPython's
//! allocation path that was most of the shim's cost. Instead each thread owns a [`Tally`] and
//! updates it with plain loads and stores (relaxed atomics: no `lock` prefix), and
//! [`live`] sums every tally. A block allocated by one thread and freed by another leaves +1 in
//! one tally and -1 in the other: the sum is what counts.
//!
//! Tallies are never freed, so a sum never loses a count. A thread finds its own through one
//! initial-exec thread-local pointer (`tls.c`). When a thread exits, a `pthread` key destructor
//! releases its tally, with its counts, for the next new thread to adopt; when a process forks,
//! the child releases the tallies of the threads it did not inherit (`after_fork_in_child`).
//! The per-thread "inside a hook" flag lives in the tally too, so one pointer load serves both,
//! and so do the allocations nested hook calls made, until the outer hook settles them
//! ([`Tally::record_nested`], [`Tally::settle_nested`]).
//!
//! Domains are numbered by [`DomainIndex`]; a tally has room for [`MAX_DOMAINS`].

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::fallible::{try_box, OutOfMemory};

/// Domains one process may number (3 in production; unit tests and benches make more).
pub const MAX_DOMAINS: usize = 16;

/// Nested allocations one outer hook call can hold for settling. pymalloc makes at most three
/// in one call (its arena list, an arena map's middle and bottom node), or one (a large request
/// passed through); any beyond are left uncounted.
pub const MAX_NESTED: usize = 4;

extern "C" {
    fn leakcheck_shim_tally_get() -> *mut c_void;
    fn leakcheck_shim_tally_set(value: *mut c_void);
}

/// One thread's counts. Written only by the thread that claimed it; read by anyone.
#[derive(Debug)]
pub struct Tally {
    /// `[blocks, bytes]` per domain index.
    counts: [[AtomicI64; 2]; MAX_DOMAINS],
    /// The owner is inside one of our hooks (see `hooks::ReentryGuard`).
    in_hook: AtomicBool,
    /// How many of `nested` hold an allocation made by a nested hook call of the owner's current
    /// outer hook (0 whenever the owner is outside every hook). Owner-only.
    nested_len: AtomicUsize,
    nested: [Nested; MAX_NESTED],
    /// The owner is probing whether an allocator reaches our hook of the domain with this API
    /// id (see `crate::reaches_hook`), with [`PROBE_HIT`] set once it did; 0: no probe.
    probe: AtomicU8,
    /// Owned by a live thread.
    claimed: AtomicBool,
    /// The next tally of the registry (set before the tally is published, then constant).
    next: AtomicPtr<Tally>,
    /// The owner's stack range, for the unwinder (0..0 until looked up).
    stack_start: AtomicU64,
    stack_end: AtomicU64,
    /// The last `obj` block the owner allocated while allocations were attributed, until an
    /// object made in it is seen ([`Tally::take_last_object_block`]): `crate::reftrace` tells
    /// an object in a block just allocated from one taken off a free list by it.
    last_object_block: AtomicUsize,
}

/// Set in `Tally::probe` when the probe reached its hook (API ids are ASCII letters).
const PROBE_HIT: u8 = 0x80;

/// One allocation a nested hook call made: what it adds to its domain's counts, and the block it
/// returned, `start..end`. Relaxed atomics only so that a `Tally` is `Sync`: the owner alone
/// touches them.
#[derive(Debug)]
struct Nested {
    domain: AtomicUsize,
    blocks: AtomicI64,
    bytes: AtomicI64,
    start: AtomicUsize,
    end: AtomicUsize,
}

impl Nested {
    const fn new() -> Self {
        Self {
            domain: AtomicUsize::new(0),
            blocks: AtomicI64::new(0),
            bytes: AtomicI64::new(0),
            start: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
        }
    }
}

/// The registry: a push-only list of every tally ever made.
static HEAD: AtomicPtr<Tally> = AtomicPtr::new(std::ptr::null_mut());
static RELEASE_KEY: OnceLock<Option<libc::pthread_key_t>> = OnceLock::new();

/// Tallies in the shim's own static memory, for threads whose first allocation finds `malloc`
/// failing (see [`crate::fallible`]): they still count.
const SPARE_TALLIES: usize = 32;
static SPARES: [Tally; SPARE_TALLIES] = [const { Tally::new(false) }; SPARE_TALLIES];
static SPARES_TAKEN: AtomicUsize = AtomicUsize::new(0);
/// A thread allocated through the hooks without a tally (no memory, no spare left): its
/// blocks were not counted, and no count of this process can be trusted from then on.
static UNCOUNTED: AtomicBool = AtomicBool::new(false);

impl Tally {
    const fn new(claimed: bool) -> Self {
        Self {
            counts: [const { [AtomicI64::new(0), AtomicI64::new(0)] }; MAX_DOMAINS],
            in_hook: AtomicBool::new(false),
            nested_len: AtomicUsize::new(0),
            nested: [const { Nested::new() }; MAX_NESTED],
            probe: AtomicU8::new(0),
            claimed: AtomicBool::new(claimed),
            next: AtomicPtr::new(std::ptr::null_mut()),
            stack_start: AtomicU64::new(0),
            stack_end: AtomicU64::new(0),
            last_object_block: AtomicUsize::new(0),
        }
    }

    /// Remember `block` as the owner's last attributed `obj` allocation. Only the owner calls
    /// this.
    #[inline(always)]
    pub fn set_last_object_block(&self, block: usize) {
        self.last_object_block.store(block, Ordering::Relaxed);
    }

    /// The owner's last attributed `obj` allocation (0: none since the last call), forgotten.
    /// Only the owner calls this.
    #[inline(always)]
    pub fn take_last_object_block(&self) -> usize {
        let block = self.last_object_block.load(Ordering::Relaxed);
        self.last_object_block.store(0, Ordering::Relaxed);
        block
    }

    /// The owner thread's stack, once [`Tally::set_stack`] recorded it.
    pub fn stack(&self) -> Option<std::ops::Range<u64>> {
        let (start, end) = (self.stack_start.load(Ordering::Relaxed), self.stack_end.load(Ordering::Relaxed));
        (start < end).then_some(start..end)
    }

    pub fn set_stack(&self, stack: std::ops::Range<u64>) {
        self.stack_start.store(stack.start, Ordering::Relaxed);
        self.stack_end.store(stack.end, Ordering::Relaxed);
    }

    /// Add to this thread's counts of `domain`. Only the owner calls this.
    #[inline(always)]
    pub fn add(&self, domain: DomainIndex, blocks: i64, bytes: i64) {
        // SAFETY: a DomainIndex is below MAX_DOMAINS by construction (`allocate`, `from_raw`).
        let [b, n] = unsafe { self.counts.get_unchecked(domain.0) };
        // Owner-only writes: a load and a store, no read-modify-write.
        b.store(b.load(Ordering::Relaxed).wrapping_add(blocks), Ordering::Relaxed);
        n.store(n.load(Ordering::Relaxed).wrapping_add(bytes), Ordering::Relaxed);
    }

    /// Set the "inside a hook" flag; returns its previous value. Only the owner calls this.
    #[inline(always)]
    pub fn enter_hook(&self) -> bool {
        let was = self.in_hook.load(Ordering::Relaxed);
        self.in_hook.store(true, Ordering::Relaxed);
        was
    }

    #[inline(always)]
    pub fn leave_hook(&self) {
        self.in_hook.store(false, Ordering::Relaxed);
    }

    /// A hook entered while the owner was inside another (a nested call) allocated `block`,
    /// adding `blocks` and `bytes` to `domain`. Kept until the outer hook settles it
    /// ([`Tally::settle_nested`]); dropped, uncounted, when [`MAX_NESTED`] are kept already.
    /// Only the owner calls this.
    pub fn record_nested(&self, domain: DomainIndex, blocks: i64, bytes: i64, block: std::ops::Range<usize>) {
        let len = self.nested_len.load(Ordering::Relaxed);
        let Some(slot) = self.nested.get(len) else { return };
        slot.domain.store(domain.0, Ordering::Relaxed);
        slot.blocks.store(blocks, Ordering::Relaxed);
        slot.bytes.store(bytes, Ordering::Relaxed);
        slot.start.store(block.start, Ordering::Relaxed);
        slot.end.store(block.end, Ordering::Relaxed);
        self.nested_len.store(len + 1, Ordering::Relaxed);
    }

    /// The outer hook returns `outer` (null for a free or a failure): count the allocations its
    /// nested calls made, except the one whose block holds `outer`, which is the outer block
    /// itself passed through (pymalloc handing a large request to `PyMem_RawMalloc`; with the
    /// debug allocator above it, `outer` is that block plus its header) and already counted by
    /// the outer hook. The others are the allocator's own bookkeeping, alive in their domain.
    /// One load when there are none. Only the owner calls this, before leaving the hook.
    #[inline(always)]
    pub fn settle_nested(&self, outer: *mut c_void) {
        let len = self.nested_len.load(Ordering::Relaxed);
        if len != 0 {
            self.settle_nested_slow(len, outer as usize);
        }
    }

    #[cold]
    #[inline(never)]
    fn settle_nested_slow(&self, len: usize, outer: usize) {
        for slot in self.nested.iter().take(len) {
            let block = slot.start.load(Ordering::Relaxed)..slot.end.load(Ordering::Relaxed);
            if outer != 0 && block.contains(&outer) {
                continue;
            }
            let domain = DomainIndex::from_raw(slot.domain.load(Ordering::Relaxed));
            self.add(domain, slot.blocks.load(Ordering::Relaxed), slot.bytes.load(Ordering::Relaxed));
        }
        self.nested_len.store(0, Ordering::Relaxed);
    }

    /// Start a probe of the domain whose API id is `api_id`: until [`Tally::end_probe`], this
    /// thread counts as inside a hook (so nothing it allocates is counted), and a hook of that
    /// domain it reaches says so ([`Tally::nested_call`]). `false` when already inside a hook.
    pub fn begin_probe(&self, api_id: u8) -> bool {
        if self.enter_hook() {
            return false;
        }
        self.probe.store(api_id & !PROBE_HIT, Ordering::Relaxed);
        true
    }

    /// End the probe: whether a hook of the probed domain was reached.
    pub fn end_probe(&self) -> bool {
        let probe = self.probe.swap(0, Ordering::Relaxed);
        // What the probe allocated is not counted, nested or not.
        self.nested_len.store(0, Ordering::Relaxed);
        self.leave_hook();
        probe & PROBE_HIT != 0
    }

    /// A hook of the domain `api_id` was entered while this thread was already inside one (its
    /// allocation, if any, is settled by the outer hook, see [`Tally::settle_nested`]); if it
    /// is what a probe was looking for, remember it.
    #[cold]
    pub fn nested_call(&self, api_id: u8) {
        if self.probe.load(Ordering::Relaxed) == api_id & !PROBE_HIT {
            self.probe.store(api_id | PROBE_HIT, Ordering::Relaxed);
        }
    }
}

/// This thread's tally, claimed on first use; `None` when there is none to be had (see
/// [`uncounted`]).
#[inline(always)]
pub fn current() -> Option<&'static Tally> {
    // SAFETY: a plain read of this thread's own thread-local pointer.
    let tally = unsafe { leakcheck_shim_tally_get() }.cast::<Tally>();
    if tally.is_null() {
        return claim();
    }
    // SAFETY: the pointer was set by `adopt` to a tally that is never freed.
    Some(unsafe { &*tally })
}

/// Whether some thread's allocations went uncounted for want of a tally: the counts of this
/// process are short of them for good.
pub fn uncounted() -> bool {
    UNCOUNTED.load(Ordering::Relaxed)
}

/// First use on this thread: adopt a released tally, or make a new one, or take a spare.
#[cold]
fn claim() -> Option<&'static Tally> {
    let mut cursor = HEAD.load(Ordering::Acquire);
    while !cursor.is_null() {
        // SAFETY: registry entries are leaked boxes, never freed.
        let tally = unsafe { &*cursor };
        if tally.claimed.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            return Some(adopt(tally));
        }
        cursor = tally.next.load(Ordering::Acquire);
    }
    // The tally comes from libc's malloc, which the shim never hooks.
    let tally: &'static Tally = match try_box(Tally::new(true)) {
        Ok(tally) => Box::leak(tally),
        Err(OutOfMemory) => match SPARES.get(SPARES_TAKEN.fetch_add(1, Ordering::Relaxed)) {
            Some(spare) => {
                spare.claimed.store(true, Ordering::Relaxed);
                spare
            }
            None => {
                UNCOUNTED.store(true, Ordering::Relaxed);
                return None;
            }
        },
    };
    let mut head = HEAD.load(Ordering::Relaxed);
    loop {
        tally.next.store(head, Ordering::Relaxed);
        match HEAD.compare_exchange_weak(head, tally as *const _ as *mut _, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => break,
            Err(current) => head = current,
        }
    }
    Some(adopt(tally))
}

fn adopt(tally: &'static Tally) -> &'static Tally {
    // A new owner, a new stack.
    tally.set_stack(0..0);
    let ptr = tally as *const Tally as *mut c_void;
    // SAFETY: this thread's own thread-local pointer.
    unsafe { leakcheck_shim_tally_set(ptr) };
    if let Some(Some(key)) = RELEASE_KEY.get() {
        // SAFETY: a key created by `init`; glibc stores the first 32 keys' values in the
        // thread descriptor, without allocating.
        unsafe { libc::pthread_setspecific(*key, ptr) };
    }
    tally
}

/// The `pthread` key destructor: the thread is exiting, its tally (and counts) go back to the
/// registry for another thread.
extern "C" fn release(ptr: *mut c_void) {
    // SAFETY: the value `adopt` stored, a tally that is never freed.
    let tally = unsafe { &*ptr.cast::<Tally>() };
    // SAFETY: this thread's own thread-local pointer; a later allocation on this thread claims
    // a tally anew (glibc then runs this destructor again).
    unsafe { leakcheck_shim_tally_set(std::ptr::null_mut()) };
    tally.in_hook.store(false, Ordering::Relaxed);
    tally.nested_len.store(0, Ordering::Relaxed);
    tally.claimed.store(false, Ordering::Release);
}

/// Set up thread-exit release and the fork handler. Without them tallies are still correct,
/// only never reused.
pub fn init() {
    RELEASE_KEY.get_or_init(|| {
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: creates a key with a destructor that only touches our own registry.
        let ok = unsafe { libc::pthread_key_create(&mut key, Some(release)) } == 0;
        // SAFETY: registering a child handler that takes no lock.
        unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        ok.then_some(key)
    });
}

/// In a forked child only the forking thread exists: release every other tally (their counts
/// stay in the sums: the child has copies of those blocks).
extern "C" fn after_fork_in_child() {
    // SAFETY: this thread's own pointer, copied from the parent.
    let mine = unsafe { leakcheck_shim_tally_get() }.cast::<Tally>();
    let mut cursor = HEAD.load(Ordering::Acquire);
    while !cursor.is_null() {
        // SAFETY: registry entries are never freed.
        let tally = unsafe { &*cursor };
        if cursor != mine {
            tally.in_hook.store(false, Ordering::Relaxed);
            tally.nested_len.store(0, Ordering::Relaxed);
            tally.claimed.store(false, Ordering::Release);
        }
        cursor = tally.next.load(Ordering::Acquire);
    }
}

/// `(blocks, bytes)` of `domain` over every tally. Other threads may be allocating: each value
/// is one they really held, the sum is approximate for them, as `sys.getallocatedblocks()` is.
pub fn live(domain: DomainIndex) -> (i64, i64) {
    let (mut blocks, mut bytes) = (0i64, 0i64);
    let mut cursor = HEAD.load(Ordering::Acquire);
    while !cursor.is_null() {
        // SAFETY: registry entries are never freed.
        let tally = unsafe { &*cursor };
        let [b, n] = &tally.counts[domain.0];
        blocks = blocks.wrapping_add(b.load(Ordering::Relaxed));
        bytes = bytes.wrapping_add(n.load(Ordering::Relaxed));
        cursor = tally.next.load(Ordering::Acquire);
    }
    (blocks, bytes)
}

/// A domain's column in every tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainIndex(usize);

static NEXT_INDEX: AtomicUsize = AtomicUsize::new(0);

impl DomainIndex {
    /// A fresh index; `None` once [`MAX_DOMAINS`] are taken.
    pub fn allocate() -> Option<Self> {
        let index = NEXT_INDEX.fetch_add(1, Ordering::Relaxed);
        (index < MAX_DOMAINS).then_some(Self(index))
    }

    pub fn get(self) -> usize {
        self.0
    }

    /// An index `get` returned before.
    pub(crate) fn from_raw(index: usize) -> Self {
        Self(index.min(MAX_DOMAINS - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_every_thread_add_up_and_survive_thread_exit() {
        init();
        let domain = DomainIndex::allocate().unwrap();
        current().unwrap().add(domain, 1, 10);
        let handles: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        current().unwrap().add(domain, 1, 3);
                    }
                    current().unwrap().add(domain, -1, -1); // frees a block of another thread
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(live(domain), (1 + 8 * 999, 10 + 8 * 2999));
    }

    #[test]
    fn nested_allocations_count_when_settled_unless_they_hold_the_outer_block() {
        init();
        let domain = DomainIndex::allocate().unwrap();
        let tally = current().unwrap();
        // The outer block passed through (the outer pointer inside it), and bookkeeping.
        tally.record_nested(domain, 1, 1016, 0x1000..0x1000 + 1016);
        tally.record_nested(domain, 1, 64, 0x9000..0x9000 + 64);
        assert_eq!(live(domain), (0, 0), "nothing counts before the outer hook settles");
        tally.settle_nested((0x1000 + 16) as *mut c_void);
        assert_eq!(live(domain), (1, 64));
        tally.settle_nested(std::ptr::null_mut());
        assert_eq!(live(domain), (1, 64), "settled once");
        // Without an outer block (a free, a failure) every one counts; beyond MAX_NESTED none.
        for i in 0..MAX_NESTED + 2 {
            tally.record_nested(domain, 0, 8, 0x1000 * i..0x1000 * i + 8);
        }
        tally.settle_nested(std::ptr::null_mut());
        assert_eq!(live(domain), (1, 64 + 8 * MAX_NESTED as i64));
        // A probe's nested allocations are not counted.
        assert!(tally.begin_probe(b'r'));
        tally.record_nested(domain, 1, 8, 0x1000..0x1008);
        tally.end_probe();
        tally.settle_nested(std::ptr::null_mut());
        assert_eq!(live(domain), (1, 64 + 8 * MAX_NESTED as i64));
    }

    #[test]
    fn released_tallies_are_reused_not_multiplied() {
        init();
        let count = || {
            let mut n = 0;
            let mut cursor = HEAD.load(Ordering::Acquire);
            while !cursor.is_null() {
                n += 1;
                // SAFETY: registry entries are never freed.
                cursor = unsafe { &*cursor }.next.load(Ordering::Acquire);
            }
            n
        };
        for _ in 0..4 {
            std::thread::spawn(|| {
                current().unwrap();
            })
            .join()
            .unwrap();
        }
        let before = count();
        for _ in 0..50 {
            std::thread::spawn(|| {
                current().unwrap();
            })
            .join()
            .unwrap();
        }
        // Other tests run threads concurrently; 50 sequential short-lived threads must not have
        // made 50 tallies.
        assert!(count() < before + 20, "{} tallies after {before}", count());
    }
}
