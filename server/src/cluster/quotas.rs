//! Allowances per address that hold across nodes (meetings started, chat, knocks): a
//! token bucket per address and kind in Redis, taken from atomically (a script), on
//! Redis's clock. When Redis does not answer, each node keeps counting on its own
//! rather than refusing everyone.

use super::{Cluster, ClusterError};
use std::net::IpAddr;
use std::time::Duration;

/// Takes `amount` from the bucket: `{1, 0}` when taken, else `{0, ms until it could
/// be}`. KEYS[1] the bucket; ARGV: capacity, tokens regained a second, amount.
const TAKE: &str = r"
local capacity, rate, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate)
if tokens >= amount then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - amount), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000))
  return {1, 0}
end
return {0, math.ceil((amount - tokens) / rate * 1000)}
";

impl Cluster {
    /// Takes `amount` from `ip`'s allowance of `kind` (`capacity` a `period`, all of it
    /// at once at most), over all nodes: `Ok(Err(wait))` when it has not that much.
    pub async fn take_allowance(
        &self,
        kind: &str,
        ip: IpAddr,
        capacity: usize,
        period: Duration,
        amount: usize,
    ) -> Result<Result<(), Duration>, ClusterError> {
        let capacity = capacity.max(1) as f64;
        let rate = capacity / period.as_secs_f64().max(0.001);
        let key = format!("parley:allowance:{kind}:{ip}");
        let (taken, wait_ms): (i64, i64) = self
            .commands
            .run(|mut redis| async move {
                redis::Script::new(TAKE)
                    .key(key)
                    .arg(capacity)
                    .arg(rate)
                    .arg(amount)
                    .invoke_async(&mut redis)
                    .await
            })
            .await?;
        Ok(match taken {
            1 => Ok(()),
            _ => Err(Duration::from_millis(wait_ms.max(0) as u64)),
        })
    }
}
