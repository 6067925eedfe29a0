//! Before joining, as in Meet: your own picture, a microphone level meter, the
//! microphone and camera switches, the device menus and the name to show.

use super::controls::DeviceButton;
use super::devices::{DeviceMenus, LevelMeter};
use super::stage::SelfVideo;
use super::InviteLink;
use crate::call::{initial, CallState, Device, Phase};
use crate::pages::address::query_value;
use crate::protocol::{clean_display_name, MAX_DISPLAY_NAME_CHARS};
use crate::room_code::RoomCode;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

#[component]
pub fn Lobby(state: CallState, code: RoomCode, invite_path: String, asks: bool) -> impl IntoView {
    // The form sent before the app was live (its plain-HTML submission, with
    // `?join=1&name=…`): the server fills the name in, and once live the app joins
    // at once, so that one press of "Join now" is enough whenever it came.
    let sent_name = query_value("name").unwrap_or_default();
    let join_pressed = query_value("join").is_some_and(|value| value == "1");
    let (name, set_name) = signal(sent_name.clone());
    let (live, set_live) = signal(false);
    let input = NodeRef::<leptos::html::Input>::new();

    let joining = move || state.phase.get() == Phase::Joining;
    let asking = move || state.phase.get() == Phase::Asking;
    let cancel = move |_| {
        #[cfg(feature = "hydrate")]
        expect_context::<crate::call::browser::CallHandle>().stop_asking(state);
    };
    // Copy, so that the form and the sent form's join can both start the call.
    let code = StoredValue::new(code);
    let start = move || {
        let Some(clean) = clean_display_name(&name.get_untracked()) else {
            return;
        };
        state.my_name.set(clean.clone());
        #[cfg(feature = "hydrate")]
        expect_context::<crate::call::browser::CallHandle>().join(state, code.get_value(), clean);
        #[cfg(not(feature = "hydrate"))]
        let _ = (code, clean);
    };
    Effect::new(move |_| {
        // Runs once the app is live in the browser. Whatever was typed in the
        // meantime counts; else the name from last time.
        let Some(input) = input.get() else { return };
        let typed = input.value();
        if !typed.trim().is_empty() {
            set_name.set(typed);
        } else {
            #[cfg(feature = "hydrate")]
            if let Some(remembered) = crate::call::browser::remembered_name() {
                set_name.set(remembered);
            }
        }
        set_live.set(true);
        if join_pressed {
            #[cfg(feature = "hydrate")]
            forget_the_sent_form();
            start();
        }
    });
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| expect_context::<crate::call::browser::CallHandle>().preview(state));

    let valid = move || clean_display_name(&name.get()).is_some();
    let join = move |event: SubmitEvent| {
        event.prevent_default();
        start();
    };
    let camera_off = move || !state.my_media.get().video;
    view! {
        <section class="lobby" aria-labelledby="lobby-title">
            <div class="preview">
                <div class="tile self" class:camera-off=camera_off>
                    <SelfVideo state/>
                    <div class="avatar" aria-hidden="true">
                        {move || initial(&name.get())}
                    </div>
                    <Show when=camera_off>
                        <p class="preview-caption">"Camera is off"</p>
                    </Show>
                    <div class="preview-controls">
                        <DeviceButton state device=Device::Microphone/>
                        <DeviceButton state device=Device::Camera/>
                    </div>
                </div>
                <LevelMeter state/>
            </div>
            <div class="lobby-side card">
                <h2 id="lobby-title">
                    {move || if asking() { "Asking to join…" } else { "Ready to join?" }}
                </h2>
                <div class="asking" aria-live="polite">
                    <Show when=asking>
                        <p>"You'll join the call when someone lets you in."</p>
                        <button type="button" class="button" on:click=cancel>"Cancel"</button>
                    </Show>
                </div>
                <form class="join-call" method="get" on:submit=join hidden=asking>
                    <input type="hidden" name="join" value="1"/>
                    <label for="display-name">"Your name"</label>
                    <input
                        id="display-name"
                        name="name"
                        type="text"
                        autocomplete="name"
                        required=true
                        maxlength=MAX_DISPLAY_NAME_CHARS
                        node_ref=input
                        value=sent_name
                        prop:value=name
                        on:input=move |ev| set_name.set(event_target_value(&ev))
                    />
                    // Enabled until the app is live, so the form can be sent without it.
                    <button
                        type="submit"
                        class="button primary"
                        disabled=move || live.get() && (!valid() || joining())
                    >
                        {move || match (joining(), asks) {
                            (true, _) => "Joining…",
                            (false, true) => "Ask to join",
                            (false, false) => "Join now",
                        }}
                    </button>
                </form>
                <DeviceMenus state/>
                <p class="hint">"Invite others with this link:"</p>
                <InviteLink path=invite_path/>
            </div>
        </section>
    }
    .into_any()
}

/// Takes the sent form's `?join=1&name=…` off the address, so that reloading the
/// page later shows the lobby instead of joining again.
#[cfg(feature = "hydrate")]
fn forget_the_sent_form() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(path) = window.location().pathname() else {
        return;
    };
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
    }
}
