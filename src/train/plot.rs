//! The loss-curve plot of a run (`loss_curves.png`): every logged loss against the step, with
//! labelled axes, ticks and a legend, drawn by plotters with a font bundled in the binary
//! (DejaVu Sans, `assets/fonts/`, through plotters' ab_glyph support): no system font needed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::TrainError;
use super::metrics::MetricsRecord;

const W: u32 = 900;
const H: u32 = 500;
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// DejaVu Sans, compiled in (see [`crate::report::font`]).
const FONT: &[u8] = crate::report::font::DEJAVU_SANS;

/// Makes the bundled font plotters' "sans-serif" (once per process).
fn register_bundled_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and known to parse; a failure would only lose the text.
        let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Plots each loss of `records` against the step into a PNG at `path`.
pub fn plot_losses(path: &Path, records: &[MetricsRecord]) -> Result<(), TrainError> {
    register_bundled_font();
    let mut series: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for r in records {
        for (k, v) in &r.losses {
            if v.is_finite() {
                series.entry(k).or_default().push((r.step as f64, *v));
            }
        }
    }
    let (mut x_max, mut y_max) = (1.0f64, 1e-6f64);
    for pts in series.values() {
        for &(x, y) in pts {
            x_max = x_max.max(x);
            y_max = y_max.max(y);
        }
    }
    let err = |e: &dyn std::fmt::Display| TrainError::output(path, e.to_string());
    let mut buf = vec![255u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .caption("losses", ("sans-serif", 20))
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max * 1.05)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("loss")
            .x_labels(8)
            .y_labels(6)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.3}"))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| err(&e))?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        if !series.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    let img = image::RgbImage::from_raw(W, H, buf)
        .ok_or_else(|| TrainError::output(path, "plot buffer"))?;
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| TrainError::output(path, e))?;
    crate::imageio::atomic_write(path, &bytes).map_err(|e| TrainError::output(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dark_pixels(img: &image::RgbImage, x0: u32, y0: u32, x1: u32, y1: u32) -> usize {
        let mut n = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                n += (img.get_pixel(x, y).0.iter().map(|&c| c as u32).sum::<u32>() < 200) as usize;
            }
        }
        n
    }

    #[test]
    fn the_plot_has_tick_labels_and_a_legend_without_a_system_font() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("loss_curves.png");
        let records: Vec<MetricsRecord> = (0..20)
            .map(|step| MetricsRecord {
                step: step * 10,
                epoch: 0,
                phase: "adversarial".into(),
                losses: [
                    ("g_total".to_string(), 3.0 - step as f64 * 0.1),
                    ("d_total".to_string(), 1.0),
                ]
                .into(),
                seconds_per_step: 0.1,
            })
            .collect();
        plot_losses(&path, &records).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        // Tick labels: text (dark pixels) left of the plot and below it.
        assert!(
            dark_pixels(&img, 0, 40, 50, H - 60) > 50,
            "no y tick labels"
        );
        assert!(
            dark_pixels(&img, 80, H - 40, W - 20, H) > 50,
            "no x tick labels"
        );
        // The legend's colored samples, upper right.
        let blue = img
            .enumerate_pixels()
            .filter(|(x, y, p)| *x > W / 2 && *y < H / 3 && p.0 == [31, 119, 180])
            .count();
        assert!(blue > 10, "no legend entry in the first series' color");
    }
}
