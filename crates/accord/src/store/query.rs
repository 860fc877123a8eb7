//! Queries over one collection's live records, run by SQLite: filters on JSON fields
//! (equality, ranges, `IN`, prefix), an order and a page; and the expression indexes
//! that make a filter or an order on one field cheap.
//!
//! A field is read as `json_extract(data, '<path>')` with the path written into the SQL
//! as a quoted literal (never a bound parameter): SQLite uses an expression index only
//! when the query repeats the indexed expression exactly. The literal is built from the
//! field name with every quote escaped, so no field name reaches the SQL unescaped.

use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use serde_json::Value;

use super::exec;
use super::records::{LocalRecord, COLUMNS};
use crate::error::{Error, Result};

/// Which live records of one collection to read, and in what order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Collection to read.
    pub collection: String,
    /// Every filter must hold.
    pub filters: Vec<Filter>,
    /// Order by this field (ascending unless `descending`); by id otherwise. Ties are
    /// ordered by id.
    pub order_by: Option<String>,
    /// Reverse the order.
    pub descending: bool,
    /// Most rows to return (all when `None`).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: u32,
}

/// One condition on a field: a top-level name or a dot-separated path into objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The field (`status`, `author.name`).
    pub field: String,
    /// What its value must satisfy.
    pub op: FilterOp,
}

/// What a field's value must satisfy. Values are JSON scalars; comparisons follow
/// SQLite's: numbers compare as numbers, strings byte by byte (UTF-8), and a number is
/// never equal to, above or below a string. A record without the field matches only
/// `Eq(null)`.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterOp {
    /// Equal to the value (`null`: the field is missing or null).
    Eq(Value),
    /// Less than.
    Lt(Value),
    /// Less than or equal.
    Le(Value),
    /// Greater than.
    Gt(Value),
    /// Greater than or equal.
    Ge(Value),
    /// Equal to one of the values (none: nothing matches).
    In(Vec<Value>),
    /// A string that starts with this text (case-sensitive).
    Prefix(String),
}

impl Filter {
    /// `field == value`.
    pub fn eq(field: &str, value: Value) -> Filter {
        Filter {
            field: field.to_string(),
            op: FilterOp::Eq(value),
        }
    }
}

/// The SQL literal `'$."a"."b"'` for a dot-separated field path: each key quoted for
/// JSON, then the whole quoted for SQL.
pub(crate) fn json_path_literal(field: &str) -> String {
    let mut path = String::from("$");
    for key in field.split('.') {
        path.push_str(".\"");
        path.push_str(&key.replace('\\', "\\\\").replace('"', "\\\""));
        path.push('"');
    }
    format!("'{}'", path.replace('\'', "''"))
}

fn field_expr(field: &str) -> String {
    format!("json_extract(data, {})", json_path_literal(field))
}

fn scalar(v: &Value) -> Result<SqlValue> {
    Ok(match v {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        other => {
            return Err(Error::invalid(format!(
                "query filters compare with strings, numbers, booleans or null, not {other}"
            )))
        }
    })
}

/// The least string above every string that starts with `prefix`, when there is one:
/// the prefix with its last character that can grow grown by one.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(c) = next {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Builds the SQL of `q` and its arguments.
fn to_sql(q: &Query) -> Result<(String, Vec<SqlValue>)> {
    let mut sql = format!("SELECT {COLUMNS} FROM records WHERE collection = ?1 AND deleted = 0");
    let mut args: Vec<SqlValue> = vec![SqlValue::Text(q.collection.clone())];
    let arg = |args: &mut Vec<SqlValue>, v: SqlValue| {
        args.push(v);
        format!("?{}", args.len())
    };
    for f in &q.filters {
        let x = field_expr(&f.field);
        let compare = |args: &mut Vec<SqlValue>, op: &str, v: &Value| -> Result<String> {
            if v.is_null() {
                return Err(Error::invalid(format!(
                    "'{}' {op} null: a range needs a number or a string",
                    f.field
                )));
            }
            Ok(format!(" AND {x} {op} {}", arg(args, scalar(v)?)))
        };
        let clause = match &f.op {
            FilterOp::Eq(Value::Null) => format!(" AND {x} IS NULL"),
            FilterOp::Eq(v) => format!(" AND {x} = {}", arg(&mut args, scalar(v)?)),
            FilterOp::Lt(v) => compare(&mut args, "<", v)?,
            FilterOp::Le(v) => compare(&mut args, "<=", v)?,
            FilterOp::Gt(v) => compare(&mut args, ">", v)?,
            FilterOp::Ge(v) => compare(&mut args, ">=", v)?,
            FilterOp::In(values) if values.is_empty() => " AND 0".to_string(),
            FilterOp::In(values) => {
                let mut placeholders = Vec::with_capacity(values.len());
                for v in values {
                    if v.is_null() {
                        return Err(Error::invalid(format!(
                            "'{}' IN (...): null never matches; filter with == null",
                            f.field
                        )));
                    }
                    placeholders.push(arg(&mut args, scalar(v)?));
                }
                format!(" AND {x} IN ({})", placeholders.join(", "))
            }
            // A range rather than LIKE or substr: it is case-sensitive, treats % and _
            // as text, and an index on the field serves it.
            FilterOp::Prefix(p) => {
                let low = arg(&mut args, SqlValue::Text(p.clone()));
                let mut c = format!(" AND {x} >= {low}");
                if let Some(high) = prefix_upper_bound(p) {
                    c.push_str(&format!(
                        " AND {x} < {}",
                        arg(&mut args, SqlValue::Text(high))
                    ));
                } else {
                    c.push_str(&format!(" AND typeof({x}) = 'text'"));
                }
                c
            }
        };
        sql.push_str(&clause);
    }
    let dir = if q.descending { "DESC" } else { "ASC" };
    match &q.order_by {
        Some(field) => sql.push_str(&format!(" ORDER BY {} {dir}, id {dir}", field_expr(field))),
        None => sql.push_str(&format!(" ORDER BY id {dir}")),
    }
    let limit = arg(&mut args, SqlValue::Integer(q.limit.map_or(-1, i64::from)));
    let offset = arg(&mut args, SqlValue::Integer(i64::from(q.offset)));
    sql.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
    Ok((sql, args))
}

/// Live records matching `q`.
pub(crate) fn run(conn: &Connection, q: &Query) -> Result<Vec<LocalRecord>> {
    let (sql, args) = to_sql(q)?;
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), LocalRecord::from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The name of the index on `field` of `collection`: a digest, since either may hold
/// any character. FNV-1a, written out because the name must stay the same across
/// releases (std's hasher may change) or a new release would build a second index.
fn index_name(collection: &str, field: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in collection.bytes().chain([0]).chain(field.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("records_field_{h:016x}")
}

/// Creates (if missing) an index on `field` of `collection`'s records, which filters
/// and orders on that field then use instead of reading every record of the
/// collection. It costs a little on every write of the collection, so it pays for a
/// field that is queried often in a collection of more than a few hundred records.
pub(crate) fn create_index(conn: &Connection, collection: &str, field: &str) -> Result<()> {
    accord_protocol::check_name("collection", collection).map_err(Error::invalid)?;
    if field.is_empty() || field.split('.').any(str::is_empty) {
        return Err(Error::invalid(format!(
            "index field '{field}' is empty or has an empty part between dots"
        )));
    }
    // Keyed by collection first: every query has `collection = ?1`, and a partial
    // index (WHERE collection = 'notes') would not be used with the name bound. Then
    // id, the order's tie-breaker, so an ordered page is read in index order.
    exec(
        conn,
        &format!(
            "CREATE INDEX IF NOT EXISTS {} ON records(collection, {}, id)",
            index_name(collection, field),
            field_expr(field),
        ),
        [],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Accord, Config};
    use serde_json::json;

    fn store_with_tasks() -> (tempfile::TempDir, Accord) {
        let dir = tempfile::tempdir().unwrap();
        let accord = Accord::open(Config::new(dir.path().join("q.db"))).unwrap();
        let tasks = [
            (
                "t1",
                json!({"title": "Buy milk", "due": 3, "status": "open", "meta": {"prio": 2}}),
            ),
            (
                "t2",
                json!({"title": "Buy bread", "due": 1, "status": "done", "meta": {"prio": 1}}),
            ),
            (
                "t3",
                json!({"title": "Call Bob", "due": 7, "status": "open"}),
            ),
            (
                "t4",
                json!({"title": "buy stamps", "due": 5.5, "status": "snoozed"}),
            ),
            ("t5", json!({"title": "Buy% off", "status": "open"})),
        ];
        for (id, data) in tasks {
            accord.put("tasks", id, data).unwrap();
        }
        accord.put("other", "o1", json!({"due": 2})).unwrap();
        (dir, accord)
    }

    fn ids(accord: &Accord, filters: Vec<Filter>, order_by: Option<&str>) -> Vec<String> {
        let q = Query {
            collection: "tasks".into(),
            filters,
            order_by: order_by.map(str::to_string),
            ..Query::default()
        };
        accord
            .query(&q)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    fn f(field: &str, op: FilterOp) -> Filter {
        Filter {
            field: field.into(),
            op,
        }
    }

    #[test]
    fn ranges_in_and_prefix_select_by_json_field() {
        let (_dir, a) = store_with_tasks();
        let due = Some("due");
        assert_eq!(
            ids(&a, vec![f("due", FilterOp::Lt(json!(5)))], due),
            ["t2", "t1"]
        );
        assert_eq!(
            ids(&a, vec![f("due", FilterOp::Le(json!(3)))], due),
            ["t2", "t1"]
        );
        assert_eq!(
            ids(&a, vec![f("due", FilterOp::Gt(json!(3)))], due),
            ["t4", "t3"]
        );
        assert_eq!(
            ids(
                &a,
                vec![
                    f("due", FilterOp::Ge(json!(3))),
                    f("due", FilterOp::Lt(json!(7)))
                ],
                due
            ),
            ["t1", "t4"]
        );
        let open_or_snoozed = FilterOp::In(vec![json!("open"), json!("snoozed")]);
        assert_eq!(
            ids(&a, vec![f("status", open_or_snoozed)], None),
            ["t1", "t3", "t4", "t5"]
        );
        assert!(ids(&a, vec![f("status", FilterOp::In(vec![]))], None).is_empty());
        // Case-sensitive, and % is text, not a wildcard.
        assert_eq!(
            ids(
                &a,
                vec![f("title", FilterOp::Prefix("Buy".into()))],
                Some("title")
            ),
            ["t2", "t1", "t5"]
        );
        assert_eq!(
            ids(&a, vec![f("title", FilterOp::Prefix("Buy%".into()))], None),
            ["t5"]
        );
        assert_eq!(
            ids(&a, vec![f("meta.prio", FilterOp::Ge(json!(2)))], None),
            ["t1"]
        );
        // A string is never below a number: no text field matches a numeric range.
        assert!(ids(&a, vec![f("title", FilterOp::Lt(json!(100)))], None).is_empty());
    }

    #[test]
    fn an_index_on_the_field_serves_its_filter_and_order() {
        let (dir, a) = store_with_tasks();
        let before = ids(&a, vec![f("due", FilterOp::Ge(json!(2)))], Some("due"));
        a.create_index("tasks", "due").unwrap();
        a.create_index("tasks", "due").unwrap(); // again: a no-op
        let q = Query {
            collection: "tasks".into(),
            filters: vec![f("due", FilterOp::Ge(json!(2)))],
            order_by: Some("due".into()),
            ..Query::default()
        };
        let (sql, args) = to_sql(&q).unwrap();
        // A reader of the same file, as the store's readers are.
        let c = Connection::open(dir.path().join("q.db")).unwrap();
        let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(args), |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let index = index_name("tasks", "due");
        assert_eq!(
            index, "records_field_7af36f5cf97bb483",
            "stable across releases"
        );
        assert!(plan.iter().any(|p| p.contains(&index)), "{plan:?}");
        assert!(
            !plan.iter().any(|p| p.contains("TEMP B-TREE")),
            "sorted by the index: {plan:?}"
        );
        assert_eq!(ids(&a, q.filters.clone(), Some("due")), before);
        assert_eq!(before, ["t1", "t4", "t3"]);
        let err = a.create_index("tasks", "a..b").unwrap_err();
        assert!(err.to_string().contains("empty part"), "{err}");
    }

    #[test]
    fn field_paths_are_quoted_for_json_and_sql() {
        assert_eq!(json_path_literal("title"), r#"'$."title"'"#);
        assert_eq!(json_path_literal("a.b"), r#"'$."a"."b"'"#);
        assert_eq!(json_path_literal(r#"it's "x""#), r#"'$."it''s \"x\""'"#);
    }

    #[test]
    fn the_prefix_bound_is_the_next_string_above_every_extension() {
        assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_upper_bound("").as_deref(), None);
        let max = char::MAX.to_string();
        assert_eq!(prefix_upper_bound(&format!("a{max}")).as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound(&max), None);
    }

    #[test]
    fn a_range_against_null_is_refused_with_the_field() {
        let q = Query {
            collection: "notes".into(),
            filters: vec![Filter {
                field: "due".into(),
                op: FilterOp::Gt(json!(null)),
            }],
            ..Query::default()
        };
        let err = to_sql(&q).unwrap_err();
        assert!(err.to_string().contains("'due' > null"), "{err}");
    }
}
