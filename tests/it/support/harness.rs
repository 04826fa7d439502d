//! Sends custom-resource events the way CloudFormation does — with a presigned S3 ResponseURL on
//! the emulator — through the library's real handler, and reads back the response and IAM state.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_iam::config::{Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use lambda_runtime::{Context, LambdaEvent};
use samlfed::aws::AwsClients;
use samlfed::cfn::handler::{handle, http_client, Deps};
use samlfed::settings::Settings;
use serde_json::{json, Value};

use super::emulator::Emulator;

pub const ACCOUNT: &str = "123456789012";
/// The function under test signs with this key (it selects account [`ACCOUNT`]).
pub const FUNCTION_KEY: &str = ACCOUNT;
/// The test's own inspection calls sign with this key: the emulator's default account, which is
/// [`ACCOUNT`] too, but the call log can tell them apart from the function's.
pub const INSPECTOR_KEY: &str = "test-inspector";
pub const METADATA_BUCKET: &str = "org-idp-metadata";
pub const RESPONSE_BUCKET: &str = "cfn-custom-resource-responses";
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:samlfed";
pub const STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/federation/5a1e0c70-0000-4000-8000-000000000001";

static REQUESTS: AtomicU64 = AtomicU64::new(1);

pub struct Harness {
    pub emulator: Emulator,
    pub deps: Deps,
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
}

/// Settings that make failures show in milliseconds rather than the production seconds.
pub fn fast_settings(endpoint: &str) -> Settings {
    Settings {
        deadline_margin: Duration::from_millis(1500),
        response_attempts: 3,
        response_backoff: Duration::from_millis(20),
        response_timeout: Duration::from_secs(2),
        // Longer than the AccessDenied retry (7 s), as the production default (20 s) is.
        metadata_timeout: Duration::from_secs(10),
        consistency_backoff: Duration::from_millis(50),
        endpoint_url: Some(url::Url::parse(endpoint).expect("endpoint")),
        origin_check: true,
        refresh: None,
        test_allow_loopback: false,
        test_ca_pem: None,
    }
}

/// The SDK configuration for `endpoint` (us-east-1), signing with access key `key` (12 digits:
/// that account in the emulator), with the Lambda's retry rules.
pub async fn sdk_config(endpoint: &str, key: &str) -> aws_config::SdkConfig {
    samlfed::aws::loader()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, "test-secret", None, None, "tests"))
        .load()
        .await
}

/// SDK clients for `endpoint`, signing with access key `key`, with the Lambda's retry rules.
pub async fn clients_for(endpoint: &str, key: &str) -> AwsClients {
    AwsClients::new(&sdk_config(endpoint, key).await, true)
}

impl Harness {
    /// A fresh emulator with the metadata bucket (versioned) and the response bucket.
    pub async fn start() -> Harness {
        let emulator = Emulator::start();
        let clients = clients_for(&emulator.endpoint(), FUNCTION_KEY).await;
        let inspector = clients_for(&emulator.endpoint(), INSPECTOR_KEY).await;
        let settings = fast_settings(&emulator.endpoint());
        let deps = Deps {
            clients,
            http: http_client().expect("http client"),
            metadata_http: samlfed::metadata::https::client(&settings).expect("metadata client"),
            refresh_cache: Default::default(),
            settings,
            init_error: None,
            resource_types: samlfed::registry::RESOURCE_TYPES,
        };
        let harness = Harness { emulator, deps, s3: inspector.s3, iam: inspector.iam };
        for bucket in [METADATA_BUCKET, RESPONSE_BUCKET] {
            harness.s3.create_bucket().bucket(bucket).send().await.expect("create bucket");
        }
        harness
            .s3
            .put_bucket_versioning()
            .bucket(METADATA_BUCKET)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("enable versioning");
        harness.emulator.clear_calls().await;
        harness
    }

    /// Uploads a metadata document; returns its `s3://` URL and version id.
    pub async fn put_metadata(&self, key: &str, body: impl Into<Vec<u8>>) -> (String, String) {
        let out = self
            .s3
            .put_object()
            .bucket(METADATA_BUCKET)
            .key(key)
            .body(body.into().into())
            .send()
            .await
            .expect("put metadata");
        self.emulator.clear_calls().await;
        (format!("s3://{METADATA_BUCKET}/{key}"), out.version_id().unwrap_or_default().to_string())
    }

    /// A custom-resource event with hand-written properties, shaped as CloudFormation sends it: a
    /// fresh RequestId, a presigned PUT ResponseURL for the response bucket (key = RequestId),
    /// `ServiceToken` among the properties and every scalar a string
    /// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html>).
    /// Events for the project's own template come from [`super::stack::TemplateStack`]; this is for
    /// what that template never renders (a user's own template, a malformed or forged event), and
    /// each caller says why.
    pub async fn event(&self, request_type: &str, resource_type: &str, logical_id: &str, properties: Value) -> Value {
        self.forged_event(request_type, resource_type, logical_id, super::template::stringify(properties)).await
    }

    /// The same, with the properties' JSON types as written: what anyone holding
    /// `lambda:InvokeFunction` can send, and CloudFormation never does (numbers, booleans, null).
    pub async fn forged_event(
        &self,
        request_type: &str,
        resource_type: &str,
        logical_id: &str,
        properties: Value,
    ) -> Value {
        let (request_id, response_url) = self.response_url().await;
        let mut props = properties;
        props["ServiceToken"] = json!(FUNCTION_ARN);
        json!({
            "RequestType": request_type,
            "ServiceToken": FUNCTION_ARN,
            "ResponseURL": response_url,
            "StackId": STACK_ID,
            "RequestId": request_id,
            "ResourceType": resource_type,
            "LogicalResourceId": logical_id,
            "ResourceProperties": props,
        })
    }

    /// A fresh RequestId and a presigned PUT URL for its response (key = RequestId), as
    /// CloudFormation makes one per request.
    pub async fn response_url(&self) -> (String, String) {
        let request_id = format!("req-{}", REQUESTS.fetch_add(1, Ordering::Relaxed));
        let presigned = self
            .s3
            .put_object()
            .bucket(RESPONSE_BUCKET)
            .key(&request_id)
            .presigned(PresigningConfig::expires_in(Duration::from_secs(3600)).expect("presigning config"))
            .await
            .expect("presign");
        (request_id, presigned.uri().to_string())
    }

    pub async fn create(&self, logical_id: &str, properties: Value) -> Value {
        self.event("Create", "Custom::SAMLProvider", logical_id, properties).await
    }

    pub async fn update(&self, logical_id: &str, physical_id: &str, properties: Value, old: Value) -> Value {
        let mut event = self.event("Update", "Custom::SAMLProvider", logical_id, properties).await;
        event["PhysicalResourceId"] = json!(physical_id);
        event["OldResourceProperties"] = old;
        event
    }

    pub async fn delete(&self, logical_id: &str, physical_id: &str, properties: Value) -> Value {
        let mut event = self.event("Delete", "Custom::SAMLProvider", logical_id, properties).await;
        event["PhysicalResourceId"] = json!(physical_id);
        event
    }

    /// A Lambda context with `remaining` before the deadline.
    pub fn context(remaining: Duration) -> Context {
        let mut context = Context::default();
        context.request_id = "lambda-request".into();
        context.invoked_function_arn = FUNCTION_ARN.into();
        let deadline = SystemTime::now() + remaining;
        context.deadline = deadline.duration_since(UNIX_EPOCH).expect("after epoch").as_millis() as u64;
        context
    }

    /// Runs the handler as Lambda would (60 s left), CloudFormation's record showing the
    /// operation the event stands for; returns its summary.
    pub async fn invoke(&self, event: &Value) -> Value {
        self.invoke_with(&self.deps, event, Duration::from_secs(60)).await
    }

    /// The response CloudFormation would have received for `event`, if one was PUT.
    pub async fn response(&self, event: &Value) -> Option<Value> {
        let key = event["RequestId"].as_str().expect("RequestId");
        let object = self.s3.get_object().bucket(RESPONSE_BUCKET).key(key).send().await.ok()?;
        let bytes = object.body.collect().await.expect("body").into_bytes();
        Some(serde_json::from_slice(&bytes).expect("the response is JSON"))
    }

    /// Invokes and returns the response PUT for the event, which must exist.
    pub async fn run(&self, event: &Value) -> Value {
        self.invoke(event).await;
        self.response(event).await.expect("a response was PUT to the ResponseURL")
    }

    /// The AWS calls the function made since the last clear. (The response PUT is signed by the
    /// presigned URL's creator, CloudFormation — here the test — so it is not among them.)
    pub async fn function_calls(&self) -> Vec<String> {
        self.emulator.calls(FUNCTION_KEY).await
    }

    /// The IAM calls the function made since the last clear.
    pub async fn iam_calls(&self) -> Vec<String> {
        self.function_calls().await.into_iter().filter(|c| c.starts_with("iam:")).collect()
    }

    /// The names of the SAML providers in the account.
    pub async fn provider_names(&self) -> Vec<String> {
        provider_names(&self.iam).await
    }

    pub fn provider_arn(name: &str) -> String {
        format!("arn:aws:iam::{ACCOUNT}:saml-provider/{name}")
    }

    /// The provider's document and tags, or `None` when it does not exist.
    pub async fn provider(
        &self,
        name: &str,
    ) -> Option<aws_sdk_iam::operation::get_saml_provider::GetSamlProviderOutput> {
        self.iam.get_saml_provider().saml_provider_arn(Self::provider_arn(name)).send().await.ok()
    }

    /// Creates a provider the way another team would: without our ownership tags.
    pub async fn create_foreign_provider(&self, name: &str, document: &str) {
        self.iam
            .create_saml_provider()
            .name(name)
            .saml_metadata_document(document)
            .tags(aws_sdk_iam::types::Tag::builder().key("owner").value("another-team").build().expect("tag"))
            .send()
            .await
            .expect("create foreign provider");
        self.emulator.clear_calls().await;
    }
}

/// The names of the SAML providers `iam` sees, sorted.
pub async fn provider_names(iam: &aws_sdk_iam::Client) -> Vec<String> {
    let list = iam.list_saml_providers().send().await.expect("list providers");
    let mut names: Vec<String> = list
        .saml_provider_list()
        .iter()
        .filter_map(|p| p.arn().and_then(|a| a.rsplit('/').next()).map(str::to_string))
        .collect();
    names.sort();
    names
}

/// The provider's tags as a sorted list of `key=value`.
pub fn tags_of(provider: &aws_sdk_iam::operation::get_saml_provider::GetSamlProviderOutput) -> Vec<String> {
    let mut tags: Vec<String> = provider.tags().iter().map(|t| format!("{}={}", t.key(), t.value())).collect();
    tags.sort();
    tags
}

impl Harness {
    /// How many response PUTs reached the emulator since the last clear: the presigned ResponseURLs
    /// are signed with [`INSPECTOR_KEY`], and the test itself never PUTs an object with it after
    /// [`Harness::start`] / [`Harness::put_metadata`] cleared the log.
    pub async fn response_puts(&self) -> usize {
        self.emulator.calls(INSPECTOR_KEY).await.iter().filter(|c| *c == "s3:PutObject").count()
    }

    /// Runs `event` through the handler with `deps` and `remaining` before the deadline, as
    /// CloudFormation sends it: its record shows the operation the event stands for.
    pub async fn invoke_with(&self, deps: &Deps, event: &Value, remaining: Duration) -> Value {
        // What is not a JSON object stands for no operation (and is refused unread).
        if event.is_object() {
            self.emulator.record_operation(event).await;
        }
        self.invoke_as_is(deps, event, remaining).await
    }

    /// Runs `event` through the handler without touching CloudFormation's record: for a forged
    /// event (which no operation stands behind), or a caller that set the record itself.
    pub async fn invoke_as_is(&self, deps: &Deps, event: &Value, remaining: Duration) -> Value {
        handle(deps, LambdaEvent::new(event.clone(), Self::context(remaining)))
            .await
            .expect("a custom-resource event never ends in an error")
    }
}

impl Harness {
    /// The handler's dependencies with an HTTPS metadata client that trusts only `ca_pem` and
    /// may reach loopback — the test-only settings — and metadata fetches bounded by `timeout`.
    pub fn deps_trusting(&self, ca_pem: Option<&std::path::Path>, allow_loopback: bool, timeout: Duration) -> Deps {
        let mut settings = self.deps.settings.clone();
        settings.test_ca_pem = ca_pem.map(|p| p.to_path_buf());
        settings.test_allow_loopback = allow_loopback;
        settings.metadata_timeout = timeout;
        Deps {
            metadata_http: samlfed::metadata::https::client(&settings).expect("metadata client"),
            settings,
            refresh_cache: Default::default(),
            ..self.deps.clone()
        }
    }
}
