use crate::room_code::RoomCode;
use crate::rooms::{CreateRoom, MAX_NAME_CHARS};
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

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

/// Creates a room on the server, which then redirects to it. A plain form post, so it
/// also works before the page has hydrated.
#[component]
fn NewMeetingForm() -> impl IntoView {
    let create = ServerAction::<CreateRoom>::new();
    let failure = move || {
        create
            .value()
            .get()
            .and_then(|result| result.err())
            .map(|error| match error {
                // The server's own words, such as "Too many new meetings…".
                ServerFnError::ServerError(message) => message,
                _ => "Could not start the meeting. Please try again.".to_owned(),
            })
    };

    view! {
        <ActionForm action=create attr:class="new-meeting">
            <input
                type="text"
                name="name"
                placeholder="Meeting name (optional)"
                maxlength=MAX_NAME_CHARS
                aria-label="Meeting name"
            />
            <button type="submit" class="button primary" disabled=create.pending()>
                "New meeting"
            </button>
        </ActionForm>
        <p class="form-error" role="alert">{failure}</p>
    }
}

/// "Enter a code or link": goes to the meeting when the input reads as a meeting code.
#[component]
fn JoinForm() -> impl IntoView {
    let (input, set_input) = signal(String::new());
    let (error, set_error) = signal(None::<&'static str>);
    let navigate = use_navigate();

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match RoomCode::from_user_input(&input.get_untracked()) {
            Ok(code) => navigate(&code.path(), Default::default()),
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
