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
    fn a_malformed_function_arn_is_an_error_naming_it() {
        let err = AccountScope::from_function_arn("No header lambda-runtime-invoked-function-arn found.").unwrap_err();
        assert!(err.to_string().contains("not a Lambda function ARN"));
    }
}
