//! Parley's pages and the types the server and the browser share.

// Leptos views are nested generic types; the room page's is deep enough that computing
// its layout in release builds needs more than the default query depth (128).
#![recursion_limit = "256"]

pub mod call;
pub mod pages;
pub mod protocol;
pub mod room_code;
pub mod rooms;

use leptos::prelude::*;
use pages::address::Page;
use pages::{home::HomePage, not_found::NotFound, room::RoomPage};

/// The HTML document around every page, rendered on the server.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos_meta::MetaTags;
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <link
                    rel="stylesheet"
                    id="leptos"
                    href=format!("/{}/{}.css", options.site_pkg_dir, options.output_name)
                />
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The browser tab's title for a page titled `title` (which may be a meeting name).
#[cfg(feature = "ssr")]
fn tab_title(title: String) -> String {
    let full = if title.is_empty() {
        "Parley".to_owned()
    } else {
        format!("{title} · Parley")
    };
    // leptos_meta writes the title into the server-rendered HTML without escaping it,
    // so a meeting named `</title><script>…` would inject markup. The browser decodes
    // entities inside <title>, so escaping here shows the same text.
    escape_html(&full)
}

#[cfg(feature = "ssr")]
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// The page the address names (see [`pages::address`]); the server and the browser
/// pick the same one.
#[component]
pub fn App() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        leptos_meta::provide_meta_context();
        // Registers the formatter of every page's title; renders nothing.
        let _ = leptos_meta::Title(
            leptos_meta::TitleProps::builder()
                .formatter(tab_title)
                .build(),
        );
    }
    match Page::current() {
        Page::Home => view! { <HomePage/> }.into_any(),
        // The server looked the meeting up before rendering (see `rooms::look_up`).
        Page::Meeting => view! { <RoomPage/> }.into_any(),
        Page::NotFound => view! { <NotFound/> }.into_any(),
    }
}
