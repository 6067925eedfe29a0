//! The hub's session rules, without any socket.

use super::room::numbered;
use super::*;
use app::protocol::{Delivery, HandPlace, MediaState};

fn code() -> RoomCode {
    RoomCode::parse("abc-defg-hij").unwrap()
}

fn info(id: u64, name: &str) -> PeerInfo {
    PeerInfo {
        id: PeerId(id),
        name: name.into(),
        media: MediaState::default(),
        hand: None,
        role: Default::default(),
    }
}

fn welcome(_present: Present) -> ServerMessage {
    ServerMessage::Pong
}

fn resumed(present: Present, complete: bool) -> ServerMessage {
    ServerMessage::error(
        app::protocol::ErrorCode::Internal,
        format!("resumed peers={} complete={complete}", present.peers.len()),
    )
}

fn drain(rx: &mut OutboxReceiver) -> Vec<Delivery> {
    let mut out = Vec::new();
    while let Some(frame) = rx.try_recv() {
        out.push(Delivery::from_json(frame.as_str()).unwrap());
    }
    out
}

fn signal(n: u32) -> ServerMessage {
    ServerMessage::PeerLeft {
        id: PeerId(1000 + u64::from(n)),
        reason: LeaveReason::Left,
    }
}

#[test]
fn a_slow_reader_is_dropped_and_the_room_told() {
    let hub = Hub::new(8, 64);
    let (fast_box, mut fast_rx) = Outbox::new(64);
    let (slow_box, slow_rx) = Outbox::new(2);
    let room = hub
        .join(&code(), info(1, "fast"), 1, fast_box, welcome)
        .unwrap();
    hub.join(&code(), info(2, "slow"), 2, slow_box, welcome)
        .unwrap();
    // The slow one's queue holds its welcome; two more messages overflow it.
    for n in 0..2 {
        room.send_to(PeerId(2), &signal(n));
    }
    assert_eq!(*slow_rx.kick.borrow(), Some(Kick::TooSlow));
    let seen: Vec<ServerMessage> = drain(&mut fast_rx).into_iter().map(|d| d.message).collect();
    assert!(seen.contains(&ServerMessage::PeerLeft {
        id: PeerId(2),
        reason: LeaveReason::Dropped
    }));
    assert!(room.send_to(PeerId(2), &signal(9)).is_none());
    assert_eq!(hub.census(), (1, 1));
}

#[test]
fn rooms_are_forgotten_when_empty_and_capped_when_full() {
    let hub = Hub::new(2, 64);
    let room = hub
        .join(&code(), info(1, "a"), 1, Outbox::new(8).0, welcome)
        .unwrap();
    hub.join(&code(), info(2, "b"), 2, Outbox::new(8).0, welcome)
        .unwrap();
    assert_eq!(
        hub.join(&code(), info(3, "c"), 3, Outbox::new(8).0, welcome)
            .err(),
        Some(JoinError::Full(2))
    );
    hub.leave(&room, PeerId(1), 1, LeaveReason::Left);
    hub.leave(&room, PeerId(2), 2, LeaveReason::Left);
    hub.leave(&room, PeerId(2), 2, LeaveReason::Left);
    assert_eq!(hub.census(), (0, 0));
}

#[test]
fn a_resume_replays_what_was_missed_in_order_and_exactly_once() {
    let hub = Hub::new(8, 64);
    let (ada_box, mut ada_rx) = Outbox::new(64);
    let (bob_box, mut bob_rx) = Outbox::new(64);
    let room = hub
        .join(&code(), info(1, "Ada"), 1, ada_box, welcome)
        .unwrap();
    hub.join(&code(), info(2, "Bob"), 2, bob_box, welcome)
        .unwrap();
    drain(&mut ada_rx);
    room.send_to(PeerId(2), &signal(1));
    room.send_to(PeerId(2), &signal(2));
    let before = drain(&mut bob_rx);
    assert_eq!(
        before.iter().map(|d| d.seq).collect::<Vec<_>>(),
        [None, Some(1), Some(2)]
    );

    // Bob's connection drops after he handled message 1 (2 was lost on the way).
    assert!(hub.went_away(&room, PeerId(2), 2));
    assert!(room.is_away(PeerId(2)));
    assert_eq!(
        drain(&mut ada_rx)[0].message,
        ServerMessage::PeerReconnecting { id: PeerId(2) }
    );
    room.send_to(PeerId(2), &signal(3));

    let (new_box, mut new_rx) = Outbox::new(64);
    let comeback = Comeback {
        last_seen: 1,
        may_restore: false,
        transport: app::protocol::Transport::Mesh,
    };
    hub.resume(&code(), info(2, "Bob"), 3, new_box, comeback, resumed)
        .unwrap();
    let after = drain(&mut new_rx);
    assert_eq!(after[0].seq, None, "the reply first");
    assert!(
        matches!(&after[0].message, ServerMessage::Error { message, .. } if message == "resumed peers=1 complete=true")
    );
    assert_eq!(
        after[1..]
            .iter()
            .map(|d| (d.seq, d.message.clone()))
            .collect::<Vec<_>>(),
        [(Some(2), signal(2)), (Some(3), signal(3))]
    );
    assert!(matches!(
        drain(&mut ada_rx)[0].message,
        ServerMessage::PeerJoined { ref peer } if peer.id == PeerId(2)
    ));
    // The old connection's news no longer counts, and its timer finds nothing to end.
    assert!(!hub.went_away(&room, PeerId(2), 2));
    assert!(!hub.expire(&room, PeerId(2), 2));
    hub.leave(&room, PeerId(2), 2, LeaveReason::Left);
    assert_eq!(hub.census(), (1, 2));
}

#[test]
fn acknowledged_messages_are_forgotten() {
    let hub = Hub::new(8, 64);
    let (bob_box, _bob_rx) = Outbox::new(64);
    let room = hub
        .join(&code(), info(2, "Bob"), 2, bob_box, welcome)
        .unwrap();
    for n in 1..=3 {
        room.send_to(PeerId(2), &signal(n));
    }
    room.acknowledge(PeerId(2), 3);
    hub.went_away(&room, PeerId(2), 2);
    let (new_box, mut new_rx) = Outbox::new(64);
    let comeback = Comeback {
        last_seen: 3,
        may_restore: false,
        transport: app::protocol::Transport::Mesh,
    };
    hub.resume(&code(), info(2, "Bob"), 3, new_box, comeback, resumed)
        .unwrap();
    let after = drain(&mut new_rx);
    assert_eq!(after.len(), 1, "only the reply: {after:?}");
}

#[test]
fn an_absence_longer_than_the_bound_or_the_grace_is_a_leave() {
    let hub = Hub::new(8, 3);
    let (ada_box, mut ada_rx) = Outbox::new(64);
    let room = hub
        .join(&code(), info(1, "Ada"), 1, ada_box, welcome)
        .unwrap();
    hub.join(&code(), info(2, "Bob"), 2, Outbox::new(64).0, welcome)
        .unwrap();
    hub.join(&code(), info(3, "Cy"), 3, Outbox::new(64).0, welcome)
        .unwrap();
    hub.went_away(&room, PeerId(2), 2);
    hub.went_away(&room, PeerId(3), 3);
    drain(&mut ada_rx);
    // Bob misses more messages than are kept for him: he is gone.
    for n in 0..4 {
        room.send_to(PeerId(2), &signal(n));
    }
    // Cy does not come back within the grace period.
    assert!(hub.expire(&room, PeerId(3), 3));
    let seen: Vec<ServerMessage> = drain(&mut ada_rx).into_iter().map(|d| d.message).collect();
    assert_eq!(
        seen,
        [
            ServerMessage::PeerLeft {
                id: PeerId(2),
                reason: LeaveReason::Dropped
            },
            ServerMessage::PeerLeft {
                id: PeerId(3),
                reason: LeaveReason::TimedOut
            }
        ]
    );
    for id in [2, 3] {
        let comeback = Comeback {
            last_seen: 0,
            may_restore: false,
            transport: app::protocol::Transport::Mesh,
        };
        assert_eq!(
            hub.resume(
                &code(),
                info(id, "x"),
                9,
                Outbox::new(8).0,
                comeback,
                resumed
            )
            .err(),
            Some(JoinError::Ended)
        );
    }
}

#[test]
fn after_a_restart_a_session_is_restored_with_its_id() {
    let hub = Hub::new(8, 64);
    let (ada_box, mut ada_rx) = Outbox::new(64);
    hub.join(&code(), info(10, "Ada"), 1, ada_box, welcome)
        .unwrap();
    drain(&mut ada_rx);
    let (bob_box, mut bob_rx) = Outbox::new(64);
    let comeback = Comeback {
        last_seen: 57,
        may_restore: true,
        transport: app::protocol::Transport::Mesh,
    };
    hub.resume(&code(), info(7, "Bob"), 2, bob_box, comeback, resumed)
        .unwrap();
    assert!(
        matches!(&drain(&mut bob_rx)[0].message, ServerMessage::Error { message, .. } if message == "resumed peers=1 complete=false")
    );
    assert!(matches!(
        &drain(&mut ada_rx)[0].message,
        ServerMessage::PeerJoined { peer } if peer.id == PeerId(7)
    ));
}

#[test]
fn hands_queue_in_the_order_they_went_up_and_newcomers_see_them() {
    let hub = Hub::new(8, 64);
    let room = hub
        .join(&code(), info(1, "Ada"), 1, Outbox::new(8).0, welcome)
        .unwrap();
    hub.join(&code(), info(2, "Bob"), 2, Outbox::new(8).0, welcome)
        .unwrap();
    let bob = room.set_hand(PeerId(2), true).unwrap().unwrap();
    let ada = room.set_hand(PeerId(1), true).unwrap().unwrap();
    assert!(bob < ada, "Bob raised his hand first");
    // Raising a raised hand changes nothing; lowering does, once.
    assert_eq!(room.set_hand(PeerId(1), true), None);
    assert_eq!(room.set_hand(PeerId(2), false), Some(None));
    assert_eq!(room.set_hand(PeerId(2), false), None);
    assert_eq!(room.set_hand(PeerId(9), true), None, "not in the room");
    // Raised again, Bob goes to the back of the queue.
    let bob_again = room.set_hand(PeerId(2), true).unwrap().unwrap();
    assert!(bob_again > ada);

    let mut seen = None;
    hub.join(&code(), info(3, "Cleo"), 3, Outbox::new(8).0, |present| {
        seen = Some(present.peers);
        ServerMessage::Pong
    })
    .unwrap();
    let mut hands: Vec<(u64, Option<HandPlace>)> =
        seen.unwrap().iter().map(|p| (p.id.0, p.hand)).collect();
    hands.sort();
    assert_eq!(hands, vec![(1, Some(ada)), (2, Some(bob_again))]);
}

#[test]
fn a_message_numbered_while_encoding_is_the_same_as_numbered_after() {
    let message = ServerMessage::Signal {
        from: PeerId(7),
        epoch: app::protocol::Epoch(3),
        signal: app::protocol::Signal::Offer {
            sdp: "v=0\r\no=- \"quoted\" é\r\n".into(),
        },
    };
    for seq in [1, 42, u64::MAX] {
        let direct = encode_numbered(seq, &message);
        assert_eq!(direct, numbered(seq, &encode(&message)));
        let read = Delivery::from_json(direct.as_str()).unwrap();
        assert_eq!(read.seq, Some(seq));
        assert_eq!(read.message, message);
    }
}

mod budgets;

#[test]
fn a_meeting_through_the_server_comes_back_through_it_after_a_restart() {
    use app::protocol::Transport;
    // A restarted server: nobody in memory; the first back says how media went.
    for (before, limit, after) in [
        (Transport::Sfu, MeshLimit::AtMost(3), Transport::Sfu),
        (Transport::Mesh, MeshLimit::AtMost(3), Transport::Mesh),
        // No media port now: peer-to-peer whatever it was.
        (Transport::Sfu, MeshLimit::NoMediaPort, Transport::Mesh),
    ] {
        let hub = Hub::new(8, 64).with_mesh_limit(limit);
        let (outbox, _rx) = Outbox::new(64);
        let comeback = Comeback {
            last_seen: 7,
            may_restore: true,
            transport: before,
        };
        let seen = std::cell::Cell::new(None);
        let room = hub
            .resume(
                &code(),
                info(1, "Ada"),
                1,
                outbox,
                comeback,
                |present, _| {
                    seen.set(Some(present.transport));
                    ServerMessage::Pong
                },
            )
            .unwrap();
        assert_eq!(seen.get(), Some(after), "{before:?} with {limit:?}");
        assert_eq!(room.transport().current(), after);
        // The next one back finds it so, whatever they say.
        let (outbox, _rx) = Outbox::new(64);
        let comeback = Comeback {
            last_seen: 7,
            may_restore: true,
            transport: Transport::Mesh,
        };
        hub.resume(
            &code(),
            info(2, "Bob"),
            2,
            outbox,
            comeback,
            |present, _| {
                seen.set(Some(present.transport));
                ServerMessage::Pong
            },
        )
        .unwrap();
        assert_eq!(seen.get(), Some(after));
    }
}
