//! Bounds on what a release item holds, so no item grows without limit.
//!
//! A DynamoDB item is at most 400 KB, attribute names and values included
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-items>),
//! and a write that would pass it fails: a release whose reason is a 32 KB Step Functions
//! cause, or whose smoke test retried a hundred times, must still be recorded. So every free
//! text is cut to [`MAX_TEXT_CHARS`] with a visible marker, and every list keeps its first
//! entry and the latest ones, at most [`MAX_LIST_ITEMS`] (with a count of all of them kept
//! beside it by whoever appends).

use std::borrow::Cow;

/// The most characters (Unicode scalar values) a text on a release item has, marker included:
/// enough for any reason a person reads, at most 8 KB of UTF-8.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// The most entries a list on a release item has: the first one and the latest others.
pub const MAX_LIST_ITEMS: usize = 20;

/// The most bytes of `hookDetails` (as JSON) Stevedore's lifecycle hook reads: its own
/// context is a few hundred bytes; anything much larger was not written by Stevedore.
pub const MAX_HOOK_DETAILS_BYTES: usize = 8 * 1024;

/// The longest app, stage or release id the hook accepts from `hookDetails` (config names
/// and ULIDs are far shorter).
pub const MAX_HOOK_NAME_CHARS: usize = 128;

/// The longest smoke-test URL the hook accepts from `hookDetails`.
pub const MAX_HOOK_URL_CHARS: usize = 2_048;

/// Attributes written whole whatever their length: the item's keys (cutting one would write
/// another item) and identifiers AWS issues that must round-trip exactly. A Step Functions
/// task token is up to 2,048 characters
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html>),
/// more than [`MAX_TEXT_CHARS`]; AWS bounds these itself.
pub const KEPT_WHOLE: [&str; 5] = ["PK", "SK", "GSI1PK", "GSI1SK", "approval_task_token"];

/// Whether `attribute` of a release item is written as it is (see [`KEPT_WHOLE`]).
pub fn is_kept_whole(attribute: &str) -> bool {
    KEPT_WHOLE.contains(&attribute)
}

/// `text`, or when it is longer than `max_chars` characters its beginning followed by
/// `… [cut N characters]` (N: how many were left out), `max_chars` characters in all. Cuts
/// fall on character boundaries, so multi-byte UTF-8 stays valid; a text that was cut already
/// fits and comes back unchanged. A bound shorter than the marker keeps only the marker.
pub fn cut_text(text: &str, max_chars: usize) -> Cow<'_, str> {
    let total = text.chars().count();
    if total <= max_chars {
        return Cow::Borrowed(text);
    }
    // The marker's length depends on how many characters it names: start from the count of
    // all of them (at least as many digits as any cut) and keep one more character while the
    // result still fits; a shorter marker frees at most one more character per step.
    let fits = |kept: usize| kept + marker(total - kept).chars().count() <= max_chars;
    let mut kept = max_chars.saturating_sub(marker(total).chars().count());
    while kept < total && fits(kept + 1) {
        kept += 1;
    }
    let cut_at = text
        .char_indices()
        .nth(kept)
        .map_or(text.len(), |(index, _)| index);
    Cow::Owned(format!("{}{}", &text[..cut_at], marker(total - kept)))
}

fn marker(cut: usize) -> String {
    format!("… [cut {cut} characters]")
}

/// `items` when there are at most `max_items`, else the first one followed by the latest
/// `max_items - 1`: how a list stays bounded yet shows how it started and where it is now.
pub fn keep_first_and_latest<T>(mut items: Vec<T>, max_items: usize) -> Vec<T> {
    if items.len() <= max_items {
        return items;
    }
    if max_items == 0 {
        return Vec::new();
    }
    let dropped = items.len() - max_items;
    items.drain(1..=dropped);
    items
}

/// Appends `item` to a bounded list (see [`keep_first_and_latest`]) whose entries so far
/// number `count` (`None` for a list written before it had a count: then every entry is
/// still in it). Returns the list to write and the new count.
pub fn append_bounded<T>(mut kept: Vec<T>, count: Option<u64>, item: T) -> (Vec<T>, u64) {
    let count = count.unwrap_or(kept.len() as u64) + 1;
    kept.push(item);
    (keep_first_and_latest(kept, MAX_LIST_ITEMS), count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_longer_than_the_bound_is_cut_with_the_count() {
        let text = "a".repeat(100);
        let cut = cut_text(&text, 40);
        assert_eq!(cut, format!("{}… [cut 81 characters]", "a".repeat(19)));
        assert_eq!(cut.chars().count(), 40);
    }

    #[test]
    fn multi_byte_text_is_cut_on_a_character_boundary() {
        // 'é' is 2 bytes, '🚢' 4: a cut by bytes would split them; the count is of characters.
        let text = "é🚢".repeat(50);
        let cut = cut_text(&text, 30);
        assert_eq!(cut, "é🚢é🚢é🚢é🚢é… [cut 91 characters]");
        assert_eq!(cut.chars().count(), 30);
    }

    #[test]
    fn text_exactly_at_the_bound_is_kept_whole() {
        let text = "ü".repeat(MAX_TEXT_CHARS);
        assert!(matches!(cut_text(&text, MAX_TEXT_CHARS), Cow::Borrowed(_)));
        let one_more = format!("{text}x");
        let cut = cut_text(&one_more, MAX_TEXT_CHARS);
        assert_eq!(cut.chars().count(), MAX_TEXT_CHARS);
        assert!(cut.ends_with("… [cut 22 characters]"), "{cut}");
    }

    #[test]
    fn text_below_the_bound_is_kept_whole() {
        assert_eq!(cut_text("short reason", 40), "short reason");
        assert_eq!(cut_text("", 40), "");
    }

    #[test]
    fn cutting_again_changes_nothing() {
        // A Step Functions cause is up to 32,768 characters.
        let text = "x".repeat(32_768);
        let once = cut_text(&text, MAX_TEXT_CHARS).into_owned();
        assert!(once.ends_with("… [cut 30792 characters]"), "{once}");
        assert_eq!(once.chars().count(), MAX_TEXT_CHARS);
        assert_eq!(cut_text(&once, MAX_TEXT_CHARS), once);
    }

    #[test]
    fn the_result_fills_the_bound_when_the_count_has_fewer_digits_than_the_total() {
        let text = "y".repeat(1_005);
        let cut = cut_text(&text, 1_000);
        assert_eq!(cut.chars().count(), 1_000);
        assert!(cut.ends_with("… [cut 26 characters]"), "{cut}");
    }

    #[test]
    fn a_bound_shorter_than_the_marker_keeps_the_marker() {
        assert_eq!(cut_text("abcdef", 3), "… [cut 6 characters]");
    }

    #[test]
    fn lists_keep_the_first_and_the_latest() {
        assert_eq!(keep_first_and_latest(vec![1, 2, 3], 5), vec![1, 2, 3]);
        assert_eq!(
            keep_first_and_latest(vec![1, 2, 3, 4, 5], 5),
            vec![1, 2, 3, 4, 5]
        );
        assert_eq!(
            keep_first_and_latest((1..=9).collect(), 5),
            vec![1, 6, 7, 8, 9]
        );
        assert_eq!(keep_first_and_latest(vec![1, 2], 1), vec![1]);
        assert_eq!(keep_first_and_latest(vec![1, 2], 0), Vec::<i32>::new());
    }

    #[test]
    fn appending_past_the_bound_keeps_the_first_the_latest_and_counts_all() {
        let (mut kept, mut count) = (Vec::new(), None);
        for attempt in 1..=MAX_LIST_ITEMS as u64 + 5 {
            let (list, total) = append_bounded(kept, count, attempt);
            (kept, count) = (list, Some(total));
        }
        assert_eq!(count, Some(MAX_LIST_ITEMS as u64 + 5));
        assert_eq!(kept.len(), MAX_LIST_ITEMS);
        assert_eq!(kept[0], 1);
        assert_eq!(kept[1], 7, "attempts 2..=6 were left out");
        assert_eq!(kept.last(), Some(&(MAX_LIST_ITEMS as u64 + 5)));
        // A list written before the count existed: all its entries count.
        assert_eq!(append_bounded(vec![1, 2], None, 3), (vec![1, 2, 3], 3));
    }

    #[test]
    fn keys_and_task_tokens_are_kept_whole() {
        assert!(is_kept_whole("SK") && is_kept_whole("approval_task_token"));
        assert!(!is_kept_whole("reason") && !is_kept_whole("smoke_test_reason"));
    }
}
