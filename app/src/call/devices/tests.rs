//! Choosing, remembering and falling back between devices, and the level meter's scale.

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
    let both = explain_missing(Some(MediaProblem::Missing), Some(MediaProblem::Missing)).unwrap();
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
