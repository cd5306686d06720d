//! The CLI's import picture, read from its source: every subcommand under `src/cmd/` is a leaf
//! (it imports shared modules at the crate root, never another subcommand), shared modules
//! import no subcommand, and no two modules import each other (a folder module and its own
//! files aside).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crate's source folder.
fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The module path of a source file: `src/cmd/simulate/sweep.rs` is `cmd::simulate::sweep`,
/// `src/cmd/learn/mod.rs` is `cmd::learn`, `src/main.rs` is the crate root "".
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "main")) {
        parts.pop();
    }
    parts.join("::")
}

/// The crate modules a file refers to by path (`crate::a::b`, `super::x`), resolved against
/// the file's own module, in every `use` and in-line path.
fn references(file: &Path, module: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = BTreeSet::new();
    let own: Vec<&str> = if module.is_empty() { Vec::new() } else { module.split("::").collect() };
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
        for (at, _) in line.match_indices("crate::").chain(line.match_indices("super::")) {
            let rest = &line[at..];
            let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            let mut parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
            let mut base: Vec<&str> = match parts.first() {
                Some(&"crate") => Vec::new(),
                Some(&"super") => {
                    // `super` of a file module is its parent; of a `mod.rs` module, its parent too.
                    let mut b = own.clone();
                    b.pop();
                    b
                }
                _ => continue,
            };
            parts.remove(0);
            while parts.first() == Some(&"super") {
                base.pop();
                parts.remove(0);
            }
            base.extend(parts);
            out.insert(base.join("::"));
        }
    }
    out
}

/// The subcommand a module belongs to (`cmd::simulate::sweep` -> `cmd::simulate`), if any.
fn subcommand(module: &str) -> Option<String> {
    let parts: Vec<&str> = module.split("::").collect();
    (parts.len() >= 2 && parts[0] == "cmd").then(|| parts[..2].join("::"))
}

/// Every source module and the modules it refers to.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    rust_files(&src()).iter().map(|f| (module_of(f), references(f, &module_of(f)))).collect()
}

#[test]
fn no_subcommand_imports_another() {
    let graph = import_graph();
    assert!(graph.len() > 20, "read {} modules", graph.len());
    let mut crossings = Vec::new();
    for (module, refs) in &graph {
        let Some(own) = subcommand(module) else { continue };
        for target in refs {
            if let Some(other) = subcommand(target) {
                if other != own {
                    crossings.push(format!("{module} -> {target}"));
                }
            }
        }
    }
    assert!(crossings.is_empty(), "subcommands import each other: {crossings:?}");
}

#[test]
fn shared_modules_do_not_import_subcommands() {
    let graph = import_graph();
    let mut upward = Vec::new();
    for (module, refs) in &graph {
        if subcommand(module).is_some() || module.is_empty() || module == "cmd" {
            continue; // main.rs dispatches to every subcommand; cmd/mod.rs lists them
        }
        upward.extend(refs.iter().filter(|t| subcommand(t).is_some()).map(|t| format!("{module} -> {t}")));
    }
    assert!(upward.is_empty(), "shared modules import subcommands: {upward:?}");
}

#[test]
fn no_import_cycle_between_files() {
    let graph = import_graph();
    // The module a reference lands in: the longest known module that prefixes it.
    let resolve = |target: &str| -> Option<String> {
        let mut parts: Vec<&str> = target.split("::").collect();
        while !parts.is_empty() {
            let candidate = parts.join("::");
            if graph.contains_key(&candidate) {
                return Some(candidate);
            }
            parts.pop();
        }
        None
    };
    let edges: BTreeMap<&String, BTreeSet<String>> = graph
        .iter()
        .map(|(m, refs)| (m, refs.iter().filter_map(|t| resolve(t)).filter(|t| t != m).collect()))
        .collect();
    let mut cycles = Vec::new();
    for (a, targets) in &edges {
        for b in targets {
            // A folder module and its files (`bench/mod.rs` and `bench/step.rs`) are one unit: the
            // files use the folder's helpers and the folder dispatches to them.
            let related = a.is_empty() || b.starts_with(&format!("{a}::")) || a.starts_with(&format!("{b}::"));
            if !related && edges.get(b).is_some_and(|back| back.contains(*a)) {
                cycles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(cycles.is_empty(), "modules import each other: {cycles:?}");
}

#[test]
fn the_checker_sees_an_import_between_subcommands() {
    // The resolver must see through `super::` and `crate::` paths, or the tests above pass
    // vacuously.
    let module = "cmd::sweep";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sweep.rs");
    std::fs::write(&file, "use super::train::Args;\nuse crate::cmd::demo::run;\nuse crate::args::TrainArgs;\n")
        .unwrap();
    let refs = references(&file, module);
    assert!(refs.contains("cmd::train::Args"), "{refs:?}");
    assert!(refs.contains("cmd::demo::run"), "{refs:?}");
    assert_eq!(subcommand("cmd::train::Args").as_deref(), Some("cmd::train"));
    assert_eq!(subcommand("args::TrainArgs"), None);
}
