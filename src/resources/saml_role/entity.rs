//! The role as [`crate::resources::owned`] reads and tags it.

use aws_sdk_iam::types::{Role, Tag};
use aws_sdk_iam::Client;

use crate::resources::iam::{is_no_such_entity, IamFailure};
use crate::resources::owned::IamEntity;

/// The role called `.0` (IAM role names are unique across paths).
pub(super) struct RoleNamed<'a>(pub &'a str);

impl RoleNamed<'_> {
    fn failure<E, R>(&self, operation: &'static str, err: &aws_sdk_iam::error::SdkError<E, R>) -> IamFailure
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        IamFailure::of(operation, &format!("role {}", self.0), err)
    }
}

impl IamEntity for RoleNamed<'_> {
    type State = Role;

    async fn get(&self, iam: &Client) -> Result<Option<Role>, IamFailure> {
        match iam.get_role().role_name(self.0).send().await {
            Ok(output) => Ok(output.role),
            Err(err) if is_no_such_entity(&err) => Ok(None),
            Err(err) => Err(self.failure("GetRole", &err)),
        }
    }

    fn tags(state: &Role) -> &[Tag] {
        state.tags()
    }

    async fn tag(&self, iam: &Client, tags: Vec<Tag>) -> Result<(), IamFailure> {
        match iam.tag_role().role_name(self.0).set_tags(Some(tags)).send().await {
            Ok(_) => Ok(()),
            Err(err) => Err(self.failure("TagRole", &err)),
        }
    }

    async fn untag(&self, iam: &Client, keys: Vec<String>) -> Result<(), IamFailure> {
        match iam.untag_role().role_name(self.0).set_tag_keys(Some(keys)).send().await {
            Ok(_) => Ok(()),
            Err(err) => Err(self.failure("UntagRole", &err)),
        }
    }
}
