//! Remote objects through `object_store`: S3 (and S3-compatible servers), GCS, Azure
//! Blob and plain HTTP(S), with each store's standard credential chain (environment
//! variables, then the store's own: instance metadata, workload identity).
//!
//! The rest of the program is synchronous; one small runtime serves every request.

use std::io::{self, Read};
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, ObjectStoreScheme,
    RetryConfig,
};

use super::{Fetch, Mirror, RemoteOptions};

fn runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("artifact-io")
        .enable_all()
        .build()?;
    Ok(RUNTIME.get_or_init(|| rt))
}

/// The store and the object's path in it, for `url`.
fn store_for(url: &str, options: RemoteOptions) -> io::Result<(Arc<dyn ObjectStore>, ObjectPath)> {
    let parsed = url::Url::parse(url).map_err(|e| invalid(url, e))?;
    let (scheme, path) = ObjectStoreScheme::parse(&parsed).map_err(|e| invalid(url, e))?;
    // Deadlines are ours (per request, and per piece of a streamed body): the client's
    // own timeout would end a long download that is still moving.
    let client = ClientOptions::new()
        .with_timeout_disabled()
        .with_connect_timeout(options.timeout.min(std::time::Duration::from_secs(10)))
        // Only reaches plain HTTP when the URL or the configured endpoint says http://.
        .with_allow_http(true);
    // The mirror retries too, with the whole read's deadline: the store's own retries
    // are for the requests that never got an answer.
    let retry = RetryConfig {
        max_retries: 2,
        retry_timeout: options.timeout,
        ..RetryConfig::default()
    };
    let store: Arc<dyn ObjectStore> = match scheme {
        ObjectStoreScheme::AmazonS3 => Arc::new(
            aws_profile(&|var| std::env::var(var).ok(), &|path| {
                std::fs::read_to_string(path).ok()
            })
            .into_iter()
            .fold(
                object_store::aws::AmazonS3Builder::from_env(),
                |builder, (key, value)| builder.with_config(key, value),
            )
            .with_url(url)
            .with_client_options(client)
            .with_retry(retry)
            .build()
            .map_err(|e| invalid(url, e))?,
        ),
        ObjectStoreScheme::GoogleCloudStorage => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(url)
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map_err(|e| invalid(url, e))?,
        ),
        ObjectStoreScheme::MicrosoftAzure => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(url)
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map_err(|e| invalid(url, e))?,
        ),
        ObjectStoreScheme::Http => Arc::new(
            object_store::http::HttpBuilder::new()
                .with_url(&parsed[..url::Position::BeforePath])
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map_err(|e| invalid(url, e))?,
        ),
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{url}: {other:?} is not a remote store artifact reads"),
            ));
        }
    };
    Ok((store, path))
}

fn invalid(url: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {e}"))
}

/// An `object_store` error as an I/O error whose kind says whether to try again.
fn io_error(e: object_store::Error) -> io::Error {
    use object_store::Error as E;
    let kind = match &e {
        E::NotFound { .. } => io::ErrorKind::NotFound,
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
        E::NotSupported { .. } => io::ErrorKind::Unsupported,
        E::InvalidPath { .. } | E::UnknownConfigurationKey { .. } => io::ErrorKind::InvalidInput,
        // S3's client says so in a generic error: a 200 with the whole object.
        _ if e.to_string().contains("non-partial response") => io::ErrorKind::Unsupported,
        _ => io::ErrorKind::Other,
    };
    let message = match kind {
        io::ErrorKind::NotFound => format!("not found (404): {e}"),
        io::ErrorKind::PermissionDenied => {
            format!("access denied, check the store's credentials: {e}")
        }
        _ => e.to_string(),
    };
    io::Error::new(kind, message)
}

struct ObjectFetch {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    runtime: &'static tokio::runtime::Runtime,
    timeout: std::time::Duration,
}

impl ObjectFetch {
    /// Runs a request, ending it at the deadline whatever the server does.
    fn within<T>(
        &self,
        request: impl std::future::Future<Output = object_store::Result<T>>,
    ) -> io::Result<T> {
        match self
            .runtime
            .block_on(async { tokio::time::timeout(self.timeout, request).await })
        {
            Ok(result) => result.map_err(io_error),
            Err(_) => Err(timed_out(self.timeout)),
        }
    }
}

impl Fetch for ObjectFetch {
    fn get(&self, range: Range<u64>) -> io::Result<Vec<u8>> {
        let len = range.end - range.start;
        let got = self.within(self.store.get_range(&self.path, range));
        super::count_request(got.as_ref().map_or(0, |b| len.min(b.len() as u64)));
        Ok(got?.to_vec())
    }

    fn stream(&self, start: u64) -> io::Result<Box<dyn Read + Send>> {
        let options = if start == 0 {
            GetOptions::new()
        } else {
            GetOptions::new().with_range(Some(GetRange::Offset(start)))
        };
        super::count_request(0);
        let result = self.within(self.store.get_opts(&self.path, options))?;
        Ok(Box::new(Body {
            stream: result.into_stream(),
            chunk: bytes::Bytes::new(),
            runtime: self.runtime,
            timeout: self.timeout,
        }))
    }
}

/// A response body read as it arrives.
struct Body {
    stream: futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
    chunk: bytes::Bytes,
    runtime: &'static tokio::runtime::Runtime,
    /// The longest wait for the next piece of the body (a whole download may take
    /// longer: a stalled one may not).
    timeout: std::time::Duration,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let next = self
                .runtime
                .block_on(async { tokio::time::timeout(self.timeout, self.stream.next()).await });
            match next {
                Ok(Some(Ok(chunk))) => self.chunk = chunk,
                Ok(Some(Err(e))) => return Err(io_error(e)),
                Ok(None) => return Ok(0),
                Err(_) => return Err(timed_out(self.timeout)),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// Opens `url`. The first request asks for the object's first block, whose answer also
/// tells its size (a HEAD would cost a round trip more: in a registry of small files,
/// half the requests); an empty object, or a server that will not answer a range, is
/// asked for its size with a HEAD instead.
pub fn open(url: &str, options: RemoteOptions) -> io::Result<Arc<Mirror>> {
    let runtime = runtime()?;
    let (store, path) = store_for(url, options)?;
    let fetch = ObjectFetch {
        store,
        path,
        runtime,
        timeout: options.timeout,
    };
    let first = fetch.within(async {
        let range = GetOptions::new().with_range(Some(0..super::block()));
        let got = fetch.store.get_opts(&fetch.path, range).await?;
        let size = got.meta.size;
        Ok((size, got.bytes().await?))
    });
    super::count_request(first.as_ref().map_or(0, |(_, b)| b.len() as u64));
    match first {
        Ok((size, head)) => Mirror::with_head(
            url.to_string(),
            size,
            &head,
            Box::new(fetch),
            options.timeout,
        ),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
            ) =>
        {
            Err(e)
        }
        Err(_) => {
            super::count_request(0);
            let meta = fetch.within(fetch.store.head(&fetch.path))?;
            Mirror::new(url.to_string(), meta.size, Box::new(fetch), options.timeout)
        }
    }
}

fn timed_out(timeout: std::time::Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "no answer within {} s (--remote-timeout)",
            timeout.as_secs_f64()
        ),
    )
}

/// The objects under the prefix `url`, as `(url, size)`, sorted by key.
pub fn list(url: &str, options: RemoteOptions) -> io::Result<Vec<(String, u64)>> {
    let runtime = runtime()?;
    let (store, path) = store_for(url, options)?;
    let base = url
        .find("://")
        .and_then(|at| url[at + 3..].find('/').map(|slash| &url[..at + 3 + slash]))
        .unwrap_or(url);
    let listed = runtime.block_on(async {
        tokio::time::timeout(options.timeout * 4, async {
            let prefix = (!path.as_ref().is_empty()).then_some(&path);
            let mut stream = store.list(prefix);
            let mut found = Vec::new();
            while let Some(meta) = stream.next().await {
                let meta = meta.map_err(io_error)?;
                // A console's "folder" is an empty object named `prefix/`: not a file.
                if meta.location.as_ref().ends_with('/') {
                    continue;
                }
                found.push((format!("{base}/{}", meta.location), meta.size));
            }
            Ok::<_, io::Error>(found)
        })
        .await
    });
    super::count_request(0);
    let mut found = match listed {
        Ok(result) => result,
        Err(_) => Err(timed_out(options.timeout * 4)),
    }
    .map_err(|e| io::Error::new(e.kind(), format!("{url}: cannot list: {e}")))?;
    found.sort();
    Ok(found)
}

/// The S3 settings of a shared-config profile (`AWS_PROFILE`, else `default`) that the
/// environment does not set already: static keys from `~/.aws/credentials`
/// (`AWS_SHARED_CREDENTIALS_FILE`), region and endpoint from `~/.aws/config`
/// (`AWS_CONFIG_FILE`). object_store reads the environment, web identity and instance
/// metadata, not these files; roles, SSO and `credential_process` profiles are not read.
fn aws_profile(
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&std::path::Path) -> Option<String>,
) -> Vec<(object_store::aws::AmazonS3ConfigKey, String)> {
    use object_store::aws::AmazonS3ConfigKey as Key;
    let home = env("HOME").map(std::path::PathBuf::from);
    let file = |var: &str, name: &str| {
        env(var)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
            .and_then(|p| read(&p))
    };
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let mut found = Vec::new();
    if env("AWS_ACCESS_KEY_ID").is_none()
        && let Some(text) = file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
    {
        let section = ini_section(&text, &profile);
        for (name, key) in [
            ("aws_access_key_id", Key::AccessKeyId),
            ("aws_secret_access_key", Key::SecretAccessKey),
            ("aws_session_token", Key::Token),
        ] {
            if let Some(value) = section.iter().find(|(k, _)| k == name) {
                found.push((key, value.1.clone()));
            }
        }
    }
    if let Some(text) = file("AWS_CONFIG_FILE", "config") {
        // In the config file every profile but the default is `[profile NAME]`.
        let header = if profile == "default" {
            profile.clone()
        } else {
            format!("profile {profile}")
        };
        let section = ini_section(&text, &header);
        let unset = |var: &str| env(var).is_none();
        for (name, key, vars) in [
            (
                "region",
                Key::Region,
                &["AWS_REGION", "AWS_DEFAULT_REGION"][..],
            ),
            (
                "endpoint_url",
                Key::Endpoint,
                &["AWS_ENDPOINT_URL", "AWS_ENDPOINT"][..],
            ),
        ] {
            if vars.iter().all(|v| unset(v))
                && let Some(value) = section.iter().find(|(k, _)| k == name)
            {
                found.push((key, value.1.clone()));
            }
        }
    }
    found
}

/// The `key = value` lines of `[name]` in an INI text.
fn ini_section(text: &str, name: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut found = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.trim() == name;
            continue;
        }
        if inside && let Some((key, value)) = line.split_once('=') {
            found.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::aws::AmazonS3ConfigKey as Key;

    #[test]
    fn a_profile_fills_what_the_environment_leaves_unset() {
        let files = |p: &std::path::Path| -> Option<String> {
            match p.file_name()?.to_str()? {
                "credentials" => Some(
                    "[default]\naws_access_key_id = D\n[ci]\naws_access_key_id=CI\naws_secret_access_key = S\n".into(),
                ),
                "config" => Some(
                    "[default]\nregion = eu-west-1\n[profile ci]\n# a comment\nregion = us-east-2\nendpoint_url = http://127.0.0.1:9000\n".into(),
                ),
                _ => None,
            }
        };
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let got = aws_profile(&env(&[("HOME", "/h"), ("AWS_PROFILE", "ci")]), &files);
        assert_eq!(
            got,
            [
                (Key::AccessKeyId, "CI".to_string()),
                (Key::SecretAccessKey, "S".to_string()),
                (Key::Region, "us-east-2".to_string()),
                (Key::Endpoint, "http://127.0.0.1:9000".to_string()),
            ]
        );
        // Keys and region in the environment win; the default profile is `[default]`.
        let got = aws_profile(
            &env(&[
                ("HOME", "/h"),
                ("AWS_ACCESS_KEY_ID", "E"),
                ("AWS_REGION", "x"),
            ]),
            &files,
        );
        assert!(got.is_empty(), "{got:?}");
        let got = aws_profile(&env(&[("HOME", "/h")]), &files);
        assert_eq!(
            got,
            [
                (Key::AccessKeyId, "D".to_string()),
                (Key::Region, "eu-west-1".to_string())
            ]
        );
    }
}
