use crate::room_code::RoomCode;
use crate::rooms::{CreateRoom, MAX_NAME_CHARS};
use leptos::server_fn::ServerFn as _;
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_meta::Title;

/// The landing page: start a new meeting, or join one by code or link.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Video meetings"/>
        <main class="page home">
            <header class="brand">"Parley"</header>
            <section class="hero">
                <h1>"Video meetings, on your own server"</h1>
                <p class="lede">
                    "Start a meeting, share the link, and talk face to face. "
                    "Audio and video go straight between browsers."
                </p>
                <div class="actions">
                    <NewMeetingForm/>
                    <JoinForm/>
                </div>
            </section>
        </main>
    }
}

/// Creates a room on the server, which then sends the browser to it: a plain form post
/// (the page changes, as a link would), the same before and after the page has
/// hydrated. When the server refuses (too many new meetings), it answers with a page
/// that says so. The browser app carries no form-reading code for this.
#[component]
fn NewMeetingForm() -> impl IntoView {
    view! {
        <form class="new-meeting" method="post" action=CreateRoom::PATH>
            <input
                type="text"
                name="name"
                placeholder="Meeting name (optional)"
                maxlength=MAX_NAME_CHARS
                aria-label="Meeting name"
            />
            <button type="submit" class="button primary">
                "New meeting"
            </button>
        </form>
    }
}

/// "Enter a code or link": goes to the meeting when the input reads as a meeting code.
#[component]
fn JoinForm() -> impl IntoView {
    let (input, set_input) = signal(String::new());
    let (error, set_error) = signal(None::<&'static str>);

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match RoomCode::from_user_input(&input.get_untracked()) {
            Ok(code) => load_page(&code.path()),
            Err(_) => set_error.set(Some(
                "That isn't a meeting code. Codes look like abc-defg-hij.",
            )),
        }
    };

    view! {
        // Without JavaScript the form falls back to GET /join, which the server redirects.
        <form class="join" action="/join" method="get" on:submit=on_submit>
            <input
                type="text"
                name="code"
                placeholder="Enter a code or link"
                aria-label="Meeting code or link"
                autocomplete="off"
                prop:value=input
                on:input=move |ev| {
                    set_input.set(event_target_value(&ev));
                    set_error.set(None);
                }
            />
            // Like Meet: "Join" stays disabled until something is typed.
            <button type="submit" class="button" disabled=move || input.with(|s| s.trim().is_empty())>
                "Join"
            </button>
        </form>
        <p class="form-error" role="alert">{error}</p>
    }
}

/// Goes to `path` with a page load, not a step inside the app: a meeting's details come
/// with the page the server renders.
fn load_page(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}
