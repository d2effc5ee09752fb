//! A tiny SQL text builder that numbers placeholders `$1, $2, …`.
//!
//! Both PostgreSQL and SQLite (through sqlx) accept `$N` placeholders, which lets one SQL
//! text serve both databases via sqlx's `Any` driver. (sqlx's own `QueryBuilder<Any>`
//! emits `?`, which PostgreSQL rejects.)

use sqlx::any::{Any, AnyArguments};
use sqlx::{Arguments, Encode, Type};
use std::fmt::Write;

pub(crate) struct Sql {
    text: String,
    args: AnyArguments<'static>,
    count: usize,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_owned(),
            args: AnyArguments::default(),
            count: 0,
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: for<'q> Encode<'q, Any> + Type<Any> + Send + 'static,
    {
        self.count += 1;
        let _ = write!(self.text, "${}", self.count);
        // Encoding plain integers and strings into `AnyArguments` cannot fail.
        let _ = self.args.add(value);
        self
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

    pub fn build(self) -> (String, AnyArguments<'static>) {
        (self.text, self.args)
    }
}

/// Runs a built statement on any executor (pool, connection or transaction).
macro_rules! execute {
    ($sql:expr, $exec:expr) => {{
        let (text, args) = $sql.build();
        sqlx::query_with(&text, args).execute($exec).await
    }};
}

/// Fetches all rows of a built query.
macro_rules! fetch_all {
    ($sql:expr, $exec:expr) => {{
        let (text, args) = $sql.build();
        sqlx::query_with(&text, args).fetch_all($exec).await
    }};
}

pub(crate) use execute;
pub(crate) use fetch_all;
