import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { cookieOf, sessionCookie } from './auth.ts';

const req = (o: Partial<FastifyRequest>): FastifyRequest => o as FastifyRequest;

describe('session cookie', () => {
  it('is HttpOnly, SameSite=Strict, Path=/, and Secure only over https', () => {
    expect(sessionCookie(req({ protocol: 'http' }), 'abc', 60)).toBe(
      'agentline_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=60',
    );
    expect(sessionCookie(req({ protocol: 'https' }), 'abc', 60)).toMatch(/; Secure$/);
  });

  it('is read from the Cookie header among others', () => {
    const headers = { cookie: 'a=1; agentline_session=xyz ; b=2' };
    expect(cookieOf(req({ headers }), 'agentline_session')).toBe('xyz');
    expect(
      cookieOf(req({ headers: { cookie: 'xagentline_session=1' } }), 'agentline_session'),
    ).toBeUndefined();
    expect(cookieOf(req({ headers: {} }), 'agentline_session')).toBeUndefined();
  });
});
