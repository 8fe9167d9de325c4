//! Go-style durations (`1s`, `500ms`, `1m30s`, `0`), as `go test` and
//! leakcheck's own options take them. Pure logic.

use std::time::Duration;

/// Parses a Go duration string. Negative durations are refused.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let err = || format!("invalid duration {s:?} (examples: 500ms, 1s, 1m30s)");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.starts_with('-') {
        return Err(format!("negative durations are not allowed: {s}"));
    }
    if s.is_empty() {
        return Err(err());
    }
    let s2 = s.strip_prefix('+').unwrap_or(s);
    let mut total = 0f64;
    let mut rest = s2;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        if num_len == 0 {
            return Err(err());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| err())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(err()),
        };
        total += n * unit;
        rest = &rest[unit_len..];
    }
    // As Go's time.Duration: at most about 292 years (i64 nanoseconds).
    if total > i64::MAX as f64 / 1e9 {
        return Err(format!(
            "invalid duration {s:?}: longer than Go's longest (2562047h)"
        ));
    }
    Duration::try_from_secs_f64(total).map_err(|_| err())
}

/// Formats like Go's `time.Duration.String` for the common cases.
pub fn format_go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if d.is_zero() {
        "0s".into()
    } else if ms < 1000 && d.subsec_nanos() % 1_000_000 == 0 {
        format!("{ms}ms")
    } else if d.as_secs() < 60 {
        format!("{}s", trim_float(d.as_secs_f64()))
    } else {
        let secs = d.as_secs_f64();
        let m = (secs / 60.0).floor();
        format!("{}m{}s", m, trim_float(secs - m * 60.0))
    }
}

fn trim_float(f: f64) -> String {
    let s = format!("{f:.9}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_go_duration("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_go_duration("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(parse_go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_go_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            parse_go_duration("10us").unwrap(),
            Duration::from_micros(10)
        );
        assert!(parse_go_duration("2562047h").is_ok());
        for bad in [
            "",
            "1",
            "s",
            "-1s",
            "1x",
            "1.2.3s",
            "ms",
            "3000000000000000h",
            "2562048h",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for s in ["0s", "250ms", "1s", "1.5s", "1m30s"] {
            assert_eq!(format_go_duration(parse_go_duration(s).unwrap()), s);
        }
    }
}
