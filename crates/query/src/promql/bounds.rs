//! Bounds on a PromQL expression, checked on the text before it is parsed.
//!
//! Parsing, evaluating and dropping an expression all recurse once per level of its tree, and
//! a level costs a few hundred bytes of stack: 100,000 nested parentheses (or a chain of
//! 100,000 `+`) would overflow any thread's stack. The tree's depth is at most the bracket
//! nesting plus the number of operators, so both are bounded here, lexically, before the
//! parser sees the text.

use std::panic::{AssertUnwindSafe, catch_unwind};

use promql_parser::parser::{Expr, parse};

use super::value::PromError;

/// Word operators of PromQL (binary set operators and `atan2`).
const WORD_OPERATORS: [&str; 4] = ["and", "or", "unless", "atan2"];

/// Fails when `text` nests brackets deeper than `max_depth` or holds more than
/// `8 × max_depth` operators (outside string literals and comments).
pub fn check_expression(text: &str, max_depth: usize) -> Result<(), PromError> {
    let max_operators = max_depth.saturating_mul(8);
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut operators) = (0usize, 0usize, 0usize);
    // Whether the next token, if a bare number, is read as a duration in seconds.
    let mut duration_next = false;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let was_duration_next = std::mem::take(&mut duration_next);
        match byte {
            quote @ (b'"' | b'\'' | b'`') => {
                index += 1;
                while index < bytes.len() && bytes[index] != quote {
                    // Backquoted strings have no escapes; the others escape with a backslash.
                    index += if bytes[index] == b'\\' && quote != b'`' {
                        2
                    } else {
                        1
                    };
                }
            }
            b'#' => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
                duration_next = was_duration_next;
            }
            byte if byte.is_ascii_whitespace() => duration_next = was_duration_next,
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                duration_next = byte == b'[';
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b':' => duration_next = true,
            b'+' | b'-' if was_duration_next => {
                operators += 1;
                duration_next = true;
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'=' | b'!' | b'<' | b'>' => operators += 1,
            byte if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'.' => {
                let start = index;
                while index < bytes.len() && is_word_byte(bytes, index) {
                    index += 1;
                }
                let word = &text[start..index];
                if WORD_OPERATORS
                    .iter()
                    .any(|operator| word.eq_ignore_ascii_case(operator))
                {
                    operators += 1;
                }
                if was_duration_next {
                    check_bare_duration(word)?;
                }
                duration_next = word.eq_ignore_ascii_case("offset");
                continue;
            }
            _ => {}
        }
        index += 1;
    }
    if deepest > max_depth {
        return Err(refuse(format!(
            "the expression nests {deepest} levels of brackets; the limit is {max_depth} \
             (query.max_expression_depth)"
        )));
    }
    if operators > max_operators {
        return Err(refuse(format!(
            "the expression has {operators} operators; the limit is {max_operators} \
             (8 × query.max_expression_depth)"
        )));
    }
    Ok(())
}

/// Parses an expression, turning a panic of the parser into an error.
///
/// promql-parser 0.11 panics on some inputs (a bare number as a duration too large for a
/// `Duration`, as in `m[1e300]` or `m offset Inf`, found by the `promql` fuzz target). A
/// request must never take the server down, so the parser runs behind `catch_unwind`; the
/// cost is one landing pad per parse.
pub fn parse_expression(text: &str) -> Result<Expr, String> {
    let text = requote_raw_strings(text);
    match catch_unwind(AssertUnwindSafe(|| parse(&text))) {
        Ok(parsed) => parsed,
        Err(_) => Err("the expression could not be parsed (a number out of range?)".into()),
    }
}

/// Rewrites backquoted (raw) strings as double-quoted ones.
///
/// In PromQL a backquoted string has no escapes (`{path=~`\[x\]`}` is the regex `\[x\]`), but
/// promql-parser 0.11's lexer reads escapes in every kind of string and refuses `\[` (found by
/// the Prometheus oracle). The same string double-quoted, with `\`, `"` and newlines escaped,
/// means exactly what the raw string means.
fn requote_raw_strings(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('`') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '"' | '\'' => {
                out.push(ch);
                while let Some(inner) = chars.next() {
                    out.push(inner);
                    if inner == '\\' {
                        out.extend(chars.next());
                    } else if inner == ch {
                        break;
                    }
                }
            }
            '#' => {
                out.push(ch);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == '\n' {
                        break;
                    }
                }
            }
            '`' => {
                out.push('"');
                let mut closed = false;
                for inner in chars.by_ref() {
                    match inner {
                        '`' => {
                            closed = true;
                            break;
                        }
                        '\\' => out.push_str("\\\\"),
                        '"' => out.push_str("\\\""),
                        '\n' => out.push_str("\\n"),
                        other => out.push(other),
                    }
                }
                if !closed {
                    // Unterminated: the parser reports it on the text as written.
                    return text.into();
                }
                out.push('"');
            }
            other => out.push(other),
        }
    }
    out.into()
}

/// Whether the byte at `index` continues a word or a number (`1.5e+3`, `0x1F`, `5m30s`).
fn is_word_byte(bytes: &[u8], index: usize) -> bool {
    let byte = bytes[index];
    byte.is_ascii_alphanumeric()
        || byte == b'_'
        || byte == b'.'
        || (matches!(byte, b'+' | b'-')
            && index > 0
            && matches!(bytes[index - 1], b'e' | b'E')
            && bytes.get(index + 1).is_some_and(u8::is_ascii_digit))
}

/// The longest bare-number duration accepted: 100 years, in seconds. promql-parser converts a
/// bare number in a range, subquery or offset with `Duration::from_secs_f64`, which panics on
/// infinity, NaN and anything past `u64::MAX` seconds.
const MAX_BARE_DURATION_SECONDS: f64 = 100.0 * 365.25 * 86_400.0;

fn check_bare_duration(word: &str) -> Result<(), PromError> {
    let value = match word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).map_or(f64::INFINITY, |value| value as f64),
        None => match word.parse::<f64>() {
            Ok(value) => value,
            // Not a number (a duration with units, a name): the parser judges it.
            Err(_) => return Ok(()),
        },
    };
    if value.is_finite() && (0.0..=MAX_BARE_DURATION_SECONDS).contains(&value) {
        return Ok(());
    }
    metrics::counter!("tidemark_limit_refusals_total", "limit" => "duration").increment(1);
    Err(PromError::BadData(format!(
        "invalid parameter \"query\": the duration {word} is out of range (at most \
         {MAX_BARE_DURATION_SECONDS} seconds)"
    )))
}

fn refuse(message: String) -> PromError {
    metrics::counter!("tidemark_limit_refusals_total", "limit" => "expression_depth").increment(1);
    PromError::BadData(format!("invalid parameter \"query\": {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_or_long_expressions_are_refused_before_parsing() {
        assert!(check_expression("sum by (a) (rate(m{a=~\"x|y\"}[5m]))", 128).is_ok());
        let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(check_expression(&deep, 128).is_err());
        let long = vec!["1"; 100_000].join("+");
        assert!(check_expression(&long, 128).is_err());
        let unary = format!("{}1", "-".repeat(100_000));
        assert!(check_expression(&unary, 128).is_err());
        let words = vec!["a"; 5_000].join(" or ");
        assert!(check_expression(&words, 128).is_err());
        // Brackets and operators inside strings and comments do not count.
        let quoted = format!("m{{a=\"{}\"}} # {}", "(".repeat(1_000), "+".repeat(2_000));
        assert!(check_expression(&quoted, 128).is_ok());
    }

    #[test]
    fn a_parser_panic_is_an_error() {
        // The fuzzer's finding: a 70-digit number as a range duration.
        let found = format!("+++++ch[{}1]+02+++/", "7".repeat(62));
        for text in [
            found.as_str(),
            "m[1e300]",
            "m offset Inf",
            "m[NaN]",
            "m[1m:1e300]",
        ] {
            assert!(parse_expression(text).is_err(), "{text}");
        }
        assert!(parse_expression("rate(m[5m])").is_ok());
        // Raw strings keep their backslashes (promql-parser's lexer would refuse `\[`).
        let raw = parse_expression("m{path=~`\\[x\\]|a\\+b\"`}")
            .unwrap()
            .to_string();
        let quoted = parse_expression(r#"m{path=~"\\[x\\]|a\\+b\""}"#)
            .unwrap()
            .to_string();
        assert_eq!(raw, quoted);
        assert!(parse_expression("m{a=\"`\"} # `").is_ok());
        assert!(parse_expression("m{a=`x}").is_err());
        // The check before parsing refuses them too (the fuzzer aborts on any panic).
        for text in [
            found.as_str(),
            "m[1e300]",
            "m offset Inf",
            "m offset -NaN",
            "m[1m:1e300]",
        ] {
            assert!(check_expression(text, 128).is_err(), "{text}");
        }
        for text in [
            "m[300]",
            "m offset 1e3",
            "m[1m:30] + 1e300",
            "m{a=\"[1e300]\"}",
        ] {
            assert!(check_expression(text, 128).is_ok(), "{text}");
        }
    }
}
