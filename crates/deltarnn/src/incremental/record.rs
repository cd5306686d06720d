//! What an incremental run reports: one [`IncrementRecord`] per increment, and the events a
//! caller sees while it runs.

/// What one increment did and how well the model does afterwards.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncrementRecord {
    /// 0 for the base task.
    pub increment: usize,
    /// Classes seen so far, including this increment's.
    pub classes_seen: usize,
    /// Dataset class ids that arrived in this increment.
    pub new_classes: Vec<usize>,
    /// Accuracy of the chosen classifier on the test utterances of every class seen.
    pub accuracy: f64,
    /// The same restricted to classes seen before this increment (None for the base task).
    pub old_accuracy: Option<f64>,
    /// The same restricted to this increment's classes.
    pub new_accuracy: f64,
    /// Accuracy of nearest-mean-of-exemplars (None without exemplars).
    pub nme_accuracy: Option<f64>,
    /// Accuracy of the head.
    pub head_accuracy: f64,
    /// Test utterances scored.
    pub test_utterances: usize,
    /// Training utterances (new classes plus exemplars).
    pub train_utterances: usize,
    /// Exemplars among them.
    pub exemplars_used: usize,
    /// Parameter updates.
    pub updates: usize,
    /// Training matrix ops actually spent (forward, backward, weight gradient; 2 per MAC).
    pub train_ops: u64,
    /// What dense BPTT of the same sequences would have spent.
    pub train_ops_dense: u64,
    /// Weight-column reads of training (one per fired column per op; dense: every column).
    pub weight_column_reads: u64,
    /// The same for dense BPTT.
    pub weight_column_reads_dense: u64,
    /// Forward-only matrix ops outside training (teacher logits, exemplar features, class means).
    pub other_ops: u64,
    /// What those would cost dense.
    pub other_ops_dense: u64,
    /// Temporal sparsity of the last training epoch (0 in dense mode).
    pub sparsity: f64,
    /// Wall-clock seconds of training (all epochs).
    pub train_seconds: f64,
    /// Wall-clock seconds per parameter update.
    pub seconds_per_update: f64,
    /// Wall-clock seconds of the whole increment (teacher, training, herding, scoring).
    pub seconds: f64,
    /// Exemplars held after the increment.
    pub memory_utterances: usize,
    /// Bytes the exemplar memory occupies after the increment (under the configured storage).
    pub memory_bytes: u64,
}

/// What [`super::run_incremental`] reports while it runs.
pub enum Event<'a> {
    /// A training batch finished.
    Batch {
        /// 0-based increment.
        increment: usize,
        /// 1-based epoch.
        epoch: usize,
        /// 0-based batch.
        batch: usize,
        /// Batches per epoch.
        batches: usize,
    },
    /// An increment finished.
    Increment(&'a IncrementRecord),
}
