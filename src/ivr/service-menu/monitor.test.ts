import { describe, expect, it } from 'vitest';
import type { MediaMonitor, MonitorMode } from '../../media/media-session.ts';
import { FakeClock } from '../../util/fake-clock.ts';
import { allMoves, finalStates } from '../../util/state-machine.ts';
import { MONITOR_KEYS, MONITOR_TRANSITIONS, MonitorSession, type MonitorState } from './monitor.ts';

/** A monitoring session on a fake media handle, with the journey it writes. */
function rig(o: { bridged?: boolean } = {}) {
  const journal: string[] = [];
  const media = {
    active: true,
    mode: 'listen' as MonitorMode,
    onEnded: null as (() => void) | null,
    modes: [] as MonitorMode[],
    stops: 0,
    setMode(m: MonitorMode) {
      this.mode = m;
      this.modes.push(m);
    },
    stop() {
      this.active = false;
      this.stops++;
    },
  };
  const s = new MonitorSession({
    clock: new FakeClock(),
    start: (mode) => {
      if (o.bridged === false) throw new Error('not bridged');
      media.mode = mode;
      return media as MediaMonitor;
    },
    record: (kind, detail) => {
      journal.push(`${kind}:${detail.mode ?? detail.end ?? ''}`);
      return Promise.resolve();
    },
    failed: (err) => {
      throw err;
    },
  });
  const refused: string[] = [];
  s.onRefused(({ from, to }) => refused.push(`${from}>${to}`));
  return { s, media, journal, refused };
}

const KEY_OF: Record<MonitorMode, string> = { listen: '1', whisper: '2', barge: '3' };

/** Drives a fresh session along one move of the table (from its start). */
function walk(move: string): { state: MonitorState; refused: string[] } {
  const [from, to] = move.split('>') as [MonitorState, MonitorState];
  const r = rig();
  if (from !== 'starting') {
    r.s.start(from === 'ended' ? 'listen' : (from as MonitorMode));
    if (from === 'ended') r.s.end('supervisor');
  }
  if (to === 'ended') r.s.end('supervisor');
  else if (from === 'starting') r.s.start(to as MonitorMode);
  else r.s.key(KEY_OF[to as MonitorMode]);
  return { state: r.s.state, refused: r.refused };
}

describe('monitoring (listen / whisper / barge)', () => {
  it('every move of the table is made, none refused', () => {
    for (const move of allMoves(MONITOR_TRANSITIONS)) {
      const { state, refused } = walk(move);
      expect(`${move.split('>')[0]}>${state}`).toBe(move);
      expect(refused).toEqual([]);
    }
    expect(finalStates(MONITOR_TRANSITIONS)).toEqual(['ended']);
  });

  describe('starting', () => {
    it('starts in listen and writes monitor_started', () => {
      const r = rig();
      expect(r.s.start()).toBe(true);
      expect(r.s.state).toBe('listen');
      expect(r.journal).toEqual(['monitor_started:listen']);
    });
    it('a call no longer bridged ends it at once, unheard', async () => {
      const r = rig({ bridged: false });
      expect(r.s.start()).toBe(false);
      expect(r.s.state).toBe('ended');
      expect(await r.s.ended).toBe('call_gone');
      expect(r.journal).toEqual([]);
    });
  });

  describe('listen, whisper, barge', () => {
    it('1, 2, 3 move between the modes and tell the media; the current mode’s key does nothing', () => {
      const r = rig();
      r.s.start();
      r.s.key('2');
      r.s.key('2');
      r.s.key('3');
      r.s.key('1');
      r.s.key('7');
      expect(r.media.modes).toEqual(['whisper', 'barge', 'listen']);
      expect(r.journal).toEqual([
        'monitor_started:listen',
        'monitor_mode:whisper',
        'monitor_mode:barge',
        'monitor_mode:listen',
      ]);
      expect(r.refused).toEqual([]);
      expect(Object.keys(MONITOR_KEYS)).toEqual(['1', '2', '3']);
    });
  });

  describe('ended', () => {
    it('* stops the media and writes monitor_stopped once', async () => {
      const r = rig();
      r.s.start();
      r.s.key('*');
      r.s.end('hangup');
      expect(r.media.stops).toBe(1);
      expect(await r.s.ended).toBe('supervisor');
      expect(r.journal.at(-1)).toBe('monitor_stopped:supervisor');
      r.s.key('3');
      expect(r.media.modes).toEqual([]);
    });
    it('the call going away (ended, transferred) ends it without stopping the media twice', async () => {
      const r = rig();
      r.s.start();
      r.media.active = false;
      r.media.onEnded?.();
      expect(await r.s.ended).toBe('call_gone');
      expect(r.media.stops).toBe(0);
      expect(r.journal).toEqual(['monitor_started:listen', 'monitor_stopped:call_gone']);
    });
  });
});
