//! A static MISP feed of approved cases: `manifest.json`, one `{uuid}.json` event per incident
//! and `hashes.csv` (MD5 of each attribute value, event uuid), as a MISP instance pulls it.
//! Pure and deterministic: event and attribute UUIDs come from stable keys (the incident, the
//! value), times from the data, so a regenerated feed changes only the events whose cases did.

use crate::stix::{ShareCase, Tlp, stable_v4};
use md5::{Digest as _, Md5};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use todokede_domain::*;

/// The feed's files: name → bytes.
pub type Feed = BTreeMap<String, Vec<u8>>;

/// MISP's type and category of an observable kind, and whether it is for IDS use.
fn attribute_kind(kind: &str) -> Option<(&'static str, &'static str, bool)> {
    Some(match kind {
        "ipv4" | "ipv6" => ("ip-src", "Network activity", true),
        "domain" => ("domain", "Network activity", true),
        "url" => ("url", "Network activity", true),
        "md5" => ("md5", "Payload delivery", true),
        "sha1" => ("sha1", "Payload delivery", true),
        "sha256" => ("sha256", "Payload delivery", true),
        "cve" => ("vulnerability", "External analysis", false),
        _ => return None,
    })
}

/// MISP distribution for a TLP level (MISP's own mapping: clear → all communities … red →
/// this organisation only).
fn distribution(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "3",
        Tlp::Green => "2",
        Tlp::Amber | Tlp::AmberStrict => "1",
        Tlp::Red => "0",
    }
}

/// MISP object templates (misp-objects, as PyMISP ships them): name, template uuid, version,
/// meta-category.
const FILE_TEMPLATE: (&str, &str, &str, &str) = ("file", "688c46fb-5edb-40a3-8273-1af7923e2215", "25", "file");
const URL_TEMPLATE: (&str, &str, &str, &str) = ("url", "60efb77b-40b5-4c46-871b-ed1ed999fce5", "10", "network");
const DOMAIN_IP_TEMPLATE: (&str, &str, &str, &str) =
    ("domain-ip", "43b3b146-77eb-4931-b4cc-b66c60f28734", "11", "network");

/// One incident's MISP event, with the manifest entry of the feed and the attribute values
/// (for `hashes.csv`).
struct Event {
    uuid: String,
    event: Value,
    manifest: Value,
    values: Vec<String>,
}

/// The events of `cases`, one per incident (the same for the feed and an export): attributes
/// with MISP types and `to_ids`, objects where MISP has a template (file for a hash, url,
/// domain-ip for a domain), tags for TLP and the categories (`todokede:cause="…"`, a
/// taxonomy-like namespace) and ATT&CK.
fn events(publisher: &str, cases: &[ShareCase]) -> Vec<Event> {
    let ns = |key: &str| stable_v4(&format!("todokede-misp/{publisher}/{key}"));
    let orgc = json!({"name": publisher, "uuid": ns("org")});
    let mut incidents: BTreeMap<&str, Vec<&ShareCase>> = BTreeMap::new();
    for c in cases {
        incidents.entry(c.incident_key.as_str()).or_default().push(c);
    }
    let mut out = Vec::new();
    for (key, members) in incidents {
        let uuid = ns(&format!("event/{key}"));
        let tlp = members.iter().map(|c| c.tlp).max().unwrap_or(Tlp::Red);
        let lead = members.iter().min_by_key(|c| c.received_at).expect("an incident has members");
        let timestamp = members.iter().map(|c| c.approved_at.unix_timestamp()).max().unwrap_or(0).to_string();
        let date = lead.received_at.to_offset(time::macros::offset!(+9)).date().to_string();
        let info = format!(
            "{} {} {}",
            date,
            lead.form.label_ja(),
            lead.classification.causes.first().map(|c| c.label_ja()).unwrap_or("原因未確定")
        );
        let closed = members.iter().all(|c| matches!(c.state, ReportState::Closed | ReportState::Withdrawn));
        let mut tags: BTreeSet<String> = BTreeSet::from([format!("tlp:{}", tlp.key())]);
        let mut values: BTreeMap<(&str, String), (&str, bool)> = BTreeMap::new();
        for c in &members {
            tags.extend(c.classification.causes.iter().map(|k| format!("todokede:cause=\"{}\"", k.key())));
            tags.extend(c.classification.damages.iter().map(|k| format!("todokede:damage=\"{}\"", k.key())));
            tags.extend(c.classification.attack_types.iter().map(|k| format!("todokede:attack-type=\"{}\"", k.key())));
            tags.extend(c.classification.techniques.iter().map(|t| format!("mitre-attack:technique=\"{t}\"")));
            for o in &c.observables {
                if let Some((t, category, to_ids)) = attribute_kind(&o.kind) {
                    let v = if matches!(t, "md5" | "sha1" | "sha256" | "domain") {
                        o.value.trim().to_ascii_lowercase()
                    } else {
                        o.value.trim().to_owned()
                    };
                    values.insert((t, v), (category, to_ids));
                }
            }
        }
        let attribute = |t: &str, v: &str, category: &str, to_ids: bool, relation: Option<&str>| {
            let mut a = json!({"uuid": ns(&format!("attribute/{key}/{t}/{v}")), "type": t, "category": category,
                   "value": v, "to_ids": to_ids, "timestamp": timestamp, "distribution": "5", "comment": ""});
            if let Some(r) = relation {
                a["object_relation"] = json!(r);
            }
            a
        };
        let (mut attributes, mut objects) = (Vec::new(), Vec::new());
        for ((t, v), (category, to_ids)) in &values {
            let template = match *t {
                "md5" | "sha1" | "sha256" => Some(FILE_TEMPLATE),
                "url" => Some(URL_TEMPLATE),
                "domain" => Some(DOMAIN_IP_TEMPLATE),
                _ => None,
            };
            match template {
                Some((name, template_uuid, version, meta)) => objects.push(json!({
                    "uuid": ns(&format!("object/{key}/{name}/{t}/{v}")), "name": name, "meta-category": meta,
                    "template_uuid": template_uuid, "template_version": version, "description": "",
                    "timestamp": timestamp, "distribution": "5", "comment": "",
                    "Attribute": [attribute(t, v, category, *to_ids, Some(t))]})),
                None => attributes.push(attribute(t, v, category, *to_ids, None)),
            }
        }
        let description: Vec<&str> = members.iter().map(|c| c.summary.trim()).filter(|s| !s.is_empty()).collect();
        if !description.is_empty() {
            let text = description.join("\n\n");
            attributes.push(json!({"uuid": ns(&format!("attribute/{key}/comment")), "type": "comment",
                "category": "Other", "value": text, "to_ids": false, "timestamp": timestamp, "distribution": "5", "comment": "届出の概要（匿名化済み）"}));
        }
        let tag_values: Vec<Value> = tags.iter().map(|t| json!({"name": t})).collect();
        let analysis = if closed { "2" } else { "1" };
        let event = json!({"Event": {
            "uuid": uuid, "info": info, "date": date, "timestamp": timestamp, "publish_timestamp": timestamp,
            "published": true, "analysis": analysis, "threat_level_id": "2",
            "distribution": distribution(tlp), "Orgc": orgc, "Tag": tag_values, "Attribute": attributes, "Object": objects}});
        let manifest = json!({"info": info, "date": date, "analysis": analysis, "threat_level_id": "2",
                   "timestamp": timestamp, "Orgc": orgc, "Tag": tag_values});
        let values = values.into_keys().map(|(_, v)| v).collect();
        out.push(Event { uuid, event, manifest, values });
    }
    out
}

/// The feed of `cases`, grouped into one event per incident.
pub fn feed(publisher: &str, cases: &[ShareCase]) -> Feed {
    let mut files = Feed::new();
    let mut manifest = serde_json::Map::new();
    let mut hashes = String::new();
    for e in events(publisher, cases) {
        for v in &e.values {
            hashes.push_str(&format!("{},{}\n", hex(&Md5::digest(v.as_bytes())), e.uuid));
        }
        manifest.insert(e.uuid.clone(), e.manifest);
        files.insert(format!("{}.json", e.uuid), pretty(&e.event));
    }
    files.insert("manifest.json".into(), pretty(&Value::Object(manifest)));
    files.insert("hashes.csv".into(), hashes.into_bytes());
    files
}

/// An export (`todokede export --format misp`): one incident is one `{"Event": …}`; several (a
/// period) are MISP's own multi-event JSON, `{"response": [{"Event": …}, …]}`. The events are
/// the feed's, with the same UUIDs, so an instance that has both updates instead of duplicating.
pub fn export(publisher: &str, cases: &[ShareCase]) -> Vec<u8> {
    let mut events: Vec<Value> = events(publisher, cases).into_iter().map(|e| e.event).collect();
    if events.len() == 1 { pretty(&events.remove(0)) } else { pretty(&json!({"response": events})) }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).expect("JSON values serialise");
    b.push(b'\n');
    b
}
