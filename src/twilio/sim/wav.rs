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

/// What the fake API answers for `{RecordingSid}.mp3` of a WAV: silent
/// MPEG-2.5 Layer III frames (8 kHz mono, 32 kbit/s, 72 ms a frame) as long
/// as the WAV, as Twilio's MP3 is a smaller copy of the same recording.
pub fn mp3_of(wav: &[u8]) -> Vec<u8> {
    const FRAME_BYTES: usize = 288; // 72 * 32000 / 8000
    const WAV_BYTES_PER_FRAME: usize = 576 * 2; // samples a frame, 16-bit
    // Sync, MPEG 2.5, layer III, no CRC; 32 kbit/s, 8 kHz; mono.
    const HEADER: [u8; 4] = [0xFF, 0xE3, 0x48, 0xC0];
    let frames = wav.len().saturating_sub(44).div_ceil(WAV_BYTES_PER_FRAME);
    let mut out = Vec::with_capacity(frames * FRAME_BYTES);
    for _ in 0..frames {
        out.extend_from_slice(&HEADER);
        // Empty side information and main data: a frame of silence.
        out.resize(out.len() + FRAME_BYTES - HEADER.len(), 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mp3_is_a_quarter_of_the_wav_in_whole_frames() {
        let wav = tone_wav(1.0);
        let mp3 = mp3_of(&wav);
        assert_eq!(mp3.len(), 14 * 288, "1 s is 13.9 frames of 72 ms");
        assert_eq!(&mp3[..4], &[0xFF, 0xE3, 0x48, 0xC0]);
        assert_eq!(&mp3[288..292], &[0xFF, 0xE3, 0x48, 0xC0]);
        assert!(mp3_of(&tone_wav(0.0)).is_empty());
    }

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
