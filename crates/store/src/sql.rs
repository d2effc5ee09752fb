//! A tiny SQL text builder whose placeholders suit the backend it runs on.
//!
//! One SQL text serves SQLite and PostgreSQL through sqlx's `Any` driver; only the
//! placeholders differ. PostgreSQL needs `$1, $2, …`. SQLite accepts those too, but as
//! *named* parameters, which it looks up by a linear scan at parse and at bind time:
//! O(n²) in the parameters of a statement, ruinous for multi-row inserts (measured: 86%
//! of projection time). So SQLite gets anonymous `?` placeholders, which cost nothing.
//! The backend is read from the executor when the statement runs (`Backend`).

use sqlx::any::{Any, AnyArguments};
use sqlx::AnyConnection;
use sqlx::{AnyPool, Arguments, Encode, Type};

pub(crate) struct Sql {
    /// Literal SQL between placeholders: `parts.len() == placeholders + 1`.
    parts: Vec<String>,
    args: AnyArguments<'static>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            parts: vec![text.to_owned()],
            args: AnyArguments::default(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        if let Some(last) = self.parts.last_mut() {
            last.push_str(text);
        }
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: for<'q> Encode<'q, Any> + Type<Any> + Send + 'static,
    {
        self.parts.push(String::new());
        // Encoding plain integers and strings into `AnyArguments` cannot fail.
        let _ = self.args.add(value);
        self
    }

    /// Appends a nullable double. sqlx's `Any` driver binds a `None` double as a
    /// PostgreSQL `float4` (sqlx-core 0.8 `AnyArguments`), so a statement prepared with a
    /// null there then fails on a value (`incorrect binary data format`). The value is
    /// therefore always bound as a double, and a flag turns it into NULL.
    pub fn bind_f64_or_null(&mut self, value: Option<f64>) -> &mut Self {
        self.push("CASE WHEN ")
            .bind(value.is_some() as i64)
            .push(" = 1 THEN ")
            .bind(value.unwrap_or(0.0))
            .push(" END")
    }

    /// Appends `($a, $b, …)` for a list of values of one type.
    pub fn bind_list<T, I>(&mut self, values: I) -> &mut Self
    where
        I: IntoIterator<Item = T>,
        T: for<'q> Encode<'q, Any> + Type<Any> + Send + 'static,
    {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")")
    }

    /// The SQL text for the backend (`?` for SQLite, `$N` otherwise) and the arguments.
    pub fn build(self, sqlite: bool) -> (String, AnyArguments<'static>) {
        let mut text = String::with_capacity(self.parts.iter().map(|p| p.len() + 6).sum());
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                if sqlite {
                    text.push('?');
                } else {
                    text.push('$');
                    text.push_str(&i.to_string());
                }
            }
            text.push_str(part);
        }
        (text, self.args)
    }
}

/// Tells which backend an executor talks to.
pub(crate) trait Backend {
    fn is_sqlite(&self) -> bool;
}

impl Backend for AnyConnection {
    fn is_sqlite(&self) -> bool {
        self.backend_name() == "SQLite"
    }
}

impl Backend for AnyPool {
    fn is_sqlite(&self) -> bool {
        self.connect_options()
            .database_url
            .scheme()
            .starts_with("sqlite")
    }
}

/// Runs a built statement on any executor (pool, connection or transaction).
macro_rules! execute {
    ($sql:expr, $exec:expr) => {{
        let exec = $exec;
        let (text, args) = $sql.build($crate::sql::Backend::is_sqlite(&*exec));
        sqlx::query_with(&text, args).execute(exec).await
    }};
}

/// Fetches all rows of a built query.
macro_rules! fetch_all {
    ($sql:expr, $exec:expr) => {{
        let exec = $exec;
        let (text, args) = $sql.build($crate::sql::Backend::is_sqlite(&*exec));
        sqlx::query_with(&text, args).fetch_all(exec).await
    }};
}

pub(crate) use execute;
pub(crate) use fetch_all;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_backend() {
        let sql = || {
            let mut s = Sql::new("SELECT a FROM t WHERE x = ");
            s.bind(1i64)
                .push(" AND y IN ")
                .bind_list(["a".to_owned(), "b".to_owned()]);
            s
        };
        assert_eq!(
            sql().build(false).0,
            "SELECT a FROM t WHERE x = $1 AND y IN ($2, $3)"
        );
        assert_eq!(
            sql().build(true).0,
            "SELECT a FROM t WHERE x = ? AND y IN (?, ?)"
        );
    }
}
