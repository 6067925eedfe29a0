//! Hosts and meeting protection, over real WebSockets: who is a host, asking to join,
//! and every host action refused to those who are not hosts.

mod common;

use app::protocol::{
    Access, ClientMessage, Dismissal, ErrorCode, KnockOutcome, LeaveReason, MeetingSettings,
    PeerId, Role, ServerMessage, StreamId,
};
use common::client::Client;
use common::TestServer;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const QUIET: Duration = Duration::from_millis(300);

/// Every host action, aimed at `target`.
fn host_actions(target: PeerId) -> Vec<ClientMessage> {
    vec![
        ClientMessage::Remove { id: target },
        ClientMessage::TurnOff {
            id: target,
            microphone: true,
            camera: true,
        },
        ClientMessage::MuteEveryone,
        ClientMessage::EndMeeting,
        ClientMessage::SetRole {
            id: target,
            role: Role::Participant,
        },
        ClientMessage::ChangeSettings {
            settings: MeetingSettings {
                access: Access::AskToJoin,
                everyone_may_present: false,
                everyone_may_chat: false,
            },
        },
    ]
}

#[tokio::test]
async fn the_creator_is_the_host_and_nobody_else_can_act_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir).await;
    let (room, host_cookie) = server.create_meeting("Board", false).await;
    let mut host = server.connect_with_cookie(&host_cookie).await;
    let welcome = host.join(&room, "Hana").await;
    assert_eq!(welcome.role, Role::Host);
    assert_eq!(welcome.settings, MeetingSettings::default());

    // The same link without the cookie, and with another meeting's cookie.
    let (_, other_cookie) = server.create_meeting("Other", false).await;
    let forged = other_cookie.replacen(
        other_cookie.split('=').next().unwrap(),
        &app::rooms::host_cookie_name(&room),
        1,
    );
    let mut guest = server.connect_with_cookie(&forged).await;
    let guest_welcome = guest.join(&room, "Gus").await;
    assert_eq!(guest_welcome.role, Role::Participant);
    assert_eq!(
        guest_welcome.peers[0].role,
        Role::Host,
        "the people list marks the host"
    );
    host.recv().await; // Gus joined

    for action in host_actions(welcome.you) {
        guest.send(&action).await;
        guest.expect_error(ErrorCode::NotAllowed).await;
    }
    // Making oneself a co-host, or a host, is refused too.
    for role in [Role::CoHost, Role::Host] {
        guest
            .send(&ClientMessage::SetRole {
                id: guest_welcome.you,
                role,
            })
            .await;
        guest.expect_error(ErrorCode::NotAllowed).await;
    }
    // Nothing changed: the host heard nothing, and a newcomer finds the meeting open.
    host.expect_silence(QUIET).await;
    // The host makes Gus a co-host: everyone is told.
    host.send(&ClientMessage::SetRole {
        id: guest_welcome.you,
        role: Role::CoHost,
    })
    .await;
    let co_host = ServerMessage::RoleChanged {
        id: guest_welcome.you,
        role: Role::CoHost,
    };
    assert_eq!(host.recv().await, co_host);
    assert_eq!(guest.recv().await, co_host);
    let mut third = server.connect().await;
    let third_welcome = third.join(&room, "Tess").await;
    assert_eq!(third_welcome.settings, MeetingSettings::default());
    assert_eq!(third_welcome.peers.len(), 2);
    drop(third);

    // After a restart the host's cookie still says so: on resuming, and on joining again.
    server.stop().await;
    let server = TestServer::start(&dir).await;
    let mut host = server.connect_with_cookie(&host_cookie).await;
    match host.resume(&room, &welcome.token, 0, "Hana").await {
        ServerMessage::Resumed { role, .. } => assert_eq!(role, Role::Host),
        other => panic!("expected resumed, got {other:?}"),
    }
    let mut again = server.connect_with_cookie(&host_cookie).await;
    assert_eq!(again.join(&room, "Hana again").await.role, Role::Host);
    // Gus, resuming, is a co-host still.
    let mut guest = server.connect().await;
    match guest.resume(&room, &guest_welcome.token, 0, "Gus").await {
        ServerMessage::Resumed { role, .. } => assert_eq!(role, Role::CoHost),
        other => panic!("expected resumed, got {other:?}"),
    }
}

#[tokio::test]
async fn asking_to_join_admitted_denied_and_cancelled() {
    let server = TestServer::fresh().await;
    let (room, host_cookie) = server.create_meeting("Interviews", true).await;
    let mut host = server.connect_with_cookie(&host_cookie).await;
    let welcome = host.join(&room, "Hana").await;
    assert_eq!(welcome.settings.access, Access::AskToJoin);

    let mut ann = server.connect().await;
    let ann_id = ann.knock(&room, "Ann").await;
    match host.recv().await {
        ServerMessage::Knocking { knock } => {
            assert_eq!((knock.id, knock.name.as_str()), (ann_id, "Ann"))
        }
        other => panic!("expected a knock, got {other:?}"),
    }
    // Waiting, Ann reaches nobody.
    ann.send(&ClientMessage::Chat {
        text: "hello?".into(),
    })
    .await;
    ann.expect_error(ErrorCode::NotJoined).await;

    host.send(&ClientMessage::Admit { id: ann_id }).await;
    let ann_welcome = ann.expect_welcome(&room).await;
    assert_eq!(ann_welcome.you, ann_id);
    assert_eq!(ann_welcome.role, Role::Participant);
    assert_eq!(
        host.recv().await,
        ServerMessage::KnockEnded {
            id: ann_id,
            outcome: KnockOutcome::Admitted,
            by: Some(welcome.you)
        }
    );
    assert!(matches!(host.recv().await, ServerMessage::PeerJoined { peer } if peer.id == ann_id));

    // Denied: told so by whom, and closed.
    let mut dan = server.connect().await;
    let dan_id = dan.knock(&room, "Dan").await;
    host.recv().await;
    ann.recv().await;
    host.send(&ClientMessage::Deny { id: dan_id }).await;
    assert_eq!(
        dan.recv().await,
        ServerMessage::Dismissed {
            reason: Dismissal::Denied,
            by: Some("Hana".into())
        }
    );
    assert_eq!(dan.expect_close().await, Some(CloseCode::Normal));
    assert!(matches!(
        host.recv().await,
        ServerMessage::KnockEnded {
            outcome: KnockOutcome::Denied,
            ..
        }
    ));
    ann.recv().await;

    // Cancelled: the host's notice goes.
    let mut cal = server.connect().await;
    let cal_id = cal.knock(&room, "Cal").await;
    host.recv().await;
    ann.recv().await;
    cal.send(&ClientMessage::Leave).await;
    assert_eq!(
        host.recv().await,
        ServerMessage::KnockEnded {
            id: cal_id,
            outcome: KnockOutcome::Cancelled,
            by: None
        }
    );
    // Admitting someone who has gone.
    host.send(&ClientMessage::Admit { id: cal_id }).await;
    host.expect_error(ErrorCode::NotWaiting).await;
    host.send(&ClientMessage::Deny {
        id: PeerId(999_999),
    })
    .await;
    host.expect_error(ErrorCode::NotWaiting).await;
}

#[tokio::test]
async fn with_no_host_in_the_meeting_anyone_in_it_admits() {
    let server = TestServer::fresh().await;
    let (room, host_cookie) = server.create_meeting("Club", true).await;
    let mut host = server.connect_with_cookie(&host_cookie).await;
    host.join(&room, "Hana").await;
    let mut ann = server.connect().await;
    let ann_id = ann.knock(&room, "Ann").await;
    host.recv().await;
    host.send(&ClientMessage::Admit { id: ann_id }).await;
    ann.expect_welcome(&room).await;

    // While the host is in, Ann may not admit.
    let mut bea = server.connect().await;
    let bea_id = bea.knock(&room, "Bea").await;
    assert!(matches!(ann.recv().await, ServerMessage::Knocking { .. }));
    ann.send(&ClientMessage::Admit { id: bea_id }).await;
    ann.expect_error(ErrorCode::NotAllowed).await;

    // The host leaves: now Ann may.
    host.send(&ClientMessage::Leave).await;
    assert!(matches!(ann.recv().await, ServerMessage::PeerLeft { .. }));
    ann.send(&ClientMessage::AdmitAll).await;
    let bea_welcome = bea.expect_welcome(&room).await;
    assert_eq!(bea_welcome.peers.len(), 1);
}

#[tokio::test]
async fn a_removed_person_is_out_and_must_ask_to_come_back() {
    let server = TestServer::fresh().await;
    let (room, host_cookie) = server.create_meeting("Open house", false).await;
    let mut host = server.connect_with_cookie(&host_cookie).await;
    host.join(&room, "Hana").await;
    let mut eve = server
        .connect_with_cookie("parley_browser=eves-browser")
        .await;
    let eve_welcome = eve.join(&room, "Eve").await;
    host.recv().await;

    host.send(&ClientMessage::Remove {
        id: eve_welcome.you,
    })
    .await;
    assert_eq!(
        eve.recv().await,
        ServerMessage::Dismissed {
            reason: Dismissal::Removed,
            by: Some("Hana".into())
        }
    );
    assert_eq!(eve.expect_close().await, Some(CloseCode::Normal));
    assert_eq!(
        host.recv().await,
        ServerMessage::PeerLeft {
            id: eve_welcome.you,
            reason: LeaveReason::Removed
        }
    );
    // Her token no longer works.
    let mut eve = server
        .connect_with_cookie("parley_browser=eves-browser")
        .await;
    assert!(matches!(
        eve.resume(&room, &eve_welcome.token, 0, "Eve").await,
        ServerMessage::Error {
            code: ErrorCode::ResumeRefused,
            ..
        }
    ));
    // Opening the link again from her browser, she asks, though the meeting is open.
    eve.knock(&room, "Eve").await;
    assert!(matches!(host.recv().await, ServerMessage::Knocking { .. }));
    // Someone else's browser walks in.
    let mut fay = server
        .connect_with_cookie("parley_browser=fays-browser")
        .await;
    fay.join(&room, "Fay").await;
    // A signal to Eve's old id reaches nobody.
    fay.send(&ClientMessage::Signal {
        to: eve_welcome.you,
        epoch: Default::default(),
        signal: app::protocol::Signal::Rebuild,
    })
    .await;
    fay.expect_error(ErrorCode::UnknownPeer).await;
}

#[tokio::test]
async fn turning_someone_off_only_they_can_turn_back_on() {
    let server = TestServer::fresh().await;
    let (room, host_cookie) = server.create_meeting("Lecture", false).await;
    let mut host = server.connect_with_cookie(&host_cookie).await;
    let host_id = host.join(&room, "Hana").await.you;
    let mut sam = server.connect().await;
    let sam_id = sam.join(&room, "Sam").await.you;
    host.recv().await;
    let mut tom = server.connect().await;
    tom.join(&room, "Tom").await;
    host.recv().await;
    sam.recv().await;

    host.send(&ClientMessage::TurnOff {
        id: sam_id,
        microphone: true,
        camera: false,
    })
    .await;
    assert_eq!(
        sam.recv().await,
        ServerMessage::TurnedOff {
            by: host_id,
            microphone: true,
            camera: false
        }
    );
    match tom.recv().await {
        ServerMessage::Media { from, media } => {
            assert_eq!(from, sam_id);
            assert!(!media.audio && media.video);
        }
        other => panic!("expected Sam's media, got {other:?}"),
    }
    // There is no message to turn someone else's microphone on; Tom's attempts fail.
    tom.send_json(json!({"type": "turn_on", "id": sam_id.0, "microphone": true}))
        .await;
    tom.expect_error(ErrorCode::BadMessage).await;
    tom.send(&ClientMessage::TurnOff {
        id: host_id,
        microphone: true,
        camera: true,
    })
    .await;
    tom.expect_error(ErrorCode::NotAllowed).await;
    sam.expect_silence(QUIET).await;

    // Mute everyone: Tom (microphone on) is turned off; Sam's was off already.
    host.send(&ClientMessage::MuteEveryone).await;
    assert!(matches!(
        tom.recv().await,
        ServerMessage::TurnedOff {
            microphone: true,
            ..
        }
    ));
    assert!(matches!(sam.recv().await, ServerMessage::Media { from, .. } if from != sam_id));
}

#[tokio::test]
async fn co_hosts_act_on_participants_but_not_on_hosts() {
    let server = TestServer::fresh().await;
    let (room, host_cookie) = server.create_meeting("Team", false).await;
    let mut host = server.connect_with_cookie(&host_cookie).await;
    let host_id = host.join(&room, "Hana").await.you;
    let mut cody = server.connect().await;
    let cody_id = cody.join(&room, "Cody").await.you;
    host.recv().await;
    let mut pat = server.connect().await;
    let pat_id = pat.join(&room, "Pat").await.you;
    host.recv().await;
    cody.recv().await;

    host.send(&ClientMessage::SetRole {
        id: cody_id,
        role: Role::CoHost,
    })
    .await;
    for client in [&mut host, &mut cody, &mut pat] {
        assert_eq!(
            client.recv().await,
            ServerMessage::RoleChanged {
                id: cody_id,
                role: Role::CoHost
            }
        );
    }
    cody.send(&ClientMessage::TurnOff {
        id: host_id,
        microphone: true,
        camera: false,
    })
    .await;
    cody.expect_error(ErrorCode::NotAllowed).await;
    cody.send(&ClientMessage::SetRole {
        id: pat_id,
        role: Role::CoHost,
    })
    .await;
    cody.expect_error(ErrorCode::NotAllowed).await;
    cody.send(&ClientMessage::Remove { id: pat_id }).await;
    assert!(matches!(
        pat.recv().await,
        ServerMessage::Dismissed {
            reason: Dismissal::Removed,
            ..
        }
    ));
}

#[tokio::test]
async fn ending_the_meeting_dismisses_everyone_and_everyone_waiting() {
    let server = TestServer::fresh().await;
    let (room, host_cookie) = server.create_meeting("Town hall", true).await;
    let mut host = server.connect_with_cookie(&host_cookie).await;
    host.join(&room, "Hana").await;
    let mut ann = server.connect().await;
    let ann_id = ann.knock(&room, "Ann").await;
    host.recv().await;
    host.send(&ClientMessage::Admit { id: ann_id }).await;
    ann.expect_welcome(&room).await;
    let mut wes = server.connect().await;
    wes.knock(&room, "Wes").await;

    host.send(&ClientMessage::EndMeeting).await;
    for client in [&mut host, &mut ann, &mut wes] {
        loop {
            match client.recv().await {
                ServerMessage::Dismissed { reason, by } => {
                    assert_eq!(reason, Dismissal::MeetingEnded);
                    assert_eq!(by.as_deref(), Some("Hana"));
                    break;
                }
                ServerMessage::Knocking { .. }
                | ServerMessage::KnockEnded { .. }
                | ServerMessage::PeerJoined { .. } => continue,
                other => panic!("expected the end, got {other:?}"),
            }
        }
        assert_eq!(client.expect_close().await, Some(CloseCode::Normal));
    }
}

#[tokio::test]
async fn locked_chat_and_presenting_are_for_hosts_only() {
    let server = TestServer::fresh().await;
    let (room, host_cookie) = server.create_meeting("Webinar", false).await;
    let mut host = server.connect_with_cookie(&host_cookie).await;
    let host_id = host.join(&room, "Hana").await.you;
    let mut pia = server.connect().await;
    pia.join(&room, "Pia").await;
    host.recv().await;
    let locked = MeetingSettings {
        access: Access::Open,
        everyone_may_present: false,
        everyone_may_chat: false,
    };
    host.send(&ClientMessage::ChangeSettings { settings: locked })
        .await;
    let changed = ServerMessage::SettingsChanged {
        settings: locked,
        by: host_id,
    };
    assert_eq!(host.recv().await, changed);
    assert_eq!(pia.recv().await, changed);

    pia.send(&ClientMessage::Chat { text: "hi".into() }).await;
    pia.expect_error(ErrorCode::NotAllowed).await;
    let presenting = app::protocol::MediaState {
        audio: true,
        video: true,
        screen: StreamId::new("screen-1"),
    };
    pia.send(&ClientMessage::Media {
        media: presenting.clone(),
    })
    .await;
    pia.expect_error(ErrorCode::NotAllowed).await;
    host.expect_silence(QUIET).await;
    // The host may.
    host.send(&ClientMessage::Media { media: presenting }).await;
    assert!(matches!(pia.recv().await, ServerMessage::Media { .. }));
    host.send(&ClientMessage::Chat {
        text: "welcome".into(),
    })
    .await;
    assert!(matches!(pia.recv().await, ServerMessage::Chat { .. }));
    // Kept with the meeting: a newcomer is told.
    let mut late = server.connect().await;
    assert_eq!(late.join(&room, "Lee").await.settings, locked);
}

#[tokio::test]
async fn knocks_are_bounded_and_names_in_them_checked() {
    let server = TestServer::fresh_tuned(|config| {
        config.signaling.max_waiting_per_meeting = 3;
        config.signaling.max_knocks_per_minute = 5;
    })
    .await;
    let (room, host_cookie) = server.create_meeting("Busy", true).await;
    let mut host = server.connect_with_cookie(&host_cookie).await;
    host.join(&room, "Hana").await;

    // A name of 10 KB is refused; one full of markup is passed on as the text it is.
    let mut long = server.connect().await;
    long.send_json(json!({"type": "join", "version": 5, "room": room, "name": "n".repeat(10_000)}))
        .await;
    long.expect_error(ErrorCode::BadName).await;
    let markup = "<img src=x onerror=alert(1)>";
    let mut odd = server.connect().await;
    odd.knock(&room, markup).await;
    match host.recv().await {
        ServerMessage::Knocking { knock } => assert_eq!(knock.name, markup),
        other => panic!("expected a knock, got {other:?}"),
    }

    // The waiting room holds 3.
    let mut waiting = vec![odd];
    for n in 0..2 {
        let mut client = server.connect().await;
        client.knock(&room, &format!("W{n}")).await;
        waiting.push(client);
    }
    let mut fourth = server.connect().await;
    fourth.send_join(&room, "W3").await;
    fourth.expect_error(ErrorCode::WaitingRoomFull).await;
    // 5 knocks a minute from one address (four so far): the sixth is refused even
    // after someone left the waiting room.
    drop(waiting.pop());
    let mut fifth = server.connect().await;
    fifth.knock(&room, "W4").await;
    let mut sixth = server.connect().await;
    sixth.send_join(&room, "W5").await;
    sixth.expect_error(ErrorCode::RateLimited).await;
    // The host is unharmed.
    host.send(&ClientMessage::Ping { seen: 0 }).await;
    loop {
        match host.recv().await {
            ServerMessage::Pong => break,
            ServerMessage::Knocking { .. } | ServerMessage::KnockEnded { .. } => continue,
            other => panic!("{other:?}"),
        }
    }
}

/// A client that only knocks never gets in by sending host actions itself.
#[tokio::test]
async fn someone_waiting_cannot_act_or_admit_themselves() {
    let server = TestServer::fresh().await;
    let (room, host_cookie) = server.create_meeting("Closed", true).await;
    let mut host = server.connect_with_cookie(&host_cookie).await;
    host.join(&room, "Hana").await;
    let mut mal: Client = server.connect().await;
    let mal_id = mal.knock(&room, "Mal").await;
    host.recv().await;
    mal.send(&ClientMessage::Admit { id: mal_id }).await;
    mal.expect_error(ErrorCode::NotJoined).await;
    mal.send(&ClientMessage::EndMeeting).await;
    mal.expect_error(ErrorCode::NotJoined).await;
    mal.send_json(json!({"type": "join", "version": 5, "room": room, "name": "Mal"}))
        .await;
    mal.expect_error(ErrorCode::AlreadyJoined).await;
    host.expect_silence(QUIET).await;
}

/// The host cookie is Secure when the meeting is started from an https page.
#[tokio::test]
async fn the_host_cookie_is_secure_over_https() {
    let server = TestServer::fresh().await;
    let started = |origin: &'static str| {
        common::http()
            .post(server.url("/api/rooms/create"))
            .header("accept", "text/html")
            .header("origin", origin)
            .form(&[("name", "Secure")])
            .send()
    };
    let cookie = |response: reqwest::Response| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .find(|v| v.starts_with("parley_host_"))
            .expect("a host cookie")
    };
    let https = cookie(started("https://meet.example.com").await.unwrap());
    assert!(https.ends_with("; Secure"), "{https}");
    let http = cookie(started("http://127.0.0.1").await.unwrap());
    assert!(!http.contains("Secure"), "{http}");
}
