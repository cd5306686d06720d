//! The training loop and evaluation.

use super::datapath::{overflow_error, round_weights_to_format, tape_overflow};
use super::optim::{clip_grad_norm, AdamW, Plateau};
use super::{BatchContext, CrossEntropy, EpochRecord, Objective, TrainConfig, Utterance};
use crate::cost::CostReport;
use crate::nn::loss::{frame_cross_entropy, utterance_decision, Readout};
use crate::nn::{Mode, Model, ModelConfig, Params, SequenceTape};
use crate::rng::Rng;
use crate::{Error, Result};
use rayon::prelude::*;
use std::time::Instant;

/// Sequences whose gradients share one buffer (summed in order within the group).
const GROUP: usize = 2;

/// One group's gradient buffer and tape.
type GroupBuffers<'a> = (&'a mut Params<f32>, &'a mut SequenceTape<f32>);

/// Everything that changes during training, saved after every epoch so a run resumes exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainState {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimiser moments and step count.
    pub optimizer: AdamW,
    /// Current learning rate (after plateau reductions).
    pub learning_rate: f64,
    /// Reduce-on-plateau bookkeeping.
    pub plateau: Plateau,
    /// Best validation accuracy so far and its epoch.
    pub best_valid_accuracy: f64,
    /// Epoch (1-based) of the best validation accuracy; 0 before any.
    pub best_epoch: usize,
    /// Per-epoch history.
    pub history: Vec<EpochRecord>,
}

impl TrainState {
    /// The state before the first epoch.
    pub fn new(model: &Model<f32>, config: &TrainConfig) -> Self {
        TrainState {
            epochs_done: 0,
            optimizer: AdamW::new(&model.config, config.weight_decay),
            learning_rate: config.learning_rate,
            plateau: Plateau::new(config.plateau_factor, config.plateau_patience, config.min_learning_rate),
            best_valid_accuracy: f64::NEG_INFINITY,
            best_epoch: 0,
            history: Vec::new(),
        }
    }

    /// Total training seconds over the recorded epochs.
    pub fn train_seconds(&self) -> f64 {
        self.history.iter().map(|r| r.train_seconds).sum()
    }
}

/// What [`fit`] reports to its caller.
pub enum Event<'a> {
    /// A batch finished: epoch (1-based), batch index, number of batches, mean frame loss.
    Batch {
        /// 1-based epoch.
        epoch: usize,
        /// 0-based batch index.
        batch: usize,
        /// Batches in the epoch.
        batches: usize,
        /// Mean per-frame loss of the batch.
        loss: f64,
    },
    /// An epoch finished; `improved` when the validation accuracy is the best so far. The caller
    /// saves the model (when improved) and the state; an error stops training.
    Epoch {
        /// The model after the epoch.
        model: &'a Model<f32>,
        /// The state after the epoch.
        state: &'a TrainState,
        /// Whether this epoch has the best validation accuracy so far.
        improved: bool,
    },
}

/// Loss, accuracy and cost of a model on a set of utterances.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Mean per-frame cross-entropy.
    pub loss: f64,
    /// Fraction of utterances whose decision equals their label.
    pub accuracy: f64,
    /// Utterances evaluated.
    pub utterances: usize,
    /// Forward cost (inference).
    pub cost: CostReport,
    /// The decided class of every utterance, in order.
    pub predictions: Vec<usize>,
}

/// A rayon pool of `threads` workers, the one pool builder of training, evaluation and
/// incremental learning.
pub(crate) fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start {threads} worker threads: {e}")))
}

/// Checks that every input frame of `utterances` is finite, naming the first bad one.
fn check_inputs<'a, U: Utterance + 'a>(
    utterances: impl IntoIterator<Item = &'a U>,
    n_features: usize,
    context: impl Fn() -> String,
) -> Result<()> {
    for u in utterances {
        if crate::kernels::all_finite(u.frames()) {
            continue;
        }
        if let Some(i) = u.frames().iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFiniteInput {
                utterance: u.name().to_string(),
                frame: i / n_features.max(1),
                feature: i % n_features.max(1),
                value: u.frames()[i],
                context: context(),
            });
        }
    }
    Ok(())
}

/// Runs `model` over every utterance (in parallel on `threads` threads) and scores it.
pub fn evaluate<U: Utterance>(
    model: &Model<f32>,
    data: &[U],
    mode: Mode,
    readout: Readout,
    threads: usize,
) -> Result<Evaluation> {
    check_inputs(data, model.config.n_features, || "evaluation".into())?;
    let pool = thread_pool(threads)?;
    let results: Vec<(f64, usize, usize, CostReport)> = pool.install(|| {
        data.par_iter()
            .map_init(SequenceTape::default, |tape, u| {
                model.forward(u.frames(), mode, tape);
                if let Some((layer, overflow)) = tape_overflow(tape) {
                    return Err(overflow_error("evaluation".into(), u.name(), layer, overflow));
                }
                let mut dlogits = vec![0.0f32; tape.logits.len()];
                let (loss, frames) =
                    frame_cross_entropy(&mut dlogits, &tape.logits, u.frame_labels(), model.config.n_classes, 1.0);
                let decision = utterance_decision(&tape.logits, model.config.n_classes, readout);
                Ok((loss, frames, decision, CostReport::from_tape(&model.config, tape, mode)))
            })
            .collect::<Result<_>>()
    })?;
    let mut cost = CostReport::default();
    let (mut loss, mut frames, mut correct) = (0.0, 0usize, 0usize);
    let mut predictions = Vec::with_capacity(data.len());
    for ((l, f, decision, c), u) in results.iter().zip(data) {
        loss += l;
        frames += f;
        correct += usize::from(*decision == u.label());
        predictions.push(*decision);
        cost.add(c);
    }
    Ok(Evaluation {
        loss: loss / frames.max(1) as f64,
        accuracy: correct as f64 / data.len().max(1) as f64,
        utterances: data.len(),
        cost,
        predictions,
    })
}

/// The order in which epoch `epoch` (0-based) visits `n` training sequences. It depends only on
/// the seed and the epoch, so a resumed run sees the same batches.
pub fn epoch_order(seed: u64, epoch: usize, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    Rng::seed(seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)).shuffle(&mut order);
    order
}

/// Trains `model` from `state` until `config.epochs` epochs are done or early stopping triggers.
/// Every epoch is reported through `on_event` (which saves files). Stops with an error naming the
/// epoch and batch when a loss or gradient is not finite; the parameters are then those after the
/// last good update, and nothing of the bad batch is applied.
pub fn fit<U: Utterance>(
    model: &mut Model<f32>,
    state: &mut TrainState,
    config: &TrainConfig,
    train: &[U],
    valid: &[U],
    on_event: impl FnMut(Event<'_>) -> Result<()>,
) -> Result<()> {
    fit_with(model, state, config, train, valid, &CrossEntropy, on_event)
}

/// [`fit`] minimising `objective` instead of the per-frame cross-entropy (class-incremental
/// learning adds a distillation term). The objective sees each training sequence's index in
/// `train`; validation still scores the cross-entropy. The Delta network runs at the model's own
/// thresholds ([`crate::nn::ModelConfig::thresholds`]).
///
/// Per epoch: the seeded order in batches; per batch, `Trainer::batch_gradient` (sequences in
/// parallel, fixed-order sums) then `Trainer::update` (clip, divergence checks, warm-up, AdamW);
/// after the last batch, `finish_epoch` (validation, plateau, the epoch's record).
pub fn fit_with<U: Utterance, O: Objective>(
    model: &mut Model<f32>,
    state: &mut TrainState,
    config: &TrainConfig,
    train: &[U],
    valid: &[U],
    objective: &O,
    mut on_event: impl FnMut(Event<'_>) -> Result<()>,
) -> Result<()> {
    config.validate()?;
    if train.is_empty() {
        return Err(Error::Invalid("the training split is empty".into()));
    }
    if config.arith.is_some() {
        check_arith_widths(&model.config)?;
    }
    let batch_size = config.batch_size.min(train.len());
    let mut trainer = Trainer::new(&model.config, config, batch_size)?;
    let first_epoch = state.epochs_done;
    while state.epochs_done < config.epochs {
        let epoch = state.epochs_done; // 0-based
        let mode = config.epoch_mode(model.config.thresholds, epoch);
        let learning_rate = epoch_learning_rate(config, state, epoch);
        let order = epoch_order(config.seed, epoch, train.len());
        let batches: Vec<&[usize]> = order.chunks(batch_size).collect();
        let start = Instant::now();
        let mut totals = BatchOutcome::default();
        for (b, batch) in batches.iter().enumerate() {
            let at = BatchPosition { epoch: epoch + 1, batch: b + 1 };
            // The inputs do not change while training: the first epoch of this call checks
            // every sequence once (naming the batch it is in), later epochs skip the pass.
            if epoch == first_epoch {
                check_inputs(batch.iter().map(|&i| &train[i]), model.config.n_features, || {
                    format!("training epoch {}, batch {}", at.epoch, at.batch)
                })?;
            }
            let outcome = trainer.batch_gradient(model, train, batch, mode, objective);
            let mean_loss = trainer.update(model, state, &outcome, learning_rate, at, train)?;
            totals.add(&outcome);
            on_event(Event::Batch { epoch: at.epoch, batch: b, batches: batches.len(), loss: mean_loss })?;
        }
        let seconds = start.elapsed().as_secs_f64();
        let improved = finish_epoch(model, state, config, valid, mode, &totals, seconds)?;
        on_event(Event::Epoch { model, state, improved })?;
        if config.early_stop_patience > 0 && state.epochs_done - state.best_epoch >= config.early_stop_patience {
            break;
        }
    }
    Ok(())
}

/// The accelerator's instructions take at most 256 columns: a layer trained in its arithmetic
/// needs F + H <= 256 (column tiles would change the order of a BF16 sum; not modelled).
fn check_arith_widths(config: &ModelConfig) -> Result<()> {
    for k in 0..config.n_layers {
        let columns = config.layer_input(k) + config.n_hidden;
        if columns > crate::sim::rtl::tile::MAX_WIDTH {
            return Err(Error::Invalid(format!(
                "layer {k} has {columns} input + hidden columns; training in the accelerator's arithmetic \
                 takes at most 256 (one instruction)"
            )));
        }
    }
    Ok(())
}

/// Where a batch is in the run (both 1-based), for error messages.
#[derive(Debug, Clone, Copy)]
struct BatchPosition {
    epoch: usize,
    batch: usize,
}

/// What sequences contributed to a batch (or an epoch, summed in batch order): summed loss,
/// counted frames, sequences, correct decisions, cost, and the training sequences whose loss or
/// gradient went non-finite.
#[derive(Debug, Default)]
struct BatchOutcome {
    loss: f64,
    frames: usize,
    sequences: usize,
    correct: usize,
    cost: CostReport,
    non_finite: Vec<usize>,
    /// The first FXP16 overflow: (sequence, layer, overflow).
    overflow: Option<(usize, usize, crate::nn::datapath::Overflow)>,
}

impl BatchOutcome {
    /// Adds `other`'s sums after this one's (floating-point sums in this order); the non-finite
    /// list is the caller's to merge.
    fn add(&mut self, other: &BatchOutcome) {
        self.loss += other.loss;
        self.frames += other.frames;
        self.sequences += other.sequences;
        self.correct += other.correct;
        self.cost.add(&other.cost);
    }
}

/// The learning rate of epoch `epoch` (0-based) before warm-up: the state's, a tenth of it in
/// the first Delta epoch after dense pretraining, times `first_epoch_lr_scale` in the first epoch.
fn epoch_learning_rate(config: &TrainConfig, state: &TrainState, epoch: usize) -> f64 {
    let first_delta_after_pretraining =
        !config.dense && config.pretrain_dense_epochs > 0 && epoch == config.pretrain_dense_epochs;
    let lr = if first_delta_after_pretraining { state.learning_rate * 0.1 } else { state.learning_rate };
    if epoch == 0 {
        lr * config.first_epoch_lr_scale
    } else {
        lr
    }
}

/// The pool and the buffers a training run reuses from batch to batch: one gradient buffer and
/// one tape per group of [`GROUP`] sequences, and the batch gradient.
struct Trainer<'c> {
    config: &'c TrainConfig,
    pool: rayon::ThreadPool,
    group_grads: Vec<Params<f32>>,
    tapes: Vec<SequenceTape<f32>>,
    grads: Params<f32>,
}

impl<'c> Trainer<'c> {
    fn new(model: &ModelConfig, config: &'c TrainConfig, batch_size: usize) -> Result<Self> {
        let n_groups = batch_size.div_ceil(GROUP);
        Ok(Trainer {
            config,
            pool: thread_pool(config.threads)?,
            group_grads: (0..n_groups).map(|_| Params::zeros(model)).collect(),
            tapes: (0..n_groups).map(|_| SequenceTape::default()).collect(),
            grads: Params::zeros(model),
        })
    }

    /// The gradient of one batch into `self.grads` (the sum over its sequences, scaled by one over
    /// its labelled frames) and what the sequences contributed.
    ///
    /// Fixed groups of [`GROUP`] sequences each sum into their own buffer in order, then the
    /// buffers are summed in group order: the result does not depend on the thread count. The
    /// longest groups start first, one group per task, so the threads finish together.
    fn batch_gradient<U: Utterance, O: Objective>(
        &mut self,
        model: &Model<f32>,
        train: &[U],
        batch: &[usize],
        mode: Mode,
        objective: &O,
    ) -> BatchOutcome {
        let frames: usize = batch.iter().map(|&i| train[i].frame_labels().iter().filter(|&&l| l >= 0).count()).sum();
        let scale = 1.0 / frames.max(1) as f64;
        let groups: Vec<&[usize]> = batch.chunks(GROUP).collect();
        let n = groups.len();
        let mut work: Vec<(usize, GroupBuffers<'_>)> =
            self.group_grads[..n].iter_mut().zip(self.tapes[..n].iter_mut()).enumerate().collect();
        let group_frames = |k: usize| groups[k].iter().map(|&i| train[i].frames().len()).sum::<usize>();
        work.sort_by_key(|(k, _)| std::cmp::Reverse(group_frames(*k)));
        let batch_context = BatchContext { scale, members: batch };
        let inputs = BatchInputs { model, train, mode, objective, config: self.config, batch: batch_context };
        let mut per_group: Vec<(usize, BatchOutcome)> = self.pool.install(|| {
            work.into_par_iter()
                .with_max_len(1)
                .map(|(k, (grads, tape))| (k, inputs.group_gradient(grads, tape, groups[k])))
                .collect()
        });
        per_group.sort_by_key(|(k, _)| *k);
        let parts: Vec<&Params<f32>> = per_group.iter().map(|(k, _)| &self.group_grads[*k]).collect();
        let grads = &mut self.grads;
        self.pool.install(|| grads.set_sum(&parts));
        let mut outcome = BatchOutcome { frames, ..BatchOutcome::default() };
        for (_, group) in &per_group {
            outcome.add(group); // groups count no frames: the batch's are set above
            outcome.non_finite.extend(&group.non_finite);
            outcome.overflow = outcome.overflow.or(group.overflow);
        }
        if outcome.non_finite.is_empty() && !self.grads.all_finite() {
            // Every loss was finite but the gradient is not: name the first sequence whose own
            // gradient is not finite, computed again alone (the same bits as in its group).
            let (grads, tape) = (&mut self.group_grads[0], &mut self.tapes[0]);
            let culprit = batch.iter().copied().find(|&i| {
                inputs.group_gradient(grads, tape, &[i]);
                !grads.all_finite()
            });
            outcome.non_finite.extend(culprit);
        }
        outcome
    }

    /// Applies the batch gradient in `self.grads`: clips it, refuses a non-finite loss, norm or
    /// result (naming the batch; the parameters stay as they were), ramps the learning rate over
    /// the warm-up and steps AdamW. Returns the batch's mean frame loss.
    fn update<U: Utterance>(
        &mut self,
        model: &mut Model<f32>,
        state: &mut TrainState,
        outcome: &BatchOutcome,
        epoch_learning_rate: f64,
        at: BatchPosition,
        train: &[U],
    ) -> Result<f64> {
        let config = self.config;
        if let Some((i, layer, overflow)) = outcome.overflow {
            let context = format!("training epoch {}, batch {}", at.epoch, at.batch);
            return Err(overflow_error(context, train[i].name(), layer, overflow));
        }
        let norm = clip_grad_norm(&mut self.grads, config.clip_norm);
        let mean_loss = outcome.loss / outcome.frames.max(1) as f64;
        if !mean_loss.is_finite() || !norm.is_finite() {
            let what = if mean_loss.is_finite() { "gradient norm" } else { "loss" };
            let utterances = outcome.non_finite.iter().map(|&i| train[i].name().to_string()).collect();
            return Err(Error::Diverged { epoch: at.epoch, batch: at.batch, what: what.into(), utterances });
        }
        let step = state.optimizer.steps as usize + 1;
        let lr = if step <= config.warmup_steps {
            epoch_learning_rate * step as f64 / config.warmup_steps as f64
        } else {
            epoch_learning_rate
        };
        let before = model.params.clone();
        let grads = &self.grads;
        self.pool.install(|| state.optimizer.update(&mut model.params, grads, lr));
        if let (Some(datapath), true) = (&config.arith, config.weights_in_format) {
            let context = format!("training epoch {}, batch {} (weights in format)", at.epoch, at.batch);
            if let Err(e) = round_weights_to_format(model, datapath, &context) {
                model.params = before;
                return Err(e);
            }
        }
        if !model.params.all_finite() {
            model.params = before;
            return Err(Error::Diverged {
                epoch: at.epoch,
                batch: at.batch,
                what: "parameters".into(),
                utterances: Vec::new(),
            });
        }
        Ok(mean_loss)
    }
}

/// What every group of one batch shares.
struct BatchInputs<'a, U, O> {
    model: &'a Model<f32>,
    train: &'a [U],
    mode: Mode,
    objective: &'a O,
    config: &'a TrainConfig,
    /// The batch's scale and members, for the objective.
    batch: BatchContext<'a>,
}

impl<U: Utterance, O: Objective> BatchInputs<'_, U, O> {
    /// One group's sequences in order: each sequence's gradient added into `grads` (zeroed
    /// first), its loss, decision and cost.
    fn group_gradient(&self, grads: &mut Params<f32>, tape: &mut SequenceTape<f32>, group: &[usize]) -> BatchOutcome {
        let (model, config, scale) = (self.model, self.config, self.batch.scale);
        grads.fill_zero();
        let n_classes = model.config.n_classes;
        let mut outcome = BatchOutcome::default();
        for &i in group {
            let u = &self.train[i];
            let loss =
                model.loss_and_gradient_with(grads, tape, u.frames(), self.mode, config.l1_beta, |logits, dlogits| {
                    self.objective.loss(i, logits, u.frame_labels(), n_classes, self.batch, dlogits)
                });
            if let (None, Some((layer, overflow))) = (outcome.overflow, tape_overflow(tape)) {
                outcome.overflow = Some((i, layer, overflow));
            }
            let decision = utterance_decision(&tape.logits, n_classes, config.readout);
            let sequence_loss = loss.cross_entropy_sum + loss.l1_penalty / scale;
            // A non-finite gradient with a finite loss is found after the batch's sum
            // (`Trainer::batch_gradient`), not here: checking every sequence's gradient cost 3%
            // of a Delta epoch.
            if !sequence_loss.is_finite() {
                outcome.non_finite.push(i);
            }
            outcome.loss += sequence_loss;
            outcome.sequences += 1;
            outcome.correct += usize::from(decision == u.label());
            outcome.cost.add(&CostReport::from_tape(&model.config, tape, self.mode));
        }
        outcome
    }
}

/// Ends an epoch: validation, the plateau schedule, the best epoch and the epoch's record.
/// Returns whether the validation accuracy is the best so far.
fn finish_epoch<U: Utterance>(
    model: &Model<f32>,
    state: &mut TrainState,
    config: &TrainConfig,
    valid: &[U],
    mode: Mode,
    totals: &BatchOutcome,
    train_seconds: f64,
) -> Result<bool> {
    let epoch = state.epochs_done + 1;
    let valid_eval = evaluate(model, valid, mode, config.readout, config.threads)?;
    let train_loss = totals.loss / totals.frames.max(1) as f64;
    let criterion = if valid.is_empty() { train_loss } else { valid_eval.loss };
    state.learning_rate = state.plateau.step(criterion, state.learning_rate);
    let improved = valid.is_empty() || valid_eval.accuracy > state.best_valid_accuracy;
    if improved {
        state.best_valid_accuracy = valid_eval.accuracy;
        state.best_epoch = epoch;
    }
    let training = totals.cost.total().training();
    state.history.push(EpochRecord {
        epoch,
        mode: mode.kind(),
        train_loss,
        train_accuracy: totals.correct as f64 / totals.sequences as f64,
        valid_loss: valid_eval.loss,
        valid_accuracy: valid_eval.accuracy,
        learning_rate: state.learning_rate,
        sparsity: totals.cost.sparsity(),
        ops_dense: training.dense_ops(),
        ops_actual: training.actual_ops(),
        ops_executed: training.executed_ops(),
        train_seconds,
    });
    state.epochs_done += 1;
    Ok(improved)
}
