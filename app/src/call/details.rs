//! How the connection to one person is made, in words a person understands: the
//! route (from the selected ICE candidate pair's types) with the round-trip time,
//! bitrates and packet loss, from two readings of the connection's statistics.

use super::negotiation::Millis;

/// How the media travels between the two browsers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Straight between the two devices' own addresses (`host` candidates).
    Direct,
    /// Direct, but through a router's public address (`srflx`).
    ThroughRouter,
    /// Through the TURN server (a `relay` candidate on either side).
    Relayed,
    /// Through Parley's forwarding unit (the meeting's transport is the server).
    ThroughServer,
    /// Through Parley's forwarding unit, reached through the TURN server (UDP to the
    /// server blocked).
    ThroughServerRelayed,
}

impl Route {
    /// The route for a candidate pair of these types (`candidateType` in the stats).
    pub fn of(local: &str, remote: &str) -> Option<Self> {
        let kinds = [local, remote];
        if kinds
            .iter()
            .any(|k| !matches!(*k, "host" | "srflx" | "prflx" | "relay"))
        {
            return None;
        }
        Some(if kinds.contains(&"relay") {
            Self::Relayed
        } else if kinds.contains(&"srflx") {
            Self::ThroughRouter
        } else {
            // `host`, or `prflx`: an address learned from the other side's checks
            // before its candidate arrived, on a local network a device's own.
            Self::Direct
        })
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Direct => "Direct",
            Self::ThroughRouter => "Direct, through your router",
            Self::Relayed => "Relayed through the TURN server",
            Self::ThroughServer => "Through the Parley server",
            Self::ThroughServerRelayed => "Through the Parley server, relayed by the TURN server",
        }
    }
}

/// One reading of a connection's statistics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    pub at: Millis,
    /// The route of the selected candidate pair (none before one is selected).
    pub route: Option<Route>,
    pub round_trip_ms: Option<f64>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Media packets received and lost, all streams together.
    pub packets_received: u64,
    pub packets_lost: u64,
}

/// What the person sees about one connection.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionDetails {
    pub route: Option<Route>,
    pub round_trip_ms: Option<u32>,
    /// Since the previous reading (none on the first).
    pub receiving_kbps: Option<u32>,
    pub sending_kbps: Option<u32>,
    pub lost_percent: Option<f64>,
}

impl ConnectionDetails {
    /// The details from the latest reading and the one before it.
    pub fn from_samples(previous: Option<&Sample>, latest: &Sample) -> Self {
        // Counters that went down belong to an earlier connection (it was rebuilt).
        let previous = previous.filter(|p| {
            p.bytes_sent <= latest.bytes_sent
                && p.bytes_received <= latest.bytes_received
                && p.packets_received <= latest.packets_received
        });
        let span = previous
            .map(|p| latest.at.saturating_sub(p.at))
            .filter(|ms| *ms > 0);
        let rate = |before: u64, after: u64| {
            let ms = span?;
            Some((after.saturating_sub(before) * 8 / ms) as u32)
        };
        let previous_or_zero = previous.cloned().unwrap_or_default();
        let received = latest
            .packets_received
            .saturating_sub(previous_or_zero.packets_received);
        let lost = latest
            .packets_lost
            .saturating_sub(previous_or_zero.packets_lost);
        let lost_percent = (span.is_some() && received + lost > 0)
            .then(|| lost as f64 * 100.0 / (received + lost) as f64);
        Self {
            route: latest.route,
            round_trip_ms: latest.round_trip_ms.map(|ms| ms.round() as u32),
            receiving_kbps: rate(previous_or_zero.bytes_received, latest.bytes_received),
            sending_kbps: rate(previous_or_zero.bytes_sent, latest.bytes_sent),
            lost_percent,
        }
    }

    /// One line, such as "Direct · 4 ms round trip · receiving 310 kbit/s ·
    /// sending 295 kbit/s · 0% lost".
    pub fn summary(&self) -> String {
        let mut parts = vec![self.route.map_or("Connecting", Route::describe).to_string()];
        if let Some(ms) = self.round_trip_ms {
            parts.push(format!("{ms} ms round trip"));
        }
        if let Some(kbps) = self.receiving_kbps {
            parts.push(format!("receiving {}", bitrate(kbps)));
        }
        if let Some(kbps) = self.sending_kbps {
            parts.push(format!("sending {}", bitrate(kbps)));
        }
        if let Some(lost) = self.lost_percent {
            parts.push(if lost > 0.0 && lost < 0.1 {
                "under 0.1% lost".to_string()
            } else {
                format!("{}% lost", (lost * 10.0).round() / 10.0)
            });
        }
        parts.join(" · ")
    }
}

fn bitrate(kbps: u32) -> String {
    if kbps >= 1_000 {
        format!("{:.1} Mbit/s", f64::from(kbps) / 1_000.0)
    } else {
        format!("{kbps} kbit/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_reached_by_turn_is_still_the_server() {
        assert_eq!(
            Route::ThroughServerRelayed.describe(),
            "Through the Parley server, relayed by the TURN server"
        );
        assert!(Route::ThroughServer
            .describe()
            .starts_with("Through the Parley server"));
    }

    #[test]
    fn the_route_follows_the_candidate_types() {
        assert_eq!(Route::of("host", "host"), Some(Route::Direct));
        assert_eq!(Route::of("srflx", "host"), Some(Route::ThroughRouter));
        assert_eq!(Route::of("host", "prflx"), Some(Route::Direct));
        assert_eq!(Route::of("prflx", "srflx"), Some(Route::ThroughRouter));
        assert_eq!(Route::of("relay", "srflx"), Some(Route::Relayed));
        assert_eq!(Route::of("host", "relay"), Some(Route::Relayed));
        assert_eq!(Route::of("", "host"), None);
    }

    #[test]
    fn rates_and_loss_come_from_two_readings() {
        let first = Sample {
            at: 10_000,
            route: Some(Route::Relayed),
            round_trip_ms: Some(12.4),
            bytes_sent: 1_000_000,
            bytes_received: 2_000_000,
            packets_received: 1_000,
            packets_lost: 10,
        };
        let alone = ConnectionDetails::from_samples(None, &first);
        assert_eq!(alone.receiving_kbps, None, "no rate from one reading");
        assert_eq!(alone.lost_percent, None);
        assert_eq!(
            alone.summary(),
            "Relayed through the TURN server · 12 ms round trip"
        );

        let second = Sample {
            at: 12_000,
            bytes_sent: 1_250_000,
            bytes_received: 2_500_000,
            packets_received: 1_198,
            packets_lost: 12,
            ..first.clone()
        };
        let details = ConnectionDetails::from_samples(Some(&first), &second);
        assert_eq!(details.sending_kbps, Some(1_000));
        assert_eq!(details.receiving_kbps, Some(2_000));
        assert_eq!(details.lost_percent, Some(1.0));
        assert_eq!(
            details.summary(),
            "Relayed through the TURN server · 12 ms round trip · receiving 2.0 Mbit/s · sending 1.0 Mbit/s · 1% lost"
        );
    }

    #[test]
    fn counters_that_start_over_give_no_nonsense() {
        // A rebuilt connection starts its counters at zero.
        let before = Sample {
            at: 1_000,
            bytes_sent: 5_000_000,
            packets_received: 900,
            ..Sample::default()
        };
        let after = Sample {
            at: 3_000,
            route: Some(Route::Direct),
            bytes_sent: 10_000,
            packets_received: 50,
            ..Sample::default()
        };
        let details = ConnectionDetails::from_samples(Some(&before), &after);
        assert_eq!(details.sending_kbps, None);
        assert_eq!(details.lost_percent, None);
        assert_eq!(details.summary(), "Direct");
    }
}
