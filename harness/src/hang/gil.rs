//! Who holds CPython's GIL in a stopped process, read from the interpreter's own state, so that
//! a thread waiting for the GIL (in `take_gil`) is a thread waiting for a lock with a known
//! owner: the GIL-against-mutex deadlock of an extension (a thread holding the GIL waits for a
//! mutex that a thread waiting for the GIL holds) is then a lock cycle like any other.
//!
//! **Where.** `_PyRuntime` (an exported symbol of the executable or of `libpython`), then:
//! - 3.11: `_PyRuntime.ceval.gil` (a `struct _gil_runtime_state`): `last_holder` (the
//!   `PyThreadState *` that took it last) and `locked`; the holder's `native_thread_id` (its
//!   TID). Offsets from 3.11's headers (`Include/internal/pycore_runtime.h`, `pycore_gil.h`,
//!   `Include/cpython/pystate.h`, with `Py_BUILD_CORE`), the same for Debian's `python3.11` and
//!   `python3.11-dbg` and a `--with-pydebug --with-address-sanitizer` build.
//! - 3.13, 3.14 and 3.15: `_Py_DebugOffsets`, the first member of `_PyRuntime` (checked by its
//!   `xdebugpy` cookie and version): the main interpreter (`_PyRuntime.interpreters.main`, the
//!   pointer after `interpreters.head` in `struct pyinterpreters`, 3.13 to 3.15, checked by its
//!   id, 0, and its place at the end of the list, its `next` NULL), its `ceval.gil` pointer, and
//!   in the GIL it points to, `locked` and `last_holder`, then the holder's `native_thread_id`.
//!   Not the head of the list: that is the newest interpreter, a subinterpreter when one exists.
//!   The struct grows with each version, so where these offsets sit in it is known per version
//!   ([`DebugOffsets`], from the DWARF of 3.13.5, and of Debian's `python3.14-dbg` 3.14.10 and
//!   `python3.15-dbg` 3.15.2).
//!
//! **Which waiters.** 3.11 has one GIL per runtime, shared by every interpreter: a thread in
//! `take_gil` waits for it. From 3.12 on, a subinterpreter made with `PyInterpreterConfig_OWN_GIL`
//! (test_interpreters, test__xxsubinterpreters) has a GIL of its own, and a thread in `take_gil`
//! may be waiting for that one: the GIL read here is only [`GilState::only`] when every
//! interpreter of the list uses it, and otherwise a waiter is its waiter only when the futex it
//! sleeps on lies inside it (its `cond` or `mutex`: [`GilState::contains`]).
//! - Other versions (3.12's layout is not published, 3.16's struct is not known yet): nothing.
//!
//! The version is `Py_Version` (3.11+). The process must be stopped (every thread), so that the
//! fields are read at one moment. Only reads; every read may fail (`None`).

#![forbid(unsafe_code)]

use std::path::Path;

use super::remote::ProcessMemory;
use super::stacks::MappedModule;
use crate::symbolize::Symbolizer;

/// The functions a thread waiting for the GIL sleeps under (3.11-3.15: `take_gil`, called by
/// `PyEval_RestoreThread`, `PyEval_AcquireThread`, `PyGILState_Ensure`...).
pub const GIL_WAIT_FUNCTIONS: &[&str] = &["take_gil"];

/// The GIL of a stopped process: where it is, and the TID of the thread holding it (`None`
/// when it is not held).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GilState {
    pub address: u64,
    pub holder: Option<i32>,
    /// Every interpreter of the process uses this GIL (3.11: always; 3.13+: no subinterpreter
    /// has one of its own), so a thread waiting for a GIL waits for this one.
    pub only: bool,
}

/// The size of `struct _gil_runtime_state` on x86-64 with `FORCE_SWITCHING` (3.11-3.15:
/// `interval`, `last_holder`, `locked`, `switch_number`, then `cond`, `mutex`, `switch_cond`,
/// `switch_mutex`), and 8 more for a free-threaded build's leading `enabled`.
const GIL_SIZE: u64 = 216;

impl GilState {
    /// Whether `address` (a futex a thread in `take_gil` sleeps on) lies inside this GIL: the
    /// wait is for it.
    pub fn contains(&self, address: u64) -> bool {
        address.checked_sub(self.address).is_some_and(|offset| offset < GIL_SIZE)
    }

    /// Whether a thread in `take_gil` (per its frames) whose futex wait was on `futex` (when it
    /// was stopped in one) waits for this GIL: it is the only one, or the futex is inside it.
    pub fn waited_on(&self, futex: Option<u64>) -> bool {
        self.only || futex.is_some_and(|address| self.contains(address))
    }
}

/// 3.11's offsets, in bytes (64-bit).
mod v3_11 {
    /// `_PyRuntimeState.ceval.gil`.
    pub const RUNTIME_GIL: u64 = 360;
    /// In `struct _gil_runtime_state`: `last_holder`, `locked`.
    pub const GIL_LAST_HOLDER: u64 = 8;
    pub const GIL_LOCKED: u64 = 16;
    /// `PyThreadState.native_thread_id`.
    pub const TSTATE_NATIVE_THREAD_ID: u64 = 160;
}

/// `_Py_DebugOffsets` starts with this cookie, then its `version` (`PY_VERSION_HEX`).
const COOKIE: &[u8; 8] = b"xdebugpy";
const DEBUG_OFFSETS_VERSION: u64 = 8;
/// `interpreters.main` follows `interpreters.head` (a pointer) in `struct pyinterpreters`
/// (3.13 to 3.15).
const MAIN_AFTER_HEAD: u64 = 8;

/// Where one version's `_Py_DebugOffsets` keeps the offsets read here: positions in bytes from
/// its start, every field a `uint64_t` (`ptype /o struct _Py_DebugOffsets`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DebugOffsets {
    runtime_interpreters_head: u64,
    interp_id: u64,
    interp_next: u64,
    interp_ceval_gil: u64,
    interp_gil_runtime_state: u64,
    interp_gil_locked: u64,
    interp_gil_holder: u64,
    tstate_native_thread_id: u64,
}

const DEBUG_OFFSETS_3_13: DebugOffsets = DebugOffsets {
    runtime_interpreters_head: 40,
    interp_id: 56,
    interp_next: 64,
    interp_ceval_gil: 112,
    interp_gil_runtime_state: 120,
    interp_gil_locked: 136,
    interp_gil_holder: 144,
    tstate_native_thread_id: 200,
};

/// 3.14 adds `threads_main` to the interpreter's section, and more to the thread state's.
const DEBUG_OFFSETS_3_14: DebugOffsets = DebugOffsets {
    runtime_interpreters_head: 40,
    interp_id: 56,
    interp_next: 64,
    interp_ceval_gil: 120,
    interp_gil_runtime_state: 128,
    interp_gil_locked: 144,
    interp_gil_holder: 152,
    tstate_native_thread_id: 224,
};

/// 3.15 adds frame fields (`base_frame`, `last_profiled_frame`...) before the thread state's
/// `thread_id`.
const DEBUG_OFFSETS_3_15: DebugOffsets = DebugOffsets { tstate_native_thread_id: 248, ..DEBUG_OFFSETS_3_14 };

/// The GIL of the process whose `modules` and `memory` these are, if its interpreter is one
/// whose layout is known.
pub fn read(memory: &dyn ProcessMemory, modules: &[MappedModule], symbolizer: &Symbolizer) -> Option<GilState> {
    let (runtime, version) = modules.iter().filter(|m| may_hold_runtime(&m.path)).find_map(|module| {
        let runtime = symbolizer.symbol_address(&module.path, "_PyRuntime")?;
        let version = symbolizer.symbol_address(&module.path, "Py_Version")?;
        Some((module.bias.wrapping_add(runtime), module.bias.wrapping_add(version)))
    })?;
    let version = memory.read_u32(version)?;
    match (version >> 24, (version >> 16) & 0xff) {
        (3, 11) => read_3_11(memory, runtime),
        (3, 13) => read_debug_offsets(memory, runtime, version, &DEBUG_OFFSETS_3_13),
        (3, 14) => read_debug_offsets(memory, runtime, version, &DEBUG_OFFSETS_3_14),
        (3, 15) => read_debug_offsets(memory, runtime, version, &DEBUG_OFFSETS_3_15),
        _ => None,
    }
}

fn read_3_11(memory: &dyn ProcessMemory, runtime: u64) -> Option<GilState> {
    use v3_11::*;
    let gil = runtime + RUNTIME_GIL;
    let locked = memory.read_u32(gil + GIL_LOCKED)? != 0;
    let holder = memory.read_u64(gil + GIL_LAST_HOLDER)?;
    let holder = holder_tid(memory, locked, holder, TSTATE_NATIVE_THREAD_ID);
    // One GIL per runtime: subinterpreters share it.
    Some(GilState { address: gil, holder, only: true })
}

/// The GIL through the `_Py_DebugOffsets` at `runtime`, whose fields are where `d` says.
fn read_debug_offsets(memory: &dyn ProcessMemory, runtime: u64, version: u32, d: &DebugOffsets) -> Option<GilState> {
    let mut cookie = [0u8; 8];
    if !memory.read(runtime, &mut cookie) || &cookie != COOKIE {
        return None;
    }
    // The offsets are published for the version they were built with.
    if memory.read_u64(runtime + DEBUG_OFFSETS_VERSION)? != u64::from(version) {
        return None;
    }
    let offset = |field: u64| memory.read_u64(runtime + field);
    let head_field = runtime + offset(d.runtime_interpreters_head)?;
    let main = memory.read_u64(head_field + MAIN_AFTER_HEAD)?;
    if main == 0 {
        return None;
    }
    // The main interpreter: id 0, the oldest, at the end of the list.
    if memory.read_u64(main + offset(d.interp_id)?)? != 0 || memory.read_u64(main + offset(d.interp_next)?)? != 0 {
        return None;
    }
    // The GIL the interpreter uses; `locked` and `last_holder` are published relative to the
    // interpreter's own `_gil`.
    let gil_of = |interp: u64| memory.read_u64(interp + offset(d.interp_ceval_gil)?);
    let gil = gil_of(main)?;
    let own = offset(d.interp_gil_runtime_state)?;
    let in_gil = |field: u64| Some(gil + offset(field)?.checked_sub(own)?);
    if gil == 0 {
        return None;
    }
    let locked = memory.read_u32(in_gil(d.interp_gil_locked)?)? != 0;
    let holder = memory.read_u64(in_gil(d.interp_gil_holder)?)?;
    let holder = holder_tid(memory, locked, holder, offset(d.tstate_native_thread_id)?);
    // Whether every interpreter uses it: walk the list from its head (newest first) to the main
    // interpreter; a list that cannot be read whole says no.
    let mut only = false;
    let mut interp = memory.read_u64(head_field)?;
    for _ in 0..MAX_INTERPRETERS {
        if interp == 0 || gil_of(interp) != Some(gil) {
            break;
        }
        if interp == main {
            only = true;
            break;
        }
        let Some(next) = offset(d.interp_next).and_then(|next| memory.read_u64(interp + next)) else { break };
        interp = next;
    }
    Some(GilState { address: gil, holder, only })
}

/// The interpreters [`read_debug_offsets`] walks at most to see whether they all share the main GIL.
const MAX_INTERPRETERS: usize = 256;

/// The TID of the thread state `holder`, when the GIL is `locked`.
fn holder_tid(memory: &dyn ProcessMemory, locked: bool, holder: u64, native_thread_id: u64) -> Option<i32> {
    if !locked || holder == 0 {
        return None;
    }
    let tid = memory.read_u64(holder + native_thread_id)?;
    i32::try_from(tid).ok().filter(|&tid| tid > 0)
}

/// Whether `path` names a module that can hold `_PyRuntime`: the interpreter's executable
/// (`python3.11d`, a build's `python`) or `libpython`. Other modules are not loaded for this.
fn may_hold_runtime(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("python") || n.starts_with("libpython"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process's memory: byte regions at their addresses.
    struct Regions(Vec<(u64, Vec<u8>)>);

    impl Regions {
        fn span(&mut self, address: u64, len: usize) -> &mut [u8] {
            let (base, bytes) = self
                .0
                .iter_mut()
                .find(|(base, bytes)| address >= *base && address + len as u64 <= *base + bytes.len() as u64)
                .expect("a region holds it");
            let start = (address - *base) as usize;
            &mut bytes[start..start + len]
        }

        fn put(&mut self, address: u64, value: u64) {
            self.span(address, 8).copy_from_slice(&value.to_ne_bytes());
        }

        fn word(&mut self, address: u64) -> u64 {
            u64::from_ne_bytes(self.span(address, 8).try_into().unwrap())
        }
    }

    impl ProcessMemory for Regions {
        fn read(&self, address: u64, buf: &mut [u8]) -> bool {
            self.0.iter().any(|(base, bytes)| {
                let Some(start) = address.checked_sub(*base).and_then(|s| usize::try_from(s).ok()) else {
                    return false;
                };
                let Some(part) = start.checked_add(buf.len()).and_then(|end| bytes.get(start..end)) else {
                    return false;
                };
                buf.copy_from_slice(part);
                true
            })
        }
    }

    /// The `_Py_DebugOffsets` a real interpreter published (`tests/data/debug_offsets`), its
    /// `PY_VERSION_HEX` and the description of its version.
    fn published(version: &str) -> (Vec<u8>, u32, &'static DebugOffsets) {
        let (hex, d) = match version {
            "3.13.5" => (include_str!("../../tests/data/debug_offsets/3.13.5.hex"), &DEBUG_OFFSETS_3_13),
            "3.14.10" => (include_str!("../../tests/data/debug_offsets/3.14.10.hex"), &DEBUG_OFFSETS_3_14),
            "3.15.2" => (include_str!("../../tests/data/debug_offsets/3.15.2.hex"), &DEBUG_OFFSETS_3_15),
            _ => unreachable!(),
        };
        let hex: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        let bytes =
            hex.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect();
        let n: Vec<u32> = version.split('.').map(|n| n.parse().unwrap()).collect();
        (bytes, n[0] << 24 | n[1] << 16 | n[2] << 8 | 0xf0, d)
    }

    const RUNTIME: u64 = 0x10_0000;
    const MAIN: u64 = 0x20_0000;
    const SUB: u64 = 0x30_0000;
    const HOLDER: u64 = 0x40_0000;
    const TID: u64 = 4242;

    /// A stopped process of `version`: the main interpreter, with its own GIL held by a thread
    /// state of thread [`TID`], and, when `sub` says with which GIL, a subinterpreter at the
    /// head of the list. Returns the memory and the main GIL's address.
    fn process(version: &str, sub: Option<fn(u64) -> u64>) -> (Regions, u32, &'static DebugOffsets, u64) {
        let (mut runtime, hex_version, d) = published(version);
        runtime.resize(4096, 0);
        let mut m =
            Regions(vec![(RUNTIME, runtime), (MAIN, vec![0; 16384]), (SUB, vec![0; 16384]), (HOLDER, vec![0; 1024])]);
        let offset = |m: &mut Regions, field: u64| m.word(RUNTIME + field);
        let head = RUNTIME + offset(&mut m, d.runtime_interpreters_head);
        let (id, next, ceval_gil) =
            (offset(&mut m, d.interp_id), offset(&mut m, d.interp_next), offset(&mut m, d.interp_ceval_gil));
        let own = offset(&mut m, d.interp_gil_runtime_state);
        let (locked, holder) = (offset(&mut m, d.interp_gil_locked), offset(&mut m, d.interp_gil_holder));
        let main_gil = MAIN + own;
        m.put(head + MAIN_AFTER_HEAD, MAIN);
        m.put(MAIN + id, 0);
        m.put(MAIN + next, 0);
        m.put(MAIN + ceval_gil, main_gil);
        m.put(MAIN + locked, 1);
        m.put(MAIN + holder, HOLDER);
        let native_thread_id = offset(&mut m, d.tstate_native_thread_id);
        m.put(HOLDER + native_thread_id, TID);
        match sub {
            Some(gil_of_sub) => {
                m.put(head, SUB);
                m.put(SUB + id, 1);
                m.put(SUB + next, MAIN);
                m.put(SUB + ceval_gil, gil_of_sub(own));
            }
            None => m.put(head, MAIN),
        }
        (m, hex_version, d, main_gil)
    }

    #[test]
    fn each_version_s_published_offsets_are_where_its_description_says() {
        // From the DWARF of each interpreter: `PyThreadState.native_thread_id`, and
        // `last_holder` and `locked` in `struct _gil_runtime_state` (8 and 16).
        for (version, native_thread_id) in [("3.13.5", 160), ("3.14.10", 160), ("3.15.2", 184)] {
            let (bytes, _, d) = published(version);
            let word = |at: u64| u64::from_ne_bytes(bytes[at as usize..at as usize + 8].try_into().unwrap());
            assert_eq!(word(d.tstate_native_thread_id), native_thread_id, "{version}");
            let own = word(d.interp_gil_runtime_state);
            assert_eq!((word(d.interp_gil_holder) - own, word(d.interp_gil_locked) - own), (8, 16), "{version}");
            // The main interpreter's id sits beside its `next`, as in `PyInterpreterState`.
            assert_eq!(word(d.interp_id) - word(d.interp_next), 8, "{version}");
        }
    }

    #[test]
    fn the_main_gil_and_its_holder_are_read_through_each_version_s_debug_offsets() {
        for version in ["3.13.5", "3.14.10", "3.15.2"] {
            let (m, hex_version, d, gil) = process(version, None);
            let read = |m: &Regions, version: u32| read_debug_offsets(m, RUNTIME, version, d);
            assert_eq!(read(&m, hex_version), Some(GilState { address: gil, holder: Some(TID as i32), only: true }));
            // Another release's offsets are not believed.
            assert_eq!(read(&m, hex_version - 0x100), None, "{version}");

            // A subinterpreter sharing the main GIL leaves it the only one; one with its own
            // does not.
            let (m, _, _, _) = process(version, Some(|own| MAIN + own));
            assert_eq!(read(&m, hex_version).map(|g| g.only), Some(true), "{version}");
            let (m, _, _, _) = process(version, Some(|own| SUB + own));
            let state = read(&m, hex_version).unwrap();
            assert_eq!((state.address, state.holder, state.only), (gil, Some(TID as i32), false), "{version}");
        }
        // An unlocked GIL has no holder.
        let (mut m, hex_version, d, gil) = process("3.14.10", None);
        let locked = m.word(RUNTIME + d.interp_gil_locked) - m.word(RUNTIME + d.interp_gil_runtime_state);
        m.put(gil + locked, 0);
        assert_eq!(read_debug_offsets(&m, RUNTIME, hex_version, d).map(|g| g.holder), Some(None));
    }
}
