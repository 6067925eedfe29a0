//! The HTTP routes: Leptos pages and server functions, the built browser app, and a
//! few plain endpoints.

use crate::config::{Config, DEVELOPMENT_SITE_ROOT};
use crate::health::{self, Health};
use crate::hosts::{self, Meetings, Visitor};
use crate::monitoring;
use crate::new_meetings::{self, NewMeetingLimit};
use crate::security;
use crate::signaling::forwarded::TrustedProxies;
use crate::signaling::{self, Signaling};
use crate::site;
use crate::store::RoomStore;
use app::pages::address::MEETING_PATH_PREFIX;
use app::room_code::RoomCode;
use app::rooms::SharedDirectory;
use app::rooms::{look_up, MeetingLookup};
use app::shell;
use axum::body::Body;
use axum::extract::{FromRef, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes};
use leptos_router::{Method, SsrMode};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::trace::TraceLayer;

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub directory: SharedDirectory,
    pub signaling: Arc<Signaling>,
}

pub fn router(
    config: &Config,
    addr: SocketAddr,
    store: RoomStore,
    signaling: Arc<Signaling>,
    health: Arc<Health>,
) -> Router {
    let embedded = config.site_folder().is_none();
    let cluster = signaling.cluster.clone();
    let leptos_options = LeptosOptions::builder()
        .output_name(site::output_name(embedded))
        .site_root(
            config
                .site_folder()
                .unwrap_or_else(|| DEVELOPMENT_SITE_ROOT.into())
                .to_string_lossy()
                .as_ref(),
        )
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let directory: SharedDirectory = Arc::new(Meetings {
        store,
        hosts: signaling.hosts.clone(),
    });
    let state = AppState {
        leptos_options,
        directory: directory.clone(),
        signaling,
    };
    let provide_directory = page_context(directory);

    // The binary's own copy of the browser app, unless a folder was given.
    let embedded_site = match embedded {
        true => site::routes(),
        false => Router::new(),
    };
    Router::new()
        .merge(embedded_site)
        .route("/join", get(join))
        .route("/healthz", get(health::endpoint).with_state(health))
        .route("/ws", get(signaling::upgrade))
        .route(&format!("{MEETING_PATH_PREFIX}{{code}}"), get(meeting_page))
        // The home page (the meeting page has its handler above; anything else is the
        // fallback's 404 page), and the server functions.
        .leptos_routes_with_context(
            &state,
            vec![AxumRouteListing::new(
                "/".into(),
                SsrMode::OutOfOrder,
                [Method::Get],
                vec![],
            )],
            provide_directory.clone(),
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide_directory, shell))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(
                NewMeetingLimit::new(
                    config.max_new_meetings_per_hour,
                    TrustedProxies::new(&config.signaling.trusted_proxies),
                )
                .across(cluster),
            ),
            new_meetings::limit,
        ))
        .layer(axum::middleware::from_fn(hosts::browser_cookie))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn(monitoring::count_responses))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Leptos context for rendering a page or running a server function: the room
/// directory, and the request's script nonce.
fn page_context(directory: SharedDirectory) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(directory.clone());
        security::provide_script_nonce();
    }
}

/// A meeting's page. The meeting is looked up first, so the page renders at once with
/// its details, which it carries to the browser app (and an unknown meeting's page
/// answers 404).
async fn meeting_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    request: Request<Body>,
) -> Response {
    let mut lookup: MeetingLookup = look_up(state.directory.as_ref(), &code).await;
    if let MeetingLookup::Found(room) = &mut lookup {
        room.hosting =
            Visitor::from_headers(request.headers()).is_host(&state.signaling.hosts, &room.code);
    }
    let context = page_context(state.directory.clone());
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || {
            provide_context(lookup.clone());
            context();
        },
        move || shell(options.clone()),
    );
    render(request).await
}

#[derive(Deserialize)]
struct JoinQuery {
    #[serde(default)]
    code: String,
}

/// The home page's join form without JavaScript: GET /join?code=... goes to the meeting.
async fn join(Query(query): Query<JoinQuery>) -> Response {
    match RoomCode::from_user_input(&query.code) {
        Ok(code) => Redirect::to(&code.path()).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    }
}
