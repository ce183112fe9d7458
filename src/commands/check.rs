//! `artifact check`: find artifacts, read them in parallel, run the rules, apply the
//! configuration, render, and turn the result into the gate's exit code.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, anyhow};
use sha2::{Digest, Sha256};

use crate::cli::{CheckArgs, CheckFormat, Level};
use crate::commands::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::config::{self, Suppression};
use crate::container::{self, Container};
use crate::inspection::{self, ReadError};
use crate::report::FileError;
use crate::report::check::{ArtifactResult, CheckReport};
use crate::report::{check as human, check_json, github, sarif};
use crate::rules::{self, Severity};

/// Extensions that make a file an artifact even when its first byte could be text.
const PICKLE_EXTENSIONS: &[&str] = &["pkl", "pickle", "pck", "pk", "joblib", "sav", "p", "pkl.z"];

/// The outcome of reading and checking one file.
type Checked = Result<Vec<rules::Finding>, ReadError>;
/// Files to read, and files passed over with the reason.
type Discovered = (Vec<(PathBuf, Candidate)>, Vec<(String, String)>);

/// How sure we are that a file is an artifact before reading it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Candidate {
    /// Named on the command line, or recognised by its magic bytes: read errors count.
    Certain,
    /// Found in a folder, and its first byte is only a protocol-0/1 opcode (as plain text
    /// can be): an artifact if it parses, skipped as "not an artifact" if it does not.
    Maybe,
}

pub fn run(args: &CheckArgs, color: bool) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let loaded = if args.isolated {
        config::Loaded::default()
    } else {
        config::load(args.config.as_deref(), &cwd)?
    };
    let cfg = &loaded.config;

    let mut select: Vec<String> = if args.select.is_empty() {
        cfg.select.clone().unwrap_or_else(|| vec!["ALL".into()])
    } else {
        args.select.clone()
    };
    select.retain(|s| !s.is_empty());
    let mut ignore = cfg.ignore.clone().unwrap_or_default();
    ignore.extend(args.ignore.iter().filter(|s| !s.is_empty()).cloned());
    for s in select.iter().chain(&ignore) {
        if !s.eq_ignore_ascii_case("ALL")
            && !rules::all()
                .iter()
                .any(|r| r.code.starts_with(&s.to_ascii_uppercase()))
        {
            return Err(anyhow!(
                "'{s}' selects no rule: `artifact rule --all` lists the codes"
            ));
        }
    }
    let fail_on = match args.fail_on {
        Some(Level::Error) => Severity::Error,
        Some(Level::Warning) => Severity::Warning,
        Some(Level::Info) => Severity::Info,
        None => cfg.fail_on.unwrap_or(Severity::Warning),
    };
    let mut options = rules::Options {
        strict: args.strict || cfg.strict.unwrap_or(false),
        allowed_globals: cfg.allowed_globals.clone().unwrap_or_default(),
        target: cfg.target.clone().unwrap_or_default(),
        ..rules::Options::default()
    };
    if let Some(size) = cfg.memory_budget {
        options.memory_budget = size.bytes();
    }
    if let Some(text) = &args.memory_budget {
        options.memory_budget =
            config::parse_size(text).map_err(|e| anyhow!("--memory-budget: {e}"))?;
    }
    for t in &args.target {
        let (lib, version) = t
            .split_once("==")
            .ok_or_else(|| anyhow!("--target takes LIB==VERSION (sklearn==1.9), not '{t}'"))?;
        options
            .target
            .insert(lib.trim().to_string(), version.trim().to_string());
    }
    let severities = cfg.severity.clone().unwrap_or_default();

    let (files, mut skipped) = discover(&args.paths)?;
    let results = read_all(&files, &options);

    let root = loaded.root();
    let mut used = vec![false; cfg.suppress.len()];
    let mut report = CheckReport {
        fail_on,
        ..CheckReport::default()
    };
    for ((path, candidate), result) in files.iter().zip(results) {
        match result {
            Ok(findings) => {
                let mut kept = Vec::new();
                let mut hash = None;
                for mut f in findings {
                    if !rules::matches(f.code, &select) || rules::matches(f.code, &ignore) {
                        continue;
                    }
                    if let Some(sev) = severities.get(f.code) {
                        f.severity = *sev;
                    }
                    let suppression = cfg.suppress.iter().position(|s| {
                        s.rule.eq_ignore_ascii_case(f.code)
                            && suppression_matches(s, path, &root, &mut hash)
                    });
                    match suppression {
                        Some(i) => {
                            used[i] = true;
                            report.suppressed += 1;
                        }
                        None => kept.push(f),
                    }
                }
                report.artifacts.push(ArtifactResult {
                    path: display(path),
                    findings: kept,
                });
            }
            Err(e) if *candidate == Candidate::Maybe && matches!(e, ReadError::Pickle { .. }) => {
                skipped.push((
                    display(path),
                    "not an artifact (text that does not parse as a pickle)".into(),
                ));
            }
            Err(e) => report.errors.push(FileError::from(&e)),
        }
    }
    report.skipped = skipped;
    report.unused_suppressions = cfg
        .suppress
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(s, _)| s.clone())
        .collect();
    report.failed = report
        .artifacts
        .iter()
        .flat_map(|a| &a.findings)
        .any(|f| f.severity >= fail_on);

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        CheckFormat::Human => write!(out, "{}", human::render(&report, color))?,
        CheckFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &check_json::document(&report))?;
            writeln!(out)?;
        }
        CheckFormat::Sarif => {
            serde_json::to_writer_pretty(&mut out, &sarif::document(&report))?;
            writeln!(out)?;
        }
        CheckFormat::Github => write!(out, "{}", github::render(&report))?,
    }
    out.flush()?;
    if args.format != CheckFormat::Human {
        for e in &report.errors {
            eprintln!("error: {}", e.message);
        }
    }
    for s in &report.unused_suppressions {
        eprintln!(
            "warning: the suppression of {} for {} matched nothing{}",
            s.rule,
            s.file.as_deref().or(s.sha256.as_deref()).unwrap_or("?"),
            loaded
                .path
                .as_ref()
                .map(|p| format!(" ({})", p.display()))
                .unwrap_or_default()
        );
    }
    let code = if !report.errors.is_empty() {
        EXIT_ERROR
    } else if report.failed && !args.exit_zero {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    };
    Ok(ExitCode::from(code))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Walks the paths; returns the files to read and the ones passed over (with why).
fn discover(paths: &[PathBuf]) -> anyhow::Result<Discovered> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if !meta.is_dir() {
            files.push((path.clone(), Candidate::Certain));
            continue;
        }
        let mut dirs = vec![path.clone()];
        while let Some(dir) = dirs.pop() {
            let mut entries: Vec<_> = std::fs::read_dir(&dir)
                .map_err(|e| anyhow!("{}: {e}", dir.display()))?
                .filter_map(Result::ok)
                .collect();
            entries.sort_by_key(|e| e.file_name());
            for entry in entries.into_iter().rev() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                let p = entry.path();
                if kind.is_dir() {
                    if !name.starts_with('.') && name != "__pycache__" && name != "node_modules" {
                        dirs.push(p);
                    }
                } else if kind.is_file() {
                    match classify(&p) {
                        Ok(Some(c)) => files.push((p, c)),
                        Ok(None) => {}
                        Err(why) => skipped.push((display(&p), why)),
                    }
                }
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((files, skipped))
}

/// Decides from the first bytes whether a file found in a folder is an artifact.
/// `Ok(None)`: plainly not one. `Err(why)`: looks like one we cannot read (reported).
fn classify(path: &Path) -> Result<Option<Candidate>, String> {
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| format!("cannot read: {e}"))?;
    let named = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|n| {
            PICKLE_EXTENSIONS
                .iter()
                .any(|e| n.ends_with(&format!(".{e}")))
        });
    match container::detect(&head[..n]) {
        Ok(Container::Compressed(_)) => Ok(Some(Candidate::Certain)),
        Ok(Container::Pickle) if head[0] == 0x80 || named => Ok(Some(Candidate::Certain)),
        Ok(Container::Pickle) => Ok(Some(Candidate::Maybe)),
        Err(container::ContainerError::Zip(_)) if named => {
            Err("a zip archive (PyTorch, skops): not supported yet, not checked".into())
        }
        Err(_) if named => Ok(Some(Candidate::Certain)),
        Err(_) => Ok(None),
    }
}

/// Reads and checks every file on all cores; results come back in input order.
fn read_all(files: &[(PathBuf, Candidate)], options: &rules::Options) -> Vec<Checked> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Checked>>> = files.iter().map(|_| Mutex::new(None)).collect();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, _)) = files.get(i) else { break };
                    let result = inspection::read(path, &mut |_| {})
                        .map(|insp| rules::check(&insp, options));
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    slots
        .into_iter()
        .zip(files)
        .map(|(slot, (path, _))| {
            slot.into_inner().ok().flatten().unwrap_or_else(|| {
                // A worker panicked on this file: report it, never drop it silently.
                Err(ReadError::Container {
                    path: display(path),
                    source: container::ContainerError::Open(std::io::Error::other(
                        "internal error while checking this file",
                    )),
                })
            })
        })
        .collect()
}

fn suppression_matches(
    s: &Suppression,
    path: &Path,
    root: &Path,
    hash: &mut Option<String>,
) -> bool {
    if let Some(file) = &s.file {
        let target = root.join(file);
        return match (target.canonicalize(), path.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
    }
    if let Some(want) = &s.sha256 {
        if hash.is_none() {
            *hash = sha256_file(path).ok();
        }
        return hash
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(want));
    }
    false
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}
