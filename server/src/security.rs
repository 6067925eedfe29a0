//! Security headers on every response: a Content-Security-Policy the app satisfies,
//! no referrer (a meeting link holds its code), no framing, and camera, microphone and
//! screen capture for this site only.
//!
//! The only inline scripts are the ones Leptos writes into a page to start the browser
//! app; they carry a nonce, fresh for every response, which the policy names.

use axum::extract::Request;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::nonce::Nonce;
use leptos::prelude::{provide_context, use_context};

/// The nonce of one response's inline scripts: Leptos' own (128 random bits, base64url).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptNonce(Nonce);

impl ScriptNonce {
    pub fn generate() -> Self {
        Self(Nonce::new())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Content-Security-Policy for a response whose inline scripts carry this nonce.
    pub fn policy(&self) -> String {
        let nonce = self.as_str();
        [
            "default-src 'self'",
            // The app's module and, for the wasm, WebAssembly compilation; inline only
            // the scripts Leptos marks with the nonce.
            &format!("script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
            // Stylesheets from the site; style attributes (a tile grid's column count,
            // the level meter's width) are allowed, <style> elements are not.
            "style-src 'self'",
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: mediastream:",
            // Server functions, the wasm, and the signaling WebSocket (same host).
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
        .join("; ")
    }
}

/// The browser features the site may use, only for itself; none for anything embedded.
const PERMISSIONS_POLICY: &str = "camera=(self), microphone=(self), display-capture=(self), \
     fullscreen=(self), geolocation=(), payment=(), usb=()";

static PERMISSIONS_POLICY_HEADER: HeaderName = HeaderName::from_static("permissions-policy");

/// Middleware: draws the response's script nonce (left in the request for the page
/// renderer, see [`provide_script_nonce`]) and sets the security headers.
pub async fn headers(mut request: Request, next: Next) -> Response {
    let nonce = ScriptNonce::generate();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    match HeaderValue::from_str(&nonce.policy()) {
        Ok(policy) => {
            headers.insert(CONTENT_SECURITY_POLICY, policy);
        }
        // Cannot happen: the policy is ASCII. Refuse rather than serve without one.
        Err(error) => {
            tracing::error!(%error, "the Content-Security-Policy is not a valid header");
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        PERMISSIONS_POLICY_HEADER.clone(),
        HeaderValue::from_static(PERMISSIONS_POLICY),
    );
    response
}

/// Leptos context for a page render: hands the request's nonce to Leptos, which puts
/// it on the inline scripts it writes (hydration, streamed resources).
pub fn provide_script_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<ScriptNonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_differ_and_are_named_by_the_policy() {
        let (a, b) = (ScriptNonce::generate(), ScriptNonce::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 22, "16 bytes in base64 without padding");
        assert!(a.policy().contains(&format!("'nonce-{}'", a.as_str())));
        assert!(a.policy().contains("frame-ancestors 'none'"));
        let scripts = a
            .policy()
            .split("; ")
            .find(|directive| directive.starts_with("script-src "))
            .map(str::to_owned)
            .unwrap();
        assert!(!scripts.contains("'unsafe-eval'"), "{scripts}");
        assert!(!scripts.contains("'unsafe-inline'"), "{scripts}");
        assert!(HeaderValue::from_str(&a.policy()).is_ok());
    }
}
