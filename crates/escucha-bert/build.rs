//! Requires `LIBTORCH` and puts its library directory on the run-time
//! search path (rpath) of this crate's tests and examples, so they run
//! without `LD_LIBRARY_PATH`.
//!
//! `LIBTORCH` is required because rust-bert 0.23 turns on tch's
//! `download-libtorch` feature: without it, torch-sys would download a
//! libtorch from download.pytorch.org at build time, which this project
//! does not allow. Failing here, early in a build, stops that. Set it with
//! `eval "$(scripts/libtorch.sh env)"` (`LIBTORCH`, `LIBTORCH_CXX11_ABI=0`).
//!
//! The library directory is the one torch-sys links against:
//! `$LIBTORCH_LIB/lib`, or `$LIBTORCH/lib`. Cargo applies these link
//! arguments to this package's own targets only; a binary of another
//! package that depends on this crate needs the same line in its build
//! script (`cargo:rustc-link-arg-bins=-Wl,-rpath,$LIBTORCH/lib`) or
//! `LD_LIBRARY_PATH`.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_LIB");
    let Some(libtorch) = std::env::var_os("LIBTORCH").filter(|v| !v.is_empty()) else {
        eprintln!(
            "escucha-bert needs a local libtorch 2.4.0: run scripts/libtorch.sh install, then \
             eval \"$(scripts/libtorch.sh env)\" before cargo (LIBTORCH is not set; without it \
             torch-sys would download libtorch at build time)"
        );
        std::process::exit(1);
    };
    let base = std::env::var_os("LIBTORCH_LIB")
        .filter(|v| !v.is_empty())
        .unwrap_or(libtorch);
    let lib = PathBuf::from(base).join("lib");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
}
