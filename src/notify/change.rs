//! Document changes: what a write asks for, and the pure part of applying it.
//!
//! Given the stored state of a document (or none) and a change, [`plan`] computes the new state
//! and what the notifications must say, without touching the store or the rooms. The engine
//! then matches, stores and delivers (see the parent module).

use std::fmt;

use rand::Rng;
use serde_json::{Map, Value};

use crate::store::{StoreError, StoredDocument};

/// One write to one document.
#[derive(Clone, Debug, PartialEq)]
pub struct DocumentChange {
    pub index: String,
    pub collection: String,
    /// The document id; `None` only for `Create` (an id is generated).
    pub id: Option<String>,
    pub operation: Operation,
}

/// The Kuzzle document actions that notify.
#[derive(Clone, Debug, PartialEq)]
pub enum Operation {
    /// Create a document; fails if it exists.
    Create { document: Value },
    /// Create or overwrite a document.
    CreateOrReplace { document: Value },
    /// Overwrite an existing document.
    Replace { document: Value },
    /// Merge a partial body into an existing document (objects merge recursively, anything
    /// else, arrays included, replaces).
    Update { changes: Value },
    /// Update if the document exists; otherwise create it from `default` merged with
    /// `changes`.
    Upsert { changes: Value, default: Value },
    /// Delete an existing document.
    Delete,
}

impl DocumentChange {
    pub fn new(index: &str, collection: &str, id: Option<&str>, operation: Operation) -> Self {
        DocumentChange {
            index: index.to_owned(),
            collection: collection.to_owned(),
            id: id.map(str::to_owned),
            operation,
        }
    }

    pub fn create(index: &str, collection: &str, id: &str, document: Value) -> Self {
        Self::new(index, collection, Some(id), Operation::Create { document })
    }

    pub fn create_or_replace(index: &str, collection: &str, id: &str, document: Value) -> Self {
        Self::new(
            index,
            collection,
            Some(id),
            Operation::CreateOrReplace { document },
        )
    }

    pub fn replace(index: &str, collection: &str, id: &str, document: Value) -> Self {
        Self::new(index, collection, Some(id), Operation::Replace { document })
    }

    pub fn update(index: &str, collection: &str, id: &str, changes: Value) -> Self {
        Self::new(index, collection, Some(id), Operation::Update { changes })
    }

    pub fn upsert(index: &str, collection: &str, id: &str, changes: Value, default: Value) -> Self {
        Self::new(
            index,
            collection,
            Some(id),
            Operation::Upsert { changes, default },
        )
    }

    pub fn delete(index: &str, collection: &str, id: &str) -> Self {
        Self::new(index, collection, Some(id), Operation::Delete)
    }
}

/// The verb of a document notification (`action`), with its `event`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Create,
    Replace,
    Update,
    Delete,
    Publish,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Replace => "replace",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Publish => "publish",
        }
    }

    /// The notification's `event`: `write`, `delete` or `publish`.
    pub fn event(self) -> &'static str {
        match self {
            Action::Create | Action::Replace | Action::Update => "write",
            Action::Delete => "delete",
            Action::Publish => "publish",
        }
    }
}

/// Why a change was refused. Nothing was written or notified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeError {
    /// The document does not exist (Kuzzle: 404 `services.storage.not_found`).
    NotFound {
        id: String,
    },
    /// `create` of an existing document (400 `services.storage.document_already_exists`).
    AlreadyExists {
        id: String,
    },
    /// An operation other than `create` without an id.
    MissingId,
    /// A body that is not a JSON object (the named part: `body`, `changes`, `default`).
    NotAnObject {
        what: &'static str,
    },
    /// The new version of the document would be outside the writer's restriction (403).
    OutsideRestriction {
        id: String,
    },
    Store(StoreError),
}

impl fmt::Display for ChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangeError::NotFound { id } => write!(f, "document \"{id}\" not found"),
            ChangeError::AlreadyExists { id } => write!(f, "document \"{id}\" already exists"),
            ChangeError::MissingId => f.write_str("missing document id"),
            ChangeError::NotAnObject { what } => write!(f, "{what} must be an object"),
            ChangeError::OutsideRestriction { id } => {
                write!(
                    f,
                    "document \"{id}\" would be outside the writer's restriction"
                )
            }
            ChangeError::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ChangeError {}

impl From<StoreError> for ChangeError {
    fn from(e: StoreError) -> ChangeError {
        ChangeError::Store(e)
    }
}

/// The result of an applied change (what a document response needs).
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub id: String,
    pub action: Action,
    /// Whether the change created the document.
    pub created: bool,
    /// The document's version after the change (for a delete: the deleted version).
    pub version: u64,
    /// The full document after the change (for a delete: as it was).
    pub source: Value,
    /// For updates: the dotted paths of the partial body.
    pub updated_fields: Option<Vec<String>>,
    /// Channels notified (all scopes together).
    pub channels_notified: usize,
}

/// What applying a change amounts to.
pub(crate) enum Plan {
    Write {
        document: Value,
        version: u64,
        action: Action,
        created: bool,
        updated_fields: Option<Vec<String>>,
    },
    Delete {
        previous: StoredDocument,
    },
}

/// Who wrote, for `_kuzzle_info`.
pub(crate) struct Stamp<'a> {
    pub author: &'a str,
    pub timestamp: u64,
}

/// Computes the new state of a document.
pub(crate) fn plan(
    id: &str,
    previous: Option<StoredDocument>,
    operation: &Operation,
    stamp: &Stamp<'_>,
) -> Result<Plan, ChangeError> {
    let next_version = previous.as_ref().map_or(1, |p| p.version.saturating_add(1));
    match (operation, previous) {
        (Operation::Create { .. }, Some(_)) => Err(ChangeError::AlreadyExists { id: id.into() }),
        (Operation::Create { document }, None)
        | (Operation::CreateOrReplace { document }, None) => Ok(Plan::Write {
            document: fresh(document, "body", stamp)?,
            version: 1,
            action: Action::Create,
            created: true,
            updated_fields: None,
        }),
        (Operation::CreateOrReplace { document }, Some(previous))
        | (Operation::Replace { document }, Some(previous)) => Ok(Plan::Write {
            document: replaced(document, &previous.document, stamp)?,
            version: next_version,
            action: Action::Replace,
            created: false,
            updated_fields: None,
        }),
        (Operation::Update { changes }, Some(previous))
        | (Operation::Upsert { changes, .. }, Some(previous)) => {
            let document = updated(previous.document, changes, stamp)?;
            Ok(Plan::Write {
                document,
                version: next_version,
                action: Action::Update,
                created: false,
                updated_fields: Some(updated_fields(changes)),
            })
        }
        (Operation::Upsert { changes, default }, None) => {
            let Value::Object(_) = changes else {
                return Err(ChangeError::NotAnObject { what: "changes" });
            };
            let base = match default {
                Value::Object(_) => default.clone(),
                Value::Null => Value::Object(Map::new()),
                _ => return Err(ChangeError::NotAnObject { what: "default" }),
            };
            let mut document = base;
            merge(&mut document, changes);
            Ok(Plan::Write {
                document: fresh(&document, "body", stamp)?,
                version: 1,
                action: Action::Create,
                created: true,
                updated_fields: None,
            })
        }
        (Operation::Delete, Some(previous)) => Ok(Plan::Delete { previous }),
        (Operation::Replace { .. }, None)
        | (Operation::Update { .. }, None)
        | (Operation::Delete, None) => Err(ChangeError::NotFound { id: id.into() }),
    }
}

/// A new document: the body with a fresh `_kuzzle_info` (a client-supplied one is replaced).
fn fresh(body: &Value, what: &'static str, stamp: &Stamp<'_>) -> Result<Value, ChangeError> {
    let Value::Object(map) = body else {
        return Err(ChangeError::NotAnObject { what });
    };
    let mut map = map.clone();
    map.insert(
        "_kuzzle_info".into(),
        serde_json::json!({
            "author": stamp.author,
            "createdAt": stamp.timestamp,
            "updatedAt": null,
            "updater": null,
        }),
    );
    Ok(Value::Object(map))
}

/// A replacement: the body, keeping the creation half of the previous `_kuzzle_info`.
fn replaced(body: &Value, previous: &Value, stamp: &Stamp<'_>) -> Result<Value, ChangeError> {
    let Value::Object(map) = body else {
        return Err(ChangeError::NotAnObject { what: "body" });
    };
    let mut map = map.clone();
    map.insert("_kuzzle_info".into(), info_updated(previous, stamp));
    Ok(Value::Object(map))
}

/// The previous document with the changes merged in.
fn updated(previous: Value, changes: &Value, stamp: &Stamp<'_>) -> Result<Value, ChangeError> {
    let Value::Object(changes_map) = changes else {
        return Err(ChangeError::NotAnObject { what: "changes" });
    };
    let info = info_updated(&previous, stamp);
    let mut document = match previous {
        Value::Object(map) => Value::Object(map),
        _ => Value::Object(Map::new()),
    };
    let mut changes_map = changes_map.clone();
    changes_map.remove("_kuzzle_info");
    merge(&mut document, &Value::Object(changes_map));
    if let Value::Object(map) = &mut document {
        map.insert("_kuzzle_info".into(), info);
    }
    Ok(document)
}

fn info_updated(previous: &Value, stamp: &Stamp<'_>) -> Value {
    let old = previous.get("_kuzzle_info");
    let author = old
        .and_then(|i| i.get("author"))
        .cloned()
        .unwrap_or_else(|| Value::String(stamp.author.into()));
    let created = old
        .and_then(|i| i.get("createdAt"))
        .cloned()
        .unwrap_or(Value::from(stamp.timestamp));
    serde_json::json!({
        "author": author,
        "createdAt": created,
        "updatedAt": stamp.timestamp,
        "updater": stamp.author,
    })
}

/// Recursive merge: objects merge key by key, anything else replaces.
pub(crate) fn merge(target: &mut Value, changes: &Value) {
    match (target, changes) {
        (Value::Object(target), Value::Object(changes)) => {
            for (key, value) in changes {
                match target.get_mut(key) {
                    Some(existing @ Value::Object(_)) if value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, changes) => *target = changes.clone(),
    }
}

/// `_updatedFields`: the dotted paths of a partial body. Nested non-empty objects become dotted
/// paths, arrays and empty objects are leaves, `_kuzzle_info` is skipped at every depth.
pub(crate) fn updated_fields(changes: &Value) -> Vec<String> {
    fn walk(prefix: &str, value: &Map<String, Value>, out: &mut Vec<String>) {
        for (key, v) in value {
            if key == "_kuzzle_info" {
                continue;
            }
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match v {
                Value::Object(inner) if !inner.is_empty() => walk(&path, inner, out),
                _ => out.push(path),
            }
        }
    }
    let mut out = Vec::new();
    if let Value::Object(map) = changes {
        walk("", map, &mut out);
    }
    out
}

/// A Kuzzle-like random document id: 20 characters of URL-safe base64.
pub(crate) fn generate_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..64)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_is_recursive_and_arrays_replace() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "x": 1});
        merge(&mut doc, &json!({"a": {"b": 5}, "l": [3], "y": {"z": 1}}));
        assert_eq!(
            doc,
            json!({"a": {"b": 5, "c": 2}, "l": [3], "x": 1, "y": {"z": 1}})
        );
    }

    #[test]
    fn updated_fields_flatten_objects_and_skip_kuzzle_info() {
        let fields = updated_fields(&json!({
            "a": {"b": 1, "c": {"d": [1]}},
            "e": [ {"f": 1} ],
            "g": {},
            "_kuzzle_info": {"author": "x"},
            "h": {"_kuzzle_info": 1, "i": null}
        }));
        assert_eq!(fields, vec!["a.b", "a.c.d", "e", "g", "h.i"]);
    }

    #[test]
    fn generated_ids_look_like_kuzzle_ids() {
        let id = generate_id();
        assert_eq!(id.len(), 20);
        assert_ne!(id, generate_id());
    }
}
