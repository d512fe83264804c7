"""Real Flight SQL clients against a running tidemark: ADBC (as Python users and Grafana-like
tools use it) and raw pyarrow.flight (the wire-level calls of Grafana and JDBC).

Usage: flight_sql.py CHECK URI DATABASE TOKEN [EXPECTED_JSON]
The test harness starts the server, writes the data and passes what the answers must be.
Exits non-zero with a message on the first mismatch.
"""
import json
import struct
import sys

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa
import pyarrow.flight as flight
from adbc_driver_flightsql import DatabaseOptions

SQL_TYPE_PREFIX = "type.googleapis.com/arrow.flight.protocol.sql."


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def connect(uri, database, token, extra=None):
    options = {}
    if database:
        options[DatabaseOptions.RPC_CALL_HEADER_PREFIX.value + "database"] = database
    if token:
        options[DatabaseOptions.AUTHORIZATION_HEADER.value] = f"Bearer {token}"
    options.update(extra or {})
    return flight_sql.connect(uri, db_kwargs=options)


# --- hand-rolled protobuf, enough for the Flight SQL commands (pyarrow has no Flight SQL layer)


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def any_message(type_name, payload):
    return field_bytes(1, (SQL_TYPE_PREFIX + type_name).encode()) + field_bytes(2, payload)


def parse_fields(data):
    """Length-delimited fields of a protobuf message, by field number."""
    fields, position = {}, 0
    while position < len(data):
        key, position = read_varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 2:
            length, position = read_varint(data, position)
            fields.setdefault(number, []).append(data[position : position + length])
            position += length
        elif wire == 0:
            value, position = read_varint(data, position)
            fields.setdefault(number, []).append(value)
        else:
            fail(f"unexpected protobuf wire type {wire}")
    return fields


def read_varint(data, position):
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def call_options(database, token):
    headers = []
    if database:
        headers.append((b"database", database.encode()))
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return flight.FlightCallOptions(headers=headers)


def raw_statement(client, options, sql):
    """GetFlightInfo(CommandStatementQuery) -> exactly one endpoint -> DoGet, as Grafana does."""
    command = any_message("CommandStatementQuery", field_bytes(1, sql.encode()))
    info = client.get_flight_info(flight.FlightDescriptor.for_command(command), options)
    check(len(info.endpoints) == 1, f"expected one endpoint, got {len(info.endpoints)}")
    check(not info.endpoints[0].locations, "the endpoint must not name another location")
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    check(table.schema.equals(info.schema), f"DoGet schema {table.schema} != {info.schema}")
    return table


def raw_prepared(client, options, sql):
    """JDBC's flow: CreatePreparedStatement, GetFlightInfo, DoGet, ClosePreparedStatement."""
    request = any_message("ActionCreatePreparedStatementRequest", field_bytes(1, sql.encode()))
    results = list(client.do_action(flight.Action("CreatePreparedStatement", request), options))
    check(len(results) == 1, "CreatePreparedStatement returns one result")
    wrapper = parse_fields(results[0].body.to_pybytes())
    result = parse_fields(wrapper[2][0])
    handle = result[1][0]
    dataset_schema = pa.ipc.read_schema(pa.py_buffer(result[2][0]))
    command = any_message("CommandPreparedStatementQuery", field_bytes(1, handle))
    info = client.get_flight_info(flight.FlightDescriptor.for_command(command), options)
    check(len(info.endpoints) == 1, "prepared statement: one endpoint")
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    check(table.schema.equals(dataset_schema), "prepared schema matches the dataset schema")
    close = any_message("ActionClosePreparedStatementRequest", field_bytes(1, handle))
    list(client.do_action(flight.Action("ClosePreparedStatement", close), options))
    return table


def grpc_code(error):
    """pyarrow raises one exception class per gRPC status code."""
    classes = [
        (flight.FlightUnauthenticatedError, "Unauthenticated"),
        (flight.FlightUnauthorizedError, "PermissionDenied"),
    ]
    for cls, name in classes:
        if isinstance(error, cls):
            return name
    return f"{type(error).__name__}: {error}"


def check_queries(uri, database, token, expected):
    with connect(uri, database, token) as connection, connection.cursor() as cursor:
        # Plain statements (ADBC prepares every statement first).
        cursor.execute("SELECT 1 AS one")
        check(cursor.fetchall() == [(1,)], "SELECT 1")
        cursor.execute(
            "SELECT host, count(*) AS n, sum(value) AS total, min(value) AS low, "
            "max(value) AS high FROM metrics GROUP BY host ORDER BY host"
        )
        rows = [list(row) for row in cursor.fetchall()]
        check(rows == expected["per_host"], f"per-host aggregates {rows} != {expected['per_host']}")
        # Parameters bound through DoPut.
        cursor.execute("SELECT count(*) FROM metrics WHERE host = $1 AND value >= $2",
                       parameters=(expected["param_host"], expected["param_min"]))
        check(cursor.fetchone()[0] == expected["param_count"], "parameterised count")
        # Metadata.
        tables = connection.adbc_get_objects(depth="tables").read_all().to_pylist()
        names = {t["table_name"] for c in tables for s in c["catalog_db_schemas"] or []
                 for t in s["db_schema_tables"] or []}
        check("metrics" in names, f"adbc_get_objects lists metrics: {names}")
        schema = connection.adbc_get_table_schema("metrics", db_schema_filter=database)
        check(schema.names == expected["columns"], f"table schema {schema.names}")
        check(schema.field("time").type == pa.timestamp("ns", tz="UTC"), "time is ns UTC")
        check(schema.field("host").type == pa.string(), "tags arrive as strings")
        types = connection.adbc_get_table_types()
        check("BASE TABLE" in types, f"table types {types}")
        info = connection.adbc_get_info()
        check(info.get("vendor_name") == "tidemark", f"vendor name in {info}")
        # A stream of millions of rows: stored rows crossed with a generated series.
        cursor.execute(
            "SELECT m.host, m.value, g.value AS k FROM metrics m "
            f"CROSS JOIN generate_series(1, {expected['stream_factor']}) g"
        )
        reader = cursor.fetch_record_batch()
        rows, batches = 0, 0
        for batch in reader:
            rows += batch.num_rows
            batches += 1
        check(rows == expected["stream_rows"], f"streamed {rows} rows")
        check(batches > 10, f"the result arrived in {batches} batches, not as one")
        print(f"streamed {rows} rows in {batches} batches")
        # Errors name what was wrong.
        try:
            cursor.execute("SELECT nope FROM metrics")
            fail("an unknown column must fail")
        except flight_sql.Error as error:
            check("nope" in str(error), f"error names the column: {error}")

    client = flight.connect(uri.replace("grpc://", "grpc+tcp://"))
    options = call_options(database, token)
    table = raw_statement(client, options, "SELECT host, value FROM metrics WHERE host = 'h00' ORDER BY time")
    check(table.num_rows == expected["h00_rows"], f"raw statement rows {table.num_rows}")
    table = raw_prepared(client, options, "SELECT count(*) AS n FROM metrics")
    check(table.column("n").to_pylist() == [expected["total_rows"]], "prepared count")
    # Grafana's SQL builder queries.
    table = raw_statement(client, options,
                          "SELECT table_name FROM information_schema.tables "
                          "WHERE table_schema = database() ORDER BY table_name")
    check(table.column(0).to_pylist() == ["metrics"], f"tables of database(): {table}")
    print("queries ok")


def check_refusals(uri, database, token, other_database):
    """Wrong tokens and other databases are refused with the right gRPC codes."""
    cases = [
        ("no token", database, None, "Unauthenticated"),
        ("unknown token", database, "not-a-token", "Unauthenticated"),
        ("other database", other_database, token, "PermissionDenied"),
    ]
    client = flight.connect(uri.replace("grpc://", "grpc+tcp://"))
    for name, db, tok, code in cases:
        try:
            raw_statement(client, call_options(db, tok), "SELECT 1")
            fail(f"{name}: the query was not refused")
        except flight.FlightError as error:
            check(grpc_code(error) == code, f"{name}: expected {code}, got {error}")
        try:
            with connect(uri, db, tok) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                fail(f"{name}: ADBC query was not refused")
        except flight_sql.Error as error:
            check(code.lower() in str(error).lower().replace(" ", ""),
                  f"{name}: ADBC expected {code}, got {error}")
    print("refusals ok")


def check_tls(uri, database, token, root_cert):
    import ssl
    import urllib.parse
    import urllib.request

    with open(root_cert) as handle:
        pem = handle.read()
    # HTTP/1.1 over TLS on the same port.
    host_port = uri.split("://", 1)[1]
    query = urllib.parse.urlencode({"db": database, "q": "SELECT count(*) AS n FROM metrics"})
    request = urllib.request.Request(f"https://{host_port}/api/v3/query_sql?{query}",
                                     headers={"Authorization": f"Bearer {token}"})
    context = ssl.create_default_context(cafile=root_cert)
    with urllib.request.urlopen(request, context=context) as response:
        rows = json.loads(response.read())
        check(rows[0]["n"] > 0, f"HTTPS query: {rows}")
    with connect(uri, database, token, {DatabaseOptions.TLS_ROOT_CERTS.value: pem}) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM metrics")
            count = cursor.fetchone()[0]
            check(count > 0, "TLS query returns rows")
    print("tls ok")


def main():
    check_name, uri, database, token = sys.argv[1:5]
    extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    token = token or None
    if check_name == "queries":
        check_queries(uri, database, token, extra)
    elif check_name == "refusals":
        check_refusals(uri, database, token, extra["other_database"])
    elif check_name == "tls":
        check_tls(uri, database, token, extra["root_cert"])
    else:
        fail(f"unknown check {check_name}")


if __name__ == "__main__":
    main()
