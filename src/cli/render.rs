//! `samlfed render`: the trust policy and the IAM Identity Center attribute a `Custom::SAMLRole`
//! will produce, before any stack runs — so nobody types an ARN into Identity Center by hand.
//!
//! Nothing here re-implements the resource type: names are checked by
//! [`SamlRole::validate`](crate::resources::saml_role::SamlRole) and
//! [`SamlProvider::validate`](crate::resources::saml_provider::SamlProvider), ARNs come from
//! [`AccountScope`] and the resource types' `planned_physical_id`, and the outputs from
//! [`trust_policy`] and [`identity_center_role_attribute`]. The trust policy is printed exactly as
//! the Lambda sends it to IAM (compact JSON, same key order).

use serde::Serialize;

use super::{exit, CliError, Output, Style};
use crate::arn::{is_account_id, AccountScope};
use crate::resources::saml_provider::{self, SamlProvider};
use crate::resources::saml_role::{self, identity_center_role_attribute, trust_policy, SamlRole};
use crate::resources::CustomResource;

/// Arguments of `samlfed render`.
#[derive(Debug, Clone, clap::Args)]
pub struct RenderArgs {
    /// The 12-digit account the role and provider live in.
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub account: String,

    /// The `Name` of the `Custom::SAMLProvider`.
    #[arg(long, value_name = "NAME")]
    pub provider_name: String,

    /// The `RoleName` of the `Custom::SAMLRole`.
    #[arg(long, value_name = "ROLE")]
    pub role_name: String,

    /// The role's `Path`.
    #[arg(long, default_value = "/", value_name = "PATH")]
    pub path: String,

    /// A SAML audience the role accepts (`Audiences`); repeat for several. Default: the
    /// partition's sign-in endpoint, e.g. https://signin.aws.amazon.com/saml.
    #[arg(long = "audience", value_name = "URL")]
    pub audiences: Vec<String>,

    /// The partition, as the function's own ARN would give it.
    #[arg(long, default_value = "aws", value_parser = ["aws", "aws-cn", "aws-us-gov"])]
    pub partition: String,

    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What a `Custom::SAMLRole` with these properties produces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rendered {
    /// The provider ARN (`ProviderArn`, and `!Ref` of the provider).
    pub provider_arn: String,
    /// The role ARN (`!Ref` / `Arn` of the role).
    pub role_arn: String,
    /// The audiences in the trust policy, defaults applied.
    pub audiences: Vec<String>,
    /// The trust policy, byte for byte as the Lambda sends it to IAM.
    pub trust_policy: String,
    /// The value for Identity Center's `https://aws.amazon.com/SAML/Attributes/Role` mapping.
    pub identity_center_role_attribute: String,
}

/// The attribute name Identity Center's "External AWS Account" application maps the value to.
pub const ROLE_ATTRIBUTE_NAME: &str = "https://aws.amazon.com/SAML/Attributes/Role";

/// Renders what the Lambda would produce, refusing what the Lambda would refuse.
pub fn render(args: &RenderArgs) -> Result<Rendered, CliError> {
    if !is_account_id(&args.account) {
        return Err(CliError::Usage(format!("--account {:?} is not a 12-digit AWS account ID", args.account)));
    }
    let scope = AccountScope { partition: args.partition.clone(), account_id: args.account.clone() };
    let provider = saml_provider::Properties {
        name: args.provider_name.clone(),
        metadata_url: None,
        metadata_document: Some(String::new()),
        metadata_sha256: None,
        trusted_certificate_sha256: Vec::new(),
        tags: Vec::new(),
        adopt_existing: false,
    };
    SamlProvider::validate(&provider, &scope).map_err(|e| CliError::Usage(format!("--provider-name: {e}")))?;
    let provider_arn = SamlProvider::planned_physical_id(&provider, &scope);

    let role = saml_role::Properties {
        role_name: args.role_name.clone(),
        provider_arn: provider_arn.clone(),
        path: Some(args.path.clone()),
        description: None,
        managed_policy_arns: Vec::new(),
        policies: Vec::new(),
        permissions_boundary: None,
        max_session_duration: None,
        tags: Vec::new(),
        audiences: args.audiences.clone(),
        adopt_existing: false,
    };
    SamlRole::validate(&role, &scope).map_err(|e| CliError::Usage(e.to_string()))?;
    let role_arn = SamlRole::planned_physical_id(&role, &scope);
    let audiences = role.audiences_or_default(&scope);
    Ok(Rendered {
        trust_policy: trust_policy(&provider_arn, &audiences).to_string(),
        identity_center_role_attribute: identity_center_role_attribute(&provider_arn, &role_arn),
        provider_arn,
        role_arn,
        audiences,
    })
}

/// Runs `samlfed render`.
pub fn run(args: &RenderArgs, style: Style) -> Result<Output, CliError> {
    let rendered = render(args)?;
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&rendered).unwrap_or_default();
        text.push('\n');
        text
    } else {
        render_human(&rendered, style)
    };
    Ok(Output { text, exit_code: exit::OK })
}

/// The rendering for people. The trust policy and the attribute value stand alone on their lines,
/// so they can be copied whole.
pub fn render_human(rendered: &Rendered, style: Style) -> String {
    format!(
        "{}\n{}\n{}\n{}\n\n{}\n{:<10}{}\n{:<10}{}\n{:<10}{}\n",
        style.bold("trust policy (exactly as sent to IAM):"),
        rendered.trust_policy,
        style.bold(&format!("IAM Identity Center attribute {ROLE_ATTRIBUTE_NAME}:")),
        rendered.identity_center_role_attribute,
        style.dim("details"),
        "provider",
        rendered.provider_arn,
        "role",
        rendered.role_arn,
        "audience",
        rendered.audiences.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> RenderArgs {
        RenderArgs {
            account: "123456789012".into(),
            provider_name: "CorpIdP".into(),
            role_name: "ReadOnly".into(),
            path: "/sso/".into(),
            audiences: Vec::new(),
            partition: "aws-cn".into(),
            json: false,
        }
    }

    #[test]
    fn partition_decides_arns_and_the_default_audience() {
        let r = render(&args()).unwrap();
        assert_eq!(r.provider_arn, "arn:aws-cn:iam::123456789012:saml-provider/CorpIdP");
        assert_eq!(r.role_arn, "arn:aws-cn:iam::123456789012:role/sso/ReadOnly");
        assert_eq!(r.audiences, ["https://signin.amazonaws.cn/saml"]);
        assert_eq!(r.identity_center_role_attribute, format!("{},{}", r.provider_arn, r.role_arn));
    }

    #[test]
    fn names_the_lambda_refuses_are_refused_with_its_message() {
        let err = render(&RenderArgs { role_name: "has space".into(), ..args() }).unwrap_err();
        assert!(err.to_string().contains("RoleName \"has space\" is not a valid role name"), "{err}");
        let err = render(&RenderArgs { provider_name: "a/b".into(), ..args() }).unwrap_err();
        assert!(err.to_string().starts_with("--provider-name: Name \"a/b\""), "{err}");
        let err = render(&RenderArgs { path: "sso".into(), ..args() }).unwrap_err();
        assert!(err.to_string().contains("Path \"sso\""), "{err}");
        let err = render(&RenderArgs { account: "12345".into(), ..args() }).unwrap_err();
        assert_eq!(err.exit_code(), exit::USAGE);
    }
}
