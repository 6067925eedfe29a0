use clap::Parser;
use server::config::Config;
use server::Server;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    init_logging(config.log.as_deref());

    let server = match Server::bind(&config).await {
        Ok(server) => server,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        database = %server::store::redacted(&config.database_url),
        site = %config
            .site_folder()
            .map_or("built in".to_owned(), |folder| folder.display().to_string()),
        "Parley is serving at http://{}",
        server.local_addr()
    );
    if let Some(metrics) = server.metrics_addr() {
        tracing::info!("metrics at http://{metrics}/metrics");
    }
    match server.serve(shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("Parley stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: Option<&str>) {
    let filter = match filter {
        Some(filter) => EnvFilter::new(filter),
        None => EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(server::config::DEFAULT_LOG_FILTER)),
    };
    // Colours only on a terminal: in a file or the systemd journal they are noise.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
}

/// Resolves on Ctrl+C or SIGTERM, so the database is closed cleanly.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl+C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
