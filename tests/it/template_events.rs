//! The project's own template, `templates/saml-federation.yaml`, rendered as CloudFormation
//! renders it and played through its stack operations: every event here is one CloudFormation
//! would send for that template and those parameters (support/template.rs, support/stack.rs),
//! answered by the real handler against the emulator. An event in, the response and IAM out.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support;
use crate::support::harness::{Harness, ACCOUNT, METADATA_BUCKET};
use crate::support::https_idp::HttpsIdp;
use crate::support::stack::{Ended, TemplateStack};
use crate::support::template::Template;
use crate::support::{idp_metadata, idp_metadata_variant, sha256_hex};

const CODE_BUCKET: &str = "samlfed-artefacts";
const METADATA_KEY: &str = "metadata/idp-metadata.xml";

fn role_arn(path_and_name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role{path_and_name}")
}

/// A harness with the metadata object at the template's default key.
async fn harness() -> (Harness, String) {
    let h = Harness::start().await;
    let (_, version) = h.put_metadata(METADATA_KEY, idp_metadata()).await;
    (h, version)
}

/// The parameters a user gives for the documented single-account deployment.
fn base<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut parameters =
        vec![("FederationName", "Okta"), ("FederationBucket", METADATA_BUCKET), ("CodeBucket", CODE_BUCKET)];
    parameters.extend_from_slice(extra);
    parameters
}

/// The SHA-256 of the fixture's one signing certificate, as `TrustedCertificateSha256` takes it.
fn certificate_pin() -> String {
    let validated =
        samlfed::metadata::validate::validate(idp_metadata().as_bytes(), time::OffsetDateTime::now_utc()).unwrap();
    validated.signing_certificates[0].sha256_hex.clone()
}

async fn attached_policies(h: &Harness, role: &str) -> Vec<String> {
    let listed = h.iam.list_attached_role_policies().role_name(role).send().await.expect("list attached");
    let mut arns: Vec<String> =
        listed.attached_policies().iter().filter_map(|p| p.policy_arn().map(String::from)).collect();
    arns.sort();
    arns
}

async fn role(h: &Harness, name: &str) -> Option<aws_sdk_iam::types::Role> {
    h.iam.get_role().role_name(name).send().await.ok().and_then(|r| r.role)
}

fn trust_policy(role: &aws_sdk_iam::types::Role) -> Value {
    let raw = role.assume_role_policy_document().expect("trust policy");
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8().expect("utf-8");
    serde_json::from_str(&decoded).expect("trust policy JSON")
}

/// The template sets `ServiceTimeout` on both custom resources and CloudFormation passes it on
/// inside `ResourceProperties` (as a string) and at the top of the event. Before the fix every
/// Create answered FAILED "unknown field `ServiceTimeout`".
#[tokio::test(flavor = "multi_thread")]
async fn the_templates_own_create_events_succeed_with_service_timeout_in_the_properties() {
    let (h, _) = harness().await;
    let mut stack = TemplateStack::new(&h, Template::federation(), &base(&[("RoleName", "CorpReadOnly")]));
    assert_eq!(stack.create().await, Ended::Complete, "{:#?}", stack.exchanges);

    let provider_event = &stack.exchanges[0].event;
    assert_eq!(provider_event["ResourceProperties"]["ServiceTimeout"], "300", "a string, as CloudFormation sends it");
    assert_eq!(provider_event["ServiceTimeout"], "300");
    assert_eq!(stack.summaries_since(0), ["Create SAMLProvider SUCCESS", "Create SAMLRole SUCCESS"]);
    let role_properties = &stack.exchanges[1].event["ResourceProperties"];
    assert_eq!(role_properties["MaxSessionDuration"], "3600", "numbers arrive as strings");
    assert_eq!(role_properties["ProviderArn"], Harness::provider_arn("Okta"), "!Ref of the provider's answer");

    // The stack's Outputs, as Identity Center's External AWS Account application needs them.
    let outputs = stack.outputs();
    assert_eq!(outputs["SAMLProviderArn"], json!(Harness::provider_arn("Okta")));
    assert_eq!(
        outputs["IdentityCenterRoleAttribute"],
        json!(format!("{},{}", Harness::provider_arn("Okta"), role_arn("/CorpReadOnly")))
    );
    assert_eq!(outputs["SigningCertificateNotAfter"], json!("2045-01-01T00:00:00Z"));
    let provider = h.provider("Okta").await.expect("the provider exists");
    assert_eq!(outputs["SAMLProviderUuid"].as_str(), provider.saml_provider_uuid());
    let made = role(&h, "CorpReadOnly").await.expect("the role exists");
    assert_eq!(trust_policy(&made)["Statement"][0]["Principal"]["Federated"], Harness::provider_arn("Okta"));
    assert_eq!(made.max_session_duration(), Some(3600));
}

/// The template's default `RoleManagedPolicyArns` is the literal
/// `arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess`, which its `DefaultManagedPolicy`
/// condition turns into this partition's ReadOnlyAccess. The AWS managed policy exists in the
/// emulator as in IAM; custom lists are passed through, and an empty list attaches nothing.
#[tokio::test(flavor = "multi_thread")]
async fn managed_policies_default_custom_and_none_reach_iam_as_the_template_renders_them() {
    let (h, _) = harness().await;
    let cases: [(&str, Option<&str>, Vec<&str>); 3] = [
        ("Default", None, vec!["arn:aws:iam::aws:policy/ReadOnlyAccess"]),
        (
            "Custom",
            Some("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess,arn:aws:iam::aws:policy/SecurityAudit"),
            vec!["arn:aws:iam::aws:policy/SecurityAudit", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"],
        ),
        ("None", Some(""), vec![]),
    ];
    for (name, policies, expected) in cases {
        let mut parameters = base(&[("FederationName", name), ("RoleName", name)]);
        if let Some(list) = policies {
            parameters.push(("RoleManagedPolicyArns", list));
        }
        let mut stack = TemplateStack::new(&h, Template::federation(), &parameters);
        assert_eq!(stack.create().await, Ended::Complete, "{name}: {:#?}", stack.exchanges);
        let sent = &stack.exchanges[1].event["ResourceProperties"];
        assert_eq!(sent.get("ManagedPolicyArns").is_none(), expected.is_empty(), "{name}: {sent}");
        assert_eq!(attached_policies(&h, name).await, expected, "{name}");
    }
}

/// Without `RoleName` the template has no role: one custom resource, and no role Outputs.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_role_name_only_the_provider_is_created_and_deleted() {
    let (h, _) = harness().await;
    let mut stack = TemplateStack::new(&h, Template::federation(), &base(&[]));
    assert_eq!(stack.create().await, Ended::Complete);
    assert_eq!(stack.summaries_since(0), ["Create SAMLProvider SUCCESS"]);
    assert!(!stack.outputs().contains_key("IdentityCenterRoleAttribute"));
    assert_eq!(h.provider_names().await, ["Okta"]);

    let deleted: Vec<String> = stack.delete().await.iter().map(|e| e.summary()).collect();
    assert_eq!(deleted, ["Delete SAMLProvider SUCCESS"]);
    assert!(h.provider_names().await.is_empty());
}

/// `AdoptExisting`: without it the stack's Create over a provider made by hand fails and its
/// rollback leaves that provider alone; with `"true"` the stack takes it over, and deleting the
/// stack leaves it in place (it existed before the stack).
#[tokio::test(flavor = "multi_thread")]
async fn adopt_existing_takes_over_a_hand_made_provider_only_when_the_parameter_says_so() {
    let (h, _) = harness().await;
    h.create_foreign_provider("Okta", &idp_metadata_variant("https://idp.example.com/hand-made")).await;

    let mut refused = TemplateStack::new(&h, Template::federation(), &base(&[]));
    let Ended::RolledBack { logical_id, reason } = refused.create().await else {
        panic!("a Create over a hand-made provider must fail: {:#?}", refused.exchanges)
    };
    assert_eq!(logical_id, "SAMLProvider");
    assert!(reason.contains("AdoptExisting"), "{reason}");
    assert_eq!(h.provider_names().await, ["Okta"], "the rollback deleted nothing");

    let mut adopting = TemplateStack::new(&h, Template::federation(), &base(&[("AdoptExisting", "true")]));
    assert_eq!(adopting.create().await, Ended::Complete, "{:#?}", adopting.exchanges);
    assert_eq!(adopting.exchanges[0].event["ResourceProperties"]["AdoptExisting"], "true");
    assert_eq!(adopting.exchanges[0].response["Data"]["Adopted"], "true");
    let provider = h.iam.get_saml_provider().saml_provider_arn(Harness::provider_arn("Okta")).send().await.unwrap();
    assert_eq!(provider.saml_metadata_document(), Some(idp_metadata().as_str()), "converged to the stack's metadata");

    let deleted: Vec<String> = adopting.delete().await.iter().map(|e| e.summary()).collect();
    assert_eq!(deleted, ["Delete SAMLProvider SUCCESS"]);
    assert_eq!(h.provider_names().await, ["Okta"], "an adopted provider outlives the stack");
}

/// Pins, a permissions boundary, a role path and `FederationFileVersion` at Create: each
/// parameter reaches IAM through the properties the template renders.
#[tokio::test(flavor = "multi_thread")]
async fn pins_boundary_path_and_a_pinned_object_version_are_honoured_at_create() {
    let (h, version) = harness().await;
    let (document_pin, certificate_pin) = (sha256_hex(idp_metadata().as_bytes()), certificate_pin());
    let parameters = base(&[
        ("RoleName", "Auditor"),
        ("RolePath", "/federated/"),
        ("RolePermissionsBoundaryArn", "arn:aws:iam::aws:policy/PowerUserAccess"),
        ("RoleMaxSessionDuration", "7200"),
        ("FederationFileVersion", &version),
        ("MetadataSha256", &document_pin),
        ("TrustedCertificateSha256", &certificate_pin),
    ]);
    let mut stack = TemplateStack::new(&h, Template::federation(), &parameters);
    assert_eq!(stack.create().await, Ended::Complete, "{:#?}", stack.exchanges);

    let sent = &stack.exchanges[0].event["ResourceProperties"];
    assert_eq!(sent["MetadataUrl"], format!("s3://{METADATA_BUCKET}/{METADATA_KEY}?versionId={version}"));
    assert_eq!(sent["TrustedCertificateSha256"], json!([certificate_pin]), "a CommaDelimitedList stays a list");
    let made = role(&h, "Auditor").await.expect("role");
    assert_eq!(made.path(), "/federated/");
    assert_eq!(made.max_session_duration(), Some(7200));
    let boundary = made.permissions_boundary().and_then(|b| b.permissions_boundary_arn());
    assert_eq!(boundary, Some("arn:aws:iam::aws:policy/PowerUserAccess"));
    assert_eq!(
        stack.outputs()["IdentityCenterRoleAttribute"],
        json!(format!("{},{}", Harness::provider_arn("Okta"), role_arn("/federated/Auditor")))
    );
}

/// A pin that does not match fails the Create with a Reason naming the property; CloudFormation's
/// rollback then deletes the failed resource with the physical id it answered — which must
/// succeed (nothing was made), or the stack would end in ROLLBACK_FAILED.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_create_is_rolled_back_by_a_delete_that_succeeds_and_leaves_iam_as_it_was() {
    let (h, _) = harness().await;
    let wrong_pin = "0".repeat(64);
    let mut stack =
        TemplateStack::new(&h, Template::federation(), &base(&[("RoleName", "R"), ("MetadataSha256", &wrong_pin)]));
    match stack.create().await {
        Ended::RolledBack { logical_id, reason } => {
            assert_eq!(logical_id, "SAMLProvider");
            assert!(reason.contains("MetadataSha256"), "{reason}");
        }
        other => panic!("expected a rollback, got {other:?}"),
    }
    assert_eq!(stack.summaries_since(0), ["Create SAMLProvider FAILED", "Delete SAMLProvider SUCCESS"]);
    assert!(h.provider_names().await.is_empty());
    assert!(role(&h, "R").await.is_none());
}

/// The documented lifecycle: Create; new metadata through `FederationFileVersion` (the provider
/// updated in place, the role untouched); a `ServiceTimeout`-only change (Updates that write
/// nothing to IAM); a rename through `FederationName` + `PreviousFederationName` (replacement,
/// the role re-pointed, the old provider deleted in the cleanup); then stack deletion.
#[tokio::test(flavor = "multi_thread")]
async fn the_documented_lifecycle_create_new_version_timeout_rename_delete() {
    let (h, _) = harness().await;
    let mut stack = TemplateStack::new(&h, Template::federation(), &base(&[("RoleName", "CorpReadOnly")]));
    assert_eq!(stack.create().await, Ended::Complete);
    let uuid = stack.answered["SAMLProvider"].data["Uuid"].clone();

    // New metadata: a new object version, pinned through the parameter.
    let rotated = idp_metadata_variant("https://idp.example.com/saml2/rotated");
    let (_, version) = h.put_metadata(METADATA_KEY, rotated.clone()).await;
    let from = stack.exchanges.len();
    assert_eq!(
        stack.update(None, &base(&[("RoleName", "CorpReadOnly"), ("FederationFileVersion", &version)])).await,
        Ended::Complete
    );
    assert_eq!(stack.summaries_since(from), ["Update SAMLProvider SUCCESS"], "the role's properties did not change");
    assert_eq!(stack.exchanges[from].response["PhysicalResourceId"], Harness::provider_arn("Okta"));
    assert_eq!(h.provider("Okta").await.unwrap().saml_metadata_document(), Some(rotated.as_str()));
    assert_eq!(stack.answered["SAMLProvider"].data["Uuid"], uuid, "updated in place, not re-created");

    // ServiceTimeout changed in the template, nothing else: an Update of each custom resource
    // that changes nothing in IAM and keeps the physical ids.
    let template = Template::federation().with_property("SAMLProvider", "ServiceTimeout", json!(600)).with_property(
        "SAMLRole",
        "ServiceTimeout",
        json!(600),
    );
    let parameters = base(&[("RoleName", "CorpReadOnly"), ("FederationFileVersion", &version)]);
    h.emulator.clear_calls().await;
    let from = stack.exchanges.len();
    assert_eq!(stack.update(Some(template), &parameters).await, Ended::Complete);
    assert_eq!(stack.summaries_since(from), ["Update SAMLProvider SUCCESS", "Update SAMLRole SUCCESS"]);
    assert_eq!(stack.exchanges[from].event["OldResourceProperties"]["ServiceTimeout"], "300");
    assert_eq!(stack.exchanges[from].event["ResourceProperties"]["ServiceTimeout"], "600");
    for exchange in &stack.exchanges[from..] {
        assert_eq!(exchange.response["PhysicalResourceId"], exchange.event["PhysicalResourceId"]);
    }
    let writes: Vec<String> =
        h.iam_calls().await.into_iter().filter(|c| !c.starts_with("iam:Get") && !c.starts_with("iam:List")).collect();
    assert!(writes.is_empty(), "a ServiceTimeout-only update writes nothing to IAM: {writes:?}");

    // Rename: the provider is replaced, the role trusts the new one, the old one goes in the cleanup.
    let from = stack.exchanges.len();
    let renamed = base(&[
        ("FederationName", "Okta2"),
        ("PreviousFederationName", "Okta"),
        ("RoleName", "CorpReadOnly"),
        ("FederationFileVersion", &version),
    ]);
    assert_eq!(stack.update(None, &renamed).await, Ended::Complete, "{:#?}", stack.exchanges);
    assert_eq!(
        stack.summaries_since(from),
        ["Update SAMLProvider SUCCESS", "Update SAMLRole SUCCESS", "Delete SAMLProvider SUCCESS"],
        "{:#?}",
        stack.exchanges.last()
    );
    assert_eq!(stack.exchanges[from + 2].event["PhysicalResourceId"], Harness::provider_arn("Okta"));
    assert_eq!(h.provider_names().await, ["Okta2"]);
    let made = role(&h, "CorpReadOnly").await.expect("role");
    assert_eq!(trust_policy(&made)["Statement"][0]["Principal"]["Federated"], Harness::provider_arn("Okta2"));
    assert_eq!(
        stack.outputs()["IdentityCenterRoleAttribute"],
        json!(format!("{},{}", Harness::provider_arn("Okta2"), role_arn("/CorpReadOnly")))
    );

    // Stack deletion: the role first, then the provider; IAM is left as it was.
    let deleted: Vec<String> = stack.delete().await.iter().map(|e| e.summary()).collect();
    assert_eq!(deleted, ["Delete SAMLRole SUCCESS", "Delete SAMLProvider SUCCESS"]);
    assert!(h.provider_names().await.is_empty());
    assert!(role(&h, "CorpReadOnly").await.is_none());
}

/// `MetadataHttpsUrl` instead of the bucket: the provider reads the IdP's own HTTPS endpoint.
#[tokio::test(flavor = "multi_thread")]
async fn an_https_metadata_url_parameter_creates_the_provider_from_the_idp() {
    let h = Harness::start().await;
    let idp = HttpsIdp::start(idp_metadata()).await;
    let deps = h.deps_trusting(Some(&idp.ca_pem), true, Duration::from_secs(5));
    let url = idp.url("/metadata.xml");
    let parameters = [("FederationName", "Okta"), ("MetadataHttpsUrl", url.as_str()), ("CodeBucket", CODE_BUCKET)];
    let mut stack = TemplateStack::new(&h, Template::federation(), &parameters).with_deps(deps);
    assert_eq!(stack.create().await, Ended::Complete, "{:#?}", stack.exchanges);
    assert_eq!(stack.exchanges[0].event["ResourceProperties"]["MetadataUrl"], url);
    assert_eq!(h.provider("Okta").await.unwrap().saml_metadata_document(), Some(idp_metadata().as_str()));
}

/// The `RefreshRule`'s `Input` is what EventBridge sends the function, and the `Function`'s
/// `Environment` is what tells it which provider, source and pins to refresh — both rendered from
/// the template. The event only triggers; the configuration names the stack's provider, its source
/// without a versionId (a refresh follows the latest object version), the pins, and the ownership
/// tags' values the provider must carry.
#[tokio::test(flavor = "multi_thread")]
async fn the_refresh_rule_triggers_the_refresh_the_functions_environment_configures() {
    let (h, _) = harness().await;
    let pin = certificate_pin();
    let parameters = base(&[("RefreshSchedule", "rate(1 hour)"), ("TrustedCertificateSha256", &pin)]);
    let mut stack = TemplateStack::new(&h, Template::federation(), &parameters);
    assert_eq!(stack.create().await, Ended::Complete);

    let rendering = stack.rendering();
    let input = rendering.value_at("/Resources/RefreshRule/Properties/Targets/0/Input").expect("Input");
    let event: Value = serde_json::from_str(input.as_str().expect("Input is a string")).expect("Input is JSON");
    assert_eq!(event, json!({"Refresh": {}}), "the event names nothing");
    let environment = rendering.value_at("/Resources/Function/Properties/Environment").expect("Environment");
    let variable = |name: &str| environment["Variables"].get(name).map(support::template::scalar_text);
    let config = samlfed::refresh::RefreshConfig::from_lookup(variable).expect("complete").expect("configured");
    assert_eq!(config.provider_name, "Okta");
    assert_eq!(config.metadata_url, format!("s3://{METADATA_BUCKET}/{METADATA_KEY}"));
    assert_eq!(config.trusted_certificate_sha256, [pin]);
    assert_eq!(config.metadata_sha256, None);
    assert_eq!((config.stack_id.as_str(), config.logical_id.as_str()), (support::harness::STACK_ID, "SAMLProvider"));

    let mut deps = h.deps.clone();
    deps.settings.refresh = Some(config);
    let outcome = samlfed::cfn::handler::handle(
        &deps,
        lambda_runtime::LambdaEvent::new(event, Harness::context(Duration::from_secs(60))),
    )
    .await
    .expect("the refresh succeeds");
    assert_eq!(outcome["ProviderArn"], Harness::provider_arn("Okta"));
    assert_eq!(outcome["Changed"], false);

    // Without a RefreshSchedule the function has no refresh configuration at all.
    let without = TemplateStack::new(&h, Template::federation(), &base(&[]));
    assert_eq!(without.rendering().value_at("/Resources/Function/Properties/Environment"), None);
}
