//! Groups: a stable identity within an organization; deleting one revokes the tokens pinned to
//! it.

use latchkey_core::{GroupId, Reach, Role};
use latchkey_store::Store;

use super::support::{
    assert_conflict, assert_evicted, assert_not_found, assert_revoked_exactly, everything, group,
    ids, join, mint, new_group, now_plus, org, person, slug, view,
};

pub async fn groups_are_found_by_id_and_name(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let acme = org(store, "acme", &alice).await;
    let beta = org(store, "beta", &alice).await;
    let west = new_group(store, &acme, "west").await;
    let east = new_group(store, &acme, "east").await;
    let beta_east = new_group(store, &beta, "east").await;

    assert_eq!(store.group(east.id).await.unwrap().as_ref(), Some(&east));
    assert_eq!(
        store
            .group_by_name(acme.id, &slug("east"))
            .await
            .unwrap()
            .as_ref(),
        Some(&east)
    );
    assert_eq!(
        store
            .group_by_name(beta.id, &slug("east"))
            .await
            .unwrap()
            .as_ref(),
        Some(&beta_east),
        "group names are unique within an organization only"
    );
    let mut in_acme = store.groups(acme.id).await.unwrap();
    in_acme.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(in_acme, vec![east, west]);
    assert_eq!(store.groups(beta.id).await.unwrap(), vec![beta_east]);
    assert_eq!(store.groups(alice.personal.id).await.unwrap(), vec![]);
    assert_eq!(store.group(GroupId::new()).await.unwrap(), None);
    assert_eq!(
        store.group_by_name(acme.id, &slug("north")).await.unwrap(),
        None
    );
}

pub async fn duplicate_group_name_conflicts_within_an_org(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let acme = org(store, "acme", &alice).await;
    let east = new_group(store, &acme, "east").await;

    let copy = group(&acme, "east");
    assert_conflict(store.create_group(&copy).await);
    assert_eq!(store.group(copy.id).await.unwrap(), None);
    assert_eq!(store.groups(acme.id).await.unwrap(), vec![east]);
}

pub async fn delete_group_revokes_exactly_its_tokens(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &alice).await;
    join(store, &acme, &bob, Role::Member).await;
    let east = new_group(store, &acme, "east").await;
    let west = new_group(store, &acme, "west").await;

    let alice_east = mint(&alice, &acme, "alice east")
        .in_group(&east)
        .insert(store)
        .await;
    let bob_east = mint(&bob, &acme, "bob east")
        .in_group(&east)
        .insert(store)
        .await;
    let bob_west = mint(&bob, &acme, "bob west")
        .in_group(&west)
        .insert(store)
        .await;
    let org_wide = mint(&bob, &acme, "org").insert(store).await;
    let account_wide = mint(&bob, &bob.personal, "everywhere")
        .account_wide()
        .insert(store)
        .await;

    let when = now_plus(0);
    let evicted = store.delete_group(east.id, when).await.unwrap();

    let revoked = [&alice_east, &bob_east];
    assert_evicted(&evicted, &revoked, &[]);
    assert_revoked_exactly(
        store,
        &revoked,
        &[&bob_west, &org_wide, &account_wide],
        when,
    )
    .await;
    assert_eq!(store.group(east.id).await.unwrap(), None);
    assert_eq!(
        store.group_by_name(acme.id, &slug("east")).await.unwrap(),
        None
    );
    assert_eq!(store.groups(acme.id).await.unwrap(), vec![west]);
    assert_eq!(
        view(store, alice_east.id()).await.group,
        Some(slug("east")),
        "a token still names its group after the group is gone"
    );
    assert_not_found(store.delete_group(east.id, when).await);
    assert_not_found(store.delete_group(GroupId::new(), when).await);
}

pub async fn recreated_group_is_a_new_group(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let acme = org(store, "acme", &alice).await;
    let old = new_group(store, &acme, "east").await;
    let pinned = mint(&alice, &acme, "east")
        .in_group(&old)
        .insert(store)
        .await;
    let revoked_at = now_plus(0);
    store.delete_group(old.id, revoked_at).await.unwrap();

    let new = new_group(store, &acme, "east").await;
    assert_ne!(new.id, old.id);
    assert_eq!(
        store.group_by_name(acme.id, &slug("east")).await.unwrap(),
        Some(new.clone())
    );

    let old_token = view(store, pinned.id()).await.token;
    assert_eq!(
        old_token.reach,
        Reach::Group(old.id),
        "still pinned to the old group"
    );
    assert_eq!(old_token.revoked_at, Some(revoked_at), "and still revoked");
    let credential = store.credential(pinned.hash()).await.unwrap().unwrap();
    assert_eq!(credential.token.revoked_at, Some(revoked_at));

    let mut in_new = everything();
    in_new.group = Some(new.id);
    assert_eq!(ids(&store.list_tokens(&in_new).await.unwrap()), vec![]);

    let fresh = mint(&alice, &acme, "east")
        .in_group(&new)
        .insert(store)
        .await;
    assert_eq!(
        ids(&store.list_tokens(&in_new).await.unwrap()),
        vec![fresh.id()]
    );
    let mut in_old = everything();
    in_old.group = Some(old.id);
    assert_eq!(
        ids(&store.list_tokens(&in_old).await.unwrap()),
        vec![pinned.id()]
    );
    assert_revoked_exactly(store, &[&pinned], &[&fresh], revoked_at).await;
}
