//! The `index` controller: `create`, `delete`, `exists`, `list`, `mDelete`.
//!
//! Herald stores documents, not search indexes: an index is a registered name holding
//! collections. Clients written for Kuzzle create their index and collections before
//! anything else, so these answer as Kuzzle does (same results, same errors); documents may
//! also be written to a collection never created, which registers it (Kuzzle would answer 412).

use serde_json::{json, Value};

use super::{body_object, required_str, Context, KuzzleError, Request};
use crate::store::StoreError;

/// `None` if the action does not exist.
pub fn handle(ctx: &Context<'_>, request: &Request) -> Option<Result<Value, KuzzleError>> {
    Some(match request.action.as_str() {
        "create" => create(ctx, request),
        "delete" => delete(ctx, request),
        "exists" => exists(ctx, request),
        "list" => list(ctx),
        "mDelete" => delete_many(ctx, request),
        _ => return None,
    })
}

/// Kuzzle's (Elasticsearch's) naming rule for indexes and collections: not empty, at most
/// 126 bytes, lowercase, none of `\/*?"<>| \t\r\n,+#:%.&` nor any control character.
pub(super) fn valid_name(name: &str) -> bool {
    const FORBIDDEN: &str = "\\/*?\"<>| \t\r\n,+#:%.&";
    !name.is_empty()
        && name.len() <= 126
        && !name
            .chars()
            .any(|c| c.is_uppercase() || c.is_control() || FORBIDDEN.contains(c))
}

pub(super) fn storage_error(e: StoreError) -> KuzzleError {
    KuzzleError::from_store(&e)
}

fn create(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    let index = required_str(request, "index")?;
    if !valid_name(index) {
        return Err(KuzzleError::invalid_index_name(&super::shown(index)));
    }
    if !ctx.hub.names().create(index, None).map_err(storage_error)? {
        return Err(KuzzleError::index_already_exists(index));
    }
    Ok(json!({"acknowledged": true, "shards_acknowledged": true}))
}

fn delete(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    let index = required_str(request, "index")?;
    if !ctx.hub.names().delete(index, None).map_err(storage_error)? {
        return Err(KuzzleError::unknown_index(index));
    }
    Ok(json!({"acknowledged": true}))
}

fn exists(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    let index = required_str(request, "index")?;
    let exists = ctx.hub.names().exists(index, None).map_err(storage_error)?;
    Ok(Value::Bool(exists))
}

fn list(ctx: &Context<'_>) -> Result<Value, KuzzleError> {
    let catalog = ctx.hub.names().catalog().map_err(storage_error)?;
    let indexes: Vec<&String> = catalog.keys().collect();
    Ok(json!({"indexes": indexes}))
}

/// `body.indexes`: deletes those that exist, answers which were deleted.
fn delete_many(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    let body = body_object(request)?;
    let indexes = match body.get("indexes") {
        None | Some(Value::Null) => return Err(KuzzleError::missing_argument("body.indexes")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(KuzzleError::invalid_type("body.indexes", "array")),
    };
    let mut deleted = Vec::new();
    for index in indexes {
        let Some(name) = index.as_str() else {
            return Err(KuzzleError::invalid_type("body.indexes", "string[]"));
        };
        if ctx.hub.names().delete(name, None).map_err(storage_error)? {
            deleted.push(name);
        }
    }
    Ok(json!({"deleted": deleted}))
}
