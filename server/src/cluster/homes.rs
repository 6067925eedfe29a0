//! Which node hosts each meeting (its home), in Redis. A meeting lives on one node at a
//! time: there its participants are numbered, its waiting room kept, its media
//! forwarded; participants whose WebSocket reached another node are relayed to it.
//!
//! `parley:room:CODE` names the home, leased: the home renews it twice a second while
//! the meeting has someone in it. `parley:alive:NODE` says a node is up, leased
//! shorter: a meeting whose home is no longer alive is taken over by the next node
//! asked about it (its participants then resume there, as after a restart).

use super::envelope::NodeId;
use app::room_code::RoomCode;
use std::time::Duration;

/// How long a node counts as alive after it last said so.
pub const ALIVE_FOR: Duration = Duration::from_secs(2);
/// How long a meeting stays with its home after the home last renewed it.
pub const HOME_LEASE: Duration = Duration::from_secs(10);
/// How often a node says it is alive and renews its meetings.
pub const RENEW_EVERY: Duration = Duration::from_millis(500);

pub fn room_key(code: &RoomCode) -> String {
    format!("parley:room:{code}")
}

pub fn alive_key(node: &NodeId) -> String {
    format!("{ALIVE_PREFIX}{node}")
}

pub const ALIVE_PREFIX: &str = "parley:alive:";

/// The meeting's home: the node named, while it is alive; else this node, which
/// claims it (and says it is alive with the same stroke: after Redis lost its keys,
/// a claim must not look like a dead node's to the next node that asks).
/// Returns `{home, 1 if just claimed}`.
/// KEYS[1] the meeting's key; ARGV: this node, the lease in ms, the alive prefix, how
/// long a node counts as alive in ms.
pub const HOME_OF: &str = r"
local home = redis.call('GET', KEYS[1])
if home == ARGV[1] then
  return {home, 0}
end
if home and redis.call('EXISTS', ARGV[3] .. home) == 1 then
  return {home, 0}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', ARGV[3] .. ARGV[1], 1, 'PX', ARGV[4])
return {ARGV[1], 1}
";

/// Renews the meeting's lease if this node is still its home, or takes it back if
/// nobody has it (Redis lost its keys, in a restart); 1 if so, 0 if another node
/// hosts it now. KEYS[1] the meeting's key; ARGV: this node, the lease in ms.
pub const RENEW: &str = r"
local home = redis.call('GET', KEYS[1])
if home == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not home then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// Gives the meeting up if this node is its home (a node that stops).
/// KEYS[1] the meeting's key; ARGV: this node.
pub const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";
