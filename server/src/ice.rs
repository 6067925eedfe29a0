//! The ICE servers each participant is told about, with short-lived TURN credentials.
//!
//! coturn's `use-auth-secret` mode ("TURN REST API") accepts a username of the form
//! `<expiry unix time>:<anything>` whose password is base64(HMAC-SHA1(secret, username)).
//! coturn recomputes the HMAC with its `static-auth-secret` and refuses usernames whose
//! expiry has passed, so Parley never hands out a long-lived password.

use crate::config::IceConfig;
use app::protocol::{IceServer, IceTransportPolicy, PeerId};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Builds the `ice_servers` of a welcome from the configuration.
#[derive(Clone, Debug)]
pub struct IceServers {
    stun_urls: Vec<String>,
    turn_urls: Vec<String>,
    turn_secret: Option<String>,
    lifetime: Duration,
    policy: IceTransportPolicy,
}

impl IceServers {
    pub fn new(config: &IceConfig) -> Self {
        Self {
            stun_urls: config.stun_urls.clone(),
            turn_urls: config.turn_urls.clone(),
            turn_secret: config.turn_secret.clone(),
            lifetime: config.turn_credential_lifetime,
            policy: if config.relay_only {
                IceTransportPolicy::Relay
            } else {
                IceTransportPolicy::All
            },
        }
    }

    pub fn policy(&self) -> IceTransportPolicy {
        self.policy
    }

    /// The servers for one participant, with TURN credentials made for them now.
    pub fn for_peer(&self, peer: PeerId) -> Vec<IceServer> {
        let mut servers = Vec::new();
        if !self.stun_urls.is_empty() {
            servers.push(IceServer {
                urls: self.stun_urls.clone(),
                username: None,
                credential: None,
            });
        }
        if let (false, Some(secret)) = (self.turn_urls.is_empty(), &self.turn_secret) {
            let expires = SystemTime::now() + self.lifetime;
            let credentials = TurnCredentials::new(secret, &peer.to_string(), expires);
            servers.push(IceServer {
                urls: self.turn_urls.clone(),
                username: Some(credentials.username),
                credential: Some(credentials.password),
            });
        }
        servers
    }
}

/// A username and password that coturn (with `use-auth-secret`) accepts until `expires`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnCredentials {
    pub username: String,
    pub password: String,
}

impl TurnCredentials {
    pub fn new(secret: &str, user: &str, expires: SystemTime) -> Self {
        let expiry = expires
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let username = format!("{expiry}:{user}");
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes())
            .expect("HMAC-SHA1 takes keys of any length");
        mac.update(username.as_bytes());
        let password =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        Self { username, password }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(turn: bool, relay_only: bool) -> IceConfig {
        IceConfig {
            stun_urls: vec!["stun:127.0.0.1:3478".into()],
            turn_urls: if turn {
                vec!["turn:127.0.0.1:3478?transport=udp".into()]
            } else {
                vec![]
            },
            turn_secret: turn.then(|| "north-wind".into()),
            turn_credential_lifetime: Duration::from_secs(600),
            relay_only,
        }
    }

    #[test]
    fn known_answer() {
        // Computed independently with:
        // printf '%s' '1700000000:42' | openssl dgst -sha1 -hmac north-wind -binary | base64
        let credentials = TurnCredentials::new(
            "north-wind",
            "42",
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        );
        assert_eq!(credentials.username, "1700000000:42");
        assert_eq!(credentials.password, "6hwnrZiUDHkxY5CYq4XHhx2DHas=");
    }

    #[test]
    fn without_turn_only_stun_is_offered() {
        let servers = IceServers::new(&config(false, false)).for_peer(PeerId(1));
        assert_eq!(servers.len(), 1);
        assert_eq!(servers[0].username, None);
    }

    #[test]
    fn turn_credentials_name_the_peer_and_expire_after_the_lifetime() {
        let ice = IceServers::new(&config(true, true));
        assert_eq!(ice.policy(), IceTransportPolicy::Relay);
        let servers = ice.for_peer(PeerId(9));
        let turn = &servers[1];
        let username = turn.username.as_deref().unwrap();
        let (expiry, peer) = username.split_once(':').unwrap();
        assert_eq!(peer, "9");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let expiry: u64 = expiry.parse().unwrap();
        assert!(
            (now + 590..=now + 610).contains(&expiry),
            "{expiry} vs {now}"
        );
        assert!(turn.credential.as_deref().unwrap().ends_with('='));
    }
}
