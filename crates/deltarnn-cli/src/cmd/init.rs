//! `deltarnn init`: a freshly initialised checkpoint.

use anyhow::{Context, Result};
use deltarnn::nn::{init_params, CellKind, ModelConfig};
use deltarnn::Thresholds;
use std::path::PathBuf;

/// Create a model with the spec's initialisation and save it as safetensors (PyTorch names).
#[derive(clap::Args)]
pub struct Args {
    /// Recurrent cell.
    #[arg(long, default_value = "lstm")]
    cell: CellKind,
    /// Input features per frame.
    #[arg(long, default_value_t = 16)]
    features: usize,
    /// Stacked recurrent layers.
    #[arg(long, default_value_t = 2)]
    layers: usize,
    /// Hidden units per layer.
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    /// Output classes (class 0 is silence for speech tasks).
    #[arg(long, default_value_t = 31)]
    classes: usize,
    /// Input threshold theta_x stored with the model.
    #[arg(long, default_value_t = 0.1)]
    theta_x: f64,
    /// Hidden threshold theta_h stored with the model.
    #[arg(long, default_value_t = 0.1)]
    theta_h: f64,
    /// Seed of the initialisation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write the checkpoint.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `deltarnn init`.
pub fn run(args: Args) -> Result<()> {
    let config = ModelConfig {
        cell: args.cell,
        n_features: args.features,
        n_layers: args.layers,
        n_hidden: args.hidden,
        n_classes: args.classes,
        thresholds: Thresholds { input: args.theta_x, hidden: args.theta_h },
    };
    let model = init_params::<f32>(&config, args.seed)?;
    deltarnn::checkpoint::save(&args.out, &model, &Default::default())
        .with_context(|| format!("writing model {}", args.out.display()))?;
    println!("{}", serde_json::json!({"model": args.out, "params": config.n_params(), "config": config}));
    Ok(())
}
