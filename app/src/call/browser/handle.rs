//! The meeting page's way to its call: [`CallHandle`], provided as context, holds the
//! live call (if any) and is what the buttons, the shortcuts and the tiles use.

use super::{media, Call};
use crate::call::{CallState, Device, Phase};
use crate::protocol::{ClientMessage, PeerId};
use crate::room_code::RoomCode;
use leptos::prelude::*;
use std::rc::Rc;
use web_sys::MediaStream;

/// Where the display name is remembered between visits.
const NAME_KEY: &str = "parley.display_name";

pub fn remembered_name() -> Option<String> {
    let storage = web_sys::window()?.local_storage().ok()??;
    storage.get_item(NAME_KEY).ok()?
}

fn remember_name(name: &str) {
    if let Some(Ok(Some(storage))) = web_sys::window().map(|w| w.local_storage()) {
        let _ = storage.set_item(NAME_KEY, name);
    }
}

/// The meeting page's way to its call, provided as context. It holds the live call,
/// if any.
#[derive(Clone, Copy)]
pub struct CallHandle(StoredValue<Option<Rc<Call>>, LocalStorage>);

impl Default for CallHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl CallHandle {
    pub fn new() -> Self {
        Self(StoredValue::new_local(None))
    }

    fn current(self) -> Option<Rc<Call>> {
        self.0.try_with_value(|call| call.clone()).flatten()
    }

    fn take(self) -> Option<Rc<Call>> {
        self.0.try_update_value(|call| call.take()).flatten()
    }

    /// Joins `room` as `name`: asks for the camera and microphone, connects and joins.
    pub fn join(self, state: CallState, room: RoomCode, name: String) {
        remember_name(&name);
        if let Some(old) = self.take() {
            old.hang_up();
        }
        state.phase.set(Phase::Joining);
        state.problem.set(None);
        state.notice.set(None);
        leptos::task::spawn_local(async move {
            let local = media::open_camera(state).await;
            let call = Call::new(state, room, name, local);
            self.0.try_set_value(Some(call.clone()));
            call.connect();
        });
    }

    /// Leaves the meeting (the Leave button): tells the others, closes every
    /// connection, stops the camera, and shows the "you left" page.
    pub fn leave(self, state: CallState) {
        self.hang_up();
        state.has_local_stream.set(false);
        state.phase.set(Phase::Left);
    }

    /// Leaves without touching the page (it is going away).
    pub fn hang_up(self) {
        if let Some(call) = self.take() {
            call.hang_up();
        }
    }

    /// Switches the microphone or camera on or off and tells the room.
    pub fn toggle(self, state: CallState, device: Device) {
        let Some(call) = self.current() else { return };
        let media = state.my_media.get_untracked();
        let on = !device.is_on(media);
        if let Some(local) = &call.local {
            media::set_enabled(local, device, on);
        }
        let media = device.set(media, on);
        state.my_media.set(media);
        call.send(&ClientMessage::Media { media });
    }

    /// The stream to show in a participant's tile (`None` for the self view).
    pub fn stream_of(self, peer: Option<PeerId>) -> Option<MediaStream> {
        let call = self.current()?;
        match peer {
            None => call.local.clone(),
            Some(id) => call.streams.borrow().get(&id).cloned(),
        }
    }
}
