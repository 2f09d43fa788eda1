//! Whole listings, as the Turso and MotherDuck dialects show them (no pages), and the
//! revocations by name and through an organization that go with them.

use latchkey_core::policy::{ListReach, authorize_listing, token_not_found};
use latchkey_core::{Principal, Reach, Rights, TokenId, TokenName, TokenStatus, TokenView};
use latchkey_store::{PageRequest, TokenQuery};

use super::Service;
use crate::error::Result;

/// Narrows a listing to what the caller's token reaches: its organization unless it is
/// account-wide, and its group for a group token.
pub(super) fn confine(query: &mut TokenQuery, principal: &Principal) {
    if principal.token.reach != Reach::Account {
        query.org = Some(principal.token.org);
    }
    query.group = principal.token.group();
}

/// Keyset pages of this size are walked to build a whole listing.
const WALK: u32 = 100;

impl Service {
    /// Every token a query selects, walking keyset pages.
    pub(super) async fn walk(&self, mut query: TokenQuery) -> Result<Vec<TokenView>> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            query.page = PageRequest::After {
                cursor,
                limit: WALK,
            };
            let page = self.store.list_tokens(&query).await?;
            all.extend(page.tokens);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// The caller's active tokens, across every organization its bearer reaches (Turso's
    /// user-level list).
    pub async fn own_tokens(&self, principal: &Principal) -> Result<Vec<TokenView>> {
        let (_, standing) = self.org_in_view(principal, None).await?;
        standing.require(Rights::TOKENS_READ, "read tokens")?;
        let mut query = TokenQuery::new(self.now());
        query.owner = Some(principal.account.id);
        query.status = Some(TokenStatus::Active);
        confine(&mut query, principal);
        self.walk(query).await
    }

    /// Revokes the caller's live token of that name (Turso revokes user tokens by name).
    pub async fn revoke_own_by_name(
        &self,
        principal: &Principal,
        name: &TokenName,
    ) -> Result<TokenView> {
        let view = self
            .store
            .live_token_by_name(principal.account.id, name)
            .await?
            .ok_or_else(|| {
                latchkey_core::CoreError::not_found(format!("no token named '{name}'"))
            })?;
        self.revoke(principal, view.token.id).await
    }

    /// The active organization- and group-scoped tokens of an organization: everyone's for those
    /// who may read them, the caller's own otherwise. Account-wide tokens never show here.
    pub async fn organization_tokens(
        &self,
        principal: &Principal,
        slug: &latchkey_core::Slug,
    ) -> Result<(Vec<TokenView>, ListReach)> {
        let (org, standing) = self.org_in_view(principal, Some(slug)).await?;
        let reach = authorize_listing(&standing)?;
        let mut query = TokenQuery::new(self.now());
        query.org = Some(org.id);
        query.exclude_account_wide = true;
        query.status = Some(TokenStatus::Active);
        if reach == ListReach::OwnOnly {
            query.owner = Some(principal.account.id);
        }
        confine(&mut query, principal);
        Ok((self.walk(query).await?, reach))
    }

    /// Revokes through an organization's endpoint: a token of another organization, or an
    /// account-wide one, is not found there.
    pub async fn revoke_in_organization(
        &self,
        principal: &Principal,
        slug: &latchkey_core::Slug,
        id: TokenId,
    ) -> Result<TokenView> {
        let (org, _) = self.org_in_view(principal, Some(slug)).await?;
        let view = self
            .store
            .token(id)
            .await?
            .ok_or_else(|| token_not_found(id))?;
        if view.token.org != org.id || view.token.reach == Reach::Account {
            return Err(token_not_found(id).into());
        }
        self.revoke(principal, id).await
    }
}
