//! Custom themes matched by example with the real sentence encoder: one
//! Spanish example finds Portuguese and English texts.

use escucha_classify::CustomThemes;
use escucha_core::Language;

#[test]
#[ignore = "needs the model: scripts/models.sh install"]
fn one_spanish_example_finds_portuguese_and_english_texts() {
    let encoder = escucha_embed::UseEncoder::load(&escucha_embed::default_model_dir())
        .expect("model installed");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("delivery.toml"),
        "id = \"delivery_delay\"\nexamples = [\"Mi pedido lleva dos semanas de retraso y todavía no me lo entregan\"]\n",
    )
    .unwrap();
    let embed = |texts: &[String]| encoder.embed(texts).map_err(|e| e.to_string());
    let themes = CustomThemes::load_dir(dir.path(), Some(&embed)).unwrap();
    let check = |text: &str, lang: Language| {
        let e = encoder.embed_one(text).unwrap();
        themes
            .classify(text, Some(lang), Some(&e))
            .iter()
            .any(|l| l.label == "delivery_delay")
    };
    assert!(check(
        "Meu pedido está atrasado há duas semanas e ainda não foi entregue",
        Language::Pt
    ));
    assert!(check(
        "My order is two weeks late and still hasn't been delivered",
        Language::En
    ));
    assert!(!check(
        "A fatura deste mês veio com uma cobrança em dobro",
        Language::Pt
    ));
    assert!(!check(
        "The agent was very kind and solved my billing question",
        Language::En
    ));
}
