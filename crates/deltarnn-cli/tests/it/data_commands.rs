//! The binary end to end: synth -> data stats -> features, and one-line errors.

use crate::util::{deltarnn, ok_stdout};

#[test]
fn synth_then_stats_then_features() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    let corpus = corpus.to_str().unwrap();
    let out = deltarnn(&["synth", "--out", corpus, "--speakers", "3", "--utterances-per-speaker", "31"]);
    assert!(ok_stdout(&out).starts_with("wrote 93 utterances (31 train / 31 valid / 31 test"));

    let stats: serde_json::Value =
        serde_json::from_str(&ok_stdout(&deltarnn(&["data", "stats", corpus, "--json"]))).unwrap();
    assert_eq!(stats["kind"], "fluent-speech-commands");
    assert_eq!(stats["classes"].as_array().unwrap().len(), 31);
    assert_eq!(stats["shared_speakers"].as_array().unwrap().len(), 0);
    for split in stats["splits"].as_array().unwrap() {
        assert_eq!(split["n_files"], 31);
        assert_eq!(split["n_classes"], 31);
        assert_eq!(split["n_speakers"], 1);
    }
    let table = ok_stdout(&deltarnn(&["data", "stats", corpus]));
    assert!(table.contains("31 classes") && table.contains("splits are speaker-disjoint"), "{table}");

    let first = ok_stdout(&deltarnn(&["features", "--data", corpus]));
    assert!(first.contains("31 classes") && first.contains("cache built"), "{first}");
    let second = ok_stdout(&deltarnn(&["features", "--data", corpus]));
    assert_eq!(second.matches("cache reused").count(), 3, "{second}");
}

#[test]
fn errors_are_one_line_with_their_causes() {
    let out = deltarnn(&["data", "stats", "/nonexistent/corpus"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: reading dataset /nonexistent/corpus: /nonexistent/corpus: "), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("c");
    let out = deltarnn(&["synth", "--out", out_dir.to_str().unwrap(), "--espeak", "/no/espeak-ng"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("apt-get install espeak-ng"), "{stderr}");
}
