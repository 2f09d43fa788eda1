//! Per-user token management and service accounts, as MotherDuck's API frames them: an account
//! manages its own tokens, an organization's admins those of its service accounts, and only the
//! operator anyone's.

use latchkey_core::policy::{authorize_member_change, token_not_found};
use latchkey_core::{
    Account, AccountId, AccountKind, CoreError, Organization, Principal, Reach, Rights, Role, Slug,
    Standing, TokenId, TokenView,
};
use latchkey_store::TokenQuery;

use super::{MintRequest, Minted, Service};
use crate::error::{Error, Result};

/// Whose tokens a call manages, and where.
enum Keeper {
    /// The caller's own, wherever its bearer reaches.
    Own,
    /// The operator, for anyone, everywhere.
    Operator,
    /// An admin, for a service account of this organization.
    Admin(Organization),
}

impl Service {
    /// The organization a call acts in when it names none: the bearer's, when restricted to
    /// one team organization; otherwise `named`, or else the one team organization the caller
    /// administers.
    pub async fn callers_organization(
        &self,
        principal: &Principal,
        named: Option<&Slug>,
    ) -> Result<(Organization, Standing)> {
        if let Some(slug) = named {
            return self.org_in_view(principal, Some(slug)).await;
        }
        if principal.token.reach != Reach::Account {
            let (org, standing) = self.org_in_view(principal, None).await?;
            if !org.personal {
                return Ok((org, standing));
            }
        }
        let administered: Vec<Organization> = self
            .store
            .organizations_of(principal.account.id)
            .await?
            .into_iter()
            .filter(|(org, role)| {
                !org.personal && *role >= Role::Admin && principal.token.reaches(org.id)
            })
            .map(|(org, _)| org)
            .collect();
        match administered.as_slice() {
            [org] => {
                let standing = self.standing(principal, org).await?;
                Ok((org.clone(), standing))
            }
            [] if principal.account.is_root => Err(Error::bad_request(
                "organization",
                "name the organization the service account joins",
            )),
            [] => Err(CoreError::forbidden(
                "the caller administers no organization; service accounts live in one",
            )
            .into()),
            _ => Err(Error::bad_request(
                "organization",
                "the caller administers several organizations: name one, or use a token restricted to it",
            )),
        }
    }

    /// Decides who manages `username`'s tokens for this caller. Another human's tokens are the
    /// operator's business only.
    async fn keeper_of(&self, principal: &Principal, username: &Slug) -> Result<(Account, Keeper)> {
        if principal.account.username == *username {
            return Ok((principal.account.clone(), Keeper::Own));
        }
        let not_found = || CoreError::not_found(format!("no user named '{username}'"));
        let account = self.find_account(username).await?.ok_or_else(not_found)?;
        if principal.may_manage_accounts() {
            return Ok((account, Keeper::Operator));
        }
        // The organizations both share where the caller stands, one where it manages members
        // first; none means the user is not visible to it at all.
        let mut shared = None;
        for (org, _) in self.store.organizations_of(account.id).await? {
            if org.personal {
                continue;
            }
            if let Ok(standing) = self.standing(principal, &org).await {
                let manages = standing.rights.contains(Rights::MEMBERS_MANAGE);
                if manages || shared.is_none() {
                    shared = Some((org, standing));
                }
                if manages {
                    break;
                }
            }
        }
        let (org, standing) = shared.ok_or_else(not_found)?;
        if account.kind == AccountKind::Human {
            return Err(CoreError::forbidden(
                "only the operator manages another person's tokens; admins manage service accounts'",
            )
            .into());
        }
        standing.require(Rights::MEMBERS_MANAGE, "manage service accounts' tokens")?;
        Ok((account, Keeper::Admin(org)))
    }

    /// `username`'s live (not revoked) tokens, as far as the caller may manage them.
    pub async fn user_tokens(
        &self,
        principal: &Principal,
        username: &Slug,
    ) -> Result<Vec<TokenView>> {
        let (account, keeper) = self.keeper_of(principal, username).await?;
        let mut query = TokenQuery::new(self.now());
        query.owner = Some(account.id);
        query.exclude_revoked = true;
        match keeper {
            Keeper::Own => {
                let (_, standing) = self.org_in_view(principal, None).await?;
                standing.require(Rights::TOKENS_READ, "read tokens")?;
                super::listings::confine(&mut query, principal);
            }
            Keeper::Operator => {}
            Keeper::Admin(org) => query.org = Some(org.id),
        }
        self.walk(query).await
    }

    /// Mints for `username`: account-wide for oneself with an account-wide bearer (else in the
    /// bearer's organization), in the organization for a service account, anywhere for root.
    pub async fn mint_for_user(
        &self,
        principal: &Principal,
        username: &Slug,
        mut request: MintRequest,
    ) -> Result<Minted> {
        let (account, keeper) = self.keeper_of(principal, username).await?;
        match keeper {
            Keeper::Own => request.account_wide = principal.token.reach == Reach::Account,
            Keeper::Operator => {
                request.owner = Some(account.username);
                request.account_wide = true;
            }
            Keeper::Admin(org) => {
                request.owner = Some(account.username);
                request.organization = Some(org.slug);
            }
        }
        self.mint(principal, request).await
    }

    /// Revokes one of `username`'s tokens; a token of someone else is not found here.
    pub async fn revoke_user_token(
        &self,
        principal: &Principal,
        username: &Slug,
        id: TokenId,
    ) -> Result<TokenView> {
        let (account, _) = self.keeper_of(principal, username).await?;
        let view = self
            .store
            .token(id)
            .await?
            .ok_or_else(|| token_not_found(id))?;
        if view.token.owner != account.id {
            return Err(token_not_found(id).into());
        }
        self.revoke(principal, id).await
    }

    /// Creates a service account as a member of the caller's organization (admins only).
    pub async fn create_service_account(
        &self,
        principal: &Principal,
        username: Slug,
        organization: Option<&Slug>,
    ) -> Result<(Account, Organization)> {
        let (org, standing) = self.callers_organization(principal, organization).await?;
        standing.require(Rights::MEMBERS_MANAGE, "create service accounts")?;
        if org.personal {
            return Err(
                CoreError::forbidden("a personal organization has no other members").into(),
            );
        }
        let account = Account {
            id: AccountId::new(),
            username,
            email: None,
            kind: AccountKind::Service,
            is_root: false,
            created_at: self.now(),
        };
        self.store
            .create_account(&account, Some((org.id, Role::Member)))
            .await?;
        tracing::info!(account = %account.username, org = %org.slug, "created service account");
        Ok((account, org))
    }

    /// Deletes a service account and revokes its tokens (its organization's admins, or root).
    pub async fn delete_service_account(
        &self,
        principal: &Principal,
        username: &Slug,
    ) -> Result<Account> {
        let (account, keeper) = self.keeper_of(principal, username).await?;
        if account.kind != AccountKind::Service || matches!(keeper, Keeper::Own) {
            return Err(CoreError::forbidden("only service accounts can be deleted here").into());
        }
        // Deleting the account takes it out of every organization: an admin may do that only
        // where it could remove the account as a member.
        if let Keeper::Admin(_) = keeper {
            for (org, role) in self.store.organizations_of(account.id).await? {
                if org.personal {
                    continue;
                }
                let standing = self.standing(principal, &org).await.map_err(|_| {
                    CoreError::forbidden(
                        "the service account also belongs to an organization this caller does not administer",
                    )
                })?;
                authorize_member_change(principal, &standing, Some(role), None, false)?;
            }
        }
        let revoked = self.erase_account(&account).await?;
        tracing::info!(account = %account.username, revoked, "deleted service account");
        Ok(account)
    }
}
