//! STIX 2.1 export: shareable, analyst-approved cases → one bundle. Pure and deterministic: the
//! same cases give the same bytes (objects sorted by id, members sorted by key, every time taken from the
//! data — never "now"), so a consumer that imports twice deduplicates instead of duplicating.
//!
//! - Cyber observables (ipv4-addr, ipv6-addr, domain-name, url, file by one hash) carry the
//!   spec's deterministic ids: UUIDv5 in the STIX namespace over the RFC 8785 canonical JSON of
//!   their ID-contributing properties ([`sco_id`]).
//! - Every other object's id is derived from a stable key (the incident, the pattern, the
//!   technique …) by SHA-256 and formatted as a UUIDv4 — the version the spec recommends for
//!   SDOs and SROs (the reference validator warns on any other), yet stable across exports.
//! - Markings are the official TLP 2.0 marking definitions; every object carries the strictest
//!   TLP of the cases it comes from (generic knowledge — the reporting point, ATT&CK
//!   techniques, CVEs — is TLP:CLEAR), and the report object the strictest of all.
//! - `incident` objects carry the OASIS Incident Core Extension (determination, investigation
//!   status); cases linked by analysts are one incident.
//!
//! What goes in is already anonymised and filtered by the caller (`todokede-app::exchange`):
//! no reporter identity, no internal notes, no common or internal indicator values.

use serde_json::{Map, Value, json};
use sha1::{Digest as _, Sha1};
use sha2::Digest as _;
use sha2::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use todokede_domain::*;

/// The STIX 2.1 namespace of SCO ids (STIX 2.1 §2.9).
pub const STIX_NAMESPACE: [u8; 16] =
    [0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7];

/// The OASIS Incident Core Extension.
pub const INCIDENT_CORE_EXTENSION: &str = "extension-definition--ef765651-680c-498d-9894-99799f2fa126";
/// The extension the official TLP 2.0 marking definitions use.
pub const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// Traffic Light Protocol 2.0, least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

impl Tlp {
    pub const ALL: [Tlp; 5] = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red];
    /// The key as stored and given on the command line (`amber+strict`).
    pub fn key(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }
    pub fn parse(s: &str) -> Option<Tlp> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix("tlp:").unwrap_or(&s);
        Tlp::ALL.into_iter().find(|t| t.key() == s || (s == "white" && *t == Tlp::Clear))
    }
    /// `TLP:AMBER+STRICT`.
    pub fn name(self) -> String {
        format!("TLP:{}", self.key().to_ascii_uppercase())
    }
    /// The id of the official marking definition.
    pub fn marking_id(self) -> &'static str {
        match self {
            Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }
    /// The official marking definition object.
    pub fn marking_definition(self) -> Value {
        json!({
            "type": "marking-definition", "spec_version": "2.1", "id": self.marking_id(),
            "created": "2022-10-01T00:00:00.000Z", "name": self.name(),
            "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": self.key()}}
        })
    }
}

/// One observed value to share, as the analysis typed it (`ipv4`, `domain`, `sha256`, `cve` …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Observable {
    pub kind: String,
    pub value: String,
}

/// One approved report, already anonymised.
#[derive(Debug, Clone)]
pub struct ShareCase {
    /// The incident it belongs to: a stable, non-identifying key (never a tracking number).
    pub incident_key: String,
    pub tlp: Tlp,
    pub form: ReportForm,
    pub received_at: OffsetDateTime,
    /// When an analyst approved it for sharing: the objects' created/modified times.
    pub approved_at: OffsetDateTime,
    pub state: ReportState,
    /// The anonymised account of what happened.
    pub summary: String,
    pub classification: Classification,
    /// ATT&CK technique id → name, for the techniques of the classification.
    pub technique_names: BTreeMap<String, String>,
    pub observables: Vec<Observable>,
}

/// Who publishes: the reporting point's identity.
#[derive(Debug, Clone)]
pub struct Publisher {
    pub name: String,
}

/// What the export covers (names the report object).
#[derive(Debug, Clone)]
pub struct Scope {
    /// A stable key of the scope (`period:2019H2`, `incident:…`).
    pub key: String,
    pub title: String,
}

/// A UUID (RFC 9562 §5.5): SHA-1 of namespace and name, version 5.
pub fn uuid_v5(namespace: &[u8; 16], name: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(namespace);
    h.update(name);
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

/// A stable id in UUIDv4 form: SHA-256 of the key, version and variant bits set.
pub(crate) fn stable_v4(key: &str) -> String {
    let d = Sha256::digest(key.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

fn format_uuid(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// RFC 8785 (JCS) canonical form of JSON made of objects and strings — the only shapes of the
/// ID-contributing properties used here: members sorted by key (these keys are ASCII, so code
/// point order is JCS's UTF-16 order), no whitespace, strings escaped as JCS does (`\"`, `\\`,
/// `\b \f \n \r \t`, other controls as `\u00xx`, the rest as UTF-8 — serde_json's string
/// escaping). Sorted here, not by the map: serde_json keeps insertion order when a dependency
/// turns on `preserve_order`.
pub fn canonical_json(v: &Value) -> String {
    debug_assert!(only_objects_and_strings(v), "canonical_json covers objects and strings only");
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let members: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", serde_json::to_string(k).expect("strings serialise"), canonical_json(&m[k])))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        other => serde_json::to_string(other).expect("JSON values serialise"),
    }
}

/// The same value with every object's members in key order (serde_json may keep insertion
/// order), so the bundle's bytes do not depend on how it was built.
pub fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn only_objects_and_strings(v: &Value) -> bool {
    match v {
        Value::String(_) => true,
        Value::Object(m) => m.values().all(only_objects_and_strings),
        _ => false,
    }
}

/// `type--UUIDv5(STIX namespace, JCS(contributing properties))` (STIX 2.1 §2.9).
pub fn sco_id(kind: &str, contributing: &Value) -> String {
    format!("{kind}--{}", uuid_v5(&STIX_NAMESPACE, canonical_json(contributing).as_bytes()))
}

/// STIX timestamps: UTC, milliseconds.
pub fn timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A value inside a STIX pattern's single-quoted string.
fn quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The SCO and the pattern of an observable, or `None` for kinds that are not shared as
/// observables (ports, file names, registry keys, wallets: no standard object or too
/// ambiguous).
fn observable_objects(o: &Observable) -> Option<(Value, String)> {
    let v = o.value.trim();
    let (kind, contributing, pattern) = match o.kind.as_str() {
        "ipv4" => ("ipv4-addr", json!({"value": v}), format!("[ipv4-addr:value = {}]", quote(v))),
        "ipv6" => ("ipv6-addr", json!({"value": v}), format!("[ipv6-addr:value = {}]", quote(v))),
        "domain" => {
            let v = v.trim_end_matches('.').to_ascii_lowercase();
            ("domain-name", json!({"value": v}), format!("[domain-name:value = {}]", quote(&v)))
        }
        "url" => ("url", json!({"value": v}), format!("[url:value = {}]", quote(v))),
        "md5" | "sha1" | "sha256" => {
            let (algo, path) = match o.kind.as_str() {
                "md5" => ("MD5", "MD5"),
                "sha1" => ("SHA-1", "'SHA-1'"),
                _ => ("SHA-256", "'SHA-256'"),
            };
            let v = v.to_ascii_lowercase();
            ("file", json!({"hashes": {algo: v}}), format!("[file:hashes.{path} = {}]", quote(&v)))
        }
        _ => return None,
    };
    let id = sco_id(kind, &contributing);
    let mut sco = Map::new();
    sco.insert("type".into(), kind.into());
    sco.insert("spec_version".into(), "2.1".into());
    sco.insert("id".into(), id.into());
    if let Value::Object(m) = contributing {
        sco.extend(m);
    }
    Some((Value::Object(sco), pattern))
}

/// The ATT&CK reference of a technique id (`T1110.004` → …/techniques/T1110/004/).
fn attack_url(id: &str) -> String {
    format!("https://attack.mitre.org/techniques/{}/", id.replace('.', "/"))
}

/// Incident Core Extension `determination`: 被害の有無.
fn determination(has_damage: Option<bool>) -> &'static str {
    match has_damage {
        Some(true) => "confirmed",
        Some(false) => "failed-attempt",
        None => "suspected",
    }
}

/// Incident Core Extension `investigation_status` from the lifecycle.
fn investigation_status(states: &[ReportState]) -> &'static str {
    if states.iter().all(|s| matches!(s, ReportState::Closed | ReportState::Withdrawn)) {
        "closed"
    } else if states.iter().all(|s| *s == ReportState::Received) {
        "new"
    } else {
        "open"
    }
}

/// Objects under construction, by id; each keeps the content it was first put with and the
/// strictest TLP it was reached from.
#[derive(Default)]
struct Objects {
    by_id: BTreeMap<String, (Value, Tlp)>,
}

impl Objects {
    fn put(&mut self, v: Value, tlp: Tlp) -> String {
        let id = v["id"].as_str().expect("every object has an id").to_owned();
        let e = self.by_id.entry(id.clone()).or_insert((v, tlp));
        e.1 = e.1.max(tlp);
        id
    }
}

/// Generic reference objects are stable across exports: their times are fixed.
const REFERENCE_TIME: &str = "2019-01-01T00:00:00.000Z";

/// A stable id under the publisher's namespace.
fn ns(publisher: &Publisher, key: &str) -> String {
    stable_v4(&format!("todokede/{}/{key}", publisher.name))
}

/// The reporting point's identity (TLP:CLEAR), in every non-empty bundle.
pub fn identity(publisher: &Publisher) -> Value {
    json!({"type": "identity", "spec_version": "2.1", "id": identity_id(publisher), "created": REFERENCE_TIME,
           "modified": REFERENCE_TIME, "name": publisher.name, "identity_class": "organization",
           "description": "届出窓口 (incident reporting point) / the reporting point that received these reports"})
}

fn identity_id(publisher: &Publisher) -> String {
    format!("identity--{}", ns(publisher, "identity"))
}

/// What one incident (the cases linked into it) contributes to a bundle. `own` objects
/// (the incident, its indicators, its relationships) have ids derived from the incident's key,
/// so no other incident has them, and carry the incident's TLP; `shared` ones (observables,
/// attack-patterns, vulnerabilities) may come from other incidents too: in a bundle an object
/// keeps the content of the first incident in key order that has it and the strictest TLP of
/// all that have it. Built alone, so an incremental consumer (the TAXII server) rebuilds only
/// the incidents that changed.
#[derive(Debug, Clone)]
pub struct IncidentObjects {
    pub tlp: Tlp,
    /// The earliest and latest approval of its cases (the bundle's report spans them).
    pub created_at: OffsetDateTime,
    pub modified_at: OffsetDateTime,
    pub own: BTreeMap<String, Value>,
    pub shared: BTreeMap<String, (Value, Tlp)>,
}

/// The objects of the incident `key` made of `members` (not empty; in the order the bundle
/// takes them: by report).
pub fn incident_objects(publisher: &Publisher, key: &str, members: &[&ShareCase]) -> IncidentObjects {
    let identity_id = identity_id(publisher);
    let ns = |key: &str| ns(publisher, key);
    let tlp = members.iter().map(|c| c.tlp).max().unwrap_or(Tlp::Red);
    let created_at = members.iter().map(|c| c.approved_at).min().expect("an incident has members");
    let modified_at = members.iter().map(|c| c.approved_at).max().expect("an incident has members");
    let (mut own, mut shared) = (Objects::default(), Objects::default());
    let relationship = |objects: &mut Objects, source: &str, kind: &str, target: &str, t: (&str, &str)| {
        let id = format!("relationship--{}", ns(&format!("relationship/{source}/{kind}/{target}")));
        objects.put(
            json!({"type": "relationship", "spec_version": "2.1", "id": id, "created": t.0, "modified": t.1,
                   "created_by_ref": identity_id, "relationship_type": kind, "source_ref": source, "target_ref": target}),
            tlp,
        );
    };
    let (created, modified) = (timestamp(created_at), timestamp(modified_at));
    let lead = members.iter().min_by_key(|c| c.received_at).expect("an incident has members");
    let primary = lead.classification.causes.first();
    let name = format!(
        "{} {} {}{}",
        lead.received_at.to_offset(time::macros::offset!(+9)).date(),
        lead.form.label_ja(),
        primary.map(|c| c.label_ja()).unwrap_or("原因未確定"),
        if members.len() > 1 { format!("（届出 {} 件）", members.len()) } else { String::new() }
    );
    let description = members.iter().map(|c| c.summary.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>();
    let mut labels: BTreeSet<String> = BTreeSet::new();
    for c in members {
        labels.extend(c.classification.causes.iter().map(|k| format!("cause:{}", k.key())));
        labels.extend(c.classification.damages.iter().map(|k| format!("damage:{}", k.key())));
        labels.extend(c.classification.attack_types.iter().map(|k| format!("attack-type:{}", k.key())));
    }
    let has_damage = if members.iter().any(|c| c.classification.has_damage == Some(true)) {
        Some(true)
    } else if members.iter().all(|c| c.classification.has_damage == Some(false)) {
        Some(false)
    } else {
        None
    };
    let states: Vec<ReportState> = members.iter().map(|c| c.state).collect();
    let incident_id = format!("incident--{}", ns(&format!("incident/{key}")));
    own.put(
        json!({"type": "incident", "spec_version": "2.1", "id": incident_id, "created": created, "modified": modified,
        "created_by_ref": identity_id, "name": name, "description": description.join("\n\n"),
        "labels": labels,
        "extensions": {INCIDENT_CORE_EXTENSION: {
            "extension_type": "property-extension",
            "determination": determination(has_damage),
            "investigation_status": investigation_status(&states),
        }}}),
        tlp,
    );

    let mut techniques: BTreeMap<&str, &str> = BTreeMap::new();
    let mut observables: BTreeSet<&Observable> = BTreeSet::new();
    for c in members {
        for t in &c.classification.techniques {
            let name = c.technique_names.get(t).map(String::as_str).unwrap_or(t.as_str());
            techniques.entry(t.as_str()).or_insert(name);
        }
        observables.extend(c.observables.iter());
    }
    for (tid, tname) in techniques {
        let id = format!("attack-pattern--{}", ns(&format!("attack-pattern/{tid}")));
        shared.put(
            json!({"type": "attack-pattern", "spec_version": "2.1", "id": id, "created": REFERENCE_TIME,
                   "modified": REFERENCE_TIME, "created_by_ref": identity_id, "name": tname,
                   // No `url`: a URL without a hash is a validator warning (302);
                   // source and id are what consumers (MISP, OpenCTI) match on.
                   "external_references": [{"source_name": "mitre-attack", "external_id": tid}],
                   "description": format!("MITRE ATT&CK {tid}: {}", attack_url(tid))}),
            Tlp::Clear,
        );
        relationship(&mut own, &incident_id, "related-to", &id, (&created, &modified));
    }
    for o in observables {
        if o.kind == "cve" {
            let cve = o.value.trim().to_ascii_uppercase();
            let id = format!("vulnerability--{}", ns(&format!("vulnerability/{cve}")));
            shared.put(
                json!({"type": "vulnerability", "spec_version": "2.1", "id": id, "created": REFERENCE_TIME,
                       "modified": REFERENCE_TIME, "created_by_ref": identity_id, "name": cve,
                       "external_references": [{"source_name": "cve", "external_id": cve}]}),
                Tlp::Clear,
            );
            relationship(&mut own, &incident_id, "related-to", &id, (&created, &modified));
            continue;
        }
        let Some((sco, pattern)) = observable_objects(o) else { continue };
        let sco_id = shared.put(sco, tlp);
        let indicator_id = format!("indicator--{}", ns(&format!("indicator/{key}/{pattern}")));
        own.put(
            json!({"type": "indicator", "spec_version": "2.1", "id": indicator_id, "created": created,
                   "modified": modified, "created_by_ref": identity_id,
                   "name": format!("{} ({})", o.value.trim(), o.kind),
                   "description": format!("届出で報告された値 / a value reported in an incident: {name}"),
                   "indicator_types": ["malicious-activity"], "pattern": pattern, "pattern_type": "stix",
                   "pattern_version": "2.1", "valid_from": created}),
            tlp,
        );
        relationship(&mut own, &indicator_id, "related-to", &incident_id, (&created, &modified));
        relationship(&mut own, &indicator_id, "related-to", &sco_id, (&created, &modified));
    }
    IncidentObjects {
        tlp,
        created_at,
        modified_at,
        own: own.by_id.into_iter().map(|(id, (v, _))| (id, v)).collect(),
        shared: shared.by_id,
    }
}

/// The bundle's `report` object: it names every other object (`refs`, sorted, without the
/// marking definitions) and spans the approvals of its incidents (`span`: earliest, latest).
pub fn report_object(
    publisher: &Publisher,
    scope: &Scope,
    refs: Vec<String>,
    span: Option<(OffsetDateTime, OffsetDateTime)>,
) -> Value {
    let (created, modified) = match span {
        Some((f, l)) => (timestamp(f), timestamp(l)),
        None => (REFERENCE_TIME.to_owned(), REFERENCE_TIME.to_owned()),
    };
    let report_id = format!("report--{}", ns(publisher, &format!("report/{}", scope.key)));
    json!({"type": "report", "spec_version": "2.1", "id": report_id, "created": created, "modified": modified,
           "created_by_ref": identity_id(publisher), "name": scope.title, "published": modified,
           "report_types": ["threat-report"], "object_refs": refs})
}

/// An object as the bundle holds it: marked with `tlp`, members in key order.
pub fn marked(mut v: Value, tlp: Tlp) -> Value {
    v["object_marking_refs"] = json!([tlp.marking_id()]);
    sorted(v)
}

/// The bundle of `cases` (already anonymised and approved), as canonical bytes.
pub fn bundle(publisher: &Publisher, scope: &Scope, cases: &[ShareCase]) -> Vec<u8> {
    let mut objects = Objects::default();
    objects.put(identity(publisher), Tlp::Clear);
    let mut incidents: BTreeMap<&str, Vec<&ShareCase>> = BTreeMap::new();
    for c in cases {
        incidents.entry(c.incident_key.as_str()).or_default().push(c);
    }
    let mut span = None::<(OffsetDateTime, OffsetDateTime)>;
    for (key, members) in &incidents {
        let i = incident_objects(publisher, key, members);
        span = Some(span.map_or((i.created_at, i.modified_at), |(f, l)| (f.min(i.created_at), l.max(i.modified_at))));
        for v in i.own.into_values() {
            objects.put(v, i.tlp);
        }
        for (v, tlp) in i.shared.into_values() {
            objects.put(v, tlp);
        }
    }
    let top = objects.by_id.values().map(|(_, t)| *t).max().unwrap_or(Tlp::Clear);
    let refs: Vec<String> = objects.by_id.keys().cloned().collect();
    let report = report_object(publisher, scope, refs, span);
    let modified = report["modified"].as_str().expect("the report has a modified time").to_owned();
    objects.put(report, top);
    let used: BTreeSet<Tlp> = objects.by_id.values().map(|(_, t)| *t).collect();
    let mut all: Vec<Value> = objects.by_id.into_values().map(|(v, tlp)| marked(v, tlp)).collect();
    all.extend(used.into_iter().map(Tlp::marking_definition));
    all.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let bundle_id = format!("bundle--{}", ns(publisher, &format!("bundle/{}/{modified}/{}", scope.key, all.len())));
    let mut bytes = serde_json::to_vec_pretty(&sorted(json!({"type": "bundle", "id": bundle_id, "objects": all})))
        .expect("JSON values serialise");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sco_ids_are_the_specs_uuidv5() {
        // As Python's uuid.uuid5(STIX namespace, '{"value":"198.51.100.3"}') computes it.
        assert_eq!(
            sco_id("ipv4-addr", &json!({"value": "198.51.100.3"})),
            "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
        );
        // RFC 4122's own v5 example: DNS namespace, "python.org".
        let dns = [0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8];
        assert_eq!(uuid_v5(&dns, b"python.org"), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
        assert_eq!(
            canonical_json(&json!({"hashes": {"SHA-256": "ab"}, "a": "\u{1}é"})),
            "{\"a\":\"\\u0001é\",\"hashes\":{\"SHA-256\":\"ab\"}}"
        );
    }

    #[test]
    fn tlp_keys_round_trip_and_white_is_clear() {
        for t in Tlp::ALL {
            assert_eq!(Tlp::parse(t.key()), Some(t));
            assert_eq!(Tlp::parse(&t.name()), Some(t));
        }
        assert_eq!(Tlp::parse("TLP:WHITE"), Some(Tlp::Clear));
        assert!(Tlp::Green < Tlp::AmberStrict);
    }

    #[test]
    fn patterns_quote_their_values() {
        let (_, p) =
            observable_objects(&Observable { kind: "url".into(), value: "http://x.example/a'b\\c".into() }).unwrap();
        assert_eq!(p, r"[url:value = 'http://x.example/a\'b\\c']");
        assert!(observable_objects(&Observable { kind: "port".into(), value: "3389".into() }).is_none());
    }
}
