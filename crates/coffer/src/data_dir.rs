//! The data directory (`--data-dir`): database, master key, TLS material, root credentials.

use std::path::Path;

use anyhow::{bail, Context};

/// Fails with a clear message when `dir` exists but is not a directory (otherwise the first file
/// created in it fails with a bare "File exists" or "Not a directory").
pub fn check(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!(
            "--data-dir {} is not a directory: it must name a directory (created when missing)",
            dir.display()
        );
    }
    Ok(())
}

/// Creates `dir` and its missing parents, owner-only (mode 0700); an existing `dir` must be a
/// directory.
pub fn create_private_dirs(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    check(dir)?;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_not_a_data_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let err = create_private_dirs(&file).unwrap_err().to_string();
        assert!(err.contains("is not a directory"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), b"x");

        let nested = tmp.path().join("a/b");
        create_private_dirs(&nested).unwrap();
        assert!(nested.is_dir());
        create_private_dirs(&nested).unwrap();
    }
}
