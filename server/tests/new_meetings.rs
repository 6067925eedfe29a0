//! Limits on meetings: how many one address may start, and how long an unused one is
//! kept. A real server over HTTP with its own SQLite file.

mod common;

use common::{http, TestServer};
use reqwest::StatusCode;
use std::time::Duration;

/// Posts the "New meeting" form, as a browser does (`accept` HTML) or as a script
/// might, from `client` when given (X-Forwarded-For).
async fn post_new_meeting(
    server: &TestServer,
    accept: &str,
    client: Option<&str>,
) -> reqwest::Response {
    let mut request = http()
        .post(server.url("/api/rooms/create"))
        .header("accept", accept)
        .form(&[("name", "Standup")]);
    if let Some(client) = client {
        request = request.header("x-forwarded-for", client);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn one_address_starting_too_many_meetings_is_told_to_wait() {
    let server = TestServer::fresh_tuned(|config| {
        config.max_new_meetings_per_hour = 3;
        config.signaling.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let page = "text/html,application/xhtml+xml";
    for _ in 0..3 {
        let response = post_new_meeting(&server, page, Some("198.51.100.7")).await;
        assert!(response.status().is_redirection(), "{}", response.status());
    }

    let refused = post_new_meeting(&server, page, Some("198.51.100.7")).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1100..=1200).contains(&wait), "a third of an hour: {wait}");
    assert!(refused.headers().contains_key("content-security-policy"));
    let body = refused.text().await.unwrap();
    assert!(body.contains("<h1>Too many new meetings</h1>"), "{body}");
    assert!(body.contains("Please try again in 20 minutes"), "{body}");

    // A caller that does not ask for a page gets the message as server functions
    // report an error.
    let refused = post_new_meeting(&server, "*/*", Some("198.51.100.7")).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = refused.text().await.unwrap();
    assert!(
        body.starts_with("ServerError|Too many new meetings"),
        "{body}"
    );

    // Someone else behind the same proxy is not affected; nor is joining.
    let other = post_new_meeting(&server, page, Some("203.0.113.5")).await;
    assert!(other.status().is_redirection(), "{}", other.status());
    let response = http().get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn a_meeting_nobody_joins_expires_and_its_link_leads_nowhere() {
    let server = TestServer::fresh_tuned(|config| {
        config.meeting_expiry = Duration::from_secs(1);
    })
    .await;
    let path = server.create_room("Soon gone").await.path();
    let response = http().get(server.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Activity is recorded in whole seconds: wait past the next whole second plus the
    // expiry and a sweep (every half expiry).
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let response = http().get(server.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}
