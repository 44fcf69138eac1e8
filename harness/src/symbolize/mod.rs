//! Native addresses -> frames (function, file, line, column, inline chain), read from the ELF
//! files themselves with `object` and `gimli`: no `llvm-symbolizer` or `addr2line` process.
//!
//! **What it does.** [`Symbolizer::symbolize`] turns an address of a module into its frames,
//! innermost inlined call first and the real function last, exactly as `llvm-symbolizer`
//! (LLVM 14) would print them, so that leakcheck's reports and `leakcheck symbolize` agree with
//! the tool CPython developers already use. The DWARF comes from the module itself, from a
//! build-id debug file (`DIR/.build-id/xx/rest.debug`) or from its `.gnu_debuglink` file (CRC
//! checked), DWARF 4 or 5, sections compressed or not, with dwz's supplementary file
//! (`.gnu_debugaltlink`, as Debian's and Fedora's debug packages have) when it is found at the
//! path it names or through its build id; without DWARF the symbol table
//! (`.symtab`, else `.dynsym`) still names the function ([`DebugInfoSource`] says which).
//! [`Symbolizer::symbolize_many`] is the fast path: distinct addresses, grouped by compilation
//! unit, on all cores. [`symbolize_stream`] is the core of `leakcheck symbolize`.
//!
//! **What the caller provides.** The module's path and an ELF virtual address in it: the
//! runtime address minus the module's load bias (for a non-PIE executable, the runtime address
//! itself). A return address taken from a stack should have 1 subtracted first, by the caller's
//! frame-address type, to land inside the call instruction.
//!
//! **What it does not do.** It does not read `/proc/PID/maps` or compute load biases, unwind
//! stacks, read split DWARF (`.dwo`/`.dwp`), or print
//! anything. It maps each module once per [`Symbolizer`] (see `image.rs` for why mapping is
//! acceptable) and caches everything parsed from it for the symbolizer's lifetime, so a
//! module rewritten afterwards is not noticed. It never fails and never panics: an unreadable,
//! stripped, truncated or corrupt module gives one frame with what is known. It does not
//! apply relocations: a relocatable object (`.o`) gives nothing, rather than the made-up lines
//! its unrelocated DWARF would.
//!
//! **Caching.** One [`Symbolizer`] holds, per module path, the file image, the symbol table,
//! the unit index, and per compilation unit (parsed on first use, by whichever thread needs it
//! first, then shared) its line table and function/inline tree; names are resolved and
//! demangled once.

// Every submodule but `image` (one mmap) and `cxa_demangle` (one dlopen'ed C function)
// forbids unsafe code.
#![deny(unsafe_code)]

mod cxa_demangle;
mod demangle;
mod dwarf;
mod image;
mod module;
mod search;
mod stream;
mod symtab;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;

pub use self::module::same_file;
use self::module::Module;
pub use self::stream::symbolize_stream;

/// The directory searched for build-id and debuglink files by [`Symbolizer::new`].
pub const DEFAULT_DEBUG_DIR: &str = "/usr/lib/debug";

/// One frame for an address: innermost (inlined callee) first, the real function last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame {
    /// Demangled (C++ and Rust too); `None` when unknown. For the last frame of an address this
    /// is the symbol table's name when there is one (e.g. GCC's `foo.cold`, `foo.part.0`), as
    /// llvm-symbolizer prints it.
    pub function: Option<String>,
    /// As DWARF gives it, joined with the comp dir when relative (not normalised).
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// Path of the ELF the address belongs to.
    pub module: String,
    /// The ELF virtual address looked up, serialized as a `"0x..."` string.
    #[serde(serialize_with = "serialize_hex")]
    pub address: u64,
    /// True for every frame but the last of an address.
    pub inlined: bool,
}

/// The module of a frame whose address is in no known module (see [`Frame::outside_any_module`]).
pub const UNKNOWN_MODULE: &str = "?";

impl Frame {
    /// A frame for an address in no known module: only the address is known.
    pub fn outside_any_module(address: u64) -> Frame {
        Frame {
            function: None,
            file: None,
            line: None,
            column: None,
            module: String::from(UNKNOWN_MODULE),
            address,
            inlined: false,
        }
    }
}

/// Where a function's parameter is at one address of its code, as its DWARF says (see
/// [`Symbolizer::parameter_location`]); evaluating it needs the frame's registers and memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterLocation {
    /// The DWARF location expression valid at the address.
    pub expression: Vec<u8>,
    /// The enclosing subprogram's `DW_AT_frame_base` expression (for `DW_OP_fbreg`), if any.
    pub frame_base: Option<Vec<u8>>,
    /// The unit's encoding (address size, DWARF version), needed to read the expressions.
    pub encoding: gimli::Encoding,
    pub big_endian: bool,
}

fn serialize_hex<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("{value:#x}"))
}

/// Where a module's symbols came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DebugInfoSource {
    /// DWARF, from `file`: the module itself, a build-id file or a debuglink file.
    Dwarf { file: PathBuf },
    /// `.symtab`/`.dynsym` only: functions, no files or lines.
    SymbolTable,
    /// Nothing usable; `reason` says why (unreadable, not ELF, a relocatable object, fully
    /// stripped...).
    Nothing { reason: String },
}

impl DebugInfoSource {
    /// What a user should be told about the frames of `module`, when it has less than DWARF
    /// to give: why there is nothing, or that function names come from the symbol table only.
    pub fn shortfall(&self, module: &Path) -> Option<String> {
        match self {
            DebugInfoSource::Dwarf { .. } => None,
            DebugInfoSource::SymbolTable => {
                Some(format!("{}: no DWARF, function names from the symbol table only", module.display()))
            }
            DebugInfoSource::Nothing { reason } => Some(reason.clone()),
        }
    }
}

/// A module's place in the cache, filled by its first load.
type Slot = Arc<OnceLock<Arc<Module>>>;

/// Symbolizes addresses of any number of modules, caching what it parses. `Send + Sync`: one
/// symbolizer can serve every thread.
#[derive(Debug)]
pub struct Symbolizer {
    debug_dirs: Vec<PathBuf>,
    modules: Mutex<HashMap<PathBuf, Arc<OnceLock<Arc<Module>>>>>,
}

impl Default for Symbolizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Symbolizer {
    /// A symbolizer that looks for separate debug files under [`DEFAULT_DEBUG_DIR`].
    pub fn new() -> Self {
        Self::with_debug_dirs(vec![PathBuf::from(DEFAULT_DEBUG_DIR)])
    }

    /// A symbolizer that looks for separate debug files under `dirs`, in order (build-id
    /// files in `DIR/.build-id/`, debuglink files in `DIR/<module's directory>/`); debuglink
    /// files next to the module and in its `.debug/` subdirectory are always tried.
    pub fn with_debug_dirs(dirs: Vec<PathBuf>) -> Self {
        Symbolizer { debug_dirs: dirs, modules: Mutex::new(HashMap::new()) }
    }

    /// Frames for `address`, an ELF virtual address of `module`. Never empty.
    pub fn symbolize(&self, module: &Path, address: u64) -> Vec<Frame> {
        self.symbolize_many(module, &[address]).pop().unwrap_or_default()
    }

    /// Frames for many addresses of one module, in input order: the fast path (distinct
    /// addresses only, grouped by compilation unit, on all cores).
    pub fn symbolize_many(&self, module: &Path, addresses: &[u64]) -> Vec<Vec<Frame>> {
        let module = self.module(module);
        let mut distinct = addresses.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let states = module.run(&distinct, Vec::new, |found, index, frames| {
            let address = distinct.get(index).copied().unwrap_or_default();
            let last = frames.len().saturating_sub(1);
            let frames: Vec<Frame> = frames
                .iter()
                .enumerate()
                .map(|(i, frame)| Frame {
                    function: frame.function.map(str::to_owned),
                    file: frame.file.map(str::to_owned),
                    line: (frame.line != 0).then_some(frame.line),
                    column: (frame.column != 0).then_some(frame.column),
                    module: module.name.clone(),
                    address,
                    inlined: i < last,
                })
                .collect();
            found.push((index, frames));
        });
        let mut by_index: Vec<Vec<Frame>> = vec![Vec::new(); distinct.len()];
        for (index, frames) in states.into_iter().flatten() {
            if let Some(slot) = by_index.get_mut(index) {
                *slot = frames;
            }
        }
        addresses
            .iter()
            .map(|address| {
                distinct.binary_search(address).ok().and_then(|i| by_index.get(i)).cloned().unwrap_or_default()
            })
            .collect()
    }

    /// Where `module`'s symbols come from (loading it if needed).
    pub fn debug_info(&self, module: &Path) -> DebugInfoSource {
        self.module(module).source.clone()
    }

    /// What a user should be told about the frames given so far for `module`, when they say less
    /// than its DWARF would: it has none ([`DebugInfoSource::shortfall`]), the dwz
    /// supplementary file its DWARF names was not found, an address fell in a unit of split
    /// DWARF (`-gsplit-dwarf`), whose functions and inlined calls are in `.dwo`/`.dwp` files this
    /// symbolizer does not read, or in a unit whose line program could not be read (damaged).
    /// One note, the first of these that applies.
    pub fn shortfall(&self, module: &Path) -> Option<String> {
        let loaded = self.module(module);
        if let Some(note) = loaded.source.shortfall(module) {
            return Some(note);
        }
        if let Some(note) = &loaded.sup_missing {
            return Some(note.clone());
        }
        if let Some(note) = self.split_dwarf_note(module) {
            return Some(note);
        }
        loaded.lines_unreadable().then(|| {
            format!(
                "{}: the line program (.debug_line) of a unit could not be read, so the innermost frame of an address there has no file and line (??:0)",
                module.display()
            )
        })
    }

    /// [`Symbolizer::shortfall`]'s note on split DWARF alone: an address of `module` fell in a
    /// skeleton unit (`-gsplit-dwarf`), so its frames have the symbol table's function, the
    /// skeleton's line table's line (which, in code inlined into that function, is the inlined
    /// callee's line) and no inlined frames. A frame of such a unit has a line all the same, so a
    /// caller that asks for notes only where a line is missing would miss this one. A module not
    /// loaded yet had no address looked up: `None`, without loading it.
    pub fn split_dwarf_note(&self, module: &Path) -> Option<String> {
        let loaded = self.slot(module).get()?.clone();
        loaded.skeleton_met().then(|| {
            format!(
                "{}: split DWARF (-gsplit-dwarf): its .dwo/.dwp files are not read, so functions come from the symbol table and inlined calls are missing (a frame's line in code inlined into its function is the inlined callee's line, not a line of that function)",
                module.display()
            )
        })
    }

    /// The ELF virtual address of the symbol `name` (as the symbol table spells it, mangled) in
    /// `module` (loaded and cached like [`Symbolizer::symbolize`] does), if it defines one.
    pub fn symbol_address(&self, module: &Path, name: &str) -> Option<u64> {
        self.module(module).symbol_address(name)
    }

    /// The symbol table's object covering `address`, an ELF virtual address of `module`: its
    /// name (demangled), start and size; only a symbol with a size, so that an address past
    /// every object (a heap right after a library's `.bss`) names none.
    pub fn data_symbol(&self, module: &Path, address: u64) -> Option<(String, u64, u64)> {
        let module = self.module(module);
        let (name, start, size) = module.data_symbol(address)?;
        (size > 0 && start <= address && address - start < size).then(|| (name.to_owned(), start, size))
    }

    /// Where parameter `parameter` of `function` is at `address`, an ELF virtual address of
    /// `module` inside that function's code (or inside a call of it inlined there): for a caller's
    /// frame, its return address minus one. `None` when the module's DWARF does not say.
    pub fn parameter_location(
        &self,
        module: &Path,
        address: u64,
        function: &str,
        parameter: &str,
    ) -> Option<ParameterLocation> {
        self.module(module).parameter_location(address, function, parameter)
    }

    /// The GNU build ID of `module` (loaded and cached like [`Symbolizer::symbolize`] does), if
    /// it has one.
    pub fn build_id(&self, module: &Path) -> Option<Vec<u8>> {
        self.module(module).build_id.clone()
    }

    /// Load (map and cache) these modules now, as [`Symbolizer::symbolize`] would on first use:
    /// every file not loaded yet is opened first, then each is read, so that one removed while
    /// another is read (a test's temporary directory) is still read, through its open file. A
    /// module stays mapped for the symbolizer's lifetime, removed or not. Give regular files only
    /// (opening a FIFO blocks).
    pub fn load(&self, modules: &[PathBuf]) {
        let opened: Vec<(PathBuf, Slot, Option<std::fs::File>)> = modules
            .iter()
            .map(|path| (path.clone(), self.slot(path)))
            .filter(|(_, slot)| slot.get().is_none())
            .map(|(path, slot)| {
                let file = std::fs::File::open(&path).ok();
                (path, slot, file)
            })
            .collect();
        for (path, slot, file) in opened {
            slot.get_or_init(|| Arc::new(Module::load_opened(&path, file, &self.debug_dirs)));
        }
    }

    /// Whether `module` was loaded and read (its file may be gone since).
    pub fn has_read(&self, module: &Path) -> bool {
        let modules = self.modules.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        modules
            .get(module)
            .and_then(|slot| slot.get())
            .is_some_and(|m| !matches!(m.source, DebugInfoSource::Nothing { .. }))
    }

    /// The cached module, loaded on first use. Loading happens outside the map's lock, so
    /// different modules load in parallel and callers of one module wait for one load.
    fn module(&self, path: &Path) -> Arc<Module> {
        self.slot(path).get_or_init(|| Arc::new(Module::load(path, &self.debug_dirs))).clone()
    }

    /// The cache's slot of `path`, made empty if it has none.
    fn slot(&self, path: &Path) -> Slot {
        let mut modules = self.modules.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match modules.get(path) {
            Some(slot) => slot.clone(),
            None => {
                let slot = Arc::new(OnceLock::new());
                modules.insert(path.to_owned(), slot.clone());
                slot
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn symbolizer_is_send_and_sync() {
        assert_send_sync::<Symbolizer>();
    }

    #[test]
    fn missing_file_and_directory_give_one_unknown_frame() {
        let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
        for path in ["/nonexistent/leakcheck", "/tmp"] {
            let frames = symbolizer.symbolize(Path::new(path), 0x1234);
            assert_eq!(
                frames,
                vec![Frame {
                    function: None,
                    file: None,
                    line: None,
                    column: None,
                    module: path.to_owned(),
                    address: 0x1234,
                    inlined: false,
                }]
            );
            assert!(matches!(symbolizer.debug_info(Path::new(path)), DebugInfoSource::Nothing { .. }));
        }
    }

    #[test]
    fn same_file_follows_links_and_needs_existing_files() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (file, link, other) = (dir.path().join("f"), dir.path().join("l"), dir.path().join("o"));
        std::fs::write(&file, "x").expect("writing f");
        std::fs::write(&other, "x").expect("writing o");
        std::os::unix::fs::symlink(&file, &link).expect("a symlink");
        assert!(same_file(&file, &link));
        assert!(same_file(&file, &dir.path().join(".").join("f")));
        assert!(!same_file(&file, &other));
        let missing = dir.path().join("missing");
        assert!(!same_file(&missing, &missing), "a file that does not exist is no file");
    }

    #[test]
    fn frame_serializes_address_as_hex() {
        let frame = Frame {
            function: Some("f".into()),
            file: None,
            line: Some(3),
            column: None,
            module: "/m".into(),
            address: 0x4a0000,
            inlined: false,
        };
        let json = serde_json::to_value(&frame).unwrap_or_default();
        assert_eq!(json["address"], "0x4a0000");
        let source = serde_json::to_value(DebugInfoSource::SymbolTable).unwrap_or_default();
        assert_eq!(source["kind"], "symbol_table");
    }
}
