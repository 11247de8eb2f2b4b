//! A unit test of the module layering ARCHITECTURE.md describes: no import circle among
//! the crate's top-level modules, and the message engine below the facade. It reads the
//! sources (no MPI): every `crate::x` path in code (comments left out) is an edge from
//! the file's top-level module to `x` (a name `lib.rs` re-exports counts as the module
//! it comes from).
//!
//! One file is a node of its own: `ffi/wrap.rs`, the `unsafe fn Init::wrap_raw` that
//! must live in `ffi` (the only module allowed `unsafe`) yet names `Init` and
//! `Communicator`. No file names it (its `impl` needs no path), so it closes no circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Files that are nodes of their own (see the module doc).
const OWN_NODES: &[&str] = &["ffi/wrap.rs"];

/// What the engine must never name: the public facade and what is built on it.
const ABOVE_ENGINE: &[&str] = &["comm", "p2p", "collective", "init", "pool", "farm"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's text without comments (`//` to the end of a line).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every name right after `crate::` (both `crate::a::b` and `crate::{a, b::c}`).
fn crate_names(code: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            // Nested groups (`crate::{a::{b, c}, d}`) only add names already listed.
            for item in inner.split(',') {
                names.push(ident(
                    item.trim_start_matches(|c: char| c.is_whitespace() || c == '{'),
                ));
            }
        } else {
            names.push(ident(rest));
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

/// Top-level module of a file (relative to `src/`), or its own node.
fn node_of(relative: &str) -> String {
    if OWN_NODES.contains(&relative) {
        return relative.trim_end_matches(".rs").replace('/', "::");
    }
    let first = relative.split('/').next().unwrap_or(relative);
    first.trim_end_matches(".rs").to_string()
}

/// The module each name `lib.rs` re-exports comes from (`pub use x::{A, B}`).
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in code_of(lib).lines() {
        let Some(path) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let path = path.trim_end_matches(';');
        let Some((module, items)) = path.split_once("::") else {
            continue;
        };
        if ["crate", "self", "super"].contains(&module) {
            continue; // the prelude and `__private` re-export re-exports
        }
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            let item = item.trim();
            if !item.is_empty() && !item.contains("::") {
                map.entry(item.to_string())
                    .or_insert_with(|| module.to_string());
            }
        }
    }
    map
}

/// The import graph: node -> nodes it names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let exports = root_exports(&lib);
    let relative = |p: &Path| {
        p.strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/")
    };
    let modules: BTreeSet<String> = files
        .iter()
        .map(|p| node_of(&relative(p)))
        .filter(|n| n != "lib")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let relative = relative(file);
        let from = node_of(&relative);
        if from == "lib" {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(file).expect("source"));
        let edges = graph.entry(from.clone()).or_default();
        for name in crate_names(&code) {
            let to = if modules.contains(&name) {
                name
            } else if let Some(module) = exports.get(&name) {
                module.clone()
            } else {
                continue; // a name of lib.rs itself (`crate::mpi`, `crate::__private`)
            };
            if to != from && !OWN_NODES.iter().any(|o| node_of(o) == to) {
                edges.insert(to);
            }
        }
    }
    graph
}

/// A circle through `node`, if the graph has one reachable from it.
fn circle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    node: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|n| n == node) {
        let mut found = path[at..].to_vec();
        found.push(node.to_string());
        return Some(found);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_string());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(found) = circle(graph, next, path, done) {
            return Some(found);
        }
    }
    path.pop();
    done.insert(node.to_string());
    None
}

#[test]
fn no_import_circle_among_modules() {
    let graph = graph();
    assert!(
        graph.contains_key("engine") && graph.contains_key("comm"),
        "{graph:?}"
    );
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(found) = circle(&graph, node, &mut Vec::new(), &mut done) {
            panic!("import circle: {}", found.join(" -> "));
        }
    }
}

#[test]
fn the_engine_never_names_the_facade() {
    let graph = graph();
    let named: Vec<&String> = graph["engine"]
        .iter()
        .filter(|m| ABOVE_ENGINE.contains(&m.as_str()))
        .collect();
    assert!(named.is_empty(), "engine names {named:?}");
}
