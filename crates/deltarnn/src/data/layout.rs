//! Dataset layouts on disk: detection, file lists per split, and label maps.
//!
//! | kind | detected by | train / valid / test |
//! |---|---|---|
//! | Fluent Speech Commands | `data/train_data.csv` | the three CSVs; class = `action|object|location` |
//! | Google Speech Commands v2 | `validation_list.txt` + `testing_list.txt` | files in neither list / the lists |
//! | keyword CSV (asc10) | `train.csv` with `path,speaker,keyword` | `train.csv` / `valid.csv` / `test.csv` if present, else empty |
//! | Free Spoken Digit Dataset | `recordings/` (or the folder itself) with `digit_speaker_take.wav` | takes 10-49 / 5-9 / 0-4 |
//! | sequences (any time series) | `train.safetensors` | `train` / `valid` / `test.safetensors` ([`super::sequences`]) |
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::csv::Table;
use crate::{Error, Result};

/// Which on-disk layout a dataset folder uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Fluent Speech Commands (and `deltarnn synth` output).
    FluentSpeechCommands,
    /// Google Speech Commands v2: keyword folders plus validation/testing lists.
    SpeechCommands,
    /// Keyword folders with `train.csv`/`valid.csv`(/`test.csv`) listing `path,speaker,keyword`.
    KeywordCsv,
    /// Free Spoken Digit Dataset: `digit_speaker_take.wav`.
    Fsdd,
    /// Any time series: `train.safetensors` (and `valid`, `test`) of feature sequences and
    /// labels ([`super::sequences`]).
    Sequences,
}

impl DatasetKind {
    /// Short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::FluentSpeechCommands => "fluent-speech-commands",
            DatasetKind::SpeechCommands => "speech-commands",
            DatasetKind::KeywordCsv => "keyword-csv",
            DatasetKind::Fsdd => "fsdd",
            DatasetKind::Sequences => "sequences",
        }
    }
}

/// One of the three splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training data (the normaliser is fitted here).
    Train,
    /// Model selection.
    Valid,
    /// Final score.
    Test,
}

impl Split {
    /// The three splits in order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    /// `train`, `valid` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

/// Class names; index 0 is always the silence class [`LabelMap::SILENCE`], utterance classes
/// are `1..names.len()`. Saved with the model so class indices stay stable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelMap {
    /// Class names by index.
    pub names: Vec<String>,
}

impl LabelMap {
    /// Name of class 0.
    pub const SILENCE: &'static str = "_silence_";

    /// Silence followed by `classes` in the given order.
    pub fn new(classes: impl IntoIterator<Item = String>) -> Self {
        let mut names = vec![Self::SILENCE.to_string()];
        names.extend(classes);
        LabelMap { names }
    }

    /// Index of `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Number of classes including silence.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there is not even the silence class.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// One utterance as listed by a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the dataset root, with `/` separators.
    pub rel_path: String,
    /// Speaker identifier.
    pub speaker: String,
    /// Class name (before mapping to an index).
    pub class_name: String,
}

/// What a layout lists: kind, root and the entries of each split.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Detected layout.
    pub kind: DatasetKind,
    /// Dataset root folder.
    pub root: PathBuf,
    /// Entries of train, valid and test.
    pub splits: [Vec<Entry>; 3],
}

impl Manifest {
    /// Entries of `split`.
    pub fn split(&self, split: Split) -> &[Entry] {
        &self.splits[split as usize]
    }

    /// Silence plus the sorted class names found in all splits.
    pub fn label_map(&self) -> LabelMap {
        let names: BTreeSet<&str> = self.splits.iter().flatten().map(|e| e.class_name.as_str()).collect();
        let mut names: Vec<String> = names.into_iter().map(str::to_string).collect();
        if self.kind == DatasetKind::Fsdd {
            names.sort_by_key(|n| n.parse::<u32>().unwrap_or(u32::MAX));
        }
        LabelMap::new(names)
    }
}

/// Detects the layout of `root`.
pub fn detect(root: &Path) -> Result<DatasetKind> {
    if !root.is_dir() {
        return Err(Error::Io {
            path: root.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
        });
    }
    if root.join("data/train_data.csv").is_file() {
        return Ok(DatasetKind::FluentSpeechCommands);
    }
    if super::sequences::is_sequences_folder(root) {
        return Ok(DatasetKind::Sequences);
    }
    if root.join("validation_list.txt").is_file() && root.join("testing_list.txt").is_file() {
        return Ok(DatasetKind::SpeechCommands);
    }
    if root.join("train.csv").is_file() {
        return Ok(DatasetKind::KeywordCsv);
    }
    let fsdd_dir = fsdd_folder(root);
    if list_wavs(&fsdd_dir)?.iter().any(|name| parse_fsdd_name(name).is_some()) {
        return Ok(DatasetKind::Fsdd);
    }
    Err(Error::UnknownLayout {
        path: root.to_path_buf(),
        reason: "expected data/train_data.csv (fluent speech commands), validation_list.txt and \
                 testing_list.txt (speech commands v2), train.csv (keyword csv), \
                 recordings/<digit>_<speaker>_<take>.wav (fsdd) or train.safetensors (sequences)"
            .into(),
    })
}

/// Lists the utterances of `root`, detecting the layout unless `kind` is given.
pub fn scan(root: &Path, kind: Option<DatasetKind>) -> Result<Manifest> {
    let kind = match kind {
        Some(kind) => kind,
        None => detect(root)?,
    };
    let splits = match kind {
        DatasetKind::FluentSpeechCommands => scan_fsc(root)?,
        DatasetKind::SpeechCommands => scan_speech_commands(root)?,
        DatasetKind::KeywordCsv => scan_keyword_csv(root)?,
        DatasetKind::Fsdd => scan_fsdd(root)?,
        DatasetKind::Sequences => {
            return Err(Error::Dataset {
                path: root.to_path_buf(),
                reason: "a sequences dataset lists no audio files (load it with data::load_dataset)".into(),
            })
        }
    };
    if splits[0].is_empty() {
        return Err(Error::Dataset {
            path: root.to_path_buf(),
            reason: format!("the {} layout lists no training utterance", kind.name()),
        });
    }
    Ok(Manifest { kind, root: root.to_path_buf(), splits })
}

fn scan_fsc(root: &Path) -> Result<[Vec<Entry>; 3]> {
    scan_split_files(root, |split| format!("data/{}_data.csv", split.name()), parse_fsc_csv)
}

/// Reads one manifest per split, `root/<file_of(split)>`, with `parse`. The training manifest
/// must exist; a missing validation or test manifest leaves that split empty (asc10 ships no
/// test.csv: its test speakers are withheld).
fn scan_split_files(
    root: &Path,
    file_of: impl Fn(Split) -> String,
    parse: impl Fn(&Path, &str) -> Result<Vec<Entry>>,
) -> Result<[Vec<Entry>; 3]> {
    let mut splits: [Vec<Entry>; 3] = Default::default();
    for split in Split::ALL {
        let path = root.join(file_of(split));
        if split != Split::Train && !path.exists() {
            continue;
        }
        splits[split as usize] = parse(&path, &read_text(&path)?)?;
    }
    Ok(splits)
}

/// Entries of one Fluent Speech Commands split file (`path,speakerId,action,object,location`
/// columns, any others ignored; the class is `action|object|location`); `path` only names the
/// file in errors.
pub fn parse_fsc_csv(path: &Path, text: &str) -> Result<Vec<Entry>> {
    parse_manifest(path, text, "speakerId", &["action", "object", "location"])
}

/// Entries of a manifest table with a `path` column, the speaker in `speaker_column` and the
/// class name made of `class_columns` joined by `|`; a missing column is an error naming the
/// first one missing, in the order path, speaker, classes.
fn parse_manifest(path: &Path, text: &str, speaker_column: &str, class_columns: &[&str]) -> Result<Vec<Entry>> {
    let table = Table::parse(path, text)?;
    let (p, s) = (table.column("path")?, table.column(speaker_column)?);
    let classes: Vec<usize> = class_columns.iter().map(|name| table.column(name)).collect::<Result<_>>()?;
    table
        .rows()
        .iter()
        .map(|(line, row)| {
            Ok(Entry {
                rel_path: relative_path(path, *line, &row[p])?,
                speaker: row[s].clone(),
                class_name: classes.iter().map(|&c| row[c].as_str()).collect::<Vec<_>>().join("|"),
            })
        })
        .collect()
}

fn scan_keyword_csv(root: &Path) -> Result<[Vec<Entry>; 3]> {
    scan_split_files(root, |split| format!("{}.csv", split.name()), parse_keyword_csv)
}

/// Entries of one keyword-CSV split file (`path,speaker,keyword` columns); `path` only names the
/// file in errors.
pub fn parse_keyword_csv(path: &Path, text: &str) -> Result<Vec<Entry>> {
    parse_manifest(path, text, "speaker", &["keyword"])
}

/// A manifest's audio path must stay inside the dataset: relative, not empty, without `..`.
fn relative_path(path: &Path, line: usize, rel: &str) -> Result<String> {
    use std::path::Component;
    let bad = |reason: &str| Error::CsvRow { path: path.to_path_buf(), line, reason: format!("path {rel:?} {reason}") };
    if rel.trim().is_empty() {
        return Err(bad("is empty"));
    }
    let inside = Path::new(rel).components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        return Err(bad("leaves the dataset folder (absolute or with '..')"));
    }
    Ok(rel.to_string())
}

/// Reads a text file; invalid UTF-8 is an error naming the line.
fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        Error::CsvRow {
            path: path.to_path_buf(),
            line: 1 + valid.iter().filter(|&&b| b == b'\n').count(),
            reason: "not valid UTF-8 text".into(),
        }
    })
}

fn read_list(path: &Path) -> Result<BTreeSet<String>> {
    Ok(parse_list(&read_text(path)?))
}

/// The entries of a Speech Commands list file (`validation_list.txt`): one relative path a line,
/// blank lines ignored.
pub fn parse_list(text: &str) -> BTreeSet<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn scan_speech_commands(root: &Path) -> Result<[Vec<Entry>; 3]> {
    let valid = read_list(&root.join("validation_list.txt"))?;
    let test = read_list(&root.join("testing_list.txt"))?;
    let mut splits: [Vec<Entry>; 3] = Default::default();
    let mut keywords = read_dir_sorted(root)?;
    keywords.retain(|name| !name.starts_with(['_', '.']) && root.join(name).is_dir());
    for keyword in keywords {
        for file in list_wavs(&root.join(&keyword))? {
            let rel_path = format!("{keyword}/{file}");
            // Speaker: the hash before `_nohash_` (GSC's own convention).
            let speaker = file.split("_nohash_").next().unwrap_or(&file).to_string();
            let split = if valid.contains(&rel_path) {
                Split::Valid
            } else if test.contains(&rel_path) {
                Split::Test
            } else {
                Split::Train
            };
            splits[split as usize].push(Entry { rel_path, speaker, class_name: keyword.clone() });
        }
    }
    Ok(splits)
}

fn fsdd_folder(root: &Path) -> PathBuf {
    let recordings = root.join("recordings");
    if recordings.is_dir() {
        recordings
    } else {
        root.to_path_buf()
    }
}

/// Parses `digit_speaker_take.wav` into (digit, speaker, take).
pub fn parse_fsdd_name(name: &str) -> Option<(u32, &str, u32)> {
    let stem = name.strip_suffix(".wav")?;
    let (digit, rest) = stem.split_once('_')?;
    let (speaker, take) = rest.rsplit_once('_')?;
    let digit: u32 = digit.parse().ok()?;
    (digit <= 9 && !speaker.is_empty()).then_some(())?;
    Some((digit, speaker, take.parse().ok()?))
}

/// FSDD split by take: 0-4 test (the dataset's own rule), 5-9 valid (ours), the rest train.
pub fn fsdd_split(take: u32) -> Split {
    match take {
        0..=4 => Split::Test,
        5..=9 => Split::Valid,
        _ => Split::Train,
    }
}

fn scan_fsdd(root: &Path) -> Result<[Vec<Entry>; 3]> {
    let folder = fsdd_folder(root);
    let prefix = if folder == root { "" } else { "recordings/" };
    let mut splits: [Vec<Entry>; 3] = Default::default();
    for file in list_wavs(&folder)? {
        let Some((digit, speaker, take)) = parse_fsdd_name(&file) else {
            return Err(Error::Dataset {
                path: folder.join(&file),
                reason: "file name is not <digit>_<speaker>_<take>.wav".into(),
            });
        };
        splits[fsdd_split(take) as usize].push(Entry {
            rel_path: format!("{prefix}{file}"),
            speaker: speaker.to_string(),
            class_name: digit.to_string(),
        });
    }
    Ok(splits)
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<String>> {
    let io_err = |source| Error::Io { path: dir.to_path_buf(), source };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        names.push(entry.map_err(io_err)?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

fn list_wavs(dir: &Path) -> Result<Vec<String>> {
    let mut names = read_dir_sorted(dir)?;
    names.retain(|n| n.to_ascii_lowercase().ends_with(".wav"));
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsdd_names_and_splits() {
        assert_eq!(parse_fsdd_name("7_jackson_32.wav"), Some((7, "jackson", 32)));
        assert_eq!(parse_fsdd_name("7_jack_son_3.wav"), Some((7, "jack_son", 3)));
        assert_eq!(parse_fsdd_name("x_jackson_32.wav"), None);
        assert_eq!(parse_fsdd_name("12_a_1.wav"), None);
        assert_eq!(fsdd_split(0), Split::Test);
        assert_eq!(fsdd_split(4), Split::Test);
        assert_eq!(fsdd_split(5), Split::Valid);
        assert_eq!(fsdd_split(9), Split::Valid);
        assert_eq!(fsdd_split(10), Split::Train);
    }

    #[test]
    fn label_map_puts_silence_first() {
        let labels = LabelMap::new(["b".to_string(), "a".to_string()]);
        assert_eq!(labels.names, ["_silence_", "b", "a"]);
        assert_eq!(labels.index("a"), Some(2));
        assert_eq!(labels.len(), 3);
    }
}
