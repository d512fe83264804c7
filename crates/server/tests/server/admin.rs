//! The admin API and CLI against the real binary: the first admin token from a file, tokens
//! created online and usable at once, revocation reaching HTTP SQL, Flight SQL and PromQL
//! within the 2 s cache bound, tokens for several databases and with an expiry, databases
//! created, listed and deleted online, retention set online, and the `tidemark token|database|
//! retention` commands.

use std::path::Path;
use std::time::{Duration, Instant};

use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::sql::{CommandStatementQuery, ProstMessageExt};
use arrow_flight::{FlightDescriptor, Ticket};
use futures::TryStreamExt;
use prost::Message;
use serde_json::{Value, json};

use crate::TestServer;
use crate::harness::{binary, storage_binary};

/// How long a node trusts a cached token lookup (`auth::CACHE_TTL`).
const CACHE_TTL: Duration = Duration::from_secs(2);
/// The admin token the servers here start with.
const ADMIN: &str = "tmk_admin_from_the_file_0123456789";

/// A server on a fresh data directory whose first admin token comes from a file.
fn start_with_admin(scratch: &Path) -> TestServer {
    let file = scratch.join("admin-token");
    std::fs::write(&file, format!("{ADMIN}\n")).unwrap();
    TestServer::start_in(
        &scratch.join("data"),
        &["--admin-token-file", file.to_str().unwrap()],
    )
}

/// Sends `method path` with an optional JSON body and bearer token; returns status and JSON.
async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Creates a token online with the admin token; returns the secret and its id.
async fn new_token(server: &TestServer, body: Value) -> (String, String) {
    let (status, answer) = call(
        server,
        reqwest::Method::POST,
        "/api/v3/configure/token",
        Some(body),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    (
        answer["token"].as_str().unwrap().to_owned(),
        answer["id"].as_str().unwrap().to_owned(),
    )
}

async fn write(server: &TestServer, db: &str, token: &str) -> u16 {
    let bearer = format!("Bearer {token}");
    server
        .post(
            &format!("/api/v3/write_lp?db={db}"),
            "m,host=a v=1",
            &[("authorization", &bearer)],
        )
        .await
        .0
}

async fn sql_count(server: &TestServer, db: Option<&str>, token: &str) -> (u16, Value) {
    server
        .sql(db, "SELECT count(*) AS n FROM m", Some(token))
        .await
}

async fn promql(server: &TestServer, db: &str, token: &str) -> (u16, Value) {
    server
        .get_json(
            "/api/v1/query",
            &[("db", db), ("query", "m_v")],
            Some(token),
        )
        .await
}

/// Runs SQL over Flight SQL (the `database` and `authorization` headers); the row count, or
/// the refusal's gRPC code.
async fn flight_rows(server: &TestServer, db: &str, token: &str) -> Result<usize, tonic::Code> {
    let channel = tonic::transport::Channel::from_shared(server.url(""))
        .unwrap()
        .connect()
        .await
        .expect("connect");
    let mut client = FlightServiceClient::new(channel);
    fn with_headers<T>(message: T, db: &str, token: &str) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let metadata = request.metadata_mut();
        metadata.insert("authorization", format!("Bearer {token}").parse().unwrap());
        metadata.insert("database", db.parse().unwrap());
        request
    }
    let query = CommandStatementQuery {
        query: "SELECT * FROM m".into(),
        transaction_id: None,
    };
    let descriptor = FlightDescriptor::new_cmd(query.as_any().encode_to_vec());
    let info = client
        .get_flight_info(with_headers(descriptor, db, token))
        .await
        .map_err(|status| status.code())?
        .into_inner();
    let mut rows = 0;
    for endpoint in info.endpoint {
        let ticket: Ticket = endpoint.ticket.expect("ticket");
        let stream = client
            .do_get(with_headers(ticket, db, token))
            .await
            .map_err(|status| status.code())?
            .into_inner()
            .map_err(FlightError::from);
        let batches: Vec<_> = FlightRecordBatchStream::new_from_flight_data(stream)
            .try_collect()
            .await
            .map_err(|error| match error {
                FlightError::Tonic(status) => status.code(),
                _ => tonic::Code::Unknown,
            })?;
        rows += batches.iter().map(|batch| batch.num_rows()).sum::<usize>();
    }
    Ok(rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_tokens_work_at_once_and_revocation_reaches_every_protocol_within_the_cache_ttl() {
    let scratch = tempfile::tempdir().unwrap();
    let server = start_with_admin(scratch.path());
    let (token, id) = new_token(
        &server,
        json!({"name": "ci", "databases": ["alpha"], "permissions": ["read", "write"]}),
    )
    .await;
    // Usable at once: a write, then SQL over HTTP and Flight SQL, and PromQL.
    assert_eq!(write(&server, "alpha", &token).await, 204);
    let (status, rows) = sql_count(&server, Some("alpha"), &token).await;
    assert_eq!((status, rows[0]["n"].as_u64()), (200, Some(1)), "{rows}");
    assert_eq!(flight_rows(&server, "alpha", &token).await, Ok(1));
    let (status, body) = promql(&server, "alpha", &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"].as_array().map(Vec::len), Some(1));

    let (status, answer) = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/api/v3/configure/token?id={id}"),
        None,
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let revoked = Instant::now();
    // Every protocol refuses it within the cache bound (2 s), with a margin for a busy machine.
    let (mut http, mut flight, mut prom) = (None, None, None);
    while revoked.elapsed() < CACHE_TTL + Duration::from_secs(1) {
        if http.is_none() && sql_count(&server, Some("alpha"), &token).await.0 == 401 {
            http = Some(revoked.elapsed());
        }
        if flight.is_none()
            && flight_rows(&server, "alpha", &token).await == Err(tonic::Code::Unauthenticated)
        {
            flight = Some(revoked.elapsed());
        }
        if prom.is_none() && promql(&server, "alpha", &token).await.0 == 401 {
            prom = Some(revoked.elapsed());
        }
        if http.is_some() && flight.is_some() && prom.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        http.is_some() && flight.is_some() && prom.is_some(),
        "refused within 3 s: HTTP SQL {http:?}, Flight SQL {flight:?}, PromQL {prom:?}"
    );
    assert_eq!(write(&server, "alpha", &token).await, 401);
    // Revoking it again: there is no such token.
    let (status, _) = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/api/v3/configure/token?id={id}"),
        None,
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 404);

    // The admin token file is stored once: a restart with it adds nothing.
    drop(server);
    let server = start_with_admin(scratch.path());
    let (status, tokens) = call(
        &server,
        reqwest::Method::GET,
        "/api/v3/configure/token",
        None,
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let admins: Vec<&Value> = tokens
        .as_array()
        .unwrap()
        .iter()
        .filter(|token| token["admin"] == json!(true))
        .collect();
    assert_eq!(admins.len(), 1, "{tokens}");
    assert_eq!(admins[0]["name"], "admin-token-file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_token_may_use_the_admin_endpoints() {
    let scratch = tempfile::tempdir().unwrap();
    let server = start_with_admin(scratch.path());
    let (tenant, _) = new_token(
        &server,
        json!({"databases": ["alpha"], "permissions": ["read", "write"]}),
    )
    .await;
    use reqwest::Method;
    let endpoints = [
        (Method::GET, "/api/v3/configure/database?format=json", None),
        (
            Method::POST,
            "/api/v3/configure/database",
            Some(json!({"db": "x"})),
        ),
        (Method::DELETE, "/api/v3/configure/database?db=alpha", None),
        (
            Method::PUT,
            "/api/v3/configure/database/retention",
            Some(json!({"db": "alpha", "hot_retention": "1d"})),
        ),
        (Method::GET, "/api/v3/configure/token", None),
        (
            Method::POST,
            "/api/v3/configure/token",
            Some(json!({"admin": true})),
        ),
        (
            Method::DELETE,
            "/api/v3/configure/token?id=0000000000000001",
            None,
        ),
    ];
    for (method, path, body) in &endpoints {
        for (token, expected) in [
            (Some(tenant.as_str()), 403),
            (None, 401),
            (Some("tmk_unknown"), 401),
        ] {
            let (status, answer) = call(&server, method.clone(), path, body.clone(), token).await;
            assert_eq!(status, expected, "{method} {path} with {token:?}: {answer}");
        }
    }
    // Nothing was done: the tenant's database is still there to write to.
    assert_eq!(write(&server, "alpha", &tenant).await, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_grant_several_databases_and_expire() {
    let scratch = tempfile::tempdir().unwrap();
    let server = start_with_admin(scratch.path());
    let (both, _) = new_token(
        &server,
        json!({"databases": ["a", "b"], "permissions": ["read", "write"]}),
    )
    .await;
    for db in ["a", "b"] {
        assert_eq!(write(&server, db, &both).await, 204, "{db}");
        let (status, rows) = sql_count(&server, Some(db), &both).await;
        assert_eq!((status, rows[0]["n"].as_u64()), (200, Some(1)), "{rows}");
    }
    assert_eq!(write(&server, "c", &both).await, 403);
    assert_eq!(sql_count(&server, Some("c"), &both).await.0, 403);
    // With several databases granted, a request must name one.
    let (status, body) = sql_count(&server, None, &both).await;
    assert_eq!(status, 400, "{body}");
    // Read-only on one database.
    let (reader, _) = new_token(
        &server,
        json!({"databases": ["a"], "permissions": ["read"]}),
    )
    .await;
    assert_eq!(write(&server, "a", &reader).await, 403);
    assert_eq!(sql_count(&server, None, &reader).await.0, 200);

    let (short, _) = new_token(
        &server,
        json!({"databases": ["a"], "permissions": ["read"], "expiry_secs": 1}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (status, body) = sql_count(&server, Some("a"), &short).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.to_string().contains("expired"), "{body}");
    let (_, tokens) = call(
        &server,
        reqwest::Method::GET,
        "/api/v3/configure/token",
        None,
        Some(ADMIN),
    )
    .await;
    let expired = tokens
        .as_array()
        .unwrap()
        .iter()
        .filter(|token| token["expired"] == json!(true))
        .count();
    assert_eq!(expired, 1, "{tokens}");

    // Invalid requests are refused with 400.
    for body in [
        json!({"databases": [], "permissions": ["read"]}),
        json!({"databases": ["a"], "permissions": []}),
        json!({"databases": ["a"], "permissions": ["admin"]}),
        json!({"databases": ["bad\u{1}name"], "permissions": ["read"]}),
        json!({"databases": ["a"], "permissions": ["read"], "admin": true}),
        json!({"databases": ["a"], "permissions": ["read"], "unknown": 1}),
    ] {
        let (status, answer) = call(
            &server,
            reqwest::Method::POST,
            "/api/v3/configure/token",
            Some(body.clone()),
            Some(ADMIN),
        )
        .await;
        assert_eq!(status, 400, "{body}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_are_created_listed_deleted_and_given_retention_online() {
    let scratch = tempfile::tempdir().unwrap();
    let server = start_with_admin(scratch.path());
    use reqwest::Method;
    let create = |body: Value| {
        call(
            &server,
            Method::POST,
            "/api/v3/configure/database",
            Some(body),
            Some(ADMIN),
        )
    };
    let (status, created) = create(json!({"db": "kept", "retention_period": "30d"})).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["retention_period"], "30d");
    assert_eq!(create(json!({"db": "kept"})).await.0, 409);
    // Names writes refuse are refused here too.
    for name in ["", "bad\u{1}name", &"x".repeat(300)] {
        assert_eq!(create(json!({"db": name})).await.0, 400, "{name:?}");
    }
    let (status, answer) = call(
        &server,
        Method::PUT,
        "/api/v3/configure/database/retention",
        Some(json!({"db": "kept", "hot_retention": "3d"})),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"db": "kept", "hot_retention": "3d", "retention_period": "30d"})
    );
    let (status, _) = call(
        &server,
        Method::PUT,
        "/api/v3/configure/database/retention",
        Some(json!({"db": "missing", "hot_retention": "3d"})),
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 404);

    // A database with data and two tokens: one for it alone, one for it and `kept`.
    let (alone, _) = new_token(
        &server,
        json!({"databases": ["doomed"], "permissions": ["read", "write"]}),
    )
    .await;
    let (shared, _) = new_token(
        &server,
        json!({"databases": ["doomed", "kept"], "permissions": ["read", "write"]}),
    )
    .await;
    assert_eq!(write(&server, "doomed", &alone).await, 204);
    assert_eq!(write(&server, "kept", &shared).await, 204);
    let (status, listed) = call(
        &server,
        Method::GET,
        "/api/v3/configure/database?format=json",
        None,
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed,
        json!([
            {"iox::database": "doomed", "hot_retention": null, "retention_period": null},
            {"iox::database": "kept", "hot_retention": "3d", "retention_period": "30d"},
        ])
    );

    let (status, answer) = call(
        &server,
        Method::DELETE,
        "/api/v3/configure/database?db=doomed",
        None,
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["tokens_revoked"], 1);
    let (_, listed) = call(
        &server,
        Method::GET,
        "/api/v3/configure/database",
        None,
        Some(ADMIN),
    )
    .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(sql_count(&server, Some("doomed"), ADMIN).await.0, 404);
    let (status, _) = call(
        &server,
        Method::DELETE,
        "/api/v3/configure/database?db=doomed",
        None,
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 404);
    // Its own token is revoked (within the cache bound); the shared one keeps `kept` only.
    tokio::time::sleep(CACHE_TTL + Duration::from_millis(200)).await;
    assert_eq!(write(&server, "doomed", &alone).await, 401);
    assert_eq!(write(&server, "doomed", &shared).await, 403);
    assert_eq!(write(&server, "kept", &shared).await, 204);
    // Created again (by a write), the database is new and empty.
    assert_eq!(write(&server, "doomed", ADMIN).await, 204);
    let (status, rows) = sql_count(&server, Some("doomed"), ADMIN).await;
    assert_eq!((status, rows[0]["n"].as_u64()), (200, Some(1)), "{rows}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_never_show_a_secret() {
    let scratch = tempfile::tempdir().unwrap();
    let server = start_with_admin(scratch.path());
    let (secret, id) = new_token(
        &server,
        json!({"name": "mine", "databases": ["a"], "permissions": ["write"], "expiry_secs": 3600}),
    )
    .await;
    let (status, tokens) = call(
        &server,
        reqwest::Method::GET,
        "/api/v3/configure/token?format=json",
        None,
        Some(ADMIN),
    )
    .await;
    assert_eq!(status, 200);
    let text = tokens.to_string();
    for secret in [secret.as_str(), ADMIN] {
        let body = secret.trim_start_matches("tmk_");
        assert!(!text.contains(body), "{text}");
    }
    assert!(
        !text.contains("hash") && !text.contains("\"token\""),
        "{text}"
    );
    let mine = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["id"] == id.as_str())
        .unwrap();
    assert_eq!(mine["name"], "mine");
    assert_eq!(mine["databases"], json!(["a"]));
    assert_eq!(mine["permissions"], json!(["write"]));
    let (created, expires) = (
        mine["created_at"].as_i64().unwrap(),
        mine["expires_at"].as_i64().unwrap(),
    );
    assert_eq!(expires - created, 3600);
}

/// Runs `tidemark ARGS` and returns its stdout; panics with stderr when it fails.
fn tidemark(args: &[&str]) -> String {
    let output = binary()
        .args(args)
        .env_remove("TIDEMARK_DATA_DIR")
        .env_remove("TIDEMARK_CONFIG")
        .env_remove("TIDEMARK_URL")
        .env_remove("TIDEMARK_TOKEN")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tidemark {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_administers_a_running_server_and_refuses_what_is_not_a_data_directory() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    // Offline: a path that is not a data directory is refused, not created.
    let output = storage_binary(&data_dir)
        .args(["token", "create", "--admin", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    if !crate::harness::on_fdb() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        assert!(stderr.contains("not a Tidemark data directory"), "{stderr}");
        assert!(!data_dir.exists());
    }
    // Names writes refuse are refused offline too.
    let output = storage_binary(&data_dir)
        .args([
            "token",
            "create",
            "--init",
            "--db",
            "bad\u{7}name",
            "--data-dir",
        ])
        .arg(&data_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("invalid database name"), "{stderr}");
    let admin = crate::auth::create_token(&data_dir, "", &[]);

    let server = TestServer::start_in(&data_dir, &[]);
    let url = server.url("");
    let online = |args: &[&str]| -> String {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--url", url.as_str(), "--token", admin.as_str()]);
        tidemark(&all)
    };
    online(&["database", "create", "--db", "cli", "--total", "400d"]);
    let shown = online(&["retention", "--db", "cli", "--hot", "3d"]);
    assert!(
        shown.contains("hot: 3.00 days, total: 400.00 days"),
        "{shown}"
    );
    let listed: Value = serde_json::from_str(&online(&["database", "list", "--json"])).unwrap();
    assert_eq!(
        listed,
        json!([{"iox::database": "cli", "hot_retention": "3d", "retention_period": "400d"}])
    );
    let table = online(&["database", "list"]);
    assert!(table.contains("cli") && table.contains("400d"), "{table}");

    let secret = online(&[
        "token", "create", "--db", "cli", "--db", "other", "--write", "--name", "from-cli",
    ])
    .trim()
    .to_owned();
    assert!(secret.starts_with("tmk_"), "{secret}");
    assert_eq!(write(&server, "cli", &secret).await, 204);
    assert_eq!(write(&server, "other", &secret).await, 204);
    let tokens_text = online(&["token", "list", "--json"]);
    assert!(!tokens_text.contains(secret.trim_start_matches("tmk_")));
    let tokens: Value = serde_json::from_str(&tokens_text).unwrap();
    let mine = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["name"] == "from-cli")
        .unwrap();
    assert_eq!(mine["databases"], json!(["cli", "other"]));
    assert_eq!(mine["permissions"], json!(["write"]));
    let table = online(&["token", "list"]);
    assert!(
        table.contains("from-cli") && !table.contains(&secret),
        "{table}"
    );
    online(&["token", "revoke", "--id", mine["id"].as_str().unwrap()]);
    online(&["database", "delete", "--db", "cli"]);
    let listed: Value = serde_json::from_str(&online(&["database", "list", "--json"])).unwrap();
    assert_eq!(
        listed,
        json!([{"iox::database": "other", "hot_retention": null, "retention_period": null}])
    );
    tokio::time::sleep(CACHE_TTL + Duration::from_millis(200)).await;
    assert_eq!(write(&server, "other", &secret).await, 401);

    // Without the admin token the server refuses; with both --url and --data-dir, the CLI does.
    let output = binary()
        .args(["database", "list", "--url", url.as_str()])
        .env_remove("TIDEMARK_TOKEN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("401"));
    let output = binary()
        .args(["database", "list", "--url", url.as_str(), "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not both"));

    // Offline, on the stopped server's data directory: the same operations.
    drop(server);
    let offline = |args: &[&str]| -> String {
        let mut command = storage_binary(&data_dir);
        command.args(args).arg("--data-dir").arg(&data_dir);
        let output = command.env_remove("TIDEMARK_URL").output().unwrap();
        assert!(
            output.status.success(),
            "tidemark {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    offline(&["database", "create", "--db", "later"]);
    offline(&["database", "delete", "--db", "other"]);
    let listed: Value = serde_json::from_str(&offline(&["database", "list", "--json"])).unwrap();
    assert_eq!(
        listed,
        json!([{"iox::database": "later", "hot_retention": null, "retention_period": null}])
    );
    let tokens: Value = serde_json::from_str(&offline(&["token", "list", "--json"])).unwrap();
    // On FoundationDB there is no data directory to check, so the first `token create
    // --admin` above made an admin token too.
    let admins = if crate::harness::on_fdb() { 2 } else { 1 };
    assert_eq!(
        tokens.as_array().map(Vec::len),
        Some(admins),
        "only the admin tokens: {tokens}"
    );
}
