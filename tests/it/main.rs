//! The integration tests: one binary (the AWS SDK is linked once, not once per file), one module
//! per subject. `support` is what they share: the local AWS emulator, a harness that sends
//! custom-resource events the way CloudFormation does, the real binary as a function in the
//! emulator's Lambda. The `cli_*` modules need `--features cli` (each says so with
//! `#![cfg(feature = "cli")]`).

mod support;

mod access_denied;
mod bad_input;
mod bootstrap;
mod cfn_engine;
mod cli_check;
mod cli_invoke;
mod cli_render;
mod cli_rollout;
mod faults;
mod https_metadata;
mod logs;
mod refresh;
mod resource_registry;
mod saml_provider;
mod saml_role;
mod template_events;
