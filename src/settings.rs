//! Runtime knobs read once from the environment at cold start.
//!
//! Production needs none of them: the defaults answer CloudFormation well before a 60-second Lambda
//! timeout. Tests shrink them so a fault matrix runs in seconds instead of minutes.

use std::time::Duration;

use thiserror::Error;
use url::Url;

/// How the function paces itself against the Lambda deadline and CloudFormation's response URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Time kept in reserve before the Lambda deadline: the resource operation is abandoned this
    /// long before it, so there is still time to PUT a FAILED response.
    pub deadline_margin: Duration,
    /// How many times the response PUT is tried before giving up (never unbounded).
    pub response_attempts: u32,
    /// First backoff between response PUT attempts; doubles after each attempt.
    pub response_backoff: Duration,
    /// Per-attempt timeout of the response PUT, so a URL that never answers cannot hang us.
    pub response_timeout: Duration,
    /// Longest time a metadata download may take, body included.
    pub metadata_timeout: Duration,
    /// First backoff when IAM has not yet caught up with a provider created moments ago (a trust
    /// policy naming it is refused as MalformedPolicyDocument for a while); doubles per attempt.
    pub consistency_backoff: Duration,
    /// `AWS_ENDPOINT_URL`: a local emulator. Its origin is the only non-AWS place a response may go.
    pub endpoint_url: Option<Url>,
    /// `SAMLFED_ORIGIN_CHECK`: ask CloudFormation, before any change, whether it is running that
    /// operation on that resource ([`crate::cfn::origin`]). On unless set to `off`, for a user's
    /// own template that cannot grant the function `cloudformation:DescribeStackResource`; off is
    /// logged as a warning at every invocation.
    pub origin_check: bool,
    /// `SAMLFED_REFRESH_*`: what the scheduled refresh refreshes ([`crate::refresh`]); `None`
    /// when no refresh is configured.
    pub refresh: Option<crate::refresh::RefreshConfig>,
    /// Test-only (`SAMLFED_TEST_ALLOW_LOOPBACK=1`): HTTPS metadata may come from 127.0.0.1, where
    /// tests run their IdP. Link-local addresses stay refused.
    pub test_allow_loopback: bool,
    /// Test-only (`SAMLFED_TEST_CA_PEM`): the one CA the HTTPS metadata client trusts, instead of
    /// the public ones — so tests need no "accept invalid certificates" switch.
    pub test_ca_pem: Option<std::path::PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            deadline_margin: Duration::from_secs(10),
            response_attempts: 5,
            response_backoff: Duration::from_millis(250),
            response_timeout: Duration::from_secs(5),
            metadata_timeout: Duration::from_secs(20),
            consistency_backoff: Duration::from_secs(1),
            endpoint_url: None,
            origin_check: true,
            refresh: None,
            test_allow_loopback: false,
            test_ca_pem: None,
        }
    }
}

/// A setting that is present but unusable; the message names the variable and the fix.
#[derive(Debug, Error, PartialEq)]
#[error("environment variable {name}={value:?} is not valid: {expected}")]
pub struct SettingsError {
    name: &'static str,
    value: String,
    expected: &'static str,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let defaults = Settings::default();
        let millis = |name: &'static str, default: Duration| -> Result<Duration, SettingsError> {
            match lookup(name) {
                None => Ok(default),
                Some(value) => value.trim().parse::<u64>().map(Duration::from_millis).map_err(|_| SettingsError {
                    name,
                    value,
                    expected: "a whole number of milliseconds",
                }),
            }
        };
        let response_attempts = match lookup("SAMLFED_RESPONSE_ATTEMPTS") {
            None => defaults.response_attempts,
            Some(value) => match value.trim().parse::<u32>() {
                Ok(n) if (1..=10).contains(&n) => n,
                _ => {
                    return Err(SettingsError {
                        name: "SAMLFED_RESPONSE_ATTEMPTS",
                        value,
                        expected: "a whole number from 1 to 10",
                    })
                }
            },
        };
        let endpoint_url = endpoint_url(&lookup)?;
        Ok(Settings {
            deadline_margin: millis("SAMLFED_DEADLINE_MARGIN_MS", defaults.deadline_margin)?,
            response_attempts,
            response_backoff: millis("SAMLFED_RESPONSE_BACKOFF_MS", defaults.response_backoff)?,
            response_timeout: millis("SAMLFED_RESPONSE_TIMEOUT_MS", defaults.response_timeout)?,
            metadata_timeout: millis("SAMLFED_METADATA_TIMEOUT_MS", defaults.metadata_timeout)?,
            consistency_backoff: millis("SAMLFED_IAM_RETRY_BACKOFF_MS", defaults.consistency_backoff)?,
            endpoint_url,
            origin_check: match lookup("SAMLFED_ORIGIN_CHECK").as_deref().map(str::trim) {
                None | Some("" | "on") => true,
                Some("off") => false,
                Some(other) => {
                    return Err(SettingsError {
                        name: "SAMLFED_ORIGIN_CHECK",
                        value: other.to_string(),
                        expected: "on (the default) or off",
                    })
                }
            },
            refresh: crate::refresh::RefreshConfig::from_lookup(&lookup).map_err(|name| SettingsError {
                name,
                value: String::new(),
                expected: "set whenever SAMLFED_REFRESH_PROVIDER_NAME is (the template sets them together)",
            })?,
            test_allow_loopback: match lookup("SAMLFED_TEST_ALLOW_LOOPBACK").as_deref().map(str::trim) {
                None | Some("" | "0" | "false") => false,
                Some("1" | "true") => true,
                Some(other) => {
                    return Err(SettingsError {
                        name: "SAMLFED_TEST_ALLOW_LOOPBACK",
                        value: other.to_string(),
                        expected: "1 or 0",
                    })
                }
            },
            test_ca_pem: lookup("SAMLFED_TEST_CA_PEM").filter(|v| !v.trim().is_empty()).map(std::path::PathBuf::from),
        })
    }
}

/// `AWS_ENDPOINT_URL`, read on its own so that a function whose other settings are broken can
/// still answer a local emulator's ResponseURL.
pub fn endpoint_url(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<Url>, SettingsError> {
    match lookup("AWS_ENDPOINT_URL").filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(value) => Url::parse(value.trim()).map(Some).map_err(|_| SettingsError {
            name: "AWS_ENDPOINT_URL",
            value,
            expected: "an absolute URL such as http://127.0.0.1:5000",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn nothing_set_gives_the_production_defaults() {
        assert_eq!(Settings::from_lookup(lookup(&[])), Ok(Settings::default()));
    }

    #[test]
    fn test_knobs_are_read_in_milliseconds() {
        let s = Settings::from_lookup(lookup(&[
            ("SAMLFED_DEADLINE_MARGIN_MS", "300"),
            ("SAMLFED_RESPONSE_ATTEMPTS", "2"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]))
        .unwrap();
        assert_eq!(s.deadline_margin, Duration::from_millis(300));
        assert_eq!(s.response_attempts, 2);
        assert_eq!(s.endpoint_url.unwrap().as_str(), "http://127.0.0.1:5000/");
    }

    #[test]
    fn unbounded_or_garbled_values_are_refused_with_the_variable_named() {
        let err = Settings::from_lookup(lookup(&[("SAMLFED_RESPONSE_ATTEMPTS", "0")])).unwrap_err();
        assert!(err.to_string().contains("SAMLFED_RESPONSE_ATTEMPTS"), "{err}");
        let err = Settings::from_lookup(lookup(&[("SAMLFED_DEADLINE_MARGIN_MS", "soon")])).unwrap_err();
        assert!(err.to_string().contains("milliseconds"), "{err}");
        let err = Settings::from_lookup(lookup(&[("SAMLFED_ORIGIN_CHECK", "false")])).unwrap_err();
        assert!(err.to_string().contains("on (the default) or off"), "{err}");
    }

    #[test]
    fn the_origin_check_is_on_unless_turned_off_by_name() {
        assert!(Settings::from_lookup(lookup(&[("SAMLFED_ORIGIN_CHECK", "on")])).unwrap().origin_check);
        assert!(!Settings::from_lookup(lookup(&[("SAMLFED_ORIGIN_CHECK", "off")])).unwrap().origin_check);
    }
}
