//! Errors as Python exceptions: the library's message, one line, as `deltarnn.Error` (a
//! `ValueError`), or `FileNotFoundError` / `OSError` for files that cannot be read.

use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    deltarnn,
    Error,
    PyValueError,
    "A deltarnn error: bad input, a malformed file, a training run that cannot go on. The message \
     names what is wrong and where."
);

/// Bad input from Python.
pub fn invalid(message: impl Into<String>) -> PyErr {
    Error::new_err(message.into())
}

/// A library error as the Python exception of its kind.
pub fn library(error: deltarnn::Error) -> PyErr {
    let message = error.to_string();
    match &error {
        deltarnn::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(message)
        }
        deltarnn::Error::Io { .. } => PyOSError::new_err(message),
        _ => Error::new_err(message),
    }
}
