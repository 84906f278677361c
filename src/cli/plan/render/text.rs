//! The text form: one line per object, its field changes below it (`before → after` for updates).

use super::super::report::{AgentReport, ChangeReport, Report};
use super::{entries, group_totals, shown, symbol, tells, totals};

/// The text form of a report.
pub fn text(report: &Report, applied: bool) -> String {
    let mut out = String::new();
    for entry in entries(report) {
        out.push_str(&header(entry));
        for change in &entry.changes {
            out.push_str(&format!("      {}\n", change_line(change)));
        }
        if tells(entry) || (applied && entry.ready == Some(false)) {
            out.push_str(&format!("      {}\n", entry.message));
        }
        if applied {
            out.push_str(&format!(
                "      external id {}, Ready={}, Synced={}\n",
                entry.external_id.as_deref().unwrap_or("-"),
                condition(entry.ready),
                condition(entry.synced),
            ));
        }
    }
    if let Some(line) = group_totals(report, applied) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&totals(&report.summary, applied));
    out.push('\n');
    out
}

fn header(entry: &AgentReport) -> String {
    format!(
        "{} {:<9} {:<32} {:<9} {}\n",
        symbol(&entry.action),
        entry.action,
        entry.agent,
        entry.vendor.as_deref().unwrap_or("-"),
        entry.key.as_deref().unwrap_or("-")
    )
}

/// `field: value` for a new value, `field: before → after` for a change.
pub fn change_line(change: &ChangeReport) -> String {
    match &change.before {
        Some(before) => format!("{}: {} → {}", change.field, shown(before), shown(&change.after)),
        None => format!("{}: {}", change.field, shown(&change.after)),
    }
}

fn condition(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "True",
        Some(false) => "False",
        None => "-",
    }
}
