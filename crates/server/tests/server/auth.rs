//! Tokens and tenancy: once a token exists every request needs one, and a token for one
//! database never reads or writes another.

use crate::TestServer;
use crate::harness::storage_binary;

pub(crate) fn create_token(data_dir: &std::path::Path, db: &str, extra: &[&str]) -> String {
    let scope: &[&str] = if db.is_empty() {
        &["--admin"]
    } else {
        &["--db", db]
    };
    let output = storage_binary(data_dir)
        .args(["token", "create", "--init"])
        .args(scope)
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .output()
        .expect("run token create");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("tmk_") && token.len() > 20, "{token}");
    token
}

#[tokio::test]
async fn tokens_guard_every_endpoint_per_database() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    let alpha = create_token(&data_dir, "alpha", &[]);
    let beta_reader = create_token(&data_dir, "beta", &["--read"]);
    let beta_writer = create_token(&data_dir, "beta", &["--write"]);
    if !crate::harness::on_fdb() {
        let stored = std::fs::read_dir(data_dir.join("kv")).unwrap().count();
        assert!(stored > 0);
    }
    let server = TestServer::start_in(&data_dir, &[]);
    let bearer = |token: &str| format!("Bearer {token}");
    let line = "m,host=a v=1 1";

    // No token, a wrong token, a malformed header.
    assert_eq!(server.post("/write?db=alpha", line, &[]).await.0, 401);
    assert_eq!(
        server
            .post("/write?db=alpha", line, &[("authorization", "Bearer nope")])
            .await
            .0,
        401
    );
    assert_eq!(
        server
            .post("/write?db=alpha", line, &[("authorization", "Weird x")])
            .await
            .0,
        401
    );
    // The right token, in every accepted form.
    let alpha_bearer = bearer(&alpha);
    assert_eq!(
        server
            .post("/write?db=alpha", line, &[("authorization", &alpha_bearer)])
            .await
            .0,
        204
    );
    let alpha_token = format!("Token {alpha}");
    assert_eq!(
        server
            .post(
                "/api/v2/write?bucket=alpha",
                line,
                &[("authorization", &alpha_token)]
            )
            .await
            .0,
        204
    );
    assert_eq!(
        server
            .post(&format!("/write?db=alpha&p={alpha}"), line, &[])
            .await
            .0,
        204
    );
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("user:{alpha}"))
    );
    assert_eq!(
        server
            .post(
                "/api/v3/write_lp?db=alpha",
                line,
                &[("authorization", &basic)]
            )
            .await
            .0,
        204
    );
    // A token for one database never writes or reads another.
    let (status, text) = server
        .post("/write?db=beta", line, &[("authorization", &alpha_bearer)])
        .await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("not valid for database"), "{text}");
    assert_eq!(server.points("beta", "m,host=a", Some(&alpha)).await.0, 403);
    assert_eq!(server.points("alpha", "m,host=a", None).await.0, 401);
    let (status, body) = server.points("alpha", "m,host=a", Some(&alpha)).await;
    // Time 1 in ns (v1, v2) and, through v3's auto precision, 1 s: two points.
    assert_eq!((status, body["count"].as_u64()), (200, Some(2)));
    // Read-only and write-only tokens.
    let reader = bearer(&beta_reader);
    let writer = bearer(&beta_writer);
    assert_eq!(
        server
            .post("/write?db=beta", line, &[("authorization", &reader)])
            .await
            .0,
        403
    );
    assert_eq!(
        server
            .post("/write?db=beta", line, &[("authorization", &writer)])
            .await
            .0,
        204
    );
    assert_eq!(
        server
            .points("beta", "m,host=a", Some(&beta_writer))
            .await
            .0,
        403
    );
    assert_eq!(
        server
            .points("beta", "m,host=a", Some(&beta_reader))
            .await
            .0,
        200
    );
    // SQL follows the same rules: the token's database, never another, read permission needed.
    let query = "SELECT count(*) AS n FROM m";
    assert_eq!(server.sql(Some("alpha"), query, None).await.0, 401);
    assert_eq!(server.sql(Some("beta"), query, Some(&alpha)).await.0, 403);
    assert_eq!(
        server.sql(Some("beta"), query, Some(&beta_writer)).await.0,
        403
    );
    let (status, rows) = server.sql(Some("beta"), query, Some(&beta_reader)).await;
    assert_eq!((status, rows[0]["n"].as_u64()), (200, Some(1)), "{rows}");
    // Without a database, the token's own database is queried.
    let (status, rows) = server.sql(None, query, Some(&alpha)).await;
    assert_eq!((status, rows[0]["n"].as_u64()), (200, Some(2)), "{rows}");
    // CREATE DATABASE needs a write token for that database.
    let (status, _) = server
        .post(
            "/query?q=CREATE+DATABASE+gamma",
            "",
            &[("authorization", &alpha_bearer)],
        )
        .await;
    assert_eq!(status, 403);
    // Health and ping stay open for load balancers.
    assert_eq!(
        reqwest::get(server.url("/health")).await.unwrap().status(),
        200
    );
}

#[test]
fn a_token_makes_listening_beyond_loopback_allowed() {
    let scratch = tempfile::tempdir().unwrap();
    let data_dir = scratch.path().join("data");
    create_token(&data_dir, "alpha", &[]);
    let mut child = storage_binary(&data_dir)
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(&data_dir)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("listening") || line.contains("Error"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        listening.is_some_and(|line| line.contains("listening")),
        "the server started"
    );
}
