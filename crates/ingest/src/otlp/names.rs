//! Prometheus names for OTLP metrics, attributes and units, following `prometheus/otlptranslator`
//! (the Go module Prometheus 3.x's OTLP receiver uses): `metric_namer.go` (`normalizeName`,
//! `buildMetricName`, `addUnitTokens`, the UCUM unit maps), `label_namer.go` with the receiver's
//! defaults (`label_name_underscore_sanitization: true`,
//! `label_name_preserve_multiple_underscores: true`) and `unit_namer.go`.

use std::borrow::Cow;
use std::str::FromStr;

/// How OTLP names become Prometheus names: Prometheus's `otlp.translation_strategy`, with its
/// spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TranslationStrategy {
    /// `http.server.duration` (unit `s`, histogram) → `http_server_duration_seconds`; counters
    /// get `_total`, gauges with unit `1` get `_ratio`. Prometheus's default.
    #[default]
    UnderscoreEscapingWithSuffixes,
    /// Characters escaped as above, no unit or type suffixes.
    UnderscoreEscapingWithoutSuffixes,
    /// Names kept as sent (UTF-8), unit and type suffixes added.
    NoUtf8EscapingWithSuffixes,
    /// Names kept as sent, nothing added.
    NoTranslation,
}

impl TranslationStrategy {
    /// Whether characters outside the classic Prometheus sets become `_`.
    pub fn escapes(self) -> bool {
        matches!(
            self,
            Self::UnderscoreEscapingWithSuffixes | Self::UnderscoreEscapingWithoutSuffixes
        )
    }

    /// Whether unit and type suffixes are added.
    pub fn adds_suffixes(self) -> bool {
        matches!(
            self,
            Self::UnderscoreEscapingWithSuffixes | Self::NoUtf8EscapingWithSuffixes
        )
    }
}

impl FromStr for TranslationStrategy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "UnderscoreEscapingWithSuffixes" => Ok(Self::UnderscoreEscapingWithSuffixes),
            "UnderscoreEscapingWithoutSuffixes" => Ok(Self::UnderscoreEscapingWithoutSuffixes),
            "NoUTF8EscapingWithSuffixes" => Ok(Self::NoUtf8EscapingWithSuffixes),
            "NoTranslation" => Ok(Self::NoTranslation),
            other => Err(format!(
                "unknown translation strategy {other:?} (expected UnderscoreEscapingWithSuffixes, \
                 UnderscoreEscapingWithoutSuffixes, NoUTF8EscapingWithSuffixes or NoTranslation)"
            )),
        }
    }
}

/// The OTLP metric kinds naming distinguishes (`otlptranslator.MetricType`; exponential
/// histograms are refused before they are named).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetricKind {
    Gauge,
    MonotonicCounter,
    NonMonotonicCounter,
    Histogram,
    Summary,
}

/// UCUM units Prometheus spells out (`unitMap`; `1` maps to nothing because a ratio gets `_ratio`).
fn unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        _ => return None,
    })
}

/// The "per" half of a rate unit, singular (`perUnitMap`): `m/s` → `meters_per_second`.
fn per_unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

/// `buildUnitSuffixes`: the main unit and `per_<unit>`, unknown units kept verbatim, and
/// annotations (`{request}`) dropped.
fn unit_suffixes(unit: &str) -> (String, String) {
    let mut parts = unit.splitn(2, '/');
    let usable = |part: &str| !part.is_empty() && !part.contains(['{', '}']);
    let main = parts.next().unwrap_or("").trim();
    let main = if usable(main) {
        unit_word(main).unwrap_or(main).to_owned()
    } else {
        String::new()
    };
    let per = match parts.next() {
        Some(per) if !per.is_empty() && usable(per.trim()) => {
            let per = per.trim();
            format!("per_{}", per_unit_word(per).unwrap_or(per))
        }
        _ => String::new(),
    };
    (main, per)
}

/// Metric name characters in the classic set, without `_` (which separates tokens).
fn is_metric_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// `cleanUpUnit`: other characters become `_`, runs collapse, one leading `_` goes.
fn clean_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_metric_token_char(c) { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    match out.strip_prefix('_') {
        Some(rest) => rest.to_owned(),
        None => out,
    }
}

/// `normalizeName`: tokens of `[a-zA-Z0-9:]` (so runs of other characters, `_` included,
/// become one `_`), unit tokens unless already present, `_total` for monotonic counters, `_ratio`
/// for gauges of unit `1`, and `_` before a leading digit.
fn normalize_with_suffixes(name: &str, unit: &str, kind: MetricKind) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_metric_token_char(c))
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
        .collect();
    let (main, per) = unit_suffixes(unit);
    let mut main = clean_unit(&main);
    let mut per = clean_unit(&per);
    // `addUnitTokens`.
    if tokens.contains(&main) {
        main.clear();
    }
    if per == "per_" {
        per.clear();
    } else {
        if per.ends_with('_') {
            per.pop();
        }
        if tokens.contains(&per) {
            per.clear();
        }
    }
    if !per.is_empty() && main.ends_with('_') {
        main.pop();
    }
    for suffix in [main, per] {
        if !suffix.is_empty() {
            tokens.push(suffix);
        }
    }
    let mut replace_suffix = |word: &str| {
        tokens.retain(|token| token != word);
        tokens.push(word.to_owned());
    };
    if kind == MetricKind::MonotonicCounter {
        replace_suffix("total");
    }
    if unit == "1" && kind == MetricKind::Gauge {
        replace_suffix("ratio");
    }
    prefix_leading_digit(tokens.join("_"))
}

fn prefix_leading_digit(name: String) -> String {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    }
}

/// `trimSuffixAndDelimiter`: drops `suffix` and the one character before it.
fn trim_suffix_and_delimiter(name: &mut String, suffix: &str) {
    if name.ends_with(suffix) && name.len() > suffix.len() + 1 {
        let cut = name.len() - suffix.len() - 1;
        // Go slices bytes; a multi-byte delimiter would be split, so leave such a name alone.
        if name.is_char_boundary(cut) {
            name.truncate(cut);
        }
    }
}

/// `buildMetricName`: the name as sent, then `_<unit>`, `_per_<unit>`, `_total`, `_ratio`,
/// each replacing the same word already at the end.
fn utf8_with_suffixes(name: &str, unit: &str, kind: MetricKind) -> String {
    let mut name = name.to_owned();
    let ratio = unit == "1" && kind == MetricKind::Gauge;
    let total = kind == MetricKind::MonotonicCounter;
    if ratio {
        trim_suffix_and_delimiter(&mut name, "ratio");
    }
    if total {
        trim_suffix_and_delimiter(&mut name, "total");
    }
    let (main, per) = unit_suffixes(unit);
    if !per.is_empty() {
        trim_suffix_and_delimiter(&mut name, &per);
    }
    for (add, suffix) in [
        (!main.is_empty() && !name.ends_with(&main), main.as_str()),
        (!per.is_empty(), per.as_str()),
        (total, "total"),
        (ratio, "ratio"),
    ] {
        if add {
            name.push('_');
            name.push_str(suffix);
        }
    }
    name
}

/// The Prometheus metric name of an OTLP metric, or why it has none.
pub(crate) fn metric_name(
    strategy: TranslationStrategy,
    name: &str,
    unit: &str,
    kind: MetricKind,
) -> Result<String, String> {
    let built = match strategy {
        TranslationStrategy::UnderscoreEscapingWithSuffixes => {
            normalize_with_suffixes(name, unit, kind)
        }
        TranslationStrategy::UnderscoreEscapingWithoutSuffixes => prefix_leading_digit(
            name.split(|c: char| !(is_metric_token_char(c) || c == '_'))
                .filter(|token| !token.is_empty())
                .collect::<Vec<_>>()
                .join("_"),
        ),
        TranslationStrategy::NoUtf8EscapingWithSuffixes => utf8_with_suffixes(name, unit, kind),
        TranslationStrategy::NoTranslation => name.to_owned(),
    };
    if built.is_empty() {
        return Err(format!("metric name {name:?} translates to an empty name"));
    }
    if strategy.escapes() && built != name && built.bytes().all(|byte| byte == b'_') {
        return Err(format!(
            "metric name {name:?} translates to {built:?}, which has only underscores"
        ));
    }
    Ok(built)
}

/// The Prometheus label name of an attribute key (`LabelNamer.Build`): escaped characters become
/// `_` (runs kept), a leading digit gets `key_`, a single leading `_` gets `key` (`__` is kept).
pub(crate) fn label_name(strategy: TranslationStrategy, key: &str) -> Result<Cow<'_, str>, String> {
    if key.is_empty() {
        return Err("an attribute has an empty key".into());
    }
    if !strategy.escapes() {
        return Ok(Cow::Borrowed(key));
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut name = if key.chars().all(valid) {
        Cow::Borrowed(key)
    } else {
        Cow::Owned(
            key.chars()
                .map(|c| if valid(c) { c } else { '_' })
                .collect(),
        )
    };
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name = Cow::Owned(format!("key_{name}"));
    } else if name.starts_with('_') && !name.starts_with("__") {
        name = Cow::Owned(format!("key{name}"));
    }
    if name != key && name.bytes().all(|byte| byte == b'_') {
        return Err(format!(
            "attribute key {key:?} translates to {name:?}, which has only underscores"
        ));
    }
    Ok(name)
}

/// `UnitNamer.Build` (escaping): the unit in Prometheus words, for metadata (`m/s` →
/// `meters_per_second`, `{request}` → ``).
pub(crate) fn unit_words(unit: &str) -> String {
    let (main, per) = unit_suffixes(unit);
    let (main, per) = (clean_unit(&main), clean_unit(&per));
    let joined = match (main.is_empty(), per.is_empty()) {
        (false, false) => format!("{main}_{per}"),
        (false, true) => main,
        _ => per,
    };
    let trimmed = joined.strip_prefix('_').unwrap_or(&joined);
    trimmed.strip_suffix('_').unwrap_or(trimmed).to_owned()
}

/// A float as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it (the `le` and `quantile`
/// label values): shortest round-trip digits, never an exponent, `+Inf`, `-Inf`, `NaN`.
pub(crate) fn format_float(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        // Rust's `Display` for floats is the same: shortest digits, positional notation.
        format!("{value}")
    }
}

#[cfg(test)]
mod tests;
