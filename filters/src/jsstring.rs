//! JavaScript's string conversions, as the filter language observes them.
//!
//! Koncorde is written in JavaScript, and one place of its filter language
//! leaks JavaScript's type coercion: `not regexp` tests the field value
//! *converted with `String(value)`* when the value is not a string (spec 4.6
//! and the negation table of section 10). So `{"not": {"regexp": {"a": "^1"}}}`
//! does **not** match `{"a": 123}`, because `String(123)` is `"123"`. To give
//! the same answers, Herald needs the exact JavaScript text of every JSON
//! value:
//!
//! * numbers print as `Number.prototype.toString()` does (ECMAScript
//!   Number::toString, radix 10): the shortest digits that round-trip, in
//!   plain notation for decimal exponents in `[-6, 21)` and in exponent
//!   notation (`1e+21`, `1e-7`) outside. The shortest-digits search is
//!   [`ryu_js`], a port of Ryū that implements exactly this layout;
//! * `true`/`false`, and `null` as `"null"`;
//! * strings as they are;
//! * arrays as `Array.prototype.join(",")`: elements converted recursively,
//!   `null` elements (and `undefined`, which JSON cannot express) becoming
//!   the empty string, so `[1, [2, null], null]` prints `1,2,,`;
//! * objects as `"[object Object]"`.
//!
//! Invariants: the functions only append to `out` (callers may reuse a
//! buffer), never allocate anything proportional to nesting depth on the
//! call stack (arrays are walked with an explicit stack, so a document
//! nested a million levels deep cannot overflow the thread's stack), and
//! never panic.

use serde_json::Value;

/// Appends JavaScript's `Number.prototype.toString()` (radix 10) of `n`.
///
/// This is ECMAScript's Number::toString: `123`, `1.5`, `0.1`, `1e+21`,
/// `1e-7`, `5e-324`; `-0` prints `0`; non-finite values print `NaN`,
/// `Infinity` and `-Infinity`.
pub fn number_to_string(n: f64, out: &mut String) {
    let mut buf = ryu_js::Buffer::new();
    out.push_str(buf.format(n));
}

/// Appends JavaScript's `String(value)` of a JSON value, as `not regexp`
/// uses it.
///
/// Numbers as in [`number_to_string`], `true`/`false`, `null` as `"null"`,
/// strings unchanged, arrays joined with `,` (`null` elements become the
/// empty string and nested arrays are joined recursively, as
/// `Array.prototype.join` does), objects as `"[object Object]"`.
pub fn value_to_string(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Array(items) => join_array(items, out),
        scalar => scalar_to_string(scalar, out),
    }
}

/// `Array.prototype.join(",")`, without recursion: each stack entry is an
/// array being joined and whether its next element is its first.
fn join_array(items: &[Value], out: &mut String) {
    let mut stack: Vec<(std::slice::Iter<'_, Value>, bool)> = vec![(items.iter(), true)];
    while let Some((iter, first)) = stack.last_mut() {
        let Some(item) = iter.next() else {
            stack.pop();
            continue;
        };
        if !*first {
            out.push(',');
        }
        *first = false;
        match item {
            // join() turns null and undefined elements into "".
            Value::Null => {}
            Value::Array(inner) => stack.push((inner.iter(), true)),
            scalar => scalar_to_string(scalar, out),
        }
    }
}

/// `String(v)` for everything but arrays (and `null`, which differs
/// between top level and array element).
fn scalar_to_string(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => match n.as_f64() {
            Some(f) => number_to_string(f, out),
            // Unreachable without serde_json's arbitrary_precision; the
            // JSON text is the best remaining answer.
            None => out.push_str(&n.to_string()),
        },
        Value::String(s) => out.push_str(s),
        Value::Object(_) => out.push_str("[object Object]"),
        Value::Array(items) => join_array(items, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn num(n: f64) -> String {
        let mut s = String::new();
        number_to_string(n, &mut s);
        s
    }

    fn val(v: &Value) -> String {
        let mut s = String::new();
        value_to_string(v, &mut s);
        s
    }

    /// Parses JSON text the way documents are parsed (float_roundtrip).
    fn parsed(text: &str) -> String {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => val(&v),
            Err(e) => format!("parse error: {e}"),
        }
    }

    #[test]
    fn numbers_plain() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(1.0), "1");
        assert_eq!(num(-1.0), "-1");
        assert_eq!(num(123.0), "123");
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(-1.5), "-1.5");
        assert_eq!(num(0.1), "0.1");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(4.35), "4.35");
        assert_eq!(num(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(num(100.0), "100");
        assert_eq!(num(1e20), "100000000000000000000");
        assert_eq!(num(123456789012345680000.0), "123456789012345680000");
        assert_eq!(num(9007199254740992.0), "9007199254740992");
        assert_eq!(num(9007199254740993.0), "9007199254740992");
        assert_eq!(num(0.000001), "0.000001");
        assert_eq!(num(0.0000015), "0.0000015");
        assert_eq!(num(1.7976931348623157e308), "1.7976931348623157e+308");
    }

    #[test]
    fn numbers_exponent() {
        assert_eq!(num(1e21), "1e+21");
        assert_eq!(num(-1e21), "-1e+21");
        assert_eq!(num(1.5e21), "1.5e+21");
        assert_eq!(num(1e100), "1e+100");
        assert_eq!(num(1e-7), "1e-7");
        assert_eq!(num(-1e-7), "-1e-7");
        assert_eq!(num(1.23e-18), "1.23e-18");
        assert_eq!(num(-1.5e-10), "-1.5e-10");
        assert_eq!(num(5e-324), "5e-324");
        assert_eq!(num(-5e-324), "-5e-324");
        assert_eq!(num(2.2250738585072014e-308), "2.2250738585072014e-308");
    }

    #[test]
    fn numbers_non_finite() {
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(f64::INFINITY), "Infinity");
        assert_eq!(num(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn appends_without_clearing() {
        let mut s = String::from("x=");
        number_to_string(2.5, &mut s);
        value_to_string(&json!([1, null]), &mut s);
        assert_eq!(s, "x=2.51,");
    }

    #[test]
    fn scalars() {
        assert_eq!(val(&json!(null)), "null");
        assert_eq!(val(&json!(true)), "true");
        assert_eq!(val(&json!(false)), "false");
        assert_eq!(val(&json!("")), "");
        assert_eq!(val(&json!("héllo, wörld")), "héllo, wörld");
        assert_eq!(val(&json!(123)), "123");
        assert_eq!(val(&json!(-7)), "-7");
        assert_eq!(val(&json!(1.5)), "1.5");
        assert_eq!(val(&json!({})), "[object Object]");
        assert_eq!(val(&json!({"a": 1})), "[object Object]");
    }

    #[test]
    fn numbers_from_json_text() {
        assert_eq!(parsed("123"), "123");
        assert_eq!(parsed("123.0"), "123");
        assert_eq!(parsed("-0"), "0");
        assert_eq!(parsed("-0.0"), "0");
        assert_eq!(parsed("1e21"), "1e+21");
        assert_eq!(parsed("1E-7"), "1e-7");
        assert_eq!(parsed("0.1"), "0.1");
        assert_eq!(parsed("123456789012345680000"), "123456789012345680000");
        // Integers that fit u64/i64 are parsed exactly by serde_json, then
        // rounded to the nearest double as JavaScript's parser does.
        assert_eq!(parsed("12345678901234567890"), "12345678901234567000");
        assert_eq!(parsed("-9223372036854775808"), "-9223372036854776000");
        assert_eq!(parsed("18446744073709551615"), "18446744073709552000");
        assert_eq!(parsed("9007199254740993"), "9007199254740992");
        assert_eq!(parsed("5e-324"), "5e-324");
        assert_eq!(parsed("-1.5e-10"), "-1.5e-10");
    }

    #[test]
    fn arrays() {
        assert_eq!(val(&json!([])), "");
        assert_eq!(val(&json!([null])), "");
        assert_eq!(val(&json!([null, null])), ",");
        assert_eq!(val(&json!([[]])), "");
        assert_eq!(val(&json!([[], []])), ",");
        assert_eq!(val(&json!([[null, null]])), ",");
        assert_eq!(val(&json!([1, 2, 3])), "1,2,3");
        assert_eq!(val(&json!(["a", "b,c"])), "a,b,c");
        assert_eq!(val(&json!([true, false, null, "x"])), "true,false,,x");
        assert_eq!(val(&json!([1, [2, [3, null]], null])), "1,2,3,,");
        assert_eq!(
            val(&json!([1, [2, [3, null]], null, "a", true, {}])),
            "1,2,3,,,a,true,[object Object]"
        );
        assert_eq!(val(&json!([[1, 2], [3, [4, [5]]]])), "1,2,3,4,5");
        assert_eq!(val(&json!([null, [null, [null]], null])), ",,,");
        assert_eq!(
            val(&json!([{"a": [1]}, [{}]])),
            "[object Object],[object Object]"
        );
        assert_eq!(val(&json!([1e21, 0.1, -0.0, 1e-7])), "1e+21,0.1,0,1e-7");
    }

    #[test]
    fn deep_arrays_do_not_recurse() {
        // Built and torn down iteratively: serde_json's own Drop recurses.
        const DEPTH: usize = 2_000;
        let mut v = json!([1, null]);
        for _ in 0..DEPTH {
            v = Value::Array(vec![v, json!(2)]);
        }
        let s = val(&v);
        assert!(s.starts_with("1,,2,2"));
        assert_eq!(s.len(), "1,".len() + DEPTH * ",2".len());
        let mut cur = v;
        while let Value::Array(mut items) = cur {
            cur = if items.is_empty() {
                Value::Null
            } else {
                items.swap_remove(0)
            };
        }
    }
}
