//! Reading what the shim wrote: `events.<pid>` files in the run directory, one record per line
//! (formats in `shims/src/channel.rs` and, for `site`, `stack`, `pyframe`, `nopyframes`,
//! `incomplete`, `ufree`, `wfree` and `module`, `shims/src/attribution.rs`), grouped into one
//! [`Series`] per `-R` run of a test.
//!
//! Pure parsing plus a directory read; a garbled or truncated line (a process killed in the
//! middle of a write) is counted and skipped, never fatal.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::Path;

use thiserror::Error;

/// The domains in record order.
pub const DOMAINS: [&str; 3] = ["raw", "mem", "obj"];
const FLAG_HOOKED: u32 = 1;
const FLAG_BYTES: u32 = 1 << 3;
/// The shim followed objects off CPython's free lists (its reference tracer, 3.13+).
const FLAG_OBJECT_LIVES: u32 = 1 << 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Begin,
    Baseline,
    Measure,
    End,
    Patched,
    Error,
    Replaced,
    /// `a` is `sys.getallocatedblocks()` when regrtest's `-R` driver began.
    Blocks,
}

/// Live blocks and bytes of one domain at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub blocks: i64,
    pub bytes: i64,
}

/// One line of an events file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: Kind,
    pub pid: i32,
    /// The test name (`begin`..`end`), entry point (`patched`), message (`error`) or command
    /// line, NUL-separated (`replaced`).
    pub text: Vec<u8>,
    pub a: i64,
    pub b: i64,
    pub flags: u32,
    pub counts: [Count; 3],
    /// When the shim wrote it: `CLOCK_MONOTONIC` nanoseconds, one clock for all processes.
    pub time_ns: Option<u64>,
}

impl Record {
    pub fn hooked(&self, domain: usize) -> bool {
        self.flags & (FLAG_HOOKED << domain) != 0
    }
    pub fn bytes_known(&self, domain: usize) -> bool {
        self.flags & (FLAG_BYTES << domain) != 0
    }
    pub fn text_lossy(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("unknown record kind")]
    Kind,
    #[error("expected 12 or 13 fields")]
    FieldCount,
    #[error("a number field is not a number")]
    Number,
    #[error("bad escape in a text field")]
    Escape,
}

/// One allocation site's live blocks at one measurement (attribution).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRecord {
    pub pid: i32,
    pub test: Vec<u8>,
    pub index: i64,
    pub site: u32,
    /// CPython's debug API id of the domain: `r`, `m` or `o`.
    pub domain: u8,
    pub count: Count,
    /// The size of every block allocated at the site so far, when they are all of one size.
    pub block_size: Option<u64>,
}

/// A site's stack: absolute return addresses, innermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRecord {
    pub pid: i32,
    pub site: u32,
    pub domain: u8,
    pub frames: Vec<u64>,
}

/// The innermost Python frame that was running when a site's blocks were allocated (written
/// right after the site's `stack` record, when the shim could read it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyFrameRecord {
    pub pid: i32,
    pub site: u32,
    /// -1 when the code object has no line for the instruction.
    pub line: i64,
    /// `co_filename`, or `?` when the shim could not read it.
    pub file: Vec<u8>,
    /// `co_qualname`, or `?`.
    pub function: Vec<u8>,
}

/// A loaded module: runtime addresses in `start..end` are ELF virtual address `address - bias`
/// of the file at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleRecord {
    pub pid: i32,
    pub path: Vec<u8>,
    pub bias: u64,
    pub start: u64,
    pub end: u64,
}

/// Any line of an events file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Counters(Record),
    Site(SiteRecord),
    Stack(StackRecord),
    PyFrame(PyFrameRecord),
    /// A site's stack was cut because its thread had too little stack left for the shim to
    /// unwind further (`room` bytes).
    StackCut {
        pid: i32,
        site: u32,
        room: u64,
    },
    /// Stacks are recorded but Python frames cannot be had in this process, and why.
    NoPyFrames {
        pid: i32,
        reason: Vec<u8>,
    },
    Module(ModuleRecord),
    /// A process, once, before its first `patched` record: its parent and command line, and
    /// when it began (an older shim's record has none).
    Process {
        pid: i32,
        ppid: i32,
        argv: Vec<String>,
        started_ns: Option<u64>,
    },
    /// A process that did not exec its image (a fork child), before any other record of its
    /// file: its parent when it wrote it, the process that exec'd the image it runs, and when
    /// it was forked.
    Fork(ForkRecord),
    /// A process that wrote a `process` record exited, at `time_ns` (`CLOCK_MONOTONIC`).
    Exit {
        pid: i32,
        time_ns: u64,
    },
    /// A Python type found among the live blocks of an `obj` site at the end of the series.
    ObjectType {
        site: u32,
        name: Vec<u8>,
    },
    UntrackedFree(UntrackedFreeRecord),
    WarmupFree(WarmupFreeRecord),
    /// The shim stopped attributing during a test's repetitions: measurement `index` and those
    /// after it have no sites.
    Incomplete(SitesIncomplete),
}

/// Why a series' allocation sites are incomplete (an `incomplete` record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitesIncomplete {
    pub pid: i32,
    pub test: Vec<u8>,
    /// The first measurement without sites.
    pub index: i64,
    /// `out of memory`: the shim's own bookkeeping could not get memory.
    pub reason: String,
}

/// Blocks older than the attribution window freed (or moved by realloc) during the counted
/// repetition that measurement `index` ends, while the innermost Python frame was `python`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntrackedFreeRecord {
    pub pid: i32,
    pub test: Vec<u8>,
    pub index: i64,
    pub domain: u8,
    pub count: Count,
    pub python: PythonLine,
}

/// Blocks allocated during the warm-ups (counted at the shim's warm-up sites) freed, or moved
/// by realloc, during the counted repetition that measurement `index` ends, all of one size,
/// while the innermost Python frame was `python` (`None`: the thread ran no Python code, or an
/// older shim's record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmupFreeRecord {
    pub pid: i32,
    pub test: Vec<u8>,
    pub index: i64,
    pub domain: u8,
    pub count: Count,
    pub python: Option<PythonLine>,
}

/// A Python line, as the shim resolved it: `(file, function, line)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PythonLine {
    pub file: Vec<u8>,
    pub function: Vec<u8>,
    pub line: i64,
}

impl PythonLine {
    /// regrtest's cleanup between repetitions: its own code, or `test.support.gc_collect()`,
    /// where `gc.collect()` empties CPython's free lists.
    pub fn is_regrtest_cleanup(&self) -> bool {
        let file = String::from_utf8_lossy(&self.file);
        file.contains("/test/libregrtest/")
            || (file.ends_with("/test/support/__init__.py") && self.function == b"gc_collect")
    }
}

/// Parse one line (without its newline).
pub fn parse_line(line: &[u8]) -> Result<Line, ParseError> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
    let pid = |field: &[u8]| -> Result<i32, ParseError> {
        int(field).and_then(|n| i32::try_from(n).map_err(|_| ParseError::Number))
    };
    let hex = |field: &[u8]| -> Result<u64, ParseError> {
        std::str::from_utf8(field).ok().and_then(|s| u64::from_str_radix(s, 16).ok()).ok_or(ParseError::Number)
    };
    let domain = |field: &[u8]| -> Result<u8, ParseError> {
        match field {
            [d @ (b'r' | b'm' | b'o')] => Ok(*d),
            _ => Err(ParseError::Number),
        }
    };
    match fields.first().copied() {
        Some(b"site") => {
            // The block size (0: sizes differ) came last, later: an older shim's record has none.
            let (site_fields, size) = match fields[..] {
                [ref head @ .., size] if fields.len() == 9 => (head, Some(size)),
                _ => (&fields[..], None),
            };
            let [_, p, test, index, site, d, blocks, bytes] = site_fields[..] else {
                return Err(ParseError::FieldCount);
            };
            let block_size = match size {
                Some(size) => u64::try_from(int(size)?).ok().filter(|&s| s > 0),
                None => None,
            };
            Ok(Line::Site(SiteRecord {
                pid: pid(p)?,
                test: unescape(test)?,
                index: int(index)?,
                site: u32::try_from(int(site)?).map_err(|_| ParseError::Number)?,
                domain: domain(d)?,
                count: Count { blocks: int(blocks)?, bytes: int(bytes)? },
                block_size,
            }))
        }
        Some(b"stack") => {
            let [_, p, _, site, d, frames] = fields[..] else { return Err(ParseError::FieldCount) };
            let frames = if frames.is_empty() {
                Vec::new()
            } else {
                frames.split(|&b| b == b',').map(hex).collect::<Result<_, _>>()?
            };
            Ok(Line::Stack(StackRecord {
                pid: pid(p)?,
                site: u32::try_from(int(site)?).map_err(|_| ParseError::Number)?,
                domain: domain(d)?,
                frames,
            }))
        }
        Some(b"stackcut") => {
            let [_, p, _, site, room] = fields[..] else { return Err(ParseError::FieldCount) };
            Ok(Line::StackCut {
                pid: pid(p)?,
                site: u32::try_from(int(site)?).map_err(|_| ParseError::Number)?,
                room: u64::try_from(int(room)?).map_err(|_| ParseError::Number)?,
            })
        }
        Some(b"pyframe") => {
            let [_, p, _, site, line, file, function] = fields[..] else { return Err(ParseError::FieldCount) };
            Ok(Line::PyFrame(PyFrameRecord {
                pid: pid(p)?,
                site: u32::try_from(int(site)?).map_err(|_| ParseError::Number)?,
                line: int(line)?,
                file: unescape(file)?,
                function: unescape(function)?,
            }))
        }
        Some(b"ufree") => {
            let [_, p, test, index, d, blocks, bytes, line, file, function] = fields[..] else {
                return Err(ParseError::FieldCount);
            };
            Ok(Line::UntrackedFree(UntrackedFreeRecord {
                pid: pid(p)?,
                test: unescape(test)?,
                index: int(index)?,
                domain: domain(d)?,
                count: Count { blocks: int(blocks)?, bytes: int(bytes)? },
                python: PythonLine { file: unescape(file)?, function: unescape(function)?, line: int(line)? },
            }))
        }
        Some(b"wfree") => {
            // The Python line came later, and a thread without Python code has none.
            let (head, python) = match fields[..] {
                [ref head @ .., line, file, function] if fields.len() == 10 => {
                    (head, Some(PythonLine { file: unescape(file)?, function: unescape(function)?, line: int(line)? }))
                }
                _ => (&fields[..], None),
            };
            let [_, p, test, index, d, blocks, bytes] = head[..] else { return Err(ParseError::FieldCount) };
            Ok(Line::WarmupFree(WarmupFreeRecord {
                pid: pid(p)?,
                test: unescape(test)?,
                index: int(index)?,
                domain: domain(d)?,
                count: Count { blocks: int(blocks)?, bytes: int(bytes)? },
                python,
            }))
        }
        Some(b"objtype") => {
            let [_, p, _, site, name] = fields[..] else { return Err(ParseError::FieldCount) };
            pid(p)?;
            let site = u32::try_from(int(site)?).map_err(|_| ParseError::Number)?;
            Ok(Line::ObjectType { site, name: unescape(name)? })
        }
        Some(b"incomplete") => {
            let [_, p, test, index, reason] = fields[..] else { return Err(ParseError::FieldCount) };
            Ok(Line::Incomplete(SitesIncomplete {
                pid: pid(p)?,
                test: unescape(test)?,
                index: int(index)?,
                reason: String::from_utf8_lossy(&unescape(reason)?).into_owned(),
            }))
        }
        Some(b"nopyframes") => {
            let [_, p, _, reason] = fields[..] else { return Err(ParseError::FieldCount) };
            Ok(Line::NoPyFrames { pid: pid(p)?, reason: unescape(reason)? })
        }
        Some(b"process") => {
            // When it began came later: an older shim's record has none.
            let (p, parent, argv, started) = match fields[..] {
                [_, p, parent, argv] => (p, parent, argv, None),
                [_, p, parent, argv, started] => (p, parent, argv, Some(started)),
                _ => return Err(ParseError::FieldCount),
            };
            Ok(Line::Process {
                pid: pid(p)?,
                ppid: pid(parent)?,
                argv: crate::hang::procfs::split_cmdline(&unescape(argv)?),
                started_ns: started.map(time).transpose()?,
            })
        }
        Some(b"fork") => {
            let [_, p, parent, image, started] = fields[..] else { return Err(ParseError::FieldCount) };
            Ok(Line::Fork(ForkRecord {
                pid: pid(p)?,
                ppid: pid(parent)?,
                image: pid(image)?,
                started_ns: time(started)?,
            }))
        }
        Some(b"exit") => {
            let [_, p, at] = fields[..] else { return Err(ParseError::FieldCount) };
            Ok(Line::Exit { pid: pid(p)?, time_ns: time(at)? })
        }
        Some(b"module") => {
            let [_, p, path, bias, start, end] = fields[..] else { return Err(ParseError::FieldCount) };
            Ok(Line::Module(ModuleRecord {
                pid: pid(p)?,
                path: unescape(path)?,
                bias: hex(bias)?,
                start: hex(start)?,
                end: hex(end)?,
            }))
        }
        _ => parse_counters(line).map(Line::Counters),
    }
}

fn int(field: &[u8]) -> Result<i64, ParseError> {
    std::str::from_utf8(field).ok().and_then(|s| s.parse().ok()).ok_or(ParseError::Number)
}

/// A `CLOCK_MONOTONIC` time in nanoseconds.
fn time(field: &[u8]) -> Result<u64, ParseError> {
    u64::try_from(int(field)?).map_err(|_| ParseError::Number)
}

/// Parse a record with counters (every kind but `site`, `stack`, `pyframe`, `nopyframes`,
/// `process`, `incomplete`, `ufree`, `wfree`, `objtype` and `module`).
fn parse_counters(line: &[u8]) -> Result<Record, ParseError> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
    // The time field came later: records without it still parse.
    if fields.len() != 12 && fields.len() != 13 {
        return Err(ParseError::FieldCount);
    }
    let kind = match fields[0] {
        b"begin" => Kind::Begin,
        b"baseline" => Kind::Baseline,
        b"measure" => Kind::Measure,
        b"end" => Kind::End,
        b"patched" => Kind::Patched,
        b"error" => Kind::Error,
        b"replaced" => Kind::Replaced,
        b"blocks" => Kind::Blocks,
        _ => return Err(ParseError::Kind),
    };
    let num = |field: &[u8]| -> Result<i64, ParseError> {
        std::str::from_utf8(field).ok().and_then(|s| s.parse().ok()).ok_or(ParseError::Number)
    };
    let mut counts = [Count::default(); 3];
    for (i, count) in counts.iter_mut().enumerate() {
        *count = Count { blocks: num(fields[6 + 2 * i])?, bytes: num(fields[7 + 2 * i])? };
    }
    Ok(Record {
        kind,
        pid: i32::try_from(num(fields[1])?).map_err(|_| ParseError::Number)?,
        text: unescape(fields[2])?,
        a: num(fields[3])?,
        b: num(fields[4])?,
        flags: u32::try_from(num(fields[5])?).map_err(|_| ParseError::Number)?,
        counts,
        time_ns: match fields.get(12) {
            Some(field) => Some(u64::try_from(num(field)?).map_err(|_| ParseError::Number)?),
            None => None,
        },
    })
}

/// Undo the shim's `\xHH` escaping.
fn unescape(field: &[u8]) -> Result<Vec<u8>, ParseError> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\' {
            let hex = field.get(i + 1..i + 4).ok_or(ParseError::Escape)?;
            if hex[0] != b'x' {
                return Err(ParseError::Escape);
            }
            let value = std::str::from_utf8(&hex[1..])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(ParseError::Escape)?;
            out.push(value);
            i += 4;
        } else {
            out.push(field[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// One `-R` run of one test in one process: `begin`, `baseline`, the measurements, `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// When its `begin` record was written (`CLOCK_MONOTONIC` nanoseconds).
    pub started_ns: Option<u64>,
    /// When its `end` record was written; `None` without one (or without times).
    pub ended_ns: Option<u64>,
    pub pid: i32,
    pub test: String,
    pub warmups: u32,
    pub runs: u32,
    /// Counters before the first repetition.
    pub baseline: Option<[Count; 3]>,
    /// Counters after each repetition, in order (index = repetition).
    pub measures: Vec<[Count; 3]>,
    /// The interned strings regrtest's 3.12+ driver subtracts from its block count, at the
    /// baseline and after each repetition (`getunicodeinternedsize()`; -1 where the driver does
    /// not subtract them).
    pub interned_baseline: i64,
    pub interned: Vec<i64>,
    /// The flags of the `begin` record and of every counted measurement, ANDed: which hooks
    /// counted through all counted repetitions, which byte counts are exact. A hook taken out
    /// during a warm-up and put back by the shim before the counted ones does not matter.
    pub flags: u32,
    /// The flags of the `begin` record alone: what held when the test's repetitions began.
    pub begin_flags: u32,
    /// `Some(false)`: all repetitions ran; `Some(true)`: an exception cut them short; `None`: no
    /// `end` record (the process died during the test).
    pub aborted: Option<bool>,
    /// Allocation sites with live blocks at the counted measurements (attribution): site id ->
    /// (domain API id, measurement index -> live count). Ids are per series.
    pub sites: BTreeMap<u32, (u8, BTreeMap<i64, Count>)>,
    /// Site id -> stack (absolute return addresses, innermost first).
    pub stacks: BTreeMap<u32, Vec<u64>>,
    /// Site id -> the bytes of stack its thread had left, for the sites whose stack the shim
    /// cut because that was too little to unwind further (a `stackcut` record).
    pub stack_cuts: BTreeMap<u32, u64>,
    /// Site id -> the Python frames running when its blocks were allocated, innermost first (the
    /// shim writes them in that order); absent when the shim had none (no Python code on the
    /// thread, or Python frames unavailable: see [`ShimData::no_python_frames`]).
    pub pyframes: BTreeMap<u32, Vec<PyFrameRecord>>,
    /// Site id -> the Python types of objects still alive there when the series ended (`obj`
    /// sites that may leak; see the shim's `objtype` module).
    pub object_types: BTreeMap<u32, Vec<String>>,
    /// The process's modules, to map the stacks' addresses to files.
    pub modules: Vec<ModuleRecord>,
    /// Blocks older than the attribution window freed during the counted repetitions, by
    /// domain (API id), innermost Python line and block size: measurement index -> count.
    pub untracked_frees: BTreeMap<(u8, PythonLine, u64), BTreeMap<i64, Count>>,
    /// Site id -> the size of all its blocks, for sites whose blocks were all of one size.
    pub block_sizes: BTreeMap<u32, u64>,
    /// Those of them freed in regrtest's cleanup (see [`PythonLine::is_regrtest_cleanup`]), by
    /// domain and block size: measurement index -> blocks. Objects that died on a free list
    /// during the repetition are freed there, away from the line that dropped them.
    pub cleanup_frees: BTreeMap<(u8, u64), BTreeMap<i64, i64>>,
    /// Blocks allocated during the warm-ups freed (or moved by realloc) during the counted
    /// repetitions, by domain (API id) and block size: measurement index -> blocks. Free lists
    /// that rotate their blocks let such blocks die while new ones take their place at a site.
    pub warmup_frees: BTreeMap<(u8, u64), BTreeMap<i64, i64>>,
    /// The same frees, for those made while a Python frame ran, by domain, innermost Python
    /// line and block size: a ring that a C function rotates (free the oldest, allocate anew)
    /// frees on the line whose site grows.
    pub warmup_frees_by_line: BTreeMap<(u8, PythonLine, u64), BTreeMap<i64, i64>>,
    /// The shim stopped attributing during the repetitions (the first time it said so): the
    /// sites are not all there, and none can be called a leak.
    pub sites_incomplete: Option<SitesIncomplete>,
    /// `sys.getallocatedblocks()` when the driver began (the `blocks` record; -1: it could not
    /// be read), when the shim said.
    pub allocated_blocks: Option<i64>,
}

impl Series {
    /// Whether regrtest's memory-block check could see this test's `mem` and `obj` blocks:
    /// `sys.getallocatedblocks()`, which it reads, counts pymalloc's blocks, and is 0 in an
    /// interpreter without pymalloc (sanitizer builds). Believed when the shim did not say.
    pub fn regrtest_counts_blocks(&self) -> bool {
        self.allocated_blocks != Some(0)
    }

    pub fn hooked(&self, domain: usize) -> bool {
        self.flags & (FLAG_HOOKED << domain) != 0
    }
    pub fn bytes_known(&self, domain: usize) -> bool {
        self.flags & (FLAG_BYTES << domain) != 0
    }
    /// The shim followed objects from birth to death through all counted repetitions, free
    /// lists or not (`shims/src/reftrace.rs`): an `obj` site is where its objects were made.
    pub fn objects_followed(&self) -> bool {
        self.flags & FLAG_OBJECT_LIVES != 0
    }
    /// The shim followed objects off free lists when the repetitions began, but not through all
    /// the counted ones: the test replaced CPython's reference tracer (`PyRefTracer_SetTracer`),
    /// and objects taken off free lists meanwhile stayed at the sites that first allocated
    /// their blocks.
    pub fn objects_unfollowed(&self) -> bool {
        self.begin_flags & FLAG_OBJECT_LIVES != 0 && !self.objects_followed()
    }
    /// Every counted repetition was measured, from a baseline.
    pub fn complete(&self) -> bool {
        self.runs > 0 && self.baseline.is_some() && self.measures.len() >= (self.warmups + self.runs) as usize
    }
}

/// What a `process` record tells of a process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessRecord {
    pub ppid: i32,
    pub argv: Vec<String>,
    /// When it began (`CLOCK_MONOTONIC` ns): its exec, or its fork for a fork child. None from
    /// an older shim.
    pub started_ns: Option<u64>,
}

/// What a `fork` record tells of a process that did not exec its image: a fork child that
/// writes records (it went on running regrtest's `-R` loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForkRecord {
    pub pid: i32,
    /// Its parent when it wrote the record (the process it was forked from, unless that one
    /// was gone already).
    pub ppid: i32,
    /// The process that exec'd the image it runs: the one it was forked from, or an ancestor
    /// of that one by forks alone.
    pub image: i32,
    /// When it was forked (`CLOCK_MONOTONIC` ns; 0 when the shim could not tell).
    pub started_ns: u64,
}

impl ProcessRecord {
    /// A regrtest `-j` worker, by its command line ([`crate::hang::worker_test`]): a process
    /// that runs one test file from its start to its exit.
    pub fn is_worker(&self) -> bool {
        crate::hang::worker_test(&self.argv).is_some()
    }
}

/// Everything read from a run directory.
#[derive(Debug, Default)]
pub struct ShimData {
    /// In the order they began (per file, in file order, for records without times).
    pub series: Vec<Series>,
    /// pid -> entry point wrapped (`dash_R`, `runtest_refleak`).
    pub patched: BTreeMap<i32, String>,
    /// `(pid, message)` of `error` records.
    pub errors: Vec<(i32, String)>,
    /// pid -> parent and command line, of the processes that patched regrtest's `-R` driver.
    pub processes: BTreeMap<i32, ProcessRecord>,
    /// pid -> when it exited (`CLOCK_MONOTONIC` ns), of the processes of [`ShimData::processes`]
    /// that exited normally (`exit` records).
    pub exited: BTreeMap<i32, u64>,
    /// pid -> the latest time its records carry (`CLOCK_MONOTONIC` ns): alive until then at
    /// least, for a process killed before its `exit` record.
    pub last_seen: BTreeMap<i32, u64>,
    /// pid -> its `fork` record, of the processes that did not exec their image (fork
    /// children that wrote records).
    pub forks: BTreeMap<i32, ForkRecord>,
    /// `(pid, argv)` of processes whose hooks were replaced (PYTHONMALLOC, -X dev).
    pub replaced: Vec<(i32, Vec<String>)>,
    /// Why Python frames could not be had (`nopyframes` records), each distinct reason once, in
    /// the order first seen: every process of a run usually gives the same one.
    pub no_python_frames: Vec<String>,
    /// Lines that did not parse (truncated writes of killed processes, corruption).
    pub bad_lines: usize,
    /// Processes forked from a regrtest process that went on with regrtest's loop instead of
    /// exiting ([`StrayFork`]); their series are not in [`ShimData::series`].
    pub stray_forks: Vec<StrayFork>,
    /// `events.*` entries that could not be read, with why: their processes' records are
    /// missing.
    pub unreadable: Vec<(std::path::PathBuf, String)>,
}

/// A fork of a regrtest process that went on running regrtest's `-R` loop (a test's
/// `os.fork()` child that returned from the test, or from its module's import, instead of
/// calling `os._exit`): a process whose `fork` record says it did not exec its image and that
/// measured tests, or (an older shim's, without that record) whose records begin inside a
/// test's repetitions, with no `begin`. The shim starts a fresh events file in a forked child,
/// so what the child measures after the fork lands there. No nested regrtest (one a test
/// starts execs a new interpreter): the process it was forked from measured the same tests.
/// regrtest's output then has that process's results and summary too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrayFork {
    pub pid: i32,
    /// The test it was forked in: whose repetitions were running, or, with `before_repetitions`,
    /// the first it measured itself, whose repetitions had not begun (forked at the test
    /// module's import, say).
    pub test: String,
    /// Forked before `test`'s repetitions began: it measured them all itself, as its parent
    /// did; they are set aside with the later tests'.
    pub before_repetitions: bool,
    /// The tests it measured after that, again: set aside, the parent measured them as well.
    pub later_tests: Vec<String>,
}

impl ShimData {
    /// Whether `pid` wrote a `process` record as a `-j` worker ([`ProcessRecord::is_worker`]).
    pub fn is_worker(&self, pid: i32) -> bool {
        self.processes.get(&pid).is_some_and(ProcessRecord::is_worker)
    }

    /// The regrtest process `pid` measured for: a `-j` worker's parent, else `pid` itself.
    pub fn main_of(&self, pid: i32) -> i32 {
        self.processes.get(&pid).filter(|p| p.is_worker()).map_or(pid, |p| p.ppid)
    }

    /// Read every `events.*` file of `dir`; one that cannot be read is listed in
    /// [`ShimData::unreadable`]. Fails only when the directory itself cannot be read.
    pub fn read_dir(dir: &Path) -> std::io::Result<Self> {
        let mut files: Vec<_> = std::fs::read_dir(dir)?
            .flatten()
            .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with("events.")))
            .map(|e| e.path())
            .collect();
        files.sort();
        let mut data = Self::default();
        for file in files {
            match std::fs::read(&file) {
                Ok(bytes) => data.add_file(&bytes),
                Err(err) => data.unreadable.push((file, err.to_string())),
            }
        }
        data.set_aside_forks();
        // Files are per process; a test's re-run may be in another process than its first run.
        if data.series.iter().all(|s| s.started_ns.is_some()) {
            data.series.sort_by_key(|s| s.started_ns);
        }
        Ok(data)
    }

    /// Add the records of one events file (one process).
    pub fn add_file(&mut self, bytes: &[u8]) {
        let mut open: Option<Series> = None;
        let first_series = self.series.len();
        // Records of a series before this file's first `begin`, in a file that was sound up to
        // them, belong to a test its process was forked in ([`StrayFork`]), not to a broken file.
        let bad_before = self.bad_lines;
        let mut began = false;
        let mut stray: Option<(i32, String)> = None;
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            // A record of a series with none open: bad, unless it is a stray fork's.
            let orphan_is_bad = usize::from(began || stray.is_none());
            let record = match parse_line(line) {
                Ok(Line::Counters(record)) => record,
                Ok(Line::Site(site)) => {
                    match open.as_mut().filter(|s| s.test.as_bytes() == site.test.as_slice()) {
                        Some(series) => {
                            let (_, counts) =
                                series.sites.entry(site.site).or_insert_with(|| (site.domain, BTreeMap::new()));
                            counts.insert(site.index, site.count);
                            // The last record's word: sizes only ever become mixed.
                            match site.block_size {
                                Some(size) => series.block_sizes.insert(site.site, size),
                                None => series.block_sizes.remove(&site.site),
                            };
                        }
                        None => self.bad_lines += orphan_is_bad,
                    }
                    continue;
                }
                Ok(Line::Stack(stack)) => {
                    match open.as_mut() {
                        Some(series) => {
                            series.stacks.insert(stack.site, stack.frames);
                        }
                        None => self.bad_lines += orphan_is_bad,
                    }
                    continue;
                }
                Ok(Line::StackCut { site, room, .. }) => {
                    match open.as_mut() {
                        Some(series) => {
                            series.stack_cuts.insert(site, room);
                        }
                        None => self.bad_lines += orphan_is_bad,
                    }
                    continue;
                }
                Ok(Line::PyFrame(frame)) => {
                    match open.as_mut() {
                        Some(series) => {
                            series.pyframes.entry(frame.site).or_default().push(frame);
                        }
                        None => self.bad_lines += orphan_is_bad,
                    }
                    continue;
                }
                Ok(Line::UntrackedFree(free)) => {
                    match open.as_mut().filter(|s| s.test.as_bytes() == free.test.as_slice()) {
                        Some(series) => {
                            // One record per block size (its bytes are a multiple of it).
                            let size = u64::try_from(free.count.bytes / free.count.blocks.max(1)).unwrap_or(0);
                            if free.python.is_regrtest_cleanup() && free.count.blocks > 0 {
                                *series
                                    .cleanup_frees
                                    .entry((free.domain, size))
                                    .or_default()
                                    .entry(free.index)
                                    .or_default() += free.count.blocks;
                            }
                            let count = series
                                .untracked_frees
                                .entry((free.domain, free.python, size))
                                .or_default()
                                .entry(free.index)
                                .or_default();
                            count.blocks += free.count.blocks;
                            count.bytes += free.count.bytes;
                        }
                        None => self.bad_lines += orphan_is_bad,
                    }
                    continue;
                }
                Ok(Line::WarmupFree(free)) => {
                    match open.as_mut().filter(|s| s.test.as_bytes() == free.test.as_slice()) {
                        Some(series) => {
                            // One record per block size (its bytes are a multiple of it).
                            let size = u64::try_from(free.count.bytes / free.count.blocks.max(1)).unwrap_or(0);
                            if free.count.blocks > 0 {
                                *series
                                    .warmup_frees
                                    .entry((free.domain, size))
                                    .or_default()
                                    .entry(free.index)
                                    .or_default() += free.count.blocks;
                                if let Some(python) = free.python {
                                    *series
                                        .warmup_frees_by_line
                                        .entry((free.domain, python, size))
                                        .or_default()
                                        .entry(free.index)
                                        .or_default() += free.count.blocks;
                                }
                            }
                        }
                        None => self.bad_lines += orphan_is_bad,
                    }
                    continue;
                }
                Ok(Line::Incomplete(incomplete)) => {
                    match open.as_mut().filter(|s| s.test.as_bytes() == incomplete.test.as_slice()) {
                        Some(series) => {
                            series.sites_incomplete.get_or_insert(incomplete);
                        }
                        None => self.bad_lines += orphan_is_bad,
                    }
                    continue;
                }
                Ok(Line::ObjectType { site, name }) => {
                    match open.as_mut() {
                        Some(series) => series
                            .object_types
                            .entry(site)
                            .or_default()
                            .push(String::from_utf8_lossy(&name).into_owned()),
                        None => self.bad_lines += orphan_is_bad,
                    }
                    continue;
                }
                // A statement about the process, not about a series: valid outside one too.
                Ok(Line::Process { pid, ppid, argv, started_ns }) => {
                    self.processes.insert(pid, ProcessRecord { ppid, argv, started_ns });
                    if let Some(time) = started_ns {
                        self.seen(pid, time);
                    }
                    continue;
                }
                Ok(Line::Fork(fork)) => {
                    self.forks.insert(fork.pid, fork);
                    continue;
                }
                Ok(Line::Exit { pid, time_ns }) => {
                    self.exited.insert(pid, time_ns);
                    self.seen(pid, time_ns);
                    continue;
                }
                Ok(Line::NoPyFrames { reason, .. }) => {
                    let reason = String::from_utf8_lossy(&reason).into_owned();
                    if !self.no_python_frames.contains(&reason) {
                        self.no_python_frames.push(reason);
                    }
                    continue;
                }
                Ok(Line::Module(module)) => {
                    match open.as_mut() {
                        Some(series) if !series.modules.contains(&module) => series.modules.push(module),
                        Some(_) => {}
                        None => self.bad_lines += orphan_is_bad,
                    }
                    continue;
                }
                Err(_) => {
                    self.bad_lines += 1;
                    continue;
                }
            };
            if let Some(time) = record.time_ns {
                self.seen(record.pid, time);
            }
            match record.kind {
                Kind::Begin => {
                    began = true;
                    if let Some(series) = open.take() {
                        self.series.push(series);
                    }
                    open = Some(Series {
                        started_ns: record.time_ns,
                        ended_ns: None,
                        pid: record.pid,
                        test: record.text_lossy(),
                        warmups: u32::try_from(record.a).unwrap_or(0),
                        runs: u32::try_from(record.b).unwrap_or(0),
                        baseline: None,
                        measures: Vec::new(),
                        interned_baseline: -1,
                        interned: Vec::new(),
                        flags: record.flags,
                        begin_flags: record.flags,
                        aborted: None,
                        sites: BTreeMap::new(),
                        stacks: BTreeMap::new(),
                        stack_cuts: BTreeMap::new(),
                        pyframes: BTreeMap::new(),
                        object_types: BTreeMap::new(),
                        modules: Vec::new(),
                        untracked_frees: BTreeMap::new(),
                        cleanup_frees: BTreeMap::new(),
                        warmup_frees: BTreeMap::new(),
                        warmup_frees_by_line: BTreeMap::new(),
                        block_sizes: BTreeMap::new(),
                        sites_incomplete: None,
                        allocated_blocks: None,
                    });
                }
                Kind::Baseline | Kind::Measure | Kind::Blocks | Kind::End => {
                    let Some(series) = open.as_mut().filter(|s| s.test.as_bytes() == record.text.as_slice()) else {
                        if !began && (stray.is_some() || self.bad_lines == bad_before) {
                            stray.get_or_insert_with(|| (record.pid, record.text_lossy()));
                        } else {
                            self.bad_lines += 1;
                        }
                        continue;
                    };
                    if record.kind == Kind::Measure && record.a >= i64::from(series.warmups) {
                        series.flags &= record.flags;
                    }
                    match record.kind {
                        Kind::Baseline => {
                            series.baseline = Some(record.counts);
                            series.interned_baseline = record.b;
                        }
                        Kind::Measure if record.a == series.measures.len() as i64 => {
                            series.measures.push(record.counts);
                            series.interned.push(record.b);
                        }
                        Kind::Measure => self.bad_lines += 1,
                        Kind::Blocks => series.allocated_blocks = Some(record.a),
                        _ => {
                            series.aborted = Some(record.b != 0);
                            series.ended_ns = record.time_ns;
                            self.series.extend(open.take());
                        }
                    }
                }
                Kind::Patched => {
                    self.patched.insert(record.pid, record.text_lossy());
                }
                Kind::Error => self.errors.push((record.pid, record.text_lossy())),
                Kind::Replaced => {
                    let argv = crate::hang::procfs::split_cmdline(&record.text);
                    self.replaced.push((record.pid, argv));
                }
            }
        }
        self.series.extend(open);
        if let Some((pid, test)) = stray {
            let later_tests = self.series.drain(first_series..).map(|s| s.test).collect();
            self.stray_forks.push(StrayFork { pid, test, before_repetitions: false, later_tests });
        }
    }

    /// Once every file is in: set aside the series of the fork children ([`ShimData::forks`])
    /// of a regrtest process (one that wrote a `process` record or measured) that measured
    /// tests from their beginning ([`StrayFork`] with `before_repetitions`): forked before the
    /// repetitions of the first of them began, at the test module's import, say. (One forked
    /// in the middle of a test's repetitions was set aside with its file.)
    pub fn set_aside_forks(&mut self) {
        let forks: Vec<ForkRecord> = self.forks.values().copied().collect();
        for fork in forks {
            let of_regrtest = |pid: i32| self.processes.contains_key(&pid) || self.series.iter().any(|s| s.pid == pid);
            let from_regrtest = [fork.image, fork.ppid].into_iter().any(|pid| pid != fork.pid && of_regrtest(pid));
            if !from_regrtest || self.stray_forks.iter().any(|s| s.pid == fork.pid) {
                continue;
            }
            let mut tests = Vec::new();
            self.series.retain(|s| {
                let own = s.pid == fork.pid;
                if own {
                    tests.push((s.started_ns, s.test.clone()));
                }
                !own
            });
            // In the order they began, when the records say.
            if tests.iter().all(|(started, _)| started.is_some()) {
                tests.sort_by_key(|(started, _)| *started);
            }
            let mut tests = tests.into_iter().map(|(_, test)| test);
            let Some(test) = tests.next() else { continue };
            self.stray_forks.push(StrayFork {
                pid: fork.pid,
                test,
                before_repetitions: true,
                later_tests: tests.collect(),
            });
        }
    }

    /// `pid` was alive at `time`.
    fn seen(&mut self, pid: i32, time: u64) {
        let last = self.last_seen.entry(pid).or_insert(time);
        *last = (*last).max(time);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &[u8] = b"patched\t10\tdash_R\t1\t2\t63\t48\t100\t7\t70\t9\t90\n\
begin\t10\ttest_x\t3\t3\t63\t48\t100\t7\t70\t9\t90\n\
baseline\t10\ttest_x\t-1\t0\t63\t48\t100\t7\t70\t9\t90\n\
measure\t10\ttest_x\t0\t0\t63\t49\t148\t7\t70\t9\t90\n\
measure\t10\ttest_x\t1\t0\t63\t50\t196\t7\t70\t9\t90\n\
end\t10\ttest_x\t2\t0\t63\t50\t196\t7\t70\t9\t90\n";

    #[test]
    fn site_records_carry_their_block_size_when_the_shim_wrote_one() {
        let site = |line: &[u8]| match parse_line(line) {
            Ok(Line::Site(site)) => site,
            other => panic!("{other:?}"),
        };
        assert_eq!(site(b"site\t1\tt\t3\t7\tr\t2\t96\t48").block_size, Some(48));
        assert_eq!(site(b"site\t1\tt\t3\t7\tr\t2\t112\t0").block_size, None, "sizes differ");
        assert_eq!(site(b"site\t1\tt\t3\t7\tr\t2\t96").block_size, None, "an older shim's record");
        assert!(parse_line(b"site\t1\tt\t3\t7\tr\t2\t96\t48\t1").is_err());
    }

    #[test]
    fn process_records_say_when_the_process_began_and_fork_records_what_it_was_forked_from() {
        let process = parse_line(b"process\t10\t9\tpython\x00-m\x00test\x00\t1234").unwrap();
        let Line::Process { pid: 10, ppid: 9, argv, started_ns: Some(1234) } = process else { panic!("{process:?}") };
        assert_eq!(argv, ["python", "-m", "test"]);
        // An older shim's record.
        let process = parse_line(b"process\t10\t9\tpython\x00").unwrap();
        assert!(matches!(process, Line::Process { started_ns: None, .. }), "{process:?}");
        assert!(parse_line(b"process\t10\t9\tpython\x00\t-5").is_err());
        let fork = parse_line(b"fork\t11\t10\t10\t99").unwrap();
        let expected = ForkRecord { pid: 11, ppid: 10, image: 10, started_ns: 99 };
        assert!(matches!(fork, Line::Fork(f) if f == expected), "{fork:?}");
        for bad in [&b"fork\t11\t10\t10"[..], b"fork\t11\t10\tx\t99", b"fork\t11\t10\t10\t99\t1"] {
            assert!(parse_line(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn the_last_time_a_process_was_seen_is_its_latest_record() {
        let mut data = ShimData::default();
        data.add_file(
            b"process\t10\t9\tpython\x00\t100\n\
begin\t10\ttest_x\t3\t3\t63\t48\t100\t7\t70\t9\t90\t200\n\
end\t10\ttest_x\t0\t1\t63\t48\t100\t7\t70\t9\t90\t300\n",
        );
        assert_eq!(data.last_seen.get(&10), Some(&300));
        assert_eq!(data.processes[&10].started_ns, Some(100));
        data.add_file(b"exit\t10\t400\n");
        assert_eq!((data.last_seen.get(&10), data.exited.get(&10)), (Some(&400), Some(&400)));
    }

    /// A test module that forks at its import, before regrtest's `-R` driver was imported: the
    /// child imports and patches it too, writes its own `process` record, and measures the
    /// test from its beginning, then the tests after it. Its `fork` record says it is no
    /// regrtest of its own (a nested one would have exec'd).
    #[test]
    fn a_fork_child_that_measured_from_a_tests_beginning_is_a_stray_fork() {
        let parent = b"process\t10\t9\tpython\x00-m\x00test\x00\t100\n\
patched\t10\tdash_R\t1\t2\t63\t48\t100\t7\t70\t9\t90\t150\n\
begin\t10\ttest_x\t3\t3\t63\t48\t100\t7\t70\t9\t90\t200\n\
end\t10\ttest_x\t0\t1\t63\t48\t100\t7\t70\t9\t90\t300\n\
begin\t10\ttest_y\t3\t3\t63\t48\t100\t7\t70\t9\t90\t400\n\
end\t10\ttest_y\t0\t1\t63\t48\t100\t7\t70\t9\t90\t500\n";
        let child = b"fork\t11\t10\t10\t120\n\
process\t11\t10\tpython\x00-m\x00test\x00\t120\n\
patched\t11\tdash_R\t1\t2\t63\t48\t100\t7\t70\t9\t90\t140\n\
begin\t11\ttest_x\t3\t3\t63\t48\t100\t7\t70\t9\t90\t210\n\
end\t11\ttest_x\t0\t1\t63\t48\t100\t7\t70\t9\t90\t310\n\
begin\t11\ttest_y\t3\t3\t63\t48\t100\t7\t70\t9\t90\t410\n\
end\t11\ttest_y\t0\t1\t63\t48\t100\t7\t70\t9\t90\t510\n";
        for files in [[&parent[..], &child[..]], [&child[..], &parent[..]]] {
            let mut data = ShimData::default();
            for file in files {
                data.add_file(file);
            }
            data.set_aside_forks();
            let measured: Vec<(i32, &str)> = data.series.iter().map(|s| (s.pid, s.test.as_str())).collect();
            assert_eq!(measured, [(10, "test_x"), (10, "test_y")]);
            let stray = StrayFork {
                pid: 11,
                test: "test_x".into(),
                before_repetitions: true,
                later_tests: vec!["test_y".into()],
            };
            assert_eq!(data.stray_forks, [stray]);
            assert_eq!(data.bad_lines, 0);
        }

        // Forked from a process that ran no regrtest (a wrapper that forks, the child running
        // regrtest in its place): that child is the run's regrtest, kept.
        let mut data = ShimData::default();
        data.add_file(&child[..]);
        data.set_aside_forks();
        assert_eq!(data.series.len(), 2);
        assert!(data.stray_forks.is_empty());
    }

    #[test]
    fn a_file_that_begins_inside_a_series_is_a_stray_fork_not_bad_records() {
        // The child forked in test_x's 2nd counted repetition, then ran test_y in full.
        let child = b"measure\t11\ttest_x\t4\t0\t63\t49\t148\t7\t70\t9\t90\n\
site\t11\ttest_x\t4\t7\tr\t2\t96\t48\n\
end\t11\ttest_x\t5\t0\t63\t50\t196\t7\t70\t9\t90\n\
begin\t11\ttest_y\t3\t3\t63\t48\t100\t7\t70\t9\t90\n\
end\t11\ttest_y\t5\t0\t63\t50\t196\t7\t70\t9\t90\n";
        let mut data = ShimData::default();
        data.add_file(FILE);
        data.add_file(child);
        assert_eq!(data.bad_lines, 0);
        assert_eq!(data.series.iter().map(|s| (s.pid, s.test.as_str())).collect::<Vec<_>>(), [(10, "test_x")]);
        let stray =
            StrayFork { pid: 11, test: "test_x".into(), before_repetitions: false, later_tests: vec!["test_y".into()] };
        assert_eq!(data.stray_forks, [stray]);
        // A record out of place after a `begin` is still a bad one.
        let mut data = ShimData::default();
        data.add_file(&[FILE, b"end\t10\ttest_z\t5\t0\t63\t50\t196\t7\t70\t9\t90\n"].concat());
        assert_eq!((data.bad_lines, data.stray_forks.len()), (1, 0));
    }

    #[test]
    fn series_of_several_processes_are_in_the_order_they_began() {
        // 3.11's `-j -w`: the first run in a worker (pid 300), the re-run in the main process
        // (pid 20, whose file sorts first), and a record of an older shim without its time.
        let dir = tempfile::tempdir().unwrap();
        let begin = |pid: u32, time: u64| format!("begin\t{pid}\ttest_x\t3\t3\t63\t0\t0\t0\t0\t0\t0\t{time}\n");
        std::fs::write(dir.path().join("events.20"), begin(20, 2_000)).unwrap();
        std::fs::write(dir.path().join("events.300"), begin(300, 1_000)).unwrap();
        let data = ShimData::read_dir(dir.path()).unwrap();
        assert_eq!(data.series.iter().map(|s| s.pid).collect::<Vec<_>>(), [300, 20]);
        assert_eq!(data.series[0].started_ns, Some(1_000));
        // Without times, file order stays.
        std::fs::write(dir.path().join("events.4000"), &FILE[FILE.iter().position(|&b| b == b'\n').unwrap() + 1..])
            .unwrap();
        let data = ShimData::read_dir(dir.path()).unwrap();
        assert_eq!(data.series.iter().map(|s| s.pid).collect::<Vec<_>>(), [20, 300, 10]);
    }

    #[test]
    fn the_blocks_record_says_whether_regrtest_counts_blocks() {
        let with_blocks = |value: &str| {
            let mut data = ShimData::default();
            let mut file = FILE.to_vec();
            let at = file.iter().position(|&b| b == b'\n').unwrap() + 1;
            let at = at + file[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
            let record = format!("blocks\t10\ttest_x\t{value}\t0\t63\t48\t100\t7\t70\t9\t90\n");
            file.splice(at..at, record.bytes());
            data.add_file(&file);
            assert_eq!(data.bad_lines, 0);
            data.series[0].clone()
        };
        assert_eq!(with_blocks("51234").allocated_blocks, Some(51234));
        assert!(with_blocks("51234").regrtest_counts_blocks());
        assert!(!with_blocks("0").regrtest_counts_blocks(), "no pymalloc");
        assert!(with_blocks("-1").regrtest_counts_blocks(), "not read: believed");
        let mut data = ShimData::default();
        data.add_file(FILE);
        assert_eq!(data.series[0].allocated_blocks, None);
        assert!(data.series[0].regrtest_counts_blocks(), "an older shim's records");
    }

    #[test]
    fn a_complete_series_is_assembled() {
        let mut data = ShimData::default();
        data.add_file(FILE);
        assert_eq!(data.bad_lines, 0);
        assert_eq!(data.patched.get(&10).map(String::as_str), Some("dash_R"));
        let [series] = data.series.as_slice() else { panic!("{:?}", data.series) };
        assert_eq!((series.test.as_str(), series.warmups, series.runs), ("test_x", 3, 3));
        assert_eq!(series.measures.len(), 2);
        assert_eq!(series.measures[1][0], Count { blocks: 50, bytes: 196 });
        assert_eq!(series.aborted, Some(false));
        assert!(series.hooked(2) && series.bytes_known(0));
    }

    #[test]
    fn a_process_that_died_mid_test_leaves_an_open_series() {
        let end_line = FILE.windows(4).position(|w| w == b"end\t").unwrap();
        let cut = &FILE[..end_line + 10];
        let mut data = ShimData::default();
        data.add_file(cut);
        assert_eq!(data.bad_lines, 1, "the truncated last line");
        assert_eq!(data.series[0].aborted, None);
        assert_eq!(data.series[0].measures.len(), 2);
    }

    #[test]
    fn escaped_text_round_trips() {
        let counters = |line: &[u8]| match parse_line(line) {
            Ok(Line::Counters(record)) => record,
            other => panic!("{other:?}"),
        };
        let r = counters(b"error\t3\tno\\x20module\\x09x\\x5c\t0\t0\t0\t0\t0\t0\t0\t0\t0");
        assert_eq!(r.text, b"no module\tx\\");
        let r = counters(b"replaced\t3\tpython\\x00-m\\x00test\\x00\t0\t0\t8\t0\t0\t0\t0\t0\t0");
        let mut data = ShimData::default();
        data.add_file(b"replaced\t3\tpython\\x00-m\\x00test\\x00\t0\t0\t8\t0\t0\t0\t0\t0\t0\n");
        assert_eq!(data.replaced, vec![(3, vec!["python".to_string(), "-m".into(), "test".into()])]);
        assert!(!r.hooked(0) && r.bytes_known(0));
    }

    #[test]
    fn sites_stacks_and_modules_belong_to_the_open_series() {
        let mut file = FILE[..FILE.windows(4).position(|w| w == b"end\t").unwrap()].to_vec();
        file.extend_from_slice(
            b"module\t10\t/usr/bin/python3.11d\t0\t400000\tb07bd8\n\
stack\t10\t-\t7\tr\t4f3e2b,7f267ebdf1fe\n\
pyframe\t10\t-\t7\t9\t/tmp/x/test_leak_raw.py\tLeakTest.test_leak_raw\n\
pyframe\t10\t-\t7\t579\t/usr/lib/python3.11/unittest/case.py\tTestCase._callTestMethod\n\
site\t10\ttest_x\t1\t7\tr\t2\t96\n\
end\t10\ttest_x\t2\t0\t63\t50\t196\t7\t70\t9\t90\n",
        );
        let mut data = ShimData::default();
        data.add_file(&file);
        assert_eq!(data.bad_lines, 0);
        let series = &data.series[0];
        assert_eq!(series.stacks.get(&7).map(Vec::as_slice), Some(&[0x4f3e2b, 0x7f26_7ebd_f1fe][..]));
        let frames = &series.pyframes[&7];
        assert_eq!(frames.iter().map(|f| f.line).collect::<Vec<_>>(), [9, 579], "innermost first");
        let frame = &frames[0];
        assert_eq!((frame.pid, frame.site, frame.line), (10, 7, 9));
        assert_eq!(
            (frame.file.as_slice(), frame.function.as_slice()),
            (&b"/tmp/x/test_leak_raw.py"[..], &b"LeakTest.test_leak_raw"[..])
        );
        let (domain, counts) = &series.sites[&7];
        assert_eq!(*domain, b'r');
        assert_eq!(counts.get(&1), Some(&Count { blocks: 2, bytes: 96 }));
        assert_eq!(series.modules[0].path, b"/usr/bin/python3.11d");
        assert_eq!((series.modules[0].start, series.modules[0].end), (0x400000, 0xb07bd8));
    }

    #[test]
    fn frees_of_warm_up_blocks_are_pooled_by_domain_size_and_repetition() {
        let end = FILE.windows(4).position(|w| w == b"end\t").unwrap();
        let mut file = FILE[..end].to_vec();
        file.extend_from_slice(
            b"wfree\t10\ttest_x\t1\to\t2\t112\n\
wfree\t10\ttest_x\t1\to\t1\t16\n\
wfree\t10\ttest_x\t2\tm\t3\t96\n\
wfree\t10\ttest_y\t2\to\t1\t56\n\
wfree\t10\ttest_x\t2\to\t1\n\
wfree\t10\ttest_x\t2\tq\t1\t56\n\
wfree\t10\ttest_x\t2\to\t2\t64\t7\t/t/test_x.py\tT.test_x\n\
wfree\t10\ttest_x\t3\to\t1\t32\t8\t/t/test_x.py\n",
        );
        file.extend_from_slice(&FILE[end..]);
        let mut data = ShimData::default();
        data.add_file(&file);
        // Another test's record, one cut short, an unknown domain, a line without its
        // function: counted, not fatal.
        assert_eq!(data.bad_lines, 4);
        let frees = &data.series[0].warmup_frees;
        let at = |domain: u8, size: u64| frees.get(&(domain, size)).map(|f| f.iter().map(|(&i, &b)| (i, b)).collect());
        assert_eq!(at(b'o', 56), Some(vec![(1, 2)]));
        assert_eq!(at(b'o', 16), Some(vec![(1, 1)]));
        assert_eq!(at(b'm', 32), Some(vec![(2, 3)]));
        // One freed while a Python line ran: pooled with the others, and by its line too.
        assert_eq!(at(b'o', 32), Some(vec![(2, 2)]));
        assert_eq!(frees.len(), 4);
        let line = PythonLine { file: b"/t/test_x.py".to_vec(), function: b"T.test_x".to_vec(), line: 7 };
        let by_line = &data.series[0].warmup_frees_by_line;
        assert_eq!(by_line.keys().collect::<Vec<_>>(), [&(b'o', line, 32)]);
        assert_eq!(by_line.values().next().map(|f| f.iter().map(|(&i, &b)| (i, b)).collect()), Some(vec![(2, 2)]));
    }

    #[test]
    fn an_incomplete_record_marks_its_series_once() {
        let end = FILE.windows(4).position(|w| w == b"end\t").unwrap();
        let mut file = FILE[..end].to_vec();
        file.extend_from_slice(b"incomplete\t10\ttest_x\t1\tout\\x20of\\x20memory\n");
        file.extend_from_slice(b"incomplete\t10\ttest_x\t2\tout\\x20of\\x20memory\n");
        file.extend_from_slice(&FILE[end..]);
        let mut data = ShimData::default();
        data.add_file(&file);
        assert_eq!(data.bad_lines, 0);
        let incomplete = data.series[0].sites_incomplete.as_ref().expect("marked");
        assert_eq!((incomplete.pid, incomplete.index, incomplete.reason.as_str()), (10, 1, "out of memory"));
        // Another test's record does not mark this series.
        let mut other = FILE[..end].to_vec();
        other.extend_from_slice(b"incomplete\t10\ttest_y\t1\tout\\x20of\\x20memory\n");
        other.extend_from_slice(&FILE[end..]);
        let mut data = ShimData::default();
        data.add_file(&other);
        assert_eq!((data.bad_lines, data.series[0].sites_incomplete.as_ref()), (1, None));
        assert_eq!(parse_line(b"incomplete\t10\ttest_x\t1"), Err(ParseError::FieldCount));
    }

    #[test]
    fn python_frames_unescape_and_keep_unknowns() {
        let line = b"pyframe\t10\t-\t3\t-1\t/tmp/a\\x20b\\x1b[2J.py\t?";
        assert_eq!(
            parse_line(line),
            Ok(Line::PyFrame(PyFrameRecord {
                pid: 10,
                site: 3,
                line: -1,
                file: b"/tmp/a b\x1b[2J.py".to_vec(),
                function: b"?".to_vec(),
            }))
        );
        assert_eq!(parse_line(b"stackcut\t10\t-\t3\t9136"), Ok(Line::StackCut { pid: 10, site: 3, room: 9136 }));
        assert_eq!(parse_line(b"stackcut\t10\t-\t3"), Err(ParseError::FieldCount));
        assert_eq!(parse_line(b"stackcut\t10\t-\t3\t-1"), Err(ParseError::Number));
        assert_eq!(
            parse_line(b"nopyframes\t10\t-\tCPython\\x203.12:\\x20no"),
            Ok(Line::NoPyFrames { pid: 10, reason: b"CPython 3.12: no".to_vec() })
        );
        assert_eq!(
            parse_line(b"objtype\t10\t-\t7\t_leakfix.Leaky"),
            Ok(Line::ObjectType { site: 7, name: b"_leakfix.Leaky".to_vec() })
        );
        assert_eq!(parse_line(b"objtype\t10\t-\t7"), Err(ParseError::FieldCount));
    }

    #[test]
    fn each_reason_for_missing_python_frames_is_kept_once() {
        let mut data = ShimData::default();
        // Before any series (the shim decides once per process) and inside one.
        let mut file = b"nopyframes\t10\t-\tCPython\\x203.12\n".to_vec();
        file.extend_from_slice(FILE);
        data.add_file(&file);
        data.add_file(b"nopyframes\t11\t-\tCPython\\x203.12\nnopyframes\t12\t-\tno\\x20_PyRuntime\n");
        assert_eq!(data.bad_lines, 0);
        assert_eq!(data.no_python_frames, ["CPython 3.12", "no _PyRuntime"]);
        assert!(data.series[0].pyframes.is_empty());
    }

    #[test]
    fn malformed_python_frame_records_are_parse_errors() {
        for (line, error) in [
            (&b"pyframe\t1\t-\t7\t9\tf.py"[..], ParseError::FieldCount),
            (b"pyframe\t1\t-\t7\t9\tf.py\tg\th", ParseError::FieldCount),
            (b"pyframe\t1\t-\t7\tnine\tf.py\tg", ParseError::Number),
            (b"pyframe\t1\t-\t-7\t9\tf.py\tg", ParseError::Number),
            (b"pyframe\t1\t-\t4294967296\t9\tf.py\tg", ParseError::Number),
            (b"pyframe\tx\t-\t7\t9\tf.py\tg", ParseError::Number),
            (b"pyframe\t1\t-\t7\t9\tf\\x4\tg", ParseError::Escape),
            (b"pyframe\t1\t-\t7\t9\tf.py\tg\\y00", ParseError::Escape),
            (b"nopyframes\t1\t-", ParseError::FieldCount),
            (b"nopyframes\t1\t-\twhy\tmore", ParseError::FieldCount),
            (b"nopyframes\t99999999999\t-\twhy", ParseError::Number),
            (b"nopyframes\t1\t-\twhy\\", ParseError::Escape),
        ] {
            assert_eq!(parse_line(line), Err(error), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn hostile_lines_are_counted_not_fatal() {
        let mut data = ShimData::default();
        let mut junk = vec![0xffu8; 5000];
        junk.extend_from_slice(b"\nmeasure\t1\tx\t0\t0\t0\t0\t0\t0\t0\t0\t0\n\tbegin\n");
        junk.extend_from_slice(b"begin\t1\tbad\\x\t1\t1\t0\t0\t0\t0\t0\t0\t0\n");
        junk.extend_from_slice(b"begin\t99999999999\tt\t1\t1\t0\t0\t0\t0\t0\t0\t0\n");
        junk.extend_from_slice(b"site\t1\tt\t0\t1\tx\t1\t1\nstack\t1\t-\t1\tr\tzz\nmodule\t1\tp\t1\n");
        junk.extend_from_slice(b"site\t1\tnot_open\t0\t1\tr\t1\t1\n");
        junk.extend_from_slice(b"pyframe\t1\t-\t1\t2\n");
        junk.extend_from_slice(b"pyframe\t1\t-\t1\t2\tf\\x\tg\n");
        junk.extend_from_slice(b"pyframe\t1\t-\t1\t2\tno_series_open\tg\n");
        junk.extend_from_slice(b"nopyframes\t1\t-\twhy\\x\nnopyframes\n");
        data.add_file(&junk);
        assert_eq!(data.bad_lines, 14);
        assert!(data.series.is_empty());
        assert!(data.no_python_frames.is_empty());
    }
}
