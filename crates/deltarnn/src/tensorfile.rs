//! Reading and writing named tensors in safetensors files (model inputs, labels, outputs).

use crate::files::write_atomic;
use crate::{Error, Result};
use safetensors::tensor::{Dtype, Metadata, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// A tensor read from a file, converted to f64.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatTensor {
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its elements, row-major.
    pub data: Vec<f64>,
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::TensorFile { path: path.to_path_buf(), reason: reason.into() }
}

/// Largest JSON header accepted. safetensors' own limit is 100 MB; our headers hold a model
/// configuration, a label map and a training history, far below this.
pub const MAX_HEADER_BYTES: u64 = 16 << 20;
/// Largest tensor file read into memory (a model at the configuration limits is far smaller).
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// Reads the whole file into memory after checking, from its size and its first 8 bytes, that
/// the header length it declares is plausible: a file claiming a huge header is refused before
/// anything is allocated for it.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let io = |e| Error::io(path, e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let file_bytes = file.metadata().map_err(io)?.len();
    if file_bytes > MAX_FILE_BYTES {
        return Err(bad(path, format!("file has {file_bytes} bytes, the limit is {MAX_FILE_BYTES}")));
    }
    let mut prefix = [0u8; 8];
    let n_prefix = read_up_to(&mut file, &mut prefix).map_err(io)?;
    check_header_length(path, &prefix[..n_prefix], file_bytes)?;
    let mut bytes = Vec::with_capacity(file_bytes as usize);
    bytes.extend_from_slice(&prefix);
    file.read_to_end(&mut bytes).map_err(io)?;
    Ok(bytes)
}

fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Checks the 8-byte little-endian header length at the start of a file of `file_bytes` bytes.
fn check_header_length(path: &Path, prefix: &[u8], file_bytes: u64) -> Result<()> {
    let Ok(prefix) = <[u8; 8]>::try_from(prefix) else {
        return Err(bad(path, format!("not a valid safetensors file (only {file_bytes} bytes, no header length)")));
    };
    let n = u64::from_le_bytes(prefix);
    if n > MAX_HEADER_BYTES {
        return Err(bad(
            path,
            format!("not a valid safetensors file (header claims {n} bytes, the limit is {MAX_HEADER_BYTES})"),
        ));
    }
    if n > file_bytes - 8 {
        return Err(bad(
            path,
            format!("not a valid safetensors file (header claims {n} bytes, the file has {file_bytes})"),
        ));
    }
    Ok(())
}

/// A parsed safetensors file: its header (the tensor table and the string metadata), read once,
/// over the file's data bytes.
pub struct Parsed<'a> {
    header: Metadata,
    data: &'a [u8],
}

impl<'a> Parsed<'a> {
    /// The tensor `name`, if the file has one.
    pub fn tensor(&self, name: &str) -> Option<TensorView<'a>> {
        let info = self.header.info(name)?;
        let (start, end) = info.data_offsets;
        // The header was validated: every range lies inside the data and fits its shape.
        TensorView::new(info.dtype, info.shape.clone(), &self.data[start..end]).ok()
    }

    /// The tensor names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.header.tensors().into_keys().collect();
        names.sort();
        names
    }

    /// The string metadata of the header (empty when it has none).
    pub fn metadata(&self) -> HashMap<String, String> {
        self.header.metadata().clone().unwrap_or_default()
    }
}

/// Parses safetensors bytes, naming `path` in errors. safetensors itself checks that every
/// tensor's shape times its dtype size equals its byte range (with overflow checks), and that
/// the ranges tile the data exactly, so no shape can claim more data than the file holds.
pub fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<Parsed<'a>> {
    check_header_length(path, bytes.get(..8).unwrap_or(bytes), bytes.len() as u64)?;
    let (header_bytes, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| bad(path, format!("not a valid safetensors file ({e})")))?;
    Ok(Parsed { header, data: &bytes[8 + header_bytes..] })
}

/// Converts a tensor of floating dtype (F32, F64) to f64, naming it in errors.
pub fn floats(path: &Path, name: &str, view: &TensorView<'_>) -> Result<Vec<f64>> {
    let data = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => data.chunks_exact(4).map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))).collect(),
        Dtype::F64 => data.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect(),
        other => return Err(bad(path, format!("tensor '{name}' has dtype {other:?}, expected F32 or F64"))),
    })
}

/// Reads the floating tensor `name` and checks that every element is finite.
pub fn read_float(path: &Path, name: &str) -> Result<FloatTensor> {
    float_from_bytes(path, &read_bytes(path)?, name)
}

/// [`read_float`] on bytes in memory; `path` only names the file in errors.
pub fn float_from_bytes(path: &Path, bytes: &[u8], name: &str) -> Result<FloatTensor> {
    let st = parse(path, bytes)?;
    let view = st.tensor(name).ok_or_else(|| bad(path, format!("no tensor named '{name}' (found: {})", names(&st))))?;
    let data = floats(path, name, &view)?;
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(bad(path, format!("tensor '{name}' has a non-finite value ({}) at flat index {i}", data[i])));
    }
    Ok(FloatTensor { shape: view.shape().to_vec(), data })
}

/// Reads the integer tensor `name` (I64 or I32) as i64 values with its shape.
pub fn read_int(path: &Path, name: &str) -> Result<(Vec<usize>, Vec<i64>)> {
    int_from_bytes(path, &read_bytes(path)?, name)
}

/// [`read_int`] on bytes in memory; `path` only names the file in errors.
pub fn int_from_bytes(path: &Path, bytes: &[u8], name: &str) -> Result<(Vec<usize>, Vec<i64>)> {
    let st = parse(path, bytes)?;
    let view = st.tensor(name).ok_or_else(|| bad(path, format!("no tensor named '{name}' (found: {})", names(&st))))?;
    if !matches!(view.dtype(), Dtype::I64 | Dtype::I32) {
        return Err(bad(path, format!("tensor '{name}' has dtype {:?}, expected I64 or I32", view.dtype())));
    }
    Ok((view.shape().to_vec(), int_values(&view)))
}

/// An I64 or I32 tensor's elements as i64 (other dtypes give nothing: check first).
pub fn int_values(view: &TensorView<'_>) -> Vec<i64> {
    let data = view.data();
    match view.dtype() {
        Dtype::I64 => data.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes"))).collect(),
        Dtype::I32 => {
            data.chunks_exact(4).map(|b| i64::from(i32::from_le_bytes(b.try_into().expect("4 bytes")))).collect()
        }
        _ => Vec::new(),
    }
}

/// The tensor names in a file, sorted and comma-separated (for error messages).
pub fn names(st: &Parsed<'_>) -> String {
    st.names().join(", ")
}

/// An f32 tensor to write: name, shape, row-major values.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// Serialises f32 tensors and string metadata to safetensors bytes.
pub fn to_bytes(tensors: &[NamedTensor], metadata: Option<HashMap<String, String>>) -> Result<Vec<u8>> {
    mixed_to_bytes(tensors, &[], metadata)
}

/// An i64 tensor to write: name, shape, row-major values.
pub type NamedIntTensor = (String, Vec<usize>, Vec<i64>);

/// Serialises f32 and i64 tensors and string metadata to safetensors bytes (canonical: equal
/// contents give equal bytes).
pub fn mixed_to_bytes(
    floats: &[NamedTensor],
    ints: &[NamedIntTensor],
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let float_bytes = floats
        .iter()
        .map(|(n, s, v)| (n.clone(), s.clone(), Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect()));
    let int_bytes = ints
        .iter()
        .map(|(n, s, v)| (n.clone(), s.clone(), Dtype::I64, v.iter().flat_map(|x| x.to_le_bytes()).collect()));
    let raw: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = float_bytes.chain(int_bytes).collect();
    let views: Vec<(String, TensorView<'_>)> = raw
        .iter()
        .map(|(n, s, dtype, b)| {
            let view =
                TensorView::new(*dtype, s.clone(), b).map_err(|e| Error::Invalid(format!("tensor '{n}': {e}")))?;
            Ok((n.clone(), view))
        })
        .collect::<Result<_>>()?;
    let bytes =
        safetensors::serialize(views, &metadata).map_err(|e| Error::Invalid(format!("serialising tensors: {e}")))?;
    Ok(canonical(bytes))
}

/// Rewrites the JSON header with its keys sorted (safetensors writes the metadata map in hash
/// order, which differs between processes), so equal contents give equal bytes.
fn canonical(bytes: Vec<u8>) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8-byte length")) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).expect("safetensors wrote valid JSON");
    // serde_json's map is ordered by key, so this serialisation is canonical.
    let mut text = serde_json::to_vec(&header).expect("serialisable");
    while text.len() % 8 != 0 {
        text.push(b' '); // safetensors pads the header to 8 bytes with spaces
    }
    let mut out = Vec::with_capacity(8 + text.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

/// Writes f32 tensors (and optional metadata) to `path` atomically.
pub fn write(path: &Path, tensors: &[NamedTensor], metadata: Option<HashMap<String, String>>) -> Result<()> {
    write_atomic(path, &to_bytes(tensors, metadata)?)
}

/// Writes one I64 tensor (e.g. frame labels `y`) to `path` atomically.
pub fn write_i64(path: &Path, name: &str, shape: &[usize], values: &[i64]) -> Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = TensorView::new(Dtype::I64, shape.to_vec(), &bytes)
        .map_err(|e| Error::Invalid(format!("tensor '{name}': {e}")))?;
    let out = safetensors::serialize([(name.to_string(), view)], &None)
        .map_err(|e| Error::Invalid(format!("serialising tensors: {e}")))?;
    write_atomic(path, &canonical(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_contents_give_equal_bytes() {
        let tensors = vec![("a".to_string(), vec![2], vec![1.0f32, 2.0]), ("b".to_string(), vec![1], vec![3.0])];
        let meta: HashMap<String, String> = (0..20).map(|i| (format!("k{i}"), i.to_string())).collect();
        let first = to_bytes(&tensors, Some(meta.clone())).unwrap();
        for _ in 0..5 {
            // A fresh HashMap iterates in a different order.
            let again: HashMap<String, String> = meta.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            assert_eq!(to_bytes(&tensors, Some(again)).unwrap(), first);
        }
        let st = parse(Path::new("mem"), &first).unwrap();
        assert_eq!(st.tensor("a").unwrap().data().len(), 8);
        assert_eq!(st.names(), ["a", "b"]);
        assert_eq!(st.metadata(), meta);
    }
}
