//! Error messages, worded and positioned as InfluxDB 1.x words and positions them.

use super::error;
use crate::{ParseError, Pos, parse};

/// Declares one test per failing query and its exact message.
macro_rules! fails {
    ($($name:ident: $query:expr => $message:expr,)*) => {
        $(
            #[test]
            fn $name() {
                assert_eq!(error($query), $message, "{:?}", $query);
            }
        )*
    };
}

fails! {
    unknown_statement: "FOO" => "error parsing query: found FOO, expected SELECT, DELETE, SHOW, \
        CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 1",
    unknown_show: "SHOW FOO" => "error parsing query: found FOO, expected CONTINUOUS, DATABASES, \
        DIAGNOSTICS, FIELD, GRANTS, MEASUREMENT, MEASUREMENTS, QUERIES, RETENTION, SERIES, SHARD, \
        SHARDS, STATS, SUBSCRIPTIONS, TAG, USERS at line 1, char 6",
    unknown_create: "CREATE TABLE t" => "error parsing query: found TABLE, expected CONTINUOUS, \
        DATABASE, USER, RETENTION, SUBSCRIPTION at line 1, char 8",
    unknown_drop: "DROP TABLE t" => "error parsing query: found TABLE, expected CONTINUOUS, \
        DATABASE, MEASUREMENT, RETENTION, SERIES, SHARD, SUBSCRIPTION, USER at line 1, char 6",
    select_without_fields: "SELECT FROM m" => "error parsing query: found FROM, expected \
        identifier, string, number, bool at line 1, char 8",
    from_without_source: "SELECT * FROM" => "error parsing query: found EOF, expected identifier \
        at line 1, char 15",
    keyword_as_measurement: "SELECT * FROM where" => "error parsing query: found WHERE, expected \
        identifier at line 1, char 15",
    missing_from: "SELECT v" => "error parsing query: found EOF, expected FROM at line 1, char 10",
    call_with_space: "SELECT mean (x) FROM m" => "error parsing query: found (, expected FROM at \
        line 1, char 13",
    empty_where: "SELECT v FROM m WHERE" => "error parsing query: found EOF, expected identifier, \
        string, number, bool at line 1, char 23",
    group_without_by: "SELECT v FROM m GROUP time(1m)" => "error parsing query: found time, \
        expected BY at line 1, char 23",
    limit_not_integer: "SELECT v FROM m LIMIT x" => "error parsing query: found x, expected \
        integer at line 1, char 23",
    limit_negative: "SELECT v FROM m LIMIT -1" => "error parsing query: found -, expected \
        integer at line 1, char 23",
    order_by_field: "SELECT v FROM m ORDER BY host" => "error parsing query: only ORDER BY time \
        supported at this time",
    order_by_two_fields: "SELECT v FROM m ORDER BY time, host" => "error parsing query: only \
        ORDER BY time supported at this time",
    order_by_nothing: "SELECT v FROM m ORDER BY 1" => "error parsing query: found 1, expected \
        identifier, ASC, DESC at line 1, char 26",
    trailing_garbage: "SELECT v FROM m extra" => "error parsing query: found extra, expected ; \
        at line 1, char 17",
    clause_out_of_order: "SELECT v FROM m LIMIT 1 WHERE a = 1" => "error parsing query: found \
        WHERE, expected ; at line 1, char 25",
    comparison_in_field: "SELECT a = 1 FROM m" => "error parsing query: invalid operator = in \
        SELECT clause at line 1, char 8; operator is intended for WHERE clause",
    and_in_nested_field: "SELECT v, mean(a AND b) FROM m" => "error parsing query: invalid \
        operator AND in SELECT clause at line 1, char 11; operator is intended for WHERE clause",
    fill_bad_word: "SELECT mean(v) FROM m GROUP BY time(1m) fill(foo)" => "error parsing query: \
        expected number argument in fill()",
    fill_no_argument: "SELECT mean(v) FROM m GROUP BY time(1m) fill()" => "error parsing query: \
        fill requires an argument, e.g.: 0, null, none, previous, linear",
    fill_not_a_call: "SELECT mean(v) FROM m GROUP BY time(1m) fill" => "error parsing query: \
        fill must be a function call",
    tz_not_string: "SELECT v FROM m tz(1)" => "error parsing query: expected string argument \
        in tz()",
    tz_two_args: "SELECT v FROM m tz('a', 'b')" => "error parsing query: tz requires exactly \
        one argument",
    regex_op_without_regex: "SELECT v FROM m WHERE host =~ 'a'" => "error parsing query: found \
        a, expected regex at line 1, char 31",
    regex_does_not_compile: "SELECT v FROM m WHERE host =~ /(a/" => "error parsing query: error \
        parsing regexp: unclosed group: `(a` at line 1, char 31",
    regex_unterminated: "SELECT v FROM m WHERE host =~ /abc" => "error parsing query: bad \
        regex: /abc at line 1, char 31",
    regex_across_lines: "SELECT v FROM m WHERE host =~ /ab\nc/" => "error parsing query: bad \
        regex: /ab at line 1, char 31",
    unterminated_string: "SELECT 'abc FROM m" => "error parsing query: found abc FROM m, \
        expected identifier, string, number, bool at line 1, char 8",
    bad_string_escape: r"SELECT 'a\q' FROM m" => r"error parsing query: found \q, expected identifier, string, number, bool at line 1, char 8",
    unterminated_identifier: "SELECT \"abc FROM m" => "error parsing query: found abc FROM m, \
        expected identifier, string, number, bool at line 1, char 8",
    too_many_segments: "SELECT v FROM a.b.c.d" => "error parsing query: too many segments in \
        \"a\".\"b\".\"c\".d at line 1, char 15",
    invalid_duration_unit: "SELECT v FROM m GROUP BY time(10x)" => "error parsing query: invalid \
        duration",
    invalid_duration_trailing_digits: "SELECT v FROM m WHERE time > now() - 1h5" => "error \
        parsing query: invalid duration",
    overflowing_duration: "SELECT v FROM m WHERE time > now() - 99999999999w" => "error parsing \
        query: overflowed duration 99999999999w: choose a smaller duration or INF",
    integer_too_large: "SELECT v FROM m WHERE x > 99999999999999999999" => "error parsing \
        query: unable to parse integer at line 1, char 27",
    negative_unsigned: "SELECT -9223372036854775809 FROM m" => "error parsing query: constant \
        -9223372036854775809 underflows int64",
    sign_before_string: "SELECT -'a' FROM m" => "error parsing query: found a, expected \
        identifier, number, duration, ( at line 1, char 9",
    bad_cast: "SELECT x::bogus FROM m" => "error parsing query: found bogus, expected float, \
        integer, unsigned, string, boolean, field, tag at line 1, char 11",
    bad_wildcard_cast: "SELECT *::float FROM m" => "error parsing query: found float, expected \
        field, tag at line 1, char 11",
    distinct_without_name: "SELECT distinct FROM m" => "error parsing query: found FROM, \
        expected identifier at line 1, char 17",
    distinct_glued: "SELECT distinct,x FROM m" => "error parsing query: found ,, expected (, \
        identifier at line 1, char 16",
    empty_bound_parameter: "SELECT v FROM m WHERE a = $" => "error parsing query: empty bound \
        parameter",
    unterminated_comment: "SELECT v FROM m /* x" => "error parsing query: found ILLEGAL, \
        expected ; at line 1, char 17",
    illegal_character: "SELECT v FROM m WHERE a ? 1" => "error parsing query: found ?, \
        expected ; at line 1, char 25",
    missing_paren: "SELECT mean(v FROM m" => "error parsing query: found FROM, expected ) at \
        line 1, char 15",
    unclosed_paren: "SELECT (a + b FROM m" => "error parsing query: found FROM, expected ) at \
        line 1, char 15",
    position_on_second_line: "SELECT v\nFROM" => "error parsing query: found EOF, expected \
        identifier at line 2, char 6",
    position_counts_characters: "SELECT \"é\" FROM ü" => "error parsing query: found ü, \
        expected identifier at line 1, char 17",
    tag_values_without_key: "SHOW TAG VALUES FROM cpu" => "error parsing query: found EOF, \
        expected WITH at line 1, char 26",
    tag_values_bad_key_operator: "SHOW TAG VALUES WITH KEY host" => "error parsing query: found \
        host, expected IN, =, =~ at line 1, char 26",
    tag_values_string_key: "SHOW TAG VALUES WITH KEY = 'host'" => "error parsing query: found \
        host, expected identifier at line 1, char 28",
    measurement_exact_without_cardinality: "SHOW MEASUREMENT EXACT" => "error parsing query: \
        found EOF, expected CARDINALITY at line 1, char 24",
    measurement_alone: "SHOW MEASUREMENT" => "error parsing query: found EOF, expected EXACT, \
        CARDINALITY at line 1, char 18",
    tag_key_alone: "SHOW TAG KEY" => "error parsing query: found EOF, expected EXACT, \
        CARDINALITY at line 1, char 14",
    show_tag_alone: "SHOW TAG" => "error parsing query: found EOF, expected KEY, KEYS, VALUES at \
        line 1, char 10",
    show_measurements_with_bad_op: "SHOW MEASUREMENTS WITH MEASUREMENT != cpu" => "error \
        parsing query: found !=, expected =, =~ at line 1, char 36",
    show_retention_without_policies: "SHOW RETENTION" => "error parsing query: found EOF, \
        expected POLICIES at line 1, char 16",
    delete_alone: "DELETE" => "error parsing query: found EOF, expected FROM, WHERE at line 1, \
        char 8",
    delete_with_database: "DELETE FROM db.rp.m" => "error parsing query: database not supported \
        at line 1, char 8",
    drop_series_with_policy: "DROP SERIES FROM rp.m" => "error parsing query: retention policy \
        not supported at line 1, char 13",
    replication_zero: "CREATE RETENTION POLICY rp ON db DURATION 1d REPLICATION 0" => "error \
        parsing query: invalid value 0: must be 1 <= n <= 2147483647 at line 1, char 58",
    shard_duration_inf: "CREATE RETENTION POLICY rp ON db DURATION 1d REPLICATION 1 SHARD \
        DURATION INF" => "error parsing query: invalid duration INF for shard duration at line 1, \
        char 75",
    rp_bad_duration: "CREATE RETENTION POLICY rp ON db DURATION 1x REPLICATION 1" => "error \
        parsing query: invalid duration at line 1, char 43",
    rp_missing_replication: "CREATE RETENTION POLICY rp ON db DURATION 1d" => "error parsing \
        query: found EOF, expected REPLICATION at line 1, char 46",
    alter_duplicate_option: "ALTER RETENTION POLICY rp ON db DURATION 1d DURATION 2d" => "error \
        parsing query: found duplicate DURATION option at line 1, char 45",
    alter_without_options: "ALTER RETENTION POLICY rp ON db" => "error parsing query: found EOF, \
        expected DURATION, REPLICATION, SHARD, DEFAULT, FUTURE, PAST at line 1, char 33",
    create_database_bad_with: "CREATE DATABASE db WITH foo" => "error parsing query: found foo, \
        expected DURATION, NAME, REPLICATION, SHARD, FUTURE, PAST at line 1, char 25",
    grant_read_to: "GRANT READ TO bob" => "error parsing query: found TO, expected ON at line \
        1, char 12",
    grant_bad_privilege: "GRANT foo ON db TO bob" => "error parsing query: found foo, expected \
        READ, WRITE, ALL [PRIVILEGES] at line 1, char 7",
    grant_all_nowhere: "GRANT ALL bob" => "error parsing query: found bob, expected ON, TO at \
        line 1, char 11",
    revoke_all_nowhere: "REVOKE ALL PRIVILEGES bob" => "error parsing query: found bob, expected \
        ON, FROM at line 1, char 23",
    create_user_without_password: "CREATE USER bob" => "error parsing query: found EOF, expected \
        WITH at line 1, char 17",
    set_password_without_eq: "SET PASSWORD FOR bob 'x'" => "error parsing query: found x, \
        expected = at line 1, char 22",
    kill_without_id: "KILL QUERY abc" => "error parsing query: found abc, expected integer at \
        line 1, char 12",
    alter_without_retention: "ALTER DATABASE db" => "error parsing query: found DATABASE, \
        expected RETENTION at line 1, char 7",
    cq_aggregate_without_interval: "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT mean(v) INTO x \
        FROM m END" => "error parsing query: found END, expected GROUP BY time(...) at line 1, \
        char 69",
    cq_without_into: "CREATE CONTINUOUS QUERY cq ON db BEGIN SELECT v FROM m END" => "error \
        parsing query: found FROM, expected INTO at line 1, char 49",
    cq_resample_empty: "CREATE CONTINUOUS QUERY cq ON db RESAMPLE BEGIN SELECT v INTO x FROM m \
        END" => "error parsing query: found BEGIN, expected EVERY, FOR at line 1, char 43",
    explain_non_select: "EXPLAIN SHOW DATABASES" => "error parsing query: found SHOW, expected \
        SELECT at line 1, char 9",
    subquery_not_select: "SELECT * FROM (SHOW DATABASES)" => "error parsing query: found SHOW, \
        expected SELECT at line 1, char 16",
    statements_without_separator: "SHOW DATABASES SHOW USERS" => "error parsing query: found \
        SHOW, expected ; at line 1, char 16",
}

#[test]
fn errors_expose_position_and_detail() {
    let err = parse("SELECT * FROM").unwrap_err();
    assert_eq!(err.pos(), Some(Pos { line: 1, char: 15 }));
    assert_eq!(
        err.detail(),
        "found EOF, expected identifier at line 1, char 15"
    );
    assert!(matches!(err, ParseError::Unexpected { .. }));
}
