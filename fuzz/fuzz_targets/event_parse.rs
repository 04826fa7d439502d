//! The custom-resource event parser on arbitrary bytes: parsing, the ResponseURL allow-list and
//! the response body must never panic; the body is always JSON, and it fits CloudFormation's
//! 4096 bytes whenever the identifiers it must echo are of CloudFormation's sizes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use samlfed::cfn::request;
use samlfed::cfn::response::{self, Answer, MAX_BODY_BYTES};
use samlfed::resources::{saml_provider, saml_role, tags};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let endpoint = url::Url::parse("http://127.0.0.1:5000").ok();
    if let Ok(url) = request::response_url(&event, endpoint.as_ref()) {
        // The shown form never carries the presigned query string (a URL without a query may
        // show anything in its path: regression seed `no-query-signature-in-path.json`).
        let shown = url.to_string();
        if let Some(query) = url.as_url().query().filter(|q| !q.is_empty()) {
            assert!(!shown.contains(&format!("?{query}")), "{shown}");
            assert!(shown.ends_with("?…"), "{shown}");
        }
    }
    let echo = request::echo_of(&event);
    let (reason, physical_id) = match request::parse(event) {
        Err(malformed) => (malformed.to_string(), echo.physical_resource_id.clone().unwrap_or_default()),
        Ok(parsed) => {
            let properties = Value::Object(parsed.properties.clone());
            if let Ok(props) = serde_json::from_value::<saml_provider::Properties>(properties.clone()) {
                let _ = tags::validate_user_tags(&props.tags);
            }
            let _ = serde_json::from_value::<saml_role::Properties>(properties);
            (
                format!("{:?} of {}", parsed.kind, parsed.resource_type),
                parsed.echo.physical_resource_id.unwrap_or_default(),
            )
        }
    };
    // A long Reason, as AWS errors can be: the body must still be JSON and fit.
    let answer = Answer::Failed { physical_resource_id: physical_id.clone(), reason: reason.repeat(40) };
    let body = response::body(&echo, &answer);
    serde_json::from_slice::<Value>(&body).expect("the response body is JSON");
    let escaped = |s: &str| serde_json::to_string(s).map(|s| s.len()).unwrap_or(usize::MAX);
    let identifiers = escaped(&echo.stack_id)
        + escaped(&echo.request_id)
        + escaped(&echo.logical_resource_id)
        + escaped(&physical_id);
    // CloudFormation's own limits keep these well under 2 KiB (a PhysicalResourceId is at most 1 KiB).
    if identifiers < 2048 {
        assert!(body.len() <= MAX_BODY_BYTES, "{} bytes with {identifiers} bytes of identifiers", body.len());
    }
});
