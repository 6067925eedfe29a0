//! What sends our media on one connection: the microphone, camera and presentation
//! senders, moving them to other tracks, and keeping the video within its limits.

use super::super::connection::{limit_sender, replace_track};
use super::super::local::LocalMedia;
use super::super::shims::{describe, log};
use super::Peer;
use crate::call::video_budget::VideoLimits;
use std::rc::Rc;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaStream, MediaStreamTrack, RtcRtpSender};

impl Peer {
    /// Sends our presentation's `track` (or, with `None`, stops sending one). The
    /// first on this connection adds a sender, and so a line (an offer); after that
    /// it is `replaceTrack`.
    pub fn present(&self, track: Option<&MediaStreamTrack>, stream: &MediaStream) {
        let mut senders = self.senders.borrow_mut();
        match (&senders.screen, track) {
            (Some(sender), _) => replace_track(sender, track),
            (None, Some(track)) => {
                senders.screen = Some(self.pc.borrow().add_track_0(track, stream));
                senders.limited = None;
            }
            (None, None) => {}
        }
    }

    /// Keeps our video senders within `limits` (set again only when they change, or
    /// until a sender could take them).
    pub fn limit_video(self: &Rc<Self>, limits: VideoLimits) {
        let mut senders = self.senders.borrow_mut();
        if senders.limited == Some(limits) {
            return;
        }
        let wanted = [
            (senders.video.clone(), Some(limits.camera)),
            (senders.screen.clone(), limits.screen),
        ];
        let mut all_set = true;
        for (sender, limit) in wanted {
            let (Some(sender), Some(limit)) = (sender, limit) else {
                continue;
            };
            let Some(setting) = limit_sender(&sender, limit) else {
                all_set = false;
                continue;
            };
            let peer = Rc::downgrade(self);
            leptos::task::spawn_local(async move {
                if let Err(error) = JsFuture::from(setting).await {
                    log(&format!(
                        "could not limit the video sent: {}",
                        describe(error)
                    ));
                    if let Some(peer) = peer.upgrade() {
                        peer.senders.borrow_mut().limited = None;
                    }
                }
            });
        }
        senders.limited = all_set.then_some(limits);
    }

    /// Moves our senders to the local tracks now in use (another device, the camera
    /// turned off or on): `replaceTrack`, no renegotiation.
    pub fn use_local_tracks(&self, local: &LocalMedia) {
        let senders = self.senders.borrow();
        // A microphone switched off sends nothing at all (not silence): its sender
        // has no track until it is on again.
        let microphone = local
            .microphone()
            .filter(|_| local.wants(crate::call::Device::Microphone));
        for (sender, track) in [
            (&senders.audio, microphone),
            (&senders.video, local.camera()),
        ] {
            let Some(sender) = sender else { continue };
            if sender.track() != track {
                replace_track(sender, track.as_ref());
            }
        }
    }
}

/// Our senders on one connection.
#[derive(Default)]
pub(super) struct Senders {
    pub(super) audio: Option<RtcRtpSender>,
    pub(super) video: Option<RtcRtpSender>,
    pub(super) screen: Option<RtcRtpSender>,
    /// The video limits these senders have (none yet, or changed since).
    pub(super) limited: Option<VideoLimits>,
}
