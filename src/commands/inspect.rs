use std::io::Write;
use std::process::ExitCode;

use crate::cli::{Format, InspectArgs};
use crate::commands::{EXIT_ERROR, EXIT_OK, ReadError, open};
use crate::model::ModelView;
use crate::pickle::{self, Quiet};
use crate::report::inspect_json::{self, FileError};
use crate::report::{Inspection, StreamSummary, inspect_human};

pub fn run(args: &InspectArgs, color: bool) -> anyhow::Result<ExitCode> {
    let mut inspections = Vec::new();
    let mut errors = Vec::new();
    for path in &args.files {
        match inspect(path) {
            Ok(inspection) => inspections.push(inspection),
            Err(e) => errors.push(e),
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json => {
            let errors: Vec<FileError> = errors
                .iter()
                .map(|e| FileError {
                    path: e.path().to_string(),
                    message: e.to_string(),
                    offset: e.offset(),
                    opcode: e.opcode(),
                })
                .collect();
            let doc = inspect_json::document(&inspections, &errors);
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Human => {
            let options = inspect_human::Options {
                color,
                all_arrays: args.all_arrays,
                all_settings: args.all_settings,
            };
            for (n, inspection) in inspections.iter().enumerate() {
                if n > 0 {
                    writeln!(out)?;
                }
                write!(out, "{}", inspect_human::render(inspection, &options))?;
            }
        }
    }
    out.flush()?;
    for e in &errors {
        eprintln!("error: {e}");
    }
    Ok(ExitCode::from(if errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERROR
    }))
}

/// Reads one artifact to the end and builds everything `inspect` shows.
pub fn inspect(path: &std::path::Path) -> Result<Inspection, ReadError> {
    let artifact = open(path)?;
    let data = artifact.bytes();
    let graph = pickle::parse(data, &mut Quiet).map_err(|source| ReadError::Pickle {
        path: path.display().to_string(),
        source,
    })?;
    let view = ModelView::build(&graph);
    let joblib = artifact.container.codec().is_some()
        || view.arrays.iter().any(|a| {
            matches!(
                a.storage,
                crate::model::ArrayStorage::JoblibInline | crate::model::ArrayStorage::JoblibObject
            )
        });
    Ok(Inspection {
        path: path.display().to_string(),
        file_size: artifact.file_size,
        format: if joblib { "joblib" } else { "pickle" },
        codec: artifact.container.codec().map(|c| c.name()),
        decoded_size: data.len() as u64,
        streams: graph
            .streams
            .iter()
            .map(|s| StreamSummary {
                offset: s.offset,
                end: s.end,
                protocol: s.protocol,
                highest_opcode_protocol: s.highest_opcode_protocol,
                ops: s.op_count,
                nested: s.nested,
            })
            .collect(),
        trailing: graph.trailing,
        anomalies: graph.anomalies.clone(),
        view,
    })
}
