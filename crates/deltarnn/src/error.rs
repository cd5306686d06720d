//! The library's one error type.
use std::path::PathBuf;

/// Everything that can go wrong in the library. Messages are lowercase, one line, and name the
/// file or value at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Another live process holds the folder's lock file.
    #[error("{} is in use by process {pid} (lock file {})", path.display(), lock.display())]
    InUse {
        /// The locked folder.
        path: PathBuf,
        /// What the lock file says (the holder's pid).
        pid: String,
        /// The lock file.
        lock: PathBuf,
    },
    /// A configuration or argument is out of range.
    #[error("{0}")]
    Invalid(String),
    /// A checkpoint file is malformed or does not match its own metadata.
    #[error("{}: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A tensor file (model input, labels) is malformed or has the wrong shape.
    #[error("{}: {reason}", path.display())]
    TensorFile {
        /// The tensor file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An activity-trace file is malformed (`docs/trace-format.md`).
    #[error("{}: bad trace file at byte {offset}: expected {expected}, found {found}", path.display())]
    TraceFile {
        /// The file (`<bytes>` when parsed from memory).
        path: PathBuf,
        /// Byte offset of the field at fault.
        offset: u64,
        /// What the format requires there.
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// Training produced a non-finite loss, gradient or parameter.
    #[error(
        "training diverged at epoch {epoch}, batch {batch}: the {what} is not finite{}",
        in_utterances(utterances)
    )]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        batch: usize,
        /// What went non-finite.
        what: String,
        /// The utterances (file paths) whose loss or gradient was not finite, when known.
        utterances: Vec<String>,
    },
    /// A value did not fit the FXP16 Q format a run trains in (`--arith fxp16`): the RTL would
    /// have wrapped it around silently.
    #[error(
        "fxp16 overflow in {context}, {utterance}: {tensor} of layer {layer} at step {step} is {value:.6}, beyond \
         the {bits} fraction bits' range of +-{limit:.6}; give it fewer fraction bits (--q-format W,D,G)"
    )]
    FormatOverflow {
        /// Where: "training epoch E, batch B" or "evaluation".
        context: String,
        /// The sequence.
        utterance: String,
        /// 0-based layer.
        layer: usize,
        /// Which tensor ([`crate::nn::datapath::Tensor::name`]).
        tensor: String,
        /// Time step within the sequence.
        step: usize,
        /// The value that did not fit.
        value: f64,
        /// Its fraction bits.
        bits: u8,
        /// The largest magnitude those bits hold.
        limit: f64,
    },
    /// An input frame holds NaN or an infinity (the delta encoder would silently never fire on
    /// it, so it is caught before use).
    #[error("{utterance}: input frame {frame}, feature {feature} is not finite ({value}) during {context}")]
    NonFiniteInput {
        /// The utterance (file path) holding it.
        utterance: String,
        /// 0-based frame.
        frame: usize,
        /// 0-based feature.
        feature: usize,
        /// The value.
        value: f32,
        /// "training epoch E, batch B" or "evaluation".
        context: String,
    },
    // --- audio and datasets ---
    /// A file that should be a WAV is not one (no RIFF/WAVE header, or a malformed chunk).
    #[error("{path}: not a wav file ({reason})")]
    NotWav {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A WAV file ends inside its header or before its data chunk starts.
    #[error("{path}: truncated wav header ({reason})")]
    WavTruncatedHeader {
        /// The file.
        path: PathBuf,
        /// Where it ended.
        reason: String,
    },
    /// The data chunk claims more bytes than the file holds.
    #[error("{path}: data chunk declares {declared_bytes} bytes but only {available_bytes} follow it")]
    WavDeclaredTooLong {
        /// The file.
        path: PathBuf,
        /// Bytes the data chunk header declares.
        declared_bytes: u64,
        /// Bytes actually present after the data chunk header.
        available_bytes: u64,
    },
    /// The data chunk holds no complete sample frame.
    #[error("{path}: wav holds zero samples")]
    WavEmpty {
        /// The file.
        path: PathBuf,
    },
    /// A sample encoding that the reader does not handle.
    #[error("{path}: unsupported wav encoding ({reason})")]
    WavUnsupported {
        /// The file.
        path: PathBuf,
        /// The encoding found.
        reason: String,
    },
    /// The data chunk is not a whole number of sample frames.
    #[error("{path}: data chunk of {data_bytes} bytes is not a whole number of {n_channels}-channel frames of {block_bytes} bytes")]
    WavPartialFrame {
        /// The file.
        path: PathBuf,
        /// Size of the data chunk.
        data_bytes: u64,
        /// Channels declared in the fmt chunk.
        n_channels: u16,
        /// Bytes per frame (all channels).
        block_bytes: u64,
    },
    /// A floating-point sample is NaN or infinite.
    #[error("{path}: sample {sample_idx} is not finite ({value})")]
    WavNonFinite {
        /// The file.
        path: PathBuf,
        /// Index of the first bad sample (interleaved).
        sample_idx: usize,
        /// The value found.
        value: f32,
    },
    /// A file is larger than the configured limit.
    #[error("{path}: file has {found_bytes} bytes, the limit is {limit_bytes}")]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// Size on disk.
        found_bytes: u64,
        /// The configured maximum.
        limit_bytes: u64,
    },
    /// An utterance is longer than the configured limit.
    #[error("{path}: utterance lasts {found_seconds:.2} s, the limit is {limit_seconds:.2} s")]
    UtteranceTooLong {
        /// The file.
        path: PathBuf,
        /// Duration found.
        found_seconds: f64,
        /// The configured maximum.
        limit_seconds: f64,
    },
    /// An utterance is shorter than one feature frame.
    #[error("{path}: utterance has {n_samples} samples at 16 kHz, fewer than one frame of {frame_samples}")]
    UtteranceTooShort {
        /// The file.
        path: PathBuf,
        /// Samples after resampling.
        n_samples: usize,
        /// Samples in one frame.
        frame_samples: usize,
    },
    /// The resampler refused the input.
    #[error("{path}: resampling from {from_hz} Hz failed ({reason})")]
    Resample {
        /// The file.
        path: PathBuf,
        /// Input sample rate.
        from_hz: u32,
        /// The resampler's message.
        reason: String,
    },
    /// A feature configuration that cannot work.
    #[error("invalid feature config: {reason}")]
    FeatureConfig {
        /// What is wrong.
        reason: String,
    },
    /// A CSV file lacks a column the dataset layout needs.
    #[error("{path}: csv has no column {column:?} (header: {header})")]
    CsvMissingColumn {
        /// The file.
        path: PathBuf,
        /// The column name looked for.
        column: String,
        /// The header line found.
        header: String,
    },
    /// A CSV row is malformed.
    #[error("{path}:{line}: {reason}")]
    CsvRow {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A folder matches none of the known dataset layouts.
    #[error("{path}: not a known dataset layout ({reason})")]
    UnknownLayout {
        /// The folder.
        path: PathBuf,
        /// What was looked for.
        reason: String,
    },
    /// A dataset is structurally wrong (empty split, bad file name, unknown label).
    #[error("{path}: {reason}")]
    Dataset {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A feature cache file is unreadable or inconsistent (it is then rebuilt, not trusted).
    #[error("{path}: bad feature cache ({reason})")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An external program (espeak-ng) is missing or failed.
    #[error("{program}: {reason}")]
    Tool {
        /// The program.
        program: String,
        /// What went wrong, including how to fix it when known.
        reason: String,
    },
    // --- end audio and datasets ---
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// `Ok` when `value` is a finite number >= 0, else [`Error::Invalid`] naming `name`: the one
    /// check of every threshold, rate and weight that must be a finite non-negative number.
    pub fn check_non_negative(name: &str, value: f64) -> Result<()> {
        if value.is_finite() && value >= 0.0 {
            Ok(())
        } else {
            Err(Error::Invalid(format!("{name} must be a finite number >= 0, got {value}")))
        }
    }
}

/// " (utterances a.wav, b.wav)" naming at most three, or nothing.
fn in_utterances(names: &[String]) -> String {
    let names: Vec<&str> = names.iter().map(String::as_str).filter(|n| !n.is_empty()).collect();
    match names.len() {
        0 => String::new(),
        1 => format!(" (utterance {})", names[0]),
        n if n <= 3 => format!(" (utterances {})", names.join(", ")),
        n => format!(" (utterances {} and {} more)", names[..3].join(", "), n - 3),
    }
}

/// Result with the library's error type.
pub type Result<T> = std::result::Result<T, Error>;
