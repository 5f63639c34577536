//! The inbox's writer: every change the agent asks for runs here, on its own thread and its own
//! connection, so the drawing loop never waits on a write (or on another process holding the
//! write lock).

use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use crate::desk::{Ctx, Desk, DeskError, Done, Seen};
use crate::domain::{Millis, TicketNumber};

/// A change to make, as the agent asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    Act {
        what: Act,
        tickets: Vec<TicketNumber>,
        /// The tickets as the agent saw them: the action is refused for any that moved on.
        seen: Vec<Seen>,
    },
    Note {
        ticket: TicketNumber,
        text: String,
    },
    Reply {
        ticket: TicketNumber,
        text: String,
    },
    Undo,
    Redo,
    MarkRead(TicketNumber),
    /// Run the config's timers: idle and unassigned_for rules, auto-close, backlog hand-over.
    Timers,
    /// Answer a public comment privately, in the commenter's conversation.
    ReplyComment {
        comment: i64,
        text: String,
    },
    /// Turn a review into a ticket in the reviewer's conversation.
    ConvertReview(i64),
}

/// The agent actions that work on one or many tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    Assign {
        agent: Option<String>,
        team: Option<String>,
    },
    Take,
    Unassign,
    Close,
    Reopen,
    Spam,
    NotSpam,
    FollowUp(bool),
    Label {
        label: String,
        add: bool,
    },
    Field {
        name: String,
        value: String,
    },
}

/// What became of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub job: Job,
    pub result: Result<Done, String>,
}

impl Outcome {
    /// Whether the job changed nothing the screen shows (reading a thread).
    pub fn is_quiet(&self) -> bool {
        matches!(self.job, Job::MarkRead(_) | Job::Timers)
    }
}

/// Runs one job on the desk as `agent` at `at`. Refusals and failures both come back as text
/// for the status line: the inbox keeps running either way.
pub fn perform(desk: &mut Desk, agent: &str, at: Millis, job: Job) -> Outcome {
    let ctx = Ctx {
        agent: agent.to_string(),
        at,
    };
    let result = match &job {
        Job::Act {
            what,
            tickets,
            seen,
        } => {
            desk.as_seen(seen.clone());
            match what {
                Act::Assign { agent, team } => {
                    desk.assign(&ctx, tickets, agent.as_deref(), team.as_deref())
                }
                Act::Take => desk.take(&ctx, tickets),
                Act::Unassign => desk.unassign(&ctx, tickets),
                Act::Close => desk.close(&ctx, tickets),
                Act::Reopen => desk.reopen(&ctx, tickets),
                Act::Spam => desk.mark_spam(&ctx, tickets),
                Act::NotSpam => desk.not_spam(&ctx, tickets),
                Act::FollowUp(on) => desk.follow_up(&ctx, tickets, *on),
                Act::Label { label, add } => desk.label(&ctx, tickets, label, *add),
                Act::Field { name, value } => desk.set_field(&ctx, tickets, name, value),
            }
        }
        Job::Note { ticket, text } => desk.note(&ctx, *ticket, text),
        Job::Reply { ticket, text } => desk.reply(&ctx, *ticket, text),
        Job::Undo => desk.undo(&ctx),
        Job::Redo => desk.redo(&ctx),
        Job::ReplyComment { comment, text } => desk.reply_privately(&ctx, *comment, text),
        Job::ConvertReview(review) => desk.convert_review(&ctx, *review),
        Job::Timers => desk.tick(at).map(|r| Done {
            summary: format!(
                "timers: {} rules fired, {} auto-closed, {} handed out",
                r.fired, r.auto_closed, r.handed
            ),
            changed: Vec::new(),
            skipped: Vec::new(),
            undoable: false,
        }),
        Job::MarkRead(ticket) => desk.mark_read(*ticket).map(|()| Done {
            summary: String::new(),
            changed: vec![*ticket],
            skipped: Vec::new(),
            undoable: false,
        }),
    };
    let result = result.map_err(|e| match e {
        DeskError::Refused(why) => why,
        other => format!("could not save: {other}"),
    });
    Outcome { job, result }
}

/// The writer thread and the two ends of its queue.
pub struct Worker {
    pub jobs: Sender<Job>,
    pub outcomes: Receiver<Outcome>,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the writer on its own desk. `clock` gives the time each job is stamped with.
    pub fn spawn(mut desk: Desk, agent: String, clock: fn() -> Millis) -> Worker {
        let (jobs, inbox) = channel::<Job>();
        let (done, outcomes) = channel();
        let handle = std::thread::Builder::new()
            .name("tix-writer".into())
            .spawn(move || {
                for job in inbox {
                    let outcome = perform(&mut desk, &agent, clock(), job);
                    if done.send(outcome).is_err() {
                        break;
                    }
                }
            })
            .expect("the writer thread starts");
        Worker {
            jobs,
            outcomes,
            handle: Some(handle),
        }
    }

    /// Waits for the jobs already sent to finish, so nothing the agent did is lost on quit.
    pub fn finish(mut self) {
        let Worker { jobs, handle, .. } = &mut self;
        drop(std::mem::replace(jobs, channel().0));
        if let Some(h) = handle.take() {
            let _ = h.join();
        }
    }
}
