//! Tokens: storing, reading back, verification's read, revocation, rotation, usage stamps.

use latchkey_core::{
    AccountKind, OrgId, Reach, Role, Secret, SecretFormat, Timestamp, Token, TokenId, TokenView,
};
use latchkey_store::{Store, StoreError};

use super::support::{
    Minted, account, assert_conflict, assert_not_found, create, everything, fresh_hash, group, ids,
    join, mint, new_group, now_plus, org, person, slug, token_name, view,
};

pub async fn token_view_names_owner_creator_org_and_group(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let robot = create(
        store,
        latchkey_core::Account {
            email: None,
            kind: AccountKind::Service,
            ..account("robot")
        },
    )
    .await;
    let acme = org(store, "acme", &alice).await;
    join(store, &acme, &robot, Role::Member).await;
    let east = new_group(store, &acme, "east").await;

    let for_robot = mint(&robot, &acme, "replica reader")
        .by(&alice)
        .in_group(&east)
        .scopes(&["read", "tokens:read"])
        .read_scaling()
        .expires(Some(now_plus(3_600)))
        .last_used(Some(now_plus(-60)))
        .insert(store)
        .await;
    assert_eq!(
        view(store, for_robot.id()).await,
        TokenView {
            token: for_robot.token.clone(),
            owner: robot.account.clone(),
            creator_email: alice.account.email.clone(),
            organization: slug("acme"),
            group: Some(slug("east")),
            membership: Some(Role::Member),
        }
    );

    let everywhere = mint(&alice, &alice.personal, "everywhere")
        .account_wide()
        .scopes(&["full-access"])
        .insert(store)
        .await;
    assert_eq!(
        view(store, everywhere.id()).await,
        TokenView {
            token: everywhere.token.clone(),
            owner: alice.account.clone(),
            creator_email: alice.account.email.clone(),
            organization: slug("alice"),
            group: None,
            membership: Some(Role::Owner),
        }
    );

    let own = mint(&robot, &acme, "own").insert(store).await;
    let own_view = view(store, own.id()).await;
    assert_eq!(own_view.creator_email, None, "the robot has no email");
    assert_eq!(own_view.organization, slug("acme"));
    assert_eq!(own_view.group, None);

    // Found by its secret, each token reads the same, whoever minted it.
    for minted in [&for_robot, &everywhere, &own] {
        assert_eq!(
            store.credential(minted.hash()).await.unwrap(),
            Some(view(store, minted.id()).await)
        );
    }
    // So does every row of a page, of one organization's tokens or of all.
    let mut of_acme = everything();
    of_acme.org = Some(acme.id);
    for query in [everything(), of_acme] {
        let page = store.list_tokens(&query).await.unwrap();
        assert!(!page.tokens.is_empty());
        for listed in page.tokens {
            assert_eq!(listed, view(store, listed.token.id).await);
        }
    }

    assert_eq!(store.token(TokenId::new()).await.unwrap(), None);
}

pub async fn optional_times_round_trip(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let cases: [(Option<Timestamp>, Option<Timestamp>); 4] = [
        (None, None),
        (Some(now_plus(86_400)), None),
        (None, Some(now_plus(-5))),
        (Some(now_plus(-86_400)), Some(now_plus(-90_000))),
    ];
    for (index, (expires, used)) in cases.into_iter().enumerate() {
        let token = mint(&alice, &alice.personal, &format!("token {index}"))
            .expires(expires)
            .last_used(used)
            .insert(store)
            .await;
        let stored = view(store, token.id()).await.token;
        assert_eq!(stored.expires_at, expires);
        assert_eq!(stored.last_used_at, used);
        assert_eq!(stored.revoked_at, None);
        assert_eq!(stored.created_at, token.token.created_at);
    }
}

pub async fn live_token_names_are_unique_per_owner(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &alice).await;
    join(store, &acme, &bob, Role::Member).await;
    let deploy = token_name("deploy");

    let first = mint(&alice, &acme, "deploy").insert(store).await;
    for duplicate in [
        mint(&alice, &acme, "deploy").build(),
        mint(&alice, &alice.personal, "deploy").build(),
        mint(&alice, &alice.personal, "deploy")
            .account_wide()
            .build(),
    ] {
        assert_conflict(store.insert_token(&duplicate.token, duplicate.hash()).await);
        assert_eq!(store.token(duplicate.id()).await.unwrap(), None);
        assert_eq!(store.credential(duplicate.hash()).await.unwrap(), None);
    }
    assert_eq!(
        store.live_token_by_name(alice.id(), &deploy).await.unwrap(),
        Some(view(store, first.id()).await)
    );

    let bobs = mint(&bob, &acme, "deploy").insert(store).await;
    assert_eq!(
        store.live_token_by_name(bob.id(), &deploy).await.unwrap(),
        Some(view(store, bobs.id()).await)
    );

    store.revoke_token(first.id(), now_plus(0)).await.unwrap();
    assert_eq!(
        store.live_token_by_name(alice.id(), &deploy).await.unwrap(),
        None
    );
    let second = mint(&alice, &acme, "deploy").insert(store).await;
    assert_eq!(
        store.live_token_by_name(alice.id(), &deploy).await.unwrap(),
        Some(view(store, second.id()).await)
    );
    store.revoke_token(second.id(), now_plus(1)).await.unwrap();
    mint(&alice, &acme, "deploy").insert(store).await;
    assert_eq!(
        store
            .live_token_by_name(alice.id(), &token_name("Deploy"))
            .await
            .unwrap(),
        None,
        "a name is found as written"
    );
}

pub async fn credential_finds_the_token_and_the_owners_membership(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &alice).await;
    join(store, &acme, &bob, Role::Viewer).await;

    let in_acme = mint(&bob, &acme, "acme")
        .expires(Some(now_plus(-1)))
        .insert(store)
        .await;
    let everywhere = mint(&bob, &bob.personal, "everywhere")
        .account_wide()
        .insert(store)
        .await;

    let found = store.credential(in_acme.hash()).await.unwrap().unwrap();
    assert_eq!(found, view(store, in_acme.id()).await);
    assert_eq!(found.membership, Some(Role::Viewer));
    let found = store.credential(everywhere.hash()).await.unwrap().unwrap();
    assert_eq!(found, view(store, everywhere.id()).await);
    assert_eq!(
        found.membership,
        Some(Role::Owner),
        "owner of its personal org"
    );

    store
        .set_role(acme.id, bob.id(), Role::Admin)
        .await
        .unwrap();
    let found = store.credential(in_acme.hash()).await.unwrap().unwrap();
    assert_eq!(
        found.membership,
        Some(Role::Admin),
        "the membership as it is now"
    );

    assert_eq!(store.credential(fresh_hash()).await.unwrap(), None);
}

pub async fn revoke_is_idempotent(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let token = mint(&alice, &alice.personal, "laptop").insert(store).await;

    let (revoked, hash) = store.revoke_token(token.id(), now_plus(0)).await.unwrap();
    assert_eq!(hash, token.hash());
    assert_eq!(
        revoked.token,
        Token {
            revoked_at: Some(now_plus(0)),
            ..token.token.clone()
        }
    );
    assert_eq!(revoked, view(store, token.id()).await);

    let (again, hash) = store.revoke_token(token.id(), now_plus(60)).await.unwrap();
    assert_eq!(hash, token.hash());
    assert_eq!(again, revoked, "revoking again changes nothing");

    let credential = store.credential(token.hash()).await.unwrap().unwrap();
    assert_eq!(
        credential.token.revoked_at,
        Some(now_plus(0)),
        "verification still finds a revoked token, to say so"
    );
    assert_eq!(
        store
            .live_token_by_name(alice.id(), &token.token.name)
            .await
            .unwrap(),
        None
    );
    assert_not_found(store.revoke_token(TokenId::new(), now_plus(0)).await);
}

pub async fn rotate_replaces_the_secret_of_a_live_token(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let token = mint(&alice, &alice.personal, "laptop")
        .expires(Some(now_plus(-10)))
        .insert(store)
        .await;

    let mut previous = token.hash();
    for _ in 0..2 {
        let secret = Secret::generate(&SecretFormat::default());
        let (rotated, old) = store
            .rotate_token(token.id(), secret.hash(), &secret.hint())
            .await
            .unwrap();
        assert_eq!(old, previous, "the hash to evict is the one replaced");
        assert_eq!(
            rotated.token,
            Token {
                hint: secret.hint(),
                ..token.token.clone()
            },
            "only the secret changes"
        );
        assert_eq!(rotated, view(store, token.id()).await);
        let found = store.credential(secret.hash()).await.unwrap().unwrap();
        assert_eq!(found, rotated);
        assert_eq!(store.credential(previous).await.unwrap(), None);
        previous = secret.hash();
    }

    store.revoke_token(token.id(), now_plus(0)).await.unwrap();
    assert_not_found(
        store
            .rotate_token(token.id(), fresh_hash(), "lk_live_…none")
            .await,
    );
    assert!(
        store.credential(previous).await.unwrap().is_some(),
        "a refused rotation keeps the secret"
    );
    assert_not_found(
        store
            .rotate_token(TokenId::new(), fresh_hash(), "lk_live_…none")
            .await,
    );
}

pub async fn record_usage_never_moves_last_used_backwards(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let one = mint(&alice, &alice.personal, "one").insert(store).await;
    let two = mint(&alice, &alice.personal, "two").insert(store).await;
    let idle = mint(&alice, &alice.personal, "idle").insert(store).await;
    let last_used = async |token: &Minted| view(store, token.id()).await.token.last_used_at;

    store.record_usage(&[]).await.unwrap();
    store
        .record_usage(&[(one.id(), now_plus(-100)), (two.id(), now_plus(-50))])
        .await
        .unwrap();
    assert_eq!(last_used(&one).await, Some(now_plus(-100)));
    assert_eq!(last_used(&two).await, Some(now_plus(-50)));

    store
        .record_usage(&[(one.id(), now_plus(-200))])
        .await
        .unwrap();
    assert_eq!(
        last_used(&one).await,
        Some(now_plus(-100)),
        "an older stamp is ignored"
    );

    store
        .record_usage(&[
            (one.id(), now_plus(-10)),
            (one.id(), now_plus(-20)),
            (two.id(), now_plus(-40)),
            (two.id(), now_plus(-30)),
        ])
        .await
        .unwrap();
    assert_eq!(last_used(&one).await, Some(now_plus(-10)));
    assert_eq!(last_used(&two).await, Some(now_plus(-30)));
    assert_eq!(last_used(&idle).await, None);
    assert_eq!(
        view(store, one.id()).await.token,
        Token {
            last_used_at: Some(now_plus(-10)),
            ..one.token.clone()
        },
        "a stamp changes nothing else"
    );
}

/// A flush under load carries stamps of thousands of tokens, in no order, some twice: a store
/// may write them in parts (SQLite does, so that mints are not held behind them), and must
/// still write every one.
pub async fn record_usage_writes_a_large_flush_whole(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let tokens: Vec<_> = (0..2_500)
        .map(|i| mint(&alice, &alice.personal, &format!("used {i}")).build())
        .collect();
    store
        .insert_tokens(tokens.iter().map(|m| (m.token.clone(), m.hash())).collect())
        .await
        .unwrap();
    let used_at = |i: usize| now_plus(-10_000 + i64::try_from(i).expect("small"));
    // Newest first (against the id order), each token's stamp followed by an older one.
    let stamps: Vec<_> = tokens
        .iter()
        .enumerate()
        .rev()
        .flat_map(|(i, m)| [(m.id(), used_at(i)), (m.id(), now_plus(-20_000))])
        .collect();
    store.record_usage(&stamps).await.unwrap();
    for (i, token) in tokens.iter().enumerate() {
        assert_eq!(
            view(store, token.id()).await.token.last_used_at,
            Some(used_at(i)),
            "token {i}"
        );
    }
}

pub async fn a_token_needs_its_org_group_and_owners_membership(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &alice).await;
    let beta = org(store, "beta", &bob).await;
    let east = new_group(store, &acme, "east").await;
    let north = new_group(store, &beta, "north").await;
    let gone = new_group(store, &acme, "gone").await;
    store.delete_group(gone.id, now_plus(0)).await.unwrap();

    let refused = [
        mint(&bob, &acme, "not a member").build(),
        mint(&alice, &acme, "deleted group")
            .in_group(&gone)
            .scopes(&["read"])
            .build(),
        {
            // A group of another organization.
            let mut draft = mint(&alice, &acme, "foreign group")
                .scopes(&["read"])
                .build();
            draft.token.reach = Reach::Group(north.id);
            draft
        },
        mint(
            &alice,
            &latchkey_core::Organization {
                id: OrgId::new(),
                ..acme.clone()
            },
            "no org",
        )
        .build(),
    ];
    for draft in refused {
        assert_not_found(store.insert_token(&draft.token, draft.hash()).await);
        assert_eq!(store.token(draft.id()).await.unwrap(), None);
    }
    mint(&alice, &acme, "in the group")
        .in_group(&east)
        .scopes(&["read"])
        .insert(store)
        .await;

    // Root stands in every organization without a membership.
    let root = create(
        store,
        latchkey_core::Account {
            is_root: true,
            ..account("root")
        },
    )
    .await;
    mint(&root, &acme, "operator").insert(store).await;

    store
        .delete_organization(beta.id, now_plus(0))
        .await
        .unwrap();
    assert_not_found(
        store
            .insert_token(
                &mint(&bob, &beta, "deleted org").build().token,
                fresh_hash(),
            )
            .await,
    );
    let carol = person(store, "carol").await;
    join(store, &acme, &carol, Role::Member).await;
    let draft = mint(&carol, &acme, "deleted owner").build();
    store
        .remove_member(acme.id, carol.id(), now_plus(0))
        .await
        .unwrap();
    store.delete_account(carol.id(), now_plus(0)).await.unwrap();
    assert_not_found(store.insert_token(&draft.token, draft.hash()).await);
}

/// Many writes at once (which a store may commit together): each one that fails, on a name
/// already taken, on a secret's hash already stored or on something it needs that is missing,
/// leaves nothing, and every other one is stored whole, its scopes and the organization's total
/// with it.
pub async fn concurrent_writes_fail_or_succeed_each_on_its_own(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let mints: Vec<_> = (0..64)
        .map(|i| {
            let draft = mint(&alice, &alice.personal, &format!("batch {}", i / 2));
            if i % 4 < 2 {
                draft.scopes(&["tokens:read", "tokens:write"]).build()
            } else {
                draft.build()
            }
        })
        .collect();
    // Between them, mints that each miss something.
    let refused = [
        mint(&alice, &bob.personal, "not a member").build(),
        mint(&alice, &alice.personal, "no such group")
            .in_group(&group(&alice.personal, "never-made"))
            .build(),
    ];
    let (results, refusals) = futures_util::future::join(
        futures_util::future::join_all(
            mints.iter().map(|m| store.insert_token(&m.token, m.hash())),
        ),
        futures_util::future::join_all(
            refused
                .iter()
                .map(|m| store.insert_token(&m.token, m.hash())),
        ),
    )
    .await;
    let mut winners = Vec::new();
    for pair in mints.chunks(2).zip(results.chunks(2)) {
        let ([first, second], [a, b]) = pair else {
            unreachable!("pairs")
        };
        let (winner, loser) = match (a, b) {
            (Ok(()), Err(StoreError::Conflict(_))) => (first, second),
            (Err(StoreError::Conflict(_)), Ok(())) => (second, first),
            other => panic!("one of two same-named mints wins, the other conflicts: {other:?}"),
        };
        assert_eq!(view(store, winner.id()).await.token, winner.token);
        assert_eq!(store.token(loser.id()).await.unwrap(), None);
        assert_eq!(store.credential(loser.hash()).await.unwrap(), None);
        winners.push(winner);
    }
    for (refused, result) in refused.iter().zip(refusals) {
        assert_not_found(result);
        assert_eq!(store.token(refused.id()).await.unwrap(), None);
    }

    let mut query = everything();
    query.org = Some(alice.personal.id);
    let listed = store.list_tokens(&query).await.unwrap();
    assert_eq!(listed.total, Some(32), "the organization's total");
    query.scope = Some("tokens:write".into());
    let mut with_scope: Vec<_> = winners
        .iter()
        .filter(|m| m.token.scopes.names().contains(&"tokens:write".to_owned()))
        .map(|m| m.id())
        .collect();
    with_scope.sort();
    assert_eq!(with_scope.len(), 16);
    assert_eq!(ids(&store.list_tokens(&query).await.unwrap()), with_scope);

    // Then mints among which two tokens are given one secret's hash, a rule no check before the
    // insert sees: the store refuses the one, not the others.
    let twins: Vec<_> = (0..8)
        .map(|i| mint(&bob, &bob.personal, &format!("twin {i}")).build())
        .collect();
    let twinned = futures_util::future::join_all(twins.iter().enumerate().map(|(i, m)| {
        let hash = if i == 7 { twins[0].hash() } else { m.hash() };
        store.insert_token(&m.token, hash)
    }))
    .await;
    for (stored, result) in twins[1..7].iter().zip(&twinned[1..7]) {
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(view(store, stored.id()).await.token, stored.token);
    }
    let (winner, loser) = match (&twinned[0], &twinned[7]) {
        (Ok(()), Err(StoreError::Conflict(_))) => (&twins[0], &twins[7]),
        (Err(StoreError::Conflict(_)), Ok(())) => (&twins[7], &twins[0]),
        other => panic!("one of two mints of one hash wins, the other conflicts: {other:?}"),
    };
    assert_eq!(view(store, winner.id()).await.token, winner.token);
    assert_eq!(
        store
            .credential(twins[0].hash())
            .await
            .unwrap()
            .map(|found| found.token.id),
        Some(winner.id())
    );
    assert_eq!(store.token(loser.id()).await.unwrap(), None);
}

/// A bulk insert stores every token, or, when one is refused, none of them.
pub async fn insert_tokens_is_all_or_nothing(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let batch: Vec<_> = (0..20)
        .map(|i| mint(&alice, &alice.personal, &format!("bulk {i}")).build())
        .collect();
    let mut refused: Vec<_> = (0..5)
        .map(|i| mint(&alice, &alice.personal, &format!("other {i}")).build())
        .collect();
    // The last one takes a name the first batch holds.
    refused.push(mint(&alice, &alice.personal, "bulk 3").build());
    let rows = |mints: &[Minted]| {
        mints
            .iter()
            .map(|m| (m.token.clone(), m.hash()))
            .collect::<Vec<_>>()
    };
    store
        .insert_tokens(rows(&batch))
        .await
        .expect("a bulk insert");
    assert_conflict(store.insert_tokens(rows(&refused)).await);
    for stored in &batch {
        assert_eq!(view(store, stored.id()).await.token, stored.token);
        assert!(store.credential(stored.hash()).await.unwrap().is_some());
    }
    for gone in &refused {
        assert_eq!(
            store.token(gone.id()).await.unwrap(),
            None,
            "nothing of a refused batch"
        );
    }
    store
        .insert_tokens(Vec::new())
        .await
        .expect("an empty batch is nothing to do");
}
