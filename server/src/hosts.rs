//! Who started a meeting, and which browser is which, without accounts: the cookies
//! Parley sets.
//!
//! - The **host cookie** (`parley_host_<code>`, HttpOnly, SameSite=Strict) goes to
//!   the browser that started the meeting. Its value is the meeting's host secret: an
//!   HMAC of the meeting's code under a key kept in the database, so the server checks
//!   it without storing one per meeting, and after a restart too. It never appears in
//!   a link.
//! - The **browser cookie** (`parley_browser`, HttpOnly, SameSite=Lax) is a random id
//!   given to any browser opening a meeting's page. It grants nothing; it lets the
//!   server recognise someone a host removed when they open the link again.

use crate::store::RoomStore;
use app::protocol::Access;
use app::room_code::RoomCode;
use app::rooms::{
    BoxFuture, DirectoryError, RoomDirectory, RoomInfo, HOST_COOKIE_MAX_AGE, HOST_COOKIE_PREFIX,
};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::sync::Arc;

/// Names the host key in the database.
pub const HOST_KEY: &str = "host-secret-key";
/// Separates this use of the key from any other.
const CONTEXT: &[u8] = b"parley host secret v1";
/// Bytes of the MAC in a host secret (128 bits).
const SECRET_BYTES: usize = 16;

/// The browser cookie's name.
pub const BROWSER_COOKIE: &str = "parley_browser";
/// The longest browser id read back (what Parley sets is 22 characters).
const MAX_BROWSER_ID: usize = 32;

/// Makes and checks meetings' host secrets.
pub struct HostKeys {
    key: Vec<u8>,
}

impl HostKeys {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, code: &RoomCode) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(CONTEXT);
        mac.update(code.as_str().as_bytes());
        mac
    }

    /// The host secret of meeting `code`.
    pub fn secret(&self, code: &RoomCode) -> String {
        URL_SAFE_NO_PAD.encode(&self.mac(code).finalize().into_bytes()[..SECRET_BYTES])
    }

    /// Whether `secret` is meeting `code`'s host secret (compared in constant time).
    pub fn verify(&self, code: &RoomCode, secret: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(secret) else {
            return false;
        };
        bytes.len() == SECRET_BYTES && self.mac(code).verify_truncated_left(&bytes).is_ok()
    }
}

/// What a browser's cookies say about it, read when its signaling connection opens
/// (and passed to the node that hosts the meeting, when that is another).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Visitor {
    /// `(meeting code, secret)` of each host cookie sent (unchecked).
    host_cookies: Vec<(String, String)>,
    /// Its browser id, when it has one.
    browser: Option<String>,
}

/// Host cookies read from one request at most (a browser sends one per meeting it
/// started; more are ignored).
const MAX_HOST_COOKIES: usize = 64;

impl Visitor {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut visitor = Self::default();
        let pairs = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='));
        for (name, value) in pairs {
            if let Some(code) = name.strip_prefix(HOST_COOKIE_PREFIX) {
                if visitor.host_cookies.len() < MAX_HOST_COOKIES {
                    visitor
                        .host_cookies
                        .push((code.to_owned(), value.to_owned()));
                }
            } else if name == BROWSER_COOKIE && is_browser_id(value) {
                visitor.browser = Some(value.to_owned());
            }
        }
        visitor
    }

    /// Whether this browser holds meeting `code`'s host secret.
    pub fn is_host(&self, keys: &HostKeys, code: &RoomCode) -> bool {
        self.host_cookies
            .iter()
            .any(|(cookie_code, secret)| cookie_code == code.as_str() && keys.verify(code, secret))
    }

    pub fn browser(&self) -> Option<&str> {
        self.browser.as_deref()
    }
}

fn is_browser_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_BROWSER_ID
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Middleware: gives a browser id to a browser that has none, on pages (GET
/// requests answered with HTML).
pub async fn browser_cookie(request: Request, next: Next) -> Response {
    let has_one = Visitor::from_headers(request.headers()).browser.is_some();
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if !has_one && is_page {
        let mut id = [0u8; 16];
        rand::rng().fill_bytes(&mut id);
        let cookie = format!(
            "{BROWSER_COOKIE}={}; Path=/; Max-Age={HOST_COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax",
            URL_SAFE_NO_PAD.encode(id)
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The meetings as pages see them: the room store, which also hands the creator of a
/// meeting its host secret.
pub struct Meetings {
    pub store: RoomStore,
    pub hosts: Arc<HostKeys>,
}

impl RoomDirectory for Meetings {
    fn create(
        &self,
        name: String,
        access: Access,
    ) -> BoxFuture<'_, Result<(RoomInfo, String), DirectoryError>> {
        Box::pin(async move {
            let settings = app::protocol::MeetingSettings {
                access,
                ..Default::default()
            };
            let mut room = self
                .store
                .create(&name, settings)
                .await
                .map_err(|e| DirectoryError(e.to_string()))?;
            metrics::counter!(crate::monitoring::MEETINGS_CREATED).increment(1);
            let secret = self.hosts.secret(&room.code);
            room.hosting = true;
            Ok((room, secret))
        })
    }

    fn find<'a>(
        &'a self,
        code: &'a RoomCode,
    ) -> BoxFuture<'a, Result<Option<RoomInfo>, DirectoryError>> {
        Box::pin(async move {
            self.store
                .find(code)
                .await
                .map_err(|e| DirectoryError(e.to_string()))
        })
    }
}

/// A new random key for host secrets.
pub fn new_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> RoomCode {
        RoomCode::parse(text).unwrap()
    }

    fn cookies(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn a_host_secret_opens_its_own_meeting_only() {
        let keys = HostKeys::new(vec![7; 32]);
        let meeting = code("abc-defg-hij");
        let other = code("zzz-zzzz-zzz");
        let secret = keys.secret(&meeting);
        assert!(keys.verify(&meeting, &secret));
        assert!(!keys.verify(&other, &secret));
        assert!(
            !HostKeys::new(vec![8; 32]).verify(&meeting, &secret),
            "another server's key"
        );
        assert!(!keys.verify(&meeting, "not base64!"));
        assert!(!keys.verify(&meeting, &secret[..10]));

        let visitor = Visitor::from_headers(&cookies(&format!(
            "a=b; parley_host_abc-defg-hij={secret}; parley_browser=Xy_9-z"
        )));
        assert!(visitor.is_host(&keys, &meeting));
        assert!(!visitor.is_host(&keys, &other));
        assert_eq!(visitor.browser(), Some("Xy_9-z"));
        // The secret of one meeting under another meeting's cookie name.
        let swapped =
            Visitor::from_headers(&cookies(&format!("parley_host_zzz-zzzz-zzz={secret}")));
        assert!(!swapped.is_host(&keys, &other));
    }

    #[test]
    fn odd_browser_ids_are_ignored() {
        let long = "x".repeat(MAX_BROWSER_ID + 1);
        for value in ["", "<script>", long.as_str(), "a b"] {
            let visitor = Visitor::from_headers(&cookies(&format!("parley_browser={value}")));
            assert_eq!(visitor.browser(), None, "{value:?}");
        }
    }
}
