//! Parley's settings: command-line flags, each also readable from a `PARLEY_*`
//! environment variable. `parley --help` lists them all.

use clap::{Args, Parser};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "parley",
    version,
    about = "Parley: self-hosted video meetings. Serves the web app and introduces the browsers to each other."
)]
pub struct Config {
    /// Address and port to listen on. Use 0.0.0.0:3000 to accept connections from other machines.
    #[arg(long, env = "PARLEY_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Where meetings are kept: a SQLite database URL (the file is created on first
    /// start), or a PostgreSQL one, for a database several nodes share.
    /// Examples: sqlite:/var/lib/parley/parley.db, postgres://parley:PASSWORD@db.example.org/parley
    #[arg(long, env = "PARLEY_DATABASE_URL", default_value = "sqlite:parley.db")]
    pub database_url: String,

    /// Run as one of several nodes sharing this Redis (and one PostgreSQL database, in
    /// --database-url): every node serves every meeting. Example: redis://10.0.0.5:6379
    #[arg(long, env = "PARLEY_CLUSTER")]
    pub cluster: Option<String>,

    /// Serve the browser app (the pkg/ folder with the JavaScript, wasm and CSS) from
    /// this folder, as produced by `cargo leptos build`, instead of the copy built into a
    /// release binary. Without it, a binary that carries no copy (a debug build) reads
    /// target/site.
    #[arg(long, env = "PARLEY_SITE_ROOT")]
    pub site_root: Option<PathBuf>,

    /// What to log, as a tracing filter: error, warn, info, debug, trace, or per module
    /// such as "info,server=debug". RUST_LOG is used when this is not given, and
    /// without either, DEFAULT_LOG_FILTER ("info,tower_http=warn").
    #[arg(long, env = "PARLEY_LOG")]
    pub log: Option<String>,

    /// How long chat messages are kept (e.g. 30d, 12h); older ones are deleted. A
    /// meeting's chat also goes when the meeting is deleted.
    #[arg(long, env = "PARLEY_CHAT_RETENTION", default_value = "30d", value_parser = parse_duration)]
    pub chat_retention: Duration,

    /// How many meetings one address may start in an hour (each person, behind a
    /// --trusted-proxy). More get "Too many new meetings" and HTTP 429.
    #[arg(
        long,
        env = "PARLEY_MAX_NEW_MEETINGS_PER_HOUR",
        default_value_t = 20,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_new_meetings_per_hour: u32,

    /// How long a meeting nobody joins is kept (e.g. 30d, 12h); then it is deleted with
    /// its chat, and its link leads nowhere.
    #[arg(long, env = "PARLEY_MEETING_EXPIRY", default_value = "30d", value_parser = parse_duration)]
    pub meeting_expiry: Duration,

    /// Serve Prometheus metrics at /metrics on this address (such as 127.0.0.1:9300),
    /// apart from the public listener. Off when not given.
    #[arg(long, env = "PARLEY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    #[command(flatten)]
    pub http: HttpConfig,

    #[command(flatten)]
    pub signaling: SignalingConfig,

    #[command(flatten)]
    pub ice: IceConfig,
}

impl Config {
    /// Where the browser app is read from: `None` when the binary's own copy is served.
    pub fn site_folder(&self) -> Option<PathBuf> {
        match &self.site_root {
            Some(folder) => Some(folder.clone()),
            None if crate::site::is_embedded() => None,
            None => Some(PathBuf::from(DEVELOPMENT_SITE_ROOT)),
        }
    }
}

/// What is logged when neither --log nor RUST_LOG says.
pub const DEFAULT_LOG_FILTER: &str = "info,tower_http=warn";

/// Where `cargo leptos build` and `cargo leptos watch` put the browser app.
pub const DEVELOPMENT_SITE_ROOT: &str = "target/site";

/// Bounds on the HTTP connections themselves, before any request is read: what one
/// address can make the server hold open.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "HTTP connections")]
pub struct HttpConfig {
    /// Open connections (of every kind: pages, files, signaling) from one IP address;
    /// more are closed as soon as they are accepted. Not applied to --trusted-proxy
    /// addresses, whose clients are counted by the proxy's own limits.
    #[arg(
        long,
        env = "PARLEY_MAX_HTTP_CONNECTIONS_PER_IP",
        default_value_t = 128
    )]
    pub max_http_connections_per_ip: usize,

    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open waiting for the next request (e.g. 10s).
    #[arg(long, env = "PARLEY_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
}

/// Limits that keep one participant from hurting the others.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Signaling")]
pub struct SignalingConfig {
    /// Web origins whose pages may open the signaling WebSocket, such as
    /// https://meet.example.org (repeat, or separate with commas). When none is given,
    /// a page must come from the host it connects to.
    #[arg(
        long = "public-origin",
        env = "PARLEY_PUBLIC_ORIGIN",
        value_delimiter = ','
    )]
    pub public_origins: Vec<String>,

    /// Largest signaling message accepted, in bytes. Larger frames close the connection.
    #[arg(long, env = "PARLEY_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,

    /// Messages per second one connection may send (bursts of twice as many pass).
    #[arg(long, env = "PARLEY_MAX_MESSAGES_PER_SECOND", default_value_t = 100)]
    pub max_messages_per_second: u32,

    /// Participants per meeting. Unset: 30 while the media port is open (larger
    /// meetings go through it), 8 with it off (every participant then sends to every
    /// other one, so bandwidth grows quickly with this).
    #[arg(long, env = "PARLEY_MAX_PARTICIPANTS")]
    pub max_participants: Option<usize>,

    /// The most video each participant sends in all, in kbit/s: shared among their
    /// connections to the others (every participant sends to every other one), so a
    /// meeting fits in a home uplink. Browsers lower bitrate and resolution to keep in it.
    #[arg(
        long,
        env = "PARLEY_VIDEO_UPLOAD_KBPS",
        default_value_t = 2500,
        value_parser = clap::value_parser!(u32).range(100..)
    )]
    pub video_upload_kbps: u32,

    /// Simultaneous signaling connections from one IP address.
    #[arg(long, env = "PARLEY_MAX_CONNECTIONS_PER_IP", default_value_t = 32)]
    pub max_connections_per_ip: usize,

    /// Addresses of reverse proxies in front of Parley, such as 127.0.0.1 when nginx
    /// runs on the same machine (repeat, or separate with commas). Connections from
    /// them are counted against the client their X-Forwarded-For header names; from
    /// anyone else that header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "PARLEY_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpAddr>,

    /// Bytes one connection may send per second, on average (bursts of twice as many,
    /// and at least a few frames, pass). Over it, messages are dropped with an error.
    #[arg(long, env = "PARLEY_MAX_BYTES_PER_SECOND", default_value_t = 256 * 1024)]
    pub max_bytes_per_second: u32,

    /// Bytes the server holds for one participant: messages waiting to be sent plus
    /// those kept for a resume until acknowledged. A participant past it is
    /// disconnected like one too slow to read.
    #[arg(long, env = "PARLEY_MAX_HELD_BYTES_PER_PARTICIPANT", default_value_t = 1024 * 1024)]
    pub max_held_bytes_per_participant: usize,

    /// Bytes the server holds for all participants together. Past three quarters of
    /// it new joins are refused ("the server is busy"); past it, the participants
    /// holding the most are disconnected until it is under again.
    #[arg(long, env = "PARLEY_MAX_HELD_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub max_held_bytes: usize,

    /// Bytes of chat one address may send in an hour, over all meetings (each person,
    /// behind a --trusted-proxy); more is refused. Bounds what one address adds to
    /// the database.
    #[arg(long, env = "PARLEY_MAX_CHAT_BYTES_PER_HOUR", default_value_t = 1024 * 1024)]
    pub max_chat_bytes_per_hour: usize,

    /// Where the media port (the forwarding unit's one UDP port) listens; `off`: no
    /// media goes through the server (every meeting stays peer-to-peer), for hosts
    /// that cannot open a UDP port.
    #[arg(long, env = "PARLEY_SFU_LISTEN", default_value = "0.0.0.0:3480")]
    pub sfu_listen: SfuListen,

    /// The address browsers are given for the media port (its port is the one
    /// --sfu-listen binds): the server's public address behind a 1:1 NAT. Unset: the
    /// address --sfu-listen names, or for 0.0.0.0 the address of the interface the
    /// default route leaves by (loopback on a machine with no route).
    #[arg(long, env = "PARLEY_SFU_PUBLIC_IP")]
    pub sfu_public_ip: Option<IpAddr>,

    /// Meetings of more people than this send their media through the media port
    /// (--sfu-listen) instead of straight between browsers, moving back once they
    /// shrink; 0: every meeting through the server. Unset: 4 (with the media port
    /// off, every meeting stays peer-to-peer).
    #[arg(long, env = "PARLEY_MESH_LIMIT")]
    pub mesh_limit: Option<u32>,

    /// People who may be asking to join one meeting at once; more are told to try
    /// again shortly.
    #[arg(long, env = "PARLEY_MAX_WAITING_PER_MEETING", default_value_t = 50)]
    pub max_waiting_per_meeting: usize,

    /// Times one address may ask to join a meeting in a minute, over all meetings
    /// (each person, behind a --trusted-proxy).
    #[arg(long, env = "PARLEY_MAX_KNOCKS_PER_MINUTE", default_value_t = 10)]
    pub max_knocks_per_minute: usize,

    /// Messages waiting to be sent to one connection; a client that falls this far
    /// behind is disconnected. Also how many messages are kept for a participant whose
    /// connection dropped, to replay when they resume.
    #[arg(long, env = "PARLEY_OUTGOING_QUEUE", default_value_t = 256)]
    pub outgoing_queue: usize,

    /// How often the server pings each connection (e.g. 15s, 500ms).
    #[arg(long, env = "PARLEY_HEARTBEAT_INTERVAL", default_value = "15s", value_parser = parse_duration)]
    pub heartbeat_interval: Duration,

    /// A connection that sends nothing (not even a pong) for this long is dropped and
    /// its room is told.
    #[arg(long, env = "PARLEY_HEARTBEAT_TIMEOUT", default_value = "40s", value_parser = parse_duration)]
    pub heartbeat_timeout: Duration,

    /// How long a participant whose connection dropped keeps their place (the others
    /// see "Reconnecting…") and may resume their session with the same calls.
    #[arg(long, env = "PARLEY_RESUME_GRACE", default_value = "20s", value_parser = parse_duration)]
    pub resume_grace: Duration,
}

/// The STUN and TURN servers browsers are told to use.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "ICE (STUN and TURN)")]
pub struct IceConfig {
    /// STUN server URLs, such as stun:turn.example.org:3478 (repeat, or separate with commas).
    #[arg(long = "stun-url", env = "PARLEY_STUN_URLS", value_delimiter = ',')]
    pub stun_urls: Vec<String>,

    /// TURN server URLs, such as turn:turn.example.org:3478?transport=udp
    /// (repeat, or separate with commas). Needs --turn-secret.
    #[arg(
        long = "turn-url",
        env = "PARLEY_TURN_URLS",
        value_delimiter = ',',
        requires = "turn_secret"
    )]
    pub turn_urls: Vec<String>,

    /// The shared secret configured in coturn as static-auth-secret (with use-auth-secret).
    /// Parley derives short-lived credentials from it for each participant.
    #[arg(long, env = "PARLEY_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,

    /// How long the TURN credentials handed to a participant stay valid (e.g. 6h).
    #[arg(long, env = "PARLEY_TURN_CREDENTIAL_LIFETIME", default_value = "6h", value_parser = parse_duration)]
    pub turn_credential_lifetime: Duration,

    /// Make browsers send media only through the TURN relay (iceTransportPolicy "relay"),
    /// which hides participants' IP addresses from each other. Needs --turn-url.
    #[arg(long, env = "PARLEY_RELAY_ONLY", requires = "turn_urls")]
    pub relay_only: bool,
}

/// Where the media port listens, or that there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SfuListen {
    Off,
    At(SocketAddr),
}

impl SfuListen {
    pub fn address(self) -> Option<SocketAddr> {
        match self {
            Self::Off => None,
            Self::At(addr) => Some(addr),
        }
    }
}

impl std::str::FromStr for SfuListen {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.trim().eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        text.trim()
            .parse()
            .map(Self::At)
            .map_err(|_| format!("{text:?} is neither an address (such as 0.0.0.0:3480) nor off"))
    }
}

/// Reads a duration written as a number and a unit: 500ms, 15s, 10m, 6h, 30d.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} needs a unit: ms, s, m, h or d"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(number)),
        "s" => number,
        "m" => number.saturating_mul(60),
        "h" => number.saturating_mul(3600),
        "d" => number.saturating_mul(24 * 3600),
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?}: use ms, s, m, h or d"
            ))
        }
    };
    Ok(Duration::from_secs(seconds))
}

impl Config {
    /// The settings a test server uses: Parley's own defaults (as `parley` with no
    /// flags has them), on an ephemeral loopback port with the given database, and
    /// with no media port (tests run side by side; those of the media port open one
    /// on an ephemeral port).
    pub fn for_tests(database_url: String) -> Self {
        let mut config = Self::try_parse_from(["parley"]).expect("the defaults parse");
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.signaling.sfu_listen = SfuListen::Off;
        config.database_url = database_url;
        config.site_root = Some(PathBuf::from(DEVELOPMENT_SITE_ROOT));
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_sane() {
        let config = Config::try_parse_from(["parley"]).unwrap();
        assert_eq!(config.listen, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(config.database_url, "sqlite:parley.db");
        assert_eq!(config.chat_retention, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(
            config.signaling.sfu_listen,
            SfuListen::At("0.0.0.0:3480".parse().unwrap())
        );
        let config = Config::try_parse_from(["parley", "--chat-retention", "12h"]).unwrap();
        assert_eq!(config.chat_retention, Duration::from_secs(12 * 3600));
    }

    #[test]
    fn flags_override_defaults() {
        let config = Config::try_parse_from([
            "parley",
            "--listen",
            "0.0.0.0:8080",
            "--database-url",
            "sqlite:/tmp/p.db",
        ])
        .unwrap();
        assert_eq!(config.listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(config.database_url, "sqlite:/tmp/p.db");
    }

    #[test]
    fn bad_values_are_refused() {
        let err = Config::try_parse_from(["parley", "--listen", "nowhere"]).unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
    }

    #[test]
    fn signaling_and_ice_settings_parse() {
        let config = Config::try_parse_from([
            "parley",
            "--public-origin",
            "https://a.example,https://b.example",
            "--heartbeat-interval",
            "250ms",
            "--turn-url",
            "turn:127.0.0.1:3478",
            "--turn-secret",
            "s3cret",
            "--turn-credential-lifetime",
            "10m",
            "--relay-only",
        ])
        .unwrap();
        assert_eq!(config.signaling.public_origins.len(), 2);
        assert_eq!(
            config.signaling.heartbeat_interval,
            Duration::from_millis(250)
        );
        assert_eq!(config.signaling.max_participants, None);
        assert_eq!(
            config.ice.turn_credential_lifetime,
            Duration::from_secs(600)
        );
        assert!(config.ice.relay_only);
    }

    #[test]
    fn the_media_port_can_be_turned_off() {
        let config = Config::try_parse_from(["parley", "--sfu-listen", "off"]).unwrap();
        assert_eq!(config.signaling.sfu_listen, SfuListen::Off);
        let config = Config::try_parse_from(["parley", "--sfu-listen", "127.0.0.1:0"]).unwrap();
        assert_eq!(
            config.signaling.sfu_listen.address(),
            Some("127.0.0.1:0".parse().unwrap())
        );
        let err = Config::try_parse_from(["parley", "--sfu-listen", "of"]).unwrap_err();
        assert!(err.to_string().contains("nor off"), "{err}");
    }

    #[test]
    fn turn_needs_its_secret_and_durations_need_units() {
        assert!(Config::try_parse_from(["parley", "--turn-url", "turn:x:3478"]).is_err());
        assert!(Config::try_parse_from(["parley", "--relay-only"]).is_err());
        assert!(Config::try_parse_from(["parley", "--heartbeat-interval", "15"]).is_err());
        assert!(Config::try_parse_from(["parley", "--heartbeat-interval", "5y"]).is_err());
        assert!(Config::try_parse_from(["parley", "--heartbeat-interval", "ms"]).is_err());
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Config::command().debug_assert();
    }
}
