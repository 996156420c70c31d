//! The rules of the cue engine one by one: evidence spans, negation scope,
//! contrast, sarcasm, courtesy, intensity, languages, and custom lexicons.

use escucha_classify::{CueClassifier, LexiconError, DEFAULT_MIN_CONFIDENCE};
use escucha_core::{Classification, Classifier, Label, Language, TextInput};
use std::sync::OnceLock;

fn engine() -> &'static CueClassifier {
    static ENGINE: OnceLock<CueClassifier> = OnceLock::new();
    ENGINE.get_or_init(CueClassifier::builtin)
}

fn run(text: &str, language: Option<Language>) -> Classification {
    engine().classify(TextInput { text, language })
}

fn label<'a>(out: &'a Classification, id: &str) -> Option<&'a Label> {
    out.emotions
        .iter()
        .chain(&out.themes)
        .find(|l| l.label == id)
}

fn has(out: &Classification, id: &str) -> bool {
    label(out, id).is_some()
}

/// The original text each evidence span of `id` covers.
fn evidence<'t>(out: &Classification, id: &str, text: &'t str) -> Vec<&'t str> {
    label(out, id)
        .unwrap_or_else(|| panic!("{id} missing in {out:?}"))
        .evidence
        .iter()
        .map(|s| s.slice(text))
        .collect()
}

#[test]
fn evidence_spans_are_character_offsets_into_the_original_text() {
    let text = "¡Ay! Esperé DOS horas en la línea 😡😡";
    let out = run(text, Some(Language::Es));
    assert_eq!(evidence(&out, "long_wait", text), vec!["Esperé DOS horas"]);
    assert_eq!(evidence(&out, "anger", text), vec!["😡", "😡"]);
    let anger = label(&out, "anger").unwrap();
    // "😡" is one character (and four bytes): spans count characters.
    assert_eq!(anger.evidence[0].len(), 1);
    assert_eq!(anger.evidence[0].start, 34);

    let text = "Não entendi nada da fatura 🤔 e a atendente não sabia explicar";
    let out = run(text, None);
    assert_eq!(
        evidence(&out, "confusion", text),
        vec!["Não entendi nada", "🤔"]
    );
    assert_eq!(
        evidence(&out, "knowledge_gap", text),
        vec!["não sabia explicar"]
    );

    let text = "Thanks a LOT, Ana 🙏🏽";
    let out = run(text, None);
    assert_eq!(
        evidence(&out, "gratitude", text),
        vec!["Thanks a LOT", "🙏🏽"]
    );
}

#[test]
fn evidence_survives_missing_accents_elongation_and_decomposed_letters() {
    let text = "graciaaas, nunca espere q me devolvieran el dinero tan rapido";
    let out = run(text, Some(Language::Es));
    assert_eq!(evidence(&out, "gratitude", text), vec!["graciaaas"]);

    // "é" written as "e" + combining acute accent.
    let text = "Esperando hace una eternidad, qu\u{65}\u{301} desastre";
    let out = run(text, Some(Language::Es));
    assert_eq!(
        evidence(&out, "long_wait", text),
        vec!["Esperando hace", "una eternidad"]
    );

    let text = "I didn’t expect it to be THIS fast";
    let out = run(text, None);
    assert_eq!(evidence(&out, "surprise", text), vec!["didn’t expect"]);
}

#[test]
fn stems_and_word_gaps_match_inflections_and_numbers() {
    for text in [
        "Estoy preocupada por el cobro",
        "Estamos preocupados por el cobro",
        "Me tuvieron 45 minutos al teléfono",
        "Me tuvieron cuarenta minutos al teléfono",
    ] {
        let out = run(text, Some(Language::Es));
        assert!(
            has(&out, "anxiety") || has(&out, "long_wait"),
            "{text}: {out:?}"
        );
    }
    let out = run("O app ficou bugado de novo", Some(Language::Pt));
    assert!(has(&out, "broken_self_service"), "{out:?}");
}

#[test]
fn negation_vetoes_the_cue_that_follows_within_the_clause() {
    for (text, lang, vetoed) in [
        ("I didn't have to wait at all", Language::En, "long_wait"),
        ("I didn't even have to wait", Language::En, "long_wait"),
        ("no me transfirieron", Language::Es, "transfer"),
        (
            "Nunca tuve que repetir mis datos",
            Language::Es,
            "repeat_information",
        ),
        ("Não precisei esperar", Language::Pt, "long_wait"),
        ("sem demora nenhuma", Language::Pt, "long_wait"),
        ("Nobody transferred me", Language::En, "transfer"),
        ("No estoy preocupada", Language::Es, "anxiety"),
    ] {
        let out = run(text, Some(lang));
        assert!(!has(&out, vetoed), "{text}: {out:?}");
    }
}

#[test]
fn negation_does_not_cross_punctuation_or_clause_markers() {
    let out = run("No, estuve dos horas esperando", Some(Language::Es));
    assert!(has(&out, "long_wait"), "{out:?}");
    let out = run(
        "No sé si me entendieron, pero me transfirieron tres veces",
        Some(Language::Es),
    );
    assert!(has(&out, "transfer"), "{out:?}");
    let out = run(
        "I did not complain and I was transferred twice",
        Some(Language::En),
    );
    assert!(has(&out, "transfer"), "{out:?}");
    // Far from the negator, the cue stands.
    let out = run(
        "No me explicaron bien nada de lo que tuve que esperar hoy",
        Some(Language::Es),
    );
    assert!(has(&out, "long_wait"), "{out:?}");
}

#[test]
fn cues_that_contain_their_own_negation_are_not_vetoed() {
    for (text, lang, id) in [
        ("sigue sin funcionar", Language::Es, "unresolved"),
        ("still not working", Language::En, "unresolved"),
        ("still not working", Language::En, "frustration"),
        ("continua sem funcionar", Language::Pt, "unresolved"),
        (
            "nunca me devolvieron la llamada",
            Language::Es,
            "no_callback",
        ),
        ("I can't log in again", Language::En, "frustration"),
    ] {
        let out = run(text, Some(lang));
        assert!(has(&out, id), "{text}: {out:?}");
    }
}

#[test]
fn both_sides_of_a_contrast_keep_their_labels() {
    let out = run(
        "at first I was angry but then they solved it and I was relieved",
        None,
    );
    assert!(has(&out, "anger") && has(&out, "relief"), "{out:?}");
    let out = run(
        "Fiquei irritada no início, porém resolveram e fiquei aliviada",
        None,
    );
    assert!(has(&out, "anger") && has(&out, "relief"), "{out:?}");
    // A negated cue stays vetoed on its side of the contrast.
    let out = run(
        "Me atendieron rápido, aunque no me resolvieron nada",
        Some(Language::Es),
    );
    assert!(has(&out, "unresolved"), "{out:?}");
    let out = run(
        "The agent was kind, but I didn't get any callback and I wasn't transferred",
        Some(Language::En),
    );
    assert!(!has(&out, "transfer"), "{out:?}");
}

#[test]
fn sarcastic_thanks_are_not_gratitude() {
    for (text, lang) in [
        ("gracias por nada", Language::Es),
        ("Muchas gracias por nada, de verdad", Language::Es),
        ("thanks for nothing", Language::En),
        ("obrigado por nada", Language::Pt),
        ("great, another hour on hold", Language::En),
        ("Thanks for making me wait two hours", Language::En),
        ("Gracias por hacerme esperar toda la mañana", Language::Es),
        ("Obrigada pela demora de três dias", Language::Pt),
        ("Genial, otra vez la app caída", Language::Es),
    ] {
        let out = run(text, Some(lang));
        assert!(!has(&out, "gratitude"), "{text}: {out:?}");
    }
    let out = run("great, another hour on hold", None);
    assert!(
        has(&out, "long_wait") && has(&out, "frustration"),
        "{out:?}"
    );
    // Sincere thanks for the same words in another sentence are kept.
    let out = run(
        "Gracias por nada, la primera vez. Hoy sí: gracias por resolverlo tan rápido",
        Some(Language::Es),
    );
    assert!(has(&out, "gratitude"), "{out:?}");
}

#[test]
fn a_courtesy_formula_closing_a_complaint_is_not_gratitude() {
    let out = run(
        "Llevo tres días sin servicio y nadie me resuelve. Gracias.",
        None,
    );
    assert!(!has(&out, "gratitude"), "{out:?}");
    assert!(has(&out, "unresolved"), "{out:?}");
    let out = run(
        "Waited 2 hours on hold. Thanks in advance for fixing this.",
        None,
    );
    assert!(!has(&out, "gratitude"), "{out:?}");
    // Without a complaint, or with real praise, thanks are gratitude.
    assert!(has(&run("Gracias.", Some(Language::Es)), "gratitude"));
    let out = run(
        "Esperé un poco en la línea, pero muchas gracias, muy amable la chica",
        Some(Language::Es),
    );
    assert!(has(&out, "gratitude"), "{out:?}");
}

#[test]
fn intensifiers_capitals_and_exclamations_raise_confidence() {
    let conf = |text: &str, id: &str| {
        label(&run(text, Some(Language::Es)), id)
            .unwrap_or_else(|| panic!("{id} missing for {text}"))
            .confidence
    };
    assert!(conf("estoy muy preocupada", "anxiety") > conf("estoy preocupada", "anxiety"));
    assert!(conf("es el COLMO", "anger") > conf("es el colmo", "anger"));
    assert!(conf("es el colmo!!!", "anger") > conf("es el colmo", "anger"));
    assert!(conf("gracias 🙏", "gratitude") > conf("gracias", "gratitude"));
    for text in ["es el COLMO!!!", "gracias gracias gracias 🙏🙏"] {
        let out = run(text, Some(Language::Es));
        for l in out.emotions.iter().chain(&out.themes) {
            assert!(l.confidence <= 0.99, "{l:?}");
        }
    }
}

#[test]
fn shouting_a_complaint_is_anger() {
    let out = run("ME TRANSFIRIERON CINCO VECES", Some(Language::Es));
    assert!(has(&out, "anger") && has(&out, "transfer"), "{out:?}");
    let text = "ME TRANSFIRIERON CINCO VECES";
    assert_eq!(evidence(&out, "anger", text), vec![text]);
    let text = "Esto es una PESADILLA, LLEVO TRES HORAS esperando";
    let out = run(text, Some(Language::Es));
    assert_eq!(
        evidence(&out, "anger", text),
        vec!["PESADILLA", "LLEVO TRES HORAS"]
    );
    // Capitals alone, without a complaint, are not anger.
    let out = run("MUCHAS GRACIAS POR TODO", Some(Language::Es));
    assert!(!has(&out, "anger"), "{out:?}");
    // An acronym in a calm complaint is not shouting.
    let out = run("Me transfirieron y el DNI no aparecía", Some(Language::Es));
    assert!(!has(&out, "anger"), "{out:?}");
}

#[test]
fn neutral_texts_and_texts_without_words_get_no_labels() {
    for text in [
        "",
        "   ",
        "ok",
        "12345",
        "?",
        "Mi número de cliente es 4471",
    ] {
        let out = run(text, None);
        assert!(
            out.emotions.is_empty() && out.themes.is_empty(),
            "{text}: {out:?}"
        );
    }
}

#[test]
fn declared_language_wins_and_other_tries_every_lexicon() {
    let text = "obrigado";
    assert_eq!(run(text, Some(Language::Pt)).language, Language::Pt);
    // Declared Spanish: the Portuguese cue is not looked up.
    assert!(!has(&run(text, Some(Language::Es)), "gratitude"));
    // Declared `Other` falls back to detection.
    assert_eq!(
        run("muito obrigada pela ajuda", Some(Language::Other)).language,
        Language::Pt
    );
    // A text in another language tries all three lexicons.
    let text = "Vielen Dank für nichts, ich habe zwei Stunden gewartet. Worst service ever!";
    let out = run(text, None);
    assert_eq!(out.language, Language::Other);
    assert!(has(&out, "anger"), "{out:?}");
    let out = run("J'ai attendu deux heures au téléphone 😡", None);
    assert_eq!(out.language, Language::Other);
    assert!(has(&out, "anger"), "{out:?}");
    let out = engine().classify(TextInput {
        text: "Danke! muchas gracias 🙏",
        language: Some(Language::Other),
    });
    assert!(has(&out, "gratitude"), "{out:?}");
}

#[test]
fn labels_are_sorted_by_confidence_and_split_into_emotions_and_themes() {
    let out = run(
        "Es el colmo, me transfirieron tres veces y sigo sin solución, estoy harta",
        Some(Language::Es),
    );
    assert_eq!(out.engine, "cues-1");
    for list in [&out.emotions, &out.themes] {
        assert!(list.windows(2).all(|w| w[0].confidence >= w[1].confidence));
    }
    assert!(has(&out, "anger") && has(&out, "frustration"));
    assert!(has(&out, "transfer") && has(&out, "unresolved"));
    assert!(out.emotions.iter().all(|l| l.label != "transfer"));
}

#[test]
fn the_threshold_is_configurable() {
    let strict = CueClassifier::builtin().with_min_confidence(0.9);
    assert_eq!(
        CueClassifier::builtin().min_confidence(),
        DEFAULT_MIN_CONFIDENCE
    );
    let text = "Estoy preocupada";
    assert!(has(&run(text, Some(Language::Es)), "anxiety"));
    let out = strict.classify(TextInput {
        text,
        language: Some(Language::Es),
    });
    assert!(out.emotions.is_empty(), "{out:?}");
    // A weak cue alone stays under the default threshold.
    assert!(!has(
        &run("la app", Some(Language::Es)),
        "broken_self_service"
    ));
}

#[test]
fn batches_classify_like_single_texts() {
    let inputs = [
        TextInput {
            text: "Qué alivio, por fin",
            language: None,
        },
        TextInput {
            text: "the bot kept looping",
            language: Some(Language::En),
        },
    ];
    let batch = engine().classify_batch(&inputs);
    assert_eq!(batch.len(), 2);
    for (input, out) in inputs.iter().zip(&batch) {
        assert_eq!(out, &engine().classify(*input));
    }
    assert!(has(&batch[0], "relief"));
    assert!(has(&batch[1], "bot_dead_end"));
}

#[test]
fn the_builtin_engine_knows_all_21_labels() {
    let labels = engine().labels();
    for id in escucha_core::taxonomy::EMOTIONS
        .iter()
        .chain(&escucha_core::taxonomy::THEMES)
    {
        assert!(labels.contains(id), "{id}");
    }
    assert_eq!(labels.len(), 21);
}

#[test]
fn custom_lexicons_add_themes_without_code() {
    let custom = r#"
        language = "any"
        [labels.card_blocked]
        cues = ["tarjeta bloquead*", "cartão bloquead*", "card blocked", "blocked card"]
        [labels.gratitude]
        cues = [{ cue = "merci", weight = 0.8 }]
    "#;
    let engine = CueClassifier::from_lexicon_toml(custom).unwrap();
    assert_eq!(engine.labels(), vec!["card_blocked", "gratitude"]);
    let text = "Me dejaron la tarjeta bloqueada otra vez";
    let out = engine.classify(TextInput {
        text,
        language: None,
    });
    assert_eq!(out.themes.len(), 1);
    assert_eq!(out.themes[0].label, "card_blocked");
    assert_eq!(out.themes[0].evidence[0].slice(text), "tarjeta bloqueada");
    assert!(out.emotions.is_empty());
    let out = engine.classify(TextInput {
        text: "merci!",
        language: None,
    });
    assert_eq!(out.emotions[0].label, "gratitude");

    // Custom files merge with the built-in ones.
    let es = r#"
        language = "es"
        [grammar]
        negators = ["no"]
        [labels.card_blocked]
        cues = ["tarjeta bloquead*"]
    "#;
    let engine = CueClassifier::from_lexicons(&[es, custom]).unwrap();
    let classify = |text| {
        engine.classify(TextInput {
            text,
            language: Some(Language::Es),
        })
    };
    assert_eq!(classify("Tengo la tarjeta bloqueada").themes.len(), 1);
    assert!(classify("No tengo la tarjeta bloqueada").themes.is_empty());
    // The `any` lexicon is merged into Spanish.
    assert_eq!(classify("merci").emotions.len(), 1);
}

#[test]
fn invalid_lexicons_are_rejected_with_the_reason() {
    assert!(matches!(
        CueClassifier::from_lexicons(&[]),
        Err(LexiconError::NoLexicon)
    ));
    let err = CueClassifier::from_lexicon_toml("language = 'fr'").unwrap_err();
    assert!(matches!(err, LexiconError::UnknownLanguage(_)), "{err}");
    let err = CueClassifier::from_lexicon_toml("language = 'en'\n[labels.Card]\ncues = ['card']")
        .unwrap_err();
    assert!(matches!(err, LexiconError::InvalidLabel(_)), "{err}");
    let err = CueClassifier::from_lexicon_toml("language = 'en'\n[labels.card]\ncues = ['*card']")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("invalid pattern `*card` in labels.card"),
        "{err}"
    );
    let err = CueClassifier::from_lexicon_toml("language = 'en'\nlabels = 3").unwrap_err();
    assert!(matches!(err, LexiconError::Toml(_)), "{err}");
}
