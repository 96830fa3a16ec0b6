//! Writes the codec fuzzers' seed corpora from the shared sample messages:
//!
//! ```text
//! cargo run -p ferrolb-bgp --example fuzz_seeds            # into bgp/fuzz/corpus
//! cargo run -p ferrolb-bgp --example fuzz_seeds -- <dir>   # elsewhere
//! ```
//!
//! `decode_message` seeds are the options octet then the message stream;
//! `decode_update_attributes` seeds the options octet (bit 2: classic NLRI present) then one
//! UPDATE's attribute block; `decode_open_capabilities` seeds one OPEN's optional parameters.

#[path = "../tests/codec_samples/mod.rs"]
mod codec_samples;

use std::fs;
use std::path::{Path, PathBuf};

use codec_samples::{malformed, selector, valid, Sample};

/// The messages of a stream, by the header's length field, as (type, body).
fn frames(mut stream: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let (Some(&hi), Some(&lo), Some(&t)) = (stream.get(16), stream.get(17), stream.get(18)) {
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let (Some(body), Some(rest)) = (stream.get(19..len), stream.get(len..)) else {
            break;
        };
        out.push((t, body));
        stream = rest;
    }
    out
}

/// An UPDATE body's attribute block and whether NLRI follow it.
fn attribute_block(body: &[u8]) -> Option<(&[u8], bool)> {
    let wl = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let al_at = 2 + wl;
    let al = usize::from(u16::from_be_bytes([
        *body.get(al_at)?,
        *body.get(al_at + 1)?,
    ]));
    let block = body.get(al_at + 2..al_at + 2 + al)?;
    Some((block, body.len() > al_at + 2 + al))
}

fn write(dir: &Path, name: &str, content: &[u8]) -> std::io::Result<()> {
    fs::write(dir.join(name), content)
}

fn seed(root: &Path, sample: &Sample) -> std::io::Result<()> {
    let sel = selector(sample.opts);
    write(
        &root.join("decode_message"),
        &format!("seed-{}", sample.name),
        &[&[sel][..], &sample.bytes].concat(),
    )?;
    for (i, (msg_type, body)) in frames(&sample.bytes).into_iter().enumerate() {
        let name = format!("seed-{}-{i}", sample.name);
        match msg_type {
            1 => write(
                &root.join("decode_open_capabilities"),
                &name,
                body.get(9..).unwrap_or_default(),
            )?,
            2 => {
                if let Some((block, nlri)) = attribute_block(body) {
                    let sel = sel | if nlri { 4 } else { 0 };
                    write(
                        &root.join("decode_update_attributes"),
                        &name,
                        &[&[sel][..], block].concat(),
                    )?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus"));
    for target in [
        "decode_message",
        "decode_update_attributes",
        "decode_open_capabilities",
    ] {
        fs::create_dir_all(root.join(target))?;
    }
    let samples = [valid(), malformed()].concat();
    for sample in &samples {
        seed(&root, sample)?;
    }
    println!(
        "wrote seeds of {} samples under {}",
        samples.len(),
        root.display()
    );
    Ok(())
}
