//! A receiver's fixed pool of receive slots. Its one connection to the SFU has a set
//! number of video slots (transceivers) negotiated once; which source each carries
//! changes as people come, go, speak or scroll out of view, with no renegotiation. A
//! source keeps its slot while it stays wanted, so its tile keeps playing; freed slots
//! are reused, lowest first.

/// One slot's change: it carried `from`, now `to` (`None`: empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotChange<S> {
    pub slot: usize,
    pub from: Option<S>,
    pub to: Option<S>,
}

/// The slots of one receiver.
#[derive(Clone, Debug)]
pub struct Slots<S> {
    slots: Vec<Option<S>>,
}

impl<S> Default for Slots<S> {
    fn default() -> Self {
        Self { slots: Vec::new() }
    }
}

impl<S: Clone + PartialEq> Slots<S> {
    pub fn new(count: usize) -> Self {
        Self {
            slots: vec![None; count],
        }
    }

    /// More slots (new lines opened): `count` in all, the new ones empty.
    pub fn grow(&mut self, count: usize) {
        if count > self.slots.len() {
            self.slots.resize(count, None);
        }
    }

    /// Which source each slot carries.
    pub fn carried(&self) -> &[Option<S>] {
        &self.slots
    }

    /// The slot carrying `source`, if one does.
    pub fn slot_of(&self, source: &S) -> Option<usize> {
        self.slots.iter().position(|s| s.as_ref() == Some(source))
    }

    /// Carries `wanted` (most important first; those past the slot count are left
    /// out): sources still wanted keep their slots, the others' slots are freed and
    /// given to the newly wanted, lowest first. Returns the slots that changed.
    pub fn assign(&mut self, wanted: &[S]) -> Vec<SlotChange<S>> {
        let wanted = &wanted[..wanted.len().min(self.slots.len())];
        let before = self.slots.clone();
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|s| !wanted.contains(s)) {
                *slot = None;
            }
        }
        for source in wanted {
            if self.slot_of(source).is_none() {
                if let Some(free) = self.slots.iter().position(Option::is_none) {
                    self.slots[free] = Some(source.clone());
                }
            }
        }
        before
            .into_iter()
            .zip(&self.slots)
            .enumerate()
            .filter(|(_, (from, to))| from != *to)
            .map(|(slot, (from, to))| SlotChange {
                slot,
                from,
                to: to.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_keep_their_slots_and_freed_slots_are_reused() {
        let mut slots = Slots::new(3);
        let changes = slots.assign(&["ada", "bob"]);
        assert_eq!(changes.len(), 2);
        assert_eq!(slots.carried(), &[Some("ada"), Some("bob"), None]);

        // Ada leaves, Cy and Dee come: Bob stays where he is, Cy takes Ada's slot.
        let changes = slots.assign(&["bob", "cy", "dee"]);
        assert_eq!(slots.carried(), &[Some("cy"), Some("bob"), Some("dee")]);
        assert_eq!(
            changes,
            vec![
                SlotChange {
                    slot: 0,
                    from: Some("ada"),
                    to: Some("cy")
                },
                SlotChange {
                    slot: 2,
                    from: None,
                    to: Some("dee")
                },
            ]
        );
        // Nothing changed, nothing to do.
        assert!(slots.assign(&["dee", "cy", "bob"]).is_empty());
    }

    #[test]
    fn more_wanted_than_slots_keeps_the_most_important() {
        let mut slots = Slots::new(2);
        slots.assign(&["ada", "bob"]);
        // Eve speaks: she comes first, Bob is left out; Ada keeps her slot.
        let changes = slots.assign(&["eve", "ada", "bob"]);
        assert_eq!(slots.carried(), &[Some("ada"), Some("eve")]);
        assert_eq!(changes.len(), 1);
        assert_eq!(slots.slot_of(&"bob"), None);
        assert!(slots.assign(&[]).len() == 2, "everyone out");
        assert_eq!(slots.carried(), &[None, None]);
    }
}
