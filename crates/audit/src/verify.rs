//! `coffer admin verify-audit`: walks a trail's files in chain order and reports the first record
//! that was altered, is missing, is out of order, or is not a record at all.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use crate::error::AuditError;
use crate::files::{read_in_chain_order, Line};
use crate::integrity::{ChainHead, Hash, SigningKey, GENESIS};

/// What a verification found.
#[derive(Debug)]
pub struct Verification {
    pub records: u64,
    pub files: usize,
    /// Sequence number of the first record read.
    pub first: Option<u64>,
    /// The chain head after the last record read.
    pub head: Option<ChainHead>,
    /// Facts worth knowing that are not tampering: the trail starts after sequence 1 (older
    /// files were rotated away), a new trail starts (a server without the previous files), a
    /// write was cut short by a crash.
    pub notes: Vec<String>,
    /// The first sign of tampering, if any.
    pub problem: Option<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The line is not a sealed record.
    NotARecord { reason: String },
    /// The record's signature does not match its content.
    Altered { sequence: u64 },
    /// Signed with a key none of the given master keys derives.
    UnknownKey { sequence: u64, key_id: String },
    /// Records between the one before and this one are absent.
    Missing { sequence: u64, from: u64, to: u64 },
    /// This record comes before one that should precede it, or after one it should precede.
    OutOfOrder { sequence: u64, after: u64 },
    /// The very same record appears a second time (copied).
    Duplicate { sequence: u64 },
    /// The sequence follows, but the link to the record before does not: the record before was
    /// replaced by one from another chain.
    BrokenLink { sequence: u64 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        match &self.kind {
            ProblemKind::NotARecord { reason } => write!(f, "not an audit record: {reason}"),
            ProblemKind::Altered { sequence } => write!(
                f,
                "record {sequence} was altered: its signature does not match its content"
            ),
            ProblemKind::UnknownKey { sequence, key_id } => write!(
                f,
                "record {sequence} is signed with a key none of the given master keys derives (key id {key_id}): give the master key it was written under"
            ),
            ProblemKind::Missing { sequence, from, to } if from == to => write!(
                f,
                "record {from} is missing: record {sequence} follows record {}",
                from - 1
            ),
            ProblemKind::Missing { sequence, from, to } => write!(
                f,
                "records {from} to {to} are missing: record {sequence} follows record {}",
                from - 1
            ),
            ProblemKind::OutOfOrder { sequence, after } => write!(
                f,
                "record {sequence} is out of order: it comes after record {after}"
            ),
            ProblemKind::Duplicate { sequence } => {
                write!(f, "record {sequence} appears a second time (a copy)")
            }
            ProblemKind::BrokenLink { sequence } => write!(
                f,
                "record {sequence} does not follow the record before it (its previousHash differs): a record was replaced"
            ),
        }
    }
}

/// Verifies the trail made of `paths` (in any order: they are put in chain order) with the
/// signing keys of the master keys given.
pub fn verify(paths: &[PathBuf], keys: &[SigningKey]) -> Result<Verification, AuditError> {
    let keys: HashMap<String, &SigningKey> = keys.iter().map(|k| (k.id_hex(), k)).collect();
    let files = read_in_chain_order(paths)?;
    let mut report = Verification {
        records: 0,
        files: files.len(),
        first: None,
        head: None,
        notes: Vec::new(),
        problem: None,
    };
    // How many times each sequence number is still to come, to tell a record that was moved
    // from one that is missing.
    let mut to_come: HashMap<u64, usize> = HashMap::new();
    for line in files.iter().flat_map(|f| &f.lines) {
        if let Ok(sealed) = &line.sealed {
            *to_come.entry(sealed.sequence).or_default() += 1;
        }
    }
    let mut seen: HashSet<Hash> = HashSet::new();
    for file in &files {
        if file.lines.is_empty() && file.incomplete_tail == 0 {
            report.notes.push(format!("{}: empty", file.path.display()));
        }
        for line in &file.lines {
            let problem = |kind| Problem {
                file: file.path.clone(),
                line: line.number,
                kind,
            };
            let first_of_file = line.number == 1;
            if let Some(kind) = check(
                line,
                first_of_file,
                &keys,
                &mut report,
                &mut to_come,
                &mut seen,
            ) {
                report.problem = Some(problem(kind));
                return Ok(report);
            }
        }
        if file.incomplete_tail > 0 {
            report.notes.push(format!(
                "{}: ends with {} bytes of an incomplete record (a write cut short by a crash; its request was never answered)",
                file.path.display(),
                file.incomplete_tail
            ));
        }
    }
    Ok(report)
}

fn check(
    line: &Line,
    first_of_file: bool,
    keys: &HashMap<String, &SigningKey>,
    report: &mut Verification,
    to_come: &mut HashMap<u64, usize>,
    seen: &mut HashSet<Hash>,
) -> Option<ProblemKind> {
    let sealed = match &line.sealed {
        Ok(sealed) => sealed,
        Err(reason) => {
            return Some(ProblemKind::NotARecord {
                reason: reason.to_string(),
            })
        }
    };
    let sequence = sealed.sequence;
    match keys.get(&sealed.key_id) {
        None => {
            return Some(ProblemKind::UnknownKey {
                sequence,
                key_id: sealed.key_id.clone(),
            })
        }
        Some(key) if !key.verifies(&sealed.hash, &sealed.signature) => {
            return Some(ProblemKind::Altered { sequence });
        }
        Some(_) => {}
    }
    if !seen.insert(sealed.hash) {
        return Some(ProblemKind::Duplicate { sequence });
    }
    if let Some(count) = to_come.get_mut(&sequence) {
        *count = count.saturating_sub(1);
    }
    // A new trail (a server started without the earlier files) begins a file; anywhere else a
    // first record is one moved from the start.
    let starts_trail = sequence == 1 && sealed.previous_hash == GENESIS;
    match report.head {
        None if !starts_trail => report.notes.push(format!(
            "the records given start at sequence {sequence}: earlier ones are not among the files"
        )),
        None => {}
        Some(head) if starts_trail && first_of_file => report.notes.push(format!(
            "a new trail starts after record {} (a server started without the earlier files)",
            head.sequence
        )),
        Some(head) if sequence == head.sequence + 1 && sealed.previous_hash != head.hash => {
            return Some(ProblemKind::BrokenLink { sequence });
        }
        Some(head) if sequence == head.sequence + 1 => {}
        Some(head) if sequence <= head.sequence => {
            return Some(ProblemKind::OutOfOrder {
                sequence,
                after: head.sequence,
            });
        }
        Some(head) => {
            let expected = head.sequence + 1;
            if to_come.get(&expected).is_some_and(|&n| n > 0) {
                return Some(ProblemKind::OutOfOrder {
                    sequence,
                    after: head.sequence,
                });
            }
            return Some(ProblemKind::Missing {
                sequence,
                from: expected,
                to: sequence - 1,
            });
        }
    }
    report.records += 1;
    report.first.get_or_insert(sequence);
    report.head = Some(ChainHead {
        sequence,
        hash: sealed.hash,
    });
    None
}
