//! Property tests for every reader of untrusted files, the stable-toolchain twin of the fuzz
//! targets (fuzz/): arbitrary bytes and mutations of valid files must give a value or an error
//! naming the file, never a panic. Cases are capped so CI stays fast.
use std::path::Path;

use deltarnn::audio::{parse_wav, Limits};
use deltarnn::bundle::Bundle;
use deltarnn::checkpoint;
use deltarnn::data::cache::{self, CachedSplit, CachedUtterance};
use deltarnn::data::csv::Table;
use deltarnn::data::layout::{parse_fsc_csv, parse_keyword_csv, parse_list};
use deltarnn::data::Split;
use deltarnn::nn::CellKind;
use deltarnn::tensorfile::{self, float_from_bytes, int_from_bytes};
use deltarnn::train::run::state_from_bytes;
use proptest::prelude::*;

use super::small_model;
use super::util::{pcm16, wav_bytes};

const LIMITS: Limits = Limits { max_utterance_seconds: 30.0, max_file_bytes: 1 << 20 };

/// Edits applied to a valid file: overwrite a byte, cut the file, or insert bytes.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        1 => any::<usize>().prop_map(Edit::Truncate),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Edit::Insert(i, b)),
    ];
    proptest::collection::vec(edit, 1..6)
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let n = bytes.len().max(1);
        match edit {
            Edit::Set(i, b) if !bytes.is_empty() => bytes[i % n] = *b,
            Edit::Set(..) => {}
            Edit::Truncate(i) => bytes.truncate(i % n),
            Edit::Insert(i, new) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, new.iter().copied());
            }
        }
    }
    bytes
}

fn good_wav() -> Vec<u8> {
    wav_bytes(1, 1, 16000, 16, &pcm16(&[0.1, -0.2, 0.3, 0.0, 0.5, -0.5, 0.25, 0.125]), None)
}

fn good_checkpoint() -> Vec<u8> {
    let model = small_model::<f32>(CellKind::Gru, 1, 3, 2, 3, 1);
    checkpoint::to_bytes(&model, &Default::default()).unwrap()
}

fn good_tensors() -> Vec<u8> {
    tensorfile::to_bytes(&[("x".into(), vec![2, 3], vec![0.5; 6])], None).unwrap()
}

fn names_file(err: &deltarnn::Error, name: &str) -> bool {
    err.to_string().contains(name)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn wav_reader_survives_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Err(err) = parse_wav(Path::new("any.wav"), &bytes, &LIMITS) {
            prop_assert!(names_file(&err, "any.wav"), "{}", err);
        }
    }

    #[test]
    fn wav_reader_survives_edited_files(edits in edits()) {
        let bytes = apply(good_wav(), &edits);
        match parse_wav(Path::new("edited.wav"), &bytes, &LIMITS) {
            Ok(wav) => prop_assert!(wav.samples.len() <= bytes.len() && wav.samples.iter().all(|x| x.is_finite())),
            Err(err) => prop_assert!(names_file(&err, "edited.wav"), "{}", err),
        }
    }

    #[test]
    fn manifests_survive_any_text(text in "[a-z/.,\"\\n\\r ]{0,120}", header in 0usize..3) {
        let text = format!("{}{text}", ["path,speaker,keyword\n", ",path,speakerId,action,object,location\n", ""][header]);
        let path = Path::new("m.csv");
        if let Err(err) = Table::parse(path, &text) {
            prop_assert!(names_file(&err, "m.csv"), "{}", err);
        }
        for result in [parse_keyword_csv(path, &text), parse_fsc_csv(path, &text)] {
            match result {
                Ok(entries) => prop_assert!(entries.iter().all(|e| !e.rel_path.trim().is_empty()
                    && !e.rel_path.starts_with('/') && !e.rel_path.split('/').any(|c| c == ".."))),
                Err(err) => prop_assert!(names_file(&err, "m.csv"), "{}", err),
            }
        }
        let _ = parse_list(&text);
    }

    #[test]
    fn checkpoint_loaders_survive_edited_files(edits in edits()) {
        let bytes = apply(good_checkpoint(), &edits);
        let path = Path::new("edited.safetensors");
        match checkpoint::from_bytes(path, &bytes) {
            Ok((model, _)) => prop_assert!(model.params.all_finite()),
            Err(err) => prop_assert!(names_file(&err, "edited.safetensors"), "{}", err),
        }
        if let Err(err) = Bundle::from_bytes(path, &bytes) {
            prop_assert!(names_file(&err, "edited.safetensors"), "{}", err);
        }
        if let Err(err) = state_from_bytes(path, &bytes) {
            prop_assert!(names_file(&err, "edited.safetensors"), "{}", err);
        }
    }

    #[test]
    fn tensor_files_survive_edited_files(edits in edits()) {
        let bytes = apply(good_tensors(), &edits);
        let path = Path::new("edited.safetensors");
        match float_from_bytes(path, &bytes, "x") {
            Ok(t) => prop_assert_eq!(t.shape.iter().product::<usize>(), t.data.len()),
            Err(err) => prop_assert!(names_file(&err, "edited.safetensors"), "{}", err),
        }
        if let Err(err) = int_from_bytes(path, &bytes, "y") {
            prop_assert!(names_file(&err, "edited.safetensors"), "{}", err);
        }
    }

    #[test]
    fn feature_cache_refuses_every_edit(edits in edits()) {
        let split = CachedSplit {
            n_features: 2,
            utterances: vec![CachedUtterance { rel_path: "a.wav".into(), n_frames: 2 }],
            frames: vec![1.0, 2.0, 3.0, 4.0],
            skipped: vec![],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.feat");
        cache::write(&path, 7, Split::Train, &Default::default(), &split).unwrap();
        let good = std::fs::read(&path).unwrap();
        let bytes = apply(good.clone(), &edits);
        match cache::parse(Path::new("train.feat"), &bytes, 7) {
            // The checksum covers every byte, so only an edit that changed nothing passes.
            Ok(back) => prop_assert!(bytes == good && back == split),
            Err(err) => prop_assert!(names_file(&err, "train.feat"), "{}", err),
        }
    }
}
