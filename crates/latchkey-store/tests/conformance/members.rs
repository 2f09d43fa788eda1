//! Memberships: adding, changing roles, removing, and the rule that an organization keeps an
//! owner.

use latchkey_core::Role;
use latchkey_store::Store;

use super::support::{
    assert_conflict, assert_evicted, assert_not_found, assert_revoked_exactly, join, members_of,
    mint, new_group, now_plus, org, person, role_in,
};

pub async fn add_member_and_duplicate_conflicts(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let carol = person(store, "carol").await;
    let acme = org(store, "acme", &alice).await;

    join(store, &acme, &bob, Role::Member).await;
    join(store, &acme, &carol, Role::Viewer).await;
    assert_eq!(role_in(store, &acme, &bob).await, Some(Role::Member));
    assert_eq!(
        members_of(store, &acme).await,
        vec![
            ("alice".to_owned(), Role::Owner),
            ("bob".to_owned(), Role::Member),
            ("carol".to_owned(), Role::Viewer),
        ]
    );
    let members = store.members(acme.id).await.unwrap();
    assert!(
        members.iter().any(|m| m.account == bob.account),
        "a member carries its whole account"
    );

    for role in [Role::Member, Role::Owner] {
        assert_conflict(store.add_member(acme.id, bob.id(), role, now_plus(0)).await);
    }
    assert_conflict(
        store
            .add_member(acme.id, alice.id(), Role::Viewer, now_plus(0))
            .await,
    );
    assert_eq!(role_in(store, &acme, &bob).await, Some(Role::Member));
    assert_eq!(role_in(store, &acme, &alice).await, Some(Role::Owner));
}

pub async fn set_role_never_leaves_an_org_without_owner(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let carol = person(store, "carol").await;
    let acme = org(store, "acme", &alice).await;
    join(store, &acme, &bob, Role::Member).await;

    store
        .set_role(acme.id, bob.id(), Role::Admin)
        .await
        .unwrap();
    assert_eq!(role_in(store, &acme, &bob).await, Some(Role::Admin));

    assert_conflict(store.set_role(acme.id, alice.id(), Role::Admin).await);
    assert_eq!(role_in(store, &acme, &alice).await, Some(Role::Owner));
    store
        .set_role(acme.id, alice.id(), Role::Owner)
        .await
        .expect("an owner may stay owner");

    store
        .set_role(acme.id, bob.id(), Role::Owner)
        .await
        .unwrap();
    store
        .set_role(acme.id, alice.id(), Role::Viewer)
        .await
        .expect("an owner may step down while another owner remains");
    assert_eq!(role_in(store, &acme, &alice).await, Some(Role::Viewer));
    assert_conflict(store.set_role(acme.id, bob.id(), Role::Member).await);
    assert_eq!(role_in(store, &acme, &bob).await, Some(Role::Owner));

    assert_not_found(store.set_role(acme.id, carol.id(), Role::Member).await);
    assert_eq!(role_in(store, &acme, &carol).await, None);
}

pub async fn last_owner_cannot_be_removed(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let carol = person(store, "carol").await;
    let acme = org(store, "acme", &alice).await;
    join(store, &acme, &bob, Role::Admin).await;

    assert_conflict(store.remove_member(acme.id, alice.id(), now_plus(0)).await);
    assert_eq!(role_in(store, &acme, &alice).await, Some(Role::Owner));
    assert_conflict(
        store
            .remove_member(alice.personal.id, alice.id(), now_plus(0))
            .await,
    );

    store
        .set_role(acme.id, bob.id(), Role::Owner)
        .await
        .unwrap();
    store
        .remove_member(acme.id, alice.id(), now_plus(0))
        .await
        .expect("an owner may leave while another owner remains");
    assert_eq!(role_in(store, &acme, &alice).await, None);
    assert_eq!(
        members_of(store, &acme).await,
        vec![("bob".to_owned(), Role::Owner)]
    );
    assert_conflict(store.remove_member(acme.id, bob.id(), now_plus(0)).await);

    assert_not_found(store.remove_member(acme.id, alice.id(), now_plus(0)).await);
    assert_not_found(store.remove_member(acme.id, carol.id(), now_plus(0)).await);
}

pub async fn remove_member_revokes_exactly_its_tokens_of_that_org(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &alice).await;
    let beta = org(store, "beta", &alice).await;
    join(store, &acme, &bob, Role::Member).await;
    join(store, &beta, &bob, Role::Member).await;
    let east = new_group(store, &acme, "east").await;

    let bob_acme = mint(&bob, &acme, "acme").insert(store).await;
    let bob_east = mint(&bob, &acme, "east")
        .in_group(&east)
        .insert(store)
        .await;
    let minted_for_bob = mint(&bob, &acme, "from alice")
        .by(&alice)
        .insert(store)
        .await;
    let bob_beta = mint(&bob, &beta, "beta").insert(store).await;
    let bob_everywhere = mint(&bob, &bob.personal, "everywhere")
        .account_wide()
        .insert(store)
        .await;
    let bob_home = mint(&bob, &bob.personal, "home").insert(store).await;
    let alice_acme = mint(&alice, &acme, "acme").insert(store).await;
    let alice_for_bob = mint(&alice, &acme, "made by bob")
        .by(&bob)
        .insert(store)
        .await;

    let when = now_plus(0);
    let evicted = store.remove_member(acme.id, bob.id(), when).await.unwrap();

    let revoked = [&bob_acme, &bob_east, &minted_for_bob];
    assert_evicted(&evicted, &revoked, &[]);
    assert_revoked_exactly(
        store,
        &revoked,
        &[
            &bob_beta,
            &bob_everywhere,
            &bob_home,
            &alice_acme,
            &alice_for_bob,
        ],
        when,
    )
    .await;
    assert_eq!(role_in(store, &acme, &bob).await, None);
    assert_eq!(role_in(store, &beta, &bob).await, Some(Role::Member));

    let gone = store.credential(bob_acme.hash()).await.unwrap().unwrap();
    assert_eq!(gone.token.id, bob_acme.id());
    assert_eq!(gone.membership, None, "the owner has left the token's org");
    let kept = store.credential(bob_beta.hash()).await.unwrap().unwrap();
    assert_eq!(kept.membership, Some(Role::Member));
}
