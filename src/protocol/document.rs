//! The `document` controller: the write actions that notify, their batch (`m*`) forms, and
//! `get`/`exists`/`mGet` on the engine's store.
//!
//! Writes go through [`Hub::apply`](crate::notify::Hub::apply), which stores, matches and
//! queues every notification before returning: the response is therefore sent after the
//! notifications, as in Kuzzle. The caller's user id becomes the documents'
//! `_kuzzle_info.author` (rights are checked before, in [`super::access`]).

use serde_json::{json, Map, Value};

use super::access::Caller;
use super::{body_object, optional_str, required_str, Context, KuzzleError, Request};
use crate::notify::{Applied, ChangeError, DocumentChange, Operation};

/// `None` if the action does not exist.
pub fn handle(
    ctx: &Context<'_>,
    caller: &Caller,
    request: &Request,
) -> Option<Result<Value, KuzzleError>> {
    Some(match request.action.as_str() {
        "create" | "createOrReplace" | "replace" | "update" | "upsert" | "delete" => {
            single(ctx, caller, request)
        }
        "mCreate" | "mCreateOrReplace" | "mReplace" | "mUpdate" | "mUpsert" => {
            batch_write(ctx, caller, request)
        }
        "mDelete" => batch_delete(ctx, caller, request),
        "get" => get(ctx, caller, request),
        "exists" => exists(ctx, caller, request),
        "mGet" => batch_get(ctx, caller, request),
        _ => return None,
    })
}

fn change_error(
    e: ChangeError,
    caller: &Caller,
    request: &Request,
    index: &str,
    collection: &str,
) -> KuzzleError {
    match e {
        ChangeError::OutsideRestriction { .. } => caller.refusal_on(
            request,
            index,
            collection,
            "restricted: the document would be outside the restriction",
        ),
        ChangeError::NotFound { id } => KuzzleError::document_not_found(&id, index, collection),
        ChangeError::AlreadyExists { id } => KuzzleError::document_already_exists(&id),
        ChangeError::MissingId => KuzzleError::missing_argument("_id"),
        ChangeError::NotAnObject { what } => {
            let name = if what == "body" {
                "body".to_owned()
            } else {
                format!("body.{what}")
            };
            KuzzleError::invalid_type(&name, "object")
        }
        ChangeError::Store(e) => KuzzleError::from_store(&e),
    }
}

/// Longest document id (Elasticsearch's limit, hence Kuzzle's).
const MAX_ID_BYTES: usize = 512;

/// A client-supplied document id: not empty, at most [`MAX_ID_BYTES`].
fn checked_id(id: &str) -> Result<&str, KuzzleError> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(KuzzleError::invalid_argument(
            "_id",
            &format!("a non-empty string of at most {MAX_ID_BYTES} bytes"),
        ));
    }
    Ok(id)
}

/// The operation of a single-document action, from its body.
fn operation(action: &str, body: Option<&Value>) -> Result<Operation, KuzzleError> {
    let object = |value: Option<&Value>, name: &str| match value {
        None | Some(Value::Null) if name == "body" => Err(KuzzleError::body_required()),
        None | Some(Value::Null) => Err(KuzzleError::missing_argument(name)),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(_) => Err(KuzzleError::invalid_type(name, "object")),
    };
    Ok(match action {
        "create" | "mCreate" => Operation::Create {
            document: object(body, "body")?,
        },
        "createOrReplace" | "mCreateOrReplace" => Operation::CreateOrReplace {
            document: object(body, "body")?,
        },
        "replace" | "mReplace" => Operation::Replace {
            document: object(body, "body")?,
        },
        "update" | "mUpdate" => Operation::Update {
            changes: object(body, "body")?,
        },
        "upsert" | "mUpsert" => {
            let body = object(body, "body")?;
            let changes = object(body.get("changes"), "body.changes")?;
            let default = match body.get("default") {
                None | Some(Value::Null) => json!({}),
                Some(v) => object(Some(v), "body.default")?,
            };
            Operation::Upsert { changes, default }
        }
        _ => Operation::Delete,
    })
}

/// The result of one applied write, as Kuzzle answers it.
fn applied_json(applied: &Applied, action: &str) -> Value {
    if matches!(action, "delete" | "mDelete") {
        return json!({"_id": applied.id, "_source": applied.source});
    }
    let mut map = Map::new();
    map.insert("_id".into(), applied.id.clone().into());
    map.insert("_source".into(), applied.source.clone());
    map.insert("_version".into(), applied.version.into());
    if matches!(
        action,
        "createOrReplace" | "upsert" | "mCreateOrReplace" | "mUpsert"
    ) {
        map.insert("created".into(), applied.created.into());
    }
    if let Some(fields) = &applied.updated_fields {
        map.insert("_updatedFields".into(), json!(fields));
    }
    Value::Object(map)
}

fn single(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    let index = required_str(request, "index")?;
    let collection = required_str(request, "collection")?;
    let action = request.action.as_str();
    let id = if action == "create" {
        optional_str(request, "_id")?
    } else {
        Some(required_str(request, "_id")?)
    };
    let id = id.map(checked_id).transpose()?;
    let operation = operation(action, request.args.get("body"))?;
    let change = DocumentChange::new(index, collection, id, operation);
    let origin = caller.origin(ctx, request, "document");
    let applied = ctx
        .hub
        .apply(&origin, &change)
        .map_err(|e| change_error(e, caller, request, index, collection))?;
    if action == "delete" {
        return Ok(json!({"_id": applied.id}));
    }
    Ok(applied_json(&applied, action))
}

/// `body.documents` (writes) or `body.ids` (deletes, gets).
fn body_array<'a>(request: &'a Request, name: &str) -> Result<&'a Vec<Value>, KuzzleError> {
    let body = body_object(request)?;
    match body.get(name) {
        None | Some(Value::Null) => Err(KuzzleError::missing_argument(&format!("body.{name}"))),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(KuzzleError::invalid_type(&format!("body.{name}"), "array")),
    }
}

fn batch_write(
    ctx: &Context<'_>,
    caller: &Caller,
    request: &Request,
) -> Result<Value, KuzzleError> {
    let index = required_str(request, "index")?;
    let collection = required_str(request, "collection")?;
    let action = request.action.as_str();
    let items = body_array(request, "documents")?;
    let mut errors = Vec::new();
    // Parallel: the request's item of each change, for its error.
    let (mut applied_items, mut changes) = (Vec::new(), Vec::new());
    for item in items {
        let id = item.get("_id").and_then(Value::as_str);
        let body = if action == "mUpsert" {
            Some(item)
        } else {
            item.get("body")
        };
        let parsed = match id.map(checked_id).transpose() {
            Err(e) => Err(e),
            Ok(None) if action != "mCreate" => Err(KuzzleError::missing_argument("_id")),
            Ok(_) => operation(action, body),
        };
        match parsed {
            Ok(op) => {
                applied_items.push(item);
                changes.push(DocumentChange::new(index, collection, id, op));
            }
            Err(e) => {
                errors.push(json!({"document": item, "status": e.status, "reason": e.message}))
            }
        }
    }
    let origin = caller.origin(ctx, request, "document");
    let mut successes = Vec::new();
    // One batch: one store commit, notifications in order (`Hub::apply_batch`).
    let outcomes = ctx.hub.apply_batch(&origin, &changes);
    for (item, outcome) in applied_items.into_iter().zip(outcomes) {
        match outcome {
            Ok(applied) => successes.push(applied_json(&applied, action)),
            Err(e) => {
                let e = change_error(e, caller, request, index, collection);
                errors.push(json!({"document": item, "status": e.status, "reason": e.message}));
            }
        }
    }
    Ok(json!({"successes": successes, "errors": errors}))
}

/// A batch item's id, if it is a string `checked_id` accepts.
fn usable(id: &Value) -> Option<&str> {
    id.as_str().filter(|id| checked_id(id).is_ok())
}

fn batch_delete(
    ctx: &Context<'_>,
    caller: &Caller,
    request: &Request,
) -> Result<Value, KuzzleError> {
    let index = required_str(request, "index")?;
    let collection = required_str(request, "collection")?;
    let ids = body_array(request, "ids")?;
    let origin = caller.origin(ctx, request, "document");
    let changes: Vec<DocumentChange> = ids
        .iter()
        .filter_map(usable)
        .map(|id| DocumentChange::delete(index, collection, id))
        .collect();
    let mut outcomes = ctx.hub.apply_batch(&origin, &changes).into_iter();
    let mut successes = Vec::new();
    let mut errors = Vec::new();
    // In request order: ids that are not usable strings were left out of the batch.
    for id in ids {
        let Some(id) = usable(id) else {
            let reason = match id.as_str() {
                Some(s) => checked_id(s).err().map(|e| e.message).unwrap_or_default(),
                None => "the id must be a string".to_owned(),
            };
            errors.push(json!({"_id": id, "reason": reason}));
            continue;
        };
        match outcomes.next() {
            Some(Ok(_)) => successes.push(json!(id)),
            Some(Err(e)) => {
                let e = change_error(e, caller, request, index, collection);
                errors.push(json!({"_id": id, "reason": e.message}));
            }
            None => {}
        }
    }
    Ok(json!({"successes": successes, "errors": errors}))
}

/// A stored document as Kuzzle returns it; `None` if missing or, for a restricted caller,
/// outside its restriction (such documents do not exist for it).
fn lookup(
    ctx: &Context<'_>,
    caller: &Caller,
    request: &Request,
    id: &str,
) -> Result<Option<Value>, KuzzleError> {
    let index = required_str(request, "index")?;
    let collection = required_str(request, "collection")?;
    if checked_id(id).is_err() {
        return Ok(None);
    }
    let stored = ctx
        .hub
        .get(index, collection, id)
        .map_err(|e| change_error(e, caller, request, index, collection))?;
    let restriction = caller.restriction(request, index, collection)?;
    Ok(stored
        .filter(|s| restriction.is_none_or(|r| r.accepts(Some(id), &s.document)))
        .map(|s| json!({"_id": id, "_version": s.version, "_source": s.document})))
}

fn get(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    let index = required_str(request, "index")?;
    let collection = required_str(request, "collection")?;
    let id = required_str(request, "_id")?;
    lookup(ctx, caller, request, id)?
        .ok_or_else(|| KuzzleError::document_not_found(id, index, collection))
}

fn exists(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    let id = required_str(request, "_id")?;
    Ok(Value::Bool(lookup(ctx, caller, request, id)?.is_some()))
}

fn batch_get(ctx: &Context<'_>, caller: &Caller, request: &Request) -> Result<Value, KuzzleError> {
    required_str(request, "index")?;
    required_str(request, "collection")?;
    let ids = body_array(request, "ids")?;
    let mut successes = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        match id.as_str() {
            Some(s) => match lookup(ctx, caller, request, s)? {
                Some(doc) => successes.push(doc),
                None => errors.push(id.clone()),
            },
            None => errors.push(id.clone()),
        }
    }
    Ok(json!({"successes": successes, "errors": errors}))
}
