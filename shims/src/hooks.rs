//! The allocator hooks: thin `extern "C"` forwarders that count live blocks and bytes.
//!
//! One [`Domain`] per CPython allocator domain (RAW, MEM, OBJ) holds the allocator it wraps. The
//! hooks pass every call, and every pointer, through unchanged: the free-threaded GC and the
//! debug hooks below us expect exactly what they returned.
//!
//! Counts go to this thread's [`Tally`]: plain stores, no lock, no atomic
//! read-modify-write. Sizes at `free` come from the header that CPython's debug allocator
//! (`_PyMem_DebugRawAlloc`, active in every `--with-pydebug` build, i.e. wherever `-R` runs)
//! writes in front of each block: the requested size as a big-endian `size_t`, then the API id
//! byte (`r`, `m`, `o`). [`SizeSource`] checks that layout on the domain's first allocation and,
//! where it is absent, marks the domain's byte counts unknown instead of guessing.
//!
//! Nested calls: a hook entered while the thread is inside another (the tally's "inside a hook"
//! flag) is either the outer block itself or the allocator's own bookkeeping. pymalloc hands
//! requests over 512 bytes to `PyMem_RawMalloc`, which re-enters through our RAW hook while our
//! OBJ or MEM hook is still running: one block, counted once, by the outer hook. pymalloc also
//! allocates its own bookkeeping through RAW from inside a request it serves: its arena list
//! (`new_arena`: `PyMem_RawRealloc(allarenas, ...)`) and its arena map's middle and bottom
//! nodes (`arena_map_get`: `PyMem_RawCalloc`). Those are RAW blocks of their own, and 3.12+
//! frees them with `PyMem_RawFree` outside any hook when an isolated subinterpreter is deleted
//! (`free_obmalloc_arenas`), so they must count in RAW as any top-level call would, or each
//! subinterpreter's deletion takes three blocks off RAW. A nested allocation is kept in the
//! tally ([`Tally::record_nested`]) until the outer hook returns, and counted then unless the
//! outer hook's result lies inside its block ([`Tally::settle_nested`]): the pass-through. A
//! nested free is the outer free's own block, passed through, and is not counted. Bookkeeping
//! blocks get no allocation site.

use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};

use crate::attribution;
use crate::fallible::try_box;
use crate::pyapi::PyMemAllocatorEx;
use crate::tally::{self, DomainIndex, Tally};
use crate::unwind::Caller;

/// Where the size of a block being freed comes from.
#[derive(Debug)]
pub struct SizeSource {
    state: AtomicU8,
    api_id: u8,
}

const SIZE_UNKNOWN_YET: u8 = 0;
const SIZE_FROM_DEBUG_HEADER: u8 = 1;
const SIZE_UNAVAILABLE: u8 = 2;

const SST: usize = std::mem::size_of::<usize>();
/// `PYMEM_FORBIDDENBYTE`, which pads the debug header after the API id.
const FORBIDDEN_BYTE: u8 = 0xFD;

impl SizeSource {
    pub const fn new(api_id: u8) -> Self {
        Self { state: AtomicU8::new(SIZE_UNKNOWN_YET), api_id }
    }

    /// CPython's debug API id of the domain (`r`, `m`, `o`).
    pub fn api_id(&self) -> u8 {
        self.api_id
    }

    /// Whether byte counts of this domain can be trusted.
    pub fn bytes_known(&self) -> bool {
        self.state.load(Ordering::Relaxed) == SIZE_FROM_DEBUG_HEADER
    }

    /// On the domain's first allocation, check for the debug header.
    ///
    /// # Safety
    /// `ptr` was just returned by the wrapped allocator for a request of `size` bytes.
    #[inline(always)]
    unsafe fn observe_alloc(&self, ptr: *mut c_void, size: usize) {
        if self.state.load(Ordering::Relaxed) != SIZE_UNKNOWN_YET {
            return;
        }
        // SAFETY: forwarded from the caller.
        let state = match unsafe { self.read_debug_header(ptr) } {
            Some(recorded) if recorded == size => SIZE_FROM_DEBUG_HEADER,
            _ => SIZE_UNAVAILABLE,
        };
        let _ = self.state.compare_exchange(SIZE_UNKNOWN_YET, state, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// The size of a live block, if this domain's blocks carry the debug header.
    ///
    /// # Safety
    /// `ptr` is a live block of the wrapped allocator.
    #[inline(always)]
    pub(crate) unsafe fn size_of_live(&self, ptr: *mut c_void) -> Option<usize> {
        if self.state.load(Ordering::Relaxed) != SIZE_FROM_DEBUG_HEADER {
            return None;
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.read_debug_header(ptr) }
    }

    /// Read `_PyMem_DebugRawAlloc`'s header: `p[-2S..-S]` the requested size (big-endian),
    /// `p[-S]` the API id, `p[-S+1..0]` forbidden bytes. `None` if the id or padding differ.
    ///
    /// # Safety
    /// `ptr` is a live block of the wrapped allocator, so that the `2*S` bytes before it belong
    /// to the same underlying allocation whenever the debug allocator is in place. When it is
    /// not (checked once, on the first allocation), those bytes are still mapped: every
    /// allocator below us keeps its own bookkeeping in front of the block.
    unsafe fn read_debug_header(&self, ptr: *mut c_void) -> Option<usize> {
        let base = ptr.cast::<u8>();
        // SAFETY: see the function's contract; both reads are unaligned-safe.
        let (size, tag) = unsafe {
            (
                std::ptr::read_unaligned(base.sub(2 * SST).cast::<[u8; SST]>()),
                std::ptr::read_unaligned(base.sub(SST).cast::<[u8; SST]>()),
            )
        };
        (tag == self.expected_tag()).then(|| usize::from_be_bytes(size))
    }

    /// The second header word: the API id, then `SST - 1` forbidden bytes.
    #[inline(always)]
    fn expected_tag(&self) -> [u8; SST] {
        let mut tag = [FORBIDDEN_BYTE; SST];
        tag[0] = self.api_id;
        tag
    }
}

/// Names one `'static` [`Domain`]. The hooks are generic over it instead of reading CPython's
/// `ctx` argument, so that they can keep the wrapped allocator's own `ctx`: a thread that reads
/// `PyMemAllocatorEx` while `PyMem_SetAllocator` copies it (3.11 copies without a lock) may pair
/// the old function with the new `ctx` or the reverse, and both pairs then still work.
pub trait DomainSlot: 'static {
    fn domain() -> &'static Domain;
}

/// Define a unit type naming a fresh `static` [`Domain`] whose blocks carry CPython's debug API
/// id `$id`.
#[macro_export]
macro_rules! domain_slot {
    ($(#[$meta:meta])* $vis:vis $name:ident, $id:expr) => {
        $(#[$meta])*
        #[derive(Debug)]
        $vis struct $name;
        impl $crate::hooks::DomainSlot for $name {
            fn domain() -> &'static $crate::hooks::Domain {
                static DOMAIN: $crate::hooks::Domain = $crate::hooks::Domain::new($id);
                &DOMAIN
            }
        }
    };
}

/// One wrapped allocator domain.
#[derive(Debug)]
pub struct Domain {
    /// The allocator we forward to, leaked once set (a pointer to a `PyMemAllocatorEx`).
    inner: AtomicPtr<PyMemAllocatorEx>,
    /// This domain's column in the tallies; `usize::MAX` until wrapped.
    index: AtomicUsize,
    pub sizes: SizeSource,
}

impl Domain {
    pub const fn new(api_id: u8) -> Self {
        Self {
            inner: AtomicPtr::new(std::ptr::null_mut()),
            index: AtomicUsize::new(usize::MAX),
            sizes: SizeSource::new(api_id),
        }
    }

    /// Record `inner` as the allocator to forward to and return the hook allocator to install
    /// in its place. Once per domain; `None` after that, or when the tallies have no room left.
    pub fn wrap<S: DomainSlot>(inner: PyMemAllocatorEx) -> Option<PyMemAllocatorEx> {
        let d = S::domain();
        if d.is_wrapped() {
            return None;
        }
        tally::init();
        let index = DomainIndex::allocate()?;
        d.index.store(index.get(), Ordering::Relaxed);
        // Fallibly: see `crate::fallible`. Without it the domain is never wrapped, and reported so.
        let boxed = Box::into_raw(try_box(inner).ok()?);
        // Release: a thread that finds our hook installed and loads `inner` with Acquire sees
        // the whole struct, and the index.
        if d.inner.compare_exchange(std::ptr::null_mut(), boxed, Ordering::Release, Ordering::Relaxed).is_err() {
            // SAFETY: `boxed` was never shared.
            drop(unsafe { Box::from_raw(boxed) });
            return None;
        }
        Some(Self::hooks::<S>(inner.ctx))
    }

    /// The allocator to install in place of the one we forward to: our hooks, with its `ctx`.
    fn hooks<S: DomainSlot>(ctx: *mut c_void) -> PyMemAllocatorEx {
        PyMemAllocatorEx {
            ctx,
            malloc: hook_malloc::<S>,
            calloc: hook_calloc::<S>,
            realloc: hook_realloc::<S>,
            free: hook_free::<S>,
        }
    }

    /// Our hook was taken out of the chain (a `tracemalloc` started before it stopped and put
    /// back what it had wrapped) and `current` no longer reaches it: forward to `current` from
    /// now on and return the hook allocator to install again. The counts go on; blocks that were
    /// allocated meanwhile are freed through the hook like blocks from before the first
    /// install. `None` when the domain was never wrapped, or the copy of `current` cannot be
    /// allocated (then the hook stays out, and the records say so). The allocator forwarded to before is
    /// never freed: a thread may still be inside it.
    pub fn rewrap<S: DomainSlot>(current: PyMemAllocatorEx) -> Option<PyMemAllocatorEx> {
        let d = S::domain();
        if !d.is_wrapped() {
            return None;
        }
        d.inner.store(Box::into_raw(try_box(current).ok()?), Ordering::Release);
        Some(Self::hooks::<S>(current.ctx))
    }

    #[inline(always)]
    fn inner(&self) -> &PyMemAllocatorEx {
        let inner = self.inner.load(Ordering::Acquire);
        if inner.is_null() {
            // A hook whose domain was never wrapped cannot have been installed.
            unreachable_hook()
        }
        // SAFETY: set by `wrap` or `rewrap` from a leaked Box, never freed.
        unsafe { &*inner }
    }

    #[inline(always)]
    fn index(&self) -> DomainIndex {
        DomainIndex::from_raw(self.index.load(Ordering::Relaxed))
    }

    /// Whether `installed` (as returned by `PyMem_GetAllocator`) is this domain's hook.
    pub fn is_installed<S: DomainSlot>(installed: &PyMemAllocatorEx) -> bool {
        installed.malloc as *const () == hook_malloc::<S> as *const ()
    }

    /// Whether the hooks of this domain were ever handed out.
    pub fn is_wrapped(&self) -> bool {
        !self.inner.load(Ordering::Relaxed).is_null()
    }

    /// `(blocks, bytes)` alive through this domain's hooks, over all threads; `(0, 0)` before
    /// it is wrapped. Frees of blocks allocated before the hooks count too (a constant offset).
    pub fn live(&self) -> (i64, i64) {
        if !self.is_wrapped() {
            return (0, 0);
        }
        tally::live(self.index())
    }
}

#[cold]
fn unreachable_hook() -> ! {
    // No output: fds 1 and 2 belong to the program. Abort is the only honest exit.
    std::process::abort()
}

/// This thread is inside one of our hooks for as long as it lives.
struct ReentryGuard(&'static Tally);

/// How a hook call was entered.
enum Entry {
    /// From outside every hook: the call counts.
    Outer(ReentryGuard),
    /// From inside another hook of this thread (see the module documentation); a probe of the
    /// domain learned that it got here.
    Nested(&'static Tally),
    /// Without a tally: not counted (`tally::uncounted` tells).
    Untallied,
}

impl ReentryGuard {
    #[inline(always)]
    fn acquire(domain: &Domain) -> Entry {
        let Some(tally) = tally::current() else { return Entry::Untallied };
        if tally.enter_hook() {
            tally.nested_call(domain.sizes.api_id());
            return Entry::Nested(tally);
        }
        Entry::Outer(ReentryGuard(tally))
    }

    /// Leave the hook, which returns `result`: the nested calls' allocations are settled
    /// against it.
    #[inline(always)]
    fn leave(self, result: *mut c_void) {
        self.0.settle_nested(result);
        self.0.leave_hook();
        std::mem::forget(self);
    }
}

impl Drop for ReentryGuard {
    /// Leaving without a result (a free, a failed realloc): every nested allocation counts.
    #[inline(always)]
    fn drop(&mut self) {
        self.0.settle_nested(std::ptr::null_mut());
        self.0.leave_hook();
    }
}

/// A nested hook call of `d` allocated `ptr` (`size` bytes), adding `blocks` and `bytes`: keep
/// it for the outer hook to settle.
///
/// # Safety
/// `ptr` was just returned by `d`'s wrapped allocator for a request of `size` bytes.
#[inline(always)]
unsafe fn record_nested(d: &Domain, tally: &Tally, ptr: *mut c_void, size: usize, blocks: i64, bytes: i64) {
    // SAFETY: forwarded from the caller.
    unsafe { d.sizes.observe_alloc(ptr, size) };
    let start = ptr as usize;
    tally.record_nested(d.index(), blocks, bytes, start..start.saturating_add(size.max(1)));
}

unsafe extern "C" fn malloc_from<S: DomainSlot>(
    _ctx: *mut c_void,
    size: usize,
    return_address: usize,
    sp: usize,
    bp: usize,
) -> *mut c_void {
    let d = S::domain();
    let inner = d.inner();
    let guard = match ReentryGuard::acquire(d) {
        Entry::Outer(guard) => guard,
        Entry::Nested(tally) => {
            // SAFETY: forwarding the caller's arguments to the allocator we wrap.
            let ptr = unsafe { (inner.malloc)(inner.ctx, size) };
            if !ptr.is_null() {
                // SAFETY: `ptr` was just returned for `size` bytes.
                unsafe { record_nested(d, tally, ptr, size, 1, size as i64) };
            }
            return ptr;
        }
        // SAFETY: as above.
        Entry::Untallied => return unsafe { (inner.malloc)(inner.ctx, size) },
    };
    // SAFETY: as above.
    let ptr = unsafe { (inner.malloc)(inner.ctx, size) };
    if !ptr.is_null() {
        // SAFETY: `ptr` was just returned for `size` bytes.
        unsafe { d.sizes.observe_alloc(ptr, size) };
        guard.0.add(d.index(), 1, size as i64);
        if attribution::active() {
            attribution::on_alloc(d.sizes.api_id(), ptr as usize, size as u64, Caller::new(return_address, sp, bp));
            note_object_block(d, guard.0, ptr);
        }
    }
    guard.leave(ptr);
    ptr
}

unsafe extern "C" fn calloc_from<S: DomainSlot>(
    _ctx: *mut c_void,
    nelem: usize,
    elsize: usize,
    return_address: usize,
    sp: usize,
    bp: usize,
) -> *mut c_void {
    let d = S::domain();
    let inner = d.inner();
    let guard = match ReentryGuard::acquire(d) {
        Entry::Outer(guard) => guard,
        Entry::Nested(tally) => {
            // SAFETY: forwarding the caller's arguments to the allocator we wrap.
            let ptr = unsafe { (inner.calloc)(inner.ctx, nelem, elsize) };
            if !ptr.is_null() {
                // The allocator succeeded, so the product did not overflow.
                let size = nelem.wrapping_mul(elsize);
                // SAFETY: `ptr` was just returned for `size` bytes.
                unsafe { record_nested(d, tally, ptr, size, 1, size as i64) };
            }
            return ptr;
        }
        // SAFETY: as above.
        Entry::Untallied => return unsafe { (inner.calloc)(inner.ctx, nelem, elsize) },
    };
    // SAFETY: as above.
    let ptr = unsafe { (inner.calloc)(inner.ctx, nelem, elsize) };
    if !ptr.is_null() {
        // The allocator succeeded, so the product did not overflow.
        let size = nelem.wrapping_mul(elsize);
        // SAFETY: `ptr` was just returned for `size` bytes.
        unsafe { d.sizes.observe_alloc(ptr, size) };
        guard.0.add(d.index(), 1, size as i64);
        if attribution::active() {
            attribution::on_alloc(d.sizes.api_id(), ptr as usize, size as u64, Caller::new(return_address, sp, bp));
            note_object_block(d, guard.0, ptr);
        }
    }
    guard.leave(ptr);
    ptr
}

/// The hooks CPython calls: on x86_64, trampolines that read the frame the hook returns into
/// (its return address, the stack pointer after the return, RBP) at their first instruction,
/// pass them as three more arguments after the hook's own and jump to the hook's body, which
/// returns straight to CPython. An attributed allocation's stack is then unwound from CPython's
/// frame (see [`Caller`]), never through the shim's own. Elsewhere the bodies are called with
/// no caller, and unwind from their own frames.
macro_rules! entry_trampoline {
    ($(#[$meta:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty => $body:ident, [$ra:literal, $sp:literal, $bp:literal]) => {
        $(#[$meta])*
        #[cfg(target_arch = "x86_64")]
        #[unsafe(naked)]
        unsafe extern "C" fn $name<S: DomainSlot>($($arg: $ty),*) -> $ret {
            // The SysV ABI passes the first six integer arguments in RDI, RSI, RDX, RCX, R8,
            // R9: the hook's own take the first two or three, the caller's frame the next
            // three. At the first instruction [RSP] is the return address and RBP still the
            // caller's; the jump leaves the stack as the call made it, so the body returns to
            // CPython with its result in RAX, and no argument passes through memory.
            std::arch::naked_asm!(
                concat!("mov ", $ra, ", [rsp]"),
                concat!("lea ", $sp, ", [rsp + 8]"),
                concat!("mov ", $bp, ", rbp"),
                "jmp {body}",
                body = sym $body::<S>,
            )
        }

        $(#[$meta])*
        #[cfg(not(target_arch = "x86_64"))]
        unsafe extern "C" fn $name<S: DomainSlot>($($arg: $ty),*) -> $ret {
            // SAFETY: the hook's own arguments, forwarded; no caller.
            unsafe { $body::<S>($($arg,)* 0, 0, 0) }
        }
    };
}

entry_trampoline!(
    /// `PyMemAllocatorEx.malloc`: [`malloc_from`] with the caller's frame.
    hook_malloc(ctx: *mut c_void, size: usize) -> *mut c_void => malloc_from, ["rdx", "rcx", "r8"]
);
entry_trampoline!(
    /// `PyMemAllocatorEx.calloc`: [`calloc_from`] with the caller's frame.
    hook_calloc(ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void => calloc_from, ["rcx", "r8", "r9"]
);
entry_trampoline!(
    /// `PyMemAllocatorEx.realloc`: [`realloc_from`] with the caller's frame.
    hook_realloc(ctx: *mut c_void, ptr: *mut c_void, new_size: usize) -> *mut c_void => realloc_from, ["rcx", "r8", "r9"]
);

/// An attributed allocation of `d` returned `ptr`: if `d` is the `obj` domain, the object
/// CPython makes in it next is a new one, not one taken off a free list (see `crate::reftrace`).
#[inline(always)]
fn note_object_block(d: &Domain, tally: &Tally, ptr: *mut c_void) {
    if d.sizes.api_id() == crate::reftrace::OBJECT_DOMAIN {
        tally.set_last_object_block(ptr as usize);
    }
}

/// The size of the block `ptr` that a realloc is about to resize: 0 for null (a realloc from
/// NULL allocates), and 0 where the domain's sizes are unknown.
///
/// # Safety
/// `ptr` is null or a live block of `d`.
#[inline(always)]
unsafe fn size_before_realloc(d: &Domain, ptr: *mut c_void) -> usize {
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: a live block of `d`, by the caller's contract.
    unsafe { d.sizes.size_of_live(ptr) }.unwrap_or(0)
}

unsafe extern "C" fn realloc_from<S: DomainSlot>(
    _ctx: *mut c_void,
    ptr: *mut c_void,
    new_size: usize,
    return_address: usize,
    sp: usize,
    bp: usize,
) -> *mut c_void {
    let d = S::domain();
    let inner = d.inner();
    let guard = match ReentryGuard::acquire(d) {
        Entry::Outer(guard) => guard,
        Entry::Nested(tally) => {
            // SAFETY: `ptr` is null or a live block of this domain (CPython's realloc contract).
            let old_size = unsafe { size_before_realloc(d, ptr) };
            // SAFETY: forwarding the caller's arguments to the allocator we wrap.
            let new_ptr = unsafe { (inner.realloc)(inner.ctx, ptr, new_size) };
            if !new_ptr.is_null() {
                let bytes = new_size as i64 - old_size as i64;
                // SAFETY: `new_ptr` was just returned for `new_size` bytes.
                unsafe { record_nested(d, tally, new_ptr, new_size, i64::from(ptr.is_null()), bytes) };
            }
            return new_ptr;
        }
        // SAFETY: as above.
        Entry::Untallied => return unsafe { (inner.realloc)(inner.ctx, ptr, new_size) },
    };
    // Read the old size before the block may be freed.
    // SAFETY: `ptr` is null or a live block of this domain (CPython's realloc contract).
    let old_size = unsafe { size_before_realloc(d, ptr) };
    // The old block leaves its site before realloc frees it (another thread may get its
    // address at once); it goes back if realloc fails.
    let attributed = attribution::active();
    let taken = if attributed && !ptr.is_null() { attribution::take(ptr as usize) } else { None };
    // SAFETY: forwarding the caller's arguments to the allocator we wrap.
    let new_ptr = unsafe { (inner.realloc)(inner.ctx, ptr, new_size) };
    if new_ptr.is_null() {
        // Failure leaves the old block untouched (CPython never passes 0 here to free).
        if let Some(taken) = taken {
            attribution::restore(ptr as usize, taken);
        }
        return new_ptr;
    }
    if attributed {
        if ptr.is_null() {
            attribution::on_alloc(
                d.sizes.api_id(),
                new_ptr as usize,
                new_size as u64,
                Caller::new(return_address, sp, bp),
            );
        } else {
            attribution::reallocated(
                d.sizes.api_id(),
                taken,
                old_size as u64,
                new_ptr as usize,
                new_size as u64,
                Caller::new(return_address, sp, bp),
            );
        }
    }
    if ptr.is_null() {
        // SAFETY: `new_ptr` was just returned for `new_size` bytes.
        unsafe { d.sizes.observe_alloc(new_ptr, new_size) };
        guard.0.add(d.index(), 1, new_size as i64);
    } else {
        guard.0.add(d.index(), 0, new_size as i64 - old_size as i64);
    }
    guard.leave(new_ptr);
    new_ptr
}

unsafe extern "C" fn hook_free<S: DomainSlot>(_ctx: *mut c_void, ptr: *mut c_void) {
    let d = S::domain();
    let inner = d.inner();
    let guard = match ReentryGuard::acquire(d) {
        Entry::Outer(guard) => guard,
        // The outer free's own block passed through (see the module documentation).
        // SAFETY: forwarding the caller's arguments to the allocator we wrap.
        Entry::Nested(_) | Entry::Untallied => return unsafe { (inner.free)(inner.ctx, ptr) },
    };
    if !ptr.is_null() {
        // Before the free: afterwards the header may belong to someone else. A block allocated
        // before the hooks were installed is counted here too: a constant offset between
        // measurements, not a delta.
        // SAFETY: `ptr` is a live block of this domain (CPython's free contract).
        let size = unsafe { d.sizes.size_of_live(ptr) }.unwrap_or(0);
        guard.0.add(d.index(), -1, -(size as i64));
        if attribution::active() {
            attribution::free(d.sizes.api_id(), ptr as usize, size as u64);
        }
    }
    // SAFETY: forwarding the caller's arguments to the allocator we wrap.
    unsafe { (inner.free)(inner.ctx, ptr) };
    drop(guard);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{debug_allocator, debug_malloc, plain_allocator};

    fn hooked<S: DomainSlot>(inner: PyMemAllocatorEx) -> (&'static Domain, PyMemAllocatorEx) {
        (S::domain(), Domain::wrap::<S>(inner).expect("a fresh slot"))
    }

    #[test]
    fn counts_blocks_and_bytes_through_the_debug_header() {
        crate::domain_slot!(Slot, b'm');
        let (d, a) = hooked::<Slot>(debug_allocator(b'm'));
        // SAFETY: calling the hooks as CPython would.
        unsafe {
            let p = (a.malloc)(a.ctx, 48);
            let q = (a.calloc)(a.ctx, 3, 8);
            assert_eq!(d.live(), (2, 72));
            let p = (a.realloc)(a.ctx, p, 100);
            assert_eq!(d.live(), (2, 124));
            (a.free)(a.ctx, q);
            assert_eq!(d.live(), (1, 100));
            (a.free)(a.ctx, p);
            (a.free)(a.ctx, std::ptr::null_mut());
        }
        assert_eq!(d.live(), (0, 0));
        assert!(d.sizes.bytes_known());
    }

    #[test]
    fn without_the_debug_header_bytes_are_marked_unknown() {
        crate::domain_slot!(Slot, b'r');
        let (d, a) = hooked::<Slot>(debug_allocator(b'o'));
        // SAFETY: calling the hooks as CPython would.
        unsafe {
            let p = (a.malloc)(a.ctx, 16);
            (a.free)(a.ctx, p);
        }
        assert!(!d.sizes.bytes_known(), "an API id of another domain is not our header");
        assert_eq!(d.live().0, 0);

        crate::domain_slot!(Plain, b'r');
        let (d, a) = hooked::<Plain>(plain_allocator());
        // SAFETY: calling the hooks as CPython would.
        unsafe {
            let p = (a.malloc)(a.ctx, 4096);
            (a.free)(a.ctx, p);
        }
        assert!(!d.sizes.bytes_known());
        assert_eq!(d.live().0, 0);
    }

    #[test]
    fn a_free_of_a_block_allocated_before_the_hooks_is_tolerated() {
        let inner = debug_allocator(b'r');
        crate::domain_slot!(Slot, b'r');
        let (d, a) = hooked::<Slot>(inner);
        // SAFETY: calling the allocators as CPython would.
        unsafe {
            let unseen = (inner.malloc)(inner.ctx, 10);
            let seen = (a.malloc)(a.ctx, 10);
            (a.free)(a.ctx, unseen);
            (a.free)(a.ctx, seen);
        }
        assert_eq!(d.live(), (-1, -10), "an unseen free shows as a constant offset");
    }

    #[test]
    fn a_probe_learns_whether_an_allocator_reaches_the_hook_and_counts_nothing() {
        crate::domain_slot!(Mem, b'm');
        let (mem, hook) = hooked::<Mem>(debug_allocator(b'm'));
        let tally = tally::current().unwrap();
        // Through the hook (as a tracemalloc started after ours would call it): reached.
        assert!(tally.begin_probe(b'm'));
        // SAFETY: calling the hook as CPython would; the block is freed at once.
        unsafe {
            let p = (hook.malloc)(hook.ctx, 1);
            (hook.free)(hook.ctx, p);
        }
        assert!(tally.end_probe());
        assert_eq!(mem.live(), (0, 0), "the probe's block is not counted");
        // Around it (the allocator CPython would have put back): not reached.
        let plain = debug_allocator(b'm');
        assert!(tally.begin_probe(b'm'));
        // SAFETY: as above.
        unsafe {
            let p = (plain.malloc)(plain.ctx, 1);
            (plain.free)(plain.ctx, p);
        }
        assert!(!tally.end_probe());
        // A probe of another domain is not answered by this one's hook.
        assert!(tally.begin_probe(b'o'));
        // SAFETY: as above.
        unsafe {
            let p = (hook.malloc)(hook.ctx, 1);
            (hook.free)(hook.ctx, p);
        }
        assert!(!tally.end_probe());
        // After a probe, the hook counts again.
        // SAFETY: as above.
        let p = unsafe { (hook.malloc)(hook.ctx, 8) };
        assert_eq!(mem.live(), (1, 8));
        // SAFETY: as above.
        unsafe { (hook.free)(hook.ctx, p) };
    }

    /// An imitation of pymalloc over the RAW hook: requests over 512 bytes pass through to
    /// `PyMem_RawMalloc`, under a debug header of its own domain (as `_PyMem_DebugRawAlloc` of
    /// OBJ does above pymalloc, so the block returned is the RAW block plus that header); small
    /// ones come from its "arenas" (libc here), and the first two make its bookkeeping through
    /// RAW from inside the request, as `new_arena` and `arena_map_get` do: an arena map node
    /// (`PyMem_RawCalloc`) and the arena list, made and grown by `PyMem_RawRealloc`.
    mod fake_pymalloc {
        use super::*;

        const SST: usize = std::mem::size_of::<usize>();
        /// The RAW hook, a leaked `PyMemAllocatorEx`; set once per test process (one test uses it).
        pub static RAW_HOOK: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        /// The bookkeeping blocks: the arena map node and the arena list.
        pub static NODE: AtomicUsize = AtomicUsize::new(0);
        pub static ARENAS: AtomicUsize = AtomicUsize::new(0);
        static SMALL_REQUESTS: AtomicUsize = AtomicUsize::new(0);

        fn raw() -> &'static PyMemAllocatorEx {
            // SAFETY: RAW_HOOK holds a leaked `PyMemAllocatorEx`.
            unsafe { &*(*RAW_HOOK.get().expect("the RAW hook is set") as *const PyMemAllocatorEx) }
        }

        pub fn allocator() -> PyMemAllocatorEx {
            PyMemAllocatorEx { malloc, free, ..crate::fake::debug_allocator(b'o') }
        }

        unsafe extern "C" fn malloc(ctx: *mut c_void, size: usize) -> *mut c_void {
            let raw = raw();
            if size > 512 {
                // SAFETY: a RAW block with room for the debug header in front.
                unsafe {
                    let base = (raw.malloc)(raw.ctx, 2 * SST + size).cast::<u8>();
                    std::ptr::copy_nonoverlapping(size.to_be_bytes().as_ptr(), base, SST);
                    *base.add(SST) = b'o';
                    std::ptr::write_bytes(base.add(SST + 1), 0xFD, SST - 1);
                    return base.add(2 * SST).cast();
                }
            }
            // SAFETY: bookkeeping through the RAW hook, as pymalloc makes it.
            unsafe {
                match SMALL_REQUESTS.fetch_add(1, Ordering::Relaxed) {
                    0 => {
                        NODE.store((raw.calloc)(raw.ctx, 1, 64) as usize, Ordering::Relaxed);
                        let arenas = (raw.realloc)(raw.ctx, std::ptr::null_mut(), 128);
                        ARENAS.store(arenas as usize, Ordering::Relaxed);
                    }
                    1 => {
                        let arenas = ARENAS.load(Ordering::Relaxed) as *mut c_void;
                        ARENAS.store((raw.realloc)(raw.ctx, arenas, 256) as usize, Ordering::Relaxed);
                    }
                    _ => {}
                }
                debug_malloc(ctx, size)
            }
        }

        unsafe extern "C" fn free(ctx: *mut c_void, p: *mut c_void) {
            // SAFETY: `p` came from `malloc`: a large one is the RAW block past its header.
            unsafe {
                let size = usize::from_be_bytes(std::ptr::read_unaligned(p.cast::<u8>().sub(2 * SST).cast()));
                if size > 512 {
                    let raw = raw();
                    (raw.free)(raw.ctx, p.cast::<u8>().sub(2 * SST).cast());
                } else {
                    (crate::fake::debug_allocator(b'o').free)(ctx, p);
                }
            }
        }
    }

    #[test]
    fn the_allocators_own_bookkeeping_counts_in_its_domain() {
        // pymalloc serving a small request may make its arena list and arena map nodes with
        // PyMem_RawRealloc / PyMem_RawCalloc from inside our OBJ hook; 3.12+ frees them with
        // PyMem_RawFree outside any hook when an isolated subinterpreter is deleted. RAW
        // balances only if both are counted.
        crate::domain_slot!(Raw, b'r');
        crate::domain_slot!(Obj, b'o');
        let (raw, raw_hook) = hooked::<Raw>(debug_allocator(b'r'));
        fake_pymalloc::RAW_HOOK.set(Box::leak(Box::new(raw_hook)) as *const _ as usize).unwrap();
        let (obj, obj_hook) = hooked::<Obj>(fake_pymalloc::allocator());
        // SAFETY: calling the hooks as CPython would.
        unsafe {
            let p = (obj_hook.malloc)(obj_hook.ctx, 32);
            assert_eq!(obj.live(), (1, 32));
            assert_eq!(raw.live(), (2, 64 + 128), "the node and the arena list, made inside the OBJ hook");
            let q = (obj_hook.malloc)(obj_hook.ctx, 32);
            assert_eq!(raw.live(), (2, 64 + 256), "the arena list grew");
            // A large request passes through RAW: the outer block, counted once, in OBJ.
            let big = (obj_hook.malloc)(obj_hook.ctx, 1000);
            assert_eq!(obj.live(), (3, 1064));
            assert_eq!(raw.live(), (2, 64 + 256));
            for block in [p, q, big] {
                (obj_hook.free)(obj_hook.ctx, block);
            }
            assert_eq!(obj.live(), (0, 0));
            assert_eq!(raw.live(), (2, 64 + 256), "pymalloc keeps its bookkeeping");
            // The interpreter's deletion frees the bookkeeping, outside any hook.
            for block in [&fake_pymalloc::NODE, &fake_pymalloc::ARENAS] {
                (raw_hook.free)(raw_hook.ctx, block.load(Ordering::Relaxed) as *mut c_void);
            }
        }
        assert_eq!(raw.live(), (0, 0));
        assert_eq!(obj.live(), (0, 0));
    }

    #[test]
    fn a_nested_call_is_counted_once() {
        crate::domain_slot!(Raw, b'r');
        // Its blocks come from the RAW debug allocator, so they carry RAW's API id.
        crate::domain_slot!(Obj, b'r');
        let (raw, raw_hook) = hooked::<Raw>(debug_allocator(b'r'));
        // An "OBJ allocator" that, like pymalloc for large requests, calls the RAW hook.
        static RAW_HOOK: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        unsafe extern "C" fn obj_malloc(_: *mut c_void, size: usize) -> *mut c_void {
            // SAFETY: RAW_HOOK holds a leaked `PyMemAllocatorEx`.
            let raw = unsafe { &*(*RAW_HOOK.get().unwrap() as *const PyMemAllocatorEx) };
            // SAFETY: calling the RAW hook as pymalloc does.
            unsafe { (raw.malloc)(raw.ctx, size) }
        }
        unsafe extern "C" fn obj_free(_: *mut c_void, p: *mut c_void) {
            // SAFETY: as above.
            let raw = unsafe { &*(*RAW_HOOK.get().unwrap() as *const PyMemAllocatorEx) };
            // SAFETY: as above.
            unsafe { (raw.free)(raw.ctx, p) }
        }
        RAW_HOOK.set(Box::leak(Box::new(raw_hook)) as *const _ as usize).unwrap();
        let (obj, obj_hook) =
            hooked::<Obj>(PyMemAllocatorEx { malloc: obj_malloc, free: obj_free, ..debug_allocator(b'r') });
        // SAFETY: calling the hooks as CPython would.
        let p = unsafe { (obj_hook.malloc)(obj_hook.ctx, 1000) };
        assert_eq!(obj.live(), (1, 1000));
        assert_eq!(raw.live(), (0, 0), "the inner RAW call is not counted again");
        // SAFETY: as above.
        unsafe { (obj_hook.free)(obj_hook.ctx, p) };
        assert_eq!(obj.live(), (0, 0));
        assert_eq!(raw.live(), (0, 0));
    }
}
