use std::process::ExitCode;

use crate::cli::{DisArgs, Format};
use crate::commands::{EXIT_ERROR, EXIT_OK};
use crate::container;
use crate::inspection::ReadError;
use crate::pickle;
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
    // A plain .npy array holds no opcodes: JSON lists none, a person is told why.
    if let (false, Some(header)) = (artifact.holds_pickle(), &artifact.npy) {
        if args.format == Format::Json {
            return Ok(ExitCode::from(EXIT_OK));
        }
        println!(
            "a NumPy .npy array ({} {:?}, data at offset {}): no pickle to list",
            header.descr, header.shape, header.data_offset
        );
        return Ok(ExitCode::from(EXIT_OK));
    }
    let stdout = std::io::stdout();
    let mut listing = Listing::new(
        std::io::BufWriter::new(stdout.lock()),
        args.format == Format::Json,
    );
    let result = pickle::parse_reading_at(
        artifact.bytes(),
        artifact.pickle_start(),
        &mut listing,
        crate::inspection::primary(&artifact).0,
    )
    .error
    .map_or(Ok(()), Err);
    let write_result = listing.finish();
    if let Err(source) = result {
        eprintln!(
            "error: {}",
            ReadError::Pickle {
                path,
                source,
                partial: None
            }
        );
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    write_result?;
    Ok(ExitCode::from(EXIT_OK))
}
