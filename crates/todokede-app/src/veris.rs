//! VERIS import (`todokede import --format veris`): incident records of the VERIS Community
//! Schema as VCDB publishes them (schema 1.3.x and 1.4.x, one record or an array per file) →
//! submissions, with the categories mapped onto the project's keys (DOMAIN.md §2.6) and the
//! original record kept as an attachment.
//!
//! Every record is validated first. 1.4.x against the vendored VERIS 1.4.1 schema
//! (`data/veris/verisc-merged.json`, unchanged); 1.3.x against the 1.3 schema derived from it by
//! the differences listed in [`schema_1_3`] (each shown by an upstream rule test or example
//! record). The validator is the draft-04 subset these schemas use ([`Validator`]); a schema
//! keyword it does not know is refused when the schema is compiled, never ignored, and its
//! verdicts are checked against Python's `jsonschema` in the tests.
//!
//! The same record imported twice is stored once: its dedup key is the source's record id
//! (`source_id` and `incident_id`), so a corrected copy of a VCDB record does not become a second
//! report either.

use regex::Regex;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;
use todokede_domain::*;

/// The VERIS 1.4.1 schema (enumerations inlined), vendored verbatim.
const SCHEMA_1_4_1: &str = include_str!("../data/veris/verisc-merged.json");

/// Which schema a record is checked against, from its `schema_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaVersion {
    /// `1.3` / `1.3.0`, the version of upstream's rule tests.
    V1_3_0,
    /// 1.3.1 – 1.3.7.
    V1_3,
    V1_4,
}

impl SchemaVersion {
    /// `1.3`, `1.3.0` → 1.3.0; `1.3.x` → 1.3; `1.4`, `1.4.x` → 1.4.
    pub fn of(schema_version: &str) -> Option<SchemaVersion> {
        let v = schema_version.trim();
        let minor = |m: &str| v == m || v.strip_prefix(m).is_some_and(|rest| rest.starts_with('.'));
        if v == "1.3" || v == "1.3.0" {
            Some(SchemaVersion::V1_3_0)
        } else if minor("1.3") {
            Some(SchemaVersion::V1_3)
        } else if minor("1.4") {
            Some(SchemaVersion::V1_4)
        } else {
            None
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            SchemaVersion::V1_3_0 => "1.3.0",
            SchemaVersion::V1_3 => "1.3.x",
            SchemaVersion::V1_4 => "1.4.1",
        }
    }
    /// The schema as JSON (for the tests that run the reference validator on it too).
    pub fn schema(self) -> &'static Value {
        &self.validator().schema
    }
    fn validator(self) -> &'static Validator {
        static V130: OnceLock<Validator> = OnceLock::new();
        static V13: OnceLock<Validator> = OnceLock::new();
        static V14: OnceLock<Validator> = OnceLock::new();
        let base = || serde_json::from_str::<Value>(SCHEMA_1_4_1).expect("the vendored VERIS schema is JSON");
        match self {
            SchemaVersion::V1_3_0 => {
                V130.get_or_init(|| Validator::new(schema_1_3_0(schema_1_3(base()))).expect("VERIS 1.3.0 compiles"))
            }
            SchemaVersion::V1_3 => V13.get_or_init(|| Validator::new(schema_1_3(base())).expect("VERIS 1.3 compiles")),
            SchemaVersion::V1_4 => V14.get_or_init(|| Validator::new(base()).expect("VERIS 1.4.1 compiles")),
        }
    }
}

/// The VERIS 1.3 schema: 1.4.1 with what 1.3 allowed and 1.4 no longer does (or did not yet
/// require). Each change names its evidence in `../shared/data/veris` (the upstream rule tests
/// are written for 1.3; the example records are 1.3.4–1.4.0).
pub fn schema_1_3(mut s: Value) -> Value {
    fn at<'a>(s: &'a mut Value, pointer: &str) -> &'a mut Value {
        s.pointer_mut(pointer).unwrap_or_else(|| panic!("VERIS 1.4.1 schema has {pointer}"))
    }
    fn unrequire(s: &mut Value, pointer: &str, name: &str) {
        if let Some(r) = at(s, pointer).get_mut("required").and_then(Value::as_array_mut) {
            r.retain(|x| x != name);
        }
    }
    // An array of values that 1.3 also took as one bare value (asset.cloud "NA" in the 1.3.4
    // example, victim.country "US" and asset.cloud "Other" in the rule tests).
    fn or_single(s: &mut Value, pointer: &str) {
        let node = at(s, pointer);
        let one = node["items"].clone();
        *node = json!({"anyOf": [node.clone(), one]});
    }
    fn add_enum(s: &mut Value, pointer: &str, values: &[&str]) {
        let e = at(s, pointer)["enum"].as_array_mut().expect("an enum");
        e.extend(values.iter().map(|v| json!(v)));
    }
    // Not required before 1.4: summary (no rule test has one), asset.cloud and asset.assets
    // (asset.assets_missing passes), victim.government (valid_victim has none).
    unrequire(&mut s, "", "summary");
    unrequire(&mut s, "/properties/asset", "cloud");
    unrequire(&mut s, "/properties/asset", "assets");
    unrequire(&mut s, "/properties/victim", "government");
    // discovery_method was one string, "Int - …", "Ext - …", "Prt - …" or "Unknown".
    let dm = at(&mut s, "/properties/discovery_method");
    *dm = json!({"anyOf": [dm.clone(), {"type": "string", "pattern": "^((Int|Ext|Prt) - .+|Unknown|Other)$"}]});
    for p in [
        "/properties/asset/properties/cloud",
        "/properties/asset/properties/ownership",
        "/properties/asset/properties/hosting",
        "/properties/asset/properties/management",
        "/properties/victim/properties/country",
        "/properties/victim/properties/region",
        "/properties/actor/properties/external/properties/region",
        "/properties/actor/properties/partner/properties/region",
    ] {
        or_single(&mut s, p);
    }
    // asset.governance (valid_asset: ["Personally owned"]; governance_empty / _duplicate fail).
    at(&mut s, "/properties/asset/properties")["governance"] = json!({
        "type": "array", "minItems": 1, "uniqueItems": true, "items": {"type": "string", "minLength": 1}});
    // action.Unknown was capitalised (every rule test's base record).
    let unknown = at(&mut s, "/properties/action/properties/unknown").clone();
    at(&mut s, "/properties/action/properties")["Unknown"] = unknown;
    // A value 1.4 dropped: error "Omission" (the 1.3.6 example).
    add_enum(&mut s, "/properties/action/properties/error/properties/variety/items", &["Omission"]);
    // Actor names: at least one (actor.external.name_empty fails).
    at(&mut s, "/properties/actor/properties/external/properties/name")["minItems"] = json!(1);
    // Times as "16:20" (valid_timeline) beside 1.4's "05:45:00 PM".
    at(&mut s, "/properties/timeline/properties/incident/properties/time")["pattern"] =
        json!("^(([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?|(0[1-9]|1[0-2]):[0-5][0-9]:[0-5][0-9] [AP]M)$");
    // Any two-digit NAICS sector (valid_victim.industry_two: "12"), as 1.4 still has for partners.
    at(&mut s, "/properties/victim/properties/industry")["pattern"] = json!("\\d{2}-?\\d{0,4}");
    s["description"] = json!("VERIS Community Schema 1.3 (derived from 1.4.1 by todokede)");
    s
}

/// VERIS 1.3.0, the version the upstream rule tests are written for: 1.3.x, and an external
/// actor needs a country (actor.external.country_missing fails; the 1.3.7 example has none);
/// an incident year is at most 2014, the year 1.3.0 came out (timeline.incident.year_high: 2020
/// fails; the tests' records are of 2014).
pub fn schema_1_3_0(mut s: Value) -> Value {
    let external = s.pointer_mut("/properties/actor/properties/external").expect("VERIS has external actors");
    external["required"].as_array_mut().expect("a required list").push(json!("country"));
    s["properties"]["timeline"]["properties"]["incident"]["properties"]["year"]["maximum"] = json!(2014);
    s["description"] = json!("VERIS Community Schema 1.3.0 (derived from 1.4.1 by todokede)");
    s
}

/// One reason a record does not match its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where in the record (`action.hacking.variety`, `` for the record itself).
    pub path: String,
    /// Which rule of the schema, as a JSON pointer (`#/properties/action/…/uniqueItems`).
    pub schema_path: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "(record)" } else { &self.path };
        write!(f, "{path}: {} (schema {})", self.message, self.schema_path)
    }
}

/// The draft-04 keywords the VERIS schemas use, compiled once (patterns included).
#[derive(Debug)]
pub struct Validator {
    schema: Value,
    patterns: BTreeMap<String, Regex>,
}

/// Assertion keywords of draft-04 that this validator does not implement: a schema using one
/// is refused rather than half-checked.
const UNSUPPORTED: &[&str] = &[
    "$ref",
    "allOf",
    "oneOf",
    "not",
    "dependencies",
    "patternProperties",
    "additionalItems",
    "maxProperties",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "format",
];

impl Validator {
    pub fn new(schema: Value) -> Result<Validator, String> {
        fn walk(s: &Value, at: &str, patterns: &mut BTreeMap<String, Regex>) -> Result<(), String> {
            let Some(m) = s.as_object() else { return Ok(()) };
            for (k, v) in m {
                if UNSUPPORTED.contains(&k.as_str()) {
                    return Err(format!("{at}/{k}: keyword not supported"));
                }
                match k.as_str() {
                    "pattern" => {
                        let p = v.as_str().ok_or(format!("{at}/pattern: not a string"))?;
                        // ECMA 262's \d is ASCII; the regex crate's is Unicode.
                        let re = Regex::new(&p.replace("\\d", "[0-9]")).map_err(|e| format!("{at}/pattern: {e}"))?;
                        patterns.insert(p.to_owned(), re);
                    }
                    "properties" => {
                        for (name, sub) in v.as_object().ok_or(format!("{at}/properties: not an object"))? {
                            walk(sub, &format!("{at}/properties/{name}"), patterns)?;
                        }
                    }
                    "items" | "additionalProperties" => walk(v, &format!("{at}/{k}"), patterns)?,
                    "anyOf" => {
                        for (i, sub) in v.as_array().ok_or(format!("{at}/anyOf: not an array"))?.iter().enumerate() {
                            walk(sub, &format!("{at}/anyOf/{i}"), patterns)?;
                        }
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        let mut patterns = BTreeMap::new();
        walk(&schema, "#", &mut patterns)?;
        Ok(Validator { schema, patterns })
    }

    /// Every violation of `instance` (empty: valid).
    pub fn validate(&self, instance: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        self.check(&self.schema, instance, &mut Vec::new(), "#", &mut out);
        out
    }

    fn check(&self, s: &Value, v: &Value, path: &mut Vec<String>, at: &str, out: &mut Vec<Violation>) {
        let Some(s) = s.as_object() else { return };
        let fail = |out: &mut Vec<Violation>, path: &[String], keyword: &str, message: String| {
            out.push(Violation { path: path.join("."), schema_path: format!("{at}/{keyword}"), message })
        };
        let short = |v: &Value| {
            let t = v.to_string();
            if t.chars().count() > 60 { format!("{}…", t.chars().take(60).collect::<String>()) } else { t }
        };
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(t) => vec![t.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !types.iter().any(|t| is_type(v, t)) {
                return fail(out, path, "type", format!("{} is not of type {}", short(v), types.join(" or ")));
            }
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array)
            && !e.contains(v)
        {
            fail(out, path, "enum", format!("{} is not one of the schema's values", short(v)));
        }
        if let Some(branches) = s.get("anyOf").and_then(Value::as_array) {
            let results: Vec<Vec<Violation>> = branches
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let mut o = Vec::new();
                    self.check(b, v, path, &format!("{at}/anyOf/{i}"), &mut o);
                    o
                })
                .collect();
            if results.iter().all(|r| !r.is_empty()) {
                // The current form's reasons are the useful ones.
                let first = &results[0][0];
                fail(out, path, "anyOf", format!("matches none of the accepted forms ({first})"));
            }
        }
        match v {
            Value::Object(m) => {
                if let Some(n) = s.get("minProperties").and_then(Value::as_u64)
                    && (m.len() as u64) < n
                {
                    fail(out, path, "minProperties", format!("{} should be non-empty", short(v)));
                }
                for r in s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                    if !m.contains_key(r) {
                        fail(out, path, "required", format!("'{r}' is a required property"));
                    }
                }
                let props = s.get("properties").and_then(Value::as_object);
                for (k, child) in m {
                    path.push(k.clone());
                    match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                        (Some(sub), _) => self.check(sub, child, path, &format!("{at}/properties/{k}"), out),
                        (None, Some(Value::Bool(false))) => {
                            path.pop();
                            fail(out, path, "additionalProperties", format!("'{k}' is not a recognised field"));
                            path.push(k.clone());
                        }
                        (None, Some(sub @ Value::Object(_))) => {
                            self.check(sub, child, path, &format!("{at}/additionalProperties"), out)
                        }
                        _ => {}
                    }
                    path.pop();
                }
            }
            Value::Array(a) => {
                if let Some(n) = s.get("minItems").and_then(Value::as_u64)
                    && (a.len() as u64) < n
                {
                    fail(out, path, "minItems", format!("{} should be non-empty", short(v)));
                }
                if let Some(n) = s.get("maxItems").and_then(Value::as_u64)
                    && (a.len() as u64) > n
                {
                    fail(out, path, "maxItems", format!("{} has more than {n} items", short(v)));
                }
                if s.get("uniqueItems") == Some(&Value::Bool(true))
                    && a.iter().enumerate().any(|(i, x)| a[..i].contains(x))
                {
                    fail(out, path, "uniqueItems", format!("{} has duplicate items", short(v)));
                }
                if let Some(items) = s.get("items") {
                    for (i, x) in a.iter().enumerate() {
                        path.push(i.to_string());
                        self.check(items, x, path, &format!("{at}/items"), out);
                        path.pop();
                    }
                }
            }
            Value::String(t) => {
                let len = t.chars().count() as u64;
                if let Some(n) = s.get("minLength").and_then(Value::as_u64)
                    && len < n
                {
                    fail(out, path, "minLength", format!("{} is too short", short(v)));
                }
                if let Some(n) = s.get("maxLength").and_then(Value::as_u64)
                    && len > n
                {
                    fail(out, path, "maxLength", format!("{} is too long", short(v)));
                }
                if let Some(p) = s.get("pattern").and_then(Value::as_str)
                    && !self.patterns[p].is_match(t)
                {
                    fail(out, path, "pattern", format!("{} does not match {p}", short(v)));
                }
            }
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if let Some(min) = s.get("minimum").and_then(Value::as_f64)
                    && x < min
                {
                    fail(out, path, "minimum", format!("{n} is less than the minimum of {min}"));
                }
                if let Some(max) = s.get("maximum").and_then(Value::as_f64)
                    && x > max
                {
                    fail(out, path, "maximum", format!("{n} is greater than the maximum of {max}"));
                }
            }
            _ => {}
        }
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

/// Why a record is not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerisError {
    NotJson(String),
    NotARecord,
    UnsupportedVersion(String),
    Invalid { version: SchemaVersion, violations: Vec<Violation> },
}

impl fmt::Display for VerisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerisError::NotJson(e) => write!(f, "JSON として読めません / not JSON: {e}"),
            VerisError::NotARecord => write!(f, "VERIS の記録ではありません / not a VERIS record (not a JSON object)"),
            VerisError::UnsupportedVersion(v) => write!(
                f,
                "schema_version `{v}` には対応していません (1.3.x, 1.4.x) / schema_version `{v}` is not supported (1.3.x, 1.4.x)"
            ),
            VerisError::Invalid { version, violations } => {
                write!(
                    f,
                    "VERIS {} スキーマに合いません / not valid under the VERIS {} schema: ",
                    version.label(),
                    version.label()
                )?;
                let shown: Vec<String> = violations.iter().take(10).map(|v| v.to_string()).collect();
                write!(f, "{}", shown.join("; "))?;
                if violations.len() > 10 {
                    write!(f, "; and {} more", violations.len() - 10)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for VerisError {}

/// What a record was mapped to (DOMAIN.md §2.6), each key with the VERIS values that gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    pub causes: Vec<(CauseCategory, String)>,
    pub damages: Vec<(DamageCategory, String)>,
    pub attack_types: Vec<(AttackType, String)>,
}

/// One imported record.
#[derive(Debug, Clone)]
pub struct Record {
    pub version: SchemaVersion,
    /// `source_id/incident_id`, the dedup key.
    pub source_key: String,
    pub mapping: Mapping,
    pub submission: Submission,
}

/// The records of one file (an object, or an array of them): each imported or refused on its own.
pub fn records(bytes: &[u8]) -> Result<Vec<Result<Record, VerisError>>, VerisError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| VerisError::NotJson(e.to_string()))?;
    Ok(match value {
        Value::Array(items) => items
            .into_iter()
            .map(|item| {
                let raw = serde_json::to_vec_pretty(&item).expect("JSON values serialise");
                record(item, raw)
            })
            .collect(),
        v => vec![record(v, bytes.to_vec())],
    })
}

/// Validate and map one record; `raw` is kept as received, as the report's raw input and as
/// an attachment.
pub fn record(v: Value, raw: Vec<u8>) -> Result<Record, VerisError> {
    if !v.is_object() {
        return Err(VerisError::NotARecord);
    }
    let version = match v.get("schema_version").and_then(Value::as_str) {
        // Missing or not a string: the current schema says why.
        None => SchemaVersion::V1_4,
        Some(s) => SchemaVersion::of(s).ok_or_else(|| VerisError::UnsupportedVersion(s.to_owned()))?,
    };
    let violations = version.validator().validate(&v);
    if !violations.is_empty() {
        return Err(VerisError::Invalid { version, violations });
    }
    let mapping = map(&v);
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::trim).filter(|x| !x.is_empty());
    let incident_id = s("/incident_id").unwrap_or("");
    let source_key = format!("{}/{incident_id}", s("/source_id").unwrap_or("-"));
    let content = content(&v, &mapping, &source_key);
    let declared = s("/schema_version").unwrap_or("?");
    let mut notes = vec![format!(
        "VERIS {declared} の記録から取込み (スキーマ {} で検証済み、元の記録は添付) / imported from a VERIS {declared} record (validated against the {} schema; the original is attached): {source_key}",
        version.label(),
        version.label()
    )];
    let line = |what: &str, keys: Vec<(&str, &str)>| {
        if keys.is_empty() {
            return None;
        }
        let parts: Vec<String> = keys.into_iter().map(|(k, from)| format!("{k} ← {from}")).collect();
        Some(format!("VERIS → {what}: {}", parts.join("; ")))
    };
    notes.extend(line("被害原因 / causes", mapping.causes.iter().map(|(k, f)| (k.key(), f.as_str())).collect()));
    notes.extend(line("被害内容 / damages", mapping.damages.iter().map(|(k, f)| (k.key(), f.as_str())).collect()));
    notes.extend(line(
        "攻撃行為 / attack types",
        mapping.attack_types.iter().map(|(k, f)| (k.key(), f.as_str())).collect(),
    ));
    let safe_id: String =
        incident_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(80).collect();
    let name = if safe_id.is_empty() { "veris-record.json".to_owned() } else { format!("veris-{safe_id}.json") };
    let submission = Submission {
        content,
        channel: Channel::Import,
        attachments: vec![Attachment::new(&name, "application/json", raw.clone())],
        raw: RawInput { content_type: "application/json".into(), bytes: raw },
        dedup: Some(DedupKey::SourceRecord(format!("veris:{source_key}"))),
        received_at: None,
        intake_notes: notes,
    };
    Ok(Record { version, source_key, mapping, submission })
}

/// A field that is one string or an array of strings (1.3 took both for some).
fn strings<'a>(v: &'a Value, pointer: &str) -> Vec<&'a str> {
    match v.pointer(pointer) {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// DOMAIN.md §2.6 read backwards: the VERIS values that stand for each project key.
pub fn map(v: &Value) -> Mapping {
    let hacking = strings(v, "/action/hacking/variety");
    let vectors = strings(v, "/action/hacking/vector");
    let social = strings(v, "/action/social/variety");
    let malware = strings(v, "/action/malware/variety");
    let errors = strings(v, "/action/error/variety");
    let integrity = strings(v, "/attribute/integrity/variety");
    let availability = strings(v, "/attribute/availability/variety");
    let disclosure = v.pointer("/attribute/confidentiality/data_disclosure").and_then(Value::as_str);
    let mut m = Mapping::default();
    let from = |field: &str, value: &str| format!("{field} {value}");
    let cause = |m: &mut Mapping, k: CauseCategory, why: String| {
        if !m.causes.iter().any(|(c, _)| *c == k) {
            m.causes.push((k, why));
        }
    };
    let phished = social.contains(&"Phishing");
    // Primary first: what opened the door, in the order DOMAIN.md lists the causes.
    for (value, key) in [
        ("Brute force", CauseCategory::WeakCredentials),
        ("Exploit misconfig", CauseCategory::MissingAccessControl),
        ("Exploit vuln", CauseCategory::UnpatchedSoftware),
        ("SQLi", CauseCategory::CustomCodeVulnerability),
    ] {
        if hacking.contains(&value) {
            cause(&mut m, key, from("action.hacking.variety", value));
        }
    }
    if errors.contains(&"Misconfiguration") {
        cause(&mut m, CauseCategory::MissingAccessControl, from("action.error.variety", "Misconfiguration"));
    }
    if errors.contains(&"Programming error") {
        cause(&mut m, CauseCategory::CustomCodeVulnerability, from("action.error.variety", "Programming error"));
    }
    if phished {
        cause(&mut m, CauseCategory::Phishing, from("action.social.variety", "Phishing"));
    } else if hacking.contains(&"Use of stolen creds") {
        // Credentials stolen elsewhere and replayed; phishing for them is the case above.
        cause(&mut m, CauseCategory::CredentialReuse, from("action.hacking.variety", "Use of stolen creds"));
    }
    if vectors.contains(&"Partner") {
        cause(&mut m, CauseCategory::ThirdParty, from("action.hacking.vector", "Partner"));
    }
    let security_incident = v.get("security_incident").and_then(Value::as_str).unwrap_or("");
    let attempt = matches!(security_incident, "Near miss" | "False positive");
    if m.causes.is_empty() {
        if attempt {
            cause(&mut m, CauseCategory::NotApplicable, from("security_incident", security_incident));
        } else {
            cause(&mut m, CauseCategory::Unknown, "no VERIS variety that names a cause".into());
        }
    }
    let damage = |m: &mut Mapping, k: DamageCategory, why: String| {
        if !m.damages.iter().any(|(d, _)| *d == k) {
            m.damages.push((k, why));
        }
    };
    if matches!(disclosure, Some("Yes" | "Potentially")) {
        damage(
            &mut m,
            DamageCategory::InformationLeak,
            from("attribute.confidentiality.data_disclosure", disclosure.unwrap_or("")),
        );
    }
    for value in ["Defacement", "Modify data", "Modify configuration"] {
        if integrity.contains(&value) {
            damage(&mut m, DamageCategory::Tampering, from("attribute.integrity.variety", value));
        }
    }
    for value in ["Backdoor", "Backdoor or C2"] {
        if malware.contains(&value) {
            damage(&mut m, DamageCategory::MalwarePlaced, from("action.malware.variety", value));
        }
    }
    if integrity.contains(&"Software installation") && !malware.contains(&"Ransomware") {
        damage(&mut m, DamageCategory::MalwarePlaced, from("attribute.integrity.variety", "Software installation"));
    }
    if malware.contains(&"Worm") {
        damage(&mut m, DamageCategory::MalwareInfection, from("action.malware.variety", "Worm"));
    }
    if malware.contains(&"Ransomware") {
        damage(&mut m, DamageCategory::Ransomware, from("action.malware.variety", "Ransomware"));
    }
    if social.contains(&"Extortion") {
        damage(&mut m, DamageCategory::DataDestructionExtortion, from("action.social.variety", "Extortion"));
    }
    if availability.contains(&"Destruction") {
        damage(&mut m, DamageCategory::DataDestructionExtortion, from("attribute.availability.variety", "Destruction"));
    }
    if integrity.contains(&"Repurpose") {
        damage(&mut m, DamageCategory::SteppingStone, from("attribute.integrity.variety", "Repurpose"));
    }
    if social.contains(&"Spam") {
        damage(&mut m, DamageCategory::SteppingStone, from("action.social.variety", "Spam"));
    }
    if hacking.contains(&"Use of stolen creds") {
        damage(&mut m, DamageCategory::AccountTakeover, from("action.hacking.variety", "Use of stolen creds"));
    }
    if integrity.contains(&"Fraudulent transaction") {
        damage(&mut m, DamageCategory::FraudulentUse, from("attribute.integrity.variety", "Fraudulent transaction"));
    }
    for value in ["Interruption", "Degradation"] {
        if availability.contains(&value) {
            damage(&mut m, DamageCategory::ServiceDisruption, from("attribute.availability.variety", value));
        }
    }
    if m.damages.is_empty() && attempt {
        damage(&mut m, DamageCategory::None, from("security_incident", security_incident));
    }
    let attack = |m: &mut Mapping, k: AttackType, why: String| {
        if !m.attack_types.iter().any(|(a, _)| *a == k) {
            m.attack_types.push((k, why));
        }
    };
    if v.pointer("/action/hacking").is_some() {
        attack(&mut m, AttackType::Intrusion, "action.hacking".into());
    }
    if hacking.contains(&"Use of stolen creds") {
        attack(&mut m, AttackType::Impersonation, from("action.hacking.variety", "Use of stolen creds"));
    }
    if hacking.contains(&"DoS") || malware.contains(&"DoS") {
        attack(&mut m, AttackType::Dos, "action.*.variety DoS".into());
    }
    if social.contains(&"Spam") || malware.contains(&"Spam") {
        attack(&mut m, AttackType::SpamMail, "action.*.variety Spam".into());
    }
    if integrity.contains(&"Repurpose") {
        attack(&mut m, AttackType::SteppingStone, from("attribute.integrity.variety", "Repurpose"));
    }
    if malware.contains(&"Worm") {
        attack(&mut m, AttackType::AutomatedWorm, from("action.malware.variety", "Worm"));
    }
    for value in ["Backdoor", "Backdoor or C2"] {
        if malware.contains(&value) || hacking.contains(&value) {
            attack(&mut m, AttackType::BackdoorCreation, format!("action.*.variety {value}"));
        }
    }
    m
}

/// The report's content: the summary as the description, the victim as the reporter (so the
/// anonymiser treats its name as an identity), assets, the mapped categories.
fn content(v: &Value, m: &Mapping, source_key: &str) -> ReportContent {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::trim).filter(|x| !x.is_empty());
    let mut description = s("/summary").unwrap_or("(VERIS record without a summary)").to_owned();
    if let Some(r) = s("/reference") {
        description.push_str(&format!("\n\n参照 / reference: {r}"));
    }
    let iocs: Vec<String> = v
        .get("ioc")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| {
            let ind = i.get("indicator").and_then(Value::as_str)?.trim();
            let comment = i.get("comment").and_then(Value::as_str).map(str::trim).unwrap_or("");
            Some(if comment.is_empty() { ind.to_owned() } else { format!("{ind} ({comment})") })
        })
        .collect();
    if !iocs.is_empty() {
        description.push_str(&format!("\n\n指標 / indicators:\n{}", iocs.join("\n")));
    }
    let description: String = description.chars().take(submission::MAX_TEXT_CHARS).collect();
    let has_malware_only = v.pointer("/action/malware").is_some()
        && v.pointer("/action/hacking").is_none()
        && v.pointer("/action/social").is_none();
    let form = if has_malware_only { ReportForm::Virus } else { ReportForm::UnauthorizedAccess };
    let security_incident = s("/security_incident").unwrap_or("");
    let damages: Vec<DamageCategory> = m.damages.iter().map(|(d, _)| *d).collect();
    let damage_status = match security_incident {
        "Near miss" | "False positive" => DamageStatus::AttemptOnly,
        "Confirmed" if damages.iter().any(|d| *d != DamageCategory::None) => DamageStatus::Damage,
        _ => DamageStatus::Unknown,
    };
    let industry = s("/victim/industry").unwrap_or("");
    let government = strings(v, "/victim/government");
    let kind = if government.contains(&"Local") {
        Some(ReporterKind::LocalGovernment)
    } else if government.iter().any(|g| matches!(*g, "Federal" | "Regional")) || industry.starts_with("92") {
        Some(ReporterKind::PublicAgency)
    } else if industry.starts_with("61") {
        Some(ReporterKind::Educational)
    } else if industry.starts_with("62") {
        Some(ReporterKind::Medical)
    } else if industry.starts_with("813") {
        Some(ReporterKind::NonProfit)
    } else if !industry.is_empty() && !industry.starts_with("00") {
        Some(ReporterKind::Company)
    } else {
        None
    };
    let organization = s("/victim/victim_id")
        .filter(|o| !o.eq_ignore_ascii_case("test") && !o.eq_ignore_ascii_case("unknown"))
        .map(|o| o.chars().take(submission::MAX_LINE_CHARS).filter(|c| !c.is_control()).collect());
    let mut assets: Vec<AffectedAsset> = Vec::new();
    for a in v.pointer("/asset/assets").and_then(Value::as_array).into_iter().flatten() {
        let variety = a.get("variety").and_then(Value::as_str).unwrap_or("");
        let asset = match variety {
            "S - Web application" => AffectedAsset::ServerWeb,
            "S - Mail" => AffectedAsset::ServerMail,
            "S - Database" => AffectedAsset::ServerDatabase,
            "S - File" => AffectedAsset::ServerFile,
            "S - Directory" => AffectedAsset::ServerDomainController,
            "S - Payment switch" | "S - POS controller" => AffectedAsset::ServerEc,
            "U - Desktop" | "U - Laptop" | "U - Desktop or laptop" => AffectedAsset::Pc,
            "U - Mobile phone" | "U - Tablet" => AffectedAsset::SmartphoneTablet,
            "N - NAS" | "N - SAN" => AffectedAsset::StorageNas,
            "Unknown" => AffectedAsset::Unknown,
            x if x.starts_with("S - ") => AffectedAsset::ServerOther,
            x if x.starts_with("N - ") => AffectedAsset::NetworkDevice,
            _ => AffectedAsset::Other,
        };
        if !assets.contains(&asset) {
            assets.push(asset);
        }
    }
    let mut deployment = Vec::new();
    for c in strings(v, "/asset/cloud") {
        let d = match c {
            "On-Premise Asset(s)" => Deployment::OnPremises,
            "External Cloud Asset(s)" => Deployment::CloudIaas,
            "Unknown" => Deployment::Unknown,
            "Other" => Deployment::Other,
            _ => continue,
        };
        if !deployment.contains(&d) {
            deployment.push(d);
        }
    }
    let virus = (form == ReportForm::Virus).then(|| {
        let mut vectors: Vec<InfectionVector> = Vec::new();
        for x in strings(v, "/action/malware/vector") {
            let iv = if x.starts_with("Email") {
                InfectionVector::Email
            } else if x == "Web application - drive-by" {
                InfectionVector::WebBrowsing
            } else if x == "Web application - download" || x == "Download by malware" {
                InfectionVector::DownloadedFile
            } else if x == "Unknown" {
                InfectionVector::Unknown
            } else {
                InfectionVector::Other
            };
            if !vectors.contains(&iv) {
                vectors.push(iv);
            }
        }
        let names: BTreeSet<&str> = strings(v, "/action/malware/name").into_iter().collect();
        VirusDetails {
            virus_name: names.into_iter().next().map(str::to_owned),
            symptoms: None,
            detection_count: None,
            infection_vectors: vectors,
        }
    });
    ReportContent {
        form,
        language: Language::En,
        reporter: Reporter { kind, organization, ..Default::default() },
        discovered_on: None,
        discovery: None,
        discovery_narrative: None,
        damage_status,
        damages,
        damage_narrative: None,
        causes: m.causes.iter().map(|(c, _)| *c).collect(),
        cause_narrative: None,
        response_narrative: None,
        affected: AffectedSystems { assets, deployment, ..Default::default() },
        virus,
        description,
        reporter_reference: Some(format!("VERIS {source_key}").chars().take(submission::MAX_LINE_CHARS).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemas_compile_and_unsupported_keywords_are_refused() {
        assert!(SchemaVersion::V1_4.schema()["properties"]["action"].is_object());
        assert!(SchemaVersion::V1_3.schema()["properties"]["action"]["properties"]["Unknown"].is_object());
        assert!(Validator::new(json!({"oneOf": []})).unwrap_err().contains("oneOf"));
        assert_eq!(SchemaVersion::of("1.3.7"), Some(SchemaVersion::V1_3));
        assert_eq!(SchemaVersion::of("1.3"), Some(SchemaVersion::V1_3_0));
        assert_eq!(SchemaVersion::of("1.4"), Some(SchemaVersion::V1_4));
        assert_eq!(SchemaVersion::of("1.30"), None);
        assert_eq!(SchemaVersion::of("2.0"), None);
    }

    #[test]
    fn violations_name_the_record_path_and_the_schema_rule() {
        let v = Validator::new(json!({"type": "object", "additionalProperties": false,
            "properties": {"a": {"type": "array", "uniqueItems": true, "items": {"enum": ["x", "y"]}},
                           "t": {"type": "string", "pattern": "^\\d{2}$"}}, "required": ["a"]}))
        .unwrap();
        assert!(v.validate(&json!({"a": ["x"], "t": "12"})).is_empty());
        let got = v.validate(&json!({"a": ["x", "x", "z"], "b": 1, "t": "١٢"}));
        let paths: Vec<(&str, &str)> = got.iter().map(|g| (g.path.as_str(), g.schema_path.as_str())).collect();
        assert!(paths.contains(&("a", "#/properties/a/uniqueItems")), "{got:?}");
        assert!(paths.contains(&("a.2", "#/properties/a/items/enum")), "{got:?}");
        assert!(paths.contains(&("", "#/additionalProperties")), "{got:?}");
        assert!(paths.contains(&("t", "#/properties/t/pattern")), "ECMA \\d is ASCII: {got:?}");
    }
}
