//! An analyst confirms (or overrides) the automatic classification of a report: what
//! statistics and publication are built from. Shared by the report page and `todokede classify`.

use crate::AppError;
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

/// Comma-separated keys of a closed list.
pub fn keys<T: ClosedEnum>(arg: &str) -> Result<Vec<T>, UnknownKey> {
    arg.split(',').map(str::trim).filter(|k| !k.is_empty()).map(T::parse).collect()
}
