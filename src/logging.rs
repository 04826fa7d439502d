//! Logging as the function's `LoggingConfig` asks for it, with one promise kept at every level:
//! no secret reaches the logs.
//!
//! Our own code logs nothing secret at any level (the ResponseURL's query is hidden, documents
//! are never logged). Dependencies do, but only at TRACE: lambda_runtime writes each raw event
//! (the presigned ResponseURL is a bearer credential for the stack's answer) and the SDK writes
//! HTTP bodies (whole metadata documents). So samlfed's own targets log at the level asked for,
//! and every other target at most at [`DEPENDENCY_CEILING`]: `LogLevel: TRACE` in the template
//! shows samlfed's trace, never a dependency's.

use std::str::FromStr;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The most a dependency may log: DEBUG shows connections, retries and timings, never bodies or
/// raw events (proven by `tests/logs.rs` at every level).
pub const DEPENDENCY_CEILING: LevelFilter = LevelFilter::DEBUG;

/// The targets that log at the level asked for: the library and the Lambda binary.
const OWN_TARGETS: [&str; 2] = ["samlfed", "bootstrap"];

/// The level asked for: `AWS_LAMBDA_LOG_LEVEL` (what `LoggingConfig.ApplicationLogLevel` sets),
/// else `RUST_LOG` as a plain level, else INFO. Lambda's FATAL is ERROR here (tracing has no
/// FATAL); anything unreadable is INFO, so a typo never silences errors.
pub fn requested_level(lambda_level: Option<&str>, rust_log: Option<&str>) -> LevelFilter {
    let asked = lambda_level.or(rust_log).map(str::trim).unwrap_or("INFO");
    if asked.eq_ignore_ascii_case("fatal") {
        return LevelFilter::ERROR;
    }
    LevelFilter::from_str(asked).unwrap_or(LevelFilter::INFO)
}

/// Which events are written: samlfed's at `level`, everyone else's at `level` but never above
/// [`DEPENDENCY_CEILING`].
pub fn filter(level: LevelFilter) -> Targets {
    OWN_TARGETS
        .iter()
        .fold(Targets::new(), |targets, target| targets.with_target(*target, level))
        .with_default(level.min(DEPENDENCY_CEILING))
}

/// Installs the process-wide subscriber on stdout, JSON lines when `AWS_LAMBDA_LOG_FORMAT` is
/// JSON (as Lambda's advanced logging controls expect), text otherwise. Call once, first thing.
pub fn init() {
    let level = requested_level(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let layer = tracing_subscriber::fmt::layer().with_target(false).without_time().with_writer(std::io::stdout);
    let registry = tracing_subscriber::registry().with(filter(level));
    if json {
        registry.with(layer.json()).init();
    } else {
        registry.with(layer).init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn the_lambda_level_wins_then_rust_log_then_info() {
        assert_eq!(requested_level(Some("DEBUG"), Some("error")), LevelFilter::DEBUG);
        assert_eq!(requested_level(None, Some("warn")), LevelFilter::WARN);
        assert_eq!(requested_level(None, None), LevelFilter::INFO);
        assert_eq!(requested_level(Some("FATAL"), None), LevelFilter::ERROR);
        assert_eq!(requested_level(Some("loud"), None), LevelFilter::INFO);
    }

    fn enabled(filter: &Targets, target: &str, level: Level) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn at_trace_only_our_own_targets_trace() {
        let f = filter(LevelFilter::TRACE);
        assert!(enabled(&f, "samlfed::cfn::handler", Level::TRACE));
        assert!(enabled(&f, "bootstrap", Level::TRACE));
        assert!(!enabled(&f, "lambda_runtime::layers::api_response", Level::TRACE));
        assert!(!enabled(&f, "aws_smithy_runtime::client::http", Level::TRACE));
        assert!(enabled(&f, "aws_smithy_runtime::client::http", Level::DEBUG));
    }

    #[test]
    fn below_the_ceiling_everyone_logs_at_the_level_asked_for() {
        let f = filter(LevelFilter::WARN);
        assert!(enabled(&f, "aws_config", Level::WARN));
        assert!(!enabled(&f, "aws_config", Level::INFO));
        assert!(!enabled(&f, "samlfed", Level::INFO));
    }
}
