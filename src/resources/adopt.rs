//! `AdoptExisting`: what a Create does when IAM already holds a resource of its name.
//!
//! The rules, the same for both resource types (docs/adoption.md tells users):
//! - The resource carries this stack's and logical id's ownership tags: it is ours (a replayed
//!   Create, or one adopted before) and is converged, whatever `AdoptExisting` says.
//! - It carries no `samlfed:` tag at all (made by hand, e.g. with IAM Identity Center's console
//!   steps) and `AdoptExisting` is `"true"`: it is adopted — tagged as ours plus
//!   [`ADOPTED_TAG`] in one Tag call, then converged as an Update would, removing nothing the
//!   properties do not name. The physical id is the one a Create returns.
//! - It carries no `samlfed:` tag and `AdoptExisting` is not `"true"`: refused, untouched, and the
//!   Reason names `AdoptExisting` as one way out.
//! - It carries `samlfed:` tags with other values (another stack, or another resource of this
//!   one): refused, untouched, even with `AdoptExisting` — taking it would make two stacks manage
//!   one resource, and the first one's Delete would delete what the second one relies on.
//!
//! A Delete of a resource carrying [`ADOPTED_TAG`] leaves it in place (tags included): it was
//! there before the stack, so neither a stack deletion nor the rollback of a failed stack Create
//! removes it. Removing that tag by hand hands it over fully: the next Delete deletes it.
//! `AdoptExisting` is read on Create only; an Update that turns it on or off changes nothing.

use std::collections::BTreeMap;

use super::tags::{self, Owner, ADOPTED_TAG, LOGICAL_ID_TAG, MAX_TAGS, STACK_TAG};
use super::ResourceError;

/// The property's name, as Reasons and logs give it.
pub const PROPERTY: &str = "AdoptExisting";
/// The `Data` key reporting an adopted resource (value `"true"`; absent otherwise).
pub const DATA_KEY: &str = "Adopted";

/// What a Create may do with an existing resource of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takeover {
    /// Ours already: converge it.
    Ours,
    /// Nobody's, and `AdoptExisting` is `"true"`: tag it as ours, then converge it.
    Adopt,
}

/// The existing resource, as Reasons name it.
#[derive(Debug, Clone, Copy)]
pub struct Existing<'a> {
    /// `SAML provider` or `role`.
    pub kind: &'a str,
    /// The property that names it: `Name` or `RoleName`.
    pub name_property: &'a str,
    pub name: &'a str,
    pub arn: &'a str,
}

/// Decides what a Create over `existing`, which carries `current_tags`, may do.
pub fn decide(
    owner: &Owner,
    current_tags: &BTreeMap<String, String>,
    adopt_existing: bool,
    existing: &Existing<'_>,
) -> Result<Takeover, ResourceError> {
    if owner.owns(current_tags) {
        return Ok(Takeover::Ours);
    }
    let Existing { kind, name_property, name, arn } = *existing;
    let marks = tags::samlfed_tags(current_tags);
    if !marks.is_empty() {
        let shown = marks.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ");
        return Err(ResourceError::Foreign(format!(
            "{name_property}: a {kind} named {name:?} already exists in this account ({arn}) and is managed by another stack or another resource of this one (its tags: {shown}); it was left untouched. {PROPERTY} never takes over a resource that carries samlfed tags. Choose another {name_property}, or remove the {kind} from the stack that manages it; if that stack no longer exists, remove the {STACK_TAG} and {LOGICAL_ID_TAG} tags (and {ADOPTED_TAG}, if present) from the {kind}, then retry"
        )));
    }
    if !adopt_existing {
        return Err(ResourceError::Foreign(format!(
            "{name_property}: a {kind} named {name:?} already exists in this account and was not created by this stack ({arn}); it was left untouched. Choose another {name_property}, delete the existing {kind}, or set {PROPERTY} to \"true\" to bring it under this stack (the AdoptExisting parameter of templates/saml-federation.yaml; see docs/adoption.md)"
        )));
    }
    Ok(Takeover::Adopt)
}

/// The tags that adopting a resource sets: `wanted` (the user's and our ownership tags) and
/// [`ADOPTED_TAG`] = `adopted_at`, where they differ from `current_tags`. Refused before any
/// change when the resource would end up with more tags than IAM allows.
pub fn claim_tags(
    current_tags: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
    adopted_at: String,
    existing: &Existing<'_>,
) -> Result<BTreeMap<String, String>, ResourceError> {
    let mut wanted = wanted.clone();
    wanted.insert(ADOPTED_TAG.to_string(), adopted_at);
    let total =
        current_tags.keys().chain(wanted.keys()).map(|k| k.to_lowercase()).collect::<std::collections::BTreeSet<_>>();
    if total.len() > MAX_TAGS {
        return Err(ResourceError::Invalid(format!(
            "Tags: adopting the {kind} {arn} would give it {} tags (the {} it has, the Tags property and samlfed's 3), more than the {MAX_TAGS} IAM allows; it was left untouched. Remove tags from the {kind} or from Tags, then retry",
            total.len(),
            current_tags.len(),
            kind = existing.kind,
            arn = existing.arn,
        )));
    }
    Ok(tags::diff(current_tags, &wanted, &BTreeMap::new()).0)
}

/// The one log line an adoption leaves (CloudTrail has the Tag call, by the function's role).
pub fn log_adopted(existing: &Existing<'_>) {
    tracing::info!(
        arn = existing.arn,
        kind = existing.kind,
        "adopted an existing {} made outside samlfed ({PROPERTY} is \"true\"): tagged it as this stack's and converged it to the properties; a Delete will leave it in place",
        existing.kind
    );
}

/// Adds `Adopted: "true"` to `data` when `current_tags` mark an adopted resource.
pub fn report(current_tags: &BTreeMap<String, String>, data: &mut BTreeMap<String, String>) {
    if tags::is_adopted(current_tags) {
        data.insert(DATA_KEY.to_string(), "true".to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner { stack_id: "stack-a".into(), logical_resource_id: "SAMLProvider".into() }
    }

    fn existing() -> Existing<'static> {
        Existing {
            kind: "SAML provider",
            name_property: "Name",
            name: "Okta",
            arn: "arn:aws:iam::123456789012:saml-provider/Okta",
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn ours_converges_with_or_without_the_property() {
        let ours: BTreeMap<_, _> = owner().tags().into_iter().collect();
        for adopt in [false, true] {
            assert_eq!(decide(&owner(), &ours, adopt, &existing()), Ok(Takeover::Ours));
        }
    }

    #[test]
    fn an_untagged_resource_is_adopted_only_when_asked_and_the_refusal_names_the_property() {
        let hand_made = map(&[("team", "identity")]);
        assert_eq!(decide(&owner(), &hand_made, true, &existing()), Ok(Takeover::Adopt));
        let Err(ResourceError::Foreign(reason)) = decide(&owner(), &hand_made, false, &existing()) else {
            panic!("refused as foreign")
        };
        for phrase in ["Name: ", "already exists", "Choose another Name", "set AdoptExisting to \"true\""] {
            assert!(reason.contains(phrase), "{phrase:?} missing from {reason}");
        }
    }

    #[test]
    fn a_resource_tagged_by_another_stack_or_resource_is_never_adopted() {
        let cases = [
            map(&[(STACK_TAG, "stack-b"), (LOGICAL_ID_TAG, "SAMLProvider")]),
            map(&[(STACK_TAG, "stack-a"), (LOGICAL_ID_TAG, "OtherProvider")]),
            map(&[(STACK_TAG, "stack-a")]),
            map(&[("SAMLFED:STACK-ID", "stack-a"), ("SAMLFED:LOGICAL-ID", "SAMLProvider")]),
        ];
        for tags in cases {
            for adopt in [false, true] {
                let Err(ResourceError::Foreign(reason)) = decide(&owner(), &tags, adopt, &existing()) else {
                    panic!("{tags:?} must be refused")
                };
                assert!(reason.contains("managed by another stack") && reason.contains("never takes over"), "{reason}");
            }
        }
    }

    #[test]
    fn the_claim_sets_what_differs_and_refuses_past_iams_tag_limit() {
        let wanted: BTreeMap<_, _> = owner().tags().into_iter().chain([("team".into(), "platform".into())]).collect();
        let set = claim_tags(
            &map(&[("team", "platform"), ("theirs", "x")]),
            &wanted,
            "2025-01-01T00:00:00Z".into(),
            &existing(),
        )
        .unwrap();
        assert_eq!(set.keys().collect::<Vec<_>>(), [ADOPTED_TAG, LOGICAL_ID_TAG, STACK_TAG]);
        let crowded: BTreeMap<_, _> = (0..48).map(|i| (format!("k{i}"), "v".to_string())).collect();
        let err = claim_tags(&crowded, &wanted, "t".into(), &existing()).unwrap_err().to_string();
        assert!(err.starts_with("Tags: ") && err.contains("52 tags") && err.contains("left untouched"), "{err}");
    }

    #[test]
    fn adopted_resources_report_it_in_data() {
        let mut data = BTreeMap::new();
        report(&map(&[(STACK_TAG, "s")]), &mut data);
        assert!(data.is_empty());
        report(&map(&[(ADOPTED_TAG, "2025-01-01T00:00:00Z")]), &mut data);
        assert_eq!(data.get(DATA_KEY).map(String::as_str), Some("true"));
    }
}
