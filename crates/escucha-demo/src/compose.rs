//! Turns a planned contact into what people wrote and said: the survey
//! comment and the conversation turns.

use escucha_core::{Channel, Language, Speaker};
use rand::seq::SliceRandom;
use rand::Rng;

use crate::pii::{self, PiiKind};
use crate::rng::DemoRng;
use crate::story::{Contact, Emotion, Gap, Tone};
use crate::text::style::{self, lower_first, Mood};
use crate::text::{self, Bank, Frags, Slots, C_VOICE, C_WRITTEN, T_MONEY, T_VISIT};
use crate::world::{Agent, Customer, Locale, Product, Queue, World};

/// Share of texts that carry personal data.
const PII_RATE: f64 = 0.1;

/// Every slot name templates may use.
#[cfg(test)]
const SLOTS: &[&str] = &[
    "wait",
    "days",
    "nth",
    "ntimes",
    "agent",
    "name",
    "fullname",
    "dept_from",
    "dept_to",
    "via",
    "prev_via",
    "called",
    "called_pp",
    "call_now",
    "called_as_told",
    "myprod",
    "of_myprod",
    "issue",
    "amount",
    "ticket",
    "years",
    "cel",
    "plata",
    "depto",
    "doclabel",
    "pii",
    "prev_when",
    "bot",
];

/// One turn before timestamps are assigned.
#[derive(Debug, Clone)]
pub(crate) struct PlannedTurn {
    pub speaker: Speaker,
    pub text: String,
    /// Whether the turn happens while the customer is still with the bot
    /// (before the queue wait ends).
    pub before_agent: bool,
}

/// The context a contact's texts are written in.
pub(crate) struct Ctx<'a> {
    rng: &'a mut DemoRng,
    contact: &'a Contact,
    customer: &'a Customer,
    /// The agent speaking now (changes after a transfer).
    agent: Option<&'a Agent>,
    final_agent: Option<&'a Agent>,
    /// The agent before a transfer.
    first: Option<&'a Agent>,
    bank: &'static Bank,
    lang: Language,
    locale: Locale,
    pii: String,
}

impl Slots for Ctx<'_> {
    fn rng(&mut self) -> &mut DemoRng {
        self.rng
    }

    fn customer_female(&self) -> bool {
        self.customer.female
    }

    fn agent_female(&self) -> bool {
        self.agent.is_some_and(|a| a.female)
    }

    fn slot(&mut self, name: &str) -> String {
        let c = self.contact;
        let lang = self.lang;
        match name {
            "wait" => duration(lang, c.wait_s),
            "days" => c.days_since.max(2).to_string(),
            "nth" => ordinal(lang, c.times),
            "ntimes" => times(lang, c.times),
            "agent" => self
                .agent
                .map(|a| a.name.to_string())
                .unwrap_or_else(|| generic_agent(lang).to_string()),
            "name" => self.customer.first.to_string(),
            "fullname" => self.customer.full_name(),
            "dept_from" => dept(lang, self.locale, c.dept_from).to_string(),
            "dept_to" => dept(lang, self.locale, c.queue).to_string(),
            "via" => via(self.rng, lang, self.locale, c.channel).to_string(),
            "prev_via" => {
                let prev = c.prev_channel.unwrap_or(if c.channel == Channel::Voice {
                    Channel::Whatsapp
                } else {
                    Channel::Voice
                });
                via(self.rng, lang, self.locale, prev).to_string()
            }
            "called" => called(self.rng, lang, c.channel, Form::Past).to_string(),
            "called_pp" => called(self.rng, lang, c.channel, Form::Participle).to_string(),
            "call_now" => called(self.rng, lang, c.channel, Form::Now).to_string(),
            "called_as_told" => called(self.rng, lang, c.channel, Form::Told).to_string(),
            "myprod" => my_product(self.rng, lang, self.locale, c.product).to_string(),
            "of_myprod" => {
                // Portuguese contracts "de" with the article: "da minha", "do meu".
                let p = my_product(self.rng, lang, self.locale, c.product);
                if let Some(rest) = p.strip_prefix("minha ") {
                    format!("da minha {rest}")
                } else if let Some(rest) = p.strip_prefix("meu ") {
                    format!("do meu {rest}")
                } else {
                    format!("de {p}")
                }
            }
            "issue" => {
                let frags = self.bank.issues.get(c.issue).noun;
                self.pick(frags).to_string()
            }
            "amount" => money(self.locale, c.amount),
            "ticket" => c.ticket.to_string(),
            "years" => self.customer.tenure_years.max(2).to_string(),
            "cel" => match (lang, self.locale) {
                (Language::Es, Locale::EsEs) => "móvil",
                (Language::En, Locale::EnGb) => "mobile",
                (Language::En, _) => "phone",
                _ => "celular",
            }
            .to_string(),
            "plata" => match self.locale {
                Locale::EsAr | Locale::EsCo | Locale::EsCl => "plata",
                Locale::EsMx if self.rng.gen_bool(0.4) => "lana",
                Locale::PtBr => "dinheiro",
                Locale::EnUs | Locale::EnGb => "money",
                _ => "dinero",
            }
            .to_string(),
            "depto" => match self.locale {
                Locale::EsEs => "piso",
                Locale::PtBr => "apartamento",
                Locale::EnGb => "flat",
                Locale::EnUs => "apartment",
                _ => "departamento",
            }
            .to_string(),
            "doclabel" => pii::national_id_label(self.locale)
                .unwrap_or("ID")
                .to_string(),
            "pii" => self.pii.clone(),
            "prev_when" => prev_when(self.rng, lang, c.days_since),
            "bot" => match lang {
                Language::Es => "Lía",
                Language::Pt => "Bia",
                _ => "Ava",
            }
            .to_string(),
            _ => String::new(),
        }
    }
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(rng: &'a mut DemoRng, world: &'a World, contact: &'a Contact) -> Ctx<'a> {
        let customer = &world.customers[contact.customer];
        let final_agent = contact.agent.map(|a| &world.agents[a]);
        Ctx {
            rng,
            contact,
            customer,
            agent: final_agent,
            final_agent,
            first: contact.first_agent.map(|a| &world.agents[a]),
            bank: text::bank(customer.locale.language()),
            lang: customer.locale.language(),
            locale: customer.locale,
            pii: String::new(),
        }
    }

    fn mask(&self) -> u16 {
        let channel = if self.contact.channel == Channel::Voice {
            C_VOICE
        } else {
            C_WRITTEN
        };
        let issue = self.contact.issue;
        let mut topics = 0;
        if issue.about_money() {
            topics |= T_MONEY;
        }
        if issue.has_visit() {
            topics |= T_VISIT;
        }
        self.locale.region_bit() | channel | topics
    }

    /// Picks a fragment for this locale and channel; fragments naming the
    /// agent are skipped when no agent took part.
    fn pick(&mut self, frags: Frags) -> &'static str {
        let mask = self.mask();
        if self.agent.is_none() {
            for _ in 0..8 {
                let f = text::pick(self.rng, frags, mask);
                if !f.contains("{agent}") && !f.contains("{@") {
                    return f;
                }
            }
        }
        text::pick(self.rng, frags, mask)
    }

    /// Picks and renders a fragment, starting it with a capital.
    fn say(&mut self, frags: Frags) -> String {
        let tpl = self.pick(frags);
        let mut out = String::new();
        text::render(self, tpl, &mut out);
        if self.lang == Language::Es {
            // Slots can produce "de el"/"a el"; Spanish contracts them.
            out = out.replace(" de el ", " del ").replace(" a el ", " al ");
        }
        sentence_case(&out)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p.clamp(0.0, 1.0))
    }

    /// A sentence with personal data for this customer.
    fn pii_sentence(&mut self, kind: PiiKind) -> String {
        self.pii = pii::value(self.rng, kind, self.customer);
        let frags = match kind {
            PiiKind::Email => self.bank.pii_email,
            PiiKind::Phone => self.bank.pii_phone,
            PiiKind::NationalId => self.bank.pii_doc,
            PiiKind::Card => self.bank.pii_card,
        };
        self.say(frags)
    }

    fn feelings(&self, loyalty: bool) -> Vec<Emotion> {
        self.contact
            .feelings
            .iter()
            .copied()
            .filter(|e| e.is_loyalty() == loyalty)
            .collect()
    }

    /// The free-text comment of a survey response about this contact.
    pub(crate) fn survey_comment(&mut self) -> String {
        let c = self.contact;
        let bank = self.bank;
        let mut parts: Vec<Part> = Vec::new();
        match c.tone {
            Tone::Neutral => {
                parts.push(Part::plain(self.say(bank.neutral)));
            }
            Tone::Positive if self.chance(0.1) => {
                parts.push(Part::plain(self.say(bank.short_pos)));
            }
            Tone::Negative if self.chance(0.08) => {
                parts.push(Part::plain(self.say(bank.short_neg)));
            }
            Tone::Positive => {
                self.lead(&mut parts, 0.2, 0.55);
                for e in self.feelings(true) {
                    parts.push(Part::plain(self.say(bank.feel.get(e))));
                }
                if self.chance(0.35) {
                    parts.push(Part::plain(self.say(bank.close_pos)));
                }
            }
            Tone::Recovery => {
                self.lead(&mut parts, 0.15, 0.6);
                for g in self.salient_gaps(2) {
                    parts.push(Part::plain(self.say(bank.story.get(g))));
                }
                if let Some(e) = self.feelings(false).first().copied() {
                    if self.chance(0.5) {
                        parts.push(Part::plain(self.say(bank.feel.get(e))));
                    }
                }
                parts.push(Part::plain(self.say(bank.contrast)));
                for e in self.feelings(true).into_iter().take(2) {
                    parts.push(Part::plain(self.say(bank.feel.get(e))));
                }
                if self.chance(0.25) {
                    parts.push(Part::plain(self.say(bank.close_pos)));
                }
            }
            Tone::Negative => {
                self.lead(&mut parts, 0.2, 0.6);
                for g in self.salient_gaps(3) {
                    parts.push(Part::plain(self.say(bank.story.get(g))));
                }
                let negatives = self.feelings(false);
                for e in negatives.iter().take(2) {
                    let text = self.say(bank.feel.get(*e));
                    let shout =
                        *e == Emotion::Anger && (self.customer.caps_prone || self.chance(0.3));
                    parts.push(Part { text, shout });
                }
                if self.chance(0.2) {
                    parts.push(Part::plain(self.say(bank.sarcasm)));
                }
                let bitter = negatives
                    .iter()
                    .any(|e| matches!(e, Emotion::Anger | Emotion::Disappointment));
                if self.chance(if bitter { 0.3 } else { 0.08 }) {
                    parts.push(Part::plain(self.say(bank.churn)));
                }
                if self.chance(0.25) {
                    parts.push(Part::plain(self.say(bank.close_neg)));
                }
            }
        }
        if self.chance(PII_RATE) {
            let kind = pii::pick_kind(self.rng, self.locale);
            let s = self.pii_sentence(kind);
            let at = self.rng.gen_range(1..=parts.len());
            parts.insert(at, Part::plain(s));
        }
        let text = self.typed_join(&parts, true);
        self.with_emoji(text, 1.0)
    }

    /// Optional opening and statement of the issue.
    fn lead(&mut self, parts: &mut Vec<Part>, p_open: f64, p_issue: f64) {
        if self.chance(p_open) {
            parts.push(Part::plain(self.say(self.bank.opening)));
        }
        if self.chance(p_issue) {
            parts.push(Part::plain(self.say(self.bank.issue_lead)));
        }
    }

    /// Up to `n` gaps to tell, in story order; the ones the operational data
    /// confirms come first when there are too many.
    fn salient_gaps(&mut self, n: usize) -> Vec<Gap> {
        let all: Vec<Gap> = self.contact.gaps.in_story_order().collect();
        if all.len() <= n {
            return all;
        }
        let confirmed = [
            Gap::LongWait,
            Gap::Transfer,
            Gap::BotDeadEnd,
            Gap::RepeatContact,
        ];
        let mut keep: Vec<Gap> = all
            .iter()
            .copied()
            .filter(|g| confirmed.contains(g))
            .take(n)
            .collect();
        let mut rest: Vec<Gap> = all.iter().copied().filter(|g| !keep.contains(g)).collect();
        rest.shuffle(self.rng);
        keep.extend(rest.into_iter().take(n - keep.len()));
        Gap::STORY_ORDER
            .into_iter()
            .filter(|g| keep.contains(g))
            .collect()
    }

    /// Joins parts the way the customer types them.
    fn typed_join(&mut self, parts: &[Part], typed: bool) -> String {
        let mut out = String::new();
        for (i, p) in parts.iter().enumerate() {
            let mut t = p.text.clone();
            if i > 0 && out.ends_with(',') && !self.keeps_capital(&t) {
                t = lower_first(&t);
            }
            if typed {
                t = style::typed(self.rng, &t, self.lang, self.customer.writing);
            }
            if p.shout {
                t = style::shout(&t);
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&t);
        }
        out
    }

    fn keeps_capital(&self, t: &str) -> bool {
        let first = t.split([' ', ',']).next().unwrap_or("");
        matches!(first, "I" | "I'm" | "I've" | "I'd" | "I'll")
            || first == self.customer.first
            || self.final_agent.is_some_and(|a| a.name == first)
            || first.chars().nth(1).is_some_and(char::is_uppercase)
    }

    /// Adds an emoji matching the mood with the customer's habit × `factor`.
    fn with_emoji(&mut self, mut text: String, factor: f64) -> String {
        if text.is_empty() || !self.chance(self.customer.emoji * factor) {
            return text;
        }
        let mood = self.mood();
        let e = style::emoji(self.rng, mood);
        if self.chance(0.2) {
            text = format!("{e} {text}");
        } else {
            text.push(' ');
            text.push_str(e);
        }
        text
    }

    fn mood(&mut self) -> Mood {
        let c = self.contact;
        let last = c.feelings.last().copied();
        match (c.tone, last) {
            (_, Some(Emotion::Relief)) => Mood::Relieved,
            (Tone::Positive | Tone::Recovery | Tone::Neutral, _) => Mood::Happy,
            (_, Some(Emotion::Anger)) => Mood::Angry,
            (_, Some(Emotion::Anxiety)) => Mood::Worried,
            (_, Some(Emotion::Confusion)) => Mood::Puzzled,
            (_, Some(Emotion::Disappointment)) => Mood::Sad,
            _ if self.chance(0.2) => Mood::Ironic,
            _ => Mood::Fed,
        }
    }

    /// The turns of the conversation, bot and system turns included: 4 to
    /// 14 turns, people and agents alternating.
    pub(crate) fn conversation(&mut self) -> Vec<PlannedTurn> {
        if self.contact.channel == Channel::Email {
            return self.email_thread();
        }
        let mut segments = self.live_conversation();
        loop {
            let turns = assemble(&segments);
            if turns.len() <= MAX_TURNS {
                return turns;
            }
            // Drop the least important optional segment, latest first.
            let drop = segments
                .iter()
                .enumerate()
                .filter(|(_, s)| s.priority < ESSENTIAL)
                .min_by_key(|(i, s)| (s.priority, std::cmp::Reverse(*i)))
                .map(|(i, _)| i);
            match drop {
                Some(i) => {
                    segments.remove(i);
                }
                None => {
                    let mut turns = turns;
                    turns.truncate(MAX_TURNS);
                    return turns;
                }
            }
        }
    }

    /// A customer turn in the customer's voice, with an emoji in `mood`
    /// on written channels.
    fn customer_turn(&mut self, parts: &[Part], mood: Option<Mood>) -> PlannedTurn {
        let text = match self.contact.channel {
            Channel::Voice => {
                let t = self.typed_join(parts, false).replace("!!!", "!");
                style::spoken(self.rng, &t, self.lang)
            }
            Channel::Email => self.typed_join(parts, false),
            _ => {
                let t = self.typed_join(parts, true);
                match mood {
                    Some(m) if self.chance(self.customer.emoji * 0.6) => {
                        format!("{t} {}", style::emoji(self.rng, m))
                    }
                    _ => t,
                }
            }
        };
        PlannedTurn {
            speaker: Speaker::Customer,
            text,
            before_agent: false,
        }
    }

    fn live_conversation(&mut self) -> Vec<Segment> {
        let c = self.contact;
        let bank = self.bank;
        let mut segs: Vec<Segment> = Vec::new();
        let negatives = self.feelings(false);
        let positives = self.feelings(true);
        let first_bad = negatives.first().copied();
        let last_bad = negatives.last().copied();
        let pii_kind = if self.chance(PII_RATE * 1.2) {
            Some(pii::pick_kind(self.rng, self.locale))
        } else {
            None
        };

        if c.bot {
            self.agent = None;
            let hello = self.say(bank.b_hello);
            let mut first = vec![Part::plain(self.say(bank.c_issue))];
            if self.chance(0.4) {
                first.push(Part::plain(self.say(bank.issues.get(c.issue).detail)));
            }
            let said = self.customer_turn(&first, None);
            segs.push(Segment::new(ESSENTIAL, vec![bot(hello), early(said)]));
            if c.gaps.has(Gap::BotDeadEnd) {
                let lost = self.say(bank.b_misunderstand);
                let ask = Part::plain(self.say(bank.c_ask_human));
                let said = self.customer_turn(&[ask], Some(Mood::Fed));
                segs.push(Segment::new(ESSENTIAL, vec![bot(lost), early(said)]));
                let lost = self.say(bank.b_misunderstand);
                let angry = Part {
                    text: self.say(bank.c_ask_human),
                    shout: true,
                };
                let said = self.customer_turn(&[angry], Some(Mood::Angry));
                segs.push(Segment::new(2, vec![bot(lost), early(said)]));
            }
            if c.agent.is_none() {
                let solved = self.say(bank.b_solved);
                let mut end = Vec::new();
                if let Some(e) = positives.first() {
                    end.push(Part::plain(self.say(bank.c_feel.get(*e))));
                }
                end.push(Part::plain(self.say(bank.c_bye_pos)));
                let said = self.customer_turn(&end, Some(Mood::Happy));
                segs.push(Segment::new(ESSENTIAL, vec![bot(solved), early(said)]));
                return segs;
            }
            let handoff = self.say(bank.b_handoff);
            segs.push(Segment::new(
                ESSENTIAL,
                vec![
                    bot(handoff),
                    PlannedTurn {
                        speaker: Speaker::System,
                        text: "Conversation handed over to a human agent".to_string(),
                        before_agent: true,
                    },
                ],
            ));
        }

        let final_agent = self.final_agent;
        self.agent = self.first.or(final_agent);
        let cold = c.gaps.has(Gap::LackOfEmpathy);
        let warm_first =
            self.agent.is_some_and(|a| a.empathy > 0.35) && !(cold && c.transfers == 0);
        let mut hello = if warm_first {
            self.say(bank.a_hello_warm)
        } else {
            self.say(bank.a_hello_cold)
        };
        if (c.gaps.has(Gap::LongWait) || c.incident.is_some()) && warm_first {
            hello = format!("{} {}", self.say(bank.a_sorry_wait), hello);
        }

        // The customer explains.
        let mut statement = Vec::new();
        if !c.bot {
            statement.push(Part::plain(self.say(bank.c_hello)));
        } else if c.gaps.has(Gap::RepeatInformation) {
            statement.push(Part::plain(self.say(bank.c_gap.repeat_information)));
        }
        statement.push(Part::plain(self.say(bank.c_issue)));
        statement.push(Part::plain(self.say(bank.issues.get(c.issue).detail)));
        let front = [
            Gap::LongWait,
            Gap::RepeatContact,
            Gap::NoCallback,
            Gap::BrokenSelfService,
            Gap::ChannelMismatch,
        ];
        for g in front.into_iter().filter(|g| c.gaps.has(*g)).take(2) {
            statement.push(Part::plain(self.say(bank.c_gap.get(g))));
        }
        if let Some(e) = first_bad {
            if self.chance(0.6) {
                // Confusion and disappointment as told up front, not as a
                // reaction to something the agent said.
                let frags = match e {
                    Emotion::Confusion | Emotion::Disappointment => bank.feel.get(e),
                    _ => bank.c_feel.get(e),
                };
                let text = self.say(frags);
                let shout = e == Emotion::Anger && self.customer.caps_prone;
                statement.push(Part { text, shout });
            }
        }
        if pii_kind == Some(PiiKind::Card) {
            statement.push(Part::plain(self.pii_sentence(PiiKind::Card)));
        }
        let said = self.customer_turn(&statement, first_bad.map(mood_of));
        segs.push(Segment::new(ESSENTIAL, vec![agent(hello), said]));

        // Identification, or recognition by an agent who knows the case.
        let knows = positives.contains(&Emotion::Familiarity)
            || (c.index > 0 && final_agent.is_some_and(|a| a.skill > 0.8) && self.chance(0.5));
        if knows && c.transfers == 0 {
            let line = if c.index > 0 {
                self.say(bank.a_recognize)
            } else {
                self.say(bank.a_know)
            };
            let reply = Part::plain(self.say(bank.c_feel.familiarity));
            let said = self.customer_turn(&[reply], Some(Mood::Happy));
            segs.push(Segment::new(ESSENTIAL, vec![agent(line), said]));
        }
        let mut ack = String::new();
        if !(knows && c.transfers == 0) {
            let ask = if warm_first {
                self.say(bank.a_ask_id)
            } else {
                self.say(bank.a_ask_id_cold)
            };
            let mut reply = Vec::new();
            if c.gaps.has(Gap::RepeatInformation) && (c.bot || c.index > 0) && self.chance(0.6) {
                reply.push(Part::plain(self.say(bank.c_gap.repeat_information)));
            }
            match pii_kind {
                Some(PiiKind::NationalId) => {
                    self.pii = pii::value(self.rng, PiiKind::NationalId, self.customer);
                    reply.push(Part::plain(self.say(bank.c_id_pii)));
                }
                Some(kind @ (PiiKind::Email | PiiKind::Phone)) => {
                    reply.push(Part::plain(self.say(bank.c_id)));
                    reply.push(Part::plain(self.pii_sentence(kind)));
                }
                _ => reply.push(Part::plain(self.say(bank.c_id))),
            }
            let said = self.customer_turn(&reply, None);
            // After a bot the data is often already known: skippable then.
            let priority = if c.bot { 6 } else { ESSENTIAL };
            segs.push(Segment::new(priority, vec![agent(ask), said]));
            ack = self.say(bank.a_thanks_id);
        }
        // Agents acknowledge feelings once, not at every turn.
        let mut empathized = false;
        if warm_first && first_bad.is_some() && c.transfers == 0 {
            ack = join_nonempty(&ack, &self.say(bank.a_empathy));
            empathized = true;
        }

        // Transfers.
        if c.transfers > 0 {
            let out = join_nonempty(&ack, &self.say(bank.a_transfer));
            self.agent = final_agent;
            let mut hello = self.say(bank.a_after_transfer);
            if !cold && first_bad.is_some() && self.chance(0.5) {
                hello = format!("{hello} {}", self.say(bank.a_empathy));
                empathized = true;
            }
            let mut reply = vec![Part::plain(self.say(bank.c_gap.transfer))];
            if c.gaps.has(Gap::RepeatInformation) {
                reply.push(Part::plain(self.say(bank.c_gap.repeat_information)));
            }
            let said = self.customer_turn(&reply, Some(Mood::Fed));
            segs.push(Segment::new(
                ESSENTIAL,
                vec![
                    agent(out),
                    PlannedTurn {
                        speaker: Speaker::System,
                        text: format!("Transferring to {}", c.queue.id()),
                        before_agent: false,
                    },
                    agent(hello),
                    said,
                ],
            ));
            ack = String::new();
        }
        self.agent = final_agent;

        if c.gaps.has(Gap::Knowledge) {
            let line = join_nonempty(&ack, &self.say(bank.a_knowledge_gap));
            ack.clear();
            let mut reply = vec![Part::plain(self.say(bank.c_gap.knowledge_gap))];
            if negatives.contains(&Emotion::Confusion) {
                reply.push(Part::plain(self.say(bank.c_feel.confusion)));
            }
            let said = self.customer_turn(&reply, Some(Mood::Puzzled));
            segs.push(Segment::new(4, vec![agent(line), said]));
        }
        if c.gaps.has(Gap::ChannelMismatch) && self.chance(0.6) {
            let line = join_nonempty(&ack, &self.say(bank.a_channel_mismatch));
            ack.clear();
            let reply = Part::plain(self.say(bank.c_feel.frustration));
            let said = self.customer_turn(&[reply], Some(Mood::Fed));
            segs.push(Segment::new(3, vec![agent(line), said]));
        }
        if cold {
            let line = join_nonempty(&ack, &self.say(bank.a_cold));
            ack.clear();
            let mut reply = vec![Part::plain(self.say(bank.c_gap.lack_of_empathy))];
            if negatives.contains(&Emotion::Anger) {
                let text = self.say(bank.c_feel.anger);
                reply.push(Part {
                    text,
                    shout: self.customer.caps_prone,
                });
            }
            let said = self.customer_turn(&reply, Some(Mood::Angry));
            segs.push(Segment::new(5, vec![agent(line), said]));
        }

        // Outcome.
        if c.resolved {
            let mut fix = join_nonempty(&ack, &self.say(bank.issues.get(c.issue).fix));
            if self.chance(0.3) {
                fix = format!("{fix} {}", self.say(bank.a_resolved));
            }
            let mut reply = Vec::new();
            for e in positives
                .iter()
                .filter(|e| **e != Emotion::Familiarity)
                .take(2)
            {
                reply.push(Part::plain(self.say(bank.c_feel.get(*e))));
            }
            if reply.is_empty() {
                reply.push(Part::plain(self.say(bank.c_ok)));
            }
            let mood = positives.last().copied().map(mood_of);
            let said = self.customer_turn(&reply, mood);
            segs.push(Segment::new(ESSENTIAL, vec![agent(fix), said]));
        } else {
            let mut next = if c.callback_promised {
                self.say(bank.a_callback)
            } else {
                self.say(bank.a_pending)
            };
            if !cold && !empathized && self.chance(0.4) {
                next = format!("{} {next}", self.say(bank.a_empathy));
            }
            let next = join_nonempty(&ack, &next);
            let mut reply = vec![Part::plain(self.say(bank.c_gap.unresolved))];
            if let Some(e) = last_bad {
                let text = self.say(bank.c_feel.get(e));
                let shout = e == Emotion::Anger && self.customer.caps_prone;
                reply.push(Part { text, shout });
            }
            let said = self.customer_turn(&reply, last_bad.map(mood_of));
            segs.push(Segment::new(ESSENTIAL, vec![agent(next), said]));
        }

        // Closing.
        let more = self.say(bank.a_more);
        let bye = if c.resolved {
            self.say(bank.c_bye_pos)
        } else {
            self.say(bank.c_bye_neg)
        };
        let said = self.customer_turn(&[Part::plain(bye)], None);
        segs.push(Segment::new(1, vec![agent(more), said]));
        if self.chance(0.5) {
            let bye = if cold {
                self.say(bank.a_bye_cold)
            } else {
                self.say(bank.a_bye_warm)
            };
            segs.push(Segment::new(0, vec![agent(bye)]));
        }
        segs
    }

    /// An e-mail exchange: the customer writes, the agent answers, the
    /// customer replies, the agent closes.
    fn email_thread(&mut self) -> Vec<PlannedTurn> {
        let c = self.contact;
        let bank = self.bank;
        let negatives = self.feelings(false);
        let positives = self.feelings(true);
        self.agent = self.final_agent;

        let mut body = vec![
            Part::plain(self.say(bank.c_issue)),
            Part::plain(self.say(bank.issues.get(c.issue).detail)),
        ];
        // The wait for this reply and the outcome come later in the thread.
        for g in self.salient_gaps(3) {
            if !matches!(g, Gap::Unresolved | Gap::LongWait) {
                body.push(Part::plain(self.say(bank.story.get(g))));
            }
        }
        if let Some(e) = negatives.first() {
            body.push(Part::plain(self.say(bank.feel.get(*e))));
        }
        if self.chance(PII_RATE * 1.2) {
            let kind = pii::pick_kind(self.rng, self.locale);
            body.push(Part::plain(self.pii_sentence(kind)));
        }
        let open = self.say(bank.e_open_c);
        let sign = self.say(bank.e_sign_c);
        let mut first = self.customer_turn(&body, None);
        first.text = format!("{open}\n\n{}\n\n{sign}", first.text);
        first.before_agent = true;

        let mut reply = Vec::new();
        if !c.gaps.has(Gap::LackOfEmpathy) && !negatives.is_empty() {
            reply.push(self.say(bank.a_empathy));
        }
        if c.transfers > 0 {
            reply.push(self.say(bank.a_transfer));
        }
        if c.gaps.has(Gap::Knowledge) {
            reply.push(self.say(bank.a_knowledge_gap));
        }
        if c.gaps.has(Gap::ChannelMismatch) {
            reply.push(self.say(bank.a_channel_mismatch));
        }
        if c.gaps.has(Gap::LackOfEmpathy) {
            reply.push(self.say(bank.a_cold));
        }
        reply.push(if c.resolved {
            self.say(bank.issues.get(c.issue).fix)
        } else if c.callback_promised {
            self.say(bank.a_callback)
        } else {
            self.say(bank.a_pending)
        });
        let open = self.say(bank.e_open_a);
        let sign = self.say(bank.e_sign_a);
        let answer = agent(format!("{open}\n\n{}\n\n{sign}", reply.join(" ")));

        let mut back = Vec::new();
        if c.gaps.has(Gap::LongWait) {
            back.push(Part::plain(self.say(bank.c_gap.long_wait)));
        }
        if c.resolved {
            for e in positives.iter().take(2) {
                back.push(Part::plain(self.say(bank.c_feel.get(*e))));
            }
            back.push(Part::plain(self.say(bank.c_bye_pos)));
        } else {
            back.push(Part::plain(self.say(bank.c_gap.unresolved)));
            if let Some(e) = negatives.last() {
                back.push(Part::plain(self.say(bank.c_feel.get(*e))));
            }
            back.push(Part::plain(self.say(bank.c_bye_neg)));
        }
        let back = self.customer_turn(&back, None);
        let bye = if c.gaps.has(Gap::LackOfEmpathy) {
            self.say(bank.a_bye_cold)
        } else {
            self.say(bank.a_bye_warm)
        };
        vec![first, answer, back, agent(bye)]
    }
}

/// Most turns a conversation has.
const MAX_TURNS: usize = 14;
/// Priority of segments a conversation cannot do without.
const ESSENTIAL: u8 = 10;

/// Consecutive turns that belong together (an exchange), with how much the
/// conversation needs them.
struct Segment {
    turns: Vec<PlannedTurn>,
    priority: u8,
}

impl Segment {
    fn new(priority: u8, turns: Vec<PlannedTurn>) -> Segment {
        Segment { turns, priority }
    }
}

/// Joins segments, merging consecutive turns of the same person so that
/// customers and agents alternate.
fn assemble(segments: &[Segment]) -> Vec<PlannedTurn> {
    let mut out: Vec<PlannedTurn> = Vec::new();
    for t in segments.iter().flat_map(|s| s.turns.iter()) {
        if let Some(last) = out.last_mut() {
            if last.speaker == t.speaker && matches!(t.speaker, Speaker::Customer | Speaker::Agent)
            {
                last.text.push(' ');
                last.text.push_str(&t.text);
                continue;
            }
        }
        out.push(t.clone());
    }
    out
}

fn agent(text: String) -> PlannedTurn {
    PlannedTurn {
        speaker: Speaker::Agent,
        text,
        before_agent: false,
    }
}

fn bot(text: String) -> PlannedTurn {
    PlannedTurn {
        speaker: Speaker::Bot,
        text,
        before_agent: true,
    }
}

/// A customer turn said while still with the bot.
fn early(mut turn: PlannedTurn) -> PlannedTurn {
    turn.before_agent = true;
    turn
}

fn join_nonempty(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a} {b}"),
    }
}

fn mood_of(e: Emotion) -> Mood {
    match e {
        Emotion::Anger => Mood::Angry,
        Emotion::Frustration => Mood::Fed,
        Emotion::Anxiety => Mood::Worried,
        Emotion::Confusion => Mood::Puzzled,
        Emotion::Disappointment => Mood::Sad,
        Emotion::Relief => Mood::Relieved,
        _ => Mood::Happy,
    }
}

/// A piece of a customer's text and whether it is shouted.
struct Part {
    text: String,
    shout: bool,
}

impl Part {
    fn plain(text: String) -> Part {
        Part { text, shout: false }
    }
}

/// Upper-cases the first letter, after any opening marks.
fn sentence_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut done = false;
    for ch in s.chars() {
        if !done && ch.is_alphabetic() {
            out.extend(ch.to_uppercase());
            done = true;
        } else {
            if ch.is_ascii_digit() {
                done = true;
            }
            out.push(ch);
        }
    }
    out
}

fn generic_agent(lang: Language) -> &'static str {
    match lang {
        Language::Es => "la persona que me atendió",
        Language::Pt => "a pessoa que me atendeu",
        _ => "the agent",
    }
}

fn duration(lang: Language, seconds: u32) -> String {
    let minutes = (seconds + 30) / 60;
    if seconds < 90 * 60 {
        let m = if minutes > 12 {
            (minutes + 2) / 5 * 5
        } else {
            minutes.max(1)
        };
        match (lang, m) {
            (Language::Es, 1) => "un minuto".into(),
            (Language::Pt, 1) => "um minuto".into(),
            (Language::Es | Language::Pt, m) => format!("{m} minutos"),
            (_, 1) => "a minute".into(),
            (_, m) => format!("{m} minutes"),
        }
    } else if seconds < 2 * 3_600 {
        match lang {
            Language::Es => "una hora".into(),
            Language::Pt => "uma hora".into(),
            _ => "an hour".into(),
        }
    } else if seconds < 36 * 3_600 {
        let h = (seconds + 1_800) / 3_600;
        match lang {
            Language::Es | Language::Pt => format!("{h} horas"),
            _ => format!("{h} hours"),
        }
    } else {
        let d = ((seconds + 43_200) / 86_400).max(2);
        match lang {
            Language::Es => format!("{d} días"),
            Language::Pt => format!("{d} dias"),
            _ => format!("{d} days"),
        }
    }
}

fn ordinal(lang: Language, n: u32) -> String {
    let i = (n.clamp(2, 5) - 2) as usize;
    match lang {
        Language::Es => ["segunda", "tercera", "cuarta", "quinta"][i],
        Language::Pt => ["segunda", "terceira", "quarta", "quinta"][i],
        _ => ["second", "third", "fourth", "fifth"][i],
    }
    .to_string()
}

fn times(lang: Language, n: u32) -> String {
    let i = (n.clamp(2, 5) - 2) as usize;
    match lang {
        Language::Es => ["dos veces", "tres veces", "cuatro veces", "cinco veces"][i],
        Language::Pt => ["duas vezes", "três vezes", "quatro vezes", "cinco vezes"][i],
        _ => ["twice", "three times", "four times", "five times"][i],
    }
    .to_string()
}

fn dept(lang: Language, locale: Locale, q: Queue) -> &'static str {
    match lang {
        Language::Es => match q {
            Queue::Billing => "facturación",
            Queue::TechSupport => "soporte técnico",
            Queue::Sales => "ventas",
            Queue::Cancellations if locale == Locale::EsEs => "bajas",
            Queue::Cancellations => "cancelaciones",
            Queue::Claims if locale == Locale::EsEs => "siniestros",
            Queue::Claims => "reclamos",
            Queue::Onboarding if locale == Locale::EsEs => "altas",
            Queue::Onboarding => "activaciones",
        },
        Language::Pt => match q {
            Queue::Billing => "financeiro",
            Queue::TechSupport => "suporte técnico",
            Queue::Sales => "vendas",
            Queue::Cancellations => "cancelamento",
            Queue::Claims => "sinistros",
            Queue::Onboarding => "ativação",
        },
        _ => match q {
            Queue::Billing => "billing",
            Queue::TechSupport => "tech support",
            Queue::Sales => "sales",
            Queue::Cancellations => "cancellations",
            Queue::Claims => "claims",
            Queue::Onboarding => "new accounts",
        },
    }
}

fn via(rng: &mut DemoRng, lang: Language, locale: Locale, ch: Channel) -> &'static str {
    let pick = |rng: &mut DemoRng, xs: &[&'static str]| xs.choose(rng).copied().unwrap_or("");
    match lang {
        Language::Es => match ch {
            Channel::Voice => pick(rng, &["por teléfono", "a la línea de atención"]),
            Channel::Chat => pick(rng, &["por el chat", "por el chat de la web"]),
            Channel::Email if locale == Locale::EsAr => "por mail",
            Channel::Email => pick(rng, &["por correo", "por mail"]),
            Channel::Whatsapp => "por WhatsApp",
            Channel::Social => pick(rng, &["por Instagram", "por Facebook", "por Twitter"]),
            _ => pick(rng, &["por la web", "por el formulario de la web"]),
        },
        Language::Pt => match ch {
            Channel::Voice => pick(rng, &["por telefone", "pela central"]),
            Channel::Chat => pick(rng, &["pelo chat", "pelo chat do site"]),
            Channel::Email => "por e-mail",
            Channel::Whatsapp => pick(rng, &["pelo WhatsApp", "pelo zap"]),
            Channel::Social => pick(rng, &["pelo Instagram", "pelo Facebook", "pelo Twitter"]),
            _ => pick(rng, &["pelo site", "pelo formulário do site"]),
        },
        _ => match ch {
            Channel::Voice => pick(rng, &["by phone", "over the phone"]),
            Channel::Chat => pick(rng, &["via chat", "on the live chat"]),
            Channel::Email => "by email",
            Channel::Whatsapp => "on WhatsApp",
            Channel::Social => pick(rng, &["on Instagram", "on Facebook", "on Twitter"]),
            _ => pick(rng, &["through the website", "via the web form"]),
        },
    }
}

#[derive(Clone, Copy)]
enum Form {
    Past,
    Participle,
    Now,
    Told,
}

fn called(rng: &mut DemoRng, lang: Language, ch: Channel, form: Form) -> &'static str {
    let voice = ch == Channel::Voice;
    match (lang, form, voice) {
        (Language::Es, Form::Past, true) => "llamé",
        (Language::Es, Form::Past, false) => "escribí",
        (Language::Es, Form::Participle, true) => "llamado",
        (Language::Es, Form::Participle, false) => "escrito",
        (Language::Es, Form::Now, true) => "llamo",
        (Language::Es, Form::Now, false) => "escribo",
        (Language::Es, Form::Told, true) => "llamara",
        (Language::Es, Form::Told, false) => "escribiera",
        (Language::Pt, Form::Past, true) => "liguei",
        (Language::Pt, Form::Past, false) => {
            if rng.gen_bool(0.5) {
                "mandei mensagem"
            } else {
                "escrevi"
            }
        }
        (Language::Pt, Form::Participle, true) => "ligado",
        (Language::Pt, Form::Participle, false) => "escrito",
        (Language::Pt, Form::Now, true) => "ligando",
        (Language::Pt, Form::Now, false) => "escrevendo",
        (Language::Pt, Form::Told, true) => "ligar",
        (Language::Pt, Form::Told, false) => "escrever",
        (_, Form::Past, true) => "called",
        (_, Form::Past, false) => {
            if rng.gen_bool(0.5) {
                "wrote in"
            } else {
                "messaged"
            }
        }
        (_, Form::Participle, true) => "called",
        (_, Form::Participle, false) => "written in",
        (_, Form::Now, true) => "calling",
        (_, Form::Now, false) => "writing",
        (_, Form::Told, true) => "call",
        (_, Form::Told, false) => "write",
    }
}

fn my_product(rng: &mut DemoRng, lang: Language, locale: Locale, p: Product) -> &'static str {
    let pick = |rng: &mut DemoRng, xs: &[&'static str]| xs.choose(rng).copied().unwrap_or("");
    match lang {
        Language::Es => match p {
            Product::Fiber300 => pick(rng, &["mi fibra de 300 megas", "mi internet"]),
            Product::MobilePrepaid => pick(rng, &["mi línea prepago", "mi chip prepago"]),
            Product::MobilePostpaid if locale == Locale::EsEs => {
                pick(rng, &["mi tarifa de móvil", "mi contrato del móvil"])
            }
            Product::MobilePostpaid => pick(rng, &["mi plan de celular", "mi línea pospago"]),
            Product::CreditCard => "mi tarjeta de crédito",
            Product::HomeInsurance => "mi seguro de hogar",
            Product::TravelInsurance => "mi seguro de viaje",
            Product::TvPlus => pick(rng, &["mi TV Plus", "mi paquete de televisión"]),
            Product::SavingsAccount => "mi cuenta de ahorros",
        },
        Language::Pt => match p {
            Product::Fiber300 => pick(rng, &["minha fibra de 300 mega", "minha internet"]),
            Product::MobilePrepaid => pick(rng, &["meu pré-pago", "meu chip pré-pago"]),
            Product::MobilePostpaid => pick(rng, &["meu plano pós-pago", "meu plano de celular"]),
            Product::CreditCard => "meu cartão de crédito",
            Product::HomeInsurance => "meu seguro residencial",
            Product::TravelInsurance => "meu seguro viagem",
            Product::TvPlus => pick(rng, &["meu TV Plus", "meu pacote de TV"]),
            Product::SavingsAccount => pick(rng, &["minha poupança", "minha conta poupança"]),
        },
        _ => match p {
            Product::Fiber300 if locale == Locale::EnGb => "my 300 Mbps fibre broadband",
            Product::Fiber300 => "my 300 Mbps fiber plan",
            Product::MobilePrepaid if locale == Locale::EnGb => "my pay-as-you-go SIM",
            Product::MobilePrepaid => "my prepaid line",
            Product::MobilePostpaid if locale == Locale::EnGb => "my monthly mobile contract",
            Product::MobilePostpaid => "my phone plan",
            Product::CreditCard => "my credit card",
            Product::HomeInsurance => "my home insurance",
            Product::TravelInsurance => "my travel insurance",
            Product::TvPlus => "my TV Plus package",
            Product::SavingsAccount => "my savings account",
        },
    }
}

/// Groups digits by three with `sep`.
fn thousands(n: u64, sep: char) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(ch);
    }
    out
}

/// An amount (in the demo's reference unit) in local currency and format.
fn money(locale: Locale, amount: f64) -> String {
    let cents = |x: f64| ((x * 100.0).round() as u64 % 100, x.trunc() as u64);
    match locale {
        Locale::EsMx => format!("${} pesos", thousands((amount * 18.0).round() as u64, ',')),
        Locale::EsAr => format!(
            "${}",
            thousands((amount * 1_000.0 / 100.0).round() as u64 * 100, '.')
        ),
        Locale::EsCo => format!(
            "${}",
            thousands((amount * 4_000.0 / 100.0).round() as u64 * 100, '.')
        ),
        Locale::EsCl => {
            // Chilean prices end in 990.
            let thousands_of_pesos = ((amount * 0.9).round() as u64).max(1);
            format!("${}", thousands(thousands_of_pesos * 1_000 - 10, '.'))
        }
        Locale::EsEs => {
            let (c, e) = cents(amount * 0.92);
            format!("{},{c:02} €", thousands(e, '.'))
        }
        Locale::PtBr => {
            let (c, r) = cents(amount * 5.2);
            format!("R$ {},{c:02}", thousands(r, '.'))
        }
        Locale::EnUs => {
            let (c, d) = cents(amount);
            format!("${}.{c:02}", thousands(d, ','))
        }
        Locale::EnGb => {
            let (c, p) = cents(amount * 0.8);
            format!("£{}.{c:02}", thousands(p, ','))
        }
    }
}

fn prev_when(rng: &mut DemoRng, lang: Language, days: u32) -> String {
    let d = days.max(1);
    let choice = if d <= 1 {
        0
    } else if d <= 4 {
        rng.gen_range(1..3)
    } else {
        3
    };
    match (lang, choice) {
        (Language::Es, 0) => "ayer".into(),
        (Language::Es, 1) => format!("hace {d} días"),
        (Language::Es, 2) => "el otro día".into(),
        (Language::Es, _) => "la semana pasada".into(),
        (Language::Pt, 0) => "ontem".into(),
        (Language::Pt, 1) => format!("há {d} dias"),
        (Language::Pt, 2) => "outro dia".into(),
        (Language::Pt, _) => "semana passada".into(),
        (_, 0) => "yesterday".into(),
        (_, 1) => format!("{d} days ago"),
        (_, 2) => "the other day".into(),
        (_, _) => "last week".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;
    use crate::story::{plan, Plan};
    use crate::text::Frags;
    use chrono::{TimeZone, Utc};
    use rand::SeedableRng;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Language::Es, 45), "un minuto");
        assert_eq!(duration(Language::Es, 41 * 60), "40 minutos");
        assert_eq!(duration(Language::Pt, 100 * 60), "uma hora");
        assert_eq!(duration(Language::En, 5 * 3_600), "5 hours");
        assert_eq!(duration(Language::En, 3 * 86_400), "3 days");
        assert_eq!(duration(Language::Es, 7 * 60), "7 minutos");
    }

    #[test]
    fn money_uses_local_formats() {
        assert_eq!(money(Locale::EnUs, 74.99), "$74.99");
        assert_eq!(money(Locale::PtBr, 100.0), "R$ 520,00");
        assert_eq!(money(Locale::EsMx, 100.0), "$1,800 pesos");
        assert_eq!(money(Locale::EsAr, 38.5), "$38.500");
        assert_eq!(money(Locale::EsCl, 50.0), "$44.990");
        assert_eq!(money(Locale::EsEs, 100.0), "92,00 €");
        assert_eq!(thousands(1_234_567, '.'), "1.234.567");
    }

    #[test]
    fn sentence_case_skips_opening_marks() {
        assert_eq!(sentence_case("¿ya está?"), "¿Ya está?");
        assert_eq!(sentence_case("40 minutos"), "40 minutos");
        assert_eq!(sentence_case("ok"), "Ok");
    }

    fn all_lists(b: &Bank) -> Vec<Frags> {
        let mut v = vec![
            b.opening,
            b.issue_lead,
            b.contrast,
            b.sarcasm,
            b.churn,
            b.close_pos,
            b.close_neg,
            b.neutral,
            b.short_pos,
            b.short_neg,
            b.c_hello,
            b.c_issue,
            b.c_ask_human,
            b.c_id,
            b.c_id_pii,
            b.c_ok,
            b.c_bye_pos,
            b.c_bye_neg,
            b.a_hello_warm,
            b.a_hello_cold,
            b.a_sorry_wait,
            b.a_ask_id,
            b.a_ask_id_cold,
            b.a_thanks_id,
            b.a_recognize,
            b.a_know,
            b.a_empathy,
            b.a_cold,
            b.a_knowledge_gap,
            b.a_transfer,
            b.a_after_transfer,
            b.a_channel_mismatch,
            b.a_callback,
            b.a_pending,
            b.a_resolved,
            b.a_more,
            b.a_bye_warm,
            b.a_bye_cold,
            b.b_hello,
            b.b_misunderstand,
            b.b_handoff,
            b.b_solved,
            b.e_open_c,
            b.e_sign_c,
            b.e_open_a,
            b.e_sign_a,
            b.pii_email,
            b.pii_phone,
            b.pii_doc,
            b.pii_card,
        ];
        for g in Gap::STORY_ORDER {
            v.push(b.story.get(g));
            v.push(b.c_gap.get(g));
        }
        for e in [
            Emotion::Surprise,
            Emotion::Familiarity,
            Emotion::Relief,
            Emotion::Gratitude,
            Emotion::Belonging,
            Emotion::Frustration,
            Emotion::Anger,
            Emotion::Anxiety,
            Emotion::Confusion,
            Emotion::Disappointment,
        ] {
            v.push(b.feel.get(e));
            v.push(b.c_feel.get(e));
        }
        for i in crate::story::Issue::ALL {
            let t = b.issues.get(i);
            v.extend([t.noun, t.detail, t.fix]);
        }
        v
    }

    #[test]
    fn every_template_is_well_formed_and_uses_known_slots() {
        for lang in [Language::Es, Language::Pt, Language::En] {
            for list in all_lists(text::bank(lang)) {
                assert!(!list.is_empty());
                for (_, tpl) in list {
                    let (mut square, mut curly) = (0i32, 0i32);
                    for ch in tpl.chars() {
                        match ch {
                            '[' => square += 1,
                            ']' => square -= 1,
                            '{' => curly += 1,
                            '}' => curly -= 1,
                            _ => {}
                        }
                        assert!(square >= 0 && curly >= 0, "{tpl}");
                    }
                    assert!(square == 0 && curly == 0, "unbalanced: {tpl}");
                    let mut rest = *tpl;
                    while let Some(i) = rest.find('{') {
                        let body = &rest[i + 1..];
                        let end = body.find('}').unwrap();
                        let name = &body[..end];
                        if !name.contains('|') && !name.starts_with('@') {
                            let lower = name.to_lowercase();
                            assert!(
                                SLOTS.contains(&lower.as_str()),
                                "unknown slot {name} in {tpl}"
                            );
                        }
                        rest = &body[end..];
                    }
                }
            }
        }
    }

    fn fixture() -> (World, Plan) {
        let mut rng = DemoRng::seed_from_u64(21);
        let world = World::build(&mut rng, 3_000);
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let cal = Calendar::new(now, 60);
        let p = plan(&mut rng, &world, &cal, 3_000, 0);
        (world, p)
    }

    #[test]
    fn rendered_texts_have_no_template_residue() {
        let (world, p) = fixture();
        let mut rng = DemoRng::seed_from_u64(3);
        for c in &p.contacts {
            let mut ctx = Ctx::new(&mut rng, &world, c);
            let comment = ctx.survey_comment();
            assert!(!comment.trim().is_empty());
            let turns = ctx.conversation();
            for t in std::iter::once(&comment).chain(turns.iter().map(|t| &t.text)) {
                assert!(!t.contains(['{', '}', '[', ']', '|']), "{t}");
                assert!(!t.contains("  "), "double space in {t:?}");
            }
        }
    }

    #[test]
    fn conversations_tell_what_the_numbers_say() {
        let (world, p) = fixture();
        let mut rng = DemoRng::seed_from_u64(4);
        let mut checked_waits = 0;
        for c in &p.contacts {
            let lang = world.customers[c.customer].locale.language();
            let turns = Ctx::new(&mut rng, &world, c).conversation();
            assert!(
                (4..=MAX_TURNS).contains(&turns.len()),
                "{} turns",
                turns.len()
            );
            let speakers: Vec<Speaker> = turns.iter().map(|t| t.speaker).collect();
            for w in speakers.windows(2) {
                assert!(!(w[0] == w[1] && matches!(w[0], Speaker::Customer | Speaker::Agent)));
            }
            if c.channel == Channel::Email {
                assert_eq!(turns.len(), 4);
                continue;
            }
            if c.bot {
                assert_eq!(speakers[0], Speaker::Bot);
            }
            if c.gaps.has(Gap::BotDeadEnd) {
                let bot_turns = speakers.iter().filter(|s| **s == Speaker::Bot).count();
                assert!(bot_turns >= 3, "{speakers:?}");
            }
            let system: Vec<&str> = turns
                .iter()
                .filter(|t| t.speaker == Speaker::System)
                .map(|t| t.text.as_str())
                .collect();
            assert_eq!(
                system.iter().any(|s| s.starts_with("Transferring to")),
                c.transfers > 0
            );
            assert_eq!(
                system.iter().any(|s| s.contains("human agent")),
                c.escalated
            );
            if c.gaps.has(Gap::LongWait) && c.channel == Channel::Voice {
                let all: String = turns.iter().map(|t| t.text.to_lowercase()).collect();
                let wait = duration(lang, c.wait_s);
                assert!(all.contains(&wait), "{wait:?} not in {all}");
                checked_waits += 1;
            }
        }
        assert!(checked_waits > 30);
    }
}
