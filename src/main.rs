use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = artifact::cli::Cli::parse();
    match artifact::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // Someone piped us into `head`: not an error.
            if err
                .chain()
                .filter_map(|e| e.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(artifact::commands::EXIT_ERROR)
        }
    }
}
