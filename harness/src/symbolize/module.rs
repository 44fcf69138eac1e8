//! One module (an ELF file) loaded for symbolization: its bytes read into memory once, the file
//! holding its DWARF found (itself, a build-id file or a `.gnu_debuglink` file), its symbol
//! table, and the batch runner that symbolizes many addresses on all cores.
//!
//! Files are mapped, not read (see `image.rs` for what that risks and why it is accepted).

#![forbid(unsafe_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gimli::SectionId;
use object::{CompressionFormat, Object, ObjectKind, ObjectSection};

use super::dwarf::{DwarfData, RawFrame, SectionBytes};
use super::image::Image;
use super::search::Hints;
use super::symtab::SymbolTable;
use super::DebugInfoSource;

/// Modules larger than this are not mapped (no real ELF file is; it keeps a wrong path cheap).
const MAX_FILE_SIZE: u64 = 4 << 30;

/// A compressed section claiming to inflate more than this many times its size is corrupt
/// (zlib cannot exceed ~1032:1; real debug sections compress 3-10:1).
const MAX_COMPRESSION_RATIO: u64 = 2048;

/// Below this many distinct addresses, and with fewer than two units left to parse, a batch
/// runs on the calling thread: starting threads would cost more than it saves.
const PARALLEL_MIN_ADDRESSES: usize = 1024;

/// Work items hold at most this many addresses, so that one big unit is shared between threads
/// once it is parsed.
const MAX_ITEM_ADDRESSES: usize = 2048;

/// The DWARF sections leakcheck reads.
const DWARF_SECTIONS: [SectionId; 10] = [
    SectionId::DebugAbbrev,
    SectionId::DebugAddr,
    SectionId::DebugAranges,
    SectionId::DebugInfo,
    SectionId::DebugLine,
    SectionId::DebugLineStr,
    SectionId::DebugRanges,
    SectionId::DebugRngLists,
    SectionId::DebugStr,
    SectionId::DebugStrOffsets,
];

#[derive(Debug)]
pub(super) struct Module {
    /// The module path as frames show it.
    pub(super) name: String,
    pub(super) source: DebugInfoSource,
    /// The GNU build ID of the file, if it has one.
    pub(super) build_id: Option<Vec<u8>>,
    symbols: SymbolTable,
    dwarf: Option<DwarfData>,
    /// Why the dwz supplementary file the DWARF names (`.gnu_debugaltlink`) is not read.
    pub(super) sup_missing: Option<String>,
}

impl Module {
    /// Load `path`; never fails: what cannot be read is described in `source`.
    pub(super) fn load(path: &Path, debug_dirs: &[PathBuf]) -> Module {
        Self::load_opened(path, None, debug_dirs)
    }

    /// [`Module::load`] from `opened`, the file `path` opened earlier (it may have been removed
    /// since: an open file keeps its content), when given.
    pub(super) fn load_opened(path: &Path, opened: Option<File>, debug_dirs: &[PathBuf]) -> Module {
        let mut module = Module {
            name: path.to_string_lossy().into_owned(),
            source: DebugInfoSource::SymbolTable,
            build_id: None,
            symbols: SymbolTable::default(),
            dwarf: None,
            sup_missing: None,
        };
        let image = match read_file(path, opened) {
            Ok(image) => image,
            Err(reason) => {
                module.source = DebugInfoSource::Nothing { reason };
                return module;
            }
        };
        let own_sections = {
            let file = match object::File::parse(&*image) {
                Ok(file) => file,
                Err(error) => {
                    module.source = DebugInfoSource::Nothing {
                        reason: format!("{}: not a readable ELF file ({error})", path.display()),
                    };
                    return module;
                }
            };
            if file.kind() == ObjectKind::Relocatable {
                // Its DWARF and symbols hold section offsets, not addresses, until linking
                // relocates them: read as they are, they give made-up lines and functions.
                module.source = DebugInfoSource::Nothing { reason: relocatable_reason(path) };
                return module;
            }
            module.symbols = SymbolTable::new(&file);
            module.build_id = file.build_id().ok().flatten().map(<[u8]>::to_vec);
            match dwarf_sections(&file, &image) {
                Some(sections) => Ok((sections, endian(&file), find_sup(path, &file, debug_dirs))),
                None => Err(find_debug_file(path, &file, debug_dirs)),
            }
        };
        match own_sections {
            Ok((sections, endian, sup)) => {
                let mut dwarf = DwarfData::new(image, sections, endian);
                module.sup_missing = attach_sup(&mut dwarf, sup);
                module.dwarf = Some(dwarf);
                module.source = DebugInfoSource::Dwarf { file: path.to_owned() };
            }
            Err(Some((debug_path, mut dwarf, sup))) => {
                drop(image);
                module.sup_missing = attach_sup(&mut dwarf, sup);
                module.dwarf = Some(dwarf);
                module.source = DebugInfoSource::Dwarf { file: debug_path };
            }
            Err(None) if !module.symbols.is_empty() => {}
            Err(None) => {
                module.source = DebugInfoSource::Nothing {
                    reason: format!(
                        "{}: no DWARF (in the file, a build-id or a debuglink file) and no symbol table",
                        path.display()
                    ),
                };
            }
        }
        module
    }

    /// The frames of `address`, innermost first, never empty; LLVM 14's
    /// `SymbolizableObjectFile::symbolizeInlinedCode`: DWARF frames, then the symbol table's
    /// name for the outermost one.
    pub(super) fn frames<'s>(
        &'s self,
        view: Option<&super::dwarf::Dwarf<'s>>,
        address: u64,
        unit: Option<usize>,
        hints: &mut Hints,
        out: &mut Vec<RawFrame<'s>>,
    ) {
        out.clear();
        if let (Some(dwarf), Some(view)) = (&self.dwarf, view) {
            dwarf.frames(view, address, unit, hints, out);
        }
        if out.is_empty() {
            out.push(RawFrame::default());
        }
        if let (Some(symbol), Some(last)) = (self.symbols.lookup(address, &mut hints.symbol), out.last_mut()) {
            last.function = Some(symbol.name);
            if last.file.is_none() {
                last.file = symbol.file;
            }
        }
    }

    /// See [`super::Symbolizer::parameter_location`].
    pub(super) fn parameter_location(
        &self,
        address: u64,
        function: &str,
        parameter: &str,
    ) -> Option<super::ParameterLocation> {
        self.dwarf.as_ref()?.parameter_location(address, function, parameter)
    }

    /// Whether an address was looked up in a skeleton unit of split DWARF (see
    /// `DwarfData::skeleton_met`).
    pub(super) fn skeleton_met(&self) -> bool {
        self.dwarf.as_ref().is_some_and(DwarfData::skeleton_met)
    }

    /// Whether an address was looked up in a unit whose line program could not be read (see
    /// `DwarfData::lines_unreadable`).
    pub(super) fn lines_unreadable(&self) -> bool {
        self.dwarf.as_ref().is_some_and(DwarfData::lines_unreadable)
    }

    /// The ELF virtual address of the symbol `name`, if the symbol table defines it.
    pub(super) fn symbol_address(&self, name: &str) -> Option<u64> {
        self.symbols.address_of(name)
    }

    /// The symbol table entry covering `address`: `(name, start, size)` for `DATA` requests.
    pub(super) fn data_symbol(&self, address: u64) -> Option<(&str, u64, u64)> {
        self.symbols.lookup(address, &mut 0).map(|s| (s.name, s.start, s.size))
    }

    /// Symbolize `addresses` (sorted, distinct) on up to all cores: `each(state, i, frames)` is
    /// called once for every `addresses[i]`, on some thread, with that thread's `state`; the
    /// states are returned. Addresses are grouped by compilation unit so each unit is parsed
    /// by one thread, biggest pending work first.
    pub(super) fn run<S, I, F>(&self, addresses: &[u64], init: I, each: F) -> Vec<S>
    where
        S: Send,
        I: Fn() -> S + Sync,
        F: for<'s> Fn(&mut S, usize, &[RawFrame<'s>]) + Sync,
    {
        let units: Vec<Option<usize>> = match &self.dwarf {
            Some(dwarf) => dwarf.units_for_sorted(addresses),
            None => vec![None; addresses.len()],
        };
        // Runs of addresses in one unit, split into items of bounded size.
        let mut items: Vec<(usize, usize, u64)> = Vec::new();
        let mut start = 0;
        let mut pending_units = 0;
        while start < addresses.len() {
            let unit = units[start];
            let mut end = start + 1;
            while end < addresses.len() && units[end] == unit {
                end += 1;
            }
            let (unparsed, size) = match (&self.dwarf, unit) {
                (Some(dwarf), Some(unit)) => (!dwarf.unit_is_parsed(unit), dwarf.unit_size(unit)),
                _ => (false, 0),
            };
            pending_units += usize::from(unparsed);
            let mut chunk_start = start;
            while chunk_start < end {
                let chunk_end = end.min(chunk_start + MAX_ITEM_ADDRESSES);
                // Cost guess: parsing is ~proportional to the unit's DIE bytes.
                let parse = if unparsed && chunk_start == start { size as u64 } else { 0 };
                let cost = parse + 64 * (chunk_end - chunk_start) as u64;
                items.push((chunk_start, chunk_end, cost));
                chunk_start = chunk_end;
            }
            start = end;
        }
        items.sort_by_key(|item| std::cmp::Reverse(item.2));

        let threads = if addresses.len() >= PARALLEL_MIN_ADDRESSES || pending_units >= 2 {
            std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len()).clamp(1, 16)
        } else {
            1
        };
        let next = AtomicUsize::new(0);
        let work = || {
            let mut state = init();
            let view = self.dwarf.as_ref().map(|d| d.view());
            let mut frames = Vec::new();
            let mut hints = Hints::default();
            loop {
                let taken = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(start, end, _)) = items.get(taken) else {
                    break;
                };
                for index in start..end {
                    self.frames(view.as_ref(), addresses[index], units[index], &mut hints, &mut frames);
                    each(&mut state, index, &frames);
                }
            }
            state
        };
        if threads <= 1 {
            return vec![work()];
        }
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            let mut states = vec![work()];
            for helper in helpers {
                match helper.join() {
                    Ok(state) => states.push(state),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            states
        })
    }
}

/// Why a relocatable object (`.o`, `ET_REL`) is not symbolized.
fn relocatable_reason(path: &Path) -> String {
    format!(
        "{}: a relocatable object (.o): its debug info and symbols need the relocations linking applies, which leakcheck does not; link it first",
        path.display()
    )
}

/// Map a regular file: `opened` (`path` opened earlier), else `path`.
fn read_file(path: &Path, opened: Option<File>) -> Result<Image, String> {
    let shown = path.display();
    let metadata = match &opened {
        Some(file) => file.metadata(),
        None => std::fs::metadata(path),
    }
    .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if metadata.is_dir() {
        return Err(format!("{shown} is a directory"));
    }
    if !metadata.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    if metadata.len() > MAX_FILE_SIZE {
        return Err(format!("{shown} is too large ({} bytes)", metadata.len()));
    }
    let file = match opened {
        Some(file) => file,
        None => File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?,
    };
    Image::map(&file, metadata.len()).map_err(|e| format!("cannot map {shown}: {e}"))
}

fn endian(file: &object::File<'_>) -> gimli::RunTimeEndian {
    if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    }
}

/// The DWARF sections of `file` (whose bytes are `image`), or `None` without `.debug_info`.
/// Uncompressed sections stay in the image; compressed ones (`SHF_COMPRESSED` zlib/zstd, GNU
/// `.zdebug_*`) are inflated. A section that cannot be read is left out.
fn dwarf_sections(file: &object::File<'_>, image: &[u8]) -> Option<Vec<(SectionId, SectionBytes)>> {
    let sections = sections_of(file, image, &DWARF_SECTIONS);
    let has_info = sections.iter().any(|(id, bytes)| *id == SectionId::DebugInfo && !bytes.is_empty());
    has_info.then_some(sections)
}

/// The sections `ids` of the ELF file `image` that it has (see [`dwarf_sections`]); none when
/// it is no ELF file.
pub(super) fn sections_in(image: &[u8], ids: &[SectionId]) -> Vec<(SectionId, SectionBytes)> {
    match object::File::parse(image) {
        Ok(file) => sections_of(&file, image, ids),
        Err(_) => Vec::new(),
    }
}

fn sections_of(file: &object::File<'_>, image: &[u8], ids: &[SectionId]) -> Vec<(SectionId, SectionBytes)> {
    let mut sections = Vec::new();
    for &id in ids {
        let Some(section) = file.section_by_name(id.name()) else {
            continue;
        };
        let Ok(data) = section.compressed_data() else {
            continue;
        };
        let bytes = match data.format {
            CompressionFormat::None => {
                let start = (data.data.as_ptr() as usize).wrapping_sub(image.as_ptr() as usize);
                let end = start.wrapping_add(data.data.len());
                if start > end || end > image.len() {
                    continue;
                }
                SectionBytes::InFile(start, end)
            }
            _ => {
                let limit = (data.data.len() as u64).saturating_mul(MAX_COMPRESSION_RATIO);
                if data.uncompressed_size > limit {
                    continue;
                }
                match data.decompress() {
                    Ok(bytes) => SectionBytes::Owned(bytes.into_owned()),
                    Err(_) => continue,
                }
            }
        };
        sections.push((id, bytes));
    }
    sections
}

/// Load the DWARF of a separate debug file: through the build id (`DIR/.build-id/xx/rest.debug`
/// in each debug directory), else through `.gnu_debuglink` (next to the module, in its `.debug/`
/// subdirectory, then `DIR/<module's absolute directory>/` in each debug directory), the
/// debuglink's CRC checked.
fn find_debug_file(
    path: &Path,
    file: &object::File<'_>,
    debug_dirs: &[PathBuf],
) -> Option<(PathBuf, DwarfData, SupFound)> {
    if let Ok(Some(build_id)) = file.build_id() {
        for candidate in build_id_paths(build_id, debug_dirs) {
            if let Some(found) = load_debug_file(&candidate, None, Some(build_id), debug_dirs) {
                return Some(found);
            }
        }
    }
    if let Ok(Some((name, crc))) = file.gnu_debuglink() {
        use std::os::unix::ffi::OsStrExt;
        let name = Path::new(std::ffi::OsStr::from_bytes(name));
        // One plain file name: a debuglink must not lead elsewhere (`../`, `/etc/...`).
        let mut components = name.components();
        if !matches!((components.next(), components.next()), (Some(std::path::Component::Normal(_)), None)) {
            return None;
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut candidates = vec![dir.join(name), dir.join(".debug").join(name)];
        if let Ok(absolute) = std::path::absolute(&dir) {
            let relative = absolute.strip_prefix("/").unwrap_or(&absolute);
            candidates.extend(debug_dirs.iter().map(|d| d.join(relative).join(name)));
        }
        for candidate in candidates {
            if same_file(&candidate, path) {
                continue;
            }
            if let Some(found) = load_debug_file(&candidate, Some(crc), None, debug_dirs) {
                return Some(found);
            }
        }
    }
    None
}

/// `DIR/.build-id/xx/rest.debug` for `build_id` in each debug directory (none for an id too
/// short to split).
fn build_id_paths(build_id: &[u8], debug_dirs: &[PathBuf]) -> Vec<PathBuf> {
    if build_id.len() < 2 {
        return Vec::new();
    }
    let hex: String = build_id.iter().map(|b| format!("{b:02x}")).collect();
    debug_dirs.iter().map(|dir| dir.join(".build-id").join(&hex[..2]).join(format!("{}.debug", &hex[2..]))).collect()
}

/// Whether `a` and `b` name one existing file (the same device and inode: a link, `./x` and
/// `x`).
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Load the DWARF of the debug file `path`, checking the CRC and build id given; its own
/// supplementary file is looked for in `sup_dirs`.
fn load_debug_file(
    path: &Path,
    crc: Option<u32>,
    build_id: Option<&[u8]>,
    sup_dirs: &[PathBuf],
) -> Option<(PathBuf, DwarfData, SupFound)> {
    let image = read_file(path, None).ok()?;
    if let Some(crc) = crc {
        if crc32fast::hash(&image) != crc {
            return None;
        }
    }
    let (sections, endian, sup) = {
        let file = object::File::parse(&*image).ok()?;
        if file.kind() == ObjectKind::Relocatable {
            return None;
        }
        if let (Some(expected), Ok(Some(found))) = (build_id, file.build_id()) {
            if expected != found {
                return None;
            }
        }
        (dwarf_sections(&file, &image)?, endian(&file), find_sup(path, &file, sup_dirs))
    };
    Some((path.to_owned(), DwarfData::new(image, sections, endian), sup))
}

/// Load the dwz supplementary file `path`, whose build id must be `build_id` when one is
/// given, with whatever DWARF sections it has: `dwz -m` moves strings and DIEs there, and when
/// the files it shares between hold no common DIEs, only `.debug_str`. A dwz supplementary file
/// is `ET_REL`, but holds no addresses to relocate. `Err` says why the file cannot be used.
fn load_sup_file(path: &Path, build_id: Option<&[u8]>) -> Result<DwarfData, String> {
    let image = read_file(path, None)?;
    let (sections, endian) = {
        let file = object::File::parse(&*image).map_err(|e| format!("not a readable ELF file ({e})"))?;
        match (build_id, file.build_id()) {
            (Some(expected), Ok(Some(found))) if expected != found => {
                return Err("its build id is not the one the link records".to_owned());
            }
            _ => {}
        }
        let sections = sections_of(&file, &image, &DWARF_SECTIONS);
        let usable = sections
            .iter()
            .any(|(id, bytes)| matches!(id, SectionId::DebugInfo | SectionId::DebugStr) && !bytes.is_empty());
        if !usable {
            return Err("it has no readable .debug_info or .debug_str".to_owned());
        }
        (sections, endian(&file))
    };
    Ok(DwarfData::new(image, sections, endian))
}

/// The outcome of looking for a DWARF file's dwz supplementary file.
enum SupFound {
    /// The file has no `.gnu_debugaltlink`.
    NotNamed,
    Found(DwarfData),
    /// Named but not found, or found but not usable (another build id, no DWARF): the note to
    /// give.
    Missing(String),
}

/// Attach `sup` to `dwarf`; the note to give when it is missing.
fn attach_sup(dwarf: &mut DwarfData, sup: SupFound) -> Option<String> {
    match sup {
        SupFound::NotNamed => None,
        SupFound::Found(sup) => {
            dwarf.set_sup(sup);
            None
        }
        SupFound::Missing(note) => Some(note),
    }
}

/// The dwz supplementary file named by the `.gnu_debugaltlink` of `file` (at `path`, holding
/// DWARF): at the path it names (relative to `path`'s directory when relative), else through its
/// build id in each debug directory (`DIR/.build-id/xx/rest.debug`); its build id must be the
/// one the link records.
fn find_sup(path: &Path, file: &object::File<'_>, debug_dirs: &[PathBuf]) -> SupFound {
    use std::os::unix::ffi::OsStrExt;
    let Ok(Some((name, build_id))) = file.gnu_debugaltlink() else {
        return SupFound::NotNamed;
    };
    let named = Path::new(std::ffi::OsStr::from_bytes(name));
    let mut candidates = Vec::new();
    if !name.is_empty() {
        candidates.push(match path.parent() {
            Some(dir) if named.is_relative() => dir.join(named),
            _ => named.to_owned(),
        });
    }
    let build_id = (!build_id.is_empty()).then_some(build_id);
    candidates.extend(build_id.map(|id| build_id_paths(id, debug_dirs)).unwrap_or_default());
    // Why each candidate that exists could not be used.
    let mut unusable = Vec::new();
    for candidate in &candidates {
        if same_file(candidate, path) {
            continue;
        }
        if matches!(std::fs::metadata(candidate), Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
            continue;
        }
        match load_sup_file(candidate, build_id) {
            Ok(sup) => return SupFound::Found(sup),
            Err(why) => unusable.push(format!("{}: {why}", candidate.display())),
        }
    }
    let lost = "so names that dwz moved there (inlined functions among them) are missing";
    SupFound::Missing(if unusable.is_empty() {
        format!(
            "{}: its dwz supplementary file {} (.gnu_debugaltlink) was not found, {lost}",
            path.display(),
            named.display()
        )
    } else {
        format!(
            "{}: its dwz supplementary file {} (.gnu_debugaltlink) cannot be used ({}), {lost}",
            path.display(),
            named.display(),
            unusable.join("; ")
        )
    })
}
