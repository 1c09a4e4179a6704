//! Thumbnails: made from the original on first request, cached on disk beside the library's other
//! working files (`.shoebox-tmp/thumbs/`), and named by content hash and size, so a cached one is
//! never stale. Decoding is held to limits: a file that claims to be 60,000 pixels square (a
//! decompression bomb) or needs more memory than the box can spare is answered with a placeholder,
//! never with an out-of-memory kill. Formats without a decoder here (HEIC, AVIF, raw, video) get a
//! placeholder too, until one exists.

use std::fs;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use crate::error::{IoContext, Result};
use crate::ingest::{Library, TMP_DIR};
use crate::model::Asset;
use crate::tokens::random_hex;

/// The sizes offered: the grid's, and the photo view's (longest side, pixels).
pub const SIZES: [u32; 2] = [256, 1024];

/// Larger than any camera's photo; a header claiming more is a bomb or a broken file.
const MAX_SIDE: u32 = 20_000;
/// What one decode may allocate: a 50-megapixel RGBA photo fits, a bomb does not.
const MAX_ALLOC: u64 = 256 << 20;
const QUALITY: u8 = 80;

/// Why a photo shows a placeholder instead of its thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// A video: no frame decoder on the box yet.
    Video,
    /// A format decoded elsewhere but not here yet (HEIC, AVIF, raw).
    NotDecodedYet,
    /// The image is larger than decoding is allowed to be.
    TooLarge,
    /// The bytes could not be decoded (truncated, corrupt).
    Unreadable,
}

impl Placeholder {
    pub fn as_str(self) -> &'static str {
        match self {
            Placeholder::Video => "video",
            Placeholder::NotDecodedYet => "not_decoded_yet",
            Placeholder::TooLarge => "too_large",
            Placeholder::Unreadable => "unreadable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thumbnail {
    /// A JPEG at this path, at most `size` pixels on its longest side.
    Jpeg(PathBuf),
    Placeholder(Placeholder),
}

/// The cached thumbnail of `asset` at `size` (one of [`SIZES`]), made now if it is not cached.
pub fn thumbnail(lib: &Library, asset: &Asset, size: u32) -> Result<Thumbnail> {
    if let Some(made) = cached(lib, asset, size) {
        return Ok(Thumbnail::Jpeg(made));
    }
    let target = cache_path(lib, asset, size);
    if asset.media_type.starts_with("video/") {
        return Ok(Thumbnail::Placeholder(Placeholder::Video));
    }
    if !matches!(asset.media_type.as_str(), "image/jpeg" | "image/png" | "image/gif" | "image/webp") {
        return Ok(Thumbnail::Placeholder(Placeholder::NotDecodedYet));
    }
    let path = lib.asset_path(asset);
    let decoded = if asset.media_type == "image/jpeg" { decode_jpeg_scaled(&path, size) } else { decode(&path) };
    let image = match decoded {
        Ok(image) => image,
        Err(placeholder) => return Ok(Thumbnail::Placeholder(placeholder)),
    };
    let small = image.thumbnail(size, size).into_rgb8();
    write_atomically(lib, &target, |out| {
        JpegEncoder::new_with_quality(out, QUALITY).encode_image(&small).map_err(std::io::Error::other)
    })?;
    Ok(Thumbnail::Jpeg(target))
}

/// The thumbnail if it is made already: no decoding, so callers need not wait for a decode slot.
pub fn cached(lib: &Library, asset: &Asset, size: u32) -> Option<PathBuf> {
    Some(cache_path(lib, asset, size)).filter(|p| p.exists())
}

fn cache_path(lib: &Library, asset: &Asset, size: u32) -> PathBuf {
    let shard = asset.sha256.get(..2).unwrap_or("00");
    lib.root().join(TMP_DIR).join("thumbs").join(shard).join(format!("{}-{size}.jpg", asset.sha256))
}

/// Decodes within the limits, upright (phones store portraits sideways with an EXIF orientation).
fn decode(path: &Path) -> std::result::Result<DynamicImage, Placeholder> {
    let file = fs::File::open(path).map_err(|_| Placeholder::Unreadable)?;
    let mut reader =
        ImageReader::new(BufReader::new(file)).with_guessed_format().map_err(|_| Placeholder::Unreadable)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(classify)?;
    // `into_decoder` and `from_decoder` do not hold the decode to `max_alloc`: the header's size does.
    if decoder.total_bytes() > MAX_ALLOC {
        return Err(Placeholder::TooLarge);
    }
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(classify)?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    Ok(image)
}

/// A JPEG decoded at the smallest of 1/8, 1/4, 1/2 or full scale that still covers `size` (the
/// IDCT does the shrinking), upright; about 30 times less work than a full decode for a phone's
/// photo and a grid thumbnail. Pixel formats the scaled path does not convert (CMYK, 16-bit grey)
/// go through the full decode.
fn decode_jpeg_scaled(path: &Path, size: u32) -> std::result::Result<DynamicImage, Placeholder> {
    let file = fs::File::open(path).map_err(|_| Placeholder::Unreadable)?;
    let mut decoder = jpeg_decoder::Decoder::new(BufReader::new(file));
    decoder.read_info().map_err(|_| Placeholder::Unreadable)?;
    let info = decoder.info().ok_or(Placeholder::Unreadable)?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(Placeholder::TooLarge);
    }
    let format = info.pixel_format;
    // A progressive JPEG keeps every coefficient of the whole image (two bytes per sample, at full
    // size whatever the scale) until its last scan; the decoder's own limit is checked too late.
    let samples = u64::from(width) * u64::from(height) * format.pixel_bytes() as u64;
    if info.coding_process == jpeg_decoder::CodingProcess::DctProgressive && samples * 2 > MAX_ALLOC {
        return Err(Placeholder::TooLarge);
    }
    if !matches!(format, jpeg_decoder::PixelFormat::L8 | jpeg_decoder::PixelFormat::RGB24) {
        return decode(path);
    }
    // The scale keeps the longest side at `size` or more: the side `thumbnail` fits.
    let want = u16::try_from(size).unwrap_or(u16::MAX);
    let (w, h) = decoder.scale(want, want).map_err(|_| Placeholder::Unreadable)?;
    decoder.set_max_decoding_buffer_size(usize::try_from(MAX_ALLOC).unwrap_or(usize::MAX));
    let pixels = decoder.decode().map_err(|_| Placeholder::Unreadable)?;
    let (w, h) = (u32::from(w), u32::from(h));
    let mut image = match format {
        jpeg_decoder::PixelFormat::L8 => image::GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8),
        _ => image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8),
    }
    .ok_or(Placeholder::Unreadable)?;
    if let Some(orientation) = decoder.exif_data().and_then(image::metadata::Orientation::from_exif_chunk) {
        image.apply_orientation(orientation);
    }
    Ok(image)
}

fn classify(e: image::ImageError) -> Placeholder {
    match e {
        image::ImageError::Limits(_) => Placeholder::TooLarge,
        _ => Placeholder::Unreadable,
    }
}

/// Writes beside `target` and renames into place, so a reader never sees half a thumbnail.
fn write_atomically(
    lib: &Library,
    target: &Path,
    write: impl FnOnce(&mut BufWriter<fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let dir = target.parent().unwrap_or(lib.root());
    fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
    let temp = dir.join(format!(".{}.part", random_hex(8)?));
    let written = (|| {
        let mut out = BufWriter::new(fs::File::create(&temp)?);
        write(&mut out)?;
        out.flush()?;
        fs::rename(&temp, target)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written.ctx(|| format!("writing {}", target.display()))
}

#[cfg(test)]
mod tests;
