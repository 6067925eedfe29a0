//! How many meetings one address may start: a token bucket per client address (the
//! person behind a trusted proxy), so one script cannot fill the database. Over the
//! limit, the "New meeting" form gets HTTP 429 and says when to try again. With
//! several nodes the bucket is in Redis, so the limit holds over all of them.

use crate::cluster::Cluster;
use crate::signaling::forwarded::TrustedProxies;
use app::rooms::CreateRoom;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use leptos::server_fn::ServerFn as _;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const HOUR: Duration = Duration::from_secs(3600);

/// Addresses tracked before those whose bucket has refilled are forgotten.
const TRACKED_BEFORE_PRUNING: usize = 4096;

/// Meetings started per address: up to `per_hour` at once, then one every
/// `1/per_hour` of an hour.
#[derive(Debug)]
pub struct NewMeetingLimit {
    per_hour: u32,
    proxies: TrustedProxies,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    /// The other nodes, whose meetings count too.
    cluster: Option<Arc<Cluster>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl NewMeetingLimit {
    pub fn new(per_hour: u32, proxies: TrustedProxies) -> Self {
        Self {
            per_hour: per_hour.max(1),
            proxies,
            buckets: Mutex::default(),
            cluster: None,
        }
    }

    /// Counts over every node of `cluster`, when there is one.
    pub fn across(mut self, cluster: Option<Arc<Cluster>>) -> Self {
        self.cluster = cluster;
        self
    }

    /// Takes one meeting from `client`'s allowance over all nodes (on this node alone
    /// when Redis does not answer), or says how long until one is free.
    pub async fn take_anywhere(&self, client: IpAddr) -> Result<(), Duration> {
        if let Some(cluster) = &self.cluster {
            match cluster
                .take_allowance("new-meetings", client, self.per_hour as usize, HOUR, 1)
                .await
            {
                Ok(taken) => return taken,
                Err(error) => {
                    tracing::warn!(%error, "could not count a new meeting in Redis; counting here")
                }
            }
        }
        self.take(client)
    }

    fn capacity(&self) -> f64 {
        f64::from(self.per_hour)
    }

    /// Tokens regained per second.
    fn rate(&self) -> f64 {
        self.capacity() / HOUR.as_secs_f64()
    }

    /// Takes one meeting from `client`'s allowance, or says how long until one is free.
    pub fn take(&self, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= TRACKED_BEFORE_PRUNING {
            buckets.retain(|_, bucket| self.refilled(*bucket, now) < self.capacity());
        }
        let full = Bucket {
            tokens: self.capacity(),
            at: now,
        };
        let bucket = buckets.entry(client).or_insert(full);
        let tokens = self.refilled(*bucket, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - tokens) / self.rate()))
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.rate()).min(self.capacity())
    }
}

/// Middleware: counts every "New meeting" post against its client's allowance.
pub async fn limit(
    State(limit): State<Arc<NewMeetingLimit>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST || request.uri().path() != CreateRoom::PATH {
        return next.run(request).await;
    }
    let client = limit.proxies.client_ip(peer.ip(), request.headers());
    match limit.take_anywhere(client).await {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            tracing::warn!(%client, "refused a new meeting: too many from this address");
            metrics::counter!(crate::monitoring::MEETINGS_REFUSED).increment(1);
            let wants_page = request
                .headers()
                .get(header::ACCEPT)
                .and_then(|accept| accept.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"));
            too_many(limit.per_hour, wait, wants_page)
        }
    }
}

/// The 429 answer: a page for the "New meeting" form's post, and for other callers
/// (a script, a server-function client) the error as server functions report one.
fn too_many(per_hour: u32, wait: Duration, wants_page: bool) -> Response {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    let when = if minutes == 1 {
        "in a minute".to_owned()
    } else {
        format!("in {minutes} minutes")
    };
    let message = format!(
        "Too many new meetings from your address (at most {per_hour} an hour). \
         Please try again {when}, or join a meeting you already have."
    );
    let mut response = if wants_page {
        Html(format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>Too many new meetings · Parley</title>\
             <link rel=\"stylesheet\" href=\"/pkg/parley.css\"></head>\
             <body><main class=\"page page-centered\"><section class=\"card not-found\">\
             <h1>Too many new meetings</h1><p>{message}</p>\
             <a class=\"button primary\" href=\"/\">Back to Parley</a>\
             </section></main></body></html>\n"
        ))
        .into_response()
    } else {
        format!("ServerError|{message}").into_response()
    };
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(seconds) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, seconds);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_gets_its_allowance_then_one_more_as_time_passes() {
        let limit = NewMeetingLimit::new(3, TrustedProxies::default());
        let a = ip("192.0.2.1");
        assert!((0..3).all(|_| limit.take(a).is_ok()));
        let wait = limit.take(a).expect_err("the fourth within the hour");
        assert_eq!(wait.as_secs(), 1200, "a third of an hour until one is back");
        assert!(
            limit.take(ip("192.0.2.2")).is_ok(),
            "others are not affected"
        );
        tokio::time::advance(Duration::from_secs(1200)).await;
        assert!(limit.take(a).is_ok());
        assert!(limit.take(a).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn addresses_with_a_full_allowance_are_forgotten() {
        let limit = NewMeetingLimit::new(1, TrustedProxies::default());
        for n in 0..TRACKED_BEFORE_PRUNING as u32 {
            let _ = limit.take(IpAddr::from(n.to_be_bytes()));
        }
        tokio::time::advance(HOUR).await;
        let _ = limit.take(ip("192.0.2.1"));
        assert_eq!(limit.buckets.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_refusal_says_when_to_try_again() {
        let page = too_many(20, Duration::from_secs(170), true);
        assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(page.headers()[header::RETRY_AFTER], "170");
        let data = too_many(20, Duration::from_secs(20), false);
        assert_eq!(data.headers()[header::RETRY_AFTER], "20");
    }
}
