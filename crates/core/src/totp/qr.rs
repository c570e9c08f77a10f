//! QR codes of the enrollment URI, as SVG and as base64 PNG.
//!
//! PNG is drawn by hand into 8-bit grey pixels and encoded with the small
//! `png` crate; `qrcode`'s own `image` feature would pull the whole `image`
//! crate (many codecs) for one grey bitmap.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qrcode::{Color, QrCode};

use super::TotpError;

/// Pixels per QR module: about 300 px for a typical URI, easy for phone cameras.
const MODULE_PX: usize = 8;
/// Light modules around the code; ISO/IEC 18004 requires four.
const QUIET_ZONE: usize = 4;

fn encode(uri: &str) -> Result<QrCode, TotpError> {
    QrCode::new(uri.as_bytes()).map_err(|e| TotpError::Qr(e.to_string()))
}

/// The QR code of `uri` as an SVG document (starts with `<?xml`).
pub fn qr_svg(uri: &str) -> Result<String, TotpError> {
    let code = encode(uri)?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().module_dimensions(MODULE_PX as u32, MODULE_PX as u32).build())
}

/// The QR code of `uri` as a grey-scale PNG, standard base64 (no `data:` prefix).
pub fn qr_png_base64(uri: &str) -> Result<String, TotpError> {
    let code = encode(uri)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * MODULE_PX;
    let mut pixels = vec![0xffu8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let x0 = (i % modules + QUIET_ZONE) * MODULE_PX;
        let y0 = (i / modules + QUIET_ZONE) * MODULE_PX;
        for y in y0..y0 + MODULE_PX {
            let row = y * side;
            pixels[row + x0..row + x0 + MODULE_PX].fill(0);
        }
    }
    let side_u32 = u32::try_from(side).map_err(|_| TotpError::Qr("image too large".into()))?;
    let png_err = |e: png::EncodingError| TotpError::Qr(e.to_string());
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side_u32, side_u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(png_err)?;
    writer.write_image_data(&pixels).map_err(png_err)?;
    writer.finish().map_err(png_err)?;
    Ok(STANDARD.encode(out))
}
