//! deploy/Dockerfile without a container engine: the build stage's COPY and RUN lines are replayed on a
//! copy of the build context (what `.dockerignore` lets through), so a file the build needs and the
//! Dockerfile does not copy (a declared bench, a migration, a proto) fails here as it would in
//! `docker build`. The image's own settings (numeric user, ports, environment) are checked as text.
//!
//! The replay runs `cargo check` where the Dockerfile runs `cargo build`: check loads the manifest
//! (every declared target needs its file), resolves with `--locked`, runs build.rs (the protos) and
//! type-checks every module, including the macros that read files (`sqlx::migrate!`, `include_bytes!`).
//! What it skips, code generation and linking, reads no source file, so it proves the same thing:
//! that the copied context is complete. Its target folder is kept under target/deploy-image so a
//! second run only re-checks this crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const DOCKERFILE: &str = "deploy/Dockerfile";
/// The stage that compiles the binary; the final stage copies from it.
const BUILD_STAGE: &str = "build";
const IMAGE_USER: &str = "10001";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Debug, Clone)]
struct Instruction {
    keyword: String,
    args: String,
}

#[derive(Debug)]
struct Stage {
    name: Option<String>,
    instructions: Vec<Instruction>,
}

/// Splits a Dockerfile into stages of instructions (comments dropped, `\` continuations joined).
fn parse_dockerfile(text: &str) -> Vec<Stage> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    assert!(
        current.is_empty(),
        "the Dockerfile ends inside a continuation"
    );
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let instruction = Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_string(),
        };
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction.args.split_whitespace().collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => None,
            };
            stages.push(Stage {
                name,
                instructions: vec![],
            });
        }
        stages
            .last_mut()
            .expect("the Dockerfile starts with FROM")
            .instructions
            .push(instruction);
    }
    stages
}

/// `ENV K=V K2=V2` (the form the Dockerfile uses; quotes are not needed there).
fn env_pairs(args: &str) -> Vec<(String, String)> {
    args.split_whitespace()
        .map(|pair| {
            let (k, v) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("ENV {args:?}: use the K=V form"));
            (k.to_string(), v.trim_matches('"').to_string())
        })
        .collect()
}

/// `COPY [--flag...] SRC... DEST` → (sources, destination).
fn copy_args(args: &str) -> (Vec<String>, String) {
    let mut words: Vec<String> = args
        .split_whitespace()
        .filter(|w| !w.starts_with("--"))
        .map(str::to_string)
        .collect();
    assert!(
        words.len() >= 2,
        "COPY {args:?} needs a source and a destination"
    );
    let dest = words.pop().unwrap();
    (words, dest)
}

/// One `.dockerignore` rule: path segments matched with `*`/`?` per segment and `**` across segments,
/// anchored at the context root, as Docker reads them.
struct IgnoreRule {
    segments: Vec<String>,
    exclude: bool,
}

fn ignore_rules() -> Vec<IgnoreRule> {
    let text = std::fs::read_to_string(repo().join(".dockerignore")).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (exclude, pattern) = match line.strip_prefix('!') {
                Some(rest) => (false, rest),
                None => (true, line),
            };
            IgnoreRule {
                segments: pattern
                    .trim_start_matches('/')
                    .trim_end_matches('/')
                    .split('/')
                    .filter(|s| !s.is_empty() && *s != ".")
                    .map(str::to_string)
                    .collect(),
                exclude,
            }
        })
        .collect()
}

fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            wildcard(&pattern[1..], text) || (!text.is_empty() && wildcard(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => wildcard(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => wildcard(&pattern[1..], &text[1..]),
        _ => false,
    }
}

fn segments_match(pattern: &[String], path: &[&str]) -> bool {
    match pattern.first() {
        None => path.is_empty(),
        Some(p) if p == "**" => {
            (0..=path.len()).any(|skip| segments_match(&pattern[1..], &path[skip..]))
        }
        Some(p) => {
            !path.is_empty()
                && wildcard(p.as_bytes(), path[0].as_bytes())
                && segments_match(&pattern[1..], &path[1..])
        }
    }
}

/// Whether `.dockerignore` keeps `relative` (or a folder above it) out of the context; the last
/// matching rule wins.
fn ignored(rules: &[IgnoreRule], relative: &Path) -> bool {
    let parts: Vec<&str> = relative
        .components()
        .map(|c| c.as_os_str().to_str().expect("UTF-8 path"))
        .collect();
    (1..=parts.len()).any(|len| {
        rules
            .iter()
            .rev()
            .find(|rule| segments_match(&rule.segments, &parts[..len]))
            .is_some_and(|rule| rule.exclude)
    })
}

/// Copies `source` (a file or folder of the repository) to `dest`, leaving out what `.dockerignore`
/// excludes; returns how many files were copied.
fn copy_from_context(rules: &[IgnoreRule], relative: &Path, dest: &Path) -> usize {
    let source = repo().join(relative);
    if ignored(rules, relative) {
        return 0;
    }
    if source.is_dir() {
        std::fs::create_dir_all(dest).unwrap();
        let mut copied = 0;
        for entry in std::fs::read_dir(&source).unwrap() {
            let name = entry.unwrap().file_name();
            copied += copy_from_context(rules, &relative.join(&name), &dest.join(&name));
        }
        copied
    } else if source.is_file() {
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&source, dest).unwrap_or_else(|e| panic!("copy {}: {e}", source.display()));
        1
    } else {
        0
    }
}

fn build_stage(stages: &[Stage]) -> &Stage {
    stages
        .iter()
        .find(|s| s.name.as_deref() == Some(BUILD_STAGE))
        .unwrap_or_else(|| panic!("{DOCKERFILE} has no `AS {BUILD_STAGE}` stage"))
}

fn dockerfile() -> Vec<Stage> {
    let text = std::fs::read_to_string(repo().join(DOCKERFILE)).expect("read deploy/Dockerfile");
    parse_dockerfile(&text)
}

/// Environment for a nested cargo: ours, less what cargo set for this test binary (it describes this
/// package at its real path, not the copied one).
fn nested_cargo_env(command: &mut Command) {
    for (key, _) in std::env::vars() {
        let set_for_tests = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ];
        if set_for_tests.iter().any(|prefix| key.starts_with(prefix)) {
            command.env_remove(key);
        }
    }
}

#[test]
fn build_stage_has_every_file_the_build_needs() {
    let stages = dockerfile();
    let stage = build_stage(&stages);
    let target_dir = repo().join("target").join("deploy-image");
    // The context lives outside the repository, as in a container: under it, cargo would take the
    // repository's Cargo.toml for a workspace root. One folder per checkout keeps the paths, and so the
    // incremental target folder, stable from run to run.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&repo(), &mut hasher);
    let context = std::env::temp_dir().join(format!(
        "sfn-deploy-image-{:016x}",
        std::hash::Hasher::finish(&hasher)
    ));
    if context.exists() {
        std::fs::remove_dir_all(&context).unwrap();
    }
    std::fs::create_dir_all(&context).unwrap();
    let rules = ignore_rules();

    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut ran_cargo = false;
    for instruction in &stage.instructions {
        match instruction.keyword.as_str() {
            "FROM" | "WORKDIR" => {}
            "ENV" => env.extend(env_pairs(&instruction.args)),
            "COPY" => {
                assert!(
                    !instruction.args.contains("--from"),
                    "the build stage copies only from the context"
                );
                let (sources, dest) = copy_args(&instruction.args);
                let dest_dir = context.join(dest.trim_start_matches("./"));
                let into_folder = dest.ends_with('/') || dest == "." || sources.len() > 1;
                for source in &sources {
                    let relative = Path::new(source.trim_start_matches("./"));
                    // A folder's contents land in the destination (`COPY src src`); files land in a
                    // destination folder under their own name, or at the destination path.
                    let target = if repo().join(relative).is_dir() || !into_folder {
                        dest_dir.clone()
                    } else {
                        dest_dir.join(relative.file_name().unwrap())
                    };
                    let copied = copy_from_context(&rules, relative, &target);
                    assert!(
                        copied > 0,
                        "COPY {source}: nothing in the build context (missing, or kept out by .dockerignore)"
                    );
                }
            }
            "RUN" => {
                let script = instruction
                    .args
                    .replace("cargo build --release", "cargo check --release");
                ran_cargo |= script.contains("cargo check --release");
                let mut command = Command::new("sh");
                command
                    .args(["-ec", &script])
                    .current_dir(&context)
                    .envs(&env)
                    .env("CARGO_TARGET_DIR", &target_dir);
                nested_cargo_env(&mut command);
                let output = command.output().expect("run sh");
                assert!(
                    output.status.success(),
                    "RUN {script}\nfailed on the copied context ({}):\n{}\n{}",
                    context.display(),
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            other => panic!("the replay does not know {other} in the build stage"),
        }
    }
    assert!(ran_cargo, "the build stage runs no `cargo build --release`");
    assert_eq!(
        env.get("CARGO_PROFILE_RELEASE_DEBUG").map(String::as_str),
        Some("false"),
        "the image's binary needs no debug info"
    );
    assert_eq!(
        env.get("CARGO_PROFILE_RELEASE_STRIP").map(String::as_str),
        Some("true"),
        "the image's binary is stripped"
    );
}

#[test]
fn runtime_stage_runs_as_a_numeric_user_in_a_writable_folder() {
    let stages = dockerfile();
    let last = stages.last().unwrap();
    let find = |keyword: &str| -> Vec<&Instruction> {
        last.instructions
            .iter()
            .filter(|i| i.keyword == keyword)
            .collect()
    };

    let user = find("USER");
    let user = user.last().expect("the image sets USER").args.as_str();
    let uid = user.split(':').next().unwrap();
    assert_eq!(
        uid, IMAGE_USER,
        "USER must be numeric (runAsNonRoot can only verify a number)"
    );

    let workdir = find("WORKDIR");
    let workdir = workdir
        .last()
        .expect("the image sets WORKDIR")
        .args
        .as_str();
    assert_ne!(workdir, "/", "the working folder holds ./sfn-data");
    let creates_it = find("RUN")
        .iter()
        .any(|run| run.args.contains(workdir) && run.args.contains(&format!("-o {IMAGE_USER}")));
    assert!(
        creates_it,
        "a RUN creates {workdir} owned by {IMAGE_USER} (the SQLite default writes there)"
    );

    let exposed: Vec<&str> = find("EXPOSE")
        .iter()
        .flat_map(|e| e.args.split_whitespace())
        .collect();
    for port in ["50051", "9464", "8083"] {
        assert!(exposed.contains(&port), "EXPOSE {port} (got {exposed:?})");
    }

    let copies = find("COPY");
    assert!(
        copies.iter().any(|c| c
            .args
            .starts_with(&format!("--from={BUILD_STAGE} /src/target/release/sfn "))),
        "the runtime stage copies the release binary from the build stage"
    );

    // The image's environment must be settings `sfn serve` accepts (an unknown name is ignored by the
    // parser; the chart test checks names).
    let env: Vec<(String, String)> = find("ENV")
        .iter()
        .flat_map(|e| env_pairs(&e.args))
        .collect();
    let output = Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(["serve", "--check-config"])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run sfn serve --check-config");
    assert!(
        output.status.success(),
        "sfn serve rejects the image's environment {env:?}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn dockerignore_rules_match_as_docker_reads_them() {
    let rules = |lines: &[&str]| -> Vec<IgnoreRule> {
        lines
            .iter()
            .map(|l| IgnoreRule {
                segments: l
                    .trim_start_matches('!')
                    .split('/')
                    .map(str::to_string)
                    .collect(),
                exclude: !l.starts_with('!'),
            })
            .collect()
    };
    let r = rules(&["target", "**/*.db", "*.md", "docs", "!docs/keep.md"]);
    assert!(ignored(&r, Path::new("target/release/sfn")));
    assert!(ignored(&r, Path::new("a/b/x.db")));
    assert!(ignored(&r, Path::new("x.db")));
    assert!(ignored(&r, Path::new("README.md")));
    assert!(!ignored(&r, Path::new("src/README.md")), "*.md is anchored");
    assert!(!ignored(&r, Path::new("src/main.rs")));
    assert!(!ignored(&r, Path::new("targets/x")));
    assert!(ignored(&r, Path::new("docs/other.md")));
}
