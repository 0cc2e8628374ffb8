//! The analysts' report lifecycle: 受付 → 確認中 → 対応中 (⇄ 届出者回答待ち) → 完了 / 取下げ.

use crate::closed_enum;

closed_enum! {
    ReportState {
        Received => ("received", "受付", "Received"),
        Triage => ("triage", "確認中", "Triage"),
        InProgress => ("in_progress", "対応中", "In progress"),
        WaitingOnReporter => ("waiting_on_reporter", "届出者回答待ち", "Waiting on reporter"),
        Closed => ("closed", "完了", "Closed"),
        Withdrawn => ("withdrawn", "取下げ", "Withdrawn"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a report cannot go from {from} to {to}")]
pub struct InvalidTransition {
    pub from: ReportState,
    pub to: ReportState,
}

impl ReportState {
    /// The states an analyst may move a report to from `self`.
    pub fn next_states(self) -> &'static [ReportState] {
        use ReportState::*;
        match self {
            Received => &[Triage, InProgress, Closed, Withdrawn],
            Triage => &[InProgress, WaitingOnReporter, Closed, Withdrawn],
            InProgress => &[WaitingOnReporter, Closed, Withdrawn],
            WaitingOnReporter => &[InProgress, Closed, Withdrawn],
            // A closed report is reopened when new information arrives.
            Closed => &[InProgress],
            Withdrawn => &[],
        }
    }

    pub fn transition(self, to: ReportState) -> Result<ReportState, InvalidTransition> {
        if self.next_states().contains(&to) { Ok(to) } else { Err(InvalidTransition { from: self, to }) }
    }

    pub fn is_open(self) -> bool {
        !matches!(self, ReportState::Closed | ReportState::Withdrawn)
    }
}

#[cfg(test)]
mod tests {
    use super::ReportState::*;

    #[test]
    fn lifecycle_allows_the_documented_paths_only() {
        assert_eq!(Received.transition(Triage), Ok(Triage));
        assert_eq!(InProgress.transition(WaitingOnReporter), Ok(WaitingOnReporter));
        assert_eq!(WaitingOnReporter.transition(InProgress), Ok(InProgress));
        assert!(Closed.transition(Received).is_err());
        assert!(Withdrawn.transition(InProgress).is_err());
        assert!(Received.transition(Received).is_err());
    }
}
