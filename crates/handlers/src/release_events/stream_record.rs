//! One record of the release table's stream: which release transition it is, and the event
//! that says so. Pure: the app's stage config comes from the caller.

use aws_lambda_events::dynamodb::EventRecord;
use stevedore_aws::BusEvent;
use stevedore_core::release::event::{ReleaseStateChange, DETAIL_TYPE, SOURCE};
use stevedore_core::release::state_change::{service_location, state_change, EventContext};
use stevedore_core::release::transition::{transition, Transition};
use stevedore_core::{Error, Release, StageConfig};

/// The release item a stream record changed and the transition the change made; `None` for
/// a record of another item, a removal, or a write that is no transition. An image that is
/// not a release item is an error (the record is retried, then set aside by the mapping's
/// on-failure destination).
pub fn release_transition(record: &EventRecord) -> Result<Option<(Release, Transition)>, Error> {
    let change = &record.change;
    let is_release = matches!(
        change.keys.get("SK"),
        Some(serde_dynamo::AttributeValue::S(sk)) if sk.starts_with("REL#")
    );
    if record.event_name == "REMOVE" || !is_release {
        return Ok(None);
    }
    let new = decode(&change.new_image, "NewImage")?;
    let old = if change.old_image.is_empty() {
        None
    } else {
        Some(decode(&change.old_image, "OldImage")?)
    };
    Ok(transition(old.as_ref(), &new).map(|t| (new, t)))
}

/// The event detail of `transition` of `release`, whose stage config is `stage` (absent: no
/// longer configured).
pub fn event_detail(
    record: &EventRecord,
    release: &Release,
    transition: &Transition,
    stage: Option<&StageConfig>,
) -> ReleaseStateChange {
    let (partition, region) = partition_and_region(record);
    let context = EventContext {
        partition,
        region,
        location: service_location(release, stage),
        recorded_at: record.change.approximate_creation_date_time,
    };
    state_change(release, transition, &context)
}

/// The bus entry of a detail: `resources` are the execution and the task definition, where
/// known; `time` is the transition's.
pub fn bus_event(release: &Release, detail: &ReleaseStateChange) -> Result<BusEvent, Error> {
    let json = serde_json::to_string(detail)
        .map_err(|e| Error::InvalidInput(format!("release event detail: {e}")))?;
    Ok(BusEvent {
        source: SOURCE.into(),
        detail_type: DETAIL_TYPE.into(),
        detail: json,
        resources: [&release.execution_arn, &release.task_definition_arn]
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
        time: chrono::DateTime::parse_from_rfc3339(&detail.time)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc)),
    })
}

fn decode(image: &serde_dynamo::Item, which: &str) -> Result<Release, Error> {
    serde_dynamo::from_item(image.clone()).map_err(|e| {
        Error::InvalidInput(format!(
            "stream record's {which} is not a release item: {e}"
        ))
    })
}

/// The table's partition and region (from the stream ARN, else the record's region).
fn partition_and_region(record: &EventRecord) -> (String, String) {
    let from_arn = record.event_source_arn.as_deref().and_then(|arn| {
        let mut parts = arn.splitn(5, ':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("arn"), Some(partition), Some(_), Some(region)) if !region.is_empty() => {
                Some((partition.to_string(), region.to_string()))
            }
            _ => None,
        }
    });
    from_arn.unwrap_or_else(|| ("aws".into(), record.aws_region.clone()))
}
