//! The audit trail in the `coffer` binary: the `serve` flags that configure it, and the two
//! readers, `coffer admin verify-audit` and `coffer admin audit`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use coffer_audit::files::trail_files;
use coffer_audit::lookup::{lookup, Filter};
use coffer_audit::verify::verify;
use coffer_audit::{
    Destination, Flush, SigningKey, Trail, TrailConfig, AUDIT_KEY_INFO, DEFAULT_SYNC_INTERVAL,
};
use coffer_server::AuditSettings;
use coffer_store::{MasterKey, MasterKeySource, Store};

/// The trail's file name in the data directory.
pub const AUDIT_LOG_FILE: &str = "audit.log";

/// `coffer serve`'s audit flags (README, "Audit trail").
#[derive(Args, Debug, Clone)]
pub struct AuditArgs {
    /// Where the audit trail goes: one CloudTrail-format JSON record per request, durable before
    /// the response. Default: <data-dir>/audit.log (none with --dev); `-` is standard output.
    #[arg(
        long,
        env = "COFFER_AUDIT_LOG",
        hide_env_values = true,
        value_name = "PATH|-"
    )]
    pub audit_log: Option<PathBuf>,
    /// Keep no audit trail (not advisable outside --dev).
    #[arg(
        long,
        env = "COFFER_NO_AUDIT_LOG",
        hide_env_values = true,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub no_audit_log: bool,
    /// Rotate the audit file when it reaches this many MiB (fractions allowed).
    #[arg(
        long,
        env = "COFFER_AUDIT_LOG_MAX_MIB",
        hide_env_values = true,
        value_name = "MIB",
        default_value = "100",
        value_parser = parse_mib
    )]
    pub audit_log_max_mib: u64,
    /// Rotated audit files kept; older ones are deleted.
    #[arg(long, env = "COFFER_AUDIT_LOG_KEEP", hide_env_values = true, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub audit_log_keep: u64,
    /// Answer 503 ServiceUnavailable when a request's audit record cannot be written.
    /// Default: true, false with --dev.
    #[arg(
        long,
        env = "COFFER_AUDIT_REQUIRED",
        hide_env_values = true,
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub audit_required: Option<bool>,
    /// How far a record is flushed before its request is answered: `fsync` (the default:
    /// fdatasync'd, group-committed; survives a power loss) or `write` (written to the file and
    /// fdatasync'd behind the answers, within 100 ms; survives Coffer being killed, not a power
    /// loss in that window).
    #[arg(
        long,
        env = "COFFER_AUDIT_FLUSH",
        hide_env_values = true,
        value_name = "fsync|write"
    )]
    pub audit_flush: Option<AuditFlush>,
}

/// Settings that contradict each other (`serve` and `config check`). Checked here, not by clap's
/// `conflicts_with`, which counts `COFFER_NO_AUDIT_LOG=0` as the flag given.
pub fn check_contradictions(args: &AuditArgs) -> anyhow::Result<()> {
    if args.no_audit_log && (args.audit_log.is_some() || args.audit_flush.is_some()) {
        anyhow::bail!(
            "--audit-log and --audit-flush cannot be used with --no-audit-log, which keeps no trail"
        );
    }
    Ok(())
}

/// `--audit-flush`'s values.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFlush {
    Fsync,
    Write,
}

/// `--audit-log-max-mib`: MiB, fractions allowed (a test rotates after a few records), as bytes.
fn parse_mib(text: &str) -> Result<u64, String> {
    let mib: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of MiB"))?;
    if !(0.001..=1_048_576.0).contains(&mib) {
        return Err(format!("{text} is outside 0.001 to 1048576 MiB"));
    }
    Ok((mib * 1024.0 * 1024.0) as u64)
}

/// The public key of `--dev` trails: derived from an all-zero master key, so their chain shows
/// order and completeness but their signatures prove nothing.
pub fn dev_signing_key() -> SigningKey {
    SigningKey::from_derived(MasterKey::from_bytes([0; 32]).derive_subkey(AUDIT_KEY_INFO))
}

/// Opens the trail `serve` was asked for, if any. Outside `--dev` it is on by default and signed
/// with a key derived from the store's master key. Also answers the start-up line saying where
/// the trail goes.
pub fn open_for_serve(
    args: &AuditArgs,
    dev: bool,
    data_dir: &Path,
    store: &Store,
) -> anyhow::Result<(Option<AuditSettings>, String)> {
    let destination = match (&args.audit_log, args.no_audit_log, dev) {
        (_, true, _) | (None, false, true) => None,
        (Some(path), false, _) if path.as_os_str() == "-" => Some(Destination::Stdout),
        (Some(path), false, _) => Some(Destination::File(
            std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?,
        )),
        (None, false, false) => Some(Destination::File(data_dir.join(AUDIT_LOG_FILE))),
    };
    let Some(destination) = destination else {
        if args.audit_required == Some(true) {
            anyhow::bail!("--audit-required needs an audit trail: give --audit-log PATH");
        }
        if args.audit_flush.is_some() {
            anyhow::bail!("--audit-flush needs an audit trail: give --audit-log PATH");
        }
        return Ok((None, crate::startup::audit_trail(None, false, dev)));
    };
    let key = if dev {
        dev_signing_key()
    } else {
        SigningKey::from_derived(store.derive_subkey(AUDIT_KEY_INFO))
    };
    let flush = match (args.audit_flush, &destination) {
        (Some(_), Destination::Stdout) => anyhow::bail!(
            "--audit-flush applies to a trail file: a trail on standard output is flushed to its reader before each answer"
        ),
        (Some(AuditFlush::Write), _) => Flush::Write,
        (Some(AuditFlush::Fsync) | None, _) => Flush::Fsync,
    };
    let shown = match &destination {
        Destination::File(path) if flush == Flush::Write => format!(
            "{}, each record written before its answer and synced within {} ms (--audit-flush write)",
            path.display(),
            DEFAULT_SYNC_INTERVAL.as_millis()
        ),
        Destination::File(path) => path.display().to_string(),
        Destination::Stdout => "standard output".to_string(),
    };
    let trail = Trail::open(TrailConfig {
        destination,
        max_file_bytes: args.audit_log_max_mib,
        keep_rotated: args.audit_log_keep as usize,
        key,
        flush,
        sync_interval: DEFAULT_SYNC_INTERVAL,
    })
    .context("opening the audit trail")?;
    let required = args.audit_required.unwrap_or(!dev);
    Ok((
        Some(AuditSettings {
            trail: Arc::new(trail),
            required,
        }),
        crate::startup::audit_trail(Some(&shown), required, dev),
    ))
}

/// The keys `verify-audit` checks signatures with.
#[derive(Args, Debug, Clone)]
pub struct KeyArgs {
    /// Data directory whose master.key (and audit.log, when no FILE is given) to use.
    #[arg(long, default_value = "coffer-data")]
    pub data_dir: PathBuf,
    /// Master key file (32 bytes, base64). Default: <data-dir>/master.key, unless
    /// COFFER_MASTER_KEY holds the key.
    #[arg(long)]
    pub master_key_file: Option<PathBuf>,
    /// Command whose standard output is the base64 master key.
    #[arg(long, conflicts_with = "master_key_file")]
    pub master_key_command: Option<String>,
    /// A master key the trail was written under before `rotate-master-key` (repeatable).
    #[arg(long = "previous-master-key-file", value_name = "FILE")]
    pub previous_master_key_files: Vec<PathBuf>,
    /// The trail was written by `serve --dev` (signed with its public key).
    #[arg(long)]
    pub dev: bool,
}

impl KeyArgs {
    fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>> {
        if self.dev {
            return Ok(vec![dev_signing_key()]);
        }
        let current = if let Some(file) = &self.master_key_file {
            MasterKeySource::File(file.clone())
        } else if let Some(command) = &self.master_key_command {
            MasterKeySource::Command(command.clone())
        } else if std::env::var_os(coffer_store::MASTER_KEY_ENV).is_some() {
            MasterKeySource::env()
        } else {
            MasterKeySource::File(self.data_dir.join(coffer_store::MASTER_KEY_FILE))
        };
        let mut sources = vec![current];
        sources.extend(
            self.previous_master_key_files
                .iter()
                .map(|f| MasterKeySource::File(f.clone())),
        );
        sources
            .iter()
            .map(|source| {
                let key = source.load()?;
                Ok(SigningKey::from_derived(key.derive_subkey(AUDIT_KEY_INFO)))
            })
            .collect()
    }
}

/// The files given, or the data directory's trail.
fn files_or_default(files: &[PathBuf], data_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !files.is_empty() {
        return Ok(files.to_vec());
    }
    let active = data_dir.join(AUDIT_LOG_FILE);
    let found = trail_files(&active).with_context(|| format!("listing {}", data_dir.display()))?;
    if found.is_empty() {
        anyhow::bail!("no audit trail at {}", active.display());
    }
    Ok(found)
}

/// `coffer admin verify-audit`: prints what it found; exit status 0 when the trail verifies, 1 at
/// the first altered, missing, copied or reordered record, 2 when it cannot be read.
pub fn verify_command(files: &[PathBuf], keys: &KeyArgs, out: &mut dyn Write) -> i32 {
    let checked = (|| -> anyhow::Result<_> {
        let signing_keys = keys.signing_keys().context("loading the master key")?;
        let files = files_or_default(files, &keys.data_dir)?;
        Ok(verify(&files, &signing_keys)?)
    })();
    let report = match checked {
        Ok(report) => report,
        Err(e) => {
            eprintln!("coffer admin verify-audit: {e:#}");
            return 2;
        }
    };
    let mut text = String::new();
    for note in &report.notes {
        text.push_str(&format!("note: {note}\n"));
    }
    let status = match (&report.problem, report.head) {
        (Some(problem), _) => {
            text.push_str(&format!(
                "FAILED: {problem}\n({} records verified before it)\n",
                report.records
            ));
            1
        }
        (None, Some(head)) => {
            text.push_str(&format!(
                "verified {} records (sequence {} to {}) in {} file(s); chain head: record {}, hash {}\n",
                report.records,
                report.first.unwrap_or(head.sequence),
                head.sequence,
                report.files,
                head.sequence,
                hex::encode(head.hash)
            ));
            0
        }
        (None, None) => {
            text.push_str("verified 0 records: the trail is empty\n");
            0
        }
    };
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return 2;
    }
    status
}

/// `coffer admin audit`'s filters, named after `aws cloudtrail lookup-events`' lookup attributes.
#[derive(Args, Debug, Clone)]
pub struct LookupArgs {
    /// Trail files (in any order). Default: <data-dir>/audit.log and its rotated files.
    pub files: Vec<PathBuf>,
    #[arg(long, default_value = "coffer-data")]
    pub data_dir: PathBuf,
    /// The caller: its ARN, principal id (`AIDA…`, `AROA…:session`) or user name.
    #[arg(long)]
    pub principal: Option<String>,
    /// The operation, e.g. GetSecretValue.
    #[arg(long)]
    pub event_name: Option<String>,
    /// The service, e.g. secretsmanager.amazonaws.com.
    #[arg(long)]
    pub event_source: Option<String>,
    #[arg(long)]
    pub access_key_id: Option<String>,
    /// A secret, by name or ARN.
    #[arg(long)]
    pub secret: Option<String>,
    /// Only read-only (`true`) or only changing (`false`) operations.
    #[arg(long, value_name = "BOOL")]
    pub read_only: Option<bool>,
    /// From this time on (RFC 3339, or a date: 2026-06-14).
    #[arg(long, value_parser = parse_time)]
    pub start_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Up to this time (RFC 3339, or a date: the whole day).
    #[arg(long, value_parser = parse_end_time)]
    pub end_time: Option<chrono::DateTime<chrono::Utc>>,
}

fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    parse_instant(text, false)
}

fn parse_end_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    parse_instant(text, true)
}

/// RFC 3339, or a date alone: its first second (start) or its last (end).
fn parse_instant(text: &str, end_of_day: bool) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(at.to_utc());
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is neither an RFC 3339 time nor a date (YYYY-MM-DD)"))?;
    let time = if end_of_day {
        chrono::NaiveTime::from_hms_opt(23, 59, 59)
    } else {
        chrono::NaiveTime::from_hms_opt(0, 0, 0)
    };
    Ok(date.and_time(time.unwrap_or_default()).and_utc())
}

/// `coffer admin audit`: prints the matching records (JSON lines, as stored, oldest first);
/// exit status 0, or 2 when the trail cannot be read.
pub fn lookup_command(args: &LookupArgs, out: &mut dyn Write) -> i32 {
    let filter = Filter {
        principal: args.principal.clone(),
        event_name: args.event_name.clone(),
        event_source: args.event_source.clone(),
        access_key_id: args.access_key_id.clone(),
        secret: args.secret.clone(),
        read_only: args.read_only,
        start_time: args.start_time,
        end_time: args.end_time,
    };
    let found = files_or_default(&args.files, &args.data_dir)
        .and_then(|files| Ok(lookup(&files, &filter, out)?));
    match found {
        Ok(summary) => {
            if summary.skipped > 0 {
                eprintln!(
                    "coffer admin audit: {} lines are not audit records (see `coffer admin verify-audit`)",
                    summary.skipped
                );
            }
            if out.flush().is_err() {
                return 2;
            }
            0
        }
        Err(e) => {
            eprintln!("coffer admin audit: {e:#}");
            2
        }
    }
}
