//! Subcommands other than `serve`: token management, importing a line protocol file, and
//! reading a series back.

pub mod compact;
pub mod dump;
pub mod import;
pub mod query;
pub mod retention;
pub mod tier;
pub mod token;

use clap::Args;

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
