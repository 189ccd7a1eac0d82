import { useState } from 'react';
import { errorMessage } from './ui.tsx';
import { type Agent, get, request } from './api.ts';
import { useT } from './i18n.tsx';

/**
 * A supervisor's actions on the live floor (issue 14 item 5), each behind a confirm: end a call
 * (`POST /api/v1/calls/{id}/hangup`), and take a busy or offered agent off their call and log
 * them out (`POST /api/v1/agents/{login}/state` with `force`). Errors show beside the button.
 */
function ActionButton({
  label,
  question,
  act,
  testId,
  done,
}: {
  label: string;
  question: string;
  act: () => Promise<unknown>;
  testId: string;
  done?: (() => void) | undefined;
}) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const run = async (): Promise<void> => {
    if (!window.confirm(question)) return;
    setBusy(true);
    setError('');
    try {
      await act();
      done?.();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        className="danger"
        disabled={busy}
        data-testid={testId}
        onClick={() => void run()}
      >
        {label}
      </button>
      {error && <span className="error">{error}</span>}
    </>
  );
}

/** Ends a live call for everyone. */
export function EndCallButton({
  callId,
  caller,
  done,
}: {
  callId: string;
  caller: string;
  done?: () => void;
}) {
  const t = useT();
  return (
    <ActionButton
      label={t.endCall}
      question={t.endCallConfirm.replace('{caller}', caller)}
      testId={`end-call-${callId}`}
      act={() => request('POST', `/api/v1/calls/${encodeURIComponent(callId)}/hangup`)}
      done={done}
    />
  );
}

/** Logs out an agent who is offered a call or in one (`force`): the customer goes back to the queue. */
export function ForceLogoutButton({ login, done }: { login: string; done?: () => void }) {
  const t = useT();
  return (
    <ActionButton
      label={t.forceLogout}
      question={t.forceLogoutConfirm.replace('{login}', login)}
      testId={`force-logout-${login}`}
      act={() => request('POST', `/api/v1/agents/${login}/state`, { state: 'logged_out', force: true })}
      done={done}
    />
  );
}

const MODES = ['listen', 'whisper', 'barge'] as const;

/**
 * Listen, whisper or barge from the console (`POST /api/v1/agents/{login}/monitor`): asks which
 * supervisor agent of the company (the first by default) and the mode; the server then calls that
 * supervisor's phone, whose keys 1/2/3 change the mode and * ends it.
 */
export function MonitorButton({ login, companyId }: { login: string; companyId: number }) {
  const t = useT();
  const [open, setOpen] = useState(false);
  const [supervisors, setSupervisors] = useState<Agent[] | null>(null);
  const [supervisor, setSupervisor] = useState('');
  const [mode, setMode] = useState<(typeof MODES)[number]>('listen');
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const show = async (): Promise<void> => {
    setOpen(true);
    setError('');
    setMessage('');
    try {
      const { agents } = await get<{ agents: Agent[] }>(`/api/v1/agents?companyId=${companyId}`);
      const list = agents.filter((a) => a.supervisor && a.login !== login);
      setSupervisors(list);
      setSupervisor((s) => s || (list[0]?.login ?? ''));
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const call = async (): Promise<void> => {
    setBusy(true);
    setError('');
    setMessage('');
    try {
      await request('POST', `/api/v1/agents/${login}/monitor`, { supervisor, mode });
      setMessage(t.monitorCalling.replace('{login}', supervisor));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  if (!open)
    return (
      <button type="button" data-testid={`monitor-${login}`} onClick={() => void show()}>
        {t.listen}
      </button>
    );
  return (
    <span className="monitor-form" data-testid={`monitor-form-${login}`}>
      {supervisors && !supervisors.length ? (
        <span className="muted">{t.noSupervisors}</span>
      ) : (
        <>
          <label className="inline-label">
            {t.monitorSupervisor}
            <select
              value={supervisor}
              onChange={(e) => setSupervisor(e.target.value)}
              data-testid={`monitor-supervisor-${login}`}
            >
              {supervisors?.map((s) => (
                <option key={s.login} value={s.login}>
                  {s.login} {s.name}
                </option>
              ))}
            </select>
          </label>
          <label className="inline-label">
            {t.monitorMode}
            <select
              value={mode}
              onChange={(e) => setMode(e.target.value as (typeof MODES)[number])}
              data-testid={`monitor-mode-${login}`}
            >
              {MODES.map((m) => (
                <option key={m} value={m}>
                  {t.monitorModes[m] ?? m}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            disabled={busy || !supervisor}
            data-testid={`monitor-call-${login}`}
            onClick={() => void call()}
          >
            {t.monitorCall}
          </button>
        </>
      )}
      <button type="button" onClick={() => setOpen(false)}>
        {t.close}
      </button>
      {message && (
        <span className="ok" data-testid={`monitor-result-${login}`}>
          {message}
        </span>
      )}
      {error && (
        <span className="error" data-testid={`monitor-error-${login}`}>
          {error}
        </span>
      )}
    </span>
  );
}
