//! Secrets: `<prefix>_<live|test>_<body><checksum>`, stored only as a SHA-256 hash.

use std::fmt;
use std::str::FromStr;

use rand::Rng as _;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

use crate::error::CoreError;

/// 30 base62 characters carry 178 random bits, above the 160 the design asks for.
const BODY_LEN: usize = 30;
const CHECKSUM_LEN: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Whether secrets are for production or for testing; part of the secret so a scanner can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Live,
    Test,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }
}

impl FromStr for Environment {
    type Err = CoreError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input {
            "live" => Ok(Self::Live),
            "test" => Ok(Self::Test),
            other => Err(CoreError::invalid(
                "environment",
                format!("'{other}' is neither 'live' nor 'test'"),
            )),
        }
    }
}

/// The configurable first part of every secret, such as `lk`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretPrefix(String);

impl FromStr for SecretPrefix {
    type Err = CoreError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let ok = (1..=16).contains(&input.len())
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(CoreError::invalid(
                "secret_prefix",
                "must be 1 to 16 lowercase letters or digits",
            ))
        }
    }
}

impl SecretPrefix {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How this server writes secrets.
#[derive(Clone, Debug)]
pub struct SecretFormat {
    pub prefix: SecretPrefix,
    pub environment: Environment,
}

impl SecretFormat {
    /// The length of every secret of this format, in bytes: a string of any other length is
    /// refused before it is hashed.
    pub fn secret_len(&self) -> usize {
        // `live` and `test` are both four letters long.
        self.prefix.0.len() + "_live_".len() + BODY_LEN + CHECKSUM_LEN
    }
}

impl Default for SecretFormat {
    fn default() -> Self {
        Self {
            prefix: SecretPrefix("lk".to_owned()),
            environment: Environment::Live,
        }
    }
}

/// A plaintext secret. It exists only between mint and the response that shows it once; its
/// `Debug` is redacted and it has no `Display`, so it cannot slip into a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// A fresh secret from the operating system's CSPRNG-seeded thread generator.
    pub fn generate(format: &SecretFormat) -> Self {
        let mut out = String::with_capacity(format.secret_len());
        out.push_str(&format.prefix.0);
        out.push('_');
        out.push_str(format.environment.as_str());
        out.push('_');
        out.extend(
            rand::rng()
                .sample_iter(Alphanumeric)
                .take(BODY_LEN)
                .map(char::from),
        );
        let checksum = checksum(out.as_bytes());
        out.push_str(std::str::from_utf8(&checksum).expect("base62 is ascii"));
        Self(out)
    }

    /// Checks the format and checksum; a mistyped or random string never reaches a lookup.
    pub fn parse(format: &SecretFormat, input: &str) -> Result<Self, CoreError> {
        check(format, input)?;
        Ok(Self(input.to_owned()))
    }

    /// The plaintext, for the one response that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }

    /// What a list may show: the prefix and environment, then the last four characters.
    pub fn hint(&self) -> String {
        let env_end = self.0.len() - BODY_LEN - CHECKSUM_LEN;
        format!("{}…{}", &self.0[..env_end], &self.0[self.0.len() - 4..])
    }
}

/// Validates `input` as a secret of `format` without allocating; the hot path's first step.
pub fn check(format: &SecretFormat, input: &str) -> Result<(), CoreError> {
    let malformed = || CoreError::MalformedSecret;
    let rest = input
        .strip_prefix(format.prefix.as_str())
        .and_then(|rest| rest.strip_prefix('_'))
        .ok_or_else(malformed)?;
    let rest = rest
        .strip_prefix("live_")
        .or_else(|| rest.strip_prefix("test_"))
        .ok_or_else(malformed)?;
    // As an array of known length, every byte checked without an early exit: the compiler
    // then unrolls and vectorises the check instead of branching at each of the 36 bytes.
    let body: &[u8; BODY_LEN + CHECKSUM_LEN] =
        rest.as_bytes().try_into().map_err(|_| malformed())?;
    if !body
        .iter()
        .fold(true, |all, b| all & b.is_ascii_alphanumeric())
    {
        return Err(malformed());
    }
    let (signed, sum) = input.split_at(input.len() - CHECKSUM_LEN);
    if checksum(signed.as_bytes()) != sum.as_bytes() {
        return Err(malformed());
    }
    Ok(())
}

/// Replaces anything shaped like a secret (of any prefix) with `[redacted]`: for messages that
/// quote what a client sent, which might be a secret pasted in the wrong place.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(found) = ["_live_", "_test_"]
        .iter()
        .filter_map(|marker| text[from..].find(marker).map(|at| from + at))
        .min()
    {
        let body_start = found + 6;
        let body_end = body_start + BODY_LEN + CHECKSUM_LEN;
        let prefix_start = bytes[..found]
            .iter()
            .rposition(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit()))
            .map_or(0, |at| at + 1);
        let is_secret = (1..=16).contains(&(found - prefix_start))
            && body_end <= bytes.len()
            && bytes[body_start..body_end]
                .iter()
                .all(u8::is_ascii_alphanumeric);
        if is_secret {
            spans.push((prefix_start, body_end));
            from = body_end;
        } else {
            from = found + 1;
        }
    }
    if spans.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in spans {
        out.push_str(&text[last..start]);
        out.push_str("[redacted]");
        last = end;
    }
    out.push_str(&text[last..]);
    std::borrow::Cow::Owned(out)
}

/// CRC32 of everything before it, in six base62 digits (GitHub's scheme).
fn checksum(signed: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut value = crc32fast::hash(signed);
    let mut out = [b'0'; CHECKSUM_LEN];
    for digit in out.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out
}

/// The SHA-256 of a secret: what the store keeps and looks up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash is not a secret, but a short form is all a reader of a debug line needs.
        write!(
            f,
            "SecretHash({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_generated_secret_parses_and_hides_itself() {
        let format = SecretFormat::default();
        let secret = Secret::generate(&format);
        assert!(secret.expose().starts_with("lk_live_"));
        assert_eq!(secret.expose().len(), "lk_live_".len() + 36);
        assert_eq!(format.secret_len(), secret.expose().len());
        assert_eq!(Secret::parse(&format, secret.expose()).unwrap(), secret);
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        let hint = secret.hint();
        assert!(
            hint.starts_with("lk_live_…")
                && hint.ends_with(&secret.expose()[secret.expose().len() - 4..])
        );
    }

    #[test]
    fn every_format_tells_the_length_of_its_secrets() {
        for length in 1..=16 {
            for environment in [Environment::Live, Environment::Test] {
                let format = SecretFormat {
                    prefix: "a1".repeat(8)[..length].parse().unwrap(),
                    environment,
                };
                let secret = Secret::generate(&format);
                assert_eq!(format.secret_len(), secret.expose().len(), "{format:?}");
                assert!(check(&format, secret.expose()).is_ok());
            }
        }
    }

    #[test]
    fn rejects_other_prefixes_and_shapes() {
        let format = SecretFormat::default();
        let good = Secret::generate(&format);
        let other = SecretFormat {
            prefix: "acme".parse().unwrap(),
            environment: Environment::Test,
        };
        assert!(Secret::parse(&other, good.expose()).is_err());
        for bad in [
            "",
            "lk_live_",
            "lk_prod_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "Bearer x",
        ] {
            assert!(check(&format, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redacts_anything_shaped_like_a_secret() {
        let secret = Secret::generate(&SecretFormat::default());
        let other = Secret::generate(&SecretFormat {
            prefix: "acme".parse().unwrap(),
            environment: Environment::Test,
        });
        let text = format!(
            "unknown scope '{}' and \"{}\"",
            secret.expose(),
            other.expose()
        );
        let redacted = redact(&text);
        assert_eq!(redacted, "unknown scope '[redacted]' and \"[redacted]\"");
        assert_eq!(
            redact("a_live_short and plain text"),
            "a_live_short and plain text"
        );
    }

    proptest! {
        #[test]
        fn any_single_character_change_fails_the_checksum(
            position in 0usize..44,
            replacement in proptest::char::range('!', '~'),
        ) {
            let format = SecretFormat::default();
            let secret = Secret::generate(&format);
            let mut chars: Vec<char> = secret.expose().chars().collect();
            prop_assume!(chars[position] != replacement);
            chars[position] = replacement;
            let changed: String = chars.into_iter().collect();
            prop_assert!(check(&format, &changed).is_err());
        }
    }
}
