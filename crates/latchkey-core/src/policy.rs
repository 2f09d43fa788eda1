//! Who may do what: the rules every dialect goes through. Pure functions of records; the
//! caller looks up memberships and hands them in.

use crate::error::CoreError;
use crate::id::{AccountId, OrgId, TokenId};
use crate::model::{Account, AccountKind, Reach, Token, TokenType};
use crate::names::TokenName;
use crate::rights::Rights;
use crate::role::Role;
use crate::scope::{READ_SCOPE, Scope, Scopes};
use crate::time::Timestamp;

/// Who is calling: the account behind the bearer token, and the token.
#[derive(Clone, Debug)]
pub struct Principal {
    pub account: Account,
    pub token: Token,
}

/// What a principal may do in one organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    pub rights: Rights,
}

impl Principal {
    /// The principal's standing in `org`, given its account's membership there. `None` when
    /// the token does not reach `org` or the account is no member: the organization is then
    /// invisible to it (404, never 403). Root stands as owner in every organization.
    pub fn standing_in(&self, org: OrgId, membership: Option<Role>) -> Option<Standing> {
        if !self.token.reaches(org) {
            return None;
        }
        let role = if self.account.is_root {
            Role::Owner
        } else {
            membership?
        };
        Some(Standing {
            role,
            rights: self.token.rights_as(role),
        })
    }

    /// Creating and deleting accounts: root's own account-wide token, unscoped, read-write.
    pub fn may_manage_accounts(&self) -> bool {
        self.account.is_root
            && self.token.reach == Reach::Account
            && self.token.token_type == TokenType::ReadWrite
            && self.token.scopes.rights().contains(Rights::ACCOUNTS_MANAGE)
    }

    /// Creating an organization is an act of the account, not of one organization: it takes an
    /// account-wide token that holds every right.
    pub fn may_create_organizations(&self) -> Result<(), CoreError> {
        if self.token.reach == Reach::Account
            && self.token.scopes.is_empty()
            && self.token.token_type == TokenType::ReadWrite
        {
            Ok(())
        } else {
            Err(CoreError::forbidden(
                "creating an organization needs an unscoped, account-wide read-write token",
            ))
        }
    }
}

impl Standing {
    /// Passes when `right` is held; otherwise says whether the role or the token falls short.
    pub fn require(&self, right: Rights, action: &str) -> Result<(), CoreError> {
        if self.rights.contains(right) {
            Ok(())
        } else if !self.role.rights().contains(right) {
            Err(CoreError::forbidden(format!(
                "the {} role may not {action}",
                self.role
            )))
        } else {
            let hint = scope_granting(right)
                .map(|scope| format!("it lacks the scope {scope}"))
                .unwrap_or_else(|| "its scopes or type do not allow it".to_owned());
            Err(CoreError::forbidden(format!(
                "this token may not {action}: {hint}"
            )))
        }
    }
}

fn scope_granting(right: Rights) -> Option<&'static str> {
    [
        ("tokens:read", Rights::TOKENS_READ | Rights::TOKENS_READ_ANY),
        ("tokens:write", Rights::TOKENS_MINT),
        (
            "tokens:revoke",
            Rights::TOKENS_REVOKE | Rights::TOKENS_REVOKE_ANY,
        ),
        ("tokens:rotate", Rights::TOKENS_ROTATE),
        ("audit:read", Rights::AUDIT_READ),
        ("webhooks:read", Rights::WEBHOOKS_READ),
        ("webhooks:write", Rights::WEBHOOKS_WRITE),
    ]
    .into_iter()
    .find(|(_, rights)| rights.contains(right))
    .map(|(scope, _)| scope)
}

/// Something done to one existing token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenAction {
    Read,
    Revoke,
    Rotate,
}

/// Whether `principal`, standing as `standing` in the token's organization, may act on `token`.
/// A token the principal may not see is answered as missing.
pub fn authorize_token(
    principal: &Principal,
    standing: &Standing,
    token: &Token,
    action: TokenAction,
) -> Result<(), CoreError> {
    let own = token.owner == principal.account.id;
    if !own && !standing.role.rights().contains(Rights::TOKENS_READ_ANY) {
        return Err(token_not_found(token.id));
    }
    match action {
        TokenAction::Read if own => standing.require(Rights::TOKENS_READ, "read tokens"),
        TokenAction::Read => standing.require(Rights::TOKENS_READ_ANY, "read others' tokens"),
        TokenAction::Revoke if own => standing.require(Rights::TOKENS_REVOKE, "revoke tokens"),
        TokenAction::Revoke => standing.require(Rights::TOKENS_REVOKE_ANY, "revoke others' tokens"),
        // Rotating hands the new secret to the caller, so only the owner (or the operator)
        // may do it: an admin rotating a member's token would become that member.
        TokenAction::Rotate if principal.account.is_root || principal.token.id == token.id => {
            standing.require(Rights::TOKENS_ROTATE, "rotate tokens")
        }
        TokenAction::Rotate if own => {
            standing.require(Rights::TOKENS_ROTATE, "rotate tokens")?;
            ensure_may_take_over(&principal.token, token)
        }
        TokenAction::Rotate => Err(CoreError::forbidden(
            "only a token's owner may rotate it; revoke it instead",
        )),
    }
}

pub fn token_not_found(id: TokenId) -> CoreError {
    CoreError::not_found(format!("no token with id '{}'", id.native()))
}

/// Which tokens of an organization a listing shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListReach {
    Everyone,
    OwnOnly,
}

pub fn authorize_listing(standing: &Standing) -> Result<ListReach, CoreError> {
    if standing.rights.contains(Rights::TOKENS_READ_ANY) {
        Ok(ListReach::Everyone)
    } else {
        standing.require(Rights::TOKENS_READ, "read tokens")?;
        Ok(ListReach::OwnOnly)
    }
}

/// A token about to be minted, every part of it resolved.
#[derive(Clone, Debug)]
pub struct TokenDraft {
    pub owner: AccountId,
    pub org: OrgId,
    pub reach: Reach,
    pub name: TokenName,
    pub scopes: Scopes,
    pub token_type: TokenType,
    pub expires_at: Option<Timestamp>,
}

/// The mint rules. `standing` is the principal's in `draft.org`; `owner_role` is the owner's
/// membership there. No token ever mints one with more rights, wider reach or a longer life.
pub fn authorize_mint(
    principal: &Principal,
    standing: &Standing,
    owner: &Account,
    owner_role: Option<Role>,
    draft: &TokenDraft,
    now: Timestamp,
) -> Result<(), CoreError> {
    standing.require(Rights::TOKENS_MINT, "mint tokens")?;
    if draft.expires_at.is_some_and(|at| at <= now) {
        return Err(CoreError::invalid("expires_at", "must be in the future"));
    }

    ensure_within(
        &principal.token,
        draft.org,
        draft.reach,
        "mint a token that",
    )?;

    if let Reach::Group(_) = draft.reach {
        if draft.scopes.is_empty() {
            return Err(CoreError::invalid(
                "scopes",
                "a group token needs at least one scope",
            ));
        }
        if standing.role < Role::Admin {
            return Err(CoreError::forbidden(
                "only admins and owners of the organization may mint group tokens",
            ));
        }
    }

    // Someone who is no member here is unknown here, whoever they are elsewhere.
    let owner_role = owner_role.ok_or_else(|| {
        CoreError::not_found(format!(
            "'{}' is not a member of the organization",
            owner.username
        ))
    })?;
    let for_self = owner.id == principal.account.id;
    if !for_self && !principal.account.is_root {
        let may = owner.kind == AccountKind::Service
            && standing.rights.contains(Rights::MEMBERS_MANAGE)
            && owner_role <= standing.role;
        if !may {
            return Err(CoreError::forbidden(match owner.kind {
                AccountKind::Human => "only the operator may mint tokens for another person",
                AccountKind::Service => {
                    "only admins may mint tokens for the organization's service accounts"
                }
            }));
        }
    }
    if draft.reach == Reach::Account && !for_self && !principal.account.is_root {
        return Err(CoreError::forbidden(
            "account-wide tokens can only be minted for oneself",
        ));
    }

    ensure_scopes_within(&principal.token, &draft.scopes, "grant")?;
    let drafted_rights = {
        let rights = owner_role.rights() & draft.scopes.rights();
        match draft.token_type {
            TokenType::ReadWrite => rights,
            TokenType::ReadScaling => rights & Rights::READ,
        }
    };
    if !standing.rights.contains(drafted_rights) {
        return Err(CoreError::forbidden(
            "the new token would hold rights this token does not",
        ));
    }

    ensure_life_within(
        &principal.token,
        draft.expires_at,
        "mint a token that outlives it",
    )
}

/// A token only acts on tokens within its own reach: an account-wide one anywhere, an
/// organization's in that organization, a group's in that group.
pub fn ensure_within(
    holder: &Token,
    org: OrgId,
    reach: Reach,
    action: &str,
) -> Result<(), CoreError> {
    let within = match (holder.reach, reach) {
        (Reach::Account, _) => true,
        (Reach::Organization, Reach::Organization | Reach::Group(_)) => holder.org == org,
        (Reach::Group(mine), Reach::Group(theirs)) => mine == theirs,
        _ => false,
    };
    if within {
        Ok(())
    } else {
        Err(CoreError::forbidden(format!(
            "a token cannot {action} reaches further than itself"
        )))
    }
}

/// A scoped token only hands out scopes it holds.
fn ensure_scopes_within(holder: &Token, scopes: &Scopes, action: &str) -> Result<(), CoreError> {
    if scopes.is_subset_of(&holder.scopes) {
        return Ok(());
    }
    let missing: Vec<&str> = scopes
        .iter()
        .filter(|s| !holder.scopes.contains(s.as_str()))
        .map(Scope::as_str)
        .collect();
    Err(CoreError::forbidden(if missing.is_empty() {
        format!("a scoped token cannot {action} every right of the owner")
    } else {
        format!(
            "this token cannot {action} scopes it does not hold: {}",
            missing.join(", ")
        )
    }))
}

/// A token that expires hands out nothing that lives longer.
fn ensure_life_within(
    holder: &Token,
    expires_at: Option<Timestamp>,
    action: &str,
) -> Result<(), CoreError> {
    match holder.expires_at {
        Some(limit) if expires_at.is_none_or(|at| at > limit) => {
            Err(CoreError::forbidden(format!(
                "this token expires at {}; it cannot {action}",
                limit.rfc3339()
            )))
        }
        _ => Ok(()),
    }
}

/// Rotating another token hands its new secret to the caller, so the caller's token must hold
/// everything the rotated one does: reach, scopes, type and life.
fn ensure_may_take_over(holder: &Token, token: &Token) -> Result<(), CoreError> {
    ensure_within(holder, token.org, token.reach, "rotate a token that")?;
    ensure_scopes_within(holder, &token.scopes, "take over")?;
    if holder.token_type == TokenType::ReadScaling && token.token_type == TokenType::ReadWrite {
        return Err(CoreError::forbidden(
            "a read-scaling token cannot take over a read-write one",
        ));
    }
    ensure_life_within(
        holder,
        token.expires_at,
        "take over a token that outlives it",
    )
}

/// The answer codes of verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyCode {
    Valid,
    NotFound,
    Expired,
    Revoked,
    Forbidden,
    Malformed,
}

/// Whether the token, its owner holding `role`, grants the platform or latchkey `scope`.
pub fn grants(token: &Token, role: Role, scope: &Scope) -> bool {
    if !token.scopes.is_empty() && !token.scopes.contains(scope.as_str()) {
        return false;
    }
    scope.as_str() == READ_SCOPE || token.rights_as(role).intersects(scope.rights())
}

/// The verdict on a found token: `owner_role` is its owner's role in the token's organization
/// (owner for an account-wide token), `None` when the owner has left it.
pub fn verdict(
    token: &Token,
    owner_role: Option<Role>,
    required: &Scopes,
    now: Timestamp,
) -> VerifyCode {
    verdict_for_status(token.status(now), token, owner_role, required)
}

/// [`verdict`] for a token whose status is already known (a cache keeps it apart, so that a
/// verification that requires no scope reads nothing of the token itself).
pub fn verdict_for_status(
    status: crate::model::TokenStatus,
    token: &Token,
    owner_role: Option<Role>,
    required: &Scopes,
) -> VerifyCode {
    use crate::model::TokenStatus;
    match status {
        TokenStatus::Revoked => VerifyCode::Revoked,
        TokenStatus::Expired => VerifyCode::Expired,
        TokenStatus::Active => match owner_role {
            Some(role) if required.iter().all(|scope| grants(token, role, scope)) => {
                VerifyCode::Valid
            }
            _ => VerifyCode::Forbidden,
        },
    }
}

/// Whether the principal, standing as `standing`, may add, re-role or remove a member.
/// `current` is the member's role now (`None` when adding) and `next` its role after (`None`
/// when removing). Admins manage everyone below owner; only owners touch owners. Anyone may
/// leave on their own, with a token that is not narrowed: a scoped or read-scaling token holds
/// no right to take its owner out (and revoke the owner's tokens there).
pub fn authorize_member_change(
    principal: &Principal,
    standing: &Standing,
    current: Option<Role>,
    next: Option<Role>,
    is_self: bool,
) -> Result<(), CoreError> {
    if is_self && next.is_none() {
        let token = &principal.token;
        return if token.scopes.is_empty() && token.token_type == TokenType::ReadWrite {
            Ok(())
        } else {
            Err(CoreError::forbidden(
                "leaving an organization needs an unscoped read-write token",
            ))
        };
    }
    standing.require(Rights::MEMBERS_MANAGE, "manage members")?;
    if current == Some(Role::Owner) || next == Some(Role::Owner) {
        standing.require(Rights::ADMINS_MANAGE, "manage owners")?;
    }
    Ok(())
}
