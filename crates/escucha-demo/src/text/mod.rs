//! Text building blocks and the small template language that assembles them.
//!
//! Fragments are templates: `{slot}` inserts a value from the context (a
//! capitalised name such as `{Called}` capitalises the value), `[a|b|c]`
//! picks one alternative at random, `{masc|fem}` agrees with the customer's
//! gender and `{@masc|fem}` with the agent's. Alternatives may contain slots.
//! Each fragment carries a mask saying which regional varieties and which
//! kind of channel (voice or written) it suits.

pub(crate) mod en;
pub(crate) mod es;
pub(crate) mod pt;
pub(crate) mod style;

use escucha_core::Language;
use rand::Rng;

use crate::rng::DemoRng;

/// A template and the varieties/channels it suits.
pub(crate) type Frag = (u16, &'static str);
pub(crate) type Frags = &'static [Frag];

/// All regional varieties.
pub(crate) const R_ALL: u16 = 0x00FF;
/// Spoken channel (phone).
pub(crate) const C_VOICE: u16 = 0x0100;
/// Written channels (chat, messaging, e-mail, social, web).
pub(crate) const C_WRITTEN: u16 = 0x0200;
const C_ALL: u16 = C_VOICE | C_WRITTEN;
/// Suits every variety and channel.
pub(crate) const ALL: u16 = R_ALL | C_ALL;
/// Spoken only.
pub(crate) const V: u16 = R_ALL | C_VOICE;
/// Written only.
pub(crate) const W: u16 = R_ALL | C_WRITTEN;
/// Topic marks: a fragment carrying one only fits contexts whose mask
/// carries it too. Money: charges, refunds, payouts.
pub(crate) const T_MONEY: u16 = 0x0400;
/// Topic mark for issues that involve a home visit (technician, adjuster).
pub(crate) const T_VISIT: u16 = 0x0800;
const TOPICS: u16 = T_MONEY | T_VISIT;
/// Any variety and channel, money issues only.
pub(crate) const M: u16 = ALL | T_MONEY;
/// Any variety and channel, issues with a visit only.
pub(crate) const VISIT: u16 = ALL | T_VISIT;

/// Spanish varieties (bits match `Locale::region_bit`).
pub(crate) const MX: u16 = 1 | C_ALL;
pub(crate) const AR: u16 = 2 | C_ALL;
pub(crate) const ES: u16 = 4 | C_ALL;
pub(crate) const CO: u16 = 8 | C_ALL;
pub(crate) const CL: u16 = 16 | C_ALL;
/// English varieties.
pub(crate) const US: u16 = 1 | C_ALL;
pub(crate) const GB: u16 = 2 | C_ALL;

/// Builds a fragment list: `"text"` suits everything, `MASK: "text"` only
/// what the mask allows.
macro_rules! frags {
    (@acc [$($out:tt)*]) => { &[$($out)*] };
    (@acc [$($out:tt)*] $m:ident : $t:literal , $($rest:tt)*) => {
        frags!(@acc [$($out)* ($m, $t),] $($rest)*)
    };
    (@acc [$($out:tt)*] $m:ident : $t:literal) => { frags!(@acc [$($out)* ($m, $t),]) };
    (@acc [$($out:tt)*] $t:literal , $($rest:tt)*) => {
        frags!(@acc [$($out)* ($crate::text::ALL, $t),] $($rest)*)
    };
    (@acc [$($out:tt)*] $t:literal) => { frags!(@acc [$($out)* ($crate::text::ALL, $t),]) };
    ($($t:tt)*) => { frags!(@acc [] $($t)*) };
}
pub(crate) use frags;

/// Texts per process gap.
pub(crate) struct GapTexts {
    pub long_wait: Frags,
    pub transfer: Frags,
    pub repeat_contact: Frags,
    pub repeat_information: Frags,
    pub bot_dead_end: Frags,
    pub broken_self_service: Frags,
    pub channel_mismatch: Frags,
    pub no_callback: Frags,
    pub knowledge_gap: Frags,
    pub lack_of_empathy: Frags,
    pub unresolved: Frags,
}

impl GapTexts {
    pub(crate) fn get(&self, g: crate::story::Gap) -> Frags {
        use crate::story::Gap::*;
        match g {
            LongWait => self.long_wait,
            Transfer => self.transfer,
            RepeatContact => self.repeat_contact,
            RepeatInformation => self.repeat_information,
            BotDeadEnd => self.bot_dead_end,
            BrokenSelfService => self.broken_self_service,
            ChannelMismatch => self.channel_mismatch,
            NoCallback => self.no_callback,
            Knowledge => self.knowledge_gap,
            LackOfEmpathy => self.lack_of_empathy,
            Unresolved => self.unresolved,
        }
    }
}

/// Texts per emotion.
pub(crate) struct EmotionTexts {
    pub surprise: Frags,
    pub familiarity: Frags,
    pub relief: Frags,
    pub gratitude: Frags,
    pub belonging: Frags,
    pub frustration: Frags,
    pub anger: Frags,
    pub anxiety: Frags,
    pub confusion: Frags,
    pub disappointment: Frags,
}

impl EmotionTexts {
    pub(crate) fn get(&self, e: crate::story::Emotion) -> Frags {
        use crate::story::Emotion::*;
        match e {
            Surprise => self.surprise,
            Familiarity => self.familiarity,
            Relief => self.relief,
            Gratitude => self.gratitude,
            Belonging => self.belonging,
            Frustration => self.frustration,
            Anger => self.anger,
            Anxiety => self.anxiety,
            Confusion => self.confusion,
            Disappointment => self.disappointment,
        }
    }
}

/// How customers name an issue and what they and agents say about it.
pub(crate) struct IssueTexts {
    /// Noun phrases: "a double charge on my card".
    pub noun: Frags,
    /// Sentences describing it in the conversation.
    pub detail: Frags,
    /// What an agent says when fixing it.
    pub fix: Frags,
}

pub(crate) struct IssueBank {
    pub no_internet: IssueTexts,
    pub slow_speed: IssueTexts,
    pub install_visit: IssueTexts,
    pub recharge_missing: IssueTexts,
    pub no_signal: IssueTexts,
    pub unexpected_bill: IssueTexts,
    pub plan_change: IssueTexts,
    pub portability: IssueTexts,
    pub duplicate_charge: IssueTexts,
    pub card_blocked: IssueTexts,
    pub fraud_charge: IssueTexts,
    pub home_claim: IssueTexts,
    pub travel_claim: IssueTexts,
    pub tv_channels: IssueTexts,
    pub transfer_missing: IssueTexts,
    pub account_opening: IssueTexts,
    pub cancellation: IssueTexts,
    pub app_outage: IssueTexts,
    pub price_increase: IssueTexts,
}

impl IssueBank {
    pub(crate) fn get(&self, i: crate::story::Issue) -> &IssueTexts {
        use crate::story::Issue::*;
        match i {
            NoInternet => &self.no_internet,
            SlowSpeed => &self.slow_speed,
            InstallVisit => &self.install_visit,
            RechargeMissing => &self.recharge_missing,
            NoSignal => &self.no_signal,
            UnexpectedBill => &self.unexpected_bill,
            PlanChange => &self.plan_change,
            Portability => &self.portability,
            DuplicateCharge => &self.duplicate_charge,
            CardBlocked => &self.card_blocked,
            FraudCharge => &self.fraud_charge,
            HomeClaim => &self.home_claim,
            TravelClaim => &self.travel_claim,
            TvChannels => &self.tv_channels,
            TransferMissing => &self.transfer_missing,
            AccountOpening => &self.account_opening,
            Cancellation => &self.cancellation,
            AppOutage => &self.app_outage,
            PriceIncrease => &self.price_increase,
        }
    }
}

/// Everything a language contributes to surveys and conversations.
pub(crate) struct Bank {
    // Survey comments, told after the fact.
    pub opening: Frags,
    pub issue_lead: Frags,
    pub story: GapTexts,
    pub feel: EmotionTexts,
    pub contrast: Frags,
    pub sarcasm: Frags,
    pub churn: Frags,
    pub close_pos: Frags,
    pub close_neg: Frags,
    pub neutral: Frags,
    pub short_pos: Frags,
    pub short_neg: Frags,

    // Customer turns.
    pub c_hello: Frags,
    pub c_issue: Frags,
    pub c_ask_human: Frags,
    pub c_id: Frags,
    pub c_id_pii: Frags,
    pub c_gap: GapTexts,
    pub c_feel: EmotionTexts,
    pub c_ok: Frags,
    pub c_bye_pos: Frags,
    pub c_bye_neg: Frags,

    // Agent turns.
    pub a_hello_warm: Frags,
    pub a_hello_cold: Frags,
    pub a_sorry_wait: Frags,
    pub a_ask_id: Frags,
    pub a_ask_id_cold: Frags,
    pub a_thanks_id: Frags,
    pub a_recognize: Frags,
    /// Recognition without a previous contact in view.
    pub a_know: Frags,
    pub a_empathy: Frags,
    pub a_cold: Frags,
    pub a_knowledge_gap: Frags,
    pub a_transfer: Frags,
    pub a_after_transfer: Frags,
    pub a_channel_mismatch: Frags,
    pub a_callback: Frags,
    pub a_pending: Frags,
    pub a_resolved: Frags,
    pub a_more: Frags,
    pub a_bye_warm: Frags,
    pub a_bye_cold: Frags,

    // Bot turns.
    pub b_hello: Frags,
    pub b_misunderstand: Frags,
    pub b_handoff: Frags,
    pub b_solved: Frags,

    // E-mail framing.
    pub e_open_c: Frags,
    pub e_sign_c: Frags,
    pub e_open_a: Frags,
    pub e_sign_a: Frags,

    // Sentences carrying personal data (`{pii}`).
    pub pii_email: Frags,
    pub pii_phone: Frags,
    pub pii_doc: Frags,
    pub pii_card: Frags,

    pub issues: IssueBank,
}

/// The bank of a language (`Other` never occurs in the demo; it gets English).
pub(crate) fn bank(lang: Language) -> &'static Bank {
    match lang {
        Language::Es => &es::BANK,
        Language::Pt => &pt::BANK,
        _ => &en::BANK,
    }
}

/// Picks a fragment suiting `mask` (variety bit | channel bit). Falls back
/// to any fragment when none suits.
pub(crate) fn pick(rng: &mut DemoRng, frags: Frags, mask: u16) -> &'static str {
    let region = mask & R_ALL;
    let channel = mask & C_ALL;
    let topics = mask & TOPICS;
    let ok = |m: u16| m & region != 0 && m & channel != 0 && m & TOPICS & !topics == 0;
    let n = frags.iter().filter(|(m, _)| ok(*m)).count();
    if n == 0 {
        return frags
            .get(rng.gen_range(0..frags.len().max(1)))
            .map(|f| f.1)
            .unwrap_or("");
    }
    let k = rng.gen_range(0..n);
    frags
        .iter()
        .filter(|(m, _)| ok(*m))
        .nth(k)
        .map(|f| f.1)
        .unwrap_or("")
}

/// What a template needs from its surroundings.
pub(crate) trait Slots {
    fn rng(&mut self) -> &mut DemoRng;
    fn customer_female(&self) -> bool;
    fn agent_female(&self) -> bool;
    /// The value of a named slot; it may itself be a template.
    fn slot(&mut self, name: &str) -> String;
}

/// Renders `tpl` into `out`.
pub(crate) fn render<S: Slots>(s: &mut S, tpl: &str, out: &mut String) {
    render_into(s, tpl, out, 0);
}

fn render_into<S: Slots>(s: &mut S, tpl: &str, out: &mut String, depth: u8) {
    let mut rest = tpl;
    while let Some(pos) = rest.find(['[', '{']) {
        out.push_str(&rest[..pos]);
        let open = rest.as_bytes()[pos];
        let inner = &rest[pos + 1..];
        let Some(len) = closing(inner, if open == b'[' { b']' } else { b'}' }) else {
            out.push_str(&rest[pos..]);
            return;
        };
        let body = &inner[..len];
        rest = &inner[len + 1..];
        if depth > 6 {
            continue;
        }
        if open == b'[' {
            let alts = split_top(body);
            let i = s.rng().gen_range(0..alts.len());
            render_into(s, alts[i], out, depth + 1);
        } else if let Some(agent) = body.strip_prefix('@') {
            let alts = split_top(agent);
            let i = usize::from(s.agent_female()).min(alts.len() - 1);
            render_into(s, alts[i], out, depth + 1);
        } else if body.contains('|') {
            let alts = split_top(body);
            let i = usize::from(s.customer_female()).min(alts.len() - 1);
            render_into(s, alts[i], out, depth + 1);
        } else {
            let capital = body.chars().next().is_some_and(char::is_uppercase);
            let name = if capital {
                let mut n = body.to_string();
                n[..1].make_ascii_lowercase();
                n
            } else {
                body.to_string()
            };
            let value = s.slot(&name);
            let mut rendered = String::new();
            render_into(s, &value, &mut rendered, depth + 1);
            if capital {
                out.push_str(&capitalize(&rendered));
            } else {
                out.push_str(&rendered);
            }
        }
    }
    out.push_str(rest);
}

/// Length of the body up to the matching `close`, skipping nested groups.
fn closing(s: &str, close: u8) -> Option<usize> {
    let mut depth = 0i32;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => depth -= 1,
            b if b == close => return Some(i),
            _ => {}
        }
    }
    None
}

/// Splits on `|` outside nested groups.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            b'|' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Upper-cases the first character.
pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    struct T {
        rng: DemoRng,
        female: bool,
        agent_female: bool,
    }

    impl Slots for T {
        fn rng(&mut self) -> &mut DemoRng {
            &mut self.rng
        }
        fn customer_female(&self) -> bool {
            self.female
        }
        fn agent_female(&self) -> bool {
            self.agent_female
        }
        fn slot(&mut self, name: &str) -> String {
            match name {
                "agent" => "lucía".into(),
                "nested" => "[uno|dos] {agent}".into(),
                other => format!("<{other}>"),
            }
        }
    }

    fn t(female: bool, agent_female: bool) -> T {
        T {
            rng: DemoRng::seed_from_u64(1),
            female,
            agent_female,
        }
    }

    fn r(t: &mut T, tpl: &str) -> String {
        let mut out = String::new();
        render(t, tpl, &mut out);
        out
    }

    #[test]
    fn slots_genders_and_alternatives() {
        let mut m = t(false, true);
        assert_eq!(r(&mut m, "Estoy cansad{o|a}."), "Estoy cansado.");
        assert_eq!(
            r(&mut m, "{@El chico|La chica} fue {@amable|amable}"),
            "La chica fue amable"
        );
        assert_eq!(r(&mut m, "Gracias, {Agent}!"), "Gracias, Lucía!");
        let mut f = t(true, false);
        assert_eq!(r(&mut f, "Estoy cansad{o|a}."), "Estoy cansada.");
        let seen: std::collections::BTreeSet<String> =
            (0..50).map(|_| r(&mut f, "[a|b|{agent}]")).collect();
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            vec!["a".to_string(), "b".into(), "lucía".into()]
        );
        let nested = r(&mut f, "{Nested}!");
        assert!(nested == "Uno lucía!" || nested == "Dos lucía!", "{nested}");
        assert_eq!(r(&mut f, "[sin {o|a} cierre"), "[sin {o|a} cierre");
    }

    #[test]
    fn pick_respects_masks() {
        let frags: Frags = frags!["todos", MX: "mx", V: "voz", ES: "es", M: "plata"];
        let mut rng = DemoRng::seed_from_u64(2);
        let mut money_seen = false;
        for _ in 0..200 {
            let p = pick(&mut rng, frags, 4 | C_WRITTEN);
            assert!(p == "todos" || p == "es", "{p}");
            let p = pick(&mut rng, frags, 1 | C_VOICE);
            assert!(p != "es" && p != "plata", "{p}");
            money_seen |= pick(&mut rng, frags, 1 | C_VOICE | T_MONEY) == "plata";
        }
        assert!(money_seen);
    }
}
