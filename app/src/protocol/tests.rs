//! The messages' shape on the wire, which the browser app and the server both rely on.

use super::*;
use serde_json::json;

#[test]
fn client_messages_have_a_stable_shape() {
    let join: ClientMessage = serde_json::from_value(json!({
        "type": "join", "version": 2, "room": "abc-defg-hij", "name": "Ada"
    }))
    .unwrap();
    assert_eq!(
        join,
        ClientMessage::Join {
            version: 2,
            room: RoomCode::parse("abc-defg-hij").unwrap(),
            name: "Ada".into(),
            media: MediaState::default(),
        }
    );
    let signal = ClientMessage::Signal {
        to: PeerId(7),
        epoch: Epoch(1),
        signal: Signal::Candidate {
            candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        },
    };
    assert_eq!(
        serde_json::to_value(&signal).unwrap(),
        json!({"type": "signal", "to": 7, "epoch": 1, "signal": {
            "kind": "candidate",
            "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host",
            "sdp_mid": "0", "sdp_m_line_index": 0
        }})
    );
}

#[test]
fn room_messages_carry_a_sequence_number_beside_the_type() {
    let delivery = Delivery {
        seq: Some(12),
        message: ServerMessage::PeerReconnecting { id: PeerId(4) },
    };
    let text = serde_json::to_string(&delivery).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        json!({"seq": 12, "type": "peer_reconnecting", "id": 4})
    );
    assert!(text.starts_with(r#"{"seq":12,"#), "{text}");
    assert_eq!(Delivery::from_json(&text).unwrap(), delivery);
    let reply = Delivery::from_json(r#"{"type":"pong"}"#).unwrap();
    assert_eq!(reply.seq, None);
    assert_eq!(reply.message, ServerMessage::Pong);
    // A numbered message with no fields of its own, and one whose number is not one.
    let numbered = Delivery::from_json(r#"{"seq":3,"type":"pong"}"#).unwrap();
    assert_eq!(
        (numbered.seq, numbered.message),
        (Some(3), ServerMessage::Pong)
    );
    assert!(Delivery::from_json(r#"{"seq":-1,"type":"pong"}"#).is_err());
    assert!(Delivery::from_json(r#"{"seq":99999999999999999999,"type":"pong"}"#).is_err());
    assert!(Delivery::from_json(r#"{"seq":4,"type":"no_such_message"}"#).is_err());
    // A signal without an epoch (an older sender) belongs to the first connection.
    let signal: ClientMessage =
        serde_json::from_str(r#"{"type":"signal","to":3,"signal":{"kind":"rebuild"}}"#).unwrap();
    assert_eq!(
        signal,
        ClientMessage::Signal {
            to: PeerId(3),
            epoch: Epoch(0),
            signal: Signal::Rebuild
        }
    );
}

#[test]
fn server_messages_have_a_stable_shape() {
    let left = ServerMessage::PeerLeft {
        id: PeerId(3),
        reason: LeaveReason::TimedOut,
    };
    assert_eq!(
        serde_json::to_value(&left).unwrap(),
        json!({"type": "peer_left", "id": 3, "reason": "timed_out"})
    );
    for reason in [
        LeaveReason::Left,
        LeaveReason::TimedOut,
        LeaveReason::Dropped,
    ] {
        assert_eq!(
            serde_json::to_value(reason).unwrap(),
            json!(reason.as_str())
        );
    }
    let error = ServerMessage::error(ErrorCode::RoomFull, "full");
    assert_eq!(
        serde_json::to_value(&error).unwrap(),
        json!({"type": "error", "code": "room_full", "message": "full"})
    );
}

#[test]
fn bad_input_is_refused_not_misread() {
    for bad in [
        r#"{"type":"join","version":1,"room":"NOT A CODE","name":"x"}"#,
        r#"{"type":"fly"}"#,
        r#"{"type":"signal","to":"me","signal":{"kind":"offer","sdp":""}}"#,
        r#"{"type":"signal","to":1,"from":2}"#,
        r#"[1,2,3]"#,
        "",
    ] {
        assert!(serde_json::from_str::<ClientMessage>(bad).is_err(), "{bad}");
    }
}

#[test]
fn display_names_are_checked() {
    assert_eq!(clean_display_name("  Ada "), Some("Ada".into()));
    assert_eq!(clean_display_name("A\u{7}da"), Some("Ada".into()));
    assert_eq!(clean_display_name("   "), None);
    assert_eq!(clean_display_name(&"é".repeat(40)), Some("é".repeat(40)));
    assert_eq!(clean_display_name(&"é".repeat(41)), None);
}

/// One of each kind of server message, with every optional field filled somewhere.
fn every_server_message() -> Vec<ServerMessage> {
    let ada = PeerInfo {
        id: PeerId(1),
        name: "Ada \"the first\"".into(),
        media: MediaState::default(),
        hand: Some(HandPlace(2)),
        role: Role::CoHost,
    };
    let ice_servers = vec![IceServer {
        urls: vec!["turn:127.0.0.1:3478".into()],
        username: Some("1700000000:1".into()),
        credential: Some("c2VjcmV0".into()),
    }];
    let limits = SessionLimits {
        messages_per_second: 50,
        resume_grace_ms: 30_000,
        video_upload_kbps: 2_500,
    };
    let chat = ChatMessage {
        id: 9,
        from: PeerId(1),
        name: "Ada".into(),
        text: "hello, {\"type\":\"pong\"}".into(),
        sent_at: 1_700_000_000_000,
    };
    vec![
        ServerMessage::Welcome {
            version: PROTOCOL_VERSION,
            you: PeerId(2),
            room: RoomCode::parse("abc-defg-hij").unwrap(),
            peers: vec![ada.clone()],
            ice_servers: ice_servers.clone(),
            ice_transport_policy: IceTransportPolicy::Relay,
            token: "token".into(),
            limits,
            role: Role::Host,
            settings: MeetingSettings {
                access: Access::AskToJoin,
                everyone_may_present: false,
                everyone_may_chat: true,
            },
            waiting: vec![Knock {
                id: PeerId(5),
                name: "<b>Eve</b>".into(),
            }],
            transport: Transport::Sfu,
        },
        ServerMessage::Resumed {
            you: PeerId(2),
            peers: vec![],
            ice_servers,
            ice_transport_policy: IceTransportPolicy::All,
            token: "token".into(),
            limits,
            complete: true,
            role: Role::Participant,
            settings: MeetingSettings::default(),
            waiting: vec![],
            transport: Transport::Mesh,
        },
        ServerMessage::Waiting { id: PeerId(5) },
        ServerMessage::Knocking {
            knock: Knock {
                id: PeerId(5),
                name: "Eve".into(),
            },
        },
        ServerMessage::KnockEnded {
            id: PeerId(5),
            outcome: KnockOutcome::Admitted,
            by: Some(PeerId(1)),
        },
        ServerMessage::KnockEnded {
            id: PeerId(6),
            outcome: KnockOutcome::Cancelled,
            by: None,
        },
        ServerMessage::Dismissed {
            reason: Dismissal::Removed,
            by: Some("Ada".into()),
        },
        ServerMessage::RoleChanged {
            id: PeerId(2),
            role: Role::CoHost,
        },
        ServerMessage::TurnedOff {
            by: PeerId(1),
            microphone: true,
            camera: false,
        },
        ServerMessage::SettingsChanged {
            settings: MeetingSettings::default(),
            by: PeerId(1),
        },
        ServerMessage::SfuAnswer {
            sdp: "v=0\r\n".into(),
        },
        ServerMessage::SfuOffer {
            sdp: "v=0\r\n".into(),
        },
        ServerMessage::PeerJoined { peer: ada },
        ServerMessage::PeerReconnecting { id: PeerId(1) },
        ServerMessage::PeerLeft {
            id: PeerId(1),
            reason: LeaveReason::Dropped,
        },
        ServerMessage::Signal {
            from: PeerId(1),
            epoch: Epoch(3),
            signal: Signal::Candidate {
                candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
                sdp_mid: Some("0".into()),
                sdp_m_line_index: Some(0),
            },
        },
        ServerMessage::Signal {
            from: PeerId(1),
            epoch: Epoch(0),
            signal: Signal::Offer { sdp: "v=0".into() },
        },
        ServerMessage::Media {
            from: PeerId(1),
            media: MediaState {
                audio: false,
                video: true,
                screen: None,
            },
        },
        ServerMessage::Hand {
            from: PeerId(1),
            hand: None,
        },
        ServerMessage::Chat {
            message: chat.clone(),
        },
        ServerMessage::ChatHistory {
            messages: vec![chat],
        },
        ServerMessage::Pong,
        ServerMessage::error(ErrorCode::ResumeRefused, "expired"),
    ]
}

#[test]
fn every_server_message_reads_back_as_written() {
    for (seq, message) in every_server_message().into_iter().enumerate() {
        let delivery = Delivery {
            seq: Some(seq as u64),
            message,
        };
        let text = serde_json::to_string(&delivery).unwrap();
        assert_eq!(Delivery::from_json(&text).unwrap(), delivery, "{text}");
        let text = serde_json::to_string(&delivery.message).unwrap();
        assert_eq!(
            serde_json::from_str::<ServerMessage>(&text).unwrap(),
            delivery.message,
            "{text}"
        );
    }
}

#[test]
fn server_messages_are_read_by_the_type_written_first() {
    // Fields the message does not have are passed over, before the type and after it.
    let left: ServerMessage = serde_json::from_str(
        r#"{"seq":1,"later":true,"type":"peer_left","id":3,"reason":"left","extra":[{}]}"#,
    )
    .unwrap();
    assert_eq!(
        left,
        ServerMessage::PeerLeft {
            id: PeerId(3),
            reason: LeaveReason::Left
        }
    );
    let pong: ServerMessage = serde_json::from_str(r#"{"type":"pong","extra":{"a":1}}"#).unwrap();
    assert_eq!(pong, ServerMessage::Pong);
    for bad in [
        // A field the message needs before its type: the server never writes that.
        r#"{"id":3,"type":"peer_reconnecting"}"#,
        r#"{"id":3}"#,
        r#"{"type":"no_such_message"}"#,
        r#"{"type":7}"#,
        r#"{"type":"peer_left","id":"three","reason":"left"}"#,
        r#"{"type":"peer_left","id":3,"reason":"left""#,
        r#"["pong"]"#,
        r#""pong""#,
    ] {
        assert!(serde_json::from_str::<ServerMessage>(bad).is_err(), "{bad}");
    }
}
