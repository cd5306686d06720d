//! A small espeak-ng corpus end to end: synthesize, check the layout, load it.
use deltarnn::data::{dataset_stats, load_dataset, DatasetKind, LoadOptions};
use deltarnn::synth::{synthesize, SynthOptions};
use deltarnn::Error;

#[test]
fn a_tiny_corpus_is_deterministic_speaker_disjoint_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let options = SynthOptions { n_speakers: 3, utterances_per_speaker: 4, seed: 9, ..SynthOptions::default() };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let summary = synthesize(&a, &options, |_| {}).unwrap();
    synthesize(&b, &options, |_| {}).unwrap();
    assert_eq!(summary.n_utterances, [4, 4, 4]);
    for rel in ["data/train_data.csv", "wavs/speakers/spk000/spk000_0003.wav"] {
        assert_eq!(std::fs::read(a.join(rel)).unwrap(), std::fs::read(b.join(rel)).unwrap(), "{rel}");
    }
    let csv = std::fs::read_to_string(a.join("data/valid_data.csv")).unwrap();
    assert!(csv.starts_with(",path,speakerId,transcription,action,object,location\n0,wavs/speakers/"));

    let stats = dataset_stats(&a, None, |_| {}).unwrap();
    assert_eq!(stats.kind, DatasetKind::FluentSpeechCommands);
    assert!(stats.shared_speakers.is_empty());
    assert!(stats.splits.iter().all(|s| s.n_speakers == 1 && s.min_seconds > 0.5));

    let dataset = load_dataset(&a, &LoadOptions::default(), |_| {}).unwrap();
    assert!(dataset.skipped.is_empty());
    for example in &dataset.train.examples {
        let speech = example.frame_labels.iter().filter(|&&l| l != 0).count();
        // The padding is 0.05-0.4 s on each side, so speech fills most but not all of the clip.
        assert!(speech > example.n_frames / 3 && speech < example.n_frames, "{speech} of {}", example.n_frames);
    }

    // Refuses to write over an existing corpus.
    let err = synthesize(&a, &options, |_| {}).unwrap_err();
    assert!(matches!(err, Error::Dataset { .. }), "{err}");
}

#[test]
fn a_missing_espeak_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let options = SynthOptions { espeak: "/nonexistent/espeak-ng".into(), ..SynthOptions::default() };
    let err = synthesize(dir.path(), &options, |_| {}).unwrap_err().to_string();
    assert!(err.contains("apt-get install espeak-ng"), "{err}");
}
