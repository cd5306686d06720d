//! The training loop and evaluation.

use super::optim::{clip_grad_norm, AdamW, Plateau};
use super::{CrossEntropy, EpochRecord, Objective, TrainConfig, Utterance};
use crate::cost::CostReport;
use crate::nn::loss::{frame_cross_entropy, utterance_decision, Readout};
use crate::nn::{Mode, Model, Params, SequenceTape};
use crate::rng::Rng;
use crate::{Error, Result};
use rayon::prelude::*;
use std::time::Instant;

/// Sequences whose gradients share one buffer (summed in order within the group).
const GROUP: usize = 2;

/// One group's summed loss, correct decisions, cost and the utterances that went non-finite.
type GroupResult = (f64, usize, CostReport, Vec<usize>);

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

/// The mode of epoch `epoch` (0-based) under `config`.
pub fn epoch_mode(config: &TrainConfig, epoch: usize) -> Mode {
    if config.dense || epoch < config.pretrain_dense_epochs {
        Mode::Dense
    } else {
        Mode::Delta(config.thresholds)
    }
}

fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
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
                let mut dlogits = vec![0.0f32; tape.logits.len()];
                let (loss, frames) =
                    frame_cross_entropy(&mut dlogits, &tape.logits, u.frame_labels(), model.config.n_classes, 1.0);
                let decision = utterance_decision(&tape.logits, model.config.n_classes, readout);
                (loss, frames, decision, CostReport::from_tape(&model.config, tape, mode))
            })
            .collect()
    });
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
/// `train`; validation still scores the cross-entropy.
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
    let pool = thread_pool(config.threads)?;
    let batch_size = config.batch_size.min(train.len());
    let n_groups = batch_size.div_ceil(GROUP);
    let mut buffers: Vec<Params<f32>> = (0..n_groups).map(|_| Params::zeros(&model.config)).collect();
    let mut tapes: Vec<SequenceTape<f32>> = (0..n_groups).map(|_| SequenceTape::default()).collect();
    let mut grads = Params::zeros(&model.config);
    while state.epochs_done < config.epochs {
        let epoch = state.epochs_done; // 0-based
        let mode = epoch_mode(config, epoch);
        let first_delta_after_pretraining =
            !config.dense && config.pretrain_dense_epochs > 0 && epoch == config.pretrain_dense_epochs;
        let epoch_lr = if first_delta_after_pretraining { state.learning_rate * 0.1 } else { state.learning_rate };

        let order = epoch_order(config.seed, epoch, train.len());
        let batches: Vec<&[usize]> = order.chunks(batch_size).collect();

        let start = Instant::now();
        let mut cost = CostReport::default();
        let (mut loss_sum, mut frames_sum, mut correct) = (0.0, 0usize, 0usize);
        for (b, batch) in batches.iter().enumerate() {
            check_inputs(batch.iter().map(|&i| &train[i]), model.config.n_features, || {
                format!("training epoch {}, batch {}", epoch + 1, b + 1)
            })?;
            let frames: usize =
                batch.iter().map(|&i| train[i].frame_labels().iter().filter(|&&l| l >= 0).count()).sum();
            let scale = 1.0 / frames.max(1) as f64;
            let model_ref = &*model;
            // Fixed groups of GROUP sequences, each summed into its own buffer in order, then the
            // buffers summed in order: the result does not depend on the thread count.
            let groups: Vec<&[usize]> = batch.chunks(GROUP).collect();
            // Longest groups first, one group per task: the threads finish together (the sums
            // stay in group order, so the order of execution does not change the result).
            let mut work: Vec<(usize, GroupBuffers<'_>)> =
                buffers[..groups.len()].iter_mut().zip(tapes[..groups.len()].iter_mut()).enumerate().collect();
            let group_frames = |k: usize| groups[k].iter().map(|&i| train[i].frames().len()).sum::<usize>();
            work.sort_by_key(|(k, _)| std::cmp::Reverse(group_frames(*k)));
            let mut per_group: Vec<(usize, GroupResult)> = pool.install(|| {
                work.into_par_iter()
                    .with_max_len(1)
                    .map(|(k, (g, tape))| {
                        let group = groups[k];
                        g.fill_zero();
                        let (mut loss_sum, mut hits, mut cost) = (0.0, 0, CostReport::default());
                        let mut bad = Vec::new();
                        for &i in group.iter() {
                            let u = &train[i];
                            let n_classes = model_ref.config.n_classes;
                            let loss = model_ref.loss_and_gradient_with(
                                g,
                                tape,
                                u.frames(),
                                mode,
                                config.l1_beta,
                                |logits, dlogits| {
                                    objective.loss(i, logits, u.frame_labels(), n_classes, scale, dlogits)
                                },
                            );
                            let decision = utterance_decision(&tape.logits, model_ref.config.n_classes, config.readout);
                            let sequence_loss = loss.cross_entropy_sum + loss.l1_penalty / scale;
                            // Name the sequence where a non-finite value first appears.
                            if !sequence_loss.is_finite() || (bad.is_empty() && !g.all_finite()) {
                                bad.push(i);
                            }
                            loss_sum += sequence_loss;
                            hits += usize::from(decision == u.label());
                            cost.add(&CostReport::from_tape(&model_ref.config, tape, mode));
                        }
                        (k, (loss_sum, hits, cost, bad))
                    })
                    .collect()
            });
            per_group.sort_by_key(|(k, _)| *k);
            let parts: Vec<&Params<f32>> = per_group.iter().map(|(k, _)| &buffers[*k]).collect();
            pool.install(|| grads.set_sum(&parts));
            let mut batch_loss = 0.0;
            for (_, (loss, hit, c, _)) in per_group.iter() {
                batch_loss += loss;
                correct += hit;
                cost.add(c);
            }
            let norm = clip_grad_norm(&mut grads, config.clip_norm);
            let mean_loss = batch_loss / frames.max(1) as f64;
            if !mean_loss.is_finite() || !norm.is_finite() {
                let what = if mean_loss.is_finite() { "gradient norm" } else { "loss" };
                let utterances =
                    per_group.iter().flat_map(|(_, g)| &g.3).map(|&i| train[i].name().to_string()).collect();
                return Err(Error::Diverged { epoch: epoch + 1, batch: b + 1, what: what.into(), utterances });
            }
            let step = state.optimizer.steps as usize + 1;
            let lr = if step <= config.warmup_steps {
                epoch_lr * step as f64 / config.warmup_steps as f64
            } else {
                epoch_lr
            };
            let before = model.params.clone();
            pool.install(|| state.optimizer.update(&mut model.params, &grads, lr));
            if !model.params.all_finite() {
                model.params = before;
                return Err(Error::Diverged {
                    epoch: epoch + 1,
                    batch: b + 1,
                    what: "parameters".into(),
                    utterances: Vec::new(),
                });
            }
            loss_sum += batch_loss;
            frames_sum += frames;
            on_event(Event::Batch { epoch: epoch + 1, batch: b, batches: batches.len(), loss: mean_loss })?;
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let valid_eval = evaluate(model, valid, mode, config.readout, config.threads)?;
        state.learning_rate = state.plateau.step(valid_eval.loss, state.learning_rate);
        let improved = valid.is_empty() || valid_eval.accuracy > state.best_valid_accuracy;
        if improved {
            state.best_valid_accuracy = valid_eval.accuracy;
            state.best_epoch = epoch + 1;
        }
        let training = cost.total().training();
        state.history.push(EpochRecord {
            epoch: epoch + 1,
            mode: if matches!(mode, Mode::Dense) { "dense" } else { "delta" }.into(),
            train_loss: loss_sum / frames_sum.max(1) as f64,
            train_accuracy: correct as f64 / train.len() as f64,
            valid_loss: valid_eval.loss,
            valid_accuracy: valid_eval.accuracy,
            learning_rate: state.learning_rate,
            sparsity: cost.sparsity(),
            ops_dense: training.dense_ops(),
            ops_actual: training.actual_ops(),
            train_seconds,
        });
        state.epochs_done += 1;
        on_event(Event::Epoch { model, state, improved })?;
        if config.early_stop_patience > 0 && state.epochs_done - state.best_epoch >= config.early_stop_patience {
            break;
        }
    }
    Ok(())
}
