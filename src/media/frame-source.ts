/** Samples per 20 ms frame at 8 kHz. */
export const FRAME_SIZE = 160;

/**
 * Pull-model audio for a media session: the session's clock tick asks for one 20 ms
 * frame (160 samples, 8 kHz, 16-bit).
 */
export interface FrameSource {
  /** Fills `out` (160 samples) and returns true; false = finished, `out` not used. */
  read(out: Int16Array): boolean;
}
