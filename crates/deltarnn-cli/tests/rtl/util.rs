//! Paths and script runners shared by the RTL suite.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (two levels above this crate).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// Runs one of the project's scripts with arguments; panics with its stderr when it fails.
pub fn run_script(script: &str, args: &[&str]) -> String {
    let root = workspace();
    let out = Command::new("bash")
        .arg(root.join("scripts").join(script))
        .args(args)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/{script}: {e}"));
    assert!(out.status.success(), "scripts/{script} {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
