//! The application layer: each call looks up what the core's rules need, asks the core, and
//! writes through the store. Every dialect is a translation onto these calls.

mod listings;
mod users;

use std::sync::Arc;

use latchkey_core::names::display_name;
use latchkey_core::policy::{
    self, ListReach, TokenAction, authorize_listing, authorize_member_change, authorize_mint,
    authorize_token, token_not_found,
};
use latchkey_core::{
    Account, AccountId, AccountKind, AuthFailure, Clock, CoreError, Email, Group, GroupId, Member,
    OrgId, Organization, Principal, Reach, Rights, Role, ScopeCatalog, Scopes, Secret, Slug,
    Standing, Timestamp, Token, TokenDraft, TokenId, TokenName, TokenStatus, TokenType, TokenView,
    VerifyCode,
};
use latchkey_store::{OrgKey, PageRequest, Store, TokenPage, TokenQuery, TokenSort};

use crate::error::{Error, Result};
use crate::verify::{Cached, LookupError, Verifier};

pub struct Service {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    catalog: ScopeCatalog,
    verifier: Arc<Verifier>,
}

/// A token just minted or rotated, with its secret: the one time the secret is shown.
#[derive(Debug)]
pub struct Minted {
    pub view: TokenView,
    pub secret: Secret,
}

/// A mint, parsed from any dialect.
#[derive(Clone, Debug)]
pub struct MintRequest {
    /// Where to mint; by default the organization of the caller's token.
    pub organization: Option<Slug>,
    pub group: Option<Slug>,
    /// For whom; by default the caller.
    pub owner: Option<Slug>,
    /// Reach every organization of the owner (Turso's unrestricted tokens).
    pub account_wide: bool,
    pub name: TokenName,
    pub scopes: Vec<String>,
    pub token_type: TokenType,
    pub expires_at: Option<Timestamp>,
}

/// Listing filters, parsed from any dialect.
#[derive(Clone, Debug, Default)]
pub struct ListRequest {
    pub organization: Option<Slug>,
    pub owner: Option<Slug>,
    pub group: Option<Slug>,
    pub exclude_account_wide: bool,
    pub status: Option<TokenStatus>,
    pub name_contains: Option<String>,
    pub scope: Option<String>,
    pub expires_before: Option<Timestamp>,
    pub expires_after: Option<Timestamp>,
    pub last_used_before: Option<Timestamp>,
    pub last_used_after: Option<Timestamp>,
    pub sort: TokenSort,
    pub page: Option<PageRequest>,
}

/// The answer to "is this secret valid, whose is it, what may it do?".
#[derive(Clone, Debug)]
pub struct Verification {
    pub code: VerifyCode,
    /// The token found, as the cache holds it (shared, not copied: this is the hot path).
    pub found: Option<Arc<Cached>>,
    /// The owner's role where the token was checked.
    pub role: Option<Role>,
}

impl Service {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        catalog: ScopeCatalog,
        verifier: Arc<Verifier>,
    ) -> Self {
        Self {
            store,
            clock,
            catalog,
            verifier,
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn catalog(&self) -> &ScopeCatalog {
        &self.catalog
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }

    // --- authentication and verification -------------------------------------------------

    async fn lookup(
        &self,
        secret: &str,
        now: Timestamp,
    ) -> Result<Option<Arc<Cached>>, LookupOutcome> {
        match self.verifier.lookup(secret, now).await {
            Ok(found) => Ok(found),
            Err(LookupError::Malformed) => Err(LookupOutcome::Malformed),
            Err(LookupError::Store(error)) => Err(LookupOutcome::Failed(error.into())),
        }
    }

    /// Turns a bearer secret into the principal it stands for.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Principal> {
        let secret = bearer.ok_or(Error::unauthenticated(AuthFailure::Missing))?;
        let now = self.now();
        let cached = match self.lookup(secret, now).await {
            Ok(Some(cached)) => cached,
            Ok(None) => return Err(Error::unauthenticated(AuthFailure::NotFound)),
            Err(LookupOutcome::Malformed) => {
                return Err(Error::unauthenticated(AuthFailure::Malformed));
            }
            Err(LookupOutcome::Failed(error)) => return Err(error),
        };
        let view = &cached.view;
        match cached.verdict(cached.owner_role(), &Scopes::default(), now) {
            VerifyCode::Valid => {}
            VerifyCode::Expired => return Err(Error::unauthenticated(AuthFailure::Expired)),
            VerifyCode::Revoked => return Err(Error::unauthenticated(AuthFailure::Revoked)),
            _ => return Err(Error::unauthenticated(AuthFailure::NotFound)),
        }
        self.verifier.stamp(&cached, now);
        Ok(Principal {
            account: view.owner.clone(),
            token: view.token.clone(),
        })
    }

    /// Verifies a secret for a platform, optionally requiring scopes and an organization.
    pub async fn verify(
        &self,
        secret: &str,
        required: &[String],
        organization: Option<&Slug>,
    ) -> Result<Verification> {
        let required = self.catalog.parse(required)?;
        // One clock read for the cache's TTL and the token's expiry.
        let now = self.now();
        let cached = match self.lookup(secret, now).await {
            Ok(Some(cached)) => cached,
            Ok(None) => return Ok(Verification::bare(VerifyCode::NotFound)),
            Err(LookupOutcome::Malformed) => return Ok(Verification::bare(VerifyCode::Malformed)),
            Err(LookupOutcome::Failed(error)) => return Err(error),
        };
        let view = &cached.view;
        let token = &view.token;
        let role = match organization {
            None => cached.owner_role(),
            Some(slug) => match self
                .store
                .organization_and_role(OrgKey::Slug(slug.clone()), token.owner)
                .await?
            {
                Some((org, role)) if token.reaches(org.id) => {
                    if view.owner.is_root {
                        Some(Role::Owner)
                    } else {
                        role
                    }
                }
                _ => None,
            },
        };
        let code = cached.verdict(role, &required, now);
        if matches!(code, VerifyCode::Valid | VerifyCode::Forbidden) {
            self.verifier.stamp(&cached, now);
        }
        Ok(Verification {
            code,
            found: Some(cached),
            role,
        })
    }

    // --- organizations in view ---------------------------------------------------------------

    /// The principal's standing in `org`; an organization it cannot see is not found.
    async fn standing(&self, principal: &Principal, org: &Organization) -> Result<Standing> {
        let membership = self.store.membership(org.id, principal.account.id).await?;
        principal
            .standing_in(org.id, membership)
            .ok_or_else(|| org_not_found(&org.slug))
    }

    /// The organization named by `slug` (or the caller's token's), and the caller's standing:
    /// one read of the store, or none while the verifier keeps them.
    async fn org_in_view(
        &self,
        principal: &Principal,
        slug: Option<&Slug>,
    ) -> Result<(Organization, Standing)> {
        let key = match slug {
            Some(slug) => OrgKey::Slug(slug.clone()),
            None => OrgKey::Id(principal.token.org),
        };
        let found = self
            .verifier
            .organization_and_role(key, principal.account.id, self.now())
            .await?;
        let (org, membership) = match (found, slug) {
            (Some(found), _) => found,
            (None, Some(slug)) => return Err(org_not_found(slug)),
            (None, None) => {
                return Err(
                    CoreError::not_found("the token's organization no longer exists").into(),
                );
            }
        };
        let standing = principal
            .standing_in(org.id, membership)
            .ok_or_else(|| org_not_found(&org.slug))?;
        Ok((org, standing))
    }

    /// Deletes `account` in the store, then drops what this node keeps of it: its tokens and
    /// its roles. Gives how many tokens went.
    async fn erase_account(&self, account: &Account) -> Result<usize> {
        let evicted = self.store.delete_account(account.id, self.now()).await?;
        self.verifier.evict(&evicted);
        self.verifier.forget_directory();
        Ok(evicted.len())
    }

    async fn account_by_username(&self, username: &Slug) -> Result<Account> {
        self.find_account(username)
            .await?
            .ok_or_else(|| CoreError::not_found(format!("no account named '{username}'")).into())
    }

    /// The account named `username`, if there is one, as the verifier keeps it.
    async fn find_account(&self, username: &Slug) -> Result<Option<Account>> {
        Ok(self
            .verifier
            .account_by_username(username, self.now())
            .await?)
    }

    async fn group_in(&self, org: &Organization, name: &Slug) -> Result<Group> {
        self.store
            .group_by_name(org.id, name)
            .await?
            .ok_or_else(|| {
                CoreError::not_found(format!(
                    "no group named '{name}' in organization '{}'",
                    org.slug
                ))
                .into()
            })
    }

    // --- tokens ----------------------------------------------------------------------------

    pub async fn mint(&self, principal: &Principal, request: MintRequest) -> Result<Minted> {
        let now = self.now();
        let owner = match &request.owner {
            // Said like a non-member's answer, so that minting does not tell who exists.
            Some(username) => self.find_account(username).await?.ok_or_else(|| {
                CoreError::not_found(format!("'{username}' is not a member of the organization"))
            })?,
            None => principal.account.clone(),
        };
        let slug = if request.account_wide {
            // Checked before the owner's personal organization is looked up, which a restricted
            // token could not see: the refusal is about reach, not a missing organization.
            policy::ensure_within(
                &principal.token,
                principal.token.org,
                Reach::Account,
                "mint a token that",
            )?;
            if request.organization.is_some() || request.group.is_some() {
                return Err(Error::bad_request(
                    "organization",
                    "an account-wide token names no organization or group",
                ));
            }
            Some(&owner.username)
        } else {
            match &request.organization {
                Some(slug) => Some(slug),
                None if principal.token.reach == Reach::Account => Some(&owner.username),
                None => None,
            }
        };
        let (org, standing) = self.org_in_view(principal, slug).await?;
        let group = match &request.group {
            Some(name) => Some(self.group_in(&org, name).await?),
            None => None,
        };
        let reach = match (&group, request.account_wide) {
            (Some(group), _) => Reach::Group(group.id),
            (None, true) => Reach::Account,
            (None, false) => Reach::Organization,
        };
        let owner_role = if owner.id == principal.account.id {
            Some(standing.role)
        } else {
            self.store.membership(org.id, owner.id).await?
        };
        let draft = TokenDraft {
            owner: owner.id,
            org: org.id,
            reach,
            name: request.name,
            scopes: self.catalog.parse(&request.scopes)?,
            token_type: request.token_type,
            expires_at: request.expires_at,
        };
        authorize_mint(principal, &standing, &owner, owner_role, &draft, now)?;

        let secret = Secret::generate(self.verifier.format());
        let token = Token {
            id: TokenId::new(),
            owner: draft.owner,
            created_by: principal.account.id,
            org: draft.org,
            reach: draft.reach,
            name: draft.name,
            scopes: draft.scopes,
            token_type: draft.token_type,
            hint: secret.hint(),
            created_at: now,
            expires_at: draft.expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        self.store.insert_token(&token, secret.hash()).await?;
        tracing::info!(token = %token.id.native(), owner = %owner.username, org = %org.slug, "minted token");
        Ok(Minted {
            view: TokenView {
                token,
                owner,
                creator_email: principal.account.email.clone(),
                organization: org.slug,
                group: group.map(|g| g.name),
                membership: owner_role,
            },
            secret,
        })
    }

    pub async fn list_tokens(
        &self,
        principal: &Principal,
        request: ListRequest,
    ) -> Result<TokenPage> {
        // The owner named is looked up beside the organization: where the verifier keeps
        // neither, on PostgreSQL, two round trips at once (two pooled connections for the
        // moment; the owner read is wasted when the caller may not list, and tells nothing
        // until the caller's standing is known).
        let named = async {
            Ok(match &request.owner {
                Some(username) => Some(self.find_account(username).await?),
                None => None,
            })
        };
        let ((org, standing), named) = tokio::try_join!(
            self.org_in_view(principal, request.organization.as_ref()),
            named
        )?;
        let reach = authorize_listing(&standing)?;
        // An unknown owner lists nothing, as one of another tenant does: no way to probe names.
        let mut nothing_visible = matches!(named, Some(None));
        let mut owner = named.flatten().map(|account| account.id);
        if reach == ListReach::OwnOnly {
            nothing_visible = owner.is_some_and(|id| id != principal.account.id);
            owner = Some(principal.account.id);
        }
        let mut group = match &request.group {
            Some(name) => Some(self.group_in(&org, name).await?.id),
            None => None,
        };
        // A group token sees its group's tokens only.
        if let Reach::Group(own_group) = principal.token.reach {
            nothing_visible |= group.is_some_and(|g| g != own_group);
            group = Some(own_group);
        }
        let page = request.page.unwrap_or(PageRequest::Numbered {
            page: 1,
            per_page: 25,
        });
        if nothing_visible {
            return Ok(TokenPage {
                tokens: Vec::new(),
                total: matches!(page, PageRequest::Numbered { .. }).then_some(0),
                next_cursor: None,
            });
        }
        let query = TokenQuery {
            org: Some(org.id),
            owner,
            group,
            exclude_account_wide: request.exclude_account_wide,
            exclude_revoked: false,
            status: request.status,
            name_contains: request.name_contains,
            scope: request.scope,
            expires_before: request.expires_before,
            expires_after: request.expires_after,
            last_used_before: request.last_used_before,
            last_used_after: request.last_used_after,
            sort: request.sort,
            page,
            now: self.now(),
        };
        Ok(self.store.list_tokens(&query).await?)
    }

    /// A token the principal may act on in the way asked, with its standing there.
    async fn token_for(
        &self,
        principal: &Principal,
        id: TokenId,
        action: TokenAction,
    ) -> Result<TokenView> {
        let view = self
            .store
            .token(id)
            .await?
            .ok_or_else(|| token_not_found(id))?;
        let membership = self
            .store
            .membership(view.token.org, principal.account.id)
            .await?;
        let standing = principal
            .standing_in(view.token.org, membership)
            .ok_or_else(|| token_not_found(id))?;
        if let Reach::Group(group) = principal.token.reach
            && view.token.group() != Some(group)
        {
            return Err(token_not_found(id).into());
        }
        authorize_token(principal, &standing, &view.token, action)?;
        Ok(view)
    }

    pub async fn token(&self, principal: &Principal, id: TokenId) -> Result<TokenView> {
        self.token_for(principal, id, TokenAction::Read).await
    }

    /// Revokes; the record stays. The cache forgets the secret before this returns.
    pub async fn revoke(&self, principal: &Principal, id: TokenId) -> Result<TokenView> {
        self.token_for(principal, id, TokenAction::Revoke).await?;
        let (view, hash) = self.store.revoke_token(id, self.now()).await?;
        self.verifier.evict(&[hash]);
        tracing::info!(token = %id.native(), "revoked token");
        Ok(view)
    }

    /// A new secret for the same token; the old one stops working before this returns.
    pub async fn rotate(&self, principal: &Principal, id: TokenId) -> Result<Minted> {
        let view = self.token_for(principal, id, TokenAction::Rotate).await?;
        match view.token.status(self.now()) {
            TokenStatus::Active => {}
            TokenStatus::Revoked => {
                return Err(CoreError::conflict("the token is revoked; mint a new one").into());
            }
            TokenStatus::Expired => {
                return Err(CoreError::conflict("the token has expired; mint a new one").into());
            }
        }
        let secret = Secret::generate(self.verifier.format());
        let (view, old) = self
            .store
            .rotate_token(id, secret.hash(), &secret.hint())
            .await?;
        self.verifier.evict(&[old]);
        tracing::info!(token = %id.native(), "rotated token");
        Ok(Minted { view, secret })
    }

    // --- accounts --------------------------------------------------------------------------

    fn require_operator(principal: &Principal) -> Result<()> {
        if principal.may_manage_accounts() {
            Ok(())
        } else {
            Err(CoreError::forbidden("only the operator's root token may manage accounts").into())
        }
    }

    pub async fn create_account(
        &self,
        principal: &Principal,
        username: Slug,
        email: Option<Email>,
        kind: AccountKind,
    ) -> Result<Account> {
        Self::require_operator(principal)?;
        let account = Account {
            id: AccountId::new(),
            username,
            email,
            kind,
            is_root: false,
            created_at: self.now(),
        };
        self.store.create_account(&account, None).await?;
        tracing::info!(account = %account.username, "created account");
        Ok(account)
    }

    pub async fn accounts(&self, principal: &Principal) -> Result<Vec<Account>> {
        Self::require_operator(principal)?;
        Ok(self.store.accounts().await?)
    }

    /// An account: the operator sees all, everyone else only itself.
    pub async fn account(&self, principal: &Principal, username: &Slug) -> Result<Account> {
        if principal.account.username == *username {
            return Ok(principal.account.clone());
        }
        Self::require_operator(principal)
            .map_err(|_| CoreError::not_found(format!("no account named '{username}'")))?;
        self.account_by_username(username).await
    }

    pub async fn delete_account(&self, principal: &Principal, username: &Slug) -> Result<Account> {
        Self::require_operator(principal)?;
        let account = self.account_by_username(username).await?;
        if account.is_root {
            return Err(CoreError::forbidden("the root account cannot be deleted").into());
        }
        let revoked = self.erase_account(&account).await?;
        tracing::info!(account = %account.username, revoked, "deleted account");
        Ok(account)
    }

    // --- organizations ---------------------------------------------------------------------

    /// The organizations the principal can see, with its role in each.
    pub async fn organizations(&self, principal: &Principal) -> Result<Vec<(Organization, Role)>> {
        let mine = if principal.account.is_root {
            self.store
                .organizations()
                .await?
                .into_iter()
                .map(|org| (org, Role::Owner))
                .collect()
        } else {
            self.store.organizations_of(principal.account.id).await?
        };
        Ok(mine
            .into_iter()
            .filter(|(org, _)| principal.token.reaches(org.id))
            .filter(|(org, role)| {
                principal.token.rights_as(*role).contains(Rights::ORG_READ)
                    || org.id == principal.token.org
            })
            .collect())
    }

    pub async fn create_organization(
        &self,
        principal: &Principal,
        slug: Slug,
        name: Option<String>,
    ) -> Result<Organization> {
        principal.may_create_organizations()?;
        let name = match name {
            Some(name) => display_name("name", &name)?,
            None => slug.to_string(),
        };
        let org = Organization {
            id: OrgId::new(),
            name,
            slug,
            personal: false,
            created_at: self.now(),
        };
        self.store
            .create_organization(&org, principal.account.id)
            .await?;
        tracing::info!(org = %org.slug, "created organization");
        Ok(org)
    }

    pub async fn organization(
        &self,
        principal: &Principal,
        slug: &Slug,
    ) -> Result<(Organization, Standing)> {
        let (org, standing) = self.org_in_view(principal, Some(slug)).await?;
        standing.require(Rights::ORG_READ, "read the organization")?;
        Ok((org, standing))
    }

    pub async fn rename_organization(
        &self,
        principal: &Principal,
        slug: &Slug,
        name: String,
    ) -> Result<Organization> {
        let (mut org, standing) = self.org_in_view(principal, Some(slug)).await?;
        standing.require(Rights::ORG_MANAGE, "manage the organization")?;
        let name = display_name("name", &name)?;
        self.store.rename_organization(org.id, &name).await?;
        self.verifier.forget_directory();
        org.name = name;
        Ok(org)
    }

    pub async fn delete_organization(
        &self,
        principal: &Principal,
        slug: &Slug,
    ) -> Result<Organization> {
        let (org, standing) = self.org_in_view(principal, Some(slug)).await?;
        standing.require(Rights::ORG_MANAGE, "delete the organization")?;
        if org.personal {
            return Err(CoreError::forbidden("a personal organization cannot be deleted").into());
        }
        let evicted = self.store.delete_organization(org.id, self.now()).await?;
        self.verifier.evict(&evicted);
        self.verifier.forget_directory();
        tracing::info!(org = %org.slug, revoked = evicted.len(), "deleted organization");
        Ok(org)
    }

    // --- members ---------------------------------------------------------------------------

    pub async fn members(&self, principal: &Principal, slug: &Slug) -> Result<Vec<Member>> {
        let (org, standing) = self.org_in_view(principal, Some(slug)).await?;
        standing.require(Rights::MEMBERS_READ, "read members")?;
        Ok(self.store.members(org.id).await?)
    }

    pub async fn add_member(
        &self,
        principal: &Principal,
        slug: &Slug,
        username: &Slug,
        role: Role,
    ) -> Result<Member> {
        let (org, standing) = self.org_in_view(principal, Some(slug)).await?;
        authorize_member_change(principal, &standing, None, Some(role), false)?;
        if org.personal {
            return Err(
                CoreError::forbidden("a personal organization has no other members").into(),
            );
        }
        let account = self.account_by_username(username).await?;
        self.store
            .add_member(org.id, account.id, role, self.now())
            .await?;
        self.verifier.forget_directory();
        Ok(Member { account, role })
    }

    async fn member_of(&self, org: &Organization, username: &Slug) -> Result<(Account, Role)> {
        let not_member = || {
            Error::from(CoreError::not_found(format!(
                "'{username}' is not a member of organization '{}'",
                org.slug
            )))
        };
        let account = self.find_account(username).await?.ok_or_else(not_member)?;
        let role = self
            .store
            .membership(org.id, account.id)
            .await?
            .ok_or_else(not_member)?;
        Ok((account, role))
    }

    pub async fn set_role(
        &self,
        principal: &Principal,
        slug: &Slug,
        username: &Slug,
        role: Role,
    ) -> Result<Member> {
        let (org, standing) = self.org_in_view(principal, Some(slug)).await?;
        let (account, current) = self.member_of(&org, username).await?;
        authorize_member_change(
            principal,
            &standing,
            Some(current),
            Some(role),
            account.id == principal.account.id,
        )?;
        self.store.set_role(org.id, account.id, role).await?;
        // Rights of every token of this member change at once.
        self.verifier.clear();
        Ok(Member { account, role })
    }

    pub async fn remove_member(
        &self,
        principal: &Principal,
        slug: &Slug,
        username: &Slug,
    ) -> Result<Member> {
        let (org, standing) = self.org_in_view(principal, Some(slug)).await?;
        let (account, current) = self.member_of(&org, username).await?;
        authorize_member_change(
            principal,
            &standing,
            Some(current),
            None,
            account.id == principal.account.id,
        )?;
        let evicted = self
            .store
            .remove_member(org.id, account.id, self.now())
            .await?;
        self.verifier.evict(&evicted);
        self.verifier.forget_directory();
        Ok(Member {
            account,
            role: current,
        })
    }

    // --- groups ----------------------------------------------------------------------------

    pub async fn groups(&self, principal: &Principal, slug: &Slug) -> Result<Vec<Group>> {
        let (org, standing) = self.org_in_view(principal, Some(slug)).await?;
        standing.require(Rights::GROUPS_READ, "read groups")?;
        Ok(self.store.groups(org.id).await?)
    }

    pub async fn group(&self, principal: &Principal, slug: &Slug, name: &Slug) -> Result<Group> {
        let (org, standing) = self.org_in_view(principal, Some(slug)).await?;
        standing.require(Rights::GROUPS_READ, "read groups")?;
        self.group_in(&org, name).await
    }

    pub async fn create_group(
        &self,
        principal: &Principal,
        slug: &Slug,
        name: Slug,
    ) -> Result<Group> {
        let (org, standing) = self.org_in_view(principal, Some(slug)).await?;
        standing.require(Rights::GROUPS_MANAGE, "manage groups")?;
        let group = Group {
            id: GroupId::new(),
            org: org.id,
            name,
            created_at: self.now(),
        };
        self.store.create_group(&group).await?;
        Ok(group)
    }

    /// Deletes a group; the tokens pinned to it stop working before this returns.
    pub async fn delete_group(
        &self,
        principal: &Principal,
        slug: &Slug,
        name: &Slug,
    ) -> Result<Group> {
        let (org, standing) = self.org_in_view(principal, Some(slug)).await?;
        standing.require(Rights::GROUPS_MANAGE, "manage groups")?;
        let group = self.group_in(&org, name).await?;
        let evicted = self.store.delete_group(group.id, self.now()).await?;
        self.verifier.evict(&evicted);
        tracing::info!(org = %org.slug, group = %group.name, revoked = evicted.len(), "deleted group");
        Ok(group)
    }
}

enum LookupOutcome {
    Malformed,
    Failed(Error),
}

impl Verification {
    pub fn view(&self) -> Option<&TokenView> {
        self.found.as_ref().map(|cached| &*cached.view)
    }

    fn bare(code: VerifyCode) -> Self {
        Self {
            code,
            found: None,
            role: None,
        }
    }
}

fn org_not_found(slug: &Slug) -> Error {
    CoreError::not_found(format!("organization '{slug}' not found")).into()
}
