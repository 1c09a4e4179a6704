//! Dropbox's `content_hash`: the content in 4 MiB blocks, SHA-256 of each, SHA-256 of the digests
//! one after the other, in lower-case hex. Streaming, so a file is hashed as it is read.

use sha2::{Digest, Sha256};

/// Dropbox's block size for the content hash.
pub const BLOCK: usize = 4 * 1024 * 1024;

pub struct ContentHasher {
    overall: Sha256,
    block: Sha256,
    in_block: usize,
}

impl Default for ContentHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl ContentHasher {
    pub fn new() -> Self {
        ContentHasher { overall: Sha256::new(), block: Sha256::new(), in_block: 0 }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let (now, rest) = bytes.split_at((BLOCK - self.in_block).min(bytes.len()));
            self.block.update(now);
            self.in_block += now.len();
            if self.in_block == BLOCK {
                self.close_block();
            }
            bytes = rest;
        }
    }

    fn close_block(&mut self) {
        let digest = std::mem::replace(&mut self.block, Sha256::new()).finalize();
        self.overall.update(digest);
        self.in_block = 0;
    }

    /// Lower-case hex. An empty content hashes no block at all: the SHA-256 of nothing.
    pub fn finish(mut self) -> String {
        if self.in_block > 0 {
            self.close_block();
        }
        hex::encode(self.overall.finalize())
    }
}

/// The content hash of `bytes` in one call.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut h = ContentHasher::new();
    h.update(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropbox_test_vectors() {
        // cloud-apis.md §2.3: runs of the byte `A`.
        let a = |n: usize| vec![b'A'; n];
        assert_eq!(content_hash(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(content_hash(&a(1)), "1cd6ef71e6e0ff46ad2609d403dc3fee244417089aa4461245a4e4fe23a55e42");
        assert_eq!(content_hash(&a(BLOCK)), "d4d63bac5b866c71620185392a8a6218ac1092454a2d16f820363b69852befa3");
        assert_eq!(content_hash(&a(BLOCK + 1)), "8f553da8d00d0bf509d8470e242888be33019c20c0544811f5b2b89e98360b92");
    }

    #[test]
    fn pieces_make_no_difference() {
        let data = vec![b'A'; BLOCK + 1];
        let mut h = ContentHasher::new();
        for piece in data.chunks(999_999) {
            h.update(piece);
        }
        assert_eq!(h.finish(), "8f553da8d00d0bf509d8470e242888be33019c20c0544811f5b2b89e98360b92");
    }
}
