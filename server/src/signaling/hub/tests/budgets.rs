//! The byte budgets: per member, and for the whole server.

use super::*;

/// A room message of about `bytes` bytes.
fn sized(bytes: usize) -> ServerMessage {
    ServerMessage::error(app::protocol::ErrorCode::Internal, "x".repeat(bytes))
}

#[test]
fn a_member_who_acknowledges_nothing_is_dropped_when_its_budget_fills() {
    let hub = Hub::new(8, 1000).with_byte_budgets(10_000, HeldBytes::default());
    let (a_box, mut a_rx) = Outbox::new(64);
    let (b_box, mut b_rx) = hub.outbox(64);
    let room = hub.join(&code(), info(1, "a"), 1, a_box, welcome).unwrap();
    hub.join(&code(), info(2, "b"), 2, b_box, welcome).unwrap();
    // B reads everything but acknowledges nothing: what is kept for its resume grows
    // until, with the newest message also waiting in its queue (counted there too),
    // it passes 10 KB: eight kept, and the ninth kept and queued.
    let mut sent = 0;
    while b_rx.kick.borrow().is_none() {
        room.send_to(PeerId(2), &sized(1000));
        drain(&mut b_rx);
        sent += 1;
        assert!(sent < 20, "never dropped");
    }
    assert_eq!(sent, 9);
    assert_eq!(*b_rx.kick.borrow(), Some(Kick::TooSlow));
    let to_a = drain(&mut a_rx);
    assert!(to_a.iter().any(|d| d.message
        == ServerMessage::PeerLeft {
            id: PeerId(2),
            reason: LeaveReason::Dropped
        }));
    room.acknowledge(PeerId(1), to_a.iter().filter_map(|d| d.seq).max().unwrap());
    assert_eq!(hub.held().get(), 0, "what was kept for B is let go of");
}

#[test]
fn a_member_who_acknowledges_stays_however_much_comes() {
    let hub = Hub::new(8, 1000).with_byte_budgets(10_000, HeldBytes::default());
    let (b_box, mut b_rx) = hub.outbox(64);
    let room = hub.join(&code(), info(2, "b"), 2, b_box, welcome).unwrap();
    for _ in 0..100 {
        room.send_to(PeerId(2), &sized(1000));
        let seen = drain(&mut b_rx).last().and_then(|d| d.seq).unwrap();
        room.acknowledge(PeerId(2), seen);
    }
    assert_eq!(*b_rx.kick.borrow(), None);
    assert_eq!(hub.held().get(), 0);
}

#[test]
fn past_the_server_budget_joins_are_refused_and_the_largest_holder_is_shed() {
    let held = HeldBytes::with_budget(20_000);
    let hub = Hub::new(8, 1000).with_byte_budgets(1_000_000, held.clone());
    let (a_box, mut a_rx) = hub.outbox(64);
    let (b_box, mut b_rx) = hub.outbox(64);
    let (c_box, mut c_rx) = hub.outbox(64);
    let room = hub.join(&code(), info(1, "a"), 1, a_box, welcome).unwrap();
    hub.join(&code(), info(2, "b"), 2, b_box, welcome).unwrap();
    hub.join(&code(), info(3, "c"), 3, c_box, welcome).unwrap();
    // B holds 16 KB, C 2 KB: past three quarters of 20 KB.
    for (to, count) in [(2, 16), (3, 2)] {
        for _ in 0..count {
            room.send_to(PeerId(to), &sized(1000));
        }
    }
    drain(&mut b_rx);
    drain(&mut c_rx);
    assert!(held.refuses_joins() && !held.is_over());
    assert_eq!(hub.shed(), 0, "within the budget nobody goes");
    let refused = hub.join(&code(), info(4, "d"), 4, hub.outbox(8).0, welcome);
    assert_eq!(refused.err(), Some(JoinError::Busy));

    // Past it: B goes, C (who holds less) stays.
    for _ in 0..4 {
        room.send_to(PeerId(2), &sized(1000));
    }
    drain(&mut b_rx);
    assert!(held.is_over());
    assert_eq!(hub.shed(), 1);
    assert_eq!(*b_rx.kick.borrow(), Some(Kick::TooSlow));
    assert_eq!(*c_rx.kick.borrow(), None);
    assert!(!held.refuses_joins());
    let seen: Vec<ServerMessage> = drain(&mut a_rx).into_iter().map(|d| d.message).collect();
    assert!(seen.contains(&ServerMessage::PeerLeft {
        id: PeerId(2),
        reason: LeaveReason::Dropped
    }));
    hub.join(&code(), info(4, "d"), 4, hub.outbox(8).0, welcome)
        .expect("welcome again");
}

#[test]
fn queued_bytes_count_until_sent_and_a_full_queue_in_bytes_overflows() {
    let held = HeldBytes::default();
    let (outbox, mut receiver) = Outbox::bounded(100, 3000, held.clone());
    let frame = || axum::extract::ws::Utf8Bytes::from("y".repeat(1000));
    assert_eq!(outbox.send(frame()), QueueOutcome::Queued);
    assert_eq!(outbox.send(frame()), QueueOutcome::Queued);
    assert_eq!(outbox.send(frame()), QueueOutcome::Queued);
    assert_eq!(
        outbox.send(frame()),
        QueueOutcome::Overflow,
        "3000 bytes at most"
    );
    assert_eq!((outbox.queued_bytes(), held.get()), (3000, 3000));
    receiver.try_recv().unwrap();
    assert_eq!((outbox.queued_bytes(), held.get()), (2000, 2000));
    drop(receiver);
    assert_eq!(held.get(), 0, "what was never sent is let go of");
}
