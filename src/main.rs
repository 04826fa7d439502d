//! The Lambda entry point (`bootstrap`): logging set up as the function's logging config asks
//! (dependencies capped below TRACE, see [`samlfed::logging`]),
//! clients built once, then one event after another through [`samlfed::cfn::handler::handle`].

// The handler future nests the SDK's deeply; its layout needs more than the default depth.
#![recursion_limit = "256"]

use lambda_runtime::{service_fn, LambdaEvent};
use samlfed::cfn::handler::{handle, Deps};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    samlfed::logging::init();
    let deps =
        Deps::init().await.map_err(|e| format!("cannot build an HTTP client, so no event could be answered: {e}"))?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // A failed refresh is a function error (Lambda's Errors metric); its message is readable.
        handle(deps, event).await.map_err(|e| lambda_runtime::Error::from(e.to_string()))
    }))
    .await
}
