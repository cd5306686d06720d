//! The `sequences` layout: any time series, not only audio. A folder holds one safetensors file
//! per split, `train.safetensors` (required), `valid.safetensors` and `test.safetensors`
//! (optional), each with:
//!
//! | tensor | dtype | shape | meaning |
//! |---|---|---|---|
//! | `features` | F32 or F64 | (frames, F) | every sequence's frames, one after the other |
//! | `lengths` | I64 or I32 | (N) | frames of each sequence, at least 1, summing to `frames` |
//! | `labels` | I64 or I32 | (N) | a class per sequence, `0..C` (every frame is that class) |
//! | `frame_labels` | I64 or I32 | (frames) | or a class per frame, `0..C`, or -1 for background |
//!
//! Exactly one of `labels` and `frame_labels`. The optional string metadata `classes` is a JSON
//! list of the C class names (default: "0", "1", ...). A model's class 0 is background
//! ([`super::LabelMap::SILENCE`], what the audio layouts call silence), so class `k` of the file is
//! the model's `k + 1` and a frame label -1 the model's 0. A frame-labelled sequence's own label
//! (for utterance accuracy) is its most frequent labelled class (ties: the smaller), and it needs
//! at least one labelled frame. Frames are normalised per feature with the mean and deviation of
//! the training split, stored with the model as for audio.

use std::path::Path;

use super::{Dataset, DatasetKind, Example, FeatureSplit, LabelMap, Split};
use crate::audio::{FeatureConfig, Normalizer};
use crate::tensorfile::{self, NamedTensor};
use crate::{Error, Protocol, Result};
use safetensors::tensor::Dtype;

/// The features tensor.
pub const FEATURES: &str = "features";
/// Frames per sequence.
pub const LENGTHS: &str = "lengths";
/// A class per sequence.
pub const LABELS: &str = "labels";
/// A class per frame (-1: background).
pub const FRAME_LABELS: &str = "frame_labels";
/// The metadata key of the class names (a JSON list).
pub const CLASSES: &str = "classes";

/// The file of `split` in a sequences folder.
pub fn split_file(dir: &Path, split: Split) -> std::path::PathBuf {
    dir.join(format!("{}.safetensors", split.name()))
}

/// True when `dir` holds a sequences dataset (its training file).
pub fn is_sequences_folder(dir: &Path) -> bool {
    split_file(dir, Split::Train).is_file()
}

/// One sequence as stored: raw frames and its labels as the file's classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    /// `frames x F`, row-major, as stored (not normalised).
    pub frames: Vec<f32>,
    /// Per sequence or per frame.
    pub labels: SequenceLabels,
}

/// A sequence's labels, as the file's classes `0..C`.
#[derive(Debug, Clone, PartialEq)]
pub enum SequenceLabels {
    /// One class for the whole sequence.
    Sequence(usize),
    /// A class per frame, `None` for background.
    Frames(Vec<Option<usize>>),
}

/// One split file's contents.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceFile {
    /// Features per frame.
    pub n_features: usize,
    /// The sequences in file order.
    pub sequences: Vec<Sequence>,
    /// The class names, when the file names them.
    pub classes: Option<Vec<String>>,
}

impl SequenceFile {
    /// Classes the labels need: one more than the largest label (0 without labels).
    pub fn classes_used(&self) -> usize {
        self.sequences.iter().filter_map(Self::largest).max().map_or(0, |c| c + 1)
    }

    /// Checks what the tensors' shapes cannot: at least one sequence, whole frames of finite
    /// values, a labelled frame in every frame-labelled sequence, and every label below
    /// `classes` (or below the number of names the file gives). The message names the sequence.
    pub fn check(&self, classes: Option<usize>) -> std::result::Result<(), String> {
        if self.n_features == 0 {
            return Err("no feature per frame".into());
        }
        if self.sequences.is_empty() {
            return Err("no sequence".into());
        }
        for (i, s) in self.sequences.iter().enumerate() {
            let frames = s.frames.len() / self.n_features;
            if frames == 0 || s.frames.len() % self.n_features != 0 {
                return Err(format!(
                    "sequence {i} has {} values, not a whole number (at least 1) of frames of {} features",
                    s.frames.len(),
                    self.n_features
                ));
            }
            if let Some(message) = non_finite(i, &s.frames, self.n_features) {
                return Err(message);
            }
            if let SequenceLabels::Frames(labels) = &s.labels {
                if labels.len() != frames {
                    return Err(format!("sequence {i} has {} frame labels for {frames} frames", labels.len()));
                }
                if labels.iter().all(Option::is_none) {
                    return Err(format!("sequence {i} has only background frames (-1); label at least one"));
                }
            }
        }
        let (limit, what) = match (classes, &self.classes) {
            (Some(n), _) => (n, "the model has".to_string()),
            (None, Some(names)) => (names.len(), format!("'{CLASSES}' names only")),
            (None, None) => return Ok(()),
        };
        let used = self.classes_used();
        if used > limit {
            let i = self.sequences.iter().position(|s| Self::largest(s) == Some(used - 1)).unwrap_or(0);
            return Err(format!("sequence {i} has label {} but {what} {limit} classes", used - 1));
        }
        Ok(())
    }

    fn largest(s: &Sequence) -> Option<usize> {
        match &s.labels {
            SequenceLabels::Sequence(c) => Some(*c),
            SequenceLabels::Frames(f) => f.iter().flatten().max().copied(),
        }
    }

    /// The sequences as training examples: frames normalised by `normalizer`, the file's class
    /// k as the model's k + 1 and background as 0 (module docs); paths `{prefix}#{index}`.
    pub fn examples(&self, prefix: &str, normalizer: &Normalizer) -> Vec<Example> {
        let n_features = self.n_features;
        self.sequences
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let n_frames = s.frames.len() / n_features;
                let (label, frame_labels) = match &s.labels {
                    SequenceLabels::Sequence(c) => (c + 1, vec![(c + 1) as i64; n_frames]),
                    SequenceLabels::Frames(f) => {
                        (majority(f) + 1, f.iter().map(|c| c.map_or(0, |c| c as i64 + 1)).collect())
                    }
                };
                let mut frames = s.frames.clone();
                normalizer.apply(&mut frames);
                Example { path: format!("{prefix}#{i}"), speaker: String::new(), label, n_frames, frames, frame_labels }
            })
            .collect()
    }

    /// The file's bytes (labels per sequence when every sequence has one, else per frame).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let frames: usize = self.sequences.iter().map(|s| s.frames.len() / self.n_features.max(1)).sum();
        let features: Vec<f32> = self.sequences.iter().flat_map(|s| s.frames.iter().copied()).collect();
        let lengths: Vec<i64> =
            self.sequences.iter().map(|s| (s.frames.len() / self.n_features.max(1)) as i64).collect();
        let per_sequence: Option<Vec<i64>> = self
            .sequences
            .iter()
            .map(|s| match s.labels {
                SequenceLabels::Sequence(c) => Some(c as i64),
                SequenceLabels::Frames(_) => None,
            })
            .collect();
        let floats: Vec<NamedTensor> = vec![(FEATURES.into(), vec![frames, self.n_features], features)];
        let mut ints = vec![(LENGTHS.to_string(), vec![lengths.len()], lengths)];
        match per_sequence {
            Some(labels) => ints.push((LABELS.into(), vec![labels.len()], labels)),
            None => {
                let per_frame: Vec<i64> = self
                    .sequences
                    .iter()
                    .flat_map(|s| {
                        let n = s.frames.len() / self.n_features.max(1);
                        match &s.labels {
                            SequenceLabels::Sequence(c) => vec![*c as i64; n],
                            SequenceLabels::Frames(f) => f.iter().map(|c| c.map_or(-1, |c| c as i64)).collect(),
                        }
                    })
                    .collect();
                ints.push((FRAME_LABELS.into(), vec![per_frame.len()], per_frame));
            }
        }
        let metadata = self.classes.as_ref().map(|names| {
            std::collections::HashMap::from([(CLASSES.to_string(), serde_json::to_string(names).expect("strings"))])
        });
        tensorfile::mixed_to_bytes(&floats, &ints, metadata)
    }

    /// Writes the file whole or not at all.
    pub fn write(&self, path: &Path) -> Result<()> {
        crate::files::write_atomic(path, &self.to_bytes()?)
    }
}

/// Reads and checks one split file.
pub fn read_split(path: &Path) -> Result<SequenceFile> {
    split_from_bytes(path, &tensorfile::read_bytes(path)?)
}

/// [`read_split`] on bytes in memory; `path` only names the file in errors.
pub fn split_from_bytes(path: &Path, bytes: &[u8]) -> Result<SequenceFile> {
    let bad = |reason: String| Error::Dataset { path: path.to_path_buf(), reason };
    let st = tensorfile::parse(path, bytes)?;
    let known = [FEATURES, LENGTHS, LABELS, FRAME_LABELS];
    if let Some(unknown) = st.names().into_iter().find(|n| !known.contains(&n.as_str())) {
        return Err(bad(format!("unknown tensor '{unknown}' (a sequences file holds {})", known.join(", "))));
    }
    let frames = frames_of(path, &st)?;
    let (total_frames, lengths) = (frames.total_frames, &frames.lengths);
    let label_of = |i: usize, v: i64, background: bool| -> Result<Option<usize>> {
        match v {
            -1 if background => Ok(None),
            v if v >= 0 => Ok(Some(v as usize)),
            v => Err(bad(format!(
                "sequence {i} has label {v}; labels are classes 0, 1, ...{}",
                if background { " or -1 (background)" } else { "" }
            ))),
        }
    };
    let per_sequence = ints(path, &st, LABELS)?;
    let per_frame = ints(path, &st, FRAME_LABELS)?;
    let labels: Vec<SequenceLabels> = match (per_sequence, per_frame) {
        (Some(_), Some(_)) => return Err(bad(format!("give '{LABELS}' or '{FRAME_LABELS}', not both"))),
        (None, None) => return Err(bad(format!("no '{LABELS}' (per sequence) or '{FRAME_LABELS}' (per frame)"))),
        (Some(labels), None) => {
            if labels.len() != lengths.len() {
                return Err(bad(format!("{} labels for {} sequences", labels.len(), lengths.len())));
            }
            let classes = labels.iter().enumerate().map(|(i, &v)| label_of(i, v, false));
            classes.map(|c| c.map(|c| SequenceLabels::Sequence(c.expect("no background")))).collect::<Result<_>>()?
        }
        (None, Some(frame_labels)) => {
            if frame_labels.len() != total_frames {
                return Err(bad(format!("{} frame labels for {total_frames} frames", frame_labels.len())));
            }
            let per_sequence = frames.spans().enumerate().map(|(i, span)| {
                let classes = frame_labels[span].iter().map(|&v| label_of(i, v, true));
                classes.collect::<Result<Vec<_>>>().map(SequenceLabels::Frames)
            });
            per_sequence.collect::<Result<_>>()?
        }
    };
    let classes = match st.metadata().get(CLASSES) {
        None => None,
        Some(json) => Some(
            serde_json::from_str::<Vec<String>>(json)
                .map_err(|e| bad(format!("metadata '{CLASSES}' is not a JSON list of names ({e})")))?,
        ),
    };
    // f64 values beyond f32's range become infinities, which the check below refuses.
    let sequences =
        frames.sequences().into_iter().zip(labels).map(|(frames, labels)| Sequence { frames, labels }).collect();
    let file = SequenceFile { n_features: frames.n_features, sequences, classes };
    file.check(None).map_err(bad)?;
    Ok(file)
}

/// A sequences file's frames: the features tensor and the lengths, checked against each other.
struct Frames {
    n_features: usize,
    total_frames: usize,
    lengths: Vec<i64>,
    /// total_frames x n_features, row-major.
    values: Vec<f64>,
}

impl Frames {
    /// Each sequence's range of frames.
    fn spans(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        self.lengths.iter().scan(0usize, |start, &n| {
            let span = *start..*start + n as usize;
            *start = span.end;
            Some(span)
        })
    }

    /// Each sequence's frames as f32, row-major.
    fn sequences(&self) -> Vec<Vec<f32>> {
        let n = self.n_features;
        self.spans().map(|span| self.values[span.start * n..span.end * n].iter().map(|&v| v as f32).collect()).collect()
    }
}

fn frames_of(path: &Path, st: &tensorfile::Parsed<'_>) -> Result<Frames> {
    let bad = |reason: String| Error::Dataset { path: path.to_path_buf(), reason };
    let features = st.tensor(FEATURES).ok_or_else(|| bad(format!("no '{FEATURES}' tensor (frames x features)")))?;
    let &[total_frames, n_features] = features.shape() else {
        return Err(bad(format!("'{FEATURES}' has shape {:?}, expected (frames, features)", features.shape())));
    };
    if n_features == 0 {
        return Err(bad(format!("'{FEATURES}' has no feature per frame")));
    }
    let values = tensorfile::floats(path, FEATURES, &features)?;
    let lengths =
        ints(path, st, LENGTHS)?.ok_or_else(|| bad(format!("no '{LENGTHS}' tensor (frames per sequence)")))?;
    if lengths.is_empty() {
        return Err(bad("no sequence ('lengths' is empty)".into()));
    }
    if let Some(i) = lengths.iter().position(|&n| n < 1) {
        return Err(bad(format!("sequence {i} has length {}; every sequence needs at least 1 frame", lengths[i])));
    }
    let sum: i64 = lengths.iter().sum();
    if sum != total_frames as i64 {
        return Err(bad(format!("the lengths sum to {sum} frames, '{FEATURES}' has {total_frames}")));
    }
    Ok(Frames { n_features, total_frames, lengths, values })
}

/// The sequences of a file with `features` and `lengths` (labels, if any, are not read): for
/// classifying new data (`deltarnn infer`). Returns the features per frame and each sequence's
/// frames (row-major, as stored), every value checked finite.
pub fn read_features(path: &Path) -> Result<(usize, Vec<Vec<f32>>)> {
    let bytes = tensorfile::read_bytes(path)?;
    let st = tensorfile::parse(path, &bytes)?;
    let frames = frames_of(path, &st)?;
    let sequences = frames.sequences();
    check_finite(&sequences, frames.n_features)
        .map_err(|reason| Error::Dataset { path: path.to_path_buf(), reason })?;
    Ok((frames.n_features, sequences))
}

/// The message naming the first non-finite value of sequence `index` (frames x `n_features`,
/// row-major), if it has one.
pub fn non_finite(index: usize, frames: &[f32], n_features: usize) -> Option<String> {
    let k = frames.iter().position(|v| !v.is_finite())?;
    let n = n_features.max(1);
    Some(format!("sequence {index} has a non-finite value at frame {}, feature {}", k / n, k % n))
}

/// Checks that every value of `sequences` (each frames x `n_features`) is finite; the message
/// names the first that is not ([`non_finite`]).
pub fn check_finite(sequences: &[Vec<f32>], n_features: usize) -> std::result::Result<(), String> {
    match sequences.iter().enumerate().find_map(|(i, frames)| non_finite(i, frames, n_features)) {
        Some(message) => Err(message),
        None => Ok(()),
    }
}

/// The integer tensor `name` as a flat list, if the file has it (1-D only).
fn ints(path: &Path, st: &tensorfile::Parsed<'_>, name: &str) -> Result<Option<Vec<i64>>> {
    let Some(view) = st.tensor(name) else {
        return Ok(None);
    };
    if view.shape().len() != 1 {
        return Err(Error::Dataset {
            path: path.to_path_buf(),
            reason: format!("'{name}' has shape {:?}, expected one dimension", view.shape()),
        });
    }
    if !matches!(view.dtype(), Dtype::I64 | Dtype::I32) {
        return Err(Error::Dataset {
            path: path.to_path_buf(),
            reason: format!("'{name}' has dtype {:?}, expected I64 or I32", view.dtype()),
        });
    }
    Ok(Some(tensorfile::int_values(&view)))
}

/// Loads a sequences folder (module docs) as a [`Dataset`]: the three splits (valid and test
/// may be missing), the class names (the training file's, else numbers), the normaliser fitted
/// on train unless `normalizer` is given, and the frame labels as the model's classes.
/// `labels` (a trained model's) must name the same classes. [`Dataset::feature_config`] then
/// only carries the feature count (its `n_mels`). `raw_frames` leaves the frames unnormalised
/// ([`super::LoadOptions::raw_frames`]).
pub fn load_sequences(
    dir: &Path,
    labels: Option<&LabelMap>,
    normalizer: Option<&Normalizer>,
    raw_frames: bool,
) -> Result<Dataset> {
    let mut files = Vec::new();
    for split in Split::ALL {
        let path = split_file(dir, split);
        files.push(match (split, path.is_file()) {
            (Split::Train, false) => {
                return Err(Error::Dataset { path, reason: "a sequences dataset needs its training file".into() })
            }
            (_, false) => None,
            (_, true) => Some((path.clone(), read_split(&path)?)),
        });
    }
    let (train_path, train) = files[0].as_ref().expect("checked above");
    let n_features = train.n_features;
    for (path, file) in files.iter().flatten() {
        if file.n_features != n_features {
            return Err(Error::Dataset {
                path: path.clone(),
                reason: format!("{} features per frame, the training file has {n_features}", file.n_features),
            });
        }
    }
    let used = files.iter().flatten().map(|(_, f)| f.classes_used()).max().unwrap_or(0);
    let names = match &train.classes {
        Some(names) => names.clone(),
        None => (0..used).map(|c| c.to_string()).collect(),
    };
    if used > names.len() {
        return Err(Error::Dataset {
            path: dir.to_path_buf(),
            reason: format!("a label is {} but {} names only {} classes", used - 1, train_path.display(), names.len()),
        });
    }
    let label_map = LabelMap::new(names);
    if let Some(given) = labels {
        if given != &label_map {
            return Err(Error::Dataset {
                path: dir.to_path_buf(),
                reason: format!(
                    "its classes ({}) are not the model's ({})",
                    label_map.names[1..].join(", "),
                    given.names[1..].join(", ")
                ),
            });
        }
    }
    let normalizer = match normalizer {
        Some(n) => n.clone(),
        None => {
            let frames: Vec<f32> = train.sequences.iter().flat_map(|s| s.frames.iter().copied()).collect();
            Normalizer::fit(n_features, [&frames[..]])
        }
    };
    let identity = Normalizer::identity(n_features);
    let applied = if raw_frames { &identity } else { &normalizer };
    let mut splits = files.iter().zip(Split::ALL).map(|(file, split)| match file {
        None => FeatureSplit { n_features, examples: Vec::new() },
        Some((_, file)) => {
            FeatureSplit { n_features, examples: file.examples(&format!("{}.safetensors", split.name()), applied) }
        }
    });
    let (train, valid, test) = (splits.next().expect("3"), splits.next().expect("3"), splits.next().expect("3"));
    Ok(Dataset {
        kind: DatasetKind::Sequences,
        labels: label_map,
        feature_config: FeatureConfig { n_mels: n_features, ..FeatureConfig::default() },
        normalizer,
        protocol: Protocol::Ours,
        train,
        valid,
        test,
        skipped: Vec::new(),
        cache: Vec::new(),
    })
}

/// The most frequent labelled class (ties: the smaller); at least one frame is labelled.
fn majority(frames: &[Option<usize>]) -> usize {
    let mut counts = std::collections::BTreeMap::new();
    for c in frames.iter().flatten() {
        *counts.entry(*c).or_insert(0usize) += 1;
    }
    let best = counts.values().copied().max().expect("a labelled frame");
    counts.into_iter().find(|&(_, n)| n == best).expect("the maximum is a count").0
}
