import { useEffect, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { keepSessionFresh, signOut } from './api/client';
import { onSession, Session, session } from './api/session';
import { t } from './i18n';
import type { MessageKey } from './i18n/en';
import { ActivitiesPage } from './pages/activities';
import { ApiKeysPage } from './pages/api-keys';
import { AuditLogPage } from './pages/audit-log';
import { EvidencePage } from './pages/evidence';
import { UsersPage } from './pages/users';
import { WebhooksPage } from './pages/webhooks';
import { SignInPage } from './pages/sign-in';

export const BASE = '/console';

interface NavItem {
  path: string;
  label: MessageKey;
  adminOnly?: boolean;
}

const NAV: NavItem[] = [
  { path: `${BASE}/`, label: 'activities' },
  { path: `${BASE}/audit-log`, label: 'auditLog', adminOnly: true },
  { path: `${BASE}/evidence`, label: 'evidence' },
  { path: `${BASE}/api-keys`, label: 'apiKeys' },
  { path: `${BASE}/webhooks`, label: 'webhooks', adminOnly: true },
  { path: `${BASE}/users`, label: 'users', adminOnly: true },
];

/** An ADMIN's page, asked for by someone else (the API would refuse its calls too). */
function NotAllowed() {
  return (
    <section>
      <h1>{t('notAllowed')}</h1>
    </section>
  );
}

function useSession(): Session | null {
  const [current, setCurrent] = useState(session());
  useEffect(() => onSession(setCurrent), []);
  return current;
}

function Shell({ current }: { current: Session }) {
  const { path } = useLocation();
  const admin = current.user.role === 'ADMIN';
  useEffect(() => keepSessionFresh(), []);
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">{t('appName')}</span>
        <nav aria-label={t('navigation')}>
          <ul>
            {NAV.filter((item) => admin || !item.adminOnly).map((item) => (
              <li key={item.path}>
                <a href={item.path} aria-current={path === item.path ? 'page' : undefined}>
                  {t(item.label)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">{t('signedInAs', { name: current.user.name, role: current.user.role })}</span>
        <button type="button" class="secondary" onClick={() => void signOut()}>
          {t('signOut')}
        </button>
      </header>
      <main id="main">
        <Router>
          <Route path={`${BASE}/`} component={ActivitiesPage} />
          <Route path={`${BASE}/audit-log`} component={admin ? AuditLogPage : NotAllowed} />
          <Route path={`${BASE}/evidence`} component={EvidencePage} />
          <Route path={`${BASE}/api-keys`} component={ApiKeysPage} />
          <Route path={`${BASE}/webhooks`} component={admin ? WebhooksPage : NotAllowed} />
          <Route path={`${BASE}/users`} component={admin ? UsersPage : NotAllowed} />
          <Route default component={ActivitiesPage} />
        </Router>
      </main>
    </div>
  );
}

export function App() {
  const current = useSession();
  return <LocationProvider scope={BASE}>{current ? <Shell current={current} /> : <SignInPage />}</LocationProvider>;
}
