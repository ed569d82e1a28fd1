//! The audio the demo and the tests hand the fake API as a recording.

/// A small 8 kHz 16-bit mono PCM WAV holding a ~440 Hz square tone, to
/// stand in for a caller's voice. Deterministic; negative or NaN lengths
/// give an empty (but valid) WAV.
pub fn tone_wav(seconds: f32) -> Vec<u8> {
    const RATE: u32 = 8000;
    const HALF_PERIOD: u32 = RATE / 440 / 2;
    // Keep the RIFF sizes within u32.
    const MAX_SAMPLES: u32 = (u32::MAX - 36) / 2;
    let samples = ((seconds.max(0.0) * RATE as f32) as u32).min(MAX_SAMPLES);
    let data_len = samples * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes()); // bytes per second
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..samples {
        let level: i16 = if (i / HALF_PERIOD).is_multiple_of(2) {
            6000
        } else {
            -6000
        };
        out.extend_from_slice(&level.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn tone_wav_header_is_consistent() {
        let wav = tone_wav(0.5);
        assert_eq!(wav.len(), 44 + 8000);
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        assert_eq!(u32_at(&wav, 4) as usize, wav.len() - 8);
        assert_eq!(u32_at(&wav, 24), 8000);
        assert_eq!(&wav[36..40], b"data");
        assert_eq!(u32_at(&wav, 40) as usize, wav.len() - 44);
        assert_eq!(wav, tone_wav(0.5));
        assert!(wav[44..].chunks(2).any(|s| s != [0, 0]));
        for empty in [tone_wav(0.0), tone_wav(-1.0), tone_wav(f32::NAN)] {
            assert_eq!(empty.len(), 44);
            assert_eq!(u32_at(&empty, 4), 36);
            assert_eq!(u32_at(&empty, 40), 0);
        }
    }
}
