//! The look shared by every human rendering: one table preset, one way to colour text,
//! one progress bar.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};
use comfy_table::{Attribute, Cell, ContentArrangement, Table, TableComponent, presets};
use indicatif::{ProgressBar, ProgressStyle};

/// A table with only a rule under its header: rows stay one line each, easy to grep.
/// Colour (comfy-table's own styling) only when `color`.
pub fn table(color: bool) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_style(TableComponent::HeaderLines, '─')
        .set_style(TableComponent::MiddleHeaderIntersections, '─')
        .set_style(TableComponent::LeftHeaderIntersection, '─')
        .set_style(TableComponent::RightHeaderIntersection, '─')
        .set_content_arrangement(ContentArrangement::Disabled);
    if !color {
        table.force_no_tty();
    }
    table
}

/// Header cells, bold when `color`.
pub fn header(names: &[&str], color: bool) -> Vec<Cell> {
    names
        .iter()
        .map(|n| {
            let cell = Cell::new(n);
            if color {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        })
        .collect()
}

/// Text styles, applied only when colour is on (a terminal, no `NO_COLOR`).
#[derive(Clone, Copy, Debug)]
pub struct Paint {
    pub color: bool,
}

pub const BOLD: Style = Style::new().bold();
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
pub const INFO: Style = AnsiColor::Cyan.on_default();

impl Paint {
    pub fn paint(self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

/// A bar counting bytes on stderr, for work over at least `threshold` bytes, and only
/// when stderr is a terminal (a log file or a CI job gets no control codes).
pub fn byte_progress(message: String, total: u64, threshold: u64) -> Option<ProgressBar> {
    if total < threshold || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message);
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_is_plain_without_colour_and_resets_with_it() {
        assert_eq!(Paint { color: false }.paint(ERROR, "error"), "error");
        let painted = Paint { color: true }.paint(ERROR, "error");
        assert_eq!(painted, "\x1b[1m\x1b[31merror\x1b[0m");
    }
}
