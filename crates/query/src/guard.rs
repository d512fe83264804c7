//! Bounds on what scalar functions may produce.
//!
//! DataFusion's memory pool accounts for what operators buffer (sorts, joins, aggregates), not
//! for what a scalar function allocates while it computes one batch: `repeat('x', 2^40)` would
//! ask the allocator for a terabyte and abort the process. So every function whose output can
//! be larger than its input is wrapped here: functions whose size follows an argument
//! (`repeat`, `lpad`, `range`, `array_repeat`, ...) are checked *before* they run, from their
//! arguments; every wrapped function's output is checked after it runs, which bounds chains
//! of functions that each grow their input by a constant factor (`concat(x, x)`, `encode`,
//! `upper`) at one step past the limit. A refusal is a `ResourcesExhausted` error (429).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::FunctionRegistry;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature,
};

/// How a function's output size follows its arguments, for the check before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Growth {
    /// `repeat(s, n)`: |s| × n.
    Repeat,
    /// `lpad(s, n [, fill])`, `rpad`: n characters of up to 4 bytes.
    Pad,
    /// `replace(s, from, to)`: every position may become `to`.
    Replace,
    /// `regexp_replace(s, pattern, replacement [, flags])`: every position may become the
    /// replacement, whose `$n` may each expand to all of `s`.
    RegexpReplace,
    /// `array_repeat(x, n)`: n copies of x.
    ArrayRepeat,
    /// `array_resize(a, n [, fill])`: n elements.
    ArrayResize,
    /// `range(start, stop [, step])`, `generate_series`: (stop - start) / step elements.
    Range,
    /// Output bounded by a constant factor of the input: checked after it runs.
    Bounded,
}

/// The functions wrapped, with how they grow.
const GROWING: &[(&str, Growth)] = &[
    ("repeat", Growth::Repeat),
    ("lpad", Growth::Pad),
    ("rpad", Growth::Pad),
    ("replace", Growth::Replace),
    ("regexp_replace", Growth::RegexpReplace),
    ("array_repeat", Growth::ArrayRepeat),
    ("array_resize", Growth::ArrayResize),
    ("range", Growth::Range),
    ("generate_series", Growth::Range),
    ("overlay", Growth::Bounded),
    ("concat", Growth::Bounded),
    ("concat_ws", Growth::Bounded),
    ("translate", Growth::Bounded),
    ("encode", Growth::Bounded),
    ("upper", Growth::Bounded),
    ("lower", Growth::Bounded),
    ("initcap", Growth::Bounded),
    ("to_hex", Growth::Bounded),
    ("array_concat", Growth::Bounded),
    ("array_append", Growth::Bounded),
    ("array_prepend", Growth::Bounded),
    ("make_array", Growth::Bounded),
    ("string_to_array", Growth::Bounded),
];

/// Wraps the growing functions of `state` so none produces more than `limit` bytes a batch.
pub(crate) fn bound_growing_functions(state: &mut SessionState, limit: usize) -> DfResult<()> {
    for (name, growth) in GROWING {
        let Some(inner) = state.scalar_functions().get(*name).cloned() else {
            continue;
        };
        let guarded = Guarded {
            inner,
            growth: *growth,
            limit,
        };
        state.register_udf(Arc::new(ScalarUDF::new_from_impl(guarded)))?;
    }
    Ok(())
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Guarded {
    inner: Arc<ScalarUDF>,
    growth: Growth,
    limit: usize,
}

fn too_big(name: &str, bytes: usize, limit: usize) -> DataFusionError {
    metrics::counter!("tidemark_limit_refusals_total", "limit" => "function_output_bytes")
        .increment(1);
    DataFusionError::ResourcesExhausted(format!(
        "{name}() would produce {bytes} bytes in one batch; the limit is {limit} \
         (query.max_function_output_bytes)"
    ))
}

impl Guarded {
    fn rewrap(&self, udf: ScalarUDF) -> ScalarUDF {
        ScalarUDF::new_from_impl(Guarded {
            inner: Arc::new(udf),
            growth: self.growth,
            limit: self.limit,
        })
    }
}

impl ScalarUDFImpl for Guarded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn schema_name(&self, args: &[Expr]) -> DfResult<String> {
        self.inner.schema_name(args)
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        self.inner.return_type(arg_types)
    }

    fn with_updated_config(
        &self,
        config: &datafusion::common::config::ConfigOptions,
    ) -> Option<ScalarUDF> {
        self.inner
            .inner()
            .with_updated_config(config)
            .map(|updated| self.rewrap(updated))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs<'_>) -> DfResult<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        if let Some(bytes) = estimate(self.growth, &args.args, args.number_rows)
            && bytes > self.limit
        {
            return Err(too_big(self.name(), bytes, self.limit));
        }
        let output = self.inner.invoke_with_args(args)?;
        let bytes = match &output {
            ColumnarValue::Array(array) => array.get_array_memory_size(),
            ColumnarValue::Scalar(scalar) => scalar.size(),
        };
        if bytes > self.limit {
            return Err(too_big(self.name(), bytes, self.limit));
        }
        Ok(output)
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> DfResult<ExprSimplifyResult> {
        self.inner.inner().simplify(args, info)
    }

    fn short_circuits(&self) -> bool {
        self.inner.short_circuits()
    }

    fn output_ordering(&self, inputs: &[ExprProperties]) -> DfResult<SortProperties> {
        self.inner.output_ordering(inputs)
    }

    fn preserves_lex_ordering(&self, inputs: &[ExprProperties]) -> DfResult<bool> {
        self.inner.preserves_lex_ordering(inputs)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// Byte length per row of a string argument, if it is one.
fn lengths(value: &ColumnarValue, rows: usize) -> Option<Vec<usize>> {
    match value {
        ColumnarValue::Scalar(scalar) => {
            let text = match scalar {
                datafusion::common::ScalarValue::Utf8(text)
                | datafusion::common::ScalarValue::LargeUtf8(text)
                | datafusion::common::ScalarValue::Utf8View(text) => text.as_deref(),
                _ => return None,
            };
            Some(vec![text.map_or(0, str::len); rows])
        }
        ColumnarValue::Array(array) => string_lengths(array),
    }
}

fn string_lengths(array: &ArrayRef) -> Option<Vec<usize>> {
    let length = |value: Option<&str>| value.map_or(0, str::len);
    Some(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().map(length).collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().map(length).collect(),
        DataType::Utf8View => array.as_string_view().iter().map(length).collect(),
        _ => return None,
    })
}

/// Per row, an integer argument (nulls and non-integers as 0).
fn integers(value: &ColumnarValue, rows: usize) -> Option<Vec<i64>> {
    let array = value.to_array(rows).ok()?;
    if !array.data_type().is_integer() {
        return None;
    }
    let array = cast(&array, &DataType::Int64).ok()?;
    let array = array.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
    Some(
        (0..array.len())
            .map(|row| {
                if array.is_null(row) {
                    0
                } else {
                    array.value(row)
                }
            })
            .collect(),
    )
}

fn positive(value: i64) -> usize {
    usize::try_from(value.max(0)).unwrap_or(usize::MAX)
}

/// An upper bound of the output bytes, when the growth depends on the arguments.
fn estimate(growth: Growth, args: &[ColumnarValue], rows: usize) -> Option<usize> {
    let sum = |values: Box<dyn Iterator<Item = usize>>| {
        values.fold(0usize, |total, bytes| total.saturating_add(bytes))
    };
    match growth {
        Growth::Repeat => {
            let texts = lengths(args.first()?, rows)?;
            let counts = integers(args.get(1)?, rows)?;
            Some(sum(Box::new(texts.into_iter().zip(counts).map(
                |(length, count)| length.saturating_mul(positive(count)),
            ))))
        }
        Growth::Pad => {
            let counts = integers(args.get(1)?, rows)?;
            Some(sum(Box::new(
                counts
                    .into_iter()
                    .map(|count| positive(count).saturating_mul(4)),
            )))
        }
        Growth::Replace | Growth::RegexpReplace => {
            let texts = lengths(args.first()?, rows)?;
            // The replacement is the third argument of both.
            let replacements = lengths(args.get(2)?, rows)?;
            let references = match (growth, args.get(2)?) {
                (Growth::RegexpReplace, ColumnarValue::Scalar(scalar)) => {
                    scalar.to_string().matches('$').count()
                }
                (Growth::RegexpReplace, ColumnarValue::Array(_)) => 9,
                _ => 0,
            };
            Some(sum(Box::new(texts.into_iter().zip(replacements).map(
                |(length, replacement)| {
                    let each = replacement
                        .max(1)
                        .saturating_add(references.saturating_mul(length));
                    length.saturating_add(length.saturating_add(1).saturating_mul(each))
                },
            ))))
        }
        Growth::ArrayRepeat => {
            let element = lengths(args.first()?, rows).unwrap_or_else(|| vec![16; rows]);
            let counts = integers(args.get(1)?, rows)?;
            Some(sum(Box::new(element.into_iter().zip(counts).map(
                |(bytes, count)| bytes.saturating_add(16).saturating_mul(positive(count)),
            ))))
        }
        Growth::ArrayResize => {
            let counts = integers(args.get(1)?, rows)?;
            Some(sum(Box::new(
                counts
                    .into_iter()
                    .map(|count| positive(count).saturating_mul(16)),
            )))
        }
        Growth::Range => {
            let (starts, stops) = match args.len() {
                1 => (vec![0; rows], integers(&args[0], rows)?),
                _ => (integers(&args[0], rows)?, integers(&args[1], rows)?),
            };
            let steps = match args.get(2) {
                Some(step) => integers(step, rows)?,
                None => vec![1; rows],
            };
            Some(sum(Box::new(starts.into_iter().zip(stops).zip(steps).map(
                |((start, stop), step)| {
                    let span = stop.abs_diff(start);
                    let count = span / step.unsigned_abs().max(1) + 1;
                    usize::try_from(count)
                        .unwrap_or(usize::MAX)
                        .saturating_mul(8)
                },
            ))))
        }
        Growth::Bounded => None,
    }
}
