//! Where an artifact's bytes live: a local file, or an object in a remote store
//! (`https://`, `s3://`, `gs://`, `az://`) read with ranged GETs.
//!
//! A remote object is read through a [`Mirror`]: a sparse temporary file as long as the
//! object, mapped into memory, that is filled block by block as the reader asks for
//! bytes. The layers above see a byte slice, as they do for a local file; the pickle
//! lexer asks for the bytes it is about to read ([`Window`]) and everything else that
//! reads a payload goes through [`ensure`]. A 4 GB array that the reader skips is never
//! fetched: the file stays a hole there.

mod mirror;
#[cfg(feature = "remote")]
mod remote;

use std::path::Path;

pub use mirror::{Fetch, Mirror, Window, block, ensure, window};

/// The URL schemes read from a remote store.
pub const SCHEMES: [&str; 7] = [
    "https://", "http://", "s3://", "s3a://", "gs://", "az://", "abfss://",
];

/// The URL `path` names, when it names a remote object (or prefix) rather than a file.
/// A local file whose name starts like a URL is reached as `./s3://...`.
pub fn remote_url(path: &Path) -> Option<&str> {
    let text = path.to_str()?;
    SCHEMES
        .iter()
        .any(|scheme| {
            text.len() > scheme.len() && text[..scheme.len()].eq_ignore_ascii_case(scheme)
        })
        .then_some(text)
}

/// Whether `url` names a prefix to list rather than one object: it ends in `/`, or it is
/// a bucket (container) with no key at all (`s3://bucket`).
pub fn is_prefix(url: &str) -> bool {
    if url.ends_with('/') {
        return true;
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let bucket_store = ["s3", "s3a", "gs", "az", "abfss"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme));
    bucket_store && !rest.contains('/')
}

/// What a remote read does: its limits and how to report it.
#[derive(Clone, Copy, Debug)]
pub struct RemoteOptions {
    /// The longest one read may take, retries included.
    pub timeout: std::time::Duration,
}

/// `--remote-timeout`: 30 s unless set.
static TIMEOUT_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(30_000);

/// Sets `--timeout` for every remote read of this process.
pub fn set_timeout(timeout: std::time::Duration) {
    TIMEOUT_MS.store(
        u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        std::sync::atomic::Ordering::Relaxed,
    );
}

pub fn options() -> RemoteOptions {
    RemoteOptions {
        timeout: std::time::Duration::from_millis(
            TIMEOUT_MS.load(std::sync::atomic::Ordering::Relaxed),
        ),
    }
}

/// Bytes moved and requests made by every remote read of this process (`--stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub bytes: u64,
    pub requests: u64,
    /// Objects opened (each costs one request for its first block, counted in `requests`).
    pub objects: u64,
}

static BYTES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static OBJECTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn stats() -> Stats {
    use std::sync::atomic::Ordering::Relaxed;
    Stats {
        bytes: BYTES.load(Relaxed),
        requests: REQUESTS.load(Relaxed),
        objects: OBJECTS.load(Relaxed),
    }
}

#[cfg_attr(not(feature = "remote"), allow(dead_code))]
pub(crate) fn count_request(bytes: u64) {
    use std::sync::atomic::Ordering::Relaxed;
    REQUESTS.fetch_add(1, Relaxed);
    BYTES.fetch_add(bytes, Relaxed);
}

pub(crate) fn count_bytes(bytes: u64) {
    BYTES.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
}

/// Opens the remote object `url` as a mirror (one request, for its first block; nothing
/// else is fetched until it is read).
pub fn open_remote(url: &str) -> std::io::Result<std::sync::Arc<Mirror>> {
    OBJECTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    #[cfg(feature = "remote")]
    {
        remote::open(url, options())
    }
    #[cfg(not(feature = "remote"))]
    {
        Err(not_built(url))
    }
}

/// The objects under the prefix `url` (a URL ending in `/`), as URLs, sorted.
pub fn list_remote(url: &str) -> std::io::Result<Vec<(String, u64)>> {
    #[cfg(feature = "remote")]
    {
        remote::list(url, options())
    }
    #[cfg(not(feature = "remote"))]
    {
        Err(not_built(url))
    }
}

/// Copies the remote object `url` to `dest`, streamed (one GET, never held in memory);
/// `progress` is told the object's size, then the bytes copied so far.
pub fn download(
    url: &str,
    dest: &mut std::fs::File,
    progress: &mut dyn FnMut(u64, u64),
) -> std::io::Result<u64> {
    let mirror = open_remote(url)?;
    let size = mirror.size();
    progress(size, 0);
    mirror.copy_to(dest, &mut |done| progress(size, done))
}

#[cfg(not(feature = "remote"))]
fn not_built(url: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!(
            "{url}: this build of artifact reads local files only; remote inputs need the `remote` feature (the wheel and release binaries have it; from source: cargo install --features remote)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths() {
        assert_eq!(
            remote_url(Path::new("s3://bucket/key.pkl")),
            Some("s3://bucket/key.pkl")
        );
        assert!(remote_url(Path::new("HTTPS://host/x")).is_some());
        assert_eq!(remote_url(Path::new("./s3://bucket/key.pkl")), None);
        assert_eq!(remote_url(Path::new("model.pkl")), None);
        assert_eq!(remote_url(Path::new("s3://")), None);
    }

    #[test]
    fn prefixes_are_told_from_objects() {
        assert!(is_prefix("s3://bucket/models/"));
        assert!(is_prefix("s3://bucket"));
        assert!(is_prefix("gs://bucket"));
        assert!(!is_prefix("s3://bucket/model.pkl"));
        assert!(!is_prefix("https://host"));
        assert!(is_prefix("https://host/dir/"));
    }
}
