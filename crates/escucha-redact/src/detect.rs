//! The detectors: one compiled regular expression each, plus the checks the
//! expressions cannot express (boundaries, money context, check digits).
//!
//! Detectors run in precedence order; a candidate that overlaps a span an
//! earlier detector already took is dropped, so validated identifiers win
//! over the looser phone patterns.

use crate::kind::PiiKind;
use crate::validate;
use regex::{CaptureLocations, Match, Regex};
use std::ops::Range;

/// A byte range of the input that will be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub start: usize,
    pub end: usize,
    pub kind: PiiKind,
}

/// Accepted spans, never overlapping, kept in text order (so also ordered
/// by end). Allocates only on the first push.
#[derive(Debug, Default)]
pub(crate) struct Hits(Vec<Hit>);

impl Hits {
    fn overlaps(&self, r: &Range<usize>) -> bool {
        let i = self.0.partition_point(|h| h.end <= r.start);
        self.0.get(i).is_some_and(|h| h.start < r.end)
    }

    /// Records a span that overlaps none already recorded.
    fn push(&mut self, r: Range<usize>, kind: PiiKind) {
        let i = self.0.partition_point(|h| h.start < r.start);
        self.0.insert(
            i,
            Hit {
                start: r.start,
                end: r.end,
                kind,
            },
        );
    }

    /// The spans in text order.
    pub fn into_vec(self) -> Vec<Hit> {
        self.0
    }
}

/// Where a search resumes after a rejected candidate.
#[derive(Debug, Clone, Copy)]
enum Retry {
    /// One character after the candidate's start, so a valid match that
    /// overlaps the rejected one is still found.
    NextChar,
    /// After the candidate: the check already considered every part of it.
    AfterMatch,
}

/// Runs `re` over `text` and records what `accept` makes of each match.
fn scan(
    re: &Regex,
    text: &str,
    hits: &mut Hits,
    retry: Retry,
    mut accept: impl FnMut(&Hits, Match<'_>) -> Option<(Range<usize>, PiiKind)>,
) {
    let mut pos = 0;
    while pos < text.len() {
        let Some(m) = re.find_at(text, pos) else {
            break;
        };
        match accept(hits, m).filter(|(r, _)| !r.is_empty() && !hits.overlaps(r)) {
            Some((r, kind)) => {
                pos = r.end;
                hits.push(r, kind);
            }
            None => {
                let next = next_char(text, m.start());
                pos = match retry {
                    Retry::NextChar => next,
                    Retry::AfterMatch => m.end().max(next),
                };
            }
        }
    }
}

/// Byte index of the character after the one at `i`.
fn next_char(text: &str, i: usize) -> usize {
    text[i..]
        .chars()
        .next()
        .map_or(text.len(), |c| i + c.len_utf8())
}

/// Whether the token at `start..end` stands on its own: not glued to a
/// letter, digit or `+`, and not one piece of a bigger number such as
/// `1.234.567,89`, `12/03/2025` or `10:30`.
fn standalone(text: &str, start: usize, end: usize) -> bool {
    standalone_before(text, start) && standalone_after(text, end)
}

fn standalone_before(text: &str, start: usize) -> bool {
    let mut before = text[..start].chars().rev();
    match before.next() {
        None => true,
        Some(c) if c.is_alphanumeric() || c == '_' || c == '+' => false,
        Some('.' | ',' | '-' | '/' | ':') => !before.next().is_some_and(|c| c.is_ascii_digit()),
        Some(_) => true,
    }
}

fn standalone_after(text: &str, end: usize) -> bool {
    let mut after = text[end..].chars();
    match after.next() {
        None => true,
        Some(c) if c.is_alphanumeric() || c == '_' => false,
        // A check character follows: "12.345.678-K".
        Some('-') => !after.next().is_some_and(char::is_alphanumeric),
        Some('.' | ',' | '/' | ':') => !after.next().is_some_and(|c| c.is_ascii_digit()),
        Some(_) => true,
    }
}

/// Whether `start..end` sits in the middle of a longer run of digit groups
/// ("2100 0418 4502 0005 1332"): a digit and a space on both sides.
fn inside_digit_groups(text: &str, start: usize, end: usize) -> bool {
    let mut before = text[..start].chars().rev();
    let mut after = text[end..].chars();
    before.next() == Some(' ')
        && before.next().is_some_and(|c| c.is_ascii_digit())
        && after.next() == Some(' ')
        && after.next().is_some_and(|c| c.is_ascii_digit())
}

const CURRENCY_CODES: [&str; 8] = ["usd", "ars", "mxn", "cop", "clp", "brl", "eur", "pen"];

/// Words that turn the number before them into an amount. "mil" is left
/// out on purpose: "612 345 678, mil gracias".
const CURRENCY_WORDS: [&str; 15] = [
    "pesos", "peso", "euros", "euro", "reais", "real", "dólares", "dolares", "dollars", "dollar",
    "millones", "millón", "millon", "milhões", "million",
];

/// Whether the number at `start..end` reads as an amount of money: a
/// currency sign or code right before it, or a currency word right after.
fn is_money(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].trim_end();
    if before.ends_with(['$', '€', '£']) {
        return true;
    }
    let word_before = before
        .rsplit(|c: char| !c.is_alphabetic())
        .next()
        .unwrap_or_default();
    if CURRENCY_CODES
        .iter()
        .any(|c| c.eq_ignore_ascii_case(word_before))
    {
        return true;
    }
    let word_after = text[end..]
        .trim_start()
        .split(|c: char| !c.is_alphabetic())
        .next()
        .unwrap_or_default();
    !word_after.is_empty()
        && CURRENCY_WORDS
            .iter()
            .chain(CURRENCY_CODES.iter())
            .any(|w| w.eq_ignore_ascii_case(word_after))
}

/// Fewest digits any number detector needs (a cued RG or document number).
const MIN_DIGITS: usize = 5;
/// Widest span, in bytes, those digits can be spread over and still belong
/// to one number ("+55 (11) 9", "4 1 1 1 1").
const MIN_DIGITS_SPAN: usize = 24;

/// Whether `text` has [`MIN_DIGITS`] digits within [`MIN_DIGITS_SPAN`]
/// bytes. Texts without one (no numbers, or only "3 días", "10:30",
/// "claim 3322") hold nothing a number detector could find, and skip them.
fn has_digit_cluster(text: &str) -> bool {
    let mut last = [0usize; MIN_DIGITS];
    let mut seen = 0;
    for (i, b) in text.bytes().enumerate() {
        if b.is_ascii_digit() {
            last[seen % MIN_DIGITS] = i;
            seen += 1;
            // The oldest of the last MIN_DIGITS digits is the next slot.
            if seen >= MIN_DIGITS && i - last[seen % MIN_DIGITS] < MIN_DIGITS_SPAN {
                return true;
            }
        }
    }
    false
}

/// Names what a matched token is, if its check digits hold.
type Classifier = fn(&str) -> Option<PiiKind>;

fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

fn has_lowercase(s: &str) -> bool {
    s.chars().any(char::is_lowercase)
}

/// Separator or connector between a cue word and the number it introduces:
/// punctuation, or one of a few short words ("es", "é", "is", "de", "nº"…),
/// at most ten items.
const GAP: &str = r"(?:[\s:\#=.,()\-–º°]|(?:es|era|é|is|was|el|la|al|ao|o|a|do|da|de|del|no|en|at|on|para|pra|n|nro|num|n[uú]mero|number)[\s:\#=.,º°]){0,10}";

/// The compiled detectors. Building them takes a few milliseconds; build
/// once and share.
#[derive(Debug, Clone)]
pub(crate) struct Detectors {
    email: Regex,
    spoken_email: Regex,
    spoken_email_cue: Regex,
    iban: Regex,
    account: Regex,
    cnpj: Regex,
    card_run: Regex,
    mx_key: Regex,
    cpf: Regex,
    cuit: Regex,
    rut: Regex,
    es_id: Regex,
    ssn: Regex,
    ar_dni_dotted: Regex,
    cued_id: Regex,
    phone: Regex,
    cued_phone: Regex,
    cued_phone_number: usize,
    phone_continuation: Regex,
    cued_id_groups: CuedIdGroups,
    person_name: Regex,
    person_name_group: usize,
}

/// Kinds of the cue groups of the cued-id pattern, in pattern order.
const CUED_ID_KINDS: [PiiKind; 5] = [
    PiiKind::ArDni,
    PiiKind::CoCedula,
    PiiKind::BrRg,
    PiiKind::Passport,
    PiiKind::BankAccount,
];

/// Capture-group indexes of the cued-id pattern.
#[derive(Debug, Clone, Copy)]
struct CuedIdGroups {
    /// One group per entry of [`CUED_ID_KINDS`]; a generic cue matches none.
    kinds: [usize; 5],
    number: usize,
}

fn group_index(re: &Regex, name: &str) -> usize {
    match re.capture_names().position(|n| n == Some(name)) {
        Some(i) => i,
        None => panic!("built-in pattern has no group `{name}`"),
    }
}

fn compile(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(re) => re,
        // The patterns are constants covered by the unit tests.
        Err(e) => panic!("built-in pattern does not compile: {e}"),
    }
}

impl Detectors {
    pub fn new() -> Detectors {
        let cued_id = format!(
            r"(?ix)
            (?-u:\b)
            (?:
                (?P<ar>documento\s+nacional\s+de\s+identidad|d\.?\s?n\.?\s?i\.?)
              | (?P<co>c[eé]dula(?:\s+de\s+ciudadan[ií]a)?|(?-i:C\.C\.?|CC))
              | (?P<rg>carteira\s+de\s+identidade|identidade|rg)
              | (?P<pp>pasaporte|passaporte|passport)
              | (?P<acct>n[uú]mero\s+de\s+cuenta|cuenta(?:\s+(?:bancaria|corriente|de\s+ahorros?))?
                  |conta(?:\s+(?:corrente|poupan[cç]a|banc[aá]ria))?|account(?:\s+number)?|acct\.?)
              | (?P<id>documento(?:\s+de\s+identidad)?|doc\.?|identificaci[oó]n
                  |identity\s+(?:card|number)|national\s+id(?:\s+number)?|(?-i:C\.I\.?|CI))
            )
            {GAP}
            (?P<num>[a-z]{{0,3}}[\-\ ]?[0-9][0-9.\-]{{3,22}}[0-9kx]?)"
        );
        let cued_phone = format!(
            r"(?ix)
            (?-u:\b)
            (?:
                tel[eé]fonos?|telefones?|tel|tlf|tfno|m[oó]vil|celular|cel|whats?app|wpp|zap
              | phone|mobile|cell|fone|contacto|contato
              | call(?:\s+me)?|text\s+me|reach\s+me|ll[aá]m(?:ame|eme|adme|enme|e|ar|en)
              | marcar|m[aá]rcame|marque|lig(?:ue|a|ar|uem)|me\s+liga
              | my\s+number|mi\s+n[uú]mero|meu\s+n[uú]mero
              | n[uú]mero\s+de\s+(?:tel[eé]fono|telefone|celular|contacto|contato|whats?app|m[oó]vil)
            )
            {GAP}
            (?P<num>\+?[0-9]{{2,}}(?:[.\-\ ][0-9]{{2,}}){{0,5}})(?-u:\b)"
        );
        let cued_id = compile(&cued_id);
        let cued_phone = compile(&cued_phone);
        // A cue that introduces a name (case-insensitive), then the name:
        // capitalised words (case-sensitive), maybe joined by particles.
        let person_name = compile(
            r"(?x)
            (?-u:\b)
            (?i:
                me\s+llamo | mi\s+nombre\s+es | mi\s+nombre\s*: | (?:le|te)\s+(?:habla|atiende|saluda)
              | (?:el|la)\s+titular\s+(?:es|soy\s+yo) | a\s+nombre\s+de
              | meu\s+nome\s+[ée] | me\s+chamo | aqui\s+(?:quem\s+fala\s+)?[ée](?:\s+(?:o|a))?
              | (?:o|a)\s+titular\s+(?:[ée]|sou\s+eu) | em\s+nome\s+de | fala\s+(?:o|a)
              | my\s+name\s+is | my\s+name's | this\s+is | (?:you(?:'|\x{2019})?re\s+)?speaking\s+with
              | the\s+account\s+holder\s+is | in\s+the\s+name\s+of
              | se[ñn]or(?:a|ita)? | sr(?:a|ta)?\.? | don | do[ñn]a | senhor(?:a)? | dona
              | mr\.? | mrs\.? | ms\.? | miss | dr(?:a)?\.?
            )
            [\s,:]+
            (?P<name>
                \p{Lu}[\p{L}'\x{2019}\-]*\p{Ll}
                (?:\s+(?:(?:de|da|do|dos|das|del|la|van|von|y|e)\s+){0,2}\p{Lu}[\p{L}'\x{2019}\-]*\p{Ll}){0,3}
            )
            (?-u:\b)",
        );
        Detectors {
            cued_id_groups: CuedIdGroups {
                kinds: ["ar", "co", "rg", "pp", "acct"].map(|g| group_index(&cued_id, g)),
                number: group_index(&cued_id, "num"),
            },
            cued_phone_number: group_index(&cued_phone, "num"),
            person_name_group: group_index(&person_name, "name"),
            person_name,
            email: compile(
                r"[\p{L}\p{N}_%+\-](?:[\p{L}\p{N}._%+\-]*[\p{L}\p{N}_%+\-])?\ ?@\ ?(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?\.)+\p{L}{2,}",
            ),
            spoken_email: compile(
                r"(?ix)
                [\p{L}\p{N}_\-]+(?:\s+(?:punto|ponto|dot)\s+[\p{L}\p{N}_\-]+)*
                \s+(?:arroba|at)\s+
                [\p{L}\p{N}\-]+
                \s+(?:punto|ponto|dot)\s+
                (?:com|net|org|edu|gov|info|es|mx|br|ar|co|cl|pe|uy|pt|us|uk|io)
                (?:\s+(?:punto|ponto|dot)\s+(?:com|br|mx|ar|co|es|pt|uk|pe|cl|uy))?
                (?-u:\b)",
            ),
            // Plain literals, so the search is a fast substring scan.
            spoken_email_cue: compile("arroba|Arroba|ARROBA| at | At | AT "),
            iban: compile(r"(?i)(?-u:\b)[a-z]{2}[0-9]{2}[\ \-]?[0-9a-z]"),
            account: compile(r"(?-u:\b)(?:[0-9]{22}|[0-9]{18})(?-u:\b)"),
            cnpj: compile(
                r"(?-u:\b)[0-9A-Z]{2}\.?[0-9A-Z]{3}\.?[0-9A-Z]{3}/?[0-9A-Z]{4}-?[0-9]{2}(?-u:\b)",
            ),
            card_run: compile(r"(?-u:\b)[0-9]+(?:[\ \-][0-9]+)*(?-u:\b)"),
            // A CURP (18 characters) or an RFC (12 or 13, maybe separated).
            mx_key: compile(
                r"(?i)(?:(?-u:\b)[a-z]|[ñ&])[a-zñ&]{2,3}[\ \-]?[0-9]{6}(?:[hmx][a-z]{5}[0-9a-z][0-9]|[\ \-]?[0-9a-z]{3})(?-u:\b)",
            ),
            cpf: compile(r"(?-u:\b)[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}[\-.]?[0-9]{2}(?-u:\b)"),
            cuit: compile(
                r"(?-u:\b)(?:20|23|24|25|26|27|30|33|34)[\-\ ]?[0-9]{2}\.?[0-9]{3}\.?[0-9]{3}[\-\ ]?[0-9](?-u:\b)",
            ),
            rut: compile(r"(?-u:\b)[0-9]{1,2}(?:\.[0-9]{3}\.[0-9]{3}|[0-9]{6})-[0-9kK](?-u:\b)"),
            // DNI (8 digits) or NIE (X/Y/Z and 7 digits), then the letter.
            es_id: compile(
                r"(?i)(?-u:\b)(?:[0-9]{2}\.?[0-9]{3}\.?[0-9]{3}|[xyz][\ \-]?[0-9]{7})[\ \-]?[a-z](?-u:\b)",
            ),
            ssn: compile(r"(?-u:\b)[0-9]{3}-[0-9]{2}-[0-9]{4}(?-u:\b)"),
            ar_dni_dotted: compile(r"(?-u:\b)[0-9]{1,2}\.[0-9]{3}\.[0-9]{3}(?-u:\b)"),
            cued_id,
            phone: compile(
                r"(?x)
                  \+[0-9]{1,3}(?:[\ \x{a0}.\-]?(?:\([0-9]{1,4}\)|[0-9]{1,5})){0,5}[\ \x{a0}.\-]?[0-9]{2,5}(?-u:\b)
                | \(0?[0-9]{2,3}\)[\ \x{a0}]?[0-9]{3,5}[\ \x{a0}.\-]?[0-9]{4}(?-u:\b)
                | (?-u:\b)
                  (?:
                      1[\ \x{a0}.\-](?:\([0-9]{3}\)|[0-9]{3})[\ \x{a0}.\-]?[0-9]{3}[\ \x{a0}.\-][0-9]{4}
                    | [0-9]{3}[\ \x{a0}.\-][0-9]{3}[\ \x{a0}.\-][0-9]{4}
                    | 0[0-9]{2,3}[\ \x{a0}.\-][0-9]{3,4}[\ \x{a0}.\-][0-9]{4}
                    | [0-9]{2}[\ \x{a0}.\-]9?[0-9]{4}[\ \x{a0}.\-][0-9]{4}
                    | 9[0-9]{4}-[0-9]{4}
                    | [6-9][0-9]{2}[\ \x{a0}.\-][0-9]{3}[\ \x{a0}.\-][0-9]{3}
                    | [6-9][0-9]{2}[\ \x{a0}][0-9]{2}[\ \x{a0}][0-9]{2}[\ \x{a0}][0-9]{2}
                    | 9[1-8][\ \x{a0}][0-9]{3}[\ \x{a0}][0-9]{2}[\ \x{a0}][0-9]{2}
                    | 9[\ \x{a0}][0-9]{4}[\ \x{a0}][0-9]{4}
                  )
                  (?-u:\b)",
            ),
            cued_phone,
            phone_continuation: compile(
                r"(?i)\A[\s,;/]*(?:(?:y|o|e|ou|or|and)[\s,;/]+)?(\+?[0-9]{2,}(?:[.\-\ ][0-9]{2,}){0,5})(?-u:\b)",
            ),
        }
    }

    /// Every span of personal data in `text`, in text order.
    pub fn find(&self, text: &str) -> Vec<Hit> {
        let mut hits = Hits::default();
        if text.contains('@') {
            self.emails(text, &mut hits);
        }
        if self.spoken_email_cue.is_match(text) {
            self.spoken_emails(text, &mut hits);
        }
        if has_digit_cluster(text) {
            self.accounts(text, &mut hits);
            self.cnpj(text, &mut hits);
            self.cards(text, &mut hits);
            self.mexican_keys(text, &mut hits);
            self.validated_numbers(text, &mut hits);
            self.cued_ids(text, &mut hits);
            self.dotted_dni(text, &mut hits);
            self.phones(text, &mut hits);
        }
        self.person_names(text, &mut hits);
        hits.into_vec()
    }

    fn emails(&self, text: &str, hits: &mut Hits) {
        scan(&self.email, text, hits, Retry::NextChar, |_, m| {
            Some((m.range(), PiiKind::Email))
        });
    }

    fn spoken_emails(&self, text: &str, hits: &mut Hits) {
        scan(&self.spoken_email, text, hits, Retry::NextChar, |_, m| {
            Some((m.range(), PiiKind::Email))
        });
    }

    fn accounts(&self, text: &str, hits: &mut Hits) {
        scan(&self.iban, text, hits, Retry::NextChar, |_, m| {
            let end = iban_end(text, m.start())?;
            let s = &text[m.start()..end];
            (standalone(text, m.start(), end) && validate::iban_valid(s))
                .then_some((m.start()..end, PiiKind::Iban))
        });
        scan(&self.account, text, hits, Retry::AfterMatch, |_, m| {
            if !standalone(text, m.start(), m.end()) {
                return None;
            }
            let s = m.as_str();
            if s.len() == 22 && validate::ar_cbu_valid(s) {
                Some((m.range(), PiiKind::ArCbu))
            } else if s.len() == 18 && validate::mx_clabe_valid(s) {
                Some((m.range(), PiiKind::MxClabe))
            } else {
                None
            }
        });
    }

    fn cnpj(&self, text: &str, hits: &mut Hits) {
        scan(&self.cnpj, text, hits, Retry::NextChar, |_, m| {
            let s = m.as_str();
            // Letters only in the formatted alphanumeric CNPJ, never in a
            // bare 14-character code.
            let letters_ok = s.contains('/') || s.bytes().all(|b| !b.is_ascii_alphabetic());
            (letters_ok && standalone(text, m.start(), m.end()) && validate::br_cnpj_valid(s))
                .then_some((m.range(), PiiKind::BrCnpj))
        });
    }

    fn cards(&self, text: &str, hits: &mut Hits) {
        scan(&self.card_run, text, hits, Retry::AfterMatch, |hits, m| {
            card_in_run(text, m.range(), hits).map(|r| (r, PiiKind::Card))
        });
    }

    fn mexican_keys(&self, text: &str, hits: &mut Hits) {
        scan(&self.mx_key, text, hits, Retry::NextChar, |_, m| {
            let s = m.as_str();
            if !standalone(text, m.start(), m.end()) {
                return None;
            }
            if s.len() == 18 && validate::mx_curp_valid(s) {
                return Some((m.range(), PiiKind::MxCurp));
            }
            // "abcd 850101 xy1" is too loose to trust: separated forms must
            // be written in capitals, as RFCs are printed.
            let separated = s.contains([' ', '-']);
            (!(separated && has_lowercase(s)) && validate::mx_rfc_valid(s))
                .then_some((m.range(), PiiKind::MxRfc))
        });
    }

    fn validated_numbers(&self, text: &str, hits: &mut Hits) {
        let checks: [(&Regex, Classifier); 5] = [
            (&self.cpf, |s| {
                validate::br_cpf_valid(s).then_some(PiiKind::BrCpf)
            }),
            (&self.cuit, |s| {
                validate::ar_cuit_valid(s).then_some(PiiKind::ArCuit)
            }),
            (&self.rut, |s| {
                validate::cl_rut_valid(s).then_some(PiiKind::ClRut)
            }),
            (&self.ssn, |s| {
                validate::us_ssn_valid(s).then_some(PiiKind::UsSsn)
            }),
            (&self.es_id, |s| {
                if s.starts_with(['x', 'y', 'z', 'X', 'Y', 'Z']) {
                    validate::es_nie_valid(s).then_some(PiiKind::EsNie)
                } else {
                    validate::es_dni_valid(s).then_some(PiiKind::EsDni)
                }
            }),
        ];
        for (re, classify) in checks {
            scan(re, text, hits, Retry::NextChar, |_, m| {
                let s = m.as_str();
                // A lower-case letter after a space is more likely a word
                // ("… 12345678 a domicilio") than a check letter.
                if (s.contains(' ') && has_lowercase(s)) || !standalone(text, m.start(), m.end()) {
                    return None;
                }
                classify(s).map(|kind| (m.range(), kind))
            });
        }
    }

    fn cued_ids(&self, text: &str, hits: &mut Hits) {
        let mut locs: Option<CaptureLocations> = None;
        let re = &self.cued_id;
        scan(re, text, hits, Retry::NextChar, |hits, m| {
            if number_already_taken(hits, &m) {
                return None;
            }
            let locs = locs.get_or_insert_with(|| re.capture_locations());
            re.captures_read_at(locs, text, m.start())?;
            let kind = CUED_ID_KINDS
                .iter()
                .zip(self.cued_id_groups.kinds)
                .find(|(_, group)| locs.get(*group).is_some())
                .map_or(PiiKind::IdNumber, |(kind, _)| *kind);
            let (start, end) = locs.get(self.cued_id_groups.number)?;
            // The number pattern may swallow a sentence's closing dot.
            let end = start + text[start..end].trim_end_matches(['.', '-']).len();
            let num = &text[start..end];
            let letters = num.bytes().take_while(u8::is_ascii_alphabetic).count();
            let digits = digit_count(num);
            let tail_letter = num.ends_with(['k', 'K', 'x', 'X']);
            let shape_ok = match kind {
                PiiKind::ArDni => letters == 0 && !tail_letter && (7..=8).contains(&digits),
                PiiKind::CoCedula => letters == 0 && !tail_letter && (6..=10).contains(&digits),
                PiiKind::BrRg => letters <= 2 && (5..=13).contains(&digits),
                PiiKind::Passport => letters <= 3 && (6..=9).contains(&digits),
                PiiKind::BankAccount => letters == 0 && !tail_letter && (6..=20).contains(&digits),
                _ => letters == 0 && (5..=12).contains(&digits),
            };
            (shape_ok && standalone(text, start, end)).then_some((start..end, kind))
        });
    }

    /// Argentine DNI written with dots, without a cue. Runs after the cued
    /// ids so that "cédula 52.345.678" keeps its more specific kind.
    fn dotted_dni(&self, text: &str, hits: &mut Hits) {
        scan(&self.ar_dni_dotted, text, hits, Retry::NextChar, |_, m| {
            (standalone(text, m.start(), m.end()) && !is_money(text, m.start(), m.end()))
                .then_some((m.range(), PiiKind::ArDni))
        });
    }

    fn person_names(&self, text: &str, hits: &mut Hits) {
        let mut locs = self.person_name.capture_locations();
        let mut pos = 0;
        while pos < text.len() {
            let Some(m) = self.person_name.captures_read_at(&mut locs, text, pos) else {
                break;
            };
            match locs.get(self.person_name_group) {
                Some((start, end)) if !hits.overlaps(&(start..end)) => {
                    hits.push(start..end, PiiKind::PersonName);
                    pos = end;
                }
                _ => pos = next_char(text, m.start()),
            }
        }
    }

    fn phones(&self, text: &str, hits: &mut Hits) {
        scan(&self.phone, text, hits, Retry::NextChar, |_, m| {
            let digits = digit_count(m.as_str());
            ((8..=15).contains(&digits)
                && standalone(text, m.start(), m.end())
                && !inside_digit_groups(text, m.start(), m.end())
                && !is_money(text, m.start(), m.end()))
            .then_some((m.range(), PiiKind::Phone))
        });

        let mut locs: Option<CaptureLocations> = None;
        let re = &self.cued_phone;
        let mut continued: Vec<Range<usize>> = Vec::new();
        scan(re, text, hits, Retry::NextChar, |hits, m| {
            if number_already_taken(hits, &m) {
                return None;
            }
            let locs = locs.get_or_insert_with(|| re.capture_locations());
            re.captures_read_at(locs, text, m.start())?;
            let (start, end) = locs.get(self.cued_phone_number)?;
            let first = cued_phone_number(text, start, end)?;
            // A list after the cue: "teléfono 612345678 o 698765432".
            let mut end = first.end;
            while let Some(n) = self
                .phone_continuation
                .captures(&text[end..])
                .and_then(|c| c.get(1))
            {
                let Some(r) = cued_phone_number(text, end + n.start(), end + n.end()) else {
                    break;
                };
                if hits.overlaps(&r) {
                    break;
                }
                end = r.end;
                continued.push(r);
            }
            Some((first, PiiKind::Phone))
        });
        for r in continued {
            if !hits.overlaps(&r) {
                hits.push(r, PiiKind::Phone);
            }
        }
    }
}

/// Whether the number at the end of a cue match ("DNI es 12345678") was
/// already taken by an earlier detector ("12345678Z"). Checked before the
/// comparatively costly capture-group search.
fn number_already_taken(hits: &Hits, m: &Match<'_>) -> bool {
    let last = m.as_str().chars().next_back().map_or(1, char::len_utf8);
    hits.overlaps(&(m.end() - last..m.end()))
}

/// The phone number a cue introduces, written as `start..end` or as a prefix
/// of it made of whole digit groups: "612 345 678 12/03" yields
/// "612 345 678", not a slice of the date.
fn cued_phone_number(text: &str, start: usize, end: usize) -> Option<Range<usize>> {
    if !standalone_before(text, start) {
        return None;
    }
    let s = &text[start..end];
    let group_ends = s
        .match_indices([' ', '.', '-'])
        .map(|(i, _)| start + i)
        .chain([end]);
    let mut best = None;
    for e in group_ends {
        if (8..=15).contains(&digit_count(&text[start..e]))
            && standalone_after(text, e)
            && !is_money(text, start, e)
        {
            best = Some(start..e);
        }
    }
    best
}

/// End of the IBAN starting at `start`: exactly as many letters and digits
/// as its country's IBAN has, with at most one space or dash between any
/// two of them, and nothing alphanumeric right after.
fn iban_end(text: &str, start: usize) -> Option<usize> {
    let code = text.get(start..start + 2)?.as_bytes();
    let country = [code[0].to_ascii_uppercase(), code[1].to_ascii_uppercase()];
    let want = validate::iban_length(std::str::from_utf8(&country).ok()?)?;
    let mut count = 0;
    let mut after_separator = false;
    for (i, c) in text[start..].char_indices() {
        if c.is_ascii_alphanumeric() {
            count += 1;
            after_separator = false;
            if count == want {
                let end = start + i + 1;
                return standalone_after(text, end).then_some(end);
            }
        } else if (c == ' ' || c == '-') && !after_separator && count > 0 {
            after_separator = true;
        } else {
            return None;
        }
    }
    None
}

/// The best Luhn-valid card number inside a run of digit groups: from the
/// earliest group where one starts, the reading of the most common card
/// length. A card starts and ends at a group boundary (never inside groups
/// joined by a dash) and is grouped the way cards are written (see
/// [`card_grouping`]).
fn card_in_run(text: &str, run: Range<usize>, hits: &Hits) -> Option<Range<usize>> {
    let s = &text[run.clone()];
    let bytes = s.as_bytes();
    let starts = std::iter::once(0).chain(s.match_indices(' ').map(|(i, _)| i + 1));
    for from in starts {
        if !matches!(bytes[from], b'2'..=b'6') {
            continue;
        }
        if from == 0 && !standalone_before(text, run.start) {
            continue;
        }
        let rest = &s[from..];
        let mut groups = [0u8; 19];
        let mut n = 0;
        let mut len = 0u8;
        let mut digits = 0;
        let mut best: Option<(u8, Range<usize>)> = None;
        for (i, b) in rest.bytes().enumerate().chain([(rest.len(), b' ')]) {
            if b.is_ascii_digit() {
                len += 1;
                digits += 1;
                continue;
            }
            if digits > 19 || n == groups.len() {
                break;
            }
            groups[n] = len;
            n += 1;
            len = 0;
            if b == b'-' {
                continue;
            }
            let r = run.start + from..run.start + from + i;
            if digits >= 13
                && card_grouping(&groups[..n])
                && validate::luhn_valid(&rest[..i])
                && (i < rest.len() || standalone_after(text, r.end))
                && !hits.overlaps(&r)
            {
                let rank = card_length_rank(digits);
                if best.as_ref().is_none_or(|(b, _)| rank < *b) {
                    best = Some((rank, r));
                }
            }
        }
        if let Some((_, r)) = best {
            return Some(r);
        }
    }
    None
}

/// Whether digit groups of these lengths look like a written card number:
/// one block, blocks of four with a shorter last block (`4-4-4-4`,
/// `4-4-4-4-3`), the `4-6-5` and `4-6-4` layouts of American Express and
/// Diners, or one digit at a time as speech recognition writes it. Lists of
/// phone numbers (`612 345 678 698 765 432`) do not.
fn card_grouping(groups: &[u8]) -> bool {
    match groups {
        [] => false,
        [_] | [4, 6, 5] | [4, 6, 4] => true,
        _ if groups.iter().all(|&g| g == 1) => true,
        [init @ .., last] => init.iter().all(|&g| g == 4) && (1..=4).contains(last),
    }
}

/// Preference among Luhn-valid readings of one run, lower first: the
/// common card lengths before the rare ones, so "4111 1111 1111 1111 12 27"
/// (a card and its expiry) yields the 16-digit card even if the 20-digit
/// reading happens to pass Luhn too.
fn card_length_rank(digits: usize) -> u8 {
    match digits {
        16 => 0,
        15 => 1,
        19 => 2,
        14 => 3,
        13 => 4,
        _ => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standalone_rejects_pieces_of_bigger_numbers() {
        let t = "a 12.345.678,90 b";
        let s = t.find("12").unwrap();
        assert!(!standalone(t, s, s + "12.345.678".len()));
        let t = "DNI: 12.345.678.";
        let s = t.find("12").unwrap();
        assert!(standalone(t, s, t.len() - 1));
        assert!(!standalone("x12345678", 1, 9));
        assert!(!standalone("+12345678", 1, 9));
        assert!(!standalone("1/12345678", 2, 10));
        assert!(standalone("(12345678)", 1, 9));
    }

    #[test]
    fn money_is_recognised_on_either_side() {
        let t = "pagué $ 1.500.000 ayer";
        let s = t.find('1').unwrap();
        assert!(is_money(t, s, s + 9));
        let t = "son 12.345.678 pesos";
        let s = t.find('1').unwrap();
        assert!(is_money(t, s, s + 10));
        let t = "ARS 12.345.678";
        assert!(is_money(t, 4, 14));
        let t = "mi DNI 12.345.678 gracias";
        let s = t.find('1').unwrap();
        assert!(!is_money(t, s, s + 10));
    }

    #[test]
    fn iban_end_counts_the_country_length() {
        let t = "IBAN ES91 2100 0418 4502 0005 1332 gracias";
        let s = t.find("ES").unwrap();
        assert_eq!(iban_end(t, s), Some(t.find(" gracias").unwrap()));
        // Too short for Spain.
        assert_eq!(iban_end("ES91 2100 0418", 0), None);
        // Glued to more characters.
        assert_eq!(iban_end("ES9121000418450200051332X", 0), None);
    }

    #[test]
    fn hits_stay_ordered_and_detect_overlaps() {
        let mut hits = Hits::default();
        hits.push(20..30, PiiKind::Phone);
        hits.push(0..5, PiiKind::Email);
        hits.push(10..15, PiiKind::Card);
        assert!(hits.overlaps(&(4..6)));
        assert!(hits.overlaps(&(14..21)));
        assert!(hits.overlaps(&(0..100)));
        assert!(!hits.overlaps(&(5..10)));
        assert!(!hits.overlaps(&(15..20)));
        assert!(!hits.overlaps(&(30..40)));
        let starts: Vec<usize> = hits.into_vec().iter().map(|h| h.start).collect();
        assert_eq!(starts, [0, 10, 20]);
    }

    #[test]
    fn digit_clusters_gate_the_number_detectors() {
        assert!(!has_digit_cluster(
            "esperé 3 días enteros y el caso 3322 sigue"
        ));
        assert!(!has_digit_cluster("claim 3322"));
        assert!(!has_digit_cluster("sin números"));
        assert!(has_digit_cluster("pedido 12345"));
        assert!(has_digit_cluster("+55 (11) 9"));
        assert!(has_digit_cluster("4 1 1 1 1"));
        // Five digits, but too far apart to be one number.
        assert!(!has_digit_cluster(
            "1 año, 2 meses, 3 semanas y 4 días, caso 5"
        ));
    }

    #[test]
    fn card_is_found_inside_a_longer_run() {
        let hits = Hits::default();
        let t = "nº 123 4111 1111 1111 1111 12";
        let s = t.find("123").unwrap();
        let r = card_in_run(t, s..t.len(), &hits).unwrap();
        assert_eq!(&t[r], "4111 1111 1111 1111");
    }
}
