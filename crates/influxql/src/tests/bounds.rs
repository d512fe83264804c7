//! Hostile input: long chains, deep nesting, huge queries. Each deep case runs on a thread
//! with a 2 MiB stack (a Tokio worker's) and must end in a clean result or error.

use crate::ast::Statement;
use crate::{ParseError, ParseOptions, parse, parse_with};

const TWO_MIB: usize = 2 << 20;

/// Runs `f` on a thread with a 2 MiB stack; a stack overflow would abort the test binary.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(TWO_MIB)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the parser thread panicked")
}

fn chain(terms: usize, op: &str) -> String {
    let mut text = String::from("SELECT 1");
    for _ in 1..terms {
        text.push_str(op);
        text.push('1');
    }
    text.push_str(" FROM m");
    text
}

#[test]
fn a_hundred_thousand_term_chain_is_refused_cleanly() {
    let err = on_small_stack(|| parse(&chain(100_000, "+")).unwrap_err());
    assert!(
        matches!(err, ParseError::TooComplex { max: 1000, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "error parsing query: expression is more than 1000 levels tall at line 1, char 2007"
    );
}

#[test]
fn a_hundred_thousand_open_parentheses_are_refused_cleanly() {
    let text = format!("SELECT {} FROM m", "(".repeat(100_000));
    let err = on_small_stack(move || parse(&text).unwrap_err());
    assert_eq!(
        err.to_string(),
        "error parsing query: nesting exceeds the maximum depth of 64 at line 1, char 72"
    );
}

#[test]
fn a_hundred_thousand_nested_calls_are_refused_cleanly() {
    let text = format!("SELECT {} FROM m", "f(".repeat(100_000));
    let err = on_small_stack(move || parse(&text).unwrap_err());
    assert!(matches!(err, ParseError::TooDeep { max: 64, .. }), "{err}");
}

#[test]
fn deeply_nested_subqueries_are_refused_cleanly() {
    let text = "SELECT * FROM (".repeat(10_000);
    let err = on_small_stack(move || parse(&text).unwrap_err());
    assert!(matches!(err, ParseError::TooDeep { max: 64, .. }), "{err}");
}

#[test]
fn a_deep_where_clause_of_parentheses_is_refused_cleanly() {
    let text = format!("SELECT v FROM m WHERE {}a = 1", "(".repeat(100_000));
    let err = on_small_stack(move || parse(&text).unwrap_err());
    assert!(matches!(err, ParseError::TooDeep { .. }), "{err}");
}

#[test]
fn nesting_up_to_the_limit_is_accepted() {
    let ok = format!("SELECT {}1{} FROM m", "(".repeat(64), ")".repeat(64));
    let too_deep = format!("SELECT {}1{} FROM m", "(".repeat(65), ")".repeat(65));
    on_small_stack(move || {
        let statements = parse(&ok).unwrap();
        assert_eq!(parse(&statements[0].to_string()).unwrap(), statements);
        assert!(matches!(parse(&too_deep), Err(ParseError::TooDeep { .. })));
    });
}

#[test]
fn subqueries_up_to_the_limit_are_accepted_printed_and_dropped() {
    // 63 subqueries and the call inside the innermost make 64 levels.
    let depth = 63;
    let text = format!(
        "{}SELECT mean(v) FROM m{}",
        "SELECT * FROM (".repeat(depth),
        ")".repeat(depth)
    );
    on_small_stack(move || {
        let statements = parse(&text).unwrap();
        let copy = statements.clone();
        assert_eq!(parse(&copy[0].to_string()).unwrap(), statements);
        drop(copy);
    });
}

#[test]
fn the_tallest_allowed_trees_can_be_cloned_compared_printed_split_and_dropped() {
    on_small_stack(|| {
        let mut queries = vec![chain(1000, " + "), chain(1000, " * ")];
        for op in [" AND ", " OR "] {
            // n comparisons joined by n - 1 operators stand n + 1 tall; the parentheses and
            // the AND around them add two more.
            let terms = |n: usize| vec!["a = 1"; n].join(op);
            queries.push(format!(
                "SELECT v FROM m WHERE time > 0 AND ({})",
                terms(997)
            ));
            queries.push(format!("SELECT v FROM m WHERE {}", terms(999)));
        }
        for text in queries {
            let statements = parse(&text).unwrap_or_else(|e| panic!("{e}"));
            let copy = statements.clone();
            assert_eq!(copy, statements);
            let printed = copy[0].to_string();
            assert_eq!(parse(&printed).unwrap(), statements);
            assert!(!format!("{copy:?}").is_empty());
            drop(copy);
            let Statement::Select(select) = &statements[0] else {
                unreachable!()
            };
            let (rest, _) = select.split_time_condition(0).unwrap();
            drop(rest);
            assert!(select.condition_refs().len() <= 999);
        }
        assert!(matches!(
            parse(&chain(1001, "+")),
            Err(ParseError::TooComplex { .. })
        ));
    });
}

#[test]
fn a_long_time_condition_chain_yields_its_range() {
    let mut text = String::from("SELECT v FROM m WHERE time > 0");
    for i in 1..900 {
        text.push_str(&format!(" AND time > {i}"));
    }
    let range = on_small_stack(move || match parse(&text).unwrap().remove(0) {
        Statement::Select(select) => select.time_range(0).unwrap(),
        _ => unreachable!(),
    });
    assert_eq!(range.min, Some(900));
}

#[test]
fn long_flat_lists_need_no_depth() {
    let fields = vec!["a"; 50_000].join(", ");
    let text = format!("SELECT {fields} FROM m GROUP BY {fields}");
    let statements = on_small_stack(move || parse(&text).unwrap());
    let Statement::Select(select) = &statements[0] else {
        panic!()
    };
    assert_eq!(
        (select.fields.len(), select.dimensions.len()),
        (50_000, 50_000)
    );
    let many = "SHOW DATABASES;".repeat(20_000);
    assert_eq!(parse(&many).unwrap().len(), 20_000);
}

#[test]
fn input_longer_than_the_limit_is_refused_before_lexing() {
    let text = format!("SELECT v FROM m WHERE s = '{}'", "x".repeat(1 << 20));
    assert_eq!(
        parse(&text).unwrap_err(),
        ParseError::TooLong {
            len: text.len(),
            max: 1 << 20
        }
    );
    let options = ParseOptions {
        max_input_len: 10,
        ..ParseOptions::default()
    };
    assert!(matches!(
        parse_with("SHOW DATABASES", &options),
        Err(ParseError::TooLong { len: 14, max: 10 })
    ));
    assert_eq!(
        parse_with("SHOW USERS", &options).unwrap(),
        vec![Statement::ShowUsers]
    );
}

#[test]
fn limits_are_configurable() {
    let options = ParseOptions {
        max_depth: 2,
        max_expr_height: 5,
        ..ParseOptions::default()
    };
    assert!(parse_with("SELECT f(g(1)) FROM m", &options).is_ok());
    assert!(matches!(
        parse_with("SELECT f(g(h(1))) FROM m", &options),
        Err(ParseError::TooDeep { max: 2, .. })
    ));
    assert!(parse_with("SELECT 1 + 1 + 1 + 1 + 1 FROM m", &options).is_ok());
    assert!(matches!(
        parse_with("SELECT 1 + 1 + 1 + 1 + 1 + 1 FROM m", &options),
        Err(ParseError::TooComplex { max: 5, .. })
    ));
}

#[test]
fn a_huge_regex_is_refused_not_compiled_forever() {
    let text = format!("SELECT v FROM m WHERE a =~ /{}/", "(a{1000}){1000}");
    assert!(matches!(parse(&text), Err(ParseError::Invalid { .. })));
}
