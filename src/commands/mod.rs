//! One file per command; each turns parsed arguments into an exit code.

mod check;
mod completions;
mod diff;
mod dis;
mod init;
mod inspect;
mod man;
mod patch;
mod rule;
pub(crate) mod verify;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use crate::cli::{Cli, ColorChoice, Command};
use crate::inspection::{self, Inspection, ReadError};

/// Exit code when every file was read and nothing was found to complain about.
pub const EXIT_OK: u8 = 0;
/// Exit code when findings reach the threshold, or outputs differ.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code for usage, I/O, parse or internal errors (including "could not read to the end").
pub const EXIT_ERROR: u8 = 2;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(size) = &cli.max_decompressed {
        let bytes = crate::config::parse_size(size)
            .map_err(|e| anyhow::anyhow!("--max-decompressed: {e}"))?;
        crate::container::set_max_decompressed(bytes);
    }
    crate::store::set_timeout(std::time::Duration::from_secs(cli.remote_timeout.max(1)));
    let started = std::time::Instant::now();
    let stats = cli.stats;
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(&args, color),
        Command::Dis(args) => dis::run(&args),
        Command::Check(args) => check::run(&args, color),
        Command::Rule(args) => rule::run(&args),
        Command::Patch(args) => patch::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args),
    };
    if stats {
        let s = crate::store::stats();
        eprintln!(
            "stats: fetched {} bytes ({}) in {} requests from {} remote objects, {:.3} s",
            s.bytes,
            crate::units::human_bytes(s.bytes),
            s.requests,
            s.objects,
            started.elapsed().as_secs_f64()
        );
    }
    result
}

/// Reads an artifact, with a progress bar on stderr (terminal only) while a large
/// compressed file is decoded.
pub fn read(path: &Path) -> Result<Inspection, ReadError> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = crate::report::style::byte_progress(
        format!("decompressing {}", path.display()),
        size,
        16 << 20,
    );
    let mut last = 0u64;
    let mut progress = |consumed: u64| {
        if let Some(bar) = &bar
            && consumed - last > 1 << 20
        {
            bar.set_position(consumed);
            last = consumed;
        }
    };
    let result = inspection::read(path, &mut progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

/// An input on the local disk: the path itself, or a remote object copied (streamed) to
/// a temporary folder under its own file name, for the commands that need the whole
/// file (`patch` writes from it, `verify` hands it to Python).
pub struct LocalInput {
    pub path: std::path::PathBuf,
    _folder: Option<tempfile::TempDir>,
}

pub fn local_input(path: &Path) -> anyhow::Result<LocalInput> {
    let Some(url) = crate::store::remote_url(path) else {
        return Ok(LocalInput {
            path: path.to_path_buf(),
            _folder: None,
        });
    };
    let folder =
        tempfile::tempdir().map_err(|e| anyhow::anyhow!("cannot make a temporary folder: {e}"))?;
    let name = url
        .rsplit('/')
        .find(|part| !part.is_empty())
        .filter(|part| !part.contains("://"))
        .unwrap_or("artifact");
    let local = folder.path().join(name);
    let mut file =
        std::fs::File::create(&local).map_err(|e| anyhow::anyhow!("{}: {e}", local.display()))?;
    let mut bar = None;
    crate::store::download(url, &mut file, &mut |size, done| {
        let bar = bar.get_or_insert_with(|| {
            crate::report::style::byte_progress(format!("downloading {url}"), size, 16 << 20)
        });
        if let Some(bar) = bar {
            bar.set_position(done);
        }
    })
    .map_err(|e| anyhow::anyhow!("{url}: cannot download: {e}"))?;
    if let Some(Some(bar)) = bar {
        bar.finish_and_clear();
    }
    Ok(LocalInput {
        path: local,
        _folder: Some(folder),
    })
}

/// Refuses the containers that are not a model's pickle for the commands that work on
/// one (`patch`, `diff`, `verify`): `.npy` files, zip archives (PyTorch, `.npz`, skops)
/// and legacy PyTorch files. The patch writer does not rewrite them and the verify
/// harness loads with joblib; `inspect`, `check` and `dis` read them all.
pub fn refuse_container(path: &Path, command: &str) -> anyhow::Result<()> {
    let mut head = [0u8; 32];
    let n = std::fs::File::open(path)
        .and_then(|mut f| {
            let mut filled = 0;
            loop {
                match std::io::Read::read(&mut f, &mut head[filled..])? {
                    0 => return Ok(filled),
                    k => filled += k,
                }
                if filled == head.len() {
                    return Ok(filled);
                }
            }
        })
        .unwrap_or(0);
    match crate::container::detect(&head[..n]) {
        Ok(container) => refuse_kind(path, container, command),
        Err(_) => Ok(()),
    }
}

/// [`refuse_container`], for a container already opened.
pub fn refuse_kind(
    path: &Path,
    container: crate::container::Container,
    command: &str,
) -> anyhow::Result<()> {
    use crate::container::Container;
    let what = match container {
        Container::Npy => "a NumPy .npy file",
        Container::Zip => "a zip archive (a PyTorch checkpoint, .npz or skops file)",
        Container::TorchLegacy => "a legacy PyTorch checkpoint",
        Container::Pickle | Container::Compressed(_) => return Ok(()),
    };
    anyhow::bail!(
        "{}: {what}: `artifact {command}` works on pickled models; `artifact inspect` and `artifact check` read it",
        path.display()
    )
}

/// The error and its causes, each once: typed errors that name their source in their own
/// message (`file: at offset N: ...`) would otherwise print it twice.
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}
