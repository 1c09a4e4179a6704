//! Folder templates (`{year}/{year}-{month}-{day}/{filename}`) and the sanitising that keeps every
//! rendered path inside the library, portable to FAT/SMB clients, and in Unicode NFC.

use unicode_normalization::UnicodeNormalization;

use crate::error::{CoreError, Result};

pub const DEFAULT_TEMPLATE: &str = "{year}/{year}-{month}-{day}/{filename}";

/// Longest path component in bytes; ext4 and most others allow 255, and a clash suffix needs room.
pub const MAX_COMPONENT_BYTES: usize = 200;
const MAX_TEMPLATE_LEN: usize = 512;

const VARIABLES: &[&str] = &[
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "event",
    "title",
    "user",
    "device",
    "filename",
    "name",
    "ext",
    "workspace",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(&'static str),
}

/// A parsed, validated template: path segments, each a list of pieces.
#[derive(Debug, Clone)]
pub struct FolderTemplate {
    segments: Vec<Vec<Piece>>,
}

/// Values for one file. Empty strings are allowed (no event, no title).
#[derive(Debug, Default)]
pub struct TemplateValues<'a> {
    pub local_time: Option<chrono::NaiveDateTime>,
    pub event: &'a str,
    pub title: &'a str,
    pub user: &'a str,
    pub device: &'a str,
    /// The sanitised original file name, with extension.
    pub filename: &'a str,
    pub workspace: &'a str,
}

impl FolderTemplate {
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: String| CoreError::invalid("folder_template", reason);
        if text.is_empty() || text.len() > MAX_TEMPLATE_LEN {
            return Err(bad(format!("must be 1 to {MAX_TEMPLATE_LEN} bytes")));
        }
        if text.starts_with('/') || text.contains('\\') {
            return Err(bad("must be a relative path with '/' separators".into()));
        }
        let mut segments = Vec::new();
        for raw in text.split('/') {
            if raw.is_empty() || raw == "." || raw == ".." {
                return Err(bad(format!("has an empty, '.' or '..' segment in {text:?}")));
            }
            segments.push(parse_segment(raw).map_err(bad)?);
        }
        let last = segments.last().map(Vec::as_slice).unwrap_or_default();
        let names_file = last.iter().any(|p| matches!(p, Piece::Var("filename") | Piece::Var("name")));
        if !names_file {
            return Err(bad("the last segment must contain {filename} or {name}".into()));
        }
        if last.contains(&Piece::Var("name")) && !last.contains(&Piece::Var("ext")) {
            let mut with_ext = last.to_vec();
            with_ext.push(Piece::Text(".".into()));
            with_ext.push(Piece::Var("ext"));
            if let Some(slot) = segments.last_mut() {
                *slot = with_ext;
            }
        }
        Ok(FolderTemplate { segments })
    }

    /// Renders the relative path components for one file. Directory segments that come out empty
    /// (say `{event}` with no event) are left out; the file name never is.
    pub fn render(&self, v: &TemplateValues<'_>) -> Vec<String> {
        let (name, ext) = split_ext(v.filename);
        let two = |n: Option<u32>| n.map(|n| format!("{n:02}")).unwrap_or_default();
        use chrono::{Datelike, Timelike};
        let t = v.local_time;
        let value = |var: &str| -> String {
            match var {
                "year" => t.map(|t| format!("{:04}", t.year())).unwrap_or_default(),
                "month" => two(t.map(|t| t.month())),
                "day" => two(t.map(|t| t.day())),
                "hour" => two(t.map(|t| t.hour())),
                "minute" => two(t.map(|t| t.minute())),
                "second" => two(t.map(|t| t.second())),
                "event" => v.event.to_string(),
                "title" => v.title.to_string(),
                "user" => v.user.to_string(),
                "device" => v.device.to_string(),
                "filename" => v.filename.to_string(),
                "name" => name.to_string(),
                "ext" => ext.to_string(),
                "workspace" => v.workspace.to_string(),
                _ => String::new(),
            }
        };
        let last = self.segments.len().saturating_sub(1);
        let mut out = Vec::with_capacity(self.segments.len());
        for (i, segment) in self.segments.iter().enumerate() {
            let rendered: String = segment
                .iter()
                .map(|piece| match piece {
                    Piece::Text(s) => s.clone(),
                    // A value never adds directories of its own.
                    Piece::Var(var) => value(var).replace(['/', '\\'], "_"),
                })
                .collect();
            if i < last && rendered.trim().is_empty() {
                continue;
            }
            out.push(sanitize_component(&rendered));
        }
        out
    }
}

fn parse_segment(raw: &str) -> std::result::Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = raw;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| format!("unclosed '{{' in {raw:?}"))?;
        let name = &after[..close];
        let var = VARIABLES
            .iter()
            .find(|v| **v == name)
            .ok_or_else(|| format!("unknown variable {{{name}}}; known: {}", VARIABLES.join(", ")))?;
        pieces.push(Piece::Var(var));
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("stray '}}' in {raw:?}"));
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(pieces)
}

/// Splits `name.ext`; a leading dot (".profile") is part of the name.
pub fn split_ext(filename: &str) -> (&str, &str) {
    match filename.rfind('.') {
        Some(dot) if dot > 0 && dot + 1 < filename.len() => (&filename[..dot], &filename[dot + 1..]),
        _ => (filename, ""),
    }
}

/// Makes one path component safe: NFC, no separators, control or reserved characters, no `.`/`..`,
/// no leading/trailing spaces or trailing dots, at most `MAX_COMPONENT_BYTES` (keeping the extension).
pub fn sanitize_component(raw: &str) -> String {
    let cleaned: String = raw
        .nfc()
        .map(|c| match c {
            '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = cleaned.trim().trim_end_matches('.').trim_end();
    let mut name =
        if trimmed.is_empty() || trimmed.chars().all(|c| c == '.') { "_".to_string() } else { trimmed.to_string() };
    if name.len() > MAX_COMPONENT_BYTES {
        name = truncate_keeping_ext(&name, MAX_COMPONENT_BYTES);
    }
    name
}

fn truncate_keeping_ext(name: &str, max: usize) -> String {
    let (stem, ext) = split_ext(name);
    let ext = if ext.len() <= 16 { ext } else { "" };
    let room = max.saturating_sub(if ext.is_empty() { 0 } else { ext.len() + 1 });
    let mut cut = room.min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    if ext.is_empty() {
        stem[..cut].to_string()
    } else {
        format!("{}.{ext}", &stem[..cut])
    }
}

/// The client's file name reduced to its last component (clients send paths, some with `\`).
pub fn original_name(client_name: &str, fallback_ext: &str) -> String {
    let last = client_name.rsplit(['/', '\\']).next().unwrap_or_default();
    let name = sanitize_component(last);
    if name == "_" {
        format!("upload.{fallback_ext}")
    } else {
        name
    }
}

/// `name (n).ext` for the n-th clash.
pub fn with_counter(filename: &str, n: u32) -> String {
    let (stem, ext) = split_ext(filename);
    let suffix = format!(" ({n})");
    let stem = truncate_keeping_ext(stem, MAX_COMPONENT_BYTES.saturating_sub(suffix.len() + ext.len() + 1));
    if ext.is_empty() {
        format!("{stem}{suffix}")
    } else {
        format!("{stem}{suffix}.{ext}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Option<chrono::NaiveDateTime> {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok()
    }

    #[test]
    fn default_template() -> Result<()> {
        let t = FolderTemplate::parse(DEFAULT_TEMPLATE)?;
        let v = TemplateValues { local_time: at("2023-07-04T18:30:00"), filename: "IMG_1.JPG", ..Default::default() };
        assert_eq!(t.render(&v), ["2023", "2023-07-04", "IMG_1.JPG"]);
        Ok(())
    }

    #[test]
    fn values_cannot_make_directories_or_escape() -> Result<()> {
        let t = FolderTemplate::parse("{event}/{title}/{name}")?;
        let v = TemplateValues { event: "../../etc", title: "", filename: "a.jpg", ..Default::default() };
        assert_eq!(t.render(&v), [".._.._etc", "a.jpg"]);
        Ok(())
    }

    #[test]
    fn bad_templates_are_refused() {
        for bad in ["", "/abs/{filename}", "{year}/../{filename}", "{year}", "{nope}/{filename}", "{year/{filename}"] {
            assert!(FolderTemplate::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn sanitising() {
        assert_eq!(sanitize_component(".."), "_");
        assert_eq!(sanitize_component("a\u{0}b"), "a_b");
        assert_eq!(sanitize_component("Cafe\u{301}.jpg"), "Caf\u{e9}.jpg");
        assert_eq!(original_name("../../etc/passwd.jpg", "jpg"), "passwd.jpg");
        assert_eq!(original_name("C:\\Users\\x\\IMG.jpg", "jpg"), "IMG.jpg");
        assert_eq!(original_name("/", "jpg"), "upload.jpg");
        let long = format!("{}.jpeg", "é".repeat(500));
        let cut = sanitize_component(&long);
        assert!(cut.len() <= MAX_COMPONENT_BYTES && cut.ends_with(".jpeg"), "{cut}");
        assert_eq!(with_counter("a.jpg", 2), "a (2).jpg");
    }
}
