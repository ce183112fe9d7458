//! Zip archives: PyTorch checkpoints, `.npz`, skops files, and zips of artifacts.
//!
//! The central directory is read with rawzip straight from the map (zero-copy), and every
//! member is held to what the loaders would need to agree on: its local header says the
//! same as the directory, no two members share bytes, no member runs into the directory,
//! and no name appears twice (Python's `zipfile` takes the last, miniz the first). A
//! member that breaks any of these is an error naming the member and its offset: the
//! gate cannot tell which bytes a loader would read.
//!
//! Nothing here reads a member's data except [`inflate`]: a stored 2 GB tensor storage is
//! a range in the map that nobody touches.

use std::collections::HashMap;
use std::io::{self, Read, Write};

/// The most members an archive may list: each costs us about a hundred bytes, and a
/// checkpoint with one storage per tensor rarely has more than a few thousand.
pub const MAX_MEMBERS: usize = 100_000;

/// How deep zips may nest in zips (a zip quine would otherwise recurse forever).
pub const MAX_DEPTH: usize = 4;

/// How a member is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Stored,
    Deflated,
    /// Any other method: we cannot read it, so the gate fails closed on it.
    Other(u16),
}

impl Method {
    pub fn name(self) -> String {
        match self {
            Method::Stored => "stored".into(),
            Method::Deflated => "deflated".into(),
            Method::Other(code) => format!("method {code}"),
        }
    }
}

/// One entry of the central directory, checked against its local header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The name as stored (lossy UTF-8; zip names are bytes).
    pub name: String,
    pub method: Method,
    /// Where the local header starts.
    pub header_offset: u64,
    /// Where the member's (compressed) data starts.
    pub data_offset: u64,
    pub compressed_size: u64,
    /// The uncompressed size the directory declares ([`inflate`] holds it to it).
    pub size: u64,
    pub crc32: u32,
    pub is_dir: bool,
}

impl Member {
    /// The byte range of the member's data in the archive.
    pub fn data_range(&self) -> std::ops::Range<u64> {
        self.data_offset..self.data_offset + self.compressed_size
    }
}

/// Why an archive (or one of its members) cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("at offset {offset}{}: {problem}", member.as_ref().map(|m| format!(" (zip member '{m}')")).unwrap_or_default())]
pub struct ZipError {
    pub member: Option<String>,
    pub offset: u64,
    pub problem: ZipProblem,
}

#[derive(Debug, thiserror::Error)]
pub enum ZipProblem {
    #[error("the zip central directory cannot be read: {0}")]
    Directory(String),
    #[error("the archive lists more than {limit} members")]
    TooManyMembers { limit: usize },
    #[error("the member's local header cannot be read: {0}")]
    LocalHeader(String),
    #[error(
        "the local header says {field} is {local}, the central directory says {directory}: loaders that read one or the other see different files"
    )]
    Mismatch {
        field: &'static str,
        directory: String,
        local: String,
    },
    #[error("the member's bytes overlap those of '{other}' (a zip bomb's trick)")]
    Overlap { other: String },
    #[error("the member's bytes run into the central directory at offset {directory}")]
    IntoDirectory { directory: u64 },
    #[error(
        "the name appears twice in the archive: Python's zipfile reads the last, other readers the first"
    )]
    Duplicate,
    #[error("the member is encrypted: its bytes cannot be checked")]
    Encrypted,
    #[error("a stored member whose compressed size ({compressed}) is not its size ({size})")]
    StoredSize { compressed: u64, size: u64 },
    #[error("the member is compressed with {0}, which this tool cannot read")]
    Method(String),
    #[error(
        "the member inflates to more than the {declared} bytes the directory declares (a lying size)"
    )]
    Longer { declared: u64 },
    #[error("the member inflates to {actual} bytes, the directory declares {declared}")]
    Shorter { declared: u64, actual: u64 },
    #[error("the member's CRC-32 is {actual:08x}, the directory declares {declared:08x}")]
    Crc { declared: u32, actual: u32 },
    #[error("the member's deflate data is corrupt: {0}")]
    Inflate(String),
    #[error(
        "the archive decompresses to more than the limit of {limit} bytes; raise --max-decompressed if this artifact is real"
    )]
    TooLarge { limit: u64 },
    #[error("zips nest more than {MAX_DEPTH} deep")]
    TooDeep,
    #[error("cannot write the inflated member to a temporary file: {0}")]
    Spill(String),
}

impl ZipError {
    fn at(offset: u64, member: Option<&str>, problem: ZipProblem) -> Self {
        ZipError {
            member: member.map(str::to_string),
            offset,
            problem,
        }
    }
}

/// Whether the bytes are a zip archive as loaders recognise one: torch and numpy look
/// at the first four bytes, as do we (Python's zipfile also finds archives by their end,
/// but a file that starts as a pickle is read as one).
pub fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

/// Reads the central directory and checks every member against its local header and
/// against the others.
pub fn read_directory(bytes: &[u8]) -> Result<Vec<Member>, ZipError> {
    read_directory_within(bytes, MAX_MEMBERS)
}

fn read_directory_within(bytes: &[u8], limit: usize) -> Result<Vec<Member>, ZipError> {
    let archive = rawzip::ZipArchive::from_slice(bytes)
        .map_err(|e| ZipError::at(0, None, ZipProblem::Directory(e.to_string())))?;
    let directory = archive.directory_offset();
    let mut members = Vec::new();
    let mut entries = archive.entries();
    loop {
        let record = match entries.next_entry() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(e) => {
                return Err(ZipError::at(
                    directory,
                    members.last().map(|m: &Member| m.name.as_str()),
                    ZipProblem::Directory(e.to_string()),
                ));
            }
        };
        if members.len() == limit {
            return Err(ZipError::at(
                directory,
                None,
                ZipProblem::TooManyMembers { limit },
            ));
        }
        let raw_name = record.file_path();
        let name = String::from_utf8_lossy(raw_name.as_ref()).into_owned();
        let at = |problem| ZipError::at(record.local_header_offset(), Some(&name), problem);
        if record.flags().is_encrypted() {
            return Err(at(ZipProblem::Encrypted));
        }
        let method = match record.compression_method().as_u16() {
            0 => Method::Stored,
            8 => Method::Deflated,
            other => Method::Other(other),
        };
        let entry = archive
            .get_entry(record.wayfinder())
            .map_err(|e| at(ZipProblem::LocalHeader(e.to_string())))?;
        let local = entry.local_header();
        let mismatch = |field, directory: String, local: String| {
            at(ZipProblem::Mismatch {
                field,
                directory,
                local,
            })
        };
        if local.file_path().as_ref() != raw_name.as_ref() {
            return Err(mismatch(
                "the name",
                format!("'{name}'"),
                format!("'{}'", String::from_utf8_lossy(local.file_path().as_ref())),
            ));
        }
        if local.compression_method() != record.compression_method() {
            return Err(mismatch(
                "the compression method",
                record.compression_method().as_u16().to_string(),
                local.compression_method().as_u16().to_string(),
            ));
        }
        if local.flags().is_encrypted() {
            return Err(at(ZipProblem::Encrypted));
        }
        // With a data descriptor the local header leaves these zero; the descriptor after
        // the data carries them instead.
        let (local_crc, local_compressed, local_size) = match entry.data_descriptor() {
            Ok(Some(d)) => (d.crc32(), d.compressed_size(), d.uncompressed_size()),
            Ok(None) => (
                local.crc32(),
                local.compressed_size_hint(),
                local.uncompressed_size_hint(),
            ),
            Err(e) => return Err(at(ZipProblem::LocalHeader(e.to_string()))),
        };
        let crc = record.crc32();
        let compressed = record.compressed_size_hint();
        let size = record.uncompressed_size_hint();
        if local_crc != crc {
            return Err(mismatch(
                "the CRC-32",
                format!("{crc:08x}"),
                format!("{local_crc:08x}"),
            ));
        }
        if local_compressed != compressed {
            return Err(mismatch(
                "the compressed size",
                compressed.to_string(),
                local_compressed.to_string(),
            ));
        }
        if local_size != size {
            return Err(mismatch(
                "the size",
                size.to_string(),
                local_size.to_string(),
            ));
        }
        if method == Method::Stored && compressed != size {
            return Err(at(ZipProblem::StoredSize { compressed, size }));
        }
        let (data_offset, _) = entry.compressed_data_range();
        members.push(Member {
            name,
            method,
            header_offset: record.local_header_offset(),
            data_offset,
            compressed_size: compressed,
            size,
            crc32: crc,
            is_dir: record.is_dir(),
        });
    }
    check_layout(&members, directory)?;
    Ok(members)
}

/// No two members share bytes, none runs into the directory, no name appears twice.
fn check_layout(members: &[Member], directory: u64) -> Result<(), ZipError> {
    let mut order: Vec<&Member> = members.iter().collect();
    order.sort_by_key(|m| m.header_offset);
    for pair in order.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b.header_offset < a.data_range().end {
            return Err(ZipError::at(
                b.header_offset,
                Some(&b.name),
                ZipProblem::Overlap {
                    other: a.name.clone(),
                },
            ));
        }
    }
    if let Some(last) = order.last()
        && last.data_range().end > directory
    {
        return Err(ZipError::at(
            last.header_offset,
            Some(&last.name),
            ZipProblem::IntoDirectory { directory },
        ));
    }
    let mut names: Vec<&Member> = members.iter().collect();
    names.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(a.header_offset.cmp(&b.header_offset))
    });
    for pair in names.windows(2) {
        if pair[0].name == pair[1].name {
            return Err(ZipError::at(
                pair[1].header_offset,
                Some(&pair[1].name),
                ZipProblem::Duplicate,
            ));
        }
    }
    Ok(())
}

/// Inflates a deflated member into `out`, holding it to the size and CRC-32 the directory
/// declares and to `limit` bytes; returns the bytes written. A stored member's bytes are
/// read in place instead (see [`Member::data_range`]).
pub fn inflate(
    archive: &[u8],
    member: &Member,
    limit: u64,
    out: &mut dyn Write,
) -> Result<u64, ZipError> {
    let fail = |problem| ZipError::at(member.data_offset, Some(&member.name), problem);
    if member.method != Method::Deflated {
        return Err(fail(ZipProblem::Method(member.method.name())));
    }
    let range = member.data_range();
    let compressed = usize::try_from(range.start)
        .ok()
        .zip(usize::try_from(range.end).ok())
        .and_then(|(start, end)| archive.get(start..end))
        .ok_or_else(|| fail(ZipProblem::LocalHeader("the data lies past the end".into())))?;
    let mut decoder = flate2::read::DeflateDecoder::new(compressed);
    let mut crc = rawzip::Crc32::new();
    let mut written = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(ZipProblem::Inflate(e.to_string()))),
        };
        written += n as u64;
        if written > member.size {
            return Err(fail(ZipProblem::Longer {
                declared: member.size,
            }));
        }
        if written > limit {
            return Err(fail(ZipProblem::TooLarge { limit }));
        }
        crc.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| fail(ZipProblem::Spill(e.to_string())))?;
    }
    if written != member.size {
        return Err(fail(ZipProblem::Shorter {
            declared: member.size,
            actual: written,
        }));
    }
    if crc.checksum() != member.crc32 {
        return Err(fail(ZipProblem::Crc {
            declared: member.crc32,
            actual: crc.checksum(),
        }));
    }
    out.flush()
        .map_err(|e| fail(ZipProblem::Spill(e.to_string())))?;
    Ok(written)
}

/// The first `n` bytes of a member, as its loader would see them (inflated when deflated),
/// without reading the rest: enough to tell a pickle from a text file. None when they
/// cannot be read (then the member is opened in full, and its error stands).
pub fn head(archive: &[u8], member: &Member, n: usize) -> Option<Vec<u8>> {
    let range = member.data_range();
    let data = archive.get(usize::try_from(range.start).ok()?..usize::try_from(range.end).ok()?)?;
    match member.method {
        Method::Stored => Some(data[..data.len().min(n)].to_vec()),
        Method::Deflated => {
            let mut out = Vec::with_capacity(n);
            flate2::read::DeflateDecoder::new(data)
                .take(n as u64)
                .read_to_end(&mut out)
                .ok()?;
            Some(out)
        }
        Method::Other(_) => None,
    }
}

/// What kind of archive the members make, by the layout the writers use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchiveKind {
    /// `torch.save`: `<prefix>/data.pkl`, storages in `<prefix>/data/<key>`.
    PyTorch { prefix: String },
    /// `numpy.savez`: every member a `.npy`.
    Npz,
    /// `skops.io.dump`: `schema.json` at the top, arrays as `.npy` members.
    Skops,
    /// Any other zip.
    Zip,
}

impl ArchiveKind {
    pub fn detect(members: &[Member]) -> ArchiveKind {
        let files: Vec<&Member> = members.iter().filter(|m| !m.is_dir).collect();
        if let Some(pkl) = files.iter().find(|m| m.name.ends_with("/data.pkl")) {
            let prefix = pkl.name.trim_end_matches("data.pkl").to_string();
            return ArchiveKind::PyTorch { prefix };
        }
        if files.iter().any(|m| m.name == "schema.json") {
            return ArchiveKind::Skops;
        }
        if !files.is_empty() && files.iter().all(|m| m.name.ends_with(".npy")) {
            return ArchiveKind::Npz;
        }
        ArchiveKind::Zip
    }

    pub fn name(&self) -> &'static str {
        match self {
            ArchiveKind::PyTorch { .. } => "pytorch",
            ArchiveKind::Npz => "npz",
            ArchiveKind::Skops => "skops",
            ArchiveKind::Zip => "zip",
        }
    }

    /// What a member is in this kind of archive, by its name alone.
    pub fn role(&self, member: &Member) -> Role {
        if member.is_dir {
            return Role::Directory;
        }
        match self {
            ArchiveKind::PyTorch { prefix } => {
                let rest = member.name.strip_prefix(prefix.as_str());
                match rest {
                    Some(key) if key.starts_with("data/") && !key[5..].contains('/') => {
                        Role::Storage
                    }
                    Some(_) if member.name.ends_with(".pkl") => Role::Pickle,
                    _ => Role::Unknown,
                }
            }
            ArchiveKind::Skops if member.name == "schema.json" => Role::Schema,
            _ if member.name.ends_with(".npy") => Role::Npy,
            _ if super::named_as_pickle(&member.name) => Role::Pickle,
            _ => Role::Unknown,
        }
    }
}

/// What a member holds, as far as its name and archive tell before it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Directory,
    /// A tensor storage's raw bytes: sized, never read.
    Storage,
    /// A pickle the archive's loader reads (`data.pkl`).
    Pickle,
    /// A `.npy` file.
    Npy,
    /// skops's `schema.json`.
    Schema,
    /// Anything else: read by its content.
    Unknown,
}

/// One piece of a rewritten archive: bytes of the original, or new bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum ZipPiece {
    Copy(u64, u64),
    Bytes(Vec<u8>),
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Where the end-of-central-directory record starts.
fn end_record(archive: &[u8]) -> Option<usize> {
    let last = archive.len().checked_sub(22)?;
    (last.saturating_sub(0xFFFF)..=last).rev().find(|&i| {
        archive[i..].starts_with(b"PK\x05\x06")
            && le16(archive, i + 20).is_some_and(|c| i + 22 + c as usize == archive.len())
    })
}

/// The pieces of `archive` with the data of the `replaced` members changed, each
/// compressed with its own method again (stored stays stored, deflated is deflated).
/// Everything else is copied as it lies: every other member's local header, data and
/// data descriptor, the bytes between members, the directory records (their offsets
/// moved by the change in size), the archive comment. A replaced member's local
/// header keeps its fields but for the CRC and sizes, which it now carries itself
/// (no data descriptor). ZIP64 archives are refused: their sizes live in extra
/// fields this writer does not rewrite.
pub fn rewrite(
    archive: &[u8],
    members: &[Member],
    replaced: &[(String, Vec<u8>)],
) -> Result<Vec<ZipPiece>, ZipError> {
    let zip64 = |offset: u64| {
        ZipError::at(
            offset,
            None,
            ZipProblem::Directory("a ZIP64 archive: rewriting one is not supported yet".into()),
        )
    };
    let broken = |offset: u64, what: &str| {
        ZipError::at(offset, None, ZipProblem::Directory(what.to_string()))
    };
    let eocd = end_record(archive).ok_or_else(|| broken(0, "no end of central directory"))?;
    if eocd >= 20 && archive[eocd - 20..].starts_with(b"PK\x06\x07") {
        return Err(zip64(eocd as u64 - 20));
    }
    let entries = le16(archive, eocd + 10).unwrap_or(0);
    let cd_size = le32(archive, eocd + 12).unwrap_or(0);
    let cd_offset = le32(archive, eocd + 16).unwrap_or(0);
    if entries == 0xFFFF || cd_size == u32::MAX || cd_offset == u32::MAX {
        return Err(zip64(eocd as u64));
    }
    let (cd_offset, cd_end) = (cd_offset as usize, cd_offset as usize + cd_size as usize);
    if cd_end > eocd {
        return Err(broken(
            cd_offset as u64,
            "the directory runs past its end record",
        ));
    }

    let mut order: Vec<&Member> = members.iter().collect();
    order.sort_by_key(|m| m.header_offset);
    let mut pieces = Vec::new();
    // Old local header offset to new, and the new CRC and sizes of replaced members.
    let mut moved: HashMap<u64, u64> = HashMap::new();
    let mut rewritten: HashMap<u64, (u32, u64, u64)> = HashMap::new();
    let mut at = 0u64; // in the original
    let mut written = 0u64; // in the output
    for (i, m) in order.iter().enumerate() {
        let extent_end = order
            .get(i + 1)
            .map_or(cd_offset as u64, |next| next.header_offset);
        if m.header_offset > at {
            pieces.push(ZipPiece::Copy(at, m.header_offset));
            written += m.header_offset - at;
        }
        moved.insert(m.header_offset, written);
        let new = replaced.iter().find(|(name, _)| *name == m.name);
        match new {
            None => {
                pieces.push(ZipPiece::Copy(m.header_offset, extent_end));
                written += extent_end - m.header_offset;
            }
            Some((_, data)) => {
                let fail = |problem| ZipError::at(m.header_offset, Some(&m.name), problem);
                let compressed = match m.method {
                    Method::Stored => data.clone(),
                    Method::Deflated => {
                        let mut enc = flate2::write::DeflateEncoder::new(
                            Vec::new(),
                            flate2::Compression::default(),
                        );
                        enc.write_all(data)
                            .and_then(|_| enc.finish())
                            .map_err(|e| fail(ZipProblem::Spill(e.to_string())))?
                    }
                    Method::Other(_) => return Err(fail(ZipProblem::Method(m.method.name()))),
                };
                let (csize, size) = (compressed.len() as u64, data.len() as u64);
                if csize >= u32::MAX as u64 || size >= u32::MAX as u64 {
                    return Err(zip64(m.header_offset));
                }
                let start = m.header_offset as usize;
                let mut header = archive
                    .get(start..m.data_offset as usize)
                    .ok_or_else(|| broken(m.header_offset, "a local header past the end"))?
                    .to_vec();
                if header.len() < 30
                    || le32(&header, 18) == Some(u32::MAX)
                    || le32(&header, 22) == Some(u32::MAX)
                {
                    return Err(zip64(m.header_offset));
                }
                let crc = {
                    let mut h = flate2::Crc::new();
                    h.update(data);
                    h.sum()
                };
                let flags = le16(&header, 6).unwrap_or(0) & !0x0008;
                header[6..8].copy_from_slice(&flags.to_le_bytes());
                header[14..18].copy_from_slice(&crc.to_le_bytes());
                header[18..22].copy_from_slice(&(csize as u32).to_le_bytes());
                header[22..26].copy_from_slice(&(size as u32).to_le_bytes());
                written += header.len() as u64 + csize;
                pieces.push(ZipPiece::Bytes(header));
                pieces.push(ZipPiece::Bytes(compressed));
                rewritten.insert(m.header_offset, (crc, csize, size));
            }
        }
        at = extent_end;
    }
    if (cd_offset as u64) > at {
        pieces.push(ZipPiece::Copy(at, cd_offset as u64));
        written += cd_offset as u64 - at;
    }
    let new_cd_offset = written;
    if new_cd_offset >= u32::MAX as u64 {
        return Err(zip64(cd_offset as u64));
    }
    let mut directory = Vec::with_capacity(cd_size as usize);
    let mut p = cd_offset;
    for _ in 0..entries {
        if !archive
            .get(p..)
            .is_some_and(|r| r.starts_with(b"PK\x01\x02"))
        {
            return Err(broken(p as u64, "a directory record without its signature"));
        }
        let (n, m, k) = (
            le16(archive, p + 28).unwrap_or(0) as usize,
            le16(archive, p + 30).unwrap_or(0) as usize,
            le16(archive, p + 32).unwrap_or(0) as usize,
        );
        let mut record = archive
            .get(p..p + 46 + n + m + k)
            .ok_or_else(|| broken(p as u64, "a directory record past the end"))?
            .to_vec();
        let local = le32(&record, 42).unwrap_or(0);
        if local == u32::MAX {
            return Err(zip64(p as u64));
        }
        let new_local = moved.get(&(local as u64)).copied().unwrap_or(local as u64);
        record[42..46].copy_from_slice(&(new_local as u32).to_le_bytes());
        if let Some(&(crc, csize, size)) = rewritten.get(&(local as u64)) {
            let flags = le16(&record, 8).unwrap_or(0) & !0x0008;
            record[8..10].copy_from_slice(&flags.to_le_bytes());
            record[16..20].copy_from_slice(&crc.to_le_bytes());
            record[20..24].copy_from_slice(&(csize as u32).to_le_bytes());
            record[24..28].copy_from_slice(&(size as u32).to_le_bytes());
        }
        directory.extend_from_slice(&record);
        p += record.len();
    }
    if p != cd_end {
        return Err(broken(
            p as u64,
            "the directory records do not fill the directory",
        ));
    }
    pieces.push(ZipPiece::Bytes(directory));
    let mut end = archive[eocd..].to_vec();
    end[16..20].copy_from_slice(&(new_cd_offset as u32).to_le_bytes());
    pieces.push(ZipPiece::Bytes(end));
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(archive: &[u8], pieces: &[ZipPiece]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in pieces {
            match p {
                ZipPiece::Copy(a, b) => out.extend_from_slice(&archive[*a as usize..*b as usize]),
                ZipPiece::Bytes(b) => out.extend_from_slice(b),
            }
        }
        out
    }

    fn data_of(archive: &[u8], m: &Member) -> Vec<u8> {
        if m.method == Method::Stored {
            return archive[m.data_range().start as usize..m.data_range().end as usize].to_vec();
        }
        let mut out = Vec::new();
        inflate(archive, m, u64::MAX, &mut out).unwrap();
        out
    }

    #[test]
    fn rewriting_a_member_keeps_every_other_byte() {
        let big = vec![7u8; 5000];
        for deflate in [false, true] {
            let archive = build(&[
                ("a.npy", b"first member", false),
                ("schema.json", b"{\"x\": 1}", deflate),
                ("z.bin", &big, true),
            ]);
            let members = read_directory(&archive).unwrap();
            let new = b"{\"x\": null, \"longer\": true}".to_vec();
            let pieces =
                rewrite(&archive, &members, &[("schema.json".into(), new.clone())]).unwrap();
            let out = apply(&archive, &pieces);
            let after = read_directory(&out).unwrap();
            assert_eq!(after.len(), 3);
            for (old, new_m) in members.iter().zip(&after) {
                assert_eq!(old.name, new_m.name);
                assert_eq!(old.method, new_m.method, "same compression method");
                if old.name != "schema.json" {
                    assert_eq!(
                        &archive[old.data_range().start as usize..old.data_range().end as usize],
                        &out[new_m.data_range().start as usize..new_m.data_range().end as usize],
                        "{} is byte-identical",
                        old.name
                    );
                    assert_eq!(old.crc32, new_m.crc32);
                }
            }
            let schema = after.iter().find(|m| m.name == "schema.json").unwrap();
            assert_eq!(data_of(&out, schema), new);
            let z = after.iter().find(|m| m.name == "z.bin").unwrap();
            assert_eq!(data_of(&out, z), big);
        }
    }

    #[test]
    fn zip64_archives_are_refused_for_rewriting() {
        let archive = build(&[("schema.json", b"{}", false)]);
        let members = read_directory(&archive).unwrap();
        let mut forged = archive.clone();
        let eocd = end_record(&forged).unwrap();
        forged[eocd + 16..eocd + 20].copy_from_slice(&u32::MAX.to_le_bytes());
        let err =
            rewrite(&forged, &members, &[("schema.json".into(), b"[]".to_vec())]).unwrap_err();
        assert!(err.to_string().contains("ZIP64"), "{err}");
    }

    /// Builds a zip with rawzip's writer: (name, data, deflate).
    pub(crate) fn build(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut archive = rawzip::ZipArchiveWriter::new(&mut out);
        for (name, data, deflate) in members {
            let method = if *deflate {
                rawzip::CompressionMethod::DEFLATE
            } else {
                rawzip::CompressionMethod::STORE
            };
            let (mut entry, config) = archive
                .new_file(name)
                .compression_method(method)
                .start()
                .unwrap();
            if *deflate {
                let encoder =
                    flate2::write::DeflateEncoder::new(&mut entry, flate2::Compression::default());
                let mut writer = config.wrap(encoder);
                writer.write_all(data).unwrap();
                let (encoder, descriptor) = writer.finish().unwrap();
                encoder.finish().unwrap();
                entry.finish(descriptor).unwrap();
            } else {
                let mut writer = config.wrap(&mut entry);
                writer.write_all(data).unwrap();
                let (_, descriptor) = writer.finish().unwrap();
                entry.finish(descriptor).unwrap();
            }
        }
        archive.finish().unwrap();
        out
    }

    #[test]
    fn reads_members_and_inflates_them() {
        let zip = build(&[
            ("a/data.pkl", b"\x80\x02N.", false),
            ("b.txt", &[7u8; 5000], true),
        ]);
        let members = read_directory(&zip).unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].name, "a/data.pkl");
        assert_eq!(members[0].method, Method::Stored);
        let start = members[0].data_offset as usize;
        assert_eq!(&zip[start..start + 4], b"\x80\x02N.");
        assert_eq!(members[1].method, Method::Deflated);
        let mut out = Vec::new();
        assert_eq!(
            inflate(&zip, &members[1], u64::MAX, &mut out).unwrap(),
            5000
        );
        assert_eq!(out, vec![7u8; 5000]);
        assert_eq!(
            ArchiveKind::detect(&members),
            ArchiveKind::PyTorch {
                prefix: "a/".into()
            }
        );
    }

    #[test]
    fn a_member_s_head_is_read_without_the_rest() {
        let mut body = b"\x80\x04".to_vec();
        body.extend(vec![0u8; 100_000]);
        let zip = build(&[("x", &body, true), ("y", b"hello", false)]);
        let members = read_directory(&zip).unwrap();
        assert_eq!(head(&zip, &members[0], 4).unwrap(), b"\x80\x04\x00\x00");
        assert_eq!(head(&zip, &members[1], 32).unwrap(), b"hello");
    }

    #[test]
    fn the_limit_and_the_declared_size_hold() {
        let zip = build(&[("big", &[0u8; 100_000], true)]);
        let members = read_directory(&zip).unwrap();
        let err = inflate(&zip, &members[0], 1000, &mut Vec::new()).unwrap_err();
        assert!(matches!(err.problem, ZipProblem::TooLarge { .. }), "{err}");
        let mut lying = members[0].clone();
        lying.size = 10;
        let err = inflate(&zip, &lying, u64::MAX, &mut Vec::new()).unwrap_err();
        assert!(matches!(err.problem, ZipProblem::Longer { .. }), "{err}");
    }

    #[test]
    fn the_member_count_is_bounded() {
        let zip = build(&[("a", b"", false), ("b", b"", false), ("c", b"", false)]);
        assert_eq!(read_directory_within(&zip, 3).unwrap().len(), 3);
        let err = read_directory_within(&zip, 2).unwrap_err();
        assert!(
            matches!(err.problem, ZipProblem::TooManyMembers { limit: 2 }),
            "{err}"
        );
    }

    #[test]
    fn names_that_disagree_with_the_local_header_are_rejected() {
        let mut zip = build(&[("data.pkl", b"\x80\x02N.", false)]);
        // The local header's name starts at byte 30.
        zip[30] = b'x';
        let err = read_directory(&zip).unwrap_err();
        assert!(matches!(err.problem, ZipProblem::Mismatch { .. }), "{err}");
        assert_eq!(err.member.as_deref(), Some("data.pkl"));
    }

    #[test]
    fn roles_follow_the_archive_kind() {
        let m = |name: &str| Member {
            name: name.into(),
            method: Method::Stored,
            header_offset: 0,
            data_offset: 0,
            compressed_size: 0,
            size: 0,
            crc32: 0,
            is_dir: false,
        };
        let torch = ArchiveKind::PyTorch {
            prefix: "model/".into(),
        };
        assert_eq!(torch.role(&m("model/data/0")), Role::Storage);
        assert_eq!(torch.role(&m("model/data.pkl")), Role::Pickle);
        assert_eq!(torch.role(&m("model/version")), Role::Unknown);
        assert_eq!(torch.role(&m("other/data/0")), Role::Unknown);
        assert_eq!(ArchiveKind::Npz.role(&m("x.npy")), Role::Npy);
        assert_eq!(ArchiveKind::Zip.role(&m("models/a.joblib")), Role::Pickle);
        assert_eq!(ArchiveKind::Zip.role(&m("README.txt")), Role::Unknown);
        assert_eq!(ArchiveKind::Skops.role(&m("schema.json")), Role::Schema);
    }
}
