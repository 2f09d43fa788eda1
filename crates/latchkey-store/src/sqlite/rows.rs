//! Reading records back from rows. Stored values were checked on the way in; a value that no
//! longer parses is reported as a conversion failure, never trusted.

use std::str::FromStr;

use latchkey_core::{
    Account, AccountId, Group, GroupId, OrgId, Organization, Reach, Role, Scopes, Timestamp, Token,
    TokenId, TokenView,
};
use rusqlite::Row;
use rusqlite::types::Type;
use uuid::Uuid;

use crate::sql::{NEVER, UNUSED};

fn parsed<T>(row: &Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let raw: String = row.get(index)?;
    raw.parse().map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(error))
    })
}

fn parsed_opt<T>(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match row.get::<_, Option<String>>(index)? {
        None => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(error))
        }),
    }
}

fn time(row: &Row<'_>, index: usize) -> rusqlite::Result<Timestamp> {
    row.get(index).map(Timestamp::from_unix)
}

pub(super) fn role_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Role> {
    parsed(row, index)
}

fn account_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Account> {
    Ok(Account {
        id: AccountId::from_uuid(row.get(at)?),
        username: parsed(row, at + 1)?,
        email: parsed_opt(row, at + 2)?,
        kind: parsed(row, at + 3)?,
        is_root: row.get(at + 4)?,
        created_at: time(row, at + 5)?,
    })
}

pub(super) fn account_from(row: &Row<'_>) -> rusqlite::Result<Account> {
    account_at(row, 0)
}

pub(super) fn org_from(row: &Row<'_>) -> rusqlite::Result<Organization> {
    Ok(Organization {
        id: OrgId::from_uuid(row.get(0)?),
        slug: parsed(row, 1)?,
        name: row.get(2)?,
        personal: row.get(3)?,
        created_at: time(row, 4)?,
    })
}

pub(super) fn group_from(row: &Row<'_>) -> rusqlite::Result<Group> {
    Ok(Group {
        id: GroupId::from_uuid(row.get(0)?),
        org: OrgId::from_uuid(row.get(1)?),
        name: parsed(row, 2)?,
        created_at: time(row, 3)?,
    })
}

pub(super) fn token_view_from(row: &Row<'_>) -> rusqlite::Result<TokenView> {
    let account_wide: bool = row.get(4)?;
    let group: Option<Uuid> = row.get(5)?;
    let reach = match (account_wide, group) {
        (true, _) => Reach::Account,
        (false, Some(group)) => Reach::Group(GroupId::from_uuid(group)),
        (false, None) => Reach::Organization,
    };
    let expires_at: i64 = row.get(11)?;
    let last_used_at: i64 = row.get(12)?;
    let token = Token {
        id: TokenId::from_uuid(row.get(0)?),
        owner: AccountId::from_uuid(row.get(1)?),
        created_by: AccountId::from_uuid(row.get(2)?),
        org: OrgId::from_uuid(row.get(3)?),
        reach,
        name: parsed(row, 6)?,
        scopes: Scopes::from_stored(&row.get::<_, String>(7)?),
        token_type: parsed(row, 8)?,
        hint: row.get(9)?,
        created_at: time(row, 10)?,
        expires_at: (expires_at != NEVER).then(|| Timestamp::from_unix(expires_at)),
        last_used_at: (last_used_at != UNUSED).then(|| Timestamp::from_unix(last_used_at)),
        revoked_at: row.get::<_, Option<i64>>(13)?.map(Timestamp::from_unix),
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
