//! Races a fleet brings: two nodes (`store` and `peer`, two handles on one database) changing the
//! same records at once. Each scenario runs for several rounds, so that the two sides meet in
//! different orders; whatever the order, the outcome keeps the rules.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use latchkey_core::{Role, Secret, SecretFormat, SecretHash, TokenStatus};
use latchkey_store::{Store, StoreError};

use super::listing::assert_counted_totals_at;
use super::support::{DAY, everything, join, mint, new_group, now_plus, org, person, view};

const ROUNDS: usize = 8;

/// Two nodes mint a token of the same name for the same owner at once: exactly one wins, the
/// other hears of a conflict and leaves nothing behind.
pub async fn same_name_minted_at_once_one_wins(store: &dyn Store, peer: &dyn Store) {
    let alice = person(store, "alice").await;
    let acme = org(store, "acme", &alice).await;
    for round in 0..ROUNDS {
        let name = format!("deploy {round}");
        let first = mint(&alice, &acme, &name).build();
        let second = mint(&alice, &alice.personal, &name).build();
        let (a, b) = tokio::join!(
            store.insert_token(&first.token, first.hash()),
            peer.insert_token(&second.token, second.hash()),
        );
        let (winner, loser, lost) = match (a, b) {
            (Ok(()), Err(error)) => (&first, &second, error),
            (Err(error), Ok(())) => (&second, &first, error),
            other => panic!("exactly one of two same-named mints wins, got {other:?}"),
        };
        assert!(
            matches!(lost, StoreError::Conflict(_)),
            "the loser hears of a conflict: {lost:?}"
        );
        for node in [store, peer] {
            let live = node
                .live_token_by_name(alice.id(), &winner.token.name)
                .await
                .unwrap()
                .expect("the winner is live");
            assert_eq!(live.token, winner.token);
            assert_eq!(node.token(loser.id()).await.unwrap(), None);
            assert_eq!(node.credential(loser.hash()).await.unwrap(), None);
        }
    }
}

/// Verification's reads race a revocation: once the revocation has returned, every read (on
/// either node) finds the token revoked.
pub async fn revoke_racing_lookups_is_seen_once_it_returns(store: &dyn Store, peer: &dyn Store) {
    let alice = person(store, "alice").await;
    for round in 0..ROUNDS {
        let token = mint(&alice, &alice.personal, &format!("laptop {round}"))
            .insert(store)
            .await;
        let returned = AtomicBool::new(false);
        let lookups = async {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while std::time::Instant::now() < deadline {
                let began_after = returned.load(Ordering::SeqCst);
                let found = peer
                    .credential(token.hash())
                    .await
                    .unwrap()
                    .expect("a revoked token is still found");
                if began_after {
                    assert_eq!(
                        found.token.revoked_at,
                        Some(now_plus(0)),
                        "a lookup that began after the revocation returned sees it"
                    );
                    return;
                }
                tokio::task::yield_now().await;
            }
            panic!("the revocation did not return within 10 s");
        };
        let revoke = async {
            tokio::task::yield_now().await;
            let (view, hash) = store.revoke_token(token.id(), now_plus(0)).await.unwrap();
            returned.store(true, Ordering::SeqCst);
            assert_eq!(hash, token.hash());
            assert_eq!(view.token.revoked_at, Some(now_plus(0)));
        };
        tokio::join!(lookups, revoke);
        for node in [store, peer] {
            let found = node.credential(token.hash()).await.unwrap().unwrap();
            assert_eq!(found.token.revoked_at, Some(now_plus(0)));
        }
    }
}

/// Two nodes rotate one token at once: both succeed, one after the other. Exactly one of the
/// secrets works afterwards, and between them the two rotations hand back every secret they
/// replaced, so that no cache keeps one.
pub async fn rotate_racing_rotate_leaves_exactly_one_secret(store: &dyn Store, peer: &dyn Store) {
    let alice = person(store, "alice").await;
    for round in 0..ROUNDS {
        let token = mint(&alice, &alice.personal, &format!("laptop {round}"))
            .insert(store)
            .await;
        let one = Secret::generate(&SecretFormat::default());
        let two = Secret::generate(&SecretFormat::default());
        let (hint_one, hint_two) = (one.hint(), two.hint());
        let (a, b) = tokio::join!(
            store.rotate_token(token.id(), one.hash(), &hint_one),
            peer.rotate_token(token.id(), two.hash(), &hint_two),
        );
        let (a, old_a) = a.expect("a rotation of a live token succeeds");
        let (b, old_b) = b.expect("a rotation of a live token succeeds");

        let mut working = Vec::new();
        for secret in [&token.secret, &one, &two] {
            if let Some(found) = store.credential(secret.hash()).await.unwrap() {
                assert_eq!(found.token.id, token.id());
                working.push(secret.hash());
            }
        }
        assert_eq!(working.len(), 1, "exactly one secret works");
        let last = working[0];
        assert!(
            last == one.hash() || last == two.hash(),
            "the secret that works is one of the new ones"
        );
        let stored = view(store, token.id()).await;
        let last_hint = if last == one.hash() {
            hint_one
        } else {
            hint_two
        };
        assert_eq!(stored.token.hint, last_hint);
        assert!(
            [&a, &b].contains(&&stored),
            "the later rotation returned the token as it stays"
        );

        let handed_back: HashSet<SecretHash> = [old_a, old_b].into_iter().collect();
        let replaced: HashSet<SecretHash> = [token.hash(), one.hash(), two.hash()]
            .into_iter()
            .filter(|hash| *hash != last)
            .collect();
        assert_eq!(
            handed_back, replaced,
            "each rotation hands back the secret it replaced"
        );
    }
}

/// A member is removed while a node mints a token for it in that organization: whichever comes
/// first, no live token of the removed member is left in the organization, and a token minted
/// just before is handed back for eviction.
pub async fn member_removal_racing_a_mint_leaves_no_live_token(
    store: &dyn Store,
    peer: &dyn Store,
) {
    let alice = person(store, "alice").await;
    let acme = org(store, "acme", &alice).await;
    for round in 0..ROUNDS {
        let bob = person(store, &format!("bob-{round}")).await;
        join(store, &acme, &bob, Role::Member).await;
        let token = mint(&bob, &acme, "deploy").build();
        let (removed, minted) = tokio::join!(
            store.remove_member(acme.id, bob.id(), now_plus(0)),
            peer.insert_token(&token.token, token.hash()),
        );
        let evicted = removed.expect("the removal succeeds");
        match minted {
            Ok(()) => {
                let stored = view(store, token.id()).await;
                assert_eq!(
                    stored.token.revoked_at,
                    Some(now_plus(0)),
                    "a token minted before the removal is revoked by it"
                );
                assert!(
                    evicted.contains(&token.hash()),
                    "and handed back for eviction"
                );
            }
            Err(StoreError::NotFound(_)) => {
                assert_eq!(store.token(token.id()).await.unwrap(), None);
            }
            Err(other) => panic!("a mint after the removal is refused as not found: {other}"),
        }
        let mut query = everything();
        query.org = Some(acme.id);
        query.owner = Some(bob.id());
        query.status = Some(TokenStatus::Active);
        assert_eq!(
            peer.list_tokens(&query).await.unwrap().total,
            Some(0),
            "no live token of the removed member"
        );
    }
}

/// A group is deleted while a node mints a token pinned to it: no live token of the deleted
/// group is left.
pub async fn group_deletion_racing_a_mint_leaves_no_live_token(
    store: &dyn Store,
    peer: &dyn Store,
) {
    let alice = person(store, "alice").await;
    let acme = org(store, "acme", &alice).await;
    for round in 0..ROUNDS {
        let group = new_group(store, &acme, &format!("east-{round}")).await;
        let token = mint(&alice, &acme, &format!("east {round}"))
            .in_group(&group)
            .scopes(&["read"])
            .build();
        let (deleted, minted) = tokio::join!(
            store.delete_group(group.id, now_plus(0)),
            peer.insert_token(&token.token, token.hash()),
        );
        let evicted = deleted.expect("the deletion succeeds");
        match minted {
            Ok(()) => {
                assert_eq!(
                    view(store, token.id()).await.token.revoked_at,
                    Some(now_plus(0))
                );
                assert!(evicted.contains(&token.hash()));
            }
            Err(StoreError::NotFound(_)) => {
                assert_eq!(store.token(token.id()).await.unwrap(), None);
            }
            Err(other) => panic!("a mint after the deletion is refused as not found: {other}"),
        }
    }
}

/// Two owners step down (or leave) at once: exactly one may, so the organization keeps an
/// owner.
pub async fn owners_stepping_down_at_once_leave_one_owner(store: &dyn Store, peer: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    for round in 0..ROUNDS {
        let acme = org(store, &format!("acme-{round}"), &alice).await;
        join(store, &acme, &bob, Role::Owner).await;
        let (a, b) = if round % 2 == 0 {
            tokio::join!(
                async { store.set_role(acme.id, alice.id(), Role::Admin).await },
                async { peer.set_role(acme.id, bob.id(), Role::Member).await },
            )
        } else {
            tokio::join!(
                async { store.set_role(acme.id, alice.id(), Role::Viewer).await },
                async {
                    peer.remove_member(acme.id, bob.id(), now_plus(0))
                        .await
                        .map(drop)
                },
            )
        };
        assert!(
            a.is_ok() != b.is_ok(),
            "exactly one owner may step down: {a:?}, {b:?}"
        );
        for error in [a, b].into_iter().filter_map(Result::err) {
            assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
        }
        let owners = store
            .members(acme.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|member| member.role == Role::Owner)
            .count();
        assert_eq!(owners, 1, "the organization keeps one owner");
    }
}

/// One node folds the counters of past days over and over while the other revokes tokens that
/// expired on those days (each revocation counts its token's day again) and folds now and
/// then: no call fails, and every total stays the tokens' count.
pub async fn folds_racing_revocations_keep_every_total(store: &dyn Store, peer: &dyn Store) {
    let alice = person(store, "alice").await;
    let acme = org(store, "acme", &alice).await;
    let expired: Vec<_> = (0..40)
        .map(|n| {
            let minted = mint(&alice, &acme, &format!("expired {n}"))
                .expires(Some(now_plus(-(2 + n % 8) * DAY)))
                .build();
            let hash = minted.hash();
            (minted.token, hash)
        })
        .collect();
    let ids: Vec<_> = expired.iter().map(|(token, _)| token.id).collect();
    store.insert_tokens(expired).await.unwrap();
    let revoked = AtomicBool::new(false);
    let revocations = async {
        for (n, id) in ids.iter().enumerate() {
            peer.revoke_token(*id, now_plus(0)).await.unwrap();
            if n % 5 == 0 {
                peer.fold_counters(now_plus(0)).await.unwrap();
            }
            tokio::task::yield_now().await;
        }
        revoked.store(true, Ordering::SeqCst);
    };
    let folds = async {
        while !revoked.load(Ordering::SeqCst) {
            store.fold_counters(now_plus(0)).await.unwrap();
            tokio::task::yield_now().await;
        }
    };
    tokio::join!(revocations, folds);
    assert_counted_totals_at(store, &[&acme], &[0, DAY], "after the race").await;
    store.fold_counters(now_plus(0)).await.unwrap();
    assert_counted_totals_at(store, &[&acme], &[0, DAY], "after a last fold").await;
}
