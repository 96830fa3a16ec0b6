//! The BFD Control packet (RFC 5880 section 4.1): encoding, decoding and the reception checks
//! of section 6.8.6 that need no session. Pure: no I/O.

use std::fmt;

use thiserror::Error;

/// The protocol version this implementation speaks.
pub const VERSION: u8 = 1;
/// Length of a Control packet without an authentication section.
pub const MIN_LENGTH: usize = 24;
/// Smallest length of a packet that carries an authentication section.
const MIN_LENGTH_WITH_AUTH: usize = 26;

/// A session state as carried in the `Sta` field (RFC 5880 section 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Administratively held down (0).
    AdminDown,
    /// Down (1).
    Down,
    /// Init (2): the remote end has been heard, but it has not yet heard us.
    Init,
    /// Up (3).
    Up,
}

impl State {
    /// The two-bit wire value, which is also the `ferrolb_bfd_session_state` metric value.
    pub const fn code(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }

    /// The state for a two-bit wire value (only the low two bits count).
    pub const fn from_code(code: u8) -> State {
        match code & 0b11 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        })
    }
}

/// The diagnostic code: why the sender's session last left Up (RFC 5880 section 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diag {
    /// 0: no diagnostic.
    None,
    /// 1: Control Detection Time Expired.
    ControlDetectionTimeExpired,
    /// 2: Echo Function Failed.
    EchoFunctionFailed,
    /// 3: Neighbor Signaled Session Down.
    NeighborSignaledSessionDown,
    /// 4: Forwarding Plane Reset.
    ForwardingPlaneReset,
    /// 5: Path Down.
    PathDown,
    /// 6: Concatenated Path Down.
    ConcatenatedPathDown,
    /// 7: Administratively Down.
    AdministrativelyDown,
    /// 8: Reverse Concatenated Path Down.
    ReverseConcatenatedPathDown,
    /// 9-31: reserved values, kept as received.
    Reserved(u8),
}

impl Diag {
    /// The five-bit wire value.
    pub const fn code(self) -> u8 {
        match self {
            Diag::None => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFunctionFailed => 2,
            Diag::NeighborSignaledSessionDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Reserved(code) => code & 0x1f,
        }
    }

    /// The diagnostic for a five-bit wire value (only the low five bits count).
    pub const fn from_code(code: u8) -> Diag {
        match code & 0x1f {
            0 => Diag::None,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledSessionDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            other => Diag::Reserved(other),
        }
    }
}

/// A BFD Control packet without authentication section (FerroLB does not authenticate).
///
/// Intervals are in microseconds, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlPacket {
    /// The sender's diagnostic.
    pub diag: Diag,
    /// The sender's session state.
    pub state: State,
    /// Poll (P): the sender asks for a Final.
    pub poll: bool,
    /// Final (F): the answer to a Poll.
    pub final_: bool,
    /// Control Plane Independent (C).
    pub control_plane_independent: bool,
    /// Demand (D). FerroLB never sets it and ignores it (asynchronous mode only).
    pub demand: bool,
    /// Detect Mult.
    pub detect_mult: u8,
    /// My Discriminator.
    pub my_discriminator: u32,
    /// Your Discriminator.
    pub your_discriminator: u32,
    /// Desired Min TX Interval, microseconds.
    pub desired_min_tx: u32,
    /// Required Min RX Interval, microseconds.
    pub required_min_rx: u32,
    /// Required Min Echo RX Interval, microseconds (0: no echo; FerroLB sends 0).
    pub required_min_echo_rx: u32,
}

/// Why a received packet was discarded (RFC 5880 section 6.8.6, the checks that need no
/// session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PacketError {
    /// Fewer octets than the fixed part of the header.
    #[error("packet of {0} octets is shorter than a BFD Control packet")]
    Truncated(usize),
    /// The version is not 1.
    #[error("unsupported BFD version {0}")]
    Version(u8),
    /// The Length field is below the minimum.
    #[error("Length field {0} is too small")]
    LengthTooSmall(u8),
    /// The Length field is larger than what was received.
    #[error("Length field {length} exceeds the {received} octets received")]
    LengthExceedsPayload {
        /// The Length field.
        length: u8,
        /// Octets received.
        received: usize,
    },
    /// Detect Mult is zero.
    #[error("Detect Mult is zero")]
    ZeroDetectMult,
    /// The Multipoint bit is set.
    #[error("Multipoint bit set")]
    Multipoint,
    /// My Discriminator is zero.
    #[error("My Discriminator is zero")]
    ZeroMyDiscriminator,
    /// Your Discriminator is zero while the sender is neither Down nor AdminDown.
    #[error("Your Discriminator is zero in state {0}")]
    ZeroYourDiscriminator(State),
    /// The packet is authenticated, which no FerroLB session is configured for.
    #[error("authenticated packet, but no authentication is configured")]
    Authenticated,
}

impl ControlPacket {
    /// Encodes the packet (24 octets, no authentication).
    pub fn encode(&self) -> [u8; MIN_LENGTH] {
        let mut out = [0u8; MIN_LENGTH];
        out[0] = (VERSION << 5) | self.diag.code();
        out[1] = (self.state.code() << 6)
            | (u8::from(self.poll) << 5)
            | (u8::from(self.final_) << 4)
            | (u8::from(self.control_plane_independent) << 3)
            | (u8::from(self.demand) << 1);
        out[2] = self.detect_mult;
        out[3] = MIN_LENGTH as u8;
        out[4..8].copy_from_slice(&self.my_discriminator.to_be_bytes());
        out[8..12].copy_from_slice(&self.your_discriminator.to_be_bytes());
        out[12..16].copy_from_slice(&self.desired_min_tx.to_be_bytes());
        out[16..20].copy_from_slice(&self.required_min_rx.to_be_bytes());
        out[20..24].copy_from_slice(&self.required_min_echo_rx.to_be_bytes());
        out
    }

    /// Decodes and checks a received packet (the session-independent rules of RFC 5880
    /// section 6.8.6, in their order). Octets past the Length field are ignored.
    pub fn decode(data: &[u8]) -> Result<ControlPacket, PacketError> {
        let Some(fixed) = data.first_chunk::<MIN_LENGTH>() else {
            return Err(PacketError::Truncated(data.len()));
        };
        let version = fixed[0] >> 5;
        if version != VERSION {
            return Err(PacketError::Version(version));
        }
        let flags = fixed[1];
        let authenticated = flags & 0b100 != 0;
        let length = fixed[3];
        let min = if authenticated {
            MIN_LENGTH_WITH_AUTH
        } else {
            MIN_LENGTH
        };
        if usize::from(length) < min {
            return Err(PacketError::LengthTooSmall(length));
        }
        if usize::from(length) > data.len() {
            return Err(PacketError::LengthExceedsPayload {
                length,
                received: data.len(),
            });
        }
        let word = |at: usize| {
            u32::from_be_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]])
        };
        let packet = ControlPacket {
            diag: Diag::from_code(fixed[0]),
            state: State::from_code(flags >> 6),
            poll: flags & 0b10_0000 != 0,
            final_: flags & 0b1_0000 != 0,
            control_plane_independent: flags & 0b1000 != 0,
            demand: flags & 0b10 != 0,
            detect_mult: fixed[2],
            my_discriminator: word(4),
            your_discriminator: word(8),
            desired_min_tx: word(12),
            required_min_rx: word(16),
            required_min_echo_rx: word(20),
        };
        if packet.detect_mult == 0 {
            return Err(PacketError::ZeroDetectMult);
        }
        if flags & 0b1 != 0 {
            return Err(PacketError::Multipoint);
        }
        if packet.my_discriminator == 0 {
            return Err(PacketError::ZeroMyDiscriminator);
        }
        if packet.your_discriminator == 0 && !matches!(packet.state, State::Down | State::AdminDown)
        {
            return Err(PacketError::ZeroYourDiscriminator(packet.state));
        }
        if authenticated {
            return Err(PacketError::Authenticated);
        }
        Ok(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn sample() -> ControlPacket {
        ControlPacket {
            diag: Diag::None,
            state: State::Up,
            poll: false,
            final_: false,
            control_plane_independent: false,
            demand: false,
            detect_mult: 3,
            my_discriminator: 0x0102_0304,
            your_discriminator: 0x0a0b_0c0d,
            desired_min_tx: 50_000,
            required_min_rx: 50_000,
            required_min_echo_rx: 0,
        }
    }

    #[test]
    fn encodes_the_rfc_layout() {
        let mut p = sample();
        p.poll = true;
        p.diag = Diag::ControlDetectionTimeExpired;
        let bytes = p.encode();
        assert_eq!(
            bytes,
            [
                0x21, 0xe0, 3, 24, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 0, 0, 0xc3, 0x50, 0, 0,
                0xc3, 0x50, 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn round_trips_every_state_diag_and_flag() {
        for state in [State::AdminDown, State::Down, State::Init, State::Up] {
            for code in 0..32u8 {
                for flags in 0..8u8 {
                    let mut p = sample();
                    p.state = state;
                    p.diag = Diag::from_code(code);
                    p.poll = flags & 1 != 0;
                    p.final_ = flags & 2 != 0;
                    p.control_plane_independent = flags & 4 != 0;
                    assert_eq!(ControlPacket::decode(&p.encode()), Ok(p));
                    assert_eq!(p.diag.code(), code);
                }
            }
        }
    }

    #[test]
    fn applies_the_reception_checks_of_rfc5880_6_8_6() {
        let valid = sample().encode();
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = valid.to_vec();
            f(&mut b);
            ControlPacket::decode(&b)
        };
        type Decoded = Result<ControlPacket, PacketError>;
        let cases: Vec<(&str, Decoded, Decoded)> = vec![
            ("valid", with(&|_| {}), Ok(sample())),
            (
                "empty",
                with(&|b| b.clear()),
                Err(PacketError::Truncated(0)),
            ),
            (
                "23 octets",
                with(&|b| b.truncate(23)),
                Err(PacketError::Truncated(23)),
            ),
            (
                "version 0",
                with(&|b| b[0] &= 0x1f),
                Err(PacketError::Version(0)),
            ),
            (
                "version 2",
                with(&|b| b[0] = 0x40),
                Err(PacketError::Version(2)),
            ),
            (
                "length 23",
                with(&|b| b[3] = 23),
                Err(PacketError::LengthTooSmall(23)),
            ),
            (
                "length beyond payload",
                with(&|b| b[3] = 25),
                Err(PacketError::LengthExceedsPayload {
                    length: 25,
                    received: 24,
                }),
            ),
            (
                "trailing octets ignored",
                with(&|b| b.extend_from_slice(&[9, 9])),
                Ok(sample()),
            ),
            (
                "detect mult 0",
                with(&|b| b[2] = 0),
                Err(PacketError::ZeroDetectMult),
            ),
            (
                "multipoint",
                with(&|b| b[1] |= 1),
                Err(PacketError::Multipoint),
            ),
            (
                "my disc 0",
                with(&|b| b[4..8].fill(0)),
                Err(PacketError::ZeroMyDiscriminator),
            ),
            (
                "your disc 0 while Up",
                with(&|b| b[8..12].fill(0)),
                Err(PacketError::ZeroYourDiscriminator(State::Up)),
            ),
            (
                "your disc 0 while Init",
                with(&|b| {
                    b[8..12].fill(0);
                    b[1] = 2 << 6;
                }),
                Err(PacketError::ZeroYourDiscriminator(State::Init)),
            ),
            (
                "your disc 0 while Down",
                with(&|b| {
                    b[8..12].fill(0);
                    b[1] = 1 << 6;
                }),
                Ok(ControlPacket {
                    state: State::Down,
                    your_discriminator: 0,
                    ..sample()
                }),
            ),
            (
                "your disc 0 while AdminDown",
                with(&|b| {
                    b[8..12].fill(0);
                    b[1] = 0;
                }),
                Ok(ControlPacket {
                    state: State::AdminDown,
                    your_discriminator: 0,
                    ..sample()
                }),
            ),
            (
                "auth bit with short length",
                with(&|b| b[1] |= 0b100),
                Err(PacketError::LengthTooSmall(24)),
            ),
            (
                "authenticated",
                with(&|b| {
                    b[1] |= 0b100;
                    b[3] = 26;
                    b.extend_from_slice(&[1, 2]);
                }),
                Err(PacketError::Authenticated),
            ),
            (
                "demand bit is decoded",
                with(&|b| b[1] |= 0b10),
                Ok(ControlPacket {
                    demand: true,
                    ..sample()
                }),
            ),
        ];
        for (what, got, want) in cases {
            assert_eq!(got, want, "{what}");
        }
    }

    #[test]
    fn random_input_never_panics_and_valid_output_reencodes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5880);
        for _ in 0..50_000 {
            let len = rng.gen_range(0..64);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            // Bias towards packets that get past the first checks.
            if len >= 24 && rng.gen_bool(0.5) {
                bytes[0] = 0x20 | (bytes[0] & 0x1f);
                bytes[3] = 24;
                bytes[1] &= !0b101;
                bytes[2] |= 1;
            }
            if let Ok(p) = ControlPacket::decode(&bytes) {
                assert_eq!(ControlPacket::decode(&p.encode()), Ok(p));
            }
        }
    }
}
