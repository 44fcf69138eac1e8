//! Builds the preload shim (`shims/`) with a nested cargo and leaves it in OUT_DIR, where
//! `src/launch.rs` embeds it with `include_bytes!`. The shim is built with the workspace's `shim`
//! profile (optimised, no unwinding) whatever the outer profile: it runs inside every process of
//! the tested tree.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let shim_dir = manifest_dir.join("..").join("shims");
    println!("cargo:rerun-if-changed={}", shim_dir.join("src").display());
    println!("cargo:rerun-if-changed={}", shim_dir.join("Cargo.toml").display());

    let target = env::var("TARGET").expect("cargo sets TARGET");
    let host = env::var("HOST").expect("cargo sets HOST");
    let target_dir = out_dir.join("shim-target");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .arg("build")
        .arg("--profile")
        .arg("shim")
        .arg("--lib")
        .arg("--manifest-path")
        .arg(shim_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // Flags meant for the outer build (coverage, sanitizers of the harness) are not for the
        // library that is preloaded into Python.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS");
    let mut built = target_dir.clone();
    if target != host {
        build.arg("--target").arg(&target);
        built.push(&target);
    }
    built.push("shim");
    built.push("libleakcheck_shim.so");

    let status = build.status().expect("running cargo to build the shim");
    assert!(status.success(), "building the shim (shims/) failed: {status}");
    std::fs::copy(&built, out_dir.join("libleakcheck_shim.so")).expect("copying the built shim into OUT_DIR");
}
