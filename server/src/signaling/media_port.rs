//! A participant's connection to the server's media port, over signaling: their offer
//! (answered by the port, as a room message), their answers to the server's offers, and
//! the end of it when they leave or are removed.

use super::connection::{Joined, Session};
use super::hub::Settled;
use crate::sfu::Sfu;
use app::protocol::{
    ErrorCode, PeerId, ShownTile, Transport, MAX_MEDIA_SDP_BYTES, MAX_SHOWN_TILES,
};
use std::sync::Arc;

impl Session {
    /// The checks both media messages share: joined, a media port, an SDP within
    /// its size. Refuses (and returns `None`) when one fails.
    fn media_port_for(&self, sdp: &str) -> Option<(Sfu, Arc<super::hub::Room>, PeerId)> {
        let Some(Joined { room, id, .. }) = &self.joined else {
            self.refuse(ErrorCode::NotJoined, "join a meeting before sending media");
            return None;
        };
        let Some(sfu) = &self.signaling.sfu else {
            self.refuse(ErrorCode::MediaRefused, "this server forwards no media");
            return None;
        };
        if sdp.len() > MAX_MEDIA_SDP_BYTES {
            self.refuse(
                ErrorCode::TooLarge,
                format!("an SDP may be at most {MAX_MEDIA_SDP_BYTES} bytes"),
            );
            return None;
        }
        Some((sfu.clone(), room.clone(), *id))
    }

    pub(super) async fn sfu_offer(&mut self, sdp: &str) {
        let Some((sfu, room, id)) = self.media_port_for(sdp) else {
            return;
        };
        if let Err(error) = sfu.open(room, id, sdp).await {
            tracing::info!(peer = %id, %error, "media offer refused");
            self.refuse(ErrorCode::MediaRefused, error.to_string());
        }
    }

    /// They play everyone through `transport`: perhaps the last one a move waited for.
    pub(super) fn transport_ready(&mut self, transport: Transport) {
        let Some(Joined { room, id, .. }) = &self.joined else {
            self.refuse(ErrorCode::NotJoined, "join a meeting first");
            return;
        };
        if let Some(settled) = self.signaling.hub.transport_ready(room, *id, transport) {
            close_old_way(self.signaling.sfu.as_ref(), &settled);
        }
    }

    /// The cameras they show, and how large: the media port sends each at that size.
    pub(super) fn tiles_shown(&mut self, tiles: &[ShownTile]) {
        let Some(Joined { id, .. }) = &self.joined else {
            self.refuse(ErrorCode::NotJoined, "join a meeting first");
            return;
        };
        if tiles.len() > MAX_SHOWN_TILES {
            self.refuse(
                ErrorCode::TooLarge,
                format!("at most {MAX_SHOWN_TILES} tiles may be listed"),
            );
            return;
        }
        // Without a media port there is nothing to size: a mesh sends every camera
        // whole, and the message is harmless.
        if let Some(sfu) = &self.signaling.sfu {
            sfu.show(*id, tiles);
        }
    }

    pub(super) fn sfu_answer(&mut self, sdp: &str) {
        let Some((sfu, _, id)) = self.media_port_for(sdp) else {
            return;
        };
        if let Err(error) = sfu.answer(id, sdp) {
            self.refuse(ErrorCode::MediaRefused, error.to_string());
        }
    }
}

/// A meeting back on the mesh: the server ends its media sessions (the browsers close
/// theirs too).
pub(super) fn close_old_way(sfu: Option<&Sfu>, settled: &Settled) {
    if settled.transport != Transport::Mesh {
        return;
    }
    if let Some(sfu) = sfu {
        for id in &settled.members {
            sfu.close(*id);
        }
    }
}
