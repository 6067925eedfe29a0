//! A real Parley server on an ephemeral loopback port, with its own SQLite file.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod client;
pub mod frames;
pub mod link;
pub mod media;
pub mod process;
pub mod turn;

use server::config::Config;
use server::Server;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub addr: SocketAddr,
    /// Where `/metrics` is served, when the config asked for it.
    pub metrics_addr: Option<SocketAddr>,
    /// Where the media port listens, when the config opened one.
    pub media_addr: Option<SocketAddr>,
    pub database_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// The folder of the database, when the server made its own; removed after it stops.
    own_dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on a fresh database file in a folder of its own.
    pub async fn fresh() -> Self {
        Self::fresh_tuned(|_| {}).await
    }

    /// Starts a server on a fresh database file in a folder of its own, with settings
    /// changed by `change`.
    pub async fn fresh_tuned(change: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut server = Self::start_tuned(&dir, change).await;
        server.own_dir = Some(dir);
        server
    }

    /// Starts a server on a fresh database file inside `dir`.
    pub async fn start(dir: &tempfile::TempDir) -> Self {
        Self::start_with(database_url(dir.path().join("parley.db"))).await
    }

    /// Starts a server on the given database.
    pub async fn start_with(database_url: String) -> Self {
        Self::start_configured(Config::for_tests(database_url)).await
    }

    /// Starts a server on a fresh database file inside `dir`, with settings changed by `change`.
    pub async fn start_tuned(dir: &tempfile::TempDir, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_tests(database_url(dir.path().join("parley.db")));
        change(&mut config);
        Self::start_configured(config).await
    }

    pub async fn start_configured(config: Config) -> Self {
        let database_url = config.database_url.clone();
        let server = Server::bind(&config).await.expect("server starts");
        let addr = server.local_addr();
        let metrics_addr = server.metrics_addr();
        let media_addr = server.media_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .serve(async {
                    let _ = stopped.await;
                })
                .await
                .expect("server runs");
        });
        Self {
            addr,
            metrics_addr,
            media_addr,
            database_url,
            stop: Some(stop),
            task: Some(task),
            own_dir: None,
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A new signaling connection to this server.
    pub async fn connect(&self) -> client::Client {
        client::Client::connect(&self.ws_url()).await
    }

    /// Posts the home page's "New meeting" form the way a browser without JavaScript
    /// would, checks that it redirects to the new room, and returns the room's code.
    pub async fn create_room(&self, name: &str) -> app::room_code::RoomCode {
        create_room_at(self.addr, name).await
    }

    /// Starts a meeting as a browser does, and returns its code with the host cookie
    /// (`name=value`) the server gave the browser. `ask_to_join` ticks that box.
    pub async fn create_meeting(
        &self,
        name: &str,
        ask_to_join: bool,
    ) -> (app::room_code::RoomCode, String) {
        create_meeting_at(self.addr, name, ask_to_join).await
    }

    /// Opens a signaling connection sending `cookie` (as `name=value; …`).
    pub async fn connect_with_cookie(&self, cookie: &str) -> client::Client {
        client::Client::try_connect_with(&self.ws_url(), &[("cookie", cookie)])
            .await
            .expect("websocket connects")
    }

    /// The body of the page at `path`.
    pub async fn page_text(&self, path: &str) -> String {
        http()
            .get(self.url(path))
            .send()
            .await
            .expect("fetch a page")
            .text()
            .await
            .expect("a page body")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server and waits until its database is closed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task ends cleanly");
        }
    }
}

/// Starts a meeting on the server at `addr` as [`TestServer::create_room`] does.
pub async fn create_room_at(addr: SocketAddr, name: &str) -> app::room_code::RoomCode {
    create_meeting_at(addr, name, false).await.0
}

/// See [`TestServer::create_meeting`].
pub async fn create_meeting_at(
    addr: SocketAddr,
    name: &str,
    ask_to_join: bool,
) -> (app::room_code::RoomCode, String) {
    let mut form = vec![("name", name)];
    if ask_to_join {
        form.push(("ask_to_join", "on"));
    }
    let response = http()
        .post(format!("http://{addr}/api/rooms/create"))
        // A browser's form post accepts HTML; that is what makes the server answer
        // with a redirect rather than with the new room as data.
        .header("accept", "text/html,application/xhtml+xml")
        .form(&form)
        .send()
        .await
        .expect("create a room");
    assert!(
        response.status().is_redirection(),
        "creating a room redirects, got {}",
        response.status()
    );
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let code = location
        .strip_prefix("/r/")
        .unwrap_or_else(|| panic!("redirects to a room: {location}"));
    let code = app::room_code::RoomCode::parse(code).expect("a room code");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&app::rooms::host_cookie_name(&code)))
        .expect("the creator gets the host cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    (code, pair)
}

pub fn database_url(path: PathBuf) -> String {
    format!("sqlite:{}", path.display())
}

/// The value of the sample named `series` (with its labels, as Prometheus prints
/// them), or `None` when the metrics have no such sample.
pub fn metric(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().expect("a number"))
}

/// An HTTP client that shows redirects instead of following them.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}
