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
    let mut parser = MediaParser::new();
    let source = MediaSource::file_path(path).ok()?;
    let (value, source_kind) = if source.has_exif() {
        let iter: ExifIter = parser.parse(source).ok()?;
        let exif: Exif = iter.into();
        let value = exif.get(ExifTag::DateTimeOriginal).or_else(|| exif.get(ExifTag::CreateDate)).cloned()?;
        (value, TakenSource::Exif)
    } else if source.has_track() && media.kind == MediaKind::Video {
        let info: TrackInfo = parser.parse(source).ok()?;
        (info.get(TrackInfoTag::CreateDate).cloned()?, TakenSource::Quicktime)
    } else {
        return None;
    };
    from_entry(&value, source_kind)
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
