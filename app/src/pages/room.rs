use crate::pages::not_found::NotFound;
use crate::rooms::{find_room, RoomInfo};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// /r/{code}: the meeting's page. Unknown and malformed codes render [`NotFound`].
#[component]
pub fn RoomPage() -> impl IntoView {
    let params = use_params_map();
    let code = move || params.read().get("code").unwrap_or_default();
    let room = Resource::new(code, find_room);

    view! {
        <Suspense fallback=|| view! { <main class="page page-centered">"Loading…"</main> }>
            {move || Suspend::new(async move {
                match room.await {
                    Ok(Some(room)) => view! { <Meeting room/> }.into_any(),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(e) => view! { <LookupFailed message=e.to_string()/> }.into_any(),
                }
            })}
        </Suspense>
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

/// The meeting itself.
#[component]
fn Meeting(room: RoomInfo) -> impl IntoView {
    let RoomInfo { code, name } = room;
    view! {
        <Title text=name.clone()/>
        <main class="page room" data-room-code=code.to_string()>
            <header class="room-header">
                <a class="brand" href="/">"Parley"</a>
                <h1 class="room-name">{name}</h1>
                <span class="room-code">{code.to_string()}</span>
            </header>
            <section class="stage">
                <div class="waiting">
                    <p>"Waiting for others to join"</p>
                    <InviteLink path=code.path()/>
                </div>
            </section>
        </main>
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
