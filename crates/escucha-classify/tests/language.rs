//! Language detection on short informal texts and on longer messages.

use escucha_classify::detect_language;
use escucha_core::Language::{self, En, Es, Other, Pt};

const TEXTS: &[(&str, Language)] = &[
    // Short, informal Spanish.
    ("q mal servicio", Es),
    ("gracias!!", Es),
    ("muchas gracias por todo", Es),
    ("no funciona nada", Es),
    ("¿Me pueden llamar?", Es),
    ("xq no me contestan", Es),
    ("ahorita no puedo", Es),
    ("re contento con la atención", Es),
    ("vaya tela con el servicio", Es),
    // Short, informal Portuguese.
    ("vcs são ótimos", Pt),
    ("obg!!", Pt),
    ("não consigo acessar", Pt),
    ("valeu demais", Pt),
    ("ninguém resolve nada", Pt),
    ("demorou demais", Pt),
    ("cadê meu pedido?", Pt),
    ("muito obrigada pela ajuda", Pt),
    // Short, informal English.
    ("thx a lot", En),
    ("thanks!", En),
    ("still not working", En),
    ("my bill is wrong", En),
    ("pls call me back", En),
    ("u guys rock", En),
    ("worst service ever", En),
    // Longer texts.
    (
        "Buenas tardes, llevo tres días intentando comunicarme con ustedes para cancelar mi \
         suscripción y nadie me da una respuesta clara.",
        Es,
    ),
    (
        "Vaya, me han pasado con cuatro departamentos y al final me han dicho que vaya a la \
         tienda. Menuda pérdida de tiempo.",
        Es,
    ),
    (
        "Boa tarde, estou tentando falar com vocês há uma semana sobre uma cobrança indevida no \
         meu cartão e até agora ninguém me retornou.",
        Pt,
    ),
    (
        "A atendente foi super atenciosa e resolveu meu problema em poucos minutos, parabéns \
         pelo atendimento.",
        Pt,
    ),
    (
        "Hi, I have been trying to reach your support team for a week about a double charge on \
         my credit card and nobody has replied.",
        En,
    ),
    (
        "The agent was lovely and sorted out my account in a few minutes, really appreciate it.",
        En,
    ),
    // Other languages and texts without words.
    (
        "Merci beaucoup pour votre aide, le service était vraiment parfait.",
        Other,
    ),
    (
        "Vielen Dank für Ihre schnelle Hilfe, ich bin sehr zufrieden.",
        Other,
    ),
    (
        "Grazie mille per l'aiuto, siete stati gentilissimi con me.",
        Other,
    ),
    ("Спасибо большое за помощь", Other),
    ("🙏🙏🙏", Other),
    ("12345 !!!", Other),
    ("ok", Other),
    ("iPhone 15 Pro", Other),
    ("", Other),
];

#[test]
fn detects_short_and_long_texts() {
    let wrong: Vec<String> = TEXTS
        .iter()
        .filter_map(|&(text, expected)| {
            let got = detect_language(text);
            (got != expected).then(|| format!("{text:?}: got {got:?}, expected {expected:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(TEXTS.len() >= 30);
}

#[test]
fn accents_are_optional() {
    assert_eq!(detect_language("vcs sao otimos"), Pt);
    assert_eq!(detect_language("nao consigo acessar minha conta"), Pt);
    assert_eq!(detect_language("la atencion fue pesima"), Es);
}

#[test]
fn detection_is_deterministic() {
    for &(text, _) in TEXTS {
        assert_eq!(detect_language(text), detect_language(text));
    }
}
