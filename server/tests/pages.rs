//! The real server over HTTP: creating rooms, room pages, and 404s.

mod common;

use common::{http, TestServer};
use reqwest::StatusCode;

/// Creates a room through the home page's form and returns its page's path.
async fn create_room(server: &TestServer, name: &str) -> String {
    server.create_room(name).await.path()
}

#[tokio::test]
async fn home_page_offers_new_meeting_and_join() {
    let server = TestServer::fresh().await;
    let response = http().get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    assert!(body.contains("New meeting"), "{body}");
    assert!(body.contains("Enter a code or link"), "{body}");
    assert!(
        body.contains("/pkg/parley.js"),
        "the page loads the browser app"
    );
    server.stop().await;
}

#[tokio::test]
async fn created_room_has_a_page_with_its_name_and_code() {
    let server = TestServer::fresh().await;
    let path = create_room(&server, "Design review").await;
    let code = path.trim_start_matches("/r/");
    assert!(app::room_code::RoomCode::parse(code).is_ok(), "{code}");

    let response = http().get(server.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    assert!(body.contains("Design review"), "{body}");
    assert!(body.contains(code), "{body}");
    assert!(body.contains("Ready to join?"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_room_without_a_name_gets_the_default_one() {
    let server = TestServer::fresh().await;
    let path = create_room(&server, "   ").await;
    let body = server.page_text(&path).await;
    assert!(body.contains(app::rooms::DEFAULT_NAME), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn names_are_escaped_in_the_page() {
    let server = TestServer::fresh().await;
    let path = create_room(&server, "</title><script>alert(1)</script>").await;
    let body = server.page_text(&path).await;
    assert!(!body.contains("<script>alert(1)"), "{body}");
    assert!(!body.contains("</title><script>"), "{body}");
    assert!(
        body.contains(
            "<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; · Parley</title>"
        ),
        "the tab title shows the name as text: {body}"
    );
    assert!(body.contains("&lt;script&gt;"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_codes_are_404_pages() {
    let server = TestServer::fresh().await;
    create_room(&server, "Somebody else's meeting").await;
    for path in [
        "/r/zzz-zzzz-zzz",
        "/r/not-a-code",
        "/r/ABC-DEFG-HIJ",
        "/r/abc-defg-hij-klm",
        "/r/%00%00",
        &format!("/r/{}", "a".repeat(5000)),
        "/no/such/page",
    ] {
        let response = http().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains("This meeting doesn&#x27;t exist")
                || body.contains("This meeting doesn't exist"),
            "{path}: {body}"
        );
    }
    // The server is still fine afterwards.
    let response = http().get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn join_without_javascript_redirects_to_the_meeting() {
    let server = TestServer::fresh().await;
    let response = http()
        .get(server.url("/join?code=ABC+DEFG+HIJ"))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    assert_eq!(response.headers()["location"], "/r/abc-defg-hij");

    let response = http()
        .get(server.url("/join?code=nonsense"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn a_restarted_server_still_knows_every_room() {
    // The folder outlives the first server: the second one opens the same file.
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let mut paths = Vec::new();
    for name in ["One", "Two", "Three"] {
        paths.push((name, create_room(&server, name).await));
    }
    let database_url = server.database_url.clone();
    server.stop().await;

    let server = TestServer::start_with(database_url).await;
    for (name, path) in paths {
        let response = http().get(server.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.text().await.unwrap().contains(name));
    }
    server.stop().await;
}
