//! Reading the one thing the media port needs from a STUN packet before it knows who
//! sent it: the ICE username, whose first part is the server's own ufrag for that
//! participant. So a packet from a new address finds its participant in a map, with no
//! scan over everyone.

/// STUN's magic cookie (RFC 5389).
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
/// The USERNAME attribute.
const USERNAME: u16 = 0x0006;

/// The local (server's) ufrag of a STUN request's USERNAME (`server:client`), if
/// `packet` is a well-formed STUN message carrying one.
pub fn server_ufrag(packet: &[u8]) -> Option<&str> {
    // A STUN message: 2 bits of zero, then type, length, cookie, transaction id.
    if packet.len() < 20 || packet[0] & 0xc0 != 0 || packet[4..8] != MAGIC_COOKIE {
        return None;
    }
    let length = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    let body = packet.get(20..20 + length)?;
    let mut rest = body;
    while rest.len() >= 4 {
        let kind = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + len)?;
        if kind == USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next();
        }
        // Attributes are padded to 4 bytes.
        let padded = 4 + len.div_ceil(4) * 4;
        rest = rest.get(padded..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(attributes: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (kind, value) in attributes {
            body.extend_from_slice(&kind.to_be_bytes());
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value);
            body.resize(body.len().div_ceil(4) * 4, 0);
        }
        let mut packet = vec![0x00, 0x01];
        packet.extend_from_slice(&(body.len() as u16).to_be_bytes());
        packet.extend_from_slice(&MAGIC_COOKIE);
        packet.extend_from_slice(&[7; 12]);
        packet.extend_from_slice(&body);
        packet
    }

    #[test]
    fn the_username_names_the_participant() {
        let packet = stun(&[(0x0024, &[0, 0, 0, 1]), (USERNAME, b"srvA:cli")]);
        assert_eq!(server_ufrag(&packet), Some("srvA"));
    }

    #[test]
    fn anything_else_is_none_and_nothing_panics() {
        assert_eq!(server_ufrag(&stun(&[(0x0024, &[0, 0, 0, 1])])), None);
        assert_eq!(server_ufrag(b"\x80\x60rtp packet, not stun......"), None);
        let good = stun(&[(USERNAME, b"srvA:cli")]);
        for cut in 0..good.len() {
            let _ = server_ufrag(&good[..cut]);
        }
        // A length that claims more than there is.
        let mut lying = good.clone();
        lying[2] = 0xff;
        assert_eq!(server_ufrag(&lying), None);
        let mut attribute_lies = good;
        attribute_lies[22] = 0xff;
        assert_eq!(server_ufrag(&attribute_lies), None);
        // Random bytes.
        let mut seed = 1u64;
        for _ in 0..2_000 {
            let packet: Vec<u8> = (0..64)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (seed >> 33) as u8
                })
                .collect();
            let _ = server_ufrag(&packet);
        }
    }
}
