//! One behavioural suite for every KV backend: what FDB does, the embedded backend must do.
//!
//! Each case is written once against [`Backend`] and instantiated for the embedded backend (always)
//! and for FoundationDB (with `--features fdb`, when `FDB_CLUSTER_FILE` is set; otherwise each
//! FDB case prints a notice and returns).

mod atomics;
mod backend;
mod conflicts;
mod durability;
mod limits;
mod model;
mod ranges;
mod retries;
mod versionstamps;

pub(crate) use backend::{Backend, Ctx, assert_code, commit};

macro_rules! cases {
    ($backend:ty => $($module:ident :: $case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                if let Some(ctx) = crate::Ctx::<$backend>::start(stringify!($case)) {
                    crate::$module::$case(&ctx).await;
                }
            }
        )+
    };
}

macro_rules! suite {
    ($backend:ty) => {
        cases!($backend =>
            conflicts::read_then_foreign_write_conflicts,
            conflicts::blind_writes_never_conflict,
            conflicts::range_read_sees_phantoms,
            conflicts::range_read_ignores_writes_outside,
            conflicts::snapshot_reads_record_nothing,
            conflicts::limited_range_conflicts_only_up_to_last_row,
            conflicts::limited_reverse_range_conflicts_only_down_to_last_row,
            conflicts::read_only_transactions_always_commit,
            conflicts::reads_of_own_writes_add_no_conflict,
            conflicts::explicit_conflict_ranges,
            conflicts::next_write_without_conflict_range,
            conflicts::serializable_read_modify_write_under_contention,
            atomics::documented_examples,
            atomics::atomic_ops_never_conflict_with_each_other,
            atomics::reading_an_atomic_key_restores_the_conflict,
            atomics::own_reads_see_pending_atomic_ops,
            versionstamps::keys_and_values_are_stamped_in_commit_order,
            versionstamps::concurrent_commits_get_unique_stamps,
            versionstamps::stamped_writes_are_unreadable_in_their_transaction,
            versionstamps::read_only_transactions_have_no_versionstamp,
            versionstamps::malformed_offsets_fail_the_commit,
            versionstamps::stamps_stay_monotonic_across_reopen,
            limits::key_and_value_limits,
            limits::system_keyspace_is_illegal,
            limits::transaction_size_limit,
            limits::five_second_transaction_lifetime,
            limits::scan_longer_than_the_lifetime_through_read_windows,
            limits::timeout_option,
            limits::inverted_clear_range,
            model::random_transactions_match_a_model,
            ranges::read_your_writes_in_ranges,
            ranges::clear_range_over_own_writes,
            ranges::paging_of_large_ranges,
            ranges::limits_modes_and_reverse,
            retries::idempotent_increment_lands_exactly_once,
            retries::maybe_committed_is_not_retried_unless_idempotent,
            retries::retry_limit_is_honoured,
            durability::acknowledged_commits_survive_sigkill,
        );
    };
}

mod embedded {
    suite!(crate::backend::Embedded);
}

#[cfg(feature = "fdb")]
mod fdb {
    suite!(crate::backend::Fdb);
}
