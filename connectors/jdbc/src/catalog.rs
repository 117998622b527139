//! What the database says about its tables (the JDBC `DatabaseMetaData` equivalent): the tables there are, the
//! columns of one table (type, nullability, precision, scale) and its unique keys. Every query reads text only.

use connect_api::Result;

use crate::db::Db;
use crate::dialect::{Dialect, TableId};

/// A column as the catalog describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// The database's type name, lower case (`integer`, `numeric`, `int(10) unsigned`, `timestamp with time zone`).
    pub data_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Numeric precision, when declared.
    pub precision: Option<i64>,
    /// Numeric scale, when declared.
    pub scale: Option<i64>,
    /// Whether the database assigns the values (serial/identity, AUTO_INCREMENT, INTEGER PRIMARY KEY).
    pub auto_increment: bool,
}

fn int(text: &Option<String>) -> Option<i64> {
    text.as_deref().and_then(|t| t.trim().parse().ok())
}

/// The columns of `table` in order; `None` when the table does not exist.
pub async fn columns(db: &Db, table: &TableId) -> Result<Option<Vec<ColumnInfo>>> {
    let schema = table.schema.as_deref().unwrap_or("");
    let rows = match db.dialect() {
        Dialect::Postgres => {
            db.query_text(
                "SELECT column_name::text, data_type::text, is_nullable::text, numeric_precision::text, \
                 numeric_scale::text, (coalesce(column_default, '') LIKE 'nextval%' OR is_identity = 'YES')::text \
                 FROM information_schema.columns \
                 WHERE table_schema = COALESCE(NULLIF($1, ''), current_schema()) AND table_name = $2 \
                 ORDER BY ordinal_position",
                &[schema, &table.name],
            )
            .await?
        }
        Dialect::MySql => {
            db.query_text(
                "SELECT CAST(column_name AS CHAR), CAST(column_type AS CHAR), CAST(is_nullable AS CHAR), \
                 CAST(numeric_precision AS CHAR), CAST(numeric_scale AS CHAR), \
                 CASE WHEN extra LIKE '%auto_increment%' THEN 'true' ELSE 'false' END FROM information_schema.columns \
                 WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ? \
                 ORDER BY ordinal_position",
                &[schema, &table.name],
            )
            .await?
        }
        Dialect::Sqlite => {
            db.query_text(
                "SELECT name, CAST(type AS TEXT), CASE WHEN \"notnull\" = 1 OR (pk > 0 AND upper(type) = 'INTEGER') \
                 THEN 'NO' ELSE 'YES' END, NULL, NULL, \
                 CASE WHEN pk > 0 AND upper(type) = 'INTEGER' THEN 'true' ELSE 'false' END \
                 FROM pragma_table_info(?) ORDER BY cid",
                &[&table.name],
            )
            .await?
        }
    };
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter()
            .map(|r| ColumnInfo {
                name: r[0].clone().unwrap_or_default(),
                data_type: r[1].clone().unwrap_or_default().to_ascii_lowercase(),
                nullable: r[2].as_deref() != Some("NO"),
                precision: int(&r[3]),
                scale: int(&r[4]),
                auto_increment: r[5].as_deref() == Some("true"),
            })
            .collect(),
    ))
}

/// The tables (and, with `views`, views) of the database: PostgreSQL's in `schema_pattern` or every schema but
/// the system ones, MySQL's in the connection's database, SQLite's in the file. In listing order (sorted).
pub async fn tables(db: &Db, schema_pattern: Option<&str>, views: bool) -> Result<Vec<TableId>> {
    let types = if views { "('BASE TABLE','VIEW')" } else { "('BASE TABLE')" };
    let rows = match db.dialect() {
        Dialect::Postgres => {
            db.query_text(
                &format!(
                    "SELECT table_schema::text, table_name::text FROM information_schema.tables \
                     WHERE table_type IN {types} AND table_schema NOT IN ('pg_catalog', 'information_schema') \
                     AND ($1 = '' OR table_schema LIKE $1) ORDER BY 1, 2"
                ),
                &[schema_pattern.unwrap_or("")],
            )
            .await?
        }
        Dialect::MySql => {
            db.query_text(
                &format!(
                    "SELECT CAST(table_schema AS CHAR), CAST(table_name AS CHAR) FROM information_schema.tables \
                     WHERE table_type IN {types} AND table_schema = DATABASE() ORDER BY 1, 2"
                ),
                &[],
            )
            .await?
        }
        Dialect::Sqlite => {
            let kinds = if views { "('table','view')" } else { "('table')" };
            db.query_text(
                &format!(
                    "SELECT NULL, name FROM sqlite_master WHERE type IN {kinds} AND name NOT LIKE 'sqlite_%' \
                     ORDER BY name"
                ),
                &[],
            )
            .await?
        }
    };
    Ok(rows.into_iter().map(|r| TableId { schema: r[0].clone(), name: r[1].clone().unwrap_or_default() }).collect())
}

/// The unique keys of `table` (primary key and unique indexes), each as its column names.
pub async fn unique_keys(db: &Db, table: &TableId) -> Result<Vec<Vec<String>>> {
    let schema = table.schema.as_deref().unwrap_or("");
    let rows = match db.dialect() {
        Dialect::Postgres => {
            db.query_text(
                "SELECT i.indexrelid::text, a.attname::text FROM pg_index i \
                 JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indisunique AND c.relname = $2 AND n.nspname = COALESCE(NULLIF($1, ''), current_schema())",
                &[schema, &table.name],
            )
            .await?
        }
        Dialect::MySql => {
            db.query_text(
                "SELECT CAST(index_name AS CHAR), CAST(column_name AS CHAR) FROM information_schema.statistics \
                 WHERE non_unique = 0 AND table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ?",
                &[schema, &table.name],
            )
            .await?
        }
        Dialect::Sqlite => {
            db.query_text(
                "SELECT 'pk', name FROM pragma_table_info(?1) WHERE pk > 0 \
                 UNION ALL SELECT l.name, i.name FROM pragma_index_list(?1) l, pragma_index_info(l.name) i \
                 WHERE l.\"unique\" = 1",
                &[&table.name],
            )
            .await?
        }
    };
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    for r in rows {
        let (index, column) = (r[0].clone().unwrap_or_default(), r[1].clone().unwrap_or_default());
        match keys.iter_mut().find(|(i, _)| *i == index) {
            Some((_, columns)) => columns.push(column),
            None => keys.push((index, vec![column])),
        }
    }
    Ok(keys.into_iter().map(|(_, c)| c).collect())
}
