//! Dropbox's `content_hash`: the content in 4 MiB blocks, SHA-256 of each, SHA-256 of the digests
//! one after the other, in lower-case hex. Streaming, so a file is hashed as it is read.

use sha2::{Digest, Sha256};

/// Dropbox's block size for the content hash.
pub const BLOCK: usize = 4 * 1024 * 1024;

#[derive(Clone)]
pub struct ContentHasher {
    /// The digest of every full block so far. Kept one by one rather than folded into a running
    /// hash, so an upload can go back to an earlier offset (Dropbox holding less than was sent)
    /// by re-reading at most one block, and a piece that starts on a block boundary gets its own
    /// hash from the same digests.
    blocks: Vec<[u8; 32]>,
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
        ContentHasher { blocks: Vec::new(), block: Sha256::new(), in_block: 0 }
    }

    /// How many bytes were hashed.
    pub fn len(&self) -> u64 {
        self.blocks.len() as u64 * BLOCK as u64 + self.in_block as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let (now, rest) = bytes.split_at((BLOCK - self.in_block).min(bytes.len()));
            self.block.update(now);
            self.in_block += now.len();
            if self.in_block == BLOCK {
                let digest = std::mem::replace(&mut self.block, Sha256::new()).finalize();
                self.blocks.push(digest.into());
                self.in_block = 0;
            }
            bytes = rest;
        }
    }

    /// Lower-case hex of everything hashed so far. An empty content hashes no block at all: the
    /// SHA-256 of nothing.
    pub fn value(&self) -> String {
        self.value_from(0)
    }

    pub fn finish(self) -> String {
        self.value()
    }

    /// The hash of what came after the first `block` blocks, as if hashed alone: only meaningful
    /// when that was a block boundary.
    fn value_from(&self, block: usize) -> String {
        let mut overall = Sha256::new();
        for digest in self.blocks.get(block..).unwrap_or_default() {
            overall.update(digest);
        }
        if self.in_block > 0 {
            overall.update(self.block.clone().finalize());
        }
        hex::encode(overall.finalize())
    }

    /// Hashes `piece`, the bytes that follow those already hashed, and gives the content hash of
    /// `piece` alone (what Dropbox checks a session call's body against). On a block boundary that
    /// comes from the digests just made; elsewhere the piece is hashed once more on its own.
    pub fn update_piece(&mut self, piece: &[u8]) -> String {
        let aligned = (self.in_block == 0).then_some(self.blocks.len());
        self.update(piece);
        match aligned {
            Some(first) => self.value_from(first),
            None => content_hash(piece),
        }
    }

    /// Forgets the bytes from `offset` back to the start of its block (and everything after), and
    /// gives that start: the bytes from there to `offset` must be hashed again. Nothing changes
    /// when `offset` is at or beyond what was hashed.
    pub fn rewind(&mut self, offset: u64) -> u64 {
        if offset >= self.len() {
            return self.len();
        }
        let keep = usize::try_from(offset / BLOCK as u64).unwrap_or(usize::MAX).min(self.blocks.len());
        self.blocks.truncate(keep);
        self.block = Sha256::new();
        self.in_block = 0;
        self.len()
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

    const A_BLOCK_PLUS_ONE: &str = "8f553da8d00d0bf509d8470e242888be33019c20c0544811f5b2b89e98360b92";

    #[test]
    fn dropbox_test_vectors() {
        // cloud-apis.md §2.3: runs of the byte `A`.
        let a = |n: usize| vec![b'A'; n];
        assert_eq!(content_hash(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(content_hash(&a(1)), "1cd6ef71e6e0ff46ad2609d403dc3fee244417089aa4461245a4e4fe23a55e42");
        assert_eq!(content_hash(&a(BLOCK)), "d4d63bac5b866c71620185392a8a6218ac1092454a2d16f820363b69852befa3");
        assert_eq!(content_hash(&a(BLOCK + 1)), A_BLOCK_PLUS_ONE);
    }

    #[test]
    fn pieces_make_no_difference() {
        let data = vec![b'A'; BLOCK + 1];
        let mut h = ContentHasher::new();
        for piece in data.chunks(999_999) {
            h.update(piece);
        }
        assert_eq!(h.len(), data.len() as u64);
        assert_eq!(h.finish(), A_BLOCK_PLUS_ONE);
    }

    /// Patterned bytes, so a block hashed at the wrong offset shows.
    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn a_piece_has_its_own_hash_on_and_off_block_boundaries() {
        let bytes = data(3 * BLOCK + 17);
        // On boundaries (the session's chunks are 4 MiB multiples): from the shared digests.
        let mut h = ContentHasher::new();
        let (one, rest) = bytes.split_at(2 * BLOCK);
        assert_eq!(h.update_piece(one), content_hash(one));
        assert_eq!(h.update_piece(rest), content_hash(rest));
        assert_eq!(h.value(), content_hash(&bytes));
        // Off them: each piece hashed alone as well, the whole still right.
        let mut h = ContentHasher::new();
        for piece in bytes.chunks(1024 * 1024 + 3) {
            assert_eq!(h.update_piece(piece), content_hash(piece));
        }
        assert_eq!(h.value(), content_hash(&bytes));
        assert_eq!(h.update_piece(b""), content_hash(b""));
    }

    #[test]
    fn rewinding_rehashes_at_most_one_block() {
        let bytes = data(3 * BLOCK + 100);
        let mut h = ContentHasher::new();
        h.update(&bytes);
        for offset in [0, 1, BLOCK - 1, BLOCK, BLOCK + 5, 3 * BLOCK, 3 * BLOCK + 99] {
            let mut back = h.clone();
            let from = usize::try_from(back.rewind(offset as u64)).unwrap();
            assert_eq!(from, offset / BLOCK * BLOCK, "{offset}");
            back.update(&bytes[from..offset]);
            assert_eq!(back.len(), offset as u64);
            assert_eq!(back.value(), content_hash(&bytes[..offset]), "{offset}");
            // And on from there to the end.
            back.update(&bytes[offset..]);
            assert_eq!(back.value(), h.value(), "{offset}");
        }
        let mut ahead = h.clone();
        assert_eq!(ahead.rewind(bytes.len() as u64 + 10), bytes.len() as u64);
        assert_eq!(ahead.value(), h.value());
    }
}
