//! The statement cache: a transaction that prepares each statement once per pooled
//! connection and reuses it after.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Row, Statement, Transaction};

/// A transaction on a pooled connection, preparing each statement once per connection.
/// Prepared statements belong to the session, so they outlive a rolled-back attempt.
pub(super) struct Tx<'a> {
    pub(super) tx: Transaction<'a>,
    pub(super) statements: &'a mut HashMap<String, Statement>,
    pub(super) planner_settings: bool,
}

pub(super) type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl Tx<'_> {
    fn statement(&mut self, sql: &str) -> std::result::Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub(super) fn query(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<Vec<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query(&s, params)
    }

    pub(super) fn query_opt(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<Option<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query_opt(&s, params)
    }

    pub(super) fn query_one(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<Row, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query_one(&s, params)
    }

    pub(super) fn execute(
        &mut self,
        sql: &str,
        params: Params<'_>,
    ) -> std::result::Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.execute(&s, params)
    }

    pub(super) fn batch_execute(&mut self, sql: &str) -> std::result::Result<(), postgres::Error> {
        self.tx.batch_execute(sql)
    }

    /// Tells the planner, for this transaction only, not to scan whole tables.
    ///
    /// Under SERIALIZABLE a sequential scan takes a relation-level predicate lock (an
    /// index scan locks pages). Once statistics say `spaces` is small, the planner picks
    /// a sequential scan for the push's `WHERE space_id = $1`, and then every push
    /// conflicts with every other push, of any space. The push's queries are all key
    /// lookups, so the index is always the right plan there; other transactions keep
    /// the planner's own choice.
    pub(super) fn index_scans_only(&mut self) -> std::result::Result<(), postgres::Error> {
        if self.planner_settings {
            self.tx.batch_execute("SET LOCAL enable_seqscan = off")?;
        }
        Ok(())
    }
}
