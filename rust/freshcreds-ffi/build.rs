//! Generates `include/freshcreds.h` from the `extern "C"` items in `src/lib.rs` with cbindgen.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").map_err(|e| format!("cargo sets CARGO_MANIFEST_DIR: {e}"))?;
    println!("cargo:rerun-if-changed=src/lib.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml")).map_err(|e| format!("cbindgen.toml: {e}"))?;
    match cbindgen::Builder::new().with_crate(&crate_dir).with_config(config).generate() {
        Ok(bindings) => {
            bindings.write_to_file(format!("{crate_dir}/include/freshcreds.h"));
        }
        // A syntax error in lib.rs is reported by rustc with better context; don't fail twice.
        Err(e) => println!("cargo:warning=cbindgen could not generate freshcreds.h: {e}"),
    }
    Ok(())
}
