//! Class-incremental learning (spec section 4, iCaRL on a Delta RNN): a base task, then
//! increments of new classes; an exemplar memory chosen by [`herding`](mod@herding) on the L2-normalised hidden
//! state at the last valid frame; BCE distillation on the old outputs against the network before
//! the update ([`distill`]); nearest-mean-of-exemplars classification ([`nme`]) or the head.
//!
//! Flow of one increment ([`run_incremental`]): grow the head ([`crate::nn::Model::grow_classes`])
//! -> training set = new classes' utterances + the exemplars -> the frozen network's logits on it
//! -> [`crate::train::fit_with`] (the shared trainer: AdamW, batches or batch 1, sparse BPTT) with
//! [`distill::DistillationObjective`] -> shrink the old exemplar lists, herd the new classes'
//! -> class means -> score the seen classes -> an [`IncrementRecord`].
//!
//! Classes are renumbered by arrival: the k-th class of the schedule is output k + 1 (0 stays
//! silence), so the head grows by appending rows.

pub mod distill;
pub mod exemplars;
pub mod herding;
pub mod nme;
pub mod schedule;

pub use distill::DistillationObjective;
pub use exemplars::{AudioSource, ExemplarMemory, Storage};
pub use herding::herding;
pub use nme::{l2_normalize, ClassMeans};
pub use schedule::ClassSchedule;

use crate::cost::CostReport;
use crate::data::Example;
use crate::nn::loss::{utterance_decision, Readout};
use crate::nn::{init_params, CellKind, Mode, Model, ModelConfig, SequenceTape};
use crate::rng::Rng;
use crate::train::{epoch_mode, fit_with, TrainConfig, TrainState};
use crate::{Error, Result};
use rayon::prelude::*;
use std::time::Instant;

/// How utterances are classified after an increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Classifier {
    /// Nearest mean of exemplars (needs a memory).
    #[default]
    Nme,
    /// The per-frame head, read out at the last non-silence frame.
    Head,
}

/// Everything that shapes an incremental run besides the class schedule.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncrementalConfig {
    /// Recurrent cell.
    pub cell: CellKind,
    /// Stacked layers.
    pub n_layers: usize,
    /// Hidden units per layer.
    pub n_hidden: usize,
    /// The trainer's settings, used for every increment (`batch_size` 1 is the online mode;
    /// `dense` trains the standard network with dense BPTT).
    pub train: TrainConfig,
    /// Exemplar memory in utterances over all classes (0: no exemplars).
    pub memory: usize,
    /// How exemplars are stored.
    pub storage: Storage,
    /// How utterances are classified.
    pub classifier: Classifier,
    /// Weight of the distillation term (0: no distillation).
    pub distillation_weight: f64,
}

impl IncrementalConfig {
    /// The network mode of this run.
    pub fn mode(&self) -> Mode {
        epoch_mode(&self.train, usize::MAX)
    }
}

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

/// What [`run_incremental`] reports while it runs.
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

/// Runs the class-incremental protocol. `train` and `test` are a dataset's examples (labels are
/// dataset class ids 1..=C, `n_features` values per frame); classes outside the schedule are
/// ignored. `audio` re-featurises exemplars when `config.storage` is [`Storage::Audio`].
/// Returns the final model (outputs renumbered by arrival) and one record per increment.
pub fn run_incremental(
    config: &IncrementalConfig,
    schedule: &ClassSchedule,
    n_features: usize,
    train: &[Example],
    test: &[Example],
    audio: Option<&dyn AudioSource>,
    mut on_event: impl FnMut(Event<'_>) -> Result<()>,
) -> Result<(Model<f32>, Vec<IncrementRecord>)> {
    config.train.validate()?;
    if config.classifier == Classifier::Nme && config.memory == 0 {
        return Err(Error::Invalid("nearest-mean-of-exemplars needs a memory of at least 1 utterance".into()));
    }
    if config.storage == Storage::Audio && audio.is_none() {
        return Err(Error::Invalid("audio exemplars need an audio source".into()));
    }
    if !(config.distillation_weight.is_finite() && config.distillation_weight >= 0.0) {
        return Err(Error::Invalid(format!(
            "distillation weight must be a finite number >= 0, got {}",
            config.distillation_weight
        )));
    }
    let train = renumber(train, &schedule.order);
    let test = renumber(test, &schedule.order);
    for (k, range) in schedule.increments().into_iter().enumerate() {
        if !train.iter().any(|e| range.contains(&(e.label - 1))) {
            return Err(Error::Invalid(format!("increment {k} has no training utterance")));
        }
    }
    let mode = config.mode();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.train.threads)
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start {} worker threads: {e}", config.train.threads)))?;
    let seed = config.train.seed;
    let mut model: Option<Model<f32>> = None;
    let mut memory = ExemplarMemory::new(config.memory);
    let mut records = Vec::new();
    for (k, range) in schedule.increments().into_iter().enumerate() {
        let start = Instant::now();
        let n_old = range.start; // classes seen before
        let n_seen = range.end;
        let is_new = |e: &Example| range.contains(&(e.label - 1));
        let mut other_cost = CostReport::default();

        // The network before the update is the teacher; the student grows its head.
        let teacher = model.clone();
        let mut student = match model.take() {
            None => {
                let model_config = ModelConfig {
                    cell: config.cell,
                    n_features,
                    n_layers: config.n_layers,
                    n_hidden: config.n_hidden,
                    n_classes: 1 + n_seen,
                    thresholds: config.train.thresholds,
                };
                init_params::<f32>(&model_config, seed)?
            }
            Some(mut m) => {
                m.grow_classes(1 + n_seen, Rng::derive(seed, k as u64).next_u64())?;
                m
            }
        };

        // Training set: the new classes' utterances, then the exemplars.
        let exemplars = memory.examples(&train, config.storage, audio)?;
        let exemplars_used = exemplars.len();
        let mut set: Vec<Example> = train.iter().filter(|e| is_new(e)).cloned().collect();
        set.extend(exemplars);
        let teacher_logits: Vec<Vec<f32>> = match (&teacher, config.distillation_weight > 0.0) {
            (Some(t), true) => {
                let (logits, cost) = pool.install(|| forward_all(t, &set, mode, |tape, _| tape.logits.clone()));
                other_cost.add(&cost);
                logits
            }
            _ => Vec::new(),
        };
        let objective = DistillationObjective {
            teacher_logits: &teacher_logits,
            n_old: 1 + n_old,
            weight: config.distillation_weight,
        };
        let train_config = TrainConfig {
            seed: Rng::derive(seed, 1000 + k as u64).next_u64(),
            early_stop_patience: 0,
            plateau_factor: 1.0,
            ..config.train.clone()
        };
        let mut state = TrainState::new(&student, &train_config);
        fit_with(&mut student, &mut state, &train_config, &set, &[], &objective, |event| match event {
            crate::train::Event::Batch { epoch, batch, batches, .. } => {
                on_event(Event::Batch { increment: k, epoch, batch, batches })
            }
            crate::train::Event::Epoch { .. } => Ok(()),
        })?;

        // Memory: shrink the old lists, herd the new classes on the updated network.
        let quota = memory.quota(n_seen);
        memory.reduce(quota);
        if quota > 0 {
            for class in (n_old + 1)..=n_seen {
                let members: Vec<usize> = (0..train.len()).filter(|&i| train[i].label == class).collect();
                let examples: Vec<Example> = members.iter().map(|&i| train[i].clone()).collect();
                let (features, cost) = pool.install(|| forward_all(&student, &examples, mode, readout_feature));
                other_cost.add(&cost);
                let picks = herding(&features.concat(), config.n_hidden, quota);
                memory.insert(class, picks.into_iter().map(|p| members[p]).collect());
            }
        }

        // Class means of the exemplars' features under the updated network.
        let means = if memory.is_empty() {
            None
        } else {
            let stored = memory.examples(&train, config.storage, audio)?;
            let (features, cost) = pool.install(|| forward_all(&student, &stored, mode, readout_feature));
            other_cost.add(&cost);
            let classes: Vec<usize> = stored.iter().map(|e| e.label).collect();
            Some(ClassMeans::fit(&features.concat(), config.n_hidden, &classes))
        };

        // Score every test utterance of the classes seen so far.
        let scored: Vec<&Example> = test.iter().filter(|e| e.label <= n_seen).collect();
        let (decisions, _) = pool.install(|| {
            forward_all(&student, &scored, mode, |tape, e| {
                let head = utterance_decision(&tape.logits, 1 + n_seen, Readout::LastNonSilence);
                let nme = means.as_ref().map(|m| m.classify(&readout_feature(tape, e)));
                (head, nme)
            })
        });
        let accuracy_of = |pick: Pick, keep: &dyn Fn(&Example) -> bool| accuracy(&scored, &decisions, pick, keep);
        let head_pick: Pick = |d| Some(d.0);
        let nme_pick: Pick = |d| d.1;
        let chosen = if config.classifier == Classifier::Nme { nme_pick } else { head_pick };
        let all = |_: &Example| true;
        let old = |e: &Example| e.label <= n_old;
        let new = |e: &Example| e.label > n_old;

        let history = &state.history;
        let updates = history.len() * set.len().div_ceil(train_config.batch_size.min(set.len()).max(1));
        let train_seconds = state.train_seconds();
        let (train_ops, train_ops_dense) = history.iter().fold((0, 0), |(a, d), r| (a + r.ops_actual, d + r.ops_dense));
        let rows = (config.cell.gates() * config.n_hidden) as u64;
        let other = other_cost.total().forward_mxv;
        let record = IncrementRecord {
            increment: k,
            classes_seen: n_seen,
            new_classes: schedule.order[range.clone()].to_vec(),
            accuracy: accuracy_of(chosen, &all),
            old_accuracy: (n_old > 0).then(|| accuracy_of(chosen, &old)),
            new_accuracy: accuracy_of(chosen, &new),
            nme_accuracy: means.as_ref().map(|_| accuracy_of(nme_pick, &all)),
            head_accuracy: accuracy_of(head_pick, &all),
            test_utterances: scored.len(),
            train_utterances: set.len(),
            exemplars_used,
            updates,
            train_ops,
            train_ops_dense,
            weight_column_reads: train_ops / 2 / rows,
            weight_column_reads_dense: train_ops_dense / 2 / rows,
            other_ops: other.actual_ops(),
            other_ops_dense: other.dense_ops(),
            sparsity: history.last().map(|r| r.sparsity.overall).unwrap_or(0.0),
            train_seconds,
            seconds_per_update: train_seconds / updates.max(1) as f64,
            seconds: start.elapsed().as_secs_f64(),
            memory_utterances: memory.len(),
            memory_bytes: memory.bytes(&train, config.storage, audio)?,
        };
        on_event(Event::Increment(&record))?;
        records.push(record);
        model = Some(student);
    }
    Ok((model.expect("at least the base increment ran"), records))
}

/// One scored utterance: the head's class and the nearest-mean class (None without exemplars).
type Decision = (usize, Option<usize>);
/// Which of the two decisions a classifier uses.
type Pick = fn(&Decision) -> Option<usize>;

/// Fraction of the utterances kept by `keep` whose picked decision is their label (0 if none).
fn accuracy(scored: &[&Example], decisions: &[Decision], pick: Pick, keep: &dyn Fn(&Example) -> bool) -> f64 {
    let (mut hits, mut n) = (0usize, 0usize);
    for (e, d) in scored.iter().zip(decisions) {
        if keep(e) {
            n += 1;
            hits += usize::from(pick(d) == Some(e.label));
        }
    }
    if n == 0 {
        0.0
    } else {
        hits as f64 / n as f64
    }
}

/// Copies of the examples of the scheduled classes with labels renumbered by arrival (the k-th
/// class of `order` becomes k + 1; frame labels follow, silence stays 0).
fn renumber(examples: &[Example], order: &[usize]) -> Vec<Example> {
    let max = order.iter().copied().max().unwrap_or(0);
    let mut position = vec![0usize; max + 1];
    for (k, &c) in order.iter().enumerate() {
        position[c] = k + 1;
    }
    examples
        .iter()
        .filter(|e| e.label <= max && position[e.label] > 0)
        .map(|e| {
            let label = position[e.label];
            let frame_labels = e.frame_labels.iter().map(|&l| if l > 0 { label as i64 } else { l }).collect();
            Example { label, frame_labels, ..e.clone() }
        })
        .collect()
}

/// The feature herding and NME work on: the top layer's hidden state at the last valid frame (the
/// last frame labelled non-silence, else the last frame), L2-normalised. Shape (H).
pub fn readout_feature(tape: &SequenceTape<f32>, example: &Example) -> Vec<f32> {
    let top = tape.layers.last().expect("a model has at least one layer");
    let last = example.frame_labels.iter().rposition(|&l| l > 0).unwrap_or(tape.steps.saturating_sub(1));
    let mut feature = top.h(last.min(tape.steps.saturating_sub(1))).to_vec();
    l2_normalize(&mut feature);
    feature
}

/// Runs `model` over every example in parallel (on the current rayon pool), mapping each tape
/// with `f`; returns the results in order and the forward cost.
fn forward_all<E, R>(
    model: &Model<f32>,
    examples: &[E],
    mode: Mode,
    f: impl Fn(&SequenceTape<f32>, &Example) -> R + Sync,
) -> (Vec<R>, CostReport)
where
    E: std::borrow::Borrow<Example> + Sync,
    R: Send,
{
    let results: Vec<(R, CostReport)> = examples
        .par_iter()
        .map_init(SequenceTape::default, |tape, e| {
            let e = e.borrow();
            model.forward(&e.frames, mode, tape);
            (f(tape, e), CostReport::from_tape(&model.config, tape, mode))
        })
        .collect();
    let mut cost = CostReport::default();
    let mut out = Vec::with_capacity(results.len());
    for (r, c) in results {
        cost.add(&c);
        out.push(r);
    }
    (out, cost)
}
