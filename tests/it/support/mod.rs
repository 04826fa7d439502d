//! Shared test support: the local AWS emulator, a harness that sends custom-resource events the
//! way CloudFormation does, and the real binary as a function in the emulator's Lambda.

pub mod emulator;
#[allow(dead_code)] // `Fault::Close`, `FaultProxy::upstream` and `clear_log` are not used by any test yet
pub mod fault_proxy;
pub mod function;
pub mod harness;
pub mod https_idp;
pub mod stack;
pub mod template;

/// A valid IdP metadata document (certificate valid 2025–2045), as a user would upload it.
pub fn idp_metadata() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metadata/idp-minimal.xml"))
        .expect("fixture idp-minimal.xml")
}

/// The same IdP with another entityID: a different, equally valid document.
pub fn idp_metadata_variant(entity_id: &str) -> String {
    let doc = idp_metadata();
    let start = doc.find("entityID=\"").expect("entityID") + "entityID=\"".len();
    let end = start + doc[start..].find('"').expect("closing quote");
    format!("{}{}{}", &doc[..start], entity_id, &doc[end..])
}

/// Lowercase hex SHA-256, as `sha256sum` prints it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
