//! A real Parley server on an ephemeral loopback port, with its own SQLite file.

#![allow(dead_code)] // each test binary uses a different part of this module

use server::config::Config;
use server::Server;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub addr: SocketAddr,
    pub database_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on a fresh database file inside `dir`.
    pub async fn start(dir: &tempfile::TempDir) -> Self {
        Self::start_with(database_url(dir.path().join("parley.db"))).await
    }

    /// Starts a server on the given database.
    pub async fn start_with(database_url: String) -> Self {
        let server = Server::bind(&Config::for_tests(database_url.clone()))
            .await
            .expect("server starts");
        let addr = server.local_addr();
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
            database_url,
            stop: Some(stop),
            task: Some(task),
        }
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

pub fn database_url(path: PathBuf) -> String {
    format!("sqlite:{}", path.display())
}

/// An HTTP client that shows redirects instead of following them.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}
