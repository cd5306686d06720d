//! WAV reading: every integer width hound decodes (8/16/24/32 bit) and 32-bit float, any channel
//! count (averaged to mono), with the checks that make a bad file fail with its own message.
//!
//! The RIFF chunks are walked here first, before hound decodes anything, so that a data chunk
//! that declares more bytes than the file holds is refused before a single sample is allocated.
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use super::Limits;
use crate::{Error, Result};

/// A decoded, downmixed WAV file.
#[derive(Debug, Clone, PartialEq)]
pub struct Wav {
    /// Sample rate of the file.
    pub sample_rate_hz: u32,
    /// Channels in the file (before downmixing).
    pub n_channels: u16,
    /// Bits per sample in the file.
    pub bits_per_sample: u16,
    /// Mono samples in [-1, 1] (the mean over channels).
    pub samples: Vec<f32>,
}

impl Wav {
    /// Duration in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate_hz)
    }
}

/// What the chunk walk found: the header facts needed before decoding.
#[derive(Debug, Clone, Copy)]
struct Layout {
    format_tag: u16,
    n_channels: u16,
    sample_rate_hz: u32,
    block_bytes: u16,
    bits_per_sample: u16,
    data_bytes: u64,
}

/// Reads `path`, checking it fully. Files larger than `limits.max_file_bytes` are refused before
/// they are opened, and utterances longer than `limits.max_utterance_seconds` from the header,
/// before a single sample is decoded.
pub fn read_wav(path: &Path, limits: &Limits) -> Result<Wav> {
    let io_err = |source| Error::Io { path: path.to_path_buf(), source };
    let file_bytes = std::fs::metadata(path).map_err(io_err)?.len();
    check_file_size(path, file_bytes, limits)?;
    let file = BufReader::new(File::open(path).map_err(io_err)?);
    read_wav_from(path, file, file_bytes, limits)
}

/// Parses WAV `bytes` held in memory with the same checks as [`read_wav`]; `path` only names the
/// file in errors. This is the entry point of the WAV fuzz target.
pub fn parse_wav(path: &Path, bytes: &[u8], limits: &Limits) -> Result<Wav> {
    check_file_size(path, bytes.len() as u64, limits)?;
    read_wav_from(path, Cursor::new(bytes), bytes.len() as u64, limits)
}

fn check_file_size(path: &Path, file_bytes: u64, limits: &Limits) -> Result<()> {
    if file_bytes > limits.max_file_bytes {
        return Err(Error::FileTooLarge {
            path: path.to_path_buf(),
            found_bytes: file_bytes,
            limit_bytes: limits.max_file_bytes,
        });
    }
    Ok(())
}

fn read_wav_from<R: Read + Seek>(path: &Path, mut file: R, file_bytes: u64, limits: &Limits) -> Result<Wav> {
    let layout = walk_chunks(path, &mut file, file_bytes)?;
    file.seek(SeekFrom::Start(0)).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    decode(path, file, layout, limits)
}

fn read_exact_or_truncated(path: &Path, file: &mut impl Read, buf: &mut [u8], what: &str) -> Result<()> {
    file.read_exact(buf).map_err(|err| {
        if err.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::WavTruncatedHeader { path: path.to_path_buf(), reason: format!("file ends inside the {what}") }
        } else {
            Error::Io { path: path.to_path_buf(), source: err }
        }
    })
}

fn walk_chunks<R: Read + Seek>(path: &Path, file: &mut R, file_bytes: u64) -> Result<Layout> {
    let not_wav = |reason: &str| Error::NotWav { path: path.to_path_buf(), reason: reason.to_string() };
    let mut riff = [0u8; 12];
    if file_bytes < 4 {
        return Err(not_wav("shorter than a RIFF tag"));
    }
    if file_bytes < 12 {
        read_exact_or_truncated(path, file, &mut riff[..4], "RIFF header")?;
        if &riff[..4] != b"RIFF" {
            return Err(not_wav("no RIFF tag"));
        }
        return Err(Error::WavTruncatedHeader {
            path: path.to_path_buf(),
            reason: "file ends inside the RIFF header".into(),
        });
    }
    read_exact_or_truncated(path, file, &mut riff, "RIFF header")?;
    if &riff[..4] != b"RIFF" {
        return Err(not_wav("no RIFF tag"));
    }
    if &riff[8..12] != b"WAVE" {
        return Err(not_wav("RIFF file without a WAVE tag"));
    }
    let mut pos = 12u64;
    let mut fmt: Option<[u8; 16]> = None;
    loop {
        let mut header = [0u8; 8];
        read_exact_or_truncated(path, file, &mut header, "chunk list before the data chunk")?;
        pos += 8;
        let id = [header[0], header[1], header[2], header[3]];
        let size = u64::from(u32::from_le_bytes([header[4], header[5], header[6], header[7]]));
        match &id {
            b"fmt " => {
                if size < 16 {
                    return Err(not_wav("fmt chunk shorter than 16 bytes"));
                }
                let mut body = [0u8; 16];
                read_exact_or_truncated(path, file, &mut body, "fmt chunk")?;
                skip(path, file, size - 16 + (size & 1))?;
                fmt = Some(body);
            }
            b"data" => {
                let Some(body) = fmt else {
                    return Err(not_wav("data chunk before the fmt chunk"));
                };
                let available = file_bytes.saturating_sub(pos);
                if size > available {
                    return Err(Error::WavDeclaredTooLong {
                        path: path.to_path_buf(),
                        declared_bytes: size,
                        available_bytes: available,
                    });
                }
                let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
                return Ok(Layout {
                    format_tag: u16_at(0),
                    n_channels: u16_at(2),
                    sample_rate_hz: u32::from_le_bytes([body[4], body[5], body[6], body[7]]),
                    block_bytes: u16_at(12),
                    bits_per_sample: u16_at(14),
                    data_bytes: size,
                });
            }
            _ => skip(path, file, size + (size & 1))?,
        }
        pos += size + (size & 1);
        if pos > file_bytes {
            return Err(Error::WavTruncatedHeader {
                path: path.to_path_buf(),
                reason: "file ends before the data chunk".into(),
            });
        }
    }
}

fn skip(path: &Path, file: &mut impl Seek, n: u64) -> Result<()> {
    let n = i64::try_from(n)
        .map_err(|_| Error::NotWav { path: path.to_path_buf(), reason: "chunk size overflows".into() })?;
    file.seek(SeekFrom::Current(n)).map(|_| ()).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// Format tags: PCM, IEEE float, and WAVE_FORMAT_EXTENSIBLE (which hound resolves itself).
const FORMAT_PCM: u16 = 1;
const FORMAT_FLOAT: u16 = 3;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

fn decode<R: Read + Seek>(path: &Path, file: R, layout: Layout, limits: &Limits) -> Result<Wav> {
    let unsupported = |reason: String| Error::WavUnsupported { path: path.to_path_buf(), reason };
    let bits = layout.bits_per_sample;
    match layout.format_tag {
        FORMAT_PCM | FORMAT_EXTENSIBLE => {}
        FORMAT_FLOAT if bits == 32 => {}
        FORMAT_FLOAT => return Err(unsupported(format!("{bits}-bit float"))),
        tag => return Err(unsupported(format!("format tag {tag:#06x}"))),
    }
    if layout.n_channels == 0 {
        return Err(unsupported("zero channels".into()));
    }
    if layout.sample_rate_hz == 0 {
        return Err(unsupported("sample rate 0 Hz".into()));
    }
    let block_bytes = u64::from(layout.block_bytes.max(1));
    if layout.data_bytes % block_bytes != 0 {
        return Err(Error::WavPartialFrame {
            path: path.to_path_buf(),
            data_bytes: layout.data_bytes,
            n_channels: layout.n_channels,
            block_bytes,
        });
    }
    if layout.data_bytes == 0 {
        return Err(Error::WavEmpty { path: path.to_path_buf() });
    }
    // The header says how long the utterance is: refuse a long one before allocating for it.
    let seconds = (layout.data_bytes / block_bytes) as f64 / f64::from(layout.sample_rate_hz);
    if seconds > limits.max_utterance_seconds {
        return Err(Error::UtteranceTooLong {
            path: path.to_path_buf(),
            found_seconds: seconds,
            limit_seconds: limits.max_utterance_seconds,
        });
    }
    let reader = hound::WavReader::new(file).map_err(|err| hound_error(path, err))?;
    let spec = reader.spec();
    // hound walks the chunks again on its own. A file whose chunks it reads differently from the
    // walk above (found by fuzzing: a second RIFF header inside an unknown chunk) must not get a
    // sample count or a rate that was never checked, so both readings have to agree.
    let sample_bytes = u64::from(spec.bits_per_sample.div_ceil(8).max(1));
    if spec.channels != layout.n_channels
        || spec.sample_rate != layout.sample_rate_hz
        || u64::from(reader.len()) * sample_bytes > layout.data_bytes
    {
        return Err(Error::NotWav { path: path.to_path_buf(), reason: "ambiguous fmt or data chunks".into() });
    }
    let n_channels = usize::from(spec.channels);
    let n_interleaved = reader.len() as usize;
    let mut interleaved = Vec::with_capacity(n_interleaved);
    match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => {
            for (sample_idx, sample) in reader.into_samples::<f32>().enumerate() {
                let value = sample.map_err(|err| hound_error(path, err))?;
                if !value.is_finite() {
                    return Err(Error::WavNonFinite { path: path.to_path_buf(), sample_idx, value });
                }
                interleaved.push(value);
            }
        }
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            // hound maps 8-bit unsigned to signed, so full scale is 2^(bits-1) for every width.
            let scale = 1.0 / (1u64 << (bits - 1)) as f64;
            for sample in reader.into_samples::<i32>() {
                let value = sample.map_err(|err| hound_error(path, err))?;
                interleaved.push((f64::from(value) * scale) as f32);
            }
        }
        (format, bits) => {
            return Err(unsupported(format!("{bits}-bit {format:?}").to_lowercase()));
        }
    }
    if interleaved.len() < n_channels {
        return Err(Error::WavEmpty { path: path.to_path_buf() });
    }
    let samples = downmix(&interleaved, n_channels);
    Ok(Wav {
        sample_rate_hz: spec.sample_rate,
        n_channels: spec.channels,
        bits_per_sample: spec.bits_per_sample,
        samples,
    })
}

/// Averages interleaved channels into one.
pub fn downmix(interleaved: &[f32], n_channels: usize) -> Vec<f32> {
    if n_channels == 1 {
        return interleaved.to_vec();
    }
    let inv = 1.0 / n_channels as f32;
    interleaved.chunks_exact(n_channels).map(|frame| frame.iter().sum::<f32>() * inv).collect()
}

fn hound_error(path: &Path, err: hound::Error) -> Error {
    match err {
        hound::Error::IoError(source) if source.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::WavTruncatedHeader { path: path.to_path_buf(), reason: "file ends early".into() }
        }
        hound::Error::IoError(source) => Error::Io { path: path.to_path_buf(), source },
        hound::Error::Unsupported => {
            Error::WavUnsupported { path: path.to_path_buf(), reason: "encoding not handled by hound".into() }
        }
        other => Error::NotWav { path: path.to_path_buf(), reason: other.to_string().to_lowercase() },
    }
}

/// Writes 16-bit mono PCM (used by `synth` and by tests) atomically: a killed writer never
/// leaves a half-written WAV under `path`.
pub fn write_wav_i16(path: &Path, sample_rate_hz: u32, samples: &[f32]) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sample_rate_hz,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let to_err = |err: hound::Error| match err {
        hound::Error::IoError(source) => Error::Io { path: path.to_path_buf(), source },
        other => Error::NotWav { path: path.to_path_buf(), reason: other.to_string() },
    };
    let mut bytes = Cursor::new(Vec::with_capacity(44 + 2 * samples.len()));
    let mut writer = hound::WavWriter::new(&mut bytes, spec).map_err(to_err)?;
    for &x in samples {
        let value = (x.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        writer.write_sample(value).map_err(to_err)?;
    }
    writer.finalize().map_err(to_err)?;
    crate::files::write_atomic(path, &bytes.into_inner())
}

/// Parses a mono 16-bit WAV held in memory whose size fields may be bogus (espeak-ng writing to a
/// pipe leaves them at 0x7ffff000): the samples are everything after the data chunk header.
pub fn parse_streamed_wav_i16(bytes: &[u8]) -> Option<(u32, Vec<f32>)> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let mut pos = 12;
    let mut sample_rate_hz = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().ok()?) as usize;
        if id == b"fmt " {
            let body = bytes.get(pos + 8..pos + 24)?;
            let n_channels = u16::from_le_bytes([body[2], body[3]]);
            let bits = u16::from_le_bytes([body[14], body[15]]);
            if n_channels != 1 || bits != 16 {
                return None;
            }
            sample_rate_hz = Some(u32::from_le_bytes(body[4..8].try_into().ok()?));
        } else if id == b"data" {
            let data = &bytes[pos + 8..];
            let samples = data.chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0).collect();
            return Some((sample_rate_hz?, samples));
        }
        pos += 8 + size + (size & 1);
    }
    None
}
