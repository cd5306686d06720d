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
    /// Training produced a non-finite loss, gradient or parameter.
    #[error("training diverged at epoch {epoch}, batch {batch}: the {what} is not finite")]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        batch: usize,
        /// What went non-finite.
        what: String,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

/// Result with the library's error type.
pub type Result<T> = std::result::Result<T, Error>;
