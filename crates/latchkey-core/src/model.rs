//! The records latchkey keeps.

use std::fmt;
use std::str::FromStr;

use crate::error::CoreError;
use crate::id::{AccountId, GroupId, OrgId, TokenId};
use crate::names::{Email, Slug, TokenName};
use crate::rights::Rights;
use crate::role::Role;
use crate::scope::Scopes;
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    Human,
    Service,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Service => "service",
        }
    }
}

impl FromStr for AccountKind {
    type Err = CoreError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input {
            "human" => Ok(Self::Human),
            "service" => Ok(Self::Service),
            _ => Err(CoreError::invalid("kind", "expected 'human' or 'service'")),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    /// Unique; also the slug of the account's personal organization.
    pub username: Slug,
    pub email: Option<Email>,
    pub kind: AccountKind,
    /// The operator's bootstrap account: owner of every organization, creates accounts.
    pub is_root: bool,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub slug: Slug,
    pub name: String,
    /// An account's own organization, named after it; it cannot be deleted or shared.
    pub personal: bool,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub account: Account,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    pub org: OrgId,
    pub name: Slug,
    pub created_at: Timestamp,
}

/// How far a token reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reach {
    /// Every organization its owner belongs to (Turso's unrestricted tokens).
    Account,
    /// Its organization only.
    Organization,
    /// One group of its organization, pinned to the group's identity.
    Group(GroupId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    ReadWrite,
    /// Read-only by nature: routed to read replicas, never granted a write.
    ReadScaling,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadWrite => "read_write",
            Self::ReadScaling => "read_scaling",
        }
    }
}

impl FromStr for TokenType {
    type Err = CoreError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input {
            "read_write" => Ok(Self::ReadWrite),
            "read_scaling" => Ok(Self::ReadScaling),
            other => Err(CoreError::invalid(
                "token_type",
                format!(
                    "'{}' is not a token type: expected read_write or read_scaling",
                    crate::id::truncate_for_message(other)
                ),
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

impl TokenStatus {
    /// The status of a token revoked or not, expiring at `expires_at` (`None`: never), at `now`.
    pub fn of(revoked: bool, expires_at: Option<Timestamp>, now: Timestamp) -> Self {
        if revoked {
            Self::Revoked
        } else if expires_at.is_some_and(|at| at <= now) {
            Self::Expired
        } else {
            Self::Active
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl fmt::Display for TokenStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokenStatus {
    type Err = CoreError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input {
            "active" => Ok(Self::Active),
            "expired" => Ok(Self::Expired),
            "revoked" => Ok(Self::Revoked),
            other => Err(CoreError::invalid(
                "status",
                format!(
                    "'{}' is not a status: expected active, expired or revoked",
                    crate::id::truncate_for_message(other)
                ),
            )),
        }
    }
}

/// A token's record. Never the secret: only its hash lives in the store, and `hint` to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub id: TokenId,
    pub owner: AccountId,
    pub created_by: AccountId,
    /// The organization it was minted in; for an account-wide token, the owner's personal one.
    pub org: OrgId,
    pub reach: Reach,
    pub name: TokenName,
    pub scopes: Scopes,
    pub token_type: TokenType,
    /// The prefix and last four characters of the secret, for people to recognise it.
    pub hint: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl Token {
    pub fn status(&self, now: Timestamp) -> TokenStatus {
        TokenStatus::of(self.revoked_at.is_some(), self.expires_at, now)
    }

    /// Whether the token acts in `org` at all.
    pub fn reaches(&self, org: OrgId) -> bool {
        self.reach == Reach::Account || self.org == org
    }

    pub fn group(&self) -> Option<GroupId> {
        match self.reach {
            Reach::Group(group) => Some(group),
            _ => None,
        }
    }

    /// What the token may do where its owner holds `role`: role rights ∩ scope rights, and
    /// no write at all for a read-scaling token.
    pub fn rights_as(&self, role: Role) -> Rights {
        let rights = role.rights() & self.scopes.rights();
        match self.token_type {
            TokenType::ReadWrite => rights,
            TokenType::ReadScaling => rights & Rights::READ,
        }
    }

    /// True when the token's rights include no write, where its owner holds `role`.
    pub fn read_only_as(&self, role: Role) -> bool {
        self.rights_as(role).is_read_only()
    }
}

/// A token with what responses and verification need: its owner, creator, organization and
/// group names, and its owner's membership in its organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenView {
    pub token: Token,
    pub owner: Account,
    pub creator_email: Option<Email>,
    pub organization: Slug,
    /// The group's name, also after the group is gone.
    pub group: Option<Slug>,
    /// The owner's role in the token's organization; `None` once it has left.
    pub membership: Option<Role>,
}

impl TokenView {
    /// The role the owner acts with in the token's organization (root is owner everywhere).
    pub fn owner_role(&self) -> Option<Role> {
        if self.owner.is_root {
            Some(Role::Owner)
        } else {
            self.membership
        }
    }

    /// True when the token can change nothing: its rights, as its owner now stands, hold no
    /// write.
    pub fn read_only(&self) -> bool {
        self.owner_role()
            .is_none_or(|role| self.token.read_only_as(role))
    }
}
