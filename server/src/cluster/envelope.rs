//! What travels between nodes: the frames of a participant's signaling connection,
//! passed between the node their WebSocket reached (its edge) and the node that hosts
//! their meeting (its home). Each node listens on one Redis channel; an envelope for a
//! link goes to the edge's channel or the home's, and is routed there by its link.

use crate::hosts::Visitor;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// A Parley node's name on the bus, random at each start.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub String);

impl NodeId {
    pub fn random() -> Self {
        Self(format!("{:016x}", rand::random::<u64>()))
    }

    /// The Redis channel the node listens on.
    pub fn channel(&self) -> String {
        format!("parley:node:{}", self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One participant's connection across two nodes: the edge it reached and its number
/// there.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinkId {
    pub edge: NodeId,
    pub number: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub link: LinkId,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    /// Edge to home: a participant's connection, to be served there as if it were
    /// local, with who they are (their address behind any trusted proxy, their cookies).
    Open {
        client: IpAddr,
        visitor: Visitor,
    },
    /// Either way: a text frame.
    Text {
        text: String,
    },
    /// Edge to home: a binary frame of `len` bytes (Parley uses none: the home refuses
    /// it as it would a local one).
    Binary {
        len: usize,
    },
    /// Either way: a heartbeat (the home's ping, the browser's pong).
    Ping,
    Pong,
    /// Either way: the connection ended. From the home, the close frame to send.
    Close {
        code: Option<u16>,
        reason: String,
    },
}

impl Envelope {
    pub fn encode(&self) -> String {
        // Plain data: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_and_garbage_is_ignored() {
        let link = LinkId {
            edge: NodeId("a1".into()),
            number: 7,
        };
        for body in [
            Body::Open {
                client: "192.0.2.9".parse().unwrap(),
                visitor: Visitor::default(),
            },
            Body::Text {
                text: r#"{"type":"leave"}"#.into(),
            },
            Body::Binary { len: 3 },
            Body::Ping,
            Body::Pong,
            Body::Close {
                code: Some(4000),
                reason: "restarting".into(),
            },
        ] {
            let envelope = Envelope {
                link: link.clone(),
                body,
            };
            assert_eq!(
                Envelope::decode(envelope.encode().as_bytes()),
                Some(envelope)
            );
        }
        assert_eq!(Envelope::decode(b"{\"link\":1}"), None);
        assert_eq!(Envelope::decode(&[0xff, 0, 1]), None);
        assert_eq!(NodeId("b2".into()).channel(), "parley:node:b2");
    }
}
