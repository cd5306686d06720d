//! The feature cache: one file per split holding the raw (unnormalised) log-mel frames.
//!
//! Format (little-endian):
//!
//! ```text
//! b"DRNNFEAT"  u32 version  u64 header_len  header (JSON, CacheHeader)
//! f32 frames (sum of n_frames x n_features)  u64 checksum (FNV-1a 64 of every byte before it)
//! ```
//!
//! **Invariant:** a cache file is either complete and valid or ignored. It is written to a
//! temporary file in the same folder and renamed into place, and a reader recomputes the
//! checksum and every length before trusting a byte. The header's `key` hashes the front-end
//! version, the feature config, the limits and, per listed file, its path, speaker, class, size
//! and modification time: a change to any of them rebuilds the split.
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::layout::{Entry, Split};
use super::SkippedFile;
use crate::audio::{FeatureConfig, Limits};
use crate::files::write_atomic;
use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"DRNNFEAT";
/// Bumped whenever the file layout changes.
const FORMAT_VERSION: u32 = 1;
/// Bumped whenever the front end computes different numbers for the same config.
pub const FRONT_END_VERSION: u32 = 1;

/// FNV-1a, 64 bit: a small stable hash for cache keys and checksums (not for security).
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Feeds a string with its length, so that field boundaries count.
    pub fn update_str(&mut self, s: &str) {
        self.update(&(s.len() as u64).to_le_bytes());
        self.update(s.as_bytes());
    }

    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// One cached utterance: where its frames are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedUtterance {
    /// Path relative to the dataset root.
    pub rel_path: String,
    /// Frames stored for it.
    pub n_frames: usize,
}

/// The JSON header of a cache file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CacheHeader {
    key: String,
    split: Split,
    feature_config: FeatureConfig,
    n_features: usize,
    utterances: Vec<CachedUtterance>,
    skipped: Vec<SkippedFile>,
}

/// The contents of one split's cache.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedSplit {
    /// Features per frame.
    pub n_features: usize,
    /// Utterances in file order.
    pub utterances: Vec<CachedUtterance>,
    /// All frames, concatenated in the order of `utterances`.
    pub frames: Vec<f32>,
    /// Files that failed and were skipped when the cache was built.
    pub skipped: Vec<SkippedFile>,
}

/// Hashes everything the cached features depend on.
pub fn cache_key(root: &Path, entries: &[Entry], config: &FeatureConfig, limits: &Limits) -> u64 {
    let mut hash = Fnv64::default();
    hash.update(&FORMAT_VERSION.to_le_bytes());
    hash.update(&FRONT_END_VERSION.to_le_bytes());
    hash.update_str(&serde_json::to_string(config).expect("config serialises"));
    hash.update_str(&serde_json::to_string(limits).expect("limits serialise"));
    for entry in entries {
        hash.update_str(&entry.rel_path);
        hash.update_str(&entry.speaker);
        hash.update_str(&entry.class_name);
        match std::fs::metadata(root.join(&entry.rel_path)) {
            Ok(meta) => {
                hash.update(&meta.len().to_le_bytes());
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                hash.update(&modified.to_le_bytes());
            }
            Err(_) => hash.update(b"missing"),
        }
    }
    hash.finish()
}

/// Reads `path` and returns its contents if it is intact and made for `key`.
pub fn read(path: &Path, key: u64) -> Result<CachedSplit> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    parse(path, &bytes, key)
}

/// [`read`] on bytes in memory; `path` only names the file in errors.
pub fn parse(path: &Path, bytes: &[u8], key: u64) -> Result<CachedSplit> {
    let bad = |reason: String| Error::Cache { path: path.to_path_buf(), reason };
    if bytes.len() < 8 + 4 + 8 + 8 || &bytes[..8] != MAGIC {
        return Err(bad("no cache magic".into()));
    }
    let (body, tail) = bytes.split_at(bytes.len() - 8);
    let mut checksum = Fnv64::default();
    checksum.update(body);
    if checksum.finish().to_le_bytes() != tail {
        return Err(bad("checksum mismatch (incomplete or corrupted file)".into()));
    }
    let version = u32::from_le_bytes(body[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(bad(format!("format version {version}, expected {FORMAT_VERSION}")));
    }
    let header_len = u64::from_le_bytes(body[12..20].try_into().expect("8 bytes")) as usize;
    let header_bytes =
        body.get(20..20usize.saturating_add(header_len)).ok_or_else(|| bad("header runs past the end".into()))?;
    let header: CacheHeader = serde_json::from_slice(header_bytes).map_err(|err| bad(format!("header: {err}")))?;
    if header.key != format!("{key:016x}") {
        return Err(bad("made for other files or another config".into()));
    }
    let data = &body[20 + header_len..];
    // Checked: the header is untrusted until the frame bytes are counted.
    let n_bytes = header
        .utterances
        .iter()
        .try_fold(0usize, |sum, u| sum.checked_add(u.n_frames))
        .and_then(|n| n.checked_mul(header.n_features))
        .and_then(|n| n.checked_mul(4));
    if n_bytes != Some(data.len()) {
        let says = n_bytes.map_or("more than fits in memory".to_string(), |n| n.to_string());
        return Err(bad(format!("holds {} bytes of frames, header says {says}", data.len())));
    }
    let frames: Vec<f32> = data.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
    // The front end only makes finite numbers; anything else was not written by it.
    if let Some(i) = frames.iter().position(|x| !x.is_finite()) {
        return Err(bad(format!("frame value {i} is not finite ({})", frames[i])));
    }
    Ok(CachedSplit { n_features: header.n_features, utterances: header.utterances, frames, skipped: header.skipped })
}

/// Writes `cached` to `path` atomically (temporary file, then rename).
pub fn write(path: &Path, key: u64, split: Split, config: &FeatureConfig, cached: &CachedSplit) -> Result<()> {
    let header = CacheHeader {
        key: format!("{key:016x}"),
        split,
        feature_config: config.clone(),
        n_features: cached.n_features,
        utterances: cached.utterances.clone(),
        skipped: cached.skipped.clone(),
    };
    let header = serde_json::to_vec(&header).expect("header serialises");
    let mut bytes = Vec::with_capacity(28 + header.len() + cached.frames.len() * 4 + 8);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&header);
    for x in &cached.frames {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let mut checksum = Fnv64::default();
    checksum.update(&bytes);
    bytes.extend_from_slice(&checksum.finish().to_le_bytes());

    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    }
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CachedSplit {
        CachedSplit {
            n_features: 2,
            utterances: vec![
                CachedUtterance { rel_path: "a.wav".into(), n_frames: 2 },
                CachedUtterance { rel_path: "b.wav".into(), n_frames: 1 },
            ],
            frames: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            skipped: vec![SkippedFile { path: "c.wav".into(), reason: "c.wav: wav holds zero samples".into() }],
        }
    }

    #[test]
    fn round_trip_and_every_truncation_is_refused() {
        let dir = std::env::temp_dir().join(format!("deltarnn-cache-test-{}", std::process::id()));
        let path = dir.join("train.feat");
        let config = FeatureConfig::default();
        write(&path, 42, Split::Train, &config, &sample()).unwrap();
        assert_eq!(read(&path, 42).unwrap(), sample());
        assert!(matches!(read(&path, 43), Err(Error::Cache { .. })));
        let bytes = std::fs::read(&path).unwrap();
        for len in [0, 7, 20, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..len]).unwrap();
            assert!(matches!(read(&path, 42), Err(Error::Cache { .. })), "length {len}");
        }
        let mut flipped = bytes.clone();
        let last_frame_byte = flipped.len() - 9;
        flipped[last_frame_byte] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(matches!(read(&path, 42), Err(Error::Cache { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
