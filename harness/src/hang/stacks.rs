//! Native stacks of a stopped process: its modules from `/proc/PID/maps`, their unwind
//! information read from the ELF files with `object`, and framehop's DWARF CFI unwinder over a
//! [`ProcessMemory`]. Frames are then symbolized with leakcheck's symbolizer.
//!
//! framehop does not evaluate the CFI of glibc's signal trampoline (`__restore_rt`: a
//! `DW_CFA_def_cfa_expression` and `DW_CFA_expression`s into the signal's `ucontext`), so the
//! walk steps through a signal frame itself on x86-64: at an address whose bytes are the
//! trampoline's ([`RESTORE_RT`]), the interrupted registers are read from the kernel's
//! `rt_sigframe` ([`signal_return`]) and the walk goes on from the interrupted pc, as gdb does
//! (`<signal handler called>`). Other architectures' trampolines are not recognised: their walk
//! stops there.
//!
//! The caller provides the stopped process (registers and memory); this module only reads.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use framehop::{ExplicitModuleSectionInfo, FrameAddress, Module, Unwinder as _};
use object::{Object, ObjectSection, ObjectSegment};

use super::remote::{ProcessMemory, Registers};
use crate::symbolize::{Frame, Symbolizer};

type Unwinder = framehop::UnwinderNative<Vec<u8>, framehop::MayAllocateDuringUnwind>;
type Cache = framehop::CacheNative<framehop::MayAllocateDuringUnwind>;

/// Most native frames (addresses) recorded for a stuck thread: the innermost
/// `MAX_FRAMES - OUTERMOST_FRAMES`, then the outermost [`OUTERMOST_FRAMES`] (the thread's entry
/// point), the ones between left out ([`Unwound::omitted`]).
pub const MAX_FRAMES: usize = 64;
/// Outermost frames kept of a stack deeper than [`MAX_FRAMES`].
pub const OUTERMOST_FRAMES: usize = 16;
/// The walk stops here (bounded work): a deeper stack's outermost frames are not known.
pub const MAX_WALK: usize = 4096;

/// One address of an unwound stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackAddress {
    /// As the DWARF unwinder found it: the innermost pc (or, after a signal frame, the
    /// instruction the signal interrupted), or a return address.
    Unwound(FrameAddress),
    /// The signal trampoline a signal handler returned to (glibc's `__restore_rt`, whose bytes
    /// are [`RESTORE_RT`]), at its own address: the kernel's signal frame is on the stack there,
    /// and the next address is the pc the signal interrupted (x86-64 only).
    SignalTrampoline(u64),
}

/// The function name of a signal trampoline's frame (see [`StackAddress::SignalTrampoline`]), as
/// gdb shows it.
pub const SIGNAL_HANDLER_CALLED: &str = "<signal handler called>";

/// The x86-64 `rt_sigreturn` trampoline, as glibc's `__restore_rt` has it (and as gdb recognises
/// it): `mov $15, %rax` (`__NR_rt_sigreturn`); `syscall`.
pub const RESTORE_RT: [u8; 9] = [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05];

/// Where the kernel's signal frame keeps the interrupted thread's registers, x86-64: the
/// handler returns (`ret`) to the trampoline, popping `struct rt_sigframe`'s `pretcode`, so at
/// the trampoline the stack pointer is the address of its `struct ucontext`; the registers are
/// `uc_mcontext` (after `uc_flags`, `uc_link` and the 24-byte `uc_stack`: offset 40), glibc's
/// `gregs[REG_RBP]`, `gregs[REG_RSP]` and `gregs[REG_RIP]` (10, 15, 16; the kernel's `struct
/// sigcontext` in the same order).
const UCONTEXT_RBP: u64 = 40 + 10 * 8;
const UCONTEXT_RSP: u64 = 40 + 15 * 8;
const UCONTEXT_RIP: u64 = 40 + 16 * 8;

/// When `at` is a signal trampoline ([`RESTORE_RT`]) and `sp` the stack pointer there: the
/// registers the signal interrupted, from the kernel's signal frame. `None` otherwise, or when
/// the frame cannot be read. x86-64 only: elsewhere always `None` (the unwinder stops at a
/// signal trampoline, whose CFI it does not evaluate).
pub fn signal_return(memory: &dyn ProcessMemory, at: u64, sp: u64) -> Option<Registers> {
    if !cfg!(target_arch = "x86_64") {
        return None;
    }
    let mut code = [0u8; RESTORE_RT.len()];
    if !memory.read(at, &mut code) || code != RESTORE_RT {
        return None;
    }
    let read = |offset: u64| memory.read_u64(sp.checked_add(offset)?);
    let registers = Registers { pc: read(UCONTEXT_RIP)?, sp: read(UCONTEXT_RSP)?, bp: read(UCONTEXT_RBP)? };
    (registers.pc != 0).then_some(registers)
}

/// A thread's stack as unwound: at most [`MAX_FRAMES`] addresses, innermost first.
#[derive(Debug, Default)]
pub struct Unwound {
    /// The innermost addresses (all of them when nothing was left out).
    pub inner: Vec<StackAddress>,
    /// The outermost addresses, after the ones left out (empty when none were, or when the walk
    /// stopped at [`MAX_WALK`] before the stack's end).
    pub outer: Vec<StackAddress>,
    /// Addresses left out between `inner` and `outer`: at least that many when the walk stopped
    /// at [`MAX_WALK`] (`reached_end` false).
    pub omitted: usize,
    /// The walk reached the stack's outermost frame (or an address it could not unwind from).
    pub reached_end: bool,
}

/// A file mapped into the process: runtime addresses in `range` are ELF virtual address
/// `address - bias` of `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedModule {
    pub path: PathBuf,
    pub bias: u64,
    pub range: Range<u64>,
}

/// One line of `/proc/PID/maps`: `start-end perms offset dev inode path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub range: Range<u64>,
    pub executable: bool,
    /// Shared with other processes (`MAP_SHARED`: `s` in its permissions).
    pub shared: bool,
    pub offset: u64,
    pub path: Option<String>,
    /// The kernel's name of a mapping no file backs: `[heap]`, `[stack]`, `[anon:...]`.
    pub label: Option<String>,
}

pub fn parse_maps(text: &str) -> Vec<Mapping> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let (start, end) = fields.next()?.split_once('-')?;
            let perms = fields.next()?;
            let offset = u64::from_str_radix(fields.next()?, 16).ok()?;
            let _dev = fields.next()?;
            let _inode = fields.next()?;
            let path = fields.collect::<Vec<_>>().join(" ");
            Some(Mapping {
                range: u64::from_str_radix(start, 16).ok()?..u64::from_str_radix(end, 16).ok()?,
                executable: perms.as_bytes().get(2) == Some(&b'x'),
                shared: perms.as_bytes().get(3) == Some(&b's'),
                offset,
                label: path.starts_with('[').then(|| path.clone()),
                path: (path.starts_with('/')).then_some(path),
            })
        })
        .collect()
}

/// The process's modules with their unwinder, built once per inspection.
pub struct ProcessStacks {
    unwinder: Unwinder,
    cache: Cache,
    modules: Vec<MappedModule>,
}

impl std::fmt::Debug for ProcessStacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessStacks").field("modules", &self.modules).finish()
    }
}

impl ProcessStacks {
    /// Read `/proc/PID/maps` and the unwind sections of every mapped ELF with code.
    pub fn for_process(pid: i32) -> Self {
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
        Self::from_maps(&parse_maps(&maps))
    }

    pub fn from_maps(maps: &[Mapping]) -> Self {
        let mut by_path: BTreeMap<&str, Vec<&Mapping>> = BTreeMap::new();
        for mapping in maps {
            if let Some(path) = &mapping.path {
                by_path.entry(path.as_str()).or_default().push(mapping);
            }
        }
        let mut unwinder = Unwinder::new();
        let mut modules = Vec::new();
        for (path, mappings) in by_path {
            if !mappings.iter().any(|m| m.executable) {
                continue;
            }
            let Ok(data) = std::fs::read(path) else { continue };
            let Ok(file) = object::File::parse(&*data) else { continue };
            let Some(bias) = load_bias(&file, &mappings) else { continue };
            let start = mappings.iter().map(|m| m.range.start).min().unwrap_or(0);
            let end = mappings.iter().map(|m| m.range.end).max().unwrap_or(0);
            let section = |name: &str| {
                file.section_by_name(name).and_then(|s| {
                    let data = s.uncompressed_data().ok()?.into_owned();
                    Some((s.address()..s.address() + s.size(), data))
                })
            };
            let text = section(".text");
            let eh_frame = section(".eh_frame");
            let eh_frame_hdr = section(".eh_frame_hdr");
            let debug_frame = section(".debug_frame");
            let got = file.section_by_name(".got").map(|s| s.address()..s.address() + s.size());
            let info = ExplicitModuleSectionInfo {
                base_svma: 0,
                text_svma: text.as_ref().map(|(r, _)| r.clone()),
                text: text.map(|(_, d)| d),
                got_svma: got,
                eh_frame_svma: eh_frame.as_ref().map(|(r, _)| r.clone()),
                eh_frame: eh_frame.map(|(_, d)| d),
                eh_frame_hdr_svma: eh_frame_hdr.as_ref().map(|(r, _)| r.clone()),
                eh_frame_hdr: eh_frame_hdr.map(|(_, d)| d),
                debug_frame: debug_frame.map(|(_, d)| d),
                ..Default::default()
            };
            unwinder.add_module(Module::new(path.to_string(), start..end, bias, info));
            modules.push(MappedModule { path: PathBuf::from(path), bias, range: start..end });
        }
        Self { unwinder, cache: Cache::new(), modules }
    }

    pub fn modules(&self) -> &[MappedModule] {
        &self.modules
    }

    /// Addresses of a thread's stack, innermost first: the pc, then return addresses, through
    /// signal frames (see [`StackAddress::SignalTrampoline`]); cut as [`Unwound`] says when the
    /// stack is deeper than [`MAX_FRAMES`].
    pub fn unwind(&mut self, registers: Registers, memory: &dyn ProcessMemory) -> Unwound {
        let mut read_stack = |address: u64| memory.read_u64(address).ok_or(());
        let mut regs = framehop::UnwindRegsNative::new(registers.pc, registers.sp, registers.bp);
        let mut next = Some(FrameAddress::InstructionPointer(registers.pc));
        let mut inner = Vec::new();
        let mut tail = std::collections::VecDeque::new();
        let mut total = 0;
        let mut reached_end = false;
        while total < MAX_WALK {
            let Some(address) = next else {
                reached_end = true;
                break;
            };
            let at = address.address();
            let frame = match signal_return(memory, at, regs.sp()) {
                // The kernel's signal frame: the interrupted thread's registers, and its pc
                // (the instruction the signal interrupted, not a return address) next.
                Some(interrupted) => {
                    regs = framehop::UnwindRegsNative::new(interrupted.pc, interrupted.sp, interrupted.bp);
                    next = Some(FrameAddress::InstructionPointer(interrupted.pc));
                    StackAddress::SignalTrampoline(at)
                }
                None => {
                    next = match self.unwinder.unwind_frame(address, &mut regs, &mut self.cache, &mut read_stack) {
                        Ok(Some(ra)) => FrameAddress::from_return_address(ra),
                        _ => None,
                    };
                    StackAddress::Unwound(address)
                }
            };
            if inner.len() < MAX_FRAMES {
                inner.push(frame);
            } else {
                if tail.len() == OUTERMOST_FRAMES {
                    tail.pop_front();
                }
                tail.push_back(frame);
            }
            total += 1;
        }
        if total <= MAX_FRAMES {
            return Unwound { inner, outer: Vec::new(), omitted: 0, reached_end };
        }
        if !reached_end {
            return Unwound { inner, outer: Vec::new(), omitted: total - MAX_FRAMES, reached_end };
        }
        // The outermost frames: the last of the walk, some of them among the first 64 when the
        // stack is barely deeper.
        let mut outer: Vec<StackAddress> = inner.split_off(MAX_FRAMES - OUTERMOST_FRAMES);
        outer.extend(tail);
        let outer = outer.split_off(outer.len() - OUTERMOST_FRAMES);
        Unwound { inner, outer, omitted: total - MAX_FRAMES, reached_end }
    }

    /// Symbolized frames of `addresses`: return addresses looked up one byte earlier (in the
    /// call), a pc and a signal trampoline at their own address; a signal trampoline's frame is
    /// named [`SIGNAL_HANDLER_CALLED`].
    pub fn symbolize(&self, symbolizer: &Symbolizer, addresses: &[StackAddress]) -> Vec<Frame> {
        let mut frames = Vec::new();
        for address in addresses {
            let lookup = match address {
                StackAddress::Unwound(FrameAddress::InstructionPointer(pc)) => *pc,
                StackAddress::Unwound(FrameAddress::ReturnAddress(ra)) => u64::from(*ra) - 1,
                StackAddress::SignalTrampoline(at) => *at,
            };
            let mut symbolized = match self.modules.iter().find(|m| m.range.contains(&lookup)) {
                Some(module) => symbolizer.symbolize(&module.path, lookup.wrapping_sub(module.bias)),
                None => vec![Frame::outside_any_module(lookup)],
            };
            if let StackAddress::SignalTrampoline(_) = address {
                // One frame, as gdb shows it: the trampoline has no source of its own.
                symbolized.truncate(1);
                for frame in &mut symbolized {
                    *frame = Frame {
                        function: Some(SIGNAL_HANDLER_CALLED.to_owned()),
                        file: None,
                        line: None,
                        column: None,
                        inlined: false,
                        ..frame.clone()
                    };
                }
            }
            frames.extend(symbolized);
        }
        frames
    }

    /// The module containing `address`.
    pub fn module_of(&self, address: u64) -> Option<&MappedModule> {
        self.modules.iter().find(|m| m.range.contains(&address))
    }
}

/// The load bias of `file` from one of its mappings: the mapping at file offset `offset` and
/// address `start` holds the PT_LOAD segment that covers `offset` in the file.
fn load_bias(file: &object::File<'_>, mappings: &[&Mapping]) -> Option<u64> {
    for mapping in mappings {
        for segment in file.segments() {
            let (file_start, file_size) = segment.file_range();
            if file_start <= mapping.offset && mapping.offset < file_start + file_size.max(1) {
                let vaddr = segment.address() + (mapping.offset - file_start);
                return Some(mapping.range.start.wrapping_sub(vaddr));
            }
        }
    }
    None
}

/// Whether `path` names a module (for matching `libasan`, `libc` and the like).
pub fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines_as_the_kernel_writes_them() {
        let maps = "\
00400000-00401000 r--p 00000000 fd:01 123 /usr/bin/python3.11d
00401000-008ee000 r-xp 00001000 fd:01 123 /usr/bin/python3.11d
7f0000000000-7f0000021000 rw-p 00000000 00:00 0 
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
7f1000000000-7f1000001000 r-xp 00002000 fd:01 77 /tmp/with space/lib.so
";
        let parsed = parse_maps(maps);
        assert_eq!(parsed.len(), 5);
        assert!(parsed[1].executable && parsed[1].offset == 0x1000);
        assert_eq!(parsed[2].path, None);
        assert_eq!(parsed[3].path, None, "[stack] is not a file");
        assert_eq!(parsed[4].path.as_deref(), Some("/tmp/with space/lib.so"));
        assert!(parse_maps("garbage\n0-zz r-xp 0 0 0").is_empty());
    }

    /// Memory of a test: bytes at their addresses.
    struct Bytes(BTreeMap<u64, u8>);

    impl Bytes {
        fn put(&mut self, address: u64, bytes: &[u8]) {
            for (i, b) in bytes.iter().enumerate() {
                self.0.insert(address + i as u64, *b);
            }
        }
    }

    impl ProcessMemory for Bytes {
        fn read(&self, address: u64, buf: &mut [u8]) -> bool {
            for (i, b) in buf.iter_mut().enumerate() {
                match self.0.get(&(address + i as u64)) {
                    Some(v) => *b = *v,
                    None => return false,
                }
            }
            true
        }
    }

    #[test]
    fn a_signal_frame_gives_the_interrupted_registers_from_the_ucontext() {
        let (trampoline, sp) = (0x7f00_0000_3c50, 0x7ffd_0000_1000);
        let mut memory = Bytes(BTreeMap::new());
        memory.put(trampoline, &RESTORE_RT);
        // The ucontext at sp: its gregs from offset 40, REG_RBP 10, REG_RSP 15, REG_RIP 16.
        for (index, value) in [(10u64, 0x7ffd_0000_2230u64), (15, 0x7ffd_0000_2200), (16, 0x5555_0000_1234)] {
            memory.put(sp + 40 + index * 8, &value.to_ne_bytes());
        }
        let interrupted = signal_return(&memory, trampoline, sp).expect("a signal frame");
        assert_eq!(interrupted, Registers { pc: 0x5555_0000_1234, sp: 0x7ffd_0000_2200, bp: 0x7ffd_0000_2230 });
        // Other code there, or an unreadable frame: no signal frame.
        assert_eq!(signal_return(&memory, trampoline + 1, sp), None);
        assert_eq!(signal_return(&memory, trampoline, sp + 8), None, "the frame's words are not all there");
        let mut other = Bytes(BTreeMap::new());
        other.put(trampoline, &[0x48, 0xc7, 0xc0, 0x0e, 0, 0, 0, 0x0f, 0x05]);
        assert_eq!(signal_return(&other, trampoline, sp), None, "mov $14: not rt_sigreturn");
    }
}
