//! Microsoft's QuickXorHash, streamed: each input byte is XORed into a 160-bit register at a bit
//! offset 11 greater than the previous byte's (mod 160), and at the end the input's length,
//! 64-bit little-endian, is XORed into the register's last 8 bytes. Graph reports it in base64
//! as `file.hashes.quickXorHash`, the one hash OneDrive and SharePoint both keep.

use base64::Engine;

const WIDTH_BYTES: usize = 20;
const WIDTH_BITS: usize = WIDTH_BYTES * 8;
const SHIFT: usize = 11;
/// Byte i lands at bit offset 11·i mod 160, so bytes 160 apart land at the same offset: XOR is
/// linear, so they are XORed together first (a plain byte-wise XOR the compiler vectorises) and
/// each of the 160 sums is shifted into the register once, at the end.
const PERIOD: usize = WIDTH_BITS;

#[derive(Clone)]
pub(crate) struct QuickXor {
    /// Byte `k` is the XOR of every input byte whose position is k mod 160.
    lanes: [u8; PERIOD],
    length: u64,
}

impl Default for QuickXor {
    fn default() -> Self {
        QuickXor { lanes: [0; PERIOD], length: 0 }
    }
}

impl QuickXor {
    pub fn new() -> Self {
        QuickXor::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        let start = (self.length % PERIOD as u64) as usize;
        let (head, rest) = bytes.split_at((PERIOD - start).min(bytes.len()) * usize::from(start != 0));
        for (lane, byte) in self.lanes[start..].iter_mut().zip(head) {
            *lane ^= byte;
        }
        let mut periods = rest.chunks_exact(PERIOD);
        for period in &mut periods {
            for (lane, byte) in self.lanes.iter_mut().zip(period) {
                *lane ^= byte;
            }
        }
        for (lane, byte) in self.lanes.iter_mut().zip(periods.remainder()) {
            *lane ^= byte;
        }
        self.length += bytes.len() as u64;
    }

    pub fn finish(&self) -> String {
        let mut out = [0u8; WIDTH_BYTES];
        for (k, lane) in self.lanes.iter().enumerate() {
            let offset = k * SHIFT % WIDTH_BITS;
            let (at, within) = (offset / 8, offset % 8);
            // Shifted into 16 bits: the high byte is what spills into the next register byte
            // (the first one, past the end).
            let wide = u16::from(*lane) << within;
            out[at] ^= wide as u8;
            out[(at + 1) % WIDTH_BYTES] ^= (wide >> 8) as u8;
        }
        let length = self.length.to_le_bytes();
        for (slot, b) in out[WIDTH_BYTES - length.len()..].iter_mut().zip(length) {
            *slot ^= b;
        }
        base64::engine::general_purpose::STANDARD.encode(out)
    }
}

pub(crate) fn quickxor(bytes: &[u8]) -> String {
    let mut h = QuickXor::new();
    h.update(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, one bit at a time: bit k of byte i lands at bit (11·i + k) mod 160 of the
    /// register, read as a little-endian 160-bit number.
    fn reference(data: &[u8]) -> String {
        let mut bits = [false; WIDTH_BITS];
        for (i, byte) in data.iter().enumerate() {
            for k in 0..8 {
                if byte >> k & 1 == 1 {
                    let at = (i * SHIFT + k) % WIDTH_BITS;
                    bits[at] = !bits[at];
                }
            }
        }
        let mut out = [0u8; WIDTH_BYTES];
        for (at, set) in bits.iter().enumerate() {
            if *set {
                out[at / 8] |= 1 << (at % 8);
            }
        }
        for (i, b) in (data.len() as u64).to_le_bytes().iter().enumerate() {
            out[WIDTH_BYTES - 8 + i] ^= b;
        }
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    #[test]
    fn published_vectors() {
        assert_eq!(quickxor(b""), "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(quickxor(&[0x4a]), "SgAAAAAAAAAAAAAAAQAAAAAAAAA=");
    }

    #[test]
    fn streamed_in_pieces_matches_the_bitwise_definition() {
        // Several times round the register (160 bytes bring the offset back to 0), odd lengths.
        let data: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for split in [0, 1, 7, 159, 160, 161, 4999] {
            let mut h = QuickXor::new();
            h.update(&data[..split]);
            h.update(&data[split..]);
            assert_eq!(h.finish(), reference(&data), "split at {split}");
        }
        assert_eq!(quickxor(&data[..321]), reference(&data[..321]));
    }

    #[test]
    fn many_uneven_pieces_match_the_bitwise_definition() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let mut h = QuickXor::new();
        let mut rest = &data[..];
        for size in [1usize, 3, 200, 17, 160, 159, 2, 321].iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, after) = rest.split_at((*size).min(rest.len()));
            h.update(piece);
            rest = after;
        }
        assert_eq!(h.finish(), reference(&data));
    }
}
