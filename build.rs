//! Generates `include/csock.h` with cbindgen and sets the cdylib's soname.
//!
//! cbindgen parses this crate's own sources only (`src/lib.rs` and the modules it declares),
//! without `cargo metadata`, so the build needs no crate beyond the library's dependencies and
//! no network: an offline build with only libc, bitflags and cbindgen's own dependencies works.
//!
//! The header is written only when its contents change: an unchanged build never touches the
//! committed file (not even its timestamp), so a read-only source tree builds as long as its
//! header is current. `make check-header` fails when the committed header is not what this
//! script generates.

use std::env;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version");
    let minor = env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets the version");
    let patch = env::var("CARGO_PKG_VERSION_PATCH").expect("cargo sets the version");

    println!("cargo::rerun-if-changed=src");
    println!("cargo::rerun-if-changed=cbindgen.toml");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=include/csock.h");

    // The soname carries the ABI: libcsock.so.0 for every 0.x release, libcsock.so.N from N.0 on.
    // (The shipped libcsock.so is linked again from libcsock.a by the Makefile, with the
    // symbol versions of abi/csock.map, which rustc's own cdylib link cannot take.)
    println!("cargo::rustc-cdylib-link-arg=-Wl,-soname,libcsock.so.{major}");

    let mut config = cbindgen::Config::from_file(dir.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    let number = |part: &str| part.parse::<u32>().expect("a numeric version part");
    let version_number = number(&major) * 10000 + number(&minor) * 100 + number(&patch);
    config.after_includes = Some(format!(
        "\n/** csock's major version, as in csock_version(). */\n\
         #define CSOCK_VERSION_MAJOR {major}\n\
         /** csock's minor version, as in csock_version(). */\n\
         #define CSOCK_VERSION_MINOR {minor}\n\
         /** csock's patch version, as in csock_version(). */\n\
         #define CSOCK_VERSION_PATCH {patch}\n\
         /**\n \
          * csock's version as one number, MAJOR * 10000 + MINOR * 100 + PATCH, for `#if` and for\n \
          * comparing with csock_version_number() at run time.\n \
          */\n\
         #define CSOCK_VERSION_NUMBER {version_number}\n\
         \n\
         /**\n \
          * Initialises a csock_socket as closed: fd and every field -1, so that a cleanup path's\n \
          * csock_close() is harmless. Use it wherever a csock_socket is declared, in C and C++:\n \
          * `csock_socket s = CSOCK_SOCKET_INIT;`\n \
          *\n \
          * A zeroed csock_socket (`= {{0}}`, memset, calloc, a static) is NOT closed: its fd 0 is\n \
          * standard input, which csock_close() would close.\n \
          */\n\
         #define CSOCK_SOCKET_INIT {{ -1, -1, -1, -1 }}\n"
    ));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src").join("lib.rs"))
        .generate()
        .expect("cbindgen can read the crate");
    let mut header = Vec::new();
    bindings.write(&mut header);
    write_if_changed(&dir.join("include").join("csock.h"), &header);
}

/// Writes `contents` to `path` unless the file already holds exactly that; a new file replaces
/// the old one by rename, so a reader never sees half a header.
fn write_if_changed(path: &Path, contents: &[u8]) {
    match fs::read(path) {
        Ok(current) if current == contents => return,
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    }
    let tmp = path.with_extension(format!("h.tmp.{}", std::process::id()));
    let written = fs::write(&tmp, contents).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        panic!(
            "{} is stale and cannot be rewritten ({e}): regenerate it in a writable checkout",
            path.display()
        );
    }
}
