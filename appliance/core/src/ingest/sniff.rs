//! Recognises the media formats Shoebox stores from their first bytes, never from the file name.

use serde::Serialize;

/// How many leading bytes `sniff` needs to decide.
pub const SNIFF_LEN: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaType {
    pub mime: &'static str,
    /// The usual extension, used when the original name has none.
    pub ext: &'static str,
    pub kind: MediaKind,
}

impl MediaType {
    /// Raw formats built on TIFF (and TIFF itself): their metadata is read from the first bytes.
    pub fn is_tiff_based(&self) -> bool {
        self.mime == "image/tiff"
            || self.mime == "image/x-canon-cr2"
            || self.mime == "image/x-olympus-orf"
            || self.mime == "image/x-panasonic-rw2"
            || TIFF_RAWS.iter().any(|(_, mime)| *mime == self.mime)
    }
}

const fn image(mime: &'static str, ext: &'static str) -> MediaType {
    MediaType { mime, ext, kind: MediaKind::Image }
}

const fn video(mime: &'static str, ext: &'static str) -> MediaType {
    MediaType { mime, ext, kind: MediaKind::Video }
}

/// TIFF-based raw formats carry no magic of their own beyond TIFF's; the name's extension tells them
/// apart, and only among TIFF files.
const TIFF_RAWS: &[(&str, &str)] = &[
    ("dng", "image/x-adobe-dng"),
    ("nef", "image/x-nikon-nef"),
    ("arw", "image/x-sony-arw"),
    ("pef", "image/x-pentax-pef"),
    ("srw", "image/x-samsung-srw"),
];

/// Extensions of the formats `sniff` recognises (and their common spellings). A cloud import uses it
/// to skip downloading what cannot be media; the bytes still decide what is stored.
const MEDIA_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "png", "gif", "webp", "heic", "heif", "avif", "tif", "tiff", "dng", "nef", "arw", "pef",
    "srw", "cr2", "cr3", "orf", "rw2", "raf", "mp4", "m4v", "mov", "qt", "3gp", "3g2",
];

/// Whether a file of this name may be a photo or video Shoebox stores.
pub fn likely_media_name(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(_, ext)| MEDIA_EXTENSIONS.iter().any(|m| m.eq_ignore_ascii_case(ext)))
}

/// The media type of `head` (the first bytes of a file), or `None` when it is not a photo or video
/// format Shoebox stores. `original_ext` only refines TIFF into the raw format it carries.
pub fn sniff(head: &[u8], original_ext: Option<&str>) -> Option<MediaType> {
    use infer::{image as img, video as vid};
    let is_ftyp_brand = |brand: &[u8]| head.len() >= 12 && &head[4..8] == b"ftyp" && &head[8..12] == brand;

    if img::is_jpeg(head) {
        Some(image("image/jpeg", "jpg"))
    } else if img::is_png(head) {
        Some(image("image/png", "png"))
    } else if img::is_gif(head) {
        Some(image("image/gif", "gif"))
    } else if img::is_webp(head) {
        Some(image("image/webp", "webp"))
    } else if img::is_avif(head) {
        Some(image("image/avif", "avif"))
    } else if img::is_heif(head) {
        Some(image("image/heic", "heic"))
    } else if is_ftyp_brand(b"crx ") {
        Some(image("image/x-canon-cr3", "cr3"))
    } else if img::is_cr2(head) {
        Some(image("image/x-canon-cr2", "cr2"))
    } else if head.starts_with(b"FUJIFILMCCD-RAW") {
        Some(image("image/x-fuji-raf", "raf"))
    } else if head.starts_with(b"IIRO") || head.starts_with(b"IIRS") || head.starts_with(b"MMOR") {
        Some(image("image/x-olympus-orf", "orf"))
    } else if head.starts_with(b"IIU\0") {
        Some(image("image/x-panasonic-rw2", "rw2"))
    } else if img::is_tiff(head) {
        let ext = original_ext.map(str::to_ascii_lowercase);
        let raw = TIFF_RAWS.iter().find(|(e, _)| Some(*e) == ext.as_deref());
        Some(match raw {
            Some((ext, mime)) => image(mime, ext),
            None => image("image/tiff", "tif"),
        })
    } else if is_ftyp_brand(b"qt  ") || vid::is_mov(head) {
        Some(video("video/quicktime", "mov"))
    } else if vid::is_mp4(head) || vid::is_m4v(head) || is_ftyp_brand(b"3gp4") || is_ftyp_brand(b"3gp5") {
        Some(video("video/mp4", "mp4"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_magic_not_names() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF\0", Some("txt")).map(|m| m.mime), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", None).map(|m| m.mime), Some("image/png"));
        assert_eq!(sniff(b"hello, world, not a photo", Some("jpg")), None);
        assert_eq!(sniff(b"", Some("jpg")), None);
    }

    #[test]
    fn tiff_raws_are_told_apart_by_extension() {
        let tiff = b"II*\0\x08\0\0\0\x10\0\0\0\0\0\0\0";
        assert_eq!(sniff(tiff, Some("DNG")).map(|m| m.mime), Some("image/x-adobe-dng"));
        assert_eq!(sniff(tiff, Some("tif")).map(|m| m.mime), Some("image/tiff"));
    }

    #[test]
    fn video_containers() {
        let mut mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41".to_vec();
        mp4.resize(64, 0);
        assert_eq!(sniff(&mp4, None).map(|m| m.mime), Some("video/mp4"));
        let mut mov = b"\0\0\0\x14ftypqt  \0\0\0\0qt  ".to_vec();
        mov.resize(64, 0);
        assert_eq!(sniff(&mov, None).map(|m| m.mime), Some("video/quicktime"));
    }
}
