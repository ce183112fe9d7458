use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = artifact::cli::Cli::parse();
    match artifact::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // Someone piped us into `head`: not an error.
            let broken_pipe = err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>().map(std::io::Error::kind)
                    == Some(std::io::ErrorKind::BrokenPipe)
                    || e.downcast_ref::<serde_json::Error>()
                        .and_then(serde_json::Error::io_error_kind)
                        == Some(std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", artifact::commands::error_chain(&err));
            ExitCode::from(artifact::commands::EXIT_ERROR)
        }
    }
}
