//! Bounds on a PromQL expression, checked on the text before it is parsed.
//!
//! Parsing, evaluating and dropping an expression all recurse once per level of its tree, and
//! a level costs a few hundred bytes of stack: 100,000 nested parentheses (or a chain of
//! 100,000 `+`) would overflow any thread's stack. The tree's depth is at most the bracket
//! nesting plus the number of operators, so both are bounded here, lexically, before the
//! parser sees the text.

use super::value::PromError;

/// Word operators of PromQL (binary set operators and `atan2`).
const WORD_OPERATORS: [&str; 4] = ["and", "or", "unless", "atan2"];

/// Fails when `text` nests brackets deeper than `max_depth` or holds more than
/// `8 × max_depth` operators (outside string literals and comments).
pub fn check_expression(text: &str, max_depth: usize) -> Result<(), PromError> {
    let max_operators = max_depth.saturating_mul(8);
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut operators) = (0usize, 0usize, 0usize);
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
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
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'=' | b'!' | b'<' | b'>' => operators += 1,
            byte if byte.is_ascii_alphabetic() || byte == b'_' => {
                let start = index;
                while index < bytes.len()
                    && (bytes[index].is_ascii_alphanumeric() || bytes[index] == b'_')
                {
                    index += 1;
                }
                let word = &text[start..index];
                if WORD_OPERATORS
                    .iter()
                    .any(|operator| word.eq_ignore_ascii_case(operator))
                {
                    operators += 1;
                }
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
}
