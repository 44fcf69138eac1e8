//! A parameter of a function in a stopped thread's stack, read as a debugger reads it: the
//! thread's registers, the callee-saved ones recovered frame by frame from the modules'
//! `.eh_frame` CFI, and the parameter's DWARF location (from the symbolizer) evaluated with them.
//!
//! It serves one purpose: which mutex glibc's `__pthread_mutex_lock_full` was locking when it
//! parked the thread for good (see `mod.rs`), a pointer that lives only in that frame's
//! registers. Each step can fail: no DWARF for the module (no debug package), a location the
//! compiler did not keep at that address (optimized out, an entry value), a CFI rule this reader
//! does not follow, a frame that does not match the unwinder's. Then the answer is `None`,
//! never a guess.
//!
//! x86-64 only (DWARF register numbers, the System V callee-saved set). The caller keeps the
//! process stopped while this reads it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use framehop::FrameAddress;
use gimli::{EndianSlice, RunTimeEndian, UnwindSection};
use object::{Object, ObjectSection};

use super::remote::{DwarfRegisters, ProcessMemory};
use super::stacks::{ProcessStacks, StackAddress};
use crate::symbolize::{ParameterLocation, Symbolizer};

/// DWARF's column of the return address (x86-64).
const RETURN_ADDRESS: usize = 16;
const RSP: usize = 7;
/// The registers a callee preserves (System V x86-64): rbx, rbp, r12-r15.
const CALLEE_SAVED: [usize; 6] = [3, 6, 12, 13, 14, 15];

/// The value of `parameter` of `function` in physical frame `frame` of a stopped thread:
/// `registers` are the thread's, `addresses` its frames as the unwinder found them (each step
/// here must land on the same return address). See the module documentation.
pub fn parameter_value(
    symbolizer: &Symbolizer,
    stacks: &ProcessStacks,
    memory: &dyn ProcessMemory,
    registers: DwarfRegisters,
    addresses: &[StackAddress],
    (frame, function, parameter): (usize, &str, &str),
) -> Option<u64> {
    let mut cfi = CfiCache::default();
    let mut regs = registers;
    for depth in 0..frame {
        let (caller, _) = cfi.caller(stacks, memory, &regs, depth == 0)?;
        // Not through a signal frame, whose registers this does not read.
        let expected = match addresses.get(depth + 1)? {
            StackAddress::Unwound(FrameAddress::ReturnAddress(ra)) => u64::from(*ra),
            _ => return None,
        };
        if caller[RETURN_ADDRESS] != Some(expected) {
            return None;
        }
        regs = caller;
    }
    let pc = regs[RETURN_ADDRESS]?;
    // A caller's pc is a return address: the call is the instruction before it.
    let lookup = if frame == 0 { pc } else { pc.checked_sub(1)? };
    let module = stacks.module_of(lookup)?;
    let location =
        symbolizer.parameter_location(&module.path, lookup.wrapping_sub(module.bias), function, parameter)?;
    // The frame's own CFA, for `DW_OP_call_frame_cfa` (the usual frame base).
    let cfa = cfi.caller(stacks, memory, &regs, frame == 0).map(|(_, cfa)| cfa);
    evaluate(&location, &regs, cfa, module.bias, memory)
}

/// One module's `.eh_frame`, read from its file.
struct Cfi {
    eh_frame: Vec<u8>,
    bases: gimli::BaseAddresses,
    endian: RunTimeEndian,
}

/// Each module's CFI, read on first use.
#[derive(Default)]
struct CfiCache {
    modules: BTreeMap<PathBuf, Option<Cfi>>,
}

impl CfiCache {
    fn get(&mut self, path: &Path) -> Option<&Cfi> {
        self.modules.entry(path.to_owned()).or_insert_with(|| read_cfi(path)).as_ref()
    }

    /// The registers of the caller of the frame whose registers are `regs` (its pc in the
    /// return-address column; `innermost`: the pc of the interrupted instruction, not a return
    /// address), and this frame's CFA. Caller-saved registers come back unknown.
    fn caller(
        &mut self,
        stacks: &ProcessStacks,
        memory: &dyn ProcessMemory,
        regs: &DwarfRegisters,
        innermost: bool,
    ) -> Option<(DwarfRegisters, u64)> {
        let pc = regs[RETURN_ADDRESS]?;
        let lookup = if innermost { pc } else { pc.checked_sub(1)? };
        let module = stacks.module_of(lookup)?;
        let bias = module.bias;
        let cfi = self.get(&module.path.clone())?;
        let eh_frame = gimli::EhFrame::new(&cfi.eh_frame, cfi.endian);
        let mut context = Box::new(gimli::UnwindContext::new());
        let row = eh_frame
            .unwind_info_for_address(
                &cfi.bases,
                &mut context,
                lookup.wrapping_sub(bias),
                gimli::EhFrame::cie_from_offset,
            )
            .ok()?;
        let cfa = match row.cfa() {
            gimli::CfaRule::RegisterAndOffset { register, offset } => {
                regs.get(usize::from(register.0)).copied().flatten()?.wrapping_add_signed(*offset)
            }
            gimli::CfaRule::Expression(_) => return None,
        };
        let recover = |column: usize, default_same: bool| -> Option<u64> {
            let column_u16 = u16::try_from(column).ok()?;
            match row.register(gimli::Register(column_u16)) {
                None if default_same => regs[column],
                None | Some(gimli::RegisterRule::Undefined) => None,
                Some(gimli::RegisterRule::SameValue) => regs[column],
                Some(gimli::RegisterRule::Offset(offset)) => memory.read_u64(cfa.wrapping_add_signed(offset)),
                Some(gimli::RegisterRule::ValOffset(offset)) => Some(cfa.wrapping_add_signed(offset)),
                Some(gimli::RegisterRule::Register(other)) => regs.get(usize::from(other.0)).copied().flatten(),
                Some(gimli::RegisterRule::Constant(value)) => Some(value),
                Some(_) => None,
            }
        };
        let mut caller: DwarfRegisters = [None; 17];
        // A register a frame's CFI says nothing of is one it left alone: unwinders (gdb,
        // libunwind) take the callee-saved ones as the same value.
        for column in CALLEE_SAVED {
            caller[column] = recover(column, true);
        }
        caller[RETURN_ADDRESS] = recover(RETURN_ADDRESS, false);
        caller[RSP] = Some(cfa);
        Some((caller, cfa))
    }
}

/// The `.eh_frame` of the ELF file at `path`, with the section addresses its pointers are
/// relative to.
fn read_cfi(path: &Path) -> Option<Cfi> {
    let data = std::fs::read(path).ok()?;
    let file = object::File::parse(&*data).ok()?;
    let section = file.section_by_name(".eh_frame")?;
    let eh_frame = section.uncompressed_data().ok()?.into_owned();
    let address_of = |name: &str| file.section_by_name(name).map(|s| s.address());
    let mut bases = gimli::BaseAddresses::default().set_eh_frame(section.address());
    if let Some(text) = address_of(".text") {
        bases = bases.set_text(text);
    }
    if let Some(hdr) = address_of(".eh_frame_hdr") {
        bases = bases.set_eh_frame_hdr(hdr);
    }
    if let Some(got) = address_of(".got") {
        bases = bases.set_got(got);
    }
    let endian = if file.is_little_endian() { RunTimeEndian::Little } else { RunTimeEndian::Big };
    Some(Cfi { eh_frame, bases, endian })
}

/// Steps a location expression may take (valid ones take a handful).
const MAX_STEPS: u32 = 1000;

/// The value `location` describes in a frame whose registers are `regs` and CFA `cfa`: a
/// single whole piece, in a register, in memory (a pointer-sized word) or a computed value.
fn evaluate(
    location: &ParameterLocation,
    regs: &DwarfRegisters,
    cfa: Option<u64>,
    bias: u64,
    memory: &dyn ProcessMemory,
) -> Option<u64> {
    let endian = if location.big_endian { RunTimeEndian::Big } else { RunTimeEndian::Little };
    let frame_base = || -> Option<u64> {
        let expression = location.frame_base.as_deref()?;
        match run(expression, endian, location.encoding, regs, cfa, None, bias, memory)? {
            gimli::Location::Address { address } => Some(address),
            gimli::Location::Register { register } => regs.get(usize::from(register.0)).copied().flatten(),
            _ => None,
        }
    };
    let result = run(&location.expression, endian, location.encoding, regs, cfa, Some(&frame_base), bias, memory)?;
    match result {
        gimli::Location::Register { register } => regs.get(usize::from(register.0)).copied().flatten(),
        gimli::Location::Address { address } => memory.read_u64(address),
        gimli::Location::Value { value } => value.to_u64(u64::MAX).ok(),
        _ => None,
    }
}

/// Run a DWARF expression to its one location; `frame_base` answers `DW_OP_fbreg`.
#[allow(clippy::too_many_arguments)]
fn run<'a>(
    expression: &'a [u8],
    endian: RunTimeEndian,
    encoding: gimli::Encoding,
    regs: &DwarfRegisters,
    cfa: Option<u64>,
    frame_base: Option<&dyn Fn() -> Option<u64>>,
    bias: u64,
    memory: &dyn ProcessMemory,
) -> Option<gimli::Location<EndianSlice<'a, RunTimeEndian>>> {
    use gimli::EvaluationResult as Needs;
    let mut evaluation = gimli::Expression(EndianSlice::new(expression, endian)).evaluation(encoding);
    evaluation.set_max_iterations(MAX_STEPS);
    let mut state = evaluation.evaluate().ok()?;
    loop {
        state = match state {
            Needs::Complete => break,
            Needs::RequiresRegister { register, base_type } if base_type.0 == 0 => {
                let value = regs.get(usize::from(register.0)).copied().flatten()?;
                evaluation.resume_with_register(gimli::Value::Generic(value)).ok()?
            }
            Needs::RequiresMemory { address, size, space: None, base_type } if base_type.0 == 0 => {
                let size = usize::from(size);
                if size == 0 || size > 8 {
                    return None;
                }
                let mut bytes = [0u8; 8];
                if !memory.read(address, &mut bytes[..size]) {
                    return None;
                }
                let value = match endian {
                    RunTimeEndian::Little => u64::from_le_bytes(bytes),
                    RunTimeEndian::Big => u64::from_be_bytes(bytes) >> (8 * (8 - size)),
                };
                evaluation.resume_with_memory(gimli::Value::Generic(value)).ok()?
            }
            Needs::RequiresFrameBase => evaluation.resume_with_frame_base(frame_base?()?).ok()?,
            Needs::RequiresCallFrameCfa => evaluation.resume_with_call_frame_cfa(cfa?).ok()?,
            Needs::RequiresRelocatedAddress(address) => {
                evaluation.resume_with_relocated_address(address.wrapping_add(bias)).ok()?
            }
            // Entry values, TLS, other DIEs' locations, typed values: not followed.
            _ => return None,
        };
    }
    match evaluation.result().as_slice() {
        [gimli::Piece { size_in_bits: None, bit_offset: None, location }] => Some(*location),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory as a map of 8-byte words.
    struct Words(BTreeMap<u64, u64>);

    impl ProcessMemory for Words {
        fn read(&self, address: u64, buf: &mut [u8]) -> bool {
            let Some(word) = self.0.get(&address) else { return false };
            let bytes = word.to_le_bytes();
            let n = buf.len().min(8);
            buf[..n].copy_from_slice(&bytes[..n]);
            buf.len() <= 8
        }
    }

    fn location(expression: &[u8], frame_base: Option<&[u8]>) -> ParameterLocation {
        ParameterLocation {
            expression: expression.to_vec(),
            frame_base: frame_base.map(<[u8]>::to_vec),
            encoding: gimli::Encoding { address_size: 8, format: gimli::Format::Dwarf32, version: 5 },
            big_endian: false,
        }
    }

    #[test]
    fn locations_as_glibcs_dwarf_gives_them() {
        let mut regs: DwarfRegisters = [None; 17];
        regs[3] = Some(0x5000); // rbx
        regs[14] = Some(0x7f61_3698_e290); // r14
        let memory = Words(BTreeMap::from([(0x7ffd_0010, 0xabcd)]));
        // `__pthread_mutex_lock_full`'s `mutex` where glibc 2.36 parks: DW_OP_breg14 -16,
        // DW_OP_stack_value (r14 holds &mutex->__data.__kind).
        let parked = location(&[0x7e, 0x70, 0x9f], None);
        assert_eq!(evaluate(&parked, &regs, None, 0, &memory), Some(0x7f61_3698_e280));
        // In a register: DW_OP_reg3 (rbx).
        assert_eq!(evaluate(&location(&[0x53], None), &regs, None, 0, &memory), Some(0x5000));
        // On the stack through the frame base: DW_OP_fbreg 16, the frame base DW_OP_call_frame_cfa.
        let spilled = location(&[0x91, 0x10], Some(&[0x9c]));
        assert_eq!(evaluate(&spilled, &regs, Some(0x7ffd_0000), 0, &memory), Some(0xabcd));
        // Unknown register, unreadable memory, an entry value: no answer rather than a guess.
        assert_eq!(evaluate(&location(&[0x50], None), &regs, None, 0, &memory), None);
        assert_eq!(evaluate(&spilled, &regs, Some(0x1000), 0, &memory), None);
        assert_eq!(evaluate(&location(&[0xa3, 0x01, 0x55, 0x9f], None), &regs, None, 0, &memory), None);
        assert_eq!(evaluate(&location(&[], None), &regs, None, 0, &memory), None);
        assert_eq!(evaluate(&location(&[0xff, 0xff], None), &regs, None, 0, &memory), None);
    }
}
