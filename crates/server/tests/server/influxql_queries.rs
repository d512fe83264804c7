//! The InfluxQL statements the oracle compares: every function, fill mode, grouping, SHOW
//! statement and error case that Tidemark runs, over the data of `influxql_oracle`.

/// The hour the data covers, as InfluxQL time literals.
pub(crate) const FROM: &str = "'2023-11-14T22:00:00Z'";
pub(crate) const UNTIL: &str = "'2023-11-14T23:00:00Z'";

fn range() -> String {
    format!("time >= {FROM} AND time < {UNTIL}")
}

/// Every statement, with a short label for failure messages.
pub(crate) fn statements() -> Vec<String> {
    let range = range();
    let mut out: Vec<String> = Vec::new();
    let mut push = |text: String| out.push(text);

    // Aggregates and selectors over each numeric type, whole range and per window.
    let reducers = [
        "count(FIELD)",
        "mean(FIELD)",
        "median(FIELD)",
        "mode(FIELD)",
        "spread(FIELD)",
        "stddev(FIELD)",
        "sum(FIELD)",
        "first(FIELD)",
        "last(FIELD)",
        "max(FIELD)",
        "min(FIELD)",
        "percentile(FIELD, 90)",
        "percentile(FIELD, 5)",
        "integral(FIELD)",
        "integral(FIELD, 1m)",
    ];
    for (measurement, field) in [("cpu", "usage_user"), ("cpu", "active"), ("mem", "used")] {
        for reducer in reducers {
            // Ties in percentile and mode are decided by InfluxDB's unstable sort; `active`
            // has ties (docs/influxql.md).
            if field == "active"
                && (reducer.starts_with("percentile") || reducer.starts_with("mode"))
            {
                continue;
            }
            let call = reducer.replace("FIELD", field);
            push(format!("SELECT {call} FROM {measurement} WHERE {range}"));
            push(format!(
                "SELECT {call} FROM {measurement} WHERE {range} GROUP BY time(10m)"
            ));
        }
    }
    for reducer in reducers {
        // InfluxDB 1.6 emits each group's last integral window as a separate series after all
        // the others (docs/influxql.md).
        if reducer.starts_with("integral") {
            continue;
        }
        let call = reducer.replace("FIELD", "usage_idle");
        push(format!(
            "SELECT {call} FROM cpu WHERE {range} GROUP BY time(15m), host"
        ));
    }
    // mode over strings with a clear winner.
    push(format!(
        "SELECT mode(host_status), mode(status) FROM disk WHERE {range}"
    ));
    push(format!(
        "SELECT mode(status) FROM disk WHERE {range} GROUP BY time(30m), path"
    ));
    // Fill modes, over a series with a gap.
    for fill in ["null", "none", "previous", "linear", "0", "-1.5"] {
        for call in [
            "mean(usage_user)",
            "count(usage_user)",
            "max(active)",
            "sum(active)",
        ] {
            push(format!(
                "SELECT {call} FROM cpu WHERE host = 'c' AND {range} GROUP BY time(5m) fill({fill})"
            ));
        }
    }
    // Groupings.
    for group in [
        "host",
        "region",
        "host, region",
        "*",
        "/reg/",
        "time(20m), *",
        "time(10m, 3m), host",
        "time(7m)",
    ] {
        push(format!(
            "SELECT mean(usage_user), max(usage_idle) FROM cpu WHERE {range} GROUP BY {group}"
        ));
    }
    // Raw selections.
    for select in [
        "*",
        "usage_user",
        "usage_user, host",
        "usage_user::field, host::tag",
        "*::field",
        "/usage/",
        "usage_user * 2 + 1",
        "usage_user + usage_idle",
        "active / 2",
        "active % 7",
        "usage_user AS u, active AS a",
        "abs(usage_user - 50)",
        "round(usage_user)",
        "floor(usage_idle), ceil(usage_idle)",
        "sqrt(usage_user)",
        "pow(active, 2)",
        "log(usage_user, 10), ln(usage_user), log2(usage_user), log10(usage_user)",
        "sin(usage_user), cos(usage_user), tan(usage_user)",
        "exp(active / 100)",
        "atan2(usage_user, usage_idle)",
    ] {
        push(format!(
            "SELECT {select} FROM cpu WHERE host = 'a' AND {range}"
        ));
    }
    // WHERE clauses.
    for condition in [
        "host = 'a'",
        "host != 'a'",
        "host =~ /^[ab]$/",
        "host !~ /a/",
        "region = ''",
        "region != ''",
        "region =~ /.*/",
        "host = 'a' OR host = 'd'",
        "(host = 'a' OR host = 'b') AND usage_user > 50",
        "usage_user > 20 AND usage_user <= 60",
        "active >= 40",
        "active = 42",
        "usage_user + usage_idle > 100",
        "nosuchtag = 'x'",
        "nosuchtag = ''",
    ] {
        push(format!(
            "SELECT count(usage_user), mean(usage_user) FROM cpu WHERE {condition} AND {range} GROUP BY host"
        ));
    }
    for time in [
        "time >= '2023-11-14T22:10:00Z' AND time <= '2023-11-14T22:20:00Z'",
        "time > '2023-11-14T22:10:00Z' AND time < '2023-11-14T22:20:00Z'",
        "time >= 1700000000000000000 AND time < 1700000600000000000",
        "time >= 1700000000s AND time < 1700000600s",
        "time >= '2023-11-14T22:30:00Z' - 10m AND time < '2023-11-14T22:30:00Z'",
        "time = '2023-11-14T22:10:00Z'",
    ] {
        push(format!(
            "SELECT usage_user FROM cpu WHERE host = 'b' AND {time}"
        ));
    }
    // Transformations over raw points and over windows.
    for transform in [
        "derivative(usage_user)",
        "derivative(usage_user, 1m)",
        "non_negative_derivative(usage_user)",
        "difference(active)",
        "non_negative_difference(active)",
        "moving_average(usage_user, 3)",
        "cumulative_sum(active)",
        "elapsed(usage_user)",
        "elapsed(usage_user, 1s)",
    ] {
        push(format!(
            "SELECT {transform} FROM cpu WHERE host = 'a' AND {range}"
        ));
    }
    for transform in [
        "derivative(mean(usage_user))",
        "derivative(mean(usage_user), 1s)",
        "non_negative_derivative(max(active))",
        "difference(sum(active))",
        "non_negative_difference(mean(usage_user))",
        "moving_average(mean(usage_user), 2)",
        "cumulative_sum(sum(active))",
    ] {
        push(format!(
            "SELECT {transform} FROM cpu WHERE {range} GROUP BY time(10m), host"
        ));
        push(format!(
            "SELECT {transform} FROM cpu WHERE host = 'c' AND {range} GROUP BY time(5m) fill(none)"
        ));
    }
    // Arithmetic over aggregates, selectors with tags, wildcards in calls, distinct.
    for select in [
        "mean(usage_user) * 2",
        "mean(usage_user) + max(usage_idle)",
        "max(usage_user) - min(usage_user)",
        "sum(active) / count(active)",
        "mean(*)",
        "max(/usage/)",
        "count(*)",
        "max(usage_user), host",
        "min(usage_user), host, region",
        "first(usage_user), active",
        "last(status)",
        "count(status)",
        "first(ok)",
        "distinct(host_status)",
        "count(distinct(host_status))",
        "mean(usage_user) AS m",
        "mean(usage_user), mean(usage_user)",
    ] {
        push(format!("SELECT {select} FROM cpu, disk WHERE {range}"));
    }
    // Order and limits.
    for tail in [
        "ORDER BY time DESC LIMIT 3",
        "LIMIT 2 OFFSET 1",
        "LIMIT 0",
        "SLIMIT 2",
        "SLIMIT 1 SOFFSET 2",
        "LIMIT 1 SLIMIT 2 SOFFSET 1",
        "ORDER BY time DESC SLIMIT 1",
    ] {
        push(format!(
            "SELECT usage_user FROM cpu WHERE {range} GROUP BY host {tail}"
        ));
        push(format!(
            "SELECT mean(usage_user) FROM cpu WHERE {range} GROUP BY time(15m), host {tail}"
        ));
    }
    // Several measurements, regexes over measurements, measurements without tags.
    for from in [
        "cpu, mem",
        "/^(cpu|mem)$/",
        "/.*/",
        "net",
        "nosuch",
        "\"cpu\"",
    ] {
        push(format!("SELECT count(*) FROM {from} WHERE {range}"));
    }
    push(format!("SELECT * FROM net WHERE {range} LIMIT 5"));
    // Time zones: windows follow the zone's offset, times are shown in it.
    for statement in [
        format!(
            "SELECT mean(usage_user) FROM cpu WHERE {range} GROUP BY time(1h) tz('Asia/Kolkata')"
        ),
        format!(
            "SELECT mean(usage_user) FROM cpu WHERE {range} GROUP BY time(20m), host tz('America/Chicago')"
        ),
        format!(
            "SELECT usage_user FROM cpu WHERE host = 'a' AND {range} LIMIT 3 tz('America/Chicago')"
        ),
        format!("SELECT max(usage_user) FROM cpu WHERE {range} tz('Asia/Kolkata')"),
        format!(
            "SELECT count(usage_user) FROM cpu WHERE {range} GROUP BY time(1d) tz('Pacific/Chatham')"
        ),
        format!(
            "SELECT mean(usage_user) FROM cpu WHERE {range} GROUP BY time(1h) tz('Nowhere/Special')"
        ),
    ] {
        push(statement);
    }
    // Subqueries.
    for statement in [
        format!(
            "SELECT mean(max) FROM (SELECT max(usage_user) FROM cpu WHERE {range} GROUP BY time(10m), host) WHERE {range} GROUP BY time(30m)"
        ),
        format!(
            "SELECT max(m) FROM (SELECT mean(usage_user) AS m FROM cpu WHERE {range} GROUP BY time(5m), host) WHERE {range} GROUP BY host"
        ),
        format!(
            "SELECT sum(c) FROM (SELECT count(usage_user) AS c FROM cpu WHERE {range} GROUP BY host)"
        ),
        format!(
            "SELECT m FROM (SELECT mean(usage_user) AS m FROM cpu WHERE {range} GROUP BY time(15m), host) WHERE m > 50 AND {range}"
        ),
        format!(
            "SELECT m FROM (SELECT mean(usage_user) AS m FROM cpu WHERE {range} GROUP BY time(15m), host) WHERE host = 'b' AND {range}"
        ),
        format!(
            "SELECT * FROM (SELECT usage_user, host FROM cpu WHERE host = 'a' AND {range}) LIMIT 3"
        ),
        format!(
            "SELECT count(used) FROM (SELECT used FROM mem WHERE {range}) WHERE {range} GROUP BY time(20m)"
        ),
    ] {
        push(statement);
    }
    // SHOW statements.
    for show in [
        "SHOW MEASUREMENTS",
        "SHOW MEASUREMENTS LIMIT 1",
        "SHOW MEASUREMENTS LIMIT 2 OFFSET 1",
        "SHOW MEASUREMENTS WITH MEASUREMENT =~ /c.*/",
        "SHOW MEASUREMENTS WITH MEASUREMENT = mem",
        "SHOW MEASUREMENTS WHERE host = 'd'",
        "SHOW MEASUREMENTS WHERE path =~ /var/",
        "SHOW TAG KEYS",
        "SHOW TAG KEYS FROM cpu",
        "SHOW TAG KEYS FROM /m.*/",
        "SHOW TAG KEYS LIMIT 1",
        "SHOW TAG VALUES WITH KEY = host",
        "SHOW TAG VALUES FROM cpu WITH KEY = region",
        "SHOW TAG VALUES FROM cpu WITH KEY IN (host, region)",
        "SHOW TAG VALUES WITH KEY =~ /ho|pa/",
        "SHOW TAG VALUES FROM cpu WITH KEY = host WHERE region = 'eu'",
        "SHOW TAG VALUES FROM disk WITH KEY = path LIMIT 1",
        "SHOW FIELD KEYS",
        "SHOW FIELD KEYS FROM disk",
        "SHOW FIELD KEYS FROM cpu LIMIT 2",
        "SHOW SERIES",
        "SHOW SERIES FROM cpu",
        "SHOW SERIES FROM cpu WHERE host = 'a'",
        "SHOW SERIES WHERE region = 'us'",
        "SHOW SERIES LIMIT 3 OFFSET 2",
        "SHOW RETENTION POLICIES",
        "SHOW MEASUREMENT EXACT CARDINALITY",
        "SHOW SERIES EXACT CARDINALITY",
        "SHOW SERIES EXACT CARDINALITY FROM cpu",
        "SHOW SERIES CARDINALITY",
        "SHOW TAG KEY EXACT CARDINALITY",
        "SHOW TAG VALUES EXACT CARDINALITY WITH KEY = host",
        "SHOW TAG VALUES EXACT CARDINALITY FROM cpu WITH KEY = region",
        "SHOW FIELD KEY EXACT CARDINALITY",
        "SHOW FIELD KEY CARDINALITY FROM disk",
    ] {
        push(show.to_owned());
    }
    // Errors a client must see as 1.x error objects.
    for bad in [
        "SELECT mean(usage_user), usage_idle FROM cpu",
        "SELECT usage_user FROM cpu GROUP BY time(1m)",
        "SELECT host FROM cpu",
        "SELECT mean(usage_user) FROM cpu GROUP BY time(1m), time(2m)",
        "SELECT percentile(usage_user) FROM cpu",
        "SELEC * FROM cpu",
        "SELECT FROM cpu",
        "SELECT * FROM cpu WHERE",
        "SELECT mean(usage_user FROM cpu",
        "SELECT * FROM cpu GROUP BY time(1m) fill(bogus)",
        "SHOW TAG VALUES FROM cpu",
    ] {
        push(bad.to_owned());
    }
    // SELECT INTO, last: it adds measurements, then they are read back.
    for statement in [
        format!(
            "SELECT mean(usage_user) INTO cpu_5m FROM cpu WHERE {range} GROUP BY time(5m), host"
        ),
        format!("SELECT * FROM cpu_5m WHERE {range} GROUP BY *"),
        format!(
            "SELECT max(used) INTO \"oracle\"..\"mem_max\" FROM mem WHERE {range} GROUP BY time(10m), *"
        ),
        format!("SELECT * FROM mem_max WHERE {range} GROUP BY *"),
        format!("SELECT usage_user, host INTO cpu_copy FROM cpu WHERE host = 'a' AND {range}"),
        format!("SELECT count(*) FROM cpu_copy WHERE {range}"),
        format!(
            "SELECT max(bytes_recv) INTO \"oracle\".\"autogen\".:MEASUREMENT FROM net WHERE {range} GROUP BY time(30m)"
        ),
        "SHOW FIELD KEYS FROM net".to_owned(),
        "SHOW MEASUREMENTS".to_owned(),
    ] {
        push(statement);
    }
    // Several statements in one request.
    push(format!(
        "SELECT count(usage_user) FROM cpu WHERE {range}; SHOW MEASUREMENTS; SELECT max(used) FROM mem WHERE {range}"
    ));
    out
}
