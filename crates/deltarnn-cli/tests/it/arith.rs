//! `train --arith`: the Delta network's matrix products in the accelerator's arithmetic, end to
//! end on the tiny synthesized corpus (needs espeak-ng, as `training` does).

use crate::fixtures::tiny_corpus;
use crate::util::{assert_only_error, deltarnn, stderr, Scratch};

fn train<'a>(out: &'a str, extra: &[&'a str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "--data",
        tiny_corpus().to_str().unwrap(),
        "--out",
        out,
        "--epochs",
        "2",
        "--hidden",
        "16",
        "--layers",
        "1",
        "--batch",
        "8",
        "--threads",
        "2",
        "--seed",
        "4",
        "--early-stop",
        "0",
    ];
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
