//! Moving a store: an export imported into an empty store of the same kind gives back the same
//! rows, deleted records, hashes and stamps included, and every token reads and verifies as it
//! did. (From one kind of store to the other: the binary's `migrate-store` test.)

use latchkey_core::{Role, SecretHash};
use latchkey_store::transfer::{BATCH_ROWS, Value};
use latchkey_store::{Batch, Store, Table};
use uuid::Uuid;

use super::listing::assert_counted_totals;
use super::support::{
    all_orgs, everything, fresh_hash, join, mint, new_group, now_plus, org, person, view,
};

/// Ten scope rows for each token minted with them.
const EVERY_SCOPE: [&str; 10] = [
    "tokens:read",
    "tokens:write",
    "tokens:revoke",
    "tokens:rotate",
    "audit:read",
    "webhooks:read",
    "webhooks:write",
    "read",
    "db:create",
    "db:delete",
];

/// Every batch an export gives, failing on an error.
async fn export_all(store: &dyn Store) -> Vec<Batch> {
    let mut export = store.export();
    let mut batches = Vec::new();
    while let Some(batch) = export.recv().await {
        batches.push(batch.expect("export a batch"));
    }
    batches
}

/// A store with a record of every kind and state: deleted accounts, organizations and groups,
/// members, revoked, rotated, expired, used, group-pinned and account-wide tokens, and more
/// scope rows than one batch holds.
async fn populate(store: &dyn Store) -> Vec<SecretHash> {
    let alice = person(store, "alice").await;
    let bob = person(store, "bob").await;
    let gone = person(store, "gone").await;
    let acme = org(store, "acme", &alice).await;
    let closed = org(store, "closed", &alice).await;
    join(store, &acme, &bob, Role::Viewer).await;
    join(store, &acme, &gone, Role::Member).await;
    let east = new_group(store, &acme, "east").await;
    let west = new_group(store, &acme, "west").await;

    let mut hashes = Vec::new();
    let wide = mint(&alice, &alice.personal, "wide").account_wide();
    let pinned = mint(&alice, &acme, "pinned")
        .in_group(&east)
        .scopes(&["read"]);
    let for_bob = mint(&bob, &acme, "bob's").by(&alice).read_scaling();
    let used = mint(&alice, &acme, "used").last_used(Some(now_plus(-60)));
    let expired = mint(&alice, &acme, "expired").expires(Some(now_plus(-1)));
    let revoked = mint(&alice, &acme, "revoked").expires(Some(now_plus(3_600)));
    for token in [wide, pinned, for_bob, used, expired] {
        hashes.push(token.insert(store).await.hash());
    }
    let revoked = revoked.insert(store).await;
    store
        .revoke_token(revoked.id(), now_plus(-5))
        .await
        .unwrap();
    let rotated = mint(&alice, &acme, "rotated").insert(store).await;
    let new_hash = fresh_hash();
    store
        .rotate_token(rotated.id(), new_hash, "lk_live_…abcd")
        .await
        .unwrap();
    hashes.extend([revoked.hash(), new_hash]);
    for n in 0..=BATCH_ROWS / 10 {
        let token = mint(&bob, &acme, &format!("scoped {n}")).scopes(&EVERY_SCOPE);
        hashes.push(token.insert(store).await.hash());
    }
    mint(&gone, &acme, "orphaned").insert(store).await;
    mint(&alice, &closed, "closed").insert(store).await;
    mint(&alice, &acme, "in west")
        .in_group(&west)
        .insert(store)
        .await;
    store.delete_account(gone.id(), now_plus(-4)).await.unwrap();
    store
        .delete_organization(closed.id, now_plus(-3))
        .await
        .unwrap();
    store.delete_group(west.id, now_plus(-2)).await.unwrap();
    store
        .record_usage(&[(rotated.id(), now_plus(-30))])
        .await
        .unwrap();
    hashes
}

pub async fn an_export_imported_into_an_empty_store_is_the_same_store(
    source: &dyn Store,
    target: &dyn Store,
) {
    let hashes = populate(source).await;
    let batches = export_all(source).await;

    let tables: Vec<Table> = batches.iter().map(|batch| batch.table).collect();
    assert!(tables.is_sorted(), "tables come in copy order: {tables:?}");
    assert!(
        batches
            .iter()
            .all(|b| !b.rows.is_empty() && b.rows.len() <= BATCH_ROWS)
    );
    let scope_batches = tables.iter().filter(|t| **t == Table::TokenScopes).count();
    assert_eq!(scope_batches, 2, "more scope rows than one batch holds");

    let empty = target.counts().await.unwrap();
    assert_eq!(empty.len(), Table::ALL.len());
    assert!(empty.values().all(|count| *count == 0), "{empty:?}");
    for batch in batches.clone() {
        target.import(batch).await.expect("import a batch");
    }

    let counts = source.counts().await.unwrap();
    assert!(counts.values().all(|count| *count > 0), "{counts:?}");
    assert_eq!(target.counts().await.unwrap(), counts);
    assert_eq!(
        export_all(target).await,
        batches,
        "the copy exports row for row what the original did"
    );
    for hash in hashes {
        let before = source.credential(hash).await.unwrap().expect("a token");
        let after = target.credential(hash).await.unwrap();
        assert_eq!(after.as_ref(), Some(&before), "{}", before.token.name);
        assert_eq!(view(target, before.token.id).await, before);
    }
    let (listed, original) = (
        target.list_tokens(&everything()).await.unwrap(),
        source.list_tokens(&everything()).await.unwrap(),
    );
    assert_eq!(listed.tokens, original.tokens);
    assert_eq!(listed.total, original.total);
    let orgs = all_orgs(target).await;
    assert_counted_totals(target, &orgs.iter().collect::<Vec<_>>(), "the copy").await;
}

pub async fn an_import_that_collides_writes_nothing_of_its_batch(
    source: &dyn Store,
    target: &dyn Store,
) {
    let alice = person(source, "alice").await;
    mint(&alice, &alice.personal, "laptop").insert(source).await;
    let batches = export_all(source).await;
    let accounts = batches[0].clone();
    assert_eq!(accounts.table, Table::Accounts);
    target.import(accounts.clone()).await.unwrap();

    // A new row, then the same rows again: the batch is refused whole.
    let mut fresh = accounts.rows[0].clone();
    fresh[0] = Value::Id(Uuid::now_v7());
    fresh[1] = Value::Text("carol".to_owned());
    let mut again = accounts.clone();
    again.rows.insert(0, fresh);
    let before = target.counts().await.unwrap();
    assert_eq!(before[&Table::Accounts], 1);
    assert!(target.import(again).await.is_err());
    assert_eq!(target.counts().await.unwrap(), before);

    // A row without its table's columns is refused before anything is written.
    let mut short = accounts;
    short.rows[0].pop();
    assert!(target.import(short).await.is_err());
    assert_eq!(target.counts().await.unwrap(), before);
}
