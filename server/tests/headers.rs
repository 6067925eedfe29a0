//! Security headers on pages, assets and errors, over real HTTP.

mod common;

use common::{http, TestServer};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

/// Asserts every security header, and returns the policy's script nonce.
fn assert_security_headers(what: &str, headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("{what}: no {name} header"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    let permissions = header("permissions-policy");
    for feature in [
        "camera=(self)",
        "microphone=(self)",
        "display-capture=(self)",
    ] {
        assert!(permissions.contains(feature), "{what}: {permissions}");
    }
    let policy = header("content-security-policy");
    for directive in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "connect-src 'self'",
        "object-src 'none'",
    ] {
        assert!(policy.contains(directive), "{what}: {policy}");
    }
    let scripts = policy
        .split("; ")
        .find(|directive| directive.starts_with("script-src "))
        .unwrap_or_else(|| panic!("{what}: no script-src in {policy}"));
    assert!(scripts.contains("'wasm-unsafe-eval'"), "{what}: {scripts}");
    assert!(!scripts.contains("'unsafe-inline'"), "{what}: {scripts}");
    scripts
        .split(' ')
        .find_map(|source| source.strip_prefix("'nonce-"))
        .and_then(|nonce| nonce.strip_suffix('\''))
        .unwrap_or_else(|| panic!("{what}: no nonce in {scripts}"))
        .to_owned()
}

#[tokio::test]
async fn pages_assets_and_errors_carry_the_security_headers() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/parley.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let site_root = site.path().to_owned();
    let server = TestServer::fresh_tuned(move |config| config.site_root = Some(site_root)).await;
    let meeting = server.create_room("Headers").await.path();

    let mut nonces = Vec::new();
    for path in ["/", meeting.as_str()] {
        let response = http().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let nonce = assert_security_headers(path, response.headers());
        let body = response.text().await.unwrap();
        // Every inline script Leptos writes carries the nonce the policy names.
        let inline_scripts = body.matches("<script").count();
        assert!(inline_scripts > 0, "{path}: {body}");
        assert_eq!(
            body.matches(&format!("nonce=\"{nonce}\"")).count(),
            inline_scripts,
            "{path}: {body}"
        );
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce for every response");

    let wasm = http()
        .get(server.url("/pkg/parley.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.status(), StatusCode::OK);
    assert_security_headers("the wasm", wasm.headers());

    let missing = http()
        .get(server.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_security_headers("a 404", missing.headers());
    server.stop().await;
}
