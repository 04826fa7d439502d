//! The resource types this function serves: one line each. [`crate::cfn`] dispatches over this
//! list and names no type itself; adding a type is its file in [`crate::resources`], its line here
//! and its IAM permissions in the template (docs/architecture.md).

use crate::cfn::dispatch::Registered;
use crate::resources::saml_provider::SamlProvider;
use crate::resources::saml_role::SamlRole;

/// Every resource type of the function, in the order error messages list them.
pub const RESOURCE_TYPES: &[Registered] = &[Registered::of::<SamlProvider>(), Registered::of::<SamlRole>()];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// tools/check_iam_actions.py reads these declarations; each must be a policy action
    /// (`service:Action`) given once, and each type registered once.
    #[test]
    fn each_type_is_registered_once_and_declares_each_iam_action_once_in_policy_form() {
        let types: BTreeSet<&str> = RESOURCE_TYPES.iter().map(|r| r.resource_type).collect();
        assert_eq!(types.len(), RESOURCE_TYPES.len());
        for registered in RESOURCE_TYPES {
            let actions: BTreeSet<&str> = registered.iam_actions.iter().map(|a| a.action).collect();
            assert_eq!(actions.len(), registered.iam_actions.len(), "{registered:?} declares an action twice");
            for action in actions {
                let (service, name) = action.split_once(':').unwrap_or_default();
                assert!(
                    !service.is_empty()
                        && service.bytes().all(|b| b.is_ascii_lowercase())
                        && name.starts_with(|c: char| c.is_ascii_uppercase())
                        && name.bytes().all(|b| b.is_ascii_alphanumeric()),
                    "{registered:?}: {action:?} is not service:Action"
                );
            }
        }
    }
}
