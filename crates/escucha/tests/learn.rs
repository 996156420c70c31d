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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
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
