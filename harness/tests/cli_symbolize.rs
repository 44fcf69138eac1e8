//! `leakcheck symbolize --exe FILE` as a user runs it: the binary, stdin to stdout, against
//! llvm-symbolizer's answers for the same addresses of Debian's python3.11d.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn run(program: &str, args: &[&str], input: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {program}: {e} (run scripts/setup.sh)"));
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program} failed");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn answers_like_llvm_symbolizer_for_the_interpreter() {
    let exe = "/usr/bin/python3.11d";
    // Addresses of a few functions' entries and bodies, taken from the symbol table.
    let nm = Command::new("nm").args(["--defined-only", exe]).output().expect("nm (binutils)");
    let symbols = String::from_utf8_lossy(&nm.stdout);
    let mut input = String::new();
    for name in ["PyMem_RawMalloc", "_PyEval_EvalFrameDefault", "PyList_New", "cfunction_vectorcall_NOARGS"] {
        let line = symbols.lines().find(|l| l.ends_with(&format!(" {name}"))).expect(name);
        let address = u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap();
        for offset in [0u64, 5, 40] {
            input.push_str(&format!("0x{:x}\n", address + offset));
        }
    }
    let ours = run(common::LEAKCHECK, &["symbolize", "--exe", exe], &input);
    let llvm = run("llvm-symbolizer", &[&format!("--obj={exe}")], &input);
    assert_eq!(ours, llvm);
    assert!(ours.contains("PyMem_RawMalloc\n"), "{ours}");
}
