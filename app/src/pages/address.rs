//! Which page an address shows, and what its query says.
//!
//! Parley has three pages, and every move between them is a page load (a meeting's
//! details come with the page the server renders), so the app picks the page from the
//! address itself instead of carrying a client-side router: the server from the
//! request, the browser from `location` when it hydrates, with the same rule.

/// One of Parley's pages, as an address names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    /// `/`: start a meeting or join one.
    Home,
    /// `/r/{code}`: a meeting (the server looks the code up before rendering it).
    Meeting,
    /// Any other address.
    NotFound,
}

/// How a meeting page's path begins; the meeting's code follows.
pub const MEETING_PATH_PREFIX: &str = "/r/";

impl Page {
    pub fn for_path(path: &str) -> Self {
        if path == "/" {
            return Self::Home;
        }
        match path.strip_prefix(MEETING_PATH_PREFIX) {
            Some(code) if !code.is_empty() && !code.contains('/') => Self::Meeting,
            _ => Self::NotFound,
        }
    }

    /// The page at the address being shown.
    pub fn current() -> Self {
        Self::for_path(&current_path())
    }
}

/// The value of `key` in the address's query (`?name=Ada%20L` gives `Ada L`), decoded
/// as a form submission encodes it.
pub fn query_value(key: &str) -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        let parts = leptos::prelude::use_context::<http::request::Parts>()?;
        form_urlencoded::parse(parts.uri.query()?.as_bytes())
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.into_owned())
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        let search = web_sys::window()?.location().search().ok()?;
        web_sys::UrlSearchParams::new_with_str(&search)
            .ok()?
            .get(key)
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        let _ = key;
        None
    }
}

fn current_path() -> String {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<http::request::Parts>()
            .map(|parts| parts.uri.path().to_owned())
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        web_sys::window()
            .and_then(|window| window.location().pathname().ok())
            .unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_pages() {
        assert_eq!(Page::for_path("/"), Page::Home);
        assert_eq!(Page::for_path("/r/abc-defg-hij"), Page::Meeting);
        // Malformed codes are still the meeting page's to refuse.
        assert_eq!(Page::for_path("/r/nope"), Page::Meeting);
        for other in [
            "",
            "/r",
            "/r/",
            "/r/abc-defg-hij/more",
            "/rooms",
            "/favicon.ico",
            "//",
        ] {
            assert_eq!(Page::for_path(other), Page::NotFound, "{other:?}");
        }
    }

    #[test]
    fn a_meeting_path_is_what_a_room_code_links_to() {
        let code = crate::room_code::RoomCode::parse("abc-defg-hij").unwrap();
        assert_eq!(Page::for_path(&code.path()), Page::Meeting);
    }
}
