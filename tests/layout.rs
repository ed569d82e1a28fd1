//! The layout of `src/`: no top-level module imports itself back through
//! others, so each can be read and changed knowing only what it imports;
//! `secrets` (crypto) and `domain` import nothing of ours. References are
//! read from the source as text: `crate::x` paths (grouped ones too) and
//! `super::` paths that climb to the crate root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where one top-level module refers to another: the first place seen.
type Edges = BTreeMap<(String, String), String>;

#[test]
fn no_top_level_module_imports_itself_back() {
    let edges = edges_of_src();
    let cycles = cycles(&edges);
    let named: Vec<String> = cycles.iter().map(|c| describe(c, &edges)).collect();
    assert!(
        named.is_empty(),
        "import cycles in src/:\n{}",
        named.join("\n")
    );
}

#[test]
fn secrets_and_domain_import_nothing_of_ours() {
    let edges = edges_of_src();
    for module in ["secrets", "domain"] {
        let uses: Vec<String> = edges
            .iter()
            .filter(|((from, _), _)| from == module)
            .map(|((_, to), at)| format!("{to} (at {at})"))
            .collect();
        assert!(uses.is_empty(), "{module} imports {}", uses.join(", "));
    }
}

#[test]
fn the_check_finds_a_cycle_and_names_where_it_is() {
    let modules: BTreeSet<String> = ["a", "b", "c", "d"].map(String::from).into();
    let mut edges = Edges::new();
    let files = [
        (
            "a/mod.rs",
            "use crate::b::Thing;\n// crate::d in a comment\n",
        ),
        (
            "a/inner.rs",
            "fn f() { let _ = \"crate::d\"; $crate::d::x(); }",
        ),
        ("b.rs", "use crate::{\n    c::{One, Two},\n    clock,\n};\n"),
        (
            "c/deep/x.rs",
            "use super::super::super::a::Y;\nmod t { use super::*; }",
        ),
        ("d.rs", "mod tests { use super::super::c; }"),
    ];
    for (file, text) in files {
        add_references(&mut edges, &modules, Path::new(file), text);
    }
    let pairs: Vec<(&str, &str)> = edges
        .keys()
        .map(|(from, to)| (from.as_str(), to.as_str()))
        .collect();
    assert_eq!(pairs, [("a", "b"), ("b", "c"), ("c", "a"), ("d", "c")]);
    let cycles = cycles(&edges);
    assert_eq!(cycles, [vec!["a", "b", "c", "a"]]);
    assert_eq!(
        describe(&cycles[0], &edges),
        "a -> b (a/mod.rs:1) -> c (b.rs:1) -> a (c/deep/x.rs:1)"
    );
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level modules of `src/` and the references between them.
fn edges_of_src() -> Edges {
    let src = src_dir();
    let mut modules = BTreeSet::new();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&src).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            modules.insert(name);
            rust_files(&path, &mut files);
        } else if path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main" {
            modules.insert(name);
            files.push(path);
        }
    }
    assert!(modules.len() > 5, "src/ has its modules: {modules:?}");
    let mut edges = Edges::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a source file is readable");
        add_references(
            &mut edges,
            &modules,
            file.strip_prefix(&src).unwrap(),
            &text,
        );
    }
    edges
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of `file` (relative to `src/`): `http/api/auth.rs` is
/// `["http", "api", "auth"]`, `http/mod.rs` is `["http"]`.
fn module_path(file: &Path) -> Vec<String> {
    let mut path: Vec<String> = file
        .with_extension("")
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if path.last().is_some_and(|last| last == "mod") {
        path.pop();
    }
    path
}

/// Adds what `text` (the file `file`, relative to `src/`) refers to among
/// `modules`, other than its own top-level module.
fn add_references(edges: &mut Edges, modules: &BTreeSet<String>, file: &Path, text: &str) {
    let path = module_path(file);
    let own = &path[0];
    let tokens = tokens(text);
    // Inline modules (`mod tests { … }`) open at these brace depths.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        let (token, line) = (&tokens[i].0, tokens[i].1);
        match token.as_str() {
            "{" => depth += 1,
            "}" => {
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            "mod" if text_at(&tokens, i + 2) == "{" => inline.push(depth + 1),
            _ => {}
        }
        let after_root = if token == "crate" && i > 0 && text_at(&tokens, i - 1) == "$" {
            None
        } else if token == "crate" && text_at(&tokens, i + 1) == "::" {
            Some(i + 2)
        } else if token == "super" && (i == 0 || text_at(&tokens, i - 1) != "::") {
            let mut supers = 0;
            let mut j = i;
            while text_at(&tokens, j) == "super" && text_at(&tokens, j + 1) == "::" {
                supers += 1;
                j += 2;
            }
            (supers == path.len() + inline.len()).then_some(j)
        } else {
            None
        };
        if let Some(start) = after_root {
            for name in roots(&tokens, start) {
                if modules.contains(&name) && name != *own {
                    let at = format!("{}:{line}", file.display());
                    edges.entry((own.clone(), name)).or_insert(at);
                }
            }
        }
        i += 1;
    }
}

/// The first segment of the path at `start`, or of each path in a group.
fn roots(tokens: &[(String, usize)], start: usize) -> Vec<String> {
    if text_at(tokens, start) != "{" {
        return vec![text_at(tokens, start).to_owned()];
    }
    let mut names = Vec::new();
    let mut depth = 0;
    for (k, (token, _)) in tokens.iter().enumerate().skip(start) {
        match token.as_str() {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ if depth == 1 && matches!(text_at(tokens, k - 1), "{" | ",") => {
                names.push(token.clone())
            }
            _ => {}
        }
    }
    names
}

fn text_at(tokens: &[(String, usize)], i: usize) -> &str {
    tokens.get(i).map_or("", |(t, _)| t.as_str())
}

/// Identifiers, `::` and single punctuation, with their line; comments,
/// strings and character literals left out.
fn tokens(text: &str) -> Vec<(String, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut nested = 0;
            loop {
                if i >= chars.len() {
                    break;
                } else if chars[i] == '/' && at(i + 1) == '*' {
                    nested += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    nested -= 1;
                    i += 2;
                    if nested == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if c == 'r'
            && (at(i + 1) == '"' || (at(i + 1) == '#' && matches!(at(i + 2), '"' | '#')))
        {
            // A raw string: r"…", r#"…"#.
            let mut hashes = 0;
            i += 1;
            while at(i) == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' && (1..=hashes).all(|h| at(i + h) == '#') {
                    i += 1 + hashes;
                    break;
                }
                line += usize::from(chars[i] == '\n');
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                line += usize::from(chars[i] == '\n');
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' && (at(i + 1) == '\\' || at(i + 2) == '\'') {
            // A character literal; otherwise a lifetime's quote.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            out.push((chars[start..i].iter().collect(), line));
        } else if c == ':' && at(i + 1) == ':' {
            out.push(("::".to_owned(), line));
            i += 2;
        } else {
            out.push((c.to_string(), line));
            i += 1;
        }
    }
    out
}

/// Cycles, each the shortest way from a module back to it; a module on one
/// found is not started from again.
fn cycles(edges: &Edges) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    let reaches = |from: &str, to: &str| -> Option<Vec<String>> {
        // Breadth first: the shortest way round.
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([from]);
        while let Some(at) = queue.pop_front() {
            for &n in next.get(at).into_iter().flatten() {
                if n == to {
                    let mut path = vec![to.to_owned(), at.to_owned()];
                    let mut k = at;
                    while k != from {
                        k = came_from[k];
                        path.push(k.to_owned());
                    }
                    path.reverse();
                    return Some(path);
                }
                if n != from && !came_from.contains_key(n) {
                    came_from.insert(n, at);
                    queue.push_back(n);
                }
            }
        }
        None
    };
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut found = Vec::new();
    for &module in next.keys() {
        if seen.contains(module) {
            continue;
        }
        if let Some(path) = reaches(module, module) {
            seen.extend(path.iter().cloned());
            found.push(path);
        }
    }
    found
}

/// `a -> b (where a refers to b) -> …`.
fn describe(cycle: &[String], edges: &Edges) -> String {
    let mut out = cycle[0].clone();
    for pair in cycle.windows(2) {
        let at = &edges[&(pair[0].clone(), pair[1].clone())];
        out.push_str(&format!(" -> {} ({at})", pair[1]));
    }
    out
}
