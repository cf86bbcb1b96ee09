//! The `collection` controller: `create`, `delete`, `exists`, `list`, `truncate`, `refresh`,
//! `getMapping`, `updateMapping`.
//!
//! A collection is a registered name inside an index (see [`super::index`]). Mappings are
//! accepted and ignored: Herald does not type documents (`getMapping` answers an empty,
//! dynamic mapping). Deleting or truncating a collection removes its documents without
//! notifications, as in Kuzzle.

use serde_json::{json, Value};

use super::index::{storage_error, valid_name};
use super::{optional_str, required_str, Context, KuzzleError, Request};

/// `None` if the action does not exist.
pub fn handle(ctx: &Context<'_>, request: &Request) -> Option<Result<Value, KuzzleError>> {
    Some(match request.action.as_str() {
        "create" | "update" | "updateMapping" => create(ctx, request),
        "delete" => delete(ctx, request),
        "exists" => exists(ctx, request),
        "list" => list(ctx, request),
        "truncate" => truncate(ctx, request),
        "refresh" => names(request).map(|_| Value::Null),
        "getMapping" => get_mapping(ctx, request),
        _ => return None,
    })
}

fn names(request: &Request) -> Result<(&str, &str), KuzzleError> {
    Ok((
        required_str(request, "index")?,
        required_str(request, "collection")?,
    ))
}

/// Fails unless the collection is registered (with Kuzzle's error for what is missing).
fn existing(ctx: &Context<'_>, index: &str, collection: &str) -> Result<(), KuzzleError> {
    let names = ctx.hub.names();
    if names
        .exists(index, Some(collection))
        .map_err(storage_error)?
    {
        Ok(())
    } else if names.exists(index, None).map_err(storage_error)? {
        Err(KuzzleError::unknown_collection(index, collection))
    } else {
        Err(KuzzleError::unknown_index(index))
    }
}

/// Creates the collection, or leaves an existing one as it is (Kuzzle updates its mapping).
fn create(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    let (index, collection) = names(request)?;
    if request.action != "create" {
        existing(ctx, index, collection)?;
    } else if !ctx.hub.names().exists(index, None).map_err(storage_error)? {
        return Err(KuzzleError::unknown_index(index));
    }
    if !valid_name(collection) {
        return Err(KuzzleError::invalid_collection_name(&super::shown(
            collection,
        )));
    }
    ctx.hub
        .names()
        .create(index, Some(collection))
        .map_err(storage_error)?;
    Ok(json!({"acknowledged": true}))
}

fn delete(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    let (index, collection) = names(request)?;
    existing(ctx, index, collection)?;
    ctx.hub
        .names()
        .delete(index, Some(collection))
        .map_err(storage_error)?;
    Ok(json!({"acknowledged": true}))
}

fn exists(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    let (index, collection) = names(request)?;
    let exists = ctx
        .hub
        .names()
        .exists(index, Some(collection))
        .map_err(storage_error)?;
    Ok(Value::Bool(exists))
}

/// Stored collections (registered) and realtime ones (with subscriptions now), as Kuzzle
/// lists them; `type` selects `stored`, `realtime` or `all` (the default).
fn list(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    let index = required_str(request, "index")?;
    let kind = optional_str(request, "type")?.unwrap_or("all");
    if !matches!(kind, "all" | "stored" | "realtime") {
        return Err(KuzzleError::invalid_argument(
            "type",
            "all, stored or realtime",
        ));
    }
    let catalog = ctx.hub.names().catalog().map_err(storage_error)?;
    let stored = catalog.get(index);
    let rooms = ctx.hub.list();
    let realtime = rooms.get(index);
    if stored.is_none() && realtime.is_none() {
        return Err(KuzzleError::unknown_index(index));
    }
    let mut collections: Vec<Value> = Vec::new();
    if kind != "realtime" {
        collections.extend(
            stored
                .into_iter()
                .flatten()
                .map(|name| json!({"name": name, "type": "stored"})),
        );
    }
    if kind != "stored" {
        collections.extend(
            realtime
                .into_iter()
                .flat_map(|c| c.keys())
                .map(|name| json!({"name": name, "type": "realtime"})),
        );
    }
    Ok(json!({"type": kind, "collections": collections}))
}

fn truncate(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    let (index, collection) = names(request)?;
    existing(ctx, index, collection)?;
    ctx.hub
        .names()
        .truncate(index, collection)
        .map_err(storage_error)?;
    Ok(json!({"acknowledged": true}))
}

fn get_mapping(ctx: &Context<'_>, request: &Request) -> Result<Value, KuzzleError> {
    let (index, collection) = names(request)?;
    existing(ctx, index, collection)?;
    Ok(json!({"dynamic": "true", "_meta": {}, "properties": {}}))
}
