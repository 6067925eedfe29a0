//! The signaling side's handle on the media port ([`Sfu`]): commands to the engine's
//! task (open a participant's session with their offer, take their answers, what they
//! show, close), and why it may refuse.

use super::engine::Engine;
use crate::signaling::hub::Room;
use app::protocol::{PeerId, ShownTile};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use str0m::change::{SdpAnswer, SdpOffer};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

/// Why the media port refused something.
#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    #[error("the SDP could not be read: {0}")]
    BadSdp(String),
    #[error("the offer was refused: {0}")]
    Refused(String),
    #[error("no media session for this participant")]
    NoSession,
    #[error("the media port has stopped")]
    Stopped,
}

pub(super) enum Command {
    Open {
        room: Arc<Room>,
        peer: PeerId,
        offer: SdpOffer,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    Answer {
        peer: PeerId,
        answer: SdpAnswer,
    },
    Close {
        peer: PeerId,
    },
    Show {
        peer: PeerId,
        tiles: HashMap<PeerId, u32>,
    },
}

/// The signaling side's handle on the media port.
#[derive(Clone, Debug)]
pub struct Sfu {
    commands: mpsc::UnboundedSender<Command>,
    local: SocketAddr,
}

impl Sfu {
    /// Binds the media port at `addr` (an address the browsers can reach: it is the
    /// candidate they are given) and starts its task.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        let socket = UdpSocket::bind(addr).await?;
        let local = socket.local_addr()?;
        let (commands, receiver) = mpsc::unbounded_channel();
        tokio::spawn(Engine::new(socket, local).run(receiver));
        tracing::info!(%local, "media port open");
        Ok(Self { commands, local })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Takes `peer`'s offer (their one connection to the server). The answer goes to
    /// them as a room message (`sfu_answer`), ahead of any offer of the server's on
    /// that connection.
    pub async fn open(&self, room: Arc<Room>, peer: PeerId, sdp: &str) -> Result<(), SfuError> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Open {
                room,
                peer,
                offer,
                reply,
            })
            .map_err(|_| SfuError::Stopped)?;
        answer.await.map_err(|_| SfuError::Stopped)?
    }

    /// `peer`'s answer to the server's last offer.
    pub fn answer(&self, peer: PeerId, sdp: &str) -> Result<(), SfuError> {
        let answer =
            SdpAnswer::from_sdp_string(sdp).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        self.commands
            .send(Command::Answer { peer, answer })
            .map_err(|_| SfuError::Stopped)
    }

    /// The cameras `peer` shows, and how tall: each reaches them in the layer that fits.
    pub fn show(&self, peer: PeerId, tiles: &[ShownTile]) {
        let tiles = tiles.iter().map(|tile| (tile.id, tile.height)).collect();
        let _ = self.commands.send(Command::Show { peer, tiles });
    }

    /// `peer` left (or was removed): their media stops, in and out.
    pub fn close(&self, peer: PeerId) {
        let _ = self.commands.send(Command::Close { peer });
    }
}
