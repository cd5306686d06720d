//! `deltarnn learn` end to end on a tiny generated keyword dataset (tones as keywords, keyword
//! CSV layout): the table, incremental.json, the plot, online and audio modes, and one-line errors.

use crate::fixtures::{gsc_tones, tone_keywords};
use crate::util::deltarnn;
use std::path::Path;
use std::process::Output;

fn learn(data: &Path, cache: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "learn",
        "--data",
        data.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--batch",
        "4",
        "--threads",
        "2",
    ];
    if !extra.contains(&"--memory") {
        args.extend_from_slice(&["--memory", "8"]);
    }
    args.extend_from_slice(extra);
    deltarnn(&args)
}

#[test]
fn learn_runs_delta_and_dense_and_writes_json_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kw");
    tone_keywords(&data);
    let (cache, out) = (dir.path().join("cache"), dir.path().join("run"));
    let result = learn(&data, &cache, &out, &["--base", "2", "--step", "1", "--classes", "top,low,mid,high"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let stdout = String::from_utf8(result.stdout).unwrap();
    assert!(stdout.contains("order top,low,mid,high"), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("delta ")).count(), 3, "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("dense ")).count(), 3, "{stdout}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("incremental.json")).unwrap()).unwrap();
    assert_eq!(json["class_order"], serde_json::json!(["top", "low", "mid", "high"]));
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for run in runs {
        let increments = run["increments"].as_array().unwrap();
        assert_eq!(increments.len(), 3);
        assert_eq!(increments[2]["classes_seen"], 4);
        for key in ["accuracy", "new_accuracy", "train_ops", "train_ops_dense", "seconds_per_update", "memory_bytes"] {
            assert!(increments[2][key].is_number(), "{key} missing");
        }
        assert!(increments[2]["old_accuracy"].is_number());
        assert!(increments[0]["old_accuracy"].is_null());
    }
    assert!(json["comparison"]["difference_points"].is_number());
    assert!(std::fs::metadata(out.join("incremental.png")).unwrap().len() > 0);

    // Online mode (batch 1), Delta only, audio exemplars: same schedule, smaller memory in bytes.
    let online = dir.path().join("online");
    let result = learn(
        &data,
        &cache,
        &online,
        &["--base", "2", "--step", "2", "--online", "--compare-dense", "false", "--storage", "audio", "--json"],
    );
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let json: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 1);
    let last = &json["runs"][0]["increments"][1];
    // The default (authors') protocol splits 8 over 4 classes and silence: int(8 / 5) = 1 each.
    assert_eq!(last["memory_utterances"], 4);
    // 0.6 s of 16-bit audio at 16 kHz per exemplar.
    assert_eq!(last["memory_bytes"], 4 * 9600 * 2);
    assert_eq!(json["runs"][0]["config"]["train"]["batch_size"], 1);
}

#[test]
fn learn_trains_herds_and_scores_in_the_accelerators_arithmetic() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kw");
    tone_keywords(&data);
    let cache = dir.path().join("cache");
    let base = ["--base", "2", "--step", "2", "--compare-dense", "false"];
    let bf16 = dir.path().join("bf16");
    let result = learn(&data, &cache, &bf16, &[&base[..], &["--arith", "bf16", "--weights-in-format"]].concat());
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let stdout = String::from_utf8(result.stdout).unwrap();
    assert!(stdout.contains("matrix products in bf16 (weights in the format)"), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("delta ")).count(), 2, "{stdout}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bf16.join("incremental.json")).unwrap()).unwrap();
    assert_eq!(json["arith"], "bf16");
    assert_eq!(json["runs"][0]["config"]["train"]["arith"]["format"], "bf16");
    assert_eq!(json["runs"][0]["config"]["train"]["weights_in_format"], true);

    // FXP16 with the Q format from the data, and the dense baseline beside it in f32.
    let fxp16 = dir.path().join("fxp16");
    let result = learn(&data, &cache, &fxp16, &["--base", "2", "--step", "2", "--arith", "fxp16", "--json"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let json: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let (delta, dense) = (&json["runs"][0]["config"]["train"], &json["runs"][1]["config"]["train"]);
    assert_eq!(delta["arith"]["format"], "fxp16");
    assert_eq!(delta["calibrate_q_format"], false, "resolved before the run");
    assert!(delta["arith"]["q"]["weights"].as_u64().unwrap() > 0, "{delta}");
    assert!(dense["arith"].is_null(), "the dense baseline stays f32: {dense}");
}

#[test]
fn bad_learn_inputs_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kw");
    tone_keywords(&data);
    let (cache, out) = (dir.path().join("cache"), dir.path().join("run"));
    let cases: [(&[&str], &str); 8] = [
        (&["--base", "5", "--step", "1"], "base of 5 classes is larger than the 4 classes available"),
        (&["--base", "2", "--step", "0"], "step must be at least 1 when 2 classes remain after the base"),
        (&["--base", "1", "--step", "1", "--classes", "low,nope"], "\"nope\" is not a class of"),
        (&["--base", "2", "--step", "1", "--memory", "0"], "nearest-mean-of-exemplars needs a memory"),
        (&["--base", "2", "--step", "1", "--arith", "fp8"], "invalid value 'fp8' for '--arith"),
        (&["--base", "2", "--step", "1", "--weights-in-format"], "--weights-in-format needs --arith bf16 or fxp16"),
        (
            &["--base", "2", "--step", "1", "--arith", "bf16", "--q-format", "8,8,8"],
            "--q-format applies to --arith fxp16",
        ),
        // M = W delta with 28 fraction bits holds +-1.2e-4: the first step overflows.
        (
            &["--base", "2", "--step", "1", "--arith", "fxp16", "--q-format", "14,14,10"],
            "fxp16 overflow in training epoch 1",
        ),
    ];
    for (extra, want) in cases {
        let result = learn(&data, &cache, &out, extra);
        assert!(!result.status.success(), "{extra:?} should fail");
        let stderr = String::from_utf8(result.stderr).unwrap();
        let last = stderr.lines().last().unwrap_or("");
        assert!(last.starts_with("error: ") && last.contains(want), "{extra:?}: {stderr}");
        assert_eq!(stderr.lines().filter(|l| l.starts_with("error")).count(), 1, "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// The 35 keywords of Google Speech Commands v2 in the authors' label order
/// (`data/gscdv2/label_list_10.csv`), as scripts/learn-gscd-authors.sh lists them.
const GSC_LABEL_ORDER: [&str; 35] = [
    "cat", "house", "no", "bird", "seven", "two", "zero", "follow", "stop", "go", "forward", "visual", "marvin", "on",
    "down", "tree", "sheila", "nine", "six", "left", "four", "learn", "right", "off", "one", "backward", "happy",
    "dog", "five", "three", "bed", "up", "eight", "yes", "wow",
];

#[test]
fn the_authors_gsc_protocol_runs_end_to_end_on_a_generated_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("gsc");
    // Folders in alphabetical order on disk; the script imposes the authors' order.
    let mut alphabetical = GSC_LABEL_ORDER;
    alphabetical.sort();
    gsc_tones(&data, &alphabetical, 5);
    let out = dir.path().join("run");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/learn-gscd-authors.sh");
    let result = std::process::Command::new("bash")
        .args([script, data.to_str().unwrap(), out.to_str().unwrap()])
        .env("DELTARNN", env!("CARGO_BIN_EXE_deltarnn"))
        .env("EPOCHS", "1")
        .env("MEMORY", "70")
        .env("HIDDEN", "8")
        .env("THREADS", "2")
        .env("COMPARE_DENSE", "false")
        .env("CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("incremental.json")).unwrap()).unwrap();
    let order: Vec<&str> = json["class_order"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(order, GSC_LABEL_ORDER, "the authors' class order");
    assert_eq!((json["base"].as_u64(), json["step"].as_u64()), (Some(20), Some(3)));
    let run = &json["runs"][0];
    assert_eq!(run["config"]["protocol"], "authors");
    let increments = run["increments"].as_array().unwrap();
    let seen: Vec<u64> = increments.iter().map(|r| r["classes_seen"].as_u64().unwrap()).collect();
    assert_eq!(seen, [20, 23, 26, 29, 32, 35]);
    // int(70 / 21) = 3 per class after the base task (3 training takes each), int(70 / 36) = 1 at the end.
    assert_eq!(increments[0]["memory_utterances"], 60);
    assert_eq!(increments[5]["memory_utterances"], 35);
    assert_eq!(json["scored_on"], "test");
}
