import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { ApiError, type Company, get, getToken, setToken } from './api.ts';
import { DICTS, I18n, type Lang, savedLang, saveLang, useT } from './i18n.tsx';
import { Board } from './pages/Board.tsx';
import { Settings } from './pages/Settings.tsx';
import { Calls } from './pages/Calls.tsx';
import { Report } from './pages/Report.tsx';

type Page = 'board' | 'settings' | 'calls' | 'report';
const PAGES: Page[] = ['board', 'settings', 'calls', 'report'];

function pageFromHash(): Page {
  const p = location.hash.replace(/^#\/?/, '');
  return (PAGES as string[]).includes(p) ? (p as Page) : 'board';
}

export function App() {
  const [lang, setLang] = useState<Lang>(savedLang);
  const [signedIn, setSignedIn] = useState(() => getToken() !== null);
  const toggleLang = (): void => {
    const next = lang === 'ru' ? 'en' : 'ru';
    saveLang(next);
    setLang(next);
    document.documentElement.lang = next;
  };
  return (
    <I18n.Provider value={{ t: DICTS[lang], lang }}>
      {signedIn ? (
        <Console
          onSignOut={() => {
            setToken(null);
            setSignedIn(false);
          }}
          lang={lang}
          toggleLang={toggleLang}
        />
      ) : (
        <SignIn onSignedIn={() => setSignedIn(true)} lang={lang} toggleLang={toggleLang} />
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
  onSignedIn: () => void;
  lang: Lang;
  toggleLang: () => void;
}) {
  const t = useT();
  const [token, setTokenInput] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setToken(token.trim());
    try {
      await get('/api/v1/companies');
      onSignedIn();
    } catch (err) {
      setToken(null);
      setError(err instanceof ApiError && err.status === 401 ? t.badToken : String(err));
    }
  };
  return (
    <div className="signin">
      <form onSubmit={(e) => void submit(e)} className="card">
        <h1>
          {t.title} <LangToggle lang={lang} toggle={toggleLang} />
        </h1>
        <label>
          {t.token}
          <input
            type="password"
            name="token"
            autoFocus
            value={token}
            onChange={(e) => setTokenInput(e.target.value)}
          />
        </label>
        <button type="submit">{t.signInButton}</button>
        {error && <p className="error">{error}</p>}
      </form>
    </div>
  );
}

function Console({
  onSignOut,
  lang,
  toggleLang,
}: {
  onSignOut: () => void;
  lang: Lang;
  toggleLang: () => void;
}) {
  const t = useT();
  const [page, setPage] = useState<Page>(pageFromHash);
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
      if (err instanceof ApiError && err.status === 401) onSignOut();
    }
  }, [onSignOut]);

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
          {PAGES.map((p) => (
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
        <LangToggle lang={lang} toggle={toggleLang} />
        <button type="button" onClick={onSignOut}>
          {t.signOut}
        </button>
      </header>
      <main>
        {company &&
          (page === 'board' ? (
            <Board company={company} />
          ) : page === 'settings' ? (
            <Settings company={company} reloadCompanies={loadCompanies} />
          ) : page === 'calls' ? (
            <Calls company={company} />
          ) : (
            <Report company={company} />
          ))}
      </main>
    </div>
  );
}
