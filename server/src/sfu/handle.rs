//! The signaling side's handle on the media port ([`Sfu`]): commands to the engine's
//! task (open a participant's session with their offer, take their answers, what they
//! show, close), and why it may refuse.

use super::engine::Engine;
use crate::signaling::hub::Room;
use app::protocol::{PeerId, ShownTile};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
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
    advertised: SocketAddr,
}

impl Sfu {
    /// Binds the media port at `addr` and starts its task. Browsers are given
    /// [`advertised_address`] as its one candidate.
    pub async fn bind(addr: SocketAddr, public_ip: Option<IpAddr>) -> std::io::Result<Self> {
        let socket = bind_with_buffers(addr)?;
        let bound = socket.local_addr()?;
        let advertised = advertised_address(bound, public_ip, outward_ip);
        let (commands, receiver) = mpsc::unbounded_channel();
        tokio::spawn(Engine::new(socket, advertised).run(receiver));
        tracing::info!(%bound, %advertised, "media port open");
        if advertised.ip().is_loopback() && !bound.ip().is_loopback() {
            tracing::warn!(
                "the media port is given to browsers as a loopback address (this machine has \
                 no default route): only browsers on this machine reach it; set --sfu-public-ip"
            );
        }
        Ok(Self {
            commands,
            advertised,
        })
    }

    /// The media port's address as browsers are given it.
    pub fn advertised_addr(&self) -> SocketAddr {
        self.advertised
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

/// The socket buffers the media port asks for. Everyone's media arrives on one
/// socket: the kernel's default (about 200 KiB) holds some 60 ms of a meeting of 25,
/// and a busy machine can leave the engine unscheduled longer than that, when what
/// arrives meanwhile is lost (handshakes included). Not more: what waits in the buffer
/// is late, and media later than about half a second is worth less than none. The
/// kernel grants at most net.core.rmem_max / wmem_max (Linux then doubles it).
const SOCKET_BUFFER: usize = 1024 * 1024;
/// Below this the media port warns that it may drop datagrams under load.
const SOCKET_BUFFER_ENOUGH: usize = 1024 * 1024;

fn bind_with_buffers(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Asked for, not required: the kernel caps them, and a smaller one still works.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    // Linux reports twice what it grants (its own bookkeeping included).
    let granted = socket.recv_buffer_size().unwrap_or(0) / 2;
    if granted < SOCKET_BUFFER_ENOUGH {
        tracing::warn!(
            granted,
            "the media port's receive buffer is small: datagrams may be lost when the \
             machine is busy; raise it with sysctl net.core.rmem_max=2097152 (and \
             net.core.wmem_max)"
        );
    }
    UdpSocket::from_std(socket.into())
}

/// The address browsers are given for a media port bound at `bound`: the public
/// address when one is set, else the bound address, else (bound to every interface)
/// the address the machine reaches out from, else loopback.
pub(super) fn advertised_address(
    bound: SocketAddr,
    public_ip: Option<IpAddr>,
    outward: impl FnOnce(IpAddr) -> Option<IpAddr>,
) -> SocketAddr {
    let ip = match public_ip {
        Some(ip) => ip,
        None if !bound.ip().is_unspecified() => bound.ip(),
        None => outward(bound.ip()).unwrap_or(match bound.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }),
    };
    SocketAddr::new(ip, bound.port())
}

/// The address of the interface the default route leaves by: a UDP socket
/// "connected" to a documentation address (nothing is sent) is given it as its own.
fn outward_ip(unspecified: IpAddr) -> Option<IpAddr> {
    let probe = match unspecified {
        IpAddr::V4(_) => SocketAddr::from(([192, 0, 2, 1], 9)),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6("2001:db8::1".parse().ok()?), 9),
    };
    let socket = std::net::UdpSocket::bind(SocketAddr::new(unspecified, 0)).ok()?;
    socket.connect(probe).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never(_: IpAddr) -> Option<IpAddr> {
        panic!("not asked when the address is known")
    }

    #[test]
    fn a_public_ip_is_given_with_the_bound_port() {
        let bound = "0.0.0.0:3480".parse().unwrap();
        let public = "203.0.113.7".parse().ok();
        assert_eq!(
            advertised_address(bound, public, never),
            "203.0.113.7:3480".parse().unwrap()
        );
    }

    #[test]
    fn a_named_address_is_given_as_it_is() {
        let bound = "127.0.0.1:41000".parse().unwrap();
        assert_eq!(advertised_address(bound, None, never), bound);
    }

    #[test]
    fn every_interface_gives_the_outward_one_or_loopback() {
        let bound = "0.0.0.0:3480".parse().unwrap();
        let outward = |_| "192.168.1.20".parse().ok();
        assert_eq!(
            advertised_address(bound, None, outward),
            "192.168.1.20:3480".parse().unwrap()
        );
        assert_eq!(
            advertised_address(bound, None, |_| None),
            "127.0.0.1:3480".parse().unwrap()
        );
    }
}
