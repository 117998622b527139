//! The SQL each database speaks: identifier quoting, placeholders, the sink's INSERT/UPSERT/UPDATE/DELETE and
//! CREATE/ALTER statements, and the Connect type -> SQL column type mapping of `auto.create` (the reference's
//! tables 2.4 and 2.5). Pure functions: nothing here touches a connection.

use connect_api::data::logical::{Date, Decimal, Time, Timestamp};
use connect_api::{Schema, SchemaType, Value};

/// A database dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL (`PostgreSqlDatabaseDialect`).
    Postgres,
    /// MySQL and MariaDB (`MySqlDatabaseDialect`).
    MySql,
    /// SQLite (`SqliteDatabaseDialect`).
    Sqlite,
}

/// A table identifier: optional schema (PostgreSQL) or database (MySQL), and the table name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    /// Schema (PostgreSQL) or database (MySQL); none for SQLite.
    pub schema: Option<String>,
    /// The table name.
    pub name: String,
}

impl TableId {
    /// Splits `a.b` into schema `a`, table `b` (a name without dots has no schema).
    pub fn parse(text: &str) -> TableId {
        match text.rsplit_once('.') {
            Some((schema, name)) if !schema.is_empty() => {
                TableId { schema: Some(schema.to_string()), name: name.to_string() }
            }
            _ => TableId { schema: None, name: text.to_string() },
        }
    }

    /// The unquoted fully-qualified name (`public.orders`, `test.orders`, `orders`), as in source partitions.
    pub fn fqn(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A column the sink writes: its name and the Connect schema of its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// The schema of the values.
    pub schema: Schema,
}

impl Dialect {
    /// The dialect's Java class name (for `dialect.name`).
    pub fn java_name(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSqlDatabaseDialect",
            Dialect::MySql => "MySqlDatabaseDialect",
            Dialect::Sqlite => "SqliteDatabaseDialect",
        }
    }

    /// Quotes an identifier (quote characters inside are doubled).
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::Postgres => format!("\"{}\"", ident.replace('"', "\"\"")),
            Dialect::MySql | Dialect::Sqlite => format!("`{}`", ident.replace('`', "``")),
        }
    }

    /// The quoted table name.
    pub fn table(self, table: &TableId) -> String {
        match &table.schema {
            Some(schema) => format!("{}.{}", self.quote(schema), self.quote(&table.name)),
            None => self.quote(&table.name),
        }
    }

    /// The placeholder of the `n`th parameter (1-based).
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::MySql | Dialect::Sqlite => "?".to_string(),
        }
    }

    /// How many bind parameters one statement may take (kept below each driver's hard limit).
    pub fn max_params(self) -> usize {
        match self {
            Dialect::Postgres | Dialect::MySql => 65_000,
            Dialect::Sqlite => 32_000,
        }
    }

    fn quoted_list(self, columns: &[&Column]) -> String {
        columns.iter().map(|c| self.quote(&c.name)).collect::<Vec<_>>().join(",")
    }

    fn values_rows(self, width: usize, rows: usize) -> String {
        let mut n = 0;
        let mut out = String::with_capacity(rows * (width * 4 + 3));
        for r in 0..rows {
            if r > 0 {
                out.push(',');
            }
            out.push('(');
            for c in 0..width {
                if c > 0 {
                    out.push(',');
                }
                n += 1;
                out.push_str(&self.placeholder(n));
            }
            out.push(')');
        }
        out
    }

    /// `INSERT INTO t(k..,c..) VALUES(..),(..)` for `rows` rows (keys first).
    pub fn insert(self, table: &TableId, keys: &[Column], values: &[Column], rows: usize) -> String {
        let all: Vec<&Column> = keys.iter().chain(values).collect();
        format!(
            "INSERT INTO {}({}) VALUES{}",
            self.table(table),
            self.quoted_list(&all),
            self.values_rows(all.len(), rows)
        )
    }

    /// The dialect's upsert of `rows` rows: PostgreSQL `ON CONFLICT .. DO UPDATE`/`DO NOTHING`, MySQL `ON DUPLICATE
    /// KEY UPDATE c=VALUES(c)`, SQLite `ON CONFLICT(..) DO UPDATE SET c=excluded.c` (keeps the columns a record
    /// does not carry, unlike Java's `INSERT OR REPLACE`).
    pub fn upsert(self, table: &TableId, keys: &[Column], values: &[Column], rows: usize) -> String {
        let insert = self.insert(table, keys, values, rows);
        let key_list = self.quoted_list(&keys.iter().collect::<Vec<_>>());
        match self {
            Dialect::Postgres | Dialect::Sqlite => {
                let excluded = if self == Dialect::Postgres { "EXCLUDED" } else { "excluded" };
                if values.is_empty() {
                    format!("{insert} ON CONFLICT ({key_list}) DO NOTHING")
                } else {
                    let sets: Vec<String> =
                        values.iter().map(|c| format!("{q}={excluded}.{q}", q = self.quote(&c.name))).collect();
                    format!("{insert} ON CONFLICT ({key_list}) DO UPDATE SET {}", sets.join(","))
                }
            }
            Dialect::MySql => {
                let updated = if values.is_empty() { keys } else { values };
                let sets: Vec<String> =
                    updated.iter().map(|c| format!("{q}=VALUES({q})", q = self.quote(&c.name))).collect();
                format!("{insert} ON DUPLICATE KEY UPDATE {}", sets.join(","))
            }
        }
    }

    /// `UPDATE t SET c1 = ?, .. WHERE k1 = ? AND ..` (non-key columns bound first).
    pub fn update(self, table: &TableId, keys: &[Column], values: &[Column]) -> String {
        let mut n = 0;
        let mut next = || {
            n += 1;
            self.placeholder(n)
        };
        let sets: Vec<String> = values.iter().map(|c| format!("{} = {}", self.quote(&c.name), next())).collect();
        let wheres: Vec<String> = keys.iter().map(|c| format!("{} = {}", self.quote(&c.name), next())).collect();
        format!("UPDATE {} SET {} WHERE {}", self.table(table), sets.join(", "), wheres.join(" AND "))
    }

    /// `DELETE FROM t WHERE k1 = ? AND ..`.
    pub fn delete(self, table: &TableId, keys: &[Column]) -> String {
        let wheres: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{} = {}", self.quote(&c.name), self.placeholder(i + 1)))
            .collect();
        format!("DELETE FROM {} WHERE {}", self.table(table), wheres.join(" AND "))
    }

    /// The SQL column type of a Connect schema for `auto.create`/`auto.evolve`; `key` columns of MySQL get
    /// `VARCHAR(255)` instead of `TEXT` (a TEXT primary key needs a length in MySQL).
    pub fn sql_type(self, schema: &Schema, key: bool) -> Result<String, String> {
        let name = schema.name();
        if name == Some(Decimal::LOGICAL_NAME) {
            let scale = Decimal::scale(schema).map_err(|e| e.message().to_string())?;
            return Ok(match self {
                Dialect::Postgres => "DECIMAL".into(),
                Dialect::MySql => format!("DECIMAL(65,{})", scale.clamp(0, 30)),
                Dialect::Sqlite => "NUMERIC".into(),
            });
        }
        if Date::is(schema) {
            return Ok(if self == Dialect::Sqlite { "NUMERIC" } else { "DATE" }.into());
        }
        if Time::is(schema) {
            return Ok(match self {
                Dialect::Postgres => "TIME",
                Dialect::MySql => "TIME(3)",
                Dialect::Sqlite => "NUMERIC",
            }
            .into());
        }
        if Timestamp::is(schema) {
            return Ok(match self {
                Dialect::Postgres => "TIMESTAMP",
                Dialect::MySql => "DATETIME(3)",
                Dialect::Sqlite => "NUMERIC",
            }
            .into());
        }
        use Dialect::*;
        let t = match (schema.schema_type(), self) {
            (SchemaType::Int8, Postgres) => "SMALLINT",
            (SchemaType::Int8, MySql) => "TINYINT",
            (SchemaType::Int16, Postgres | MySql) => "SMALLINT",
            (SchemaType::Int32, Postgres | MySql) => "INT",
            (SchemaType::Int64, Postgres | MySql) => "BIGINT",
            (SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64, Sqlite) => "INTEGER",
            (SchemaType::Float32, Postgres | Sqlite) => "REAL",
            (SchemaType::Float32, MySql) => "FLOAT",
            (SchemaType::Float64, Postgres) => "DOUBLE PRECISION",
            (SchemaType::Float64, MySql) => "DOUBLE",
            (SchemaType::Float64, Sqlite) => "REAL",
            (SchemaType::Boolean, Postgres) => "BOOLEAN",
            (SchemaType::Boolean, MySql) => "TINYINT",
            (SchemaType::Boolean, Sqlite) => "INTEGER",
            (SchemaType::String, MySql) if key => "VARCHAR(255)",
            (SchemaType::String, _) => "TEXT",
            (SchemaType::Bytes, Postgres) => "BYTEA",
            (SchemaType::Bytes, MySql) if key => "VARBINARY(255)",
            (SchemaType::Bytes, MySql) => "LONGBLOB",
            (SchemaType::Bytes, Sqlite) => "BLOB",
            (other, _) => {
                return Err(format!("({other}) type doesn't have a mapping to the SQL database column type"));
            }
        };
        Ok(t.into())
    }

    fn column_definition(self, column: &Column, key: bool) -> Result<String, String> {
        let mut def = format!("{} {}", self.quote(&column.name), self.sql_type(&column.schema, key)?);
        def.push_str(if column.schema.is_optional() && !key { " NULL" } else { " NOT NULL" });
        if let Some(default) = column.schema.default_value().and_then(|v| literal(v, &column.schema)) {
            def.push_str(" DEFAULT ");
            def.push_str(&default);
        }
        Ok(def)
    }

    /// `CREATE TABLE t (\n"c" TYPE NULL,\n..,\nPRIMARY KEY("k1",..))`.
    pub fn create_table(self, table: &TableId, keys: &[Column], values: &[Column]) -> Result<String, String> {
        let mut lines = Vec::new();
        for c in keys {
            lines.push(self.column_definition(c, true)?);
        }
        for c in values {
            lines.push(self.column_definition(c, false)?);
        }
        if !keys.is_empty() {
            lines.push(format!("PRIMARY KEY({})", self.quoted_list(&keys.iter().collect::<Vec<_>>())));
        }
        Ok(format!("CREATE TABLE {} (\n{})", self.table(table), lines.join(",\n")))
    }

    /// `ALTER TABLE t ADD c TYPE NULL, ..` (SQLite: one statement per column). A required field without a default
    /// cannot be added to a table that has rows: refused.
    pub fn alter_table(self, table: &TableId, added: &[Column]) -> Result<Vec<String>, String> {
        let mut defs = Vec::new();
        for c in added {
            if !c.schema.is_optional() && c.schema.default_value().is_none() {
                return Err(format!(
                    "cannot ALTER {} to add missing field '{}': it is required and has no default value",
                    table.fqn(),
                    c.name
                ));
            }
            defs.push(self.column_definition(c, false)?);
        }
        let t = self.table(table);
        Ok(match self {
            Dialect::Sqlite => defs.into_iter().map(|d| format!("ALTER TABLE {t} ADD {d}")).collect(),
            _ => vec![format!(
                "ALTER TABLE {t} {}",
                defs.iter().map(|d| format!("ADD {d}")).collect::<Vec<_>>().join(", ")
            )],
        })
    }

    /// The query of the database's current time, as an instant (see `db::now`).
    pub fn now_sql(self) -> &'static str {
        match self {
            Dialect::Postgres => "SELECT CURRENT_TIMESTAMP",
            Dialect::MySql => "SELECT UTC_TIMESTAMP(6)",
            Dialect::Sqlite => "SELECT strftime('%Y-%m-%d %H:%M:%f','now')",
        }
    }
}

/// A SQL literal for a schema default (numbers, booleans, strings); none for the other types.
fn literal(value: &Value, schema: &Schema) -> Option<String> {
    if schema.name().is_some() {
        return None;
    }
    Some(match value {
        Value::Int8(v) => v.to_string(),
        Value::Int16(v) => v.to_string(),
        Value::Int32(v) => v.to_string(),
        Value::Int64(v) => v.to_string(),
        Value::Float32(v) if v.is_finite() => v.to_string(),
        Value::Float64(v) if v.is_finite() => v.to_string(),
        Value::Boolean(v) => (if *v { "TRUE" } else { "FALSE" }).to_string(),
        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        _ => return None,
    })
}
