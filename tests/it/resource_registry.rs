//! Adding a resource type is one file implementing `CustomResource` plus one line in the registry
//! (docs/architecture.md). `Custom::Echo` below is exactly that — a test-only type, registered the
//! way `src/registry.rs` registers the real ones — and the real handler serves its whole
//! lifecycle, origin check and guard included, without a change anywhere else.
//!
//! Hand-written events: no template renders `Custom::Echo`.

use std::collections::BTreeMap;
use std::time::Duration;

use samlfed::arn::AccountScope;
use samlfed::cfn::dispatch::Registered;
use samlfed::cfn::handler::Deps;
use samlfed::resources::{CustomResource, IamAction, OpContext, Outcome, ResourceError};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::support::harness::Harness;

/// The whole resource type: properties, validation, the planned id, create, update, delete.
struct Echo;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EchoProperties {
    #[serde(rename = "Text")]
    text: String,
}

impl CustomResource for Echo {
    const RESOURCE_TYPE: &'static str = "Custom::Echo";
    const IAM_ACTIONS: &'static [IamAction] = &[];
    type Properties = EchoProperties;

    fn validate(props: &EchoProperties, _: &AccountScope) -> Result<(), ResourceError> {
        if props.text.is_empty() {
            return Err(ResourceError::Invalid("Text is empty; give it some text".into()));
        }
        Ok(())
    }

    fn planned_physical_id(props: &EchoProperties, _: &AccountScope) -> String {
        format!("echo:{}", props.text)
    }

    async fn create(props: EchoProperties, ctx: &OpContext<'_>) -> Result<Outcome, ResourceError> {
        Ok(Outcome {
            physical_resource_id: Self::planned_physical_id(&props, ctx.scope),
            data: BTreeMap::from([("Text".to_string(), props.text)]),
        })
    }

    async fn update(
        _: &str,
        props: EchoProperties,
        _: &Map<String, Value>,
        ctx: &OpContext<'_>,
    ) -> Result<Outcome, ResourceError> {
        Self::create(props, ctx).await
    }

    async fn delete(physical_resource_id: &str, _: &OpContext<'_>) -> Result<Outcome, ResourceError> {
        Ok(Outcome { physical_resource_id: physical_resource_id.to_string(), data: BTreeMap::new() })
    }
}

/// The function's registry plus the one line for `Custom::Echo`.
fn with_echo(deps: &Deps) -> Deps {
    let types: Vec<Registered> =
        samlfed::registry::RESOURCE_TYPES.iter().copied().chain([Registered::of::<Echo>()]).collect();
    Deps { resource_types: Box::leak(types.into_boxed_slice()), ..deps.clone() }
}

async fn answered(h: &Harness, deps: &Deps, event: &Value) -> Value {
    h.invoke_with(deps, event, Duration::from_secs(30)).await;
    h.response(event).await.expect("answered")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_type_registered_with_one_line_is_served_through_its_whole_lifecycle() {
    let h = Harness::start().await;
    let deps = with_echo(&h.deps);

    let create = h.event("Create", "Custom::Echo", "Greeting", json!({"Text": "hello"})).await;
    let response = answered(&h, &deps, &create).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], "echo:hello");
    assert_eq!(response["Data"], json!({"Text": "hello"}));

    let mut update = h.event("Update", "Custom::Echo", "Greeting", json!({"Text": "bye"})).await;
    update["PhysicalResourceId"] = json!("echo:hello");
    update["OldResourceProperties"] = create["ResourceProperties"].clone();
    let response = answered(&h, &deps, &update).await;
    assert_eq!(
        (response["Status"].as_str(), response["PhysicalResourceId"].as_str()),
        (Some("SUCCESS"), Some("echo:bye"))
    );

    let bad = h.event("Create", "Custom::Echo", "Empty", json!({"Text": ""})).await;
    let response = answered(&h, &deps, &bad).await;
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().is_some_and(|r| r.contains("Text is empty")), "{response}");

    let mut delete = h.event("Delete", "Custom::Echo", "Greeting", json!({"Text": "bye"})).await;
    delete["PhysicalResourceId"] = json!("echo:bye");
    assert_eq!(answered(&h, &deps, &delete).await["Status"], "SUCCESS");
    assert!(h.function_calls().await.iter().all(|c| c.starts_with("cloudformation:")), "only the origin check");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unregistered_type_is_refused_naming_every_registered_one() {
    let h = Harness::start().await;
    let create = h.event("Create", "Custom::Echo", "Greeting", json!({"Text": "hello"})).await;
    let response = answered(&h, &h.deps, &create).await;
    assert_eq!(response["Status"], "FAILED");
    assert_eq!(
        response["Reason"],
        "unknown ResourceType \"Custom::Echo\": this function serves Custom::SAMLProvider, Custom::SAMLRole; fix the resource's Type in the template"
    );
    let with = answered(&h, &with_echo(&h.deps), &h.event("Create", "Custom::Nope", "N", json!({})).await).await;
    assert!(with["Reason"].as_str().is_some_and(|r| r.contains("Custom::SAMLRole, Custom::Echo")), "{with}");
}
