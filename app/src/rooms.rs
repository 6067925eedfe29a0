//! Meetings as the pages see them: the server function that creates one, and looking
//! one up before the server renders its page.
//!
//! The home page posts to [`create_room`], which reaches the [`RoomDirectory`] that the
//! server binary provides as context (SQLite there); the server calls [`look_up`] for
//! a meeting's page.

use crate::protocol::Access;
use crate::room_code::RoomCode;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Longest meeting name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 80;
/// The name a meeting gets when its creator gives none.
pub const DEFAULT_NAME: &str = "Parley meeting";

/// A meeting room as shown to people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub code: RoomCode,
    pub name: String,
    /// Whether the link is enough to come in, or people ask to join.
    #[serde(default)]
    pub access: Access,
    /// Whether the browser viewing the page holds the meeting's host cookie (so it
    /// joins without asking). Only for showing: the server decides on joining.
    #[serde(default)]
    pub hosting: bool,
}

/// The cookie that proves a browser started meeting `code` (its value the meeting's
/// host secret): `parley_host_abc-defg-hij`. It is HttpOnly and SameSite=Strict, sent
/// with every request to the site (so with the signaling connection), never in a link.
pub fn host_cookie_name(code: &RoomCode) -> String {
    format!("{HOST_COOKIE_PREFIX}{code}")
}

/// What every host cookie's name begins with.
pub const HOST_COOKIE_PREFIX: &str = "parley_host_";

/// A host cookie lives this long (seconds): a meeting not used for so long is gone.
pub const HOST_COOKIE_MAX_AGE: u64 = 400 * 24 * 3600;

/// Turns what the creator typed into a meeting name: trimmed, control characters
/// removed, at most [`MAX_NAME_CHARS`], and [`DEFAULT_NAME`] when nothing is left.
pub fn clean_room_name(raw: &str) -> String {
    let name: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect::<String>()
        .trim()
        .to_owned();
    if name.is_empty() {
        DEFAULT_NAME.to_owned()
    } else {
        name
    }
}

#[cfg(feature = "ssr")]
pub use directory::{BoxFuture, DirectoryError, RoomDirectory, SharedDirectory};

#[cfg(feature = "ssr")]
mod directory {
    use super::RoomInfo;
    use crate::protocol::Access;
    use crate::room_code::RoomCode;
    use std::{future::Future, pin::Pin, sync::Arc};

    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    #[derive(Debug, thiserror::Error)]
    #[error("room storage failed: {0}")]
    pub struct DirectoryError(pub String);

    /// Where rooms live. The server implements it over SQLite; pages reach it as context.
    pub trait RoomDirectory: Send + Sync + 'static {
        /// Creates a room with a fresh code, the given (already cleaned) name and
        /// access, and returns it with its host secret (the host cookie's value).
        fn create(
            &self,
            name: String,
            access: Access,
        ) -> BoxFuture<'_, Result<(RoomInfo, String), DirectoryError>>;
        /// Finds a room by code; `Ok(None)` when there is none.
        fn find<'a>(
            &'a self,
            code: &'a RoomCode,
        ) -> BoxFuture<'a, Result<Option<RoomInfo>, DirectoryError>>;
    }

    /// The form in which the directory is provided as Leptos context.
    pub type SharedDirectory = Arc<dyn RoomDirectory>;
}

/// Creates a meeting and sends the browser to its page, giving that browser the
/// meeting's host cookie: whoever starts a meeting is its host.
///
/// Posted by the home page's "New meeting" form; works with and without JavaScript.
/// `ask_to_join` is the form's checkbox (present when ticked).
#[server(prefix = "/api", endpoint = "rooms/create")]
pub async fn create_room(
    name: String,
    ask_to_join: Option<String>,
) -> Result<RoomInfo, ServerFnError> {
    let directory = use_context::<SharedDirectory>()
        .ok_or_else(|| ServerFnError::new("room directory missing from context"))?;
    let access = match ask_to_join {
        Some(_) => Access::AskToJoin,
        None => Access::Open,
    };
    let (room, host_secret) = directory
        .create(clean_room_name(&name), access)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not create a room");
            ServerFnError::new("Could not start the meeting. Please try again.")
        })?;
    tracing::info!(code = %room.code, access = access.as_str(), "room created");
    // Over HTTPS (the form's page came from an https origin) the cookie is also Secure.
    let secure = leptos_axum::extract::<http::HeaderMap>()
        .await
        .ok()
        .and_then(|headers| headers.get(http::header::ORIGIN).cloned())
        .is_some_and(|origin| origin.as_bytes().starts_with(b"https://"));
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        let cookie = format!(
            "{}={host_secret}; Path=/; Max-Age={HOST_COOKIE_MAX_AGE}; HttpOnly; SameSite=Strict{}",
            host_cookie_name(&room.code),
            if secure { "; Secure" } else { "" }
        );
        if let Ok(value) = http::HeaderValue::from_str(&cookie) {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }
    leptos_axum::redirect(&room.code.path());
    Ok(room)
}

/// What the server found for the code in a meeting page's address. The server looks
/// the meeting up before it renders the page ([`look_up`]), and the page carries the
/// answer to the browser app: the app itself has no way to look meetings up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MeetingLookup {
    Found(RoomInfo),
    /// No meeting has this code (or it is not a code at all).
    NotFound,
    /// The lookup failed; the words say so to the person.
    Failed(String),
}

/// Looks the meeting a page's address names up. Malformed codes are simply not found.
#[cfg(feature = "ssr")]
pub async fn look_up(directory: &dyn RoomDirectory, code: &str) -> MeetingLookup {
    let Ok(code) = RoomCode::parse(code) else {
        return MeetingLookup::NotFound;
    };
    match directory.find(&code).await {
        Ok(Some(room)) => MeetingLookup::Found(room),
        Ok(None) => MeetingLookup::NotFound,
        Err(e) => {
            tracing::error!(error = %e, %code, "could not look a room up");
            MeetingLookup::Failed("could not look the meeting up, please try again".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_room_name("  Standup  "), "Standup");
        assert_eq!(clean_room_name(""), DEFAULT_NAME);
        assert_eq!(clean_room_name(" \t "), DEFAULT_NAME);
        assert_eq!(clean_room_name("a\u{0}b\nc"), "abc");
        assert_eq!(
            clean_room_name(&"x".repeat(500)).chars().count(),
            MAX_NAME_CHARS
        );
        assert_eq!(
            clean_room_name(&"é".repeat(100)).chars().count(),
            MAX_NAME_CHARS
        );
    }

    /// A directory holding one meeting, or failing every lookup.
    #[cfg(feature = "ssr")]
    struct OneMeeting {
        broken: bool,
    }

    #[cfg(feature = "ssr")]
    impl RoomDirectory for OneMeeting {
        fn create(
            &self,
            _name: String,
            _access: Access,
        ) -> BoxFuture<'_, Result<(RoomInfo, String), DirectoryError>> {
            Box::pin(async { Err(DirectoryError("not here".into())) })
        }

        fn find<'a>(
            &'a self,
            code: &'a RoomCode,
        ) -> BoxFuture<'a, Result<Option<RoomInfo>, DirectoryError>> {
            Box::pin(async move {
                if self.broken {
                    return Err(DirectoryError("the disk is gone".into()));
                }
                Ok((code.to_string() == "abc-defg-hij").then(|| RoomInfo {
                    code: code.clone(),
                    name: "Standup".into(),
                    access: Access::Open,
                    hosting: false,
                }))
            })
        }
    }

    /// The directory's futures above finish at once.
    #[cfg(feature = "ssr")]
    fn now<T>(future: impl std::future::Future<Output = T>) -> T {
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match std::future::Future::poll(std::pin::pin!(future), &mut context) {
            std::task::Poll::Ready(value) => value,
            std::task::Poll::Pending => panic!("the lookup did not finish at once"),
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_meeting_page_gets_its_meeting_or_says_why_not() {
        let working = OneMeeting { broken: false };
        match now(look_up(&working, "abc-defg-hij")) {
            MeetingLookup::Found(room) => assert_eq!(room.name, "Standup"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            now(look_up(&working, "zzz-zzzz-zzz")),
            MeetingLookup::NotFound
        );
        // A malformed code never reaches the directory.
        let broken = OneMeeting { broken: true };
        assert_eq!(now(look_up(&broken, "not a code")), MeetingLookup::NotFound);
        assert!(matches!(
            now(look_up(&broken, "abc-defg-hij")),
            MeetingLookup::Failed(_)
        ));
    }
}
