//! Which writes of a release item are transitions worth an event.
//!
//! Many functions write the release item (on-push creates it, record takes the lock, render,
//! migrate and deploy stamp their phase, record parks the approval gate, approve records the
//! decision, record / execution_ended / reconcile write the end). The events are derived in
//! one place, from the table's stream: each change of the item is compared with the item
//! before it. A write that moves the status, or stamps a phase the item did not have, is a
//! transition; any other write (a smoke check, a lease extension, a service's own progress,
//! the approval token being taken away) is not.

use super::event::EventStatus;
use super::{Phase, Release};

/// What a change of a release item means for its events.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub status: EventStatus,
    /// The status the item had before this change (absent for a new item).
    pub previous_status: Option<EventStatus>,
    /// The phase just reached; with `status` it names the transition.
    pub phase: Phase,
    pub reason: Option<String>,
}

/// What a WAITING_FOR_APPROVAL event says the release waits for.
pub const WAITING_REASON: &str =
    "waiting for a person to approve or reject the release (the approve state machine, or `stevedore approve`/`reject`)";

/// The status a release's events give it: IN_PROGRESS at the approval gate (requested, not
/// yet decided) is WAITING_FOR_APPROVAL.
pub fn event_status(release: &Release) -> EventStatus {
    let waiting = release.approval_requested_at.is_some() && release.approval_decided_at.is_none();
    match EventStatus::from(release.status) {
        EventStatus::InProgress if waiting => EventStatus::WaitingForApproval,
        status => status,
    }
}

/// The transition from `old` (absent for a new item) to `new`, if the change is one.
///
/// - a new item: its status, at the last phase it reached (PENDING, `pending`, for a new
///   release);
/// - the status changed: the new status; a terminal one at `finished` with the item's
///   reason, IN_PROGRESS at the last phase this write stamped (`lock_acquired`);
/// - the status did not change and is not terminal, but the write stamped a phase: the last
///   phase it stamped, as IN_PROGRESS, except `approval_requested` (WAITING_FOR_APPROVAL,
///   with what it waits for) and `approval_decided` (IN_PROGRESS, the reason says who
///   decided);
/// - anything else: no transition.
pub fn transition(old: Option<&Release>, new: &Release) -> Option<Transition> {
    let Some(old) = old else {
        let status = EventStatus::from(new.status);
        return Some(Transition {
            status,
            previous_status: None,
            phase: if status.is_terminal() {
                Phase::Finished
            } else {
                last_phase(new)
            },
            reason: new.reason.clone(),
        });
    };
    let previous_status = Some(event_status(old));
    let stamped = last_stamped(old, new);
    if new.status != old.status {
        let status = EventStatus::from(new.status);
        let (phase, reason) = if status.is_terminal() {
            (Phase::Finished, new.reason.clone())
        } else {
            (stamped.unwrap_or_else(|| last_phase(new)), None)
        };
        return Some(Transition {
            status,
            previous_status,
            phase,
            reason,
        });
    }
    if new.status.is_terminal() {
        // A terminal status is final; later writes (a decision recorded after the
        // rejection ended the release, a late smoke check) are no transition.
        return None;
    }
    let phase = stamped?;
    let (status, reason) = match phase {
        Phase::ApprovalRequested => (
            EventStatus::WaitingForApproval,
            Some(WAITING_REASON.to_string()),
        ),
        Phase::ApprovalDecided => (EventStatus::from(new.status), new.approval_decision.clone()),
        _ => (EventStatus::from(new.status), None),
    };
    Some(Transition {
        status,
        previous_status,
        phase,
        reason,
    })
}

/// The last phase (in release order) whose timestamp this change set or changed.
fn last_stamped(old: &Release, new: &Release) -> Option<Phase> {
    Phase::ALL.into_iter().rev().find(|phase| {
        let now = new.phase_timestamp(*phase);
        now.is_some() && now != old.phase_timestamp(*phase)
    })
}

/// The last phase (in release order) the release has a timestamp for.
pub fn last_phase(release: &Release) -> Phase {
    Phase::ALL
        .into_iter()
        .rev()
        .find(|phase| release.phase_timestamp(*phase).is_some())
        .unwrap_or(Phase::Pending)
}
