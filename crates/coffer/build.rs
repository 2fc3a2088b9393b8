//! Stamps `coffer --version` with the git revision and the build date.
//!
//! CI builds from a copy of the repository without `.git`, and a source tarball has none either:
//! the revision is then `unknown`, and the build never fails for it. A checkout nested inside some
//! other repository does not borrow that repository's revision (the top level must be ours).
//! `SOURCE_DATE_EPOCH`, when set, fixes the date for reproducible builds.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let workspace = manifest_dir
        .parent()
        .and_then(Path::parent)
        .unwrap_or(&manifest_dir)
        .to_path_buf();
    let revision = git(&workspace, &["rev-parse", "--show-toplevel"])
        .filter(|top| same_dir(Path::new(top), &workspace))
        .and_then(|_| git(&workspace, &["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=COFFER_GIT_REVISION={revision}");
    println!("cargo:rustc-env=COFFER_BUILD_DATE={}", build_date());

    // Rebuilt when HEAD moves (a commit, a checkout), not on every build: the date is that of the
    // build that last saw a new revision.
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=build.rs");

    // Pack the binary's relative relocations (DT_RELR). A position-independent executable holds
    // ~49,000 of them (every pointer in a static table: model shapes, policy catalogues, strings);
    // as RELA entries they are 1.2 MB that the dynamic loader reads at every start and that then
    // stay resident. Packed, they are ~16 KB: ~1 MiB less idle RSS (bench/NOTES.md, *Memory*).
    // glibc ≥ 2.36 runs such binaries. rustc links with LLD on this target (since 1.90), which
    // knows the option, as does GNU ld ≥ 2.38; an older GNU ld warns and ignores it.
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if linux_gnu {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    order_startup_code(&manifest_dir);

    if revision == "unknown" {
        return;
    }
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&workspace, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        // Only files that exist: cargo treats a missing one as changed on every build.
        if let Some(path) = git(&workspace, &["rev-parse", "--git-path", &name])
            .map(|p| workspace.join(p))
            .filter(|p| p.exists())
        {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// Lays out together the functions a start runs (`startup-order.txt`, made by
/// `bench/startup-order.sh`). Start-up runs ~1,500 functions spread over the 21 MiB of code, and
/// the kernel maps the whole 64 KiB window around every page first touched: scattered, they made
/// ~6.4 MiB of the idle process resident; together, ~1.5 MiB (bench/NOTES.md, *Memory*). The list
/// names functions by their mangled symbols, which survive most edits; a function it no longer
/// names is simply placed as before.
///
/// Only LLD takes a symbol ordering file, so only where rustc links with LLD by default
/// (x86_64 Linux since Rust 1.90) and no other linker is configured.
fn order_startup_code(manifest_dir: &Path) {
    let order = manifest_dir.join("startup-order.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    for var in [
        "RUSTC_LINKER",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let other_linker = std::env::var_os("RUSTC_LINKER").is_some()
        || std::env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
        || ["linker", "fuse-ld", "link-self-contained"]
            .iter()
            .any(|f| flags.contains(f));
    let lld_by_default = std::env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu")
        && rustc_minor_version().is_some_and(|minor| minor >= 90);
    if order.is_file() && lld_by_default && !other_linker {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // Functions renamed since the list was made are not an error.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// The `1.x` minor version of the compiler building this crate.
fn rustc_minor_version() -> Option<u32> {
    let rustc = std::env::var_os("RUSTC")?;
    let output = Command::new(rustc).arg("-V").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = text.split_whitespace().nth(1)?;
    let mut parts = version.split('.');
    (parts.next()? == "1").then_some(())?;
    parts.next()?.parse().ok()
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_string())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `YYYY-MM-DD` (UTC) of `SOURCE_DATE_EPOCH` or now.
fn build_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
