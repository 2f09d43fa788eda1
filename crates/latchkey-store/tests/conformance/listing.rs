//! Listing: every filter and sort checked against a model of the contract, numbered pages,
//! keyset pages, and keyset walks that stay exact while tokens come and go.

use std::cmp::Ordering;
use std::collections::HashSet;

use latchkey_core::{
    AccountId, Group, GroupId, OrgId, Organization, Reach, Role, Timestamp, Token, TokenId,
    TokenStatus, TokenView,
};
use latchkey_store::{Cursor, PageRequest, SortField, Store, TokenPage, TokenQuery, TokenSort};

use super::support::{
    DAY, Minted, NOW, Person, everything, ids, join, mint, names, new_group, now, now_plus, org,
    person, view,
};

/// Where a fixture token is minted.
#[derive(Clone, Copy)]
enum Place {
    AccountWide,
    Personal,
    Acme,
    East,
    West,
    Beta,
}

/// One fixture token; times are offsets from `NOW`.
struct Spec {
    owner: usize,
    place: Place,
    name: &'static str,
    scopes: &'static [&'static str],
    expires: Option<i64>,
    used: Option<i64>,
    revoked: bool,
}

const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;

/// Sixteen tokens that between them sit on every side of every filter: boundary times, ties on
/// every sort key, names with `%`, `_` and `\`, a revoked name reused by a live token.
#[rustfmt::skip]
const SPECS: &[Spec] = &[
    Spec { owner: ALICE, place: Place::Acme, name: "Deploy-Prod", scopes: &[], expires: None, used: None, revoked: true },
    Spec { owner: ALICE, place: Place::AccountWide, name: "Deploy-Prod", scopes: &[], expires: None, used: Some(-300), revoked: false },
    Spec { owner: ALICE, place: Place::Acme, name: "deploy staging", scopes: &["read"], expires: Some(1_000), used: None, revoked: false },
    Spec { owner: ALICE, place: Place::East, name: "CI_runner", scopes: &["tokens:read", "tokens:write"], expires: Some(-100), used: Some(-500), revoked: false },
    Spec { owner: ALICE, place: Place::West, name: "ci-runner", scopes: &["read"], expires: Some(0), used: None, revoked: false },
    Spec { owner: BOB, place: Place::Acme, name: "100% coverage", scopes: &["db:create"], expires: None, used: Some(-100), revoked: false },
    Spec { owner: BOB, place: Place::East, name: "100 percent", scopes: &[], expires: Some(500), used: Some(0), revoked: false },
    Spec { owner: BOB, place: Place::Acme, name: "back\\slash", scopes: &["read"], expires: Some(-1_000), used: None, revoked: true },
    Spec { owner: BOB, place: Place::AccountWide, name: "under_score", scopes: &["tokens:read"], expires: None, used: None, revoked: false },
    Spec { owner: BOB, place: Place::Acme, name: "underXscore", scopes: &["read"], expires: Some(2_000), used: Some(-1_000), revoked: false },
    Spec { owner: CAROL, place: Place::Beta, name: "deploy beta", scopes: &["read"], expires: Some(1_000), used: Some(-300), revoked: false },
    Spec { owner: CAROL, place: Place::AccountWide, name: "Zeta", scopes: &[], expires: None, used: None, revoked: true },
    Spec { owner: BOB, place: Place::Beta, name: "deploy-prod", scopes: &["read"], expires: Some(1_000), used: None, revoked: false },
    Spec { owner: ALICE, place: Place::Personal, name: "a_b", scopes: &["read", "tokens:read"], expires: Some(10), used: Some(-300), revoked: false },
    Spec { owner: CAROL, place: Place::Beta, name: "ABC", scopes: &["db:create", "read"], expires: Some(-5_000), used: Some(-2_000), revoked: false },
    Spec { owner: BOB, place: Place::West, name: "zz top", scopes: &["tokens:read"], expires: None, used: Some(-50), revoked: true },
];

/// When the fixture's revoked tokens were revoked.
const REVOKED_AT: i64 = NOW - 30;

struct World {
    people: [Person; 3],
    acme: Organization,
    beta: Organization,
    east: Group,
    west: Group,
    /// Every token as stored, oldest first.
    tokens: Vec<TokenView>,
}

async fn world(store: &dyn Store) -> World {
    let people = [
        person(store, "alice").await,
        person(store, "bob").await,
        person(store, "carol").await,
    ];
    let acme = org(store, "acme", &people[ALICE]).await;
    let beta = org(store, "beta", &people[CAROL]).await;
    join(store, &acme, &people[BOB], Role::Member).await;
    join(store, &beta, &people[BOB], Role::Member).await;
    let east = new_group(store, &acme, "east").await;
    let west = new_group(store, &acme, "west").await;

    let mut tokens = Vec::new();
    for spec in SPECS {
        let owner = &people[spec.owner];
        let draft = match spec.place {
            Place::AccountWide => mint(owner, &owner.personal, spec.name).account_wide(),
            Place::Personal => mint(owner, &owner.personal, spec.name),
            Place::Acme => mint(owner, &acme, spec.name),
            Place::East => mint(owner, &acme, spec.name).in_group(&east),
            Place::West => mint(owner, &acme, spec.name).in_group(&west),
            Place::Beta => mint(owner, &beta, spec.name),
        };
        let minted = draft
            .scopes(spec.scopes)
            .expires(spec.expires.map(now_plus))
            .last_used(spec.used.map(now_plus))
            .insert(store)
            .await;
        let stored = if spec.revoked {
            store
                .revoke_token(minted.id(), Timestamp::from_unix(REVOKED_AT))
                .await
                .expect("revoke a fixture token")
                .0
        } else {
            view(store, minted.id()).await
        };
        tokens.push(stored);
    }
    World {
        people,
        acme,
        beta,
        east,
        west,
        tokens,
    }
}

impl World {
    fn id(&self, who: usize) -> AccountId {
        self.people[who].id()
    }

    /// What `query` must return: the model of every filter and sort, with its total.
    fn expect(&self, query: &TokenQuery) -> Vec<TokenView> {
        let mut matching: Vec<TokenView> = self
            .tokens
            .iter()
            .filter(|view| model_matches(query, &view.token))
            .cloned()
            .collect();
        matching.sort_by(|a, b| model_order(query.sort, &a.token, &b.token));
        matching
    }
}

/// The listing contract, one filter at a time.
fn model_matches(query: &TokenQuery, token: &Token) -> bool {
    let contains = |needle: &String| {
        token
            .name
            .as_str()
            .to_lowercase()
            .contains(&needle.to_lowercase())
    };
    query.org.is_none_or(|org| token.org == org)
        && query.owner.is_none_or(|owner| token.owner == owner)
        && query.group.is_none_or(|group| token.group() == Some(group))
        && !(query.exclude_account_wide && token.reach == Reach::Account)
        && !(query.exclude_revoked && token.revoked_at.is_some())
        && query
            .status
            .is_none_or(|status| token.status(query.now) == status)
        && query.name_contains.as_ref().is_none_or(contains)
        && query
            .scope
            .as_ref()
            .is_none_or(|scope| token.scopes.contains(scope))
        && before(query.expires_before, token.expires_at)
        && after(query.expires_after, token.expires_at)
        && before(query.last_used_before, token.last_used_at)
        && after(query.last_used_after, token.last_used_at)
}

/// A `*_before` bound: strict, and a token without the date never matches.
fn before(bound: Option<Timestamp>, value: Option<Timestamp>) -> bool {
    bound.is_none_or(|bound| value.is_some_and(|value| value < bound))
}

fn after(bound: Option<Timestamp>, value: Option<Timestamp>) -> bool {
    bound.is_none_or(|bound| value.is_some_and(|value| value > bound))
}

/// The listing order: the sort key (names by their bytes, never expiring after every expiry,
/// never used before every use), then the id, all reversed when descending.
fn model_order(sort: TokenSort, a: &Token, b: &Token) -> Ordering {
    let by_key = match sort.field {
        SortField::CreatedAt => a.created_at.cmp(&b.created_at),
        SortField::Name => a.name.as_str().as_bytes().cmp(b.name.as_str().as_bytes()),
        SortField::ExpiresAt => {
            (a.expires_at.is_none(), a.expires_at).cmp(&(b.expires_at.is_none(), b.expires_at))
        }
        SortField::LastUsedAt => a.last_used_at.cmp(&b.last_used_at),
    };
    let ordering = by_key.then(a.id.cmp(&b.id));
    if sort.descending {
        ordering.reverse()
    } else {
        ordering
    }
}

fn all_sorts() -> Vec<TokenSort> {
    [
        "created_at",
        "-created_at",
        "name",
        "-name",
        "expires_at",
        "-expires_at",
        "last_used_at",
        "-last_used_at",
    ]
    .into_iter()
    .map(|sort| sort.parse().expect("a sort"))
    .collect()
}

const STATUSES: [Option<TokenStatus>; 4] = [
    None,
    Some(TokenStatus::Active),
    Some(TokenStatus::Expired),
    Some(TokenStatus::Revoked),
];

fn keyset(cursor: Option<Cursor>, limit: u32) -> PageRequest {
    PageRequest::After { cursor, limit }
}

fn numbered(page: u32, per_page: u32) -> PageRequest {
    PageRequest::Numbered { page, per_page }
}

/// Lists and checks the page against the model: the tokens in order and the exact total.
async fn assert_lists(store: &dyn Store, world: &World, label: &str, query: &TokenQuery) {
    let page = store.list_tokens(query).await.expect("list tokens");
    let expected = world.expect(query);
    assert_eq!(
        ids(&page),
        expected.iter().map(|v| v.token.id).collect::<Vec<_>>(),
        "{label}: the tokens, in order"
    );
    assert_eq!(page.tokens, expected, "{label}: the views as stored");
    assert_eq!(
        page.total,
        Some(expected.len() as u64),
        "{label}: the total"
    );
}

/// Walks every keyset page of `query` with pages of `limit`, checking the shape of each page.
async fn walk(store: &dyn Store, query: &TokenQuery, limit: u32, label: &str) -> Vec<TokenPage> {
    let mut query = query.clone();
    let mut pages: Vec<TokenPage> = Vec::new();
    let mut cursor = None;
    loop {
        query.page = keyset(cursor, limit);
        let page = store.list_tokens(&query).await.expect("list a page");
        assert!(
            page.tokens.len() <= limit as usize,
            "{label}: a page holds at most its limit"
        );
        let next = page.next_cursor.clone();
        pages.push(page);
        assert!(pages.len() <= 1_000, "{label}: the walk ends");
        match next {
            None => return pages,
            Some(next) => {
                assert_eq!(
                    pages.last().map(|p| p.tokens.len()),
                    Some(limit as usize),
                    "{label}: only the last page is short"
                );
                cursor = Some(Cursor::decode(&next.encode()).expect("a cursor survives a URL"));
            }
        }
    }
}

pub async fn every_filter_matches_the_model(store: &dyn Store) {
    let w = world(store).await;
    let (alice, bob) = (w.id(ALICE), w.id(BOB));
    let case = |label: &'static str, edit: &dyn Fn(&mut TokenQuery)| {
        let mut query = everything();
        edit(&mut query);
        (label, query)
    };
    let text = |s: &str| Some(s.to_owned());
    let cases = [
        case("no filter", &|_| {}),
        case("org acme", &|q| q.org = Some(w.acme.id)),
        case("org beta", &|q| q.org = Some(w.beta.id)),
        case("personal org", &|q| {
            q.org = Some(w.people[ALICE].personal.id)
        }),
        case("owner alice", &|q| q.owner = Some(alice)),
        case("owner bob", &|q| q.owner = Some(bob)),
        case("org acme, owner bob", &|q| {
            q.org = Some(w.acme.id);
            q.owner = Some(bob);
        }),
        case("owner alice, no org", &|q| {
            q.owner = Some(alice);
            q.org = None;
        }),
        case("group east", &|q| q.group = Some(w.east.id)),
        case("group west", &|q| q.group = Some(w.west.id)),
        case("exclude account-wide", &|q| q.exclude_account_wide = true),
        case("personal org, exclude account-wide", &|q| {
            q.org = Some(w.people[ALICE].personal.id);
            q.exclude_account_wide = true;
        }),
        case("active", &|q| q.status = Some(TokenStatus::Active)),
        case("expired", &|q| q.status = Some(TokenStatus::Expired)),
        case("revoked", &|q| q.status = Some(TokenStatus::Revoked)),
        case("not revoked", &|q| q.exclude_revoked = true),
        case("not revoked, expired", &|q| {
            q.exclude_revoked = true;
            q.status = Some(TokenStatus::Expired);
        }),
        case("name deploy", &|q| q.name_contains = text("deploy")),
        case("name DEPLOY", &|q| q.name_contains = text("DEPLOY")),
        case("name ci-R", &|q| q.name_contains = text("ci-R")),
        case("name %", &|q| q.name_contains = text("%")),
        case("name _", &|q| q.name_contains = text("_")),
        case("name \\", &|q| q.name_contains = text("\\")),
        case("scope read", &|q| q.scope = text("read")),
        case("scope tokens:read", &|q| q.scope = text("tokens:read")),
        case("scope db:create", &|q| q.scope = text("db:create")),
        case("scope webhooks:write (none)", &|q| {
            q.scope = text("webhooks:write");
        }),
        case("expires before now", &|q| q.expires_before = Some(now())),
        case("expires after now", &|q| q.expires_after = Some(now())),
        case("expires before +1000", &|q| {
            q.expires_before = Some(now_plus(1_000));
        }),
        case("expires after +1000", &|q| {
            q.expires_after = Some(now_plus(1_000))
        }),
        case("expires between", &|q| {
            q.expires_after = Some(now_plus(-1_000));
            q.expires_before = Some(now_plus(1_000));
        }),
        case("used before -300", &|q| {
            q.last_used_before = Some(now_plus(-300))
        }),
        case("used after -300", &|q| {
            q.last_used_after = Some(now_plus(-300))
        }),
        case("used before +1", &|q| {
            q.last_used_before = Some(now_plus(1))
        }),
        case("used after the epoch", &|q| {
            q.last_used_after = Some(Timestamp::from_unix(1))
        }),
        case("used after now (none)", &|q| {
            q.last_used_after = Some(now())
        }),
        case("used after the first instant", &|q| {
            q.last_used_after = Some(Timestamp::MIN);
        }),
        case("used before the last instant", &|q| {
            q.last_used_before = Some(Timestamp::MAX);
        }),
        case("expires after the first instant", &|q| {
            q.expires_after = Some(Timestamp::MIN);
        }),
        case("expires before the last instant", &|q| {
            q.expires_before = Some(Timestamp::MAX);
        }),
        case("acme, active, scope read", &|q| {
            q.org = Some(w.acme.id);
            q.status = Some(TokenStatus::Active);
            q.scope = text("read");
        }),
        case("bob, not account-wide, name score", &|q| {
            q.owner = Some(bob);
            q.exclude_account_wide = true;
            q.name_contains = text("score");
        }),
        case("east, expired", &|q| {
            q.group = Some(w.east.id);
            q.status = Some(TokenStatus::Expired);
        }),
        case("expires after now, used after -400", &|q| {
            q.expires_after = Some(now());
            q.last_used_after = Some(now_plus(-400));
        }),
        case("revoked, beta (none)", &|q| {
            q.status = Some(TokenStatus::Revoked);
            q.org = Some(w.beta.id);
        }),
    ];
    for (label, query) in &cases {
        let expected = w.expect(query);
        assert_eq!(
            expected.is_empty(),
            label.ends_with("(none)"),
            "{label}: the fixture has tokens on both sides of the filter"
        );
        if !label.ends_with("(none)") && *label != "no filter" {
            assert!(
                expected.len() < w.tokens.len(),
                "{label}: the filter narrows"
            );
        }
        assert_lists(store, &w, label, query).await;
    }
}

pub async fn name_contains_is_partial_case_insensitive_and_literal(store: &dyn Store) {
    let w = world(store).await;
    let names_matching = async |needle: &str| -> Vec<String> {
        let mut query = everything();
        query.name_contains = Some(needle.to_owned());
        query.sort = "name".parse().expect("a sort");
        names(&store.list_tokens(&query).await.expect("list tokens"))
    };
    let expect = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();

    assert_eq!(
        names_matching("DePlOy").await,
        expect(&[
            "Deploy-Prod",
            "Deploy-Prod",
            "deploy beta",
            "deploy staging",
            "deploy-prod"
        ])
    );
    assert_eq!(
        names_matching("prod").await,
        expect(&["Deploy-Prod", "Deploy-Prod", "deploy-prod"])
    );
    assert_eq!(names_matching("zz top").await, expect(&["zz top"]));
    assert_eq!(names_matching("%").await, expect(&["100% coverage"]));
    assert_eq!(names_matching("0%").await, expect(&["100% coverage"]));
    assert_eq!(names_matching("100%").await, expect(&["100% coverage"]));
    assert_eq!(
        names_matching("_").await,
        expect(&["CI_runner", "a_b", "under_score"])
    );
    assert_eq!(names_matching("r_s").await, expect(&["under_score"]));
    assert_eq!(names_matching("a_").await, expect(&["a_b"]));
    assert_eq!(names_matching("\\").await, expect(&["back\\slash"]));
    assert_eq!(names_matching("k\\s").await, expect(&["back\\slash"]));
    assert_eq!(names_matching("%_%").await, expect(&[]));
    assert_eq!(names_matching("[a]").await, expect(&[]));
    assert_eq!(names_matching("*").await, expect(&[]));
    // Quotes and query words are text, not syntax of the trigram index's query language.
    assert_eq!(names_matching("\" OR \"").await, expect(&[]));
    assert_eq!(names_matching("prod\"").await, expect(&[]));
    assert_eq!(names_matching("NEAR(").await, expect(&[]));
    assert_eq!(
        names_matching("a\0").await,
        expect(&[]),
        "a NUL matches nothing (and fails nowhere)"
    );
    assert_eq!(w.tokens.len(), SPECS.len());
}

pub async fn status_is_judged_at_the_querys_now(store: &dyn Store) {
    let w = world(store).await;
    for offset in [-10_000, -1_000, -100, -1, 0, 1, 10, 1_000, 10_000] {
        for status in [
            TokenStatus::Active,
            TokenStatus::Expired,
            TokenStatus::Revoked,
        ] {
            let mut query = everything();
            query.now = now_plus(offset);
            query.status = Some(status);
            assert_lists(store, &w, &format!("{status} at now{offset:+}"), &query).await;
        }
    }
    // At the instant a token expires it is expired: the boundary token of the fixture.
    let mut query = everything();
    query.status = Some(TokenStatus::Expired);
    query.name_contains = Some("ci-runner".to_owned());
    assert_eq!(store.list_tokens(&query).await.unwrap().total, Some(1));
}

pub async fn every_sort_orders_every_token(store: &dyn Store) {
    let w = world(store).await;
    for sort in all_sorts() {
        let mut query = everything();
        query.sort = sort;
        assert_lists(store, &w, &format!("{sort:?}"), &query).await;
        query.org = Some(w.acme.id);
        query.status = Some(TokenStatus::Active);
        assert_lists(store, &w, &format!("{sort:?}, active in acme"), &query).await;
    }
}

pub async fn numbered_pages_partition_the_list_with_exact_total(store: &dyn Store) {
    let w = world(store).await;
    let mut filtered = everything();
    filtered.exclude_account_wide = true;
    // A whole organization, by status or not, is counted from its counters.
    let mut bases = vec![everything(), filtered];
    for status in STATUSES {
        let mut whole_org = everything();
        whole_org.org = Some(w.acme.id);
        whole_org.status = status;
        bases.push(whole_org);
    }
    for base in bases {
        let expected_total = w.expect(&base).len();
        for sort in all_sorts() {
            for per_page in [1, 3, 4, 16, 50] {
                let label = format!("{:?}, {sort:?}, {per_page} a page", base.status);
                let mut query = base.clone();
                query.sort = sort;
                let pages = expected_total.div_ceil(per_page as usize) as u32;
                let mut seen = Vec::new();
                for number in 1..=pages + 1 {
                    query.page = numbered(number, per_page);
                    let page = store.list_tokens(&query).await.unwrap();
                    assert_eq!(
                        page.total,
                        Some(expected_total as u64),
                        "{label}: the total on every page"
                    );
                    if number <= pages {
                        assert!(!page.tokens.is_empty(), "{label}: page {number} has tokens");
                    } else {
                        assert!(page.tokens.is_empty(), "{label}: past the last page");
                    }
                    seen.extend(page.tokens);
                }
                assert_eq!(seen, w.expect(&query), "{label}: the pages in turn");
            }
        }
    }
}

/// Numbered pages of a list of thousands of tokens, near its start (which a store may read
/// with its count in one statement), deep (read after the count, or from a whole
/// organization's marks) and past its middle (read from the far end), are the pages of the
/// keyset walk, each with the walk's total. The tokens arrive out of id order, as an import
/// and racing mints bring them: most in order, then older ones newest first, then some
/// from between the others.
pub async fn deep_numbered_pages_are_the_keyset_walk(store: &dyn Store) {
    const TOKENS: usize = 3_500;
    const PER_PAGE: u32 = 100;
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &alice).await;
    join(store, &acme, &bob, Role::Member).await;
    let minted: Vec<Minted> = (0..TOKENS)
        .map(|n| {
            let owner = if n % 3 == 0 { &bob } else { &alice };
            // 7919 is prime to 3,500: every name once, in an order unlike the ids'.
            let name = format!("deep {:04}", n * 7919 % TOKENS);
            let expiry = if n % 10 == 0 { -100 } else { 1_000 + n as i64 };
            mint(owner, &acme, &name)
                .expires(Some(now_plus(expiry)))
                .build()
        })
        .collect();
    let revoked: Vec<TokenId> = minted.iter().step_by(17).map(Minted::id).collect();
    let between = |n: &usize| *n >= 700 && n % 7 == 3;
    let in_order = (700..TOKENS).filter(|n| !between(n)).collect::<Vec<_>>();
    let older = (0..700).rev().collect();
    let held_back = (700..TOKENS).filter(between).collect();
    for batch in [in_order, older, held_back] {
        store
            .insert_tokens(
                batch
                    .into_iter()
                    .map(|n: usize| (minted[n].token.clone(), minted[n].hash()))
                    .collect(),
            )
            .await
            .expect("insert the tokens");
    }
    for id in revoked {
        store.revoke_token(id, now()).await.expect("revoke");
    }

    let mut whole_org = everything();
    whole_org.org = Some(acme.id);
    let mut active = whole_org.clone();
    active.status = Some(TokenStatus::Active);
    // Not a whole organization's listing: counted from its matches, not from the counters.
    let mut filtered = whole_org.clone();
    filtered.exclude_account_wide = true;
    // Every name holds it: the name index's matches, found for the count and for the page.
    let mut named = whole_org.clone();
    named.name_contains = Some("EEP ".to_owned());
    for base in [whole_org, active, filtered, named] {
        for sort in ["created_at", "-created_at", "name", "-expires_at"] {
            let mut query = base.clone();
            query.sort = sort.parse().expect("a sort");
            let label = format!("{:?}, {:?} by {sort}", base.status, base.name_contains);
            let walked: Vec<TokenView> = walk(store, &query, PER_PAGE, &label)
                .await
                .into_iter()
                .flat_map(|page| page.tokens)
                .collect();
            assert!(
                walked.len() > 2_500,
                "{label}: pages a thousand tokens from either end"
            );
            let pages = walked.len().div_ceil(PER_PAGE as usize) as u32;
            let mut seen = Vec::new();
            for number in 1..=pages + 1 {
                query.page = numbered(number, PER_PAGE);
                let page = store.list_tokens(&query).await.expect("list a page");
                assert_eq!(
                    page.total,
                    Some(walked.len() as u64),
                    "{label}: the total of page {number}"
                );
                seen.extend(page.tokens);
            }
            assert_eq!(seen, walked, "{label}: the numbered pages in turn");
        }
    }
}

/// Checks that the total of every whole-organization listing and of every listing of a group
/// with tokens there, deleted groups too (from the counters), is the number of tokens a keyset
/// walk of the same listing finds, judged now, days before (when nothing has expired) and days
/// after (when the fixture's expiries lie on days before "today"). A group is listed alone and
/// with each organization: its own, and others, where it has no tokens.
pub async fn assert_counted_totals(store: &dyn Store, orgs: &[&Organization], label: &str) {
    assert_counted_totals_at(store, orgs, &[-3 * DAY, 0, DAY + 7, 40 * DAY], label).await;
}

/// [`assert_counted_totals`], judged at each of `offsets` from now.
pub async fn assert_counted_totals_at(
    store: &dyn Store,
    orgs: &[&Organization],
    offsets: &[i64],
    label: &str,
) {
    let mut groups = HashSet::new();
    for org in orgs {
        let label = format!("{label}: {}", org.slug);
        assert_totals(store, Some(org.id), None, offsets, &label).await;
        let mut query = everything();
        query.org = Some(org.id);
        for page in walk(store, &query, 100, &label).await {
            groups.extend(page.tokens.iter().filter_map(|v| v.token.group()));
        }
    }
    for group in groups {
        let label = format!("{label}: group {group:?}");
        assert_totals(store, None, Some(group), offsets, &label).await;
        for org in orgs {
            let label = format!("{label} in {}", org.slug);
            assert_totals(store, Some(org.id), Some(group), offsets, &label).await;
        }
    }
}

async fn assert_totals(
    store: &dyn Store,
    org: Option<OrgId>,
    group: Option<GroupId>,
    offsets: &[i64],
    label: &str,
) {
    for &offset in offsets {
        for status in STATUSES {
            let label = format!("{label}, {status:?}, now + {offset} s");
            let mut query = TokenQuery::new(now_plus(offset));
            query.page = numbered(1, 1_000);
            query.org = org;
            query.group = group;
            query.status = status;
            let total = store.list_tokens(&query).await.unwrap().total;
            let walked: usize = walk(store, &query, 7, &label)
                .await
                .iter()
                .map(|page| page.tokens.len())
                .sum();
            assert_eq!(total, Some(walked as u64), "{label}: the total");
        }
    }
}

pub async fn counted_totals_follow_every_write(store: &dyn Store) {
    let w = world(store).await;
    let orgs = [&w.acme, &w.beta];
    assert_counted_totals(store, &orgs, "the fixture").await;

    let in_beta = (0..5).map(|n| mint(&w.people[BOB], &w.beta, &format!("bulk {n}")).build());
    let in_groups = (0..4).map(|n| {
        let group = if n % 2 == 0 { &w.east } else { &w.west };
        let mut minted = mint(&w.people[ALICE], &w.acme, &format!("bulk in group {n}"))
            .in_group(group)
            .build();
        // Stored revoked, as an import may: counted as revoked from the start.
        if n < 2 {
            minted.token.revoked_at = Some(now());
        }
        minted
    });
    let bulk = in_beta
        .chain(in_groups)
        .map(|minted| {
            let hash = minted.hash();
            (minted.token, hash)
        })
        .collect();
    store.insert_tokens(bulk).await.unwrap();
    assert_counted_totals(store, &orgs, "after a bulk insert").await;

    let revoke = w
        .tokens
        .iter()
        .find(|v| v.token.revoked_at.is_none())
        .unwrap();
    store.revoke_token(revoke.token.id, now()).await.unwrap();
    store.revoke_token(revoke.token.id, now()).await.unwrap();
    assert_counted_totals(store, &orgs, "after a revocation, twice").await;
    let in_west = w
        .tokens
        .iter()
        .find(|v| v.token.group() == Some(w.west.id))
        .unwrap();
    store.revoke_token(in_west.token.id, now()).await.unwrap();
    assert_counted_totals(store, &orgs, "after a revocation in a group").await;

    store.delete_group(w.east.id, now()).await.unwrap();
    assert_counted_totals(store, &orgs, "after a group's deletion").await;
    store
        .remove_member(w.acme.id, w.id(BOB), now())
        .await
        .unwrap();
    assert_counted_totals(store, &orgs, "after a member's removal").await;
    store.delete_account(w.id(BOB), now()).await.unwrap();
    assert_counted_totals(store, &orgs, "after an account's deletion").await;
    store.delete_organization(w.beta.id, now()).await.unwrap();
    assert_counted_totals(store, &orgs, "after an organization's deletion").await;
}

/// Folding the counts of past expiry days changes no total listed at the fold's time or
/// after: at once, after a token of a folded day is revoked (its day counted apart again), at
/// a second fold, and at a fold forty days on, which folds the fixture's own day.
pub async fn folded_counters_keep_every_total(store: &dyn Store) {
    let w = world(store).await;
    let orgs = [&w.acme, &w.beta];
    // Tokens that expired on each of the ten days before the fixture's, a third in a group, a
    // few in the other organization, one revoked as it is stored.
    let expired: Vec<_> = (1..=10)
        .map(|days| {
            let (owner, org) = if days % 4 == 0 {
                (&w.people[BOB], &w.beta)
            } else {
                (&w.people[ALICE], &w.acme)
            };
            let draft = mint(owner, org, &format!("expired {days} days ago"));
            let draft = if days % 3 == 0 && org.id == w.acme.id {
                draft.in_group(&w.east)
            } else {
                draft
            };
            let mut minted = draft.expires(Some(now_plus(-days * DAY))).build();
            if days == 7 {
                minted.token.revoked_at = Some(now());
            }
            let hash = minted.hash();
            (minted.token, hash)
        })
        .collect();
    let folded = expired[4].0.id;
    store.insert_tokens(expired).await.unwrap();
    let after_now = [0, DAY + 7, 40 * DAY];
    assert_counted_totals_at(store, &orgs, &after_now, "before a fold").await;

    store.fold_counters(now()).await.unwrap();
    assert_counted_totals_at(store, &orgs, &after_now, "after a fold").await;
    store.revoke_token(folded, now()).await.unwrap();
    let label = "after a folded day's token is revoked";
    assert_counted_totals_at(store, &orgs, &after_now, label).await;
    store.fold_counters(now()).await.unwrap();
    assert_counted_totals_at(store, &orgs, &after_now, "after a second fold").await;
    store.fold_counters(now_plus(40 * DAY)).await.unwrap();
    let label = "after a fold forty days on";
    assert_counted_totals_at(store, &orgs, &[40 * DAY], label).await;
}

pub async fn keyset_pages_partition_the_list_and_the_last_has_no_cursor(store: &dyn Store) {
    let w = world(store).await;
    let mut filtered = everything();
    filtered.owner = Some(w.id(BOB));
    filtered.status = Some(TokenStatus::Active);
    for base in [everything(), filtered] {
        let expected = w.expect(&base).len();
        for sort in all_sorts() {
            let mut query = base.clone();
            query.sort = sort;
            let expected_views = w.expect(&query);
            for limit in [1, 2, 3, 4, 16, 17] {
                let label = format!("{sort:?}, {limit} a page");
                let pages = walk(store, &query, limit, &label).await;
                assert_eq!(
                    pages.len(),
                    expected.div_ceil(limit as usize).max(1),
                    "{label}: no empty page after a full last one"
                );
                assert!(
                    pages.iter().all(|p| p.total.is_none()),
                    "{label}: keyset pages are not counted"
                );
                let seen: Vec<TokenView> = pages.into_iter().flat_map(|p| p.tokens).collect();
                assert_eq!(seen, expected_views, "{label}: the pages in turn");
            }
        }
    }
}

pub async fn empty_listing_has_no_cursor(store: &dyn Store) {
    let mut query = everything();
    for page in [numbered(1, 10), keyset(None, 10)] {
        query.page = page;
        let listed = store.list_tokens(&query).await.unwrap();
        assert!(listed.tokens.is_empty() && listed.total.unwrap_or(0) == 0);
        assert!(listed.next_cursor.is_none());
    }
    world(store).await;
    query.name_contains = Some("no such token".to_owned());
    for page in [numbered(1, 10), keyset(None, 10)] {
        query.page = page;
        let listed = store.list_tokens(&query).await.unwrap();
        assert!(listed.tokens.is_empty() && listed.total.unwrap_or(0) == 0);
        assert!(listed.next_cursor.is_none());
    }
}

/// SplitMix64: a small, seeded generator, so that a failing walk can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound
    }

    fn offset(&mut self, values: u64, step: i64) -> i64 {
        i64::try_from(self.below(values)).expect("small") * step
    }
}

/// An organization whose tokens change at random under a walk.
struct Churn<'a> {
    store: &'a dyn Store,
    org: Organization,
    people: &'a [Person],
    rng: Rng,
    live: Vec<Minted>,
    minted: usize,
}

impl Churn<'_> {
    /// Mints a token with random sort keys, often tied with others'.
    async fn mint(&mut self) -> TokenId {
        const NAMES: &[&str] = &["alpha", "Alpha", "beta", "b", "beta%", "gamma_1", "zeta"];
        let owner = &self.people[self.rng.below(self.people.len() as u64) as usize];
        let base = NAMES[self.rng.below(NAMES.len() as u64) as usize];
        let taken = self
            .live
            .iter()
            .any(|t| t.token.owner == owner.id() && t.token.name.as_str() == base);
        let name = if taken {
            format!("{base} {}", self.minted)
        } else {
            base.to_owned()
        };
        let expires = (self.rng.below(3) > 0).then(|| now_plus(self.rng.offset(7, 100) - 300));
        let used = (self.rng.below(3) > 0).then(|| now_plus(-self.rng.offset(5, 100)));
        let token = mint(owner, &self.org, &name)
            .expires(expires)
            .last_used(used)
            .insert(self.store)
            .await;
        self.minted += 1;
        let id = token.id();
        self.live.push(token);
        id
    }

    async fn revoke_one(&mut self) {
        if self.live.is_empty() {
            return;
        }
        let index = self.rng.below(self.live.len() as u64) as usize;
        let token = self.live.swap_remove(index);
        self.store
            .revoke_token(token.id(), now())
            .await
            .expect("revoke");
    }

    /// Mints up to two tokens and revokes up to two.
    async fn step(&mut self) {
        for _ in 0..self.rng.below(3) {
            self.mint().await;
        }
        for _ in 0..self.rng.below(3) {
            self.revoke_one().await;
        }
    }
}

pub async fn keyset_walk_is_stable_while_tokens_are_minted_and_revoked(store: &dyn Store) {
    for (index, sort) in all_sorts().into_iter().enumerate() {
        for round in 0..3_u64 {
            let seed = (index as u64) << 8 | round;
            let label = format!("{sort:?}, seed {seed}");
            // Fresh owners per walk: token names are unique per owner across organizations.
            let people = [
                person(store, &format!("alice-{seed}")).await,
                person(store, &format!("bob-{seed}")).await,
                person(store, &format!("carol-{seed}")).await,
            ];
            let org = org(store, &format!("walk-{seed}"), &people[0]).await;
            join(store, &org, &people[1], Role::Member).await;
            join(store, &org, &people[2], Role::Admin).await;
            let mut churn = Churn {
                store,
                org,
                people: &people,
                rng: Rng(seed),
                live: Vec::new(),
                minted: 0,
            };
            let mut before = HashSet::new();
            for _ in 0..10 + churn.rng.below(25) {
                before.insert(churn.mint().await);
            }
            for _ in 0..churn.rng.below(4) {
                churn.revoke_one().await;
            }

            let limit = 1 + churn.rng.below(6) as u32;
            let mut query = everything();
            query.org = Some(churn.org.id);
            query.sort = sort;
            let mut cursor = None;
            let mut seen: Vec<TokenView> = Vec::new();
            let mut pages = 0;
            loop {
                query.page = keyset(cursor, limit);
                let page = store.list_tokens(&query).await.expect("list a page");
                assert_eq!(page.total, None, "{label}: keyset pages are not counted");
                assert!(page.tokens.len() <= limit as usize, "{label}: the limit");
                assert!(
                    page.tokens.iter().all(|v| v.token.org == churn.org.id),
                    "{label}: the filter holds"
                );
                seen.extend(page.tokens);
                let Some(next) = page.next_cursor else { break };
                cursor = Some(Cursor::decode(&next.encode()).expect("a cursor survives a URL"));
                pages += 1;
                assert!(pages <= 1_000, "{label}: the walk ends");
                // Churn under the first pages only: new tokens land after an ascending
                // created_at cursor, and a walk that keeps finding them would never end.
                if pages <= 8 {
                    churn.step().await;
                }
            }

            for pair in seen.windows(2) {
                assert_eq!(
                    model_order(sort, &pair[0].token, &pair[1].token),
                    Ordering::Less,
                    "{label}: every page continues where the last one stopped"
                );
            }
            let seen_ids: Vec<TokenId> = seen.iter().map(|v| v.token.id).collect();
            let distinct: HashSet<TokenId> = seen_ids.iter().copied().collect();
            assert_eq!(distinct.len(), seen_ids.len(), "{label}: no token twice");
            let missed: Vec<&TokenId> = before.difference(&distinct).collect();
            assert!(
                missed.is_empty(),
                "{label}: every token of before the walk, missed {missed:?}"
            );
        }
    }
}

pub async fn name_contains_folds_unicode_case(store: &dyn Store) {
    let owner = person(store, "dora").await;
    let home = org(store, "cafe", &owner).await;
    for name in ["Café Token", "ÉCOLE", "plain"] {
        mint(&owner, &home, name).insert(store).await;
    }
    let mut query = everything();
    query.org = Some(home.id);
    query.sort = "name".parse().expect("a sort");
    for (needle, expected) in [
        ("CAFÉ", vec!["Café Token"]),
        ("école", vec!["ÉCOLE"]),
        ("É", vec!["Café Token", "ÉCOLE"]),
    ] {
        query.name_contains = Some(needle.to_owned());
        let page = store.list_tokens(&query).await.expect("list tokens");
        assert_eq!(names(&page), expected, "needle {needle:?}");
        assert_eq!(page.total, Some(expected.len() as u64));
    }
}
