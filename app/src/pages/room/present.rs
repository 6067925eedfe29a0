//! Presenting: the button that starts and stops it, and the presentations on the
//! stage (ours and the others'), each labelled with who presents.

use crate::call::{CallState, Remote};
use crate::pages::icons::PresentIcon;
use crate::protocol::PeerId;
use leptos::prelude::*;

/// "Present now" / "Stop presenting".
#[component]
pub fn PresentButton(state: CallState) -> impl IntoView {
    let presenting = move || state.my_media.with(|m| m.screen.is_some());
    #[cfg(feature = "hydrate")]
    let call = expect_context::<crate::call::browser::CallHandle>();
    let toggle = move |_| {
        #[cfg(feature = "hydrate")]
        call.toggle_presenting();
    };
    let allowed = move || state.settings.get().may_present(state.my_role.get());
    let action = move || {
        if presenting() {
            "Stop presenting"
        } else if allowed() {
            "Present now"
        } else {
            "Only hosts can present in this meeting"
        }
    };
    view! {
        <button
            type="button"
            class="round"
            class:on=presenting
            aria-pressed=move || presenting().to_string()
            aria-label=action
            title=action
            disabled=move || !presenting() && !allowed()
            on:click=toggle
        >
            <PresentIcon/>
        </button>
    }
}

/// Whether someone (we or another) is presenting: the stage makes room for it.
pub fn anyone_presenting(state: CallState) -> bool {
    state.my_media.with(|m| m.screen.is_some())
        || state
            .remotes
            .with(|remotes| remotes.iter().any(|r| presents(*r)))
}

/// Whether `remote` presents and their presentation has arrived.
fn presents(remote: Remote) -> bool {
    remote.media.with(|m| m.screen.is_some()) && remote.screen.get() > 0
}

/// Every presentation running, ours first.
#[component]
pub fn Presentations(state: CallState) -> impl IntoView {
    let mine = Memo::new(move |_| state.my_media.with(|m| m.screen.clone()));
    view! {
        <div class="presentations">
            <Show when=move || mine.with(Option::is_some)>
                <Presentation
                    peer=None
                    label=Signal::stored("Your presentation".to_string())
                    caption=Signal::stored("You are presenting".to_string())
                    arrived=Signal::derive(move || u32::from(mine.with(Option::is_some)))
                />
            </Show>
            <For
                each=move || state.remotes.get()
                key=|remote| remote.id
                children=move |remote| {
                    view! {
                        <Show when=move || presents(remote)>
                            <Presentation
                                peer=Some(remote.id)
                                label=Signal::derive(move || {
                                    format!("Presentation by {}", remote.name.get())
                                })
                                caption=Signal::derive(move || {
                                    format!("{} is presenting", remote.name.get())
                                })
                                arrived=remote.screen.into()
                            />
                        </Show>
                    }
                }
            />
        </div>
    }
    .into_any()
}

/// One presentation, large, with who presents it.
#[component]
fn Presentation(
    peer: Option<PeerId>,
    label: Signal<String>,
    caption: Signal<String>,
    /// Goes up when a different stream arrives for it.
    arrived: Signal<u32>,
) -> impl IntoView {
    let video = NodeRef::<leptos::html::Video>::new();
    Effect::new(move |_| {
        let version = arrived.get();
        if let (true, Some(element)) = (version > 0, video.get()) {
            show_screen(&element, peer);
        }
    });
    view! {
        <figure class="presentation" aria-label=move || label.get()>
            <video node_ref=video autoplay=true prop:muted=true></video>
            <figcaption>{move || caption.get()}</figcaption>
        </figure>
    }
}

#[cfg(feature = "hydrate")]
fn show_screen(element: &web_sys::HtmlVideoElement, peer: Option<PeerId>) {
    let Some(call) = use_context::<crate::call::browser::CallHandle>() else {
        return;
    };
    element.set_src_object(call.screen_of(peer).as_ref());
    let _ = element.set_attribute("playsinline", "");
}

#[cfg(not(feature = "hydrate"))]
fn show_screen<T>(_element: &T, _peer: Option<PeerId>) {}
