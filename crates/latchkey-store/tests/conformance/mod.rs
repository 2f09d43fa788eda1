//! The store conformance suite: the contract of the `Store` trait, written once and run against
//! every implementation. A store's test file builds a [`Harness`] (a fresh store and a second
//! handle on the same database) and hands an expression that makes one (it may `.await`) to
//! [`conformance_tests!`], which turns every test below into a `#[tokio::test]` on a fresh store
//! of its own:
//!
//! ```ignore
//! mod conformance;
//! conformance::conformance_tests!(my_store_harness().await);
//! ```
//!
//! Orders the trait leaves open are pinned here, so that every store lists alike: names sort by
//! their bytes (PostgreSQL needs `COLLATE "C"`), a token that never expires sorts after every
//! expiry, a token never used sorts before every use, ties break on the id in the sort's
//! direction, and the `*_before`/`*_after` filters are strict and leave out tokens without the
//! date.

pub mod accounts;
pub mod groups;
pub mod listing;
pub mod members;
pub mod organizations;
pub mod races;
pub mod support;
pub mod tokens;
pub mod transfer;

use std::any::Any;

use latchkey_store::Store;

/// A store under test, a second handle on the same database (another node, for the races), and
/// whatever must live as long as they do (a temporary directory, a database to drop).
pub struct Harness {
    store: Box<dyn Store>,
    peer: Box<dyn Store>,
    _keep_alive: Box<dyn Any + Send>,
}

impl Harness {
    pub fn new(store: impl Store, peer: impl Store, keep_alive: impl Any + Send) -> Self {
        Self {
            store: Box::new(store),
            peer: Box::new(peer),
            _keep_alive: Box::new(keep_alive),
        }
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The other node.
    pub fn peer(&self) -> &dyn Store {
        &*self.peer
    }
}

/// Expands every conformance test into a `#[tokio::test]` that runs it on the store `$harness`
/// evaluates to (a [`Harness`], one per test, so tests run in parallel; or an
/// `Option<Harness>`, `None` to skip the test because its database is not there). Races run on
/// a multi-threaded runtime, between the harness's store and its peer; moves between two
/// fresh stores.
macro_rules! conformance_tests {
    ($harness:expr) => {
        $crate::conformance::conformance_tests!(@each $harness;
            accounts::create_account_makes_a_personal_org_owned_by_it,
            accounts::accounts_are_found_by_id_and_username,
            accounts::duplicate_username_conflicts,
            accounts::username_taken_by_an_organization_conflicts_and_leaves_nothing,
            accounts::root_account_is_found_once_created,
            accounts::delete_account_removes_memberships_and_personal_org_and_revokes_its_tokens,
            accounts::the_last_owner_of_a_team_cannot_be_deleted,
            accounts::create_account_can_join_an_organization_at_once,
            accounts::deleted_username_can_be_reused,
            organizations::create_organization_makes_the_owner_its_owner,
            organizations::organization_and_role_reads_both_by_id_or_slug,
            organizations::duplicate_slug_conflicts,
            organizations::organizations_of_lists_each_org_with_the_role,
            organizations::rename_organization_keeps_the_slug,
            organizations::delete_organization_revokes_its_tokens_and_frees_the_slug,
            members::add_member_and_duplicate_conflicts,
            members::set_role_never_leaves_an_org_without_owner,
            members::last_owner_cannot_be_removed,
            members::remove_member_revokes_exactly_its_tokens_of_that_org,
            groups::groups_are_found_by_id_and_name,
            groups::duplicate_group_name_conflicts_within_an_org,
            groups::delete_group_revokes_exactly_its_tokens,
            groups::recreated_group_is_a_new_group,
            tokens::token_view_names_owner_creator_org_and_group,
            tokens::optional_times_round_trip,
            tokens::live_token_names_are_unique_per_owner,
            tokens::a_token_needs_its_org_group_and_owners_membership,
            tokens::credential_finds_the_token_and_the_owners_membership,
            tokens::revoke_is_idempotent,
            tokens::rotate_replaces_the_secret_of_a_live_token,
            tokens::record_usage_never_moves_last_used_backwards,
            tokens::record_usage_writes_a_large_flush_whole,
            tokens::concurrent_writes_fail_or_succeed_each_on_its_own,
            tokens::insert_tokens_is_all_or_nothing,
            listing::every_filter_matches_the_model,
            listing::name_contains_is_partial_case_insensitive_and_literal,
            listing::name_contains_folds_unicode_case,
            listing::status_is_judged_at_the_querys_now,
            listing::every_sort_orders_every_token,
            listing::numbered_pages_partition_the_list_with_exact_total,
            listing::deep_numbered_pages_are_the_keyset_walk,
            listing::counted_totals_follow_every_write,
            listing::folded_counters_keep_every_total,
            listing::keyset_pages_partition_the_list_and_the_last_has_no_cursor,
            listing::empty_listing_has_no_cursor,
            listing::keyset_walk_is_stable_while_tokens_are_minted_and_revoked,
        );
        $crate::conformance::conformance_tests!(@races $harness;
            races::same_name_minted_at_once_one_wins,
            races::revoke_racing_lookups_is_seen_once_it_returns,
            races::rotate_racing_rotate_leaves_exactly_one_secret,
            races::member_removal_racing_a_mint_leaves_no_live_token,
            races::group_deletion_racing_a_mint_leaves_no_live_token,
            races::owners_stepping_down_at_once_leave_one_owner,
            races::folds_racing_revocations_keep_every_total,
        );
        $crate::conformance::conformance_tests!(@transfer $harness;
            transfer::an_export_imported_into_an_empty_store_is_the_same_store,
            transfer::an_import_that_collides_writes_nothing_of_its_batch,
        );
    };
    (@each $harness:expr; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                let harness: Option<$crate::conformance::Harness> = ($harness).into();
                let Some(harness) = harness else { return };
                $crate::conformance::$module::$test(harness.store()).await;
            }
        )*
    };
    (@races $harness:expr; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let harness: Option<$crate::conformance::Harness> = ($harness).into();
                let Some(harness) = harness else { return };
                $crate::conformance::$module::$test(harness.store(), harness.peer()).await;
            }
        )*
    };
    (@transfer $harness:expr; $($module:ident :: $test:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                let source: Option<$crate::conformance::Harness> = ($harness).into();
                let target: Option<$crate::conformance::Harness> = ($harness).into();
                let (Some(source), Some(target)) = (source, target) else { return };
                $crate::conformance::$module::$test(source.store(), target.store()).await;
            }
        )*
    };
}

pub(crate) use conformance_tests;
