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
        ("zip.pkl", b"PK\x03\x04\x14\x00", "zip-based formats"),
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
