//! Who is in the meeting: the people panel (everyone, you first, with their
//! microphone, camera and hand), raised hands in the order they went up, and the
//! button that raises yours (Ctrl+Alt+H, as in Meet), and how the connection to each
//! person is made.

use super::hosting::{HostControls, PersonActions, RoleBadge, WaitingList};
use crate::call::details::ConnectionDetails;
use crate::call::{raised_hands, CallState, Device, Remote};
use crate::pages::icons::{CameraIcon, HandIcon, MicIcon, PeopleIcon};
use crate::protocol::{MediaState, Role};
use leptos::prelude::*;

/// Raises or lowers your hand.
#[component]
pub fn HandButton(state: CallState) -> impl IntoView {
    let raised = move || state.my_hand.get().is_some();
    #[cfg(feature = "hydrate")]
    let call = expect_context::<crate::call::browser::CallHandle>();
    let toggle = move |_| {
        #[cfg(feature = "hydrate")]
        call.toggle_hand(state);
    };
    #[cfg(feature = "hydrate")]
    {
        let keys = window_event_listener(leptos::ev::keydown, move |event| {
            let ctrl = event.ctrl_key() || event.meta_key();
            if ctrl && event.alt_key() && !event.shift_key() && event.code() == "KeyH" {
                event.prevent_default();
                call.toggle_hand(state);
            }
        });
        on_cleanup(move || keys.remove());
    }
    let action = move || if raised() { "Lower hand" } else { "Raise hand" };
    view! {
        <button
            type="button"
            class="round"
            class:on=raised
            aria-pressed=move || raised().to_string()
            aria-label=action
            title=move || format!("{} (Ctrl+Alt+H)", action())
            on:click=toggle
        >
            <HandIcon/>
        </button>
    }
}

/// Opens and closes the people panel; shows how many are here.
#[component]
pub fn PeopleButton(state: CallState, open: RwSignal<bool>) -> impl IntoView {
    let count = move || state.remotes.with(Vec::len) + 1;
    view! {
        <button
            type="button"
            class="round with-count"
            class:on=move || open.get()
            aria-pressed=move || open.get().to_string()
            // Only while the panel is there to point to.
            aria-controls=move || open.get().then_some("people-panel")
            aria-label=move || format!("People ({})", count())
            title="People"
            on:click=move |_| {
                let opening = !open.get_untracked();
                if opening {
                    // One side panel at a time, as in Meet.
                    state.chat_open.set(false);
                }
                open.set(opening);
            }
        >
            <PeopleIcon/>
            <span class="count" aria-hidden="true">{count}</span>
        </button>
    }
}

/// Everyone in the meeting, and the raised hands.
#[component]
pub fn PeoplePanel(state: CallState, open: RwSignal<bool>) -> impl IntoView {
    // Connection details are read while they are on screen.
    state.details_shown.set(true);
    on_cleanup(move || {
        state.details_shown.try_set(false);
    });
    let count = move || state.remotes.with(Vec::len) + 1;
    let hands = move || {
        let others: Vec<_> = state
            .remotes
            .with(|remotes| remotes.iter().map(|r| (r.id, r.hand.get())).collect());
        raised_hands(state.my_hand.get(), others)
    };
    let name_of = move |who: Option<crate::protocol::PeerId>| match who {
        None => format!("{} (You)", state.my_name.get()),
        Some(id) => state.remote(id).map(|r| r.name.get()).unwrap_or_default(),
    };
    view! {
        <aside id="people-panel" class="side-panel" aria-labelledby="people-title">
            <header class="side-panel-header">
                <h2 id="people-title">"People"</h2>
                <button type="button" class="button" on:click=move |_| open.set(false)>
                    "Close"
                </button>
            </header>
            <Show when=move || !hands().is_empty()>
                <h3>"Raised hands"</h3>
                <ol class="hands" aria-label="Raised hands">
                    {move || {
                        hands()
                            .into_iter()
                            .map(|who| view! { <li>{name_of(who)}</li> })
                            .collect_view()
                    }}
                </ol>
            </Show>
            <WaitingList state/>
            <h3>{move || format!("In the meeting ({})", count())}</h3>
            <ul class="people" aria-label="In the meeting">
                <Person
                    name=Signal::derive(move || format!("{} (You)", state.my_name.get()))
                    media=state.my_media.into()
                    hand=Signal::derive(move || state.my_hand.get().is_some())
                    details=None
                    role=state.my_role.into()
                    actions=None
                />
                <For
                    each=move || state.remotes.get()
                    key=|remote| remote.id
                    children=move |remote: Remote| {
                        view! {
                            <Person
                                name=remote.name.into()
                                media=remote.media.into()
                                hand=Signal::derive(move || remote.hand.get().is_some())
                                details=Some(remote.details.into())
                                role=remote.role.into()
                                actions=Some(view! { <PersonActions state remote/> }.into_any())
                            />
                        }
                    }
                />
            </ul>
            <HostControls state/>
        </aside>
    }
    .into_any()
}

/// One line of the panel; for someone else, how the connection to them is made.
#[component]
fn Person(
    name: Signal<String>,
    media: Signal<MediaState>,
    hand: Signal<bool>,
    details: Option<Signal<Option<ConnectionDetails>>>,
    role: Signal<Role>,
    actions: Option<AnyView>,
) -> impl IntoView {
    let details = details.map(|details| {
        let summary = move || {
            details
                .get()
                .map_or_else(|| "Connecting".to_string(), |d| d.summary())
        };
        view! { <span class="person-link">{summary}</span> }
    });
    view! {
        <li class="person">
            <span class="person-name">{name} <RoleBadge role/></span>
            <span class="person-state">
                <Show when=move || hand.get()>
                    <span class="hand" role="img" aria-label="Hand raised">
                        <HandIcon/>
                    </span>
                </Show>
                <DeviceState media device=Device::Microphone/>
                <DeviceState media device=Device::Camera/>
            </span>
            {details}
            {actions}
        </li>
    }
}

/// Whether someone's microphone or camera is on, as an icon with its words.
#[component]
fn DeviceState(media: Signal<MediaState>, device: Device) -> impl IntoView {
    move || {
        let on = device.is_on(media.get());
        let label = match (device, on) {
            (Device::Microphone, true) => "Microphone on",
            (Device::Microphone, false) => "Microphone off",
            (Device::Camera, true) => "Camera on",
            (Device::Camera, false) => "Camera off",
        };
        let icon = match device {
            Device::Microphone => view! { <MicIcon off=!on/> }.into_any(),
            Device::Camera => view! { <CameraIcon off=!on/> }.into_any(),
        };
        view! {
            <span class="state" class:off=!on role="img" aria-label=label>
                {icon}
            </span>
        }
    }
}
