//! Dataset statistics from the file lists and WAV headers only (no decoding): files, speakers,
//! classes and durations per split, and whether any speaker appears in two splits.
use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use super::layout::{scan, DatasetKind, Split};
use super::{par_map_with_progress, Progress, Task};
use crate::Result;

/// Statistics of one split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitStats {
    /// Which split.
    pub split: Split,
    /// Files listed.
    pub n_files: usize,
    /// Distinct speakers.
    pub n_speakers: usize,
    /// Distinct classes.
    pub n_classes: usize,
    /// Total audio of the readable files, in seconds.
    pub total_seconds: f64,
    /// Shortest readable file.
    pub min_seconds: f64,
    /// Median readable file.
    pub median_seconds: f64,
    /// Longest readable file.
    pub max_seconds: f64,
    /// Files whose header could not be read, with the reason.
    pub unreadable: Vec<(String, String)>,
}

/// Statistics of a dataset folder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetStats {
    /// Detected layout.
    pub kind: DatasetKind,
    /// Utterance classes (silence not included).
    pub classes: Vec<String>,
    /// Train, valid, test.
    pub splits: Vec<SplitStats>,
    /// Speakers found in more than one split (empty for speaker-disjoint splits).
    pub shared_speakers: Vec<String>,
}

/// Reads the layout and WAV headers of `dir`.
pub fn dataset_stats(
    dir: &Path,
    kind: Option<DatasetKind>,
    mut progress: impl FnMut(&Progress),
) -> Result<DatasetStats> {
    let manifest = scan(dir, kind)?;
    let mut splits = Vec::new();
    let mut speaker_sets = Vec::new();
    for split in Split::ALL {
        let entries = manifest.split(split);
        let durations = par_map_with_progress(entries, Task::ReadHeaders(split), &mut progress, |e| {
            hound::WavReader::open(dir.join(&e.rel_path))
                .map(|r| f64::from(r.duration()) / f64::from(r.spec().sample_rate))
                .map_err(|err| (e.rel_path.clone(), err.to_string()))
        });
        let mut seconds: Vec<f64> = durations.iter().filter_map(|d| d.as_ref().ok()).copied().collect();
        seconds.sort_by(f64::total_cmp);
        let speakers: BTreeSet<&str> = entries.iter().map(|e| e.speaker.as_str()).collect();
        let classes: BTreeSet<&str> = entries.iter().map(|e| e.class_name.as_str()).collect();
        splits.push(SplitStats {
            split,
            n_files: entries.len(),
            n_speakers: speakers.len(),
            n_classes: classes.len(),
            // fold from +0.0: an empty f64 sum is -0.0, which prints as "-0.0".
            total_seconds: seconds.iter().fold(0.0, |a, b| a + b),
            min_seconds: seconds.first().copied().unwrap_or(0.0),
            median_seconds: seconds.get(seconds.len() / 2).copied().unwrap_or(0.0),
            max_seconds: seconds.last().copied().unwrap_or(0.0),
            unreadable: durations.into_iter().filter_map(|d| d.err()).collect(),
        });
        speaker_sets.push(speakers);
    }
    let mut shared = BTreeSet::new();
    for (i, a) in speaker_sets.iter().enumerate() {
        for b in &speaker_sets[i + 1..] {
            shared.extend(a.intersection(b).map(|s| s.to_string()));
        }
    }
    let labels = manifest.label_map();
    Ok(DatasetStats {
        kind: manifest.kind,
        classes: labels.names[1..].to_vec(),
        splits,
        shared_speakers: shared.into_iter().collect(),
    })
}
