//! ARNs for the account the function runs in.
//!
//! The partition (`aws`, `aws-cn`, `aws-us-gov`) and account come from the function's own ARN, so
//! the same zip works in every partition and never builds an `arn:aws:` it should not.

use thiserror::Error;

/// The partition and account a resource ARN is built in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountScope {
    pub partition: String,
    pub account_id: String,
}

/// The invoked function ARN did not have the shape Lambda gives it.
#[derive(Debug, Error, PartialEq)]
#[error("the invoked function ARN {0:?} is not a Lambda function ARN (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME); ARNs for this account cannot be built")]
pub struct FunctionArnError(String);

impl AccountScope {
    /// Reads partition and account from `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    pub fn from_function_arn(arn: &str) -> Result<AccountScope, FunctionArnError> {
        let parts: Vec<&str> = arn.split(':').collect();
        match parts.as_slice() {
            ["arn", partition, "lambda", _region, account, "function", name, ..]
                if !partition.is_empty() && is_account_id(account) && !name.is_empty() =>
            {
                Ok(AccountScope { partition: partition.to_string(), account_id: account.to_string() })
            }
            _ => Err(FunctionArnError(arn.to_string())),
        }
    }

    /// The ARN of the IAM resource of `kind` (`saml-provider`, `role`, …) called `name` under
    /// `path` (which starts and ends with `/`) in this account. Each resource type names its own
    /// kind (e.g. `AccountScope::saml_provider_arn` in `resources::saml_provider`).
    pub fn iam_arn(&self, kind: &str, path: &str, name: &str) -> String {
        format!("arn:{}:iam::{}:{kind}{path}{name}", self.partition, self.account_id)
    }

    /// What follows `kind/` in `arn`, when `arn` is an IAM ARN of that kind in this very account
    /// and partition; anything else (another account, a sentinel id, garbage) is not ours to touch.
    pub fn iam_path_and_name<'a>(&self, kind: &str, arn: &'a str) -> Option<&'a str> {
        let prefix = format!("arn:{}:iam::{}:{kind}/", self.partition, self.account_id);
        arn.strip_prefix(prefix.as_str())
    }

    /// True for a managed policy ARN of this partition: AWS's (`iam::aws:policy/…`) or an
    /// account's (`iam::123456789012:policy/…`).
    pub fn is_policy_arn(&self, arn: &str) -> bool {
        let Some(rest) = arn.strip_prefix(&format!("arn:{}:iam::", self.partition)) else {
            return false;
        };
        match rest.split_once(":policy/") {
            Some((owner, name)) => (owner == "aws" || is_account_id(owner)) && !name.is_empty(),
            None => false,
        }
    }

    /// The SAML audience of the AWS sign-in endpoint in this partition: the `SAML:aud` a role
    /// must accept for console sign-in (and IAM Identity Center's External AWS Account app).
    pub fn signin_saml_audience(&self) -> &'static str {
        match self.partition.as_str() {
            "aws-cn" => "https://signin.amazonaws.cn/saml",
            "aws-us-gov" => "https://signin.amazonaws-us-gov.com/saml",
            _ => "https://signin.aws.amazon.com/saml",
        }
    }
}

/// Twelve ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_arns_stay_in_this_account_and_partition() {
        let scope =
            AccountScope::from_function_arn("arn:aws-cn:lambda:cn-north-1:123456789012:function:f:live").unwrap();
        assert_eq!(scope.iam_arn("role", "/sso/", "ReadOnly"), "arn:aws-cn:iam::123456789012:role/sso/ReadOnly");
        assert_eq!(
            scope.iam_path_and_name("role", "arn:aws-cn:iam::123456789012:role/sso/ReadOnly"),
            Some("sso/ReadOnly")
        );
        assert_eq!(scope.iam_path_and_name("role", "arn:aws-cn:iam::210987654321:role/ReadOnly"), None);
        assert_eq!(scope.iam_path_and_name("role", "arn:aws:iam::123456789012:role/ReadOnly"), None);
        assert_eq!(scope.iam_path_and_name("role", "arn:aws-cn:iam::123456789012:saml-provider/Okta"), None);
    }

    #[test]
    fn policy_arns_and_the_signin_audience_follow_the_partition() {
        let scope = AccountScope::from_function_arn("arn:aws:lambda:us-east-1:123456789012:function:f").unwrap();
        assert!(scope.is_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess"));
        assert!(scope.is_policy_arn("arn:aws:iam::123456789012:policy/team/Boundary"));
        assert!(!scope.is_policy_arn("arn:aws-cn:iam::aws:policy/ReadOnlyAccess"));
        assert!(!scope.is_policy_arn("ReadOnlyAccess"));
        assert_eq!(scope.signin_saml_audience(), "https://signin.aws.amazon.com/saml");
    }

    #[test]
    fn a_malformed_function_arn_is_an_error_naming_it() {
        let err = AccountScope::from_function_arn("No header lambda-runtime-invoked-function-arn found.").unwrap_err();
        assert!(err.to_string().contains("not a Lambda function ARN"));
    }
}
