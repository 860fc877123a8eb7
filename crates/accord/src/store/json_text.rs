//! The stored text of a record's fields: serde_json's compact form, written faster.
//!
//! Every local write stores its fields as JSON text, and serde_json checks a string for
//! characters to escape one byte at a time (most of a 1 KB record's serialising). Here a
//! string is checked 32 bytes at a time, and one with nothing to escape (almost every
//! string an app stores) is copied whole; anything else (a string that needs escapes,
//! a number) is written by serde_json itself, so the text is byte for byte serde_json's
//! (tested on generated values), which `same_fields` and the server's texts rely on.

use serde_json::Value;

/// Appends `value`'s compact JSON text to `out`: the same bytes as
/// `serde_json::to_writer(out, value)`.
pub(crate) fn write_compact(out: &mut Vec<u8>, value: &Value) -> serde_json::Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => serde_json::to_writer(&mut *out, n)?,
        Value::String(s) => write_str(out, s)?,
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_compact(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(fields) => {
            out.push(b'{');
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, key)?;
                out.push(b':');
                write_compact(out, item)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_str(out: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    if needs_escape(s.as_bytes()) {
        return serde_json::to_writer(&mut *out, s);
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

/// True when `bytes` hold a control character, a quote or a backslash (what JSON
/// escapes). Whole 32-byte chunks are folded without an early exit, so the compiler
/// checks them with vector instructions.
fn needs_escape(bytes: &[u8]) -> bool {
    let escaped = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    let mut chunks = bytes.chunks_exact(32);
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |found, &b| found | escaped(b)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| escaped(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(v: &Value) -> String {
        let mut out = Vec::new();
        write_compact(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_text_is_serde_jsons_for_every_kind_of_value() {
        let long_plain = "plain words ".repeat(40);
        let long_escaped = format!("{}\"quoted\"\n{}", "x".repeat(70), "y".repeat(33));
        let values = [
            json!(null),
            json!({}),
            json!([]),
            json!({"title": "note 1", "body": long_plain, "done": true, "n": 3}),
            json!({"q": long_escaped, "nested": {"list": [1, -2, 2.5, 1e300, null, false]}}),
            json!({"ctl": "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}", "bs": "a\\b", "uni": "ö€😀"}),
            json!({"key \"with\" quote\n": "v", "": ""}),
            json!([u64::MAX, i64::MIN, 0.1, -0.0, 123456789.125]),
        ];
        for v in &values {
            assert_eq!(text(v), serde_json::to_string(v).unwrap());
        }
    }

    #[test]
    fn an_escape_anywhere_in_a_string_is_found() {
        // Every position, so each chunk and the remainder are covered.
        for len in [1usize, 31, 32, 33, 64, 95] {
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{0}', '\u{1f}'] {
                    let mut s: Vec<char> = vec!['a'; len];
                    s[at] = special;
                    let s: String = s.into_iter().collect();
                    assert!(needs_escape(s.as_bytes()), "{len} {at} {special:?}");
                    let v = json!({ "s": s });
                    assert_eq!(text(&v), serde_json::to_string(&v).unwrap());
                }
            }
            assert!(!needs_escape("é".repeat(len).as_bytes()));
        }
    }

    #[test]
    fn generated_records_have_serde_jsons_text() {
        let mut rng = fastrand::Rng::with_seed(7);
        let pick = |rng: &mut fastrand::Rng| -> String {
            let alphabet = ['a', ' ', '"', '\\', '\n', '\u{1}', 'é', '😀', '\u{7f}', '}'];
            (0..rng.usize(0..80))
                .map(|_| alphabet[rng.usize(0..alphabet.len())])
                .collect()
        };
        for _ in 0..500 {
            let mut fields = serde_json::Map::new();
            for _ in 0..rng.usize(0..6) {
                let value = match rng.u8(0..4) {
                    0 => json!(pick(&mut rng)),
                    1 => json!(rng.i64(..)),
                    2 => json!(rng.f64() * 1e6),
                    _ => json!([pick(&mut rng), rng.bool(), {"in": pick(&mut rng)}]),
                };
                fields.insert(pick(&mut rng), value);
            }
            let v = Value::Object(fields);
            assert_eq!(text(&v), serde_json::to_string(&v).unwrap());
        }
    }
}
