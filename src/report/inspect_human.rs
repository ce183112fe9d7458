//! Human output of `artifact inspect`: a header, the estimator tree, the settings table,
//! arrays, globals and versions.

use std::fmt::Write;

use comfy_table::{Cell, CellAlignment};

use crate::inspection::{ArchiveInspection, Inspection};
use crate::model::{ArrayInfo, ModelView, SettingValue};
use crate::report::style::{BOLD, Paint, header, table as new_table};
use crate::units::{human_bytes, thousands};

pub struct Options<'f> {
    pub color: bool,
    pub all_arrays: bool,
    pub all_settings: bool,
    /// List every estimator, repeated fitted clones too (else grouped: `30 x Tree`).
    pub all_estimators: bool,
    /// The width to fit tables in (see [`super::output_width`]).
    pub width: Option<usize>,
    /// What `check` would report with its defaults, shown last, so that a dangerous global
    /// in the list above never appears without its finding.
    pub findings: &'f [crate::rules::Finding],
}

pub fn render(i: &Inspection, options: &Options) -> String {
    if let Some(archive) = &i.archive {
        return render_archive(i, archive, options);
    }
    let mut out = String::new();
    let paint = Paint {
        color: options.color,
    };
    let bold = |s: &str| paint.paint(BOLD, s);
    let _ = writeln!(out, "{}", bold(&i.path));
    let container = match i.codec {
        Some(codec) => format!(
            "{} compressed with {codec}, {} bytes ({} decoded)",
            i.format,
            thousands(i.file_size),
            thousands(i.decoded_size)
        ),
        None => format!("{}, {} bytes", i.format, thousands(i.file_size)),
    };
    let _ = writeln!(out, "  container  {container}");
    if let Some(h) = &i.npy {
        let order = if h.fortran_order {
            ", Fortran order"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  npy        version {}.0, {} {}{order}, data at offset {}",
            h.version,
            h.descr,
            shape_of(&h.shape),
            h.data_offset
        );
        if !h.object {
            out.push_str(
                "  pickle     none: the dtype holds no Python objects, numpy.load runs nothing
",
            );
        } else {
            out.push_str(
                "  pickle     the object array's data: numpy.load(allow_pickle=True) unpickles it\n",
            );
        }
    }
    let top: Vec<_> = i.streams.iter().filter(|s| !s.nested).collect();
    let nested = i.streams.len() - top.len();
    let ops: u64 = i.streams.iter().map(|s| s.ops).sum();
    let mut streams = format!(
        "{} stream{}",
        top.len(),
        if top.len() == 1 { "" } else { "s" }
    );
    if nested > 0 {
        let _ = write!(streams, " + {nested} nested (joblib object arrays)");
    }
    if let Some(sk) = &i.skops {
        let _ = writeln!(
            out,
            "  skops      protocol {}{}, {} nodes; skops.io.load imports what Globals lists, nothing is unpickled",
            sk.protocol,
            sk.skops_version
                .as_deref()
                .map(|v| format!(", written by skops {v}"))
                .unwrap_or_default(),
            thousands(sk.nodes as u64)
        );
        if sk.untrusted_types.is_empty() {
            out.push_str("  untrusted  none: skops.io.load loads it without a trusted list\n");
        } else {
            let _ = writeln!(
                out,
                "  untrusted  {} (get_untrusted_types; skops.io.load refuses the file unless each is passed as trusted)",
                sk.untrusted_types.join(", ")
            );
        }
    } else if !i.streams.is_empty() || i.npy.is_none() {
        let _ = writeln!(
            out,
            "  protocol   {}, {streams}, {} opcodes",
            i.protocol(),
            thousands(ops)
        );
    }
    if let Some(t) = i.trailing {
        let _ = writeln!(
            out,
            "  trailing   {} bytes after the last stream, at offset {}",
            thousands(t.len),
            t.offset
        );
    }

    let view = &i.view;
    out.push('\n');
    let _ = writeln!(out, "{}", bold("Estimators"));
    if view.estimators.is_empty() {
        out.push_str("  (none recognised)\n");
    } else {
        estimator_tree(view, options.all_estimators, &mut out);
    }

    out.push('\n');
    let _ = writeln!(out, "{}", bold("Settings (parallelism and device)"));
    let shown: Vec<_> = view
        .settings
        .iter()
        .filter(|s| options.all_settings || s.value != SettingValue::None)
        .collect();
    if shown.is_empty() {
        out.push_str("  (none set)\n");
    } else {
        let build = |with_raw: bool| {
            let mut table = new_table(options.color);
            let mut names = vec!["sklearn path", "value", "class"];
            if with_raw {
                names.push("raw path");
            }
            names.push("offset");
            table.set_header(header(&names, options.color));
            for s in &shown {
                let class = view.estimators[s.estimator].class_name().to_string();
                let mut row = vec![
                    Cell::new(&s.sklearn_path),
                    Cell::new(s.value.to_string()),
                    Cell::new(class),
                ];
                if with_raw {
                    row.push(Cell::new(&s.raw_path));
                }
                row.push(Cell::new(s.offset).set_alignment(CellAlignment::Right));
                table.add_row(row);
            }
            table
        };
        let _ = writeln!(out, "{}", super::fit_table(&build, options.width));
    }
    let hidden = view.settings.len() - shown.len();
    if hidden > 0 {
        let _ = writeln!(
            out,
            "  + {hidden} set to None (the library default), not shown: --all-settings lists them"
        );
    }

    out.push('\n');
    let total: u64 = view.arrays.iter().map(|a| a.nbytes).sum();
    let _ = writeln!(
        out,
        "{}  {} array{}, {} of data",
        bold("Arrays"),
        thousands(view.arrays.len() as u64),
        if view.arrays.len() == 1 { "" } else { "s" },
        human_bytes(total)
    );
    if let Some(largest) = view.arrays.iter().max_by_key(|a| a.nbytes) {
        let _ = writeln!(out, "  largest  {}", describe_array(largest));
    }
    if options.all_arrays && !view.arrays.is_empty() {
        let mut table = new_table(options.color);
        table.set_header(header(
            &["path", "shape", "dtype", "bytes", "storage"],
            options.color,
        ));
        for a in &view.arrays {
            table.add_row(vec![
                Cell::new(&a.path),
                Cell::new(shape(a)),
                Cell::new(a.dtype.as_deref().unwrap_or("?")),
                Cell::new(thousands(a.nbytes)).set_alignment(CellAlignment::Right),
                Cell::new(
                    serde_json::to_value(a.storage)
                        .map(|v| v.as_str().unwrap_or("").to_string())
                        .unwrap_or_default(),
                ),
            ]);
        }
        let _ = writeln!(out, "{table}");
    }

    out.push('\n');
    let _ = writeln!(
        out,
        "{}  {} needed to load",
        bold("Globals"),
        view.globals.len()
    );
    if view.globals.is_empty() {
        out.push_str("  (none: loading imports nothing)\n");
    } else {
        let mut table = new_table(options.color);
        table.set_header(header(&["global", "refs", "called"], options.color));
        for g in &view.globals {
            table.add_row(vec![
                Cell::new(format!("{}.{}", g.module, g.name)),
                Cell::new(g.count).set_alignment(CellAlignment::Right),
                Cell::new(if g.called { "yes" } else { "" }),
            ]);
        }
        let _ = writeln!(out, "{table}");
    }

    out.push('\n');
    let mut versions: Vec<String> = view
        .sklearn_versions
        .iter()
        .map(|(v, n)| {
            format!(
                "scikit-learn {v} ({n} estimator{})",
                if *n == 1 { "" } else { "s" }
            )
        })
        .collect();
    versions.extend(
        view.library_versions
            .iter()
            .map(|(lib, v)| format!("{lib} {v}")),
    );
    let _ = writeln!(
        out,
        "{}  {}",
        bold("Versions"),
        if versions.is_empty() {
            "none recorded".to_string()
        } else {
            versions.join(", ")
        }
    );

    if !i.storages.is_empty() {
        tensors_section(i, options, &mut out);
    }

    if !i.anomalies.is_empty() || !view.warnings.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "{}", bold("Notes"));
        for a in &i.anomalies {
            let (_, detail) = a.kind.describe();
            let _ = writeln!(
                out,
                "  offset {} ({}): {detail}",
                a.offset,
                a.opcode.unwrap_or("-")
            );
        }
        for w in &view.warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    out.push('\n');
    let f = options.findings;
    let count = |sev: crate::rules::Severity| f.iter().filter(|x| x.severity == sev).count();
    let _ = writeln!(
        out,
        "{}  {}",
        bold("Findings"),
        if f.is_empty() {
            "none (the rules of `artifact check`, with its defaults)".to_string()
        } else {
            let counts: Vec<String> = [
                (crate::rules::Severity::Error, "error"),
                (crate::rules::Severity::Warning, "warning"),
                (crate::rules::Severity::Info, "info"),
            ]
            .into_iter()
            .filter(|(sev, _)| count(*sev) > 0)
            .map(|(sev, word)| {
                let n = count(sev);
                format!("{n} {word}{}", if n == 1 { "" } else { "s" })
            })
            .collect();
            format!(
                "{} (defaults here; `artifact check` applies your configuration)",
                counts.join(", ")
            )
        }
    );
    for x in f {
        let at = x
            .offset
            .map(|o| format!("offset {o}: "))
            .unwrap_or_default();
        let _ = writeln!(out, "  {at}{} {} {}", x.code, x.severity, x.message);
    }
    out
}

/// How many tensors, and members, the archive section lists unless `--all-arrays`.
const TENSORS_SHOWN: usize = 20;
const MEMBERS_SHOWN: usize = 50;

/// A zip archive: its members, and for a PyTorch checkpoint its tensors and storages. The
/// members read as artifacts are rendered after it, each on its own.
fn render_archive(i: &Inspection, archive: &ArchiveInspection, options: &Options) -> String {
    let mut out = String::new();
    let paint = Paint {
        color: options.color,
    };
    let bold = |s: &str| paint.paint(BOLD, s);
    let _ = writeln!(out, "{}", bold(&i.path));
    let read: Vec<&str> = archive
        .members
        .iter()
        .filter(|m| m.read.is_some())
        .map(|m| m.name.as_str())
        .collect();
    let kind = match i.format {
        "zip" => "zip".to_string(),
        other => format!("{other} (a zip)"),
    };
    let _ = writeln!(
        out,
        "  container  {kind}, {} member{}, {} bytes",
        thousands(archive.members.len() as u64),
        if archive.members.len() == 1 { "" } else { "s" },
        thousands(i.file_size)
    );
    if read.is_empty() {
        out.push_str("  read       no member holds a pickle: nothing here is unpickled\n");
    } else {
        let _ = writeln!(
            out,
            "  read       {} (each below, as {}!<member>)",
            read.join(", "),
            i.path
        );
    }
    out.push('\n');
    let _ = writeln!(out, "{}", bold("Members"));
    let storages = archive
        .members
        .iter()
        .filter(|m| m.kind == "storage")
        .count();
    let mut table = new_table(options.color);
    table.set_header(header(
        &["member", "holds", "method", "size", "offset"],
        options.color,
    ));
    let mut hidden_storages = 0;
    let mut hidden = 0;
    let mut shown = 0;
    for m in &archive.members {
        // A checkpoint has one storage member per tensor: the tensor table says more.
        if m.kind == "storage" && !options.all_arrays && storages > 3 {
            hidden_storages += 1;
            continue;
        }
        if shown == MEMBERS_SHOWN && !options.all_arrays {
            hidden += 1;
            continue;
        }
        shown += 1;
        table.add_row(vec![
            Cell::new(&m.name),
            Cell::new(&m.kind),
            Cell::new(&m.method),
            Cell::new(thousands(m.size)).set_alignment(CellAlignment::Right),
            Cell::new(m.offset).set_alignment(CellAlignment::Right),
        ]);
    }
    let _ = writeln!(out, "{table}");
    if hidden_storages > 0 {
        let _ = writeln!(
            out,
            "  + {hidden_storages} storage members, not shown: --all-arrays lists them"
        );
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "  + {} more members, not shown: --all-arrays lists them",
            thousands(hidden)
        );
    }
    if matches!(
        archive.kind,
        crate::container::zip::ArchiveKind::PyTorch { .. }
    ) {
        tensors_section(i, options, &mut out);
    }
    out
}

/// A PyTorch checkpoint's tensors (name, dtype, shape, bytes) and storage totals.
fn tensors_section(i: &Inspection, options: &Options, out: &mut String) {
    let paint = Paint {
        color: options.color,
    };
    let tensors = i.tensors();
    let viewed: u64 = tensors.iter().map(|t| t.nbytes).sum();
    out.push('\n');
    let _ = writeln!(
        out,
        "{}  {} tensor{}, {} in view; {} storage{}, {} in the file",
        paint.paint(BOLD, "Tensors"),
        thousands(tensors.len() as u64),
        if tensors.len() == 1 { "" } else { "s" },
        human_bytes(viewed),
        thousands(i.storages.len() as u64),
        if i.storages.len() == 1 { "" } else { "s" },
        human_bytes(i.storage_bytes())
    );
    if !tensors.is_empty() {
        let mut table = new_table(options.color);
        table.set_header(header(&["name", "dtype", "shape", "bytes"], options.color));
        let shown = if options.all_arrays {
            tensors.len()
        } else {
            TENSORS_SHOWN
        };
        for t in tensors.iter().take(shown) {
            table.add_row(vec![
                Cell::new(tensor_name(&t.path)),
                Cell::new(t.dtype.as_deref().unwrap_or("?")),
                Cell::new(shape(t)),
                Cell::new(thousands(t.nbytes)).set_alignment(CellAlignment::Right),
            ]);
        }
        let _ = writeln!(out, "{table}");
        if tensors.len() > shown {
            let _ = writeln!(
                out,
                "  + {} more, not shown: --all-arrays lists them",
                tensors.len() - shown
            );
        }
    }
    let missing: Vec<&str> = i
        .storages
        .iter()
        .filter(|s| s.member.is_none())
        .map(|s| s.key.as_str())
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(
            out,
            "  storages the file lacks (torch.load fails on them): {}",
            missing.join(", ")
        );
    }
}

/// A state dict's key path as torch names parameters: `['state_dict']['fc.weight']`
/// reads `state_dict.fc.weight`. Paths through anything but string keys stay as they are.
fn tensor_name(path: &str) -> String {
    let mut parts = Vec::new();
    let mut rest = path;
    while let Some(inner) = rest.strip_prefix("['") {
        let Some(end) = inner.find("']") else {
            return path.to_string();
        };
        parts.push(&inner[..end]);
        rest = &inner[end + 2..];
    }
    if rest.is_empty() && !parts.is_empty() {
        parts.join(".")
    } else {
        path.to_string()
    }
}

fn shape(a: &ArrayInfo) -> String {
    a.shape.as_deref().map_or_else(|| "?".into(), shape_of)
}

/// As Python writes a tuple: `(3, 4)`, `(5,)`, `()`.
fn shape_of(dims: &[u64]) -> String {
    format!(
        "({}{})",
        dims.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        if dims.len() == 1 { "," } else { "" }
    )
}

fn describe_array(a: &ArrayInfo) -> String {
    format!(
        "{} {} {} at {}",
        human_bytes(a.nbytes),
        a.dtype.as_deref().unwrap_or("?"),
        shape(a),
        if a.path.is_empty() {
            "the root"
        } else {
            &a.path
        }
    )
}

/// `estimators_[0]` .. `estimators_[29]` as `estimators_[0..29]`, when the paths differ
/// only in one index that counts up by one.
fn index_range(paths: &[&str]) -> Option<String> {
    let split = |p: &str| -> Option<(String, u64, String)> {
        let open = p.rfind('[')?;
        let close = open + p[open..].find(']')?;
        let n = p[open + 1..close].parse::<u64>().ok()?;
        Some((p[..open].to_string(), n, p[close + 1..].to_string()))
    };
    let parts: Vec<_> = paths.iter().map(|p| split(p)).collect::<Option<_>>()?;
    let (prefix, first, suffix) = parts.first()?.clone();
    let consecutive = parts
        .iter()
        .enumerate()
        .all(|(i, (p, n, s))| *p == prefix && *s == suffix && *n == first + i as u64);
    consecutive.then(|| {
        format!(
            "{prefix}[{first}..{}]{suffix}",
            first + parts.len() as u64 - 1
        )
    })
}

/// Draws the estimators as a tree, children under their parent in discovery order.
/// Runs of three or more sibling leaves of one class (a forest's trees, a bagging's
/// clones) are drawn as one line, `30 x DecisionTreeClassifier`, unless `all`.
fn estimator_tree(view: &ModelView, all: bool, out: &mut String) {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); view.estimators.len()];
    let mut roots = Vec::new();
    for (i, e) in view.estimators.iter().enumerate() {
        match e.parent {
            Some(p) => children[p].push(i),
            None => roots.push(i),
        }
    }
    // Lines of one parent's children: an estimator, or a run of alike leaves.
    let groups = |kids: &[usize]| -> Vec<Vec<usize>> {
        let mut out: Vec<Vec<usize>> = Vec::new();
        for &k in kids {
            let e = &view.estimators[k];
            let alike = |g: &Vec<usize>| {
                let first = &view.estimators[g[0]];
                !all && children[k].is_empty()
                    && children[g[0]].is_empty()
                    && first.class == e.class
                    && first.fitted == e.fitted
                    && first.template == e.template
                    && first.sklearn_path.last() == e.sklearn_path.last()
            };
            match out.last_mut() {
                Some(g) if alike(g) => g.push(k),
                _ => out.push(vec![k]),
            }
        }
        // Two alike siblings read better as two lines.
        out.into_iter()
            .flat_map(|g| {
                if g.len() >= 3 {
                    vec![g]
                } else {
                    g.into_iter().map(|k| vec![k]).collect()
                }
            })
            .collect()
    };
    // (estimators on this line, prefix for its children, connector for itself)
    let mut stack: Vec<(Vec<usize>, String, String)> = groups(&roots)
        .into_iter()
        .rev()
        .map(|g| (g, "  ".to_string(), "  ".to_string()))
        .collect();
    while let Some((group, prefix, connector)) = stack.pop() {
        let i = group[0];
        let e = &view.estimators[i];
        let name = e
            .sklearn_path
            .last()
            .map(|n| format!("{n}: "))
            .unwrap_or_default();
        let fitted = if e.template {
            " (template)"
        } else if e.fitted {
            " (fitted)"
        } else {
            ""
        };
        let raw_paths: Vec<&str> = group
            .iter()
            .map(|&g| view.estimators[g].raw_path.as_str())
            .collect();
        let raw = if e.raw_path.is_empty() {
            String::new()
        } else if group.len() == 1 {
            format!("  [{}]", e.raw_path)
        } else {
            let shown = index_range(&raw_paths).unwrap_or_else(|| format!("{} ...", raw_paths[0]));
            format!("  [{shown}]  (--all lists each)")
        };
        let count = if group.len() > 1 {
            format!("{} x ", group.len())
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{connector}{name}{count}{}{fitted}{raw}",
            e.class_name()
        );
        let kids = groups(&children[i]);
        let lines = kids.len();
        for (n, child) in kids.into_iter().enumerate().rev() {
            let last = n + 1 == lines;
            let connector = format!("{prefix}{}", if last { "└─ " } else { "├─ " });
            let child_prefix = format!("{prefix}{}", if last { "   " } else { "│  " });
            stack.push((child, child_prefix, connector));
        }
    }
}
