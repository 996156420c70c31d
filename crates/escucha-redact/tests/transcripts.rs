//! Realistic contact-center conversations in Spanish, Portuguese and English
//! carrying several kinds of personal data at once.

use escucha_core::Span;
use escucha_redact::{PiiKind, Redacted, Redactor};

/// A transcript and the personal data in it, each with the kind it must be
/// reported as.
struct Case {
    text: &'static str,
    pii: &'static [(&'static str, PiiKind)],
    /// Fragments next to the personal data that must survive as written.
    kept: &'static [&'static str],
}

const SPAIN: Case = Case {
    text: "Agente: Buenos días, le atiende Laura. ¿Me facilita su DNI?\n\
           Cliente: Sí, es 12345678Z. Llevo tres días esperando 😤 y ya llamé 4 veces.\n\
           Agente: Gracias. ¿Un teléfono de contacto?\n\
           Cliente: El 612 34 56 78, o mi correo maría.lópez@correo.es.\n\
           Agente: Veo el pedido 100234567 del 12/03/2025 por 1.500,00 €. ¿Pagó con la tarjeta 4111 1111 1111 1111?\n\
           Cliente: Sí. Y el reembolso, al IBAN ES91 2100 0418 4502 0005 1332, por favor. Mi NIE antiguo era X1234567L.",
    pii: &[
        ("Laura", PiiKind::PersonName),
        ("12345678Z", PiiKind::EsDni),
        ("612 34 56 78", PiiKind::Phone),
        ("maría.lópez@correo.es", PiiKind::Email),
        ("4111 1111 1111 1111", PiiKind::Card),
        ("ES91 2100 0418 4502 0005 1332", PiiKind::Iban),
        ("X1234567L", PiiKind::EsNie),
    ],
    kept: &[
        "¿Me facilita su DNI?",
        "Llevo tres días esperando 😤 y ya llamé 4 veces.",
        "pedido 100234567 del 12/03/2025 por 1.500,00 €.",
        "Cliente: El ",
        ", por favor.",
    ],
};

const LATAM: Case = Case {
    text: "Cliente: Hola, me llamo Ana Lucía Pérez y mi CURP es BOXW310820HNERXN09 y el RFC GODE561231GR8. Mi cel es +52 55 1234 5678.\n\
           Agente: Confirmo la CLABE 032180000118359719 para el depósito de $2,350.00 MXN en 3 días.\n\
           Cliente (AR): Mi DNI es 30.123.456, CUIT 20-12345678-6, CBU 2850590940090418135201, whatsapp +54 9 11 1234-5678.\n\
           Cliente (CL): mi RUT es 12.345.678-5 y el celular 9 1234 5678, ¡es la tercera vez que llamo!\n\
           Cliente (CO): cédula 1.020.304.050, celular 300 123 4567. El caso 3322 sigue abierto al 45%.",
    pii: &[
        ("Ana Lucía Pérez", PiiKind::PersonName),
        ("BOXW310820HNERXN09", PiiKind::MxCurp),
        ("GODE561231GR8", PiiKind::MxRfc),
        ("+52 55 1234 5678", PiiKind::Phone),
        ("032180000118359719", PiiKind::MxClabe),
        ("30.123.456", PiiKind::ArDni),
        ("20-12345678-6", PiiKind::ArCuit),
        ("2850590940090418135201", PiiKind::ArCbu),
        ("+54 9 11 1234-5678", PiiKind::Phone),
        ("12.345.678-5", PiiKind::ClRut),
        ("9 1234 5678", PiiKind::Phone),
        ("1.020.304.050", PiiKind::CoCedula),
        ("300 123 4567", PiiKind::Phone),
    ],
    kept: &[
        "depósito de $2,350.00 MXN en 3 días.",
        "¡es la tercera vez que llamo!",
        "El caso 3322 sigue abierto al 45%.",
    ],
};

const BRAZIL: Case = Case {
    text: "Atendente: Boa tarde! Pode confirmar o CPF?\n\
           Cliente: Claro, aqui é a Fernanda Souza, 123.456.789-09. O CNPJ da empresa é 11.222.333/0001-81.\n\
           Cliente: Meu celular é (11) 98765-4321 e o e-mail joao.silva@empresa.com.br. Já é a terceira vez que ligo, protocolo 20250312001.\n\
           Atendente: Obrigado pela paciência 🙏. O valor de R$ 1.299,90 será estornado no cartão 5500 0000 0000 0004 em até 7 dias úteis.\n\
           Cliente: Meu RG é 12.345.678-9, pode ligar no +55 (21) 3456-7890 também.",
    pii: &[
        ("Fernanda Souza", PiiKind::PersonName),
        ("123.456.789-09", PiiKind::BrCpf),
        ("11.222.333/0001-81", PiiKind::BrCnpj),
        ("(11) 98765-4321", PiiKind::Phone),
        ("joao.silva@empresa.com.br", PiiKind::Email),
        ("5500 0000 0000 0004", PiiKind::Card),
        ("12.345.678-9", PiiKind::BrRg),
        ("+55 (21) 3456-7890", PiiKind::Phone),
    ],
    kept: &[
        "Já é a terceira vez que ligo, protocolo 20250312001.",
        "Obrigado pela paciência 🙏. O valor de R$ 1.299,90 será estornado no cartão ",
        " em até 7 dias úteis.",
    ],
};

const ENGLISH: Case = Case {
    text: "Agent: Thanks for calling, can I get a phone number?\n\
           Customer: This is Mary O'Connor. It's (555) 123-4567, or email me at john.doe@example.org. My SSN is 123-45-6789 and I was on hold for 45 minutes!\n\
           Agent: I see claim 3322 from 03/12/2025 for $1,250.00, paid with the card ending in 1111?\n\
           Customer: Yes, 4111-1111-1111-1111. Call me at 555-987-6543 or spell it: jane at gmail dot com.",
    pii: &[
        ("Mary O'Connor", PiiKind::PersonName),
        ("(555) 123-4567", PiiKind::Phone),
        ("john.doe@example.org", PiiKind::Email),
        ("123-45-6789", PiiKind::UsSsn),
        ("4111-1111-1111-1111", PiiKind::Card),
        ("555-987-6543", PiiKind::Phone),
        ("jane at gmail dot com", PiiKind::Email),
    ],
    kept: &[
        "I was on hold for 45 minutes!",
        "claim 3322 from 03/12/2025 for $1,250.00, paid with the card ending in 1111?",
        "Call me at ",
        " or spell it: ",
    ],
};

/// The input with each piece of personal data replaced by its placeholder.
fn expected(case: &Case) -> String {
    let mut out = case.text.to_owned();
    for (pii, kind) in case.pii {
        assert_eq!(out.matches(pii).count(), 1, "{pii} must occur once");
        out = out.replace(pii, kind.placeholder());
    }
    out
}

/// Kinds in the order the personal data appears in the text.
fn kinds_in_text_order(case: &Case) -> Vec<PiiKind> {
    let mut found: Vec<(usize, PiiKind)> = case
        .pii
        .iter()
        .map(|(pii, kind)| (case.text.find(pii).unwrap(), *kind))
        .collect();
    found.sort();
    found.into_iter().map(|(_, k)| k).collect()
}

fn assert_placeholders_at_offsets(r: &Redacted) {
    for f in &r.findings {
        assert_eq!(
            f.span().slice(&r.text),
            f.kind.placeholder(),
            "finding {f:?} in {}",
            r.text
        );
    }
}

#[test]
fn transcripts_lose_every_piece_of_personal_data_and_nothing_else() {
    let redactor = Redactor::new();
    for case in [SPAIN, LATAM, BRAZIL, ENGLISH] {
        let r = redactor.redact(case.text);
        for (pii, _) in case.pii {
            assert!(!r.text.contains(pii), "{pii} left in:\n{}", r.text);
        }
        for kept in case.kept {
            assert!(r.text.contains(kept), "{kept:?} lost in:\n{}", r.text);
        }
        assert_eq!(r.text, expected(&case));
        let kinds: Vec<PiiKind> = r.findings.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, kinds_in_text_order(&case), "in:\n{}", r.text);
        assert_placeholders_at_offsets(&r);
    }
}

#[test]
fn offsets_count_characters_not_bytes() {
    let redactor = Redactor::new();
    let text = "Atención 😡😡 pésima, ñandú — mi DNI 12345678Z y móvil +34 612 345 678 ✅ ok";
    let r = redactor.redact(text);
    assert_eq!(
        r.text,
        "Atención 😡😡 pésima, ñandú — mi DNI [ID] y móvil [PHONE] ✅ ok"
    );
    let prefix = "Atención 😡😡 pésima, ñandú — mi DNI ";
    let start = prefix.chars().count();
    assert!(start < prefix.len(), "the prefix has multi-byte characters");
    assert_eq!((r.findings[0].start, r.findings[0].end), (start, start + 4));
    let phone_start = r.text.find("[PHONE]").unwrap();
    let phone_start = r.text[..phone_start].chars().count();
    assert_eq!(
        (r.findings[1].start, r.findings[1].end),
        (phone_start, phone_start + 7)
    );
    assert_eq!(
        r.findings[1].span(),
        Span::new(phone_start, phone_start + 7)
    );
    assert_placeholders_at_offsets(&r);
}

#[test]
fn text_without_personal_data_comes_back_unchanged() {
    let redactor = Redactor::new();
    let text = "Esperé 45 minutos 😤, me transfirieron 3 veces y el pedido 100234567 \
                del 12/03/2025 por 1.500,00 € sigue sin llegar. Caso 3322, 15% de descuento.";
    let r = redactor.redact(text);
    assert_eq!(r.text, text);
    assert!(r.findings.is_empty());
    assert!(!redactor.contains_pii(text));
    assert!(redactor.contains_pii("DNI 12345678Z"));
}

#[test]
fn in_place_redaction_leaves_clean_text_where_it_is() {
    let redactor = Redactor::new();
    let mut clean = String::from("Obrigado, resolveram em 2 dias, nota 10!");
    let ptr = clean.as_ptr();
    assert!(redactor.redact_in_place(&mut clean).is_empty());
    assert_eq!(clean, "Obrigado, resolveram em 2 dias, nota 10!");
    assert_eq!(clean.as_ptr(), ptr, "no new allocation");

    let mut dirty = String::from("CPF 529.982.247-25, obrigado");
    let findings = redactor.redact_in_place(&mut dirty);
    assert_eq!(dirty, "CPF [ID], obrigado");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].kind, PiiKind::BrCpf);
    assert_eq!((findings[0].start, findings[0].end), (4, 8));
}

#[test]
fn a_five_kilobyte_message_is_redacted_completely() {
    let redactor = Redactor::new();
    let lines = [
        "Cliente: llevo 3 semanas esperando el pedido 100234567, ya van 4 llamadas. ",
        "Agente: lamento mucho la espera, reviso el caso 3322 ahora mismo. ",
        "Cliente: mi DNI es 12345678Z y mi correo ana@correo.es. ",
        "Agente: perfecto, el reembolso de 1.500,00 € llega en 5 días hábiles. ",
        "Cliente: el teléfono es +34 612 345 678, gracias 🙏. ",
    ];
    let mut text = String::new();
    let mut rounds = 0;
    while text.len() < 5 * 1024 {
        for line in lines {
            text.push_str(line);
        }
        rounds += 1;
    }
    let r = redactor.redact(&text);
    assert_eq!(r.findings.len(), rounds * 3);
    for pii in ["12345678Z", "ana@correo.es", "612 345 678"] {
        assert!(!r.text.contains(pii));
    }
    assert_eq!(r.text.matches("pedido 100234567").count(), rounds);
    assert_eq!(r.text.matches("1.500,00 €").count(), rounds);
    assert_placeholders_at_offsets(&r);

    let clean: String = lines
        .iter()
        .filter(|l| l.contains("pedido") || l.contains("reembolso") || l.contains("caso"))
        .cycle()
        .take(80)
        .copied()
        .collect();
    assert!(clean.len() >= 5 * 1024);
    assert_eq!(redactor.redact(&clean).text, clean);
}

#[test]
fn redactor_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Redactor>();
    let redactor = std::sync::Arc::new(Redactor::default());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let redactor = redactor.clone();
            std::thread::spawn(move || redactor.redact(&format!("caso {i}: ana@correo.es")).text)
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), format!("caso {i}: [EMAIL]"));
    }
}
