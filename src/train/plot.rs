//! The loss-curve plot of a run (`loss_curves.png`): every logged loss against the step,
//! drawn with plotters; labels use a system TrueType font when one is found.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

use super::TrainError;
use super::metrics::MetricsRecord;

const W: u32 = 900;
const H: u32 = 500;
const MARGIN: u32 = 40;
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Plots each loss of `records` against the step into a PNG at `path`.
pub fn plot_losses(path: &Path, records: &[MetricsRecord]) -> Result<(), TrainError> {
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
    let mut buf = vec![255u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
        let area = root.margin(MARGIN / 2, MARGIN, MARGIN, MARGIN / 2);
        let mut chart = ChartBuilder::on(&area)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max * 1.05)
            .map_err(|e| TrainError::output(path, e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(0)
            .draw()
            .map_err(|e| TrainError::output(path, e))?;
        for (i, pts) in series.values().enumerate() {
            chart
                .draw_series(LineSeries::new(
                    pts.iter().copied(),
                    COLORS[i % COLORS.len()].stroke_width(2),
                ))
                .map_err(|e| TrainError::output(path, e))?;
        }
        root.present().map_err(|e| TrainError::output(path, e))?;
    }
    let mut img = image::RgbImage::from_raw(W, H, buf)
        .ok_or_else(|| TrainError::output(path, "plot buffer"))?;
    if let Some(font) = FONTS
        .iter()
        .find_map(|f| std::fs::read(f).ok())
        .and_then(|b| ab_glyph::FontVec::try_from_vec(b).ok())
    {
        let black = image::Rgb([0, 0, 0]);
        let label = |img: &mut image::RgbImage, x: i32, y: i32, text: &str, color| {
            imageproc::drawing::draw_text_mut(img, color, x, y, 16.0, &font, text);
        };
        label(&mut img, 4, 2, &format!("{y_max:.3}"), black);
        label(&mut img, 4, (H - 22) as i32, "0", black);
        label(
            &mut img,
            (W - 120) as i32,
            (H - 22) as i32,
            &format!("step {x_max:.0}"),
            black,
        );
        let mut x = 80;
        for (i, name) in series.keys().enumerate() {
            let c = COLORS[i % COLORS.len()];
            label(&mut img, x, 2, name, image::Rgb([c.0, c.1, c.2]));
            x += 20 + 9 * name.len() as i32;
        }
    }
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| TrainError::output(path, e))?;
    crate::imageio::atomic_write(path, &bytes).map_err(|e| TrainError::output(path, e))
}
