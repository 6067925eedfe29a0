//! The few JavaScript calls web-sys lacks, and small browser helpers.

use crate::call::negotiation::Millis;
use crate::protocol::Signal;
use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RtcPeerConnection, RtcSdpType, RtcSessionDescriptionInit};

/// Calls `target[name]()` by name, for the methods web-sys does not have.
pub fn call_method(target: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    let method: js_sys::Function = Reflect::get(target, &JsValue::from_str(name))?.dyn_into()?;
    method.call0(target)
}

/// Calls `target[name](argument)` by name.
pub fn call_method1(target: &JsValue, name: &str, argument: &JsValue) -> Result<JsValue, JsValue> {
    let method: js_sys::Function = Reflect::get(target, &JsValue::from_str(name))?.dyn_into()?;
    method.call1(target, argument)
}

/// A video track that shows nothing (from a canvas never drawn on), to stand in for a
/// camera that is off when a connection is set up.
pub fn blank_video_track() -> Option<web_sys::MediaStreamTrack> {
    let canvas: web_sys::HtmlCanvasElement = web_sys::window()?
        .document()?
        .create_element("canvas")
        .ok()?
        .dyn_into()
        .ok()?;
    let stream = canvas.capture_stream().ok()?;
    stream.get_video_tracks().get(0).dyn_into().ok()
}

/// `pc.setLocalDescription()` with no argument: the browser creates and applies the
/// offer or answer that the connection's state calls for, in one step, so no remote
/// description can slip in between creating it and applying it (web-sys only has the
/// one-argument form). Returns it as the signal to send.
pub async fn set_local_description(pc: &RtcPeerConnection) -> Result<Signal, JsValue> {
    let promise: js_sys::Promise = call_method(pc, "setLocalDescription")?.dyn_into()?;
    JsFuture::from(promise).await?;
    let local = pc
        .local_description()
        .ok_or_else(|| JsValue::from_str("no local description after setting it"))?;
    let sdp = local.sdp();
    match local.type_() {
        RtcSdpType::Offer => Ok(Signal::Offer { sdp }),
        RtcSdpType::Answer => Ok(Signal::Answer { sdp }),
        other => Err(JsValue::from_str(&format!(
            "unexpected local description {other:?}"
        ))),
    }
}

/// `pc.restartIce()`: the next offer carries new ICE credentials.
pub fn restart_ice(pc: &RtcPeerConnection) -> Result<(), JsValue> {
    call_method(pc, "restartIce").map(|_| ())
}

pub fn description(kind: RtcSdpType, sdp: &str) -> RtcSessionDescriptionInit {
    let description = RtcSessionDescriptionInit::new(kind);
    description.set_sdp(sdp);
    description
}

/// Milliseconds since the page loaded; never goes backwards.
pub fn now() -> Millis {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now() as Millis)
        .unwrap_or(0)
}

/// A random number in `0.0..1.0`.
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// A JavaScript error (or anything thrown) in words.
pub fn describe(error: JsValue) -> String {
    error
        .as_string()
        .or_else(|| {
            Reflect::get(&error, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{error:?}"))
}

/// A warning on the browser's console, for whoever debugs a call.
pub fn log(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(message));
}
