//! The local camera and microphone, from the lobby's preview to the end of the call.
//!
//! [`LocalMedia`] owns one `MediaStream` for the whole visit: the self view shows it
//! and every connection sends its tracks. Choosing another device, turning the camera
//! off and on, or a device going away swaps a track in it, and whoever listens
//! ([`LocalMedia::on_change`], the call) moves its senders to the new track with
//! `replaceTrack`, without renegotiating. Turning the camera off stops its track, so
//! the camera's light goes off; the microphone is only disabled while muted, so
//! unmuting is instant (and the level meter, on a copy of it, still hears someone
//! talking).

use super::devices::{acquire, list_devices, media_devices, open_one, Choice};
use super::meter::Meter;
use crate::call::devices::{
    explain_missing, find_remembered, DeviceInfo, DeviceKind, MediaProblem, Preferences,
};
use crate::call::{CallState, Device};
use crate::protocol::MediaState;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MediaStream, MediaStreamTrack};

mod tracks;

/// Where the device choices are remembered between visits.
const PREFERENCES_KEY: &str = "parley.devices";

type Handler = Closure<dyn FnMut(JsValue)>;

// Note: `MediaStreamTrack` and `MediaStream` have a JavaScript method `clone()` that
// web-sys exposes as an inherent method, which wins over `Clone::clone`: `x.clone()`
// would open a second live track. Here references are copied with `Clone::clone(&x)`.

/// One local track and what watches it.
struct Held {
    track: MediaStreamTrack,
    device: DeviceInfo,
    _on_ended: Handler,
}

/// The local camera and microphone.
pub struct LocalMedia {
    state: CallState,
    /// What the self view shows and the connections send.
    pub stream: MediaStream,
    microphone: RefCell<Option<Held>>,
    camera: RefCell<Option<Held>>,
    preferences: RefCell<Preferences>,
    meter: RefCell<Option<Meter>>,
    /// Told whenever a track comes, goes or is replaced.
    on_change: RefCell<Option<Box<dyn Fn()>>>,
    on_device_change: RefCell<Option<Handler>>,
    /// Counts device requests per kind (camera, microphone): a device that finishes
    /// opening after a newer request of its kind was made is closed unused, so the
    /// last choice wins however long each takes.
    requests: [Cell<u32>; 2],
    /// A camera asked for is still opening (its light may not be on yet).
    camera_opening: Cell<bool>,
    stopped: Cell<bool>,
}

impl LocalMedia {
    /// Opens the devices the remembered preferences ask for and shows what happened.
    pub async fn open(state: CallState) -> Option<Rc<Self>> {
        let stream = MediaStream::new().ok()?;
        let preferences = Preferences::load(load_preferences().as_deref());
        let local = Rc::new(Self {
            state,
            stream,
            microphone: RefCell::new(None),
            camera: RefCell::new(None),
            preferences: RefCell::new(preferences.clone()),
            meter: RefCell::new(None),
            on_change: RefCell::new(None),
            on_device_change: RefCell::new(None),
            requests: [Cell::new(0), Cell::new(0)],
            camera_opening: Cell::new(false),
            stopped: Cell::new(false),
        });
        local.watch_devices();
        let lists = list_devices().await.unwrap_or_default();
        let microphone = find_remembered(preferences.microphone.as_ref(), &lists.microphones);
        let camera = find_remembered(preferences.camera.as_ref(), &lists.cameras);
        let want_camera = preferences.camera_on;
        let (audio, video, problems) = acquire(
            Some(Choice::Preferred(microphone.map(|d| d.id.clone()))),
            want_camera.then(|| Choice::Preferred(camera.map(|d| d.id.clone()))),
        )
        .await;
        if local.stopped.get() {
            for track in [&audio, &video].into_iter().flatten() {
                track.stop();
            }
            return None;
        }
        // Labels (and, before any permission, the devices themselves) only show once
        // a device was granted.
        local.refresh_devices().await;
        let has_camera = video.is_some()
            || local
                .state
                .devices
                .try_with_untracked(|l| !l.cameras.is_empty())
                .unwrap_or(false);
        let has_microphone = audio.is_some();
        if let Some(track) = audio {
            track.set_enabled(preferences.microphone_on);
            local.install(DeviceKind::Microphone, track);
        }
        if let Some(track) = video {
            local.install(DeviceKind::Camera, track);
        }
        if local.camera.borrow().is_none() {
            // Off: the menu shows the camera that turning it on will open.
            let remembered = local
                .state
                .devices
                .try_with_untracked(|l| {
                    find_remembered(preferences.camera.as_ref(), &l.cameras).map(|d| d.id.clone())
                })
                .flatten();
            local
                .state
                .chosen
                .update(|c| c.set(DeviceKind::Camera, remembered));
        }
        let speaker = find_remembered(
            preferences.speaker.as_ref(),
            &local
                .state
                .devices
                .try_with_untracked(|l| l.speakers.clone())
                .unwrap_or_default(),
        )
        .map(|d| d.id.clone());
        local
            .state
            .chosen
            .update(|c| c.set(DeviceKind::Speaker, speaker));
        local.state.my_devices.set(MediaState {
            audio: has_microphone,
            video: has_camera && problems.camera != Some(MediaProblem::Blocked),
            screen: None,
        });
        local.state.my_media.set(MediaState {
            audio: has_microphone && preferences.microphone_on,
            video: local.camera.borrow().is_some(),
            screen: None,
        });
        local
            .state
            .notice
            .set(explain_missing(problems.camera, problems.microphone));
        Some(local)
    }

    /// Calls `listener` after every change of a track (the call moves its senders).
    pub fn on_change(&self, listener: impl Fn() + 'static) {
        *self.on_change.borrow_mut() = Some(Box::new(listener));
    }

    pub fn stop_listening(&self) {
        self.on_change.borrow_mut().take();
    }

    pub fn microphone(&self) -> Option<MediaStreamTrack> {
        self.microphone
            .borrow()
            .as_ref()
            .map(|h| Clone::clone(&h.track))
    }

    pub fn camera(&self) -> Option<MediaStreamTrack> {
        self.camera
            .borrow()
            .as_ref()
            .map(|h| Clone::clone(&h.track))
    }

    /// Whether there is a camera to turn on, even if it is off now.
    pub fn has_camera(&self) -> bool {
        self.state
            .my_devices
            .try_get_untracked()
            .is_some_and(|m| m.video)
    }

    /// Whether the person has `device` on, or asked for it and it is still opening: a
    /// toggle flips this, so pressing it again while the camera starts turns it off,
    /// however long the camera takes.
    pub fn wants(&self, device: Device) -> bool {
        match device {
            Device::Microphone => {
                self.preferences.borrow().microphone_on && self.microphone.borrow().is_some()
            }
            Device::Camera => {
                self.preferences.borrow().camera_on
                    && (self.camera.borrow().is_some() || self.camera_opening.get())
            }
        }
    }

    /// Turns a device on or off.
    pub async fn set(self: &Rc<Self>, device: Device, on: bool) {
        match device {
            Device::Microphone => {
                if let Some(held) = &*self.microphone.borrow() {
                    held.track.set_enabled(on);
                }
                self.preferences.borrow_mut().microphone_on = on;
                self.save();
                let has = self.microphone.borrow().is_some();
                self.state.my_media.update(|m| m.audio = on && has);
            }
            Device::Camera => {
                self.preferences.borrow_mut().camera_on = on;
                self.save();
                if on {
                    if self.camera.borrow().is_none() {
                        let request = self.new_request(DeviceKind::Camera);
                        let wanted = self.preferences.borrow().camera.clone().map(|d| d.id);
                        self.camera_opening.set(true);
                        let opened = open_one(DeviceKind::Camera, Choice::Preferred(wanted)).await;
                        if self.is_latest(DeviceKind::Camera, request) {
                            self.camera_opening.set(false);
                        }
                        // Turned off again (or left) while the camera was opening.
                        let still_wanted = !self.stopped.get()
                            && self.preferences.borrow().camera_on
                            && self.is_latest(DeviceKind::Camera, request);
                        match opened {
                            Ok(track) if still_wanted => {
                                self.install(DeviceKind::Camera, track);
                                // Now allowed, the cameras have names.
                                self.refresh_devices().await;
                                self.state.notice.set(None);
                            }
                            Ok(track) => track.stop(),
                            Err(problem) => {
                                self.state.notice.set(explain_missing(Some(problem), None))
                            }
                        }
                    }
                } else {
                    self.state.my_media.update(|m| m.video = false);
                    self.remove(DeviceKind::Camera);
                }
                let has = self.camera.borrow().is_some();
                self.state.my_media.update(|m| m.video = has);
            }
        }
    }

    /// Uses the device `id` of `kind` from now on, and remembers it.
    pub async fn choose(self: &Rc<Self>, kind: DeviceKind, id: String) {
        let device = self
            .state
            .devices
            .try_with_untracked(|l| l.of(kind).iter().find(|d| d.id == id).cloned())
            .flatten();
        let Some(device) = device else { return };
        self.preferences
            .borrow_mut()
            .set_device(kind, Some((&device).into()));
        self.save();
        match kind {
            DeviceKind::Speaker => self.state.chosen.update(|c| c.set(kind, Some(id))),
            DeviceKind::Camera if self.camera.borrow().is_none() => {
                // Off: the choice applies when it is turned on.
                self.state.chosen.update(|c| c.set(kind, Some(id)));
            }
            DeviceKind::Camera | DeviceKind::Microphone => {
                let request = self.new_request(kind);
                let opened = open_one(kind, Choice::exactly(id)).await;
                match opened {
                    Ok(track) if !self.stopped.get() && self.is_latest(kind, request) => {
                        if kind == DeviceKind::Microphone {
                            track.set_enabled(self.preferences.borrow().microphone_on);
                        }
                        self.install(kind, track);
                    }
                    Ok(track) => track.stop(),
                    Err(problem) => {
                        let missing = match kind {
                            DeviceKind::Camera => explain_missing(Some(problem), None),
                            _ => explain_missing(None, Some(problem)),
                        };
                        self.state.notice.set(missing);
                    }
                }
            }
        }
    }

    /// Starts a request for a device of `kind`; returns its number.
    fn new_request(&self, kind: DeviceKind) -> u32 {
        let counter = &self.requests[usize::from(kind != DeviceKind::Camera)];
        counter.set(counter.get().wrapping_add(1));
        counter.get()
    }

    /// Whether `request` is still the newest of its kind.
    fn is_latest(&self, kind: DeviceKind, request: u32) -> bool {
        self.requests[usize::from(kind != DeviceKind::Camera)].get() == request
    }

    /// Stops everything: the camera's and microphone's lights go off.
    pub fn stop(&self) {
        self.stopped.set(true);
        self.on_change.borrow_mut().take();
        for kind in [DeviceKind::Camera, DeviceKind::Microphone] {
            self.remove(kind);
        }
        if let (Some(handler), Some(devices)) = (self.on_device_change.take(), media_devices()) {
            let _ = devices.remove_event_listener_with_callback(
                "devicechange",
                handler.as_ref().unchecked_ref(),
            );
        }
    }

    fn save(&self) {
        if let Some(storage) = storage() {
            let _ = storage.set_item(PREFERENCES_KEY, &self.preferences.borrow().save());
        }
    }
}

/// The browser's localStorage, where Parley remembers choices between visits.
pub(super) fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn load_preferences() -> Option<String> {
    storage()?.get_item(PREFERENCES_KEY).ok()?
}
