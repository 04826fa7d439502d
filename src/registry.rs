//! The resource types this function serves: one line each. [`crate::cfn`] dispatches over this
//! list and names no type itself; adding a type is its file in [`crate::resources`], its line here
//! and its IAM permissions in the template (docs/architecture.md).

use crate::cfn::dispatch::Registered;
use crate::resources::saml_provider::SamlProvider;
use crate::resources::saml_role::SamlRole;

/// Every resource type of the function, in the order error messages list them.
pub const RESOURCE_TYPES: &[Registered] = &[Registered::of::<SamlProvider>(), Registered::of::<SamlRole>()];
