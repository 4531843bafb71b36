//! Release items: every write bounds its texts and lists on the way in (see
//! `stevedore_core::bounds`), so no path can grow an item past DynamoDB's 400 KB; a stage's
//! releases are read newest first, page by page.

use std::borrow::Cow;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use stevedore_core::bounds::{
    append_bounded, cut_text, is_kept_whole, keep_first_and_latest, MAX_LIST_ITEMS, MAX_TEXT_CHARS,
};
use stevedore_core::release::{release_pk, release_sk, Release};
use stevedore_core::{Error, Result};

use super::{decode, key, n, s, ReleaseKey, Store};
use crate::error::{classify, is_conditional_check_failure};

/// How often a bounded append reads and writes again when another write changed the list
/// in between; each round one of the racing writers wins.
const APPEND_ATTEMPTS: usize = 8;

/// A DynamoDB `LastEvaluatedKey`: where the next page starts.
type PageKey = HashMap<String, AttributeValue>;

/// `value` of release attribute `name` as it may be stored: every string in it cut to
/// `MAX_TEXT_CHARS` and every list to `MAX_LIST_ITEMS`, at any depth; keys and AWS-issued
/// identifiers are kept whole (`stevedore_core::bounds::KEPT_WHOLE`).
pub(super) fn bounded(name: &str, value: AttributeValue) -> AttributeValue {
    if is_kept_whole(name) {
        value
    } else {
        bounded_value(value)
    }
}

fn bounded_value(value: AttributeValue) -> AttributeValue {
    match value {
        AttributeValue::S(text) => {
            let cut = match cut_text(&text, MAX_TEXT_CHARS) {
                Cow::Owned(cut) => Some(cut),
                Cow::Borrowed(_) => None,
            };
            AttributeValue::S(cut.unwrap_or(text))
        }
        AttributeValue::L(items) => AttributeValue::L(
            keep_first_and_latest(items, MAX_LIST_ITEMS)
                .into_iter()
                .map(bounded_value)
                .collect(),
        ),
        AttributeValue::M(fields) => AttributeValue::M(
            fields
                .into_iter()
                .map(|(name, value)| (name, bounded_value(value)))
                .collect(),
        ),
        AttributeValue::Ss(texts) => AttributeValue::Ss(
            keep_first_and_latest(texts, MAX_LIST_ITEMS)
                .into_iter()
                .map(|text| cut_text(&text, MAX_TEXT_CHARS).into_owned())
                .collect(),
        ),
        other => other,
    }
}

/// A free text as a bounded string attribute value.
pub(super) fn text(value: &str) -> AttributeValue {
    s(cut_text(value, MAX_TEXT_CHARS))
}

impl Store {
    /// Writes a new release; `false` when a release with this id already exists (a duplicate event).
    pub async fn create_release(&self, release: &Release) -> Result<bool> {
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(release).map_err(|e| {
                Error::InvalidInput(format!(
                    "cannot encode release {}: {e}",
                    release.spec.release_id
                ))
            })?;
        let item = item
            .into_iter()
            .map(|(name, value)| {
                let value = bounded(&name, value);
                (name, value)
            })
            .collect();
        self.put_if_absent(item, "PutItem(release)").await
    }

    pub async fn get_release(
        &self,
        app: &str,
        stage: &str,
        release_id: &str,
    ) -> Result<Option<Release>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(release_pk(app, stage), release_sk(release_id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem(release)", e))?;
        out.item.map(|item| decode("release", item)).transpose()
    }

    /// Sets attributes of an existing release (phase timestamps, ARNs, results).
    pub async fn set_release_fields(
        &self,
        app: &str,
        stage: &str,
        release_id: &str,
        fields: &[(&str, AttributeValue)],
    ) -> Result<()> {
        let release = ReleaseKey {
            app,
            stage,
            release_id,
        };
        if self.update_release(release, fields, None).await? {
            Ok(())
        } else {
            Err(missing(release))
        }
    }

    /// Sets fields of the release's `index`-th entry of `list` (`services` or `schedules`),
    /// which render wrote; an index past the list's end changes nothing and is an error.
    pub async fn set_entry_fields(
        &self,
        release: ReleaseKey<'_>,
        list: &str,
        index: usize,
        fields: &[(&str, AttributeValue)],
    ) -> Result<()> {
        if fields.is_empty() {
            return Ok(());
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(release_key(release)))
            .expression_attribute_names("#list", list)
            .expression_attribute_values(":index", n(index as i64));
        let mut sets = Vec::new();
        for (i, (name, value)) in fields.iter().enumerate() {
            sets.push(format!("#list[{index}].#f{i} = :v{i}"));
            request = request
                .expression_attribute_names(format!("#f{i}"), *name)
                .expression_attribute_values(format!(":v{i}"), bounded(name, value.clone()));
        }
        match request
            .condition_expression("attribute_exists(PK) AND size(#list) > :index")
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_check_failure(&e) => Err(Error::InvalidInput(format!(
                "release {} of {}/{} has no {list}[{index}]",
                release.release_id, release.app, release.stage
            ))),
            Err(e) => Err(classify("UpdateItem(release entry)", e)),
        }
    }

    /// Appends `item` to the release's list attribute `list`, keeping the first entry and the
    /// latest ones (`MAX_LIST_ITEMS` in all), counts it in the number attribute `count`, and
    /// sets `fields`, in one write. The write only lands if `count` is still what was read
    /// (optimistic locking), so concurrent appends never lose an entry or a count: the loser
    /// reads again. Returns the new count.
    pub async fn append_to_release_list(
        &self,
        release: ReleaseKey<'_>,
        list: &str,
        count: &str,
        item: AttributeValue,
        fields: &[(&str, AttributeValue)],
    ) -> Result<u64> {
        for _ in 0..APPEND_ATTEMPTS {
            let (kept, seen) = self.read_bounded_list(release, list, count).await?;
            let (kept, total) = append_bounded(kept, seen, item.clone());
            let mut write = vec![(list, AttributeValue::L(kept)), (count, n(total as i64))];
            write.extend(fields.iter().cloned());
            if self
                .update_release(release, &write, Some((count, seen)))
                .await?
            {
                return Ok(total);
            }
        }
        Err(Error::TransientAws(format!(
            "release {} of {}/{}: `{list}` kept changing while appending; try again",
            release.release_id, release.app, release.stage
        )))
    }

    /// The list attribute and its count as stored (an absent count: a list from before counts).
    async fn read_bounded_list(
        &self,
        release: ReleaseKey<'_>,
        list: &str,
        count: &str,
    ) -> Result<(Vec<AttributeValue>, Option<u64>)> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(release_key(release)))
            .projection_expression("PK, #list, #count")
            .expression_attribute_names("#list", list)
            .expression_attribute_names("#count", count)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("GetItem(release list)", e))?;
        let item = out.item.ok_or_else(|| missing(release))?;
        let kept = match item.get(list) {
            None => Vec::new(),
            Some(AttributeValue::L(items)) => items.clone(),
            Some(_) => return Err(malformed(release, list)),
        };
        let seen = match item.get(count) {
            None => None,
            Some(value) => Some(
                value
                    .as_n()
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| malformed(release, count))?,
            ),
        };
        Ok((kept, seen))
    }

    /// SETs `fields` (bounded) on an existing release; with `guard` = (count attribute, count
    /// read), only while that count is unchanged. `false` when the release does not exist or
    /// the guard failed.
    async fn update_release(
        &self,
        release: ReleaseKey<'_>,
        fields: &[(&str, AttributeValue)],
        guard: Option<(&str, Option<u64>)>,
    ) -> Result<bool> {
        if fields.is_empty() {
            return Ok(true);
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(release_key(release)));
        let mut sets = Vec::new();
        for (i, (name, value)) in fields.iter().enumerate() {
            sets.push(format!("#f{i} = :v{i}"));
            request = request
                .expression_attribute_names(format!("#f{i}"), *name)
                .expression_attribute_values(format!(":v{i}"), bounded(name, value.clone()));
        }
        let condition = match guard {
            None => "attribute_exists(PK)".to_string(),
            Some((count, seen)) => {
                request = request.expression_attribute_names("#seen_count", count);
                match seen {
                    None => "attribute_exists(PK) AND attribute_not_exists(#seen_count)".into(),
                    Some(seen) => {
                        request = request.expression_attribute_values(":seen", n(seen as i64));
                        "attribute_exists(PK) AND #seen_count = :seen".into()
                    }
                }
            }
        };
        match request
            .condition_expression(condition)
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_check_failure(&e) => Ok(false),
            Err(e) => Err(classify("UpdateItem(release)", e)),
        }
    }

    /// Removes attributes of an existing release (e.g. a used task token).
    pub async fn remove_release_fields(
        &self,
        app: &str,
        stage: &str,
        release_id: &str,
        fields: &[&str],
    ) -> Result<()> {
        if fields.is_empty() {
            return Ok(());
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(release_pk(app, stage), release_sk(release_id))));
        let mut names = Vec::new();
        for (i, name) in fields.iter().enumerate() {
            names.push(format!("#r{i}"));
            request = request.expression_attribute_names(format!("#r{i}"), *name);
        }
        request
            .update_expression(format!("REMOVE {}", names.join(", ")))
            .send()
            .await
            .map_err(|e| classify("UpdateItem(release)", e))?;
        Ok(())
    }

    /// The stage's newest `limit` releases, newest first, over as many pages as that takes.
    pub async fn list_releases(
        &self,
        app: &str,
        stage: &str,
        limit: usize,
    ) -> Result<Vec<Release>> {
        let mut releases = Vec::new();
        let mut start = None;
        while releases.len() < limit {
            let remaining = i32::try_from(limit - releases.len()).unwrap_or(i32::MAX);
            let (page, next) = self
                .releases_page(app, stage, start, Some(remaining))
                .await?;
            releases.extend(page);
            match next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        releases.truncate(limit);
        Ok(releases)
    }

    /// The newest release of the stage for which `wanted` holds, reading page after page until
    /// one does or the stage's releases run out.
    pub async fn find_release(
        &self,
        app: &str,
        stage: &str,
        mut wanted: impl FnMut(&Release) -> bool,
    ) -> Result<Option<Release>> {
        let mut start = None;
        loop {
            let (page, next) = self.releases_page(app, stage, start, None).await?;
            if let Some(found) = page.into_iter().find(|release| wanted(release)) {
                return Ok(Some(found));
            }
            match next {
                Some(next) => start = Some(next),
                None => return Ok(None),
            }
        }
    }

    /// One page of the stage's releases, newest first, from `start`, with the key the next page
    /// starts at. A Query answers at most 1 MB per call however many items `limit` allows, and
    /// only a `LastEvaluatedKey` in the answer says whether more follow
    /// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html>).
    async fn releases_page(
        &self,
        app: &str,
        stage: &str,
        start: Option<PageKey>,
        limit: Option<i32>,
    ) -> Result<(Vec<Release>, Option<PageKey>)> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :rel)")
            .expression_attribute_values(":pk", s(release_pk(app, stage)))
            .expression_attribute_values(":rel", s("REL#"))
            .scan_index_forward(false)
            .consistent_read(true)
            .set_limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| classify("Query(releases)", e))?;
        let next = out.last_evaluated_key.filter(|key| !key.is_empty());
        let releases = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| decode("release", item))
            .collect::<Result<Vec<Release>>>()?;
        Ok((releases, next))
    }
}

fn release_key(release: ReleaseKey<'_>) -> HashMap<String, AttributeValue> {
    key(
        release_pk(release.app, release.stage),
        release_sk(release.release_id),
    )
}

fn missing(release: ReleaseKey<'_>) -> Error {
    Error::InvalidInput(format!(
        "release {} of {}/{} does not exist",
        release.release_id, release.app, release.stage
    ))
}

fn malformed(release: ReleaseKey<'_>, attribute: &str) -> Error {
    Error::AwsError(format!(
        "release {} of {}/{} holds a malformed `{attribute}`",
        release.release_id, release.app, release.stage
    ))
}

#[cfg(test)]
mod bounded_tests;
#[cfg(test)]
mod paging_tests;
#[cfg(test)]
mod tests;
