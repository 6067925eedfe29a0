//! How loud each other participant is, for the speaking ring: an `AnalyserNode` on
//! the audio track arriving from each, all in one `AudioContext` for the call.
//!
//! (`RTCRtpReceiver.getSynchronizationSources()` reads the same level, but in
//! Chromium each call blocks the page until the WebRTC thread answers. Read ten times
//! a second for five people on a busy two-core machine, it took half of the page's
//! time, and the page fell so far behind that its signaling looked dead.)

use super::shims::log;
use crate::call::devices::loudness;
use crate::call::speaking;
use crate::protocol::PeerId;
use js_sys::Array;
use std::cell::RefCell;
use std::collections::HashMap;
use web_sys::{
    AnalyserNode, AudioContext, AudioContextState, MediaStream, MediaStreamAudioSourceNode,
    MediaStreamTrack,
};

/// Samples per reading: 85 ms at 48 kHz, most of the time between two readings, so a
/// short sound is not missed.
const WINDOW: u32 = 4_096;

/// The audio levels of the others.
pub struct AudioLevels {
    context: AudioContext,
    probes: RefCell<HashMap<PeerId, Probe>>,
    samples: RefCell<Vec<f32>>,
}

/// One participant's audio, analysed.
struct Probe {
    track_id: String,
    source: MediaStreamAudioSourceNode,
    analyser: AnalyserNode,
}

impl AudioLevels {
    /// `None` where the browser has no Web Audio (then nobody gets the ring).
    pub fn new() -> Option<Self> {
        let context = AudioContext::new().ok()?;
        Some(Self {
            context,
            probes: RefCell::default(),
            samples: RefCell::new(vec![0.0; WINDOW as usize]),
        })
    }

    /// Measures `track`, the audio now arriving from `them` (in place of any before).
    pub fn watch(&self, them: PeerId, track: &MediaStreamTrack) {
        if self
            .probes
            .borrow()
            .get(&them)
            .is_some_and(|probe| probe.track_id == track.id())
        {
            return;
        }
        self.forget(them);
        match self.probe(track) {
            Some(probe) => {
                self.probes.borrow_mut().insert(them, probe);
            }
            None => log(&format!("could not measure the audio from {them}")),
        }
        // Joining was a click, so the page may play audio now.
        if self.context.state() == AudioContextState::Suspended {
            let _ = self.context.resume();
        }
    }

    fn probe(&self, track: &MediaStreamTrack) -> Option<Probe> {
        let (source, analyser) = analyse(&self.context, track, WINDOW)?;
        Some(Probe {
            track_id: track.id(),
            source,
            analyser,
        })
    }

    /// Stops measuring `them`'s audio.
    pub fn forget(&self, them: PeerId) {
        if let Some(probe) = self.probes.borrow_mut().remove(&them) {
            let _ = probe.source.disconnect();
        }
    }

    /// How loud `them` is now: 0.0 to 1.0, linear, as WebRTC's `audioLevel`.
    pub fn level(&self, them: PeerId) -> f32 {
        let probes = self.probes.borrow();
        let Some(probe) = probes.get(&them) else {
            return 0.0;
        };
        let mut samples = self.samples.borrow_mut();
        probe.analyser.get_float_time_domain_data(&mut samples);
        speaking::linear(loudness(&samples))
    }

    /// Lets go of the audio context (the call is over).
    pub fn close(&self) {
        for (_, probe) in self.probes.borrow_mut().drain() {
            let _ = probe.source.disconnect();
        }
        let _ = self.context.close();
    }
}

/// An `AnalyserNode` of `window` samples on `track`, fed through a source in `context`.
pub fn analyse(
    context: &AudioContext,
    track: &MediaStreamTrack,
    window: u32,
) -> Option<(MediaStreamAudioSourceNode, AnalyserNode)> {
    let stream = MediaStream::new_with_tracks(&Array::of1(track)).ok()?;
    let source = context.create_media_stream_source(&stream).ok()?;
    let analyser = context.create_analyser().ok()?;
    analyser.set_fft_size(window);
    source.connect_with_audio_node(&analyser).ok()?;
    Some((source, analyser))
}
