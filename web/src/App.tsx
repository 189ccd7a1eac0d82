import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { ApiError, type Company, type Me, get, signIn, signOut, whoAmI } from './api.ts';
import { DICTS, I18n, type Lang, savedLang, saveLang, useT } from './i18n.tsx';
import { Board } from './pages/Board.tsx';
import { Settings } from './pages/Settings.tsx';
import { Calls } from './pages/Calls.tsx';
import { Report } from './pages/Report.tsx';
import { Trunks } from './pages/Trunks.tsx';

type Page = 'board' | 'settings' | 'trunks' | 'calls' | 'report';
const PAGES: Page[] = ['board', 'settings', 'trunks', 'calls', 'report'];
/** Settings and trunks change companies, agents, numbers and carriers: admins only (the API refuses the others anyway). */
const ADMIN_PAGES: Page[] = ['settings', 'trunks'];
const pagesFor = (me: Me): Page[] => PAGES.filter((p) => !ADMIN_PAGES.includes(p) || me.role === 'admin');

function pageFromHash(): Page {
  // `#calls/<id>`: the calls page with that call's journey open.
  const p = location.hash.replace(/^#\/?/, '').split('/')[0] ?? '';
  return (PAGES as string[]).includes(p) ? (p as Page) : 'board';
}

export function App() {
  const [lang, setLang] = useState<Lang>(savedLang);
  /** undefined while asking the server whether the session cookie is still good. */
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  useEffect(() => {
    whoAmI().then(setMe, () => setMe(null));
  }, []);
  const toggleLang = (): void => {
    const next = lang === 'ru' ? 'en' : 'ru';
    saveLang(next);
    setLang(next);
    document.documentElement.lang = next;
  };
  return (
    <I18n.Provider value={{ t: DICTS[lang], lang }}>
      {me === undefined ? null : me ? (
        <Console
          me={me}
          onSignOut={() => {
            signOut().catch(() => undefined);
            setMe(null);
          }}
          onSessionEnded={() => setMe(null)}
          lang={lang}
          toggleLang={toggleLang}
        />
      ) : (
        <SignIn onSignedIn={setMe} lang={lang} toggleLang={toggleLang} />
      )}
    </I18n.Provider>
  );
}

function LangToggle({ lang, toggle }: { lang: Lang; toggle: () => void }) {
  return (
    <button
      type="button"
      className="lang"
      onClick={toggle}
      data-testid="lang-toggle"
      title="Русский / English"
    >
      {lang === 'ru' ? 'EN' : 'RU'}
    </button>
  );
}

function SignIn({
  onSignedIn,
  lang,
  toggleLang,
}: {
  onSignedIn: (me: Me) => void;
  lang: Lang;
  toggleLang: () => void;
}) {
  const t = useT();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    try {
      onSignedIn(await signIn(username.trim(), password));
    } catch (err) {
      setPassword('');
      setError(
        err instanceof ApiError && err.status === 401
          ? t.badCredentials
          : err instanceof ApiError && err.status === 429
            ? t.tooManyAttempts
            : String(err),
      );
    }
  };
  return (
    <div className="signin">
      <form onSubmit={(e) => void submit(e)} className="card">
        <h1>
          {t.title} <LangToggle lang={lang} toggle={toggleLang} />
        </h1>
        <label>
          {t.username}
          <input
            name="username"
            autoComplete="username"
            autoFocus
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label>
          {t.password}
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button type="submit">{t.signInButton}</button>
        {error && <p className="error">{error}</p>}
      </form>
    </div>
  );
}

function Console({
  me,
  onSignOut,
  onSessionEnded,
  lang,
  toggleLang,
}: {
  me: Me;
  onSignOut: () => void;
  onSessionEnded: () => void;
  lang: Lang;
  toggleLang: () => void;
}) {
  const t = useT();
  const pages = pagesFor(me);
  const [hashPage, setPage] = useState<Page>(pageFromHash);
  const page = pages.includes(hashPage) ? hashPage : 'board';
  const [companies, setCompanies] = useState<Company[]>([]);
  const [companyId, setCompanyId] = useState<number | null>(null);

  const loadCompanies = useCallback(async (): Promise<void> => {
    try {
      const { companies } = await get<{ companies: Company[] }>('/api/v1/companies');
      setCompanies(companies);
      setCompanyId((id) =>
        id !== null && companies.some((c) => c.id === id) ? id : (companies[0]?.id ?? null),
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) onSessionEnded();
    }
  }, [onSessionEnded]);

  useEffect(() => {
    void loadCompanies();
  }, [loadCompanies]);
  useEffect(() => {
    const onHash = (): void => setPage(pageFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const company = companies.find((c) => c.id === companyId) ?? null;
  return (
    <div className="app">
      <header>
        <strong className="brand">{t.title}</strong>
        <nav>
          {pages.map((p) => (
            <a key={p} href={`#/${p}`} className={p === page ? 'active' : ''} data-testid={`nav-${p}`}>
              {t[p]}
            </a>
          ))}
        </nav>
        <span className="spacer" />
        <label className="company">
          {t.company}{' '}
          <select
            value={companyId ?? ''}
            onChange={(e) => setCompanyId(Number(e.target.value))}
            data-testid="company-select"
          >
            {companies.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <span className="user" data-testid="signed-in-user" title={me.role}>
          {me.name}
        </span>
        <LangToggle lang={lang} toggle={toggleLang} />
        <button type="button" onClick={onSignOut} data-testid="sign-out">
          {t.signOut}
        </button>
      </header>
      <main>
        {company &&
          (page === 'board' ? (
            <Board company={company} />
          ) : page === 'settings' ? (
            <Settings company={company} reloadCompanies={loadCompanies} />
          ) : page === 'trunks' ? (
            <Trunks />
          ) : page === 'calls' ? (
            <Calls company={company} />
          ) : (
            <Report company={company} />
          ))}
      </main>
    </div>
  );
}
