//! The rules for the descriptors: one SAML 2.0 `EntityDescriptor` with an `entityID` at the root
//! (an `EntitiesDescriptor` aggregate refused, naming the IdPs inside), `validUntil` after "now",
//! and an `IDPSSODescriptor` supporting SAML 2.0 with a `SingleSignOnService`.

use time::OffsetDateTime;

use super::error::{describe_name, quote};
use super::xml::{is_md, MD_NS};
use super::MetadataError;
use crate::datetime::parse_xs_date_time;

const SAML2_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// A `SingleSignOnService` endpoint, kept so operators can see where users will be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoEndpoint {
    /// The SAML binding URI, e.g. `urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST`.
    pub binding: String,
    /// The endpoint URL; not checked further because AWS never calls it.
    pub location: String,
}

/// The root's `entityID`, once the root is a SAML 2.0 `EntityDescriptor`.
pub(super) fn entity_id(root: roxmltree::Node<'_, '_>) -> Result<String, MetadataError> {
    let root_name = root.tag_name();
    match (root_name.namespace(), root_name.name()) {
        (Some(MD_NS), "EntityDescriptor") => {}
        (Some(MD_NS), "EntitiesDescriptor") => return Err(aggregate_error(root)),
        (None | Some("http://www.w3.org/1999/xhtml"), name) if name.eq_ignore_ascii_case("html") => {
            return Err(MetadataError::HtmlPage)
        }
        (namespace, name) => return Err(MetadataError::UnexpectedRoot { found: describe_name(namespace, name) }),
    }

    match root.attribute("entityID") {
        Some(id) if !id.trim().is_empty() => Ok(id.to_owned()),
        _ => Err(MetadataError::MissingEntityId),
    }
}

fn aggregate_error(root: roxmltree::Node<'_, '_>) -> MetadataError {
    let entities: Vec<_> = root.descendants().filter(|n| is_md(n, "EntityDescriptor")).collect();
    let idp_entity_ids = entities
        .iter()
        .filter(|e| e.children().any(|c| is_md(&c, "IDPSSODescriptor")))
        .map(|e| e.attribute("entityID").unwrap_or("(no entityID)").to_owned())
        .collect();
    MetadataError::Aggregate { entity_count: entities.len(), idp_entity_ids }
}

/// The `validUntil` of `node` (`element` names it in a Reason), refused unless after `now`.
pub(super) fn check_valid_until(
    node: roxmltree::Node<'_, '_>,
    element: &'static str,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, MetadataError> {
    let Some(value) = node.attribute("validUntil") else {
        return Ok(None);
    };
    let valid_until =
        parse_xs_date_time(value).ok_or_else(|| MetadataError::InvalidValidUntil { element, value: quote(value) })?;
    if valid_until <= now {
        return Err(MetadataError::Expired { element, valid_until, now });
    }
    Ok(Some(valid_until))
}

pub(super) fn select_idp_descriptor<'a, 'input>(
    root: roxmltree::Node<'a, 'input>,
    entity_id: &str,
) -> Result<roxmltree::Node<'a, 'input>, MetadataError> {
    let idps: Vec<_> = root.children().filter(|n| is_md(n, "IDPSSODescriptor")).collect();
    if idps.is_empty() {
        if root.children().any(|n| is_md(&n, "SPSSODescriptor")) {
            return Err(MetadataError::ServiceProviderMetadata { entity_id: quote(entity_id) });
        }
        let mut names: Vec<&str> = Vec::new();
        for child in root.children().filter(roxmltree::Node::is_element) {
            let name = child.tag_name().name();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let found = if names.is_empty() { "no child elements".to_owned() } else { quote(&names.join(", ")) };
        return Err(MetadataError::NoIdpDescriptor { entity_id: quote(entity_id), found });
    }
    if let Some(idp) = idps.iter().find(|n| supports_saml2(n)) {
        return Ok(*idp);
    }
    let protocols: Vec<&str> = idps
        .iter()
        .filter_map(|n| n.attribute("protocolSupportEnumeration"))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    Err(MetadataError::NoSaml2Support {
        entity_id: quote(entity_id),
        protocols: if protocols.is_empty() { "nothing".to_owned() } else { quote(&protocols.join(" | ")) },
    })
}

/// Only the first IDPSSODescriptor supporting SAML 2.0 is checked; a second one is worth a warning.
pub(super) fn warn_several_idp_descriptors(root: roxmltree::Node<'_, '_>, entity_id: &str, warnings: &mut Vec<String>) {
    if root.children().filter(|n| is_md(n, "IDPSSODescriptor") && supports_saml2(n)).count() > 1 {
        warnings.push(format!(
            "entity {} has more than one IDPSSODescriptor supporting SAML 2.0; only the first was \
             checked.",
            quote(entity_id)
        ));
    }
}

fn supports_saml2(node: &roxmltree::Node<'_, '_>) -> bool {
    node.attribute("protocolSupportEnumeration")
        .is_some_and(|p| p.split_ascii_whitespace().any(|p| p == SAML2_PROTOCOL))
}

/// The complete `SingleSignOnService` endpoints of the IDPSSODescriptor; incomplete ones are warned
/// about and skipped, and none at all is refused.
pub(super) fn sso_endpoints(
    idp: roxmltree::Node<'_, '_>,
    entity_id: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<SsoEndpoint>, MetadataError> {
    let mut endpoints = Vec::new();
    let mut incomplete = 0;
    for (index, sso) in idp.children().filter(|n| is_md(n, "SingleSignOnService")).enumerate() {
        let non_empty = |name| sso.attribute(name).map(str::trim).filter(|v| !v.is_empty());
        match (non_empty("Binding"), non_empty("Location")) {
            (Some(binding), Some(location)) => {
                endpoints.push(SsoEndpoint { binding: binding.to_owned(), location: location.to_owned() })
            }
            (binding, _) => {
                incomplete += 1;
                let missing = if binding.is_none() { "Binding" } else { "Location" };
                warnings.push(format!(
                    "SingleSignOnService #{} of entity {} has no {missing} and is ignored.",
                    index + 1,
                    quote(entity_id)
                ));
            }
        }
    }
    if endpoints.is_empty() {
        return Err(MetadataError::NoSingleSignOnService { entity_id: quote(entity_id), incomplete });
    }
    Ok(endpoints)
}

/// AWS never calls these endpoints, but users' browsers post SAML messages to them.
pub(super) fn warn_plain_http_endpoints(idp: roxmltree::Node<'_, '_>, warnings: &mut Vec<String>) {
    for endpoint in idp.children().filter(|n| n.is_element() && n.tag_name().namespace() == Some(MD_NS)) {
        for attribute in ["Location", "ResponseLocation"] {
            let Some(url) = endpoint.attribute(attribute) else {
                continue;
            };
            let url = url.trim();
            if url.get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://")) {
                warnings.push(format!(
                    "the {} {attribute} {} uses plain http://, so SAML messages to it travel \
                     unencrypted; configure the IdP to publish an https:// endpoint.",
                    endpoint.tag_name().name(),
                    quote(url)
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::validate;
    use super::*;

    #[test]
    fn service_provider_metadata_is_refused() {
        let err = refuse(SP_ONLY, after());
        assert_eq!(
            err,
            MetadataError::ServiceProviderMetadata { entity_id: "https://sp.example.com/saml/metadata".to_owned() }
        );
        assert!(err.to_string().contains("this is service-provider metadata, not IdP metadata"));
    }

    #[test]
    fn entity_without_idp_descriptor_is_refused() {
        let doc = MINIMAL
            .replace("md:IDPSSODescriptor", "md:AuthnAuthorityDescriptor")
            .replace("md:SingleSignOnService", "md:AuthnQueryService");
        let err = refuse(&doc, after());
        assert!(
            matches!(&err, MetadataError::NoIdpDescriptor { found, .. }
                if found == "AuthnAuthorityDescriptor, Organization, ContactPerson"),
            "{err:?}"
        );
        assert!(err.to_string().contains("has no IDPSSODescriptor"));
    }

    #[test]
    fn saml11_only_idp_is_refused() {
        let doc = edit(
            MINIMAL,
            "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"",
            "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:1.1:protocol urn:mace:shibboleth:1.0\"",
        );
        let err = refuse(&doc, after());
        assert!(
            matches!(&err, MetadataError::NoSaml2Support { protocols, .. }
                if protocols == "urn:oasis:names:tc:SAML:1.1:protocol urn:mace:shibboleth:1.0"),
            "{err:?}"
        );
        assert!(err.to_string().contains("IAM supports SAML 2.0 only"));
    }

    #[test]
    fn saml2_must_be_a_whole_token_of_protocol_support() {
        let doc = edit(MINIMAL, "urn:oasis:names:tc:SAML:2.0:protocol\"", "urn:oasis:names:tc:SAML:2.0:protocolX\"");
        assert!(matches!(refuse(&doc, after()), MetadataError::NoSaml2Support { .. }));
    }

    #[test]
    fn idp_without_single_sign_on_service_is_refused() {
        let doc = MINIMAL.replace("md:SingleSignOnService", "md:SingleLogoutService");
        let err = refuse(&doc, after());
        assert_eq!(
            err,
            MetadataError::NoSingleSignOnService {
                entity_id: "https://idp.example.com/saml2/idp".to_owned(),
                incomplete: 0
            }
        );
        assert!(err.to_string().contains("no SingleSignOnService"));
    }

    #[test]
    fn single_sign_on_service_without_location_does_not_count() {
        let doc = MINIMAL
            .replace(" Location=\"https://idp.example.com/saml2/sso/redirect\"", "")
            .replace(" Location=\"https://idp.example.com/saml2/sso/post\"", "");
        let err = refuse(&doc, after());
        assert!(matches!(err, MetadataError::NoSingleSignOnService { incomplete: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("2 SingleSignOnService elements lack"));
    }

    #[test]
    fn valid_until_in_the_past_is_refused_with_the_date() {
        let doc = edit(MINIMAL, "entityID=", "validUntil=\"2026-11-01T08:00:00.5+01:00\" entityID=");
        let err = refuse(&doc, after());
        assert_eq!(
            err,
            MetadataError::Expired {
                element: "EntityDescriptor",
                valid_until: ts("2026-11-01T07:00:00.5Z"),
                now: after(),
            }
        );
        assert!(err.to_string().contains("validUntil is 2026-11-01T07:00:00Z"), "{err}");
    }

    #[test]
    fn valid_until_equal_to_now_is_refused() {
        let doc = edit(MINIMAL, "entityID=", "validUntil=\"2026-11-23T00:00:00Z\" entityID=");
        assert!(matches!(refuse(&doc, after()), MetadataError::Expired { .. }));
    }

    #[test]
    fn valid_until_in_the_future_is_accepted_and_reported() {
        let doc = edit(MINIMAL, "entityID=", "validUntil=\"2027-01-31T23:59:59Z\" entityID=");
        let m = validate(doc.as_bytes(), after()).expect("future validUntil");
        assert_eq!(m.valid_until, Some(ts("2027-01-31T23:59:59Z")));
    }

    #[test]
    fn valid_until_on_the_idp_descriptor_counts_too() {
        let doc = edit(MINIMAL, "<md:IDPSSODescriptor ", "<md:IDPSSODescriptor validUntil=\"2026-02-01T00:00:00Z\" ");
        let m = validate(doc.as_bytes(), before()).expect("before the descriptor's validUntil");
        assert_eq!(m.valid_until, Some(ts("2026-02-01T00:00:00Z")));
        let err = refuse(&doc, after());
        assert!(matches!(err, MetadataError::Expired { element: "IDPSSODescriptor", .. }), "{err:?}");
    }

    #[test]
    fn earliest_valid_until_is_reported() {
        let doc = edit(MINIMAL, "entityID=", "validUntil=\"2028-01-01T00:00:00Z\" entityID=");
        let doc = edit(&doc, "<md:IDPSSODescriptor ", "<md:IDPSSODescriptor validUntil=\"2027-06-01T00:00:00Z\" ");
        let m = validate(doc.as_bytes(), after()).expect("both in the future");
        assert_eq!(m.valid_until, Some(ts("2027-06-01T00:00:00Z")));
    }

    #[test]
    fn unparseable_valid_until_is_refused() {
        let doc = edit(MINIMAL, "entityID=", "validUntil=\"next Tuesday\" entityID=");
        let err = refuse(&doc, after());
        assert_eq!(
            err,
            MetadataError::InvalidValidUntil { element: "EntityDescriptor", value: "next Tuesday".to_owned() }
        );
        assert!(err.to_string().contains("not an xs:dateTime"));
    }

    #[test]
    fn own_aggregate_lists_only_idp_entity_ids() {
        let idp = MINIMAL.split_once("?>").expect("declaration").1.replace(&format!(" xmlns:md=\"{MD_NS}\""), "");
        let sp = SP_ONLY
            .split_once("?>")
            .expect("declaration")
            .1
            .replace(&format!("xmlns=\"{MD_NS}\" "), "xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" ");
        let doc = format!(
            "<?xml version=\"1.0\"?>\n<md:EntitiesDescriptor xmlns:md=\"{MD_NS}\" Name=\"urn:example:federation\">\n<md:EntitiesDescriptor>{idp}</md:EntitiesDescriptor>\n{sp}\n</md:EntitiesDescriptor>"
        );
        let err = refuse(&doc, after());
        assert_eq!(
            err,
            MetadataError::Aggregate {
                entity_count: 2,
                idp_entity_ids: vec!["https://idp.example.com/saml2/idp".to_owned()],
            }
        );
        let message = err.to_string();
        assert!(message.contains("Extract that one EntityDescriptor"), "{message}");
    }

    #[test]
    fn root_in_the_wrong_namespace_is_refused_naming_it() {
        let doc = MINIMAL.replace(
            "xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"",
            "xmlns:md=\"urn:oasis:names:tc:SAML:1.0:metadata\"",
        );
        let err = refuse(&doc, after());
        assert_eq!(
            err,
            MetadataError::UnexpectedRoot {
                found: "EntityDescriptor in namespace urn:oasis:names:tc:SAML:1.0:metadata".to_owned()
            }
        );
        assert!(err
            .to_string()
            .contains("root element is EntityDescriptor in namespace urn:oasis:names:tc:SAML:1.0:metadata"));
    }

    #[test]
    fn root_in_no_namespace_is_refused() {
        let doc = EXPIRED_CERT.replacen("xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" ", "", 1);
        let err = refuse(&doc, after());
        assert_eq!(err, MetadataError::UnexpectedRoot { found: "EntityDescriptor in no namespace".to_owned() });
    }

    #[test]
    fn missing_entity_id_is_refused() {
        let doc = edit(MINIMAL, "entityID=\"https://idp.example.com/saml2/idp\"", "entityID=\"  \"");
        let err = refuse(&doc, after());
        assert_eq!(err, MetadataError::MissingEntityId);
        assert!(err.to_string().contains("no entityID"));
    }
}
