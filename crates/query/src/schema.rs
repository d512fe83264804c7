//! The Arrow types of a measurement's columns, shared by the tables, the batches the scans
//! build and the system tables (a leaf: it imports nothing of the crate).

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use tidemark_storage::tsdb::FieldType;

/// The time zone of every `time` column.
pub const TIME_ZONE: &str = "UTC";

/// The Arrow type of a field type.
pub fn field_data_type(kind: FieldType) -> DataType {
    match kind {
        FieldType::Float => DataType::Float64,
        FieldType::Integer => DataType::Int64,
        FieldType::UInteger => DataType::UInt64,
        FieldType::String => DataType::Utf8,
        FieldType::Boolean => DataType::Boolean,
    }
}

/// The Arrow type of tag columns.
pub fn tag_data_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The Arrow type of the `time` column.
pub fn time_data_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some(TIME_ZONE.into()))
}
