//! `train --arith`: the Delta network's matrix products in the accelerator's arithmetic, end to
//! end on the tiny synthesized corpus (needs espeak-ng, as `training` does).

use crate::fixtures::tiny_corpus;
use crate::training::train_args;
use crate::util::{assert_only_error, deltarnn, stderr, Scratch};

fn train<'a>(out: &'a str, extra: &[&'a str]) -> std::process::Output {
    let mut args = train_args(out, "2");
    args.extend_from_slice(extra);
    deltarnn(&args)
}

fn train_config(run: &std::path::Path) -> serde_json::Value {
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    metrics["config"]["train"].clone()
}

#[test]
fn bf16_and_fxp16_runs_record_their_arithmetic() {
    let dir = Scratch::new();
    let bf16 = dir.join("bf16");
    let out = train(bf16.to_str().unwrap(), &["--arith", "bf16", "--weights-in-format"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let config = train_config(&bf16);
    assert_eq!(config["arith"]["format"], "bf16", "{config}");
    assert_eq!(config["weights_in_format"], true);
    let fxp = dir.join("fxp16");
    let out = train(fxp.to_str().unwrap(), &["--arith", "fxp16"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("fxp16 Q format from the first training sequences"), "{}", stderr(&out));
    let config = train_config(&fxp);
    assert_eq!(config["arith"]["format"], "fxp16");
    assert_eq!(config["calibrate_q_format"], false);
    assert!(config["arith"]["q"]["weights"].as_u64().unwrap() > 0, "{config}");
}

#[test]
fn bad_arithmetic_flags_give_one_error_line() {
    let dir = Scratch::new();
    let run = dir.join("run");
    let run = run.to_str().unwrap();
    for (extra, needle) in [
        (&["--arith", "fp8"][..], "invalid value 'fp8' for '--arith"),
        (&["--arith", "fxp16", "--q-format", "8,8"][..], "three fraction-bit counts"),
        (&["--arith", "bf16", "--q-format", "8,8,8"][..], "--q-format applies to --arith fxp16"),
        (&["--arith", "bf16", "--dense"][..], "Delta network"),
        (&["--weights-in-format"][..], "needs an arithmetic"),
        // W delta with 28 fraction bits holds +-1.2e-4: the first step overflows.
        (&["--arith", "fxp16", "--q-format", "14,14,10"][..], "fxp16 overflow in training epoch 1, batch 1"),
    ] {
        assert_only_error(&train(run, extra), needle);
    }
}

#[test]
fn sweep_trains_each_arithmetic_and_reports_the_accelerators_time() {
    let dir = Scratch::new();
    let out = dir.join("sweep");
    let args = [
        "sweep",
        "--data",
        tiny_corpus().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--thetas",
        "0.1",
        "--arith",
        "f32,bf16,fxp16",
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--layers",
        "1",
        "--batch",
        "8",
        "--threads",
        "2",
        "--early-stop",
        "0",
    ];
    let run = deltarnn(&args);
    assert!(run.status.success(), "{}", stderr(&run));
    let md = std::fs::read_to_string(out.join("sweep.md")).unwrap();
    assert!(md.contains("accelerator cycles per sequence"), "{md}");
    for arith in ["| 0.1 | f32 |", "| 0.1 | bf16 |", "| 0.1 | fxp16 |", "| dense | f32 |"] {
        assert!(md.contains(arith), "{arith} missing:\n{md}");
    }
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(rows.len(), 4);
    let dense = rows[0]["accelerator_cycles_per_sequence"].as_f64().unwrap();
    for r in &rows[1..] {
        let sparse = r["accelerator_cycles_per_sequence"].as_f64().unwrap();
        assert!(sparse > 0.0 && sparse < dense, "{r}");
    }
    assert!(out.join("sweep-accelerator.png").exists());
    assert!(out.join("lstm-theta-0.1-fxp16/metrics.json").exists());
    // A Q format that cannot hold the values stops that run, not the sweep.
    let narrow = dir.join("narrow");
    let mut args = args.to_vec();
    args[4] = narrow.to_str().unwrap();
    args[8] = "fxp16";
    args.extend(["--q-format", "14,14,10"]);
    let run = deltarnn(&args);
    assert!(run.status.success(), "{}", stderr(&run));
    let md = std::fs::read_to_string(narrow.join("sweep.md")).unwrap();
    assert!(md.contains("lstm-theta-0.1-fxp16 stopped: fxp16 overflow in training epoch 1"), "{md}");
    assert!(md.contains("| lstm | 0.1 | fxp16 | stopped |") && !md.contains("NaN"), "{md}");
}
