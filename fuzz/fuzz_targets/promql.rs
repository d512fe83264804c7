//! Queries and parameters of the Prometheus API are untrusted: the PromQL text (bounded and
//! parsed as the server does, evaluated by us over a small fixed dataset under a budget) and
//! the times and durations of the request. None may panic, overflow the stack or run away.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promql_parser::label::Matchers;
use tidemark_query::promql::{
    EvalParams, PromError, Series, SeriesSource, check_expression, evaluate,
};
use tidemark_query::{Budget, QueryLimits};
use tidemark_server::prometheus::format::{PromParams, parse_duration, parse_time};

struct Fixed(Vec<Series>);

impl SeriesSource for Fixed {
    async fn select(
        &self,
        _matchers: &Matchers,
        start_ms: i64,
        end_ms: i64,
        budget: &Budget,
    ) -> Result<Vec<Series>, PromError> {
        let series: Vec<Series> = self
            .0
            .iter()
            .map(|series| Series {
                labels: series.labels.clone(),
                samples: series
                    .samples
                    .iter()
                    .copied()
                    .filter(|(t, _)| (start_ms..=end_ms).contains(t))
                    .collect(),
            })
            .collect();
        budget.add_samples(series.iter().map(|s| s.samples.len() as u64).sum())?;
        Ok(series)
    }
}

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let _ = parse_time("time", &text);
    let _ = parse_duration("step", &text);
    let params = PromParams::new(Some(&text), input);
    let _ = params.all("match[]");
    // As the server does: the text's bounds first, then the parser.
    let limits = QueryLimits::default();
    if check_expression(&text, limits.max_expression_depth).is_err() {
        return;
    }
    let Ok(expr) = tidemark_query::promql::parse_expression(&text) else {
        return;
    };
    // A short deadline and a small step budget, so a slow input is a finding, not a hang.
    let limits = std::sync::Arc::new(QueryLimits {
        max_steps: 100_000,
        max_samples: 1_000_000,
        ..limits
    });
    let source = Fixed(vec![Series {
        labels: vec![
            ("__name__".into(), "m".into()),
            ("job".into(), "a".into()),
            ("le".into(), "1".into()),
        ],
        samples: (0..20).map(|i| (i * 15_000, i as f64)).collect(),
    }]);
    for instant in [true, false] {
        let params = EvalParams {
            start_ms: 60_000,
            end_ms: if instant { 60_000 } else { 300_000 },
            step_ms: 30_000,
            lookback_ms: 300_000,
            default_subquery_step_ms: 60_000,
            instant,
        };
        let budget = Budget::new(limits.clone(), std::time::Duration::from_secs(2));
        let _ = futures::executor::block_on(evaluate(&source, &expr, &params, &budget));
    }
});
