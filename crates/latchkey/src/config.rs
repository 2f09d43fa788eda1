//! Server configuration: flags, then environment, then an optional TOML file, then defaults.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use latchkey_core::{Email, Environment, ScopeCatalog, SecretFormat, SecretPrefix};
use latchkey_server::Settings;
use latchkey_server::verify::CacheConfig;
use latchkey_store::postgres::{DEFAULT_CONNECTIONS, redacted};
use serde::Deserialize;

#[derive(Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below (flags and environment win over it).
    #[arg(long, env = "LATCHKEY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "LATCHKEY_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Folder of the embedded SQLite database, used when no database URL is given
    /// [default: ./data].
    #[arg(long, env = "LATCHKEY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite:///var/lib/latchkey/latchkey.db`, or
    /// `postgres://user:password@host:5432/database` for many nodes over one database
    /// [default: SQLite in the data directory].
    #[arg(long, env = "LATCHKEY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// PostgreSQL connections this node opens at most (one more listens for other nodes'
    /// changes) [default: 16].
    #[arg(long, env = "LATCHKEY_DATABASE_CONNECTIONS")]
    pub database_connections: Option<NonZeroU32>,
    /// The first part of every secret: 1 to 16 lowercase letters or digits [default: lk].
    #[arg(long, env = "LATCHKEY_SECRET_PREFIX")]
    pub secret_prefix: Option<String>,
    /// `live` or `test`, written into every secret [default: live].
    #[arg(long, env = "LATCHKEY_SECRET_ENVIRONMENT")]
    pub secret_environment: Option<String>,
    /// On first start, use this secret as the root token instead of generating one
    /// (automation). It must have this server's secret format; `latchkey init` prints one.
    #[arg(long, env = "LATCHKEY_ROOT_TOKEN", hide_env_values = true)]
    pub root_token: Option<String>,
    /// On first start, write the root token to this file (mode 0600) instead of printing it.
    #[arg(long, env = "LATCHKEY_ROOT_TOKEN_FILE")]
    pub root_token_file: Option<PathBuf>,
    /// On first start, the root account's email, shown as `created_by` on what root mints.
    #[arg(long, env = "LATCHKEY_ROOT_EMAIL")]
    pub root_email: Option<String>,
    /// How many tokens the verification cache holds at most (and a sixteenth as many secrets
    /// found to be no token's, of organizations with a caller's role, and of accounts)
    /// [default: 1000000].
    #[arg(long, env = "LATCHKEY_CACHE_CAPACITY")]
    pub cache_capacity: Option<usize>,
    /// Seconds a verified token, or an organization and a caller's role, may be served from the
    /// cache before the store is asked again [default: 60].
    #[arg(long, env = "LATCHKEY_CACHE_TTL")]
    pub cache_ttl: Option<u64>,
    /// Native API requests per minute per workspace, 0 for no limit [default: 1000].
    #[arg(long, env = "LATCHKEY_RATE_LIMIT")]
    pub rate_limit: Option<u32>,
}

/// The secret format alone, for `generate-secret`.
#[derive(Args, Debug, Clone)]
pub struct SecretArgs {
    /// The first part of the secret [default: lk].
    #[arg(long, env = "LATCHKEY_SECRET_PREFIX", default_value = "lk")]
    secret_prefix: String,
    /// `live` or `test`.
    #[arg(long, env = "LATCHKEY_SECRET_ENVIRONMENT", default_value = "live")]
    secret_environment: String,
}

impl SecretArgs {
    pub fn format(&self) -> Result<SecretFormat, String> {
        Ok(SecretFormat {
            prefix: self
                .secret_prefix
                .parse()
                .map_err(|e| format!("secret prefix: {e}"))?,
            environment: self
                .secret_environment
                .parse()
                .map_err(|e| format!("secret environment: {e}"))?,
        })
    }
}

/// The TOML file: the same settings, plus the platform's scopes and presets.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_connections: Option<NonZeroU32>,
    secret_prefix: Option<String>,
    secret_environment: Option<String>,
    root_token_file: Option<PathBuf>,
    root_email: Option<String>,
    cache_capacity: Option<usize>,
    cache_ttl: Option<u64>,
    rate_limit: Option<u32>,
    #[serde(default)]
    scopes: ScopesConfig,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct ScopesConfig {
    /// Platform scopes added to the default catalog.
    #[serde(default)]
    extra: Vec<String>,
    /// Presets: name → the scopes it expands to.
    #[serde(default)]
    presets: BTreeMap<String, Vec<String>>,
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded store: one file, one node.
    Sqlite(PathBuf),
    /// One PostgreSQL database under any number of nodes.
    Postgres(PostgresUrl),
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "the SQLite database {}", path.display()),
            Database::Postgres(url) => write!(f, "the PostgreSQL database {url}"),
        }
    }
}

/// A `postgres://` URL, which may hold a password: shown (and debugged) without it.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The URL, password included: for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redacted(&self.0))
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
}

/// Everything `serve` needs, resolved.
pub struct Resolved {
    pub listen: SocketAddr,
    pub database: Database,
    /// The pool's size, on PostgreSQL.
    pub database_connections: NonZeroU32,
    pub settings: Settings,
    pub root_token: Option<String>,
    pub root_token_file: Option<PathBuf>,
    pub root_email: Option<Email>,
}

/// A `sqlite:` or `postgres:` URL. Nothing of it but its scheme is shown when it is refused:
/// it may hold a password.
pub fn parse_database_url(url: &str) -> Result<Database, String> {
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err("a database URL starts with sqlite: or postgres: (sqlite:///path/to/file.db, postgres://user:password@host/database)".to_owned());
    };
    if scheme == "postgres" || scheme == "postgresql" {
        if !rest.starts_with("//") {
            return Err(format!(
                "a PostgreSQL URL looks like {scheme}://user:password@host:5432/database"
            ));
        }
        return Ok(Database::Postgres(PostgresUrl(url.to_owned())));
    }
    if scheme != "sqlite" {
        return Err(format!(
            "unsupported database URL scheme '{scheme}': use sqlite:///path/to/file.db or postgres://user:password@host/database"
        ));
    }
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.is_empty() {
        return Err("the SQLite URL names no file: use sqlite:///path/to/file.db".to_owned());
    }
    Ok(Database::Sqlite(PathBuf::from(path)))
}

impl ServeArgs {
    pub fn resolve(self) -> Result<Resolved, String> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let database = match self.database_url.or(file.database_url) {
            Some(url) => parse_database_url(&url)?,
            None => {
                let dir = self
                    .data_dir
                    .or(file.data_dir)
                    .unwrap_or_else(|| PathBuf::from("data"));
                Database::Sqlite(dir.join("latchkey.db"))
            }
        };
        let prefix: SecretPrefix = self
            .secret_prefix
            .or(file.secret_prefix)
            .unwrap_or_else(|| "lk".to_owned())
            .parse()
            .map_err(|e| format!("secret prefix: {e}"))?;
        let environment: Environment = self
            .secret_environment
            .or(file.secret_environment)
            .unwrap_or_else(|| "live".to_owned())
            .parse()
            .map_err(|e| format!("secret environment: {e}"))?;
        let catalog = ScopeCatalog::with_platform(file.scopes.extra, file.scopes.presets)
            .map_err(|e| format!("scopes in the configuration file: {e}"))?;
        let mut cache = CacheConfig::default();
        if let Some(capacity) = self.cache_capacity.or(file.cache_capacity) {
            cache.capacity = capacity;
        }
        if let Some(ttl) = self.cache_ttl.or(file.cache_ttl) {
            cache.positive_ttl = Duration::from_secs(ttl);
        }
        Ok(Resolved {
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            database,
            database_connections: self
                .database_connections
                .or(file.database_connections)
                .unwrap_or(DEFAULT_CONNECTIONS),
            settings: Settings {
                format: SecretFormat {
                    prefix,
                    environment,
                },
                catalog,
                cache,
                rate_limit_per_minute: self.rate_limit.or(file.rate_limit).unwrap_or(1000),
                ..Settings::default()
            },
            root_token: self.root_token,
            root_token_file: self.root_token_file.or(file.root_token_file),
            root_email: self
                .root_email
                .or(file.root_email)
                .map(|raw| raw.parse::<Email>())
                .transpose()
                .map_err(|e| format!("root email: {e}"))?,
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the configuration file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("configuration file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nsecret_prefix = \"acme\"\n[scopes]\nextra = [\"billing:read\"]\npresets = { billing = [\"billing:read\"] }\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(path),
            secret_prefix: Some("zz".to_owned()),
            ..ServeArgs::default()
        };
        let resolved = args.resolve().unwrap();
        assert_eq!(resolved.listen.port(), 9000);
        assert_eq!(resolved.settings.format.prefix.as_str(), "zz");
        assert_eq!(
            resolved.database,
            Database::Sqlite(PathBuf::from("data/latchkey.db"))
        );
        assert!(
            resolved
                .settings
                .catalog
                .parse(&["billing"])
                .unwrap()
                .contains("billing:read")
        );
    }

    #[test]
    fn clear_errors_for_bad_settings() {
        let bad_email = ServeArgs {
            root_email: Some("not an email".to_owned()),
            ..ServeArgs::default()
        };
        assert!(bad_email.resolve().err().unwrap().contains("root email"));
        let bad_url = ServeArgs {
            database_url: Some("mysql://x".to_owned()),
            ..ServeArgs::default()
        };
        assert!(
            bad_url
                .resolve()
                .err()
                .unwrap()
                .contains("unsupported database URL scheme 'mysql'")
        );
        let bad_prefix = ServeArgs {
            secret_prefix: Some("Not_OK".to_owned()),
            ..ServeArgs::default()
        };
        assert!(
            bad_prefix
                .resolve()
                .err()
                .unwrap()
                .contains("secret prefix")
        );
        assert_eq!(
            parse_database_url("sqlite:///var/lib/l.db").unwrap(),
            Database::Sqlite(PathBuf::from("/var/lib/l.db"))
        );
    }

    #[test]
    fn postgres_urls_are_taken_and_never_shown_with_their_password() {
        for url in [
            "postgres://lk:hunter2@db:5432/latchkey",
            "postgresql://lk:hunter2@db/latchkey?sslmode=require",
        ] {
            let database = parse_database_url(url).unwrap();
            let Database::Postgres(parsed) = &database else {
                panic!("{database:?}");
            };
            assert_eq!(parsed.expose(), url);
            for shown in [database.to_string(), format!("{database:?}")] {
                assert!(!shown.contains("hunter2"), "{shown}");
                assert!(shown.contains("lk:…@db"), "{shown}");
            }
        }
        for bad in ["postgres:db", "hunter2@db", "mysql://u:hunter2@db"] {
            let error = parse_database_url(bad).unwrap_err();
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn the_pool_size_comes_from_a_flag_or_the_file_and_is_never_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.toml");
        let resolved = |file: &str, flag: Option<u32>| {
            std::fs::write(&path, file).unwrap();
            ServeArgs {
                config: Some(path.clone()),
                database_connections: flag.map(|n| NonZeroU32::new(n).unwrap()),
                ..ServeArgs::default()
            }
            .resolve()
            .map(|resolved| resolved.database_connections.get())
        };
        assert_eq!(resolved("", None), Ok(DEFAULT_CONNECTIONS.get()));
        assert_eq!(resolved("database_connections = 4", None), Ok(4));
        assert_eq!(resolved("database_connections = 4", Some(8)), Ok(8));
        let zero = resolved("database_connections = 0", None).unwrap_err();
        assert!(zero.contains("database_connections"), "{zero}");
    }
}
