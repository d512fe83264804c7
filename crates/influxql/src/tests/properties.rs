//! Properties: printing any tree the parser can build and parsing the text gives the same
//! tree back, and no input at all makes the parser panic.

use proptest::prelude::*;

use super::strategies::statement;
use crate::parse;

/// Fragments that make up plausible and implausible queries.
const FRAGMENTS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "time",
    "(",
    ")",
    "10s",
    "-",
    "+",
    "*",
    "/",
    "/re/",
    "=~",
    "!~",
    "=",
    "<>",
    "AND",
    "OR",
    ",",
    ";",
    "'s'",
    "\"q\"",
    ".",
    "..",
    "::",
    "field",
    "tag",
    "fill",
    "null",
    "tz",
    "now()",
    "$p",
    "1",
    "1.5",
    "-1",
    "SHOW",
    "TAG",
    "VALUES",
    "WITH",
    "KEY",
    "IN",
    "LIMIT",
    "INTO",
    ":MEASUREMENT",
    "distinct",
    "mean",
    "/*",
    "*/",
    "--",
    "\n",
    "'",
    "\"",
    "\\",
    "EXACT",
    "CARDINALITY",
    "ON",
    "CREATE",
    "DROP",
    "DATABASE",
    "x",
    "9223372036854775808",
    "1h30m",
    "µ",
    "é",
];

/// Valid queries that the mutation property edits.
const SEEDS: &[&str] = &[
    r#"SELECT mean("usage_user") FROM "cpu" WHERE ("host" =~ /^server$/) AND time >= 1700000000000ms and time <= 1700003600000ms GROUP BY time(10s) fill(null)"#,
    r#"SELECT non_negative_derivative(mean("bytes_recv"), 1s) *8 FROM "net" WHERE time > now() - 1h GROUP BY time(1m), "host" fill(none)"#,
    r#"SHOW TAG VALUES FROM "cpu" WITH KEY = "host" WHERE "region" =~ /^us$/"#,
    "SELECT * INTO db..:MEASUREMENT FROM (SELECT -x, y::tag FROM db.rp./m.*/) ORDER BY time DESC LIMIT 1 tz('UTC')",
    "CREATE RETENTION POLICY rp ON db DURATION 1d REPLICATION 1 SHARD DURATION 1h DEFAULT",
    "SHOW MEASUREMENT EXACT CARDINALITY ON db FROM a, b WHERE x = 'y' GROUP BY z LIMIT 1",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn edited_client_queries_never_panic_and_what_parses_round_trips(
        seed in prop::sample::select(SEEDS),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(FRAGMENTS), 0..3u8), 1..4),
    ) {
        let mut words: Vec<String> = seed.split(' ').map(String::from).collect();
        for (index, fragment, kind) in edits {
            let at = index.index(words.len() + 1);
            match kind {
                0 => words.insert(at, fragment.to_string()),
                1 if at < words.len() => {
                    words.remove(at);
                }
                _ if at < words.len() => words[at].push_str(fragment),
                _ => {}
            }
        }
        let text = words.join(" ");
        if let Ok(statements) = parse(&text) {
            let printed: Vec<String> = statements.iter().map(ToString::to_string).collect();
            let reparsed = parse(&printed.join(";\n"));
            prop_assert_eq!(reparsed, Ok(statements), "{} printed as {:?}", text, printed);
        }
    }

    #[test]
    fn printed_statements_parse_back_to_the_same_tree(statement in statement()) {
        let printed = statement.to_string();
        let parsed = parse(&printed);
        prop_assert_eq!(parsed, Ok(vec![statement]), "printed as {}", printed);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}|.{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn token_soup_never_panics_and_what_parses_round_trips(
        parts in prop::collection::vec((prop::sample::select(FRAGMENTS), any::<bool>()), 0..40)
    ) {
        let mut text = String::new();
        for (fragment, space) in parts {
            text.push_str(fragment);
            if space {
                text.push(' ');
            }
        }
        if let Ok(statements) = parse(&text) {
            let printed: Vec<String> = statements.iter().map(ToString::to_string).collect();
            let reparsed = parse(&printed.join(";\n"));
            prop_assert_eq!(reparsed, Ok(statements), "{} printed as {:?}", text, printed);
        }
    }
}
