//! The device menus (camera, microphone, and speaker where the browser can choose
//! one) and the microphone level meter, in the lobby and in the call's settings.

use crate::call::devices::DeviceKind;
use crate::call::CallState;
use leptos::prelude::*;

/// A menu for each kind of device.
#[component]
pub fn DeviceMenus(state: CallState) -> impl IntoView {
    // Only the browser knows whether it can choose speakers; the menu appears once the
    // page is live, so the server's page and the live one agree.
    let (speakers, set_speakers) = signal(false);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        set_speakers.set(crate::call::browser::can_choose_speaker());
        #[cfg(not(feature = "hydrate"))]
        let _ = set_speakers;
    });
    view! {
        <div class="device-menus">
            <DeviceMenu state kind=DeviceKind::Camera/>
            <DeviceMenu state kind=DeviceKind::Microphone/>
            <Show when=move || speakers.get()>
                <DeviceMenu state kind=DeviceKind::Speaker/>
            </Show>
        </div>
    }
}

/// A labelled `<select>` of the devices of `kind`, showing the one in use.
#[component]
fn DeviceMenu(state: CallState, kind: DeviceKind) -> impl IntoView {
    let id = format!("{}-menu", kind.noun());
    let title = match kind {
        DeviceKind::Camera => "Camera",
        DeviceKind::Microphone => "Microphone",
        DeviceKind::Speaker => "Speaker",
    };
    let devices = move || state.devices.with(|lists| lists.of(kind).to_vec());
    let none = move || state.devices.with(|lists| lists.of(kind).is_empty());
    let choose = move |event: leptos::ev::Event| {
        let chosen = event_target_value(&event);
        #[cfg(feature = "hydrate")]
        expect_context::<crate::call::browser::CallHandle>().choose(state, kind, chosen);
        #[cfg(not(feature = "hydrate"))]
        let _ = chosen;
    };
    view! {
        <div class="device-menu">
            <label for=id.clone()>{title}</label>
            <select id=id disabled=none on:change=choose>
                <Show when=none>
                    <option value="">{format!("No {} found", kind.noun())}</option>
                </Show>
                <For
                    each=devices
                    key=|device| (device.id.clone(), device.label.clone())
                    children=move |device| {
                        let value = device.id.clone();
                        let selected = move || state.chosen.with(|c| c.of(kind) == Some(value.as_str()));
                        view! {
                            <option value=device.id prop:selected=selected>
                                {device.label}
                            </option>
                        }
                    }
                />
            </select>
        </div>
    }
}

/// How loud the microphone is, as a bar that moves while you talk.
#[component]
pub fn LevelMeter(state: CallState) -> impl IntoView {
    let percent = move || (state.mic_level.get() * 100.0).round() as u32;
    view! {
        <div
            class="level-meter"
            role="meter"
            aria-label="Microphone level"
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=move || percent().to_string()
        >
            <span class="level" style=move || format!("width: {}%", percent())></span>
        </div>
    }
}
