//! Numerical faults and concurrent writers: a non-finite input is reported with its file, epoch
//! and batch while the last good checkpoint stays; a folder locked by a live process is refused.
use std::collections::BTreeMap;

use deltarnn::data::{load_dataset, CacheStatus, LoadOptions, Split};
use deltarnn::nn::{init_params, CellKind, ModelConfig};
use deltarnn::train::run::{RunDir, MODEL_FILE};
use deltarnn::train::{fit, Event, TrainConfig, TrainState};
use deltarnn::{Error, Thresholds};

use super::trainer::{toy_set, Toy};
use super::util::write_tone;

/// Toy utterances named like files of a speaker folder.
fn named_set(seed: u64, n: usize) -> Vec<Toy> {
    let mut set = toy_set(seed, n);
    for (i, t) in set.iter_mut().enumerate() {
        t.name = format!("spk/{i}.wav");
    }
    set
}

#[test]
fn a_nan_input_names_its_file_frame_epoch_and_batch_and_the_saved_model_stays() {
    let model_config = ModelConfig {
        cell: CellKind::Gru,
        n_features: 4,
        n_layers: 1,
        n_hidden: 8,
        n_classes: 4,
        thresholds: Thresholds::both(0.1),
    };
    let config = TrainConfig { epochs: 1, batch_size: 8, seed: 3, threads: 2, ..TrainConfig::default() };
    let mut model = init_params::<f32>(&model_config, 1).unwrap();
    let (mut train, valid) = (named_set(1, 32), named_set(2, 8));
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::open(dir.path()).unwrap();
    let mut state = TrainState::new(&model, &config);
    let save = |event: Event<'_>| match event {
        Event::Epoch { model, state, .. } => {
            run.save_model(model, &BTreeMap::new())?;
            run.save_state(model, state, &config)
        }
        Event::Batch { .. } => Ok(()),
    };
    fit(&mut model, &mut state, &config, &train, &valid, save).unwrap();
    let good_model = std::fs::read(run.path(MODEL_FILE)).unwrap();

    // One frame of one utterance becomes NaN (a corrupt feature file would do this).
    train[17].frames[5] = f32::NAN;
    let config = TrainConfig { epochs: 2, ..config };
    let err = fit(&mut model, &mut state, &config, &train, &valid, |event| match event {
        Event::Epoch { model, .. } => run.save_model(model, &BTreeMap::new()),
        Event::Batch { .. } => Ok(()),
    })
    .unwrap_err();
    let message = err.to_string();
    match &err {
        Error::NonFiniteInput { utterance, frame: 1, feature: 1, context, .. } => {
            assert_eq!(utterance, "spk/17.wav");
            assert!(context.starts_with("training epoch 2, batch "), "{message}");
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(message.starts_with("spk/17.wav: input frame 1, feature 1 is not finite (NaN)"), "{message}");
    assert!(model.params.all_finite(), "the bad batch must not be applied");
    assert_eq!(std::fs::read(run.path(MODEL_FILE)).unwrap(), good_model, "the last good model stays");
}

/// A keyword-CSV dataset of two tones.
fn tones(root: &std::path::Path) {
    let mut csv = String::from("path,speaker,keyword\n");
    for (i, (word, freq)) in
        [("low", 300.0), ("high", 3000.0), ("low", 350.0), ("high", 2500.0)].into_iter().enumerate()
    {
        let rel = format!("{word}/{i}.wav");
        write_tone(&root.join(&rel), freq, 16000, 0.4);
        csv.push_str(&format!("{rel},s1,{word}\n"));
    }
    std::fs::write(root.join("train.csv"), csv).unwrap();
}

#[test]
fn a_cache_folder_in_use_is_refused_for_writing_but_read_when_valid() {
    let dir = tempfile::tempdir().unwrap();
    tones(dir.path());
    let cache_dir = dir.path().join("cache");
    let options = LoadOptions { cache_dir: Some(cache_dir.clone()), ..LoadOptions::default() };
    // A live process (pid 1) holds the cache folder: building is refused with "in use".
    std::fs::create_dir_all(&cache_dir).unwrap();
    std::fs::write(cache_dir.join(".lock"), "1").unwrap();
    let err = load_dataset(dir.path(), &options, |_| {}).unwrap_err();
    assert!(matches!(err, Error::InUse { .. }), "{err}");
    assert!(err.to_string().contains("cache is in use by process 1"), "{err}");
    // A lock left by a process that is gone is taken over, and released afterwards.
    std::fs::write(cache_dir.join(".lock"), "4294967295").unwrap();
    let built = load_dataset(dir.path(), &options, |_| {}).unwrap();
    assert_eq!(built.cache[0], (Split::Train, CacheStatus::Built));
    assert!(!cache_dir.join(".lock").exists());
    // Reading a valid cache needs no lock: files are replaced whole and checksummed.
    std::fs::write(cache_dir.join(".lock"), "1").unwrap();
    let again = load_dataset(dir.path(), &options, |_| {}).unwrap();
    assert_eq!(again.cache[0], (Split::Train, CacheStatus::Hit));
    assert_eq!(again.train, built.train);
}
