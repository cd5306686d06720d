//! `deltarnn demo`: the main job. Synthesise the default corpus if it is absent, extract
//! features, train the 56k-parameter Delta LSTM with sparse BPTT and the same model with dense
//! BPTT, and print them side by side.

use crate::args::{default_threads, ArithArg, DataArgs, ModelArgs, ReadoutArg, TrainArgs};
use crate::dataset;
use crate::progress::Bars;
use crate::training::train_run;
use anyhow::{Context, Result};
use deltarnn::files::write_atomic;
use deltarnn::nn::CellKind;
use deltarnn::synth::{synthesize, SynthOptions};
use deltarnn::Protocol;
use std::path::PathBuf;
use std::time::Instant;

/// Run the whole story on a synthesized corpus: Delta LSTM (sparse BPTT) against the same LSTM
/// trained with dense BPTT, on the same data, seed and machine.
#[derive(clap::Args)]
pub struct Args {
    /// Corpus folder; synthesized with espeak-ng when it has no corpus yet.
    #[arg(long, default_value = "corpus")]
    corpus: PathBuf,
    /// Where the two runs and the summary go.
    #[arg(long, default_value = "runs/demo")]
    out: PathBuf,
    /// Speakers of the synthesized corpus (93 utterances each, split 70/15/15 by speaker).
    #[arg(long, default_value_t = 60)]
    speakers: usize,
    /// Epochs per model.
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Sequences per update.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 4e-3)]
    lr: f64,
    /// theta_x = theta_h of the Delta model.
    #[arg(long, default_value_t = 0.1)]
    theta: f64,
    /// L1 penalty beta * sum |delta_h| of the Delta model (the authors' sparsity regulariser).
    #[arg(long, default_value_t = 1e-5)]
    l1_beta: f64,
    /// Worker threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Seed of the corpus, initialisation and shuffling.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the comparison as JSON.
    #[arg(long)]
    json: bool,
    /// Run every Delta product per fired column (never the matrix product form).
    #[arg(long)]
    no_product_form: bool,
    /// The Delta model's arithmetic for its matrix products: f32, bf16 or fxp16 (train --help).
    #[arg(long, default_value = "f32")]
    arith: ArithArg,
    /// FXP16 fraction bits "W,D,G" (default: from the data).
    #[arg(long, value_name = "W,D,G")]
    q_format: Option<String>,
    /// Keep the Delta model's recurrent weights in the --arith format.
    #[arg(long)]
    weights_in_format: bool,
    /// Whose choices to follow where deltarnn and the authors' code differ: ours or authors
    /// (normalisation and frame labels; docs/fidelity.md).
    #[arg(long, default_value = "authors")]
    protocol: Protocol,
}

/// Synthesizes the default corpus into `args.corpus` unless it already holds one.
fn ensure_corpus(args: &Args) -> Result<()> {
    if args.corpus.join("data").join("train_data.csv").exists() {
        eprintln!("using the corpus in {}", args.corpus.display());
        return Ok(());
    }
    eprintln!("synthesizing the default corpus into {} (espeak-ng)", args.corpus.display());
    let options = SynthOptions { seed: args.seed, n_speakers: args.speakers, ..SynthOptions::default() };
    let mut bars = Bars::default();
    let summary = synthesize(&args.corpus, &options, |p| bars.update(p))
        .with_context(|| format!("synthesizing a corpus into {}", args.corpus.display()))?;
    bars.finish();
    let [train, valid, test] = summary.n_utterances;
    eprintln!(
        "corpus: {train} train / {valid} valid / {test} test utterances, {:.1} min of audio",
        summary.total_seconds / 60.0
    );
    Ok(())
}

/// Runs `deltarnn demo`.
pub fn run(args: Args) -> Result<()> {
    let start = Instant::now();
    ensure_corpus(&args)?;
    let data_args = DataArgs {
        cache_dir: None,
        stop_on_bad_file: false,
        max_utterance_seconds: 30.0,
        max_file_bytes: 64 << 20,
        protocol: Some(args.protocol),
    };
    let dataset = dataset::load(&args.corpus, &data_args, None, false)?;
    eprintln!(
        "features: {} classes, {} train / {} valid / {} test utterances",
        dataset.n_classes() - 1,
        dataset.train.examples.len(),
        dataset.valid.examples.len(),
        dataset.test.examples.len()
    );
    let model = ModelArgs { cell: CellKind::Lstm, layers: 2, hidden: 64, theta_x: args.theta, theta_h: args.theta };
    let training = |dense: bool| TrainArgs {
        epochs: args.epochs,
        batch: args.batch,
        lr: args.lr,
        weight_decay: 0.01,
        clip_norm: 200.0,
        warmup: 50,
        early_stop: 0,
        threads: Some(args.threads.unwrap_or_else(default_threads)),
        seed: args.seed,
        dense,
        pretrain_dense_epochs: 0,
        l1_beta: if dense { 0.0 } else { args.l1_beta },
        readout: ReadoutArg::LastNonSilence,
        no_product_form: args.no_product_form,
        // The accelerator's arithmetic is the Delta model's; the dense baseline stays f32.
        arith: vec![if dense { ArithArg::F32 } else { args.arith }],
        q_format: if dense { None } else { args.q_format.clone() },
        weights_in_format: !dense && args.weights_in_format,
    };
    eprintln!("training the Delta LSTM (theta {}, L1 beta {}) with sparse BPTT", args.theta, args.l1_beta);
    let delta = train_run(&dataset, &args.out.join("delta"), &model, training(false).config()?, false, false)?;
    eprintln!("training the same LSTM with dense BPTT");
    let dense = train_run(&dataset, &args.out.join("dense"), &model, training(true).config()?, false, false)?;

    let f = |m: &serde_json::Value, path: &[&str]| path.iter().fold(m, |v, k| &v[*k]).as_f64().unwrap_or(f64::NAN);
    let speedup = f(&dense, &["train_seconds"]) / f(&delta, &["train_seconds"]);
    let comparison = serde_json::json!({
        "delta": delta,
        "dense": dense,
        "accuracy_difference_points": 100.0 * (f(&delta, &["test_accuracy"]) - f(&dense, &["test_accuracy"])),
        "matrix_op_reduction": f(&delta, &["ops", "reduction"]),
        "training_speedup": speedup,
        "total_seconds": start.elapsed().as_secs_f64(),
    });
    let table = table(&delta, &dense, speedup);
    write_atomic(&args.out.join("summary.md"), table.as_bytes())?;
    write_atomic(&args.out.join("summary.json"), serde_json::to_string_pretty(&comparison)?.as_bytes())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        println!("{table}");
        println!(
            "runs, reports and plots: {}/delta and {}/dense; demo took {:.0} s",
            args.out.display(),
            args.out.display(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The side-by-side Markdown table.
fn table(delta: &serde_json::Value, dense: &serde_json::Value, speedup: f64) -> String {
    let f = |m: &serde_json::Value, path: &[&str]| path.iter().fold(m, |v, k| &v[*k]).as_f64().unwrap_or(f64::NAN);
    let pct = |m: &serde_json::Value, path: &[&str]| format!("{:.1}%", 100.0 * f(m, path));
    let gops = |m: &serde_json::Value, path: &[&str]| format!("{:.1}", f(m, path) / 1e9);
    let mut rows: Vec<(String, String, String)> = vec![
        ("test accuracy".into(), pct(delta, &["test_accuracy"]), pct(dense, &["test_accuracy"])),
        ("validation accuracy".into(), pct(delta, &["valid_accuracy"]), pct(dense, &["valid_accuracy"])),
        (
            "sparsity delta_x / delta_h".into(),
            format!("{} / {}", pct(delta, &["sparsity", "delta_x"]), pct(delta, &["sparsity", "delta_h"])),
            "0% / 0%".into(),
        ),
        ("training matrix ops (GOP)".into(), gops(delta, &["ops", "actual"]), gops(dense, &["ops", "actual"])),
        (
            "executed (product form included, GOP)".into(),
            gops(delta, &["ops", "executed"]),
            gops(dense, &["ops", "executed"]),
        ),
        ("matrix-op reduction".into(), pct(delta, &["ops", "reduction"]), "0%".into()),
        (
            "training wall-clock".into(),
            format!("{:.1} s", f(delta, &["train_seconds"])),
            format!("{:.1} s", f(dense, &["train_seconds"])),
        ),
        ("epochs".into(), delta["epochs"].to_string(), dense["epochs"].to_string()),
        ("parameters".into(), delta["params"].to_string(), dense["params"].to_string()),
    ];
    rows.push(("training speedup (dense / delta)".into(), format!("{speedup:.2}x"), "1x".into()));
    let mut out = String::from("| | Delta LSTM, sparse BPTT | LSTM, dense BPTT |\n|---|---|---|\n");
    for (name, a, b) in rows {
        out.push_str(&format!("| {name} | {a} | {b} |\n"));
    }
    out
}
