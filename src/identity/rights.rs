//! What a caller may do: per-collection rights and row-level restriction filters.
//!
//! Rights are lists of `index/collection` patterns (`*` matches any run of characters, so
//! `shop/*`, `chat/room-*` and `*` work as expected), one list per kind of access. A
//! restriction is a filter that Herald ANDs into every subscription of the caller on the
//! collections its pattern names: it becomes part of the room's filter, so it costs nothing
//! per notification.
//!
//! The JSON form (the `herald` claim of a token, or the `--anonymous` option) is:
//!
//! ```json
//! {"subscribe": ["shop/*"], "publish": ["chat/*"], "write": ["shop/orders"],
//!  "events": true, "notify": true, "restrict": {"shop/*": {"equals": {"tenant": "acme"}}},
//!  "admin": false}
//! ```
//!
//! Every key is optional; an absent list grants nothing.

use serde_json::{Map, Value};

/// A kind of access to a collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Right {
    /// `realtime:subscribe`/`join`, and document reads.
    Subscribe,
    /// `realtime:publish`, and named events sent to a room of the collection.
    Publish,
    /// Document writes (`document:create`, `update`, `delete`, the `m*` forms...).
    Write,
}

impl Right {
    pub fn as_str(self) -> &'static str {
        match self {
            Right::Subscribe => "subscribe",
            Right::Publish => "publish",
            Right::Write => "write",
        }
    }
}

/// An `index/collection` glob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    pub fn new(pattern: &str) -> Pattern {
        Pattern(pattern.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the pattern names this collection.
    pub fn matches(&self, index: &str, collection: &str) -> bool {
        if self.0 == "*" {
            // The common grant, checked on every request of an unrestricted caller.
            return true;
        }
        glob(
            self.0.as_bytes(),
            &Joined(index.as_bytes(), collection.as_bytes()),
        )
    }
}

/// `index/collection` without building the string (rights are checked on every request).
struct Joined<'a>(&'a [u8], &'a [u8]);

impl Joined<'_> {
    fn len(&self) -> usize {
        self.0.len() + 1 + self.1.len()
    }

    fn at(&self, i: usize) -> u8 {
        match i.cmp(&self.0.len()) {
            std::cmp::Ordering::Less => self.0[i],
            std::cmp::Ordering::Equal => b'/',
            std::cmp::Ordering::Greater => self.1[i - self.0.len() - 1],
        }
    }
}

/// `*`-glob matching (iterative, with one backtracking point: linear in practice).
fn glob(pattern: &[u8], text: &Joined<'_>) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text.at(t) {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Everything a caller may do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rights {
    pub subscribe: Vec<Pattern>,
    pub publish: Vec<Pattern>,
    pub write: Vec<Pattern>,
    /// May send events to users, to everyone, and named events to rooms (rooms also need the
    /// publish right on their collection).
    pub events: bool,
    /// May send stored notifications to users' inboxes (`notifications:send`). Reading and
    /// changing one's own inbox needs no right: it only needs an identity.
    pub notify: bool,
    /// Restriction filters, by collection pattern.
    pub restrict: Vec<(Pattern, Value)>,
    /// May use the admin dashboard (`/_admin`) and read `/metrics` (docs/operations.md).
    pub admin: bool,
}

impl Rights {
    /// Every right, no restriction (the default anonymous policy: the first run just works).
    pub fn all() -> Rights {
        let any = || vec![Pattern::new("*")];
        Rights {
            subscribe: any(),
            publish: any(),
            write: any(),
            events: true,
            notify: true,
            restrict: Vec::new(),
            admin: true,
        }
    }

    /// No right at all.
    pub fn none() -> Rights {
        Rights::default()
    }

    /// Parses the JSON form (see the module docs). Restriction filters are checked by the
    /// caller (they need the filter options).
    pub fn from_json(value: &Value) -> Result<Rights, String> {
        let Value::Object(map) = value else {
            return Err("rights must be an object".into());
        };
        for key in map.keys() {
            if ![
                "subscribe",
                "publish",
                "write",
                "events",
                "notify",
                "restrict",
                "admin",
            ]
            .contains(&key.as_str())
            {
                return Err(format!("unknown right \"{key}\""));
            }
        }
        let flag = |key: &str| match map.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(format!("\"{key}\" must be a boolean")),
        };
        let events = flag("events")?;
        let notify = flag("notify")?;
        let admin = flag("admin")?;
        let restrict = match map.get("restrict") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(filters)) => filters
                .iter()
                .map(|(pattern, filter)| match filter {
                    Value::Object(_) => Ok((Pattern::new(pattern), filter.clone())),
                    _ => Err(format!(
                        "restriction of \"{pattern}\" must be a filter object"
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("\"restrict\" must be an object".into()),
        };
        Ok(Rights {
            subscribe: patterns(map, "subscribe")?,
            publish: patterns(map, "publish")?,
            write: patterns(map, "write")?,
            events,
            notify,
            restrict,
            admin,
        })
    }

    /// Whether the caller has `right` on the collection.
    pub fn allows(&self, right: Right, index: &str, collection: &str) -> bool {
        let list = match right {
            Right::Subscribe => &self.subscribe,
            Right::Publish => &self.publish,
            Right::Write => &self.write,
        };
        list.iter().any(|p| p.matches(index, collection))
    }

    /// Whether any restriction filter applies anywhere.
    pub fn is_restricted(&self) -> bool {
        !self.restrict.is_empty()
    }

    /// The restriction filters that apply to a collection (every matching pattern's).
    pub fn restrictions(&self, index: &str, collection: &str) -> Vec<&Value> {
        self.restrict
            .iter()
            .filter(|(p, _)| p.matches(index, collection))
            .map(|(_, f)| f)
            .collect()
    }

    /// `filter` with the collection's restrictions ANDed in (the filter itself if none apply;
    /// an empty filter `{}` is dropped from the conjunction).
    pub fn restrict_filter(&self, index: &str, collection: &str, filter: &Value) -> Value {
        let restrictions = self.restrictions(index, collection);
        if restrictions.is_empty() {
            return filter.clone();
        }
        let mut terms: Vec<Value> = Vec::with_capacity(restrictions.len() + 1);
        if filter.as_object().is_none_or(|m| !m.is_empty()) {
            terms.push(filter.clone());
        }
        terms.extend(restrictions.into_iter().cloned());
        if terms.len() == 1 {
            return terms.pop().unwrap_or_default();
        }
        serde_json::json!({ "and": terms })
    }
}

/// A list of patterns: a string or an array of strings.
fn patterns(map: &Map<String, Value>, key: &str) -> Result<Vec<Pattern>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![Pattern::new(s)]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(Pattern::new)
                    .ok_or_else(|| format!("\"{key}\" must list \"index/collection\" patterns"))
            })
            .collect(),
        Some(_) => Err(format!("\"{key}\" must be a pattern or a list of patterns")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Glob of `pattern` against "index/collection".
    fn matches(pattern: &str, index: &str, collection: &str) -> bool {
        glob(
            pattern.as_bytes(),
            &Joined(index.as_bytes(), collection.as_bytes()),
        )
    }

    #[test]
    fn globs() {
        assert!(matches("*", "a", "b"));
        assert!(matches("shop/*", "shop", "orders"));
        assert!(!matches("shop/*", "shopping", "orders"));
        assert!(matches("chat/room-*", "chat", "room-12"));
        assert!(!matches("chat/room-*", "chat", "lobby"));
        assert!(matches("*/orders", "shop", "orders"));
        assert!(matches("a*b*c", "axx", "byyc"));
        assert!(!matches("a*b*c", "axx", "byy"));
        assert!(matches("exact/name", "exact", "name"));
        assert!(!matches("exact/name", "exact", "names"));
        assert!(
            !matches("exact/name", "exac", "t/name"),
            "the separator is '/' itself"
        );
        assert!(matches("exac/*name", "exac", "t/name"));
        assert!(matches("*/", "a", ""));
        assert!(matches("/*", "", "x"));
    }

    #[test]
    fn parses_and_checks() {
        let rights = Rights::from_json(&json!({
            "subscribe": ["shop/*"], "publish": "chat/*", "events": true,
            "restrict": {"shop/orders": {"equals": {"tenant": "acme"}}}
        }))
        .expect("valid rights");
        assert!(rights.allows(Right::Subscribe, "shop", "orders"));
        assert!(!rights.allows(Right::Write, "shop", "orders"));
        assert!(rights.allows(Right::Publish, "chat", "x"));
        assert!(rights.events);
        assert!(!rights.notify, "an absent flag grants nothing");
        assert!(Rights::all().notify);
        let notify = Rights::from_json(&json!({"notify": true})).expect("valid rights");
        assert!(notify.notify && !notify.events);
        assert!(Rights::from_json(&json!({"notify": "yes"})).is_err());
        assert_eq!(
            rights.restrict_filter("shop", "orders", &json!({})),
            json!({"equals": {"tenant": "acme"}})
        );
        assert_eq!(
            rights.restrict_filter("shop", "orders", &json!({"exists": "total"})),
            json!({"and": [{"exists": "total"}, {"equals": {"tenant": "acme"}}]})
        );
        assert_eq!(
            rights.restrict_filter("shop", "items", &json!({})),
            json!({})
        );
        assert!(!rights.admin, "admin is granted only explicitly");
        assert!(Rights::all().admin, "the default policy includes admin");
        assert!(!Rights::none().admin);
        assert!(
            Rights::from_json(&json!({"admin": true}))
                .expect("admin only")
                .admin
        );
        assert!(Rights::from_json(&json!({"admin": 1})).is_err());
        assert!(Rights::from_json(&json!({"subscribe": 3})).is_err());
        assert!(Rights::from_json(&json!({"bogus": []})).is_err());
        assert!(Rights::from_json(&json!({"restrict": {"a/b": 1}})).is_err());
    }
}
