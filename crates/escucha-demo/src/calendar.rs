//! When contacts happen: weekday and business-hour peaks in the customer's
//! local time, a slow upward trend, and two incidents that show up as
//! spikes in a time series.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use rand::Rng;

use crate::rng::{weighted_index, DemoRng};

/// Something that went wrong company-wide for a few days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Incident {
    /// The app and website were down: self-service fails, bots cannot
    /// help, queues overflow.
    AppOutage,
    /// A billing run charged customers twice.
    BillingError,
}

/// Hour-of-day weights in local time for phone contacts (office hours).
const VOICE_HOURS: [f64; 24] = [
    0.08, 0.04, 0.02, 0.02, 0.02, 0.06, 0.25, 0.8, 1.6, 2.4, 2.8, 2.7, 2.2, 1.8, 2.1, 2.5, 2.4,
    2.0, 1.5, 1.0, 0.7, 0.5, 0.3, 0.15,
];
/// Hour-of-day weights in local time for written channels: a flatter day
/// with an evening shoulder.
const WRITTEN_HOURS: [f64; 24] = [
    0.3, 0.15, 0.08, 0.05, 0.05, 0.1, 0.3, 0.8, 1.4, 1.9, 2.1, 2.1, 2.0, 1.9, 1.9, 2.0, 2.0, 2.0,
    1.9, 1.9, 2.0, 1.8, 1.3, 0.7,
];

pub(crate) struct Calendar {
    pub now: DateTime<Utc>,
    pub start: DateTime<Utc>,
    days: u32,
    /// Relative volume per date for phone and for written channels.
    voice_days: Vec<f64>,
    written_days: Vec<f64>,
    outage: (DateTime<Utc>, DateTime<Utc>),
    billing: (DateTime<Utc>, DateTime<Utc>),
}

impl Calendar {
    /// A calendar covering `[now - days, now]`; `days` is at least one.
    pub(crate) fn new(now: DateTime<Utc>, days: u32) -> Calendar {
        let days = days.max(1);
        let start = now - Duration::days(i64::from(days));
        let outage_len = i64::from((days / 13).clamp(1, 7));
        let outage_start = start + Duration::days(i64::from(days) * 55 / 100);
        let billing_len = i64::from((days / 30).clamp(1, 3));
        let billing_start = start + Duration::days(i64::from(days) * 80 / 100);
        let mut cal = Calendar {
            now,
            start,
            days,
            voice_days: Vec::new(),
            written_days: Vec::new(),
            outage: (outage_start, outage_start + Duration::days(outage_len)),
            billing: (billing_start, billing_start + Duration::days(billing_len)),
        };
        // One weight per calendar date touching the window (the first and
        // last are partial); a date's weight applies to the customer's
        // local date, so weekends are weekends where the customer lives.
        // Phone lines are much quieter at weekends than written channels.
        let first = start.date_naive();
        for d in 0..=days {
            let date = first + Duration::days(i64::from(d));
            let noon = Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)) + Duration::hours(12);
            let (voice, written) = match noon.weekday() {
                Weekday::Sat => (0.45, 0.6),
                Weekday::Sun => (0.2, 0.45),
                Weekday::Mon => (1.15, 1.1),
                _ => (1.0, 1.0),
            };
            let trend = 0.9 + 0.2 * f64::from(d) / f64::from(days);
            let surge = match cal.incident_at(noon) {
                Some(Incident::AppOutage) if noon < cal.outage.0 + Duration::days(2) => 2.4,
                Some(Incident::AppOutage) => 1.8,
                Some(Incident::BillingError) => 1.6,
                None => 1.0,
            };
            cal.voice_days.push(voice * trend * surge);
            cal.written_days.push(written * trend * surge);
        }
        cal
    }

    /// The incident going on at `t`, if any.
    pub(crate) fn incident_at(&self, t: DateTime<Utc>) -> Option<Incident> {
        if t >= self.outage.0 && t < self.outage.1 {
            Some(Incident::AppOutage)
        } else if t >= self.billing.0 && t < self.billing.1 {
            Some(Incident::BillingError)
        } else {
            None
        }
    }

    /// The app outage window, for tests and summaries.
    #[cfg(test)]
    pub(crate) fn outage(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        self.outage
    }

    /// A contact time in the window: a day drawn by volume, then an hour of
    /// the customer's local day (`utc_offset_hours`) drawn by channel.
    pub(crate) fn sample(
        &self,
        rng: &mut DemoRng,
        utc_offset_hours: i64,
        voice: bool,
    ) -> DateTime<Utc> {
        let (hours, days) = if voice {
            (&VOICE_HOURS, &self.voice_days)
        } else {
            (&WRITTEN_HOURS, &self.written_days)
        };
        let offset = Duration::hours(utc_offset_hours);
        for _ in 0..8 {
            let d = weighted_index(rng, days);
            let local_day = self.start.date_naive() + Duration::days(d as i64);
            let h = weighted_index(rng, hours) as u32;
            let time = NaiveTime::from_hms_opt(h, rng.gen_range(0..60), rng.gen_range(0..60))
                .unwrap_or(NaiveTime::MIN);
            let t = Utc.from_utc_datetime(&local_day.and_time(time)) - offset;
            if t >= self.start && t <= self.now {
                return t;
            }
        }
        self.uniform(rng)
    }

    /// A time drawn uniformly from the window.
    pub(crate) fn uniform(&self, rng: &mut DemoRng) -> DateTime<Utc> {
        let span = i64::from(self.days) * 86_400;
        self.start + Duration::seconds(rng.gen_range(0..=span))
    }

    /// Clamps `t` into the window.
    pub(crate) fn clamp(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        t.clamp(self.start, self.now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use rand::SeedableRng;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
    }

    #[test]
    fn samples_stay_in_window_and_peak_in_office_hours() {
        let cal = Calendar::new(now(), 90);
        let mut rng = DemoRng::seed_from_u64(1);
        let mut office = 0;
        let mut night = 0;
        for _ in 0..5_000 {
            let t = cal.sample(&mut rng, -3, true);
            assert!(t >= cal.start && t <= cal.now);
            let local = (t - Duration::hours(3)).hour();
            if (9..18).contains(&local) {
                office += 1;
            }
            if local < 6 {
                night += 1;
            }
        }
        assert!(office > night * 10, "office {office}, night {night}");
    }

    #[test]
    fn outage_days_carry_more_volume_than_ordinary_days() {
        let cal = Calendar::new(now(), 90);
        let mut rng = DemoRng::seed_from_u64(2);
        let (from, to) = cal.outage();
        let outage_days = (to - from).num_days() as f64;
        let n = 20_000;
        let inside = (0..n)
            .filter(|_| {
                let t = cal.sample(&mut rng, 0, false);
                t >= from && t < to
            })
            .count() as f64;
        let expected_flat = n as f64 * outage_days / 90.0;
        assert!(inside > expected_flat * 1.5, "{inside} vs {expected_flat}");
    }

    #[test]
    fn one_day_window_still_works() {
        let cal = Calendar::new(now(), 0);
        let mut rng = DemoRng::seed_from_u64(3);
        for _ in 0..200 {
            let t = cal.sample(&mut rng, 1, false);
            assert!(t >= now() - Duration::days(1) && t <= now());
        }
    }
}
