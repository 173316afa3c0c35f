//! The standard security handler on real encrypted corpus files: automatic empty-password
//! opening, user/owner passwords, error codes, and encryption of what the writer adds.

mod common;

use common::corpus_dir;
use meterai_pdf::{Cipher, Dict, Document, IncrementalUpdate, Object, PdfString, Stream};

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(corpus_dir().join("pdf").join(name)).expect("corpus file readable")
}

fn open_code(bytes: &[u8], pw: Option<&[u8]>) -> &'static str {
    match Document::open(bytes, pw) {
        Ok(_) => "OK",
        Err(e) => e.code(),
    }
}

#[test]
fn owner_only_files_open_with_the_empty_user_password_for_each_cipher() {
    for (file, r, cipher) in [
        ("pdfminer-encrypted_doc_no_id.pdf", 2, Cipher::Rc4),
        ("pdfjs-issue17215.pdf", 3, Cipher::Rc4),
        ("qpdf-metadata-crypt-filter.pdf", 4, Cipher::Rc4),
        ("pdfjs-issue17069.pdf", 4, Cipher::Aes128),
    ] {
        let bytes = corpus(file);
        let doc = Document::open(&bytes, None).unwrap_or_else(|e| panic!("{file}: {e}"));
        let info = doc.encryption().expect("encrypted");
        assert_eq!((info.r, info.stream_cipher), (r, cipher), "{file}");
        assert!(!info.opened_as_owner, "{file}");
        doc.page(0).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
fn a_user_password_file_needs_the_password_and_rejects_a_wrong_one() {
    let bytes = corpus("qpdf-20-pages.pdf");
    assert_eq!(open_code(&bytes, None), "PASSWORD_REQUIRED");
    assert_eq!(open_code(&bytes, Some(b"")), "PASSWORD_REQUIRED");
    assert_eq!(open_code(&bytes, Some(b"nope")), "PASSWORD_INCORRECT");
    let user = Document::open(&bytes, Some(b"user")).expect("user password");
    assert!(!user.encryption().expect("info").opened_as_owner);
    assert_eq!(user.page_count().expect("count"), 20);
    let owner = Document::open(&bytes, Some(b"owner")).expect("owner password");
    assert!(owner.encryption().expect("info").opened_as_owner);
}

#[test]
fn aes_256_revision_6_opens_with_user_password() {
    let bytes = corpus("pdfjs-print_protection.pdf");
    assert_eq!(open_code(&bytes, None), "PASSWORD_REQUIRED");
    assert_eq!(open_code(&bytes, Some(b"wrong")), "PASSWORD_INCORRECT");
    let doc = Document::open(&bytes, Some(b"password")).expect("opens");
    let info = doc.encryption().expect("info");
    assert_eq!((info.r, info.stream_cipher, info.key_bits), (6, Cipher::Aes256, 256));
}

#[test]
fn public_key_encryption_is_refused_as_unsupported() {
    let bytes = corpus("pyhanko-pubkey-3des-test.pdf");
    assert_eq!(open_code(&bytes, None), "ENCRYPTION_UNSUPPORTED");
}

#[test]
fn objects_added_to_an_encrypted_file_are_encrypted_deterministically_and_read_back() {
    for (file, pw) in [
        ("pdfjs-issue17215.pdf", None),
        ("pdfjs-issue17069.pdf", None),
        ("pdfjs-print_protection.pdf", Some(&b"password"[..])),
    ] {
        let bytes = corpus(file);
        let doc = Document::open(&bytes, pw).expect("opens");
        let secret = b"PLAINTEXT-MARKER-123";
        let run = || {
            let mut up = IncrementalUpdate::new(&doc);
            let r = up.alloc();
            let mut d = Dict::new();
            d.insert(b"Note".to_vec(), Object::String(PdfString::literal(secret.to_vec())));
            d.insert(b"Contents".to_vec(), Object::Verbatim(b"<00112233>".to_vec()));
            up.put(r, Object::Stream(Stream { dict: d, raw: secret.to_vec() }));
            (r, up.finish().expect("finish"))
        };
        let (r, appended) = run();
        assert_eq!(appended, run().1, "{file}: output must be deterministic");
        let tail = &appended.tail;
        assert!(!tail.windows(secret.len()).any(|w| w == secret), "{file}: plaintext leaked");
        assert!(tail.windows(10).any(|w| w == b"<00112233>"), "{file}: verbatim must stay clear");
        let mut out = bytes.clone();
        out.extend_from_slice(tail);
        let again = Document::open(&out, pw).expect("reopens");
        let obj = again.resolve(r).expect("resolves");
        let s = obj.as_stream().expect("stream");
        assert_eq!(s.raw, secret, "{file}");
        assert_eq!(s.dict.get_string(b"Note"), Some(&secret[..]), "{file}");
        // resolve_raw leaves strings as stored (encrypted).
        let raw = again.resolve_raw(r).expect("raw");
        assert_ne!(raw.as_stream().expect("stream").dict.get_string(b"Note"), Some(&secret[..]));
    }
}
