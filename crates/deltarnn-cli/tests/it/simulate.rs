//! End-to-end tests of `deltarnn simulate`.

use crate::util::{deltarnn, fails_with, Scratch};
use deltarnn::nn::CellKind;
use deltarnn::rng::Rng;
use deltarnn::sim::generate_trace;
use deltarnn::tracefile::{self, LayerShape, TraceFile};
use std::path::{Path, PathBuf};

/// A two-layer trace file (16 inputs, 2 x 64 LSTM: the 56k model's shape), 2 sequences.
fn trace_file(dir: &Path, width: usize) -> PathBuf {
    let mut rng = Rng::seed(3);
    let sequences = (0..2)
        .map(|_| vec![generate_trace(16, width, 30, 0.8, &mut rng), generate_trace(width, width, 30, 0.8, &mut rng)])
        .collect();
    let file = TraceFile {
        cell: CellKind::Lstm,
        layers: vec![LayerShape { n_input: 16, n_hidden: width }, LayerShape { n_input: width, n_hidden: width }],
        sequences,
    };
    let path = dir.join(format!("w{width}.drt"));
    tracefile::write(&path, &file).unwrap();
    path
}

#[test]
fn simulate_json_reports_speedups_near_ideal() {
    let out = deltarnn(&[
        "simulate",
        "--model",
        "ideal",
        "--sparsity",
        "0.5,0.9",
        "--width",
        "256",
        "--steps",
        "16",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, s) in lines.iter().zip([0.5, 0.9]) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        // The measured sparsity: round((1 - s) x 256) of the 256 entries fire each step.
        assert!((v["sparsity"].as_f64().unwrap() - s).abs() < 0.002, "{v}");
        assert_eq!(v["workload"], format!("s={s:.2}"));
        assert_eq!(v["pes"], 16);
        let total = &v["total"];
        let speedup = total["speedup"].as_f64().unwrap();
        let ideal = total["ideal"].as_f64().unwrap();
        assert!(speedup > 1.0 && speedup <= ideal * 1.001, "{speedup} {ideal}");
        assert!((speedup / ideal - 1.0).abs() < 0.10, "{speedup} {ideal}");
        assert!(total["dense_cycles"].as_u64().unwrap() > total["sparse_cycles"].as_u64().unwrap());
        assert!(total["dense_sram_bytes"].as_u64().unwrap() > total["sparse_sram_bytes"].as_u64().unwrap());
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
        (&["simulate", "--model", "ideal", "--width", "300"][..], "exceeds"),
        (&["simulate", "--width", "300", "--no-tiling"][..], "exceeds the RTL's 256 rows"),
        (&["simulate", "--pes", "32"][..], "the RTL model has 16 PEs"),
        (&["simulate", "--model", "vhdl"][..], "unknown cycle model 'vhdl'"),
        (&["simulate", "--rows", "64", "--model", "ideal"][..], "needs the RTL model"),
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

#[test]
fn simulate_replays_a_trace_file() {
    let dir = Scratch::new();
    let path = trace_file(&dir, 64);
    let out =
        deltarnn(&["simulate", "--trace", path.to_str().unwrap(), "--json", "--format", "fxp16", "--model", "ideal"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["layer_traces"], 4);
    assert_eq!(v["values"]["format"], "fxp16");
    assert!(v["values"]["bit_identical"].as_bool().unwrap());
    assert!(v["values"]["accuracy"]["worst_bound_ratio"].as_f64().unwrap() <= 1.0);
    let speedup = v["total"]["speedup"].as_f64().unwrap();
    assert!(speedup > 1.0 && speedup < v["total"]["ideal"].as_f64().unwrap(), "{v}");
    // The RTL model (the default) on the same trace: same MACs, its own cycles, values checked
    // against the RTL itself rather than here.
    let out = deltarnn(&["simulate", "--trace", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rtl: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rtl["model"], "rtl");
    assert!(rtl["values"].is_null());
    for class in ["mxv", "mtxv", "vxv"] {
        assert_eq!(rtl["classes"][class]["sparse_macs"], v["classes"][class]["sparse_macs"], "{class}");
    }
    let rtl_speedup = rtl["total"]["speedup"].as_f64().unwrap();
    assert!(rtl_speedup > 1.0 && rtl_speedup < rtl["total"]["ideal"].as_f64().unwrap(), "{rtl}");
}

#[test]
fn bad_trace_files_and_configs_give_one_line_errors() {
    let dir = Scratch::new();
    let good = trace_file(&dir, 64);
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.join("truncated.drt");
    std::fs::write(&truncated, &bytes[..bytes.len() - 3]).unwrap();
    fails_with(&["simulate", "--trace", truncated.to_str().unwrap()], "truncated");
    // The first step's input count says 17 of a 16-wide input fired.
    let inconsistent = dir.join("inconsistent.drt");
    let mut bad = bytes.clone();
    bad[38..40].copy_from_slice(&17u16.to_le_bytes());
    std::fs::write(&inconsistent, &bad).unwrap();
    fails_with(&["simulate", "--trace", inconsistent.to_str().unwrap()], "at most 16 fired input entries");
    let trailing = dir.join("trailing.drt");
    std::fs::write(&trailing, [bytes.as_slice(), b"xx"].concat()).unwrap();
    fails_with(&["simulate", "--trace", trailing.to_str().unwrap()], "2 more bytes");
    let ideal = ["--model", "ideal"];
    fails_with(
        &[&["simulate", "--trace", good.to_str().unwrap(), "--max-width", "32"][..], &ideal].concat(),
        "hidden width 64 exceeds",
    );
    let wide = trace_file(&dir, 300);
    fails_with(&[&["simulate", "--trace", wide.to_str().unwrap()][..], &ideal].concat(), "maximum width 256");
    fails_with(&["simulate", "--trace", wide.to_str().unwrap(), "--no-tiling"], "exceeds the RTL's 256 rows");
    fails_with(&["simulate", "--trace", good.to_str().unwrap(), "--pes", "0"], "pes = 0");
    fails_with(&["simulate", "--dram-gbps", "0"], "--dram-gbps");
    fails_with(&["simulate", "--trace", dir.join("missing.drt").to_str().unwrap()], "missing.drt");
    let empty = dir.join("empty.drt");
    let layers = vec![LayerShape { n_input: 16, n_hidden: 64 }];
    tracefile::write(&empty, &TraceFile { cell: CellKind::Gru, layers, sequences: Vec::new() }).unwrap();
    fails_with(&["simulate", "--trace", empty.to_str().unwrap()], "holds no sequences");
}

#[test]
fn sweep_writes_table_and_plot() {
    let dir = Scratch::new();
    let out_dir = dir.join("out");
    let out = deltarnn(&[
        "simulate",
        "--sweep",
        "--sparsity",
        "0.9",
        "--width",
        "64",
        "--steps",
        "16",
        "--sweep-pes",
        "4,16,64",
        "--sweep-dram-gbps",
        "0.4,25.6",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3 * 2, "{csv}");
    let md = std::fs::read_to_string(out_dir.join("sweep.md")).unwrap();
    assert!(md.contains("out of reach") && md.contains("| main overhead |"), "{md}");
    // 64 wide at 64 PEs: a column is 4 cycles, the per-step costs dominate.
    assert!(md.contains("s=0.90 at 64 PEs, 25.6 GB/s") && md.contains("fixed"), "{md}");
    for png in ["sweep-s_0.90.png", "sweep-s_0.90-time.png"] {
        assert!(std::fs::metadata(out_dir.join(png)).unwrap().len() > 1000, "{png}");
    }
}
