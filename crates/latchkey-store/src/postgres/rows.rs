//! Reading records back from rows, as `sqlite/rows.rs` does for SQLite (the same columns, in the
//! same order). A stored value that no longer parses is reported as a decoding failure, never
//! trusted.

use std::str::FromStr;

use latchkey_core::{
    Account, AccountId, Group, GroupId, OrgId, Organization, Reach, Role, Scopes, SecretHash,
    Timestamp, Token, TokenId, TokenView,
};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::sql::{NEVER, UNUSED};

type Result<T> = std::result::Result<T, sqlx::Error>;

fn decode_error(
    index: usize,
    error: impl std::error::Error + Send + Sync + 'static,
) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: Box::new(error),
    }
}

fn parsed<T>(row: &PgRow, index: usize) -> Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let raw: String = row.try_get(index)?;
    raw.parse().map_err(|error| decode_error(index, error))
}

fn parsed_opt<T>(row: &PgRow, index: usize) -> Result<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match row.try_get::<Option<String>, _>(index)? {
        None => Ok(None),
        Some(raw) => raw
            .parse()
            .map(Some)
            .map_err(|error| decode_error(index, error)),
    }
}

fn time(row: &PgRow, index: usize) -> Result<Timestamp> {
    row.try_get(index).map(Timestamp::from_unix)
}

pub(super) fn hash_at(row: &PgRow, index: usize) -> Result<SecretHash> {
    let raw: Vec<u8> = row.try_get(index)?;
    let bytes: [u8; 32] = raw
        .try_into()
        .map_err(|raw: Vec<u8>| sqlx::Error::ColumnDecode {
            index: index.to_string(),
            source: format!("a hash of {} bytes, not 32", raw.len()).into(),
        })?;
    Ok(SecretHash(bytes))
}

pub(super) fn role_at(row: &PgRow, index: usize) -> Result<Role> {
    parsed(row, index)
}

pub(super) fn role_opt_at(row: &PgRow, index: usize) -> Result<Option<Role>> {
    parsed_opt(row, index)
}

fn account_at(row: &PgRow, at: usize) -> Result<Account> {
    Ok(Account {
        id: AccountId::from_uuid(row.try_get(at)?),
        username: parsed(row, at + 1)?,
        email: parsed_opt(row, at + 2)?,
        kind: parsed(row, at + 3)?,
        is_root: row.try_get(at + 4)?,
        created_at: time(row, at + 5)?,
    })
}

pub(super) fn account_from(row: &PgRow) -> Result<Account> {
    account_at(row, 0)
}

pub(super) fn org_from(row: &PgRow) -> Result<Organization> {
    Ok(Organization {
        id: OrgId::from_uuid(row.try_get(0)?),
        slug: parsed(row, 1)?,
        name: row.try_get(2)?,
        personal: row.try_get(3)?,
        created_at: time(row, 4)?,
    })
}

pub(super) fn group_from(row: &PgRow) -> Result<Group> {
    Ok(Group {
        id: GroupId::from_uuid(row.try_get(0)?),
        org: OrgId::from_uuid(row.try_get(1)?),
        name: parsed(row, 2)?,
        created_at: time(row, 3)?,
    })
}

pub(super) fn token_view_from(row: &PgRow) -> Result<TokenView> {
    let account_wide: bool = row.try_get(4)?;
    let group: Option<Uuid> = row.try_get(5)?;
    let reach = match (account_wide, group) {
        (true, _) => Reach::Account,
        (false, Some(group)) => Reach::Group(GroupId::from_uuid(group)),
        (false, None) => Reach::Organization,
    };
    let expires_at: i64 = row.try_get(11)?;
    let last_used_at: i64 = row.try_get(12)?;
    let token = Token {
        id: TokenId::from_uuid(row.try_get(0)?),
        owner: AccountId::from_uuid(row.try_get(1)?),
        created_by: AccountId::from_uuid(row.try_get(2)?),
        org: OrgId::from_uuid(row.try_get(3)?),
        reach,
        name: parsed(row, 6)?,
        scopes: Scopes::from_stored(&row.try_get::<String, _>(7)?),
        token_type: parsed(row, 8)?,
        hint: row.try_get(9)?,
        created_at: time(row, 10)?,
        expires_at: (expires_at != NEVER).then(|| Timestamp::from_unix(expires_at)),
        last_used_at: (last_used_at != UNUSED).then(|| Timestamp::from_unix(last_used_at)),
        revoked_at: row.try_get::<Option<i64>, _>(13)?.map(Timestamp::from_unix),
    };
    Ok(TokenView {
        token,
        owner: account_at(row, 14)?,
        creator_email: parsed_opt(row, 20)?,
        organization: parsed(row, 21)?,
        group: parsed_opt(row, 22)?,
        membership: parsed_opt(row, 23)?,
    })
}
