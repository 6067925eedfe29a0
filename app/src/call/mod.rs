//! A meeting as the room page shows it. The state here is plain data in signals, so
//! the server can render the page; the WebRTC work happens in [`browser`], which only
//! exists in the hydrated wasm client, following the rules in [`negotiation`] and
//! [`session`], which are plain Rust and tested without a browser.

#[cfg(feature = "hydrate")]
pub mod browser;
pub mod chat;
pub mod details;
pub mod devices;
pub mod gallery;
pub mod negotiation;
pub mod route;
pub mod session;
pub mod slot_map;
pub mod speaking;
pub mod video_budget;

use crate::protocol::{
    ChatMessage, Dismissal, HandPlace, Knock, MediaState, MeetingSettings, PeerId, Role,
};
use devices::{Chosen, DeviceLists};
use leptos::prelude::*;

/// Where the local person is in the meeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Choosing a name before joining.
    Lobby,
    /// Asking for the camera and connecting.
    Joining,
    /// Asking to join, until someone in the meeting admits or denies them.
    Asking,
    InCall,
    /// Left on purpose; can rejoin.
    Left,
    /// Out of the meeting by someone else's doing (removed, not let in, the meeting
    /// ended), and who did it.
    Dismissed(Dismissal, Option<String>),
}

/// How the connection to someone stands, as their tile says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    /// Being set up, not yet connected.
    Connecting,
    Connected,
    /// Their connection to Parley, or ours to them, dropped; it is coming back.
    Reconnecting,
}

/// Someone else in the meeting. Each part is a signal of its own, so that a change to
/// one person touches only what shows that part of their tile.
#[derive(Clone, Copy, Debug)]
pub struct Remote {
    pub id: PeerId,
    pub name: RwSignal<String>,
    pub media: RwSignal<MediaState>,
    /// Goes up each time a different stream arrives from them (0: none yet); their
    /// `<video>` takes the stream then, and only then.
    pub stream: RwSignal<u32>,
    /// Likewise for the stream of their presentation; shown while their media state
    /// says they present.
    pub screen: RwSignal<u32>,
    pub status: RwSignal<LinkStatus>,
    /// Their raised hand's place in the queue, if raised.
    pub hand: RwSignal<Option<HandPlace>>,
    /// Whether they are speaking (steadied: see [`speaking`]).
    pub speaking: RwSignal<bool>,
    /// How the connection to them is made, read while someone looks at it.
    pub details: RwSignal<Option<details::ConnectionDetails>>,
    /// Whether they are a host or co-host.
    pub role: RwSignal<Role>,
}

impl Remote {
    pub fn new(info: crate::protocol::PeerInfo) -> Self {
        Self {
            id: info.id,
            name: RwSignal::new(info.name),
            media: RwSignal::new(info.media),
            stream: RwSignal::new(0),
            screen: RwSignal::new(0),
            status: RwSignal::new(LinkStatus::Connecting),
            hand: RwSignal::new(info.hand),
            speaking: RwSignal::new(false),
            details: RwSignal::new(None),
            role: RwSignal::new(info.role),
        }
    }

    /// Frees the signals (they were made outside any component).
    pub fn dispose(self) {
        self.name.dispose();
        self.media.dispose();
        self.stream.dispose();
        self.screen.dispose();
        self.status.dispose();
        self.hand.dispose();
        self.speaking.dispose();
        self.details.dispose();
        self.role.dispose();
    }
}

/// The signals the room page renders from, provided as context by the meeting page.
/// `Copy`, so every handler can hold it.
#[derive(Clone, Copy)]
pub struct CallState {
    pub phase: RwSignal<Phase>,
    /// Everyone else, in the order they came; the list changes only when someone
    /// comes or goes.
    pub remotes: RwSignal<Vec<Remote>>,
    /// What the local person is sending (their switches).
    pub my_media: RwSignal<MediaState>,
    /// Which devices the local person has at all.
    pub my_devices: RwSignal<MediaState>,
    /// The local person's raised hand's place in the queue, if raised.
    pub my_hand: RwSignal<Option<HandPlace>>,
    /// Whether the local person is speaking (and not muted).
    pub my_speaking: RwSignal<bool>,
    /// The name the local person joined with.
    pub my_name: RwSignal<String>,
    /// Goes up each time a local track comes, goes or is replaced (0: none yet); the
    /// self view shows the local stream again then.
    pub local_stream: RwSignal<u32>,
    /// The cameras, microphones and speakers there are.
    pub devices: RwSignal<DeviceLists>,
    /// The ones in use.
    pub chosen: RwSignal<Chosen>,
    /// How loud the microphone is, 0.0 to 1.0.
    pub mic_level: RwSignal<f32>,
    /// Whether the local person is talking with their microphone off.
    pub talking_while_muted: RwSignal<bool>,
    /// Whether connection details are on screen (they are read only then).
    pub details_shown: RwSignal<bool>,
    /// The local person's id in the meeting, once welcomed.
    pub my_id: RwSignal<Option<PeerId>>,
    /// The meeting's chat, oldest first.
    pub chat: RwSignal<Vec<ChatMessage>>,
    /// Whether the chat panel is open.
    pub chat_open: RwSignal<bool>,
    /// Messages from others that came while the chat panel was closed.
    pub chat_unread: RwSignal<u32>,
    /// Why the last message was not sent, until the next one is.
    pub chat_problem: RwSignal<Option<String>>,
    /// A lasting notice, such as "your camera is blocked".
    pub notice: RwSignal<Option<String>>,
    /// A problem with the meeting itself, such as the connection to Parley dropping.
    pub problem: RwSignal<Option<String>>,
    /// What the local person may do here.
    pub my_role: RwSignal<Role>,
    /// The meeting's settings (who may come in, present, chat).
    pub settings: RwSignal<MeetingSettings>,
    /// People asking to join, in the order they asked.
    pub waiting: RwSignal<Vec<Knock>>,
    /// The person this participant pinned large on the stage, if any.
    pub pinned: RwSignal<Option<PeerId>>,
    /// Which of the others the grid shows (a page of them) and where.
    pub gallery: RwSignal<gallery::Gallery>,
}

impl CallState {
    pub fn new() -> Self {
        Self {
            phase: RwSignal::new(Phase::Lobby),
            remotes: RwSignal::new(Vec::new()),
            my_media: RwSignal::new(MediaState::default()),
            my_devices: RwSignal::new(MediaState::default()),
            my_name: RwSignal::new(String::new()),
            my_hand: RwSignal::new(None),
            my_speaking: RwSignal::new(false),
            local_stream: RwSignal::new(0),
            devices: RwSignal::new(DeviceLists::default()),
            chosen: RwSignal::new(Chosen::default()),
            mic_level: RwSignal::new(0.0),
            talking_while_muted: RwSignal::new(false),
            details_shown: RwSignal::new(false),
            my_id: RwSignal::new(None),
            chat: RwSignal::new(Vec::new()),
            chat_open: RwSignal::new(false),
            chat_unread: RwSignal::new(0),
            chat_problem: RwSignal::new(None),
            notice: RwSignal::new(None),
            problem: RwSignal::new(None),
            my_role: RwSignal::new(Role::Participant),
            settings: RwSignal::new(MeetingSettings::default()),
            waiting: RwSignal::new(Vec::new()),
            pinned: RwSignal::new(None),
            gallery: RwSignal::new(gallery::Gallery::default()),
        }
    }

    /// Someone else is in the meeting now: a tile for them, last in the grid.
    pub fn add_remote(&self, remote: Remote) {
        self.gallery.try_update(|gallery| gallery.add(remote.id));
        self.remotes.try_update(|remotes| remotes.push(remote));
    }

    /// Someone else left: their tile goes (the caller disposes of it).
    pub fn remove_remote(&self, id: PeerId) -> Option<Remote> {
        let mut removed = None;
        self.remotes.try_update(|remotes| {
            if let Some(at) = remotes.iter().position(|r| r.id == id) {
                removed = Some(remotes.remove(at));
            }
        });
        self.gallery.try_update(|gallery| gallery.remove(id));
        removed
    }

    /// Whether the local person may let people in: hosts, or anyone while no host is
    /// in the meeting (the server's rule too).
    pub fn may_admit(&self) -> bool {
        may_admit(
            self.my_role.get(),
            self.remotes
                .with(|remotes| remotes.iter().map(|r| r.role.get()).collect::<Vec<_>>()),
        )
    }

    /// Someone's tile state, without subscribing to the list.
    pub fn remote(&self, id: PeerId) -> Option<Remote> {
        self.remotes
            .try_with_untracked(|remotes| remotes.iter().find(|r| r.id == id).copied())
            .flatten()
    }
}

/// A device the local person can switch on and off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    Microphone,
    Camera,
}

impl Device {
    /// This device's switch in `media`.
    pub fn is_on(self, media: MediaState) -> bool {
        match self {
            Self::Microphone => media.audio,
            Self::Camera => media.video,
        }
    }

    /// `media` with this device switched to `on`.
    pub fn set(self, media: MediaState, on: bool) -> MediaState {
        match self {
            Self::Microphone => MediaState { audio: on, ..media },
            Self::Camera => MediaState { video: on, ..media },
        }
    }
}

impl Default for CallState {
    fn default() -> Self {
        Self::new()
    }
}

/// Who has a hand up, first raised first: `(place, who)` pairs, `None` for the local
/// person, sorted by place.
pub fn raised_hands(
    mine: Option<HandPlace>,
    others: impl IntoIterator<Item = (PeerId, Option<HandPlace>)>,
) -> Vec<Option<PeerId>> {
    let mut hands: Vec<(HandPlace, Option<PeerId>)> = others
        .into_iter()
        .filter_map(|(id, hand)| hand.map(|place| (place, Some(id))))
        .chain(mine.map(|place| (place, None)))
        .collect();
    hands.sort();
    hands.into_iter().map(|(_, who)| who).collect()
}

/// Whether someone of role `mine` may admit people, with others of `roles` in the
/// meeting.
pub fn may_admit(mine: Role, roles: impl IntoIterator<Item = Role>) -> bool {
    mine.moderates() || !roles.into_iter().any(Role::moderates)
}

/// What a page says to someone dismissed from the meeting.
pub fn dismissal_text(reason: Dismissal, by: Option<&str>) -> String {
    match (reason, by) {
        (Dismissal::Removed, Some(by)) => format!("{by} removed you from the meeting"),
        (Dismissal::Removed, None) => "You were removed from the meeting".into(),
        (Dismissal::MeetingEnded, Some(by)) => format!("{by} ended the meeting for everyone"),
        (Dismissal::MeetingEnded, None) => "The meeting was ended for everyone".into(),
        (Dismissal::Denied, _) => "Someone in the meeting denied your request to join".into(),
    }
}

/// The first letter of a name, shown on a tile when the camera is off.
pub fn initial(name: &str) -> String {
    name.chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".to_owned())
}

/// The grid's column count for this many tiles on a landscape screen: a square-ish
/// layout like Meet's tiled one, up to seven columns (49 tiles on a screen).
pub fn grid_columns(tiles: usize) -> usize {
    match tiles {
        0 | 1 => 1,
        2..=4 => 2,
        5..=9 => 3,
        10..=16 => 4,
        17..=25 => 5,
        26..=36 => 6,
        _ => 7,
    }
}

/// The column count on a portrait screen (a phone held upright): two people stacked,
/// more in two columns.
pub fn grid_columns_portrait(tiles: usize) -> usize {
    if tiles <= 2 {
        1
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_and_grid() {
        assert_eq!(initial("ada"), "A");
        assert_eq!(initial("  élodie"), "É");
        assert_eq!(initial("😀"), "?");
        assert_eq!(grid_columns(1), 1);
        assert_eq!(grid_columns(2), 2);
        assert_eq!(grid_columns(4), 2);
        assert_eq!(grid_columns(8), 3);
        assert_eq!(grid_columns(16), 4);
        assert_eq!(grid_columns(25), 5);
        assert_eq!(grid_columns(36), 6);
        assert_eq!(grid_columns(49), 7);
        assert_eq!(grid_columns(100), 7);
        assert_eq!(grid_columns_portrait(2), 1);
        assert_eq!(grid_columns_portrait(3), 2);
        assert_eq!(grid_columns_portrait(8), 2);
    }

    #[test]
    fn anyone_admits_while_no_host_is_in() {
        use Role::*;
        assert!(may_admit(Host, [Participant]));
        assert!(may_admit(CoHost, [Host]));
        assert!(!may_admit(Participant, [Participant, CoHost]));
        assert!(may_admit(Participant, [Participant]));
        assert!(may_admit(Participant, []));
        assert_eq!(
            dismissal_text(Dismissal::Removed, Some("Hana")),
            "Hana removed you from the meeting"
        );
    }

    #[test]
    fn raised_hands_are_listed_first_raised_first() {
        let others = [
            (PeerId(1), Some(HandPlace(5))),
            (PeerId(2), None),
            (PeerId(3), Some(HandPlace(2))),
        ];
        assert_eq!(
            raised_hands(Some(HandPlace(4)), others),
            vec![Some(PeerId(3)), None, Some(PeerId(1))]
        );
        assert_eq!(raised_hands(None, []), Vec::<Option<PeerId>>::new());
    }
}
