//! The lifecycle table of DESIGN §1, row by row, through the library's arrival path and actions.

use tix::desk::{Ctx, Desk, Settings};
use tix::domain::{ChannelKind, Direction, Inbound, MessageKind, Status};
use tix::store::{Store, TicketFilter};

const HOUR: i64 = 3_600_000;
const T0: i64 = 1_763_600_000_000;

fn desk() -> Desk {
    Desk::new(Store::open_in_memory().unwrap(), Settings::default())
}

fn msg(from: &str, id: &str, at: i64) -> Inbound {
    Inbound {
        channel: ChannelKind::Line,
        account: None,
        customer_id: from.into(),
        display_name: Some(format!("Customer {from}")),
        message_id: id.into(),
        kind: MessageKind::Text,
        text: format!("hello {id}"),
        sent_at: at,
        direction: Direction::In,
        agent: None,
    }
}

fn alice(at: i64) -> Ctx {
    Ctx {
        agent: "alice".into(),
        at,
    }
}

fn tickets(d: &Desk) -> Vec<(i64, Status, i64)> {
    let mut all = d
        .read()
        .list_tickets(&TicketFilter::default())
        .unwrap()
        .into_iter()
        .map(|t| (t.number, t.status, t.messages))
        .collect::<Vec<_>>();
    all.sort_by_key(|t| t.0);
    all
}

fn sound(d: &Desk) {
    assert_eq!(
        d.read().invariant_violations().unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn first_message_opens_a_new_unassigned_ticket() {
    let mut d = desk();
    let r = d.ingest(&[msg("U1", "m1", T0)]).unwrap();
    assert_eq!((r.new, r.tickets_created), (1, 1));
    let t = d.read().ticket(1).unwrap().unwrap();
    assert_eq!(t.lifecycle.status, Status::Open);
    assert_eq!(t.assignment.agent, None);
    sound(&d);
}

#[test]
fn message_to_open_ticket_is_appended() {
    let mut d = desk();
    d.ingest(&[msg("U1", "m1", T0), msg("U1", "m2", T0 + 1000)])
        .unwrap();
    d.ingest(&[msg("U1", "m3", T0 + 2000)]).unwrap();
    assert_eq!(tickets(&d), vec![(1, Status::Open, 3)]);
    sound(&d);
}

#[test]
fn message_within_reopen_window_reopens_same_ticket() {
    let mut d = desk();
    d.ingest(&[msg("U1", "m1", T0)]).unwrap();
    d.assign(&alice(T0 + 1), &[1], Some("alice"), None).unwrap();
    d.close(&alice(T0 + HOUR), &[1]).unwrap();
    let r = d.ingest(&[msg("U1", "m2", T0 + 20 * HOUR)]).unwrap();
    assert_eq!(r.tickets_reopened, 1);
    let t = d.read().ticket(1).unwrap().unwrap();
    assert_eq!(t.lifecycle.status, Status::Open);
    assert_eq!(t.lifecycle.reopen_count, 1);
    assert_eq!(t.assignment.agent.as_deref(), Some("alice"));
    sound(&d);
}

#[test]
fn message_after_reopen_window_starts_a_new_ticket() {
    let mut d = desk();
    d.ingest(&[msg("U1", "m1", T0)]).unwrap();
    d.close(&alice(T0 + HOUR), &[1]).unwrap();
    d.ingest(&[msg("U1", "m2", T0 + 26 * HOUR)]).unwrap();
    assert_eq!(
        tickets(&d),
        vec![(1, Status::Closed, 1), (2, Status::Open, 1)]
    );
    sound(&d);
}

#[test]
fn reopen_window_off_always_starts_a_new_ticket() {
    let mut d = Desk::new(
        Store::open_in_memory().unwrap(),
        Settings {
            reopen_window: None,
            ..Settings::default()
        },
    );
    d.ingest(&[msg("U1", "m1", T0)]).unwrap();
    d.close(&alice(T0 + HOUR), &[1]).unwrap();
    d.ingest(&[msg("U1", "m2", T0 + HOUR + 1)]).unwrap();
    assert_eq!(tickets(&d).len(), 2);
    sound(&d);
}

#[test]
fn spam_is_sticky_until_not_spam() {
    let mut d = desk();
    d.ingest(&[msg("U9", "s1", T0)]).unwrap();
    d.mark_spam(&alice(T0 + 1), &[1]).unwrap();
    let r = d.ingest(&[msg("U9", "s2", T0 + 30 * HOUR)]).unwrap();
    assert_eq!((r.to_spam, r.tickets_created), (1, 0));
    assert_eq!(tickets(&d), vec![(1, Status::Spam, 2)]);
    d.not_spam(&alice(T0 + 31 * HOUR), &[1]).unwrap();
    assert_eq!(tickets(&d), vec![(1, Status::Open, 2)]);
    sound(&d);
}

#[test]
fn reimporting_the_same_messages_adds_nothing() {
    let mut d = desk();
    let batch = [
        msg("U1", "m1", T0),
        msg("U1", "m1", T0),
        msg("U2", "m2", T0),
    ];
    let r = d.ingest(&batch).unwrap();
    assert_eq!((r.new, r.duplicates), (2, 1));
    let r = d.ingest(&batch).unwrap();
    assert_eq!((r.new, r.duplicates), (0, 3));
    sound(&d);
}

#[test]
fn undo_and_redo_a_bulk_close() {
    let mut d = desk();
    d.ingest(&[msg("U1", "m1", T0), msg("U2", "m2", T0)])
        .unwrap();
    d.close(&alice(T0 + 1), &[1, 2]).unwrap();
    let done = d.undo(&alice(T0 + 2)).unwrap();
    assert_eq!(done.changed, vec![1, 2]);
    assert_eq!(
        tickets(&d),
        vec![(1, Status::Open, 1), (2, Status::Open, 1)]
    );
    d.redo(&alice(T0 + 3)).unwrap();
    assert_eq!(
        tickets(&d),
        vec![(1, Status::Closed, 1), (2, Status::Closed, 1)]
    );
    sound(&d);
}

#[test]
fn undoing_a_close_is_refused_when_the_conversation_has_another_open_ticket() {
    let mut d = desk();
    d.ingest(&[msg("U1", "m1", T0)]).unwrap();
    d.close(&alice(T0 + 1), &[1]).unwrap();
    d.ingest(&[msg("U1", "m2", T0 + 48 * HOUR)]).unwrap();
    let err = d.undo(&alice(T0 + 49 * HOUR)).unwrap_err().to_string();
    assert!(err.contains("already has open ticket #2"), "{err}");
    sound(&d);
}

#[test]
fn a_stored_message_id_from_a_new_customer_id_creates_no_contact() {
    let mut d = desk();
    d.ingest(&[msg("U1", "m1", T0)]).unwrap();
    let r = d.ingest(&[msg("U2", "m1", T0 + 1)]).unwrap();
    assert_eq!((r.new, r.duplicates), (0, 1));
    assert_eq!(d.read().totals().unwrap().contacts, 1);
    sound(&d);
}

#[test]
fn messenger_and_instagram_replies_only_within_a_day_of_the_customers_last_message() {
    const HOUR: i64 = 3_600_000;
    for channel in [
        ChannelKind::Messenger,
        ChannelKind::Instagram,
        ChannelKind::Line,
    ] {
        let mut d = desk();
        let mut m = msg("U1", "m1", 0);
        m.channel = channel;
        d.ingest(&[m]).unwrap();
        d.reply(&alice(23 * HOUR), 1, "still in time").unwrap();
        let late = d.reply(&alice(25 * HOUR), 1, "too late?");
        if channel == ChannelKind::Line {
            late.unwrap();
        } else {
            let why = late.unwrap_err().to_string();
            assert!(
                why.contains("within 24 hours") && why.contains("1d ago"),
                "{channel:?}: {why}"
            );
        }
        // The customer writing again opens the window again.
        let mut again = msg("U1", "m2", 30 * HOUR);
        again.channel = channel;
        d.ingest(&[again]).unwrap();
        d.reply(&alice(31 * HOUR), 1, "back in time").unwrap();
        sound(&d);
    }
}
