//! Black-box checks of the demo data set: formats, proportions, realism
//! and determinism, using only the public API and the JSON it produces.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use escucha_demo::{
    generate, summarize, DemoConfig, DemoEvent, TOPICS, TOPIC_MESSAGING, TOPIC_SURVEYS,
    TOPIC_SURVEYTOOL, TOPIC_TRANSCRIPTS,
};
use regex::Regex;
use serde_json::Value;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
}

fn config() -> DemoConfig {
    DemoConfig {
        now: now(),
        ..DemoConfig::default()
    }
}

/// The default data set, generated once for all tests.
fn data() -> &'static [DemoEvent] {
    static DATA: OnceLock<Vec<DemoEvent>> = OnceLock::new();
    DATA.get_or_init(|| generate(&config()))
}

/// Well-formed events with their parsed JSON.
fn parsed() -> &'static [(String, String, Value)] {
    static PARSED: OnceLock<Vec<(String, String, Value)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        data()
            .iter()
            .filter_map(|e| {
                let v: Value = serde_json::from_slice(&e.payload).ok()?;
                well_formed(&e.topic, &v).then(|| (e.topic.clone(), e.key.clone(), v))
            })
            .collect()
    })
}

/// What a pipeline accepts: ids present, NPS in range, conversations with turns.
fn well_formed(topic: &str, v: &Value) -> bool {
    let id = |x: &Value| x.as_str().is_some_and(|s| !s.is_empty());
    match topic {
        TOPIC_SURVEYS => {
            id(&v["response_id"]) && v["nps"].as_i64().is_none_or(|n| (0..=10).contains(&n))
        }
        TOPIC_TRANSCRIPTS => {
            id(&v["conversation_id"]) && v["turns"].as_array().is_some_and(|t| !t.is_empty())
        }
        TOPIC_SURVEYTOOL => {
            id(&v["responseId"])
                && v["answers"].as_array().is_some_and(|a| {
                    a.iter()
                        .filter(|x| x["type"] == "nps")
                        .all(|x| x["value"].as_i64().is_some_and(|n| (0..=10).contains(&n)))
                })
        }
        TOPIC_MESSAGING => {
            id(&v["ticket"]["id"]) && v["messages"].as_array().is_some_and(|m| !m.is_empty())
        }
        _ => false,
    }
}

fn ts(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("timestamp string"))
        .expect("RFC 3339 timestamp")
        .with_timezone(&Utc)
}

fn recorded(v: &Value) -> DateTime<Utc> {
    let s = v.as_str().expect("recordedDate");
    Utc.from_utc_datetime(&NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap())
}

/// When an event is published: end of the conversation or submission.
fn published(topic: &str, v: &Value) -> DateTime<Utc> {
    match topic {
        TOPIC_SURVEYS => ts(&v["submitted_at"]),
        TOPIC_TRANSCRIPTS => ts(&v["ended_at"]),
        TOPIC_SURVEYTOOL => recorded(&v["recordedDate"]),
        _ => Utc
            .timestamp_opt(v["ticket"]["closed"].as_i64().unwrap(), 0)
            .unwrap(),
    }
}

/// Survey comments with their declared language (if any) and NPS (if any).
fn comments() -> Vec<(Option<String>, String, Option<i64>)> {
    let mut out = Vec::new();
    for (topic, _, v) in parsed() {
        match topic.as_str() {
            TOPIC_SURVEYS => {
                if let Some(c) = v["comment"].as_str().filter(|c| !c.is_empty()) {
                    let lang = v["language"].as_str().map(|l| l[..2].to_string());
                    out.push((lang, c.to_string(), v["nps"].as_i64()));
                }
            }
            TOPIC_SURVEYTOOL => {
                let answers = v["answers"].as_array().unwrap();
                let nps = answers
                    .iter()
                    .find(|a| a["type"] == "nps")
                    .and_then(|a| a["value"].as_i64());
                let lang = v["respondent"]["locale"]
                    .as_str()
                    .map(|l| l[..2].to_string());
                for a in answers.iter().filter(|a| a["type"] == "text") {
                    let c = a["value"].as_str().unwrap();
                    if !c.is_empty() {
                        out.push((lang.clone(), c.to_string(), nps));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Every free text: comments, turns and messages.
fn texts() -> Vec<String> {
    let mut out: Vec<String> = comments().into_iter().map(|c| c.1).collect();
    for (topic, _, v) in parsed() {
        let (list, field) = match topic.as_str() {
            TOPIC_TRANSCRIPTS => (&v["turns"], "text"),
            TOPIC_MESSAGING => (&v["messages"], "body"),
            _ => continue,
        };
        let joined: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t[field].as_str().unwrap())
            .collect();
        out.push(joined.join("\n"));
    }
    out
}

#[test]
fn same_config_gives_identical_bytes_and_another_seed_does_not() {
    let small = DemoConfig {
        interactions: 600,
        malformed: 4,
        ..config()
    };
    let a = generate(&small);
    let b = generate(&small);
    assert_eq!(a, b);
    let c = generate(&DemoConfig { seed: 7, ..small });
    assert_ne!(a, c);
}

#[test]
fn counts_match_the_config_and_events_are_in_time_order() {
    let cfg = config();
    let events = data();
    assert_eq!(events.len(), cfg.interactions + cfg.malformed);
    let s = summarize(events);
    assert_eq!(s.total, events.len());
    assert_eq!(s.malformed, cfg.malformed);
    assert_eq!(s.surveys + s.conversations, cfg.interactions);
    assert!(TOPICS.iter().all(|t| s.per_topic.contains_key(*t)));

    // 40 / 30 / 15 / 15 of the interactions, exactly.
    let mut good: BTreeMap<&str, usize> = BTreeMap::new();
    for (topic, _, _) in parsed() {
        *good.entry(topic.as_str()).or_default() += 1;
    }
    let malformed_in = |t: &str| s.per_topic[t] - good.get(t).copied().unwrap_or(0);
    let bad: usize = TOPICS.iter().map(|t| malformed_in(t)).sum();
    assert_eq!(bad, cfg.malformed);
    let expected = [
        (TOPIC_SURVEYS, 2_400),
        (TOPIC_TRANSCRIPTS, 1_800),
        (TOPIC_SURVEYTOOL, 900),
        (TOPIC_MESSAGING, 900),
    ];
    for (t, n) in expected {
        assert_eq!(good[t], n, "{t}");
    }

    let times: Vec<DateTime<Utc>> = parsed().iter().map(|(t, _, v)| published(t, v)).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "events out of order"
    );

    // Keys are customer ids, and about 2,500 customers appear.
    assert!(events.iter().all(|e| e.key.starts_with("C-")));
    assert!((2_300..=2_700).contains(&s.customers), "{}", s.customers);
}

#[test]
fn every_well_formed_event_has_the_fields_of_its_format() {
    let channels = [
        "voice", "chat", "email", "whatsapp", "social", "web", "other",
    ];
    for (topic, key, v) in parsed() {
        match topic.as_str() {
            TOPIC_SURVEYS => {
                assert!(v["response_id"].as_str().unwrap().starts_with("srv-"));
                ts(&v["submitted_at"]);
                assert!(channels.contains(&v["channel"].as_str().unwrap()));
                assert_eq!(v["customer_id"].as_str(), Some(key.as_str()));
                for (f, lo, hi) in [("nps", 0, 10), ("csat", 1, 5), ("ces", 1, 7)] {
                    let x = &v[f];
                    assert!(
                        x.is_null() || (lo..=hi).contains(&x.as_i64().unwrap()),
                        "{f}: {x}"
                    );
                }
                let lang = &v["language"];
                assert!(lang.is_null() || lang.is_string());
                let comment = &v["comment"];
                assert!(comment.is_null() || comment.is_string());
            }
            TOPIC_TRANSCRIPTS => {
                assert!(v["conversation_id"].as_str().unwrap().starts_with("conv-"));
                assert!(channels.contains(&v["channel"].as_str().unwrap()));
                assert_eq!(v["customer_id"].as_str(), Some(key.as_str()));
                let started = ts(&v["started_at"]);
                let ended = ts(&v["ended_at"]);
                assert!(started <= ended);
                for f in ["wait_seconds", "handle_seconds", "transfers"] {
                    assert!(v[f].is_u64(), "{f}");
                }
                for f in ["bot_handled", "escalated", "resolved"] {
                    assert!(v[f].is_boolean(), "{f}");
                }
                assert!(v["queue"].is_string());
                let turns = v["turns"].as_array().unwrap();
                assert!((4..=14).contains(&turns.len()), "{} turns", turns.len());
                let mut last = started;
                for t in turns {
                    let sp = t["speaker"].as_str().unwrap();
                    assert!(["customer", "agent", "bot", "system"].contains(&sp));
                    assert!(!t["text"].as_str().unwrap().trim().is_empty());
                    let at = ts(&t["at"]);
                    assert!(at >= last && at <= ended, "turn time out of order or range");
                    last = at;
                }
                check_story_consistency(v, turns);
            }
            TOPIC_SURVEYTOOL => {
                assert_eq!(v["surveyId"], "SV-POSTCONTACT");
                assert!(v["responseId"].as_str().unwrap().starts_with("R_"));
                recorded(&v["recordedDate"]);
                assert_eq!(v["respondent"]["externalRef"].as_str(), Some(key.as_str()));
                let tp = v["embedded"]["touchpoint"].as_str().unwrap();
                assert!([
                    "phone",
                    "ivr",
                    "webchat",
                    "email",
                    "whatsapp",
                    "facebook",
                    "instagram",
                    "twitter",
                    "web",
                    "app"
                ]
                .contains(&tp));
                for a in v["answers"].as_array().unwrap() {
                    let val = &a["value"];
                    match a["questionId"].as_str().unwrap() {
                        "Q_LTR" => assert!((0..=10).contains(&val.as_i64().unwrap())),
                        "Q_SAT" => {
                            assert_eq!(a["scale"], "1-10");
                            assert!((1..=10).contains(&val.as_i64().unwrap()));
                        }
                        "Q_EFFORT" => {
                            assert_eq!(a["scale"], "1-5");
                            assert!((1..=5).contains(&val.as_i64().unwrap()));
                        }
                        "Q_COMMENT" => assert!(val.is_string()),
                        other => panic!("unexpected question {other}"),
                    }
                }
            }
            TOPIC_MESSAGING => {
                let t = &v["ticket"];
                assert!(t["id"].as_str().unwrap().starts_with("TK-"));
                let opened = t["opened"].as_i64().unwrap();
                let closed = t["closed"].as_i64().unwrap();
                assert!(opened <= closed);
                let source = t["source"].as_str().unwrap();
                assert!(
                    ["whatsapp", "chat", "email", "instagram", "facebook", "sms"].contains(&source)
                );
                assert!(t["group"].is_string() && t["product"].is_string());
                assert_eq!(v["requester"]["id"].as_str(), Some(key.as_str()));
                let stats = &v["stats"];
                for f in ["first_reply_secs", "handle_secs", "reassignments"] {
                    assert!(stats[f].is_u64(), "{f}");
                }
                for f in ["bot", "escalated_to_human", "solved"] {
                    assert!(stats[f].is_boolean(), "{f}");
                }
                let msgs = v["messages"].as_array().unwrap();
                assert!((4..=14).contains(&msgs.len()));
                for m in msgs {
                    let role = m["author"]["role"].as_str().unwrap();
                    assert!(["end-user", "agent", "bot", "system"].contains(&role));
                    let at = m["created_ms"].as_i64().unwrap();
                    assert!(at >= opened * 1_000 && at <= closed * 1_000 + 999);
                    assert!(!m["body"].as_str().unwrap().is_empty());
                }
            }
            _ => unreachable!(),
        }
    }
}

/// The operational fields agree with the turns.
fn check_story_consistency(v: &Value, turns: &[Value]) {
    let speakers: Vec<&str> = turns
        .iter()
        .map(|t| t["speaker"].as_str().unwrap())
        .collect();
    let transfers = v["transfers"].as_u64().unwrap();
    let system_transfers = turns
        .iter()
        .filter(|t| t["text"].as_str().unwrap().starts_with("Transferring to"))
        .count();
    if v["channel"] != "email" && transfers > 0 && turns.len() < 14 {
        assert_eq!(system_transfers, 1, "transfer without a system turn");
    }
    if transfers == 0 {
        assert_eq!(system_transfers, 0);
    }
    if v["bot_handled"] == true && v["channel"] != "email" {
        assert_eq!(speakers[0], "bot");
    }
    if v["bot_handled"] == false {
        assert!(!speakers.contains(&"bot"));
        assert_eq!(v["escalated"], false);
    }
    // People alternate: no two customer (or agent) turns in a row.
    for w in speakers.windows(2) {
        assert!(
            !(w[0] == w[1] && matches!(w[0], "customer" | "agent")),
            "{speakers:?}"
        );
    }
    assert!(speakers.contains(&"customer"));
}

#[test]
fn long_waits_transfers_and_bot_dead_ends_show_in_the_numbers() {
    let mut voice_waits = Vec::new();
    let mut bot_escalated = 0;
    let mut bot = 0;
    let mut transferred = 0;
    for (topic, _, v) in parsed() {
        if topic != TOPIC_TRANSCRIPTS {
            continue;
        }
        if v["channel"] == "voice" {
            voice_waits.push(v["wait_seconds"].as_u64().unwrap());
        }
        if v["bot_handled"] == true {
            bot += 1;
            if v["escalated"] == true {
                bot_escalated += 1;
            }
        }
        if v["transfers"].as_u64().unwrap() > 0 {
            transferred += 1;
        }
    }
    voice_waits.sort_unstable();
    let median = voice_waits[voice_waits.len() / 2];
    let p95 = voice_waits[voice_waits.len() * 95 / 100];
    assert!(median < 300, "median wait {median}");
    assert!(p95 > 900, "long waits should exist: p95 {p95}");
    assert!(bot > 100 && bot_escalated > bot / 3 && bot_escalated < bot);
    assert!(transferred > 50);
}

#[test]
fn malformed_events_cover_the_four_kinds_on_all_topics() {
    let mut kinds: BTreeSet<&str> = BTreeSet::new();
    let mut topics: BTreeSet<&str> = BTreeSet::new();
    for e in data() {
        let kind = match serde_json::from_slice::<Value>(&e.payload) {
            Err(_) => "invalid_json",
            Ok(v) if well_formed(&e.topic, &v) => continue,
            Ok(v) => {
                let nps_14 = v["nps"] == 14
                    || v["answers"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x["type"] == "nps" && x["value"] == 14));
                let no_turns = v["turns"].as_array().is_some_and(|t| t.is_empty())
                    || v["messages"].as_array().is_some_and(|t| t.is_empty());
                if nps_14 {
                    "nps_out_of_range"
                } else if no_turns {
                    "no_turns"
                } else {
                    "missing_id"
                }
            }
        };
        kinds.insert(kind);
        topics.insert(e.topic.as_str());
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        vec!["invalid_json", "missing_id", "no_turns", "nps_out_of_range"]
    );
    assert_eq!(topics.len(), 4);
}

#[test]
fn languages_channels_and_locales_follow_the_market_mix() {
    let mut declared: HashMap<String, usize> = HashMap::new();
    let mut undeclared = 0;
    let mut tags: BTreeSet<String> = BTreeSet::new();
    let mut channels: HashMap<String, usize> = HashMap::new();
    let mut total = 0usize;
    for (topic, _, v) in parsed() {
        let (lang, channel) = match topic.as_str() {
            TOPIC_SURVEYS => (
                v["language"].as_str(),
                v["channel"].as_str().unwrap().to_string(),
            ),
            TOPIC_TRANSCRIPTS => {
                *channels
                    .entry(v["channel"].as_str().unwrap().into())
                    .or_default() += 1;
                total += 1;
                continue;
            }
            TOPIC_SURVEYTOOL => (v["respondent"]["locale"].as_str(), "survey-tool".into()),
            _ => (v["requester"]["lang"].as_str(), "messaging".into()),
        };
        if topic == TOPIC_SURVEYS {
            *channels.entry(channel).or_default() += 1;
            total += 1;
        }
        match lang {
            Some(tag) => {
                tags.insert(tag.replace('_', "-"));
                *declared.entry(tag[..2].to_string()).or_default() += 1;
            }
            None => undeclared += 1,
        }
    }
    let n: usize = declared.values().sum();
    let share = |l: &str| declared.get(l).copied().unwrap_or(0) as f64 / n as f64;
    assert!((0.40..0.50).contains(&share("es")), "es {}", share("es"));
    assert!((0.30..0.40).contains(&share("pt")), "pt {}", share("pt"));
    assert!((0.16..0.24).contains(&share("en")), "en {}", share("en"));
    let missing = undeclared as f64 / (n + undeclared) as f64;
    assert!((0.1..0.3).contains(&missing), "undeclared {missing}");
    for tag in [
        "es-MX", "es-AR", "es-ES", "es-CO", "es-CL", "pt-BR", "en-US", "en-GB",
    ] {
        assert!(tags.contains(tag), "no {tag}");
    }
    for ch in ["voice", "chat", "email", "whatsapp", "social", "web"] {
        let s = channels.get(ch).copied().unwrap_or(0) as f64 / total as f64;
        assert!(s > 0.02, "{ch} {s}");
    }
    let share_of = |ch: &str| channels[ch] as f64 / total as f64;
    assert!(share_of("voice") > 0.25 && share_of("whatsapp") > 0.15);
}

#[test]
fn survey_comments_are_diverse_and_some_are_empty() {
    let comments = comments();
    let distinct: HashSet<&str> = comments.iter().map(|c| c.1.as_str()).collect();
    let ratio = distinct.len() as f64 / comments.len() as f64;
    assert!(ratio >= 0.9, "only {ratio:.3} of comments are distinct");

    for (lang, min) in [("es", 6_000), ("pt", 5_000), ("en", 3_000)] {
        let mut grams = HashSet::new();
        for (_, text, _) in comments.iter().filter(|c| c.0.as_deref() == Some(lang)) {
            let words: Vec<String> = text
                .to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect();
            for w in words.windows(3) {
                grams.insert(w.join(" "));
            }
        }
        assert!(
            grams.len() >= min,
            "{lang}: {} distinct 3-grams",
            grams.len()
        );
    }

    let surveys = parsed()
        .iter()
        .filter(|(t, _, _)| t == TOPIC_SURVEYS || t == TOPIC_SURVEYTOOL)
        .count();
    let empty = 1.0 - comments.len() as f64 / surveys as f64;
    assert!((0.10..0.20).contains(&empty), "empty share {empty}");
}

#[test]
fn texts_carry_regional_and_informal_language() {
    let all = texts().join("\n").to_lowercase();
    for cue in [
        "ahorita",
        "tenés",
        "vaya",
        "móvil",
        "che",
        "vcs",
        "atendente",
        "demorou",
        "gracias por nada",
        "obrigad",
        "no tuve que esperar",
        "didn't have to",
        "pero",
    ] {
        assert!(all.contains(cue), "no text contains {cue:?}");
    }
    // Emoji and shouting both occur.
    assert!(all
        .chars()
        .any(|c| ('\u{1F600}'..='\u{1F64F}').contains(&c)));
    let caps = Regex::new(r"\b[A-ZÁÉÍÓÚÃÕÇ]{4,}(?: [A-ZÁÉÍÓÚÃÕÇ]{2,}){2,}").unwrap();
    assert!(texts().iter().any(|t| caps.is_match(t)));
}

#[test]
fn scores_follow_the_story() {
    // Resolution of the conversation a survey follows.
    let mut resolved: HashMap<&str, bool> = HashMap::new();
    for (topic, _, v) in parsed() {
        match topic.as_str() {
            TOPIC_TRANSCRIPTS => {
                resolved.insert(
                    v["conversation_id"].as_str().unwrap(),
                    v["resolved"].as_bool().unwrap(),
                );
            }
            TOPIC_MESSAGING => {
                resolved.insert(
                    v["ticket"]["id"].as_str().unwrap(),
                    v["stats"]["solved"].as_bool().unwrap(),
                );
            }
            _ => {}
        }
    }
    let mut by_outcome: [Vec<i64>; 2] = [Vec::new(), Vec::new()];
    for (topic, _, v) in parsed() {
        if topic != TOPIC_SURVEYS {
            continue;
        }
        let (Some(id), Some(nps)) = (v["interaction_id"].as_str(), v["nps"].as_i64()) else {
            continue;
        };
        if let Some(r) = resolved.get(id) {
            by_outcome[usize::from(*r)].push(nps);
        }
    }
    let mean = |xs: &[i64]| xs.iter().sum::<i64>() as f64 / xs.len() as f64;
    assert!(by_outcome[0].len() > 100 && by_outcome[1].len() > 100);
    let (unresolved, solved) = (mean(&by_outcome[0]), mean(&by_outcome[1]));
    assert!(
        solved > unresolved + 2.5,
        "solved {solved} vs unresolved {unresolved}"
    );

    // Shouted comments come from detractors; some promoters still exist.
    let caps = Regex::new(r"[A-ZÁÉÍÓÚÃÕÇ]{4,} [A-ZÁÉÍÓÚÃÕÇ]{2,}").unwrap();
    let shouted: Vec<i64> = comments()
        .into_iter()
        .filter(|c| caps.is_match(&c.1))
        .filter_map(|c| c.2)
        .collect();
    assert!(shouted.len() > 20);
    assert!(mean(&shouted) < 4.0, "shouting mean NPS {}", mean(&shouted));
    let promoters = comments()
        .iter()
        .filter(|c| c.2.is_some_and(|n| n >= 9))
        .count();
    assert!(promoters > 300);
}

#[test]
fn surveys_follow_conversations_of_the_same_customer_queue_and_agent() {
    let mut convs: HashMap<String, (String, String, Option<String>, DateTime<Utc>)> =
        HashMap::new();
    for (topic, key, v) in parsed() {
        match topic.as_str() {
            TOPIC_TRANSCRIPTS => {
                convs.insert(
                    v["conversation_id"].as_str().unwrap().into(),
                    (
                        key.clone(),
                        v["queue"].as_str().unwrap().into(),
                        v["agent_id"].as_str().map(String::from),
                        ts(&v["ended_at"]),
                    ),
                );
            }
            TOPIC_MESSAGING => {
                let t = &v["ticket"];
                convs.insert(
                    t["id"].as_str().unwrap().into(),
                    (
                        key.clone(),
                        t["group"].as_str().unwrap().into(),
                        t["assignee"].as_str().map(String::from),
                        Utc.timestamp_opt(t["closed"].as_i64().unwrap(), 0).unwrap(),
                    ),
                );
            }
            _ => {}
        }
    }
    let mut linked = 0;
    let mut surveys = 0;
    for (topic, key, v) in parsed() {
        let (id, queue, agent, at) = match topic.as_str() {
            TOPIC_SURVEYS => (
                v["interaction_id"].as_str(),
                v["queue"].as_str(),
                v["agent_id"].as_str(),
                ts(&v["submitted_at"]),
            ),
            TOPIC_SURVEYTOOL => (
                v["embedded"]["contactId"].as_str(),
                v["embedded"]["queue"].as_str(),
                v["embedded"]["agent"].as_str(),
                recorded(&v["recordedDate"]),
            ),
            _ => continue,
        };
        surveys += 1;
        let Some((ckey, cqueue, cagent, ended)) = id.and_then(|i| convs.get(i)) else {
            continue;
        };
        linked += 1;
        assert_eq!(ckey, key);
        if let Some(q) = queue {
            assert_eq!(q, cqueue);
        }
        assert_eq!(agent.map(String::from), *cagent);
        assert!(at >= *ended);
    }
    let share = linked as f64 / surveys as f64;
    assert!((0.35..0.65).contains(&share), "linked share {share}");
}

#[test]
fn repeat_customers_come_back_over_other_channels_within_days() {
    let mut contacts: HashMap<&str, Vec<(DateTime<Utc>, String)>> = HashMap::new();
    for (topic, key, v) in parsed() {
        let (at, channel) = match topic.as_str() {
            TOPIC_TRANSCRIPTS => (ts(&v["started_at"]), v["channel"].as_str().unwrap().into()),
            TOPIC_MESSAGING => (
                Utc.timestamp_opt(v["ticket"]["opened"].as_i64().unwrap(), 0)
                    .unwrap(),
                match v["ticket"]["source"].as_str().unwrap() {
                    "instagram" | "facebook" => "social".to_string(),
                    other => other.to_string(),
                },
            ),
            TOPIC_SURVEYS => (
                ts(&v["submitted_at"]),
                v["channel"].as_str().unwrap().into(),
            ),
            _ => continue,
        };
        contacts.entry(key).or_default().push((at, channel));
    }
    for cs in contacts.values_mut() {
        cs.sort();
    }
    let cross_channel = contacts
        .values()
        .filter(|cs| {
            cs.windows(2)
                .any(|w| w[1].0 - w[0].0 <= Duration::days(5) && w[0].1 != w[1].1)
        })
        .count();
    assert!(cross_channel >= 100, "{cross_channel} customers");
}

#[test]
fn texts_carry_personal_data_with_valid_check_digits() {
    let texts = texts();
    let email = Regex::new(r"[a-z0-9._]+@[a-z0-9.]+\.[a-z]{2,}").unwrap();
    let phone = Regex::new(r"\+\d{1,2} [\d ()-]{8,}").unwrap();
    let cpf = Regex::new(r"\b\d{3}\.\d{3}\.\d{3}-\d{2}\b|\b\d{11}\b").unwrap();
    let card = Regex::new(
        r"\b\d{4}([ -])\d{4}[ -]\d{4}[ -]\d{4}\b|\b3[47]\d{2}[ -]\d{6}[ -]\d{5}\b|\b[45]\d{15}\b",
    )
    .unwrap();
    let dni = Regex::new(r"\b(\d{8})-?([A-Z])\b").unwrap();

    let mut with_pii = 0;
    let (mut cpfs, mut cards, mut dnis) = (0, 0, 0);
    for t in &texts {
        let mut found = email.is_match(t) || phone.is_match(t);
        for m in cpf.find_iter(t) {
            found = true;
            cpfs += 1;
            assert!(cpf_valid(m.as_str()), "invalid CPF {}", m.as_str());
        }
        for m in card.find_iter(t) {
            found = true;
            cards += 1;
            assert!(luhn(m.as_str()), "card fails Luhn: {}", m.as_str());
        }
        for c in dni.captures_iter(t) {
            found = true;
            dnis += 1;
            let n: u32 = c[1].parse().unwrap();
            assert_eq!(dni_letter(n), c[2].chars().next().unwrap(), "{}", &c[0]);
        }
        if found {
            with_pii += 1;
        }
    }
    let share = with_pii as f64 / texts.len() as f64;
    assert!((0.05..0.2).contains(&share), "PII share {share}");
    assert!(
        cpfs >= 10 && cards >= 20 && dnis >= 3,
        "{cpfs} {cards} {dnis}"
    );
}

fn cpf_valid(s: &str) -> bool {
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 11 || d.iter().all(|x| *x == d[0]) {
        return false;
    }
    let check = |n: usize| {
        let sum: u32 = (0..n).map(|i| d[i] * (n as u32 + 1 - i as u32)).sum();
        (sum * 10 % 11) % 10
    };
    check(9) == d[9] && check(10) == d[10]
}

fn luhn(s: &str) -> bool {
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, x)| {
            if i % 2 == 1 {
                (x * 2) / 10 + (x * 2) % 10
            } else {
                *x
            }
        })
        .sum();
    sum % 10 == 0
}

fn dni_letter(n: u32) -> char {
    "TRWAGMYFPDXBNJZSQVHLCKE"
        .chars()
        .nth((n % 23) as usize)
        .unwrap()
}

#[test]
fn checksum_helpers_accept_known_values_and_reject_altered_ones() {
    assert!(cpf_valid("529.982.247-25"));
    assert!(!cpf_valid("529.982.247-26"));
    assert!(luhn("4111 1111 1111 1111"));
    assert!(!luhn("4111 1111 1111 1112"));
    assert_eq!(dni_letter(12_345_678), 'Z');
}

#[test]
fn every_timestamp_lies_in_the_window() {
    let cfg = config();
    let from = cfg.now - Duration::days(i64::from(cfg.days));
    let inside = |t: DateTime<Utc>| {
        assert!(
            t >= from && t <= cfg.now,
            "{t} outside [{from}, {}]",
            cfg.now
        );
    };
    for (topic, _, v) in parsed() {
        match topic.as_str() {
            TOPIC_SURVEYS => inside(ts(&v["submitted_at"])),
            TOPIC_TRANSCRIPTS => {
                inside(ts(&v["started_at"]));
                inside(ts(&v["ended_at"]));
                for t in v["turns"].as_array().unwrap() {
                    inside(ts(&t["at"]));
                }
            }
            TOPIC_SURVEYTOOL => inside(recorded(&v["recordedDate"])),
            _ => {
                for f in ["opened", "closed"] {
                    inside(
                        Utc.timestamp_opt(v["ticket"][f].as_i64().unwrap(), 0)
                            .unwrap(),
                    );
                }
                for m in v["messages"].as_array().unwrap() {
                    let ms = m["created_ms"].as_i64().unwrap();
                    inside(Utc.timestamp_millis_opt(ms).unwrap());
                }
            }
        }
    }
}

#[test]
fn weekdays_and_office_hours_carry_the_volume_with_an_incident_spike() {
    let mut per_day: BTreeMap<i64, usize> = BTreeMap::new();
    let mut weekday = 0usize;
    let mut weekend = 0usize;
    for (topic, _, v) in parsed() {
        let t = published(topic, v);
        *per_day.entry((config().now - t).num_days()).or_default() += 1;
        // Phone calls as they start: the channel with office hours.
        if topic != TOPIC_TRANSCRIPTS || v["channel"] != "voice" {
            continue;
        }
        use chrono::Datelike;
        if ts(&v["started_at"]).weekday().number_from_monday() >= 6 {
            weekend += 1;
        } else {
            weekday += 1;
        }
    }
    // Per weekday, at least twice the weekend volume.
    let ratio = (weekday as f64 / 5.0) / (weekend as f64 / 2.0);
    assert!(ratio > 1.6, "weekday/weekend ratio {ratio}");
    // The busiest week clearly beats a typical week.
    let days: Vec<usize> = (0..90)
        .map(|d| per_day.get(&d).copied().unwrap_or(0))
        .collect();
    let weeks: Vec<usize> = days.windows(7).map(|w| w.iter().sum()).collect();
    let mut sorted = weeks.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2] as f64;
    let peak = *sorted.last().unwrap() as f64;
    assert!(peak > 1.4 * median, "peak {peak} vs median {median}");
}

#[test]
fn small_and_edge_configurations_work() {
    let only_broken = generate(&DemoConfig {
        interactions: 0,
        malformed: 5,
        ..config()
    });
    assert_eq!(only_broken.len(), 5);
    assert_eq!(summarize(&only_broken).malformed, 5);

    let one_day = generate(&DemoConfig {
        interactions: 200,
        days: 1,
        malformed: 0,
        ..config()
    });
    let s = summarize(&one_day);
    assert_eq!(s.total, 200);
    assert_eq!(s.malformed, 0);
    let cfg = config();
    assert!(s.first.unwrap() >= cfg.now - Duration::days(1));
    assert!(s.last.unwrap() <= cfg.now);
}

#[test]
fn six_thousand_interactions_generate_quickly() {
    let start = Instant::now();
    let events = generate(&DemoConfig {
        seed: 99,
        ..config()
    });
    let elapsed = start.elapsed();
    assert_eq!(events.len(), 6_012);
    // About a second in release builds; unoptimised test builds get slack.
    let limit = if cfg!(debug_assertions) { 30.0 } else { 1.0 };
    assert!(elapsed.as_secs_f64() < limit, "{elapsed:?}");
}
