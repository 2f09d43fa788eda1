//! Token listing: filters, sorts and pages, shared by every store.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_core::{
    AccountId, CoreError, GroupId, OrgId, Timestamp, TokenId, TokenStatus, TokenView,
};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortField {
    #[default]
    CreatedAt,
    Name,
    ExpiresAt,
    LastUsedAt,
}

impl SortField {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::Name => "name",
            Self::ExpiresAt => "expires_at",
            Self::LastUsedAt => "last_used_at",
        }
    }
}

/// A sort: a field, ascending unless `descending`. Written `created_at` or `-created_at`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenSort {
    pub field: SortField,
    pub descending: bool,
}

impl std::str::FromStr for TokenSort {
    type Err = CoreError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (descending, name) = match input.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, input),
        };
        let field = [
            SortField::CreatedAt,
            SortField::Name,
            SortField::ExpiresAt,
            SortField::LastUsedAt,
        ]
        .into_iter()
        .find(|f| f.as_str() == name)
        .ok_or_else(|| {
            CoreError::invalid(
                "sort",
                "expected created_at, name, expires_at or last_used_at, optionally preceded by '-'",
            )
        })?;
        Ok(Self { field, descending })
    }
}

/// Where a keyset page starts: the sort key and id of the last row of the previous page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub sort: TokenSort,
    pub key: CursorKey,
    pub id: TokenId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CursorKey {
    /// Created-at sorts need no key: the id is time-ordered.
    None,
    Int(i64),
    Text(String),
}

impl Cursor {
    /// An opaque, URL-safe string.
    pub fn encode(&self) -> String {
        let key = match &self.key {
            CursorKey::None => String::new(),
            CursorKey::Int(value) => format!("i{value}"),
            CursorKey::Text(value) => format!("t{value}"),
        };
        let sign = if self.sort.descending { "-" } else { "" };
        let raw = format!(
            "{sign}{}\n{}\n{key}",
            self.sort.field.as_str(),
            self.id.as_uuid().simple()
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(input: &str) -> Result<Self, CoreError> {
        let bad = || CoreError::invalid("cursor", "not a cursor this server handed out");
        let raw = URL_SAFE_NO_PAD.decode(input).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let mut parts = raw.splitn(3, '\n');
        let (Some(sort), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let sort: TokenSort = sort.parse().map_err(|_| bad())?;
        let id = TokenId::from_uuid(Uuid::try_parse(id).map_err(|_| bad())?);
        let key = match (sort.field, key.split_at_checked(1)) {
            (SortField::CreatedAt, None) => CursorKey::None,
            (SortField::Name, Some(("t", text))) => CursorKey::Text(text.to_owned()),
            (SortField::ExpiresAt | SortField::LastUsedAt, Some(("i", int))) => {
                CursorKey::Int(int.parse().map_err(|_| bad())?)
            }
            _ => return Err(bad()),
        };
        Ok(Self { sort, key, id })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageRequest {
    /// Numbered pages, from 1 (Tooken's `page`/`per_page`).
    Numbered { page: u32, per_page: u32 },
    /// Keyset pages: stable while tokens are minted and revoked. The cursor must have been made
    /// for the same sort as the query's.
    After { cursor: Option<Cursor>, limit: u32 },
}

/// Which tokens to list. Every filter narrows; `now` decides `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenQuery {
    /// Tokens minted in this organization; `None` lists across organizations (needs `owner`).
    pub org: Option<OrgId>,
    pub owner: Option<AccountId>,
    pub group: Option<GroupId>,
    /// Leave out account-wide tokens (Turso's organization lists never show them).
    pub exclude_account_wide: bool,
    pub status: Option<TokenStatus>,
    /// Leave out revoked tokens (MotherDuck's lists show expired ones, never revoked ones).
    pub exclude_revoked: bool,
    /// A partial, case-insensitive match.
    pub name_contains: Option<String>,
    pub scope: Option<String>,
    pub expires_before: Option<Timestamp>,
    pub expires_after: Option<Timestamp>,
    pub last_used_before: Option<Timestamp>,
    pub last_used_after: Option<Timestamp>,
    pub sort: TokenSort,
    pub page: PageRequest,
    pub now: Timestamp,
}

impl TokenQuery {
    /// Every token, first page of 25, oldest first: a start for builders.
    pub fn new(now: Timestamp) -> Self {
        Self {
            org: None,
            owner: None,
            group: None,
            exclude_account_wide: false,
            status: None,
            exclude_revoked: false,
            name_contains: None,
            scope: None,
            expires_before: None,
            expires_after: None,
            last_used_before: None,
            last_used_after: None,
            sort: TokenSort::default(),
            page: PageRequest::Numbered {
                page: 1,
                per_page: 25,
            },
            now,
        }
    }
}

#[derive(Clone, Debug)]
pub struct TokenPage {
    pub tokens: Vec<TokenView>,
    /// How many tokens match the filters, across all pages: counted for numbered pages only.
    /// Counting reads every match, so a keyset page (made to walk lists of any length at the
    /// cost of one page) leaves it out.
    pub total: Option<u64>,
    /// Where the next keyset page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = TokenId::new();
        for (sort, key) in [
            ("created_at", CursorKey::None),
            ("-name", CursorKey::Text("a\nb".to_owned())),
            ("expires_at", CursorKey::Int(-5)),
        ] {
            let cursor = Cursor {
                sort: sort.parse().unwrap(),
                key,
                id,
            };
            assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        }
        for bad in ["", "!!", "bm9wZQ"] {
            assert!(Cursor::decode(bad).is_err());
        }
    }
}
