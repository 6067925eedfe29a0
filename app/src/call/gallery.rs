//! Which people the grid shows: a page at a time, as Meet's tiled view (49 tiles, your
//! own among them), everyone else a page away. Someone who starts speaking while on
//! another page takes the place of whoever on the page shown spoke longest ago, so the
//! active speaker is always on the screen. Through the server, a tile off the page gets
//! no video (it is not on the screen: `tiles_shown` says so).
//!
//! Plain data, tested without a page; the room page keeps one in [`super::CallState`].

use crate::protocol::PeerId;
use std::collections::HashMap;

/// Tiles on one page of the grid, your own included.
pub const TILES_PER_PAGE: usize = 49;

/// The others in the grid, in the order it places them, and the page shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gallery {
    order: Vec<PeerId>,
    /// Others on one page (your own tile is on every page).
    per_page: usize,
    page: usize,
    /// When each last started speaking (a count of starts), for who gives way.
    spoke: HashMap<PeerId, u64>,
    starts: u64,
}

impl Default for Gallery {
    fn default() -> Self {
        Self::new(TILES_PER_PAGE - 1)
    }
}

impl Gallery {
    /// A gallery of `per_page` others a page.
    pub fn new(per_page: usize) -> Self {
        Self {
            order: Vec::new(),
            per_page: per_page.max(1),
            page: 0,
            spoke: HashMap::new(),
            starts: 0,
        }
    }

    /// Someone came: their tile goes last.
    pub fn add(&mut self, id: PeerId) {
        if !self.order.contains(&id) {
            self.order.push(id);
        }
    }

    /// Someone left: those after them move up a place; the page shown stays, unless it
    /// is gone.
    pub fn remove(&mut self, id: PeerId) {
        self.order.retain(|other| *other != id);
        self.spoke.remove(&id);
        self.page = self.page.min(self.pages() - 1);
    }

    /// How many pages there are (at least one, if only for your own tile).
    pub fn pages(&self) -> usize {
        self.order.len().div_ceil(self.per_page).max(1)
    }

    /// The page shown, from 0.
    pub fn page(&self) -> usize {
        self.page
    }

    /// Shows page `page` (the last one, if there are fewer).
    pub fn turn_to(&mut self, page: usize) {
        self.page = page.min(self.pages() - 1);
    }

    /// Their place in the grid, from 0 (`None`: not in it).
    pub fn place(&self, id: PeerId) -> Option<usize> {
        self.order.iter().position(|other| *other == id)
    }

    /// Whether their tile is on the page shown.
    pub fn on_page(&self, id: PeerId) -> bool {
        self.place(id)
            .is_some_and(|place| place / self.per_page == self.page)
    }

    /// How many others the page shown holds.
    pub fn shown(&self) -> usize {
        let first = self.page * self.per_page;
        self.order.len().saturating_sub(first).min(self.per_page)
    }

    /// They started speaking: if their tile is on another page, it takes the place of
    /// the one on this page who spoke longest ago (never, first; of those, the last
    /// placed), except `keep` (the pinned one, shown large anyway).
    pub fn spoke(&mut self, id: PeerId, keep: Option<PeerId>) {
        self.starts += 1;
        self.spoke.insert(id, self.starts);
        let Some(from) = self.place(id) else {
            return;
        };
        if self.on_page(id) {
            return;
        }
        let first = self.page * self.per_page;
        let page = first..first + self.shown();
        let gives_way = page
            .filter(|&place| Some(self.order[place]) != keep)
            .min_by_key(|&place| {
                let last_spoke = self.spoke.get(&self.order[place]).copied().unwrap_or(0);
                (last_spoke, std::cmp::Reverse(place))
            });
        if let Some(to) = gives_way {
            self.order.swap(from, to);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gallery(per_page: usize, people: u64) -> Gallery {
        let mut gallery = Gallery::new(per_page);
        for id in 1..=people {
            gallery.add(PeerId(id));
        }
        gallery
    }

    #[test]
    fn the_default_page_holds_49_tiles_with_your_own() {
        let mut gallery = Gallery::default();
        for id in 1..=48 {
            gallery.add(PeerId(id));
        }
        assert_eq!((gallery.pages(), gallery.shown()), (1, 48));
        gallery.add(PeerId(49));
        assert_eq!(gallery.pages(), 2);
        assert!(!gallery.on_page(PeerId(49)));
        gallery.turn_to(1);
        assert_eq!(gallery.shown(), 1);
        assert!(gallery.on_page(PeerId(49)));
    }

    #[test]
    fn pages_follow_people_coming_and_going() {
        let mut gallery = gallery(2, 5);
        assert_eq!(gallery.pages(), 3);
        assert!(gallery.on_page(PeerId(1)) && gallery.on_page(PeerId(2)));
        assert!(!gallery.on_page(PeerId(3)));
        gallery.turn_to(9);
        assert_eq!(gallery.page(), 2, "no page past the last");
        assert_eq!(gallery.shown(), 1);
        // The last page's only one leaves: the page before it is shown.
        gallery.remove(PeerId(5));
        assert_eq!((gallery.pages(), gallery.page()), (2, 1));
        // Someone on page one leaves: the next moves up onto it.
        gallery.turn_to(0);
        gallery.remove(PeerId(1));
        assert_eq!(gallery.place(PeerId(3)), Some(1));
        assert!(gallery.on_page(PeerId(3)));
        assert_eq!(gallery.place(PeerId(1)), None);
        gallery.add(PeerId(3));
        assert_eq!(gallery.pages(), 2, "a second add changes nothing");
    }

    #[test]
    fn a_speaker_on_another_page_takes_the_place_of_the_one_who_spoke_longest_ago() {
        let mut gallery = gallery(3, 7);
        // 1 and 3 spoke; 2 never did: 2 gives way to 6.
        gallery.spoke(PeerId(1), None);
        gallery.spoke(PeerId(3), None);
        gallery.spoke(PeerId(6), None);
        assert!(gallery.on_page(PeerId(6)));
        assert_eq!(gallery.place(PeerId(6)), Some(1));
        assert_eq!(gallery.place(PeerId(2)), Some(5), "into 6's old place");
        // 7 speaks: 1 spoke longest ago.
        gallery.spoke(PeerId(7), None);
        assert_eq!(gallery.place(PeerId(7)), Some(0));
        assert!(!gallery.on_page(PeerId(1)));
        // Someone on the page speaking moves nobody.
        let before = gallery.clone().order;
        gallery.spoke(PeerId(3), None);
        assert_eq!(gallery.order, before);
    }

    #[test]
    fn the_pinned_one_and_the_page_turned_to_are_respected() {
        let mut gallery = gallery(2, 6);
        // Nobody spoke; 2 (the last on the page) would give way, but is pinned: 1 does.
        gallery.spoke(PeerId(5), Some(PeerId(2)));
        assert_eq!(gallery.place(PeerId(5)), Some(0));
        assert!(gallery.on_page(PeerId(2)));
        // On page two (3 and 4), 1 speaks: onto page two, the page looked at.
        gallery.turn_to(1);
        gallery.spoke(PeerId(1), None);
        assert!(gallery.on_page(PeerId(1)));
        assert_eq!(gallery.page(), 1);
    }
}
