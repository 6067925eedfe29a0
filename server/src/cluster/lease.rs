//! This node's lease on its meetings: twice a second it says it is alive, renews the
//! meetings it hosts (giving way where another node took one while Redis was away),
//! and ends the links to homes that are no longer alive.

use super::{homes, lock, Cluster, ClusterError, NodeId};
use crate::signaling::Signaling;
use std::sync::Weak;

/// Every half second: says this node is alive, renews its meetings, and ends the links to
/// homes that are not alive any more (their participants resume, and the meeting
/// moves to the first node they reach).
pub(super) async fn keep_alive(cluster: Weak<Cluster>, signaling: Weak<Signaling>) {
    let mut every = tokio::time::interval(homes::RENEW_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let (Some(cluster), Some(signaling)) = (cluster.upgrade(), signaling.upgrade()) else {
            return;
        };
        if *signaling.stopping.borrow() {
            return;
        }
        if let Err(error) = cluster.renew(&signaling).await {
            // (The outage itself is logged once, by the check.)
            tracing::debug!(%error, "could not renew this node's meetings");
            cluster.check().await;
        }
    }
}

impl Cluster {
    async fn renew(&self, signaling: &Signaling) -> Result<(), ClusterError> {
        let lease = homes::HOME_LEASE.as_millis() as u64;
        let mut pipe = redis::pipe();
        pipe.set_options(
            homes::alive_key(&self.node),
            1,
            redis::SetOptions::default()
                .with_expiration(redis::SetExpiry::PX(homes::ALIVE_FOR.as_millis() as u64)),
        )
        .ignore();
        let codes = signaling.hub.room_codes();
        for code in &codes {
            pipe.cmd("EVAL")
                .arg(homes::RENEW)
                .arg(1)
                .arg(homes::room_key(code))
                .arg(&self.node.0)
                .arg(lease);
        }
        let homes: Vec<NodeId> = {
            let links = lock(&self.edge_links);
            let mut homes: Vec<NodeId> = links.values().map(|(home, _)| home.clone()).collect();
            homes.sort_by(|a, b| a.0.cmp(&b.0));
            homes.dedup();
            homes
        };
        for home in &homes {
            pipe.exists(homes::alive_key(home));
        }
        let replies: Vec<i64> = self
            .commands
            .run(|mut redis| async move { pipe.query_async(&mut redis).await })
            .await?;
        let (renewed, alive) = replies.split_at(codes.len().min(replies.len()));
        for (code, renewed) in codes.iter().zip(renewed) {
            if *renewed == 0 {
                // Two nodes took the meeting while Redis was away: this one gives way.
                let people = signaling.hub.hand_over(code);
                if let Some(sfu) = &signaling.sfu {
                    for peer in &people {
                        sfu.close(*peer);
                    }
                }
                tracing::warn!(room = %code, people = people.len(), "another node hosts this meeting now; its participants move there");
            }
        }
        let dead: Vec<&NodeId> = homes
            .iter()
            .zip(alive)
            .filter(|(_, alive)| **alive == 0)
            .map(|(home, _)| home)
            .collect();
        if !dead.is_empty() {
            let mut links = lock(&self.edge_links);
            links.retain(|_, (home, _)| !dead.contains(&&*home));
            for home in dead {
                tracing::warn!(node = %home, "a node hosting meetings is gone; its participants move");
            }
        }
        // (A meeting just claimed may have nobody in it yet: its first join is on its way.)
        lock(&self.homed_at).retain(|code, at| {
            codes.contains(code) || at.elapsed().unwrap_or_default() < homes::HOME_LEASE
        });
        self.check().await;
        Ok(())
    }
}
