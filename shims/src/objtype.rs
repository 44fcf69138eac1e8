//! The Python type of a leaked object, read from a live block of the `obj` domain.
//!
//! A block CPython got from `PyObject_Malloc` is usually an object, but not always (dict key
//! tables, for one), and an object starts after its pre-header: `PyGC_Head` for a GC type, and
//! from 3.11 on two more words for a type with a managed dict (3.12+: or managed weakrefs). So
//! each candidate start (0, 16, 32 bytes in) is checked: its `ob_type` must point to a type
//! object (whose own type is `type` or a `type` subclass), and that type's flags must put the
//! object at exactly that offset, with `tp_basicsize` inside the block. Only then is `tp_name`
//! read.
//!
//! Every read goes through `process_vm_readv` on this process: a block that is no object gives
//! pointers to nowhere, and those give `None` here, never a fault. The offsets are those of
//! every 64-bit CPython 3.8 to 3.14 without `Py_TRACE_REFS` (`ob_type` at 8, `tp_name` at 24,
//! `tp_basicsize` at 32, `tp_flags` at 168); a build with other layouts gives `None`.
//!
//! A `str` that is interned and immortal (3.12+: the compiler's identifiers) is named
//! [`IMMORTAL_INTERNED_STR`]: CPython frees those at shutdown, and regrtest discounts them.

use std::sync::OnceLock;

const OB_TYPE: usize = 8;
const TP_NAME: usize = 24;
const TP_BASICSIZE: usize = 32;
const TP_FLAGS: usize = 168;
const PY_TPFLAGS_HAVE_GC: u64 = 1 << 14;
/// `Py_TPFLAGS_MANAGED_WEAKREF | Py_TPFLAGS_MANAGED_DICT` (3.12's `Py_TPFLAGS_PREHEADER`;
/// 3.11 has the dict bit only, and no flag at bit 3).
const PY_TPFLAGS_PREHEADER: u64 = (1 << 3) | (1 << 4);
const PY_TPFLAGS_TYPE_SUBCLASS: u64 = 1 << 31;
/// `Py_TPFLAGS_READY`: `PyType_Ready` ran, as for every type an object can have.
const PY_TPFLAGS_READY: u64 = 1 << 12;
/// `sizeof(PyGC_Head)`, and the two words of the managed-dict pre-header.
const PRE_HEADER_PART: usize = 16;
/// Longest type name read.
const MAX_NAME: usize = 128;
/// `PyASCIIObject.state`, after `ob_refcnt`, `ob_type`, `length` and `hash`; its low two bits
/// are `interned`, where 2 and 3 mean immortal (3.12+, `SSTATE_INTERNED_IMMORTAL[_STATIC]`).
const STR_STATE: usize = 32;

/// The type name written for an interned immortal `str`.
pub const IMMORTAL_INTERNED_STR: &[u8] = b"str (interned, immortal)";

/// Whether the `str` at `object` is interned and immortal: 3.12+ marks an immortal object by
/// a refcount whose low 32 bits are negative as an `int32_t` (`_Py_IsImmortal`), and the
/// string's `state.interned` says how it is interned. 3.11 has no immortal refcounts.
fn immortal_interned_str(object: usize) -> bool {
    let immortal = word(object).is_some_and(|refcount| (refcount as u32 as i32) < 0);
    let mut state = [0u8; 4];
    immortal && read(object + STR_STATE, &mut state) && u32::from_ne_bytes(state) & 3 >= 2
}

/// The addresses of the type objects [`type_name`] compares with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeObjects {
    /// `&PyType_Type`.
    pub type_type: usize,
    /// `&PyUnicode_Type` (0 if not found).
    pub unicode_type: usize,
}

/// [`TypeObjects`], when this process has CPython. Resolve them before taking a lock that an
/// allocating thread may wait for: `dlsym` takes the dynamic loader's lock.
pub fn type_objects() -> Option<TypeObjects> {
    static ADDRESSES: OnceLock<Option<TypeObjects>> = OnceLock::new();
    *ADDRESSES.get_or_init(|| {
        Some(TypeObjects {
            type_type: crate::pyapi::lookup(c"PyType_Type")? as usize,
            unicode_type: crate::pyapi::lookup(c"PyUnicode_Type").map_or(0, |address| address as usize),
        })
    })
}

/// `sizeof(PyASCIIObject)` in 3.12+ (3.11's is 48): the smallest compact string.
const ASCII_OBJECT_SIZE: usize = 40;

/// `out.len()` bytes of this process's memory at `address`, or `None` where nothing readable
/// is mapped.
pub(crate) fn read(address: usize, out: &mut [u8]) -> bool {
    if address == 0 || out.is_empty() {
        return false;
    }
    let local = libc::iovec { iov_base: out.as_mut_ptr().cast(), iov_len: out.len() };
    let remote = libc::iovec { iov_base: address as *mut libc::c_void, iov_len: out.len() };
    // SAFETY: `local` describes `out`, which we own and may write; the kernel checks `remote`
    // and fails with EFAULT instead of faulting when it is not mapped.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    n == out.len() as isize
}

fn word(address: usize) -> Option<u64> {
    let mut bytes = [0u8; 8];
    read(address, &mut bytes).then(|| u64::from_ne_bytes(bytes))
}

/// A type's name, kept inline: it is read at a measurement, where the shim allocates nothing
/// it cannot do without (see [`crate::fallible`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeName {
    bytes: [u8; MAX_NAME],
    len: usize,
}

impl TypeName {
    /// The first [`MAX_NAME`] bytes of `name`.
    fn new(name: &[u8]) -> Self {
        let len = name.len().min(MAX_NAME);
        let mut bytes = [0; MAX_NAME];
        bytes[..len].copy_from_slice(&name[..len]);
        Self { bytes, len }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The type name of the object in the live `obj` block at `block` of `size` bytes (the pointer
/// `PyObject_Malloc` returned), or `None` when the block holds no object this can vouch for.
/// `types` are from [`type_objects`].
pub fn type_name(block: usize, size: usize, types: TypeObjects) -> Option<TypeName> {
    let TypeObjects { type_type, unicode_type } = types;
    (0..=2).map(|parts| parts * PRE_HEADER_PART).find_map(|offset| {
        let object = block.checked_add(offset)?;
        if offset + 2 * 8 > size {
            return None;
        }
        let refcount = word(object)?;
        let ty = usize::try_from(word(object + OB_TYPE)?).ok()?;
        if refcount == 0 || ty % 8 != 0 {
            return None;
        }
        if !is_type_object(ty, type_type) {
            return None;
        }
        let flags = word(ty + TP_FLAGS)?;
        let expected = if flags & PY_TPFLAGS_HAVE_GC != 0 { PRE_HEADER_PART } else { 0 }
            + if flags & PY_TPFLAGS_PREHEADER != 0 { PRE_HEADER_PART } else { 0 };
        let basic_size = usize::try_from(word(ty + TP_BASICSIZE)?).ok()?;
        // A compact `str` is smaller than `str`'s `tp_basicsize` (the legacy `PyUnicodeObject`).
        let fits = if ty == unicode_type { size - offset >= ASCII_OBJECT_SIZE } else { basic_size <= size - offset };
        if expected != offset || basic_size == 0 || !fits {
            return None;
        }
        let name = usize::try_from(word(ty + TP_NAME)?).ok()?;
        let mut bytes = [0u8; MAX_NAME];
        // A name near the end of a mapping: read less.
        let length = (1..=MAX_NAME).rev().step_by(16).find(|&n| read(name, &mut bytes[..n]))?;
        let text = &bytes[..length];
        let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        let text = &text[..end];
        // A class statement's name is an identifier; `tp_name` adds the module (`re.Pattern`).
        let plausible = text.first().is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_' || b >= 0x80)
            && std::str::from_utf8(text).is_ok()
            && !text.iter().any(|&b| b.is_ascii_control() || b == b' ');
        if plausible && text == b"str" && offset == 0 && immortal_interned_str(object) {
            return Some(TypeName::new(IMMORTAL_INTERNED_STR));
        }
        plausible.then(|| TypeName::new(text))
    })
}

/// Whether `ty` is a ready type object: its type is `type` or a metaclass (a ready subclass of
/// `type` whose own type is `type` or again a subclass of it). A pre-header read as an object
/// (`PyGC_Head`'s two links) gives a pointer to some other object as its "type"; the flags
/// checked here are what keeps its garbage from passing.
fn is_type_object(ty: usize, type_type: usize) -> bool {
    let ready_type_subclass =
        |t: usize| word(t + TP_FLAGS).is_some_and(|f| f & PY_TPFLAGS_TYPE_SUBCLASS != 0 && f & PY_TPFLAGS_READY != 0);
    let Some(metatype) = ty.checked_add(OB_TYPE).and_then(word).and_then(|m| usize::try_from(m).ok()) else {
        return false;
    };
    let ready = word(ty + TP_FLAGS).is_some_and(|f| f & PY_TPFLAGS_READY != 0);
    let meta_ok = metatype == type_type || {
        let meta_meta = word(metatype + OB_TYPE).and_then(|m| usize::try_from(m).ok());
        ready_type_subclass(metatype) && meta_meta.is_some_and(|mm| mm == type_type || ready_type_subclass(mm))
    };
    ready && meta_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmapped_and_null_memory_reads_fail_without_faulting() {
        let mut out = [0u8; 8];
        assert!(!read(0, &mut out));
        assert!(!read(8, &mut out), "the zero page is never mapped");
        let value = 0x1234_5678_u64;
        assert_eq!(word(&value as *const u64 as usize), Some(0x1234_5678));
    }

    #[test]
    fn a_block_that_is_no_object_has_no_type() {
        // Garbage that points nowhere (and no CPython in the test binary).
        let block = [0xdead_beef_u64; 8];
        let types = |type_type| TypeObjects { type_type, unicode_type: 0 };
        assert_eq!(type_name(block.as_ptr() as usize, 64, types(0x1000)), None);
        // A block that looks like an object whose type is `type_type` itself, but whose flags
        // put it at another offset than where it was found (GC type found at offset 0).
        let mut fake_type = [0u64; 32];
        let type_address = fake_type.as_ptr() as usize;
        fake_type[1] = type_address as u64; // its own type: "type"
        fake_type[4] = 16; // tp_basicsize
        fake_type[21] = PY_TPFLAGS_HAVE_GC | PY_TPFLAGS_READY; // tp_flags, at 168
        let object = [1u64, type_address as u64];
        // The reads go through the kernel: keep the writes from being optimised away.
        std::hint::black_box((&fake_type, &object));
        assert_eq!(type_name(object.as_ptr() as usize, 16, types(type_address)), None);
        // The same type without the GC flag: the object is where it should be.
        fake_type[21] = PY_TPFLAGS_READY;
        fake_type[3] = c"Fake".as_ptr() as u64; // tp_name, at 24
        std::hint::black_box(&fake_type);
        assert_eq!(type_name(object.as_ptr() as usize, 16, types(type_address)), Some(TypeName::new(b"Fake")));
        // A type that was never made ready is no type an object has.
        fake_type[21] = 0;
        std::hint::black_box(&fake_type);
        assert_eq!(type_name(object.as_ptr() as usize, 16, types(type_address)), None);
        // Nor is one whose name is no identifier (garbage that points at bytes).
        fake_type[21] = PY_TPFLAGS_READY;
        fake_type[3] = c"&".as_ptr() as u64;
        std::hint::black_box(&fake_type);
        assert_eq!(type_name(object.as_ptr() as usize, 16, types(type_address)), None);
        // An object whose "type" is some other object: its metatype is no ready type subclass.
        let mut not_a_metatype = [0u64; 32];
        not_a_metatype[21] = PY_TPFLAGS_READY; // a ready type, but not a subclass of type
        fake_type[1] = not_a_metatype.as_ptr() as u64;
        fake_type[3] = c"Fake".as_ptr() as u64;
        std::hint::black_box((&fake_type, &not_a_metatype));
        assert_eq!(type_name(object.as_ptr() as usize, 16, types(type_address + 8)), None);
    }
}
