//! Organizations: creation with an owner, lookups, renaming, deletion.

use latchkey_core::{OrgId, Role};
use latchkey_store::{OrgKey, Store};

use super::support::{
    all_orgs, assert_conflict, assert_evicted, assert_not_found, assert_revoked_exactly, join,
    members_of, mint, new_group, now_plus, org, org_by_id, organization, orgs_of, person, role_in,
    slug, token_ids_of_org,
};

pub async fn create_organization_makes_the_owner_its_owner(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let acme = organization("acme");
    store.create_organization(&acme, alice.id()).await.unwrap();

    assert_eq!(org_by_id(store, acme.id).await.as_ref(), Some(&acme));
    assert_eq!(
        store
            .organization_by_slug(&slug("acme"))
            .await
            .unwrap()
            .as_ref(),
        Some(&acme)
    );
    assert_eq!(role_in(store, &acme, &alice).await, Some(Role::Owner));
    assert_eq!(
        members_of(store, &acme).await,
        vec![("alice".to_owned(), Role::Owner)]
    );
    assert_eq!(
        all_orgs(store).await,
        vec![acme.clone(), alice.personal.clone()]
    );
    assert_eq!(org_by_id(store, OrgId::new()).await, None);
    assert_eq!(
        store.organization_by_slug(&slug("nope")).await.unwrap(),
        None
    );
}

pub async fn organization_and_role_reads_both_by_id_or_slug(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let carol = person(store, "carol").await;
    let acme = org(store, "acme", &alice).await;
    let other = org(store, "other", &carol).await;
    join(store, &acme, &bob, Role::Viewer).await;

    for key in [OrgKey::Id(acme.id), OrgKey::Slug(slug("acme"))] {
        for (who, role) in [
            (&alice, Some(Role::Owner)),
            (&bob, Some(Role::Viewer)),
            (&carol, None),
        ] {
            assert_eq!(
                store
                    .organization_and_role(key.clone(), who.id())
                    .await
                    .unwrap(),
                Some((acme.clone(), role)),
                "{key:?}"
            );
        }
    }
    assert_eq!(
        store
            .organization_and_role(OrgKey::Slug(slug("other")), carol.id())
            .await
            .unwrap(),
        Some((other, Some(Role::Owner)))
    );

    store
        .delete_organization(acme.id, now_plus(0))
        .await
        .unwrap();
    for key in [
        OrgKey::Id(acme.id),
        OrgKey::Slug(slug("acme")),
        OrgKey::Id(OrgId::new()),
        OrgKey::Slug(slug("nope")),
    ] {
        assert_eq!(
            store.organization_and_role(key, alice.id()).await.unwrap(),
            None
        );
    }
}

pub async fn duplicate_slug_conflicts(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &alice).await;

    for taken in ["acme", "alice"] {
        let copy = organization(taken);
        assert_conflict(store.create_organization(&copy, bob.id()).await);
        assert_eq!(org_by_id(store, copy.id).await, None);
        assert_eq!(store.membership(copy.id, bob.id()).await.unwrap(), None);
    }
    assert_eq!(
        store.organization_by_slug(&slug("acme")).await.unwrap(),
        Some(acme)
    );
    assert_eq!(
        orgs_of(store, &bob).await,
        vec![(bob.personal.clone(), Role::Owner)]
    );
}

pub async fn organizations_of_lists_each_org_with_the_role(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &alice).await;
    let beta = org(store, "beta", &bob).await;
    let gamma = org(store, "gamma", &bob).await;
    join(store, &acme, &bob, Role::Viewer).await;
    join(store, &gamma, &alice, Role::Admin).await;

    assert_eq!(
        orgs_of(store, &alice).await,
        vec![
            (acme.clone(), Role::Owner),
            (alice.personal.clone(), Role::Owner),
            (gamma.clone(), Role::Admin),
        ]
    );
    assert_eq!(
        orgs_of(store, &bob).await,
        vec![
            (acme, Role::Viewer),
            (beta, Role::Owner),
            (bob.personal.clone(), Role::Owner),
            (gamma, Role::Owner),
        ]
    );
}

pub async fn rename_organization_keeps_the_slug(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let acme = org(store, "acme", &alice).await;

    store
        .rename_organization(acme.id, "Acme, Inc.")
        .await
        .unwrap();
    let renamed = org_by_id(store, acme.id).await.unwrap();
    assert_eq!(renamed.name, "Acme, Inc.");
    assert_eq!(renamed.slug, acme.slug);
    assert_eq!(
        store.organization_by_slug(&slug("acme")).await.unwrap(),
        Some(renamed)
    );
    assert_not_found(store.rename_organization(OrgId::new(), "Nobody").await);
}

pub async fn delete_organization_revokes_its_tokens_and_frees_the_slug(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &alice).await;
    let beta = org(store, "beta", &alice).await;
    join(store, &acme, &bob, Role::Member).await;
    join(store, &beta, &bob, Role::Member).await;
    let east = new_group(store, &acme, "east").await;

    let alices = mint(&alice, &acme, "deploy").insert(store).await;
    let bobs = mint(&bob, &acme, "deploy").insert(store).await;
    let grouped = mint(&bob, &acme, "east")
        .in_group(&east)
        .insert(store)
        .await;
    let in_beta = mint(&bob, &beta, "beta").insert(store).await;
    let account_wide = mint(&alice, &alice.personal, "everywhere")
        .account_wide()
        .insert(store)
        .await;
    let personal = mint(&alice, &alice.personal, "home").insert(store).await;

    let when = now_plus(0);
    let evicted = store.delete_organization(acme.id, when).await.unwrap();

    let revoked = [&alices, &bobs, &grouped];
    assert_evicted(&evicted, &revoked, &[]);
    assert_revoked_exactly(store, &revoked, &[&in_beta, &account_wide, &personal], when).await;
    assert_eq!(org_by_id(store, acme.id).await, None);
    assert_eq!(
        store.organization_by_slug(&slug("acme")).await.unwrap(),
        None
    );
    assert!(!all_orgs(store).await.contains(&acme));
    assert_eq!(
        orgs_of(store, &bob).await,
        vec![
            (beta.clone(), Role::Member),
            (bob.personal.clone(), Role::Owner)
        ]
    );
    assert_eq!(role_in(store, &acme, &alice).await, None);
    assert_eq!(store.members(acme.id).await.unwrap(), vec![]);
    assert_eq!(store.group(east.id).await.unwrap(), None);
    assert_eq!(store.groups(acme.id).await.unwrap(), vec![]);
    assert_eq!(
        token_ids_of_org(store, acme.id).await,
        vec![alices.id(), bobs.id(), grouped.id()],
        "token records stay"
    );
    assert_not_found(store.delete_organization(acme.id, when).await);
    assert_not_found(store.delete_organization(OrgId::new(), when).await);

    let reborn = org(store, "acme", &bob).await;
    assert_ne!(reborn.id, acme.id);
    assert_eq!(token_ids_of_org(store, reborn.id).await, vec![]);
    assert_eq!(role_in(store, &reborn, &alice).await, None);
    let again = mint(&alice, &alice.personal, "deploy").insert(store).await;
    assert_eq!(
        again.token.name, alices.token.name,
        "a revoked token's name is free again"
    );
}
