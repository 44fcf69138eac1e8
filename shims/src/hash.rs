//! A fast hasher for the shim's tables, whose keys are machine words (addresses).

use std::hash::Hasher;

/// Multiply-rotate hashing of machine words (the keys are addresses and return addresses):
/// much cheaper than SipHash, and nothing here is attacker-chosen.
#[derive(Debug, Default)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_hasher_separates_nearby_words() {
        let hash = |words: &[u64]| {
            let mut h = FastHasher::default();
            for w in words {
                h.write_u64(*w);
            }
            h.finish()
        };
        assert_ne!(hash(&[1, 2]), hash(&[2, 1]));
        assert_ne!(hash(&[0x7f00_0000_1000]), hash(&[0x7f00_0000_1008]));
    }
}
