//! Tags: the user's, checked against IAM's rules, and ours, which mark what this stack created.
//!
//! Ownership is what keeps a Delete from removing a provider or role someone else made: every
//! resource we create carries [`STACK_TAG`] = StackId and [`LOGICAL_ID_TAG`] = LogicalResourceId,
//! and only a resource carrying both, with this stack's values, is ever modified or deleted.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ResourceError;

/// Tag key holding the StackId of the stack that created the resource.
pub const STACK_TAG: &str = "samlfed:stack-id";
/// Tag key holding the LogicalResourceId that created the resource.
pub const LOGICAL_ID_TAG: &str = "samlfed:logical-id";
/// Tag key marking a resource that existed before this stack and was taken over with
/// `AdoptExisting` (value: when, UTC). A Delete leaves such a resource in place
/// ([`super::adopt`]).
pub const ADOPTED_TAG: &str = "samlfed:adopted";
/// The prefix of every tag samlfed sets; users may not set it (see [`validate_user_tags`]).
pub const SAMLFED_PREFIX: &str = "samlfed:";
/// IAM's limit of tags per resource, ours included.
pub const MAX_TAGS: usize = 50;
/// How many tags a user may give: IAM's limit less the two ownership tags.
pub const MAX_USER_TAGS: usize = MAX_TAGS - 2;

/// A `{Key, Value}` pair as written in the template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The stack and logical resource a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub stack_id: String,
    pub logical_resource_id: String,
}

impl Owner {
    /// The two ownership tags.
    pub fn tags(&self) -> [(String, String); 2] {
        [(STACK_TAG.to_string(), self.stack_id.clone()), (LOGICAL_ID_TAG.to_string(), self.logical_resource_id.clone())]
    }

    /// True when `tags` (as IAM returns them) mark the resource as made by this stack and logical id.
    pub fn owns(&self, tags: &BTreeMap<String, String>) -> bool {
        tags.get(STACK_TAG) == Some(&self.stack_id) && tags.get(LOGICAL_ID_TAG) == Some(&self.logical_resource_id)
    }
}

/// The samlfed tags (`samlfed:…`, any case: IAM tag keys are case-insensitive) among `tags`.
pub fn samlfed_tags(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|(k, _)| k.get(..SAMLFED_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(SAMLFED_PREFIX)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// True when `tags` mark the resource as one taken over with `AdoptExisting`.
pub fn is_adopted(tags: &BTreeMap<String, String>) -> bool {
    tags.contains_key(ADOPTED_TAG)
}

/// Checks the `Tags` property against IAM's rules (count, lengths, characters, reserved prefixes)
/// and returns it as a map. `resource` names the resource type for the message.
pub fn validate_user_tags(tags: &[Tag]) -> Result<BTreeMap<String, String>, ResourceError> {
    if tags.len() > MAX_USER_TAGS {
        return Err(ResourceError::Invalid(format!(
            "Tags: {} tags given, at most {MAX_USER_TAGS} are allowed (IAM allows {MAX_TAGS} per resource and samlfed uses 2 to mark ownership); remove some",
            tags.len()
        )));
    }
    let mut map = BTreeMap::new();
    for tag in tags {
        let key_chars = tag.key.chars().count();
        if !(1..=128).contains(&key_chars) {
            return Err(ResourceError::Invalid(format!(
                "Tags: key {:?} has {key_chars} characters; IAM allows 1 to 128",
                tag.key
            )));
        }
        let value_chars = tag.value.chars().count();
        if value_chars > 256 {
            return Err(ResourceError::Invalid(format!(
                "Tags: the value of {:?} has {value_chars} characters; IAM allows at most 256",
                tag.key
            )));
        }
        let lower = tag.key.to_ascii_lowercase();
        if lower.starts_with("aws:") || lower.starts_with(SAMLFED_PREFIX) {
            return Err(ResourceError::Invalid(format!(
                "Tags: key {:?} uses a reserved prefix (aws: is AWS's, samlfed: marks ownership); choose another key",
                tag.key
            )));
        }
        for (what, text) in [("key", &tag.key), ("value", &tag.value)] {
            if let Some(bad) = text.chars().find(|c| !is_tag_char(*c)) {
                return Err(ResourceError::Invalid(format!(
                    "Tags: the {what} of {:?} contains {bad:?}; IAM allows letters, digits, spaces and _ . : / = + - @",
                    tag.key
                )));
            }
        }
        if map.insert(tag.key.clone(), tag.value.clone()).is_some() {
            return Err(ResourceError::Invalid(format!("Tags: key {:?} appears twice; give each key once", tag.key)));
        }
    }
    Ok(map)
}

/// IAM's tag character set: `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// The tag changes that take a resource from `current` (what IAM holds) to `wanted`, touching only
/// keys that we manage: those in `wanted` and those the previous properties (`previous`) set.
/// Tags someone else added are left alone. Returns (tags to set, keys to remove).
pub fn diff(
    current: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
    previous: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = wanted.iter().filter(|(k, v)| current.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let remove = previous.keys().filter(|k| !wanted.contains_key(*k) && current.contains_key(*k)).cloned().collect();
    (set, remove)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag { key: k.into(), value: v.into() }
    }

    #[test]
    fn valid_tags_become_a_map() {
        let map = validate_user_tags(&[tag("team", "platform"), tag("cost centre", "42/a+b@c")]).unwrap();
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn each_iam_tag_rule_names_the_key_and_the_fix() {
        let cases = [
            (vec![tag("", "v")], "1 to 128"),
            (vec![tag(&"k".repeat(129), "v")], "1 to 128"),
            (vec![tag("k", &"v".repeat(257))], "at most 256"),
            (vec![tag("aws:owner", "v")], "reserved prefix"),
            (vec![tag("samlfed:stack-id", "v")], "reserved prefix"),
            (vec![tag("k", "a;b")], "contains ';'"),
            (vec![tag("k", "a"), tag("k", "b")], "appears twice"),
            ((0..49).map(|i| tag(&format!("k{i}"), "v")).collect(), "at most 48"),
        ];
        for (tags, phrase) in cases {
            let err = validate_user_tags(&tags).unwrap_err().to_string();
            assert!(err.starts_with("Tags: ") && err.contains(phrase), "{err}");
        }
    }

    #[test]
    fn ownership_needs_both_tags_with_this_stacks_values() {
        let owner = Owner { stack_id: "stack-a".into(), logical_resource_id: "Provider".into() };
        let mine: BTreeMap<_, _> = owner.tags().into_iter().collect();
        assert!(owner.owns(&mine));
        let mut other_stack = mine.clone();
        other_stack.insert(STACK_TAG.into(), "stack-b".into());
        assert!(!owner.owns(&other_stack));
        assert!(!owner.owns(&BTreeMap::new()));
    }

    #[test]
    fn samlfed_tags_are_found_in_any_case_and_others_are_not() {
        let tags: BTreeMap<String, String> =
            [("SAMLFed:Stack-Id", "s"), ("samlfed:adopted", "t"), ("team", "x"), ("samlfed", "y")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let found: Vec<String> = samlfed_tags(&tags).into_keys().collect();
        assert_eq!(found, ["SAMLFed:Stack-Id", "samlfed:adopted"]);
        assert!(is_adopted(&tags));
    }

    #[test]
    fn diff_sets_changes_and_removes_only_keys_we_set_before() {
        let m = |pairs: &[(&str, &str)]| {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>()
        };
        let current = m(&[("a", "1"), ("b", "2"), ("theirs", "x")]);
        let wanted = m(&[("a", "1"), ("c", "3")]);
        let previous = m(&[("a", "1"), ("b", "2")]);
        let (set, remove) = diff(&current, &wanted, &previous);
        assert_eq!(set, m(&[("c", "3")]));
        assert_eq!(remove, vec!["b".to_string()]);
    }
}
