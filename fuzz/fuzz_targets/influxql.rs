//! InfluxQL text from `/query` is untrusted: whatever it is, the parser answers statements or
//! an error (never a panic, never a blown stack), every statement prints as InfluxQL that
//! parses back to the same statement, and the questions the executor asks of a SELECT (its
//! time range, its GROUP BY time, the names it reads) answer without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidemark_influxql::ast::Statement;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(statements) = tidemark_influxql::parse(text) else {
        return;
    };
    for statement in &statements {
        let printed = statement.to_string();
        let reparsed = tidemark_influxql::parse(&printed)
            .unwrap_or_else(|error| panic!("{printed:?} does not parse back: {error}"));
        assert_eq!(reparsed.len(), 1, "{printed:?}");
        assert_eq!(&reparsed[0], statement, "{printed:?}");
        if let Statement::Select(select) = statement {
            let _ = select.split_time_condition(1_700_000_000_000_000_000);
            let _ = select.group_by_time();
            let _ = select.field_refs();
            let _ = select.is_aggregate();
        }
    }
});
