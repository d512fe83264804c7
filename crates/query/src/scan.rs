//! A SQL scan partition: the selected series of a measurement read in a few concurrent lanes
//! (`crate::read`), each step of a series turned into record batches (`crate::batches`).

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::{StreamExt, TryStreamExt, stream};
use tidemark_storage::KvDatabase;
use tidemark_storage::tsdb::SeriesId;

use crate::batches::{slice_batches, to_batches};
use crate::cold::Combined;
use crate::error::{QueryError, QueryResult};
use crate::read::{SeriesStep, lane};
use crate::spec::{ScanSpec, Shared};

/// The series of one scan partition.
pub(crate) struct SeriesPartition<D> {
    pub(crate) shared: Arc<Shared<D>>,
    pub(crate) spec: Arc<ScanSpec>,
    pub(crate) series: Vec<SeriesId>,
}

impl<D> std::fmt::Debug for SeriesPartition<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesPartition")
            .field("series", &self.series.len())
            .finish_non_exhaustive()
    }
}

impl<D: KvDatabase> PartitionStream for SeriesPartition<D> {
    fn schema(&self) -> &SchemaRef {
        &self.spec.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let lanes = self.shared.lanes.clamp(1, self.series.len().max(1));
        let mut assigned: Vec<Vec<SeriesId>> = vec![Vec::new(); lanes];
        for (index, series) in self.series.iter().enumerate() {
            assigned[index % lanes].push(*series);
        }
        let streams = assigned.into_iter().map(|series| {
            let spec = self.spec.clone();
            lane(self.shared.clone(), self.spec.clone(), series)
                .and_then(move |step| {
                    let batches = step_batches(&spec, step);
                    async move { batches }
                })
                .map_ok(|batches| stream::iter(batches.into_iter().map(Ok::<_, QueryError>)))
                .try_flatten()
                .boxed()
        });
        let merged = stream::select_all(streams).map_err(Into::into);
        Box::pin(RecordBatchStreamAdapter::new(
            self.spec.schema.clone(),
            merged,
        ))
    }
}

/// The record batches of one step of a series.
fn step_batches(
    spec: &ScanSpec,
    step: SeriesStep,
) -> QueryResult<Vec<datafusion::arrow::array::RecordBatch>> {
    match step.rows {
        Combined::Blocks(blocks) => to_batches(spec, step.key.as_deref(), &blocks),
        Combined::Slices(slices) => slice_batches(spec, step.key.as_deref(), &slices),
    }
}
