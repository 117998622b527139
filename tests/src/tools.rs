//! Locating what the tests run: the tansu broker (installed into a shared cache when missing), the `connect`
//! binary and the plugin libraries built by `cargo build --workspace`.

use std::fs::File;
use std::path::PathBuf;
use std::process::Command;

/// The tansu version the tests run against.
pub const TANSU_VERSION: &str = "0.6.0";

/// The shared tool cache, outside the clone: `$CONNECT_RS_TOOLS`, else `~/.cache/connect-rs/tools`.
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CONNECT_RS_TOOLS") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache/connect-rs/tools")
}

/// The tansu binary, installed with `cargo install` on first use (one installer at a time, under a file lock).
pub fn tansu() -> PathBuf {
    let dir = tools_dir();
    let binary = dir.join("bin/tansu");
    if binary.exists() {
        return binary;
    }
    std::fs::create_dir_all(&dir).expect("create the tool cache");
    let lock = File::create(dir.join(".install.lock")).expect("create the install lock");
    lock.lock().expect("take the install lock");
    if !binary.exists() {
        eprintln!("installing tansu {TANSU_VERSION} into {} (takes several minutes, once)", dir.display());
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "install",
                "tansu",
                "--version",
                TANSU_VERSION,
                "--locked",
                "--features",
                "dynostore,libsql",
                "--root",
            ])
            .arg(&dir)
            .status()
            .expect("run cargo install tansu");
        assert!(status.success(), "cargo install tansu {TANSU_VERSION} failed");
    }
    binary
}

/// The cargo target profile directory this test binary was built in (`target/debug`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test binary>
    exe.parent().and_then(|deps| deps.parent()).expect("target profile dir").to_path_buf()
}

/// The `connect` binary.
pub fn connect_binary() -> PathBuf {
    let path = target_dir().join("connect");
    assert!(path.exists(), "{} is missing: build the workspace first (cargo build --workspace)", path.display());
    path
}

/// A plugin library built in the workspace, by crate library name (`connect_file` -> `libconnect_file.so`).
pub fn library(name: &str) -> PathBuf {
    let path = target_dir().join(format!("lib{name}.so"));
    assert!(path.exists(), "{} is missing: build the workspace first (cargo build --workspace)", path.display());
    path
}
