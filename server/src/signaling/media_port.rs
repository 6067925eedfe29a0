//! A participant's connection to the server's media port, over signaling: their offer
//! (answered here), their answers to the server's offers, and the end of it when they
//! leave or are removed.

use super::connection::{Joined, Session};
use app::protocol::{ErrorCode, MAX_SDP_BYTES};

impl Session {
    pub(super) async fn sfu_offer(&mut self, sdp: &str) {
        let Some(Joined { room, id, .. }) = &self.joined else {
            return self.refuse(ErrorCode::NotJoined, "join a meeting before sending media");
        };
        let Some(sfu) = &self.signaling.sfu else {
            return self.refuse(ErrorCode::MediaRefused, "this server forwards no media");
        };
        if sdp.len() > MAX_SDP_BYTES {
            return self.refuse(
                ErrorCode::TooLarge,
                format!("an SDP may be at most {MAX_SDP_BYTES} bytes"),
            );
        }
        match sfu.open(room.clone(), *id, sdp).await {
            Ok(()) => {}
            Err(error) => {
                tracing::info!(peer = %id, %error, "media offer refused");
                self.refuse(ErrorCode::MediaRefused, error.to_string());
            }
        }
    }

    pub(super) fn sfu_answer(&mut self, sdp: &str) {
        let Some(Joined { id, .. }) = &self.joined else {
            return self.refuse(ErrorCode::NotJoined, "join a meeting before sending media");
        };
        let Some(sfu) = &self.signaling.sfu else {
            return self.refuse(ErrorCode::MediaRefused, "this server forwards no media");
        };
        if sdp.len() > MAX_SDP_BYTES {
            return self.refuse(
                ErrorCode::TooLarge,
                format!("an SDP may be at most {MAX_SDP_BYTES} bytes"),
            );
        }
        if let Err(error) = sfu.answer(*id, sdp) {
            self.refuse(ErrorCode::MediaRefused, error.to_string());
        }
    }
}
