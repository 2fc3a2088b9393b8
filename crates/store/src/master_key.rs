use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::StoreError;

/// Name of the environment variable holding a base64 master key.
pub const MASTER_KEY_ENV: &str = "COFFER_MASTER_KEY";

/// A 256-bit master key. Debug is redacted; the bytes are zeroized on drop.
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
    /// `id()`, computed once: every seal stamps it (an HMAC per seal was measurable).
    id: [u8; 8],
}

impl MasterKey {
    fn new(bytes: Zeroizing<[u8; 32]>) -> Self {
        let kcv = check_value_of(&bytes);
        let mut id = [0u8; 8];
        id.copy_from_slice(&kcv[..8]);
        MasterKey { bytes, id }
    }

    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(bytes.as_mut());
        MasterKey::new(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        MasterKey::new(Zeroizing::new(bytes))
    }

    /// Parses base64 of exactly 32 bytes; surrounding whitespace is ignored.
    pub fn from_base64(text: &str) -> Result<Self, StoreError> {
        let decoded =
            Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| {
                StoreError::MasterKey("master key is not valid base64".to_string())
            })?);
        let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| {
            StoreError::MasterKey(format!(
                "master key must be 32 bytes, got {}",
                decoded.len()
            ))
        })?;
        Ok(MasterKey::from_bytes(bytes))
    }

    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.bytes.as_ref()))
    }

    /// Writes the key as base64 to a new file with mode 0600; an existing file is never overwritten.
    pub fn write_key_file(&self, path: &Path) -> Result<(), StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                StoreError::MasterKey(format!("cannot create key file {}: {e}", path.display()))
            })?;
        let mut line = self.to_base64();
        line.push('\n');
        file.write_all(line.as_bytes())?;
        file.sync_all()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The key must survive a crash together with the database initialised under it.
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// A key for another purpose derived from this one (HKDF-SHA256, no salt, `info` naming the
    /// purpose), so that purpose never needs the master key itself and its keys stay apart.
    pub fn derive_subkey(&self, info: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit of 255 blocks: expanding cannot fail.
        hkdf::Hkdf::<Sha256>::new(None, self.bytes.as_ref())
            .expand(info, out.as_mut())
            .unwrap_or_else(|_| unreachable!());
        out
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// A value derived from the key and stored in the database, so a wrong key is detected before use.
    pub(crate) fn check_value(&self) -> [u8; 32] {
        check_value_of(&self.bytes)
    }

    /// Short identifier stamped on every envelope so the right key is picked during rotation.
    pub(crate) fn id(&self) -> [u8; 8] {
        self.id
    }
}

fn check_value_of(key: &[u8; 32]) -> [u8; 32] {
    // HMAC zero-pads keys shorter than the 64-byte block, so this equals HMAC with the 32-byte key
    // while staying infallible.
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*block).into());
    mac.update(b"coffer key check value v1");
    mac.finalize().into_bytes().into()
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// Where the master key comes from.
#[derive(Clone)]
pub enum MasterKeySource {
    /// A key file that is created (mode 0600) when a new database is initialised, e.g. `<data dir>/master.key`.
    Generated(PathBuf),
    /// An existing key file (`--master-key-file`).
    File(PathBuf),
    /// An environment variable holding base64 of 32 bytes (normally `COFFER_MASTER_KEY`).
    Env(String),
    /// A shell command whose stdout is the base64 key (HSM or cloud KMS integration).
    Command(String),
    /// A key already in memory (dev mode, tests, the CLI's rotate command).
    Key(MasterKey),
}

impl fmt::Debug for MasterKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MasterKeySource::Generated(p) => f.debug_tuple("Generated").field(p).finish(),
            MasterKeySource::File(p) => f.debug_tuple("File").field(p).finish(),
            MasterKeySource::Env(v) => f.debug_tuple("Env").field(v).finish(),
            // Command lines sometimes carry tokens.
            MasterKeySource::Command(_) => f.write_str("Command(<redacted>)"),
            MasterKeySource::Key(_) => f.write_str("Key(<redacted>)"),
        }
    }
}

impl MasterKeySource {
    pub fn env() -> Self {
        MasterKeySource::Env(MASTER_KEY_ENV.to_string())
    }

    /// Loads the key without creating anything.
    pub fn load(&self) -> Result<MasterKey, StoreError> {
        match self {
            MasterKeySource::Generated(path) | MasterKeySource::File(path) => read_key_file(path),
            MasterKeySource::Env(var) => {
                let value = Zeroizing::new(std::env::var(var).map_err(|_| {
                    StoreError::MasterKey(format!("environment variable {var} is not set"))
                })?);
                MasterKey::from_base64(&value)
                    .map_err(|e| StoreError::MasterKey(format!("{var}: {e}")))
            }
            MasterKeySource::Command(cmd) => run_key_command(cmd),
            MasterKeySource::Key(key) => Ok(key.clone()),
        }
    }

    /// Loads the key, creating the key file of `Generated` when it does not exist yet. Only used when a
    /// new database is initialised: for an existing database a missing key file is an error.
    pub(crate) fn load_or_create(&self) -> Result<MasterKey, StoreError> {
        if let MasterKeySource::Generated(path) = self {
            if !path.exists() {
                let key = MasterKey::generate();
                key.write_key_file(path)?;
                tracing::info!(path = %path.display(), "created a new master key file");
                return Ok(key);
            }
        }
        self.load()
    }
}

fn read_key_file(path: &Path) -> Result<MasterKey, StoreError> {
    let meta = std::fs::metadata(path).map_err(|e| {
        StoreError::MasterKey(format!("cannot read key file {}: {e}", path.display()))
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "master key file is readable by group or others; chmod 600 it");
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        StoreError::MasterKey(format!("cannot read key file {}: {e}", path.display()))
    })?);
    MasterKey::from_base64(&text)
        .map_err(|e| StoreError::MasterKey(format!("key file {}: {e}", path.display())))
}

fn run_key_command(cmd: &str) -> Result<MasterKey, StoreError> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| StoreError::MasterKey(format!("cannot run master key command: {e}")))?;
    let stdout = Zeroizing::new(output.stdout);
    if !output.status.success() {
        return Err(StoreError::MasterKey(format!(
            "master key command exited with {}",
            output.status
        )));
    }
    let text = Zeroizing::new(String::from_utf8_lossy(&stdout).into_owned());
    MasterKey::from_base64(&text)
        .map_err(|e| StoreError::MasterKey(format!("master key command output: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_key_material() {
        let key = MasterKey::generate();
        let b64 = key.to_base64();
        for shown in [
            format!("{key:?}"),
            format!("{:?}", MasterKeySource::Key(key.clone())),
            format!(
                "{:?}",
                MasterKeySource::Command(format!("echo {}", b64.as_str()))
            ),
        ] {
            assert!(!shown.contains(b64.as_str()), "{shown}");
        }
    }

    #[test]
    fn subkeys_are_deterministic_and_apart_by_purpose_and_key() {
        let key = MasterKey::from_bytes([7; 32]);
        let audit = key.derive_subkey(b"audit");
        assert_eq!(*audit, *key.derive_subkey(b"audit"));
        assert_ne!(*audit, *key.derive_subkey(b"other"));
        assert_ne!(
            *audit,
            *MasterKey::from_bytes([8; 32]).derive_subkey(b"audit")
        );
        assert_ne!(*audit, [7; 32]);
        // RFC 5869's HKDF-SHA256 (checked against Python's `cryptography` HKDF, no salt).
        assert_eq!(
            hex_of(
                &*MasterKey::from_bytes([0; 32])
                    .derive_subkey(b"coffer audit trail signing key v1")
            ),
            "338fa118f25d7f21ea969cf7eddded5d3a1d709c3a5a418a7ac6f185af1a0e3b"
        );
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn base64_parsing() {
        let key = MasterKey::generate();
        let parsed = MasterKey::from_base64(&format!(" {}\n", key.to_base64().as_str())).unwrap();
        assert_eq!(parsed.bytes(), key.bytes());
        assert!(matches!(
            MasterKey::from_base64("AAAA"),
            Err(StoreError::MasterKey(_))
        ));
        assert!(matches!(
            MasterKey::from_base64("not base64!"),
            Err(StoreError::MasterKey(_))
        ));
    }
}
