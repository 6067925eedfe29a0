//! The home of a link: a participant of a meeting hosted here, whose WebSocket reached
//! another node. Their connection is served as a local one (`connection::serve_frames`),
//! over frames that come and go on the bus instead of a socket.

use super::envelope::{Body, LinkId};
use super::{lock, Cluster, LINK_QUEUE};
use crate::hosts::Visitor;
use crate::signaling::{connection, Signaling};
use axum::extract::ws::Message;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Serves the participant on `link`, who just opened it, until their connection ends.
pub(super) fn serve(
    cluster: Arc<Cluster>,
    signaling: Arc<Signaling>,
    link: LinkId,
    client: IpAddr,
    visitor: Visitor,
) {
    let (sender, from_edge) = mpsc::channel::<Message>(LINK_QUEUE);
    lock(&cluster.home_links).insert(link.clone(), sender);
    let broken = cluster.broken.subscribe();
    // What the edge sends; ends when the link ends here (too slow, the bus broke).
    let stream = Box::pin(futures_util::stream::unfold(
        (from_edge, broken),
        |(mut from_edge, mut broken)| async move {
            tokio::select! {
                message = from_edge.recv() => {
                    message.map(|m| (Ok::<_, axum::Error>(m), (from_edge, broken)))
                }
                _ = broken.changed() => None,
            }
        },
    ));
    let to_edge = (cluster.clone(), link.clone());
    let sink = Box::pin(futures_util::sink::unfold(
        to_edge,
        |(cluster, link), message: Message| async move {
            let body = match message {
                Message::Text(text) => Body::Text {
                    text: text.as_str().to_owned(),
                },
                Message::Ping(_) => Body::Ping,
                Message::Pong(_) => Body::Pong,
                Message::Close(frame) => Body::Close {
                    code: frame.as_ref().map(|f| f.code),
                    reason: frame
                        .map(|f| f.reason.as_str().to_owned())
                        .unwrap_or_default(),
                },
                Message::Binary(_) => return Ok((cluster, link)),
            };
            let edge = link.edge.clone();
            cluster.publish(&edge, &link, body).await;
            Ok::<_, axum::Error>((cluster, link))
        },
    ));
    tokio::spawn(async move {
        connection::serve_frames(sink, stream, signaling, client, visitor).await;
        lock(&cluster.home_links).remove(&link);
        // However it ended here, the edge closes the socket (a close frame, if one was
        // sent, went first).
        let edge = link.edge.clone();
        cluster
            .publish(
                &edge,
                &link,
                Body::Close {
                    code: None,
                    reason: String::new(),
                },
            )
            .await;
    });
}
