//! Bad input gets exit code 2 and a message naming the file and the byte offset (and the
//! opcode, when one is involved): never a panic, a hang, a signal, or an allocation
//! driven by a length field. The CLI runs under a 256 MiB address-space limit here.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Runs `artifact inspect` with at most 256 MiB of address space.
fn inspect_limited(path: &Path) -> Output {
    std::process::Command::new("prlimit")
        .arg(format!("--as={}", 256u64 << 20))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_artifact"))
        .arg("inspect")
        .arg(path)
        .output()
        .expect("prlimit (util-linux) runs")
}

fn assert_rejected(path: &Path, needle: &str) {
    let out = inspect_limited(path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}: expected exit 2, got {:?}; stderr: {stderr}",
        path.display(),
        out.status
    );
    assert!(
        stderr.contains(&path.display().to_string()),
        "the message names the file: {stderr}"
    );
    assert!(
        stderr.contains("offset"),
        "the message names an offset: {stderr}"
    );
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout for a failed file");
}

#[test]
fn malformed_inputs_exit_2_with_offset_and_opcode() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: &[(&str, &[u8], &str)] = &[
        ("empty.pkl", b"", "at offset 0: the file is empty"),
        (
            "unknown_opcode.pkl",
            b"\x80\x04N\x00.",
            "at offset 3: byte 0x00 is not a pickle opcode",
        ),
        (
            "no_stop.pkl",
            b"\x80\x04N",
            "at offset 3: the data ends without a STOP",
        ),
        (
            "binbytes8_past_end.pkl",
            b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\x00\x00abc.",
            "at offset 2 (BINBYTES8)",
        ),
        (
            "binunicode_past_end.pkl",
            b"\x80\x04X\xff\xff\xff\x7fab.",
            "at offset 2 (BINUNICODE)",
        ),
        (
            "long4_negative.pkl",
            b"\x80\x04\x8b\xff\xff\xff\xff.",
            "(LONG4): negative length",
        ),
        (
            "frame_too_long.pkl",
            b"\x80\x04\x95\x00\x00\x00\x00\x01\x00\x00\x00N.",
            "(FRAME): the frame claims",
        ),
        (
            "frame_straddled.pkl",
            b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00NJ\x01\x00\x00\x00.",
            "at offset 12 (BININT): the opcode runs past the end of its frame",
        ),
        (
            "memo_missing.pkl",
            b"\x80\x02h\x07.",
            "at offset 2 (BINGET): memo slot 7 is empty",
        ),
        ("stack_underflow.pkl", b"\x80\x02R.", "at offset 2 (REDUCE)"),
        ("pop_below_mark.pkl", b"N(0R.", "(REDUCE)"),
        ("no_mark.pkl", b"N\x01", "byte 0x01"),
        (
            "setitems_without_mark.pkl",
            b"}u.",
            "(SETITEMS): no MARK is open",
        ),
        // (An empty state on a list is accepted: pickle.py skips a false state.)
        (
            "build_on_list.pkl",
            b"]}X\x01\x00\x00\x00aK\x01sb.",
            "(BUILD): BUILD on a list",
        ),
        (
            "unsupported_protocol.pkl",
            b"\x80\x09N.",
            "unsupported pickle protocol 9",
        ),
        (
            "png.pkl",
            b"\x89PNG\r\n\x1a\n\x00\x00",
            "not a pickle or joblib file",
        ),
        (
            "zip.pkl",
            b"PK\x03\x04\x14\x00",
            "zip archive: at offset 0: the zip central directory cannot be read",
        ),
        ("json.pkl", b"{\"a\": 1}", "not a pickle or joblib file"),
        (
            "garbage.z",
            b"\x78\x9c\x01\x02\x03\x04",
            "zlib data is corrupt",
        ),
        (
            "truncated.gz",
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
            "gzip data is corrupt",
        ),
        (
            "text_int.pkl",
            b"I12x\n.",
            "(INT): INT argument is not an integer",
        ),
        (
            "string_unquoted.pkl",
            b"Sabc\n.",
            "(STRING): the STRING opcode argument must be quoted",
        ),
    ];
    for (name, bytes, needle) in cases {
        let path = write(d, name, bytes);
        assert_rejected(&path, needle);
    }
}

/// A NumpyArrayWrapper whose shape claims a terabyte: rejected before any allocation.
#[test]
fn joblib_wrapper_claiming_a_terabyte_array_is_rejected() {
    if common::skip_without_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import io, pickle, sys, joblib, numpy as np
buf = io.BytesIO()
joblib.dump(np.zeros(4), buf)
data = buf.getvalue()
# Rewrite the shape tuple (4,) -> (2**40,): BININT1 4 becomes LONG1 of 2**40.
old = b"K\x04\x85"
i = data.index(old)
data = data[:i] + b"\x8a\x06\x00\x00\x00\x00\x00\x01\x85" + data[i + 3:]
# The frame holding it grew by 6 bytes.
f = data.index(b"\x95")
n = int.from_bytes(data[f + 1:f + 9], "little") + 6
data = data[:f + 1] + n.to_bytes(8, "little") + data[f + 9:]
open(sys.argv[1], "wb").write(data)
"#;
    let path = dir.path().join("terabyte.joblib");
    let status = std::process::Command::new(common::python())
        .args(["-c", script])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    assert_rejected(&path, "needs 8796093022208 bytes");
}

#[test]
fn deep_nesting_and_memo_bombs_stay_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // A million nested lists.
    let mut nested = b"\x80\x04".to_vec();
    nested.extend(std::iter::repeat_n(b']', 1_000_000));
    nested.extend(std::iter::repeat_n(b'a', 999_999));
    nested.push(b'.');
    // A memo bomb: a list holding itself through the memo, 2^20 times over 20 levels;
    // copying on GET would need 2^20^20 nodes.
    let mut bomb = b"\x80\x04]\x94".to_vec();
    for level in 0..20u32 {
        bomb.push(b'(');
        for _ in 0..16 {
            bomb.extend_from_slice(b"j");
            bomb.extend_from_slice(&level.to_le_bytes());
        }
        bomb.extend_from_slice(b"l\x94");
    }
    bomb.push(b'.');
    for (name, bytes) in [("nested.pkl", nested), ("memo_bomb.pkl", bomb)] {
        let path = write(dir.path(), name, &bytes);
        let out = inspect_limited(&path);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every proper prefix of real artifacts is an error with an offset inside the data,
/// never a panic and never success ("no issues" about a file not read to the end).
#[test]
fn truncation_at_every_byte_is_an_error() {
    for name in [
        "kmeans.p5.pkl",
        "ct_logreg.p0.pkl",
        "ct_logreg.joblib",
        "lgbm.joblib",
    ] {
        let bytes = std::fs::read(common::fixture(name)).unwrap();
        for len in 1..bytes.len() {
            let prefix = &bytes[..len];
            match artifact::pickle::parse(prefix, &mut artifact::pickle::Quiet) {
                Ok(_) => panic!("{name}: prefix of {len} bytes parsed as complete"),
                Err(e) => assert!(
                    e.offset <= len as u64,
                    "{name}[..{len}]: offset {} past the end",
                    e.offset
                ),
            }
        }
    }
    // And through the CLI, a few cut points of a compressed file.
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(common::fixture("ct_logreg.joblib.gz")).unwrap();
    for len in [1, 10, bytes.len() / 2, bytes.len() - 1] {
        let path = write(dir.path(), &format!("cut{len}.gz"), &bytes[..len]);
        let out = inspect_limited(&path);
        assert_eq!(out.status.code(), Some(2), "cut at {len}");
    }
}

/// Valid but unusual: ten million open MARKs and a 50-million-digit integer load in
/// CPython; they must be read within the limit (exit 0). Twenty million NONEs outgrow
/// 256 MiB of stack: a clean error naming the offset (exit 2), never an abort.
#[test]
fn huge_mark_stacks_text_integers_and_stacks_stay_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut marks = vec![b'('; 10_000_000];
    marks.extend_from_slice(b"N.");
    let mut digits = vec![b'I'];
    digits.extend(std::iter::repeat_n(b'9', 50_000_000));
    digits.extend_from_slice(b"\n.");
    let mut nones = vec![b'N'; 20_000_000];
    nones.push(b'.');
    for (name, bytes, code) in [
        ("marks.pkl", marks, 0),
        ("digits.pkl", digits, 0),
        ("nones.pkl", nones, 2),
    ] {
        let path = write(dir.path(), name, &bytes);
        let out = inspect_limited(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{name}: {stderr}");
        if code == 2 {
            assert!(
                stderr.contains("at offset") && stderr.contains("(NONE): limit exceeded"),
                "{stderr}"
            );
        }
    }
}

/// A decompression bomb (about a megabyte of gzip that inflates to 300 MB) stops at the
/// configured limit: exit 2 naming the limit, in bounded memory (256 MiB of address space).
#[test]
fn a_decompression_bomb_stops_at_the_limit() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.joblib.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        // Zeros shrink about 1000-fold at the fastest level too, which builds in a second
        // in a debug build where the best level took 50.
        flate2::Compression::fast(),
    );
    gz.write_all(b"\x80\x04").unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..300 {
        gz.write_all(&zeros).unwrap();
    }
    gz.finish().unwrap();
    let out = std::process::Command::new("prlimit")
        .arg(format!("--as={}", 256u64 << 20))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_artifact"))
        .args(["--max-decompressed", "100 MiB", "inspect"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("decompresses to more than the limit of 104857600 bytes"),
        "{stderr}"
    );
}

/// `.npy` headers that lie: a header length past the end, a 4 GiB header length, a shape
/// whose byte count overflows or exceeds the file, nesting without end. Each is exit 2
/// naming the file and the offset, within 256 MiB of address space.
#[test]
fn npy_headers_that_lie_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let npy = |version: u8, header: &str, data: usize| {
        let mut out = b"\x93NUMPY".to_vec();
        out.extend([version, 0]);
        if version == 1 {
            out.extend((header.len() as u16).to_le_bytes());
        } else {
            out.extend((header.len() as u32).to_le_bytes());
        }
        out.extend(header.as_bytes());
        out.extend(vec![0u8; data]);
        out
    };
    let deep = format!(
        "{{'descr': {}'<f8'{}, 'fortran_order': False, 'shape': ()}}",
        "[('a', ".repeat(5000),
        ")]".repeat(5000)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "past_end.npy",
            b"\x93NUMPY\x01\x00\xff\xff{'descr'".to_vec(),
            "at offset 10: the file ends inside the .npy header",
        ),
        (
            "huge_header.npy",
            b"\x93NUMPY\x02\x00\xff\xff\xff\xff{".to_vec(),
            "at offset 8: the .npy header claims 4294967295 bytes",
        ),
        (
            "overflow.npy",
            npy(
                1,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}",
                8,
            ),
            "describes more than 2^64 bytes of array data",
        ),
        (
            "short_data.npy",
            npy(
                1,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,)}",
                8,
            ),
            "describes 8000000000 bytes of array data, the file holds 8",
        ),
        ("deep.npy", npy(2, &deep, 0), "nests deeper than 32 levels"),
    ];
    for (name, bytes, needle) in cases {
        let path = write(dir.path(), name, &bytes);
        assert_rejected(&path, needle);
    }
}

/// A zip written byte by byte, so that tests can make it lie: local headers and central
/// directory entries are given separately.
mod forged_zip {
    pub struct Local<'a> {
        pub name: &'a str,
        pub method: u16,
        pub flags: u16,
        pub data: &'a [u8],
        pub size: u32,
    }

    pub struct Entry<'a> {
        pub name: &'a str,
        pub method: u16,
        pub flags: u16,
        pub offset: u32,
        pub compressed: u32,
        pub size: u32,
        pub crc: u32,
    }

    pub fn crc(data: &[u8]) -> u32 {
        rawzip::crc32(data)
    }

    /// Appends a local header and its data; returns its offset.
    pub fn local(out: &mut Vec<u8>, l: &Local, crc: u32) -> u32 {
        let at = out.len() as u32;
        out.extend(b"PK\x03\x04");
        out.extend(20u16.to_le_bytes());
        out.extend(l.flags.to_le_bytes());
        out.extend(l.method.to_le_bytes());
        out.extend([0u8; 4]); // time, date
        out.extend(crc.to_le_bytes());
        out.extend((l.data.len() as u32).to_le_bytes());
        out.extend(l.size.to_le_bytes());
        out.extend((l.name.len() as u16).to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(l.name.as_bytes());
        out.extend(l.data);
        at
    }

    /// Appends the central directory and its end record.
    pub fn directory(out: &mut Vec<u8>, entries: &[Entry]) {
        let start = out.len() as u32;
        for e in entries {
            out.extend(b"PK\x01\x02");
            out.extend(20u16.to_le_bytes());
            out.extend(20u16.to_le_bytes());
            out.extend(e.flags.to_le_bytes());
            out.extend(e.method.to_le_bytes());
            out.extend([0u8; 4]);
            out.extend(e.crc.to_le_bytes());
            out.extend(e.compressed.to_le_bytes());
            out.extend(e.size.to_le_bytes());
            out.extend((e.name.len() as u16).to_le_bytes());
            out.extend([0u8; 8]); // extra, comment, disk, internal attributes
            out.extend([0u8; 4]); // external attributes
            out.extend(e.offset.to_le_bytes());
            out.extend(e.name.as_bytes());
        }
        let size = out.len() as u32 - start;
        out.extend(b"PK\x05\x06");
        out.extend([0u8; 4]);
        out.extend((entries.len() as u16).to_le_bytes());
        out.extend((entries.len() as u16).to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(start.to_le_bytes());
        out.extend(0u16.to_le_bytes());
    }

    /// A well-formed zip of stored members.
    pub fn stored(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut entries = Vec::new();
        for (name, data) in members {
            let crc = crc(data);
            let offset = local(
                &mut out,
                &Local {
                    name,
                    method: 0,
                    flags: 0,
                    data,
                    size: data.len() as u32,
                },
                crc,
            );
            entries.push(Entry {
                name,
                method: 0,
                flags: 0,
                offset,
                compressed: data.len() as u32,
                size: data.len() as u32,
                crc,
            });
        }
        directory(&mut out, &entries);
        out
    }
}

/// Zips that lie about themselves exit 2 naming the member and its offset, within 256 MiB
/// of address space: overlapping members, a local header that disagrees with the central
/// directory, a name twice, encryption, a method we cannot read, a broken directory.
#[test]
fn hostile_zips_are_rejected_with_the_member_named() {
    use forged_zip::*;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pickle: &[u8] = b"\x80\x02N.";

    // "a.pkl"'s data holds a whole local record of "b.pkl": b's bytes are inside a's.
    let mut inner = Vec::new();
    let b_crc = crc(pickle);
    local(
        &mut inner,
        &Local {
            name: "b.pkl",
            method: 0,
            flags: 0,
            data: pickle,
            size: 4,
        },
        b_crc,
    );
    let mut overlap = Vec::new();
    let a_crc = crc(&inner);
    local(
        &mut overlap,
        &Local {
            name: "a.pkl",
            method: 0,
            flags: 0,
            data: &inner,
            size: inner.len() as u32,
        },
        a_crc,
    );
    let b_at = 30 + 5;
    directory(
        &mut overlap,
        &[
            Entry {
                name: "a.pkl",
                method: 0,
                flags: 0,
                offset: 0,
                compressed: inner.len() as u32,
                size: inner.len() as u32,
                crc: a_crc,
            },
            Entry {
                name: "b.pkl",
                method: 0,
                flags: 0,
                offset: b_at,
                compressed: 4,
                size: 4,
                crc: b_crc,
            },
        ],
    );
    assert_rejected(
        &write(d, "overlap.pt", &overlap),
        "overlap those of 'a.pkl'",
    );

    // The directory says data.pkl, the local header evil.pkl.
    let mut mismatch = Vec::new();
    let c = crc(pickle);
    local(
        &mut mismatch,
        &Local {
            name: "evil.pkl",
            method: 0,
            flags: 0,
            data: pickle,
            size: 4,
        },
        c,
    );
    directory(
        &mut mismatch,
        &[Entry {
            name: "data.pkl",
            method: 0,
            flags: 0,
            offset: 0,
            compressed: 4,
            size: 4,
            crc: c,
        }],
    );
    let out = inspect_limited(&write(d, "mismatch.zip", &mismatch));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("(zip member 'data.pkl')")
            && stderr.contains("the local header says the name is 'evil.pkl'"),
        "{stderr}"
    );
    assert_rejected(&write(d, "mismatch2.zip", &mismatch), "at offset 0");

    // A name twice: zipfile reads the last, miniz the first.
    let twice = stored(&[("x.pkl", pickle), ("x.pkl", b"\x80\x02\x88.")]);
    assert_rejected(&write(d, "twice.npz", &twice), "appears twice");

    // Encrypted (flag bit 0) and an unreadable method (bzip2, 12) for a pickle.
    let mut encrypted = Vec::new();
    let c = crc(pickle);
    local(
        &mut encrypted,
        &Local {
            name: "data.pkl",
            method: 0,
            flags: 1,
            data: pickle,
            size: 4,
        },
        c,
    );
    directory(
        &mut encrypted,
        &[Entry {
            name: "data.pkl",
            method: 0,
            flags: 1,
            offset: 0,
            compressed: 4,
            size: 4,
            crc: c,
        }],
    );
    assert_rejected(&write(d, "encrypted.zip", &encrypted), "encrypted");

    // A directory cut off in the middle.
    let whole = stored(&[("m/data.pkl", pickle)]);
    let cut = &whole[..whole.len() - 30];
    assert_rejected(&write(d, "cut.pt", cut), "central directory");
}

/// A member whose own bytes fail: a method we cannot read, a deflated size that lies, a
/// CRC that does not match, a bomb over --max-decompressed, zips nested past the limit.
/// The archive is listed, the member's error names `file!member`, and the exit is 2.
#[test]
fn members_that_fail_fail_the_file() {
    use forged_zip::*;
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |path: &Path, extra: &[&str]| {
        let out = std::process::Command::new("prlimit")
            .arg(format!("--as={}", 256u64 << 20))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_artifact"))
            .args(extra)
            .arg("check")
            .arg("--isolated")
            .arg(path)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout),
        )
    };
    let deflate = |data: &[u8]| {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let forged = |name: &str, method: u16, data: &[u8], size: u32, crc: u32| {
        let mut out = Vec::new();
        local(
            &mut out,
            &Local {
                name,
                method,
                flags: 0,
                data,
                size,
            },
            crc,
        );
        directory(
            &mut out,
            &[Entry {
                name,
                method,
                flags: 0,
                offset: 0,
                compressed: data.len() as u32,
                size,
                crc,
            }],
        );
        out
    };
    let pickle: &[u8] = b"\x80\x02N.";

    let bzip2 = forged("data.pkl", 12, pickle, 4, crc(pickle));
    let (code, text) = run(&write(d, "bzip2.zip", &bzip2), &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("bzip2.zip!data.pkl") && text.contains("method 12"),
        "{text}"
    );

    let body = vec![b'N'; 1000];
    let lying = forged("data.pkl", 8, &deflate(&body), 10, crc(&body));
    let (code, text) = run(&write(d, "lying.zip", &lying), &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("lying.zip!data.pkl") && text.contains("lying size"),
        "{text}"
    );

    let bad_crc = forged("data.pkl", 8, &deflate(pickle), 4, crc(pickle) ^ 1);
    let (code, text) = run(&write(d, "crc.zip", &bad_crc), &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("CRC-32"), "{text}");

    // 300 MiB of zeros deflate to about 300 KiB.
    let zeros = vec![0u8; 300 << 20];
    let bomb = forged("data.pkl", 8, &deflate(&zeros), 300 << 20, crc(&zeros));
    drop(zeros);
    let (code, text) = run(
        &write(d, "bomb.zip", &bomb),
        &["--max-decompressed", "100 MiB"],
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("bomb.zip!data.pkl") && text.contains("limit of 104857600 bytes"),
        "{text}"
    );

    // Zips in zips, six deep, with a pickle at the bottom.
    let mut nested = stored(&[("evil.pkl", b"\x80\x02cposix\nsystem\n.")]);
    for _ in 0..6 {
        nested = stored(&[("inner.zip", &nested)]);
    }
    let (code, text) = run(&write(d, "deep.zip", &nested), &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("nest more than"), "{text}");
}

/// The largest classic directory (65,535 members; more needs Zip64) reads within 256 MiB
/// of address space. The member-count limit itself is a unit test of container::zip.
#[test]
fn a_directory_of_65535_members_reads_within_the_memory_limit() {
    let names: Vec<String> = (0..65_535).map(|i| format!("{i}")).collect();
    let members: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let zip = forged_zip::stored(&members);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "many.zip", &zip);
    let out = inspect_limited(&path);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("65,535 members"), "{text}");
}

/// A zip of `schema.json` and the given stored members, as rawzip writes one.
fn skops_file(schema: &[u8], members: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    let mut archive = rawzip::ZipArchiveWriter::new(&mut out);
    let all = members.iter().copied().chain([("schema.json", schema)]);
    for (name, data) in all {
        let (mut entry, config) = archive
            .new_file(name)
            .compression_method(rawzip::CompressionMethod::STORE)
            .start()
            .unwrap();
        let mut writer = config.wrap(&mut entry);
        writer.write_all(data).unwrap();
        let (_, descriptor) = writer.finish().unwrap();
        entry.finish(descriptor).unwrap();
    }
    archive.finish().unwrap();
    out
}

#[test]
fn hostile_skops_schemas_exit_2_with_the_offset_in_schema_json() {
    let dir = tempfile::tempdir().unwrap();
    let node = |loader: &str, rest: &str| {
        format!(
            r#"{{"__class__": "x", "__module__": "y", "__loader__": "{loader}"{rest}, "protocol": 2}}"#
        )
    };
    let deep = format!(
        r#"{{"protocol": 2, "__loader__": "ListNode", "__class__": "list", "__module__": "builtins", "content": {}{}}}"#,
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "not JSON",
            "{\"protocol\": 2, ".into(),
            "not JSON that Python reads",
        ),
        (
            "no protocol",
            node("JsonNode", r#", "content": "1""#).replace(", \"protocol\": 2", ""),
            "no skops protocol",
        ),
        (
            "a newer protocol",
            node("JsonNode", r#", "content": "1""#).replace("\"protocol\": 2", "\"protocol\": 3"),
            "protocol 3",
        ),
        (
            "an unknown loader",
            node("EvalNode", ""),
            "loader 'EvalNode'",
        ),
        (
            "a missing member",
            node("BytesNode", r#", "file": "gone.bin""#),
            "'gone.bin'",
        ),
        (
            "a cached node of nothing",
            node("CachedNode", r#", "__id__": 5"#),
            "cached node",
        ),
        (
            "content that is not JSON",
            node("JsonNode", r#", "content": "{nope""#),
            "content is not JSON",
        ),
        ("nesting 200,000 deep", deep, "nested deeper"),
    ];
    for (what, schema, message) in cases {
        let path = dir.path().join("hostile.skops");
        std::fs::write(&path, skops_file(schema.as_bytes(), &[])).unwrap();
        let out = std::process::Command::new("prlimit")
            .arg(format!("--as={}", 256u64 << 20))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_artifact"))
            .args(["check", "--isolated"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{what}: {text}");
        assert!(
            text.contains("schema.json") && text.contains("offset"),
            "{what}: {text}"
        );
        assert!(text.contains(message), "{what}: {text}");
    }
}

#[test]
fn a_huge_bytes_member_of_a_skops_file_is_not_copied() {
    // 300 MiB of zeros, deflated: the schema names it as a BytesNode. Copying it into
    // memory would not fit the 256 MiB limit; it is skipped with a warning instead.
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.skops");
    let schema = br#"{"__class__": "bytes", "__module__": "builtins", "__loader__": "BytesNode", "file": "big.bin", "protocol": 2}"#;
    let mut out = Vec::new();
    let mut archive = rawzip::ZipArchiveWriter::new(&mut out);
    {
        let (mut entry, config) = archive
            .new_file("big.bin")
            .compression_method(rawzip::CompressionMethod::DEFLATE)
            .start()
            .unwrap();
        let encoder = flate2::write::DeflateEncoder::new(&mut entry, flate2::Compression::fast());
        let mut writer = config.wrap(encoder);
        let block = vec![0u8; 1 << 20];
        for _ in 0..300 {
            writer.write_all(&block).unwrap();
        }
        let (encoder, descriptor) = writer.finish().unwrap();
        encoder.finish().unwrap();
        entry.finish(descriptor).unwrap();
    }
    {
        let (mut entry, config) = archive
            .new_file("schema.json")
            .compression_method(rawzip::CompressionMethod::STORE)
            .start()
            .unwrap();
        let mut writer = config.wrap(&mut entry);
        writer.write_all(schema).unwrap();
        let (_, descriptor) = writer.finish().unwrap();
        entry.finish(descriptor).unwrap();
    }
    archive.finish().unwrap();
    std::fs::write(&path, out).unwrap();
    let out = std::process::Command::new("prlimit")
        .arg(format!("--as={}", 256u64 << 20))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_artifact"))
        .args(["inspect", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warned = doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["warnings"].as_array().unwrap().clone())
        .any(|w| w.as_str().unwrap().contains("big.bin"));
    assert!(warned, "{doc}");
}
