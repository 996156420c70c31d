//! Personal data as customers type it, with valid check digits, so that
//! redaction has real work to do.

use rand::seq::SliceRandom;
use rand::Rng;

use crate::rng::DemoRng;
use crate::world::{Customer, Locale};

/// A kind of personal data a text may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PiiKind {
    Email,
    Phone,
    /// The national id of the customer's country, where it has a common one.
    NationalId,
    Card,
}

/// The national id document customers of a locale quote, if any.
pub(crate) fn national_id_label(locale: Locale) -> Option<&'static str> {
    match locale {
        Locale::EsMx => Some("CURP"),
        Locale::EsAr => Some("CUIT"),
        Locale::EsEs => Some("DNI"),
        Locale::EsCl => Some("RUT"),
        Locale::PtBr => Some("CPF"),
        _ => None,
    }
}

/// Picks the kind of personal data to put in a text.
pub(crate) fn pick_kind(rng: &mut DemoRng, locale: Locale) -> PiiKind {
    let has_id = national_id_label(locale).is_some();
    match rng.gen_range(0..10) {
        0..=2 => PiiKind::Email,
        3..=5 => PiiKind::Phone,
        6..=7 if has_id => PiiKind::NationalId,
        _ => PiiKind::Card,
    }
}

/// Renders one value of `kind` for `customer`.
pub(crate) fn value(rng: &mut DemoRng, kind: PiiKind, customer: &Customer) -> String {
    match kind {
        PiiKind::Email => email(rng, customer),
        PiiKind::Phone => phone(rng, customer.locale),
        PiiKind::NationalId => match customer.locale {
            Locale::EsMx => curp(rng, customer),
            Locale::EsAr => cuit(rng, customer.female),
            Locale::EsEs => dni(rng),
            Locale::EsCl => rut(rng),
            Locale::PtBr => cpf(rng),
            _ => card(rng),
        },
        PiiKind::Card => card(rng),
    }
}

fn ascii_lower(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                'á' | 'à' | 'â' | 'ã' | 'Á' | 'Â' | 'Ã' => 'a',
                'é' | 'ê' | 'É' | 'Ê' => 'e',
                'í' | 'Í' => 'i',
                'ó' | 'ô' | 'õ' | 'Ó' | 'Ô' => 'o',
                'ú' | 'ü' | 'Ú' => 'u',
                'ñ' | 'Ñ' => 'n',
                'ç' | 'Ç' => 'c',
                c => c,
            };
            c.is_ascii_alphanumeric().then(|| c.to_ascii_lowercase())
        })
        .collect()
}

fn email(rng: &mut DemoRng, c: &Customer) -> String {
    let first = ascii_lower(c.first);
    let last = ascii_lower(c.last);
    let year = c.birth_year % 100;
    let user = match rng.gen_range(0..5) {
        0 => format!("{first}.{last}"),
        1 => format!("{first}{last}{year:02}"),
        2 => format!("{}{last}", &first[..1]),
        3 => format!("{first}_{last}{}", c.birth_year),
        _ => format!("{first}.{last}{}", rng.gen_range(1..99)),
    };
    let domains: &[&str] = match c.locale {
        Locale::EsMx => &["gmail.com", "hotmail.com", "yahoo.com.mx", "outlook.com"],
        Locale::EsAr => &["gmail.com", "hotmail.com.ar", "yahoo.com.ar", "outlook.com"],
        Locale::EsEs => &["gmail.com", "hotmail.es", "outlook.es", "yahoo.es"],
        Locale::EsCo | Locale::EsCl => &["gmail.com", "hotmail.com", "outlook.com"],
        Locale::PtBr => &[
            "gmail.com",
            "hotmail.com",
            "yahoo.com.br",
            "uol.com.br",
            "bol.com.br",
        ],
        Locale::EnUs => &["gmail.com", "yahoo.com", "outlook.com", "icloud.com"],
        Locale::EnGb => &[
            "gmail.com",
            "hotmail.co.uk",
            "btinternet.com",
            "outlook.com",
        ],
    };
    format!("{user}@{}", domains.choose(rng).unwrap_or(&"gmail.com"))
}

fn digits(rng: &mut DemoRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

fn phone(rng: &mut DemoRng, locale: Locale) -> String {
    let international = rng.gen_bool(0.6);
    match locale {
        Locale::PtBr => {
            let ddd = ["11", "21", "31", "41", "51", "61", "71", "81", "85", "19"]
                .choose(rng)
                .copied()
                .unwrap_or("11");
            let (a, b) = (digits(rng, 4), digits(rng, 4));
            if international {
                format!("+55 {ddd} 9{a}-{b}")
            } else {
                format!("({ddd}) 9{a}-{b}")
            }
        }
        Locale::EsMx => {
            let area = ["55", "33", "81", "222", "442"]
                .choose(rng)
                .copied()
                .unwrap_or("55");
            let rest = digits(rng, 10 - area.len());
            let (a, b) = rest.split_at(rest.len() - 4);
            if international {
                format!("+52 {area} {a} {b}")
            } else {
                format!("{area} {a} {b}")
            }
        }
        Locale::EsEs => {
            let n = format!("6{}", digits(rng, 8));
            if international {
                format!("+34 {} {} {}", &n[..3], &n[3..6], &n[6..])
            } else {
                format!("{} {} {}", &n[..3], &n[3..6], &n[6..])
            }
        }
        Locale::EsAr => {
            let (a, b) = (digits(rng, 4), digits(rng, 4));
            if international {
                format!("+54 9 11 {a}-{b}")
            } else {
                format!("11 15-{a}-{b}")
            }
        }
        Locale::EsCo => {
            let n = format!("3{}", digits(rng, 9));
            if international {
                format!("+57 {} {} {}", &n[..3], &n[3..6], &n[6..])
            } else {
                format!("{} {} {}", &n[..3], &n[3..6], &n[6..])
            }
        }
        Locale::EsCl => {
            let n = digits(rng, 8);
            format!("+56 9 {} {}", &n[..4], &n[4..])
        }
        Locale::EnUs => {
            let area = rng.gen_range(201..990);
            let n = digits(rng, 7);
            if international {
                format!("+1 ({area}) {}-{}", &n[..3], &n[3..])
            } else {
                format!("{area}-{}-{}", &n[..3], &n[3..])
            }
        }
        Locale::EnGb => {
            let n = digits(rng, 9);
            if international {
                format!("+44 7{} {}", &n[..3], &n[3..])
            } else {
                format!("07{} {}", &n[..3], &n[3..])
            }
        }
    }
}

/// Check digits of a Brazilian CPF for its first nine digits.
pub(crate) fn cpf_check_digits(base: &[u32; 9]) -> (u32, u32) {
    let d = |s: u32| {
        let r = (s * 10) % 11;
        if r == 10 {
            0
        } else {
            r
        }
    };
    let s1: u32 = base
        .iter()
        .enumerate()
        .map(|(i, v)| v * (10 - i as u32))
        .sum();
    let d1 = d(s1);
    let s2: u32 = base
        .iter()
        .enumerate()
        .map(|(i, v)| v * (11 - i as u32))
        .sum::<u32>()
        + d1 * 2;
    (d1, d(s2))
}

fn cpf(rng: &mut DemoRng) -> String {
    let mut base = [0u32; 9];
    loop {
        for v in base.iter_mut() {
            *v = rng.gen_range(0..10);
        }
        // Repeated digits (111.111.111-11) are invalid by rule.
        if base.iter().any(|v| *v != base[0]) {
            break;
        }
    }
    let (d1, d2) = cpf_check_digits(&base);
    let s: String = base.iter().map(|v| char::from(b'0' + *v as u8)).collect();
    if rng.gen_bool(0.75) {
        format!("{}.{}.{}-{d1}{d2}", &s[..3], &s[3..6], &s[6..])
    } else {
        format!("{s}{d1}{d2}")
    }
}

/// Control letter of a Spanish DNI number.
pub(crate) fn dni_letter(number: u32) -> char {
    const LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    char::from(LETTERS[(number % 23) as usize])
}

fn dni(rng: &mut DemoRng) -> String {
    let n = rng.gen_range(10_000_000..80_000_000);
    let sep = if rng.gen_bool(0.2) { "-" } else { "" };
    format!("{n}{sep}{}", dni_letter(n))
}

/// Check digit of an Argentine CUIT/CUIL for its first ten digits, or
/// `None` when the base has no valid digit (the rule says to change prefix).
pub(crate) fn cuit_check_digit(base: &[u32; 10]) -> Option<u32> {
    const W: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let s: u32 = base.iter().zip(W).map(|(a, b)| a * b).sum();
    match 11 - s % 11 {
        11 => Some(0),
        10 => None,
        d => Some(d),
    }
}

fn cuit(rng: &mut DemoRng, female: bool) -> String {
    loop {
        let prefix = if female { 27 } else { 20 };
        let doc = rng.gen_range(10_000_000u32..45_000_000);
        let s = format!("{prefix}{doc:08}");
        let mut base = [0u32; 10];
        for (b, c) in base.iter_mut().zip(s.chars()) {
            *b = c.to_digit(10).unwrap_or(0);
        }
        if let Some(d) = cuit_check_digit(&base) {
            return format!("{prefix}-{doc:08}-{d}");
        }
    }
}

/// Check character of a Chilean RUT body.
pub(crate) fn rut_check(body: u32) -> char {
    let mut s = 0;
    let mut m = 2;
    let mut n = body;
    while n > 0 {
        s += (n % 10) * m;
        n /= 10;
        m = if m == 7 { 2 } else { m + 1 };
    }
    match 11 - s % 11 {
        11 => '0',
        10 => 'K',
        d => char::from_digit(d, 10).unwrap_or('0'),
    }
}

fn rut(rng: &mut DemoRng) -> String {
    let body = rng.gen_range(6_000_000..26_000_000u32);
    let dv = rut_check(body);
    let b = body.to_string();
    let (m, rest) = b.split_at(b.len() - 6);
    format!("{m}.{}.{}-{dv}", &rest[..3], &rest[3..])
}

const CURP_ALPHABET: &str = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ";

/// Check digit of a Mexican CURP for its first seventeen characters.
pub(crate) fn curp_check_digit(first17: &str) -> Option<u32> {
    let mut sum = 0u32;
    for (i, c) in first17.chars().enumerate() {
        let v = CURP_ALPHABET.chars().position(|a| a == c)? as u32;
        sum += v * (18 - i as u32);
    }
    Some((10 - sum % 10) % 10)
}

fn curp(rng: &mut DemoRng, c: &Customer) -> String {
    let up = |s: &str| ascii_lower(s).to_ascii_uppercase();
    let last = up(c.last);
    let last2 = up(c.last2);
    let first = up(c.first);
    let inner_vowel = last
        .chars()
        .skip(1)
        .find(|ch| "AEIOU".contains(*ch))
        .unwrap_or('X');
    let inner_consonant = |s: &str| {
        s.chars()
            .skip(1)
            .find(|ch| ch.is_ascii_alphabetic() && !"AEIOU".contains(*ch))
            .unwrap_or('X')
    };
    let states = ["DF", "JC", "NL", "MC", "PL", "GT", "VZ", "YN"];
    let mut s = String::with_capacity(18);
    s.push(last.chars().next().unwrap_or('X'));
    s.push(inner_vowel);
    s.push(last2.chars().next().unwrap_or('X'));
    s.push(first.chars().next().unwrap_or('X'));
    let month = rng.gen_range(1..=12);
    let day = rng.gen_range(1..=28);
    s.push_str(&format!("{:02}{month:02}{day:02}", c.birth_year % 100));
    s.push(if c.female { 'M' } else { 'H' });
    s.push_str(states.choose(rng).copied().unwrap_or("DF"));
    s.push(inner_consonant(&last));
    s.push(inner_consonant(&last2));
    s.push(inner_consonant(&first));
    // Homoclave: a digit for people born before 2000, a letter after.
    if c.birth_year < 2000 {
        s.push(char::from(b'0' + rng.gen_range(0..10u8)));
    } else {
        s.push(char::from(b'A' + rng.gen_range(0..26u8)));
    }
    let d = curp_check_digit(&s).unwrap_or(0);
    s.push(char::from_digit(d, 10).unwrap_or('0'));
    s
}

/// Whether a digit string passes the Luhn check.
pub(crate) fn luhn_valid(number: &str) -> bool {
    let ds: Vec<u32> = number.chars().filter_map(|c| c.to_digit(10)).collect();
    if ds.len() < 12 {
        return false;
    }
    let sum: u32 = ds
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                *d
            }
        })
        .sum();
    sum % 10 == 0
}

fn card(rng: &mut DemoRng) -> String {
    let (prefix, len) = match rng.gen_range(0..10) {
        0..=4 => ("4".to_string(), 16),
        5..=7 => (format!("5{}", rng.gen_range(1..6)), 16),
        _ => (["34", "37"].choose(rng).unwrap_or(&"37").to_string(), 15),
    };
    let mut n = prefix;
    while n.len() < len - 1 {
        n.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    let check = (0..10)
        .map(|d| format!("{n}{d}"))
        .find(|c| luhn_valid(c))
        .unwrap_or_else(|| format!("{n}0"));
    let sep = if rng.gen_bool(0.7) { " " } else { "-" };
    if len == 15 {
        format!("{}{sep}{}{sep}{}", &check[..4], &check[4..10], &check[10..])
    } else if rng.gen_bool(0.15) {
        check
    } else {
        check
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(sep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;
    use rand::SeedableRng;

    #[test]
    fn known_documents_validate() {
        // 529.982.247-25 is the usual published CPF example.
        assert_eq!(cpf_check_digits(&[5, 2, 9, 9, 8, 2, 2, 4, 7]), (2, 5));
        assert_eq!(dni_letter(12_345_678), 'Z');
        // 20-12345678-6
        assert_eq!(cuit_check_digit(&[2, 0, 1, 2, 3, 4, 5, 6, 7, 8]), Some(6));
        assert_eq!(rut_check(12_345_678), '5');
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(!luhn_valid("4111 1111 1111 1112"));
        // Weighted sum 1504 over the first seventeen characters.
        assert_eq!(curp_check_digit("BADD110313HCMLNS0"), Some(6));
        assert_eq!(curp_check_digit("BADD11031?HCMLNS0"), None);
    }

    #[test]
    fn generated_values_have_valid_check_digits() {
        let mut rng = DemoRng::seed_from_u64(5);
        let world = World::build(&mut rng, 2_000);
        for c in &world.customers {
            for kind in [
                PiiKind::Email,
                PiiKind::Phone,
                PiiKind::NationalId,
                PiiKind::Card,
            ] {
                let v = value(&mut rng, kind, c);
                assert!(!v.is_empty());
                match (kind, c.locale) {
                    (PiiKind::Email, _) => assert!(v.contains('@') && v.is_ascii(), "{v}"),
                    (PiiKind::Card, _)
                    | (PiiKind::NationalId, Locale::EsCo | Locale::EnUs | Locale::EnGb) => {
                        assert!(luhn_valid(&v), "{v}")
                    }
                    (PiiKind::NationalId, Locale::PtBr) => {
                        let d: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
                        let base: [u32; 9] = d[..9].try_into().unwrap();
                        assert_eq!(cpf_check_digits(&base), (d[9], d[10]), "{v}");
                    }
                    (PiiKind::NationalId, Locale::EsEs) => {
                        let n: u32 = v[..8].parse().unwrap();
                        assert_eq!(v.chars().last(), Some(dni_letter(n)), "{v}");
                    }
                    (PiiKind::NationalId, Locale::EsAr) => {
                        let d: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
                        let base: [u32; 10] = d[..10].try_into().unwrap();
                        assert_eq!(cuit_check_digit(&base), Some(d[10]), "{v}");
                    }
                    (PiiKind::NationalId, Locale::EsCl) => {
                        let body: u32 = v[..v.len() - 2].replace('.', "").parse().unwrap();
                        assert_eq!(v.chars().last(), Some(rut_check(body)), "{v}");
                    }
                    (PiiKind::NationalId, Locale::EsMx) => {
                        assert_eq!(v.chars().count(), 18, "{v}");
                        let d = curp_check_digit(&v[..17]).unwrap();
                        assert_eq!(v.chars().last().and_then(|c| c.to_digit(10)), Some(d));
                    }
                    (PiiKind::Phone, _) => {
                        assert!(v.chars().filter(|c| c.is_ascii_digit()).count() >= 8, "{v}")
                    }
                }
            }
        }
    }
}
