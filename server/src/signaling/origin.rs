//! Which web pages may open the signaling WebSocket.
//!
//! Browsers always send `Origin` on a WebSocket upgrade and let any page connect
//! anywhere, so without this check a foreign site could join meetings in its
//! visitors' name. Clients that are not browsers send no `Origin` and are let through:
//! they could forge one anyway.

/// The rule the upgrade handler applies.
#[derive(Clone, Debug)]
pub struct OriginPolicy {
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// `allowed` are full origins such as `https://meet.example.org`. When empty, a
    /// page must come from the host it connects to.
    pub fn new(allowed: &[String]) -> Self {
        Self {
            allowed: allowed.iter().map(|o| normalize(o)).collect(),
        }
    }

    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        let origin = normalize(origin);
        if !self.allowed.is_empty() {
            return self.allowed.contains(&origin);
        }
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        matches!((origin_host, host), (Some(o), Some(h)) if o == h.to_ascii_lowercase())
    }
}

fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_host_by_default() {
        let policy = OriginPolicy::new(&[]);
        assert!(policy.allows(Some("http://127.0.0.1:3000"), Some("127.0.0.1:3000")));
        assert!(policy.allows(None, Some("127.0.0.1:3000")));
        assert!(!policy.allows(Some("http://evil.example"), Some("127.0.0.1:3000")));
        assert!(!policy.allows(Some("null"), Some("127.0.0.1:3000")));
        assert!(!policy.allows(Some("http://127.0.0.1:3000"), None));
    }

    #[test]
    fn configured_origins_only() {
        let policy = OriginPolicy::new(&["https://Meet.example.org/".into()]);
        assert!(policy.allows(Some("https://meet.example.org"), Some("10.0.0.5:3000")));
        assert!(!policy.allows(Some("http://meet.example.org"), Some("meet.example.org")));
        assert!(!policy.allows(Some("https://10.0.0.5:3000"), Some("10.0.0.5:3000")));
    }
}
