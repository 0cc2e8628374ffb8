//! The stored form of [`ReportContent`] (`reports.content_json`). Written by hand on purpose:
//! domain types carry no serde, and this format is the store's own, versioned with its
//! migrations — it must keep reading what older versions wrote.

use serde_json::{Map, Value, json};
use todokede_domain::*;

use crate::StoreError;

fn keys<T: ClosedEnum>(v: &[T]) -> Value {
    Value::Array(v.iter().map(|x| Value::from(x.key())).collect())
}

pub(crate) fn encode_content(c: &ReportContent) -> String {
    let r = &c.reporter;
    let a = &c.affected;
    let v = json!({
        "v": 1,
        "form": c.form.key(),
        "language": c.language.key(),
        "reporter": {
            "kind": r.kind.map(|k| k.key()), "name": r.name, "organization": r.organization,
            "email": r.email.as_ref().map(|e| e.as_str()), "phone": r.phone, "address": r.address,
        },
        "discovered_on": c.discovered_on.map(|d| d.to_string()),
        "discovery": c.discovery.map(|d| d.key()),
        "discovery_narrative": c.discovery_narrative,
        "damage_status": c.damage_status.key(),
        "damages": keys(&c.damages),
        "damage_narrative": c.damage_narrative,
        "causes": keys(&c.causes),
        "cause_narrative": c.cause_narrative,
        "response_narrative": c.response_narrative,
        "affected": {
            "assets": keys(&a.assets), "deployment": keys(&a.deployment), "os": a.os,
            "software": a.software.iter().map(|s| json!({"name": s.name, "version": s.version})).collect::<Vec<_>>(),
            "exposed_ports": a.exposed_ports, "internet_connected": a.internet_connected.map(|t| t.key()),
        },
        "virus": c.virus.as_ref().map(|v| json!({
            "virus_name": v.virus_name, "symptoms": v.symptoms, "detection_count": v.detection_count,
            "infection_vectors": keys(&v.infection_vectors),
        })),
        "description": c.description,
        "reporter_reference": c.reporter_reference,
    });
    v.to_string()
}

struct Obj<'a>(&'a Map<String, Value>);

impl<'a> Obj<'a> {
    fn str(&self, k: &str) -> Option<String> {
        self.0.get(k).and_then(Value::as_str).map(str::to_owned)
    }
    fn obj(&self, k: &str) -> Obj<'a> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        Obj(self.0.get(k).and_then(Value::as_object).unwrap_or_else(|| EMPTY.get_or_init(Map::new)))
    }
    fn one<T: ClosedEnum>(&self, k: &str) -> Result<Option<T>, StoreError> {
        self.str(k).map(|s| T::parse(&s).map_err(corrupt)).transpose()
    }
    fn list<T: ClosedEnum>(&self, k: &str) -> Result<Vec<T>, StoreError> {
        let Some(a) = self.0.get(k).and_then(Value::as_array) else { return Ok(vec![]) };
        a.iter().map(|v| T::parse(v.as_str().unwrap_or("")).map_err(corrupt)).collect()
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("content_json: {e}"))
}

pub(crate) fn decode_content(s: &str) -> Result<ReportContent, StoreError> {
    let v: Value = serde_json::from_str(s).map_err(corrupt)?;
    let o = Obj(v.as_object().ok_or_else(|| corrupt("not an object"))?);
    let r = o.obj("reporter");
    let a = o.obj("affected");
    let date_fmt = time::macros::format_description!("[year]-[month]-[day]");
    let virus = match o.0.get("virus").and_then(Value::as_object) {
        Some(m) => {
            let vo = Obj(m);
            Some(VirusDetails {
                virus_name: vo.str("virus_name"),
                symptoms: vo.str("symptoms"),
                detection_count: m.get("detection_count").and_then(Value::as_u64).map(|n| n as u32),
                infection_vectors: vo.list("infection_vectors")?,
            })
        }
        None => None,
    };
    Ok(ReportContent {
        form: o.one("form")?.ok_or_else(|| corrupt("no form"))?,
        language: o.one("language")?.unwrap_or(Language::Ja),
        reporter: Reporter {
            kind: r.one("kind")?,
            name: r.str("name"),
            organization: r.str("organization"),
            email: r.str("email").and_then(|e| EmailAddress::parse(&e).ok()),
            phone: r.str("phone"),
            address: r.str("address"),
        },
        discovered_on: o.str("discovered_on").map(|d| time::Date::parse(&d, date_fmt).map_err(corrupt)).transpose()?,
        discovery: o.one("discovery")?,
        discovery_narrative: o.str("discovery_narrative"),
        damage_status: o.one("damage_status")?.unwrap_or(DamageStatus::Unknown),
        damages: o.list("damages")?,
        damage_narrative: o.str("damage_narrative"),
        causes: o.list("causes")?,
        cause_narrative: o.str("cause_narrative"),
        response_narrative: o.str("response_narrative"),
        affected: AffectedSystems {
            assets: a.list("assets")?,
            deployment: a.list("deployment")?,
            os: a.str("os"),
            software: a
                .0
                .get("software")
                .and_then(Value::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(Value::as_object)
                        .map(|s| {
                            let so = Obj(s);
                            Software { name: so.str("name").unwrap_or_default(), version: so.str("version") }
                        })
                        .collect()
                })
                .unwrap_or_default(),
            exposed_ports: a
                .0
                .get("exposed_ports")
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(Value::as_u64).map(|p| p as u16).collect())
                .unwrap_or_default(),
            internet_connected: a.one("internet_connected")?,
        },
        virus,
        description: o.str("description").unwrap_or_default(),
        reporter_reference: o.str("reporter_reference"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_round_trips() {
        let c = ReportContent {
            form: ReportForm::UnauthorizedAccess,
            language: Language::Ja,
            reporter: Reporter {
                kind: Some(ReporterKind::Company),
                name: Some("山田".into()),
                email: Some(EmailAddress::parse("a@b.jp").unwrap()),
                ..Default::default()
            },
            discovered_on: Some(time::macros::date!(2019 - 08 - 14)),
            discovery: Some(DiscoveryTrigger::SelfMonitoringAlert),
            discovery_narrative: Some("監視".into()),
            damage_status: DamageStatus::Damage,
            damages: vec![DamageCategory::DataDestructionExtortion],
            damage_narrative: None,
            causes: vec![CauseCategory::MissingAccessControl, CauseCategory::WeakCredentials],
            cause_narrative: None,
            response_narrative: Some("停止".into()),
            affected: AffectedSystems {
                assets: vec![AffectedAsset::ServerDatabase],
                software: vec![Software { name: "phpMyAdmin".into(), version: Some("4.0".into()) }],
                exposed_ports: vec![3306],
                internet_connected: Some(TriState::Yes),
                ..Default::default()
            },
            virus: Some(VirusDetails { detection_count: Some(3), ..Default::default() }),
            description: "DBが消去された".into(),
            reporter_reference: Some("INC-2019-0042".into()),
        };
        assert_eq!(decode_content(&encode_content(&c)).unwrap(), c);
    }
}
