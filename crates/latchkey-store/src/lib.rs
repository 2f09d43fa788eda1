//! The `Store` trait and its implementations. A store keeps records and enforces uniqueness;
//! every rule about who may do what lives in `latchkey-core`.

pub mod postgres;
mod query;
mod sql;
pub mod sqlite;
pub mod transfer;
mod trigrams;

use async_trait::async_trait;
use latchkey_core::{
    Account, AccountId, Group, GroupId, Member, OrgId, Organization, Role, SecretHash, Slug,
    Timestamp, Token, TokenId, TokenName, TokenView,
};
use tokio::sync::mpsc;

pub use postgres::PostgresStore;
pub use query::{Cursor, CursorKey, PageRequest, SortField, TokenPage, TokenQuery, TokenSort};
pub use sqlite::SqliteStore;
pub use transfer::{Batch, Counts, Export, Table};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule would break: a live token name, a username, a slug, a group name.
    #[error("{0}")]
    Conflict(String),
    /// The record to change is not there (or no longer in a state that allows the change).
    #[error("{0}")]
    NotFound(String),
    /// The database failed; the message is for the operator's log, not for clients.
    #[error("database error: {0}")]
    Backend(String),
}

// Why a token cannot be stored: the same words from every store.
const NO_ORG: &str = "the token's organization does not exist";
const NO_OWNER: &str = "the token's owner does not exist";
const NOT_A_MEMBER: &str = "the token's owner is not a member of its organization";
const NO_GROUP: &str = "the token's group does not exist";

/// What a change that invalidates tokens hands back: the hashes every verification cache must
/// drop.
pub type Evicted = Vec<SecretHash>;

/// What a node's verification cache must do because some node changed the store, or because
/// the node may no longer hear of such changes: the cross-node counterpart of [`Evicted`] (see
/// [`Store::invalidations`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalidation {
    /// These secrets' tokens were revoked or rotated.
    Evict(Vec<SecretHash>),
    /// Drop everything: rights changed (a role), or too many tokens changed for one message.
    ClearAll,
    /// An account, an organization or a membership changed (a deletion, a rename, a member
    /// come or gone): drop every account, organization and role kept, not the tokens.
    Directory,
    /// The listener lost its connection: changes may go unheard from now on. Until
    /// [`Invalidation::Listening`], the cache must not be trusted: no answers from it, nothing
    /// put in it.
    Lost,
    /// The listener listens again after [`Invalidation::Lost`]. What was missed in between is
    /// unknown: drop everything, then trust the cache again.
    Listening,
}

/// How an organization is named in a lookup.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OrgKey {
    Id(OrgId),
    Slug(Slug),
}

/// One store under every dialect. Writes are durable when they return `Ok`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The operator's root account, once created.
    async fn root_account(&self) -> Result<Option<Account>>;

    /// Creates an account with its personal organization, of which it is the owner, and, with
    /// `joins`, as a member of that organization in that role: all or nothing. A missing or
    /// deleted organization to join is `NotFound`.
    async fn create_account(
        &self,
        account: &Account,
        joins: Option<(OrgId, Role)>,
    ) -> Result<Organization>;
    async fn account(&self, id: AccountId) -> Result<Option<Account>>;
    async fn account_by_username(&self, username: &Slug) -> Result<Option<Account>>;
    async fn accounts(&self) -> Result<Vec<Account>>;
    /// Removes an account, its memberships and its personal organization, and revokes every
    /// token it owns. Token records stay, revoked.
    async fn delete_account(&self, id: AccountId, now: Timestamp) -> Result<Evicted>;

    /// Creates an organization with `owner` as its first owner.
    async fn create_organization(&self, org: &Organization, owner: AccountId) -> Result<()>;
    async fn organization_by_slug(&self, slug: &Slug) -> Result<Option<Organization>>;
    /// An organization and `account`'s role in it (`None` for a non-member): the two reads
    /// every request about an organization starts with, as one.
    async fn organization_and_role(
        &self,
        org: OrgKey,
        account: AccountId,
    ) -> Result<Option<(Organization, Option<Role>)>>;
    /// The organizations `account` belongs to, with its role in each.
    async fn organizations_of(&self, account: AccountId) -> Result<Vec<(Organization, Role)>>;
    async fn organizations(&self) -> Result<Vec<Organization>>;
    async fn rename_organization(&self, id: OrgId, name: &str) -> Result<()>;
    /// Removes an organization and revokes every token minted in it.
    async fn delete_organization(&self, id: OrgId, now: Timestamp) -> Result<Evicted>;

    async fn membership(&self, org: OrgId, account: AccountId) -> Result<Option<Role>>;
    async fn members(&self, org: OrgId) -> Result<Vec<Member>>;
    async fn add_member(
        &self,
        org: OrgId,
        account: AccountId,
        role: Role,
        now: Timestamp,
    ) -> Result<()>;
    /// Changes a role; refuses to leave the organization without an owner.
    async fn set_role(&self, org: OrgId, account: AccountId, role: Role) -> Result<()>;
    /// Removes a member and revokes its tokens of that organization; refuses to remove the
    /// last owner.
    async fn remove_member(
        &self,
        org: OrgId,
        account: AccountId,
        now: Timestamp,
    ) -> Result<Evicted>;

    async fn create_group(&self, group: &Group) -> Result<()>;
    async fn group(&self, id: GroupId) -> Result<Option<Group>>;
    async fn group_by_name(&self, org: OrgId, name: &Slug) -> Result<Option<Group>>;
    async fn groups(&self, org: OrgId) -> Result<Vec<Group>>;
    /// Removes a group and revokes the tokens pinned to it.
    async fn delete_group(&self, id: GroupId, now: Timestamp) -> Result<Evicted>;

    /// Stores a new token; a live token of the same owner with the same name is a conflict.
    /// The token's organization, its group and its owner must exist and the owner must be a
    /// member of the organization (root needs no membership), else `NotFound`: checked in the
    /// same transaction, so that a mint racing a member's removal, a group's or an account's
    /// deletion never leaves a live token behind it.
    async fn insert_token(&self, token: &Token, hash: SecretHash) -> Result<()>;
    /// Stores many new tokens in one transaction, each checked as [`Store::insert_token`]
    /// checks it: all of them, or (on the first refusal) none. For bulk loads: a large
    /// transaction writes each index page it changes once, not once per token.
    async fn insert_tokens(&self, tokens: Vec<(Token, SecretHash)>) -> Result<()>;
    async fn token(&self, id: TokenId) -> Result<Option<TokenView>>;
    /// The owner's live (not revoked) token of that name.
    async fn live_token_by_name(
        &self,
        owner: AccountId,
        name: &TokenName,
    ) -> Result<Option<TokenView>>;
    /// The token a secret hashes to: verification's read.
    async fn credential(&self, hash: SecretHash) -> Result<Option<TokenView>>;
    async fn list_tokens(&self, query: &TokenQuery) -> Result<TokenPage>;
    /// Revokes a token; revoking a revoked token changes nothing. Returns the token as it now
    /// is and the hash to evict.
    async fn revoke_token(&self, id: TokenId, now: Timestamp) -> Result<(TokenView, SecretHash)>;
    /// Replaces a live token's secret; returns the token and the old hash to evict.
    async fn rotate_token(
        &self,
        id: TokenId,
        hash: SecretHash,
        hint: &str,
    ) -> Result<(TokenView, SecretHash)>;
    /// Records last-use stamps in one batch; a stamp never moves `last_used_at` backwards.
    async fn record_usage(&self, stamps: &[(TokenId, Timestamp)]) -> Result<()>;
    /// Folds the counts of live tokens that expire on each day, for the days before yesterday
    /// by `now`, into one count an organization. A status page's total sums the counts of
    /// every day before today; folded, it sums a few rows however long the store has served.
    /// Every total listed at `now` or after is unchanged; one judged at a time before
    /// yesterday counts the folded tokens as expired, on every node and for good: a node
    /// whose clock runs days ahead folds days the others still count as to come. Safe beside
    /// any write, on every node.
    async fn fold_counters(&self, now: Timestamp) -> Result<()>;

    /// Subscribes to the invalidations of every node sharing this store (this one's
    /// included), from the moment this returns: `None` for a store only one node uses
    /// (SQLite), whose own evictions are all there is.
    async fn invalidations(&self) -> Result<Option<mpsc::Receiver<Invalidation>>> {
        Ok(None)
    }

    /// Every row of every table, deleted records included, as batches of at most
    /// [`transfer::BATCH_ROWS`] rows, table by table in [`Table::ALL`] order, all read from one
    /// snapshot. An error is the last item; dropping the receiver stops the export.
    fn export(&self) -> Export;
    /// Writes a batch that [`Store::export`] gave, as it is, in one transaction: meant for an
    /// empty store, whose rows it must not collide with.
    async fn import(&self, batch: Batch) -> Result<()>;
    /// Readies the store for service after the last [`Store::import`], rather than leaving it
    /// to the database's own maintenance. Nothing by default: SQLite takes its statistics
    /// whenever a node opens it.
    async fn finish_import(&self) -> Result<()> {
        Ok(())
    }
    /// How many rows each table holds, deleted records included, read in one snapshot.
    async fn counts(&self) -> Result<Counts>;
}
