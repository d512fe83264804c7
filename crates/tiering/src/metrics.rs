//! What compaction and tiering passes report to `/metrics` (through the `metrics` facade;
//! `server` renders it).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::compaction::CompactionStats;
use crate::pass::TierStats;

/// Records a finished compaction pass.
pub(crate) fn record_compaction(stats: &CompactionStats) {
    metrics::counter!("tidemark_compaction_passes_total").increment(1);
    metrics::counter!("tidemark_compaction_chunks_written_total").increment(stats.chunks_written);
    // The sealed buckets this pass found waiting: how far compaction was behind.
    metrics::gauge!("tidemark_compaction_backlog").set(stats.buckets as f64);
}

/// Records a finished tiering pass.
pub(crate) fn record_tiering(stats: &TierStats) {
    metrics::counter!("tidemark_tiering_passes_total").increment(1);
    metrics::counter!("tidemark_tiering_files_written_total").increment(stats.files_written);
    metrics::counter!("tidemark_tiering_bytes_written_total").increment(stats.bytes);
    // Partitions past hot retention this pass found still hot.
    metrics::gauge!("tidemark_tiering_backlog_partitions").set(stats.partitions as f64);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    metrics::gauge!("tidemark_tiering_last_pass_timestamp_seconds").set(now);
}
