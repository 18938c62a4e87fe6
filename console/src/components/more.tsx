import { t } from '../i18n';

/** The `Load more` button of a list, while more follow. */
export function More({ more, loading }: { more: (() => void) | null; loading: boolean }) {
  if (!more) return null;
  return (
    <button type="button" class="secondary" disabled={loading} onClick={more}>
      {loading ? t('loading') : t('loadMore')}
    </button>
  );
}
