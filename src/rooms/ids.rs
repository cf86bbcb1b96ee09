//! Names: room ids, channel options and channel names.
//!
//! A room id must be the same on every process and machine (cluster nodes must agree without
//! talking), so it is a SHA-256 over a canonical byte string, never a counter or a random value:
//!
//! ```text
//! herald-room/1 \n <index as JSON string> \n <collection as JSON string> \n <canonical filter>
//! ```
//!
//! JSON string quoting makes the concatenation unambiguous (a quoted string cannot contain an
//! unescaped quote or newline), and the canonical filter is the filter crate's deterministic
//! canonical form, so logically equal filters on the same collection share a room and anything
//! else gets another one. Ids print as 64 lower-case hex digits, like Kuzzle's (though not equal
//! to Kuzzle's: clients treat them as opaque).
//!
//! A channel is a room plus its notification options. Its name follows Kuzzle's
//! `<roomId>-<users><cluster><scope>` scheme, with the recommended fix of the protocol notes
//! (section 4.2): `users:none` gets its own digit `4` instead of sharing `3` with `users:out`.

use std::fmt;
use std::str::FromStr;

use herald_filters::engine::CollectionName;
use herald_filters::{Canonical, FilterId};

/// A room's identity: (index, collection, canonical filter), hashed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(FilterId);

impl RoomId {
    /// The id of the room for a canonical filter on a collection.
    pub fn derive(collection: &CollectionName, canonical: &Canonical) -> RoomId {
        let mut text = String::from("herald-room/1\n");
        text.push_str(&json_string(&collection.index));
        text.push('\n');
        text.push_str(&json_string(&collection.collection));
        text.push('\n');
        canonical.write_canonical(&mut text);
        RoomId(FilterId::of_bytes(text.as_bytes()))
    }

    /// The id under which the room's filter is registered in the matcher (the same hash: a
    /// matcher hit names the room directly).
    pub fn filter_id(&self) -> FilterId {
        self.0
    }

    pub(crate) fn from_filter_id(id: FilterId) -> RoomId {
        RoomId(id)
    }

    /// 64 lower-case hex digits (the same as the filter id's).
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for &b in self.0.as_bytes() {
            s.push(char::from(DIGITS[usize::from(b >> 4)]));
            s.push(char::from(DIGITS[usize::from(b & 15)]));
        }
        s
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomId({})", self.0.to_hex())
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// A subscription option given a value outside all/in/out/none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidOption {
    /// `scope` or `users`.
    pub option: &'static str,
    pub value: String,
}

impl fmt::Display for InvalidOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value \"{}\" for \"{}\" (expected all, in, out or none)",
            self.value, self.option
        )
    }
}

impl std::error::Error for InvalidOption {}

/// Which document notifications a channel receives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Entering or staying in the filter (`in`), leaving it (`out`), and publishes.
    #[default]
    All,
    /// Documents in the filter after the change, and publishes.
    In,
    /// Documents leaving the filter, deletions included.
    Out,
    /// No document notification (presence only).
    None,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::All => "all",
            Scope::In => "in",
            Scope::Out => "out",
            Scope::None => "none",
        }
    }

    /// Whether a channel with this scope receives a notification of the given scope.
    pub fn accepts(self, notification: NotificationScope) -> bool {
        matches!(
            (self, notification),
            (Scope::All, _)
                | (Scope::In, NotificationScope::In)
                | (Scope::Out, NotificationScope::Out)
        )
    }

    fn digit(self) -> Option<char> {
        match self {
            Scope::All => Some('1'),
            Scope::In => Some('2'),
            Scope::Out => Some('3'),
            Scope::None => None,
        }
    }
}

impl FromStr for Scope {
    type Err = InvalidOption;

    fn from_str(s: &str) -> Result<Scope, InvalidOption> {
        match s {
            "all" => Ok(Scope::All),
            "in" => Ok(Scope::In),
            "out" => Ok(Scope::Out),
            "none" => Ok(Scope::None),
            _ => Err(InvalidOption {
                option: "scope",
                value: s.to_owned(),
            }),
        }
    }
}

/// The scope carried by one document notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotificationScope {
    In,
    Out,
}

impl NotificationScope {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationScope::In => "in",
            NotificationScope::Out => "out",
        }
    }
}

/// Which presence notifications a channel receives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UsersOption {
    All,
    In,
    Out,
    #[default]
    None,
}

impl UsersOption {
    pub fn as_str(self) -> &'static str {
        match self {
            UsersOption::All => "all",
            UsersOption::In => "in",
            UsersOption::Out => "out",
            UsersOption::None => "none",
        }
    }

    /// Whether a channel with this option hears about a member entering (`true`) or leaving.
    pub fn accepts(self, presence: Presence) -> bool {
        matches!(
            (self, presence),
            (UsersOption::All, _)
                | (UsersOption::In, Presence::In)
                | (UsersOption::Out, Presence::Out)
        )
    }

    fn digit(self) -> char {
        match self {
            UsersOption::All => '1',
            UsersOption::In => '2',
            UsersOption::Out => '3',
            // Kuzzle uses 3 here too (a quirk): a distinct digit keeps none and out apart.
            UsersOption::None => '4',
        }
    }
}

impl FromStr for UsersOption {
    type Err = InvalidOption;

    fn from_str(s: &str) -> Result<UsersOption, InvalidOption> {
        match s {
            "all" => Ok(UsersOption::All),
            "in" => Ok(UsersOption::In),
            "out" => Ok(UsersOption::Out),
            "none" => Ok(UsersOption::None),
            _ => Err(InvalidOption {
                option: "users",
                value: s.to_owned(),
            }),
        }
    }
}

/// A presence event: a connection entered or left a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Presence {
    In,
    Out,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::In => "in",
            Presence::Out => "out",
        }
    }
}

/// The options that, with a room, make a channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelOptions {
    pub scope: Scope,
    pub users: UsersOption,
}

impl ChannelOptions {
    pub fn new(scope: Scope, users: UsersOption) -> ChannelOptions {
        ChannelOptions { scope, users }
    }

    /// The channel name for these options in a room: `<roomId>-<users><cluster><scope>`.
    /// The cluster digit is always 1 (notifications from every node are delivered).
    pub fn channel_name(&self, room: &RoomId) -> String {
        let mut name = room.to_hex();
        name.push('-');
        name.push(self.users.digit());
        name.push('1');
        if let Some(d) = self.scope.digit() {
            name.push(d);
        }
        name
    }
}
