use crate::call::{
    grid_columns, grid_columns_portrait, initial, CallState, Device, LinkStatus, Phase, Remote,
};
use crate::pages::icons::{CameraIcon, LeaveIcon, MicIcon};
use crate::pages::not_found::NotFound;
use crate::protocol::{clean_display_name, PeerId, MAX_DISPLAY_NAME_CHARS};
use crate::room_code::RoomCode;
use crate::rooms::{find_room, RoomInfo};
use leptos::ev::SubmitEvent;
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

/// The meeting itself: a lobby to pick a name, then the call. Provides the call's
/// state (and, in the browser, the call itself) to everything inside as context, and
/// leaves the call when the page goes away, however it goes (in-app navigation too).
#[component]
fn Meeting(room: RoomInfo) -> impl IntoView {
    let RoomInfo { code, name } = room;
    let state = CallState::new();
    provide_context(state);
    #[cfg(feature = "hydrate")]
    {
        let call = crate::call::browser::CallHandle::new();
        provide_context(call);
        on_cleanup(move || call.hang_up());
    }
    let invite_path = code.path();
    let code_attr = code.to_string();
    let code_text = code.to_string();
    view! {
        <Title text=name.clone()/>
        <main class="page room" data-room-code=code_attr>
            <header class="room-header">
                <a class="brand" href="/">"Parley"</a>
                <h1 class="room-name">{name}</h1>
                <span class="room-code">{code_text}</span>
            </header>
            <Banners state/>
            {move || match state.phase.get() {
                Phase::Lobby | Phase::Joining => {
                    view! { <Lobby state code=code.clone() invite_path=invite_path.clone()/> }
                        .into_any()
                }
                Phase::InCall => view! { <Stage state invite_path=invite_path.clone()/> }.into_any(),
                Phase::Left => view! { <LeftPage state code=code.clone()/> }.into_any(),
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

/// Before joining: the name to show, remembered from last time.
#[component]
fn Lobby(state: CallState, code: RoomCode, invite_path: String) -> impl IntoView {
    let (name, set_name) = signal(String::new());
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(remembered) = crate::call::browser::remembered_name() {
            set_name.set(remembered);
        }
    });
    let valid = move || clean_display_name(&name.get()).is_some();
    let joining = move || state.phase.get() == Phase::Joining;
    let join = move |event: SubmitEvent| {
        event.prevent_default();
        let Some(clean) = clean_display_name(&name.get_untracked()) else {
            return;
        };
        state.my_name.set(clean.clone());
        #[cfg(feature = "hydrate")]
        expect_context::<crate::call::browser::CallHandle>().join(state, code.clone(), clean);
        #[cfg(not(feature = "hydrate"))]
        let _ = (&code, clean);
    };
    view! {
        <section class="lobby card">
            <h2>"Ready to join?"</h2>
            <form class="join-call" on:submit=join>
                <label for="display-name">"Your name"</label>
                <input
                    id="display-name"
                    type="text"
                    autocomplete="name"
                    maxlength=MAX_DISPLAY_NAME_CHARS
                    prop:value=name
                    on:input=move |ev| set_name.set(event_target_value(&ev))
                />
                <button type="submit" class="button primary" disabled=move || !valid() || joining()>
                    {move || if joining() { "Joining…" } else { "Join now" }}
                </button>
            </form>
            <p class="hint">"Invite others with this link:"</p>
            <InviteLink path=invite_path/>
        </section>
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

/// The call: a grid of tiles and the bottom bar.
// The tiles and the bar are type-erased (`into_any`): the room's view type is otherwise
// deep enough to overflow the compiler's query depth in release wasm builds.
#[component]
fn Stage(state: CallState, invite_path: String) -> impl IntoView {
    let tiles = move || state.remotes.with(Vec::len) + 1;
    let alone = move || state.remotes.with(Vec::is_empty);
    view! {
        <section class="stage">
            <div
                class="grid"
                style=move || {
                    format!(
                        "--columns: {}; --columns-portrait: {}",
                        grid_columns(tiles()),
                        grid_columns_portrait(tiles()),
                    )
                }
            >
                <SelfTile state/>
                <For
                    each=move || state.remotes.get()
                    key=|remote| remote.id
                    children=move |remote| view! { <RemoteTile remote/> }
                />
            </div>
            <Show when=alone>
                <div class="waiting">
                    <p>"Waiting for others to join"</p>
                    <InviteLink path=invite_path.clone()/>
                </div>
            </Show>
        </section>
        <ControlBar state/>
    }
    .into_any()
}

/// The local person's own camera, mirrored and muted.
#[component]
fn SelfTile(state: CallState) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    Effect::new(move |_| {
        let has_stream = state.has_local_stream.get();
        if let (true, Some(element)) = (has_stream, video.get()) {
            show_stream(&element, None);
        }
    });
    let camera_off = move || !state.my_media.get().video;
    let mic_off = move || !state.my_media.get().audio;
    view! {
        <div class="cell">
            <div class="tile self" class:camera-off=camera_off>
                <video node_ref=video autoplay=true prop:muted=true></video>
                <div class="avatar">{move || initial(&state.my_name.get())}</div>
                <div class="tile-label">
                    <Show when=mic_off>
                        <MicOffBadge/>
                    </Show>
                    <span class="name">"You"</span>
                </div>
            </div>
        </div>
    }
    .into_any()
}

/// Another participant: their video, name, and microphone and camera state. Each
/// part follows its own signal, and the `<video>` takes a stream only when a
/// different one arrives, so nothing here reloads when someone else changes.
#[component]
fn RemoteTile(remote: Remote) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    let id = remote.id;
    Effect::new(move |_| {
        let version = remote.stream.get();
        if let (true, Some(element)) = (version > 0, video.get()) {
            show_stream(&element, Some(id));
        }
    });
    let name = move || remote.name.get();
    let camera_off = move || !remote.media.get().video || remote.stream.get() == 0;
    let status = move || match remote.status.get() {
        LinkStatus::Connected => None,
        LinkStatus::Connecting => Some("Connecting…"),
        LinkStatus::Reconnecting => Some("Reconnecting…"),
    };
    view! {
        <div class="cell">
            <div class="tile remote" data-peer=id.to_string() class:camera-off=camera_off>
                <video node_ref=video autoplay=true></video>
                <div class="avatar">{move || initial(&name())}</div>
                {move || status().map(|text| view! { <span class="tile-status">{text}</span> })}
                <div class="tile-label">
                    <Show when=move || !remote.media.get().audio>
                        <MicOffBadge/>
                    </Show>
                    <span class="name">{name}</span>
                </div>
            </div>
        </div>
    }
    .into_any()
}

/// Shown on a tile whose microphone is off.
#[component]
fn MicOffBadge() -> impl IntoView {
    view! {
        <span class="mic-off" role="img" aria-label="Microphone off">
            <MicIcon off=true/>
        </span>
    }
}

#[cfg(feature = "hydrate")]
fn show_stream(element: &web_sys::HtmlVideoElement, peer: Option<PeerId>) {
    let Some(call) = use_context::<crate::call::browser::CallHandle>() else {
        return;
    };
    let stream = call.stream_of(peer);
    element.set_src_object(stream.as_ref());
    let _ = element.set_attribute("playsinline", "");
}

#[cfg(not(feature = "hydrate"))]
fn show_stream<T>(_element: &T, _peer: Option<PeerId>) {}

/// Microphone, camera and leave, like Meet's bottom bar.
#[component]
fn ControlBar(state: CallState) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    let call = expect_context::<crate::call::browser::CallHandle>();
    let leave = move |_| {
        #[cfg(feature = "hydrate")]
        call.leave(state);
    };
    view! {
        <nav class="control-bar" aria-label="Call controls">
            <DeviceButton state device=Device::Microphone/>
            <DeviceButton state device=Device::Camera/>
            <button type="button" class="round leave" aria-label="Leave call" on:click=leave>
                <LeaveIcon/>
            </button>
        </nav>
    }
    .into_any()
}

/// How a device's switch presents itself.
trait DeviceSwitch {
    fn shortcut(self) -> &'static str;
    #[cfg(feature = "hydrate")]
    fn for_key(event: &web_sys::KeyboardEvent) -> Option<Device>;
    fn action(self, on: bool) -> &'static str;
}

impl DeviceSwitch for Device {
    /// The keyboard shortcut, as in Meet.
    fn shortcut(self) -> &'static str {
        match self {
            Self::Microphone => "Ctrl+D",
            Self::Camera => "Ctrl+E",
        }
    }

    /// The device a key press switches: Ctrl (or ⌘) with D or E, as in Meet.
    #[cfg(feature = "hydrate")]
    fn for_key(event: &web_sys::KeyboardEvent) -> Option<Device> {
        if !(event.ctrl_key() || event.meta_key()) || event.alt_key() || event.shift_key() {
            return None;
        }
        match event.key().to_ascii_lowercase().as_str() {
            "d" => Some(Device::Microphone),
            "e" => Some(Device::Camera),
            _ => None,
        }
    }

    /// What pressing the button does, for screen readers and tests.
    fn action(self, on: bool) -> &'static str {
        match (self, on) {
            (Self::Microphone, true) => "Turn off microphone",
            (Self::Microphone, false) => "Turn on microphone",
            (Self::Camera, true) => "Turn off camera",
            (Self::Camera, false) => "Turn on camera",
        }
    }
}

/// The on/off button for one device; disabled when the device is missing or blocked.
#[component]
fn DeviceButton(state: CallState, device: Device) -> impl IntoView {
    let on = move || device.is_on(state.my_media.get());
    let available = move || device.is_on(state.my_devices.get());
    #[cfg(feature = "hydrate")]
    let call = expect_context::<crate::call::browser::CallHandle>();
    let toggle = move |_| {
        #[cfg(feature = "hydrate")]
        call.toggle(state, device);
    };
    #[cfg(feature = "hydrate")]
    {
        let keys = window_event_listener(leptos::ev::keydown, move |event| {
            if <Device as DeviceSwitch>::for_key(&event) != Some(device) {
                return;
            }
            // Ctrl+D and Ctrl+E mean other things to the browser (bookmark, search).
            event.prevent_default();
            // An event handler, not a view: read the signal without subscribing.
            if device.is_on(state.my_devices.get_untracked()) {
                call.toggle(state, device);
            }
        });
        on_cleanup(move || keys.remove());
    }
    view! {
        <button
            type="button"
            class="round"
            class:off=move || !on()
            disabled=move || !available()
            aria-pressed=move || (!on()).to_string()
            aria-label=move || device.action(on())
            title=move || format!("{} ({})", device.action(on()), device.shortcut())
            on:click=toggle
        >
            {move || match device {
                Device::Microphone => view! { <MicIcon off=!on()/> }.into_any(),
                Device::Camera => view! { <CameraIcon off=!on()/> }.into_any(),
            }}
        </button>
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
