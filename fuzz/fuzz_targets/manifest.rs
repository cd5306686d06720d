//! Dataset manifests: the CSV reader, the FSC and keyword-CSV split files, Speech Commands list
//! files and FSDD file names.
#![no_main]
use deltarnn::data::csv::Table;
use deltarnn::data::layout::{parse_fsc_csv, parse_fsdd_name, parse_keyword_csv, parse_list};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz.csv");
    if let Ok(table) = Table::parse(path, text) {
        for name in ["path", "speaker", "keyword"] {
            if let Ok(i) = table.column(name) {
                assert!(table.rows().iter().all(|(_, row)| i < row.len()));
            }
        }
    }
    for entries in [parse_fsc_csv(path, text), parse_keyword_csv(path, text)].into_iter().flatten() {
        for entry in entries {
            assert!(!entry.rel_path.trim().is_empty() && !entry.rel_path.starts_with('/'));
        }
    }
    let _ = parse_list(text);
    for line in text.lines() {
        let _ = parse_fsdd_name(line);
    }
});
