//! Every relative link in the repository's Markdown files points at
//! something that exists, and every `#anchor` at a heading of its file
//! (GitHub's slugs). Absolute URLs are not fetched.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Build output, installed packages, local data and dot-directories hold
/// no docs of ours.
fn skipped(dir: &Path, root: &Path) -> bool {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.')
        || name == "node_modules"
        || name == "target"
        || name.starts_with("target-")
        || dir == root.join("data")
}

fn markdown_files(dir: &Path, root: &Path, found: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            if !skipped(&path, root) {
                markdown_files(&path, root, found);
            }
        } else if path.extension().is_some_and(|e| e == "md") {
            found.push(path);
        }
    }
}

/// A fenced code block's opening: its character and length.
fn fence(line: &str) -> Option<(char, usize)> {
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let c = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = trimmed.chars().take_while(|x| *x == c).count();
    (n >= 3).then_some((c, n))
}

/// The lines outside fenced code blocks, numbered from 1.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut open: Option<(char, usize)> = None;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match (open, fence(line)) {
            (None, Some(f)) => open = Some(f),
            (None, None) => lines.push((i + 1, line)),
            // A closing fence: the same character, at least as long, nothing after.
            (Some((c, n)), Some((c2, n2)))
                if c == c2 && n2 >= n && line.trim().trim_start_matches(c).is_empty() =>
            {
                open = None
            }
            (Some(_), _) => {}
        }
    }
    lines
}

/// The line without its inline code spans, which hold no links.
fn without_code(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '`' {
            let run = chars[i..].iter().take_while(|c| **c == '`').count();
            let close = (i + run..chars.len()).find(|&j| {
                chars[j..].iter().take_while(|c| **c == '`').count() == run
                    && (j == 0 || chars[j - 1] != '`')
            });
            if let Some(j) = close {
                i = j + run;
                continue;
            }
            out.extend(&chars[i..i + run]);
            i += run;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The index just past the bracket or parenthesis closing the one at
/// `open`, nesting counted.
fn closing(chars: &[char], open: usize, (left, right): (char, char)) -> Option<usize> {
    let mut depth = 0;
    for (j, c) in chars.iter().enumerate().skip(open) {
        if *c == '\\' {
            continue;
        }
        if *c == left {
            depth += 1;
        } else if *c == right {
            depth -= 1;
            if depth == 0 {
                return Some(j + 1);
            }
        }
    }
    None
}

/// `target` of `(target "title")` or `(<target>)`.
fn destination(inside: &str) -> String {
    let inside = inside.trim();
    if let Some(rest) = inside.strip_prefix('<') {
        return rest.split('>').next().unwrap_or("").to_owned();
    }
    inside.split_whitespace().next().unwrap_or("").to_owned()
}

/// Inline links and images `[text](target)`, and a reference definition
/// `[x]: target` when the line is one.
fn links(line: &str) -> Vec<String> {
    let line = without_code(line);
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() <= 3
        && trimmed.starts_with('[')
        && let Some(end) = trimmed.find("]:")
        && !trimmed[1..end].contains(['[', ']'])
    {
        return vec![destination(&trimmed[end + 2..])];
    }
    let chars: Vec<char> = line.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '['
            && (i == 0 || chars[i - 1] != '\\')
            && let Some(after) = closing(&chars, i, ('[', ']'))
            && chars.get(after) == Some(&'(')
            && let Some(end) = closing(&chars, after, ('(', ')'))
        {
            let inside: String = chars[after + 1..end - 1].iter().collect();
            found.push(destination(&inside));
            i = end;
            continue;
        }
        i += 1;
    }
    found
}

/// GitHub's anchor for a heading's text: lower-case; letters, digits,
/// `-`, `_` and spaces kept (Japanese too), spaces made `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// A heading's text as rendered: links by their text, images dropped.
fn rendered(heading: &str) -> String {
    let chars: Vec<char> = heading.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let image = chars[i] == '!' && chars.get(i + 1) == Some(&'[');
        let start = if image { i + 1 } else { i };
        if chars[start] == '['
            && let Some(after) = closing(&chars, start, ('[', ']'))
            && chars.get(after) == Some(&'(')
            && let Some(end) = closing(&chars, after, ('(', ')'))
        {
            if !image {
                out.extend(&chars[start + 1..after - 1]);
            }
            i = end;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The anchors a file offers: its headings (ATX and setext; a repeated
/// slug gets `-1`, `-2`…) and explicit `id`/`name` attributes.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut found = HashSet::new();
    let mut add = |text: &str, found: &mut HashSet<String>| {
        let base = slug(&rendered(text));
        let n = seen.entry(base.clone()).or_insert(0);
        found.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    };
    let lines = prose_lines(text);
    for (k, &(number, line)) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if line.len() - trimmed.len() <= 3 && trimmed.starts_with('#') {
            let level = trimmed.chars().take_while(|c| *c == '#').count();
            let rest = &trimmed[level..];
            if level <= 6 && (rest.is_empty() || rest.starts_with([' ', '\t'])) {
                let text = rest.trim().trim_end_matches('#').trim_end();
                add(text, &mut found);
                continue;
            }
        }
        let underline = line.trim();
        let setext = !underline.is_empty()
            && (underline.chars().all(|c| c == '=') || underline.chars().all(|c| c == '-'));
        if setext
            && k > 0
            && lines[k - 1].0 == number - 1
            && let previous = lines[k - 1].1.trim()
            && !previous.is_empty()
            && !previous.starts_with(['#', '|', '-', '*', '>'])
        {
            add(previous, &mut found);
        }
        for attribute in ["id=\"", "name=\""] {
            for (at, _) in line.match_indices(attribute) {
                let value = &line[at + attribute.len()..];
                if let Some(end) = value.find('"') {
                    found.insert(value[..end].to_owned());
                }
            }
        }
    }
    found
}

fn is_absolute_url(target: &str) -> bool {
    let scheme: String = target.chars().take_while(|c| *c != ':').collect();
    target.len() > scheme.len()
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What is wrong with `target`, linked from `file`, if anything.
fn broken(
    target: &str,
    file: &Path,
    root: &Path,
    anchors_of: &mut HashMap<PathBuf, HashSet<String>>,
) -> Option<String> {
    if target.is_empty() {
        return Some("an empty link".into());
    }
    if is_absolute_url(target) {
        return None;
    }
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let path = path.split('?').next().unwrap_or("");
    let path = percent_decoded(path);
    let resolved = if path.is_empty() {
        file.to_path_buf()
    } else if let Some(from_root) = path.strip_prefix('/') {
        root.join(from_root)
    } else {
        file.parent().expect("a file has a directory").join(&path)
    };
    if !resolved.exists() {
        return Some(format!("{target}: no such file or directory"));
    }
    let anchor = percent_decoded(anchor?);
    if resolved.extension().is_none_or(|e| e != "md") {
        return None;
    }
    let resolved = resolved.canonicalize().expect("an existing path");
    let known = anchors_of.entry(resolved.clone()).or_insert_with(|| {
        anchors(&std::fs::read_to_string(&resolved).expect("a readable Markdown file"))
    });
    (!known.contains(&anchor.to_lowercase()))
        .then(|| format!("{target}: no heading gives #{anchor}"))
}

/// Every broken link of `files`, as `file:line: what`.
fn broken_links(files: &[PathBuf], root: &Path) -> Vec<String> {
    let mut anchors_of = HashMap::new();
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("a readable Markdown file");
        let name = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        for (number, line) in prose_lines(&text) {
            for target in links(line) {
                if let Some(what) = broken(&target, file, root, &mut anchors_of) {
                    problems.push(format!("{name}:{number}: {what}"));
                }
            }
        }
    }
    problems
}

#[test]
fn every_relative_link_in_the_markdown_files_resolves() {
    let root = root();
    let mut files = Vec::new();
    markdown_files(&root, &root, &mut files);
    files.sort();
    for must in ["README.md", "README.ja.md", "docs/architecture.md"] {
        assert!(files.contains(&root.join(must)), "{must} was not found");
    }
    let problems = broken_links(&files, &root);
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("Retrying safely: `Idempotency-Key`"),
        "retrying-safely-idempotency-key"
    );
    assert_eq!(
        slug("The contract: `GET /api/v1/openapi.json`"),
        "the-contract-get-apiv1openapijson"
    );
    assert_eq!(
        slug("Rotate a tenant's auth token"),
        "rotate-a-tenants-auth-token"
    );
    assert_eq!(
        slug("管理者のメニュー（担当者の管理）"),
        "管理者のメニュー担当者の管理"
    );
    assert_eq!(slug("Auth Token を更新する"), "auth-token-を更新する");
    assert_eq!(slug("snake_case and -dashes-"), "snake_case-and--dashes-");
    let text =
        "# Notes\n## Notes\n```\n# not a heading\n```\nSetext\n---\n## [Linked](x.md) text\n";
    let found = anchors(text);
    for anchor in ["notes", "notes-1", "setext", "linked-text"] {
        assert!(found.contains(anchor), "{anchor} in {found:?}");
    }
    assert!(!found.contains("not-a-heading"));
}

#[test]
fn links_are_found_and_code_is_skipped() {
    assert_eq!(
        links("see [a](x.md#y) and ![b](img.png \"title\"), not `[c](z.md)`"),
        ["x.md#y", "img.png"]
    );
    assert_eq!(links("[ref]: ../other.md"), ["../other.md"]);
    assert_eq!(
        links("[`code` in text](<with space.md>)"),
        ["with space.md"]
    );
    let text = "a\n```sh\n[x](missing.md)\n```\n[y](here.md)\n";
    let lines: Vec<_> = prose_lines(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, [1, 5]);
}

#[test]
fn a_broken_link_is_named_by_file_and_line() {
    let dir = std::env::temp_dir().join(format!("afureko-docs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("page.md");
    std::fs::write(
        &file,
        "# Title\n\n[ok](#title) [gone](nowhere.md)\n[bad](#no-such) [web](https://example.com)\n",
    )
    .unwrap();
    let problems = broken_links(std::slice::from_ref(&file), &dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        problems,
        [
            "page.md:3: nowhere.md: no such file or directory",
            "page.md:4: #no-such: no heading gives #no-such",
        ]
    );
}
