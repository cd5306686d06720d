//! `deltarnn learn` end to end on a tiny generated keyword dataset (tones as keywords, keyword
//! CSV layout): the table, incremental.json, the plot, online and audio modes, and one-line errors.

use crate::fixtures::tone_keywords;
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
    assert_eq!(last["memory_utterances"], 8);
    // 0.6 s of 16-bit audio at 16 kHz per exemplar.
    assert_eq!(last["memory_bytes"], 8 * 9600 * 2);
    assert_eq!(json["runs"][0]["config"]["train"]["batch_size"], 1);
}

#[test]
fn bad_learn_inputs_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kw");
    tone_keywords(&data);
    let (cache, out) = (dir.path().join("cache"), dir.path().join("run"));
    let cases: [(&[&str], &str); 4] = [
        (&["--base", "5", "--step", "1"], "base of 5 classes is larger than the 4 classes available"),
        (&["--base", "2", "--step", "0"], "step must be at least 1 when 2 classes remain after the base"),
        (&["--base", "1", "--step", "1", "--classes", "low,nope"], "\"nope\" is not a class of"),
        (&["--base", "2", "--step", "1", "--memory", "0"], "nearest-mean-of-exemplars needs a memory"),
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
