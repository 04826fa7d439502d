//! What a `Custom::SAMLRole` tells IAM and IAM Identity Center about whom the role trusts; the
//! CLI's `render` prints exactly these.

use serde_json::{json, Value};

/// The role's trust policy: federation from `provider_arn` with `sts:AssumeRoleWithSAML`, only for
/// assertions addressed to one of `audiences`. The CLI's `render` prints exactly this.
pub fn trust_policy(provider_arn: &str, audiences: &[String]) -> Value {
    let audience = match audiences {
        [one] => json!(one),
        many => json!(many),
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithSAML",
            "Condition": {"StringEquals": {"SAML:aud": audience}}
        }]
    })
}

/// The value of IAM Identity Center's `https://aws.amazon.com/SAML/Attributes/Role` attribute
/// mapping for this role: `<provider ARN>,<role ARN>`.
pub fn identity_center_role_attribute(provider_arn: &str, role_arn: &str) -> String {
    format!("{provider_arn},{role_arn}")
}
