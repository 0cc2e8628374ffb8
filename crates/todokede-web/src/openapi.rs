//! The OpenAPI 3.1 document of `/api/v1` (the reporters' and the analysts' routes), served at
//! `/api/v1/openapi.json`; a test checks it against the routes the router registers. Enum values are
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

/// The analysts' paths (`/api/v1/analyst/*`, API tokens).
fn analyst_paths() -> Value {
    let text = json!({"type": "string"});
    let error = json!({"$ref": "#/components/schemas/Error"});
    let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": error}}});
    let report = json!({"description": "The report as it is now; `ETag` is its version",
        "headers": {"ETag": {"schema": {"type": "string"}, "description": "\"v{version}\": send it back as If-Match"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AnalystReport"}}}});
    let tn = json!({"name": "tracking_number", "in": "path", "required": true, "schema": text});
    let if_match = json!({"name": "If-Match", "in": "header", "required": true, "schema": {"type": "string"},
        "description": "The ETag of the version read: a report changed meanwhile answers 412, none 428"});
    let q = |name: &str, schema: Value, d: &str| json!({"name": name, "in": "query", "required": false, "schema": schema, "description": d});
    let filters = vec![
        q("state", keys::<ReportState>(), "状態"),
        q("form", keys::<ReportForm>(), "届出の種類"),
        q("reporter_kind", keys::<ReporterKind>(), "届出者種別"),
        q("category", keys::<CauseCategory>(), "主な被害原因"),
        q("assignee", json!({"type": "string", "format": "email"}), "担当者"),
        q("received_from", json!({"type": "string"}), "届出日 from (date = 00:00 JST, or RFC 3339)"),
        q("received_before", json!({"type": "string"}), "届出日 before"),
        q("limit", json!({"type": "integer", "minimum": 1, "maximum": 200, "default": 50}), "page size"),
    ];
    let mut list_params = filters.clone();
    list_params.push(q("order", json!({"type": "string", "enum": ["newest", "oldest"], "default": "newest"}), "order"));
    list_params.push(q("cursor", text.clone(), "`next_cursor` of the previous page"));
    let mut search_params = vec![json!({"name": "q", "in": "query", "required": true, "schema": text,
        "description": "words (all must occur) or one indicator: IP, CIDR, domain (with subdomains), hash, URL, e-mail"})];
    search_params.extend(filters);
    let security = json!([{"apiToken": []}]);
    let write = |summary: &str, schema: &str| {
        json!({"post": {
        "summary": summary, "security": security, "parameters": [tn, if_match],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}},
        "responses": {"200": report, "400": err("Malformed JSON or If-Match"), "401": err("No valid API token"),
                      "403": err("The token lacks the write scope"), "404": err("No such report"),
                      "409": err("Not possible in the report's state"), "412": err("The report changed since the If-Match version"),
                      "422": err("A field is invalid (`error.field`)"), "428": err("If-Match missing"), "503": err("Store unavailable; retry")}}})
    };
    json!({
        "/api/v1/analyst/me": {"get": {"summary": "The token's account and scopes", "security": security,
            "responses": {"200": {"description": "Who the token acts as", "content": {"application/json": {"schema": {"type": "object",
                "properties": {"email": text, "role": text, "token_id": {"type": "integer"}, "scopes": {"type": "array", "items": text}}}}}},
                "401": err("No valid API token")}}},
        "/api/v1/analyst/reports": {"get": {"summary": "The queue, filtered, in pages (keyset cursor)", "security": security,
            "parameters": list_params,
            "responses": {"200": {"description": "A page", "content": {"application/json": {"schema": {"type": "object", "properties": {
                "reports": {"type": "array", "items": {"$ref": "#/components/schemas/ReportSummary"}},
                "next_cursor": {"type": ["string", "null"]}}}}}},
                "401": err("No valid API token"), "403": err("The token lacks the read scope"), "422": err("A parameter is invalid")}}},
        "/api/v1/analyst/reports/{tracking_number}": {"get": {"summary": "A report with its analysis, classification, links and timeline",
            "security": security, "parameters": [tn],
            "responses": {"200": report, "401": err("No valid API token"), "403": err("The token lacks the read scope"), "404": err("No such report")}}},
        "/api/v1/analyst/reports/{tracking_number}/state": write("Change the state (状態)", "StateChange"),
        "/api/v1/analyst/reports/{tracking_number}/assignee": write("Assign to an analyst, or to nobody", "Assignment"),
        "/api/v1/analyst/reports/{tracking_number}/classification": write("Confirm the classification (absent dimensions keep the automatic value)", "ClassificationChange"),
        "/api/v1/analyst/reports/{tracking_number}/links": write("Link to another report (one incident)", "Link"),
        "/api/v1/analyst/reports/{tracking_number}/replies": write("Reply to the reporter (timeline and mail)", "Text"),
        "/api/v1/analyst/reports/{tracking_number}/notes": write("Add an internal note", "Text"),
        "/api/v1/analyst/reports/{tracking_number}/sharing": write("Approve for sharing under a TLP 2.0 level (null withdraws)", "Sharing"),
        "/api/v1/analyst/export/stix": {"get": {"summary": "STIX 2.1 bundle of the approved, anonymised reports of one scope (export scope)",
            "security": security, "parameters": [
                q("report", text.clone(), "a tracking number"), q("incident", text.clone(), "a tracking number: its incident"),
                q("period", text.clone(), "2019H2, 2019, 2019-08, A..B"),
                q("max_tlp", json!({"type": "string", "enum": ["clear", "green", "amber", "amber+strict", "red"], "default": "amber+strict"}), "most restrictive TLP exported")],
            "responses": {"200": {"description": "The bundle: the same data gives the same bytes",
                "content": {"application/stix+json;version=2.1": {"schema": {"type": "object"}}}},
                "401": err("No valid API token"), "403": err("The token lacks the export scope"),
                "404": err("Nothing in the scope is approved for sharing"), "422": err("A parameter is invalid")}}},
        "/api/v1/analyst/search": {"get": {"summary": "Search by words or an indicator", "security": security, "parameters": search_params,
            "responses": {"200": {"description": "Hits, newest first", "content": {"application/json": {"schema": {"type": "object", "properties": {
                "hits": {"type": "array", "items": {"type": "object", "properties": {
                    "report": {"$ref": "#/components/schemas/ReportSummary"},
                    "matched": {"type": ["object", "null"], "properties": {"kind": text, "value": text, "common": {"type": "boolean"}}}}}}}}}}},
                "401": err("No valid API token"), "403": err("The token lacks the read scope"), "422": err("A parameter is invalid")}}},
        "/api/v1/analyst/statistics": {"get": {"summary": "届出状況 of a period (as `todokede stats --json`)", "security": security,
            "parameters": [json!({"name": "period", "in": "query", "required": true, "schema": text, "description": "2019H2, 2019, 2019Q3, 2019-08, A..B"}),
                           q("threshold", json!({"type": "integer", "minimum": 1, "default": 3}), "counts below are shown as <N")],
            "responses": {"200": {"description": "The statistics", "content": {"application/json": {"schema": {"type": "object"}}}},
                "401": err("No valid API token"), "403": err("The token lacks the read scope"), "422": err("A parameter is invalid")}}},
    })
}

/// The analysts' schemas.
fn analyst_schemas() -> Value {
    let text = json!({"type": "string"});
    let labelled = json!({"type": "object", "properties": {"key": text, "label_ja": text, "label_en": text}});
    let strings = json!({"type": "array", "items": text});
    json!({
        "ReportSummary": {"type": "object", "properties": {
            "tracking_number": text, "form": labelled, "state": labelled, "channel": text,
            "received_at": {"type": "string", "format": "date-time"}, "reporter_kind": {"type": ["string", "null"]},
            "damage_status": text, "headline": text, "url": text}},
        "AnalystReport": {"type": "object", "properties": {
            "tracking_number": text, "version": {"type": "integer"}, "form": labelled, "state": labelled,
            "allowed_states": strings, "channel": text, "received_at": {"type": "string", "format": "date-time"},
            "assignee": {"type": ["string", "null"]}, "content": {"type": "object"}, "attachments": {"type": "array"},
            "intake_notes": strings, "analysis": {"type": ["object", "null"], "description": "as `todokede analyse --json`"},
            "classification": {"type": ["object", "null"]}, "links": strings,
            "timeline": {"type": "array", "items": {"type": "object", "properties": {
                "kind": {"type": "string", "enum": ["state", "follow_up", "note", "reply", "assign", "classify", "link"]},
                "at": text,
                "by": {"type": ["string", "null"], "description": "an analyst's address; a state change may be `reporter` or `system`"},
                "body": text, "from": text, "to": {"type": ["string", "null"]},
                "primary_cause": {"type": ["string", "null"]}, "other": text}}}}},
        "StateChange": {"type": "object", "additionalProperties": false, "required": ["to"], "properties": {"to": keys::<ReportState>()}},
        "Assignment": {"type": "object", "additionalProperties": false, "required": ["assignee"],
            "properties": {"assignee": {"type": ["string", "null"], "format": "email"}}},
        "ClassificationChange": {"type": "object", "additionalProperties": false, "properties": {
            "causes": list::<CauseCategory>(), "damages": list::<DamageCategory>(), "attack_types": list::<AttackType>(),
            "techniques": strings, "has_damage": {"type": ["boolean", "null"]}}},
        "Sharing": {"type": "object", "additionalProperties": false, "required": ["tlp"], "properties": {
            "tlp": {"type": ["string", "null"], "enum": ["clear", "green", "amber", "amber+strict", "red", null]}}},
        "Link": {"type": "object", "additionalProperties": false, "required": ["other"], "properties": {"other": text}},
        "Text": {"type": "object", "additionalProperties": false, "required": ["body"], "properties": {"body": {"type": "string", "minLength": 1}}},
    })
}

pub fn document() -> Value {
    let mut doc = reporter_document();
    if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), analyst_paths()) {
        paths.extend(more);
    }
    if let (Some(schemas), Value::Object(more)) = (doc["components"]["schemas"].as_object_mut(), analyst_schemas()) {
        schemas.extend(more);
    }
    doc["paths"]["/api/v1/openapi.json"] = json!({"get": {"summary": "This document",
        "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}});
    doc["components"]["securitySchemes"]["apiToken"] = json!({"type": "http", "scheme": "bearer",
        "description": "an API token (`tdk_…`) from the account page or `todokede token create`; scopes read, write (includes read), export"});
    doc
}

fn reporter_document() -> Value {
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
                    "429": err_resp("`rate_limited`: more requests from this address than the limit (300 in 10 minutes by default); see Retry-After"),
                    "503": err_resp("Store unavailable; nothing was stored. Retry with the same Idempotency-Key.")}}},
            "/api/v1/reports/{tracking_number}": {"get": {
                "summary": "The reporter's view of their own report",
                "security": [{"reporterSecret": []}],
                "parameters": [{"name": "tracking_number", "in": "path", "required": true, "schema": text}],
                "responses": {"200": {"description": "The report", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReporterReport"}}}},
                              "401": err_resp("No secret"), "404": err_resp("Unknown number or wrong secret (indistinguishable)"),
                              "429": err_resp("`rate_limited`, or `too_many_attempts`: 20 wrong secrets from this address in 15 minutes")}}},
            "/api/v1/reports/{tracking_number}/follow-ups": {"post": {
                "summary": "Add a follow-up (続報), JSON `{\"body\": …}` or multipart with a `body` part and attachments",
                "security": [{"reporterSecret": []}],
                "parameters": [{"name": "tracking_number", "in": "path", "required": true, "schema": text}],
                "responses": {"201": {"description": "Stored"}, "403": err_resp("`cross_site`: sent by a web page of another site"),
                              "404": err_resp("Unknown number or wrong secret"),
                              "429": err_resp("`rate_limited`, or `too_many_attempts`: 20 wrong secrets from this address in 15 minutes"),
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
