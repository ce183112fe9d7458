use std::process::ExitCode;

use crate::cli::{DisArgs, Format};
use crate::commands::{EXIT_ERROR, EXIT_OK, ReadError, open};
use crate::pickle;
use crate::report::dis::Listing;

pub fn run(args: &DisArgs) -> anyhow::Result<ExitCode> {
    let artifact = match open(&args.file) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_ERROR));
        }
    };
    let stdout = std::io::stdout();
    let mut listing = Listing::new(
        std::io::BufWriter::new(stdout.lock()),
        args.format == Format::Json,
    );
    let result = pickle::parse(artifact.bytes(), &mut listing);
    let write_result = listing.finish();
    if let Err(source) = result {
        let e = ReadError::Pickle {
            path: args.file.display().to_string(),
            source,
        };
        eprintln!("error: {e}");
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    write_result?;
    Ok(ExitCode::from(EXIT_OK))
}
