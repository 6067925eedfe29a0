//! What a self-hoster watches: Prometheus metrics, served at `/metrics` on a listener
//! of their own (`--metrics-listen`), never on the public one.
//!
//! Counters are recorded where things happen (with the `metrics` crate's macros);
//! the gauges of what is open now are read from the signaling hub at each scrape.

use crate::signaling::Signaling;
use app::protocol::Signal;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics::Counter;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};

/// Signaling messages relayed to one peer, by type (offer, answer, candidate, …).
pub const MESSAGES_RELAYED: &str = "parley_messages_relayed_total";
/// Errors sent to participants, by protocol error code.
pub const ERRORS_SENT: &str = "parley_errors_sent_total";
/// Signaling WebSocket upgrades refused, by reason.
pub const UPGRADES_REFUSED: &str = "parley_upgrades_refused_total";
/// Participants who came back on a new connection and kept their place.
pub const RESUMES: &str = "parley_resumes_total";
/// Times someone asked to join a meeting (a knock accepted into its waiting room).
pub const KNOCKS: &str = "parley_knocks_total";
/// Datagrams the media port dropped: over one source's rate.
pub const MEDIA_DATAGRAMS_REFUSED: &str = "parley_media_datagrams_refused_total";
/// Datagrams the media port sent (forwarded media, RTCP, ICE and DTLS).
pub const MEDIA_DATAGRAMS_SENT: &str = "parley_media_datagrams_sent_total";
/// Bytes the media port sent.
pub const MEDIA_BYTES_SENT: &str = "parley_media_bytes_sent_total";
/// Datagrams the media port could not send (its socket's send buffer was full).
pub const MEDIA_DATAGRAMS_UNSENT: &str = "parley_media_datagrams_unsent_total";
/// Meetings started.
pub const MEETINGS_CREATED: &str = "parley_meetings_created_total";
/// "New meeting" requests refused over the per-address limit.
pub const MEETINGS_REFUSED: &str = "parley_new_meetings_refused_total";
/// Meetings deleted after nobody joined them for the expiry period.
pub const MEETINGS_EXPIRED: &str = "parley_meetings_expired_total";
/// HTTP responses, by status code.
pub const HTTP_RESPONSES: &str = "parley_http_responses_total";
/// Participants disconnected because the server held more than its budget.
pub const SHED: &str = "parley_participants_shed_total";
/// Connections closed as soon as accepted, over the per-address limit.
pub const CONNECTIONS_REFUSED: &str = "parley_http_connections_refused_total";

const CONNECTIONS: &str = "parley_signaling_connections";
const MEETINGS_IN_PROGRESS: &str = "parley_meetings_in_progress";
const PARTICIPANTS: &str = "parley_participants";
const HELD_BYTES: &str = "parley_held_bytes";
const HELD_BYTES_BUDGET: &str = "parley_held_bytes_budget";

/// The process's metrics recorder, installed on first use. `None` when another
/// recorder was installed first (then Parley's metrics go there).
fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => {
                describe();
                Some(handle)
            }
            Err(error) => {
                tracing::warn!(%error, "could not install the metrics recorder");
                None
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!(MESSAGES_RELAYED, "Signaling messages relayed, by type.");
    describe_counter!(ERRORS_SENT, "Errors sent to participants, by code.");
    describe_counter!(
        UPGRADES_REFUSED,
        "Signaling connections refused, by reason."
    );
    describe_counter!(
        RESUMES,
        "Participants who resumed after a dropped connection."
    );
    describe_counter!(KNOCKS, "Times someone asked to join a meeting.");
    describe_counter!(
        MEDIA_DATAGRAMS_REFUSED,
        "Datagrams the media port dropped, over one source's rate."
    );
    describe_counter!(
        MEDIA_DATAGRAMS_SENT,
        "Datagrams the media port sent (forwarded media, RTCP, ICE and DTLS)."
    );
    describe_counter!(MEDIA_BYTES_SENT, "Bytes the media port sent.");
    describe_counter!(
        MEDIA_DATAGRAMS_UNSENT,
        "Datagrams the media port could not send (its socket's send buffer was full)."
    );
    describe_counter!(MEETINGS_CREATED, "Meetings started.");
    describe_counter!(
        MEETINGS_REFUSED,
        "New meetings refused over the per-address limit."
    );
    describe_counter!(
        MEETINGS_EXPIRED,
        "Meetings deleted after the expiry period."
    );
    describe_counter!(HTTP_RESPONSES, "HTTP responses, by status.");
    describe_counter!(
        SHED,
        "Participants disconnected because the server held more than its budget."
    );
    describe_counter!(
        CONNECTIONS_REFUSED,
        "Connections closed at once, over the per-address limit."
    );
    describe_gauge!(
        HELD_BYTES,
        "Bytes held for participants: waiting to be sent and kept for resumes."
    );
    describe_gauge!(
        HELD_BYTES_BUDGET,
        "The most bytes the server holds for participants."
    );
    describe_gauge!(CONNECTIONS, "Open signaling WebSocket connections.");
    describe_gauge!(MEETINGS_IN_PROGRESS, "Meetings with someone in them.");
    describe_gauge!(PARTICIPANTS, "Participants in all meetings.");
}

/// Starts recording (call once at startup, before anything is counted).
pub fn install() {
    recorder();
}

/// The router of the metrics listener: `GET /metrics` in Prometheus' text format.
pub fn router(signaling: Arc<Signaling>) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(signaling)
}

async fn render(State(signaling): State<Arc<Signaling>>) -> Response {
    let Some(handle) = recorder() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are recorded elsewhere in this process\n",
        )
            .into_response();
    };
    let (meetings, participants) = signaling.census();
    metrics::gauge!(CONNECTIONS).set(signaling.connections() as f64);
    metrics::gauge!(MEETINGS_IN_PROGRESS).set(meetings as f64);
    metrics::gauge!(PARTICIPANTS).set(participants as f64);
    metrics::gauge!(HELD_BYTES).set(signaling.held_bytes() as f64);
    metrics::gauge!(HELD_BYTES_BUDGET).set(signaling.hub.held().budget() as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// The relayed-message counters, one per message type, looked up once when signaling
/// starts: the `counter!` macro finds its counter by hashing the name and labels in
/// the registry every time, which on the relay path is done for every message.
#[derive(Clone)]
pub struct RelayedCounters {
    offer: Counter,
    answer: Counter,
    candidate: Counter,
    rebuild: Counter,
    media: Counter,
}

impl RelayedCounters {
    /// The counters of the recorder installed now (call after [`install`]).
    pub fn new() -> Self {
        let counter = |kind: &'static str| metrics::counter!(MESSAGES_RELAYED, "type" => kind);
        Self {
            offer: counter("offer"),
            answer: counter("answer"),
            candidate: counter("candidate"),
            rebuild: counter("rebuild"),
            media: counter("media"),
        }
    }

    /// Counts a relayed signal.
    pub fn signal(&self, signal: &Signal) {
        match signal {
            Signal::Offer { .. } => &self.offer,
            Signal::Answer { .. } => &self.answer,
            Signal::Candidate { .. } => &self.candidate,
            Signal::Rebuild => &self.rebuild,
        }
        .increment(1);
    }

    /// Counts a microphone/camera state sent to the room.
    pub fn media(&self) {
        self.media.increment(1);
    }
}

impl Default for RelayedCounters {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware: counts HTTP responses by status.
pub async fn count_responses(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    metrics::counter!(HTTP_RESPONSES, "status" => response.status().as_str().to_owned())
        .increment(1);
    response
}
