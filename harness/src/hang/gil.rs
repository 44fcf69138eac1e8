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
//! - 3.13: `_Py_DebugOffsets`, the first member of `_PyRuntime` (checked by its `xdebugpy`
//!   cookie and version): the main interpreter (`_PyRuntime.interpreters.main`, the pointer
//!   after `interpreters.head` in 3.13's `struct pyinterpreters`, checked by its id, 0, and its
//!   place at the end of the list, its `next` NULL), its `ceval.gil` pointer, and in the GIL it
//!   points to, `locked` and `last_holder`, then the holder's `native_thread_id`. Not the head of
//!   the list: that is the newest interpreter, a subinterpreter when one exists.
//!
//! **Which waiters.** 3.11 has one GIL per runtime, shared by every interpreter: a thread in
//! `take_gil` waits for it. From 3.12 on, a subinterpreter made with `PyInterpreterConfig_OWN_GIL`
//! (test_interpreters, test__xxsubinterpreters) has a GIL of its own, and a thread in `take_gil`
//! may be waiting for that one: the GIL read here is only [`GilState::only`] when every
//! interpreter of the list uses it, and otherwise a waiter is its waiter only when the futex it
//! sleeps on lies inside it (its `cond` or `mutex`: [`GilState::contains`]).
//! - Other versions (3.12's layout is not published, 3.14 is not checked): nothing.
//!
//! The version is `Py_Version` (3.11+). The process must be stopped (every thread), so that the
//! fields are read at one moment. Only reads; every read may fail (`None`).

#![forbid(unsafe_code)]

use std::path::Path;

use super::remote::ProcessMemory;
use super::stacks::MappedModule;
use crate::symbolize::Symbolizer;

/// The functions a thread waiting for the GIL sleeps under (3.11-3.13: `take_gil`, called by
/// `PyEval_RestoreThread`, `PyEval_AcquireThread`, `PyGILState_Ensure`...).
pub const GIL_WAIT_FUNCTIONS: &[&str] = &["take_gil"];

/// The GIL of a stopped process: where it is, and the TID of the thread holding it (`None`
/// when it is not held).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GilState {
    pub address: u64,
    pub holder: Option<i32>,
    /// Every interpreter of the process uses this GIL (3.11: always; 3.13: no subinterpreter
    /// has one of its own), so a thread waiting for a GIL waits for this one.
    pub only: bool,
}

/// The size of `struct _gil_runtime_state` on x86-64 with `FORCE_SWITCHING` (3.11-3.13:
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

/// Positions of the `_Py_DebugOffsets` fields read here (every field a `uint64_t`), 3.13.
mod debug_offsets_3_13 {
    pub const COOKIE: &[u8; 8] = b"xdebugpy";
    pub const VERSION: u64 = 8;
    pub const RUNTIME_INTERPRETERS_HEAD: u64 = 40;
    /// `interpreters.main` follows `interpreters.head` (a pointer) in `struct pyinterpreters`.
    pub const MAIN_AFTER_HEAD: u64 = 8;
    pub const INTERP_ID: u64 = 56;
    pub const INTERP_NEXT: u64 = 64;
    pub const INTERP_CEVAL_GIL: u64 = 112;
    pub const INTERP_GIL_RUNTIME_STATE: u64 = 120;
    pub const INTERP_GIL_LOCKED: u64 = 136;
    pub const INTERP_GIL_HOLDER: u64 = 144;
    pub const TSTATE_NATIVE_THREAD_ID: u64 = 200;
}

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
        (3, 13) => read_3_13(memory, runtime, version),
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

fn read_3_13(memory: &dyn ProcessMemory, runtime: u64, version: u32) -> Option<GilState> {
    use debug_offsets_3_13::*;
    let mut cookie = [0u8; 8];
    if !memory.read(runtime, &mut cookie) || &cookie != COOKIE {
        return None;
    }
    // The offsets are published for the version they were built with.
    if memory.read_u64(runtime + VERSION)? != u64::from(version) {
        return None;
    }
    let offset = |field: u64| memory.read_u64(runtime + field);
    let head_field = runtime + offset(RUNTIME_INTERPRETERS_HEAD)?;
    let main = memory.read_u64(head_field + MAIN_AFTER_HEAD)?;
    if main == 0 {
        return None;
    }
    // The main interpreter: id 0, the oldest, at the end of the list.
    if memory.read_u64(main + offset(INTERP_ID)?)? != 0 || memory.read_u64(main + offset(INTERP_NEXT)?)? != 0 {
        return None;
    }
    // The GIL the interpreter uses; `locked` and `last_holder` are published relative to the
    // interpreter's own `_gil`.
    let gil_of = |interp: u64| memory.read_u64(interp + offset(INTERP_CEVAL_GIL)?);
    let gil = gil_of(main)?;
    let own = offset(INTERP_GIL_RUNTIME_STATE)?;
    let in_gil = |field: u64| Some(gil + offset(field)?.checked_sub(own)?);
    if gil == 0 {
        return None;
    }
    let locked = memory.read_u32(in_gil(INTERP_GIL_LOCKED)?)? != 0;
    let holder = memory.read_u64(in_gil(INTERP_GIL_HOLDER)?)?;
    let holder = holder_tid(memory, locked, holder, offset(TSTATE_NATIVE_THREAD_ID)?);
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
        let Some(next) = offset(INTERP_NEXT).and_then(|next| memory.read_u64(interp + next)) else { break };
        interp = next;
    }
    Some(GilState { address: gil, holder, only })
}

/// The interpreters [`read_3_13`] walks at most to see whether they all share the main GIL.
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
