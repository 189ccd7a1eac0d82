import { useState } from 'react';
import { errorMessage } from './ui.tsx';
import { request } from './api.ts';
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
