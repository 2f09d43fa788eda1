//! SQL that every store speaks alike: the stored sentinels, the columns records are read from,
//! and the listing query (filters, keyset and order), written once for both dialects.

use std::sync::LazyLock;

use latchkey_core::{Timestamp, TokenStatus, TokenView};
use uuid::Uuid;

use crate::query::{Cursor, CursorKey, PageRequest, SortField, TokenPage, TokenQuery};

/// The stored `expires_at` of a token that never expires, so expiry sorts and indexes without
/// NULLs (and after every real expiry).
pub(crate) const NEVER: i64 = Timestamp::MAX.unix();
/// The stored `last_used_at` of a token never used (it sorts before every use).
pub(crate) const UNUSED: i64 = 0;

pub(crate) const ACCOUNT_COLUMNS: &str =
    "a.id, a.username, a.email, a.kind, a.is_root, a.created_at";
pub(crate) const ORG_COLUMNS: &str = "o.id, o.slug, o.name, o.personal, o.created_at";
pub(crate) const GROUP_COLUMNS: &str = "id, org_id, name, created_at";

/// The start of every token view's row: the token (0..=13) and its owner's account (14..=19).
macro_rules! token_and_owner_columns {
    () => {
        "t.id, t.owner_id, t.created_by, t.org_id, t.account_wide, t.group_id, t.name, t.scopes, \
         t.token_type, t.hint, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, \
         a.id, a.username, a.email, a.kind, a.is_root, a.created_at"
    };
}

/// A token view's statement up to its WHERE, the same in both stores: the token and its
/// owner's account (0..=19), the creator's email (20), the organization's slug (21), the group's
/// name (22) and the owner's role in the token's organization (23), each looked up by a
/// subquery (one primary-key read; NULL where none is found). `org` is the SQL of the token's
/// organization: `t.org_id`, or the parameter of the one organization a listing reads, which
/// makes the slug one read for the page and not one a row.
///
/// Subqueries, not joins: PostgreSQL plans many listings anew at each execution (those whose
/// plan depends on the filters' values, every new page number since the offset is in the
/// text, any statement's first five runs on a connection), and choosing an order for seven
/// joined relations took 3-4 ms of planning a page, several times the page's execution. Most
/// tokens are minted by their owner, whose row the join has just read, so the creator's email
/// is looked up apart only for the others.
fn token_view_with(org: &str) -> String {
    format!(
        concat!(
            "SELECT ",
            token_and_owner_columns!(),
            ", CASE WHEN t.created_by = t.owner_id THEN a.email \
             ELSE (SELECT c.email FROM accounts c WHERE c.id = t.created_by) END, \
             (SELECT o.slug FROM organizations o WHERE o.id = {org}), \
             (SELECT g.name FROM groups g WHERE g.id = t.group_id), \
             (SELECT m.role FROM memberships m WHERE m.org_id = {org} AND m.account_id = t.owner_id) \
             FROM tokens t JOIN accounts a ON a.id = t.owner_id"
        ),
        org = org
    )
}

/// [`token_view_with`] for a token of any organization, which a WHERE over `tokens t` follows.
pub(crate) static TOKEN_VIEW: LazyLock<String> = LazyLock::new(|| token_view_with("t.org_id"));

/// Where the two stores' SQL differs, as far as listing goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// `column` in a condition the planner should check row by row rather than seek an index
    /// for. SQLite, without histograms, takes a range over expiry or last use for selective
    /// and walks it, then sorts what it found, where walking the page's own order and
    /// checking the range is quicker by orders of magnitude (a range of a million tokens
    /// matches most of them). PostgreSQL weighs ranges by its statistics.
    fn checked(self, column: &str) -> String {
        match self {
            Self::Sqlite => format!("+{column}"),
            Self::Postgres => column.to_owned(),
        }
    }

    /// `param` where the planner should estimate a condition the same whatever its value: the
    /// present time, which a status compares expiry with. PostgreSQL reads a parameter's value
    /// when it plans for it, and then finds a plan made for the value cheaper than one made for
    /// any value, so a prepared statement is planned anew at every run (0.7 ms of planning
    /// against 0.6 ms of running for a status=active page, BENCHMARKS.md); behind a subquery
    /// the value is unknown to both plans, which then cost the same, and the statement keeps
    /// one plan from its sixth run. SQLite keeps no plan across values to begin with.
    fn unweighed(self, param: String) -> String {
        match self {
            Self::Sqlite => param,
            Self::Postgres => format!("(SELECT {param})"),
        }
    }

    /// The `n`th (from 1) bound parameter.
    pub(crate) fn param(self, n: usize) -> String {
        match self {
            Self::Sqlite => format!("?{n}"),
            Self::Postgres => format!("${n}"),
        }
    }

    /// Adds "the token's folded name contains `needle`" (already folded, with no NUL), every
    /// character taken literally, in a form its trigram index answers; on PostgreSQL, where
    /// the tokens holding it were `found` already ([`names_holding_sql`]), "the token is one
    /// of them".
    fn name_contains(self, c: &mut Conditions, needle: &str, found: Option<&[Uuid]>) {
        match (self, found) {
            // The index takes phrases of three characters or more; a shorter needle matches so
            // many names that reading them in order is as quick. Matched once a statement,
            // ahead of it: a numbered page's count and rows both read the matches, and the
            // index's work is most of theirs (BENCHMARKS.md).
            (Self::Sqlite, _) if needle.chars().count() >= 3 => {
                let phrase = format!("\"{}\"", needle.replace('"', "\"\""));
                let param = c.arg(Arg::Text(phrase));
                c.with = format!(
                    "WITH name_matches AS MATERIALIZED (SELECT token_id FROM tokens_name_trigrams \
                     WHERE tokens_name_trigrams MATCH {param}) "
                );
                c.plain("t.id IN name_matches");
            }
            (Self::Sqlite, _) => {
                c.bind("instr(t.name_folded, ?) > 0", Arg::Text(needle.to_owned()));
            }
            (Self::Postgres, Some(found)) => c.bind("t.id = ANY(?)", Arg::Ids(found.to_vec())),
            (Self::Postgres, None) => {
                let mut pattern = String::with_capacity(needle.len() + 2);
                pattern.push('%');
                for ch in needle.chars() {
                    if matches!(ch, '%' | '_' | '\\') {
                        pattern.push('\\');
                    }
                    pattern.push(ch);
                }
                pattern.push('%');
                c.bind("t.name_folded LIKE ?", Arg::Text(pattern));
            }
        }
    }
}

/// PostgreSQL's statement finding at most `most` tokens (of `org`, if given) whose folded names
/// hold `needle` (folded, with no NUL), through the trigram index's lists of `trigrams` alone
/// (see `crate::trigrams`), and its arguments. The rows found are checked for the whole needle
/// with `strpos`, no operator the index takes. A listing then reads these ids
/// ([`Listing::new`]): this statement is planned for its values, as a name's must be, and is
/// one table's, quick to plan, where the page's joins keep one plan.
pub(crate) fn names_holding_sql(
    trigrams: &[String],
    needle: &str,
    org: Option<Uuid>,
    most: usize,
) -> (String, Vec<Arg>) {
    let mut args: Vec<Arg> = trigrams
        .iter()
        .map(|trigram| Arg::Text(format!("%{trigram}%")))
        .collect();
    let mut conditions: Vec<String> = (1..=args.len())
        .map(|n| format!("name_folded LIKE ${n}"))
        .collect();
    args.push(Arg::Text(needle.to_owned()));
    conditions.push(format!("strpos(name_folded, ${}) > 0", args.len()));
    if let Some(org) = org {
        args.push(Arg::Id(org));
        conditions.push(format!("org_id = ${}", args.len()));
    }
    args.push(Arg::Int(i64::try_from(most).unwrap_or(i64::MAX)));
    (
        format!(
            "SELECT id FROM tokens WHERE {} LIMIT ${}",
            conditions.join(" AND "),
            args.len()
        ),
        args,
    )
}

/// A bound value of a listing query; each store binds it in its own types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
    Id(Uuid),
    /// A list of ids: PostgreSQL's, for the tokens a name filter found (see
    /// [`names_holding_sql`]).
    Ids(Vec<Uuid>),
}

/// A listing written out: how to count its matches (for numbered pages) and how to read a page.
pub(crate) struct Listing {
    /// The count of every match and its arguments, for numbered pages, without `with`. Its
    /// parameters begin with the page's (`args`), so that it binds in the page's statement as
    /// well.
    count: Option<(String, Vec<Arg>)>,
    /// The start of every statement: see [`Conditions::with`].
    with: String,
    /// The filters and the cursor's bound, as a WHERE clause over `tokens t`.
    filter_sql: String,
    /// What the filters and the cursor bind, in order.
    args: Vec<Arg>,
    /// The sort's column before the id; `None` for creation order (the id alone).
    key_column: Option<&'static str>,
    descending: bool,
    limit: u32,
    offset: u64,
    dialect: Dialect,
    /// Whether the best plan depends on the filters' values by orders of magnitude: a name
    /// pattern, a scope, a range over expiry or last use, or the expired status matches
    /// anything from no token to all of them, where ids, an owner, a group or the active
    /// status (see [`Dialect::unweighed`]) pick the same plan whatever they are. A store that
    /// keeps one plan for any values (PostgreSQL's prepared statements) should plan these for
    /// their own.
    pub plan_for_values: bool,
    /// The organization, where the listing is the whole of it in creation order (no filter,
    /// no other sort), whose pages the marks place (see [`Listing::mark_sql`] and
    /// [`Listing::counted_page_sql`]).
    marked_org: Option<Uuid>,
    /// The parameter of the one organization the listing reads, if it reads one: the
    /// organization of every row, in its token view (see [`token_view_with`]).
    org_param: Option<String>,
}

/// Where a numbered page deep inside a whole organization's list starts reading: the last
/// mark (`token_marks`) at or before its first token in id order, and how many of the
/// organization's tokens come before the mark. See [`Listing::mark_sql`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mark {
    pub first_id: Uuid,
    pub before: u64,
}

/// A page's statement, its arguments, and whether its text is the same for every page of its
/// listing read alike (a first page, a cursor's, a page a mark placed), which makes it worth
/// keeping prepared; a deeper numbered page's carries its offset.
pub(crate) struct PageSql {
    pub sql: String,
    pub args: Vec<Arg>,
    pub reused: bool,
}

/// A condition no row meets: for a text no stored name or scope can contain (a NUL, which
/// PostgreSQL cannot even take as a parameter) and for cursors of another sort.
const NOTHING: &str = "1 = 0";

/// A WHERE clause under construction: each condition with its numbered parameters.
struct Conditions {
    dialect: Dialect,
    clauses: Vec<String>,
    args: Vec<Arg>,
    /// What every statement using the clauses starts with: the tables they name (`WITH …`),
    /// or nothing.
    with: String,
    /// The parameter of the one organization the listing reads, if it reads one.
    org: Option<String>,
}

impl Conditions {
    /// The next parameter, bound to `value`.
    fn arg(&mut self, value: Arg) -> String {
        self.args.push(value);
        self.dialect.param(self.args.len())
    }

    /// Adds a condition whose `?`s all stand for `value`.
    fn bind(&mut self, clause: &str, value: Arg) {
        let param = self.arg(value);
        self.clauses.push(clause.replace('?', &param));
    }

    fn plain(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// The filters of a listing, shared by the page and its count; `found` as
/// [`Dialect::name_contains`] takes it.
fn filters(query: &TokenQuery, dialect: Dialect, found: Option<&[Uuid]>) -> Conditions {
    let mut c = Conditions {
        dialect,
        clauses: Vec::new(),
        args: Vec::new(),
        with: String::new(),
        org: None,
    };
    if let Some(org) = query.org {
        let param = c.arg(Arg::Id(org.into()));
        c.plain(format!("t.org_id = {param}"));
        c.org = Some(param);
    }
    if let Some(owner) = query.owner {
        c.bind("t.owner_id = ?", Arg::Id(owner.into()));
    }
    if let Some(group) = query.group {
        c.bind("t.group_id = ?", Arg::Id(group.into()));
    }
    if query.exclude_account_wide {
        c.plain("NOT t.account_wide");
    }
    if query.exclude_revoked {
        c.plain("t.revoked_at IS NULL");
    }
    let now = Arg::Int(query.now.unix());
    let expires = dialect.checked("t.expires_at");
    let last_used = dialect.checked("t.last_used_at");
    match query.status {
        // One plan for every time: where most tokens are live, walking the page's order finds
        // them at once, and PostgreSQL walked it even when planned for the time with 41 live
        // tokens of a million, the newest (BENCHMARKS.md): the value buys no better plan.
        Some(TokenStatus::Active) => {
            let now = dialect.unweighed(c.arg(now));
            c.plain(format!("t.revoked_at IS NULL AND {expires} > {now}"));
        }
        // Expired tokens are few or none in most organizations, where a plan made for the
        // time may take the expiry index's range rather than a walk: planned at each request,
        // as before.
        Some(TokenStatus::Expired) => {
            c.bind(&format!("t.revoked_at IS NULL AND {expires} <= ?"), now);
        }
        Some(TokenStatus::Revoked) => c.plain("t.revoked_at IS NOT NULL"),
        None => {}
    }
    if let Some(name) = &query.name_contains {
        if name.contains('\0') {
            c.plain(NOTHING);
        } else {
            // Both sides in Unicode lower case, matched literally.
            dialect.name_contains(&mut c, &name.to_lowercase(), found);
        }
    }
    if let Some(scope) = &query.scope {
        if scope.contains('\0') {
            c.plain(NOTHING);
        } else {
            // Probed row by row: a scope held by half the tokens would otherwise be gathered
            // whole before the first row of a page.
            c.bind(
                "EXISTS (SELECT 1 FROM token_scopes s WHERE s.scope = ? AND s.token_id = t.id)",
                Arg::Text(scope.clone()),
            );
        }
    }
    if let Some(at) = query.expires_before {
        c.bind(&format!("{expires} < ?"), Arg::Int(at.unix()));
    }
    if let Some(at) = query.expires_after {
        c.bind(&format!("{expires} > ?"), Arg::Int(at.unix()));
        c.bind(&format!("{expires} < ?"), Arg::Int(NEVER));
    }
    if let Some(at) = query.last_used_before {
        c.bind(&format!("{last_used} < ?"), Arg::Int(at.unix()));
        c.bind(&format!("{last_used} > ?"), Arg::Int(UNUSED));
    }
    if let Some(at) = query.last_used_after {
        c.bind(&format!("{last_used} > ?"), Arg::Int(at.unix()));
        // A bound before the epoch would otherwise let in the never-used sentinel.
        c.bind(&format!("{last_used} > ?"), Arg::Int(UNUSED));
    }
    c
}

/// The SQL that counts a numbered listing's matches, and its arguments: the filters' own, then
/// any of its own, so that the count can also be a subquery of the page's statement. A listing
/// the counters cover reads them ([`counters_sql`]); any other counts its matches.
fn count_sql(query: &TokenQuery, dialect: Dialect, conditions: &Conditions) -> (String, Vec<Arg>) {
    let mut args = conditions.args.clone();
    match counters_sql(query, dialect, args.len()) {
        Some((sql, own)) => {
            args.extend(own);
            (format!("SELECT {sql}"), args)
        }
        None => (
            format!("SELECT count(*) FROM tokens t {}", conditions.sql()),
            args,
        ),
    }
}

/// Whether a listing asks for nothing but an organization, a group, a status, a sort and a
/// page: what the counters and the marks kept by triggers can cover.
fn within_counters(query: &TokenQuery) -> bool {
    // Compared whole, so that a filter added later is counted, not overlooked.
    *query
        == TokenQuery {
            org: query.org,
            group: query.group,
            status: query.status,
            sort: query.sort,
            page: query.page.clone(),
            ..TokenQuery::new(query.now)
        }
}

/// The total of a listing from the counters that triggers keep, where they cover it, and the
/// arguments of its parameters, numbered after the `before` of the filters. A whole
/// organization, by status or not, reads the organization's counters (`token_counts`,
/// `token_expiry_counts`: see the migration that made them) and today's expired tokens; a
/// group, whole or its revoked tokens, the group's (`group_token_counts`).
fn counters_sql(query: &TokenQuery, dialect: Dialect, before: usize) -> Option<(String, Vec<Arg>)> {
    if !within_counters(query) {
        return None;
    }
    let param = |n: usize| dialect.param(before + n);
    let sum = |column: &str, table: &str, filter: &str| {
        format!("(SELECT CAST(coalesce(sum({column}), 0) AS bigint) FROM {table} WHERE {filter})")
    };
    match (query.group, query.org, query.status) {
        (Some(group), org, status @ (None | Some(TokenStatus::Revoked))) => {
            let column = if status.is_some() { "revoked" } else { "total" };
            let mut args = vec![Arg::Id(group.into())];
            let mut filter = format!("group_id = {}", param(1));
            if let Some(org) = org {
                args.push(Arg::Id(org.into()));
                filter += &format!(" AND org_id = {}", param(2));
            }
            Some((sum(column, "group_token_counts", &filter), args))
        }
        (None, Some(org_id), status) => {
            let (org, now) = (param(1), dialect.unweighed(param(2)));
            let of_org = format!("org_id = {org}");
            // Live tokens past their expiry: those of the days before today, and today's up
            // to now.
            let expired = || {
                format!(
                    "({} + (SELECT count(*) FROM tokens WHERE org_id = {org} \
                     AND revoked_at IS NULL AND expires_at >= {now} / {DAY} * {DAY} \
                     AND expires_at <= {now}))",
                    sum(
                        "live",
                        "token_expiry_counts",
                        &format!("{of_org} AND day < {now} / {DAY}")
                    ),
                )
            };
            let mut args = vec![Arg::Id(org_id.into())];
            if matches!(status, Some(TokenStatus::Expired | TokenStatus::Active)) {
                args.push(Arg::Int(query.now.unix()));
            }
            let sql = match status {
                None => sum("total", "token_counts", &of_org),
                Some(TokenStatus::Revoked) => sum("revoked", "token_counts", &of_org),
                Some(TokenStatus::Expired) => expired(),
                Some(TokenStatus::Active) => {
                    let live = sum("total - revoked", "token_counts", &of_org);
                    format!("{live} - {}", expired())
                }
            };
            Some((sql, args))
        }
        _ => None,
    }
}

/// The statement finding the last mark of the organization `org` placed at or before the
/// token at `first` (SQL: parameters or subqueries): its id and its place.
fn mark_lookup(org: &str, first: &str) -> String {
    format!(
        "SELECT first_id, before FROM token_marks WHERE org_id = {org} AND before <= {first} \
         ORDER BY before DESC LIMIT 1"
    )
}

/// How many rows a numbered page may skip and still be read with its count in one statement.
const NEAR_START: u64 = 1_000;

/// The length of the days `token_expiry_counts` counts by, in seconds.
const DAY: i64 = 86_400;

/// The day [`crate::Store::fold_counters`] moves the counts of past days to: before any day a
/// timestamp falls on (the year 1 begins on day -719,162), so before every "today", as the
/// days it stands for are.
pub(crate) const FOLDED_DAY: i64 = -1_000_000;

/// The counts one step of [`crate::Store::fold_counters`] moves at most, each step a
/// transaction: the first fold of a store that served for years has that many rows to move,
/// and writes that need one of them (SQLite's every write) wait for the step, not the whole.
pub(crate) const FOLD_ROWS: i64 = 10_000;

/// The first day [`crate::Store::fold_counters`] leaves as it is at `now`: yesterday. A day
/// before it is past on every node whose clock is less than a day behind this one's.
pub(crate) fn first_unfolded_day(now: Timestamp) -> i64 {
    // As SQL divides a status page's `now` (toward zero).
    now.unix() / DAY - 1
}

impl Listing {
    /// The listing of `query`; `found`, on PostgreSQL, the tokens whose names hold its name
    /// filter's needle where they were found first ([`names_holding_sql`]).
    pub fn new(query: &TokenQuery, dialect: Dialect, found: Option<&[Uuid]>) -> Self {
        let mut conditions = filters(query, dialect, found);
        let marked_org = query.org.map(Uuid::from).filter(|_| {
            within_counters(query)
                && query.group.is_none()
                && query.status.is_none()
                && query.sort.field == SortField::CreatedAt
        });
        let count = matches!(query.page, PageRequest::Numbered { .. })
            .then(|| count_sql(query, dialect, &conditions));

        let sort = query.sort;
        let key_column = match sort.field {
            SortField::CreatedAt => None,
            SortField::Name => Some("t.name"),
            SortField::ExpiresAt => Some("t.expires_at"),
            SortField::LastUsedAt => Some("t.last_used_at"),
        };
        let (limit, offset) = match &query.page {
            PageRequest::Numbered { page, per_page } => (
                *per_page,
                u64::from(page.saturating_sub(1)) * u64::from(*per_page),
            ),
            PageRequest::After { cursor, limit } => {
                if let Some(cursor) = cursor {
                    let op = if sort.descending { "<" } else { ">" };
                    let id = Arg::Id(cursor.id.into());
                    let key = match (sort.field, &cursor.key) {
                        (SortField::CreatedAt, _) => None,
                        (SortField::Name, CursorKey::Text(value)) if !value.contains('\0') => {
                            Some(Arg::Text(value.clone()))
                        }
                        (SortField::ExpiresAt | SortField::LastUsedAt, CursorKey::Int(value)) => {
                            Some(Arg::Int(*value))
                        }
                        // A cursor made for another sort (or forged) starts nowhere.
                        _ => {
                            conditions.plain(NOTHING);
                            None
                        }
                    };
                    match (key_column, key) {
                        (Some(column), Some(key)) => {
                            let key = conditions.arg(key);
                            let id = conditions.arg(id);
                            conditions.plain(format!("({column}, t.id) {op} ({key}, {id})"));
                        }
                        _ => conditions.bind(&format!("t.id {op} ?"), id),
                    }
                }
                (*limit, 0)
            }
        };
        Self {
            count,
            filter_sql: conditions.sql(),
            with: conditions.with,
            args: conditions.args,
            key_column,
            descending: sort.descending,
            limit,
            offset,
            dialect,
            // Found first, the tokens a name holds are ids: one plan suits any.
            plan_for_values: (query.name_contains.is_some() && found.is_none())
                || query.scope.is_some()
                || query.status == Some(TokenStatus::Expired)
                || query.expires_before.is_some()
                || query.expires_after.is_some()
                || query.last_used_before.is_some()
                || query.last_used_after.is_some(),
            marked_org,
            org_param: conditions.org,
        }
    }

    /// The query of the page, one row more than asked for (to tell whether another page
    /// follows), and its arguments; `None` when the page lies past the last of `total` rows.
    ///
    /// An offset walks the index entries it skips, so a numbered page past the middle of the
    /// list is read from its far end, in the opposite order: the last page costs what the
    /// first does, and the middle one is the deepest walk. The rows still come in the list's
    /// order. A page that [`Listing::mark_sql`] found the `mark` of (SQLite's deep pages) is
    /// read from it instead. `total` and the mark must come from the same snapshot as the
    /// page.
    pub fn page_sql(&self, total: Option<u64>, mark: Option<Mark>) -> Option<PageSql> {
        let fetch = self.fetch();
        let mut args = self.args.clone();
        let marked = mark.zip(total.and_then(|total| self.marked_span(total)));
        let (rows, reused) = match (total, marked) {
            (Some(total), _) if self.offset >= total => return None,
            (_, Some((mark, (first, rows)))) => {
                // In id order from the mark, whichever order the list is in; the numbers bound,
                // so that every such page is one statement.
                let rows = self.int_param(&mut args, rows);
                let skip = self.int_param(&mut args, first.saturating_sub(mark.before));
                let from = self.arg(&mut args, Arg::Id(mark.first_id));
                (
                    self.rows_of(&self.ids_sql(
                        &self.filters_from_mark(&from),
                        self.descending,
                        rows,
                        skip,
                    )),
                    true,
                )
            }
            (Some(total), None) if total - self.offset < self.offset => {
                // Rows [offset, end) of the list are rows [total - end, total - offset) of the
                // list read backwards.
                let end = total.min(self.offset + fetch);
                let rows = self.rows_of(&self.ids_sql(
                    &self.filter_sql,
                    true,
                    end - self.offset,
                    total - end,
                ));
                (rows, false)
            }
            _ => (
                self.rows_of(&self.ids_sql(&self.filter_sql, false, fetch, self.offset)),
                self.reads_from_the_top(),
            ),
        };
        Some(PageSql {
            sql: format!("{}{rows}", self.with),
            args,
            reused,
        })
    }

    /// Whether its statements start with a `WITH` that finds rows (see [`Conditions::with`]).
    pub fn starts_with_a_search(&self) -> bool {
        !self.with.is_empty()
    }

    /// The statement counting every match and its arguments, for numbered pages.
    pub fn count(&self) -> Option<(String, &[Arg])> {
        let (count, args) = self.count.as_ref()?;
        Some((format!("{}{count}", self.with), args))
    }

    /// For a numbered page near the start of the list, or on PostgreSQL at any depth of a
    /// marked listing (see [`Listing::mark_sql`]), one statement that reads the page and its
    /// total in one snapshot, with its arguments; `None` for other deep pages and for cursors
    /// (and SQLite's marked ones, read at no round trip's cost in its transaction). It spares a
    /// client/server store the round trips of a transaction (begin, count, mark, page,
    /// commit), and the page and its count share what `with` finds. Each row is a page's row
    /// followed by the total; an empty page is one row of NULLs and the total. A page near the
    /// start is always read forward: skipping at most [`NEAR_START`] index entries costs
    /// microseconds, where the reverse walk pays off only for a page past the middle of a long
    /// list.
    pub fn counted_page_sql(&self) -> Option<PageSql> {
        let (count, args) = self.count.as_ref()?;
        let mut args = args.clone();
        let (with, rows, reused) = if self.offset <= NEAR_START {
            let rows =
                self.rows_of(&self.ids_sql(&self.filter_sql, false, self.fetch(), self.offset));
            let with = format!(
                "{}SELECT p.*, n.total FROM (SELECT ({count}) AS total) n",
                self.with
            );
            (with, rows, self.reads_from_the_top())
        } else if self.marked_org.is_some() && self.dialect == Dialect::Postgres {
            let (with, rows) = self.marked_page(count, &mut args);
            (with, rows, true)
        } else {
            return None;
        };
        // By position: the view's columns repeat names (the token's and the owner's id).
        let position = |column: &str| {
            1 + token_and_owner_columns!()
                .split(", ")
                .position(|listed| listed == column)
                .expect("a sort's column is one of the token's")
        };
        let direction = if self.descending { "DESC" } else { "ASC" };
        let mut order = format!("{} {direction}", position("t.id"));
        if let Some(column) = self.key_column {
            order = format!("{} {direction}, {order}", position(column));
        }
        Some(PageSql {
            sql: format!("{with} LEFT JOIN ({rows}) p ON true ORDER BY {order}"),
            args,
            reused,
        })
    }

    /// For [`Listing::counted_page_sql`], a marked listing's page (see [`Listing::page_sql`])
    /// with the mark found and the positions worked out from the total within the statement:
    /// its start (`… FROM n`, the total's table) and its rows' statement, `count` the
    /// total's. The page's offset and length are bound, so that every page is one statement.
    fn marked_page(&self, count: &str, args: &mut Vec<Arg>) -> (String, String) {
        debug_assert!(self.with.is_empty(), "a marked listing finds no rows first");
        let org = self
            .org_param
            .as_deref()
            .expect("a marked listing reads one organization");
        let offset = self.int_param(args, self.offset);
        let fetch = self.int_param(args, self.fetch());
        // As in `marked_span`: the page's rows in id order, the first's place and how many.
        let end = format!("least(n.total, {offset} + {fetch})");
        let first = if self.descending {
            format!("n.total - {end}")
        } else {
            offset.clone()
        };
        let with = format!(
            "WITH n AS (SELECT ({count}) AS total), \
             s AS (SELECT {first} AS first, greatest({end} - {offset}, 0) AS rows FROM n), \
             m AS ({}) \
             SELECT p.*, n.total FROM n",
            mark_lookup(org, "(SELECT first FROM s)"),
        );
        // Without a mark (an organization with no tokens) the walk starts at the first id.
        let nil = self.arg(args, Arg::Id(Uuid::nil()));
        let ids = self.ids_sql(
            &self.filters_from_mark(&format!("coalesce((SELECT first_id FROM m), {nil})")),
            self.descending,
            "(SELECT rows FROM s)",
            "(SELECT first - coalesce((SELECT before FROM m), 0) FROM s)",
        );
        // A limit the planner cannot read, it takes for a tenth of the rows limited, and plans
        // a page of tens of thousands (a hash join over every token, or JIT compilation: 0.3 s
        // either way); the constant bounds its estimate by the page's size.
        let rows = self.rows_of(&format!(
            "SELECT id FROM ({ids}) ids LIMIT {}",
            self.fetch()
        ));
        (with, rows)
    }

    /// For a numbered page deep inside a whole organization's list in creation order, the
    /// statement that finds where it starts from the marks every store keeps (`token_marks`,
    /// see the migrations that made them: a mark is a token id, how many of the
    /// organization's tokens come before it in id order, and how many from it to the next
    /// mark), with its arguments. Its one row is the last mark at or before the page's first
    /// token in id order and how many tokens come before it: the [`Mark`] that
    /// [`Listing::page_sql`] reads the page from. `None` for any other listing, and for a page
    /// within [`NEAR_START`] rows of either end of the list, which the plain walk reaches as
    /// quickly. `total` must come from the same snapshot as the marks and the page. SQLite
    /// reads it in its read transaction; PostgreSQL finds the mark within the page's statement
    /// ([`Listing::counted_page_sql`]).
    pub fn mark_sql(&self, total: u64) -> Option<(String, Vec<Arg>)> {
        let org = self.marked_org?;
        let (first, _) = self.marked_span(total)?;
        let mut args = Vec::new();
        let org = self.arg(&mut args, Arg::Id(org));
        let first = self.int_param(&mut args, first);
        Some((mark_lookup(&org, &first), args))
    }

    /// For a marked listing, the page's rows as positions in id order: the first and how many
    /// (one more than a page holds, where the list has them); `None` for a page that lies past
    /// the end or near either end.
    fn marked_span(&self, total: u64) -> Option<(u64, u64)> {
        self.marked_org?;
        let end = total.min(self.offset.checked_add(self.fetch())?);
        if self.offset >= total || self.offset.min(total - end) <= NEAR_START {
            return None;
        }
        let first = if self.descending {
            total - end
        } else {
            self.offset
        };
        Some((first, end - self.offset))
    }

    /// Whether the page is the first rows of what it reads (a first numbered page, a cursor's
    /// page): its statement's text is then the same for every such page of the listing, where
    /// a deeper numbered page's carries its offset.
    pub fn reads_from_the_top(&self) -> bool {
        self.offset == 0
    }

    /// One row more than a page holds, to tell whether another page follows.
    fn fetch(&self) -> u64 {
        u64::from(self.limit) + 1
    }

    /// The statement selecting `limit` ids after `offset` (numbers, or parameters) of the
    /// tokens `filter_sql` (a WHERE clause over `tokens t`) lets through, in the list's order
    /// or `reversed`; [`Listing::rows_of`] reads their rows.
    fn ids_sql(
        &self,
        filter_sql: &str,
        reversed: bool,
        limit: impl std::fmt::Display,
        offset: impl std::fmt::Display,
    ) -> String {
        format!(
            "SELECT t.id FROM tokens t {filter_sql} ORDER BY {} LIMIT {limit} OFFSET {offset}",
            self.order(self.descending != reversed),
        )
    }

    /// The statement reading the token views of the ids `ids` selects, in the list's order.
    /// The page's ids come first, from the indexes alone; only then the lookups, for those
    /// rows: an offset skips its rows before any lookup is made for them.
    fn rows_of(&self, ids: &str) -> String {
        format!(
            "{} WHERE t.id IN ({ids}) ORDER BY {}",
            token_view_with(self.org_param.as_deref().unwrap_or("t.org_id")),
            self.order(self.descending)
        )
    }

    /// `value` appended to `args`, as its parameter.
    fn arg(&self, args: &mut Vec<Arg>, value: Arg) -> String {
        args.push(value);
        self.dialect.param(args.len())
    }

    /// A count or a position appended to `args`, as its parameter.
    fn int_param(&self, args: &mut Vec<Arg>, value: u64) -> String {
        self.arg(args, Arg::Int(i64::try_from(value).unwrap_or(i64::MAX)))
    }

    /// The listing's filters, and only the tokens from the mark whose id `mark_id` is on: a
    /// marked page's rows are read in id order from its mark.
    fn filters_from_mark(&self, mark_id: &str) -> String {
        format!("{} AND t.id >= {mark_id}", self.filter_sql)
    }

    /// The list's order, or its reverse.
    fn order(&self, descending: bool) -> String {
        let direction = if descending { "DESC" } else { "ASC" };
        match self.key_column {
            None => format!("t.id {direction}"),
            Some(column) => format!("{column} {direction}, t.id {direction}"),
        }
    }

    /// The page the rows of [`Listing::page_sql`] make, with the cursor to the next one.
    pub fn page(
        &self,
        query: &TokenQuery,
        mut tokens: Vec<TokenView>,
        total: Option<u64>,
    ) -> TokenPage {
        let limit = self.limit as usize;
        let more = tokens.len() > limit;
        tokens.truncate(limit);
        let sort = query.sort;
        let next_cursor = more.then(|| tokens.last()).flatten().map(|last| Cursor {
            sort,
            id: last.token.id,
            key: match sort.field {
                SortField::CreatedAt => CursorKey::None,
                SortField::Name => CursorKey::Text(last.token.name.to_string()),
                SortField::ExpiresAt => {
                    CursorKey::Int(last.token.expires_at.map_or(NEVER, Timestamp::unix))
                }
                SortField::LastUsedAt => {
                    CursorKey::Int(last.token.last_used_at.map_or(UNUSED, Timestamp::unix))
                }
            },
        });
        TokenPage {
            tokens,
            total,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use latchkey_core::OrgId;

    use super::*;

    fn page(org: OrgId, sort: &str, page: u32) -> TokenQuery {
        let mut query = TokenQuery::new(Timestamp::from_unix(1_800_000_000));
        query.org = Some(org);
        query.sort = sort.parse().unwrap();
        query.page = PageRequest::Numbered { page, per_page: 25 };
        query
    }

    #[test]
    fn marks_place_only_deep_pages_of_a_whole_organization() {
        let org = OrgId::new();
        let total = 1_000_000;
        let marked =
            |query: &TokenQuery| Listing::new(query, Dialect::Sqlite, None).mark_sql(total);

        let (_, args) = marked(&page(org, "created_at", 20_000)).expect("the middle page");
        assert_eq!(args, [Arg::Id(org.into()), Arg::Int(499_975)]);
        // Descending, its rows (and one more, to tell whether a page follows) are the tokens
        // 500,024 down to 499,999 in id order.
        let (_, args) = marked(&page(org, "-created_at", 20_000)).expect("the middle page");
        assert_eq!(args, [Arg::Id(org.into()), Arg::Int(499_999)]);

        // Near either end, the walk is as quick; past the end, there is nothing to read.
        for number in [1, 40, 39_960, 40_000, 40_001] {
            assert!(
                marked(&page(org, "created_at", number)).is_none(),
                "page {number}"
            );
        }
        // Any filter or other sort: the marks count the whole organization in id order.
        let mut active = page(org, "created_at", 20_000);
        active.status = Some(TokenStatus::Active);
        let mut named = page(org, "created_at", 20_000);
        named.name_contains = Some("deploy".to_owned());
        for query in [active, named, page(org, "name", 20_000)] {
            assert!(marked(&query).is_none(), "{query:?}");
            // Nor is such a page read with its total in one statement.
            let listing = Listing::new(&query, Dialect::Postgres, None);
            assert!(listing.counted_page_sql().is_none(), "{query:?}");
        }
        // On PostgreSQL a marked listing's page is, at any depth past the first thousand rows,
        // and its text is the same for every such page.
        let deep = |number| {
            Listing::new(&page(org, "-created_at", number), Dialect::Postgres, None)
                .counted_page_sql()
                .expect("a marked page")
        };
        let page = deep(20_000);
        assert!(
            page.sql.contains("token_marks") && page.reused,
            "{}",
            page.sql
        );
        assert_eq!(deep(39_000).sql, page.sql);
        assert_eq!(page.args[2..4], [Arg::Int(499_975), Arg::Int(26)]);
    }
}
