//! Checking the config file's agents, teams and rules, and building a [`Routing`] from them.
//!
//! Every name a rule uses must exist: an unknown agent, team, label, field, channel, account,
//! attribute or action is an error at its line and column, with the nearest known name as a
//! suggestion, so a typo can never become a rule that silently never matches.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use regex::RegexBuilder;
use toml::Spanned;

use super::hours::{DAY_KEYS, parse_ranges};
use super::{
    Action, Agent, Bound, Cond, Event, Hours, Routing, Rule, Strategy, Team, Test, Trigger, Words,
};
use crate::config::{AccountConfig, Config, HoursConfig, Node};
use crate::domain::{ChannelKind, MessageKind, Status, time};

/// A mistake in the file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub span: Range<usize>,
    pub message: String,
}

type Result<T> = std::result::Result<T, LoadError>;

fn err<T>(span: &Range<usize>, message: impl Into<String>) -> Result<T> {
    Err(LoadError {
        span: span.clone(),
        message: message.into(),
    })
}

/// The condition attributes, for messages and suggestions.
pub const ATTRIBUTES: [&str; 22] = [
    "all",
    "any",
    "not",
    "channel",
    "account",
    "text_contains_any",
    "text_contains_all",
    "text_matches",
    "message_kind",
    "contact_name_contains",
    "contact_label",
    "label",
    "field",
    "assignee",
    "assigned",
    "team",
    "in_team_queue",
    "status",
    "in_business_hours",
    "first_ticket",
    "agent_replies",
    "since_created",
];

/// The actions, for messages and suggestions.
pub const ACTIONS: [&str; 11] = [
    "assign_agent",
    "assign_team",
    "unassign",
    "add_label",
    "remove_label",
    "set_field",
    "follow_up",
    "add_note",
    "auto_reply",
    "close",
    "mark_spam",
];

const TIMERS: [&str; 2] = ["idle", "unassigned_for"];

/// The closest known name to a misspelt one, if any is close enough to be what was meant.
pub fn did_you_mean<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = given.to_lowercase();
    known
        .into_iter()
        .map(|k| (strsim::levenshtein(&lower, &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// `unknown agent "bobb" (did you mean "bob"?)`, or the list of known names when none is close.
fn unknown(what: &str, given: &str, known: &[&str]) -> String {
    match did_you_mean(given, known.iter().copied()) {
        Some(k) => format!("unknown {what} \"{given}\" (did you mean \"{k}\"?)"),
        None if known.is_empty() => format!("unknown {what} \"{given}\" (none is configured)"),
        None => format!(
            "unknown {what} \"{given}\" (expected one of: {})",
            known.join(", ")
        ),
    }
}

/// The names declared in the file, which rules may refer to.
struct Names<'a> {
    agents: Vec<&'a str>,
    teams: Vec<&'a str>,
    labels: Vec<&'a str>,
    fields: HashMap<&'a str, Option<Vec<&'a str>>>,
    field_names: Vec<&'a str>,
    accounts: Vec<String>,
    has_business_hours: bool,
}

/// Builds the routing a config file describes, or says what is wrong with it and where.
pub fn routing(config: &Config) -> Result<Routing> {
    let mut accounts: Vec<String> = ChannelKind::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    let mut ids: HashMap<(ChannelKind, &str), &str> = HashMap::new();
    for a in &config.accounts {
        let kind = channel(&a.channel)?;
        if accounts.contains(a.name.get_ref()) {
            return err(
                &a.name.span(),
                format!("account \"{}\" is defined twice", a.name.get_ref()),
            );
        }
        plain(&a.name, "an account")?;
        webhook_settings(a, kind)?;
        if let Some(id) = &a.id
            && let Some(other) = ids.insert((kind, id.get_ref().0.as_str()), a.name.get_ref())
        {
            return err(
                &id.span(),
                format!(
                    "{kind} id \"{}\" is already the id of account \"{other}\"",
                    id.get_ref().0
                ),
            );
        }
        accounts.push(a.name.get_ref().clone());
    }

    let mut teams = Vec::new();
    for t in &config.teams {
        plain(&t.name, "a team")?;
        if teams.iter().any(|x: &Team| &x.name == t.name.get_ref()) {
            return err(
                &t.name.span(),
                format!("team \"{}\" is defined twice", t.name.get_ref()),
            );
        }
        teams.push(Team {
            name: t.name.get_ref().clone(),
            drain_backlog: t.drain_backlog,
        });
    }
    let team_names: Vec<&str> = config
        .teams
        .iter()
        .map(|t| t.name.get_ref().as_str())
        .collect();

    let mut agents: Vec<Agent> = Vec::new();
    for a in &config.agents {
        plain(&a.handle, "an agent")?;
        if agents.iter().any(|x| &x.handle == a.handle.get_ref()) {
            return err(
                &a.handle.span(),
                format!("agent \"{}\" is defined twice", a.handle.get_ref()),
            );
        }
        let mut member_of = Vec::new();
        for t in &a.teams {
            if !team_names.contains(&t.get_ref().as_str()) {
                return err(&t.span(), unknown("team", t.get_ref(), &team_names));
            }
            member_of.push(t.get_ref().clone());
        }
        let channels = match &a.channels {
            None => None,
            Some(list) => Some(list.iter().map(channel).collect::<Result<Vec<_>>>()?),
        };
        if let Some(m) = &a.max_open
            && *m.get_ref() < 0
        {
            return err(&m.span(), "max_open cannot be negative");
        }
        agents.push(Agent {
            handle: a.handle.get_ref().clone(),
            name: a.name.clone().unwrap_or_else(|| a.handle.get_ref().clone()),
            teams: member_of,
            channels,
            max_open: a.max_open.as_ref().map(|m| *m.get_ref()),
            away: a.away,
            hours: a.hours.as_ref().map(hours).transpose()?,
        });
    }

    let mut labels: Vec<&str> = Vec::new();
    for l in &config.labels {
        plain(l, "a label")?;
        labels.push(l.get_ref());
    }
    let mut fields = HashMap::new();
    let mut field_names = Vec::new();
    for f in &config.fields {
        plain(&f.name, "a field")?;
        if fields.contains_key(f.name.get_ref().as_str()) {
            return err(
                &f.name.span(),
                format!("field \"{}\" is defined twice", f.name.get_ref()),
            );
        }
        let values = f
            .values
            .as_ref()
            .map(|v| v.iter().map(|s| s.get_ref().as_str()).collect());
        fields.insert(f.name.get_ref().as_str(), values);
        field_names.push(f.name.get_ref().as_str());
    }

    let business_hours = config.business_hours.as_ref().map(hours).transpose()?;
    let names = Names {
        agents: agents.iter().map(|a| a.handle.as_str()).collect(),
        teams: team_names,
        labels,
        fields,
        field_names,
        accounts,
        has_business_hours: business_hours.is_some(),
    };

    let mut rules = Vec::new();
    let mut seen = HashSet::new();
    for r in &config.rules {
        plain(&r.name, "a rule")?;
        if !seen.insert(r.name.get_ref().as_str()) {
            return err(
                &r.name.span(),
                format!(
                    "rule \"{}\" is defined twice; rule names must differ (the journal and \
                     once_per_ticket go by name)",
                    r.name.get_ref()
                ),
            );
        }
        let on = triggers(&r.on)?;
        let when = r.when.as_ref().map(|c| cond(c, &names)).transpose()?;
        if let Some(c) = &r.when
            && let Some(e) = on.iter().find_map(|t| match t {
                Trigger::Event(e) if !e.has_message() => Some(e.as_str().to_string()),
                Trigger::Event(_) => None,
                other => Some(other.describe()),
            })
            && let Some(span) = reads_message(c, when.as_ref())
        {
            return err(
                &span,
                format!(
                    "this condition reads the customer's message, but the rule also listens to \
                     {e}, which has none: it would never hold there; move it to a rule on \
                     ticket_created, ticket_reopened or message_received"
                ),
            );
        }
        let then = actions(&r.then, &names)?;
        rules.push(Rule {
            name: r.name.get_ref().clone(),
            on,
            when,
            then,
            stop: r.stop,
            once_per_ticket: r.once_per_ticket,
        });
    }

    let mut routing = Routing::new(agents, teams, business_hours, rules);
    if let Some(t) = &config.timers {
        if let Some(a) = &t.auto_close {
            routing.auto_close = if a.get_ref().trim().eq_ignore_ascii_case("off") {
                None
            } else {
                Some(duration(a.get_ref(), &a.span())?)
            };
        }
        if let Some(c) = &t.check_every {
            let every = duration(c.get_ref(), &c.span())?;
            if every < 1_000 {
                return err(&c.span(), "check_every must be at least 1s");
            }
            routing.tick_every = every;
        }
    }
    Ok(routing)
}

/// The channels `tix serve` receives webhooks for.
pub const WEBHOOK_CHANNELS: [ChannelKind; 5] = [
    ChannelKind::Line,
    ChannelKind::Messenger,
    ChannelKind::Instagram,
    ChannelKind::Whatsapp,
    ChannelKind::Shopee,
];

/// Checks an account's webhook settings: each key only where its platform uses it, a secret
/// given one way, Shopee's callback URL next to its key. Whether `*_env` variables are set is
/// checked by `tix serve`, which is the only command that needs them.
fn webhook_settings(a: &AccountConfig, kind: ChannelKind) -> Result<()> {
    let name = a.name.get_ref();
    if let Some(id) = &a.id {
        let id_text = &id.get_ref().0;
        if id_text.trim().is_empty() || id_text.trim() != id_text {
            return err(
                &id.span(),
                "an account id cannot be empty or start or end with spaces",
            );
        }
        if id_text.chars().any(char::is_control) {
            return err(
                &id.span(),
                "an account id cannot contain control characters",
            );
        }
    }
    let receives = WEBHOOK_CHANNELS.contains(&kind);
    let handshake = matches!(
        kind,
        ChannelKind::Messenger | ChannelKind::Instagram | ChannelKind::Whatsapp
    );
    for (plain_key, env_key, what) in [
        (&a.secret, &a.secret_env, "secret"),
        (&a.verify_token, &a.verify_token_env, "verify_token"),
    ] {
        if let (Some(_), Some(env)) = (plain_key, env_key) {
            return err(
                &env.span(),
                format!("account \"{name}\" gives both {what} and {what}_env; keep one"),
            );
        }
        if let Some(v) = plain_key
            && v.get_ref().0.is_empty()
        {
            return err(&v.span(), format!("{what} is empty"));
        }
        if let Some(env) = env_key {
            let var = env.get_ref();
            if var.is_empty() || var.contains(['=', '\0']) || var.chars().any(char::is_whitespace) {
                return err(
                    &env.span(),
                    format!(
                        "{what}_env must name an environment variable, such as \"TIX_LINE_SECRET\""
                    ),
                );
            }
        }
    }
    let secret_span = a
        .secret
        .as_ref()
        .map(Spanned::span)
        .or_else(|| a.secret_env.as_ref().map(Spanned::span));
    if let Some(span) = &secret_span
        && !receives
    {
        let known: Vec<&str> = WEBHOOK_CHANNELS.iter().map(|c| c.as_str()).collect();
        return err(
            span,
            format!(
                "tix serve receives no {kind} webhooks, so a {kind} account has no secret \
                 (webhooks come from: {})",
                known.join(", ")
            ),
        );
    }
    let token_span = a
        .verify_token
        .as_ref()
        .map(Spanned::span)
        .or_else(|| a.verify_token_env.as_ref().map(Spanned::span));
    if let Some(span) = &token_span
        && !handshake
    {
        return err(
            span,
            format!(
                "verify_token is for the subscription handshake of messenger, instagram and \
                 whatsapp accounts; a {kind} account has none"
            ),
        );
    }
    match (&a.callback_url, kind) {
        (Some(url), ChannelKind::Shopee) => {
            let u = url.get_ref();
            if !(u.starts_with("https://") || u.starts_with("http://"))
                || u.chars().any(char::is_whitespace)
            {
                return err(
                    &url.span(),
                    "callback_url must be the full URL registered with Shopee, such as \
                     \"https://shop.example.com/shopee\"",
                );
            }
        }
        (Some(url), _) => {
            return err(
                &url.span(),
                format!(
                    "callback_url is for shopee accounts (Shopee signs it); a {kind} account has none"
                ),
            );
        }
        (None, ChannelKind::Shopee) => {
            if let Some(span) = &secret_span {
                return err(
                    span,
                    format!(
                        "shopee account \"{name}\" has a secret but no callback_url: Shopee \
                         signs the callback URL together with the body, so set callback_url to \
                         the URL registered with Shopee"
                    ),
                );
            }
        }
        (None, _) => {}
    }
    Ok(())
}

/// A name that is printed in lists and journal lines: not empty, no control characters.
fn plain(name: &Spanned<String>, what: &str) -> Result<()> {
    let n = name.get_ref();
    if n.trim().is_empty() {
        return err(&name.span(), format!("{what} needs a name"));
    }
    if n.trim() != n {
        return err(
            &name.span(),
            format!("\"{n}\" starts or ends with spaces; remove them"),
        );
    }
    if n.chars().any(char::is_control) {
        return err(
            &name.span(),
            format!("{what} name cannot contain control characters"),
        );
    }
    Ok(())
}

fn channel(name: &Spanned<String>) -> Result<ChannelKind> {
    name.get_ref().parse::<ChannelKind>().or_else(|_| {
        let known: Vec<&str> = ChannelKind::ALL.iter().map(|c| c.as_str()).collect();
        err(&name.span(), unknown("channel", name.get_ref(), &known))
    })
}

fn duration(text: &str, span: &Range<usize>) -> Result<i64> {
    match time::parse_duration(text) {
        Ok(ms) if ms > 0 => Ok(ms),
        Ok(_) => err(span, "a duration must be longer than zero"),
        Err(e) => err(span, e),
    }
}

fn hours(h: &Spanned<HoursConfig>) -> Result<Hours> {
    let mut tz = None;
    let mut days: [Vec<(u32, u32)>; 7] = Default::default();
    let mut set = [false; 7];
    let keys: Vec<&str> = std::iter::once("tz")
        .chain(DAY_KEYS.iter().map(|(k, _)| *k))
        .collect();
    for (key, value) in h.get_ref() {
        if key.get_ref() == "tz" {
            tz = Some(value.get_ref().parse::<chrono_tz::Tz>().or_else(|_| {
                err(
                    &value.span(),
                    format!(
                        "unknown time zone \"{}\" (use a name like \"Asia/Bangkok\")",
                        value.get_ref()
                    ),
                )
            })?);
            continue;
        }
        let Some((_, covered)) = DAY_KEYS.iter().find(|(k, _)| k == key.get_ref()) else {
            return err(&key.span(), unknown("day", key.get_ref(), &keys));
        };
        let ranges = parse_ranges(value.get_ref()).or_else(|e| err(&value.span(), e))?;
        // The most specific key wins whatever the order: `sat` over `sat_sun` over `every_day`.
        for &d in *covered {
            if !set[d] || covered.len() == 1 {
                days[d] = ranges.clone();
            }
            if covered.len() == 1 {
                set[d] = true;
            }
        }
    }
    let Some(tz) = tz else {
        return err(
            &h.span(),
            "working hours need a time zone: add tz = \"Asia/Bangkok\" (or yours)",
        );
    };
    Ok(Hours { tz, days })
}

fn triggers(on: &Spanned<Node>) -> Result<Vec<Trigger>> {
    let items = match on.get_ref() {
        Node::List(items) if !items.is_empty() => items.iter().collect::<Vec<_>>(),
        Node::List(_) => return err(&on.span(), "a rule must listen to at least one event"),
        _ => vec![on],
    };
    let known: Vec<&str> = Event::ALL
        .iter()
        .map(|e| e.as_str())
        .chain(TIMERS)
        .collect();
    items
        .into_iter()
        .map(|item| match item.get_ref() {
            Node::Str(s) => Event::ALL
                .iter()
                .find(|e| e.as_str() == s)
                .map(|e| Trigger::Event(*e))
                .map_or_else(
                    || {
                        if TIMERS.contains(&s.as_str()) {
                            err(
                                &item.span(),
                                format!("the {s} timer needs a duration: {{ {s} = \"2h\" }}"),
                            )
                        } else {
                            err(&item.span(), unknown("event", s, &known))
                        }
                    },
                    Ok,
                ),
            Node::Table(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                let Node::Str(d) = value.get_ref() else {
                    return err(&value.span(), "a timer takes a duration like \"2h\"");
                };
                let ms = duration(d, &value.span())?;
                match key.get_ref().as_str() {
                    "idle" => Ok(Trigger::Idle(ms)),
                    "unassigned_for" => Ok(Trigger::UnassignedFor(ms)),
                    other => err(&key.span(), unknown("timer", other, &TIMERS)),
                }
            }
            other => err(
                &item.span(),
                format!(
                    "an event is a name like \"ticket_created\" or a timer like {{ idle = \"2h\" }}, \
                     not {}",
                    other.kind()
                ),
            ),
        })
        .collect()
}

/// The span of the first condition in the tree that reads the message, if any.
fn reads_message(node: &Spanned<Node>, built: Option<&Cond>) -> Option<Range<usize>> {
    fn any_message(c: &Cond) -> bool {
        match c {
            Cond::All(v) | Cond::Any(v) => v.iter().any(any_message),
            Cond::Not(c) => any_message(c),
            Cond::Test(t) => t.reads_message(),
        }
    }
    if !built.is_some_and(any_message) {
        return None;
    }
    fn find(node: &Spanned<Node>) -> Option<Range<usize>> {
        match node.get_ref() {
            Node::Table(entries) => entries.iter().find_map(|(k, v)| {
                if matches!(
                    k.get_ref().as_str(),
                    "text_contains_any" | "text_contains_all" | "text_matches" | "message_kind"
                ) {
                    Some(k.span())
                } else {
                    find(v)
                }
            }),
            Node::List(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    find(node).or(Some(node.span()))
}

fn cond(node: &Spanned<Node>, names: &Names<'_>) -> Result<Cond> {
    let Node::Table(entries) = node.get_ref() else {
        return err(
            &node.span(),
            format!(
                "a condition is a table like {{ channel = \"line\" }}, not {}",
                node.get_ref().kind()
            ),
        );
    };
    if entries.is_empty() {
        return err(
            &node.span(),
            "an empty condition; remove it or say what to test",
        );
    }
    let mut all = entries
        .iter()
        .map(|(k, v)| attribute(k, v, names))
        .collect::<Result<Vec<_>>>()?;
    // Several attributes in one table must all hold.
    Ok(if all.len() == 1 {
        all.remove(0)
    } else {
        Cond::All(all)
    })
}

fn attribute(key: &Spanned<String>, value: &Spanned<Node>, names: &Names<'_>) -> Result<Cond> {
    let k = key.get_ref().as_str();
    let test = match k {
        "all" | "any" => {
            let Node::List(items) = value.get_ref() else {
                return err(&value.span(), format!("{k} takes a list of conditions"));
            };
            let conds = items
                .iter()
                .map(|c| cond(c, names))
                .collect::<Result<Vec<_>>>()?;
            return Ok(if k == "all" {
                Cond::All(conds)
            } else {
                Cond::Any(conds)
            });
        }
        "not" => return Ok(Cond::Not(Box::new(cond(value, names)?))),
        "channel" => Test::Channel(
            strings(value)?
                .iter()
                .map(channel)
                .collect::<Result<Vec<_>>>()?,
        ),
        "account" => {
            let known: Vec<&str> = names.accounts.iter().map(String::as_str).collect();
            Test::Account(checked(value, "account", &known)?)
        }
        "text_contains_any" | "text_contains_all" => {
            let words: Vec<String> = strings(value)?
                .iter()
                .map(|s| {
                    if s.get_ref().trim().is_empty() {
                        err(&s.span(), "an empty word matches every message; remove it")
                    } else {
                        Ok(s.get_ref().to_lowercase())
                    }
                })
                .collect::<Result<_>>()?;
            if k == "text_contains_any" {
                Test::TextContainsAny(Words::new(words))
            } else {
                Test::TextContainsAll(Words::new(words))
            }
        }
        "text_matches" => {
            let pattern = string(value)?;
            let re = RegexBuilder::new(&pattern)
                .case_insensitive(true)
                .unicode(true)
                .build()
                .or_else(|e| {
                    err(
                        &value.span(),
                        format!(
                            "invalid regular expression: {}",
                            e.to_string().lines().last().unwrap_or("")
                        ),
                    )
                })?;
            Test::TextMatches(re)
        }
        "message_kind" => {
            let known: Vec<&str> = MessageKind::ALL.iter().map(|m| m.as_str()).collect();
            Test::MessageKind(
                checked(value, "message kind", &known)?
                    .iter()
                    .filter_map(|s| s.parse().ok())
                    .collect(),
            )
        }
        "contact_name_contains" => Test::ContactNameContains(
            strings(value)?
                .iter()
                .map(|s| s.get_ref().to_lowercase())
                .collect(),
        ),
        "contact_label" => Test::ContactLabel(checked(value, "label", &names.labels)?),
        "label" => Test::Label(checked(value, "label", &names.labels)?),
        "field" => {
            let Node::Table(entries) = value.get_ref() else {
                return err(
                    &value.span(),
                    "field takes a table of field names and values: { priority = \"high\" }",
                );
            };
            let mut tests = Vec::new();
            for (name, values) in entries {
                let allowed = field(name, names)?;
                let values = strings(values)?
                    .iter()
                    .map(|v| field_value(name.get_ref(), v, allowed))
                    .collect::<Result<Vec<_>>>()?;
                tests.push(Cond::Test(Test::Field {
                    name: name.get_ref().clone(),
                    values,
                }));
            }
            return Ok(if tests.len() == 1 {
                tests.remove(0)
            } else {
                Cond::All(tests)
            });
        }
        "assignee" => Test::Assignee(checked(value, "agent", &names.agents)?),
        "assigned" => Test::Assigned(boolean(value)?),
        "team" => Test::Team(checked(value, "team", &names.teams)?),
        "in_team_queue" => Test::InTeamQueue(boolean(value)?),
        "status" => {
            let known: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
            Test::Status(
                checked(value, "status", &known)?
                    .iter()
                    .filter_map(|s| s.parse().ok())
                    .collect(),
            )
        }
        "in_business_hours" => {
            if !names.has_business_hours {
                return err(
                    &key.span(),
                    "in_business_hours needs business hours: add business_hours = { tz = ..., \
                     mon_fri = \"09:00-18:00\" }",
                );
            }
            Test::InBusinessHours(boolean(value)?)
        }
        "first_ticket" => Test::FirstTicket(boolean(value)?),
        "agent_replies" => Test::AgentReplies(bound(value, false)?),
        "since_created" => Test::SinceCreated(bound(value, true)?),
        other => return err(&key.span(), unknown("attribute", other, &ATTRIBUTES)),
    };
    Ok(Cond::Test(test))
}

fn field<'n>(name: &Spanned<String>, names: &'n Names<'_>) -> Result<Option<&'n [&'n str]>> {
    match names.fields.get(name.get_ref().as_str()) {
        Some(values) => Ok(values.as_deref()),
        None => err(
            &name.span(),
            unknown("field", name.get_ref(), &names.field_names),
        ),
    }
}

/// A field value; empty means "not set".
fn field_value(
    name: &str,
    v: &Spanned<String>,
    allowed: Option<&[&str]>,
) -> Result<Option<String>> {
    let value = v.get_ref().trim();
    if value.is_empty() {
        return Ok(None);
    }
    if let Some(allowed) = allowed
        && !allowed.contains(&value)
    {
        return err(
            &v.span(),
            unknown(&format!("value for field {name}"), value, allowed),
        );
    }
    Ok(Some(value.to_string()))
}

/// `{ over = 2 }`, `{ under = "1h" }`, both, or a plain number meaning exactly that.
fn bound(value: &Spanned<Node>, durations: bool) -> Result<Bound> {
    let number = |v: &Spanned<Node>| -> Result<i64> {
        match (v.get_ref(), durations) {
            (Node::Int(n), false) if *n >= 0 => Ok(*n),
            (Node::Str(s), true) => time::parse_duration(s).or_else(|e| err(&v.span(), e)),
            (_, false) => err(&v.span(), "expected a whole number of zero or more"),
            (_, true) => err(&v.span(), "expected a duration like \"2h\""),
        }
    };
    match value.get_ref() {
        Node::Table(entries) if !entries.is_empty() => {
            let mut b = Bound::default();
            for (k, v) in entries {
                match k.get_ref().as_str() {
                    "over" => b.over = Some(number(v)?),
                    "under" => b.under = Some(number(v)?),
                    other => return err(&k.span(), unknown("bound", other, &["over", "under"])),
                }
            }
            Ok(b)
        }
        Node::Int(_) if !durations => {
            let n = number(value)?;
            Ok(Bound {
                over: Some(n - 1),
                under: Some(n + 1),
            })
        }
        _ => err(
            &value.span(),
            if durations {
                "expected { over = \"2h\" } or { under = \"30m\" }"
            } else {
                "expected a number, or { over = 2 } or { under = 1 }"
            },
        ),
    }
}

fn boolean(value: &Spanned<Node>) -> Result<bool> {
    match value.get_ref() {
        Node::Bool(b) => Ok(*b),
        other => err(
            &value.span(),
            format!("expected true or false, not {}", other.kind()),
        ),
    }
}

fn string(value: &Spanned<Node>) -> Result<String> {
    match value.get_ref() {
        Node::Str(s) => Ok(s.clone()),
        other => err(
            &value.span(),
            format!("expected a string, not {}", other.kind()),
        ),
    }
}

/// A string or a list of strings, each with its own position.
fn strings(value: &Spanned<Node>) -> Result<Vec<Spanned<String>>> {
    match value.get_ref() {
        Node::Str(s) => Ok(vec![Spanned::new(value.span(), s.clone())]),
        Node::List(items) if !items.is_empty() => items
            .iter()
            .map(|i| Ok(Spanned::new(i.span(), string(i)?)))
            .collect(),
        Node::List(_) => err(&value.span(), "an empty list never matches; give a value"),
        other => err(
            &value.span(),
            format!(
                "expected a string or a list of strings, not {}",
                other.kind()
            ),
        ),
    }
}

/// Strings that must each be one of the known names.
fn checked(value: &Spanned<Node>, what: &str, known: &[&str]) -> Result<Vec<String>> {
    strings(value)?
        .into_iter()
        .map(|s| {
            if known.contains(&s.get_ref().as_str()) {
                Ok(s.into_inner())
            } else {
                err(&s.span(), unknown(what, s.get_ref(), known))
            }
        })
        .collect()
}

fn actions(then: &Spanned<Node>, names: &Names<'_>) -> Result<Vec<Action>> {
    let items = match then.get_ref() {
        Node::List(items) if !items.is_empty() => items.iter().collect::<Vec<_>>(),
        Node::List(_) => return err(&then.span(), "a rule needs at least one action"),
        _ => vec![then],
    };
    items.into_iter().map(|a| action(a, names)).collect()
}

/// One action: a bare name (`"close"`) or a table with the action's key and its options.
fn action(node: &Spanned<Node>, names: &Names<'_>) -> Result<Action> {
    let (key, value, options): (Spanned<String>, Option<&Spanned<Node>>, Vec<_>) =
        match node.get_ref() {
            Node::Str(s) => (Spanned::new(node.span(), s.clone()), None, vec![]),
            Node::Table(entries) => {
                let Some((k, v)) = entries
                    .iter()
                    .find(|(k, _)| ACTIONS.contains(&k.get_ref().as_str()))
                else {
                    return match entries.first() {
                        Some((k, _)) => err(&k.span(), unknown("action", k.get_ref(), &ACTIONS)),
                        None => err(&node.span(), "an empty action; say what to do"),
                    };
                };
                let options = entries
                    .iter()
                    .filter(|(o, _)| o.get_ref() != k.get_ref())
                    .collect();
                (k.clone(), Some(v), options)
            }
            other => {
                return err(
                    &node.span(),
                    format!(
                        "an action is a table like {{ add_label = \"vip\" }}, not {}",
                        other.kind()
                    ),
                );
            }
        };
    let allowed_options: &[&str] = match key.get_ref().as_str() {
        "assign_team" => &["strategy", "otherwise"],
        _ => &[],
    };
    for (o, _) in &options {
        if !allowed_options.contains(&o.get_ref().as_str()) {
            let what = format!("option of {}", key.get_ref());
            return err(&o.span(), unknown(&what, o.get_ref(), allowed_options));
        }
    }
    let option = |name: &str| {
        options
            .iter()
            .find(|(o, _)| o.get_ref() == name)
            .map(|(_, v)| v)
    };
    // Flag actions: a bare name, or `= true`.
    let flag = |v: Option<&Spanned<Node>>| -> Result<()> {
        match v {
            None => Ok(()),
            Some(v) => match v.get_ref() {
                Node::Bool(true) => Ok(()),
                _ => err(
                    &v.span(),
                    format!(
                        "{} takes no value; write {{ {} = true }}",
                        key.get_ref(),
                        key.get_ref()
                    ),
                ),
            },
        }
    };
    let needs = |v: Option<&Spanned<Node>>| -> Result<Spanned<Node>> {
        v.cloned().map_or_else(
            || {
                err(
                    &key.span(),
                    format!(
                        "{} needs a value: {{ {} = ... }}",
                        key.get_ref(),
                        key.get_ref()
                    ),
                )
            },
            Ok,
        )
    };
    Ok(match key.get_ref().as_str() {
        "assign_agent" => {
            let v = needs(value)?;
            let agent = checked(&v, "agent", &names.agents)?;
            if agent.len() != 1 {
                return err(&v.span(), "assign_agent takes one agent");
            }
            Action::AssignAgent(agent.into_iter().next().unwrap_or_default())
        }
        "assign_team" => {
            let v = needs(value)?;
            let team = checked(&v, "team", &names.teams)?;
            if team.len() != 1 {
                return err(&v.span(), "assign_team takes one team");
            }
            let strategy_of = |v: &Spanned<Node>| -> Result<Strategy> {
                let s = string(v)?;
                let known: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
                Strategy::ALL
                    .iter()
                    .copied()
                    .find(|x| x.as_str() == s)
                    .map_or_else(|| err(&v.span(), unknown("strategy", &s, &known)), Ok)
            };
            let strategy = option("strategy").map_or(Ok(Strategy::RoundRobin), &strategy_of)?;
            let otherwise = option("otherwise").map(strategy_of).transpose()?;
            Action::AssignTeam {
                team: team.into_iter().next().unwrap_or_default(),
                strategy,
                otherwise,
            }
        }
        "unassign" => {
            flag(value)?;
            Action::Unassign
        }
        "close" => {
            flag(value)?;
            Action::Close
        }
        "mark_spam" => {
            flag(value)?;
            Action::MarkSpam
        }
        "follow_up" => match value.map(|v| (v, v.get_ref())) {
            None => Action::FollowUp(true),
            Some((_, Node::Bool(b))) => Action::FollowUp(*b),
            Some((v, other)) => {
                return err(
                    &v.span(),
                    format!("follow_up takes true or false, not {}", other.kind()),
                );
            }
        },
        "add_label" | "remove_label" => {
            let v = needs(value)?;
            let label = checked(&v, "label", &names.labels)?;
            if label.len() != 1 {
                return err(&v.span(), format!("{} takes one label", key.get_ref()));
            }
            let label = label.into_iter().next().unwrap_or_default();
            if key.get_ref() == "add_label" {
                Action::AddLabel(label)
            } else {
                Action::RemoveLabel(label)
            }
        }
        "set_field" => {
            let v = needs(value)?;
            let Node::Table(entries) = v.get_ref() else {
                return err(&v.span(), "set_field takes { name = \"value\" }");
            };
            let [(name, value)] = entries.as_slice() else {
                return err(
                    &v.span(),
                    "set_field sets one field: { priority = \"high\" }",
                );
            };
            let allowed = field(name, names)?;
            let value = Spanned::new(value.span(), string(value)?);
            Action::SetField {
                name: name.get_ref().clone(),
                value: field_value(name.get_ref(), &value, allowed)?,
            }
        }
        "add_note" | "auto_reply" => {
            let v = needs(value)?;
            let text = string(&v)?;
            if text.trim().is_empty() {
                return err(&v.span(), format!("{} needs some text", key.get_ref()));
            }
            if key.get_ref() == "add_note" {
                Action::AddNote(text)
            } else {
                Action::AutoReply(text)
            }
        }
        other => return err(&key.span(), unknown("action", other, &ACTIONS)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_nearest_close_name_only() {
        assert_eq!(did_you_mean("bobb", ["alice", "bob"]), Some("bob"));
        assert_eq!(
            did_you_mean("supprot", ["support", "billing"]),
            Some("support")
        );
        assert_eq!(did_you_mean("zzzzzz", ["alice", "bob"]), None);
        assert_eq!(did_you_mean("LINE", ["line", "lazada"]), Some("line"));
    }
}
