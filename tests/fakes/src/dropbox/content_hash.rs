//! Dropbox's `content_hash`: SHA-256 of the SHA-256s of the content's 4 MiB blocks, in hex.

use sha2::{Digest, Sha256};

pub const BLOCK: usize = 4 * 1024 * 1024;

pub fn content_hash(bytes: &[u8]) -> String {
    let mut overall = Sha256::new();
    for block in bytes.chunks(BLOCK) {
        overall.update(Sha256::digest(block));
    }
    hex::encode(overall.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_vectors() {
        assert_eq!(content_hash(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(content_hash(b"A"), "1cd6ef71e6e0ff46ad2609d403dc3fee244417089aa4461245a4e4fe23a55e42");
        assert_eq!(
            content_hash(&vec![b'A'; BLOCK + 1]),
            "8f553da8d00d0bf509d8470e242888be33019c20c0544811f5b2b89e98360b92"
        );
    }
}
