//! The meeting page's way to its call: [`CallHandle`], provided as context, holds the
//! local camera and microphone (from the lobby's preview on) and the live call (if
//! any), and is what the buttons, the menus, the shortcuts and the tiles use.

use super::local::{self, LocalMedia};
use super::Call;
use crate::call::devices::DeviceKind;
use crate::call::{CallState, Device, Phase};
use crate::protocol::{ClientMessage, PeerId};
use crate::room_code::RoomCode;
use futures_util::future::{FutureExt, LocalBoxFuture, Shared};
use leptos::prelude::*;
use std::rc::Rc;
use web_sys::MediaStream;

/// Where the display name is remembered between visits.
const NAME_KEY: &str = "parley.display_name";

pub fn remembered_name() -> Option<String> {
    local::storage()?.get_item(NAME_KEY).ok()?
}

fn remember_name(name: &str) {
    if let Some(storage) = local::storage() {
        let _ = storage.set_item(NAME_KEY, name);
    }
}

/// The local media, once opened (or while it opens: everyone waits for the same).
type Opening = Shared<LocalBoxFuture<'static, Option<Rc<LocalMedia>>>>;

/// The meeting page's way to its call, provided as context.
#[derive(Clone, Copy)]
pub struct CallHandle {
    call: StoredValue<Option<Rc<Call>>, LocalStorage>,
    local: StoredValue<Option<Opening>, LocalStorage>,
}

impl Default for CallHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl CallHandle {
    pub fn new() -> Self {
        Self {
            call: StoredValue::new_local(None),
            local: StoredValue::new_local(None),
        }
    }

    fn current(self) -> Option<Rc<Call>> {
        self.call.try_with_value(|call| call.clone()).flatten()
    }

    fn take(self) -> Option<Rc<Call>> {
        self.call.try_update_value(|call| call.take()).flatten()
    }

    /// The camera and microphone, opened on first use.
    async fn local_media(self, state: CallState) -> Option<Rc<LocalMedia>> {
        let opening = self.local.try_update_value(|slot| {
            slot.get_or_insert_with(|| LocalMedia::open(state).boxed_local().shared())
                .clone()
        })?;
        opening.await
    }

    /// The local media if it is open already.
    fn local_now(self) -> Option<Rc<LocalMedia>> {
        self.local
            .try_with_value(|slot| slot.as_ref().and_then(|opening| opening.peek().cloned()))
            .flatten()
            .flatten()
    }

    /// Opens the camera and microphone for the lobby's preview.
    pub fn preview(self, state: CallState) {
        leptos::task::spawn_local(async move {
            if self.local_media(state).await.is_some() {
                // The self view may have looked before the media was ready.
                state.local_stream.update(|version| *version += 1);
            }
        });
    }

    /// Joins `room` as `name` with the devices chosen in the lobby.
    pub fn join(self, state: CallState, room: RoomCode, name: String) {
        remember_name(&name);
        if let Some(old) = self.take() {
            old.hang_up();
        }
        state.phase.set(Phase::Joining);
        state.problem.set(None);
        leptos::task::spawn_local(async move {
            let local = self.local_media(state).await;
            let Some(call) = Call::new(state, room, name, local) else {
                return;
            };
            self.call.try_set_value(Some(call.clone()));
            call.connect();
        });
    }

    /// Leaves the meeting (the Leave button): tells the others, closes every
    /// connection, stops the camera, and shows the "you left" page.
    pub fn leave(self, state: CallState) {
        self.hang_up();
        state.phase.set(Phase::Left);
    }

    /// Stops asking to join: back to the lobby, the preview still running.
    pub fn stop_asking(self, state: CallState) {
        if let Some(call) = self.take() {
            call.hang_up();
        }
        state.phase.set(Phase::Lobby);
    }

    /// Sends a host action (or an admit or deny); the server checks who may.
    pub fn moderate(self, message: ClientMessage) {
        if let Some(call) = self.current() {
            call.moderate(message);
        }
    }

    /// Leaves and turns the camera and microphone off, without touching the page (it
    /// may be going away).
    pub fn hang_up(self) {
        if let Some(call) = self.take() {
            call.hang_up();
        }
        if let Some(local) = self.local_now() {
            local.stop();
        }
        self.local.try_set_value(None);
    }

    /// Switches the microphone or camera on or off (in the lobby or the call) and
    /// tells the room.
    pub fn toggle(self, state: CallState, device: Device) {
        leptos::task::spawn_local(async move {
            let Some(local) = self.local_media(state).await else {
                return;
            };
            let on = !local.wants(device);
            local.set(device, on).await;
            if on {
                // "Hana turned off your microphone" is over once it is on again.
                state.notice.update(|notice| {
                    if notice
                        .as_ref()
                        .is_some_and(|n| n.contains(" turned off your "))
                    {
                        *notice = None;
                    }
                });
            }
            if let Some(call) = self.current() {
                call.local_changed();
            }
        });
    }

    /// Raises the local person's hand, or lowers it.
    pub fn toggle_hand(self, state: CallState) {
        if let Some(call) = self.current() {
            call.raise_hand(state.my_hand.get_untracked().is_none());
        }
    }

    /// Starts presenting (the browser asks what to share), or stops.
    pub fn toggle_presenting(self) {
        let Some(call) = self.current() else { return };
        if call.presenting().is_some() {
            call.stop_presenting();
        } else {
            leptos::task::spawn_local(async move { call.present().await });
        }
    }

    /// Sends a chat message to the meeting.
    pub fn send_chat(self, text: String) {
        if let Some(call) = self.current() {
            call.send_chat(text);
        }
    }

    /// Uses another camera, microphone or speaker.
    pub fn choose(self, state: CallState, kind: DeviceKind, id: String) {
        leptos::task::spawn_local(async move {
            if let Some(local) = self.local_media(state).await {
                local.choose(kind, id).await;
            }
        });
    }

    /// The stream to show in a participant's tile (`None` for the self view). (The
    /// stream itself, not its JavaScript `clone()`.)
    pub fn stream_of(self, peer: Option<PeerId>) -> Option<MediaStream> {
        match peer {
            None => self.local_now().map(|local| Clone::clone(&local.stream)),
            Some(id) => self.current()?.streams.borrow().get(&id).cloned(),
        }
    }

    /// The stream of a presentation (`None`: our own).
    pub fn screen_of(self, peer: Option<PeerId>) -> Option<MediaStream> {
        let call = self.current()?;
        match peer {
            None => call.presenting().map(|(_, stream)| Clone::clone(stream)),
            Some(id) => call.screens.borrow().get(&id).cloned(),
        }
    }
}
