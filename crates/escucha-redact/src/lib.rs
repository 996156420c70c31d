//! Redaction of personal data in contact-center texts (Spanish, Portuguese
//! and English), applied before anything is stored or logged.
//!
//! ```
//! use escucha_redact::{PiiKind, Redactor};
//!
//! let redactor = Redactor::new();
//! let r = redactor.redact("Soy Ana, DNI 12345678Z, llámame al +34 612 345 678.");
//! assert_eq!(r.text, "Soy Ana, DNI [ID], llámame al [PHONE].");
//! assert_eq!(r.findings[0].kind, PiiKind::EsDni);
//! assert_eq!((r.findings[1].start, r.findings[1].end), (30, 37));
//! ```
//!
//! Each match is replaced by a placeholder (see [`PiiKind::placeholder`]):
//! `[EMAIL]`, `[PHONE]`, `[CARD]`, `[ACCOUNT]` for bank accounts and `[ID]`
//! for every national, tax or travel document number. Everything else is
//! left byte for byte. [`Finding`]s give each placeholder's position in
//! **characters** of the redacted text.
//!
//! # What is detected
//!
//! | kind | formats | validation |
//! |---|---|---|
//! | e-mail | `ana.perez+cx@correo.com.mx`, `ana @ gmail.com`, Unicode letters allowed; spelled out: `ana punto perez arroba gmail punto com`, `ana at gmail dot com` (with a common top-level domain) | structure |
//! | phone | international `+34 612 345 678`, `+55 (11) 91234-5678`, `+52 55 1234 5678`, `+54 9 11 1234-5678`, `+5511912345678`; national `(11) 98765-4321`, `(555) 123-4567`, `555-123-4567`, `1-800-555-0199`, `55 1234 5678`, `11 91234-5678`, `91234-5678`, `011 4567-8901`, `612 345 678`, `612 34 56 78`, `91 123 45 67`, `9 1234 5678`; any other run of 8–15 digits (plain or grouped: `612345678`, `4567-8901`) only after a cue such as "teléfono", "celular", "WhatsApp", "fone", "phone", "llámame al", "ligue para", and a list of them ("612345678 o 698765432") | 8–15 digits; not an amount of money, not part of a date or a bigger number |
//! | payment card | 13–19 digits, first digit 2–6, plain or grouped with spaces or dashes as cards are printed (`4-4-4-4`, `4-6-5`…) or one digit at a time | Luhn |
//! | IBAN | `ES91 2100 0418 4502 0005 1332`, compact or grouped | country length, mod 97 |
//! | Mexico CLABE | 18 digits | check digit (weights 3-7-1) |
//! | Argentina CBU | 22 digits | both block check digits |
//! | other bank account | 6–20 digits after "número de cuenta", "cuenta", "conta corrente", "account number" | cue required |
//! | Spain DNI | `12345678Z`, `12.345.678-Z` | mod-23 letter |
//! | Spain NIE | `X1234567L`, `X-1234567-L` | mod-23 letter |
//! | Mexico CURP | `BOXW310820HNERXN09` | structure, date, sex, state, check digit |
//! | Mexico RFC | `GODE561231GR8`, `GODE 561231 GR8`, company `MAB-930714-8T4` | structure, date |
//! | Argentina CUIT/CUIL | `20-12345678-6`, `20123456786` | type prefix, mod 11 |
//! | Argentina DNI | `12.345.678`; plain 7–8 digits after "DNI" or "documento nacional de identidad" | dotted form not taken when it reads as money (`$ 1.500.000`, `12.345.678 pesos`) |
//! | Chile RUT | `12.345.678-5`, `12345678-K` | mod 11 |
//! | Colombia cédula | 6–10 digits, plain or dotted, after "cédula", "CC", "C.C." | none exists; cue required |
//! | Brazil CPF | `123.456.789-09`, `12345678909` | both check digits |
//! | Brazil CNPJ | `12.345.678/0001-95`, 14 digits, alphanumeric `12.ABC.345/01DE-35` | both check digits |
//! | Brazil RG | digits after "RG" or "identidade" | cue required |
//! | US SSN | `123-45-6789` | area, group and serial ranges |
//! | passport | letters and digits after "pasaporte", "passaporte", "passport" | cue required |
//! | other document | digits after "documento", "doc.", "identificación", "C.I.", "national ID" | cue required |
//!
//! Detectors run in a fixed order: e-mails, bank accounts, CNPJ, cards,
//! CURP/RFC, the other check-digit ids, cue-introduced ids, dotted DNIs and
//! phones last. A later match that overlaps an earlier one is dropped, so a
//! valid CPF after "telefone" stays a CPF. A number that fails its check is
//! left alone unless a looser detector (a phone format, a cue word) claims
//! it.
//!
//! Plain digits that nothing identifies are kept: order numbers, amounts
//! (`1.500,00`), dates (`12/03/2025`), times, percentages and ticket ids
//! such as "claim 3322" carry the meaning escucha analyses.
//!
//! # Cost
//!
//! [`Redactor::new`] compiles every pattern (a few milliseconds): build one
//! and share it. Each detector makes one pass over the text; texts without
//! an `@`, a spelled-out e-mail cue or a cluster of five digits skip the
//! corresponding detectors altogether, and [`Redactor::redact_in_place`]
//! allocates nothing when there is nothing to redact.
//!
//! [`customer_key`] turns a customer id into a keyed pseudonym so that
//! repeat contacts can be linked without storing the id.

mod detect;
mod key;
mod kind;
mod redactor;
pub mod validate;

pub use key::customer_key;
pub use kind::PiiKind;
pub use redactor::{Finding, Redacted, Redactor};

#[cfg(test)]
mod detector_tests;
