//! `samlfed invoke`: send one custom-resource event to a deployed function with `lambda:Invoke`
//! and print the response CloudFormation would have read.
//!
//! The function is invoked as CloudFormation invokes it: synchronously, through the Lambda API
//! (`AWS_ENDPOINT_URL` honoured). Locally that is the emulator's Lambda, which runs the real
//! `bootstrap` through its Lambda Runtime API (`python tools/emulator.py --function
//! target/release/bootstrap` deploys it as `samlfed`); there is no second Runtime API here.
//!
//! The ResponseURL is a presigned S3 PUT URL, exactly as CloudFormation's are, on the S3 the
//! function talks to (`AWS_ENDPOINT_URL`, e.g. the local emulator). The function refuses any
//! other ResponseURL — it only answers `https://` S3 hosts or the emulator's origin — so a plain
//! HTTP receiver on another local port would never be answered. After the invocation the object
//! is read back and printed. On AWS, a deployed function refuses such an event unless its origin
//! check is off: no CloudFormation operation stands behind it (docs/security.md).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use super::{exit, CliError, Output, Style};
use crate::arn::AccountScope;

/// The function invoked when `--function-name` is not given (the emulator's `--function`).
pub const DEFAULT_FUNCTION_NAME: &str = "samlfed";
/// The bucket the presigned ResponseURL points into.
pub const DEFAULT_RESPONSE_BUCKET: &str = "samlfed-local-responses";
/// How long after the function's own timeout the invocation is still waited for.
const GRACE: Duration = Duration::from_secs(10);

/// Arguments of `samlfed invoke`.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("request").required(true).args(["event", "create", "update", "delete"])))]
pub struct InvokeArgs {
    /// A custom-resource event as JSON (its ResponseURL is replaced by the local one).
    #[arg(long, value_name = "FILE")]
    pub event: Option<PathBuf>,

    /// Send a Create request built from --property.
    #[arg(long)]
    pub create: bool,

    /// Send an Update request (needs --physical-id; old properties with --old-property).
    #[arg(long, requires = "physical_id")]
    pub update: bool,

    /// Send a Delete request (needs --physical-id).
    #[arg(long, requires = "physical_id")]
    pub delete: bool,

    /// A resource property: K=V (a string), K=[…] or K={…} (JSON), K=@FILE (the file's text,
    /// e.g. MetadataDocument=@idp.xml). Repeat for each property.
    #[arg(long = "property", value_name = "K=V", conflicts_with = "event")]
    pub properties: Vec<String>,

    /// A property of OldResourceProperties (Update only), same forms as --property.
    #[arg(long = "old-property", value_name = "K=V", requires = "update")]
    pub old_properties: Vec<String>,

    /// PhysicalResourceId for Update and Delete (the ARN a Create returned).
    #[arg(long, value_name = "ID", conflicts_with = "event")]
    pub physical_id: Option<String>,

    /// ResourceType of the request.
    #[arg(long, default_value = "Custom::SAMLProvider", value_name = "TYPE", conflicts_with = "event")]
    pub resource_type: String,

    /// LogicalResourceId; ownership tags name it, so use the same one for Create and Delete.
    #[arg(long, default_value = "LocalResource", value_name = "ID", conflicts_with = "event")]
    pub logical_id: String,

    /// StackId [default: a fixed stack in the function's account, so Create and Delete match].
    #[arg(long, value_name = "ARN", conflicts_with = "event")]
    pub stack_id: Option<String>,

    /// The Lambda function to invoke: its name or ARN. Its ARN becomes the event's ServiceToken,
    /// and its partition, Region and account those of the default StackId.
    #[arg(long, default_value = DEFAULT_FUNCTION_NAME, value_name = "NAME|ARN")]
    pub function_name: String,

    /// S3 bucket for the presigned ResponseURL; created when missing if AWS_ENDPOINT_URL is set.
    #[arg(long, default_value = DEFAULT_RESPONSE_BUCKET, value_name = "BUCKET")]
    pub response_bucket: String,

    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What the invocation returned.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "body", rename_all = "lowercase")]
pub enum FunctionResult {
    /// The handler's return value.
    Response(Value),
    /// A function error (`X-Amz-Function-Error`): the handler, its runtime or its environment
    /// failed (samlfed's handler never does: it answers CloudFormation instead).
    Error(Value),
}

/// Everything one invocation showed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvokeReport {
    /// `Create`, `Update` or `Delete`.
    pub request_type: String,
    /// The event's ResourceType.
    pub resource_type: String,
    /// The event's LogicalResourceId.
    pub logical_resource_id: String,
    /// The event's RequestId (also the response object's key).
    pub request_id: String,
    /// The ResponseURL without its signature.
    pub response_url: String,
    /// The function invoked.
    pub function_arn: String,
    /// What the invocation returned.
    pub function_result: FunctionResult,
    /// The response PUT to the ResponseURL, as CloudFormation would read it; `None` when the
    /// function sent none (it refused the event).
    pub response: Option<Value>,
    /// Seconds the synchronous invocation took.
    pub duration_s: f64,
}

/// Reads `K=V` into a property: a string, JSON for `[…]`/`{…}`, a file's text for `@FILE`.
pub fn parse_property(raw: &str) -> Result<(String, Value), CliError> {
    let Some((key, value)) = raw.split_once('=') else {
        return Err(CliError::Usage(format!("--property {raw:?} is not K=V")));
    };
    if key.is_empty() {
        return Err(CliError::Usage(format!("--property {raw:?} has an empty name")));
    }
    let value = if let Some(path) = value.strip_prefix('@') {
        let path = PathBuf::from(path);
        let text = std::fs::read(&path).map_err(|source| CliError::ReadFile { path: path.clone(), source })?;
        Value::String(String::from_utf8(text).map_err(|_| {
            CliError::Usage(format!("--property {key}=@{}: the file is not UTF-8 text", path.display()))
        })?)
    } else if value.starts_with('[') || value.starts_with('{') {
        serde_json::from_str(value).map_err(|e| {
            CliError::Usage(format!("--property {key}: {value:?} starts like JSON but is not valid JSON ({e})"))
        })?
    } else {
        Value::String(value.to_string())
    };
    Ok((key.to_string(), value))
}

fn properties(raw: &[String]) -> Result<Value, CliError> {
    let mut map = Map::new();
    for item in raw {
        let (key, value) = parse_property(item)?;
        if map.insert(key.clone(), value).is_some() {
            return Err(CliError::Usage(format!("--property {key} is given twice")));
        }
    }
    Ok(Value::Object(map))
}

/// Field `index` of `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME`.
fn arn_field(arn: &str, index: usize) -> &str {
    arn.split(':').nth(index).unwrap_or_default()
}

/// Builds the event from the arguments (or reads it from `--event`), without its ResponseURL;
/// a built event gets its ServiceToken and default StackId from [`address_event`]. Every usage
/// error shows here, before any AWS call.
pub fn build_event(args: &InvokeArgs, request_id: &str) -> Result<Value, CliError> {
    if let Some(path) = &args.event {
        let text = std::fs::read(path).map_err(|source| CliError::ReadFile { path: path.clone(), source })?;
        let mut event: Value = serde_json::from_slice(&text)
            .map_err(|e| CliError::Usage(format!("--event {}: not JSON ({e})", path.display())))?;
        let Some(object) = event.as_object_mut() else {
            return Err(CliError::Usage(format!("--event {}: the event must be a JSON object", path.display())));
        };
        if !object.get("RequestId").is_some_and(Value::is_string) {
            object.insert("RequestId".into(), json!(request_id));
        }
        return Ok(event);
    }
    let request_type = match (args.create, args.update, args.delete) {
        (true, false, false) => "Create",
        (false, true, false) => "Update",
        (false, false, true) => "Delete",
        _ => return Err(CliError::Usage("give exactly one of --create, --update, --delete or --event".into())),
    };
    let mut event = json!({
        "RequestType": request_type,
        "RequestId": request_id,
        "ResourceType": args.resource_type,
        "LogicalResourceId": args.logical_id,
        "ResourceProperties": properties(&args.properties)?,
    });
    if let Some(stack_id) = &args.stack_id {
        event["StackId"] = json!(stack_id);
    }
    if let Some(physical_id) = &args.physical_id {
        event["PhysicalResourceId"] = json!(physical_id);
    }
    if args.update {
        event["OldResourceProperties"] = properties(&args.old_properties)?;
    }
    Ok(event)
}

/// Addresses a built event to the function, as CloudFormation would: its ARN as the
/// ServiceToken (top level and in the properties) and, unless `--stack-id` gave one, a fixed
/// stack in the function's partition, Region and account (so Create and Delete match).
pub fn address_event(event: &mut Value, function_arn: &str) -> Result<(), CliError> {
    let scope = AccountScope::from_function_arn(function_arn)
        .map_err(|e| CliError::Invoke(format!("the function's ARN {function_arn:?}: {e}")))?;
    event["ServiceToken"] = json!(function_arn);
    for key in ["ResourceProperties", "OldResourceProperties"] {
        if let Some(properties) = event.get_mut(key).and_then(Value::as_object_mut) {
            properties.insert("ServiceToken".into(), json!(function_arn));
        }
    }
    if event.get("StackId").is_none() {
        event["StackId"] = json!(format!(
            "arn:{}:cloudformation:{}:{}:stack/samlfed-local/00000000-0000-4000-8000-000000000000",
            scope.partition,
            arn_field(function_arn, 3),
            scope.account_id
        ));
    }
    Ok(())
}

fn new_request_id() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("samlfed-{nanos:x}-{}", std::process::id())
}

/// Runs `samlfed invoke`.
pub async fn run(args: &InvokeArgs, style: Style) -> Result<Output, CliError> {
    let request_id = new_request_id();
    let mut event = build_event(args, &request_id)?;
    let request_id = event["RequestId"].as_str().unwrap_or(&request_id).to_string();
    let endpoint = crate::settings::endpoint_url(|name| std::env::var(name).ok())?;
    let config = crate::aws::loader().load().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let function =
        lambda.get_function_configuration().function_name(&args.function_name).send().await.map_err(|e| {
            CliError::Aws { operation: "GetFunctionConfiguration", message: crate::aws::describe_error(&e) }
        })?;
    let function_arn = function.function_arn().unwrap_or_default().to_string();
    let function_timeout = Duration::from_secs(function.timeout().unwrap_or(3).clamp(1, 900) as u64);

    if args.event.is_none() {
        address_event(&mut event, &function_arn)?;
    }

    let s3_config = aws_sdk_s3::config::Builder::from(&config).force_path_style(endpoint.is_some()).build();
    let s3 = aws_sdk_s3::Client::from_conf(s3_config);
    ensure_bucket(&s3, &args.response_bucket, endpoint.is_some()).await?;
    let key = format!("responses/{request_id}");
    let presigned = s3
        .put_object()
        .bucket(&args.response_bucket)
        .key(&key)
        .presigned(
            PresigningConfig::expires_in(Duration::from_secs(3600))
                .map_err(|e| CliError::Invoke(format!("cannot presign the ResponseURL: {e}")))?,
        )
        .await
        .map_err(|e| CliError::Aws { operation: "PutObject (presign)", message: crate::aws::describe_error(&e) })?;
    event["ResponseURL"] = json!(presigned.uri());
    let response_url = url::Url::parse(presigned.uri()).map(|u| crate::redact::url(&u)).unwrap_or_default();

    // One attempt (CloudFormation invokes once per request), waiting as long as the function may run.
    let wait = function_timeout + GRACE;
    let invoke_config = aws_sdk_lambda::config::Builder::from(&config)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .timeout_config(TimeoutConfig::builder().operation_attempt_timeout(wait).operation_timeout(wait).build())
        .build();
    let started = Instant::now();
    let invoked = aws_sdk_lambda::Client::from_conf(invoke_config)
        .invoke()
        .function_name(&function_arn)
        .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
        .send()
        .await
        .map_err(|e| CliError::Aws { operation: "Invoke", message: crate::aws::describe_error(&e) })?;
    let duration = started.elapsed();
    let payload = decode(invoked.payload().map(|b| b.as_ref()).unwrap_or_default());
    let function_result = match invoked.function_error() {
        Some(_) => FunctionResult::Error(payload),
        None => FunctionResult::Response(payload),
    };

    let response = read_response(&s3, &args.response_bucket, &key).await?;
    let report = InvokeReport {
        request_type: event["RequestType"].as_str().unwrap_or_default().to_string(),
        resource_type: event["ResourceType"].as_str().unwrap_or_default().to_string(),
        logical_resource_id: event["LogicalResourceId"].as_str().unwrap_or_default().to_string(),
        request_id,
        response_url,
        function_arn,
        function_result,
        response,
        duration_s: (duration.as_secs_f64() * 1000.0).round() / 1000.0,
    };
    let exit_code = exit_code(&report);
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
        text.push('\n');
        text
    } else {
        render_human(&report, style)
    };
    Ok(Output { text, exit_code })
}

fn decode(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// 0 for SUCCESS, 1 for FAILED or a refused event, 3 when the function itself failed.
pub fn exit_code(report: &InvokeReport) -> u8 {
    match (&report.function_result, &report.response) {
        (FunctionResult::Error(_), _) => exit::ERROR,
        (_, Some(response)) if response["Status"] == "SUCCESS" => exit::OK,
        _ => exit::NEGATIVE,
    }
}

async fn ensure_bucket(s3: &aws_sdk_s3::Client, bucket: &str, local: bool) -> Result<(), CliError> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(err) if local && err.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
            s3.create_bucket().bucket(bucket).send().await.map(|_| ()).map_err(|e| CliError::Aws {
                operation: "CreateBucket",
                message: crate::aws::describe_error(&e),
            })
        }
        Err(err) => Err(CliError::Aws {
            operation: "HeadBucket",
            message: format!(
                "the response bucket {bucket:?} is not usable ({}); pass --response-bucket with a bucket you can write to",
                crate::aws::describe_error(&err)
            ),
        }),
    }
}

async fn read_response(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Option<Value>, CliError> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(object) => {
            let bytes = object
                .body
                .collect()
                .await
                .map_err(|e| CliError::Invoke(format!("reading the response object failed: {e}")))?
                .into_bytes();
            Ok(Some(serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)))))
        }
        Err(err) if err.code() == Some("NoSuchKey") => Ok(None),
        Err(err) => Err(CliError::Aws { operation: "GetObject", message: crate::aws::describe_error(&err) }),
    }
}

/// The invocation for people: what was sent, what the function said, what CloudFormation got.
pub fn render_human(report: &InvokeReport, style: Style) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<10}{} {} {} (RequestId {})\n",
        "event", report.request_type, report.resource_type, report.logical_resource_id, report.request_id
    ));
    out.push_str(&format!("{:<10}{} (presigned S3 PUT)\n", "response", report.response_url));
    out.push_str(&format!("{:<10}{}\n", "function", report.function_arn));
    let returned = match &report.function_result {
        FunctionResult::Response(value) => format!("returned {value}"),
        FunctionResult::Error(value) => style.bad(&format!("failed {value}")),
    };
    out.push_str(&format!("{:<10}{returned} after {:.3} s\n", "invoke", report.duration_s));
    match &report.response {
        Some(response) => {
            out.push_str(&style.bold("CloudFormation response:"));
            out.push('\n');
            out.push_str(&serde_json::to_string_pretty(response).unwrap_or_default());
            out.push('\n');
            let status = response["Status"].as_str().unwrap_or("?");
            let verdict = if status == "SUCCESS" { style.good(status) } else { style.bad(status) };
            match response["Reason"].as_str() {
                Some(reason) if status != "SUCCESS" => out.push_str(&format!("{verdict} — {reason}\n")),
                _ => out.push_str(&format!(
                    "{verdict} — PhysicalResourceId {}\n",
                    response["PhysicalResourceId"].as_str().unwrap_or("?")
                )),
            }
        }
        None => out.push_str(&format!(
            "{} — the function PUT no response: it refused the event (see its log line on stderr)\n",
            style.bad("NO RESPONSE")
        )),
    }
    out
}
