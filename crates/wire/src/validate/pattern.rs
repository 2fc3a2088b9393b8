//! The models' Java regular expressions, compiled once for Rust's `regex`.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;

/// Compiled patterns live for the process: the models hold a fixed, small set of them, and a
/// shared `&'static Regex` keeps one match-state pool per pattern (a clone per call would build
/// a fresh pool, and its caches, on every match).
type Cache = Mutex<HashMap<&'static str, Option<&'static Regex>>>;

/// Whether `text` satisfies the model `pattern` as AWS applies it: Java's `String.matches`, i.e.
/// the whole value must match (STS rejects `Session1:2` for `[\w+=,.@-]*`, which an unanchored
/// search would accept). Patterns Rust cannot express (IAM has one lookahead, `(?!-)`) are not
/// enforced rather than rejecting valid input.
pub fn matches(pattern: &'static str, text: &str) -> bool {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let compiled = {
        let mut map = cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *map.entry(pattern).or_insert_with(|| {
            Regex::new(&format!(r"\A(?:{})\z", translate(pattern)))
                .ok()
                .map(|re| &*Box::leak(Box::new(re)))
        })
    };
    compiled.is_none_or(|re| re.is_match(text))
}

/// Java's `\w`, `\d`, `\s` and their negations are ASCII-only; Rust's are Unicode-aware, so
/// they are spelled out as classes (Rust accepts a class nested inside a class).
fn translate(java: &str) -> String {
    let mut out = String::with_capacity(java.len() + 16);
    let mut chars = java.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('s') => out.push_str(r"[ \t\n\x0B\f\r]"),
            Some('S') => out.push_str(r"[^ \t\n\x0B\f\r]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_value_and_ascii_classes() {
        assert!(matches(r"[\w+=,.@-]*", "Session1"));
        assert!(!matches(r"[\w+=,.@-]*", "Session1:2"));
        assert!(!matches(r"[\w+=,.@-]+", "é"));
        assert!(matches(r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", "é 1"));
        assert!(matches(r"\d{12}", "123456789012"));
        assert!(!matches(r"\d{12}", "١٢٣٤٥٦٧٨٩٠١٢"));
        assert!(matches(r"[\u0009\u000A\u000D\u0020-\u00FF]+", "a\tb"));
        assert!(!matches(r"[\u0009\u000A\u000D\u0020-\u00FF]+", "\u{1}"));
        assert!(matches(r"^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$", "!a/b"));
    }

    #[test]
    fn unsupported_syntax_is_not_enforced() {
        let p = "^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$";
        assert!(matches(p, "anything at all"));
    }
}
