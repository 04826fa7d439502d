//! `Custom::SAMLRole` against the local emulator: event in, response and IAM state out.
//!
//! Hand-written properties, and why: inline `Policies`, `Audiences`, `Tags` and the diffs between
//! them are the resource type's contract for a user's own template; the project's template renders
//! none of them. Its own role events are in `template_events.rs`.

use serde_json::{json, Value};

use crate::support::harness::{Harness, ACCOUNT, STACK_ID};
use crate::support::idp_metadata;

const ROLE: &str = "Custom::SAMLRole";
const LOGICAL_ID: &str = "FederatedRole";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const VIEW_ONLY: &str = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess";

/// A harness whose account already has the provider `CorpIdP`, created through the function.
async fn with_provider() -> (Harness, String) {
    let h = Harness::start().await;
    let response = h
        .run(&h.create("IdentityProvider", json!({"Name": "CorpIdP", "MetadataDocument": idp_metadata()})).await)
        .await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    h.emulator.clear_calls().await;
    (h, Harness::provider_arn("CorpIdP"))
}

fn role_arn(path: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role{path}{name}")
}

async fn update(h: &Harness, physical_id: &str, props: Value, old: Value) -> Value {
    let mut event = h.event("Update", ROLE, LOGICAL_ID, props).await;
    event["PhysicalResourceId"] = json!(physical_id);
    event["OldResourceProperties"] = old;
    h.run(&event).await
}

async fn delete(h: &Harness, physical_id: &str) -> Value {
    let mut event = h.event("Delete", ROLE, LOGICAL_ID, json!({})).await;
    event["PhysicalResourceId"] = json!(physical_id);
    h.run(&event).await
}

struct RoleState {
    role: aws_sdk_iam::types::Role,
    trust: Value,
    managed: Vec<String>,
    inline: Vec<String>,
    tags: Vec<String>,
}

async fn role_state(h: &Harness, name: &str) -> Option<RoleState> {
    let role = h.iam.get_role().role_name(name).send().await.ok()?.role?;
    let trust_text = percent_encoding::percent_decode_str(role.assume_role_policy_document().unwrap_or("{}"))
        .decode_utf8_lossy()
        .to_string();
    let trust: Value = serde_json::from_str(&trust_text).unwrap();
    let attached = h.iam.list_attached_role_policies().role_name(name).send().await.unwrap();
    let mut managed: Vec<String> =
        attached.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_string)).collect();
    managed.sort();
    let mut inline = h.iam.list_role_policies().role_name(name).send().await.unwrap().policy_names().to_vec();
    inline.sort();
    let mut tags: Vec<String> = role.tags().iter().map(|t| format!("{}={}", t.key(), t.value())).collect();
    tags.sort();
    Some(RoleState { role, trust, managed, inline, tags })
}

fn base_props(provider_arn: &str) -> Value {
    json!({
        "RoleName": "CorpReadOnly",
        "ProviderArn": provider_arn,
        "Description": "Read-only access for CorpIdP users",
        "ManagedPolicyArns": [READ_ONLY],
        "Policies": [{"PolicyName": "deny-iam", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}}],
        "MaxSessionDuration": "7200",
        "Tags": [{"Key": "team", "Value": "platform"}]
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn create_makes_the_federated_role_and_the_identity_center_attribute() {
    let (h, provider_arn) = with_provider().await;
    let response = h.run(&h.event("Create", ROLE, LOGICAL_ID, base_props(&provider_arn)).await).await;

    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let arn = role_arn("/", "CorpReadOnly");
    assert_eq!(response["PhysicalResourceId"], arn);
    assert_eq!(response["Data"]["Arn"], arn);
    assert_eq!(response["Data"]["RoleName"], "CorpReadOnly");
    assert_eq!(
        response["Data"]["IdentityCenterRoleAttribute"],
        "arn:aws:iam::123456789012:saml-provider/CorpIdP,arn:aws:iam::123456789012:role/CorpReadOnly"
    );
    let state = role_state(&h, "CorpReadOnly").await.expect("role exists");
    assert_eq!(response["Data"]["RoleId"], state.role.role_id());
    assert_eq!(
        state.trust,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithSAML", "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}]})
    );
    assert_eq!(state.managed, [READ_ONLY]);
    assert_eq!(state.inline, ["deny-iam"]);
    assert_eq!(state.role.max_session_duration(), Some(7200), "CloudFormation's string \"7200\" is accepted");
    assert_eq!(state.role.description(), Some("Read-only access for CorpIdP users"));
    assert_eq!(
        state.tags,
        [
            format!("samlfed:logical-id={LOGICAL_ID}"),
            format!("samlfed:stack-id={STACK_ID}"),
            "team=platform".to_string()
        ]
    );
    assert_eq!(h.iam_calls().await, ["iam:CreateRole", "iam:AttachRolePolicy", "iam:PutRolePolicy"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_changes_only_what_differs_in_place() {
    let (h, provider_arn) = with_provider().await;
    let old = base_props(&provider_arn);
    let created = h.run(&h.event("Create", ROLE, LOGICAL_ID, old.clone()).await).await;
    let role_id = created["Data"]["RoleId"].clone();
    // Someone else attaches a policy: it must survive our update.
    h.iam
        .attach_role_policy()
        .role_name("CorpReadOnly")
        .policy_arn("arn:aws:iam::aws:policy/AWSSupportAccess")
        .send()
        .await
        .unwrap();
    h.emulator.clear_calls().await;

    let mut new = old.clone();
    new["Description"] = json!("Viewers");
    new["ManagedPolicyArns"] = json!([VIEW_ONLY]);
    new["Policies"] = json!([{"PolicyName": "deny-billing", "PolicyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"aws-portal:*\",\"Resource\":\"*\"}]}"}]);
    new["Audiences"] = json!(["https://signin.aws.amazon.com/saml", "urn:amazon:webservices"]);
    new["PermissionsBoundary"] = json!(READ_ONLY);
    let response = update(&h, &role_arn("/", "CorpReadOnly"), new, old).await;

    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["Data"]["RoleId"], role_id, "the same role, not a re-created one");
    let state = role_state(&h, "CorpReadOnly").await.unwrap();
    assert_eq!(state.role.description(), Some("Viewers"));
    assert_eq!(state.role.max_session_duration(), Some(7200), "UpdateRole kept the session length");
    assert_eq!(state.managed, ["arn:aws:iam::aws:policy/AWSSupportAccess", VIEW_ONLY]);
    assert_eq!(state.inline, ["deny-billing"]);
    assert_eq!(
        state.trust["Statement"][0]["Condition"]["StringEquals"]["SAML:aud"],
        json!(["https://signin.aws.amazon.com/saml", "urn:amazon:webservices"])
    );
    assert_eq!(state.role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()), Some(READ_ONLY));
    assert_eq!(
        h.iam_calls().await,
        [
            "iam:GetRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:UpdateRole",
            "iam:PutRolePermissionsBoundary",
            "iam:ListAttachedRolePolicies",
            "iam:AttachRolePolicy",
            "iam:DetachRolePolicy",
            "iam:ListRolePolicies",
            "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_that_changes_nothing_writes_nothing() {
    let (h, provider_arn) = with_provider().await;
    let props = base_props(&provider_arn);
    h.run(&h.event("Create", ROLE, LOGICAL_ID, props.clone()).await).await;
    h.emulator.clear_calls().await;
    let response = update(&h, &role_arn("/", "CorpReadOnly"), props.clone(), props).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(h.iam_calls().await, ["iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_role_name_or_path_is_a_replacement_and_cleanup_deletes_the_old_role() {
    let (h, provider_arn) = with_provider().await;
    let old = base_props(&provider_arn);
    h.run(&h.event("Create", ROLE, LOGICAL_ID, old.clone()).await).await;
    let mut new = old.clone();
    new["Path"] = json!("/sso/");
    let response = update(&h, &role_arn("/", "CorpReadOnly"), new.clone(), old.clone()).await;
    assert_eq!(response["Status"], "FAILED", "IAM role names are unique across paths: {response}");
    assert!(response["Reason"].as_str().unwrap().contains("already exists"), "{response}");

    new["RoleName"] = json!("CorpViewer");
    let response = update(&h, &role_arn("/", "CorpReadOnly"), new, old).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], role_arn("/sso/", "CorpViewer"));
    assert!(role_state(&h, "CorpReadOnly").await.is_some(), "the old role stays until CloudFormation's cleanup");

    let cleanup = delete(&h, &role_arn("/", "CorpReadOnly")).await;
    assert_eq!(cleanup["Status"], "SUCCESS", "{cleanup}");
    assert!(role_state(&h, "CorpReadOnly").await.is_none(), "detached, inline policy deleted, role deleted");
    assert!(role_state(&h, "CorpViewer").await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_removes_what_the_role_carries_then_the_role_and_tolerates_a_replay() {
    let (h, provider_arn) = with_provider().await;
    h.run(&h.event("Create", ROLE, LOGICAL_ID, base_props(&provider_arn)).await).await;
    h.emulator.clear_calls().await;
    let response = delete(&h, &role_arn("/", "CorpReadOnly")).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert!(role_state(&h, "CorpReadOnly").await.is_none());
    assert_eq!(
        h.iam_calls().await,
        [
            "iam:GetRole",
            "iam:ListAttachedRolePolicies",
            "iam:DetachRolePolicy",
            "iam:ListRolePolicies",
            "iam:DeleteRolePolicy",
            "iam:DeleteRole"
        ]
    );
    assert_eq!(delete(&h, &role_arn("/", "CorpReadOnly")).await["Status"], "SUCCESS", "NoSuchEntity is success");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_role_is_never_taken_over_or_deleted() {
    let (h, provider_arn) = with_provider().await;
    let trust =
        samlfed::resources::saml_role::trust_policy(&provider_arn, &["https://signin.aws.amazon.com/saml".to_string()]);
    h.iam.create_role().role_name("CorpReadOnly").assume_role_policy_document(trust.to_string()).send().await.unwrap();
    h.emulator.clear_calls().await;

    let response = h.run(&h.event("Create", ROLE, LOGICAL_ID, base_props(&provider_arn)).await).await;
    assert_eq!(response["Status"], "FAILED");
    assert!(
        response["Reason"].as_str().unwrap().contains("RoleName")
            && response["Reason"].as_str().unwrap().contains("not created by this stack"),
        "{response}"
    );
    let physical_id = response["PhysicalResourceId"].as_str().unwrap().to_string();
    let rollback = delete(&h, &physical_id).await;
    assert_eq!(rollback["Status"], "SUCCESS");
    // Even a Delete naming the role's own ARN leaves it, since it lacks our tags.
    assert_eq!(delete(&h, &role_arn("/", "CorpReadOnly")).await["Status"], "SUCCESS");
    let state = role_state(&h, "CorpReadOnly").await.expect("the foreign role survives");
    assert!(state.managed.is_empty() && state.inline.is_empty(), "and was not modified");
    assert!(!h.iam_calls().await.iter().any(|c| c.contains("Delete") || c.contains("Detach") || c.contains("Put")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_still_propagating_is_waited_for_with_bounded_retries() {
    let h = Harness::start().await;
    let provider_arn = Harness::provider_arn("LateIdP");
    let iam = h.iam.clone();
    // IAM refuses the trust policy until the provider exists; it appears ~200 ms later.
    let late = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        iam.create_saml_provider().name("LateIdP").saml_metadata_document(idp_metadata()).send().await.unwrap();
    });
    let props = json!({"RoleName": "LateRole", "ProviderArn": provider_arn});
    let response = h.run(&h.event("Create", ROLE, LOGICAL_ID, props).await).await;
    late.await.unwrap();
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let creates = h.iam_calls().await.iter().filter(|c| *c == "iam:CreateRole").count();
    assert!((2..=5).contains(&creates), "retried, boundedly: {creates} CreateRole calls");

    // A provider that never appears: FAILED after the last attempt, naming ProviderArn.
    let props = json!({"RoleName": "NeverRole", "ProviderArn": Harness::provider_arn("NoSuchIdP")});
    h.emulator.clear_calls().await;
    let response = h.run(&h.event("Create", ROLE, LOGICAL_ID, props).await).await;
    assert_eq!(response["Status"], "FAILED");
    let reason = response["Reason"].as_str().unwrap();
    assert!(reason.contains("ProviderArn") && reason.contains("after 5 attempts"), "{reason}");
    assert_eq!(h.iam_calls().await.iter().filter(|c| *c == "iam:CreateRole").count(), 5);
    assert!(role_state(&h, "NeverRole").await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_role_properties_name_the_property_and_change_nothing() {
    let (h, provider_arn) = with_provider().await;
    let with = |key: &str, value: Value| {
        let mut props = base_props(&provider_arn);
        props[key] = value;
        props
    };
    let cases = [
        (with("RoleName", json!("has space")), "RoleName"),
        (with("RoleName", json!("r".repeat(65))), "1 to 64"),
        (with("Path", json!("sso")), "Path"),
        (with("ProviderArn", json!("arn:aws:iam::999999999999:saml-provider/CorpIdP")), "ProviderArn"),
        (with("ProviderArn", json!("arn:aws:iam::123456789012:role/NotAProvider")), "ProviderArn"),
        (with("MaxSessionDuration", json!(100)), "MaxSessionDuration 100"),
        (with("MaxSessionDuration", json!("an hour")), "MaxSessionDuration: expected a whole number"),
        (with("ManagedPolicyArns", json!(["ReadOnlyAccess"])), "ManagedPolicyArns"),
        (with("PermissionsBoundary", json!("arn:aws:iam::aws:role/x")), "PermissionsBoundary"),
        (with("Policies", json!([{"PolicyName": "p", "PolicyDocument": "not json"}])), "PolicyDocument"),
        (with("Policies", json!([{"PolicyName": "p", "PolicyDocument": [1, 2]}])), "not a JSON object"),
        (with("Audiences", json!([""])), "Audiences"),
        (with("Colour", json!("blue")), "unknown field `Colour`"),
    ];
    for (props, phrase) in cases {
        h.emulator.clear_calls().await;
        let response = h.run(&h.event("Create", ROLE, LOGICAL_ID, props.clone()).await).await;
        assert_eq!(response["Status"], "FAILED", "{props}");
        let reason = response["Reason"].as_str().unwrap();
        assert!(reason.contains(phrase), "Reason for {props} should contain {phrase:?}: {reason}");
        assert!(h.iam_calls().await.is_empty(), "no IAM call for {props}");
    }
    let roles = h.iam.list_roles().send().await.unwrap();
    assert!(roles.roles().is_empty(), "IAM unchanged");
}

// ---------------------------------------------------------------- AdoptExisting (docs/adoption.md)

const OTHER_STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/someone-elses/5a1e0c70-0000-4000-8000-000000000002";

/// Makes `CorpReadOnly` the way an administrator does in the console: a trust policy of their
/// own (no audience condition), ViewOnlyAccess attached, no tags. Returns its RoleId.
async fn create_role_by_hand(h: &Harness, provider_arn: &str) -> String {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithSAML"}]});
    let made = h
        .iam
        .create_role()
        .role_name("CorpReadOnly")
        .assume_role_policy_document(trust.to_string())
        .description("made by hand")
        .send()
        .await
        .unwrap();
    h.iam.attach_role_policy().role_name("CorpReadOnly").policy_arn(VIEW_ONLY).send().await.unwrap();
    h.emulator.clear_calls().await;
    made.role.unwrap().role_id().to_string()
}

fn with_adopt(props: Value, value: &str) -> Value {
    let mut props = props;
    props["AdoptExisting"] = json!(value);
    props
}

#[tokio::test(flavor = "multi_thread")]
async fn create_over_a_hand_made_role_fails_naming_adopt_existing_and_leaves_it_untouched() {
    let (h, provider_arn) = with_provider().await;
    create_role_by_hand(&h, &provider_arn).await;
    let before = role_state(&h, "CorpReadOnly").await.unwrap();

    let response = h.run(&h.event("Create", ROLE, LOGICAL_ID, base_props(&provider_arn)).await).await;
    assert_eq!(response["Status"], "FAILED", "{response}");
    let reason = response["Reason"].as_str().unwrap();
    for phrase in ["RoleName: ", "already exists", "not created by this stack", "set AdoptExisting to \"true\""] {
        assert!(reason.contains(phrase), "{phrase:?} missing from: {reason}");
    }
    assert_eq!(h.iam_calls().await, ["iam:CreateRole", "iam:GetRole"], "nothing written");
    let after = role_state(&h, "CorpReadOnly").await.unwrap();
    assert_eq!(
        (after.trust, after.managed, after.inline, after.tags, after.role.description()),
        (before.trust, before.managed, before.inline, before.tags, Some("made by hand"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn adopt_existing_takes_over_a_hand_made_role_and_converges_it_removing_nothing() {
    let (h, provider_arn) = with_provider().await;
    let role_id = create_role_by_hand(&h, &provider_arn).await;

    let create = h.event("Create", ROLE, LOGICAL_ID, with_adopt(base_props(&provider_arn), "true")).await;
    let response = h.run(&create).await;

    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], role_arn("/", "CorpReadOnly"), "the id a Create returns");
    assert_eq!(response["Data"]["Adopted"], "true");
    assert_eq!(response["Data"]["RoleId"], role_id.as_str(), "the same role, not re-created");
    let state = role_state(&h, "CorpReadOnly").await.unwrap();
    assert_eq!(
        state.trust,
        samlfed::resources::saml_role::trust_policy(&provider_arn, &["https://signin.aws.amazon.com/saml".to_string()]),
        "the trust policy is the stack's"
    );
    assert_eq!(state.role.description(), Some("Read-only access for CorpIdP users"));
    assert_eq!(state.role.max_session_duration(), Some(7200));
    assert_eq!(state.inline, ["deny-iam"]);
    assert_eq!(state.managed, [READ_ONLY, VIEW_ONLY], "ReadOnlyAccess attached; the hand-attached policy kept");
    assert_eq!(state.tags.len(), 4, "{:?}", state.tags);
    assert!(state.tags.iter().any(|t| t.starts_with("samlfed:adopted=20")), "{:?}", state.tags);
    for tag in
        [format!("samlfed:logical-id={LOGICAL_ID}"), format!("samlfed:stack-id={STACK_ID}"), "team=platform".into()]
    {
        assert!(state.tags.contains(&tag), "{tag} missing from {:?}", state.tags);
    }
    assert_eq!(
        h.iam_calls().await,
        [
            "iam:CreateRole",
            "iam:GetRole",
            "iam:TagRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:UpdateRole",
            "iam:ListAttachedRolePolicies",
            "iam:AttachRolePolicy",
            "iam:ListRolePolicies",
            "iam:PutRolePolicy",
        ]
    );

    // A replayed Create finds it ours: the same answer.
    let again = h.run(&create).await;
    assert_eq!(again["Status"], "SUCCESS", "{again}");
    assert_eq!(again["Data"], response["Data"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn adopt_existing_refuses_a_role_another_stack_manages() {
    let (h, provider_arn) = with_provider().await;
    let mut other =
        h.event("Create", ROLE, LOGICAL_ID, json!({"RoleName": "CorpReadOnly", "ProviderArn": provider_arn})).await;
    other["StackId"] = json!(OTHER_STACK_ID);
    assert_eq!(h.run(&other).await["Status"], "SUCCESS");
    let before = role_state(&h, "CorpReadOnly").await.unwrap();
    h.emulator.clear_calls().await;

    let response =
        h.run(&h.event("Create", ROLE, LOGICAL_ID, with_adopt(base_props(&provider_arn), "true")).await).await;
    assert_eq!(response["Status"], "FAILED", "{response}");
    let reason = response["Reason"].as_str().unwrap();
    for phrase in ["RoleName: ", "managed by another stack", OTHER_STACK_ID, "AdoptExisting never takes over"] {
        assert!(reason.contains(phrase), "{phrase:?} missing from: {reason}");
    }
    assert_eq!(h.iam_calls().await, ["iam:CreateRole", "iam:GetRole"], "nothing written");
    let rollback = delete(&h, response["PhysicalResourceId"].as_str().unwrap()).await;
    assert_eq!(rollback["Status"], "SUCCESS");
    let after = role_state(&h, "CorpReadOnly").await.expect("the other stack's role survives");
    assert_eq!((after.trust, after.managed, after.tags), (before.trust, before.managed, before.tags));
}

#[tokio::test(flavor = "multi_thread")]
async fn adopt_existing_cannot_move_a_role_to_another_path() {
    let (h, provider_arn) = with_provider().await;
    create_role_by_hand(&h, &provider_arn).await;
    let mut props = with_adopt(base_props(&provider_arn), "true");
    props["Path"] = json!("/sso/");
    let response = h.run(&h.event("Create", ROLE, LOGICAL_ID, props).await).await;
    assert_eq!(response["Status"], "FAILED", "{response}");
    let reason = response["Reason"].as_str().unwrap();
    assert!(reason.contains("with path \"/\"") && reason.contains("set Path to \"/\""), "{reason}");
    assert_eq!(h.iam_calls().await, ["iam:CreateRole", "iam:GetRole"], "nothing written");
    assert!(role_state(&h, "CorpReadOnly").await.unwrap().tags.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_leaves_an_adopted_role_in_place_until_its_adopted_tag_is_removed() {
    let (h, provider_arn) = with_provider().await;
    create_role_by_hand(&h, &provider_arn).await;
    let created =
        h.run(&h.event("Create", ROLE, LOGICAL_ID, with_adopt(base_props(&provider_arn), "true")).await).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let arn = role_arn("/", "CorpReadOnly");

    h.emulator.clear_calls().await;
    assert_eq!(delete(&h, &arn).await["Status"], "SUCCESS");
    let kept = role_state(&h, "CorpReadOnly").await.expect("an adopted role is never deleted");
    assert_eq!(kept.managed, [READ_ONLY, VIEW_ONLY], "nor stripped");
    assert_eq!(h.iam_calls().await, ["iam:GetRole"], "read, nothing written");

    // An Update that turns AdoptExisting off changes nothing in IAM, and it is still adopted.
    h.emulator.clear_calls().await;
    let props = base_props(&provider_arn);
    let updated = update(&h, &arn, props.clone(), with_adopt(props, "true")).await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(updated["Data"]["Adopted"], "true");
    assert_eq!(h.iam_calls().await, ["iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"]);

    // Removing samlfed:adopted by hand hands it over fully: the next Delete removes it.
    h.iam.untag_role().role_name("CorpReadOnly").tag_keys("samlfed:adopted").send().await.unwrap();
    assert_eq!(delete(&h, &arn).await["Status"], "SUCCESS");
    assert!(role_state(&h, "CorpReadOnly").await.is_none());
}
