//! Running espeak-ng as a process.
use std::process::{Command, Stdio};

use crate::audio::wav::parse_streamed_wav_i16;
use crate::{Error, Result};

/// How to install espeak-ng, for error messages.
pub const INSTALL_HINT: &str = "install it with `apt-get install espeak-ng` (Debian/Ubuntu), \
    `dnf install espeak-ng` (Fedora) or `brew install espeak-ng` (macOS), \
    or run scripts/ensure-espeak.sh from the repository";

/// Voice parameters passed to espeak-ng.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Voice {
    /// Language voice, e.g. `en-us` (`-v`).
    pub language: String,
    /// Voice variant, e.g. `m3` (appended as `+m3`).
    pub variant: String,
    /// Pitch 0-99 (`-p`).
    pub pitch: u32,
    /// Speed in words per minute (`-s`).
    pub speed_wpm: u32,
    /// Amplitude 0-200 (`-a`).
    pub amplitude: u32,
    /// Extra pause between words in units of 10 ms (`-g`).
    pub word_gap: u32,
}

/// Checks that `program` runs; the error says how to install it.
pub fn check(program: &str) -> Result<String> {
    match Command::new(program).arg("--version").output() {
        Ok(out) if out.status.success() => {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        Ok(out) => Err(Error::Tool {
            program: program.to_string(),
            reason: format!(
                "`{program} --version` failed ({}); {INSTALL_HINT}",
                out.status
            ),
        }),
        Err(err) => Err(Error::Tool {
            program: program.to_string(),
            reason: format!("cannot run it ({err}); {INSTALL_HINT}"),
        }),
    }
}

/// Speaks `text` with `voice`; returns (sample rate, mono samples in [-1, 1]).
pub fn speak(program: &str, voice: &Voice, text: &str) -> Result<(u32, Vec<f32>)> {
    let fail = |reason: String| Error::Tool {
        program: program.to_string(),
        reason,
    };
    let out = Command::new(program)
        .arg("-v")
        .arg(format!("{}+{}", voice.language, voice.variant))
        .arg("-p")
        .arg(voice.pitch.to_string())
        .arg("-s")
        .arg(voice.speed_wpm.to_string())
        .arg("-a")
        .arg(voice.amplitude.to_string())
        .arg("-g")
        .arg(voice.word_gap.to_string())
        .arg("--stdout")
        .arg("--")
        .arg(text)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| fail(format!("cannot run it ({err}); {INSTALL_HINT}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "failed on {text:?} with voice {}+{} ({}): {}",
            voice.language,
            voice.variant,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let (rate, samples) = parse_streamed_wav_i16(&out.stdout)
        .ok_or_else(|| fail(format!("wrote no 16-bit mono wav for {text:?}")))?;
    if samples.iter().all(|&x| x == 0.0) {
        return Err(fail(format!(
            "produced silence for {text:?} with voice {}+{}",
            voice.language, voice.variant
        )));
    }
    Ok((rate, samples))
}
