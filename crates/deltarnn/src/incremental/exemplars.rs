//! The exemplar memory: at most `capacity` training utterances in total, split evenly over the
//! classes seen (iCaRL), each class's list kept in herding order so shrinking keeps a prefix.

use crate::data::Example;
use crate::Result;
use std::collections::BTreeMap;

/// How exemplars are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// Normalised feature frames (f32) and frame labels: ready to train on.
    #[default]
    Features,
    /// The audio: smaller, but every use re-featurises it through an [`AudioSource`].
    Audio,
}

/// Where audio exemplars come from and how they are turned back into features (the caller knows
/// the dataset folder and the front end; the library does not).
pub trait AudioSource: Sync {
    /// Bytes the utterance's audio occupies when stored (16-bit PCM samples).
    fn audio_bytes(&self, example: &Example) -> Result<u64>;
    /// Re-reads and re-featurises the utterance (normalised frames and frame labels, with the
    /// label of `example`).
    fn featurize(&self, example: &Example) -> Result<Example>;
}

/// Bytes one exemplar stored as features occupies here: 4 per feature value plus 8 per frame
/// label (the i64 this crate keeps).
pub fn feature_bytes(example: &Example) -> u64 {
    example.frames.len() as u64 * 4 + example.frame_labels.len() as u64 * 8
}

/// Exemplars per class, as indices into the (remapped) training examples.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExemplarMemory {
    /// Most utterances kept over all classes.
    pub capacity: usize,
    /// Per class id, training-example indices in herding order.
    pub per_class: BTreeMap<usize, Vec<usize>>,
}

impl ExemplarMemory {
    /// An empty memory of `capacity` utterances.
    pub fn new(capacity: usize) -> Self {
        ExemplarMemory { capacity, per_class: BTreeMap::new() }
    }

    /// Exemplars per class when `n_classes` classes share the memory (floor of the even split).
    pub fn quota(&self, n_classes: usize) -> usize {
        self.capacity / n_classes.max(1)
    }

    /// Keeps the first `m` exemplars of every class (herding order makes that the herding
    /// choice for `m`).
    pub fn reduce(&mut self, m: usize) {
        for list in self.per_class.values_mut() {
            list.truncate(m);
        }
    }

    /// Stores the exemplars of `class` (herding order).
    pub fn insert(&mut self, class: usize, indices: Vec<usize>) {
        self.per_class.insert(class, indices);
    }

    /// Utterances held.
    pub fn len(&self) -> usize {
        self.per_class.values().map(Vec::len).sum()
    }

    /// True when no utterance is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every stored index, class by class in ascending class id.
    pub fn indices(&self) -> Vec<usize> {
        self.per_class.values().flatten().copied().collect()
    }

    /// Bytes the memory occupies under `storage`.
    pub fn bytes(&self, train: &[Example], storage: Storage, audio: Option<&dyn AudioSource>) -> Result<u64> {
        let mut total = 0;
        for i in self.indices() {
            total += match (storage, audio) {
                (Storage::Audio, Some(source)) => source.audio_bytes(&train[i])?,
                _ => feature_bytes(&train[i]),
            };
        }
        Ok(total)
    }

    /// The stored utterances, ready to train on: copies of the features, or re-featurised audio.
    pub fn examples(
        &self,
        train: &[Example],
        storage: Storage,
        audio: Option<&dyn AudioSource>,
    ) -> Result<Vec<Example>> {
        self.indices()
            .into_iter()
            .map(|i| match (storage, audio) {
                (Storage::Audio, Some(source)) => source.featurize(&train[i]),
                _ => Ok(train[i].clone()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_splits_evenly_and_shrinks_by_prefix() {
        let mut memory = ExemplarMemory::new(10);
        assert_eq!(memory.quota(3), 3);
        memory.insert(1, vec![4, 2, 9, 7, 1]);
        memory.insert(2, vec![3, 5, 0, 8, 6]);
        assert_eq!(memory.len(), 10);
        memory.reduce(memory.quota(3));
        assert_eq!(memory.per_class[&1], vec![4, 2, 9]);
        assert_eq!(memory.indices(), vec![4, 2, 9, 3, 5, 0]);
    }
}
