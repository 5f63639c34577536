//! Journal lines in words, the same in `tix ticket show` and in the inbox's thread pane:
//! "#245 assigned to bob (billing) by rule Refunds".

use crate::domain::{Actor, Change, text};

/// Whether the thread shows the change as itself (a note, a reply) rather than as a journal line.
pub fn shown_as_itself(kind: &str) -> bool {
    matches!(kind, "note_added" | "note_removed" | "replied")
}

/// A journal line as a sentence, sanitised for the terminal.
pub fn describe_event(
    ticket: i64,
    kind: &str,
    actor: &Actor,
    via: Option<&str>,
    payload: &serde_json::Value,
) -> String {
    let by = match actor {
        Actor::Customer => "by the customer's message".to_string(),
        other => format!("by {other}"),
    };
    let change: Option<Change> = serde_json::from_value(payload.clone()).ok();
    let what = match (kind, &change) {
        ("created", _) if matches!(actor, Actor::Customer | Actor::System) => {
            return text::sanitize(&format!("#{ticket} opened"), true);
        }
        ("created", _) => "opened".to_string(),
        ("marked_spam", _) => "marked spam".into(),
        ("not_spam", _) => "marked not spam".into(),
        ("assigned", Some(Change::Assignment { after, .. })) => match (&after.agent, &after.team) {
            (Some(a), Some(t)) => format!("assigned to {a} ({t})"),
            (Some(a), None) => format!("assigned to {a}"),
            (None, Some(t)) => format!("assigned to team {t}"),
            (None, None) => "unassigned".into(),
        },
        ("follow_up_set", _) => "flagged for follow-up".into(),
        ("follow_up_cleared", _) => "follow-up cleared".into(),
        ("labelled", Some(Change::Label { label, .. })) => format!("labelled {label}"),
        ("unlabelled", Some(Change::Label { label, .. })) => format!("label {label} removed"),
        ("field_set", Some(Change::Field { name, after, .. })) => match after {
            Some(v) => format!("{name} set to {v}"),
            None => format!("{name} cleared"),
        },
        ("linked", _) => format!("linked: {}", super::comments::describe_link(payload)),
        ("no_agent_available", _) => {
            let why: Vec<&str> = payload["why"]
                .as_array()
                .map(|w| w.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            let whom = match (payload["team"].as_str(), payload["agent"].as_str()) {
                (Some(t), _) => format!(" in team {t}"),
                (None, Some(a)) => format!(" ({a})"),
                (None, None) => String::new(),
            };
            format!("waits: nobody{whom} could take it ({})", why.join("; "))
        }
        (other, _) => other.replace('_', " "),
    };
    let via = via.map(|v| format!(" ({v})")).unwrap_or_default();
    text::sanitize(&format!("#{ticket} {what} {by}{via}"), true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn journal_lines_read_as_sentences_and_stay_harmless() {
        let assigned = json!({"change": "assignment", "ticket": 7,
            "before": {"agent": null, "team": null},
            "after": {"agent": "bob", "team": "billing"}});
        assert_eq!(
            describe_event(
                7,
                "assigned",
                &Actor::Rule("Refunds".into()),
                None,
                &assigned
            ),
            "#7 assigned to bob (billing) by rule Refunds"
        );
        assert_eq!(
            describe_event(7, "created", &Actor::Customer, None, &json!(null)),
            "#7 opened"
        );
        assert_eq!(
            describe_event(
                7,
                "closed",
                &Actor::Agent("alice".into()),
                Some("undo"),
                &json!(null)
            ),
            "#7 closed by alice (undo)"
        );
        let waits = json!({"team": "billing", "why": ["bob is away", "chai is off shift"]});
        assert_eq!(
            describe_event(
                7,
                "no_agent_available",
                &Actor::Rule("R".into()),
                None,
                &waits
            ),
            "#7 waits: nobody in team billing could take it (bob is away; chai is off shift) by rule R"
        );
        let evil = json!({"change": "label", "ticket": 7, "label": "x\u{1b}[2J", "added": true});
        let line = describe_event(7, "labelled", &Actor::Agent("a".into()), None, &evil);
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(shown_as_itself("replied") && !shown_as_itself("closed"));
    }
}
