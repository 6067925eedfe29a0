//! Who each receive slot of the connection to the server's media carries, as the
//! server says (`sfu_slots`): the server's lines are a fixed pool, each carrying one
//! person's camera or microphone at a time. Plain rules, tested without a browser; the
//! browser layer (`browser::server_slots`) puts each person's slot tracks on their
//! tile.

use crate::protocol::{PeerId, SlotCarries};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct SlotMap {
    /// Slot (its line's `mid`) to whom it carries.
    carries: BTreeMap<String, PeerId>,
}

impl SlotMap {
    /// Takes the server's news. Returns everyone whose slots changed (those a slot
    /// left and those it came to), each once, in the order first affected.
    pub fn apply(&mut self, news: &[SlotCarries]) -> Vec<PeerId> {
        let mut affected = Vec::new();
        let mut touch = |peer: PeerId| {
            if !affected.contains(&peer) {
                affected.push(peer);
            }
        };
        for change in news {
            let before = match change.peer {
                Some(peer) => self.carries.insert(change.mid.clone(), peer),
                None => self.carries.remove(&change.mid),
            };
            if before == change.peer {
                continue;
            }
            if let Some(before) = before {
                touch(before);
            }
            if let Some(peer) = change.peer {
                touch(peer);
            }
        }
        affected
    }

    /// The slots carrying `peer` now.
    pub fn slots_of(&self, peer: PeerId) -> Vec<&str> {
        self.carries
            .iter()
            .filter(|(_, carried)| **carried == peer)
            .map(|(mid, _)| mid.as_str())
            .collect()
    }

    /// Everyone some slot carries now.
    pub fn carried(&self) -> Vec<PeerId> {
        let mut carried: Vec<PeerId> = self.carries.values().copied().collect();
        carried.sort_unstable();
        carried.dedup();
        carried
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADA: PeerId = PeerId(1);
    const BOB: PeerId = PeerId(2);

    fn carries(mid: &str, peer: Option<PeerId>) -> SlotCarries {
        SlotCarries {
            mid: mid.into(),
            peer,
        }
    }

    #[test]
    fn a_slot_moves_from_one_person_to_another() {
        let mut map = SlotMap::default();
        let affected = map.apply(&[carries("3", Some(ADA)), carries("4", Some(ADA))]);
        assert_eq!(affected, vec![ADA]);
        assert_eq!(map.slots_of(ADA), vec!["3", "4"]);
        // Ada's camera slot is Bob's now: first it says nobody, then Bob.
        let affected = map.apply(&[carries("3", None), carries("3", Some(BOB))]);
        assert_eq!(affected, vec![ADA, BOB]);
        assert_eq!(map.slots_of(ADA), vec!["4"]);
        assert_eq!(map.slots_of(BOB), vec!["3"]);
        assert_eq!(map.carried(), vec![ADA, BOB]);
        // News that changes nothing affects nobody.
        assert!(map
            .apply(&[carries("3", Some(BOB)), carries("9", None)])
            .is_empty());
    }
}
