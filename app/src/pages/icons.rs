//! The call controls' icons, drawn inline as SVG so they look the same on every
//! machine (emoji depend on the fonts installed, and show as empty boxes without one).
//! Each is decorative: the button or badge around it carries the accessible name.

use leptos::prelude::*;

#[component]
pub fn MicIcon(#[prop(optional)] off: bool) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true">
            <rect x="9" y="3" width="6" height="11" rx="3"/>
            <path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21M8.5 21h7"/>
            {off.then(|| view! { <path class="slash" d="M4 4l16 16"/> })}
        </svg>
    }
}

#[component]
pub fn CameraIcon(#[prop(optional)] off: bool) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true">
            <rect x="3" y="6.5" width="12.5" height="11" rx="2"/>
            <path d="M15.5 10.5l5-3v9l-5-3z"/>
            {off.then(|| view! { <path class="slash" d="M3 3.5l18 17"/> })}
        </svg>
    }
}

/// A telephone handset laid down: leave the call.
#[component]
pub fn LeaveIcon() -> impl IntoView {
    view! {
        <svg class="icon filled" viewBox="0 0 24 24" aria-hidden="true">
            <path d="M2.5 14.5c5.2-5 13.8-5 19 0l-2.6 2.9-3.7-1.7v-2.6a12 12 0 0 0-6.4 0v2.6l-3.7 1.7z"/>
        </svg>
    }
}

/// A speech bubble: the chat.
#[component]
pub fn ChatIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true">
            <path d="M4 5h16v11H9l-4.5 3.5V16H4z"/>
        </svg>
    }
}

/// A cog: the settings.
#[component]
pub fn SettingsIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true">
            <circle cx="12" cy="12" r="3"/>
            <path d="M12 2.5v3M12 18.5v3M2.5 12h3M18.5 12h3M5.3 5.3l2.1 2.1M16.6 16.6l2.1 2.1M5.3 18.7l2.1-2.1M16.6 7.4l2.1-2.1"/>
            <circle cx="12" cy="12" r="6.5"/>
        </svg>
    }
}

/// A raised hand.
#[component]
pub fn HandIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true">
            <path d="M8 12V5.5a1.5 1.5 0 0 1 3 0V11M11 10.5V4a1.5 1.5 0 0 1 3 0v6.5M14 10.5V5.5a1.5 1.5 0 0 1 3 0V14a7 7 0 0 1-7 7h-.5a6 6 0 0 1-4.6-2.2L3.5 15a1.5 1.5 0 0 1 2.3-1.9L8 15.5V12"/>
        </svg>
    }
}

/// Two people: the participants.
#[component]
pub fn PeopleIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true">
            <circle cx="9" cy="8" r="3.5"/>
            <path d="M2.5 20a6.5 6.5 0 0 1 13 0M16 4.8a3.5 3.5 0 0 1 0 6.4M18.5 14.5a6.5 6.5 0 0 1 3 5.5"/>
        </svg>
    }
}

/// A screen with an arrow out of it: presenting.
#[component]
pub fn PresentIcon() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true">
            <rect x="2.5" y="4" width="19" height="13" rx="1.5"/>
            <path d="M8 21h8M12 17v4M12 14V7.5M9 10l3-3 3 3"/>
        </svg>
    }
}
