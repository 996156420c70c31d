//! The fictional contact center behind the demo: locales, queues, products,
//! teams, agents and customers.

use escucha_core::{Channel, Language};
use rand::seq::SliceRandom;
use rand::Rng;

use crate::rng::{normal, weighted_index, DemoRng};

/// A customer's market: language plus the regional variety they write in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Locale {
    EsMx,
    EsAr,
    EsEs,
    EsCo,
    EsCl,
    PtBr,
    EnUs,
    EnGb,
}

impl Locale {
    pub(crate) const ALL: [Locale; 8] = [
        Locale::EsMx,
        Locale::EsAr,
        Locale::EsEs,
        Locale::EsCo,
        Locale::EsCl,
        Locale::PtBr,
        Locale::EnUs,
        Locale::EnGb,
    ];

    /// Share of customers per locale: 45% Spanish, 35% Portuguese, 20% English.
    const WEIGHTS: [f64; 8] = [0.155, 0.085, 0.09, 0.065, 0.055, 0.35, 0.13, 0.07];

    pub(crate) fn language(self) -> Language {
        match self {
            Locale::EsMx | Locale::EsAr | Locale::EsEs | Locale::EsCo | Locale::EsCl => {
                Language::Es
            }
            Locale::PtBr => Language::Pt,
            Locale::EnUs | Locale::EnGb => Language::En,
        }
    }

    /// BCP 47 tag, e.g. `es-MX`.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Locale::EsMx => "es-MX",
            Locale::EsAr => "es-AR",
            Locale::EsEs => "es-ES",
            Locale::EsCo => "es-CO",
            Locale::EsCl => "es-CL",
            Locale::PtBr => "pt-BR",
            Locale::EnUs => "en-US",
            Locale::EnGb => "en-GB",
        }
    }

    /// POSIX-style tag, e.g. `pt_BR`, as survey tools write it.
    pub(crate) fn posix_tag(self) -> &'static str {
        match self {
            Locale::EsMx => "es_MX",
            Locale::EsAr => "es_AR",
            Locale::EsEs => "es_ES",
            Locale::EsCo => "es_CO",
            Locale::EsCl => "es_CL",
            Locale::PtBr => "pt_BR",
            Locale::EnUs => "en_US",
            Locale::EnGb => "en_GB",
        }
    }

    /// Fixed UTC offset used to place business hours (daylight saving is
    /// ignored; an hour off does not change the shape of the day).
    pub(crate) fn utc_offset_hours(self) -> i64 {
        match self {
            Locale::EsMx => -6,
            Locale::EsAr => -3,
            Locale::EsEs => 1,
            Locale::EsCo => -5,
            Locale::EsCl => -4,
            Locale::PtBr => -3,
            Locale::EnUs => -5,
            Locale::EnGb => 0,
        }
    }

    /// Bit of this locale in the region masks of the text banks.
    pub(crate) fn region_bit(self) -> u16 {
        match self {
            Locale::EsMx | Locale::PtBr | Locale::EnUs => 1,
            Locale::EsAr | Locale::EnGb => 2,
            Locale::EsEs => 4,
            Locale::EsCo => 8,
            Locale::EsCl => 16,
        }
    }

    /// Typical channel mix of the market, in [`CHANNELS`] order.
    fn channel_mix(self) -> [f64; 6] {
        match self {
            Locale::EsMx => [0.30, 0.15, 0.08, 0.32, 0.10, 0.05],
            Locale::EsAr => [0.30, 0.15, 0.10, 0.30, 0.10, 0.05],
            Locale::EsEs => [0.45, 0.18, 0.15, 0.10, 0.05, 0.07],
            Locale::EsCo => [0.28, 0.15, 0.08, 0.34, 0.10, 0.05],
            Locale::EsCl => [0.32, 0.18, 0.12, 0.24, 0.08, 0.06],
            Locale::PtBr => [0.22, 0.14, 0.08, 0.40, 0.12, 0.04],
            Locale::EnUs => [0.35, 0.30, 0.18, 0.02, 0.08, 0.07],
            Locale::EnGb => [0.40, 0.25, 0.20, 0.05, 0.05, 0.05],
        }
    }

    fn team(self) -> Team {
        match self {
            Locale::EsMx | Locale::EsCo | Locale::EnUs => Team::MexicoCity,
            Locale::EsAr | Locale::EsCl => Team::BuenosAires,
            Locale::EsEs | Locale::EnGb => Team::Madrid,
            Locale::PtBr => Team::SaoPaulo,
        }
    }
}

/// The channels customers pick from, in the order of the mix arrays.
pub(crate) const CHANNELS: [Channel; 6] = [
    Channel::Voice,
    Channel::Chat,
    Channel::Email,
    Channel::Whatsapp,
    Channel::Social,
    Channel::Web,
];

/// Contact-center queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Queue {
    Billing,
    TechSupport,
    Sales,
    Cancellations,
    Claims,
    Onboarding,
}

impl Queue {
    pub(crate) const ALL: [Queue; 6] = [
        Queue::Billing,
        Queue::TechSupport,
        Queue::Sales,
        Queue::Cancellations,
        Queue::Claims,
        Queue::Onboarding,
    ];

    pub(crate) fn id(self) -> &'static str {
        match self {
            Queue::Billing => "billing",
            Queue::TechSupport => "tech-support",
            Queue::Sales => "sales",
            Queue::Cancellations => "cancellations",
            Queue::Claims => "claims",
            Queue::Onboarding => "onboarding",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Products the fictional company sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Product {
    Fiber300,
    MobilePrepaid,
    MobilePostpaid,
    CreditCard,
    HomeInsurance,
    TravelInsurance,
    TvPlus,
    SavingsAccount,
}

impl Product {
    pub(crate) const ALL: [Product; 8] = [
        Product::Fiber300,
        Product::MobilePrepaid,
        Product::MobilePostpaid,
        Product::CreditCard,
        Product::HomeInsurance,
        Product::TravelInsurance,
        Product::TvPlus,
        Product::SavingsAccount,
    ];

    /// How common the product is among customers.
    const POPULARITY: [f64; 8] = [0.22, 0.16, 0.16, 0.14, 0.08, 0.05, 0.10, 0.09];

    pub(crate) fn id(self) -> &'static str {
        match self {
            Product::Fiber300 => "fiber-300",
            Product::MobilePrepaid => "mobile-prepaid",
            Product::MobilePostpaid => "mobile-postpaid",
            Product::CreditCard => "credit-card",
            Product::HomeInsurance => "home-insurance",
            Product::TravelInsurance => "travel-insurance",
            Product::TvPlus => "tv-plus",
            Product::SavingsAccount => "savings-account",
        }
    }
}

/// Agent teams, one per site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Team {
    MexicoCity,
    BuenosAires,
    Madrid,
    SaoPaulo,
}

impl Team {
    pub(crate) fn id(self) -> &'static str {
        match self {
            Team::MexicoCity => "mexico-city",
            Team::BuenosAires => "buenos-aires",
            Team::Madrid => "madrid",
            Team::SaoPaulo => "sao-paulo",
        }
    }

    /// Headcount per site and the names agents there go by.
    fn roster(self) -> (usize, &'static [(&'static str, bool)]) {
        match self {
            Team::MexicoCity => (12, AGENTS_MX),
            Team::BuenosAires => (6, AGENTS_AR),
            Team::Madrid => (7, AGENTS_ES),
            Team::SaoPaulo => (15, AGENTS_BR),
        }
    }
}

const TEAMS: [Team; 4] = [
    Team::MexicoCity,
    Team::BuenosAires,
    Team::Madrid,
    Team::SaoPaulo,
];

/// Agent first names per site; `true` marks a woman's name.
const AGENTS_MX: &[(&str, bool)] = &[
    ("Mariana", true),
    ("Alejandro", false),
    ("Guadalupe", true),
    ("Jorge", false),
    ("Ximena", true),
    ("Luis", false),
    ("Daniela", true),
    ("Ricardo", false),
    ("Fernanda", true),
    ("Andrés", false),
    ("Paola", true),
    ("Héctor", false),
    ("Karla", true),
    ("Iván", false),
];
const AGENTS_AR: &[(&str, bool)] = &[
    ("Florencia", true),
    ("Facundo", false),
    ("Agustina", true),
    ("Matías", false),
    ("Micaela", true),
    ("Gonzalo", false),
    ("Camila", true),
];
const AGENTS_ES: &[(&str, bool)] = &[
    ("Lucía", true),
    ("Javier", false),
    ("Marta", true),
    ("Álvaro", false),
    ("Irene", true),
    ("Sergio", false),
    ("Nuria", true),
    ("Pablo", false),
];
const AGENTS_BR: &[(&str, bool)] = &[
    ("Juliana", true),
    ("Rafael", false),
    ("Beatriz", true),
    ("Thiago", false),
    ("Larissa", true),
    ("Gustavo", false),
    ("Aline", true),
    ("Bruno", false),
    ("Renata", true),
    ("Felipe", false),
    ("Tatiane", true),
    ("Vinícius", false),
    ("Priscila", true),
    ("Leandro", false),
    ("Débora", true),
    ("Marcelo", false),
];

/// A contact-center agent and how well they work.
#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub id: String,
    pub name: &'static str,
    pub female: bool,
    pub team: Team,
    /// Bit per [`Queue::index`] the agent is skilled for.
    pub queues: u8,
    /// Warmth with upset customers, 0..1. Low values are cold agents.
    pub empathy: f64,
    /// Product knowledge and ability to fix things, 0..1.
    pub skill: f64,
    /// Relative share of contacts the agent takes.
    pub load: f64,
}

/// How a customer writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writing {
    /// Accents, capitals and punctuation in place.
    Careful,
    /// Drops accents and opening marks, some abbreviations.
    Casual,
    /// Lowercase, abbreviations, little punctuation.
    Sloppy,
}

#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub id: String,
    pub locale: Locale,
    pub first: &'static str,
    pub last: &'static str,
    pub last2: &'static str,
    pub female: bool,
    pub birth_year: u32,
    pub writing: Writing,
    pub emoji: f64,
    pub caps_prone: bool,
    pub tenure_years: u32,
    pub products: Vec<Product>,
    pub channel_mix: [f64; 6],
}

/// Everything that stays fixed over the demo period.
pub(crate) struct World {
    pub agents: Vec<Agent>,
    pub customers: Vec<Customer>,
    /// Agent indices per team.
    team_agents: [Vec<usize>; 4],
}

impl World {
    /// Builds the agents and a customer base sized for `interactions`
    /// (about 2,500 customers for the default 6,000 interactions).
    pub(crate) fn build(rng: &mut DemoRng, interactions: usize) -> World {
        let mut agents = Vec::new();
        let mut numbers: Vec<u32> = (1..=60).collect();
        numbers.shuffle(rng);
        let mut team_agents: [Vec<usize>; 4] = Default::default();
        for (t, team) in TEAMS.iter().enumerate() {
            let (headcount, names) = team.roster();
            let mut names: Vec<(&str, bool)> = names.to_vec();
            names.shuffle(rng);
            for (k, (name, female)) in names.into_iter().take(headcount).enumerate() {
                let number = numbers.pop().unwrap_or(99);
                // Profiles: stars, solid, kind-but-new, cold.
                let (empathy, skill) = match rng.gen_range(0..100) {
                    0..=19 => (rng.gen_range(0.85..1.0), rng.gen_range(0.8..1.0)),
                    20..=66 => (rng.gen_range(0.55..0.82), rng.gen_range(0.55..0.85)),
                    67..=82 => (rng.gen_range(0.6..0.9), rng.gen_range(0.2..0.45)),
                    _ => (rng.gen_range(0.03..0.25), rng.gen_range(0.35..0.75)),
                };
                // Every queue has someone on each site; agents also cover one or two more.
                let mut queues = 1u8 << (k % Queue::ALL.len());
                for _ in 0..rng.gen_range(1..=2) {
                    queues |= 1 << rng.gen_range(0..Queue::ALL.len());
                }
                team_agents[t].push(agents.len());
                agents.push(Agent {
                    id: format!("ag-{number:03}"),
                    name,
                    female,
                    team: *team,
                    queues,
                    empathy,
                    skill,
                    load: rng.gen_range(0.6..1.4),
                });
            }
        }

        let count = (interactions * 5 / 12).max(1);
        let locale_weights = Locale::WEIGHTS;
        let mut customers = Vec::with_capacity(count);
        let mut ids: Vec<u32> = (0..count as u32).collect();
        ids.shuffle(rng);
        for id in ids {
            let locale = Locale::ALL[weighted_index(rng, &locale_weights)];
            let number = 10_000 + id * 3 + rng.gen_range(0..3);
            customers.push(Customer::random(rng, number, locale));
        }
        World {
            agents,
            customers,
            team_agents,
        }
    }

    /// Picks the agent who takes a contact in `queue` for a customer of
    /// `locale`, preferring agents skilled for the queue.
    pub(crate) fn pick_agent(
        &self,
        rng: &mut DemoRng,
        locale: Locale,
        queue: Queue,
        except: Option<usize>,
    ) -> usize {
        let team = locale.team() as usize;
        let pool = &self.team_agents[team];
        let skilled: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|&a| self.agents[a].queues & (1 << queue.index()) != 0 && Some(a) != except)
            .collect();
        let pool: Vec<usize> = if skilled.is_empty() {
            pool.iter()
                .copied()
                .filter(|&a| Some(a) != except)
                .collect()
        } else {
            skilled
        };
        if pool.is_empty() {
            return self.team_agents[team][0];
        }
        let weights: Vec<f64> = pool.iter().map(|&a| self.agents[a].load).collect();
        pool[weighted_index(rng, &weights)]
    }
}

impl Customer {
    fn random(rng: &mut DemoRng, number: u32, locale: Locale) -> Customer {
        let female = rng.gen_bool(0.52);
        let (firsts_f, firsts_m, lasts) = match locale.language() {
            Language::Pt => (PT_FEMALE, PT_MALE, PT_LAST),
            Language::En => (EN_FEMALE, EN_MALE, EN_LAST),
            _ => (ES_FEMALE, ES_MALE, ES_LAST),
        };
        let first = *(if female { firsts_f } else { firsts_m })
            .choose(rng)
            .unwrap_or(&"Ana");
        let last = *lasts.choose(rng).unwrap_or(&"Silva");
        let last2 = *lasts.choose(rng).unwrap_or(&"Silva");
        let birth_year = rng.gen_range(1950..2005);
        let young = birth_year >= 1985;
        let writing = match rng.gen_range(0..100) {
            n if n < (if young { 25 } else { 55 }) => Writing::Careful,
            n if n < (if young { 70 } else { 88 }) => Writing::Casual,
            _ => Writing::Sloppy,
        };
        let emoji = if young {
            rng.gen_range(0.1..0.6)
        } else {
            rng.gen_range(0.0..0.25)
        };
        let mut channel_mix = locale.channel_mix();
        for (i, w) in channel_mix.iter_mut().enumerate() {
            // Older customers phone more, younger ones message more.
            let age_bias = match (CHANNELS[i], young) {
                (Channel::Voice, false) => 1.6,
                (Channel::Voice, true) => 0.7,
                (Channel::Whatsapp | Channel::Social | Channel::Chat, true) => 1.4,
                _ => 1.0,
            };
            *w *= age_bias * (0.35 * normal(rng)).exp();
        }
        let mut products = vec![Product::ALL[weighted_index(rng, &Product::POPULARITY)]];
        for _ in 0..rng.gen_range(0..=2) {
            let p = Product::ALL[weighted_index(rng, &Product::POPULARITY)];
            if !products.contains(&p) {
                products.push(p);
            }
        }
        let tenure_years = match rng.gen_range(0..100) {
            0..=34 => rng.gen_range(0..3),
            35..=74 => rng.gen_range(3..8),
            _ => rng.gen_range(8..25),
        };
        Customer {
            id: format!("C-{number}"),
            locale,
            first,
            last,
            last2,
            female,
            birth_year,
            writing,
            emoji,
            caps_prone: rng.gen_bool(0.3),
            tenure_years,
            products,
            channel_mix,
        }
    }

    pub(crate) fn full_name(&self) -> String {
        match self.locale.language() {
            Language::Es => format!("{} {} {}", self.first, self.last, self.last2),
            _ => format!("{} {}", self.first, self.last),
        }
    }
}

const ES_FEMALE: &[&str] = &[
    "María",
    "Guadalupe",
    "Fernanda",
    "Daniela",
    "Valentina",
    "Camila",
    "Lucía",
    "Sofía",
    "Martina",
    "Paula",
    "Carmen",
    "Rosa",
    "Ana",
    "Laura",
    "Andrea",
    "Gabriela",
    "Florencia",
    "Agustina",
    "Javiera",
    "Catalina",
    "Ximena",
    "Alejandra",
    "Patricia",
    "Verónica",
    "Natalia",
    "Mariana",
    "Carolina",
    "Elena",
    "Marta",
    "Pilar",
    "Claudia",
    "Silvia",
    "Lorena",
    "Beatriz",
    "Yolanda",
    "Josefina",
    "Constanza",
    "Milagros",
    "Dolores",
    "Inés",
];
const ES_MALE: &[&str] = &[
    "José",
    "Juan",
    "Luis",
    "Carlos",
    "Jorge",
    "Miguel",
    "Alejandro",
    "Diego",
    "Santiago",
    "Matías",
    "Sebastián",
    "Andrés",
    "Javier",
    "Pablo",
    "Sergio",
    "Fernando",
    "Ricardo",
    "Eduardo",
    "Rodrigo",
    "Gonzalo",
    "Facundo",
    "Nicolás",
    "Felipe",
    "Manuel",
    "Álvaro",
    "Raúl",
    "Héctor",
    "Iván",
    "Tomás",
    "Joaquín",
    "Emilio",
    "Rubén",
    "Óscar",
    "Ignacio",
    "Cristian",
    "Mauricio",
    "Hugo",
    "Gustavo",
    "Esteban",
    "Ramón",
];
const ES_LAST: &[&str] = &[
    "García",
    "Martínez",
    "López",
    "Hernández",
    "González",
    "Rodríguez",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Flores",
    "Rivera",
    "Gómez",
    "Díaz",
    "Morales",
    "Vázquez",
    "Castro",
    "Romero",
    "Ortiz",
    "Ruiz",
    "Álvarez",
    "Jiménez",
    "Moreno",
    "Muñoz",
    "Rojas",
    "Vargas",
    "Herrera",
    "Medina",
    "Aguilar",
    "Navarro",
    "Silva",
    "Fernández",
    "Suárez",
    "Molina",
    "Domínguez",
    "Cabrera",
    "Ríos",
    "Mendoza",
    "Contreras",
    "Castillo",
    "Salazar",
    "Ibarra",
    "Espinoza",
    "Villalobos",
    "Bustos",
    "Quiroga",
];
const PT_FEMALE: &[&str] = &[
    "Ana",
    "Maria",
    "Juliana",
    "Fernanda",
    "Camila",
    "Beatriz",
    "Larissa",
    "Patrícia",
    "Aline",
    "Vanessa",
    "Renata",
    "Luana",
    "Gabriela",
    "Letícia",
    "Bruna",
    "Carla",
    "Tatiane",
    "Priscila",
    "Sabrina",
    "Débora",
    "Adriana",
    "Cláudia",
    "Rafaela",
    "Simone",
    "Jéssica",
    "Natália",
    "Mariana",
    "Rosângela",
    "Francisca",
    "Viviane",
];
const PT_MALE: &[&str] = &[
    "João",
    "Pedro",
    "Lucas",
    "Gabriel",
    "Rafael",
    "Felipe",
    "Gustavo",
    "Bruno",
    "Thiago",
    "Rodrigo",
    "Marcelo",
    "André",
    "Eduardo",
    "Leandro",
    "Fábio",
    "Diego",
    "Vinícius",
    "Matheus",
    "Ricardo",
    "Paulo",
    "Carlos",
    "Antônio",
    "Francisco",
    "Márcio",
    "Renato",
    "Fernando",
    "Alexandre",
    "Sérgio",
    "Roberto",
    "Daniel",
];
const PT_LAST: &[&str] = &[
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
    "Rocha",
    "Dias",
    "Nascimento",
    "Araújo",
    "Moreira",
    "Cardoso",
    "Teixeira",
    "Mendes",
    "Freitas",
    "Cavalcanti",
];
const EN_FEMALE: &[&str] = &[
    "Emily",
    "Sarah",
    "Jessica",
    "Ashley",
    "Jennifer",
    "Megan",
    "Rachel",
    "Lauren",
    "Hannah",
    "Olivia",
    "Emma",
    "Sophie",
    "Chloe",
    "Amy",
    "Laura",
    "Kate",
    "Rebecca",
    "Grace",
    "Charlotte",
    "Lucy",
    "Linda",
    "Karen",
    "Michelle",
    "Danielle",
    "Natalie",
];
const EN_MALE: &[&str] = &[
    "James", "John", "Michael", "David", "Chris", "Daniel", "Matthew", "Ryan", "Kevin", "Brian",
    "Tom", "Oliver", "Jack", "Harry", "George", "Sam", "Ben", "Luke", "Mark", "Paul", "Steve",
    "Andrew", "Josh", "Peter", "Gary",
];
const EN_LAST: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor",
    "Anderson", "Thomas", "Moore", "Martin", "Jackson", "White", "Harris", "Clark", "Lewis",
    "Walker", "Hall", "Evans", "Wright", "Roberts", "Green", "Baker", "Hughes", "Murphy", "Cooper",
];
