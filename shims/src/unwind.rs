//! In-process stack capture for allocation sites: DWARF CFI unwinding over the `.eh_frame`
//! data of every loaded module, read straight from memory, with a rule cache per address.
//!
//! CPython is built without frame pointers (Debian's `python3.11-dbg` uses `-Og`), so return
//! addresses come from CFI. [`Unwinder::refresh`] walks `dl_iterate_phdr` and keeps, per module,
//! its `PT_GNU_EH_FRAME` segment (`.eh_frame_hdr`, whose binary-search table finds a function's
//! FDE) and the `.eh_frame` it points to. The first time an address is unwound through, gimli
//! evaluates the CFI row for it; the resulting [`Rule`] (where the CFA, the return address and
//! the frame pointer are) is cached for the rest of the run. CPython's stacks revisit the same
//! few thousand return addresses, so after a short warm-up every frame is a hash lookup and two
//! stack reads. (framehop, tried first, keeps 509 rules in a direct-mapped cache: on CPython's
//! deep stacks it thrashed, and CFI parsing took most of the time.)
//!
//! Refreshing is not done inside an allocation hook (it takes the loader's lock), only at
//! regrtest's measurements: a module loaded in the middle of a repetition is unwound through
//! from the next one on, stacks through it are cut short until then. Addresses whose CFI uses
//! DWARF expressions (PLT stubs, signal trampolines) end a stack.
//!
//! [`Unwinder::capture`] starts from its own registers, skips the shim's frames, and records
//! return addresses (absolute). Stack memory is read only inside the current thread's stack, so a
//! wrong rule truncates a stack instead of faulting.
//!
//! Supported: x86_64 Linux. Elsewhere [`Unwinder::capture`] records nothing.

use std::collections::HashMap;
use std::ffi::{c_int, c_void, CStr};
use std::hash::BuildHasherDefault;
use std::ops::Range;

use gimli::{BaseAddresses, CfaRule, EhFrame, EhFrameHdr, NativeEndian, ParsedEhFrameHdr, RegisterRule, UnwindContext, UnwindSection};

use crate::hash::FastHasher;

type Slice = gimli::EndianSlice<'static, NativeEndian>;

/// A module as the harness needs it to symbolize: runtime addresses in `range` belong to the
/// ELF file `path`, at ELF virtual address `address - bias`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedModule {
    pub path: Vec<u8>,
    pub bias: u64,
    pub range: Range<u64>,
}

/// A module's unwind tables.
struct UnwindTables {
    module: LoadedModule,
    hdr: ParsedEhFrameHdr<Slice>,
    eh_frame: EhFrame<Slice>,
    bases: BaseAddresses,
}

/// How to go from a frame's registers to its caller's, at one address (x86_64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// CFA = (RSP or RBP) + offset; the return address is at CFA + `ra`; RBP is restored from
    /// CFA + offset, or unchanged.
    Frame { cfa_from_rbp: bool, cfa_offset: i32, ra: i32, rbp: Option<i32> },
    /// The stack ends here, or the CFI is beyond this unwinder (expressions, no FDE).
    Stop,
}

/// Slots of the direct-mapped rule cache in front of the rule map (24 bytes each).
const HOT_RULES: usize = 1 << 15;

/// The unwinder with the process's modules and the rules met so far.
pub struct Unwinder {
    tables: Vec<UnwindTables>,
    modules: Vec<LoadedModule>,
    /// Every rule computed, by address.
    rules: HashMap<u64, Rule, BuildHasherDefault<FastHasher>>,
    /// The rules used lately, direct-mapped by address: one multiply and one load per frame on a
    /// hit. (The map alone cost a probe sequence and a cache miss per frame.) Address 0 is empty.
    hot: Box<[(u64, Rule)]>,
    context: Box<UnwindContext<usize>>,
    /// The shim's own code: its frames are not part of an allocation site.
    own_range: Range<u64>,
}

impl std::fmt::Debug for Unwinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unwinder").field("modules", &self.modules.len()).field("rules", &self.rules.len()).finish()
    }
}

impl Unwinder {
    pub fn new() -> Self {
        let mut unwinder = Self {
            tables: Vec::new(),
            modules: Vec::new(),
            rules: HashMap::default(),
            hot: vec![(0, Rule::Stop); HOT_RULES].into_boxed_slice(),
            context: Box::new(UnwindContext::new()),
            own_range: 0..0,
        };
        unwinder.refresh();
        unwinder
    }

    pub fn modules(&self) -> &[LoadedModule] {
        &self.modules
    }

    /// Bring the module list up to date with the loader's. Not from inside an allocation hook.
    pub fn refresh(&mut self) {
        let mut found: Vec<Found> = Vec::new();
        // SAFETY: the callback only reads the loader's phdr data it is handed, and `found`
        // outlives the call.
        unsafe { libc::dl_iterate_phdr(Some(collect), (&mut found as *mut Vec<Found>).cast()) };
        let current: Vec<LoadedModule> = found.iter().map(|f| f.module.clone()).collect();
        if current == self.modules {
            return;
        }
        let own = Self::refresh as *const () as usize as u64;
        self.own_range = current.iter().find(|m| m.range.contains(&own)).map(|m| m.range.clone()).unwrap_or(0..0);
        // Rules of a module that went away, or whose addresses another module now uses, are
        // stale: start over (it happens at most once per module load).
        self.rules.clear();
        self.hot.fill((0, Rule::Stop));
        let mut tables: Vec<UnwindTables> = found.into_iter().filter_map(|f| f.tables).collect();
        tables.sort_by_key(|t| t.module.range.start);
        self.tables = tables;
        self.modules = current;
    }

    /// Record up to `out.len()` return addresses of the caller's stack, the shim's own frames
    /// left out; returns how many. `stack` is the current thread's stack range.
    #[inline(never)]
    pub fn capture(&mut self, stack: Range<u64>, out: &mut [u64]) -> usize {
        let Some((mut pc, mut sp, mut bp)) = current_registers() else { return 0 };
        let read = |addr: u64| -> Option<u64> {
            if addr.is_multiple_of(8) && stack.start <= addr && addr.checked_add(8)? <= stack.end {
                // SAFETY: an aligned address inside this thread's own mapped stack.
                Some(unsafe { std::ptr::read_volatile(addr as *const u64) })
            } else {
                None
            }
        };
        let mut n = 0;
        // The first address is exact (our own pc); every later one is a return address, whose
        // call instruction is the byte before.
        let mut lookup = pc;
        while n < out.len() {
            let slot = (lookup.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - HOT_RULES.trailing_zeros())) as usize;
            let rule = match self.hot[slot] {
                (address, rule) if address == lookup => rule,
                _ => {
                    let rule = self.rule_for(lookup);
                    self.hot[slot] = (lookup, rule);
                    rule
                }
            };
            let Rule::Frame { cfa_from_rbp, cfa_offset, ra, rbp } = rule else { break };
            let Some(cfa) = (if cfa_from_rbp { bp } else { sp }).checked_add_signed(i64::from(cfa_offset)) else {
                break;
            };
            let Some(return_address) = cfa.checked_add_signed(i64::from(ra)).and_then(read) else { break };
            if let Some(offset) = rbp {
                match cfa.checked_add_signed(i64::from(offset)).and_then(read) {
                    Some(value) => bp = value,
                    None => break,
                }
            }
            if return_address == 0 || cfa <= sp {
                break; // the end of the stack, or no progress
            }
            sp = cfa;
            pc = return_address;
            lookup = pc - 1;
            if !self.own_range.contains(&pc) {
                out[n] = pc;
                n += 1;
            }
        }
        n
    }

    /// The rule for `address` from the map, computed on first use.
    fn rule_for(&mut self, address: u64) -> Rule {
        if let Some(&rule) = self.rules.get(&address) {
            return rule;
        }
        let rule = self.compute_rule(address);
        self.rules.insert(address, rule);
        rule
    }

    /// Evaluate the CFI row for `address` (absolute) into a [`Rule`].
    #[cold]
    fn compute_rule(&mut self, address: u64) -> Rule {
        let index = self.tables.partition_point(|t| t.module.range.start <= address);
        let Some(tables) = index.checked_sub(1).map(|i| &self.tables[i]).filter(|t| t.module.range.contains(&address))
        else {
            return Rule::Stop;
        };
        let svma = address.wrapping_sub(tables.module.bias);
        let Some(table) = tables.hdr.table() else { return Rule::Stop };
        let Ok(fde) = table.fde_for_address(&tables.eh_frame, &tables.bases, svma, EhFrame::cie_from_offset) else {
            return Rule::Stop;
        };
        let Ok(row) = fde.unwind_info_for_address(&tables.eh_frame, &tables.bases, &mut self.context, svma) else {
            return Rule::Stop;
        };
        let (cfa_from_rbp, cfa_offset) = match *row.cfa() {
            CfaRule::RegisterAndOffset { register, offset } if register == gimli::X86_64::RSP => (false, offset),
            CfaRule::RegisterAndOffset { register, offset } if register == gimli::X86_64::RBP => (true, offset),
            _ => return Rule::Stop,
        };
        let ra = match row.register(gimli::X86_64::RA) {
            Some(RegisterRule::Offset(offset)) => offset,
            _ => return Rule::Stop, // undefined: the outermost frame
        };
        let rbp = match row.register(gimli::X86_64::RBP) {
            None | Some(RegisterRule::SameValue) => None,
            Some(RegisterRule::Offset(offset)) => Some(offset),
            Some(_) => return Rule::Stop,
        };
        match (i32::try_from(cfa_offset), i32::try_from(ra), rbp.map(i32::try_from).transpose()) {
            (Ok(cfa_offset), Ok(ra), Ok(rbp)) => Rule::Frame { cfa_from_rbp, cfa_offset, ra, rbp },
            _ => Rule::Stop,
        }
    }
}

impl Default for Unwinder {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn current_registers() -> Option<(u64, u64, u64)> {
    let (pc, sp, bp): (u64, u64, u64);
    // SAFETY: reads the program counter, stack and frame pointers; touches no memory.
    unsafe {
        std::arch::asm!(
            "lea {pc}, [rip]",
            "mov {sp}, rsp",
            "mov {bp}, rbp",
            pc = out(reg) pc,
            sp = out(reg) sp,
            bp = out(reg) bp,
            options(nomem, nostack, preserves_flags)
        );
    }
    Some((pc, sp, bp))
}

#[cfg(not(target_arch = "x86_64"))]
fn current_registers() -> Option<(u64, u64, u64)> {
    None
}

struct Found {
    module: LoadedModule,
    tables: Option<UnwindTables>,
}

unsafe extern "C" fn collect(
    info: *mut libc::dl_phdr_info,
    _size: usize,
    data: *mut c_void,
) -> c_int {
    // SAFETY: the loader hands a valid dl_phdr_info for the duration of the call, and `data` is
    // the Vec passed by `refresh`.
    let (info, found) = unsafe { (&*info, &mut *data.cast::<Vec<Found>>()) };
    if info.dlpi_phdr.is_null() || info.dlpi_phnum == 0 {
        return 0;
    }
    // SAFETY: dlpi_phdr points at dlpi_phnum program headers.
    let phdrs = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
    let bias = info.dlpi_addr;
    let loads: Vec<Range<u64>> = phdrs
        .iter()
        .filter(|p| p.p_type == libc::PT_LOAD)
        .map(|p| bias.wrapping_add(p.p_vaddr)..bias.wrapping_add(p.p_vaddr).wrapping_add(p.p_memsz))
        .collect();
    let (Some(lo), Some(hi)) = (
        loads.iter().map(|r| r.start).min(),
        loads.iter().map(|r| r.end).max(),
    ) else {
        return 0;
    };
    let path = if info.dlpi_name.is_null() {
        Vec::new()
    } else {
        // SAFETY: a NUL-terminated string owned by the loader.
        unsafe { CStr::from_ptr(info.dlpi_name) }
            .to_bytes()
            .to_vec()
    };
    let path = if path.is_empty() && found.is_empty() {
        // The first object is the executable, which the loader leaves unnamed.
        std::fs::read_link("/proc/self/exe")
            .map(|p| p.into_os_string().into_encoded_bytes())
            .unwrap_or_default()
    } else {
        path
    };
    let module = LoadedModule { path, bias, range: lo..hi };
    let tables = phdrs
        .iter()
        .find(|p| p.p_type == libc::PT_GNU_EH_FRAME)
        .and_then(|hdr| unwind_tables(&module, hdr.p_vaddr, hdr.p_memsz, &loads));
    found.push(Found { module, tables });
    0
}

/// A module's `.eh_frame_hdr` and the `.eh_frame` its header points at, both read from the mapped
/// image, with their addresses as the ELF file states them (bias removed).
fn unwind_tables(module: &LoadedModule, hdr_vaddr: u64, hdr_size: u64, loads: &[Range<u64>]) -> Option<UnwindTables> {
    let bias = module.bias;
    let hdr_avma = bias.wrapping_add(hdr_vaddr);
    loads.iter().find(|r| r.contains(&hdr_avma) && hdr_avma.checked_add(hdr_size).is_some_and(|end| end <= r.end))?;
    if hdr_size < 8 {
        return None;
    }
    // SAFETY: the PT_GNU_EH_FRAME segment lies inside a mapped PT_LOAD segment (checked above),
    // which stays mapped while the module is loaded.
    let hdr: &'static [u8] = unsafe { std::slice::from_raw_parts(hdr_avma as *const u8, hdr_size as usize) };
    let eh_frame_avma = decode_eh_frame_ptr(hdr[1], &hdr[4..], hdr_avma + 4, hdr_avma)?;
    let eh_segment = loads.iter().find(|r| r.contains(&eh_frame_avma))?;
    // SAFETY: from the start of .eh_frame to the end of its mapped PT_LOAD segment; gimli only
    // reads the records the header's table points at.
    let eh_frame: &'static [u8] =
        unsafe { std::slice::from_raw_parts(eh_frame_avma as *const u8, (eh_segment.end - eh_frame_avma) as usize) };
    let bases = BaseAddresses::default()
        .set_eh_frame_hdr(hdr_vaddr)
        .set_eh_frame(eh_frame_avma.wrapping_sub(bias));
    let hdr = EhFrameHdr::new(hdr, NativeEndian).parse(&bases, std::mem::size_of::<usize>() as u8).ok()?;
    Some(UnwindTables {
        module: module.clone(),
        hdr,
        eh_frame: EhFrame::new(eh_frame, NativeEndian),
        bases,
    })
}

/// Decode `.eh_frame_hdr`'s `eh_frame_ptr` (DW_EH_PE_* encoding `encoding`, value at `bytes`,
/// which sits at address `at`; `hdr` is the header's address for datarel).
fn decode_eh_frame_ptr(encoding: u8, bytes: &[u8], at: u64, hdr: u64) -> Option<u64> {
    let value: i128 = match encoding & 0x0f {
        0x00 => u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as i128, // absptr
        0x02 => u16::from_le_bytes(bytes.get(..2)?.try_into().ok()?) as i128,
        0x03 => u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as i128,
        0x04 => u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as i128,
        0x0a => i16::from_le_bytes(bytes.get(..2)?.try_into().ok()?) as i128,
        0x0b => i32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as i128,
        0x0c => i64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as i128,
        _ => return None,
    };
    let base: i128 = match encoding & 0x70 {
        0x00 => 0,
        0x10 => at as i128,  // pcrel
        0x30 => hdr as i128, // datarel: relative to .eh_frame_hdr
        _ => return None,
    };
    u64::try_from(base + value).ok()
}

/// The current thread's stack, from its `pthread` attributes.
pub fn current_thread_stack() -> Option<Range<u64>> {
    let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: pthread_getattr_np initialises `attr` on success; it is destroyed below.
    unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let mut addr: *mut c_void = std::ptr::null_mut();
        let mut size: usize = 0;
        let ok = libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        ok.then(|| addr as u64..addr as u64 + size as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eh_frame_pointer_encodings() {
        // pcrel sdata4, the usual: -16 from the field's address.
        assert_eq!(
            decode_eh_frame_ptr(0x1b, &(-16i32).to_le_bytes(), 0x1004, 0x1000),
            Some(0xff4)
        );
        assert_eq!(
            decode_eh_frame_ptr(0x03, &0x2000u32.to_le_bytes(), 0x1004, 0x1000),
            Some(0x2000)
        );
        assert_eq!(
            decode_eh_frame_ptr(0x3b, &8i32.to_le_bytes(), 0x1004, 0x1000),
            Some(0x1008)
        );
        assert_eq!(decode_eh_frame_ptr(0x1b, &[1, 2], 0, 0), None, "truncated");
        assert_eq!(
            decode_eh_frame_ptr(0x01, &[1, 2, 3, 4], 0, 0),
            None,
            "uleb128 is not used here"
        );
    }

    #[inline(never)]
    fn deep(n: u32, unwinder: &mut Unwinder, out: &mut [u64]) -> usize {
        if n == 0 {
            let stack = current_thread_stack().expect("stack bounds");
            return unwinder.capture(stack, out);
        }
        std::hint::black_box(deep(n - 1, unwinder, out))
    }

    #[test]
    fn captures_the_whole_call_chain_through_cfi() {
        let mut unwinder = Unwinder::new();
        assert!(!unwinder.modules().is_empty());
        // The test binary links the shim in: keep "our" frames this time, they are the test.
        let test_binary = std::mem::replace(&mut unwinder.own_range, 0..0);
        let mut out = [0u64; 64];
        let n = deep(10, &mut unwinder, &mut out);
        let in_test_binary = out[..n].iter().filter(|a| test_binary.contains(a)).count();
        assert!(
            in_test_binary >= 11,
            "{n} frames, {in_test_binary} in the test binary: {:x?}",
            &out[..n]
        );
        for &address in &out[..n] {
            assert!(
                unwinder
                    .modules()
                    .iter()
                    .any(|m| m.range.contains(&address)),
                "{address:#x}"
            );
        }
        // The same stack again (same call site) comes from the rule cache, with the same frames.
        let mut stacks = Vec::new();
        let mut rules = Vec::new();
        for _ in 0..2 {
            let n = deep(10, &mut unwinder, &mut out);
            stacks.push(out[..n].to_vec());
            rules.push(unwinder.rules.len());
        }
        assert_eq!(stacks[0], stacks[1]);
        assert_eq!(rules[0], rules[1], "no new rules for a known stack");
        // With the shim's (here: the test binary's) frames skipped, none of them is left.
        unwinder.own_range = test_binary.clone();
        let n = deep(3, &mut unwinder, &mut out);
        assert!(out[..n].iter().all(|a| !test_binary.contains(a)));
    }

    #[test]
    fn a_short_buffer_truncates_the_stack() {
        let mut unwinder = Unwinder::new();
        unwinder.own_range = 0..0;
        let mut out = [0u64; 4];
        assert_eq!(deep(10, &mut unwinder, &mut out), 4);
    }
}
