//! Human output of `artifact verify`: outputs compared, runtime measured, the verdict.

use comfy_table::{Cell, CellAlignment};

use super::style::table;
use crate::units::human_bytes;
use crate::verify::{Counter, Profile, Report, Spread, Verdict};

/// The outputs table (unless a side failed to load), the runtime table, the verdict.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    for p in [&r.original, &r.candidate] {
        if let Some(why) = &p.failure {
            out.push_str(&format!("{}: could not be verified: {why}\n", p.path));
            let tail = p
                .runtime
                .last()
                .map_or(&p.equivalence.stderr_tail, |rt| &rt.run.stderr_tail);
            for line in tail
                .lines()
                .rev()
                .take(6)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    if r.verdict != Verdict::Failed {
        let mut outputs = table(false);
        outputs.set_header(vec![
            "method",
            "outputs (pinned to one worker)",
            "rows differing",
            "max abs",
            "max rel",
        ]);
        for (name, m) in &r.original.methods {
            let d = r.differences.get(name);
            let status = match (d, &m.sha256) {
                (None, Some(h)) => format!("identical  sha256 {}", &h[..12]),
                (None, None) => format!(
                    "NOT COMPUTED: raised in both ({})",
                    m.error.as_deref().unwrap_or("no output")
                ),
                (Some(d), _) if d.incompatible.is_some() => {
                    format!("DIFFERENT ({})", d.incompatible.as_deref().unwrap_or(""))
                }
                (Some(d), _) if d.within_tolerance => "within tolerance".into(),
                (Some(_), _) => "DIFFERENT".into(),
            };
            let num = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x:.3e}"));
            outputs.add_row(vec![
                Cell::new(name),
                Cell::new(status),
                Cell::new(d.map_or(String::new(), |d| {
                    format!("{} of {}", d.rows_differing, d.rows)
                })),
                Cell::new(num(d.and_then(|d| d.max_abs))),
                Cell::new(num(d.and_then(|d| d.max_rel))),
            ]);
        }
        out.push_str(&format!("{outputs}\n\n"));
    }
    let mut runtime = table(false);
    runtime.set_header(vec!["runtime (unpinned)", "original", "candidate"]);
    let cell = |p: &Profile, f: &dyn Fn(&Profile) -> Option<String>| {
        Cell::new(f(p).unwrap_or_else(|| "-".into())).set_alignment(CellAlignment::Right)
    };
    // The median, and the range when the runs disagree.
    let shown = |s: Option<Spread>, f: &dyn Fn(f64) -> String| {
        s.map(|s| {
            let (lo, hi) = (f(s.min), f(s.max));
            if lo == hi {
                f(s.median)
            } else {
                format!("{} ({lo}-{hi})", f(s.median))
            }
        })
    };
    let bytes = |x: f64| human_bytes(x as u64);
    let count = |x: f64| format!("{}", x.round() as u64);
    let secs = |x: f64| format!("{x:.3} s");
    type Measure<'a> = Box<dyn Fn(&Profile) -> Option<String> + 'a>;
    // Counted by the kernel unless the system forbids ptrace: then say the count can
    // miss processes made in C.
    let hooks = [&r.original, &r.candidate].iter().any(|p| {
        p.runtime
            .iter()
            .any(|run| run.counted_by == Counter::Python)
    });
    let started = if hooks {
        "child processes started (Python hooks: ptrace is not allowed here)"
    } else {
        "child processes started"
    };
    let rows: Vec<(&str, Measure)> = vec![
        ("load", Box::new(|p| p.load_seconds.map(secs))),
        (
            "peak RSS (process tree)",
            Box::new(|p| shown(p.runtime_spread(|r| Some(r.run.peak_rss as f64)), &bytes)),
        ),
        (
            started,
            Box::new(|p| {
                shown(
                    p.runtime_spread(|r| r.processes_started.map(|n| n as f64)),
                    &count,
                )
            }),
        ),
        (
            "most child processes at once",
            Box::new(|p| {
                shown(
                    p.runtime_spread(|r| Some(r.run.max_children as f64)),
                    &count,
                )
            }),
        ),
        (
            "most threads",
            Box::new(|p| shown(p.runtime_spread(|r| Some(r.run.max_threads as f64)), &count)),
        ),
    ];
    for (label, f) in &rows {
        runtime.add_row(vec![
            Cell::new(label),
            cell(&r.original, f.as_ref()),
            cell(&r.candidate, f.as_ref()),
        ]);
    }
    for name in r.original.methods.keys() {
        let time = |p: &Profile| {
            p.methods
                .get(name)
                .and_then(|m| shown(Spread::of(m.seconds.iter().copied()), &secs))
        };
        runtime.add_row(vec![
            Cell::new(name),
            cell(&r.original, &time),
            cell(&r.candidate, &time),
        ]);
    }
    let runs = r.original.runtime.len().max(r.candidate.runtime.len());
    if runs > 1 {
        runtime.add_row(vec![
            Cell::new(format!("(median of {runs} runs; range in brackets)")),
            Cell::new(""),
            Cell::new(""),
        ]);
    }
    out.push_str(&format!("{runtime}\n\n"));
    out.push_str(&match r.verdict {
        Verdict::Identical => "Verified: every output is identical.\n".to_string(),
        Verdict::WithinTolerance => {
            "Verified within the tolerance: labels identical, floats within it.\n".to_string()
        }
        Verdict::Different => format!(
            "NOT verified: {} method(s) give different outputs.\n",
            r.differences.len()
        ),
        Verdict::Failed => {
            "NOT verified: an artifact could not be loaded or run (see above).\n".to_string()
        }
        Verdict::NotProven => {
            "NOT verified: no method produced an output on the sample, so nothing was compared (errors above).\n"
                .to_string()
        }
    });
    out
}
