//! The legacy `torch.save` format (`_use_new_zipfile_serialization=False`, and every
//! checkpoint before torch 1.6): five pickles one after the other (a magic number, the
//! protocol version, system info, the data, the list of storage keys), then each storage
//! as an 8-byte little-endian element count and its raw bytes, in the keys' order.
//! `torch.load` runs all five pickles; the storages are data.

/// The magic number `torch.save` pickles first (`torch.serialization.MAGIC_NUMBER`),
/// as LONG1's ten little-endian bytes.
const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/// The pickles `torch.load` reads before the storages.
pub const PICKLES: usize = 5;

/// Whether the bytes start with the magic-number pickle (protocol 2, torch's default,
/// or 3-5, the first of them in a FRAME). Other protocols read as a plain pickle.
pub fn is_legacy(head: &[u8]) -> bool {
    let rest = match head {
        [0x80, 2 | 3, rest @ ..] => rest,
        // FRAME and its 8-byte length.
        [0x80, 4 | 5, 0x95, rest @ ..] if rest.len() >= 8 => &rest[8..],
        _ => return false,
    };
    rest.len() >= 13 && rest[..2] == [0x8a, 0x0a] && rest[2..12] == MAGIC && rest[12] == b'.'
}

/// A storage's place in the file, found by walking the section after the pickles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageRecord {
    /// Where its 8-byte element count starts.
    pub offset: u64,
    pub numel: u64,
    pub nbytes: u64,
}

/// Why the storage section does not add up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StorageProblem {
    #[error("at offset {offset}: the storage '{key}' runs past the end of the file")]
    PastEnd { key: String, offset: u64 },
    #[error(
        "at offset {offset}: the storage '{key}' is not one data.pkl's persistent ids declare with a known element type"
    )]
    UnknownSize { key: String, offset: u64 },
}

impl StorageProblem {
    /// Where the storage that does not add up starts.
    pub fn offset(&self) -> u64 {
        match self {
            StorageProblem::PastEnd { offset, .. } | StorageProblem::UnknownSize { offset, .. } => {
                *offset
            }
        }
    }
}

/// Walks the storages after the pickles (`start`): `keys` in file order, each with its
/// element size. Returns each storage's record and where the section ends.
pub fn walk_storages(
    bytes: &[u8],
    start: u64,
    keys: &[(String, Option<u64>)],
) -> Result<(Vec<StorageRecord>, u64), StorageProblem> {
    let mut pos = start;
    let mut records = Vec::new();
    for (key, itemsize) in keys {
        let past = || StorageProblem::PastEnd {
            key: key.clone(),
            offset: pos,
        };
        let count_end = pos.checked_add(8).ok_or_else(past)?;
        let count = usize::try_from(pos)
            .ok()
            .zip(usize::try_from(count_end).ok())
            .and_then(|(a, b)| bytes.get(a..b))
            .ok_or_else(past)?;
        // A remote file's storages are skipped, their counts fetched one by one (a
        // failed fetch fails the read through the mirror).
        let _ = crate::store::ensure(count);
        let mut numel = [0u8; 8];
        numel.copy_from_slice(count);
        let numel = u64::from_le_bytes(numel);
        let size = itemsize.ok_or_else(|| StorageProblem::UnknownSize {
            key: key.clone(),
            offset: pos,
        })?;
        let nbytes = numel.checked_mul(size).ok_or_else(past)?;
        let end = count_end.checked_add(nbytes).ok_or_else(past)?;
        if end > bytes.len() as u64 {
            return Err(past());
        }
        records.push(StorageRecord {
            offset: pos,
            numel,
            nbytes,
        });
        pos = end;
    }
    Ok((records, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_magic_pickle_is_recognised_in_every_protocol_torch_writes() {
        let mut p2 = vec![0x80, 2, 0x8a, 0x0a];
        p2.extend(MAGIC);
        p2.push(b'.');
        assert!(is_legacy(&p2));
        let mut p4 = vec![0x80, 4, 0x95, 13, 0, 0, 0, 0, 0, 0, 0, 0x8a, 0x0a];
        p4.extend(MAGIC);
        p4.push(b'.');
        assert!(is_legacy(&p4));
        p2[5] ^= 1;
        assert!(!is_legacy(&p2));
        assert!(!is_legacy(b"\x80\x02N."));
    }

    #[test]
    fn storages_are_walked_and_bounded() {
        let mut bytes = vec![0u8; 4];
        bytes.extend(2u64.to_le_bytes());
        bytes.extend([1u8; 8]);
        let keys = vec![("a".to_string(), Some(4))];
        let (records, end) = walk_storages(&bytes, 4, &keys).unwrap();
        assert_eq!(records[0].numel, 2);
        assert_eq!(end, bytes.len() as u64);
        let lying = vec![("a".to_string(), Some(u64::MAX))];
        assert!(walk_storages(&bytes, 4, &lying).is_err());
        let two = vec![("a".to_string(), Some(4)), ("b".to_string(), Some(4))];
        assert!(matches!(
            walk_storages(&bytes, 4, &two),
            Err(StorageProblem::PastEnd { .. })
        ));
    }
}
