//! Table-driven behaviour of the built-in cue engine on hand-written customer
//! texts in Spanish, Portuguese and English.
//!
//! Each case lists the labels the engine must emit. `exact` cases must emit
//! exactly those labels (emotions and themes together) and nothing else;
//! `partial` cases list labels that must be present and labels that must be
//! absent. Every text is classified twice: without a declared language (the
//! detected language must be the case's language) and with it declared.

use escucha_classify::CueClassifier;
use escucha_core::{taxonomy, Classification, Classifier, Language, TextInput};
use std::collections::BTreeSet;

struct Case {
    lang: Language,
    text: &'static str,
    present: &'static [&'static str],
    absent: &'static [&'static str],
    exact: bool,
}

const fn exact(lang: Language, text: &'static str, labels: &'static [&'static str]) -> Case {
    Case {
        lang,
        text,
        present: labels,
        absent: &[],
        exact: true,
    }
}

const fn partial(
    lang: Language,
    text: &'static str,
    present: &'static [&'static str],
    absent: &'static [&'static str],
) -> Case {
    Case {
        lang,
        text,
        present,
        absent,
        exact: false,
    }
}

use Language::{En, Es, Pt};

#[rustfmt::skip]
const CASES: &[Case] = &[
    // ----------------------------------------------------------------- Spanish
    exact(Es, "Llevo más de una hora esperando en la línea y nadie atiende.", &["long_wait"]),
    exact(Es, "Me transfirieron cuatro veces y al final nadie me resolvió el problema.", &["transfer", "unresolved"]),
    exact(Es, "Es la tercera vez que llamo por el mismo cobro indebido.", &["repeat_contact"]),
    exact(Es, "Tuve que repetir mis datos a cada persona que me atendió.", &["repeat_information"]),
    exact(Es, "El bot no entiende lo que le escribo y no me deja hablar con una persona.", &["bot_dead_end"]),
    exact(Es, "La app no funciona desde ayer, me sale un error al pagar.", &["broken_self_service"]),
    exact(Es, "Me dijeron que tenía que ir a una sucursal porque por chat no se podía hacer.", &["channel_mismatch"]),
    exact(Es, "Quedaron en llamarme el lunes y nunca me llamaron.", &["no_callback"]),
    exact(Es, "El agente no tenía idea de cómo funciona mi plan, tuvo que preguntar a su supervisor.", &["knowledge_gap"]),
    exact(Es, "El chico que me atendió fue muy grosero y me colgó.", &["lack_of_empathy"]),
    exact(Es, "Sigo sin internet después de tres reclamos.", &["unresolved", "frustration", "repeat_contact"]),
    exact(Es, "¡Qué sorpresa! No esperaba que me devolvieran el dinero tan rápido.", &["surprise"]),
    exact(Es, "La chica ya conocía mi historial y no tuve que explicar nada.", &["familiarity"]),
    exact(Es, "Qué alivio, por fin me activaron la tarjeta.", &["relief"]),
    exact(Es, "Muchísimas gracias a Carla, súper amable y me ayudó con todo.", &["gratitude"]),
    exact(Es, "Soy cliente desde hace quince años y me siento parte de la familia.", &["belonging"]),
    exact(Es, "Otra vez se cortó la luz y otra vez nadie sabe decirme cuándo vuelve.", &["frustration", "knowledge_gap"]),
    exact(Es, "Es una vergüenza, son unos ladrones, me cobraron dos veces el mismo mes.", &["anger"]),
    exact(Es, "Estoy muy preocupada porque no sé si me van a cortar el servicio.", &["anxiety"]),
    exact(Es, "No entiendo por qué me cobraron este cargo en la factura.", &["confusion"]),
    exact(Es, "Me decepcionó mucho, esperaba mucho más de ustedes.", &["disappointment"]),
    exact(Es, "El operador me dejó en espera veinte minutos y después me colgó sin decir nada.", &["long_wait", "lack_of_empathy"]),
    exact(Es, "Es el colmo, llevo una semana sin luz y me siguen dando largas.", &["anger", "long_wait"]),
    exact(Es, "Estoy cansado de que me pasen de un área a otra sin darme solución.", &["frustration", "transfer", "unresolved"]),
    exact(Es, "El asistente virtual me manda siempre al mismo menú, es un bucle sin salida.", &["bot_dead_end"]),
    exact(Es, "Me piden que mande un correo porque por teléfono no pueden hacer el cambio.", &["channel_mismatch"]),
    exact(Es, "El técnico nunca vino y nadie se comunicó para reprogramar la visita.", &["no_callback"]),
    exact(Es, "Hablé con tres asesores y cada uno me dio una respuesta distinta.", &["transfer", "knowledge_gap"]),
    exact(Es, "Me sentí ignorada, la agente estaba en otra cosa y ni me escuchó.", &["lack_of_empathy"]),
    exact(Es, "Gracias, Juan, por la paciencia y por explicarme todo tan claro.", &["gratitude"]),
    // negation
    exact(Es, "No tuve que esperar nada, me atendieron enseguida.", &[]),
    exact(Es, "No me transfirieron ni me hicieron repetir mis datos, todo excelente.", &[]),
    exact(Es, "Jamás me hicieron esperar en esta sucursal.", &[]),
    // contrast
    exact(Es, "Al principio estaba furiosa, pero la agente lo solucionó y quedé tranquila.", &["anger", "relief"]),
    exact(Es, "El sistema de facturas es confuso, pero la atención fue excelente, gracias.", &["confusion", "gratitude"]),
    // sarcasm
    exact(Es, "Gracias por nada, sigo igual que antes.", &["anger", "unresolved"]),
    exact(Es, "Genial, otra hora más en espera.", &["frustration", "long_wait"]),
    exact(Es, "Gracias por tenerme 40 minutos esperando 🙄", &["frustration", "long_wait"]),
    // informal, regional, emoji
    exact(Es, "q onda, llevo 3 dias esperando respuesta y nada 😤", &["long_wait", "frustration"]),
    exact(Es, "Me dijeron que ahorita me llaman y ya pasó una semana.", &["no_callback"]),
    exact(Es, "Vaya tela, me han pasado con cuatro departamentos distintos.", &["frustration", "transfer"]),
    exact(Es, "Grax x la ayuda!! 🙏", &["gratitude"]),
    exact(Es, "Q boludez, tuve que llamar de nuevo porque la web no anda.", &["anger", "repeat_contact", "broken_self_service"]),
    exact(Es, "Pésima atención 😡😡", &["anger"]),
    exact(Es, "Me atendieron rapidísimo, no me lo esperaba 😮", &["surprise"]),
    exact(Es, "Mi hijo está internado y necesito que me activen el seguro urgente 😰", &["anxiety"]),
    exact(Es, "LLEVO TRES HORAS ESPERANDO Y NADIE ME RESUELVE NADA!!!", &["anger", "long_wait", "unresolved"]),
    exact(Es, "Hace dos semanas que espero el reembolso y nadie me da respuesta.", &["long_wait"]),
    exact(Es, "Me atendió Marta, un sol, me solucionó todo en cinco minutos.", &["gratitude"]),
    exact(Es, "La página del banco se cae cada vez que intento hacer una transferencia.", &["broken_self_service"]),
    exact(Es, "Me tuvieron en espera 50 minutos para decirme que llame a otro número.", &["long_wait", "channel_mismatch"]),
    exact(Es, "Estoy harta de explicar lo mismo a cada operador.", &["frustration", "repeat_information"]),
    exact(Es, "Ningún asesor supo decirme cuándo llega mi pedido.", &["knowledge_gap"]),
    exact(Es, "El robot de WhatsApp solo me manda respuestas automáticas.", &["bot_dead_end"]),
    exact(Es, "Me siento muy tranquila después de hablar con ustedes, gracias.", &["relief", "gratitude"]),
    exact(Es, "No me llamaron nunca, ni el lunes ni el martes.", &["no_callback"]),
    exact(Es, "Gracias por la rapidez, no tuve que esperar nada.", &["gratitude"]),
    exact(Es, "Ya es la cuarta vez que escribo por el mismo tema 😡", &["anger", "repeat_contact"]),
    exact(Es, "no me resolvieron nada pero la chica fue muy amable", &["unresolved", "gratitude"]),
    exact(Es, "Nunca me transfirieron, la primera persona lo resolvió.", &[]),
    // neutral
    exact(Es, "Necesito cambiar la dirección de facturación de mi cuenta.", &[]),
    exact(Es, "Hola, quisiera saber el horario de atención de la sucursal del centro.", &[]),
    exact(Es, "¿Cuánto cuesta el plan con 20 gigas?", &[]),
    exact(Es, "Quiero dar de baja la línea adicional que contraté en marzo.", &[]),
    exact(Es, "Estoy esperando el paquete para mañana, avísenme si hay cambios.", &[]),
    exact(Es, "Ya no sé qué más hacer, nadie me da una solución.", &["frustration", "unresolved"]),
    exact(Es, "No hay palabras, la peor experiencia de mi vida.", &["anger"]),
    // -------------------------------------------------------------- Portuguese
    exact(Pt, "Fiquei mais de uma hora esperando na linha e ninguém atendeu.", &["long_wait"]),
    exact(Pt, "Me transferiram pra cinco setores diferentes e não resolveram nada.", &["transfer", "unresolved"]),
    exact(Pt, "Já liguei quatro vezes por causa da mesma cobrança.", &["repeat_contact"]),
    exact(Pt, "Tive que repetir meu CPF umas dez vezes para pessoas diferentes.", &["repeat_information"]),
    exact(Pt, "O robô não entende o que eu escrevo e não tem opção pra falar com atendente.", &["bot_dead_end"]),
    exact(Pt, "O aplicativo não abre desde a atualização, só fica na tela branca.", &["broken_self_service"]),
    exact(Pt, "Me mandaram ir até a agência porque pelo chat não dava pra fazer.", &["channel_mismatch"]),
    exact(Pt, "Ficaram de me ligar na sexta e até hoje ninguém me ligou.", &["no_callback"]),
    exact(Pt, "A atendente não soube responder e me passou informação errada.", &["knowledge_gap"]),
    exact(Pt, "O atendente foi grosso e desligou na minha cara.", &["lack_of_empathy"]),
    exact(Pt, "Continuo sem internet, o problema não foi resolvido.", &["unresolved"]),
    exact(Pt, "Nossa, fiquei surpresa, resolveram em cinco minutos!", &["surprise"]),
    exact(Pt, "A atendente já sabia do meu caso, nem precisei explicar de novo.", &["familiarity"]),
    exact(Pt, "Ufa, que alívio! Consegui recuperar minha conta.", &["relief"]),
    exact(Pt, "Muito obrigada pela paciência, a Juliana foi super atenciosa!", &["gratitude"]),
    exact(Pt, "Sou cliente há mais de dez anos e me sinto em casa com vocês.", &["belonging"]),
    exact(Pt, "De novo a fatura veio errada, já não aguento mais.", &["frustration"]),
    exact(Pt, "Que absurdo! Isso é uma palhaçada, vou no Procon.", &["anger"]),
    exact(Pt, "Estou preocupada, não sei se o pagamento caiu.", &["anxiety"]),
    exact(Pt, "Não entendi nada dessa cobrança, alguém pode me explicar?", &["confusion"]),
    exact(Pt, "Fiquei decepcionado, esperava muito mais da operadora.", &["disappointment"]),
    exact(Pt, "A URA fica em loop e nunca chega num humano.", &["bot_dead_end"]),
    exact(Pt, "Disseram que pelo WhatsApp não fazem isso e que eu tenho que ligar.", &["channel_mismatch"]),
    exact(Pt, "O técnico não apareceu e ninguém entrou em contato.", &["no_callback"]),
    exact(Pt, "O atendente leu um script o tempo todo, zero empatia.", &["lack_of_empathy"]),
    exact(Pt, "Já é a terceira vez que abro chamado e o problema persiste.", &["repeat_contact", "unresolved"]),
    exact(Pt, "Falei com três atendentes diferentes e cada um falou uma coisa.", &["transfer", "knowledge_gap"]),
    exact(Pt, "Finalmente voltou a funcionar, que alívio, obrigado!", &["relief", "gratitude"]),
    exact(Pt, "Me sinto parte dessa família, recomendo vocês pra todo mundo.", &["belonging"]),
    exact(Pt, "Atendente não sabia nada, ficou me enrolando meia hora.", &["knowledge_gap", "long_wait"]),
    // negation
    exact(Pt, "Não precisei esperar nada, fui atendido na hora.", &[]),
    exact(Pt, "Nem precisei repetir meus dados, já estava tudo no sistema.", &["familiarity"]),
    exact(Pt, "Nunca me deixaram esperando nessa loja.", &[]),
    // contrast
    exact(Pt, "No começo fiquei irritado, mas a atendente resolveu e fiquei aliviado.", &["anger", "relief"]),
    exact(Pt, "O atendimento foi ótimo, porém o app continua travando.", &["gratitude", "broken_self_service"]),
    // sarcasm
    exact(Pt, "Obrigado por nada, continuo sem solução.", &["anger", "unresolved"]),
    exact(Pt, "Ótimo, mais uma hora na fila de espera.", &["frustration", "long_wait"]),
    exact(Pt, "Parabéns pela demora, três dias pra responder um e-mail.", &["long_wait"]),
    // informal, emoji
    exact(Pt, "vcs demoraram demais pra responder, affs", &["long_wait", "frustration"]),
    exact(Pt, "mds ninguém resolve nada aqui, tô de saco cheio", &["unresolved", "frustration"]),
    exact(Pt, "obg pela ajuda, vc é um anjo 🙏", &["gratitude"]),
    exact(Pt, "Péssimo atendimento 😡", &["anger", "disappointment"]),
    exact(Pt, "Chegou antes do prazo, não esperava! 😲", &["surprise"]),
    exact(Pt, "Tô com medo de perder o voo, preciso do reembolso urgente 😰", &["anxiety"]),
    exact(Pt, "vcs são ótimos, resolveram rapidinho", &["gratitude", "relief"]),
    exact(Pt, "Não consigo entrar no aplicativo, diz que minha senha está errada.", &["broken_self_service"]),
    exact(Pt, "Que vergonha, cobraram duas vezes e ninguém resolve.", &["anger", "unresolved"]),
    exact(Pt, "Me passaram de um setor pro outro e ninguém sabia de nada.", &["transfer", "knowledge_gap"]),
    exact(Pt, "Faz 10 anos que sou cliente e nunca tive problema, recomendo.", &["belonging"]),
    exact(Pt, "Estou muito ansiosa esperando a resposta do seguro.", &["anxiety"]),
    // neutral
    exact(Pt, "Gostaria de atualizar meu endereço de cobrança.", &[]),
    exact(Pt, "Qual o horário de funcionamento da loja do shopping?", &[]),
    exact(Pt, "Bom dia, quero saber o saldo da minha conta.", &[]),
    exact(Pt, "Meu pedido chegou hoje, tudo certo.", &[]),
    exact(Pt, "Vocês atendem no sábado?", &[]),
    exact(Pt, "O sistema caiu bem na hora de pagar, tive que ir na loja.", &["broken_self_service", "channel_mismatch"]),
    exact(Pt, "Obrigada, Pedro! Você salvou meu dia 💙", &["gratitude", "relief"]),
    // ----------------------------------------------------------------- English
    exact(En, "I was on hold for over an hour before anyone picked up.", &["long_wait"]),
    exact(En, "They transferred me three times and nobody could fix my internet.", &["transfer", "unresolved"]),
    exact(En, "This is the fourth time I've contacted you about the same charge.", &["repeat_contact"]),
    exact(En, "Every agent asked me to repeat my account number and address.", &["repeat_information"]),
    exact(En, "The chatbot kept sending me links and never let me talk to a human.", &["bot_dead_end"]),
    exact(En, "Your website keeps giving me an error when I try to pay my bill.", &["broken_self_service"]),
    exact(En, "The chat agent told me to call the phone line because they can't do it online.", &["channel_mismatch"]),
    exact(En, "They promised to call me back within 24 hours and I never heard back.", &["no_callback"]),
    exact(En, "The rep had no idea how the new plan works and gave me wrong information.", &["knowledge_gap"]),
    exact(En, "The agent was rude and hung up on me.", &["lack_of_empathy"]),
    exact(En, "My issue is still not resolved after two weeks.", &["unresolved"]),
    exact(En, "Wow, I didn't expect the replacement to arrive the next day!", &["surprise"]),
    exact(En, "The agent already knew my history, so I didn't have to explain anything.", &["familiarity"]),
    exact(En, "What a relief, my account is finally unlocked.", &["relief"]),
    exact(En, "Thank you so much, Sarah was incredibly helpful!", &["gratitude"]),
    exact(En, "I've been a customer for 12 years and you guys feel like family.", &["belonging"]),
    exact(En, "Once again my order is delayed, I'm so fed up.", &["frustration", "long_wait"]),
    exact(En, "This is outrageous, you charged me twice and nobody cares!", &["anger", "lack_of_empathy"]),
    exact(En, "I'm really worried my card was used by someone else.", &["anxiety"]),
    exact(En, "I don't understand why my bill went up this month.", &["confusion"]),
    exact(En, "Honestly disappointed, I expected better from you.", &["disappointment"]),
    exact(En, "The automated menu has no option for billing disputes.", &["bot_dead_end"]),
    exact(En, "They said I have to go to a store in person to change my plan.", &["channel_mismatch"]),
    exact(En, "The technician never showed up and nobody followed up.", &["no_callback"]),
    exact(En, "I'm nervous about the surgery bill, not sure if insurance covers it.", &["anxiety"]),
    exact(En, "The representative was condescending and didn't listen to a word I said.", &["lack_of_empathy"]),
    exact(En, "I have called 6 times and I get a different answer from each person.", &["repeat_contact", "knowledge_gap"]),
    exact(En, "Finally got my money back, thank you!", &["relief", "gratitude"]),
    exact(En, "Proud to be a member since 2009, best bank ever.", &["belonging"]),
    // negation
    exact(En, "I didn't have to wait at all, great experience.", &[]),
    exact(En, "I was not transferred once, the first agent handled everything.", &[]),
    exact(En, "I never had to wait on hold with this company.", &[]),
    partial(En, "Nobody asked me to repeat my details this time.", &[], &["repeat_information"]),
    // contrast
    exact(En, "At first I was angry, but then they solved it and I was relieved.", &["anger", "relief"]),
    exact(En, "The app is confusing, but the support team was amazing, thanks!", &["confusion", "gratitude"]),
    // sarcasm
    exact(En, "Thanks for nothing, my problem is still there.", &["anger", "unresolved"]),
    exact(En, "Great, another hour on hold.", &["frustration", "long_wait"]),
    exact(En, "Thanks for keeping me on hold for 45 minutes 🙄", &["frustration", "long_wait"]),
    // informal, emoji
    exact(En, "thx a lot guys, u rock!!", &["gratitude"]),
    exact(En, "ugh still waiting 4 my refund smh", &["frustration", "long_wait"]),
    exact(En, "omg cant log in AGAIN, this app is sooo buggy", &["broken_self_service", "frustration"]),
    exact(En, "u guys never called me back lol", &["no_callback"]),
    exact(En, "Worst customer service ever 😡", &["anger"]),
    exact(En, "😞 expected more from a premium plan", &["disappointment"]),
    exact(En, "Package arrived a week early 😮", &["surprise"]),
    exact(En, "I've been waiting three weeks for a refund and nobody replies to my emails.", &["long_wait"]),
    exact(En, "Your app logged me out and now I can't get back in.", &["broken_self_service"]),
    exact(En, "Nobody ever called me back about my complaint.", &["no_callback"]),
    exact(En, "I'm confused, the email says one thing and the agent said another.", &["confusion", "knowledge_gap"]),
    exact(En, "I've been with you guys since 2005, never going anywhere else.", &["belonging"]),
    partial(En, "It's ridiculous that I have to explain my problem again every single time.", &["anger", "repeat_information"], &["gratitude"]),
    // neutral
    exact(En, "I'd like to update the billing address on my account.", &[]),
    exact(En, "What are your opening hours on Saturday?", &[]),
    exact(En, "Please send me a copy of my last invoice.", &[]),
    exact(En, "I'm waiting for the courier, should arrive tomorrow.", &[]),
    exact(En, "My order arrived today, everything looks fine.", &[]),
    exact(En, "Not impressed. Took three calls to cancel a subscription.", &["disappointment", "repeat_contact"]),
    exact(En, "Your IVR is a maze, I pressed 0 ten times and still got nowhere.", &["bot_dead_end", "unresolved"]),
];

fn labels(c: &Classification) -> BTreeSet<&str> {
    c.emotions
        .iter()
        .chain(&c.themes)
        .map(|l| l.label.as_str())
        .collect()
}

fn check(case: &Case, out: &Classification) -> Option<String> {
    let got = labels(out);
    let missing: Vec<&str> = case
        .present
        .iter()
        .copied()
        .filter(|l| !got.contains(l))
        .collect();
    let unexpected: Vec<&str> = if case.exact {
        got.iter()
            .copied()
            .filter(|l| !case.present.contains(l))
            .collect()
    } else {
        case.absent
            .iter()
            .copied()
            .filter(|l| got.contains(l))
            .collect()
    };
    (!missing.is_empty() || !unexpected.is_empty()).then(|| {
        format!(
            "{:?} {:?}: missing {missing:?}, unexpected {unexpected:?} (got {got:?})",
            case.lang, case.text
        )
    })
}

#[test]
fn every_case_gets_exactly_its_labels() {
    let engine = CueClassifier::builtin();
    let mut failures = Vec::new();
    for case in CASES {
        let detected = engine.classify(TextInput {
            text: case.text,
            language: None,
        });
        if detected.language != case.lang {
            failures.push(format!(
                "{:?}: detected {:?}, expected {:?}",
                case.text, detected.language, case.lang
            ));
        }
        failures.extend(check(case, &detected));
        let declared = engine.classify(TextInput {
            text: case.text,
            language: Some(case.lang),
        });
        assert_eq!(declared.language, case.lang);
        failures.extend(check(case, &declared).map(|f| format!("declared: {f}")));
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_covers_every_label_in_every_language() {
    for lang in [Es, Pt, En] {
        let cases: Vec<&Case> = CASES.iter().filter(|c| c.lang == lang).collect();
        assert!(cases.len() >= 40, "{lang:?} has {} cases", cases.len());
        let neutral = cases
            .iter()
            .filter(|c| c.exact && c.present.is_empty())
            .count();
        assert!(neutral >= 3, "{lang:?} has {neutral} texts without labels");
        for id in taxonomy::EMOTIONS.iter().chain(&taxonomy::THEMES) {
            assert!(
                cases.iter().any(|c| c.present.contains(id)),
                "{lang:?} has no case expecting {id}"
            );
        }
    }
    assert!(CASES.len() >= 120);
}

#[test]
fn every_label_comes_with_confidence_and_evidence() {
    let engine = CueClassifier::builtin();
    for case in CASES {
        let out = engine.classify(TextInput {
            text: case.text,
            language: Some(case.lang),
        });
        assert_eq!(out.engine, "cues-1");
        let chars = case.text.chars().count();
        for label in out.emotions.iter().chain(&out.themes) {
            assert!(
                (0.5..=1.0).contains(&label.confidence),
                "{}: {} has confidence {}",
                case.text,
                label.label,
                label.confidence
            );
            assert!(!label.evidence.is_empty(), "{}: {}", case.text, label.label);
            for span in &label.evidence {
                assert!(span.start < span.end && span.end <= chars);
                assert!(!span.slice(case.text).trim().is_empty());
            }
        }
        assert!(out.emotions.iter().all(|l| taxonomy::is_emotion(&l.label)));
        assert!(out
            .themes
            .iter()
            .all(|l| taxonomy::is_builtin_theme(&l.label)));
    }
}
