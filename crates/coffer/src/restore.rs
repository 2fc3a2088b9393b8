//! `coffer admin restore`: all or nothing.
//!
//! Everything that can be checked without writing is checked first: the backup's header, the
//! master key (never created here: only the key the backup was sealed under can open it) and the
//! target (no database there yet). A SQLite restore is then written into a staging directory
//! beside the target, closed, reopened to verify it, and only then moved into place; a failure at
//! any step removes the staging directory, so the target is left exactly as it was and the same
//! command can simply be run again once its cause is fixed. PostgreSQL restores in one
//! transaction into an empty database.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use coffer_store::{
    BackendConfig, BackupReport, MasterKey, MasterKeySource, Store, StoreConfig, StoreError,
};

/// SQLite's companion files: a leftover one next to a new database would be read as its own.
const SQLITE_SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Where the right key can come from, for the errors that ask for it.
fn key_options(source: &MasterKeySource) -> String {
    let flags = "--master-key-file FILE, the COFFER_MASTER_KEY environment variable or \
                 --master-key-command";
    match source {
        MasterKeySource::Generated(path) => format!(
            "copy that store's master.key to {}, or name the key with {flags}",
            path.display()
        ),
        _ => format!("name it with {flags}"),
    }
}

/// Restores `backup` into the store `config` describes, which must not hold a database yet.
pub async fn restore(backup: &Path, config: StoreConfig) -> anyhow::Result<BackupReport> {
    let key = load_key(&config.master_key)?;
    coffer_store::verify_backup_key(backup, &key).map_err(|e| match e {
        StoreError::Backup(msg) if msg.contains("different master key") => anyhow::anyhow!(
            "the backup {} was sealed under a different master key than {}: restore with the \
             master key of the store the backup was taken from ({}), then run the restore \
             again. Nothing was written.",
            backup.display(),
            describe(&config.master_key),
            key_options(&config.master_key)
        ),
        other => anyhow::anyhow!("{other}. Nothing was written."),
    })?;
    match &config.backend {
        BackendConfig::Sqlite(db) => restore_sqlite(backup, db, key).await,
        BackendConfig::Postgres(url) => restore_postgres(backup, url, key).await,
        BackendConfig::Memory => bail!("an in-memory store cannot be restored into"),
    }
}

/// The master key, read from its source without creating anything: a new key could never open
/// the backup.
fn load_key(source: &MasterKeySource) -> anyhow::Result<MasterKey> {
    if let MasterKeySource::Generated(path) = source {
        if !path.exists() {
            bail!(
                "no master key at {}: a backup opens only with the master key of the store it \
                 was taken from; {}, then run the restore again. Nothing was written.",
                path.display(),
                key_options(source)
            );
        }
    }
    source
        .load()
        .map_err(|e| anyhow::anyhow!("{e}. Nothing was written."))
}

fn describe(source: &MasterKeySource) -> String {
    match source {
        MasterKeySource::Generated(path) | MasterKeySource::File(path) => {
            format!("the key in {}", path.display())
        }
        MasterKeySource::Env(var) => format!("the key in the environment variable {var}"),
        MasterKeySource::Command(_) => "the key from --master-key-command".to_string(),
        MasterKeySource::Key(_) => "the given key".to_string(),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

async fn restore_sqlite(backup: &Path, db: &Path, key: MasterKey) -> anyhow::Result<BackupReport> {
    let db = std::path::absolute(db).with_context(|| format!("resolving {}", db.display()))?;
    let (Some(dir), Some(file_name)) = (db.parent(), db.file_name()) else {
        bail!("{} does not name a database file", db.display());
    };
    if dir.exists() && !dir.is_dir() {
        bail!(
            "{} is not a directory: the data directory must be a directory (it is created when \
             missing). Nothing was written.",
            dir.display()
        );
    }
    for existing in
        std::iter::once(db.clone()).chain(SQLITE_SIDE_FILES.iter().map(|s| with_suffix(&db, s)))
    {
        if existing.symlink_metadata().is_ok() {
            bail!(
                "{} already exists: a restore writes a new database and never replaces one. \
                 Restore into another --data-dir (or --storage path), or move the database and \
                 its -wal/-shm files aside first. Nothing was written.",
                existing.display()
            );
        }
    }

    // Beside the target directory, so the final move is a rename within one file system.
    let dir_exists = dir.is_dir();
    let beside = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => dir.to_path_buf(),
    };
    if !dir_exists {
        crate::data_dir::create_private_dirs(&beside)?;
    }
    // A data directory whose parent this user may not write to (`/var/lib/coffer` under a
    // root-owned `/var/lib`) stages inside itself instead: still one file system.
    let staging = match Staging::create(&beside, dir) {
        Err(_) if dir_exists => Staging::create(dir, dir)?,
        other => other?,
    };
    let staged_db = staging.path.join(file_name);
    let staged_config = || {
        StoreConfig::new(
            BackendConfig::Sqlite(staged_db.clone()),
            MasterKeySource::Key(key.clone()),
        )
    };
    let unwritten =
        |what: &str, e: StoreError| anyhow::anyhow!("{what}: {e}. Nothing was written.");
    let store = Store::open(staged_config())
        .await
        .map_err(|e| unwritten("creating the staged database", e))?;
    let report = store
        .restore(backup)
        .await
        .map_err(|e| unwritten(&format!("restoring {}", backup.display()), e))?;
    store
        .close()
        .await
        .map_err(|e| unwritten("closing the staged database", e))?;
    // Verify before anything is moved: the staged database opens under the key, and closes clean.
    Store::open(staged_config())
        .await
        .map_err(|e| unwritten("reopening the staged database to verify it", e))?
        .close()
        .await
        .map_err(|e| unwritten("closing the staged database", e))?;
    for suffix in SQLITE_SIDE_FILES {
        if with_suffix(&staged_db, suffix).exists() {
            bail!("the staged database was not closed cleanly. Nothing was written.");
        }
    }

    if dir_exists {
        // A hard link never replaces a file that appeared at the target meanwhile.
        std::fs::hard_link(&staged_db, &db)
            .with_context(|| format!("moving the restored database to {}", db.display()))?;
        sync_dir(dir)?;
        drop(staging);
    } else {
        std::fs::rename(&staging.path, dir)
            .with_context(|| format!("moving the restored data to {}", dir.display()))?;
        staging.keep();
        sync_dir(&beside)?;
    }
    Ok(report)
}

async fn restore_postgres(
    backup: &Path,
    url: &str,
    key: MasterKey,
) -> anyhow::Result<BackupReport> {
    let config = StoreConfig::new(
        BackendConfig::Postgres(url.to_string()),
        MasterKeySource::Key(key),
    );
    let store = Store::open(config).await.context("opening the database")?;
    // One transaction: either every record is written or none is.
    store.restore(backup).await.map_err(|e| match e {
        StoreError::NotEmpty => anyhow::anyhow!(
            "the database already holds records: a restore needs an empty database. Create a new \
             one (CREATE DATABASE …) and name it with --storage. Nothing was written."
        ),
        other => anyhow::anyhow!("restoring {}: {other}", backup.display()),
    })
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

/// A private directory removed with everything in it when dropped, unless kept.
struct Staging {
    path: PathBuf,
    keep: bool,
}

impl Staging {
    fn create(beside: &Path, target: &Path) -> anyhow::Result<Staging> {
        use rand::Rng;
        use std::os::unix::fs::DirBuilderExt;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "coffer-data".to_string());
        let suffix: u64 = rand::rngs::OsRng.gen();
        let path = beside.join(format!(".{name}.restore-{suffix:016x}"));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .with_context(|| {
                format!(
                    "creating the staging directory {}. Nothing was written",
                    path.display()
                )
            })?;
        Ok(Staging { path, keep: false })
    }

    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.keep {
            if let Err(e) = std::fs::remove_dir_all(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e, "removing the staging directory failed");
            }
        }
    }
}
