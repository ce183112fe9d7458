use std::io::Write;
use std::process::ExitCode;

use crate::cli::{DisArgs, Format};
use crate::commands::{EXIT_ERROR, EXIT_OK};
use crate::container::zip::Role;
use crate::container::{self, Artifact, Container, Loader};
use crate::inspection::ReadError;
use crate::pickle::{self, PickleError, Quiet};
use crate::report::dis::Listing;

pub fn run(args: &DisArgs) -> anyhow::Result<ExitCode> {
    let path = args.file.display().to_string();
    let artifact = match container::open(&args.file, &mut |_| {}) {
        Ok(a) => a,
        Err(source) => {
            eprintln!("error: {}", ReadError::Container { path, source });
            return Ok(ExitCode::from(EXIT_ERROR));
        }
    };
    let stdout = std::io::stdout();
    let mut listing = Listing::new(
        std::io::BufWriter::new(stdout.lock()),
        args.format == Format::Json,
    );
    let mut failed = false;
    list(&artifact, None, Role::Pickle, &mut listing, &mut failed);
    listing.finish()?;
    if let Err(e) = crate::inspection::fetched_whole(&artifact) {
        eprintln!("error: {e}");
        failed = true;
    }
    Ok(ExitCode::from(if failed { EXIT_ERROR } else { EXIT_OK }))
}

/// Lists one artifact, or every member of an archive that holds a pickle (`member` names
/// it inside the file; `role` is what the archive's layout says it is).
fn list<W: Write>(
    artifact: &Artifact,
    member: Option<&str>,
    role: Role,
    listing: &mut Listing<W>,
    failed: &mut bool,
) {
    let path = artifact.path.display().to_string();
    if artifact.container == Container::Zip {
        let kind = artifact
            .archive
            .clone()
            .unwrap_or(container::zip::ArchiveKind::Zip);
        for m in &artifact.members {
            let role = kind.role(m);
            let name = match member {
                Some(outer) => format!("{outer}!{}", m.name),
                None => m.name.clone(),
            };
            if role == Role::Schema {
                listing.start_member(&name);
                listing.note(
                    "skops's schema (JSON, not a pickle): `artifact inspect` shows the tree skops builds from it",
                );
                continue;
            }
            if matches!(role, Role::Directory | Role::Storage) {
                continue;
            }
            let loader = match (&kind, role) {
                (container::zip::ArchiveKind::PyTorch { .. }, Role::Pickle) => Loader::Torch,
                _ => Loader::Joblib,
            };
            match artifact.open_member(m, loader) {
                Ok(inner) => list(&inner, Some(&name), role, listing, failed),
                Err(source) => {
                    let error = ReadError::Container {
                        path: format!("{path}!{}", m.name),
                        source,
                    };
                    if role == Role::Unknown && error.refused_before_import() {
                        listing.start_member(&name);
                        listing.note("data: no loader reads it as a pickle");
                    } else {
                        *failed = true;
                        eprintln!("error: {error}");
                    }
                }
            }
        }
        return;
    }
    if let Some(name) = member {
        listing.start_member(name);
    }
    // A plain .npy array holds no opcodes: JSON lists none, a person is told why.
    if let (false, Some(header)) = (artifact.holds_pickle(), &artifact.npy) {
        listing.note(&format!(
            "a NumPy .npy array ({} {:?}, data at offset {}): no pickle to list",
            header.descr, header.shape, header.data_offset
        ));
        return;
    }
    // A member the layout does not name a pickle, that no loader would read as one
    // (`version`, `byteorder`, a README): data, not an error.
    if role == Role::Unknown {
        let probe = pickle::parse_reading_at(
            artifact.bytes(),
            artifact.pickle_start(),
            &mut Quiet,
            crate::inspection::primary(artifact).0,
        );
        if probe.error.as_ref().is_some_and(|e| e.offset == 0) && probe.graph.streams.len() <= 1 {
            listing.note("data: no loader reads it as a pickle");
            return;
        }
    }
    let reading = crate::inspection::primary(artifact).0;
    let result: Option<PickleError> = if artifact.container == Container::TorchLegacy {
        pickle::parse_consecutive(
            artifact.bytes(),
            0,
            container::torch_legacy::PICKLES,
            listing,
            reading,
        )
        .0
        .error
    } else {
        pickle::parse_reading_at(artifact.bytes(), artifact.pickle_start(), listing, reading).error
    };
    if let Some(source) = result {
        *failed = true;
        eprintln!(
            "error: {}",
            ReadError::Pickle {
                path,
                source,
                partial: None
            }
        );
    }
}
