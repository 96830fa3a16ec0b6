//! Writes the `decode_control_packet` seed corpus: valid packets in every state, with and
//! without Poll and Final, and a few the decoder must refuse.
//!
//! Run from `bfd/fuzz`: `cargo run --example seeds` (writes `corpus/decode_control_packet/seed-*`).

use std::path::Path;

use ferrolb_bfd::{ControlPacket, Diag, State};

fn packet(state: State, poll: bool, final_: bool) -> ControlPacket {
    let up = !matches!(state, State::Down | State::AdminDown);
    ControlPacket {
        diag: if state == State::AdminDown {
            Diag::AdministrativelyDown
        } else {
            Diag::None
        },
        state,
        poll,
        final_,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: 0x1234_5678,
        your_discriminator: if up { 0x9abc_def0 } else { 0 },
        desired_min_tx: 300_000,
        required_min_rx: 300_000,
        required_min_echo_rx: 0,
    }
}

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/decode_control_packet");
    std::fs::create_dir_all(&dir)?;
    let mut written = 0;
    let mut write = |name: String, bytes: &[u8]| {
        written += 1;
        std::fs::write(dir.join(format!("seed-{name}")), bytes)
    };
    for state in [State::AdminDown, State::Down, State::Init, State::Up] {
        for (flags, poll, final_) in [
            ("", false, false),
            ("-poll", true, false),
            ("-final", false, true),
        ] {
            let p = packet(state, poll, final_);
            let wire = p.encode();
            assert_eq!(ControlPacket::decode(&wire), Ok(p), "seed must decode");
            write(
                format!("{}{flags}", state.to_string().to_lowercase()),
                &wire,
            )?;
        }
    }
    let up = packet(State::Up, false, false).encode();
    // A Length beyond 24 with the octets present: accepted, the rest ignored.
    let mut long = up.to_vec();
    long[3] = 32;
    long.extend_from_slice(&[0xee; 8]);
    write("up-length-32".into(), &long)?;
    // Control Plane Independent and a reserved diagnostic.
    let mut odd = packet(State::Init, false, false);
    odd.control_plane_independent = true;
    odd.diag = Diag::Reserved(17);
    write("init-cpi-reserved-diag".into(), &odd.encode())?;
    // Refused: authenticated (Simple Password section), multipoint, truncated, Length too big.
    let mut auth = up.to_vec();
    auth[1] |= 0b100;
    auth[3] = 33;
    auth.extend_from_slice(&[1, 9, 1, b's', b'e', b'c', b'r', b'e', b't']);
    write("up-authenticated".into(), &auth)?;
    let mut multipoint = up;
    multipoint[1] |= 1;
    write("up-multipoint".into(), &multipoint)?;
    write("up-truncated".into(), &up[..23])?;
    let mut overlong = up;
    overlong[3] = 48;
    write("up-length-exceeds".into(), &overlong)?;
    println!("wrote {written} seeds to {}", dir.display());
    Ok(())
}
