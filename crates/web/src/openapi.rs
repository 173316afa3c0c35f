//! `GET /api/openapi.json`: the integrator API described in OpenAPI 3.1, written by hand next to
//! the routes (no generator crate: a dozen routes, and the document is checked against the
//! router by the test below, so a route cannot be added without its description).

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// The document, as served.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// `GET /api/openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every `/api/v1/...` path the router serves, read from the router's source.
    fn routed_api_paths() -> BTreeSet<String> {
        let source = include_str!("lib.rs");
        source
            .split(".route(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|path| path.starts_with("/api/v1/"))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_document_is_openapi_3_1_json_describing_exactly_the_routed_api_paths() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let described: BTreeSet<String> = doc["paths"].as_object().expect("paths").keys().cloned().collect();
        let routed = routed_api_paths();
        assert!(routed.len() >= 10, "the router's API paths were found: {routed:?}");
        assert_eq!(described, routed, "openapi.json and the router disagree");
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).expect("JSON");
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    fn collect_refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", serde_json::Value::String(s)) => out.push(s.clone()),
                        _ => collect_refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
            _ => {}
        }
    }
}
