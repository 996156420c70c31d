//! Import of the GoEmotions corpus (English Reddit comments with 27 emotion
//! labels plus neutral) into escucha's emotion taxonomy.
//!
//! The corpus ships as TSV files (`text <TAB> label indices <TAB> comment id`,
//! indices comma-separated) and an `emotions.txt` naming one label per line,
//! the line number being the index.

use crate::dataset::{Dataset, DatasetError, Example};
use escucha_core::Language;

/// The GoEmotions labels escucha keeps, and the emotion each becomes. Every
/// other GoEmotions label is dropped.
pub const GOEMOTIONS_MAPPING: [(&str, &str); 8] = [
    ("gratitude", "gratitude"),
    ("relief", "relief"),
    ("surprise", "surprise"),
    ("confusion", "confusion"),
    ("nervousness", "anxiety"),
    ("disappointment", "disappointment"),
    ("anger", "anger"),
    ("annoyance", "frustration"),
];

/// The escucha emotion a GoEmotions label maps to, if any.
pub fn map_goemotions_label(name: &str) -> Option<&'static str> {
    GOEMOTIONS_MAPPING
        .iter()
        .find(|(from, _)| *from == name)
        .map(|(_, to)| *to)
}

impl Dataset {
    /// Builds an English emotion dataset from a GoEmotions TSV file and its
    /// `emotions.txt`. Labels are mapped with [`GOEMOTIONS_MAPPING`]; a text
    /// none of whose labels maps is kept as a neutral example (no emotions).
    /// Themes are always empty. Blank lines are skipped; malformed lines are
    /// errors naming the line (`origin` is `goemotions.tsv` or
    /// `emotions.txt`).
    pub fn from_goemotions(tsv: &str, emotions_txt: &str) -> Result<Dataset, DatasetError> {
        let names: Vec<&str> = emotions_txt
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if names.is_empty() {
            return Err(DatasetError::Invalid {
                origin: "emotions.txt".into(),
                line: 1,
                message: "no label names".into(),
            });
        }
        let mapped: Vec<Option<&'static str>> =
            names.iter().map(|n| map_goemotions_label(n)).collect();

        let mut examples = Vec::new();
        for (i, line) in tsv.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let invalid = |message: String| DatasetError::Invalid {
                origin: "goemotions.tsv".into(),
                line: i + 1,
                message,
            };
            let mut cols = line.split('\t');
            let text = cols.next().unwrap_or_default().trim();
            let indices = cols
                .next()
                .ok_or_else(|| invalid("expected `text<TAB>label indices`".into()))?;
            if text.is_empty() {
                return Err(invalid("empty text".into()));
            }
            let mut emotions: Vec<String> = Vec::new();
            for raw in indices.split(',') {
                let raw = raw.trim();
                let index: usize = raw
                    .parse()
                    .map_err(|_| invalid(format!("label index `{raw}` is not a number")))?;
                let target = mapped.get(index).ok_or_else(|| {
                    invalid(format!(
                        "label index {index} out of range (emotions.txt has {} labels)",
                        names.len()
                    ))
                })?;
                if let Some(target) = target {
                    if !emotions.iter().any(|e| e == target) {
                        emotions.push(target.to_string());
                    }
                }
            }
            examples.push(Example {
                text: text.to_string(),
                lang: Language::En,
                emotions,
                themes: Vec::new(),
            });
        }
        Dataset::new(examples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use escucha_core::taxonomy;

    /// The label order of the published `emotions.txt`.
    const EMOTIONS_TXT: &str = "admiration\namusement\nanger\nannoyance\napproval\ncaring\nconfusion\ncuriosity\ndesire\ndisappointment\ndisapproval\ndisgust\nembarrassment\nexcitement\nfear\ngratitude\ngrief\njoy\nlove\nnervousness\noptimism\npride\nrealization\nrelief\nremorse\nsadness\nsurprise\nneutral\n";

    #[test]
    fn every_mapping_target_is_an_emotion() {
        for (_, to) in GOEMOTIONS_MAPPING {
            assert!(taxonomy::is_emotion(to), "{to}");
        }
    }

    #[test]
    fn maps_labels_and_keeps_unmapped_texts_as_neutral() {
        let tsv = "Thanks so much, that fixed it!\t15\teabc1\n\
                   I'm so nervous about the results\t19,14\teabc2\n\
                   This is getting on my nerves. Why again?\t3,2\teabc3\n\
                   Wow I didn't see that coming\t26,13\teabc4\n\
                   lol nice\t1,17\teabc5\n\
                   \n\
                   Honestly expected better, what?\t9,6\teabc6\r\n\
                   Phew, glad that's over\t23\teabc7\n";
        let d = Dataset::from_goemotions(tsv, EMOTIONS_TXT).unwrap();
        let got: Vec<Vec<String>> = d.iter().map(|e| e.emotions.clone()).collect();
        let want: Vec<Vec<&str>> = vec![
            vec!["gratitude"],
            vec!["anxiety"],
            vec!["frustration", "anger"],
            vec!["surprise"],
            vec![],
            vec!["disappointment", "confusion"],
            vec!["relief"],
        ];
        assert_eq!(got, want);
        assert!(d
            .iter()
            .all(|e| e.lang == Language::En && e.themes.is_empty()));
        assert_eq!(d.examples()[4].text, "lol nice");
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let err = Dataset::from_goemotions("ok\t1\tx\nbroken line\n", EMOTIONS_TXT).unwrap_err();
        assert_eq!(
            err.to_string(),
            "goemotions.tsv:2: expected `text<TAB>label indices`"
        );
        let err = Dataset::from_goemotions("ok\t1\tx\nbad\t99\ty\n", EMOTIONS_TXT).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("goemotions.tsv:2: label index 99 out of range"));
        let err = Dataset::from_goemotions("bad\tx\ty\n", EMOTIONS_TXT).unwrap_err();
        assert!(err.to_string().contains("`x` is not a number"));
        assert!(Dataset::from_goemotions("a\t1\n", "").is_err());
    }
}
