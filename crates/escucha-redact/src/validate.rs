//! Check-digit and structure validation of the identifiers the redactor
//! detects.
//!
//! Every `*_valid` function takes the number as written: the separators
//! people put in it (spaces, dots, dashes, slashes) are ignored and letters
//! may be in either case. None of them allocates.

/// The letters and digits of a number, upper-cased, separators removed.
struct Compact {
    buf: [u8; Compact::MAX],
    len: usize,
}

impl Compact {
    /// Longest number validated here (an IBAN).
    const MAX: usize = 34;

    /// `None` when `s` holds a character that is neither an ASCII letter, an
    /// ASCII digit nor a separator, or more than [`Compact::MAX`] of them.
    fn new(s: &str) -> Option<Compact> {
        let mut buf = [0u8; Compact::MAX];
        let mut len = 0;
        for c in s.chars() {
            match c {
                ' ' | '\u{a0}' | '.' | '-' | '/' => {}
                c if c.is_ascii_alphanumeric() => {
                    *buf.get_mut(len)? = c.to_ascii_uppercase() as u8;
                    len += 1;
                }
                _ => return None,
            }
        }
        Some(Compact { buf, len })
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The characters, only if there are exactly `n` of them.
    fn exactly(s: &str, n: usize) -> Option<Compact> {
        Compact::new(s).filter(|c| c.len == n)
    }
}

fn all_digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

/// Value of the ASCII digits in `b` (at most 9 of them, so it fits in a u32).
fn number(b: &[u8]) -> u32 {
    b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

fn digit(b: u8) -> u32 {
    u32::from(b - b'0')
}

/// Weighted sum of ASCII digits.
fn weighted(digits: &[u8], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(&d, w)| digit(d) * w).sum()
}

/// Whether `yymmdd` (six ASCII digits) is a calendar date. The century is
/// unknown, so 29 February is accepted in every year divisible by four.
fn valid_yymmdd(b: &[u8]) -> bool {
    if b.len() != 6 || !all_digits(b) {
        return false;
    }
    let (yy, mm, dd) = (number(&b[0..2]), number(&b[2..4]), number(&b[4..6]));
    let days = match mm {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if yy % 4 == 0 => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&dd)
}

/// Luhn (mod 10) check used by payment cards. Needs at least two digits;
/// only digits, spaces and dashes are accepted.
pub fn luhn_valid(number: &str) -> bool {
    let mut sum = 0;
    let mut count = 0;
    for b in number.bytes().rev() {
        match b {
            b'0'..=b'9' => {
                let mut d = digit(b);
                if count % 2 == 1 {
                    d *= 2;
                    if d > 9 {
                        d -= 9;
                    }
                }
                sum += d;
                count += 1;
            }
            b' ' | b'-' => {}
            _ => return false,
        }
    }
    count >= 2 && sum % 10 == 0
}

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spain: the check letter of a DNI/NIE number (mod-23 table).
pub fn es_dni_letter(number: u32) -> char {
    char::from(DNI_LETTERS[(number % 23) as usize])
}

/// Spain: DNI/NIF of a person, 8 digits and their check letter (`12345678Z`).
pub fn es_dni_valid(dni: &str) -> bool {
    let Some(c) = Compact::exactly(dni, 9) else {
        return false;
    };
    let b = c.bytes();
    all_digits(&b[..8]) && char::from(b[8]) == es_dni_letter(number(&b[..8]))
}

/// Spain: NIE of a foreign resident, `X`, `Y` or `Z` (standing for 0, 1, 2),
/// 7 digits and the check letter of the resulting 8-digit number (`X1234567L`).
pub fn es_nie_valid(nie: &str) -> bool {
    let Some(c) = Compact::exactly(nie, 9) else {
        return false;
    };
    let b = c.bytes();
    let lead = match b[0] {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        _ => return false,
    };
    all_digits(&b[1..8]) && char::from(b[8]) == es_dni_letter(lead * 10_000_000 + number(&b[1..8]))
}

/// Value of a CURP / RFC character in the SAT alphabet
/// `0-9 A-N & O-Z` (Ñ never appears in a CURP; RFCs use its own slot).
fn sat_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'N' => Some(u32::from(c - b'A') + 10),
        b'&' => Some(24),
        b'O'..=b'Z' => Some(u32::from(c - b'O') + 25),
        _ => None,
    }
}

/// Mexico: the check digit of a CURP, from its first 17 characters.
/// `None` if `first17` is not 17 letters and digits.
pub fn mx_curp_check_digit(first17: &str) -> Option<u8> {
    let c = Compact::exactly(first17, 17)?;
    let mut sum = 0;
    for (i, &ch) in c.bytes().iter().enumerate() {
        sum += sat_value(ch)? * (18 - i as u32);
    }
    Some(((10 - sum % 10) % 10) as u8)
}

const CURP_STATES: [&[u8; 2]; 33] = [
    b"AS", b"BC", b"BS", b"CC", b"CL", b"CM", b"CS", b"CH", b"DF", b"DG", b"GT", b"GR", b"HG",
    b"JC", b"MC", b"MN", b"MS", b"NT", b"NL", b"OC", b"PL", b"QT", b"QR", b"SP", b"SL", b"SR",
    b"TC", b"TS", b"TL", b"VZ", b"YN", b"ZS", b"NE",
];

/// Mexico: CURP, 18 characters: 4 letters, birth date `yymmdd`, sex (`H`,
/// `M` or `X`), state code (or `NE`, born abroad), 3 letters, a homoclave
/// character and the check digit, which is verified.
pub fn mx_curp_valid(curp: &str) -> bool {
    let Some(c) = Compact::exactly(curp, 18) else {
        return false;
    };
    let b = c.bytes();
    let letters = |r: &[u8]| r.iter().all(u8::is_ascii_uppercase);
    if !(letters(&b[0..4])
        && valid_yymmdd(&b[4..10])
        && matches!(b[10], b'H' | b'M' | b'X')
        && CURP_STATES.iter().any(|s| s[..] == b[11..13])
        && letters(&b[13..16])
        && b[16].is_ascii_alphanumeric()
        && b[17].is_ascii_digit())
    {
        return false;
    }
    let mut sum = 0;
    for (i, &ch) in b[..17].iter().enumerate() {
        match sat_value(ch) {
            Some(v) => sum += v * (18 - i as u32),
            None => return false,
        }
    }
    u32::from(b[17] - b'0') == (10 - sum % 10) % 10
}

/// Mexico: RFC, 4 letters (person) or 3 letters (company), the date `yymmdd`
/// and a 3-character homoclave whose last character is a digit or `A`.
///
/// The homoclave's check character is not verified: a noticeable share of
/// RFCs in use carry a wrong one, and they are personal data all the same.
/// Letters may include `Ñ` and `&`.
pub fn mx_rfc_valid(rfc: &str) -> bool {
    // Ñ is not ASCII, so it is folded to `&`'s role here: both are letters
    // of the name part and nothing else needs them.
    let mut buf = [0u8; 13];
    let mut len = 0;
    for ch in rfc.chars() {
        let b = match ch {
            ' ' | '\u{a0}' | '-' => continue,
            'ñ' | 'Ñ' | '&' => b'&',
            c if c.is_ascii_alphanumeric() => c.to_ascii_uppercase() as u8,
            _ => return false,
        };
        match buf.get_mut(len) {
            Some(slot) => *slot = b,
            None => return false,
        }
        len += 1;
    }
    let b = &buf[..len];
    let name_len = match len {
        13 => 4,
        12 => 3,
        _ => return false,
    };
    let (name, rest) = b.split_at(name_len);
    let (date, homoclave) = rest.split_at(6);
    name.iter().all(|&c| c.is_ascii_uppercase() || c == b'&')
        && valid_yymmdd(date)
        && matches!(homoclave[0], b'1'..=b'9' | b'A'..=b'V')
        && matches!(homoclave[1], b'1'..=b'9' | b'A'..=b'Z')
        && matches!(homoclave[2], b'0'..=b'9' | b'A')
}

/// Argentina: the check digit of a CUIT/CUIL from its first 10 digits, or
/// `None` when the mod-11 computation yields 10 (no valid number has that).
pub fn ar_cuit_check_digit(first10: &str) -> Option<u8> {
    let c = Compact::exactly(first10, 10)?;
    if !all_digits(c.bytes()) {
        return None;
    }
    let sum = weighted(c.bytes(), &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]);
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        d => Some(d as u8),
    }
}

/// Argentina: CUIT/CUIL, 11 digits (`20-12345678-6`): a type prefix (20, 23,
/// 24, 25, 26, 27, 30, 33, 34), the DNI or company number, the check digit.
pub fn ar_cuit_valid(cuit: &str) -> bool {
    let Some(c) = Compact::exactly(cuit, 11) else {
        return false;
    };
    let b = c.bytes();
    if !all_digits(b) || !matches!(number(&b[..2]), 20 | 23 | 24 | 25 | 26 | 27 | 30 | 33 | 34) {
        return false;
    }
    let first10 = std::str::from_utf8(&b[..10]).unwrap_or_default();
    ar_cuit_check_digit(first10) == Some(b[10] - b'0')
}

/// Chile: the check character (`0`–`9` or `K`) of a RUT body.
pub fn cl_rut_check_digit(body: u32) -> char {
    let mut n = body;
    let mut sum = 0;
    let mut factor = 2;
    while n > 0 {
        sum += (n % 10) * factor;
        n /= 10;
        factor = if factor == 7 { 2 } else { factor + 1 };
    }
    match 11 - sum % 11 {
        11 => '0',
        10 => 'K',
        d => char::from_digit(d, 10).unwrap_or('0'),
    }
}

/// Chile: RUT/RUN, a body of 7 or 8 digits and its check character
/// (`12.345.678-5`, `7654321-K`).
pub fn cl_rut_valid(rut: &str) -> bool {
    let Some(c) = Compact::new(rut) else {
        return false;
    };
    let b = c.bytes();
    if !(8..=9).contains(&b.len()) {
        return false;
    }
    let (body, check) = b.split_at(b.len() - 1);
    all_digits(body) && char::from(check[0]) == cl_rut_check_digit(number(body))
}

/// Mod-11 check digit used by CPF and CNPJ: 0 when the remainder is below 2.
fn br_check(values: impl Iterator<Item = u32>, weights: &[u32]) -> u32 {
    let sum: u32 = values.zip(weights).map(|(v, w)| v * w).sum();
    match sum % 11 {
        0 | 1 => 0,
        r => 11 - r,
    }
}

/// Brazil: CPF, 11 digits (`123.456.789-09`), both check digits verified.
/// Numbers made of one repeated digit are rejected.
pub fn br_cpf_valid(cpf: &str) -> bool {
    let Some(c) = Compact::exactly(cpf, 11) else {
        return false;
    };
    let b = c.bytes();
    if !all_digits(b) || b.iter().all(|&d| d == b[0]) {
        return false;
    }
    let d1 = br_check(
        b[..9].iter().map(|&d| digit(d)),
        &[10, 9, 8, 7, 6, 5, 4, 3, 2],
    );
    let d2 = br_check(
        b[..10].iter().map(|&d| digit(d)),
        &[11, 10, 9, 8, 7, 6, 5, 4, 3, 2],
    );
    digit(b[9]) == d1 && digit(b[10]) == d2
}

/// Brazil: CNPJ, 14 characters (`12.345.678/0001-95`), both check digits
/// verified. The first 12 may be letters (the alphanumeric CNPJ issued from
/// July 2026), each valued as its ASCII code minus 48.
pub fn br_cnpj_valid(cnpj: &str) -> bool {
    let Some(c) = Compact::exactly(cnpj, 14) else {
        return false;
    };
    let b = c.bytes();
    if !all_digits(&b[12..]) || b.iter().all(|&d| d == b[0]) {
        return false;
    }
    let value = |ch: &u8| u32::from(ch - b'0');
    let d1 = br_check(
        b[..12].iter().map(value),
        &[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2],
    );
    let d2 = br_check(
        b[..13].iter().map(value),
        &[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2],
    );
    digit(b[12]) == d1 && digit(b[13]) == d2
}

/// Length of the IBAN of a country (ISO 3166 alpha-2, upper case), for the
/// countries that issue IBANs.
pub fn iban_length(country: &str) -> Option<usize> {
    let len = match country {
        "NO" => 15,
        "BE" => 16,
        "DK" | "FI" | "FO" | "GL" | "NL" => 18,
        "MK" | "SI" => 19,
        "AT" | "BA" | "EE" | "KZ" | "LT" | "LU" | "XK" => 20,
        "CH" | "HR" | "LI" | "LV" => 21,
        "BG" | "BH" | "CR" | "DE" | "GB" | "GE" | "IE" | "ME" | "RS" => 22,
        "AE" | "GI" | "IL" | "TL" => 23,
        "AD" | "CZ" | "ES" | "MD" | "PK" | "RO" | "SA" | "SE" | "SK" | "TN" | "VG" => 24,
        "PT" => 25,
        "IS" | "TR" => 26,
        "FR" | "GR" | "IT" | "MC" | "MR" | "SM" => 27,
        "AL" | "AZ" | "BY" | "CY" | "DO" | "GT" | "HU" | "LB" | "PL" | "SV" => 28,
        "BR" | "EG" | "PS" | "QA" | "UA" => 29,
        "JO" | "KW" | "MU" => 30,
        "MT" => 31,
        "LC" => 32,
        _ => return None,
    };
    Some(len)
}

/// IBAN: a known country code, the right length for it, and mod-97 equal to 1.
pub fn iban_valid(iban: &str) -> bool {
    let Some(c) = Compact::new(iban) else {
        return false;
    };
    let b = c.bytes();
    if b.len() < 5 {
        return false;
    }
    let country = std::str::from_utf8(&b[..2]).unwrap_or_default();
    if iban_length(country) != Some(b.len()) || !all_digits(&b[2..4]) {
        return false;
    }
    let mut rem: u32 = 0;
    for &ch in b[4..].iter().chain(&b[..4]) {
        rem = match ch {
            b'0'..=b'9' => (rem * 10 + digit(ch)) % 97,
            b'A'..=b'Z' => (rem * 100 + u32::from(ch - b'A') + 10) % 97,
            _ => return false,
        };
    }
    rem == 1
}

/// Mexico: CLABE, 18 digits (bank, branch, account, check digit); the check
/// digit uses weights 3, 7, 1 mod 10.
pub fn mx_clabe_valid(clabe: &str) -> bool {
    let Some(c) = Compact::exactly(clabe, 18) else {
        return false;
    };
    let b = c.bytes();
    if !all_digits(b) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip([3, 7, 1].iter().cycle())
        .map(|(&d, w)| (digit(d) * w) % 10)
        .sum();
    digit(b[17]) == (10 - sum % 10) % 10
}

/// Mod-10 check digit of a CBU block.
fn cbu_check(digits: &[u8], weights: &[u32]) -> u32 {
    (10 - weighted(digits, weights) % 10) % 10
}

/// Argentina: CBU, 22 digits in two blocks (bank and branch with a check
/// digit, then account with a check digit), both verified.
pub fn ar_cbu_valid(cbu: &str) -> bool {
    let Some(c) = Compact::exactly(cbu, 22) else {
        return false;
    };
    let b = c.bytes();
    all_digits(b)
        && digit(b[7]) == cbu_check(&b[..7], &[7, 1, 3, 9, 7, 1, 3])
        && digit(b[21]) == cbu_check(&b[8..21], &[3, 9, 7, 1, 3, 9, 7, 1, 3, 9, 7, 1, 3])
}

/// United States: Social Security number, `AAA-GG-SSSS`, with an area other
/// than 000, 666 and 900–999, a group other than 00 and a serial other than
/// 0000.
pub fn us_ssn_valid(ssn: &str) -> bool {
    let Some(c) = Compact::exactly(ssn, 9) else {
        return false;
    };
    let b = c.bytes();
    if !all_digits(b) {
        return false;
    }
    let (area, group, serial) = (number(&b[..3]), number(&b[3..5]), number(&b[5..]));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_card_numbers_and_rejects_altered_ones() {
        for ok in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "5500-0000-0000-0004",
            "378282246310005",
            "6011111111111117",
            "79927398713",
        ] {
            assert!(luhn_valid(ok), "{ok}");
        }
        for bad in [
            "4111111111111112",
            "1234567812345678",
            "79927398710",
            "0",
            "",
            "4111x1111",
        ] {
            assert!(!luhn_valid(bad), "{bad}");
        }
    }

    #[test]
    fn dni_letter_follows_the_mod_23_table() {
        assert_eq!(es_dni_letter(12_345_678), 'Z');
        assert_eq!(es_dni_letter(0), 'T');
        assert_eq!(es_dni_letter(22), 'E');
        assert_eq!(es_dni_letter(23), 'T');
        assert!(es_dni_valid("12345678Z"));
        assert!(es_dni_valid("12345678-z"));
        assert!(es_dni_valid("12.345.678 Z"));
        assert!(es_dni_valid("00000000T"));
        assert!(!es_dni_valid("12345678A"));
        assert!(!es_dni_valid("1234567Z"));
        assert!(!es_dni_valid("123456789"));
    }

    #[test]
    fn nie_maps_its_leading_letter_to_a_digit() {
        assert!(es_nie_valid("X1234567L"));
        assert!(es_nie_valid("Y1234567X"));
        assert!(es_nie_valid("Z1234567R"));
        assert!(es_nie_valid("x-1234567-l"));
        assert!(!es_nie_valid("X1234567A"));
        assert!(!es_nie_valid("A1234567L"));
        assert!(!es_nie_valid("X12345678L"));
    }

    #[test]
    fn curp_check_digit_and_structure() {
        assert_eq!(mx_curp_check_digit("BOXW310820HNERXN0"), Some(9));
        assert_eq!(mx_curp_check_digit("BADD110313HCMLNS0"), Some(6));
        assert_eq!(mx_curp_check_digit("TOO-SHORT"), None);
        assert!(mx_curp_valid("BOXW310820HNERXN09"));
        assert!(mx_curp_valid("badd110313hcmlns06"));
        assert!(!mx_curp_valid("BADD110313HCMLNS09"));
        // Wrong check digit.
        assert!(!mx_curp_valid("BOXW310820HNERXN08"));
        // Month 13.
        assert!(!mx_curp_valid("BOXW311320HNERXN09"));
        // Unknown state code "ZZ".
        assert!(!mx_curp_valid("BOXW310820HZZRXN09"));
        // Sex must be H, M or X.
        assert!(!mx_curp_valid("BOXW310820QNERXN09"));
    }

    #[test]
    fn rfc_structure_for_people_and_companies() {
        assert!(mx_rfc_valid("GODE561231GR8"));
        assert!(mx_rfc_valid("GODE 561231 GR8"));
        assert!(mx_rfc_valid("MAB-930714-8T4"));
        assert!(mx_rfc_valid("MAÑO800229AB1"));
        assert!(mx_rfc_valid("A&C010101AB1"));
        // 30 February.
        assert!(!mx_rfc_valid("GODE560230GR8"));
        // 29 February outside a year divisible by four.
        assert!(!mx_rfc_valid("GODE570229GR8"));
        // Homoclave must end in a digit or A.
        assert!(!mx_rfc_valid("GODE561231GRB"));
        // Digit in the name part.
        assert!(!mx_rfc_valid("G0DE561231GR8"));
        assert!(!mx_rfc_valid("GODE561231"));
    }

    #[test]
    fn cuit_check_digit_is_mod_11() {
        assert_eq!(ar_cuit_check_digit("2012345678"), Some(6));
        assert_eq!(ar_cuit_check_digit("2005536168"), Some(2));
        assert!(ar_cuit_valid("20-12345678-6"));
        assert!(ar_cuit_valid("20-05536168-2"));
        assert!(ar_cuit_valid("20267565393"));
        // The format example with a wrong check digit.
        assert!(!ar_cuit_valid("20-12345678-3"));
        // Unknown type prefix.
        assert!(!ar_cuit_valid("21-12345678-6"));
    }

    #[test]
    fn cuit_whose_check_computes_to_ten_is_invalid() {
        // Find a body whose mod-11 yields 10 and make sure no digit validates it.
        let body = (0..1000u32)
            .map(|n| format!("20{:08}", 12_345_000 + n))
            .find(|b| ar_cuit_check_digit(b).is_none())
            .expect("some body has no check digit");
        for d in 0..=9 {
            assert!(!ar_cuit_valid(&format!("{body}{d}")));
        }
    }

    #[test]
    fn rut_check_character_is_mod_11_with_k() {
        assert_eq!(cl_rut_check_digit(12_345_678), '5');
        assert_eq!(cl_rut_check_digit(76_086_428), '5');
        assert_eq!(cl_rut_check_digit(12_531_909), '2');
        assert!(cl_rut_valid("12.345.678-5"));
        assert!(cl_rut_valid("12531909-2"));
        assert!(!cl_rut_valid("12531909-3"));
        assert!(!cl_rut_valid("12345678-K"));
        let k_body = (1_000_000..2_000_000u32)
            .find(|&b| cl_rut_check_digit(b) == 'K')
            .expect("some body checks to K");
        assert!(cl_rut_valid(&format!("{k_body}-K")));
        assert!(cl_rut_valid(&format!("{k_body}-k")));
        assert!(!cl_rut_valid("123-4"));
    }

    #[test]
    fn cpf_has_two_check_digits() {
        assert!(br_cpf_valid("123.456.789-09"));
        assert!(br_cpf_valid("529.982.247-25"));
        assert!(br_cpf_valid("39053344705"));
        assert!(!br_cpf_valid("123.456.789-00"));
        assert!(!br_cpf_valid("231.002.999-00"));
        assert!(!br_cpf_valid("111.111.111-11"));
        assert!(!br_cpf_valid("1234567890"));
    }

    #[test]
    fn cnpj_has_two_check_digits_and_may_be_alphanumeric() {
        assert!(br_cnpj_valid("11.222.333/0001-81"));
        assert!(br_cnpj_valid("16.727.230/0001-97"));
        assert!(br_cnpj_valid("16727230000197"));
        assert!(br_cnpj_valid("12.ABC.345/01DE-35"));
        assert!(!br_cnpj_valid("16.727.230/0001-98"));
        assert!(!br_cnpj_valid("00.000.000/0000-00"));
        assert!(!br_cnpj_valid("12.ABC.345/01DE-3A"));
    }

    #[test]
    fn iban_needs_known_country_length_and_mod_97() {
        assert_eq!(iban_length("ES"), Some(24));
        assert_eq!(iban_length("MX"), None);
        assert!(iban_valid("ES91 2100 0418 4502 0005 1332"));
        assert!(iban_valid("es9121000418450200051332"));
        assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
        assert!(iban_valid("PT50 0002 0123 1234 5678 9015 4"));
        assert!(iban_valid("BR15 0000 0000 0000 1093 2840 814 P2"));
        assert!(!iban_valid("ES92 2100 0418 4502 0005 1332"));
        // Right checksum digits cannot rescue a wrong length.
        assert!(!iban_valid("ES91 2100 0418 4502 0005 133"));
        assert!(!iban_valid("XX91 2100 0418 4502 0005 1332"));
    }

    #[test]
    fn clabe_check_digit_uses_weights_3_7_1() {
        assert!(mx_clabe_valid("032180000118359719"));
        assert!(mx_clabe_valid("002010077777777771"));
        assert!(!mx_clabe_valid("032180000118359718"));
        assert!(!mx_clabe_valid("03218000011835971"));
    }

    #[test]
    fn cbu_checks_both_blocks() {
        assert!(ar_cbu_valid("2850590940090418135201"));
        assert!(ar_cbu_valid("0110599520000001234569"));
        // First block broken.
        assert!(!ar_cbu_valid("2810590940090418135201"));
        // Second block broken.
        assert!(!ar_cbu_valid("2850590940090418135202"));
    }

    #[test]
    fn ssn_rejects_never_issued_areas_groups_and_serials() {
        assert!(us_ssn_valid("123-45-6789"));
        assert!(us_ssn_valid("899-01-0001"));
        for bad in [
            "000-45-6789",
            "666-45-6789",
            "900-45-6789",
            "123-00-6789",
            "123-45-0000",
            "123-45-678",
        ] {
            assert!(!us_ssn_valid(bad), "{bad}");
        }
    }

    #[test]
    fn yymmdd_knows_month_lengths() {
        assert!(valid_yymmdd(b"240229"));
        assert!(!valid_yymmdd(b"230229"));
        assert!(valid_yymmdd(b"991231"));
        assert!(!valid_yymmdd(b"990431"));
        assert!(!valid_yymmdd(b"990001"));
        assert!(!valid_yymmdd(b"990100"));
    }
}
