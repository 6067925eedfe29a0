//! Prometheus metrics at /metrics on their own listener, after a short call.

mod common;

use common::{http, metric, TestServer};
use reqwest::StatusCode;
use serde_json::json;

/// The value of the sample named `series` (with its labels, as Prometheus prints
/// them); 0 when there is none yet.
fn sample(metrics: &str, series: &str) -> f64 {
    metric(metrics, series).unwrap_or(0.0)
}

async fn scrape(server: &TestServer) -> String {
    let addr = server.metrics_addr.expect("a metrics listener");
    let response = http()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_a_short_call_and_stay_off_the_public_listener() {
    let server = TestServer::fresh_tuned(|config| {
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let before = scrape(&server).await;
    let room = server.create_room("Counted").await;
    let mut a = server.connect().await;
    let mut b = server.connect().await;
    let a_id = a.join(&room, "A").await.you;
    let b_id = b.join(&room, "B").await.you;
    a.recv().await; // B joined
    a.send_json(json!({"type": "signal", "to": b_id.0, "signal": {"kind": "offer", "sdp": "v=0"}}))
        .await;
    b.recv().await;
    b.send_json(
        json!({"type": "signal", "to": a_id.0, "signal": {"kind": "answer", "sdp": "v=0"}}),
    )
    .await;
    a.recv().await;
    a.send_text("not json").await;
    a.recv().await; // the bad_message error

    let during = scrape(&server).await;
    assert_eq!(
        sample(&during, "parley_signaling_connections"),
        2.0,
        "{during}"
    );
    assert_eq!(
        sample(&during, "parley_meetings_in_progress"),
        1.0,
        "{during}"
    );
    assert_eq!(sample(&during, "parley_participants"), 2.0, "{during}");
    let moved = |series: &str| sample(&during, series) - sample(&before, series);
    assert_eq!(moved("parley_meetings_created_total"), 1.0, "{during}");
    assert_eq!(
        moved("parley_messages_relayed_total{type=\"offer\"}"),
        1.0,
        "{during}"
    );
    assert_eq!(
        moved("parley_messages_relayed_total{type=\"answer\"}"),
        1.0,
        "{during}"
    );
    assert_eq!(
        moved("parley_errors_sent_total{code=\"bad_message\"}"),
        1.0,
        "{during}"
    );
    // The two WebSocket upgrades.
    assert_eq!(
        moved("parley_http_responses_total{status=\"101\"}"),
        2.0,
        "{during}"
    );

    // A foreign page's signaling connection is refused and counted.
    let refused =
        common::client::Client::try_connect(&server.ws_url(), Some("https://elsewhere.example"))
            .await;
    assert!(refused.is_err());
    let after = scrape(&server).await;
    assert_eq!(
        sample(&after, "parley_upgrades_refused_total{reason=\"origin\"}")
            - sample(&before, "parley_upgrades_refused_total{reason=\"origin\"}"),
        1.0,
        "{after}"
    );

    // Not on the public listener.
    let public = http().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    assert!(!public.text().await.unwrap().contains("parley_"));
    server.stop().await;
}
