//! Where an invocation's time went: waiting on AWS (the SDK's operations, the response PUT) or in
//! samlfed's own work (parsing, validation, building the answer, logging). Each answer's log line
//! carries both (`aws_ms`, `own_ms`): an operator tells a slow IAM from a slow function, and
//! `make bench` reads the handler's overhead beyond the AWS calls from it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Time spent in AWS calls since the last [`AwsTime::take`]. One per set of clients: Lambda runs
/// one invocation at a time in a process, so one running total serves.
#[derive(Debug, Default)]
pub struct AwsTime(AtomicU64);

impl AwsTime {
    /// Adds one call's time.
    pub fn add(&self, spent: Duration) {
        let nanos = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
        self.0.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The total so far, and a fresh start.
    pub fn take(&self) -> Duration {
        Duration::from_nanos(self.0.swap(0, Ordering::Relaxed))
    }
}

/// An SDK interceptor that adds each operation's whole execution — serialisation, signing, every
/// attempt with its retries and backoff, parsing — to an [`AwsTime`].
#[derive(Debug, Clone)]
pub struct AwsCallTimer(pub Arc<AwsTime>);

/// When the current operation started (kept in the operation's own config bag).
#[derive(Debug, Clone, Copy)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

impl Intercept for AwsCallTimer {
    fn name(&self) -> &'static str {
        "samlfed::timing::AwsCallTimer"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Started(at)) = cfg.load::<Started>() {
            self.0.add(at.elapsed());
        }
        Ok(())
    }
}

/// An invocation's split: `total` from the event's arrival to its answer, `aws` of it waiting on
/// AWS, the rest samlfed's own.
#[derive(Debug, Clone, Copy)]
pub struct Split {
    pub aws: Duration,
    pub own: Duration,
}

impl Split {
    /// Splits `total` given the time spent on AWS.
    pub fn of(total: Duration, aws: Duration) -> Split {
        Split { aws, own: total.saturating_sub(aws) }
    }

    /// Milliseconds with microsecond resolution, for log fields.
    pub fn ms(d: Duration) -> f64 {
        (d.as_micros() as f64) / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_returns_the_sum_and_starts_again() {
        let total = AwsTime::default();
        total.add(Duration::from_millis(3));
        total.add(Duration::from_micros(1500));
        assert_eq!(total.take(), Duration::from_micros(4500));
        assert_eq!(total.take(), Duration::ZERO);
    }

    #[test]
    fn own_time_is_what_aws_did_not_take_and_never_negative() {
        let split = Split::of(Duration::from_millis(10), Duration::from_millis(7));
        assert_eq!(split.own, Duration::from_millis(3));
        assert_eq!(Split::of(Duration::from_millis(1), Duration::from_millis(2)).own, Duration::ZERO);
        assert_eq!(Split::ms(Duration::from_micros(1234)), 1.234);
    }
}
