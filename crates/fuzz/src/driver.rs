//! The stable driver: runs a target on its seed corpus and crash regressions, then on a bounded
//! number of inputs mutated from them by a seeded generator. The same seed and count always
//! run the same inputs, so a failure reproduces exactly; the failing input is written to a file
//! and named in the panic message.
//!
//! It is no substitute for coverage guidance (use `cargo fuzz`, see `fuzz/README.md`), but it
//! runs on stable in CI and catches regressions in the properties every time.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::Target;

/// What one run did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    pub seeds: usize,
    pub regressions: usize,
    /// Inputs replayed from `extra_corpus` (a corpus a long `cargo fuzz` session grew).
    pub extra: usize,
    pub mutations: usize,
}

/// Where `fuzz/` is: beside `crates/` in the repository.
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every file in `dir`, sorted by name so runs are reproducible; none when it does not exist.
pub fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let data = fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), data)
        })
        .collect()
}

/// Tokens that mean something to `target`, from `fuzz/dict/<target>.dict` (libFuzzer's format:
/// one `"quoted"` token a line, `\xNN` and `\"` escapes, `#` comments).
pub fn dictionary(target: &str) -> Vec<Vec<u8>> {
    let path = fuzz_dir().join("dict").join(format!("{target}.dict"));
    let Ok(text) = fs::read_to_string(&path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let start = line.find('"')?;
            let end = line.rfind('"')?;
            (end > start && !line.starts_with('#')).then(|| unescape(&line[start + 1..end]))
        })
        .collect()
}

fn unescape(token: &str) -> Vec<u8> {
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            if bytes[i + 1] == b'x' && i + 3 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&token[i + 2..i + 4], 16) {
                    out.push(b);
                    i += 4;
                    continue;
                }
            }
            out.push(bytes[i + 1]);
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Runs `target` on its seeds and regressions, on every input of `extra_corpus/<target>` if
/// given, then `mutations` inputs derived from the seeds with `seed`. Panics, naming the input
/// and where it was saved, on the first failure.
pub fn run(target: Target, seed: u64, mutations: usize, extra_corpus: Option<&Path>) -> Summary {
    let corpus = inputs(&fuzz_dir().join("corpus").join(target.name));
    let regressions = inputs(&fuzz_dir().join("regressions").join(target.name));
    assert!(
        !corpus.is_empty(),
        "no seed corpus for {} in {}",
        target.name,
        fuzz_dir().display()
    );
    let extra = extra_corpus.map_or_else(Vec::new, |dir| inputs(&dir.join(target.name)));
    for (name, data) in corpus.iter().chain(&regressions).chain(&extra) {
        run_one(target, name, data);
    }
    let dictionary = dictionary(target.name);
    let mut rng = SplitMix64(seed ^ crate::split::fnv1a(target.name.as_bytes()));
    let pool: Vec<&[u8]> = corpus.iter().map(|(_, d)| d.as_slice()).collect();
    for i in 0..mutations {
        let base = pool[rng.below(pool.len())];
        let other = pool[rng.below(pool.len())];
        let input = mutate(&mut rng, base, other, &dictionary);
        run_one(target, &format!("mutation {i} (seed {seed})"), &input);
    }
    Summary {
        seeds: corpus.len(),
        regressions: regressions.len(),
        extra: extra.len(),
        mutations,
    }
}

fn run_one(target: Target, name: &str, data: &[u8]) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| (target.run)(data))) {
        let saved = std::env::temp_dir().join(format!(
            "coffer-fuzz-{}-{:016x}",
            target.name,
            crate::split::fnv1a(data)
        ));
        let _ = fs::write(&saved, data);
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!(
            "target {} failed on {name}, input saved to {} ({} bytes): {message}",
            target.name,
            saved.display(),
            data.len()
        );
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64): the same seed gives
/// the same mutations on every platform and every version of every dependency.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Values that break parsers more often than random bytes do.
const INTERESTING: &[&[u8]] = &[
    b"\x00",
    b"\xff",
    b"\x7f",
    b"\xc3\xa9",
    b"\xf0\x9f\x92\xa9",
    b"\xef\xbf\xbe",
    b"%",
    b"%zz",
    b"%FF",
    b"-1",
    b"0",
    b"4294967296",
    b"9223372036854775808",
    b"1e309",
    b"NaN",
    b"\"",
    b"\\u0000",
    b"\\ud800",
    b"[",
    b"{",
    b"}",
    b"]",
    b",",
    b"..",
    b"&",
    b"=",
    b"*",
    b"?",
    b"\r\n",
];

/// One to four stacked mutations of `base`, libFuzzer-style: byte flips and overwrites,
/// inserted and erased ranges, copied ranges, dictionary tokens, interesting values, splicing
/// with `other`, truncation.
pub fn mutate(rng: &mut SplitMix64, base: &[u8], other: &[u8], dictionary: &[Vec<u8>]) -> Vec<u8> {
    let mut data = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next_u64() as u8;
            }
            2 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(16)).min(len);
                data.drain(start..end);
            }
            3 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(32)).min(len);
                let chunk = data[start..end].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, chunk);
            }
            4 if !dictionary.is_empty() => {
                let token = &dictionary[rng.below(dictionary.len())];
                let at = rng.below(len + 1);
                data.splice(at..at, token.iter().copied());
            }
            5 => {
                let token = INTERESTING[rng.below(INTERESTING.len())];
                let at = rng.below(len + 1);
                if rng.below(2) == 0 || at == len {
                    data.splice(at..at, token.iter().copied());
                } else {
                    let end = (at + token.len()).min(len);
                    data.splice(at..end, token.iter().copied());
                }
            }
            6 if !other.is_empty() => {
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            7 if len > 0 => data.truncate(rng.below(len)),
            _ => {
                let at = rng.below(len + 1);
                data.insert(at, rng.next_u64() as u8);
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_reproducible() {
        let a: Vec<Vec<u8>> = {
            let mut rng = SplitMix64(7);
            (0..50)
                .map(|_| mutate(&mut rng, b"Action=X", b"{}", &[]))
                .collect()
        };
        let b: Vec<Vec<u8>> = {
            let mut rng = SplitMix64(7);
            (0..50)
                .map(|_| mutate(&mut rng, b"Action=X", b"{}", &[]))
                .collect()
        };
        assert_eq!(a, b);
        assert!(a.iter().any(|m| m != b"Action=X"));
    }

    #[test]
    fn dictionary_escapes() {
        assert_eq!(unescape(r#"a\"b\x41\\"#), b"a\"bA\\");
    }

    #[test]
    fn a_failing_target_names_its_input() {
        fn fails(data: &[u8]) {
            assert!(!data.starts_with(b"Action"), "found it");
        }
        let target = Target {
            name: "query_form",
            run: fails,
        };
        let err = catch_unwind(|| run(target, 1, 0, None)).unwrap_err();
        let message = err.downcast_ref::<String>().unwrap();
        assert!(message.contains("found it"), "{message}");
        assert!(message.contains("input saved to"), "{message}");
    }
}
