//! EventBridge PutEvents on the account's default event bus: Stevedore's release events.
//!
//! PutEvents (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html)
//! takes 1 to 10 entries per call and is not all-or-nothing: the answer's `Entries` has one
//! result per request entry, "the index of the response element is the same as the index in
//! the request array", each with an `EventId` when it was ingested or an `ErrorCode` and
//! `ErrorMessage` when it was not, and `FailedEntryCount` counts the failures. So the caller
//! gets an outcome per event and retries only the ones that failed. An entry without
//! `EventBusName` goes to the default bus.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use chrono::{DateTime, Utc};
use stevedore_core::{Error, Result};

use crate::error::classify;

/// PutEvents accepts at most this many entries per call.
pub const MAX_ENTRIES_PER_CALL: usize = 10;

/// One event for the bus.
#[derive(Debug, Clone, PartialEq)]
pub struct BusEvent {
    pub source: String,
    pub detail_type: String,
    /// The `detail`, as JSON text.
    pub detail: String,
    /// ARNs the event is about.
    pub resources: Vec<String>,
    /// The event's `time` (absent: when EventBridge received it).
    pub time: Option<DateTime<Utc>>,
}

/// What became of one event of a PutEvents call.
#[derive(Debug, Clone, PartialEq)]
pub enum PutOutcome {
    Accepted { event_id: String },
    Failed { code: String, message: String },
}

pub struct EventBus {
    client: Client,
}

impl EventBus {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    /// Puts `events` (1 to [`MAX_ENTRIES_PER_CALL`]) on the default bus in one call and says,
    /// in their order, which were accepted. An error means the call failed as a whole (none
    /// of them is known to be on the bus).
    pub async fn put(&self, events: &[BusEvent]) -> Result<Vec<PutOutcome>> {
        if events.is_empty() || events.len() > MAX_ENTRIES_PER_CALL {
            return Err(Error::InvalidInput(format!(
                "PutEvents takes 1 to {MAX_ENTRIES_PER_CALL} entries, not {}",
                events.len()
            )));
        }
        let entries = events
            .iter()
            .map(|event| {
                PutEventsRequestEntry::builder()
                    .source(&event.source)
                    .detail_type(&event.detail_type)
                    .detail(&event.detail)
                    .set_resources(Some(event.resources.clone()))
                    .set_time(
                        event
                            .time
                            .map(|t| aws_smithy_types::DateTime::from_millis(t.timestamp_millis())),
                    )
                    .build()
            })
            .collect::<Vec<_>>();
        let out = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| classify("PutEvents", e))?;
        let results = out.entries();
        Ok((0..events.len())
            .map(|index| match results.get(index) {
                Some(result) => match (result.event_id(), result.error_code()) {
                    (Some(id), None) => PutOutcome::Accepted {
                        event_id: id.to_string(),
                    },
                    (_, code) => PutOutcome::Failed {
                        code: code.unwrap_or("Unknown").to_string(),
                        message: result.error_message().unwrap_or_default().to_string(),
                    },
                },
                // An answer shorter than the request: the missing ones are not known to
                // be on the bus, so they count as failed (and are retried).
                None => PutOutcome::Failed {
                    code: "NoResult".into(),
                    message: "PutEvents returned no result for this entry".into(),
                },
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
