//! The three forms of a report: text for people at a terminal, JSON for machines (the format of
//! `docs/plan-format.md`), Markdown for a pull-request comment.

mod markdown;
mod text;

pub use markdown::markdown;
pub use text::{change_line, text};

use super::report::{AgentReport, Report, Summary};

/// The JSON form, pretty-printed, with a final newline.
pub fn json(report: &Report) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(report).expect("reports serialize")
    )
}

/// The one-character mark of an action, as `terraform plan` marks them.
pub fn symbol(action: &str) -> char {
    match action {
        "create" => '+',
        "update" | "adopt" => '~',
        "delete" | "delete-waits" | "orphan" => '-',
        "no-op" => '=',
        "drift" => '?',
        _ => '!',
    }
}

/// Whether an entry's message says something the action alone does not.
pub fn tells(entry: &AgentReport) -> bool {
    matches!(
        entry.action.as_str(),
        "conflict" | "error" | "drift" | "delete" | "delete-waits" | "orphan"
    )
}

/// A value as shown: an empty text would be invisible.
pub fn shown(value: &str) -> &str {
    if value.is_empty() { "(empty)" } else { value }
}

/// The groups' totals line (`Skill groups: 1 to create, …`), when the report has groups.
pub fn group_totals(report: &Report, applied: bool) -> Option<String> {
    let line = totals(report.group_summary.as_ref()?, applied);
    let (_, counts) = line.split_once(": ")?;
    Some(format!("Skill groups: {counts}"))
}

/// Every entry, skill groups first (the order apply works in).
pub fn entries(report: &Report) -> impl Iterator<Item = &AgentReport> {
    report.groups.iter().chain(&report.agents)
}

/// The totals line of a plan (`applied = false`) or an apply.
pub fn totals(s: &Summary, applied: bool) -> String {
    if applied {
        format!(
            "Applied: {} created, {} updated, {} adopted, {} unchanged, {} drifted, {} conflicts, {} errors.",
            s.create, s.update, s.adopt, s.unchanged, s.drifted, s.conflicts, s.errors
        )
    } else {
        // Deletions that wait are rare (a removed skill group still referenced): named only when
        // there are some, so the line stays as it was otherwise.
        let waiting = match s.waiting {
            0 => String::new(),
            n => format!(", {n} waiting to delete"),
        };
        format!(
            "Plan: {} to create, {} to update, {} to adopt, {} to delete{waiting}, {} to orphan, {} unchanged, {} drifted, {} conflicts, {} errors.",
            s.create, s.update, s.adopt, s.delete, s.orphan, s.unchanged, s.drifted, s.conflicts, s.errors
        )
    }
}
