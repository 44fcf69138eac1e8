//! In-process stack capture for allocation sites: CFI unwinding with framehop over the
//! `.eh_frame` data of every loaded module, read straight from memory.
//!
//! CPython is built without frame pointers (Debian's `python3.11-dbg` uses `-Og`), so return
//! addresses come from DWARF CFI. [`Unwinder::refresh`] walks `dl_iterate_phdr` and registers each
//! module's `PT_GNU_EH_FRAME` segment (`.eh_frame_hdr`, whose binary-search table makes lookups
//! cheap) and the `.eh_frame` it points to; framehop caches the rule of each address it met.
//! Refreshing is not done inside an allocation hook (it takes the loader's lock), only at
//! regrtest's measurements: a module loaded in the middle of a repetition is unwound through
//! from the next one on, stacks through it are cut short until then.
//!
//! [`Unwinder::capture`] starts from its own registers, skips the shim's frames, and records
//! return addresses (absolute). Stack memory is read only inside the current thread's stack, so a
//! wrong unwind rule truncates a stack instead of faulting.
//!
//! Supported: x86_64 and aarch64 Linux. Elsewhere [`Unwinder::capture`] records nothing.

use std::ffi::{c_int, c_void, CStr};
use std::ops::Range;

use framehop::{
    ExplicitModuleSectionInfo, FrameAddress, MayAllocateDuringUnwind, Module, Unwinder as _,
};

/// A module as the harness needs it to symbolize: runtime addresses in `range` belong to the
/// ELF file `path`, at ELF virtual address `address - bias`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedModule {
    pub path: Vec<u8>,
    pub bias: u64,
    pub range: Range<u64>,
}

type Native = framehop::UnwinderNative<&'static [u8], MayAllocateDuringUnwind>;
pub type Cache = framehop::CacheNative<MayAllocateDuringUnwind>;

/// The unwinder with the process's modules.
pub struct Unwinder {
    native: Native,
    modules: Vec<LoadedModule>,
    /// The shim's own code: its frames are not part of an allocation site.
    own_range: Range<u64>,
}

impl std::fmt::Debug for Unwinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unwinder")
            .field("modules", &self.modules.len())
            .finish()
    }
}

impl Unwinder {
    pub fn new() -> Self {
        let mut unwinder = Self {
            native: Native::new(),
            modules: Vec::new(),
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
        let own = Self::refresh as *const () as usize as u64;
        for f in &found {
            if f.module.range.contains(&own) {
                self.own_range = f.module.range.clone();
            }
        }
        let current: Vec<LoadedModule> = found.iter().map(|f| f.module.clone()).collect();
        for old in &self.modules {
            if !current.contains(old) {
                self.native.remove_module(old.range.start);
            }
        }
        for f in found {
            if self.modules.contains(&f.module) {
                continue;
            }
            if let Some(info) = f.unwind {
                let module = Module::new(
                    String::from_utf8_lossy(&f.module.path).into_owned(),
                    f.module.range.clone(),
                    f.module.bias,
                    info,
                );
                self.native.add_module(module);
            }
        }
        self.modules = current;
    }

    /// Record up to `out.len()` return addresses of the caller's stack, the shim's own frames
    /// left out; returns how many. `stack` is the current thread's stack range.
    #[inline(never)]
    pub fn capture(&self, cache: &mut Cache, stack: Range<u64>, out: &mut [u64]) -> usize {
        let Some((pc, regs)) = current_registers() else {
            return 0;
        };
        let mut read_stack = |addr: u64| {
            if addr.is_multiple_of(8) && stack.start <= addr && addr + 8 <= stack.end {
                // SAFETY: an aligned address inside this thread's own mapped stack.
                Ok(unsafe { std::ptr::read_volatile(addr as *const u64) })
            } else {
                Err(())
            }
        };
        let mut frames = self.native.iter_frames(pc, regs, cache, &mut read_stack);
        let mut n = 0;
        while n < out.len() {
            let Ok(Some(frame)) = frames.next() else {
                break;
            };
            let FrameAddress::ReturnAddress(address) = frame else {
                continue;
            };
            let address = u64::from(address);
            if self.own_range.contains(&address) {
                continue;
            }
            out[n] = address;
            n += 1;
        }
        n
    }
}

impl Default for Unwinder {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn current_registers() -> Option<(u64, framehop::UnwindRegsNative)> {
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
    Some((pc, framehop::UnwindRegsNative::new(pc, sp, bp)))
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
fn current_registers() -> Option<(u64, framehop::UnwindRegsNative)> {
    let (pc, sp, fp, lr): (u64, u64, u64, u64);
    // SAFETY: reads the program counter, stack pointer, frame pointer and link register.
    unsafe {
        std::arch::asm!(
            "adr {pc}, .",
            "mov {sp}, sp",
            "mov {fp}, x29",
            "mov {lr}, x30",
            pc = out(reg) pc,
            sp = out(reg) sp,
            fp = out(reg) fp,
            lr = out(reg) lr,
            options(nomem, nostack, preserves_flags)
        );
    }
    Some((pc, framehop::UnwindRegsNative::new(lr, sp, fp)))
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn current_registers() -> Option<(u64, framehop::UnwindRegsNative)> {
    None
}

struct Found {
    module: LoadedModule,
    unwind: Option<ExplicitModuleSectionInfo<&'static [u8]>>,
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
    let unwind = phdrs
        .iter()
        .find(|p| p.p_type == libc::PT_GNU_EH_FRAME)
        .and_then(|hdr| unwind_info(bias, hdr.p_vaddr, hdr.p_memsz, &loads));
    found.push(Found {
        module: LoadedModule {
            path,
            bias,
            range: lo..hi,
        },
        unwind,
    });
    0
}

/// framehop's view of a module: `.eh_frame_hdr` and the `.eh_frame` its header points at, both
/// read from the mapped image. Addresses given to framehop are SVMAs (bias removed).
fn unwind_info(
    bias: u64,
    hdr_vaddr: u64,
    hdr_size: u64,
    loads: &[Range<u64>],
) -> Option<ExplicitModuleSectionInfo<&'static [u8]>> {
    let hdr_avma = bias.wrapping_add(hdr_vaddr);
    let hdr_segment = loads
        .iter()
        .find(|r| r.contains(&hdr_avma) && hdr_avma + hdr_size <= r.end)?;
    if hdr_size < 8 {
        return None;
    }
    // SAFETY: the PT_GNU_EH_FRAME segment lies inside a mapped PT_LOAD segment (checked above),
    // which stays mapped while the module is loaded.
    let hdr: &'static [u8] =
        unsafe { std::slice::from_raw_parts(hdr_avma as *const u8, hdr_size as usize) };
    if hdr[0] != 1 {
        return None;
    }
    let eh_frame_avma = decode_eh_frame_ptr(hdr[1], &hdr[4..], hdr_avma + 4, hdr_avma)?;
    let eh_segment = loads.iter().find(|r| r.contains(&eh_frame_avma))?;
    let eh_len = eh_segment.end - eh_frame_avma;
    // SAFETY: from the start of .eh_frame to the end of its mapped PT_LOAD segment; gimli only
    // reads the records the header's table points at.
    let eh_frame: &'static [u8] =
        unsafe { std::slice::from_raw_parts(eh_frame_avma as *const u8, eh_len as usize) };
    let _ = hdr_segment;
    Some(ExplicitModuleSectionInfo {
        base_svma: 0,
        eh_frame_hdr_svma: Some(hdr_vaddr..hdr_vaddr + hdr_size),
        eh_frame_hdr: Some(hdr),
        eh_frame_svma: Some(eh_frame_avma - bias..eh_frame_avma - bias + eh_len),
        eh_frame: Some(eh_frame),
        ..Default::default()
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
    fn deep(n: u32, unwinder: &Unwinder, out: &mut [u64]) -> usize {
        if n == 0 {
            let mut cache = Cache::new();
            let stack = current_thread_stack().expect("stack bounds");
            return unwinder.capture(&mut cache, stack, out);
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
        let n = deep(10, &unwinder, &mut out);
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
        // With the shim's (here: the test binary's) frames skipped, none of them is left.
        unwinder.own_range = test_binary.clone();
        let n = deep(3, &unwinder, &mut out);
        assert!(out[..n].iter().all(|a| !test_binary.contains(a)));
    }

    #[test]
    fn a_short_buffer_truncates_the_stack() {
        let mut unwinder = Unwinder::new();
        unwinder.own_range = 0..0;
        let mut out = [0u64; 4];
        assert_eq!(deep(10, &unwinder, &mut out), 4);
    }
}
