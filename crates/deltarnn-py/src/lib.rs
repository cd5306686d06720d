//! `deltarnn._native`, the compiled core of the `deltarnn` Python package (maturin, abi3):
//! [`model::PyModel`] (`deltarnn.Model`), [`dataset`] (`deltarnn.load_dataset`), and the errors ([`error`]). The package's Python side
//! (`python/deltarnn/`) re-exports it with type stubs.

mod arrays;
mod autograd;
mod dataset;
mod error;
mod model;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<model::PyModel>()?;
    m.add_class::<dataset::PyDataset>()?;
    m.add_function(wrap_pyfunction!(dataset::load, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::save_sequences, m)?)?;
    m.add_class::<autograd::PyTape>()?;
    m.add_function(wrap_pyfunction!(autograd::forward_batch, m)?)?;
    m.add_function(wrap_pyfunction!(autograd::backward_batch, m)?)?;
    m.add_class::<model::PyStream>()?;
    m.add("Error", m.py().get_type::<error::Error>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
