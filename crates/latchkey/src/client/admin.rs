//! `latchkey orgs|members|groups|accounts …`: the Turso-shaped administration routes under
//! `/v1/organizations`, and the native `/v1/accounts`.

use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{Value, json};

use super::http::Failure;
use super::output;
use super::{Ctx, Yes, wire};

#[derive(Subcommand, Debug)]
pub enum OrgCommand {
    /// List the organizations you belong to (root: every one).
    List,
    /// Create an organization; you become its owner (needs an unscoped account-wide token).
    Create {
        /// Lowercase letters, digits, `-`, `_`, `.`.
        slug: String,
        /// A display name [default: the slug].
        #[arg(long)]
        name: Option<String>,
    },
    /// Show an organization.
    Get { slug: String },
    /// Change an organization's display name (owners).
    Rename { slug: String, name: String },
    /// Delete an organization (owners): every token minted in it is revoked at once.
    Delete {
        slug: String,
        #[command(flatten)]
        yes: Yes,
    },
}

#[derive(Subcommand, Debug)]
pub enum MemberCommand {
    /// List an organization's members and their roles.
    List { org: String },
    /// Add an account to an organization (admins and owners).
    Add {
        org: String,
        username: String,
        #[arg(long, value_enum, default_value = "member")]
        role: Role,
    },
    /// Change a member's role (admins and owners).
    SetRole {
        org: String,
        username: String,
        #[arg(value_enum)]
        role: Role,
    },
    /// Remove a member (admins and owners; anyone may leave): their tokens of the
    /// organization are revoked at once.
    Remove {
        org: String,
        username: String,
        #[command(flatten)]
        yes: Yes,
    },
}

/// The roles that can be given (owner cannot).
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Role {
    Admin,
    Member,
    Viewer,
}

#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// List an organization's groups.
    List { org: String },
    /// Create a group (admins and owners).
    Create { org: String, name: String },
    /// Show a group.
    Get { org: String, name: String },
    /// Delete a group (admins and owners): the tokens pinned to it stop working at once.
    Delete {
        org: String,
        name: String,
        #[command(flatten)]
        yes: Yes,
    },
}

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// List every account (root only).
    List,
    /// Create an account and its personal organization (root only).
    Create {
        /// Lowercase letters, digits, `-`, `_`, `.`; also its personal organization's slug.
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// A service account (for machines) instead of a human one.
        #[arg(long)]
        service: bool,
    },
    /// Show an account: your own, or any (root).
    Get { username: String },
    /// Delete an account (root only): its memberships and personal organization go, its
    /// tokens are revoked at once.
    Delete {
        username: String,
        #[command(flatten)]
        yes: Yes,
    },
}

// --- columns -----------------------------------------------------------------------------------

/// One column of a listing, also one line of the item's details.
struct Column {
    header: &'static str,
    field: &'static str,
    show: fn(&Value, &str) -> String,
}

const fn column(header: &'static str, field: &'static str) -> Column {
    Column {
        header,
        field,
        show: output::text,
    }
}

const fn created_at() -> Column {
    Column {
        header: "CREATED AT",
        field: "created_at",
        show: output::date,
    }
}

const ORGANIZATION: &[Column] = &[
    column("SLUG", "slug"),
    column("NAME", "name"),
    column("TYPE", "type"),
    created_at(),
];
const MEMBER: &[Column] = &[
    column("USERNAME", "username"),
    column("EMAIL", "email"),
    column("ROLE", "role"),
];
const GROUP: &[Column] = &[column("NAME", "name"), column("UUID", "uuid"), created_at()];
const ACCOUNT: &[Column] = &[
    column("USERNAME", "username"),
    column("EMAIL", "email"),
    column("KIND", "kind"),
    column("ROOT", "root"),
    created_at(),
    column("ID", "id"),
];

/// How an answer holds what to show.
enum Shape<'a> {
    /// A list under this key: shown as a table.
    List(&'a str),
    /// One item under this key, or the body itself: shown as details.
    One(Option<&'a str>),
}

/// Gets and prints: the body itself with `--json`, else a table or details.
async fn show(
    ctx: &Ctx,
    segments: &[&str],
    shape: Shape<'_>,
    columns: &[Column],
) -> Result<ExitCode, Failure> {
    let body = ctx.client.get(segments).await?;
    let cells =
        |item: &Value| -> Vec<String> { columns.iter().map(|c| (c.show)(item, c.field)).collect() };
    let headers: Vec<_> = columns.iter().map(|c| c.header).collect();
    match shape {
        _ if ctx.json => output::print_json(&body),
        Shape::List(key) => {
            let items = body[key].as_array().cloned().unwrap_or_default();
            output::print_table(&headers, items.iter().map(cells));
        }
        Shape::One(key) => {
            let item = key.map_or(&body, |key| &body[key]);
            let pairs: Vec<_> = headers.into_iter().zip(cells(item)).collect();
            output::print_details(&pairs);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Sends a change and reports it.
async fn change(
    ctx: &Ctx,
    method: Method,
    segments: &[&str],
    body: Option<Value>,
    message: String,
) -> Result<ExitCode, Failure> {
    let url = ctx.client.url(segments);
    let answer = ctx.client.send(method, url, body.as_ref()).await?;
    Ok(ctx.done(&answer, message))
}

/// Deletes after confirmation. `what` reads like "organization acme".
async fn delete(
    ctx: &Ctx,
    segments: &[&str],
    yes: Yes,
    what: &str,
    consequence: &str,
) -> Result<ExitCode, Failure> {
    output::confirm(
        yes.yes,
        &format!("delete {what}"),
        &format!("Delete {what}? {consequence}"),
    )?;
    let message = format!("Deleted {what}.");
    change(ctx, Method::DELETE, segments, None, message).await
}

// --- commands ----------------------------------------------------------------------------------

pub async fn orgs(ctx: &Ctx, command: OrgCommand) -> Result<ExitCode, Failure> {
    const ORGS: &str = "organizations";
    match command {
        OrgCommand::List => show(ctx, &["v1", ORGS], Shape::List(ORGS), ORGANIZATION).await,
        OrgCommand::Create { slug, name } => {
            let mut body = json!({ "slug": slug });
            if let Some(name) = &name {
                body["name"] = json!(name);
            }
            let message = format!("Created organization {slug}; you are its owner.");
            change(ctx, Method::POST, &["v1", ORGS], Some(body), message).await
        }
        OrgCommand::Get { slug } => {
            let one = Shape::One(Some("organization"));
            show(ctx, &["v1", ORGS, &slug], one, ORGANIZATION).await
        }
        OrgCommand::Rename { slug, name } => {
            let message = format!("Renamed organization {slug} to {name}.");
            let body = json!({ "name": name });
            let path = ["v1", ORGS, &slug];
            change(ctx, Method::PATCH, &path, Some(body), message).await
        }
        OrgCommand::Delete { slug, yes } => {
            let what = format!("organization {slug}");
            let consequence = "Every token minted in it is revoked.";
            delete(ctx, &["v1", ORGS, &slug], yes, &what, consequence).await
        }
    }
}

pub async fn members(ctx: &Ctx, command: MemberCommand) -> Result<ExitCode, Failure> {
    const ORGS: &str = "organizations";
    const MEMBERS: &str = "members";
    match command {
        MemberCommand::List { org } => {
            let path = ["v1", ORGS, &org, MEMBERS];
            show(ctx, &path, Shape::List(MEMBERS), MEMBER).await
        }
        MemberCommand::Add {
            org,
            username,
            role,
        } => set_member(ctx, Method::POST, &org, &username, role).await,
        MemberCommand::SetRole {
            org,
            username,
            role,
        } => set_member(ctx, Method::PATCH, &org, &username, role).await,
        MemberCommand::Remove { org, username, yes } => {
            let question =
                format!("Remove {username} from {org}? Their tokens of {org} are revoked.");
            output::confirm(yes.yes, &format!("remove {username} from {org}"), &question)?;
            let message = format!("Removed {username} from {org}.");
            let path = ["v1", ORGS, &org, MEMBERS, &username];
            change(ctx, Method::DELETE, &path, None, message).await
        }
    }
}

/// Adds a member (`POST`) or changes a member's role (`PATCH`): both at
/// `/v1/organizations/{org}/members/{username}` with `{"role"}`.
async fn set_member(
    ctx: &Ctx,
    method: Method,
    org: &str,
    username: &str,
    role: Role,
) -> Result<ExitCode, Failure> {
    let role = wire(&role);
    let message = if method == Method::POST {
        format!("Added {username} to {org} as {role}.")
    } else {
        format!("{username} is now {role} in {org}.")
    };
    let path = ["v1", "organizations", org, "members", username];
    change(ctx, method, &path, Some(json!({ "role": role })), message).await
}

pub async fn groups(ctx: &Ctx, command: GroupCommand) -> Result<ExitCode, Failure> {
    const ORGS: &str = "organizations";
    const GROUPS: &str = "groups";
    match command {
        GroupCommand::List { org } => {
            show(ctx, &["v1", ORGS, &org, GROUPS], Shape::List(GROUPS), GROUP).await
        }
        GroupCommand::Create { org, name } => {
            let message = format!("Created group {org}/{name}.");
            let body = json!({ "name": name });
            let path = ["v1", ORGS, &org, GROUPS];
            change(ctx, Method::POST, &path, Some(body), message).await
        }
        GroupCommand::Get { org, name } => {
            let one = Shape::One(Some("group"));
            show(ctx, &["v1", ORGS, &org, GROUPS, &name], one, GROUP).await
        }
        GroupCommand::Delete { org, name, yes } => {
            let what = format!("group {org}/{name}");
            let consequence = "The tokens pinned to it stop working.";
            let path = ["v1", ORGS, &org, GROUPS, &name];
            delete(ctx, &path, yes, &what, consequence).await
        }
    }
}

pub async fn accounts(ctx: &Ctx, command: AccountCommand) -> Result<ExitCode, Failure> {
    const ACCOUNTS: &str = "accounts";
    match command {
        AccountCommand::List => show(ctx, &["v1", ACCOUNTS], Shape::List("data"), ACCOUNT).await,
        AccountCommand::Create {
            username,
            email,
            service,
        } => {
            let kind = if service { "service" } else { "human" };
            let message = format!("Created {kind} account {username}.");
            let body = json!({ "username": username, "email": email, "kind": kind });
            change(ctx, Method::POST, &["v1", ACCOUNTS], Some(body), message).await
        }
        AccountCommand::Get { username } => {
            show(ctx, &["v1", ACCOUNTS, &username], Shape::One(None), ACCOUNT).await
        }
        AccountCommand::Delete { username, yes } => {
            let what = format!("account {username}");
            let consequence = "Its personal organization goes and its tokens are revoked.";
            delete(ctx, &["v1", ACCOUNTS, &username], yes, &what, consequence).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::output::NONE;
    use super::*;

    #[test]
    fn columns_show_their_fields() {
        let org = json!({"slug": "acme", "name": "Acme", "type": "team", "created_at": "2026-01-15T09:00:00Z"});
        let shown: Vec<_> = ORGANIZATION
            .iter()
            .map(|c| (c.show)(&org, c.field))
            .collect();
        assert_eq!(shown, ["acme", "Acme", "team", "2026-01-15"]);
        let member = json!({"username": "ann", "email": null, "role": "viewer"});
        let shown: Vec<_> = MEMBER.iter().map(|c| (c.show)(&member, c.field)).collect();
        assert_eq!(shown, ["ann", NONE, "viewer"]);
    }
}
