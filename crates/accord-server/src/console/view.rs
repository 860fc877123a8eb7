//! What each console page shows, computed from storage, and the askama templates that
//! write it (`templates/console/`). Templates escape every value: names, ids and log
//! text come from devices and are untrusted.

use std::collections::BTreeMap;

use askama::Template;

use crate::storage::{Activity, ActivityCounts, SpaceInfo, StoredLogReport, UserInfo, HOUR_MS};
use accord_protocol::LogTemplate;

use super::chart::Chart;

/// Hours shown in the activity charts.
pub const CHART_HOURS: i64 = 48;
/// Days covered by the device tables.
pub const DEVICE_DAYS: i64 = 7;

/// Which section of the console a page belongs to (highlighted in the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The login page: no navigation.
    SignIn,
    /// Spaces and their detail pages.
    Spaces,
    /// Activity over time.
    Activity,
    /// Log reports.
    Reports,
}

/// What every page's frame needs.
pub struct Frame {
    /// The page's title.
    pub title: String,
    /// Its section.
    pub section: Section,
    /// The server's version.
    pub version: &'static str,
}

impl Frame {
    /// The frame of a page titled `title` in `section`.
    pub fn new(title: impl Into<String>, section: Section) -> Frame {
        Frame {
            title: title.into(),
            section,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// True when this page is in `section`, for the navigation's highlight.
    pub fn is(&self, section: Section) -> bool {
        self.section == section
    }

    /// True on pages shown to a signed-in operator.
    pub fn signed_in(&self) -> bool {
        self.section != Section::SignIn
    }
}

/// The sign-in form.
#[derive(Template)]
#[template(path = "console/login.html")]
pub struct LoginPage {
    /// Frame.
    pub frame: Frame,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// A page that does not exist (or names something that does not).
#[derive(Template)]
#[template(path = "console/not_found.html")]
pub struct NotFoundPage {
    /// Frame.
    pub frame: Frame,
    /// What was not found.
    pub what: String,
}

/// A space with its activity of the last day.
pub struct SpaceRow {
    /// Name.
    pub name: String,
    /// Users with a grant.
    pub members: Vec<String>,
    /// Records, tombstones included.
    pub records: i64,
    /// Last change sequence.
    pub seq: i64,
    /// When a record last changed.
    pub last_change: String,
    /// Activity of the last 24 hours.
    pub day: ActivityCounts,
    /// Devices seen in the last 24 hours.
    pub devices: usize,
}

/// `/console/`: every space.
#[derive(Template)]
#[template(path = "console/spaces.html")]
pub struct SpacesPage {
    /// Frame.
    pub frame: Frame,
    /// The spaces, by name.
    pub spaces: Vec<SpaceRow>,
}

/// A device's activity over the table's window.
pub struct DeviceRow {
    /// Space name.
    pub space: String,
    /// User name.
    pub user: String,
    /// Public token id.
    pub token: String,
    /// Device id, `(not named)` when requests did not say.
    pub device: String,
    /// Its last request.
    pub last_seen: String,
    /// Summed counters.
    pub counts: ActivityCounts,
}

/// A member of a space.
pub struct MemberRow {
    /// User name.
    pub name: String,
    /// Tokens not revoked.
    pub live_tokens: usize,
    /// Tokens revoked.
    pub revoked_tokens: usize,
}

/// One log report in a list.
pub struct ReportRow {
    /// Space it was uploaded to.
    pub space: String,
    /// Report id.
    pub id: String,
    /// Device that captured the lines.
    pub device: String,
    /// Uploading user.
    pub user: String,
    /// When it arrived.
    pub received: String,
    /// First and last line time.
    pub window: String,
    /// Lines summarised.
    pub lines: u64,
    /// Raw bytes summarised.
    pub bytes: u64,
    /// The report's own size (its JSON).
    pub report_bytes: u64,
    /// Share of the raw bytes the report saved, `99.4%`.
    pub saved: String,
    /// Distinct ERROR/FATAL templates.
    pub critical: usize,
    /// Other templates listed.
    pub templates: usize,
    /// Who wrote the paragraph: a model's name, or `none` (the deterministic one).
    pub model: String,
}

/// `/console/spaces/{space}`.
#[derive(Template)]
#[template(path = "console/space.html")]
pub struct SpacePage {
    /// Frame.
    pub frame: Frame,
    /// The space.
    pub space: SpaceRow,
    /// Its members.
    pub members: Vec<MemberRow>,
    /// Activity charts of the last [`CHART_HOURS`].
    pub charts: Vec<Chart>,
    /// Its devices over the last [`DEVICE_DAYS`].
    pub devices: Vec<DeviceRow>,
    /// Its newest log reports.
    pub reports: Vec<ReportRow>,
}

/// `/console/activity`.
#[derive(Template)]
#[template(path = "console/activity.html")]
pub struct ActivityPage {
    /// Frame.
    pub frame: Frame,
    /// Activity charts of the last [`CHART_HOURS`], every space.
    pub charts: Vec<Chart>,
    /// Every device over the last [`DEVICE_DAYS`].
    pub devices: Vec<DeviceRow>,
}

/// `/console/reports`.
#[derive(Template)]
#[template(path = "console/reports.html")]
pub struct ReportsPage {
    /// Frame.
    pub frame: Frame,
    /// Newest first, every space.
    pub reports: Vec<ReportRow>,
}

/// A piece of the root-cause paragraph: text, or a citation of a template.
pub struct Span {
    /// The text as written.
    pub text: String,
    /// The cited template's id, when this piece is a citation the report holds.
    pub cite: Option<String>,
}

/// A template of a report.
pub struct TemplateRow {
    /// `C1`, `T1`, ...
    pub id: String,
    /// Template text with `<*>` slots.
    pub template: String,
    /// Lines that matched.
    pub count: u64,
    /// Levels seen.
    pub levels: String,
    /// First and last time seen.
    pub seen: String,
    /// A few example values per slot.
    pub examples: String,
    /// One raw line (ERROR/FATAL templates).
    pub raw_example: Option<String>,
    /// True when the paragraph cites it.
    pub cited: bool,
}

/// `/console/spaces/{space}/reports/{id}`.
#[derive(Template)]
#[template(path = "console/report.html")]
pub struct ReportPage {
    /// Frame.
    pub frame: Frame,
    /// The report's figures.
    pub row: ReportRow,
    /// The paragraph, cut at its citations.
    pub summary: Vec<Span>,
    /// Ids the paragraph cites that the report holds, once each.
    pub cited: Vec<String>,
    /// ERROR/FATAL templates with a raw example each.
    pub critical: Vec<TemplateRow>,
    /// The most frequent templates.
    pub templates: Vec<TemplateRow>,
}

/// `ms` as `2024-05-01 13:04 UTC`.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The hour that holds `ms`, as `2024-05-01 13:00 UTC`.
pub fn utc_hour(ms: i64) -> String {
    utc(ms.div_euclid(HOUR_MS) * HOUR_MS)
}

/// `ms` as a time and how long before `now_ms` it was.
pub fn when(ms: i64, now_ms: i64) -> String {
    let ago = now_ms.saturating_sub(ms).max(0) / 1000;
    let rel = match ago {
        0..=59 => "just now".to_string(),
        60..=3599 => format!("{} min ago", ago / 60),
        3600..=172_799 => format!("{} h ago", ago / 3600),
        _ => format!("{} days ago", ago / 86_400),
    };
    format!("{} ({rel})", utc(ms))
}

fn span_of(start_ms: i64, end_ms: i64) -> String {
    let secs = end_ms.saturating_sub(start_ms).max(0) / 1000;
    format!(
        "{} – {} ({} min)",
        utc(start_ms),
        utc(end_ms).trim_start_matches(&utc(start_ms)[..11]),
        secs / 60
    )
}

/// Sums `rows` per hour into three charts (records pulled, mutations applied, conflict
/// answers) of the [`CHART_HOURS`] hours up to the one holding `now_ms`.
pub fn charts<'a>(rows: impl Iterator<Item = &'a Activity>, now_ms: i64) -> Vec<Chart> {
    let last_hour = now_ms.div_euclid(HOUR_MS) * HOUR_MS;
    let first_hour = last_hour - (CHART_HOURS - 1) * HOUR_MS;
    let mut per_hour = vec![ActivityCounts::default(); CHART_HOURS as usize];
    for a in rows {
        let i = (a.hour_ms - first_hour).div_euclid(HOUR_MS);
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| per_hour.get_mut(i)) {
            slot.add(&a.counts);
        }
    }
    let series = |f: fn(&ActivityCounts) -> u64| per_hour.iter().map(f).collect::<Vec<_>>();
    vec![
        Chart::hourly(
            "Records pulled",
            "records pulled",
            first_hour,
            &series(|c| c.records_pulled),
        ),
        Chart::hourly(
            "Mutations applied",
            "mutations applied",
            first_hour,
            &series(|c| c.mutations_applied),
        ),
        Chart::hourly(
            "Conflict answers (the device merged and pushed again)",
            "conflict answers",
            first_hour,
            &series(|c| c.conflicts),
        ),
    ]
}

/// One row per (space, user, token, device) over `rows`, the most recently seen first.
pub fn devices<'a>(rows: impl Iterator<Item = &'a Activity>, now_ms: i64) -> Vec<DeviceRow> {
    let mut by_device: BTreeMap<(String, String, String, String), ActivityCounts> = BTreeMap::new();
    for a in rows {
        by_device
            .entry((
                a.space.clone(),
                a.user.clone(),
                a.token.clone(),
                a.device.clone(),
            ))
            .or_default()
            .add(&a.counts);
    }
    let mut out: Vec<DeviceRow> = by_device
        .into_iter()
        .map(|((space, user, token, device), counts)| DeviceRow {
            space,
            user,
            token,
            device: if device.is_empty() {
                "(not named)".into()
            } else {
                device
            },
            last_seen: when(counts.last_ms, now_ms),
            counts,
        })
        .collect();
    out.sort_by_key(|d| std::cmp::Reverse(d.counts.last_ms));
    out
}

/// A space's row: its figures and its activity of the 24 hours before `now_ms`.
pub fn space_row(info: SpaceInfo, activity: &[Activity], now_ms: i64) -> SpaceRow {
    let since = now_ms - 24 * HOUR_MS;
    let mut day = ActivityCounts::default();
    let mut devices = std::collections::BTreeSet::new();
    for a in activity
        .iter()
        .filter(|a| a.space == info.name && a.counts.last_ms >= since)
    {
        day.add(&a.counts);
        devices.insert((&a.user, &a.token, &a.device));
    }
    SpaceRow {
        last_change: info
            .last_change_ms
            .map_or_else(|| "never".to_string(), |ms| when(ms, now_ms)),
        name: info.name,
        members: info.members,
        records: info.records,
        seq: info.seq,
        day,
        devices: devices.len(),
    }
}

/// The members of `space`, from every user's grants.
pub fn members(users: &[UserInfo], space: &str) -> Vec<MemberRow> {
    users
        .iter()
        .filter(|u| u.spaces.iter().any(|s| s == space))
        .map(|u| {
            let live = u.tokens.iter().filter(|t| !t.revoked).count();
            MemberRow {
                name: u.name.clone(),
                live_tokens: live,
                revoked_tokens: u.tokens.len() - live,
            }
        })
        .collect()
}

/// A report's row in a list.
pub fn report_row(r: &StoredLogReport, now_ms: i64) -> ReportRow {
    let report_bytes = serde_json::to_vec(&r.report).map_or(0, |v| v.len() as u64);
    let saved = if r.report.bytes > 0 {
        format!(
            "{:.1}%",
            100.0 * (1.0 - report_bytes as f64 / r.report.bytes as f64).max(0.0)
        )
    } else {
        "–".into()
    };
    ReportRow {
        space: r.space.clone(),
        id: r.report.report_id.clone(),
        device: r.report.device.clone(),
        user: r.user.clone(),
        received: when(r.received_ms, now_ms),
        window: span_of(r.report.window_start_ms, r.report.window_end_ms),
        lines: r.report.lines,
        bytes: r.report.bytes,
        report_bytes,
        saved,
        critical: r.report.critical.len(),
        templates: r.report.templates.len(),
        model: r.report.model.clone(),
    }
}

fn template_row(id: String, t: &LogTemplate, cited: &[String]) -> TemplateRow {
    TemplateRow {
        cited: cited.contains(&id),
        id,
        template: t.template.clone(),
        count: t.count,
        levels: t.levels.join(" "),
        seen: span_of(t.first_ms, t.last_ms),
        examples: t
            .examples
            .iter()
            .map(|slot| slot.join(", "))
            .collect::<Vec<_>>()
            .join(" | "),
        raw_example: t.raw_example.clone(),
    }
}

/// The detail page of a report.
pub fn report_page(r: &StoredLogReport, now_ms: i64) -> ReportPage {
    let summary_text = &r.report.summary;
    let mut summary = Vec::new();
    let mut cited: Vec<String> = Vec::new();
    let mut at = 0;
    for c in accord_protocol::citations(summary_text) {
        if r.report.cited_template(&c.id).is_none() {
            continue;
        }
        summary.push(Span {
            text: summary_text[at..c.range.start].to_string(),
            cite: None,
        });
        summary.push(Span {
            text: summary_text[c.range.clone()].to_string(),
            cite: Some(c.id.clone()),
        });
        at = c.range.end;
        if !cited.contains(&c.id) {
            cited.push(c.id);
        }
    }
    summary.push(Span {
        text: summary_text[at..].to_string(),
        cite: None,
    });
    let rows = |prefix: &str, list: &[LogTemplate]| {
        list.iter()
            .enumerate()
            .map(|(i, t)| template_row(format!("{prefix}{}", i + 1), t, &cited))
            .collect::<Vec<_>>()
    };
    ReportPage {
        frame: Frame::new(
            format!("Log report {} from {}", r.report.report_id, r.report.device),
            Section::Reports,
        ),
        row: report_row(r, now_ms),
        critical: rows("C", &r.report.critical),
        templates: rows("T", &r.report.templates),
        summary,
        cited,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400_000 + 3_723_000), "2000-02-29 01:02 UTC");
        assert_eq!(utc(1_735_689_599_000), "2024-12-31 23:59 UTC");
        assert_eq!(utc_hour(3_600_000 * 5 + 59_000), "1970-01-01 05:00 UTC");
        assert_eq!(when(0, 90_000), "1970-01-01 00:00 UTC (1 min ago)");
    }
}
