import { useEffect, useState } from 'preact/hooks';
import { ApiError, call } from '../api/client';
import { Check, InclusionProof, LedgerKey, verifyInclusion } from '../evidence/verify';
import { t } from '../i18n';
import type { MessageKey } from '../i18n/en';
import { ErrorMessage } from './messages';

export type RecordKind = 'activity' | 'audit';

const PATHS: Record<RecordKind, string> = { activity: '/activities', audit: '/audit-logs' };

/**
 * `Verify` for one record: fetches the record, its inclusion proof and the ledger's key, and checks them here, in
 * the browser. `Verified` shows only when every check holds; otherwise the ones that failed are named.
 */
export function VerifyRecord({ kind, id, auto = false }: { kind: RecordKind; id: number; auto?: boolean }) {
  const [checks, setChecks] = useState<Check[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const verify = async () => {
    setBusy(true);
    setChecks(null);
    setError(null);
    try {
      const [record, proof, key] = await Promise.all([
        call<Record<string, unknown>>('GET', `${PATHS[kind]}/${id}`),
        call<InclusionProof>('GET', `${PATHS[kind]}/${id}/proof`),
        call<LedgerKey>('GET', '/ledger/public-key'),
      ]);
      setChecks(await verifyInclusion(kind, record, proof, key));
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  // Asked for from elsewhere (the Evidence page's form): checked at once, with no button of its own.
  useEffect(() => {
    if (auto) void verify();
  }, [auto, kind, id]);

  const verified = checks !== null && checks.every((check) => check.ok);
  return (
    <div class="verify">
      {auto ? (
        busy && <p>{t('verifying')}</p>
      ) : (
        <button type="button" class="secondary" disabled={busy} onClick={() => void verify()}>
          {busy ? t('verifying') : t('verify')}
        </button>
      )}
      <div aria-live="polite">
        {checks &&
          (verified ? (
            <p class="verified">
              <strong>{t('verified')}</strong> {t('verifiedWhy')}
            </p>
          ) : (
            <div class="not-verified">
              <p>
                <strong>{t('notVerified')}</strong>
              </p>
              <ul>
                {checks
                  .filter((check) => !check.ok)
                  .map((check) => (
                    <li key={check.name}>{t(`check.${check.name}` as MessageKey)}</li>
                  ))}
              </ul>
            </div>
          ))}
        <ErrorMessage text={error} />
      </div>
    </div>
  );
}
