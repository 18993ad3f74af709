//! Generates `include/csock.h` with cbindgen and sets the shared library's soname.
//!
//! The header is rewritten only when its contents change, so an unchanged build leaves the
//! committed file (and its timestamp) alone. `make check-header` fails when the committed header
//! is not what this script generates.

use std::env;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
    let minor = env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets the version");
    let patch = env::var("CARGO_PKG_VERSION_PATCH").expect("cargo sets the version");

    println!("cargo::rerun-if-changed=src");
    println!("cargo::rerun-if-changed=cbindgen.toml");
    println!("cargo::rerun-if-changed=build.rs");

    // The soname carries the ABI: libcsock.so.0 for every 0.x release, libcsock.so.N from N.0 on.
    println!("cargo::rustc-cdylib-link-arg=-Wl,-soname,libcsock.so.{major}");

    let mut config = cbindgen::Config::from_file(dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    config.after_includes = Some(format!(
        "\n/** csock's version, as the numbers of csock_version(). */\n\
         #define CSOCK_VERSION_MAJOR {major}\n\
         #define CSOCK_VERSION_MINOR {minor}\n\
         #define CSOCK_VERSION_PATCH {patch}\n"
    ));
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen can read the crate");
    bindings.write_to_file(dir.join("include").join("csock.h"));
}
