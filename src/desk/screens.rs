//! A batch's inbound messages read for the rules ([`Screen`]), handed out in order.
//!
//! Reading a message for the rules needs nothing but the message: the words the rules look for,
//! their regular expressions, its channel and kind. A large batch is therefore read on a second
//! thread while the arrival path stores its messages on the first, and the rules find each
//! message read by the time they come to it.

use std::sync::mpsc::{Receiver, channel};
use std::thread::Scope;

use crate::domain::{Direction, Inbound};
use crate::rules::Routing;
use crate::rules::eval::{Screen, screen};

/// From this many messages on, a batch is read on a second thread; a smaller one costs less
/// read here than a thread costs to start.
const ON_A_THREAD_FROM: usize = 512;

/// How many messages the reading thread hands over at a time.
const CHUNK: usize = 64;

pub(crate) struct Screens<'b> {
    routing: &'b Routing,
    batch: &'b [Inbound],
    /// By the message's place in the batch; `None` for a message the rules do not hear. Kept
    /// here for the whole batch, so the rules borrow them instead of sharing each one.
    read: Vec<Option<Screen>>,
    from_thread: Option<Receiver<Vec<Option<Screen>>>>,
}

impl<'b> Screens<'b> {
    /// Starts reading `batch`: on a thread of `scope` if it is large, else here as asked.
    pub(crate) fn new<'s>(
        routing: &'b Routing,
        batch: &'b [Inbound],
        scope: &'s Scope<'s, 'b>,
    ) -> Screens<'b> {
        let from_thread = (batch.len() >= ON_A_THREAD_FROM)
            .then(|| {
                let (send, receive) = channel();
                let reading = move || {
                    for chunk in batch.chunks(CHUNK) {
                        let chunk: Vec<_> = chunk.iter().map(|m| screen_of(routing, m)).collect();
                        // The arrival path is done (or stopped on an error): nobody wants the rest.
                        if send.send(chunk).is_err() {
                            break;
                        }
                    }
                };
                // No thread to be had: the batch is read here instead.
                let started = std::thread::Builder::new()
                    .name("tix-screens".into())
                    .spawn_scoped(scope, reading);
                started.is_ok().then_some(receive)
            })
            .flatten();
        Screens {
            routing,
            batch,
            read: Vec::with_capacity(batch.len()),
            from_thread,
        }
    }

    /// The batch's message at `index` read for the rules; `None` for an agent's message.
    pub(crate) fn get(&mut self, index: usize) -> Option<&Screen> {
        while self.read.len() <= index {
            match &self.from_thread {
                Some(chunks) => self.read.extend(
                    chunks
                        .recv()
                        .expect("the thread reading messages for the rules stopped"),
                ),
                None => {
                    let m = &self.batch[self.read.len()];
                    self.read.push(screen_of(self.routing, m));
                }
            }
        }
        self.read[index].as_ref()
    }
}

/// Rules hear customers' messages only.
fn screen_of(routing: &Routing, m: &Inbound) -> Option<Screen> {
    (m.direction == Direction::In)
        .then(|| screen(routing, m.channel, m.account_name(), &m.text, m.kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::domain::{ChannelKind, MessageKind};
    use crate::rules::eval::Verdict;
    use std::path::Path;

    fn routing() -> std::sync::Arc<Routing> {
        let toml = r#"
            labels = ["refund", "seen", "quiet"]
            [[rules]]
            name = "Refunds"
            on = ["ticket_created"]
            if = { text_contains_any = ["refund"] }
            then = [ { add_label = "refund" } ]
            [[rules]]
            name = "Everyone"
            on = ["ticket_created"]
            then = [ { add_label = "seen" } ]
            [[rules]]
            name = "Quiet ones"
            on = ["message_received"]
            if = { agent_replies = 0 }
            then = [ { add_label = "quiet" } ]
        "#;
        let config = Config::parse(toml, Path::new("screens.toml")).unwrap();
        config.settings().unwrap().routing.unwrap()
    }

    fn batch(n: usize) -> Vec<Inbound> {
        (0..n)
            .map(|i| Inbound {
                channel: ChannelKind::Line,
                account: None,
                customer_id: format!("U{i}"),
                display_name: None,
                message_id: format!("m{i}"),
                direction: if i % 3 == 2 {
                    Direction::Out
                } else {
                    Direction::In
                },
                agent: None,
                kind: MessageKind::Text,
                text: if i % 2 == 0 {
                    "a refund please"
                } else {
                    "hello"
                }
                .into(),
                sent_at: i as i64,
            })
            .collect()
    }

    /// The arrival path may skip ahead (duplicates, agents' messages) and may stop early (an
    /// error, or a batch of duplicates): neither loses its place or keeps the batch waiting.
    #[test]
    fn messages_can_be_asked_for_out_of_reach_and_the_rest_left_unread() {
        let routing = routing();
        let messages = batch(ON_A_THREAD_FROM * 4);
        std::thread::scope(|scope| {
            let mut screens = Screens::new(&routing, &messages, scope);
            assert!(screens.from_thread.is_some());
            let far = CHUNK * 3 + 7;
            let got = screens.get(far).expect("a customer's message");
            assert_eq!(got.found_words[..], [messages[far].text.contains("refund")]);
            let got: *const Screen = got;
            // Asked again, and an earlier one after a later one: the same reads.
            assert!(std::ptr::eq(got, screens.get(far).unwrap()));
            assert!(screens.get(3).is_some());
            // Dropped with most of the batch unread: the thread stops at its next chunk and the
            // scope ends.
            drop(screens);
        });
    }

    /// Read here or on a thread, each message is read the same, in its place.
    #[test]
    fn a_batch_read_on_a_thread_reads_as_one_read_here() {
        let routing = routing();
        for n in [3, ON_A_THREAD_FROM + CHUNK + 5] {
            let messages = batch(n);
            std::thread::scope(|scope| {
                let mut screens = Screens::new(&routing, &messages, scope);
                assert_eq!(screens.from_thread.is_some(), n >= ON_A_THREAD_FROM);
                for (i, m) in messages.iter().enumerate() {
                    let got = screens.get(i);
                    if m.direction == Direction::Out {
                        assert!(got.is_none(), "message {i} is an agent's");
                        continue;
                    }
                    let got = got.expect("a customer's message is read");
                    let refund = m.text.contains("refund");
                    assert_eq!(got.found_words[..], [refund], "message {i}");
                    let expected = [
                        if refund {
                            Verdict::Holds
                        } else {
                            Verdict::Fails
                        },
                        Verdict::Holds,
                        Verdict::Depends,
                    ];
                    assert_eq!(got.verdicts[..], expected, "message {i}");
                }
            });
        }
    }
}
