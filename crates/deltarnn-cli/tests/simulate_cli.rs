//! End-to-end tests of `deltarnn simulate`.

use std::process::{Command, Output};

fn deltarnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deltarnn")).args(args).env("RUST_BACKTRACE", "1").output().expect("runs")
}

#[test]
fn simulate_json_reports_speedups_near_ideal() {
    let out = deltarnn(&["simulate", "--sparsity", "0.5,0.9", "--width", "256", "--steps", "16", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, s) in lines.iter().zip([0.5, 0.9]) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["sparsity"], s);
        assert_eq!(v["pes"], 16);
        let total = &v["total"];
        let speedup = total["speedup"].as_f64().unwrap();
        let ideal = total["ideal"].as_f64().unwrap();
        assert!(speedup > 1.0 && speedup <= ideal * 1.001, "{speedup} {ideal}");
        assert!((speedup / ideal - 1.0).abs() < 0.10, "{speedup} {ideal}");
        assert!(total["dense_cycles"].as_u64().unwrap() > total["sparse_cycles"].as_u64().unwrap());
        for class in ["mxv", "mtxv", "vxv"] {
            assert!(v["classes"][class]["sparse_macs"].as_u64().unwrap() > 0, "{class}");
        }
        let util = total["sparse_utilisation"].as_f64().unwrap();
        assert!(util > 0.0 && util <= 1.0, "{util}");
    }
}

#[test]
fn simulate_table_lists_every_class() {
    let out = deltarnn(&["simulate", "--sparsity", "0.8", "--width", "32", "--steps", "8"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for word in ["mxv", "mtxv", "vxv", "total", "speedup"] {
        assert!(text.contains(word), "{word} missing: {text}");
    }
}

#[test]
fn simulate_bad_input_gives_one_line_errors() {
    for (args, needle) in [
        (&["simulate", "--pes", "0"][..], "pes = 0"),
        (&["simulate", "--width", "300"][..], "exceeds"),
        (&["simulate", "--sparsity", "1.5"][..], "--sparsity"),
    ] {
        let out = deltarnn(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
    }
}
