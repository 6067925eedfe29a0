//! The signaling protocol between the browser and the server: JSON text frames over
//! the WebSocket at `/ws`. Both sides compile these types, so they cannot drift apart.
//! PROTOCOL.md next to this file describes the exchange for people.
//!
//! Every message is an object whose `type` field names its kind. The server stamps
//! who a relayed message is from; a client never says who it is.

use crate::room_code::RoomCode;
use serde::{Deserialize, Serialize};
use std::fmt;
use tag_first::tag_first_enum;

mod chat;
mod endings;
mod media;
mod meeting;
mod signal;
pub mod tag_first;
mod tiles;
pub use chat::{clean_chat_text, ChatMessage, ChatTextError, CHAT_HISTORY, MAX_CHAT_CHARS};
pub use endings::{ErrorCode, LeaveReason};
pub use media::{MediaState, StreamId, MAX_STREAM_ID_CHARS};
pub use meeting::{Access, Dismissal, Knock, KnockOutcome, MeetingSettings, Role};
pub use signal::{
    Signal, TooLarge, MAX_CANDIDATE_BYTES, MAX_MEDIA_SDP_BYTES, MAX_SDP_BYTES, MAX_SDP_MID_BYTES,
};
pub use tiles::{
    simulcast_layer, ShownTile, SlotCarries, MAX_SHOWN_TILES, SIMULCAST_LAYERS,
    SIMULCAST_SCALE_DOWN,
};

/// Bumped whenever a message changes incompatibly. A client sends the version it
/// speaks in [`ClientMessage::Join`]; the server refuses other versions.
pub const PROTOCOL_VERSION: u32 = 5;

/// Longest display name accepted, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 40;

/// A participant's id, assigned by the server when they join. Ids are never reused,
/// also across restarts of the server (it reserves them in its database), and a
/// participant keeps theirs when they resume their session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(pub u64);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Someone in the room, as the others see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    pub id: PeerId,
    pub name: String,
    pub media: MediaState,
    /// Their raised hand's place in the room's queue (smaller went up earlier), or
    /// `None` when their hand is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand: Option<HandPlace>,
    /// Whether they are a host or co-host (absent: a participant).
    #[serde(default, skip_serializing_if = "Role::is_participant")]
    pub role: Role,
}

/// When a hand went up, as a place in the room's order: the server counts up.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct HandPlace(pub u64);

/// Which RTCPeerConnection between two participants a signal belongs to. It starts at
/// 0 and goes up each time the connection is rebuilt, so that what was meant for a
/// connection that is gone is recognised and dropped.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Epoch(pub u32);

/// One entry of RTCConfiguration.iceServers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Which ICE candidates the browser may use (RTCConfiguration.iceTransportPolicy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IceTransportPolicy {
    /// Direct paths when they work, the TURN relay otherwise.
    #[default]
    All,
    /// Only the TURN relay (hides participants' addresses from each other).
    Relay,
}

/// How a meeting's media travels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// Straight between browsers: a connection to each other participant.
    #[default]
    Mesh,
    /// Through the server's forwarding unit: one connection to the server
    /// (`sfu_offer`), which sends each participant the others' tracks.
    Sfu,
}

/// What a browser sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Enter a room. Must be the first message; allowed once per connection.
    Join {
        version: u32,
        room: RoomCode,
        name: String,
        #[serde(default)]
        media: MediaState,
    },
    /// Come back to a room after the connection dropped (or the server restarted),
    /// keeping the peer id: `token` is the one from the welcome (or the last
    /// `resumed`), `last_seen` the `seq` of the last message handled. The name and
    /// media are repeated for a server that restarted and no longer knows them.
    Resume {
        version: u32,
        room: RoomCode,
        token: String,
        last_seen: u64,
        name: String,
        #[serde(default)]
        media: MediaState,
        /// How the meeting's media travelled, for a server that restarted: a meeting
        /// that was going through the server comes back there, not through a mesh
        /// that no longer exists.
        #[serde(default)]
        transport: Transport,
    },
    /// Pass negotiation data to one peer in the same room.
    Signal {
        to: PeerId,
        #[serde(default)]
        epoch: Epoch,
        signal: Signal,
    },
    /// Tell the room that the microphone or camera was switched.
    Media { media: MediaState },
    /// Raise or lower your hand.
    Hand { raised: bool },
    /// Say something in the meeting's chat (plain text, at most [`MAX_CHAT_CHARS`]).
    Chat { text: String },
    /// "Still here": answered with `pong`. `seen` acknowledges every message up to
    /// that `seq`, so the server can forget them.
    Ping {
        #[serde(default)]
        seen: u64,
    },
    /// Leave the room (or stop asking to join); the server then closes the connection.
    Leave,
    /// Let someone asking to join in (hosts, or anyone while no host is in).
    Admit { id: PeerId },
    /// Let everyone asking to join in.
    AdmitAll,
    /// Turn someone asking to join away.
    Deny { id: PeerId },
    /// Take someone out of the meeting: their session ends, and they must ask to join
    /// to come back.
    Remove { id: PeerId },
    /// Turn off someone's microphone and/or camera; only they can turn them back on.
    TurnOff {
        id: PeerId,
        #[serde(default)]
        microphone: bool,
        #[serde(default)]
        camera: bool,
    },
    /// Turn off the microphone of everyone a host may act on.
    MuteEveryone,
    /// End the meeting for everyone in it and everyone asking to join.
    EndMeeting,
    /// Make someone a co-host (`co_host`) or take it back (`participant`). Hosts only.
    SetRole { id: PeerId, role: Role },
    /// Change the meeting's settings.
    ChangeSettings { settings: MeetingSettings },
    /// Open (or open again) this participant's one connection to the server's media
    /// port: the offer, answered with `sfu_answer`.
    SfuOffer { sdp: String },
    /// The answer to the server's `sfu_offer` (tracks of others added or stopped).
    SfuAnswer { sdp: String },
    /// Everyone this participant sees now comes through `transport` (after a
    /// `transport_changed`, or a welcome): the old way may close once all say so.
    TransportReady { transport: Transport },
    /// The cameras this participant shows now, and how large (sent while their media
    /// comes through the server, whenever a tile's size changes): the server sends
    /// each camera in the layer that fits its tile, and nothing for a tile of height 0.
    /// A camera not listed is sent in its best layer.
    TilesShown { tiles: Vec<ShownTile> },
}

/// How the server limits one connection, told in the welcome so that the client can
/// keep within them instead of having messages dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLimits {
    /// Messages per second (bursts of twice as many pass).
    pub messages_per_second: u32,
    /// How long the server keeps a participant whose connection dropped, in ms.
    pub resume_grace_ms: u64,
    /// The most video one participant should send in all, over every connection, in
    /// kbit/s (absent from older servers: the client's default then).
    #[serde(default = "default_video_upload_kbps")]
    pub video_upload_kbps: u32,
}

fn default_video_upload_kbps() -> u32 {
    crate::call::video_budget::DEFAULT_BUDGET_KBPS
}

/// A server message as it travels: room messages (joins, leaves, signals, media)
/// carry a `seq`, counting up by one per participant, so that after a resume they are
/// replayed in order and exactly once. Replies (welcome, resumed, pong, errors) have
/// none. On the wire the number is the object's first field: `{"seq":12,"type":…}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delivery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(flatten)]
    pub message: ServerMessage,
}

impl Delivery {
    /// How a numbered message begins on the wire; the number follows.
    pub const SEQ_PREFIX: &'static str = "{\"seq\":";

    /// Reads a message as the server sends it. The `seq` is read from the front, where
    /// the server puts it, and the message itself as a [`ServerMessage`] (which passes
    /// over the `seq` field). Reading it with `#[serde(flatten)]` instead would build a
    /// second copy of the whole message parser into the browser app.
    pub fn from_json(text: &str) -> serde_json::Result<Self> {
        let seq = text
            .strip_prefix(Self::SEQ_PREFIX)
            .map(|rest| {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                rest[..digits]
                    .parse::<u64>()
                    .map_err(serde::de::Error::custom)
            })
            .transpose()?;
        let message = serde_json::from_str(text)?;
        Ok(Self { seq, message })
    }
}

tag_first_enum! {
tag = "type";
/// What the server sends. Read tag first (see [`tag_first`]): the server always
/// writes `type` before the message's other fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerMessage {
    /// The answer to a successful join.
    Welcome {
        version: u32,
        /// Your id: the `from` the others see on what you send.
        you: PeerId,
        room: RoomCode,
        /// Everyone already in the room. The newcomer offers to each of them.
        peers: Vec<PeerInfo>,
        ice_servers: Vec<IceServer>,
        ice_transport_policy: IceTransportPolicy,
        /// Proves who you are when you come back with `resume`.
        token: String,
        limits: SessionLimits,
        /// What you may do here.
        #[serde(default)]
        role: Role,
        #[serde(default)]
        settings: MeetingSettings,
        /// Who is asking to join now.
        #[serde(default)]
        waiting: Vec<Knock>,
        /// How the meeting's media travels.
        #[serde(default)]
        transport: Transport,
    },
    /// The answer to a successful `resume`: the same id, everyone in the room now, and
    /// a fresh token. With `complete`, every room message since `last_seen` follows,
    /// in order; without (the server restarted), some may have been lost.
    Resumed {
        you: PeerId,
        peers: Vec<PeerInfo>,
        ice_servers: Vec<IceServer>,
        ice_transport_policy: IceTransportPolicy,
        token: String,
        limits: SessionLimits,
        complete: bool,
        #[serde(default)]
        role: Role,
        #[serde(default)]
        settings: MeetingSettings,
        #[serde(default)]
        waiting: Vec<Knock>,
        #[serde(default)]
        transport: Transport,
    },
    /// The answer to a `join` that must ask first: you wait until someone in the
    /// meeting admits you (then `welcome` follows) or denies you (`dismissed`).
    Waiting { id: PeerId },
    /// Someone is asking to join (sent to everyone in the meeting: who may admit
    /// depends on who is in it).
    Knocking { knock: Knock },
    /// Someone's asking to join ended; `by` admitted or denied them.
    KnockEnded {
        id: PeerId,
        outcome: KnockOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<PeerId>,
    },
    /// Your session here is over: removed, the meeting ended, or you were not let
    /// in. `by` names who did it. The server then closes the connection.
    Dismissed {
        reason: Dismissal,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// Someone's role changed (you too may be `id`).
    RoleChanged { id: PeerId, role: Role },
    /// `by` turned off your microphone and/or camera: turn them off (only you can
    /// turn them on again).
    TurnedOff {
        by: PeerId,
        #[serde(default)]
        microphone: bool,
        #[serde(default)]
        camera: bool,
    },
    /// `by` changed the meeting's settings.
    SettingsChanged { settings: MeetingSettings, by: PeerId },
    /// The answer to the participant's `sfu_offer` (a room message, so that it comes
    /// before any `sfu_offer` of the server's on that connection).
    SfuAnswer { sdp: String },
    /// The server's offer on the participant's media connection (a room message):
    /// others' tracks added or stopped. Answered with `sfu_answer`.
    SfuOffer { sdp: String },
    /// Who the participant's receive slots carry now (a room message): the server's
    /// lines on their media connection are a fixed pool, each carrying one person's
    /// camera or microphone at a time, and this says which.
    SfuSlots { slots: Vec<SlotCarries> },
    /// The meeting's media moves to `transport` (it grew past the mesh limit, or
    /// stayed small long enough): open it while the old way still plays, then say
    /// `transport_ready`.
    TransportChanged { transport: Transport },
    /// Everyone has moved to `transport` (or the wait for them ended): close the old
    /// way.
    TransportSettled { transport: Transport },
    /// Someone entered the room, or came back to it (then with an id already known).
    PeerJoined { peer: PeerInfo },
    /// Someone's connection dropped; they have a while to come back before they leave.
    PeerReconnecting { id: PeerId },
    /// Someone left the room, or their connection was lost for good.
    PeerLeft { id: PeerId, reason: LeaveReason },
    /// Negotiation data from a peer; `from` is set by the server.
    Signal {
        from: PeerId,
        #[serde(default)]
        epoch: Epoch,
        signal: Signal,
    },
    /// A peer switched their microphone or camera.
    Media { from: PeerId, media: MediaState },
    /// Someone raised (`hand` is their place in the queue) or lowered their hand;
    /// sent to everyone, the one who did it included (to learn their place).
    Hand {
        from: PeerId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hand: Option<HandPlace>,
    },
    /// A chat message, sent to everyone, the sender included (to learn its `id`).
    Chat { message: ChatMessage },
    /// The meeting's latest chat messages (at most [`CHAT_HISTORY`]), oldest first:
    /// after a welcome, and after a resume that may have missed messages. Some may
    /// also come as `chat`: the `id` tells them apart.
    ChatHistory { messages: Vec<ChatMessage> },
    /// The answer to `ping`.
    Pong,
    /// Something the client sent was refused. Unless the connection is then closed,
    /// the client may carry on.
    Error { code: ErrorCode, message: String },
}
}

/// The close code the server sends when it stops for a restart: come back soon.
pub const CLOSE_RESTARTING: u16 = 1012;

impl ServerMessage {
    /// An error reply.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
        }
    }
}

/// Checks and tidies a display name: trimmed, without control characters, and
/// between 1 and [`MAX_DISPLAY_NAME_CHARS`] characters.
pub fn clean_display_name(raw: &str) -> Option<String> {
    let name: String = raw.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    let len = name.chars().count();
    (1..=MAX_DISPLAY_NAME_CHARS)
        .contains(&len)
        .then(|| name.to_owned())
}

#[cfg(test)]
mod tests;
