//! GetRandomPassword, from the operating system's cryptographic RNG.

use coffer_model::secretsmanager::{
    GetRandomPasswordRequest, GetRandomPasswordResponse, SecretsManagerError,
};
use coffer_model::Sensitive;
use rand::seq::SliceRandom;
use zeroize::Zeroize;

use crate::error::OpResult;

const DEFAULT_LENGTH: i64 = 32;
const MAX_LENGTH: i64 = 4096;
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const DIGITS: &str = "0123456789";
/// The punctuation set AWS documents for `ExcludePunctuation`.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

fn class(chars: &str, excluded: bool, exclude: &str) -> Vec<char> {
    if excluded {
        return Vec::new();
    }
    chars.chars().filter(|c| !exclude.contains(*c)).collect()
}

/// Generates a password per the request's rules.
pub(crate) fn generate(input: &GetRandomPasswordRequest) -> OpResult<String> {
    let length = input.password_length.unwrap_or(DEFAULT_LENGTH);
    if !(1..=MAX_LENGTH).contains(&length) {
        return Err(SecretsManagerError::validation(format!(
            "1 validation error detected: Value '{length}' at 'passwordLength' failed to satisfy constraint: Member must have value {}",
            if length < 1 { "greater than or equal to 1".to_string() } else { format!("less than or equal to {MAX_LENGTH}") }
        )));
    }
    let exclude = input.exclude_characters.as_deref().unwrap_or("");
    // Typed classes: each must appear when RequireEachIncludedType is on.
    let typed = [
        class(UPPER, input.exclude_uppercase.unwrap_or(false), exclude),
        class(LOWER, input.exclude_lowercase.unwrap_or(false), exclude),
        class(DIGITS, input.exclude_numbers.unwrap_or(false), exclude),
        class(
            PUNCTUATION,
            input.exclude_punctuation.unwrap_or(false),
            exclude,
        ),
    ];
    let space = class(" ", !input.include_space.unwrap_or(false), exclude);
    let mut pool: Vec<char> = typed.iter().flatten().copied().collect();
    pool.extend(&space);
    if pool.is_empty() {
        return Err(SecretsManagerError::invalid_parameter(
            "The password can't be generated because all characters are excluded.",
        ));
    }
    let required: Vec<&Vec<char>> = if input.require_each_included_type.unwrap_or(true) {
        typed.iter().filter(|c| !c.is_empty()).collect()
    } else {
        Vec::new()
    };
    let length = usize::try_from(length).unwrap_or(0);
    if required.len() > length {
        return Err(SecretsManagerError::invalid_parameter(
            "Password length is too short based on the required types.",
        ));
    }
    // A CSPRNG seeded from the OS: one system call per password, not one per character.
    let mut rng = rand::thread_rng();
    let mut chars: Vec<char> = Vec::with_capacity(length);
    for c in &required {
        if let Some(ch) = c.choose(&mut rng) {
            chars.push(*ch);
        }
    }
    while chars.len() < length {
        if let Some(ch) = pool.choose(&mut rng) {
            chars.push(*ch);
        }
    }
    chars.shuffle(&mut rng);
    let password: String = chars.iter().collect();
    chars.zeroize();
    Ok(password)
}

pub(crate) fn run(input: GetRandomPasswordRequest) -> OpResult<GetRandomPasswordResponse> {
    Ok(GetRandomPasswordResponse {
        random_password: Some(Sensitive::new(generate(&input)?)),
    })
}
