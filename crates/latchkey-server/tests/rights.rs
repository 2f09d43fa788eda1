//! Who may call what: one table, one row per (route, caller, caller's token, target), each run
//! on a fresh world over HTTP.
//!
//! The world: organization `acme` with `olga` (owner), `adam` (admin), `mia` (member), `vic`
//! (viewer), `tess` (another member) and `svc` (a service account, member); organization
//! `other` owned by `otto` (the outsider: no member of acme); `nina`, in no organization but
//! her own; and root. Both organizations have a group `g1`.
//!
//! The caller's token (minted by root, in the caller's home organization: acme, or `other` for
//! the outsider; root's home is acme):
//! - `Wide`: account-wide, unscoped (root's: its bootstrap token);
//! - `Full`: organization-scoped, `["*"]`;
//! - `Read`: organization-scoped, `["tokens:read"]`;
//! - `Write`: organization-scoped, `["tokens:write"]`;
//! - `Scaling`: organization-scoped, `["*"]`, token type `read_scaling`;
//! - `Group`: pinned to group `g1`, `["tokens:read", "tokens:write", "tokens:revoke",
//!   "tokens:rotate"]`.
//!
//! The target fills the path's `{id}` (and Turso's `{tokenId}` and `{tokenName}`, MotherDuck's
//! `{token_id}`), `{username}` and `{organization}`:
//! - `Own`: the caller's own token in its home organization, the caller's username;
//! - `Peer`: a token of `tess` (another member of acme), `tess`;
//! - `Boss`: a token of `olga` (acme's owner), `olga`;
//! - `Service`: a token of `svc`, `svc`;
//! - `Grouped`: a token of `tess` pinned to acme's `g1`, `tess`;
//! - `Foreign`: a token of `otto` in `other`, `otto`, and `{organization}` is `other`;
//! - `Stranger`: a token of `nina` in her personal organization, `nina`;
//! - `Nothing`: no token; `tess`; `acme`.

mod common;

use std::collections::HashMap;

use common::{TestServer, assert_no_failures, operations};
use latchkey_core::TokenId;
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Owner,
    Admin,
    Member,
    Viewer,
    Outsider,
    Root,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Wide,
    Full,
    Read,
    Write,
    Scaling,
    Group,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Own,
    Peer,
    Boss,
    Service,
    Grouped,
    Foreign,
    Stranger,
    Nothing,
}

use Caller::*;
use Kind::*;
use Target::*;

/// Request bodies; `{…}` placeholders are filled like the path's.
#[rustfmt::skip]
mod body {
    pub const NONE: &str = "";
    pub const MINT: &str = r#"{"name": "new", "scopes": ["tokens:read"], "organization": "{organization}"}"#;
    pub const MINT_GROUP: &str = r#"{"name": "new", "scopes": ["tokens:read"], "organization": "{organization}", "group": "g1"}"#;
    pub const MINT_FOR: &str = r#"{"name": "new", "scopes": ["tokens:read"], "organization": "{organization}", "owner": "{username}"}"#;
    pub const MINT_WIDE: &str = r#"{"name": "new", "scopes": ["tokens:read"], "account_wide": true}"#;
    pub const VERIFY: &str = r#"{"token": "{secret}"}"#;
    pub const ACCOUNT: &str = r#"{"username": "newbie"}"#;
    pub const ORG: &str = r#"{"slug": "fresh"}"#;
    pub const RENAME: &str = r#"{"name": "Renamed"}"#;
    pub const ADD: &str = r#"{"username": "{username}"}"#;
    pub const DEMOTE: &str = r#"{"role": "viewer"}"#;
    pub const GROUP: &str = r#"{"name": "g9"}"#;
    pub const TURSO_ORG: &str = r#"{"organization": "{organization}"}"#;
    pub const TURSO_GROUP: &str = r#"{"organization": "{organization}", "group": "g1", "scopes": ["read"]}"#;
    pub const MD_MINT: &str = r#"{"name": "new"}"#;
    pub const SERVICE: &str = r#"{"username": "newbie"}"#;
    pub const SERVICE_IN: &str = r#"{"username": "newbie", "organization": "{organization}"}"#;
}

use body::*;

/// (method, path, body, caller, caller's token, target) → the status expected.
#[rustfmt::skip]
type Row = (&'static str, &'static str, &'static str, Caller, Kind, Target, u16);

#[rustfmt::skip]
const TABLE: &[Row] = &[
    // method   path                                                   body        caller    token    target    status
    // --- listing: admins and owners see every token, the others their own (tokens.rs checks which)
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Admin,    Full,    Nothing,  200),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Member,   Full,    Nothing,  200),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Viewer,   Full,    Nothing,  200),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Viewer,   Wide,    Nothing,  200),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Outsider, Full,    Nothing,  404),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Outsider, Wide,    Nothing,  404),
    ("GET",    "/v1/tokens",                                          NONE,       Outsider, Full,    Nothing,  200),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Root,     Wide,    Nothing,  200),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Root,     Full,    Nothing,  200),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Admin,    Read,    Nothing,  200),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Admin,    Write,   Nothing,  403),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Admin,    Scaling, Nothing,  200),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Admin,    Group,   Nothing,  200),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Member,   Group,   Nothing,  200),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Admin,    Full,    Foreign,  404),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Admin,    Wide,    Foreign,  404),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Root,     Full,    Foreign,  404),
    ("GET",    "/v1/tokens?organization={organization}",              NONE,       Root,     Wide,    Foreign,  200),
    // --- minting: members and up; never more than the minting token holds
    ("POST",   "/v1/tokens",                                          MINT,       Owner,    Full,    Nothing,  201),
    ("POST",   "/v1/tokens",                                          MINT,       Admin,    Full,    Nothing,  201),
    ("POST",   "/v1/tokens",                                          MINT,       Member,   Full,    Nothing,  201),
    ("POST",   "/v1/tokens",                                          MINT,       Member,   Wide,    Nothing,  201),
    ("POST",   "/v1/tokens",                                          MINT,       Viewer,   Full,    Nothing,  403),
    ("POST",   "/v1/tokens",                                          MINT,       Viewer,   Wide,    Nothing,  403),
    ("POST",   "/v1/tokens",                                          MINT,       Outsider, Full,    Nothing,  404),
    ("POST",   "/v1/tokens",                                          MINT,       Outsider, Wide,    Nothing,  404),
    ("POST",   "/v1/tokens",                                          MINT,       Root,     Wide,    Nothing,  201),
    ("POST",   "/v1/tokens",                                          MINT,       Root,     Full,    Nothing,  201),
    ("POST",   "/v1/tokens",                                          MINT,       Admin,    Read,    Nothing,  403),
    ("POST",   "/v1/tokens",                                          MINT,       Admin,    Write,   Nothing,  403),
    ("POST",   "/v1/tokens",                                          MINT,       Admin,    Scaling, Nothing,  403),
    ("POST",   "/v1/tokens",                                          MINT,       Admin,    Group,   Nothing,  403),
    ("POST",   "/v1/tokens",                                          MINT,       Admin,    Full,    Foreign,  404),
    ("POST",   "/v1/tokens",                                          MINT,       Root,     Wide,    Foreign,  201),
    ("POST",   "/v1/tokens",                                          MINT_GROUP, Owner,    Full,    Nothing,  201),
    ("POST",   "/v1/tokens",                                          MINT_GROUP, Admin,    Full,    Nothing,  201),
    ("POST",   "/v1/tokens",                                          MINT_GROUP, Admin,    Group,   Nothing,  201),
    ("POST",   "/v1/tokens",                                          MINT_GROUP, Member,   Full,    Nothing,  403),
    ("POST",   "/v1/tokens",                                          MINT_GROUP, Member,   Group,   Nothing,  403),
    ("POST",   "/v1/tokens",                                          MINT_GROUP, Viewer,   Full,    Nothing,  403),
    ("POST",   "/v1/tokens",                                          MINT_GROUP, Outsider, Group,   Nothing,  404),
    ("POST",   "/v1/tokens",                                          MINT_GROUP, Root,     Wide,    Nothing,  201),
    ("POST",   "/v1/tokens",                                          MINT_FOR,   Admin,    Full,    Service,  201),
    ("POST",   "/v1/tokens",                                          MINT_FOR,   Owner,    Full,    Service,  201),
    ("POST",   "/v1/tokens",                                          MINT_FOR,   Member,   Full,    Service,  403),
    ("POST",   "/v1/tokens",                                          MINT_FOR,   Admin,    Full,    Peer,     403),
    ("POST",   "/v1/tokens",                                          MINT_FOR,   Admin,    Full,    Boss,     403),
    ("POST",   "/v1/tokens",                                          MINT_FOR,   Admin,    Full,    Stranger, 404),
    ("POST",   "/v1/tokens",                                          MINT_FOR,   Root,     Wide,    Peer,     201),
    ("POST",   "/v1/tokens",                                          MINT_FOR,   Root,     Wide,    Stranger, 404),
    ("POST",   "/v1/tokens",                                          MINT_WIDE,  Member,   Wide,    Nothing,  201),
    ("POST",   "/v1/tokens",                                          MINT_WIDE,  Root,     Wide,    Nothing,  201),
    ("POST",   "/v1/tokens",                                          MINT_WIDE,  Member,   Full,    Nothing,  403),
    ("POST",   "/v1/tokens",                                          MINT_WIDE,  Admin,    Group,   Nothing,  403),
    // --- the bearer itself: any live token
    ("GET",    "/v1/tokens/self",                                     NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/v1/tokens/self",                                     NONE,       Admin,    Write,   Nothing,  200),
    ("GET",    "/v1/tokens/self",                                     NONE,       Member,   Scaling, Nothing,  200),
    ("GET",    "/v1/tokens/self",                                     NONE,       Viewer,   Read,    Nothing,  200),
    ("GET",    "/v1/tokens/self",                                     NONE,       Outsider, Full,    Nothing,  200),
    ("GET",    "/v1/tokens/self",                                     NONE,       Admin,    Group,   Nothing,  200),
    ("GET",    "/v1/tokens/self",                                     NONE,       Root,     Wide,    Nothing,  200),
    // --- liveness: anyone, with any bearer or none
    ("GET",    "/health",                                             NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/health",                                             NONE,       Outsider, Read,    Nothing,  200),
    // --- verification: whoever holds a secret may learn what it is
    ("POST",   "/v1/tokens/verify",                                   VERIFY,     Owner,    Full,    Own,      200),
    ("POST",   "/v1/tokens/verify",                                   VERIFY,     Outsider, Full,    Peer,     200),
    ("POST",   "/v1/tokens/verify",                                   VERIFY,     Viewer,   Read,    Foreign,  200),
    ("POST",   "/v1/tokens/verify",                                   VERIFY,     Root,     Wide,    Grouped,  200),
    // --- one token: own for everyone who may read tokens, others' for admins and owners
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Owner,    Full,    Own,      200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Admin,    Full,    Own,      200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Member,   Full,    Own,      200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Viewer,   Full,    Own,      200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Viewer,   Wide,    Own,      200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Outsider, Full,    Own,      200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Root,     Wide,    Own,      200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Member,   Read,    Own,      200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Member,   Write,   Own,      403),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Member,   Scaling, Own,      200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Member,   Group,   Own,      404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Owner,    Full,    Peer,     200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Admin,    Full,    Peer,     200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Member,   Full,    Peer,     404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Viewer,   Full,    Peer,     404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Outsider, Full,    Peer,     404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Outsider, Wide,    Peer,     404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Root,     Wide,    Peer,     200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Root,     Full,    Peer,     200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Admin,    Read,    Peer,     200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Admin,    Write,   Peer,     403),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Admin,    Scaling, Peer,     200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Admin,    Group,   Peer,     404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Admin,    Full,    Boss,     200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Admin,    Full,    Grouped,  200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Admin,    Group,   Grouped,  200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Member,   Full,    Grouped,  404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Member,   Group,   Grouped,  404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Owner,    Full,    Foreign,  404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Admin,    Full,    Foreign,  404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Admin,    Wide,    Foreign,  404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Member,   Full,    Foreign,  404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Root,     Full,    Foreign,  404),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Root,     Wide,    Foreign,  200),
    ("GET",    "/v1/tokens/{id}",                                     NONE,       Admin,    Full,    Stranger, 404),
    // --- revoking: own for members and up, others' for admins and owners
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Owner,    Full,    Own,      204),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Admin,    Full,    Own,      204),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Member,   Full,    Own,      204),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Member,   Wide,    Own,      204),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Viewer,   Full,    Own,      403),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Outsider, Full,    Own,      204),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Root,     Wide,    Own,      204),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Member,   Read,    Own,      403),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Member,   Write,   Own,      403),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Member,   Scaling, Own,      403),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Member,   Group,   Own,      404),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Owner,    Full,    Peer,     204),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Admin,    Full,    Peer,     204),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Member,   Full,    Peer,     404),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Viewer,   Full,    Peer,     404),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Outsider, Full,    Peer,     404),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Root,     Wide,    Peer,     204),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Admin,    Read,    Peer,     403),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Admin,    Scaling, Peer,     403),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Admin,    Group,   Peer,     404),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Admin,    Full,    Boss,     204),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Admin,    Group,   Grouped,  204),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Member,   Group,   Grouped,  404),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Owner,    Full,    Foreign,  404),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Admin,    Full,    Foreign,  404),
    ("DELETE", "/v1/tokens/{id}",                                     NONE,       Root,     Wide,    Foreign,  204),
    // --- rotating: the owner only (and root); an admin would become the member
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Owner,    Full,    Own,      200),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Admin,    Full,    Own,      200),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Member,   Full,    Own,      200),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Member,   Wide,    Own,      200),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Viewer,   Full,    Own,      403),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Outsider, Full,    Own,      200),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Root,     Wide,    Own,      200),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Member,   Read,    Own,      403),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Member,   Write,   Own,      403),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Member,   Scaling, Own,      403),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Member,   Group,   Own,      404),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Owner,    Full,    Peer,     403),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Admin,    Full,    Peer,     403),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Member,   Full,    Peer,     404),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Viewer,   Full,    Peer,     404),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Outsider, Full,    Peer,     404),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Root,     Wide,    Peer,     200),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Admin,    Group,   Grouped,  403),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Admin,    Full,    Foreign,  404),
    ("POST",   "/v1/tokens/{id}/rotate",                              NONE,       Root,     Wide,    Foreign,  200),
    // --- the scope catalog: any live token
    ("GET",    "/v1/scopes",                                          NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/v1/scopes",                                          NONE,       Viewer,   Read,    Nothing,  200),
    ("GET",    "/v1/scopes",                                          NONE,       Member,   Scaling, Nothing,  200),
    ("GET",    "/v1/scopes",                                          NONE,       Outsider, Full,    Nothing,  200),
    ("GET",    "/v1/scopes",                                          NONE,       Admin,    Group,   Nothing,  200),
    ("GET",    "/v1/scopes",                                          NONE,       Root,     Wide,    Nothing,  200),
    // --- accounts: root's own account-wide unscoped token manages them; anyone reads itself
    ("GET",    "/v1/accounts",                                        NONE,       Root,     Wide,    Nothing,  200),
    ("GET",    "/v1/accounts",                                        NONE,       Root,     Full,    Nothing,  403),
    ("GET",    "/v1/accounts",                                        NONE,       Root,     Read,    Nothing,  403),
    ("GET",    "/v1/accounts",                                        NONE,       Owner,    Wide,    Nothing,  403),
    ("GET",    "/v1/accounts",                                        NONE,       Admin,    Full,    Nothing,  403),
    ("GET",    "/v1/accounts",                                        NONE,       Member,   Full,    Nothing,  403),
    ("GET",    "/v1/accounts",                                        NONE,       Viewer,   Full,    Nothing,  403),
    ("GET",    "/v1/accounts",                                        NONE,       Outsider, Wide,    Nothing,  403),
    ("POST",   "/v1/accounts",                                        ACCOUNT,    Root,     Wide,    Nothing,  201),
    ("POST",   "/v1/accounts",                                        ACCOUNT,    Root,     Full,    Nothing,  403),
    ("POST",   "/v1/accounts",                                        ACCOUNT,    Root,     Scaling, Nothing,  403),
    ("POST",   "/v1/accounts",                                        ACCOUNT,    Owner,    Wide,    Nothing,  403),
    ("POST",   "/v1/accounts",                                        ACCOUNT,    Admin,    Full,    Nothing,  403),
    ("POST",   "/v1/accounts",                                        ACCOUNT,    Member,   Full,    Nothing,  403),
    ("POST",   "/v1/accounts",                                        ACCOUNT,    Viewer,   Full,    Nothing,  403),
    ("POST",   "/v1/accounts",                                        ACCOUNT,    Outsider, Wide,    Nothing,  403),
    ("GET",    "/v1/accounts/{username}",                             NONE,       Owner,    Full,    Own,      200),
    ("GET",    "/v1/accounts/{username}",                             NONE,       Member,   Full,    Own,      200),
    ("GET",    "/v1/accounts/{username}",                             NONE,       Viewer,   Read,    Own,      200),
    ("GET",    "/v1/accounts/{username}",                             NONE,       Outsider, Full,    Own,      200),
    ("GET",    "/v1/accounts/{username}",                             NONE,       Root,     Wide,    Own,      200),
    ("GET",    "/v1/accounts/{username}",                             NONE,       Owner,    Wide,    Peer,     404),
    ("GET",    "/v1/accounts/{username}",                             NONE,       Admin,    Full,    Peer,     404),
    ("GET",    "/v1/accounts/{username}",                             NONE,       Member,   Full,    Peer,     404),
    ("GET",    "/v1/accounts/{username}",                             NONE,       Outsider, Full,    Peer,     404),
    ("GET",    "/v1/accounts/{username}",                             NONE,       Root,     Wide,    Peer,     200),
    ("GET",    "/v1/accounts/{username}",                             NONE,       Root,     Full,    Peer,     404),
    ("DELETE", "/v1/accounts/{username}",                             NONE,       Root,     Wide,    Peer,     204),
    ("DELETE", "/v1/accounts/{username}",                             NONE,       Root,     Full,    Peer,     403),
    ("DELETE", "/v1/accounts/{username}",                             NONE,       Root,     Wide,    Own,      403),
    ("DELETE", "/v1/accounts/{username}",                             NONE,       Root,     Wide,    Boss,     409),
    ("DELETE", "/v1/accounts/{username}",                             NONE,       Owner,    Wide,    Peer,     403),
    ("DELETE", "/v1/accounts/{username}",                             NONE,       Admin,    Full,    Peer,     403),
    ("DELETE", "/v1/accounts/{username}",                             NONE,       Member,   Wide,    Own,      403),
    ("DELETE", "/v1/accounts/{username}",                             NONE,       Viewer,   Full,    Peer,     403),
    ("DELETE", "/v1/accounts/{username}",                             NONE,       Outsider, Wide,    Peer,     403),
    // --- organizations: creating one is an act of the account; owners manage theirs
    ("GET",    "/v1/organizations",                                   NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/v1/organizations",                                   NONE,       Admin,    Read,    Nothing,  200),
    ("GET",    "/v1/organizations",                                   NONE,       Member,   Full,    Nothing,  200),
    ("GET",    "/v1/organizations",                                   NONE,       Viewer,   Full,    Nothing,  200),
    ("GET",    "/v1/organizations",                                   NONE,       Outsider, Full,    Nothing,  200),
    ("GET",    "/v1/organizations",                                   NONE,       Admin,    Group,   Nothing,  200),
    ("GET",    "/v1/organizations",                                   NONE,       Root,     Wide,    Nothing,  200),
    ("POST",   "/v1/organizations",                                   ORG,        Owner,    Wide,    Nothing,  201),
    ("POST",   "/v1/organizations",                                   ORG,        Member,   Wide,    Nothing,  201),
    ("POST",   "/v1/organizations",                                   ORG,        Viewer,   Wide,    Nothing,  201),
    ("POST",   "/v1/organizations",                                   ORG,        Outsider, Wide,    Nothing,  201),
    ("POST",   "/v1/organizations",                                   ORG,        Root,     Wide,    Nothing,  201),
    ("POST",   "/v1/organizations",                                   ORG,        Owner,    Full,    Nothing,  403),
    ("POST",   "/v1/organizations",                                   ORG,        Admin,    Read,    Nothing,  403),
    ("POST",   "/v1/organizations",                                   ORG,        Admin,    Scaling, Nothing,  403),
    ("POST",   "/v1/organizations",                                   ORG,        Admin,    Group,   Nothing,  403),
    ("GET",    "/v1/organizations/{organization}",                    NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}",                    NONE,       Admin,    Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}",                    NONE,       Member,   Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}",                    NONE,       Viewer,   Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}",                    NONE,       Outsider, Full,    Nothing,  404),
    ("GET",    "/v1/organizations/{organization}",                    NONE,       Outsider, Wide,    Nothing,  404),
    ("GET",    "/v1/organizations/{organization}",                    NONE,       Root,     Wide,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}",                    NONE,       Admin,    Read,    Nothing,  403),
    ("GET",    "/v1/organizations/{organization}",                    NONE,       Admin,    Scaling, Nothing,  200),
    ("GET",    "/v1/organizations/{organization}",                    NONE,       Admin,    Group,   Nothing,  403),
    ("GET",    "/v1/organizations/{organization}",                    NONE,       Admin,    Full,    Foreign,  404),
    ("GET",    "/v1/organizations/{organization}",                    NONE,       Root,     Wide,    Foreign,  200),
    ("PATCH",  "/v1/organizations/{organization}",                    RENAME,     Owner,    Full,    Nothing,  200),
    ("PATCH",  "/v1/organizations/{organization}",                    RENAME,     Owner,    Wide,    Nothing,  200),
    ("PATCH",  "/v1/organizations/{organization}",                    RENAME,     Admin,    Full,    Nothing,  403),
    ("PATCH",  "/v1/organizations/{organization}",                    RENAME,     Member,   Full,    Nothing,  403),
    ("PATCH",  "/v1/organizations/{organization}",                    RENAME,     Viewer,   Full,    Nothing,  403),
    ("PATCH",  "/v1/organizations/{organization}",                    RENAME,     Outsider, Full,    Nothing,  404),
    ("PATCH",  "/v1/organizations/{organization}",                    RENAME,     Root,     Wide,    Nothing,  200),
    ("PATCH",  "/v1/organizations/{organization}",                    RENAME,     Owner,    Read,    Nothing,  403),
    ("PATCH",  "/v1/organizations/{organization}",                    RENAME,     Owner,    Scaling, Nothing,  403),
    ("PATCH",  "/v1/organizations/{organization}",                    RENAME,     Owner,    Full,    Foreign,  404),
    ("DELETE", "/v1/organizations/{organization}",                    NONE,       Owner,    Full,    Nothing,  200),
    ("DELETE", "/v1/organizations/{organization}",                    NONE,       Owner,    Wide,    Nothing,  200),
    ("DELETE", "/v1/organizations/{organization}",                    NONE,       Admin,    Full,    Nothing,  403),
    ("DELETE", "/v1/organizations/{organization}",                    NONE,       Member,   Full,    Nothing,  403),
    ("DELETE", "/v1/organizations/{organization}",                    NONE,       Viewer,   Full,    Nothing,  403),
    ("DELETE", "/v1/organizations/{organization}",                    NONE,       Outsider, Full,    Nothing,  404),
    ("DELETE", "/v1/organizations/{organization}",                    NONE,       Root,     Wide,    Nothing,  200),
    ("DELETE", "/v1/organizations/{organization}",                    NONE,       Owner,    Scaling, Nothing,  403),
    ("DELETE", "/v1/organizations/{organization}",                    NONE,       Owner,    Group,   Nothing,  403),
    ("DELETE", "/v1/organizations/{organization}",                    NONE,       Owner,    Full,    Foreign,  404),
    ("DELETE", "/v1/organizations/{organization}",                    NONE,       Root,     Wide,    Foreign,  200),
    // --- members: everyone reads; admins manage all below owner; owners also owners; anyone leaves
    ("GET",    "/v1/organizations/{organization}/members",            NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/members",            NONE,       Admin,    Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/members",            NONE,       Member,   Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/members",            NONE,       Viewer,   Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/members",            NONE,       Viewer,   Scaling, Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/members",            NONE,       Outsider, Full,    Nothing,  404),
    ("GET",    "/v1/organizations/{organization}/members",            NONE,       Root,     Wide,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/members",            NONE,       Admin,    Read,    Nothing,  403),
    ("GET",    "/v1/organizations/{organization}/members",            NONE,       Admin,    Group,   Nothing,  403),
    ("GET",    "/v1/organizations/{organization}/members",            NONE,       Admin,    Full,    Foreign,  404),
    ("POST",   "/v1/organizations/{organization}/members",            ADD,        Owner,    Full,    Stranger, 200),
    ("POST",   "/v1/organizations/{organization}/members",            ADD,        Admin,    Full,    Stranger, 200),
    ("POST",   "/v1/organizations/{organization}/members",            ADD,        Member,   Full,    Stranger, 403),
    ("POST",   "/v1/organizations/{organization}/members",            ADD,        Viewer,   Full,    Stranger, 403),
    ("POST",   "/v1/organizations/{organization}/members",            ADD,        Outsider, Full,    Stranger, 404),
    ("POST",   "/v1/organizations/{organization}/members",            ADD,        Root,     Wide,    Stranger, 200),
    ("POST",   "/v1/organizations/{organization}/members",            ADD,        Admin,    Read,    Stranger, 403),
    ("POST",   "/v1/organizations/{organization}/members",            ADD,        Admin,    Scaling, Stranger, 403),
    ("POST",   "/v1/organizations/{organization}/members",            ADD,        Admin,    Full,    Foreign,  404),
    ("POST",   "/v1/organizations/{organization}/members/{username}", NONE,       Owner,    Full,    Stranger, 200),
    ("POST",   "/v1/organizations/{organization}/members/{username}", NONE,       Admin,    Full,    Stranger, 200),
    ("POST",   "/v1/organizations/{organization}/members/{username}", NONE,       Member,   Full,    Stranger, 403),
    ("POST",   "/v1/organizations/{organization}/members/{username}", NONE,       Viewer,   Full,    Stranger, 403),
    ("POST",   "/v1/organizations/{organization}/members/{username}", NONE,       Outsider, Full,    Stranger, 404),
    ("POST",   "/v1/organizations/{organization}/members/{username}", NONE,       Root,     Wide,    Stranger, 200),
    ("PATCH",  "/v1/organizations/{organization}/members/{username}", DEMOTE,     Owner,    Full,    Peer,     200),
    ("PATCH",  "/v1/organizations/{organization}/members/{username}", DEMOTE,     Admin,    Full,    Peer,     200),
    ("PATCH",  "/v1/organizations/{organization}/members/{username}", DEMOTE,     Member,   Full,    Peer,     403),
    ("PATCH",  "/v1/organizations/{organization}/members/{username}", DEMOTE,     Viewer,   Full,    Peer,     403),
    ("PATCH",  "/v1/organizations/{organization}/members/{username}", DEMOTE,     Outsider, Full,    Peer,     404),
    ("PATCH",  "/v1/organizations/{organization}/members/{username}", DEMOTE,     Root,     Wide,    Peer,     200),
    ("PATCH",  "/v1/organizations/{organization}/members/{username}", DEMOTE,     Admin,    Scaling, Peer,     403),
    ("PATCH",  "/v1/organizations/{organization}/members/{username}", DEMOTE,     Admin,    Full,    Boss,     403),
    ("PATCH",  "/v1/organizations/{organization}/members/{username}", DEMOTE,     Admin,    Full,    Own,      200),
    ("PATCH",  "/v1/organizations/{organization}/members/{username}", DEMOTE,     Member,   Full,    Own,      403),
    ("PATCH",  "/v1/organizations/{organization}/members/{username}", DEMOTE,     Owner,    Full,    Own,      409),
    ("PATCH",  "/v1/organizations/{organization}/members/{username}", DEMOTE,     Admin,    Full,    Foreign,  404),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Owner,    Full,    Peer,     200),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Admin,    Full,    Peer,     200),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Member,   Full,    Peer,     403),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Viewer,   Full,    Peer,     403),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Outsider, Full,    Peer,     404),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Root,     Wide,    Peer,     200),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Admin,    Scaling, Peer,     403),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Admin,    Full,    Boss,     403),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Member,   Full,    Own,      200),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Viewer,   Full,    Own,      200),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Member,   Read,    Own,      403),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Member,   Scaling, Own,      403),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Member,   Group,   Own,      403),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Viewer,   Wide,    Own,      200),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Owner,    Full,    Own,      409),
    ("DELETE", "/v1/organizations/{organization}/members/{username}", NONE,       Admin,    Full,    Foreign,  404),
    // --- groups: everyone reads; admins and owners manage
    ("GET",    "/v1/organizations/{organization}/groups",             NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/groups",             NONE,       Admin,    Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/groups",             NONE,       Member,   Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/groups",             NONE,       Viewer,   Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/groups",             NONE,       Outsider, Full,    Nothing,  404),
    ("GET",    "/v1/organizations/{organization}/groups",             NONE,       Root,     Wide,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/groups",             NONE,       Admin,    Read,    Nothing,  403),
    ("GET",    "/v1/organizations/{organization}/groups",             NONE,       Admin,    Group,   Nothing,  403),
    ("GET",    "/v1/organizations/{organization}/groups",             NONE,       Admin,    Full,    Foreign,  404),
    ("POST",   "/v1/organizations/{organization}/groups",             GROUP,      Owner,    Full,    Nothing,  200),
    ("POST",   "/v1/organizations/{organization}/groups",             GROUP,      Admin,    Full,    Nothing,  200),
    ("POST",   "/v1/organizations/{organization}/groups",             GROUP,      Member,   Full,    Nothing,  403),
    ("POST",   "/v1/organizations/{organization}/groups",             GROUP,      Viewer,   Full,    Nothing,  403),
    ("POST",   "/v1/organizations/{organization}/groups",             GROUP,      Outsider, Full,    Nothing,  404),
    ("POST",   "/v1/organizations/{organization}/groups",             GROUP,      Root,     Wide,    Nothing,  200),
    ("POST",   "/v1/organizations/{organization}/groups",             GROUP,      Admin,    Scaling, Nothing,  403),
    ("POST",   "/v1/organizations/{organization}/groups",             GROUP,      Admin,    Group,   Nothing,  403),
    ("POST",   "/v1/organizations/{organization}/groups",             GROUP,      Admin,    Full,    Foreign,  404),
    ("GET",    "/v1/organizations/{organization}/groups/{group}",     NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/groups/{group}",     NONE,       Member,   Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/groups/{group}",     NONE,       Viewer,   Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/groups/{group}",     NONE,       Outsider, Full,    Nothing,  404),
    ("GET",    "/v1/organizations/{organization}/groups/{group}",     NONE,       Root,     Wide,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/groups/{group}",     NONE,       Viewer,   Read,    Nothing,  403),
    ("GET",    "/v1/organizations/{organization}/groups/{group}",     NONE,       Member,   Full,    Foreign,  404),
    ("DELETE", "/v1/organizations/{organization}/groups/{group}",     NONE,       Owner,    Full,    Nothing,  200),
    ("DELETE", "/v1/organizations/{organization}/groups/{group}",     NONE,       Admin,    Full,    Nothing,  200),
    ("DELETE", "/v1/organizations/{organization}/groups/{group}",     NONE,       Member,   Full,    Nothing,  403),
    ("DELETE", "/v1/organizations/{organization}/groups/{group}",     NONE,       Viewer,   Full,    Nothing,  403),
    ("DELETE", "/v1/organizations/{organization}/groups/{group}",     NONE,       Outsider, Full,    Nothing,  404),
    ("DELETE", "/v1/organizations/{organization}/groups/{group}",     NONE,       Root,     Wide,    Nothing,  200),
    ("DELETE", "/v1/organizations/{organization}/groups/{group}",     NONE,       Admin,    Scaling, Nothing,  403),
    ("DELETE", "/v1/organizations/{organization}/groups/{group}",     NONE,       Admin,    Group,   Nothing,  403),
    ("DELETE", "/v1/organizations/{organization}/groups/{group}",     NONE,       Admin,    Full,    Foreign,  404),
    ("DELETE", "/v1/organizations/{organization}/groups/{group}",     NONE,       Root,     Wide,    Foreign,  200),
    // --- Turso: the caller's own tokens, by name; an unrestricted mint only from an unrestricted token
    ("GET",    "/v1/auth/api-tokens",                                 NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/v1/auth/api-tokens",                                 NONE,       Member,   Wide,    Nothing,  200),
    ("GET",    "/v1/auth/api-tokens",                                 NONE,       Viewer,   Read,    Nothing,  200),
    ("GET",    "/v1/auth/api-tokens",                                 NONE,       Member,   Scaling, Nothing,  200),
    ("GET",    "/v1/auth/api-tokens",                                 NONE,       Admin,    Group,   Nothing,  200),
    ("GET",    "/v1/auth/api-tokens",                                 NONE,       Outsider, Full,    Nothing,  200),
    ("GET",    "/v1/auth/api-tokens",                                 NONE,       Root,     Wide,    Nothing,  200),
    ("GET",    "/v1/auth/api-tokens",                                 NONE,       Admin,    Write,   Nothing,  403),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     NONE,       Member,   Wide,    Nothing,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     NONE,       Outsider, Wide,    Nothing,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     NONE,       Root,     Wide,    Nothing,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     NONE,       Viewer,   Wide,    Nothing,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Viewer,   Wide,    Nothing,  403),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     NONE,       Member,   Full,    Nothing,  403),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     NONE,       Admin,    Group,   Nothing,  403),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     NONE,       Member,   Wide,    Own,      409),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Owner,    Full,    Nothing,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Admin,    Full,    Nothing,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Member,   Full,    Nothing,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Member,   Wide,    Nothing,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Viewer,   Full,    Nothing,  403),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Outsider, Full,    Nothing,  404),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Outsider, Wide,    Nothing,  404),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Root,     Wide,    Nothing,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Admin,    Read,    Nothing,  403),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Admin,    Write,   Nothing,  403),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Admin,    Scaling, Nothing,  403),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Admin,    Group,   Nothing,  403),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Admin,    Full,    Foreign,  404),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Root,     Wide,    Foreign,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Member,   Full,    Own,      409),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_GROUP, Owner,   Full,    Nothing,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_GROUP, Admin,   Full,    Nothing,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_GROUP, Admin,   Wide,    Nothing,  200),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_GROUP, Member,  Full,    Nothing,  403),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_GROUP, Viewer,  Full,    Nothing,  403),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_GROUP, Admin,   Group,   Nothing,  403),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_GROUP, Outsider, Full,   Nothing,  404),
    ("POST",   "/v1/auth/api-tokens/{tokenName}",                     TURSO_GROUP, Root,    Wide,    Nothing,  200),
    ("POST",   "/v2/auth/api-tokens/{tokenName}",                     NONE,       Member,   Wide,    Nothing,  200),
    ("POST",   "/v2/auth/api-tokens/{tokenName}",                     NONE,       Member,   Full,    Nothing,  403),
    ("POST",   "/v2/auth/api-tokens/{tokenName}",                     NONE,       Member,   Wide,    Own,      409),
    ("POST",   "/v2/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Member,   Full,    Nothing,  200),
    ("POST",   "/v2/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Viewer,   Full,    Nothing,  403),
    ("POST",   "/v2/auth/api-tokens/{tokenName}",                     TURSO_ORG,  Outsider, Full,    Nothing,  404),
    ("POST",   "/v2/auth/api-tokens/{tokenName}",                     TURSO_GROUP, Admin,   Full,    Nothing,  200),
    ("POST",   "/v2/auth/api-tokens/{tokenName}",                     TURSO_GROUP, Member,  Full,    Nothing,  403),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Owner,    Full,    Own,      200),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Member,   Full,    Own,      200),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Member,   Wide,    Own,      200),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Viewer,   Full,    Own,      403),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Outsider, Full,    Own,      200),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Root,     Wide,    Own,      200),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Member,   Read,    Own,      403),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Member,   Write,   Own,      403),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Member,   Scaling, Own,      403),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Member,   Group,   Own,      404),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Admin,    Full,    Peer,     404),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Root,     Wide,    Peer,     404),
    ("DELETE", "/v1/auth/api-tokens/{tokenName}",                     NONE,       Admin,    Full,    Nothing,  404),
    ("GET",    "/v1/auth/validate",                                   NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/v1/auth/validate",                                   NONE,       Viewer,   Read,    Nothing,  200),
    ("GET",    "/v1/auth/validate",                                   NONE,       Admin,    Write,   Nothing,  200),
    ("GET",    "/v1/auth/validate",                                   NONE,       Member,   Scaling, Nothing,  200),
    ("GET",    "/v1/auth/validate",                                   NONE,       Admin,    Group,   Nothing,  200),
    ("GET",    "/v1/auth/validate",                                   NONE,       Outsider, Wide,    Nothing,  200),
    ("GET",    "/v1/auth/validate",                                   NONE,       Root,     Wide,    Nothing,  200),
    ("GET",    "/v1/auth/api-tokens/validate",                        NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/v1/auth/api-tokens/validate",                        NONE,       Viewer,   Read,    Nothing,  200),
    ("GET",    "/v1/auth/api-tokens/validate",                        NONE,       Admin,    Write,   Nothing,  200),
    ("GET",    "/v1/auth/api-tokens/validate",                        NONE,       Member,   Scaling, Nothing,  200),
    ("GET",    "/v1/auth/api-tokens/validate",                        NONE,       Admin,    Group,   Nothing,  200),
    ("GET",    "/v1/auth/api-tokens/validate",                        NONE,       Outsider, Wide,    Nothing,  200),
    ("GET",    "/v1/auth/api-tokens/validate",                        NONE,       Root,     Wide,    Nothing,  200),
    // --- Turso: an organization's tokens; admins and owners all, the others their own; ids of elsewhere are 404
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Owner,    Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Admin,    Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Member,   Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Viewer,   Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Viewer,   Wide,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Outsider, Full,    Nothing,  404),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Outsider, Wide,    Nothing,  404),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Root,     Wide,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Root,     Full,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Admin,    Read,    Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Admin,    Write,   Nothing,  403),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Admin,    Scaling, Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Admin,    Group,   Nothing,  200),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Admin,    Full,    Foreign,  404),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Root,     Wide,    Foreign,  200),
    ("GET",    "/v1/organizations/{organization}/api-tokens",         NONE,       Root,     Full,    Foreign,  404),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Owner,    Full,    Own,      200),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Member,   Full,    Own,      200),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Member,   Wide,    Own,      200),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Viewer,   Full,    Own,      403),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Root,     Wide,    Own,      200),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Member,   Read,    Own,      403),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Member,   Scaling, Own,      403),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Member,   Group,   Own,      404),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Owner,    Full,    Peer,     200),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Admin,    Full,    Peer,     200),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Member,   Full,    Peer,     404),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Viewer,   Full,    Peer,     404),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Outsider, Full,    Peer,     404),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Root,     Wide,    Peer,     200),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Admin,    Read,    Peer,     403),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Admin,    Scaling, Peer,     403),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Admin,    Group,   Peer,     404),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Admin,    Full,    Boss,     200),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Admin,    Full,    Service,  200),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Admin,    Group,   Grouped,  200),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Member,   Group,   Grouped,  404),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Admin,    Full,    Foreign,  404),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Root,     Wide,    Foreign,  200),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Admin,    Full,    Stranger, 404),
    ("DELETE", "/v1/organizations/{organization}/api-tokens/{tokenId}", NONE,     Root,     Wide,    Stranger, 404),
    // --- MotherDuck: one's own tokens; admins (and owners) those of the organization's service
    // accounts; another person's only root's; a person sharing no organization is not found
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Owner,    Full,    Own,      200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Member,   Full,    Own,      200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Member,   Wide,    Own,      200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Viewer,   Read,    Own,      200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Outsider, Full,    Own,      200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Root,     Wide,    Own,      200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Member,   Write,   Own,      403),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Member,   Scaling, Own,      200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Member,   Group,   Own,      200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Admin,    Full,    Service,  200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Owner,    Full,    Service,  200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Admin,    Wide,    Service,  200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Member,   Full,    Service,  403),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Viewer,   Full,    Service,  403),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Admin,    Read,    Service,  403),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Admin,    Scaling, Service,  403),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Admin,    Group,   Service,  403),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Outsider, Full,    Service,  404),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Root,     Wide,    Service,  200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Admin,    Full,    Peer,     403),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Member,   Full,    Peer,     403),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Admin,    Full,    Boss,     403),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Root,     Wide,    Peer,     200),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Root,     Full,    Peer,     403),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Admin,    Full,    Foreign,  404),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Admin,    Full,    Stranger, 404),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Admin,    Wide,    Stranger, 404),
    ("GET",    "/v1/users/{username}/tokens",                         NONE,       Root,     Wide,    Stranger, 200),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Owner,    Full,    Own,      200),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Member,   Full,    Own,      200),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Member,   Wide,    Own,      200),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Viewer,   Full,    Own,      403),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Outsider, Full,    Own,      200),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Root,     Wide,    Own,      200),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Member,   Read,    Own,      403),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Member,   Scaling, Own,      403),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Member,   Group,   Own,      403),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Admin,    Full,    Service,  200),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Owner,    Full,    Service,  200),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Admin,    Wide,    Service,  200),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Member,   Full,    Service,  403),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Admin,    Read,    Service,  403),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Admin,    Scaling, Service,  403),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Outsider, Full,    Service,  404),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Root,     Wide,    Service,  200),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Admin,    Full,    Peer,     403),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Admin,    Full,    Boss,     403),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Owner,    Full,    Peer,     403),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Root,     Wide,    Peer,     200),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Admin,    Full,    Stranger, 404),
    ("POST",   "/v1/users/{username}/tokens",                         MD_MINT,    Root,     Wide,    Stranger, 200),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Owner,    Full,    Own,      200),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Member,   Full,    Own,      200),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Member,   Wide,    Own,      200),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Viewer,   Full,    Own,      403),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Outsider, Full,    Own,      200),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Root,     Wide,    Own,      200),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Member,   Read,    Own,      403),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Member,   Scaling, Own,      403),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Member,   Group,   Own,      404),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Admin,    Full,    Service,  200),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Owner,    Full,    Service,  200),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Member,   Full,    Service,  403),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Admin,    Read,    Service,  403),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Admin,    Scaling, Service,  403),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Outsider, Full,    Service,  404),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Root,     Wide,    Service,  200),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Admin,    Full,    Peer,     403),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Admin,    Full,    Grouped,  403),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Root,     Wide,    Peer,     200),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Admin,    Full,    Foreign,  404),
    ("DELETE", "/v1/users/{username}/tokens/{token_id}",              NONE,       Admin,    Full,    Stranger, 404),
    // --- MotherDuck: service accounts, created in the organization one administers
    ("POST",   "/v1/users",                                           SERVICE,    Owner,    Full,    Nothing,  200),
    ("POST",   "/v1/users",                                           SERVICE,    Admin,    Full,    Nothing,  200),
    ("POST",   "/v1/users",                                           SERVICE,    Admin,    Wide,    Nothing,  200),
    ("POST",   "/v1/users",                                           SERVICE,    Member,   Full,    Nothing,  403),
    ("POST",   "/v1/users",                                           SERVICE,    Member,   Wide,    Nothing,  403),
    ("POST",   "/v1/users",                                           SERVICE,    Viewer,   Full,    Nothing,  403),
    ("POST",   "/v1/users",                                           SERVICE,    Outsider, Full,    Nothing,  200),
    ("POST",   "/v1/users",                                           SERVICE,    Root,     Full,    Nothing,  200),
    ("POST",   "/v1/users",                                           SERVICE,    Root,     Wide,    Nothing,  400),
    ("POST",   "/v1/users",                                           SERVICE,    Admin,    Read,    Nothing,  403),
    ("POST",   "/v1/users",                                           SERVICE,    Admin,    Scaling, Nothing,  403),
    ("POST",   "/v1/users",                                           SERVICE,    Admin,    Group,   Nothing,  403),
    ("POST",   "/v1/users",                                           SERVICE_IN, Root,     Wide,    Nothing,  200),
    ("POST",   "/v1/users",                                           SERVICE_IN, Admin,    Wide,    Nothing,  200),
    ("POST",   "/v1/users",                                           SERVICE_IN, Member,   Wide,    Nothing,  403),
    ("POST",   "/v1/users",                                           SERVICE_IN, Outsider, Wide,    Nothing,  404),
    ("POST",   "/v1/users",                                           SERVICE_IN, Admin,    Full,    Foreign,  404),
    ("DELETE", "/v1/users/{username}",                                NONE,       Owner,    Full,    Service,  200),
    ("DELETE", "/v1/users/{username}",                                NONE,       Admin,    Full,    Service,  200),
    ("DELETE", "/v1/users/{username}",                                NONE,       Admin,    Wide,    Service,  200),
    ("DELETE", "/v1/users/{username}",                                NONE,       Member,   Full,    Service,  403),
    ("DELETE", "/v1/users/{username}",                                NONE,       Viewer,   Full,    Service,  403),
    ("DELETE", "/v1/users/{username}",                                NONE,       Admin,    Read,    Service,  403),
    ("DELETE", "/v1/users/{username}",                                NONE,       Admin,    Scaling, Service,  403),
    ("DELETE", "/v1/users/{username}",                                NONE,       Admin,    Group,   Service,  403),
    ("DELETE", "/v1/users/{username}",                                NONE,       Outsider, Full,    Service,  404),
    ("DELETE", "/v1/users/{username}",                                NONE,       Root,     Wide,    Service,  200),
    ("DELETE", "/v1/users/{username}",                                NONE,       Root,     Full,    Service,  200),
    ("DELETE", "/v1/users/{username}",                                NONE,       Admin,    Full,    Peer,     403),
    ("DELETE", "/v1/users/{username}",                                NONE,       Root,     Wide,    Peer,     403),
    ("DELETE", "/v1/users/{username}",                                NONE,       Member,   Full,    Own,      403),
    ("DELETE", "/v1/users/{username}",                                NONE,       Root,     Wide,    Own,      403),
    ("DELETE", "/v1/users/{username}",                                NONE,       Admin,    Full,    Stranger, 404),
];

/// Everyone in the world: username, account kind, and role in acme (`None`: no member).
const PEOPLE: &[(&str, &str, Option<&str>)] = &[
    ("olga", "human", Some("owner")),
    ("adam", "human", Some("admin")),
    ("mia", "human", Some("member")),
    ("vic", "human", Some("viewer")),
    ("tess", "human", Some("member")),
    ("svc", "service", Some("member")),
    ("otto", "human", None),
    ("nina", "human", None),
];

const GROUP_SCOPES: &[&str] = &[
    "tokens:read",
    "tokens:write",
    "tokens:revoke",
    "tokens:rotate",
];

/// A fresh server with the people, organizations and groups the table speaks of.
struct World {
    server: TestServer,
    /// Each account's account-wide, unscoped token.
    wide: HashMap<&'static str, String>,
}

impl World {
    async fn build() -> Self {
        let server = TestServer::start().await;
        let mut wide = HashMap::new();
        for (username, kind, _) in PEOPLE {
            wide.insert(*username, server.account_of_kind(username, kind).await);
        }
        server.organization(&wide["olga"], "acme").await;
        for (username, _, role) in PEOPLE {
            if let Some(role) = role.filter(|role| *role != "owner") {
                server
                    .add_member(&server.root, "acme", username, role)
                    .await;
            }
        }
        server.organization(&wide["otto"], "other").await;
        for org in ["acme", "other"] {
            server.create_group(&server.root, org, "g1").await;
        }
        Self { server, wide }
    }

    /// The caller's token of the kind asked, in its home organization.
    async fn caller_token(&self, caller: Caller, kind: Kind) -> String {
        let mut body = match kind {
            Wide if caller == Root => return self.server.root.clone(),
            Wide => return self.wide[caller.username()].clone(),
            Full => json!({"scopes": ["*"]}),
            Read => json!({"scopes": ["tokens:read"]}),
            Write => json!({"scopes": ["tokens:write"]}),
            Scaling => json!({"scopes": ["*"], "token_type": "read_scaling"}),
            Group => json!({"scopes": GROUP_SCOPES, "group": "g1"}),
        };
        body["name"] = json!("caller");
        body["organization"] = json!(caller.home());
        self.server.mint_for(caller.username(), body).await.0
    }

    /// The target's token, `["tokens:read"]`: (secret, id).
    async fn target_token(&self, caller: Caller, target: Target) -> Option<(String, String)> {
        let organization = match target {
            Nothing => return None,
            Own => caller.home(),
            Foreign => "other",
            Stranger => "nina",
            Peer | Boss | Service | Grouped => "acme",
        };
        let mut body =
            json!({"name": "target", "scopes": ["tokens:read"], "organization": organization});
        if target == Grouped {
            body["group"] = json!("g1");
        }
        Some(self.server.mint_for(target.username(caller), body).await)
    }
}

impl Caller {
    fn username(self) -> &'static str {
        match self {
            Owner => "olga",
            Admin => "adam",
            Member => "mia",
            Viewer => "vic",
            Outsider => "otto",
            Root => "root",
        }
    }

    fn home(self) -> &'static str {
        if self == Outsider { "other" } else { "acme" }
    }
}

impl Target {
    /// The account the target is about.
    fn username(self, caller: Caller) -> &'static str {
        match self {
            Own => caller.username(),
            Peer | Grouped | Nothing => "tess",
            Boss => "olga",
            Service => "svc",
            Foreign => "otto",
            Stranger => "nina",
        }
    }
}

fn fill(
    template: &str,
    caller: Caller,
    target: Target,
    token: Option<&(String, String)>,
) -> String {
    let organization = if target == Foreign { "other" } else { "acme" };
    let (secret, id) = token.map_or(("", ""), |(secret, id)| (secret.as_str(), id.as_str()));
    // Turso's paths name a token by its 22-character id, or by its name; MotherDuck's by its
    // uuid.
    let parsed = id.parse::<TokenId>().ok();
    let turso_id = parsed.map(|id| id.turso()).unwrap_or_default();
    let uuid = parsed.map(|id| id.canonical()).unwrap_or_default();
    template
        .replace("{organization}", organization)
        .replace("{username}", target.username(caller))
        .replace("{group}", "g1")
        .replace("{id}", id)
        .replace("{tokenId}", &turso_id)
        .replace("{token_id}", &uuid)
        .replace("{tokenName}", "target")
        .replace("{secret}", secret)
}

/// Runs one row on a fresh world; `Some(report)` when the answer is not the expected one.
async fn run(index: usize, row: Row) -> Option<String> {
    let (method, path, body, caller, kind, target, expected) = row;
    let world = World::build().await;
    let bearer = world.caller_token(caller, kind).await;
    let token = world.target_token(caller, target).await;
    let path = fill(path, caller, target, token.as_ref());
    let body = (!body.is_empty()).then(|| {
        let text = fill(body, caller, target, token.as_ref());
        serde_json::from_str::<Value>(&text).expect("a JSON body")
    });
    let method = Method::from_bytes(method.as_bytes()).expect("a method");
    let reply = world
        .server
        .call(method.clone(), &path, Some(&bearer), body)
        .await;
    (reply.status.as_u16() != expected).then(|| {
        format!(
            "row {index}: {method} {path} as {caller:?} with {kind:?} on {target:?}: \
             expected {expected}, got {}: {}",
            reply.status.as_u16(),
            reply.body
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_row_of_the_rights_table_holds() {
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    let mut rows = tokio::task::JoinSet::new();
    for (index, row) in TABLE.iter().copied().enumerate() {
        let limit = std::sync::Arc::clone(&limit);
        rows.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore");
            run(index, row).await
        });
    }
    let mut failures = Vec::new();
    while let Some(outcome) = rows.join_next().await {
        failures.extend(outcome.expect("a row panicked"));
    }
    assert_no_failures(failures);
}

/// The table's paths without their query.
fn table_routes() -> Vec<(String, String)> {
    TABLE
        .iter()
        .map(|(method, path, ..)| {
            let path = path.split_once('?').map_or(*path, |(path, _)| path);
            ((*method).to_owned(), path.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_table_covers_every_route_of_the_openapi_document() {
    let server = TestServer::start().await;
    let documented = operations(&server.openapi().await);
    let table = table_routes();
    let missing: Vec<_> = documented.iter().filter(|op| !table.contains(op)).collect();
    assert!(
        missing.is_empty(),
        "routes with no row in the table: {missing:?}"
    );
    let unknown: Vec<_> = table.iter().filter(|op| !documented.contains(op)).collect();
    assert!(
        unknown.is_empty(),
        "rows for routes the document does not describe: {unknown:?}"
    );
}

#[tokio::test]
async fn every_route_but_verify_and_health_needs_a_bearer() {
    let server = TestServer::start().await;
    for (method, path) in operations(&server.openapi().await) {
        let path = path
            .replace("{organization}", "root")
            .replace("{username}", "root")
            .replace("{group}", "g1")
            .replace("{id}", "tok_000000000000000000000000");
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let reply = server
            .call(method.clone(), &path, None, Some(json!({})))
            .await;
        if path == "/v1/tokens/verify" {
            assert_eq!(reply.status.as_u16(), 400, "{method} {path}: {reply:?}");
        } else if path == "/health" {
            assert_eq!(reply.status.as_u16(), 200, "{method} {path}: {reply:?}");
        } else {
            assert_eq!(reply.status.as_u16(), 401, "{method} {path}: {reply:?}");
        }
    }
}
