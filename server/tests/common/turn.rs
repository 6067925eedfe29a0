//! A minimal TURN client (RFC 8656) for tests: Allocate and CreatePermission over UDP
//! to a coturn on loopback, with long-term credentials. It never sends data through
//! the relay.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

const MAGIC_COOKIE: u32 = 0x2112_a442;
const ALLOCATE: u16 = 0x0003;
const CREATE_PERMISSION: u16 = 0x0008;
const SUCCESS: u16 = 0x0100;
const ERROR: u16 = 0x0110;

const USERNAME: u16 = 0x0006;
const MESSAGE_INTEGRITY: u16 = 0x0008;
const ERROR_CODE: u16 = 0x0009;
const XOR_PEER_ADDRESS: u16 = 0x0012;
const REALM: u16 = 0x0014;
const NONCE: u16 = 0x0015;
const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
const REQUESTED_TRANSPORT: u16 = 0x0019;

/// A STUN error answer: its code and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: u16,
    pub reason: String,
}

/// A relay allocated on a TURN server, ready for permission requests.
pub struct Allocation {
    socket: UdpSocket,
    server: SocketAddr,
    username: String,
    realm: Vec<u8>,
    nonce: Vec<u8>,
    key: [u8; 16],
}

impl Allocation {
    /// Allocates a UDP relay of the given family (IPv4 or IPv6) on the TURN server.
    pub fn new(
        server: SocketAddr,
        username: &str,
        password: &str,
        ipv6: bool,
    ) -> Result<Self, Refusal> {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("a read timeout");
        let mut allocation = Self {
            socket,
            server,
            username: username.to_owned(),
            realm: Vec::new(),
            nonce: Vec::new(),
            key: [0; 16],
        };
        let mut attributes = vec![(REQUESTED_TRANSPORT, vec![17, 0, 0, 0])];
        if ipv6 {
            attributes.push((REQUESTED_ADDRESS_FAMILY, vec![0x02, 0, 0, 0]));
        }
        // The first request is unauthenticated: the server answers 401 with its realm
        // and a nonce, from which the second is signed.
        let challenge = allocation.exchange(ALLOCATE, &attributes, false);
        let challenge = match challenge {
            Err((refusal, answer)) if refusal.code == 401 => answer,
            other => panic!(
                "expected 401 to the first Allocate, got {:?}",
                other.map(|_| ())
            ),
        };
        allocation.realm = attribute(&challenge, REALM).expect("a realm");
        allocation.nonce = attribute(&challenge, NONCE).expect("a nonce");
        let mut long_term = Md5::new();
        long_term.update(username.as_bytes());
        long_term.update(b":");
        long_term.update(&allocation.realm);
        long_term.update(b":");
        long_term.update(password.as_bytes());
        allocation.key = long_term.finalize().into();
        allocation
            .exchange(ALLOCATE, &attributes, true)
            .map_err(|(refusal, _)| refusal)?;
        Ok(allocation)
    }

    /// Asks for permission to exchange traffic with `peer` (nothing is sent to it).
    pub fn create_permission(&self, peer: IpAddr) -> Result<(), Refusal> {
        let transaction = transaction_id();
        let peer = xor_address(SocketAddr::new(peer, 9), &transaction);
        self.exchange_with(
            CREATE_PERMISSION,
            &[(XOR_PEER_ADDRESS, peer)],
            true,
            transaction,
        )
        .map(|_| ())
        .map_err(|(refusal, _)| refusal)
    }

    fn exchange(
        &self,
        method: u16,
        attributes: &[(u16, Vec<u8>)],
        signed: bool,
    ) -> Result<Vec<u8>, (Refusal, Vec<u8>)> {
        self.exchange_with(method, attributes, signed, transaction_id())
    }

    fn exchange_with(
        &self,
        method: u16,
        attributes: &[(u16, Vec<u8>)],
        signed: bool,
        transaction: [u8; 12],
    ) -> Result<Vec<u8>, (Refusal, Vec<u8>)> {
        let mut all = attributes.to_vec();
        if signed {
            all.push((USERNAME, self.username.as_bytes().to_vec()));
            all.push((REALM, self.realm.clone()));
            all.push((NONCE, self.nonce.clone()));
        }
        let mut message = encode(method, &all, &transaction);
        if signed {
            sign(&mut message, &self.key);
        }
        self.socket.send_to(&message, self.server).expect("send");
        let mut buffer = [0u8; 2048];
        loop {
            let length = self.socket.recv(&mut buffer).expect("an answer from TURN");
            let answer = buffer[..length].to_vec();
            if answer.len() < 20 || answer[8..20] != transaction {
                continue;
            }
            let kind = u16::from_be_bytes([answer[0], answer[1]]);
            return if kind == method | SUCCESS {
                Ok(answer)
            } else if kind == method | ERROR {
                let error = attribute(&answer, ERROR_CODE).expect("an error code");
                let refusal = Refusal {
                    code: u16::from(error[2]) * 100 + u16::from(error[3]),
                    reason: String::from_utf8_lossy(&error[4..]).into_owned(),
                };
                Err((refusal, answer))
            } else {
                panic!("unexpected STUN message type {kind:#06x}");
            };
        }
    }
}

fn transaction_id() -> [u8; 12] {
    rand::random()
}

fn encode(method: u16, attributes: &[(u16, Vec<u8>)], transaction: &[u8; 12]) -> Vec<u8> {
    let mut body = Vec::new();
    for (kind, value) in attributes {
        body.extend_from_slice(&kind.to_be_bytes());
        body.extend_from_slice(&(value.len() as u16).to_be_bytes());
        body.extend_from_slice(value);
        body.resize(body.len().next_multiple_of(4), 0);
    }
    let mut message = Vec::with_capacity(20 + body.len());
    message.extend_from_slice(&method.to_be_bytes());
    message.extend_from_slice(&(body.len() as u16).to_be_bytes());
    message.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    message.extend_from_slice(transaction);
    message.extend_from_slice(&body);
    message
}

/// Appends MESSAGE-INTEGRITY: HMAC-SHA1 over the message, its length already counting
/// the attribute.
fn sign(message: &mut Vec<u8>, key: &[u8]) {
    let length = (message.len() - 20 + 24) as u16;
    message[2..4].copy_from_slice(&length.to_be_bytes());
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("any key length");
    mac.update(message);
    let digest = mac.finalize().into_bytes();
    message.extend_from_slice(&MESSAGE_INTEGRITY.to_be_bytes());
    message.extend_from_slice(&20u16.to_be_bytes());
    message.extend_from_slice(&digest);
}

fn xor_address(address: SocketAddr, transaction: &[u8; 12]) -> Vec<u8> {
    let port = address.port() ^ (MAGIC_COOKIE >> 16) as u16;
    let mut mask = MAGIC_COOKIE.to_be_bytes().to_vec();
    mask.extend_from_slice(transaction);
    let (family, octets) = match address.ip() {
        IpAddr::V4(ip) => (0x01, ip.octets().to_vec()),
        IpAddr::V6(ip) => (0x02, ip.octets().to_vec()),
    };
    let mut value = vec![0, family];
    value.extend_from_slice(&port.to_be_bytes());
    value.extend(octets.iter().zip(&mask).map(|(byte, mask)| byte ^ mask));
    value
}

/// The value of the first attribute of type `wanted` in a STUN message.
fn attribute(message: &[u8], wanted: u16) -> Option<Vec<u8>> {
    let mut at = 20;
    while at + 4 <= message.len() {
        let kind = u16::from_be_bytes([message[at], message[at + 1]]);
        let length = usize::from(u16::from_be_bytes([message[at + 2], message[at + 3]]));
        let value = message.get(at + 4..at + 4 + length)?;
        if kind == wanted {
            return Some(value.to_vec());
        }
        at += 4 + length.next_multiple_of(4);
    }
    None
}
