//! `templates/saml-federation.yaml` deployed through a CloudFormation engine: moto's, in
//! `tools/emulator.py`, whose custom resources are answered by the real `bootstrap` of this build
//! — zipped, uploaded to S3, named by the template's `AWS::Lambda::Function` and run by the
//! emulator's Lambda through the Lambda Runtime API (`tools/lambda_local.py`,
//! `tools/runtime_api.py`).
//!
//! CloudFormation is the oracle here: the events are the engine's, rendered from the template as
//! CloudFormation renders them (every scalar a string, `ServiceToken`/`ServiceTimeout` set), the
//! ResponseURL is the engine's, and whether the function answered right is read from the stack's
//! own status, resources, events and Outputs — then checked against IAM.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::{Capability, Parameter, Stack};
use aws_sdk_iam::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use samlfed::resources::tags::{LOGICAL_ID_TAG, STACK_TAG};
use serde_json::Value;

use crate::support;
use crate::support::emulator::Emulator;
use crate::support::harness::{clients_for, ACCOUNT, INSPECTOR_KEY};
use crate::support::{idp_metadata, idp_metadata_variant};

const TEMPLATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/saml-federation.yaml");
const CODE_BUCKET: &str = "samlfed-code";
const CODE_KEY: &str = "samlfed/bootstrap-test.zip";
const METADATA_BUCKET: &str = "org-idp-metadata";
const METADATA_KEY: &str = "metadata/idp-metadata.xml";
const STACK_NAME: &str = "federation";
const PROVIDER: &str = "CorpIdP";
const ROLE: &str = "CorpAdmins";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
/// The longest one stack operation may take here: the function's cold start (the emulator
/// unpacks a debug build of several hundred megabytes) and a handful of IAM and S3 calls, with a
/// wide margin for a loaded machine. The engine itself gives up on an unanswered request after
/// the template's ServiceTimeout, capped at 120 s.
const OPERATION_LIMIT: Duration = Duration::from_secs(240);

/// The Lambda architecture that runs this machine's build.
const ARCHITECTURE: &str = if cfg!(target_arch = "aarch64") { "arm64" } else { "x86_64" };

fn provider_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:saml-provider/{name}")
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// The deployment package of this build's `bootstrap`, made once per test binary by
/// `tools/lambda_local.py package` (the emulator's own Lambda kit).
fn deployment_package() -> &'static [u8] {
    static ZIP: OnceLock<Vec<u8>> = OnceLock::new();
    ZIP.get_or_init(|| crate::support::function::package(std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap"))))
}

/// An emulator with the code bucket (holding the package) and the versioned metadata bucket, and
/// clients signing as the test's inspector (the emulator's default account, [`ACCOUNT`], which is
/// also the function's).
struct Deployment {
    emulator: Emulator,
    cfn: aws_sdk_cloudformation::Client,
    s3: aws_sdk_s3::Client,
    iam: aws_sdk_iam::Client,
}

impl Drop for Deployment {
    /// Closes the emulator's stdin: it kills the function's process and removes its unpacked code.
    fn drop(&mut self) {
        self.emulator.stop_gracefully(Duration::from_secs(20));
    }
}

impl Deployment {
    async fn start() -> Deployment {
        let emulator = Emulator::start();
        let endpoint = emulator.endpoint();
        let inspector = clients_for(&endpoint, INSPECTOR_KEY).await;
        let config = samlfed::aws::loader()
            .endpoint_url(&endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(INSPECTOR_KEY, "test-secret", None, None, "tests"))
            .load()
            .await;
        let d = Deployment {
            emulator,
            cfn: aws_sdk_cloudformation::Client::new(&config),
            s3: inspector.s3,
            iam: inspector.iam,
        };
        for bucket in [CODE_BUCKET, METADATA_BUCKET] {
            d.s3.create_bucket().bucket(bucket).send().await.expect("create bucket");
        }
        d.s3.put_bucket_versioning()
            .bucket(METADATA_BUCKET)
            .versioning_configuration(
                VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
            )
            .send()
            .await
            .expect("enable versioning");
        d.s3.put_object()
            .bucket(CODE_BUCKET)
            .key(CODE_KEY)
            .body(ByteStream::from(deployment_package().to_vec()))
            .send()
            .await
            .expect("upload the deployment package");
        d
    }

    /// Uploads a metadata document; returns its version id.
    async fn put_metadata(&self, document: &str) -> String {
        let out = self
            .s3
            .put_object()
            .bucket(METADATA_BUCKET)
            .key(METADATA_KEY)
            .body(ByteStream::from(document.as_bytes().to_vec()))
            .send()
            .await
            .expect("put metadata");
        out.version_id().expect("a versioned bucket").to_string()
    }

    async fn create_stack(&self, parameters: &[(&str, &str)]) -> String {
        let body = std::fs::read_to_string(TEMPLATE).expect("the template");
        let out = self
            .cfn
            .create_stack()
            .stack_name(STACK_NAME)
            .template_body(body)
            .set_parameters(Some(to_parameters(parameters)))
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityNamedIam)
            .send()
            .await
            .expect("CreateStack");
        out.stack_id().expect("a stack id").to_string()
    }

    async fn update_stack(&self, stack_id: &str, parameters: &[(&str, &str)]) {
        self.cfn
            .update_stack()
            .stack_name(stack_id)
            .use_previous_template(true)
            .set_parameters(Some(to_parameters(parameters)))
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityNamedIam)
            .send()
            .await
            .expect("UpdateStack");
    }

    /// Polls DescribeStacks (bounded by [`OPERATION_LIMIT`]) until the stack leaves its
    /// `*_IN_PROGRESS` states, and requires it to end in `expected`.
    async fn wait_for(&self, stack_id: &str, expected: &str) -> Stack {
        let started = Instant::now();
        loop {
            let out = self.cfn.describe_stacks().stack_name(stack_id).send().await.expect("DescribeStacks");
            let stack = out.stacks().first().cloned().expect("the stack");
            let status = stack.stack_status().map(|s| s.as_str().to_string()).unwrap_or_default();
            if !status.ends_with("_IN_PROGRESS") {
                assert_eq!(
                    status,
                    expected,
                    "the stack ended {status}; its events:\n{}",
                    self.events_text(stack_id).await
                );
                eprintln!("{stack_id}: {status} after {:.1} s", started.elapsed().as_secs_f64());
                return stack;
            }
            assert!(
                started.elapsed() < OPERATION_LIMIT,
                "the stack is still {status} after {OPERATION_LIMIT:?}; its events:\n{}",
                self.events_text(stack_id).await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The stack's events, oldest first, as `(logical id, status, physical id, reason)`.
    async fn events(&self, stack_id: &str) -> Vec<(String, String, String, String)> {
        let out = self.cfn.describe_stack_events().stack_name(stack_id).send().await.expect("DescribeStackEvents");
        out.stack_events()
            .iter()
            .rev()
            .map(|e| {
                (
                    e.logical_resource_id().unwrap_or_default().to_string(),
                    e.resource_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                    e.physical_resource_id().unwrap_or_default().to_string(),
                    e.resource_status_reason().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    async fn events_text(&self, stack_id: &str) -> String {
        self.events(stack_id)
            .await
            .iter()
            .map(|(lid, status, physical, reason)| format!("  {lid} {status} {physical} {reason}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `(logical id, status)` of the custom resources' events since event number `from`.
    async fn custom_events_since(&self, stack_id: &str, from: usize) -> Vec<(String, String)> {
        self.events(stack_id)
            .await
            .into_iter()
            .skip(from)
            .filter(|(lid, ..)| lid == "SAMLProvider" || lid == "SAMLRole")
            .map(|(lid, status, ..)| (lid, status))
            .collect()
    }

    async fn physical_id(&self, stack_id: &str, logical_id: &str) -> String {
        let out = self
            .cfn
            .describe_stack_resource()
            .stack_name(stack_id)
            .logical_resource_id(logical_id)
            .send()
            .await
            .expect("DescribeStackResource");
        let detail = out.stack_resource_detail().expect("a resource detail");
        detail.physical_resource_id().unwrap_or_default().to_string()
    }

    /// The provider's document and tags (`key=value`, sorted), or `None` when IAM has no provider
    /// of that name.
    async fn provider(&self, name: &str) -> Option<(String, Vec<String>)> {
        let out = self.iam.get_saml_provider().saml_provider_arn(provider_arn(name)).send().await.ok()?;
        let mut tags: Vec<String> = out.tags().iter().map(|t| format!("{}={}", t.key(), t.value())).collect();
        tags.sort();
        Some((out.saml_metadata_document().unwrap_or_default().to_string(), tags))
    }

    async fn provider_names(&self) -> Vec<String> {
        support::harness::provider_names(&self.iam).await
    }

    /// The role, its trust policy, its managed policies and its tags (`key=value`, sorted), or
    /// `None` when IAM has no such role.
    async fn role(&self, name: &str) -> Option<(aws_sdk_iam::types::Role, Value, Vec<String>, Vec<String>)> {
        let role = self.iam.get_role().role_name(name).send().await.ok()?.role?;
        let trust = percent_encoding::percent_decode_str(role.assume_role_policy_document().unwrap_or("{}"))
            .decode_utf8_lossy()
            .to_string();
        let trust: Value = serde_json::from_str(&trust).expect("the trust policy is JSON");
        let attached = self.iam.list_attached_role_policies().role_name(name).send().await.expect("attached policies");
        let managed = attached.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_string)).collect();
        let mut tags: Vec<String> = role.tags().iter().map(|t| format!("{}={}", t.key(), t.value())).collect();
        tags.sort();
        Some((role, trust, managed, tags))
    }
}

fn to_parameters(pairs: &[(&str, &str)]) -> Vec<Parameter> {
    pairs.iter().map(|(k, v)| Parameter::builder().parameter_key(*k).parameter_value(*v).build()).collect()
}

fn outputs(stack: &Stack) -> std::collections::BTreeMap<String, String> {
    stack
        .outputs()
        .iter()
        .map(|o| (o.output_key().unwrap_or_default().to_string(), o.output_value().unwrap_or_default().to_string()))
        .collect()
}

fn ownership_tags(stack_id: &str, logical_id: &str) -> Vec<String> {
    let mut tags = vec![format!("{STACK_TAG}={stack_id}"), format!("{LOGICAL_ID_TAG}={logical_id}")];
    tags.sort();
    tags
}

/// The parameters every operation passes (an UpdateStack without a parameter would reset it to
/// its Default, as in CloudFormation).
fn parameters<'a>(name: &'a str, previous: &'a str, file: &'a str, version: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("FederationName", name),
        ("PreviousFederationName", previous),
        ("FederationBucket", METADATA_BUCKET),
        ("FederationFile", file),
        ("FederationFileVersion", version),
        ("RoleName", ROLE),
        ("CodeBucket", CODE_BUCKET),
        ("CodeKey", CODE_KEY),
        ("Architecture", ARCHITECTURE),
    ]
}

/// Proves the whole life of the project's stack through CloudFormation's protocol, with the real
/// function answering:
/// - Create: CREATE_COMPLETE only once the function has answered both custom resources; IAM
///   holds the provider (the uploaded document, our ownership tags) and the role (trusting that
///   provider, ReadOnlyAccess from the template's default, our tags); `Ref` of each is the ARN
///   the function answered, and the Outputs carry the provider ARN and the exact
///   `IdentityCenterRoleAttribute`.
/// - Update with a new `FederationFileVersion`: only the provider gets an Update, in place (same
///   ARN), and IAM holds the new document.
/// - Update with a new `FederationName`: the provider is replaced (a new ARN), the role is
///   updated to trust the new one, and the old provider is deleted in the cleanup phase.
/// - Delete: the role, then the provider; DELETE_COMPLETE and IAM holds neither.
/// - Throughout, the function's origin check (`DescribeStackResource`) finds each request's
///   operation in progress in the engine's record, as it would in CloudFormation's.
#[tokio::test(flavor = "multi_thread")]
async fn the_stack_is_created_updated_replaced_and_deleted_through_cloudformation() {
    let d = Deployment::start().await;
    let v1 = d.put_metadata(&idp_metadata()).await;
    assert!(!v1.is_empty());

    // --- Create ---
    let stack_id = d.create_stack(&parameters(PROVIDER, "", METADATA_KEY, "")).await;
    let stack = d.wait_for(&stack_id, "CREATE_COMPLETE").await;
    let provider = provider_arn(PROVIDER);
    let role = role_arn(ROLE);

    let (document, tags) = d.provider(PROVIDER).await.expect("the provider exists");
    assert_eq!(document, idp_metadata());
    assert_eq!(tags, ownership_tags(&stack_id, "SAMLProvider"));
    let (iam_role, trust, managed, role_tags) = d.role(ROLE).await.expect("the role exists");
    assert_eq!(trust["Statement"][0]["Principal"]["Federated"], provider.as_str());
    assert_eq!(trust["Statement"][0]["Action"], "sts:AssumeRoleWithSAML");
    assert_eq!(managed, [READ_ONLY], "the template's default RoleManagedPolicyArns");
    assert_eq!(iam_role.max_session_duration(), Some(3600), "the template's number reached the function as \"3600\"");
    assert_eq!(role_tags, ownership_tags(&stack_id, "SAMLRole"));

    assert_eq!(d.physical_id(&stack_id, "SAMLProvider").await, provider);
    assert_eq!(d.physical_id(&stack_id, "SAMLRole").await, role);
    let out = outputs(&stack);
    assert_eq!(out["SAMLProviderArn"], provider);
    assert_eq!(out["RoleArn"], role);
    assert_eq!(
        out["IdentityCenterRoleAttribute"],
        format!("arn:aws:iam::{ACCOUNT}:saml-provider/{PROVIDER},arn:aws:iam::{ACCOUNT}:role/{ROLE}")
    );
    assert!(!out["SAMLProviderUuid"].is_empty(), "Fn::GetAtt reads the Data the function answered");
    let created_events = d.events(&stack_id).await.len();

    // --- Update: a new object version, pinned by FederationFileVersion ---
    let changed = idp_metadata_variant("https://idp.example.org/rotated");
    let v2 = d.put_metadata(&changed).await;
    d.update_stack(&stack_id, &parameters(PROVIDER, "", METADATA_KEY, &v2)).await;
    let stack = d.wait_for(&stack_id, "UPDATE_COMPLETE").await;
    assert_eq!(
        d.custom_events_since(&stack_id, created_events).await,
        [
            ("SAMLProvider".to_string(), "UPDATE_IN_PROGRESS".to_string()),
            ("SAMLProvider".into(), "UPDATE_COMPLETE".into())
        ],
        "only the provider's properties changed"
    );
    assert_eq!(d.provider(PROVIDER).await.expect("the provider").0, changed);
    assert_eq!(d.physical_id(&stack_id, "SAMLProvider").await, provider, "updated in place");
    assert_eq!(outputs(&stack)["SAMLProviderArn"], provider);
    let updated_events = d.events(&stack_id).await.len();

    // --- Update: a new FederationName replaces the provider ---
    let renamed = "CorpIdPNext";
    d.update_stack(&stack_id, &parameters(renamed, PROVIDER, METADATA_KEY, &v2)).await;
    let stack = d.wait_for(&stack_id, "UPDATE_COMPLETE").await;
    let new_provider = provider_arn(renamed);
    assert_eq!(d.provider_names().await, [renamed], "the old provider was deleted in the cleanup");
    let (_, trust, _, _) = d.role(ROLE).await.expect("the role");
    assert_eq!(trust["Statement"][0]["Principal"]["Federated"], new_provider.as_str());
    let out = outputs(&stack);
    assert_eq!(out["SAMLProviderArn"], new_provider);
    assert_eq!(out["IdentityCenterRoleAttribute"], format!("{new_provider},{role}"));
    let events = d.events(&stack_id).await;
    let cleanup_at = updated_events
        + events[updated_events..]
            .iter()
            .position(|e| e.1 == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            .expect("a cleanup phase");
    assert!(
        events[updated_events..cleanup_at].iter().any(|e| e.0 == "SAMLRole" && e.1 == "UPDATE_COMPLETE"),
        "the role was updated before the cleanup"
    );
    assert!(
        events[cleanup_at..].iter().any(|e| e.0 == "SAMLProvider" && e.1 == "DELETE_COMPLETE" && e.2 == provider),
        "the old provider's Delete came in the cleanup"
    );

    // --- Delete ---
    let before_delete = events.len();
    d.cfn.delete_stack().stack_name(&stack_id).send().await.expect("DeleteStack");
    d.wait_for(&stack_id, "DELETE_COMPLETE").await;
    assert_eq!(
        d.custom_events_since(&stack_id, before_delete).await,
        [
            ("SAMLRole".to_string(), "DELETE_IN_PROGRESS".to_string()),
            ("SAMLRole".into(), "DELETE_COMPLETE".into()),
            ("SAMLProvider".into(), "DELETE_IN_PROGRESS".into()),
            ("SAMLProvider".into(), "DELETE_COMPLETE".into()),
        ],
        "reverse dependency order: the role before the provider it trusts"
    );
    assert!(d.provider_names().await.is_empty());
    assert!(d.role(ROLE).await.is_none());

    // The function's origin check asked the engine about each of the 8 requests it got (2
    // Creates, 3 Updates, the cleanup Delete, 2 Deletes) and was satisfied every time.
    let asked = d.emulator.calls(ACCOUNT).await.iter().filter(|c| *c == "cloudformation:DescribeStackResource").count();
    assert!(asked >= 8, "the function asked DescribeStackResource {asked} times");
}

/// Proves that a Create the function refuses rolls the stack back: the metadata object does not
/// exist, so the function answers FAILED with a Reason that names it; the provider's status
/// reason carries that Reason, the provider (which answered) is sent a Delete in the rollback, the
/// role that depends on it is never created, the stack ends ROLLBACK_COMPLETE without Outputs,
/// and IAM holds nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_create_rolls_back_with_the_function_reason() {
    let d = Deployment::start().await;
    d.put_metadata(&idp_metadata()).await;

    let stack_id = d.create_stack(&parameters(PROVIDER, "", "metadata/missing.xml", "")).await;
    let stack = d.wait_for(&stack_id, "ROLLBACK_COMPLETE").await;

    let events = d.events(&stack_id).await;
    let failed: Vec<&String> =
        events.iter().filter(|e| e.0 == "SAMLProvider" && e.1 == "CREATE_FAILED").map(|e| &e.3).collect();
    assert_eq!(failed.len(), 1, "{events:?}");
    let reason = failed[0];
    assert!(
        reason.starts_with("Received response status [FAILED] from custom resource. Message returned: "),
        "{reason}"
    );
    assert!(reason.contains("metadata/missing.xml") && reason.contains("NoSuchKey"), "the function's Reason: {reason}");
    let rollback = events.iter().position(|e| e.1 == "ROLLBACK_IN_PROGRESS").expect("a rollback");
    assert_eq!(
        events[rollback].3,
        "The following resource(s) failed to create: [SAMLProvider]. Rollback requested by user."
    );
    assert!(
        events[rollback..].iter().any(|e| e.0 == "SAMLProvider" && e.1 == "DELETE_COMPLETE"),
        "the provider, which answered, got a Delete"
    );
    assert!(events.iter().all(|e| e.0 != "SAMLRole"), "the role, which depends on the provider, was never started");
    assert!(outputs(&stack).is_empty());
    assert!(d.provider_names().await.is_empty());
    assert!(d.role(ROLE).await.is_none());
}

/// One forged event: what an attacker holding only `lambda:InvokeFunction` sends while no stack
/// operation runs, with a ResponseURL of their own (a presigned PUT into their bucket).
struct Forgery {
    what: &'static str,
    event: Value,
}

impl Deployment {
    /// Invokes the stack's function directly, as `aws lambda invoke` does; returns its result
    /// and the response it PUT to the forged ResponseURL.
    async fn invoke_as_attacker(
        &self,
        lambda: &aws_sdk_lambda::Client,
        function: &str,
        event: &Value,
    ) -> (Value, Value) {
        let request_id = event["RequestId"].as_str().expect("RequestId").to_string();
        let out = lambda
            .invoke()
            .function_name(function)
            .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
            .send()
            .await
            .expect("Invoke");
        let result: Value = serde_json::from_slice(out.payload().expect("a payload").as_ref()).expect("JSON result");
        let object = self.s3.get_object().bucket(ATTACKER_BUCKET).key(&request_id).send().await.expect("answered");
        let body = object.body.collect().await.expect("body").into_bytes();
        (result, serde_json::from_slice(&body).expect("a JSON response"))
    }

    /// A presigned PUT URL into the attacker's bucket, as the forged ResponseURL.
    async fn attacker_response_url(&self, key: &str) -> String {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(3600)).expect("config");
        self.s3
            .put_object()
            .bucket(ATTACKER_BUCKET)
            .key(key)
            .presigned(config)
            .await
            .expect("presign")
            .uri()
            .to_string()
    }

    /// Everything IAM holds that a forged event could change: providers with documents and tags,
    /// and the role's trust policy, session length, managed and inline policies.
    async fn iam_state(&self) -> Value {
        let mut providers = Vec::new();
        for name in self.provider_names().await {
            providers.push(serde_json::json!([name, self.provider(&name).await]));
        }
        let role = match self.role(ROLE).await {
            None => Value::Null,
            Some((role, trust, managed, tags)) => {
                let inline = self.iam.list_role_policies().role_name(ROLE).send().await.expect("inline policies");
                serde_json::json!({
                    "trust": trust, "managed": managed, "tags": tags, "inline": inline.policy_names(),
                    "max_session": role.max_session_duration(), "boundary": format!("{:?}", role.permissions_boundary()),
                })
            }
        };
        serde_json::json!({"providers": providers, "role": role})
    }
}

const ATTACKER_BUCKET: &str = "attacker-owned";

/// Proves the origin check on the deployed function, as `templates/saml-federation.yaml`
/// configures it: with the stack at rest (no CloudFormation operation running), every event an
/// attacker holding only `lambda:InvokeFunction` can forge — each one an attack that changed IAM
/// before the check — is answered FAILED with a Reason saying no CloudFormation operation on that
/// resource is in progress, and IAM is left exactly as it was. Then the stack's own deletion,
/// CloudFormation's real operation, still works.
#[tokio::test(flavor = "multi_thread")]
async fn forged_events_change_nothing_and_the_stacks_own_operations_still_work() {
    let d = Deployment::start().await;
    d.put_metadata(&idp_metadata()).await;
    let mut with_refresh = parameters(PROVIDER, "", METADATA_KEY, "");
    with_refresh.push(("RefreshSchedule", "rate(1 hour)"));
    let stack_id = d.create_stack(&with_refresh).await;
    d.wait_for(&stack_id, "CREATE_COMPLETE").await;
    d.s3.create_bucket().bucket(ATTACKER_BUCKET).send().await.expect("the attacker's bucket");
    // The attacker can also write another key of the metadata bucket.
    d.s3.put_object()
        .bucket(METADATA_BUCKET)
        .key("metadata/attacker.xml")
        .body(ByteStream::from(idp_metadata_variant("https://evil.example.com/idp").into_bytes()))
        .send()
        .await
        .expect("the attacker's document");
    let function = d.physical_id(&stack_id, "Function").await;
    let before = d.iam_state().await;

    let (provider, role) = (provider_arn(PROVIDER), role_arn(ROLE));
    let provider_props =
        serde_json::json!({"Name": PROVIDER, "MetadataUrl": format!("s3://{METADATA_BUCKET}/{METADATA_KEY}")});
    let role_props = serde_json::json!({"RoleName": ROLE, "ProviderArn": provider, "ManagedPolicyArns": [READ_ONLY]});
    let with = |base: &Value, key: &str, value: Value| {
        let mut props = base.clone();
        props[key] = value;
        props
    };
    let update = |logical: &str, kind: &str, physical: &str, props: Value, old: &Value| {
        serde_json::json!({"RequestType": "Update", "LogicalResourceId": logical, "ResourceType": kind,
            "PhysicalResourceId": physical, "ResourceProperties": props, "OldResourceProperties": old})
    };
    let other_provider = provider_arn("Attacker");
    let forgeries = [
        Forgery {
            what: "provider Update with an inline MetadataDocument",
            event: update(
                "SAMLProvider",
                "Custom::SAMLProvider",
                &provider,
                serde_json::json!({"Name": PROVIDER,
                "MetadataDocument": idp_metadata_variant("https://evil.example.com/idp")}),
                &provider_props,
            ),
        },
        Forgery {
            what: "provider Update with another key of the metadata bucket",
            event: update(
                "SAMLProvider",
                "Custom::SAMLProvider",
                &provider,
                with(
                    &provider_props,
                    "MetadataUrl",
                    serde_json::json!(format!("s3://{METADATA_BUCKET}/metadata/attacker.xml")),
                ),
                &provider_props,
            ),
        },
        Forgery {
            what: "role Update attaching AdministratorAccess",
            event: update(
                "SAMLRole",
                "Custom::SAMLRole",
                &role,
                with(
                    &role_props,
                    "ManagedPolicyArns",
                    serde_json::json!(["arn:aws:iam::aws:policy/AdministratorAccess"]),
                ),
                &role_props,
            ),
        },
        Forgery {
            what: "role Update adding an inline * policy",
            event: update(
                "SAMLRole",
                "Custom::SAMLRole",
                &role,
                with(
                    &role_props,
                    "Policies",
                    serde_json::json!([{"PolicyName": "all",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}]),
                ),
                &role_props,
            ),
        },
        Forgery {
            what: "role Update adding a SAML:aud audience",
            event: update(
                "SAMLRole",
                "Custom::SAMLRole",
                &role,
                with(
                    &role_props,
                    "Audiences",
                    serde_json::json!(["https://signin.aws.amazon.com/saml", "https://evil.example.com/acs"]),
                ),
                &role_props,
            ),
        },
        Forgery {
            what: "role Update raising MaxSessionDuration to 12 h",
            event: update(
                "SAMLRole",
                "Custom::SAMLRole",
                &role,
                with(&role_props, "MaxSessionDuration", serde_json::json!("43200")),
                &role_props,
            ),
        },
        Forgery {
            what: "role Update trusting another provider",
            event: update(
                "SAMLRole",
                "Custom::SAMLRole",
                &role,
                with(&role_props, "ProviderArn", serde_json::json!(other_provider)),
                &role_props,
            ),
        },
        Forgery {
            what: "Create of a provider of another name",
            event: serde_json::json!({"RequestType": "Create", "LogicalResourceId": "SAMLProvider", "ResourceType": "Custom::SAMLProvider",
                "ResourceProperties": {"Name": "Attacker", "MetadataUrl": format!("s3://{METADATA_BUCKET}/metadata/attacker.xml")}}),
        },
        Forgery {
            what: "Delete of the role",
            event: serde_json::json!({"RequestType": "Delete", "LogicalResourceId": "SAMLRole", "ResourceType": "Custom::SAMLRole",
                "PhysicalResourceId": role, "ResourceProperties": role_props}),
        },
        Forgery {
            what: "Delete of the provider",
            event: serde_json::json!({"RequestType": "Delete", "LogicalResourceId": "SAMLProvider", "ResourceType": "Custom::SAMLProvider",
                "PhysicalResourceId": provider, "ResourceProperties": provider_props}),
        },
    ];

    let config = samlfed::aws::loader()
        .endpoint_url(d.emulator.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(INSPECTOR_KEY, "test-secret", None, None, "attacker"))
        .load()
        .await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    for (i, forgery) in forgeries.iter().enumerate() {
        let request_id = format!("forged-{i}");
        let mut event = forgery.event.clone();
        event["ServiceToken"] = serde_json::json!(function);
        event["ResourceProperties"]["ServiceToken"] = serde_json::json!(function);
        event["StackId"] = serde_json::json!(stack_id);
        event["RequestId"] = serde_json::json!(request_id);
        event["ResponseURL"] = serde_json::json!(d.attacker_response_url(&request_id).await);
        let (result, response) = d.invoke_as_attacker(&lambda, &function, &event).await;
        assert_eq!(result["Status"], "FAILED", "{}: {result}", forgery.what);
        assert_eq!(response["Status"], "FAILED", "{}: {response}", forgery.what);
        let reason = response["Reason"].as_str().unwrap_or_default();
        assert!(reason.contains("no CloudFormation operation on"), "{}: {reason}", forgery.what);
        assert_eq!(d.iam_state().await, before, "{} changed IAM", forgery.what);
    }

    // Forged scheduled refreshes naming another source or provider: refused, nothing fetched
    // or written. The configured refresh itself (what the RefreshRule sends) still runs.
    let attacker_url = format!("s3://{METADATA_BUCKET}/metadata/attacker.xml");
    for forged in [
        serde_json::json!({"Refresh": {"ProviderArn": provider, "MetadataUrl": attacker_url}}),
        serde_json::json!({"Refresh": {"ProviderArn": provider_arn("Other")}}),
    ] {
        let payload = aws_sdk_lambda::primitives::Blob::new(forged.to_string());
        let out = lambda.invoke().function_name(&function).payload(payload).send().await.expect("Invoke");
        let text = String::from_utf8_lossy(out.payload().expect("a payload").as_ref()).to_string();
        assert!(out.function_error().is_some(), "{forged}: {text}");
        assert!(text.contains("not this function's configuration"), "{forged}: {text}");
        assert_eq!(d.iam_state().await, before, "{forged} changed IAM");
    }
    let scheduled = aws_sdk_lambda::primitives::Blob::new(r#"{"Refresh":{}}"#);
    let out = lambda.invoke().function_name(&function).payload(scheduled).send().await.expect("Invoke");
    let outcome: Value = serde_json::from_slice(out.payload().expect("a payload").as_ref()).expect("JSON");
    assert_eq!((out.function_error(), &outcome["Changed"]), (None, &Value::Bool(false)), "{outcome}");

    // CloudFormation's own operation is not refused.
    d.cfn.delete_stack().stack_name(&stack_id).send().await.expect("DeleteStack");
    d.wait_for(&stack_id, "DELETE_COMPLETE").await;
    assert!(d.provider_names().await.is_empty());
    assert!(d.role(ROLE).await.is_none());
}
