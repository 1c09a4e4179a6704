//! The hashes and timestamps Drive puts in a File resource.

// md-5 is on digest 0.11 (as rusty-s3 needs), sha2 on 0.10: each hashes through its own trait.
use md5::Md5;
use sha2::Sha256;

/// Lower-case hex MD5, as Drive's `md5Checksum`.
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(<Md5 as md5::Digest>::digest(data))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(<Sha256 as sha2::Digest>::digest(data))
}

/// Now, as Drive writes times: RFC 3339 in UTC with milliseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_formats() {
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        let now = now_rfc3339();
        assert!(now.ends_with('Z') && now.len() == "2024-12-31T23:59:59.999Z".len(), "{now}");
    }
}
