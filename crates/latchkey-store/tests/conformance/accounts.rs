//! Accounts: creation with a personal organization, lookups, the root, deletion.

use latchkey_core::{AccountId, AccountKind, Member, Role};
use latchkey_store::Store;

use super::support::{
    account, all_orgs, assert_conflict, assert_evicted, assert_not_found, assert_revoked_exactly,
    create, join, members_of, mint, new_group, now_plus, org, org_by_id, organization, orgs_of,
    person, role_in, slug, token_ids_of_org, token_name, view,
};

pub async fn create_account_makes_a_personal_org_owned_by_it(store: &dyn Store) {
    let alice = person(store, "alice").await;

    let personal = &alice.personal;
    assert_eq!(personal.slug, alice.account.username);
    assert!(personal.personal);
    assert_eq!(personal.created_at, alice.account.created_at);
    assert_eq!(org_by_id(store, personal.id).await.as_ref(), Some(personal));
    assert_eq!(
        store
            .organization_by_slug(&slug("alice"))
            .await
            .unwrap()
            .as_ref(),
        Some(personal)
    );
    assert_eq!(role_in(store, personal, &alice).await, Some(Role::Owner));
    assert_eq!(
        store.organizations_of(alice.id()).await.unwrap(),
        vec![(personal.clone(), Role::Owner)]
    );
    assert_eq!(
        store.members(personal.id).await.unwrap(),
        vec![Member {
            account: alice.account.clone(),
            role: Role::Owner
        }]
    );
}

pub async fn accounts_are_found_by_id_and_username(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let robot = create(
        store,
        latchkey_core::Account {
            email: None,
            kind: AccountKind::Service,
            ..account("ci-robot")
        },
    )
    .await;

    for who in [&alice, &robot] {
        assert_eq!(
            store.account(who.id()).await.unwrap().as_ref(),
            Some(&who.account)
        );
        assert_eq!(
            store
                .account_by_username(&who.account.username)
                .await
                .unwrap()
                .as_ref(),
            Some(&who.account)
        );
    }
    assert_eq!(store.account(AccountId::new()).await.unwrap(), None);
    assert_eq!(
        store.account_by_username(&slug("nobody")).await.unwrap(),
        None
    );
    let mut all = store.accounts().await.unwrap();
    all.sort_by(|a, b| a.username.cmp(&b.username));
    assert_eq!(all, vec![alice.account, robot.account]);
}

pub async fn duplicate_username_conflicts(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let impostor = account("alice");

    assert_conflict(store.create_account(&impostor, None).await);
    assert_eq!(store.account(impostor.id).await.unwrap(), None);
    assert_eq!(
        store.account_by_username(&slug("alice")).await.unwrap(),
        Some(alice.account)
    );
    assert_eq!(all_orgs(store).await, vec![alice.personal]);
}

pub async fn username_taken_by_an_organization_conflicts_and_leaves_nothing(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let acme = org(store, "acme", &alice).await;
    let newcomer = account("acme");

    assert_conflict(store.create_account(&newcomer, None).await);
    assert_eq!(store.account(newcomer.id).await.unwrap(), None);
    assert_eq!(
        store.account_by_username(&slug("acme")).await.unwrap(),
        None
    );
    assert_eq!(store.organizations_of(newcomer.id).await.unwrap(), vec![]);
    assert_eq!(
        store.organization_by_slug(&slug("acme")).await.unwrap(),
        Some(acme)
    );
}

pub async fn root_account_is_found_once_created(store: &dyn Store) {
    assert_eq!(store.root_account().await.unwrap(), None);
    person(store, "alice").await;
    assert_eq!(store.root_account().await.unwrap(), None);

    let root = create(
        store,
        latchkey_core::Account {
            is_root: true,
            ..account("root")
        },
    )
    .await;
    assert_eq!(store.root_account().await.unwrap(), Some(root.account));
}

pub async fn delete_account_removes_memberships_and_personal_org_and_revokes_its_tokens(
    store: &dyn Store,
) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &bob).await;
    join(store, &acme, &alice, Role::Admin).await;
    let east = new_group(store, &acme, "east").await;

    let account_wide = mint(&alice, &alice.personal, "everywhere")
        .account_wide()
        .insert(store)
        .await;
    let personal = mint(&alice, &alice.personal, "home").insert(store).await;
    let in_acme = mint(&alice, &acme, "work").insert(store).await;
    let in_east = mint(&alice, &acme, "east")
        .in_group(&east)
        .insert(store)
        .await;
    let already_revoked = mint(&alice, &acme, "old").insert(store).await;
    store
        .revoke_token(already_revoked.id(), now_plus(-60))
        .await
        .unwrap();
    let bobs = mint(&bob, &acme, "work").insert(store).await;
    let made_for_bob = mint(&bob, &acme, "made by alice")
        .by(&alice)
        .insert(store)
        .await;

    let when = now_plus(0);
    let evicted = store.delete_account(alice.id(), when).await.unwrap();

    let revoked = [&account_wide, &personal, &in_acme, &in_east];
    assert_evicted(&evicted, &revoked, &[&already_revoked]);
    assert_revoked_exactly(store, &revoked, &[&bobs, &made_for_bob], when).await;
    assert_eq!(
        view(store, already_revoked.id()).await.token.revoked_at,
        Some(now_plus(-60)),
        "an earlier revocation stands"
    );
    assert_eq!(
        view(store, in_acme.id()).await.owner,
        alice.account,
        "a revoked token still names its deleted owner"
    );

    assert_eq!(store.account(alice.id()).await.unwrap(), None);
    assert_eq!(
        store.account_by_username(&slug("alice")).await.unwrap(),
        None
    );
    assert_eq!(store.accounts().await.unwrap(), vec![bob.account.clone()]);
    assert_eq!(org_by_id(store, alice.personal.id).await, None);
    assert_eq!(
        store.organization_by_slug(&slug("alice")).await.unwrap(),
        None
    );
    assert_eq!(
        all_orgs(store).await,
        vec![acme.clone(), bob.personal.clone()]
    );
    assert_eq!(orgs_of(store, &alice).await, vec![]);
    assert_eq!(role_in(store, &acme, &alice).await, None);
    assert_eq!(role_in(store, &alice.personal, &alice).await, None);
    assert_eq!(
        members_of(store, &acme).await,
        vec![("bob".to_owned(), Role::Owner)]
    );
    assert_eq!(
        token_ids_of_org(store, acme.id).await,
        vec![
            in_acme.id(),
            in_east.id(),
            already_revoked.id(),
            bobs.id(),
            made_for_bob.id()
        ],
        "token records stay"
    );
    assert_not_found(store.delete_account(alice.id(), when).await);
    assert_not_found(store.delete_account(AccountId::new(), when).await);
}

pub async fn deleted_username_can_be_reused(store: &dyn Store) {
    let first = person(store, "alice").await;
    let old_token = mint(&first, &first.personal, "laptop").insert(store).await;
    store.delete_account(first.id(), now_plus(0)).await.unwrap();

    let second = person(store, "alice").await;
    assert_ne!(second.id(), first.id());
    assert_ne!(second.personal.id, first.personal.id);
    assert_eq!(
        store.account_by_username(&slug("alice")).await.unwrap(),
        Some(second.account.clone())
    );
    assert_eq!(
        store.organization_by_slug(&slug("alice")).await.unwrap(),
        Some(second.personal.clone())
    );
    assert_eq!(
        token_ids_of_org(store, second.personal.id).await,
        vec![],
        "the old account's tokens stay with it"
    );
    assert_eq!(
        store
            .live_token_by_name(second.id(), &token_name("laptop"))
            .await
            .unwrap(),
        None
    );
    let new_token = mint(&second, &second.personal, "laptop")
        .insert(store)
        .await;
    assert_eq!(view(store, old_token.id()).await.owner, first.account);
    assert_eq!(view(store, new_token.id()).await.owner, second.account);

    // A deleted account's username is also free for an organization.
    let bob = person(store, "bob").await;
    store
        .delete_account(second.id(), now_plus(1))
        .await
        .unwrap();
    store
        .create_organization(&organization("alice"), bob.id())
        .await
        .unwrap();
}

pub async fn the_last_owner_of_a_team_cannot_be_deleted(store: &dyn Store) {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let acme = org(store, "acme", &alice).await;
    let token = mint(&alice, &acme, "work").insert(store).await;

    assert_conflict(store.delete_account(alice.id(), now_plus(0)).await);
    assert_eq!(
        view(store, token.id()).await.token.revoked_at,
        None,
        "nothing changed"
    );
    assert_eq!(role_in(store, &acme, &alice).await, Some(Role::Owner));

    join(store, &acme, &bob, Role::Owner).await;
    store.delete_account(alice.id(), now_plus(0)).await.unwrap();
    assert_eq!(role_in(store, &acme, &bob).await, Some(Role::Owner));
}

pub async fn create_account_can_join_an_organization_at_once(store: &dyn Store) {
    let owner = person(store, "owner").await;
    let acme = org(store, "acme", &owner).await;
    let robot = account("robot");
    store
        .create_account(&robot, Some((acme.id, Role::Member)))
        .await
        .unwrap();
    assert_eq!(
        store.membership(acme.id, robot.id).await.unwrap(),
        Some(Role::Member)
    );

    store
        .delete_organization(acme.id, now_plus(0))
        .await
        .unwrap();
    let late = account("late");
    assert_not_found(
        store
            .create_account(&late, Some((acme.id, Role::Member)))
            .await,
    );
    assert_eq!(
        store.account(late.id).await.unwrap(),
        None,
        "nothing was created"
    );
}
