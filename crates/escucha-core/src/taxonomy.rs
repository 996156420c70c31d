//! The built-in label ids. They are stable: the API, ClickHouse and the
//! dashboards use them exactly as written here.

/// Customer emotions.
pub const EMOTIONS: [&str; 10] = [
    "surprise",
    "familiarity",
    "relief",
    "gratitude",
    "belonging",
    "frustration",
    "anger",
    "anxiety",
    "confusion",
    "disappointment",
];

/// Emotions that build loyalty.
pub const LOYALTY_EMOTIONS: [&str; 5] = [
    "surprise",
    "familiarity",
    "relief",
    "gratitude",
    "belonging",
];

/// Emotions counted against net emotion.
pub const DETRACTING_EMOTIONS: [&str; 3] = ["frustration", "anger", "disappointment"];

/// Negative emotions (a transcript starting with one of these can recover).
pub const NEGATIVE_EMOTIONS: [&str; 5] = [
    "frustration",
    "anger",
    "anxiety",
    "confusion",
    "disappointment",
];

/// Process-gap themes.
pub const THEMES: [&str; 11] = [
    "long_wait",
    "transfer",
    "repeat_contact",
    "repeat_information",
    "bot_dead_end",
    "broken_self_service",
    "channel_mismatch",
    "no_callback",
    "knowledge_gap",
    "lack_of_empathy",
    "unresolved",
];

pub fn is_emotion(id: &str) -> bool {
    EMOTIONS.contains(&id)
}

pub fn is_builtin_theme(id: &str) -> bool {
    THEMES.contains(&id)
}

/// Whether `id` is a well-formed label id (lowercase ascii, digits, `_`,
/// starting with a letter, at most 64 characters). Custom themes must be.
pub fn is_valid_label_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some('a'..='z'))
        && id.len() <= 64
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_ids_are_valid_and_distinct() {
        let mut all: Vec<&str> = EMOTIONS.iter().chain(THEMES.iter()).copied().collect();
        assert!(all.iter().all(|id| is_valid_label_id(id)));
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 21);
        assert!(!is_valid_label_id("Long-wait"));
        assert!(!is_valid_label_id("9lives"));
    }
}
