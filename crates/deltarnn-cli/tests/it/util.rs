//! Running the binary and checking what it printed: the helpers every test module shares.

use std::path::Path;
use std::process::{Command, Output};

/// The `deltarnn` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_deltarnn")
}

/// Runs `deltarnn args` to completion (RUST_BACKTRACE set, so a panic would show a backtrace
/// the error checks catch).
pub fn deltarnn(args: &[&str]) -> Output {
    Command::new(bin()).args(args).env("RUST_BACKTRACE", "1").output().expect("the binary runs")
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Standard output of a run that must have succeeded.
#[track_caller]
pub fn ok_stdout(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", stderr(out));
    stdout(out)
}

/// A path as a command-line argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// Asserts a clean failure whose last stderr line, and only `error` line, is `error: ...`
/// mentioning `needle`, with no panic or backtrace. Earlier lines (a training run's epochs) are
/// allowed. Returns the error line.
#[track_caller]
pub fn assert_error(out: &Output, needle: &str) -> String {
    let err = stderr(out);
    assert!(!out.status.success(), "expected failure, got success; stderr: {err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "panic: {err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "expected one error line: {err}");
    let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    assert_eq!(last, errors[0], "the error line is not the last: {err}");
    assert!(last.starts_with("error: "), "{err}");
    assert!(last.contains(needle), "expected '{needle}' in: {err}");
    last.to_string()
}

/// [`assert_error`], and the error line is all of stderr.
#[track_caller]
pub fn assert_only_error(out: &Output, needle: &str) -> String {
    let line = assert_error(out, needle);
    let err = stderr(out);
    assert_eq!(err.lines().filter(|l| !l.trim().is_empty()).count(), 1, "expected one line: {err}");
    line
}

/// Runs `deltarnn args` and asserts [`assert_only_error`], naming the command when it fails.
#[track_caller]
pub fn fails_with(args: &[&str], needle: &str) -> String {
    let out = deltarnn(args);
    let shown = format!("deltarnn {}\n--- stderr:\n{}", args.join(" "), stderr(&out));
    assert!(!out.status.success(), "succeeded: {shown}");
    assert!(stderr(&out).lines().any(|l| l.contains(needle)), "does not name {needle}: {shown}");
    assert_only_error(&out, needle)
}

/// A temporary folder, removed when dropped; derefs to its path.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    /// A fresh empty folder.
    pub fn new() -> Self {
        Scratch(tempfile::tempdir().expect("a temporary folder"))
    }

    /// `name` inside the folder, as a command-line argument.
    pub fn file(&self, name: &str) -> String {
        arg(&self.0.path().join(name)).to_string()
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}
