//! Telling the server which cameras this page shows and how tall (`tiles_shown`),
//! while media comes through it: it sends each camera in the simulcast layer that fits
//! the tile, and nothing for a tile off the screen. Read from the page itself (the
//! remote tiles' boxes), whenever a tile changes size (a `ResizeObserver` on each)
//! and on the call's tick; sent only when it changed.

use super::shims::log;
use super::Call;
use crate::protocol::{ClientMessage, PeerId, ShownTile};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, ResizeObserver};

/// Resizes come in bursts (a window dragged, a grid reflowing): one message after.
const SETTLE: Duration = Duration::from_millis(150);

/// The remote tiles, each naming its person.
const TILE_SELECTOR: &str = ".tile.remote[data-peer]";

pub(super) struct ShownTiles {
    observer: Option<ResizeObserver>,
    _on_resize: Closure<dyn FnMut(JsValue)>,
    /// The tiles observed. Observing a tile again is not free: the observer reports
    /// it anew, which would read the tiles again, and so on several times a second.
    observed: RefCell<Vec<Element>>,
    last_sent: RefCell<Option<Vec<ShownTile>>>,
}

impl ShownTiles {
    pub(super) fn new(call: Weak<Call>) -> Self {
        let scheduled = Rc::new(Cell::new(false));
        let on_resize: Closure<dyn FnMut(JsValue)> = Closure::new(move |_: JsValue| {
            if scheduled.replace(true) {
                return;
            }
            let (call, scheduled) = (call.clone(), scheduled.clone());
            set_timeout(
                move || {
                    scheduled.set(false);
                    if let Some(call) = call.upgrade() {
                        call.tell_tiles_shown();
                    }
                },
                SETTLE,
            );
        });
        let observer = ResizeObserver::new(on_resize.as_ref().unchecked_ref())
            .inspect_err(|_| log("no ResizeObserver: tile sizes are read once a second"))
            .ok();
        Self {
            observer,
            _on_resize: on_resize,
            observed: RefCell::new(Vec::new()),
            last_sent: RefCell::new(None),
        }
    }

    /// The tiles as the page shows them now, if different from those last sent.
    fn changed(&self) -> Option<Vec<ShownTile>> {
        let window = web_sys::window()?;
        let tiles = window.document()?.query_selector_all(TILE_SELECTOR).ok()?;
        let viewport = window.inner_height().ok()?.as_f64()?;
        let pixel_ratio = window.device_pixel_ratio();
        let mut shown = Vec::new();
        for index in 0..tiles.length() {
            let Some(tile) = tiles.item(index).and_then(|n| n.dyn_into::<Element>().ok()) else {
                continue;
            };
            let Some(id) = tile
                .get_attribute("data-peer")
                .and_then(|id| id.parse().ok())
            else {
                continue;
            };
            self.observe(&tile);
            let rect = tile.get_bounding_client_rect();
            let on_screen = rect.width() > 0.0 && rect.bottom() > 0.0 && rect.top() < viewport;
            let height = if on_screen {
                (rect.height() * pixel_ratio).round() as u32
            } else {
                0
            };
            shown.push(ShownTile {
                id: PeerId(id),
                height,
            });
        }
        shown.sort_by_key(|tile| tile.id);
        let mut last = self.last_sent.borrow_mut();
        if last.as_ref() == Some(&shown) {
            return None;
        }
        *last = Some(shown.clone());
        Some(shown)
    }

    /// Observes `tile` unless it is already; forgets tiles gone from the page.
    fn observe(&self, tile: &Element) {
        let Some(observer) = &self.observer else {
            return;
        };
        let mut observed = self.observed.borrow_mut();
        if observed.iter().any(|known| known == tile) {
            return;
        }
        observed.retain(|known| {
            let connected = known.is_connected();
            if !connected {
                observer.unobserve(known);
            }
            connected
        });
        observer.observe(tile);
        observed.push(tile.clone());
    }

    pub(super) fn close(&self) {
        if let Some(observer) = &self.observer {
            observer.disconnect();
        }
    }
}

impl Call {
    /// Tells the server the tiles shown, if they changed (and media comes through it).
    pub(super) fn tell_tiles_shown(self: &Rc<Self>) {
        let tiles = match &*self.server_link.borrow() {
            Some(link) => link.tiles.changed(),
            None => return,
        };
        if let Some(tiles) = tiles {
            self.send(&ClientMessage::TilesShown { tiles });
        }
    }
}
