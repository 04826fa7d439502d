//! The CloudFormation custom-resource protocol, kept apart from the resources it serves.
//!
//! [`handler::handle`] is the whole contract: every event whose ResponseURL may be answered gets
//! exactly one response PUT (SUCCESS or FAILED), whatever happens in between; every other event is
//! refused before any work is done.

pub mod dispatch;
pub mod guard;
pub mod handler;
pub mod origin;
pub mod request;
pub mod response;
pub mod response_url;
pub mod sender;
