//! What the server holds for its participants, in bytes: messages waiting in their
//! outboxes and messages kept for their resumes, counted as they come and go. One
//! count for the whole server, with a budget: past three quarters of it new joins are
//! refused, past all of it the participants holding the most are disconnected (see
//! [`super::Hub::shed`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// The server's count of held bytes. Clones share it.
#[derive(Clone, Debug)]
pub struct HeldBytes(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    bytes: AtomicUsize,
    budget: usize,
    /// Woken when the count goes past the budget.
    over_budget: Notify,
}

impl Default for HeldBytes {
    /// A count with no budget.
    fn default() -> Self {
        Self::with_budget(usize::MAX)
    }
}

impl HeldBytes {
    pub fn with_budget(budget: usize) -> Self {
        Self(Arc::new(Shared {
            bytes: AtomicUsize::new(0),
            budget,
            over_budget: Notify::new(),
        }))
    }

    pub(super) fn hold(&self, len: usize) {
        let now = self.0.bytes.fetch_add(len, Ordering::Relaxed) + len;
        if now > self.0.budget {
            self.0.over_budget.notify_one();
        }
    }

    pub(super) fn release(&self, len: usize) {
        self.0.bytes.fetch_sub(len, Ordering::Relaxed);
    }

    /// Bytes held now.
    pub fn get(&self) -> usize {
        self.0.bytes.load(Ordering::Relaxed)
    }

    pub fn budget(&self) -> usize {
        self.0.budget
    }

    /// Whether the count is past the budget.
    pub fn is_over(&self) -> bool {
        self.get() > self.0.budget
    }

    /// Whether new joins are refused: past three quarters of the budget, so that what
    /// is left serves those already in.
    pub fn refuses_joins(&self) -> bool {
        self.get() > self.0.budget / 4 * 3
    }

    /// Resolves the next time the count goes past the budget (or at once, if it did
    /// since the last call).
    pub async fn went_over(&self) {
        self.0.over_budget.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_stop_at_three_quarters_and_the_budget_is_the_limit() {
        let held = HeldBytes::with_budget(1000);
        held.hold(750);
        assert!(!held.refuses_joins());
        held.hold(1);
        assert!(held.refuses_joins());
        assert!(!held.is_over());
        held.hold(250);
        assert!(held.is_over());
        held.release(1001);
        assert_eq!(held.get(), 0);
        assert!(!held.refuses_joins());
    }
}
