//! Resume tokens: what a participant shows to take their session back after their
//! connection dropped, also from a server that restarted in between.
//!
//! A token names the peer id and when it was issued, and is signed with HMAC-SHA256
//! under a key kept in the database, bound to the room. So the server can check one
//! without remembering it, and a restarted server still accepts the tokens it handed
//! out before: a call goes on with the same ids.

use app::protocol::PeerId;
use app::room_code::RoomCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a token stays valid. Every resume hands out a fresh one.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Bytes of the signature kept in a token (128 bits).
const MAC_BYTES: usize = 16;
/// The token's parts: the peer id, when it was issued (ms), the signature.
const TOKEN_BYTES: usize = 8 + 8 + MAC_BYTES;
/// Separates this use of the key from any other.
const CONTEXT: &[u8] = b"parley resume token v1";

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the resume token is malformed")]
    Malformed,
    #[error("the resume token is not valid for this meeting or was not issued by this server")]
    BadSignature,
    #[error("the resume token has expired")]
    Expired,
}

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    pub peer: PeerId,
    pub issued_at: SystemTime,
}

/// Issues and checks tokens under one key.
pub struct ResumeTokens {
    key: Vec<u8>,
}

impl ResumeTokens {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    /// A token for `peer` in `room`, issued at `now`.
    pub fn issue(&self, room: &RoomCode, peer: PeerId, now: SystemTime) -> String {
        let issued = millis(now);
        let mut bytes = Vec::with_capacity(TOKEN_BYTES);
        bytes.extend_from_slice(&peer.0.to_be_bytes());
        bytes.extend_from_slice(&issued.to_be_bytes());
        bytes.extend_from_slice(&self.sign(room, peer.0, issued)[..MAC_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Checks `token` for `room` at `now`.
    pub fn verify(
        &self,
        token: &str,
        room: &RoomCode,
        now: SystemTime,
    ) -> Result<Claims, TokenError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenError::Malformed)?;
        if bytes.len() != TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let peer = u64::from_be_bytes(bytes[..8].try_into().map_err(|_| TokenError::Malformed)?);
        let issued =
            u64::from_be_bytes(bytes[8..16].try_into().map_err(|_| TokenError::Malformed)?);
        let mut mac = self.mac();
        mac.update(&signed_text(room, peer, issued));
        mac.verify_truncated_left(&bytes[16..])
            .map_err(|_| TokenError::BadSignature)?;
        let issued_at = UNIX_EPOCH + Duration::from_millis(issued);
        if now
            .duration_since(issued_at)
            .is_ok_and(|age| age > TOKEN_LIFETIME)
        {
            return Err(TokenError::Expired);
        }
        Ok(Claims {
            peer: PeerId(peer),
            issued_at,
        })
    }

    fn sign(&self, room: &RoomCode, peer: u64, issued: u64) -> Vec<u8> {
        let mut mac = self.mac();
        mac.update(&signed_text(room, peer, issued));
        mac.finalize().into_bytes().to_vec()
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }
}

fn signed_text(room: &RoomCode, peer: u64, issued: u64) -> Vec<u8> {
    let mut text = CONTEXT.to_vec();
    text.push(0);
    text.extend_from_slice(room.as_str().as_bytes());
    text.push(0);
    text.extend_from_slice(&peer.to_be_bytes());
    text.extend_from_slice(&issued.to_be_bytes());
    text
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A fresh random key for [`ResumeTokens`].
pub fn new_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    rand::fill(&mut key[..]);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(code: &str) -> RoomCode {
        RoomCode::parse(code).unwrap()
    }

    #[test]
    fn a_token_proves_the_peer_in_its_room_only() {
        let tokens = ResumeTokens::new(new_key());
        let now = SystemTime::now();
        let token = tokens.issue(&room("abc-defg-hij"), PeerId(42), now);
        let claims = tokens.verify(&token, &room("abc-defg-hij"), now).unwrap();
        assert_eq!(claims.peer, PeerId(42));
        assert_eq!(
            tokens.verify(&token, &room("zzz-zzzz-zzz"), now),
            Err(TokenError::BadSignature),
            "another room"
        );
        let other_server = ResumeTokens::new(new_key());
        assert_eq!(
            other_server.verify(&token, &room("abc-defg-hij"), now),
            Err(TokenError::BadSignature),
            "another key"
        );
    }

    #[test]
    fn changing_the_id_or_the_time_breaks_the_signature() {
        let tokens = ResumeTokens::new(new_key());
        let now = SystemTime::now();
        let code = room("abc-defg-hij");
        let mut bytes = URL_SAFE_NO_PAD
            .decode(tokens.issue(&code, PeerId(7), now))
            .unwrap();
        bytes[7] ^= 1; // peer 7 becomes peer 6
        let forged = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(
            tokens.verify(&forged, &code, now),
            Err(TokenError::BadSignature)
        );
        bytes[7] ^= 1;
        bytes[15] ^= 1; // another issue time
        let forged = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(
            tokens.verify(&forged, &code, now),
            Err(TokenError::BadSignature)
        );
        for junk in ["", "not base64 at all!", "AAAA"] {
            assert_eq!(tokens.verify(junk, &code, now), Err(TokenError::Malformed));
        }
    }

    #[test]
    fn tokens_expire() {
        let tokens = ResumeTokens::new(new_key());
        let code = room("abc-defg-hij");
        let issued = SystemTime::now();
        let token = tokens.issue(&code, PeerId(1), issued);
        let later = issued + TOKEN_LIFETIME + Duration::from_secs(1);
        assert_eq!(
            tokens.verify(&token, &code, later),
            Err(TokenError::Expired)
        );
        assert!(tokens
            .verify(
                &token,
                &code,
                issued + TOKEN_LIFETIME - Duration::from_secs(1)
            )
            .is_ok());
    }
}
