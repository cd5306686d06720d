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
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        Ok(out) => Err(Error::Tool {
            program: program.to_string(),
            reason: format!("`{program} --version` failed ({}); {INSTALL_HINT}", out.status),
        }),
        Err(err) => {
            Err(Error::Tool { program: program.to_string(), reason: format!("cannot run it ({err}); {INSTALL_HINT}") })
        }
    }
}

/// Names espeak-ng knows for `--voices[=filter]`: each voice's language and file base name.
fn voice_names(program: &str, filter: Option<&str>) -> Result<Vec<String>> {
    let mut command = Command::new(program);
    command.arg(filter.map_or("--voices".to_string(), |f| format!("--voices={f}")));
    let out = command.output().map_err(|err| Error::Tool {
        program: program.to_string(),
        reason: format!("cannot list voices ({err}); {INSTALL_HINT}"),
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut names = Vec::new();
    for line in text.lines().skip(1) {
        let columns: Vec<&str> = line.split_whitespace().collect();
        if let Some(language) = columns.get(1) {
            names.push(language.to_string());
        }
        if let Some(file) = columns.get(4) {
            names.push(file.rsplit('/').next().unwrap_or(file).to_string());
        }
    }
    Ok(names)
}

/// Checks that every voice's language and variant is installed: espeak-ng silently falls back
/// to its default voice otherwise, which would quietly merge speakers.
pub fn check_voices<'a>(program: &str, voices: impl IntoIterator<Item = &'a Voice>) -> Result<()> {
    let languages = voice_names(program, None)?;
    let variants = voice_names(program, Some("variant"))?;
    let mut missing = std::collections::BTreeSet::new();
    for voice in voices {
        if !languages.iter().any(|l| l.eq_ignore_ascii_case(&voice.language)) {
            missing.insert(voice.language.clone());
        }
        if !variants.contains(&voice.variant) {
            missing.insert(format!("+{}", voice.variant));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Tool {
        program: program.to_string(),
        reason: format!(
            "voices not installed: {}; install the full espeak-ng-data package (Debian/Ubuntu: \
             apt-get install espeak-ng espeak-ng-data)",
            missing.into_iter().collect::<Vec<_>>().join(" ")
        ),
    })
}

/// Speaks `text` with `voice`; returns (sample rate, mono samples in [-1, 1]).
pub fn speak(program: &str, voice: &Voice, text: &str) -> Result<(u32, Vec<f32>)> {
    let fail = |reason: String| Error::Tool { program: program.to_string(), reason };
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
    let (rate, samples) =
        parse_streamed_wav_i16(&out.stdout).ok_or_else(|| fail(format!("wrote no 16-bit mono wav for {text:?}")))?;
    if samples.iter().all(|&x| x == 0.0) {
        return Err(fail(format!("produced silence for {text:?} with voice {}+{}", voice.language, voice.variant)));
    }
    Ok((rate, samples))
}
