//! Where client commands (`query`, `write`, `dump`, `count`) find a running server when no URL
//! is given: the listener of the same configuration `serve` reads.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use super::{Config, ConfigError, ServeArgs, StorageArgs};

impl Config {
    /// The base URL of this configuration's listener, as a client on this machine reaches it:
    /// `https` when TLS is configured, and loopback for an unspecified address (`0.0.0.0`).
    pub fn client_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let ip = match self.listen.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("{scheme}://{}", SocketAddr::new(ip, self.listen.port()))
    }
}

/// The base URL of the server that the configuration file `file` (or, without one, the
/// defaults) describes.
pub fn server_url(file: Option<&Path>) -> Result<String, ConfigError> {
    let config = Config::resolve(&ServeArgs {
        store: StorageArgs {
            config: file.map(Path::to_path_buf),
            ..StorageArgs::default()
        },
        ..ServeArgs::default()
    })?;
    Ok(config.client_url())
}
