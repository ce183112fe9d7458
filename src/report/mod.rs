//! Renderers: they turn what the other layers found into text or JSON, and parse nothing.

pub mod check;
pub mod check_json;
pub mod dis;
pub mod github;
pub mod inspect_human;
pub mod inspect_json;
pub mod sarif;

use crate::pickle::graph::AnomalyKind;

/// The width human output must fit: `COLUMNS` when set, else the terminal's, else none
/// (piped output keeps one row per line, whatever its length, so that grep sees rows).
pub fn output_width() -> Option<usize> {
    if let Some(cols) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(cols);
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return None;
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into `size`.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

fn widest_line(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// Renders a table within `width`: as built when it fits (or no width is known), then
/// without its optional column (the raw path: the sklearn path says the same for a
/// person), then wrapped by comfy-table's dynamic arrangement.
pub fn fit_table(build: &dyn Fn(bool) -> comfy_table::Table, width: Option<usize>) -> String {
    let full = build(true).to_string();
    let Some(width) = width else {
        return full;
    };
    if widest_line(&full) <= width {
        return full;
    }
    let narrow = build(false).to_string();
    if widest_line(&narrow) <= width {
        return narrow;
    }
    let mut table = build(false);
    table
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(u16::try_from(width).unwrap_or(u16::MAX));
    table.to_string()
}

/// Version of the JSON documents `inspect` prints; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// A file that could not be read to the end, as the reports list it.
#[derive(Debug)]
pub struct FileError {
    pub path: String,
    pub message: String,
    pub offset: Option<u64>,
    pub opcode: Option<&'static str>,
}

impl From<&crate::inspection::ReadError> for FileError {
    fn from(e: &crate::inspection::ReadError) -> Self {
        FileError {
            path: e.path().to_string(),
            message: e.to_string(),
            offset: e.offset(),
            opcode: e.opcode(),
        }
    }
}

impl FileError {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "path": self.path,
            "message": self.message,
            "offset": self.offset,
            "opcode": self.opcode,
        })
    }
}

/// A short kebab-case name and a sentence for an anomaly.
pub fn describe_anomaly(kind: &AnomalyKind) -> (&'static str, String) {
    match kind {
        AnomalyKind::StackNotEmpty { items, marks } => (
            "stack-not-empty",
            format!("{items} items and {marks} marks left on the stack at STOP"),
        ),
        AnomalyKind::MemoOverwritten { index } => (
            "memo-overwritten",
            format!("memo slot {index} written twice"),
        ),
        AnomalyKind::MisplacedProto { protocol } => (
            "misplaced-proto",
            format!("PROTO {protocol} in the middle of a stream"),
        ),
        AnomalyKind::OpcodeAboveProtocol { protocol } => (
            "opcode-above-protocol",
            format!("opcode newer than the stream's protocol {protocol}"),
        ),
        AnomalyKind::PersistentId => (
            "persistent-id",
            "persistent id: the loader must supply persistent_load".into(),
        ),
        AnomalyKind::Extension { code } => (
            "extension-code",
            format!("extension code {code}: resolved through copyreg's registry at load"),
        ),
        AnomalyKind::OutOfBandBuffer => (
            "out-of-band-buffer",
            "out-of-band buffer: its bytes are not in this file".into(),
        ),
        AnomalyKind::GlobalMutated { global } => (
            "global-mutated",
            format!(
                "the load changes the imported global {global} in place (BUILD or item opcodes on it)"
            ),
        ),
        AnomalyKind::UnusualJoblibPadding { length } => (
            "unusual-joblib-padding",
            format!("joblib array padding of {length} bytes that is not plain alignment"),
        ),
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in a unit people read: `1.5 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5_342_077_759), "5.0 GiB");
    }
}
