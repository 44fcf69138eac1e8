//! Imitations of the allocators the shim wraps, over libc, for the shim's tests and for
//! `benches/`: [`debug_allocator`] writes the header of CPython's debug allocator
//! (`_PyMem_DebugRawAlloc`: the requested size as a big-endian `size_t`, the API id byte, then
//! `0xFD` padding), [`plain_allocator`] is bare malloc. Not used by the shim itself.

use std::ffi::c_void;

use crate::pyapi::PyMemAllocatorEx;

const SST: usize = std::mem::size_of::<usize>();

/// The debug imitation; `ctx` carries the API id.
pub fn debug_allocator(api_id: u8) -> PyMemAllocatorEx {
    PyMemAllocatorEx {
        ctx: api_id as usize as *mut c_void,
        malloc: debug_malloc,
        calloc: debug_calloc,
        realloc: debug_realloc,
        free: debug_free,
    }
}

/// libc's malloc family behind the `PyMemAllocatorEx` signatures.
pub fn plain_allocator() -> PyMemAllocatorEx {
    PyMemAllocatorEx {
        ctx: std::ptr::null_mut(),
        malloc: plain_malloc,
        calloc: plain_calloc,
        realloc: plain_realloc,
        free: plain_free,
    }
}

/// # Safety
/// `ctx` is an API id as [`debug_allocator`] sets it.
pub unsafe extern "C" fn debug_malloc(ctx: *mut c_void, size: usize) -> *mut c_void {
    let id = ctx as usize as u8;
    // SAFETY: a fresh libc block with room for the header; aborts on exhaustion like CPython.
    unsafe {
        let base = libc::malloc(2 * SST + size.max(1)).cast::<u8>();
        if base.is_null() {
            std::process::abort();
        }
        std::ptr::copy_nonoverlapping(size.to_be_bytes().as_ptr(), base, SST);
        *base.add(SST) = id;
        std::ptr::write_bytes(base.add(SST + 1), 0xFD, SST - 1);
        base.add(2 * SST).cast()
    }
}

unsafe extern "C" fn debug_calloc(ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void {
    let size = nelem.saturating_mul(elsize);
    // SAFETY: as debug_malloc; the payload is zeroed as calloc promises.
    unsafe {
        let p = debug_malloc(ctx, size);
        std::ptr::write_bytes(p.cast::<u8>(), 0, size);
        p
    }
}

unsafe extern "C" fn debug_realloc(ctx: *mut c_void, p: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: `p` is null or came from debug_malloc; copies min(old, new) bytes.
    unsafe {
        let q = debug_malloc(ctx, size);
        if !p.is_null() {
            let old = usize::from_be_bytes(std::ptr::read_unaligned(p.cast::<u8>().sub(2 * SST).cast()));
            std::ptr::copy_nonoverlapping(p.cast::<u8>(), q.cast::<u8>(), old.min(size));
            debug_free(ctx, p);
        }
        q
    }
}

unsafe extern "C" fn debug_free(_ctx: *mut c_void, p: *mut c_void) {
    if !p.is_null() {
        // SAFETY: `p` came from debug_malloc.
        unsafe { libc::free(p.cast::<u8>().sub(2 * SST).cast()) }
    }
}

unsafe extern "C" fn plain_malloc(_: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: libc.
    unsafe { libc::malloc(size.max(1)) }
}

unsafe extern "C" fn plain_calloc(_: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void {
    // SAFETY: libc.
    unsafe { libc::calloc(nelem.max(1), elsize.max(1)) }
}

unsafe extern "C" fn plain_realloc(_: *mut c_void, p: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: libc.
    unsafe { libc::realloc(p, size.max(1)) }
}

unsafe extern "C" fn plain_free(_: *mut c_void, p: *mut c_void) {
    // SAFETY: libc.
    unsafe { libc::free(p) }
}
