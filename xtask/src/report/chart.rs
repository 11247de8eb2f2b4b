//! pingpong.svg: latency and bandwidth by message size, C and each rspar mode, log scales.

use plotters::prelude::*;

use super::summary::{human, series};
use super::Samples;

/// The pingpong lines drawn, with their colours.
const LINES: &[(&str, RGBColor)] = &[
    ("c", RGBColor(0, 0, 0)),
    ("rsmpi", RGBColor(150, 150, 150)),
    ("buffer-u8", RGBColor(31, 119, 180)),
    ("buffer-f64", RGBColor(23, 190, 207)),
    ("object-u8", RGBColor(214, 39, 40)),
    ("object-f64", RGBColor(255, 127, 14)),
];

pub fn draw(samples: &Samples, path: &std::path::Path) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("plot: {e}");
    let root = SVGBackend::new(path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (left, right) = root.split_horizontally(600);
    let all: Vec<(u64, f64)> = LINES
        .iter()
        .flat_map(|(name, _)| series(samples, name, "pingpong"))
        .collect();
    if all.is_empty() {
        return Err("no pingpong rows to plot".into());
    }
    let max_size = all.iter().map(|p| p.0).max().unwrap_or(1) as f64 * 1.5;
    let (lo_us, hi_us) = all
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (lo_bw, hi_bw) = all
        .iter()
        .map(|&(s, us)| s as f64 / us)
        .fold((f64::MAX, 0.0f64), |(lo, hi), b| (lo.min(b), hi.max(b)));
    for (area, bandwidth) in [(&left, false), (&right, true)] {
        let (title, y_desc, y_range) = if bandwidth {
            (
                "Bandwidth (ping-pong)",
                "MB/s",
                (lo_bw * 0.7)..(hi_bw * 1.5),
            )
        } else {
            (
                "One-way latency (ping-pong)",
                "microseconds",
                (lo_us * 0.7)..(hi_us * 1.5),
            )
        };
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((1f64..max_size).log_scale(), y_range.log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("message size (bytes)")
            .y_desc(y_desc)
            .x_label_formatter(&|x| human(*x as u64))
            .draw()
            .map_err(|e| err(&e))?;
        for &(name, colour) in LINES {
            let points: Vec<(f64, f64)> = series(samples, name, "pingpong")
                .into_iter()
                .map(|(s, us)| (s as f64, if bandwidth { s as f64 / us } else { us }))
                .collect();
            if points.is_empty() {
                continue;
            }
            let label = if name == "c" {
                "C MPI".to_string()
            } else {
                name.to_string()
            };
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, colour.filled())),
                )
                .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}
