//! Runs a resource operation so that it always ends: with its own result, with a caught panic, or
//! with the deadline. Whatever happens, the caller still holds the request and can answer it.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use thiserror::Error;
use tokio::time::Instant;

/// The operation did not finish on its own.
#[derive(Debug, Error, PartialEq)]
pub enum Interrupted {
    #[error("internal error: the operation panicked ({0}); nothing more was attempted. Please report this with the function's log")]
    Panic(String),
    #[error("the operation did not finish before the Lambda deadline (less its safety margin) and was stopped; raise the function's Timeout or check why AWS calls are slow. A retried Create or the stack's Delete converges")]
    Deadline,
}

/// Polls `operation` until it finishes, panics, or `give_up_at` passes.
pub async fn guarded<T>(operation: impl Future<Output = T>, give_up_at: Option<Instant>) -> Result<T, Interrupted> {
    let caught = AssertUnwindSafe(operation).catch_unwind();
    let result = match give_up_at {
        Some(deadline) => tokio::time::timeout_at(deadline, caught).await.map_err(|_| Interrupted::Deadline)?,
        None => caught.await,
    };
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_string());
        Interrupted::Panic(message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_finished_operation_keeps_its_result() {
        assert_eq!(guarded(async { 7 }, None).await, Ok(7));
    }

    #[tokio::test]
    async fn a_panic_becomes_an_interruption_with_its_message() {
        let result = guarded(async { panic!("boom {}", 1) }, None).await;
        assert_eq!(result, Err::<(), _>(Interrupted::Panic("boom 1".into())));
    }

    #[tokio::test]
    async fn an_operation_past_the_deadline_is_stopped() {
        let deadline = Instant::now() + Duration::from_millis(20);
        let started = Instant::now();
        let result = guarded(tokio::time::sleep(Duration::from_secs(30)), Some(deadline)).await;
        assert_eq!(result, Err(Interrupted::Deadline));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
