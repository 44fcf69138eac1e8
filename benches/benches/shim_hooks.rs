//! The cost of one hooked allocation + free in the shim against the same allocator unhooked.
//!
//! The inner allocator is either libc's malloc or an imitation of CPython's debug allocator (the
//! one below the hooks in every `--with-pydebug` build, where `-R` runs): it writes the 16-byte
//! header the shim reads sizes from. Results and their reading: benches/README.md.

use std::ffi::c_void;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use leakcheck_shim::hooks::{Domain, DomainSlot};
use leakcheck_shim::pyapi::PyMemAllocatorEx;

leakcheck_shim::domain_slot!(LibcSlot, b'r');
leakcheck_shim::domain_slot!(DebugSlot, b'r');

/// Wrap `inner` exactly as the shim wraps CPython's allocators.
fn hook<S: DomainSlot>(inner: PyMemAllocatorEx) -> (PyMemAllocatorEx, &'static Domain) {
    (
        Domain::wrap::<S>(inner).expect("each slot is wrapped once"),
        S::domain(),
    )
}

const SST: usize = std::mem::size_of::<usize>();

unsafe extern "C" fn plain_malloc(_: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: libc malloc.
    unsafe { libc::malloc(size.max(1)) }
}
unsafe extern "C" fn plain_calloc(_: *mut c_void, n: usize, e: usize) -> *mut c_void {
    // SAFETY: libc calloc.
    unsafe { libc::calloc(n.max(1), e.max(1)) }
}
unsafe extern "C" fn plain_realloc(_: *mut c_void, p: *mut c_void, n: usize) -> *mut c_void {
    // SAFETY: libc realloc.
    unsafe { libc::realloc(p, n.max(1)) }
}
unsafe extern "C" fn plain_free(_: *mut c_void, p: *mut c_void) {
    // SAFETY: libc free.
    unsafe { libc::free(p) }
}

/// `_PyMem_DebugRawAlloc`'s layout: size (big-endian), API id 'r', 7 x 0xFD, then the block.
unsafe extern "C" fn debug_malloc(_: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: header plus payload from libc.
    unsafe {
        let base = libc::malloc(2 * SST + size.max(1)).cast::<u8>();
        std::ptr::copy_nonoverlapping(size.to_be_bytes().as_ptr(), base, SST);
        *base.add(SST) = b'r';
        std::ptr::write_bytes(base.add(SST + 1), 0xFD, SST - 1);
        base.add(2 * SST).cast()
    }
}
unsafe extern "C" fn debug_free(_: *mut c_void, p: *mut c_void) {
    if !p.is_null() {
        // SAFETY: `p` came from debug_malloc.
        unsafe { libc::free(p.cast::<u8>().sub(2 * SST).cast()) }
    }
}

fn allocator(
    malloc: leakcheck_shim::pyapi::MallocFn,
    free: leakcheck_shim::pyapi::FreeFn,
) -> PyMemAllocatorEx {
    PyMemAllocatorEx {
        ctx: std::ptr::null_mut(),
        malloc,
        calloc: plain_calloc,
        realloc: plain_realloc,
        free,
    }
}

fn alloc_free(c: &mut Criterion) {
    let mut group = c.benchmark_group("alloc_free_48B");
    let libc = allocator(plain_malloc, plain_free);
    let debug = allocator(debug_malloc, debug_free);
    for (name, inner, (hooked, domain)) in [
        ("libc", libc, hook::<LibcSlot>(libc)),
        ("debug_header", debug, hook::<DebugSlot>(debug)),
    ] {
        group.bench_function(format!("{name}/unhooked"), |b| {
            b.iter(|| {
                // SAFETY: a matching allocate/free pair on the same allocator.
                unsafe {
                    let p = (inner.malloc)(inner.ctx, black_box(48));
                    (inner.free)(inner.ctx, black_box(p));
                }
            })
        });
        group.bench_function(format!("{name}/hooked"), |b| {
            b.iter(|| {
                // SAFETY: as above, through the shim's hooks.
                unsafe {
                    let p = (hooked.malloc)(hooked.ctx, black_box(48));
                    (hooked.free)(hooked.ctx, black_box(p));
                }
            })
        });
        assert_eq!(domain.live().0, 0, "every hooked allocation was freed");
    }
    group.finish();
}

/// The same, while another thread allocates and frees through the same hooks without pause
/// (the RAW domain is called without the GIL; free-threaded builds call every domain so).
fn alloc_free_contended(c: &mut Criterion) {
    leakcheck_shim::domain_slot!(ContendedSlot, b'r');
    let (hooked, _) = hook::<ContendedSlot>(allocator(debug_malloc, debug_free));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let other = {
        let stop = stop.clone();
        // The debug allocator ignores its ctx (null here); only the functions cross over.
        let (malloc, free) = (hooked.malloc, hooked.free);
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: a matching allocate/free pair through the hooks.
                unsafe {
                    let p = malloc(std::ptr::null_mut(), 48);
                    free(std::ptr::null_mut(), p);
                }
            }
        })
    };
    c.bench_function(
        "alloc_free_48B/debug_header/hooked_while_another_thread_allocates",
        |b| {
            b.iter(|| {
                // SAFETY: a matching allocate/free pair through the hooks.
                unsafe {
                    let p = (hooked.malloc)(hooked.ctx, black_box(48));
                    (hooked.free)(hooked.ctx, black_box(p));
                }
            })
        },
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = other.join();
}

criterion_group!(benches, alloc_free, alloc_free_contended);
criterion_main!(benches);
