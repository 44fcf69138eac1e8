//! The DWARF side of one module: which compilation unit covers an address, and, parsed lazily
//! once per unit and shared by every thread, its line table and its tree of functions and
//! inlined calls.
//!
//! The lookups follow LLVM 14's `DWARFContext::getInliningInfoForAddress` rule by rule, because
//! `leakcheck symbolize` must print what `llvm-symbolizer` prints:
//! - the unit comes from `.debug_aranges`, completed with the unit DIE's own ranges for units the
//!   section does not describe; where ranges overlap, the unit with the lowest offset wins;
//! - the innermost function comes from an address -> DIE map built over every
//!   `DW_TAG_subprogram` / `DW_TAG_inlined_subroutine` of the unit, parents first, a later DIE
//!   overriding the part of an earlier one it overlaps; the chain goes up through the parents to
//!   the first subprogram;
//! - the innermost frame's file/line/column come from the unit's line table (the last row at or
//!   before the address in the one sequence containing it; line 0 is kept as 0), the outer
//!   frames' from the `DW_AT_call_*` attributes of the frame inside them;
//! - names are `DW_AT_linkage_name` (or `DW_AT_MIPS_linkage_name`), else `DW_AT_name`, looked
//!   up through `DW_AT_specification` and `DW_AT_abstract_origin`;
//! - file paths are joined as LLVM joins them: comp dir, include directory, file name, each
//!   skipped when a later one is absolute; nothing is normalised (`./build/../x.h` stays).
//!
//! Nothing here panics on bad input: every read goes through gimli's checked readers, and a unit
//! whose tables cannot be parsed keeps whatever was read before the error (a unit whose line
//! program cannot be read at all keeps its functions and inline chains, as in LLVM).

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use gimli::{AttributeValue, EndianSlice, RunTimeEndian, SectionId};

use super::demangle::demangle;
use super::image::Image;
use super::search::{partition_from, Hints};

pub(super) type Slice<'a> = EndianSlice<'a, RunTimeEndian>;
pub(super) type Dwarf<'a> = gimli::Dwarf<Slice<'a>>;

/// `u32::MAX` marks "no index" in the compact tables below.
const NONE: u32 = u32::MAX;

/// Limit on DIEs visited while following `DW_AT_specification`/`DW_AT_abstract_origin` for one
/// name (valid DWARF needs 3; the visited list also stops cycles).
const MAX_NAME_HOPS: usize = 16;

/// The bytes of the debug sections, borrowed from the file image or decompressed.
#[derive(Debug)]
pub(super) enum SectionBytes {
    /// `start..end` of the file image.
    InFile(usize, usize),
    Owned(Vec<u8>),
}

impl SectionBytes {
    pub(super) fn is_empty(&self) -> bool {
        match self {
            SectionBytes::InFile(start, end) => start == end,
            SectionBytes::Owned(bytes) => bytes.is_empty(),
        }
    }
}

/// The sections of location lists, read only for [`DwarfData::parameter_location`]: frames do
/// not need them, and they are large (libc's `.debug_loclists` inflates to megabytes).
const LOCATION_SECTIONS: [SectionId; 2] = [SectionId::DebugLoc, SectionId::DebugLocLists];

/// Limit on the subroutines walked from an address out to its function (valid DWARF nests a
/// few deep).
const MAX_NESTING: usize = 256;

/// One module's DWARF: the file image holding it, its sections and the unit index.
#[derive(Debug)]
pub(super) struct DwarfData {
    image: Image,
    sections: Vec<(SectionId, SectionBytes)>,
    endian: RunTimeEndian,
    units: Vec<UnitEntry>,
    /// Sorted, non-overlapping `(low, high, unit index)`.
    aranges: Vec<(u64, u64, usize)>,
    /// An address was looked up in a split DWARF skeleton unit (see [`is_skeleton`]).
    skeleton_met: AtomicBool,
    /// The line program of a unit an address was looked up in could not be read (see
    /// [`DwarfData::lines_unreadable`]).
    lines_unreadable: AtomicBool,
    /// The dwz supplementary file (`.gnu_debugaltlink`) whose strings and DIEs this DWARF's
    /// `DW_FORM_GNU_strp_alt`/`DW_FORM_GNU_ref_alt` attributes point into, when it was found.
    sup: Option<Box<DwarfData>>,
    /// [`LOCATION_SECTIONS`], read from the image on first use.
    locations: OnceLock<Vec<(SectionId, SectionBytes)>>,
}

/// A DIE, by unit index and unit offset, in this file's DWARF or (`in_sup`) in its dwz
/// supplementary file's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DieRef {
    in_sup: bool,
    unit: usize,
    die: usize,
}

#[derive(Debug)]
struct UnitEntry {
    offset: usize,
    end: usize,
    basics: OnceLock<Option<UnitBasics>>,
    tables: OnceLock<UnitTables>,
}

/// What a unit needs to read its DIEs again later, owned so it can be cached.
#[derive(Debug)]
struct UnitBasics {
    abbreviations: Arc<gimli::Abbreviations>,
    low_pc: u64,
    str_offsets_base: gimli::DebugStrOffsetsBase<usize>,
    addr_base: gimli::DebugAddrBase<usize>,
    loclists_base: gimli::DebugLocListsBase<usize>,
    rnglists_base: gimli::DebugRngListsBase<usize>,
}

#[derive(Debug, Default)]
struct UnitTables {
    lines: LineTable,
    subroutines: Vec<Subroutine>,
    /// Sorted, non-overlapping `(low, high, subroutine index)`.
    die_map: Vec<(u64, u64, u32)>,
}

#[derive(Debug, Default)]
struct LineTable {
    rows: Vec<Row>,
    /// Sorted by `high`.
    sequences: Vec<Sequence>,
    /// Indexed by the raw DWARF file index of this unit's version (1-based before DWARF 5).
    files: Vec<Option<Box<str>>>,
}

#[derive(Debug, Clone, Copy)]
struct Row {
    address: u64,
    line: u32,
    /// LLVM 14 keeps file indexes and columns in 16 bits too.
    file: u16,
    column: u16,
}

#[derive(Debug, Clone, Copy)]
struct Sequence {
    low: u64,
    high: u64,
    /// `rows[first..last]`, `last - 1` being the end-of-sequence row.
    first: usize,
    last: usize,
}

#[derive(Debug)]
struct Subroutine {
    /// Unit offset of the DIE.
    die: usize,
    /// The nearest enclosing subroutine, or `NONE`.
    parent: u32,
    is_subprogram: bool,
    call_file: u64,
    call_line: u32,
    call_column: u32,
    /// Demangled name, resolved on first use.
    name: OnceLock<Option<Box<str>>>,
}

/// One frame as the lookup finds it, borrowing the module's caches.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RawFrame<'a> {
    pub function: Option<&'a str>,
    pub file: Option<&'a str>,
    /// 0 when unknown, as in LLVM.
    pub line: u32,
    pub column: u32,
}

impl DwarfData {
    /// Index the units of `image`'s DWARF. `sections` hold `.debug_info`, but for a dwz
    /// supplementary file, which may hold `.debug_str` alone (it then has no units).
    pub(super) fn new(image: Image, sections: Vec<(SectionId, SectionBytes)>, endian: RunTimeEndian) -> DwarfData {
        let mut data = DwarfData {
            image,
            sections,
            endian,
            units: Vec::new(),
            aranges: Vec::new(),
            skeleton_met: AtomicBool::new(false),
            lines_unreadable: AtomicBool::new(false),
            sup: None,
            locations: OnceLock::new(),
        };
        data.index_units();
        data
    }

    fn section(&self, id: SectionId) -> &[u8] {
        self.bytes_of(&self.sections, id)
    }

    fn bytes_of<'s>(&'s self, sections: &'s [(SectionId, SectionBytes)], id: SectionId) -> &'s [u8] {
        for (section, bytes) in sections {
            if *section == id {
                return match bytes {
                    SectionBytes::InFile(start, end) => self.image.get(*start..*end).unwrap_or_default(),
                    SectionBytes::Owned(bytes) => bytes,
                };
            }
        }
        &[]
    }

    /// Attach the dwz supplementary file that this DWARF's `.gnu_debugaltlink` names. dwz moves
    /// what several units (or files) share into it: strings (`DW_FORM_GNU_strp_alt`) and DIEs
    /// (`DW_FORM_GNU_ref_alt`), among them the abstract DIEs naming inlined functions.
    pub(super) fn set_sup(&mut self, sup: DwarfData) {
        self.sup = Some(Box::new(sup));
    }

    /// A gimli view of the sections (and of the supplementary file's, as its `sup`); cheap (no
    /// parsing), made once per batch of lookups.
    pub(super) fn view(&self) -> Dwarf<'_> {
        self.view_of(false)
    }

    /// [`Self::view`], with the location lists (read on first use).
    fn view_with_locations(&self) -> Dwarf<'_> {
        self.view_of(true)
    }

    fn view_of(&self, with_locations: bool) -> Dwarf<'_> {
        let locations: &[(SectionId, SectionBytes)] = if with_locations {
            self.locations.get_or_init(|| super::module::sections_in(&self.image, &LOCATION_SECTIONS))
        } else {
            &[]
        };
        let load = |id: SectionId| -> Result<Slice<'_>, std::convert::Infallible> {
            let bytes = if LOCATION_SECTIONS.contains(&id) { self.bytes_of(locations, id) } else { self.section(id) };
            Ok(EndianSlice::new(bytes, self.endian))
        };
        let mut dwarf = match gimli::Dwarf::load(load) {
            Ok(dwarf) => dwarf,
            Err(never) => match never {},
        };
        if let Some(sup) = &self.sup {
            dwarf.set_sup(sup.view());
        }
        dwarf
    }

    fn index_units(&mut self) {
        let units = {
            let dwarf = self.view();
            let mut units = Vec::new();
            let mut headers = dwarf.units();
            while let Ok(Some(header)) = headers.next() {
                let Some(offset) = header.debug_info_offset() else {
                    continue;
                };
                let end = offset.0.saturating_add(header.length_including_self());
                units.push(UnitEntry { offset: offset.0, end, basics: OnceLock::new(), tables: OnceLock::new() });
            }
            units
        };
        self.units = units;
        let dwarf = self.view();

        // LLVM's DWARFDebugAranges::generate + construct.
        let mut endpoints: Vec<(u64, usize, bool)> = Vec::new();
        let mut described = vec![false; self.units.len()];
        let mut headers = dwarf.debug_aranges.headers();
        while let Ok(Some(header)) = headers.next() {
            let unit = self.unit_containing(header.debug_info_offset().0);
            let mut entries = header.entries();
            while let Ok(Some(entry)) = entries.next() {
                let low = entry.address();
                let high = low.wrapping_add(entry.length());
                if let Some(unit) = unit {
                    if low < high {
                        endpoints.push((low, unit, true));
                        endpoints.push((high, unit, false));
                    }
                }
            }
            if let Some(unit) = unit {
                if let Some(flag) = described.get_mut(unit) {
                    *flag = true;
                }
            }
        }
        for (index, described) in described.iter().enumerate() {
            if *described {
                continue;
            }
            for (low, high) in self.unit_ranges(&dwarf, index) {
                if low < high {
                    endpoints.push((low, index, true));
                    endpoints.push((high, index, false));
                }
            }
        }
        endpoints.sort_by_key(|e| e.0);
        let mut valid: BTreeMap<usize, usize> = BTreeMap::new();
        let mut aranges: Vec<(u64, u64, usize)> = Vec::new();
        let mut previous = u64::MAX;
        for (address, unit, is_start) in endpoints {
            if previous < address {
                if let Some((&lowest, _)) = valid.first_key_value() {
                    match aranges.last_mut() {
                        Some(last) if last.1 == previous && valid.contains_key(&last.2) => {
                            last.1 = address;
                        }
                        _ => aranges.push((previous, address, lowest)),
                    }
                }
            }
            if is_start {
                *valid.entry(unit).or_insert(0) += 1;
            } else if let Some(count) = valid.get_mut(&unit) {
                *count -= 1;
                if *count == 0 {
                    valid.remove(&unit);
                }
            }
            previous = address;
        }
        self.aranges = aranges;
    }

    /// Index of the unit whose bytes contain `offset` (LLVM's `getUnitForOffset`).
    fn unit_containing(&self, offset: usize) -> Option<usize> {
        let index = self.units.partition_point(|u| u.end <= offset);
        let unit = self.units.get(index)?;
        (unit.offset <= offset).then_some(index)
    }

    /// The unit DIE's own ranges, for units `.debug_aranges` does not describe.
    fn unit_ranges(&self, dwarf: &Dwarf<'_>, index: usize) -> Vec<(u64, u64)> {
        let mut ranges = Vec::new();
        let Some(unit) = self.full_unit(dwarf, index) else {
            return ranges;
        };
        let mut entries = unit.entries();
        let Ok(Some(root)) = entries.next_dfs() else {
            return ranges;
        };
        if let Ok(mut iter) = dwarf.die_ranges(&unit, root) {
            while let Ok(Some(range)) = iter.next() {
                ranges.push((range.begin, range.end));
            }
        }
        ranges
    }

    /// Parse the unit at `index` with gimli (abbreviations, root DIE, line program header),
    /// caching what later DIE reads need. A unit whose line program cannot be read (missing
    /// `.debug_line`, a bad header) is parsed without it, as LLVM does: its functions and
    /// inline chains stay, with line 0 and file `??` where the line table would have said.
    fn full_unit<'a>(&self, dwarf: &Dwarf<'a>, index: usize) -> Option<gimli::Unit<Slice<'a>>> {
        self.full_unit_and_lines(dwarf, index).map(|(unit, _)| unit)
    }

    /// [`Self::full_unit`], and whether the unit names a line program that could not be read.
    fn full_unit_and_lines<'a>(&self, dwarf: &Dwarf<'a>, index: usize) -> Option<(gimli::Unit<Slice<'a>>, bool)> {
        let entry = self.units.get(index)?;
        let header = dwarf.debug_info.header_from_offset(gimli::DebugInfoOffset(entry.offset)).ok()?;
        let (unit, lines_lost) = match dwarf.unit(header) {
            Ok(unit) => (unit, false),
            Err(_) => unit_without_lines(dwarf, header)?,
        };
        let _ = entry.basics.get_or_init(|| {
            Some(UnitBasics {
                abbreviations: unit.abbreviations.clone(),
                low_pc: unit.low_pc,
                str_offsets_base: unit.str_offsets_base,
                addr_base: unit.addr_base,
                loclists_base: unit.loclists_base,
                rnglists_base: unit.rnglists_base,
            })
        });
        Some((unit, lines_lost))
    }

    /// A unit for reading DIEs, rebuilt from the cached basics (no parsing but the header).
    fn light_unit<'a>(&self, dwarf: &Dwarf<'a>, index: usize) -> Option<gimli::Unit<Slice<'a>>> {
        let entry = self.units.get(index)?;
        let basics = match entry.basics.get() {
            Some(basics) => basics.as_ref()?,
            None => {
                // Not cached yet: a full parse fills the cache (or records the failure).
                if let Some(unit) = self.full_unit(dwarf, index) {
                    return Some(unit);
                }
                let _ = entry.basics.get_or_init(|| None);
                return None;
            }
        };
        let header = dwarf.debug_info.header_from_offset(gimli::DebugInfoOffset(entry.offset)).ok()?;
        Some(gimli::Unit {
            header,
            abbreviations: basics.abbreviations.clone(),
            name: None,
            comp_dir: None,
            low_pc: basics.low_pc,
            str_offsets_base: basics.str_offsets_base,
            addr_base: basics.addr_base,
            loclists_base: basics.loclists_base,
            rnglists_base: basics.rnglists_base,
            line_program: None,
            dwo_id: None,
        })
    }

    /// The unit covering `address`, as LLVM 14's `getCompileUnitForAddress` finds it.
    pub(super) fn unit_for_address(&self, address: u64) -> Option<usize> {
        let index = self.aranges.partition_point(|r| r.1 <= address);
        let range = self.aranges.get(index)?;
        (range.0 <= address).then_some(range.2)
    }

    /// `unit_for_address` of each of `addresses`, which are sorted: one walk over both.
    pub(super) fn units_for_sorted(&self, addresses: &[u64]) -> Vec<Option<usize>> {
        let mut ranges = self.aranges.iter().peekable();
        addresses
            .iter()
            .map(|&address| {
                while ranges.next_if(|r| r.1 <= address).is_some() {}
                ranges.peek().and_then(|r| (r.0 <= address).then_some(r.2))
            })
            .collect()
    }

    /// Whether the unit's tables are parsed already (a scheduling hint).
    pub(super) fn unit_is_parsed(&self, index: usize) -> bool {
        self.units.get(index).is_some_and(|u| u.tables.get().is_some())
    }

    /// Size in bytes of the unit's DIEs (a scheduling hint: parsing cost).
    pub(super) fn unit_size(&self, index: usize) -> usize {
        self.units.get(index).map_or(0, |u| u.end.saturating_sub(u.offset))
    }

    fn tables(&self, dwarf: &Dwarf<'_>, index: usize) -> Option<&UnitTables> {
        let entry = self.units.get(index)?;
        Some(entry.tables.get_or_init(|| self.parse_tables(dwarf, index).unwrap_or_default()))
    }

    /// Append the frames of `address` (innermost first) found in the DWARF; nothing when the
    /// address is in no unit. `unit` is `unit_for_address(address)`, passed in when known.
    pub(super) fn frames<'s>(
        &'s self,
        dwarf: &Dwarf<'s>,
        address: u64,
        unit: Option<usize>,
        hints: &mut Hints,
        out: &mut Vec<RawFrame<'s>>,
    ) {
        let Some(index) = unit.or_else(|| self.unit_for_address(address)) else {
            return;
        };
        let Some(tables) = self.tables(dwarf, index) else {
            return;
        };
        hints.enter_unit(index);
        let mut current = tables.subroutine_at(address, &mut hints.die);
        if current == NONE {
            // No function DIE: the line table alone, as LLVM does.
            if let Some(row) = tables.lines.row_at(address, &mut hints.row) {
                if let Some(file) = tables.lines.file(u64::from(row.file)) {
                    out.push(RawFrame {
                        function: None,
                        file: Some(file),
                        line: row.line,
                        column: u32::from(row.column),
                    });
                }
            }
            return;
        }
        let mut caller: Option<&Subroutine> = None;
        while let Some(sub) = tables.subroutines.get(current as usize) {
            let mut frame = RawFrame { function: self.subroutine_name(dwarf, index, sub), ..RawFrame::default() };
            match caller {
                None => {
                    if let Some(row) = tables.lines.row_at(address, &mut hints.row) {
                        if let Some(file) = tables.lines.file(u64::from(row.file)) {
                            frame.file = Some(file);
                            frame.line = row.line;
                            frame.column = u32::from(row.column);
                        }
                    }
                }
                Some(inner) => {
                    frame.file = tables.lines.file(inner.call_file);
                    frame.line = inner.call_line;
                    frame.column = inner.call_column;
                }
            }
            out.push(frame);
            if sub.is_subprogram || out.len() > tables.subroutines.len() {
                break;
            }
            caller = Some(sub);
            current = sub.parent;
        }
    }

    /// Where parameter `parameter` of `function` (a subprogram, or a call of it inlined) is at
    /// `address`, which its code covers: the location expression valid there (from its location
    /// list, or its one location), with the encoding to read it and the frame base of the
    /// subprogram holding the code. `None` when the DWARF does not say (no such function at the
    /// address, no such parameter, no location there: optimized out).
    pub(super) fn parameter_location(
        &self,
        address: u64,
        function: &str,
        parameter: &str,
    ) -> Option<super::ParameterLocation> {
        let dwarf = self.view_with_locations();
        let index = self.unit_for_address(address)?;
        let tables = self.tables(&dwarf, index)?;
        let unit = self.light_unit(&dwarf, index)?;
        // From the innermost subroutine at the address out to its subprogram.
        let mut current = tables.subroutine_at(address, &mut 0);
        let (mut found, mut subprogram) = (None, None);
        for _ in 0..MAX_NESTING {
            let Some(sub) = tables.subroutines.get(current as usize) else { break };
            if found.is_none() && self.subroutine_name(&dwarf, index, sub) == Some(function) {
                found = Some(sub);
            }
            if sub.is_subprogram {
                subprogram = Some(sub);
                break;
            }
            current = sub.parent;
        }
        let (found, subprogram) = (found?, subprogram?);
        let location = self.child_location(&dwarf, &unit, index, found.die, parameter, address)?;
        let frame_base = {
            let mut entries = unit.entries_at_offset(gimli::UnitOffset(subprogram.die)).ok()?;
            let die = entries.next_dfs().ok()??;
            match die.attr_value(gimli::DW_AT_frame_base) {
                Some(AttributeValue::Exprloc(expression)) => Some(expression.0.slice().to_vec()),
                _ => None,
            }
        };
        Some(super::ParameterLocation {
            expression: location,
            frame_base,
            encoding: unit.encoding(),
            big_endian: self.endian == RunTimeEndian::Big,
        })
    }

    /// The location at `address` of the formal parameter `name` among the children of the DIE
    /// at `die`.
    fn child_location(
        &self,
        dwarf: &Dwarf<'_>,
        unit: &gimli::Unit<Slice<'_>>,
        index: usize,
        die: usize,
        name: &str,
        address: u64,
    ) -> Option<Vec<u8>> {
        let mut entries = unit.entries_at_offset(gimli::UnitOffset(die)).ok()?;
        let depth = entries.next_dfs().ok()??.depth();
        while let Ok(Some(child)) = entries.next_dfs() {
            if child.depth() <= depth {
                break;
            }
            if child.depth() != depth + 1 || child.tag() != gimli::DW_TAG_formal_parameter {
                continue;
            }
            let offset = child.offset().0;
            let value = child.attr_value(gimli::DW_AT_location);
            if self.die_name(dwarf, index, offset) != Some(name.as_bytes()) {
                continue;
            }
            return match value? {
                AttributeValue::Exprloc(expression) => Some(expression.0.slice().to_vec()),
                value => {
                    let mut list = dwarf.attr_locations(unit, value).ok()??;
                    while let Ok(Some(entry)) = list.next() {
                        if entry.range.begin <= address && address < entry.range.end {
                            return Some(entry.data.0.slice().to_vec());
                        }
                    }
                    None
                }
            };
        }
        None
    }

    fn subroutine_name<'s>(&'s self, dwarf: &Dwarf<'s>, unit: usize, sub: &'s Subroutine) -> Option<&'s str> {
        sub.name
            .get_or_init(|| {
                let raw = self.die_name(dwarf, unit, sub.die)?;
                let raw = String::from_utf8_lossy(raw);
                Some(match demangle(&raw) {
                    Some(demangled) => demangled.into_boxed_str(),
                    None => raw.into_owned().into_boxed_str(),
                })
            })
            .as_deref()
    }

    /// LLVM's `getSubroutineName(LinkageName)`: the first linkage name, else the first name,
    /// found on the DIE or through its specification/abstract origin (a depth-first worklist,
    /// specification first, each DIE visited once). One walk serves both searches: it visits
    /// the same DIEs in the same order either way.
    fn die_name<'a>(&self, dwarf: &Dwarf<'a>, unit: usize, die: usize) -> Option<&'a [u8]> {
        let start = DieRef { in_sup: false, unit, die };
        let mut seen: Vec<DieRef> = vec![start];
        let mut worklist: Vec<DieRef> = vec![start];
        let mut short_name = None;
        while let Some(next) = worklist.pop() {
            let (data, view) = if next.in_sup {
                match (self.sup.as_deref(), dwarf.sup()) {
                    (Some(data), Some(view)) => (data, view),
                    _ => continue,
                }
            } else {
                (self, dwarf)
            };
            let Some(found) = data.read_name_attrs(view, next) else {
                continue;
            };
            if found.linkage_name.is_some() {
                return found.linkage_name;
            }
            if short_name.is_none() {
                short_name = found.name;
            }
            for reference in [found.origin, found.specification].into_iter().flatten() {
                // A supplementary file's own references stay in it.
                let reference = match reference {
                    Reference::Here(unit, die) => DieRef { in_sup: next.in_sup, unit, die },
                    Reference::Sup(offset) if !next.in_sup => {
                        let Some((unit, die)) = self.sup.as_deref().and_then(|sup| sup.die_at(offset)) else {
                            continue;
                        };
                        DieRef { in_sup: true, unit, die }
                    }
                    Reference::Sup(_) => continue,
                };
                if seen.len() < MAX_NAME_HOPS && !seen.contains(&reference) {
                    seen.push(reference);
                    worklist.push(reference);
                }
            }
        }
        short_name
    }

    fn read_name_attrs<'a>(&self, dwarf: &Dwarf<'a>, at: DieRef) -> Option<NameAttrs<'a>> {
        let unit = self.light_unit(dwarf, at.unit)?;
        let mut entries = unit.header.entries_raw(&unit.abbreviations, Some(gimli::UnitOffset(at.die))).ok()?;
        let abbrev = entries.read_abbreviation().ok()??;
        let mut found = NameAttrs::default();
        for spec in abbrev.attributes() {
            let attr = entries.read_attribute(*spec).ok()?;
            match attr.name() {
                gimli::DW_AT_linkage_name | gimli::DW_AT_MIPS_linkage_name if found.linkage_name.is_none() => {
                    found.linkage_name = attr_bytes(dwarf, &unit, attr.value());
                }
                gimli::DW_AT_name if found.name.is_none() => {
                    found.name = attr_bytes(dwarf, &unit, attr.value());
                }
                gimli::DW_AT_abstract_origin if found.origin.is_none() => {
                    found.origin = self.reference(at.unit, attr.value());
                }
                gimli::DW_AT_specification if found.specification.is_none() => {
                    found.specification = self.reference(at.unit, attr.value());
                }
                _ => {}
            }
        }
        Some(found)
    }

    /// A reference attribute of a DIE of unit `unit_index`.
    fn reference(&self, unit_index: usize, value: AttributeValue<Slice<'_>>) -> Option<Reference> {
        match value {
            AttributeValue::UnitRef(offset) => Some(Reference::Here(unit_index, offset.0)),
            AttributeValue::DebugInfoRef(offset) => {
                let (unit, die) = self.die_at(offset.0)?;
                Some(Reference::Here(unit, die))
            }
            AttributeValue::DebugInfoRefSup(offset) => Some(Reference::Sup(offset.0)),
            _ => None,
        }
    }

    /// The DIE at `.debug_info` offset `offset`, as (unit index, unit offset).
    fn die_at(&self, offset: usize) -> Option<(usize, usize)> {
        let unit = self.unit_containing(offset)?;
        let start = self.units.get(unit)?.offset;
        Some((unit, offset.checked_sub(start)?))
    }

    /// Whether an address was looked up in a skeleton unit of split DWARF, whose functions and
    /// inlined calls are in a `.dwo`/`.dwp` file leakcheck does not read: its answers have the
    /// symbol table's function and the line table's line, without inlined frames.
    pub(super) fn skeleton_met(&self) -> bool {
        self.skeleton_met.load(Ordering::Relaxed)
    }

    /// Whether an address was looked up in a unit whose line program could not be read (a
    /// damaged header, or rows that stop being readable partway): its innermost frames have no
    /// file and line, or those of the rows read before the damage. LLVM 14 warns on stderr.
    pub(super) fn lines_unreadable(&self) -> bool {
        self.lines_unreadable.load(Ordering::Relaxed)
    }

    fn parse_tables(&self, dwarf: &Dwarf<'_>, index: usize) -> Option<UnitTables> {
        let (unit, header_lost) = self.full_unit_and_lines(dwarf, index)?;
        if is_skeleton(&unit) {
            self.skeleton_met.store(true, Ordering::Relaxed);
        }
        let (lines, rows_lost) = parse_line_table(dwarf, &unit);
        if header_lost || rows_lost {
            self.lines_unreadable.store(true, Ordering::Relaxed);
        }
        let mut tables = UnitTables { lines, ..UnitTables::default() };
        let _ = parse_subroutines(dwarf, &unit, &mut tables);
        Some(tables)
    }
}

#[derive(Debug, Default)]
struct NameAttrs<'a> {
    linkage_name: Option<&'a [u8]>,
    name: Option<&'a [u8]>,
    origin: Option<Reference>,
    specification: Option<Reference>,
}

/// Where a reference attribute points.
#[derive(Debug, Clone, Copy)]
enum Reference {
    /// (unit index, unit offset) in the same file.
    Here(usize, usize),
    /// A `.debug_info` offset in the dwz supplementary file (`DW_FORM_GNU_ref_alt`).
    Sup(usize),
}

impl UnitTables {
    /// LLVM's `getSubroutineForAddress`.
    fn subroutine_at(&self, address: u64, hint: &mut usize) -> u32 {
        let index = partition_from(&self.die_map, *hint, |r| r.0 <= address);
        *hint = index;
        if index == 0 {
            return NONE;
        }
        match self.die_map.get(index - 1) {
            Some(&(_, high, sub)) if address < high => sub,
            _ => NONE,
        }
    }
}

impl LineTable {
    /// LLVM's `lookupAddress`: the sequence is the first whose end is past the address; the
    /// row is the last one at or before the address (the end-of-sequence row excluded).
    fn row_at(&self, address: u64, hint: &mut usize) -> Option<Row> {
        let index = self.sequences.partition_point(|s| s.high <= address);
        let sequence = self.sequences.get(index)?;
        if address < sequence.low {
            return None;
        }
        let candidates =
            self.rows.get(sequence.first.saturating_add(1)..sequence.last.saturating_sub(1)).unwrap_or_default();
        // The hint is a row index; it only helps inside the same sequence.
        let local_hint = hint.wrapping_sub(sequence.first);
        let position = partition_from(candidates, local_hint, |r| r.address <= address);
        *hint = sequence.first + position;
        self.rows.get(sequence.first + position).copied()
    }

    fn file(&self, index: u64) -> Option<&str> {
        self.files.get(usize::try_from(index).ok()?).and_then(|f| f.as_deref())
    }
}

/// What gimli's `Unit::new` reads from the unit's root DIE, but the line program: for a unit
/// whose line program gimli cannot parse (`Unit::new` then fails as a whole), with whether the
/// root DIE names one (`DW_AT_stmt_list`: then it is the line program that failed). `None`
/// when the root DIE cannot be read, or its `DW_AT_low_pc` cannot be resolved.
fn unit_without_lines<'a>(
    dwarf: &Dwarf<'a>,
    header: gimli::UnitHeader<Slice<'a>>,
) -> Option<(gimli::Unit<Slice<'a>>, bool)> {
    let encoding = header.encoding();
    let file_type = gimli::DwarfFileType::Main;
    let mut unit = gimli::Unit {
        abbreviations: dwarf.abbreviations(&header).ok()?,
        name: None,
        comp_dir: None,
        low_pc: 0,
        str_offsets_base: gimli::DebugStrOffsetsBase::default_for_encoding_and_file(encoding, file_type),
        addr_base: gimli::DebugAddrBase(0),
        loclists_base: gimli::DebugLocListsBase::default_for_encoding_and_file(encoding, file_type),
        rnglists_base: gimli::DebugRngListsBase::default_for_encoding_and_file(encoding, file_type),
        line_program: None,
        dwo_id: None,
        header,
    };
    let mut low_pc = None;
    let mut names_lines = false;
    {
        // The header and abbreviations only: the bases are assigned while the DIE is read.
        let mut entries = unit.header.entries(&unit.abbreviations);
        let root = entries.next_dfs().ok()??;
        for attr in root.attrs() {
            match (attr.name(), attr.value()) {
                (gimli::DW_AT_low_pc, value) => low_pc = Some(value),
                (gimli::DW_AT_stmt_list, _) => names_lines = true,
                (gimli::DW_AT_str_offsets_base, AttributeValue::DebugStrOffsetsBase(base)) => {
                    unit.str_offsets_base = base
                }
                (gimli::DW_AT_addr_base | gimli::DW_AT_GNU_addr_base, AttributeValue::DebugAddrBase(base)) => {
                    unit.addr_base = base
                }
                (gimli::DW_AT_loclists_base, AttributeValue::DebugLocListsBase(base)) => unit.loclists_base = base,
                (
                    gimli::DW_AT_rnglists_base | gimli::DW_AT_GNU_ranges_base,
                    AttributeValue::DebugRngListsBase(base),
                ) => unit.rnglists_base = base,
                _ => {}
            }
        }
    }
    if let Some(value) = low_pc {
        // A base that cannot be resolved would shift every range of the unit: better no unit
        // than wrong lines (gimli fails too).
        if let Some(address) = dwarf.attr_address(&unit, value).ok()? {
            unit.low_pc = address;
        }
    }
    Some((unit, names_lines))
}

/// Whether `unit` is the skeleton of a split unit (`-gsplit-dwarf`): DWARF 5's
/// `DW_UT_skeleton`, or a unit DIE naming its `.dwo` file (`DW_AT_dwo_name`, GNU's DWARF 4
/// `DW_AT_GNU_dwo_name`) or its id (`DW_AT_GNU_dwo_id`, which gimli reads into `dwo_id`).
fn is_skeleton(unit: &gimli::Unit<Slice<'_>>) -> bool {
    if matches!(unit.header.type_(), gimli::UnitType::Skeleton(_)) || unit.dwo_id.is_some() {
        return true;
    }
    let mut entries = unit.entries();
    let Ok(Some(root)) = entries.next_dfs() else {
        return false;
    };
    root.attrs().iter().any(|attr| matches!(attr.name(), gimli::DW_AT_dwo_name | gimli::DW_AT_GNU_dwo_name))
}

fn attr_bytes<'a>(
    dwarf: &Dwarf<'a>,
    unit: &gimli::Unit<Slice<'a>>,
    value: AttributeValue<Slice<'a>>,
) -> Option<&'a [u8]> {
    dwarf.attr_string(unit, value).ok().map(|s| s.slice())
}

/// The unit's line table, and whether its rows stopped being readable partway (the rows read
/// before are kept, as LLVM keeps them).
fn parse_line_table(dwarf: &Dwarf<'_>, unit: &gimli::Unit<Slice<'_>>) -> (LineTable, bool) {
    let mut table = LineTable::default();
    let Some(program) = unit.line_program.clone() else {
        return (table, false);
    };
    let header = program.header();
    let comp_dir = unit.comp_dir.map(|d| d.slice()).unwrap_or_default();
    let version = header.version();
    let directories: Vec<&[u8]> =
        header.include_directories().iter().map(|d| attr_bytes(dwarf, unit, *d).unwrap_or_default()).collect();
    let first_index = usize::from(version < 5);
    table.files = std::iter::repeat_n(None, first_index)
        .chain(header.file_names().iter().map(|file| {
            let name = attr_bytes(dwarf, unit, file.path_name())?;
            Some(llvm_file_path(version, comp_dir, &directories, file.directory_index(), name))
        }))
        .collect();

    let mut rows = program.rows();
    let mut first: Option<usize> = None;
    let mut damaged = false;
    loop {
        let row = match rows.next_row() {
            Ok(Some((_, row))) => row,
            Ok(None) => break,
            Err(_) => {
                damaged = true;
                break;
            }
        };
        let index = table.rows.len();
        table.rows.push(Row {
            address: row.address(),
            file: row.file_index() as u16,
            line: row.line().map_or(0, |l| l.get() as u32),
            column: match row.column() {
                gimli::ColumnType::LeftEdge => 0,
                gimli::ColumnType::Column(c) => c.get() as u16,
            },
        });
        let first_row = *first.get_or_insert(index);
        if row.end_sequence() {
            let low = table.rows.get(first_row).map_or(0, |r| r.address);
            let high = row.address();
            if low < high {
                table.sequences.push(Sequence { low, high, first: first_row, last: index + 1 });
            }
            first = None;
        }
    }
    table.sequences.sort_by_key(|s| s.high);
    (table, damaged)
}

/// LLVM 14's `Prologue::getFileNameByIndex` with `AbsoluteFilePath`.
fn llvm_file_path(version: u16, comp_dir: &[u8], directories: &[&[u8]], directory_index: u64, name: &[u8]) -> Box<str> {
    if is_absolute(name) {
        return String::from_utf8_lossy(name).into();
    }
    let index = usize::try_from(directory_index).unwrap_or(usize::MAX);
    let include_dir: &[u8] = if version >= 5 {
        directories.get(index).copied().unwrap_or_default()
    } else if index > 0 {
        directories.get(index - 1).copied().unwrap_or_default()
    } else {
        &[]
    };
    let mut path: Vec<u8> = Vec::with_capacity(comp_dir.len() + include_dir.len() + name.len() + 2);
    if !comp_dir.is_empty() && !is_absolute(include_dir) {
        path_append(&mut path, comp_dir);
    }
    path_append(&mut path, include_dir);
    path_append(&mut path, name);
    String::from_utf8_lossy(&path).into()
}

/// `llvm::sys::path::is_absolute` for POSIX or Windows paths.
fn is_absolute(path: &[u8]) -> bool {
    match path {
        [b'/' | b'\\', ..] => true,
        [drive, b':', b'/' | b'\\', ..] => drive.is_ascii_alphabetic(),
        _ => false,
    }
}

/// `llvm::sys::path::append` for one component (POSIX separators).
fn path_append(path: &mut Vec<u8>, component: &[u8]) {
    if component.is_empty() {
        return;
    }
    if path.last() == Some(&b'/') {
        let start = component.iter().position(|&b| b != b'/').unwrap_or(component.len());
        path.extend_from_slice(&component[start..]);
        return;
    }
    if !path.is_empty() && component.first() != Some(&b'/') {
        path.push(b'/');
    }
    path.extend_from_slice(component);
}

/// Walk every DIE of the unit once, recording subroutines and building LLVM's address -> DIE
/// map (`DWARFUnit::updateAddressDieMap`).
fn parse_subroutines(dwarf: &Dwarf<'_>, unit: &gimli::Unit<Slice<'_>>, tables: &mut UnitTables) -> gimli::Result<()> {
    let mut map: BTreeMap<u64, (u64, u32)> = BTreeMap::new();
    let mut entries = unit.header.entries_raw(&unit.abbreviations, None)?;
    // context[d]: the nearest subroutine enclosing the DIEs at depth d.
    let mut context: Vec<u32> = vec![NONE];
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    let mut seen_root = false;
    // Depth of the DIE `entries` started at (it counts from 0 again after a jump).
    let mut base_depth: isize = 0;
    let skippable_types = is_c(unit);
    while !entries.is_empty() {
        let depth = base_depth + entries.next_depth();
        let offset = entries.next_offset();
        let Some(abbrev) = entries.read_abbreviation()? else {
            // A null entry closing the root's children ends the unit (LLVM stops there too).
            if base_depth + entries.next_depth() <= 0 {
                break;
            }
            continue;
        };
        let Ok(depth) = usize::try_from(depth) else {
            break;
        };
        if depth == 0 && seen_root {
            break;
        }
        seen_root = true;
        if context.len() < depth + 1 {
            break;
        }
        context.truncate(depth + 1);
        let parent = context[depth];
        let tag = abbrev.tag();
        let mut this = parent;
        if tag == gimli::DW_TAG_subprogram || tag == gimli::DW_TAG_inlined_subroutine {
            let mut low_pc = None;
            let mut high_pc = None;
            let mut ranges_attr = None;
            let mut call_file = None;
            let mut call_line = None;
            let mut call_column = None;
            for spec in abbrev.attributes() {
                let attr = entries.read_attribute(*spec)?;
                match attr.name() {
                    gimli::DW_AT_low_pc if low_pc.is_none() => low_pc = Some(attr.value()),
                    gimli::DW_AT_high_pc if high_pc.is_none() => high_pc = Some(attr.value()),
                    gimli::DW_AT_ranges if ranges_attr.is_none() => ranges_attr = Some(attr.value()),
                    gimli::DW_AT_call_file if call_file.is_none() => {
                        call_file = Some(match attr.value() {
                            AttributeValue::FileIndex(i) => i,
                            other => other.udata_value().unwrap_or(0),
                        })
                    }
                    gimli::DW_AT_call_line if call_line.is_none() => {
                        call_line = Some(attr.value().udata_value().unwrap_or(0) as u32)
                    }
                    gimli::DW_AT_call_column if call_column.is_none() => {
                        call_column = Some(attr.value().udata_value().unwrap_or(0) as u32)
                    }
                    _ => {}
                }
            }
            let Ok(index) = u32::try_from(tables.subroutines.len()) else {
                break;
            };
            tables.subroutines.push(Subroutine {
                die: offset.0,
                parent,
                is_subprogram: tag == gimli::DW_TAG_subprogram,
                call_file: call_file.unwrap_or(0),
                call_line: call_line.unwrap_or(0),
                call_column: call_column.unwrap_or(0),
                name: OnceLock::new(),
            });
            this = index;

            ranges.clear();
            die_ranges(dwarf, unit, low_pc, high_pc, ranges_attr, &mut ranges);
            for &(low, high) in &ranges {
                insert_range(&mut map, low, high, index);
            }
        } else if abbrev.has_children() && cannot_hold_code(tag, skippable_types) {
            // Jump over the children when the DIE says where its sibling is: they cannot
            // contain functions, and walking them is most of the parsing time.
            let specs = abbrev.attributes();
            let Some(sibling) = specs.iter().position(|s| s.name() == gimli::DW_AT_sibling) else {
                entries.skip_attributes(specs)?;
                context.push(this);
                continue;
            };
            entries.skip_attributes(&specs[..sibling])?;
            let target = entries.read_attribute(specs[sibling])?.value();
            match target {
                AttributeValue::UnitRef(target) if target.0 > offset.0 => {
                    entries = unit.header.entries_raw(&unit.abbreviations, Some(target))?;
                    base_depth = depth as isize;
                    continue;
                }
                _ => entries.skip_attributes(&specs[sibling + 1..])?,
            }
        } else {
            entries.skip_attributes(abbrev.attributes())?;
        }
        if abbrev.has_children() {
            context.push(this);
        }
    }
    tables.die_map = map.into_iter().map(|(low, (high, sub))| (low, high, sub)).collect();
    Ok(())
}

/// Whether a DIE with this tag has only children that cannot be functions: call sites (their
/// parameters), enumerations, array and function types, and, in C (`c_types`), structures and
/// unions (in C++ they hold member functions).
fn cannot_hold_code(tag: gimli::DwTag, c_types: bool) -> bool {
    matches!(
        tag,
        gimli::DW_TAG_call_site
            | gimli::DW_TAG_GNU_call_site
            | gimli::DW_TAG_enumeration_type
            | gimli::DW_TAG_subroutine_type
            | gimli::DW_TAG_array_type
    ) || (c_types && matches!(tag, gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type))
}

/// Whether the unit is C (`DW_AT_language` of its root DIE).
fn is_c(unit: &gimli::Unit<Slice<'_>>) -> bool {
    let mut entries = unit.entries();
    let Ok(Some(root)) = entries.next_dfs() else {
        return false;
    };
    matches!(
        root.attr_value(gimli::DW_AT_language),
        Some(AttributeValue::Language(
            gimli::DW_LANG_C89 | gimli::DW_LANG_C | gimli::DW_LANG_C99 | gimli::DW_LANG_C11 | gimli::DW_LANG_C17
        ))
    )
}

/// LLVM's `DWARFDie::getAddressRanges`: low/high pc, else `DW_AT_ranges`.
fn die_ranges<'a>(
    dwarf: &Dwarf<'a>,
    unit: &gimli::Unit<Slice<'a>>,
    low_pc: Option<AttributeValue<Slice<'a>>>,
    high_pc: Option<AttributeValue<Slice<'a>>>,
    ranges_attr: Option<AttributeValue<Slice<'a>>>,
    out: &mut Vec<(u64, u64)>,
) {
    if let Some(low) = low_pc.and_then(|v| dwarf.attr_address(unit, v).ok().flatten()) {
        let high = match high_pc {
            Some(AttributeValue::Addr(high)) => Some(high),
            Some(AttributeValue::DebugAddrIndex(index)) => dwarf.address(unit, index).ok(),
            Some(other) => other.udata_value().map(|size| low.wrapping_add(size)),
            None => None,
        };
        if let Some(high) = high {
            out.push((low, high));
            return;
        }
    }
    if let Some(value) = ranges_attr {
        if let Ok(Some(mut iter)) = dwarf.attr_ranges(unit, value) {
            while let Ok(Some(range)) = iter.next() {
                out.push((range.begin, range.end));
            }
        }
    }
}

/// One step of LLVM's `updateAddressDieMap`: a range splits the range it starts inside of.
fn insert_range(map: &mut BTreeMap<u64, (u64, u32)>, low: u64, high: u64, sub: u32) {
    if low == high {
        return;
    }
    if let Some((&start, &(end, previous))) = map.range(..=low).next_back() {
        if low < end {
            if high < end {
                map.insert(high, (end, previous));
            }
            if low > start {
                map.insert(start, (low, previous));
            }
        }
    }
    map.insert(low, (high, sub));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_are_joined_like_llvm() {
        let dirs: Vec<&[u8]> = vec![b"./build-debug", b"../Programs", b"/usr/include"];
        assert_eq!(&*llvm_file_path(5, b"./build-debug", &dirs, 1, b"python.c"), "./build-debug/../Programs/python.c");
        // A relative directory 0 still gets the comp dir in front (LLVM 14, Debian's libc6-dbg:
        // `./intl/./intl/dcigettext.c`).
        assert_eq!(
            &*llvm_file_path(5, b"./build-debug", &dirs, 0, b"python.c"),
            "./build-debug/./build-debug/python.c"
        );
        assert_eq!(&*llvm_file_path(5, b"/cwd", &dirs, 2, b"stdio.h"), "/usr/include/stdio.h");
        assert_eq!(&*llvm_file_path(5, b"/cwd", &dirs, 1, b"/abs.c"), "/abs.c");
        // DWARF 4: directory 0 is the comp dir, the others are 1-based.
        assert_eq!(&*llvm_file_path(4, b"/cwd/", &dirs, 0, b"a.c"), "/cwd/a.c");
        assert_eq!(&*llvm_file_path(4, b"/cwd", &dirs, 2, b"a.c"), "/cwd/../Programs/a.c");
        // Out-of-range directory: the comp dir alone.
        assert_eq!(&*llvm_file_path(4, b"/cwd", &dirs, 9, b"a.c"), "/cwd/a.c");
        assert_eq!(&*llvm_file_path(5, b"", &[], 0, b"a.c"), "a.c");
    }

    #[test]
    fn nested_ranges_split_their_parent() {
        let mut map = BTreeMap::new();
        insert_range(&mut map, 0x100, 0x200, 0);
        insert_range(&mut map, 0x140, 0x160, 1);
        insert_range(&mut map, 0x150, 0x158, 2);
        let flat: Vec<_> = map.into_iter().collect();
        assert_eq!(
            flat,
            vec![
                (0x100, (0x140, 0)),
                (0x140, (0x150, 1)),
                (0x150, (0x158, 2)),
                (0x158, (0x160, 1)),
                (0x160, (0x200, 0)),
            ]
        );
    }
}
