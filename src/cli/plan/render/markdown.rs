//! The Markdown form, for a pull-request comment: a heading with the totals, a table of what changes,
//! the errors in full, then every field change in a collapsed `<details>` block.

use super::super::report::{AgentReport, Report};
use super::{entries, group_totals, shown, symbol, tells, totals};

/// The Markdown form of a plan (or an apply).
pub fn markdown(report: &Report) -> String {
    let s = &report.overall();
    let mut out = String::new();
    let verdict = if s.errors + s.conflicts > 0 {
        "errors"
    } else if s.pending() > 0 {
        "changes pending"
    } else {
        "no changes"
    };
    let applied = report.command == "apply";
    let groups = group_totals(report, applied)
        .map(|l| format!("{l}\n\n"))
        .unwrap_or_default();
    out.push_str(&format!(
        "### ccop {}: {verdict}\n\n{groups}{}\n\n",
        report.command,
        totals(&report.summary, applied)
    ));
    let listed: Vec<&AgentReport> = entries(report).filter(|a| a.action != "no-op").collect();
    if listed.is_empty() {
        out.push_str("Every vendor account matches its manifest.\n");
        return out;
    }
    out.push_str("| | Action | Object | Provider | Vendor key | Fields |\n|---|---|---|---|---|---|\n");
    for entry in &listed {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            symbol(&entry.action),
            entry.action,
            cell(&entry.agent),
            cell(&entry.provider),
            cell(entry.key.as_deref().unwrap_or("-")),
            entry.changes.len()
        ));
    }
    let failures: Vec<&&AgentReport> = listed
        .iter()
        .filter(|a| matches!(a.action.as_str(), "error" | "conflict"))
        .collect();
    if !failures.is_empty() {
        out.push_str("\n**Apply would fail for:**\n\n");
        for entry in failures {
            out.push_str(&format!("- {}: {}\n", cell(&entry.agent), cell(&entry.message)));
        }
    }
    out.push_str("\n<details><summary>Details</summary>\n\n");
    for entry in &listed {
        out.push_str(&details(entry));
    }
    out.push_str("</details>\n");
    out
}

/// One object's section: what it is, its message, and its field changes as a table.
fn details(entry: &AgentReport) -> String {
    let mut out = format!(
        "#### `{} {}` {}\n\n{} of {} ({})",
        symbol(&entry.action),
        entry.action,
        cell(&entry.agent),
        entry.kind,
        cell(&entry.provider),
        entry.vendor.as_deref().unwrap_or("vendor unknown")
    );
    if let Some(policy) = &entry.deletion_policy {
        out.push_str(&format!(", deletionPolicy: {policy}"));
    }
    out.push_str(".\n\n");
    if tells(entry) {
        out.push_str(&format!("{}\n\n", cell(&entry.message)));
    }
    if !entry.changes.is_empty() {
        out.push_str("| Field | Before | After |\n|---|---|---|\n");
        for c in &entry.changes {
            let before = c.before.as_deref().map_or("", shown);
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                c.field,
                cell(before),
                cell(shown(&c.after))
            ));
        }
        out.push('\n');
    }
    out
}

/// Text made safe for a table cell: no column breaks, no line breaks, no HTML.
fn cell(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table_or_inject_html() {
        assert_eq!(cell("a|b\n<script>"), "a\\|b &lt;script&gt;");
    }
}
