import { type FormEvent, type ReactNode, useCallback, useEffect, useState } from 'react';
import { ForceLogoutButton } from '../supervise.tsx';
import {
  type Agent,
  type AgentState,
  type Company,
  type CompanySettings,
  type Department,
  type NumberRoute,
  get,
  request,
} from '../api.ts';
import {
  ACCEPT_CALL_MODES,
  ANNOUNCE_NUMBER_MODES,
  DELIVER_TO,
  EXTERNAL_TRANSFER_MODES,
  DISTRIBUTION_STRATEGIES,
  LANGUAGES,
  RECORDING_ANNOUNCEMENTS,
  RECORDING_MODES,
  SUPERVISOR_STATES,
} from '../../../src/store/vocabulary.ts';
import { useT } from '../i18n.tsx';
import { TableHead, errorMessage } from '../ui.tsx';

/** Shows what the last action did: saved, or the API's error message. */
function useStatus(): [ReactNode, (p: Promise<unknown>) => Promise<boolean>] {
  const t = useT();
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const run = async (p: Promise<unknown>): Promise<boolean> => {
    try {
      await p;
      setStatus({ ok: true, text: t.saved });
      return true;
    } catch (err) {
      setStatus({ ok: false, text: errorMessage(err) });
      return false;
    }
  };
  const node = status ? (
    <span
      className={status.ok ? 'ok' : 'error'}
      data-testid={status.ok ? 'status-saved' : 'status-error'}
      role="status"
    >
      {status.text}
    </span>
  ) : null;
  return [node, run];
}

export function Settings({
  company,
  reloadCompanies,
}: {
  company: Company;
  reloadCompanies: () => Promise<void>;
}) {
  const [departments, setDepartments] = useState<Department[]>([]);
  const loadDepartments = useCallback(async (): Promise<void> => {
    setDepartments(
      (await get<{ departments: Department[] }>(`/api/v1/companies/${company.id}/departments`)).departments,
    );
  }, [company.id]);
  useEffect(() => {
    void loadDepartments();
  }, [loadDepartments]);
  return (
    <div className="settings">
      <CompanyForm key={`c${company.id}`} company={company} reloadCompanies={reloadCompanies} />
      <Departments company={company} departments={departments} reload={loadDepartments} />
      <Agents company={company} departments={departments} />
      <Numbers company={company} departments={departments} />
    </div>
  );
}

// The choices are the server's own lists (src/store/vocabulary.ts), never copied here.
const SELECTS = {
  externalTransfer: EXTERNAL_TRANSFER_MODES,
  announceNumber: ANNOUNCE_NUMBER_MODES,
  deliverTo: DELIVER_TO,
  language: LANGUAGES,
  acceptCall: ACCEPT_CALL_MODES,
  acceptKey: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  country: ['RU', 'KZ', 'BY', 'UA', 'DE', 'GB', 'US', 'E164'],
  recording: RECORDING_MODES,
  recordingAnnouncement: RECORDING_ANNOUNCEMENTS,
} satisfies { [K in keyof CompanySettings]?: readonly CompanySettings[K][] };
const NUMBERS = [
  'ringSeconds',
  'wrapUpSeconds',
  'breakMinutes',
  'announceSeconds',
  'minPinLength',
  'acceptSeconds',
  'recordingRetentionDays',
] as const;

function CompanyForm({
  company,
  reloadCompanies,
}: {
  company: Company;
  reloadCompanies: () => Promise<void>;
}) {
  const t = useT();
  const [name, setName] = useState(company.name);
  const [s, setS] = useState<CompanySettings>(company.settings);
  const [destinations, setDestinations] = useState(company.settings.allowedDestinations.join(', '));
  const [newName, setNewName] = useState('');
  const [status, run] = useStatus();

  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const settings: CompanySettings = {
      ...s,
      allowedDestinations: destinations.split(/[\s,]+/).filter(Boolean),
    };
    const ok = await run(
      (async () => {
        if (name !== company.name) await request('PATCH', `/api/v1/companies/${company.id}`, { name });
        const saved = await request<CompanySettings>(
          'PATCH',
          `/api/v1/companies/${company.id}/settings`,
          settings,
        );
        setS(saved);
      })(),
    );
    if (ok) await reloadCompanies();
  };
  const create = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (await run(request('POST', '/api/v1/companies', { name: newName }))) {
      setNewName('');
      await reloadCompanies();
    }
  };

  return (
    <section className="card">
      <h2>{t.companySettings}</h2>
      <form onSubmit={(e) => void save(e)} className="grid" data-testid="settings-form">
        <label>
          {t.companyName}
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        {(Object.keys(SELECTS) as (keyof typeof SELECTS)[]).map((k) => (
          <label key={k}>
            {t[k]}
            <select
              value={String(s[k])}
              data-testid={`settings-${k}`}
              onChange={(e) => setS({ ...s, [k]: e.target.value })}
            >
              {SELECTS[k]?.map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </label>
        ))}
        {NUMBERS.map((k) => (
          <label key={k}>
            {t[k]}
            <input
              type="number"
              value={s[k]}
              data-testid={`settings-${k}`}
              onChange={(e) => setS({ ...s, [k]: Number(e.target.value) })}
            />
          </label>
        ))}
        <label>
          {t.timeZone}
          <input
            value={s.timeZone}
            onChange={(e) => setS({ ...s, timeZone: e.target.value })}
            data-testid="settings-timeZone"
          />
        </label>
        <label className="wide">
          {t.allowedDestinations}
          <input
            value={destinations}
            onChange={(e) => setDestinations(e.target.value)}
            data-testid="settings-allowedDestinations"
          />
        </label>
        <div className="actions wide">
          <button type="submit" data-testid="settings-save">
            {t.save}
          </button>{' '}
          {status}
        </div>
      </form>
      <form onSubmit={(e) => void create(e)} className="inline">
        <input placeholder={t.newCompany} value={newName} onChange={(e) => setNewName(e.target.value)} />
        <button type="submit" disabled={!newName.trim()}>
          {t.add}
        </button>
      </form>
    </section>
  );
}

/** Runs an action through `useStatus`, then reloads what it changed. */
function useAction(reload: () => Promise<void>) {
  const [status, run] = useStatus();
  const act = async (p: Promise<unknown>): Promise<void> => {
    await run(p);
    await reload();
  };
  return { status, run, act };
}

/** The list the API answers at `path` under `key`, loaded now and again after each `act`. */
function useList<T, K extends string>(path: string, key: K) {
  const [items, setItems] = useState<T[]>([]);
  const reload = useCallback(async (): Promise<void> => {
    setItems((await get<Record<K, T[]>>(path))[key]);
  }, [path, key]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { items, ...useAction(reload) };
}

/** A card with a title and status, a table of `rows` under `columns` (and a last, blank one), and a form to add. */
function ListCard({
  title,
  status,
  columns,
  rows,
  onAdd,
  children,
}: {
  title: string;
  status: ReactNode;
  columns: string[];
  rows: ReactNode;
  onAdd: () => void;
  children: ReactNode;
}) {
  const t = useT();
  return (
    <section className="card">
      <h2>
        {title} {status}
      </h2>
      <table>
        <TableHead columns={[...columns, '']} />
        <tbody>{rows}</tbody>
      </table>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          onAdd();
        }}
      >
        {children}
        <button type="submit">{t.add}</button>
      </form>
    </section>
  );
}

/** An input showing `value` that calls `save` on blur when it was changed (a number if `value` is one). */
function EditOnBlur<V extends string | number>({
  value,
  save,
  type,
  className,
}: {
  value: V;
  save: (v: V) => void;
  type?: 'number';
  className?: string;
}) {
  return (
    <input
      type={type}
      className={className}
      defaultValue={value}
      onBlur={(e) => {
        const v = (typeof value === 'number' ? Number(e.target.value) : e.target.value) as V;
        if (v !== value) save(v);
      }}
    />
  );
}

/** An input bound to the string `field` of a form draft. */
function DraftInput<D extends Record<string, string>>({
  draft,
  setDraft,
  field,
  ...rest
}: {
  draft: D;
  setDraft: (d: D) => void;
  field: keyof D & string;
  placeholder: string;
  className?: string;
  type?: 'password';
}) {
  return (
    <input {...rest} value={draft[field]} onChange={(e) => setDraft({ ...draft, [field]: e.target.value })} />
  );
}

/** The department choice of an add form, by code; empty for none. */
function DepartmentChoice<D extends { department: string }>({
  draft,
  setDraft,
  departments,
}: {
  draft: D;
  setDraft: (d: D) => void;
  departments: Department[];
}) {
  const t = useT();
  return (
    <select value={draft.department} onChange={(e) => setDraft({ ...draft, department: e.target.value })}>
      <option value="">{t.department}</option>
      {departments.map((d) => (
        <option key={d.id} value={d.code}>
          {d.code} {d.name}
        </option>
      ))}
    </select>
  );
}

function DeleteButton({ onClick }: { onClick: () => void }) {
  const t = useT();
  return (
    <button type="button" className="danger" onClick={onClick}>
      {t.delete}
    </button>
  );
}

function Departments({
  company,
  departments,
  reload,
}: {
  company: Company;
  departments: Department[];
  reload: () => Promise<void>;
}) {
  const t = useT();
  const { status, run, act } = useAction(reload);
  const [draft, setDraft] = useState({ code: '', name: '' });
  const base = `/api/v1/companies/${company.id}/departments`;
  const update = (d: Department, patch: Partial<Department>): Promise<void> =>
    act(request('PATCH', `${base}/${d.code}`, patch));
  return (
    <ListCard
      title={t.departments}
      status={status}
      columns={[t.code, t.name, t.strategy, t.maxWaitSeconds, t.maxQueueLength, t.recording]}
      onAdd={() =>
        void run(request('POST', base, draft)).then(async (ok) => {
          if (ok) setDraft({ code: '', name: '' });
          await reload();
        })
      }
      rows={departments.map((d) => (
        <tr key={d.id}>
          <td>{d.code}</td>
          <td>
            <EditOnBlur value={d.name} save={(name) => void update(d, { name })} />
          </td>
          <td>
            <select
              value={d.strategy}
              onChange={(e) => void update(d, { strategy: e.target.value as Department['strategy'] })}
            >
              {DISTRIBUTION_STRATEGIES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </td>
          <td>
            <EditOnBlur
              type="number"
              className="short"
              value={d.maxWaitSeconds}
              save={(maxWaitSeconds) => void update(d, { maxWaitSeconds })}
            />
          </td>
          <td>
            <EditOnBlur
              type="number"
              className="short"
              value={d.maxQueueLength}
              save={(maxQueueLength) => void update(d, { maxQueueLength })}
            />
          </td>
          <td>
            {/* Empty: the company's setting. */}
            <select
              value={d.recording ?? ''}
              data-testid={`department-recording-${d.code}`}
              onChange={(e) =>
                void update(d, { recording: (e.target.value || null) as Department['recording'] })
              }
            >
              <option value="">{t.companysOwn}</option>
              {RECORDING_MODES.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </td>
          <td>
            <DeleteButton onClick={() => void run(request('DELETE', `${base}/${d.code}`)).then(reload)} />
          </td>
        </tr>
      ))}
    >
      <DraftInput draft={draft} setDraft={setDraft} field="code" placeholder={t.code} className="short" />
      <DraftInput draft={draft} setDraft={setDraft} field="name" placeholder={t.name} />
    </ListCard>
  );
}

function Agents({ company, departments }: { company: Company; departments: Department[] }) {
  const t = useT();
  const {
    items: agents,
    status,
    act,
  } = useList<Agent, 'agents'>(`/api/v1/agents?companyId=${company.id}`, 'agents');
  const empty = { login: '', name: '', shortNumber: '', contact: '', pin: '', department: '' };
  const [draft, setDraft] = useState(empty);
  const patch = (a: Agent, fields: Record<string, string | boolean>): Promise<void> =>
    act(request('PATCH', `/api/v1/agents/${a.login}`, fields));
  return (
    <ListCard
      title={t.agents}
      status={status}
      columns={[t.login, t.name, t.shortNumber, t.contact, t.departments, t.supervisor, t.setState]}
      onAdd={() => {
        const dep = departments.find((d) => d.code === draft.department);
        const { department: _d, ...fields } = draft;
        void act(
          request('POST', '/api/v1/agents', {
            ...fields,
            companyId: company.id,
            departments: dep ? [{ department: dep.code, priority: 1 }] : [],
          }).then(() => setDraft(empty)),
        );
      }}
      rows={agents.map((a) => (
        <tr key={a.login}>
          <td>{a.login}</td>
          <td>
            <EditOnBlur value={a.name} save={(name) => void patch(a, { name })} />
          </td>
          <td>
            <EditOnBlur
              className="short"
              value={a.shortNumber}
              save={(shortNumber) => void patch(a, { shortNumber })}
            />
          </td>
          <td>
            <EditOnBlur value={a.profileContact} save={(contact) => void patch(a, { contact })} />
          </td>
          <td>{a.departments.map((d) => d.department).join(', ')}</td>
          <td>
            <input
              type="checkbox"
              aria-label={t.supervisor}
              data-testid={`agent-supervisor-${a.login}`}
              checked={a.supervisor}
              onChange={(e) => void patch(a, { supervisor: e.target.checked })}
            />
          </td>
          <td>
            <select
              value={a.state}
              data-testid={`agent-state-select-${a.login}`}
              onChange={(e) =>
                void act(request('POST', `/api/v1/agents/${a.login}/state`, { state: e.target.value }))
              }
            >
              {!(SUPERVISOR_STATES as readonly AgentState[]).includes(a.state) && (
                <option value={a.state}>{t.states[a.state]}</option>
              )}
              {SUPERVISOR_STATES.map((s) => (
                <option key={s} value={s}>
                  {t.states[s]}
                </option>
              ))}
            </select>
            {(a.state === 'offered' || a.state === 'busy') && (
              <ForceLogoutButton login={a.login} done={() => void act(Promise.resolve())} />
            )}
          </td>
          <td className="nowrap">
            <button
              type="button"
              onClick={() => {
                const pin = prompt(t.newPin);
                if (pin) void act(request('POST', `/api/v1/agents/${a.login}/pin`, { pin }));
              }}
            >
              {t.resetPin}
            </button>{' '}
            <DeleteButton onClick={() => void act(request('DELETE', `/api/v1/agents/${a.login}`))} />
          </td>
        </tr>
      ))}
    >
      <DraftInput draft={draft} setDraft={setDraft} field="login" placeholder={t.login} className="short" />
      <DraftInput draft={draft} setDraft={setDraft} field="name" placeholder={t.name} />
      <DraftInput
        draft={draft}
        setDraft={setDraft}
        field="shortNumber"
        placeholder={t.shortNumber}
        className="short"
      />
      <DraftInput draft={draft} setDraft={setDraft} field="contact" placeholder={t.contact} />
      <DraftInput
        draft={draft}
        setDraft={setDraft}
        field="pin"
        placeholder={t.pin}
        className="short"
        type="password"
      />
      <DepartmentChoice draft={draft} setDraft={setDraft} departments={departments} />
    </ListCard>
  );
}

function Numbers({ company, departments }: { company: Company; departments: Department[] }) {
  const t = useT();
  const {
    items: numbers,
    status,
    act,
  } = useList<NumberRoute, 'numbers'>(`/api/v1/numbers?companyId=${company.id}`, 'numbers');
  const [draft, setDraft] = useState({ number: '', department: '' });
  const path = (n: NumberRoute): string => `/api/v1/numbers/${encodeURIComponent(n.number)}`;
  return (
    <ListCard
      title={t.numbers}
      status={status}
      columns={[t.number, t.kind, t.department]}
      onAdd={() => {
        const dep = departments.find((d) => d.code === draft.department);
        void act(
          request('POST', '/api/v1/numbers', {
            number: draft.number,
            kind: 'hotline',
            companyId: company.id,
            department: dep?.code ?? null,
          }).then(() => setDraft({ number: '', department: '' })),
        );
      }}
      rows={numbers.map((n) => (
        <tr key={n.number}>
          <td>{n.number}</td>
          <td>{n.kind}</td>
          <td>
            <select
              value={n.department ?? ''}
              onChange={(e) => void act(request('PATCH', path(n), { department: e.target.value }))}
            >
              {departments.map((d) => (
                <option key={d.code} value={d.code}>
                  {d.code} {d.name}
                </option>
              ))}
            </select>
          </td>
          <td>
            <DeleteButton onClick={() => void act(request('DELETE', path(n)))} />
          </td>
        </tr>
      ))}
    >
      <DraftInput draft={draft} setDraft={setDraft} field="number" placeholder="+74950000003" />
      <DepartmentChoice draft={draft} setDraft={setDraft} departments={departments} />
    </ListCard>
  );
}
