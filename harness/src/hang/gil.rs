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
//!   cookie and version): the first interpreter's `ceval.gil` pointer, and in the GIL it points
//!   to, `locked` and `last_holder`, then the holder's `native_thread_id`.
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
    Some(GilState { address: gil, holder: holder_tid(memory, locked, holder, TSTATE_NATIVE_THREAD_ID) })
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
    let interp = memory.read_u64(runtime + offset(RUNTIME_INTERPRETERS_HEAD)?)?;
    if interp == 0 {
        return None;
    }
    // The GIL the interpreter uses (its own, or the main interpreter's it shares); `locked` and
    // `last_holder` are published relative to the interpreter's own `_gil`.
    let gil = memory.read_u64(interp + offset(INTERP_CEVAL_GIL)?)?;
    let own = offset(INTERP_GIL_RUNTIME_STATE)?;
    let in_gil = |field: u64| Some(gil + offset(field)?.checked_sub(own)?);
    if gil == 0 {
        return None;
    }
    let locked = memory.read_u32(in_gil(INTERP_GIL_LOCKED)?)? != 0;
    let holder = memory.read_u64(in_gil(INTERP_GIL_HOLDER)?)?;
    Some(GilState { address: gil, holder: holder_tid(memory, locked, holder, offset(TSTATE_NATIVE_THREAD_ID)?) })
}

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
