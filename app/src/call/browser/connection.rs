//! Building blocks of an RTCPeerConnection that the peer's negotiation uses: a new
//! connection with Parley's ICE servers, the receive-only lines an offer needs,
//! `replaceTrack`, and a sender's bitrate and resolution limit.

use super::shims::{describe, log};
use crate::call::video_budget::SendLimit;
use crate::protocol::{IceServer, IceTransportPolicy};
use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStreamTrack, RtcConfiguration, RtcIceServer, RtcIceTransportPolicy as JsPolicy,
    RtcPeerConnection, RtcRtpEncodingParameters, RtcRtpSender, RtcRtpTransceiver,
    RtcRtpTransceiverDirection, RtcRtpTransceiverInit, RtcSignalingState,
};

/// Before an offer: a receive-only transceiver for each kind (audio, video) the
/// connection has none of, so the offer has a line for both and the other side can
/// send what it has in its answer.
///
/// Only an offer adds them. Were both sides to add their own before the first
/// exchange, each would need an offer of its own afterwards; two such offers crossing
/// make one side roll its offer back, and in Chromium a rollback can leave the remote
/// video track receiving (the decoder still counts frames) but delivering nothing to
/// the page: a black tile.
pub(super) fn receive_every_kind(pc: &RtcPeerConnection) {
    if pc.signaling_state() != RtcSignalingState::Stable {
        return; // an offer came in: this is the answer, which cannot add lines
    }
    let kinds: Vec<String> = pc
        .get_transceivers()
        .iter()
        .filter_map(|t| t.dyn_into::<RtcRtpTransceiver>().ok())
        .map(|t| t.receiver().track().kind())
        .collect();
    for kind in ["audio", "video"] {
        if !kinds.iter().any(|k| k == kind) {
            let init = RtcRtpTransceiverInit::new();
            init.set_direction(RtcRtpTransceiverDirection::Recvonly);
            pc.add_transceiver_with_str_and_init(kind, &init);
        }
    }
}

/// `sender.replaceTrack(track)`, reporting a failure on the console.
pub(super) fn replace_track(sender: &RtcRtpSender, track: Option<&MediaStreamTrack>) {
    let promise = sender.replace_track(track);
    leptos::task::spawn_local(async move {
        if let Err(error) = JsFuture::from(promise).await {
            log(&format!("could not replace a track: {}", describe(error)));
        }
    });
}

/// A new RTCPeerConnection with the ICE servers Parley gave us.
pub(super) fn new_connection(
    (servers, policy): &(Vec<IceServer>, IceTransportPolicy),
) -> Result<RtcPeerConnection, JsValue> {
    let config = RtcConfiguration::new();
    let list = Array::new();
    for server in servers {
        let entry = RtcIceServer::new();
        let urls = Array::new();
        for url in &server.urls {
            urls.push(&JsValue::from_str(url));
        }
        entry.set_urls(&urls);
        if let Some(username) = &server.username {
            entry.set_username(username);
        }
        if let Some(credential) = &server.credential {
            entry.set_credential(credential);
        }
        list.push(&entry);
    }
    config.set_ice_servers(&list);
    if *policy == IceTransportPolicy::Relay {
        config.set_ice_transport_policy(JsPolicy::Relay);
    }
    RtcPeerConnection::new_with_configuration(&config)
}

/// Limits what `sender` sends (`setParameters`, no renegotiation). `None` when it has
/// no encodings to limit yet (before its first negotiation): try again later.
pub(super) fn limit_sender(sender: &RtcRtpSender, limit: SendLimit) -> Option<js_sys::Promise> {
    let parameters = sender.get_parameters();
    let encodings = parameters.get_encodings()?;
    if encodings.length() == 0 {
        return None;
    }
    for encoding in encodings.iter() {
        let encoding: RtcRtpEncodingParameters = encoding.unchecked_into();
        encoding.set_max_bitrate(limit.max_bitrate_bps);
        encoding.set_scale_resolution_down_by(limit.scale_down_by);
    }
    Some(sender.set_parameters_with_parameters(&parameters))
}
