//! One captured log line, its level, and reading lines back from text files.

use serde::Deserialize;

/// Severity of a log line, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Chatter (`V`, `TRACE`).
    Verbose,
    /// Debugging detail (`D`, `DEBUG`).
    Debug,
    /// Normal operation (`I`, `INFO`, `NOTICE`).
    Info,
    /// Something unexpected that the app survived (`W`, `WARN`).
    Warn,
    /// A failed operation (`E`, `ERROR`).
    Error,
    /// The app or a component cannot go on (`F`, `FATAL`, `A` for Android's assert).
    Fatal,
}

impl LogLevel {
    /// All levels, lowest first.
    pub const ALL: [LogLevel; 6] = [
        LogLevel::Verbose,
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
        LogLevel::Fatal,
    ];

    /// Reads a level letter or word in any case (`E`, `error`, `WARNING`, `notice`, ...).
    /// `None` for anything else.
    pub fn parse(text: &str) -> Option<LogLevel> {
        let t = text.trim().to_ascii_lowercase();
        let level = match t.as_str() {
            "v" | "verbose" | "trace" | "finest" | "finer" => LogLevel::Verbose,
            "d" | "debug" | "fine" | "dbg" => LogLevel::Debug,
            "i" | "info" | "information" | "notice" | "config" => LogLevel::Info,
            "w" | "warn" | "warning" => LogLevel::Warn,
            "e" | "error" | "err" | "severe" => LogLevel::Error,
            "f" | "a" | "fatal" | "critical" | "crit" | "alert" | "emerg" | "panic" | "assert" => {
                LogLevel::Fatal
            }
            _ => return None,
        };
        Some(level)
    }

    /// The one-letter form used in reports (`V D I W E F`).
    pub fn letter(self) -> &'static str {
        match self {
            LogLevel::Verbose => "V",
            LogLevel::Debug => "D",
            LogLevel::Info => "I",
            LogLevel::Warn => "W",
            LogLevel::Error => "E",
            LogLevel::Fatal => "F",
        }
    }

    /// ERROR and FATAL lines: their templates are always kept in a report.
    pub fn is_critical(self) -> bool {
        self >= LogLevel::Error
    }

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// One log line as captured on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// Severity.
    pub level: LogLevel,
    /// Source tag (the component that logged it); may be empty.
    pub tag: String,
    /// The message.
    pub message: String,
}

impl LogLine {
    /// A line from its parts; an unknown level word counts as INFO.
    pub fn new(time_ms: i64, level: &str, tag: &str, message: &str) -> Self {
        LogLine {
            time_ms,
            level: LogLevel::parse(level).unwrap_or(LogLevel::Info),
            tag: tag.to_string(),
            message: message.to_string(),
        }
    }

    /// Bytes of the line's text (tag and message), the measure raw uploads are compared by.
    pub fn bytes(&self) -> u64 {
        (self.tag.len() + self.message.len()) as u64
    }
}

#[derive(Deserialize)]
struct JsonLine {
    #[serde(default)]
    time_ms: i64,
    #[serde(default)]
    level: String,
    #[serde(default)]
    tag: String,
    message: String,
}

/// Reads one line of a log file. Understood, in this order:
///
/// - a JSON object `{"time_ms": .., "level": "E", "tag": "..", "message": ".."}`;
/// - Android logcat (`threadtime` or `time` format):
///   `03-17 16:13:38.811  1702  2395 D WindowManager: message`;
/// - an ISO-8601 timestamp, then optionally a level word and a `tag:` or `[tag]`:
///   `2024-05-01T12:00:03.120Z ERROR SyncWorker: upload failed`;
/// - anything else is a message with no tag at INFO, timed `fallback_ms`.
///
/// Lines without a year (logcat) are placed in 1970; only their order and spacing matter.
pub fn parse_log_line(text: &str, fallback_ms: i64) -> LogLine {
    let text = text.trim_end_matches(['\r', '\n']);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        if let Ok(j) = serde_json::from_str::<JsonLine>(trimmed) {
            return LogLine::new(j.time_ms, &j.level, &j.tag, &j.message);
        }
    }
    if let Some(line) = parse_logcat(trimmed) {
        return line;
    }
    if let Some(line) = parse_iso(trimmed) {
        return line;
    }
    LogLine {
        time_ms: fallback_ms,
        level: LogLevel::Info,
        tag: String::new(),
        message: text.to_string(),
    }
}

/// `MM-DD HH:MM:SS.mmm [PID [TID]] L TAG: message` or `... L/TAG(PID): message`.
fn parse_logcat(text: &str) -> Option<LogLine> {
    let mut words = text.split_whitespace();
    let date = words.next()?;
    let clock = words.next()?;
    let (month, day) = date.split_once('-')?;
    if month.len() != 2 || day.len() != 2 {
        return None;
    }
    let month: i64 = month.parse().ok()?;
    let day: i64 = day.parse().ok()?;
    let clock_ms = parse_clock(clock)?;
    let time_ms = days_from_civil(1970, month, day)? * 86_400_000 + clock_ms;
    // After the clock: optional pid and tid, then the level letter, then the tag.
    let rest = after_words(text, 2);
    let mut rest = rest.trim_start();
    for _ in 0..2 {
        let word = rest.split_whitespace().next()?;
        if word.bytes().all(|b| b.is_ascii_digit()) {
            rest = rest[word.len()..].trim_start();
        }
    }
    let (level_text, tail) = if rest.len() > 1 && rest.as_bytes()[1] == b'/' {
        // `time` format: `D/Tag(  123): message`.
        (&rest[..1], &rest[2..])
    } else {
        let word = rest.split_whitespace().next()?;
        (word, rest[word.len()..].trim_start())
    };
    let level = LogLevel::parse(level_text)?;
    let (tag, message) = tail.split_once(':')?;
    let tag = match tag.find('(') {
        Some(p) if tag.trim_end().ends_with(')') => &tag[..p],
        _ => tag,
    };
    Some(LogLine {
        time_ms,
        level,
        tag: tag.trim().to_string(),
        message: message.strip_prefix(' ').unwrap_or(message).to_string(),
    })
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|+hh:mm] [LEVEL] [tag:|[tag]] message`.
fn parse_iso(text: &str) -> Option<LogLine> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b' ')
    {
        return None;
    }
    let year: i64 = text.get(0..4)?.parse().ok()?;
    let month: i64 = text.get(5..7)?.parse().ok()?;
    let day: i64 = text.get(8..10)?.parse().ok()?;
    let mut end = 11;
    while end < bytes.len()
        && (bytes[end].is_ascii_digit() || matches!(bytes[end], b':' | b'.' | b','))
    {
        end += 1;
    }
    let clock_ms = parse_clock(text.get(11..end)?)?;
    let mut offset_ms = 0;
    if end < bytes.len() && bytes[end] == b'Z' {
        end += 1;
    } else if end + 6 <= bytes.len() && matches!(bytes[end], b'+' | b'-') && bytes[end + 3] == b':'
    {
        let hours: i64 = text.get(end + 1..end + 3)?.parse().ok()?;
        let minutes: i64 = text.get(end + 4..end + 6)?.parse().ok()?;
        let sign = if bytes[end] == b'+' { 1 } else { -1 };
        offset_ms = sign * (hours * 60 + minutes) * 60_000;
        end += 6;
    }
    let time_ms = days_from_civil(year, month, day)? * 86_400_000 + clock_ms - offset_ms;
    let mut rest = text.get(end..)?.trim_start();
    let mut level = LogLevel::Info;
    if let Some(word) = rest.split_whitespace().next() {
        let bare = word.trim_matches(|c| c == '[' || c == ']');
        if let Some(l) = LogLevel::parse(bare) {
            level = l;
            rest = rest[word.len()..].trim_start();
        }
    }
    let mut tag = "";
    if let Some(inner) = rest.strip_prefix('[') {
        if let Some(close) = inner.find(']') {
            tag = &inner[..close];
            rest = inner[close + 1..].trim_start();
        }
    } else if let Some(word) = rest.split_whitespace().next() {
        if word.len() > 1 && word.ends_with(':') {
            tag = &word[..word.len() - 1];
            rest = rest[word.len()..].trim_start();
        }
    }
    Some(LogLine {
        time_ms,
        level,
        tag: tag.to_string(),
        message: rest.to_string(),
    })
}

/// `HH:MM:SS[.fff]` (or `,fff`) as milliseconds since midnight.
fn parse_clock(clock: &str) -> Option<i64> {
    let (hms, frac) = match clock.find(['.', ',']) {
        Some(p) => (&clock[..p], &clock[p + 1..]),
        None => (clock, ""),
    };
    let mut parts = hms.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let s: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let mut ms = 0;
    let mut scale = 100;
    for b in frac.bytes().take(3) {
        if !b.is_ascii_digit() {
            return None;
        }
        ms += i64::from(b - b'0') * scale;
        scale /= 10;
    }
    Some(((h * 60 + m) * 60 + s) * 1000 + ms)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The text after the first `n` whitespace-separated words.
fn after_words(text: &str, n: usize) -> &str {
    let mut rest = text;
    for _ in 0..n {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    rest
}

/// Formats epoch milliseconds as `YYYY-MM-DD HH:MM:SS.mmm` (UTC).
pub fn format_time(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_in_any_spelling() {
        assert_eq!(LogLevel::parse("E"), Some(LogLevel::Error));
        assert_eq!(LogLevel::parse("warning"), Some(LogLevel::Warn));
        assert_eq!(LogLevel::parse("FATAL"), Some(LogLevel::Fatal));
        assert_eq!(LogLevel::parse("loud"), None);
        assert!(LogLevel::Error.is_critical() && !LogLevel::Warn.is_critical());
    }

    #[test]
    fn logcat_threadtime_lines_are_read() {
        let line = parse_log_line(
            "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezing app",
            0,
        );
        assert_eq!(line.level, LogLevel::Debug);
        assert_eq!(line.tag, "WindowManager");
        assert_eq!(line.message, "printFreezing app");
        assert_eq!(format_time(line.time_ms), "1970-03-17 16:13:38.811");
    }

    #[test]
    fn logcat_time_format_is_read() {
        let line = parse_log_line(
            "03-17 16:13:38.811 E/SyncWorker( 1702): upload failed: 507",
            0,
        );
        assert_eq!(line.level, LogLevel::Error);
        assert_eq!(line.tag, "SyncWorker");
        assert_eq!(line.message, "upload failed: 507");
    }

    #[test]
    fn iso_lines_are_read() {
        let line = parse_log_line(
            "2024-05-01T12:00:03.120Z ERROR SyncWorker: upload failed",
            0,
        );
        assert_eq!(line.level, LogLevel::Error);
        assert_eq!(line.tag, "SyncWorker");
        assert_eq!(line.message, "upload failed");
        assert_eq!(format_time(line.time_ms), "2024-05-01 12:00:03.120");
        let line = parse_log_line("2024-05-01 12:00:03,120+02:00 [db] vacuum done", 0);
        assert_eq!(line.tag, "db");
        assert_eq!(format_time(line.time_ms), "2024-05-01 10:00:03.120");
    }

    #[test]
    fn json_lines_are_read() {
        let line = parse_log_line(
            r#"{"time_ms":5,"level":"W","tag":"net","message":"slow"}"#,
            0,
        );
        assert_eq!(line, LogLine::new(5, "W", "net", "slow"));
    }

    #[test]
    fn other_lines_are_plain_messages() {
        let line = parse_log_line("Starting the TrustedInstaller main loop.", 42);
        assert_eq!(line.message, "Starting the TrustedInstaller main loop.");
        assert_eq!(
            (line.time_ms, line.level, line.tag.as_str()),
            (42, LogLevel::Info, "")
        );
        // Looks like a date but is not one: still a plain message.
        let line = parse_log_line("99-99 xx", 1);
        assert_eq!(line.message, "99-99 xx");
    }
}
