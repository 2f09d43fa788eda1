//! latchkey's domain: ids, secrets, scopes, roles, rights and their rules. No I/O.

pub mod error;
pub mod id;
pub mod model;
pub mod names;
pub mod policy;
pub mod rights;
pub mod role;
pub mod scope;
pub mod secret;
pub mod time;

pub use error::{AuthFailure, CoreError, Issue};
pub use id::{AccountId, GroupId, OrgId, TokenId};
pub use model::{
    Account, AccountKind, Group, Member, Organization, Reach, Token, TokenStatus, TokenType,
    TokenView,
};
pub use names::{Email, Slug, TokenName};
pub use policy::{ListReach, Principal, Standing, TokenAction, TokenDraft, VerifyCode};
pub use rights::Rights;
pub use role::Role;
pub use scope::{Scope, ScopeCatalog, Scopes};
pub use secret::{Environment, Secret, SecretFormat, SecretHash, SecretPrefix};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
