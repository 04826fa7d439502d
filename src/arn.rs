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

    /// The ARN of the SAML provider called `name` in this account.
    pub fn saml_provider_arn(&self, name: &str) -> String {
        format!("arn:{}:iam::{}:saml-provider/{}", self.partition, self.account_id, name)
    }

    /// The provider name, when `arn` is a SAML provider ARN of this very account and partition;
    /// anything else (another account, a sentinel id, garbage) is not ours to touch.
    pub fn saml_provider_name<'a>(&self, arn: &'a str) -> Option<&'a str> {
        let prefix = format!("arn:{}:iam::{}:saml-provider/", self.partition, self.account_id);
        arn.strip_prefix(prefix.as_str()).filter(|name| !name.is_empty() && !name.contains('/'))
    }
}

impl AccountScope {
    /// The ARN of the role `name` under `path` (which starts and ends with `/`).
    pub fn role_arn(&self, path: &str, name: &str) -> String {
        format!("arn:{}:iam::{}:role{}{}", self.partition, self.account_id, path, name)
    }

    /// The role name, when `arn` is a role ARN of this account and partition.
    pub fn role_name<'a>(&self, arn: &'a str) -> Option<&'a str> {
        let prefix = format!("arn:{}:iam::{}:role/", self.partition, self.account_id);
        arn.strip_prefix(prefix.as_str()).and_then(|rest| rest.rsplit('/').next()).filter(|name| !name.is_empty())
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
    fn partition_comes_from_the_function_arn() {
        let scope =
            AccountScope::from_function_arn("arn:aws-cn:lambda:cn-north-1:123456789012:function:f:live").unwrap();
        assert_eq!(scope.saml_provider_arn("Okta"), "arn:aws-cn:iam::123456789012:saml-provider/Okta");
    }

    #[test]
    fn provider_names_are_only_read_from_our_own_account() {
        let scope = AccountScope::from_function_arn("arn:aws:lambda:us-east-1:123456789012:function:f").unwrap();
        assert_eq!(scope.saml_provider_name("arn:aws:iam::123456789012:saml-provider/Okta"), Some("Okta"));
        assert_eq!(scope.saml_provider_name("arn:aws:iam::210987654321:saml-provider/Okta"), None);
        assert_eq!(scope.saml_provider_name("arn:aws-us-gov:iam::123456789012:saml-provider/Okta"), None);
        assert_eq!(scope.saml_provider_name("samlfed:failed-create:abc"), None);
    }

    #[test]
    fn role_arns_and_policy_arns_stay_in_this_account_and_partition() {
        let scope = AccountScope::from_function_arn("arn:aws:lambda:us-east-1:123456789012:function:f").unwrap();
        assert_eq!(scope.role_arn("/sso/", "ReadOnly"), "arn:aws:iam::123456789012:role/sso/ReadOnly");
        assert_eq!(scope.role_name("arn:aws:iam::123456789012:role/sso/ReadOnly"), Some("ReadOnly"));
        assert_eq!(scope.role_name("arn:aws:iam::210987654321:role/ReadOnly"), None);
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
