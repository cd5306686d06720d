//! A minimal CSV reader for dataset split files: a header row, comma-separated fields, optional
//! double quotes with `""` escapes, no newlines inside fields (none of the supported layouts use
//! them). Columns are looked up by name, so extra or reordered columns are fine.
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A parsed CSV file.
#[derive(Debug, Clone)]
pub struct Table {
    path: PathBuf,
    header: Vec<String>,
    /// Data rows with their 1-based line numbers.
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    /// Reads and parses `path`; every row must have as many fields as the header.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Self::parse(path, &text)
    }

    /// Parses `text`; `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let row_err = |line: usize, reason: String| Error::CsvRow { path: path.to_path_buf(), line, reason };
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((header_line, header)) = lines.next() else {
            return Err(row_err(1, "empty csv, expected a header row".into()));
        };
        let header =
            split_fields(header.trim_start_matches('\u{feff}')).map_err(|reason| row_err(header_line, reason))?;
        let mut rows = Vec::new();
        for (line, text) in lines {
            let fields = split_fields(text).map_err(|reason| row_err(line, reason))?;
            if fields.len() != header.len() {
                return Err(row_err(line, format!("expected {} fields, found {}", header.len(), fields.len())));
            }
            rows.push((line, fields));
        }
        Ok(Table { path: path.to_path_buf(), header, rows })
    }

    /// Index of column `name`, or an error naming the file and its header.
    pub fn column(&self, name: &str) -> Result<usize> {
        self.header.iter().position(|h| h.trim() == name).ok_or_else(|| Error::CsvMissingColumn {
            path: self.path.clone(),
            column: name.to_string(),
            header: self.header.join(","),
        })
    }

    /// Data rows with their line numbers.
    pub fn rows(&self) -> &[(usize, Vec<String>)] {
        &self.rows
    }
}

fn split_fields(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => in_quotes = false,
            ('"', false) if field.is_empty() => in_quotes = true,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    if in_quotes {
        return Err("unterminated quoted field".into());
    }
    fields.push(field);
    Ok(fields)
}

/// Quotes `field` for writing when it holds a comma or a quote.
pub fn quote(field: &str) -> String {
    if field.contains([',', '"']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quotes_and_unnamed_columns() {
        let text = ",path,transcription\n0,a.wav,\"Hello, \"\"world\"\"\"\r\n1,b.wav,plain\n";
        let table = Table::parse(Path::new("x.csv"), text).unwrap();
        assert_eq!(table.column("path").unwrap(), 1);
        assert_eq!(table.rows()[0].1[2], "Hello, \"world\"");
        assert_eq!(table.rows()[1], (3, vec!["1".into(), "b.wav".into(), "plain".into()]));
        assert_eq!(quote("Hello, \"world\""), "\"Hello, \"\"world\"\"\"");
    }

    #[test]
    fn reports_missing_columns_and_ragged_rows() {
        let table = Table::parse(Path::new("x.csv"), "path,speaker\na,b\n").unwrap();
        let err = table.column("keyword").unwrap_err().to_string();
        assert_eq!(err, "x.csv: csv has no column \"keyword\" (header: path,speaker)");
        let err = Table::parse(Path::new("x.csv"), "path,speaker\na\n").unwrap_err();
        assert_eq!(err.to_string(), "x.csv:2: expected 2 fields, found 1");
    }
}
