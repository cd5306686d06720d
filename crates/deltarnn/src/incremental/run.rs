//! One class-incremental run ([`run_incremental`]), increment by increment, in named phases:
//! grow the head, gather the training set, the teacher's logits, train, herd the new classes,
//! class means, score, record.

use super::record::{Event, IncrementRecord};
use super::{
    herding, AudioSource, ClassMeans, ClassSchedule, Classifier, DistillationObjective, DistillationScale,
    ExemplarMemory, IncrementalConfig,
};
use crate::cost::CostReport;
use crate::data::Example;
use crate::nn::datapath::QFormat;
use crate::nn::loss::{utterance_decision, Readout};
use crate::nn::{init_params, Mode, Model, ModelConfig, SequenceTape};
use crate::rng::Rng;
use crate::train::datapath::{overflow_error, tape_overflow};
use crate::train::{fit_with, resolve_q_format, thread_pool, TrainConfig, TrainState};
use crate::{Error, Protocol, Result};
use rayon::prelude::*;
use std::ops::Range;
use std::time::Instant;

/// Runs the class-incremental protocol. `train` and `test` are a dataset's examples (labels are
/// dataset class ids 1..=C, `n_features` values per frame); classes outside the schedule are
/// ignored. `audio` re-featurises exemplars when `config.storage` is [`super::Storage::Audio`].
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
    config.validate(audio.is_some())?;
    let mut config = config.clone();
    resolve_incremental_q_format(&mut config, schedule, n_features, train)?;
    let config = &config;
    let train = renumber(train, &schedule.order);
    let test = renumber(test, &schedule.order);
    for (k, range) in schedule.increments().into_iter().enumerate() {
        if !train.iter().any(|e| range.contains(&(e.label - 1))) {
            return Err(Error::Invalid(format!("increment {k} has no training utterance")));
        }
    }
    let run = Run {
        config,
        schedule,
        n_features,
        train: &train,
        test: &test,
        audio,
        mode: config.mode(),
        pool: thread_pool(config.train.threads)?,
    };
    let mut model: Option<Model<f32>> = None;
    let mut memory = ExemplarMemory::new(config.memory);
    let mut records = Vec::new();
    for (k, range) in schedule.increments().into_iter().enumerate() {
        let (student, record) = run.increment(k, range, model.take(), &mut memory, &mut on_event)?;
        on_event(Event::Increment(&record))?;
        records.push(record);
        model = Some(student);
    }
    Ok((model.expect("at least the base increment ran"), records))
}

/// Resolves an FXP16 run's Q format when `config.train` asks for it to be chosen from the data
/// ([`crate::train::calibrate_q_format`]): on the base model (increment 0's initialisation) and
/// the base classes' training utterances, as `train` would for that model. The format is stored
/// in `config.train.arith` (and the request cleared), so a caller that resolves first can report
/// it; [`run_incremental`] resolves whatever is still unresolved. Returns the format chosen.
pub fn resolve_incremental_q_format(
    config: &mut IncrementalConfig,
    schedule: &ClassSchedule,
    n_features: usize,
    train: &[Example],
) -> Result<Option<QFormat>> {
    if !config.train.calibrate_q_format {
        return Ok(None);
    }
    let base = schedule.increments()[0].clone();
    // The base classes' utterances, labelled as the run labels them (1..=base by arrival).
    let base_train: Vec<Example> =
        renumber(train, &schedule.order).into_iter().filter(|e| e.label <= base.end).collect();
    let model = init_params::<f32>(&base_model_config(config, n_features, base.end), config.train.seed)?;
    resolve_q_format(&mut config.train, &model, &base_train)
}

/// The base model's shape: `classes` classes after silence.
fn base_model_config(config: &IncrementalConfig, n_features: usize, classes: usize) -> ModelConfig {
    ModelConfig {
        cell: config.cell,
        n_features,
        n_layers: config.n_layers,
        n_hidden: config.n_hidden,
        n_classes: 1 + classes,
        thresholds: config.thresholds,
    }
}

/// What every increment of a run reads.
struct Run<'a> {
    config: &'a IncrementalConfig,
    schedule: &'a ClassSchedule,
    n_features: usize,
    /// Training examples, renumbered by arrival.
    train: &'a [Example],
    /// Test examples, renumbered by arrival.
    test: &'a [Example],
    audio: Option<&'a dyn AudioSource>,
    mode: Mode,
    pool: rayon::ThreadPool,
}

/// Increment `index` (0: the base task) and its classes as positions in the schedule's order.
/// As outputs: `1..=old` were seen before, `old + 1..=seen` arrive now (0 is silence).
#[derive(Debug, Clone)]
struct Increment {
    index: usize,
    classes: Range<usize>,
}

impl Increment {
    /// Classes seen before this increment.
    fn old(&self) -> usize {
        self.classes.start
    }

    /// Classes seen after it.
    fn seen(&self) -> usize {
        self.classes.end
    }

    fn is_new(&self, e: &Example) -> bool {
        e.label > self.old() && e.label <= self.seen()
    }
}

/// The scored test utterances and each one's decisions.
struct Scores<'t> {
    /// The test utterances of every class seen so far.
    utterances: Vec<&'t Example>,
    decisions: Vec<Decision>,
    /// Whether nearest-mean decisions were made (there are exemplars).
    has_means: bool,
}

/// One scored utterance: the head's class and the nearest-mean class (None without exemplars).
type Decision = (usize, Option<usize>);
/// Which of the two decisions a classifier uses.
type Pick = fn(&Decision) -> Option<usize>;

/// What one increment's training produced, for its record.
struct Trained {
    state: TrainState,
    /// The trainer's batch size for this increment.
    batch_size: usize,
    /// Training utterances (new classes and exemplars).
    utterances: usize,
    exemplars_used: usize,
}

impl Run<'_> {
    /// Increment `k` (classes `range` of the schedule): grow the head of `model` (or initialise
    /// the base model), train, update the memory, score. Returns the updated model.
    fn increment(
        &self,
        k: usize,
        range: Range<usize>,
        model: Option<Model<f32>>,
        memory: &mut ExemplarMemory,
        on_event: &mut impl FnMut(Event<'_>) -> Result<()>,
    ) -> Result<(Model<f32>, IncrementRecord)> {
        let start = Instant::now();
        let increment = Increment { index: k, classes: range };
        let mut other_cost = CostReport::default();
        // The network before the update is the teacher; the student grows its head.
        let teacher = model.clone();
        let mut student = self.grow(model, &increment)?;
        let trained = self.train(&mut student, teacher.as_ref(), &increment, memory, &mut other_cost, on_event)?;
        self.herd(&student, &increment, memory, &mut other_cost)?;
        let means = self.class_means(&student, memory, &mut other_cost)?;
        let scores = self.score(&student, means.as_ref(), &increment)?;
        let record = self.record(&increment, &scores, &trained, &other_cost, memory, start)?;
        Ok((student, record))
    }

    /// The base model (increment 0) or `model` with its head grown to the classes seen.
    fn grow(&self, model: Option<Model<f32>>, increment: &Increment) -> Result<Model<f32>> {
        let (config, seed) = (self.config, self.config.train.seed);
        match model {
            None => init_params::<f32>(&base_model_config(config, self.n_features, increment.seen()), seed),
            Some(mut m) => {
                let old = m.config.n_classes;
                m.grow_classes(1 + increment.seen(), Rng::derive(seed, increment.index as u64).next_u64())?;
                if config.protocol == Protocol::Authors {
                    m.params.head.b[old..].fill(0.0); // the authors' new rows start at bias 0
                }
                Ok(m)
            }
        }
    }

    /// Trains `student` on the new classes' utterances and the exemplars, distilling `teacher`'s
    /// logits on the old outputs (their forward cost goes to `other_cost`).
    fn train(
        &self,
        student: &mut Model<f32>,
        teacher: Option<&Model<f32>>,
        increment: &Increment,
        memory: &ExemplarMemory,
        other_cost: &mut CostReport,
        on_event: &mut impl FnMut(Event<'_>) -> Result<()>,
    ) -> Result<Trained> {
        let (config, k) = (self.config, increment.index);
        // Training set: the new classes' utterances, then the exemplars.
        let exemplars = memory.examples(self.train, config.storage, self.audio)?;
        let exemplars_used = exemplars.len();
        let mut set: Vec<Example> = self.train.iter().filter(|e| increment.is_new(e)).cloned().collect();
        let n_new = set.len();
        set.extend(exemplars);
        let teacher_logits = match teacher.filter(|_| config.distillation_weight > 0.0) {
            Some(t) => self.teacher_logits(t, &set, n_new, k, other_cost)?,
            None => Vec::new(),
        };
        let objective = DistillationObjective {
            teacher_logits: &teacher_logits,
            n_old: 1 + increment.old(),
            weight: config.distillation_weight,
            scale: match config.protocol {
                Protocol::Ours => DistillationScale::PerFrame,
                Protocol::Authors => DistillationScale::MeanOverTaught,
            },
        };
        let train_config = self.increment_train_config(k);
        let mut state = TrainState::new(student, &train_config);
        fit_with(student, &mut state, &train_config, &set, &[], &objective, |event| match event {
            crate::train::Event::Batch { epoch, batch, batches, .. } => {
                on_event(Event::Batch { increment: k, epoch, batch, batches })
            }
            crate::train::Event::Epoch { .. } => Ok(()),
        })?;
        Ok(Trained { state, batch_size: train_config.batch_size, utterances: set.len(), exemplars_used })
    }

    /// The teacher's logits on the training set `set`, whose first `n_new` utterances are the new
    /// classes' and the rest exemplars: on every utterance (ours), or on the exemplars only (the
    /// authors', who distil the old-class samples only; the others get an empty vector).
    fn teacher_logits(
        &self,
        teacher: &Model<f32>,
        set: &[Example],
        n_new: usize,
        k: usize,
        cost: &mut CostReport,
    ) -> Result<Vec<Vec<f32>>> {
        let context = || format!("the teacher's logits of increment {k}");
        Ok(match self.config.protocol {
            Protocol::Ours => self.forward_all(teacher, set, cost, context, |tape, _| tape.logits.clone())?,
            Protocol::Authors => {
                let mut logits = vec![Vec::new(); n_new];
                logits.extend(self.forward_all(teacher, &set[n_new..], cost, context, |tape, _| tape.logits.clone())?);
                logits
            }
        })
    }

    /// The trainer's settings for increment `k`: a seed of its own, no early stopping (there is no
    /// validation inside an increment); a constant learning rate (ours), or the authors' schedule:
    /// the first epoch at a tenth of the rate, then reduce-on-plateau on the training loss
    /// (factor 0.8, patience 4, floor 3e-4: `project.py` defaults), no warm-up.
    fn increment_train_config(&self, k: usize) -> TrainConfig {
        let train = &self.config.train;
        let base = TrainConfig {
            seed: Rng::derive(train.seed, 1000 + k as u64).next_u64(),
            early_stop_patience: 0,
            ..train.clone()
        };
        match self.config.protocol {
            Protocol::Ours => TrainConfig { plateau_factor: 1.0, ..base },
            Protocol::Authors => TrainConfig {
                first_epoch_lr_scale: 0.1,
                plateau_factor: 0.8,
                plateau_patience: 4,
                min_learning_rate: 3e-4_f64.min(train.learning_rate),
                warmup_steps: 0,
                ..base
            },
        }
    }

    /// The readout feature of an utterance under the run's protocol.
    fn feature(&self, tape: &SequenceTape<f32>, example: &Example) -> Vec<f32> {
        readout_feature(tape, example, self.config.protocol)
    }

    /// Shrinks the old exemplar lists to the new quota and herds the new classes' exemplars on
    /// the updated network.
    fn herd(
        &self,
        student: &Model<f32>,
        increment: &Increment,
        memory: &mut ExemplarMemory,
        cost: &mut CostReport,
    ) -> Result<()> {
        // The authors split the memory over the classes and silence.
        let shares = increment.seen() + usize::from(self.config.protocol == Protocol::Authors);
        let quota = memory.quota(shares);
        memory.reduce(quota);
        if quota == 0 {
            return Ok(());
        }
        for class in (increment.old() + 1)..=increment.seen() {
            let members: Vec<usize> = (0..self.train.len()).filter(|&i| self.train[i].label == class).collect();
            let examples: Vec<Example> = members.iter().map(|&i| self.train[i].clone()).collect();
            let context = || format!("herding increment {}'s exemplars", increment.index);
            let features = self.forward_all(student, &examples, cost, context, |t, e| self.feature(t, e))?;
            let renormalize = self.config.protocol == Protocol::Authors;
            let picks = herding(&features.concat(), self.config.n_hidden, quota, renormalize);
            memory.insert(class, picks.into_iter().map(|p| members[p]).collect());
        }
        Ok(())
    }

    /// Class means of the exemplars' features under the updated network (None without exemplars).
    fn class_means(
        &self,
        student: &Model<f32>,
        memory: &ExemplarMemory,
        cost: &mut CostReport,
    ) -> Result<Option<ClassMeans>> {
        if memory.is_empty() {
            return Ok(None);
        }
        let stored = memory.examples(self.train, self.config.storage, self.audio)?;
        let context = || "the exemplars' class means".to_string();
        let features = self.forward_all(student, &stored, cost, context, |t, e| self.feature(t, e))?;
        let labels: Vec<usize> = stored.iter().map(|e| e.label).collect();
        Ok(Some(ClassMeans::fit(&features.concat(), self.config.n_hidden, &labels)))
    }

    /// The test utterances of every class seen so far and the head's and the nearest mean's
    /// decision for each (not counted in any cost: scoring is the experiment, not the device).
    fn score(&self, student: &Model<f32>, means: Option<&ClassMeans>, increment: &Increment) -> Result<Scores<'_>> {
        let seen = increment.seen();
        let utterances: Vec<&Example> = self.test.iter().filter(|e| e.label <= seen).collect();
        let mut unused = CostReport::default();
        let context = || format!("scoring increment {}", increment.index);
        let decisions = self.forward_all(student, &utterances, &mut unused, context, |tape, e| {
            let head = utterance_decision(&tape.logits, 1 + seen, Readout::LastNonSilence);
            let nme = means.map(|m| m.classify(&self.feature(tape, e)));
            (head, nme)
        });
        Ok(Scores { utterances, decisions: decisions?, has_means: means.is_some() })
    }

    /// The increment's record; `start` is when it began.
    fn record(
        &self,
        increment: &Increment,
        scores: &Scores<'_>,
        trained: &Trained,
        other_cost: &CostReport,
        memory: &ExemplarMemory,
        start: Instant,
    ) -> Result<IncrementRecord> {
        let accuracy_of =
            |pick: Pick, keep: &dyn Fn(&Example) -> bool| accuracy(&scores.utterances, &scores.decisions, pick, keep);
        let head_pick: Pick = |d| Some(d.0);
        let nme_pick: Pick = |d| d.1;
        let chosen = if self.config.classifier == Classifier::Nme { nme_pick } else { head_pick };
        let old = increment.old();
        let history = &trained.state.history;
        let set_len = trained.utterances;
        let updates = history.len() * set_len.div_ceil(trained.batch_size.min(set_len).max(1));
        let train_seconds = trained.state.train_seconds();
        let (train_ops, train_ops_dense) = history.iter().fold((0, 0), |(a, d), r| (a + r.ops_actual, d + r.ops_dense));
        let rows = (self.config.cell.gates() * self.config.n_hidden) as u64;
        let other = other_cost.total().forward_mxv;
        Ok(IncrementRecord {
            increment: increment.index,
            classes_seen: increment.seen(),
            new_classes: self.schedule.order[increment.classes.clone()].to_vec(),
            accuracy: accuracy_of(chosen, &|_| true),
            old_accuracy: (old > 0).then(|| accuracy_of(chosen, &|e| e.label <= old)),
            new_accuracy: accuracy_of(chosen, &|e| e.label > old),
            nme_accuracy: scores.has_means.then(|| accuracy_of(nme_pick, &|_| true)),
            head_accuracy: accuracy_of(head_pick, &|_| true),
            test_utterances: scores.utterances.len(),
            train_utterances: set_len,
            exemplars_used: trained.exemplars_used,
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
            memory_utterances: memory.len(),
            memory_bytes: memory.bytes(self.train, self.config.storage, self.audio)?,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// Runs `model` over every example in parallel on the run's pool, mapping each tape with
    /// `f`; returns the results in order and adds the forward cost to `cost`. In FXP16, a value
    /// that does not fit its format is an error naming `context` (what the forward passes are
    /// for), the utterance, layer, tensor and step.
    fn forward_all<E, R>(
        &self,
        model: &Model<f32>,
        examples: &[E],
        cost: &mut CostReport,
        context: impl Fn() -> String + Sync,
        f: impl Fn(&SequenceTape<f32>, &Example) -> R + Sync,
    ) -> Result<Vec<R>>
    where
        E: std::borrow::Borrow<Example> + Sync,
        R: Send,
    {
        let mode = self.mode;
        let results: Vec<(R, CostReport)> = self.pool.install(|| {
            examples
                .par_iter()
                .map_init(SequenceTape::default, |tape, e| {
                    let e = e.borrow();
                    model.forward(&e.frames, mode, tape);
                    if let Some((layer, overflow)) = tape_overflow(tape) {
                        return Err(overflow_error(context(), &e.path, layer, overflow));
                    }
                    Ok((f(tape, e), CostReport::from_tape(&model.config, tape, mode)))
                })
                .collect::<Result<_>>()
        })?;
        let mut out = Vec::with_capacity(results.len());
        for (r, c) in results {
            cost.add(&c);
            out.push(r);
        }
        Ok(out)
    }
}

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

/// The feature herding and NME work on: the top layer's hidden state, L2-normalised, at the last
/// frame labelled non-silence, else the last frame (ours), or at the last frame (the authors',
/// `project.py`: `features_out[feature_lengths[i] - 1]`). Shape (H).
pub fn readout_feature(tape: &SequenceTape<f32>, example: &Example, protocol: Protocol) -> Vec<f32> {
    let top = tape.layers.last().expect("a model has at least one layer");
    let last_frame = tape.steps.saturating_sub(1);
    let last = match protocol {
        Protocol::Ours => example.frame_labels.iter().rposition(|&l| l > 0).unwrap_or(last_frame),
        Protocol::Authors => last_frame,
    };
    let mut feature = top.h(last.min(tape.steps.saturating_sub(1))).to_vec();
    super::l2_normalize(&mut feature);
    feature
}
