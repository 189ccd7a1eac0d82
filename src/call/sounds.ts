import type { MediaSessions, Playable, ToneKind } from '../media/media-session.ts';
import type { Language } from '../store/vocabulary.ts';
import { mohPath, promptFile } from './prompts.ts';

/**
 * The audio the application plays: prompts by id and language, tones, music
 * on hold — as references (media/media-session.ts Playable) that the media
 * resolves; it reads each file once and shares it by every call.
 */
export class Sounds {
  constructor(
    readonly promptDir: string,
    private readonly media: Pick<MediaSessions, 'preload'>,
  ) {}

  /** Loads a prompt eagerly so that a missing file fails at start, not mid-call. */
  preload(lang: Language, ids: readonly string[]): void {
    this.media.preload([...ids.map((id) => promptFile(this.promptDir, lang, id)), mohPath(this.promptDir)]);
  }

  /** The prompts, back to back. */
  prompts(lang: Language, ids: readonly string[]): Playable {
    return { kind: 'prompts', files: ids.map((id) => promptFile(this.promptDir, lang, id)) };
  }

  tone(kind: ToneKind): Playable {
    return { kind: 'tone', tone: kind };
  }

  music(): Playable {
    return { kind: 'music', file: mohPath(this.promptDir) };
  }
}
