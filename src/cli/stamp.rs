//! `meterai stamp`: affix an e-Meterai to a PDF offline, with a local key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use meterai_core::serial::Serial;
use meterai_stamp::placement::Placement;

use super::{internal, read_input, refuse};

#[derive(Debug, Args)]
pub struct StampArgs {
    /// The PDF to stamp (never modified).
    pub input: PathBuf,
    /// Where to write the stamped PDF; written atomically, never left half-written.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// 1-based page number.
    #[arg(long, default_value_t = 1)]
    pub page: u32,
    /// Box in points from the bottom-left of the page as displayed: LLX,LLY,URX,URY.
    #[arg(long = "box", value_name = "LLX,LLY,URX,URY", conflicts_with = "at")]
    pub stamp_box: Option<String>,
    /// A 100x100 pt box at a named position.
    #[arg(long, value_name = "POSITION", default_value = "bottom-right")]
    pub at: String,
    /// Serial number to use; a fresh offline one when omitted.
    #[arg(long)]
    pub serial: Option<String>,
    /// Document type code (2, 3, 4a, 4b).
    #[arg(long = "doc-type")]
    pub doc_type: Option<String>,
    /// Reason text added after the SN.
    #[arg(long)]
    pub reason: Option<String>,
    /// Signature location.
    #[arg(long)]
    pub location: Option<String>,
    /// Password of an encrypted PDF (user or owner password).
    #[arg(long)]
    pub password: Option<String>,
    /// The signing key and certificates.
    #[command(flatten)]
    pub signer: SignerArgs,
    /// Public base URL of the verifier; the QR code encodes {URL}/v/{SN}.
    #[arg(long = "public-url", env = "METERAI_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
    /// Signing time as Unix seconds, for reproducible output (default: now).
    #[arg(long = "signing-time", env = "METERAI_SIGNING_TIME", hide = true)]
    pub signing_time: Option<i64>,
}

pub fn run(args: StampArgs, storage: &super::storage::StorageArgs) -> ExitCode {
    let placement = match parse_placement(&args) {
        Ok(p) => p,
        Err(e) => return refuse("BAD_ARGUMENT", e),
    };
    let serial = match &args.serial {
        Some(s) => match Serial::parse(s) {
            Ok(s) => s,
            Err(e) => return refuse("SERIAL_INVALID", format!("{s:?}: {e}")),
        },
        None => match offline_serial() {
            Ok(s) => s,
            Err(e) => return internal(e),
        },
    };
    if let Some(t) = &args.doc_type
        && meterai_core::doc_type::DocType::from_code(t).is_err()
    {
        return refuse("DOC_TYPE_UNKNOWN", format!("{t:?} is not a document type code (2, 3, 4a, 4b)"));
    }
    let input = match read_input(&args.input) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let signer = match args.signer.load(&storage.data_dir) {
        Ok(s) => s,
        Err(e) => return internal(format!("{e:#}")),
    };
    let signing_time = args.signing_time.unwrap_or_else(now_unix);
    let sn = serial.to_string();
    let verify_url = format!("{}/v/{}", args.public_url.trim_end_matches('/'), sn);
    let req = meterai_stamp::engine::StampRequest {
        input: &input,
        password: args.password.as_deref().map(str::as_bytes),
        page: args.page,
        placement,
        serial: &sn,
        verify_url: &verify_url,
        doc_type: args.doc_type.as_deref(),
        reason: args.reason.as_deref(),
        location: args.location.as_deref(),
        signing_time_unix: signing_time,
        input_digest: None,
    };
    let stamped = match meterai_stamp::engine::stamp(&req, signer.as_ref()) {
        Ok(s) => s,
        Err(e) if e.is_refusal() => return refuse(e.code(), &e),
        Err(e) => return internal(&e),
    };
    if let Err(e) = write_atomically(&args.output, &input, &stamped.tail) {
        return internal(format!("writing {}: {e}", args.output.display()));
    }
    println!("stamped {} -> {}", args.input.display(), args.output.display());
    println!("serial: {sn}");
    println!("verify: {verify_url}");
    ExitCode::SUCCESS
}

fn parse_placement(args: &StampArgs) -> Result<Placement, String> {
    Placement::parse(args.stamp_box.as_deref(), &args.at).map_err(|e| format!("--box/--at: {e}"))
}

/// Which key signs: shared by `stamp` and `serve`.
#[derive(Debug, Clone, Args)]
pub struct SignerArgs {
    /// Signing key (PEM: PKCS#8, PKCS#1 or SEC1). Without it, the development key is used.
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// Signing certificate (PEM).
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// Further certificates to embed, and for `serve` to trust when verifying (PEM).
    #[arg(long)]
    pub chain: Option<PathBuf>,
}

/// A signer and the DER certificates a verifier of its stamps should trust (its chain's).
pub type SignerWithAnchors = (Box<dyn meterai_sign::Signer>, Vec<Vec<u8>>);

impl SignerArgs {
    /// The signer from `--key`/`--cert` (+ `--chain`), or the development PKI in `data_dir` when
    /// no key is given.
    pub fn load(&self, data_dir: &Path) -> anyhow::Result<Box<dyn meterai_sign::Signer>> {
        Ok(self.load_with_anchors(data_dir)?.0)
    }

    /// The signer, with the certificates a verifier of its stamps should trust.
    pub fn load_with_anchors(&self, data_dir: &Path) -> anyhow::Result<SignerWithAnchors> {
        use anyhow::Context;
        let (key, cert, chain) = match (&self.key, &self.cert) {
            (Some(k), Some(c)) => (k.clone(), c.clone(), self.chain.clone()),
            _ => {
                let files = super::dev_pki::ensure(data_dir)?;
                (files.signer_key, files.signer_cert, Some(files.ca_cert))
            }
        };
        let read = |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
        let chain_pem = chain.as_deref().map(read).transpose()?;
        let signer = meterai_sign::LocalKeySigner::from_pem(&read(&key)?, &read(&cert)?, chain_pem.as_deref())
            .with_context(|| format!("loading the key {} and certificate {}", key.display(), cert.display()))?;
        let anchors = match &chain_pem {
            Some(pem) => meterai_sign::parse_pem_certificates(pem).context("reading the chain certificates")?,
            None => Vec::new(),
        };
        Ok((Box::new(signer), anchors))
    }
}

/// An offline serial (series XX): unique enough for local use, never issued by the registry.
fn offline_serial() -> anyhow::Result<Serial> {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).map_err(|e| anyhow::anyhow!("no randomness for the serial: {e}"))?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
    Ok(Serial::offline(nanos, u64::from_le_bytes(r)))
}

fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Writes `head ++ tail` to a temporary file next to `path`, syncs it, then renames it into
/// place: a crash or a full disk never leaves a partial stamped PDF under the requested name.
fn write_atomically(path: &Path, head: &[u8], tail: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.partial", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(head)?;
        f.write_all(tail)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
