//! Reads a connection's statistics (`getStats`, which does not block the page) into a
//! [`Sample`]: the selected candidate pair's route, round-trip time and byte counts,
//! and the packets received and lost.

use crate::call::details::{Route, Sample};
use crate::call::negotiation::Millis;
use js_sys::{Map, Reflect};
use std::collections::HashMap;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::RtcPeerConnection;

/// One reading of `pc`'s statistics, taken at `at`.
pub async fn sample(pc: &RtcPeerConnection, at: Millis) -> Option<Sample> {
    let report = JsFuture::from(pc.get_stats()).await.ok()?;
    // An RTCStatsReport is a read-only map from ids to plain objects.
    let report: Map = report.unchecked_into();
    let mut stats: Vec<JsValue> = Vec::new();
    report.for_each(&mut |value, _| stats.push(value));

    let mut candidate_types = HashMap::new();
    let mut selected_pair_id = None;
    let mut pairs = Vec::new();
    let mut sample = Sample {
        at,
        ..Sample::default()
    };
    for stat in &stats {
        match text(stat, "type").as_deref() {
            Some("local-candidate" | "remote-candidate") => {
                if let (Some(id), Some(kind)) = (text(stat, "id"), text(stat, "candidateType")) {
                    candidate_types.insert(id, kind);
                }
            }
            Some("transport") => {
                selected_pair_id = selected_pair_id.or(text(stat, "selectedCandidatePairId"));
            }
            Some("candidate-pair") => pairs.push(stat),
            Some("inbound-rtp") => {
                sample.packets_received += count(stat, "packetsReceived");
                sample.packets_lost += count(stat, "packetsLost");
            }
            _ => {}
        }
    }
    // The transport names the selected pair; where it does not, the nominated one.
    let selected = pairs
        .iter()
        .find(|pair| text(pair, "id").is_some_and(|id| Some(id) == selected_pair_id))
        .or_else(|| {
            pairs.iter().find(|pair| {
                flag(pair, "nominated") && text(pair, "state").as_deref() == Some("succeeded")
            })
        });
    if let Some(pair) = selected {
        let kind = |field| {
            text(pair, field)
                .and_then(|id| candidate_types.get(&id).cloned())
                .unwrap_or_default()
        };
        sample.route = Route::of(&kind("localCandidateId"), &kind("remoteCandidateId"));
        sample.round_trip_ms = number(pair, "currentRoundTripTime").map(|s| s * 1_000.0);
        sample.bytes_sent = count(pair, "bytesSent");
        sample.bytes_received = count(pair, "bytesReceived");
    }
    Some(sample)
}

/// Whether `pc` has decoded frames of the received video track `track_id`.
pub async fn decoding(pc: &RtcPeerConnection, track_id: &str) -> bool {
    let Ok(report) = JsFuture::from(pc.get_stats()).await else {
        return false;
    };
    let report: Map = report.unchecked_into();
    let mut decoding = false;
    report.for_each(&mut |stat, _| {
        decoding |= text(&stat, "type").as_deref() == Some("inbound-rtp")
            && text(&stat, "trackIdentifier").as_deref() == Some(track_id)
            && count(&stat, "framesDecoded") > 0;
    });
    decoding
}

fn field(stat: &JsValue, name: &str) -> JsValue {
    Reflect::get(stat, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn text(stat: &JsValue, name: &str) -> Option<String> {
    field(stat, name).as_string()
}

fn number(stat: &JsValue, name: &str) -> Option<f64> {
    field(stat, name).as_f64()
}

fn count(stat: &JsValue, name: &str) -> u64 {
    number(stat, name).map_or(0, |n| n.max(0.0) as u64)
}

fn flag(stat: &JsValue, name: &str) -> bool {
    field(stat, name).as_bool().unwrap_or(false)
}
