//! Ids: one UUIDv7 per record, with the three spellings the dialects speak.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::CoreError;

const NATIVE_PREFIX: &str = "tok_";
const NATIVE_DIGITS: usize = 24;
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

// The version nibble and variant bits of a UUIDv7 are fixed; the native spelling drops them so
// that the 122 bits left fit in 24 base36 digits and keep their time order.
const VERSION_SHIFT: u32 = 76;
const VARIANT_SHIFT: u32 = 62;
const LOW_62: u128 = (1 << 62) - 1;
const MID_12: u128 = (1 << 12) - 1;

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

define_id!(
    /// An account (human or service).
    AccountId
);
define_id!(
    /// An organization.
    OrgId
);
define_id!(
    /// A group of an organization; a new group with an old name gets a new id.
    GroupId
);
define_id!(
    /// A token. Also its pagination key, being time-ordered.
    TokenId
);

impl TokenId {
    /// `tok_` and 24 lowercase base36 digits (native and Tooken).
    pub fn native(&self) -> String {
        let raw = self.0.as_u128();
        let packed = (raw >> 80) << 74 | ((raw >> 64) & MID_12) << 62 | (raw & LOW_62);
        // One division of the 128-bit number, then two halves of twelve digits each in 64-bit
        // arithmetic: a division of a u128 is a call into a software routine, and 24 of them
        // were 2% of the server's CPU under a verify load.
        const HALF: u128 = 36u128.pow(12);
        let mut digits = [b'0'; NATIVE_DIGITS];
        let (high, low) = digits.split_at_mut(NATIVE_DIGITS / 2);
        for (half, value) in [(high, packed / HALF), (low, packed % HALF)] {
            // Below 36^12 < 2^63 (the high half too: 2^122 / 36^12 < 36^12).
            let mut value = value as u64;
            for digit in half.iter_mut().rev() {
                *digit = BASE36[(value % 36) as usize];
                value /= 36;
            }
        }
        let mut out = String::with_capacity(NATIVE_PREFIX.len() + NATIVE_DIGITS);
        out.push_str(NATIVE_PREFIX);
        out.extend(digits.iter().map(|&d| d as char));
        out
    }

    /// 22 characters of unpadded base64url (Turso).
    pub fn turso(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }

    /// The canonical hyphenated uuid (MotherDuck).
    pub fn canonical(&self) -> String {
        self.0.hyphenated().to_string()
    }

    fn from_native_digits(digits: &str) -> Option<Self> {
        if digits.len() != NATIVE_DIGITS {
            return None;
        }
        let mut packed: u128 = 0;
        for byte in digits.bytes() {
            let value = match byte {
                b'0'..=b'9' => byte - b'0',
                b'a'..=b'z' => byte - b'a' + 10,
                _ => return None,
            };
            packed = packed.checked_mul(36)?.checked_add(u128::from(value))?;
        }
        if packed >> 122 != 0 {
            return None;
        }
        let raw = (packed >> 74) << 80
            | 0x7 << VERSION_SHIFT
            | ((packed >> 62) & MID_12) << 64
            | 0b10 << VARIANT_SHIFT
            | (packed & LOW_62);
        Some(Self(Uuid::from_u128(raw)))
    }

    fn is_v7(uuid: &Uuid) -> bool {
        uuid.get_version_num() == 7 && uuid.get_variant() == uuid::Variant::RFC4122
    }
}

impl FromStr for TokenId {
    type Err = CoreError;

    /// Accepts every spelling: `tok_…`, 22-character base64url, or a canonical uuid.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let parsed = if let Some(digits) = input.strip_prefix(NATIVE_PREFIX) {
            Self::from_native_digits(digits)
        } else if input.len() == 22 {
            URL_SAFE_NO_PAD
                .decode(input)
                .ok()
                .and_then(|bytes| Uuid::from_slice(&bytes).ok())
                .filter(Self::is_v7)
                .map(Self)
        } else if input.len() == 36 {
            Uuid::try_parse(input).ok().filter(Self::is_v7).map(Self)
        } else {
            None
        };
        parsed.ok_or_else(|| CoreError::MalformedId(truncate_for_message(input)))
    }
}

/// Untrusted input quoted back in an error is cut short.
pub(crate) fn truncate_for_message(input: &str) -> String {
    const MAX: usize = 64;
    match input.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &input[..end]),
        None => input.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v7_from(bits: u128) -> TokenId {
        let raw = (bits & !(0xF << VERSION_SHIFT) & !(0b11 << VARIANT_SHIFT))
            | 0x7 << VERSION_SHIFT
            | 0b10 << VARIANT_SHIFT;
        TokenId(Uuid::from_u128(raw))
    }

    proptest! {
        #[test]
        fn every_spelling_round_trips(bits in any::<u128>()) {
            let id = v7_from(bits);
            for spelling in [id.native(), id.turso(), id.canonical()] {
                prop_assert_eq!(spelling.parse::<TokenId>().unwrap(), id);
            }
            let native = id.native();
            prop_assert_eq!(native.len(), 28);
            prop_assert!(native[4..].bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
            prop_assert_eq!(id.turso().len(), 22);
        }

        #[test]
        fn native_spelling_keeps_time_order(a in any::<u128>(), b in any::<u128>()) {
            let (a, b) = (v7_from(a), v7_from(b));
            prop_assert_eq!(a.cmp(&b), a.native().cmp(&b.native()));
        }
    }

    #[test]
    fn the_smallest_and_largest_ids_round_trip_natively() {
        for bits in [0, u128::MAX] {
            let id = v7_from(bits);
            assert_eq!(id.native().parse::<TokenId>().unwrap(), id);
        }
    }

    #[test]
    fn rejects_what_is_not_an_id() {
        for bad in [
            "",
            "tok_",
            "tok_zzzzzzzzzzzzzzzzzzzzzzzz",
            "tok_ABCDEFGHIJKLMNOPQRSTUVWX",
            "not-a-uuid-not-a-uuid-not-a-uuid-xx",
            "00000000-0000-4000-8000-000000000000",
            "!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert!(bad.parse::<TokenId>().is_err(), "{bad}");
        }
    }
}
