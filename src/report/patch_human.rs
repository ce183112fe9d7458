//! Human output of `artifact patch`: the edits of one artifact, or the summary of several.

use std::io::{self, Write};

use comfy_table::{Cell, CellAlignment, ContentArrangement};

use super::patch_json::SummaryRow;
use super::style::table;
use super::{fit_table, output_width};
use crate::patch::Edit;

/// The edits as a table (the raw path column dropped first when it does not fit).
pub fn write_edits(out: &mut dyn Write, edits: &[Edit], dry_run: bool) -> io::Result<()> {
    if edits.is_empty() {
        return writeln!(
            out,
            "No edits: every requested setting already has its value."
        );
    }
    let build = |with_raw: bool| {
        let mut table = table(false);
        let mut names = vec!["sklearn path", "class", "old", "new"];
        if with_raw {
            names.push("raw path");
        }
        names.push("offset");
        table.set_header(names);
        for e in edits {
            let class = e
                .setting
                .class
                .rsplit('.')
                .next()
                .unwrap_or(&e.setting.class);
            let mut row = vec![
                Cell::new(&e.setting.sklearn_path),
                Cell::new(class),
                Cell::new(e.setting.value.to_string()),
                Cell::new(e.new.to_string()),
            ];
            if with_raw {
                row.push(Cell::new(&e.setting.raw_path));
            }
            row.push(Cell::new(e.setting.offset).set_alignment(CellAlignment::Right));
            table.add_row(row);
        }
        table
    };
    writeln!(out, "{}", fit_table(&build, output_width()))?;
    if dry_run {
        writeln!(out, "(dry run: nothing written)")?;
    }
    Ok(())
}

/// One row per artifact, wrapped to the terminal, then the counts.
pub fn write_summary(
    out: &mut dyn Write,
    rows: &[SummaryRow],
    passed_over: usize,
) -> io::Result<()> {
    let mut table = table(false);
    table
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["artifact", "edits", "result"]);
    if let Some(width) = output_width() {
        table.set_width(u16::try_from(width).unwrap_or(u16::MAX));
    }
    let (mut written, mut failed) = (0, 0);
    for (file, r) in rows {
        let (edits, result) = match r {
            Ok(o) => {
                let result = match (&o.written, o.edits) {
                    (Some(p), _) => {
                        written += 1;
                        format!("wrote {}", p.display())
                    }
                    (None, 0) => "nothing to change".to_string(),
                    (None, _) => "dry run: nothing written".to_string(),
                };
                let result = if o.not_applied > 0 {
                    format!("{result}; {} edit(s) not applied", o.not_applied)
                } else {
                    result
                };
                (o.edits.to_string(), result)
            }
            Err(e) => {
                failed += 1;
                ("-".to_string(), format!("error: {e}"))
            }
        };
        table.add_row(vec![
            Cell::new(file.display()),
            Cell::new(edits).set_alignment(CellAlignment::Right),
            Cell::new(result),
        ]);
    }
    writeln!(out, "{table}")?;
    writeln!(
        out,
        "\n{} artifact{}: {written} written, {failed} failed{}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        if passed_over > 0 {
            format!(", {passed_over} other file(s) passed over (not pickles)")
        } else {
            String::new()
        }
    )
}
