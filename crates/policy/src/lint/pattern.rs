//! Whether two wildcard patterns can describe a common string: a policy's resource ARN (with `*`,
//! `?` and policy variables) against a resource type's ARN format from the Service Authorization
//! Reference (with `${Placeholders}`), and a condition key against a key template
//! (`aws:ResourceTag/${TagKey}`).
//!
//! Both sides are read as automata over characters and their product is searched for an accepting
//! path, so the cost is bounded by the product of the two lengths whatever the wildcards.

use crate::variables::{self, Part};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token {
    Char(char),
    /// Any one character.
    One,
    /// Any run of characters.
    Any,
    /// Any run of characters without a colon: a placeholder for one of an ARN's colon-separated
    /// fields (partition, service, region, account).
    AnyInField,
}

impl Token {
    fn is_run(self) -> bool {
        matches!(self, Token::Any | Token::AnyInField)
    }

    /// Whether this run can take the one character `single` stands for.
    fn run_admits(self, single: Token) -> bool {
        !matches!((self, single), (Token::AnyInField, Token::Char(':')))
    }
}

fn single_overlap(a: Token, b: Token) -> bool {
    match (a, b) {
        (Token::Char(x), Token::Char(y)) => x == y,
        _ => true,
    }
}

/// Whether some string matches both `a` and `b`.
pub(super) fn overlap(a: &[Token], b: &[Token]) -> bool {
    let width = b.len() + 1;
    let mut seen = vec![false; (a.len() + 1) * width];
    let mut pending = vec![(0usize, 0usize)];
    while let Some((i, j)) = pending.pop() {
        let state = i * width + j;
        if seen[state] {
            continue;
        }
        seen[state] = true;
        if i == a.len() && j == b.len() {
            return true;
        }
        let (x, y) = (a.get(i).copied(), b.get(j).copied());
        if let Some(x) = x.filter(|t| t.is_run()) {
            // The run ends here, or takes the next character of the other side.
            pending.push((i + 1, j));
            if y.is_some_and(|y| !y.is_run() && x.run_admits(y)) {
                pending.push((i, j + 1));
            }
        }
        if let Some(y) = y.filter(|t| t.is_run()) {
            pending.push((i, j + 1));
            if x.is_some_and(|x| !x.is_run() && y.run_admits(x)) {
                pending.push((i + 1, j));
            }
        }
        if let (Some(x), Some(y)) = (x, y) {
            if !x.is_run() && !y.is_run() && single_overlap(x, y) {
                pending.push((i + 1, j + 1));
            }
        }
    }
    false
}

/// A `Resource` value as the policy wrote it: `*` and `?` are wildcards, and a policy variable
/// (in a 2012-10-17 document) may stand for anything.
pub(super) fn policy_resource(text: &str, with_variables: bool) -> Vec<Token> {
    let parts = if with_variables {
        variables::parse(text)
    } else {
        vec![Part::Text(text.to_owned())]
    };
    let mut tokens = Vec::with_capacity(text.len());
    for part in parts {
        match part {
            Part::Text(run) => tokens.extend(run.chars().map(|c| match c {
                '*' => Token::Any,
                '?' => Token::One,
                c => Token::Char(c),
            })),
            Part::Literal(c) => tokens.push(Token::Char(c)),
            Part::Var(_) => tokens.push(Token::Any),
        }
    }
    tokens
}

/// A resource type's ARN format, `arn:${Partition}:iam::${Account}:user/${UserNameWithPath}`:
/// placeholders in the first five fields stay within their field, those of the resource part may
/// be anything (paths, slashes, colons).
pub(super) fn arn_format(format: &str) -> Vec<Token> {
    template(format, false, |colons_before| {
        if colons_before < 5 {
            Token::AnyInField
        } else {
            Token::Any
        }
    })
}

/// A condition key template (`aws:ResourceTag/${TagKey}`), compared without regard to case as
/// condition keys are. Secrets Manager's reference writes the tag placeholder as a literal
/// `tag-key` (`secretsmanager:ResourceTag/tag-key`), so that suffix is a placeholder too.
pub(super) fn key_template(template_text: &str) -> Vec<Token> {
    let lowered = template_text.to_lowercase();
    let normalized = match lowered.strip_suffix("/tag-key") {
        Some(head) => format!("{head}/${{TagKey}}"),
        None => lowered,
    };
    template(&normalized, true, |_| Token::Any)
}

/// A condition key as a policy wrote it: no wildcards, no case.
pub(super) fn key(text: &str) -> Vec<Token> {
    text.to_lowercase().chars().map(Token::Char).collect()
}

fn template(text: &str, lower: bool, placeholder: impl Fn(usize) -> Token) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(text.len());
    let mut colons = 0;
    let mut rest = text;
    while let Some(open) = rest.find("${") {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        for c in rest[..open].chars() {
            colons += usize::from(c == ':');
            tokens.push(Token::Char(if lower { c.to_ascii_lowercase() } else { c }));
        }
        tokens.push(placeholder(colons));
        rest = &rest[open + close + 1..];
    }
    tokens.extend(
        rest.chars()
            .map(|c| Token::Char(if lower { c.to_ascii_lowercase() } else { c })),
    );
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn_overlaps(resource: &str, format: &str) -> bool {
        overlap(&policy_resource(resource, true), &arn_format(format))
    }

    const USER: &str = "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}";
    const SECRET: &str = "arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}";

    #[test]
    fn resource_arns_meet_the_formats_they_can_name() {
        for resource in [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:user/division/alice",
            "arn:aws:iam::*:user/*",
            "arn:aws:iam::123456789012:user/${aws:username}",
            "arn:aws:iam::123456789012:*",
            "arn:aws:iam::123456789012:us?r/a",
            "arn:*:iam::*:*",
            "arn:aws:iam::aws:user/x",
        ] {
            assert!(arn_overlaps(resource, USER), "{resource}");
        }
        for resource in [
            "arn:aws:iam::123456789012:role/alice",
            "arn:aws:iam:us-east-1:123456789012:user/alice",
            "arn:aws:iam::123:456:user/alice",
            "arn:aws:sts::123456789012:user/alice",
            "arn:aws:iam::123456789012:user",
        ] {
            assert!(!arn_overlaps(resource, USER), "{resource}");
        }
        assert!(arn_overlaps(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db/prod-*",
            SECRET
        ));
        assert!(arn_overlaps("arn:aws:secretsmanager:*:*:*", SECRET));
        assert!(!arn_overlaps(
            "arn:aws:secretsmanager:us-east-1:123456789012:key/abc",
            SECRET
        ));
    }

    #[test]
    fn variables_are_literal_text_in_old_documents() {
        let old = policy_resource("arn:aws:iam::1:user/${aws:username}", false);
        assert!(old.contains(&Token::Char('$')));
        assert!(overlap(&old, &arn_format(USER)));
        let escaped = policy_resource("arn:aws:iam::1:user/a${*}", true);
        assert_eq!(escaped.last(), Some(&Token::Char('*')));
    }

    #[test]
    fn keys_meet_their_templates_without_regard_to_case() {
        let tag = key_template("aws:ResourceTag/${TagKey}");
        assert!(overlap(&key("aws:resourcetag/Team"), &tag));
        assert!(overlap(&key("AWS:ResourceTag/team/sub"), &tag));
        assert!(!overlap(&key("aws:RequestTag/team"), &tag));
        let sm_tag = key_template("secretsmanager:ResourceTag/tag-key");
        assert!(overlap(&key("secretsmanager:ResourceTag/owner"), &sm_tag));
        let plain = key_template("secretsmanager:SecretId");
        assert!(overlap(&key("SecretsManager:secretid"), &plain));
        assert!(!overlap(&key("secretsmanager:SecretIds"), &plain));
        let context = key_template("kms:EncryptionContext:${EncryptionContextKey}");
        assert!(overlap(&key("kms:EncryptionContext:aws:pi"), &context));
    }

    #[test]
    fn hostile_patterns_stay_polynomial() {
        // Every `*` could start anywhere: a backtracking matcher would take exponential time.
        let resource = format!("arn:aws:iam::{}c", "*a".repeat(400));
        let format = arn_format("arn:${Partition}:iam::${Account}:user/b");
        assert!(!overlap(&policy_resource(&resource, true), &format));
        let resource = format!("arn:aws:iam::{}*b", "*a".repeat(400));
        assert!(overlap(&policy_resource(&resource, true), &format));
    }
}
