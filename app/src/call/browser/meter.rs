//! The microphone level meter: an `AnalyserNode` on the microphone, read a few dozen
//! times a second into `CallState::mic_level`. It listens to a copy of the
//! microphone's track that stays on while the microphone is off (a track that is off
//! is silence), so that it can tell someone talking while muted.

use super::levels::analyse;
use super::shims::log;
use crate::call::devices::{loudness, meter_step};
use crate::call::speaking::{self, Speaking};
use crate::call::CallState;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::JsCast;
use web_sys::{AudioContext, AudioContextState, MediaStreamTrack};

/// How often the level is read.
const READ_EVERY: Duration = Duration::from_millis(50);

pub struct Meter {
    context: AudioContext,
    /// The copy of the microphone's track it listens to.
    track: MediaStreamTrack,
    reader: IntervalHandle,
    wake: Option<WindowListenerHandle>,
}

impl Meter {
    /// Measures the audio of the microphone `microphone`; `None` where the browser
    /// has no Web Audio.
    pub fn start(state: CallState, microphone: &MediaStreamTrack) -> Option<Self> {
        // `clone` here is the track's own (a second track on the same microphone),
        // whose switch is its own.
        let track = microphone.clone();
        track.set_enabled(true);
        let context = AudioContext::new().ok()?;
        let (_source, analyser) = analyse(&context, &track, 1024)?;
        let samples = Rc::new(RefCell::new(vec![0.0_f32; 1024]));
        // The exact level, falling smoothly; the signal gets it rounded.
        let level = Cell::new(0.0_f32);
        let talking = Cell::new(Speaking::default());
        let reader = set_interval_with_handle(
            move || {
                let mut samples = samples.borrow_mut();
                analyser.get_float_time_domain_data(&mut samples);
                let heard = loudness(&samples);
                // Muted, the meter rests, and talking is noticed instead.
                let muted = !state.my_media.try_get_untracked().is_some_and(|m| m.audio);
                let mut now = talking.get();
                // (Counted only while muted: unmuted, it is the speaking ring.)
                let talking_now = now.feed(speaking::linear(heard), !muted);
                talking.set(now);
                if state.talking_while_muted.try_get_untracked() != Some(talking_now) {
                    state.talking_while_muted.try_set(talking_now);
                }
                let heard = if muted { 0.0 } else { heard };
                level.set(meter_step(level.get(), heard));
                let shown = (level.get() * 100.0).round() / 100.0;
                if state.mic_level.try_get_untracked() != Some(shown) {
                    state.mic_level.try_set(shown);
                }
            },
            READ_EVERY,
        )
        .ok()?;
        // A page may not start audio before the person has interacted with it; the
        // meter then starts at the first click or key.
        let wake = (context.state() == AudioContextState::Suspended).then(|| {
            let context = context.clone();
            window_event_listener_untyped("pointerdown", move |_| {
                if let Ok(promise) = context.resume() {
                    let _ = promise.dyn_into::<js_sys::Promise>();
                }
            })
        });
        Some(Self {
            context,
            track,
            reader,
            wake,
        })
    }

    pub fn stop(self) {
        self.reader.clear();
        self.track.stop();
        if let Some(wake) = self.wake {
            wake.remove();
        }
        if self.context.close().is_err() {
            log("could not close the level meter's audio context");
        }
    }
}
