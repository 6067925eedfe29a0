//! The bus between nodes: what a node publishes, in order, a batch per round trip; what
//! it receives on its channel, passed to the link it belongs to. When either side
//! breaks, every link through the bus ends (`Cluster::break_links`).

use super::envelope::{Body, Envelope};
use super::{lock, remote, Cluster, PUBLISH_BATCH};
use crate::signaling::Signaling;
use axum::extract::ws::Message;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

impl Cluster {
    /// An envelope from the bus, to the link it belongs to.
    fn deliver(self: &Arc<Self>, payload: &[u8], signaling: &Weak<Signaling>) {
        let Some(Envelope { link, body }) = Envelope::decode(payload) else {
            tracing::warn!("ignored a malformed message on the cluster bus");
            return;
        };
        if link.edge == self.node {
            let mut links = lock(&self.edge_links);
            let Some((_, sender)) = links.get(&link.number) else {
                return;
            };
            if sender.try_send(body).is_err() {
                // Too slow to take what its home sends: it ends, and resumes.
                links.remove(&link.number);
            }
            return;
        }
        if let Body::Open { client, visitor } = body {
            if let Some(signaling) = signaling.upgrade() {
                remote::serve(self.clone(), signaling, link, client, visitor);
            }
            return;
        }
        let mut links = lock(&self.home_links);
        let Some(sender) = links.get(&link) else {
            return;
        };
        let message = match body {
            Body::Text { text } => Message::Text(text.into()),
            Body::Binary { len } => Message::Binary(vec![0; len].into()),
            Body::Ping => Message::Ping(Default::default()),
            Body::Pong => Message::Pong(Default::default()),
            Body::Close { .. } => Message::Close(None),
            Body::Open { .. } => return,
        };
        if sender.try_send(message).is_err() {
            links.remove(&link);
        }
    }
}

/// Publishes what is queued, in order, a batch per round trip.
pub(super) async fn publish_loop(
    cluster: Weak<Cluster>,
    mut queue: mpsc::Receiver<(String, String)>,
) {
    while let Some((channel, payload)) = queue.recv().await {
        let mut pipe = redis::pipe();
        pipe.publish(channel, payload).ignore();
        for _ in 1..PUBLISH_BATCH {
            match queue.try_recv() {
                Ok((channel, payload)) => {
                    pipe.publish(channel, payload).ignore();
                }
                Err(_) => break,
            }
        }
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        let published = cluster
            .commands
            .run(|mut redis| async move { pipe.query_async::<()>(&mut redis).await })
            .await;
        if let Err(error) = published {
            tracing::debug!(%error, "could not publish on the cluster bus; links through it end");
            cluster.break_links();
        }
    }
}

/// Listens on this node's channel, subscribing again whenever the subscription breaks.
pub(super) async fn listen(cluster: Weak<Cluster>, signaling: Weak<Signaling>) {
    // Whether the last attempt failed (to log an outage once, not every retry).
    let mut failing = false;
    loop {
        let Some((client, channel)) = cluster
            .upgrade()
            .map(|c| (c.client.clone(), c.node.channel()))
        else {
            return;
        };
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match subscribed.await {
            Ok(pubsub) => {
                if failing {
                    tracing::info!(%channel, "listening on the cluster bus again");
                }
                failing = false;
                let mut messages = pubsub.into_on_message();
                while let Some(message) = futures_util::StreamExt::next(&mut messages).await {
                    let Some(cluster) = cluster.upgrade() else {
                        return;
                    };
                    cluster.deliver(message.get_payload_bytes(), &signaling);
                }
                tracing::warn!("lost the cluster bus; participants relayed through it come back");
            }
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "cannot listen on the cluster bus; trying again");
            }
            Err(_) => {}
        }
        if let Some(cluster) = cluster.upgrade() {
            cluster.break_links();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
