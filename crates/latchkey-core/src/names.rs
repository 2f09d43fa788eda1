//! Names with rules: slugs (organizations, usernames, groups), token names and emails.

use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;
use crate::id::truncate_for_message;

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// An organization slug, a username (which is also its personal organization's slug) or a group
/// name: 1 to 255 of `a-z 0-9 - _ .`, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(String);
string_newtype!(Slug);

impl Slug {
    pub const MAX_LEN: usize = 255;

    fn check(field: &'static str, input: &str) -> Result<(), CoreError> {
        if input.is_empty() || input.len() > Self::MAX_LEN {
            return Err(CoreError::invalid(
                field,
                format!("must be 1 to {} characters", Self::MAX_LEN),
            ));
        }
        let starts_well = input
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let all_allowed = input.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        });
        if starts_well && all_allowed {
            Ok(())
        } else {
            Err(CoreError::invalid(
                field,
                format!(
                    "'{}' may hold only lowercase letters, digits, '-', '_' and '.', and must start with a letter or digit",
                    truncate_for_message(input)
                ),
            ))
        }
    }

    /// Parses with the name of the field that carried it, for a precise error.
    pub fn parse_field(field: &'static str, input: &str) -> Result<Self, CoreError> {
        Self::check(field, input)?;
        Ok(Self(input.to_owned()))
    }
}

impl FromStr for Slug {
    type Err = CoreError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse_field("slug", input)
    }
}

/// A token's name: 1 to 255 characters, no control characters, no surrounding white space.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenName(String);
string_newtype!(TokenName);

impl TokenName {
    pub const MAX_LEN: usize = 255;

    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }
}

impl FromStr for TokenName {
    type Err = CoreError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let len = input.chars().count();
        if len == 0 {
            return Err(CoreError::invalid("name", "must not be empty"));
        }
        if len > Self::MAX_LEN {
            return Err(CoreError::invalid(
                "name",
                format!("must be at most {} characters, got {len}", Self::MAX_LEN),
            ));
        }
        if input.chars().any(char::is_control) {
            return Err(CoreError::invalid(
                "name",
                "must not contain control characters",
            ));
        }
        if input.trim() != input {
            return Err(CoreError::invalid(
                "name",
                "must not start or end with white space",
            ));
        }
        Ok(Self(input.to_owned()))
    }
}

/// A display name, such as an organization's: 1 to 255 characters without control characters,
/// surrounding white space trimmed.
pub fn display_name(field: &'static str, input: &str) -> Result<String, CoreError> {
    let name = input.trim();
    let len = name.chars().count();
    if len == 0 || len > 255 {
        return Err(CoreError::invalid(field, "must be 1 to 255 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Whether `input` holds white space or a control character. ASCII (nearly every address) is
/// checked a byte at a time: there, those are the bytes up to the space, and DEL.
fn has_space_or_control(input: &str) -> bool {
    if input.is_ascii() {
        input.bytes().any(|b| b <= b' ' || b == 0x7f)
    } else {
        input.chars().any(|c| c.is_whitespace() || c.is_control())
    }
}

/// An email address, checked for shape only (one `@`, something on each side, no spaces).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);
string_newtype!(Email);

impl FromStr for Email {
    type Err = CoreError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let ok = input.len() <= 254
            && !has_space_or_control(input)
            && input.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            });
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(CoreError::invalid(
                "email",
                format!("'{}' is not an email address", truncate_for_message(input)),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["acme", "a", "my-org_2.x", &"a".repeat(255)] {
            assert!(good.parse::<Slug>().is_ok(), "{good}");
        }
        for bad in ["", "Acme", "-acme", "a b", "ü", &"a".repeat(256)] {
            assert!(bad.parse::<Slug>().is_err(), "{bad}");
        }
    }

    #[test]
    fn token_names() {
        assert!("CI Deploy Token".parse::<TokenName>().is_ok());
        assert!("é".repeat(255).parse::<TokenName>().is_ok());
        for bad in ["", " x", "x ", "a\nb", &"x".repeat(256)] {
            assert!(bad.parse::<TokenName>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_names() {
        assert_eq!(display_name("name", "  Acme Inc. ").unwrap(), "Acme Inc.");
        for bad in ["", "   ", "a\u{0}b", &"x".repeat(256)] {
            assert!(display_name("name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn white_space_and_control_characters_are_found_in_ascii_as_in_any_text() {
        for c in ('\0'..='\u{3000}').chain(['\u{feff}', '\u{10ffff}']) {
            let expected = c.is_whitespace() || c.is_control();
            for input in [format!("a{c}b"), format!("é{c}")] {
                assert_eq!(has_space_or_control(&input), expected, "{c:?}");
            }
        }
    }

    #[test]
    fn emails() {
        assert!("alice@example.com".parse::<Email>().is_ok());
        for bad in ["alice", "@x", "a@", "a b@c", "a@b@c"] {
            assert!(bad.parse::<Email>().is_err(), "{bad}");
        }
    }
}
