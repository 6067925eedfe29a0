//! Presenting: our screen, a window or a tab goes to everyone as a second video. It
//! travels in a stream of its own, the same for the whole call, whose id the room
//! hears in our media state: that, not the order of the tracks, tells the others it
//! is a presentation. Starting and stopping move the connections' presentation
//! senders with `replaceTrack`; only the first presentation on a connection adds a
//! line to it (one offer).

use super::devices::media_devices;
use super::shims::{describe, log};
use super::Call;
use crate::protocol::StreamId;
use leptos::prelude::*;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaStream, MediaStreamTrack};

/// What we are presenting, while we are.
pub(super) struct Presentation {
    track: MediaStreamTrack,
    _on_ended: Closure<dyn FnMut(JsValue)>,
}

impl Presentation {
    /// Ends the capture (the browser's "sharing" indicator goes away).
    pub(super) fn stop(&self) {
        self.track.set_onended(None);
        self.track.stop();
    }
}

impl Call {
    /// The track we present and the stream it goes in, while we present.
    pub(super) fn presenting(&self) -> Option<(MediaStreamTrack, &MediaStream)> {
        let presentation = self.presentation.borrow();
        let track = Clone::clone(&presentation.as_ref()?.track);
        Some((track, &self.screen_stream))
    }

    /// Asks the browser for a screen, window or tab to present (it asks the person),
    /// and shows it to everyone.
    pub(super) async fn present(self: &Rc<Self>) {
        let Some(promise) = media_devices().and_then(|d| d.get_display_media().ok()) else {
            log("this browser cannot share a screen");
            return;
        };
        let captured = match JsFuture::from(promise).await {
            Ok(stream) => stream.unchecked_into::<MediaStream>(),
            Err(error) => {
                // Most often the person chose nothing ("Cancel").
                log(&format!("not presenting: {}", describe(error)));
                return;
            }
        };
        let Ok(track) = captured
            .get_video_tracks()
            .get(0)
            .dyn_into::<MediaStreamTrack>()
        else {
            return;
        };
        if self.closing.get() {
            track.stop();
            return;
        }
        keep_text_readable(&track);
        self.stop_presenting();
        // The browser's own "Stop sharing" ends the track.
        let weak = Rc::downgrade(self);
        let on_ended = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if let Some(call) = weak.upgrade() {
                call.stop_presenting();
            }
        });
        track.set_onended(Some(on_ended.as_ref().unchecked_ref()));
        self.screen_stream.add_track(&track);
        *self.presentation.borrow_mut() = Some(Presentation {
            track: Clone::clone(&track),
            _on_ended: on_ended,
        });
        // The room hears which stream is the presentation before any offer for it.
        let id = StreamId::new(&self.screen_stream.id());
        self.state.my_media.update(|m| m.screen = id);
        self.tell_media();
        for peer in self.peers.borrow().values() {
            peer.present(Some(&track), &self.screen_stream);
        }
        if let Some(link) = &*self.server_link.borrow() {
            link.present(Some(&track));
        }
        self.limit_video();
    }

    /// Stops presenting, if we are.
    pub(super) fn stop_presenting(self: &Rc<Self>) {
        let Some(presentation) = self.presentation.borrow_mut().take() else {
            return;
        };
        presentation.stop();
        self.screen_stream.remove_track(&presentation.track);
        for peer in self.peers.borrow().values() {
            peer.present(None, &self.screen_stream);
        }
        if let Some(link) = &*self.server_link.borrow() {
            link.present(None);
        }
        self.limit_video();
        self.state.my_media.try_update(|m| m.screen = None);
        self.tell_media();
    }
}

/// Tells the browser the presentation is detail (text, lines), not motion: when
/// bandwidth or the processor run short its encoder then lowers the frame rate and
/// keeps the resolution, so text stays readable (web-sys has no setter for it).
fn keep_text_readable(track: &MediaStreamTrack) {
    if js_sys::Reflect::set(track, &"contentHint".into(), &"detail".into()).is_err() {
        log("this browser cannot mark the presentation as detail");
    }
}
