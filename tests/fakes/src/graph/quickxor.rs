//! Microsoft's QuickXorHash, as OneDrive and SharePoint report it in `file.hashes.quickXorHash`:
//! every byte XORed into a 160-bit register 11 bits after the previous one, then the length
//! XORed into the last 8 bytes, base64. The fakes compute it on their own, apart from the client.

use base64::Engine;

const WIDTH_BITS: usize = 160;
const SHIFT: usize = 11;

/// The base64 QuickXorHash of `data`.
pub fn quickxor_b64(data: &[u8]) -> String {
    let mut register = [0u8; WIDTH_BITS / 8];
    for (i, byte) in data.iter().enumerate() {
        let bit = (i * SHIFT) % WIDTH_BITS;
        let (at, within) = (bit / 8, bit % 8);
        // A byte that straddles two register bytes (or the end) spills into the next one.
        let wide = u16::from(*byte) << within;
        register[at] ^= wide as u8;
        register[(at + 1) % register.len()] ^= (wide >> 8) as u8;
    }
    let length = (data.len() as u64).to_le_bytes();
    let tail = register.len() - length.len();
    for (i, b) in length.iter().enumerate() {
        register[tail + i] ^= b;
    }
    base64::engine::general_purpose::STANDARD.encode(register)
}

#[cfg(test)]
mod tests {
    use super::quickxor_b64;

    #[test]
    fn published_vectors() {
        assert_eq!(quickxor_b64(b""), "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(quickxor_b64(&[0x4a]), "SgAAAAAAAAAAAAAAAQAAAAAAAAA=");
    }
}
