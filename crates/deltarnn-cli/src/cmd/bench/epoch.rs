//! The `epoch` section: one full training epoch on a cached dataset, the Delta network with
//! sparse BPTT against dense BPTT, on 1 thread and on all threads (wall clock), with the main
//! job's settings (2 x 64 LSTM, batch 16, theta 0.1, L1 beta 1e-5).

use super::{median, Output, Settings};
use crate::args::{default_threads, DataArgs};
use crate::dataset::load;
use anyhow::{bail, Context, Result};
use deltarnn::data::Example;
use deltarnn::nn::{init_params, CellKind, Model, ModelConfig};
use deltarnn::train::{fit, TrainConfig, TrainState};
use deltarnn::Thresholds;
use std::path::PathBuf;

/// Flags of the epoch section.
#[derive(clap::Args)]
pub struct EpochArgs {
    /// Dataset for the epoch section (e.g. the demo's corpus/); features come from its cache.
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub data_args: DataArgs,
    /// Epochs timed per variant and thread count (alternating Delta, dense).
    #[arg(long, default_value_t = 3)]
    pub epoch_repeats: usize,
    /// Thread count of the many-thread case [default: every CPU].
    #[arg(long)]
    pub threads: Option<usize>,
    /// theta_x = theta_h of the Delta network.
    #[arg(long, default_value_t = 0.1)]
    pub theta: f64,
    /// Sequences per update.
    #[arg(long, default_value_t = 16)]
    pub epoch_batch: usize,
    /// L1 penalty on delta_h of the Delta network.
    #[arg(long, default_value_t = 1e-5)]
    pub l1_beta: f64,
}

/// Seconds of one training epoch from `model`, and the fraction of matrix work skipped.
fn one_epoch(model: &Model<f32>, config: &TrainConfig, train: &[Example]) -> Result<(f64, f64)> {
    let mut model = model.clone();
    let mut state = TrainState::new(&model, config);
    fit(&mut model, &mut state, config, train, &[], |_| Ok(())).context("training epoch")?;
    let record = state.history.last().context("no epoch recorded")?;
    Ok((record.train_seconds, 1.0 - record.ops_actual as f64 / record.ops_dense.max(1) as f64))
}

/// `--epoch-repeats` Delta epochs alternating with as many dense epochs from `model` on
/// `threads` threads: the median seconds of each and the fraction of matrix work Delta skipped.
fn alternate_epochs(
    model: &Model<f32>,
    args: &EpochArgs,
    settings: &Settings,
    threads: usize,
    train: &[Example],
) -> Result<(f64, f64, f64)> {
    let seed = settings.seed;
    let base = TrainConfig {
        product_form: settings.product_form,
        epochs: 1,
        batch_size: args.epoch_batch,
        learning_rate: 4e-3,
        seed,
        threads,
        early_stop_patience: 0,
        ..TrainConfig::default()
    };
    let delta = TrainConfig { l1_beta: args.l1_beta, ..base.clone() };
    let dense = TrainConfig { dense: true, ..base };
    let (mut delta_s, mut dense_s, mut skipped) = (Vec::new(), Vec::new(), 0.0);
    for _ in 0..args.epoch_repeats {
        let (s, skip) = one_epoch(model, &delta, train)?;
        delta_s.push(s);
        skipped = skip;
        dense_s.push(one_epoch(model, &dense, train)?.0);
    }
    Ok((median(&mut delta_s), median(&mut dense_s), skipped))
}

/// The epoch section: one training epoch on `args.data`, Delta against dense, on one thread and
/// on `--threads`, and the thread scaling.
pub fn run(out: &Output, args: &EpochArgs, settings: &Settings) -> Result<()> {
    let seed = settings.seed;
    let Some(dir) = &args.data else { bail!("the epoch section needs --data DIR (a dataset, e.g. the demo's corpus)") };
    if args.epoch_repeats == 0 {
        bail!("--epoch-repeats must be at least 1");
    }
    let threads = args.threads.unwrap_or_else(default_threads);
    if threads == 0 {
        bail!("--threads must be at least 1");
    }
    let dataset = load(dir, &args.data_args, None, out.json)?;
    let train = &dataset.train.examples;
    if train.is_empty() {
        bail!("{}: the training split is empty", dir.display());
    }
    let model_config = ModelConfig {
        cell: CellKind::Lstm,
        n_features: dataset.n_features(),
        n_layers: 2,
        n_hidden: 64,
        n_classes: dataset.n_classes(),
        thresholds: Thresholds::both(args.theta),
    };
    let model = init_params(&model_config, seed).context("initialising the model")?;
    out.header(
        &format!(
            "training epoch on {} ({} utterances), 2 x 64 LSTM, batch {}, theta {}, median of {} alternating epochs (wall clock)",
            dir.display(),
            train.len(),
            args.epoch_batch,
            args.theta,
            args.epoch_repeats
        ),
        &format!("{:>7} {:>10} {:>10} {:>8} {:>10}", "threads", "delta s", "dense s", "speedup", "skipped"),
    );
    let mut per_threads = Vec::new();
    let counts: Vec<usize> = if threads == 1 { vec![1] } else { vec![1, threads] };
    for &n in &counts {
        let (delta_s, dense_s, skipped) = alternate_epochs(&model, args, settings, n, train)?;
        per_threads.push((n, delta_s, dense_s));
        out.case(
            format!("{n:>7} {delta_s:>10.3} {dense_s:>10.3} {:>7.2}x {:>9.1}%", dense_s / delta_s, skipped * 100.0),
            serde_json::json!({
                "bench": "train_epoch", "data": dir.display().to_string(), "utterances": train.len(),
                "threads": n, "batch": args.epoch_batch, "theta": args.theta, "delta_s": delta_s,
                "dense_s": dense_s, "speedup": dense_s / delta_s, "ops_skipped": skipped,
                "repeats": args.epoch_repeats, "clock": "wall",
            }),
        );
    }
    if let [(1, delta_1, dense_1), (n, delta_n, dense_n)] = per_threads[..] {
        let (delta_scaling, dense_scaling) = (delta_1 / delta_n, dense_1 / dense_n);
        out.case(
            format!("thread scaling 1 -> {n}: delta {delta_scaling:.2}x, dense {dense_scaling:.2}x"),
            serde_json::json!({
                "bench": "thread_scaling", "threads": n, "delta_scaling": delta_scaling, "dense_scaling": dense_scaling,
            }),
        );
    }
    Ok(())
}
