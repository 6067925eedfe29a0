//! Asking the browser for devices: opening a camera or microphone (and learning why
//! it would not), listing what there is, and choosing the speaker.

use super::shims::{call_method1, describe, log};
use crate::call::devices::{DeviceInfo, DeviceKind, DeviceLists, MediaProblem};
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaDeviceInfo, MediaDevices, MediaStream, MediaStreamConstraints, MediaStreamTrack,
};

/// Which device to ask the browser for.
pub enum Choice {
    /// This one if it opens, else the browser's default (`None`: the default).
    /// (Chromium ignores an `ideal` device id for microphones, so this asks for the
    /// exact one first, then for the default.)
    Preferred(Option<String>),
    /// This one or none.
    Exactly(String),
}

impl Choice {
    /// The device `id`, or the default where the browser gave no id.
    pub fn exactly(id: String) -> Self {
        if id.is_empty() {
            Self::Preferred(None)
        } else {
            Self::Exactly(id)
        }
    }

    fn constraint(&self) -> JsValue {
        let id = match self {
            Choice::Preferred(None) => return JsValue::TRUE,
            Choice::Preferred(Some(id)) if id.is_empty() => return JsValue::TRUE,
            Choice::Preferred(Some(id)) | Choice::Exactly(id) => id,
        };
        let device = Object::new();
        let _ = Reflect::set(&device, &"exact".into(), &id.into());
        let constraint = Object::new();
        let _ = Reflect::set(&constraint, &"deviceId".into(), &device);
        constraint.into()
    }
}

/// What could not be opened, and why.
#[derive(Default)]
pub struct Problems {
    pub microphone: Option<MediaProblem>,
    pub camera: Option<MediaProblem>,
}

/// Opens the microphone and the camera (each if asked for) in one request, so the
/// browser asks the person once; if that fails, each alone, to learn which failed.
pub async fn acquire(
    microphone: Option<Choice>,
    camera: Option<Choice>,
) -> (Option<MediaStreamTrack>, Option<MediaStreamTrack>, Problems) {
    let mut problems = Problems::default();
    if let (Some(mic), Some(cam)) = (&microphone, &camera) {
        if let Ok(stream) = get_user_media(Some(mic), Some(cam)).await {
            let audio = stream.get_audio_tracks().get(0).dyn_into().ok();
            let video = stream.get_video_tracks().get(0).dyn_into().ok();
            return (audio, video, problems);
        }
    }
    let mut audio = None;
    let mut video = None;
    if let Some(mic) = microphone {
        match open_one(DeviceKind::Microphone, mic).await {
            Ok(track) => audio = Some(track),
            Err(problem) => problems.microphone = Some(problem),
        }
    }
    if let Some(cam) = camera {
        match open_one(DeviceKind::Camera, cam).await {
            Ok(track) => video = Some(track),
            Err(problem) => problems.camera = Some(problem),
        }
    }
    (audio, video, problems)
}

/// Opens one device (a preferred one that will not open gives way to the default).
pub async fn open_one(kind: DeviceKind, choice: Choice) -> Result<MediaStreamTrack, MediaProblem> {
    let mut attempt = get_one(kind, &choice).await;
    if attempt.is_err() && matches!(choice, Choice::Preferred(Some(_))) {
        attempt = get_one(kind, &Choice::Preferred(None)).await;
    }
    let stream = attempt.map_err(|error| {
        let name = Reflect::get(&error, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        log(&format!(
            "could not open the {}: {}",
            kind.noun(),
            describe(error)
        ));
        MediaProblem::from_error_name(&name)
    })?;
    let tracks = match kind {
        DeviceKind::Camera => stream.get_video_tracks(),
        _ => stream.get_audio_tracks(),
    };
    tracks.get(0).dyn_into().map_err(|_| MediaProblem::Other)
}

async fn get_one(kind: DeviceKind, choice: &Choice) -> Result<MediaStream, JsValue> {
    match kind {
        DeviceKind::Camera => get_user_media(None, Some(choice)).await,
        _ => get_user_media(Some(choice), None).await,
    }
}

async fn get_user_media(
    audio: Option<&Choice>,
    video: Option<&Choice>,
) -> Result<MediaStream, JsValue> {
    let devices = media_devices().ok_or_else(|| JsValue::from_str("no media devices"))?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_audio(&audio.map_or(JsValue::FALSE, Choice::constraint));
    constraints.set_video(&video.map_or(JsValue::FALSE, Choice::constraint));
    let stream = JsFuture::from(devices.get_user_media_with_constraints(&constraints)?).await?;
    stream.dyn_into()
}

/// The devices the browser lists, by kind.
pub async fn list_devices() -> Option<DeviceLists> {
    let devices = media_devices()?;
    let listed = JsFuture::from(devices.enumerate_devices().ok()?)
        .await
        .ok()?;
    let mut lists = DeviceLists::default();
    for info in js_sys::Array::from(&listed).iter() {
        let info: MediaDeviceInfo = info.unchecked_into();
        let kind = match info.kind() {
            web_sys::MediaDeviceKind::Videoinput => DeviceKind::Camera,
            web_sys::MediaDeviceKind::Audioinput => DeviceKind::Microphone,
            web_sys::MediaDeviceKind::Audiooutput => DeviceKind::Speaker,
            _ => continue,
        };
        // Before permission for a kind, the browser lists its devices without ids
        // or labels: they are there (the camera can be turned on), but only the
        // browser's default can be asked for.
        let id = info.device_id();
        let list = lists.of_mut(kind);
        let label = match info.label() {
            label if label.is_empty() => format!("{} {}", kind.noun(), list.len() + 1),
            label => label,
        };
        list.push(DeviceInfo { id, label });
    }
    Some(lists)
}

pub fn media_devices() -> Option<MediaDevices> {
    web_sys::window()?.navigator().media_devices().ok()
}

/// Plays a media element's sound on the speaker `id` (`setSinkId`), where the
/// browser can choose speakers at all.
pub fn play_on(element: &web_sys::HtmlMediaElement, id: &str) {
    if Reflect::has(element, &"setSinkId".into()) != Ok(true) {
        return;
    }
    if let Ok(promise) = call_method1(element, "setSinkId", &id.into()) {
        if let Ok(promise) = promise.dyn_into::<js_sys::Promise>() {
            leptos::task::spawn_local(async move {
                if let Err(error) = JsFuture::from(promise).await {
                    log(&format!(
                        "could not switch the speaker: {}",
                        describe(error)
                    ));
                }
            });
        }
    }
}

/// Whether this browser lets a page choose the speaker.
pub fn can_choose_speaker() -> bool {
    web_sys::window()
        .and_then(|w| Reflect::get(&w, &"HTMLMediaElement".into()).ok())
        .and_then(|c| Reflect::get(&c, &"prototype".into()).ok())
        .is_some_and(|p| Reflect::has(&p, &"setSinkId".into()) == Ok(true))
}
