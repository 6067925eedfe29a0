//! The browser entry point: hydrates the server-rendered page into the live app.

use wasm_bindgen::JsValue;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Tells scripts (and the end-to-end tests) that the page is now interactive.
    if let Some(window) = web_sys::window() {
        let _ = js_sys::Reflect::set(
            &window,
            &JsValue::from_str("__parley_hydrated"),
            &JsValue::TRUE,
        );
    }
}
