//! What hosts see and do, as in Meet's host controls: the notice when someone asks to
//! join (Admit, Deny), the waiting list with "Admit all", the actions on each person
//! (turn off their microphone, remove them, make them a co-host) and the meeting's
//! settings. The server checks every one of these; the page only offers them to those
//! it will allow.

use crate::call::{CallState, Remote};
use crate::protocol::{Access, ClientMessage, Knock, MeetingSettings, PeerId, Role};
use leptos::prelude::*;

/// Sends host actions through the call, from any handler.
#[derive(Clone, Copy)]
struct Moderator {
    #[cfg(feature = "hydrate")]
    call: Option<crate::call::browser::CallHandle>,
}

impl Moderator {
    /// Must be made while a component is being built (it reads the call from context).
    fn here() -> Self {
        Self {
            #[cfg(feature = "hydrate")]
            call: use_context::<crate::call::browser::CallHandle>(),
        }
    }

    fn send(self, message: ClientMessage) {
        #[cfg(feature = "hydrate")]
        if let Some(call) = self.call {
            call.moderate(message);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = message;
    }
}

/// "Ann wants to join", with Admit and Deny, while someone asks and the local person
/// may let them in. Announced to screen readers as it appears.
#[component]
pub fn KnockNotice(state: CallState, people_open: RwSignal<bool>) -> impl IntoView {
    let moderator = Moderator::here();
    let first = move || {
        state
            .may_admit()
            .then(|| state.waiting.with(|waiting| waiting.first().cloned()))
            .flatten()
    };
    let more = move || state.waiting.with(Vec::len).saturating_sub(1);
    view! {
        <div class="knock-notice-region" aria-live="polite">
            {move || {
                first()
                    .map(|Knock { id, name }| {
                        let others = more();
                        view! {
                            <div class="knock-notice card">
                                <p>
                                    <strong>{name.clone()}</strong>
                                    " wants to join this call"
                                    {(others > 0).then(|| format!(" (and {others} more)"))}
                                </p>
                                <div class="actions">
                                    <button
                                        type="button"
                                        class="button"
                                        on:click=move |_| moderator.send(ClientMessage::Deny { id })
                                    >
                                        "Deny"
                                    </button>
                                    <button
                                        type="button"
                                        class="button primary"
                                        on:click=move |_| moderator.send(ClientMessage::Admit { id })
                                    >
                                        "Admit"
                                    </button>
                                    <Show when=move || { others > 0 }>
                                        <button
                                            type="button"
                                            class="button"
                                            on:click=move |_| {
                                                state.chat_open.set(false);
                                                people_open.set(true);
                                            }
                                        >
                                            "View all"
                                        </button>
                                    </Show>
                                </div>
                            </div>
                        }
                    })
            }}
        </div>
    }
}

/// Everyone asking to join, for the people panel, with "Admit all".
#[component]
pub fn WaitingList(state: CallState) -> impl IntoView {
    let moderator = Moderator::here();
    let shown = move || state.may_admit() && state.waiting.with(|w| !w.is_empty());
    view! {
        <Show when=shown>
            <h3>{move || format!("Waiting to join ({})", state.waiting.with(Vec::len))}</h3>
            <button
                type="button"
                class="button"
                on:click=move |_| moderator.send(ClientMessage::AdmitAll)
            >
                "Admit all"
            </button>
            <ul class="people waiting-list" aria-label="Waiting to join">
                <For
                    each=move || state.waiting.get()
                    key=|knock| knock.id
                    children=move |Knock { id, name }| {
                        let label = name.clone();
                        view! {
                            <li class="person">
                                <span class="person-name">{name}</span>
                                <span class="person-actions">
                                    <button
                                        type="button"
                                        class="button"
                                        aria-label=format!("Deny {label}")
                                        on:click=move |_| moderator.send(ClientMessage::Deny { id })
                                    >
                                        "Deny"
                                    </button>
                                    <button
                                        type="button"
                                        class="button primary"
                                        aria-label=format!("Admit {label}")
                                        on:click=move |_| moderator.send(ClientMessage::Admit { id })
                                    >
                                        "Admit"
                                    </button>
                                </span>
                            </li>
                        }
                    }
                />
            </ul>
        </Show>
    }
}

/// "Host" or "Co-host" beside a name.
#[component]
pub fn RoleBadge(role: Signal<Role>) -> impl IntoView {
    move || {
        let text = match role.get() {
            Role::Host => "Host",
            Role::CoHost => "Co-host",
            Role::Participant => return None,
        };
        Some(view! { <span class="role-badge">{text}</span> })
    }
}

/// What the local person may do to `remote`: turn off their microphone or camera,
/// remove them, and (hosts) make them a co-host or take it back.
#[component]
pub fn PersonActions(state: CallState, remote: Remote) -> impl IntoView {
    let moderator = Moderator::here();
    let id: PeerId = remote.id;
    let may = move || state.my_role.get().may_act_on(remote.role.get());
    let grants = move || state.my_role.get().grants_roles();
    let name = move || remote.name.get();
    let turn_off = move |microphone: bool| {
        moderator.send(ClientMessage::TurnOff {
            id,
            microphone,
            camera: !microphone,
        })
    };
    view! {
        <Show when=may>
            <span class="person-actions">
                <Show when=move || remote.media.get().audio>
                    <button
                        type="button"
                        class="button"
                        aria-label=move || format!("Turn off {}'s microphone", name())
                        on:click=move |_| turn_off(true)
                    >
                        "Mute"
                    </button>
                </Show>
                <Show when=move || remote.media.get().video>
                    <button
                        type="button"
                        class="button"
                        aria-label=move || format!("Turn off {}'s camera", name())
                        on:click=move |_| turn_off(false)
                    >
                        "Stop video"
                    </button>
                </Show>
                <Show when=grants>
                    <button
                        type="button"
                        class="button"
                        aria-label=move || {
                            if remote.role.get() == Role::CoHost {
                                format!("Remove {} as co-host", name())
                            } else {
                                format!("Make {} a co-host", name())
                            }
                        }
                        on:click=move |_| {
                            let role = if remote.role.get_untracked() == Role::CoHost {
                                Role::Participant
                            } else {
                                Role::CoHost
                            };
                            moderator.send(ClientMessage::SetRole { id, role });
                        }
                    >
                        {move || if remote.role.get() == Role::CoHost { "Remove co-host" } else { "Make co-host" }}
                    </button>
                </Show>
                <button
                    type="button"
                    class="button danger"
                    aria-label=move || format!("Remove {} from the call", name())
                    on:click=move |_| moderator.send(ClientMessage::Remove { id })
                >
                    "Remove"
                </button>
            </span>
        </Show>
    }
}

/// The meeting's settings and the actions on everyone, for hosts and co-hosts.
#[component]
pub fn HostControls(state: CallState) -> impl IntoView {
    let moderator = Moderator::here();
    view! {
        <Show when=move || state.my_role.get().moderates()>
            <section class="host-controls" aria-labelledby="host-controls-title">
                <h3 id="host-controls-title">"Host controls"</h3>
                <SettingSwitch
                    state
                    label="Everyone asks to join"
                    read=|s| s.access == Access::AskToJoin
                    write=|s, on| s.access = if on { Access::AskToJoin } else { Access::Open }
                />
                <SettingSwitch
                    state
                    label="Let everyone present"
                    read=|s| s.everyone_may_present
                    write=|s, on| s.everyone_may_present = on
                />
                <SettingSwitch
                    state
                    label="Let everyone send chat messages"
                    read=|s| s.everyone_may_chat
                    write=|s, on| s.everyone_may_chat = on
                />
                <div class="actions">
                    <button
                        type="button"
                        class="button"
                        on:click=move |_| moderator.send(ClientMessage::MuteEveryone)
                    >
                        "Mute everyone"
                    </button>
                    <button
                        type="button"
                        class="button danger"
                        on:click=move |_| moderator.send(ClientMessage::EndMeeting)
                    >
                        "End meeting for everyone"
                    </button>
                </div>
            </section>
        </Show>
    }
}

/// One of the meeting's settings as a checkbox: shows what `read` says of the settings,
/// and sends them changed by `write` when ticked or unticked.
#[component]
fn SettingSwitch(
    state: CallState,
    label: &'static str,
    read: fn(&MeetingSettings) -> bool,
    write: fn(&mut MeetingSettings, bool),
) -> impl IntoView {
    let moderator = Moderator::here();
    let change = move |on: bool| {
        let mut settings = state.settings.get_untracked();
        write(&mut settings, on);
        moderator.send(ClientMessage::ChangeSettings { settings });
    };
    view! {
        <label class="switch">
            <input
                type="checkbox"
                prop:checked=move || read(&state.settings.get())
                on:change=move |ev| change(event_target_checked(&ev))
            />
            {label}
        </label>
    }
}
