//! Whether the server checks `x-amz-checksum-sha256`. AWS, MinIO, Ceph and s3s refuse a PUT whose
//! bytes do not match it (`BadDigest`); a server that only stores the header, or ignores it, would
//! let a damaged upload through unseen. So each connection asks once before it relies on it: a
//! one-byte PUT carrying a checksum that is wrong on purpose must be refused. Only then is a
//! photo's known SHA-256 sent for the server to check instead of the box hashing the file (on an
//! ARM board that MD5 is most of what an upload costs); otherwise the ETag check stays.

use base64::Engine;
use rusty_s3::S3Action;
use sha2::{Digest, Sha256};

use super::{xml_text, S3Remote, SIGNED_FOR};

pub(super) const CHECKSUM_SHA256: &str = "x-amz-checksum-sha256";
/// Below the connection's folder; removed again at once.
const PROBE: &str = ".shoebox-checksum-probe";

/// Asked once per connection; an answer that is not a clear refusal counts as "does not check".
pub(super) async fn server_checks(remote: &S3Remote) -> bool {
    *remote.checks_sha256.get_or_init(|| probe(remote)).await
}

async fn probe(remote: &S3Remote) -> bool {
    let key = format!("{}{PROBE}", remote.root);
    // The SHA-256 of nothing, sent with one byte.
    let wrong = encode(&Sha256::digest(b"").into());
    let mut put = remote.bucket.put_object(Some(&remote.credentials), &key);
    put.headers_mut().insert(CHECKSUM_SHA256, wrong.clone());
    let sent = remote.http.put(put.sign(SIGNED_FOR)).header(CHECKSUM_SHA256, &wrong).body("x").send().await;
    let checks = match sent {
        Ok(r) if r.status() == reqwest::StatusCode::BAD_REQUEST => {
            xml_text(&r.text().await.unwrap_or_default(), "Code").as_deref() == Some("BadDigest")
        }
        _ => false,
    };
    // A server that ignores the header kept the byte, and s3s-fs writes before it checks. Best
    // effort: a key the box may not delete stays, one byte.
    let delete = remote.bucket.delete_object(Some(&remote.credentials), &key);
    if let Err(e) = remote.http.delete(delete.sign(SIGNED_FOR)).send().await {
        tracing::debug!(error = %e, "S3: removing the checksum probe failed");
    }
    tracing::info!(checks, "S3: whether the server checks x-amz-checksum-sha256");
    checks
}

pub(super) fn encode(sha256: &[u8; 32]) -> String {
    base64::engine::general_purpose::STANDARD.encode(sha256)
}

/// The 32 bytes a server's echo of the checksum names (base64 as S3 writes it, or hex); None when
/// it is neither.
pub(super) fn decode(echo: &str) -> Option<[u8; 32]> {
    let echo = echo.trim();
    let from_base64 = base64::engine::general_purpose::STANDARD.decode(echo).ok().and_then(|b| b.try_into().ok());
    from_base64.or_else(|| hex::decode(echo).ok().and_then(|b| b.try_into().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echo_is_read_in_base64_or_hex() {
        let sha: [u8; 32] = Sha256::digest(b"photo").into();
        assert_eq!(decode(&encode(&sha)), Some(sha));
        assert_eq!(decode(&format!(" {} ", hex::encode(sha))), Some(sha));
        assert_eq!(decode("not a checksum"), None);
        assert_eq!(decode(&encode(&[0; 32])[..20]), None);
    }
}
