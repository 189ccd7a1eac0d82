import { type FormEvent, type ReactNode, useCallback, useEffect, useState } from 'react';
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
import { useT } from '../i18n.tsx';

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
      setStatus({ ok: false, text: err instanceof Error ? err.message : String(err) });
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

const SELECTS: { [K in keyof CompanySettings]?: readonly string[] } = {
  externalTransfer: ['disabled', 'release_immediately', 'release_on_answer', 'consult'],
  announceNumber: ['disabled', 'release_agent', 'stay_until_connected'],
  deliverTo: ['caller_id', 'profile'],
  language: ['ru', 'en'],
};
const NUMBERS = ['ringSeconds', 'wrapUpSeconds', 'breakMinutes', 'announceSeconds'] as const;

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
  const [status, run] = useStatus();
  const [draft, setDraft] = useState({ code: '', name: '' });
  const base = `/api/v1/companies/${company.id}/departments`;
  const update = async (d: Department, patch: Partial<Department>): Promise<void> => {
    await run(request('PATCH', `${base}/${d.code}`, patch));
    await reload();
  };
  return (
    <section className="card">
      <h2>
        {t.departments} {status}
      </h2>
      <table>
        <thead>
          <tr>
            <th>{t.code}</th>
            <th>{t.name}</th>
            <th>{t.strategy}</th>
            <th>{t.maxWaitSeconds}</th>
            <th>{t.maxQueueLength}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {departments.map((d) => (
            <tr key={d.id}>
              <td>{d.code}</td>
              <td>
                <input
                  defaultValue={d.name}
                  onBlur={(e) => e.target.value !== d.name && void update(d, { name: e.target.value })}
                />
              </td>
              <td>
                <select
                  value={d.strategy}
                  onChange={(e) => void update(d, { strategy: e.target.value as Department['strategy'] })}
                >
                  <option value="longest_idle">longest_idle</option>
                  <option value="round_robin">round_robin</option>
                  <option value="priority">priority</option>
                </select>
              </td>
              <td>
                <input
                  type="number"
                  className="short"
                  defaultValue={d.maxWaitSeconds}
                  onBlur={(e) =>
                    Number(e.target.value) !== d.maxWaitSeconds &&
                    void update(d, { maxWaitSeconds: Number(e.target.value) })
                  }
                />
              </td>
              <td>
                <input
                  type="number"
                  className="short"
                  defaultValue={d.maxQueueLength}
                  onBlur={(e) =>
                    Number(e.target.value) !== d.maxQueueLength &&
                    void update(d, { maxQueueLength: Number(e.target.value) })
                  }
                />
              </td>
              <td>
                <button
                  type="button"
                  className="danger"
                  onClick={() => void run(request('DELETE', `${base}/${d.code}`)).then(reload)}
                >
                  {t.delete}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void run(request('POST', base, draft)).then(async (ok) => {
            if (ok) setDraft({ code: '', name: '' });
            await reload();
          });
        }}
      >
        <input
          placeholder={t.code}
          className="short"
          value={draft.code}
          onChange={(e) => setDraft({ ...draft, code: e.target.value })}
        />
        <input
          placeholder={t.name}
          value={draft.name}
          onChange={(e) => setDraft({ ...draft, name: e.target.value })}
        />
        <button type="submit">{t.add}</button>
      </form>
    </section>
  );
}

const SUPERVISOR_STATES: AgentState[] = ['ready', 'temporarily_not_ready', 'not_ready', 'logged_out'];

function Agents({ company, departments }: { company: Company; departments: Department[] }) {
  const t = useT();
  const [agents, setAgents] = useState<Agent[]>([]);
  const [status, run] = useStatus();
  const empty = { login: '', name: '', shortNumber: '', contact: '', pin: '', department: '' };
  const [draft, setDraft] = useState(empty);
  const reload = useCallback(async (): Promise<void> => {
    setAgents((await get<{ agents: Agent[] }>(`/api/v1/agents?companyId=${company.id}`)).agents);
  }, [company.id]);
  useEffect(() => {
    void reload();
  }, [reload]);
  const codeOf = (id: number): string => departments.find((d) => d.id === id)?.code ?? String(id);
  const act = async (p: Promise<unknown>): Promise<void> => {
    await run(p);
    await reload();
  };
  return (
    <section className="card">
      <h2>
        {t.agents} {status}
      </h2>
      <table>
        <thead>
          <tr>
            <th>{t.login}</th>
            <th>{t.name}</th>
            <th>{t.shortNumber}</th>
            <th>{t.contact}</th>
            <th>{t.departments}</th>
            <th>{t.setState}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {agents.map((a) => (
            <tr key={a.login}>
              <td>{a.login}</td>
              <td>
                <input
                  defaultValue={a.name}
                  onBlur={(e) =>
                    e.target.value !== a.name &&
                    void act(request('PATCH', `/api/v1/agents/${a.login}`, { name: e.target.value }))
                  }
                />
              </td>
              <td>
                <input
                  className="short"
                  defaultValue={a.shortNumber}
                  onBlur={(e) =>
                    e.target.value !== a.shortNumber &&
                    void act(request('PATCH', `/api/v1/agents/${a.login}`, { shortNumber: e.target.value }))
                  }
                />
              </td>
              <td>
                <input
                  defaultValue={a.profileContact}
                  onBlur={(e) =>
                    e.target.value !== a.profileContact &&
                    void act(request('PATCH', `/api/v1/agents/${a.login}`, { contact: e.target.value }))
                  }
                />
              </td>
              <td>{a.departments.map((d) => codeOf(d.departmentId)).join(', ')}</td>
              <td>
                <select
                  value={a.state}
                  data-testid={`agent-state-select-${a.login}`}
                  onChange={(e) =>
                    void act(request('POST', `/api/v1/agents/${a.login}/state`, { state: e.target.value }))
                  }
                >
                  {!SUPERVISOR_STATES.includes(a.state) && (
                    <option value={a.state}>{t.states[a.state]}</option>
                  )}
                  {SUPERVISOR_STATES.map((s) => (
                    <option key={s} value={s}>
                      {t.states[s]}
                    </option>
                  ))}
                </select>
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
                <button
                  type="button"
                  className="danger"
                  onClick={() => void act(request('DELETE', `/api/v1/agents/${a.login}`))}
                >
                  {t.delete}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          const dep = departments.find((d) => d.code === draft.department);
          const { department: _d, ...fields } = draft;
          void act(
            request('POST', '/api/v1/agents', {
              ...fields,
              companyId: company.id,
              departments: dep ? [{ departmentId: dep.id, priority: 1 }] : [],
            }).then(() => setDraft(empty)),
          );
        }}
      >
        <input
          className="short"
          placeholder={t.login}
          value={draft.login}
          onChange={(e) => setDraft({ ...draft, login: e.target.value })}
        />
        <input
          placeholder={t.name}
          value={draft.name}
          onChange={(e) => setDraft({ ...draft, name: e.target.value })}
        />
        <input
          className="short"
          placeholder={t.shortNumber}
          value={draft.shortNumber}
          onChange={(e) => setDraft({ ...draft, shortNumber: e.target.value })}
        />
        <input
          placeholder={t.contact}
          value={draft.contact}
          onChange={(e) => setDraft({ ...draft, contact: e.target.value })}
        />
        <input
          className="short"
          type="password"
          placeholder={t.pin}
          value={draft.pin}
          onChange={(e) => setDraft({ ...draft, pin: e.target.value })}
        />
        <select value={draft.department} onChange={(e) => setDraft({ ...draft, department: e.target.value })}>
          <option value="">{t.department}</option>
          {departments.map((d) => (
            <option key={d.id} value={d.code}>
              {d.code} {d.name}
            </option>
          ))}
        </select>
        <button type="submit">{t.add}</button>
      </form>
    </section>
  );
}

function Numbers({ company, departments }: { company: Company; departments: Department[] }) {
  const t = useT();
  const [numbers, setNumbers] = useState<NumberRoute[]>([]);
  const [status, run] = useStatus();
  const [draft, setDraft] = useState({ number: '', department: '' });
  const reload = useCallback(async (): Promise<void> => {
    setNumbers((await get<{ numbers: NumberRoute[] }>(`/api/v1/numbers?companyId=${company.id}`)).numbers);
  }, [company.id]);
  useEffect(() => {
    void reload();
  }, [reload]);
  const act = async (p: Promise<unknown>): Promise<void> => {
    await run(p);
    await reload();
  };
  return (
    <section className="card">
      <h2>
        {t.numbers} {status}
      </h2>
      <table>
        <thead>
          <tr>
            <th>{t.number}</th>
            <th>{t.kind}</th>
            <th>{t.department}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {numbers.map((n) => (
            <tr key={n.number}>
              <td>{n.number}</td>
              <td>{n.kind}</td>
              <td>
                <select
                  value={n.departmentId ?? ''}
                  onChange={(e) =>
                    void act(
                      request('PATCH', `/api/v1/numbers/${encodeURIComponent(n.number)}`, {
                        departmentId: Number(e.target.value),
                      }),
                    )
                  }
                >
                  {departments.map((d) => (
                    <option key={d.id} value={d.id}>
                      {d.code} {d.name}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                <button
                  type="button"
                  className="danger"
                  onClick={() =>
                    void act(request('DELETE', `/api/v1/numbers/${encodeURIComponent(n.number)}`))
                  }
                >
                  {t.delete}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          const dep = departments.find((d) => d.code === draft.department);
          void act(
            request('POST', '/api/v1/numbers', {
              number: draft.number,
              kind: 'hotline',
              companyId: company.id,
              departmentId: dep?.id ?? null,
            }).then(() => setDraft({ number: '', department: '' })),
          );
        }}
      >
        <input
          placeholder="+74950000003"
          value={draft.number}
          onChange={(e) => setDraft({ ...draft, number: e.target.value })}
        />
        <select value={draft.department} onChange={(e) => setDraft({ ...draft, department: e.target.value })}>
          <option value="">{t.department}</option>
          {departments.map((d) => (
            <option key={d.id} value={d.code}>
              {d.code} {d.name}
            </option>
          ))}
        </select>
        <button type="submit">{t.add}</button>
      </form>
    </section>
  );
}
