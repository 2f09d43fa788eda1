//! Organizations, members and groups, at Turso's paths and in Turso's shapes (the official
//! `@tursodatabase/api` client's types), so an organization can be set up through either API.

use axum::Json;
use axum::http::StatusCode;
use latchkey_core::{Group, Member, Organization, Role, Slug, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::turso::{Turso, TursoError};
use super::{ApiResult, Auth, Body, PathParams};
use crate::AppState;
use crate::error::Error;

type Result<T> = ApiResult<T, Turso>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_organizations, create_organization))
        .routes(routes!(
            get_organization,
            update_organization,
            delete_organization
        ))
        .routes(routes!(list_members, add_member))
        .routes(routes!(add_named_member, update_member, remove_member))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, delete_group))
}

fn slug(field: &'static str, raw: &str) -> Result<Slug> {
    Ok(Slug::parse_field(field, raw)?)
}

/// Roles that can be given through the API: the owner role cannot (Turso's rule).
fn assignable_role(raw: Option<&str>) -> Result<Role> {
    match raw.unwrap_or("member") {
        "admin" => Ok(Role::Admin),
        "member" => Ok(Role::Member),
        "viewer" => Ok(Role::Viewer),
        other => Err(Error::bad_request(
            "role",
            format!("'{other}' cannot be given: the role must be admin, member or viewer"),
        )
        .into()),
    }
}

// --- organizations -----------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct OrganizationBody {
    name: String,
    slug: String,
    /// `personal` or `team`.
    #[serde(rename = "type")]
    kind: &'static str,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

impl From<&Organization> for OrganizationBody {
    fn from(org: &Organization) -> Self {
        Self {
            name: org.name.clone(),
            slug: org.slug.to_string(),
            kind: if org.personal { "personal" } else { "team" },
            created_at: org.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrganizationsBody {
    organizations: Vec<OrganizationBody>,
}

#[derive(Serialize, ToSchema)]
pub struct OneOrganization {
    organization: OrganizationBody,
}

/// The organizations the caller belongs to (root: all).
#[utoipa::path(
    get, path = "/v1/organizations", tag = "organizations",
    security(("bearer" = [])),
    responses((status = 200, body = OrganizationsBody), (status = 401, body = TursoError))
)]
async fn list_organizations(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
) -> Result<Json<OrganizationsBody>> {
    let orgs = state.service.organizations(&principal).await?;
    Ok(Json(OrganizationsBody {
        organizations: orgs
            .iter()
            .map(|(org, _)| OrganizationBody::from(org))
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganizationBody {
    slug: String,
    /// A display name; the slug by default.
    name: Option<String>,
}

/// Create an organization; the caller becomes its owner. Needs an unscoped account-wide token.
#[utoipa::path(
    post, path = "/v1/organizations", tag = "organizations",
    request_body = CreateOrganizationBody,
    security(("bearer" = [])),
    responses(
        (status = 201, body = OneOrganization),
        (status = 400, body = TursoError), (status = 401, body = TursoError),
        (status = 403, body = TursoError), (status = 409, body = TursoError),
    )
)]
async fn create_organization(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    Body(body, ..): Body<Turso, CreateOrganizationBody>,
) -> Result<(StatusCode, Json<OneOrganization>)> {
    let slug = slug("slug", &body.slug)?;
    let org = state
        .service
        .create_organization(&principal, slug, body.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(OneOrganization {
            organization: (&org).into(),
        }),
    ))
}

#[utoipa::path(
    get, path = "/v1/organizations/{organization}", tag = "organizations",
    params(("organization" = String, Path, description = "The organization's slug")),
    security(("bearer" = [])),
    responses((status = 200, body = OneOrganization), (status = 401, body = TursoError), (status = 404, body = TursoError))
)]
async fn get_organization(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams(org, ..): PathParams<Turso, String>,
) -> Result<Json<OneOrganization>> {
    let (org, _) = state
        .service
        .organization(&principal, &slug("organization", &org)?)
        .await?;
    Ok(Json(OneOrganization {
        organization: (&org).into(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganizationBody {
    /// A new display name.
    name: Option<String>,
    /// Turso's billing switch: latchkey keeps no billing, so it is refused.
    overages: Option<bool>,
}

/// Rename an organization (owners).
#[utoipa::path(
    patch, path = "/v1/organizations/{organization}", tag = "organizations",
    params(("organization" = String, Path)),
    request_body = UpdateOrganizationBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = OneOrganization),
        (status = 400, body = TursoError), (status = 401, body = TursoError),
        (status = 403, body = TursoError), (status = 404, body = TursoError),
    )
)]
async fn update_organization(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams(org, ..): PathParams<Turso, String>,
    Body(body, ..): Body<Turso, UpdateOrganizationBody>,
) -> Result<Json<OneOrganization>> {
    let org = slug("organization", &org)?;
    if body.overages.is_some() {
        return Err(Error::bad_request(
            "overages",
            "latchkey manages no billing; only `name` can change",
        )
        .into());
    }
    let name = body
        .name
        .ok_or_else(|| Error::bad_request("name", "nothing to change: give a new name"))?;
    let org = state
        .service
        .rename_organization(&principal, &org, name)
        .await?;
    Ok(Json(OneOrganization {
        organization: (&org).into(),
    }))
}

/// Delete an organization (owners); every token minted in it is revoked at once.
#[utoipa::path(
    delete, path = "/v1/organizations/{organization}", tag = "organizations",
    params(("organization" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OneOrganization),
        (status = 401, body = TursoError), (status = 403, body = TursoError), (status = 404, body = TursoError),
    )
)]
async fn delete_organization(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams(org, ..): PathParams<Turso, String>,
) -> Result<Json<OneOrganization>> {
    let org = state
        .service
        .delete_organization(&principal, &slug("organization", &org)?)
        .await?;
    Ok(Json(OneOrganization {
        organization: (&org).into(),
    }))
}

// --- members -----------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct MemberBody {
    username: String,
    email: Option<String>,
    /// `owner`, `admin`, `member` or `viewer`.
    role: &'static str,
}

impl From<&Member> for MemberBody {
    fn from(member: &Member) -> Self {
        Self {
            username: member.account.username.to_string(),
            email: member.account.email.as_ref().map(ToString::to_string),
            role: member.role.as_str(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MembersBody {
    members: Vec<MemberBody>,
}

/// What adding a member answers: `{member, role}`.
#[derive(Serialize, ToSchema)]
pub struct AddedMember {
    member: String,
    role: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct UpdatedMember {
    member: MemberBody,
}

#[derive(Serialize, ToSchema)]
pub struct RemovedMember {
    member: String,
}

#[utoipa::path(
    get, path = "/v1/organizations/{organization}/members", tag = "members",
    params(("organization" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = MembersBody), (status = 401, body = TursoError), (status = 404, body = TursoError))
)]
async fn list_members(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams(org, ..): PathParams<Turso, String>,
) -> Result<Json<MembersBody>> {
    let members = state
        .service
        .members(&principal, &slug("organization", &org)?)
        .await?;
    Ok(Json(MembersBody {
        members: members.iter().map(MemberBody::from).collect(),
    }))
}

/// Body of adding a member. Turso's docs send `username`; its client sends `member`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AddMemberBody {
    username: Option<String>,
    member: Option<String>,
    /// `admin`, `member` (default) or `viewer`.
    role: Option<String>,
}

async fn add(
    state: &AppState,
    principal: &latchkey_core::Principal,
    org: &str,
    username: Option<&str>,
    role: Option<&str>,
) -> Result<Json<AddedMember>> {
    let org = slug("organization", org)?;
    let username =
        username.ok_or_else(|| Error::bad_request("username", "name the account to add"))?;
    let username = slug("username", username)?;
    let role = assignable_role(role)?;
    let member = state
        .service
        .add_member(principal, &org, &username, role)
        .await?;
    Ok(Json(AddedMember {
        member: member.account.username.to_string(),
        role: member.role.as_str(),
    }))
}

/// Add a member (admins and owners).
#[utoipa::path(
    post, path = "/v1/organizations/{organization}/members", tag = "members",
    params(("organization" = String, Path)),
    request_body = AddMemberBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AddedMember),
        (status = 400, body = TursoError), (status = 401, body = TursoError), (status = 403, body = TursoError),
        (status = 404, body = TursoError), (status = 409, body = TursoError),
    )
)]
async fn add_member(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams(org, ..): PathParams<Turso, String>,
    Body(body, ..): Body<Turso, Option<AddMemberBody>>,
) -> Result<Json<AddedMember>> {
    let body = body.unwrap_or_default();
    let username = body.username.as_deref().or(body.member.as_deref());
    add(&state, &principal, &org, username, body.role.as_deref()).await
}

/// Add a member named in the path (as the official client calls it).
#[utoipa::path(
    post, path = "/v1/organizations/{organization}/members/{username}", tag = "members",
    params(("organization" = String, Path), ("username" = String, Path)),
    request_body = AddMemberBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AddedMember),
        (status = 400, body = TursoError), (status = 401, body = TursoError), (status = 403, body = TursoError),
        (status = 404, body = TursoError), (status = 409, body = TursoError),
    )
)]
async fn add_named_member(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams((org, username), ..): PathParams<Turso, (String, String)>,
    Body(body, ..): Body<Turso, Option<AddMemberBody>>,
) -> Result<Json<AddedMember>> {
    let body = body.unwrap_or_default();
    add(
        &state,
        &principal,
        &org,
        Some(&username),
        body.role.as_deref(),
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberBody {
    /// `admin`, `member` or `viewer`; or `owner`, which only owners may give (a latchkey
    /// extension: Turso offers no way to make an owner).
    role: String,
}

/// Change a member's role (admins and owners).
#[utoipa::path(
    patch, path = "/v1/organizations/{organization}/members/{username}", tag = "members",
    params(("organization" = String, Path), ("username" = String, Path)),
    request_body = UpdateMemberBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = UpdatedMember),
        (status = 400, body = TursoError), (status = 401, body = TursoError), (status = 403, body = TursoError),
        (status = 404, body = TursoError), (status = 409, body = TursoError),
    )
)]
async fn update_member(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams((org, username), ..): PathParams<Turso, (String, String)>,
    Body(body, ..): Body<Turso, UpdateMemberBody>,
) -> Result<Json<UpdatedMember>> {
    let role = body.role.parse::<Role>()?;
    let member = state
        .service
        .set_role(
            &principal,
            &slug("organization", &org)?,
            &slug("username", &username)?,
            role,
        )
        .await?;
    Ok(Json(UpdatedMember {
        member: (&member).into(),
    }))
}

/// Remove a member (admins and owners; anyone may leave). Its tokens of the organization are
/// revoked at once.
#[utoipa::path(
    delete, path = "/v1/organizations/{organization}/members/{username}", tag = "members",
    params(("organization" = String, Path), ("username" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RemovedMember),
        (status = 401, body = TursoError), (status = 403, body = TursoError),
        (status = 404, body = TursoError), (status = 409, body = TursoError),
    )
)]
async fn remove_member(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams((org, username), ..): PathParams<Turso, (String, String)>,
) -> Result<Json<RemovedMember>> {
    let member = state
        .service
        .remove_member(
            &principal,
            &slug("organization", &org)?,
            &slug("username", &username)?,
        )
        .await?;
    Ok(Json(RemovedMember {
        member: member.account.username.to_string(),
    }))
}

// --- groups ------------------------------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct GroupBody {
    name: String,
    /// The group's identity: a new group with an old name has a new one.
    uuid: String,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

impl From<&Group> for GroupBody {
    fn from(group: &Group) -> Self {
        Self {
            name: group.name.to_string(),
            uuid: group.id.to_string(),
            created_at: group.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct GroupsBody {
    groups: Vec<GroupBody>,
}

#[derive(Serialize, ToSchema)]
pub struct OneGroup {
    group: GroupBody,
}

#[utoipa::path(
    get, path = "/v1/organizations/{organization}/groups", tag = "groups",
    params(("organization" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = GroupsBody), (status = 401, body = TursoError), (status = 404, body = TursoError))
)]
async fn list_groups(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams(org, ..): PathParams<Turso, String>,
) -> Result<Json<GroupsBody>> {
    let groups = state
        .service
        .groups(&principal, &slug("organization", &org)?)
        .await?;
    Ok(Json(GroupsBody {
        groups: groups.iter().map(GroupBody::from).collect(),
    }))
}

/// Body of creating a group. Turso's `location` and `extensions` place databases, which
/// latchkey does not manage; they are accepted so Turso's client works, and not kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroupBody {
    name: String,
    #[serde(rename = "location")]
    #[schema(value_type = Option<String>)]
    _location: Option<serde::de::IgnoredAny>,
    #[serde(rename = "extensions")]
    #[schema(value_type = Option<Object>)]
    _extensions: Option<serde::de::IgnoredAny>,
}

/// Create a group (admins and owners).
#[utoipa::path(
    post, path = "/v1/organizations/{organization}/groups", tag = "groups",
    params(("organization" = String, Path)),
    request_body = CreateGroupBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = OneGroup),
        (status = 400, body = TursoError), (status = 401, body = TursoError), (status = 403, body = TursoError),
        (status = 404, body = TursoError), (status = 409, body = TursoError),
    )
)]
async fn create_group(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams(org, ..): PathParams<Turso, String>,
    Body(body, ..): Body<Turso, CreateGroupBody>,
) -> Result<Json<OneGroup>> {
    let group = state
        .service
        .create_group(
            &principal,
            &slug("organization", &org)?,
            slug("name", &body.name)?,
        )
        .await?;
    Ok(Json(OneGroup {
        group: (&group).into(),
    }))
}

#[utoipa::path(
    get, path = "/v1/organizations/{organization}/groups/{group}", tag = "groups",
    params(("organization" = String, Path), ("group" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = OneGroup), (status = 401, body = TursoError), (status = 404, body = TursoError))
)]
async fn get_group(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams((org, group), ..): PathParams<Turso, (String, String)>,
) -> Result<Json<OneGroup>> {
    let group = state
        .service
        .group(
            &principal,
            &slug("organization", &org)?,
            &slug("group", &group)?,
        )
        .await?;
    Ok(Json(OneGroup {
        group: (&group).into(),
    }))
}

/// Delete a group (admins and owners): the tokens pinned to it stop working at once.
#[utoipa::path(
    delete, path = "/v1/organizations/{organization}/groups/{group}", tag = "groups",
    params(("organization" = String, Path), ("group" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OneGroup),
        (status = 401, body = TursoError), (status = 403, body = TursoError), (status = 404, body = TursoError),
    )
)]
async fn delete_group(
    state: axum::extract::State<AppState>,
    Auth(principal, ..): Auth<Turso>,
    PathParams((org, group), ..): PathParams<Turso, (String, String)>,
) -> Result<Json<OneGroup>> {
    let group = state
        .service
        .delete_group(
            &principal,
            &slug("organization", &org)?,
            &slug("group", &group)?,
        )
        .await?;
    Ok(Json(OneGroup {
        group: (&group).into(),
    }))
}
