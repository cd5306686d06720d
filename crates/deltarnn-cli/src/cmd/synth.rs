//! `deltarnn synth`: generate the default spoken-commands corpus.
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use deltarnn::synth::{synthesize, SynthOptions};

use crate::progress::Bars;

/// Generate a spoken-commands corpus in the Fluent Speech Commands layout with espeak-ng.
#[derive(clap::Args)]
pub struct Args {
    /// Output folder (created; must not already contain a corpus).
    #[arg(long)]
    out: PathBuf,
    /// Number of speakers (distinct espeak-ng voices), split about 70/15/15 by speaker.
    #[arg(long, default_value_t = SynthOptions::default().n_speakers)]
    speakers: usize,
    /// Utterances per speaker (intents are cycled, so 31 or a multiple keeps classes balanced).
    #[arg(long, default_value_t = SynthOptions::default().utterances_per_speaker)]
    utterances_per_speaker: usize,
    /// Seed of every random choice; the same seed gives the same corpus.
    #[arg(long, default_value_t = SynthOptions::default().seed)]
    seed: u64,
    /// Lowest signal-to-noise ratio of the background noise, dB.
    #[arg(long, default_value_t = SynthOptions::default().min_snr_db)]
    min_snr_db: f64,
    /// Highest signal-to-noise ratio of the background noise, dB.
    #[arg(long, default_value_t = SynthOptions::default().max_snr_db)]
    max_snr_db: f64,
    /// The espeak-ng executable.
    #[arg(long, default_value_t = SynthOptions::default().espeak)]
    espeak: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let options = SynthOptions {
        n_speakers: args.speakers,
        utterances_per_speaker: args.utterances_per_speaker,
        seed: args.seed,
        min_snr_db: args.min_snr_db,
        max_snr_db: args.max_snr_db,
        espeak: args.espeak,
        ..SynthOptions::default()
    };
    let start = Instant::now();
    let mut bars = Bars::default();
    let summary = synthesize(&args.out, &options, |p| bars.update(p))
        .with_context(|| format!("synthesizing a corpus into {}", args.out.display()))?;
    bars.finish();
    let [train, valid, test] = summary.n_utterances;
    println!(
        "wrote {} utterances ({train} train / {valid} valid / {test} test, {:.1} min of audio) \
         from {} speakers to {} in {:.1} s",
        train + valid + test,
        summary.total_seconds / 60.0,
        summary.speakers.len(),
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
