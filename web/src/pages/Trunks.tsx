import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { type Trunk, get, request } from '../api.ts';
import { INBAND_DTMF_MODES, NUMBER_FORMATS, NUMBER_FROM } from '../../../src/store/vocabulary.ts';
import { useT } from '../i18n.tsx';
import { TableHead, errorMessage } from '../ui.tsx';

/** Registration state and reachability change on their own: the list is read again this often. */
const REFRESH_MS = 5000;

/** The form's fields as strings; the password is never filled from the server (write-only). */
interface Draft {
  name: string;
  uri: string;
  username: string;
  password: string;
  clearPassword: boolean;
  realm: string;
  register: boolean;
  priority: string;
  inbound: string;
  companies: string;
  numberFrom: Trunk['numberFrom'];
  numberFormat: Trunk['numberFormat'];
  inbandDtmf: Trunk['inbandDtmf'];
  qualifySeconds: string;
}

const EMPTY: Draft = {
  name: '',
  uri: '',
  username: '',
  password: '',
  clearPassword: false,
  realm: '',
  register: false,
  priority: '100',
  inbound: '',
  companies: '',
  numberFrom: 'request_uri',
  numberFormat: 'e164_plus',
  inbandDtmf: 'auto',
  qualifySeconds: '60',
};

function draftOf(t: Trunk): Draft {
  return {
    name: t.name,
    uri: t.uri,
    username: t.username ?? '',
    password: '',
    clearPassword: false,
    realm: t.realm ?? '',
    register: t.register,
    priority: String(t.priority),
    inbound: t.inbound.join(', '),
    companies: t.companies.join(', '),
    numberFrom: t.numberFrom,
    numberFormat: t.numberFormat,
    inbandDtmf: t.inbandDtmf,
    qualifySeconds: String(t.qualifySeconds),
  };
}

const list = (s: string): string[] => s.split(/[\s,]+/).filter(Boolean);

/**
 * The body for POST (new) or PATCH (edit). An empty password leaves the
 * stored one as it is; "remove" sends null (and the API then needs no
 * registration). Empty username/realm mean none.
 */
function bodyOf(d: Draft, editing: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    uri: d.uri.trim(),
    username: d.username.trim() || null,
    realm: d.realm.trim() || null,
    register: d.register,
    priority: Number(d.priority),
    inbound: list(d.inbound),
    companies: list(d.companies).map(Number),
    numberFrom: d.numberFrom,
    numberFormat: d.numberFormat,
    inbandDtmf: d.inbandDtmf,
    qualifySeconds: Number(d.qualifySeconds),
  };
  if (d.clearPassword) body['password'] = null;
  else if (d.password) body['password'] = d.password;
  return editing ? body : { name: d.name.trim(), ...body };
}

const SELECTS = {
  numberFrom: NUMBER_FROM,
  numberFormat: NUMBER_FORMATS,
  inbandDtmf: INBAND_DTMF_MODES,
} as const;

/** SIP trunks (issue 9): list with registration and reachability, create, edit, delete. Admins only. */
export function Trunks() {
  const t = useT();
  const [trunks, setTrunks] = useState<Trunk[]>([]);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  /** The name of the trunk being edited; null: the form creates a new one. */
  const [editing, setEditing] = useState<string | null>(null);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);

  const reload = useCallback(async (): Promise<void> => {
    setTrunks((await get<{ trunks: Trunk[] }>('/api/v1/trunks')).trunks);
  }, []);
  useEffect(() => {
    void reload().catch(() => undefined);
    const timer = setInterval(() => void reload().catch(() => undefined), REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);

  const run = async (p: Promise<unknown>): Promise<boolean> => {
    try {
      await p;
      setStatus({ ok: true, text: t.saved });
      return true;
    } catch (err) {
      setStatus({ ok: false, text: errorMessage(err) });
      return false;
    } finally {
      await reload().catch(() => undefined);
    }
  };

  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const ok = await run(
      editing === null
        ? request('POST', '/api/v1/trunks', bodyOf(draft, false))
        : request('PATCH', `/api/v1/trunks/${encodeURIComponent(editing)}`, bodyOf(draft, true)),
    );
    if (ok) {
      setDraft(EMPTY);
      setEditing(null);
    }
  };

  const field = (
    k: 'name' | 'uri' | 'username' | 'realm' | 'priority' | 'inbound' | 'companies' | 'qualifySeconds',
    label: string,
    placeholder = '',
  ) => (
    <label key={k}>
      {label}
      <input
        value={draft[k]}
        placeholder={placeholder}
        disabled={k === 'name' && editing !== null}
        data-testid={`trunk-field-${k}`}
        onChange={(e) => setDraft({ ...draft, [k]: e.target.value })}
      />
    </label>
  );
  const editedHasPassword = editing !== null && trunks.find((x) => x.name === editing)?.hasPassword;

  return (
    <div className="settings">
      <section className="card">
        <h2>
          {t.trunks}{' '}
          {status && (
            <span
              className={status.ok ? 'ok' : 'error'}
              data-testid={status.ok ? 'status-saved' : 'status-error'}
              role="status"
            >
              {status.text}
            </span>
          )}
        </h2>
        <table data-testid="trunks-table">
          <TableHead
            columns={[
              t.name,
              'URI',
              t.username,
              t.trunkRegistration,
              t.trunkStatus,
              t.priority,
              t.numberFormat,
              '',
            ]}
          />
          <tbody>
            {trunks.map((x) => (
              <tr key={x.name} data-testid={`trunk-row-${x.name}`}>
                <td>{x.name}</td>
                <td>{x.uri}</td>
                <td>
                  {x.username ?? '—'}
                  {x.hasPassword ? ` (${t.passwordSet})` : ''}
                </td>
                <td
                  data-testid={`trunk-${x.name}-registration`}
                  data-state={x.registration.state}
                  title={x.registration.lastReason ?? ''}
                >
                  {t.registrationStates[x.registration.state]}
                  {x.registration.lastStatus ? ` (${x.registration.lastStatus})` : ''}
                </td>
                <td data-testid={`trunk-${x.name}-status`} data-state={x.status}>
                  {t.trunkStates[x.status]}
                </td>
                <td>{x.priority}</td>
                <td>{x.numberFormat}</td>
                <td className="nowrap">
                  <button
                    type="button"
                    data-testid={`trunk-edit-${x.name}`}
                    onClick={() => {
                      setEditing(x.name);
                      setDraft(draftOf(x));
                      setStatus(null);
                    }}
                  >
                    {t.edit}
                  </button>{' '}
                  <button
                    type="button"
                    className="danger"
                    data-testid={`trunk-delete-${x.name}`}
                    onClick={() => {
                      if (confirm(`${t.delete} ${x.name}?`))
                        void run(request('DELETE', `/api/v1/trunks/${encodeURIComponent(x.name)}`));
                    }}
                  >
                    {t.delete}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card">
        <h2>{editing === null ? t.newTrunk : `${t.edit}: ${editing}`}</h2>
        <form onSubmit={(e) => void save(e)} className="grid" data-testid="trunk-form">
          {field('name', t.name, 'provider-a')}
          {field('uri', 'URI', 'sip:203.0.113.10:5060;transport=udp')}
          {field('username', t.username)}
          <label>
            {t.password}
            <input
              type="password"
              autoComplete="new-password"
              value={draft.password}
              disabled={draft.clearPassword}
              placeholder={editedHasPassword ? t.passwordUnchanged : ''}
              data-testid="trunk-field-password"
              onChange={(e) => setDraft({ ...draft, password: e.target.value })}
            />
          </label>
          {editedHasPassword && (
            <label>
              <span>
                <input
                  type="checkbox"
                  checked={draft.clearPassword}
                  data-testid="trunk-field-clearPassword"
                  onChange={(e) => setDraft({ ...draft, clearPassword: e.target.checked, password: '' })}
                />{' '}
                {t.removePassword}
              </span>
            </label>
          )}
          {field('realm', t.realm)}
          <label>
            <span>
              <input
                type="checkbox"
                checked={draft.register}
                data-testid="trunk-field-register"
                onChange={(e) => setDraft({ ...draft, register: e.target.checked })}
              />{' '}
              {t.register}
            </span>
          </label>
          {field('priority', t.priority)}
          {field('qualifySeconds', t.qualifySeconds)}
          {field('inbound', t.inbound, '203.0.113.0/28')}
          {field('companies', t.trunkCompanies, '1, 2')}
          {(Object.keys(SELECTS) as (keyof typeof SELECTS)[]).map((k) => (
            <label key={k}>
              {t[k]}
              <select
                value={draft[k]}
                data-testid={`trunk-field-${k}`}
                onChange={(e) => setDraft({ ...draft, [k]: e.target.value })}
              >
                {SELECTS[k].map((v) => (
                  <option key={v} value={v}>
                    {v}
                  </option>
                ))}
              </select>
            </label>
          ))}
          <div className="actions wide">
            <button type="submit" data-testid="trunk-save">
              {editing === null ? t.add : t.save}
            </button>{' '}
            {editing !== null && (
              <button
                type="button"
                onClick={() => {
                  setEditing(null);
                  setDraft(EMPTY);
                }}
              >
                {t.cancel}
              </button>
            )}
          </div>
        </form>
      </section>
    </div>
  );
}
