//! The call's controls: the microphone and camera switches (also in the lobby), the
//! hand, the people and chat panels, the settings, and leaving.

use super::chat::ChatButton;
use super::devices::DeviceMenus;
use super::people::{HandButton, PeopleButton};
use super::present::PresentButton;
use crate::call::{CallState, Device};
use crate::pages::icons::{CameraIcon, LeaveIcon, MicIcon, SettingsIcon};
use leptos::prelude::*;

/// Microphone, camera, presenting, hand, people, chat, settings and leave, like Meet's bottom bar.
#[component]
pub fn ControlBar(state: CallState, people_open: RwSignal<bool>) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    let call = expect_context::<crate::call::browser::CallHandle>();
    let leave = move |_| {
        #[cfg(feature = "hydrate")]
        call.leave(state);
    };
    view! {
        <nav class="control-bar" aria-label="Call controls">
            <MutedHint state/>
            <DeviceButton state device=Device::Microphone/>
            <DeviceButton state device=Device::Camera/>
            <PresentButton state/>
            <HandButton state/>
            <PeopleButton state open=people_open/>
            <ChatButton state people_open/>
            <SettingsButton state/>
            <button type="button" class="round leave" aria-label="Leave call" on:click=leave>
                <LeaveIcon/>
            </button>
        </nav>
    }
    .into_any()
}

/// "You are muted", while the person talks with their microphone off (as Meet says).
#[component]
fn MutedHint(state: CallState) -> impl IntoView {
    let text = move || {
        if state.talking_while_muted.get() {
            "You are muted. Turn on your microphone (Ctrl+D) to be heard."
        } else {
            ""
        }
    };
    view! { <p class="muted-hint" role="status">{text}</p> }
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
pub fn DeviceButton(state: CallState, device: Device) -> impl IntoView {
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

/// The settings: a dialog with the device menus, as Meet's "Settings".
#[component]
fn SettingsButton(state: CallState) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let open = move |_| {
        if let Some(dialog) = dialog.get() {
            let _ = dialog.show_modal();
        }
    };
    view! {
        <button
            type="button"
            class="round"
            aria-label="Settings"
            aria-haspopup="dialog"
            title="Settings"
            on:click=open
        >
            <SettingsIcon/>
        </button>
        <dialog node_ref=dialog class="settings card" aria-labelledby="settings-title">
            <h2 id="settings-title">"Settings"</h2>
            <DeviceMenus state/>
            <form method="dialog">
                <button type="submit" class="button primary">"Done"</button>
            </form>
        </dialog>
    }
}
