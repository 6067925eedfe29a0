//! The tracks [`LocalMedia`] holds: putting one in place of another, dropping one,
//! and what happens when a device goes away by itself (unplugged, or taken by the
//! system): another device of its kind takes over, or the switch goes off, and the
//! person is told which.

use super::{Handler, Held, LocalMedia};
use crate::call::browser::devices::{list_devices, media_devices, open_one, Choice};
use crate::call::browser::meter::Meter;
use crate::call::browser::shims::log;
use crate::call::devices::{explain_fallback, fallback, DeviceInfo, DeviceKind};
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use web_sys::MediaStreamTrack;

impl LocalMedia {
    /// Puts `track` in place of the current one of `kind`.
    pub(super) fn install(self: &Rc<Self>, kind: DeviceKind, track: MediaStreamTrack) {
        let device = DeviceInfo {
            id: track.get_settings().get_device_id().unwrap_or_default(),
            label: track.label(),
        };
        let weak = Rc::downgrade(self);
        let ended = Clone::clone(&track);
        let on_ended = Handler::new(move |_| {
            if let Some(local) = weak.upgrade() {
                local.ended(kind, &ended);
            }
        });
        track.set_onended(Some(on_ended.as_ref().unchecked_ref()));
        let held = Held {
            track: Clone::clone(&track),
            device: device.clone(),
            _on_ended: on_ended,
        };
        let old = self.slot(kind).replace(Some(held));
        if let Some(old) = old {
            self.stream.remove_track(&old.track);
            old.track.set_onended(None);
            old.track.stop();
        }
        self.stream.add_track(&track);
        self.state.chosen.update(|c| c.set(kind, Some(device.id)));
        if kind == DeviceKind::Microphone {
            let meter = Meter::start(self.state, &track);
            if let Some(old) = self.meter.replace(meter) {
                old.stop();
            }
        }
        self.changed();
    }

    /// Stops and drops the current track of `kind`.
    pub(super) fn remove(&self, kind: DeviceKind) {
        let Some(old) = self.slot(kind).take() else {
            return;
        };
        self.stream.remove_track(&old.track);
        old.track.set_onended(None);
        old.track.stop();
        if kind == DeviceKind::Microphone {
            if let Some(meter) = self.meter.take() {
                meter.stop();
            }
            self.state.mic_level.set(0.0);
            self.state.talking_while_muted.set(false);
        }
        self.changed();
    }

    pub(super) fn slot(&self, kind: DeviceKind) -> &RefCell<Option<Held>> {
        match kind {
            DeviceKind::Camera => &self.camera,
            _ => &self.microphone,
        }
    }

    pub(super) fn changed(&self) {
        self.state.local_stream.update(|version| *version += 1);
        if let Some(listener) = &*self.on_change.borrow() {
            listener();
        }
    }

    /// A track in use ended by itself (the device was unplugged, or the system took
    /// it away): move to another device of the kind, and say so.
    pub(super) fn ended(self: &Rc<Self>, kind: DeviceKind, track: &MediaStreamTrack) {
        let lost = match &*self.slot(kind).borrow() {
            Some(held) if &held.track == track => held.device.clone(),
            _ => return,
        };
        log(&format!("the {} “{}” stopped", kind.noun(), lost.label));
        let local = self.clone();
        leptos::task::spawn_local(async move {
            local.refresh_devices().await;
            let present = local
                .state
                .devices
                .try_with_untracked(|l| l.of(kind).to_vec())
                .unwrap_or_default();
            let mut now = None;
            if let Some(other) = fallback(&lost, &present).cloned() {
                if let Ok(track) = open_one(kind, Choice::exactly(other.id)).await {
                    if kind == DeviceKind::Microphone {
                        track.set_enabled(local.preferences.borrow().microphone_on);
                    }
                    now = Some(track.label());
                    local.install(kind, track);
                }
            }
            if now.is_none() {
                local.state.my_media.update(|m| match kind {
                    DeviceKind::Camera => m.video = false,
                    _ => m.audio = false,
                });
                local.state.my_devices.update(|m| match kind {
                    DeviceKind::Camera => m.video = false,
                    _ => m.audio = false,
                });
                local.remove(kind);
            }
            local
                .state
                .notice
                .set(Some(explain_fallback(kind, &lost.label, now.as_deref())));
        });
    }

    /// Keeps the menus up to date as devices come and go.
    pub(super) fn watch_devices(self: &Rc<Self>) {
        let Some(devices) = media_devices() else {
            return;
        };
        let weak: Weak<Self> = Rc::downgrade(self);
        let handler = Handler::new(move |_| {
            if let Some(local) = weak.upgrade() {
                leptos::task::spawn_local(async move { local.refresh_devices().await });
            }
        });
        let _ = devices
            .add_event_listener_with_callback("devicechange", handler.as_ref().unchecked_ref());
        *self.on_device_change.borrow_mut() = Some(handler);
    }

    pub(super) async fn refresh_devices(&self) {
        if let Some(lists) = list_devices().await {
            if self.state.devices.try_get_untracked().as_ref() != Some(&lists) {
                self.state.devices.try_set(lists);
            }
        }
    }
}
