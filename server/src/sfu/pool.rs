//! A receiver's receive slots: the lines of their connection to the media port that
//! carry the others' cameras and microphones. They are a pool, not a line per person:
//! it grows a few lines at a time as the meeting calls for more (up to a cap), never
//! shrinks, and each slot carries one person at a time. So people joining, leaving or
//! scrolling out of view change what the slots carry, not the connection (no
//! renegotiation), and the connection's description stays the same size however
//! large the meeting.
//!
//! Which camera each video slot carries follows what the receiver shows (`slots`:
//! those still shown keep their slots). An audio slot is taken by whoever is heard
//! and has none, the free slot first, else the one heard from longest ago. The
//! receiver is told who a slot carries (`sfu_slots`) when that person's first frame
//! goes out on it, and at once when it stops carrying them, so that a tile never
//! shows someone else's picture.

use super::rewrite::{Incoming, Rewriter};
use super::simulcast::LayerForwarder;
use super::slots::Slots;
use super::speakers::ALL_AUDIO_UP_TO;
use app::protocol::{PeerId, SlotCarries};
use std::time::{Duration, Instant};
use str0m::media::{MediaKind, Mid};

/// A sender's track: whose, and which of their lines.
pub(super) type Source = (PeerId, Mid);

/// The most video slots: a page of the gallery (49 tiles with your own).
pub const MAX_VIDEO_SLOTS: usize = 48;
/// The most audio slots: as many as are ever heard at once (`speakers`).
pub const MAX_AUDIO_SLOTS: usize = ALL_AUDIO_UP_TO;
/// How many lines the pools grow by at a time: eight cameras, and every voice there
/// can be at once. (Chromium answers a video slot in 876 bytes and an audio slot in
/// 679, so a full pool is about 46 KB with its own lines, within the 60 KiB a
/// description may have.)
const VIDEO_STEP: usize = 8;
const AUDIO_STEP: usize = MAX_AUDIO_SLOTS;
/// An audio slot heard from within this long is not taken from whoever it carries.
const AUDIO_SLOT_BUSY: Duration = Duration::from_millis(500);
/// The RTP clock of Opus.
const AUDIO_CLOCK_HZ: u64 = 48_000;

/// How a slot's line stands in negotiation (lines are only ever added).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Line {
    Negotiating(Mid),
    Open(Mid),
}

impl Line {
    pub(super) fn mid(self) -> Mid {
        match self {
            Line::Negotiating(mid) | Line::Open(mid) => mid,
        }
    }

    fn open(self) -> Option<Mid> {
        match self {
            Line::Open(mid) => Some(mid),
            Line::Negotiating(_) => None,
        }
    }
}

/// Who a slot carries, and who the receiver was told it carries.
#[derive(Debug)]
struct Carrying {
    line: Line,
    source: Option<Source>,
    announced: Option<PeerId>,
}

impl Carrying {
    fn new(mid: Mid) -> Self {
        Self {
            line: Line::Negotiating(mid),
            source: None,
            announced: None,
        }
    }

    /// Carries `source` from now on (the receiver is told they are gone at once).
    fn carry(&mut self, source: Option<Source>, news: &mut Vec<SlotCarries>) {
        self.source = source;
        if self.announced.take().is_some() {
            news.push(SlotCarries {
                mid: self.line.mid().to_string(),
                peer: None,
            });
        }
    }

    /// A frame of `peer`'s went out on it: the receiver is told, if not yet.
    fn sent(&mut self, peer: PeerId, news: &mut Vec<SlotCarries>) {
        if self.announced != Some(peer) {
            self.announced = Some(peer);
            news.push(SlotCarries {
                mid: self.line.mid().to_string(),
                peer: Some(peer),
            });
        }
    }
}

/// A video slot: its camera's layer and numbering.
#[derive(Debug)]
pub(super) struct VideoSlot {
    carrying: Carrying,
    pub(super) layers: LayerForwarder,
    /// Whether the camera it carries comes in simulcast layers.
    pub(super) simulcast: bool,
}

impl VideoSlot {
    pub(super) fn source(&self) -> Option<Source> {
        self.carrying.source
    }

    pub(super) fn mid(&self) -> Option<Mid> {
        self.carrying.line.open()
    }
}

/// An audio slot: its numbering, and when it last carried something.
#[derive(Debug)]
struct AudioSlot {
    carrying: Carrying,
    rewriter: Rewriter,
    /// Packets of the current source: stands for the sequence number (str0m numbers
    /// what it sends itself).
    packets: u16,
    carried_before: u32,
    heard_at: Option<Instant>,
}

/// One receiver's slots.
#[derive(Debug, Default)]
pub(super) struct Pool {
    video: Vec<VideoSlot>,
    audio: Vec<AudioSlot>,
    /// Which camera each open video slot carries (the open ones come first: lines
    /// open in the order they were added).
    cameras: Slots<Source>,
    /// How many of each the meeting calls for now.
    video_wanted: usize,
    audio_wanted: usize,
    /// What the receiver is to be told.
    news: Vec<SlotCarries>,
}

/// How many lines a pool of `count` should grow by for `wanted` (in steps, up to `max`).
fn to_add(count: usize, wanted: usize, step: usize, max: usize) -> usize {
    if wanted <= count {
        return 0;
    }
    wanted.next_multiple_of(step).min(max).saturating_sub(count)
}

impl Pool {
    /// How many video and audio slots the meeting calls for now (capped).
    pub(super) fn want(&mut self, video: usize, audio: usize) {
        self.video_wanted = video.min(MAX_VIDEO_SLOTS);
        self.audio_wanted = audio.min(MAX_AUDIO_SLOTS);
    }

    /// How many video and audio lines to offer now.
    pub(super) fn lines_to_add(&self) -> (usize, usize) {
        (
            to_add(
                self.video.len(),
                self.video_wanted,
                VIDEO_STEP,
                MAX_VIDEO_SLOTS,
            ),
            to_add(
                self.audio.len(),
                self.audio_wanted,
                AUDIO_STEP,
                MAX_AUDIO_SLOTS,
            ),
        )
    }

    /// A slot of `kind` was offered on line `mid`.
    pub(super) fn offered(&mut self, kind: MediaKind, mid: Mid) {
        let carrying = Carrying::new(mid);
        match kind {
            MediaKind::Video => self.video.push(VideoSlot {
                carrying,
                layers: LayerForwarder::default(),
                simulcast: false,
            }),
            MediaKind::Audio => self.audio.push(AudioSlot {
                carrying,
                rewriter: Rewriter::with_clock(AUDIO_CLOCK_HZ),
                packets: 0,
                carried_before: 0,
                heard_at: None,
            }),
        }
    }

    /// The receiver answered: the lines offered are open.
    pub(super) fn answered(&mut self) {
        for carrying in self
            .video
            .iter_mut()
            .map(|s| &mut s.carrying)
            .chain(self.audio.iter_mut().map(|s| &mut s.carrying))
        {
            carrying.line = Line::Open(carrying.line.mid());
        }
        self.cameras.grow(self.video.len());
    }

    /// Carries the cameras of `wanted` (most important first) in the open video slots;
    /// those still wanted keep theirs.
    pub(super) fn assign_cameras(&mut self, wanted: &[Source]) {
        for change in self.cameras.assign(wanted) {
            let slot = &mut self.video[change.slot];
            slot.carrying.carry(change.to, &mut self.news);
            slot.layers.carry_another();
            slot.simulcast = false;
        }
    }

    pub(super) fn video_slots_mut(&mut self) -> impl Iterator<Item = &mut VideoSlot> {
        self.video.iter_mut()
    }

    /// The video slot whose line is `mid`.
    pub(super) fn video_slot(&self, mid: Mid) -> Option<&VideoSlot> {
        self.video.iter().find(|s| s.carrying.line.mid() == mid)
    }

    /// The open video slot carrying `source`, if any.
    #[cfg(test)]
    fn video_slot_of(&mut self, source: Source) -> Option<&mut VideoSlot> {
        let index = self.cameras.slot_of(&source)?;
        self.video.get_mut(index)
    }

    /// A frame of `source`'s camera, of simulcast `layer` (0 for a camera of one):
    /// the line it goes out on and its timestamp there, or `None` when no slot
    /// carries it, or not this layer, or not yet.
    pub(super) fn camera_frame(
        &mut self,
        source: Source,
        layer: usize,
        keyframe: bool,
        timestamp: u32,
        now: Instant,
    ) -> Option<(Mid, u32)> {
        let index = self.cameras.slot_of(&source)?;
        let slot = self.video.get_mut(index)?;
        let mid = slot.mid()?;
        let out = slot.layers.pass(layer, keyframe, timestamp, now)?;
        slot.carrying.sent(source.0, &mut self.news);
        Some((mid, out))
    }

    /// An audio packet of `source` (RTP timestamp `timestamp`) to go out: the line it
    /// goes out on and its timestamp there, or `None` when no slot is free for it.
    pub(super) fn audio(
        &mut self,
        source: Source,
        timestamp: u32,
        now: Instant,
    ) -> Option<(Mid, u32)> {
        let index = match self
            .audio
            .iter()
            .position(|s| s.carrying.source == Some(source))
        {
            Some(index) => index,
            None => {
                let index = self.free_audio_slot(now)?;
                let slot = &mut self.audio[index];
                slot.carrying.carry(Some(source), &mut self.news);
                slot.packets = 0;
                slot.carried_before = slot.carried_before.wrapping_add(1);
                index
            }
        };
        let slot = &mut self.audio[index];
        let mid = slot.carrying.line.open()?;
        let seq = slot.packets;
        slot.packets = seq.wrapping_add(1);
        let out = slot.rewriter.rewrite(Incoming {
            stream: slot.carried_before,
            seq,
            timestamp,
            picture_id: None,
            tl0_pic_idx: None,
            at: now,
        })?;
        slot.heard_at = Some(now);
        slot.carrying.sent(source.0, &mut self.news);
        Some((mid, out.timestamp))
    }

    /// An open audio slot to carry someone new: a free one, else the one heard from
    /// longest ago, if not within [`AUDIO_SLOT_BUSY`].
    fn free_audio_slot(&self, now: Instant) -> Option<usize> {
        let open = self
            .audio
            .iter()
            .enumerate()
            .filter(|(_, s)| s.carrying.line.open().is_some());
        let mut oldest: Option<(usize, Instant)> = None;
        for (index, slot) in open {
            let Some(heard) = slot.heard_at.filter(|_| slot.carrying.source.is_some()) else {
                return Some(index);
            };
            if oldest.is_none_or(|(_, at)| heard < at) {
                oldest = Some((index, heard));
            }
        }
        oldest
            .filter(|(_, at)| now.saturating_duration_since(*at) >= AUDIO_SLOT_BUSY)
            .map(|(index, _)| index)
    }

    /// `peer` left: their audio slots are free (their cameras' slots go at the next
    /// assignment).
    pub(super) fn source_gone(&mut self, peer: PeerId) {
        for slot in &mut self.audio {
            if slot.carrying.source.is_some_and(|(p, _)| p == peer) {
                slot.carrying.carry(None, &mut self.news);
                slot.heard_at = None;
            }
        }
    }

    /// What the receiver is to be told now.
    pub(super) fn take_news(&mut self) -> Vec<SlotCarries> {
        std::mem::take(&mut self.news)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADA: PeerId = PeerId(1);
    const BOB: PeerId = PeerId(2);
    const CY: PeerId = PeerId(3);

    fn mid(name: &str) -> Mid {
        Mid::from(name)
    }

    #[test]
    fn the_pool_grows_in_steps_up_to_its_cap_and_never_by_a_line_a_person() {
        let mut pool = Pool::default();
        pool.want(1, 1);
        assert_eq!(pool.lines_to_add(), (8, 6));
        for n in 0..8 {
            pool.offered(MediaKind::Video, mid(&format!("v{n}")));
        }
        for n in 0..6 {
            pool.offered(MediaKind::Audio, mid(&format!("a{n}")));
        }
        pool.answered();
        // Up to eight cameras and six voices: nothing to add.
        pool.want(8, 6);
        assert_eq!(pool.lines_to_add(), (0, 0));
        pool.want(9, 9);
        assert_eq!(pool.lines_to_add(), (8, 0), "audio stops at its cap");
        pool.want(200, 200);
        assert_eq!(pool.lines_to_add(), (MAX_VIDEO_SLOTS - 8, 0));
    }

    #[test]
    fn a_camera_is_announced_with_its_first_frame_and_unannounced_at_once() {
        let mut pool = Pool::default();
        pool.offered(MediaKind::Video, mid("v0"));
        pool.offered(MediaKind::Video, mid("v1"));
        pool.answered();
        let (ada, bob, cy) = ((ADA, mid("1")), (BOB, mid("1")), (CY, mid("1")));
        pool.assign_cameras(&[ada, bob]);
        assert!(pool.take_news().is_empty(), "nothing sent yet");
        let now = Instant::now();
        assert!(pool.video_slot_of(ada).unwrap().layers.set_target(Some(0)));
        assert_eq!(
            pool.camera_frame(ada, 0, false, 0, now),
            None,
            "not a keyframe"
        );
        assert!(pool.take_news().is_empty(), "nothing sent yet");
        assert!(pool.camera_frame(ada, 0, true, 3_000, now).is_some());
        assert!(pool.camera_frame(ada, 0, false, 6_000, now).is_some());
        assert_eq!(
            pool.take_news(),
            vec![SlotCarries {
                mid: "v0".into(),
                peer: Some(ADA)
            }]
        );
        // Ada scrolls out of view, Cy in: her slot is Cy's, and says nobody until
        // Cy's first frame.
        pool.assign_cameras(&[bob, cy]);
        assert_eq!(
            pool.video_slot_of(cy).and_then(|s| s.mid()),
            Some(mid("v0"))
        );
        assert!(pool.video_slot_of(ada).is_none());
        assert_eq!(
            pool.take_news(),
            vec![SlotCarries {
                mid: "v0".into(),
                peer: None
            }]
        );
        assert_eq!(
            pool.video_slot(mid("v1")).and_then(|s| s.source()),
            Some(bob)
        );
    }

    #[test]
    fn audio_takes_a_free_slot_then_the_quietest_and_continues_its_clock() {
        let start = Instant::now();
        let ms = |n: u64| start + Duration::from_millis(n);
        let mut pool = Pool::default();
        pool.offered(MediaKind::Audio, mid("a0"));
        assert_eq!(
            pool.audio((ADA, mid("0")), 1_000, ms(0)),
            None,
            "not open yet"
        );
        pool.answered();
        let (ada, bob) = ((ADA, mid("0")), (BOB, mid("0")));
        assert_eq!(pool.audio(ada, 1_000, ms(0)), Some((mid("a0"), 1_000)));
        assert_eq!(pool.audio(ada, 1_960, ms(20)), Some((mid("a0"), 1_960)));
        // Bob speaks while Ada's slot is busy: he waits.
        assert_eq!(pool.audio(bob, 500_000, ms(100)), None);
        // Ada has been quiet half a second: Bob takes her slot, on from her clock
        // (600 ms on at 48 kHz).
        assert_eq!(
            pool.audio(bob, 500_000, ms(620)),
            Some((mid("a0"), 1_960 + 28_800))
        );
        let news = pool.take_news();
        let peers: Vec<_> = news.iter().map(|n| n.peer).collect();
        assert_eq!(peers, vec![Some(ADA), None, Some(BOB)]);
        // Bob leaves: the slot is free for Ada at once.
        pool.source_gone(BOB);
        assert_eq!(pool.take_news()[0].peer, None);
        assert!(pool.audio(ada, 60_000, ms(640)).is_some());
    }
}
