use crate::pages::set_tab_title;
use leptos::prelude::*;

/// "No such meeting": shown for unknown paths and for unknown or malformed meeting
/// codes, with a 404 status when rendered on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }

    set_tab_title("Not found");
    view! {
        <main class="page page-centered">
            <section class="card not-found">
                <h1>"This meeting doesn't exist"</h1>
                <p>"Check the code or link you were given: it looks like " <code>"abc-defg-hij"</code> "."</p>
                <a class="button primary" href="/">"Back to Parley"</a>
            </section>
        </main>
    }
}
