//! With the `bert` feature, the binary finds libtorch (from
//! scripts/libtorch.sh, `LIBTORCH`) through its run path, so it runs
//! without `LD_LIBRARY_PATH`.

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if std::env::var_os("CARGO_FEATURE_BERT").is_none() {
        return;
    }
    match std::env::var("LIBTORCH") {
        Ok(dir) => println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{dir}/lib"),
        Err(_) => println!(
            "cargo:warning=LIBTORCH is not set: run `eval \"$(scripts/libtorch.sh env)\"` before building with --features bert"
        ),
    }
}
