//! In-process stack capture for allocation sites: DWARF CFI unwinding over the `.eh_frame`
//! data of every loaded module, read straight from memory, with a rule cache per address.
//!
//! CPython is built without frame pointers (Debian's `python3.11-dbg` uses `-Og`), so return
//! addresses come from CFI. [`Unwinder::refresh`] walks `dl_iterate_phdr` and keeps, per module,
//! its `PT_GNU_EH_FRAME` segment (`.eh_frame_hdr`, whose binary-search table finds a function's
//! FDE) and the `.eh_frame` it points to. The first time an address is unwound through, gimli
//! evaluates the CFI row for it; the resulting `Rule` (where the CFA, the return address and
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
//! All of this runs on the allocating thread's stack, which may be small (`threading.stack_size`
//! takes 32 KiB). A capture through known rules takes about 1.3 KiB of it; evaluating a new rule
//! about 4 KiB more (gimli keeps CFI rows on the stack, hence the small rows of
//! `InlineStorage`). With less than [`RULE_ROOM`] left, a capture does not evaluate new rules:
//! the stack is cut where one would be needed, and [`Capture::cut`] says so. The tests'
//! `stack_use` measures each path by painting the stack below it.
//!
//! Supported: x86_64 Linux. Elsewhere [`Unwinder::capture`] records nothing.

use std::collections::HashMap;
use std::ffi::{c_int, c_void, CStr};
use std::hash::BuildHasherDefault;
use std::ops::Range;

use gimli::{
    BaseAddresses, CfaRule, EhFrame, EhFrameHdr, NativeEndian, ParsedEhFrameHdr, Register, RegisterRule, UnwindContext,
    UnwindContextStorage, UnwindSection, UnwindTableRow,
};

use crate::fallible::{try_box, try_vec_filled, try_vec_from, OutOfMemory};
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
    /// The module's addresses and bias (see [`LoadedModule`]).
    range: Range<u64>,
    bias: u64,
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

impl Rule {
    /// The rule in one word for the hot cache: CFA offset (32 bits), return-address and RBP
    /// offsets (8 bits each, 0x80 for "RBP unchanged"), flags. `None` if it does not fit (then
    /// the map serves it).
    fn pack(self) -> Option<u64> {
        let Rule::Frame { cfa_from_rbp, cfa_offset, ra, rbp } = self else { return Some(0) };
        let ra = i8::try_from(ra).ok()?;
        let rbp = match rbp {
            None => 0x80u8,
            Some(offset) => i8::try_from(offset).ok().filter(|&o| o != i8::MIN)? as u8,
        };
        Some(
            u64::from(cfa_offset as u32)
                | u64::from(ra as u8) << 32
                | u64::from(rbp) << 40
                | 1 << 48
                | u64::from(cfa_from_rbp) << 49,
        )
    }

    fn unpack(word: u64) -> Self {
        if word & 1 << 48 == 0 {
            return Rule::Stop;
        }
        let rbp = (word >> 40) as u8;
        Rule::Frame {
            cfa_from_rbp: word & 1 << 49 != 0,
            cfa_offset: word as u32 as i32,
            ra: i32::from((word >> 32) as u8 as i8),
            rbp: (rbp != 0x80).then_some(i32::from(rbp as i8)),
        }
    }
}

/// Slots of the direct-mapped rule cache in front of the rule map: 16 bytes each, 128 KiB in
/// all, which stays in the L2 cache. CPython's tests meet a few thousand return addresses.
const HOT_RULES: usize = 1 << 13;

/// Where an unwind stands: the address to look the rule up for, and the registers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct State {
    lookup: u64,
    sp: u64,
    bp: u64,
}

/// One unwinding step and the two stack slots it read, so that it can be replayed.
#[derive(Debug, Clone, Copy, Default)]
struct Step {
    from: State,
    cfa: u64,
    ra_slot: u64,
    return_address: u64,
    /// 0 when RBP was left unchanged (then `rbp_value` is the unchanged value).
    rbp_slot: u64,
    rbp_value: u64,
}

impl Step {
    fn next(&self) -> State {
        State { lookup: self.return_address - 1, sp: self.cfa, bp: self.rbp_value }
    }
}

/// Why an unwinding step was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The end of the stack (or of what this unwinder can follow).
    End,
    /// The rule for the address is not known yet, and was not to be evaluated.
    Unknown,
}
use Stop::{End, Unknown};

/// Inner steps one capture computes before it may meet the memo.
const MAX_FRESH: usize = 64;

/// Steps a [`Memo`] holds at most (its memory is taken when it is made: see
/// [`crate::fallible`]); a longer unwind is not remembered, only done again.
const MEMO_STEPS: usize = 256;

/// A thread's last unwind, outermost step first. Consecutive allocations of a thread share most
/// of their stack: when a capture reaches a state (address, SP, RBP) this memo passed through,
/// each step of the memo from there on whose stack slots still hold what it read is the step a
/// fresh unwind would take (the unwind is a function of the state and those slots). So the
/// capture replays the memo's steps outwards, checking each one's slots as it goes, until it
/// has the frames it wants, the memo ends, or a step's slots changed, and unwinds afresh from
/// there (that step's state, reached through steps that held). A check is one or two
/// independent loads from a hot stack; unwinding was a chain of dependent lookups. Steps past
/// the frames wanted are not checked: the next capture that reaches them checks them.
#[derive(Debug)]
pub struct Memo {
    /// Never grown beyond the [`MEMO_STEPS`] it is made with.
    steps: Vec<Step>,
    /// The memo reached the end of the stack (not just the depth asked for).
    complete: bool,
    /// The unwinder's generation the steps were computed with.
    generation: u64,
    /// The stack the steps were read from: every slot a step names lies inside it.
    stack: Range<u64>,
}

impl Memo {
    pub fn try_new() -> Result<Self, OutOfMemory> {
        let mut steps = Vec::new();
        steps.try_reserve_exact(MEMO_STEPS)?;
        Ok(Self { steps, complete: false, generation: 0, stack: 0..0 })
    }

    fn forget(&mut self) {
        self.steps.clear();
        self.complete = false;
    }

    /// Whether `more` steps fit without growing.
    fn has_room(&self, more: usize) -> bool {
        self.steps.len() + more <= self.steps.capacity()
    }
}

/// gimli's storage for the CFI evaluation, inline (its default, `StoreOnHeap`, allocates the
/// stack of rows with an infallible `Box::new`): the whole context goes into one box of ours,
/// allocated fallibly.
///
/// A row holds a rule per register the CFI names; gimli keeps rows on the stack while it
/// evaluates (a new one, a remembered one), so their size is the stack an evaluation takes on
/// the allocating thread. gimli's default, 192 rules of 32 bytes, made two frames of 12.5 KiB
/// each (26 KiB in all for a capture that meets a new address), which overflowed a thread
/// started with `threading.stack_size(32768)`. x86_64 code names at most its 16 general
/// registers and the return address; CFI naming more (a signal trampoline's, all expressions)
/// ends the stack, as its expressions already did. With 24 a capture that evaluates a rule
/// takes about 5 KiB (see the tests' `stack_use`).
#[derive(Debug)]
struct InlineStorage;

impl UnwindContextStorage<usize> for InlineStorage {
    type Rules = [(Register, RegisterRule<usize>); 24];
    type Stack = [UnwindTableRow<usize, Self>; 4];
}

/// Stack a capture must have left below its frame to evaluate the CFI of an address it has not
/// met before. Evaluating takes up to about 4.5 KiB there (measured: the tests' `stack_use`,
/// over every FDE of the modules a test process loads); this leaves more than three times
/// that, for CFI programs not measured and for the hook's callers. With less room, a capture
/// goes on through the addresses whose rules are known and stops at the first that is not.
pub const RULE_ROOM: u64 = 16 * 1024;

/// The frame an allocator hook returns into, read by the hook's entry trampoline at its first
/// instruction (see `crate::hooks`): an unwind that starts there never unwinds the shim's own
/// frames, which were half of a capture's fresh steps (the hook, `on_alloc`, `allocated` and
/// `capture` sit at a new stack depth whenever their caller does, so the memo never has them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The hook's return address.
    pub return_address: u64,
    /// The stack pointer once the hook has returned (the CFA of the hook's frame).
    pub sp: u64,
    /// RBP at the call: callee-saved, so the caller's own.
    pub bp: u64,
}

impl Caller {
    /// The caller read by an entry trampoline; `None` where there is none (return address 0).
    pub fn new(return_address: usize, sp: usize, bp: usize) -> Option<Self> {
        (return_address != 0).then_some(Self { return_address: return_address as u64, sp: sp as u64, bp: bp as u64 })
    }
}

/// What [`Unwinder::capture`] recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capture {
    /// Return addresses written.
    pub frames: usize,
    /// The stack was cut where a new rule was needed and the thread had less than
    /// [`RULE_ROOM`] of stack left: `Some(bytes left)`.
    pub cut: Option<u64>,
}

/// The unwinder with the process's modules and the rules met so far.
pub struct Unwinder {
    tables: Vec<UnwindTables>,
    modules: Vec<LoadedModule>,
    /// Every rule computed, by address.
    rules: HashMap<u64, Rule, BuildHasherDefault<FastHasher>>,
    /// The rules used lately, direct-mapped by address: one multiply and one load per frame on a
    /// hit. (The map alone cost a probe sequence and a cache miss per frame.) Address 0 is empty.
    hot: Box<[(u64, u64)]>,
    context: Box<UnwindContext<usize, InlineStorage>>,
    /// The shim's own code: its frames are not part of an allocation site.
    own_range: Range<u64>,
    /// Changes whenever the modules (and so the rules) do; memos of another generation are void.
    generation: u64,
    /// Scratch for a capture's new steps (kept to avoid an allocation per capture; never grown
    /// beyond [`MAX_FRESH`]).
    fresh: Vec<Step>,
    /// Scratch for a capture's steps beyond its memo (never grown beyond [`MEMO_STEPS`]).
    outer: Vec<Step>,
}

impl std::fmt::Debug for Unwinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unwinder").field("modules", &self.modules.len()).field("rules", &self.rules.len()).finish()
    }
}

impl Unwinder {
    /// An unwinder for the modules loaded now; `Err` when its tables cannot be allocated.
    pub fn try_new() -> Result<Self, OutOfMemory> {
        let mut fresh = Vec::new();
        fresh.try_reserve_exact(MAX_FRESH)?;
        let mut outer = Vec::new();
        outer.try_reserve_exact(MEMO_STEPS)?;
        let mut unwinder = Self {
            tables: Vec::new(),
            modules: Vec::new(),
            rules: HashMap::default(),
            hot: try_vec_filled((0, 0), HOT_RULES)?.into_boxed_slice(),
            context: try_box(UnwindContext::new_in())?,
            own_range: 0..0,
            generation: 0,
            fresh,
            outer,
        };
        unwinder.refresh()?;
        Ok(unwinder)
    }

    pub fn modules(&self) -> &[LoadedModule] {
        &self.modules
    }

    /// Bring the module list up to date with the loader's. Not from inside an allocation hook.
    /// `Err` when the new list cannot be allocated: the old one stays.
    pub fn refresh(&mut self) -> Result<(), OutOfMemory> {
        let mut found = Collected { found: Vec::new(), out_of_memory: false };
        // SAFETY: the callback only reads the loader's phdr data it is handed, and `found`
        // outlives the call.
        unsafe { libc::dl_iterate_phdr(Some(collect), (&mut found as *mut Collected).cast()) };
        if found.out_of_memory {
            return Err(OutOfMemory);
        }
        let found = found.found;
        if found.len() == self.modules.len() && found.iter().zip(&self.modules).all(|(f, m)| f.module == *m) {
            return Ok(());
        }
        let mut current = Vec::new();
        current.try_reserve_exact(found.len())?;
        let mut tables = Vec::new();
        tables.try_reserve_exact(found.len())?;
        for Found { module, tables: module_tables } in found {
            current.push(module);
            tables.extend(module_tables);
        }
        let own = Self::refresh as *const () as usize as u64;
        self.own_range = current.iter().find(|m| m.range.contains(&own)).map(|m| m.range.clone()).unwrap_or(0..0);
        // Rules of a module that went away, or whose addresses another module now uses, are
        // stale: start over (it happens at most once per module load).
        self.rules.clear();
        self.hot.fill((0, 0));
        self.generation += 1;
        // In place: a stable sort would allocate.
        tables.sort_unstable_by_key(|t| t.range.start);
        self.tables = tables;
        self.modules = current;
        Ok(())
    }

    /// Record up to `out.len()` return addresses of the caller's stack, the shim's own frames
    /// left out. `stack` is the current thread's stack range; `memo` is this thread's [`Memo`],
    /// replayed where it still holds and updated for the next capture. With `from` (an
    /// allocator hook's [`Caller`], on this thread's stack) the stack starts with its return
    /// address and is unwound from its frame; without, from this function's own frame.
    ///
    /// On a stack other than `stack` (a coroutine's) nothing is recorded: none of its slots
    /// could be read. With less than [`RULE_ROOM`] of `stack` left below this frame, only
    /// rules already known are used, and the stack is cut at the first address without one.
    #[inline(never)]
    pub fn capture(&mut self, from: Option<Caller>, stack: Range<u64>, out: &mut [u64], memo: &mut Memo) -> Capture {
        let Some((pc, sp, bp)) = current_registers() else { return Capture { frames: 0, cut: None } };
        if !stack.contains(&sp) || out.is_empty() {
            return Capture { frames: 0, cut: None };
        }
        let room = sp - stack.start;
        let may_compute = room >= RULE_ROOM;
        let mut cut = None;
        let read = |addr: u64| -> Option<u64> {
            if addr.is_multiple_of(8) && stack.start <= addr && addr.checked_add(8)? <= stack.end {
                // SAFETY: an aligned address inside this thread's own mapped stack.
                Some(unsafe { std::ptr::read_volatile(addr as *const u64) })
            } else {
                None
            }
        };
        if memo.generation != self.generation || memo.stack != stack {
            // Other rules, or another thread's stack (a thread that ended left its id and
            // memo to a new one): none of the steps can be trusted, nor their slots read.
            memo.forget();
            memo.generation = self.generation;
            memo.stack = stack.clone();
        }
        let own = self.own_range.clone();
        let mut n = 0;
        // Record a return address unless it is one of the shim's own.
        let emit = |return_address: u64, out: &mut [u64], n: &mut usize| {
            if !own.contains(&return_address) {
                out[*n] = return_address;
                *n += 1;
            }
        };
        // The first address is exact (our own pc); every later one is a return address, whose
        // call instruction is the byte before.
        let mut state = State { lookup: pc, sp, bp };
        if let Some(caller) = from.filter(|caller| stack.contains(&caller.sp) && caller.sp > sp) {
            emit(caller.return_address, out, &mut n);
            state = State { lookup: caller.return_address - 1, sp: caller.sp, bp: caller.bp };
        }
        // Phase 1: new inner steps, innermost first, until the stack meets the memo.
        let mut fresh = std::mem::take(&mut self.fresh);
        fresh.clear();
        let mut all_fresh_kept = true;
        // The memo's steps below `m` (outermost first) are the ones still ahead of `state`.
        let mut m = memo.steps.len();
        // The memo's steps replayed, `k..m`: they held.
        let mut replayed: Option<Range<usize>> = None;
        // Phase 3: steps beyond those replayed, innermost first: beyond the memo's outer end,
        // or in place of its steps from the first that no longer held.
        let mut outer = std::mem::take(&mut self.outer);
        outer.clear();
        let mut all_outer_kept = true;
        let mut ended = false;
        // Whether a step's stack slots still hold what it read.
        let holds = |step: &Step| {
            // SAFETY: the step's slots were read from `stack` (the `read` that took the step
            // checked each: aligned and inside it), and the memo's stack is `stack` (checked
            // above): this thread's own mapped stack.
            let read = |slot: u64| unsafe { std::ptr::read_volatile(slot as *const u64) };
            read(step.ra_slot) == step.return_address && (step.rbp_slot == 0 || read(step.rbp_slot) == step.rbp_value)
        };
        while n < out.len() {
            if replayed.is_none() && m > 0 {
                while m > 0 && memo.steps[m - 1].from.sp < state.sp {
                    m -= 1;
                }
                if m > 0 && memo.steps[m - 1].from == state {
                    // Phase 2: the same state: each step of the memo from here on whose slots
                    // still hold is the one a fresh unwind would take.
                    let mut k = m;
                    while k > 0 && n < out.len() && holds(&memo.steps[k - 1]) {
                        k -= 1;
                        emit(memo.steps[k].return_address, out, &mut n);
                    }
                    if k < m {
                        state = memo.steps[k].next();
                    }
                    replayed = Some(k..m);
                    if n == out.len() || (k == 0 && memo.complete) {
                        ended = k == 0 && memo.complete;
                        break;
                    }
                    // The memo stopped at its depth, or its step `k - 1` read slots that
                    // changed since: unwind afresh from the state reached.
                    continue;
                }
            }
            let step = match self.step(state, &read, may_compute) {
                Ok(step) => step,
                Err(Unknown) => {
                    cut = Some(room);
                    break;
                }
                Err(End) => {
                    ended = true;
                    break;
                }
            };
            if replayed.is_some() {
                if outer.len() < outer.capacity() {
                    outer.push(step);
                } else {
                    all_outer_kept = false;
                }
            } else if fresh.len() < MAX_FRESH {
                fresh.push(step);
            } else {
                all_fresh_kept = false;
            }
            emit(step.return_address, out, &mut n);
            state = step.next();
        }
        // The next memo, outermost first: what lies beyond the old one, the part of the old one
        // this stack shares, the new inner steps.
        // Within the memo's capacity only (see `MEMO_STEPS`): what does not fit is forgotten.
        match replayed {
            Some(shared) => {
                memo.steps.truncate(shared.end);
                if !outer.is_empty() {
                    // The outer steps go in front, outermost first, in place of the memo's
                    // steps they replace (`..shared.start`, which did not hold, or none).
                    memo.steps.drain(..shared.start);
                    if all_outer_kept && memo.has_room(outer.len()) {
                        memo.steps.extend(outer.iter().rev());
                        memo.steps.rotate_right(outer.len());
                        memo.complete = ended;
                    } else {
                        // Without all of them the memo ends at its outermost step that held,
                        // short of the end of the stack.
                        memo.complete = false;
                    }
                }
                // Without outer steps the memo keeps its steps past those replayed, unchecked
                // (checked when reached), and its end.
            }
            None => {
                memo.steps.clear();
                memo.complete = ended && all_fresh_kept;
            }
        }
        if all_fresh_kept && memo.has_room(fresh.len()) {
            memo.steps.extend(fresh.iter().rev());
        } else {
            // Too deep to remember the inner part: keep nothing rather than a gap.
            memo.forget();
        }
        self.fresh = fresh;
        self.outer = outer;
        Capture { frames: n, cut }
    }

    /// One step of the unwind from `state`: `Err(End)` at the end of the stack, `Err(Unknown)`
    /// when the rule for its address is not known and `may_compute` says not to evaluate it.
    #[inline(always)]
    fn step(&mut self, state: State, read: &impl Fn(u64) -> Option<u64>, may_compute: bool) -> Result<Step, Stop> {
        let State { lookup, sp, bp } = state;
        let slot = (lookup.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - HOT_RULES.trailing_zeros())) as usize;
        let rule = match self.hot[slot] {
            (address, packed) if address == lookup => Rule::unpack(packed),
            _ => {
                let rule = self.rule_for(lookup, may_compute).ok_or(Unknown)?;
                if let Some(packed) = rule.pack() {
                    self.hot[slot] = (lookup, packed);
                }
                rule
            }
        };
        let Rule::Frame { cfa_from_rbp, cfa_offset, ra, rbp } = rule else { return Err(End) };
        let cfa = (if cfa_from_rbp { bp } else { sp }).checked_add_signed(i64::from(cfa_offset)).ok_or(End)?;
        let ra_slot = cfa.checked_add_signed(i64::from(ra)).ok_or(End)?;
        let return_address = read(ra_slot).ok_or(End)?;
        let (rbp_slot, rbp_value) = match rbp {
            Some(offset) => {
                let slot = cfa.checked_add_signed(i64::from(offset)).ok_or(End)?;
                (slot, read(slot).ok_or(End)?)
            }
            None => (0, bp),
        };
        if return_address == 0 || cfa <= sp {
            return Err(End); // the end of the stack, or no progress
        }
        Ok(Step { from: state, cfa, ra_slot, return_address, rbp_slot, rbp_value })
    }

    /// The rule for `address` from the map, computed on first use if `may_compute` (and again
    /// next time when the map cannot grow: the rule is the same, only slower to have); `None`
    /// when it is not known and may not be computed.
    fn rule_for(&mut self, address: u64, may_compute: bool) -> Option<Rule> {
        if let Some(&rule) = self.rules.get(&address) {
            return Some(rule);
        }
        if !may_compute {
            return None;
        }
        let rule = self.compute_rule(address);
        if self.rules.try_reserve(1).is_ok() {
            self.rules.insert(address, rule);
        }
        Some(rule)
    }

    /// Evaluate the CFI row for `address` (absolute) into a [`Rule`]. Never inlined: gimli's
    /// evaluation takes kilobytes of stack (see [`RULE_ROOM`]), which must not be taken in
    /// the frame of a capture that finds every rule known.
    #[cold]
    #[inline(never)]
    fn compute_rule(&mut self, address: u64) -> Rule {
        let index = self.tables.partition_point(|t| t.range.start <= address);
        let Some(tables) = index.checked_sub(1).map(|i| &self.tables[i]).filter(|t| t.range.contains(&address)) else {
            return Rule::Stop;
        };
        let svma = address.wrapping_sub(tables.bias);
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

/// What `dl_iterate_phdr` found, or that it could not all be kept.
struct Collected {
    found: Vec<Found>,
    out_of_memory: bool,
}

unsafe extern "C" fn collect(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: the loader hands a valid dl_phdr_info for the duration of the call, and `data` is
    // the `Collected` passed by `refresh`.
    let (info, collected) = unsafe { (&*info, &mut *data.cast::<Collected>()) };
    if info.dlpi_phdr.is_null() || info.dlpi_phnum == 0 {
        return 0;
    }
    // SAFETY: dlpi_phdr points at dlpi_phnum program headers.
    let phdrs = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
    let segments = Segments { phdrs, bias: info.dlpi_addr };
    let (Some(lo), Some(hi)) = (segments.iter().map(|r| r.start).min(), segments.iter().map(|r| r.end).max()) else {
        return 0;
    };
    let path = if info.dlpi_name.is_null() {
        Ok(Vec::new())
    } else {
        // SAFETY: a NUL-terminated string owned by the loader.
        try_vec_from(unsafe { CStr::from_ptr(info.dlpi_name) }.to_bytes())
    };
    let path = match path {
        // The first object is the executable, which the loader leaves unnamed.
        Ok(path) if path.is_empty() && collected.found.is_empty() => executable_path(),
        path => path,
    };
    let (Ok(path), Ok(())) = (path, collected.found.try_reserve(1)) else {
        // Stop here: the list would be incomplete.
        collected.out_of_memory = true;
        return 1;
    };
    let module = LoadedModule { path, bias: segments.bias, range: lo..hi };
    let tables = phdrs
        .iter()
        .find(|p| p.p_type == libc::PT_GNU_EH_FRAME)
        .and_then(|hdr| unwind_tables(&module, hdr.p_vaddr, hdr.p_memsz, &segments));
    collected.found.push(Found { module, tables });
    0
}

/// A module's `PT_LOAD` segments, at their runtime addresses.
struct Segments<'a> {
    phdrs: &'a [libc::Elf64_Phdr],
    bias: u64,
}

impl Segments<'_> {
    fn iter(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.phdrs.iter().filter(|p| p.p_type == libc::PT_LOAD).map(|p| {
            let start = self.bias.wrapping_add(p.p_vaddr);
            start..start.wrapping_add(p.p_memsz)
        })
    }

    fn containing(&self, address: u64) -> Option<Range<u64>> {
        self.iter().find(|r| r.contains(&address))
    }
}

/// `/proc/self/exe`'s target, read on the stack and copied out (empty if it cannot be read).
fn executable_path() -> Result<Vec<u8>, OutOfMemory> {
    let mut buf = [0u8; libc::PATH_MAX as usize];
    // SAFETY: `buf` is writable for its length; readlink writes at most that, no NUL.
    let n = unsafe { libc::readlink(c"/proc/self/exe".as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    match usize::try_from(n) {
        Ok(n) if n > 0 => try_vec_from(&buf[..n]),
        _ => Ok(Vec::new()),
    }
}

/// A module's `.eh_frame_hdr` and the `.eh_frame` its header points at, both read from the mapped
/// image, with their addresses as the ELF file states them (bias removed).
fn unwind_tables(
    module: &LoadedModule,
    hdr_vaddr: u64,
    hdr_size: u64,
    segments: &Segments<'_>,
) -> Option<UnwindTables> {
    let bias = module.bias;
    let hdr_avma = bias.wrapping_add(hdr_vaddr);
    segments.containing(hdr_avma).filter(|r| hdr_avma.checked_add(hdr_size).is_some_and(|end| end <= r.end))?;
    if hdr_size < 8 {
        return None;
    }
    // SAFETY: the PT_GNU_EH_FRAME segment lies inside a mapped PT_LOAD segment (checked above),
    // which stays mapped while the module is loaded.
    let hdr: &'static [u8] = unsafe { std::slice::from_raw_parts(hdr_avma as *const u8, hdr_size as usize) };
    let eh_frame_avma = decode_eh_frame_ptr(hdr[1], &hdr[4..], hdr_avma + 4, hdr_avma)?;
    let eh_segment = segments.containing(eh_frame_avma)?;
    // SAFETY: from the start of .eh_frame to the end of its mapped PT_LOAD segment; gimli only
    // reads the records the header's table points at.
    let eh_frame: &'static [u8] =
        unsafe { std::slice::from_raw_parts(eh_frame_avma as *const u8, (eh_segment.end - eh_frame_avma) as usize) };
    let bases = BaseAddresses::default().set_eh_frame_hdr(hdr_vaddr).set_eh_frame(eh_frame_avma.wrapping_sub(bias));
    let hdr = EhFrameHdr::new(hdr, NativeEndian).parse(&bases, std::mem::size_of::<usize>() as u8).ok()?;
    Some(UnwindTables { range: module.range.clone(), bias, hdr, eh_frame: EhFrame::new(eh_frame, NativeEndian), bases })
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

/// Measuring the stack the shim's paths use, for the tests: the stack below the caller is
/// painted with a pattern, the path runs, and the deepest word it changed tells how far down it
/// reached.
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) mod stack_use {
    /// How much is painted: more than any path of the shim may use.
    const SPAN: u64 = 192 * 1024;
    const PATTERN: u64 = 0x5a5a_a5a5_5a5a_a5a5;

    /// Bytes of stack `f` used below this function's frame, at most. The thread must have
    /// [`SPAN`] bytes left.
    #[inline(never)]
    pub(crate) fn measure(f: impl FnOnce()) -> u64 {
        let (_, sp, _) = super::current_registers().expect("x86_64");
        let stack = super::current_thread_stack().expect("stack bounds");
        let low = sp - SPAN;
        assert!(low >= stack.start + 4096, "a thread with room for the measurement");
        // Below the stack pointer, leaving a margin for this frame's own use.
        let high = sp - 512;
        for address in (low..high).step_by(8) {
            // SAFETY: unused stack of this thread, below its stack pointer and above its end.
            unsafe { std::ptr::write_volatile(address as *mut u64, PATTERN) };
        }
        f();
        // SAFETY: as above; `f` has returned, so nothing lives there.
        let deepest = (low..high).step_by(8).find(|&a| unsafe { std::ptr::read_volatile(a as *const u64) } != PATTERN);
        deepest.map_or(0, |a| sp - a)
    }

    /// The program counter, stack and frame pointers here.
    #[inline(always)]
    pub(crate) fn registers() -> (u64, u64, u64) {
        super::current_registers().expect("x86_64")
    }

    /// `f`'s result on a thread of its own with a stack of 1 MiB.
    pub(crate) fn on_big_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new().stack_size(1 << 20).spawn(f).expect("a thread").join().expect("no panic")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_pack_into_one_word_and_back() {
        for rule in [
            Rule::Stop,
            Rule::Frame { cfa_from_rbp: false, cfa_offset: 8, ra: -8, rbp: None },
            Rule::Frame { cfa_from_rbp: true, cfa_offset: 16, ra: -8, rbp: Some(-16) },
            Rule::Frame { cfa_from_rbp: false, cfa_offset: -40_000, ra: 127, rbp: Some(-127) },
        ] {
            assert_eq!(Rule::unpack(rule.pack().unwrap()), rule);
        }
        assert_eq!(Rule::Frame { cfa_from_rbp: false, cfa_offset: 8, ra: -300, rbp: None }.pack(), None);
        assert_eq!(Rule::Frame { cfa_from_rbp: false, cfa_offset: 8, ra: -8, rbp: Some(-128) }.pack(), None);
    }

    #[test]
    fn eh_frame_pointer_encodings() {
        // pcrel sdata4, the usual: -16 from the field's address.
        assert_eq!(decode_eh_frame_ptr(0x1b, &(-16i32).to_le_bytes(), 0x1004, 0x1000), Some(0xff4));
        assert_eq!(decode_eh_frame_ptr(0x03, &0x2000u32.to_le_bytes(), 0x1004, 0x1000), Some(0x2000));
        assert_eq!(decode_eh_frame_ptr(0x3b, &8i32.to_le_bytes(), 0x1004, 0x1000), Some(0x1008));
        assert_eq!(decode_eh_frame_ptr(0x1b, &[1, 2], 0, 0), None, "truncated");
        assert_eq!(decode_eh_frame_ptr(0x01, &[1, 2, 3, 4], 0, 0), None, "uleb128 is not used here");
    }

    #[inline(never)]
    fn deep(n: u32, unwinder: &mut Unwinder, out: &mut [u64]) -> usize {
        if n == 0 {
            let stack = current_thread_stack().expect("stack bounds");
            return unwinder.capture(None, stack, out, &mut Memo::try_new().unwrap()).frames;
        }
        std::hint::black_box(deep(n - 1, unwinder, out))
    }

    /// A call chain whose shape follows the bits of `path`: each level calls the next from one
    /// of two call sites, so chains share some levels and differ in others.
    #[inline(never)]
    fn chain(level: u32, path: u32, unwinder: &mut Unwinder, memo: &mut Memo, out: &mut [u64]) -> usize {
        if level == 0 {
            let stack = current_thread_stack().expect("stack bounds");
            return unwinder.capture(None, stack, out, memo).frames;
        }
        if path >> level & 1 == 1 {
            std::hint::black_box(chain(level - 1, path, unwinder, memo, out))
        } else {
            std::hint::black_box(chain_other(level - 1, path, unwinder, memo, out)) + std::hint::black_box(0)
        }
    }

    #[inline(never)]
    fn chain_other(level: u32, path: u32, unwinder: &mut Unwinder, memo: &mut Memo, out: &mut [u64]) -> usize {
        std::hint::black_box(chain(level, path, unwinder, memo, out))
    }

    #[test]
    fn the_memo_gives_exactly_what_a_full_unwind_gives() {
        let mut unwinder = Unwinder::try_new().unwrap();
        unwinder.own_range = 0..0;
        let mut memo = Memo::try_new().unwrap();
        for depth in [8usize, 20, 64] {
            for path in (0..40u32).chain((0..40).rev()).chain([7, 7, 7, 0, 0, 31, 1]) {
                let mut stacks = Vec::new();
                // One call site for both captures, so that even the outermost frames agree (a
                // trip count and a condition the optimiser cannot see keep the loop from being
                // unrolled or peeled in release builds).
                for round in 0..std::hint::black_box(2) {
                    let remembering = std::hint::black_box(round == 0);
                    let mut forgetful = Memo::try_new().unwrap();
                    let memo = if remembering { &mut memo } else { &mut forgetful };
                    let mut out = vec![0u64; depth];
                    let n = chain(6, path, &mut unwinder, memo, &mut out);
                    out.truncate(n);
                    stacks.push(out);
                }
                assert_eq!(stacks[0], stacks[1], "depth {depth}, path {path:b}");
                assert!(stacks[0].len() >= depth.min(8), "depth {depth}: {} frames", stacks[0].len());
            }
        }
    }

    /// A call chain whose levels call the next from one of two call sites of the same frame,
    /// as the bits of `path` say: two paths differ only in return addresses, so the inner
    /// states (address, SP, RBP) of a capture agree while the slots above the first level that
    /// differs do not.
    #[inline(never)]
    fn same_depth(level: u32, path: u32, unwinder: &mut Unwinder, memo: &mut Memo, out: &mut [u64]) -> usize {
        if level == 0 {
            let stack = current_thread_stack().expect("stack bounds");
            return unwinder.capture(None, stack, out, memo).frames;
        }
        type Level = fn(u32, u32, &mut Unwinder, &mut Memo, &mut [u64]) -> usize;
        // A direct call and an indirect one: two call sites the optimiser cannot merge.
        let n = if std::hint::black_box(path >> level & 1 == 1) {
            same_depth(level - 1, path, unwinder, memo, out)
        } else {
            std::hint::black_box(same_depth as Level)(level - 1, path, unwinder, memo, out)
        };
        std::hint::black_box(n)
    }

    #[test]
    fn a_memo_whose_outer_slots_changed_is_replayed_up_to_them() {
        let mut unwinder = Unwinder::try_new().unwrap();
        unwinder.own_range = 0..0;
        let mut memo = Memo::try_new().unwrap();
        for depth in [4usize, 9, 64] {
            let mut seen = Vec::new();
            for path in (0..32u32).chain([5, 5, 30, 1, 31, 0, 16, 17]) {
                let mut stacks = Vec::new();
                for round in 0..std::hint::black_box(2) {
                    let remembering = std::hint::black_box(round == 0);
                    let mut forgetful = Memo::try_new().unwrap();
                    let memo = if remembering { &mut memo } else { &mut forgetful };
                    let mut out = vec![0u64; depth];
                    let n = same_depth(5, path, &mut unwinder, memo, &mut out);
                    out.truncate(n);
                    stacks.push(out);
                }
                assert_eq!(stacks[0], stacks[1], "depth {depth}, path {path:b}");
                seen.push(stacks.pop().unwrap());
            }
            // The paths' stacks differ where their bits do (levels 1 to 5; bit 0 is not read).
            if depth == 64 {
                assert_ne!(seen[0], seen[2]);
                assert_ne!(seen[0], seen[32]);
                assert_eq!(seen[0], seen[1]);
                assert_eq!(seen[5], seen[32]);
            }
        }
    }

    #[test]
    fn captures_the_whole_call_chain_through_cfi() {
        let mut unwinder = Unwinder::try_new().unwrap();
        assert!(!unwinder.modules().is_empty());
        // The test binary links the shim in: keep "our" frames this time, they are the test.
        let test_binary = std::mem::replace(&mut unwinder.own_range, 0..0);
        let mut out = [0u64; 64];
        let n = deep(10, &mut unwinder, &mut out);
        let in_test_binary = out[..n].iter().filter(|a| test_binary.contains(a)).count();
        assert!(in_test_binary >= 11, "{n} frames, {in_test_binary} in the test binary: {:x?}", &out[..n]);
        for &address in &out[..n] {
            assert!(unwinder.modules().iter().any(|m| m.range.contains(&address)), "{address:#x}");
        }
        // The same stack again (same call site) comes from the rule cache, with the same frames.
        let mut stacks = Vec::new();
        let mut rules = Vec::new();
        for _ in 0..std::hint::black_box(2) {
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

    /// Like the allocator hooks' entry trampolines (`crate::hooks`): `capture_both_from` with
    /// the frame this returns into.
    #[cfg(target_arch = "x86_64")]
    #[unsafe(naked)]
    unsafe extern "C" fn capture_both(unwinder: &mut Unwinder, stacks: &mut [Vec<u64>; 2], memo: &mut Memo) {
        std::arch::naked_asm!(
            "mov rcx, [rsp]",
            "lea r8, [rsp + 8]",
            "mov r9, rbp",
            "jmp {body}",
            body = sym capture_both_from,
        )
    }

    /// The stack unwound from its trampoline's caller, then from here, with one memo.
    #[cfg(target_arch = "x86_64")]
    extern "C" fn capture_both_from(
        unwinder: &mut Unwinder,
        stacks: &mut [Vec<u64>; 2],
        memo: &mut Memo,
        return_address: usize,
        sp: usize,
        bp: usize,
    ) {
        let stack = current_thread_stack().expect("stack bounds");
        for (from, stack_out) in [Caller::new(return_address, sp, bp), None].into_iter().zip(stacks.iter_mut()) {
            let mut out = vec![0u64; 24];
            let n = unwinder.capture(from, stack.clone(), &mut out, memo).frames;
            out.truncate(n);
            *stack_out = out;
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(never)]
    fn capture_both_at(level: u32, unwinder: &mut Unwinder, memo: &mut Memo) -> [Vec<u64>; 2] {
        if level > 0 {
            return std::hint::black_box(capture_both_at(level - 1, unwinder, memo));
        }
        let mut stacks = [Vec::new(), Vec::new()];
        // SAFETY: the trampoline passes the three references on, as a call would.
        unsafe { capture_both(unwinder, &mut stacks, memo) };
        stacks
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_capture_from_the_caller_of_an_entry_trampoline_starts_at_its_return_address() {
        let mut unwinder = Unwinder::try_new().unwrap();
        // Keep the test binary's frames (the shim's own in production): they are the test.
        unwinder.own_range = 0..0;
        let mut memo = Memo::try_new().unwrap();
        for level in [3, 3, 5, 0, 5, 3] {
            let [from_caller, from_here] = capture_both_at(level, &mut unwinder, &mut memo);
            // From here: `capture_both_from`'s frame, whose return address is the trampoline's
            // (it jumped), then the same frames.
            assert!(from_caller.len() > level as usize + 3, "{from_caller:x?}");
            assert_eq!(from_caller[..], from_here[1..], "level {level}");
            // The return address is the one into `capture_both_at`.
            let below = from_here[1..].iter().filter(|&&a| a == from_caller[0]).count();
            assert_eq!(below, 1);
        }
        // A caller off this thread's stack is not followed: the stack is unwound from here.
        let stack = current_thread_stack().expect("stack bounds");
        let mut out = [0u64; 8];
        let foreign = Caller::new(0x1234, stack.start as usize - 4096, 0);
        let n = unwinder.capture(foreign, stack, &mut out, &mut memo).frames;
        assert!(n > 0 && !out[..n].contains(&0x1234), "{:x?}", &out[..n]);
    }

    #[test]
    fn stack_used_by_a_capture() {
        let used = stack_use::on_big_thread(|| {
            let mut unwinder = Unwinder::try_new().unwrap();
            let mut out = [0u64; 32];
            // One call site: the second capture meets only known rules.
            (0..std::hint::black_box(2))
                .map(|_| {
                    stack_use::measure(|| {
                        deep(3, &mut unwinder, &mut out);
                    })
                })
                .collect::<Vec<_>>()
        });
        eprintln!("capture: {} bytes with new rules, {} with the rules known", used[0], used[1]);
        // What is measured is the optimized build's, which runs in Python processes: an
        // unoptimized one (cargo test's default) keeps every temporary in its frames.
        if cfg!(debug_assertions) {
            return;
        }
        // gimli's default rows made the first 26 KiB.
        assert!(used[0] <= 6 * 1024, "{used:?}");
        assert!(used[1] <= 1536, "{used:?}");
        assert!(used[0] * 3 <= RULE_ROOM, "{used:?}");
    }

    /// Every FDE of every module loaded (the test binary, libc, libgcc_s, ld.so: gcc's CFI with
    /// its remembered states as well as LLVM's), evaluated at its last address (the whole CFI
    /// program runs) and its first: the stack that takes stays well inside [`RULE_ROOM`].
    #[test]
    fn stack_used_to_evaluate_any_rule() {
        let (worst, evaluated) = stack_use::on_big_thread(|| {
            let mut unwinder = Unwinder::try_new().unwrap();
            let mut addresses = Vec::new();
            for tables in &unwinder.tables {
                let Some(table) = tables.hdr.table() else { continue };
                let mut entries = table.iter(&tables.bases);
                while let Ok(Some((start, _))) = entries.next() {
                    let Ok(start) = start.direct() else { continue };
                    let Ok(fde) =
                        table.fde_for_address(&tables.eh_frame, &tables.bases, start, EhFrame::cie_from_offset)
                    else {
                        continue;
                    };
                    let end = fde.initial_address() + fde.len();
                    if end > start {
                        addresses.push(tables.bias.wrapping_add(start));
                        addresses.push(tables.bias.wrapping_add(end - 1));
                    }
                }
            }
            let mut worst = 0;
            for &address in &addresses {
                worst = worst.max(stack_use::measure(|| {
                    std::hint::black_box(unwinder.compute_rule(address));
                }));
            }
            (worst, addresses.len())
        });
        eprintln!("compute_rule: {worst} bytes at most over {evaluated} addresses");
        assert!(evaluated > 1000, "{evaluated}");
        if cfg!(debug_assertions) {
            return; // as in `stack_used_by_a_capture`
        }
        assert!(worst * 3 <= RULE_ROOM, "{worst}");
    }

    /// Captures with a new unwinder (every rule to evaluate) on threads with less and less
    /// stack left: none overflows (gimli's default rows took 26 KiB), and below [`RULE_ROOM`]
    /// the stack is cut, and says so.
    #[test]
    fn a_capture_with_little_stack_left_is_cut_and_says_so() {
        #[inline(never)]
        fn with_room(room: u64, stack: &Range<u64>, unwinder: &mut Unwinder, memo: &mut Memo) -> Capture {
            let here = current_registers().unwrap().1;
            if here - stack.start > room {
                let mut pad = [0u8; 256];
                std::hint::black_box(&mut pad);
                return std::hint::black_box(with_room(room, stack, unwinder, memo));
            }
            let mut out = [0u64; 32];
            unwinder.capture(None, stack.clone(), &mut out, memo)
        }
        // An unoptimized build's frames are several times larger: the rooms that only its own
        // frames would overflow are the optimized build's alone.
        let rooms: &[u64] = if cfg!(debug_assertions) {
            &[64 * 1024, RULE_ROOM + 12 * 1024, RULE_ROOM - 1]
        } else {
            &[64 * 1024, 20 * 1024, RULE_ROOM + 2048, RULE_ROOM - 1, 8192, 4096, 3072]
        };
        for &room in rooms {
            let captured = std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || {
                    // Made first: a new unwinder, which knows no rule yet.
                    let mut unwinder = Unwinder::try_new().unwrap();
                    unwinder.own_range = 0..0;
                    let mut memo = Memo::try_new().unwrap();
                    with_room(room, &current_thread_stack().unwrap(), &mut unwinder, &mut memo)
                })
                .unwrap()
                .join()
                .unwrap();
            if room > RULE_ROOM {
                assert_eq!(captured.cut, None, "{room}: {captured:?}");
                assert!(captured.frames >= 8, "{room}: {captured:?}");
            } else {
                // Cut at the first address, whose rule is not known yet.
                assert_eq!(captured.frames, 0, "{room}: {captured:?}");
                let left = captured.cut.unwrap_or_else(|| panic!("{room}: {captured:?}"));
                assert!(left <= room && left + 4096 > room, "{room}: {captured:?}");
            }
        }
        // The same stack cut for want of room, then taken again with room: the memo of the cut
        // capture does not end the second one early.
        let mut unwinder = Unwinder::try_new().unwrap();
        unwinder.own_range = 0..0;
        let mut memo = Memo::try_new().unwrap();
        let mut out = [0u64; 32];
        let stack = current_thread_stack().unwrap();
        // As if this thread's stack ended 8 KiB below here.
        let cramped = (current_registers().unwrap().1 - 8192)..stack.end;
        let cut = unwinder.capture(None, cramped, &mut out, &mut memo);
        assert!(cut.cut.is_some(), "{cut:?}");
        let full = unwinder.capture(None, stack, &mut out, &mut memo);
        assert!(full.cut.is_none() && full.frames > cut.frames, "{cut:?} then {full:?}");
    }

    #[test]
    fn a_short_buffer_truncates_the_stack() {
        let mut unwinder = Unwinder::try_new().unwrap();
        unwinder.own_range = 0..0;
        let mut out = [0u64; 4];
        assert_eq!(deep(10, &mut unwinder, &mut out), 4);
    }
}
