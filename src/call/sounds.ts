import { ClipPlayer, LoopPlayer, PromptCache, type FrameSource } from '../media/player.ts';
import { toneSource, type ToneKind } from '../media/tones.ts';
import type { Language } from '../store/vocabulary.ts';
import { mohPath, promptFile } from './prompts.ts';

/**
 * The audio the application plays: prompts by id and language, tones, music
 * on hold. Files are read once and shared by every call.
 */
export class Sounds {
  private readonly cache = new PromptCache();

  constructor(readonly promptDir: string) {}

  /** Loads a prompt eagerly so that a missing file fails at start, not mid-call. */
  preload(lang: Language, ids: readonly string[]): void {
    for (const id of ids) this.cache.get(promptFile(this.promptDir, lang, id));
    this.cache.get(mohPath(this.promptDir));
  }

  /** The prompts, back to back. */
  prompts(lang: Language, ids: readonly string[]): FrameSource {
    return new ClipPlayer(ids.map((id) => this.cache.get(promptFile(this.promptDir, lang, id))));
  }

  tone(kind: ToneKind): FrameSource {
    return toneSource(kind);
  }

  music(): FrameSource {
    return new LoopPlayer(this.cache.get(mohPath(this.promptDir)));
  }
}
