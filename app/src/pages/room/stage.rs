//! The call: everyone's tiles in a grid, and the bottom bar.

use super::chat::ChatPanel;
use super::controls::ControlBar;
use super::hosting::KnockNotice;
use super::people::PeoplePanel;
use super::present::{anyone_presenting, Presentations};
use super::InviteLink;
use crate::call::{grid_columns, grid_columns_portrait, initial, CallState, LinkStatus, Remote};
use crate::pages::icons::{HandIcon, MicIcon};
use crate::protocol::PeerId;
use leptos::prelude::*;

/// The call: a grid of tiles and the bottom bar.
// The tiles and the bar are type-erased (`into_any`): the room's view type is otherwise
// deep enough to overflow the compiler's query depth in release wasm builds.
#[component]
pub fn Stage(state: CallState, invite_path: String) -> impl IntoView {
    // The tiles on the page shown, your own among them.
    let tiles = move || state.gallery.with(|gallery| gallery.shown()) + 1;
    let paged = move || state.gallery.with(|gallery| gallery.pages()) > 1;
    let alone = move || state.remotes.with(Vec::is_empty);
    // Someone pinned (and still here) takes the stage, unless someone presents.
    let pinning = move || {
        state.pinned.get().is_some_and(|id| {
            state
                .remotes
                .with(|remotes| remotes.iter().any(|remote| remote.id == id))
        }) && !anyone_presenting(state)
    };
    let people_open = RwSignal::new(false);
    view! {
        <div class="call-body">
        <KnockNotice state people_open/>
        <section
            class="stage"
            class:presenting=move || anyone_presenting(state)
            class:pinning=pinning
            class:paged=paged
        >
            <Show when=move || anyone_presenting(state)>
                <Presentations state/>
            </Show>
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
                    children=move |remote| view! { <RemoteTile remote state/> }
                />
            </div>
            <Show when=paged>
                <Pager state/>
            </Show>
            <Show when=alone>
                <div class="waiting">
                    <p>"Waiting for others to join"</p>
                    <InviteLink path=invite_path.clone()/>
                </div>
            </Show>
        </section>
        <Show when=move || people_open.get()>
            <PeoplePanel state open=people_open/>
        </Show>
        <Show when=move || state.chat_open.get()>
            <ChatPanel state/>
        </Show>
        </div>
        <ControlBar state people_open/>
    }
    .into_any()
}

/// Turning the grid's pages, when there are more people than one page holds.
#[component]
fn Pager(state: CallState) -> impl IntoView {
    let page = move || state.gallery.with(|gallery| gallery.page());
    let pages = move || state.gallery.with(|gallery| gallery.pages());
    let on_last = move || page() + 1 >= pages();
    let turn = move |by: isize| {
        state.gallery.update(|gallery| {
            gallery.turn_to(gallery.page().saturating_add_signed(by));
        })
    };
    view! {
        <nav class="pager" aria-label="Pages of people">
            <button
                aria-label="Previous page"
                disabled=move || page() == 0
                on:click=move |_| turn(-1)
            >
                "‹"
            </button>
            <span aria-live="polite">{move || format!("Page {} of {}", page() + 1, pages())}</span>
            <button
                aria-label="Next page"
                disabled=on_last
                on:click=move |_| turn(1)
            >
                "›"
            </button>
        </nav>
    }
}

/// The local person's own camera, mirrored and muted.
#[component]
fn SelfTile(state: CallState) -> impl IntoView {
    let camera_off = move || !state.my_media.get().video;
    let mic_off = move || !state.my_media.get().audio;
    view! {
        <div class="cell">
            <div class="tile self" class:camera-off=camera_off class:speaking=move || state.my_speaking.get()>
                <SelfVideo state/>
                <div class="avatar">{move || initial(&state.my_name.get())}</div>
                <div class="tile-label">
                    <Show when=move || state.my_hand.get().is_some()>
                        <HandBadge/>
                    </Show>
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

/// The local camera's picture (the lobby's preview and the self tile): takes the local
/// stream again whenever its tracks change.
#[component]
pub fn SelfVideo(state: CallState) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    Effect::new(move |_| {
        let version = state.local_stream.get();
        if let (true, Some(element)) = (version > 0, video.get()) {
            show_stream(&element, None);
        }
    });
    view! { <video node_ref=video autoplay=true prop:muted=true aria-hidden="true"></video> }
}

/// Another participant: their video, name, and microphone and camera state. Each
/// part follows its own signal, and the `<video>` takes a stream only when a
/// different one arrives, so nothing here reloads when someone else changes.
#[component]
fn RemoteTile(remote: Remote, state: CallState) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    let id = remote.id;
    let pinned = move || state.pinned.get() == Some(id);
    let toggle_pin = move |_| {
        state
            .pinned
            .update(|pinned| *pinned = if *pinned == Some(id) { None } else { Some(id) })
    };
    // On the page shown (or pinned, shown large whatever the page), in its place.
    let off_page = Memo::new(move |_| {
        !state.gallery.with(|gallery| gallery.on_page(id)) && state.pinned.get() != Some(id)
    });
    let place = Memo::new(move |_| state.gallery.with(|gallery| gallery.place(id)));
    // Someone who starts speaking comes onto the page shown.
    Effect::new(move |_| {
        if remote.speaking.get() {
            let pinned = state.pinned.get_untracked();
            state.gallery.update(|gallery| gallery.spoke(id, pinned));
        }
    });
    Effect::new(move |_| {
        let version = remote.stream.get();
        if let (true, Some(element)) = (version > 0, video.get()) {
            show_stream(&element, Some(id));
        }
    });
    // Their sound plays on the speaker chosen in the settings.
    #[cfg(feature = "hydrate")]
    if let Some(state) = use_context::<CallState>() {
        Effect::new(move |_| {
            let speaker = state.chosen.with(|c| c.speaker.clone());
            if let (Some(speaker), Some(element)) = (speaker, video.get()) {
                crate::call::browser::play_on(&element, &speaker);
            }
        });
    }
    let name = move || remote.name.get();
    let camera_off = move || !remote.media.get().video || remote.stream.get() == 0;
    let status = move || match remote.status.get() {
        LinkStatus::Connected => None,
        LinkStatus::Connecting => Some("Connecting…"),
        LinkStatus::Reconnecting => Some("Reconnecting…"),
    };
    view! {
        <div
            class="cell"
            class:pinned=pinned
            class:off-page=move || off_page.get()
            style:order=move || place.get().map(|place| place.to_string())
        >
            <div
                class="tile remote"
                data-peer=id.to_string()
                class:camera-off=camera_off
                class:speaking=move || remote.speaking.get()
            >
                <video node_ref=video autoplay=true></video>
                <div class="avatar">{move || initial(&name())}</div>
                {move || status().map(|text| view! { <span class="tile-status">{text}</span> })}
                <button
                    class="pin"
                    aria-pressed=move || pinned().to_string()
                    aria-label=move || format!("Pin {}", name())
                    on:click=toggle_pin
                >
                    {move || if pinned() { "Unpin" } else { "Pin" }}
                </button>
                <div class="tile-label">
                    <Show when=move || remote.hand.get().is_some()>
                        <HandBadge/>
                    </Show>
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

/// Shown on the tile of someone whose hand is up.
#[component]
fn HandBadge() -> impl IntoView {
    view! {
        <span class="hand" role="img" aria-label="Hand raised">
            <HandIcon/>
        </span>
    }
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
