//! Bulk actions on the queue: several reports assigned, moved to a state or linked as one
//! incident at once. Each report is changed by the same store call as the report page's (so
//! each change is on its timeline and audited), and the whole action is audited once more
//! (`report.bulk`: what, and how many).

use crate::AppError;
use todokede_domain::*;
use todokede_store::{Store, StoreError};

/// What to do to every chosen report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    /// Assign to an analyst, or to nobody.
    Assign(Option<UserId>),
    /// Move to a state (a report for which the move is not allowed is skipped and named).
    State(ReportState),
    /// Link them all as one incident (each with the first chosen).
    Link,
}

/// What happened: the reports changed, and those that were not with the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    pub done: Vec<TrackingNumber>,
    pub failed: Vec<(String, BulkFailure)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkFailure {
    NotFound,
    /// The state cannot follow the report's current one.
    NotAllowed,
}

impl BulkFailure {
    pub fn key(self) -> &'static str {
        match self {
            BulkFailure::NotFound => "not_found",
            BulkFailure::NotAllowed => "not_allowed",
        }
    }

    pub fn parse(key: &str) -> Option<BulkFailure> {
        [BulkFailure::NotFound, BulkFailure::NotAllowed].into_iter().find(|f| f.key() == key)
    }

    pub fn text(self, lang: Language) -> &'static str {
        match self {
            BulkFailure::NotFound => lang.pick("届出が見つかりません", "no such report"),
            BulkFailure::NotAllowed => {
                lang.pick("この状態には変更できません", "that state cannot follow its current one")
            }
        }
    }
}

/// Apply `action` to the reports numbered `numbers` (duplicates once), by `by`.
pub async fn apply(store: &Store, numbers: &[String], action: BulkAction, by: UserId) -> Result<BulkOutcome, AppError> {
    if numbers.is_empty() {
        return Err(AppError::refused("届出を選んでください。", "Choose at least one report."));
    }
    if action == BulkAction::Link && numbers.len() < 2 {
        return Err(AppError::refused(
            "関連付けるには 2 件以上を選んでください。",
            "Choose two or more reports to link.",
        ));
    }
    let mut out = BulkOutcome::default();
    let mut found: Vec<(TrackingNumber, ReportId)> = Vec::new();
    for n in numbers {
        let id = match TrackingNumber::parse(n.trim()) {
            Ok(tn) => store.report_id_by_tracking(&tn).await?.map(|id| (tn, id)),
            Err(_) => None,
        };
        match id {
            Some(x) if !found.contains(&x) => found.push(x),
            Some(_) => {}
            None => out.failed.push((n.clone(), BulkFailure::NotFound)),
        }
    }
    let first = found.first().map(|(_, id)| *id);
    for (i, (tn, id)) in found.iter().enumerate() {
        let result = match action {
            BulkAction::Assign(to) => store.assign(*id, to, by, None).await,
            BulkAction::State(to) => store.transition(*id, to, by, None).await.map(|_| ()),
            BulkAction::Link if i == 0 => Ok(()),
            BulkAction::Link => store.link_reports(first.expect("one found"), *id, by, None).await,
        };
        match result {
            Ok(()) => out.done.push(tn.clone()),
            Err(StoreError::InvalidTransition(_)) => out.failed.push((tn.to_string(), BulkFailure::NotAllowed)),
            Err(StoreError::NotFound) => out.failed.push((tn.to_string(), BulkFailure::NotFound)),
            Err(e) => return Err(e.into()),
        }
    }
    let what = match action {
        BulkAction::Assign(Some(u)) => format!("assign {}", u.0),
        BulkAction::Assign(None) => "assign nobody".to_owned(),
        BulkAction::State(s) => format!("state {}", s.key()),
        BulkAction::Link => "link".to_owned(),
    };
    let numbers = out.done.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ");
    let detail = format!("{what}: {} done, {} not ({numbers})", out.done.len(), out.failed.len());
    store.audit(Some(by), "report.bulk", None, Some(&detail)).await?;
    Ok(out)
}
