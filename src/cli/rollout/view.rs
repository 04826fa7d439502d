//! `samlfed rollout status` for people: the operation, the accounts by status, the summary line.

use super::{AccountRow, AccountStatus, RolloutReport, Summary};
use crate::cli::{thousands, Style};

/// The summary line: `9,990 succeeded / 7 failed / 3 running / 10,000 total`.
pub fn summary_line(summary: &Summary) -> String {
    let mut line = format!(
        "{} succeeded / {} failed / {} running / {} total",
        thousands(summary.succeeded),
        thousands(summary.failed),
        thousands(summary.running),
        thousands(summary.total)
    );
    if summary.other > 0 {
        line.push_str(&format!(" ({} cancelled, skipped or outdated)", thousands(summary.other)));
    }
    line
}

/// The report for people: the operation, a table of accounts by status (failed first, with
/// reasons; succeeded ones counted unless `all`), and the summary line.
pub fn render_human(report: &RolloutReport, style: Style, all: bool) -> String {
    let mut out = format!("{:<11}{}\n", "StackSet", report.stack_set);
    match &report.operation {
        Some(op) => {
            let status = match op.status.as_str() {
                "SUCCEEDED" => style.good(&op.status),
                "FAILED" | "STOPPED" => style.bad(&op.status),
                _ => style.warn(&op.status),
            };
            out.push_str(&format!("{:<11}{} {} {status}", "operation", op.operation_id, op.action));
            if let Some(created) = &op.created {
                out.push_str(&format!(", started {created}"));
            }
            if let Some(ended) = &op.ended {
                out.push_str(&format!(", ended {ended}"));
            }
            out.push('\n');
            if let Some(reason) = &op.status_reason {
                out.push_str(&format!("{:<11}{reason}\n", ""));
            }
        }
        None => out.push_str(&format!("{:<11}{}\n", "operation", style.dim("none yet"))),
    }
    out.push('\n');
    let listed: Vec<&AccountRow> =
        report.accounts.iter().filter(|r| all || r.status != AccountStatus::Succeeded).collect();
    if !listed.is_empty() {
        out.push_str(&style.bold(&format!("{:<11}{:<14}{:<16}REASON", "STATUS", "ACCOUNT", "REGION")));
        out.push('\n');
        for row in listed {
            let label = format!("{:<11}", row.status.label());
            let label = match row.status {
                AccountStatus::Failed | AccountStatus::Inoperable => style.bad(&label),
                AccountStatus::Succeeded => style.good(&label),
                _ => style.warn(&label),
            };
            let line = format!("{label}{:<14}{:<16}{}", row.account, row.region, row.reason.as_deref().unwrap_or(""));
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    if !all && report.summary.succeeded > 0 {
        out.push_str(&format!(
            "{}{} account × Region pairs (--all lists them)\n",
            style.good(&format!("{:<11}", "SUCCEEDED")),
            thousands(report.summary.succeeded)
        ));
    }
    out.push('\n');
    out.push_str(&summary_line(&report.summary));
    out.push('\n');
    out
}
