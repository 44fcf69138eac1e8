//! The ELF symbol table as `llvm-symbolizer` (LLVM 14 `SymbolizableObjectFile`) uses it: the
//! name of the symbol covering an address overrides the DWARF name of the outermost frame, and
//! names the function when there is no DWARF at all.
//!
//! Rules kept from LLVM: `.symtab`, or `.dynsym` when `.symtab` is empty; function, object,
//! no-type and ifunc symbols defined in a section; at one address the largest symbol wins; a
//! symbol of size 0 covers everything up to the next one; a local symbol's file is the
//! `STT_FILE` symbol before it (used when the DWARF has no file for the address).

#![forbid(unsafe_code)]

use std::sync::OnceLock;

use object::{Object, ObjectSymbol, SymbolSection};

use super::demangle::demangle;
use super::search::partition_from;

const STT_NOTYPE: u8 = 0;
const STT_OBJECT: u8 = 1;
const STT_FUNC: u8 = 2;
const STT_FILE: u8 = 4;
const STT_GNU_IFUNC: u8 = 10;
const STB_LOCAL: u8 = 0;

#[derive(Debug, Default)]
pub(super) struct SymbolTable {
    /// Sorted by address, one per address.
    symbols: Vec<Symbol>,
    /// `(symbol index, name)` of the `STT_FILE` symbols, in table order.
    files: Vec<(usize, Box<str>)>,
}

#[derive(Debug)]
struct Symbol {
    address: u64,
    size: u64,
    name: Box<str>,
    /// Table index of a local symbol, 0 for others.
    local_index: usize,
    demangled: OnceLock<Option<Box<str>>>,
}

/// What the symbol table says about an address.
#[derive(Debug, Clone, Copy)]
pub(super) struct SymbolMatch<'a> {
    pub name: &'a str,
    pub start: u64,
    pub size: u64,
    pub file: Option<&'a str>,
}

impl SymbolTable {
    pub(super) fn new(file: &object::File<'_>) -> SymbolTable {
        let mut table = SymbolTable::default();
        let mut add = |symbol: object::Symbol<'_, '_>| {
            let (st_type, st_bind) = match symbol.flags() {
                object::SymbolFlags::Elf { st_info, .. } => (st_info.st_type().0, st_info.st_bind().0),
                _ => return,
            };
            let name = String::from_utf8_lossy(symbol.name_bytes().unwrap_or_default());
            let index = symbol.index().0;
            let SymbolSection::Section(_) = symbol.section() else {
                if st_type == STT_FILE {
                    table.files.push((index, name.into()));
                }
                return;
            };
            if !matches!(st_type, STT_NOTYPE | STT_OBJECT | STT_FUNC | STT_GNU_IFUNC) {
                return;
            }
            table.symbols.push(Symbol {
                address: symbol.address(),
                size: symbol.size(),
                name: name.into(),
                local_index: if st_bind == STB_LOCAL { index } else { 0 },
                demangled: OnceLock::new(),
            });
        };
        let mut any = false;
        for symbol in file.symbols() {
            any = true;
            add(symbol);
        }
        if !any {
            for symbol in file.dynamic_symbols() {
                add(symbol);
            }
        }
        // Stable sort by (address, size), then keep the last of each address: the largest.
        table.symbols.sort_by_key(|s| (s.address, s.size));
        let mut kept: Vec<Symbol> = Vec::with_capacity(table.symbols.len());
        for symbol in table.symbols.drain(..) {
            match kept.last_mut() {
                Some(last) if last.address == symbol.address => *last = symbol,
                _ => kept.push(symbol),
            }
        }
        table.symbols = kept;
        table
    }

    /// The address of the symbol named `name` (as the table spells it, not demangled), if one
    /// is defined; the first in address order when several are.
    pub(super) fn address_of(&self, name: &str) -> Option<u64> {
        self.symbols.iter().find(|s| &*s.name == name).map(|s| s.address)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// LLVM's `getNameFromSymbolTable`, name demangled.
    pub(super) fn lookup(&self, address: u64, hint: &mut usize) -> Option<SymbolMatch<'_>> {
        let index = partition_from(&self.symbols, *hint, |s| s.address <= address);
        *hint = index;
        let symbol = self.symbols.get(index.checked_sub(1)?)?;
        if symbol.size != 0 && symbol.address.wrapping_add(symbol.size) <= address {
            return None;
        }
        let file = if symbol.local_index != 0 {
            let position = self.files.partition_point(|f| f.0 < symbol.local_index);
            position.checked_sub(1).and_then(|p| self.files.get(p)).map(|f| &*f.1)
        } else {
            None
        };
        let name = symbol
            .demangled
            .get_or_init(|| demangle(&symbol.name).map(String::into_boxed_str))
            .as_deref()
            .unwrap_or(&symbol.name);
        Some(SymbolMatch { name, start: symbol.address, size: symbol.size, file: file.filter(|f| !f.is_empty()) })
    }
}
