//! The content hashes providers keep, and computing ours the same way to compare. Each provider's
//! module says which kinds it gives ([`crate::Capabilities::hashes`]).

use std::io::Read;
use std::path::Path;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::RemoteError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashKind {
    /// Hex MD5 of the content (Drive's md5Checksum).
    Md5,
    /// Hex SHA-256 of the content (Drive's sha256Checksum).
    Sha256,
    /// S3's ETag: the hex MD5 of a single PUT, or for a multipart upload the hex MD5 of the parts'
    /// binary MD5s followed by `-<parts>`. Unquoted.
    S3Etag,
    /// Dropbox's `content_hash`: hex SHA-256 of the SHA-256s of the content's 4 MiB blocks.
    DropboxContentHash,
    /// Microsoft's QuickXorHash (OneDrive, SharePoint): 160-bit, base64.
    QuickXor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteHash {
    pub kind: HashKind,
    pub value: String,
}

impl RemoteHash {
    pub fn s3_etag(raw: &str) -> Self {
        RemoteHash { kind: HashKind::S3Etag, value: raw.trim().trim_matches('"').to_ascii_lowercase() }
    }

    /// An ETag that is an MD5 of the content we can recompute: single-part or multipart. (With
    /// SSE-KMS or SSE-C, S3's ETag is neither, and is not checked.)
    pub fn s3_etag_is_checkable(&self) -> bool {
        let (md5, parts) = match self.value.split_once('-') {
            Some((md5, parts)) => (md5, parts.parse::<u32>().ok()),
            None => (self.value.as_str(), Some(1)),
        };
        md5.len() == 32 && md5.bytes().all(|b| b.is_ascii_hexdigit()) && parts.is_some()
    }
}

/// S3's ETag of a multipart upload from its parts' MD5s, in part order.
pub fn multipart_etag(part_md5s: &[[u8; 16]]) -> RemoteHash {
    let mut whole = Md5::new();
    part_md5s.iter().for_each(|md5| whole.update(md5));
    RemoteHash { kind: HashKind::S3Etag, value: format!("{}-{}", hex::encode(whole.finalize()), part_md5s.len()) }
}

/// S3's ETag of content sent in parts of `part_size` (or in one PUT when `part_size` is None),
/// computed in one pass as the bytes go by.
pub struct S3EtagHasher {
    part_size: Option<u64>,
    whole: Md5,
    part: Md5,
    in_part: u64,
    part_md5s: Vec<u8>,
    parts: u32,
}

impl S3EtagHasher {
    pub fn new(part_size: Option<u64>) -> Self {
        // A part size of zero would never close a part.
        let part_size = part_size.map(|p| p.max(1));
        S3EtagHasher { part_size, whole: Md5::new(), part: Md5::new(), in_part: 0, part_md5s: Vec::new(), parts: 0 }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        let Some(part_size) = self.part_size else {
            self.whole.update(bytes);
            return;
        };
        while !bytes.is_empty() {
            let room = usize::try_from(part_size - self.in_part).unwrap_or(usize::MAX);
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.part.update(now);
            self.in_part += now.len() as u64;
            if self.in_part == part_size {
                self.close_part();
            }
            bytes = rest;
        }
    }

    fn close_part(&mut self) {
        let md5 = std::mem::replace(&mut self.part, Md5::new()).finalize();
        self.part_md5s.extend_from_slice(&md5);
        self.parts += 1;
        self.in_part = 0;
    }

    pub fn finish(mut self) -> RemoteHash {
        let value = match self.part_size {
            None => hex::encode(self.whole.finalize()),
            Some(_) => {
                if self.in_part > 0 || self.parts == 0 {
                    self.close_part();
                }
                format!("{}-{}", hex::encode(Md5::digest(&self.part_md5s)), self.parts)
            }
        };
        RemoteHash { kind: HashKind::S3Etag, value }
    }
}

/// Our hash of content as a provider computes `kind`, fed piece by piece. An S3 ETag of a
/// multipart upload needs the part size the upload used (None: a single PUT).
pub(crate) enum Hasher {
    Md5(Md5),
    Sha256(sha2::Sha256),
    Etag(S3EtagHasher),
    Dropbox(crate::dropbox::content_hash::ContentHasher),
    QuickXor(crate::graph::quickxor::QuickXor),
}

impl Hasher {
    pub fn new(kind: HashKind, s3_part_size: Option<u64>) -> Hasher {
        match kind {
            HashKind::Md5 => Hasher::Md5(Md5::new()),
            HashKind::Sha256 => Hasher::Sha256(<sha2::Sha256 as sha2::Digest>::new()),
            HashKind::S3Etag => Hasher::Etag(S3EtagHasher::new(s3_part_size)),
            HashKind::DropboxContentHash => Hasher::Dropbox(Default::default()),
            HashKind::QuickXor => Hasher::QuickXor(Default::default()),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(bytes),
            Hasher::Sha256(h) => sha2::Digest::update(h, bytes),
            Hasher::Etag(h) => h.update(bytes),
            Hasher::Dropbox(h) => h.update(bytes),
            Hasher::QuickXor(h) => h.update(bytes),
        }
    }

    pub fn finish(self) -> RemoteHash {
        let (kind, value) = match self {
            Hasher::Md5(h) => (HashKind::Md5, hex::encode(h.finalize())),
            Hasher::Sha256(h) => (HashKind::Sha256, hex::encode(sha2::Digest::finalize(h))),
            Hasher::Etag(h) => return h.finish(),
            Hasher::Dropbox(h) => (HashKind::DropboxContentHash, h.finish()),
            Hasher::QuickXor(h) => (HashKind::QuickXor, h.finish()),
        };
        RemoteHash { kind, value }
    }
}

/// Our hash of a local file as a provider computes `kind` (see [`Hasher`]). Blocking: it reads
/// the whole file.
pub fn of_file(local: &Path, kind: HashKind, s3_part_size: Option<u64>) -> Result<RemoteHash, RemoteError> {
    let mut hasher = Hasher::new(kind, s3_part_size);
    let mut file = std::fs::File::open(local).map_err(|e| RemoteError::local(local, e))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| RemoteError::local(local, e))?;
        if n == 0 {
            return Ok(hasher.finish());
        }
        hasher.update(&buf[..n]);
    }
}

impl RemoteHash {
    /// The same content: hex digests compare without regard to case, base64 ones exactly.
    pub fn same_as(&self, other: &RemoteHash) -> bool {
        self.kind == other.kind
            && match self.kind {
                HashKind::QuickXor => self.value == other.value,
                _ => self.value.eq_ignore_ascii_case(&other.value),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_part_etag_is_the_md5() {
        let mut h = S3EtagHasher::new(None);
        h.update(b"hello ");
        h.update(b"world");
        assert_eq!(h.finish().value, "5eb63bbbe01eeed093cb22bb8f5acdc3");
    }

    #[test]
    fn multipart_etag_is_the_md5_of_part_md5s() {
        // Two parts of 3 bytes and one of 2: "abc", "def", "gh".
        let mut h = S3EtagHasher::new(Some(3));
        h.update(b"ab");
        h.update(b"cdefg");
        h.update(b"h");
        let mut md5s = Vec::new();
        for part in [&b"abc"[..], b"def", b"gh"] {
            md5s.extend_from_slice(&Md5::digest(part));
        }
        assert_eq!(h.finish().value, format!("{}-3", hex::encode(Md5::digest(&md5s))));
        let parts: Vec<[u8; 16]> = [&b"abc"[..], b"def", b"gh"].iter().map(|p| Md5::digest(p).into()).collect();
        assert_eq!(multipart_etag(&parts).value, format!("{}-3", hex::encode(Md5::digest(&md5s))));
    }

    #[test]
    fn etags_read_from_headers() {
        let quoted = RemoteHash::s3_etag("\"5EB63BBBE01EEED093CB22BB8F5ACDC3\"");
        assert_eq!(quoted.value, "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert!(quoted.s3_etag_is_checkable());
        assert!(RemoteHash::s3_etag("\"0123456789abcdef0123456789abcdef-12\"").s3_etag_is_checkable());
        assert!(!RemoteHash::s3_etag("\"kms-opaque\"").s3_etag_is_checkable());
    }
}
