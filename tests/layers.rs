//! The layer rules of ARCHITECTURE.md, enforced: its "Layer rules" table says which top-level modules of
//! `src/` each module may use, and which outside crates only some modules may touch (SQL, gRPC). This test
//! reads that table and every source file, so a change that quietly crosses a layer fails here, and the
//! documentation cannot drift from the code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules and crates named in the table, as written there.
struct Rules {
    /// Module → the other modules it may use.
    uses: BTreeMap<String, BTreeSet<String>>,
    /// Outside crate → the modules that may use it.
    crates: BTreeMap<String, BTreeSet<String>>,
}

fn names(cell: &str) -> BTreeSet<String> {
    cell.split(',')
        .map(|n| n.trim().trim_matches('`').to_string())
        .filter(|n| !n.is_empty() && n != "—" && n != "-")
        .collect()
}

/// Reads the rows between `<!-- layers -->` and `<!-- /layers -->` (modules) and between
/// `<!-- crates -->` and `<!-- /crates -->` (outside crates).
fn rules(root: &Path) -> Rules {
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let rows = |marker: &str| -> BTreeMap<String, BTreeSet<String>> {
        let start = text
            .find(&format!("<!-- {marker} -->"))
            .unwrap_or_else(|| panic!("ARCHITECTURE.md has no <!-- {marker} --> table"));
        let end = text[start..]
            .find(&format!("<!-- /{marker} -->"))
            .expect("table end marker")
            + start;
        text[start..end]
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.trim_matches('|').split('|').collect();
                assert!(cells.len() >= 2, "malformed row: {l}");
                let name = cells[0].trim().trim_matches('`').to_string();
                (name, names(cells[1]))
            })
            .collect()
    };
    Rules {
        uses: rows("layers"),
        crates: rows("crates"),
    }
}

/// The top-level module a source file belongs to: `src/store/postgres.rs` → `store`, `src/app.rs` → `app`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative.components().next().expect("a component");
    let first = first.as_os_str().to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a line, without a trailing `//` comment (doc comments are whole-line comments).
fn code(line: &str) -> &str {
    let trimmed = line.trim_start();
    if trimmed.starts_with("//") {
        return "";
    }
    match line.find("//") {
        // A `//` inside a string literal (a URL) is rare and harmless: it only hides the rest of the line.
        Some(i) => &line[..i],
        None => line,
    }
}

/// Identifiers that follow `prefix` in `line`, e.g. `crate::store::now()` → `store` for `crate::`.
fn after<'a>(line: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find(prefix) {
        let before_ok = i == 0
            || !rest.as_bytes()[i - 1].is_ascii_alphanumeric() && rest.as_bytes()[i - 1] != b'_';
        let tail = &rest[i + prefix.len()..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if before_ok && end > 0 {
            found.push(&tail[..end]);
        }
        rest = &tail[end..];
    }
    found
}

#[test]
fn modules_use_only_what_architecture_md_allows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let rules = rules(root);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();

    let mut violations = Vec::new();
    let mut seen_modules = BTreeSet::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" || module == "main" {
            continue; // the crate root and the binary wire everything together
        }
        seen_modules.insert(module.clone());
        let Some(allowed) = rules.uses.get(&module) else {
            violations.push(format!(
                "{module}: not in the layer table of ARCHITECTURE.md"
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read source");
        let shown = file.strip_prefix(root).unwrap_or(file).display();
        for (n, line) in text.lines().enumerate() {
            let line = code(line);
            for used in after(line, "crate::") {
                if used != module && !allowed.contains(used) {
                    violations.push(format!("{shown}:{}: {module} uses {used}", n + 1));
                }
            }
            for (krate, users) in &rules.crates {
                let uses_crate = !after(line, &format!("{krate}::")).is_empty()
                    || line.trim_start().starts_with(&format!("use {krate}"));
                if uses_crate && !users.contains(&module) {
                    violations.push(format!(
                        "{shown}:{}: {module} uses the {krate} crate",
                        n + 1
                    ));
                }
            }
        }
    }
    for module in rules.uses.keys() {
        assert!(
            seen_modules.contains(module),
            "ARCHITECTURE.md lists `{module}`, which src/ does not have"
        );
    }
    assert!(
        violations.is_empty(),
        "layer rules broken (fix the code, or change the rule in ARCHITECTURE.md on purpose):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_scanner_sees_uses_and_skips_comments() {
    assert_eq!(after("use crate::store::{self, X};", "crate::"), ["store"]);
    assert_eq!(
        after("let a = crate::clock::now(); crate::store::X", "crate::"),
        ["clock", "store"]
    );
    assert_eq!(after("mycrate::x", "crate::"), Vec::<&str>::new());
    assert_eq!(code("/// see [`crate::api`]"), "");
    assert_eq!(code("let x = 1; // crate::api"), "let x = 1; ");
}
