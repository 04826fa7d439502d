//! `samlfed rollout status`: where a StackSet operation stands across every account, instead of
//! refreshing the StackSets console.
//!
//! One snapshot reads the operation (`DescribeStackSetOperation`; the latest one from
//! `ListStackSetOperations` when no id is given), every stack instance (`ListStackInstances`) and
//! the operation's per-account results (`ListStackSetOperationResults`), each list paginated to
//! the end, so 10,000 accounts are 10,000 rows. With `--watch` the snapshot repeats at an interval
//! under a progress bar until the operation ends: the make targets that start an operation
//! (`make stackset-add-wave`, `stackset-update`) return once it is submitted, and this is what
//! waits for it. `--max-wait` defaults to a day, longer than the largest wave (docs/rollouts.md),
//! and a poll that fails on AWS's side (throttling, the network) is retried at the next interval
//! rather than ending the watch, up to [`MAX_FAILED_POLLS`] in a row. The SDK is configured
//! exactly as the Lambda's ([`crate::aws::loader`]: `AWS_ENDPOINT_URL` honoured, standard retries).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudformation::error::ProvideErrorMetadata as _;
use aws_sdk_cloudformation::primitives::{DateTime, DateTimeFormat};
use aws_sdk_cloudformation::types::{
    CallAs, StackInstanceDetailedStatus, StackInstanceStatus, StackInstanceSummary, StackSetOperationResultStatus,
    StackSetOperationResultSummary,
};
use aws_sdk_cloudformation::Client;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tokio::time::Instant;

mod view;

pub use view::{render_human, summary_line};

use super::{exit, CliError, Output, Style};

/// Page size for every list call (the APIs' maximum).
const PAGE_SIZE: i32 = 100;
/// A bound on pages per listing: 1,000 pages of 100 is 100,000 rows, far beyond any StackSet.
const MAX_PAGES: usize = 1_000;
/// Polls in a row that may fail with an AWS error (after the SDK's own retries) before `--watch`
/// gives up: at the default 15 s interval, five minutes of throttling or network trouble.
pub const MAX_FAILED_POLLS: u32 = 20;

/// Arguments of `samlfed rollout`.
#[derive(Debug, Clone, clap::Args)]
pub struct RolloutArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: RolloutCommand,
}

/// `samlfed rollout` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum RolloutCommand {
    /// Show a StackSet operation's progress: accounts by status, failed accounts' reasons, summary.
    #[command(after_help = super::EXIT_CODES_HELP)]
    Status(StatusArgs),
}

/// Who calls the StackSets API, as CloudFormation's `CallAs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CallAsArg {
    /// The management account, or a self-managed StackSet's administrator account.
    #[default]
    #[value(name = "self")]
    SelfAccount,
    /// A delegated administrator account of the organisation (service-managed StackSets).
    DelegatedAdmin,
}

impl CallAsArg {
    fn sdk(self) -> CallAs {
        match self {
            CallAsArg::SelfAccount => CallAs::SelfValue,
            CallAsArg::DelegatedAdmin => CallAs::DelegatedAdmin,
        }
    }
}

/// Arguments of `samlfed rollout status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// The StackSet's name (or id).
    #[arg(long, value_name = "NAME")]
    pub stack_set: String,

    /// The operation to follow [default: the latest one].
    #[arg(long, value_name = "ID")]
    pub operation_id: Option<String>,

    /// Keep polling, with a progress bar, until the operation ends.
    #[arg(long)]
    pub watch: bool,

    /// Seconds between polls with --watch.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,

    /// Give up watching after this many seconds (exit code 4); the default, a day, outlasts the
    /// largest wave.
    #[arg(long, default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..=604_800))]
    pub max_wait: u64,

    /// CallAs for the StackSets API.
    #[arg(long, value_enum, default_value_t = CallAsArg::SelfAccount)]
    pub call_as: CallAsArg,

    /// List succeeded accounts one by one too (by default they are counted).
    #[arg(long)]
    pub all: bool,

    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One account's state, most urgent first when sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountStatus {
    /// The stack operation failed in this account.
    Failed,
    /// CloudFormation can no longer manage the stack instance.
    Inoperable,
    /// The operation is working on this account.
    Running,
    /// The operation has not reached this account yet.
    Pending,
    /// The operation was stopped before this account.
    Cancelled,
    /// Skipped: the account is suspended.
    Skipped,
    /// The instance does not match the StackSet's current template or parameters.
    Outdated,
    /// Done and current.
    Succeeded,
    /// A status this version does not know.
    Unknown,
}

impl AccountStatus {
    fn label(self) -> &'static str {
        match self {
            AccountStatus::Failed => "FAILED",
            AccountStatus::Inoperable => "INOPERABLE",
            AccountStatus::Running => "RUNNING",
            AccountStatus::Pending => "PENDING",
            AccountStatus::Cancelled => "CANCELLED",
            AccountStatus::Skipped => "SKIPPED",
            AccountStatus::Outdated => "OUTDATED",
            AccountStatus::Succeeded => "SUCCEEDED",
            AccountStatus::Unknown => "UNKNOWN",
        }
    }

    fn from_result(status: Option<&StackSetOperationResultStatus>) -> AccountStatus {
        match status {
            Some(StackSetOperationResultStatus::Succeeded) => AccountStatus::Succeeded,
            Some(StackSetOperationResultStatus::Failed) => AccountStatus::Failed,
            Some(StackSetOperationResultStatus::Running) => AccountStatus::Running,
            Some(StackSetOperationResultStatus::Pending) => AccountStatus::Pending,
            Some(StackSetOperationResultStatus::Cancelled) => AccountStatus::Cancelled,
            _ => AccountStatus::Unknown,
        }
    }

    fn from_instance(instance: &StackInstanceSummary) -> AccountStatus {
        match instance.stack_instance_status().and_then(|s| s.detailed_status()) {
            Some(StackInstanceDetailedStatus::Succeeded) => AccountStatus::Succeeded,
            Some(StackInstanceDetailedStatus::Failed | StackInstanceDetailedStatus::FailedImport) => {
                AccountStatus::Failed
            }
            Some(StackInstanceDetailedStatus::Inoperable) => AccountStatus::Inoperable,
            Some(StackInstanceDetailedStatus::Running) => AccountStatus::Running,
            Some(StackInstanceDetailedStatus::Pending) => AccountStatus::Pending,
            Some(StackInstanceDetailedStatus::Cancelled) => AccountStatus::Cancelled,
            Some(StackInstanceDetailedStatus::SkippedSuspendedAccount) => AccountStatus::Skipped,
            _ => match instance.status() {
                Some(StackInstanceStatus::Current) => AccountStatus::Succeeded,
                Some(StackInstanceStatus::Outdated) => AccountStatus::Outdated,
                Some(StackInstanceStatus::Inoperable) => AccountStatus::Inoperable,
                _ => AccountStatus::Unknown,
            },
        }
    }
}

/// One stack instance (an account in a Region) and how it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountRow {
    /// The account ID.
    pub account: String,
    /// The Region.
    pub region: String,
    /// The operation's result for it, else the instance's own status.
    pub status: AccountStatus,
    /// Why, when CloudFormation says (always worth reading for FAILED).
    pub reason: Option<String>,
}

/// The StackSet operation being followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationView {
    /// The operation id.
    pub operation_id: String,
    /// CREATE, UPDATE, DELETE or DETECT_DRIFT.
    pub action: String,
    /// QUEUED, RUNNING, STOPPING, STOPPED, SUCCEEDED or FAILED.
    pub status: String,
    /// When it started (RFC 3339).
    pub created: Option<String>,
    /// When it ended (RFC 3339).
    pub ended: Option<String>,
    /// CloudFormation's reason for a failed operation.
    pub status_reason: Option<String>,
}

impl OperationView {
    /// True while CloudFormation is still working on it.
    pub fn is_running(&self) -> bool {
        matches!(self.status.as_str(), "QUEUED" | "RUNNING" | "STOPPING")
    }
}

/// The summary line's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    /// Succeeded (and current).
    pub succeeded: usize,
    /// Failed or inoperable.
    pub failed: usize,
    /// Running or pending.
    pub running: usize,
    /// Cancelled, skipped, outdated or unknown.
    pub other: usize,
    /// Every account × Region.
    pub total: usize,
}

impl Summary {
    fn of(rows: &[AccountRow]) -> Summary {
        let mut summary = Summary { total: rows.len(), ..Summary::default() };
        for row in rows {
            match row.status {
                AccountStatus::Succeeded => summary.succeeded += 1,
                AccountStatus::Failed | AccountStatus::Inoperable => summary.failed += 1,
                AccountStatus::Running | AccountStatus::Pending => summary.running += 1,
                _ => summary.other += 1,
            }
        }
        summary
    }

    /// Accounts the operation is done with, for the progress bar.
    pub fn done(&self) -> usize {
        self.total - self.running
    }
}

/// One look at a StackSet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolloutReport {
    /// The StackSet asked about.
    pub stack_set: String,
    /// The operation followed; `None` when the StackSet has had none.
    pub operation: Option<OperationView>,
    /// The counts.
    pub summary: Summary,
    /// Every account × Region, most urgent first.
    pub accounts: Vec<AccountRow>,
}

/// What to look at.
#[derive(Debug, Clone)]
pub struct Query {
    /// StackSet name or id.
    pub stack_set: String,
    /// The operation, or the latest.
    pub operation_id: Option<String>,
    /// CallAs.
    pub call_as: CallAsArg,
}

fn aws_error<E, R>(
    operation: &'static str,
    query: &Query,
    err: &aws_sdk_cloudformation::error::SdkError<E, R>,
) -> CliError
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err.code() {
        Some("StackSetNotFoundException") => CliError::StackSetNotFound(query.stack_set.clone()),
        Some("OperationNotFoundException") => CliError::OperationNotFound {
            stack_set: query.stack_set.clone(),
            operation_id: query.operation_id.clone().unwrap_or_default(),
        },
        _ => CliError::Aws { operation, message: crate::aws::describe_error(err) },
    }
}

fn timestamp(t: Option<&DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
}

/// The id of the StackSet's most recent operation, if it has had any.
async fn latest_operation(client: &Client, query: &Query) -> Result<Option<String>, CliError> {
    let mut pages = client
        .list_stack_set_operations()
        .stack_set_name(&query.stack_set)
        .call_as(query.call_as.sdk())
        .into_paginator()
        .page_size(PAGE_SIZE)
        .send();
    let mut latest: Option<((i64, u32), String)> = None;
    for _ in 0..MAX_PAGES {
        let Some(page) = pages.next().await else { break };
        let page = page.map_err(|e| aws_error("ListStackSetOperations", query, &e))?;
        for op in page.summaries() {
            let created = op.creation_timestamp().map(|t| (t.secs(), t.subsec_nanos())).unwrap_or_default();
            if let Some(id) = op.operation_id() {
                if latest.as_ref().is_none_or(|(at, _)| created > *at) {
                    latest = Some((created, id.to_string()));
                }
            }
        }
    }
    Ok(latest.map(|(_, id)| id))
}

/// Reads the operation, every stack instance and every result of the operation, once.
pub async fn snapshot(client: &Client, query: &Query) -> Result<RolloutReport, CliError> {
    let operation_id = match &query.operation_id {
        Some(id) => Some(id.clone()),
        None => latest_operation(client, query).await?,
    };
    let query = Query { operation_id: operation_id.clone(), ..query.clone() };
    let operation = match &operation_id {
        None => None,
        Some(id) => {
            let out = client
                .describe_stack_set_operation()
                .stack_set_name(&query.stack_set)
                .operation_id(id)
                .call_as(query.call_as.sdk())
                .send()
                .await
                .map_err(|e| aws_error("DescribeStackSetOperation", &query, &e))?;
            let op = out.stack_set_operation();
            Some(OperationView {
                operation_id: id.clone(),
                action: op.and_then(|o| o.action()).map(|a| a.as_str().to_string()).unwrap_or_default(),
                status: op.and_then(|o| o.status()).map(|s| s.as_str().to_string()).unwrap_or_default(),
                created: timestamp(op.and_then(|o| o.creation_timestamp())),
                ended: timestamp(op.and_then(|o| o.end_timestamp())),
                status_reason: op.and_then(|o| o.status_reason()).map(str::to_string),
            })
        }
    };

    let mut rows: BTreeMap<(String, String), AccountRow> = BTreeMap::new();
    let mut pages = client
        .list_stack_instances()
        .stack_set_name(&query.stack_set)
        .call_as(query.call_as.sdk())
        .into_paginator()
        .page_size(PAGE_SIZE)
        .send();
    for _ in 0..MAX_PAGES {
        let Some(page) = pages.next().await else { break };
        let page = page.map_err(|e| aws_error("ListStackInstances", &query, &e))?;
        for instance in page.summaries() {
            let key =
                (instance.account().unwrap_or_default().to_string(), instance.region().unwrap_or_default().to_string());
            let row = AccountRow {
                account: key.0.clone(),
                region: key.1.clone(),
                status: AccountStatus::from_instance(instance),
                reason: instance.status_reason().filter(|r| !r.is_empty()).map(str::to_string),
            };
            rows.insert(key, row);
        }
    }

    if let Some(id) = &operation_id {
        let mut pages = client
            .list_stack_set_operation_results()
            .stack_set_name(&query.stack_set)
            .operation_id(id)
            .call_as(query.call_as.sdk())
            .into_paginator()
            .page_size(PAGE_SIZE)
            .send();
        for _ in 0..MAX_PAGES {
            let Some(page) = pages.next().await else { break };
            let page = page.map_err(|e| aws_error("ListStackSetOperationResults", &query, &e))?;
            for result in page.summaries() {
                merge_result(&mut rows, result);
            }
        }
    }

    let mut accounts: Vec<AccountRow> = rows.into_values().collect();
    accounts.sort_by(|a, b| (a.status, &a.account, &a.region).cmp(&(b.status, &b.account, &b.region)));
    Ok(RolloutReport { stack_set: query.stack_set.clone(), operation, summary: Summary::of(&accounts), accounts })
}

/// The operation's own result for an account is the more specific: it wins over the instance's.
fn merge_result(rows: &mut BTreeMap<(String, String), AccountRow>, result: &StackSetOperationResultSummary) {
    let key = (result.account().unwrap_or_default().to_string(), result.region().unwrap_or_default().to_string());
    let status = AccountStatus::from_result(result.status());
    let reason = result.status_reason().filter(|r| !r.is_empty()).map(str::to_string);
    let row = rows.entry(key.clone()).or_insert_with(|| AccountRow {
        account: key.0.clone(),
        region: key.1.clone(),
        status,
        reason: None,
    });
    row.status = status;
    if reason.is_some() {
        row.reason = reason;
    }
}

/// Takes snapshots every `interval` until the operation ends or `max_wait` has passed, calling
/// `on_progress` after each. A poll that fails with an AWS error after the first snapshot is
/// reported to `on_failed_poll` and retried at the next interval, up to [`MAX_FAILED_POLLS`] in a
/// row; any other error ends the watch. Returns the last snapshot.
pub async fn watch(
    client: &Client,
    query: &Query,
    interval: Duration,
    max_wait: Duration,
    mut on_progress: impl FnMut(&RolloutReport),
    mut on_failed_poll: impl FnMut(&CliError, u32),
) -> Result<RolloutReport, CliError> {
    let give_up = Instant::now() + max_wait;
    // Follow one operation throughout, even if another one starts meanwhile.
    let mut query = query.clone();
    let polls = max_wait.as_millis() / interval.as_millis().max(1) + 2;
    let mut report = snapshot(client, &query).await?;
    on_progress(&report);
    query.operation_id = report.operation.as_ref().map(|o| o.operation_id.clone());
    let mut failed_in_a_row = 0u32;
    for _ in 0..polls {
        let running = report.operation.as_ref().is_some_and(OperationView::is_running);
        if !running || Instant::now() + interval > give_up {
            break;
        }
        tokio::time::sleep(interval).await;
        match snapshot(client, &query).await {
            Ok(next) => {
                failed_in_a_row = 0;
                report = next;
                on_progress(&report);
            }
            Err(err @ CliError::Aws { .. }) if failed_in_a_row + 1 < MAX_FAILED_POLLS => {
                failed_in_a_row += 1;
                on_failed_poll(&err, failed_in_a_row);
            }
            Err(err) => return Err(err),
        }
    }
    Ok(report)
}

/// 0 all succeeded; 1 the operation failed or stopped, or an account failed; 4 still running.
pub fn exit_code(report: &RolloutReport) -> u8 {
    let failed = report.summary.failed > 0
        || report.operation.as_ref().is_some_and(|o| matches!(o.status.as_str(), "FAILED" | "STOPPED"));
    let running = report.operation.as_ref().is_some_and(OperationView::is_running) || report.summary.running > 0;
    if failed {
        exit::NEGATIVE
    } else if running {
        exit::RUNNING
    } else {
        exit::OK
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal, or for `--json`).
pub struct Progress(ProgressBar);

impl Progress {
    /// A bar that draws only when `visible` and stderr is a terminal.
    pub fn new(visible: bool) -> Progress {
        let target = if visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] [{bar:40}] {pos}/{len} accounts  {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress(bar)
    }

    /// Shows a snapshot: accounts done out of all, and the counts.
    pub fn update(&self, report: &RolloutReport) {
        let s = report.summary;
        self.0.set_length(s.total as u64);
        self.0.set_position(s.done() as u64);
        let status = report.operation.as_ref().map(|o| o.status.as_str()).unwrap_or("no operation");
        self.0.set_message(format!("{status}: {} succeeded, {} failed, {} running", s.succeeded, s.failed, s.running));
    }

    /// Says, above the bar, that a poll failed and will be retried.
    pub fn failed_poll(&self, err: &CliError, in_a_row: u32) {
        let line = format!("poll failed ({in_a_row} in a row, retrying at the next interval): {err}");
        if self.0.is_hidden() {
            eprintln!("{line}");
        } else {
            self.0.println(line);
        }
    }

    /// Removes the bar before the table is printed.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Runs `samlfed rollout status`.
pub async fn run(args: &StatusArgs, style: Style) -> Result<Output, CliError> {
    let config = crate::aws::loader().load().await;
    let client = Client::new(&config);
    let query =
        Query { stack_set: args.stack_set.clone(), operation_id: args.operation_id.clone(), call_as: args.call_as };
    let report = if args.watch {
        let progress = Progress::new(!args.json);
        let report = watch(
            &client,
            &query,
            Duration::from_secs(args.interval),
            Duration::from_secs(args.max_wait),
            |r| progress.update(r),
            |err, in_a_row| progress.failed_poll(err, in_a_row),
        )
        .await;
        progress.finish();
        report?
    } else {
        snapshot(&client, &query).await?
    };
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
        text.push('\n');
        text
    } else {
        render_human(&report, style, args.all)
    };
    Ok(Output { text, exit_code: exit_code(&report) })
}
