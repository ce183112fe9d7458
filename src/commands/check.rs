//! `artifact check`: find artifacts, read them in parallel, run the rules, apply the
//! configuration, render, and turn the result into the gate's exit code.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use anyhow::{Context, anyhow};
use sha2::{Digest, Sha256};

use crate::cli::{CheckArgs, CheckFormat};
use crate::commands::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::config::{self, Suppression};
use crate::container;
use crate::inspection::{self, ReadError};
use crate::report::FileError;
use crate::report::check::{ArtifactResult, CheckReport};
use crate::report::{check as human, check_json, github, sarif};
use crate::rules::{self, Severity};

/// The outcome of reading and checking one file.
struct Checked {
    /// Findings per artifact read: the file, then (for an archive) each member read as
    /// one, named `file!member`. What ran before a parse error counts too.
    artifacts: Vec<(String, Vec<rules::Finding>)>,
    /// Where the file, or a member, could not be read to the end.
    errors: Vec<FileError>,
    /// The file itself is not an artifact: both loaders refuse it before importing
    /// anything (only counts for files found in a folder).
    refused: bool,
}

/// What a folder walk found.
#[derive(Default)]
struct Discovered {
    files: Vec<(PathBuf, Candidate)>,
    /// Passed over, with why.
    skipped: Vec<(String, String)>,
    /// Could not be walked: the gate fails closed.
    errors: Vec<FileError>,
    excluded: usize,
}

/// How sure we are that a file is an artifact before reading it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Candidate {
    /// Named on the command line, with a model file's extension, or in a container we
    /// cannot read yet: read errors count.
    Certain,
    /// Found in a folder: an artifact unless `pickle.load` and `joblib.load` would both
    /// refuse it before importing anything (then it is listed as "not an artifact").
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
    let fail_on = args.fail_on.or(cfg.fail_on).unwrap_or(Severity::Warning);
    let mut options = rules::Options {
        strict: args.strict || cfg.strict.unwrap_or(false),
        allowed_globals: {
            let allowed = cfg.allowed_globals.clone().unwrap_or_default();
            rules::validate_allowed_globals(&allowed).map_err(|e| anyhow!("{e}"))?;
            allowed
        },
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

    let mut patterns = cfg.exclude.clone().unwrap_or_default();
    patterns.extend(args.exclude.iter().cloned());
    let exclude = exclusions(&patterns)?;
    let Discovered {
        files,
        mut skipped,
        errors: walk_errors,
        excluded,
    } = discover(&args.paths, &exclude)?;

    let root = loaded.root();
    let mut used = vec![false; cfg.suppress.len()];
    let mut report = CheckReport {
        fail_on,
        excluded,
        errors: walk_errors,
        ..CheckReport::default()
    };
    // JSON lines stream: each file's lines as soon as it (and every file before it) is
    // checked, so a registry scan can be followed and piped as it runs.
    let stream = args.format == CheckFormat::JsonLines;
    let mut lines_written = (0, 0, 0);
    let mut stream_lines =
        |report: &CheckReport, skipped: &[(String, String)]| -> std::io::Result<()> {
            if !stream {
                return Ok(());
            }
            let mut out = std::io::stdout().lock();
            let (a, e, s) = lines_written;
            for artifact in &report.artifacts[a..] {
                serde_json::to_writer(&mut out, &check_json::CheckLine::artifact(artifact))?;
                writeln!(out)?;
            }
            for error in &report.errors[e..] {
                serde_json::to_writer(&mut out, &check_json::CheckLine::Error(error))?;
                writeln!(out)?;
            }
            for (path, reason) in &skipped[s..] {
                serde_json::to_writer(&mut out, &check_json::CheckLine::skipped(path, reason))?;
                writeln!(out)?;
            }
            lines_written = (report.artifacts.len(), report.errors.len(), skipped.len());
            out.flush()
        };
    stream_lines(&report, &skipped)?;
    let mut written = Ok(());
    read_all(&files, &options, &mut |i, checked| {
        let (path, candidate) = &files[i];
        if *candidate == Candidate::Maybe && checked.refused {
            skipped.push((
                display(path),
                "not an artifact (pickle.load and joblib.load refuse it before importing anything)"
                    .into(),
            ));
            if written.is_ok() {
                written = stream_lines(&report, &skipped);
            }
            return;
        }
        report.errors.extend(checked.errors);
        let mut hash = None;
        for (name, findings) in checked.artifacts {
            let mut kept = Vec::new();
            for mut f in findings {
                if !rules::matches(f.code, &select) || rules::matches(f.code, &ignore) {
                    continue;
                }
                if let Some(sev) = severities.get(f.code) {
                    f.severity = *sev;
                }
                // A suppression names the file on disk, whichever member the finding is in.
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
            let member = name
                .strip_prefix(&format!("{}!", display(path)))
                .map(str::to_string);
            report.artifacts.push(ArtifactResult {
                path: name,
                member,
                findings: kept,
            });
        }
        if written.is_ok() {
            written = stream_lines(&report, &skipped);
        }
    });
    written?;
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
            serde_json::to_writer_pretty(&mut out, &check_json::CheckDocument::new(&report))?;
            writeln!(out)?;
        }
        CheckFormat::Sarif => {
            serde_json::to_writer_pretty(&mut out, &sarif::document(&report))?;
            writeln!(out)?;
        }
        CheckFormat::Github => write!(out, "{}", github::render(&report))?,
        CheckFormat::Junit => write!(out, "{}", crate::report::junit::render(&report))?,
        CheckFormat::Gitlab => {
            serde_json::to_writer_pretty(&mut out, &crate::report::gitlab::issues(&report))?;
            writeln!(out)?;
        }
        CheckFormat::JsonLines => {
            serde_json::to_writer(&mut out, &check_json::CheckLine::summary(&report))?;
            writeln!(out)?;
        }
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

/// The `--exclude` / `exclude` globs, matched against whole paths and file names.
fn exclusions(patterns: &[String]) -> anyhow::Result<globset::GlobSet> {
    let mut set = globset::GlobSetBuilder::new();
    for p in patterns {
        let glob = globset::GlobBuilder::new(p)
            .literal_separator(false)
            .build()
            .map_err(|e| anyhow!("exclude pattern '{p}': {e}"))?;
        set.add(glob);
    }
    set.build().map_err(|e| anyhow!("exclude patterns: {e}"))
}

fn is_excluded(exclude: &globset::GlobSet, path: &Path) -> bool {
    !exclude.is_empty()
        && (exclude.is_match(path)
            || path
                .file_name()
                .is_some_and(|n| exclude.is_match(Path::new(n))))
}

/// Walks the paths. Nothing is passed over silently: hidden folders, `__pycache__` and
/// `node_modules` are walked like any other, symbolic links are followed (a loop is
/// listed, once), and only what the user excluded is left out (and counted).
fn discover(paths: &[PathBuf], exclude: &globset::GlobSet) -> anyhow::Result<Discovered> {
    let mut found = Discovered::default();
    for path in paths {
        if let Some(url) = crate::store::remote_url(path) {
            if !crate::store::is_prefix(url) {
                found.files.push((path.clone(), Candidate::Certain));
                continue;
            }
            // A prefix: every object under it, as a folder's files are.
            for (object, _) in crate::store::list_remote(url)? {
                let object = PathBuf::from(object);
                if is_excluded(exclude, &object) {
                    found.excluded += 1;
                    continue;
                }
                let candidate = candidate(&object);
                found.files.push((object, candidate));
            }
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if !meta.is_dir() {
            found.files.push((path.clone(), Candidate::Certain));
            continue;
        }
        let mut walk = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = walk.next() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    let at = e.path().map(display).unwrap_or_else(|| display(path));
                    if e.loop_ancestor().is_some() {
                        found.skipped.push((
                            at,
                            "a symbolic link back to a folder above it (walked once)".into(),
                        ));
                    } else if e.io_error().map(|io| io.kind()) == Some(std::io::ErrorKind::NotFound)
                    {
                        found
                            .skipped
                            .push((at, "a broken symbolic link (nothing to load)".into()));
                    } else {
                        found.errors.push(FileError {
                            path: at,
                            message: format!("cannot be walked: {e}"),
                            offset: None,
                            opcode: None,
                        });
                    }
                    continue;
                }
            };
            if entry.depth() > 0 && is_excluded(exclude, entry.path()) {
                found.excluded += 1;
                if entry.file_type().is_dir() {
                    walk.skip_current_dir();
                }
                continue;
            }
            if entry.file_type().is_file() {
                let p = entry.into_path();
                let candidate = candidate(&p);
                found.files.push((p, candidate));
            }
        }
    }
    found.files.sort_by(|a, b| a.0.cmp(&b.0));
    found.files.dedup_by(|a, b| a.0 == b.0);
    Ok(found)
}

/// Model files by name are artifacts whatever their bytes; everything else found in a
/// folder is one unless both loaders would refuse it before importing anything.
pub(crate) fn candidate(path: &Path) -> Candidate {
    let named = path
        .file_name()
        .is_some_and(|n| container::named_as_pickle(&n.to_string_lossy()));
    if named {
        Candidate::Certain
    } else {
        Candidate::Maybe
    }
}

/// How many remote files are read at once.
const REMOTE_WORKERS: usize = 16;

/// Checks every file on worker threads (one per core; [`REMOTE_WORKERS`] for remote
/// files) and hands each result to `each` in the files' order, as soon as it and every
/// one before it are done.
fn read_all(
    files: &[(PathBuf, Candidate)],
    options: &rules::Options,
    each: &mut dyn FnMut(usize, Checked),
) {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Checked>>> = files.iter().map(|_| Mutex::new(None)).collect();
    let done = (Mutex::new(()), Condvar::new());
    // Remote files wait on the network, not the processor: more of them at once (and
    // never more than this many requests in flight).
    let remote = files
        .iter()
        .any(|(p, _)| crate::store::remote_url(p).is_some());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let workers = if remote {
        cores.max(REMOTE_WORKERS)
    } else {
        cores
    }
    .min(files.len().max(1));
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((path, _)) = files.get(i) else { break };
                        let result = check_one(path, options);
                        if let Ok(mut slot) = slots[i].lock() {
                            *slot = Some(result);
                        }
                        done.1.notify_all();
                    }
                })
            })
            .collect();
        let take = |i: usize| slots[i].lock().ok().and_then(|mut s| s.take());
        for (i, (path, _)) in files.iter().enumerate() {
            let checked = loop {
                if let Some(c) = take(i) {
                    break Some(c);
                }
                if handles.iter().all(|h| h.is_finished()) {
                    break take(i);
                }
                // A timeout, not only the notification: a result stored between the
                // check above and this wait is picked up at the next turn.
                if let Ok(guard) = done.0.lock() {
                    let _ = done
                        .1
                        .wait_timeout(guard, std::time::Duration::from_millis(20));
                }
            };
            each(
                i,
                checked.unwrap_or_else(|| {
                    // A worker panicked on this file: report it, never drop it silently.
                    let error = ReadError::Container {
                        path: display(path),
                        source: container::ContainerError::Open(std::io::Error::other(
                            "internal error while checking this file",
                        )),
                    };
                    Checked {
                        artifacts: Vec::new(),
                        errors: vec![FileError::from(&error)],
                        refused: false,
                    }
                }),
            );
        }
        // Joined here, a worker's panic is the internal error above, not the scope's.
        for h in handles {
            let _ = h.join();
        }
    });
}

/// Reads and checks one file, and every member of it that is an artifact. When one does
/// not parse to the end, what was read before the error is checked too (the loader ran
/// it).
fn check_one(path: &Path, options: &rules::Options) -> Checked {
    let mut checked = Checked {
        artifacts: Vec::new(),
        errors: Vec::new(),
        refused: false,
    };
    let error = match inspection::read(path, &mut |_| {}) {
        Ok(insp) => {
            checked.add(&insp, options);
            return checked;
        }
        Err(error) => error,
    };
    // joblib cannot decode it, but `pickle.load` reads the bytes as they lie (`BZ` is
    // BINBYTES to it): if that imports anything, it is an artifact.
    let raw_imports = matches!(
        &error,
        ReadError::Container {
            source: container::ContainerError::Decode { .. },
            ..
        }
    ) && inspection::raw_bytes_import(path);
    checked.refused = error.refused_before_import() && !error.imports_anything() && !raw_imports;
    checked.errors.push(FileError::from(&error));
    if let Some(insp) = error.partial()
        && error.imports_anything()
    {
        checked.add(insp, options);
    }
    checked
}

impl Checked {
    /// Checks an inspection and, for an archive, every member read as an artifact.
    fn add(&mut self, insp: &inspection::Inspection, options: &rules::Options) {
        let mut read = Vec::new();
        let mut errors = Vec::new();
        insp.walk(&mut read, &mut errors);
        self.errors
            .extend(errors.iter().map(|e| FileError::from(*e)));
        self.artifacts.extend(
            read.iter()
                .map(|i| (i.path.clone(), rules::check(i, options))),
        );
    }
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
    let mut file: Box<dyn Read> = match crate::store::remote_url(path) {
        Some(url) => Box::new(crate::store::open_remote(url)?.reader()),
        None => Box::new(std::fs::File::open(path)?),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(crate::units::hex(&hasher.finalize()))
}
