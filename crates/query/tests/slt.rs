//! Runs the SQL behaviour files in `tests/slt/` against the query engine over the embedded
//! backend, with data written through the real group-commit writer.
//!
//! Besides SQL, a statement may be one of these directives (the rest of the record is the body):
//! - `LINES [db]`: write the line protocol that follows (nanosecond precision) as one request,
//!   so consecutive `LINES` records are separate transactions;
//! - `COMPACT`: compact every sealed bucket, so queries read chunks and newer blocks together;
//! - `USE db`: run the following queries against another database.

use std::path::PathBuf;
use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use futures::TryStreamExt;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};
use tidemark_ingest::lp::{Precision, parse_lines};
use tidemark_ingest::{WriteRequest, Writer, WriterConfig};
use tidemark_query::{QueryConfig, QueryEngine, QueryKind};
use tidemark_storage::tsdb::Layout;
use tidemark_storage::{EmbeddedKv, EmbeddedOptions};

const DEFAULT_DATABASE: &str = "db";

struct Tidemark {
    db: EmbeddedKv,
    writer: Writer,
    engine: QueryEngine<EmbeddedKv>,
    database: String,
    _dir: tempfile::TempDir,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SltError(String);

impl Tidemark {
    fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = EmbeddedKv::open(dir.path(), EmbeddedOptions::default()).unwrap();
        let writer = Writer::start(db.clone(), Layout::default(), WriterConfig::default());
        // Small batches and several partitions exercise batch splitting and parallel lanes.
        let config = QueryConfig {
            target_partitions: 3,
            lanes: 2,
            batch_size: 7,
            ..QueryConfig::default()
        };
        let engine = QueryEngine::new(db.clone(), Layout::default(), config).unwrap();
        Self {
            db,
            writer,
            engine,
            database: DEFAULT_DATABASE.into(),
            _dir: dir,
        }
    }

    async fn write(&self, header: &str, body: &str) -> Result<u64, SltError> {
        let database = header.split_whitespace().nth(1).unwrap_or(&self.database);
        let batch = parse_lines(
            body.as_bytes(),
            Precision::Nanosecond,
            0,
            &Default::default(),
        );
        if let Some(error) = batch.errors.first() {
            return Err(SltError(format!("line {}: {}", error.line, error.message)));
        }
        let outcome = self
            .writer
            .write(WriteRequest {
                database: database.into(),
                series: batch.series,
                idempotency_key: None,
            })
            .await
            .map_err(|error| SltError(error.to_string()))?;
        Ok(outcome.written as u64)
    }

    async fn query(&self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let stream = self
            .engine
            .query(Some(&self.database), sql, QueryKind::Http, None)
            .await
            .map_err(|error| SltError(error.to_string()))?;
        let schema = stream.schema.clone();
        let batches: Vec<RecordBatch> = stream
            .try_collect()
            .await
            .map_err(|error| SltError(error.to_string()))?;
        let types = schema
            .fields()
            .iter()
            .map(|field| {
                let kind = field.data_type();
                if kind.is_integer() {
                    DefaultColumnType::Integer
                } else if kind.is_floating() {
                    DefaultColumnType::FloatingPoint
                } else {
                    DefaultColumnType::Text
                }
            })
            .collect();
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let formatters = batch
                .columns()
                .iter()
                .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| SltError(error.to_string()))?;
            for row in 0..batch.num_rows() {
                rows.push(
                    formatters
                        .iter()
                        .map(|formatter| {
                            let text = formatter.value(row).to_string();
                            if text.is_empty() {
                                "(empty)".into()
                            } else {
                                text
                            }
                        })
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }
}

#[async_trait::async_trait]
impl AsyncDB for Tidemark {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let (first, rest) = sql.split_once('\n').unwrap_or((sql, ""));
        let directive = first.split_whitespace().next().unwrap_or_default();
        match directive {
            "LINES" => Ok(DBOutput::StatementComplete(self.write(first, rest).await?)),
            "COMPACT" => {
                let config = tidemark_tiering::CompactionConfig {
                    seal_after: Duration::ZERO,
                    ..Default::default()
                };
                let stats = tidemark_tiering::compact_sealed(&self.db, &Layout::default(), &config)
                    .await
                    .map_err(|error| SltError(error.to_string()))?;
                Ok(DBOutput::StatementComplete(stats.chunks_written))
            }
            "USE" => {
                let database = first.split_whitespace().nth(1).unwrap_or_default();
                self.engine
                    .prepare(Some(database), "SELECT 1")
                    .await
                    .map_err(|error| SltError(error.to_string()))?;
                self.database = database.into();
                Ok(DBOutput::StatementComplete(0))
            }
            _ => self.query(sql).await,
        }
    }

    async fn shutdown(&mut self) {}

    async fn sleep(duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_behaviour_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    let mut failures = Vec::new();
    for file in &files {
        let mut runner = sqllogictest::Runner::new(|| async { Ok(Tidemark::open()) });
        if let Err(error) = runner.run_file_async(file).await {
            failures.push(format!("{}:\n{error}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
