//! The symbolizer on real binaries: the C fixture `c/symbolize/inlines.c` (built `-g -O2` in
//! DWARF 5, DWARF 4, zlib- and zstd-compressed variants), the C++ one `templates.cpp`, Debian's `python3.11d` and
//! `libpython3.11d.so.1.0`, and copies of the fixture stripped, split into debuglink and
//! build-id debug files, truncated and corrupted. Answers are compared with `llvm-symbolizer`
//! (LLVM 14, Debian's `llvm` package), run by the tests, byte for byte.
//!
//! Golden file: `tests/data/symbolize/inlines.golden`, every address of the fixture's functions
//! with its frames; `LEAKCHECK_BLESS=1 cargo test --test symbolize` rewrites it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use leakcheck::sanitizer::symbolize_log;
use leakcheck::symbolize::{symbolize_stream, DebugInfoSource, Frame, Symbolizer};
use object::{Object, ObjectSection, ObjectSymbol};

const PYTHON_EXE: &str = "/usr/bin/python3.11d";
const LIBPYTHON: &str = "/usr/lib/x86_64-linux-gnu/libpython3.11d.so.1.0";
/// Its DWARF is in libc6-dbg's build-id file, built with relative directories (`./intl`).
const LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/symbolize/inlines.golden");
/// The functions of the fixture whose every address is checked.
const FIXTURE_FUNCTIONS: [&str; 5] = ["outer", "checked", "checked.cold", "rare_path", "main"];

fn fixture(built: Result<&'static str, &'static str>) -> PathBuf {
    PathBuf::from(built.unwrap_or_else(|why| panic!("fixture not built: {why}")))
}

fn inlines() -> PathBuf {
    fixture(leakcheck_fixtures::SYMBOLIZE_INLINES)
}

/// `llvm-symbolizer --obj=MODULE` on `input`.
fn llvm_symbolizer(module: &Path, input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("llvm-symbolizer")
        .arg(format!("--obj={}", module.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("running llvm-symbolizer (apt package `llvm`, scripts/setup.sh installs it)");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("llvm-symbolizer output");
    feeder.join().expect("feeding llvm-symbolizer").expect("writing to llvm-symbolizer");
    assert!(output.status.success(), "llvm-symbolizer failed");
    output.stdout
}

fn ours(symbolizer: &Symbolizer, module: &Path, input: &[u8]) -> Vec<u8> {
    let mut output = Vec::new();
    symbolize_stream(symbolizer, module, input, &mut output).expect("in-memory I/O");
    output
}

fn address_lines(addresses: &[u64]) -> Vec<u8> {
    addresses.iter().flat_map(|a| format!("{a:#x}\n").into_bytes()).collect()
}

/// Compare answer by answer so a failure names the address, not a byte offset.
fn assert_same_answers(module: &Path, addresses: &[u64], ours: &[u8], llvm: &[u8]) {
    if ours == llvm {
        return;
    }
    let split =
        |text: &[u8]| -> Vec<String> { String::from_utf8_lossy(text).split("\n\n").map(str::to_owned).collect() };
    let (ours, llvm) = (split(ours), split(llvm));
    for (i, (a, b)) in ours.iter().zip(&llvm).enumerate() {
        assert_eq!(
            a,
            b,
            "{}: answers differ at {:#x} (ours left, llvm-symbolizer right)",
            module.display(),
            addresses.get(i).copied().unwrap_or_default()
        );
    }
    assert_eq!(ours.len(), llvm.len(), "{}: answer counts differ", module.display());
}

/// `(name, address, size)` of the module's function symbols (`.dynsym`'s when it is stripped).
fn function_symbols(module: &Path) -> Vec<(String, u64, u64)> {
    let data = std::fs::read(module).expect("reading the module");
    let file = object::File::parse(&*data).expect("parsing the module");
    let symbols = if file.symbols().next().is_some() { file.symbols() } else { file.dynamic_symbols() };
    symbols
        .filter(|s| s.kind() == object::SymbolKind::Text && s.size() > 0)
        .filter_map(|s| Some((s.name().ok()?.to_owned(), s.address(), s.size())))
        .collect()
}

fn text_range(module: &Path) -> (u64, u64) {
    let data = std::fs::read(module).expect("reading the module");
    let file = object::File::parse(&*data).expect("parsing the module");
    let text = file.section_by_name(".text").expect(".text");
    (text.address(), text.address() + text.size())
}

/// Every address of the fixture functions, with its `symbol+offset` name.
fn fixture_probes(module: &Path) -> Vec<(String, u64)> {
    let symbols = function_symbols(module);
    let mut probes = Vec::new();
    for name in FIXTURE_FUNCTIONS {
        let (_, start, size) =
            symbols.iter().find(|s| s.0 == name).unwrap_or_else(|| panic!("{name} not in the fixture's symbol table"));
        probes.extend((0..*size).map(|offset| (format!("{name}+{offset:#x}"), start + offset)));
    }
    probes
}

/// A small deterministic generator (no dependency needed for sampling addresses).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

#[test]
fn fixture_variants_answer_as_llvm_symbolizer() {
    let plain = inlines();
    let probes: Vec<u64> = fixture_probes(&plain).into_iter().map(|p| p.1).collect();
    let input = address_lines(&probes);
    let expected = llvm_symbolizer(&plain, &input);
    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    for built in [
        leakcheck_fixtures::SYMBOLIZE_INLINES,
        leakcheck_fixtures::SYMBOLIZE_INLINES_DWARF4,
        leakcheck_fixtures::SYMBOLIZE_INLINES_ZLIB,
        leakcheck_fixtures::SYMBOLIZE_INLINES_ZSTD,
    ] {
        let module = fixture(built);
        assert!(
            matches!(symbolizer.debug_info(&module), DebugInfoSource::Dwarf { ref file } if *file == module),
            "{}",
            module.display()
        );
        let answers = ours(&symbolizer, &module, &input);
        if built != leakcheck_fixtures::SYMBOLIZE_INLINES_ZSTD {
            // LLVM 14 cannot read zstd sections; the code is the same as the plain build's.
            let llvm = llvm_symbolizer(&module, &input);
            assert_same_answers(&module, &probes, &answers, &llvm);
        }
        assert_same_answers(&module, &probes, &answers, &expected);
    }
}

/// C++ names (`c/symbolize/templates.cpp`, g++ -O2): every answer for every 3rd byte of `.text`
/// is llvm-symbolizer's, spelling of the demangled names included, except where LLVM 14's
/// demangler gives up and prints the mangled name: there ours is demangled.
#[test]
fn cpp_names_are_demangled_as_llvm_symbolizer_does() {
    let module = fixture(leakcheck_fixtures::SYMBOLIZE_TEMPLATES);
    let (start, end) = text_range(&module);
    let probes: Vec<u64> = (start..end).step_by(3).collect();
    let input = address_lines(&probes);
    let answers = String::from_utf8(ours(&Symbolizer::with_debug_dirs(Vec::new()), &module, &input)).unwrap();
    let llvm = String::from_utf8(llvm_symbolizer(&module, &input)).unwrap();
    let (ours_lines, llvm_lines): (Vec<&str>, Vec<&str>) = (answers.lines().collect(), llvm.lines().collect());
    assert_eq!(ours_lines.len(), llvm_lines.len());
    let mut mangled_by_llvm = 0;
    for (a, b) in ours_lines.iter().zip(&llvm_lines) {
        if b.starts_with("_Z") && a != b {
            mangled_by_llvm += 1;
            assert!(!a.starts_with("_Z") && a.contains('('), "{b} -> {a}");
        } else {
            assert_eq!(a, b, "ours left, llvm-symbolizer right");
        }
    }
    assert!(mangled_by_llvm * 50 < ours_lines.len(), "{mangled_by_llvm} of {}", ours_lines.len());
    // What the crate `cpp_demangle` got wrong: parameters after a template pack.
    assert!(answers.contains("::basic_string<std::allocator<char> >(char const*, std::allocator<char> const&)\n"));
    // Closures and clones as LLVM spells them.
    assert!(answers.contains("main::'lambda'(int, int)"), "{answers}");
    // A local class's function with its function template's return type, an inheriting
    // constructor named after its class (QA found `scaled<int>(int)::...` and `Derived::Base`).
    assert!(answers.contains("\nint leakfix::scaled<int>(int)::Scale::apply(int) const"), "{answers}");
    assert!(answers.contains("\nleakfix::Derived::Derived(int)\n"), "{answers}");
}

#[test]
fn fixture_inline_chain_is_the_golden_one() {
    let module = inlines();
    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    let probes = fixture_probes(&module);
    let addresses: Vec<u64> = probes.iter().map(|p| p.1).collect();
    let answers = symbolizer.symbolize_many(&module, &addresses);
    let source = Path::new(leakcheck_fixtures::SYMBOLIZE_SOURCE);
    let repository = source.ancestors().nth(3).expect("c/symbolize/inlines.c is three levels down");

    let mut golden = String::new();
    for ((name, _), frames) in probes.iter().zip(&answers) {
        golden.push_str(name);
        golden.push('\n');
        for frame in frames {
            let file = frame.file.as_deref().map(|f| {
                Path::new(f).strip_prefix(repository).map_or_else(|_| f.to_owned(), |p| p.display().to_string())
            });
            golden.push_str(&format!(
                "  {}{} {}:{}:{}\n",
                if frame.inlined { "inlined " } else { "" },
                frame.function.as_deref().unwrap_or("??"),
                file.as_deref().unwrap_or("??"),
                frame.line.unwrap_or(0),
                frame.column.unwrap_or(0),
            ));
        }
    }
    if std::env::var_os("LEAKCHECK_BLESS").is_some() {
        std::fs::create_dir_all(Path::new(GOLDEN).parent().expect("golden dir"))
            .expect("creating the golden directory");
        std::fs::write(GOLDEN, &golden).expect("writing the golden file");
    }
    let expected =
        std::fs::read_to_string(GOLDEN).expect("golden file missing: run with LEAKCHECK_BLESS=1 to create it");
    assert_eq!(golden, expected, "rerun with LEAKCHECK_BLESS=1 if the change is intended");

    // Independently of the golden file: the chain leaf <- middle <- outer exists, on the
    // lines marked in the source, and every frame but the last is inlined.
    let marked = |mark: &str| -> u32 {
        let text = std::fs::read_to_string(source).expect("reading the fixture source");
        let index =
            text.lines().position(|l| l.contains(&format!("MARK {mark} "))).unwrap_or_else(|| panic!("no MARK {mark}"));
        index as u32 + 1
    };
    let chain = answers.iter().find(|frames| frames.len() == 3).expect("an address with a three-frame inline chain");
    let summary: Vec<(Option<&str>, Option<u32>, bool)> =
        chain.iter().map(|f| (f.function.as_deref(), f.line, f.inlined)).collect();
    assert_eq!(
        summary,
        vec![
            (Some("leaf"), Some(marked("leaf_store")), true),
            (Some("middle"), Some(marked("middle_calls_leaf")), true),
            (Some("outer"), Some(marked("outer_calls_middle")), false),
        ]
    );
    for frame in chain {
        assert_eq!(frame.file.as_deref(), source.to_str());
        assert_eq!(frame.module, module.display().to_string());
    }
    // GCC's cold part keeps its symbol table name, as llvm-symbolizer prints it.
    let cold = probes.iter().position(|p| p.0 == "checked.cold+0x0").expect("checked.cold");
    let cold = &answers[cold];
    assert_eq!(cold.last().and_then(|f| f.function.as_deref()), Some("checked.cold"));
    assert_eq!(cold.last().and_then(|f| f.line), Some(marked("checked_calls_rare")));
}

/// Addresses of a big module worth comparing: random ones across `.text`, every function's
/// first and last byte for a sample of functions, and some outside any function.
fn sample_addresses(module: &Path, random: usize, seed: u64) -> Vec<u64> {
    let (start, end) = text_range(module);
    let mut lcg = Lcg(seed);
    let mut addresses: Vec<u64> = (0..random).map(|_| start + lcg.below(end - start)).collect();
    let symbols = function_symbols(module);
    for _ in 0..random / 10 {
        let (_, address, size) = &symbols[lcg.below(symbols.len() as u64) as usize];
        addresses.extend([*address, address + size - 1, address + size]);
    }
    addresses.extend([0, 1, start - 1, start, end - 1, end, u64::MAX]);
    addresses
}

#[test]
fn python_binaries_answer_as_llvm_symbolizer() {
    let symbolizer = Symbolizer::new();
    for (module, seed) in [(PYTHON_EXE, 1), (LIBPYTHON, 2), (LIBC, 3)] {
        let module = Path::new(module);
        assert!(module.exists(), "{} missing: scripts/setup.sh installs python3.11-dbg", module.display());
        let addresses = sample_addresses(module, 5000, seed);
        let input = address_lines(&addresses);
        let answers = ours(&symbolizer, module, &input);
        let llvm = llvm_symbolizer(module, &input);
        assert_same_answers(module, &addresses, &answers, &llvm);
        assert!(
            matches!(symbolizer.debug_info(module), DebugInfoSource::Dwarf { .. }),
            "{}: no DWARF found (scripts/setup.sh installs python3.11-dbg and libc6-dbg)",
            module.display()
        );

        // The frame API says the same as the text.
        let frames = symbolizer.symbolize_many(module, &addresses);
        let mut text = Vec::new();
        for frames in &frames {
            for frame in frames {
                writeln!(
                    text,
                    "{}\n{}:{}:{}",
                    frame.function.as_deref().unwrap_or("??"),
                    frame.file.as_deref().unwrap_or("??"),
                    frame.line.unwrap_or(0),
                    frame.column.unwrap_or(0)
                )
                .expect("writing to a Vec");
            }
            text.push(b'\n');
        }
        assert_same_answers(module, &addresses, &text, &llvm);
    }
}

/// `leakcheck symbolize LOG` on a frame of the fixture with inlined calls: one line per frame,
/// renumbered, each ended as the log's line was; a last line without newline stays without
/// one, but its frames still get a line each.
#[test]
fn log_frames_with_inlined_calls_get_a_line_each() {
    let module = inlines();
    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    let addresses: Vec<u64> = fixture_probes(&module).into_iter().map(|p| p.1).collect();
    let answers = symbolizer.symbolize_many(&module, &addresses);
    let (address, chain) =
        addresses.iter().zip(&answers).find(|(_, frames)| frames.len() == 3).expect("a three-frame inline chain");
    let frame = format!("    #0 0x55550000{address:08x}  ({}+{address:#x})", module.display());
    for ending in ["\n", "\r\n", ""] {
        let mut rewritten = Vec::new();
        symbolize_log(&symbolizer, format!("{frame}{ending}").as_bytes(), &mut rewritten).expect("in-memory I/O");
        let text = String::from_utf8(rewritten).expect("UTF-8");
        let body = text.strip_suffix(ending).unwrap_or_else(|| panic!("{text:?} does not end with {ending:?}"));
        let lines: Vec<&str> = body.split(if ending.is_empty() { "\n" } else { ending }).collect();
        assert_eq!(lines.len(), chain.len(), "{text:?}");
        for (i, (line, frame)) in lines.iter().zip(chain).enumerate() {
            assert!(line.starts_with(&format!("    #{i} 0x55550000{address:08x} in ")), "{text:?}");
            assert!(line.contains(frame.function.as_deref().expect("named")), "{text:?}");
            assert!(!line.contains(['\r', '\n']), "{text:?}");
        }
        assert_eq!(text.ends_with('\n'), !ending.is_empty(), "{text:?}");
    }
}

#[test]
fn symbolize_many_keeps_order_and_duplicates() {
    let module = inlines();
    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    let probes: Vec<u64> = fixture_probes(&module).into_iter().map(|p| p.1).collect();
    let mut addresses: Vec<u64> = probes.iter().rev().copied().collect();
    addresses.extend(probes.iter().step_by(3).copied());
    let many = symbolizer.symbolize_many(&module, &addresses);
    assert_eq!(many.len(), addresses.len());
    for (address, frames) in addresses.iter().zip(&many) {
        assert_eq!(frames, &symbolizer.symbolize(&module, *address));
        assert!(frames.iter().all(|f| f.address == *address));
        assert_eq!(frames.iter().filter(|f| !f.inlined).count(), 1);
        assert!(!frames.last().expect("never empty").inlined);
    }
}

fn run(command: &mut Command) {
    let status = command.status().expect("running a binutils tool");
    assert!(status.success(), "{command:?} failed");
}

/// `objcopy` copies of the fixture in a temporary directory.
struct Split {
    dir: tempfile::TempDir,
}

impl Split {
    fn new() -> Split {
        Split { dir: tempfile::tempdir().expect("temporary directory") }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `objcopy ARGS inlines DEST`.
    fn objcopy(&self, args: &[&str], dest: &str) -> PathBuf {
        let dest = self.path(dest);
        run(Command::new("objcopy").args(args).arg(inlines()).arg(&dest));
        dest
    }
}

fn functions_and_lines(frames: &[Vec<Frame>]) -> Vec<Vec<(Option<String>, Option<u32>)>> {
    frames.iter().map(|f| f.iter().map(|f| (f.function.clone(), f.line)).collect()).collect()
}

#[test]
fn debuglink_files_are_found_next_to_the_module_and_crc_checked() {
    let split = Split::new();
    let probes: Vec<u64> = fixture_probes(&inlines()).into_iter().map(|p| p.1).collect();
    let reference = Symbolizer::with_debug_dirs(Vec::new()).symbolize_many(&inlines(), &probes);

    let debug = split.objcopy(&["--only-keep-debug"], "inlines.debug");
    let stripped = split.path("inlines");
    run(Command::new("objcopy")
        .args(["--strip-debug", "--remove-section=.note.gnu.build-id"])
        .arg(format!("--add-gnu-debuglink={}", debug.display()))
        .arg(inlines())
        .arg(&stripped));

    // Next to the module.
    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    assert_eq!(symbolizer.debug_info(&stripped), DebugInfoSource::Dwarf { file: debug.clone() });
    assert_eq!(functions_and_lines(&symbolizer.symbolize_many(&stripped, &probes)), functions_and_lines(&reference));
    let input = address_lines(&probes);
    assert_same_answers(&stripped, &probes, &ours(&symbolizer, &stripped, &input), &llvm_symbolizer(&stripped, &input));

    // In the module's .debug/ subdirectory.
    std::fs::create_dir(split.path(".debug")).expect("mkdir .debug");
    let moved = split.path(".debug/inlines.debug");
    std::fs::rename(&debug, &moved).expect("moving the debug file");
    assert_eq!(
        Symbolizer::with_debug_dirs(Vec::new()).debug_info(&stripped),
        DebugInfoSource::Dwarf { file: moved.clone() }
    );

    // Under a debug directory, at the module's absolute directory.
    let root = split.path("debug-root");
    let relative = split.dir.path().strip_prefix("/").expect("absolute temp dir");
    let under_root = root.join(relative).join("inlines.debug");
    std::fs::create_dir_all(under_root.parent().expect("parent")).expect("mkdir");
    std::fs::rename(&moved, &under_root).expect("moving the debug file");
    assert!(matches!(Symbolizer::with_debug_dirs(Vec::new()).debug_info(&stripped), DebugInfoSource::SymbolTable));
    assert_eq!(
        Symbolizer::with_debug_dirs(vec![root.clone()]).debug_info(&stripped),
        DebugInfoSource::Dwarf { file: under_root.clone() }
    );

    // A debug file whose CRC does not match is not used.
    let mut bytes = std::fs::read(&under_root).expect("reading the debug file");
    bytes.push(0);
    std::fs::write(&under_root, bytes).expect("writing the debug file");
    assert!(matches!(Symbolizer::with_debug_dirs(vec![root]).debug_info(&stripped), DebugInfoSource::SymbolTable));
}

#[test]
fn build_id_directory_is_searched() {
    let split = Split::new();
    let probes: Vec<u64> = fixture_probes(&inlines()).into_iter().map(|p| p.1).collect();
    let reference = Symbolizer::with_debug_dirs(Vec::new()).symbolize_many(&inlines(), &probes);

    let stripped = split.objcopy(&["--strip-debug"], "inlines");
    let data = std::fs::read(&stripped).expect("reading the stripped copy");
    let build_id: String = object::File::parse(&*data)
        .expect("parsing")
        .build_id()
        .expect("notes")
        .expect("gcc links with --build-id on Debian")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let root = split.path("debug-root");
    let debug = root.join(".build-id").join(&build_id[..2]).join(format!("{}.debug", &build_id[2..]));
    std::fs::create_dir_all(debug.parent().expect("parent")).expect("mkdir");
    run(Command::new("objcopy").arg("--only-keep-debug").arg(inlines()).arg(&debug));

    assert!(matches!(Symbolizer::with_debug_dirs(Vec::new()).debug_info(&stripped), DebugInfoSource::SymbolTable));
    let symbolizer = Symbolizer::with_debug_dirs(vec![split.path("elsewhere"), root]);
    assert_eq!(symbolizer.debug_info(&stripped), DebugInfoSource::Dwarf { file: debug.clone() });
    assert_eq!(functions_and_lines(&symbolizer.symbolize_many(&stripped, &probes)), functions_and_lines(&reference));
}

/// dwz (`-m`, as Debian's dh_dwz and Fedora run it) moves what two copies of the fixture share
/// into a supplementary file named by `.gnu_debugaltlink`, among them the abstract DIEs naming
/// the inlined functions: they are read from there, as from the file before dwz; at its named
/// path, else through its build id; and when it is missing, a note says what is lost.
#[test]
fn dwz_supplementary_files_give_the_inlined_names() {
    let split = Split::new();
    let probes: Vec<u64> = fixture_probes(&inlines()).into_iter().map(|p| p.1).collect();
    let reference = functions_and_lines(&Symbolizer::with_debug_dirs(Vec::new()).symbolize_many(&inlines(), &probes));
    assert!(reference.iter().any(|frames| frames.len() > 1), "the fixture's probes have inlined frames");

    let (first, second) = (split.path("first"), split.path("second"));
    for copy in [&first, &second] {
        std::fs::copy(inlines(), copy).expect("copying the fixture");
    }
    let common = split.path("common.debug");
    run(Command::new("dwz").arg("-m").arg(&common).arg("-M").arg(&common).arg(&first).arg(&second));
    let data = std::fs::read(&first).expect("reading the dwz output");
    let elf = object::File::parse(&*data).expect("parsing");
    let (_, sup_build_id) = elf.gnu_debugaltlink().expect("notes").expect("dwz -m links the supplementary file");
    let sup_build_id: String = sup_build_id.iter().map(|b| format!("{b:02x}")).collect();

    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    assert_eq!(functions_and_lines(&symbolizer.symbolize_many(&first, &probes)), reference);
    assert_eq!(symbolizer.shortfall(&first), None);

    // Not at its named path: found through its build id.
    let root = split.path("debug-root");
    let by_id = root.join(".build-id").join(&sup_build_id[..2]).join(format!("{}.debug", &sup_build_id[2..]));
    std::fs::create_dir_all(by_id.parent().expect("parent")).expect("mkdir");
    std::fs::rename(&common, &by_id).expect("moving the supplementary file");
    let symbolizer = Symbolizer::with_debug_dirs(vec![root]);
    assert_eq!(functions_and_lines(&symbolizer.symbolize_many(&first, &probes)), reference);

    // Missing: lines stay, the inlined names dwz moved are lost, and the note says so.
    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    let degraded = functions_and_lines(&symbolizer.symbolize_many(&first, &probes));
    assert_ne!(degraded, reference);
    let lines = |frames: &[Vec<(Option<String>, Option<u32>)>]| -> Vec<Vec<Option<u32>>> {
        frames.iter().map(|f| f.iter().map(|f| f.1).collect()).collect()
    };
    assert_eq!(lines(&degraded), lines(&reference));
    let note = symbolizer.shortfall(&first).expect("a note for the missing supplementary file");
    assert!(note.contains(".gnu_debugaltlink") && note.contains("common.debug"), "{note}");
}

/// One source built as C (`x`) and as C++ (`y`): `dwz -m` finds no DIE the two can share, only
/// strings, and its supplementary file holds `.debug_str` alone. The names moved there
/// (`DW_FORM_GNU_strp_alt`, the inlined `helper`'s among them) are read from it: every address
/// of `outer` in `x` answers as llvm-symbolizer answers the copy from before dwz (LLVM 14 does
/// not read supplementary files). QA found the file reported "not found" and the names `??`.
/// A supplementary file that is there but unusable is said to be, not to be missing.
#[test]
fn dwz_supplementary_file_of_strings_only_gives_the_names() {
    let split = Split::new();
    let source =
        "static inline int helper(int x) { int y = 0; for (int i = 0; i < x; i++) y += i * i ^ 3; return y; }\n\
                  __attribute__((noinline)) int outer(int x) { return helper(x) + helper(x * 2); }\n\
                  int main(int c, char **v) { (void)v; return outer(c); }\n";
    let (c_source, cpp_source) = (split.path("x.c"), split.path("y.cpp"));
    std::fs::write(&c_source, source).expect("writing the C source");
    std::fs::write(&cpp_source, source).expect("writing the C++ source");
    let (x, y, before) = (split.path("x"), split.path("y"), split.path("x.before-dwz"));
    run(Command::new("gcc").args(["-g", "-O2"]).arg(&c_source).arg("-o").arg(&x));
    run(Command::new("g++").args(["-g", "-O2"]).arg(&cpp_source).arg("-o").arg(&y));
    std::fs::copy(&x, &before).expect("copying x");
    let common = split.path("common.dwz");
    run(Command::new("dwz").arg("-m").arg(&common).arg("-M").arg(&common).arg(&x).arg(&y));
    let data = std::fs::read(&common).expect("reading the supplementary file");
    let sup = object::File::parse(&*data).expect("parsing the supplementary file");
    assert!(sup.section_by_name(".debug_info").is_none(), "dwz shared DIEs between C and C++");
    assert!(sup.section_by_name(".debug_str").is_some());

    let (_, start, size) = function_symbols(&x).into_iter().find(|s| s.0 == "outer").expect("outer");
    let addresses: Vec<u64> = (start..start + size).collect();
    let input = address_lines(&addresses);
    let expected = llvm_symbolizer(&before, &input);
    assert!(String::from_utf8_lossy(&expected).contains("helper\n"), "the fixture inlines helper");
    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    assert_same_answers(&x, &addresses, &ours(&symbolizer, &x, &input), &expected);
    assert_eq!(symbolizer.shortfall(&x), None);

    // There, but not an ELF file: said so, and not as missing.
    std::fs::write(&common, b"not an ELF file").expect("overwriting the supplementary file");
    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    let note = symbolizer.shortfall(&x).expect("a note for the unusable supplementary file");
    assert!(note.contains("cannot be used") && note.contains("not a readable ELF file"), "{note}");
    assert!(!note.contains("not found"), "{note}");
    // Gone.
    std::fs::remove_file(&common).expect("removing the supplementary file");
    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    let note = symbolizer.shortfall(&x).expect("a note for the missing supplementary file");
    assert!(note.contains("was not found"), "{note}");
}

#[test]
fn stripped_binaries_fall_back_to_the_symbol_table_then_nothing() {
    let split = Split::new();
    let probes: Vec<u64> = fixture_probes(&inlines()).into_iter().map(|p| p.1).collect();
    let input = address_lines(&probes);
    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());

    let no_debug = split.objcopy(&["--strip-debug"], "no-debug");
    assert_eq!(symbolizer.debug_info(&no_debug), DebugInfoSource::SymbolTable);
    let frames = symbolizer.symbolize(&no_debug, probes[0]);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].function.as_deref(), Some("outer"));
    assert_eq!((frames[0].file.as_deref(), frames[0].line), (None, None));
    assert_same_answers(&no_debug, &probes, &ours(&symbolizer, &no_debug, &input), &llvm_symbolizer(&no_debug, &input));

    let no_symbols = split.objcopy(&["--strip-all"], "no-symbols");
    assert!(matches!(
        symbolizer.debug_info(&no_symbols),
        DebugInfoSource::Nothing { .. } | DebugInfoSource::SymbolTable
    ));
    assert_same_answers(
        &no_symbols,
        &probes,
        &ours(&symbolizer, &no_symbols, &input),
        &llvm_symbolizer(&no_symbols, &input),
    );
}

/// Every answer of a damaged module: at least one frame, the module and address right.
fn assert_degrades(symbolizer: &Symbolizer, module: &Path, addresses: &[u64]) {
    for (address, frames) in addresses.iter().zip(symbolizer.symbolize_many(module, addresses)) {
        assert!(!frames.is_empty());
        for frame in &frames {
            assert_eq!(frame.address, *address);
            assert_eq!(frame.module, module.display().to_string());
        }
    }
    let _ = ours(symbolizer, module, &address_lines(addresses));
    let _ = symbolizer.debug_info(module);
}

#[test]
fn damaged_modules_give_what_is_known_without_panicking() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    let fixture = inlines();
    let fixture_bytes = std::fs::read(&fixture).expect("reading the fixture");
    let probes: Vec<u64> = fixture_probes(&fixture).into_iter().map(|p| p.1).collect();
    let python_bytes = std::fs::read(PYTHON_EXE).expect("reading python3.11d");
    let python_probes = sample_addresses(Path::new(PYTHON_EXE), 300, 3);

    let mut cases: Vec<(String, Vec<u8>, &[u64])> = Vec::new();
    // Truncated at fractions of the file and at the ends of the header and first sections.
    for (name, bytes, probes) in
        [("inlines", &fixture_bytes, &probes[..]), ("python", &python_bytes, &python_probes[..])]
    {
        for cut in [0, 1, 4, 16, 52, 63, 64, 65, 200, 4096] {
            cases.push((format!("{name}-cut-{cut}"), bytes[..cut].to_vec(), probes));
        }
        for eighth in 1..8 {
            let cut = bytes.len() * eighth / 8;
            cases.push((format!("{name}-cut-{eighth}of8"), bytes[..cut].to_vec(), probes));
        }
        cases.push((format!("{name}-cut-last-byte"), bytes[..bytes.len() - 1].to_vec(), probes));
    }
    // Bytes flipped inside the DWARF sections that drive the lookups.
    let sections: Vec<(String, usize, usize)> = {
        let file = object::File::parse(&*fixture_bytes).expect("parsing the fixture");
        file.sections()
            .filter_map(|s| {
                let (offset, size) = s.file_range()?;
                Some((s.name().ok()?.to_owned(), offset as usize, size as usize))
            })
            .filter(|s| s.0.starts_with(".debug_") || s.0 == ".symtab" || s.0 == ".strtab")
            .collect()
    };
    let mut lcg = Lcg(7);
    for (name, offset, size) in &sections {
        for round in 0..12 {
            let mut bytes = fixture_bytes.clone();
            for _ in 0..1 + round % 4 {
                let at = offset + lcg.below(*size as u64) as usize;
                bytes[at] ^= 1 << lcg.below(8);
            }
            cases.push((format!("flip{name}-{round}"), bytes.clone(), &probes[..]));
            // And a run of 0xff, which makes lengths and counts huge.
            let at = offset + lcg.below(*size as u64) as usize;
            let end = (at + 8).min(offset + size);
            bytes[at..end].fill(0xff);
            cases.push((format!("ff{name}-{round}"), bytes, &probes[..]));
        }
    }
    cases.push(("not-elf".into(), b"#!/bin/sh\necho hello\n".to_vec(), &probes[..]));
    cases.push(("empty".into(), Vec::new(), &probes[..]));

    for (name, bytes, probes) in &cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("writing a damaged copy");
        assert_degrades(&symbolizer, &path, probes);
    }
    for (path, reason) in [
        (dir.path().join("missing"), "cannot read"),
        (dir.path().to_owned(), "is a directory"),
        (dir.path().join("not-elf"), "not a readable ELF file"),
    ] {
        assert_degrades(&symbolizer, &path, &probes);
        match symbolizer.debug_info(&path) {
            DebugInfoSource::Nothing { reason: why } => assert!(why.contains(reason), "{why}"),
            other => panic!("{}: {other:?}", path.display()),
        }
    }
    // With the DWARF damaged, the intact symbol table still names every function (a
    // truncated copy has lost its section headers, at the end of the file, and knows nothing).
    for (name, _, probes) in cases.iter().filter(|c| c.0.starts_with("flip.debug_")) {
        let frames = symbolizer.symbolize_many(&dir.path().join(name), probes);
        for frames in frames {
            assert!(frames.last().is_some_and(|f| f.function.is_some()), "{name}: {frames:?}");
        }
    }
}

/// A unit whose line program cannot be read (its header's version byte made 0x99, or
/// `.debug_line` removed) keeps its functions and inline chains, as in llvm-symbolizer, which
/// answers these copies byte for byte alike: the innermost frame's line is 0 and the files are
/// unknown, the outer frames keep their call lines; the symbolizer's note says why.
#[test]
fn a_unit_without_a_readable_line_program_keeps_its_functions_and_inline_chains() {
    let split = Split::new();
    let fixture = inlines();
    let probes = fixture_probes(&fixture);
    let addresses: Vec<u64> = probes.iter().map(|p| p.1).collect();
    let input = address_lines(&addresses);
    let source = std::fs::read_to_string(leakcheck_fixtures::SYMBOLIZE_SOURCE).expect("reading the fixture source");
    let marked = |mark: &str| -> u32 {
        source.lines().position(|l| l.contains(&format!("MARK {mark} "))).expect("a MARK comment") as u32 + 1
    };

    let mut bytes = std::fs::read(&fixture).expect("reading the fixture");
    let version_at = {
        let file = object::File::parse(&*bytes).expect("parsing the fixture");
        let (offset, _) = file.section_by_name(".debug_line").and_then(|s| s.file_range()).expect(".debug_line");
        // The first line program: a 32-bit unit length, then the version.
        offset as usize + 4
    };
    bytes[version_at] = 0x99;
    let bad_version = split.path("bad-line-version");
    std::fs::write(&bad_version, &bytes).expect("writing the corrupted copy");
    let no_line = split.objcopy(&["--remove-section=.debug_line"], "no-debug-line");

    let symbolizer = Symbolizer::with_debug_dirs(Vec::new());
    for module in [bad_version, no_line] {
        assert_same_answers(
            &module,
            &addresses,
            &ours(&symbolizer, &module, &input),
            &llvm_symbolizer(&module, &input),
        );
        let answers = symbolizer.symbolize_many(&module, &addresses);
        let chain = answers.iter().find(|frames| frames.len() == 3).expect("an inline chain survives");
        let summary: Vec<(Option<&str>, Option<u32>, bool)> =
            chain.iter().map(|f| (f.function.as_deref(), f.line, f.inlined)).collect();
        assert_eq!(
            summary,
            vec![
                (Some("leaf"), None, true),
                (Some("middle"), Some(marked("middle_calls_leaf")), true),
                (Some("outer"), Some(marked("outer_calls_middle")), false),
            ],
            "{}",
            module.display()
        );
        assert!(chain.iter().all(|f| f.file.is_none()), "{chain:?}");
        // llvm-symbolizer warns on stderr; a note says so once per module (QA found none).
        let note = symbolizer.shortfall(&module).expect("a note for the unreadable line program");
        assert!(note.contains("line program (.debug_line)") && note.contains("could not be read"), "{note}");
    }
    let _ = symbolizer.symbolize_many(&fixture, &addresses);
    assert_eq!(symbolizer.shortfall(&fixture), None);
}

#[test]
fn answers_are_written_before_more_input_is_read() {
    /// Hands out one line per read and checks that the previous line's answer is out.
    struct OneLineAtATime {
        lines: Vec<&'static [u8]>,
        output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
        reads: usize,
    }
    impl std::io::Read for OneLineAtATime {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let answered = self.output.lock().map(|o| o.iter().filter(|&&b| b == b'\n').count()).unwrap_or(0);
            // Every line before this read has its answer (function, location, blank line).
            assert!(answered >= 3 * self.reads, "read {} before answering", self.reads);
            let Some(line) = self.lines.get(self.reads) else {
                return Ok(0);
            };
            self.reads += 1;
            buf[..line.len()].copy_from_slice(line);
            Ok(line.len())
        }
    }
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let input = OneLineAtATime { lines: vec![b"0x10\n", b"0x20\n", b"0x30\n"], output: output.clone(), reads: 0 };
    symbolize_stream(
        &Symbolizer::with_debug_dirs(Vec::new()),
        &inlines(),
        std::io::BufReader::new(input),
        Shared(output.clone()),
    )
    .expect("streaming");
    let text = output.lock().map(|o| o.clone()).unwrap_or_default();
    assert_eq!(text.iter().filter(|&&b| b == b'\n').count(), 9);
}

#[test]
fn stream_echoes_what_is_not_an_address_as_llvm_symbolizer_does() {
    let module = inlines();
    let outer = fixture_probes(&module)[0].1;
    let input = format!(
        "{outer:#x}\nnot an address\n\n  {outer:#x} trailing words\nCODE {outer:#x}\n\
         DATA {outer:#x}\n0x\n{}\n0x1ffffffffffffffff\r\n{outer:#x}",
        "A".repeat(1500)
    );
    let ours = ours(&Symbolizer::with_debug_dirs(Vec::new()), &module, input.as_bytes());
    assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&llvm_symbolizer(&module, input.as_bytes())));
}
