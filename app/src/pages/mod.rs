//! Parley's pages, and which one an address shows ([`address`]).

pub mod address;
pub mod home;
pub mod icons;
pub mod not_found;
pub mod room;

/// Names the page in the browser tab: the server writes the title into the page it
/// renders (through leptos_meta). The browser app leaves it as it came, since it never
/// changes pages without loading one.
pub fn set_tab_title(text: impl Into<String>) {
    #[cfg(feature = "ssr")]
    {
        // Called for the registration alone: the view it returns renders nothing.
        let _ = leptos_meta::Title(leptos_meta::TitleProps::builder().text(text.into()).build());
    }
    #[cfg(not(feature = "ssr"))]
    let _ = text.into();
}
