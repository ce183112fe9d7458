//! `artifact patch`: plan edits, write them to a temporary file, check the result by
//! reading it back, and only then rename it into place.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};

use crate::cli::{Format, PatchArgs};
use crate::commands::EXIT_OK;
use crate::inspection;
use crate::patch::{self, Edit, Recorder};
use crate::report::patch_human::{write_edits, write_summary};
use crate::report::patch_json::{FileOutcome, PatchDocument, PatchSummary, SummaryRow};
use crate::report::style::byte_progress;

pub fn run(args: &PatchArgs) -> anyhow::Result<ExitCode> {
    if args.set.is_empty() && !args.fix {
        bail!("nothing to do: give --set KEY=VALUE (for example --set n_jobs=null) or --fix");
    }
    if args.verify.is_some() && args.in_place && args.no_backup {
        bail!("--verify compares with the original: drop --no-backup");
    }
    match args.files.as_slice() {
        [one] if one == Path::new("-") || !one.is_dir() => {
            Ok(ExitCode::from(patch_one(args, one, false)?.exit))
        }
        _ => many(args),
    }
}

/// What patching one file did.
struct Outcome {
    exit: u8,
    done: FileOutcome,
}

/// Several files and folders: each patched on its own (same checks, same atomicity),
/// then one summary.
fn many(args: &PatchArgs) -> anyhow::Result<ExitCode> {
    if args.output.is_some() {
        bail!(
            "-o names one output: with several artifacts each output goes beside its input (model.patched.joblib), or use --in-place"
        );
    }
    if args.verify.is_some() {
        bail!("--verify takes one artifact: patch it alone, or run `artifact verify` on each");
    }
    let mut inputs: Vec<(PathBuf, bool)> = Vec::new();
    for path in &args.files {
        if path == Path::new("-") {
            bail!("`-` (standard input) can only be patched alone");
        }
        if crate::store::remote_url(path).is_some() {
            bail!(
                "{}: a remote artifact can only be patched alone, with -o OUT",
                path.display()
            );
        }
        let meta = std::fs::metadata(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if !meta.is_dir() {
            inputs.push((path.clone(), true));
            continue;
        }
        for entry in walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| anyhow!("{}: cannot be walked: {e}", path.display()))?;
            if entry.file_type().is_file() {
                inputs.push((entry.into_path(), false));
            }
        }
    }
    let mut rows: Vec<SummaryRow> = Vec::new();
    let mut passed_over = 0;
    let mut exit = EXIT_OK;
    for (file, named) in &inputs {
        match patch_one(args, file, true) {
            Ok(o) => {
                exit = exit.max(o.exit);
                rows.push((file.clone(), Ok(o.done)));
            }
            Err(e) => {
                let not_an_artifact = !named
                    && matches!(
                        crate::commands::check::candidate(file),
                        crate::commands::check::Candidate::Maybe
                    )
                    && e.downcast_ref::<inspection::ReadError>()
                        .is_some_and(inspection::ReadError::refused_before_import);
                if not_an_artifact {
                    passed_over += 1;
                    continue;
                }
                exit = crate::commands::EXIT_ERROR;
                rows.push((file.clone(), Err(crate::commands::error_chain(&e))));
            }
        }
    }
    summary(args, &rows, passed_over)?;
    Ok(ExitCode::from(exit))
}

fn summary(args: &PatchArgs, rows: &[SummaryRow], passed_over: usize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if args.format == Format::Json {
        let doc = PatchSummary::new(args.dry_run, passed_over, rows);
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else {
        write_summary(&mut out, rows, passed_over)?;
    }
    Ok(())
}

/// Patches one artifact. `quiet` (part of a run over several) leaves the reporting to
/// the summary.
fn patch_one(args: &PatchArgs, file: &Path, quiet: bool) -> anyhow::Result<Outcome> {
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    let from_stdin = file == Path::new("-");
    if from_stdin && (args.in_place || args.output.is_none()) {
        bail!(
            "reading the artifact from standard input: say where to write it with -o OUT (or -o - for standard output)"
        );
    }
    if to_stdout && args.verify.is_some() {
        bail!("--verify needs the patched file on disk: give -o OUT, not -o -");
    }
    let remote = crate::store::remote_url(file).is_some();
    if remote && (args.in_place || args.output.is_none()) {
        bail!(
            "{}: a remote artifact is never written: say where to write the patched copy with -o OUT",
            file.display()
        );
    }
    // A remote artifact is copied to a temporary file first (streamed): the writer
    // copies every byte it does not change, so it reads the whole input anyway.
    let downloaded = if remote {
        Some(crate::commands::local_input(file)?)
    } else {
        None
    };
    // Standard input is spooled to a temporary file: the reader maps its input.
    let spooled = if from_stdin {
        let mut tmp = tempfile::NamedTempFile::new().context("cannot spool standard input")?;
        std::io::copy(&mut std::io::stdin().lock(), &mut tmp)
            .context("cannot read the artifact from standard input")?;
        Some(tmp)
    } else {
        None
    };
    let input = &match (&spooled, &downloaded) {
        (Some(tmp), _) => tmp.path().to_path_buf(),
        (None, Some(local)) => local.path.clone(),
        (None, None) => file.to_path_buf(),
    };
    let artifact = inspection::open(input, &mut |_| {})?;
    let jobs = args.jobs.map(i64::from);
    // A skops file is a zip whose schema.json holds the settings; every other zip,
    // `.npy` or legacy checkpoint is refused.
    let schema = skops_schema(&artifact);
    if schema.is_none() {
        crate::commands::refuse_container(input, "patch")?;
    }
    let (edits, skipped, writes) = match schema {
        Some(member) => {
            let parts = inspection::skops_parts(&artifact, member)?;
            let read = inspection::skops_inspection(&artifact, member, &parts)?;
            let edits = patch::plan(&read, &args.set, args.fix, jobs)?;
            let (members, skipped) = patch::skops::plan(&parts, &member.name, &edits);
            (edits, skipped, Writes::Members(members))
        }
        None => {
            let mut recorder = Recorder::default();
            let graph = inspection::parse(input, &artifact, &mut recorder)?;
            let layout = recorder.0.from_streams(&graph.streams);
            let inspection = inspection::build(input, &artifact, &graph, None);
            let edits = patch::plan(&inspection, &args.set, args.fix, jobs)?;
            let (splices, skipped) = patch::plan_splices(artifact.bytes(), &layout, &edits)?;
            (edits, skipped, Writes::Splices(splices))
        }
    };
    if !skipped.is_empty() && (args.all_or_nothing || args.format == Format::Human) {
        for s in &skipped {
            eprintln!(
                "{}: {}: not applied: {}",
                if args.all_or_nothing {
                    "error"
                } else {
                    "warning"
                },
                file.display(),
                s.reason
            );
        }
    }
    if !skipped.is_empty() && args.all_or_nothing {
        bail!(
            "{} of {} edits cannot be made and --all-or-nothing is set: nothing was written",
            skipped.len(),
            edits.len()
        );
    }
    let edits: Vec<Edit> = edits
        .into_iter()
        .filter(|e| !skipped.iter().any(|s| s.edit == *e))
        .collect();
    // A repair that left an edit out is not the repair that was asked for.
    let exit = if skipped.is_empty() {
        EXIT_OK
    } else {
        crate::commands::EXIT_FINDINGS
    };

    // For standard output, the file is written and read back in the temporary folder first.
    let target = if to_stdout {
        std::env::temp_dir().join("artifact-patch-stdout")
    } else {
        target_path(args, file)?
    };
    if !to_stdout
        && !args.dry_run
        && !edits.is_empty()
        && target.exists()
        && !args.in_place
        && !args.force
    {
        if quiet {
            bail!(
                "{} exists (use --force to overwrite it, or --in-place)",
                target.display()
            );
        }
        bail!(
            "{} exists (use --force to overwrite it, or -o to choose another name)",
            target.display()
        );
    }
    let shown = (!args.dry_run && !edits.is_empty()).then_some(if to_stdout {
        Path::new("-")
    } else {
        target.as_path()
    });
    // Part of a run over several, the summary reports; with -o -, standard output carries
    // the artifact's bytes alone.
    if !quiet {
        let mut sink: Box<dyn Write> = if to_stdout {
            Box::new(std::io::stderr().lock())
        } else {
            Box::new(std::io::stdout().lock())
        };
        report(args, file, &edits, &skipped, shown, &mut *sink)?;
    }
    let outcome = |exit: u8, written: Option<PathBuf>| Outcome {
        exit,
        done: FileOutcome {
            edits: edits.len(),
            not_applied: skipped.len(),
            written,
        },
    };
    if args.dry_run {
        return Ok(outcome(exit, None));
    }
    if edits.is_empty() {
        // A copy identical to the input would only be a second file to keep track of.
        if args.format == Format::Human && !quiet {
            eprintln!("nothing to change: nothing was written");
        }
        return Ok(outcome(exit, None));
    }
    if args.in_place && !args.force {
        let read_only = std::fs::metadata(input)
            .map(|m| m.permissions().readonly())
            .unwrap_or(false);
        if read_only {
            bail!(
                "{} is read-only: --in-place would replace it anyway (add --force if that is what you want)",
                input.display()
            );
        }
    }

    let total = artifact.bytes().len() as u64;
    let bar = byte_progress("writing".to_string(), total, 64 << 20);
    let mut progress = |done| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    };
    let written = match &writes {
        Writes::Splices(splices) => patch::write(input, &artifact, splices, &target, &mut progress),
        Writes::Members(members) => {
            patch::write_members(input, &artifact, members, &target, &mut progress)
        }
    };
    let tmp = written.with_context(|| {
        format!(
            "cannot write the patched artifact next to {}",
            target.display()
        )
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let encoded = artifact
        .encoding()
        .map(|e| format!("; compressed with {e}"))
        .unwrap_or_default();
    // The read-back decodes a compressed output into a spill of its own: the input's
    // spill is no longer needed, and its pages, freed now, serve the new one.
    drop(artifact);
    verify(&tmp.path(), &edits).with_context(|| {
        format!(
            "the patched file did not read back as planned; nothing was written to {}",
            target.display()
        )
    })?;

    if to_stdout {
        let mut written = std::fs::File::open(tmp.path())?;
        let mut out = std::io::stdout().lock();
        std::io::copy(&mut written, &mut out)?;
        out.flush()?;
        return Ok(outcome(exit, None));
    }
    if args.in_place && !args.no_backup {
        let backup = backup_path(input);
        if backup.exists() {
            if !args.force {
                bail!(
                    "the backup {} exists (use --force to replace it, or --no-backup)",
                    backup.display()
                );
            }
            std::fs::remove_file(&backup)
                .with_context(|| format!("cannot replace {}", backup.display()))?;
        }
        // A hard link costs nothing and keeps the original bytes whatever happens next.
        std::fs::hard_link(input, &backup)
            .or_else(|_| std::fs::copy(input, &backup).map(|_| ()))
            .with_context(|| format!("cannot keep a backup at {}", backup.display()))?;
    }
    // The new file keeps the input's permissions (the temporary file is private).
    if let Ok(meta) = std::fs::metadata(input) {
        tmp.file()
            .set_permissions(meta.permissions())
            .with_context(|| format!("cannot set the permissions of {}", target.display()))?;
    }
    tmp.persist(&target)
        .map_err(|e| anyhow!("cannot move the patched file to {}: {e}", target.display()))?;
    if args.format == Format::Human && !quiet {
        eprintln!(
            "wrote {} ({} edit{}{encoded})",
            target.display(),
            edits.len(),
            if edits.len() == 1 { "" } else { "s" }
        );
    }
    if let Some(sample) = &args.verify {
        let mut options = args.verify_options.clone();
        options.data = Some(sample.clone());
        // In place, the original now lives in the backup.
        let original = if args.in_place {
            backup_path(input)
        } else {
            input.clone()
        };
        let verified =
            crate::commands::verify::verify_and_report(&original, &target, &options, args.format)?;
        return Ok(outcome(exit.max(verified), Some(target)));
    }
    Ok(outcome(exit, Some(target)))
}

fn target_path(args: &PatchArgs, file: &Path) -> anyhow::Result<PathBuf> {
    if args.in_place {
        return Ok(file.to_path_buf());
    }
    if let Some(out) = &args.output {
        let same = match (out.canonicalize(), file.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            bail!("-o names the input itself: use --in-place to replace it");
        }
        return Ok(out.clone());
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| anyhow!("{} has no file name", file.display()))?;
    // model.joblib.gz -> model.patched.joblib.gz; .hidden -> .hidden.patched
    let split = name
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '.')
        .map(|(i, _)| i);
    let patched = match split {
        Some(i) => format!("{}.patched{}", &name[..i], &name[i..]),
        None => format!("{name}.patched"),
    };
    Ok(file.with_file_name(patched))
}

fn backup_path(input: &Path) -> PathBuf {
    let mut name = input
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".bak");
    input.with_file_name(name)
}

/// What a run writes: splices of one pickle, or whole members of a skops file.
enum Writes {
    Splices(Vec<patch::Splice>),
    Members(Vec<(String, Vec<u8>)>),
}

/// The `schema.json` of a skops file (None for anything else).
fn skops_schema(artifact: &crate::container::Artifact) -> Option<&crate::container::zip::Member> {
    use crate::container::zip::{ArchiveKind, Role};
    let kind = artifact.archive.as_ref()?;
    if *kind != ArchiveKind::Skops {
        return None;
    }
    artifact
        .members
        .iter()
        .find(|m| kind.role(m) == Role::Schema)
}

/// Reads the written file back: it must read to the end (a skops file: every member),
/// and every edited setting must now hold its new value.
fn verify(path: &Path, edits: &[Edit]) -> anyhow::Result<()> {
    let after = inspection::read(path, &mut |_| {})?;
    let mut read = Vec::new();
    let mut errors = Vec::new();
    after.walk(&mut read, &mut errors);
    if let Some(e) = errors.first() {
        bail!("{e}");
    }
    let settings: Vec<_> = read.iter().flat_map(|i| &i.view.settings).collect();
    for e in edits {
        let found = settings
            .iter()
            .find(|s| s.raw_path == e.setting.raw_path && s.name == e.setting.name);
        match found {
            Some(s) if s.value == e.new => {}
            Some(s) => bail!(
                "{} reads back as {}, not {}",
                e.setting.raw_path,
                s.value,
                e.new
            ),
            None => bail!("{} is gone from the patched file", e.setting.raw_path),
        }
    }
    Ok(())
}

fn report(
    args: &PatchArgs,
    file: &Path,
    edits: &[Edit],
    skipped: &[patch::Skipped],
    output: Option<&Path>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match args.format {
        Format::Json => {
            let doc = PatchDocument::new(
                file.display().to_string(),
                output.map(|p| p.display().to_string()),
                args.dry_run,
                edits,
                skipped,
            );
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        Format::Human => write_edits(out, edits, args.dry_run)?,
    }
    Ok(())
}
