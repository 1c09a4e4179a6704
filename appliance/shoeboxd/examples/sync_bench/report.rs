//! The table of figures, printed once everything ran (each figure is also logged as it comes, so
//! a run cut short still says something), and the helpers that summarise what was measured.

use std::collections::BTreeMap;

#[derive(Default)]
pub struct Table {
    rows: Vec<[String; 5]>,
}

impl Table {
    /// One figure: what it is, ours, the reference's (or "-"), the ratio and the goal.
    pub fn add(&mut self, figure: &str, ours: String, reference: Option<String>, ratio: Option<f64>, goal: &str) {
        let row = [
            figure.to_string(),
            ours,
            reference.unwrap_or_else(|| "-".into()),
            ratio.map_or_else(|| "-".into(), |r| format!("{r:.2}")),
            goal.to_string(),
        ];
        eprintln!("  {}: {} (reference {}, ratio {}; goal {})", row[0], row[1], row[2], row[3], row[4]);
        self.rows.push(row);
    }

    pub fn print(&self) {
        let header = ["figure", "ours", "plain reference", "ratio", "goal"].map(String::from);
        let mut widths = [0; 5];
        for row in std::iter::once(&header).chain(&self.rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |row: &[String; 5]| {
            let cells: Vec<String> = row.iter().zip(widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
            println!("| {} |", cells.join(" | "));
        };
        line(&header);
        line(&widths.map(|w| "-".repeat(w)));
        for row in &self.rows {
            line(row);
        }
    }
}

/// The `p`th percentile (0..=1) of sorted values, by nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Requests counted by kind (`kinds` gives one per request), most frequent first: what a figure
/// spent its requests on.
pub fn summary(kinds: impl Iterator<Item = String>) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for kind in kinds {
        *counts.entry(kind).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    let parts: Vec<String> = counts.iter().map(|(kind, count)| format!("{count} x {kind}")).collect();
    if parts.is_empty() {
        "no requests".into()
    } else {
        parts.join(", ")
    }
}

/// The kind of a request to s3s-fs: its method and whether it lists (keys and signatures dropped).
pub fn s3_kind(method: &str, path_and_query: &str) -> String {
    let what = if path_and_query.contains("list-type") { "listing" } else { "object" };
    format!("{method} {what}")
}

/// The kind of a request in the Drive fake's log (`METHOD /path?query`): ids become `{id}`, and
/// of the query only `uploadType` and `alt` are kept.
pub fn drive_kind(line: &str) -> String {
    let (method, rest) = line.split_once(' ').unwrap_or((line, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut after_files = false;
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| {
            let id = after_files;
            after_files = segment == "files";
            if id {
                "{id}"
            } else {
                segment
            }
        })
        .collect();
    let kept: Vec<&str> = query.split('&').filter(|p| p.starts_with("uploadType=") || p.starts_with("alt=")).collect();
    let query = if kept.is_empty() { String::new() } else { format!("?{}", kept.join("&")) };
    format!("{method} {}{query}", segments.join("/"))
}
