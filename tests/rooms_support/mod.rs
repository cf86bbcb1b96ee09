//! Shared helpers of the room engine's integration tests: a hub with in-memory queues, clients
//! that read their frames back as JSON.
#![allow(dead_code)]

use std::sync::Arc;

use herald::delivery::{ConnectionId, Inbox, Queues};
use herald::notify::{Hub, HubConfig, Origin, Subscription};
use herald::rooms::{ChannelOptions, Scope, UsersOption};
use herald::store::{DocumentStore, MemoryStore};
use serde_json::{json, Value};

pub const INDEX: &str = "idx";
pub const COLLECTION: &str = "col";

pub struct Harness {
    pub hub: Hub,
    pub queues: Arc<Queues>,
}

pub struct Client {
    pub id: ConnectionId,
    pub inbox: Inbox,
}

impl Client {
    /// Every frame queued for this client, parsed.
    pub fn frames(&mut self) -> Vec<Value> {
        self.inbox
            .drain()
            .iter()
            .map(|f| serde_json::from_slice(f).expect("frames are JSON"))
            .collect()
    }
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_store(Arc::new(MemoryStore::new()), 10_000)
    }

    pub fn with_store(store: Arc<dyn DocumentStore>, capacity: usize) -> Harness {
        let queues = Arc::new(Queues::new(capacity));
        let config = HubConfig {
            node: "node-1".into(),
            ..HubConfig::default()
        };
        let hub = Hub::new(config, store, queues.clone());
        Harness { hub, queues }
    }

    pub fn client(&self) -> Client {
        let id = self.hub.connect(None);
        let inbox = self.queues.open(id);
        Client { id, inbox }
    }

    pub fn subscribe(
        &self,
        client: &Client,
        filter: Value,
        options: ChannelOptions,
    ) -> Subscription {
        self.hub
            .subscribe(
                client.id,
                &origin("realtime"),
                INDEX,
                COLLECTION,
                &filter,
                options,
            )
            .expect("valid subscription")
    }

    pub fn write(&self, change: herald::notify::DocumentChange) -> herald::notify::Applied {
        self.hub
            .apply(&origin("document"), &change)
            .expect("change applies")
    }
}

pub fn origin(controller: &str) -> Origin {
    Origin::new(controller)
        .with_request_id("req-1")
        .with_volatile(json!({"sdkInstanceId": "writer"}))
}

pub fn opts(scope: Scope, users: UsersOption) -> ChannelOptions {
    ChannelOptions::new(scope, users)
}

pub const SCOPES: [Scope; 4] = [Scope::All, Scope::In, Scope::Out, Scope::None];
pub const USERS: [UsersOption; 4] = [
    UsersOption::All,
    UsersOption::In,
    UsersOption::Out,
    UsersOption::None,
];

pub fn red() -> Value {
    json!({"equals": {"color": "red"}})
}
