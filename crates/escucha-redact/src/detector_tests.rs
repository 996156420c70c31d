//! Behaviour of each detector through the public API: what is redacted,
//! and realistic look-alikes that must be left alone.

use crate::{PiiKind, Redacted, Redactor};
use std::sync::OnceLock;

fn redactor() -> &'static Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(Redactor::new)
}

fn redact(text: &str) -> Redacted {
    redactor().redact(text)
}

/// Asserts the redacted text and the kinds found, in order.
#[track_caller]
fn assert_redacts(input: &str, expected: &str, kinds: &[PiiKind]) {
    let r = redact(input);
    assert_eq!(r.text, expected, "input: {input}");
    let found: Vec<PiiKind> = r.findings.iter().map(|f| f.kind).collect();
    assert_eq!(found, kinds, "input: {input}");
}

#[track_caller]
fn assert_untouched(input: &str) {
    let r = redact(input);
    assert_eq!(r.text, input, "findings: {:?}", r.findings);
    assert!(r.findings.is_empty());
}

use PiiKind::*;

#[test]
fn emails() {
    assert_redacts(
        "escríbeme a ana.perez+cx@correo.com.mx, gracias",
        "escríbeme a [EMAIL], gracias",
        &[Email],
    );
    assert_redacts(
        "meu email é joão_silva@empresa.com.br.",
        "meu email é [EMAIL].",
        &[Email],
    );
    assert_redacts(
        "Contact: JOHN.DOE@EXAMPLE.ORG (work)",
        "Contact: [EMAIL] (work)",
        &[Email],
    );
    assert_redacts(
        "Mi correo es ana @ gmail.com",
        "Mi correo es [EMAIL]",
        &[Email],
    );
    assert_redacts(
        "mi correo es ana punto perez arroba gmail punto com por favor",
        "mi correo es [EMAIL] por favor",
        &[Email],
    );
    assert_redacts(
        "it's john at outlook dot co dot uk",
        "it's [EMAIL]",
        &[Email],
    );
    assert_redacts(
        "o email é maria arroba uol ponto com ponto br",
        "o email é [EMAIL]",
        &[Email],
    );
}

#[test]
fn email_look_alikes_are_kept() {
    assert_untouched("nos vemos @ las 10:30 en la tienda");
    assert_untouched("follow us @escucha on social");
    assert_untouched("the user@localhost account");
    assert_untouched("look at the site, the dot is red");
    assert_untouched("estoy en casa, arroba es el símbolo");
}

#[test]
fn phones_in_international_formats() {
    for (input, expected) in [
        ("llame al +34 612 345 678 mañana", "llame al [PHONE] mañana"),
        ("meu número: +55 (11) 91234-5678.", "meu número: [PHONE]."),
        ("cel +52 55 1234 5678", "cel [PHONE]"),
        (
            "WhatsApp +54 9 11 1234-5678, gracias",
            "WhatsApp [PHONE], gracias",
        ),
        ("call +1 (555) 123-4567 today", "call [PHONE] today"),
        ("número +5511912345678", "número [PHONE]"),
        ("tel +56 9 1234 5678", "tel [PHONE]"),
        ("ligue +351 912 345 678", "ligue [PHONE]"),
        ("toll free 1-800-555-0199", "toll free [PHONE]"),
    ] {
        assert_redacts(input, expected, &[Phone]);
    }
}

#[test]
fn phones_in_national_formats() {
    for (input, expected) in [
        (
            "me liga no (11) 98765-4321 por favor",
            "me liga no [PHONE] por favor",
        ),
        ("call me at (555) 123-4567", "call me at [PHONE]"),
        ("my number is 555-123-4567.", "my number is [PHONE]."),
        ("mi móvil es 612 34 56 78", "mi móvil es [PHONE]"),
        ("llámame al 612 345 678", "llámame al [PHONE]"),
        ("fijo 91 123 45 67", "fijo [PHONE]"),
        ("CDMX 55 1234 5678", "CDMX [PHONE]"),
        ("en Buenos Aires 011 4567-8901", "en Buenos Aires [PHONE]"),
        ("celular 11 91234-5678", "celular [PHONE]"),
        ("ou 91234-5678", "ou [PHONE]"),
        ("celular 9 1234 5678", "celular [PHONE]"),
        ("Bogotá 300 123 4567", "Bogotá [PHONE]"),
    ] {
        assert_redacts(input, expected, &[Phone]);
    }
}

#[test]
fn plain_digit_runs_are_phones_only_after_a_cue() {
    assert_redacts(
        "mi teléfono es el 612345678, gracias",
        "mi teléfono es el [PHONE], gracias",
        &[Phone],
    );
    assert_redacts("Celular: 3001234567", "Celular: [PHONE]", &[Phone]);
    assert_redacts(
        "meu whatsapp é 11987654321",
        "meu whatsapp é [PHONE]",
        &[Phone],
    );
    assert_redacts(
        "phone number 5551234567 or 5559876543",
        "phone number [PHONE] or [PHONE]",
        &[Phone, Phone],
    );
    assert_redacts(
        "teléfonos 612345678, 698765432 y 911234567",
        "teléfonos [PHONE], [PHONE] y [PHONE]",
        &[Phone, Phone, Phone],
    );
    assert_redacts(
        "Llamadme al 612345678. Gracias",
        "Llamadme al [PHONE]. Gracias",
        &[Phone],
    );
    assert_redacts("tel. 4567-8901", "tel. [PHONE]", &[Phone]);
    assert_redacts(
        "celular 11 98765 4321 ou 11 91234 5678",
        "celular [PHONE] ou [PHONE]",
        &[Phone, Phone],
    );
    // The number stops before a date that follows it.
    assert_redacts(
        "teléfono 612345678 12/03 por la tarde",
        "teléfono [PHONE] 12/03 por la tarde",
        &[Phone],
    );
    assert_untouched("el celular costó 1.200.000 pesos");
    assert_redacts(
        "llámame al 612 345 678, mil gracias",
        "llámame al [PHONE], mil gracias",
        &[Phone],
    );
    assert_untouched("la marca 12345678 no aparece");
    assert_untouched("tel 12 34");
    assert_redacts(
        "ligue para 11987654321 amanhã",
        "ligue para [PHONE] amanhã",
        &[Phone],
    );
    // Without a cue the same digits are an order number.
    assert_untouched("pedido 612345678 enviado");
    assert_untouched("order 5551234567 shipped");
}

#[test]
fn phone_numbers_do_not_swallow_neighbouring_numbers() {
    assert_redacts("+34 612 345 678 2 veces", "[PHONE] 2 veces", &[Phone]);
    // Two phones read in a row are two phones, not one card.
    assert_redacts(
        "612 345 678 698 765 432",
        "[PHONE] [PHONE]",
        &[Phone, Phone],
    );
    // A phone-shaped slice of a longer digit sequence is not a phone.
    assert_untouched("ref 2100 0418 4502 0005 1332");
}

#[test]
fn phone_look_alikes_are_kept() {
    for text in [
        "la factura es de 1.500,00 euros",
        "pagué $ 1.234.567 el 12/03/2025 a las 10:30",
        "llegó el 2025-03-12, tardó 3 días",
        "claim 3322 about the warranty",
        "subió un 15% desde 2019-2024",
        "el pedido 123456789 del 12.03.2025",
        "de 9:00-18:00 horas, 24/7",
        "el precio bajó a 1 234 euros",
        "ticket #4455, caso 1234-5678",
        "R$ 1.299,90 em 10x",
        "costó 612 345 678 pesos",
        "version 1.2.3.4 build 20240312",
    ] {
        assert_untouched(text);
    }
}

#[test]
fn cards_are_luhn_checked() {
    assert_redacts(
        "mi tarjeta es 4111 1111 1111 1111, vence 12/27",
        "mi tarjeta es [CARD], vence 12/27",
        &[Card],
    );
    assert_redacts("card 5500-0000-0000-0004", "card [CARD]", &[Card]);
    assert_redacts("amex 378282246310005.", "amex [CARD].", &[Card]);
    assert_redacts(
        "cartão 4111111111111111 e 6011 1111 1111 1117",
        "cartão [CARD] e [CARD]",
        &[Card, Card],
    );
    // A card read out with the expiry right after it.
    assert_redacts("4111 1111 1111 1111 12 27", "[CARD] 12 27", &[Card]);
    // Fails Luhn.
    assert_untouched("tarjeta 4111 1111 1111 1112");
    assert_untouched("pedido 1234567812345678");
    // Luhn-valid but no card network starts with 9.
    assert_untouched("referencia 9111111111111111");
}

#[test]
fn bank_accounts() {
    assert_redacts(
        "IBAN ES91 2100 0418 4502 0005 1332 gracias",
        "IBAN [ACCOUNT] gracias",
        &[Iban],
    );
    assert_redacts(
        "conta PT50000201231234567890154.",
        "conta [ACCOUNT].",
        &[Iban],
    );
    assert_redacts("CLABE 032180000118359719", "CLABE [ACCOUNT]", &[MxClabe]);
    assert_redacts("CBU 2850590940090418135201", "CBU [ACCOUNT]", &[ArCbu]);
    assert_redacts(
        "mi cuenta bancaria es la 0049-1500-05-1234567892 gracias",
        "mi cuenta bancaria es la [ACCOUNT] gracias",
        &[BankAccount],
    );
    assert_redacts(
        "account number 12345678 is locked",
        "account number [ACCOUNT] is locked",
        &[BankAccount],
    );
    assert_redacts(
        "conta corrente 12345-6",
        "conta corrente [ACCOUNT]",
        &[BankAccount],
    );
    assert_untouched("IBAN ES92 2100 0418 4502 0005 1332");
    assert_untouched("la conta de luz 123456");
    assert_untouched("transferí 15000 pesos a la cuenta");
    assert_untouched("guía 032180000118359718");
}

#[test]
fn spanish_dni_and_nie() {
    assert_redacts("mi DNI es 12345678Z.", "mi DNI es [ID].", &[EsDni]);
    assert_redacts("NIF 12.345.678-Z", "NIF [ID]", &[EsDni]);
    assert_redacts("dni 12345678z", "dni [ID]", &[EsDni]);
    assert_redacts(
        "NIE X1234567L y Y-1234567-X",
        "NIE [ID] y [ID]",
        &[EsNie, EsNie],
    );
    // Wrong check letters; the first stays as is, the second is still a
    // number after "DNI", which is an Argentine cue.
    assert_untouched("referencia 12345678A");
    assert_untouched("NIE X1234567A");
    // A Spanish word after the digits, not a check letter.
    assert_untouched("el pedido 12345678 a domicilio");
}

#[test]
fn mexican_curp_and_rfc() {
    assert_redacts(
        "mi CURP es BOXW310820HNERXN09 y mi RFC GODE561231GR8",
        "mi CURP es [ID] y mi RFC [ID]",
        &[MxCurp, MxRfc],
    );
    assert_redacts("curp: badd110313hcmlns06", "curp: [ID]", &[MxCurp]);
    assert_redacts(
        "RFC de la empresa MAB-930714-8T4",
        "RFC de la empresa [ID]",
        &[MxRfc],
    );
    assert_redacts("RFC GODE 561231 GR8", "RFC [ID]", &[MxRfc]);
    // Wrong CURP check digit: not a CURP, and its first 13 characters are
    // not a standalone RFC either.
    assert_untouched("folio BOXW310820HNERXN08");
    // Invalid date.
    assert_untouched("código ABCD991332XY1");
    assert_untouched("modelo SKU-ABC123456789");
}

#[test]
fn argentine_dni_and_cuit() {
    assert_redacts("DNI 12.345.678, gracias", "DNI [ID], gracias", &[ArDni]);
    assert_redacts(
        "mi documento es 30.123.456",
        "mi documento es [ID]",
        &[IdNumber],
    );
    assert_redacts(
        "nos vemos, 30.123.456 es mi número de DNI",
        "nos vemos, [ID] es mi número de DNI",
        &[ArDni],
    );
    assert_redacts("D.N.I. nº 23456789", "D.N.I. nº [ID]", &[ArDni]);
    assert_redacts("dni: 7654321.", "dni: [ID].", &[ArDni]);
    assert_redacts("CUIT 20-12345678-6", "CUIT [ID]", &[ArCuit]);
    assert_redacts("CUIL 20267565393 ok", "CUIL [ID] ok", &[ArCuit]);
    // Money and plain numbers without a cue.
    assert_untouched("el préstamo es de $ 1.500.000");
    assert_untouched("son 12.345.678 pesos");
    assert_untouched("saldo 2.345.678,50");
    assert_untouched("pedido 12345678");
    // Bad check digit (the common format example).
    assert_untouched("CUIT 20-12345678-3");
}

#[test]
fn chilean_rut() {
    assert_redacts("RUT 12.345.678-5", "RUT [ID]", &[ClRut]);
    assert_redacts("mi rut es 7654321-6.", "mi rut es [ID].", &[ClRut]);
    assert_untouched("RUT 12.345.678-K");
    assert_untouched("rango 2024-5");
}

#[test]
fn rut_with_k_check() {
    let body = (6_000_000..6_100_000u32)
        .find(|&b| crate::validate::cl_rut_check_digit(b) == 'K')
        .unwrap();
    let dotted = format!(
        "{}.{:03}.{:03}-K",
        body / 1_000_000,
        body / 1000 % 1000,
        body % 1000
    );
    assert_redacts(&format!("RUT {dotted}"), "RUT [ID]", &[ClRut]);
    assert_redacts(&format!("rut {body}-k."), "rut [ID].", &[ClRut]);
}

#[test]
fn colombian_cedula_needs_a_cue() {
    assert_redacts(
        "cédula 1.020.304.050 de Bogotá",
        "cédula [ID] de Bogotá",
        &[CoCedula],
    );
    assert_redacts("CC 79123456", "CC [ID]", &[CoCedula]);
    assert_redacts("C.C. 52.345.678", "C.C. [ID]", &[CoCedula]);
    assert_redacts(
        "cedula de ciudadania numero 1020304050",
        "cedula de ciudadania numero [ID]",
        &[CoCedula],
    );
    assert_redacts(
        "número de identificación: 1020304050",
        "número de identificación: [ID]",
        &[IdNumber],
    );
    assert_untouched("el radicado 1020304050 sigue abierto");
    assert_untouched("cédula 123");
}

#[test]
fn brazilian_cpf_cnpj_and_rg() {
    assert_redacts("CPF 123.456.789-09", "CPF [ID]", &[BrCpf]);
    assert_redacts("meu cpf é 52998224725", "meu cpf é [ID]", &[BrCpf]);
    assert_redacts(
        "CNPJ 11.222.333/0001-81 da loja",
        "CNPJ [ID] da loja",
        &[BrCnpj],
    );
    assert_redacts("cnpj 16727230000197", "cnpj [ID]", &[BrCnpj]);
    assert_redacts("CNPJ 12.ABC.345/01DE-35", "CNPJ [ID]", &[BrCnpj]);
    assert_redacts("RG 12.345.678-9", "RG [ID]", &[BrRg]);
    assert_redacts("identidade MG-12.345.678", "identidade [ID]", &[BrRg]);
    assert_untouched("CPF 123.456.789-00");
    assert_untouched("protocolo 12345678900");
    assert_untouched("CNPJ 16.727.230/0001-98");
}

#[test]
fn us_ssn_and_passports() {
    assert_redacts("SSN 123-45-6789", "SSN [ID]", &[UsSsn]);
    assert_redacts(
        "passport number X12345678",
        "passport number [ID]",
        &[Passport],
    );
    assert_redacts("pasaporte PAA123456", "pasaporte [ID]", &[Passport]);
    assert_untouched("SSN 666-45-6789");
    assert_untouched("pasaporte vencido");
}

#[test]
fn validated_ids_win_over_phone_patterns() {
    // Plain 11 digits after a phone cue, valid as a CPF: the id detector
    // runs first.
    assert_redacts("telefone 52998224725", "telefone [ID]", &[BrCpf]);
    // A DNI letter keeps the number from being read as a phone.
    assert_redacts("móvil 12345678Z", "móvil [ID]", &[EsDni]);
    // An e-mail with digits is one e-mail, not a DNI inside it.
    assert_redacts("ana.12345678z@correo.es", "[EMAIL]", &[Email]);
}

#[test]
fn redacting_twice_changes_nothing_more() {
    let once = redact("DNI 12345678Z, tel +34 612 345 678, ana@correo.es");
    let twice = redact(&once.text);
    assert_eq!(twice.text, once.text);
    assert!(twice.findings.is_empty());
}

#[test]
fn person_names_after_a_cue() {
    assert_redacts(
        "Mire, sí, el titular soy yo, Elena Ríos Hernández.",
        "Mire, sí, el titular soy yo, [NAME].",
        &[PersonName],
    );
    assert_redacts(
        "Hola, mi nombre es Álvaro, ¿en qué le puedo ayudar?",
        "Hola, mi nombre es [NAME], ¿en qué le puedo ayudar?",
        &[PersonName],
    );
    assert_redacts(
        "me llamo María de la Cruz",
        "me llamo [NAME]",
        &[PersonName],
    );
    assert_redacts(
        "Boa tarde, meu nome é João da Silva e quero cancelar",
        "Boa tarde, meu nome é [NAME] e quero cancelar",
        &[PersonName],
    );
    assert_redacts(
        "aqui é a Fernanda, do suporte",
        "aqui é a [NAME], do suporte",
        &[PersonName],
    );
    assert_redacts(
        "Hi, my name is Sarah O'Neill and I was charged twice",
        "Hi, my name is [NAME] and I was charged twice",
        &[PersonName],
    );
    assert_redacts(
        "Thank you Mrs. Johnson",
        "Thank you Mrs. [NAME]",
        &[PersonName],
    );
    assert_redacts("la Sra. Gómez llamó", "la Sra. [NAME] llamó", &[PersonName]);
    // A cue not followed by a capitalised word, or a word that only looks like one.
    assert_untouched("mi nombre es importante para ustedes");
    assert_untouched("Don't make me wait again");
    assert_untouched("this is ridiculous, three transfers");
    assert_untouched("Me llamo la atención que nadie contestó");
}
