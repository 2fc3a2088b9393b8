//! Throughput vs concurrency as a hand-written SVG: one panel per workload, one line per target, a
//! logarithmic req/s axis because moto and the baseline are two orders of magnitude apart.

use std::fmt::Write;

use crate::suite::SuiteResult;
use crate::target::TargetKind;
use crate::workload::Workload;

const PANEL_W: f64 = 380.0;
const PANEL_H: f64 = 250.0;
const COLS: usize = 3;
const LEFT: f64 = 62.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 40.0;
const HEADER: f64 = 64.0;

fn colour(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::BaselineHttp => "#7f7f7f",
        TargetKind::BaselineTls => "#2f2f2f",
        TargetKind::CofferDev => "#1f77b4",
        TargetKind::CofferProd => "#d62728",
        TargetKind::CofferProdPg => "#9467bd",
        TargetKind::CofferProdPg2 => "#ff7f0e",
        TargetKind::Moto => "#2ca02c",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The decades [10^lo, 10^hi] that hold every value.
pub fn decades(values: &[f64]) -> (i32, i32) {
    let positive: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0).collect();
    if positive.is_empty() {
        return (0, 1);
    }
    let lo = positive.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = positive.iter().copied().fold(0.0, f64::max);
    let lo = lo.log10().floor() as i32;
    let hi = (hi.log10().ceil() as i32).max(lo + 1);
    (lo, hi)
}

pub fn throughput_svg(r: &SuiteResult) -> String {
    let workloads: Vec<Workload> = Workload::every()
        .filter(|w| {
            r.targets
                .iter()
                .any(|t| t.points.iter().any(|p| p.workload == *w))
        })
        .collect();
    let rows = workloads.len().div_ceil(COLS).max(1);
    let width = PANEL_W * COLS as f64;
    let height = HEADER + PANEL_H * rows as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">Successful requests/s vs concurrent connections ({}{})</text>"#,
        esc(&r.date),
        if r.quick { ", quick mode" } else { "" }
    );
    // Legend.
    let mut x = 10.0;
    for t in &r.targets {
        let c = colour(t.target);
        let _ = writeln!(
            s,
            r#"<line x1="{x:.1}" y1="42" x2="{:.1}" y2="42" stroke="{c}" stroke-width="2.5"/><text x="{:.1}" y="46">{}</text>"#,
            x + 22.0,
            x + 26.0,
            esc(&t.label)
        );
        x += 30.0 + 6.2 * t.label.chars().count() as f64;
    }

    let concurrencies = &r.concurrencies;
    for (i, w) in workloads.iter().enumerate() {
        let ox = PANEL_W * (i % COLS) as f64;
        let oy = HEADER + PANEL_H * (i / COLS) as f64;
        let (px0, px1) = (ox + LEFT, ox + PANEL_W - RIGHT);
        let (py0, py1) = (oy + TOP, oy + PANEL_H - BOTTOM);
        let values: Vec<f64> = r
            .targets
            .iter()
            .flat_map(|t| t.points.iter())
            .filter(|p| p.workload == *w)
            .map(|p| p.report.rps)
            .collect();
        let (lo, hi) = decades(&values);
        let y_of = |v: f64| py1 - (v.log10() - lo as f64) / (hi - lo) as f64 * (py1 - py0);
        let n = concurrencies.len().max(1);
        let x_of = |c: usize| {
            let idx = concurrencies.iter().position(|&k| k == c).unwrap_or(0);
            if n == 1 {
                (px0 + px1) / 2.0
            } else {
                px0 + 10.0 + idx as f64 * (px1 - px0 - 20.0) / (n - 1) as f64
            }
        };
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" font-weight="bold">{}</text><rect x="{px0}" y="{py0}" width="{}" height="{}" fill="none" stroke="#bbb"/>"##,
            ox + LEFT,
            oy + TOP - 8.0,
            esc(w.label()),
            px1 - px0,
            py1 - py0
        );
        for d in lo..=hi {
            let y = y_of(10f64.powi(d));
            let label = match d {
                d if d >= 6 => format!("{}M", 10i64.pow((d - 6) as u32)),
                d if d >= 3 => format!("{}k", 10i64.pow((d - 3) as u32)),
                d if d >= 0 => format!("{}", 10i64.pow(d as u32)),
                d => format!("1e{d}"),
            };
            let _ = writeln!(
                s,
                r##"<line x1="{px0}" y1="{y:.1}" x2="{px1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"##,
                px0 - 4.0,
                y + 4.0
            );
        }
        for &c in concurrencies {
            let xc = x_of(c);
            let _ = writeln!(
                s,
                r#"<text x="{xc:.1}" y="{:.1}" text-anchor="middle">{c}</text>"#,
                py1 + 14.0
            );
        }
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#555">connections</text>"##,
            (px0 + px1) / 2.0,
            py1 + 28.0
        );
        for t in &r.targets {
            let pts: Vec<(f64, f64)> = t
                .points
                .iter()
                .filter(|p| p.workload == *w && p.report.rps > 0.0 && p.report.target_rps.is_none())
                .map(|p| (x_of(p.report.concurrency), y_of(p.report.rps)))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let c = colour(t.target);
            let path: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"/>"#,
                path.join(" ")
            );
            for (x, y) in pts {
                let _ = writeln!(s, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{c}"/>"#);
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decades_cover_the_values() {
        assert_eq!(decades(&[550.0, 69_000.0]), (2, 5));
        assert_eq!(decades(&[0.0]), (0, 1));
        assert_eq!(decades(&[1000.0]), (3, 4));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("a<b & c>"), "a&lt;b &amp; c&gt;");
    }
}
