//! A few blocking Redis connections, each bounded in time.
//!
//! The engine is synchronous (the server runs its calls where blocking is allowed), so the
//! store talks to Redis with the `redis` crate's blocking connections. Every connect, read and
//! write has a timeout: a request made while Redis is unreachable fails within it with an
//! *unavailable* error (503 to the client) instead of hanging. A connection that failed is
//! dropped, and the next request connects anew: reconnecting after a Redis restart needs
//! nothing else.

use std::time::Duration;

use parking_lot::Mutex;
use redis::{Client, Connection, RedisError};

use crate::store::StoreError;

/// Idle connections kept for reuse (more are opened under load, and closed after).
const MAX_IDLE: usize = 16;

pub(crate) struct Pool {
    client: Client,
    idle: Mutex<Vec<Connection>>,
    timeout: Duration,
}

impl Pool {
    pub(crate) fn new(client: Client, timeout: Duration) -> Pool {
        Pool {
            client,
            idle: Mutex::new(Vec::new()),
            timeout,
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Runs `op` on a connection; Redis errors become store errors (unreachable: unavailable).
    pub(crate) fn run<R>(
        &self,
        op: impl FnOnce(&mut Connection) -> redis::RedisResult<R>,
    ) -> Result<R, StoreError> {
        let idle = self.idle.lock().pop();
        let mut connection = match idle {
            Some(connection) => connection,
            None => self.connect()?,
        };
        match op(&mut connection) {
            Ok(value) => {
                let mut idle = self.idle.lock();
                if idle.len() < MAX_IDLE {
                    idle.push(connection);
                }
                Ok(value)
            }
            // A failed connection may hold half a reply: never reuse it.
            Err(e) => Err(store_error(&e)),
        }
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let connection = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(|e| StoreError::unavailable(format!("redis: {e}")))?;
        connection
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| connection.set_write_timeout(Some(self.timeout)))
            .map_err(|e| StoreError::unavailable(format!("redis: {e}")))?;
        Ok(connection)
    }
}

/// Unreachable, dropped or timed out: unavailable (nothing was acknowledged). Anything else
/// (a script error, a wrong type) is a plain store error.
pub(crate) fn store_error(e: &RedisError) -> StoreError {
    // LOADING (replaying the AOF after a restart), MASTERDOWN, TRYAGAIN: not serving yet.
    let not_ready = matches!(e.code(), Some("LOADING" | "MASTERDOWN" | "TRYAGAIN"));
    if e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || not_ready
    {
        StoreError::unavailable(format!("redis: {e}"))
    } else {
        StoreError(format!("redis: {e}"))
    }
}
