//! When a photo or video was taken, as the local wall-clock time of the place it was taken.
//!
//! The folder a photo lands in comes from this time, so it is never converted to the server's time
//! zone (PhotoPrism #4036 filed photos under the wrong day that way).

use std::path::Path;

use chrono::{DateTime, NaiveDateTime};
use nom_exif::{EntryValue, Exif, ExifIter, ExifTag, MediaParser, MediaSource, TrackInfo, TrackInfoTag};

use crate::error::{CoreError, Result};
use crate::ingest::sniff::{MediaKind, MediaType};
use crate::model::TakenSource;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureTime {
    pub local: NaiveDateTime,
    /// Minutes east of UTC, when known.
    pub offset_minutes: Option<i32>,
    pub source: TakenSource,
}

impl CaptureTime {
    pub fn local_string(&self) -> String {
        self.local.format(LOCAL_FORMAT).to_string()
    }
}

pub const LOCAL_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// Files whose clocks were never set say 1904 or 1970; such dates are no information.
fn plausible(t: &NaiveDateTime) -> bool {
    t.and_utc().timestamp() > 86_400 * 366
}

/// Reads the capture time from the file's own metadata. `None` when the file has none (or none
/// that parses); a damaged metadata block is not an error, the upload falls back.
pub fn from_file(path: &Path, media: MediaType) -> Option<CaptureTime> {
    match media.kind {
        MediaKind::Video => quicktime_time(path),
        // kamadak-exif reads HEIF as libheif writes it (nom-exif 2 and 3 do not); nom-exif knows
        // the containers kamadak does not (CR3, RAF).
        MediaKind::Image => still_exif_time(path, media).or_else(|| nom_exif_time(path)),
    }
}

/// TIFF-based files are parsed from their first bytes only: kamadak-exif would read a whole raw
/// file into memory, and their EXIF sits near the start.
const TIFF_HEAD: u64 = 4 << 20;

fn still_exif_time(path: &Path, media: MediaType) -> Option<CaptureTime> {
    use exif::{In, Tag, Value};
    use std::io::{BufReader, Read};
    let file = std::fs::File::open(path).ok()?;
    let exif = if media.is_tiff_based() {
        let mut head = Vec::new();
        file.take(TIFF_HEAD).read_to_end(&mut head).ok()?;
        exif::Reader::new().read_raw(head).ok()?
    } else {
        exif::Reader::new().read_from_container(&mut BufReader::new(file)).ok()?
    };
    let ascii = |tag: Tag| match exif.get_field(tag, In::PRIMARY).map(|f| &f.value) {
        Some(Value::Ascii(parts)) => parts.first().cloned(),
        _ => None,
    };
    let (text, offset_tag) = ascii(Tag::DateTimeOriginal)
        .map(|t| (t, Tag::OffsetTimeOriginal))
        .or_else(|| ascii(Tag::DateTimeDigitized).map(|t| (t, Tag::OffsetTimeDigitized)))?;
    let mut dt = exif::DateTime::from_ascii(&text).ok()?;
    if let Some(offset) = ascii(offset_tag).or_else(|| ascii(Tag::OffsetTime)) {
        let _ = dt.parse_offset(&offset);
    }
    let date = chrono::NaiveDate::from_ymd_opt(i32::from(dt.year), u32::from(dt.month), u32::from(dt.day))?;
    let local = date.and_hms_opt(u32::from(dt.hour), u32::from(dt.minute), u32::from(dt.second))?;
    plausible(&local).then(|| CaptureTime {
        local,
        offset_minutes: dt.offset.map(i32::from),
        source: TakenSource::Exif,
    })
}

fn nom_exif_time(path: &Path) -> Option<CaptureTime> {
    let source = MediaSource::file_path(path).ok()?;
    if !source.has_exif() {
        return None;
    }
    let iter: ExifIter = MediaParser::new().parse(source).ok()?;
    let exif: Exif = iter.into();
    let value = exif.get(ExifTag::DateTimeOriginal).or_else(|| exif.get(ExifTag::CreateDate))?;
    from_entry(value, TakenSource::Exif)
}

fn quicktime_time(path: &Path) -> Option<CaptureTime> {
    let source = MediaSource::file_path(path).ok()?;
    if !source.has_track() {
        return None;
    }
    let info: TrackInfo = MediaParser::new().parse(source).ok()?;
    from_entry(info.get(TrackInfoTag::CreateDate)?, TakenSource::Quicktime)
}

fn from_entry(value: &EntryValue, source: TakenSource) -> Option<CaptureTime> {
    let (local, offset) = value.as_time_components()?;
    plausible(&local).then(|| CaptureTime { local, offset_minutes: offset.map(|o| o.local_minus_utc() / 60), source })
}

/// Parses a client-supplied time: RFC 3339 (its offset is kept) or a zone-less local time.
pub fn from_client(text: &str) -> Result<CaptureTime> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Ok(CaptureTime {
            local: dt.naive_local(),
            offset_minutes: Some(dt.offset().local_minus_utc() / 60),
            source: TakenSource::Client,
        });
    }
    let local = NaiveDateTime::parse_from_str(text, LOCAL_FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .map_err(|_| CoreError::invalid("taken_at", "expected RFC 3339 or YYYY-MM-DDTHH:MM:SS"))?;
    Ok(CaptureTime { local, offset_minutes: None, source: TakenSource::Client })
}

/// The last resort: the moment of upload, in UTC (stated as such with offset 0).
pub fn upload_time() -> CaptureTime {
    CaptureTime { local: chrono::Utc::now().naive_utc(), offset_minutes: Some(0), source: TakenSource::Upload }
}

/// A local time as stored in the catalogue (events' spans, filters).
pub fn parse_local(field: &'static str, text: &str) -> Result<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text.trim(), LOCAL_FORMAT)
        .map_err(|_| CoreError::invalid(field, "expected YYYY-MM-DDTHH:MM:SS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_times_keep_their_own_zone() -> Result<()> {
        let t = from_client("2023-07-14T23:30:00-05:00")?;
        assert_eq!(t.local_string(), "2023-07-14T23:30:00");
        assert_eq!(t.offset_minutes, Some(-300));
        let naive = from_client("2023-07-14 08:00:00")?;
        assert_eq!(naive.local_string(), "2023-07-14T08:00:00");
        assert_eq!(naive.offset_minutes, None);
        assert!(from_client("yesterday").is_err());
        Ok(())
    }
}
