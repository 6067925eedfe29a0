use crate::pages::set_tab_title;
use crate::room_code::RoomCode;
use crate::rooms::{CreateRoom, MAX_NAME_CHARS};
use leptos::server_fn::ServerFn as _;
use leptos::{ev::SubmitEvent, prelude::*};

/// The landing page: start a new meeting, or join one by code or link.
#[component]
pub fn HomePage() -> impl IntoView {
    set_tab_title("Video meetings");
    view! {
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
///
/// Once pressed, the button says so and stays disabled while the meeting's page is on
/// its way, which on a slow link takes seconds: a second press would start a second
/// meeting. It is ready again after `STARTING_FOR` in case the page never comes (the
/// person stopped loading it).
#[component]
fn NewMeetingForm() -> impl IntoView {
    let (starting, set_starting) = signal(false);
    let on_submit = move |ev: SubmitEvent| {
        if starting.get_untracked() {
            ev.prevent_default();
            return;
        }
        set_starting.set(true);
        #[cfg(feature = "hydrate")]
        set_timeout(move || set_starting.set(false), STARTING_FOR);
    };
    #[cfg(feature = "hydrate")]
    {
        // Back from the meeting, the browser may show this page as it was left
        // (its back-forward cache): ready to start another.
        let shown = window_event_listener(leptos::ev::pageshow, move |_| {
            set_starting.set(false);
        });
        on_cleanup(move || shown.remove());
    }
    view! {
        <form class="new-meeting" method="post" action=CreateRoom::PATH on:submit=on_submit>
            <input
                type="text"
                name="name"
                placeholder="Meeting name (optional)"
                maxlength=MAX_NAME_CHARS
                aria-label="Meeting name"
            />
            <label class="ask-to-join">
                <input type="checkbox" name="ask_to_join"/>
                "People ask to join"
            </label>
            <button type="submit" class="button primary" disabled=starting>
                {move || if starting.get() { "Starting\u{2026}" } else { "New meeting" }}
            </button>
        </form>
    }
}

/// How long "New meeting" stays disabled at most once pressed.
#[cfg(feature = "hydrate")]
const STARTING_FOR: std::time::Duration = std::time::Duration::from_secs(10);

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
