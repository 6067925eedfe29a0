//! The microphone level meter: an `AnalyserNode` on the microphone's track, read a
//! few dozen times a second into `CallState::mic_level`.

use super::shims::log;
use crate::call::devices::{loudness, meter_step};
use crate::call::CallState;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::JsCast;
use web_sys::{AnalyserNode, AudioContext, AudioContextState, MediaStream};

/// How often the level is read.
const READ_EVERY: Duration = Duration::from_millis(50);

pub struct Meter {
    context: AudioContext,
    reader: IntervalHandle,
    wake: Option<WindowListenerHandle>,
}

impl Meter {
    /// Measures the audio of `stream`; `None` where the browser has no Web Audio.
    pub fn start(state: CallState, stream: &MediaStream) -> Option<Self> {
        let context = AudioContext::new().ok()?;
        let source = context.create_media_stream_source(stream).ok()?;
        let analyser: AnalyserNode = context.create_analyser().ok()?;
        analyser.set_fft_size(1024);
        source.connect_with_audio_node(&analyser).ok()?;
        let samples = Rc::new(RefCell::new(vec![0.0_f32; 1024]));
        // The exact level, falling smoothly; the signal gets it rounded.
        let level = Cell::new(0.0_f32);
        let reader = set_interval_with_handle(
            move || {
                let mut samples = samples.borrow_mut();
                analyser.get_float_time_domain_data(&mut samples);
                // Muted, the meter rests (a muted track is silence, or nearly).
                let muted = !state.my_media.try_get_untracked().is_some_and(|m| m.audio);
                let heard = if muted { 0.0 } else { loudness(&samples) };
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
            reader,
            wake,
        })
    }

    pub fn stop(self) {
        self.reader.clear();
        if let Some(wake) = self.wake {
            wake.remove();
        }
        if self.context.close().is_err() {
            log("could not close the level meter's audio context");
        }
    }
}
