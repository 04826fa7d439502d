//! The response body CloudFormation reads from the ResponseURL.
//!
//! CloudFormation rejects a body over 4096 bytes, and a rejected body leaves the stack waiting, so
//! an over-long Reason is cut (on a UTF-8 boundary) until the body fits. Data is never cut: the
//! resource types keep it small (well under 4096 bytes with the identifiers), and a missing
//! attribute would break `Fn::GetAtt` silently.

use std::collections::BTreeMap;

use serde::Serialize;

use super::request::Echo;

/// CloudFormation's limit on the response body.
pub const MAX_BODY_BYTES: usize = 4096;

/// How a resource operation ended, before it is dressed as a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Success { physical_resource_id: String, data: BTreeMap<String, String>, no_echo: bool },
    Failed { physical_resource_id: String, reason: String },
}

impl Answer {
    /// `SUCCESS` or `FAILED`, for logs.
    pub fn status(&self) -> &'static str {
        match self {
            Answer::Success { .. } => "SUCCESS",
            Answer::Failed { .. } => "FAILED",
        }
    }
}

/// The response body, in the fields and spelling CloudFormation reads.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Response<'a> {
    status: &'static str,
    /// A SUCCESS carries no Reason at all rather than `"Reason": null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    physical_resource_id: &'a str,
    stack_id: &'a str,
    request_id: &'a str,
    logical_resource_id: &'a str,
    no_echo: bool,
    data: &'a BTreeMap<String, String>,
}

/// Serialises the response for `echo`, cutting the Reason until the body fits [`MAX_BODY_BYTES`].
pub fn body(echo: &Echo, answer: &Answer) -> Vec<u8> {
    let no_data = BTreeMap::new();
    let (physical_resource_id, data, no_echo, reason) = match answer {
        Answer::Success { physical_resource_id, data, no_echo } => (physical_resource_id, data, *no_echo, None),
        Answer::Failed { physical_resource_id, reason } => {
            (physical_resource_id, &no_data, false, Some(reason.as_str()))
        }
    };
    let serialise = |reason: Option<String>| {
        let response = Response {
            status: answer.status(),
            reason,
            physical_resource_id,
            stack_id: &echo.stack_id,
            request_id: &echo.request_id,
            logical_resource_id: &echo.logical_resource_id,
            no_echo,
            data,
        };
        serde_json::to_vec(&response).unwrap_or_default()
    };
    let whole = serialise(reason.map(str::to_string));
    let Some(reason) = reason.filter(|_| whole.len() > MAX_BODY_BYTES) else {
        return whole;
    };
    // Escaping makes a character cost one to six bytes in JSON, so search for the longest prefix
    // that fits rather than computing it: about a dozen serialisations of a 4 KiB body.
    let cut = |keep: usize| format!("{}{ELLIPSIS}", &reason[..floor_char_boundary(reason, keep)]);
    let (mut fits, mut too_long) = (0, reason.len());
    while too_long - fits > 1 {
        let middle = (fits + too_long) / 2;
        if serialise(Some(cut(middle))).len() <= MAX_BODY_BYTES {
            fits = middle;
        } else {
            too_long = middle;
        }
    }
    serialise(Some(cut(fits)))
}

/// Marks a Reason that was cut to fit.
const ELLIPSIS: &str = " …";

/// The largest char boundary of `text` at or below `index`.
fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn echo() -> Echo {
        Echo {
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/guid".into(),
            request_id: "req-1".into(),
            logical_resource_id: "Provider".into(),
            physical_resource_id: None,
        }
    }

    #[test]
    fn success_body_has_every_field_cloudformation_reads() {
        let answer = Answer::Success {
            physical_resource_id: "arn:aws:iam::123456789012:saml-provider/Okta".into(),
            data: BTreeMap::from([("Arn".to_string(), "arn:x".to_string())]),
            no_echo: false,
        };
        let v: Value = serde_json::from_slice(&body(&echo(), &answer)).unwrap();
        assert_eq!(v["Status"], "SUCCESS");
        assert_eq!(v["PhysicalResourceId"], "arn:aws:iam::123456789012:saml-provider/Okta");
        assert_eq!(v["StackId"], "arn:aws:cloudformation:us-east-1:123456789012:stack/s/guid");
        assert_eq!(v["RequestId"], "req-1");
        assert_eq!(v["LogicalResourceId"], "Provider");
        assert_eq!(v["NoEcho"], false);
        assert_eq!(v["Data"]["Arn"], "arn:x");
        assert!(v.get("Reason").is_none(), "no null Reason: {v}");
    }

    #[test]
    fn a_long_multibyte_reason_is_cut_on_a_char_boundary_to_fit_4096_bytes() {
        for filler in ["é", "\"", "ü\u{1F600}", "a"] {
            let answer = Answer::Failed { physical_resource_id: "p".into(), reason: filler.repeat(5000) };
            let bytes = body(&echo(), &answer);
            assert!(bytes.len() <= MAX_BODY_BYTES, "{} bytes with {filler:?}", bytes.len());
            let v: Value = serde_json::from_slice(&bytes).expect("still valid JSON");
            let reason = v["Reason"].as_str().unwrap();
            assert!(reason.ends_with('…'));
            let escaped = serde_json::to_string(reason).unwrap().len();
            assert!(escaped > 3500, "cut no more than needed: {escaped} escaped bytes kept");
        }
    }

    #[test]
    fn a_short_reason_is_kept_whole() {
        let answer = Answer::Failed { physical_resource_id: "p".into(), reason: "Name: too long".into() };
        let v: Value = serde_json::from_slice(&body(&echo(), &answer)).unwrap();
        assert_eq!(v["Status"], "FAILED");
        assert_eq!(v["Reason"], "Name: too long");
    }
}
