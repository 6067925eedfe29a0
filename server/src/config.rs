//! Parley's settings: command-line flags, each also readable from a `PARLEY_*`
//! environment variable. `parley --help` lists them all.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "parley",
    version,
    about = "Parley: self-hosted video meetings. Serves the web app and introduces the browsers to each other."
)]
pub struct Config {
    /// Address and port to listen on. Use 0.0.0.0:3000 to accept connections from other machines.
    #[arg(long, env = "PARLEY_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Where rooms are stored: a SQLite database URL. The file is created on first start.
    /// Example: sqlite:/var/lib/parley/parley.db
    #[arg(long, env = "PARLEY_DATABASE_URL", default_value = "sqlite:parley.db")]
    pub database_url: String,

    /// Folder holding the built browser app (the pkg/ folder with the JavaScript, wasm and CSS),
    /// as produced by `cargo leptos build`.
    #[arg(long, env = "PARLEY_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// What to log, as a tracing filter: error, warn, info, debug, trace, or per module
    /// such as "info,server=debug". RUST_LOG is used when this is not given.
    #[arg(long, env = "PARLEY_LOG")]
    pub log: Option<String>,
}

impl Config {
    /// The settings a test server uses: an ephemeral loopback port and the given database.
    pub fn for_tests(database_url: String) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url,
            site_root: PathBuf::from("target/site"),
            log: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_sane() {
        let config = Config::try_parse_from(["parley"]).unwrap();
        assert_eq!(config.listen, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(config.database_url, "sqlite:parley.db");
    }

    #[test]
    fn flags_override_defaults() {
        let config = Config::try_parse_from([
            "parley",
            "--listen",
            "0.0.0.0:8080",
            "--database-url",
            "sqlite:/tmp/p.db",
        ])
        .unwrap();
        assert_eq!(config.listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(config.database_url, "sqlite:/tmp/p.db");
    }

    #[test]
    fn bad_values_are_refused() {
        let err = Config::try_parse_from(["parley", "--listen", "nowhere"]).unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Config::command().debug_assert();
    }
}
