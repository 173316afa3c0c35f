//! RC4 and AES-CBC. RC4 and the CBC chaining are a few lines each, so only the AES block cipher
//! comes from a crate.

use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes256};

/// RC4 keystream XOR (encryption and decryption are the same operation).
pub(crate) fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    if !key.is_empty() {
        let mut j = 0u8;
        for i in 0..256 {
            j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
            s.swap(i, usize::from(j));
        }
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|&b| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(s[usize::from(i)]);
            s.swap(usize::from(i), usize::from(j));
            b ^ s[usize::from(s[usize::from(i)].wrapping_add(s[usize::from(j)]))]
        })
        .collect()
}

/// AES with a 128- or 256-bit key (the two sizes PDF uses).
enum Aes {
    K128(Box<Aes128>),
    K256(Box<Aes256>),
}

impl Aes {
    fn new(key: &[u8]) -> Option<Aes> {
        match key.len() {
            16 => Aes128::new_from_slice(key).ok().map(|c| Aes::K128(Box::new(c))),
            32 => Aes256::new_from_slice(key).ok().map(|c| Aes::K256(Box::new(c))),
            _ => None,
        }
    }
    fn encrypt(&self, block: &mut [u8; 16]) {
        let mut b = aes::Block::from(*block);
        match self {
            Aes::K128(c) => c.encrypt_block(&mut b),
            Aes::K256(c) => c.encrypt_block(&mut b),
        }
        block.copy_from_slice(&b);
    }
    fn decrypt(&self, block: &mut [u8; 16]) {
        let mut b = aes::Block::from(*block);
        match self {
            Aes::K128(c) => c.decrypt_block(&mut b),
            Aes::K256(c) => c.decrypt_block(&mut b),
        }
        block.copy_from_slice(&b);
    }
}

/// AES-CBC encryption. With `pad`, PKCS#7 padding is added; without, a partial last block is
/// dropped (callers only use unpadded mode on whole blocks). None for a bad key length.
pub(crate) fn aes_cbc_encrypt(key: &[u8], iv: &[u8; 16], data: &[u8], pad: bool) -> Option<Vec<u8>> {
    let cipher = Aes::new(key)?;
    let mut input = data.to_vec();
    if pad {
        let n = 16 - input.len() % 16;
        input.extend(std::iter::repeat_n(n as u8, n));
    }
    let mut out = Vec::with_capacity(input.len());
    let mut prev = *iv;
    for chunk in input.chunks_exact(16) {
        let mut block = [0u8; 16];
        for i in 0..16 {
            block[i] = chunk[i] ^ prev[i];
        }
        cipher.encrypt(&mut block);
        out.extend_from_slice(&block);
        prev = block;
    }
    Some(out)
}

/// AES-CBC decryption. With `unpad`, PKCS#7 padding is removed when valid (left as is otherwise,
/// as lenient readers do). A trailing partial block is ignored. None for a bad key length.
pub(crate) fn aes_cbc_decrypt(key: &[u8], iv: &[u8; 16], data: &[u8], unpad: bool) -> Option<Vec<u8>> {
    let cipher = Aes::new(key)?;
    let mut out = Vec::with_capacity(data.len());
    let mut prev = *iv;
    for chunk in data.chunks_exact(16) {
        let mut block = [0u8; 16];
        block.copy_from_slice(chunk);
        let saved = block;
        cipher.decrypt(&mut block);
        for i in 0..16 {
            block[i] ^= prev[i];
        }
        out.extend_from_slice(&block);
        prev = saved;
    }
    if unpad && let Some(&n) = out.last() {
        let n = usize::from(n);
        if (1..=16).contains(&n) && n <= out.len() && out[out.len() - n..].iter().all(|&b| usize::from(b) == n) {
            out.truncate(out.len() - n);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc4_matches_the_published_test_vector() {
        // "Key" / "Plaintext" from the RC4 Wikipedia test vectors.
        assert_eq!(rc4(b"Key", b"Plaintext"), [0xBB, 0xF3, 0x16, 0xE8, 0xD9, 0x40, 0xAF, 0x0A, 0xD3]);
    }

    #[test]
    fn aes_cbc_round_trips_with_padding() {
        let key = [7u8; 16];
        let iv = [9u8; 16];
        let ct = aes_cbc_encrypt(&key, &iv, b"hello world", true).unwrap_or_default();
        assert_eq!(ct.len(), 16);
        assert_eq!(aes_cbc_decrypt(&key, &iv, &ct, true).unwrap_or_default(), b"hello world");
    }

    #[test]
    fn aes_128_matches_the_fips_197_vector() {
        let key: Vec<u8> = (0u8..16).collect();
        let pt: Vec<u8> = (0u8..16).map(|i| i * 0x11).collect();
        let ct = aes_cbc_encrypt(&key, &[0; 16], &pt, false).unwrap_or_default();
        assert_eq!(
            ct,
            [0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a]
        );
    }
}
