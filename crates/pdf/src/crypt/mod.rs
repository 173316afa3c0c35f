//! The standard security handler (ISO 32000-2 7.6.4): R2-R4 (RC4 / AESV2) and R5/R6 (AESV3).
//! Decrypts what the reader resolves and encrypts what the writer adds.

mod ciphers;

use md5::Md5;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::error::PdfError;
use crate::object::{Dict, ObjRef, Object};

pub(crate) use ciphers::{aes_cbc_decrypt, aes_cbc_encrypt, rc4};

/// Password padding string from the standard (Algorithm 2, step a).
const PAD: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

/// Which cipher a crypt filter applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// No encryption (the /Identity crypt filter).
    Identity,
    /// RC4 with a per-object key (V1/V2 and the /V2 crypt filter).
    Rc4,
    /// AES-128-CBC with a per-object key (/AESV2).
    Aes128,
    /// AES-256-CBC with the file key (/AESV3, R5/R6).
    Aes256,
}

/// What `Document::encryption` reports about an encrypted document.
#[derive(Debug, Clone, PartialEq)]
pub struct EncryptionInfo {
    /// The /Filter of the encryption dictionary (always `Standard` for documents that open).
    pub handler: String,
    /// /V (algorithm version).
    pub v: i64,
    /// /R (standard handler revision).
    pub r: i64,
    /// Cipher for streams (/StmF).
    pub stream_cipher: Cipher,
    /// Cipher for strings (/StrF).
    pub string_cipher: Cipher,
    /// File key length in bits.
    pub key_bits: u32,
    /// /EncryptMetadata (false: XMP metadata streams are stored in clear).
    pub encrypt_metadata: bool,
    /// /P permission bits as a signed 32-bit integer.
    pub permissions: i32,
    /// True if the owner password (not the user password) unlocked the file.
    pub opened_as_owner: bool,
}

/// An unlocked standard security handler.
#[derive(Debug, Clone)]
pub(crate) struct Handler {
    /// The file encryption key.
    key: Vec<u8>,
    /// Public description.
    pub info: EncryptionInfo,
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn str_entry(d: &Dict, key: &[u8]) -> Vec<u8> {
    d.get_string(key).map(<[u8]>::to_vec).unwrap_or_default()
}

fn cipher_of(encrypt: &Dict, filter_key: &[u8]) -> Result<(Cipher, Option<i64>), PdfError> {
    let name = encrypt.get_name(filter_key).unwrap_or(b"Identity");
    if name == b"Identity" {
        return Ok((Cipher::Identity, None));
    }
    let cf = encrypt
        .get_dict(b"CF")
        .and_then(|cf| cf.get_dict(name))
        .ok_or_else(|| PdfError::EncryptionUnsupported("crypt filter not defined in /CF".into()))?;
    let len = cf.get_int(b"Length");
    match cf.get_name(b"CFM").unwrap_or(b"None") {
        b"V2" => Ok((Cipher::Rc4, len)),
        b"AESV2" => Ok((Cipher::Aes128, len)),
        b"AESV3" => Ok((Cipher::Aes256, len)),
        b"None" => Ok((Cipher::Identity, len)),
        other => Err(PdfError::EncryptionUnsupported(format!(
            "crypt filter method {}",
            String::from_utf8_lossy(other)
        ))),
    }
}

impl Handler {
    /// Unlock the handler described by `encrypt` with `password` (None: the empty user password).
    pub fn open(encrypt: &Dict, id0: &[u8], password: Option<&[u8]>) -> Result<Handler, PdfError> {
        let filter = encrypt.get_name(b"Filter").unwrap_or(b"");
        if filter != b"Standard" {
            return Err(PdfError::EncryptionUnsupported(format!(
                "security handler {}",
                String::from_utf8_lossy(filter)
            )));
        }
        let v = encrypt.get_int(b"V").unwrap_or(0);
        let r = encrypt.get_int(b"R").unwrap_or(0);
        let (stm, str_, cf_len) = match v {
            1..=3 => (Cipher::Rc4, Cipher::Rc4, None),
            4 | 5 => {
                let (stm, l1) = cipher_of(encrypt, b"StmF")?;
                let (s, l2) = cipher_of(encrypt, b"StrF")?;
                (stm, s, l1.or(l2))
            }
            _ => return Err(PdfError::EncryptionUnsupported(format!("/V {v}"))),
        };
        let encrypt_metadata = !matches!(encrypt.get(b"EncryptMetadata"), Some(Object::Bool(false)));
        let p = encrypt.get_int(b"P").unwrap_or(0) as i32;
        let mut info = EncryptionInfo {
            handler: "Standard".into(),
            v,
            r,
            stream_cipher: stm,
            string_cipher: str_,
            key_bits: 0,
            encrypt_metadata,
            permissions: p,
            opened_as_owner: false,
        };
        let o = str_entry(encrypt, b"O");
        let u = str_entry(encrypt, b"U");
        let candidates: Vec<&[u8]> = match password {
            Some(pw) if !pw.is_empty() => vec![pw, b""],
            _ => vec![b""],
        };
        let result = match r {
            2..=4 => {
                let n = if r == 2 {
                    5
                } else {
                    let bits = encrypt.get_int(b"Length").or(cf_len.map(|l| if l <= 32 { l * 8 } else { l }));
                    let default = if matches!(stm, Cipher::Aes128) { 128 } else { 40 };
                    (bits.unwrap_or(default) / 8).clamp(5, 16) as usize
                };
                let ctx = Legacy { o: &o, u: &u, p, id0, r, n, encrypt_metadata };
                candidates.iter().find_map(|pw| {
                    ctx.user_key(pw).map(|k| (k, false)).or_else(|| ctx.owner_key(pw).map(|k| (k, true)))
                })
            }
            5 | 6 => {
                let oe = str_entry(encrypt, b"OE");
                let ue = str_entry(encrypt, b"UE");
                if o.len() < 48 || u.len() < 48 {
                    return Err(PdfError::EncryptionUnsupported("short /O or /U for AES-256".into()));
                }
                candidates.iter().find_map(|pw| {
                    let pw = &pw[..pw.len().min(127)];
                    aes256_user_key(r, pw, &u, &ue)
                        .map(|k| (k, false))
                        .or_else(|| aes256_owner_key(r, pw, &o, &u, &oe).map(|k| (k, true)))
                })
            }
            _ => return Err(PdfError::EncryptionUnsupported(format!("standard handler /R {r}"))),
        };
        match result {
            Some((key, owner)) => {
                info.key_bits = (key.len() * 8) as u32;
                info.opened_as_owner = owner;
                Ok(Handler { key, info })
            }
            None if password.is_some_and(|p| !p.is_empty()) => Err(PdfError::PasswordIncorrect),
            None => Err(PdfError::PasswordRequired),
        }
    }

    fn object_key(&self, cipher: Cipher, r: ObjRef) -> Vec<u8> {
        if cipher == Cipher::Aes256 {
            return self.key.clone();
        }
        let num = r.num.to_le_bytes();
        let generation = r.generation.to_le_bytes();
        let salt: &[u8] = if cipher == Cipher::Aes128 { b"sAlT" } else { b"" };
        let digest = md5(&[&self.key, &num[..3], &generation, salt]);
        digest[..(self.key.len() + 5).min(16)].to_vec()
    }

    fn decrypt(&self, cipher: Cipher, r: ObjRef, data: &[u8]) -> Vec<u8> {
        match cipher {
            Cipher::Identity => data.to_vec(),
            Cipher::Rc4 => rc4(&self.object_key(cipher, r), data),
            Cipher::Aes128 | Cipher::Aes256 => {
                if data.len() < 16 {
                    return Vec::new();
                }
                let mut iv = [0u8; 16];
                iv.copy_from_slice(&data[..16]);
                aes_cbc_decrypt(&self.object_key(cipher, r), &iv, &data[16..], true).unwrap_or_default()
            }
        }
    }

    fn encrypt(&self, cipher: Cipher, r: ObjRef, data: &[u8]) -> Vec<u8> {
        match cipher {
            Cipher::Identity => data.to_vec(),
            Cipher::Rc4 => rc4(&self.object_key(cipher, r), data),
            Cipher::Aes128 | Cipher::Aes256 => {
                // Deterministic IV: identical input and calls give identical output bytes.
                let digest = Sha256::new()
                    .chain_update(&self.key)
                    .chain_update(r.num.to_le_bytes())
                    .chain_update(r.generation.to_le_bytes())
                    .chain_update(data)
                    .finalize();
                let mut iv = [0u8; 16];
                iv.copy_from_slice(&digest[..16]);
                let mut out = iv.to_vec();
                out.extend(aes_cbc_encrypt(&self.object_key(cipher, r), &iv, data, true).unwrap_or_default());
                out
            }
        }
    }

    /// Decrypt string bytes of object `r`.
    pub fn decrypt_string(&self, r: ObjRef, data: &[u8]) -> Vec<u8> {
        self.decrypt(self.info.string_cipher, r, data)
    }
    /// Decrypt stream data of object `r`.
    pub fn decrypt_stream(&self, r: ObjRef, data: &[u8]) -> Vec<u8> {
        self.decrypt(self.info.stream_cipher, r, data)
    }
    /// Encrypt string bytes of object `r`.
    pub fn encrypt_string(&self, r: ObjRef, data: &[u8]) -> Vec<u8> {
        self.encrypt(self.info.string_cipher, r, data)
    }
    /// Encrypt stream data of object `r`.
    pub fn encrypt_stream(&self, r: ObjRef, data: &[u8]) -> Vec<u8> {
        self.encrypt(self.info.stream_cipher, r, data)
    }
}

/// Inputs of the R2-R4 algorithms.
struct Legacy<'a> {
    o: &'a [u8],
    u: &'a [u8],
    p: i32,
    id0: &'a [u8],
    r: i64,
    n: usize,
    encrypt_metadata: bool,
}

fn padded(pw: &[u8]) -> [u8; 32] {
    let mut out = PAD;
    let n = pw.len().min(32);
    out[..n].copy_from_slice(&pw[..n]);
    out[n..].copy_from_slice(&PAD[..32 - n]);
    out
}

impl Legacy<'_> {
    /// Algorithm 2: file key from a user password.
    fn file_key(&self, pw: &[u8]) -> Vec<u8> {
        let mut h = Md5::new();
        h.update(padded(pw));
        h.update(&self.o[..self.o.len().min(32)]);
        h.update(self.p.to_le_bytes());
        h.update(self.id0);
        if self.r >= 4 && !self.encrypt_metadata {
            h.update([0xff; 4]);
        }
        let mut key: [u8; 16] = h.finalize().into();
        if self.r >= 3 {
            for _ in 0..50 {
                key = md5(&[&key[..self.n]]);
            }
        }
        key[..self.n].to_vec()
    }

    /// Algorithms 4/5 then 6: the key if `pw` is the user password.
    fn user_key(&self, pw: &[u8]) -> Option<Vec<u8>> {
        let key = self.file_key(pw);
        if self.r == 2 {
            return (rc4(&key, &PAD) == self.u.get(..32)?).then_some(key);
        }
        let mut x = rc4(&key, &md5(&[&PAD, self.id0]));
        for i in 1..=19u8 {
            let k: Vec<u8> = key.iter().map(|b| b ^ i).collect();
            x = rc4(&k, &x);
        }
        (x[..16] == *self.u.get(..16)?).then_some(key)
    }

    /// Algorithm 7: recover the user password from /O with the owner password, then check it.
    fn owner_key(&self, pw: &[u8]) -> Option<Vec<u8>> {
        let mut digest = md5(&[&padded(pw)]);
        if self.r >= 3 {
            for _ in 0..50 {
                digest = md5(&[&digest]);
            }
        }
        let key = &digest[..self.n];
        let mut user = self.o.get(..32)?.to_vec();
        if self.r == 2 {
            user = rc4(key, &user);
        } else {
            for i in (0..=19u8).rev() {
                let k: Vec<u8> = key.iter().map(|b| b ^ i).collect();
                user = rc4(&k, &user);
            }
        }
        self.user_key(&user)
    }
}

/// Algorithm 2.A/2.B hash for R5 (plain SHA-256) and R6 (iterated).
fn hash_r6(r: i64, pw: &[u8], salt: &[u8], udata: &[u8]) -> [u8; 32] {
    let mut k: Vec<u8> = Sha256::new().chain_update(pw).chain_update(salt).chain_update(udata).finalize().to_vec();
    if r == 5 {
        let mut out = [0u8; 32];
        out.copy_from_slice(&k[..32]);
        return out;
    }
    let mut round = 0u32;
    loop {
        let mut k1 = Vec::with_capacity(64 * (pw.len() + k.len() + udata.len()));
        for _ in 0..64 {
            k1.extend_from_slice(pw);
            k1.extend_from_slice(&k);
            k1.extend_from_slice(udata);
        }
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&k[16..32]);
        let e = aes_cbc_encrypt(&k[..16], &iv, &k1, false).unwrap_or_default();
        let m = e[..16].iter().map(|&b| u32::from(b)).sum::<u32>() % 3;
        k = match m {
            0 => Sha256::digest(&e).to_vec(),
            1 => Sha384::digest(&e).to_vec(),
            _ => Sha512::digest(&e).to_vec(),
        };
        round += 1;
        if round >= 64 && u32::from(*e.last().unwrap_or(&0)) + 32 <= round {
            break;
        }
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&k[..32]);
    out
}

fn unwrap_key(intermediate: &[u8; 32], wrapped: &[u8]) -> Option<Vec<u8>> {
    let wrapped = wrapped.get(..32)?;
    aes_cbc_decrypt(intermediate, &[0; 16], wrapped, false).filter(|k| k.len() == 32)
}

fn aes256_user_key(r: i64, pw: &[u8], u: &[u8], ue: &[u8]) -> Option<Vec<u8>> {
    if hash_r6(r, pw, &u[32..40], &[]) != u[..32] {
        return None;
    }
    unwrap_key(&hash_r6(r, pw, &u[40..48], &[]), ue)
}

fn aes256_owner_key(r: i64, pw: &[u8], o: &[u8], u: &[u8], oe: &[u8]) -> Option<Vec<u8>> {
    if hash_r6(r, pw, &o[32..40], &u[..48]) != o[..32] {
        return None;
    }
    unwrap_key(&hash_r6(r, pw, &o[40..48], &u[..48]), oe)
}
