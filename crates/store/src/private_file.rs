//! Files that only their owner may read: the SQLite database (sealed records, password hashes) and
//! backups. The mode is set explicitly after opening, so the process umask (022 under most service
//! managers) neither widens nor narrows it.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Owner read and write, nothing for group and others.
pub(crate) const PRIVATE_MODE: u32 = 0o600;

/// SQLite's companion files of a database, which it creates with the database file's mode.
const SQLITE_SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Creates `path` afresh for writing, mode 0600. A file already there (a partial write left by a
/// crash) is removed first rather than reused: creating exclusively never follows a link someone
/// else planted at that name.
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_MODE)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(PRIVATE_MODE))?;
    Ok(file)
}

/// Makes the SQLite database at `path` private before SQLite opens it: creates it empty with mode
/// 0600 when absent, and tightens a database (and its `-wal`, `-shm`, `-journal` files) left
/// readable by an older version. SQLite then creates its companion files with the database
/// file's mode, so they are private too.
pub(crate) fn prepare_sqlite_database(path: &Path) -> io::Result<()> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(PRIVATE_MODE)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(PRIVATE_MODE))?;
    for suffix in SQLITE_SIDE_FILES {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        match fs::set_permissions(PathBuf::from(side), Permissions::from_mode(PRIVATE_MODE)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_database_and_its_side_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("coffer.db");
        prepare_sqlite_database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        for suffix in SQLITE_SIDE_FILES {
            assert!(!dir.path().join(format!("coffer.db{suffix}")).exists());
        }
    }

    #[test]
    fn an_existing_readable_database_is_tightened_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("coffer.db");
        fs::write(&db, b"existing").unwrap();
        fs::set_permissions(&db, Permissions::from_mode(0o644)).unwrap();
        let wal = dir.path().join("coffer.db-wal");
        fs::write(&wal, b"wal").unwrap();
        fs::set_permissions(&wal, Permissions::from_mode(0o666)).unwrap();
        prepare_sqlite_database(&db).unwrap();
        assert_eq!((mode(&db), mode(&wal)), (0o600, 0o600));
        assert_eq!(fs::read(&db).unwrap(), b"existing");
    }

    #[test]
    fn create_new_replaces_a_leftover_and_does_not_follow_links() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.partial");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        drop(create_new(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
        assert_eq!(fs::read(&path).unwrap(), b"");

        let target = dir.path().join("elsewhere");
        fs::write(&target, b"keep me").unwrap();
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        drop(create_new(&path).unwrap());
        assert_eq!(fs::read(&target).unwrap(), b"keep me");
        assert!(!fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
