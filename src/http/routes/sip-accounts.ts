import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import type { SipAccount, SipDigestAlgorithm, SrtpPolicy } from '../../store/store.ts';
import { type Api, loginParam } from '../api.ts';
import { HttpError } from '../errors.ts';
import { found } from './found.ts';
import { resource } from './resource.ts';
import { digestAlgorithmSchema, srtpPolicySchema } from '../../store/validation.ts';

const username = z.string().regex(/^[A-Za-z0-9._~!$&'()*+,;=%-]{1,64}$/, '1–64 URI user characters');
const password = z.string().min(6).max(128);
/** RFC 8760: offered in this order; MD5 only suits baresip 1.0 and sipp, which fail when SHA-256 is offered. */
const algorithms = z
  .array(digestAlgorithmSchema)
  .min(1)
  .max(2)
  .refine((l) => new Set(l).size === l.length, 'no algorithm twice');
/** off: RTP only; optional: SRTP when the phone offers it; mandatory: RTP/SAVP offered and required. */
const srtp = srtpPolicySchema;

export const sipAccountSchema = z
  .object({
    username: z.string(),
    realm: z.string(),
    agentLogin: z.string().nullable(),
    /** The digest algorithms its challenge offers: its own, or the server's `--sip-auth-algorithms`. */
    algorithms: z.array(digestAlgorithmSchema),
    srtp,
  })
  .meta({ id: 'SipAccount' });

const newSipAccountSchema = z
  .strictObject({
    username,
    password,
    agentLogin: loginParam.nullable().optional(),
    algorithms: algorithms.nullable().optional(),
    srtp: srtp.optional(),
  })
  .meta({ id: 'NewSipAccount' });
const sipAccountPatchSchema = z
  .strictObject({ password, agentLogin: loginParam.nullable(), algorithms: algorithms.nullable(), srtp })
  .partial()
  .meta({ id: 'SipAccountPatch' });
const usernameParams = z.object({ username });

/**
 * SIP accounts for agents whose phone REGISTERs (digest auth, realm `agentline`).
 * The password is only ever written; the HA1 digests are never returned. Every
 * change reloads the registrar's credentials.
 */
export function sipAccountRoutes(api: Api, deps: HttpDeps): void {
  const { directory } = deps.store;
  const { realm } = deps.sipAccounts;
  const tag = 'sip-accounts';

  const loginOf = async (agentId: number | null): Promise<string | null> =>
    agentId === null ? null : ((await directory.getAgent(agentId))?.login ?? null);
  const view = async (a: SipAccount): Promise<z.output<typeof sipAccountSchema>> => ({
    username: a.username,
    realm: a.realm,
    agentLogin: await loginOf(a.agentId),
    algorithms: a.algorithms ?? [...(deps.sipAccounts.defaultAlgorithms() ?? ['MD5'])],
    srtp: a.srtp,
  });
  const agentIdOf = async (login: string | null | undefined): Promise<number | null> => {
    if (login === null || login === undefined) return null;
    const agent = await directory.getAgentByLogin(login);
    if (!agent) throw new HttpError(400, 'invalid_reference', `no agent with login ${login}`);
    return agent.id;
  };
  const mustGet = async (name: string): Promise<SipAccount> =>
    found(await directory.getSipAccount(name, realm), `no SIP account ${name}`);
  /** Writes the account (its digests from `password`), reloads the registrar and answers its view. */
  const save = async (
    name: string,
    password: string,
    agentId: number | null,
    algs: SipDigestAlgorithm[] | null | undefined,
    policy?: SrtpPolicy,
  ) => {
    await directory.createSipAccount(name, password, realm, agentId);
    if (algs !== undefined) await directory.setSipAccountAlgorithms(name, realm, algs);
    if (policy !== undefined) await directory.setSipAccountSrtp(name, realm, policy);
    await deps.sipAccounts.reload();
    return view(await mustGet(name));
  };

  const accounts = resource(
    api,
    tag,
    '/api/v1/sip-accounts/:username',
    usernameParams,
    sipAccountSchema,
    'accounts',
  );

  accounts.list({
    summary: 'SIP accounts (never their passwords or digests)',
    handler: async () => ({
      accounts: await Promise.all(
        (await directory.listSipAccounts()).filter((a) => a.realm === realm).map(view),
      ),
    }),
  });

  accounts.create({
    summary: 'Create a SIP account with a password (409 if the username is taken)',
    body: newSipAccountSchema,
    handler: async ({ body }) => {
      if (await directory.getSipAccount(body.username, realm))
        throw new HttpError(409, 'conflict', `SIP account ${body.username} exists`);
      return save(body.username, body.password, await agentIdOf(body.agentLogin), body.algorithms, body.srtp);
    },
  });

  accounts.get({
    summary: 'One SIP account',
    handler: async ({ params }) => view(await mustGet(params.username)),
  });

  accounts.patch({
    summary: "Change a SIP account's password, agent, digest algorithms (null: the server's) or SRTP policy",
    body: sipAccountPatchSchema,
    handler: async ({ params, body }) => {
      const current = await mustGet(params.username);
      const agentId = body.agentLogin === undefined ? current.agentId : await agentIdOf(body.agentLogin);
      if (body.password === undefined) {
        // The store keeps only digests and cannot re-link an account by itself: a new agent needs the password again.
        if (agentId !== current.agentId)
          throw new HttpError(
            400,
            'invalid_body',
            'invalid body: give the password again to change the agent',
          );
        if (body.algorithms === undefined && body.srtp === undefined) return view(current);
        if (body.algorithms !== undefined)
          await directory.setSipAccountAlgorithms(params.username, realm, body.algorithms);
        if (body.srtp !== undefined) await directory.setSipAccountSrtp(params.username, realm, body.srtp);
        await deps.sipAccounts.reload();
        return view(await mustGet(params.username));
      }
      return save(params.username, body.password, agentId, body.algorithms, body.srtp);
    },
  });

  accounts.delete({
    summary: 'Delete a SIP account (its phone can no longer register)',
    handler: async ({ params }) => {
      await mustGet(params.username);
      await directory.deleteSipAccount(params.username, realm);
      await deps.sipAccounts.reload();
    },
  });
}
