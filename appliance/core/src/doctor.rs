//! `shoeboxd doctor`: compares the library on disk with the catalogue and reports every difference.
//! It never deletes or changes anything; the owner decides.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use crate::catalogue::Catalogue;
use crate::error::{IoContext, Result};
use crate::ingest::{Library, TMP_DIR};
use crate::workspaces;

#[derive(Debug, Default)]
pub struct Report {
    pub assets_checked: usize,
    /// `workspace/path` of rows whose file is missing.
    pub rows_without_files: Vec<String>,
    /// `workspace/path` of files no row knows.
    pub files_without_rows: Vec<String>,
    /// Rows whose file has a different size than recorded.
    pub size_mismatches: Vec<String>,
}

impl Report {
    pub fn is_consistent(&self) -> bool {
        self.rows_without_files.is_empty() && self.files_without_rows.is_empty() && self.size_mismatches.is_empty()
    }
}

pub fn check(cat: &Catalogue, library: &Library) -> Result<Report> {
    let mut report = Report::default();
    let spaces = cat.read(workspaces::list)?;
    for ws in spaces {
        let rows: Vec<(String, u64)> = cat.read(|c| {
            let mut stmt =
                c.prepare("SELECT rel_path, size FROM assets WHERE workspace_id = ?1 AND state = 'ready'")?;
            let rows = stmt.query_map([ws.id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })?;
        let root = library.workspace_root(&ws);
        let mut known = HashSet::with_capacity(rows.len());
        for (rel, size) in rows {
            report.assets_checked += 1;
            match fs::metadata(root.join(&rel)) {
                Ok(meta) if meta.len() == size => {}
                Ok(_) => report.size_mismatches.push(format!("{}/{rel}", ws.slug)),
                Err(_) => report.rows_without_files.push(format!("{}/{rel}", ws.slug)),
            }
            known.insert(rel);
        }
        // The WebDAV tree's other names: hard links to assets, and files that are not media.
        let other_names: Vec<String> = cat.read(|c| {
            let mut stmt = c.prepare("SELECT path FROM dav_files WHERE workspace_id = ?1")?;
            let rows = stmt.query_map([ws.id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })?;
        let mut files = Vec::new();
        if root.is_dir() {
            walk(&root, &root, &mut files)?;
        }
        let on_disk: HashSet<&String> = files.iter().collect();
        for rel in other_names {
            if !on_disk.contains(&rel) {
                report.rows_without_files.push(format!("{}/{rel}", ws.slug));
            }
            known.insert(rel);
        }
        for rel in &files {
            if !known.contains(rel) {
                report.files_without_rows.push(format!("{}/{rel}", ws.slug));
            }
        }
    }
    Ok(report)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in fs::read_dir(dir).ctx(|| format!("listing {}", dir.display()))? {
        let entry = entry.ctx(|| format!("listing {}", dir.display()))?;
        let path = entry.path();
        let kind = entry.file_type().ctx(|| format!("reading {}", path.display()))?;
        if entry.file_name() == TMP_DIR {
            continue;
        }
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(())
}
