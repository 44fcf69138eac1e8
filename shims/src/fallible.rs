//! Allocation that can fail without ending the process.
//!
//! The shim runs inside the program it measures, often at the very moment that program is
//! short of memory. Rust's infallible allocation (`Vec::push`, `HashMap::insert`, `Box::new`,
//! `format!`) answers a failed `malloc` with `handle_alloc_error`, which prints "memory
//! allocation of N bytes failed" on fd 2 and aborts: the program would die of the shim's
//! bookkeeping, with a message that is not its own. So everything the shim allocates from an
//! allocator hook or at one of regrtest's measurements goes through these helpers (or is bounded
//! and allocated beforehand), and a failure is an [`OutOfMemory`] the caller degrades on.

use std::alloc::Layout;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

/// The shim's own bookkeeping could not get memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfMemory;

impl From<std::collections::TryReserveError> for OutOfMemory {
    fn from(_: std::collections::TryReserveError) -> Self {
        OutOfMemory
    }
}

/// `Box::new(value)`, or `Err` when the memory cannot be had (`value` is then dropped).
pub fn try_box<T>(value: T) -> Result<Box<T>, OutOfMemory> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        return Ok(Box::new(value));
    }
    // SAFETY: a non-zero-sized layout.
    let ptr = unsafe { std::alloc::alloc(layout) }.cast::<T>();
    if ptr.is_null() {
        return Err(OutOfMemory);
    }
    // SAFETY: `ptr` is a fresh allocation of `T`'s layout from the global allocator, which is
    // what `Box` frees with; it is initialised before the box owns it.
    unsafe {
        ptr.write(value);
        Ok(Box::from_raw(ptr))
    }
}

/// A copy of `items` in memory of its own.
pub fn try_vec_from<T: Clone>(items: &[T]) -> Result<Vec<T>, OutOfMemory> {
    let mut vec = Vec::new();
    vec.try_reserve_exact(items.len())?;
    vec.extend_from_slice(items);
    Ok(vec)
}

/// `len` copies of `value`.
pub fn try_vec_filled<T: Clone>(value: T, len: usize) -> Result<Vec<T>, OutOfMemory> {
    let mut vec = Vec::new();
    vec.try_reserve_exact(len)?;
    vec.resize(len, value);
    Ok(vec)
}

/// `vec.push(value)`, growing fallibly.
pub fn try_push<T>(vec: &mut Vec<T>, value: T) -> Result<(), OutOfMemory> {
    vec.try_reserve(1)?;
    vec.push(value);
    Ok(())
}

/// `map.insert(key, value)`, growing fallibly.
pub fn try_insert<K: Eq + Hash, V, S: BuildHasher>(
    map: &mut HashMap<K, V, S>,
    key: K,
    value: V,
) -> Result<Option<V>, OutOfMemory> {
    map.try_reserve(1)?;
    Ok(map.insert(key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_no_allocator_can_serve_fails_instead_of_aborting() {
        // More than the address space: the allocator must refuse, and the caller learns it.
        let mut vec: Vec<u64> = Vec::new();
        assert_eq!(vec.try_reserve_exact(usize::MAX / 16).map_err(OutOfMemory::from), Err(OutOfMemory));
        assert_eq!(try_vec_filled(0u8, isize::MAX as usize).map(|v| v.len()), Err(OutOfMemory));
        let mut map: HashMap<u64, u64> = HashMap::new();
        assert_eq!(map.try_reserve(usize::MAX / 2).map_err(OutOfMemory::from), Err(OutOfMemory));
        // And what can be had is had.
        assert_eq!(*try_box(7u32).unwrap(), 7);
        assert_eq!(try_vec_from(&[1, 2, 3]).unwrap(), [1, 2, 3]);
        try_push(&mut vec, 4).unwrap();
        assert_eq!(try_insert(&mut map, 1, 2).unwrap(), None);
        assert_eq!(try_insert(&mut map, 1, 3).unwrap(), Some(2));
    }
}
