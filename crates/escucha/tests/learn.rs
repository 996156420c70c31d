//! `escucha train` and `escucha eval` on the project's labelled examples,
//! with the real sentence encoder (installed by `scripts/models.sh install`).

use std::path::Path;
use std::process::Command;

fn macro_f1(output: &str, section: &str) -> f64 {
    let start = output
        .find(section)
        .unwrap_or_else(|| panic!("no {section} table in:\n{output}"));
    let line = output[start..]
        .lines()
        .find(|l| l.starts_with("macro"))
        .unwrap_or_else(|| panic!("no macro line in:\n{output}"));
    line.split_whitespace().last().unwrap().parse().unwrap()
}

#[test]
#[ignore = "needs the model: scripts/models.sh install"]
fn trained_heads_beat_the_cue_engine_on_the_dev_split() {
    let root = Path::new(
        &std::env::var_os("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../..");
    let heads = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_escucha");
    let train = Command::new(bin)
        .current_dir(&root)
        .args(["train", "--goemotions", "/nonexistent", "--out"])
        .arg(heads.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&train.stdout);
    assert!(
        train.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&train.stderr)
    );
    assert!(stdout.contains("expected calibration error"), "{stdout}");
    assert!(
        heads.path().join("emotions.json").exists() && heads.path().join("themes.json").exists()
    );

    let eval = |engine: &str| {
        let out = Command::new(bin)
            .current_dir(&root)
            .args(["eval", "--dev", "--engine", engine, "--heads"])
            .arg(heads.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let layered = eval("layered");
    let cues = eval("cues");
    for section in ["Emotions", "Themes"] {
        let (l, c) = (macro_f1(&layered, section), macro_f1(&cues, section));
        eprintln!("{section}: layered macro-F1 {l}, cues {c}");
        assert!(l > c, "{section}: layered {l} should beat cues {c}");
    }
    for lang in ["es ", "pt ", "en "] {
        assert!(
            layered.lines().any(|l| l.starts_with(lang)),
            "no {lang} row:\n{layered}"
        );
    }
}

/// The rust-bert engine end to end: heads trained on all-MiniLM-L6-v2
/// embeddings, then the dev split classified through them. MiniLM is an
/// English model, so the check is on the English rows: it must beat the
/// cue engine there, and `escucha classify`-style labels carry its engine.
#[cfg(feature = "bert")]
#[test]
#[ignore = "needs libtorch and the MiniLM model: scripts/libtorch.sh install"]
fn bert_engine_trains_heads_and_beats_the_cues_in_english() {
    let root = Path::new(
        &std::env::var_os("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../..");
    let heads = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_escucha");
    let train = Command::new(bin)
        .current_dir(&root)
        .args([
            "train",
            "--encoder",
            "minilm",
            "--goemotions",
            "/nonexistent",
            "--out",
        ])
        .arg(heads.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&train.stdout);
    assert!(
        train.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&train.stderr)
    );
    let heads_file = std::fs::read_to_string(heads.path().join("themes.json")).unwrap();
    assert!(
        heads_file.contains("all-minilm-l6-v2"),
        "heads not trained on MiniLM"
    );

    let eval = |engine: &str| {
        let out = Command::new(bin)
            .current_dir(&root)
            .args(["eval", "--dev", "--engine", engine, "--heads"])
            .arg(heads.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let bert = eval("bert");
    let cues = eval("cues");
    assert!(
        bert.contains("rust-bert"),
        "engine version missing:\n{bert}"
    );
    let english = |output: &str, section: &str| -> f64 {
        let start = output.find(section).unwrap();
        let line = output[start..]
            .lines()
            .find(|l| l.starts_with("en "))
            .unwrap_or_else(|| panic!("no en row in:\n{output}"));
        // language, examples, micro-F1, macro-F1, labels
        line.split_whitespace().nth(3).unwrap().parse().unwrap()
    };
    for section in ["Emotions", "Themes"] {
        let (b, c) = (english(&bert, section), english(&cues, section));
        eprintln!("{section} (en): bert macro-F1 {b}, cues {c}");
        assert!(b > c, "{section}: bert {b} should beat cues {c} in English");
    }
}
