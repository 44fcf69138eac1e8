//! Compiles the shim's thread-local accessor (src/tls.c); see that file for why it is C.
fn main() {
    println!("cargo:rerun-if-changed=src/tls.c");
    cc::Build::new().file("src/tls.c").flag("-fvisibility=hidden").opt_level(2).compile("leakcheck_shim_tls");
}
