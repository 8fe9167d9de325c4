//! `go test -json` events (the format of `go tool test2json`), read from
//! the converter and written back out by `--json`. Fields leakcheck does
//! not know (newer Go versions add some) are kept as they came.

use serde::{Deserialize, Serialize};

/// One `go test -json` event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TestEvent {
    #[serde(rename = "Time", default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Package", default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(rename = "Test", default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    #[serde(rename = "Elapsed", default, skip_serializing_if = "Option::is_none")]
    pub elapsed: Option<f64>,
    #[serde(rename = "Output", default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl TestEvent {
    /// An output event.
    pub fn output(package: &str, test: Option<&str>, text: String) -> TestEvent {
        TestEvent {
            time: Some(now_rfc3339()),
            action: "output".into(),
            package: Some(package.into()),
            test: test.map(str::to_string),
            output: Some(text),
            ..TestEvent::default()
        }
    }

    /// Whether this is a test's or package's final event.
    pub fn is_final(&self) -> bool {
        matches!(self.action.as_str(), "pass" | "fail" | "skip")
    }

    /// The top-level test this event is about, if any.
    pub fn top_level_test(&self) -> Option<&str> {
        self.test
            .as_deref()
            .map(|t| t.split('/').next().unwrap_or(t))
    }
}

/// The current time as RFC 3339 in UTC with nanoseconds, like Go's
/// `time.Time` JSON encoding.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_nanos()
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_unknown_fields() {
        let line = r#"{"Time":"2026-01-01T00:00:00Z","Action":"output","Package":"p","Test":"TestA/sub","Output":"x\n","OutputType":"frame"}"#;
        let e: TestEvent = serde_json::from_str(line).unwrap();
        assert_eq!(e.top_level_test(), Some("TestA"));
        assert_eq!(e.other["OutputType"], "frame");
        let back = serde_json::to_string(&e).unwrap();
        assert!(back.contains(r#""OutputType":"frame""#));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_781), (2026, 11, 24));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
