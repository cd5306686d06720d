//! Datasets: layout detection ([`layout`]), the feature cache ([`cache`]), frame labels
//! ([`frame_labels`]) and [`load_dataset`], which ties them into a normalised [`Dataset`].
//!
//! Flow: [`layout::scan`] lists train/valid/test entries -> per split, [`cache::read`] or
//! featurize every file in parallel ([`crate::audio::featurize_file`]) and [`cache::write`] ->
//! [`Normalizer::fit`] on the train split -> frame labels from the raw frames -> normalise.
pub mod cache;
pub mod csv;
pub mod frame_labels;
pub mod layout;
pub mod sequences;
pub mod stats;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use layout::{detect, scan, DatasetKind, Entry, LabelMap, Manifest, Split};
pub use stats::{dataset_stats, DatasetStats, SplitStats};

use crate::audio::{featurize_file, FeatureConfig, Limits, LogMel, Normalizer};
use crate::files::DirLock;
use crate::{Error, Protocol, Result};
use cache::{CachedSplit, CachedUtterance};

/// What the long-running functions of this module are doing, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Computing features for a split (cache miss).
    Featurize(Split),
    /// Reading WAV headers for statistics.
    ReadHeaders(Split),
    /// Synthesizing utterances.
    Synthesize,
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Task::Featurize(split) => write!(f, "featurize {}", split.name()),
            Task::ReadHeaders(split) => write!(f, "scan {}", split.name()),
            Task::Synthesize => write!(f, "synthesize"),
        }
    }
}

/// A progress report: `done` of `total` units of `task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// What is running.
    pub task: Task,
    /// Units finished.
    pub done: usize,
    /// Units in all.
    pub total: usize,
}

/// What to do with a file that fails to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BadFilePolicy {
    /// Report it in [`Dataset::skipped`] and go on.
    #[default]
    Skip,
    /// Return its error.
    Stop,
}

/// A file left out of a dataset, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// Path relative to the dataset root.
    pub path: String,
    /// The error message (it names the file).
    pub reason: String,
}

/// How [`load_dataset`] reads a folder.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The front end.
    pub feature_config: FeatureConfig,
    /// Per-file limits.
    pub limits: Limits,
    /// Skip or stop on a bad file.
    pub on_bad_file: BadFilePolicy,
    /// Where cache files go; `None` disables the cache. See [`LoadOptions::default_cache_dir`].
    pub cache_dir: Option<PathBuf>,
    /// Force a layout instead of detecting it.
    pub kind: Option<DatasetKind>,
    /// Use this label map (e.g. a trained model's) instead of the dataset's own; a class it lacks
    /// is an error.
    pub labels: Option<LabelMap>,
    /// Use this normaliser (e.g. a trained model's) instead of fitting one on the train split.
    pub normalizer: Option<Normalizer>,
    /// Whose normalisation and frame labels to use ([`crate::protocol`]; default
    /// [`Protocol::LEGACY`], deltarnn's own).
    pub protocol: Protocol,
    /// Leave the examples' frames unnormalised ([`Dataset::normalizer`] is still fitted or
    /// given): for callers that keep the normaliser with a model and apply it themselves (the
    /// Python package).
    pub raw_frames: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            feature_config: FeatureConfig::default(),
            limits: Limits::default(),
            on_bad_file: BadFilePolicy::Skip,
            cache_dir: None,
            kind: None,
            labels: None,
            normalizer: None,
            protocol: Protocol::LEGACY,
            raw_frames: false,
        }
    }
}

impl LoadOptions {
    /// The conventional cache folder of a dataset: `<dir>/.deltarnn-cache`.
    pub fn default_cache_dir(dataset_dir: &Path) -> PathBuf {
        dataset_dir.join(".deltarnn-cache")
    }
}

/// One utterance, ready for training.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Path relative to the dataset root.
    pub path: String,
    /// Speaker identifier.
    pub speaker: String,
    /// Utterance class, in `1..labels.len()`.
    pub label: usize,
    /// Number of frames.
    pub n_frames: usize,
    /// `n_frames x n_features`, row-major, normalised.
    pub frames: Vec<f32>,
    /// Per frame: 0 for silence, else `label`.
    pub frame_labels: Vec<i64>,
}

/// The examples of one split.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureSplit {
    /// Features per frame.
    pub n_features: usize,
    /// Examples in file-list order.
    pub examples: Vec<Example>,
}

/// Whether a split came from its cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// No cache folder was given.
    Disabled,
    /// Read from a valid cache file.
    Hit,
    /// Computed and written (there was no cache file).
    Built,
    /// Computed and written; the old file was not usable for the stated reason.
    Rebuilt {
        /// Why the old file was not used.
        reason: String,
    },
    /// Computed, but the cache file could not be written (e.g. a read-only folder); the
    /// features are still returned.
    WriteFailed {
        /// The write error.
        reason: String,
    },
}

/// A loaded dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Detected layout.
    pub kind: DatasetKind,
    /// Class names; index 0 is silence.
    pub labels: LabelMap,
    /// The front end used.
    pub feature_config: FeatureConfig,
    /// The normaliser applied to every split (fitted on train unless given).
    pub normalizer: Normalizer,
    /// Whose normalisation and frame labels were used.
    pub protocol: Protocol,
    /// Training split.
    pub train: FeatureSplit,
    /// Validation split.
    pub valid: FeatureSplit,
    /// Test split (empty for keyword-CSV datasets without `test.csv`, such as asc10).
    pub test: FeatureSplit,
    /// Files left out under [`BadFilePolicy::Skip`].
    pub skipped: Vec<(Split, SkippedFile)>,
    /// How each split was obtained.
    pub cache: Vec<(Split, CacheStatus)>,
}

impl Dataset {
    /// Features per frame (the model's input size).
    pub fn n_features(&self) -> usize {
        self.feature_config.n_mels
    }

    /// Classes including silence (the model's output size).
    pub fn n_classes(&self) -> usize {
        self.labels.len()
    }

    /// The examples of `split`.
    pub fn split(&self, split: Split) -> &FeatureSplit {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }
}

/// Loads the dataset in `dir`: detects its layout, reads or builds the feature cache of each
/// split, fits the normaliser on train, and returns normalised frames with frame labels.
///
/// ```no_run
/// use std::path::Path;
/// use deltarnn::data::{load_dataset, LoadOptions};
///
/// let dir = Path::new("corpus");
/// let options = LoadOptions {
///     cache_dir: Some(LoadOptions::default_cache_dir(dir)),
///     ..LoadOptions::default()
/// };
/// let dataset = load_dataset(dir, &options, |p| eprintln!("{} {}/{}", p.task, p.done, p.total))?;
/// for example in &dataset.train.examples {
///     let frame = &example.frames[..dataset.n_features()]; // first frame, normalised
///     assert_eq!(example.frame_labels.len(), example.n_frames);
///     # let _ = frame;
/// }
/// # Ok::<(), deltarnn::Error>(())
/// ```
pub fn load_dataset(dir: &Path, options: &LoadOptions, mut progress: impl FnMut(&Progress)) -> Result<Dataset> {
    let kind = match options.kind {
        Some(kind) => kind,
        None => detect(dir)?,
    };
    if kind == DatasetKind::Sequences {
        return sequences::load_sequences(
            dir,
            options.labels.as_ref(),
            options.normalizer.as_ref(),
            options.raw_frames,
        );
    }
    let manifest = scan(dir, Some(kind))?;
    let labels = options.labels.clone().unwrap_or_else(|| manifest.label_map());
    let mel = LogMel::new(&options.feature_config)?;
    let mut raw = Vec::new();
    let mut skipped = Vec::new();
    let mut statuses = Vec::new();
    for split in Split::ALL {
        let entries = manifest.split(split);
        for entry in entries {
            if matches!(labels.index(&entry.class_name), None | Some(0)) {
                return Err(Error::Dataset {
                    path: dir.join(&entry.rel_path),
                    reason: format!("class {:?} is not in the label map", entry.class_name),
                });
            }
        }
        let (cached, status) = cached_or_built(&manifest, split, &mel, options, &mut progress)?;
        skipped.extend(cached.skipped.iter().cloned().map(|s| (split, s)));
        statuses.push((split, status));
        raw.push(cached);
    }
    let n_features = options.feature_config.n_mels;
    let normalizer = match &options.normalizer {
        Some(normalizer) => normalizer.clone(),
        None => {
            if raw[0].utterances.is_empty() {
                return Err(Error::Dataset {
                    path: dir.to_path_buf(),
                    reason: "no training utterance could be loaded".into(),
                });
            }
            match options.protocol {
                Protocol::Ours => Normalizer::fit(n_features, [&raw[0].frames[..]]),
                Protocol::Authors => Normalizer::fit_scalar(n_features, [&raw[0].frames[..]]),
            }
        }
    };
    let mut splits = raw.into_iter().zip(Split::ALL).map(|(cached, split)| {
        let normalizer = (!options.raw_frames).then_some(&normalizer);
        examples(&manifest, split, cached, &labels, normalizer, options.protocol)
    });
    let (train, valid, test) = (
        splits.next().expect("three splits"),
        splits.next().expect("three splits"),
        splits.next().expect("three splits"),
    );
    Ok(Dataset {
        kind: manifest.kind,
        labels,
        feature_config: options.feature_config.clone(),
        normalizer,
        protocol: options.protocol,
        train,
        valid,
        test,
        skipped,
        cache: statuses,
    })
}

fn cached_or_built(
    manifest: &Manifest,
    split: Split,
    mel: &LogMel,
    options: &LoadOptions,
    progress: &mut impl FnMut(&Progress),
) -> Result<(CachedSplit, CacheStatus)> {
    let entries = manifest.split(split);
    let Some(cache_dir) = &options.cache_dir else {
        let built = featurize_split(manifest, split, mel, options, progress)?;
        return Ok((built, CacheStatus::Disabled));
    };
    let path = cache_dir.join(format!("{}.feat", split.name()));
    let key = cache::cache_key(&manifest.root, entries, &options.feature_config, &options.limits);
    let usable = |options: &LoadOptions| -> std::result::Result<CachedSplit, CacheStatus> {
        if !path.exists() {
            return Err(CacheStatus::Built);
        }
        match cache::read(&path, key) {
            // A cache that skipped files cannot stand in for a run that must stop on them.
            Ok(cached) if options.on_bad_file == BadFilePolicy::Stop && !cached.skipped.is_empty() => {
                Err(CacheStatus::Rebuilt { reason: "it skipped bad files and the policy is stop".into() })
            }
            Ok(cached) => Ok(cached),
            Err(err) => Err(CacheStatus::Rebuilt { reason: err.to_string() }),
        }
    };
    // Reading needs no lock: cache files are replaced whole (write_atomic) and checksummed.
    if let Ok(cached) = usable(options) {
        return Ok((cached, CacheStatus::Hit));
    }
    // Building does: a second process building the same cache gets an "in use" error. A folder
    // that cannot even be created or locked (read-only) still gives features, just no cache.
    let _lock = match DirLock::acquire(cache_dir) {
        Ok(lock) => Some(lock),
        Err(err @ Error::InUse { .. }) => return Err(err),
        Err(_) => None,
    };
    // The previous holder may have just written it.
    let status = match usable(options) {
        Ok(cached) => return Ok((cached, CacheStatus::Hit)),
        Err(status) => status,
    };
    let built = featurize_split(manifest, split, mel, options, progress)?;
    match cache::write(&path, key, split, &options.feature_config, &built) {
        Ok(()) => Ok((built, status)),
        Err(err) => Ok((built, CacheStatus::WriteFailed { reason: err.to_string() })),
    }
}

/// Featurizes every entry of `split` in parallel, reporting each finished file.
fn featurize_split(
    manifest: &Manifest,
    split: Split,
    mel: &LogMel,
    options: &LoadOptions,
    progress: &mut impl FnMut(&Progress),
) -> Result<CachedSplit> {
    let entries = manifest.split(split);
    let total = entries.len();
    let task = Task::Featurize(split);
    let results = par_map_with_progress(entries, task, progress, |entry| {
        featurize_file(&manifest.root.join(&entry.rel_path), mel, &options.limits)
    });
    let mut cached = CachedSplit {
        n_features: mel.config().n_mels,
        utterances: Vec::with_capacity(total),
        frames: Vec::new(),
        skipped: Vec::new(),
    };
    for (entry, result) in entries.iter().zip(results) {
        match result {
            Ok(features) => {
                cached
                    .utterances
                    .push(CachedUtterance { rel_path: entry.rel_path.clone(), n_frames: features.n_frames });
                cached.frames.extend_from_slice(&features.data);
            }
            Err(err) if options.on_bad_file == BadFilePolicy::Skip => {
                cached.skipped.push(SkippedFile { path: entry.rel_path.clone(), reason: err.to_string() })
            }
            Err(err) => return Err(err),
        }
    }
    Ok(cached)
}

fn examples(
    manifest: &Manifest,
    split: Split,
    cached: CachedSplit,
    labels: &LabelMap,
    normalizer: Option<&Normalizer>,
    protocol: Protocol,
) -> FeatureSplit {
    let n_features = cached.n_features;
    let by_path: HashMap<&str, &Entry> = manifest.split(split).iter().map(|e| (e.rel_path.as_str(), e)).collect();
    let mut offset = 0;
    let mut examples = Vec::with_capacity(cached.utterances.len());
    for utterance in &cached.utterances {
        let len = utterance.n_frames * n_features;
        let raw = &cached.frames[offset..offset + len];
        offset += len;
        // The cache key covers the file list, so every cached path is in the manifest.
        let entry = by_path[utterance.rel_path.as_str()];
        let label = labels.index(&entry.class_name).expect("classes were checked against the label map");
        let frame_labels = match protocol {
            Protocol::Ours => frame_labels::frame_labels(raw, n_features, label),
            Protocol::Authors => frame_labels::head_tail_labels(
                utterance.n_frames,
                label,
                Protocol::AUTHORS_LABEL_HEAD,
                Protocol::AUTHORS_LABEL_TAIL,
            ),
        };
        let mut frames = raw.to_vec();
        if let Some(normalizer) = normalizer {
            normalizer.apply(&mut frames);
        }
        examples.push(Example {
            path: utterance.rel_path.clone(),
            speaker: entry.speaker.clone(),
            label,
            n_frames: utterance.n_frames,
            frames,
            frame_labels,
        });
    }
    FeatureSplit { n_features, examples }
}

/// Maps `f` over `items` on the rayon pool, in order, calling `progress` on this thread after each
/// item (the callback need not be `Send`). Reports `done = 0` first.
pub fn par_map_with_progress<T: Sync, R: Send>(
    items: &[T],
    task: Task,
    progress: &mut impl FnMut(&Progress),
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let total = items.len();
    progress(&Progress { task, done: 0, total });
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel::<()>();
        let f = &f;
        let worker = scope.spawn(move || {
            items
                .par_iter()
                .map_with(sender, |sender, item| {
                    let result = f(item);
                    // The receiver lives until every sender is dropped; sending cannot fail.
                    let _ = sender.send(());
                    result
                })
                .collect::<Vec<_>>()
        });
        for (done, ()) in receiver.iter().enumerate() {
            progress(&Progress { task, done: done + 1, total });
        }
        worker.join().expect("worker thread panicked")
    })
}
