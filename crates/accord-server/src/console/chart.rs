//! Bar charts drawn on the server as SVG: the geometry is computed here, and the
//! `chart.html` template writes the elements. No script is needed to read them.

use crate::storage::HOUR_MS;

use super::view::utc_hour;

/// Width and height of the drawing area, in SVG units (the SVG scales to its box).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 80.0;
/// Room left of the bars for the scale, and below them for the hours.
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 16.0;

/// One bar: its rectangle and what it shows on hover (an SVG `<title>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
    /// `2024-05-01 13:00 UTC: 42 records pulled`.
    pub tip: String,
}

/// A label under the bars.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Centre of the label.
    pub x: f64,
    /// The hour, `13:00`.
    pub label: String,
}

/// A chart of one counter per hour.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Heading, e.g. `Records pulled`.
    pub title: String,
    /// Sum over all hours.
    pub total: u64,
    /// The largest hour's value (the top of the scale).
    pub max: u64,
    /// One per hour with a non-zero value.
    pub bars: Vec<Bar>,
    /// Every sixth hour.
    pub ticks: Vec<Tick>,
    /// `viewBox` of the SVG.
    pub view_box: String,
    /// Where the scale's labels and baseline go.
    pub left: f64,
    /// Baseline height.
    pub base: f64,
}

impl Chart {
    /// A chart of `values[i]` for the hour `first_hour_ms + i` hours; `what` names the
    /// unit in the tooltips (`records pulled`).
    pub fn hourly(title: &str, what: &str, first_hour_ms: i64, values: &[u64]) -> Chart {
        let max = values.iter().copied().max().unwrap_or(0);
        let n = values.len().max(1) as f64;
        let slot = (WIDTH - LEFT) / n;
        let bars = values
            .iter()
            .enumerate()
            .filter(|(_, v)| **v > 0)
            .map(|(i, &v)| {
                // At least a pixel, so an hour with one event is visible next to a busy one.
                let h = ((v as f64 / max.max(1) as f64) * HEIGHT).max(1.0);
                Bar {
                    x: LEFT + i as f64 * slot + slot * 0.1,
                    y: HEIGHT - h,
                    w: slot * 0.8,
                    h,
                    tip: format!(
                        "{}: {v} {what}",
                        utc_hour(first_hour_ms + i as i64 * HOUR_MS)
                    ),
                }
            })
            .collect();
        let ticks = (0..values.len())
            .step_by(6)
            .map(|i| Tick {
                x: LEFT + (i as f64 + 0.5) * slot,
                label: utc_hour(first_hour_ms + i as i64 * HOUR_MS)
                    .rsplit(' ')
                    .nth(1)
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect();
        Chart {
            title: title.to_string(),
            total: values.iter().sum(),
            max,
            bars,
            ticks,
            view_box: format!("0 0 {WIDTH} {}", HEIGHT + BOTTOM),
            left: LEFT - 6.0,
            base: HEIGHT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_hour_and_empty_hours_draw_nothing() {
        let c = Chart::hourly("Records pulled", "records pulled", 0, &[0, 10, 5, 0]);
        assert_eq!((c.total, c.max, c.bars.len()), (15, 10, 2));
        assert_eq!(c.bars[0].h, HEIGHT);
        assert_eq!(c.bars[1].h, HEIGHT / 2.0);
        assert!(c.bars[0].x < c.bars[1].x);
        assert_eq!(c.bars[0].tip, "1970-01-01 01:00 UTC: 10 records pulled");
        assert_eq!(c.ticks[0].label, "00:00");
        let quiet = Chart::hourly("Conflicts", "conflicts", 0, &[0; 48]);
        assert!(quiet.bars.is_empty());
        assert_eq!(quiet.ticks.len(), 8);
    }
}
