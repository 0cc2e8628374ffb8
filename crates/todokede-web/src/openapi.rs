//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json`. Enum values are
//! taken from the domain's closed lists, so the document cannot drift from what is accepted.

use serde_json::{Value, json};
use todokede_domain::*;

fn keys<T: ClosedEnum>() -> Value {
    json!({"type": "string", "enum": T::ALL.iter().map(|v| v.key()).collect::<Vec<_>>(),
           "description": T::ALL.iter().map(|v| format!("{}: {}", v.key(), v.label_ja())).collect::<Vec<_>>().join(" / ")})
}

fn list<T: ClosedEnum>() -> Value {
    json!({"type": "array", "items": keys::<T>()})
}

pub fn document() -> Value {
    let text = json!({"type": "string"});
    let error = json!({"$ref": "#/components/schemas/Error"});
    let err_resp = |d: &str| json!({"description": d, "content": {"application/json": {"schema": error}}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "todokede API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "届出 (reports of computer-virus infections and unauthorized access). Every field but `form` and `description` is optional, as on the paper forms."},
        "paths": {
            "/api/v1/reports": {"post": {
                "summary": "Submit a report (届出)",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 255},
                                "description": "A retry with the same key returns the same tracking number and stores nothing twice."}],
                "requestBody": {"required": true, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Report"}},
                    "multipart/form-data": {"schema": {"type": "object", "required": ["report"], "properties": {
                        "report": {"type": "string", "description": "the Report JSON"},
                        "attachments": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}},
                "responses": {
                    "201": {"description": "Stored durably", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}},
                    "200": {"description": "Replay of an earlier request with the same Idempotency-Key", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}},
                    "400": err_resp("Malformed JSON or multipart"),
                    "403": err_resp("`cross_site`: sent by a web page of another site (Sec-Fetch-Site or Origin); the API is for programs"),
                    "413": err_resp("Body or attachment too large"),
                    "415": err_resp("`unsupported_media_type`: the body is neither `application/json` nor `multipart/form-data`"),
                    "422": err_resp("A field is invalid (see `error.field`), or the Idempotency-Key was used for another body"),
                    "503": err_resp("Store unavailable; nothing was stored. Retry with the same Idempotency-Key.")}}},
            "/api/v1/reports/{tracking_number}": {"get": {
                "summary": "The reporter's view of their own report",
                "security": [{"reporterSecret": []}],
                "parameters": [{"name": "tracking_number", "in": "path", "required": true, "schema": text}],
                "responses": {"200": {"description": "The report", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReporterReport"}}}},
                              "401": err_resp("No secret"), "404": err_resp("Unknown number or wrong secret (indistinguishable)")}}},
            "/api/v1/reports/{tracking_number}/follow-ups": {"post": {
                "summary": "Add a follow-up (続報), JSON `{\"body\": …}` or multipart with a `body` part and attachments",
                "security": [{"reporterSecret": []}],
                "parameters": [{"name": "tracking_number", "in": "path", "required": true, "schema": text}],
                "responses": {"201": {"description": "Stored"}, "403": err_resp("`cross_site`: sent by a web page of another site"),
                              "404": err_resp("Unknown number or wrong secret"),
                              "415": err_resp("`unsupported_media_type`: neither JSON nor multipart")}}}
        },
        "components": {
            "securitySchemes": {"reporterSecret": {"type": "http", "scheme": "bearer", "description": "the `secret` returned at submission"}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                    "code": text, "message": text, "field": {"type": ["string", "null"]}}}}},
                "Receipt": {"type": "object", "required": ["tracking_number", "status_url", "duplicate"], "properties": {
                    "tracking_number": {"type": "string", "example": "7K3MQ-9XD2A"}, "secret": {"type": ["string", "null"]},
                    "status_url": text, "duplicate": {"type": "boolean"}}},
                "Report": {"type": "object", "additionalProperties": false, "required": ["form", "description"], "properties": {
                    "form": keys::<ReportForm>(),
                    "description": {"type": "string", "minLength": 1, "description": "What happened, in the reporter's words"},
                    "language": keys::<Language>(),
                    "reporter": {"type": "object", "additionalProperties": false, "properties": {
                        "kind": keys::<ReporterKind>(), "name": text, "organization": text, "email": {"type": "string", "format": "email"},
                        "phone": text, "address": text}},
                    "discovered_on": {"type": "string", "format": "date"},
                    "discovery": keys::<DiscoveryTrigger>(), "discovery_narrative": text,
                    "damage_status": keys::<DamageStatus>(),
                    "damages": list::<DamageCategory>(), "damage_narrative": text,
                    "causes": list::<CauseCategory>(), "cause_narrative": text,
                    "response_narrative": text,
                    "affected": {"type": "object", "additionalProperties": false, "properties": {
                        "assets": list::<AffectedAsset>(), "deployment": list::<Deployment>(), "os": text,
                        "software": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": text, "version": text}}},
                        "exposed_ports": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 65535}},
                        "internet_connected": keys::<TriState>()}},
                    "virus": {"type": "object", "additionalProperties": false, "properties": {
                        "virus_name": text, "symptoms": text, "detection_count": {"type": "integer", "minimum": 0},
                        "infection_vectors": list::<InfectionVector>()}}}},
                "ReporterReport": {"type": "object", "properties": {
                    "tracking_number": text, "form": {"type": "object"}, "state": {"type": "object"},
                    "received_at": {"type": "string", "format": "date-time"}, "description": text,
                    "attachments": {"type": "array"}, "messages": {"type": "array"}}}
            }
        }
    })
}
