//! First start in a new data directory: the account and its root access key.
//!
//! The root credentials are printed once and written to `<data-dir>/root-credentials` in the AWS
//! shared-credentials format (mode 0600), so `AWS_SHARED_CREDENTIALS_FILE` can point at it.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{bail, Context};
use coffer_store::Store;
use rand::Rng;

pub struct RootAccount {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `true` when this start created the account (its credentials are printed once).
    pub created: bool,
}

pub const CREDENTIALS_FILE: &str = "root-credentials";

/// Loads the root account of `data_dir`, creating it on first start: the account and its root key
/// go into the store (the secret sealed), then the credentials file is written. `account_id` and
/// the preset key (from `COFFER_ROOT_ACCESS_KEY_ID` / `COFFER_ROOT_SECRET_ACCESS_KEY`) apply only then.
pub async fn ensure_root_account(
    store: &Store,
    data_dir: &Path,
    account_id: Option<&str>,
    preset_key: Option<(String, String)>,
) -> anyhow::Result<Bootstrap> {
    let path = data_dir.join(CREDENTIALS_FILE);
    if path.exists() {
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let root =
            parse_credentials(&text).with_context(|| format!("parsing {}", path.display()))?;
        store_root(store, &root).await?;
        return Ok(Bootstrap::Credentials(root));
    }
    if let Some(account_id) = existing_account(store).await? {
        // A restored backup, or a node joining a shared database: the accounts exist already.
        return Ok(Bootstrap::Existing { account_id });
    }
    let account_id = match account_id {
        Some(id) => validate_account_id(id)?.to_string(),
        None => random_account_id(),
    };
    let (access_key_id, secret_access_key) = match preset_key {
        Some((id, secret)) => {
            validate_preset(&id, &secret)?;
            (id, secret)
        }
        None => (new_access_key_id("AKIA"), new_secret_access_key()),
    };
    let root = RootAccount {
        account_id,
        access_key_id,
        secret_access_key,
        created: true,
    };
    store_root(store, &root).await?;
    let RootAccount {
        account_id,
        access_key_id,
        secret_access_key,
        ..
    } = &root;
    let text = format!(
        "# Coffer root credentials for account {account_id}. Keep this file private.\n\
         [default]\n\
         aws_access_key_id = {access_key_id}\n\
         aws_secret_access_key = {secret_access_key}\n\
         # account_id = {account_id}\n"
    );
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(Bootstrap::Credentials(root))
}

/// What the server starts with.
pub enum Bootstrap {
    /// The root credentials of this data directory (created now or read from its file).
    Credentials(RootAccount),
    /// The store already holds accounts but this data directory has no credentials file.
    Existing { account_id: String },
}

impl Bootstrap {
    pub fn account_id(&self) -> &str {
        match self {
            Bootstrap::Credentials(root) => &root.account_id,
            Bootstrap::Existing { account_id } => account_id,
        }
    }
}

/// Creates one more account (tenant) and its root access key, for `coffer admin account create`.
/// Safe while a server runs on the same store: the server reads keys it has not seen from storage.
pub async fn create_account(
    store: &Store,
    account_id: Option<&str>,
) -> anyhow::Result<RootAccount> {
    let account_id = match account_id {
        Some(id) => validate_account_id(id)?.to_string(),
        None => random_account_id(),
    };
    let root = RootAccount {
        account_id,
        access_key_id: new_access_key_id("AKIA"),
        secret_access_key: new_secret_access_key(),
        created: true,
    };
    let account = root.account_id.clone();
    let key_id = root.access_key_id.clone();
    let secret = zeroize::Zeroizing::new(root.secret_access_key.clone());
    let now = now_secs();
    let created = store
        .write(move |txn| {
            if coffer_iam::accounts::get(txn, &account)?.is_some() {
                return Ok(false);
            }
            coffer_iam::accounts::create_with_root_key(txn, &account, &key_id, &secret, now)?;
            Ok(true)
        })
        .await
        .map_err(|e: coffer_store::StoreError| anyhow::anyhow!("creating the account: {e}"))?;
    if !created {
        bail!("account {} already exists", root.account_id);
    }
    Ok(root)
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

async fn existing_account(store: &Store) -> anyhow::Result<Option<String>> {
    store
        .read(|txn| {
            Ok::<_, coffer_store::StoreError>(
                txn.scan(coffer_iam::accounts::ACCOUNTS, "", None, 1)?
                    .into_iter()
                    .next()
                    .map(|(key, _)| key),
            )
        })
        .await
        .map_err(|e| anyhow::anyhow!("reading accounts: {e}"))
}

/// Records the account and its root key unless the store has them already (a store shared by
/// several nodes, or a data directory from before the account was stored).
async fn store_root(store: &Store, root: &RootAccount) -> anyhow::Result<()> {
    let account_id = root.account_id.clone();
    let key_id = root.access_key_id.clone();
    let secret = zeroize::Zeroizing::new(root.secret_access_key.clone());
    let now = now_secs();
    store
        .write(move |txn| {
            if coffer_iam::accounts::get(txn, &account_id)?.is_some() {
                return Ok(());
            }
            coffer_iam::accounts::create_with_root_key(txn, &account_id, &key_id, &secret, now)
        })
        .await
        .map_err(|e: coffer_store::StoreError| anyhow::anyhow!("storing the root account: {e}"))
}

fn parse_credentials(text: &str) -> anyhow::Result<RootAccount> {
    let mut account_id = None;
    let mut key_id = None;
    let mut secret = None;
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("# ").unwrap_or(line);
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_string();
            match k.trim() {
                "account_id" => account_id = Some(v),
                "aws_access_key_id" => key_id = Some(v),
                "aws_secret_access_key" => secret = Some(v),
                _ => {}
            }
        }
    }
    match (account_id, key_id, secret) {
        (Some(account_id), Some(access_key_id), Some(secret_access_key)) => Ok(RootAccount {
            account_id,
            access_key_id,
            secret_access_key,
            created: false,
        }),
        _ => bail!("the file lacks account_id, aws_access_key_id or aws_secret_access_key"),
    }
}

pub fn validate_account_id(id: &str) -> anyhow::Result<&str> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id)
    } else {
        bail!("account id must be 12 digits, got {id:?}")
    }
}

fn validate_preset(id: &str, secret: &str) -> anyhow::Result<()> {
    if !(16..=128).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        bail!("COFFER_ROOT_ACCESS_KEY_ID must be 16-128 letters and digits");
    }
    if secret.len() < 16 || secret.chars().any(char::is_whitespace) {
        bail!("COFFER_ROOT_SECRET_ACCESS_KEY must be at least 16 characters without spaces");
    }
    Ok(())
}

fn random_account_id() -> String {
    let mut rng = rand::thread_rng();
    // AWS account ids never start with 0 in practice; avoiding it keeps them distinct from dev mode's.
    let first = rng.gen_range(1..=9u8);
    let rest: String = (0..11)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect();
    format!("{first}{rest}")
}

/// `AKIA` + 16 characters of AWS's access key alphabet (upper-case letters and digits 2-7).
pub fn new_access_key_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::rngs::OsRng;
    let tail: String = (0..16)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    format!("{prefix}{tail}")
}

/// 40 characters of base64 alphabet, like AWS secret access keys.
pub fn new_secret_access_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::rngs::OsRng;
    (0..40)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}
