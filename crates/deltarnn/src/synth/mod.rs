//! A synthetic spoken-commands corpus in the Fluent Speech Commands layout, spoken by espeak-ng.
//!
//! Speakers are distinct (language voice, variant) pairs with their own pitch, speed, amplitude
//! and word gap; each utterance jitters pitch and speed a little, is resampled to 16 kHz, padded
//! with 0.05-0.4 s of silence on each side, and mixed with background noise (white, pink and
//! brown in random proportions, sometimes mains hum) at a random SNR. Splits are speaker-disjoint.
//! Everything random is drawn from [`Rng::derive`] per speaker or per utterance, so the corpus is a
//! function of the options alone, whatever the number of threads.
//!
//! Output:
//! ```text
//! <out>/data/{train,valid,test}_data.csv   ,path,speakerId,transcription,action,object,location
//! <out>/wavs/speakers/<speaker>/<speaker>_<nnnn>.wav   16 kHz mono 16-bit
//! <out>/synth.json                          options and speaker voices
//! ```
pub mod espeak;
pub mod intents;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::audio::resample::resample;
use crate::audio::wav::write_wav_i16;
use crate::data::csv::quote;
use crate::data::{par_map_with_progress, Progress, Split, Task};
use crate::files::{write_atomic, DirLock};
use crate::rng::Rng;
use crate::{Error, Result};
pub use espeak::Voice;
pub use intents::{intents, Intent};

/// Sample rate of the written WAVs.
pub const SAMPLE_RATE_HZ: u32 = 16_000;

/// Language voices used for speakers (all ship with Debian's espeak-ng-data).
const LANGUAGES: [&str; 8] =
    ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc"];
/// Voice variants that sound human enough (no whisper, robot or demon voices).
const VARIANTS: [&str; 40] = [
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3",
    "klatt4", "Alex", "Andy", "Annie", "Denis", "Gene", "Hugo", "Lee", "Michael", "Mike", "adam", "anika", "aunty",
    "belinda", "benjamin", "caleb", "david", "ed", "edward", "john", "linda", "max", "norbert", "steph",
];

/// What to synthesize.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthOptions {
    /// Number of speakers (at least 3: one per split).
    pub n_speakers: usize,
    /// Utterances per speaker; intents are cycled so each speaker covers all 31 evenly.
    pub utterances_per_speaker: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Lowest signal-to-noise ratio, dB.
    pub min_snr_db: f64,
    /// Highest signal-to-noise ratio, dB.
    pub max_snr_db: f64,
    /// Fraction of speakers in valid (at least one).
    pub valid_fraction: f64,
    /// Fraction of speakers in test (at least one).
    pub test_fraction: f64,
    /// The espeak-ng executable.
    pub espeak: String,
}

impl Default for SynthOptions {
    /// 36 speakers x 93 utterances = 3,348 files (26/5/5 speakers): sized so that synthesis,
    /// features and two small models fit in about ten minutes on 2 cores.
    fn default() -> Self {
        SynthOptions {
            n_speakers: 36,
            utterances_per_speaker: 93,
            seed: 1,
            min_snr_db: 5.0,
            max_snr_db: 30.0,
            valid_fraction: 0.15,
            test_fraction: 0.15,
            espeak: "espeak-ng".into(),
        }
    }
}

/// One synthetic speaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Speaker {
    /// Speaker id (the FSC `speakerId`).
    pub id: String,
    /// Split the speaker belongs to.
    pub split: Split,
    /// espeak-ng parameters.
    pub voice: Voice,
}

/// What [`synthesize`] wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SynthSummary {
    /// The options used.
    pub options: SynthOptions,
    /// espeak-ng's version line.
    pub espeak_version: String,
    /// All speakers.
    pub speakers: Vec<Speaker>,
    /// Utterances written per split (train, valid, test).
    pub n_utterances: [usize; 3],
    /// Total audio written, seconds.
    pub total_seconds: f64,
}

/// Draws the speakers: distinct (language, variant) pairs, split speaker-disjointly.
pub fn speakers(options: &SynthOptions) -> Result<Vec<Speaker>> {
    let n = options.n_speakers;
    let max = LANGUAGES.len() * VARIANTS.len();
    if !(3..=max).contains(&n) {
        return Err(Error::Tool {
            program: "synth".into(),
            reason: format!("needs between 3 and {max} speakers, got {n}"),
        });
    }
    let mut rng = Rng::derive(options.seed, 0);
    let mut pairs: Vec<(usize, usize)> =
        (0..LANGUAGES.len()).flat_map(|l| (0..VARIANTS.len()).map(move |v| (l, v))).collect();
    rng.shuffle(&mut pairs);
    let n_valid = ((n as f64 * options.valid_fraction).round() as usize).max(1);
    let n_test = ((n as f64 * options.test_fraction).round() as usize).max(1);
    if n_valid + n_test >= n {
        return Err(Error::Tool { program: "synth".into(), reason: format!("{n} speakers leave none for training") });
    }
    Ok(pairs[..n]
        .iter()
        .enumerate()
        .map(|(i, &(language, variant))| {
            let split = if i < n_valid {
                Split::Valid
            } else if i < n_valid + n_test {
                Split::Test
            } else {
                Split::Train
            };
            Speaker {
                id: format!("spk{i:03}"),
                split,
                voice: Voice {
                    language: LANGUAGES[language].into(),
                    variant: VARIANTS[variant].into(),
                    pitch: 25 + rng.below(51) as u32,
                    speed_wpm: 130 + rng.below(61) as u32,
                    amplitude: 80 + rng.below(71) as u32,
                    word_gap: rng.below(3) as u32,
                },
            }
        })
        .collect())
}

/// One utterance to synthesize.
#[derive(Debug, Clone)]
struct Job {
    speaker_idx: usize,
    utterance_idx: usize,
    intent_idx: usize,
    phrasing_idx: usize,
    rel_path: String,
}

fn jobs(options: &SynthOptions, speakers: &[Speaker], intents: &[Intent]) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (speaker_idx, speaker) in speakers.iter().enumerate() {
        let mut rng = Rng::derive(options.seed, 1 + speaker_idx as u64);
        // Every intent once per round, in a shuffled order, so classes stay balanced.
        let mut order = Vec::new();
        while order.len() < options.utterances_per_speaker {
            let mut round: Vec<usize> = (0..intents.len()).collect();
            rng.shuffle(&mut round);
            order.extend(round);
        }
        order.truncate(options.utterances_per_speaker);
        for (utterance_idx, intent_idx) in order.into_iter().enumerate() {
            jobs.push(Job {
                speaker_idx,
                utterance_idx,
                intent_idx,
                phrasing_idx: rng.below(intents[intent_idx].phrasings.len()),
                rel_path: format!("wavs/speakers/{id}/{id}_{utterance_idx:04}.wav", id = speaker.id),
            });
        }
    }
    jobs
}

/// Generates the corpus into `out` (which must not already hold `data/`).
pub fn synthesize(out: &Path, options: &SynthOptions, mut progress: impl FnMut(&Progress)) -> Result<SynthSummary> {
    let (min_snr, max_snr) = (options.min_snr_db, options.max_snr_db);
    if min_snr.is_nan() || max_snr.is_nan() || min_snr > max_snr {
        return Err(Error::Tool { program: "synth".into(), reason: "min_snr_db must not exceed max_snr_db".into() });
    }
    let espeak_version = espeak::check(&options.espeak)?;
    // One writer per output folder; a lock left by a killed synth is taken over.
    let _lock = DirLock::acquire(out)?;
    if out.join("data").exists() {
        return Err(Error::Dataset {
            path: out.join("data"),
            reason: "already exists; choose an empty output folder".into(),
        });
    }
    let speakers = speakers(options)?;
    espeak::check_voices(&options.espeak, speakers.iter().map(|s| &s.voice))?;
    let intents = intents();
    let jobs = jobs(options, &speakers, &intents);
    let io_err = |path: PathBuf| move |source| Error::Io { path, source };
    for speaker in &speakers {
        let dir = out.join("wavs/speakers").join(&speaker.id);
        std::fs::create_dir_all(&dir).map_err(io_err(dir.clone()))?;
    }
    let results = par_map_with_progress(&jobs, Task::Synthesize, &mut progress, |job| {
        let speaker = &speakers[job.speaker_idx];
        let text = &intents[job.intent_idx].phrasings[job.phrasing_idx];
        // Top bit set: utterance streams never meet the speaker streams (small numbers).
        let stream = (1 << 63) | ((job.speaker_idx as u64) << 32) | job.utterance_idx as u64;
        let mut rng = Rng::derive(options.seed, stream);
        let samples = render(options, &speaker.voice, text, &mut rng)?;
        write_wav_i16(&out.join(&job.rel_path), SAMPLE_RATE_HZ, &samples)?;
        Ok(samples.len() as f64 / f64::from(SAMPLE_RATE_HZ))
    });
    let mut total_seconds = 0.0;
    for result in results {
        total_seconds += result?;
    }
    // The CSVs are written last, into a temporary folder renamed to `data/` in one step, so an
    // interrupted run never looks like a complete corpus (and a rerun starts over).
    let mut n_utterances = [0; 3];
    let data_dir = out.join(format!(".data.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).map_err(io_err(data_dir.clone()))?;
    for split in Split::ALL {
        let mut csv = String::from(",path,speakerId,transcription,action,object,location\n");
        let rows = jobs.iter().filter(|j| speakers[j.speaker_idx].split == split);
        for (row_idx, job) in rows.enumerate() {
            let intent = &intents[job.intent_idx];
            csv.push_str(&format!(
                "{row_idx},{},{},{},{},{},{}\n",
                quote(&job.rel_path),
                quote(&speakers[job.speaker_idx].id),
                quote(&intent.phrasings[job.phrasing_idx]),
                quote(intent.action),
                quote(intent.object),
                quote(intent.location),
            ));
            n_utterances[split as usize] += 1;
        }
        write_atomic(&data_dir.join(format!("{}_data.csv", split.name())), csv.as_bytes())?;
    }
    let summary = SynthSummary { options: options.clone(), espeak_version, speakers, n_utterances, total_seconds };
    let json = serde_json::to_string_pretty(&summary).expect("summary serialises");
    write_atomic(&out.join("synth.json"), json.as_bytes())?;
    std::fs::rename(&data_dir, out.join("data")).map_err(io_err(out.join("data")))?;
    Ok(summary)
}

/// Speaks `text`, resamples to 16 kHz, pads with silence and adds noise at a random SNR.
pub fn render(options: &SynthOptions, voice: &Voice, text: &str, rng: &mut Rng) -> Result<Vec<f32>> {
    let jittered = Voice {
        pitch: (i64::from(voice.pitch) + rng.below(9) as i64 - 4).clamp(0, 99) as u32,
        speed_wpm: (f64::from(voice.speed_wpm) * rng.uniform_range(0.92, 1.08)).round() as u32,
        ..voice.clone()
    };
    let (rate, speech) = espeak::speak(&options.espeak, &jittered, text)?;
    let speech = resample(Path::new(text), &speech, rate, SAMPLE_RATE_HZ)?;
    let speech_rms = rms(&speech).max(1e-6);
    let lead = (rng.uniform_range(0.05, 0.4) * f64::from(SAMPLE_RATE_HZ)) as usize;
    let trail = (rng.uniform_range(0.05, 0.4) * f64::from(SAMPLE_RATE_HZ)) as usize;
    let mut signal = vec![0f32; lead];
    signal.extend_from_slice(&speech);
    signal.resize(lead + speech.len() + trail, 0.0);
    let snr_db = rng.uniform_range(options.min_snr_db, options.max_snr_db);
    let noise = background_noise(signal.len(), rng);
    let noise_gain = speech_rms / 10f32.powf(snr_db as f32 / 20.0) / rms(&noise).max(1e-9);
    for (s, n) in signal.iter_mut().zip(&noise) {
        *s += noise_gain * n;
    }
    // A random level between -26 and -6 dBFS peak, like recordings made at different distances.
    let peak = signal.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-9);
    let target_peak = 10f32.powf(rng.uniform_range(-26.0, -6.0) as f32 / 20.0);
    signal.iter_mut().for_each(|x| *x *= target_peak / peak);
    Ok(signal)
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len().max(1) as f64).sqrt() as f32
}

/// White, pink and brown noise in random proportions, plus mains hum one time in four.
pub fn background_noise(n: usize, rng: &mut Rng) -> Vec<f32> {
    let (w_white, w_pink, w_brown) = (rng.uniform(), rng.uniform(), rng.uniform());
    let hum = if rng.below(4) == 0 {
        let freq = if rng.below(2) == 0 { 50.0 } else { 60.0 };
        Some((freq, rng.uniform_range(0.05, 0.3), rng.uniform_range(0.0, std::f64::consts::TAU)))
    } else {
        None
    };
    // Paul Kellet's economy pink filter; brown = leaky integral of white.
    let (mut b0, mut b1, mut b2, mut brown) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    (0..n)
        .map(|i| {
            let white = rng.normal();
            b0 = 0.99765 * b0 + white * 0.0990460;
            b1 = 0.96300 * b1 + white * 0.2965164;
            b2 = 0.57000 * b2 + white * 1.0526913;
            let pink = (b0 + b1 + b2 + white * 0.1848) * 0.25;
            brown = 0.995 * brown + 0.1 * white;
            let mut x = w_white * white + w_pink * pink + w_brown * brown;
            if let Some((freq, amp, phase)) = hum {
                let t = i as f64 / f64::from(SAMPLE_RATE_HZ);
                x += amp * (std::f64::consts::TAU * freq * t + phase).sin();
            }
            x as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speakers_are_distinct_and_split_disjointly() {
        let options = SynthOptions::default();
        let speakers = speakers(&options).unwrap();
        assert_eq!(speakers.len(), 36);
        let mut pairs: Vec<_> = speakers.iter().map(|s| (s.voice.language.clone(), s.voice.variant.clone())).collect();
        pairs.sort();
        pairs.dedup();
        assert_eq!(pairs.len(), 36);
        let count = |split| speakers.iter().filter(|s| s.split == split).count();
        assert_eq!((count(Split::Train), count(Split::Valid), count(Split::Test)), (26, 5, 5));
        assert_eq!(speakers, super::speakers(&options).unwrap(), "deterministic");
    }

    #[test]
    fn jobs_cover_every_intent_evenly() {
        let options = SynthOptions { n_speakers: 3, utterances_per_speaker: 62, ..SynthOptions::default() };
        let speakers = speakers(&options).unwrap();
        let intents = intents();
        let jobs = jobs(&options, &speakers, &intents);
        assert_eq!(jobs.len(), 3 * 62);
        for intent_idx in 0..31 {
            let n = jobs.iter().filter(|j| j.intent_idx == intent_idx && j.speaker_idx == 0).count();
            assert_eq!(n, 2);
        }
    }

    #[test]
    fn noise_is_finite_and_deterministic() {
        let a = background_noise(1000, &mut Rng::seed(3));
        let b = background_noise(1000, &mut Rng::seed(3));
        assert_eq!(a, b);
        assert!(a.iter().all(|x| x.is_finite()) && rms(&a) > 0.0);
    }

    #[test]
    fn every_listed_voice_is_installed() {
        // All 320 (language, variant) pairs, not only the default corpus's.
        let voices: Vec<Voice> = LANGUAGES
            .iter()
            .flat_map(|l| VARIANTS.iter().map(move |v| (l, v)))
            .map(|(l, v)| Voice {
                language: l.to_string(),
                variant: v.to_string(),
                pitch: 50,
                speed_wpm: 160,
                amplitude: 100,
                word_gap: 0,
            })
            .collect();
        espeak::check_voices("espeak-ng", &voices).unwrap();
        let bogus = Voice { variant: "nosuchvariant".into(), ..voices[0].clone() };
        let err = espeak::check_voices("espeak-ng", [&bogus]).unwrap_err().to_string();
        assert!(err.contains("voices not installed: +nosuchvariant"), "{err}");
    }

    #[test]
    fn too_few_speakers_is_an_error() {
        let options = SynthOptions { n_speakers: 2, ..SynthOptions::default() };
        assert!(speakers(&options).is_err());
    }
}
