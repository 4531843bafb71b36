//! record, fed by the release table's DynamoDB stream: every release transition becomes a
//! "Stevedore Release State Change" event on the default bus, and an EMF line with the
//! release metrics on stdout.
//!
//! Many functions write release items; the events are derived here alone, from each stream
//! record's old and new image (`stevedore_core::release::transition`). The event source
//! mapping filters on `SK` prefix `REL#` and reports batch item failures; records of other
//! items, removals and writes that are no transition are skipped.
//!
//! Delivery is at least once, in stream order per release:
//! - events are put in the order of the batch (one shard: one item's changes in the order
//!   they were made), at most 10 per PutEvents call;
//! - a record that fails (its PutEvents entry, or the whole call, failed; its app config
//!   could not be read; its item does not parse) is reported in `batchItemFailures` by its
//!   `SequenceNumber`, and so is every record after the failed call, which is not sent:
//!   Lambda checkpoints at the lowest failed sequence number and retries every record
//!   from it ("Lambda uses the record with the lowest sequence number as the checkpoint.
//!   Lambda then retries all records starting from that checkpoint",
//!   https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html).
//!   Entries of the failed call that were accepted are put again on the retry, so consumers
//!   dedupe on (`release_id`, `status`, `phase`); the detail of a redelivered record is the
//!   same as the first time.
//! - an EMF line is printed once its event was accepted and no record before it failed (a
//!   record that will come again with the retry prints its line then); a retry may still
//!   repeat a line, which EMF allows for ("duplicate metric values may occasionally occur").

use std::collections::HashMap;
use std::io::Write;

use aws_lambda_events::dynamodb::{Event as StreamBatch, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use stevedore_aws::{BusEvent, EventBus, PutOutcome, Store};
use stevedore_core::config::AppConfig;
use stevedore_core::metrics::emf_line;
use stevedore_core::release::event::ReleaseStateChange;
use stevedore_core::Error;

mod stream_record;

pub use stream_record::{bus_event, event_detail, release_transition};

/// One stream record, ready to put (or known to have failed before that).
enum Prepared {
    Event {
        sequence_number: String,
        event: BusEvent,
        change: Box<ReleaseStateChange>,
    },
    Failed {
        sequence_number: String,
        error: Error,
    },
}

/// Puts the batch's release events and prints their metrics; the answer names the records
/// to retry.
pub async fn handle(bus: &EventBus, store: &Store, batch: StreamBatch) -> DynamoDbEventResponse {
    let mut configs: HashMap<String, Option<AppConfig>> = HashMap::new();
    let mut prepared = Vec::new();
    for record in &batch.records {
        match prepare(store, &mut configs, record).await {
            Ok(Some(ready)) => prepared.push(ready),
            Ok(None) => {}
            Err(error) => prepared.push(Prepared::Failed {
                sequence_number: sequence_number(record),
                error,
            }),
        }
    }
    let mut response = DynamoDbEventResponse::default();
    for index in deliver(bus, &prepared).await {
        let (Prepared::Event {
            sequence_number, ..
        }
        | Prepared::Failed {
            sequence_number, ..
        }) = &prepared[index];
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence_number.clone());
        response.batch_item_failures.push(failure);
    }
    response
}

/// Puts the prepared events in order, 10 per call, until a record fails; returns the
/// indexes of the records to retry: the failed entries of that call and every record after
/// the call (none when all were delivered).
async fn deliver(bus: &EventBus, prepared: &[Prepared]) -> Vec<usize> {
    let mut start = 0;
    while start < prepared.len() {
        let rest = start..prepared.len();
        // The run of ready events from `start` (at most a call's worth).
        let run: Vec<(&BusEvent, &ReleaseStateChange)> = prepared[start..]
            .iter()
            .map_while(|item| match item {
                Prepared::Event { event, change, .. } => Some((event, change.as_ref())),
                Prepared::Failed { .. } => None,
            })
            .take(stevedore_aws::events::MAX_ENTRIES_PER_CALL)
            .collect();
        if run.is_empty() {
            if let Prepared::Failed { error, .. } = &prepared[start] {
                tracing::error!(error_type = error.error_type(), %error, "stream record not turned into an event; it is retried");
            }
            return rest.collect();
        }
        let events: Vec<BusEvent> = run.iter().map(|(event, _)| (*event).clone()).collect();
        let outcomes = match bus.put(&events).await {
            Ok(outcomes) => outcomes,
            Err(error) => {
                tracing::error!(error_type = error.error_type(), %error, count = events.len(), "PutEvents failed; the records are retried");
                return rest.collect();
            }
        };
        let mut failed = Vec::new();
        for (offset, ((_, change), outcome)) in run.iter().zip(&outcomes).enumerate() {
            match outcome {
                PutOutcome::Accepted { event_id } => {
                    tracing::info!(release_id = %change.release_id, app = %change.app, stage = %change.stage,
                        status = %change.status, phase = %change.phase, %event_id, "release event put");
                    // After a failed entry this record comes again with the retry: its
                    // metrics are printed then, once.
                    if failed.is_empty() {
                        if let Some(line) = emf_line(change) {
                            print_line(&line);
                        }
                    }
                }
                PutOutcome::Failed { code, message } => {
                    tracing::error!(release_id = %change.release_id, status = %change.status, phase = %change.phase,
                        %code, %message, "release event not accepted; it is retried");
                    failed.push(start + offset);
                }
            }
        }
        if !failed.is_empty() {
            failed.extend(start + run.len()..prepared.len());
            return failed;
        }
        start += run.len();
    }
    Vec::new()
}

/// The event of one stream record, `None` when the record is no release transition.
async fn prepare(
    store: &Store,
    configs: &mut HashMap<String, Option<AppConfig>>,
    record: &EventRecord,
) -> Result<Option<Prepared>, Error> {
    let Some((release, transition)) = release_transition(record)? else {
        return Ok(None);
    };
    let app = &release.spec.app;
    if !configs.contains_key(app) {
        let config = match store.get_app_config(app).await {
            Ok(config) => config,
            // A config that no longer validates names no service: the event goes out
            // without one rather than never.
            Err(Error::InvalidConfig(why)) => {
                tracing::warn!(%app, %why, "stored app config unreadable; event without service");
                None
            }
            Err(error) => return Err(error),
        };
        configs.insert(app.clone(), config);
    }
    let stage = configs
        .get(app)
        .and_then(Option::as_ref)
        .and_then(|config| config.stage(&release.spec.stage));
    let detail = event_detail(record, &release, &transition, stage);
    Ok(Some(Prepared::Event {
        sequence_number: sequence_number(record),
        event: bus_event(&release, &detail)?,
        change: Box::new(detail),
    }))
}

fn sequence_number(record: &EventRecord) -> String {
    record.change.sequence_number.clone().unwrap_or_default()
}

/// Writes an EMF line to stdout in one write under stdout's lock: the tracing subscriber
/// writes each of its lines through the same lock, so the two never share a line.
fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
        tracing::warn!(%error, "EMF line not written");
    }
}

#[cfg(test)]
mod tests;
