//! CloudFormation passes every scalar property as a string (`"3600"`, `"true"`), while people
//! testing with a hand-written event send real numbers and booleans. Both are accepted; anything
//! else is not.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An optional whole number given as a JSON number or a string of digits.
pub fn optional_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let invalid = |shown: String| serde::de::Error::custom(format!("expected a whole number, got {shown}"));
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_u64().and_then(|n| u32::try_from(n).ok()).map(Some).ok_or_else(|| invalid(n.to_string()))
        }
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid(format!("{s:?}"))),
        Some(other) => Err(invalid(other.to_string())),
    }
}

/// A yes/no property given as a JSON boolean or as the string `"true"` or `"false"` (what
/// CloudFormation sends for either). Absent means `false`; anything else — `"yes"`, `"True"`, `1`,
/// `""` — is refused rather than guessed, since a flag read wrongly changes what a Create does.
pub fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(Value::String(s)) if s == "true" => Ok(true),
        Some(Value::String(s)) if s == "false" => Ok(false),
        Some(other) => Err(serde::de::Error::custom(format!("expected \"true\" or \"false\", got {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct P {
        #[serde(default, deserialize_with = "optional_u32")]
        n: Option<u32>,
    }

    #[test]
    fn numbers_and_digit_strings_are_accepted_and_nothing_else() {
        assert_eq!(serde_json::from_str::<P>(r#"{"n": 3600}"#).unwrap().n, Some(3600));
        assert_eq!(serde_json::from_str::<P>(r#"{"n": "3600"}"#).unwrap().n, Some(3600));
        assert_eq!(serde_json::from_str::<P>(r#"{}"#).unwrap().n, None);
        let err = serde_json::from_str::<P>(r#"{"n": "an hour"}"#).unwrap_err().to_string();
        assert!(err.contains("an hour"), "{err}");
        assert!(serde_json::from_str::<P>(r#"{"n": true}"#).is_err());
        assert!(serde_json::from_str::<P>(r#"{"n": -1}"#).is_err());
    }

    #[derive(Deserialize, Debug)]
    struct F {
        #[serde(default, deserialize_with = "flag")]
        f: bool,
    }

    #[test]
    fn flags_are_true_or_false_as_strings_or_booleans_and_nothing_else() {
        assert!(serde_json::from_str::<F>(r#"{"f": "true"}"#).unwrap().f);
        assert!(serde_json::from_str::<F>(r#"{"f": true}"#).unwrap().f);
        assert!(!serde_json::from_str::<F>(r#"{"f": "false"}"#).unwrap().f);
        assert!(!serde_json::from_str::<F>(r#"{"f": false}"#).unwrap().f);
        assert!(!serde_json::from_str::<F>(r#"{}"#).unwrap().f);
        for bad in [r#""yes""#, r#""True""#, r#""""#, "1", "[]"] {
            let err = serde_json::from_str::<F>(&format!(r#"{{"f": {bad}}}"#)).unwrap_err().to_string();
            assert!(err.contains(r#"expected "true" or "false""#) && err.contains(bad), "{err}");
        }
    }
}
