//! The simulator against the authors' RTL through the harness a user runs:
//! `deltarnn simulate --emit-rtl-inputs DIR`, `scripts/rtl-check.sh DIR`,
//! `deltarnn simulate --compare-rtl DIR`; and the harness's errors.

use crate::util::{run_script, workspace};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn deltarnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deltarnn")).args(args).output().expect("run deltarnn")
}

/// A fresh scratch folder under target/rtl/tests/.
fn scratch(name: &str) -> PathBuf {
    let dir = workspace().join("target/rtl/tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn emit(dir: &Path, format: &str, workload: &[&str]) {
    let mut args = vec!["simulate", "--format", format, "--emit-rtl-inputs", dir.to_str().unwrap()];
    args.extend_from_slice(workload);
    let out = deltarnn(&args);
    assert!(out.status.success(), "emit failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Emits workloads sharing the testbench shape 32 columns x 64 rows (one build per format): a
/// 16 -> 16 LSTM layer over 300 steps (two step chunks, every class), and a 64 x 32 matrix at 90%
/// sparsity (VXV_SP bubbles) and at 50% with every dW column read out; runs them on the RTL and
/// returns the comparisons.
fn run_on_rtl(format: &str) -> String {
    let dir = scratch(format);
    emit(&dir.join("a"), format, &["--width", "16", "--steps", "300", "--sparsity", "0.8"]);
    // --dw-readout: the testbench checks dW at every column.
    emit(
        &dir.join("b"),
        format,
        &["--rows", "64", "--width", "32", "--steps", "64", "--sparsity", "0.9,0.5", "--dw-readout"],
    );
    let mut table = String::new();
    for sub in ["a", "b"] {
        let d = dir.join(sub);
        run_script("rtl-check.sh", &[d.to_str().unwrap()]);
        let out = deltarnn(&["simulate", "--compare-rtl", d.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        table.push_str(&stdout);
    }
    println!("{table}");
    table
}

/// Every class row of a comparison table: cycles equal and values bit-identical.
fn assert_exact(table: &str) {
    let is_class = |w: &str| ["mxv", "mtxv", "vxv"].contains(&w);
    let rows: Vec<&str> = table.lines().filter(|l| l.split_whitespace().any(is_class)).collect();
    assert_eq!(rows.len(), 9, "expected a row per class and workload:\n{table}");
    for row in rows {
        assert!(row.contains("+0.00%") && row.ends_with("bit-identical"), "{row}");
    }
}

#[test]
fn fxp16_cycles_and_values_equal_the_rtls() {
    assert_exact(&run_on_rtl("fxp16"));
}

#[test]
fn bf16_cycles_and_values_equal_the_rtls() {
    assert_exact(&run_on_rtl("bf16"));
}

#[test]
fn a_wrong_expected_word_is_caught_by_the_rtl() {
    let dir = scratch("corrupt");
    emit(&dir, "fxp16", &["--rows", "64", "--width", "32", "--steps", "8", "--sparsity", "0.5"]);
    // Flip one bit of one expected M word: the testbench must report MxV_SP incorrect.
    let path = dir.join("w0-l0-t0/dat/Mx_l1_s0.dat");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[7] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    run_script("rtl-check.sh", &[dir.to_str().unwrap()]);
    let out = deltarnn(&["simulate", "--compare-rtl", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("mxv: incorrect (1 words)"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("DIFFER"));
}

fn one_error_line(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains(needle), "{stderr}");
}

#[test]
fn harness_bad_inputs_give_one_error_line() {
    let root = workspace();
    let script = |name: &str, args: &[&str]| {
        Command::new("bash").arg(root.join("scripts").join(name)).args(args).output().unwrap()
    };
    // A folder that holds no emitted workload, and an RTL folder that does not exist.
    let empty = scratch("empty");
    one_error_line(&script("rtl-check.sh", &[empty.to_str().unwrap()]), "holds the manifest.json");
    one_error_line(&script("rtl-build.sh", &["fxp", "32", "64", "/nonexistent/HDL"]), "no authors' RTL at");
    one_error_line(&script("rtl-build.sh", &["fxp", "300", "64"]), "multiples of 16 from 16 to 256");
    // A missing Verilator.
    let missing = Command::new("bash")
        .arg(root.join("scripts/rtl-build.sh"))
        .args(["fxp", "32", "64"])
        .env("DELTARNN_VERILATOR_ROOT", "/nonexistent/verilator")
        .output()
        .unwrap();
    one_error_line(&missing, "no Verilator at DELTARNN_VERILATOR_ROOT=/nonexistent/verilator");
    // Comparing before running the RTL, also after re-emitting over an earlier run's results.
    emit(&empty, "fxp16", &["--rows", "16", "--width", "16", "--steps", "4"]);
    one_error_line(&deltarnn(&["simulate", "--compare-rtl", empty.to_str().unwrap()]), "run scripts/rtl-check.sh");
    std::fs::write(empty.join("w0-l0-t0/rtl.json"), r#"{"cycles":[1,2,3],"values":["correct","correct","correct"]}"#)
        .unwrap();
    emit(&empty, "fxp16", &["--rows", "16", "--width", "16", "--steps", "5"]);
    one_error_line(&deltarnn(&["simulate", "--compare-rtl", empty.to_str().unwrap()]), "run scripts/rtl-check.sh");
    // A malformed trace.
    let bad = empty.join("bad.drt");
    std::fs::write(&bad, b"not a trace").unwrap();
    let out = deltarnn(&["simulate", "--trace", bad.to_str().unwrap(), "--emit-rtl-inputs", "/tmp/x"]);
    one_error_line(&out, "bad.drt");
    // A layer beyond one instruction without tiling.
    let out = deltarnn(&["simulate", "--width", "128", "--steps", "8", "--no-tiling", "--emit-rtl-inputs", "/tmp/x"]);
    one_error_line(&out, "exceeds the RTL's 256 rows");
}
