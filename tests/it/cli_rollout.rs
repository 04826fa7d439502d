//! `samlfed rollout status`: StackSet operations across thousands of accounts. The SDK is mocked at
//! its own seam (aws-smithy-mocks) for what the emulator cannot do — 10,000 paginated instances,
//! a running operation, failures — and the wire format is checked against the emulator (moto).
#![cfg(feature = "cli")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationOutput;
use aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput;
use aws_sdk_cloudformation::operation::list_stack_set_operation_results::ListStackSetOperationResultsOutput;
use aws_sdk_cloudformation::operation::list_stack_set_operations::{
    ListStackSetOperationsError, ListStackSetOperationsOutput,
};
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::error::StackSetNotFoundException;
use aws_sdk_cloudformation::types::{
    StackInstanceComprehensiveStatus, StackInstanceDetailedStatus, StackInstanceStatus, StackInstanceSummary,
    StackSetOperation, StackSetOperationAction, StackSetOperationResultStatus, StackSetOperationResultSummary,
    StackSetOperationStatus, StackSetOperationSummary,
};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use samlfed::cli::rollout::{self, AccountStatus, CallAsArg, Query};
use samlfed::cli::{exit, CliError, Style};

use crate::support;

const STACK_SET: &str = "samlfed-federation";
const OPERATION: &str = "7f3c2a10-0000-4000-8000-00000000beef";
const PAGE: usize = 100;

fn account(i: usize) -> String {
    format!("{:012}", 100_000_000_000usize + i)
}

/// The result CloudFormation reports for account `i` of the fleet.
fn result_status(i: usize, failed: usize, running: usize) -> StackSetOperationResultStatus {
    if i < failed {
        StackSetOperationResultStatus::Failed
    } else if i < failed + running {
        StackSetOperationResultStatus::Running
    } else {
        StackSetOperationResultStatus::Succeeded
    }
}

fn failure_reason(i: usize) -> String {
    format!("ResourceLogicalId:IdentityProvider, ResourceType:Custom::SAMLProvider, ResourceStatusReason:Name: a SAML provider named \"CorpIdP\" already exists in account {}", account(i))
}

/// Pages of `total` items: the token is the next page's first index.
fn page_of(token: Option<&str>, total: usize) -> (std::ops::Range<usize>, Option<String>) {
    let start: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
    let end = (start + PAGE).min(total);
    (start..end, (end < total).then(|| end.to_string()))
}

fn operations_rule() -> Rule {
    mock!(Client::list_stack_set_operations).match_requests(|r| r.stack_set_name() == Some(STACK_SET)).then_output(
        || {
            ListStackSetOperationsOutput::builder()
                .summaries(
                    StackSetOperationSummary::builder()
                        .operation_id("older-operation")
                        .action(StackSetOperationAction::Create)
                        .status(StackSetOperationStatus::Succeeded)
                        .creation_timestamp(DateTime::from_secs(1_790_000_000))
                        .build(),
                )
                .summaries(
                    StackSetOperationSummary::builder()
                        .operation_id(OPERATION)
                        .action(StackSetOperationAction::Update)
                        .status(StackSetOperationStatus::Running)
                        .creation_timestamp(DateTime::from_secs(1_795_000_000))
                        .build(),
                )
                .build()
        },
    )
}

fn describe(status: StackSetOperationStatus) -> DescribeStackSetOperationOutput {
    DescribeStackSetOperationOutput::builder()
        .stack_set_operation(
            StackSetOperation::builder()
                .operation_id(OPERATION)
                .action(StackSetOperationAction::Update)
                .status(status)
                .creation_timestamp(DateTime::from_secs(1_795_000_000))
                .build(),
        )
        .build()
}

fn instances_rule(total: usize) -> Rule {
    mock!(Client::list_stack_instances).match_requests(|r| r.stack_set_name() == Some(STACK_SET)).then_compute_output(
        move |input| {
            let (range, next) = page_of(input.next_token(), total);
            let summaries = range
                .map(|i| {
                    StackInstanceSummary::builder()
                        .account(account(i))
                        .region("us-east-1")
                        .status(StackInstanceStatus::Outdated)
                        .stack_instance_status(
                            StackInstanceComprehensiveStatus::builder()
                                .detailed_status(StackInstanceDetailedStatus::Pending)
                                .build(),
                        )
                        .build()
                })
                .collect();
            ListStackInstancesOutput::builder().set_summaries(Some(summaries)).set_next_token(next).build()
        },
    )
}

fn results_rule(total: usize, failed: usize, running: usize) -> Rule {
    mock!(Client::list_stack_set_operation_results)
        .match_requests(|r| r.operation_id() == Some(OPERATION))
        .then_compute_output(move |input| {
            let (range, next) = page_of(input.next_token(), total);
            let summaries = range
                .map(|i| {
                    let status = result_status(i, failed, running);
                    let reason = (status == StackSetOperationResultStatus::Failed).then(|| failure_reason(i));
                    StackSetOperationResultSummary::builder()
                        .account(account(i))
                        .region("us-east-1")
                        .status(status)
                        .set_status_reason(reason)
                        .build()
                })
                .collect();
            ListStackSetOperationResultsOutput::builder().set_summaries(Some(summaries)).set_next_token(next).build()
        })
}

fn query() -> Query {
    Query { stack_set: STACK_SET.into(), operation_id: None, call_as: CallAsArg::SelfAccount }
}

#[tokio::test]
async fn ten_thousand_paginated_instances_are_all_counted_with_each_failure_reason() {
    let operations = operations_rule();
    let describe_rule = mock!(Client::describe_stack_set_operation)
        .match_requests(|r| r.operation_id() == Some(OPERATION))
        .then_output(|| describe(StackSetOperationStatus::Failed));
    let instances = instances_rule(10_000);
    let results = results_rule(10_000, 7, 3);
    let client =
        mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &[&operations, &describe_rule, &instances, &results]);

    let report = rollout::snapshot(&client, &query()).await.expect("snapshot");

    assert_eq!(instances.num_calls(), 100, "every page of ListStackInstances was read");
    assert_eq!(results.num_calls(), 100, "every page of ListStackSetOperationResults was read");
    let op = report.operation.as_ref().expect("the latest operation");
    assert_eq!(op.operation_id, OPERATION, "the newest of the listed operations is followed");
    assert_eq!(op.status, "FAILED");
    assert_eq!(report.accounts.len(), 10_000);
    assert_eq!((report.summary.succeeded, report.summary.failed, report.summary.running), (9_990, 7, 3));
    assert_eq!(report.summary.total, 10_000);
    let failed: Vec<_> = report.accounts.iter().filter(|r| r.status == AccountStatus::Failed).collect();
    assert_eq!(failed.len(), 7);
    for (i, row) in failed.iter().enumerate() {
        assert_eq!(row.account, account(i));
        assert_eq!(row.reason.as_deref(), Some(failure_reason(i).as_str()));
    }
    assert_eq!(rollout::exit_code(&report), exit::NEGATIVE);

    let text = rollout::render_human(&report, Style::PLAIN, false);
    assert!(text.contains(&format!("FAILED     {}  us-east-1       {}", account(0), failure_reason(0))), "{text}");
    assert!(text.contains("SUCCEEDED  9,990 account × Region pairs (--all lists them)"), "{text}");
    assert!(text.ends_with("9,990 succeeded / 7 failed / 3 running / 10,000 total\n"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("RUNNING")).count(), 3);
    let all = rollout::render_human(&report, Style::PLAIN, true);
    assert_eq!(all.lines().filter(|l| l.starts_with("SUCCEEDED  1")).count(), 9_990);
}

#[tokio::test]
async fn watch_polls_until_the_operation_ends_and_reports_progress_each_time() {
    let operations = operations_rule();
    let describe_rule = mock!(Client::describe_stack_set_operation)
        .sequence()
        .output(|| describe(StackSetOperationStatus::Running))
        .times(2)
        .output(|| describe(StackSetOperationStatus::Succeeded))
        .build();
    let instances = instances_rule(250);
    // Three polls: 150 running, then 50, then none.
    let results = mock!(Client::list_stack_set_operation_results)
        .sequence()
        .output(|| page(0..100, 150))
        .output(|| page(100..200, 150))
        .output(|| page(200..250, 150))
        .output(|| page(0..100, 50))
        .output(|| page(100..200, 50))
        .output(|| page(200..250, 50))
        .output(|| page(0..100, 0))
        .output(|| page(100..200, 0))
        .output(|| page(200..250, 0))
        .build();
    let client =
        mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &[&operations, &describe_rule, &instances, &results]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let report = rollout::watch(
        &client,
        &query(),
        Duration::from_millis(5),
        Duration::from_secs(30),
        move |r| {
            let op = r.operation.as_ref().map(|o| o.status.clone()).unwrap_or_default();
            record.lock().unwrap().push((op, r.summary.done(), r.summary.total));
        },
        |err, _| panic!("no poll fails here: {err}"),
    )
    .await
    .expect("watch");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [("RUNNING".to_string(), 100, 250), ("RUNNING".to_string(), 200, 250), ("SUCCEEDED".to_string(), 250, 250)]
    );
    assert_eq!(operations.num_calls(), 1, "the operation is chosen once and then followed");
    assert_eq!(rollout::exit_code(&report), exit::OK);
    assert_eq!(report.summary.succeeded, 250);

    fn page(range: std::ops::Range<usize>, running: usize) -> ListStackSetOperationResultsOutput {
        let next = (range.end < 250).then(|| range.end.to_string());
        let summaries = range
            .map(|i| {
                StackSetOperationResultSummary::builder()
                    .account(account(i))
                    .region("us-east-1")
                    .status(result_status(i, 0, running))
                    .build()
            })
            .collect();
        ListStackSetOperationResultsOutput::builder().set_summaries(Some(summaries)).set_next_token(next).build()
    }
}

#[tokio::test]
async fn a_snapshot_of_a_running_operation_exits_4_and_max_wait_bounds_the_watch() {
    let operations = operations_rule();
    let describe_rule =
        mock!(Client::describe_stack_set_operation).then_output(|| describe(StackSetOperationStatus::Running));
    let instances = instances_rule(10);
    let results = results_rule(10, 0, 10);
    let client =
        mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &[&operations, &describe_rule, &instances, &results]);
    let started = std::time::Instant::now();
    let report =
        rollout::watch(&client, &query(), Duration::from_millis(20), Duration::from_millis(100), |_| {}, |_, _| {})
            .await
            .expect("watch");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(describe_rule.num_calls() >= 2, "it polled while waiting");
    assert_eq!(report.summary.running, 10);
    assert_eq!(rollout::exit_code(&report), exit::RUNNING);
}

/// A wave runs for hours: a throttled poll is retried at the next interval, not the end of the watch.
#[tokio::test]
async fn watch_outlasts_failed_polls_and_gives_up_only_after_many_in_a_row() {
    let throttled = || {
        aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationError::generic(
            ErrorMetadata::builder().code("Throttling").message("Rate exceeded").build(),
        )
    };
    // The SDK's own retries are off, so each mocked error is one failed poll.
    fn no_sdk_retries(c: aws_sdk_cloudformation::config::Builder) -> aws_sdk_cloudformation::config::Builder {
        c.retry_config(aws_sdk_cloudformation::config::retry::RetryConfig::disabled())
    }
    let operations = operations_rule();
    let describe_rule = mock!(Client::describe_stack_set_operation)
        .sequence()
        .output(|| describe(StackSetOperationStatus::Running))
        .error(throttled)
        .times(3)
        .output(|| describe(StackSetOperationStatus::Succeeded))
        .build();
    let instances = instances_rule(4);
    let results = results_rule(4, 0, 0);
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&operations, &describe_rule, &instances, &results],
        no_sdk_retries
    );
    let failed = Arc::new(Mutex::new(Vec::new()));
    let seen = failed.clone();
    let report = rollout::watch(
        &client,
        &query(),
        Duration::from_millis(5),
        Duration::from_secs(30),
        |_| {},
        move |err, in_a_row| seen.lock().unwrap().push((err.to_string(), in_a_row)),
    )
    .await
    .expect("three throttled polls do not end the watch");
    assert_eq!(report.operation.as_ref().map(|o| o.status.as_str()), Some("SUCCEEDED"));
    assert_eq!(rollout::exit_code(&report), exit::OK);
    let failed = failed.lock().unwrap().clone();
    assert_eq!(failed.iter().map(|(_, n)| *n).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(failed[0].0.starts_with("DescribeStackSetOperation failed: "), "{failed:?}");

    // Throttled for good: the watch ends with the error after MAX_FAILED_POLLS polls in a row.
    let describe_rule = mock!(Client::describe_stack_set_operation)
        .sequence()
        .output(|| describe(StackSetOperationStatus::Running))
        .error(throttled)
        .times(rollout::MAX_FAILED_POLLS as usize)
        .build();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&operations, &describe_rule, &instances, &results],
        no_sdk_retries
    );
    let err = rollout::watch(&client, &query(), Duration::from_millis(1), Duration::from_secs(30), |_| {}, |_, _| {})
        .await
        .expect_err("gives up");
    assert!(matches!(err, CliError::Aws { operation: "DescribeStackSetOperation", .. }), "{err:?}");
    assert_eq!(describe_rule.num_calls(), 1 + rollout::MAX_FAILED_POLLS as usize);
}

#[tokio::test]
async fn a_missing_stack_set_is_one_error_with_a_hint() {
    let not_found = mock!(Client::list_stack_set_operations).then_error(|| {
        ListStackSetOperationsError::StackSetNotFoundException(
            StackSetNotFoundException::builder()
                .message("StackSet nope not found")
                .meta(ErrorMetadata::builder().code("StackSetNotFoundException").build())
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &[&not_found]);
    let query = Query { stack_set: "nope".into(), ..query() };
    let err = rollout::snapshot(&client, &query).await.expect_err("no such StackSet");
    assert!(matches!(err, CliError::StackSetNotFound(ref name) if name == "nope"), "{err:?}");
    assert_eq!(err.to_string(), "StackSet \"nope\" not found");
    assert!(err.hint().contains("--call-as delegated-admin"));
    assert_eq!(err.exit_code(), exit::ERROR);
}

#[tokio::test]
async fn a_stack_set_without_operations_is_judged_by_its_instances() {
    let none = mock!(Client::list_stack_set_operations)
        .then_output(|| ListStackSetOperationsOutput::builder().set_summaries(Some(Vec::new())).build());
    let instances = mock!(Client::list_stack_instances).then_output(|| {
        ListStackInstancesOutput::builder()
            .summaries(
                StackInstanceSummary::builder()
                    .account("111111111111")
                    .region("eu-west-1")
                    .status(StackInstanceStatus::Inoperable)
                    .status_reason("the stack was deleted outside StackSets")
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &[&none, &instances]);
    let report = rollout::snapshot(&client, &query()).await.expect("snapshot");
    assert!(report.operation.is_none());
    assert_eq!(report.accounts[0].status, AccountStatus::Inoperable);
    assert_eq!(rollout::exit_code(&report), exit::NEGATIVE);
    insta::assert_snapshot!("rollout_no_operation", rollout::render_human(&report, Style::PLAIN, false));
}

#[tokio::test]
async fn the_human_table_lists_failures_first() {
    let operations = operations_rule();
    let describe_rule = mock!(Client::describe_stack_set_operation).then_output(|| {
        DescribeStackSetOperationOutput::builder()
            .stack_set_operation(
                StackSetOperation::builder()
                    .operation_id(OPERATION)
                    .action(StackSetOperationAction::Update)
                    .status(StackSetOperationStatus::Failed)
                    .status_reason("The Operation failed because the failure tolerance was exceeded")
                    .creation_timestamp(DateTime::from_secs(1_795_000_000))
                    .end_timestamp(DateTime::from_secs(1_795_000_600))
                    .build(),
            )
            .build()
    });
    let instances = instances_rule(6);
    let results = results_rule(6, 2, 1);
    let client =
        mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &[&operations, &describe_rule, &instances, &results]);
    let report = rollout::snapshot(&client, &query()).await.expect("snapshot");
    insta::assert_snapshot!("rollout_failed_operation", rollout::render_human(&report, Style::PLAIN, false));
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["summary"], serde_json::json!({"succeeded": 3, "failed": 2, "running": 1, "other": 0, "total": 6}));
    assert_eq!(json["accounts"][0]["status"], "FAILED");
}

/// The real wire format: moto serves StackSets (without pagination or failures); with
/// tools/emulator_stacksets.py (loaded by the emulator) the operation runs on for a moment, so the
/// binary watches it.
#[tokio::test(flavor = "multi_thread")]
async fn the_binary_reads_a_stack_set_from_the_emulator() {
    let emulator = support::emulator::Emulator::start();
    let config = support::harness::sdk_config(&emulator.endpoint(), "123456789012").await;
    let cfn = Client::new(&config);
    cfn.create_stack_set()
        .stack_set_name(STACK_SET)
        .template_body(r#"{"Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}"#)
        .send()
        .await
        .expect("create StackSet");
    let accounts = ["111111111111", "222222222222", "333333333333"];
    let created = cfn
        .create_stack_instances()
        .stack_set_name(STACK_SET)
        .set_accounts(Some(accounts.iter().map(|a| a.to_string()).collect()))
        .regions("us-east-1")
        .send()
        .await
        .expect("create instances");
    let operation_id = created.operation_id().expect("operation id").to_string();

    let output = support::emulator::samlfed_cli(&emulator.endpoint())
        .args([
            "rollout",
            "status",
            "--stack-set",
            STACK_SET,
            "--json",
            "--watch",
            "--interval",
            "1",
            "--max-wait",
            "120",
        ])
        .output()
        .await
        .expect("run samlfed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["operation"]["operation_id"], operation_id.as_str());
    assert_eq!(report["operation"]["status"], "SUCCEEDED");
    assert_eq!(report["summary"]["total"], 3);
    assert_eq!(report["summary"]["succeeded"], 3);
    let listed: Vec<&str> =
        report["accounts"].as_array().unwrap().iter().map(|a| a["account"].as_str().unwrap()).collect();
    assert_eq!(listed, accounts);

    let missing = support::emulator::samlfed_cli(&emulator.endpoint())
        .args(["rollout", "status", "--stack-set", "no-such-set"])
        .output()
        .await
        .expect("run samlfed");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(3), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "one error line and one hint: {stderr}");
    assert!(lines[0].starts_with("error: ") && lines[1].starts_with("  hint: "), "{stderr}");
}
