//! Who may do what in a meeting: roles, the meeting's settings (who may come in, who
//! may present and chat), people asking to join, and what hosts do to others.

use super::PeerId;
use serde::{Deserialize, Serialize};

/// What someone may do in a meeting. The server decides it (from the host cookie of
/// the browser that started the meeting, or a host's grant); a client never claims it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Anyone let in.
    #[default]
    Participant,
    /// Made a host for this session by a host: may do what a host does, except to
    /// hosts and other co-hosts, and may not make co-hosts.
    CoHost,
    /// Started the meeting (their browser holds its host secret).
    Host,
}

impl Role {
    pub fn is_participant(&self) -> bool {
        *self == Self::Participant
    }

    /// Whether this role may admit, remove, mute, end and change settings at all.
    pub fn moderates(self) -> bool {
        self >= Self::CoHost
    }

    /// Whether someone of this role may remove, or turn off the microphone or camera
    /// of, someone of role `target`: hosts may so treat anyone but hosts, co-hosts
    /// only participants.
    pub fn may_act_on(self, target: Role) -> bool {
        match self {
            Self::Host => target != Self::Host,
            Self::CoHost => target == Self::Participant,
            Self::Participant => false,
        }
    }

    /// Whether this role may make others co-hosts or take it back.
    pub fn grants_roles(self) -> bool {
        self == Self::Host
    }
}

/// Who may come in with the link alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// The link is enough.
    #[default]
    Open,
    /// Everyone but hosts asks, and someone in the meeting admits them.
    AskToJoin,
}

impl Access {
    /// The name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::AskToJoin => "ask_to_join",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(Self::Open),
            "ask_to_join" => Some(Self::AskToJoin),
            _ => None,
        }
    }
}

/// A meeting's settings, which hosts change while it runs (kept with the meeting).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MeetingSettings {
    pub access: Access,
    /// "Let everyone present": otherwise only hosts and co-hosts may.
    pub everyone_may_present: bool,
    /// "Let everyone send chat messages": otherwise only hosts and co-hosts may.
    pub everyone_may_chat: bool,
}

impl Default for MeetingSettings {
    fn default() -> Self {
        Self {
            access: Access::Open,
            everyone_may_present: true,
            everyone_may_chat: true,
        }
    }
}

impl MeetingSettings {
    pub fn may_present(&self, role: Role) -> bool {
        self.everyone_may_present || role.moderates()
    }

    pub fn may_chat(&self, role: Role) -> bool {
        self.everyone_may_chat || role.moderates()
    }
}

/// Someone asking to join, as those who may admit them see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Knock {
    /// The id they get once admitted.
    pub id: PeerId,
    /// Their display name: plain text, like every name.
    pub name: String,
}

/// How someone's asking to join ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnockOutcome {
    Admitted,
    Denied,
    /// They stopped asking (cancelled, closed the page, or their connection dropped).
    Cancelled,
}

/// Why the server ended someone's session in the meeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dismissal {
    /// A host took them out of the meeting.
    Removed,
    /// A host ended the meeting for everyone.
    MeetingEnded,
    /// Their request to join was denied.
    Denied,
}
