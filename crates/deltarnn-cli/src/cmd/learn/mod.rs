//! `deltarnn learn`: class-incremental learning (iCaRL on a Delta RNN, spec section 4). A base
//! task, then increments of new classes; after each increment a table row with accuracy (all
//! seen, old, new), the matrix ops spent, wall-clock per update and peak memory. By default the
//! same protocol also runs with dense BPTT of the standard network, for the comparison.

mod audio;
mod json;
mod table;

use crate::args::{datapath, default_threads, ArithArg, DataArgs};
use crate::dataset;
use crate::plot::{line_chart, Series};
use anyhow::{bail, Context, Result};
use audio::DatasetAudio;
use deltarnn::audio::LogMel;
use deltarnn::data::{Dataset, Example};
use deltarnn::files::write_atomic;
use deltarnn::incremental::{
    resolve_incremental_q_format, run_incremental, ClassSchedule, Classifier, Event, IncrementRecord,
    IncrementalConfig, Storage,
};
use deltarnn::nn::CellKind;
use deltarnn::train::TrainConfig;
use deltarnn::{Protocol, Thresholds};
use indicatif::{ProgressBar, ProgressStyle};
use json::{summary_json, Run};
use std::path::PathBuf;
use table::{header, name, peak_memory_bytes, row, summary_line};

/// Learn classes incrementally: a base task of N classes, then steps of K new classes, with an
/// exemplar memory (herding), distillation and nearest-mean-of-exemplars classification. Writes
/// RUN/incremental.json and RUN/incremental.png (accuracy against classes, Delta against dense).
#[derive(clap::Args)]
pub struct Args {
    /// Dataset folder (Fluent Speech Commands layout / `deltarnn synth` output, Speech Commands
    /// v2, keyword CSV splits such as asc10, FSDD).
    #[arg(long)]
    pub data: PathBuf,
    /// Run directory to write (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Classes of the base task.
    #[arg(long)]
    pub base: usize,
    /// New classes per increment.
    #[arg(long)]
    pub step: usize,
    /// Class names in arrival order (a subset is fine) [default: all classes, order shuffled by --seed].
    #[arg(long, value_delimiter = ',')]
    pub classes: Option<Vec<String>>,
    /// Online mode: batch size 1, one utterance per update, as on a device.
    #[arg(long)]
    pub online: bool,
    /// Sequences per update in batch mode.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Epochs per increment [default: 20 in batch mode, 10 online].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Peak learning rate (AdamW) [default: 2e-3 in batch mode, 3e-4 online; 1e-3 under the
    /// authors' protocol].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Recurrent cell.
    #[arg(long, default_value = "lstm")]
    pub cell: CellKind,
    /// Stacked recurrent layers.
    #[arg(long, default_value_t = 1)]
    pub layers: usize,
    /// Hidden units per layer.
    #[arg(long, default_value_t = 128)]
    pub hidden: usize,
    /// Input threshold theta_x of the Delta network.
    #[arg(long, default_value_t = 0.1)]
    pub theta_x: f64,
    /// Hidden threshold theta_h of the Delta network.
    #[arg(long, default_value_t = 0.1)]
    pub theta_h: f64,
    /// L1 penalty beta on delta_h of the Delta network (encourages sparsity).
    #[arg(long, default_value_t = 0.0)]
    pub l1_beta: f64,
    /// Exemplar memory: utterances kept over all classes (0: none).
    #[arg(long, default_value_t = 2000)]
    pub memory: usize,
    /// How exemplars are stored: features, or audio re-featurised on every use.
    #[arg(long, default_value = "features")]
    pub storage: StorageArg,
    /// Classifier: nearest mean of exemplars, or the network's own head.
    #[arg(long, default_value = "nme")]
    pub classifier: ClassifierArg,
    /// Weight of the BCE distillation on old outputs (0: none).
    #[arg(long, default_value_t = 1.0)]
    pub distill_weight: f64,
    /// Also run the same protocol with dense BPTT of the standard network, for the comparison.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub compare_dense: bool,
    /// Worker threads [default: all cores; online mode uses one per run].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of the class order, initialisation and shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print incremental.json on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The Delta network's arithmetic for its matrix products, on the device: f32, bf16 or
    /// fxp16 as the accelerator computes them (train --help, docs/arith.md). Training, herding,
    /// the class means and scoring all run in it; the dense baseline stays f32.
    #[arg(long, default_value = "f32")]
    pub arith: ArithArg,
    /// FXP16 fraction bits "W,D,G" (default: chosen from the base classes' first 32 training
    /// sequences).
    #[arg(long, value_name = "W,D,G")]
    pub q_format: Option<String>,
    /// Keep the recurrent weights in the --arith format (rounded after every update).
    #[arg(long)]
    pub weights_in_format: bool,
    #[command(flatten)]
    pub dataset: DataArgs,
}

/// Exemplar storage as a command-line value.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum StorageArg {
    /// Normalised feature frames.
    Features,
    /// 16-bit audio, re-featurised on use.
    Audio,
}

/// Classifier as a command-line value.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ClassifierArg {
    /// Nearest mean of exemplars.
    Nme,
    /// The per-frame head.
    Head,
}

/// Runs `deltarnn learn`.
pub fn run(args: Args) -> Result<()> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    // Flag errors before the dataset loads.
    incremental_config(&args, false)?;
    let dataset = dataset::load(&args.data, &args.dataset, None, args.json)?;
    let schedule = schedule(&args, &dataset)?;
    let (test, test_split): (&[Example], &str) = if dataset.test.examples.is_empty() {
        (&dataset.valid.examples, "valid")
    } else {
        (&dataset.test.examples, "test")
    };
    let audio = DatasetAudio {
        root: &args.data,
        mel: LogMel::new(&dataset.feature_config)?,
        normalizer: &dataset.normalizer,
        limits: args.dataset.limits(),
    };
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let names: Vec<String> = schedule.order.iter().map(|&c| dataset.labels.names[c].clone()).collect();
    if !args.json {
        println!(
            "{} classes from {} ({}; scored on {test_split}): base {} then steps of {}; order {}",
            schedule.order.len(),
            args.data.display(),
            dataset.kind.name(),
            schedule.base,
            schedule.step,
            names.join(",")
        );
    }
    let mut runs = Vec::new();
    for dense in if args.compare_dense { vec![false, true] } else { vec![false] } {
        let mut config = incremental_config(&args, dense)?;
        let q = resolve_incremental_q_format(&mut config, &schedule, dataset.n_features(), &dataset.train.examples)
            .context("choosing the FXP16 Q format")?;
        if !args.json {
            if let Some(q) = q {
                println!("fxp16 Q format from the base classes' first training sequences: W,D,G = {q} fraction bits");
            }
            if let (Some(d), false) = (config.train.arith, dense) {
                let master =
                    if config.train.weights_in_format { "weights in the format" } else { "f32 master weights" };
                println!("Delta network's matrix products in {} ({master})", d.format.name());
            }
            if runs.is_empty() {
                println!("{}", header());
            }
        }
        let rows = run_one(&dataset, &config, &schedule, test, &audio, args.json)
            .with_context(|| format!("{} run", name(dense)))?;
        runs.push(Run { config, rows });
    }
    let json = summary_json(&args, &dataset, &names, test_split, &runs);
    write_atomic(&args.out.join("incremental.json"), serde_json::to_string_pretty(&json)?.as_bytes())
        .context("writing incremental.json")?;
    plot(&args, &dataset, &runs)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("{}", summary_line(&json));
        println!("wrote {} and incremental.png", args.out.join("incremental.json").display());
    }
    Ok(())
}

/// The class schedule: `--classes` in that order, or every class of the dataset in a seeded order.
fn schedule(args: &Args, dataset: &Dataset) -> Result<ClassSchedule> {
    let order = match &args.classes {
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|name| match dataset.labels.index(name) {
                    Some(i) if i > 0 => Ok(i),
                    _ => bail!("--classes: {name:?} is not a class of {}", args.data.display()),
                })
                .collect::<Result<Vec<usize>>>()?,
        ),
    };
    ClassSchedule::new(dataset.n_classes() - 1, args.base, args.step, order, args.seed).context("class schedule")
}

/// The library's configuration of the Delta run, or with `dense` of the dense baseline (always
/// f32). Errors on a malformed `--q-format` or arithmetic flags that do not go together.
fn incremental_config(args: &Args, dense: bool) -> Result<IncrementalConfig> {
    let online = args.online;
    let (arith, calibrate) = if dense { (None, false) } else { datapath(args.arith, args.q_format.as_deref())? };
    if args.weights_in_format && args.arith == ArithArg::F32 {
        bail!("--weights-in-format needs --arith bf16 or fxp16");
    }
    Ok(IncrementalConfig {
        cell: args.cell,
        n_layers: args.layers,
        n_hidden: args.hidden,
        thresholds: Thresholds { input: args.theta_x, hidden: args.theta_h },
        train: TrainConfig {
            epochs: args.epochs.unwrap_or(if online { 10 } else { 20 }),
            batch_size: if online { 1 } else { args.batch },
            learning_rate: args.lr.unwrap_or(default_learning_rate(args)),
            warmup_steps: if online { 0 } else { 20 },
            dense,
            l1_beta: if dense { 0.0 } else { args.l1_beta },
            seed: args.seed,
            threads: args.threads.unwrap_or(if online { 1 } else { default_threads() }),
            arith,
            weights_in_format: !dense && args.weights_in_format,
            calibrate_q_format: calibrate,
            ..TrainConfig::default()
        },
        memory: args.memory,
        storage: match args.storage {
            StorageArg::Features => Storage::Features,
            StorageArg::Audio => Storage::Audio,
        },
        classifier: match args.classifier {
            ClassifierArg::Nme => Classifier::Nme,
            ClassifierArg::Head => Classifier::Head,
        },
        distillation_weight: args.distill_weight,
        protocol: args.dataset.protocol(),
    })
}

/// The learning rate when `--lr` is not given: the authors' 1e-3 under their protocol, else
/// 3e-4 online and 2e-3 in batch mode.
fn default_learning_rate(args: &Args) -> f64 {
    match (args.dataset.protocol(), args.online) {
        (Protocol::Authors, _) => 1e-3,
        (Protocol::Ours, true) => 3e-4,
        (Protocol::Ours, false) => 2e-3,
    }
}

/// incremental.png: accuracy against classes seen, one series per run.
fn plot(args: &Args, dataset: &Dataset, runs: &[Run]) -> Result<()> {
    let series: Vec<Series> = runs
        .iter()
        .map(|run| Series {
            name: name(run.config.train.dense).into(),
            points: run.rows.iter().map(|(r, _)| (r.classes_seen as f64, 100.0 * r.accuracy)).collect(),
        })
        .collect();
    let title =
        format!("class-incremental, {} ({})", dataset.kind.name(), if args.online { "online" } else { "batch" });
    line_chart(&args.out.join("incremental.png"), &title, "classes seen", "accuracy (%)", &series)
}

/// One protocol run with a progress bar; prints a row after every increment.
fn run_one(
    dataset: &Dataset,
    config: &IncrementalConfig,
    schedule: &ClassSchedule,
    test: &[Example],
    audio: &DatasetAudio<'_>,
    quiet: bool,
) -> Result<Vec<(IncrementRecord, Option<u64>)>> {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{msg:>18} [{bar:30}] {pos}/{len} batches {elapsed_precise}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let dense = config.train.dense;
    let mut rows = Vec::new();
    let result =
        run_incremental(config, schedule, dataset.n_features(), &dataset.train.examples, test, Some(audio), |event| {
            match event {
                Event::Batch { increment, epoch, batch, batches } => {
                    bar.set_length(batches as u64);
                    bar.set_position(batch as u64 + 1);
                    bar.set_message(format!("{} inc {increment} ep {epoch}", if dense { "dense" } else { "delta" }));
                }
                Event::Increment(record) => {
                    let peak = peak_memory_bytes();
                    if !quiet {
                        bar.suspend(|| println!("{}", row(dense, record, peak)));
                    }
                    rows.push((record.clone(), peak));
                }
            }
            Ok(())
        });
    bar.finish_and_clear();
    result?;
    Ok(rows)
}
