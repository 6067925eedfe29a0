//! Where a new signaling WebSocket is served: here, or relayed to the node hosting its
//! meeting.

use super::{relay, Cluster, Home};
use crate::signaling::Signaling;
use app::room_code::RoomCode;
use axum::extract::ws::Message;
use std::sync::Arc;

/// Serves a new signaling WebSocket where its meeting lives: here, or relayed to the
/// node that hosts it. Its first frame names the meeting (`join` and `resume` carry
/// it); a connection that names none is served here, which answers it as usual.
pub async fn route(
    cluster: Arc<Cluster>,
    mut socket: axum::extract::ws::WebSocket,
    signaling: Arc<Signaling>,
    client: std::net::IpAddr,
    visitor: crate::hosts::Visitor,
    slot: crate::signaling::limits::ConnectionSlot,
) {
    use crate::signaling::connection;
    let wait = signaling.limits.heartbeat_timeout;
    let first = match tokio::time::timeout(wait, socket.recv()).await {
        Ok(Some(Ok(frame))) => frame,
        _ => return,
    };
    let room = match &first {
        Message::Text(text) => addressed(text.as_str()),
        _ => None,
    };
    let home = match &room {
        Some(room) => cluster.home_of(room).await,
        None => Ok(Home::Here),
    };
    match home {
        Ok(Home::Here) => {
            connection::serve(socket, Some(first), signaling, client, visitor, slot).await
        }
        Ok(Home::There(home)) => {
            let stopping = signaling.stopping.subscribe();
            relay::relay(cluster, socket, first, home, client, visitor, stopping).await;
            drop(slot);
        }
        Err(error) => {
            // Where the meeting lives is unknown: the browser tries again shortly, as
            // after a restart.
            tracing::warn!(%error, "could not look up which node hosts a meeting");
            cluster.check().await;
            let frame = axum::extract::ws::CloseFrame {
                code: app::protocol::CLOSE_RESTARTING,
                reason: "the server cannot reach its cluster: come back".into(),
            };
            let _ = socket.send(Message::Close(Some(frame))).await;
        }
    }
}

/// The meeting a client message names, if it names one.
fn addressed(text: &str) -> Option<RoomCode> {
    #[derive(serde::Deserialize)]
    struct Addressed {
        room: RoomCode,
    }
    serde_json::from_str::<Addressed>(text).ok().map(|a| a.room)
}
