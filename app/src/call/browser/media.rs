//! The local camera and microphone.

use crate::call::{CallState, Device};
use crate::protocol::MediaState;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaStream, MediaStreamConstraints, MediaStreamTrack};

/// Asks for camera and microphone, falling back to less, and says what is missing.
pub async fn open_camera(state: CallState) -> Option<MediaStream> {
    for (audio, video) in [(true, true), (true, false), (false, true)] {
        if let Ok(stream) = get_user_media(audio, video).await {
            let devices = MediaState { audio, video };
            state.my_devices.try_set(devices);
            state.my_media.try_set(devices);
            state.has_local_stream.try_set(true);
            let missing = match (audio, video) {
                (true, true) => None,
                (true, false) => {
                    Some("Your camera is unavailable or blocked: you joined with audio only.")
                }
                _ => Some(
                    "Your microphone is unavailable or blocked: others can see but not hear you.",
                ),
            };
            state.notice.try_set(missing.map(str::to_owned));
            return Some(stream);
        }
    }
    let nothing = MediaState {
        audio: false,
        video: false,
    };
    state.my_devices.try_set(nothing);
    state.my_media.try_set(nothing);
    state.notice.try_set(Some(
        "Your camera and microphone are unavailable or blocked: you can see and hear others, but they can't see or hear you."
            .into(),
    ));
    None
}

async fn get_user_media(audio: bool, video: bool) -> Result<MediaStream, JsValue> {
    let devices = web_sys::window()
        .ok_or_else(|| JsValue::from_str("no window"))?
        .navigator()
        .media_devices()?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_audio_bool(audio);
    constraints.set_video_bool(video);
    let stream = JsFuture::from(devices.get_user_media_with_constraints(&constraints)?).await?;
    stream.dyn_into()
}

/// The local tracks of one device.
fn tracks(local: &MediaStream, device: Device) -> Vec<MediaStreamTrack> {
    let tracks = match device {
        Device::Microphone => local.get_audio_tracks(),
        Device::Camera => local.get_video_tracks(),
    };
    tracks.iter().map(|t| t.unchecked_into()).collect()
}

/// Switches a device's tracks on or off (they keep their place in every connection).
pub fn set_enabled(local: &MediaStream, device: Device, on: bool) {
    for track in tracks(local, device) {
        track.set_enabled(on);
    }
}

/// Stops every local track: the camera light goes off.
pub fn stop(local: &MediaStream) {
    for track in local.get_tracks().iter() {
        track.unchecked_into::<MediaStreamTrack>().stop();
    }
}
