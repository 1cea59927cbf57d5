//! The font compiled into the binary for every label toongan draws (loss curves, compare
//! sheets): DejaVu Sans, under the Bitstream Vera licence (`assets/fonts/`), so no system
//! font or fontconfig is needed.

/// DejaVu Sans, TrueType.
pub const DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The bundled font for imageproc's text drawing.
pub fn bundled_font() -> ab_glyph::FontRef<'static> {
    // Compiled in and checked by the test below: parsing cannot fail at run time.
    ab_glyph::FontRef::try_from_slice(DEJAVU_SANS).expect("the bundled font parses")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundled_font_parses() {
        let _ = super::bundled_font();
    }
}
