//! Who gets a ticket: eligibility and the assignment strategies.
//!
//! Eligible means not away, inside working hours (on the agent's own clock), with access to the
//! ticket's channel and under capacity. Each agent passed over gets a reason, so a ticket left in
//! the team queue always says why.

use std::collections::{BTreeSet, HashMap};

use super::{Agent, Hours, Routing, Strategy};
use crate::domain::{ChannelKind, ContactId, Millis, TicketNumber};
use crate::store::{Result, Sql};

/// Open-ticket counts and rotation pointers for the rules of one transaction, read on first use
/// and kept up to date in memory as rules assign and close (a batch's segments share one, so
/// the counts are read once per batch); pointers are written back by [`Pool::save`].
#[derive(Debug, Default)]
pub struct Pool {
    open: Option<HashMap<String, i64>>,
    pointers: Option<HashMap<String, String>>,
    moved: BTreeSet<String>,
}

/// Why an agent cannot take a ticket now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ineligible<'a> {
    Away,
    /// Their hours and the time asked about, explained only if shown.
    OffShift(&'a Hours, Millis),
    NoAccess(ChannelKind),
    Full {
        open: i64,
        max: i64,
    },
}

impl std::fmt::Display for Ineligible<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ineligible::Away => f.write_str("is away"),
            Ineligible::OffShift(hours, at) => {
                write!(f, "is outside working hours: it is {}", hours.explain(*at))
            }
            Ineligible::NoAccess(channel) => write!(f, "has no access to {channel}"),
            Ineligible::Full { open, max } => {
                write!(f, "is at capacity: {open} open (max {max})")
            }
        }
    }
}

/// The explanation of a decision, written only when someone will read it.
#[derive(Debug, Default)]
pub struct Why {
    pub lines: Option<Vec<String>>,
}

impl Why {
    pub fn new(explain: bool) -> Why {
        Why {
            lines: explain.then(Vec::new),
        }
    }

    pub fn say(&mut self, line: impl FnOnce() -> String) {
        if let Some(lines) = self.lines.as_mut() {
            lines.push(line());
        }
    }
}

/// Where an assignment should go, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    pub agent: Option<String>,
    /// One line per agent considered, then the decision.
    pub why: Vec<String>,
}

impl Pool {
    fn open(&mut self, sql: &Sql<'_>) -> Result<&mut HashMap<String, i64>> {
        if self.open.is_none() {
            self.open = Some(sql.open_counts()?);
        }
        Ok(self.open.get_or_insert_with(HashMap::new))
    }

    /// Reads the open counts now rather than on first use.
    pub fn read_counts(&mut self, sql: &Sql<'_>) -> Result<()> {
        self.open(sql)?;
        Ok(())
    }

    pub fn open_of(&mut self, sql: &Sql<'_>, agent: &str) -> Result<i64> {
        Ok(self.open(sql)?.get(agent).copied().unwrap_or(0))
    }

    /// Keeps open counts right after an open ticket moved from one agent to another (or was
    /// closed: `to` is `None`). Counts not read yet need nothing: they will be read as they are.
    pub fn moved(&mut self, from: Option<&str>, to: Option<&str>) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        if from == to {
            return;
        }
        if let Some(f) = from {
            *open.entry(f.to_string()).or_default() -= 1;
        }
        if let Some(t) = to {
            *open.entry(t.to_string()).or_default() += 1;
        }
    }

    fn pointer(&mut self, sql: &Sql<'_>, team: &str) -> Result<Option<String>> {
        if self.pointers.is_none() {
            self.pointers = Some(sql.rotation_pointers()?);
        }
        Ok(self.pointers.as_ref().and_then(|p| p.get(team).cloned()))
    }

    fn set_pointer(&mut self, team: &str, agent: &str) {
        if let Some(p) = self.pointers.as_mut() {
            p.insert(team.to_string(), agent.to_string());
            self.moved.insert(team.to_string());
        }
    }

    /// What a later transaction may reuse: counts and pointers, as they are now in the store.
    pub fn carry_over(&mut self) {
        self.moved.clear();
    }

    /// Writes the rotation pointers that moved.
    pub fn save(&mut self, sql: &Sql<'_>) -> Result<()> {
        let Some(pointers) = &self.pointers else {
            return Ok(());
        };
        for team in std::mem::take(&mut self.moved) {
            if let Some(agent) = pointers.get(&team) {
                sql.set_rotation_pointer(&team, agent)?;
            }
        }
        Ok(())
    }

    /// The agent's open tickets if they can take a ticket on this channel now, else why not.
    pub fn eligible<'a>(
        &mut self,
        sql: &Sql<'_>,
        agent: &'a Agent,
        channel: ChannelKind,
        now: Millis,
    ) -> Result<std::result::Result<i64, Ineligible<'a>>> {
        if agent.away {
            return Ok(Err(Ineligible::Away));
        }
        if let Some(h) = &agent.hours
            && !h.contains(now)
        {
            return Ok(Err(Ineligible::OffShift(h, now)));
        }
        if let Some(channels) = &agent.channels
            && !channels.contains(&channel)
        {
            return Ok(Err(Ineligible::NoAccess(channel)));
        }
        let open = self.open_of(sql, &agent.handle)?;
        if let Some(max) = agent.max_open
            && open >= max
        {
            return Ok(Err(Ineligible::Full { open, max }));
        }
        Ok(Ok(open))
    }

    /// Picks an agent of `team` by `strategy`. `None` leaves the ticket in the team queue.
    #[allow(clippy::too_many_arguments)]
    pub fn pick(
        &mut self,
        sql: &Sql<'_>,
        routing: &Routing,
        team: &str,
        strategy: Strategy,
        channel: ChannelKind,
        contact: ContactId,
        ticket: TicketNumber,
        now: Millis,
        explain: bool,
    ) -> Result<Pick> {
        let mut why = Why::new(explain);
        match strategy {
            Strategy::Queue => {
                why.say(|| format!("left in the {team} queue for someone to take"));
                Ok(Pick {
                    agent: None,
                    why: why.lines.unwrap_or_default(),
                })
            }
            Strategy::LastHandler => {
                let Some(prev) = sql.previous_handler(contact, ticket)? else {
                    why.say(|| "this contact has had no agent before".into());
                    return Ok(Pick {
                        agent: None,
                        why: why.lines.unwrap_or_default(),
                    });
                };
                let Some(agent) = routing.agent(&prev) else {
                    why.say(|| {
                        format!("{prev} handled this contact before but is no longer configured")
                    });
                    return Ok(Pick {
                        agent: None,
                        why: why.lines.unwrap_or_default(),
                    });
                };
                if !agent.teams.iter().any(|t| t == team) {
                    why.say(|| {
                        format!("{prev} handled this contact before but is not in team {team}")
                    });
                    return Ok(Pick {
                        agent: None,
                        why: why.lines.unwrap_or_default(),
                    });
                }
                match self.eligible(sql, agent, channel, now)? {
                    Ok(_) => {
                        why.say(|| format!("{prev} handled this contact before and is available"));
                        Ok(Pick {
                            agent: Some(prev),
                            why: why.lines.unwrap_or_default(),
                        })
                    }
                    Err(reason) => {
                        why.say(|| format!("{prev} handled this contact before but {reason}"));
                        Ok(Pick {
                            agent: None,
                            why: why.lines.unwrap_or_default(),
                        })
                    }
                }
            }
            Strategy::RoundRobin | Strategy::LeastOpen => {
                let members: Vec<&Agent> = routing.members(team).collect();
                if members.is_empty() {
                    why.say(|| format!("team {team} has no members"));
                    return Ok(Pick {
                        agent: None,
                        why: why.lines.unwrap_or_default(),
                    });
                }
                // The rotation: starting after whoever got the team's last ticket.
                let start = match self.pointer(sql, team)? {
                    Some(last) => members
                        .iter()
                        .position(|a| a.handle == last)
                        .map_or(0, |i| i + 1),
                    None => 0,
                };
                let mut candidates: Vec<(&Agent, i64)> = Vec::new();
                for i in 0..members.len() {
                    let agent = members[(start + i) % members.len()];
                    match self.eligible(sql, agent, channel, now)? {
                        Ok(open) => {
                            why.say(|| format!("{}: available, {open} open", agent.handle));
                            candidates.push((agent, open));
                        }
                        Err(reason) => why.say(|| format!("{}: {reason}", agent.handle)),
                    }
                }
                let chosen = match strategy {
                    Strategy::RoundRobin => candidates.first().map(|(a, _)| *a),
                    _ => candidates
                        .iter()
                        .min_by_key(|(_, open)| *open)
                        .map(|(a, _)| *a),
                };
                match chosen {
                    Some(agent) => {
                        why.say(|| match strategy {
                            Strategy::RoundRobin => {
                                format!("{} is next in the rotation", agent.handle)
                            }
                            _ => format!(
                                "{} has the fewest open tickets (ties go by the rotation)",
                                agent.handle
                            ),
                        });
                        self.set_pointer(team, &agent.handle);
                        Ok(Pick {
                            agent: Some(agent.handle.clone()),
                            why: why.lines.unwrap_or_default(),
                        })
                    }
                    None => {
                        why.say(|| format!(
                            "nobody in {team} is available: the ticket waits in the {team} queue"
                        ));
                        Ok(Pick {
                            agent: None,
                            why: why.lines.unwrap_or_default(),
                        })
                    }
                }
            }
        }
    }
}
