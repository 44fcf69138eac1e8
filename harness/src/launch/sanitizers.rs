//! Which sanitizer runtime a program uses, and the environment it needs under leakcheck.
//!
//! Detection reads the program's ELF with `object`, without running it: a runtime in
//! `DT_NEEDED` (gcc links `libasan.so.8` and friends dynamically) or its init symbol
//! (`__asan_init`, `__msan_init`, `__tsan_init`: clang links the runtimes statically). UBSan has
//! no init symbol: its instrumented code imports `__ubsan_handle_*` (gcc, clang's
//! `-shared-libsan`; a weak reference is no import), or clang's standalone UBSan runtime defines
//! them. clang's static ASAN, MSAN and TSan runtimes define them too, whether the program was
//! built with `-fsanitize=undefined` or not (clang 14 links the same runtime, the same way, for
//! `-fsanitize=address` and `-fsanitize=address,undefined`; only the instrumented code differs),
//! and gcc's static libubsan defines them beside its static libasan (`-static-libasan
//! -static-libubsan`): with a static ASAN, MSAN or TSan runtime linked in, UBSan is detected by
//! the instrumented code's calls of the handlers the program defines
//! (`calls_ubsan_handlers`: x86-64 and AArch64), so that `-fsanitize=address,undefined` is
//! both ASAN and UBSan. Each runtime detected gets its options. Only the program's file is
//! read: not the libraries it needs (a `libpython` of `--enable-shared`), nor the extension
//! modules it will load.
//!
//! The environment ([`plan`]):
//! - `*SAN_OPTIONS`: leakcheck's defaults that the user's options do not set, then the user's
//!   text unchanged ([`merge_options`]; the flags set are read as the runtime reads them, see
//!   `super::options`), so that the user wins flag by flag. ASAN's default is CPython's
//!   buildbots' `detect_leaks=0:allocator_may_return_null=1:handle_segv=0`; UBSan's asks for
//!   stack traces, which findings need, and for a `SUMMARY:` line naming the check, the kind of
//!   the finding (`print_stacktrace=1:print_summary=1:report_error_type=1`; `print_summary` left
//!   out when the user's options of a runtime that reads `UBSAN_OPTIONS` after its own set it).
//! - `LD_PRELOAD`: a dynamically linked runtime must come first in the initial library list, or
//!   ASAN aborts ("ASan runtime does not come first"): it is put before everything, the shim
//!   last. With `--sanitizer asan` on an uninstrumented interpreter, gcc's libasan is preloaded so
//!   that instrumented extension modules can load.
//! - `verify_asan_link_order=0` in `ASAN_OPTIONS` whenever the shim is preloaded and libasan is
//!   not preloaded before it ([`Plan::shim_preloaded`]): detection reads `argv[0]` only, and a
//!   gcc ASAN program the command starts (`make` running an ASAN CPython, `bash -c ./prog`) finds
//!   the shim ahead of its dynamically linked libasan and would abort with "ASan runtime does not
//!   come first in initial library list". In gcc 12's libasan (and compiler-rt) the option is
//!   read by `AsanCheckDynamicRTPrereqs` alone, which does that check and nothing else; the shim
//!   defines no dynamic symbol (`nm -D --defined-only` lists none), so it interposes nothing the
//!   runtime intercepts, and ASAN initializes from the program's `.preinit_array`, before the
//!   shim's constructor runs. When leakcheck added the flag (the user did not set it:
//!   [`Plan::link_order_added`]), the shim is told ([`LINK_ORDER_ADDED_ENV`]) and, in a Python
//!   process without an ASAN runtime at start-up, hides it from a libasan that an extension
//!   module brings later by `dlopen` (too late to intercept `malloc`: without leakcheck it
//!   aborts, and must under leakcheck too), see `shims/src/late_asan.rs`.
//! - MSAN: the shim is not instrumented, and MSAN reports reads of memory that uninstrumented
//!   code wrote: the shim stays out (no domain counts), and the report says so.
//!
//! Knows nothing of parsing reports (see `crate::sanitizer`).

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use object::{Object, ObjectSymbol};
use serde::Serialize;

use super::options;

/// A sanitizer runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Asan,
    Msan,
    Ubsan,
    Tsan,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Asan => "asan",
            Runtime::Msan => "msan",
            Runtime::Ubsan => "ubsan",
            Runtime::Tsan => "tsan",
        }
    }

    /// The options variable the runtime reads.
    pub fn options_variable(self) -> &'static str {
        match self {
            Runtime::Asan => "ASAN_OPTIONS",
            Runtime::Msan => "MSAN_OPTIONS",
            Runtime::Ubsan => "UBSAN_OPTIONS",
            Runtime::Tsan => "TSAN_OPTIONS",
        }
    }

    /// leakcheck's defaults for the options variable.
    pub fn default_options(self) -> &'static str {
        match self {
            // CPython's buildbots (buildmaster-config, UnixAsanBuild).
            Runtime::Asan => "detect_leaks=0:allocator_may_return_null=1:handle_segv=0",
            Runtime::Msan => "",
            // Stacks, which findings need; a `SUMMARY:` line (gcc's libubsan prints none by
            // default) naming the check (`report_error_type=1`), not `undefined-behavior`.
            Runtime::Ubsan => UBSAN_DEFAULTS,
            Runtime::Tsan => "",
        }
    }

    /// The shared library name prefix of gcc's runtime.
    fn library_prefix(self) -> &'static str {
        match self {
            Runtime::Asan => "libasan.so",
            Runtime::Msan => "libmsan.so",
            Runtime::Ubsan => "libubsan.so",
            Runtime::Tsan => "libtsan.so",
        }
    }
}

/// One value of `--sanitizer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Choice {
    /// Detect from the program's ELF.
    #[default]
    Auto,
    Asan,
    Msan,
    Ubsan,
    Tsan,
    /// No sanitizer handling.
    None,
}

/// What `--sanitizer` asks for, its values checked ([`Selection::from_choices`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selection {
    /// The runtimes the program's ELF shows.
    #[default]
    Auto,
    /// No sanitizer handling.
    None,
    /// These runtimes, whatever the ELF shows: at most one of ASAN, MSAN and TSan (they
    /// cannot share a process), UBSan beside any of them, in the order their libraries are
    /// preloaded (the exclusive runtime first).
    Forced(Vec<Runtime>),
}

impl Selection {
    /// The selection `--sanitizer` values make (a comma list or the flag repeated): `auto` or
    /// `none` alone, else runtimes that can run together.
    pub fn from_choices(choices: &[Choice]) -> Result<Self, String> {
        let mut runtimes: Vec<Runtime> = Vec::new();
        for &choice in choices {
            let runtime = match choice {
                Choice::Auto | Choice::None if choices.len() == 1 => {
                    return Ok(if choice == Choice::Auto { Selection::Auto } else { Selection::None });
                }
                Choice::Auto | Choice::None => {
                    return Err("--sanitizer: `auto` and `none` stand alone, not in a list".into());
                }
                Choice::Asan => Runtime::Asan,
                Choice::Msan => Runtime::Msan,
                Choice::Ubsan => Runtime::Ubsan,
                Choice::Tsan => Runtime::Tsan,
            };
            if !runtimes.contains(&runtime) {
                runtimes.push(runtime);
            }
        }
        if runtimes.is_empty() {
            return Ok(Selection::Auto);
        }
        let exclusive: Vec<&str> = runtimes.iter().filter(|&&r| r != Runtime::Ubsan).map(|r| r.name()).collect();
        if exclusive.len() > 1 {
            return Err(format!(
                "--sanitizer: {} cannot run in one process; ubsan can join any one of them",
                exclusive.join(" and ")
            ));
        }
        // The exclusive runtime's library goes first in LD_PRELOAD (ASAN checks it).
        runtimes.sort_by_key(|&r| r == Runtime::Ubsan);
        Ok(Selection::Forced(runtimes))
    }
}

/// What the program's ELF says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detected {
    pub runtimes: BTreeSet<Runtime>,
    /// Runtimes linked dynamically, with the `DT_NEEDED` name (`libasan.so.8`).
    pub shared: Vec<(Runtime, String)>,
}

/// Read `program`'s ELF. A program that is not an ELF file (a script, `make`...) has none.
pub fn detect(program: &Path) -> Detected {
    let mut detected = Detected::default();
    let Ok(data) = std::fs::read(program) else { return detected };
    let Ok(file) = object::File::parse(&*data) else { return detected };
    if let Ok(needed) = elf_needed(&data) {
        for name in needed {
            for runtime in [Runtime::Asan, Runtime::Msan, Runtime::Ubsan, Runtime::Tsan] {
                if name.starts_with(runtime.library_prefix()) {
                    detected.runtimes.insert(runtime);
                    detected.shared.push((runtime, name.clone()));
                }
            }
        }
    }
    let (mut ubsan_imported, mut static_runtime) = (false, false);
    // The handlers the program defines: entry address and size.
    let mut handlers: Vec<(u64, u64)> = Vec::new();
    for symbol in file.symbols().chain(file.dynamic_symbols()) {
        let Ok(name) = symbol.name() else { continue };
        let runtime = match name {
            "__asan_init" | "__asan_version_mismatch_check_v8" => Runtime::Asan,
            "__msan_init" => Runtime::Msan,
            "__tsan_init" => Runtime::Tsan,
            _ if name.starts_with("__ubsan_handle_") => {
                // The static runtimes also refer weakly to one they may lack
                // (`__ubsan_handle_cfi_bad_type`): not an import of instrumented code.
                match (symbol.is_undefined(), symbol.is_weak()) {
                    (true, false) => ubsan_imported = true,
                    (true, true) => {}
                    (false, _) => handlers.push((symbol.address(), symbol.size())),
                }
                continue;
            }
            _ => continue,
        };
        static_runtime |= !symbol.is_undefined();
        detected.runtimes.insert(runtime);
    }
    let ubsan_defined = !handlers.is_empty();
    if ubsan_imported || (ubsan_defined && (!static_runtime || calls_ubsan_handlers(&file, &mut handlers))) {
        detected.runtimes.insert(Runtime::Ubsan);
    }
    detected
}

/// Call sites of the handlers [`calls_ubsan_handlers`] wants before it believes them: a byte
/// `E8` inside another x86-64 instruction decodes to a call of a given handler's entry by
/// chance (in 7.7 MB of CPython's code built with clang's `-fsanitize=address`, such misread
/// calls hit 145 of its 7.7 million addresses that no call names: about 2e-5 each, so 1e-3
/// for clang 14's 44 handlers); two such hits, about 5e-7. A real program built with
/// `-fsanitize=undefined` has many checks; one with a single check is taken for ASAN alone.
const UBSAN_CALL_SITES: usize = 2;

/// Whether the program's code calls the `__ubsan_handle_*` functions it defines (`handlers`:
/// entry address and size) from outside them, at [`UBSAN_CALL_SITES`] sites or more: code
/// built with `-fsanitize=undefined` calls them directly where a check fails, a runtime
/// linked in without it does not (clang 14's static ASAN, MSAN and TSan runtimes call none of
/// them; they call `__ubsan_handle_cfi_bad_type`, which they do not define, through the PLT).
///
/// The executable sections are scanned for direct calls, without disassembling them: on
/// x86-64 every byte `E8` is taken as a `call rel32`, on AArch64 every word as a `bl`. Other
/// architectures are not scanned: false.
fn calls_ubsan_handlers(file: &object::File<'_>, handlers: &mut Vec<(u64, u64)>) -> bool {
    use object::{Architecture, ObjectSection, SectionKind};
    handlers.sort_unstable();
    handlers.dedup();
    let entries: std::collections::HashSet<u64> = handlers.iter().map(|&(address, _)| address).collect();
    // A handler's own call of another (an `_abort` variant's) is no instrumented code's.
    let in_handler = |site: u64| {
        let after = handlers.partition_point(|&(address, _)| address <= site);
        after > 0 && site < handlers[after - 1].0.saturating_add(handlers[after - 1].1)
    };
    let calls = |site: u64, target: u64| entries.contains(&target) && !in_handler(site);
    let architecture = file.architecture();
    let mut sites = 0;
    for section in file.sections().filter(|s| s.kind() == SectionKind::Text) {
        let Ok(code) = section.data() else { continue };
        let base = section.address();
        sites += match architecture {
            Architecture::X86_64 => code
                .windows(5)
                .enumerate()
                .filter(|&(offset, bytes)| {
                    let &[0xe8, a, b, c, d] = bytes else { return false };
                    let site = base.wrapping_add(offset as u64);
                    calls(site, site.wrapping_add(5).wrapping_add_signed(i64::from(i32::from_le_bytes([a, b, c, d]))))
                })
                .take(UBSAN_CALL_SITES)
                .count(),
            Architecture::Aarch64 => code
                .chunks_exact(4)
                .enumerate()
                .filter(|&(index, word)| {
                    let word = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                    // `bl`: 0b100101, then a signed 26-bit word offset.
                    let offset = i64::from(((word & 0x03ff_ffff) << 6) as i32 >> 6) * 4;
                    let site = base.wrapping_add(index as u64 * 4);
                    word >> 26 == 0b10_0101 && calls(site, site.wrapping_add_signed(offset))
                })
                .take(UBSAN_CALL_SITES)
                .count(),
            _ => 0,
        };
        if sites >= UBSAN_CALL_SITES {
            return true;
        }
    }
    false
}

/// The `DT_NEEDED` names of an ELF file.
fn elf_needed(data: &[u8]) -> Result<Vec<String>, object::Error> {
    use object::read::elf::{Dyn, ElfFile64, FileHeader};
    let elf = ElfFile64::<object::Endianness>::parse(data)?;
    let endian = elf.endian();
    let mut names = Vec::new();
    let header = elf.elf_header();
    let sections = header.sections(endian, data)?;
    if let Some((dynamic, index)) = sections.dynamic(endian, data)? {
        let strings = sections.strings(endian, data, index)?;
        for entry in dynamic {
            if entry.d_tag(endian) == object::elf::DT_NEEDED {
                if let Ok(name) = entry.string(endian, strings) {
                    names.push(String::from_utf8_lossy(name).into_owned());
                }
            }
        }
    }
    Ok(names)
}

/// The environment a run needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub runtimes: Vec<Runtime>,
    /// Libraries that must come first in `LD_PRELOAD`.
    pub preload_first: Vec<PathBuf>,
    /// Variables to set (the options, merged): bytes, as the user's environment had them.
    pub variables: Vec<(String, OsString)>,
    /// Whether the counting shim may be preloaded.
    pub shim: bool,
    pub notes: Vec<String>,
    /// The command's program, for `%b` and `%d` in the name of a file the options include.
    pub program: Option<PathBuf>,
    /// [`ASAN_LINK_ORDER_UNCHECKED`] was added at the start of `ASAN_OPTIONS` (the user did
    /// not set the flag): the shim is told ([`LINK_ORDER_ADDED_ENV`]) and hides it from a
    /// libasan that a Python process loads late.
    pub link_order_added: bool,
}

/// Every variable of sanitizer options a runtime reads: an ASAN runtime reads `LSAN_OPTIONS`
/// and `UBSAN_OPTIONS` too (after `ASAN_OPTIONS`, so that their common flags, `log_path` among
/// them, win), and the others their own.
pub const OPTIONS_VARIABLES: [&str; 5] =
    ["ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "MSAN_OPTIONS", "TSAN_OPTIONS"];

/// leakcheck's default `UBSAN_OPTIONS`: stack traces, and a `SUMMARY:` line whose first word
/// is the check's name (`float-divide-by-zero`), the kind of the finding. clang's runtimes print
/// the summary by default, gcc's standalone libubsan does not (`print_summary=1` turns it on);
/// without `report_error_type=1` both print `undefined-behavior` there.
const UBSAN_DEFAULTS: &str = "print_stacktrace=1:print_summary=1:report_error_type=1";

/// The runtimes that read `UBSAN_OPTIONS` after their own variables, and those variables: ASAN
/// (with LSan's too), MSAN, TSan. A common flag set there is overridden by the same flag in
/// `UBSAN_OPTIONS`. UBSan alone (gcc's standalone libubsan, clang's) reads none of them.
const READ_BEFORE_UBSAN_OPTIONS: [(Runtime, &str); 4] = [
    (Runtime::Asan, "ASAN_OPTIONS"),
    (Runtime::Asan, "LSAN_OPTIONS"),
    (Runtime::Msan, "MSAN_OPTIONS"),
    (Runtime::Tsan, "TSAN_OPTIONS"),
];

/// leakcheck's `UBSAN_OPTIONS` defaults for a command whose environment is `get`, with the
/// runtimes `loaded` (planned or linked in): without `print_summary=1` when the user's options
/// of another of those runtimes set `print_summary`, which that runtime would otherwise see
/// overridden (it reads `UBSAN_OPTIONS` after its own, and prints summaries by default anyway).
/// A runtime not loaded reads nothing: its variable leaves UBSan's defaults as they are.
fn ubsan_defaults(get: &impl Fn(&str) -> Option<OsString>, program: &Path, loaded: &[Runtime]) -> String {
    let user_sets_summary = READ_BEFORE_UBSAN_OPTIONS
        .iter()
        .filter(|(runtime, _)| loaded.contains(runtime))
        .filter_map(|(_, variable)| get(variable))
        .any(|value| options::parse(value.as_bytes(), Some(program)).sets(b"print_summary"));
    UBSAN_DEFAULTS
        .split(':')
        .filter(|flag| !(user_sets_summary && flag.starts_with("print_summary=")))
        .collect::<Vec<_>>()
        .join(":")
}

/// The `ASAN_OPTIONS` setting that turns off ASAN's check that its dynamically linked runtime
/// comes first in the initial library list (see the module docs).
pub const ASAN_LINK_ORDER_UNCHECKED: &str = "verify_asan_link_order=0";

/// The variable that tells the shim that leakcheck added [`ASAN_LINK_ORDER_UNCHECKED`] at the
/// start of `ASAN_OPTIONS` (`1`), see `shims/src/late_asan.rs`.
pub const LINK_ORDER_ADDED_ENV: &str = "LEAKCHECK_ASAN_LINK_ORDER_ADDED";

/// The start of the message with which a dynamically linked ASAN runtime aborts when another
/// library was loaded before it (after `==PID==`).
pub const ASAN_NOT_FIRST: &[u8] = b"ASan runtime does not come first in initial library list";

impl Plan {
    /// The shim will be preloaded: unless libasan is preloaded before it, any gcc ASAN program
    /// the command starts gets `verify_asan_link_order=0` (merged into `ASAN_OPTIONS`, the
    /// user's setting winning), so that the shim ahead of its libasan does not abort it.
    pub fn shim_preloaded(&mut self, get: impl Fn(&str) -> Option<OsString>) {
        let asan_first = self.preload_first.iter().any(|p| {
            p.file_name().is_some_and(|n| n.as_bytes().starts_with(Runtime::Asan.library_prefix().as_bytes()))
        });
        if asan_first {
            return;
        }
        let variable = Runtime::Asan.options_variable();
        let flag = ASAN_LINK_ORDER_UNCHECKED.split_once('=').map_or(ASAN_LINK_ORDER_UNCHECKED, |(name, _)| name);
        let program = self.program.clone();
        let sets_flag = |value: Option<&OsStr>| {
            value.is_some_and(|v| options::parse(v.as_bytes(), program.as_deref()).sets(flag.as_bytes()))
        };
        match self.variables.iter_mut().find(|(name, _)| name == variable) {
            Some((_, value)) => {
                self.link_order_added = !sets_flag(Some(value));
                *value = merge_options(ASAN_LINK_ORDER_UNCHECKED, Some(value), program.as_deref());
            }
            None => {
                let user = get(variable);
                self.link_order_added = !sets_flag(user.as_deref());
                let merged = merge_options(ASAN_LINK_ORDER_UNCHECKED, user.as_deref(), program.as_deref());
                self.variables.push((variable.to_owned(), merged))
            }
        }
    }

    /// The sanitizer options the command gets ([`OPTIONS_VARIABLES`] that are set): the
    /// variables of the plan, else the environment's (`get`), whatever `--sanitizer` said.
    pub fn command_options(&self, get: impl Fn(&str) -> Option<OsString>) -> Vec<(String, OsString)> {
        OPTIONS_VARIABLES
            .iter()
            .filter_map(|&variable| {
                let planned = self.variables.iter().find(|(name, _)| name == variable).map(|(_, value)| value.clone());
                planned.or_else(|| get(variable)).map(|value| (variable.to_owned(), value))
            })
            .collect()
    }
}

/// Decide the environment for `program` (already resolved through `PATH`), given `--sanitizer`
/// and the current environment (`get`, values as bytes: an option value need not be UTF-8).
pub fn plan(selection: &Selection, program: &Path, get: impl Fn(&str) -> Option<OsString>) -> Plan {
    let detected = detect(program);
    let runtimes: Vec<Runtime> = match selection {
        Selection::None => Vec::new(),
        Selection::Auto => detected.runtimes.iter().copied().collect(),
        Selection::Forced(runtimes) => runtimes.clone(),
    };
    let mut plan =
        Plan { runtimes: runtimes.clone(), shim: true, program: Some(program.to_owned()), ..Plan::default() };
    // The runtimes the command loads: those planned, and those linked in (clang's static ASAN
    // under `--sanitizer ubsan` reads its options all the same).
    let loaded: Vec<Runtime> = runtimes.iter().chain(detected.runtimes.iter()).copied().collect();
    for &runtime in &runtimes {
        let variable = runtime.options_variable();
        let defaults = match runtime {
            Runtime::Ubsan => ubsan_defaults(&get, program, &loaded),
            _ => runtime.default_options().to_owned(),
        };
        let merged = merge_options(&defaults, get(variable).as_deref(), Some(program));
        if !merged.is_empty() {
            plan.variables.push((variable.to_owned(), merged));
        }
        // A runtime the program links dynamically, or one forced on a program without it,
        // must be preloaded first (clang's static runtimes need nothing).
        let needed = detected.shared.iter().find(|(r, _)| *r == runtime).map(|(_, name)| name.clone());
        let wanted =
            needed.or_else(|| (!detected.runtimes.contains(&runtime)).then(|| runtime.library_prefix().to_owned()));
        if let Some(name) = wanted {
            match find_library(&name, &get) {
                Some(path) => plan.preload_first.push(path),
                None => plan.notes.push(format!("{name} not found: {} runtime not preloaded", runtime.name())),
            }
        }
        if runtime == Runtime::Msan {
            plan.shim = false;
            plan.notes.push(
                "MemorySanitizer: the counting shim is not instrumented and would cause false reports; \
                 no per-domain counts in this run"
                    .into(),
            );
        }
    }
    plan
}

/// Merge sanitizer options: `defaults` (leakcheck's, `a=1:b=2`) that the user's options do not
/// set, then the user's text as it is. Which flags the user set is read as the runtime reads
/// them ([`options::parse`]: any separator, quotes, included files; `program` for `%b`/`%d`
/// there), and their text is never rewritten. The runtime applies flags in order, a later
/// setting winning: with the defaults first, the user's settings win even where leakcheck
/// could not see them (an included file it cannot read). Bytes throughout: a value (a path)
/// may be any bytes but NUL.
pub fn merge_options(defaults: &str, user: Option<&OsStr>, program: Option<&Path>) -> OsString {
    let user = user.map_or(&[][..], OsStr::as_bytes);
    let set = options::parse(user, program);
    let mut merged: Vec<u8> = Vec::new();
    for default in defaults.split(':').filter(|d| !d.is_empty()) {
        let name = default.split_once('=').map_or(default, |(name, _)| name);
        if !set.sets(name.as_bytes()) {
            if !merged.is_empty() {
                merged.push(b':');
            }
            merged.extend_from_slice(default.as_bytes());
        }
    }
    if !merged.is_empty() && !user.is_empty() {
        merged.push(b':');
    }
    merged.extend_from_slice(user);
    OsString::from_vec(merged)
}

/// Find a shared library by exact name (`libasan.so.8`) or by prefix (`libasan.so`, the newest
/// version), where the dynamic linker looks by default.
fn find_library(name: &str, get: &impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = get("LD_LIBRARY_PATH")
        .map(|p| {
            p.as_bytes()
                .split(|&b| b == b':')
                .filter(|d| !d.is_empty())
                .map(|d| PathBuf::from(OsStr::from_bytes(d)))
                .collect()
        })
        .unwrap_or_default();
    dirs.extend(
        [
            "/lib/x86_64-linux-gnu",
            "/usr/lib/x86_64-linux-gnu",
            "/lib/aarch64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/lib64",
            "/usr/lib64",
            "/lib",
            "/usr/lib",
            "/usr/local/lib",
        ]
        .map(PathBuf::from),
    );
    for dir in dirs {
        let exact = dir.join(name);
        if exact.is_file() {
            return Some(exact);
        }
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut versions: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(name) && n.len() > name.len())
            })
            .collect();
        versions.sort();
        if let Some(newest) = versions.pop() {
            return Some(newest);
        }
    }
    None
}

/// `program` as the shell would find it through `PATH`.
pub fn resolve_program(program: &std::ffi::OsStr, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let program = Path::new(program);
    if program.components().count() > 1 {
        return Some(program.to_owned());
    }
    std::env::split_paths(path?).map(|dir| dir.join(program)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults the user's options do not set come first, then the user's text unchanged:
    /// the runtime applies flags in order, so the user wins flag by flag.
    #[test]
    fn the_user_wins_flag_by_flag_and_their_text_is_kept() {
        let defaults = Runtime::Asan.default_options();
        let merge = |user: &str| merge_options(defaults, Some(OsStr::new(user)), None);
        assert_eq!(merge_options(defaults, None, None), defaults);
        assert_eq!(
            merge("detect_leaks=1:verbosity=1"),
            "allocator_may_return_null=1:handle_segv=0:detect_leaks=1:verbosity=1"
        );
        // Any separator of the runtime's: a comma list's detect_leaks=1 is the user's.
        assert_eq!(
            merge("abort_on_error=0,detect_leaks=1"),
            "allocator_may_return_null=1:handle_segv=0:abort_on_error=0,detect_leaks=1"
        );
        assert_eq!(merge("detect_leaks=1\thandle_segv=1"), "allocator_may_return_null=1:detect_leaks=1\thandle_segv=1");
        // A quoted value keeps its separators.
        assert_eq!(merge("log_path='/x/logs q/asan'"), format!("{defaults}:log_path='/x/logs q/asan'").as_str());
        assert_eq!(merge_options("", Some(OsStr::new("a=1 b=2")), None), "a=1 b=2");
        assert_eq!(merge_options("x=1", Some(OsStr::new("")), None), "x=1");
        // Not UTF-8: the bytes are kept.
        let odd = OsStr::from_bytes(b"log_path=/tmp/\xff/asan:handle_segv=1");
        assert_eq!(
            merge_options(defaults, Some(odd), None).as_bytes(),
            b"detect_leaks=0:allocator_may_return_null=1:log_path=/tmp/\xff/asan:handle_segv=1"
        );
        // The runtime reads the merged options with the user's values.
        for user in ["detect_leaks=1", "abort_on_error=0,detect_leaks=1", "a='x:y' detect_leaks=1"] {
            assert_eq!(options::parse(merge(user).as_bytes(), None).value("detect_leaks"), Some(&b"1"[..]), "{user}");
        }
    }

    /// A flag the user sets in a file their options include is theirs; where leakcheck cannot
    /// read the file, the defaults still come first, and the file's flags win in the runtime.
    #[test]
    fn flags_of_included_files_are_the_users() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("opts");
        std::fs::write(&file, "detect_leaks=1\nhandle_segv=1\n").unwrap();
        let user = format!("include={}", file.display());
        let merged = merge_options(Runtime::Asan.default_options(), Some(OsStr::new(&user)), None);
        assert_eq!(merged, format!("allocator_may_return_null=1:{user}").as_str());
        let user = "include_if_exists=/nonexistent/%p.opts";
        let merged = merge_options(Runtime::Asan.default_options(), Some(OsStr::new(user)), None);
        assert_eq!(merged, format!("{}:{user}", Runtime::Asan.default_options()).as_str());
    }

    /// The selection of `--sanitizer` values that must be valid.
    fn selected(choices: &[Choice]) -> Selection {
        Selection::from_choices(choices).expect("a valid --sanitizer")
    }

    #[test]
    fn sanitizer_values_make_a_selection_of_runtimes_that_can_run_together() {
        assert_eq!(selected(&[]), Selection::Auto);
        assert_eq!(selected(&[Choice::Auto]), Selection::Auto);
        assert_eq!(selected(&[Choice::None]), Selection::None);
        // UBSan joins the exclusive runtime, after it, whatever the order given.
        assert_eq!(selected(&[Choice::Ubsan, Choice::Asan]), Selection::Forced(vec![Runtime::Asan, Runtime::Ubsan]));
        assert_eq!(
            selected(&[Choice::Tsan, Choice::Ubsan, Choice::Tsan]),
            Selection::Forced(vec![Runtime::Tsan, Runtime::Ubsan])
        );
        assert_eq!(selected(&[Choice::Ubsan]), Selection::Forced(vec![Runtime::Ubsan]));
        let refused = |choices: &[Choice]| Selection::from_choices(choices).unwrap_err();
        assert!(refused(&[Choice::Asan, Choice::Msan]).contains("asan and msan cannot run in one process"));
        assert!(refused(&[Choice::Asan, Choice::Tsan, Choice::Ubsan]).contains("asan and tsan"));
        assert!(refused(&[Choice::Auto, Choice::Asan]).contains("stand alone"));
        assert!(refused(&[Choice::None, Choice::None]).contains("stand alone"));
    }

    #[test]
    fn asan_and_ubsan_forced_on_a_plain_interpreter_preload_both_runtimes_asan_first() {
        let plan = plan(&selected(&[Choice::Ubsan, Choice::Asan]), Path::new("/usr/bin/python3.11d"), |_| None);
        assert_eq!(plan.runtimes, [Runtime::Asan, Runtime::Ubsan]);
        let names: Vec<String> =
            plan.preload_first.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert!(
            names.len() == 2 && names[0].starts_with("libasan.so") && names[1].starts_with("libubsan.so"),
            "{names:?}"
        );
        let variables: Vec<&str> = plan.variables.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(variables, ["ASAN_OPTIONS", "UBSAN_OPTIONS"]);
    }

    #[test]
    fn an_uninstrumented_interpreter_has_no_runtime() {
        let detected = detect(Path::new("/usr/bin/python3.11d"));
        assert!(detected.runtimes.is_empty(), "{detected:?}");
        assert!(detect(Path::new("/nonexistent")).runtimes.is_empty());
        assert!(detect(Path::new("/etc/passwd")).runtimes.is_empty());
    }

    #[test]
    fn gccs_asan_runtime_is_found_and_goes_first() {
        // A program built with gcc -fsanitize=address links libasan dynamically.
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("main.c");
        std::fs::write(&source, "int main(void) { return 0; }\n").unwrap();
        let program = dir.path().join("main");
        let status = std::process::Command::new("gcc")
            .args(["-fsanitize=address", "-o"])
            .arg(&program)
            .arg(&source)
            .status()
            .unwrap();
        assert!(status.success());
        let detected = detect(&program);
        assert_eq!(detected.runtimes.iter().copied().collect::<Vec<_>>(), [Runtime::Asan]);
        let plan = plan(&Selection::Auto, &program, |_| None);
        assert_eq!(plan.runtimes, [Runtime::Asan]);
        assert!(plan.preload_first[0].to_string_lossy().contains("libasan.so"), "{plan:?}");
        assert_eq!(plan.variables, [("ASAN_OPTIONS".to_string(), OsString::from(Runtime::Asan.default_options()))]);
        assert!(plan.shim);
        // Forced on a plain program: the runtime is preloaded too.
        let forced = super::plan(&selected(&[Choice::Asan]), Path::new("/usr/bin/python3.11d"), |_| None);
        assert!(forced.preload_first[0].to_string_lossy().contains("libasan.so"), "{forced:?}");
        let none = super::plan(&Selection::None, &program, |_| None);
        assert!(none.runtimes.is_empty() && none.preload_first.is_empty());
    }

    /// `compiler FLAGS -o PROGRAM` of a C `main` with a signed overflow and a shift in `dir`.
    fn build(dir: &Path, compiler: &str, flags: &[&str], name: &str) -> PathBuf {
        let source = dir.join("main.c");
        // Two UBSan checks (a signed overflow, a shift), as a real program has many.
        let main = "int main(int argc, char **argv) { int x = 0x7fffffff + argc; return x << argc; }\n";
        std::fs::write(&source, main).unwrap();
        let program = dir.join(name);
        let status = std::process::Command::new(compiler)
            .args(flags)
            .arg("-o")
            .arg(&program)
            .arg(&source)
            .status()
            .unwrap_or_else(|e| panic!("running {compiler}: {e} (scripts/setup.sh installs it)"));
        assert!(status.success(), "{compiler} {flags:?}");
        program
    }

    /// clang's static ASAN, MSAN and TSan runtimes define every `__ubsan_handle_*`: that is
    /// no UBSan. UBSan's own runtime, static (clang) or shared (gcc, clang's
    /// `-shared-libsan`), and code importing the handlers are; so is code calling the handlers
    /// a static runtime defines (`-fsanitize=address,undefined`, clang's or gcc's with
    /// `-static-libasan -static-libubsan`): both runtimes then.
    #[test]
    fn clangs_static_runtimes_are_not_ubsan_but_ubsan_is() {
        let dir = tempfile::tempdir().unwrap();
        let clang = std::env::var("LEAKCHECK_CLANG").unwrap_or_else(|_| "clang".to_owned());
        for (compiler, flags, expected) in [
            (clang.as_str(), &["-fsanitize=address"][..], &[Runtime::Asan][..]),
            (&clang, &["-fsanitize=memory"], &[Runtime::Msan]),
            (&clang, &["-fsanitize=thread"], &[Runtime::Tsan]),
            (&clang, &["-fsanitize=undefined"], &[Runtime::Ubsan]),
            (&clang, &["-fsanitize=undefined", "-shared-libsan"], &[Runtime::Ubsan]),
            (&clang, &["-fsanitize=address", "-shared-libsan"], &[Runtime::Asan]),
            ("gcc", &["-fsanitize=undefined"], &[Runtime::Ubsan]),
            ("gcc", &["-fsanitize=address,undefined"], &[Runtime::Asan, Runtime::Ubsan]),
            ("gcc", &["-fsanitize=thread,undefined"], &[Runtime::Ubsan, Runtime::Tsan]),
            (&clang, &["-fsanitize=address,undefined"], &[Runtime::Asan, Runtime::Ubsan]),
            (&clang, &["-fsanitize=memory,undefined"], &[Runtime::Msan, Runtime::Ubsan]),
            (&clang, &["-fsanitize=thread,undefined"], &[Runtime::Ubsan, Runtime::Tsan]),
            (&clang, &["-fsanitize=address,undefined", "-fno-sanitize-recover=all"], &[Runtime::Asan, Runtime::Ubsan]),
            (&clang, &["-fsanitize=address,undefined", "-O2"], &[Runtime::Asan, Runtime::Ubsan]),
            (&clang, &["-fsanitize=address,undefined", "-s"], &[Runtime::Asan, Runtime::Ubsan]),
            (&clang, &["-fsanitize=address", "-s"], &[Runtime::Asan]),
            ("gcc", &["-fsanitize=address", "-static-libasan"], &[Runtime::Asan]),
            (
                "gcc",
                &["-fsanitize=address,undefined", "-static-libasan", "-static-libubsan"],
                &[Runtime::Asan, Runtime::Ubsan],
            ),
        ] {
            let program = build(dir.path(), compiler, flags, "main");
            let detected = detect(&program);
            assert_eq!(detected.runtimes.iter().copied().collect::<Vec<_>>(), expected, "{compiler} {flags:?}");
        }
    }

    /// UBSan's defaults ask for the check's name in a `SUMMARY:` line; `print_summary=1` is left
    /// out when the user set `print_summary` for a runtime the command loads that reads
    /// `UBSAN_OPTIONS` after its own options (it would override theirs), and the user's own
    /// `UBSAN_OPTIONS` win. UBSan alone reads no other runtime's variable: those leave its
    /// defaults alone, also under `--sanitizer ubsan` for a program with no sanitizer.
    #[test]
    fn ubsan_defaults_name_the_check_in_a_summary() {
        let dir = tempfile::tempdir().unwrap();
        let ubsan_only = build(dir.path(), "gcc", &["-fsanitize=undefined"], "gcc_ubsan");
        let with_asan = build(dir.path(), "gcc", &["-fsanitize=address,undefined"], "gcc_both");
        let plain = build(dir.path(), "gcc", &[], "gcc_plain");
        let ubsan_options = |program: &Path, selection: &Selection, environment: &[(&str, &str)]| {
            let get = |name: &str| environment.iter().find(|(n, _)| *n == name).map(|(_, v)| OsString::from(v));
            let plan = plan(selection, program, get);
            assert!(plan.runtimes.contains(&Runtime::Ubsan), "{plan:?}");
            plan.variables.iter().find(|(n, _)| n == "UBSAN_OPTIONS").map(|(_, v)| v.clone()).unwrap()
        };
        let (auto, forced) = (Selection::Auto, Selection::Forced(vec![Runtime::Ubsan]));
        let defaults = "print_stacktrace=1:print_summary=1:report_error_type=1";
        let without_summary = "print_stacktrace=1:report_error_type=1";
        assert_eq!(ubsan_options(&ubsan_only, &auto, &[]), defaults);
        assert_eq!(
            ubsan_options(&with_asan, &auto, &[("ASAN_OPTIONS", "halt_on_error=0,print_summary=0")]),
            without_summary
        );
        assert_eq!(ubsan_options(&with_asan, &auto, &[("LSAN_OPTIONS", "print_summary=0")]), without_summary);
        assert_eq!(ubsan_options(&with_asan, &auto, &[("ASAN_OPTIONS", "detect_leaks=1")]), defaults);
        // No ASAN, MSAN or TSan runtime reads these: UBSan's defaults stand.
        for variable in ["ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS", "MSAN_OPTIONS"] {
            let environment = [(variable, "print_summary=0")];
            assert_eq!(ubsan_options(&ubsan_only, &auto, &environment), defaults, "{variable}");
            assert_eq!(ubsan_options(&plain, &forced, &environment), defaults, "{variable}");
        }
        // ASAN linked in, UBSan forced: ASAN reads its options all the same.
        assert_eq!(ubsan_options(&with_asan, &forced, &[("ASAN_OPTIONS", "print_summary=0")]), without_summary);
        // TSan planned with UBSan.
        let both = Selection::Forced(vec![Runtime::Tsan, Runtime::Ubsan]);
        assert_eq!(ubsan_options(&plain, &both, &[("TSAN_OPTIONS", "print_summary=1")]), without_summary);
        assert_eq!(
            ubsan_options(&ubsan_only, &auto, &[("UBSAN_OPTIONS", "report_error_type=0 print_summary=0")]),
            "print_stacktrace=1:report_error_type=0 print_summary=0"
        );
    }

    /// A program with both ASAN and UBSan gets the options of both, the user's winning key by
    /// key in each, as for one runtime alone: clang's static runtimes need no preload, gcc's
    /// shared ones are preloaded, libasan first.
    #[test]
    fn asan_and_ubsan_together_get_both_options() {
        let dir = tempfile::tempdir().unwrap();
        let clang = std::env::var("LEAKCHECK_CLANG").unwrap_or_else(|_| "clang".to_owned());
        let user = |name: &str| match name {
            "UBSAN_OPTIONS" => Some(OsString::from("print_stacktrace=0:halt_on_error=1")),
            _ => None,
        };
        let program = build(dir.path(), &clang, &["-fsanitize=address,undefined"], "clang_both");
        let plan = plan(&Selection::Auto, &program, user);
        assert_eq!(plan.runtimes, [Runtime::Asan, Runtime::Ubsan]);
        assert_eq!(
            plan.variables,
            [
                ("ASAN_OPTIONS".to_owned(), OsString::from(Runtime::Asan.default_options())),
                (
                    "UBSAN_OPTIONS".to_owned(),
                    OsString::from("print_summary=1:report_error_type=1:print_stacktrace=0:halt_on_error=1")
                ),
            ]
        );
        assert!(plan.preload_first.is_empty(), "{plan:?}");
        let program = build(dir.path(), "gcc", &["-fsanitize=address,undefined"], "gcc_both");
        let plan = super::plan(&Selection::Auto, &program, |_| None);
        assert_eq!(plan.runtimes, [Runtime::Asan, Runtime::Ubsan]);
        let ubsan = ("UBSAN_OPTIONS".to_owned(), OsString::from(Runtime::Ubsan.default_options()));
        assert_eq!(plan.variables[1], ubsan, "{plan:?}");
        let preloaded: Vec<String> =
            plan.preload_first.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert!(preloaded.len() == 2 && preloaded[0].starts_with("libasan.so"), "{preloaded:?}");
        assert!(preloaded[1].starts_with("libubsan.so"), "{preloaded:?}");
    }

    /// With the shim preloaded, `verify_asan_link_order=0` is added to ASAN_OPTIONS (merged,
    /// the user's setting winning) unless libasan is preloaded before the shim.
    #[test]
    fn the_shim_preloaded_turns_off_asans_link_order_check() {
        let plain = Path::new("/usr/bin/python3.11d");
        let mut p = plan(&Selection::Auto, plain, |_| None);
        p.shim_preloaded(|_| None);
        assert_eq!(p.variables, [("ASAN_OPTIONS".to_owned(), OsString::from("verify_asan_link_order=0"))]);
        assert!(p.link_order_added);
        let user =
            |name: &str| (name == "ASAN_OPTIONS").then(|| OsString::from("verify_asan_link_order=1:verbosity=1"));
        let mut p = plan(&Selection::Auto, plain, user);
        p.shim_preloaded(user);
        assert_eq!(p.variables, [("ASAN_OPTIONS".to_owned(), OsString::from("verify_asan_link_order=1:verbosity=1"))]);
        assert!(!p.link_order_added);
        // The user's own `verify_asan_link_order=0`, first in their text: theirs, not added.
        let user = |name: &str| (name == "ASAN_OPTIONS").then(|| OsString::from("verify_asan_link_order=0"));
        let mut p = plan(&Selection::Auto, plain, user);
        p.shim_preloaded(user);
        assert_eq!(p.variables, [("ASAN_OPTIONS".to_owned(), OsString::from("verify_asan_link_order=0"))]);
        assert!(!p.link_order_added);
        let user = |name: &str| (name == "ASAN_OPTIONS").then(|| OsString::from("verbosity=1"));
        let mut p = plan(&Selection::Auto, plain, user);
        p.shim_preloaded(user);
        assert_eq!(p.variables, [("ASAN_OPTIONS".to_owned(), OsString::from("verify_asan_link_order=0:verbosity=1"))]);
        assert!(p.link_order_added);
        // libasan preloaded first: the check passes, nothing added.
        let mut forced = plan(&selected(&[Choice::Asan]), plain, |_| None);
        assert!(!forced.preload_first.is_empty());
        forced.shim_preloaded(|_| None);
        assert_eq!(forced.variables, [("ASAN_OPTIONS".to_owned(), OsString::from(Runtime::Asan.default_options()))]);
        assert!(!forced.link_order_added);
        // An ASAN runtime that needs no preload (clang's static one): merged into its options.
        let mut static_asan = Plan {
            runtimes: vec![Runtime::Asan],
            variables: vec![("ASAN_OPTIONS".to_owned(), OsString::from("detect_leaks=0"))],
            shim: true,
            ..Plan::default()
        };
        static_asan.shim_preloaded(|_| None);
        assert_eq!(static_asan.variables[0].1, "verify_asan_link_order=0:detect_leaks=0");
        assert!(static_asan.link_order_added);
    }

    /// The options the command gets: the plan's variables, else the environment's, whatever
    /// `--sanitizer` said.
    #[test]
    fn the_command_gets_every_options_variable() {
        let env = |name: &str| match name {
            "ASAN_OPTIONS" => Some(OsString::from("log_path=/a")),
            "UBSAN_OPTIONS" => Some(OsString::from("log_path=/u")),
            "LSAN_OPTIONS" => Some(OsString::from("log_path=/l")),
            _ => None,
        };
        let none = plan(&Selection::None, Path::new("/usr/bin/python3.11d"), env);
        assert!(none.variables.is_empty());
        let names = |options: Vec<(String, OsString)>| -> Vec<String> {
            options.into_iter().map(|(n, v)| format!("{n}={}", v.to_string_lossy())).collect()
        };
        assert_eq!(
            names(none.command_options(env)),
            ["ASAN_OPTIONS=log_path=/a", "LSAN_OPTIONS=log_path=/l", "UBSAN_OPTIONS=log_path=/u"]
        );
        let mut auto = plan(&Selection::Auto, Path::new("/usr/bin/python3.11d"), env);
        auto.shim_preloaded(env);
        assert_eq!(
            names(auto.command_options(env)),
            [
                "ASAN_OPTIONS=verify_asan_link_order=0:log_path=/a",
                "LSAN_OPTIONS=log_path=/l",
                "UBSAN_OPTIONS=log_path=/u"
            ]
        );
    }

    #[test]
    fn msan_keeps_the_shim_out() {
        let plan = plan(&selected(&[Choice::Msan]), Path::new("/usr/bin/python3.11d"), |_| None);
        assert!(!plan.shim);
        assert!(plan.notes.iter().any(|n| n.contains("MemorySanitizer")));
    }
}
