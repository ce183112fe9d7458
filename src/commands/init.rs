use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::InitArgs;
use crate::config::STARTER;

pub fn run(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let path = std::path::Path::new("artifact.toml");
    if path.exists() && !args.force {
        bail!("artifact.toml already exists (use --force to overwrite it)");
    }
    std::fs::write(path, STARTER).context("cannot write artifact.toml")?;
    eprintln!("wrote artifact.toml: `artifact check` uses it from this folder and below");
    Ok(ExitCode::SUCCESS)
}
