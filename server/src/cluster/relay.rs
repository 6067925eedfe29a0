//! The edge of a link: a participant's WebSocket reached this node, their meeting lives
//! on another. Their frames go to the home over the bus; the home's come back and are
//! written to the socket. Heartbeats pass through too, so the home times the
//! connection out as it would a local one.

use super::envelope::{Body, LinkId, NodeId};
use super::{lock, Cluster, LINK_QUEUE};
use crate::hosts::Visitor;
use app::protocol::CLOSE_RESTARTING;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How long the meeting's node may take to answer a link's first frame.
const HOME_ANSWERS_WITHIN: Duration = Duration::from_secs(5);

/// Relays `socket`, whose first frame was `first`, to the meeting's home `home` until
/// either end closes.
pub(crate) async fn relay(
    cluster: Arc<Cluster>,
    socket: WebSocket,
    first: Message,
    home: NodeId,
    client: IpAddr,
    visitor: Visitor,
    mut stopping: watch::Receiver<bool>,
) {
    let link = LinkId {
        edge: cluster.node.clone(),
        number: cluster.next_link.fetch_add(1, Ordering::Relaxed),
    };
    let (sender, mut from_home) = mpsc::channel(LINK_QUEUE);
    lock(&cluster.edge_links).insert(link.number, (home.clone(), sender));
    let mut broken = cluster.broken.subscribe();
    tracing::debug!(number = link.number, %home, "relaying a participant to their meeting's node");
    cluster
        .publish(&home, &link, Body::Open { client, visitor })
        .await;
    let (mut sink, mut stream) = socket.split();
    let mut pending = Some(first);
    // The home answers a join or resume at once; silence means it never got the link
    // (it was not listening on the bus yet, just after Redis came back): the
    // participant comes back rather than waiting for their heartbeat to time out.
    let answer_due = tokio::time::sleep(HOME_ANSWERS_WITHIN);
    tokio::pin!(answer_due);
    let mut answered = false;
    let restarting = || {
        Message::Close(Some(CloseFrame {
            code: CLOSE_RESTARTING,
            reason: Utf8Bytes::from_static("server restarting: come back"),
        }))
    };
    loop {
        let frame = match pending.take() {
            Some(first) => Some(Ok(first)),
            None => tokio::select! {
                frame = stream.next() => frame,
                () = &mut answer_due, if !answered => {
                    tracing::info!(number = link.number, %home, "the meeting's node did not answer; asking the participant back");
                    let _ = sink.send(restarting()).await;
                    cluster.publish(&home, &link, Body::Close { code: None, reason: String::new() }).await;
                    break;
                }
                body = from_home.recv() => {
                    answered = true;
                    let message = match body {
                        Some(Body::Text { text }) => Message::Text(text.into()),
                        Some(Body::Ping) => Message::Ping(Default::default()),
                        Some(Body::Pong) => Message::Pong(Default::default()),
                        Some(Body::Close { code, reason }) => {
                            let frame = code.map(|code| CloseFrame { code, reason: reason.into() });
                            let _ = sink.send(Message::Close(frame)).await;
                            break;
                        }
                        Some(Body::Open { .. } | Body::Binary { .. }) => continue,
                        // The link was ended here (its home is gone, or the bus broke):
                        // the participant comes back, to wherever their meeting is now.
                        None => {
                            let _ = sink.send(restarting()).await;
                            break;
                        }
                    };
                    if sink.send(message).await.is_err() {
                        cluster.publish(&home, &link, Body::Close { code: None, reason: String::new() }).await;
                        break;
                    }
                    continue;
                }
                _ = broken.changed() => {
                    let _ = sink.send(restarting()).await;
                    break;
                }
                _ = stopping.changed() => {
                    let _ = sink.send(restarting()).await;
                    cluster.publish(&home, &link, Body::Close { code: None, reason: String::new() }).await;
                    break;
                }
            },
        };
        let body = match frame {
            Some(Ok(Message::Text(text))) => Body::Text {
                text: text.as_str().to_owned(),
            },
            Some(Ok(Message::Ping(_))) => Body::Ping,
            Some(Ok(Message::Pong(_))) => Body::Pong,
            // Refused by the home, as locally: only the size matters.
            Some(Ok(Message::Binary(bytes))) => Body::Binary { len: bytes.len() },
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                cluster
                    .publish(
                        &home,
                        &link,
                        Body::Close {
                            code: None,
                            reason: String::new(),
                        },
                    )
                    .await;
                break;
            }
        };
        cluster.publish(&home, &link, body).await;
    }
    lock(&cluster.edge_links).remove(&link.number);
    tracing::debug!(number = link.number, "relay ended");
}
