//! Building blocks of an RTCPeerConnection that the peer's negotiation uses: a new
//! connection with Parley's ICE servers, the receive-only lines an offer needs, a
//! camera's line in simulcast layers, `replaceTrack`, and a sender's bitrate and
//! resolution limit.

use super::shims::{describe, log};
use crate::call::video_budget::{simulcast_layers_for, simulcast_limits, SendLimit};
use crate::protocol::{
    simulcast_layer, IceServer, IceTransportPolicy, SIMULCAST_LAYERS, SIMULCAST_SCALE_DOWN,
};
use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, MediaStreamTrack, RtcConfiguration, RtcIceServer,
    RtcIceTransportPolicy as JsPolicy, RtcPeerConnection, RtcRtpEncodingParameters, RtcRtpSender,
    RtcRtpTransceiver, RtcRtpTransceiverDirection, RtcRtpTransceiverInit, RtcSignalingState,
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

/// Adds a line sending `track` (in `stream`) in Parley's simulcast layers, so that
/// the server can send each receiver the size they show it at: as many layers as the
/// camera's size allows (see `simulcast_layers_for`; a camera off now counts as large).
/// The layers stay those of the camera at the time (a device switched to later is
/// sent in the same ones).
pub(super) fn add_simulcast_camera(
    pc: &RtcPeerConnection,
    track: &MediaStreamTrack,
    stream: &MediaStream,
    camera_on: bool,
) -> RtcRtpSender {
    let settings = track.get_settings();
    let (width, height) = match (camera_on, settings.get_width(), settings.get_height()) {
        (true, Some(width), Some(height)) => (width.max(0) as u32, height.max(0) as u32),
        _ => (1280, 720),
    };
    let layers = simulcast_layers_for(width, height);
    if layers.len() < 2 {
        // One layer is no simulcast: a plain line, forwarded whole.
        return pc.add_track_0(track, stream);
    }
    let init = RtcRtpTransceiverInit::new();
    init.set_streams(&Array::of1(stream));
    let encodings = Array::new();
    for &layer in layers {
        let encoding = RtcRtpEncodingParameters::new();
        encoding.set_rid(SIMULCAST_LAYERS[layer]);
        encoding.set_scale_resolution_down_by(SIMULCAST_SCALE_DOWN[layer]);
        encodings.push(&encoding);
    }
    init.set_send_encodings(&encodings);
    pc.add_transceiver_with_media_stream_track_and_init(track, &init)
        .sender()
}

/// Limits what `sender` sends (`setParameters`, no renegotiation). `None` when it has
/// no encodings to limit yet (before its first negotiation): try again later.
pub(super) fn limit_sender(sender: &RtcRtpSender, limit: SendLimit) -> Option<js_sys::Promise> {
    let parameters = sender.get_parameters();
    let encodings = parameters.get_encodings()?;
    if encodings.length() == 0 {
        return None;
    }
    // A camera sent in simulcast layers (to the server) shares the limit among them.
    let layers = simulcast_limits(limit);
    for encoding in encodings.iter() {
        let encoding: RtcRtpEncodingParameters = encoding.unchecked_into();
        let layer = encoding.get_rid().and_then(|rid| simulcast_layer(&rid));
        let limit = layer.map_or(limit, |layer| layers[layer]);
        encoding.set_max_bitrate(limit.max_bitrate_bps);
        encoding.set_scale_resolution_down_by(limit.scale_down_by);
    }
    Some(sender.set_parameters_with_parameters(&parameters))
}
