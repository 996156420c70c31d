//! The kinds of personal data the redactor recognises.

use std::fmt;

/// What a redacted span contained.
///
/// The names returned by [`PiiKind::as_str`] are stable: they are stored and
/// counted downstream. New kinds may be added in minor releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PiiKind {
    /// An e-mail address, written or spelled out ("juan arroba gmail punto com").
    Email,
    /// A telephone number.
    Phone,
    /// A payment card number (Luhn-valid).
    Card,
    /// An international bank account number (mod-97 valid).
    Iban,
    /// Mexico: CLABE interbank account number (18 digits, check digit valid).
    MxClabe,
    /// Argentina: CBU bank account number (22 digits, both check digits valid).
    ArCbu,
    /// Any other account number, after a cue such as "número de cuenta",
    /// "conta corrente" or "account number".
    BankAccount,
    /// Spain: DNI / NIF of a person (8 digits and a valid check letter).
    EsDni,
    /// Spain: NIE of a foreign resident (X/Y/Z, 7 digits and a valid check letter).
    EsNie,
    /// Mexico: CURP population registry key (18 characters, check digit valid).
    MxCurp,
    /// Mexico: RFC taxpayer key of a person (13 characters) or company (12).
    MxRfc,
    /// Argentina: DNI (7–8 digits, dotted or after a cue word such as "DNI").
    ArDni,
    /// Argentina: CUIT / CUIL tax id (11 digits, mod-11 check digit valid).
    ArCuit,
    /// Chile: RUT / RUN (mod-11 check digit valid).
    ClRut,
    /// Colombia: cédula de ciudadanía (6–10 digits after a cue word).
    CoCedula,
    /// Brazil: CPF of a person (11 digits, both check digits valid).
    BrCpf,
    /// Brazil: CNPJ of a company (14 characters, both check digits valid).
    BrCnpj,
    /// Brazil: RG identity card number (after a cue word such as "RG").
    BrRg,
    /// United States: Social Security number (`123-45-6789`).
    UsSsn,
    /// A passport number (after a cue word such as "pasaporte").
    Passport,
    /// A document number introduced by a generic cue ("documento",
    /// "identificación", "C.I.") whose issuing country the text does not tell.
    IdNumber,
    /// A person's name after a cue that introduces one ("me llamo", "el
    /// titular soy yo,", "meu nome é", "my name is", "Sra.", "Mr." …):
    /// capitalised words, with particles such as "de" or "da" between them.
    PersonName,
}

impl PiiKind {
    /// Every kind.
    pub const ALL: &'static [PiiKind] = &[
        PiiKind::Email,
        PiiKind::Iban,
        PiiKind::ArCbu,
        PiiKind::MxClabe,
        PiiKind::BrCnpj,
        PiiKind::Card,
        PiiKind::MxCurp,
        PiiKind::MxRfc,
        PiiKind::BrCpf,
        PiiKind::ArCuit,
        PiiKind::ClRut,
        PiiKind::EsDni,
        PiiKind::EsNie,
        PiiKind::UsSsn,
        PiiKind::ArDni,
        PiiKind::CoCedula,
        PiiKind::BrRg,
        PiiKind::Passport,
        PiiKind::BankAccount,
        PiiKind::IdNumber,
        PiiKind::Phone,
        PiiKind::PersonName,
    ];

    /// Stable snake_case name, e.g. `email`, `phone`, `es_dni`, `br_cpf`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::Card => "card",
            PiiKind::Iban => "iban",
            PiiKind::MxClabe => "mx_clabe",
            PiiKind::ArCbu => "ar_cbu",
            PiiKind::BankAccount => "bank_account",
            PiiKind::EsDni => "es_dni",
            PiiKind::EsNie => "es_nie",
            PiiKind::MxCurp => "mx_curp",
            PiiKind::MxRfc => "mx_rfc",
            PiiKind::ArDni => "ar_dni",
            PiiKind::ArCuit => "ar_cuit",
            PiiKind::ClRut => "cl_rut",
            PiiKind::CoCedula => "co_cedula",
            PiiKind::BrCpf => "br_cpf",
            PiiKind::BrCnpj => "br_cnpj",
            PiiKind::BrRg => "br_rg",
            PiiKind::UsSsn => "us_ssn",
            PiiKind::Passport => "passport",
            PiiKind::IdNumber => "id_number",
            PiiKind::PersonName => "person_name",
        }
    }

    /// The text that replaces a match of this kind:
    ///
    /// | kind | placeholder |
    /// |---|---|
    /// | e-mail | `[EMAIL]` |
    /// | phone | `[PHONE]` |
    /// | payment card | `[CARD]` |
    /// | IBAN, CLABE, CBU, other bank account | `[ACCOUNT]` |
    /// | every national, tax or travel document id | `[ID]` |
    /// | a person's name | `[NAME]` |
    ///
    /// Placeholders are ASCII, so their length in bytes equals their length
    /// in characters.
    pub fn placeholder(&self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::Card => "[CARD]",
            PiiKind::Iban | PiiKind::MxClabe | PiiKind::ArCbu | PiiKind::BankAccount => "[ACCOUNT]",
            PiiKind::EsDni
            | PiiKind::EsNie
            | PiiKind::MxCurp
            | PiiKind::MxRfc
            | PiiKind::ArDni
            | PiiKind::ArCuit
            | PiiKind::ClRut
            | PiiKind::CoCedula
            | PiiKind::BrCpf
            | PiiKind::BrCnpj
            | PiiKind::BrRg
            | PiiKind::UsSsn
            | PiiKind::Passport
            | PiiKind::IdNumber => "[ID]",
            PiiKind::PersonName => "[NAME]",
        }
    }
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_distinct_snake_case() {
        let names: HashSet<&str> = PiiKind::ALL.iter().map(PiiKind::as_str).collect();
        assert_eq!(names.len(), PiiKind::ALL.len());
        for name in names {
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
        assert_eq!(PiiKind::BrCpf.to_string(), "br_cpf");
        assert_eq!(PiiKind::EsDni.as_str(), "es_dni");
    }

    #[test]
    fn placeholders_are_short_uppercase_and_bracketed() {
        for kind in PiiKind::ALL {
            let p = kind.placeholder();
            assert!(p.starts_with('[') && p.ends_with(']'), "{p}");
            let inner = &p[1..p.len() - 1];
            assert!(!inner.is_empty() && inner.len() <= 8, "{p}");
            assert!(inner.chars().all(|c| c.is_ascii_uppercase()), "{p}");
        }
        assert_eq!(PiiKind::Email.placeholder(), "[EMAIL]");
        assert_eq!(PiiKind::BrCpf.placeholder(), "[ID]");
        assert_eq!(PiiKind::Iban.placeholder(), "[ACCOUNT]");
    }
}
