//! `samlfed invoke`: send one custom-resource event to the real function, locally, and print the
//! response CloudFormation would have read.
//!
//! The Lambda Runtime API is pull-based — the function asks `GET /runtime/invocation/next` for
//! work — so "sending" an event means serving it: this command *is* a Runtime API for exactly one
//! event, on 127.0.0.1. With `--function PATH` it starts that binary (the `bootstrap` built by
//! `cargo build --release --bin bootstrap`) pointed at itself and stops it by PID afterwards;
//! without it, it waits for a function you start yourself with the printed
//! `AWS_LAMBDA_RUNTIME_API` (e.g. under a debugger).
//!
//! The ResponseURL is a presigned S3 PUT URL, exactly as CloudFormation's are, on the S3 the
//! function talks to (`AWS_ENDPOINT_URL`, e.g. the local emulator). The function refuses any
//! other ResponseURL — it only answers `https://` S3 hosts or the emulator's origin — so a plain
//! HTTP receiver on another local port would never be answered. After the invocation the object
//! is read back and printed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_s3::presigning::PresigningConfig;
use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{exit, redact_url, CliError, Output, Style};
use crate::arn::AccountScope;

/// The function ARN the local Runtime API reports (`Lambda-Runtime-Invoked-Function-Arn`); its
/// partition and account are the ones the function builds ARNs in.
pub const DEFAULT_FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:samlfed";
/// The bucket the presigned ResponseURL points into.
pub const DEFAULT_RESPONSE_BUCKET: &str = "samlfed-local-responses";
/// Lambda's synchronous payload limit; nothing the function posts may be larger.
const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;
/// How long after the deadline the answer is still waited for.
const GRACE: Duration = Duration::from_secs(5);

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

    /// The function binary to start against the local Runtime API (e.g. target/release/bootstrap);
    /// without it, start the function yourself with the printed AWS_LAMBDA_RUNTIME_API.
    #[arg(long, value_name = "PATH")]
    pub function: Option<PathBuf>,

    /// Where the local Runtime API listens (port 0: a free port).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "HOST:PORT")]
    pub runtime_api: String,

    /// The function's ARN as the Runtime API reports it: its partition, Region and account are
    /// the function's.
    #[arg(long, default_value = DEFAULT_FUNCTION_ARN, value_name = "ARN")]
    pub function_arn: String,

    /// S3 bucket for the presigned ResponseURL; created when missing if AWS_ENDPOINT_URL is set.
    #[arg(long, default_value = DEFAULT_RESPONSE_BUCKET, value_name = "BUCKET")]
    pub response_bucket: String,

    /// The function's timeout in seconds (sets the invocation deadline).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=900))]
    pub timeout: u64,

    /// Seconds to wait for the function to ask for the event.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub startup_timeout: u64,

    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What the function posted to the Runtime API for the invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "body", rename_all = "lowercase")]
pub enum FunctionResult {
    /// `POST …/response`: the handler's return value.
    Response(Value),
    /// `POST …/error`: the handler failed (samlfed's never does: it answers CloudFormation instead).
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
    /// Where the local Runtime API listened.
    pub runtime_api: String,
    /// What the function returned to the Runtime API.
    pub function_result: FunctionResult,
    /// The response PUT to the ResponseURL, as CloudFormation would read it; `None` when the
    /// function sent none (it refused the event).
    pub response: Option<Value>,
    /// Seconds from handing out the event to the function's answer.
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

fn properties(raw: &[String], function_arn: Option<&str>) -> Result<Value, CliError> {
    let mut map = Map::new();
    if let Some(arn) = function_arn {
        map.insert("ServiceToken".into(), json!(arn));
    }
    for item in raw {
        let (key, value) = parse_property(item)?;
        if map.insert(key.clone(), value).is_some() {
            return Err(CliError::Usage(format!("--property {key} is given twice")));
        }
    }
    Ok(Value::Object(map))
}

/// The region of `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME`.
fn arn_field(arn: &str, index: usize) -> &str {
    arn.split(':').nth(index).unwrap_or_default()
}

/// Builds the event from the arguments (or reads it from `--event`), without its ResponseURL.
pub fn build_event(args: &InvokeArgs, request_id: &str) -> Result<Value, CliError> {
    let scope = AccountScope::from_function_arn(&args.function_arn)
        .map_err(|e| CliError::Usage(format!("--function-arn: {e}")))?;
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
    let stack_id = args.stack_id.clone().unwrap_or_else(|| {
        format!(
            "arn:{}:cloudformation:{}:{}:stack/samlfed-local/00000000-0000-4000-8000-000000000000",
            scope.partition,
            arn_field(&args.function_arn, 3),
            scope.account_id
        )
    });
    let mut event = json!({
        "RequestType": request_type,
        "ServiceToken": args.function_arn,
        "StackId": stack_id,
        "RequestId": request_id,
        "ResourceType": args.resource_type,
        "LogicalResourceId": args.logical_id,
        "ResourceProperties": properties(&args.properties, Some(&args.function_arn))?,
    });
    if let Some(physical_id) = &args.physical_id {
        event["PhysicalResourceId"] = json!(physical_id);
    }
    if args.update {
        event["OldResourceProperties"] = properties(&args.old_properties, Some(&args.function_arn))?;
    }
    Ok(event)
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
    let response_url = url::Url::parse(presigned.uri()).map(|u| redact_url(&u)).unwrap_or_default();

    let timeout = Duration::from_secs(args.timeout);
    let mut api = RuntimeApi::start(&args.runtime_api, &args.function_arn, event.clone(), timeout).await?;
    let mut function = match &args.function {
        Some(path) => Some(start_function(path, &api.address, &args.function_arn)?),
        None => {
            eprintln!(
                "waiting up to {} s for a function to poll: start it with SAMLFED_ORIGIN_CHECK=off AWS_LAMBDA_RUNTIME_API={}",
                args.startup_timeout, api.address
            );
            None
        }
    };
    let result =
        api.wait(timeout, Duration::from_secs(args.startup_timeout), function.as_mut().map(|f| &mut f.0)).await;
    api.stop();
    drop(function);
    let (function_result, duration) = result?;

    let response = read_response(&s3, &args.response_bucket, &key).await?;
    let report = InvokeReport {
        request_type: event["RequestType"].as_str().unwrap_or_default().to_string(),
        resource_type: event["ResourceType"].as_str().unwrap_or_default().to_string(),
        logical_resource_id: event["LogicalResourceId"].as_str().unwrap_or_default().to_string(),
        request_id,
        response_url,
        runtime_api: api.address.clone(),
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

/// The function process; killed by its PID when dropped, whatever happened.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_function(path: &Path, runtime_api: &str, function_arn: &str) -> Result<Function, CliError> {
    let mut command = Command::new(path);
    command
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", arn_field(function_arn, 6))
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        // The event comes from this command, not from a CloudFormation operation, so the
        // function's origin check (which asks CloudFormation) would refuse it; the function
        // logs that the check is off.
        .env("SAMLFED_ORIGIN_CHECK", "off")
        .stdin(Stdio::null())
        // The function's log lines go to our stderr, so stdout stays the report alone.
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit());
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
        command.env("AWS_REGION", arn_field(function_arn, 3));
    }
    command
        .spawn()
        .map(Function)
        .map_err(|e| CliError::Usage(format!("cannot start --function {}: {e}", path.display())))
}

/// What the Runtime API tells the waiting command.
#[derive(Debug)]
enum ApiEvent {
    /// The function took the event (at this instant).
    HandedOut(Instant),
    /// The function posted its result.
    Posted(FunctionResult),
    /// The function reported a failed initialisation.
    InitError(Value),
}

/// A Lambda Runtime API (2018-06-01) serving one event: `GET …/invocation/next` hands it out
/// once (later polls wait until shutdown, as a frozen Lambda would), `POST …/response|error`
/// takes the answer, `POST …/init/error` a failed cold start.
struct RuntimeApi {
    address: String,
    events: mpsc::UnboundedReceiver<ApiEvent>,
    server: tokio::task::JoinHandle<()>,
}

struct Shared {
    function_arn: String,
    pending: Mutex<Option<(Value, Duration)>>,
    events: mpsc::UnboundedSender<ApiEvent>,
}

/// The one invocation's id (`Lambda-Runtime-Aws-Request-Id`).
const REQUEST_ID: &str = "00000000-0000-4000-8000-000000000001";
/// How often the wait looks at the function process.
const TICK: Duration = Duration::from_millis(50);

impl RuntimeApi {
    /// Listens on `bind` with `event` already queued, so the function's first poll gets it.
    async fn start(bind: &str, function_arn: &str, event: Value, timeout: Duration) -> Result<RuntimeApi, CliError> {
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|e| CliError::Usage(format!("--runtime-api {bind}: cannot listen there ({e})")))?;
        let address = listener.local_addr().map(|a: SocketAddr| a.to_string()).unwrap_or_else(|_| bind.to_string());
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_arn: function_arn.to_string(),
            pending: Mutex::new(Some((event, timeout))),
            events: tx,
        });
        let server = tokio::spawn(async move {
            // Dropping the set (when this task is aborted) aborts every connection task.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(serve(stream, shared.clone()));
            }
        });
        Ok(RuntimeApi { address, events: rx, server })
    }

    /// Waits for the function to take the event and answer. Bounded: `startup` for the
    /// first poll, then the function `timeout` plus a grace period; a function process that exits
    /// ends the wait at once.
    async fn wait(
        &mut self,
        timeout: Duration,
        startup: Duration,
        mut function: Option<&mut Child>,
    ) -> Result<(FunctionResult, Duration), CliError> {
        let started = Instant::now();
        let mut handed_out: Option<Instant> = None;
        loop {
            let limit = match handed_out {
                None => started + startup,
                Some(at) => at + timeout + GRACE,
            };
            if Instant::now() >= limit {
                return Err(CliError::Invoke(match handed_out {
                    None => format!("no function asked for the event within {} s", startup.as_secs()),
                    Some(_) => format!("the function did not answer within its {} s timeout", timeout.as_secs()),
                }));
            }
            if let Some(child) = function.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(CliError::Invoke(format!(
                        "the function (pid {}) exited with {status} before answering",
                        child.id()
                    )));
                }
            }
            match tokio::time::timeout(TICK, self.events.recv()).await {
                Ok(Some(ApiEvent::HandedOut(at))) => handed_out = Some(at),
                Ok(Some(ApiEvent::Posted(result))) => {
                    let took = handed_out.map(|at| at.elapsed()).unwrap_or_default();
                    return Ok((result, took));
                }
                Ok(Some(ApiEvent::InitError(body))) => {
                    return Err(CliError::Invoke(format!("the function failed to initialise: {body}")))
                }
                Ok(None) => return Err(CliError::Invoke("the local Runtime API stopped".into())),
                Err(_) => {}
            }
        }
    }

    fn stop(&self) {
        self.server.abort();
    }
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    // One request after another on a kept-alive connection, until the client closes it.
    while let Some((method, path, body)) = read_request(&mut reader).await {
        let reply = match (method.as_str(), path.as_str()) {
            ("GET", "/2018-06-01/runtime/invocation/next") => {
                let next = shared.pending.lock().ok().and_then(|mut slot| slot.take());
                let Some((event, timeout)) = next else {
                    // Already handed out: a real Lambda would freeze the process here.
                    std::future::pending::<()>().await;
                    return;
                };
                let deadline = SystemTime::now() + timeout;
                let deadline_ms = deadline.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
                let _ = shared.events.send(ApiEvent::HandedOut(Instant::now()));
                let body = event.to_string();
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {REQUEST_ID}\r\nLambda-Runtime-Deadline-Ms: {deadline_ms}\r\nLambda-Runtime-Invoked-Function-Arn: {}\r\nLambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\nContent-Length: {}\r\n\r\n{body}",
                    shared.function_arn,
                    body.len()
                )
            }
            ("POST", "/2018-06-01/runtime/init/error") => {
                let _ = shared.events.send(ApiEvent::InitError(decode(&body)));
                accepted()
            }
            ("POST", path) => {
                match path.strip_prefix("/2018-06-01/runtime/invocation/").and_then(|r| r.split_once('/')) {
                    Some((id, kind @ ("response" | "error"))) if id == REQUEST_ID => {
                        let value = decode(&body);
                        let result = if kind == "response" {
                            FunctionResult::Response(value)
                        } else {
                            FunctionResult::Error(value)
                        };
                        let _ = shared.events.send(ApiEvent::Posted(result));
                        accepted()
                    }
                    _ => not_found(),
                }
            }
            _ => not_found(),
        };
        if writer.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn decode(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn accepted() -> String {
    let body = r#"{"status":"OK"}"#;
    format!("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
}

fn not_found() -> String {
    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
}

/// Reads one HTTP/1.1 request: method, path, body (sized or chunked, at most 6 MB). `None` when
/// the connection ends or the request is unreadable.
async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if (&mut *reader).take(8192).read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.split('?').next()?.to_string();
    let mut headers = BTreeMap::new();
    for _ in 0..100 {
        let mut header = String::new();
        if (&mut *reader).take(8192).read_line(&mut header).await.ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let body = if headers.get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let mut size_line = String::new();
            (&mut *reader).take(1024).read_line(&mut size_line).await.ok()?;
            let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                // Trailers, then the blank line.
                for _ in 0..100 {
                    let mut trailer = String::new();
                    if (&mut *reader).take(8192).read_line(&mut trailer).await.ok()? == 0 || trailer.trim().is_empty() {
                        break;
                    }
                }
                break body;
            }
            if body.len() + size > MAX_BODY_BYTES {
                return None;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..]).await.ok()?;
            let mut crlf = String::new();
            (&mut *reader).take(2).read_line(&mut crlf).await.ok()?;
        }
    } else {
        let length: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        if length > MAX_BODY_BYTES {
            return None;
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await.ok()?;
        body
    };
    Some((method, path, body))
}

/// The invocation for people: what was sent, what the function said, what CloudFormation got.
pub fn render_human(report: &InvokeReport, style: Style) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<10}{} {} {} (RequestId {})\n",
        "event", report.request_type, report.resource_type, report.logical_resource_id, report.request_id
    ));
    out.push_str(&format!("{:<10}{} (presigned S3 PUT)\n", "response", report.response_url));
    out.push_str(&format!("{:<10}{}\n", "runtime", report.runtime_api));
    let returned = match &report.function_result {
        FunctionResult::Response(value) => format!("returned {value}"),
        FunctionResult::Error(value) => style.bad(&format!("posted an error {value}")),
    };
    out.push_str(&format!("{:<10}{returned} after {:.3} s\n", "function", report.duration_s));
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
