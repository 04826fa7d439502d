//! A custom-resource event, checked and typed.
//!
//! Parsing happens in two steps so that a malformed event is still answered whenever it can be:
//! first the ResponseURL alone (refuse the event if it is missing or not allowed), then the rest
//! into [`Fields`]. What the second step cannot read becomes a FAILED response that echoes
//! whatever identifiers the event did carry.

use serde::Deserialize;
use serde_json::{Map, Value};
use thiserror::Error;
use url::Url;

use super::response_url::{ResponseUrl, ResponseUrlError};

/// What CloudFormation asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestKind {
    Create,
    Update { physical_resource_id: String, old_properties: Map<String, Value> },
    Delete { physical_resource_id: String },
}

impl RequestKind {
    /// `Create`, `Update` or `Delete`, as CloudFormation spells it (for logs).
    pub fn name(&self) -> &'static str {
        match self {
            RequestKind::Create => "Create",
            RequestKind::Update { .. } => "Update",
            RequestKind::Delete { .. } => "Delete",
        }
    }
}

/// The fields every response must echo back; taken from the event even when the rest is unusable.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Echo {
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    /// The PhysicalResourceId the event carried (Update/Delete), if any.
    pub physical_resource_id: Option<String>,
}

/// A well-formed custom-resource request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub kind: RequestKind,
    pub echo: Echo,
    pub resource_type: String,
    /// `ResourceProperties` without CloudFormation's own fields ([`CLOUDFORMATION_FIELDS`]).
    pub properties: Map<String, Value>,
}

/// The fields of `AWS::CloudFormation::CustomResource` that CloudFormation itself reads, and which
/// it still sends on inside `ResourceProperties` and `OldResourceProperties` (values as strings).
/// AWS's request reference lists exactly these two as the template developer's request properties
/// beside the provider's own: "All other fields in the resource properties are optional and are
/// sent, verbatim, to the custom resource provider"
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html>).
/// They are not the resource's properties: every resource type's `deny_unknown_fields` would
/// refuse them, and a change of them alone must change nothing in IAM.
pub const CLOUDFORMATION_FIELDS: [&str; 2] = ["ServiceToken", "ServiceTimeout"];

/// The fields of an event this function reads (others, such as `ServiceToken`, are ignored).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Fields {
    request_type: String,
    request_id: String,
    stack_id: String,
    resource_type: String,
    logical_resource_id: String,
    /// Update and Delete only.
    #[serde(default)]
    physical_resource_id: Option<String>,
    resource_properties: Value,
    /// Update only; missing is read as empty (it only tells what an update may remove).
    #[serde(default)]
    old_resource_properties: Value,
}

/// The event could not be read as a custom-resource request (but it can still be answered).
#[derive(Debug, Error, PartialEq)]
#[error("the event is not a valid CloudFormation custom-resource request ({0}); check the custom resource's definition in the template")]
pub struct MalformedRequest(String);

/// Reads and checks the ResponseURL; `Err` means the event must be refused whole.
pub fn response_url(event: &Value, endpoint: Option<&Url>) -> Result<ResponseUrl, ResponseUrlError> {
    let raw = event.get("ResponseURL").and_then(Value::as_str).ok_or(ResponseUrlError::Missing)?;
    ResponseUrl::parse(raw, endpoint)
}

/// Whatever identifiers the event carries, for a FAILED response to a malformed event.
pub fn echo_of(event: &Value) -> Echo {
    let field = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_string);
    Echo {
        stack_id: field("StackId").unwrap_or_default(),
        request_id: field("RequestId").unwrap_or_default(),
        logical_resource_id: field("LogicalResourceId").unwrap_or_default(),
        physical_resource_id: field("PhysicalResourceId"),
    }
}

/// Parses the whole request.
pub fn parse(event: Value) -> Result<Request, MalformedRequest> {
    match event.get("RequestType") {
        Some(Value::String(t)) if ["Create", "Update", "Delete"].contains(&t.as_str()) => {}
        Some(other) => return Err(MalformedRequest(format!("RequestType {other} is not Create, Update or Delete"))),
        None => return Err(MalformedRequest("RequestType is missing".to_string())),
    }
    let fields: Fields = serde_json::from_value(event).map_err(|e| MalformedRequest(e.to_string()))?;
    let kind = match (fields.request_type.as_str(), fields.physical_resource_id.clone()) {
        ("Create", _) => RequestKind::Create,
        ("Update", Some(physical_resource_id)) => RequestKind::Update {
            physical_resource_id,
            old_properties: properties_map(fields.old_resource_properties, "OldResourceProperties")?,
        },
        ("Delete", Some(physical_resource_id)) => RequestKind::Delete { physical_resource_id },
        // An Update or a Delete (the RequestType was checked above) without the id.
        (other, _) => {
            return Err(MalformedRequest(format!("missing field `PhysicalResourceId`, which every {other} carries")))
        }
    };
    let echo = Echo {
        stack_id: fields.stack_id,
        request_id: fields.request_id,
        logical_resource_id: fields.logical_resource_id,
        physical_resource_id: if kind == RequestKind::Create { None } else { fields.physical_resource_id },
    };
    let (resource_type, properties) = (fields.resource_type, fields.resource_properties);
    for (name, value) in
        [("StackId", &echo.stack_id), ("RequestId", &echo.request_id), ("LogicalResourceId", &echo.logical_resource_id)]
    {
        if value.is_empty() {
            return Err(MalformedRequest(format!("{name} is empty")));
        }
    }
    Ok(Request { kind, echo, resource_type, properties: properties_map(properties, "ResourceProperties")? })
}

/// A properties object without CloudFormation's own fields; `null` (no properties at all) is an
/// empty map.
fn properties_map(value: Value, field: &str) -> Result<Map<String, Value>, MalformedRequest> {
    match value {
        Value::Null => Ok(Map::new()),
        Value::Object(mut map) => {
            for own in CLOUDFORMATION_FIELDS {
                map.remove(own);
            }
            Ok(map)
        }
        _ => Err(MalformedRequest(format!("{field} is not an object"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create() -> Value {
        json!({
            "RequestType": "Create",
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:samlfed",
            "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?sig=1",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/guid",
            "RequestId": "req-1",
            "ResourceType": "Custom::SAMLProvider",
            "LogicalResourceId": "Provider",
            "ResourceProperties": {"ServiceToken": "arn:aws:lambda:…", "ServiceTimeout": "300", "Name": "Okta"}
        })
    }

    #[test]
    fn a_create_event_is_read_and_cloudformations_own_fields_dropped() {
        let request = parse(create()).unwrap();
        assert_eq!(request.kind, RequestKind::Create);
        assert_eq!(request.echo.logical_resource_id, "Provider");
        assert_eq!(request.properties, json!({"Name": "Okta"}).as_object().unwrap().clone());
    }

    #[test]
    fn an_update_event_carries_old_properties_and_physical_id() {
        let mut event = create();
        event["RequestType"] = json!("Update");
        event["PhysicalResourceId"] = json!("arn:aws:iam::123456789012:saml-provider/Okta");
        event["OldResourceProperties"] = json!({"Name": "Old", "ServiceToken": "x", "ServiceTimeout": "60"});
        let request = parse(event).unwrap();
        match request.kind {
            RequestKind::Update { physical_resource_id, old_properties } => {
                assert_eq!(physical_resource_id, "arn:aws:iam::123456789012:saml-provider/Okta");
                assert_eq!(old_properties.get("Name"), Some(&json!("Old")));
                assert!(!old_properties.contains_key("ServiceToken"));
                assert!(!old_properties.contains_key("ServiceTimeout"));
            }
            other => panic!("expected Update, got {other:?}"),
        }
    }

    #[test]
    fn malformed_events_keep_their_identifiers_for_the_failed_answer() {
        let mut event = create();
        event["RequestType"] = json!("Upsert");
        let echo = echo_of(&event);
        assert_eq!(echo.request_id, "req-1");
        let err = parse(event).unwrap_err();
        assert!(err.to_string().contains("Upsert"), "{err}");

        let mut event = create();
        event.as_object_mut().unwrap().remove("StackId");
        assert!(parse(event).unwrap_err().to_string().contains("StackId"));
    }

    #[test]
    fn a_missing_response_url_cannot_be_answered() {
        let mut event = create();
        event.as_object_mut().unwrap().remove("ResponseURL");
        assert_eq!(response_url(&event, None), Err(ResponseUrlError::Missing));
    }
}
