//! The signaling protocol between the browser and the server: JSON text frames over
//! the WebSocket at `/ws`. Both sides compile these types, so they cannot drift apart.
//! PROTOCOL.md next to this file describes the exchange for people.
//!
//! Every message is an object whose `type` field names its kind. The server stamps
//! who a relayed message is from; a client never says who it is.

use crate::room_code::RoomCode;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Bumped whenever a message changes incompatibly. A client sends the version it
/// speaks in [`ClientMessage::Join`]; the server refuses other versions.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest display name accepted, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 40;

/// A participant's id within the server, assigned by the server when the WebSocket
/// connects. Ids are never reused while the server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(pub u64);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Whether a participant's microphone and camera are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaState {
    pub audio: bool,
    pub video: bool,
}

impl Default for MediaState {
    fn default() -> Self {
        Self {
            audio: true,
            video: true,
        }
    }
}

/// Someone in the room, as the others see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    pub id: PeerId,
    pub name: String,
    pub media: MediaState,
}

/// WebRTC negotiation data, carried to one named peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// An SDP offer (RTCSessionDescription of type "offer").
    Offer { sdp: String },
    /// An SDP answer.
    Answer { sdp: String },
    /// A trickled ICE candidate. An empty `candidate` marks the end of candidates.
    Candidate {
        candidate: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_m_line_index: Option<u16>,
    },
}

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
    /// Pass negotiation data to one peer in the same room.
    Signal { to: PeerId, signal: Signal },
    /// Tell the room that the microphone or camera was switched.
    Media { media: MediaState },
    /// Leave the room; the server then closes the connection.
    Leave,
}

/// What the server sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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
    },
    /// Someone entered the room.
    PeerJoined { peer: PeerInfo },
    /// Someone left the room, or their connection was lost.
    PeerLeft { id: PeerId, reason: LeaveReason },
    /// Negotiation data from a peer; `from` is set by the server.
    Signal { from: PeerId, signal: Signal },
    /// A peer switched their microphone or camera.
    Media { from: PeerId, media: MediaState },
    /// Something the client sent was refused. Unless the connection is then closed,
    /// the client may carry on.
    Error { code: ErrorCode, message: String },
}

/// Why a peer left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// They left (or closed the tab).
    Left,
    /// Their connection stopped answering heartbeats.
    TimedOut,
    /// The server disconnected them (too slow to read, or breaking the limits).
    Dropped,
}

impl LeaveReason {
    /// The name on the wire, also used in the server's logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::TimedOut => "timed_out",
            Self::Dropped => "dropped",
        }
    }
}

/// Stable error codes. Clients switch on these; the message is for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not valid JSON, an unknown `type`, a missing field or a binary frame.
    BadMessage,
    /// The client speaks another protocol version.
    UnsupportedVersion,
    /// A frame above the server's size limit. The connection is closed (1009).
    FrameTooLarge,
    /// More messages per second than the server allows; the message was dropped.
    RateLimited,
    /// No meeting has this code.
    RoomNotFound,
    /// The meeting already has the most participants the server allows.
    RoomFull,
    /// A second join on the same connection.
    AlreadyJoined,
    /// A message that needs a room before joining one.
    NotJoined,
    /// A signal to a peer that is not in your room.
    UnknownPeer,
    /// The display name is empty or too long.
    BadName,
    /// The server failed; try again.
    Internal,
}

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
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_messages_have_a_stable_shape() {
        let join: ClientMessage = serde_json::from_value(json!({
            "type": "join", "version": 1, "room": "abc-defg-hij", "name": "Ada"
        }))
        .unwrap();
        assert_eq!(
            join,
            ClientMessage::Join {
                version: 1,
                room: RoomCode::parse("abc-defg-hij").unwrap(),
                name: "Ada".into(),
                media: MediaState::default(),
            }
        );
        let signal = ClientMessage::Signal {
            to: PeerId(7),
            signal: Signal::Candidate {
                candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
                sdp_mid: Some("0".into()),
                sdp_m_line_index: Some(0),
            },
        };
        assert_eq!(
            serde_json::to_value(&signal).unwrap(),
            json!({"type": "signal", "to": 7, "signal": {
                "kind": "candidate",
                "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
                "sdp_mid": "0", "sdp_m_line_index": 0
            }})
        );
    }

    #[test]
    fn server_messages_have_a_stable_shape() {
        let left = ServerMessage::PeerLeft {
            id: PeerId(3),
            reason: LeaveReason::TimedOut,
        };
        assert_eq!(
            serde_json::to_value(&left).unwrap(),
            json!({"type": "peer_left", "id": 3, "reason": "timed_out"})
        );
        for reason in [
            LeaveReason::Left,
            LeaveReason::TimedOut,
            LeaveReason::Dropped,
        ] {
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                json!(reason.as_str())
            );
        }
        let error = ServerMessage::error(ErrorCode::RoomFull, "full");
        assert_eq!(
            serde_json::to_value(&error).unwrap(),
            json!({"type": "error", "code": "room_full", "message": "full"})
        );
    }

    #[test]
    fn bad_input_is_refused_not_misread() {
        for bad in [
            r#"{"type":"join","version":1,"room":"NOT A CODE","name":"x"}"#,
            r#"{"type":"fly"}"#,
            r#"{"type":"signal","to":"me","signal":{"kind":"offer","sdp":""}}"#,
            r#"{"type":"signal","to":1,"from":2}"#,
            r#"[1,2,3]"#,
            "",
        ] {
            assert!(serde_json::from_str::<ClientMessage>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_names_are_checked() {
        assert_eq!(clean_display_name("  Ada "), Some("Ada".into()));
        assert_eq!(clean_display_name("A\u{7}da"), Some("Ada".into()));
        assert_eq!(clean_display_name("   "), None);
        assert_eq!(clean_display_name(&"é".repeat(40)), Some("é".repeat(40)));
        assert_eq!(clean_display_name(&"é".repeat(41)), None);
    }
}
