//! Reading records back from rows. Stored values were checked on the way in; a value that no
//! longer parses is reported as a conversion failure, never trusted.

use std::str::FromStr;

use latchkey_core::{
    Account, AccountId, Group, GroupId, OrgId, Organization, Reach, Role, Scopes, Timestamp, Token,
    TokenId, TokenView,
};
use rusqlite::Error::FromSqlConversionFailure;
use rusqlite::Row;
use rusqlite::types::Type;
use uuid::Uuid;

use crate::sql::{NEVER, UNUSED};

/// Column `index` as text, borrowed from the row: parsed from there, it is copied once, into
/// the value that keeps it.
fn text<'r>(row: &'r Row<'_>, index: usize) -> rusqlite::Result<&'r str> {
    let value = row.get_ref(index)?;
    value
        .as_str()
        .map_err(|error| FromSqlConversionFailure(index, value.data_type(), Box::new(error)))
}

/// Like [`text`], NULL being `None`.
fn text_opt<'r>(row: &'r Row<'_>, index: usize) -> rusqlite::Result<Option<&'r str>> {
    let value = row.get_ref(index)?;
    value
        .as_str_or_null()
        .map_err(|error| FromSqlConversionFailure(index, value.data_type(), Box::new(error)))
}

fn parse<T>(index: usize, raw: &str) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    raw.parse()
        .map_err(|error| FromSqlConversionFailure(index, Type::Text, Box::new(error)))
}

fn parsed<T>(row: &Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    parse(index, text(row, index)?)
}

fn parsed_opt<T>(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text_opt(row, index)?
        .map(|raw| parse(index, raw))
        .transpose()
}

fn time(row: &Row<'_>, index: usize) -> rusqlite::Result<Timestamp> {
    row.get(index).map(Timestamp::from_unix)
}

pub(super) fn role_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Role> {
    parsed(row, index)
}

pub(super) fn role_opt_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Role>> {
    parsed_opt(row, index)
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
        scopes: Scopes::from_stored(text(row, 7)?),
        token_type: parsed(row, 8)?,
        hint: row.get(9)?,
        created_at: time(row, 10)?,
        expires_at: (expires_at != NEVER).then(|| Timestamp::from_unix(expires_at)),
        last_used_at: (last_used_at != UNUSED).then(|| Timestamp::from_unix(last_used_at)),
        revoked_at: row.get::<_, Option<i64>>(13)?.map(Timestamp::from_unix),
    };
    let owner = account_at(row, 14)?;
    // Most tokens are minted by their owner, whose email (column 16) is then the creator's
    // (column 20) too: one stored value, parsed once.
    let creator_email = if token.created_by == token.owner {
        owner.email.clone()
    } else {
        parsed_opt(row, 20)?
    };
    Ok(TokenView {
        token,
        owner,
        creator_email,
        organization: parsed(row, 21)?,
        group: parsed_opt(row, 22)?,
        membership: parsed_opt(row, 23)?,
    })
}

#[cfg(test)]
mod tests {
    use latchkey_core::Slug;
    use rusqlite::Connection;

    use super::*;

    /// What `read` makes of the one row `select` returns.
    fn read<T>(
        select: &str,
        read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        Connection::open_in_memory()
            .unwrap()
            .query_row(select, [], read)
    }

    fn refused<T: std::fmt::Debug>(read: rusqlite::Result<T>) -> bool {
        matches!(read, Err(FromSqlConversionFailure(0, _, _)))
    }

    #[test]
    fn text_read_in_place_is_parsed_and_what_no_longer_parses_is_a_conversion_failure() {
        let acme: Slug = "acme".parse().unwrap();
        assert_eq!(
            read("SELECT 'acme'", |r| parsed(r, 0)).ok(),
            Some(acme.clone())
        );
        assert_eq!(
            read("SELECT 'acme'", |r| parsed_opt(r, 0)).ok(),
            Some(Some(acme))
        );
        assert_eq!(
            read("SELECT NULL", |r| parsed_opt::<Slug>(r, 0)).ok(),
            Some(None)
        );
        for select in [
            "SELECT 'Not A Slug'",
            "SELECT NULL",
            "SELECT 7",
            "SELECT X'61636d65'",
            "SELECT CAST(X'FF' AS TEXT)",
        ] {
            assert!(refused(read(select, |r| parsed::<Slug>(r, 0))), "{select}");
            if select != "SELECT NULL" {
                assert!(
                    refused(read(select, |r| parsed_opt::<Slug>(r, 0))),
                    "{select}"
                );
            }
        }
    }
}
