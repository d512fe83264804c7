//! Subcommands other than `serve`: administration (tokens, databases, retention), importing a
//! line protocol file, and reading a series back.

pub mod compact;
pub mod database;
pub mod dump;
pub mod import;
pub mod query;
pub mod retention;
pub mod tier;
pub mod token;

use anyhow::Context;
use clap::Args;

use crate::api_error::ApiError;
use crate::config::{Config, ServeArgs, StorageArgs, StorageBackend};

/// The server the admin commands talk to when given neither `--url` nor storage settings.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8181";

/// Where a running server is, and how to authenticate to it. The address is `--url`, else
/// `TIDEMARK_URL`, else the listener of the configuration file `serve` reads (`--config`,
/// `TIDEMARK_CONFIG`), else the default listener.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Base URL of the running server [default: from --config, else http://127.0.0.1:8181].
    #[arg(long, env = "TIDEMARK_URL")]
    pub url: Option<String>,
    /// The server's TOML configuration file, for its listen address when there is no `--url`.
    #[arg(long, env = "TIDEMARK_CONFIG", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Token to present (`Authorization: Bearer`).
    #[arg(long, env = "TIDEMARK_TOKEN")]
    pub token: Option<String>,
}

impl ServerArgs {
    /// The server's base URL, without a trailing slash.
    pub fn base_url(&self) -> anyhow::Result<String> {
        let url = match &self.url {
            Some(url) => url.clone(),
            None => crate::config::server_url(self.config.as_deref())?,
        };
        Ok(url.trim_end_matches('/').to_owned())
    }

    pub(crate) fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// GETs `path` with `query` and the token; a non-2xx answer becomes an error with the
    /// server's message.
    pub(crate) async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<reqwest::Response> {
        let url = format!("{}{path}", self.base_url()?);
        let response = self
            .request(reqwest::Client::new().get(url))
            .query(query)
            .send()
            .await?;
        if !response.status().is_success() {
            anyhow::bail!("{}", error_message(response).await);
        }
        Ok(response)
    }
}

impl ServerArgs {
    /// Sends `method path?query` with an optional JSON body and the token; answers the JSON
    /// body, or an error with the server's message for a non-2xx answer.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        let base = self.base_url()?;
        let url = format!("{base}{path}");
        let mut request = self
            .request(reqwest::Client::new().request(method, &url))
            .query(query);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the server at {base}"))?;
        if !response.status().is_success() {
            anyhow::bail!("{}", error_message(response).await);
        }
        Ok(response.json().await?)
    }
}

/// Where an admin command works: a running server (`--url`, `--token`) or, offline, the
/// server's storage (`--data-dir`, `--config`, `--storage`...). With neither, the server at
/// [`DEFAULT_URL`].
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// Base URL of a running server [default without storage flags: http://127.0.0.1:8181].
    #[arg(long, env = "TIDEMARK_URL")]
    pub url: Option<String>,
    /// Token to present to the server (an admin token once authentication is on).
    #[arg(long, env = "TIDEMARK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Work offline on the server's storage instead (with the embedded backend the server must
    /// be stopped; on FoundationDB servers may run).
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Where an admin command works.
#[derive(Debug, Clone)]
pub enum Target {
    /// Through a running server's admin API.
    Online(ServerArgs),
    /// On the storage directly.
    Offline(StorageArgs),
}

impl AdminArgs {
    /// Online with `--url`, offline with storage settings (both is an error), else online to
    /// the default URL.
    pub fn target(&self) -> anyhow::Result<Target> {
        let store = &self.storage;
        let offline = store.data_dir.is_some()
            || store.config.is_some()
            || store.storage.is_some()
            || store.fdb_cluster_file.is_some()
            || store.storage_root.is_some();
        match (&self.url, offline) {
            (Some(_), true) => anyhow::bail!(
                "give either --url (a running server) or storage settings such as --data-dir \
                 (offline), not both (check TIDEMARK_URL and TIDEMARK_DATA_DIR too)"
            ),
            (None, true) => Ok(Target::Offline(store.clone())),
            (url, false) => Ok(Target::Online(ServerArgs {
                url: Some(url.clone().unwrap_or_else(|| DEFAULT_URL.to_owned())),
                config: None,
                token: self.token.clone(),
            })),
        }
    }
}

/// Opens the storage of an offline admin command. An embedded data directory must exist
/// already (a server ran on it) unless `init`: a mistyped path is refused, not created.
pub(crate) async fn open_offline(
    store: &StorageArgs,
    init: bool,
) -> anyhow::Result<(Config, crate::storage::Storage)> {
    let config = Config::resolve(&ServeArgs {
        store: store.clone(),
        ..ServeArgs::default()
    })?;
    if config.storage.backend == StorageBackend::Embedded
        && !init
        && !config.data_dir.join("kv").is_dir()
    {
        anyhow::bail!(
            "{} is not a Tidemark data directory (it holds no kv/): check the path, start \
             `tidemark serve --data-dir` on it once, or pass --init to create it",
            config.data_dir.display()
        );
    }
    let storage = crate::storage::open(&config).await?;
    Ok((config, storage))
}

/// An admin operation's error, for the command line.
pub(crate) fn refused(error: ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", error.message)
}

/// Reads a JSON error body's message, whatever the dialect.
pub(crate) async fn error_message(response: reqwest::Response) -> String {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|json| {
            json.get("error")
                .or_else(|| json.get("message"))
                .and_then(|message| message.as_str().map(str::to_owned))
                .map(|message| match json.get("data") {
                    Some(data) => format!("{message}: {data}"),
                    None => message,
                })
        })
        .unwrap_or(body);
    format!("{status}: {message}")
}
