//! Where the pickle bytes come from.
//!
//! Containers are recognised by their first bytes, never by the file name. A raw pickle
//! (or uncompressed joblib file) is memory-mapped, so reading it costs only the pages the
//! parser touches: a 5 GB array that is skipped is never read. A compressed joblib file
//! is streamed through its decoder into an anonymous temporary file, which is then
//! mapped the same way; memory stays bounded by the decoder's window, not the artifact.

mod codec;
mod encoding;
pub mod json;
pub mod npy;
pub mod skops;
pub mod torch_legacy;
pub mod zip;

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::Mmap;

pub use codec::Codec;
pub use encoding::{Encoder, Encoding, LevelEvidence};

use crate::pickle::Opcode;
use crate::store;

/// What kind of file this is, from its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// A pickle stream (plain pickle, cloudpickle, or uncompressed joblib).
    Pickle,
    /// A joblib file compressed as a whole with one codec.
    Compressed(Codec),
    /// A NumPy `.npy` file: its header ([`Artifact::npy`]) says whether the data is a
    /// pickle (an object array) or an array's raw bytes.
    Npy,
    /// A legacy `torch.save` file: five pickles, then the storages' raw bytes.
    TorchLegacy,
    /// A zip archive (PyTorch, `.npz`, skops, or any zip): its members are
    /// [`Artifact::members`], each opened on its own with [`Artifact::open_member`].
    Zip,
}

impl Container {
    pub fn codec(self) -> Option<Codec> {
        match self {
            Container::Compressed(codec) => Some(codec),
            Container::Pickle | Container::TorchLegacy | Container::Npy | Container::Zip => None,
        }
    }
}

/// Which program reads the pickle: it decides how the bytes are read (joblib skips its
/// arrays' raw bytes, the others do not) and what a persistent id means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loader {
    /// `joblib.load` (and `pickle.load`, which reads a raw pickle alike).
    Joblib,
    /// `numpy.load(allow_pickle=True)`: an object array's pickle.
    Numpy,
    /// `torch.load`: the `data.pkl` of a checkpoint, whose persistent ids are storages.
    Torch,
}

/// What a [`Bytes`] maps: a local file (or a spill of decoded bytes), or a remote
/// object's mirror, which fetches what is asked of it.
enum Backing {
    Map(Mmap),
    Mirror(Arc<store::Mirror>),
}

impl Backing {
    fn map(&self) -> &Mmap {
        match self {
            Backing::Map(map) => map,
            Backing::Mirror(mirror) => mirror.map(),
        }
    }
}

/// Bytes shared between an archive and the members stored in it: a stored member is a
/// range of its archive's map, not a copy.
#[derive(Clone)]
pub struct Bytes {
    map: Arc<Backing>,
    start: usize,
    end: usize,
}

impl Bytes {
    fn whole(map: Mmap) -> Bytes {
        let end = map.len();
        Bytes {
            map: Arc::new(Backing::Map(map)),
            start: 0,
            end,
        }
    }

    fn mirror(mirror: Arc<store::Mirror>) -> Bytes {
        let end = mirror.map().len();
        Bytes {
            map: Arc::new(Backing::Mirror(mirror)),
            start: 0,
            end,
        }
    }

    /// The remote object these bytes are fetched from, if they are.
    fn remote(&self) -> Option<&Arc<store::Mirror>> {
        match &*self.map {
            Backing::Mirror(mirror) => Some(mirror),
            Backing::Map(_) => None,
        }
    }

    /// Makes `range` of these bytes present (a remote object's; local ones always are).
    fn fetch(&self, range: std::ops::Range<usize>) -> Result<(), ContainerError> {
        match self.remote() {
            Some(mirror) => {
                let end = range.end.min(self.len());
                let start = range.start.min(end);
                mirror
                    .ensure((self.start + start) as u64, (self.start + end) as u64)
                    .map(|_| ())
                    .map_err(ContainerError::Fetch)
            }
            None => Ok(()),
        }
    }

    /// `range` of these bytes (None when it does not lie inside them).
    fn slice(&self, range: std::ops::Range<u64>) -> Option<Bytes> {
        let start = usize::try_from(range.start).ok()?;
        let end = usize::try_from(range.end).ok()?;
        (start <= end && end <= self.len()).then(|| Bytes {
            map: Arc::clone(&self.map),
            start: self.start + start,
            end: self.start + end,
        })
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map.map()[self.start..self.end]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("cannot open: {0}")]
    Open(#[source] io::Error),
    #[error("at offset 0: the file is empty")]
    Empty,
    #[error("zip archive: {0}")]
    Zip(#[from] zip::ZipError),
    #[error("a NumPy .npy file whose header cannot be read {0}")]
    Npy(#[from] npy::NpyError),
    #[error("at offset 0: legacy joblib 'ZF' container (joblib < 0.9.3) is not supported")]
    LegacyJoblib,
    #[error("at offset 0: not a pickle or joblib file (first bytes {0})")]
    Unrecognised(String),
    #[error(
        "{codec} data is corrupt or truncated (read up to compressed offset {consumed}): {source}"
    )]
    Decode {
        codec: Codec,
        consumed: u64,
        /// Bytes the decoder had produced before it failed (a loader has read them).
        decoded: u64,
        #[source]
        source: io::Error,
    },
    #[error(
        "at decompressed offset {limit}: {codec} data decompresses to more than the limit of {limit} bytes (after {consumed} compressed bytes); raise --max-decompressed if this artifact is real"
    )]
    TooLarge {
        codec: Codec,
        limit: u64,
        consumed: u64,
    },
    #[error("cannot write the decompressed data to a temporary file: {0}")]
    Spill(#[source] io::Error),
    #[error("cannot map the file into memory: {0}")]
    Map(#[source] io::Error),
    /// A remote object's bytes could not be fetched (the message names the URL).
    #[error("{0}")]
    Fetch(#[source] io::Error),
}

/// The most bytes a compressed artifact may decompress to (a zip bomb otherwise fills the
/// temporary folder's disk): `--max-decompressed`, 64 GiB unless set.
static MAX_DECOMPRESSED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(64 << 30);

pub fn set_max_decompressed(bytes: u64) {
    MAX_DECOMPRESSED.store(bytes, std::sync::atomic::Ordering::Relaxed);
}

fn max_decompressed() -> u64 {
    MAX_DECOMPRESSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// An opened artifact: its bytes (decoded when compressed), ready for the pickle layer.
/// A member of a zip archive is an artifact too, named `archive!member`.
pub struct Artifact {
    /// The file, or `file!member` for a member of an archive.
    pub path: PathBuf,
    pub container: Container,
    /// Size of the file on disk (of a member: its uncompressed size).
    pub file_size: u64,
    /// (offset, length) of compressed-file bytes after the end of the compressed stream.
    pub compressed_trailing: Option<(u64, u64)>,
    /// The file itself when it is compressed: `pickle.load` reads those bytes too.
    raw: Option<Bytes>,
    /// A `.npy` file's header.
    pub npy: Option<npy::NpyHeader>,
    /// A zip archive's members, checked against each other (empty for other containers).
    pub members: Vec<zip::Member>,
    /// What kind of archive the members make (None for other containers).
    pub archive: Option<zip::ArchiveKind>,
    /// Who reads the pickle.
    pub loader: Loader,
    bytes: Bytes,
    /// Where the pickle starts in the bytes (past a `.npy` header).
    start: usize,
    /// How many zips this artifact lies inside.
    depth: usize,
    /// Decompressed bytes the whole file may still produce (`--max-decompressed`),
    /// shared by every member of an archive.
    budget: Arc<AtomicU64>,
}

impl Artifact {
    /// The bytes that hold the pickle: the file itself, or the decompressed stream. In a
    /// `.npy` file the pickle starts at [`Artifact::pickle_start`], after the header.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Why a remote artifact's bytes could not all be fetched, if they could not: then
    /// whatever was read from them stands on holes and must not be reported as read.
    pub fn fetch_failure(&self) -> Option<ContainerError> {
        [Some(&self.bytes), self.raw.as_ref()]
            .into_iter()
            .flatten()
            .find_map(|b| b.remote()?.failure())
            .map(ContainerError::Fetch)
    }

    /// Where the pickle starts in [`Artifact::bytes`]: 0, or past a `.npy` header.
    pub fn pickle_start(&self) -> usize {
        self.start
    }

    /// Whether the bytes are a pickle the loader runs (not a plain `.npy` array's data
    /// or an archive's directory).
    pub fn holds_pickle(&self) -> bool {
        self.container != Container::Zip && self.npy.as_ref().is_none_or(|h| h.object)
    }

    /// The bytes of a compressed file as they lie on disk (None for a raw pickle, whose
    /// bytes are [`Artifact::bytes`]).
    pub fn raw_bytes(&self) -> Option<&[u8]> {
        self.raw.as_deref()
    }

    /// How a compressed file was encoded, as its header tells (None for a raw pickle).
    pub fn encoding(&self) -> Option<Encoding> {
        let codec = self.container.codec()?;
        Some(Encoding::detect(codec, self.raw.as_deref().unwrap_or(&[])))
    }

    /// Whether a member's first bytes are a container a loader would read at all (a
    /// pickle, a codec, a `.npy`, a zip). Members that are not (text, JSON, a README) are
    /// data, and need not be inflated to say so; a member that cannot be peeked at is
    /// opened in full (its error then stands).
    pub fn member_may_load(&self, member: &zip::Member) -> bool {
        match self.member_head(member, HEAD) {
            Some(head) => detect(&head).is_ok(),
            None => true,
        }
    }

    /// A member's first `n` uncompressed bytes (None if they cannot be read).
    pub fn member_head(&self, member: &zip::Member, n: usize) -> Option<Vec<u8>> {
        // A stored member's head is its first `n` bytes; a deflated one's needs the first
        // compressed bytes, and 64 KiB is more than a deflate stream needs for a few KiB
        // (past it a remote member's hole reads as zeros, a stored block whose length
        // check fails: no head, and the member is then opened in full).
        let start = usize::try_from(member.data_offset).ok()?;
        let want = match member.method {
            zip::Method::Stored => n,
            zip::Method::Deflated | zip::Method::Other(_) => n.max(64 << 10),
        };
        let len = usize::try_from(member.compressed_size).ok()?.min(want);
        self.bytes.fetch(start..start.saturating_add(len)).ok()?;
        zip::head(&self.bytes, member, n)
    }

    /// Opens one member of this archive as an artifact of its own, named
    /// `archive!member`, read by `loader`.
    pub fn open_member(
        &self,
        member: &zip::Member,
        loader: Loader,
    ) -> Result<Artifact, ContainerError> {
        let path = PathBuf::from(format!("{}!{}", self.path.display(), member.name));
        let bytes = self.member_bytes(member)?;
        from_bytes(
            path,
            bytes,
            member.size,
            loader,
            self.depth + 1,
            Arc::clone(&self.budget),
            &mut |_| {},
        )
    }

    /// [`Artifact::member_bytes`], fetched whole when the archive is a remote object's:
    /// for readers that read the member through (a skops schema, a booster blob), not a
    /// lexer that fetches what it reads.
    pub fn member_contents(&self, member: &zip::Member) -> Result<Bytes, ContainerError> {
        let bytes = self.member_bytes(member)?;
        bytes.fetch(0..bytes.len())?;
        Ok(bytes)
    }

    /// A member's uncompressed bytes: a stored member is a range of the archive's bytes;
    /// a deflated one is inflated into a temporary file (within the budget).
    pub fn member_bytes(&self, member: &zip::Member) -> Result<Bytes, ContainerError> {
        let fail = |problem| zip::ZipError {
            member: Some(member.name.clone()),
            offset: member.data_offset,
            problem,
        };
        if self.depth >= zip::MAX_DEPTH {
            return Err(fail(zip::ZipProblem::TooDeep).into());
        }
        Ok(match member.method {
            zip::Method::Stored => self.bytes.slice(member.data_range()).ok_or_else(|| {
                fail(zip::ZipProblem::LocalHeader(
                    "the data lies past the end".into(),
                ))
            })?,
            zip::Method::Deflated => {
                let range = member.data_range();
                self.bytes.fetch(
                    usize::try_from(range.start).unwrap_or(usize::MAX)
                        ..usize::try_from(range.end).unwrap_or(usize::MAX),
                )?;
                let limit = self.budget.load(Ordering::Relaxed);
                let mut spill = tempfile::tempfile().map_err(ContainerError::Spill)?;
                let written = {
                    let mut out = io::BufWriter::with_capacity(1 << 20, &mut spill);
                    zip::inflate(&self.bytes, member, limit, &mut out)?
                };
                self.budget.fetch_sub(written, Ordering::Relaxed);
                map_spill(&spill)?
            }
            zip::Method::Other(_) => {
                return Err(fail(zip::ZipProblem::Method(member.method.name())).into());
            }
        })
    }

    /// Tells the kernel we are done with `[start, end)` of the decoded bytes, so a pass
    /// over a large decoded stream does not keep every page it read mapped in our
    /// memory. The bytes stay readable: a raw pickle's are the file, a compressed one's
    /// live in the spill file, and a later read faults them back in.
    pub fn release(&self, start: usize, end: usize) {
        self.bytes.release(start, end);
    }

    /// [`Artifact::release`] for the compressed file's own bytes (a reading of them as
    /// a pickle); nothing for a raw pickle, which has no such bytes.
    pub fn release_raw(&self, start: usize, end: usize) {
        if let Some(raw) = &self.raw {
            raw.release(start, end);
        }
    }
}

impl Bytes {
    /// Drops the page-table entries behind `[start, end)` of these bytes (see
    /// [`Artifact::release`]).
    fn release(&self, start: usize, end: usize) {
        if end > start && end <= self.len() {
            // SAFETY: every backing is a read-only shared mapping of a file (the artifact,
            // a spill, a remote object's mirror), for which MADV_DONTNEED only drops
            // page-table entries; the data stays in the file.
            let _ = unsafe {
                self.map.map().unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    self.start + start,
                    end - start,
                )
            };
        }
    }
}

/// The system's memory page size (what maps, madvise and /proc page counts use).
pub fn page_size() -> u64 {
    // SAFETY: sysconf reads a constant of the running system.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as u64,
        _ => 4096,
    }
}

/// Extensions that make a file (or an archive member) an artifact even when its first
/// byte could be text: read errors in it stand.
const PICKLE_EXTENSIONS: &[&str] = &["pkl", "pickle", "pck", "pk", "joblib", "sav", "p", "pkl.z"];

/// Whether a file name says the file is a pickle or joblib file.
pub fn named_as_pickle(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    PICKLE_EXTENSIONS
        .iter()
        .any(|e| name.ends_with(&format!(".{e}")))
}

/// How many first bytes [`detect`] looks at (a legacy torch file's magic pickle, in a
/// FRAME, takes 24).
const HEAD: usize = 32;

/// Identifies the container from the first bytes of a file.
pub fn detect(head: &[u8]) -> Result<Container, ContainerError> {
    if head.is_empty() {
        return Err(ContainerError::Empty);
    }
    if let Some(codec) = Codec::detect(head) {
        return Ok(Container::Compressed(codec));
    }
    if zip::is_zip(head) {
        return Ok(Container::Zip);
    }
    // 0x93 is STACK_GLOBAL: a .npy would otherwise pass for a broken pickle. Whether its
    // data is a pickle is the header's to say (see `open`).
    if head.starts_with(npy::MAGIC) {
        return Ok(Container::Npy);
    }
    // 0x89 is NEWFALSE, so these two would otherwise pass for protocol-0 pickles.
    if head.starts_with(b"\x89HDF") {
        return Err(ContainerError::Unrecognised(format!(
            "{}: an HDF5 file (Keras?)",
            hex(head)
        )));
    }
    if head.starts_with(b"\x89PNG") {
        return Err(ContainerError::Unrecognised(format!(
            "{}: a PNG image",
            hex(head)
        )));
    }
    if head.starts_with(b"ZF") {
        return Err(ContainerError::LegacyJoblib);
    }
    if torch_legacy::is_legacy(head) {
        return Ok(Container::TorchLegacy);
    }
    if Opcode::from_byte(head[0]).is_some() {
        return Ok(Container::Pickle);
    }
    Err(ContainerError::Unrecognised(hex(head)))
}

fn hex(head: &[u8]) -> String {
    head.iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Opens an artifact. `progress` is called with the number of input bytes consumed so
/// far while a compressed file is decoded (it is not called for raw pickles).
pub fn open(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<Artifact, ContainerError> {
    if let Some(url) = store::remote_url(path) {
        let mirror = store::open_remote(url).map_err(ContainerError::Open)?;
        let size = mirror.size();
        let bytes = Bytes::mirror(mirror);
        bytes.fetch(0..HEAD)?;
        let budget = Arc::new(AtomicU64::new(max_decompressed()));
        return from_bytes(
            path.to_path_buf(),
            bytes,
            size,
            Loader::Joblib,
            0,
            budget,
            progress,
        );
    }
    let mut file = File::open(path).map_err(ContainerError::Open)?;
    let file_size = file.metadata().map_err(ContainerError::Open)?.len();
    let mut head = [0u8; HEAD];
    let n = read_head(&mut file, &mut head).map_err(ContainerError::Open)?;
    detect(&head[..n])?;
    // SAFETY: the map is read-only. Like every tool that maps files, we assume nobody
    // truncates the artifact while we read it.
    let map = unsafe { Mmap::map(&file) }.map_err(ContainerError::Map)?;
    // The reader jumps over payloads: without this the kernel maps (and counts in our
    // RSS) up to 64 KiB, or a whole large folio, around every page we touch: measured
    // 59-451 MiB for a 477 MB forest, 30 MiB with it, no slower.
    let _ = map.advise(memmap2::Advice::Random);
    let budget = Arc::new(AtomicU64::new(max_decompressed()));
    from_bytes(
        path.to_path_buf(),
        Bytes::whole(map),
        file_size,
        Loader::Joblib,
        0,
        budget,
        progress,
    )
}

/// Recognises the container in `bytes` (a file, or a member of an archive) and opens it.
fn from_bytes(
    path: PathBuf,
    bytes: Bytes,
    file_size: u64,
    loader: Loader,
    depth: usize,
    budget: Arc<AtomicU64>,
    progress: &mut dyn FnMut(u64),
) -> Result<Artifact, ContainerError> {
    bytes.fetch(0..HEAD)?;
    let container = detect(&bytes[..bytes.len().min(HEAD)])?;
    let mut artifact = Artifact {
        path,
        container,
        file_size,
        compressed_trailing: None,
        raw: None,
        npy: None,
        members: Vec::new(),
        archive: None,
        loader,
        bytes: bytes.clone(),
        start: 0,
        depth,
        budget,
    };
    match container {
        Container::Pickle => {}
        Container::TorchLegacy => artifact.loader = Loader::Torch,
        Container::Npy => {
            // read_header reads no further than its bound on header lengths.
            bytes.fetch(0..npy::MAX_HEADER + 16)?;
            let header = npy::read_header(&bytes)?;
            // Checked by read_header: the header lies inside the bytes.
            artifact.start = usize::try_from(header.data_offset).unwrap_or(bytes.len());
            artifact.npy = Some(header);
            artifact.loader = Loader::Numpy;
        }
        Container::Zip => {
            fetch_zip_records(&bytes)?;
            let members = zip::read_directory(&bytes)?;
            artifact.archive = Some(zip::ArchiveKind::detect(&members));
            artifact.members = members;
        }
        Container::Compressed(codec) => {
            let limit = artifact.budget.load(Ordering::Relaxed);
            // A remote object is decoded as its one GET arrives (and kept in the mirror:
            // `pickle.load` of the raw bytes reads them too).
            let (decoded, consumed) = match bytes.remote() {
                Some(mirror) => {
                    let counting = Counting {
                        inner: mirror.reader(),
                        consumed: 0,
                        progress,
                    };
                    decode_to_map(
                        codec,
                        &mut io::BufReader::with_capacity(1 << 16, counting),
                        limit,
                    )?
                }
                None => {
                    let mut input = MappedInput {
                        bytes: &bytes,
                        pos: 0,
                        released: 0,
                        progress,
                    };
                    decode_to_map(codec, &mut input, limit)?
                }
            };
            artifact
                .budget
                .fetch_sub(decoded.len() as u64, Ordering::Relaxed);
            if consumed < bytes.len() as u64 {
                artifact.compressed_trailing = Some((consumed, bytes.len() as u64 - consumed));
            }
            artifact.raw = Some(bytes);
            artifact.bytes = decoded;
        }
    }
    Ok(artifact)
}

/// Fetches the records [`zip::read_directory`] reads, when the archive is a remote
/// object's: the end records, the central directory, then every member's local header
/// and data descriptor, coalesced. What cannot be parsed here is left for
/// `read_directory` to report.
fn fetch_zip_records(bytes: &Bytes) -> Result<(), ContainerError> {
    let Some(mirror) = bytes.remote() else {
        return Ok(());
    };
    let base = bytes.start as u64;
    let len = bytes.len();
    // The end of central directory record (22 bytes and a comment of up to 64 KiB) and
    // the ZIP64 locator and record before it.
    bytes.fetch(len.saturating_sub(22 + 65_535 + 20 + 56)..len)?;
    let Ok(archive) = rawzip::ZipArchive::from_slice(&bytes[..]) else {
        return Ok(());
    };
    let directory = usize::try_from(archive.directory_offset()).unwrap_or(len);
    bytes.fetch(directory..len)?;
    let mut members = Vec::new();
    let mut entries = archive.entries();
    while let Ok(Some(record)) = entries.next_entry() {
        if members.len() == zip::MAX_MEMBERS {
            break;
        }
        members.push((record.local_header_offset(), record.compressed_size_hint()));
    }
    let fetch_all = |ranges: Vec<std::ops::Range<u64>>| {
        mirror.ensure_many(&ranges).map_err(ContainerError::Fetch)
    };
    // A local header's fixed part says how long its name and extra field are.
    fetch_all(
        members
            .iter()
            .map(|&(at, _)| base + at..base + at + 30)
            .collect(),
    )?;
    let u16_at = |at: u64| -> u64 {
        usize::try_from(at)
            .ok()
            .and_then(|i| bytes.get(i..i + 2))
            .map_or(0, |b| u64::from(u16::from_le_bytes([b[0], b[1]])))
    };
    fetch_all(
        members
            .iter()
            .flat_map(|&(at, compressed)| {
                let data = at + 30 + u16_at(at + 26) + u16_at(at + 28);
                let end = data.saturating_add(compressed);
                // The header's name and extra field; a data descriptor after the data.
                [
                    base + at..base + data,
                    base + end..base + end.saturating_add(24),
                ]
            })
            .collect(),
    )
}

fn read_head(file: &mut File, head: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// A decoder's input when it is mapped: the decoders read straight from the map (a
/// `BufReader` would copy every compressed byte once more), the pages behind are
/// released every [`RELEASE_STEP`] (a decoder reads its input once; without this the
/// whole compressed file stays mapped in our memory to the end: measured 84 of a 92 MB
/// zlib file's MiB), and `progress` hears how far it has got.
struct MappedInput<'b, 'p> {
    bytes: &'b Bytes,
    pos: usize,
    released: usize,
    progress: &'p mut dyn FnMut(u64),
}

/// How far a [`MappedInput`] reads before it releases what it has read.
const RELEASE_STEP: usize = 8 << 20;

impl io::Read for MappedInput<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = io::BufRead::fill_buf(self)?;
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl io::BufRead for MappedInput<'_, '_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Ok(self.bytes.get(self.pos..).unwrap_or_default())
    }

    fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.bytes.len());
        (self.progress)(self.pos as u64);
        if self.pos - self.released >= RELEASE_STEP {
            self.bytes.release(self.released, self.pos);
            self.released = self.pos;
        }
    }
}

/// A decoder's input, and how many of its bytes the decoder has used.
trait DecoderInput: io::BufRead {
    fn used(&self) -> u64;
}

impl DecoderInput for MappedInput<'_, '_> {
    fn used(&self) -> u64 {
        self.pos as u64
    }
}

impl<R: Read> DecoderInput for io::BufReader<Counting<'_, R>> {
    fn used(&self) -> u64 {
        self.get_ref().consumed - self.buffer().len() as u64
    }
}

/// Counts compressed bytes as the decoder pulls them, for the progress bar and errors.
struct Counting<'p, R> {
    inner: R,
    consumed: u64,
    progress: &'p mut dyn FnMut(u64),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        (self.progress)(self.consumed);
        Ok(n)
    }
}

/// Decodes into an anonymous temporary file and maps it; also returns how many
/// compressed bytes the decoder used (the rest of the file follows the stream).
fn decode_to_map(
    codec: Codec,
    input: &mut dyn DecoderInput,
    limit: u64,
) -> Result<(Bytes, u64), ContainerError> {
    let spill = tempfile::tempfile().map_err(ContainerError::Spill)?;
    let mut decoded = 0;
    let result = codec::decoder(codec, &mut *input)
        .and_then(|mut decoder| decode_into(&mut decoder, &spill, limit, &mut decoded));
    let used = input.used();
    match result {
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
            return Err(ContainerError::TooLarge {
                codec,
                limit,
                consumed: used,
            });
        }
        Err(source) => {
            return Err(ContainerError::Decode {
                codec,
                consumed: used,
                decoded,
                source,
            });
        }
        Ok(()) => {}
    }
    if decoded == 0 {
        return Err(ContainerError::Decode {
            codec,
            consumed: used,
            decoded: 0,
            source: io::Error::new(io::ErrorKind::UnexpectedEof, "no data after decompression"),
        });
    }
    Ok((map_spill(&spill)?, used))
}

/// Decoded bytes go to the writing thread in chunks this large: liblz4 decodes its
/// 64 KiB and 1 MiB blocks straight into them (a smaller buffer costs it a copy).
const CHUNK: usize = 1 << 20;
/// Chunks decoded and not yet written, at most: a few MiB whatever the file's size.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Decodes on this thread and writes the spill on another, so that the kernel's copy
/// into the page cache overlaps the decoding: for lz4 the two cost about the same
/// (measured on 456 MiB: 0.31 s in one thread, 0.25 s in two; `lz4 -dc` 0.20 s; 4 MiB
/// chunks measured no faster). Counts into `decoded` and stops past `limit` with
/// `FileTooLarge`.
fn decode_into(
    decoder: &mut dyn Read,
    spill: &File,
    limit: u64,
    decoded: &mut u64,
) -> io::Result<()> {
    std::thread::scope(|scope| {
        let (full, to_write) =
            std::sync::mpsc::sync_channel::<(Box<[u8]>, usize)>(CHUNKS_IN_FLIGHT);
        let (written, free) = std::sync::mpsc::channel::<Box<[u8]>>();
        let writer = std::thread::Builder::new()
            .name("spill writer".into())
            .spawn_scoped(scope, move || -> io::Result<()> {
                let mut out = spill;
                for (chunk, len) in to_write {
                    write_spill(&mut out, &chunk[..len])?;
                    // The decoding side may have finished; a chunk nobody takes is freed.
                    let _ = written.send(chunk);
                }
                Ok(())
            });
        let Ok(writer) = writer else {
            // No thread to be had (a process at its limit): write in this one.
            let mut out = spill;
            return fill_chunks(
                decoder,
                limit,
                decoded,
                || None,
                |chunk, len| write_spill(&mut out, &chunk[..len]),
            );
        };
        let decoding = fill_chunks(
            decoder,
            limit,
            decoded,
            || free.try_recv().ok(),
            |chunk, len| {
                full.send((chunk, len))
                    .map_err(|_| io::Error::other("the spill writer stopped"))
            },
        );
        drop(full);
        let writing = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the spill writer panicked")));
        // A write error is the cause of a send that failed; otherwise the decoder's.
        writing.and(decoding)
    })
}

/// The spill is written in pieces this large: the page cache then holds it in folios no
/// larger, and a later read maps one of them, not the megabyte folio a 1 MiB write
/// makes (ext4 here; measured on a 456 MiB forest: 318 MiB of the spill mapped after
/// the parse with 1 MiB writes, 39 MiB with 64 KiB ones; the same wall time, the
/// writing thread's system time 143 -> 160 ms).
const SPILL_WRITE: usize = 64 << 10;

fn write_spill(out: &mut &File, bytes: &[u8]) -> io::Result<()> {
    bytes
        .chunks(SPILL_WRITE)
        .try_for_each(|piece| out.write_all(piece))
}

/// Reads `decoder` to its end in chunks, each handed to `emit` full (the last one as
/// far as it goes).
fn fill_chunks(
    decoder: &mut dyn Read,
    limit: u64,
    decoded: &mut u64,
    mut reuse: impl FnMut() -> Option<Box<[u8]>>,
    mut emit: impl FnMut(Box<[u8]>, usize) -> io::Result<()>,
) -> io::Result<()> {
    let mut spare: Option<Box<[u8]>> = None;
    loop {
        let mut chunk = spare
            .take()
            .or_else(&mut reuse)
            .unwrap_or_else(|| vec![0; CHUNK].into_boxed_slice());
        let mut len = 0;
        while len < CHUNK {
            let n = match decoder.read(&mut chunk[len..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            if *decoded + n as u64 > limit {
                return Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    "over the decompression limit",
                ));
            }
            *decoded += n as u64;
            len += n;
        }
        if len == 0 {
            return Ok(());
        }
        let last = len < CHUNK;
        emit(chunk, len)?;
        if last {
            return Ok(());
        }
    }
}

/// Maps a temporary file of decoded bytes.
fn map_spill(spill: &File) -> Result<Bytes, ContainerError> {
    if spill.metadata().map_err(ContainerError::Spill)?.len() == 0 {
        return Ok(Bytes::whole(
            memmap2::MmapOptions::new()
                .len(0)
                .map_anon()
                .map_err(ContainerError::Map)?
                .make_read_only()
                .map_err(ContainerError::Map)?,
        ));
    }
    // SAFETY: the temporary file is ours alone and already deleted from the folder.
    let map = unsafe { Mmap::map(spill) }.map_err(ContainerError::Map)?;
    // As for a raw pickle: the parse jumps, and fault-around would map the pages between.
    let _ = map.advise(memmap2::Advice::Random);
    Ok(Bytes::whole(map))
}

/// Resident KiB of the mapping that holds `at`, from /proc/self/smaps.
/// One lz4 frame of `data`, for tests outside the container layer.
#[cfg(test)]
pub(crate) fn lz4_frame(data: &[u8]) -> Vec<u8> {
    codec::tests::frame(data)
}

#[cfg(test)]
pub(crate) fn resident_kib(at: *const u8) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let at = at as usize;
    let mut inside = false;
    for line in smaps.lines() {
        let range = line.split_whitespace().next().unwrap_or("");
        if let Some((start, end)) = range.split_once('-')
            && let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            )
        {
            inside = start <= at && at < end;
        } else if inside && let Some(kib) = line.strip_prefix("Rss:") {
            return kib.trim().trim_end_matches(" kB").trim().parse().unwrap();
        }
    }
    panic!("no mapping holds {at:#x}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic_not_name() {
        assert_eq!(detect(b"\x80\x05\x95").unwrap(), Container::Pickle);
        assert_eq!(detect(b"(lp0\n").unwrap(), Container::Pickle);
        // protocol 1 list: EMPTY_LIST BINPUT 0; not lzma-alone (whose second byte is 0).
        assert_eq!(detect(b"]q\x00(").unwrap(), Container::Pickle);
        assert_eq!(
            detect(b"\x78\x9c").unwrap(),
            Container::Compressed(Codec::Zlib)
        );
        assert_eq!(
            detect(b"\x1f\x8b\x08").unwrap(),
            Container::Compressed(Codec::Gzip)
        );
        assert_eq!(detect(b"BZh9").unwrap(), Container::Compressed(Codec::Bz2));
        assert_eq!(
            detect(b"\xfd7zXZ\x00").unwrap(),
            Container::Compressed(Codec::Xz)
        );
        assert_eq!(
            detect(b"\x5d\x00\x00\x80\x00").unwrap(),
            Container::Compressed(Codec::LzmaAlone)
        );
        assert_eq!(
            detect(b"\x04\x22\x4d\x18").unwrap(),
            Container::Compressed(Codec::Lz4)
        );
    }

    #[test]
    fn the_compressed_input_is_not_kept_mapped_behind_the_decoder() {
        // 40 MiB of bytes lz4 cannot shrink, in one BINBYTES8: the compressed file is
        // as large, and the decoder reads all of it through the map.
        let len = 40usize << 20;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut pickle = b"\x80\x04\x8e".to_vec();
        pickle.extend((len as u64).to_le_bytes());
        pickle.extend((0..len / 8).flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()
        }));
        pickle.push(b'.');
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.joblib");
        std::fs::write(&path, lz4_frame(&pickle)).unwrap();

        let artifact = open(&path, &mut |_| {}).unwrap();
        assert_eq!(artifact.bytes(), &pickle[..]);
        let raw = artifact.raw_bytes().unwrap();
        assert!(raw.len() > 40 << 20);
        // Released every RELEASE_STEP (8 MiB): at most the last step's pages remain.
        let resident = resident_kib(raw.as_ptr());
        assert!(
            resident <= 12 << 10,
            "{resident} KiB of the input still mapped"
        );
    }

    #[test]
    fn rejects_other_formats() {
        assert!(matches!(detect(b""), Err(ContainerError::Empty)));
        assert_eq!(detect(b"PK\x03\x04").unwrap(), Container::Zip);
        assert!(matches!(
            detect(b"\x00\x01"),
            Err(ContainerError::Unrecognised(_))
        ));
        assert!(matches!(
            detect(b"{\"a\": 1}"),
            Err(ContainerError::Unrecognised(_))
        ));
    }
}
