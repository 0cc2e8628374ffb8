//! An analyst confirms (or overrides) the automatic classification of a report: what
//! statistics and publication are built from. Shared by the report page and `todokede classify`.

use crate::AppError;
use std::collections::BTreeMap;
use todokede_domain::*;
use todokede_store::Store;

/// What the analyst changed; `None` keeps the automatic value of that dimension.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Primary first.
    pub causes: Option<Vec<CauseCategory>>,
    pub damages: Option<Vec<DamageCategory>>,
    pub attack_types: Option<Vec<AttackType>>,
    pub techniques: Option<Vec<String>>,
    pub has_damage: Option<Option<bool>>,
}

/// The automatic classification of a report from its stored analysis (empty when none yet).
pub async fn automatic(store: &Store, id: ReportId) -> Result<Classification, AppError> {
    Ok(match store.analysis(id).await? {
        Some(json) => todokede_analyse::AnalysisRecord::parse(&json)
            .map_err(|e| AppError::Internal(format!("stored analysis of report {}: {e}", id.0)))?
            .suggested_classification(),
        None => Classification::default(),
    })
}

/// Confirm with the overrides applied; returns the confirmed classification and the
/// dimensions that differ from the automatic one.
pub async fn confirm(
    store: &Store,
    id: ReportId,
    by: UserId,
    o: &Overrides,
    if_version: Option<i64>,
) -> Result<(Classification, Vec<&'static str>), AppError> {
    let automatic = automatic(store, id).await?;
    let mut c = automatic.clone();
    if let Some(v) = &o.causes {
        c.causes = v.clone();
    }
    if let Some(v) = &o.damages {
        c.damages = v.clone();
    }
    if let Some(v) = &o.attack_types {
        c.attack_types = v.clone();
    }
    if let Some(v) = &o.techniques {
        c.techniques = v.clone();
    }
    if let Some(v) = o.has_damage {
        c.has_damage = v;
    }
    let overridden = store.confirm_classification(id, by, &c, &automatic, if_version).await?;
    Ok((c, overridden))
}

/// The classifications analysts already gave, keyed by the reporter's reference, as
/// `fixtures/seeds/expected.json` holds DOMAIN.md's classification of every seed case: `causes`
/// (with `primary_cause` first), `damages`, `techniques`, and, when given, `attack_types` and
/// `has_damage` (`yes`/`no`/`unknown`; otherwise "no" for a case whose only damage is `none` or
/// whose cause is `not_applicable`, "yes" for any other damage). `todokede classify --labels`
/// confirms these instead of the automatic classification, so that statistics, figures and
/// 着目点 of a report built from these cases follow the analysts' labels.
pub fn labels_by_reference(json: &str) -> Result<BTreeMap<String, Overrides>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("expected an object keyed by the reporter's reference")?;
    fn list<T: ClosedEnum>(case: &str, e: &serde_json::Value, field: &str) -> Result<Option<Vec<T>>, String> {
        let Some(v) = e.get(field) else { return Ok(None) };
        let items = v.as_array().ok_or_else(|| format!("{case}.{field}: expected a list of keys"))?;
        items
            .iter()
            .map(|k| {
                k.as_str()
                    .ok_or_else(|| format!("{case}.{field}: expected keys"))
                    .and_then(|k| T::parse(k).map_err(|e| format!("{case}.{field}: {e}")))
            })
            .collect::<Result<Vec<T>, String>>()
            .map(Some)
    }
    let mut out = BTreeMap::new();
    for (case, e) in obj {
        let mut causes: Option<Vec<CauseCategory>> = list(case, e, "causes")?;
        if let Some(p) = e.get("primary_cause").and_then(|p| p.as_str()) {
            let p = CauseCategory::parse(p).map_err(|e| format!("{case}.primary_cause: {e}"))?;
            let c = causes.get_or_insert_with(Vec::new);
            c.retain(|x| *x != p);
            c.insert(0, p);
        }
        let damages: Option<Vec<DamageCategory>> = list(case, e, "damages")?;
        let techniques = match e.get("techniques") {
            None => None,
            Some(t) => Some(
                t.as_array()
                    .ok_or_else(|| format!("{case}.techniques: expected a list"))?
                    .iter()
                    .map(|t| t.as_str().map(str::to_owned).ok_or_else(|| format!("{case}.techniques: expected ids")))
                    .collect::<Result<Vec<String>, String>>()?,
            ),
        };
        let has_damage = match e.get("has_damage").map(|h| h.as_str()) {
            Some(Some("yes")) => Some(Some(true)),
            Some(Some("no")) => Some(Some(false)),
            Some(Some("unknown")) => Some(None),
            Some(_) => return Err(format!("{case}.has_damage: expected yes, no or unknown")),
            None => {
                let none = damages.as_ref().is_some_and(|d| d.iter().all(|d| *d == DamageCategory::None))
                    || causes.as_ref().is_some_and(|c| c.first() == Some(&CauseCategory::NotApplicable));
                match &damages {
                    _ if none => Some(Some(false)),
                    Some(d) if !d.is_empty() => Some(Some(true)),
                    _ => None,
                }
            }
        };
        out.insert(
            case.clone(),
            Overrides { causes, damages, attack_types: list(case, e, "attack_types")?, techniques, has_damage },
        );
    }
    Ok(out)
}

impl Overrides {
    /// These overrides, with each dimension `over` gives taking its place.
    pub fn then(&self, over: &Overrides) -> Overrides {
        Overrides {
            causes: over.causes.clone().or_else(|| self.causes.clone()),
            damages: over.damages.clone().or_else(|| self.damages.clone()),
            attack_types: over.attack_types.clone().or_else(|| self.attack_types.clone()),
            techniques: over.techniques.clone().or_else(|| self.techniques.clone()),
            has_damage: over.has_damage.or(self.has_damage),
        }
    }
}

/// Comma-separated keys of a closed list.
pub fn keys<T: ClosedEnum>(arg: &str) -> Result<Vec<T>, UnknownKey> {
    arg.split(',').map(str::trim).filter(|k| !k.is_empty()).map(T::parse).collect()
}
