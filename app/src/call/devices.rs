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
mod tests;
