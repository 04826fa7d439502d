//! The one way samlfed reads, claims and re-tags an IAM resource it manages — for every resource
//! type and for the scheduled refresh alike: get it, decide from its ownership tags (keys *and*
//! values, [`Owner::owns`]) whether it is ours, and converge its tags touching only keys we set.
//!
//! A type says how its entity is read and tagged by implementing [`IamEntity`] in its own file
//! (so the IAM actions it calls stay with the type that declares them); the decisions are here,
//! once.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_iam::Client;

use super::adopt::{self, Existing, Takeover};
use super::iam::{iam_tags, tag_map, IamFailure};
use super::tags::{self, Owner};
use super::ResourceError;

/// An IAM entity samlfed may manage: how to read it and how to set or remove its tags.
pub trait IamEntity {
    /// What IAM's read returns for it.
    type State;
    /// Reads it; `None` when IAM answers NoSuchEntity.
    fn get(&self, iam: &Client) -> impl Future<Output = Result<Option<Self::State>, IamFailure>>;
    /// Its tags as IAM returned them.
    fn tags(state: &Self::State) -> &[aws_sdk_iam::types::Tag];
    fn tag(&self, iam: &Client, tags: Vec<aws_sdk_iam::types::Tag>) -> impl Future<Output = Result<(), IamFailure>>;
    fn untag(&self, iam: &Client, keys: Vec<String>) -> impl Future<Output = Result<(), IamFailure>>;
}

/// An entity as IAM holds it, with its tags as a map.
#[derive(Debug)]
pub struct Found<S> {
    pub state: S,
    pub tags: BTreeMap<String, String>,
}

/// Reads `entity`; `None` when it does not exist.
pub async fn find<E: IamEntity>(entity: &E, iam: &Client) -> Result<Option<Found<E::State>>, IamFailure> {
    Ok(entity.get(iam).await?.map(|state| {
        let tags = tag_map(E::tags(&state));
        Found { state, tags }
    }))
}

/// Refuses to change an entity that does not carry `owner`'s ownership tags (an Update of a
/// resource someone replaced outside CloudFormation).
pub fn require_owned(
    owner: &Owner,
    tags: &BTreeMap<String, String>,
    existing: &Existing<'_>,
) -> Result<(), ResourceError> {
    if owner.owns(tags) {
        return Ok(());
    }
    let Existing { kind, name_property, arn, .. } = *existing;
    Err(ResourceError::Foreign(format!(
        "the {kind} {arn} does not carry this stack's ownership tags, so it was not updated; if it was replaced outside CloudFormation, restore it or give the resource a new {name_property}"
    )))
}

/// True when a Delete may remove an entity carrying `tags`: `owner` made it, and did not adopt
/// it. Logs why not otherwise; the entity is then left as it is.
pub fn may_delete(owner: &Owner, tags: &BTreeMap<String, String>, kind: &str, target: &str) -> bool {
    if !owner.owns(tags) {
        tracing::warn!(resource = target, "the {kind} was not created by this stack and logical resource (ownership tags absent or different); left untouched");
        return false;
    }
    if tags::is_adopted(tags) {
        tracing::info!(resource = target, "the {kind} was adopted (AdoptExisting), not created by this stack: left in place as it is; remove its samlfed:adopted tag first to have a Delete remove it");
        return false;
    }
    true
}

/// A Create found `found` under its name: carries on when it is ours (a replayed Create), or,
/// when it is nobody's and `adopt_existing` is set, claims it — ours and `samlfed:adopted` in one
/// Tag call, so that a Create stopped right after is answered with its id and the rollback Delete
/// keeps it. Anything else is refused untouched ([`adopt::decide`]). `found.tags` then holds the
/// tags the entity carries.
pub async fn take_over<E: IamEntity>(
    entity: &E,
    iam: &Client,
    owner: &Owner,
    found: &mut Found<E::State>,
    user_tags: &BTreeMap<String, String>,
    adopt_existing: bool,
    existing: &Existing<'_>,
) -> Result<Takeover, ResourceError> {
    let takeover = adopt::decide(owner, &found.tags, adopt_existing, existing)?;
    match takeover {
        Takeover::Ours => {
            tracing::info!(
                arn = existing.arn,
                "the {} exists and is ours (a retried Create): converging",
                existing.kind
            );
        }
        Takeover::Adopt => {
            let now = crate::datetime::format_timestamp(time::OffsetDateTime::now_utc());
            let claim = adopt::claim_tags(&found.tags, &with_ownership(user_tags, owner), now, existing)?;
            entity.tag(iam, iam_tags(&claim)?).await?;
            found.tags.extend(claim);
            adopt::log_adopted(existing);
        }
    }
    Ok(takeover)
}

/// Brings the tags of an entity of ours from `current` to the user's `user_tags` plus our
/// ownership tags, removing only keys `previous_user_tags` (the previous properties) had set:
/// tags someone else added stay.
pub async fn converge_tags<E: IamEntity>(
    entity: &E,
    iam: &Client,
    owner: &Owner,
    current: &BTreeMap<String, String>,
    user_tags: &BTreeMap<String, String>,
    previous_user_tags: &BTreeMap<String, String>,
) -> Result<(), ResourceError> {
    let (set, remove) = tags::diff(current, &with_ownership(user_tags, owner), previous_user_tags);
    if !set.is_empty() {
        entity.tag(iam, iam_tags(&set)?).await?;
    }
    if !remove.is_empty() {
        entity.untag(iam, remove).await?;
    }
    Ok(())
}

/// The tags a resource of `owner` carries: the user's and the two ownership tags.
pub fn with_ownership(user_tags: &BTreeMap<String, String>, owner: &Owner) -> BTreeMap<String, String> {
    let mut all = user_tags.clone();
    all.extend(owner.tags());
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::tags::{ADOPTED_TAG, STACK_TAG};

    fn owner() -> Owner {
        Owner { stack_id: "stack-a".into(), logical_resource_id: "SAMLRole".into() }
    }

    #[test]
    fn only_this_owners_tags_allow_a_change_and_the_refusal_names_the_resource_and_the_way_out() {
        let ours: BTreeMap<_, _> = owner().tags().into_iter().collect();
        let existing =
            Existing { kind: "role", name_property: "RoleName", name: "R", arn: "arn:aws:iam::123456789012:role/R" };
        assert_eq!(require_owned(&owner(), &ours, &existing), Ok(()));
        let mut theirs = ours.clone();
        theirs.insert(STACK_TAG.into(), "stack-b".into());
        let Err(ResourceError::Foreign(reason)) = require_owned(&owner(), &theirs, &existing) else {
            panic!("refused as foreign")
        };
        for phrase in ["the role arn:aws:iam::123456789012:role/R", "ownership tags", "a new RoleName"] {
            assert!(reason.contains(phrase), "{phrase:?} missing from {reason}");
        }
    }

    #[test]
    fn a_delete_removes_only_what_this_owner_made_and_did_not_adopt() {
        let ours: BTreeMap<_, _> = owner().tags().into_iter().collect();
        assert!(may_delete(&owner(), &ours, "role", "R"));
        let mut adopted = ours.clone();
        adopted.insert(ADOPTED_TAG.into(), "2026-01-01T00:00:00Z".into());
        assert!(!may_delete(&owner(), &adopted, "role", "R"));
        assert!(!may_delete(&owner(), &BTreeMap::new(), "role", "R"));
    }

    #[test]
    fn our_tags_are_the_users_plus_the_two_ownership_tags() {
        let user = BTreeMap::from([("team".to_string(), "x".to_string())]);
        let all = with_ownership(&user, &owner());
        assert_eq!(all.len(), 3);
        assert!(owner().owns(&all));
    }
}
