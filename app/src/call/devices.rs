//! Cameras, microphones and speakers: which one to use, what to remember, what to say
//! when one is blocked or goes away. Plain Rust; the browser side (`browser::local`)
//! asks the browser and follows these rules.

use serde::{Deserialize, Serialize};

/// A kind of device a person chooses in the menus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Camera,
    Microphone,
    Speaker,
}

impl DeviceKind {
    /// The word for it in a sentence.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Camera => "camera",
            Self::Microphone => "microphone",
            Self::Speaker => "speaker",
        }
    }

    /// The `kind` of a `MediaDeviceInfo` of this kind.
    pub fn browser_kind(self) -> &'static str {
        match self {
            Self::Camera => "videoinput",
            Self::Microphone => "audioinput",
            Self::Speaker => "audiooutput",
        }
    }
}

/// One device the browser offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The browser's `deviceId` (stable for this site while permission lasts).
    pub id: String,
    /// What the person sees in the menu.
    pub label: String,
}

/// Every device of each kind, in the browser's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceLists {
    pub cameras: Vec<DeviceInfo>,
    pub microphones: Vec<DeviceInfo>,
    pub speakers: Vec<DeviceInfo>,
}

impl DeviceLists {
    pub fn of(&self, kind: DeviceKind) -> &[DeviceInfo] {
        match kind {
            DeviceKind::Camera => &self.cameras,
            DeviceKind::Microphone => &self.microphones,
            DeviceKind::Speaker => &self.speakers,
        }
    }

    pub fn of_mut(&mut self, kind: DeviceKind) -> &mut Vec<DeviceInfo> {
        match kind {
            DeviceKind::Camera => &mut self.cameras,
            DeviceKind::Microphone => &mut self.microphones,
            DeviceKind::Speaker => &mut self.speakers,
        }
    }
}

/// The device of each kind in use now (`None`: the browser's default, or none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chosen {
    pub camera: Option<String>,
    pub microphone: Option<String>,
    pub speaker: Option<String>,
}

impl Chosen {
    pub fn of(&self, kind: DeviceKind) -> Option<&str> {
        match kind {
            DeviceKind::Camera => self.camera.as_deref(),
            DeviceKind::Microphone => self.microphone.as_deref(),
            DeviceKind::Speaker => self.speaker.as_deref(),
        }
    }

    pub fn set(&mut self, kind: DeviceKind, id: Option<String>) {
        match kind {
            DeviceKind::Camera => self.camera = id,
            DeviceKind::Microphone => self.microphone = id,
            DeviceKind::Speaker => self.speaker = id,
        }
    }
}

/// A device as remembered between visits: its id, and its label in case the id
/// changed (browsers renew ids when site data is cleared).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    pub id: String,
    pub label: String,
}

impl From<&DeviceInfo> for Remembered {
    fn from(device: &DeviceInfo) -> Self {
        Self {
            id: device.id.clone(),
            label: device.label.clone(),
        }
    }
}

/// What a person chose, kept per browser and applied again on the next visit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    pub camera: Option<Remembered>,
    pub microphone: Option<Remembered>,
    pub speaker: Option<Remembered>,
    pub camera_on: bool,
    pub microphone_on: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            camera: None,
            microphone: None,
            speaker: None,
            camera_on: true,
            microphone_on: true,
        }
    }
}

impl Preferences {
    /// Reads what `save` wrote; anything unreadable counts as nothing remembered.
    pub fn load(text: Option<&str>) -> Self {
        text.and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }

    pub fn save(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn device(&self, kind: DeviceKind) -> Option<&Remembered> {
        match kind {
            DeviceKind::Camera => self.camera.as_ref(),
            DeviceKind::Microphone => self.microphone.as_ref(),
            DeviceKind::Speaker => self.speaker.as_ref(),
        }
    }

    pub fn set_device(&mut self, kind: DeviceKind, device: Option<Remembered>) {
        match kind {
            DeviceKind::Camera => self.camera = device,
            DeviceKind::Microphone => self.microphone = device,
            DeviceKind::Speaker => self.speaker = device,
        }
    }
}

/// The remembered device among those present: the same id, or else the same label.
/// `None` means the browser's default.
pub fn find_remembered<'a>(
    remembered: Option<&Remembered>,
    present: &'a [DeviceInfo],
) -> Option<&'a DeviceInfo> {
    let remembered = remembered?;
    present.iter().find(|d| d.id == remembered.id).or_else(|| {
        present
            .iter()
            .find(|d| !d.label.is_empty() && d.label == remembered.label)
    })
}

/// Another device to use when `lost` stopped working: the first one that is neither
/// it nor the browser's alias for it ("Default - …" when it was the default).
pub fn fallback<'a>(lost: &DeviceInfo, present: &'a [DeviceInfo]) -> Option<&'a DeviceInfo> {
    present.iter().find(|d| {
        d.id != lost.id && !(lost.label.is_empty() || d.label.is_empty()) && {
            let alias = d.label.ends_with(&lost.label) || lost.label.ends_with(&d.label);
            !alias
        }
    })
}

/// Why the browser would not give us a device, from the `DOMException`'s name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaProblem {
    /// The person (or the browser's settings) blocked it.
    Blocked,
    /// There is no such device.
    Missing,
    /// Another program holds it, or the system refused it.
    Busy,
    Other,
}

impl MediaProblem {
    pub fn from_error_name(name: &str) -> Self {
        match name {
            "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => Self::Blocked,
            "NotFoundError" | "OverconstrainedError" | "DevicesNotFoundError" => Self::Missing,
            "NotReadableError" | "AbortError" | "TrackStartError" => Self::Busy,
            _ => Self::Other,
        }
    }
}

/// What to tell the person when they join without a camera (`camera`) or a
/// microphone (`microphone`), and what to do about it. `None`: nothing is missing.
pub fn explain_missing(
    camera: Option<MediaProblem>,
    microphone: Option<MediaProblem>,
) -> Option<String> {
    let what = match (camera, microphone) {
        (None, None) => return None,
        (Some(_), None) => "camera",
        (None, Some(_)) => "microphone",
        (Some(_), Some(_)) => "camera and microphone",
    };
    let consequence = match (camera, microphone) {
        (Some(_), None) => "others can hear you but not see you",
        (None, Some(_)) => "others can see you but not hear you",
        _ => "you can see and hear others, but they can't see or hear you",
    };
    let (is, was) = if camera.is_some() && microphone.is_some() {
        ("are", "were")
    } else {
        ("is", "was")
    };
    let problems = [camera, microphone];
    let why = if problems.contains(&Some(MediaProblem::Blocked)) {
        format!("{is} blocked for this site. To allow it, click the camera icon in the address bar (or the site settings), then reload the page")
    } else if problems.contains(&Some(MediaProblem::Busy)) {
        format!("{is} in use by another program or could not be started. Close the other program, then reload the page")
    } else if problems.contains(&Some(MediaProblem::Missing)) {
        format!("{was} not found. Connect one, then reload the page")
    } else {
        format!("{is} unavailable")
    };
    Some(format!("Your {what} {why}. Meanwhile {consequence}."))
}

/// What to say after a device in use stopped working and another one took its place
/// (`None`: there was no other).
pub fn explain_fallback(kind: DeviceKind, lost: &str, now: Option<&str>) -> String {
    let noun = kind.noun();
    match now {
        Some(now) => format!("Your {noun} “{lost}” stopped working. Now using “{now}”."),
        None => {
            format!("Your {noun} “{lost}” stopped working, and there is no other one: it is off.")
        }
    }
}

/// The microphone level meter's reading, 0.0 to 1.0, from a window of samples: the
/// loudness in decibels between -60 dB (silence, 0.0) and 0 dB (full scale, 1.0).
pub fn loudness(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let power = samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32;
    let rms = power.sqrt();
    if rms <= 0.0 {
        return 0.0;
    }
    ((20.0 * rms.log10() + 60.0) / 60.0).clamp(0.0, 1.0)
}

/// The meter moves up at once and falls back slowly, as level meters do, so short
/// sounds are seen.
pub fn meter_step(shown: f32, loudness: f32) -> f32 {
    const FALL: f32 = 0.85;
    let fallen = shown * FALL;
    if loudness > fallen {
        loudness
    } else if fallen < 0.01 {
        0.0
    } else {
        fallen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str, label: &str) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            label: label.into(),
        }
    }

    #[test]
    fn remembered_devices_are_found_by_id_then_label() {
        let present = [device("a", "Front camera"), device("b", "USB camera")];
        let by_id = Remembered {
            id: "b".into(),
            label: "renamed".into(),
        };
        assert_eq!(find_remembered(Some(&by_id), &present), Some(&present[1]));
        let by_label = Remembered {
            id: "old-id".into(),
            label: "USB camera".into(),
        };
        assert_eq!(
            find_remembered(Some(&by_label), &present),
            Some(&present[1])
        );
        let gone = Remembered {
            id: "z".into(),
            label: "Unplugged".into(),
        };
        assert_eq!(find_remembered(Some(&gone), &present), None);
        assert_eq!(find_remembered(None, &present), None);
    }

    #[test]
    fn an_unlabelled_device_does_not_match_an_unlabelled_memory() {
        let present = [device("a", "")];
        let remembered = Remembered {
            id: "x".into(),
            label: String::new(),
        };
        assert_eq!(find_remembered(Some(&remembered), &present), None);
    }

    #[test]
    fn the_fallback_is_another_device_and_not_an_alias_of_the_lost_one() {
        let present = [
            device("default", "Default - Headset"),
            device("h", "Headset"),
            device("m", "Built-in microphone"),
        ];
        let lost = device("h", "Headset");
        assert_eq!(fallback(&lost, &present), Some(&present[2]));
        let lost_default = device("default", "Default - Headset");
        assert_eq!(fallback(&lost_default, &present), Some(&present[2]));
        assert_eq!(fallback(&lost, &present[..2]), None);
    }

    #[test]
    fn preferences_survive_a_round_trip_and_garbage_means_defaults() {
        let mut prefs = Preferences {
            camera_on: false,
            ..Preferences::default()
        };
        prefs.set_device(
            DeviceKind::Camera,
            Some((&device("b", "USB camera")).into()),
        );
        let text = prefs.save();
        assert_eq!(Preferences::load(Some(&text)), prefs);
        assert_eq!(
            Preferences::load(Some(&text))
                .device(DeviceKind::Camera)
                .map(|d| d.id.as_str()),
            Some("b")
        );
        assert_eq!(Preferences::load(Some("{not json")), Preferences::default());
        assert_eq!(Preferences::load(None), Preferences::default());
        // Fields added later default sensibly.
        let old = Preferences::load(Some(r#"{"camera_on":false}"#));
        assert!(!old.camera_on);
        assert!(old.microphone_on);
    }

    #[test]
    fn problems_are_explained_with_what_to_do() {
        assert_eq!(explain_missing(None, None), None);
        let blocked = explain_missing(Some(MediaProblem::Blocked), None).unwrap();
        assert!(blocked.starts_with("Your camera is blocked"), "{blocked}");
        assert!(blocked.contains("address bar"), "{blocked}");
        assert!(
            blocked.contains("can hear you but not see you"),
            "{blocked}"
        );
        let both =
            explain_missing(Some(MediaProblem::Missing), Some(MediaProblem::Missing)).unwrap();
        assert!(
            both.starts_with("Your camera and microphone were not found"),
            "{both}"
        );
        let busy = explain_missing(None, Some(MediaProblem::Busy)).unwrap();
        assert!(busy.contains("in use by another program"), "{busy}");
        assert!(busy.contains("can see you but not hear you"), "{busy}");
        assert_eq!(
            MediaProblem::from_error_name("NotAllowedError"),
            MediaProblem::Blocked
        );
        assert_eq!(
            MediaProblem::from_error_name("NotReadableError"),
            MediaProblem::Busy
        );
        assert_eq!(
            MediaProblem::from_error_name("NotFoundError"),
            MediaProblem::Missing
        );
    }

    #[test]
    fn the_meter_rises_at_once_and_falls_slowly() {
        assert_eq!(loudness(&[]), 0.0);
        assert_eq!(loudness(&[0.0; 64]), 0.0);
        assert!((loudness(&[1.0, -1.0]) - 1.0).abs() < 1e-6);
        // -20 dB: two thirds up.
        assert!((loudness(&[0.1, -0.1]) - 2.0 / 3.0).abs() < 1e-3);
        let mut shown = 0.0;
        shown = meter_step(shown, 0.8);
        assert_eq!(shown, 0.8);
        shown = meter_step(shown, 0.0);
        assert!(shown > 0.6 && shown < 0.8);
        for _ in 0..60 {
            shown = meter_step(shown, 0.0);
        }
        assert_eq!(shown, 0.0);
    }
}
