//! Builders and checks shared by the suite, so that each test reads as its scenario.

use std::collections::HashSet;
use std::fmt::Debug;

use latchkey_core::{
    Account, AccountId, AccountKind, Group, GroupId, OrgId, Organization, Reach, Role,
    ScopeCatalog, Secret, SecretFormat, SecretHash, Slug, Timestamp, Token, TokenId, TokenName,
    TokenType, TokenView,
};
use latchkey_store::{OrgKey, PageRequest, Store, StoreError, TokenPage, TokenQuery};

/// The suite's present: later than any token's `created_at` (which comes from its id), so that
/// expiry and use are set relative to it.
pub const NOW: i64 = 2_000_000_000;
/// A day, in seconds: what the counters of expiry count by.
pub const DAY: i64 = 86_400;

pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix(seconds)
}

/// `NOW` moved by `offset` seconds.
pub fn now_plus(offset: i64) -> Timestamp {
    at(NOW + offset)
}

pub fn now() -> Timestamp {
    at(NOW)
}

pub fn slug(text: &str) -> Slug {
    text.parse().expect("a valid slug")
}

pub fn token_name(text: &str) -> TokenName {
    text.parse().expect("a valid token name")
}

pub fn fresh_hash() -> SecretHash {
    Secret::generate(&SecretFormat::default()).hash()
}

/// A human account with an email, not yet stored.
pub fn account(username: &str) -> Account {
    Account {
        id: AccountId::new(),
        username: slug(username),
        email: Some(
            format!("{username}@example.com")
                .parse()
                .expect("a valid email"),
        ),
        kind: AccountKind::Human,
        is_root: false,
        created_at: now_plus(-86_400),
    }
}

/// A stored account and its personal organization.
#[derive(Clone, Debug)]
pub struct Person {
    pub account: Account,
    pub personal: Organization,
}

impl Person {
    pub fn id(&self) -> AccountId {
        self.account.id
    }
}

/// Stores `account` and returns it with the personal organization the store made for it.
pub async fn create(store: &dyn Store, account: Account) -> Person {
    let personal = store
        .create_account(&account, None)
        .await
        .expect("create the account");
    Person { account, personal }
}

/// Stores a new human account named `username`.
pub async fn person(store: &dyn Store, username: &str) -> Person {
    create(store, account(username)).await
}

/// An organization, not yet stored.
pub fn organization(slug_text: &str) -> Organization {
    Organization {
        id: OrgId::new(),
        slug: slug(slug_text),
        name: format!("The {slug_text} organization"),
        personal: false,
        created_at: now_plus(-3_600),
    }
}

/// Stores a new organization owned by `owner`.
pub async fn org(store: &dyn Store, slug_text: &str, owner: &Person) -> Organization {
    let org = organization(slug_text);
    store
        .create_organization(&org, owner.id())
        .await
        .expect("create the organization");
    org
}

/// The organization with that id, if it is there (not deleted).
pub async fn org_by_id(store: &dyn Store, id: OrgId) -> Option<Organization> {
    store
        .organization_and_role(OrgKey::Id(id), AccountId::new())
        .await
        .unwrap()
        .map(|(org, _)| org)
}

/// Makes `who` a member of `org` with `role`.
pub async fn join(store: &dyn Store, org: &Organization, who: &Person, role: Role) {
    store
        .add_member(org.id, who.id(), role, now_plus(-1_800))
        .await
        .expect("add the member");
}

/// A group, not yet stored.
pub fn group(org: &Organization, name: &str) -> Group {
    Group {
        id: GroupId::new(),
        org: org.id,
        name: slug(name),
        created_at: now_plus(-1_000),
    }
}

/// Stores a new group of `org`.
pub async fn new_group(store: &dyn Store, org: &Organization, name: &str) -> Group {
    let group = group(org, name);
    store.create_group(&group).await.expect("create the group");
    group
}

/// A token under construction: organization-scoped, unscoped, read-write, never expiring and
/// never used unless told otherwise.
pub struct Mint {
    token: Token,
    secret: Secret,
}

/// Starts a token owned (and created) by `owner`, minted in `org`.
pub fn mint(owner: &Person, org: &Organization, name: &str) -> Mint {
    let id = TokenId::new();
    let secret = Secret::generate(&SecretFormat::default());
    Mint {
        token: Token {
            id,
            owner: owner.id(),
            created_by: owner.id(),
            org: org.id,
            reach: Reach::Organization,
            name: token_name(name),
            scopes: ScopeCatalog::default()
                .parse::<&str>(&[])
                .expect("no scopes"),
            token_type: TokenType::ReadWrite,
            hint: secret.hint(),
            created_at: created_at_of(id),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        },
        secret,
    }
}

/// When a token with this id was minted: its id is a UUIDv7, so a store's id order is its
/// creation order.
pub fn created_at_of(id: TokenId) -> Timestamp {
    let (seconds, _) = id
        .as_uuid()
        .get_timestamp()
        .expect("a UUIDv7 carries its time")
        .to_unix();
    at(i64::try_from(seconds).expect("seconds fit"))
}

impl Mint {
    /// An account-wide token: it must be minted in the owner's personal organization.
    pub fn account_wide(mut self) -> Self {
        self.token.reach = Reach::Account;
        self
    }

    /// Pins the token to `group` (and so to the group's organization).
    pub fn in_group(mut self, group: &Group) -> Self {
        assert_eq!(
            self.token.org, group.org,
            "a group token is minted in its org"
        );
        self.token.reach = Reach::Group(group.id);
        self
    }

    /// Minted by `creator` on behalf of the owner.
    pub fn by(mut self, creator: &Person) -> Self {
        self.token.created_by = creator.id();
        self
    }

    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.token.scopes = ScopeCatalog::default().parse(scopes).expect("known scopes");
        self
    }

    pub fn read_scaling(mut self) -> Self {
        self.token.token_type = TokenType::ReadScaling;
        self
    }

    pub fn expires(mut self, at: Option<Timestamp>) -> Self {
        self.token.expires_at = at;
        self
    }

    pub fn last_used(mut self, at: Option<Timestamp>) -> Self {
        self.token.last_used_at = at;
        self
    }

    pub fn build(self) -> Minted {
        Minted {
            token: self.token,
            secret: self.secret,
        }
    }

    /// Stores the token and checks that it reads back exactly as built.
    pub async fn insert(self, store: &dyn Store) -> Minted {
        let minted = self.build();
        store
            .insert_token(&minted.token, minted.hash())
            .await
            .unwrap_or_else(|error| panic!("insert token '{}': {error}", minted.token.name));
        let view = view(store, minted.token.id).await;
        assert_eq!(view.token, minted.token, "a token reads back as stored");
        minted
    }
}

/// A token as built, and its secret.
#[derive(Clone, Debug)]
pub struct Minted {
    pub token: Token,
    pub secret: Secret,
}

impl Minted {
    pub fn id(&self) -> TokenId {
        self.token.id
    }

    pub fn hash(&self) -> SecretHash {
        self.secret.hash()
    }
}

/// The stored view of a token that must exist.
pub async fn view(store: &dyn Store, id: TokenId) -> TokenView {
    store
        .token(id)
        .await
        .expect("read the token")
        .unwrap_or_else(|| panic!("token {id:?} is stored"))
}

/// When the stored token was revoked, if it was.
pub async fn revoked_at(store: &dyn Store, token: &Minted) -> Option<Timestamp> {
    view(store, token.id()).await.token.revoked_at
}

/// Checks that `tokens` are revoked at `when` and `live` are not, and that their records are
/// otherwise untouched.
pub async fn assert_revoked_exactly(
    store: &dyn Store,
    revoked: &[&Minted],
    live: &[&Minted],
    when: Timestamp,
) {
    for token in revoked {
        let stored = view(store, token.id()).await.token;
        assert_eq!(
            stored.revoked_at,
            Some(when),
            "token '{}' is revoked",
            token.token.name
        );
        assert_eq!(
            Token {
                revoked_at: None,
                ..stored
            },
            token.token,
            "a revoked token's record is kept"
        );
    }
    for token in live {
        assert_eq!(
            revoked_at(store, token).await,
            None,
            "token '{}' stays live",
            token.token.name
        );
    }
}

/// Checks what a change handed back for eviction: every hash of `must` (the live tokens it
/// revoked), and nothing but hashes of `may` (those and tokens it found already revoked).
#[track_caller]
pub fn assert_evicted(evicted: &[SecretHash], must: &[&Minted], may: &[&Minted]) {
    let evicted: HashSet<SecretHash> = evicted.iter().copied().collect();
    for token in must {
        assert!(
            evicted.contains(&token.hash()),
            "the hash of '{}' is handed back for eviction",
            token.token.name
        );
    }
    let allowed: HashSet<SecretHash> = must.iter().chain(may).map(|t| t.hash()).collect();
    assert!(
        evicted.is_subset(&allowed),
        "only hashes of revoked tokens are handed back: {evicted:?}"
    );
}

#[track_caller]
pub fn assert_conflict<T: Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "expected a conflict, got {result:?}"
    );
}

#[track_caller]
pub fn assert_not_found<T: Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "expected not found, got {result:?}"
    );
}

/// The names of a page's tokens, in its order.
pub fn names(page: &TokenPage) -> Vec<String> {
    page.tokens
        .iter()
        .map(|view| view.token.name.to_string())
        .collect()
}

/// A query for every token, on one numbered page large enough for any test.
pub fn everything() -> TokenQuery {
    let mut query = TokenQuery::new(now());
    query.page = PageRequest::Numbered {
        page: 1,
        per_page: 1_000,
    };
    query
}

/// The ids of `org`'s tokens (all of them), oldest first.
pub async fn token_ids_of_org(store: &dyn Store, org: OrgId) -> Vec<TokenId> {
    let mut query = everything();
    query.org = Some(org);
    ids(&store.list_tokens(&query).await.expect("list tokens"))
}

pub fn ids(page: &TokenPage) -> Vec<TokenId> {
    page.tokens.iter().map(|view| view.token.id).collect()
}

/// The role `who` holds in `org`, read back.
pub async fn role_in(store: &dyn Store, org: &Organization, who: &Person) -> Option<Role> {
    store
        .membership(org.id, who.id())
        .await
        .expect("read the membership")
}

/// Every live organization, by slug (the trait leaves the order open).
pub async fn all_orgs(store: &dyn Store) -> Vec<Organization> {
    let mut orgs = store.organizations().await.expect("list organizations");
    orgs.sort_by(|a, b| a.slug.cmp(&b.slug));
    orgs
}

/// The organizations `who` belongs to with its role in each, by slug.
pub async fn orgs_of(store: &dyn Store, who: &Person) -> Vec<(Organization, Role)> {
    let mut orgs = store
        .organizations_of(who.id())
        .await
        .expect("list the account's organizations");
    orgs.sort_by(|a, b| a.0.slug.cmp(&b.0.slug));
    orgs
}

/// The members of `org` as (username, role), by username.
pub async fn members_of(store: &dyn Store, org: &Organization) -> Vec<(String, Role)> {
    let mut members: Vec<(String, Role)> = store
        .members(org.id)
        .await
        .expect("list members")
        .into_iter()
        .map(|member| (member.account.username.to_string(), member.role))
        .collect();
    members.sort();
    members
}
