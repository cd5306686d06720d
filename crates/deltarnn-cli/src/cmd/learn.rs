//! `deltarnn learn`: class-incremental learning (iCaRL on a Delta RNN, spec section 4). A base
//! task, then increments of new classes; after each increment a table row with accuracy (all
//! seen, old, new), the matrix ops spent, wall-clock per update and peak memory. By default the
//! same protocol also runs with dense BPTT of the standard network, for the comparison.

use super::dataset::{self, DataArgs};
use super::train::default_threads;
use crate::plot::{line_chart, Series};
use anyhow::{bail, Context, Result};
use deltarnn::audio::{featurize_file, wav::read_wav, Limits, LogMel, Normalizer};
use deltarnn::data::{frame_labels::frame_labels, Dataset, Example};
use deltarnn::files::write_atomic;
use deltarnn::incremental::{
    run_incremental, AudioSource, ClassSchedule, Classifier, Event, IncrementRecord, IncrementalConfig, Storage,
};
use deltarnn::nn::CellKind;
use deltarnn::train::TrainConfig;
use deltarnn::Thresholds;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

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
    /// Peak learning rate (AdamW) [default: 2e-3 in batch mode, 3e-4 online].
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

/// Audio exemplars of a loaded dataset: re-read the WAV, featurise, normalise, label frames.
struct DatasetAudio<'a> {
    root: &'a Path,
    mel: LogMel,
    normalizer: &'a Normalizer,
    limits: Limits,
}

impl AudioSource for DatasetAudio<'_> {
    fn audio_bytes(&self, example: &Example) -> deltarnn::Result<u64> {
        let wav = read_wav(&self.root.join(&example.path), &self.limits)?;
        let rate = self.mel.config().sample_rate_hz as f64;
        Ok(2 * (wav.duration_seconds() * rate).round() as u64)
    }

    fn featurize(&self, example: &Example) -> deltarnn::Result<Example> {
        let features = featurize_file(&self.root.join(&example.path), &self.mel, &self.limits)?;
        let n_features = self.mel.config().n_mels;
        let labels = frame_labels(&features.data, n_features, example.label);
        let mut frames = features.data;
        self.normalizer.apply(&mut frames);
        Ok(Example { n_frames: features.n_frames, frames, frame_labels: labels, ..example.clone() })
    }
}

/// Peak resident memory of this process (VmHWM from /proc/self/status), bytes; None elsewhere.
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `deltarnn learn`.
pub fn run(args: Args) -> Result<()> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let dataset = dataset::load(&args.data, &args.dataset, None, args.json)?;
    let n_classes = dataset.n_classes() - 1;
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
    let schedule = ClassSchedule::new(n_classes, args.base, args.step, order, args.seed).context("class schedule")?;
    let test: &[Example] =
        if dataset.test.examples.is_empty() { &dataset.valid.examples } else { &dataset.test.examples };
    let test_split = if dataset.test.examples.is_empty() { "valid" } else { "test" };
    let audio = DatasetAudio {
        root: &args.data,
        mel: LogMel::new(&dataset.feature_config)?,
        normalizer: &dataset.normalizer,
        limits: dataset::DataArgs::options(&args.dataset, &args.data).limits,
    };
    let threads = args.threads.unwrap_or(if args.online { 1 } else { default_threads() });
    let config = |dense: bool| IncrementalConfig {
        cell: args.cell,
        n_layers: args.layers,
        n_hidden: args.hidden,
        train: TrainConfig {
            epochs: args.epochs.unwrap_or(if args.online { 10 } else { 20 }),
            batch_size: if args.online { 1 } else { args.batch },
            learning_rate: args.lr.unwrap_or(if args.online { 3e-4 } else { 2e-3 }),
            warmup_steps: if args.online { 0 } else { 20 },
            dense,
            thresholds: Thresholds { input: args.theta_x, hidden: args.theta_h },
            l1_beta: if dense { 0.0 } else { args.l1_beta },
            seed: args.seed,
            threads,
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
        println!("{}", header());
    }
    let mut runs = Vec::new();
    for dense in if args.compare_dense { vec![false, true] } else { vec![false] } {
        let config = config(dense);
        let rows = run_one(&dataset, &config, &schedule, test, &audio, args.json)
            .with_context(|| format!("{} run", name(dense)))?;
        runs.push((dense, config, rows));
    }
    let json = summary_json(&args, &dataset, &names, test_split, &runs);
    write_atomic(&args.out.join("incremental.json"), serde_json::to_string_pretty(&json)?.as_bytes())
        .context("writing incremental.json")?;
    let series: Vec<Series> = runs
        .iter()
        .map(|(dense, _, rows)| Series {
            name: name(*dense).into(),
            points: rows.iter().map(|(r, _)| (r.classes_seen as f64, 100.0 * r.accuracy)).collect(),
        })
        .collect();
    let title =
        format!("class-incremental, {} ({})", dataset.kind.name(), if args.online { "online" } else { "batch" });
    line_chart(&args.out.join("incremental.png"), &title, "classes seen", "accuracy (%)", &series)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("{}", summary_line(&json));
        println!("wrote {} and incremental.png", args.out.join("incremental.json").display());
    }
    Ok(())
}

fn name(dense: bool) -> &'static str {
    if dense {
        "LSTM, dense BPTT"
    } else {
        "Delta, sparse BPTT"
    }
}

fn header() -> String {
    format!(
        "{:<6} {:>3} {:>7} {:>6} {:>6} {:>6} {:>9} {:>9} {:>6} {:>9} {:>8} {:>8}",
        "run", "inc", "classes", "acc%", "old%", "new%", "GOP", "dense GOP", "-ops%", "ms/update", "mem KB", "peak MB"
    )
}

fn row(dense: bool, r: &IncrementRecord, peak: Option<u64>) -> String {
    let pct = |v: Option<f64>| v.map(|v| format!("{:.1}", 100.0 * v)).unwrap_or_else(|| "-".into());
    format!(
        "{:<6} {:>3} {:>7} {:>6} {:>6} {:>6} {:>9.2} {:>9.2} {:>6.1} {:>9.2} {:>8} {:>8}",
        if dense { "dense" } else { "delta" },
        r.increment,
        r.classes_seen,
        pct(Some(r.accuracy)),
        pct(r.old_accuracy),
        pct(Some(r.new_accuracy)),
        r.train_ops as f64 / 1e9,
        r.train_ops_dense as f64 / 1e9,
        100.0 * (1.0 - r.train_ops as f64 / r.train_ops_dense.max(1) as f64),
        1e3 * r.seconds_per_update,
        r.memory_bytes / 1024,
        peak.map(|b| format!("{:.0}", b as f64 / (1 << 20) as f64)).unwrap_or_else(|| "-".into()),
    )
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

type Run = (bool, IncrementalConfig, Vec<(IncrementRecord, Option<u64>)>);

/// incremental.json: per run and increment the records, and the comparison at the last step.
fn summary_json(args: &Args, dataset: &Dataset, names: &[String], test_split: &str, runs: &[Run]) -> serde_json::Value {
    let run_json = |(dense, config, rows): &Run| {
        let increments: Vec<serde_json::Value> = rows
            .iter()
            .map(|(r, peak)| {
                let mut v = serde_json::to_value(r).expect("records serialise");
                v["peak_memory_bytes"] = serde_json::json!(peak);
                v
            })
            .collect();
        // The increments after the base task: what learning on the device costs.
        let after_base = rows.iter().skip(1).map(|(r, _)| r);
        let (ops, dense_ops) = after_base.fold((0u64, 0u64), |(a, d), r| (a + r.train_ops, d + r.train_ops_dense));
        serde_json::json!({
            "mode": if *dense { "dense" } else { "delta" },
            "config": config,
            "increments": increments,
            "final_accuracy": rows.last().map(|(r, _)| r.accuracy),
            "increment_train_ops": ops,
            "increment_train_ops_dense": dense_ops,
            "increment_ops_reduction": if dense_ops == 0 { 0.0 } else { 1.0 - ops as f64 / dense_ops as f64 },
        })
    };
    let runs_json: Vec<serde_json::Value> = runs.iter().map(run_json).collect();
    let final_of = |dense: bool| {
        runs.iter().find(|r| r.0 == dense).and_then(|r| r.2.last()).map(|(rec, _)| (rec.accuracy, rec.train_ops))
    };
    let delta_ops_after_base: u64 =
        runs.iter().find(|r| !r.0).map(|r| r.2.iter().skip(1).map(|(x, _)| x.train_ops).sum()).unwrap_or(0);
    let dense_ops_after_base: u64 =
        runs.iter().find(|r| r.0).map(|r| r.2.iter().skip(1).map(|(x, _)| x.train_ops).sum()).unwrap_or(0);
    serde_json::json!({
        "dataset": args.data.display().to_string(),
        "dataset_kind": dataset.kind.name(),
        "scored_on": test_split,
        "class_order": names,
        "base": args.base,
        "step": args.step,
        "online": args.online,
        "runs": runs_json,
        "comparison": match (final_of(false), final_of(true)) {
            (Some((delta, _)), Some((dense, _))) => serde_json::json!({
                "final_accuracy_delta": delta,
                "final_accuracy_dense": dense,
                "difference_points": 100.0 * (delta - dense),
                "increment_ops_delta": delta_ops_after_base,
                "increment_ops_dense_run": dense_ops_after_base,
                "increment_ops_reduction_vs_dense_run": if dense_ops_after_base == 0 { 0.0 }
                    else { 1.0 - delta_ops_after_base as f64 / dense_ops_after_base as f64 },
            }),
            _ => serde_json::Value::Null,
        },
    })
}

fn summary_line(json: &serde_json::Value) -> String {
    let c = &json["comparison"];
    let delta = &json["runs"][0];
    let reduction = delta["increment_ops_reduction"].as_f64().unwrap_or(0.0);
    if c.is_null() {
        format!(
            "final accuracy {:.1}%; the increments used {:.1}% fewer matrix ops than dense BPTT would",
            100.0 * delta["final_accuracy"].as_f64().unwrap_or(0.0),
            100.0 * reduction
        )
    } else {
        format!(
            "final accuracy: Delta {:.1}%, dense {:.1}% ({:+.1} points); increments: {:.1}% fewer matrix ops than dense BPTT",
            100.0 * c["final_accuracy_delta"].as_f64().unwrap_or(0.0),
            100.0 * c["final_accuracy_dense"].as_f64().unwrap_or(0.0),
            c["difference_points"].as_f64().unwrap_or(0.0),
            100.0 * c["increment_ops_reduction_vs_dense_run"].as_f64().unwrap_or(0.0),
        )
    }
}
