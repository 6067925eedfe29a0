//! The meeting's page: the lobby ([`lobby`]), the call ([`stage`], with its
//! [`controls`]) and the device menus both use ([`devices`]).

mod chat;
mod controls;
mod devices;
mod hosting;
mod lobby;
mod people;
mod present;
mod stage;

use crate::call::{CallState, Phase};
use crate::pages::not_found::NotFound;
use crate::pages::set_tab_title;
use crate::room_code::RoomCode;
use crate::rooms::{MeetingLookup, RoomInfo};
use leptos::prelude::*;
use lobby::Lobby;
use stage::Stage;

/// /r/{code}: the meeting's page, for what the server found for the code (provided
/// as context by the server, and carried with the page to the browser app). Unknown
/// and malformed codes render [`NotFound`].
#[component]
pub fn RoomPage() -> impl IntoView {
    let lookup = SharedValue::new(|| {
        use_context::<MeetingLookup>().unwrap_or_else(|| {
            MeetingLookup::Failed("this page came without its meeting: reload it".into())
        })
    })
    .into_inner();
    match lookup {
        MeetingLookup::Found(room) => view! { <Meeting room/> }.into_any(),
        MeetingLookup::NotFound => view! { <NotFound/> }.into_any(),
        MeetingLookup::Failed(message) => view! { <LookupFailed message/> }.into_any(),
    }
}

#[component]
fn LookupFailed(message: String) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::SERVICE_UNAVAILABLE);
    }
    view! {
        <main class="page page-centered">
            <section class="card">
                <h1>"Parley can't reach this meeting right now"</h1>
                <p>{message}</p>
                <a class="button primary" href="">"Try again"</a>
            </section>
        </main>
    }
}

/// What the meeting page shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Screen {
    Lobby,
    Call,
    Left,
    Dismissed,
}

/// The meeting itself: a lobby to pick a name and devices, then the call. Provides the call's
/// state (and, in the browser, the call itself) to everything inside as context, and
/// leaves the call when the page goes away, however it goes (a link followed, the tab
/// closed): the others see it at once, and the camera and microphone are let go.
#[component]
fn Meeting(room: RoomInfo) -> impl IntoView {
    let RoomInfo {
        code,
        name,
        access,
        hosting,
    } = room;
    // Whether joining means asking first (the server decides; this is the label).
    let asks = access == crate::protocol::Access::AskToJoin && !hosting;
    let state = CallState::new();
    provide_context(state);
    #[cfg(feature = "hydrate")]
    {
        let call = crate::call::browser::CallHandle::new();
        provide_context(call);
        let _ = window_event_listener_untyped("pagehide", move |_| call.hang_up());
        // Dismissed (removed, not let in, the meeting ended): the camera stops too.
        Effect::new(move |_| {
            if matches!(state.phase.get(), Phase::Dismissed(..)) {
                call.hang_up();
            }
        });
        // Back to this page as it was left, from the browser's back-forward cache: its
        // call was hung up on the way out, so the meeting is loaded afresh.
        let _ = window_event_listener(leptos::ev::pageshow, |event| {
            if event.persisted() {
                if let Some(window) = web_sys::window() {
                    let _ = window.location().reload();
                }
            }
        });
    }
    // Joining stays on the lobby, its preview running.
    let screen = Memo::new(move |_| match state.phase.get() {
        Phase::Lobby | Phase::Joining | Phase::Asking => Screen::Lobby,
        Phase::InCall => Screen::Call,
        Phase::Left => Screen::Left,
        Phase::Dismissed(..) => Screen::Dismissed,
    });
    let invite_path = code.path();
    let code_attr = code.to_string();
    let code_text = code.to_string();
    set_tab_title(name.clone());
    view! {
        <main class="page room" data-room-code=code_attr>
            <header class="room-header">
                <a class="brand" href="/">"Parley"</a>
                <h1 class="room-name">{name}</h1>
                <span class="room-code">{code_text}</span>
            </header>
            <Banners state/>
            {move || match screen.get() {
                Screen::Lobby => {
                    view! { <Lobby state code=code.clone() invite_path=invite_path.clone() asks/> }
                        .into_any()
                }
                Screen::Call => view! { <Stage state invite_path=invite_path.clone()/> }.into_any(),
                Screen::Left => view! { <LeftPage state code=code.clone()/> }.into_any(),
                Screen::Dismissed => view! { <DismissedPage state/> }.into_any(),
            }}
        </main>
    }
}

/// Lasting notices (a blocked camera) and problems (the connection dropped).
#[component]
fn Banners(state: CallState) -> impl IntoView {
    view! {
        {move || state.problem.get().map(|text| view! { <p class="banner problem" role="alert">{text}</p> })}
        {move || state.notice.get().map(|text| view! { <p class="banner notice" role="status">{text}</p> })}
    }
}

/// After leaving.
#[component]
fn LeftPage(state: CallState, code: RoomCode) -> impl IntoView {
    let rejoin = move |_| state.phase.set(Phase::Lobby);
    let _ = code;
    view! {
        <section class="left card">
            <h2>"You left the meeting"</h2>
            <div class="actions">
                <button type="button" class="button primary" on:click=rejoin>"Rejoin"</button>
                <a class="button" href="/">"Return to home screen"</a>
            </div>
        </section>
    }
}

/// After being removed, not let in, or the meeting ending.
#[component]
fn DismissedPage(state: CallState) -> impl IntoView {
    let text = move || match state.phase.get() {
        Phase::Dismissed(reason, by) => crate::call::dismissal_text(reason, by.as_deref()),
        _ => String::new(),
    };
    let denied = move || {
        matches!(
            state.phase.get(),
            Phase::Dismissed(crate::protocol::Dismissal::Denied, _)
        )
    };
    view! {
        <section class="left card" role="alert">
            <h2>{move || if denied() { "You can't join this meeting" } else { "You're out of the meeting" }}</h2>
            <p class="dismissal">{text}</p>
            <div class="actions">
                <a class="button primary" href="/">"Return to home screen"</a>
            </div>
        </section>
    }
}

/// The meeting's link with a copy button.
#[component]
fn InviteLink(path: String) -> impl IntoView {
    // The origin is only known in the browser; the server renders the path and the
    // browser fills in the full link once hydrated.
    let (link, set_link) = signal(path);
    Effect::new(move |_| {
        if let Some(origin) = window_origin() {
            set_link.update(|link| {
                if link.starts_with('/') {
                    *link = format!("{origin}{link}");
                }
            });
        }
    });
    let (copied, set_copied) = signal(None::<bool>);
    let copy = move |_| {
        let text = link.get_untracked();
        leptos::task::spawn_local(async move {
            set_copied.set(Some(copy_to_clipboard(&text).await));
        });
    };
    let label = move || match copied.get() {
        None => "Copy link",
        Some(true) => "Copied",
        Some(false) => "Press Ctrl+C to copy",
    };

    view! {
        <div class="invite">
            <span class="invite-link">{link}</span>
            <button type="button" class="button" on:click=copy>{label}</button>
        </div>
    }
}

#[cfg(feature = "hydrate")]
fn window_origin() -> Option<String> {
    web_sys::window()?.location().origin().ok()
}

#[cfg(not(feature = "hydrate"))]
fn window_origin() -> Option<String> {
    None
}

#[cfg(feature = "hydrate")]
async fn copy_to_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let promise = window.navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

#[cfg(not(feature = "hydrate"))]
async fn copy_to_clipboard(_text: &str) -> bool {
    false
}
