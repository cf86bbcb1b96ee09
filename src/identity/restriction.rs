//! A restricted user's view of one collection: the restriction filters of its rights that
//! apply there, compiled once.
//!
//! Restriction filters are row-level security: a user with `{"restrict": {"shop/*": F}}` may
//! read, infer and write only the documents of `shop/*` that match every such F. The rule is
//! applied at each place a document crosses the tenant boundary, always with
//! [`Restriction::accepts`]:
//!
//! * subscriptions: F is ANDed into the subscription's filter (a tenant's rooms hold only its
//!   documents), and the room remembers the restriction so that a scope `out` notification
//!   never carries a document that left the restriction (it is redacted to its `_id`);
//! * writes: the stored version (if any) and the new version must both be accepted, checked
//!   under the document's lock; a stored document outside the restriction is answered as if it
//!   did not exist, so that no answer tells an existing foreign id from a free one;
//! * reads (`get`, `exists`, `mGet`): documents outside the restriction do not exist;
//! * publishes: the message must be accepted.

use std::sync::Arc;

use herald_filters::{Options, Standardized};
use serde_json::Value;

use super::Rights;

/// The compiled restriction filters of one collection (all must match).
#[derive(Debug)]
pub struct Restriction {
    filters: Vec<Standardized>,
    /// The filters as written (saved with a room's history, to make the room again).
    sources: Vec<Value>,
    /// A filter failed to compile: nothing is accepted (an error never widens access).
    deny_all: bool,
}

impl Restriction {
    /// The restriction of `rights` on a collection; `None` when no restriction applies.
    pub fn of(rights: &Rights, index: &str, collection: &str) -> Option<Arc<Restriction>> {
        let filters = rights.restrictions(index, collection);
        if filters.is_empty() {
            return None;
        }
        let filters: Vec<Value> = filters.into_iter().cloned().collect();
        Some(Restriction::from_filters(&filters))
    }

    /// The restriction made of these filters (all must match).
    pub fn from_filters(filters: &[Value]) -> Arc<Restriction> {
        // Validated when the rights were read, so this fails only if the limits changed.
        let options = Options::default();
        let compiled: Result<Vec<Standardized>, _> = filters
            .iter()
            .map(|f| herald_filters::standardize(f, &options))
            .collect();
        let sources = filters.to_vec();
        Arc::new(match compiled {
            Ok(filters) => Restriction {
                filters,
                sources,
                deny_all: false,
            },
            Err(_) => Restriction {
                filters: Vec::new(),
                sources,
                deny_all: true,
            },
        })
    }

    /// The filters as written.
    pub fn sources(&self) -> &[Value] {
        &self.sources
    }

    /// Whether the document (its `_id` included, as filters see it) is inside the restriction.
    pub fn accepts(&self, id: Option<&str>, document: &Value) -> bool {
        let with_id;
        let document = match (document, id) {
            (Value::Object(map), Some(id)) if !map.contains_key("_id") => {
                let mut map = map.clone();
                map.insert("_id".into(), id.into());
                with_id = Value::Object(map);
                &with_id
            }
            _ => document,
        };
        !self.deny_all
            && self
                .filters
                .iter()
                .all(|f| herald_filters::eval::eval(f, document))
    }
}
