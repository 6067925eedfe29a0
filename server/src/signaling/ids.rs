//! Peer ids that are never handed out twice, also across restarts: they come from
//! blocks reserved in the database before use.

use crate::store::{RoomStore, StoreError};
use app::protocol::PeerId;
use tokio::sync::Mutex;

/// Ids reserved at a time. A restart skips what was left of the last block.
const BLOCK: u64 = 10_000;

pub struct PeerIds {
    store: RoomStore,
    /// The next id to hand out and the end of the reserved block.
    range: Mutex<(u64, u64)>,
}

impl PeerIds {
    /// Reserves the first block.
    pub async fn open(store: RoomStore) -> Result<Self, StoreError> {
        let start = store.reserve_peer_ids(BLOCK).await?;
        Ok(Self {
            store,
            range: Mutex::new((start, start + BLOCK)),
        })
    }

    /// An id no one has had before.
    pub async fn next(&self) -> Result<PeerId, StoreError> {
        let mut range = self.range.lock().await;
        if range.0 >= range.1 {
            let start = self.store.reserve_peer_ids(BLOCK).await?;
            *range = (start, start + BLOCK);
        }
        let id = range.0;
        range.0 += 1;
        Ok(PeerId(id))
    }
}
