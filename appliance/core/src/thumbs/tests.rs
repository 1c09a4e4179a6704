//! Thumbnails of real encoded images, and of the files that must not take the box down.

use std::io::Cursor;

use image::{ImageFormat, RgbImage};

use super::*;
use crate::ingest::IngestRequest;
use crate::model::IngestOutcome;
use crate::testing::{fixture, put, Fixture};

/// A gradient, so every encoder has something to encode; `seed` makes each one's bytes differ.
fn encoded(format: ImageFormat, width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, seed]));
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img).write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn stored(f: &Fixture, name: &str, bytes: &[u8]) -> Asset {
    let req = IngestRequest { original_name: name.into(), ..Default::default() };
    match put(f, bytes, &req).unwrap() {
        IngestOutcome::Stored(asset) => asset,
        other => panic!("{other:?}"),
    }
}

fn dimensions(path: &Path) -> (u32, u32) {
    image::image_dimensions(path).unwrap()
}

#[test]
fn jpeg_png_gif_and_webp_get_a_jpeg_within_the_size() {
    let f = fixture().unwrap();
    let cases = [
        ("a.jpg", ImageFormat::Jpeg),
        ("b.png", ImageFormat::Png),
        ("c.gif", ImageFormat::Gif),
        ("d.webp", ImageFormat::WebP),
    ];
    for (seed, (name, format)) in cases.into_iter().enumerate() {
        let asset = stored(&f, name, &encoded(format, 1200, 800, seed as u8));
        for size in SIZES {
            let Thumbnail::Jpeg(path) = thumbnail(&f.lib, &asset, size).unwrap() else { panic!("{name}: placeholder") };
            let (w, h) = dimensions(&path);
            assert_eq!(w, size.min(1200), "{name} at {size}");
            assert!(h <= size && h >= w * 2 / 3 - 1, "{name} at {size}: {w}x{h}, proportions lost");
            assert_eq!(
                image::ImageReader::open(&path).unwrap().with_guessed_format().unwrap().format(),
                Some(ImageFormat::Jpeg)
            );
        }
    }
}

#[test]
fn a_cached_thumbnail_is_not_made_again() {
    let f = fixture().unwrap();
    let asset = stored(&f, "a.jpg", &encoded(ImageFormat::Jpeg, 600, 400, 1));
    let Thumbnail::Jpeg(first) = thumbnail(&f.lib, &asset, 256).unwrap() else { panic!("placeholder") };
    // Were it made again, the original would be read: without it, only the cache can answer.
    fs::remove_file(f.lib.asset_path(&asset)).unwrap();
    assert_eq!(thumbnail(&f.lib, &asset, 256).unwrap(), Thumbnail::Jpeg(first));
}

/// A PNG whose header claims 60,000 × 60,000 pixels (10.8 GB decoded) over a few bytes of data.
fn png_bomb() -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        c.extend_from_slice(&crc_input);
        c.extend_from_slice(&crc32(&crc_input).to_be_bytes());
        c
    };
    let mut ihdr = 60_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    png.extend(chunk(b"IHDR", &ihdr));
    // The data does not matter: the limits refuse the image from its header, before inflating.
    png.extend(chunk(
        b"IDAT",
        &[
            0x78, 0x9C, 0xED, 0xC1, 0x01, 0x0D, 0x00, 0x00, 0x00, 0xC2, 0xA0, 0xF7, 0x4F, 0x6D, 0x0E, 0x37, 0xA0, 0x00,
            0x00,
        ],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[test]
fn a_decompression_bomb_gets_a_placeholder() {
    let f = fixture().unwrap();
    let asset = stored(&f, "bomb.png", &png_bomb());
    assert_eq!(thumbnail(&f.lib, &asset, 256).unwrap(), Thumbnail::Placeholder(Placeholder::TooLarge));
}

#[test]
fn a_truncated_jpeg_never_fails_the_request() {
    let f = fixture().unwrap();
    let whole = encoded(ImageFormat::Jpeg, 800, 600, 2);
    let asset = stored(&f, "cut.jpg", &whole[..whole.len() / 3]);
    // Decoders differ on what they make of half a JPEG: a partial picture or none. Either way an
    // answer, not an error.
    match thumbnail(&f.lib, &asset, 256).unwrap() {
        Thumbnail::Jpeg(path) => assert!(dimensions(&path).0 <= 256),
        Thumbnail::Placeholder(p) => assert_eq!(p, Placeholder::Unreadable),
    }
}

#[test]
fn videos_and_heic_get_their_placeholders() {
    let f = fixture().unwrap();
    let mut asset = stored(&f, "a.jpg", &encoded(ImageFormat::Jpeg, 64, 64, 3));
    asset.media_type = "video/mp4".into();
    assert_eq!(thumbnail(&f.lib, &asset, 256).unwrap(), Thumbnail::Placeholder(Placeholder::Video));
    asset.media_type = "image/heic".into();
    assert_eq!(thumbnail(&f.lib, &asset, 256).unwrap(), Thumbnail::Placeholder(Placeholder::NotDecodedYet));
}

/// `jpeg` with an Exif APP1 segment saying how the camera was held (`orientation`, 1–8).
fn with_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
    let mut tiff = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, 0, 0, 0, 0]);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((tiff.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn a_phone_photo_held_upright_gets_an_upright_thumbnail() {
    let f = fixture().unwrap();
    // Stored 1200 wide, 800 high, with "rotate 90° clockwise to view": a portrait.
    let asset = stored(&f, "portrait.jpg", &with_orientation(&encoded(ImageFormat::Jpeg, 1200, 800, 4), 6));
    for size in SIZES {
        let Thumbnail::Jpeg(path) = thumbnail(&f.lib, &asset, size).unwrap() else { panic!("placeholder") };
        let (w, h) = dimensions(&path);
        assert!(h == size.min(1200) && w < h, "at {size}: {w}x{h} is not a portrait");
    }
}

#[test]
fn a_jpeg_claiming_60000_pixels_a_side_gets_a_placeholder() {
    let f = fixture().unwrap();
    let mut bomb = encoded(ImageFormat::Jpeg, 64, 64, 5);
    let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline JPEG");
    // SOF0: marker, length (2), precision (1), height (2), width (2).
    bomb[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    let asset = stored(&f, "bomb.jpg", &bomb);
    assert_eq!(thumbnail(&f.lib, &asset, 256).unwrap(), Thumbnail::Placeholder(Placeholder::TooLarge));
}

#[test]
fn a_progressive_jpeg_too_big_to_hold_gets_a_placeholder() {
    let f = fixture().unwrap();
    let mut bomb = encoded(ImageFormat::Jpeg, 64, 64, 6);
    let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline JPEG");
    // Progressive (SOF2), 19,000 pixels a side: within the side limit, but its coefficients alone
    // would take 2 GB before the first pixel came out.
    bomb[sof + 1] = 0xC2;
    bomb[sof + 5..sof + 9].copy_from_slice(&[0x4A, 0x38, 0x4A, 0x38]);
    let asset = stored(&f, "progressive.jpg", &bomb);
    assert_eq!(thumbnail(&f.lib, &asset, 256).unwrap(), Thumbnail::Placeholder(Placeholder::TooLarge));
}
