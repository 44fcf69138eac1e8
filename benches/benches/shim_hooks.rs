//! The cost of one hooked allocation + free in the shim against the same allocator unhooked.
//!
//! The inner allocator is either libc's malloc or an imitation of CPython's debug allocator (the
//! one below the hooks in every `--with-pydebug` build, where `-R` runs): it writes the 16-byte
//! header the shim reads sizes from. Results and their reading: benches/README.md.

use std::ffi::c_void;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use leakcheck_shim::fake::{debug_allocator, plain_allocator};
use leakcheck_shim::hooks::{Domain, DomainSlot};
use leakcheck_shim::pyapi::PyMemAllocatorEx;

leakcheck_shim::domain_slot!(LibcSlot, b'r');
leakcheck_shim::domain_slot!(DebugSlot, b'r');

/// Wrap `inner` exactly as the shim wraps CPython's allocators.
fn hook<S: DomainSlot>(inner: PyMemAllocatorEx) -> (PyMemAllocatorEx, &'static Domain) {
    (Domain::wrap::<S>(inner).expect("each slot is wrapped once"), S::domain())
}

fn alloc_free(c: &mut Criterion) {
    let mut group = c.benchmark_group("alloc_free_48B");
    let libc = plain_allocator();
    let debug = debug_allocator(b'r');
    for (name, inner, (hooked, domain)) in
        [("libc", libc, hook::<LibcSlot>(libc)), ("debug_header", debug, hook::<DebugSlot>(debug))]
    {
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
    let (hooked, _) = hook::<ContendedSlot>(debug_allocator(b'r'));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let other = {
        let stop = stop.clone();
        // The ctx (an API id) crosses over as an address.
        let (malloc, free, ctx) = (hooked.malloc, hooked.free, hooked.ctx as usize);
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: a matching allocate/free pair through the hooks.
                unsafe {
                    let p = malloc(ctx as *mut c_void, 48);
                    free(ctx as *mut c_void, p);
                }
            }
        })
    };
    c.bench_function("alloc_free_48B/debug_header/hooked_while_another_thread_allocates", |b| {
        b.iter(|| {
            // SAFETY: a matching allocate/free pair through the hooks.
            unsafe {
                let p = (hooked.malloc)(hooked.ctx, black_box(48));
                (hooked.free)(hooked.ctx, black_box(p));
            }
        })
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = other.join();
}

criterion_group!(benches, alloc_free, alloc_free_contended);
criterion_main!(benches);
