//! Generates `include/freshcreds.h` from the `extern "C"` items in `src/lib.rs` with cbindgen.

fn main() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed=src/lib.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml")).expect("cbindgen.toml is valid");
    match cbindgen::Builder::new().with_crate(&crate_dir).with_config(config).generate() {
        Ok(bindings) => {
            bindings.write_to_file(format!("{crate_dir}/include/freshcreds.h"));
        }
        // A syntax error in lib.rs is reported by rustc with better context; don't fail twice.
        Err(e) => println!("cargo:warning=cbindgen could not generate freshcreds.h: {e}"),
    }
}
