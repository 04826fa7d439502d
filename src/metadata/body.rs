//! The one size-capped body reader, for every remote source (S3 and HTTPS).
//!
//! It counts raw bytes as they arrive — never characters: a stream of UTF-8 continuation bytes is
//! not one character long, however many megabytes it is. A declared length over the cap is
//! refused before a byte of the body is read; a stream is dropped, and its connection with it, on
//! the first chunk that would take it past the cap, so the function never holds more than the cap.

use futures_util::{Stream, StreamExt as _};

/// Why a capped read stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError<E> {
    /// The body declared, or delivered, more than the cap.
    TooLarge,
    /// Reading the body failed (the connection broke, the stream errored).
    Body(E),
}

/// The first read's buffer when no length is declared; it then doubles, never past the cap.
const INITIAL_CAPACITY: usize = 64 * 1024;

/// Reads `body` whole when it is at most `cap` bytes. `declared` is the length the source
/// announced (`Content-Length`), if any.
pub async fn read_capped<S, B, E>(declared: Option<u64>, body: S, cap: u64) -> Result<Vec<u8>, ReadError<E>>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    if declared.is_some_and(|n| n > cap) {
        return Err(ReadError::TooLarge);
    }
    let limit = usize::try_from(cap).unwrap_or(usize::MAX);
    let mut bytes = Vec::with_capacity(declared.map_or(INITIAL_CAPACITY, |n| n as usize).min(limit));
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(ReadError::Body)?;
        let chunk = chunk.as_ref();
        let total = bytes.len().saturating_add(chunk.len());
        if total > limit {
            return Err(ReadError::TooLarge);
        }
        if total > bytes.capacity() {
            // Grow by doubling as `Vec` does, but never beyond the cap.
            let target = bytes.capacity().saturating_mul(2).max(total).min(limit);
            bytes.reserve_exact(target - bytes.len());
        }
        bytes.extend_from_slice(chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures_util::stream;

    use super::*;

    /// `chunks` chunks of `size` bytes of `byte`, counting how many were taken.
    fn counted(
        byte: u8,
        size: usize,
        chunks: usize,
        taken: &AtomicUsize,
    ) -> impl Stream<Item = Result<Vec<u8>, ()>> + '_ {
        stream::iter(0..chunks).map(move |_| {
            taken.fetch_add(1, Ordering::SeqCst);
            Ok(vec![byte; size])
        })
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
    }

    #[test]
    fn continuation_bytes_are_counted_as_bytes_and_cut_off_at_the_cap() {
        // 0x80 starts no character: a reader counting characters would read all 1,000 chunks.
        let taken = AtomicUsize::new(0);
        let result = block_on(read_capped(None, counted(0x80, 1000, 1000, &taken), 10_000));
        assert_eq!(result, Err(ReadError::TooLarge));
        assert_eq!(taken.load(Ordering::SeqCst), 11, "stopped on the chunk that passed the cap");
    }

    #[test]
    fn a_declared_length_over_the_cap_is_refused_before_reading() {
        let taken = AtomicUsize::new(0);
        let result = block_on(read_capped(Some(10_001), counted(b'x', 1000, 10, &taken), 10_000));
        assert_eq!(result, Err(ReadError::TooLarge));
        assert_eq!(taken.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_body_of_exactly_the_cap_is_read_whole_into_no_more_than_the_cap() {
        let taken = AtomicUsize::new(0);
        let bytes = block_on(read_capped(None, counted(b'x', 1000, 10, &taken), 10_000)).unwrap();
        assert_eq!(bytes.len(), 10_000);
        assert!(bytes.capacity() <= 10_000, "{}", bytes.capacity());
        let bytes = block_on(read_capped(Some(10_000), counted(b'x', 1000, 10, &taken), 10_000)).unwrap();
        assert_eq!(bytes.len(), 10_000);
    }

    #[test]
    fn a_broken_body_is_its_own_error() {
        let body = stream::iter([Ok(vec![b'x'; 10]), Err("broken")]);
        assert_eq!(block_on(read_capped(None, body, 10_000)), Err(ReadError::Body("broken")));
    }
}
