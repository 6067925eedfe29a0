//! How things end on the wire: why a peer left, and the error codes of refusals.

use serde::{Deserialize, Serialize};

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
    /// A host removed them.
    Removed,
}

impl LeaveReason {
    /// The name on the wire, also used in the server's logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::TimedOut => "timed_out",
            Self::Dropped => "dropped",
            Self::Removed => "removed",
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
    /// A chat message that is empty or too long, or one of too many in a row; it
    /// was not sent.
    ChatRefused,
    /// A `resume` that cannot be honoured (unknown, expired or forged token, another
    /// room, or the session already ended): join afresh.
    ResumeRefused,
    /// A part of a signal over its documented size (an SDP, an ICE candidate); it was
    /// not relayed.
    TooLarge,
    /// The server holds as much for its participants as it may: a join is refused
    /// for now; try again shortly.
    ServerBusy,
    /// Something only hosts (or co-hosts) may do, or something the meeting's
    /// settings reserve to them; nothing changed.
    NotAllowed,
    /// So many people are asking to join this meeting already: try again shortly.
    WaitingRoomFull,
    /// An admit or deny for someone who is no longer asking to join.
    NotWaiting,
    /// A media message (`sfu_offer`, `sfu_answer`) the server could not take: it
    /// forwards no media, or the SDP was refused.
    MediaRefused,
}

impl ErrorCode {
    /// Whether trying the same again shortly may work (the meeting is full of one's
    /// own ghost from a dropped connection, or the server failed).
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::RoomFull
                | Self::Internal
                | Self::RateLimited
                | Self::ServerBusy
                | Self::WaitingRoomFull
        )
    }
}
