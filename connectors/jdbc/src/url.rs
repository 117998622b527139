//! `connection.url`: JDBC URLs (`jdbc:postgresql://`, `jdbc:mysql://`, `jdbc:mariadb://`, `jdbc:sqlite:PATH`) and
//! sqlx URLs (`postgres://`, `mysql://`, `mariadb://`, `sqlite:`), parsed into one [`Target`] per dialect.
//!
//! Parsing never touches the network; `connection.user`/`connection.password` override what the URL says.

use std::str::FromStr;

use percent_encoding::percent_decode_str;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::sqlite::SqliteConnectOptions;

use crate::dialect::Dialect;

/// Where to connect, per dialect.
#[derive(Clone, Debug)]
pub enum Target {
    /// PostgreSQL.
    Postgres(PgConnectOptions),
    /// MySQL or MariaDB.
    MySql(MySqlConnectOptions),
    /// SQLite (a file, or `:memory:`).
    Sqlite(SqliteConnectOptions),
}

impl Target {
    /// The dialect of this target.
    pub fn dialect(&self) -> Dialect {
        match self {
            Target::Postgres(_) => Dialect::Postgres,
            Target::MySql(_) => Dialect::MySql,
            Target::Sqlite(_) => Dialect::Sqlite,
        }
    }
}

/// The parts of a `//host:port/db?params` URL.
#[derive(Debug, Default, PartialEq)]
pub struct HostUrl {
    /// Host name (IPv6 without brackets).
    pub host: String,
    /// Port, when given.
    pub port: Option<u16>,
    /// Database name, when given.
    pub database: Option<String>,
    /// User from `user@` or `?user=`.
    pub user: Option<String>,
    /// Password from `user:password@` or `?password=`.
    pub password: Option<String>,
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// Parses `host[:port][/db][?k=v&..]` (what follows `//`); JDBC's `;k=v` parameters are accepted too.
pub fn parse_host_url(rest: &str) -> Result<HostUrl, String> {
    let (main, params) = match rest.find(['?', ';']) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (authority, database) = match main.find('/') {
        Some(i) => (&main[..i], Some(&main[i + 1..])),
        None => (main, None),
    };
    let mut url = HostUrl { database: database.filter(|d| !d.is_empty()).map(decode), ..HostUrl::default() };
    let host_port = match authority.rfind('@') {
        Some(i) => {
            let credentials = &authority[..i];
            match credentials.split_once(':') {
                Some((user, password)) => {
                    url.user = Some(decode(user));
                    url.password = Some(decode(password));
                }
                None => url.user = Some(decode(credentials)),
            }
            &authority[i + 1..]
        }
        None => authority,
    };
    // Several hosts (failover lists) are not supported: take the first one would silently change semantics.
    if host_port.contains(',') {
        return Err("several hosts in one URL are not supported".into());
    }
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let end = bracketed.find(']').ok_or("unclosed '[' in the host")?;
        let port = bracketed[end + 1..].strip_prefix(':');
        (&bracketed[..end], port)
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    url.host = host.to_string();
    if let Some(port) = port {
        url.port = Some(port.parse().map_err(|_| format!("invalid port '{port}'"))?);
    }
    for pair in params.split(['&', ';']).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "user" => url.user = Some(decode(v)),
            "password" => url.password = Some(decode(v)),
            _ => {}
        }
    }
    Ok(url)
}

/// Parses `connection.url` with the optional `connection.user` and `connection.password`.
pub fn parse(url: &str, user: Option<&str>, password: Option<&str>) -> Result<Target, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("connection.url is empty".into());
    }
    let body = url.strip_prefix("jdbc:").unwrap_or(url);
    let (scheme, rest) = body.split_once(':').ok_or_else(|| format!("'{url}' is not a database URL"))?;
    let host_based = |default_port: u16| -> Result<HostUrl, String> {
        let rest = rest.strip_prefix("//").ok_or_else(|| format!("'{url}': expected '{scheme}://host/db'"))?;
        let mut parsed = parse_host_url(rest).map_err(|e| format!("'{}': {e}", redact(url)))?;
        parsed.port.get_or_insert(default_port);
        if let Some(user) = user.filter(|u| !u.is_empty()) {
            parsed.user = Some(user.to_string());
        }
        if let Some(password) = password {
            parsed.password = Some(password.to_string());
        }
        Ok(parsed)
    };
    match scheme.to_ascii_lowercase().as_str() {
        "postgresql" | "postgres" => {
            let u = host_based(5432)?;
            let mut options =
                PgConnectOptions::new().host(&u.host).port(u.port.unwrap_or(5432)).ssl_mode(PgSslMode::Disable);
            if let Some(db) = &u.database {
                options = options.database(db);
            }
            if let Some(user) = &u.user {
                options = options.username(user);
            }
            if let Some(password) = &u.password {
                options = options.password(password);
            }
            Ok(Target::Postgres(options))
        }
        "mysql" | "mariadb" => {
            let u = host_based(3306)?;
            let mut options =
                MySqlConnectOptions::new().host(&u.host).port(u.port.unwrap_or(3306)).ssl_mode(MySqlSslMode::Disabled);
            if let Some(db) = &u.database {
                options = options.database(db);
            }
            if let Some(user) = &u.user {
                options = options.username(user);
            }
            if let Some(password) = &u.password {
                options = options.password(password);
            }
            Ok(Target::MySql(options))
        }
        "sqlite" => {
            // jdbc:sqlite:PATH, jdbc:sqlite::memory:, sqlite://PATH, sqlite:PATH (sqlx).
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or("");
            if path.is_empty() {
                return Err(format!("'{url}': no SQLite database file"));
            }
            let options = if path == ":memory:" {
                SqliteConnectOptions::from_str("sqlite::memory:").map_err(|e| e.to_string())?
            } else {
                SqliteConnectOptions::new().filename(path).create_if_missing(true)
            };
            Ok(Target::Sqlite(options))
        }
        other => Err(format!(
            "'{}': unsupported database '{other}' (supported: jdbc:postgresql, jdbc:mysql, jdbc:mariadb, jdbc:sqlite)",
            redact(url)
        )),
    }
}

/// The URL with any password replaced, for error messages.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(i) = out.find("password=") {
        let end = out[i..].find(['&', ';']).map_or(out.len(), |e| i + e);
        out.replace_range(i + "password=".len()..end, "****");
    }
    if let (Some(scheme_end), Some(at)) = (out.find("://"), out.rfind('@')) {
        if let Some(colon) = out[scheme_end + 3..at].find(':') {
            out.replace_range(scheme_end + 3 + colon + 1..at, "****");
        }
    }
    out
}
