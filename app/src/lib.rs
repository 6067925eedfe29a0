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
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};
use pages::{home::HomePage, not_found::NotFound, room::RoomPage};

/// The HTML document around every page, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
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
fn page_title(title: String) -> String {
    let full = if title.is_empty() {
        "Parley".to_owned()
    } else {
        format!("{title} · Parley")
    };
    // leptos_meta writes the title into the server-rendered HTML without escaping it,
    // so a meeting named `</title><script>…` would inject markup. The browser decodes
    // entities inside <title>, so escaping here shows the same text. On the client the
    // title is set as plain text and must not be escaped.
    if cfg!(feature = "ssr") {
        escape_html(&full)
    } else {
        full
    }
}

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

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title formatter=page_title/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=HomePage/>
                // Async: the room lookup finishes before the status line is sent, so an
                // unknown room answers 404.
                <Route path=path!("/r/:code") view=RoomPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
