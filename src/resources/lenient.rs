//! CloudFormation passes every scalar property as a string (`"3600"`, `"true"`), while people
//! testing with a hand-written event send real numbers. Both are accepted; anything else is not.

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
}
