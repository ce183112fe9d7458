//! `artifact diff A B`: differences as settings, estimators, arrays and globals.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::cli::{DiffArgs, Format};
use crate::commands::{EXIT_FINDINGS, EXIT_OK};
use crate::container::Artifact;
use crate::inspection::{self, Inspection};
use crate::model::compare::Differences;
use crate::pickle::Quiet;
use crate::report::diff::{DiffDocument, write_human};

fn read(path: &Path) -> anyhow::Result<(Artifact, Inspection)> {
    let artifact = inspection::open(path, &mut |_| {})?;
    crate::commands::refuse_kind(path, artifact.container, "diff")?;
    let graph = inspection::parse(path, &artifact, &mut Quiet)?;
    let inspection = inspection::build(path, &artifact, &graph, None);
    // The arrays' bytes are compared by digest: a remote artifact's are fetched here
    // (in pieces; the reading above skipped them).
    for array in &inspection.view.arrays {
        let range = usize::try_from(array.offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(usize::try_from(array.nbytes).ok()?)?));
        if let Some(bytes) = range.and_then(|r| artifact.bytes().get(r)) {
            let _ = crate::store::ensure(bytes);
        }
    }
    inspection::fetched_whole(&artifact)?;
    Ok((artifact, inspection))
}

pub fn run(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let (a_bytes, a) = read(&args.a)?;
    let (b_bytes, b) = read(&args.b)?;
    let diff = Differences::between((&a.view, a_bytes.bytes()), (&b.view, b_bytes.bytes()));
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let (a, b) = (args.a.display().to_string(), args.b.display().to_string());
            serde_json::to_writer_pretty(&mut out, &DiffDocument::new(&a, &b, &diff))?;
            writeln!(out)?;
        }
        Format::Human => write_human(&mut out, &diff)?,
    }
    Ok(ExitCode::from(if diff.total() == 0 {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    }))
}
