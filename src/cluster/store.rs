//! Document state in Redis: the cluster's implementation of [`DocumentStore`].
//!
//! # Keys
//!
//! ```text
//! herald:doc:<n>:<index>:<collection>:<id>   hash {v: version, s: JSON {document, rooms, version}}
//! herald:ids:<n>:<index>:<collection>        set of the collection's document ids
//! herald:indexes                             set of index names
//! herald:cols:<index>                        set of the index's collection names
//! ```
//!
//! `<n>` is the length of the index name, so that no two (index, collection) pairs share a key
//! whatever characters names contain.
//!
//! # Serialization across nodes
//!
//! A batch is committed by one Lua script ([`COMMIT`]): it checks that every document still
//! has the version the engine read (compare-and-set), then writes each state and PUBLISHes
//! each change, with the document's previous state appended, on its collection's channel.
//! Redis runs a script alone, so the writes of one document happen in version order, no two
//! nodes can both build on the same version (the loser gets a conflict and plans again), an
//! `m*` request is all or nothing, and the messages leave in the order of the writes. A
//! script's effects reach the AOF as one transaction.

use std::collections::BTreeSet;
use std::sync::Arc;

use redis::Script;

use super::pool::Pool;
use crate::notify::{Committed, Pending};
use crate::store::{decode, encode, Catalog, DocKey, DocumentStore, StoreError, StoredDocument};

const INDEXES: &str = "herald:indexes";

/// The collection part of keys and channels: `<n>:<index>:<collection>`.
pub(crate) fn collection_tag(index: &str, collection: &str) -> String {
    format!("{}:{index}:{collection}", index.len())
}

fn document_key(key: &DocKey) -> String {
    format!(
        "herald:doc:{}:{}",
        collection_tag(&key.index, &key.collection),
        key.id
    )
}

fn ids_key(index: &str, collection: &str) -> String {
    format!("herald:ids:{}", collection_tag(index, collection))
}

fn collections_key(index: &str) -> String {
    format!("herald:cols:{index}")
}

/// The pub/sub channel of a collection's changes and publishes.
pub(crate) fn channel(index: &str, collection: &str) -> String {
    format!("herald:chg:{}", collection_tag(index, collection))
}

/// KEYS: per step, the document's key and its collection's id set. ARGV: per step, the
/// expected version ('' = unchecked), the new version, the new state ('' = delete), the id,
/// the channel and the change ('' = silent). Returns 0 on a conflict (nothing written), 1.
const COMMIT: &str = r"
local steps = #KEYS / 2
local checked = {}
for i = 1, steps do
  local key = KEYS[2 * i - 1]
  local expected = ARGV[6 * (i - 1) + 1]
  if expected ~= '' and not checked[key] then
    checked[key] = true
    local version = tonumber(redis.call('HGET', key, 'v') or '0')
    if version ~= tonumber(expected) then return 0 end
  end
end
local current = {}
for i = 1, steps do
  local key, ids = KEYS[2 * i - 1], KEYS[2 * i]
  local at = 6 * (i - 1)
  local version, state, id = ARGV[at + 2], ARGV[at + 3], ARGV[at + 4]
  local channel, change = ARGV[at + 5], ARGV[at + 6]
  local previous = current[key]
  if previous == nil then previous = redis.call('HGET', key, 's') or '' end
  if change ~= '' then redis.call('PUBLISH', channel, change .. '\n' .. previous) end
  if state == '' then
    redis.call('DEL', key)
    redis.call('SREM', ids, id)
  else
    redis.call('HSET', key, 'v', version, 's', state)
    redis.call('SADD', ids, id)
  end
  current[key] = state
end
return 1
";

/// Documents removed per command when a collection is emptied.
const CHUNK: usize = 500;

/// Document state and the catalogue in Redis.
pub struct RedisStore {
    pool: Arc<Pool>,
    commit: Script,
}

impl RedisStore {
    pub(crate) fn new(pool: Arc<Pool>) -> RedisStore {
        RedisStore {
            pool,
            commit: Script::new(COMMIT),
        }
    }

    /// Commits a batch with a compare-and-set on each document's version, publishing each
    /// non-silent change in the same script.
    pub(crate) fn commit(&self, pending: &dyn Pending) -> Result<Committed, StoreError> {
        let steps = pending.steps();
        if steps.is_empty() {
            // Every change of the batch was refused while planning: nothing to write.
            return Ok(Committed::Sent);
        }
        let mut invocation = self.commit.prepare_invoke();
        for step in &steps {
            let state = match step.state {
                Some(state) => encode(state)?,
                None => Vec::new(),
            };
            let (index, collection) = (&step.key.index, &step.key.collection);
            invocation
                .key(document_key(step.key))
                .key(ids_key(index, collection))
                .arg(step.expected.map_or(String::new(), |v| v.to_string()))
                .arg(step.state.map_or(0, |s| s.version))
                .arg(state)
                .arg(&step.key.id)
                .arg(channel(index, collection))
                .arg(step.change.as_deref().unwrap_or_default());
        }
        let done: i64 = self.pool.run(|c| invocation.invoke(c))?;
        Ok(if done == 1 {
            Committed::Sent
        } else {
            Committed::Conflict
        })
    }

    /// Removes a collection's documents; returns how many there were.
    fn clear(&self, index: &str, collection: &str) -> Result<u64, StoreError> {
        let ids_key = ids_key(index, collection);
        let ids: Vec<String> = self
            .pool
            .run(|c| redis::cmd("SMEMBERS").arg(&ids_key).query(c))?;
        for chunk in ids.chunks(CHUNK) {
            let keys: Vec<String> = chunk
                .iter()
                .map(|id| document_key(&DocKey::new(index, collection, id)))
                .collect();
            self.pool.run(|c| {
                redis::pipe()
                    .atomic()
                    .del(&keys)
                    .srem(&ids_key, chunk)
                    .query::<()>(c)
            })?;
        }
        Ok(ids.len() as u64)
    }
}

impl DocumentStore for RedisStore {
    fn get(&self, key: &DocKey) -> Result<Option<StoredDocument>, StoreError> {
        let bytes: Option<Vec<u8>> = self
            .pool
            .run(|c| redis::cmd("HGET").arg(document_key(key)).arg("s").query(c))?;
        bytes.map(|b| decode(&b)).transpose()
    }

    fn get_batch(&self, keys: &[&DocKey]) -> Result<Vec<Option<StoredDocument>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("HGET").arg(document_key(key)).arg("s");
        }
        let states: Vec<Option<Vec<u8>>> = self.pool.run(|c| pipe.query(c))?;
        states
            .into_iter()
            .map(|b| b.map(|b| decode(&b)).transpose())
            .collect()
    }

    fn put(&self, key: &DocKey, value: &StoredDocument) -> Result<(), StoreError> {
        self.write_batch(&[(key, Some(value))])
    }

    fn remove(&self, key: &DocKey) -> Result<bool, StoreError> {
        let existed = self.get(key)?.is_some();
        self.write_batch(&[(key, None)])?;
        Ok(existed)
    }

    /// Unconditional writes in one transaction (the engine commits through [`Self::commit`]).
    fn write_batch(&self, writes: &[(&DocKey, Option<&StoredDocument>)]) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (key, state) in writes {
            let ids = ids_key(&key.index, &key.collection);
            match state {
                Some(state) => {
                    pipe.cmd("HSET")
                        .arg(document_key(key))
                        .arg("v")
                        .arg(state.version)
                        .arg("s")
                        .arg(encode(state)?)
                        .ignore();
                    pipe.sadd(ids, &key.id).ignore();
                }
                None => {
                    pipe.del(document_key(key)).ignore();
                    pipe.srem(ids, &key.id).ignore();
                }
            }
        }
        self.pool.run(|c| pipe.query::<()>(c))
    }

    fn len(&self) -> Result<u64, StoreError> {
        let catalog = self.catalog()?;
        let mut pipe = redis::pipe();
        for (index, collections) in &catalog {
            for collection in collections {
                pipe.scard(ids_key(index, collection));
            }
        }
        let counts: Vec<u64> = self.pool.run(|c| pipe.query(c))?;
        Ok(counts.into_iter().sum())
    }

    fn create(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic().sadd(INDEXES, index);
        if let Some(collection) = collection {
            pipe.sadd(collections_key(index), collection);
        }
        let added: Vec<u64> = self.pool.run(|c| pipe.query(c))?;
        Ok(match collection {
            Some(_) => added.get(1).copied().unwrap_or(0) > 0,
            None => added.first().copied().unwrap_or(0) > 0,
        })
    }

    fn catalog(&self) -> Result<Catalog, StoreError> {
        let indexes: Vec<String> = self
            .pool
            .run(|c| redis::cmd("SMEMBERS").arg(INDEXES).query(c))?;
        let mut pipe = redis::pipe();
        for index in &indexes {
            pipe.smembers(collections_key(index));
        }
        let collections: Vec<Vec<String>> = self.pool.run(|c| pipe.query(c))?;
        Ok(indexes
            .into_iter()
            .zip(collections)
            .map(|(index, collections)| (index, collections.into_iter().collect::<BTreeSet<_>>()))
            .collect())
    }

    fn delete(&self, index: &str, collection: Option<&str>) -> Result<bool, StoreError> {
        let catalog = self.catalog()?;
        let Some(collections) = catalog.get(index) else {
            return Ok(false);
        };
        match collection {
            Some(collection) => {
                if !collections.contains(collection) {
                    return Ok(false);
                }
                self.pool.run(|c| {
                    redis::cmd("SREM")
                        .arg(collections_key(index))
                        .arg(collection)
                        .query::<()>(c)
                })?;
                self.clear(index, collection)?;
            }
            None => {
                self.pool.run(|c| {
                    redis::pipe()
                        .atomic()
                        .srem(INDEXES, index)
                        .del(collections_key(index))
                        .query::<()>(c)
                })?;
                for collection in collections {
                    self.clear(index, collection)?;
                }
            }
        }
        Ok(true)
    }

    fn truncate(&self, index: &str, collection: &str) -> Result<u64, StoreError> {
        self.clear(index, collection)
    }
}
